#!/usr/bin/env bash
# Workspace detection measured on real repositories.
#
#   benches/detect_repos.sh MIRRORS [EXPECTATIONS]
#
# MIRRORS holds one bare git directory per repository, as `fetch` lays them
# out (`MIRRORS/owner+name/repo`, or `MIRRORS/owner+name` itself a git dir).
# Each repository's HEAD is checked out to a temporary directory through a
# temporary index (`read-tree` + `checkout-index`, so `export-ignore`
# attributes that `git archive` honours do not drop `.github/`; the mirror is
# not written to; nothing is committed or kept), inspected with
# `agentctl inspect --json`, and the primary project's kind, test command and
# setup command are compared with EXPECTATIONS (default:
# benches/detect_repos.expect.tsv, written from each repository's CI).
# Prints one line per repository and the per-field accuracy.
#
# Needs: the agentctl example built (`cargo build --example agentctl`; set
# AGENTCTL to use another binary), git, jq.
set -euo pipefail

mirrors=${1:?usage: detect_repos.sh MIRRORS [EXPECTATIONS]}
here=$(cd "$(dirname "$0")" && pwd)
expect=${2:-$here/detect_repos.expect.tsv}
target=${CARGO_TARGET_DIR:-$here/../target}
agentctl=${AGENTCTL:-$target/debug/examples/agentctl}
[ -x "$agentctl" ] || { echo "no agentctl at $agentctl: cargo build --example agentctl" >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# match VALUE ACCEPTED: 0 when VALUE is one of the ` || ` alternatives (a trailing `*` is a prefix).
match() {
  local value=$1 accepted=$2 alt
  [ "$accepted" = "-" ] && return 2
  while [ -n "$accepted" ]; do
    alt=${accepted%% || *}
    if [ "$alt" = "$accepted" ]; then accepted=""; else accepted=${accepted#* || }; fi
    if [[ $alt == *'*' ]]; then
      [[ $value == "${alt%\*}"* ]] && return 0
    else
      [ "$value" = "$alt" ] && return 0
    fi
  done
  return 1
}

declare -A right=([kind]=0 [test]=0 [setup]=0) scored=([kind]=0 [test]=0 [setup]=0)
repos=0
printf '%-28s %-7s %-34s %s\n' repository kind test setup
while IFS=$'\t' read -r name kind test setup; do
  [[ -z $name || $name == \#* ]] && continue
  git_dir=$mirrors/$name/repo
  [ -d "$git_dir" ] || git_dir=$mirrors/$name
  if ! git --git-dir="$git_dir" rev-parse -q --verify HEAD >/dev/null 2>&1; then
    echo "$name: no mirror, skipped" >&2
    continue
  fi
  tree=$work/$name
  mkdir -p "$tree"
  GIT_INDEX_FILE=$work/index git --git-dir="$git_dir" read-tree HEAD
  GIT_INDEX_FILE=$work/index git --git-dir="$git_dir" --work-tree="$tree" checkout-index -a -f
  rm -f "$work/index"
  json=$("$agentctl" inspect --json "$tree" 2>/dev/null || echo '{}')
  primary=$(jq -c '[.projects[]? | select(.primary)][0] // {}' <<<"$json")
  cmd_of() { jq -r --arg f "$1" '.[$f] // empty | [.program] + .args | join(" ")' <<<"$primary"; }
  got_kind=$(jq -r '.kinds[0] // "none"' <<<"$primary")
  got_test=$(cmd_of test)
  got_setup=$(cmd_of setup)
  repos=$((repos + 1))
  marks=()
  for field in kind test setup; do
    case $field in
      kind) value=$got_kind accepted=$kind ;;
      test) value=$got_test accepted=$test ;;
      setup) value=$got_setup accepted=$setup ;;
    esac
    if match "$value" "$accepted"; then
      right[$field]=$((right[$field] + 1)); scored[$field]=$((scored[$field] + 1)); marks+=("ok")
    elif [ $? -eq 1 ]; then
      scored[$field]=$((scored[$field] + 1)); marks+=("MISS")
    else
      marks+=("-")
    fi
  done
  printf '%-28s %-7s %-34s %s\n' "$name" "${marks[0]}:$got_kind" "${marks[1]}:$got_test" "${marks[2]}:$got_setup"
  rm -rf "$tree"
done <"$expect"

echo
echo "repositories: $repos"
for field in kind test setup; do
  n=${scored[$field]}
  if [ "$n" -gt 0 ]; then
    awk -v f="$field" -v r="${right[$field]}" -v n="$n" 'BEGIN { printf "%-6s %d/%d = %.2f\n", f, r, n, r / n }'
  fi
done
