//! The dashboard's data side: snapshots and releases through the
//! coordination service, and a redraw signal from the store's change feed,
//! so that a write by any process (this coordinator, `ccmulti release`,
//! another dashboard) shows at once. The dashboard draws on a plain thread;
//! its calls run on the coordinator's runtime.

use std::sync::mpsc::{Receiver, channel};

use ccmulti_ui::model::{Action, Snapshot};
use ccmulti_ui::run::DataSource;
use tokio::runtime::Handle;
use tokio::sync::broadcast::error::RecvError;

use crate::coord::Coordinator;
use crate::rules::locks::steps::ForceSelector;
use crate::store::StoreError;

/// How many recent events the dashboard shows.
const EVENTS_SHOWN: usize = 200;

pub struct CoordSource {
    coord: Coordinator,
    runtime: Handle,
}

impl CoordSource {
    pub fn new(coord: Coordinator, runtime: Handle) -> Self {
        Self { coord, runtime }
    }
}

impl DataSource for CoordSource {
    fn snapshot(&mut self) -> Result<Snapshot, String> {
        self.runtime
            .block_on(self.coord.snapshot(EVENTS_SHOWN))
            .map_err(|e| {
                tracing::error!(error = %e, "dashboard snapshot failed");
                format!("could not read the database: {e}")
            })
    }

    fn apply(&mut self, action: &Action) -> Result<String, String> {
        match action {
            Action::ReleaseLock {
                lock_id,
                path,
                holder,
                ..
            } => {
                let released = self
                    .runtime
                    .block_on(
                        self.coord
                            .force_release(&ForceSelector::LockId(lock_id.clone()), "dashboard"),
                    )
                    .map_err(|e| format!("could not release {path}: {e}"))?;
                if released.is_empty() {
                    Ok(format!("{path} was already free"))
                } else {
                    Ok(format!("released {path} held by {holder}"))
                }
            }
            _ => Ok(String::new()),
        }
    }
}

/// Every change the store announces (every write, by anyone) as one `()`
/// for the dashboard's redraw.
pub fn redraw_on_changes(
    coord: &Coordinator,
    runtime: &Handle,
) -> Result<Receiver<()>, StoreError> {
    coord.store().follow_all_writes()?;
    let mut changes = coord.store().changes();
    let (tx, rx) = channel();
    runtime.spawn(async move {
        loop {
            match changes.recv().await {
                Ok(_) | Err(RecvError::Lagged(_)) => {
                    if tx.send(()).is_err() {
                        return;
                    }
                }
                Err(RecvError::Closed) => return,
            }
        }
    });
    Ok(rx)
}
