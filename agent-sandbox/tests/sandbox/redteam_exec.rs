//! The sandbox red team: hostile commands, each run for real on this kernel
//! under the policy that should stop it. Each must be denied or contained,
//! and the denial told apart (`denial_suspected`). Where a kernel feature is
//! missing, the test asserts the refusal or the report saying so: no test
//! passes by doing nothing.

use crate::common::{git, init_repo, write};
use agent_core::exec::{CommandSpec, Enforcement, ExecError, RunOutput, SandboxPolicy};
use agent_core::{Executor, Snapshotter};
use agent_sandbox::{NamespaceSupport, ProcessExecutor};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

fn ww() -> SandboxPolicy {
    SandboxPolicy::WorkspaceWrite { enforcement: Enforcement::Required }
}

fn nonet() -> SandboxPolicy {
    SandboxPolicy::NoNetwork { enforcement: Enforcement::Required }
}

fn both() -> SandboxPolicy {
    SandboxPolicy::WorkspaceWriteNoNetwork { enforcement: Enforcement::Required }
}

/// An executor for `workspace`, its sandbox temp dir and logs in `host_tmp`
/// (standing for the host's `$TMPDIR`), with an empty fake home.
fn executor(workspace: &Path, host_tmp: &Path) -> ProcessExecutor {
    ProcessExecutor::new()
        .with_default_cwd(workspace.to_path_buf())
        .with_log_dir(host_tmp.join("agentkit-logs"))
        .with_sandbox_temp_dir(Some(host_tmp.to_path_buf()))
        .with_report_dir(host_tmp.to_path_buf())
        .with_kill_grace(Duration::from_millis(300))
}

fn sh(script: &str) -> CommandSpec {
    CommandSpec::new("sh").args(["-c", script]).wall_timeout(Duration::from_secs(60))
}

fn py(script: &str) -> CommandSpec {
    CommandSpec::new("python3").args(["-c", script]).wall_timeout(Duration::from_secs(60))
}

/// Whether this machine enforces every part of the policies used here; when
/// not, each test asserts the refusal instead.
fn enforceable() -> bool {
    agent_sandbox::landlock_supported()
        && agent_sandbox::namespace_support() != NamespaceSupport::None
        && agent_sandbox::seccomp_supported()
}

async fn run_or_refused(exec: &ProcessExecutor, spec: CommandSpec) -> Option<RunOutput> {
    let result = exec.run(spec).await;
    if enforceable() {
        Some(result.unwrap())
    } else {
        assert!(matches!(result, Err(ExecError::SandboxUnavailable { .. })), "{result:?}");
        None
    }
}

/// Every file beneath `dir` with its bytes (symlinks as their target).
fn snapshot_files(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            let meta = std::fs::symlink_metadata(&p).unwrap();
            if meta.is_dir() {
                stack.push(p);
            } else if meta.file_type().is_symlink() {
                out.insert(p.clone(), std::fs::read_link(&p).unwrap().into_os_string().into_encoded_bytes());
            } else {
                out.insert(p.clone(), std::fs::read(&p).unwrap_or_default());
            }
        }
    }
    out
}

fn assert_denial_told(out: &RunOutput) {
    assert!(out.sandbox.denial_suspected.is_some(), "denial not told apart: {:?}\n{}", out.sandbox, out.stderr.text());
}

#[tokio::test]
async fn a_command_under_workspace_write_cannot_plant_git_hooks_config_attributes_or_swap_the_git_dir() {
    let repo = init_repo();
    write(repo.path(), "src/lib.rs", b"fn main() {}\n");
    git(repo.path(), &["add", "-A"]);
    git(repo.path(), &["commit", "-qm", "init"]);
    let host_tmp = tempfile::tempdir().unwrap();
    let before = snapshot_files(&repo.path().join(".git"));
    let script = "echo 'touch /tmp/pwned' > .git/hooks/post-checkout && echo hook-planted; \
                  printf '[core]\\n\\tfsmonitor = /tmp/evil\\n' >> .git/config && echo config-planted; \
                  mkdir -p .git/info; echo '* filter=evil' > .git/info/attributes && echo attributes-planted; \
                  mv .git .git-old && echo moved; rm -rf .git && echo removed; \
                  echo changed > src/lib.rs && echo workspace-written";
    let exec = executor(repo.path(), host_tmp.path());
    let Some(out) = run_or_refused(&exec, sh(script).sandbox(ww())).await else { return };
    let said = out.stdout.text();
    for planted in ["hook-planted", "config-planted", "attributes-planted", "moved", "removed"] {
        assert!(!said.contains(planted), "{planted}: {said}\n{}", out.stderr.text());
    }
    assert!(said.contains("workspace-written"), "the workspace itself stays writable: {said}");
    assert_eq!(std::fs::read_to_string(repo.path().join("src/lib.rs")).unwrap(), "changed\n");
    assert_eq!(snapshot_files(&repo.path().join(".git")), before, ".git changed");
    assert!(out.stderr.text().contains("Read-only file system"), "{}", out.stderr.text());
    assert_denial_told(&out);
    assert!(out.sandbox.detail.unwrap_or_default().contains(".git"));
}

