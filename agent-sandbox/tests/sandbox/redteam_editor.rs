//! `FileEditor` against a hostile workspace (issue 19): directories swapped for
//! symlinks mid-write, symlinks handed to `DeleteFile`, FIFOs and sockets
//! where a file is expected, random paths full of `..`, links and `.git`.
//! Nothing outside the root is ever created, changed or removed.

use agent_core::Editor;
use agent_core::edit::EditError;
use agent_core::plan::Action;
use agent_sandbox::FileEditor;
use proptest::prelude::*;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// `outer/root` is the workspace; `outer/outside` is where escapes would land.
struct Fixture {
    outer: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Self {
        let outer = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(outer.path().join("root/.git")).unwrap();
        std::fs::write(outer.path().join("root/.git/config"), "[core]\n").unwrap();
        std::fs::create_dir(outer.path().join("outside")).unwrap();
        std::fs::write(outer.path().join("outside/secret.txt"), "keep me").unwrap();
        Self { outer }
    }
    fn root(&self) -> PathBuf {
        self.outer.path().join("root")
    }
    fn outside(&self) -> PathBuf {
        self.outer.path().join("outside")
    }
}

/// Every entry under `dir` (not following symlinks) with its kind and
/// content, leaving out the subtree at `skip`.
fn listing_except(dir: &Path, skip: &Path) -> Vec<(String, String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            if e.path() == skip {
                continue;
            }
            let meta = std::fs::symlink_metadata(e.path()).unwrap();
            let (kind, content) = if meta.file_type().is_symlink() {
                ("link", std::fs::read_link(e.path()).unwrap().into_os_string().into_encoded_bytes())
            } else if meta.is_file() {
                ("file", std::fs::read(e.path()).unwrap())
            } else if meta.is_dir() {
                stack.push(e.path());
                ("dir", Vec::new())
            } else {
                ("special", Vec::new())
            };
            out.push((e.path().to_string_lossy().into_owned(), kind.to_owned(), content));
        }
    }
    out.sort();
    out
}

/// Every entry under `dir`.
fn listing(dir: &Path) -> Vec<(String, String, Vec<u8>)> {
    listing_except(dir, Path::new(""))
}

/// The outer directory's entries except the workspace root's subtree
/// (which the racing thread keeps changing).
fn outside_root(fx: &Fixture) -> Vec<(String, String, Vec<u8>)> {
    listing_except(fx.outer.path(), &fx.root())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_directory_swapped_for_a_symlink_mid_edit_never_lets_an_edit_reach_outside_the_root() {
    let fx = Fixture::new();
    let root = fx.root();
    std::fs::create_dir(root.join("d")).unwrap();
    std::fs::write(root.join("d/victim.txt"), "inside").unwrap();
    // Lures: the same names outside, so a redirected edit would find them.
    std::fs::write(fx.outside().join("victim.txt"), "inside").unwrap();
    std::os::unix::fs::symlink(fx.outside(), root.join("swap")).unwrap();
    let before = outside_root(&fx);

    // `d` flips between the real directory and a symlink to `outside`,
    // atomically (RENAME_EXCHANGE), as fast as the thread can go.
    let stop = Arc::new(AtomicBool::new(false));
    let swapper = {
        let stop = Arc::clone(&stop);
        let (d, swap) = (root.join("d"), root.join("swap"));
        std::thread::spawn(move || {
            let mut swaps = 0u64;
            while !stop.load(Ordering::Relaxed) {
                rustix::fs::renameat_with(
                    rustix::fs::CWD,
                    &d,
                    rustix::fs::CWD,
                    &swap,
                    rustix::fs::RenameFlags::EXCHANGE,
                )
                .unwrap();
                swaps += 1;
            }
            // Leave `d` as the real directory.
            if std::fs::symlink_metadata(&d).unwrap().file_type().is_symlink() {
                rustix::fs::renameat_with(
                    rustix::fs::CWD,
                    &d,
                    rustix::fs::CWD,
                    &swap,
                    rustix::fs::RenameFlags::EXCHANGE,
                )
                .unwrap();
            }
            swaps
        })
    };

    let editor = FileEditor::new();
    let (mut applied, mut refused) = (0usize, 0usize);
    let mut escaped = false;
    for i in 0..1500 {
        let action = match i % 3 {
            0 => Action::WriteFile { path: format!("d/new-{i}.txt"), content: "evil".into() },
            1 => Action::ReplaceBlock { path: "d/victim.txt".into(), old: "inside".into(), new: "inside".into() },
            _ => Action::WriteFile { path: "d/victim.txt".into(), content: "inside".into() },
        };
        // Any typed refusal is fine; only a write outside is a failure.
        match editor.apply(&root, &action).await {
            Ok(_) => applied += 1,
            Err(EditError::OutsideWorkspace { .. } | EditError::PathChanged { .. }) => refused += 1,
            Err(_) => {}
        }
        if i % 50 == 49 && outside_root(&fx) != before {
            escaped = true;
            break;
        }
    }
    stop.store(true, Ordering::Relaxed);
    let swaps = swapper.join().unwrap();
    assert!(!escaped, "an edit landed outside the root: {:#?}", outside_root(&fx));
    assert_eq!(outside_root(&fx), before, "an edit landed outside the root");
    assert!(swaps > 0, "the swapper never ran");
    assert!(applied > 0, "no edit succeeded at all: the race test proved nothing");
    assert!(refused > 0, "no edit met the swapped symlink: the race test proved nothing");
}

#[tokio::test]
async fn deleting_a_symlink_removes_the_link_and_never_its_target() {
    let fx = Fixture::new();
    let root = fx.root();
    std::fs::write(root.join("real.txt"), "stay").unwrap();
    std::os::unix::fs::symlink(fx.outside().join("secret.txt"), root.join("out-link")).unwrap();
    std::os::unix::fs::symlink("real.txt", root.join("in-link")).unwrap();
    std::fs::create_dir(root.join("sub")).unwrap();
    std::os::unix::fs::symlink("../real.txt", root.join("sub/up-link")).unwrap();
    let editor = FileEditor::new();

    for link in ["out-link", "in-link", "sub/up-link"] {
        let change = editor.apply(&root, &Action::DeleteFile { path: link.into() }).await.unwrap();
        assert_eq!((change.path.as_str(), change.change.as_str(), change.sha256), (link, "deleted", None));
        let gone = std::fs::symlink_metadata(root.join(link));
        assert!(gone.is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound), "{link} still there");
    }
    assert_eq!(std::fs::read_to_string(fx.outside().join("secret.txt")).unwrap(), "keep me");
    assert_eq!(std::fs::read_to_string(root.join("real.txt")).unwrap(), "stay");
}

