//! Deno (`deno.json`), Ruby (`Gemfile`, `Rakefile`) and PHP (`composer.json` scripts).

use super::detect::Found;
use super::{Dir, Scan, cmd, formats, noted};
use agent_core::workspace::{Evidence, OracleError, Project, build_systems, kinds};
use serde_json::Value;

/// Detects a Deno project in `dir`.
pub(crate) fn detect_deno(scan: &mut Scan, dir: &Dir, out: &mut Found) -> Result<(), OracleError> {
    let Some(manifest) = ["deno.json", "deno.jsonc"].into_iter().find(|f| dir.has(f)) else { return Ok(()) };
    let rel = dir.rel.clone();
    let file = dir.file(manifest);
    let text = scan.read(&file).unwrap_or_default();
    // Deno reads both deno.json and deno.jsonc as JSON with comments and trailing commas.
    let parsed = formats::jsonc(&text);
    let mut project = Project::new(rel.clone(), &[kinds::DENO, kinds::TYPESCRIPT], build_systems::DENO);
    project.evidence.push(match &parsed {
        Ok(_) => Evidence::file(&file),
        Err(error) => noted(Evidence::file(&file), format!("not valid JSON with comments, tasks not read: {error}")),
    });
    let json: Option<Value> = parsed.ok();
    project.name = json.as_ref().and_then(|j| j.get("name")).and_then(Value::as_str).map(str::to_owned);
    let ev = vec![Evidence::file(&file)];
    let task = |name: &str| json.as_ref().and_then(|j| j.get("tasks")).and_then(|t| t.get(name)).is_some();
    project.setup = Some(cmd("deno", &["install"], &rel, ev.clone(), 0.8));
    project.test = Some(if task("test") {
        cmd("deno", &["task", "test"], &rel, vec![Evidence::field(&file, "tasks.test")], 0.9)
    } else {
        cmd("deno", &["test"], &rel, ev.clone(), 0.85)
    });
    project.build = Some(cmd("deno", &["check", "."], &rel, ev.clone(), 0.6));
    project.lint = Some(cmd("deno", &["lint"], &rel, ev, 0.85));
    out.projects.push(project);
    Ok(())
}

/// Detects a Bundler project in `dir`.
pub(crate) fn detect_ruby(scan: &mut Scan, dir: &Dir, out: &mut Found) -> Result<(), OracleError> {
    if !dir.has("Gemfile") {
        return Ok(());
    }
    let rel = dir.rel.clone();
    let file = dir.file("Gemfile");
    let text = scan.read(&file).unwrap_or_default();
    let mut project = Project::new(rel.clone(), &[kinds::RUBY], build_systems::BUNDLER);
    project.evidence.push(Evidence::file(&file));
    if dir.has("Gemfile.lock") {
        project.evidence.push(Evidence::file(dir.file("Gemfile.lock")));
    }
    project.setup = Some(cmd("bundle", &["install"], &rel, vec![Evidence::file(&file)], 0.9));
    let rakefile = ["Rakefile", "rakefile", "Rakefile.rb"].into_iter().find(|f| dir.has(f));
    let rake_text = rakefile.and_then(|f| scan.read(&dir.file(f))).unwrap_or_default();
    project.test = if word(&text, "rspec") || dir.has(".rspec") || dir.subdirs.contains("spec") {
        let ev =
            if dir.has(".rspec") { Evidence::file(dir.file(".rspec")) } else { noted(Evidence::file(&file), "rspec") };
        Some(cmd("bundle", &["exec", "rspec"], &rel, vec![ev], 0.85))
    } else if let Some(r) = rakefile {
        let has_test_task =
            rake_text.contains("TestTask") || rake_text.contains("task :test") || rake_text.contains("task test");
        Some(cmd(
            "bundle",
            &["exec", "rake", "test"],
            &rel,
            vec![Evidence::file(dir.file(r))],
            if has_test_task { 0.85 } else { 0.5 },
        ))
    } else {
        None
    };
    if word(&text, "rubocop") {
        project.lint =
            Some(cmd("bundle", &["exec", "rubocop"], &rel, vec![noted(Evidence::file(&file), "rubocop")], 0.8));
    }
    out.projects.push(project);
    Ok(())
}

/// Detects a Composer project in `dir`.
pub(crate) fn detect_php(scan: &mut Scan, dir: &Dir, out: &mut Found) -> Result<(), OracleError> {
    if !dir.has("composer.json") {
        return Ok(());
    }
    let rel = dir.rel.clone();
    let file = dir.file("composer.json");
    let text = scan.read(&file).unwrap_or_default();
    let json: Value = match serde_json::from_str(&text) {
        Ok(v) => v,
        Err(e) if rel.as_os_str().is_empty() => {
            return Err(OracleError::BadManifest { file: scan.root.join(&file), message: e.to_string() });
        }
        Err(_) => return Ok(()),
    };
    let mut project = Project::new(rel.clone(), &[kinds::PHP], build_systems::COMPOSER);
    project.name = json.get("name").and_then(Value::as_str).map(str::to_owned);
    project.evidence.push(Evidence::file(&file));
    let lock = dir.has("composer.lock");
    project.setup =
        Some(cmd("composer", &["install"], &rel, vec![Evidence::file(&file)], if lock { 0.9 } else { 0.8 }));
    let script = |name: &str| json.get("scripts").and_then(|s| s.get(name)).is_some();
    let dev_has = |name: &str| json.get("require-dev").and_then(|d| d.get(name)).is_some();
    project.test = if script("test") {
        Some(cmd("composer", &["run-script", "test"], &rel, vec![Evidence::field(&file, "scripts.test")], 0.9))
    } else if dev_has("phpunit/phpunit") || dir.has("phpunit.xml") || dir.has("phpunit.xml.dist") {
        Some(cmd("vendor/bin/phpunit", &[], &rel, vec![noted(Evidence::field(&file, "require-dev"), "phpunit")], 0.75))
    } else if dev_has("pestphp/pest") {
        Some(cmd("vendor/bin/pest", &[], &rel, vec![noted(Evidence::field(&file, "require-dev"), "pest")], 0.75))
    } else {
        None
    };
    if script("lint") {
        project.lint =
            Some(cmd("composer", &["run-script", "lint"], &rel, vec![Evidence::field(&file, "scripts.lint")], 0.9));
    }
    out.projects.push(project);
    Ok(())
}

/// Whether `text` names `w` as a whole word (`gem "rspec"`, not `rspec-rails` alone).
fn word(text: &str, w: &str) -> bool {
    text.match_indices(w).any(|(i, _)| {
        let ok = |c: Option<char>| c.is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
        ok(text[..i].chars().next_back()) && ok(text[i + w.len()..].chars().next())
    })
}
