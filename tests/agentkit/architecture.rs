//! The architecture invariants of ARCHITECTURE.md, checked on the real
//! dependency graph (`cargo tree`, offline, from the lockfile) and the
//! sources: a plugin author compiles only the contracts, a host that only
//! classifies compiles no grammar, tokenizer, database or git, and only
//! agent-sandbox spawns processes.

use crate::support::repo;
use std::path::Path;
use std::process::Command;

/// The package names in the normal (non-dev, non-build) dependency tree of
/// `cargo tree ARGS`, without versions.
fn normal_deps(args: &[&str]) -> Vec<String> {
    let out = Command::new(env!("CARGO"))
        .current_dir(repo())
        .args(["tree", "--offline", "-e", "normal", "--prefix", "none", "--format", "{p}"])
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "cargo tree {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    let mut names: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_owned)
        .collect();
    names.sort();
    names.dedup();
    names
}

/// The heavy dependencies a contract-only or classify-only build must not pull in.
const HEAVY: &[&str] =
    &["reqwest", "gix", "sqlx", "tree-sitter", "tiktoken-rs", "landlock", "seccompiler", "nix", "tokio"];

#[test]
fn agent_core_compiles_none_of_the_heavy_dependencies() {
    let deps = normal_deps(&["-p", "agent-core"]);
    assert!(deps.contains(&"agent-core".to_owned()) && deps.contains(&"serde".to_owned()), "{deps:?}");
    let heavy: Vec<&String> = deps.iter().filter(|d| HEAVY.contains(&d.as_str())).collect();
    assert!(heavy.is_empty(), "agent-core pulls in {heavy:?}");
}

#[test]
fn a_host_that_only_classifies_compiles_no_grammar_tokenizer_database_or_git() {
    let deps = normal_deps(&["-p", "agentkit", "--no-default-features", "--features", "classify"]);
    assert!(deps.contains(&"agent-classify".to_owned()), "{deps:?}");
    let heavy: Vec<&String> = deps
        .iter()
        .filter(|d| HEAVY.contains(&d.as_str()) || d.starts_with("tree-sitter") || d.starts_with("gix"))
        .collect();
    assert!(heavy.is_empty(), "a classify-only facade pulls in {heavy:?}");
    // The switches bring them back: the default build has them.
    let full = normal_deps(&["-p", "agentkit"]);
    for wanted in ["tree-sitter", "tiktoken-rs", "sqlx", "gix", "reqwest"] {
        assert!(full.contains(&wanted.to_owned()), "the default facade lacks {wanted}");
    }
}

#[test]
fn only_agent_providers_depends_on_an_http_client() {
    for krate in [
        "agent-core",
        "agent-loop",
        "agent-oracles",
        "agent-classify",
        "agent-mutants",
        "agent-gates",
        "agent-sandbox",
        "agent-store",
        "agent-swe",
    ] {
        let deps = normal_deps(&["-p", krate]);
        assert!(!deps.contains(&"reqwest".to_owned()) && !deps.contains(&"hyper".to_owned()), "{krate} speaks HTTP");
    }
    assert!(normal_deps(&["-p", "agent-providers"]).contains(&"reqwest".to_owned()));
}

/// Whether `code` calls `Command::new(` itself (not `DetectedCommand::new(`).
fn bare_command_new(code: &str) -> bool {
    code.match_indices("Command::new(")
        .any(|(at, _)| !code[..at].chars().next_back().is_some_and(|c| c.is_alphanumeric() || c == '_'))
}

/// Source lines that start a process, outside comments.
fn spawning_lines(dir: &Path, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            spawning_lines(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).unwrap();
            for (n, line) in text.lines().enumerate() {
                let code = line.trim_start();
                if code.starts_with("//") {
                    continue;
                }
                if ["process::Command", "tokio::process", ".spawn()"].iter().any(|p| code.contains(p))
                    || bare_command_new(code)
                {
                    out.push(format!("{}:{}: {code}", path.display(), n + 1));
                }
            }
        }
    }
}

#[test]
fn only_agent_sandbox_spawns_processes() {
    let mut found = Vec::new();
    for krate in [
        "agent-core",
        "agent-loop",
        "agent-providers",
        "agent-oracles",
        "agent-classify",
        "agent-mutants",
        "agent-gates",
        "agent-syntax",
        "agent-tokens",
        "agent-store",
        "agent-swe",
    ] {
        spawning_lines(&repo().join(krate).join("src"), &mut found);
    }
    // The store's test utilities start throwaway PostgreSQL servers (feature `test-utils`, never in a host).
    found.retain(|l| !l.contains("agent-store/src/testing.rs"));
    assert!(found.is_empty(), "processes started outside agent-sandbox:\n{}", found.join("\n"));
    // The scan finds what it looks for: agent-sandbox itself does spawn.
    let mut sandbox = Vec::new();
    spawning_lines(&repo().join("agent-sandbox").join("src"), &mut sandbox);
    assert!(!sandbox.is_empty());
}
