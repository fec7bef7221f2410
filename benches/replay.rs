//! Replay of real history (issue 24): windows of consecutive real commits of
//! projects nobody here wrote (`benches/replay/windows/`, derived from PyPI,
//! crates.io and npm by `benches/replay/derive.py`), one real Claude Code per
//! commit, all started at once, each applying its commit's hunks through
//! Claude Code's Read/Edit/Write tools, played by the reacting stand-in model
//! `tests/interop/replay_policy.py`. Four conditions: one checkout without and
//! with ccmulti; a git worktree per agent without and with ccmulti (then the
//! branches are landed into the base in commit order). The figures and their
//! exact definitions are in `benches/replay/measure.rs`.
//!
//! Why a Rust driver: it starts Claude Code, the stand-in and the coordinator
//! exactly as the end-to-end tests do (the testkit's scrubbed environment,
//! seeded HOME and `ccmulti serve`), and `tests/it/replay_quick.rs` runs the
//! same code in CI.
//!
//!     cargo bench --bench replay                       # every window, seeds 1,2,3, all conditions
//!     cargo bench --bench replay -- --quick            # one window, seed 1, all conditions (~2 min)
//!     cargo bench --bench replay -- --windows qs-6.12 --seeds 4,5 --conditions one,one+ccmulti
//!
//! The same choices by environment: REPLAY_WINDOWS, REPLAY_SEEDS, REPLAY_CONDITIONS,
//! REPLAY_QUICK=1; REPLAY_PATIENCE (seconds an agent retries a hunk whose text
//! has not arrived; default 20); REPLAY_HOOK_LEASE (`--hook-lease`, the edit
//! hook's lease in seconds with ccmulti; default 5, scaled to the stand-in's
//! pace; real sessions keep the hook's own 30); REPLAY_HOOK_IDLE_YIELD
//! (`--hook-idle-yield`, how long the hook's lock holds a file off an agent
//! that wants it after the holder's last edit of it; default 2, scaled as the
//! lease is from the hook's own 12; 0 holds for the whole lease);
//! REPLAY_HOOK_WAIT (`--hook-wait`, how long the edit hook waits for a held
//! file before refusing the edit; default 1, scaled from the hook's own 5; 0
//! refuses at once).

#[allow(dead_code)]
#[path = "replay/mod.rs"]
mod replay;

use std::process::ExitCode;
use std::time::Instant;

use replay::measure::{Figures, measure};
use replay::report;
use replay::run::{Condition, Pace, run};
use replay::window::Window;

/// The window the quick form replays.
const QUICK_WINDOW: &str = "hypothesis-6.118";

struct Choice {
    windows: Option<Vec<String>>,
    seeds: Vec<u64>,
    conditions: Vec<Condition>,
    patience: f64,
    hook_lease_seconds: u64,
    hook_idle_yield_seconds: u64,
    hook_wait_seconds: u64,
}

fn choice() -> Result<Choice, String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // A flag's value from the command line, else from the environment.
    let pick = |flag: &str, env: &str| -> Option<String> {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1).cloned())
            .or_else(|| std::env::var(env).ok().filter(|v| !v.is_empty()))
    };
    let quick = args.iter().any(|a| a == "--quick")
        || std::env::var("REPLAY_QUICK").is_ok_and(|v| v == "1");
    let list = |s: String| -> Vec<String> { s.split(',').map(|p| p.trim().to_owned()).collect() };
    let windows = pick("--windows", "REPLAY_WINDOWS")
        .map(list)
        .or_else(|| quick.then(|| vec![QUICK_WINDOW.to_owned()]));
    let seeds = match pick("--seeds", "REPLAY_SEEDS") {
        Some(s) => list(s)
            .iter()
            .map(|n| n.parse().map_err(|_| format!("seed {n:?} is not a number")))
            .collect::<Result<_, _>>()?,
        None if quick => vec![1],
        None => vec![1, 2, 3],
    };
    let conditions = match pick("--conditions", "REPLAY_CONDITIONS") {
        Some(s) => list(s)
            .iter()
            .map(|c| {
                Condition::parse(c).ok_or_else(|| {
                    format!("condition {c:?}: choose from one, one+ccmulti, worktrees, worktrees+ccmulti")
                })
            })
            .collect::<Result<_, _>>()?,
        None => Condition::ALL.to_vec(),
    };
    // A number from its flag or variable, else the stand-in's default pace.
    fn number<T: std::str::FromStr>(
        given: Option<String>,
        what: &str,
        default: T,
    ) -> Result<T, String> {
        given.map_or(Ok(default), |v| {
            v.parse()
                .map_err(|_| format!("{what} {v:?} is not a number of seconds"))
        })
    }
    let pace = Pace::default();
    let patience = number(
        pick("--patience", "REPLAY_PATIENCE"),
        "patience",
        pace.patience,
    )?;
    let hook_lease_seconds = number(
        pick("--hook-lease", "REPLAY_HOOK_LEASE"),
        "hook lease",
        pace.hook_lease_seconds,
    )?;
    let hook_idle_yield_seconds = number(
        pick("--hook-idle-yield", "REPLAY_HOOK_IDLE_YIELD"),
        "hook idle yield",
        pace.hook_idle_yield_seconds,
    )?;
    let hook_wait_seconds = number(
        pick("--hook-wait", "REPLAY_HOOK_WAIT"),
        "hook wait",
        pace.hook_wait_seconds,
    )?;
    Ok(Choice {
        windows,
        seeds,
        conditions,
        patience,
        hook_lease_seconds,
        hook_idle_yield_seconds,
        hook_wait_seconds,
    })
}

