//! Fixture helpers shared by the tests.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The repository root.
pub(crate) fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A fresh copy of fixture `name` as a git repository with uncommitted user
/// work (see examples/fixtures/setup.sh), in its own temporary directory.
pub(crate) fn fixture(name: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join(name);
    let status =
        Command::new("bash").arg(repo().join("examples/fixtures/setup.sh")).arg(name).arg(&work).status().unwrap();
    assert!(status.success(), "setup.sh {name} failed");
    let work = work.canonicalize().unwrap();
    (dir, work)
}

/// Every non-ignored file with its mode and content, plus HEAD, the index
/// bytes and `git status`: two equal manifests mean a byte-identical workspace.
pub(crate) fn manifest(root: &Path) -> String {
    fn walk(root: &Path, rel: &Path, out: &mut Vec<String>) {
        let mut entries: Vec<_> = std::fs::read_dir(root.join(rel)).unwrap().map(|e| e.unwrap()).collect();
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let name = entry.file_name();
            let path = rel.join(&name);
            if rel.as_os_str().is_empty() && (name == ".git" || name == "target") {
                continue;
            }
            let meta = std::fs::symlink_metadata(root.join(&path)).unwrap();
            if meta.is_dir() {
                out.push(format!("dir {}", path.display()));
                walk(root, &path, out);
            } else {
                use std::os::unix::fs::PermissionsExt;
                let bytes = std::fs::read(root.join(&path)).unwrap_or_default();
                out.push(format!("file {} {:o} {:?}", path.display(), meta.permissions().mode(), bytes));
            }
        }
    }
    let mut out = Vec::new();
    walk(root, Path::new(""), &mut out);
    out.push(git(root, &["rev-parse", "HEAD"]));
    out.push(format!("{:?}", std::fs::read(root.join(".git/index")).unwrap()));
    out.push(git(root, &["--no-optional-locks", "status", "--porcelain=v1", "--untracked-files=all"]));
    out.push(git(root, &["for-each-ref"]));
    out.join("\n")
}

/// Runs git in `root` and returns its stdout.
pub(crate) fn git(root: &Path, args: &[&str]) -> String {
    let out = Command::new("git").arg("-C").arg(root).args(args).output().unwrap();
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// Runs git in `root` with an identity (for setting up the user's own
/// state: commits, stashes) and returns its stdout.
pub(crate) fn git_as_user(root: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .current_dir(root)
        .args(["-c", "user.name=user", "-c", "user.email=user@example.invalid", "-c", "commit.gpgsign=false"])
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// The agentctl example binary that `cargo test` built beside this test binary.
pub(crate) fn agentctl() -> Command {
    let exe = std::env::current_exe().unwrap();
    let debug_dir = exe.parent().and_then(Path::parent).unwrap();
    let bin = debug_dir.join("examples").join("agentctl");
    assert!(bin.is_file(), "agentctl not built at {}", bin.display());
    let mut cmd = Command::new(bin);
    cmd.env_remove("OPENAI_API_KEY").env_remove("OPENAI_BASE_URL");
    cmd
}

/// An OpenAI Chat Completions response (the real wire shape) whose message
/// is one call of tool `name` with `args`, for scripted model servers.
pub(crate) fn openai_tool_call(n: usize, name: &str, args: serde_json::Value) -> serde_json::Value {
    serde_json::json!({
        "id": format!("chatcmpl-{n}"), "object": "chat.completion", "model": "gpt-4.1-mini",
        "choices": [{
            "index": 0,
            "message": {
                "role": "assistant", "content": null,
                "tool_calls": [{ "id": format!("call_{n}"), "type": "function",
                                 "function": { "name": name, "arguments": args.to_string() } }]
            },
            "finish_reason": "tool_calls"
        }],
        "usage": { "prompt_tokens": 900, "completion_tokens": 30, "total_tokens": 930 }
    })
}

/// The one JSON document a command printed on stdout; panics with its
/// stdout and stderr when it is not one.
pub(crate) fn stdout_json(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not one JSON document ({e}):\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}
