//! The dashboard's data side: snapshots and releases through the
//! coordination service, and a redraw signal from the store's change feed,
//! so that a write by any process (this coordinator, `ccmulti release`,
//! another dashboard) shows at once. The dashboard draws on a plain thread;
//! its calls run on the coordinator's runtime. Whether each agent's branch
//! has landed comes from a look at git every few seconds ([`landings`]).

mod landings;

use std::path::PathBuf;
use std::sync::mpsc::{Receiver, Sender, channel};

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
    landings: Option<landings::Landings>,
}

impl CoordSource {
    pub fn new(coord: Coordinator, runtime: Handle) -> Self {
        Self {
            coord,
            runtime,
            landings: None,
        }
    }

    /// Also shows, for each agent with a branch of its own, whether it has
    /// landed in the branch checked out in `project`'s repository's main
    /// worktree; `redraw` is told when that changes.
    pub fn with_landings(mut self, project: PathBuf, redraw: Sender<()>) -> Self {
        self.landings = Some(landings::Landings::start(&self.runtime, project, redraw));
        self
    }
}

impl DataSource for CoordSource {
    fn snapshot(&mut self) -> Result<Snapshot, String> {
        let mut snapshot = self
            .runtime
            .block_on(self.coord.snapshot(EVENTS_SHOWN))
            .map_err(|e| {
                tracing::error!(error = %e, "dashboard snapshot failed");
                format!("could not read the database: {e}")
            })?;
        if let Some(landings) = &self.landings {
            landings.show(&mut snapshot.agents);
        }
        Ok(snapshot)
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
    let (tx, rx) = channel();
    forward_changes(coord, runtime, tx)?;
    Ok(rx)
}

/// Every change the store announces as one `()` on `tx`.
pub fn forward_changes(
    coord: &Coordinator,
    runtime: &Handle,
    tx: Sender<()>,
) -> Result<(), StoreError> {
    coord.store().follow_all_writes()?;
    let mut changes = coord.store().changes();
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
    Ok(())
}