fn main() -> ExitCode {
    let choice = match choice() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("replay: {e}");
            return ExitCode::from(2);
        }
    };
    let Some(claude) = ccmulti_testkit::claude::claude_or_skip("replay bench", &[]) else {
        return ExitCode::from(2);
    };
    let mut windows = Window::all();
    if let Some(names) = &choice.windows {
        let unknown: Vec<&String> = names
            .iter()
            .filter(|n| !windows.iter().any(|w| &w.name == *n))
            .collect();
        if !unknown.is_empty() {
            let known: Vec<&str> = windows.iter().map(|w| w.name.as_str()).collect();
            eprintln!(
                "replay: no window {unknown:?}; the windows are {}",
                known.join(", ")
            );
            return ExitCode::from(2);
        }
        windows.retain(|w| names.contains(&w.name));
    }
    let pace = Pace {
        patience: choice.patience,
        hook_lease_seconds: choice.hook_lease_seconds,
        hook_idle_yield_seconds: choice.hook_idle_yield_seconds,
        hook_wait_seconds: choice.hook_wait_seconds,
        ..Pace::default()
    };
    println!(
        "replay: {} window(s), seeds {:?}, patience {}s, hook lease {}s, idle yield {}s, hook wait {}s; load: {}",
        windows.len(),
        choice.seeds,
        pace.patience,
        pace.hook_lease_seconds,
        pace.hook_idle_yield_seconds,
        pace.hook_wait_seconds,
        load()
    );
    let started = Instant::now();
    let mut totals: Vec<Figures> = vec![Figures::default(); choice.conditions.len()];
    let mut lines = vec![report::header()];
    let mut failed = false;
    for window in &windows {
        let scratch = tempfile::tempdir().expect("tempdir");
        let history = window.history_end(scratch.path());
        let hunks = window.hunks();
        for (i, condition) in choice.conditions.iter().enumerate() {
            let mut sum = Figures::default();
            for seed in &choice.seeds {
                let ran = run(window, *condition, *seed, &pace, &claude);
                let figures = measure(&ran, hunks, &history);
                println!(
                    "{}  (seed {seed})",
                    report::line(&window.name, condition.name(), &figures)
                );
                for note in report::notes(&figures) {
                    println!("{note}");
                }
                failed |= !figures.failures.is_empty();
                sum.add(&figures);
            }
            totals[i].add(&sum);
            lines.push(report::line(&window.name, condition.name(), &sum));
            lines.extend(
                report::notes(&sum)
                    .into_iter()
                    .filter(|n| !n.contains("FAILED")),
            );
        }
    }
    for (condition, total) in choice.conditions.iter().zip(&totals) {
        lines.push(report::line("all", condition.name(), total));
    }
    println!("\nper window and condition, summed over seeds (wall: mean per run):");
    for line in lines {
        println!("{line}");
    }
    println!(
        "\n{:.0}s in all; load at the end: {}",
        started.elapsed().as_secs_f64(),
        load()
    );
    if failed {
        println!("some agents failed (FAILED lines above): their figures are not to be trusted");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

/// The load average, as `uptime` shows it: the machine is shared.
fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}
