//! The baseline of a built Rust schema: its tests and doctests run once
//! with no mutant switched on and every site traced (see the `run_schema`
//! module's `TRACE`).
//!
//! The traces say which tests can notice which mutant: a mutant whose site
//! no test executable reaches is not run through them, and a doctest is run
//! for a mutant only when it reached the mutant's site. Doctests are traced
//! one at a time, because rustdoc compiles every doctest it runs again on
//! each run: a surviving mutant then costs the compile of the few doctests
//! that reach it, not of all of them. A package with more than
//! [`MAX_TRACED_DOCTESTS`] doctests is traced as a whole instead.
//!
//! Selecting one doctest: rustdoc splits its test arguments at whitespace,
//! and doctest names have spaces (`src/lib.rs - double (line 5)`), so no
//! name can be passed whole, with or without `--exact`. Each doctest is
//! selected by the word of its name (from `-- --list`) that the fewest
//! other names contain (`double`); a word shared with other names runs
//! those too, which only costs time: their sites are traced with it.

use super::run_schema::{SWITCH, TRACE, parse_trace};
use super::{BUILD_TIMEOUT, MutateError, io_err, run, test_timeout};
use crate::run_project::Project;
use agent_core::Executor;
use agent_core::exec::{CommandSpec, OutputCaps};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Packages with more doctests than this are traced with one run.
pub(crate) const MAX_TRACED_DOCTESTS: usize = 200;

/// Doctests of one package to run for a mutant: those matching some filters, or all of them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct DocSelection {
    /// The package.
    pub(crate) package: String,
    /// Name filters (words, see the module doc); `None`: every doctest of the package.
    pub(crate) filters: Option<Vec<String>>,
}

/// One traced doctest run: the doctests of a package matching a filter (or all of them) and the sites they reached.
#[derive(Debug)]
struct DocTrace {
    package: String,
    filter: Option<String>,
    reached: BTreeSet<u32>,
}

/// What the schema's baseline showed.
#[derive(Debug, Default)]
pub(crate) struct SchemaBaseline {
    /// Sites reached by some test executable.
    pub(crate) by_tests: BTreeSet<u32>,
    /// Wall time of all the test executables, one after another.
    pub(crate) tests_time: Duration,
    docs: Vec<DocTrace>,
    /// The slowest traced doctest run.
    pub(crate) doc_time: Duration,
}

impl SchemaBaseline {
    /// The doctests to run for mutant `id` among `packages` (those that can
    /// reach its code), grouped by package; empty when none reached its site.
    pub(crate) fn doctests_for(&self, id: u32, packages: &[String]) -> Vec<DocSelection> {
        let mut by_package: BTreeMap<&str, Option<Vec<String>>> = BTreeMap::new();
        for doc in self.docs.iter().filter(|d| d.reached.contains(&id) && packages.contains(&d.package)) {
            let entry = by_package.entry(&doc.package).or_insert_with(|| Some(Vec::new()));
            match (&doc.filter, entry) {
                (Some(filter), Some(filters)) => {
                    if !filters.contains(filter) {
                        filters.push(filter.clone());
                    }
                }
                (None, entry) => *entry = None,
                (Some(_), None) => {}
            }
        }
        by_package.into_iter().map(|(package, filters)| DocSelection { package: package.to_owned(), filters }).collect()
    }
}

/// `cargo test --doc -p PACKAGE [-- FILTERS]` in the schema tree with
/// mutant `id` switched on (0: none), tracing into `trace` when given.
pub(crate) fn doc_command(
    project: &Project,
    schema_dir: &Path,
    selection: &DocSelection,
    id: u32,
    trace: Option<&Path>,
) -> CommandSpec {
    let mut args = vec!["test".to_owned(), "--doc".into(), "--quiet".into(), "-p".into(), selection.package.clone()];
    if let Some(filters) = &selection.filters {
        args.push("--".to_owned());
        args.extend(filters.iter().cloned());
    }
    let mut env = project.env(schema_dir).set(SWITCH, id.to_string()).set("INSTA_UPDATE", "no");
    if let Some(trace) = trace {
        env = env.set(TRACE, trace.display().to_string());
    }
    CommandSpec::new("cargo").args(args).cwd(schema_dir.join("tree")).env(env)
}

