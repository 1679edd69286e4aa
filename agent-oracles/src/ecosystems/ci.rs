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
    /// The job it belongs to (the workflow's `jobs` key, the GitLab job's
    /// name); lines of one job are in the order the job runs them.
    pub(crate) job: String,
    /// The local composite action (`uses: ./.github/actions/NAME`) or
    /// reusable workflow (a job's `uses: ./.github/workflows/x.yml`) whose
    /// step runs the line, relative to the root; `None` for the workflow's own steps.
    pub(crate) via: Option<PathBuf>,
}

impl Run {
    /// Evidence naming the workflow's `run` field, with the command line as its note.
    pub(crate) fn evidence(&self) -> Evidence {
        let mut ev = Evidence::field(self.file.clone(), self.field);
        ev.note = Some(match &self.via {
            Some(via) => format!("{} (a step of {})", self.line, via.display()),
            None => self.line.clone(),
        });
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
/// valid YAML gives nothing. A step that uses a local composite action
/// (`uses: ./.github/actions/NAME`) gives the lines of the action's steps in
/// its place, with the step's `with:` inputs (else the inputs' defaults)
/// substituted ([`composite_lines`]); a job that calls a local reusable
/// workflow (`uses: ./.github/workflows/x.yml`) gives that workflow's lines
/// with its `workflow_call` inputs ([`called_workflow_lines`]); a step's
/// `env:` variables are expanded in its script ([`expand_env`]).
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
        let load = |path: &Path| read_file(root, path);
        match workflow_runs_in(&text, &load) {
            Ok(lines) => {
                out.extend(lines.into_iter().map(|l| Run {
                    file: rel.clone(),
                    line: l.line,
                    field: "run",
                    dir: l.dir,
                    job: l.job,
                    via: l.via,
                }));
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
            .map(|(job, line)| Run {
                file: PathBuf::from(GITLAB),
                line,
                field: "script",
                dir: PathBuf::new(),
                job,
                via: None,
            })
            .collect(),
        Err(error) => {
            tracing::debug!(%error, "skipping a .gitlab-ci.yml that is not valid YAML");
            Vec::new()
        }
    }
}

/// The script lines of one GitLab pipeline file, each with its job's name.
fn gitlab_lines(text: &str) -> Result<Vec<(String, String)>, String> {
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
                out.extend(command_lines(&piece).into_iter().map(|l| (name.clone(), l)));
            }
        }
    }
    Ok(out)
}

/// The command lines of one workflow's `run:` steps (no local actions resolved).
#[cfg(test)]
fn workflow_runs(text: &str) -> Result<Vec<String>, String> {
    Ok(workflow_runs_in(text, &|_| None)?.into_iter().map(|l| l.line).collect())
}

/// The `defaults.run.working-directory` of a workflow or job.
fn default_dir(node: &saphyr::Yaml<'_>) -> Option<String> {
    let run = formats::get(formats::get(node, "defaults")?, "run")?;
    formats::get(run, "working-directory").and_then(formats::text).map(|t| t.into_owned())
}

/// One command line of a workflow, before it becomes a [`Run`].
#[derive(Debug, Clone, PartialEq, Eq)]
struct Line {
    dir: PathBuf,
    line: String,
    job: String,
    via: Option<PathBuf>,
}

/// Reads a file of the repository (a local action's `action.yml`, a called workflow).
fn read_file(root: &Path, rel: &Path) -> Option<String> {
    std::fs::read_to_string(root.join(rel)).ok()
}

/// A step's `working-directory` as a path relative to the root, once
/// `inputs` are substituted; an expression left in it is not known and
/// reads as `None`.
fn step_dir(step: &saphyr::Yaml<'_>, inputs: &[(String, String)]) -> Option<PathBuf> {
    let dir = formats::get(step, "working-directory").and_then(formats::text)?;
    let dir = substitute_inputs(&dir, inputs);
    (!dir.contains("${{")).then(|| super::normalize(&dir))
}

