//! The interactive loop: read snapshots, draw, take keys, apply actions.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crossterm::event::Event;
use ratatui::Terminal;
use ratatui::backend::Backend;

use crate::draw::{HeaderInfo, draw};
use crate::model::{Action, Snapshot};
use crate::state::AppState;
use crate::terminal::{LoopEvent, TerminalGuard, spawn_forwarder, spawn_input};
use crate::theme::Theme;

/// Where the dashboard gets its data and sends what the person asked for.
/// Called only from the dashboard's thread, between frames.
pub trait DataSource {
    fn snapshot(&mut self) -> Result<Snapshot, String>;
    /// Returns a short message for the status line.
    fn apply(&mut self, action: &Action) -> Result<String, String>;
}

/// Runs the dashboard until the person quits. Colour follows NO_COLOR.
/// Each `()` on `changes` re-reads the snapshot; dropping its sender is fine.
pub fn run<S: DataSource>(
    source: &mut S,
    changes: Receiver<()>,
    header: HeaderInfo,
) -> io::Result<()> {
    run_with_theme(source, changes, header, Theme::from_env())
}

pub fn run_with_theme<S: DataSource>(
    source: &mut S,
    changes: Receiver<()>,
    header: HeaderInfo,
    theme: Theme,
) -> io::Result<()> {
    let (tx, rx) = mpsc::channel();
    let stop = Arc::new(AtomicBool::new(false));
    let mut guard = TerminalGuard::enter()?;
    let input = spawn_input(tx.clone(), Arc::clone(&stop));
    let forwarder = spawn_forwarder(changes, tx, Arc::clone(&stop));
    let result = event_loop(&mut guard.terminal, source, &rx, &header, theme);
    stop.store(true, Ordering::Relaxed);
    // Joined before the screen is restored so no thread still reads stdin
    // when the shell gets it back.
    let _ = input.join();
    let _ = forwarder.join();
    drop(guard);
    result
}

/// The snapshot's clock plus the time since it was read: countdowns move
/// between snapshots without asking the coordinator.
struct Clock {
    base_ms: i64,
    read_at: Instant,
}

impl Clock {
    fn now_ms(&self) -> i64 {
        let elapsed = i64::try_from(self.read_at.elapsed().as_millis()).unwrap_or(i64::MAX);
        self.base_ms.saturating_add(elapsed)
    }
}

pub(crate) fn event_loop<B: Backend, S: DataSource>(
    terminal: &mut Terminal<B>,
    source: &mut S,
    events: &Receiver<LoopEvent>,
    header: &HeaderInfo,
    theme: Theme,
) -> io::Result<()> {
    let mut state = AppState::new(theme);
    // Until a snapshot arrives the local clock is the best guess there is.
    let mut clock = Clock {
        base_ms: system_now_ms(),
        read_at: Instant::now(),
    };
    reload(source, &mut state, &mut clock);
    loop {
        let now_ms = clock.now_ms();
        state.tick(now_ms);
        terminal.draw(|frame| draw(frame, &state, now_ms, header))?;
        // Wake when the shown second turns, so countdowns tick on the second.
        let wait = u64::try_from(1000 - now_ms.rem_euclid(1000)).unwrap_or(1000);
        let first = match events.recv_timeout(Duration::from_millis(wait)) {
            Ok(event) => Some(event),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => {
                return Err(io::Error::other("dashboard input closed"));
            }
        };
        // Everything already queued is handled before one redraw, so a burst
        // of changes costs one snapshot read.
        let mut changed = false;
        let queued = std::iter::from_fn(|| events.try_recv().ok());
        for event in first.into_iter().chain(queued) {
            match event {
                LoopEvent::Changed => changed = true,
                LoopEvent::Input(Event::Key(key)) => match state.handle_key(key) {
                    Some(Action::Quit) => return Ok(()),
                    Some(action) => {
                        let message = source
                            .apply(&action)
                            .unwrap_or_else(|e| format!("failed: {e}"));
                        state.set_status(message);
                        changed = true;
                    }
                    None => {}
                },
                // Resizes need nothing: every draw fits the current size.
                LoopEvent::Input(_) => {}
                LoopEvent::InputFailed(e) => return Err(io::Error::other(e)),
            }
        }
        if changed {
            reload(source, &mut state, &mut clock);
        }
    }
}

fn reload<S: DataSource>(source: &mut S, state: &mut AppState, clock: &mut Clock) {
    match source.snapshot() {
        Ok(snapshot) => {
            *clock = Clock {
                base_ms: snapshot.now_ms,
                read_at: Instant::now(),
            };
            state.set_snapshot(snapshot);
        }
        Err(e) => state.set_status(format!("cannot read coordinator state: {e}")),
    }
}

