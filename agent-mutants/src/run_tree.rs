//! Job directories: copies of the workspace that mutants are written into,
//! and the walk that finds the source files worth mutating.
//!
//! A job directory is kept in step with the workspace by [`sync_tree`]:
//! only files whose bytes differ are rewritten, so an unchanged file keeps
//! its mtime and a build tool that fingerprints by mtime (cargo) does not
//! rebuild it on the next run. Build output (`target`), version control
//! (`.git`) and bytecode caches are left out.
//!
//! Dependency directories are linked, never copied, so that installed
//! packages cost nothing per job, but they must not lead a job's tests back
//! to the original checkout's sources:
//!
//! - A Python virtual environment (`.venv`, `venv`) is one symlink. Its
//!   editable installs still point at the original checkout; the runner
//!   puts the job tree's source roots first on `PYTHONPATH` instead (see
//!   the `run_env` module).
//! - A `node_modules` directory becomes an *overlay*: a real directory in
//!   the job tree whose entries are symlinks to the original's entries
//!   (installed packages, pnpm's `.pnpm` store, `.bin`), except that an
//!   entry which is itself a symlink into the workspace outside any
//!   `node_modules` (a workspace package link of pnpm, npm or yarn
//!   workspaces: `node_modules/@shop/pricing -> ../../packages/pricing`) is
//!   linked to the same package *in the job tree*, and plain files (pnpm's
//!   `.modules.yaml` and workspace state, npm's `.package-lock.json`) are
//!   copied, so a package manager that rewrites them writes into the job
//!   tree, never into the original. Scope directories (`@scope/`) are
//!   overlaid the same way, one level down. (A symlinked `node_modules`
//!   made an import of a workspace package resolve to the original, so
//!   every mutant of it was missed, and pnpm refuses to run scripts when
//!   `node_modules` is a symlink.) A copy per job, or a reinstall per job,
//!   would be correct too, but costs a full install per job tree.

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// Directory names never copied into a job directory.
const COPY_SKIP: &[&str] = &[
    ".git",
    ".hg",
    ".jj",
    "target",
    "__pycache__",
    ".pytest_cache",
    ".mypy_cache",
    ".ruff_cache",
    ".agentkit",
    "mutants.out",
    "mutants.out.old",
];

/// Directory names symlinked into a job directory instead of copied.
const LINK_DIRS: &[&str] = &[".venv", "venv"];

/// The directory name overlaid in a job directory (see the module doc).
const NODE_MODULES: &str = "node_modules";

/// Directory names whose files are never mutated (dependencies, build
/// output, vendored and generated code, test data).
const SOURCE_SKIP: &[&str] = &[
    "target",
    "node_modules",
    "vendor",
    "third_party",
    "third-party",
    "__pycache__",
    "venv",
    "dist",
    "build",
    "out",
    "testdata",
    "fixtures",
    "mutants.out",
    "site-packages",
];

/// Makes `dst` a copy of `src` (see the module doc), skipping `exclude`
/// (an absolute path, e.g. the cache directory when it lies inside `src`).
pub(crate) fn sync_tree(src: &Path, dst: &Path, exclude: &Path) -> io::Result<()> {
    fs::create_dir_all(dst)?;
    let roots = Roots { src: src.canonicalize()?, dst: dst.to_path_buf() };
    sync_dir(src, dst, exclude, &roots)
}

/// The workspace (canonical) and the job tree being synced with it.
struct Roots {
    src: PathBuf,
    dst: PathBuf,
}

impl Roots {
    /// Where a symlink's target in the workspace lies in the job tree, when
    /// it is a workspace package: inside the workspace, outside any
    /// `node_modules`.
    fn workspace_package(&self, link: &Path) -> Option<PathBuf> {
        let target = link.canonicalize().ok()?;
        let rel = target.strip_prefix(&self.src).ok()?;
        let in_deps = rel.components().any(|c| c.as_os_str() == NODE_MODULES);
        (!in_deps).then(|| self.dst.join(rel))
    }
}

