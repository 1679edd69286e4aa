//! The merge step on real git repositories in temporary directories, with
//! real `git` processes run through `agent_sandbox::ProcessExecutor`. The
//! model that resolves conflicts is a scripted test double
//! (`fakes::Model`), and so are the gates (closures over the gate context).

use crate::fakes::Model;
use agent_core::event::EventKind;
use agent_core::gate::{GateContext, GateError, GateReport};
use agent_core::{Gate, async_trait};
use agent_loop::MemoryJournal;
use agent_loop::merge::{Landing, MergeConfig, MergeOutcome, MergeRequest, MergeStep};
use agent_sandbox::ProcessExecutor;
use agent_testkit::{git, write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

const BASE: &str = "one\ntwo\nthree\n";
const TARGET_SIDE: &str = "one\ntwo from the target\nthree\n";
const TASK_SIDE: &str = "one\ntwo from the task\nthree\n";
const RESOLVED: &str = "one\ntwo from the target and the task\nthree\n";

/// A repository `repo` (on `main`, one commit holding `a.txt` = [`BASE`])
/// in a temporary directory.
fn repository() -> (tempfile::TempDir, PathBuf) {
    let (tmp, repo) = agent_testkit::init_repo_in_temp();
    write(&repo, "a.txt", BASE.as_bytes());
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-q", "-m", "base"]);
    (tmp, repo)
}

/// A detached worktree of `repo` at `main`, named `name`, beside it.
fn worktree(repo: &Path, name: &str) -> PathBuf {
    let path = repo.parent().unwrap().join(name);
    git(repo, &["worktree", "add", "-q", "--detach", path.to_str().unwrap(), "main"]);
    path
}

/// Commits `content` to `file` on `main` in the repository's own checkout.
fn commit_on_main(repo: &Path, file: &str, content: &str, message: &str) {
    write(repo, file, content.as_bytes());
    git(repo, &["add", "-A"]);
    git(repo, &["commit", "-q", "-m", message]);
}

fn head_of(repo: &Path, rev: &str) -> String {
    git(repo, &["rev-parse", rev]).trim().to_owned()
}

fn subjects(repo: &Path, rev: &str) -> Vec<String> {
    git(repo, &["log", "--format=%s", rev]).lines().map(str::to_owned).collect()
}

fn step(journal: &Arc<MemoryJournal>) -> MergeStep {
    MergeStep::new(Arc::new(ProcessExecutor::new()), journal.clone())
        .with_config(MergeConfig::new("main").with_identity("agent", "agent@example.com"))
}

fn config() -> MergeConfig {
    MergeConfig::new("main").with_identity("agent", "agent@example.com")
}

fn answer(resolution: &str, confidence: f64) -> String {
    serde_json::json!({ "resolution": resolution, "confidence": confidence, "reason": "kept both lines' intent" })
        .to_string()
}

/// The merge events of the journal, by name, in order.
fn merge_events(journal: &MemoryJournal) -> Vec<&'static str> {
    journal
        .all()
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::ChangeCommitted { .. } => Some("change_committed"),
            EventKind::Rebased { .. } => Some("rebased"),
            EventKind::MergeConflict { .. } => Some("merge_conflict"),
            EventKind::ConflictResolved { .. } => Some("conflict_resolved"),
            EventKind::GatesRerun { .. } => Some("gates_rerun"),
            EventKind::Merged { .. } => Some("merged"),
            EventKind::BranchLeft { .. } => Some("branch_left"),
            EventKind::MergeRefused { .. } => Some("merge_refused"),
            _ => None,
        })
        .collect()
}

/// A gate double: runs `f` on each call and reports what it returns.
struct FnGate<F>(F);

#[async_trait]
impl<F: Fn(&GateContext) -> bool + Send + Sync> Gate for FnGate<F> {
    async fn check(&self, cx: &GateContext) -> Result<GateReport, GateError> {
        let passed = (self.0)(cx);
        Ok(GateReport::new("double", passed, if passed { "fine" } else { "the rebased tree is broken" }))
    }
}

/// A repository where `main` changed line two after the task's worktree
/// was made, and the task changed the same line (uncommitted).
fn conflict() -> (tempfile::TempDir, PathBuf, PathBuf, String) {
    let (tmp, repo) = repository();
    let wt = worktree(&repo, "task");
    commit_on_main(&repo, "a.txt", TARGET_SIDE, "target edits line two");
    write(&wt, "a.txt", TASK_SIDE.as_bytes());
    let main = head_of(&repo, "main");
    (tmp, repo, wt, main)
}

