//! The real `ccmulti` binary as a child process on a free loopback port.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The coordinator's security settings from the environment; the tests that
/// start the binary clear them, so a developer's own token does not leak in.
pub const SECURITY_ENV: [&str; 4] = [
    "CCMULTI_TOKEN",
    "CCMULTI_ALLOW_HOSTS",
    "CCMULTI_ALLOW_ORIGINS",
    "CCMULTI_ADMIT_CLIENTS",
];

/// The `ccmulti` binary of the build that runs this test or bench, beside it
/// in `target/<profile>/`. `cargo test --workspace` builds it (ccmulti's own
/// integration test asks cargo for it). `cargo bench` builds only the bench,
/// so under the optimised profile the binary is built here first, once, by the
/// same cargo (a no-op when it is fresh): a bench never measures a stale one.
pub fn ccmulti_binary() -> PathBuf {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(locate_binary).clone()
}

fn locate_binary() -> PathBuf {
    // Another build to measure or test against (BENCHMARKS.md's comparisons).
    if let Some(path) = std::env::var_os("CARGO_BIN_EXE_ccmulti") {
        return PathBuf::from(path);
    }
    let exe = std::env::current_exe().expect("the running test's own path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("a test binary under target/<profile>/deps");
    let binary = profile_dir.join(format!("ccmulti{}", std::env::consts::EXE_SUFFIX));
    if let (Some(cargo), true) = (std::env::var_os("CARGO"), profile_dir.ends_with("release")) {
        let mut build = Command::new(cargo);
        // The package variables cargo set for this test or bench: a build
        // script that watches them (ring's does) would otherwise run again,
        // and everything above it be rebuilt, at each `cargo bench`.
        for (name, _) in std::env::vars_os() {
            let name = name.to_string_lossy();
            if name == "OUT_DIR"
                || name.starts_with("CARGO_PKG_")
                || name.starts_with("CARGO_MANIFEST_")
                || [
                    "CARGO_CRATE_NAME",
                    "CARGO_BIN_NAME",
                    "CARGO_PRIMARY_PACKAGE",
                    "CARGO_TARGET_TMPDIR",
                ]
                .contains(&name.as_ref())
            {
                build.env_remove(name.as_ref());
            }
        }
        let built = build
            .args([
                "build",
                "--release",
                "--package",
                "ccmulti",
                "--bin",
                "ccmulti",
            ])
            .current_dir(crate::interop::repo())
            .status()
            .expect("run cargo build for the ccmulti binary");
        assert!(built.success(), "cargo build --release of ccmulti failed");
    }
    assert!(
        binary.is_file(),
        "{} is missing: `cargo test --workspace` builds it with the tests (or run `cargo build` first)",
        binary.display()
    );
    binary
}

pub struct Coordinator {
    pub child: Child,
    pub base: String,
    pub db: PathBuf,
    pub root: PathBuf,
    pub log: PathBuf,
    /// The command line it was started with, for [`Coordinator::restart`].
    argv: Vec<std::ffi::OsString>,
}

impl Coordinator {
    /// Starts `ccmulti serve` on `db` and waits until `/health` answers.
    pub fn start(db: &Path, root: &Path, extra: &[&str]) -> Self {
        Self::start_on("127.0.0.1", db, root, extra)
    }

    /// Listening on `ip` (e.g. `0.0.0.0`), reached through loopback.
    pub fn start_on(ip: &str, db: &Path, root: &Path, extra: &[&str]) -> Self {
        Self::spawn(
            &[],
            ip,
            db.as_os_str(),
            |port| db.with_extension(format!("{port}.log")),
            root,
            extra,
        )
    }

    /// Started through `wrapper`, a command that runs the rest of its
    /// arguments (e.g. `["prlimit", "--nofile=64:64", "--"]`).
    pub fn start_under(wrapper: &[&str], db: &Path, root: &Path, extra: &[&str]) -> Self {
        Self::spawn(
            wrapper,
            "127.0.0.1",
            db.as_os_str(),
            |port| db.with_extension(format!("{port}.log")),
            root,
            extra,
        )
    }

    /// On a PostgreSQL database (`--db postgres://...`), its log in `log_dir`.
    pub fn start_postgres(url: &str, log_dir: &Path, root: &Path, extra: &[&str]) -> Self {
        Self::spawn(
            &[],
            "127.0.0.1",
            std::ffi::OsStr::new(url),
            |port| log_dir.join(format!("coordinator-{port}.log")),
            root,
            extra,
        )
    }

    /// On a new database of `backend`: a SQLite file in `dir`, or a new
    /// database on the testkit's PostgreSQL (its log in `dir`).
    pub fn start_new(backend: crate::Backend, dir: &Path, root: &Path, extra: &[&str]) -> Self {
        match backend {
            crate::Backend::Sqlite => Self::start(&dir.join("coordinator.db"), root, extra),
            crate::Backend::Postgres => {
                Self::start_postgres(&ccmulti_testpg::database(), dir, root, extra)
            }
        }
    }

    fn spawn(
        wrapper: &[&str],
        ip: &str,
        db: &std::ffi::OsStr,
        log_at: impl FnOnce(u16) -> PathBuf,
        root: &Path,
        extra: &[&str],
    ) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let log = log_at(port);
        let mut argv: Vec<std::ffi::OsString> = wrapper.iter().map(Into::into).collect();
        argv.push(ccmulti_binary().into());
        argv.extend(["serve", "--addr"].map(Into::into));
        argv.push(format!("{ip}:{port}").into());
        argv.push("--db".into());
        argv.push(db.to_owned());
        argv.push("--root".into());
        argv.push(root.as_os_str().to_owned());
        argv.extend(extra.iter().map(Into::into));
        let me = Self {
            child: run(&argv, &log, false),
            base: format!("http://127.0.0.1:{port}"),
            db: PathBuf::from(db),
            root: root.to_owned(),
            log,
            argv,
        };
        me.wait_healthy();
        me
    }

    /// SIGKILLs it if it runs, then starts it again as it was (same port,
    /// database and flags; its log appended to) and waits until it answers.
    pub fn restart(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.child = run(&self.argv, &self.log, true);
        self.wait_healthy();
    }

    /// Whether it has ended by itself (a crash), not by [`Self::kill`] or
    /// [`Self::restart`].
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    fn wait_healthy(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        let addr = self.base.trim_start_matches("http://").to_owned();
        while Instant::now() < deadline {
            if let Ok(mut s) = std::net::TcpStream::connect(&addr) {
                use std::io::{Read, Write};
                let _ = s.write_all(
                    b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
                );
                let mut reply = String::new();
                let _ = s.read_to_string(&mut reply);
                if reply.starts_with("HTTP/1.1 200") {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!(
            "ccmulti did not become healthy; log:\n{}",
            std::fs::read_to_string(&self.log).unwrap_or_default()
        );
    }

    pub fn url(&self, virtual_user: &str) -> String {
        ccmulti_model::agent_url(&self.base, virtual_user)
    }

    /// SIGKILL: no shutdown code runs.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `argv` (a program and its arguments) as a coordinator: none of the
/// developer's security settings or database URL, its stderr to `log`.
fn run(argv: &[std::ffi::OsString], log: &Path, append: bool) -> Child {
    let (program, args) = argv.split_first().expect("a program");
    let mut command = Command::new(program);
    for var in SECURITY_ENV {
        command.env_remove(var);
    }
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(append)
        .write(true)
        .truncate(!append)
        .open(log)
        .expect("log file");
    command
        .args(args)
        .env("RUST_LOG", "warn")
        .env_remove("DATABASE_URL")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("spawn ccmulti serve")
}

impl Drop for Coordinator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
