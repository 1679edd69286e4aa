//! Java and Kotlin: Maven modules, Gradle settings and wrappers.

use super::detect::Found;
use super::{Dir, Scan, cmd, normalize, noted};
use agent_core::workspace::{Evidence, OracleError, Project, build_systems, kinds};
use std::path::PathBuf;

/// `<module>` entries of a `pom.xml`.
fn maven_modules(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("<module>") {
        let after = &rest[start + "<module>".len()..];
        let Some(end) = after.find("</module>") else { break };
        out.push(after[..end].trim().to_owned());
        rest = &after[end..];
    }
    out
}

/// `include` entries of a `settings.gradle(.kts)`: `include 'a', ':b:c'`, `include(":d")`.
fn gradle_includes(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines() {
        let l = line.split("//").next().unwrap_or("").trim();
        let Some(rest) = l.strip_prefix("include") else { continue };
        if !rest.starts_with([' ', '(', '\t']) {
            continue;
        }
        for part in rest.split(',') {
            let name = part.trim().trim_matches(['(', ')', ' ']).trim_matches(['"', '\'']);
            if !name.is_empty() {
                out.push(name.trim_start_matches(':').replace(':', "/"));
            }
        }
    }
    out
}

/// Detects a Maven or Gradle project in `dir`.
pub(crate) fn detect(scan: &mut Scan, dir: &Dir, out: &mut Found) -> Result<(), OracleError> {
    let rel = dir.rel.clone();
    let kotlin_dir = scan.root.join(&rel).join("src").join("main").join("kotlin").is_dir();
    if dir.has("pom.xml") {
        let file = dir.file("pom.xml");
        let text = scan.read(&file).unwrap_or_default();
        let mut project = Project::new(
            rel.clone(),
            &[if kotlin_dir || text.contains("kotlin-maven-plugin") { kinds::KOTLIN } else { kinds::JAVA }],
            build_systems::MAVEN,
        );
        project.name = text
            .split("<artifactId>")
            .nth(1)
            .and_then(|s| s.split("</artifactId>").next())
            .map(|s| s.trim().to_owned());
        project.evidence.push(Evidence::file(&file));
        let mut members: Vec<PathBuf> = Vec::new();
        for m in maven_modules(&text) {
            let d = rel.join(normalize(&m));
            if d != rel && scan.root.join(&d).join("pom.xml").is_file() {
                members.push(d);
            }
        }
        if !members.is_empty() {
            project.evidence.push(Evidence::field(&file, "modules"));
        }
        project.members = members;
        let (program, ev) = if dir.has("mvnw") {
            ("./mvnw", vec![Evidence::file(&file), noted(Evidence::file(dir.file("mvnw")), "Maven wrapper")])
        } else {
            ("mvn", vec![Evidence::file(&file)])
        };
        project.setup = Some(cmd(program, &["-B", "dependency:go-offline"], &rel, ev.clone(), 0.7));
        project.build = Some(cmd(program, &["-B", "-DskipTests", "package"], &rel, ev.clone(), 0.85));
        project.test = Some(cmd(program, &["-B", "test"], &rel, ev.clone(), 0.9));
        out.projects.push(project);
    }
    let settings = ["settings.gradle.kts", "settings.gradle"].into_iter().find(|f| dir.has(f));
    let build = ["build.gradle.kts", "build.gradle"].into_iter().find(|f| dir.has(f));
    if let Some(manifest) = settings.or(build) {
        let file = dir.file(manifest);
        let text = scan.read(&file).unwrap_or_default();
        let build_text = build.and_then(|b| scan.read(&dir.file(b))).unwrap_or_default();
        let kotlin = kotlin_dir || build_text.contains("kotlin(") || build_text.contains("org.jetbrains.kotlin");
        let mut project =
            Project::new(rel.clone(), &[if kotlin { kinds::KOTLIN } else { kinds::JAVA }], build_systems::GRADLE);
        project.evidence.push(Evidence::file(&file));
        project.name = text
            .lines()
            .find_map(|l| l.trim().strip_prefix("rootProject.name"))
            .map(|v| v.trim().trim_start_matches('=').trim().trim_matches(['"', '\'']).to_owned());
        if settings.is_some() {
            let mut members: Vec<PathBuf> = Vec::new();
            for inc in gradle_includes(&text) {
                let d = rel.join(normalize(&inc));
                if d != rel && scan.root.join(&d).is_dir() && !members.contains(&d) {
                    members.push(d);
                }
            }
            if !members.is_empty() {
                project.evidence.push(Evidence::field(&file, "include"));
            }
            project.members = members;
        }
        let (program, mut ev) = if dir.has("gradlew") {
            ("./gradlew", vec![noted(Evidence::file(dir.file("gradlew")), "Gradle wrapper")])
        } else {
            ("gradle", vec![])
        };
        ev.insert(0, Evidence::file(&file));
        project.build = Some(cmd(program, &["assemble"], &rel, ev.clone(), 0.85));
        project.test = Some(cmd(program, &["test"], &rel, ev.clone(), 0.9));
        project.lint = Some(cmd(program, &["check", "-x", "test"], &rel, ev.clone(), 0.5));
        project.setup = Some(cmd(program, &["dependencies"], &rel, ev, 0.6));
        out.projects.push(project);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{gradle_includes, maven_modules};

    #[test]
    fn maven_modules_and_gradle_includes_are_read() {
        assert_eq!(
            maven_modules("<modules>\n<module>core</module>\n<module> web </module></modules>"),
            ["core", "web"]
        );
        assert_eq!(gradle_includes("include 'app', ':lib:util'\ninclude(\":cli\")\n"), ["app", "lib/util", "cli"]);
    }
}