fn rebase_in_progress(wt: &Path) -> bool {
    let paths =
        git(wt, &["rev-parse", "--path-format=absolute", "--git-path", "rebase-merge", "--git-path", "rebase-apply"]);
    paths.lines().any(|p| Path::new(p).exists())
}

#[tokio::test]
async fn two_accepted_tasks_land_in_order_the_second_rebased_onto_the_first() {
    let (_tmp, repo) = repository();
    let first = worktree(&repo, "first");
    let second = worktree(&repo, "second");
    write(&first, "b.txt", b"from the first task\n");
    write(&second, "c.txt", b"from the second task\n");
    let journal = Arc::new(MemoryJournal::default());
    let step = step(&journal);

    let one = step.run(MergeRequest::new("t1", &first, "add b.txt")).await.unwrap();
    let MergeOutcome::Merged { commit: c1 } = one.outcome.clone() else { panic!("{one:?}") };
    assert_eq!(head_of(&repo, "main"), c1);
    assert_eq!(one.rebases, 1);

    let two = step.run(MergeRequest::new("t2", &second, "add c.txt")).await.unwrap();
    let MergeOutcome::Merged { commit: c2 } = two.outcome.clone() else { panic!("{two:?}") };
    assert_eq!(head_of(&repo, "main"), c2);
    assert_eq!(head_of(&repo, &format!("{c2}^")), c1, "the second task was rebased onto the first's merge");
    assert_eq!(subjects(&repo, "main"), vec!["add c.txt", "add b.txt", "base"]);
    let tree = git(&repo, &["ls-tree", "--name-only", "main"]);
    assert_eq!(tree.lines().collect::<Vec<_>>(), vec!["a.txt", "b.txt", "c.txt"]);
    assert_eq!(two.task_branch, "agentkit/t2");
}

#[tokio::test]
async fn a_conflict_resolved_with_high_confidence_is_merged_with_the_resolution_and_journaled_in_order() {
    let (_tmp, repo, wt, main_before) = conflict();
    let model = Arc::new(Model::scripted(vec![&answer(RESOLVED, 0.95)]));
    let journal = Arc::new(MemoryJournal::default());
    let passes = Arc::new(FnGate(|cx: &GateContext| cx.diff.contains("two from the target and the task")));
    let report = step(&journal)
        .with_provider(model.clone())
        .with_gate(passes)
        .run(MergeRequest::new("t", &wt, "say where line two came from"))
        .await
        .unwrap();
    let MergeOutcome::Merged { commit } = report.outcome.clone() else { panic!("{report:?}") };
    assert_eq!(head_of(&repo, "main"), commit);
    assert_eq!(head_of(&repo, &format!("{commit}^")), main_before);
    assert_eq!(git(&repo, &["show", "main:a.txt"]), RESOLVED);
    assert_eq!(std::fs::read_to_string(wt.join("a.txt")).unwrap(), RESOLVED);
    assert_eq!(report.resolved.len(), 1);
    assert_eq!(report.resolved[0].confidence, Some(0.95));
    assert_eq!(
        merge_events(&journal),
        vec!["change_committed", "merge_conflict", "conflict_resolved", "rebased", "gates_rerun", "merged"]
    );
    // The model saw both sides, the base and the goal.
    let prompt = &model.requests()[0].messages[1].content;
    for needed in
        ["two from the target", "two from the task", "one\ntwo\nthree", "say where line two came from", "a.txt"]
    {
        assert!(prompt.contains(needed), "`{needed}` missing from {prompt}");
    }
    assert!(model.requests()[0].response_format.is_some(), "the answer's schema is sent");
}

#[tokio::test]
async fn a_low_confidence_resolution_aborts_the_rebase_and_needs_a_human() {
    let (_tmp, repo, wt, main_before) = conflict();
    let model = Arc::new(Model::scripted(vec![&answer(RESOLVED, 0.3)]));
    let journal = Arc::new(MemoryJournal::default());
    let report = step(&journal).with_provider(model).run(MergeRequest::new("t", &wt, "edit line two")).await.unwrap();
    let MergeOutcome::NeedsHuman { conflicts, reason } = report.outcome.clone() else { panic!("{report:?}") };
    assert_eq!(conflicts.len(), 1);
    assert_eq!(conflicts[0].file, "a.txt");
    assert_eq!(conflicts[0].confidence, Some(0.3));
    assert_eq!(conflicts[0].reason.as_deref(), Some("kept both lines' intent"));
    assert!(reason.contains("below"), "{reason}");
    assert_eq!(head_of(&repo, "main"), main_before, "the target is unchanged");
    assert!(!rebase_in_progress(&wt));
    // The worktree is as before the rebase: the task's commit on the base, clean.
    let committed = journal.all().iter().find_map(|e| match &e.kind {
        EventKind::ChangeCommitted { commit, .. } => Some(commit.clone()),
        _ => None,
    });
    assert_eq!(Some(head_of(&wt, "HEAD")), committed);
    assert_eq!(git(&wt, &["status", "--porcelain"]), "");
    assert_eq!(std::fs::read_to_string(wt.join("a.txt")).unwrap(), TASK_SIDE);
    assert_eq!(
        merge_events(&journal),
        vec!["change_committed", "merge_conflict", "conflict_resolved", "merge_refused"]
    );
}

