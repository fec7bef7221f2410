//! The outside run: three coordinators on one PostgreSQL and one on SQLite
//! (the release binary), 48 agents claiming, renewing and releasing a few
//! hot paths all along, a timeline of faults (a coordinator killed with
//! SIGKILL and started again, a coordinator frozen with SIGSTOP, PostgreSQL
//! frozen with SIGSTOP, PostgreSQL restarted, the SQLite coordinator killed
//! and started again) and a catalogue of hostile requests. Then it prints
//! what held: exclusion violations (two holders of one exclusive lock at
//! once, from the history the testkit checks), grants and releases
//! acknowledged but not in the database at the end, coordinators that ended
//! by themselves, errors that said nothing useful, calls answered past
//! their bound (5 s from arrival, a claim's wait added, for a coordinator
//! that was up), and how long each fault took to mend. About two minutes.
//!
//!     cargo bench --bench outside_run
//!
//! Needs Debian's PostgreSQL server binaries (as the tests do). Exits
//! non-zero if any of the five is not zero.

mod agents;
mod faults;
mod hostile;
mod report;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ccmulti_testkit::Backend;
use ccmulti_testkit::binary::Coordinator;
use ccmulti_testkit::load::{Endpoint, http_client};
use ccmulti_testpg::PgServer;

use agents::{Agent, AgentLog};

const AGENTS: usize = 48;
const RUN: Duration = Duration::from_secs(100);
/// When the hostile catalogue starts, after the faults.
const HOSTILE_AT: Duration = Duration::from_secs(76);

/// A project root with the links the hostile cases use.
fn project(dir: &Path) -> PathBuf {
    use std::os::unix::fs::symlink;
    let root = dir.join("repo");
    std::fs::create_dir_all(root.join("src")).expect("root");
    std::fs::write(root.join("real.py"), "x = 1\n").expect("file");
    symlink("real.py", root.join("alias.py")).expect("link");
    symlink("/etc", root.join("linkdir")).expect("link");
    root
}

/// Agent `i`'s session: on PostgreSQL one of three, each with agents on
/// every coordinator (so exclusion is asked across them); on SQLite one.
fn session_of(i: usize, coordinator: usize) -> String {
    if coordinator < 3 {
        format!("pg-{}", (i / 4) % 3)
    } else {
        "lite".to_owned()
    }
}

/// The locks held at the end, as (agent, `session:path`), read from the database.
async fn held(backend: Backend, db: &str) -> Vec<(String, String)> {
    let store = backend.open(db).await;
    let snapshot = store.snapshot(0).await.expect("the database at the end");
    snapshot
        .locks
        .iter()
        .map(|l| (l.agent_id.clone(), format!("{}:{}", l.session_id, l.path)))
        .collect()
}

/// Coordinators that ended by themselves, or whose log says they panicked.
fn crashes(coordinators: &mut [Coordinator]) -> Vec<String> {
    let mut out = Vec::new();
    for (i, c) in coordinators.iter_mut().enumerate() {
        if let Some(status) = c.exited() {
            out.push(format!("coordinator {i} exited: {status}"));
        }
        let log = std::fs::read_to_string(&c.log).unwrap_or_default();
        if log.contains("panicked") {
            out.push(format!("coordinator {i} panicked: see {}", c.log.display()));
        }
    }
    out
}

