//! `agentctl swe` as a black box on the shipped task set
//! (`examples/swe/`): twelve instances from real git histories in Python,
//! JavaScript/TypeScript, Go and Rust, with real registry packages
//! installed by the runner's own environment setup.
//!
//! Gold mode checks the runner, the oracle, the environment setup, the
//! per-test parsing and the comparison; the replayed run checks the whole
//! agent path (the loop, the session, the tools, the verification) with a
//! scripted stand-in model, not a real one.

use crate::support::{agentctl, repo};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn instances_file() -> PathBuf {
    repo().join("examples/swe/instances.jsonl")
}

/// Every shipped instance, by id.
fn instances() -> BTreeMap<String, Value> {
    std::fs::read_to_string(instances_file())
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            (v["instance_id"].as_str().unwrap().to_owned(), v)
        })
        .collect()
}

/// The mirrors of the shipped repositories, built by the script a user runs.
fn mirrors(dir: &Path) -> PathBuf {
    let out = dir.join("mirrors");
    let status = Command::new("bash").arg(repo().join("examples/swe/build-mirrors.sh")).arg(&out).status().unwrap();
    assert!(status.success(), "build-mirrors.sh failed");
    out
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn report(dir: &Path) -> Value {
    let out = agentctl().args(["swe", "report"]).arg(dir).arg("--json").output().unwrap();
    assert!(out.status.success(), "swe report: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn predictions(dir: &Path) -> BTreeMap<String, Value> {
    std::fs::read_to_string(dir.join("predictions.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            (v["instance_id"].as_str().unwrap().to_owned(), v)
        })
        .collect()
}

#[test]
fn the_shipped_task_set_has_the_languages_and_shapes_it_promises() {
    let all = instances();
    let count = |prefix: &str| all.keys().filter(|id| id.starts_with(&format!("agentkit-swe__{prefix}"))).count();
    assert!(all.len() >= 12, "{} instances", all.len());
    assert!(count("py-") >= 4 && count("go-") >= 3 && count("rs-") >= 2, "{:?}", all.keys());
    assert!(count("js-") + count("ts-") >= 3, "{:?}", all.keys());
    // One carries its own setup and test command; some FAIL_TO_PASS names need quoting.
    assert!(all.values().any(|i| i.get("setup").is_some() && i.get("test_cmd").is_some()));
    let names: Vec<&str> =
        all.values().flat_map(|i| i["FAIL_TO_PASS"].as_array().unwrap()).filter_map(Value::as_str).collect();
    assert!(names.iter().any(|n| n.contains(' ')) && names.iter().any(|n| n.contains('\'')), "{names:?}");
    for (id, i) in &all {
        let stream = repo()
            .join("examples/swe/repos")
            .join(format!("{}.fi", id.split("__").nth(1).unwrap().rsplit_once('-').unwrap().0));
        assert!(stream.is_file(), "{id}: no history at {}", stream.display());
        assert!(!i["patch"].as_str().unwrap().is_empty() && !i["test_patch"].as_str().unwrap().is_empty(), "{id}");
    }
}

#[test]
fn every_shipped_instance_resolves_in_gold_mode_and_predicts_exactly_its_patch() {
    let tmp = tempfile::tempdir().unwrap();
    let repos = mirrors(tmp.path());
    let out_dir = tmp.path().join("out");
    let out = agentctl()
        .args(["swe", "run", "--gold", "--jobs", "2", "--instances"])
        .arg(instances_file())
        .arg("--repos")
        .arg(&repos)
        .arg("--out")
        .arg(&out_dir)
        .output()
        .unwrap();
    let text = stdout(&out);
    let all = instances();
    assert!(out.status.success(), "{text}\n{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(text.trim_end().lines().last(), Some(format!("resolved {n} of {n}", n = all.len()).as_str()), "{text}");
    let doc = report(&out_dir);
    assert_eq!(doc["mode"], "gold");
    assert_eq!(doc["summary"]["resolved"], all.len());
    let preds = predictions(&out_dir);
    assert_eq!(preds.len(), all.len());
    for (id, instance) in &all {
        let entry = &doc["instances"][id];
        assert_eq!(entry["status"], "resolved", "{id}: {entry:#}");
        // Before the change every FAIL_TO_PASS test failed: the instance held.
        assert_eq!(entry["validation"]["FAIL_TO_PASS"]["failure"], instance["FAIL_TO_PASS"], "{id}");
        assert_eq!(entry["tests_status"]["PASS_TO_PASS"]["success"], instance["PASS_TO_PASS"], "{id}");
        assert_eq!(preds[id]["model_patch"], instance["patch"], "{id}: the prediction is the diff the runner took");
        assert_eq!(preds[id]["model_name_or_path"], "gold");
    }
    // A second run skips what the report holds.
    let again = agentctl()
        .args(["swe", "run", "--gold", "--instances"])
        .arg(instances_file())
        .arg("--repos")
        .arg(&repos)
        .arg("--out")
        .arg(&out_dir)
        .arg("--json")
        .output()
        .unwrap();
    assert!(again.status.success());
    let doc2: Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(doc2["instances"], doc["instances"], "nothing ran again");
}

#[test]
fn the_scripted_agent_resolves_every_shipped_instance_through_the_tools() {
    let tmp = tempfile::tempdir().unwrap();
    let repos = mirrors(tmp.path());
    let out_dir = tmp.path().join("out");
    let out = agentctl()
        .args(["swe", "run", "--jobs", "2", "--instances"])
        .arg(instances_file())
        .arg("--repos")
        .arg(&repos)
        .arg("--replay")
        .arg(repo().join("examples/swe/cassettes"))
        .arg("--out")
        .arg(&out_dir)
        .output()
        .unwrap();
    let text = stdout(&out);
    let all = instances();
    assert!(out.status.success(), "{text}\n{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(text.trim_end().lines().last(), Some(format!("resolved {n} of {n}", n = all.len()).as_str()));
    let doc = report(&out_dir);
    assert_eq!(doc["mode"], "agent");
    assert!(doc["cost_usd"].as_f64().unwrap() > 0.0, "the replayed calls are priced");
    let preds = predictions(&out_dir);
    for (id, instance) in &all {
        let entry = &doc["instances"][id];
        assert_eq!(entry["status"], "resolved", "{id}: {entry:#}");
        assert_eq!(entry["outcome"], "accepted", "{id}");
        assert!(entry["tool_calls"].as_u64().unwrap() >= 3, "{id}: {entry:#}");
        assert!(entry["tokens"]["input"].as_u64().unwrap() > 0, "{id}");
        assert!(Path::new(entry["journal"].as_str().unwrap()).is_file(), "{id}");
        // The edits went through edit_file and write_file: the result is the gold patch, byte for byte.
        assert_eq!(preds[id]["model_patch"], instance["patch"], "{id}");
        assert_eq!(preds[id]["model_name_or_path"], "openai:gpt-4.1-mini");
    }
}

#[test]
fn swe_refuses_bad_input_with_exit_code_2() {
    let tmp = tempfile::tempdir().unwrap();
    let bad = tmp.path().join("bad.jsonl");
    std::fs::write(&bad, "{\"instance_id\": \"a__b-1\", \"repo\": \"a/b\"}\n").unwrap();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (vec!["--instances".into(), tmp.path().join("none.jsonl").display().to_string()], "cannot read"),
        (vec!["--instances".into(), bad.display().to_string()], "bad.jsonl:1"),
        (
            vec![
                "--instances".into(),
                instances_file().display().to_string(),
                "--gold".into(),
                "--replay".into(),
                "x".into(),
            ],
            "--gold",
        ),
        (
            vec!["--instances".into(), instances_file().display().to_string(), "--instance".into(), "nope-1".into()],
            "no instance `nope-1`",
        ),
    ];
    for (args, needle) in cases {
        let out =
            agentctl().args(["swe", "run", "--repos"]).arg(tmp.path()).args(&args).arg("--json").output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stdout(&out));
        let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert!(doc["error"].as_str().unwrap().contains(needle), "{args:?}: {doc}");
    }
    let out = agentctl().args(["swe", "report"]).arg(tmp.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}
