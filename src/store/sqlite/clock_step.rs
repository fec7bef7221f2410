//! Leases after the wall clock stepped back: a lock step
//! ([`PullBack`]: `rules::clock_step` decides each lease's new deadline)
//! behind a read that spares an ordinary sweep's tick the write lock.

use super::{Result, SqliteStore, time};
use crate::clock::Millis;
use crate::rules::clock_step::may_change_after;
use crate::rules::locks::steps::PullBack;

impl SqliteStore {
    /// Pulls every live lease's deadline back by `back_by` milliseconds (the
    /// clock stepped back that far; 0 when no step was seen), and any that
    /// ends more than the longest grant from now back to that. Returns how
    /// many leases changed.
    pub fn pull_leases_back(&self, back_by: Millis) -> Result<usize> {
        let from_text = time::to_text(may_change_after(self.now_ms(), back_by));
        // Normally no lease can change: one index probe, no write lock.
        let any: bool = self.read(|c| {
            Ok(
                c.prepare_cached("SELECT EXISTS (SELECT 1 FROM file_locks WHERE expires_at > ?1)")?
                    .query_row([&from_text], |r| r.get(0))?,
            )
        })?;
        if !any {
            return Ok(0);
        }
        self.lock_step(&PullBack { back_by })
    }
}
