//! Everything the commands print goes through here. A reader that stops
//! reading (`ccmulti status | head -1`) closes the pipe: what is printed after
//! that is dropped, never a panic, and the command finishes its work and
//! exits as it would have (a team still starts when its summary has nowhere to go).
//!
//! Resetting SIGPIPE to its default would end the process at the first write
//! instead; that is not what a coordinator that also writes to sockets wants,
//! and `team` must not stop half-made because its reader went away.

use std::fmt::Arguments;
use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};

/// Set once stdout refused a write: the rest of the output is dropped.
static STDOUT_GONE: AtomicBool = AtomicBool::new(false);

/// Writes to stdout; once it has refused a write, writes nothing more. A
/// failure other than a closed pipe (a full disk under a redirect) is said
/// once on stderr.
pub fn stdout(args: Arguments<'_>) {
    if STDOUT_GONE.load(Ordering::Relaxed) {
        return;
    }
    let mut out = io::stdout().lock();
    if let Err(e) = out.write_fmt(args).and_then(|()| out.flush()) {
        STDOUT_GONE.store(true, Ordering::Relaxed);
        if e.kind() != io::ErrorKind::BrokenPipe {
            stderr(format_args!(
                "ccmulti: writing to stdout failed ({e}); the rest of the output is lost\n"
            ));
        }
    }
}

/// Writes to stderr; a stderr that is gone loses the message, nothing more.
pub fn stderr(args: Arguments<'_>) {
    let _ = io::stderr().lock().write_fmt(args);
}

/// `println!` through [`stdout`].
macro_rules! outln {
    () => {
        $crate::cli::out::stdout(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::cli::out::stdout(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// `eprintln!` through [`stderr`].
macro_rules! errln {
    ($($arg:tt)*) => {
        $crate::cli::out::stderr(format_args!("{}\n", format_args!($($arg)*)))
    };
}

pub(crate) use {errln, outln};