#[tokio::test]
async fn an_answer_that_is_not_json_or_has_a_confidence_above_one_needs_a_human() {
    for bad in ["I merged both lines, looks good.".to_owned(), answer(RESOLVED, 1.7)] {
        let (_tmp, repo, wt, main_before) = conflict();
        let model = Arc::new(Model::scripted(vec![&bad]));
        let journal = Arc::new(MemoryJournal::default());
        let report = step(&journal).with_provider(model).run(MergeRequest::new("t", &wt, "edit")).await.unwrap();
        let MergeOutcome::NeedsHuman { conflicts, .. } = report.outcome.clone() else { panic!("{bad}: {report:?}") };
        let problem = conflicts[0].problem.clone().unwrap_or_default();
        assert!(problem.starts_with("invalid answer"), "{bad}: {problem}");
        assert_eq!(conflicts[0].confidence, None);
        assert_eq!(head_of(&repo, "main"), main_before);
        assert!(!rebase_in_progress(&wt));
        assert_eq!(std::fs::read_to_string(wt.join("a.txt")).unwrap(), TASK_SIDE);
    }
}

#[tokio::test]
async fn a_gate_failing_on_the_rebased_change_refuses_the_merge_and_leaves_the_target() {
    let (_tmp, repo) = repository();
    let wt = worktree(&repo, "task");
    commit_on_main(&repo, "b.txt", "elsewhere\n", "target adds b.txt");
    let main_before = head_of(&repo, "main");
    write(&wt, "c.txt", b"the task\n");
    let journal = Arc::new(MemoryJournal::default());
    // Fails only on the rebased tree: the target's b.txt is there.
    let gate = Arc::new(FnGate(|cx: &GateContext| !cx.root.join("b.txt").exists()));
    let report = step(&journal).with_gate(gate).run(MergeRequest::new("t", &wt, "add c.txt")).await.unwrap();
    let MergeOutcome::GatesFailed { reports } = report.outcome.clone() else { panic!("{report:?}") };
    assert_eq!(reports.len(), 1);
    assert!(!reports[0].passed);
    assert_eq!(head_of(&repo, "main"), main_before, "the target is unchanged");
    assert_eq!(merge_events(&journal), vec!["change_committed", "rebased", "gates_rerun", "merge_refused"]);
    assert!(journal.all().iter().any(|e| matches!(&e.kind, EventKind::GatesRerun { passed: false })));
}

#[tokio::test]
async fn a_target_that_moves_during_the_gates_is_rebased_onto_again_then_merged() {
    let (_tmp, repo) = repository();
    let wt = worktree(&repo, "task");
    write(&wt, "c.txt", b"the task\n");
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = calls.clone();
    let checkout = repo.clone();
    // The first call commits to the target, as another task landing would.
    let gate = Arc::new(FnGate(move |_: &GateContext| {
        if seen.fetch_add(1, Ordering::SeqCst) == 0 {
            commit_on_main(&checkout, "b.txt", "landed meanwhile\n", "landed during the gates");
        }
        true
    }));
    let journal = Arc::new(MemoryJournal::default());
    let report = step(&journal).with_gate(gate).run(MergeRequest::new("t", &wt, "add c.txt")).await.unwrap();
    let MergeOutcome::Merged { commit } = report.outcome.clone() else { panic!("{report:?}") };
    assert_eq!(report.rebases, 2);
    assert_eq!(calls.load(Ordering::SeqCst), 2, "the gates ran again after the second rebase");
    assert_eq!(head_of(&repo, "main"), commit);
    assert_eq!(subjects(&repo, "main"), vec!["add c.txt", "landed during the gates", "base"]);
    let rebased = merge_events(&journal).iter().filter(|e| **e == "rebased").count();
    assert_eq!(rebased, 2);
}

