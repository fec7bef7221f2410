//! Leases after the wall clock stepped back ([`crate::rules::clock_step`]
//! decides; this writes it).

use rusqlite::params;

use super::{Result, SqliteStore, time};
use crate::clock::Millis;
use crate::rules::clock_step::{MAX_LEASE_MS, pulled_back};

impl SqliteStore {
    /// Pulls every live lease's deadline back by `back_by` milliseconds (the
    /// clock stepped back that far; 0 when no step was seen), and any that
    /// ends more than the longest grant from now back to that. Returns how
    /// many leases changed.
    pub fn pull_leases_back(&self, back_by: Millis) -> Result<usize> {
        let now = self.now_ms();
        // Only leases that can change: all live ones after a step, else
        // those beyond the longest grant (normally none: one index probe).
        let from = if back_by > 0 {
            now
        } else {
            now.saturating_add(MAX_LEASE_MS)
        };
        let from_text = time::to_text(from);
        let any: bool = self.read(|c| {
            Ok(
                c.prepare_cached("SELECT EXISTS (SELECT 1 FROM file_locks WHERE expires_at > ?1)")?
                    .query_row([&from_text], |r| r.get(0))?,
            )
        })?;
        if !any {
            return Ok(0);
        }
        self.write(|tx| {
            let leases: Vec<(String, String)> = tx
                .prepare_cached("SELECT id, expires_at FROM file_locks WHERE expires_at > ?1")?
                .query_map([&from_text], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<_>>()?;
            let mut changed = 0;
            for (id, expires) in leases {
                if let Some(end) = pulled_back(time::from_text(&expires)?, now, back_by) {
                    tx.prepare_cached("UPDATE file_locks SET expires_at = ?2 WHERE id = ?1")?
                        .execute(params![id, time::to_text(end)])?;
                    changed += 1;
                }
            }
            Ok(changed)
        })
    }
}