/// The command lines of one workflow's `run:` steps with the directory and
/// job each runs in: the step's `working-directory`, else its job's default,
/// else the workflow's; a directory given by an expression (`${{ … }}`) is
/// not known and reads as the root. A step that `uses` a local action
/// (`./path`) is replaced by the lines of that action's steps when `load`
/// (a reader of files relative to the root) finds its metadata and it is a
/// composite action; a job that `uses` a local reusable workflow
/// (`./.github/workflows/test.yml`) by the lines of that workflow's jobs, its
/// `workflow_call` inputs given by the job's `with:` or their defaults.
fn workflow_runs_in(text: &str, load: &dyn Fn(&Path) -> Option<String>) -> Result<Vec<Line>, String> {
    let doc = formats::yaml_lenient(text)?;
    Ok(jobs_lines(&doc, &[], load, 0))
}

/// The lines of the jobs of a workflow document, `${{ inputs.* }}` substituted
/// from `inputs` (a called workflow's); `depth` counts the calls followed.
fn jobs_lines(
    doc: &saphyr::Yaml<'_>,
    inputs: &[(String, String)],
    load: &dyn Fn(&Path) -> Option<String>,
    depth: usize,
) -> Vec<Line> {
    let mut out = Vec::new();
    let Some(jobs) = formats::get(doc, "jobs") else { return out };
    let top = default_dir(doc);
    for (job_id, job) in formats::entries(jobs) {
        if let Some(called) = formats::get(job, "uses").and_then(formats::text) {
            let with = with_inputs(job, inputs);
            for mut l in called_workflow_lines(&called, &with, load, depth) {
                l.job = format!("{job_id}/{}", l.job);
                out.push(l);
            }
            continue;
        }
        let Some(steps) = formats::get(job, "steps") else { continue };
        let job_dir = default_dir(job).or_else(|| top.clone());
        for step in formats::items(steps) {
            if let Some(script) = formats::get(step, "run").and_then(formats::text) {
                let dir = formats::get(step, "working-directory")
                    .and_then(formats::text)
                    .map(|t| substitute_inputs(&t, inputs))
                    .or_else(|| job_dir.clone())
                    .filter(|d| !d.contains("${{"))
                    .map(|d| super::normalize(&d))
                    .unwrap_or_default();
                let script = expand_env(&substitute_inputs(&script, inputs), &step_env(step, inputs));
                out.extend(command_lines(&script).into_iter().map(|line| Line {
                    dir: dir.clone(),
                    line,
                    job: job_id.clone(),
                    via: None,
                }));
            } else if let Some(uses) = formats::get(step, "uses").and_then(formats::text) {
                let with = with_inputs(step, inputs);
                for (dir, line, action) in composite_lines(&uses, &with, load, depth) {
                    out.push(Line { dir, line, job: job_id.clone(), via: Some(action) });
                }
            }
        }
    }
    out
}

/// The lines of a local reusable workflow (`uses: ./.github/workflows/x.yml`
/// on a job) called with `with`: each input of its `on.workflow_call.inputs`
/// is the caller's value, else its `default`, else empty. Lines carry the
/// called workflow as `via` unless a deeper action already names itself.
fn called_workflow_lines(
    uses: &str,
    with: &[(String, String)],
    load: &dyn Fn(&Path) -> Option<String>,
    depth: usize,
) -> Vec<Line> {
    let Some(path) = local_path(uses, depth) else { return Vec::new() };
    let Some(doc) = load(&path).and_then(|t| formats::yaml_lenient(&t).ok()) else { return Vec::new() };
    let declared = formats::get(&doc, "on")
        .and_then(|on| formats::get(on, "workflow_call"))
        .and_then(|c| formats::get(c, "inputs"));
    let inputs = resolve_inputs(declared, with);
    let mut lines = jobs_lines(&doc, &inputs, load, depth + 1);
    for l in &mut lines {
        l.via.get_or_insert_with(|| path.clone());
    }
    lines
}

/// A local `uses:` path (`./x/y`) relative to the root, when it is one and
/// the depth bound allows following it; `None` for another repository's
/// action or workflow, an expression, or a path leaving the root.
fn local_path(uses: &str, depth: usize) -> Option<PathBuf> {
    let local = uses.strip_prefix("./")?;
    if depth >= MAX_ACTION_DEPTH || local.contains("${{") || local.split('/').any(|p| p == "..") {
        return None;
    }
    Some(super::normalize(local))
}

