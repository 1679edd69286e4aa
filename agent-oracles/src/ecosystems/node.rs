//! Node and TypeScript: `package.json`, the package manager (npm, pnpm, yarn
//! classic and berry, bun), workspaces, monorepo task runners (Nx,
//! Turborepo, Moon) and test runners.

use super::detect::Found;
use super::{Dir, Scan, cmd, formats, noted};
use agent_core::workspace::{Ambiguity, DetectedCommand, Evidence, OracleError, Project, build_systems, kinds};
use serde_json::Value;
use std::path::PathBuf;

/// The `scripts.test` npm writes into a new package.json.
const NPM_PLACEHOLDER: &str = "no test specified";

/// Lockfiles in the order of REFERENCE.md: pnpm, yarn, bun, npm.
const LOCKFILES: &[(&str, &str)] = &[
    ("pnpm-lock.yaml", build_systems::PNPM),
    ("yarn.lock", build_systems::YARN),
    ("bun.lockb", build_systems::BUN),
    ("bun.lock", build_systems::BUN),
    ("package-lock.json", build_systems::NPM),
    ("npm-shrinkwrap.json", build_systems::NPM),
];

fn deps_have(pkg: &Value, name: &str) -> bool {
    ["dependencies", "devDependencies", "peerDependencies", "optionalDependencies"]
        .iter()
        .any(|k| pkg.get(k).and_then(|d| d.get(name)).is_some())
}

fn script<'a>(pkg: &'a Value, name: &str) -> Option<&'a str> {
    pkg.get("scripts").and_then(|s| s.get(name)).and_then(Value::as_str)
}

/// `packages` globs of a `pnpm-workspace.yaml` (block or flow list, anchors
/// resolved), or why it is not valid YAML.
fn pnpm_packages(text: &str) -> Result<Vec<String>, String> {
    let doc = formats::yaml(text)?;
    let packages = formats::get(&doc, "packages").map(formats::items).unwrap_or_default();
    Ok(packages.iter().filter_map(formats::text).map(|p| p.trim().to_owned()).filter(|p| !p.is_empty()).collect())
}

/// A JSON-with-comments file of `dir` (`tsconfig.json`, `turbo.json`): `None`
/// when absent or unreadable, `Some(Err)` with the parser's message when malformed.
fn read_jsonc(scan: &Scan, file: &std::path::Path) -> Option<Result<Value, String>> {
    scan.read(file).map(|text| formats::jsonc(&text))
}