#[tokio::test]
async fn a_target_that_keeps_moving_stops_after_the_allowed_rebases_untouched() {
    let (_tmp, repo) = repository();
    let wt = worktree(&repo, "task");
    write(&wt, "c.txt", b"the task\n");
    let n = Arc::new(Mutex::new(0));
    let checkout = repo.clone();
    let gate = Arc::new(FnGate(move |_: &GateContext| {
        let mut n = n.lock().unwrap();
        *n += 1;
        commit_on_main(&checkout, "b.txt", &format!("move {n}\n"), &format!("move {n}"));
        true
    }));
    let journal = Arc::new(MemoryJournal::default());
    let report = step(&journal)
        .with_config(config().with_max_rebases(2))
        .with_gate(gate)
        .run(MergeRequest::new("t", &wt, "add c.txt"))
        .await
        .unwrap();
    assert_eq!(report.outcome, MergeOutcome::TargetKeptMoving { rebases: 2 });
    assert_eq!(subjects(&repo, "main"), vec!["move 2", "move 1", "base"], "the task never landed");
}

#[tokio::test]
async fn branch_mode_leaves_a_branch_on_the_target_and_does_not_touch_the_target() {
    let (_tmp, repo) = repository();
    let wt = worktree(&repo, "task");
    commit_on_main(&repo, "b.txt", "elsewhere\n", "target adds b.txt");
    let main_before = head_of(&repo, "main");
    write(&wt, "c.txt", b"the task\n");
    let journal = Arc::new(MemoryJournal::default());
    let report = step(&journal)
        .with_config(config().with_landing(Landing::Branch { name: "review/t".into() }))
        .run(MergeRequest::new("t", &wt, "add c.txt"))
        .await
        .unwrap();
    let MergeOutcome::BranchLeft { branch, commit } = report.outcome.clone() else { panic!("{report:?}") };
    assert_eq!(branch, "review/t");
    assert_eq!(head_of(&repo, "review/t"), commit);
    assert_eq!(head_of(&repo, "review/t^"), main_before, "the branch is rebased onto the target");
    assert_eq!(head_of(&repo, "main"), main_before, "the target is unchanged");
    assert_eq!(merge_events(&journal).last(), Some(&"branch_left"));
}

#[tokio::test]
async fn a_clean_worktree_with_no_commits_beyond_the_target_has_nothing_to_merge() {
    let (_tmp, repo) = repository();
    let wt = worktree(&repo, "task");
    let main_before = head_of(&repo, "main");
    let journal = Arc::new(MemoryJournal::default());
    let report = step(&journal).run(MergeRequest::new("t", &wt, "nothing")).await.unwrap();
    assert_eq!(report.outcome, MergeOutcome::NothingToMerge);
    assert_eq!(head_of(&repo, "main"), main_before);
}

#[tokio::test]
async fn a_worktree_on_the_target_branch_is_refused_unless_the_host_allows_it() {
    let (_tmp, repo) = repository();
    write(&repo, "c.txt", b"the task\n");
    let journal = Arc::new(MemoryJournal::default());
    let err = step(&journal).run(MergeRequest::new("t", &repo, "add c.txt")).await.unwrap_err();
    assert!(matches!(err, agent_loop::merge::MergeError::WorktreeOnTarget { .. }), "{err}");
    assert_eq!(subjects(&repo, "main"), vec!["base"]);
    // Allowed: the commit goes on a task branch there, and the target moves to it.
    let report = step(&journal)
        .with_config(config().with_in_target_checkout(true))
        .run(MergeRequest::new("t", &repo, "add c.txt"))
        .await
        .unwrap();
    assert!(matches!(report.outcome, MergeOutcome::Merged { .. }), "{report:?}");
    assert_eq!(report.task_branch, "agentkit/t");
    assert_eq!(git(&repo, &["symbolic-ref", "--short", "HEAD"]).trim(), "agentkit/t");
    assert_eq!(subjects(&repo, "main"), vec!["add c.txt", "base"]);
}

#[tokio::test]
async fn a_remote_target_is_fetched_and_landed_with_a_push() {
    let (_tmp, origin) = repository();
    let clone = origin.parent().unwrap().join("clone");
    git(&origin, &["clone", "-q", origin.to_str().unwrap(), clone.to_str().unwrap()]);
    git(&clone, &["checkout", "-q", "--detach"]);
    // The origin moves after the clone; the push must also not touch origin's checkout.
    commit_on_main(&origin, "b.txt", "upstream\n", "upstream adds b.txt");
    git(&origin, &["checkout", "-q", "--detach"]);
    write(&clone, "c.txt", b"the task\n");
    let journal = Arc::new(MemoryJournal::default());
    let report = step(&journal)
        .with_config(config().with_remote("origin"))
        .run(MergeRequest::new("t", &clone, "add c.txt"))
        .await
        .unwrap();
    let MergeOutcome::Merged { commit } = report.outcome.clone() else { panic!("{report:?}") };
    assert_eq!(head_of(&origin, "main"), commit);
    assert_eq!(subjects(&origin, "main"), vec!["add c.txt", "upstream adds b.txt", "base"]);
}