#[tokio::test]
async fn a_worktree_git_file_cannot_be_redirected_to_an_attacker_git_dir() {
    let main = init_repo();
    write(main.path(), "a.txt", b"a\n");
    git(main.path(), &["add", "-A"]);
    git(main.path(), &["commit", "-qm", "init"]);
    let holder = tempfile::tempdir().unwrap();
    let wt = holder.path().join("wt");
    git(main.path(), &["worktree", "add", "-q", wt.to_str().unwrap()]);
    let host_tmp = tempfile::tempdir().unwrap();
    let original = std::fs::read(wt.join(".git")).unwrap();
    let script = "echo 'gitdir: /tmp/evil' > .git && echo redirected; rm -f .git && echo removed; \
                  echo x > new.txt && echo wrote";
    let exec = executor(&wt, host_tmp.path());
    let Some(out) = run_or_refused(&exec, sh(script).sandbox(ww())).await else { return };
    let said = out.stdout.text();
    assert!(!said.contains("redirected") && !said.contains("removed"), "{said}");
    assert!(said.contains("wrote"), "{said}\n{}", out.stderr.text());
    assert_eq!(std::fs::read(wt.join(".git")).unwrap(), original);
    assert_denial_told(&out);
}

#[tokio::test]
async fn the_git_dir_is_read_only_also_through_a_user_namespace() {
    let repo = init_repo();
    let host_tmp = tempfile::tempdir().unwrap();
    let exec = executor(repo.path(), host_tmp.path()).with_user_namespace(true);
    let result = exec.run(sh("echo evil > .git/hooks/pre-commit; echo ok > file; id -u").sandbox(ww())).await;
    if !(agent_sandbox::user_namespace_supported() && agent_sandbox::landlock_supported()) {
        assert!(matches!(result, Err(ExecError::SandboxUnavailable { .. })), "{result:?}");
        return;
    }
    let out = result.unwrap();
    assert!(!repo.path().join(".git/hooks/pre-commit").exists(), "hook planted through the user namespace");
    assert_eq!(std::fs::read_to_string(repo.path().join("file")).unwrap(), "ok\n");
    // The ids are mapped onto themselves: files keep their owner.
    assert_eq!(out.stdout.text().trim(), nix::unistd::geteuid().as_raw().to_string());
    assert!(out.sandbox.detail.unwrap_or_default().contains("user namespace"));
}

#[tokio::test]
async fn a_filter_driver_planted_by_a_command_never_runs_when_the_host_snapshots() {
    let repo = init_repo();
    write(repo.path(), ".gitattributes", b"*.txt text eol=lf\n");
    write(repo.path(), "a.txt", b"one\n");
    git(repo.path(), &["add", "-A"]);
    git(repo.path(), &["commit", "-qm", "init"]);
    let host_tmp = tempfile::tempdir().unwrap();
    let marker = host_tmp.path().join("filter-ran");
    let script = format!(
        "git config filter.evil.clean 'touch {m}; cat' && echo config-planted; \
         git config core.fsmonitor 'touch {m}; false' && echo fsmonitor-planted; \
         echo '*.txt filter=evil' >> .gitattributes && echo attributes-written; echo two > a.txt",
        m = marker.display()
    );
    let exec = executor(repo.path(), host_tmp.path());
    let Some(out) = run_or_refused(&exec, sh(&script).sandbox(ww())).await else { return };
    assert!(!out.stdout.text().contains("planted"), "{}", out.stdout.text());
    assert!(out.stdout.text().contains("attributes-written"));
    let snaps = agent_sandbox::GitSnapshotter::new();
    let id = snaps.snapshot(repo.path()).await.unwrap();
    write(repo.path(), "a.txt", b"three\n");
    snaps.restore(repo.path(), &id).await.unwrap();
    assert_eq!(std::fs::read_to_string(repo.path().join("a.txt")).unwrap(), "two\n");
    assert!(!marker.exists(), "a program planted by the command ran on the host");
}