/// Detects a `package.json` project in `dir`.
pub(crate) fn detect(scan: &mut Scan, dir: &Dir, out: &mut Found) -> Result<(), OracleError> {
    if !dir.has("package.json") {
        return Ok(());
    }
    let manifest = dir.file("package.json");
    let Some(text) = scan.read(&manifest) else { return Ok(()) };
    let pkg: Value = match serde_json::from_str(&text) {
        Ok(v) => v,
        Err(e) if dir.rel.as_os_str().is_empty() => {
            return Err(OracleError::BadManifest { file: scan.root.join(&manifest), message: e.to_string() });
        }
        Err(_) => return Ok(()),
    };
    let rel = dir.rel.clone();
    let mut project_kinds = vec![kinds::NODE];
    if dir.has("tsconfig.json") || deps_have(&pkg, "typescript") {
        project_kinds.push(kinds::TYPESCRIPT);
    }

    // Package manager: packageManager → engines.pnpm → lockfiles → npm.
    let stated = pkg.get("packageManager").and_then(Value::as_str).map(|s| {
        let name = s.split('@').next().unwrap_or(s).to_owned();
        (name, s.to_owned())
    });
    let locks: Vec<(&str, &str)> = LOCKFILES.iter().copied().filter(|(f, _)| dir.has(f)).collect();
    let mut lock_systems: Vec<&str> = locks.iter().map(|(_, s)| *s).collect();
    lock_systems.dedup();
    let mut pm_evidence = Vec::new();
    let (pm, pm_confidence) = if let Some((name, full)) = &stated {
        pm_evidence.push(noted(Evidence::field(&manifest, "packageManager"), full.clone()));
        let known = [build_systems::NPM, build_systems::PNPM, build_systems::YARN, build_systems::BUN]
            .into_iter()
            .find(|k| k == name)
            .unwrap_or(build_systems::NPM);
        let conflicting: Vec<&(&str, &str)> = locks.iter().filter(|(_, s)| *s != known).collect();
        if !conflicting.is_empty() {
            let mut ev = vec![Evidence::field(&manifest, "packageManager")];
            ev.extend(conflicting.iter().map(|(f, _)| Evidence::file(dir.file(f))));
            let mut candidates = vec![known.to_owned()];
            candidates.extend(conflicting.iter().map(|(_, s)| (*s).to_owned()));
            candidates.dedup();
            out.ambiguities.push(Ambiguity {
                subject: format!("package manager of {}", display_dir(&rel)),
                candidates,
                evidence: ev,
            });
        }
        (known, if conflicting.is_empty() { 1.0 } else { 0.7 })
    } else if pkg.get("engines").and_then(|e| e.get("pnpm")).is_some() {
        pm_evidence.push(Evidence::field(&manifest, "engines.pnpm"));
        (build_systems::PNPM, 0.9)
    } else if let Some((file, system)) = locks.first() {
        pm_evidence.push(Evidence::file(dir.file(file)));
        if lock_systems.len() > 1 {
            out.ambiguities.push(Ambiguity {
                subject: format!("package manager of {}", display_dir(&rel)),
                candidates: lock_systems.iter().map(|s| (*s).to_owned()).collect(),
                evidence: locks.iter().map(|(f, _)| Evidence::file(dir.file(f))).collect(),
            });
            (*system, 0.5)
        } else {
            (*system, 0.95)
        }
    } else {
        pm_evidence.push(noted(Evidence::file(&manifest), "no lockfile: npm assumed; commit a lockfile"));
        (build_systems::NPM, 0.6)
    };
    let berry = pm == build_systems::YARN
        && (dir.has(".yarnrc.yml") || stated.as_ref().is_some_and(|(_, f)| !f.starts_with("yarn@1")));
    if berry && dir.has(".yarnrc.yml") {
        pm_evidence.push(noted(Evidence::file(dir.file(".yarnrc.yml")), "yarn berry"));
    }
    let has_lock = !locks.is_empty();
    if pm == build_systems::PNPM && dir.has("pnpm-lock.yaml") {
        // The pnpm major that wrote the lockfile, from `lockfileVersion`.
        let lock = dir.file("pnpm-lock.yaml");
        let version = scan.read(&lock).and_then(|t| formats::top_level_scalar(&t, "lockfileVersion"));
        if let Some(v) = version {
            let major = match v.split('.').next().unwrap_or("") {
                "9" => "pnpm 9 or later",
                "6" => "pnpm 8",
                "5" => "pnpm 7 (lockfile 5.4) or 6 (5.3)",
                _ => "an older pnpm",
            };
            project_evidence_note(&mut pm_evidence, &lock, &format!("lockfileVersion {v}: {major}"));
        }
    }
    if !has_lock {
        tracing::info!(dir = %rel.display(), "no lockfile: commit one so installs are reproducible");
    }

    let mut project = Project::new(rel.clone(), &project_kinds, pm);
    project.name = pkg.get("name").and_then(Value::as_str).map(str::to_owned);
    project.evidence.push(Evidence::file(&manifest));
    project.evidence.extend(pm_evidence.iter().cloned());
    project.confidence = pm_confidence;

    // Members: package.json workspaces, pnpm-workspace.yaml packages.
    let mut patterns: Vec<(String, Evidence)> = Vec::new();
    let ws = pkg.get("workspaces");
    let ws_list = ws.and_then(Value::as_array).or_else(|| ws.and_then(|w| w.get("packages")).and_then(Value::as_array));
    for p in ws_list.into_iter().flatten().filter_map(Value::as_str) {
        patterns.push((p.to_owned(), Evidence::field(&manifest, "workspaces")));
    }
    if dir.has("pnpm-workspace.yaml") {
        let file = dir.file("pnpm-workspace.yaml");
        match scan.read(&file).map(|text| pnpm_packages(&text)) {
            Some(Ok(packages)) => {
                patterns.extend(packages.into_iter().map(|p| (p, Evidence::field(&file, "packages"))));
            }
            Some(Err(error)) => {
                project
                    .evidence
                    .push(noted(Evidence::file(&file), format!("not valid YAML, packages not read: {error}")));
            }
            None => {}
        }
    }
    let mut members: Vec<PathBuf> = Vec::new();
    let mut excludes: Vec<PathBuf> = Vec::new();
    let mut member_evidence: Vec<Evidence> = Vec::new();
    for (pattern, ev) in &patterns {
        if let Some(neg) = pattern.strip_prefix('!') {
            excludes.extend(scan.expand(&rel, neg, "package.json"));
        } else {
            members.extend(scan.expand(&rel, pattern, "package.json"));
        }
        if !member_evidence.contains(ev) {
            member_evidence.push(ev.clone());
        }
    }
    members.retain(|m| !excludes.contains(m) && *m != rel);
    members.sort();
    members.dedup();
    project.evidence.extend(member_evidence);
    project.members = members;

    let (install, frozen): (&str, Vec<&str>) = match pm {
        build_systems::PNPM => ("pnpm", vec!["install", "--frozen-lockfile"]),
        build_systems::YARN if berry => ("yarn", vec!["install", "--immutable"]),
        build_systems::YARN => ("yarn", vec!["install", "--frozen-lockfile"]),
        build_systems::BUN => ("bun", vec!["install", "--frozen-lockfile"]),
        _ => ("npm", vec!["ci"]),
    };
    let setup_args: Vec<&str> = if has_lock { frozen } else { vec!["install"] };
    project.setup = Some(cmd(install, &setup_args, &rel, pm_evidence.clone(), if has_lock { 0.9 } else { 0.6 }));
    let run_script = |name: &str, confidence: f64| -> DetectedCommand {
        let args: Vec<&str> = match (pm, name) {
            (build_systems::NPM, "test") => vec!["test"],
            (build_systems::BUN, _) => vec!["run", name],
            (_, "test") => vec!["test"],
            _ => vec!["run", name],
        };
        let mut ev = vec![Evidence::field(&manifest, format!("scripts.{name}"))];
        ev.extend(pm_evidence.iter().cloned());
        cmd(install, &args, &rel, ev, confidence)
    };
    let exec = |tool: &str, args: &[&str], dep: &str, confidence: f64| -> DetectedCommand {
        let (program, mut full): (&str, Vec<&str>) = match pm {
            build_systems::PNPM => ("pnpm", vec!["exec", tool]),
            build_systems::YARN => ("yarn", vec![tool]),
            build_systems::BUN => ("bunx", vec![tool]),
            _ => ("npx", vec!["--no-install", tool]),
        };
        full.extend_from_slice(args);
        cmd(program, &full, &rel, vec![noted(Evidence::file(&manifest), format!("{dep} is a dependency"))], confidence)
    };
    if script(&pkg, "build").is_some() {
        project.build = Some(run_script("build", 0.9));
    } else if project_kinds.contains(&kinds::TYPESCRIPT) && dir.has("tsconfig.json") {
        // A solution-style tsconfig (`references`) is built with `tsc --build`; any other is type-checked.
        let tsconfig = dir.file("tsconfig.json");
        let (args, ev): (&[&str], Evidence) = match read_jsonc(scan, &tsconfig) {
            Some(Ok(json)) if json.get("references").and_then(Value::as_array).is_some_and(|r| !r.is_empty()) => (
                &["--build"],
                noted(
                    Evidence::field(&tsconfig, "references"),
                    "project references: `tsc --build` builds them in order",
                ),
            ),
            Some(Err(error)) => (
                &["--noEmit"],
                noted(Evidence::file(&tsconfig), format!("not valid JSON with comments, settings not read: {error}")),
            ),
            _ => (&["--noEmit"], Evidence::file(&tsconfig)),
        };
        let mut build = exec("tsc", args, "typescript", 0.6);
        build.evidence.push(ev);
        project.build = Some(build);
    }
    let test_script = script(&pkg, "test").filter(|s| !s.contains(NPM_PLACEHOLDER));
    let runners = monorepo_runners(scan, dir, &pkg);
    if runners.len() > 1 {
        out.ambiguities.push(Ambiguity {
            subject: format!("monorepo task runner of {}", display_dir(&rel)),
            candidates: runners.iter().map(|r| r.name.to_owned()).collect(),
            evidence: runners.iter().map(|r| r.evidence.clone()).collect(),
        });
    }
    let confidence_of_runner = if runners.len() > 1 { 0.5 } else { 0.8 };
    let ci_script = ci_test_script(scan, &rel, &pkg, install);
    project.test = if let Some(name) = &ci_script {
        let mut c = run_script(name, 0.9);
        if let Some(ev) = c.evidence.first_mut() {
            ev.note = Some(format!(
                "CI runs this script, not `test`; it runs the tests: {}",
                script(&pkg, name).unwrap_or("")
            ));
        }
        Some(c)
    } else if test_script.is_some() {
        Some(run_script("test", 0.9))
    } else if let Some(runner) = runners.first() {
        let mut c = match runner.name {
            "moon" => cmd("moon", &["run", ":test"], &rel, vec![runner.evidence.clone()], confidence_of_runner),
            name => exec(name, runner.test_args, name, confidence_of_runner),
        };
        c.evidence = vec![runner.evidence.clone()];
        Some(c)
    } else if deps_have(&pkg, "vitest") {
        Some(exec("vitest", &["run"], "vitest", 0.7))
    } else if deps_have(&pkg, "jest") {
        Some(exec("jest", &[], "jest", 0.7))
    } else if deps_have(&pkg, "mocha") {
        Some(exec("mocha", &[], "mocha", 0.6))
    } else if dir.subdirs.contains("test") || dir.subdirs.contains("tests") {
        let test_dir = if dir.subdirs.contains("test") { "test" } else { "tests" };
        Some(cmd(
            "node",
            &["--test"],
            &rel,
            vec![noted(Evidence::file(dir.file(test_dir)), "no test script or runner: node:test assumed")],
            0.3,
        ))
    } else {
        None
    };
    if script(&pkg, "lint").is_some() {
        project.lint = Some(run_script("lint", 0.9));
    } else if deps_have(&pkg, "eslint") {
        project.lint = Some(exec("eslint", &["."], "eslint", 0.6));
    }
    out.projects.push(project);
    Ok(())
}

