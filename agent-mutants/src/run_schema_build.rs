//! Building a Rust schema (see the `run_schema` module) in the schema tree.
//!
//! The schema tree (`<cache>/schema/tree`) is a copy of the workspace used
//! for nothing else, with its own build cache (`<cache>/schema/target`).
//! The schema files are written into it and `cargo test --no-run
//! --message-format=json` builds them with the runner's packages and
//! flags. A build error at a switched mutant moves that mutant to the
//! per-mutant path and the schema is built again (at most [`MAX_BUILDS`]
//! times); an error nowhere in a schema site gives up on schemata for the
//! run (the original files are then written back). A good build stays in
//! place: its test executables run from where cargo put them, so whatever
//! was compiled in (`CARGO_BIN_EXE_*` paths to the schema's own binaries,
//! `CARGO_MANIFEST_DIR`) points at the schema, never at a job tree that a
//! per-mutant build changes; and `cargo test --doc` in the schema tree
//! finds the schema's library built and only compiles the doctests.

use super::run_schema::{HELPER, Rewrite, candidate, rewrite};
use super::{MutateError, io_err};
use crate::Mutant;
use crate::run_project::{Project, cargo_package_dir};
use agent_core::Executor;
use agent_core::exec::OutputCaps;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Schema builds tried before giving up.
pub(crate) const MAX_BUILDS: usize = 3;

/// A schema that built: which mutants it holds and the test executables per package.
#[derive(Debug, Default)]
pub(crate) struct SchemaBuild {
    /// Ids switched into the build.
    pub(crate) ids: BTreeSet<u32>,
    /// Test executables per package directory (relative, `""` for the root).
    pub(crate) executables: BTreeMap<String, Arc<Vec<PathBuf>>>,
}

/// Builds the schema of `mutants` (id, mutant) in `schema_dir/tree` (build
/// cache `schema_dir/target`); `None` when no mutant could go in or the
/// build kept failing outside the switched code.
pub(crate) async fn build(
    executor: &dyn Executor,
    project: &Project,
    schema_dir: &Path,
    units: &BTreeSet<String>,
    mutants: &[(u32, &Mutant)],
    sources: &BTreeMap<String, Arc<String>>,
) -> Result<Option<SchemaBuild>, MutateError> {
    let tree = &schema_dir.join("tree");
    let env = project.env(schema_dir);
    // Files of a package's `src/` only, by file.
    let mut by_file: BTreeMap<String, Vec<(u32, &Mutant)>> = BTreeMap::new();
    let mut roots: BTreeSet<String> = BTreeSet::new();
    for &(id, m) in mutants {
        let Some(dir) = cargo_package_dir(tree, &m.file) else { continue };
        let prefix = if dir.is_empty() { "src/".to_owned() } else { format!("{dir}/src/") };
        if !candidate(m) || !m.file.starts_with(&prefix) || !sources.contains_key(&m.file) {
            continue;
        }
        for root in ["lib.rs", "main.rs"] {
            let path = format!("{prefix}{root}");
            if tree.join(&path).is_file() {
                roots.insert(path);
            }
        }
        by_file.entry(m.file.clone()).or_default().push((id, m));
    }
    let mut dropped: BTreeSet<u32> = BTreeSet::new();
    for attempt in 1..=MAX_BUILDS {
        let rewrites: BTreeMap<&String, Rewrite> = by_file
            .iter()
            .filter_map(|(file, list)| {
                let source = sources.get(file)?;
                let kept: Vec<(u32, &Mutant)> = list.iter().filter(|(id, _)| !dropped.contains(id)).copied().collect();
                Some((file, rewrite(source, &kept)))
            })
            .collect();
        let ids: BTreeSet<u32> = rewrites.values().flat_map(|r| r.included.iter().copied()).collect();
        if ids.is_empty() {
            return Ok(None);
        }
        // Write the schema: rewritten files, and the helper at the end of every crate root.
        let mut originals: Vec<(PathBuf, String)> = Vec::new();
        let mut paths: BTreeSet<&str> = rewrites.keys().map(|f| f.as_str()).collect();
        paths.extend(roots.iter().map(String::as_str));
        for rel in paths {
            let path = tree.join(rel);
            let original = match sources.get(rel) {
                Some(text) => text.as_str().to_owned(),
                None => std::fs::read_to_string(&path).map_err(io_err(&path))?,
            };
            let mut text = match rewrites.get(&rel.to_owned()) {
                Some(r) => r.text.clone(),
                None => original.clone(),
            };
            if roots.contains(rel) {
                text.push_str(HELPER);
            }
            std::fs::write(&path, text).map_err(io_err(&path))?;
            originals.push((path, original));
        }
        let spec = project
            .schema_build(tree, units)
            .env(env.clone())
            .wall_timeout(Duration::from_secs(600))
            .output_caps(OutputCaps { head_bytes: 64 << 20, tail_bytes: 0 });
        let command = spec.display_redacted();
        let out = executor.run(spec).await;
        let restore = |originals: &[(PathBuf, String)]| -> Result<(), MutateError> {
            for (path, original) in originals {
                std::fs::write(path, original).map_err(io_err(path))?;
            }
            Ok(())
        };
        let out = match out {
            Ok(out) => out,
            Err(source) => {
                restore(&originals)?;
                return Err(MutateError::Exec { command, source });
            }
        };
        let messages = parse_messages(&out.stdout.text(), tree);
        if out.success() {
            let mut executables: BTreeMap<String, Vec<PathBuf>> = BTreeMap::new();
            for (dir, exe) in messages.executables {
                executables.entry(dir).or_default().push(exe);
            }
            tracing::info!(mutants = ids.len(), attempt, "schema built");
            let executables = executables.into_iter().map(|(d, e)| (d, Arc::new(e))).collect();
            return Ok(Some(SchemaBuild { ids, executables }));
        }
        restore(&originals)?;
        if out.timed_out.is_some() || messages.errors.is_empty() {
            tracing::info!(attempt, "schema build failed without a located error; per-mutant path");
            return Ok(None);
        }
        let before = dropped.len();
        for (file, start, end) in &messages.errors {
            let Some(r) = rewrites.get(file) else {
                tracing::info!(%file, "schema build error outside the schema; per-mutant path");
                return Ok(None);
            };
            match r.blame_at(*start, *end) {
                Some(blamed) => dropped.extend(blamed.iter().copied()),
                None => dropped.extend(r.included.iter().copied()),
            }
        }
        tracing::info!(
            attempt,
            dropped = dropped.len() - before,
            "schema build error; retrying without the blamed mutants"
        );
        if dropped.len() == before {
            return Ok(None);
        }
    }
    Ok(None)
}