#[tokio::test]
async fn a_command_cannot_redirect_the_hosts_log_dir_or_touch_its_snapshot_store() {
    let workspace = tempfile::tempdir().unwrap();
    let host_tmp = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let exec = executor(workspace.path(), host_tmp.path());
    // A first run creates the log dir; the store holds a snapshot.
    exec.run(sh("echo first")).await.unwrap();
    let logs = host_tmp.path().join("agentkit-logs");
    assert!(logs.is_dir());
    let store = host_tmp.path().join("store");
    write(workspace.path(), "f.txt", b"kept\n");
    let snaps = agent_sandbox::DirSnapshotter::new(store.clone());
    let id = snaps.snapshot(workspace.path()).await.unwrap();
    let store_before = snapshot_files(&store);
    let script = format!(
        "rm -rf '{l}' && ln -s '{e}' '{l}' && echo log-dir-redirected; \
         for f in $(find '{s}' -type f); do echo tampered > \"$f\" && echo store-tampered; done; \
         echo ok",
        l = logs.display(),
        e = elsewhere.path().display(),
        s = store.display()
    );
    let Some(out) = run_or_refused(&exec, sh(&script).sandbox(ww())).await else { return };
    let said = out.stdout.text();
    assert!(!said.contains("redirected") && !said.contains("tampered"), "{said}\n{}", out.stderr.text());
    assert!(std::fs::symlink_metadata(&logs).unwrap().is_dir(), "the log dir was replaced");
    assert_eq!(snapshot_files(&store), store_before, "the snapshot store changed");
    assert_denial_told(&out);
    // The next run logs where the host said, and nothing reaches `elsewhere`.
    let out = exec.run(sh("echo second")).await.unwrap();
    assert!(out.log_path.unwrap().starts_with(&logs));
    assert_eq!(std::fs::read_dir(elsewhere.path()).unwrap().count(), 0);
    std::fs::write(workspace.path().join("f.txt"), "changed\n").unwrap();
    snaps.restore(workspace.path(), &id).await.unwrap();
    assert_eq!(std::fs::read_to_string(workspace.path().join("f.txt")).unwrap(), "kept\n");
}

#[tokio::test]
async fn a_working_directory_outside_the_workspace_is_not_writable() {
    let workspace = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let host_tmp = tempfile::tempdir().unwrap();
    let exec = executor(workspace.path(), host_tmp.path());
    let spec = sh("echo x > escaped.txt && echo escaped").cwd(outside.path().to_path_buf()).sandbox(ww());
    let Some(out) = run_or_refused(&exec, spec).await else { return };
    assert!(!outside.path().join("escaped.txt").exists(), "the cwd became a writable root");
    assert!(!out.stdout.text().contains("escaped"));
    assert_denial_told(&out);
    assert!(out.sandbox.detail.unwrap_or_default().contains("outside them and read-only"));
}

#[tokio::test]
async fn the_root_directory_as_the_only_workspace_is_refused_before_running() {
    let host_tmp = tempfile::tempdir().unwrap();
    let exec = ProcessExecutor::new()
        .with_log_dir(host_tmp.path().join("logs"))
        .with_sandbox_temp_dir(Some(host_tmp.path().to_path_buf()));
    let marker = host_tmp.path().join("ran");
    let spec = sh(&format!("touch '{}'", marker.display())).cwd(PathBuf::from("/")).sandbox(ww());
    let err = exec.run(spec).await.unwrap_err();
    assert!(
        matches!(&err, ExecError::InvalidCommand { reason } if reason.contains("cannot be the writable workspace")),
        "{err:?}"
    );
    assert!(!marker.exists(), "nothing may run when refused");
}