/// A script other than `test` that the root's CI runs with `pm run NAME`
/// (`npm run test-ci`, `pnpm run unit`, or yarn's `yarn test:ci`; see
/// [`ci_script_name`]) in this package's directory and whose
/// text runs a test runner, when CI runs it more often than the `test` script
/// (the most often run such script; the first on a tie).
fn ci_test_script(scan: &Scan, rel: &std::path::Path, pkg: &Value, pm: &str) -> Option<String> {
    const RUNNERS: &[&str] = &[
        "jest",
        "vitest",
        "mocha",
        "ava",
        "tap",
        "tape",
        "node --test",
        "c8",
        "nyc",
        "borp",
        "uvu",
        "karma",
        "playwright test",
    ];
    let lines: Vec<&str> = scan
        .ci
        .iter()
        .filter(|r| r.dir.as_os_str().is_empty() || r.dir == rel)
        .filter(|r| rel.as_os_str().is_empty() || r.dir == rel)
        .map(|r| r.line.as_str())
        // `cd test/bundler && npm run test` runs another package's script.
        .filter(|l| !l.trim_start().starts_with("cd ") || l.trim_start().starts_with("cd . "))
        .collect();
    // `pm test` or `pm run test`, as words (`yarn test:ci` is another script).
    let runs_test = |l: &str| {
        let words: Vec<&str> = l.split_whitespace().collect();
        words.windows(2).any(|w| w[0] == pm && w[1] == "test")
            || words.windows(3).any(|w| w[0] == pm && w[1] == "run" && w[2] == "test")
    };
    let test_lines = lines.iter().filter(|l| runs_test(l)).count();
    // The script CI runs most often with `pm run NAME` that runs a test runner.
    let mut counts: Vec<(String, usize)> = Vec::new();
    for l in &lines {
        let words: Vec<&str> = l.split_whitespace().collect();
        let Some(name) = ci_script_name(&words, pm, pkg) else { continue };
        let runs_tests = name != "test" && script(pkg, name).is_some_and(|t| RUNNERS.iter().any(|r| t.contains(r)));
        if !runs_tests {
            continue;
        }
        match counts.iter_mut().find(|(n, _)| n == name) {
            Some((_, c)) => *c += 1,
            None => counts.push(((*name).to_owned(), 1)),
        }
    }
    let (name, count) = counts.into_iter().fold(None, |best: Option<(String, usize)>, (n, c)| match best {
        Some((bn, bc)) if bc >= c => Some((bn, bc)),
        _ => Some((n, c)),
    })?;
    // CI that runs the `test` script as often is followed as it is.
    (count > test_lines).then_some(name)
}

