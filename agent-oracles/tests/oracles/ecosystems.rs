//! The ecosystem oracles on fixture trees copied to temporary directories:
//! kinds, build systems, members, commands, evidence, ambiguities, the primary
//! choice, the bounded scan, scaffold order and dry-run validation.

use crate::support::{copy_fixture, testdata};
use agent_core::exec::{CommandSpec, ExecError, RunOutput};
use agent_core::workspace::{DetectedCommand, Project, WorkspaceProfile};
use agent_core::{Executor, WorkspaceOracle, async_trait};
use agent_oracles::{EcosystemOracle, NodeOracle, ValidationError, default_oracle, scaffold, validate_test_command};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

fn fixture(name: &str) -> (tempfile::TempDir, PathBuf) {
    copy_fixture(&testdata().join("workspaces").join(name))
}

async fn inspect(name: &str) -> (tempfile::TempDir, WorkspaceProfile) {
    let (tmp, root) = fixture(name);
    let profile = default_oracle().inspect(&root).await.unwrap();
    (tmp, profile)
}

fn project<'a>(profile: &'a WorkspaceProfile, path: &str, system: &str) -> &'a Project {
    profile
        .projects
        .iter()
        .find(|p| p.path == Path::new(path) && p.build_system == system)
        .unwrap_or_else(|| panic!("no {system} project at {path:?} in {:#?}", profile.projects))
}

/// `program args…`, the cwd, and the evidence files of a command.
fn shape(c: &Option<DetectedCommand>) -> (String, PathBuf) {
    let c = c.as_ref().unwrap();
    assert!(!c.evidence.is_empty(), "{} has no evidence", c.display());
    assert!(c.confidence > 0.0 && c.confidence <= 1.0);
    (c.display(), c.cwd.clone())
}

fn evidence_files(c: &Option<DetectedCommand>) -> Vec<PathBuf> {
    c.as_ref().unwrap().evidence.iter().map(|e| e.file.clone()).collect()
}

fn paths(v: &[PathBuf]) -> Vec<&str> {
    v.iter().map(|p| p.to_str().unwrap()).collect()
}

#[tokio::test]
async fn pnpm_monorepo_uses_package_manager_field_workspace_globs_and_ci_confirmed_scripts() {
    let (_tmp, profile) = inspect("node-pnpm").await;
    assert_eq!(profile.projects.len(), 1, "members are folded into the workspace: {:#?}", profile.projects);
    let p = project(&profile, "", "pnpm");
    assert!(p.primary);
    assert_eq!(p.name.as_deref(), Some("acme-monorepo"));
    assert_eq!(p.kinds, ["node", "typescript"]);
    assert_eq!(paths(&p.members), ["apps/web", "packages/core", "packages/ui"]);
    assert!(
        p.evidence.iter().any(|e| e.file == Path::new("pnpm-workspace.yaml") && e.field.as_deref() == Some("packages"))
    );
    assert!(p.evidence.iter().any(|e| e.field.as_deref() == Some("packageManager")));
    let lock = p.evidence.iter().find(|e| e.file == Path::new("pnpm-lock.yaml")).unwrap();
    assert!(lock.note.as_deref().unwrap().contains("pnpm 9"));
    assert_eq!(shape(&p.setup), ("pnpm install --frozen-lockfile".into(), PathBuf::new()));
    assert_eq!(shape(&p.build), ("pnpm run build".into(), PathBuf::new()));
    assert_eq!(shape(&p.test), ("pnpm test".into(), PathBuf::new()));
    assert_eq!(shape(&p.lint), ("pnpm run lint".into(), PathBuf::new()));
    let test = p.test.as_ref().unwrap();
    assert!(test.evidence.iter().any(|e| e.field.as_deref() == Some("scripts.test")));
    assert!(evidence_files(&p.test).contains(&PathBuf::from(".github/workflows/ci.yml")));
    assert!(test.confidence >= 0.95);
    assert!(profile.ambiguities.is_empty());
}

#[tokio::test]
async fn yarn_berry_is_told_from_yarnrc_and_the_npm_placeholder_test_script_is_ignored() {
    let (_tmp, root) = fixture("node-yarn-berry");
    let profile = NodeOracle::new().inspect(&root).await.unwrap();
    let p = project(&profile, "", "yarn");
    assert_eq!(p.kinds, ["node"]);
    assert!(p.members.is_empty());
    assert_eq!(shape(&p.setup).0, "yarn install --immutable");
    assert_eq!(shape(&p.test).0, "yarn jest");
    assert!(p.evidence.iter().any(|e| e.file == Path::new(".yarnrc.yml")));
}

#[tokio::test]
async fn two_lockfiles_are_an_ambiguity_with_both_files_as_evidence() {
    let (_tmp, profile) = inspect("ambiguous").await;
    let amb = profile.ambiguities.iter().find(|a| a.subject.starts_with("package manager")).unwrap();
    assert_eq!(amb.candidates, ["yarn", "npm"]);
    let files: Vec<&Path> = amb.evidence.iter().map(|e| e.file.as_path()).collect();
    assert_eq!(files, [Path::new("yarn.lock"), Path::new("package-lock.json")]);
    let p = profile.primary().unwrap();
    assert!(p.confidence <= 0.5, "an ambiguous answer is not confident");
}

#[tokio::test]
async fn package_manager_field_conflicting_with_a_lockfile_is_reported() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("package.json"), r#"{"name":"x","packageManager":"yarn@4.1.0"}"#).unwrap();
    std::fs::write(tmp.path().join("package-lock.json"), "{}").unwrap();
    let profile = default_oracle().inspect(tmp.path()).await.unwrap();
    assert_eq!(profile.primary().unwrap().build_system, "yarn");
    assert_eq!(profile.ambiguities.len(), 1);
    assert_eq!(profile.ambiguities[0].candidates, ["yarn", "npm"]);
}

#[tokio::test]
async fn uv_project_runs_pytest_through_uv_with_tox_as_a_lower_alternative() {
    let (_tmp, profile) = inspect("python-uv").await;
    assert_eq!(profile.projects.len(), 1, "{:#?}", profile.projects);
    let p = project(&profile, "", "uv");
    assert_eq!(p.kinds, ["python"]);
    assert_eq!(p.name.as_deref(), Some("acme"));
    assert_eq!(paths(&p.members), ["packages/plugin"]);
    assert!(p.evidence.iter().any(|e| e.note.as_deref() == Some("src layout")));
    assert_eq!(shape(&p.setup).0, "uv sync");
    assert_eq!(shape(&p.test).0, "uv run pytest");
    assert_eq!(shape(&p.lint).0, "uv run ruff check .");
    let test = p.test.as_ref().unwrap();
    assert!(test.evidence.iter().any(|e| e.field.as_deref() == Some("tool.pytest.ini_options")));
    let alt = test.evidence.iter().find(|e| e.file == Path::new("tox.ini")).unwrap();
    assert!(alt.note.as_deref().unwrap().starts_with("alternative: `tox`"));
}

#[tokio::test]
async fn poetry_and_requirements_projects_get_their_runners() {
    let (_tmp, profile) = inspect("python-poetry").await;
    let p = project(&profile, "", "poetry");
    assert_eq!(p.name.as_deref(), Some("poetry-demo"));
    assert_eq!(shape(&p.setup).0, "poetry install");
    assert_eq!(shape(&p.test).0, "poetry run pytest");
    assert!(p.test.as_ref().unwrap().evidence.iter().any(|e| e.file == Path::new("noxfile.py")));

    let (_tmp, profile) = inspect("python-requirements").await;
    let p = project(&profile, "", "setuptools");
    assert_eq!(shape(&p.setup).0, "python -m pip install -r requirements.txt");
    assert_eq!(shape(&p.test).0, "python -m pytest");
    assert!(evidence_files(&p.test).contains(&PathBuf::from("setup.cfg")));
}