fn sync_dir(src: &Path, dst: &Path, exclude: &Path, roots: &Roots) -> io::Result<()> {
    let mut keep = BTreeSet::new();
    for entry in fs::read_dir(src)? {
        let entry = entry?;
        let name = entry.file_name();
        let from = entry.path();
        if from == exclude || COPY_SKIP.iter().any(|s| OsStr::new(s) == name) {
            continue;
        }
        let to = dst.join(&name);
        let kind = entry.file_type()?;
        keep.insert(name.clone());
        if kind.is_dir() && LINK_DIRS.iter().any(|s| OsStr::new(s) == name) {
            ensure_symlink(&from, &to)?;
        } else if kind.is_dir() && name == NODE_MODULES {
            overlay_node_modules(&from, &to, roots)?;
        } else if kind.is_dir() {
            ensure_real_dir(&to)?;
            sync_dir(&from, &to, exclude, roots)?;
        } else if kind.is_symlink() {
            ensure_symlink(&fs::read_link(&from)?, &to)?;
        } else if kind.is_file() {
            sync_file(&from, &to)?;
        }
    }
    for entry in fs::read_dir(dst)? {
        let entry = entry?;
        if !keep.contains(&entry.file_name()) {
            remove_any(&entry.path())?;
        }
    }
    Ok(())
}

/// Makes `to` a directory of its own (never a symlink, which a write would go through).
fn ensure_real_dir(to: &Path) -> io::Result<()> {
    if fs::symlink_metadata(to).map(|m| !m.is_dir()).unwrap_or(false) {
        remove_any(to)?;
    }
    fs::create_dir_all(to)
}

/// Makes `to` the overlay of the `node_modules` directory `from` (see the module doc).
fn overlay_node_modules(from: &Path, to: &Path, roots: &Roots) -> io::Result<()> {
    ensure_real_dir(to)?;
    let mut keep = BTreeSet::new();
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let name = entry.file_name();
        let (source, link) = (entry.path(), to.join(&name));
        let kind = entry.file_type()?;
        keep.insert(name.clone());
        if kind.is_symlink() {
            match roots.workspace_package(&source) {
                Some(in_job) => ensure_symlink(&in_job, &link)?,
                None => ensure_symlink(&source, &link)?,
            }
        } else if kind.is_dir() && name.to_string_lossy().starts_with('@') {
            overlay_node_modules(&source, &link, roots)?;
        } else if kind.is_dir() {
            ensure_symlink(&source, &link)?;
        } else if kind.is_file() {
            sync_file(&source, &link)?;
        }
    }
    for entry in fs::read_dir(to)? {
        let entry = entry?;
        if !keep.contains(&entry.file_name()) {
            remove_any(&entry.path())?;
        }
    }
    Ok(())
}

fn sync_file(from: &Path, to: &Path) -> io::Result<()> {
    let bytes = fs::read(from)?;
    match fs::symlink_metadata(to) {
        Ok(meta) if meta.is_file() => {
            if fs::read(to)? == bytes {
                let mode = fs::metadata(from)?.permissions();
                if meta.permissions() != mode {
                    fs::set_permissions(to, mode)?;
                }
                return Ok(());
            }
        }
        Ok(_) => remove_any(to)?,
        Err(_) => {}
    }
    fs::write(to, &bytes)?;
    fs::set_permissions(to, fs::metadata(from)?.permissions())
}

fn ensure_symlink(target: &Path, link: &Path) -> io::Result<()> {
    if let Ok(meta) = fs::symlink_metadata(link) {
        if meta.file_type().is_symlink() && fs::read_link(link)? == target {
            return Ok(());
        }
        remove_any(link)?;
    }
    std::os::unix::fs::symlink(target, link)
}

fn remove_any(path: &Path) -> io::Result<()> {
    let meta = fs::symlink_metadata(path)?;
    if meta.is_dir() { fs::remove_dir_all(path) } else { fs::remove_file(path) }
}