fn system_now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::LockRow;
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    use ratatui::backend::TestBackend;
    use std::sync::mpsc::Sender;
    use std::thread;

    const NOW: i64 = 1_735_734_896_000;

    #[derive(Default)]
    struct Fake {
        reads: Vec<Instant>,
        applied: Vec<Action>,
        fail: bool,
    }

    impl DataSource for Fake {
        fn snapshot(&mut self) -> Result<Snapshot, String> {
            self.reads.push(Instant::now());
            if self.fail {
                return Err("database is locked".into());
            }
            Ok(Snapshot {
                now_ms: NOW,
                locks: vec![LockRow {
                    lock_id: "L1".into(),
                    session_id: "s".into(),
                    agent_id: "impl-1".into(),
                    path: "src/a.rs".into(),
                    operation: crate::model::Operation::Write,
                    expires_at_ms: NOW + 60_000,
                    fencing_token: 1,
                    yields_at_ms: None,
                }],
                ..Snapshot::default()
            })
        }

        fn apply(&mut self, action: &Action) -> Result<String, String> {
            self.applied.push(action.clone());
            Ok("released src/a.rs".into())
        }
    }

    fn key(c: char) -> LoopEvent {
        LoopEvent::Input(Event::Key(KeyEvent::new(
            KeyCode::Char(c),
            KeyModifiers::NONE,
        )))
    }

    fn run_fake(
        mut fake: Fake,
        rx: Receiver<LoopEvent>,
    ) -> thread::JoinHandle<(Fake, Terminal<TestBackend>, io::Result<()>)> {
        thread::spawn(move || {
            let mut terminal = Terminal::new(TestBackend::new(80, 24)).expect("backend");
            let header = HeaderInfo::default();
            let result = event_loop(&mut terminal, &mut fake, &rx, &header, Theme::monochrome());
            (fake, terminal, result)
        })
    }

    fn send_all(tx: &Sender<LoopEvent>, keys: &str) {
        for c in keys.chars() {
            tx.send(key(c)).expect("loop is running");
        }
    }

    #[test]
    fn confirmed_release_is_applied_then_reread() {
        let (tx, rx) = mpsc::channel();
        send_all(&tx, "2ry");
        let loop_thread = run_fake(Fake::default(), rx);
        thread::sleep(Duration::from_millis(200));
        send_all(&tx, "q");
        let (fake, terminal, result) = loop_thread.join().expect("no panic");
        assert!(result.is_ok());
        assert_eq!(fake.applied.len(), 1);
        assert!(matches!(&fake.applied[0], Action::ReleaseLock { lock_id, .. } if lock_id == "L1"));
        assert_eq!(
            fake.reads.len(),
            2,
            "initial read and one after the release"
        );
        assert!(terminal.backend().to_string().contains("released src/a.rs"));
    }

    #[test]
    fn a_change_is_read_promptly() {
        let (tx, rx) = mpsc::channel();
        let loop_thread = run_fake(Fake::default(), rx);
        // Let the loop settle into its wait for the next second.
        thread::sleep(Duration::from_millis(300));
        let sent = Instant::now();
        tx.send(LoopEvent::Changed).expect("loop is running");
        thread::sleep(Duration::from_millis(150));
        send_all(&tx, "q");
        let (fake, _, result) = loop_thread.join().expect("no panic");
        assert!(result.is_ok());
        let reread = fake.reads.get(1).expect("a second read");
        assert!(reread.duration_since(sent) < Duration::from_millis(100));
    }

    #[test]
    fn a_failed_read_is_reported_not_fatal() {
        let (tx, rx) = mpsc::channel();
        let loop_thread = run_fake(
            Fake {
                fail: true,
                ..Fake::default()
            },
            rx,
        );
        thread::sleep(Duration::from_millis(100));
        send_all(&tx, "q");
        let (_, terminal, result) = loop_thread.join().expect("no panic");
        assert!(result.is_ok());
        assert!(
            terminal
                .backend()
                .to_string()
                .contains("cannot read coordinator state: database is locked")
        );
    }

    #[test]
    fn closed_input_ends_the_loop_with_an_error() {
        let (tx, rx) = mpsc::channel::<LoopEvent>();
        drop(tx);
        let (_, _, result) = run_fake(Fake::default(), rx).join().expect("no panic");
        assert!(result.is_err());
    }
}