#[tokio::test]
async fn go_work_lists_its_modules_as_members_not_projects() {
    let (_tmp, profile) = inspect("go-work").await;
    assert_eq!(profile.projects.len(), 1, "{:#?}", profile.projects);
    let p = project(&profile, "", "go");
    assert_eq!(p.kinds, ["go"]);
    assert_eq!(paths(&p.members), ["api", "tools"]);
    assert_eq!(p.evidence[0].file, Path::new("go.work"));
    assert_eq!(shape(&p.setup).0, "go mod download");
    assert_eq!(shape(&p.test).0, "go test ./...");
    assert_eq!(shape(&p.lint).0, "go vet ./...");
}

#[tokio::test]
async fn maven_modules_and_gradle_includes_are_members_with_wrappers_preferred() {
    let (_tmp, profile) = inspect("java-maven").await;
    assert_eq!(profile.projects.len(), 1, "{:#?}", profile.projects);
    let p = project(&profile, "", "maven");
    assert_eq!(p.kinds, ["java"]);
    assert_eq!(p.name.as_deref(), Some("acme-parent"));
    assert_eq!(paths(&p.members), ["core", "web"]);
    assert_eq!(shape(&p.test).0, "./mvnw -B test");
    assert!(evidence_files(&p.test).contains(&PathBuf::from("mvnw")));

    let (_tmp, profile) = inspect("kotlin-gradle").await;
    let p = project(&profile, "", "gradle");
    assert_eq!(p.kinds, ["kotlin"]);
    assert_eq!(p.name.as_deref(), Some("kgrad"));
    assert_eq!(paths(&p.members), ["app", "lib/util"]);
    assert_eq!(shape(&p.test).0, "./gradlew test");
}

#[tokio::test]
async fn cmake_and_meson_commands_run_from_the_root() {
    let (_tmp, profile) = inspect("cmake").await;
    assert_eq!(profile.projects.len(), 1, "sub-CMakeLists are not projects: {:#?}", profile.projects);
    let p = project(&profile, "", "cmake");
    assert_eq!(p.kinds, ["c", "cpp"]);
    assert_eq!(shape(&p.setup).0, "cmake -S . -B build");
    assert_eq!(shape(&p.build).0, "cmake --build build");
    assert_eq!(shape(&p.test).0, "ctest --test-dir build --output-on-failure");

    let (_tmp, profile) = inspect("meson").await;
    let p = project(&profile, "", "meson");
    assert_eq!(p.kinds, ["c"]);
    assert_eq!(shape(&p.test).0, "meson test -C builddir");
}

#[tokio::test]
async fn ruby_php_dotnet_deno_and_task_runners_are_found() {
    let (_tmp, profile) = inspect("ruby").await;
    let p = project(&profile, "", "bundler");
    assert_eq!(p.kinds, ["ruby"]);
    assert_eq!(shape(&p.setup).0, "bundle install");
    assert_eq!(shape(&p.test).0, "bundle exec rspec");
    assert_eq!(shape(&p.lint).0, "bundle exec rubocop");

    let (_tmp, profile) = inspect("php").await;
    let p = project(&profile, "", "composer");
    assert_eq!(p.kinds, ["php"]);
    assert_eq!(shape(&p.test).0, "composer run-script test");
    assert_eq!(p.test.as_ref().unwrap().evidence[0].field.as_deref(), Some("scripts.test"));

    let (_tmp, profile) = inspect("dotnet").await;
    let p = project(&profile, "", "dotnet");
    assert_eq!(p.kinds, ["csharp"]);
    assert_eq!(paths(&p.members), ["src/App", "tests/App.Tests"]);
    assert_eq!(shape(&p.test).0, "dotnet test Acme.sln");
    assert_eq!(profile.projects.len(), 1, "projects of the solution are members: {:#?}", profile.projects);

    let (_tmp, profile) = inspect("deno").await;
    let p = project(&profile, "", "deno");
    assert_eq!(p.kinds, ["deno", "typescript"]);
    assert_eq!(shape(&p.test).0, "deno task test");

    let (_tmp, profile) = inspect("make-just").await;
    let make = project(&profile, "", "make");
    assert_eq!(shape(&make.test).0, "make test");
    assert_eq!(shape(&make.build).0, "make build");
    let just = project(&profile, "", "just");
    assert_eq!(shape(&just.test).0, "just test");
    assert_eq!(shape(&just.lint).0, "just lint");
}

#[tokio::test]
async fn polyglot_reports_every_project_with_cwds_and_names_the_ci_tested_one_primary() {
    let (_tmp, profile) = inspect("polyglot").await;
    let mut found: Vec<(String, String)> =
        profile.projects.iter().map(|p| (p.path.display().to_string(), p.build_system.clone())).collect();
    found.sort();
    assert_eq!(
        found,
        [
            ("services/api".into(), "go".into()),
            ("services/rs".into(), "cargo".into()),
            ("services/worker".into(), "go".into()),
            ("tools/py".into(), "setuptools".into()),
            ("web".into(), "npm".into()),
        ]
    );
    let web = project(&profile, "web", "npm");
    assert!(web.primary);
    assert_eq!(profile.projects.iter().filter(|p| p.primary).count(), 1);
    assert!(web.evidence.iter().any(|e| e.note.as_deref().is_some_and(|n| n.contains("run by CI"))));
    assert_eq!(shape(&web.setup), ("npm ci".into(), PathBuf::from("web")));
    assert_eq!(shape(&web.test), ("npm test".into(), PathBuf::from("web")));
    assert!(evidence_files(&web.test).contains(&PathBuf::from("web/package.json")));
    assert!(evidence_files(&web.test).contains(&PathBuf::from(".github/workflows/test.yml")));
    let api = project(&profile, "services/api", "go");
    assert_eq!(shape(&api.test), ("go test ./...".into(), PathBuf::from("services/api")));
    assert_eq!(api.evidence[0].file, Path::new("services/api/go.mod"));
    let rs = project(&profile, "services/rs", "cargo");
    assert_eq!(shape(&rs.test).1, PathBuf::from("services/rs"));
    assert!(rs.evidence.iter().all(|e| e.file.starts_with("services/rs")));
    let py = project(&profile, "tools/py", "setuptools");
    assert_eq!(shape(&py.test), ("python -m pytest".into(), PathBuf::from("tools/py")));
    for p in &profile.projects {
        assert!(!p.path.starts_with("generated"), "a .gitignored directory was read");
        assert!(!p.path.components().any(|c| c.as_os_str() == "node_modules"));
        assert!(p.members.iter().all(|m| !m.as_os_str().is_empty()));
    }
}

#[tokio::test]
async fn largest_project_is_primary_when_no_root_project_or_ci_decides() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    std::fs::create_dir_all(root.join("small")).unwrap();
    std::fs::write(root.join("small/go.mod"), "module s\n").unwrap();
    for d in ["big", "big/a", "big/b"] {
        std::fs::create_dir_all(root.join(d)).unwrap();
        std::fs::write(root.join(d).join("go.mod"), format!("module {d}\n")).unwrap();
    }
    std::fs::write(root.join("big/go.work"), "use (\n\t./a\n\t./b\n)\n").unwrap();
    let profile = default_oracle().inspect(root).await.unwrap();
    let p = profile.primary().unwrap();
    assert_eq!(p.path, Path::new("big"));
    assert_eq!(paths(&p.members), ["big/a", "big/b"]);
    assert!(p.evidence.iter().any(|e| e.note.as_deref().is_some_and(|n| n.starts_with("primary: the largest"))));
    assert_eq!(profile.projects.len(), 2);
}