/// Copies the directory `src` to `dst` (files, modes and symlinks as they
/// are). Used to seed a job's build cache from the first job's.
pub(crate) fn copy_dir(src: &Path, dst: &Path) -> io::Result<()> {
    fs::create_dir_all(dst)?;
    for entry in fs::read_dir(src)? {
        let entry = entry?;
        let (from, to) = (entry.path(), dst.join(entry.file_name()));
        let kind = entry.file_type()?;
        if kind.is_dir() {
            copy_dir(&from, &to)?;
        } else if kind.is_symlink() {
            std::os::unix::fs::symlink(fs::read_link(&from)?, &to)?;
        } else if kind.is_file() {
            fs::copy(&from, &to)?;
        }
    }
    Ok(())
}

/// Files under `root` (relative, `/`-separated, sorted) that `keep` accepts,
/// skipping hidden directories, [`SOURCE_SKIP`] directories and `exclude`.
pub(crate) fn source_files(root: &Path, exclude: &Path, keep: &dyn Fn(&str) -> bool) -> io::Result<Vec<String>> {
    let mut out = Vec::new();
    let mut stack: Vec<PathBuf> = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        for entry in fs::read_dir(root.join(&rel))? {
            let entry = entry?;
            let name = entry.file_name();
            let Some(name_str) = name.to_str() else { continue };
            let path = rel.join(name_str);
            let kind = entry.file_type()?;
            if kind.is_dir() {
                let skipped = name_str.starts_with('.') || SOURCE_SKIP.contains(&name_str) || entry.path() == exclude;
                if !skipped {
                    stack.push(path);
                }
            } else if kind.is_file() {
                let rel = path.to_string_lossy().replace('\\', "/");
                if keep(&rel) {
                    out.push(rel);
                }
            }
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sync_rewrites_only_changed_files_and_removes_stale_ones() {
        let src = tempfile::tempdir().unwrap();
        let dst = tempfile::tempdir().unwrap();
        fs::create_dir_all(src.path().join("src")).unwrap();
        fs::create_dir_all(src.path().join("target/debug")).unwrap();
        fs::create_dir_all(src.path().join("node_modules/x")).unwrap();
        fs::write(src.path().join("src/a.rs"), "a").unwrap();
        fs::write(src.path().join("src/b.rs"), "b").unwrap();
        sync_tree(src.path(), dst.path(), Path::new("/nonexistent")).unwrap();
        assert!(!dst.path().join("target").exists());
        assert!(fs::symlink_metadata(dst.path().join("node_modules")).unwrap().is_dir(), "an overlay, not a link");
        assert!(fs::symlink_metadata(dst.path().join("node_modules/x")).unwrap().file_type().is_symlink());
        fs::write(src.path().join("src/b.rs"), "bb").unwrap();
        fs::remove_file(src.path().join("src/a.rs")).unwrap();
        fs::write(src.path().join("src/c.rs"), "c").unwrap();
        sync_tree(src.path(), dst.path(), Path::new("/nonexistent")).unwrap();
        assert!(!dst.path().join("src/a.rs").exists());
        assert_eq!(fs::read_to_string(dst.path().join("src/b.rs")).unwrap(), "bb");
        assert_eq!(fs::read_to_string(dst.path().join("src/c.rs")).unwrap(), "c");
    }

    #[test]
    fn workspace_package_links_in_node_modules_point_into_the_job_tree() {
        let src = tempfile::tempdir().unwrap();
        let dst = tempfile::tempdir().unwrap();
        let root = src.path();
        for dir in [
            "packages/lib/src",
            "packages/app/node_modules/@shop",
            "node_modules/.pnpm/left-pad@1/node_modules/left-pad",
        ] {
            fs::create_dir_all(root.join(dir)).unwrap();
        }
        fs::write(root.join("node_modules/.modules.yaml"), "layoutVersion: 5\n").unwrap();
        let symlink = |target: &str, link: &str| std::os::unix::fs::symlink(target, root.join(link)).unwrap();
        symlink("../../../lib", "packages/app/node_modules/@shop/pricing");
        symlink(".pnpm/left-pad@1/node_modules/left-pad", "node_modules/left-pad");
        // A job tree from an older run, whose node_modules was one symlink to the original's.
        fs::create_dir_all(dst.path().join("packages/app")).unwrap();
        std::os::unix::fs::symlink(
            root.join("packages/app/node_modules"),
            dst.path().join("packages/app/node_modules"),
        )
        .unwrap();
        sync_tree(root, dst.path(), Path::new("/nonexistent")).unwrap();
        let job = dst.path();
        let pricing = job.join("packages/app/node_modules/@shop/pricing");
        assert_eq!(pricing.canonicalize().unwrap(), job.join("packages/lib").canonicalize().unwrap());
        assert!(!fs::symlink_metadata(job.join("packages/app/node_modules")).unwrap().file_type().is_symlink());
        let pad = job.join("node_modules/left-pad").canonicalize().unwrap();
        assert_eq!(pad, root.join("node_modules/.pnpm/left-pad@1/node_modules/left-pad").canonicalize().unwrap());
        let state = job.join("node_modules/.modules.yaml");
        assert!(fs::symlink_metadata(&state).unwrap().is_file(), "copied: a package manager may rewrite it");
        fs::write(&state, "changed in the job").unwrap();
        assert_eq!(fs::read_to_string(root.join("node_modules/.modules.yaml")).unwrap(), "layoutVersion: 5\n");
        // The original's node_modules is untouched by the overlay.
        assert_eq!(
            fs::read_link(root.join("packages/app/node_modules/@shop/pricing")).unwrap(),
            Path::new("../../../lib")
        );
    }

    #[test]
    fn npm_workspace_links_at_the_root_point_into_the_job_tree_and_other_packages_stay_shared() {
        let src = tempfile::tempdir().unwrap();
        let dst = tempfile::tempdir().unwrap();
        let root = src.path();
        for dir in ["packages/lib", "node_modules/@shop", "node_modules/@types/node", "node_modules/chalk"] {
            fs::create_dir_all(root.join(dir)).unwrap();
        }
        fs::write(root.join("node_modules/.package-lock.json"), "{}").unwrap();
        std::os::unix::fs::symlink("../../packages/lib", root.join("node_modules/@shop/pricing")).unwrap();
        sync_tree(root, dst.path(), Path::new("/nonexistent")).unwrap();
        let job = dst.path();
        let pricing = job.join("node_modules/@shop/pricing").canonicalize().unwrap();
        assert_eq!(pricing, job.join("packages/lib").canonicalize().unwrap());
        let types = job.join("node_modules/@types/node");
        assert!(fs::symlink_metadata(&types).unwrap().file_type().is_symlink(), "a scoped package is linked");
        assert_eq!(types.canonicalize().unwrap(), root.join("node_modules/@types/node").canonicalize().unwrap());
        assert!(fs::symlink_metadata(job.join("node_modules/chalk")).unwrap().file_type().is_symlink());
        // A package removed from the original disappears from the overlay on the next sync.
        fs::remove_dir_all(root.join("node_modules/chalk")).unwrap();
        sync_tree(root, dst.path(), Path::new("/nonexistent")).unwrap();
        assert!(fs::symlink_metadata(job.join("node_modules/chalk")).is_err());
    }

    #[test]
    fn sync_keeps_the_mtime_of_an_unchanged_file() {
        let src = tempfile::tempdir().unwrap();
        let dst = tempfile::tempdir().unwrap();
        fs::write(src.path().join("lib.rs"), "same").unwrap();
        sync_tree(src.path(), dst.path(), Path::new("/nonexistent")).unwrap();
        let before = fs::metadata(dst.path().join("lib.rs")).unwrap().modified().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        sync_tree(src.path(), dst.path(), Path::new("/nonexistent")).unwrap();
        assert_eq!(fs::metadata(dst.path().join("lib.rs")).unwrap().modified().unwrap(), before);
    }

    #[test]
    fn source_walk_skips_dependency_build_and_hidden_directories() {
        let root = tempfile::tempdir().unwrap();
        for dir in ["src", "target/debug", "node_modules/p", ".git", "vendor/x"] {
            fs::create_dir_all(root.path().join(dir)).unwrap();
            fs::write(root.path().join(dir).join("f.rs"), "").unwrap();
        }
        let files = source_files(root.path(), Path::new("/nonexistent"), &|p| p.ends_with(".rs")).unwrap();
        assert_eq!(files, vec!["src/f.rs".to_owned()]);
    }
}
