//! `.github/workflows/*.yml` `run:` steps and `.gitlab-ci.yml` `script:`
//! lines as evidence for test commands: the one reader of CI configuration,
//! used by the ecosystem oracles and the [`CargoOracle`](crate::CargoOracle).

use super::formats;
use agent_core::workspace::{DetectedCommand, Evidence};
use std::path::{Path, PathBuf};

/// One command line a workflow runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Run {
    /// The workflow, relative to the root.
    pub(crate) file: PathBuf,
    /// The command line.
    pub(crate) line: String,
    /// The field it came from: `run` (GitHub Actions) or `script` (GitLab CI).
    pub(crate) field: &'static str,
    /// The directory it runs in, relative to the root (a step's or job's
    /// `working-directory`); empty for the root.
    pub(crate) dir: PathBuf,
}

impl Run {
    /// Evidence naming the workflow's `run` field, with the command line as its note.
    pub(crate) fn evidence(&self) -> Evidence {
        let mut ev = Evidence::field(self.file.clone(), self.field);
        ev.note = Some(self.line.clone());
        ev
    }
}

/// Every command line of the `run:` steps of the workflows in
/// `root/.github/workflows`, files in name order, jobs and steps in document
/// order, then those of `root/.gitlab-ci.yml` ([`gitlab_runs`]).
///
/// Each workflow is read as YAML (`jobs.<id>.steps[].run`): block (`|`) and
/// folded (`>`) scalars, flow style, anchors, aliases and `<<` merge keys read
/// as GitHub reads them. A script gives one line per command (blank lines and
/// `#` comments dropped, `\` continuations joined). A workflow that is not
/// valid YAML gives nothing.
pub(crate) fn runs(root: &Path) -> Vec<Run> {
    let dir = root.join(".github").join("workflows");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml" || e == "yaml"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for file in files {
        let Ok(text) = std::fs::read_to_string(&file) else { continue };
        let rel = file.strip_prefix(root).unwrap_or(&file).to_path_buf();
        match workflow_runs_in(&text) {
            Ok(lines) => {
                out.extend(lines.into_iter().map(|(dir, line)| Run { file: rel.clone(), line, field: "run", dir }));
            }
            Err(error) => tracing::debug!(file = %rel.display(), %error, "skipping a workflow that is not valid YAML"),
        }
    }
    out.extend(gitlab_runs(root));
    out
}

/// Whether `ev` names a CI command line (a workflow's `run` or a GitLab job's `script`).
pub(crate) fn is_ci(ev: &Evidence) -> bool {
    matches!(ev.field.as_deref(), Some("run" | "script"))
        && ev.note.is_some()
        && (ev.file.starts_with(".github") || ev.file == Path::new(GITLAB))
}

/// GitLab's pipeline file at the root.
const GITLAB: &str = ".gitlab-ci.yml";

/// The command lines of the `before_script` and `script` lists of every job
/// of `root/.gitlab-ci.yml` (top-level mappings, hidden `.template` jobs and
/// `default` included, since `extends` reaches them), as YAML.
fn gitlab_runs(root: &Path) -> Vec<Run> {
    let Ok(text) = std::fs::read_to_string(root.join(GITLAB)) else { return Vec::new() };
    match gitlab_lines(&text) {
        Ok(lines) => lines
            .into_iter()
            .map(|line| Run { file: PathBuf::from(GITLAB), line, field: "script", dir: PathBuf::new() })
            .collect(),
        Err(error) => {
            tracing::debug!(%error, "skipping a .gitlab-ci.yml that is not valid YAML");
            Vec::new()
        }
    }
}

/// The script lines of one GitLab pipeline file.
fn gitlab_lines(text: &str) -> Result<Vec<String>, String> {
    let doc = formats::yaml_lenient(text)?;
    let mut out = Vec::new();
    // Global keywords are not jobs (`variables` may well hold a `script` key).
    const GLOBAL: &[&str] =
        &["stages", "variables", "include", "workflow", "image", "services", "cache", "before_script", "after_script"];
    for (name, job) in formats::entries(&doc) {
        if GLOBAL.contains(&name.as_str()) {
            continue;
        }
        for key in ["before_script", "script"] {
            let Some(script) = formats::get(job, key) else { continue };
            let mut pieces: Vec<String> = formats::text(script).map(|t| vec![t.into_owned()]).unwrap_or_default();
            for item in formats::items(script) {
                // GitLab flattens one level of nested lists (from `!reference` tags and anchors).
                pieces.extend(formats::text(item).map(|t| t.into_owned()));
                pieces.extend(formats::items(item).iter().filter_map(formats::text).map(|t| t.into_owned()));
            }
            for piece in pieces {
                out.extend(command_lines(&piece));
            }
        }
    }
    Ok(out)
}

