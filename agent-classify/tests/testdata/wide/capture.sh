#!/bin/sh
# Captures real tool output on the small projects of this directory (see README.md).
# Run from agent-classify/tests/testdata/wide:
#   TOOLS=/tmp/jstools sh capture.sh
# TOOLS is where `npm install typescript jest@30 vitest@3 eslint@9` ran (outside the
# repository); mypy, ruff and pytest come from `python3 -m pip install mypy ruff pytest`;
# go and cargo from the machine. Projects are copied to $WORK first, so no cache, build
# directory or node_modules lands here. Each case NAME writes out/NAME.cmd (the command,
# run through `sh -c` in the project's copy), out/NAME.stdout, out/NAME.stderr and
# out/NAME.exit; the tool's structured report of the same run (or of the same code run
# again, where one run cannot print both) goes to out/NAME.REPORT (see README.md).
set -u
here=$(pwd)
WORK=${WORK:-/tmp/agent-classify-wide}
TOOLS=${TOOLS:-/tmp/jstools}
rm -rf "$WORK" out; mkdir -p "$WORK" out
for p in */; do case "$p" in out/) ;; *) cp -r "$p" "$WORK/";; esac; done
export PYTHONDONTWRITEBYTECODE=1 NO_COLOR=1 FORCE_COLOR=0 CI=1 RUST_BACKTRACE=0
export CARGO_TARGET_DIR="$WORK/rs_ws/target" GOPROXY=off GOFLAGS=-mod=mod
unset SHOP_API_KEY
# node_modules: the tools' packages, plus (monorepo) the workspace's own packages as npm links them
for p in js_vitest js_vitest_more js_vitest_mono js_jest_flat ts_proj js_lint; do ln -s "$TOOLS/node_modules" "$WORK/$p/node_modules"; done
mkdir -p "$WORK/js_mono/node_modules/@shop"
for m in "$TOOLS"/node_modules/* "$TOOLS"/node_modules/.bin; do ln -s "$m" "$WORK/js_mono/node_modules/"; done
ln -s ../../packages/core "$WORK/js_mono/node_modules/@shop/core"
ln -s ../../packages/web "$WORK/js_mono/node_modules/@shop/web"

run() { # NAME DIR COMMAND...
    name=$1; dir=$2; shift 2
    echo "$*" > "$here/out/$name.cmd"
    (cd "$WORK/$dir" && sh -c "$*" > "$here/out/$name.stdout" 2> "$here/out/$name.stderr"; echo $? > "$here/out/$name.exit")
}
again() { # NAME DIR COMMAND... : the structured report of a case, from a second run
    name=$1; dir=$2; shift 2
    (cd "$WORK/$dir" && sh -c "$*" > "$here/out/$name" 2>/dev/null)
}

# --- cargo: a workspace of two members; each feature of `geometry` compiles one broken module
for f in type_error unresolved_name unresolved_import missing_dependency borrow_error syntax_error; do
    run cargo_build_$f rs_ws cargo build --offline -p geometry --features $f
    again cargo_build_$f.cargo.json rs_ws cargo build --offline -p geometry --features $f --message-format=json
done
run cargo_build_app_type rs_ws cargo build --offline --workspace --features app/type_error
again cargo_build_app_type.cargo.json rs_ws cargo build --offline --workspace --features app/type_error --message-format=json
run cargo_build_pass rs_ws cargo build --offline --workspace
run cargo_check_two rs_ws cargo check --offline --workspace --features geometry/type_error,geometry/borrow_error
again cargo_check_two.cargo.json rs_ws cargo check --offline --workspace --features geometry/type_error,geometry/borrow_error --message-format=json
run cargo_clippy_lint rs_ws cargo clippy --offline --workspace --features geometry/lint -- -D warnings
again cargo_clippy_lint.cargo.json rs_ws cargo clippy --offline --workspace --features geometry/lint --message-format=json -- -D warnings
run cargo_clippy_pass rs_ws cargo clippy --offline --workspace -- -D warnings
run cargo_test_fail rs_ws cargo test --offline --no-fail-fast --workspace --features geometry/failing_tests,app/failing_tests
again cargo_test_fail.libtest.json rs_ws RUSTC_BOOTSTRAP=1 cargo test --offline --no-fail-fast --workspace --features geometry/failing_tests,app/failing_tests -- -Z unstable-options --format json
run cargo_test_doctest rs_ws cargo test --offline --no-fail-fast -p geometry --features failing_doctest
again cargo_test_doctest.libtest.json rs_ws RUSTC_BOOTSTRAP=1 cargo test --offline --no-fail-fast -p geometry --features failing_doctest -- -Z unstable-options --format json
run cargo_test_pass rs_ws cargo test --offline --workspace
run cargo_test_env rs_ws cargo test --offline --no-fail-fast -p geometry --features env_tests
again cargo_test_env.libtest.json rs_ws RUSTC_BOOTSTRAP=1 cargo test --offline --no-fail-fast -p geometry --features env_tests -- -Z unstable-options --format json
run cargo_test_build_error rs_ws cargo test --offline --workspace --features geometry/unresolved_name
# nextest on the same tests (its names: those of libtest, from the JSON of cargo test)
run nextest_fail rs_ws cargo nextest run --offline --no-fail-fast --workspace --features geometry/failing_tests,app/failing_tests
again nextest_fail.libtest.json rs_ws RUSTC_BOOTSTRAP=1 cargo test --offline --no-fail-fast --workspace --features geometry/failing_tests,app/failing_tests -- -Z unstable-options --format json
run nextest_pass rs_ws cargo nextest run --offline --workspace

# --- pytest on a src layout (pythonpath = src in pyproject.toml)
P="python -m pytest -p no:cacheprovider"
run pytest_assert py_src $P tests/test_assert.py --junitxml=$WORK/pytest_assert.xml
run pytest_exception py_src $P tests/test_exception.py --junitxml=$WORK/pytest_exception.xml
run pytest_import py_src $P tests/test_import.py --junitxml=$WORK/pytest_import.xml
run pytest_fixture py_src $P tests/test_fixture.py --junitxml=$WORK/pytest_fixture.xml
run pytest_param py_src $P -v tests/test_param.py --junitxml=$WORK/pytest_param.xml
run pytest_all py_src $P --junitxml=$WORK/pytest_all.xml
run pytest_all_continue py_src $P -rA --continue-on-collection-errors --junitxml=$WORK/pytest_all_continue.xml
run pytest_quiet py_src $P -q tests/test_assert.py tests/test_exception.py tests/test_param.py --junitxml=$WORK/pytest_quiet.xml
run pytest_pass py_src $P tests/test_stock_ok.py --junitxml=$WORK/pytest_pass.xml
# tests_extra/ (outside testpaths, so run by path): a syntax error, an absent third-party
# module, an undefined helper
run pytest_syntax py_src $P tests_extra/test_syntax.py --junitxml=$WORK/pytest_syntax.xml
run pytest_thirdparty py_src $P tests_extra/test_thirdparty.py --junitxml=$WORK/pytest_thirdparty.xml
run pytest_name py_src $P -rA tests_extra/test_name.py --junitxml=$WORK/pytest_name.xml
run pytest_env py_src $P tests_extra/test_env.py --junitxml=$WORK/pytest_env.xml
for c in pytest_assert pytest_exception pytest_import pytest_fixture pytest_param pytest_all pytest_all_continue pytest_quiet pytest_pass pytest_syntax pytest_thirdparty pytest_name pytest_env; do
    mv "$WORK/$c.xml" "out/$c.junit.xml"
done

# --- mypy on flat modules and on the src layout
M="mypy --no-incremental --no-error-summary"
run mypy_type py_flat mypy --no-incremental bad_types.py
again mypy_type.mypy.json py_flat mypy --no-incremental -O json bad_types.py
run mypy_type_json py_flat mypy --no-incremental -O json bad_types.py
run mypy_name py_flat mypy --no-incremental bad_names.py
run mypy_import py_flat mypy --no-incremental bad_import.py
again mypy_import.mypy.json py_flat mypy --no-incremental -O json bad_import.py
run mypy_import_json py_flat mypy --no-incremental -O json bad_import.py
run mypy_syntax py_flat mypy --no-incremental bad_syntax.py
run mypy_pass py_flat mypy --no-incremental good.py
run mypy_src py_src mypy --no-incremental src
run mypy_many py_flat $M bad_types.py bad_names.py good.py
run mypy_config py_flat mypy --no-incremental --config-file bad_mypy.ini good.py

# --- ruff (ruff.toml selects E4, E7, E9, F, W)
run ruff_check_lint py_flat ruff check --no-cache bad_lint.py
again ruff_check_lint.ruff.json py_flat ruff check --no-cache --output-format=json bad_lint.py
run ruff_check_json py_flat ruff check --no-cache --output-format=json bad_lint.py
run ruff_check_syntax py_flat ruff check --no-cache bad_syntax.py
run ruff_check_all py_flat ruff check --no-cache .
again ruff_check_all.ruff.json py_flat ruff check --no-cache --output-format=json .
run ruff_check_concise py_flat ruff check --no-cache --output-format=concise .
run ruff_check_pass py_flat ruff check --no-cache good.py
run ruff_config py_flat ruff check --no-cache --config bad_ruff.toml good.py
run ruff_format_check py_flat ruff format --check --no-cache bad_format.py good.py
run ruff_format_pass py_flat ruff format --check --no-cache good.py

# --- go: one module, packages cart, pricing, internal/money, cmd/shop; build tags add broken files
for t in broken_type broken_name broken_import broken_dep broken_syntax; do
    run go_build_$t go_mod go build -tags $t ./...
done
run go_build_pass go_mod go build ./...
run go_test_fail go_mod go test -count=1 -tags failing ./...
again go_test_fail.gojson go_mod go test -json -count=1 -tags failing ./...
run go_test_fail_v go_mod go test -v -count=1 -tags failing ./...
again go_test_fail_v.gojson go_mod go test -json -count=1 -tags failing ./...
run go_test_build go_mod go test -count=1 -tags broken_name ./...
run go_test_pass go_mod go test -count=1 ./...
run go_test_timeout go_mod go test -count=1 -tags slow -timeout 3s ./pricing/
again go_test_timeout.gojson go_mod go test -json -count=1 -tags slow -timeout 3s ./pricing/
run go_test_env go_mod go test -count=1 -tags envtest ./pricing/
again go_test_env.gojson go_mod go test -json -count=1 -tags envtest ./pricing/
run go_build_modfile go_mod go build -modfile=go.bad.mod ./...
run go_test_vet go_mod go test -count=1 -tags vetbad ./...
run go_vet go_mod go vet -tags vetbad ./...
run go_vet_pass go_mod go vet ./...

# --- jest on an npm-workspaces monorepo (packages/core, packages/web); text and --json of one run
J="npx jest --ci"
run jest_verbose_all js_mono $J --verbose --json --outputFile=$WORK/jest_verbose_all.json
run jest_verbose_core js_mono $J --verbose --json --outputFile=$WORK/jest_verbose_core.json packages/core
run jest_plain_all js_mono $J --json --outputFile=$WORK/jest_plain_all.json
run jest_plain_web js_mono $J --json --outputFile=$WORK/jest_plain_web.json packages/web
run jest_verbose_pass js_mono $J --verbose --json --outputFile=$WORK/jest_verbose_pass.json packages/core/test/math.test.js packages/web/test/format.test.js
run jest_plain_pass js_mono $J --json --outputFile=$WORK/jest_plain_pass.json packages/web/test/format.test.js
# the monorepo as jest projects, one per package: file headers carry the displayName
run jest_projects_verbose js_mono $J -c jest.projects.config.js --verbose --json --outputFile=$WORK/jest_projects_verbose.json
run jest_projects_plain js_mono $J -c jest.projects.config.js --json --outputFile=$WORK/jest_projects_plain.json
# a flat jest project: a syntax error, an undeclared package
run jest_syntax js_jest_flat $J --verbose --json --outputFile=$WORK/jest_syntax.json syntax.test.js
run jest_missing_dep js_jest_flat $J --verbose --json --outputFile=$WORK/jest_missing_dep.json pad.test.js
run jest_flat_all js_jest_flat $J --json --outputFile=$WORK/jest_flat_all.json
run jest_env js_jest_flat $J --json --outputFile=$WORK/jest_env.json env.test.js
for c in jest_verbose_all jest_verbose_core jest_plain_all jest_plain_web jest_verbose_pass jest_plain_pass jest_syntax jest_missing_dep jest_flat_all jest_env jest_projects_verbose jest_projects_plain; do
    mv "$WORK/$c.json" "out/$c.jest.json"
done

# --- vitest: default, verbose and json reporters (text runs also write the json report)
V="npx vitest run"
run vitest_text_fail js_vitest $V --reporter=default --reporter=json --outputFile.json=$WORK/vitest_text_fail.json
run vitest_verbose_fail js_vitest $V --reporter=verbose --reporter=json --outputFile.json=$WORK/vitest_verbose_fail.json
run vitest_json_fail js_vitest $V --reporter=json
run vitest_text_coupon js_vitest $V --reporter=default --reporter=json --outputFile.json=$WORK/vitest_text_coupon.json test/coupon.test.js
run vitest_text_import js_vitest $V --reporter=default --reporter=json --outputFile.json=$WORK/vitest_text_import.json test/shipping.test.js
run vitest_text_pass js_vitest $V --reporter=default --reporter=json --outputFile.json=$WORK/vitest_text_pass.json test/cart.test.js
run vitest_verbose_pass js_vitest $V --reporter=verbose --reporter=json --outputFile.json=$WORK/vitest_verbose_pass.json test/cart.test.js
# a second vitest project (default config): a syntax error, an undeclared package
run vitest_syntax js_vitest_more $V --reporter=default --reporter=json --outputFile.json=$WORK/vitest_syntax.json test/syntax.test.js
run vitest_missing_dep js_vitest_more $V --reporter=default --reporter=json --outputFile.json=$WORK/vitest_missing_dep.json test/pad.test.js
run vitest_more_verbose js_vitest_more $V --reporter=verbose --reporter=json --outputFile.json=$WORK/vitest_more_verbose.json
# a missing fixture file and an unset variable (SHOP_API_KEY); a config importing a plugin not installed
run vitest_env js_vitest_more $V -c vitest.env.config.js --reporter=default --reporter=json --outputFile.json=$WORK/vitest_env.json
run vitest_config js_vitest_more $V -c vitest.broken.config.js
# a monorepo of two vitest projects (`test.projects`), each with test/units.test.js
run vitest_mono_text js_vitest_mono $V --reporter=default --reporter=json --outputFile.json=$WORK/vitest_mono_text.json
run vitest_mono_verbose js_vitest_mono $V --reporter=verbose --reporter=json --outputFile.json=$WORK/vitest_mono_verbose.json
run vitest_mono_json js_vitest_mono $V --reporter=json
for c in vitest_text_fail vitest_verbose_fail vitest_text_coupon vitest_text_import vitest_text_pass vitest_verbose_pass vitest_syntax vitest_missing_dep vitest_more_verbose vitest_env vitest_mono_text vitest_mono_verbose; do
    mv "$WORK/$c.json" "out/$c.vitest.json"
done

# --- tsc: one tsconfig per broken file (tsc has no structured report)
for c in type syntax module import name broken; do
    run tsc_$c ts_proj npx tsc --pretty false -p tsconfig.$c.json
done
run tsc_badjson ts_proj npx tsc --pretty false -p tsconfig.badjson.json
run tsc_pretty ts_proj npx tsc -p tsconfig.type.json
run tsc_pass ts_proj npx tsc -p tsconfig.json

# --- eslint 9 flat config: stylish text and -f json
run eslint_stylish js_lint npx eslint src
again eslint_stylish.eslint.json js_lint npx eslint -f json src
run eslint_json js_lint npx eslint -f json src
run eslint_syntax js_lint npx eslint syntax
again eslint_syntax.eslint.json js_lint npx eslint -f json syntax
run eslint_syntax_json js_lint npx eslint -f json syntax
run eslint_warn_only js_lint npx eslint src/warn_only.js
run eslint_pass js_lint npx eslint src/good.js
run eslint_config js_lint npx eslint -c bad.config.js src

sed -i "s#$here#WIDE#g" out/*
