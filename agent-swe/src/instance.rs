//! Task instances in SWE-bench's JSONL format, and the per-repository
//! environment specs that override how an instance is set up and tested.
//!
//! `FAIL_TO_PASS` and `PASS_TO_PASS` are read both as lists and as
//! JSON-encoded strings (the published dataset files carry the latter).
//!
//! ```
//! use agent_swe::SweInstance;
//!
//! let line = r#"{"instance_id": "acme__calc-7", "repo": "acme/calc", "base_commit": "0123456789abcdef0123456789abcdef01234567",
//!   "patch": "", "test_patch": "", "problem_statement": "add() is off by one",
//!   "FAIL_TO_PASS": "[\"tests/test_calc.py::test_add\"]", "PASS_TO_PASS": ["tests/test_calc.py::test_sub"]}"#;
//! let instance = SweInstance::from_json(line).unwrap();
//! assert_eq!(instance.fail_to_pass, ["tests/test_calc.py::test_add"]);
//! assert_eq!(instance.pass_to_pass, ["tests/test_calc.py::test_sub"]);
//! assert_eq!(instance.mirror_names(), ["acme__calc", "acme/calc", "calc"]);
//! ```

use serde::{Deserialize, Deserializer, Serialize};
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

/// Why instances or specs could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InstanceError {
    /// The file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A line is not an instance.
    #[error("{}:{line}: not a task instance: {reason}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong, with the field's path.
        reason: String,
    },
    /// Two lines carry the same `instance_id`.
    #[error("{}:{line}: instance_id `{id}` appears twice", path.display())]
    Duplicate {
        /// The file.
        path: PathBuf,
        /// 1-based line number of the second occurrence.
        line: usize,
        /// The repeated id.
        id: String,
    },
    /// A field holds a value the runner cannot use.
    #[error("instance `{id}`: {reason}")]
    Invalid {
        /// The instance.
        id: String,
        /// What is wrong.
        reason: String,
    },
    /// The specs file is not a map of repository to spec.
    #[error("{}: not an environment spec file: {reason}", path.display())]
    Specs {
        /// The file.
        path: PathBuf,
        /// What is wrong, with the field's path.
        reason: String,
    },
}

/// One task instance: a repository at a commit, a problem, the tests that
/// decide it, and the gold patch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SweInstance {
    /// `owner__repo-number`.
    pub instance_id: String,
    /// `owner/name`.
    pub repo: String,
    /// The commit the task starts from.
    pub base_commit: String,
    /// The gold fix, a unified diff against `base_commit`.
    #[serde(default)]
    pub patch: String,
    /// The tests that show the fix, a unified diff against `base_commit`.
    #[serde(default)]
    pub test_patch: String,
    /// The issue text: the agent's goal.
    #[serde(default)]
    pub problem_statement: String,
    /// Comments on the issue.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub hints_text: String,
    /// When the fix was made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// The repository's version, which environment specs may be keyed by.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "version")]
    pub version: Option<String>,
    /// The commit whose environment the instance is tested in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment_setup_commit: Option<String>,
    /// Tests that fail before the fix and pass after.
    #[serde(rename = "FAIL_TO_PASS", deserialize_with = "test_list")]
    pub fail_to_pass: Vec<String>,
    /// Tests that pass before and after.
    #[serde(rename = "PASS_TO_PASS", default, deserialize_with = "test_list")]
    pub pass_to_pass: Vec<String>,
    /// Shell commands run from the repository root to prepare it (an
    /// override of the environment the oracle would prepare).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub setup: Option<Vec<String>>,
    /// A shell command template run from the repository root in which
    /// `{tests}` stands for the shell-quoted test names (an override of
    /// the test command the oracle would choose).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_cmd: Option<String>,
}

/// A list of test names, or a string holding one as JSON.
fn test_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        List(Vec<String>),
        Encoded(String),
    }
    match Either::deserialize(d)? {
        Either::List(list) => Ok(list),
        Either::Encoded(text) if text.trim().is_empty() => Ok(Vec::new()),
        Either::Encoded(text) => serde_json::from_str(&text)
            .map_err(|e| serde::de::Error::custom(format!("a JSON-encoded list of test names was expected: {e}"))),
    }
}

/// A version as a string or a number (`"3.0"`, `3.0`).
fn version<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let value = Option::<serde_json::Value>::deserialize(d)?;
    Ok(match value {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(s)) => Some(s),
        Some(other) => Some(other.to_string()),
    })
}

impl SweInstance {
    /// Parses one instance (one JSONL line) and checks it.
    pub fn from_json(text: &str) -> Result<Self, InstanceError> {
        let de = &mut serde_json::Deserializer::from_str(text);
        let instance: Self = serde_path_to_error::deserialize(de).map_err(|e| InstanceError::Parse {
            path: PathBuf::new(),
            line: 1,
            reason: e.to_string(),
        })?;
        instance.check()?;
        Ok(instance)
    }