/// The script a CI line's words run with `pm run NAME`, or with yarn's,
/// pnpm's and bun's shorthand `pm NAME` when NAME is one of the package's
/// scripts (`yarn test:ci`).
fn ci_script_name<'w>(words: &[&'w str], pm: &str, pkg: &Value) -> Option<&'w str> {
    let at = words.iter().position(|w| *w == pm)?;
    match words.get(at + 1).copied()? {
        "run" => words.get(at + 2).copied(),
        name if matches!(pm, "yarn" | "pnpm" | "bun") && script(pkg, name).is_some() => Some(name),
        _ => None,
    }
}

/// A monorepo task runner found at a package root.
struct Runner {
    /// `nx`, `turbo` or `moon`.
    name: &'static str,
    /// Arguments after the runner that run every project's `test` task.
    test_args: &'static [&'static str],
    /// The file that names it.
    evidence: Evidence,
}

/// Nx (`nx.json`), Turborepo (`turbo.json` with a `test` task) and Moon
/// (`.moon/workspace.yml`) at this directory, in that order.
fn monorepo_runners(scan: &Scan, dir: &Dir, pkg: &Value) -> Vec<Runner> {
    let mut out = Vec::new();
    if dir.has("nx.json") || deps_have(pkg, "nx") {
        let file = if dir.has("nx.json") { dir.file("nx.json") } else { dir.file("package.json") };
        out.push(Runner {
            name: "nx",
            test_args: &["run-many", "-t", "test"],
            evidence: noted(
                Evidence::file(file),
                "Nx workspace: `nx run-many -t test` runs every project's test target",
            ),
        });
    }
    if dir.has("turbo.json") {
        let file = dir.file("turbo.json");
        // turbo.json may hold comments; a malformed one names no task.
        let json: Value = read_jsonc(scan, &file).and_then(Result::ok).unwrap_or(Value::Null);
        // Turborepo 2 names tasks under `tasks`, 1.x under `pipeline`.
        let field = ["tasks", "pipeline"].into_iter().find(|k| json.get(k).and_then(|t| t.get("test")).is_some());
        if let Some(field) = field {
            out.push(Runner {
                name: "turbo",
                test_args: &["run", "test"],
                evidence: Evidence::field(&file, format!("{field}.test")),
            });
        }
    }
    let moon = dir.rel.join(".moon").join("workspace.yml");
    if scan.root.join(&moon).is_file() {
        out.push(Runner {
            name: "moon",
            test_args: &["run", ":test"],
            evidence: noted(Evidence::file(moon), "moon workspace: `moon run :test` runs every project's test task"),
        });
    }
    out
}