#[tokio::test]
async fn cargo_root_stays_primary_over_other_root_projects() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("Cargo.toml"), "[package]\nname = \"r\"\nversion = \"0.1.0\"\n").unwrap();
    std::fs::write(tmp.path().join("package.json"), r#"{"name":"site","scripts":{"test":"jest"}}"#).unwrap();
    let profile = default_oracle().inspect(tmp.path()).await.unwrap();
    assert_eq!(profile.projects.len(), 2);
    assert_eq!(profile.projects[0].build_system, "cargo");
    assert!(profile.projects[0].primary);
    let node = &profile.projects[1];
    assert!(!node.primary);
    assert!(node.evidence.iter().all(|e| !e.note.as_deref().unwrap_or("").starts_with("primary:")));
}

#[tokio::test]
async fn giant_node_modules_and_target_are_never_listed() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    std::fs::write(root.join("package.json"), r#"{"name":"app","scripts":{"test":"jest"}}"#).unwrap();
    std::fs::write(root.join("package-lock.json"), "{}").unwrap();
    for i in 0..50 {
        let d = root.join("node_modules").join(format!("pkg{i}"));
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("package.json"), "{ not json").unwrap();
        for j in 0..1000 {
            std::fs::write(d.join(format!("f{j}.js")), "").unwrap();
        }
    }
    std::fs::create_dir_all(root.join("target/debug/deps")).unwrap();
    std::fs::write(root.join("target/debug/deps/Cargo.toml"), "not toml [").unwrap();
    let oracle = EcosystemOracle::all();
    let listed = oracle.scanned_dirs(root).unwrap();
    assert_eq!(listed, [PathBuf::new()], "only the root is listed");
    let profile = default_oracle().inspect(root).await.unwrap();
    assert_eq!(profile.projects.len(), 1);
    assert_eq!(profile.primary().unwrap().build_system, "npm");
}

#[tokio::test]
async fn scan_depth_is_bounded_and_named_members_beyond_it_are_still_read() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let deep = root.join("a/b/c/d");
    std::fs::create_dir_all(&deep).unwrap();
    std::fs::write(deep.join("go.mod"), "module deep\n").unwrap();
    let profile = default_oracle().inspect(root).await.unwrap();
    assert!(profile.projects.is_empty(), "a manifest four levels down is not searched for");
    let deeper = EcosystemOracle::all().with_scan_depth(4).inspect(root).await.unwrap();
    assert_eq!(deeper.projects[0].path, Path::new("a/b/c/d"), "unless the scan is told to go deeper");
    std::fs::write(root.join("package.json"), r#"{"name":"r","workspaces":["a/b/c/*"]}"#).unwrap();
    std::fs::create_dir_all(root.join("a/b/c/pkg")).unwrap();
    std::fs::write(root.join("a/b/c/pkg/package.json"), r#"{"name":"pkg"}"#).unwrap();
    let profile = default_oracle().inspect(root).await.unwrap();
    assert_eq!(paths(&profile.primary().unwrap().members), ["a/b/c/pkg"]);
}

#[tokio::test]
async fn scaffold_lists_primary_setup_first_then_others_without_duplicates() {
    let (_tmp, profile) = inspect("polyglot").await;
    let steps = scaffold(&profile);
    let shown: Vec<(String, String)> = steps.iter().map(|s| (s.display(), s.cwd.display().to_string())).collect();
    assert_eq!(shown[0], ("npm ci".into(), "web".into()), "the primary project comes first");
    assert!(shown.contains(&("go mod download".into(), "services/api".into())));
    assert!(shown.contains(&("go mod download".into(), "services/worker".into())));
    assert!(shown.contains(&("cargo fetch".into(), "services/rs".into())));
    assert!(shown.contains(&("python -m pip install -e .".into(), "tools/py".into())));
    assert_eq!(shown.len(), 5);

    let (_tmp, profile) = inspect("cmake").await;
    let steps: Vec<String> = scaffold(&profile).iter().map(DetectedCommand::display).collect();
    assert_eq!(steps, ["cmake -S . -B build", "cmake --build build"], "configure before build");
}

/// Records every command it is asked to run and answers with a fixed exit code.
struct FakeExecutor {
    ran: Mutex<Vec<CommandSpec>>,
    exit: i32,
}

#[async_trait]
impl Executor for FakeExecutor {
    async fn run(&self, cmd: CommandSpec) -> Result<RunOutput, ExecError> {
        let line = std::iter::once(cmd.program.clone()).chain(cmd.args.clone()).collect::<Vec<_>>().join(" ");
        self.ran.lock().unwrap().push(cmd);
        Ok(RunOutput::from_text(line, self.exit, "collected 3 items", ""))
    }
}

#[tokio::test]
async fn validate_runs_the_dry_run_variant_in_the_project_directory() {
    let (_tmp, root) = fixture("python-uv");
    let profile = default_oracle().inspect(&root).await.unwrap();
    let exec = FakeExecutor { ran: Mutex::new(Vec::new()), exit: 0 };
    let v = validate_test_command(&profile, &exec).await.unwrap();
    assert!(v.ok);
    assert_eq!(v.test.display(), "uv run pytest");
    assert_eq!(v.dry_run.display(), "uv run pytest --collect-only -q");
    {
        let ran = exec.ran.lock().unwrap();
        assert_eq!(ran.len(), 1);
        assert_eq!(ran[0].program, "uv");
        assert_eq!(ran[0].args, ["run", "pytest", "--collect-only", "-q"]);
        assert_eq!(ran[0].cwd.as_deref(), Some(root.as_path()));
    }
    assert_eq!(v.output.stdout.head, "collected 3 items");

    let (_tmp, root) = fixture("polyglot");
    let profile = default_oracle().inspect(&root).await.unwrap();
    let exec = FakeExecutor { ran: Mutex::new(Vec::new()), exit: 0 };
    // `npm test` has no known dry-run form: refused rather than running the suite.
    let err = validate_test_command(&profile, &exec).await.unwrap_err();
    assert!(matches!(err, ValidationError::NoDryRun { .. }));
    assert!(exec.ran.lock().unwrap().is_empty());
}

#[tokio::test]
async fn validate_reports_a_failing_dry_run_with_its_output() {
    let (_tmp, root) = fixture("go-work");
    let profile = default_oracle().inspect(&root).await.unwrap();
    let exec = FakeExecutor { ran: Mutex::new(Vec::new()), exit: 1 };
    let v = validate_test_command(&profile, &exec).await.unwrap();
    assert!(!v.ok);
    assert_eq!(v.dry_run.display(), "go test -run ^$ ./...");
    assert_eq!(v.output.exit_code, Some(1));
    assert_eq!(exec.ran.lock().unwrap()[0].args, ["test", "-run", "^$", "./..."]);

    let empty = WorkspaceProfile::new(&root);
    assert!(matches!(validate_test_command(&empty, &exec).await, Err(ValidationError::NoTestCommand)));
}

#[tokio::test]
async fn docs_requirements_and_gitignored_paths_are_not_projects() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    std::fs::create_dir_all(root.join("docs")).unwrap();
    std::fs::write(root.join("docs/requirements.txt"), "sphinx\n").unwrap();
    std::fs::create_dir_all(root.join("out-of-tree/gen")).unwrap();
    std::fs::write(root.join("out-of-tree/gen/go.mod"), "module gen\n").unwrap();
    std::fs::write(root.join(".gitignore"), "# generated\n/out-of-tree/gen/\n").unwrap();
    std::fs::create_dir_all(root.join("svc")).unwrap();
    std::fs::write(root.join("svc/go.mod"), "module svc\n").unwrap();
    let profile = default_oracle().inspect(root).await.unwrap();
    let found: Vec<&Path> = profile.projects.iter().map(|p| p.path.as_path()).collect();
    assert_eq!(found, [Path::new("svc")]);
    let listed = EcosystemOracle::all().scanned_dirs(root).unwrap();
    assert!(!listed.contains(&PathBuf::from("out-of-tree/gen")));
}

