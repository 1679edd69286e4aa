//! Java and Kotlin: Maven modules, Gradle settings and wrappers.

use super::detect::Found;
use super::{Dir, Scan, cmd, normalize, noted};
use agent_core::workspace::{Evidence, OracleError, Project, build_systems, kinds};
use std::path::PathBuf;

/// What the oracle reads from a `pom.xml`, by element path from `<project>`.
#[derive(Debug, Default, PartialEq, Eq)]
struct Pom {
    /// `project/artifactId` (not the parent's, not a dependency's).
    artifact_id: Option<String>,
    /// `project/packaging`.
    packaging: Option<String>,
    /// `project/modules/module`, then the modules that `project/profiles/profile` add.
    modules: Vec<String>,
    /// A `plugin` whose `artifactId` is `kotlin-maven-plugin`.
    kotlin: bool,
}

/// Reads a `pom.xml` as XML: comments, CDATA sections, entities and
/// namespaces are what XML says they are. `Err` with the parser's message
/// (and where) when the file is not well-formed.
fn read_pom(text: &str) -> Result<Pom, String> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(text);
    let mut pom = Pom::default();
    // Local names of the open elements, and the text of the innermost one.
    let mut path: Vec<String> = Vec::new();
    let mut content = String::new();
    loop {
        let event = reader.read_event().map_err(|e| format!("at byte {}: {e}", reader.error_position()))?;
        match event {
            Event::Start(e) => {
                path.push(String::from_utf8_lossy(e.local_name().as_ref()).into_owned());
                content.clear();
            }
            Event::Text(t) => content.push_str(&t.xml_content().map_err(|e| e.to_string())?),
            Event::CData(c) => content.push_str(&c.decode().map_err(|e| e.to_string())?),
            Event::GeneralRef(r) => match r.resolve_char_ref() {
                Ok(Some(ch)) => content.push(ch),
                _ => {
                    let name = r.decode().map_err(|e| e.to_string())?;
                    content.push_str(quick_xml::escape::resolve_predefined_entity(&name).unwrap_or_default());
                }
            },
            Event::End(_) => {
                let value = std::mem::take(&mut content).trim().to_owned();
                let names: Vec<&str> = path.iter().map(String::as_str).collect();
                match names.as_slice() {
                    ["project", "artifactId"] if !value.is_empty() => pom.artifact_id = Some(value),
                    ["project", "packaging"] if !value.is_empty() => pom.packaging = Some(value),
                    ["project", "modules", "module"] | ["project", "profiles", "profile", "modules", "module"]
                        if !value.is_empty() && !pom.modules.contains(&value) =>
                    {
                        pom.modules.push(value);
                    }
                    [.., "plugin", "artifactId"] if value == "kotlin-maven-plugin" => pom.kotlin = true,
                    _ => {}
                }
                path.pop();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(pom)
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
        // A malformed pom.xml still makes a Maven project; what it says is not guessed at.
        let (pom, read_error) = match read_pom(&text) {
            Ok(pom) => (pom, None),
            Err(error) => (Pom::default(), Some(error)),
        };
        let mut project = Project::new(
            rel.clone(),
            &[if kotlin_dir || pom.kotlin { kinds::KOTLIN } else { kinds::JAVA }],
            build_systems::MAVEN,
        );
        project.name = pom.artifact_id.clone();
        project.evidence.push(match read_error {
            None => Evidence::file(&file),
            Some(error) => noted(Evidence::file(&file), format!("not well-formed XML, modules not read: {error}")),
        });
        if let Some(packaging) = &pom.packaging {
            project.evidence.push(noted(Evidence::field(&file, "packaging"), format!("packaging {packaging}")));
        }
        let mut members: Vec<PathBuf> = Vec::new();
        for m in &pom.modules {
            let d = rel.join(normalize(m));
            if d != rel && scan.root.join(&d).join("pom.xml").is_file() && !members.contains(&d) {
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
    #![allow(clippy::unwrap_used)]

    use super::{Pom, gradle_includes, read_pom};

    #[test]
    fn maven_modules_and_gradle_includes_are_read() {
        assert_eq!(
            read_pom("<project><modules>\n<module>core</module>\n<module> web </module></modules></project>")
                .unwrap()
                .modules,
            ["core", "web"]
        );
        assert_eq!(gradle_includes("include 'app', ':lib:util'\ninclude(\":cli\")\n"), ["app", "lib/util", "cli"]);
    }

    #[test]
    fn pom_is_read_by_element_path_so_comments_cdata_and_the_parent_do_not_count() {
        let text = r#"<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <!-- <artifactId>commented</artifactId> -->
  <parent><artifactId>acme-parent</artifactId></parent>
  <artifactId>acme-app</artifactId>
  <packaging>pom</packaging>
  <description><![CDATA[ see <module>fake</module> ]]></description>
  <modules>
    <!-- <module>legacy</module> -->
    <module>
      core
    </module>
    <module><![CDATA[web]]></module>
    <module>a&amp;b</module>
  </modules>
  <dependencies><dependency><artifactId>kotlin-maven-plugin</artifactId></dependency></dependencies>
</project>"#;
        assert_eq!(
            read_pom(text).unwrap(),
            Pom {
                artifact_id: Some("acme-app".into()),
                packaging: Some("pom".into()),
                modules: vec!["core".into(), "web".into(), "a&b".into()],
                kotlin: false,
            }
        );
    }

    #[test]
    fn profile_modules_and_the_kotlin_plugin_are_read() {
        let text = "<project><build><plugins><plugin><groupId>org.jetbrains.kotlin</groupId>\
                    <artifactId>kotlin-maven-plugin</artifactId></plugin></plugins></build>\
                    <profiles><profile><modules><module>extra</module></modules></profile></profiles></project>";
        let pom = read_pom(text).unwrap();
        assert!(pom.kotlin);
        assert_eq!(pom.modules, ["extra"]);
        assert_eq!(pom.artifact_id, None);
    }

    #[test]
    fn malformed_pom_is_an_error() {
        assert!(read_pom("<project><modules><module>core</modules></project>").is_err());
        assert!(read_pom("<project><artifactId>x</artifactId></project>").is_ok());
    }
}