/// The command lines of one workflow's `run:` steps.
#[cfg(test)]
fn workflow_runs(text: &str) -> Result<Vec<String>, String> {
    Ok(workflow_runs_in(text)?.into_iter().map(|(_, line)| line).collect())
}

/// The `defaults.run.working-directory` of a workflow or job.
fn default_dir(node: &saphyr::Yaml<'_>) -> Option<String> {
    let run = formats::get(formats::get(node, "defaults")?, "run")?;
    formats::get(run, "working-directory").and_then(formats::text).map(|t| t.into_owned())
}

/// The command lines of one workflow's `run:` steps with the directory each
/// runs in: the step's `working-directory`, else its job's default, else the
/// workflow's; a directory given by an expression (`${{ … }}`) is not known
/// and reads as the root.
fn workflow_runs_in(text: &str) -> Result<Vec<(PathBuf, String)>, String> {
    let doc = formats::yaml_lenient(text)?;
    let mut out = Vec::new();
    let Some(jobs) = formats::get(&doc, "jobs") else { return Ok(out) };
    let top = default_dir(&doc);
    for job in formats::values(jobs) {
        let Some(steps) = formats::get(job, "steps") else { continue };
        let job_dir = default_dir(job).or_else(|| top.clone());
        for step in formats::items(steps) {
            if let Some(script) = formats::get(step, "run").and_then(formats::text) {
                let dir = formats::get(step, "working-directory")
                    .and_then(formats::text)
                    .map(|t| t.into_owned())
                    .or_else(|| job_dir.clone())
                    .filter(|d| !d.contains("${{"))
                    .map(|d| super::normalize(&d))
                    .unwrap_or_default();
                out.extend(command_lines(&script).into_iter().map(|l| (dir.clone(), l)));
            }
        }
    }
    Ok(out)
}

/// The commands of a shell script: one per line, `\` continuations joined,
/// blank lines and comment lines dropped.
fn command_lines(script: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut pending = String::new();
    for line in script.lines().map(str::trim) {
        if pending.is_empty() && (line.is_empty() || line.starts_with('#')) {
            continue;
        }
        if let Some(head) = line.strip_suffix('\\') {
            pending.push_str(head.trim_end());
            pending.push(' ');
            continue;
        }
        pending.push_str(line);
        let command = std::mem::take(&mut pending);
        if !command.trim().is_empty() {
            out.push(command.trim().to_owned());
        }
    }
    if !pending.trim().is_empty() {
        out.push(pending.trim().to_owned());
    }
    out
}

/// The words a CI line must contain to run `test`: its whole command line, or
/// the test tool it wraps (`uv run pytest` → `pytest`).
fn keys(test: &DetectedCommand) -> Vec<String> {
    let mut keys = vec![test.display()];
    for tool in ["pytest", "tox", "nox", "jest", "vitest", "mocha", "ctest", "rspec", "phpunit"] {
        if test.program == tool || test.args.iter().any(|a| a == tool) {
            keys.push(tool.to_owned());
        }
    }
    if let Some(first) = test.args.first() {
        let program = test.program.trim_start_matches("./");
        // `uv run`, `python -m`, `npx --no-install` say nothing alone: keep the tool they launch.
        let launcher = matches!(first.as_str(), "run" | "-m" | "exec" | "--no-install");
        match test.args.get(1) {
            Some(second) if launcher => keys.push(format!("{program} {first} {second}")),
            _ if launcher => {}
            _ => keys.push(format!("{program} {first}")),
        }
    }
    keys
}

