//! C and C++: CMake (with CTest) and Meson.

use super::detect::Found;
use super::{Dir, Scan, cmd, noted};
use agent_core::workspace::{Evidence, OracleError, Project, build_systems, kinds};

/// Kinds from `project(... LANGUAGES ...)` and sources: `c`, `cpp` or both.
fn languages(text: &str) -> Vec<&'static str> {
    let lower = text.to_ascii_lowercase();
    let project_line = lower.find("project(").map(|i| &lower[i..]).and_then(|s| s.split(')').next()).unwrap_or("");
    let words: Vec<&str> = project_line.split(|c: char| !c.is_alphanumeric() && c != '+').collect();
    let mut out = Vec::new();
    if words.contains(&"c") {
        out.push(kinds::C);
    }
    if words.contains(&"cxx") || words.contains(&"cpp") || words.contains(&"c++") {
        out.push(kinds::CPP);
    }
    if out.is_empty() {
        out.push(kinds::CPP);
    }
    out
}

/// Detects a CMake or Meson project in `dir` (a `CMakeLists.txt` below another is a subdirectory, not a project).
pub(crate) fn detect(scan: &mut Scan, dir: &Dir, out: &mut Found) -> Result<(), OracleError> {
    let rel = dir.rel.clone();
    let parent_has = |name: &str| {
        rel.parent().is_some_and(|p| !rel.as_os_str().is_empty() && scan.root.join(p).join(name).is_file())
    };
    if dir.has("CMakeLists.txt") && !parent_has("CMakeLists.txt") {
        let file = dir.file("CMakeLists.txt");
        let text = scan.read(&file).unwrap_or_default();
        let mut project = Project::new(rel.clone(), &languages(&text), build_systems::CMAKE);
        project.evidence.push(Evidence::field(&file, "project"));
        let ev = vec![Evidence::file(&file)];
        let build_dir = rel.join("build");
        let b = build_dir.to_string_lossy().into_owned();
        let src = if rel.as_os_str().is_empty() { ".".to_owned() } else { rel.to_string_lossy().into_owned() };
        // Commands run from the root: source and build directories are flags, no cwd needed.
        project.setup = Some(cmd("cmake", &["-S", &src, "-B", &b], std::path::Path::new(""), ev.clone(), 0.85));
        project.build = Some(cmd("cmake", &["--build", &b], std::path::Path::new(""), ev.clone(), 0.85));
        let lower = text.to_ascii_lowercase();
        if lower.contains("enable_testing") || lower.contains("add_test") || lower.contains("include(ctest)") {
            project.test = Some(cmd(
                "ctest",
                &["--test-dir", &b, "--output-on-failure"],
                std::path::Path::new(""),
                vec![noted(Evidence::field(&file, "enable_testing"), "CTest enabled")],
                0.85,
            ));
        }
        out.projects.push(project);
    }
    if dir.has("meson.build") && !parent_has("meson.build") {
        let file = dir.file("meson.build");
        let text = scan.read(&file).unwrap_or_default();
        let mut project = Project::new(rel.clone(), &languages(&text.replace('\'', " ")), build_systems::MESON);
        project.evidence.push(Evidence::file(&file));
        let ev = vec![Evidence::file(&file)];
        project.setup = Some(cmd("meson", &["setup", "builddir"], &rel, ev.clone(), 0.85));
        project.build = Some(cmd("meson", &["compile", "-C", "builddir"], &rel, ev.clone(), 0.85));
        project.test =
            Some(cmd("meson", &["test", "-C", "builddir"], &rel, ev, if text.contains("test(") { 0.9 } else { 0.6 }));
        out.projects.push(project);
    }
    Ok(())
}
