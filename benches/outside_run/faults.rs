//! The faults, one after the other on a fixed timeline: a coordinator killed
//! (SIGKILL) and started again on its port, a coordinator frozen (SIGSTOP)
//! and let go, PostgreSQL frozen, PostgreSQL restarted, the SQLite
//! coordinator killed and started again. Each leaves a window: when it began
//! and when what it broke was back, and whose calls it excuses from their
//! answer bound (a coordinator that is dead or frozen cannot answer; one
//! whose database is frozen or down must, within the bound).

use std::process::Command;
use std::time::{Duration, Instant};

use ccmulti_testkit::binary::Coordinator;
use ccmulti_testpg::PgServer;

#[derive(Debug, Clone)]
pub struct Window {
    pub name: &'static str,
    /// The coordinators whose calls it touched.
    pub coordinators: Vec<usize>,
    /// Those coordinators were themselves down or frozen: their calls are
    /// not held to the answer bound meanwhile.
    pub excused: bool,
    pub start: Duration,
    pub end: Duration,
}

/// When each fault starts, from the run's start, and how long it lasts.
pub struct Timeline {
    pub kill_pg_coordinator: Duration,
    pub freeze_coordinator: Duration,
    pub freeze_postgres: Duration,
    pub restart_postgres: Duration,
    pub kill_sqlite_coordinator: Duration,
    /// How long a killed coordinator stays dead, a frozen one frozen.
    pub outage: Duration,
}

impl Timeline {
    pub fn standard() -> Self {
        Self {
            kill_pg_coordinator: Duration::from_secs(8),
            freeze_coordinator: Duration::from_secs(20),
            freeze_postgres: Duration::from_secs(38),
            restart_postgres: Duration::from_secs(56),
            kill_sqlite_coordinator: Duration::from_secs(66),
            outage: Duration::from_secs(10),
        }
    }
}

fn signal(signal: &str, pid: u32) {
    let ok = Command::new("kill")
        .args([signal, &pid.to_string()])
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "kill {signal} {pid}");
}

fn sleep_until(started: Instant, at: Duration) {
    let now = started.elapsed();
    if at > now {
        std::thread::sleep(at - now);
    }
}

/// Runs the faults (blocking: processes are started and waited for).
/// `coordinators`: 0 to 2 on PostgreSQL, 3 on SQLite.
pub fn run(
    coordinators: &mut [Coordinator],
    postgres: &PgServer,
    started: Instant,
    timeline: &Timeline,
) -> Vec<Window> {
    let mut windows = Vec::new();
    let short = timeline.outage / 2;

    sleep_until(started, timeline.kill_pg_coordinator);
    let start = started.elapsed();
    let _ = coordinators[2].child.kill();
    let _ = coordinators[2].child.wait();
    std::thread::sleep(short);
    coordinators[2].restart();
    windows.push(Window {
        name: "kill -9 of a PostgreSQL coordinator, restarted 5 s later",
        coordinators: vec![2],
        excused: true,
        start,
        end: started.elapsed(),
    });

    sleep_until(started, timeline.freeze_coordinator);
    let start = started.elapsed();
    let pid = coordinators[1].child.id();
    signal("-STOP", pid);
    std::thread::sleep(timeline.outage);
    signal("-CONT", pid);
    windows.push(Window {
        name: "SIGSTOP of a PostgreSQL coordinator for 10 s",
        coordinators: vec![1],
        excused: true,
        start,
        end: started.elapsed(),
    });

    sleep_until(started, timeline.freeze_postgres);
    let start = started.elapsed();
    postgres.freeze();
    std::thread::sleep(timeline.outage);
    postgres.thaw();
    windows.push(Window {
        name: "SIGSTOP of PostgreSQL for 10 s",
        coordinators: vec![0, 1, 2],
        excused: false,
        start,
        end: started.elapsed(),
    });

    sleep_until(started, timeline.restart_postgres);
    let start = started.elapsed();
    postgres.stop();
    std::thread::sleep(Duration::from_secs(2));
    postgres.start_again();
    windows.push(Window {
        name: "PostgreSQL stopped (immediate) and started again",
        coordinators: vec![0, 1, 2],
        excused: false,
        start,
        end: started.elapsed(),
    });

    sleep_until(started, timeline.kill_sqlite_coordinator);
    let start = started.elapsed();
    let _ = coordinators[3].child.kill();
    let _ = coordinators[3].child.wait();
    std::thread::sleep(short);
    coordinators[3].restart();
    windows.push(Window {
        name: "kill -9 of the SQLite coordinator, restarted 5 s later",
        coordinators: vec![3],
        excused: true,
        start,
        end: started.elapsed(),
    });
    windows
}