#[tokio::test]
async fn a_command_cannot_reenter_the_host_network_namespace() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let workspace = tempfile::tempdir().unwrap();
    let host_tmp = tempfile::tempdir().unwrap();
    let script = format!(
        r#"
import ctypes, os, socket
libc = ctypes.CDLL(None, use_errno=True)
for pid in (1, os.getppid()):
    try:
        fd = os.open("/proc/%d/ns/net" % pid, os.O_RDONLY)
    except OSError as e:
        print("open", pid, e.strerror); continue
    if libc.setns(fd, 0x40000000) == 0:
        print("REENTERED", pid)
    else:
        print("setns", pid, os.strerror(ctypes.get_errno()))
try:
    socket.create_connection(("127.0.0.1", {port}), timeout=2); print("CONNECTED")
except OSError as e:
    print("connect", e)
"#
    );
    for user_ns in [false, true] {
        let exec = executor(workspace.path(), host_tmp.path()).with_user_namespace(user_ns);
        let result = exec.run(py(&script).sandbox(nonet())).await;
        let supported = if user_ns {
            agent_sandbox::user_namespace_supported()
        } else {
            agent_sandbox::namespace_support() != NamespaceSupport::None
        };
        if !(supported && agent_sandbox::seccomp_supported()) {
            assert!(matches!(result, Err(ExecError::SandboxUnavailable { .. })), "{result:?}");
            continue;
        }
        let out = result.unwrap();
        let said = out.stdout.text();
        assert!(!said.contains("REENTERED") && !said.contains("CONNECTED"), "user_ns={user_ns}: {said}");
        assert!(
            said.contains("setns") || said.contains("open"),
            "the attempt did not run: {said}{}",
            out.stderr.text()
        );
        assert!(matches!(listener.accept(), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock));
    }
}

#[tokio::test]
async fn a_command_cannot_connect_to_a_unix_socket_outside_the_workspace_but_keeps_socketpairs() {
    let outside = tempfile::tempdir().unwrap();
    let path = outside.path().join("docker.sock");
    let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
    listener.set_nonblocking(true).unwrap();
    let abstract_name = format!("agentkit-redteam-{}", std::process::id());
    let abstract_listener = {
        use std::os::linux::net::SocketAddrExt;
        let addr = std::os::unix::net::SocketAddr::from_abstract_name(abstract_name.as_bytes()).unwrap();
        std::os::unix::net::UnixListener::bind_addr(&addr).unwrap()
    };
    abstract_listener.set_nonblocking(true).unwrap();
    let workspace = tempfile::tempdir().unwrap();
    let host_tmp = tempfile::tempdir().unwrap();
    let script = format!(
        r#"
import socket
for target in ("{p}", "\0{a}"):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(target); print("CONNECTED", repr(target))
    except OSError as e:
        print("denied:", e)
try:
    d = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); d.sendto(b"x", "{p}"); print("SENT")
except OSError as e:
    print("dgram denied:", e)
a, b = socket.socketpair()
a.sendall(b"pair-ok"); print(b.recv(16).decode())
"#,
        p = path.display(),
        a = abstract_name
    );
    let exec = executor(workspace.path(), host_tmp.path());
    let Some(out) = run_or_refused(&exec, py(&script).sandbox(both())).await else { return };
    let said = out.stdout.text();
    assert!(!said.contains("CONNECTED") && !said.contains("SENT"), "{said}");
    assert_eq!(said.matches("denied:").count(), 3, "{said}\n{}", out.stderr.text());
    assert!(said.contains("pair-ok"), "socketpair must keep working: {said}");
    assert!(matches!(listener.accept(), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock));
    assert!(matches!(abstract_listener.accept(), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock));
    assert_denial_told(&out);
}

