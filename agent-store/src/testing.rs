//! Throwaway PostgreSQL servers for tests and benchmarks (feature `test-utils`).
//!
//! [`PgServer::start`] runs `initdb` into a temporary directory and starts
//! `postgres` on a free loopback port with its unix socket in that
//! directory; dropping it stops the server and deletes the directory. As
//! root, the server runs as the `postgres` user (initdb refuses root).
//! The binaries are looked for in `$AGENT_STORE_PG_BIN`, then
//! `/usr/lib/postgresql/*/bin` (newest first), then `PATH`.
//!
//! [`test_database`] gives a fresh empty database: on the server named by
//! `AGENT_STORE_PG_URL` when that is set, else on a new [`PgServer`].
//!
//! ```no_run
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let server = agent_store::testing::PgServer::start().unwrap();
//! let store = agent_store::Store::open(server.url()).await.unwrap();
//! server.restart().unwrap(); // the store's pool reconnects on its own
//! # drop(store);
//! # });
//! ```

use std::net::TcpListener;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A PostgreSQL server of its own, stopped and deleted on drop.
#[derive(Debug)]
pub struct PgServer {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    as_postgres_user: bool,
    url: String,
}

fn bin_dir() -> Result<PathBuf, String> {
    if let Some(dir) = std::env::var_os("AGENT_STORE_PG_BIN") {
        return Ok(PathBuf::from(dir));
    }
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_string_lossy().parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .collect();
    found.sort();
    if let Some((_, bin)) = found.pop() {
        return Ok(bin);
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            if dir.join("initdb").is_file() && dir.join("pg_ctl").is_file() {
                return Ok(dir);
            }
        }
    }
    Err("PostgreSQL server binaries (initdb, pg_ctl) not found in $AGENT_STORE_PG_BIN, /usr/lib/postgresql/*/bin \
         or PATH: install them (`apt-get install -y postgresql`; .ci/run does) or point AGENT_STORE_PG_URL at a \
         running server"
        .into())
}

fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("no free port: {e}"))?;
    listener.local_addr().map(|a| a.port()).map_err(|e| e.to_string())
}

fn id_of(flag: &str) -> Result<u32, String> {
    let out = Command::new("id").args([flag, "postgres"]).output().map_err(|e| format!("running id: {e}"))?;
    if !out.status.success() {
        return Err("running as root, but there is no `postgres` user to run the server as \
                    (the postgresql package creates it)"
            .into());
    }
    String::from_utf8_lossy(&out.stdout).trim().parse().map_err(|e| format!("id {flag} postgres: {e}"))
}

impl PgServer {
    /// Starts a server tuned for tests (`fsync=off`).
    pub fn start() -> Result<Self, String> {
        Self::start_with(&["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"])
    }

    /// Starts a server with these extra `postgres` arguments (e.g.
    /// `["-c", "synchronous_commit=off"]`).
    pub fn start_with(extra: &[&str]) -> Result<Self, String> {
        let bin = bin_dir()?;
        let dir = tempfile::Builder::new().prefix("agent-store-pg").tempdir().map_err(|e| e.to_string())?;
        let as_postgres_user = std::fs::metadata("/proc/self").map(|m| m.uid() == 0).unwrap_or(false);
        if as_postgres_user {
            let (uid, gid) = (id_of("-u")?, id_of("-g")?);
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid)).map_err(|e| format!("chown: {e}"))?;
        }
        let port = free_port()?;
        let mut server =
            Self { url: format!("postgres://postgres@127.0.0.1:{port}/postgres"), dir, bin, port, as_postgres_user };
        let data = server.data();
        server.run(
            "initdb",
            &["-D", &data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "-N"].map(String::from),
        )?;
        let mut opts = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c max_connections=200",
            server.dir.path().display()
        );
        for arg in extra {
            opts.push(' ');
            opts.push_str(arg);
        }
        let log = server.dir.path().join("server.log").display().to_string();
        server.run("pg_ctl", &["-D", &data, "-l", &log, "-o", &opts, "-w", "-t", "60", "start"].map(String::from))?;
        server.port = port;
        Ok(server)
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    fn run(&self, tool: &str, args: &[String]) -> Result<(), String> {
        let program = self.bin.join(tool);
        let mut cmd = if self.as_postgres_user {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&program);
            c
        } else {
            Command::new(&program)
        };
        let out = cmd
            .args(args)
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("running {}: {e}", program.display()))?;
        if out.status.success() {
            Ok(())
        } else {
            let log = std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default();
            Err(format!(
                "{tool} {args:?} failed ({}): {}{}\n{log}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    }

    /// `postgres://postgres@127.0.0.1:PORT/postgres`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The directory holding the data, socket and log.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Restarts the server (`pg_ctl restart -m fast`): every connection is
    /// dropped, and the server is accepting again when this returns.
    pub fn restart(&self) -> Result<(), String> {
        let log = self.dir.path().join("server.log").display().to_string();
        self.run(
            "pg_ctl",
            &["-D", &self.data(), "-l", &log, "-m", "fast", "-w", "-t", "60", "restart"].map(String::from),
        )
    }

    /// Stops the server now.
    pub fn stop(&self) -> Result<(), String> {
        self.run("pg_ctl", &["-D", &self.data(), "-m", "immediate", "-w", "stop"].map(String::from))
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

/// A fresh, empty database for one test.
#[derive(Debug)]
pub struct TestDatabase {
    /// Its URL.
    pub url: String,
    /// The server, when this test started its own.
    pub server: Option<PgServer>,
}

/// A fresh database: a new one on `AGENT_STORE_PG_URL`'s server when that is
/// set, else the `postgres` database of a new [`PgServer`]. Fails (never
/// skips) when neither is possible.
pub async fn test_database() -> Result<TestDatabase, String> {
    use sqlx::Connection;
    let Ok(admin) = std::env::var("AGENT_STORE_PG_URL") else {
        let server = tokio::task::spawn_blocking(PgServer::start).await.map_err(|e| e.to_string())??;
        return Ok(TestDatabase { url: server.url().to_owned(), server: Some(server) });
    };
    let name = format!("agent_store_test_{}", uuid::Uuid::new_v4().simple());
    let mut conn = sqlx::PgConnection::connect(&admin).await.map_err(|e| format!("AGENT_STORE_PG_URL: {e}"))?;
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut conn).await.map_err(|e| e.to_string())?;
    let base = admin.split('?').next().unwrap_or(&admin);
    let root = base.rsplit_once('/').map_or(base, |(r, _)| r);
    Ok(TestDatabase { url: format!("{root}/{name}"), server: None })
}