#[tokio::test]
async fn two_python_lockfiles_are_an_ambiguity() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("pyproject.toml"), "[project]\nname = \"x\"\n").unwrap();
    std::fs::write(tmp.path().join("uv.lock"), "").unwrap();
    std::fs::write(tmp.path().join("poetry.lock"), "").unwrap();
    let profile = default_oracle().inspect(tmp.path()).await.unwrap();
    assert_eq!(profile.ambiguities.len(), 1);
    assert_eq!(profile.ambiguities[0].candidates, ["uv", "poetry"]);
    let files: Vec<&Path> = profile.ambiguities[0].evidence.iter().map(|e| e.file.as_path()).collect();
    assert_eq!(files, [Path::new("uv.lock"), Path::new("poetry.lock")]);
    assert!(profile.primary().unwrap().confidence <= 0.5);
}

#[tokio::test]
async fn nested_gitignores_and_negations_follow_git_precedence() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let module = |dir: &str| {
        std::fs::create_dir_all(root.join(dir)).unwrap();
        std::fs::write(root.join(dir).join("go.mod"), format!("module {}\n", dir.replace('/', "_"))).unwrap();
    };
    // Root ignores every `gen*` directory but re-includes `gen-kept`.
    std::fs::write(root.join(".gitignore"), "gen*/\n!gen-kept/\n").unwrap();
    module("gen-a");
    module("gen-kept");
    // A nested .gitignore ignores `scratch` below `services` only, and
    // re-includes `services/gen-api` that the root pattern ignored.
    std::fs::create_dir_all(root.join("services")).unwrap();
    std::fs::write(root.join("services/.gitignore"), "scratch/\n!gen-api/\n").unwrap();
    module("services/scratch");
    module("services/gen-api");
    module("services/api");
    module("scratch");
    // `.git/info/exclude` counts as well.
    std::fs::create_dir_all(root.join(".git/info")).unwrap();
    std::fs::write(root.join(".git/info/exclude"), "/local-only/\n").unwrap();
    module("local-only");

    let listed = EcosystemOracle::all().scanned_dirs(root).unwrap();
    for gone in ["gen-a", "services/scratch", "local-only"] {
        assert!(!listed.contains(&PathBuf::from(gone)), "{gone} is ignored but was listed: {listed:?}");
    }
    for kept in ["gen-kept", "services/gen-api", "services/api", "scratch"] {
        assert!(listed.contains(&PathBuf::from(kept)), "{kept} is not ignored but was not listed: {listed:?}");
    }
    let profile = default_oracle().inspect(root).await.unwrap();
    let mut found: Vec<String> = profile.projects.iter().map(|p| p.path.display().to_string()).collect();
    found.sort();
    assert_eq!(found, ["gen-kept", "scratch", "services/api", "services/gen-api"]);
}