#[tokio::test]
async fn x32_system_calls_are_denied_by_the_no_network_filter() {
    if std::env::consts::ARCH != "x86_64" {
        assert!(agent_sandbox::seccomp_supported() || std::env::consts::ARCH != "aarch64");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("x32.c");
    std::fs::write(
        &src,
        "#include <stdio.h>\n#include <errno.h>\n#include <unistd.h>\n#include <sys/syscall.h>\n\
         int main(void) { long r = syscall(0x40000000L | 41, 2, 1, 0); \
         printf(\"%ld %d\\n\", r, r < 0 ? errno : 0); return 0; }\n",
    )
    .unwrap();
    let bin = dir.path().join("x32");
    let cc = std::process::Command::new("cc").arg("-o").arg(&bin).arg(&src).status().expect("a C compiler (cc)");
    assert!(cc.success());
    let host_tmp = tempfile::tempdir().unwrap();
    let exec = executor(dir.path(), host_tmp.path());
    let spec = CommandSpec::new(bin.to_str().unwrap()).sandbox(nonet()).wall_timeout(Duration::from_secs(30));
    let Some(out) = run_or_refused(&exec, spec).await else { return };
    // EPERM (1) comes from the filter; without it the kernel answers the
    // x32 socket() itself (ENOSYS without x32 support, a socket with it).
    assert_eq!(out.stdout.text().trim(), "-1 1", "{}", out.stderr.text());
}

#[tokio::test]
async fn a_confined_command_cannot_read_the_hosts_environ() {
    let workspace = tempfile::tempdir().unwrap();
    let host_tmp = tempfile::tempdir().unwrap();
    let exec = executor(workspace.path(), host_tmp.path());
    let host = std::process::id();
    let script = format!("cat /proc/{host}/environ && echo READ; tr '\\0' '\\n' < /proc/{host}/environ | head -1");
    let Some(out) = run_or_refused(&exec, sh(&script).sandbox(nonet())).await else { return };
    assert!(!out.stdout.text().contains("READ"), "{}", out.stdout.text());
    assert!(!out.stdout.text().contains("PATH="), "the host's environment leaked");
    assert!(out.stderr.text().contains("Permission denied"), "{}", out.stderr.text());
    assert_denial_told(&out);
}

#[tokio::test]
async fn a_confined_command_cannot_read_the_users_credentials_but_reads_the_rest_of_home() {
    let home = tempfile::tempdir().unwrap();
    write(home.path(), ".aws/credentials", b"aws_secret_access_key = SECRET-AWS\n");
    write(home.path(), ".netrc", b"machine x login u password SECRET-NETRC\n");
    write(home.path(), ".git-credentials", b"https://u:SECRET-GIT@example.invalid\n");
    write(home.path(), ".config/gh/hosts.yml", b"oauth_token: SECRET-GH\n");
    write(home.path(), ".config/other/settings", b"visible-setting\n");
    write(home.path(), "notes.txt", b"visible-notes\n");
    let workspace = tempfile::tempdir().unwrap();
    let host_tmp = tempfile::tempdir().unwrap();
    let exec = executor(workspace.path(), host_tmp.path()).with_host_home(Some(home.path().to_path_buf()));
    let h = home.path().display();
    let script = format!(
        "cat {h}/.aws/credentials; cat ~/.aws/credentials; cat {h}/.netrc; cat {h}/.git-credentials; \
         cat {h}/.config/gh/hosts.yml; cat {h}/.config/other/settings; cat {h}/notes.txt; echo \"home=$HOME\""
    );
    for policy in [ww(), nonet()] {
        let Some(out) = run_or_refused(&exec, sh(&script).sandbox(policy.clone())).await else { return };
        let said = out.stdout.text();
        assert!(!said.contains("SECRET"), "{policy:?}: {said}");
        assert!(!said.contains("LATE"), "a credential file made after the executor's first run was readable: {said}");
        assert!(said.contains("visible-setting") && said.contains("visible-notes"), "{policy:?}: {said}");
        let own_home = said.lines().find_map(|l| l.strip_prefix("home=")).unwrap();
        assert!(!Path::new(own_home).starts_with(home.path()), "HOME is the user's: {own_home}");
        assert!(out.stderr.text().contains("Permission denied"), "{}", out.stderr.text());
        assert_denial_told(&out);
        // The rules are kept between runs: one made later is hidden too.
        write(home.path(), ".docker/config.json", b"{\"auths\": \"LATE-SECRET\"}\n");
        let late = format!("cat {h}/.docker/config.json; cat {h}/.config/other/settings");
        let out = run_or_refused(&exec, sh(&late).sandbox(policy.clone())).await.unwrap();
        assert!(!out.stdout.text().contains("LATE"), "{}", out.stdout.text());
        assert!(out.stdout.text().contains("visible-setting"));
    }
}

#[tokio::test]
async fn a_confined_command_cannot_inject_keystrokes_into_a_terminal() {
    let pty = nix::pty::openpty(None, None).unwrap();
    let slave = nix::unistd::ttyname(&pty.slave).unwrap();
    let workspace = tempfile::tempdir().unwrap();
    let host_tmp = tempfile::tempdir().unwrap();
    let exec = executor(workspace.path(), host_tmp.path());
    let script = format!(
        r#"
import fcntl, os, termios
try:
    fd = os.open("{s}", os.O_RDWR | os.O_NOCTTY)
    # Canonical mode hands a reader whole lines: inject one.
    fcntl.ioctl(fd, termios.TIOCSTI, b"Z"); fcntl.ioctl(fd, termios.TIOCSTI, b"\n"); print("INJECTED")
except OSError as e:
    print("denied:", e)
print("sid-is-own", os.getsid(0) == os.getpid())
"#,
        s = slave.display()
    );
    // Without a policy the same command reaches the terminal where the kernel
    // allows TIOCSTI at all: that is what the policies must stop.
    let control = exec.run(py(&script)).await.unwrap();
    assert!(control.stdout.text().contains("sid-is-own True"), "every command gets its own session");
    let kernel_allows = control.stdout.text().contains("INJECTED");
    let drain = |fd: &std::os::fd::OwnedFd| {
        let mut buf = [0u8; 64];
        nix::fcntl::fcntl(fd, nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK)).unwrap();
        nix::unistd::read(fd, &mut buf).unwrap_or(0)
    };
    if kernel_allows {
        assert!(drain(&pty.slave) > 0, "the control's keystroke should be in the terminal");
    }
    for policy in [nonet(), ww()] {
        let Some(out) = run_or_refused(&exec, py(&script).sandbox(policy.clone())).await else { return };
        assert!(!out.stdout.text().contains("INJECTED"), "{policy:?}: {}", out.stdout.text());
        assert!(out.stdout.text().contains("denied:"), "{}{}", out.stdout.text(), out.stderr.text());
        assert_eq!(drain(&pty.slave), 0, "a keystroke reached the terminal");
        assert_denial_told(&out);
    }
}

fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            let after = &stat[stat.rfind(')').unwrap() + 1..];
            !matches!(after.split_whitespace().next(), Some("Z" | "X"))
        }
        Err(_) => false,
    }
}

#[tokio::test]
async fn a_process_that_leaves_the_session_does_not_outlive_the_run() {
    let workspace = tempfile::tempdir().unwrap();
    let host_tmp = tempfile::tempdir().unwrap();
    let exec = executor(workspace.path(), host_tmp.path());
    // Twice: the second run gets the first one's (emptied) cgroup again.
    for round in 0..2 {
        let pidfile = workspace.path().join(format!("escaped-{round}.pid"));
        let script = format!(
            "setsid sh -c 'echo $$ > {p}; exec sleep 300' </dev/null >/dev/null 2>&1 & \
             while [ ! -s {p} ]; do sleep 0.05; done; echo started",
            p = pidfile.display()
        );
        let Some(out) = run_or_refused(&exec, sh(&script).sandbox(nonet())).await else { return };
        assert!(out.stdout.text().contains("started"), "{}", out.stderr.text());
        let pid: i32 = std::fs::read_to_string(&pidfile).unwrap().trim().parse().unwrap();
        let detail = out.sandbox.detail.unwrap_or_default();
        if agent_sandbox::cgroups_supported() {
            assert!(detail.contains("cgroup of its own"), "{detail}");
            assert!(!alive(pid), "round {round}: the process that called setsid outlived the run");
        } else {
            assert!(detail.contains("no cgroup here"), "{detail}");
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
        }
    }
}

#[tokio::test]
async fn a_confined_command_cannot_signal_a_process_outside_its_sandbox() {
    let mut victim = std::process::Command::new("sleep").arg("300").spawn().unwrap();
    let workspace = tempfile::tempdir().unwrap();
    let host_tmp = tempfile::tempdir().unwrap();
    let exec = executor(workspace.path(), host_tmp.path());
    let script = format!("kill -9 {} && echo KILLED; sleep 5 & kill $! && echo own-child-signalled", victim.id());
    let out = run_or_refused(&exec, sh(&script).sandbox(ww())).await;
    let victim_alive = victim.try_wait().unwrap().is_none();
    let _ = victim.kill();
    let _ = victim.wait();
    let Some(out) = out else { return };
    assert!(out.stdout.text().contains("own-child-signalled"), "{}", out.stderr.text());
    if agent_sandbox::landlock_scopes_supported() {
        assert!(victim_alive && !out.stdout.text().contains("KILLED"), "{}", out.stdout.text());
        assert_denial_told(&out);
    } else {
        assert!(!out.sandbox.detail.unwrap_or_default().contains("scoped"));
    }
}