fn print_list(title: &str, items: &[String]) {
    println!("{title}: {}", items.len());
    for item in items.iter().take(10) {
        println!("    {item}");
    }
    if items.len() > 10 {
        println!("    … and {} more", items.len() - 10);
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = std::fs::canonicalize(tmp.path()).expect("canonical");
    let root = project(&dir);
    let postgres = Arc::new(PgServer::start());
    let url = postgres.create_database();
    let mut coordinators: Vec<Coordinator> = (0..3)
        .map(|_| Coordinator::start_postgres(&url, &dir, &root, &[]))
        .collect();
    let sqlite_db = dir.join("coordinator.db");
    coordinators.push(Coordinator::start(&sqlite_db, &root, &[]));
    let bases: Vec<String> = coordinators.iter().map(|c| c.base.clone()).collect();
    println!(
        "outside run: 3 coordinators on PostgreSQL, 1 on SQLite, {AGENTS} agents, {} s",
        RUN.as_secs()
    );

    let http = http_client(AGENTS, Duration::from_secs(30));
    let started = Instant::now();
    let end = started + RUN;
    let agents: Vec<_> = (0..AGENTS)
        .map(|i| {
            let coordinator = i % coordinators.len();
            let prefix = if coordinator < 3 { "p" } else { "s" };
            let name = format!("{prefix}{i}");
            let session = session_of(i, coordinator);
            let user = format!("u__session__{session}__{name}");
            let agent = Agent {
                name,
                session,
                coordinator,
                endpoint: Endpoint::new(&http, &bases[coordinator], &user),
                started,
            };
            tokio::spawn(agent.run(i as u64 + 1, end))
        })
        .collect();
    let faults = {
        let postgres = postgres.clone();
        tokio::task::spawn_blocking(move || {
            let windows = faults::run(
                &mut coordinators,
                &postgres,
                started,
                &faults::Timeline::standard(),
            );
            (coordinators, windows)
        })
    };
    tokio::time::sleep_until((started + HOSTILE_AT).into()).await;
    let cases = hostile::run(
        &bases[0],
        &[
            ("PostgreSQL", bases[0].clone(), "pg-0"),
            ("SQLite", bases[3].clone(), "lite"),
        ],
    )
    .await;
    let (mut coordinators, windows) = faults.await.expect("the faults");
    let mut logs: Vec<(usize, AgentLog)> = Vec::new();
    for (i, agent) in agents.into_iter().enumerate() {
        logs.push((i % coordinators.len(), agent.await.expect("an agent")));
    }

    let split = |on_postgres: bool| -> Vec<_> {
        logs.iter()
            .filter(|(c, _)| (*c < 3) == on_postgres)
            .flat_map(|(_, log)| log.ops.iter().cloned())
            .collect()
    };
    let (pg_ops, lite_ops) = (split(true), split(false));
    let calls: Vec<_> = logs
        .iter()
        .flat_map(|(_, l)| l.calls.iter().cloned())
        .collect();
    let inputs = report::Inputs {
        histories: vec![
            report::History {
                label: "PostgreSQL",
                ops: &pg_ops,
                held: held(Backend::Postgres, &url).await,
            },
            report::History {
                label: "SQLite",
                ops: &lite_ops,
                held: held(Backend::Sqlite, &sqlite_db.display().to_string()).await,
            },
        ],
        calls: &calls,
        windows: &windows,
        cases: &cases,
        crashes: crashes(&mut coordinators),
    };
    let summary = report::summarise(&inputs);

    let grants = |ops: &[ccmulti_testkit::history::Op]| {
        ops.iter()
            .filter(|o| matches!(o.outcome, ccmulti_testkit::history::Outcome::Granted { .. }))
            .count()
    };
    println!(
        "calls: {} ({} claims and releases on PostgreSQL, {} grants; {} on SQLite, {} grants)",
        calls.len(),
        pg_ops.len(),
        grants(&pg_ops),
        lite_ops.len(),
        grants(&lite_ops)
    );
    println!(
        "hostile requests: {} cases, {} answered clearly",
        cases.len(),
        cases.iter().filter(|c| c.outcome.is_ok()).count()
    );
    print_list(
        "violations (two holders at once, tokens)",
        &summary.violations,
    );
    print_list("lost grants or releases", &summary.lost);
    print_list("crashes", &summary.crashes);
    print_list("unclear errors", &summary.unclear);
    print_list("calls past their bound", &summary.late);
    println!("faults (recovery: the first result after the fault ended):");
    for window in &windows {
        let recovery = report::recovery(window, &calls)
            .map_or("none".to_owned(), |d| format!("{:.2} s", d.as_secs_f64()));
        println!(
            "    {:<56} {:>5.1}-{:>5.1} s  recovery {recovery:>7}  during: {}",
            window.name,
            window.start.as_secs_f64(),
            window.end.as_secs_f64(),
            report::during(window, &calls)
        );
    }
    if summary.clean() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
