//! Databases, worker processes and checks shared by the tests.

use agent_core::Journal;
use agent_core::event::{Event, EventKind, TaskState};
use agent_store::testing::{TestDatabase, test_database};
use agent_store::{Store, TaskResult, WorkerConfig, run_worker};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A database for one test, and what keeps it alive.
pub(crate) struct Db {
    pub(crate) url: String,
    dir: tempfile::TempDir,
    _pg: Option<TestDatabase>,
}

impl Db {
    /// A new SQLite file in a temporary directory.
    pub(crate) fn sqlite() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("store.db").display());
        Self { url, dir, _pg: None }
    }

    /// A fresh PostgreSQL database (a server of its own, or a new database
    /// on `AGENT_STORE_PG_URL`). Panics with the reason when there is none:
    /// these tests are never skipped.
    pub(crate) async fn postgres() -> Self {
        let db = test_database().await.unwrap_or_else(|e| panic!("no PostgreSQL for the tests: {e}"));
        Self { url: db.url.clone(), dir: tempfile::tempdir().unwrap(), _pg: Some(db) }
    }

    /// A scratch directory for logs.
    pub(crate) fn dir(&self) -> &Path {
        self.dir.path()
    }
}

/// A worker process: this test binary re-run with `AGENT_STORE_TEST_WORKER`.
pub(crate) struct WorkerProcess {
    child: Child,
    name: String,
    stderr: PathBuf,
}

impl WorkerProcess {
    pub(crate) fn spawn(url: &str, name: &str, log: &Path, env: &[(&str, &str)]) -> Self {
        let stderr = log.with_file_name(format!("{name}.stderr"));
        let child = Command::new(std::env::current_exe().unwrap())
            .args(["worker_process_entry", "--exact", "--nocapture", "--test-threads=1"])
            .env("AGENT_STORE_TEST_WORKER", name)
            .env("AGENT_STORE_TEST_URL", url)
            .env("AGENT_STORE_TEST_LOG", log)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .unwrap();
        Self { child, name: name.to_owned(), stderr }
    }

    /// Waits for the process to exit 0, failing the test otherwise.
    pub(crate) async fn wait_success(mut self, limit: Duration) {
        let deadline = std::time::Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                let err = std::fs::read_to_string(&self.stderr).unwrap_or_default();
                assert!(status.success(), "worker {} exited with {status}:\n{err}", self.name);
                return;
            }
            if std::time::Instant::now() > deadline {
                let _ = self.child.kill();
                let err = std::fs::read_to_string(&self.stderr).unwrap_or_default();
                panic!("worker {} did not finish within {limit:?}:\n{err}", self.name);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// SIGKILL: the process gets no chance to clean up.
    pub(crate) fn kill(mut self) {
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(self.child.id() as i32), nix::sys::signal::Signal::SIGKILL)
            .unwrap();
        self.child.wait().unwrap();
    }
}

/// Polls `done` every 20 ms until it holds, failing after `limit`.
pub(crate) async fn wait_for(limit: Duration, mut done: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + limit;
    while !done() {
        assert!(std::time::Instant::now() < deadline, "condition not reached within {limit:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The side-effect log: one `(task, worker)` per task a worker worked on.
pub(crate) fn side_effects(log: &Path) -> Vec<(String, String)> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_once(' ').map(|(t, w)| (t.to_owned(), w.to_owned())))
        .collect()
}

/// Every one of `n` tasks is done, and was completed exactly once.
pub(crate) async fn assert_each_task_done_exactly_once(store: &Store, n: usize) {
    let tasks = store.tasks().await.unwrap();
    assert_eq!(tasks.len(), n);
    for t in &tasks {
        assert_eq!((t.id.as_str(), t.state.as_str(), t.completions), (t.id.as_str(), "done", 1));
    }
}

/// The body of a worker process (see `worker_process_entry`).
pub(crate) fn worker_main() {
    let Ok(name) = std::env::var("AGENT_STORE_TEST_WORKER") else { return };
    let url = std::env::var("AGENT_STORE_TEST_URL").unwrap();
    let log = PathBuf::from(std::env::var("AGENT_STORE_TEST_LOG").unwrap());
    let hang = std::env::var("AGENT_STORE_TEST_HANG").is_ok();
    let work_ms: u64 = std::env::var("AGENT_STORE_TEST_WORK_MS").ok().and_then(|v| v.parse().ok()).unwrap_or(0);
    let lease_ms: u64 = std::env::var("AGENT_STORE_TEST_LEASE_MS").ok().and_then(|v| v.parse().ok()).unwrap_or(5_000);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let store = Store::open(&url).await.unwrap();
        let config = WorkerConfig::new(name.clone())
            .with_lease(Duration::from_millis(lease_ms))
            .with_poll(Duration::from_millis(20))
            .draining();
        let store_ref = &store;
        let name_ref = &name;
        let log_ref = &log;
        run_worker(&store, &config, |claim| async move {
            let task = claim.task.id.clone();
            store_ref
                .append(Event::now(task.clone(), EventKind::TaskStarted { goal: "g".into(), root: "/".into() }))
                .await
                .unwrap();
            // The side effect: one line per execution, appended atomically.
            let mut f = std::fs::OpenOptions::new().create(true).append(true).open(log_ref).unwrap();
            f.write_all(format!("{task} {name_ref}\n").as_bytes()).unwrap();
            drop(f);
            if hang {
                tokio::time::sleep(Duration::from_secs(3600)).await;
            }
            tokio::time::sleep(Duration::from_millis(work_ms)).await;
            store_ref.append(Event::now(task, EventKind::TaskFinished { state: TaskState::Accepted })).await.unwrap();
            TaskResult::succeeded("accepted")
        })
        .await
        .unwrap();
    });
}
