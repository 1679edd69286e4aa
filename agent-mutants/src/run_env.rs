//! The Python environment of a job tree: imports of the project's own
//! packages must find the job tree's (mutated) sources, never the original
//! checkout's.
//!
//! A job tree links the workspace's virtual environment (`.venv`, `venv`;
//! see the `run_tree` module) rather than copying or recreating it. An
//! editable install in that environment (uv, poetry, pdm, hatch,
//! setuptools) points at the *original* checkout: a `.pth` file holding
//! the source root (`/work/proj/src`), or an import hook (setuptools'
//! `__editable___*_finder.py`, the `editables` package's `_pkg.py`) that
//! maps the package to its directory there. Through it the tests of every
//! job would import the unmutated original, and every mutant would be
//! missed.
//!
//! The runner reads those source roots from the environment once, maps
//! each one to the same directory in the job tree, and sets `PYTHONPATH`
//! to them (then whatever `PYTHONPATH` the host had). `PYTHONPATH` entries
//! come before `site-packages` on `sys.path`, and the editable import hooks
//! are appended to `sys.meta_path` after the path finder, so the job tree's
//! package wins and the installed one is never reached. Without an editable
//! install pointing into the workspace, a src layout (`src/` holding
//! packages, no `__init__.py` of its own) gives `src`.
//!
//! `UV_NO_SYNC=1` is set too: `uv run` in a job tree would otherwise
//! re-sync the linked environment, reinstalling the project editable from
//! the *job tree* into the original checkout's `.venv` (and every job would
//! race to do so). A virtual environment per job tree would be correct as
//! well, but costs an install per job (and the network, for most managers);
//! the path overlay costs nothing and works for every manager.

use agent_core::exec::EnvPolicy;
use std::path::{Path, PathBuf};

/// Virtual environment directories looked for at the workspace root.
const VENVS: &[&str] = &[".venv", "venv"];

/// The job tree's Python source roots (relative to the workspace root,
/// `""` for the root itself), in the order they go on `PYTHONPATH` (see
/// the module doc).
pub(crate) fn python_roots(root: &Path) -> Vec<String> {
    let Ok(root) = root.canonicalize() else { return Vec::new() };
    let mut roots: Vec<String> = Vec::new();
    for venv in VENVS {
        for site in site_packages(&root.join(venv)) {
            for path in editable_paths(&site) {
                if let Some(rel) = relative_dir(&root, &path) {
                    if !roots.contains(&rel) {
                        roots.push(rel);
                    }
                }
            }
        }
    }
    if roots.is_empty() && is_src_layout(&root) {
        roots.push("src".to_owned());
    }
    roots
}

/// The environment of a Python job whose tree is `tree`: `PYTHONPATH` with
/// the job tree's `roots` first, and `UV_NO_SYNC=1`.
pub(crate) fn python_env(base: EnvPolicy, roots: &[String], tree: &Path) -> EnvPolicy {
    let base = base.set("UV_NO_SYNC", "1");
    if roots.is_empty() {
        return base;
    }
    let mut paths: Vec<PathBuf> =
        roots.iter().map(|r| if r.is_empty() { tree.to_path_buf() } else { tree.join(r) }).collect();
    if let Some(host) = std::env::var_os("PYTHONPATH") {
        paths.extend(std::env::split_paths(&host));
    }
    match std::env::join_paths(paths) {
        Ok(joined) => base.set("PYTHONPATH", joined.to_string_lossy().into_owned()),
        Err(_) => base,
    }
}

/// `lib/python*/site-packages` (and `Lib/site-packages`) of a virtual environment.
fn site_packages(venv: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(venv.join("lib")) else { return out };
    for entry in entries.flatten() {
        let site = entry.path().join("site-packages");
        if entry.file_name().to_string_lossy().starts_with("python") && site.is_dir() {
            out.push(site);
        }
    }
    let windows = venv.join("Lib").join("site-packages");
    if windows.is_dir() {
        out.push(windows);
    }
    out.sort();
    out
}

/// Directories that editable installs in `site` put on the import path:
/// the path lines of `.pth` files, and the parents of the package paths an
/// editable import hook (a top-level `_*.py` module) maps to.
fn editable_paths(site: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(site) else { return out };
    let mut files: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    files.sort();
    for file in files {
        let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if name.ends_with(".pth") {
            let Ok(text) = std::fs::read_to_string(&file) else { continue };
            out.extend(
                text.lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with("import"))
                    .map(PathBuf::from)
                    .filter(|p| p.is_absolute()),
            );
        } else if name.starts_with('_') && name.ends_with(".py") {
            let Ok(text) = std::fs::read_to_string(&file) else { continue };
            out.extend(quoted_absolute_paths(&text).into_iter().filter_map(|p| import_root(&p)));
        }
    }
    out
}