#[tokio::test]
async fn hooks_and_filter_drivers_configured_in_the_repository_never_run_during_the_merge() {
    let (_tmp, repo) = repository();
    let wt = worktree(&repo, "task");
    let marker = repo.parent().unwrap().join("hook-ran");
    let hooks = repo.join(".git/hooks");
    for hook in ["pre-commit", "commit-msg", "post-commit", "post-rewrite", "reference-transaction", "post-checkout"] {
        let path = hooks.join(hook);
        std::fs::write(&path, format!("#!/bin/sh\ntouch {}\n", marker.display())).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    // A filter driver on every file, as a command could plant one.
    let filter = repo.parent().unwrap().join("filter-ran");
    let run = format!("sh -c 'touch {}; cat'", filter.display());
    git(&repo, &["config", "filter.evil.clean", &run]);
    git(&repo, &["config", "filter.evil.smudge", &run]);
    write(&wt, ".gitattributes", b"* filter=evil\n");
    write(&wt, "c.txt", b"the task\n");
    let journal = Arc::new(MemoryJournal::default());
    let report = step(&journal).run(MergeRequest::new("t", &wt, "add c.txt")).await.unwrap();
    assert!(matches!(report.outcome, MergeOutcome::Merged { .. }), "{report:?}");
    assert!(!marker.exists(), "a hook ran");
    assert!(!filter.exists(), "a filter driver ran");
    assert_eq!(git(&repo, &["show", "main:c.txt"]), "the task\n");
}

#[tokio::test]
async fn leaving_the_change_on_the_target_branch_itself_is_an_invalid_configuration() {
    let (_tmp, repo) = repository();
    let wt = worktree(&repo, "task");
    write(&wt, "c.txt", b"the task\n");
    let journal = Arc::new(MemoryJournal::default());
    let err = step(&journal)
        .with_config(config().with_landing(Landing::Branch { name: "main".into() }))
        .run(MergeRequest::new("t", &wt, "add c.txt"))
        .await
        .unwrap_err();
    assert!(matches!(err, agent_loop::merge::MergeError::InvalidConfig { .. }), "{err}");
    assert_eq!(subjects(&repo, "main"), vec!["base"]);
    assert!(journal.all().is_empty(), "nothing was done");
}

#[tokio::test]
async fn a_worktree_with_a_rebase_already_stopped_in_it_is_left_alone() {
    let (_tmp, repo, wt, main_before) = conflict();
    git(&wt, &["commit", "-q", "-am", "the task's edit"]);
    let stopped = std::process::Command::new("git")
        .current_dir(&wt)
        .args(["-c", "user.name=t", "-c", "user.email=t@t", "rebase", "-q", "main"])
        .output()
        .unwrap();
    assert!(!stopped.status.success(), "the rebase stops on the conflict");
    let journal = Arc::new(MemoryJournal::default());
    let err = step(&journal).run(MergeRequest::new("t", &wt, "edit")).await.unwrap_err();
    assert!(matches!(err, agent_loop::merge::MergeError::RebaseInProgress { .. }), "{err}");
    assert!(rebase_in_progress(&wt), "the stopped rebase is still there");
    assert_eq!(head_of(&repo, "main"), main_before);
}

#[tokio::test]
async fn a_clean_checkout_of_the_target_follows_the_merge_and_shows_no_change() {
    let (_tmp, repo) = repository();
    let wt = worktree(&repo, "task");
    write(&wt, "b.txt", b"from the task\n");
    write(&repo, "notes.txt", b"the user's untracked notes\n");
    let journal = Arc::new(MemoryJournal::default());
    let report = step(&journal).run(MergeRequest::new("t1", &wt, "add b.txt")).await.unwrap();
    assert!(matches!(report.outcome, MergeOutcome::Merged { .. }), "{report:?}");
    // The user's checkout of main now holds the change, and git sees
    // nothing to commit but the user's own untracked file.
    assert_eq!(std::fs::read_to_string(repo.join("b.txt")).unwrap(), "from the task\n");
    assert_eq!(git(&repo, &["status", "--porcelain"]), "?? notes.txt\n");
}

#[tokio::test]
async fn a_checkout_of_the_target_with_local_changes_refuses_the_landing_and_keeps_them() {
    let (_tmp, repo) = repository();
    let wt = worktree(&repo, "task");
    write(&wt, "b.txt", b"from the task\n");
    write(&repo, "a.txt", b"the user is still editing this\n");
    let before = head_of(&repo, "main");
    let journal = Arc::new(MemoryJournal::default());
    let report = step(&journal).run(MergeRequest::new("t1", &wt, "add b.txt")).await.unwrap();
    let MergeOutcome::NeedsHuman { conflicts, reason } = &report.outcome else { panic!("{report:?}") };
    assert!(conflicts.is_empty());
    assert!(reason.contains("uncommitted changes") && reason.contains("checked out"), "{reason}");
    assert_eq!(head_of(&repo, "main"), before, "the target is untouched");
    assert_eq!(std::fs::read_to_string(repo.join("a.txt")).unwrap(), "the user is still editing this\n");
    assert!(!repo.join("b.txt").exists());
    assert_eq!(merge_events(&journal).last(), Some(&"merge_refused"));
}

#[tokio::test]
async fn a_checkout_whose_untracked_file_the_merge_would_overwrite_undoes_the_landing() {
    let (_tmp, repo) = repository();
    let wt = worktree(&repo, "task");
    write(&wt, "b.txt", b"from the task\n");
    write(&repo, "b.txt", b"the user's own untracked b.txt\n");
    let before = head_of(&repo, "main");
    let journal = Arc::new(MemoryJournal::default());
    let report = step(&journal).run(MergeRequest::new("t1", &wt, "add b.txt")).await.unwrap();
    let MergeOutcome::NeedsHuman { reason, .. } = &report.outcome else { panic!("{report:?}") };
    assert!(reason.contains("could not follow"), "{reason}");
    assert_eq!(head_of(&repo, "main"), before, "the compare-and-swap was undone");
    assert_eq!(std::fs::read_to_string(repo.join("b.txt")).unwrap(), "the user's own untracked b.txt\n");
    assert_eq!(git(&repo, &["status", "--porcelain"]), "?? b.txt\n", "the checkout is as it was");
    assert!(!merge_events(&journal).contains(&"merged"));
}

/// A Python project on `main` (pytest) with one passing test and one that
/// already fails, and a `.gitignore` for the caches a run writes.
fn python_repository() -> (tempfile::TempDir, PathBuf) {
    let (tmp, repo) = agent_testkit::init_repo_in_temp();
    write(
        &repo,
        "pyproject.toml",
        b"[project]\nname = \"calc\"\nversion = \"0.1.0\"\n\n[tool.pytest.ini_options]\ntestpaths = [\"tests\"]\n",
    );
    write(&repo, ".gitignore", b"__pycache__/\n.pytest_cache/\n");
    write(&repo, "calc.py", b"def add(a, b):\n    return a + b\n");
    write(
        &repo,
        "tests/test_calc.py",
        b"from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n\n\ndef test_flaky():\n    assert add(0.1, 0.2) == 0.3\n",
    );
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-q", "-m", "base"]);
    (tmp, repo)
}

/// A gate double that records the baseline and the `HEAD` it was given.
#[derive(Default)]
struct SeesBaseline(Mutex<Vec<(Option<agent_core::gate::TestBaseline>, String)>>);

#[async_trait]
impl Gate for SeesBaseline {
    async fn check(&self, cx: &GateContext) -> Result<GateReport, GateError> {
        let head = git(&cx.root, &["rev-parse", "HEAD"]).trim().to_owned();
        self.0.lock().unwrap().push((cx.test_baseline.clone(), head));
        Ok(GateReport::new("double", true, "recorded"))
    }
}

/// A step on the Python worktree `wt` (its inspected profile), with the
/// recording gate and the target's head as the tests baseline.
async fn python_merge_step(journal: &Arc<MemoryJournal>, wt: &Path) -> (MergeStep, Arc<SeesBaseline>) {
    use agent_core::WorkspaceOracle;
    let profile = agent_oracles::default_oracle().inspect(wt).await.unwrap();
    let seen = Arc::new(SeesBaseline::default());
    let step = step(journal)
        .with_profile(profile)
        .with_gate(seen.clone())
        .with_target_baseline(Arc::new(agent_classify::AutoClassifier::new()));
    (step, seen)
}

#[tokio::test]
async fn the_suite_run_at_the_targets_head_is_the_gates_baseline_and_the_worktree_returns_to_the_task_branch() {
    use agent_core::failure::TestStatus;
    let (_tmp, repo) = python_repository();
    let wt = worktree(&repo, "task");
    write(&wt, "twice.py", b"from calc import add\n\n\ndef twice(x):\n    return add(x, x)\n");
    write(&wt, "tests/test_twice.py", b"from twice import twice\n\n\ndef test_twice():\n    assert twice(21) == 42\n");
    // The target moves on: a test the task's base lacks.
    commit_on_main(
        &repo,
        "tests/test_more.py",
        "from calc import add\n\n\ndef test_more():\n    assert add(-1, 1) == 0\n",
        "more",
    );
    let target = head_of(&repo, "main");
    let journal = Arc::new(MemoryJournal::default());
    let (step, seen) = python_merge_step(&journal, &wt).await;

    let report = step.run(MergeRequest::new("t", &wt, "add twice")).await.unwrap();
    let MergeOutcome::Merged { commit } = report.outcome.clone() else { panic!("{report:?}") };
    let seen = seen.0.lock().unwrap();
    assert_eq!(seen.len(), 1, "{seen:?}");
    let (baseline, head_at_gate) = &seen[0];
    let baseline = baseline.as_ref().expect("the gate was given a baseline");
    assert!(baseline.new_tests_must_pass);
    assert!(baseline.command.contains("pytest"), "{}", baseline.command);
    let status = |name: &str| baseline.outcomes.iter().find(|o| o.is_named(name)).map(|o| o.status);
    // Taken at the target's head: its new test is there, the task's is not, the failing one fails.
    assert_eq!(status("test_more"), Some(TestStatus::Passed), "{baseline:?}");
    assert_eq!(status("test_add"), Some(TestStatus::Passed));
    assert_eq!(status("test_flaky"), Some(TestStatus::Failed));
    assert_eq!(status("test_twice"), None, "the task's test ran at the target's head: {baseline:?}");
    // The gates ran on the rebased change, with the worktree back on the task branch.
    assert_eq!(*head_at_gate, commit);
    assert_eq!(head_of(&repo, &format!("{commit}^")), target);
    assert_eq!(git(&wt, &["symbolic-ref", "--short", "HEAD"]).trim(), "agentkit/t");
    assert_eq!(git(&wt, &["status", "--porcelain"]), "");
    // Journaled: the run, between the rebase and the gates.
    let kinds: Vec<&str> = journal
        .all()
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Rebased { .. } => Some("rebased"),
            EventKind::Run { command, .. } if command.contains("pytest") => Some("run"),
            EventKind::GatesRerun { .. } => Some("gates_rerun"),
            _ => None,
        })
        .collect();
    assert_eq!(kinds, ["rebased", "run", "gates_rerun"]);
}

