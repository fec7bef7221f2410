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
use ccmulti_testkit::history::{Op, Outcome};
use ccmulti_testkit::load::{Endpoint, http_client};
use ccmulti_testpg::PgServer;
use tokio::task::JoinHandle;

use agents::{Agent, AgentLog, Call};
use faults::Window;
use hostile::Case;

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

/// The coordinators under test: three on the PostgreSQL database at `url`
/// (0 to 2), one on the SQLite file `sqlite_db` (3).
fn start_coordinators(url: &str, sqlite_db: &Path, dir: &Path, root: &Path) -> Vec<Coordinator> {
    let mut coordinators: Vec<Coordinator> = (0..3)
        .map(|_| Coordinator::start_postgres(url, dir, root, &[]))
        .collect();
    coordinators.push(Coordinator::start(sqlite_db, root, &[]));
    coordinators
}

/// Starts the agents, agent `i` on coordinator `i % bases.len()`, each
/// working until `end`.
fn spawn_agents(bases: &[String], started: Instant, end: Instant) -> Vec<JoinHandle<AgentLog>> {
    let http = http_client(AGENTS, Duration::from_secs(30));
    (0..AGENTS)
        .map(|i| {
            let coordinator = i % bases.len();
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
        .collect()
}

/// Plays the standard timeline of faults on a blocking thread; it hands the
/// coordinators back (some restarted) with the windows the faults lasted.
fn spawn_faults(
    mut coordinators: Vec<Coordinator>,
    postgres: Arc<PgServer>,
    started: Instant,
) -> JoinHandle<(Vec<Coordinator>, Vec<Window>)> {
    tokio::task::spawn_blocking(move || {
        let windows = faults::run(
            &mut coordinators,
            &postgres,
            started,
            &faults::Timeline::standard(),
        );
        (coordinators, windows)
    })
}

/// Each agent's log once it has finished, with the coordinator it called.
async fn join_agents(
    agents: Vec<JoinHandle<AgentLog>>,
    coordinators: usize,
) -> Vec<(usize, AgentLog)> {
    let mut logs = Vec::new();
    for (i, agent) in agents.into_iter().enumerate() {
        logs.push((i % coordinators, agent.await.expect("an agent")));
    }
    logs
}

/// The claims and releases made on the PostgreSQL coordinators
/// (`on_postgres`) or on the SQLite one.
fn ops_on(logs: &[(usize, AgentLog)], on_postgres: bool) -> Vec<Op> {
    logs.iter()
        .filter(|(c, _)| (*c < 3) == on_postgres)
        .flat_map(|(_, log)| log.ops.iter().cloned())
        .collect()
}

fn granted(ops: &[Op]) -> usize {
    ops.iter()
        .filter(|o| matches!(o.outcome, Outcome::Granted { .. }))
        .count()
}

/// What was asked: the calls on each backend and the hostile cases.
fn print_counts(calls: &[Call], pg_ops: &[Op], lite_ops: &[Op], cases: &[Case]) {
    println!(
        "calls: {} ({} claims and releases on PostgreSQL, {} grants; {} on SQLite, {} grants)",
        calls.len(),
        pg_ops.len(),
        granted(pg_ops),
        lite_ops.len(),
        granted(lite_ops)
    );
    println!(
        "hostile requests: {} cases, {} answered clearly",
        cases.len(),
        cases.iter().filter(|c| c.outcome.is_ok()).count()
    );
}

/// The five lists that must be empty.
fn print_summary(summary: &report::Summary) {
    print_list(
        "violations (two holders at once, tokens)",
        &summary.violations,
    );
    print_list("lost grants or releases", &summary.lost);
    print_list("crashes", &summary.crashes);
    print_list("unclear errors", &summary.unclear);
    print_list("calls past their bound", &summary.late);
}

/// Each fault's window, how long its coordinators took to answer again, and
/// how the calls made during it were answered.
fn print_faults(windows: &[Window], calls: &[Call]) {
    println!("faults (recovery: the first result after the fault ended):");
    for window in windows {
        let recovery = report::recovery(window, calls)
            .map_or("none".to_owned(), |d| format!("{:.2} s", d.as_secs_f64()));
        println!(
            "    {:<56} {:>5.1}-{:>5.1} s  recovery {recovery:>7}  during: {}",
            window.name,
            window.start.as_secs_f64(),
            window.end.as_secs_f64(),
            report::during(window, calls)
        );
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = std::fs::canonicalize(tmp.path()).expect("canonical");
    let root = project(&dir);
    let postgres = Arc::new(PgServer::start());
    let url = postgres.create_database();
    let sqlite_db = dir.join("coordinator.db");
    let coordinators = start_coordinators(&url, &sqlite_db, &dir, &root);
    let bases: Vec<String> = coordinators.iter().map(|c| c.base.clone()).collect();
    println!(
        "outside run: 3 coordinators on PostgreSQL, 1 on SQLite, {AGENTS} agents, {} s",
        RUN.as_secs()
    );

    let started = Instant::now();
    let agents = spawn_agents(&bases, started, started + RUN);
    let faults = spawn_faults(coordinators, postgres.clone(), started);
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
    let logs = join_agents(agents, coordinators.len()).await;

    let (pg_ops, lite_ops) = (ops_on(&logs, true), ops_on(&logs, false));
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

    print_counts(&calls, &pg_ops, &lite_ops, &cases);
    print_summary(&summary);
    print_faults(&windows, &calls);
    if summary.clean() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
