//! A real PostgreSQL server for the tests, no mock: Debian's binaries
//! (`initdb`, `pg_ctl`, `createdb`), a cluster in a new temporary directory,
//! run as an unprivileged user (initdb refuses root: as root the cluster
//! belongs to the `postgres` user the Debian package creates, and every
//! command runs through `runuser`). One shared server per test binary, each
//! test its own database ([`database`]); a test that restarts the server
//! starts its own ([`PgServer::start`]).
//!
//! `CCMULTI_TEST_POSTGRES=postgres://user@host:port/db` uses a server you
//! run instead (each test still gets a database of its own on it).
//!
//! The server stops when the test process ends: a small watcher shell,
//! started with it, waits for this process to exit, then stops the server
//! and removes its directory.
//!
//! A crate of its own, with no dependency on `ccmulti`: the coordinator's
//! unit tests (the store's behaviour on both backends) use it without
//! pulling in the test kit, which depends on the coordinator.
#![forbid(unsafe_code)]

pub mod tls;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// Where Debian puts each major version's server binaries.
const DEBIAN_LIB: &str = "/usr/lib/postgresql";
/// The user that owns the cluster when the tests run as root.
const UNPRIVILEGED: &str = "postgres";

pub struct PgServer {
    pub port: u16,
    host: String,
    user: String,
    /// None for a server the tests did not start.
    cluster: Option<Cluster>,
}

struct Cluster {
    bin: PathBuf,
    dir: PathBuf,
    run_as: Option<&'static str>,
    /// More `-c name=value` server settings (TLS, see [`crate::tls`]).
    settings: String,
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// The newest installed major version's bin directory.
fn server_binaries() -> PathBuf {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir(DEBIAN_LIB)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let major = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((major, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin).unwrap_or_else(|| {
        panic!(
            "no PostgreSQL server binaries under {DEBIAN_LIB}/*/bin: install Debian's postgresql package (.ci/run does), or set CCMULTI_TEST_POSTGRES"
        )
    })
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

impl Cluster {
    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        match self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(path);
                c
            }
            None => Command::new(path),
        }
    }

    fn run(&self, program: &str, args: &[&str]) {
        run_ok(self.command(program).args(args).stdin(Stdio::null()));
    }

    fn data(&self) -> String {
        self.dir.join("data").display().to_string()
    }
}

impl PgServer {
    /// A new cluster on a free port, started and ready; fsync off (the
    /// tests need a real server, not a durable one).
    pub fn start() -> Self {
        let server = Self::initialised(String::new());
        server.start_again();
        server.stop_with_this_process();
        server
    }

    /// A new cluster with `settings` (more `-c name=value`), not started:
    /// for a caller to put files in its directory first.
    pub(crate) fn initialised(settings: String) -> Self {
        static COUNT: AtomicU32 = AtomicU32::new(0);
        let bin = server_binaries();
        let run_as = is_root().then_some(UNPRIVILEGED);
        let dir = std::env::temp_dir().join(format!(
            "ccmulti-pg-{}-{}",
            std::process::id(),
            COUNT.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::create_dir_all(&dir).expect("the cluster's directory");
        if let Some(user) = run_as {
            let owned = Command::new("chown")
                .args([&format!("{user}:"), &dir.display().to_string()])
                .status()
                .expect("chown");
            assert!(owned.success(), "chown {} to {user}", dir.display());
        }
        let cluster = Cluster {
            bin,
            dir,
            run_as,
            settings,
        };
        cluster.run(
            "initdb",
            &[
                "-D",
                &cluster.data(),
                "-A",
                "trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--no-sync",
            ],
        );
        Self {
            port: free_port(),
            host: "127.0.0.1".into(),
            user: "postgres".into(),
            cluster: Some(cluster),
        }
    }

    /// Writes `text` to `name` in the cluster's directory (or, with `data`,
    /// its data directory), owned by the server's user and readable by it
    /// alone (PostgreSQL refuses a key file others can read).
    pub(crate) fn write_private(&self, name: &str, text: &[u8], data: bool) -> PathBuf {
        let cluster = self.cluster.as_ref().expect("a server these tests started");
        let dir = if data {
            cluster.dir.join("data")
        } else {
            cluster.dir.clone()
        };
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        if let Some(user) = cluster.run_as {
            let owned = Command::new("chown")
                .arg(format!("{user}:"))
                .arg(&path)
                .status()
                .expect("chown");
            assert!(owned.success(), "chown {} to {user}", path.display());
        }
        path
    }

    /// The shared server of this test binary.
    pub fn shared() -> &'static Self {
        static SHARED: OnceLock<PgServer> = OnceLock::new();
        SHARED.get_or_init(|| match std::env::var("CCMULTI_TEST_POSTGRES") {
            Ok(url) => Self::external(&url),
            Err(_) => Self::start(),
        })
    }

    fn external(url: &str) -> Self {
        let rest = url.split_once("://").map_or(url, |(_, r)| r);
        let (user, rest) = rest.split_once('@').unwrap_or(("postgres", rest));
        let host_port = rest.split(['/', '?']).next().unwrap_or("127.0.0.1");
        let (host, port) = host_port.rsplit_once(':').unwrap_or((host_port, "5432"));
        Self {
            port: port.parse().expect("a port in CCMULTI_TEST_POSTGRES"),
            host: host.into(),
            user: user.split(':').next().unwrap_or("postgres").into(),
            cluster: None,
        }
    }

    /// The URL of `database` on this server.
    pub fn url(&self, database: &str) -> String {
        self.url_with(database, "sslmode=disable")
    }

    /// The URL of `database` with `query` (`sslmode=...&...`).
    pub fn url_with(&self, database: &str, query: &str) -> String {
        format!(
            "postgres://{}@{}:{}/{database}?{query}",
            self.user, self.host, self.port
        )
    }

    /// A new, empty database; its URL.
    pub fn create_database(&self) -> String {
        static COUNT: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "t_{}_{}",
            std::process::id(),
            COUNT.fetch_add(1, Ordering::SeqCst)
        );
        let port = self.port.to_string();
        let args = ["-h", &self.host, "-p", &port, "-U", &self.user, &name];
        match &self.cluster {
            Some(cluster) => cluster.run("createdb", &args),
            None => {
                let status = Command::new("createdb")
                    .args(args)
                    .status()
                    .expect("createdb (Debian's postgresql-client)");
                assert!(status.success(), "createdb {name}");
            }
        }
        self.url(&name)
    }