/// The environment of a schema test executable run in the package
/// directory `dir` of a job tree with mutant `id` switched on (0: none).
fn exe_env(project: &Project, job_cache: &Path, dir: &Path, id: u32) -> agent_core::exec::EnvPolicy {
    project
        .env(job_cache)
        .set(SWITCH, id.to_string())
        .set("INSTA_UPDATE", "no")
        .set("CARGO_MANIFEST_DIR", dir.display().to_string())
}

/// A schema test executable `exe` run in `dir` (a package directory of a
/// job tree whose cache is `job_cache`) with mutant `id` switched on.
pub(crate) fn exe_command(project: &Project, job_cache: &Path, dir: &Path, exe: &Path, id: u32) -> CommandSpec {
    CommandSpec::new(exe.display().to_string()).cwd(dir).env(exe_env(project, job_cache, dir, id))
}

/// The doctest names of `cargo test --doc -- --list` output (`NAME: test` lines).
fn listed_doctests(stdout: &str) -> Vec<String> {
    stdout.lines().filter_map(|l| l.strip_suffix(": test")).map(str::to_owned).collect()
}

/// The filter that selects doctest `name` among `all`: the word of the
/// name that the fewest names contain (the longer one on a tie).
fn filter_word(name: &str, all: &[String]) -> String {
    let matches = |word: &str| all.iter().filter(|n| n.contains(word)).count();
    name.split_whitespace().min_by_key(|w| (matches(w), std::cmp::Reverse(w.len()))).unwrap_or(name).to_owned()
}

/// Runs the schema's baseline: every package's test executables in job 0's
/// tree (`job_cache/tree`), then the doctests of `doc_packages`, `jobs` at a
/// time. `None` when a test or doctest fails with no mutant switched on
/// (the schema cannot be trusted then).
pub(crate) async fn run_baseline(
    executor: &Arc<dyn Executor>,
    project: &Project,
    job_cache: &Path,
    schema_dir: &Path,
    executables: &BTreeMap<String, Arc<Vec<PathBuf>>>,
    doc_packages: &BTreeSet<String>,
    jobs: usize,
) -> Result<Option<SchemaBaseline>, MutateError> {
    let traces = schema_dir.join("traces");
    if traces.exists() {
        std::fs::remove_dir_all(&traces).map_err(io_err(&traces))?;
    }
    std::fs::create_dir_all(&traces).map_err(io_err(&traces))?;
    let tests_trace = traces.join("tests.txt");
    let job_tree = job_cache.join("tree");
    let mut base = SchemaBaseline::default();
    for (package_dir, exes) in executables {
        let dir = if package_dir.is_empty() { job_tree.clone() } else { job_tree.join(package_dir) };
        for exe in exes.iter() {
            let spec = exe_command(project, job_cache, &dir, exe, 0)
                .env(exe_env(project, job_cache, &dir, 0).set(TRACE, tests_trace.display().to_string()))
                .wall_timeout(BUILD_TIMEOUT);
            let out = run(&**executor, spec).await?;
            if !out.success() {
                tracing::info!(exe = %exe.display(), "a schema test executable fails with no mutant switched on");
                return Ok(None);
            }
            base.tests_time += Duration::from_millis(out.duration_ms);
        }
    }
    base.by_tests = read_trace(&tests_trace);

    // Doctest runs to trace: one per doctest, or one per package with too many.
    let mut runs: Vec<(DocSelection, PathBuf)> = Vec::new();
    for package in doc_packages {
        let all = DocSelection { package: package.clone(), filters: None };
        let list = doc_command(project, schema_dir, &all, 0, None)
            .args(["--", "--list", "--format", "terse"])
            .wall_timeout(BUILD_TIMEOUT)
            .output_caps(OutputCaps { head_bytes: 16 << 20, tail_bytes: 0 });
        let out = run(&**executor, list).await?;
        if !out.success() {
            tracing::info!(%package, "cannot list the doctests of the schema");
            return Ok(None);
        }
        let names = listed_doctests(&out.stdout.text());
        if names.len() > MAX_TRACED_DOCTESTS {
            runs.push((all, traces.join(format!("doc-{}.txt", runs.len()))));
        } else {
            let filters: BTreeSet<String> = names.iter().map(|n| filter_word(n, &names)).collect();
            for filter in filters {
                let one = DocSelection { package: package.clone(), filters: Some(vec![filter]) };
                runs.push((one, traces.join(format!("doc-{}.txt", runs.len()))));
            }
        }
    }
    let limit = Arc::new(tokio::sync::Semaphore::new(jobs.max(1)));
    let mut set = tokio::task::JoinSet::new();
    for (selection, trace) in runs {
        let spec = doc_command(project, schema_dir, &selection, 0, Some(&trace)).wall_timeout(BUILD_TIMEOUT);
        let (executor, limit) = (Arc::clone(executor), Arc::clone(&limit));
        set.spawn(async move {
            let _permit = limit.acquire_owned().await;
            let out = run(&*executor, spec).await;
            (selection, trace, out)
        });
    }
    while let Some(joined) = set.join_next().await {
        let (selection, trace, out) = joined.map_err(|e| MutateError::Io {
            path: traces.clone(),
            source: std::io::Error::other(format!("a doctest baseline task failed: {e}")),
        })?;
        let out = out?;
        if !out.success() {
            tracing::info!(package = %selection.package, filters = ?selection.filters, "a doctest fails on the schema");
            return Ok(None);
        }
        base.doc_time = base.doc_time.max(Duration::from_millis(out.duration_ms));
        let filter = selection.filters.and_then(|mut f| f.pop());
        base.docs.push(DocTrace { package: selection.package, filter, reached: read_trace(&trace) });
    }
    base.docs.sort_by(|a, b| (&a.package, &a.filter).cmp(&(&b.package, &b.filter)));
    Ok(Some(base))
}