/// What a `cargo --message-format=json` run reported.
#[derive(Debug, Default)]
struct Messages {
    /// (package directory relative to the tree, test executable).
    executables: Vec<(String, PathBuf)>,
    /// (file relative to the tree, byte start, byte end) of every error's primary spans.
    errors: Vec<(String, usize, usize)>,
}

fn parse_messages(stdout: &str, tree: &Path) -> Messages {
    let relative = |p: &str| -> String {
        let path = Path::new(p);
        match path.strip_prefix(tree) {
            Ok(rel) => rel.to_string_lossy().replace('\\', "/"),
            Err(_) => p.to_owned(),
        }
    };
    let mut out = Messages::default();
    for line in stdout.lines() {
        let Ok(value) = serde_json::from_str::<serde_json::Value>(line) else { continue };
        match value.get("reason").and_then(|r| r.as_str()) {
            Some("compiler-artifact") => {
                // Test harnesses only: `cargo test --no-run` also builds binaries and examples.
                let harness = value.get("profile").and_then(|p| p.get("test")).and_then(|t| t.as_bool());
                if harness != Some(true) {
                    continue;
                }
                let exe = value.get("executable").and_then(|e| e.as_str());
                let manifest = value.get("manifest_path").and_then(|m| m.as_str());
                if let (Some(exe), Some(manifest)) = (exe, manifest) {
                    let dir = Path::new(manifest).parent().map(|d| relative(&d.to_string_lossy())).unwrap_or_default();
                    let dir = if Path::new(&dir).is_absolute() { continue } else { dir };
                    out.executables.push((dir, PathBuf::from(exe)));
                }
            }
            Some("compiler-message") => {
                let Some(message) = value.get("message") else { continue };
                if message.get("level").and_then(|l| l.as_str()) != Some("error") {
                    continue;
                }
                let spans = message.get("spans").and_then(|s| s.as_array()).cloned().unwrap_or_default();
                for span in spans.iter().filter(|s| s.get("is_primary").and_then(|p| p.as_bool()) == Some(true)) {
                    let file = span.get("file_name").and_then(|f| f.as_str()).map(relative);
                    let start = span.get("byte_start").and_then(|b| b.as_u64());
                    let end = span.get("byte_end").and_then(|b| b.as_u64());
                    if let (Some(file), Some(start), Some(end)) = (file, start, end) {
                        let to_usize = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
                        out.errors.push((file, to_usize(start), to_usize(end)));
                    }
                }
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cargo_json_gives_test_harness_executables_by_package_dir_and_error_spans_by_file() {
        let tree = Path::new("/t/job-0/tree");
        let stdout = concat!(
            r#"{"reason":"compiler-artifact","manifest_path":"/t/job-0/tree/Cargo.toml","profile":{"test":true},"executable":"/c/deps/shop-1"}"#,
            "\n",
            r#"{"reason":"compiler-artifact","manifest_path":"/t/job-0/tree/Cargo.toml","profile":{"test":false},"executable":"/c/shop"}"#,
            "\n",
            r#"{"reason":"compiler-artifact","manifest_path":"/t/job-0/tree/Cargo.toml","profile":{"test":false},"executable":"/c/examples/demo"}"#,
            "\n",
            r#"{"reason":"compiler-artifact","manifest_path":"/t/job-0/tree/Cargo.toml","profile":{"test":true},"executable":null}"#,
            "\n",
            r#"{"reason":"compiler-artifact","manifest_path":"/t/job-0/tree/crates/a/Cargo.toml","profile":{"test":true},"executable":"/c/deps/a-2"}"#,
            "\n",
            r#"{"reason":"compiler-message","message":{"level":"error","spans":[{"file_name":"src/lib.rs","byte_start":10,"byte_end":12,"is_primary":true},{"file_name":"src/x.rs","byte_start":1,"byte_end":2,"is_primary":false}]}}"#,
            "\n",
            r#"{"reason":"compiler-message","message":{"level":"warning","spans":[{"file_name":"src/lib.rs","byte_start":1,"byte_end":2,"is_primary":true}]}}"#,
            "\nnot json\n"
        );
        let m = parse_messages(stdout, tree);
        assert_eq!(
            m.executables,
            vec![
                ("".to_owned(), PathBuf::from("/c/deps/shop-1")),
                ("crates/a".to_owned(), PathBuf::from("/c/deps/a-2"))
            ]
        );
        assert_eq!(m.errors, vec![("src/lib.rs".to_owned(), 10, 12)]);
    }
}