/// Adds the CI lines that run `test` as evidence and raises its confidence.
pub(crate) fn confirm(test: &mut DetectedCommand, runs: &[Run]) {
    let keys = keys(test);
    let mut confirmed = false;
    for run in runs {
        // A step run in another directory (`working-directory: docs`) tests what is there.
        if !run.dir.as_os_str().is_empty() && run.dir != test.cwd {
            continue;
        }
        if keys.iter().any(|k| run.line.contains(k.as_str())) {
            if test.evidence.iter().any(|e| e.file == run.file) {
                continue;
            }
            test.evidence.push(run.evidence());
            confirmed = true;
        }
    }
    if confirmed {
        test.confidence = (test.confidence + 0.1).min(1.0);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::{command_lines, gitlab_lines, workflow_runs, workflow_runs_in};
    use std::path::PathBuf;

    #[test]
    fn steps_carry_their_working_directory_from_the_step_the_job_or_the_workflow() {
        let text = "defaults: {run: {working-directory: ./web}}\njobs:\n  a:\n    steps:\n      - run: npm test\n      - run: make test\n        working-directory: doctests\n  b:\n    defaults:\n      run:\n        working-directory: ${{ matrix.dir }}\n    steps: [{run: go test ./...}]\n";
        let got = workflow_runs_in(text).unwrap();
        assert_eq!(
            got,
            [
                (PathBuf::from("web"), "npm test".to_owned()),
                (PathBuf::from("doctests"), "make test".to_owned()),
                (PathBuf::new(), "go test ./...".to_owned()),
            ]
        );
    }

    #[test]
    fn gitlab_jobs_give_their_before_script_and_script_lines() {
        let text = "stages: [test]\nvariables:\n  script: not-a-job\n.base: &base\n  before_script:\n    - pip install tox\ntest:\n  <<: *base\n  script:\n    - tox -e py\n    - - make lint\nlint:\n  script: make check\n";
        assert_eq!(
            gitlab_lines(text).unwrap(),
            ["pip install tox", "pip install tox", "tox -e py", "make lint", "make check"]
        );
    }

    #[test]
    fn flow_style_steps_and_aliased_commands_are_read() {
        let text = "on: push\njobs:\n  a: {runs-on: ubuntu-latest, steps: [{uses: actions/checkout@v4}, {run: npm ci}]}\n  b:\n    steps:\n      - run: &t npm test\n      - run: *t\n";
        assert_eq!(workflow_runs(text).unwrap(), ["npm ci", "npm test", "npm test"]);
    }

    #[test]
    fn keys_after_a_block_run_in_the_same_step_are_not_commands() {
        // A line reader takes `name:` and `env:` below `- run: |` (deeper than the dash) for script lines.
        let text = "jobs:\n  t:\n    steps:\n    - run: |\n        make build\n\n        make test\n      name: cargo test\n      env:\n        CI: \"run: pytest\"\n";
        assert_eq!(workflow_runs(text).unwrap(), ["make build", "make test"]);
    }

    #[test]
    fn run_text_outside_steps_is_not_a_command() {
        let text = "env:\n  HELP: |\n    run: cargo test --not-a-step\njobs:\n  t:\n    steps:\n      - name: x\n        with:\n          script: \"run: pytest\"\n      - run: >-\n          cargo test\n          --workspace\n";
        assert_eq!(workflow_runs(text).unwrap(), ["cargo test --workspace"]);
    }

    #[test]
    fn jobs_merged_from_an_anchor_contribute_their_steps() {
        let text = "x-job: &job\n  runs-on: ubuntu-latest\n  steps: [{run: go test ./...}]\njobs:\n  linux: *job\n  mac:\n    <<: *job\n    runs-on: macos-latest\n";
        assert_eq!(workflow_runs(text).unwrap(), ["go test ./...", "go test ./..."]);
    }

    #[test]
    fn scripts_split_into_commands_with_continuations_joined() {
        assert_eq!(
            command_lines("# setup\nnpm ci\n\npytest \\\n  -q \\\n  tests/\necho done"),
            ["npm ci", "pytest -q tests/", "echo done"]
        );
    }

    #[test]
    fn a_flow_list_closed_at_its_key_indentation_is_read_as_github_reads_it() {
        let text = "jobs:\n  t:\n    strategy:\n      matrix:\n        py: [\n          \"3.12\",\n        ]\n    steps:\n      - run: tox\n";
        assert_eq!(workflow_runs(text).unwrap(), ["tox"]);
    }

    #[test]
    fn a_malformed_workflow_is_an_error() {
        assert!(workflow_runs("jobs:\n  t:\n    steps: [\n").is_err());
        assert!(workflow_runs("").unwrap().is_empty());
    }
}
