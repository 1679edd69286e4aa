//! Job trees whose installed packages lead to the job tree, and cheap
//! checks judged against the unmutated code's findings, on real projects
//! with the real tools: a src-layout uv project installed editable by
//! `uv sync` (run through `uv run`, and as a plain project from its
//! activated virtual environment), a pnpm workspace whose app imports its library through the
//! workspace link (`pnpm install`), a Go package with a `go vet` finding
//! and a TypeScript project with a type error, both there before any
//! mutant. Fixtures are copied to a temporary directory and installed there.

use crate::support::{dump, outcome};
use agent_core::Executor;
use agent_core::exec::{CommandSpec, ExecError, RunOutput};
use agent_mutants::{MutantOutcome, MutationConfig, MutationReport, MutationRunner, Operator};
use agent_sandbox::{DirSnapshotter, ProcessExecutor};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

fn runner(cache: &Path) -> MutationRunner {
    MutationRunner::new(Arc::new(ProcessExecutor::new()), Arc::new(DirSnapshotter::new(cache.join("snapshots"))))
}

fn config(cache: &Path) -> MutationConfig {
    MutationConfig::default().jobs(2).cache_dir(cache).min_timeout(Duration::from_secs(10))
}

fn fixture(name: &str) -> (tempfile::TempDir, PathBuf) {
    crate::support::copy_fixture(&crate::support::testdata().join("mutate").join(name))
}

/// Runs `program args` in `dir`; panics with its output when it fails.
fn setup(dir: &Path, program: &str, args: &[&str]) {
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("{program} could not start ({e}); .ci/run installs it"));
    assert!(
        out.status.success(),
        "{program} {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The outcome of the one mutant with `replacement` on the line of `root/file` that reads `line` (trimmed).
fn at(report: &MutationReport, root: &Path, file: &str, line: &str, replacement: &str) -> MutantOutcome {
    let text = std::fs::read_to_string(root.join(file));
    let number = text.ok().and_then(|t| t.lines().position(|l| l.trim() == line)).map(|i| i + 1);
    let number = u32::try_from(number.unwrap_or_else(|| panic!("no line {line:?} in {file}"))).unwrap();
    let found: Vec<_> = report
        .mutants
        .iter()
        .filter(|r| r.mutant.file == file && r.mutant.line == number && r.mutant.replacement == replacement)
        .collect();
    assert_eq!(found.len(), 1, "one mutant -> {replacement} on {file}:{number}; report:\n{}", dump(report));
    found[0].outcome
}

/// The text of every `.pth` file in the environment's site-packages.
fn pth_files(venv: &Path) -> String {
    let mut text = String::new();
    for lib in std::fs::read_dir(venv.join("lib")).unwrap() {
        let site = lib.unwrap().path().join("site-packages");
        for entry in std::fs::read_dir(site).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|x| x == "pth") {
                text.push_str(&std::fs::read_to_string(path).unwrap());
            }
        }
    }
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_editable_uv_install_of_a_src_layout_project_tests_the_job_trees_mutant_and_is_left_alone() {
    let (tmp, root) = fixture("python-uv-src");
    // The project's own environment: pytest and the package installed editable (a `.pth` into src/).
    setup(&root, "uv", &["sync", "--quiet"]);
    let root = root.canonicalize().unwrap();
    let installed = pth_files(&root.join(".venv"));
    assert!(installed.contains(&root.join("src").display().to_string()), "an editable install: {installed}");
    let cache = tmp.path().join("cache");
    let report = runner(&cache).run(&root, &config(&cache)).await.unwrap();
    let pricing = "src/shopcalc/pricing.py";
    // Through the editable install these would be tested against the original and missed.
    assert_eq!(outcome(&report, pricing, "*", "/"), MutantOutcome::Caught, "{}", dump(&report));
    assert_eq!(outcome(&report, pricing, "percent > 100", "False"), MutantOutcome::Caught);
    let is_adult = |value: &str| {
        let found = report.mutants.iter().find(|r| {
            r.mutant.function.as_deref() == Some("is_adult")
                && r.mutant.operator == Operator::ReplaceBody
                && r.mutant.replacement == value
        });
        found.unwrap_or_else(|| panic!("no body {value} of is_adult: {}", dump(&report))).outcome
    };
    assert_eq!(is_adult("return False"), MutantOutcome::Caught);
    assert_eq!(is_adult("return True"), MutantOutcome::Missed, "the weak test tries one age only");
    assert_eq!(outcome(&report, pricing, ">", ">="), MutantOutcome::Missed, "no test at 100");
    assert_eq!(
        pth_files(&root.join(".venv")),
        installed,
        "no job re-synced the project's environment to point at its own tree"
    );
}