/// The inputs of an action or called workflow: each declared input (names
/// lower-cased) is the caller's `with` value, else its `default`, else empty;
/// an input the caller gives without its being declared is kept too.
fn resolve_inputs(declared: Option<&saphyr::Yaml<'_>>, with: &[(String, String)]) -> Vec<(String, String)> {
    let mut inputs: Vec<(String, String)> = Vec::new();
    for (name, spec) in declared.map(formats::entries).unwrap_or_default() {
        let name = name.to_ascii_lowercase();
        let given = with.iter().find(|(k, _)| *k == name).map(|(_, v)| v.clone());
        let default = formats::get(spec, "default").and_then(formats::text).map(|t| t.into_owned());
        inputs.push((name, given.or(default).unwrap_or_default()));
    }
    for (k, v) in with {
        if !inputs.iter().any(|(n, _)| n == k) {
            inputs.push((k.clone(), v.clone()));
        }
    }
    inputs
}

/// Local composite actions calling local composite actions are followed this deep.
const MAX_ACTION_DEPTH: usize = 4;

/// The `with:` of a step as `(input, value)` pairs (names lower-cased, as
/// GitHub compares them), `${{ inputs.* }}` in the values substituted from
/// `outer` (the inputs of the action the step belongs to).
fn with_inputs(step: &saphyr::Yaml<'_>, outer: &[(String, String)]) -> Vec<(String, String)> {
    let Some(with) = formats::get(step, "with") else { return Vec::new() };
    formats::entries(with)
        .into_iter()
        .filter_map(|(k, v)| Some((k.to_ascii_lowercase(), substitute_inputs(&formats::text(v)?, outer))))
        .collect()
}

/// The `env:` of a step as `(name, value)` pairs, `${{ inputs.* }}` in the
/// values substituted from `inputs`; a value still holding an expression is
/// not known and left out.
fn step_env(step: &saphyr::Yaml<'_>, inputs: &[(String, String)]) -> Vec<(String, String)> {
    let Some(env) = formats::get(step, "env") else { return Vec::new() };
    formats::entries(env)
        .into_iter()
        .filter_map(|(k, v)| {
            let value = substitute_inputs(&formats::text(v)?, inputs);
            (!value.contains("${{")).then_some((k, value))
        })
        .collect()
}

/// The command lines of the steps of the local action `uses`
/// (`./.github/actions/test`, relative to the repository root, as GitHub
/// reads it) when it is a composite action (`runs.using: composite`), with
/// the directory each runs in and the action's path. Each input is the
/// caller's `with` value, else the input's `default`, else empty; it is
/// substituted for `${{ inputs.NAME }}` in the steps' scripts, `env` and
/// `working-directory`, and the steps' `env` is expanded in their scripts
/// (`make "${TARGET}"` with `TARGET: ${{ inputs.target }}`). An action of
/// another repository (`owner/repo@v1`), a Docker or JavaScript action and an
/// unreadable or malformed one give nothing.
fn composite_lines(
    uses: &str,
    with: &[(String, String)],
    load: &dyn Fn(&Path) -> Option<String>,
    depth: usize,
) -> Vec<(PathBuf, String, PathBuf)> {
    let mut out = Vec::new();
    let Some(path) = local_path(uses, depth) else { return out };
    let Some(text) = load(&path.join("action.yml")).or_else(|| load(&path.join("action.yaml"))) else { return out };
    let Ok(doc) = formats::yaml_lenient(&text) else {
        tracing::debug!(action = %path.display(), "skipping a local action that is not valid YAML");
        return out;
    };
    let Some(runs) = formats::get(&doc, "runs") else { return out };
    if !formats::get(runs, "using").and_then(formats::text).is_some_and(|u| u.eq_ignore_ascii_case("composite")) {
        return out;
    }
    let inputs = resolve_inputs(formats::get(&doc, "inputs"), with);
    let Some(steps) = formats::get(runs, "steps") else { return out };
    for step in formats::items(steps) {
        if let Some(script) = formats::get(step, "run").and_then(formats::text) {
            let dir = step_dir(step, &inputs).unwrap_or_default();
            let script = expand_env(&substitute_inputs(&script, &inputs), &step_env(step, &inputs));
            out.extend(command_lines(&script).into_iter().map(|l| (dir.clone(), l, path.clone())));
        } else if let Some(inner) = formats::get(step, "uses").and_then(formats::text) {
            let inner_with = with_inputs(step, &inputs);
            out.extend(composite_lines(&inner, &inner_with, load, depth + 1));
        }
    }
    out
}

