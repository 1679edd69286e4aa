//! What `cargo metadata --no-deps` says about a Rust workspace: its
//! packages, where they live, which of them run doctests or are proc-macro
//! crates, and which members depend on which.
//!
//! Test selection uses the dependants: a mutant in package `core` is tested
//! with `core`'s tests and the tests of every workspace member that depends
//! on `core`, directly or through another member, as a normal, dev or build
//! dependency. A test in `app` that calls into `core` can catch a mutant of
//! `core`; leaving it out would report a false "missed".

use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// One workspace member.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct CargoPackage {
    /// The package name (what `-p` takes).
    pub(crate) name: String,
    /// Its directory relative to the workspace root (`""` for the root).
    pub(crate) dir: String,
    /// Whether its library target runs doctests.
    pub(crate) doctest: bool,
    /// Whether its library is a proc-macro crate (its code runs inside the
    /// compiler, so a run-time switch never reaches it).
    pub(crate) proc_macro: bool,
    /// Names of the workspace members it depends on (any kind).
    deps: BTreeSet<String>,
}

/// The workspace's members, by name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct CargoWorkspace {
    packages: BTreeMap<String, CargoPackage>,
}

#[derive(Deserialize)]
struct Metadata {
    packages: Vec<MetaPackage>,
}

#[derive(Deserialize)]
struct MetaPackage {
    name: String,
    manifest_path: String,
    #[serde(default)]
    targets: Vec<MetaTarget>,
    #[serde(default)]
    dependencies: Vec<MetaDependency>,
}

#[derive(Deserialize)]
struct MetaTarget {
    #[serde(default)]
    kind: Vec<String>,
    #[serde(default)]
    doctest: bool,
}

#[derive(Deserialize)]
struct MetaDependency {
    name: String,
    #[serde(default)]
    path: Option<String>,
}

impl CargoWorkspace {
    /// Parses the JSON of `cargo metadata --no-deps --format-version 1` run
    /// in `root` (paths in it are made relative to `root`); `None` when it is
    /// not that JSON.
    pub(crate) fn parse(json: &str, root: &Path) -> Option<Self> {
        let meta: Metadata = serde_json::from_str(json).ok()?;
        let dir_of = |manifest: &str| -> String {
            let dir = Path::new(manifest).parent().unwrap_or(Path::new(""));
            match dir.strip_prefix(root) {
                Ok(rel) => rel.to_string_lossy().replace('\\', "/"),
                Err(_) => dir.to_string_lossy().into_owned(),
            }
        };
        let dirs: BTreeMap<String, String> =
            meta.packages.iter().map(|p| (dir_of(&p.manifest_path), p.name.clone())).collect();
        let mut packages = BTreeMap::new();
        for p in &meta.packages {
            let lib = p.targets.iter().find(|t| t.kind.iter().any(|k| k == "lib" || k == "proc-macro"));
            let deps = p
                .dependencies
                .iter()
                .filter_map(|d| {
                    let path = d.path.as_deref()?;
                    let rel = match Path::new(path).strip_prefix(root) {
                        Ok(rel) => rel.to_string_lossy().replace('\\', "/"),
                        Err(_) => path.to_owned(),
                    };
                    dirs.get(&rel).cloned().or_else(|| dirs.values().find(|n| **n == d.name).cloned())
                })
                .filter(|n| *n != p.name)
                .collect();
            let package = CargoPackage {
                name: p.name.clone(),
                dir: dir_of(&p.manifest_path),
                doctest: lib.is_some_and(|t| t.doctest),
                proc_macro: lib.is_some_and(|t| t.kind.iter().any(|k| k == "proc-macro")),
                deps,
            };
            packages.insert(p.name.clone(), package);
        }
        Some(Self { packages })
    }

    /// The member called `name`.
    pub(crate) fn package(&self, name: &str) -> Option<&CargoPackage> {
        self.packages.get(name)
    }

    /// `name` and every member that depends on it, directly or through
    /// other members, sorted by name. An unknown name gives only itself.
    pub(crate) fn with_dependants(&self, name: &str) -> BTreeSet<String> {
        let mut out: BTreeSet<String> = BTreeSet::from([name.to_owned()]);
        loop {
            let more: Vec<String> = self
                .packages
                .values()
                .filter(|p| !out.contains(&p.name) && p.deps.iter().any(|d| out.contains(d)))
                .map(|p| p.name.clone())
                .collect();
            if more.is_empty() {
                return out;
            }
            out.extend(more);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta() -> String {
        serde_json::json!({
            "packages": [
                {"name": "core", "manifest_path": "/w/crates/core/Cargo.toml",
                 "targets": [{"kind": ["lib"], "doctest": true}, {"kind": ["test"], "doctest": false}],
                 "dependencies": [{"name": "serde", "path": null}]},
                {"name": "mid", "manifest_path": "/w/crates/mid/Cargo.toml",
                 "targets": [{"kind": ["lib"], "doctest": false}],
                 "dependencies": [{"name": "core", "path": "/w/crates/core"}]},
                {"name": "app", "manifest_path": "/w/Cargo.toml",
                 "targets": [{"kind": ["bin"], "doctest": false}],
                 "dependencies": [{"name": "mid-renamed", "path": "/w/crates/mid"}]},
                {"name": "derive", "manifest_path": "/w/crates/derive/Cargo.toml",
                 "targets": [{"kind": ["proc-macro"], "doctest": true}],
                 "dependencies": []},
                {"name": "tests-only", "manifest_path": "/w/crates/t/Cargo.toml",
                 "targets": [{"kind": ["lib"], "doctest": true}],
                 "dependencies": [{"name": "derive", "path": "/w/crates/derive"}]}
            ]
        })
        .to_string()
    }

    #[test]
    fn dependants_are_transitive_through_path_dependencies_even_when_renamed() {
        let ws = CargoWorkspace::parse(&meta(), Path::new("/w")).unwrap();
        let names = |s: BTreeSet<String>| s.into_iter().collect::<Vec<_>>();
        assert_eq!(names(ws.with_dependants("core")), ["app", "core", "mid"]);
        assert_eq!(names(ws.with_dependants("mid")), ["app", "mid"]);
        assert_eq!(names(ws.with_dependants("app")), ["app"]);
        assert_eq!(names(ws.with_dependants("derive")), ["derive", "tests-only"]);
        assert_eq!(names(ws.with_dependants("nowhere")), ["nowhere"]);
    }

    #[test]
    fn packages_know_their_directory_doctests_and_proc_macro_kind() {
        let ws = CargoWorkspace::parse(&meta(), Path::new("/w")).unwrap();
        let core = ws.package("core").unwrap();
        assert_eq!((core.dir.as_str(), core.doctest, core.proc_macro), ("crates/core", true, false));
        let app = ws.package("app").unwrap();
        assert_eq!((app.dir.as_str(), app.doctest), ("", false));
        assert!(ws.package("derive").unwrap().proc_macro);
        assert!(!ws.package("mid").unwrap().doctest);
    }

    #[test]
    fn anything_but_cargo_metadata_json_is_none() {
        assert_eq!(CargoWorkspace::parse("not json", Path::new("/w")), None);
        assert_eq!(CargoWorkspace::parse("{\"packages\": 3}", Path::new("/w")), None);
    }
}
