//! Helpers shared by the tests: git driving, tree states, process liveness.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

pub(crate) use agent_testkit::{git, init_repo, write};

pub(crate) fn set_exec(root: &Path, rel: &str, exec: bool) {
    let path = root.join(rel);
    let mode = if exec { 0o755 } else { 0o644 };
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

/// What is at one path of a working tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Entry {
    File { bytes: Vec<u8>, executable: bool },
    Symlink(std::path::PathBuf),
    Dir,
}

/// Every path under `root` except `.git`, with its content, exec bit or link target.
pub(crate) fn tree_state(root: &Path) -> BTreeMap<String, Entry> {
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Entry>) {
    for entry in std::fs::read_dir(dir).expect("read_dir") {
        let entry = entry.expect("entry");
        if entry.file_name() == ".git" {
            continue;
        }
        let path = entry.path();
        let rel = path.strip_prefix(root).expect("under root").to_string_lossy().into_owned();
        let meta = std::fs::symlink_metadata(&path).expect("lstat");
        if meta.file_type().is_symlink() {
            out.insert(rel, Entry::Symlink(std::fs::read_link(&path).expect("readlink")));
        } else if meta.is_dir() {
            out.insert(rel, Entry::Dir);
            walk(root, &path, out);
        } else {
            let executable = meta.permissions().mode() & 0o111 != 0;
            out.insert(rel, Entry::File { bytes: std::fs::read(&path).expect("read"), executable });
        }
    }
}

/// Whether `pid` is a live (non-zombie) process.
pub(crate) fn alive(pid: i32) -> bool {
    let exists = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).is_ok();
    if !exists {
        return false;
    }
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            let state = stat.rsplit_once(')').map(|(_, rest)| rest.trim_start().chars().next());
            !matches!(state, Some(Some('Z' | 'X')))
        }
        Err(_) => false,
    }
}

/// Waits (generously) for `pid` to be gone; true when it is.
pub(crate) fn gone_within(pid: i32, limit: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if !alive(pid) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    !alive(pid)
}

/// Reads a pid written by a shell into `file`, waiting for it to appear.
pub(crate) fn read_pid(file: &Path) -> i32 {
    let start = Instant::now();
    loop {
        if let Ok(text) = std::fs::read_to_string(file) {
            if let Ok(pid) = text.trim().parse() {
                return pid;
            }
        }
        assert!(start.elapsed() < Duration::from_secs(10), "no pid in {}", file.display());
        std::thread::sleep(Duration::from_millis(20));
    }
}
