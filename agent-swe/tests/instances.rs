//! Reading instances and specs, and the quoting of test names into a
//! `test_cmd` template, checked by a real `sh`.

use agent_swe::{InstanceError, RepoSpecs, SweInstance, TestCommand, read_instances};
use proptest::prelude::*;
use std::process::Command;

const BASE: &str = "0123456789abcdef0123456789abcdef01234567";

fn line(extra: &str) -> String {
    format!(
        r#"{{"instance_id": "acme__calc-1", "repo": "acme/calc", "base_commit": "{BASE}", "patch": "", "test_patch": "",
        "problem_statement": "p", "PASS_TO_PASS": [] {extra}}}"#
    )
    .replace('\n', " ")
}

#[test]
fn fail_to_pass_is_read_as_a_list_or_as_a_json_encoded_string() {
    let list = SweInstance::from_json(&line(r#", "FAIL_TO_PASS": ["t::a", "t::b"]"#)).expect("list");
    let encoded = SweInstance::from_json(&line(r#", "FAIL_TO_PASS": "[\"t::a\", \"t::b\"]""#)).expect("string");
    assert_eq!(list.fail_to_pass, ["t::a", "t::b"]);
    assert_eq!(encoded.fail_to_pass, list.fail_to_pass);
    let version = SweInstance::from_json(&line(r#", "FAIL_TO_PASS": ["a"], "version": 3.2"#)).expect("numeric version");
    assert_eq!(version.version.as_deref(), Some("3.2"));
}

#[test]
fn instances_the_runner_cannot_use_are_refused_with_the_reason() {
    let cases = [
        (r#", "FAIL_TO_PASS": []"#, "FAIL_TO_PASS is empty"),
        (r#", "FAIL_TO_PASS": "not json""#, "JSON-encoded list"),
        (r#", "FAIL_TO_PASS": [1]"#, "FAIL_TO_PASS"),
    ];
    for (extra, needle) in cases {
        let err = SweInstance::from_json(&line(extra)).expect_err(extra).to_string();
        assert!(err.contains(needle), "{extra}: {err}");
    }
    let bad_repo = line(r#", "FAIL_TO_PASS": ["a"]"#).replace("acme/calc", "../etc");
    assert!(SweInstance::from_json(&bad_repo).expect_err("repo").to_string().contains("owner/name"));
    let bad_id = line(r#", "FAIL_TO_PASS": ["a"]"#).replace("acme__calc-1", "../x");
    assert!(SweInstance::from_json(&bad_id).expect_err("id").to_string().contains("instance_id"));
    let bad_commit = line(r#", "FAIL_TO_PASS": ["a"]"#).replace(BASE, "main; rm -rf /");
    assert!(SweInstance::from_json(&bad_commit).expect_err("commit").to_string().contains("not a commit id"));
}

#[test]
fn a_file_reports_the_line_of_a_bad_instance_and_refuses_duplicate_ids() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("i.jsonl");
    let good = line(r#", "FAIL_TO_PASS": ["a"]"#);
    std::fs::write(&path, format!("{good}\n\n{{\"instance_id\": 3}}\n")).expect("write");
    match read_instances(&path) {
        Err(InstanceError::Parse { line, .. }) => assert_eq!(line, 3),
        other => panic!("expected a parse error on line 3: {other:?}"),
    }
    std::fs::write(&path, format!("{good}\n{good}\n")).expect("write");
    match read_instances(&path) {
        Err(InstanceError::Duplicate { line, id, .. }) => assert_eq!((line, id.as_str()), (2, "acme__calc-1")),
        other => panic!("expected a duplicate: {other:?}"),
    }
    std::fs::write(&path, format!("{good}\n")).expect("write");
    assert_eq!(read_instances(&path).expect("one").len(), 1);
}

#[test]
fn a_specs_file_with_an_unknown_field_is_refused() {
    let err = RepoSpecs::from_json(r#"{"a/b": {"test_command": "pytest"}}"#).expect_err("unknown field");
    assert!(err.to_string().contains("test_command"), "{err}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Whatever the names hold (spaces, quotes, `$(…)`, backticks, globs,
    /// newlines), `sh` hands the template's command exactly those words.
    #[test]
    fn a_template_gives_the_shell_exactly_the_test_names(names in proptest::collection::vec("[^\u{0}]{0,24}", 0..6)) {
        let cmd = TestCommand::Template("printf '%s\\0' {tests}".into()).for_tests(&names);
        prop_assert_eq!(cmd.program.as_str(), "sh");
        let out = Command::new("sh").args(&cmd.args).current_dir(std::env::temp_dir()).output().expect("sh runs");
        prop_assert!(out.status.success());
        let text = String::from_utf8(out.stdout).expect("utf-8");
        // Each word ends with a NUL; printf with no argument prints one empty word.
        let mut got: Vec<&str> = text.split('\0').collect();
        prop_assert_eq!(got.pop(), Some(""));
        let want: Vec<&str> = if names.is_empty() { vec![""] } else { names.iter().map(String::as_str).collect() };
        prop_assert_eq!(got, want);
    }
}

#[test]
fn a_name_holding_a_nul_byte_is_accepted_and_kept_off_the_command_line() {
    let inst = SweInstance::from_json(&line(r#", "FAIL_TO_PASS": ["normalize \u0000x", "plain"]"#)).expect("NUL names");
    assert_eq!(inst.fail_to_pass[0], "normalize \0x");
    let cmd = TestCommand::Template("run {tests}".into()).for_tests(&inst.fail_to_pass);
    assert_eq!(cmd.args, ["-c", "run plain"]);
}

#[test]
fn a_doctest_name_drops_cargo_exact_matching_which_rustdoc_cannot_apply() {
    let cargo = TestCommand::Cargo { cwd: Default::default() };
    let plain = cargo.for_tests(&["tests::a".into()]);
    assert!(plain.args.contains(&"--exact".to_owned()), "{:?}", plain.args);
    let doc = cargo.for_tests(&["tests::a".into(), "src/lib.rs - (line 19)".into()]);
    assert!(!doc.args.contains(&"--exact".to_owned()), "{:?}", doc.args);
    assert_eq!(doc.args.last().map(String::as_str), Some("src/lib.rs - (line 19)"));
}