    /// Stops the server at once (as a crash would: `-m immediate`).
    pub fn stop(&self) {
        let cluster = self.cluster.as_ref().expect("a server these tests started");
        cluster.run(
            "pg_ctl",
            &["-D", &cluster.data(), "-m", "immediate", "-w", "stop"],
        );
    }

    /// Starts the (stopped) server again on its port and waits until it answers.
    pub fn start_again(&self) {
        let cluster = self.cluster.as_ref().expect("a server these tests started");
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c max_connections=500 {}",
            self.port,
            cluster.dir.display(),
            cluster.settings,
        );
        let log = cluster.dir.join("server.log").display().to_string();
        cluster.run(
            "pg_ctl",
            &[
                "-D",
                &cluster.data(),
                "-o",
                &options,
                "-l",
                &log,
                "-w",
                "-t",
                "60",
                "start",
            ],
        );
        self.wait_ready(Duration::from_secs(30));
    }

    fn wait_ready(&self, within: Duration) {
        let deadline = Instant::now() + within;
        while std::net::TcpStream::connect((self.host.as_str(), self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "PostgreSQL did not start on {}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub(crate) fn stop_with_this_process(&self) {
        let Some(cluster) = &self.cluster else { return };
        let pg_ctl = cluster.bin.join("pg_ctl").display().to_string();
        let stop = match cluster.run_as {
            Some(user) => format!("runuser -u {user} -- {pg_ctl}"),
            None => pg_ctl,
        };
        let script = format!(
            "while kill -0 {pid} 2>/dev/null; do sleep 1; done; {stop} -D {data} -m immediate stop >/dev/null 2>&1; rm -rf {dir}",
            pid = std::process::id(),
            data = cluster.data(),
            dir = cluster.dir.display(),
        );
        let _ = Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
    }

    /// Freezes the server, as a hung machine or a network partition looks to
    /// its clients: SIGSTOP to the postmaster and every backend (a
    /// connection is still accepted by the kernel, and never answered).
    pub fn freeze(&self) {
        self.signal("-STOP");
    }

    /// Lets a [`Self::freeze`]d server run again.
    pub fn thaw(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, signal: &str) {
        let pids = self.processes();
        assert!(!pids.is_empty(), "no PostgreSQL processes to signal");
        let status = Command::new("kill")
            .arg(signal)
            .args(pids.iter().map(u32::to_string))
            .status()
            .expect("kill");
        assert!(status.success(), "kill {signal} {pids:?}");
    }

    /// The postmaster (the first line of `postmaster.pid`) and its children.
    fn processes(&self) -> Vec<u32> {
        let cluster = self.cluster.as_ref().expect("a server these tests started");
        let pid_file = cluster.dir.join("data").join("postmaster.pid");
        let Some(postmaster) = std::fs::read_to_string(&pid_file)
            .ok()
            .and_then(|t| t.lines().next()?.trim().parse::<u32>().ok())
        else {
            return Vec::new();
        };
        let mut pids = vec![postmaster];
        for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<u32>().ok())
            else {
                continue;
            };
            // `pid (comm) state ppid ...`; comm may hold spaces, so after the last `)`.
            let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
            let ppid = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().nth(1)?.parse::<u32>().ok());
            if ppid == Some(postmaster) {
                pids.push(pid);
            }
        }
        pids
    }

    /// Where the server's own log is, for a failing test to show.
    pub fn log(&self) -> Option<PathBuf> {
        self.cluster.as_ref().map(|c| c.dir.join("server.log"))
    }

    pub fn dir(&self) -> Option<&Path> {
        self.cluster.as_ref().map(|c| c.dir.as_path())
    }
}

/// Runs `command` to its end and returns its output, or fails the test with
/// the command and what it printed when it cannot start or exits non-zero.
pub fn run_ok(command: &mut Command) -> std::process::Output {
    let out = command
        .output()
        .unwrap_or_else(|e| panic!("could not run {command:?}: {e}"));
    assert!(
        out.status.success(),
        "{command:?} failed ({}): {}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A new database on the shared server; its URL.
pub fn database() -> String {
    PgServer::shared().create_database()
}