/// `text` with every `${{ inputs.NAME }}` (and `${{ inputs['NAME'] }}`)
/// whose input is known replaced by its value; other expressions are kept.
fn substitute_inputs(text: &str, inputs: &[(String, String)]) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("${{") {
        out.push_str(&rest[..at]);
        let after = &rest[at + 3..];
        let Some(end) = after.find("}}") else {
            out.push_str(&rest[at..]);
            return out;
        };
        let inner = after[..end].trim();
        let name = inner
            .strip_prefix("inputs.")
            .or_else(|| {
                inner.strip_prefix("inputs[").and_then(|n| n.strip_suffix(']')).map(|n| n.trim_matches(['\'', '"']))
            })
            .filter(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        match name.and_then(|n| inputs.iter().find(|(k, _)| k.eq_ignore_ascii_case(n))) {
            Some((_, value)) => out.push_str(value),
            None => out.push_str(&rest[at..at + 3 + end + 2]),
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    out
}

/// `script` with the shell's references to the variables of `env` expanded:
/// `$NAME`, `${NAME}`, `${NAME:?message}` and `${NAME:-default}` (and their
/// forms without `:`); a double-quoted word that is one reference alone
/// (`"${NAME}"`) loses its quotes when the value is one word. Variables not in
/// `env` are kept as written.
fn expand_env(script: &str, env: &[(String, String)]) -> String {
    if env.is_empty() || !script.contains('$') {
        return script.to_owned();
    }
    let value_of = |name: &str| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let one_word = |v: &str| !v.is_empty() && !v.contains(|c: char| c.is_whitespace() || "\"'$`\\".contains(c));
    let chars: Vec<char> = script.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let quoted = chars[i] == '"' && chars.get(i + 1) == Some(&'$');
        let start = if quoted { i + 1 } else { i };
        let known = (chars[start] == '$')
            .then(|| reference(&chars, start))
            .flatten()
            .and_then(|(name, end)| Some((value_of(&name)?, end)));
        match known {
            Some((value, end)) if quoted && chars.get(end) == Some(&'"') && one_word(value) => {
                out.push_str(value);
                i = end + 1;
            }
            Some((value, end)) => {
                if quoted {
                    out.push('"');
                }
                out.push_str(value);
                i = end;
            }
            None => {
                out.push(chars[i]);
                i += 1;
            }
        }
    }
    out
}

/// The variable reference at `chars[at]` (a `$`): its name and the index
/// just past it; `None` for anything else (`$(…)`, `$1`, `$$`, `${#NAME}`).
fn reference(chars: &[char], at: usize) -> Option<(String, usize)> {
    let ident = |c: &char| c.is_ascii_alphanumeric() || *c == '_';
    let first = *chars.get(at + 1)?;
    if first == '{' {
        let close = (at + 2..chars.len()).find(|&j| chars[j] == '}')?;
        let body: String = chars[at + 2..close].iter().collect();
        let name: String = body.chars().take_while(ident).collect();
        let op = &body[name.len()..];
        let known_op = op.is_empty() || [":?", "?", ":-", "-"].iter().any(|o| op.starts_with(o));
        let valid = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_');
        return (valid && known_op).then_some((name, close + 1));
    }
    if !(first.is_ascii_alphabetic() || first == '_') {
        return None;
    }
    let end = (at + 1..chars.len()).find(|&j| !ident(&chars[j])).unwrap_or(chars.len());
    Some((chars[at + 1..end].iter().collect(), end))
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

    use super::{command_lines, expand_env, gitlab_lines, substitute_inputs, workflow_runs, workflow_runs_in};
    use std::path::{Path, PathBuf};

    /// The action `./.github/actions/run-tests` of go-redis's shape: the make
    /// target is an input with a default, passed to the script through `env`.
    const RUN_TESTS: &str = "name: run tests\ninputs:\n  go-version:\n    default: '1.25'\n  Make-Target:\n    description: target\n    default: test.ci\nruns:\n  using: \"composite\"\n  steps:\n    - uses: actions/setup-go@v6\n      with:\n        go-version: ${{ inputs.go-version }}\n    - run: make docker.start\n      shell: bash\n    - name: Run tests\n      env:\n        MAKE_TARGET: ${{ inputs.make-target }}\n      run: |\n        make -- \"${MAKE_TARGET:?make-target must not be empty}\"\n      shell: bash\n    - uses: ./.github/actions/lint\n      with:\n        dir: ${{ inputs.go-version }}\n";
    /// A nested composite action that runs its input directly in a script.
    const LINT: &str = "inputs:\n  dir: {default: x}\nruns:\n  using: composite\n  steps:\n    - run: go vet ./${{ inputs.dir }}/... && echo ${{ github.sha }}\n      working-directory: ${{ inputs.dir }}\n";

    /// A reusable workflow whose job runs its `make-target` input and calls the composite action.
    const REUSABLE: &str = "on:\n  workflow_call:\n    inputs:\n      make-target: {type: string, required: true}\n      dir: {type: string, default: web}\njobs:\n  test:\n    steps:\n      - run: make ${{ inputs.make-target }}\n        working-directory: ${{ inputs.dir }}\n      - uses: ./.github/actions/run-tests\n        with:\n          make-target: ${{ inputs.make-target }}-all\n";

    fn actions(path: &Path) -> Option<String> {
        match path.to_str()? {
            ".github/actions/run-tests/action.yml" => Some(RUN_TESTS.to_owned()),
            ".github/actions/lint/action.yaml" => Some(LINT.to_owned()),
            ".github/actions/docker/action.yml" => Some("runs:\n  using: docker\n  image: Dockerfile\n".to_owned()),
            ".github/workflows/reusable-test.yml" => Some(REUSABLE.to_owned()),
            _ => None,
        }
    }

    #[test]
    fn a_local_composite_action_runs_its_steps_with_the_callers_inputs_or_their_defaults() {
        let text = "jobs:\n  ce:\n    steps:\n      - uses: actions/checkout@v4\n      - uses: ./.github/actions/run-tests\n        with:\n          go-version: ${{ matrix.go }}\n  subjects:\n    steps:\n      - uses: ./.github/actions/run-tests/\n        with:\n          make-target: test.subjects\n          go-version: '1.24'\n      - uses: ./.github/actions/docker\n      - uses: ./.github/actions/missing\n      - uses: ./../elsewhere\n      - run: echo done\n";
        let got: Vec<(String, String, String, Option<PathBuf>)> = workflow_runs_in(text, &actions)
            .unwrap()
            .into_iter()
            .map(|l| (l.job, l.dir.display().to_string(), l.line, l.via))
            .collect();
        let action = |p: &str| Some(PathBuf::from(p));
        let (tests, lint) = (".github/actions/run-tests", ".github/actions/lint");
        let expected = [
            ("ce", "", "make docker.start", action(tests)),
            ("ce", "", "make -- test.ci", action(tests)),
            // The caller's expression is passed on as written; the directory it names is not known.
            ("ce", "", "go vet ./${{ matrix.go }}/... && echo ${{ github.sha }}", action(lint)),
            ("subjects", "", "make docker.start", action(tests)),
            ("subjects", "", "make -- test.subjects", action(tests)),
            ("subjects", "1.24", "go vet ./1.24/... && echo ${{ github.sha }}", action(lint)),
            ("subjects", "", "echo done", None),
        ];
        let expected: Vec<(String, String, String, Option<PathBuf>)> =
            expected.into_iter().map(|(j, d, l, a)| (j.to_owned(), d.to_owned(), l.to_owned(), a)).collect();
        assert_eq!(got, expected);
    }

    #[test]
    fn a_job_that_calls_a_local_reusable_workflow_runs_its_jobs_with_the_inputs_given() {
        let text = "jobs:\n  unit:\n    uses: ./.github/workflows/reusable-test.yml\n    with:\n      make-target: test\n  remote:\n    uses: octo/ci/.github/workflows/go.yml@v1\n";
        let got: Vec<(String, String, String, Option<PathBuf>)> = workflow_runs_in(text, &actions)
            .unwrap()
            .into_iter()
            .map(|l| (l.job, l.dir.display().to_string(), l.line, l.via))
            .collect();
        let via = |p: &str| Some(PathBuf::from(p));
        let expected = [
            ("unit/test", "web", "make test", via(".github/workflows/reusable-test.yml")),
            ("unit/test", "", "make docker.start", via(".github/actions/run-tests")),
            ("unit/test", "", "make -- test-all", via(".github/actions/run-tests")),
            // The action's `go-version` default reaches the nested action's `dir`.
            ("unit/test", "1.25", "go vet ./1.25/... && echo ${{ github.sha }}", via(".github/actions/lint")),
        ];
        let expected: Vec<(String, String, String, Option<PathBuf>)> =
            expected.into_iter().map(|(j, d, l, v)| (j.to_owned(), d.to_owned(), l.to_owned(), v)).collect();
        assert_eq!(got, expected);
    }

    #[test]
    fn an_action_that_calls_itself_stops_at_the_depth_bound() {
        let looping =
            |_: &Path| Some("runs:\n  using: composite\n  steps:\n    - run: make test\n    - uses: ./a\n".to_owned());
        let got = workflow_runs_in("jobs:\n  t:\n    steps:\n      - uses: ./a\n", &looping).unwrap();
        assert_eq!(got.len(), super::MAX_ACTION_DEPTH);
        assert!(got.iter().all(|l| l.line == "make test"));
    }

    #[test]
    fn inputs_are_substituted_in_both_expression_forms_and_other_expressions_are_kept() {
        let inputs = [("make-target".to_owned(), "cover".to_owned()), ("empty".to_owned(), String::new())];
        assert_eq!(
            substitute_inputs("make ${{inputs.make-target}} ${{ inputs['Make-Target'] }}x${{ inputs.empty }}", &inputs),
            "make cover coverx"
        );
        assert_eq!(
            substitute_inputs("${{ inputs.other }} ${{ matrix.os }} ${{", &inputs),
            "${{ inputs.other }} ${{ matrix.os }} ${{"
        );
    }

    #[test]
    fn step_env_is_expanded_in_the_script_and_unknown_variables_are_kept() {
        let env = [("T".to_owned(), "test".to_owned()), ("FLAGS".to_owned(), "-v -race".to_owned())];
        assert_eq!(expand_env("make $T && make \"${T:?x}\" ${T}-x", &env), "make test && make test test-x");
        assert_eq!(
            expand_env("go test \"$FLAGS\" $HOME $1 $$ ${#T} $(T)", &env),
            "go test \"-v -race\" $HOME $1 $$ ${#T} $(T)"
        );
        assert_eq!(expand_env("make $TARGET", &env), "make $TARGET");
    }

    #[test]
    fn a_workflow_step_env_is_expanded_in_its_own_script() {
        let text = "jobs:\n  t:\n    steps:\n      - env: {TARGET: cover, OS: '${{ matrix.os }}'}\n        run: make \"$TARGET\" OS=$OS\n";
        assert_eq!(workflow_runs(text).unwrap(), ["make cover OS=$OS"]);
    }

    #[test]
    fn steps_carry_their_working_directory_from_the_step_the_job_or_the_workflow() {
        let text = "defaults: {run: {working-directory: ./web}}\njobs:\n  a:\n    steps:\n      - run: npm test\n      - run: make test\n        working-directory: doctests\n  b:\n    defaults:\n      run:\n        working-directory: ${{ matrix.dir }}\n    steps: [{run: go test ./...}]\n";
        let got: Vec<_> =
            workflow_runs_in(text, &|_| None).unwrap().into_iter().map(|l| (l.dir, l.line, l.job)).collect();
        assert_eq!(
            got,
            [
                (PathBuf::from("web"), "npm test".to_owned(), "a".to_owned()),
                (PathBuf::from("doctests"), "make test".to_owned(), "a".to_owned()),
                (PathBuf::new(), "go test ./...".to_owned(), "b".to_owned()),
            ]
        );
    }

    #[test]
    fn gitlab_jobs_give_their_before_script_and_script_lines() {
        let text = "stages: [test]\nvariables:\n  script: not-a-job\n.base: &base\n  before_script:\n    - pip install tox\ntest:\n  <<: *base\n  script:\n    - tox -e py\n    - - make lint\nlint:\n  script: make check\n";
        let got = gitlab_lines(text).unwrap();
        let lines: Vec<&str> = got.iter().map(|(_, l)| l.as_str()).collect();
        assert_eq!(lines, ["pip install tox", "pip install tox", "tox -e py", "make lint", "make check"]);
        let jobs: Vec<&str> = got.iter().map(|(j, _)| j.as_str()).collect();
        assert_eq!(jobs, [".base", "test", "test", "test", "lint"]);
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