fn display_dir(rel: &std::path::Path) -> String {
    if rel.as_os_str().is_empty() { ".".to_owned() } else { rel.display().to_string() }
}

/// Adds (or annotates) the evidence for `file`.
fn project_evidence_note(evidence: &mut Vec<Evidence>, file: &std::path::Path, note: &str) {
    match evidence.iter_mut().find(|e| e.file == file) {
        Some(e) => e.note = Some(note.to_owned()),
        None => evidence.push(noted(Evidence::file(file), note)),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::pnpm_packages;

    #[test]
    fn pnpm_workspace_lists_block_and_flow_packages() {
        let text = "packages:\n  - 'packages/*'\n  - \"apps/*\" # apps\n  - '!**/test/**'\ncatalog:\n  react: ^18\n";
        assert_eq!(pnpm_packages(text).unwrap(), ["packages/*", "apps/*", "!**/test/**"]);
        assert_eq!(pnpm_packages("packages: ['a/*', b]\n").unwrap(), ["a/*", "b"]);
    }

    #[test]
    fn pnpm_workspace_flow_lists_across_lines_and_aliases_are_read() {
        // A line reader sees `packages: [` and nothing it can take after it.
        let text = "packages: [\n  'packages/*',\n  \"apps/*\", # apps\n  ]\n";
        assert_eq!(pnpm_packages(text).unwrap(), ["packages/*", "apps/*"]);
        let text = "x-dirs: &dirs\n  - libs/*\npackages: *dirs\n";
        assert_eq!(pnpm_packages(text).unwrap(), ["libs/*"]);
        // A `- item` under another key is not a package.
        assert_eq!(pnpm_packages("onlyBuiltDependencies:\n  - esbuild\n").unwrap(), Vec::<String>::new());
    }

    #[test]
    fn malformed_pnpm_workspace_is_an_error_not_a_guess() {
        assert!(pnpm_packages("packages:\n  - 'a/*'\n - [b\n").is_err());
    }
}
