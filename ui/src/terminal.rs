//! Entering and leaving full-screen mode, on every way out, plus the
//! threads that turn terminal input and change notices into loop events.

use std::io::{self, Stdout, stdout};
use std::panic::{self, PanicHookInfo};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crossterm::cursor::Show;
use crossterm::event::{self, Event};
use crossterm::execute;
use crossterm::terminal::{
    Clear, ClearType, EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

/// How often the helper threads look at the stop flag; bounds how long
/// leaving the dashboard can take, not how fast input arrives.
const STOP_CHECK: Duration = Duration::from_millis(100);

/// Whether this process switched to the alternate screen and has not left.
static IN_ALTERNATE: AtomicBool = AtomicBool::new(false);

/// Everything that can wake the event loop, through one channel so that a
/// change wakes it as promptly as a key does.
#[derive(Debug)]
pub(crate) enum LoopEvent {
    Input(Event),
    Changed,
    InputFailed(String),
}

type Hook = Box<dyn Fn(&PanicHookInfo<'_>) + Sync + Send + 'static>;

/// Raw mode and the alternate screen for as long as it lives.
pub(crate) struct TerminalGuard {
    pub terminal: Terminal<CrosstermBackend<Stdout>>,
    previous_hook: Arc<Hook>,
}

impl TerminalGuard {
    pub fn enter() -> io::Result<Self> {
        // Installed first so a panic even during setup leaves a usable shell,
        // and restores before the message prints so the message is readable.
        let previous_hook: Arc<Hook> = Arc::new(panic::take_hook());
        let chained = Arc::clone(&previous_hook);
        panic::set_hook(Box::new(move |info| {
            let _ = restore();
            chained(info);
        }));
        let entered = enable_raw_mode()
            .and_then(|()| execute!(stdout(), EnterAlternateScreen))
            .inspect(|()| IN_ALTERNATE.store(true, Ordering::SeqCst))
            .and_then(|()| Terminal::new(CrosstermBackend::new(stdout())));
        let guard_or_error = entered.map(|terminal| TerminalGuard {
            terminal,
            previous_hook: Arc::clone(&previous_hook),
        });
        if guard_or_error.is_err() {
            let _ = restore();
            reinstate(previous_hook);
        }
        guard_or_error
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        let _ = restore();
        // Touching the hook while unwinding would abort the process.
        if !thread::panicking() {
            reinstate(Arc::clone(&self.previous_hook));
        }
    }
}

fn reinstate(previous: Arc<Hook>) {
    let _ = panic::take_hook();
    panic::set_hook(Box::new(move |info| previous(info)));
}

/// Safe to call more than once (panic hook, then the guard's drop): the
/// alternate screen is left only once, because leaving it again would also
/// move the cursor back over whatever was printed in between.
fn restore() -> io::Result<()> {
    let raw = disable_raw_mode();
    let screen = if IN_ALTERNATE.swap(false, Ordering::SeqCst) {
        // tmux 3.3 leaks alternate-screen rows into the shell's screen when
        // the window grew meanwhile; an empty alternate screen leaks nothing.
        execute!(stdout(), Clear(ClearType::All), LeaveAlternateScreen, Show)
    } else {
        execute!(stdout(), Show)
    };
    raw.and(screen)
}

/// Reads terminal input until told to stop; polls so that it can be stopped
/// and joined rather than left blocked on stdin after the dashboard closes.
pub(crate) fn spawn_input(tx: Sender<LoopEvent>, stop: Arc<AtomicBool>) -> JoinHandle<()> {
    thread::spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            let event = match event::poll(STOP_CHECK) {
                Ok(false) => continue,
                Ok(true) => event::read(),
                Err(e) => Err(e),
            };
            let message = match event {
                Ok(ev) => LoopEvent::Input(ev),
                Err(e) => LoopEvent::InputFailed(e.to_string()),
            };
            let failed = matches!(message, LoopEvent::InputFailed(_));
            if tx.send(message).is_err() || failed {
                return;
            }
        }
    })
}

/// Moves change notices onto the loop's channel; ends when the notifier
/// goes away (the dashboard then still ticks and takes keys) or on stop.
pub(crate) fn spawn_forwarder(
    changes: Receiver<()>,
    tx: Sender<LoopEvent>,
    stop: Arc<AtomicBool>,
) -> JoinHandle<()> {
    thread::spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            match changes.recv_timeout(STOP_CHECK) {
                Ok(()) => {
                    if tx.send(LoopEvent::Changed).is_err() {
                        return;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return,
            }
        }
    })
}