#[tokio::test]
async fn a_baseline_the_request_brings_is_used_and_no_suite_runs_at_the_target() {
    let (_tmp, repo) = python_repository();
    let wt = worktree(&repo, "task");
    write(&wt, "twice.py", b"def twice(x):\n    return 2 * x\n");
    let given = agent_core::gate::TestBaseline::new("given", Some(0), vec![]);
    let journal = Arc::new(MemoryJournal::default());
    let (step, seen) = python_merge_step(&journal, &wt).await;

    let report = step.run(MergeRequest::new("t", &wt, "add twice").with_test_baseline(given.clone())).await.unwrap();
    assert!(matches!(report.outcome, MergeOutcome::Merged { .. }), "{report:?}");
    assert_eq!(seen.0.lock().unwrap()[0].0.as_ref(), Some(&given));
    assert!(!journal.all().iter().any(|e| matches!(e.kind, EventKind::Run { .. })), "a suite ran");
}

#[tokio::test]
async fn a_suite_that_cannot_run_on_this_machine_at_the_targets_head_needs_a_human_and_no_gate_runs() {
    let (_tmp, repo) = python_repository();
    let wt = worktree(&repo, "task");
    write(&wt, "twice.py", b"def twice(x):\n    return 2 * x\n");
    // The target now needs a package it declares and this machine lacks:
    // every test module fails to import, no test runs.
    commit_on_main(
        &repo,
        "pyproject.toml",
        "[project]\nname = \"calc\"\nversion = \"0.1.0\"\ndependencies = [\"agentkit-absent-dependency\"]\n\n[tool.pytest.ini_options]\ntestpaths = [\"tests\"]\n",
        "declare a dependency",
    );
    commit_on_main(&repo, "tests/conftest.py", "import agentkit_absent_dependency\n", "use it");
    let target = head_of(&repo, "main");
    let journal = Arc::new(MemoryJournal::default());
    let (step, seen) = python_merge_step(&journal, &wt).await;

    let report = step.run(MergeRequest::new("t", &wt, "add twice")).await.unwrap();
    let MergeOutcome::NeedsHuman { reason, conflicts } = &report.outcome else { panic!("{report:?}") };
    assert!(conflicts.is_empty());
    assert!(reason.contains("the test suite cannot run here"), "{reason}");
    assert!(reason.contains("agentkit_absent_dependency"), "the cause is named: {reason}");
    assert!(seen.0.lock().unwrap().is_empty(), "a gate ran on a machine that cannot run the suite");
    assert_eq!(head_of(&repo, "main"), target, "the target is untouched");
    assert_eq!(git(&wt, &["symbolic-ref", "--short", "HEAD"]).trim(), "agentkit/t");
    assert_eq!(merge_events(&journal), ["change_committed", "rebased", "merge_refused"]);
    assert!(journal.all().iter().any(|e| matches!(e.kind, EventKind::Run { .. })), "the run is journaled");
}