/// The limit of one test-executable pass and of one doctest run of a schema mutant.
pub(crate) fn limits(base: &SchemaBaseline, jobs: usize, min: Duration) -> (Duration, Duration) {
    (test_timeout(base.tests_time, jobs, min), test_timeout(base.doc_time, jobs, min))
}

fn read_trace(path: &Path) -> BTreeSet<u32> {
    std::fs::read_to_string(path).map(|t| parse_trace(&t)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(package: &str, filter: Option<&str>, reached: &[u32]) -> DocTrace {
        DocTrace {
            package: package.into(),
            filter: filter.map(str::to_owned),
            reached: reached.iter().copied().collect(),
        }
    }

    #[test]
    fn a_mutant_gets_only_the_doctests_that_reached_its_site_by_package() {
        let base = SchemaBaseline {
            docs: vec![
                doc("a", Some("f"), &[1, 2]),
                doc("a", Some("g"), &[2]),
                doc("b", None, &[2, 5]),
                doc("c", Some("h"), &[2]),
            ],
            ..SchemaBaseline::default()
        };
        let packages = ["a".to_owned(), "b".to_owned()];
        assert_eq!(
            base.doctests_for(2, &packages),
            vec![
                DocSelection { package: "a".into(), filters: Some(vec!["f".into(), "g".into()]) },
                DocSelection { package: "b".into(), filters: None },
            ],
            "c cannot reach the mutant's package"
        );
        assert_eq!(
            base.doctests_for(1, &packages),
            vec![DocSelection { package: "a".into(), filters: Some(vec!["f".into()]) }]
        );
        assert!(base.doctests_for(7, &packages).is_empty());
    }

    #[test]
    fn listed_doctests_are_the_names_before_colon_test() {
        let out =
            "src/lib.rs - hamming (line 33): test\nsrc/lib.rs - Foo::bar (line 7): test\n\n2 tests, 0 benchmarks\n";
        assert_eq!(listed_doctests(out), ["src/lib.rs - hamming (line 33)", "src/lib.rs - Foo::bar (line 7)"]);
    }

    #[test]
    fn a_doctest_is_selected_by_the_word_of_its_name_fewest_names_share() {
        let all: Vec<String> = [
            "src/lib.rs - hamming (line 33)",
            "src/lib.rs - hamming_dist (line 50)",
            "src/lib.rs - jaro (line 5)",
            "src/lib.rs - (line 1)",
            "src/lib.rs - (line 11)",
        ]
        .map(str::to_owned)
        .to_vec();
        assert_eq!(filter_word(&all[2], &all), "jaro");
        assert_eq!(filter_word(&all[1], &all), "hamming_dist");
        // `hamming` is inside `hamming_dist` too, `(line` and `src/lib.rs` in all: `33)` is the rarest.
        assert_eq!(filter_word(&all[0], &all), "33)");
        // `1)` is in `(line 1)` and `(line 11)`: shared, but still the rarest word.
        assert_eq!(filter_word(&all[3], &all), "1)");
        assert_eq!(filter_word(&all[4], &all), "11)");
    }
}