/// The process executor as a shell with the virtual environment `venv` activated
/// (`VIRTUAL_ENV` set, its `bin` first on `PATH`), the way a user runs a tool from one.
struct Activated {
    venv: PathBuf,
    inner: ProcessExecutor,
}

#[async_trait::async_trait]
impl Executor for Activated {
    async fn run(&self, mut spec: CommandSpec) -> Result<RunOutput, ExecError> {
        let host = std::env::var_os("PATH").unwrap_or_default();
        let path = std::env::join_paths(std::iter::once(self.venv.join("bin")).chain(std::env::split_paths(&host)));
        spec.env = spec
            .env
            .clone()
            .set("PATH", path.unwrap().to_string_lossy().into_owned())
            .set("VIRTUAL_ENV", self.venv.display().to_string());
        self.inner.run(spec).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_activated_venv_with_an_editable_install_tests_the_job_trees_mutant_not_the_original() {
    let (tmp, root) = fixture("python-uv-src");
    setup(&root, "uv", &["sync", "--quiet"]);
    // Without uv's lockfile the project is a plain one: `python -m pytest`, from the activated venv.
    std::fs::remove_file(root.join("uv.lock")).unwrap();
    let root = root.canonicalize().unwrap();
    let cache = tmp.path().join("cache");
    let executor = Activated { venv: root.join(".venv"), inner: ProcessExecutor::new() };
    let runner = MutationRunner::new(Arc::new(executor), Arc::new(DirSnapshotter::new(cache.join("snapshots"))));
    let only = config(&cache).files(vec!["src/shopcalc/pricing.py".to_owned()]);
    let report = runner.run(&root, &only).await.unwrap();
    let pricing = "src/shopcalc/pricing.py";
    // The editable `.pth` points at the original's src/: imported from there, every mutant was missed.
    assert_eq!(outcome(&report, pricing, "*", "/"), MutantOutcome::Caught, "{}", dump(&report));
    assert_eq!(outcome(&report, pricing, "percent > 100", "False"), MutantOutcome::Caught);
    assert_eq!(outcome(&report, pricing, ">", ">="), MutantOutcome::Missed, "no test at 100");
    assert!(report.caught > report.missed, "{}", dump(&report));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pnpm_workspace_package_imported_by_name_is_tested_from_the_job_tree() {
    let (tmp, root) = fixture("pnpm-workspace");
    // Workspace-only dependencies: the lockfile links them, nothing comes from the registry.
    setup(&root, "pnpm", &["install", "--offline", "--frozen-lockfile", "--silent"]);
    let link = root.join("packages/app/node_modules/@shop/pricing");
    assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink(), "a workspace link");
    let cache = tmp.path().join("cache");
    let report = runner(&cache).run(&root, &config(&cache)).await.unwrap();
    let lib = "packages/lib/src/index.js";
    // Only the app's tests reach the library, by its package name: through a link to the
    // original checkout these would be missed.
    assert_eq!(outcome(&report, lib, "*", "/"), MutantOutcome::Caught, "{}", dump(&report));
    assert_eq!(outcome(&report, lib, "===", "!=="), MutantOutcome::Caught);
    assert_eq!(outcome(&report, lib, ">", ">="), MutantOutcome::Missed, "no test at 100");
    let is_free = |value: &str| outcome(&report, lib, "{\n  return price === 0;\n}", value);
    assert_eq!(is_free("{ return true; }"), MutantOutcome::Missed, "isFree is only tried with 0");
    assert_eq!(is_free("{ return false; }"), MutantOutcome::Caught);
    assert_eq!(outcome(&report, "packages/app/src/cart.js", "+=", "-="), MutantOutcome::Caught);
    assert_eq!(std::fs::read_link(&link).unwrap(), Path::new("../../../lib"), "the original's link is untouched");
    let job_link = cache.join("job-0/tree/packages/app/node_modules/@shop/pricing").canonicalize().unwrap();
    assert_eq!(job_link, cache.join("job-0/tree/packages/lib").canonicalize().unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_go_vet_finding_already_in_the_package_leaves_mutants_to_the_tests_and_a_new_one_is_unviable() {
    let (tmp, root) = fixture("go-vet-finding");
    let cache = tmp.path().join("cache");
    let report = runner(&cache).run(&root, &config(&cache)).await.unwrap();
    // `go vet` fails on every version of the package (Value copies the lock): the tests decide.
    assert_eq!(outcome(&report, "shop.go", "*", "/"), MutantOutcome::Caught, "{}", dump(&report));
    assert_eq!(outcome(&report, "shop.go", ">", ">="), MutantOutcome::Missed, "no test at 255 visits");
    // Body replacements return before the old body: unreachable code, which is no compile error.
    let body = |function: &str, replacement: &str| {
        let found = report.mutants.iter().find(|r| {
            r.mutant.function.as_deref() == Some(function)
                && r.mutant.operator == Operator::ReplaceBody
                && r.mutant.replacement == replacement
        });
        found.unwrap_or_else(|| panic!("no body {replacement:?} of {function}: {}", dump(&report))).outcome
    };
    assert_eq!(body("Value", " return 0;"), MutantOutcome::Caught, "{}", dump(&report));
    assert_eq!(body("Greeting", " return \"\";"), MutantOutcome::Caught);
    // 256 does not fit the uint8 Level returns: a new finding (a type error).
    assert_eq!(at(&report, &root, "shop.go", "return 255", "256"), MutantOutcome::Unviable, "{}", dump(&report));
    assert_eq!(at(&report, &root, "shop.go", "return 255", "254"), MutantOutcome::Caught);
    assert_eq!(report.unviable, 1, "{}", dump(&report));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_type_error_already_in_the_project_leaves_mutants_to_the_tests_and_a_new_one_is_unviable() {
    let (tmp, root) = fixture("ts-type-error");
    std::os::unix::fs::symlink(agent_testkit::js_node_modules(), root.join("node_modules")).unwrap();
    assert!(root.join("node_modules/.bin/tsc").exists(), "typescript in $AGENTKIT_JSTOOLS (.ci/run installs it)");
    let cache = tmp.path().join("cache");
    let only = config(&cache).files(vec!["src/pricing.ts".to_owned()]);
    let report = runner(&cache).run(&root, &only).await.unwrap();
    let pricing = "src/pricing.ts";
    // tsc reports src/settings.ts's TS2339 for every mutant: the tests decide.
    assert_eq!(outcome(&report, pricing, "*", "/"), MutantOutcome::Caught, "{}", dump(&report));
    assert_eq!(at(&report, &root, pricing, "return 3;", "2"), MutantOutcome::Caught);
    // 4 is no Tier: a new type error (TS2322), on top of the old one.
    assert_eq!(at(&report, &root, pricing, "return 3;", "4"), MutantOutcome::Unviable, "{}", dump(&report));
    assert!(report.caught > report.unviable, "{}", dump(&report));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jsx_mutants_are_left_to_the_tests_not_called_unviable_by_node() {
    let (tmp, root) = fixture("jsx-vitest");
    std::os::unix::fs::symlink(agent_testkit::js_node_modules(), root.join("node_modules")).unwrap();
    let cache = tmp.path().join("cache");
    let only = config(&cache).files(vec!["src/price.jsx".to_owned()]);
    let report = runner(&cache).run(&root, &only).await.unwrap();
    // `node --check` fails on every .jsx file (an unknown extension to Node): it decided nothing.
    assert_eq!(outcome(&report, "src/price.jsx", "/", "*"), MutantOutcome::Caught, "{}", dump(&report));
    assert!(report.mutants.len() >= 2, "{}", dump(&report));
    assert_eq!(report.caught, report.mutants.len(), "both tests are strong: {}", dump(&report));
    assert_eq!(report.unviable, 0, "{}", dump(&report));
}
