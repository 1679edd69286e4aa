//! `Makefile` and `justfile` targets as projects of their own when they offer a test target.

use super::detect::Found;
use super::{Dir, Scan, cmd};
use agent_core::workspace::{Evidence, OracleError, Project, build_systems};

/// Whether a Makefile or justfile defines the target `name` (`name:` or `name arg:` at column 0).
fn has_target(text: &str, name: &str) -> bool {
    text.lines().any(|l| {
        let Some(rest) = l.strip_prefix(name) else { return false };
        match rest.chars().next() {
            Some(':') => !rest.starts_with(":="),
            Some(' ' | '\t') => {
                let r = rest.trim_start();
                (r.contains(':') && !r.contains(":=") && !r.starts_with(['=', '?', '+']))
                    || (r.starts_with(':') && !r.starts_with(":="))
            }
            _ => false,
        }
    })
}

/// Detects a `Makefile` or `justfile` with targets in `dir` (the root and top-level directories only).
pub(crate) fn detect(scan: &mut Scan, dir: &Dir, out: &mut Found) -> Result<(), OracleError> {
    if dir.rel.components().count() > 1 {
        return Ok(());
    }
    let rel = dir.rel.clone();
    for (names, system, program) in [
        (&["GNUmakefile", "Makefile", "makefile"][..], build_systems::MAKE, "make"),
        (&["justfile", "Justfile", ".justfile"][..], build_systems::JUST, "just"),
    ] {
        let Some(name) = names.iter().find(|n| dir.has(n)) else { continue };
        let file = dir.file(name);
        let text = scan.read(&file).unwrap_or_default();
        if !has_target(&text, "test") && !has_target(&text, "check") {
            continue;
        }
        let mut project = Project::new(rel.clone(), &[], system);
        project.evidence.push(Evidence::file(&file));
        project.confidence = 0.7;
        let target = |t: &str, c: f64| cmd(program, &[t], &rel, vec![Evidence::field(&file, t)], c);
        project.test = Some(if has_target(&text, "test") { target("test", 0.85) } else { target("check", 0.6) });
        if has_target(&text, "build") {
            project.build = Some(target("build", 0.8));
        }
        if has_target(&text, "lint") {
            project.lint = Some(target("lint", 0.8));
        }
        for s in ["setup", "deps", "install-deps", "bootstrap"] {
            if has_target(&text, s) {
                project.setup = Some(target(s, 0.7));
                break;
            }
        }
        out.projects.push(project);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::has_target;

    #[test]
    fn targets_are_found_at_column_zero() {
        let mk = "CC := gcc\n.PHONY: test\ntest: build\n\tcargo test\nbuild:\n\tcc x.c\n";
        assert!(has_target(mk, "test"));
        assert!(has_target(mk, "build"));
        assert!(!has_target(mk, "lint"));
        assert!(has_target("test filter='':\n    cargo test {{filter}}\n", "test"));
        assert!(!has_target("testing:\n", "test"));
        assert!(!has_target("test-unit:\n", "test"));
    }
}
