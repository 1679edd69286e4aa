//! .NET: solutions (`.sln`, `.slnx`) and projects (`.csproj`, `.fsproj`, `.vbproj`).

use super::detect::Found;
use super::{Dir, Scan, cmd, normalize, noted};
use agent_core::workspace::{Ambiguity, Evidence, OracleError, Project, build_systems, kinds};
use std::path::PathBuf;

/// Project paths a `.sln` names (`Project(...) = "Name", "path\to\x.csproj", ...`).
fn sln_projects(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| l.starts_with("Project("))
        .filter_map(|l| l.split(',').nth(1))
        .map(|p| p.trim().trim_matches('"').replace('\\', "/"))
        .filter(|p| p.ends_with("proj"))
        .collect()
}

/// Detects a .NET solution or project in `dir` (a project inside a solution is a member).
pub(crate) fn detect(scan: &mut Scan, dir: &Dir, out: &mut Found) -> Result<(), OracleError> {
    let rel = dir.rel.clone();
    let solutions: Vec<&String> = dir.files.iter().filter(|f| f.ends_with(".sln") || f.ends_with(".slnx")).collect();
    let projects: Vec<&String> = dir
        .files
        .iter()
        .filter(|f| f.ends_with(".csproj") || f.ends_with(".fsproj") || f.ends_with(".vbproj"))
        .collect();
    let chosen = solutions.first().or(projects.first());
    let Some(chosen) = chosen else { return Ok(()) };
    let file = dir.file(chosen);
    let mut project = Project::new(rel.clone(), &[kinds::CSHARP], build_systems::DOTNET);
    project.name = std::path::Path::new(chosen.as_str()).file_stem().map(|s| s.to_string_lossy().into_owned());
    project.evidence.push(Evidence::file(&file));
    let many = if solutions.is_empty() { projects.len() > 1 } else { solutions.len() > 1 };
    if many {
        let list: Vec<&String> = if solutions.is_empty() { projects.clone() } else { solutions.clone() };
        out.ambiguities.push(Ambiguity {
            subject: format!(
                "dotnet entry point of {}",
                if rel.as_os_str().is_empty() { ".".into() } else { rel.display().to_string() }
            ),
            candidates: list.iter().map(|s| (*s).clone()).collect(),
            evidence: list.iter().map(|s| Evidence::file(dir.file(s))).collect(),
        });
        project.confidence = 0.5;
    }
    if chosen.ends_with(".sln") {
        let text = scan.read(&file).unwrap_or_default();
        let mut members: Vec<PathBuf> = Vec::new();
        for p in sln_projects(&text) {
            if let Some(parent) = normalize(&p).parent() {
                let d = rel.join(parent);
                if d != rel && !members.contains(&d) {
                    members.push(d);
                }
            }
        }
        members.sort();
        if !members.is_empty() {
            project.evidence.push(noted(Evidence::field(&file, "Project"), format!("{} project(s)", members.len())));
        }
        project.members = members;
    }
    if chosen.ends_with(".fsproj") {
        project.evidence.push(noted(Evidence::file(&file), "F#"));
    }
    let arg = chosen.as_str();
    let ev = vec![Evidence::file(&file)];
    let c = if many { 0.5 } else { 0.9 };
    project.setup = Some(cmd("dotnet", &["restore", arg], &rel, ev.clone(), c));
    project.build = Some(cmd("dotnet", &["build", arg, "--no-restore"], &rel, ev.clone(), c));
    project.test = Some(cmd("dotnet", &["test", arg], &rel, ev.clone(), c));
    project.lint = Some(cmd("dotnet", &["format", arg, "--verify-no-changes"], &rel, ev, 0.6));
    out.projects.push(project);
    Ok(())
}
