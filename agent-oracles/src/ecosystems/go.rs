//! Go: `go.work` workspaces and `go.mod` modules.

use super::detect::Found;
use super::{Dir, Scan, cmd, normalize, noted};
use agent_core::workspace::{Evidence, OracleError, Project, build_systems, kinds};
use std::path::PathBuf;

/// The `use` directories of a `go.work` (single-line and block form).
fn work_uses(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_block = false;
    for line in text.lines() {
        let l = line.split("//").next().unwrap_or("").trim();
        if in_block {
            if l.starts_with(')') {
                in_block = false;
            } else if !l.is_empty() {
                out.push(l.trim_matches('"').to_owned());
            }
        } else if let Some(rest) = l.strip_prefix("use") {
            let rest = rest.trim();
            if rest.starts_with('(') {
                in_block = true;
            } else if !rest.is_empty() {
                out.push(rest.trim_matches('"').to_owned());
            }
        }
    }
    out
}

/// The module path of a `go.mod`.
fn module_name(text: &str) -> Option<String> {
    text.lines().find_map(|l| l.trim().strip_prefix("module ").map(|m| m.trim().trim_matches('"').to_owned()))
}

/// The scanned directories below `rel` holding a `go.mod`, skipping those the
/// go tool ignores (`testdata`, names starting with `_`).
fn nested_modules(scan: &Scan, rel: &std::path::Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = scan
        .dirs
        .iter()
        .filter(|d| d.rel != rel && d.rel.starts_with(rel) && d.has("go.mod"))
        .filter(|d| {
            d.rel.strip_prefix(rel).is_ok_and(|sub| {
                sub.components().all(|c| {
                    let c = c.as_os_str().to_string_lossy();
                    c != "testdata" && !c.starts_with('_')
                })
            })
        })
        .map(|d| d.rel.clone())
        .collect();
    out.sort();
    out
}

/// Detects a Go workspace or module in `dir`.
pub(crate) fn detect(scan: &mut Scan, dir: &Dir, out: &mut Found) -> Result<(), OracleError> {
    let work = dir.has("go.work");
    if !work && !dir.has("go.mod") {
        return Ok(());
    }
    if dir.rel.components().any(|c| c.as_os_str() == "testdata") {
        // The go tool never builds testdata: a go.mod there is a fixture of a test.
        return Ok(());
    }
    let rel = dir.rel.clone();
    let mut project = Project::new(rel.clone(), &[kinds::GO], build_systems::GO);
    let mut base = Vec::new();
    if dir.has("go.mod") {
        let file = dir.file("go.mod");
        project.name = scan.read(&file).as_deref().and_then(module_name);
        base.push(Evidence::field(&file, "module"));
    }
    if work {
        let file = dir.file("go.work");
        let text = scan.read(&file).unwrap_or_default();
        let mut members: Vec<PathBuf> = Vec::new();
        for u in work_uses(&text) {
            let m = rel.join(normalize(&u));
            if m != rel && scan.root.join(&m).join("go.mod").is_file() && !members.contains(&m) {
                members.push(m);
            }
        }
        if project.name.is_none() {
            project.name = members.first().and_then(|m| scan.read(&m.join("go.mod")).as_deref().and_then(module_name));
        }
        base.insert(0, noted(Evidence::field(&file, "use"), format!("{} module(s)", members.len())));
        project.members = members;
    } else {
        // Modules nested below this one without a go.work: `./...` stops at their
        // go.mod, so each is a member tested in its own directory.
        let nested = nested_modules(scan, &rel);
        if !nested.is_empty() {
            project.evidence.push(noted(
                Evidence::file(dir.file("go.mod")),
                format!("{} nested module(s) without go.work, each tested in its own directory", nested.len()),
            ));
            project.members = nested;
        }
    }
    project.evidence.splice(0..0, base.iter().cloned());
    project.setup = Some(cmd("go", &["mod", "download"], &rel, base.clone(), 0.9));
    project.build = Some(cmd("go", &["build", "./..."], &rel, base.clone(), 0.9));
    project.test = Some(cmd("go", &["test", "./..."], &rel, base.clone(), 0.9));
    let lint_ev = if dir.has(".golangci.yml") || dir.has(".golangci.yaml") {
        let f = if dir.has(".golangci.yml") { ".golangci.yml" } else { ".golangci.yaml" };
        project.lint = Some(cmd("golangci-lint", &["run"], &rel, vec![Evidence::file(dir.file(f))], 0.9));
        None
    } else {
        Some(base)
    };
    if let Some(ev) = lint_ev {
        project.lint = Some(cmd("go", &["vet", "./..."], &rel, ev, 0.8));
    }
    out.projects.push(project);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::work_uses;

    #[test]
    fn go_work_reads_single_and_block_uses() {
        let text = "go 1.22\n\nuse ./tools\nuse (\n\t./api // the api\n\t\"./web\"\n)\n";
        assert_eq!(work_uses(text), ["./tools", "./api", "./web"]);
    }
}