/// Applies `action` with a hang check: a FIFO opened for reading without a
/// writer blocks forever, so on timeout the FIFO gets a writer (unblocking
/// the stuck thread, so the runtime can shut down) and the test fails.
async fn apply_or_unblock(
    root: &Path,
    fifo: &Path,
    action: &Action,
) -> Result<agent_core::edit::FileChange, EditError> {
    match tokio::time::timeout(Duration::from_secs(5), FileEditor::new().apply(root, action)).await {
        Ok(result) => result,
        Err(_) => {
            let _writer = std::fs::OpenOptions::new().write(true).open(fifo);
            panic!("{action:?} on a FIFO hung for 5s");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fifo_or_socket_is_refused_as_not_a_regular_file_without_blocking() {
    let fx = Fixture::new();
    let root = fx.root();
    let fifo = root.join("pipe");
    rustix::fs::mkfifoat(rustix::fs::CWD, &fifo, rustix::fs::Mode::from_raw_mode(0o644)).unwrap();
    let _listener = std::os::unix::net::UnixListener::bind(root.join("sock")).unwrap();

    let attempts = [
        Action::ReplaceBlock { path: "pipe".into(), old: "a".into(), new: "b".into() },
        Action::WriteFile { path: "pipe".into(), content: "x".into() },
        Action::ReplaceBlock { path: "sock".into(), old: "a".into(), new: "b".into() },
        Action::WriteFile { path: "sock".into(), content: "x".into() },
    ];
    for action in &attempts {
        let err = apply_or_unblock(&root, &fifo, action).await.unwrap_err();
        let expected = action.path().unwrap();
        assert!(matches!(err, EditError::NotARegularFile { ref path } if path == expected), "{action:?}: {err:?}");
    }
    let kind = std::fs::symlink_metadata(&fifo).unwrap().file_type();
    assert!(std::os::unix::fs::FileTypeExt::is_fifo(&kind), "the FIFO was replaced");
}

/// One component of a generated path: names that exist (files, dirs, links
/// in and out of the root, into `.git`), names that do not, `.` and `..`.
fn component() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "a",
        "f.txt",
        "new",
        "..",
        ".",
        ".git",
        ".GIT",
        "config",
        "out",
        "out-file",
        "in",
        "gitlink",
        "secret.txt",
    ])
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, .. ProptestConfig::default() })]

    /// Whatever the path and the action, nothing outside the root and
    /// nothing in `.git` changes.
    #[test]
    fn no_edit_ever_changes_anything_outside_the_root_or_in_dot_git(
        parts in prop::collection::vec(component(), 1..5),
        kind in 0u8..3,
    ) {
        let fx = Fixture::new();
        let root = fx.root();
        std::fs::create_dir(root.join("a")).unwrap();
        std::fs::write(root.join("a/f.txt"), "keep me").unwrap();
        std::fs::write(root.join("f.txt"), "keep me").unwrap();
        std::os::unix::fs::symlink(fx.outside(), root.join("out")).unwrap();
        std::os::unix::fs::symlink(fx.outside().join("secret.txt"), root.join("out-file")).unwrap();
        std::os::unix::fs::symlink("a", root.join("in")).unwrap();
        std::os::unix::fs::symlink(".git", root.join("gitlink")).unwrap();
        let before = outside_root(&fx);
        let git_before = listing(&root.join(".git"));

        let path = parts.join("/");
        let action = match kind {
            0 => Action::WriteFile { path, content: "evil".into() },
            1 => Action::ReplaceBlock { path, old: "keep me".into(), new: "evil".into() },
            _ => Action::DeleteFile { path },
        };
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let _ = rt.block_on(FileEditor::new().apply(&root, &action));
        prop_assert_eq!(outside_root(&fx), before, "{:?} changed something outside the root", action);
        prop_assert_eq!(listing(&root.join(".git")), git_before, "{:?} changed .git", action);
    }
}