#[tokio::test]
async fn nx_turborepo_and_moon_run_every_projects_tests_and_two_runners_are_an_ambiguity() {
    let write = |root: &Path, file: &str, text: &str| {
        std::fs::create_dir_all(root.join(file).parent().unwrap()).unwrap();
        std::fs::write(root.join(file), text).unwrap();
    };
    let pkg = r#"{"name":"mono","private":true,"workspaces":["packages/*"]}"#;

    let turbo = tempfile::tempdir().unwrap();
    write(turbo.path(), "package.json", pkg);
    write(turbo.path(), "package-lock.json", "{}");
    write(turbo.path(), "turbo.json", r#"{"tasks":{"build":{},"test":{"dependsOn":["build"]}}}"#);
    let profile = default_oracle().inspect(turbo.path()).await.unwrap();
    let test = profile.primary().unwrap().test.clone();
    assert_eq!(shape(&test), ("npx --no-install turbo run test".to_owned(), PathBuf::new()));
    assert_eq!(test.as_ref().unwrap().evidence[0].field.as_deref(), Some("tasks.test"));
    assert!(profile.ambiguities.is_empty());

    // A turbo.json without a test task says nothing about tests.
    let no_task = tempfile::tempdir().unwrap();
    write(no_task.path(), "package.json", pkg);
    write(no_task.path(), "turbo.json", r#"{"tasks":{"build":{}}}"#);
    let profile = default_oracle().inspect(no_task.path()).await.unwrap();
    assert!(profile.primary().unwrap().test.is_none());

    let moon = tempfile::tempdir().unwrap();
    write(moon.path(), "package.json", pkg);
    write(moon.path(), ".moon/workspace.yml", "projects:\n  - 'packages/*'\n");
    let profile = default_oracle().inspect(moon.path()).await.unwrap();
    assert_eq!(shape(&profile.primary().unwrap().test), ("moon run :test".to_owned(), PathBuf::new()));

    // Nx and Turborepo at once: reported, the first taken with low confidence.
    let both = tempfile::tempdir().unwrap();
    write(both.path(), "package.json", pkg);
    write(both.path(), "nx.json", "{}");
    write(both.path(), "turbo.json", r#"{"pipeline":{"test":{}}}"#);
    let profile = default_oracle().inspect(both.path()).await.unwrap();
    assert_eq!(profile.ambiguities.len(), 1);
    assert_eq!(profile.ambiguities[0].candidates, ["nx", "turbo"]);
    let test = profile.primary().unwrap().test.clone().unwrap();
    assert_eq!(test.display(), "npx --no-install nx run-many -t test");
    assert!(test.confidence <= 0.5);

    // A test script at the root wins over the runner (it usually calls it).
    let scripted = tempfile::tempdir().unwrap();
    write(scripted.path(), "package.json", r#"{"name":"m","scripts":{"test":"turbo run test --filter=./apps/*"}}"#);
    write(scripted.path(), "turbo.json", r#"{"tasks":{"test":{}}}"#);
    let profile = default_oracle().inspect(scripted.path()).await.unwrap();
    assert_eq!(shape(&profile.primary().unwrap().test).0, "npm test");
}

fn write(root: &Path, file: &str, text: &str) {
    std::fs::create_dir_all(root.join(file).parent().unwrap()).unwrap();
    std::fs::write(root.join(file), text).unwrap();
}

#[tokio::test]
async fn tsconfig_with_comments_and_trailing_commas_is_read_and_its_references_are_built_with_tsc_build() {
    let tmp = tempfile::tempdir().unwrap();
    write(tmp.path(), "package.json", r#"{"name":"ts","devDependencies":{"typescript":"^5"}}"#);
    write(tmp.path(), "package-lock.json", "{}");
    write(
        tmp.path(),
        "tsconfig.json",
        "// solution-style config\n{\n  \"files\": [],\n  /* each package builds itself */\n  \"references\": [\n    { \"path\": \"./packages/core\" },\n    { \"path\": \"./packages/cli\" },\n  ],\n}\n",
    );
    let profile = default_oracle().inspect(tmp.path()).await.unwrap();
    let p = project(&profile, "", "npm");
    assert_eq!(p.kinds, ["node", "typescript"]);
    let build = p.build.as_ref().unwrap();
    assert_eq!(build.display(), "npx --no-install tsc --build");
    assert!(
        build.evidence.iter().any(|e| e.file == Path::new("tsconfig.json") && e.field.as_deref() == Some("references"))
    );

    // A tsconfig that is not even JSONC keeps the type check, with a note saying it was not read.
    write(tmp.path(), "tsconfig.json", "{ \"references\": [ ");
    let profile = default_oracle().inspect(tmp.path()).await.unwrap();
    let build = project(&profile, "", "npm").build.clone().unwrap();
    assert_eq!(build.display(), "npx --no-install tsc --noEmit");
    let note = build.evidence.iter().find(|e| e.file == Path::new("tsconfig.json")).unwrap().note.clone();
    assert!(note.unwrap().contains("not valid JSON with comments"));
}

#[tokio::test]
async fn deno_jsonc_and_turbo_json_with_comments_give_their_tasks() {
    let tmp = tempfile::tempdir().unwrap();
    write(
        tmp.path(),
        "deno.jsonc",
        "{\n  // the package\n  \"name\": \"@acme/jsonc\",\n  \"tasks\": {\n    \"test\": \"deno test -A\", // all permissions\n  },\n}\n",
    );
    let profile = default_oracle().inspect(tmp.path()).await.unwrap();
    let p = project(&profile, "", "deno");
    assert_eq!(p.name.as_deref(), Some("@acme/jsonc"));
    assert_eq!(shape(&p.test).0, "deno task test");

    let turbo = tempfile::tempdir().unwrap();
    write(turbo.path(), "package.json", r#"{"name":"mono","private":true,"workspaces":["packages/*"]}"#);
    write(turbo.path(), "package-lock.json", "{}");
    write(
        turbo.path(),
        "turbo.json",
        "{\n  // Turborepo 2\n  \"tasks\": {\n    \"test\": { \"dependsOn\": [\"^build\",], },\n  },\n}\n",
    );
    let profile = default_oracle().inspect(turbo.path()).await.unwrap();
    let test = profile.primary().unwrap().test.clone();
    assert_eq!(shape(&test).0, "npx --no-install turbo run test");
    assert_eq!(test.unwrap().evidence[0].field.as_deref(), Some("tasks.test"));
}

#[tokio::test]
async fn pom_modules_and_artifact_id_come_from_the_xml_not_from_comments_cdata_or_the_parent() {
    let tmp = tempfile::tempdir().unwrap();
    let pom = r#"<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <!-- formerly <artifactId>old-name</artifactId> -->
  <parent>
    <groupId>com.acme</groupId>
    <artifactId>acme-bom</artifactId>
  </parent>
  <artifactId>acme-app</artifactId>
  <packaging>pom</packaging>
  <description><![CDATA[Lists <module>fake</module> in prose.]]></description>
  <modules>
    <!-- <module>legacy</module> -->
    <module>
      core
    </module>
    <module><![CDATA[web]]></module>
  </modules>
</project>
"#;
    write(tmp.path(), "pom.xml", pom);
    for m in ["core", "web", "legacy", "fake"] {
        write(tmp.path(), &format!("{m}/pom.xml"), &format!("<project><artifactId>{m}</artifactId></project>"));
    }
    let profile = EcosystemOracle::all().with_scan_depth(0).inspect(tmp.path()).await.unwrap();
    assert_eq!(profile.projects.len(), 1, "{:#?}", profile.projects);
    let p = project(&profile, "", "maven");
    assert_eq!(p.name.as_deref(), Some("acme-app"));
    assert_eq!(paths(&p.members), ["core", "web"]);
    let packaging = p.evidence.iter().find(|e| e.field.as_deref() == Some("packaging")).unwrap();
    assert_eq!(packaging.note.as_deref(), Some("packaging pom"));

    // A pom.xml that is not well-formed is still a Maven project, with a note and no guessed modules.
    write(tmp.path(), "pom.xml", "<project><modules><module>core</module></project>");
    let profile = EcosystemOracle::all().with_scan_depth(0).inspect(tmp.path()).await.unwrap();
    let p = project(&profile, "", "maven");
    assert!(p.members.is_empty());
    assert!(p.evidence[0].note.as_deref().unwrap().contains("not well-formed XML"));
    assert_eq!(shape(&p.test).0, "mvn -B test");
}

#[tokio::test]
async fn a_flow_style_workflow_step_makes_its_project_primary_over_the_largest() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(root, "web/package.json", r#"{"name":"web","scripts":{"test":"vitest run"}}"#);
    write(root, "web/package-lock.json", "{}");
    write(root, "api/go.work", "use (\n\t./a\n\t./b\n)\n");
    write(root, "api/a/go.mod", "module a\n");
    write(root, "api/b/go.mod", "module b\n");
    // Steps in flow style, the command behind an anchor: no `run:` starts a line.
    write(
        root,
        ".github/workflows/ci.yml",
        "x-cmd: &test cd web && npm test\njobs:\n  web: {runs-on: ubuntu-latest, steps: [{uses: actions/checkout@v4}, {run: *test}]}\n",
    );
    let profile = default_oracle().inspect(root).await.unwrap();
    let web = project(&profile, "web", "npm");
    assert!(web.primary, "{:#?}", profile.projects);
    let ci = web.test.as_ref().unwrap().evidence.iter().find(|e| e.field.as_deref() == Some("run")).unwrap();
    assert_eq!(ci.file, Path::new(".github/workflows/ci.yml"));
    assert_eq!(ci.note.as_deref(), Some("cd web && npm test"));
}

#[tokio::test]
async fn pnpm_workspace_in_multiline_flow_style_lists_members_and_a_malformed_one_is_a_note() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(root, "package.json", r#"{"name":"mono","packageManager":"pnpm@9.0.0"}"#);
    write(root, "pnpm-lock.yaml", "lockfileVersion: '6.0'\n\nimporters:\n  .: {}\n");
    write(root, "pnpm-workspace.yaml", "packages: [\n  'libs/*',   # libraries\n  \"apps/*\",\n  ]\n");
    for m in ["libs/a", "apps/b"] {
        write(root, &format!("{m}/package.json"), &format!(r#"{{"name":"{m}"}}"#));
    }
    let profile = default_oracle().inspect(root).await.unwrap();
    let p = project(&profile, "", "pnpm");
    assert_eq!(paths(&p.members), ["apps/b", "libs/a"]);
    let lock = p.evidence.iter().find(|e| e.file == Path::new("pnpm-lock.yaml")).unwrap();
    assert!(lock.note.as_deref().unwrap().contains("pnpm 8"));

    write(root, "pnpm-workspace.yaml", "packages: [\n  'libs/*'\n - apps/*\n");
    let profile = default_oracle().inspect(root).await.unwrap();
    let p = profile.projects.iter().find(|p| p.path == Path::new("") && p.build_system == "pnpm").unwrap();
    assert!(p.members.is_empty());
    let note = p.evidence.iter().find(|e| e.file == Path::new("pnpm-workspace.yaml")).unwrap().note.clone();
    assert!(note.unwrap().contains("not valid YAML"));
}

/// The note of the evidence that made `p` primary.
fn primary_note(p: &Project) -> &str {
    p.evidence.iter().rev().find_map(|e| e.note.as_deref().filter(|n| n.starts_with("primary:"))).unwrap()
}

#[tokio::test]
async fn a_javascript_repository_with_a_stray_requirements_txt_is_a_node_project() {
    let (_tmp, profile) = inspect("node-stray-requirements").await;
    let p = profile.primary().unwrap();
    assert_eq!(p.build_system, "npm", "{:#?}", profile.projects);
    assert_eq!(p.kinds, ["node"]);
    assert_eq!(shape(&p.setup).0, "npm ci");
    assert_eq!(shape(&p.test).0, "npm test");
    assert!(primary_note(p).contains("root"), "{}", primary_note(p));
    // The requirements are still reported, as a low-confidence project with no tests.
    let py = project(&profile, "", "setuptools");
    assert!(!py.primary);
    assert!(py.confidence < 0.5);
    assert!(py.test.is_none(), "a JavaScript test/ directory is not a unittest suite: {:?}", py.test);
}

#[tokio::test]
async fn a_make_test_target_that_ci_runs_is_the_test_entry_over_the_ecosystem_default() {
    let (_tmp, profile) = inspect("go-make-ci").await;
    let p = profile.primary().unwrap();
    assert_eq!((p.build_system.as_str(), p.kinds.as_slice()), ("go", &["go".to_owned()][..]));
    assert_eq!(shape(&p.test), ("make test".into(), PathBuf::new()));
    assert_eq!(shape(&p.setup).0, "go mod download");
    let test = p.test.as_ref().unwrap();
    assert!(evidence_files(&p.test).contains(&PathBuf::from(".github/workflows/ci.yml")));
    assert!(test.evidence.iter().any(|e| e.file == Path::new("Makefile") && e.field.as_deref() == Some("test")));
    let alt = test.evidence.iter().find_map(|e| e.note.as_deref().filter(|n| n.starts_with("alternative:"))).unwrap();
    assert!(alt.contains("`go test ./...`"), "{alt}");
    assert!(primary_note(p).contains("run by CI"), "{}", primary_note(p));

    // Without CI running it, the Makefile stays an alternative project and Go keeps its default.
    let (_tmp, root) = fixture("go-make-ci");
    std::fs::remove_dir_all(root.join(".github")).unwrap();
    let profile = default_oracle().inspect(&root).await.unwrap();
    let p = profile.primary().unwrap();
    assert_eq!(p.build_system, "go");
    assert_eq!(shape(&p.test).0, "go test ./...");
    assert_eq!(shape(&project(&profile, "", "make").test).0, "make test");
}

#[tokio::test]
async fn tox_is_the_test_entry_when_gitlab_ci_runs_it_and_pytest_otherwise() {
    let (_tmp, profile) = inspect("python-tox-ci").await;
    let p = project(&profile, "", "setuptools");
    assert!(p.primary);
    assert_eq!(shape(&p.test).0, "tox");
    assert_eq!(shape(&p.setup).0, "python -m pip install tox");
    let test = p.test.as_ref().unwrap();
    assert!(test.confidence >= 0.9);
    assert!(evidence_files(&p.test).contains(&PathBuf::from(".gitlab-ci.yml")));
    assert!(
        test.evidence.iter().any(|e| e.note.as_deref().is_some_and(|n| n.contains("alternative: `python -m pytest`")))
    );

    let (_tmp, root) = fixture("python-tox-ci");
    std::fs::remove_file(root.join(".gitlab-ci.yml")).unwrap();
    let profile = default_oracle().inspect(&root).await.unwrap();
    let p = project(&profile, "", "setuptools");
    assert_eq!(shape(&p.test).0, "python -m pytest");
    assert_eq!(shape(&p.setup).0, "python -m pip install -e .[test]");
}

#[tokio::test]
async fn nox_is_the_test_entry_when_a_workflow_runs_it() {
    let (_tmp, root) = fixture("python-poetry");
    std::fs::create_dir_all(root.join(".github/workflows")).unwrap();
    write(
        &root,
        ".github/workflows/ci.yml",
        "on: push\njobs:\n  t:\n    steps:\n      - run: pipx install nox\n      - run: nox -s tests\n",
    );
    let profile = default_oracle().inspect(&root).await.unwrap();
    let p = project(&profile, "", "poetry");
    assert_eq!(shape(&p.test).0, "nox");
    assert!(evidence_files(&p.test).contains(&PathBuf::from(".github/workflows/ci.yml")));
}

#[tokio::test]
async fn a_maturin_pyo3_project_is_tested_with_pytest_after_an_editable_install() {
    let (_tmp, profile) = inspect("python-maturin").await;
    let p = profile.primary().unwrap();
    assert_eq!(p.build_system, "setuptools", "{:#?}", profile.projects);
    assert_eq!(p.kinds, ["python"]);
    assert_eq!(shape(&p.setup).0, "python -m pip install -e .[test]");
    assert_eq!(shape(&p.test).0, "python -m pytest");
    assert_eq!(shape(&p.build).0, "maturin build");
    assert!(primary_note(p).contains("maturin"), "{}", primary_note(p));
    let rs = project(&profile, "", "cargo");
    assert!(!rs.primary);
    assert_eq!(profile.projects.iter().filter(|p| p.primary).count(), 1);
}

#[tokio::test]
async fn nested_go_modules_without_go_work_are_members_tested_in_their_own_directories() {
    let (_tmp, profile) = inspect("go-nested").await;
    let root = project(&profile, "", "go");
    assert!(root.primary);
    assert_eq!(paths(&root.members), ["api", "tools"]);
    assert_eq!(shape(&root.test), ("go test ./...".into(), PathBuf::new()));
    for m in ["api", "tools"] {
        let p = project(&profile, m, "go");
        assert_eq!(shape(&p.test), ("go test ./...".into(), PathBuf::from(m)));
        assert!(!p.primary);
    }
    // A module under testdata is a fixture; one under `_examples` is a module of its own, not a member.
    assert!(profile.projects.iter().all(|p| !p.path.starts_with("internal")));
    assert!(!project(&profile, "_examples/demo", "go").primary);
    assert_eq!(profile.projects.len(), 4, "{:#?}", profile.projects);
}

#[tokio::test]
async fn pytest_in_a_dependency_group_is_installed_by_the_setup_command() {
    let cases = [
        ("python-uv-groups", "uv", "uv sync --group test", "uv run pytest", "dependency-groups.test"),
        (
            "python-poetry-group",
            "poetry",
            "poetry install --with test",
            "poetry run pytest",
            "tool.poetry.group.test.dependencies",
        ),
        ("python-pdm-dev", "pdm", "pdm install", "pdm run pytest", "tool.pdm.dev-dependencies.test"),
        (
            "python-hatch-env",
            "hatch",
            "hatch env create test",
            "hatch run test:pytest",
            "tool.hatch.envs.test.dependencies",
        ),
    ];
    for (name, system, setup, test, field) in cases {
        let (_tmp, profile) = inspect(name).await;
        let p = project(&profile, "", system);
        assert!(p.primary, "{name}");
        assert_eq!(shape(&p.setup).0, setup, "{name}");
        assert_eq!(shape(&p.test).0, test, "{name}");
        let setup = p.setup.as_ref().unwrap();
        assert!(setup.evidence.iter().any(|e| e.field.as_deref() == Some(field)), "{name}: {:#?}", setup.evidence);
    }
}

#[tokio::test]
async fn pytest_in_a_requirements_test_file_is_installed_with_the_base_requirements() {
    let (_tmp, profile) = inspect("python-requirements-dev").await;
    let p = project(&profile, "", "setuptools");
    assert!(p.primary);
    assert_eq!(shape(&p.setup).0, "python -m pip install -r requirements.txt -r requirements/test.txt");
    assert_eq!(shape(&p.test).0, "python -m pytest");
    assert!(evidence_files(&p.test).contains(&PathBuf::from("requirements/test.txt")));
}

#[tokio::test]
async fn a_ci_run_make_target_whose_recipe_runs_go_test_is_the_test_entry() {
    // The workflow closes a flow list at its key's indentation (as GitHub accepts), runs
    // `make cover` at the root and `make test` only in doctests/, which does not make it the root's.
    let (_tmp, profile) = inspect("go-make-cover").await;
    let p = profile.primary().unwrap();
    assert_eq!(p.build_system, "go", "{:#?}", profile.projects);
    assert_eq!(shape(&p.test), ("make cover".into(), PathBuf::new()));
    assert!(evidence_files(&p.test).contains(&PathBuf::from(".github/workflows/go.yml")));
    let make = project(&profile, "", "make");
    assert_eq!(shape(&make.test).0, "make cover");
    assert!(make.test.as_ref().unwrap().evidence[0].note.as_deref().unwrap().contains("recipe runs the tests"));
}

#[tokio::test]
async fn hatchling_as_a_build_backend_alone_is_not_the_hatch_environment_manager() {
    let (_tmp, profile) = inspect("python-hatchling-backend").await;
    let p = profile.primary().unwrap();
    assert_eq!(p.build_system, "setuptools", "{:#?}", profile.projects);
    assert_eq!(shape(&p.setup).0, "python -m pip install -e .[tests]");
    assert_eq!(shape(&p.test).0, "python -m pytest");
}

#[tokio::test]
async fn a_python_repository_with_a_tooling_package_json_is_a_python_project() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(root, "pyproject.toml", "[project]\nname = \"py\"\n\n[tool.pytest.ini_options]\ntestpaths = [\"tests\"]\n");
    write(root, "package.json", r#"{"name":"tooling","private":true,"devDependencies":{"prettier":"^3"}}"#);
    write(root, "package-lock.json", r#"{"lockfileVersion":3}"#);
    let profile = default_oracle().inspect(root).await.unwrap();
    let p = profile.primary().unwrap();
    assert_eq!(p.kinds, ["python"], "{:#?}", profile.projects);
    assert_eq!(shape(&p.test).0, "python -m pytest");
}

#[tokio::test]
async fn a_script_that_ci_runs_instead_of_test_is_the_test_entry_when_it_runs_a_test_runner() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(
        root,
        "package.json",
        r#"{"name":"lib","scripts":{"test":"npm run lint && jest","test-ci":"jest --ci --coverage","lint":"eslint ."}}"#,
    );
    write(root, "package-lock.json", r#"{"lockfileVersion":3}"#);
    std::fs::create_dir_all(root.join(".github/workflows")).unwrap();
    write(
        root,
        ".github/workflows/ci.yml",
        "jobs:\n  t:\n    steps:\n      - run: npm ci\n      - run: npm run lint\n      - run: npm run test-ci\n",
    );
    let profile = default_oracle().inspect(root).await.unwrap();
    let p = profile.primary().unwrap();
    assert_eq!(shape(&p.test).0, "npm run test-ci");
    assert!(evidence_files(&p.test).contains(&PathBuf::from(".github/workflows/ci.yml")));

    // CI running only a script that runs no test runner leaves `npm test`.
    write(
        root,
        ".github/workflows/ci.yml",
        "jobs:\n  t:\n    steps:\n      - run: npm ci\n      - run: npm run lint\n",
    );
    let profile = default_oracle().inspect(root).await.unwrap();
    assert_eq!(shape(&profile.primary().unwrap().test).0, "npm test");
}

#[tokio::test]
async fn a_yarn_script_that_ci_runs_without_run_is_the_test_entry_when_it_runs_a_test_runner() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(
        root,
        "package.json",
        r#"{"name":"lib","scripts":{"test":"yarn lint && jest","test:ci":"jest --ci","lint":"eslint ."}}"#,
    );
    write(root, "yarn.lock", "# yarn lockfile v1\n");
    std::fs::create_dir_all(root.join(".github/workflows")).unwrap();
    write(
        root,
        ".github/workflows/ci.yml",
        "jobs:\n  t:\n    steps:\n      - run: yarn install --frozen-lockfile\n      - run: yarn test:ci\n",
    );
    let profile = default_oracle().inspect(root).await.unwrap();
    assert_eq!(shape(&profile.primary().unwrap().test).0, "yarn run test:ci");

    // `yarn install` is a yarn command, not a script: it runs no tests.
    write(
        root,
        ".github/workflows/ci.yml",
        "jobs:\n  t:\n    steps:\n      - run: yarn install --frozen-lockfile\n      - run: yarn lint\n",
    );
    let profile = default_oracle().inspect(root).await.unwrap();
    assert_eq!(shape(&profile.primary().unwrap().test).0, "yarn test");
}

#[tokio::test]
async fn a_uv_project_whose_ci_runs_tox_installs_tox_from_its_group_or_as_a_tool() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(root, "pyproject.toml", "[project]\nname = \"u\"\n\n[dependency-groups]\ntox = [\"tox>=4\", \"tox-uv\"]\n");
    write(root, "uv.lock", "version = 1\n");
    write(root, "tox.ini", "[tox]\nenv_list = py\n");
    std::fs::create_dir_all(root.join(".github/workflows")).unwrap();
    write(
        root,
        ".github/workflows/ci.yml",
        "jobs:\n  t:\n    steps:\n      - run: >\n          uv run --only-group tox\n          tox run\n",
    );
    let profile = default_oracle().inspect(root).await.unwrap();
    let p = profile.primary().unwrap();
    assert_eq!(shape(&p.test).0, "tox");
    assert_eq!(shape(&p.setup).0, "uv sync --group tox");

    write(root, "pyproject.toml", "[project]\nname = \"u\"\n");
    write(root, "tox.toml", "env_list = [\"py\"]\n");
    std::fs::remove_file(root.join("tox.ini")).unwrap();
    let profile = default_oracle().inspect(root).await.unwrap();
    let p = profile.primary().unwrap();
    assert_eq!(shape(&p.test).0, "tox");
    assert_eq!(shape(&p.setup).0, "uv tool install tox");
}

/// The note of the evidence that names the command a chosen one replaced.
fn alternative(c: &Option<DetectedCommand>) -> String {
    let c = c.as_ref().unwrap();
    c.evidence
        .iter()
        .find_map(|e| e.note.clone().filter(|n| n.starts_with("alternative:")))
        .unwrap_or_else(|| panic!("no alternative noted for {}: {:#?}", c.display(), c.evidence))
}

#[tokio::test]
async fn a_bare_make_whose_default_goal_installs_before_a_ci_run_make_target_is_the_setup() {
    // psf/requests' shape: CI runs `make` (the first target, `init`, installs
    // requirements-dev.txt) and then `make ci`; another job's `make -C docs deps`
    // runs elsewhere and its `make coverage` has no install step before it.
    let (_tmp, profile) = inspect("python-make-init").await;
    let p = profile.primary().unwrap();
    assert_eq!(p.kinds, ["python"], "{:#?}", profile.projects);
    assert_eq!(shape(&p.test), ("make ci".into(), PathBuf::new()));
    assert_eq!(shape(&p.setup), ("make init".into(), PathBuf::new()));
    let setup = p.setup.as_ref().unwrap();
    assert!(setup.confidence >= 0.9);
    assert!(setup.evidence.iter().any(|e| e.file == Path::new("Makefile") && e.field.as_deref() == Some("init")));
    let ci_line = setup.evidence.iter().find(|e| e.file == Path::new(".github/workflows/run-tests.yml")).unwrap();
    assert_eq!((ci_line.field.as_deref(), ci_line.note.as_deref()), (Some("run"), Some("make")));
    assert!(alternative(&p.setup).contains("`python -m pip install"), "{}", alternative(&p.setup));

    // A default goal that does not install (here it runs the tests) is no setup:
    // the Python project keeps its own.
    let (_tmp, root) = fixture("python-make-init");
    let mk = std::fs::read_to_string(root.join("Makefile")).unwrap();
    write(&root, "Makefile", &format!(".DEFAULT_GOAL := test\n{mk}"));
    let profile = default_oracle().inspect(&root).await.unwrap();
    let p = profile.primary().unwrap();
    assert_eq!(shape(&p.test).0, "make ci");
    assert!(shape(&p.setup).0.starts_with("python -m pip install"), "{:?}", shape(&p.setup));
}

#[tokio::test]
async fn install_targets_ci_runs_before_the_test_target_in_the_same_job_are_the_setup() {
    let (_tmp, root) = fixture("go-make-deps");
    let profile = default_oracle().inspect(&root).await.unwrap();
    let p = profile.primary().unwrap();
    assert_eq!(p.build_system, "go", "{:#?}", profile.projects);
    assert_eq!(shape(&p.test).0, "make test");
    // `make install-linter` runs in the lint job, not before the tests.
    assert_eq!(shape(&p.setup), ("make deps".into(), PathBuf::new()));
    assert!(evidence_files(&p.setup).contains(&PathBuf::from(".github/workflows/ci.yml")));
    assert!(alternative(&p.setup).contains("`go mod download`"), "{}", alternative(&p.setup));

    // On one line, the targets before the test target count, in order; `lint` is not an install.
    let ci = ".github/workflows/ci.yml";
    write(&root, ci, "jobs:\n  t:\n    steps:\n      - run: make install-linter lint deps test\n");
    let profile = default_oracle().inspect(&root).await.unwrap();
    assert_eq!(shape(&profile.primary().unwrap().setup).0, "make install-linter deps");

    // A GitLab job's before_script counts as the steps before its script.
    std::fs::remove_dir_all(root.join(".github")).unwrap();
    write(
        &root,
        ".gitlab-ci.yml",
        "lint:\n  script: [make install-linter]\ntest:\n  before_script: [make deps]\n  script:\n    - make test\n",
    );
    let profile = default_oracle().inspect(&root).await.unwrap();
    assert_eq!(shape(&profile.primary().unwrap().setup).0, "make deps");

    // Without an install step before the tests, the Go setup stays and the
    // Makefile project falls back to its `setup` target.
    write(&root, ".gitlab-ci.yml", "test:\n  script:\n    - make test\n    - make deps\n");
    let profile = default_oracle().inspect(&root).await.unwrap();
    let p = profile.primary().unwrap();
    assert_eq!(shape(&p.test).0, "make test");
    assert_eq!(shape(&p.setup).0, "go mod download");
    assert_eq!(shape(&project(&profile, "", "make").setup).0, "make setup");
}

#[tokio::test]
async fn a_make_target_run_through_a_local_composite_action_input_is_the_test_entry() {
    // redis/go-redis's shape: the test job `uses: ./.github/actions/run-tests`,
    // whose step runs `make -- "${MAKE_TARGET:?…}"` with MAKE_TARGET from the
    // `make-target` input (default `test.ci`); a benchmark job runs `make bench`
    // first, `make test` runs only in doctests/, and the `go test` lines of
    // another workflow run a package or a label subset only.
    let (_tmp, root) = fixture("go-composite-action");
    let profile = default_oracle().inspect(&root).await.unwrap();
    let p = profile.primary().unwrap();
    assert_eq!(p.build_system, "go", "{:#?}", profile.projects);
    assert_eq!(shape(&p.test), ("make test.ci".into(), PathBuf::new()));
    assert_eq!(shape(&p.setup).0, "go mod download");
    let test = p.test.as_ref().unwrap();
    let via = test
        .evidence
        .iter()
        .find_map(|e| e.note.as_deref().filter(|n| n.contains(".github/actions/run-tests")))
        .unwrap_or_else(|| panic!("no evidence names the action: {:#?}", test.evidence));
    assert!(via.starts_with("make -- test.ci"), "{via}");
    assert!(primary_note(p).contains("run by CI"), "{}", primary_note(p));
    assert!(alternative(&p.test).contains("`go test ./...`"), "{}", alternative(&p.test));

    // A workflow that runs the whole suite with `go test ./...` keeps Go's default.
    let e2e = ".github/workflows/test-e2e.yml";
    let text = std::fs::read_to_string(root.join(e2e)).unwrap();
    write(&root, e2e, &text.replace("go test -v ./e2e/ -timeout 30m -race", "go test -race ./..."));
    let profile = default_oracle().inspect(&root).await.unwrap();
    assert_eq!(shape(&profile.primary().unwrap().test).0, "go test ./...");
    write(&root, e2e, &text);

    // The caller's input overrides the default.
    let wf = std::fs::read_to_string(root.join(".github/workflows/build.yml")).unwrap();
    let wf = wf.replace("          server-version: \"8.2\"\n", "          make-target: test.subjects\n");
    write(&root, ".github/workflows/build.yml", &wf);
    let profile = default_oracle().inspect(&root).await.unwrap();
    assert_eq!(shape(&profile.primary().unwrap().test).0, "make test.subjects");

    // Without the action, CI runs no test target at the root (`make bench` only
    // benchmarks): Go's default stays, and the root module stays primary over
    // the doctests/ Makefile that CI runs.
    std::fs::remove_dir_all(root.join(".github/actions")).unwrap();
    let profile = default_oracle().inspect(&root).await.unwrap();
    let p = profile.primary().unwrap();
    assert_eq!((p.path.as_path(), p.build_system.as_str()), (Path::new(""), "go"), "{:#?}", profile.projects);
    assert_eq!(shape(&p.test).0, "go test ./...");
    assert_eq!(shape(&project(&profile, "doctests", "make").test), ("make test".into(), PathBuf::from("doctests")));
}

#[tokio::test]
async fn pytest_in_an_underscored_dev_requirements_file_is_installed_by_the_setup_command() {
    // redis/redis-py's shape: `dev_requirements.txt` beside a pyproject.toml.
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(root, "pyproject.toml", "[project]\nname = \"r\"\nversion = \"1\"\n");
    write(root, "dev_requirements.txt", "invoke==2.2.0\n\npytest\npytest-asyncio>=0.24.0\n");
    write(root, "tests/test_r.py", "def test_r():\n    pass\n");
    let profile = default_oracle().inspect(root).await.unwrap();
    let p = profile.primary().unwrap();
    assert_eq!(shape(&p.test).0, "python -m pytest");
    assert_eq!(shape(&p.setup).0, "python -m pip install -r dev_requirements.txt -e .");
    assert!(evidence_files(&p.setup).contains(&PathBuf::from("dev_requirements.txt")));
}