    /// Refuses what the runner cannot use: an id that cannot name a
    /// directory, a repository that is not `owner/name`, a commit that is
    /// not a hexadecimal id, no FAIL_TO_PASS test. (Test names may hold
    /// anything, a NUL byte included: real suites have such names.)
    pub fn check(&self) -> Result<(), InstanceError> {
        let invalid = |reason: String| InstanceError::Invalid { id: self.instance_id.clone(), reason };
        let id = &self.instance_id;
        if id.is_empty()
            || id.len() > 200
            || id.starts_with('.')
            || !id.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            return Err(invalid("instance_id must be 1-200 of [A-Za-z0-9._-], not starting with a dot".into()));
        }
        let parts: Vec<&str> = self.repo.split('/').collect();
        let part_ok = |p: &str| {
            !p.is_empty() && p != "." && p != ".." && p.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        };
        if parts.len() != 2 || !parts.iter().all(|p| part_ok(p)) {
            return Err(invalid(format!("repo `{}` is not `owner/name`", self.repo)));
        }
        for (field, commit) in [
            ("base_commit", Some(&self.base_commit)),
            ("environment_setup_commit", self.environment_setup_commit.as_ref()),
        ] {
            if let Some(c) = commit {
                if c.len() < 7 || c.len() > 64 || !c.chars().all(|ch| ch.is_ascii_hexdigit()) {
                    return Err(invalid(format!("{field} `{c}` is not a commit id")));
                }
            }
        }
        if self.fail_to_pass.is_empty() {
            return Err(invalid("FAIL_TO_PASS is empty: nothing would decide the instance".into()));
        }
        Ok(())
    }

    /// Directory names a mirror of the repository may have under a
    /// `--repos` folder, in the order they are tried: `owner__name` (the
    /// SWE-bench layout), `owner/name`, `name`.
    pub fn mirror_names(&self) -> Vec<String> {
        let (owner, name) = self.repo.split_once('/').unwrap_or(("", &self.repo));
        vec![format!("{owner}__{name}"), self.repo.clone(), name.to_owned()]
    }

    /// The mirror of the repository under `repos`: the first of
    /// [`mirror_names`](Self::mirror_names) that is a directory, with or
    /// without a `.git` suffix.
    pub fn find_mirror(&self, repos: &Path) -> Option<PathBuf> {
        self.mirror_names()
            .into_iter()
            .find_map(|name| [repos.join(&name), repos.join(format!("{name}.git"))].into_iter().find(|p| p.is_dir()))
    }

    /// Every test the verdict runs: FAIL_TO_PASS then PASS_TO_PASS, each once.
    pub fn all_tests(&self) -> Vec<String> {
        let mut seen = HashSet::new();
        self.fail_to_pass.iter().chain(&self.pass_to_pass).filter(|t| seen.insert(t.as_str())).cloned().collect()
    }
}

/// Reads a JSONL file of instances (blank lines skipped); duplicate ids are refused.
pub fn read_instances(path: &Path) -> Result<Vec<SweInstance>, InstanceError> {
    let text = std::fs::read_to_string(path).map_err(|source| InstanceError::Read { path: path.into(), source })?;
    let mut out = Vec::new();
    let mut ids = HashSet::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let instance = SweInstance::from_json(line).map_err(|e| match e {
            InstanceError::Parse { reason, .. } => InstanceError::Parse { path: path.into(), line: i + 1, reason },
            InstanceError::Invalid { id, reason } => {
                InstanceError::Parse { path: path.into(), line: i + 1, reason: format!("instance `{id}`: {reason}") }
            }
            other => other,
        })?;
        if !ids.insert(instance.instance_id.clone()) {
            return Err(InstanceError::Duplicate { path: path.into(), line: i + 1, id: instance.instance_id });
        }
        out.push(instance);
    }
    Ok(out)
}

/// How one repository (or one version of it) is set up and tested, the
/// way SWE-bench's harness keeps install and test specs per repository.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct EnvSpec {
    /// Shell commands run from the repository root, in order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub setup: Option<Vec<String>>,
    /// A command template in which `{tests}` stands for the shell-quoted test names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_cmd: Option<String>,
}

/// Environment specs keyed by repository (`owner/name`) or by repository
/// and version (`owner/name@version`, which wins).
///
/// ```
/// use agent_swe::RepoSpecs;
///
/// let specs = RepoSpecs::from_json(r#"{
///   "acme/calc": {"test_cmd": "python -m pytest -rA {tests}"},
///   "acme/calc@2.0": {"setup": ["pip install -e ."], "test_cmd": "pytest -rA {tests}"}
/// }"#).unwrap();
/// assert_eq!(specs.get("acme/calc", Some("2.0")).unwrap().test_cmd.as_deref(), Some("pytest -rA {tests}"));
/// assert_eq!(specs.get("acme/calc", Some("1.0")).unwrap().test_cmd.as_deref(), Some("python -m pytest -rA {tests}"));
/// assert!(specs.get("acme/other", None).is_none());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RepoSpecs(pub BTreeMap<String, EnvSpec>);

impl RepoSpecs {
    /// Parses a specs document.
    pub fn from_json(text: &str) -> Result<Self, InstanceError> {
        let de = &mut serde_json::Deserializer::from_str(text);
        serde_path_to_error::deserialize(de)
            .map_err(|e| InstanceError::Specs { path: PathBuf::from("<specs>"), reason: e.to_string() })
    }

    /// Reads a specs file.
    pub fn read(path: &Path) -> Result<Self, InstanceError> {
        let text = std::fs::read_to_string(path).map_err(|source| InstanceError::Read { path: path.into(), source })?;
        Self::from_json(&text).map_err(|e| match e {
            InstanceError::Specs { reason, .. } => InstanceError::Specs { path: path.into(), reason },
            other => other,
        })
    }

    /// The spec of a repository at a version: `repo@version` first, then `repo`.
    pub fn get(&self, repo: &str, version: Option<&str>) -> Option<&EnvSpec> {
        version.and_then(|v| self.0.get(&format!("{repo}@{v}"))).or_else(|| self.0.get(repo))
    }
}