#[tokio::test]
async fn a_test_program_missing_from_the_machine_needs_a_human_not_an_error() {
    let (_tmp, repo) = python_repository();
    let wt = worktree(&repo, "task");
    write(&wt, "twice.py", b"def twice(x):\n    return 2 * x\n");
    commit_on_main(&repo, "NOTES.md", "the target moves\n", "notes");
    let target = head_of(&repo, "main");
    use agent_core::WorkspaceOracle;
    let mut profile = agent_oracles::default_oracle().inspect(&wt).await.unwrap();
    let primary = profile.projects.iter_mut().find(|p| p.test.is_some()).expect("a test command");
    primary.test.as_mut().unwrap().program = "agentkit-no-such-test-runner".to_owned();
    let journal = Arc::new(MemoryJournal::default());
    let seen = Arc::new(SeesBaseline::default());
    let step = step(&journal)
        .with_profile(profile)
        .with_gate(seen.clone())
        .with_target_baseline(Arc::new(agent_classify::AutoClassifier::new()));

    let report = step.run(MergeRequest::new("t", &wt, "add twice")).await.unwrap();
    let MergeOutcome::NeedsHuman { reason, .. } = &report.outcome else { panic!("{report:?}") };
    assert!(reason.contains("cannot run here") && reason.contains("agentkit-no-such-test-runner"), "{reason}");
    assert!(seen.0.lock().unwrap().is_empty());
    assert_eq!(head_of(&repo, "main"), target);
    assert_eq!(git(&wt, &["symbolic-ref", "--short", "HEAD"]).trim(), "agentkit/t", "back on the task branch");
    assert_eq!(git(&wt, &["status", "--porcelain"]), "");
}