/// Absolute paths written as string literals in Python source.
fn quoted_absolute_paths(text: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for quote in ['\'', '"'] {
        let mut parts = text.split(quote);
        parts.next();
        // Every other piece is inside quotes.
        while let Some(inside) = parts.next() {
            if inside.starts_with('/') && !inside.contains('\n') {
                out.push(PathBuf::from(inside));
            }
            parts.next();
        }
    }
    out
}

/// The directory to put on the import path for a package or module an
/// import hook maps to: `src/pkg` → `src`, `src/pkg/__init__.py` → `src`,
/// `src/mod.py` → `src`.
fn import_root(path: &Path) -> Option<PathBuf> {
    let parent = path.parent()?;
    if path.file_name().is_some_and(|n| n == "__init__.py") {
        return parent.parent().map(Path::to_path_buf);
    }
    Some(parent.to_path_buf())
}

/// `path` relative to `root` (`/`-separated), when it is an existing directory inside it.
fn relative_dir(root: &Path, path: &Path) -> Option<String> {
    let path = path.canonicalize().ok()?;
    if !path.is_dir() {
        return None;
    }
    let rel = path.strip_prefix(root).ok()?;
    Some(rel.to_string_lossy().replace('\\', "/"))
}

/// Whether `root/src` holds Python packages without being one.
fn is_src_layout(root: &Path) -> bool {
    let src = root.join("src");
    if !src.is_dir() || src.join("__init__.py").is_file() {
        return false;
    }
    std::fs::read_dir(&src).is_ok_and(|entries| {
        entries.flatten().any(|e| {
            let path = e.path();
            path.join("__init__.py").is_file() || path.extension().is_some_and(|x| x == "py")
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site(root: &Path) -> PathBuf {
        let site = root.join(".venv/lib/python3.12/site-packages");
        std::fs::create_dir_all(&site).unwrap();
        site
    }

    #[test]
    fn an_editable_pth_into_the_workspace_gives_its_source_root() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        std::fs::create_dir_all(root.join("src/shop")).unwrap();
        std::fs::write(root.join("src/shop/__init__.py"), "").unwrap();
        let site = site(&root);
        std::fs::write(site.join("_editable_impl_shop.pth"), format!("{}\n", root.join("src").display())).unwrap();
        std::fs::write(site.join("distutils-precedence.pth"), "import os; var = 'SETUPTOOLS_USE_DISTUTILS'\n").unwrap();
        std::fs::write(site.join("elsewhere.pth"), "/usr/lib/python3/dist-packages\n").unwrap();
        assert_eq!(python_roots(&root), vec!["src".to_owned()]);
    }

    #[test]
    fn a_setuptools_editable_finder_gives_the_parent_of_each_mapped_package() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        std::fs::create_dir_all(root.join("lib/shop")).unwrap();
        let site = site(&root);
        let finder = format!(
            "import sys\nMAPPING: dict[str, str] = {{'shop': '{}'}}\nNAMESPACES: dict[str, list[str]] = {{}}\n",
            root.join("lib/shop").display()
        );
        std::fs::write(site.join("__editable___shop_0_1_0_finder.py"), finder).unwrap();
        std::fs::write(
            site.join("__editable__.shop-0.1.0.pth"),
            "import __editable___shop_0_1_0_finder; __editable___shop_0_1_0_finder.install()\n",
        )
        .unwrap();
        assert_eq!(python_roots(&root), vec!["lib".to_owned()]);
    }

    #[test]
    fn without_an_editable_install_a_src_layout_gives_src() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("src/shop")).unwrap();
        std::fs::write(dir.path().join("src/shop/__init__.py"), "").unwrap();
        assert_eq!(python_roots(dir.path()), vec!["src".to_owned()]);
        let flat = tempfile::tempdir().unwrap();
        std::fs::write(flat.path().join("shop.py"), "").unwrap();
        assert!(python_roots(flat.path()).is_empty());
    }

    #[test]
    fn the_job_trees_roots_come_first_on_pythonpath() {
        let env = python_env(EnvPolicy::default(), &["src".to_owned(), String::new()], Path::new("/cache/job-1/tree"));
        let path = env.set.get("PYTHONPATH").unwrap();
        assert!(path.starts_with("/cache/job-1/tree/src:/cache/job-1/tree"), "{path}");
        assert_eq!(env.set.get("UV_NO_SYNC").map(String::as_str), Some("1"));
    }
}