#[tokio::test]
async fn python_bytecode_a_repository_does_not_ignore_stays_out_of_the_landed_change() {
    let (_tmp, repo) = repository();
    // A repository that tracks one `.pyc` on purpose and ignores none.
    commit_on_main(&repo, "vendor/legacy.pyc", "old bytes\n", "a tracked pyc");
    let wt = worktree(&repo, "task");
    write(&wt, "twice.py", b"def twice(x):\n    return 2 * x\n");
    write(&wt, "vendor/legacy.pyc", b"new bytes\n");
    // What the task's test runs wrote.
    write(&wt, "__pycache__/twice.cpython-311.pyc", b"\x00bytecode");
    write(&wt, "pkg/__pycache__/mod.cpython-311.pyc", b"\x00bytecode");
    write(&wt, "stray.pyc", b"\x00bytecode");
    let journal = Arc::new(MemoryJournal::default());
    let report = step(&journal).run(MergeRequest::new("t", &wt, "add twice")).await.unwrap();
    assert!(matches!(report.outcome, MergeOutcome::Merged { .. }), "{report:?}");
    let files = git(&repo, &["ls-tree", "-r", "--name-only", "main"]);
    let files: Vec<&str> = files.lines().collect();
    assert_eq!(files, ["a.txt", "twice.py", "vendor/legacy.pyc"], "bytecode was committed");
    assert_eq!(git(&repo, &["show", "main:vendor/legacy.pyc"]), "new bytes\n", "the tracked pyc's change landed");
    // The bytecode is still in the worktree, untracked.
    let untracked = git(&wt, &["status", "--porcelain", "--untracked-files=all"]);
    assert!(untracked.contains("?? __pycache__/twice.cpython-311.pyc"), "{untracked}");
    assert!(untracked.contains("?? stray.pyc"), "{untracked}");
}

#[tokio::test]
async fn a_worktree_holding_only_python_bytecode_has_nothing_to_merge() {
    let (_tmp, repo) = repository();
    let wt = worktree(&repo, "task");
    write(&wt, "__pycache__/a.cpython-311.pyc", b"\x00bytecode");
    let main_before = head_of(&repo, "main");
    let journal = Arc::new(MemoryJournal::default());
    let report = step(&journal).run(MergeRequest::new("t", &wt, "nothing")).await.unwrap();
    assert_eq!(report.outcome, MergeOutcome::NothingToMerge);
    assert_eq!(head_of(&repo, "main"), main_before);
    assert!(!merge_events(&journal).contains(&"change_committed"));
}
