//! The dashboard's look at the agents' branches ([`crate::landing`]): git
//! runs on the blocking pool, never on the async workers nor between the
//! dashboard's frames; at most once every [`LOOK_EVERY`], and only while
//! some agent has a branch of its own. A snapshot shows the latest look;
//! a look that changes something asks for a redraw.

use std::path::PathBuf;
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ccmulti_model::snapshot::AgentRow;
use tokio::runtime::Handle;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::landing::{self, AgentLanding, OwnBranch};
use crate::rules::landing::{attach, own_branches};

/// Commits in a worktree make no write the dashboard hears of, so it looks
/// again this often; a change of the agents' branches is looked at as soon
/// as this allows.
const LOOK_EVERY: Duration = Duration::from_secs(3);

pub(super) struct Landings {
    /// The branches to look at, from the latest snapshot.
    asked: watch::Sender<Vec<OwnBranch>>,
    found: Arc<Mutex<Vec<AgentLanding>>>,
    this_host: Option<String>,
}

impl Landings {
    /// Starts looking on `runtime`, in `project`'s repository (and in each
    /// worktree's own); `redraw` hears of every look that changed something.
    /// It stops once this is dropped, or `redraw`'s receiver is.
    pub fn start(runtime: &Handle, project: PathBuf, redraw: Sender<()>) -> Self {
        let (asked, wanted) = watch::channel(Vec::new());
        let found = Arc::default();
        runtime.spawn(keep_looking(project, wanted, Arc::clone(&found), redraw));
        Self {
            asked,
            found,
            this_host: crate::git::this_host(),
        }
    }

    /// Gives `agents` (a snapshot's) the latest look, and asks for a new
    /// one when their branches differ from the last asked.
    pub fn show(&self, agents: &mut [AgentRow]) {
        let own = own_branches(agents, self.this_host.as_deref());
        self.asked.send_if_modified(|asked| {
            let changed = *asked != own;
            if changed {
                *asked = own;
            }
            changed
        });
        if let Ok(found) = self.found.lock() {
            attach(agents, &found);
        }
    }
}

async fn keep_looking(
    project: PathBuf,
    mut wanted: watch::Receiver<Vec<OwnBranch>>,
    found: Arc<Mutex<Vec<AgentLanding>>>,
    redraw: Sender<()>,
) {
    let mut last: Option<Instant> = None;
    loop {
        tokio::select! {
            changed = wanted.changed() => if changed.is_err() {
                return;
            },
            () = tokio::time::sleep(LOOK_EVERY) => {}
        }
        if let Some(at) = last {
            tokio::time::sleep_until(at + LOOK_EVERY).await;
        }
        let asked = wanted.borrow_and_update().clone();
        let looked = if asked.is_empty() {
            Vec::new()
        } else {
            last = Some(Instant::now());
            let project = project.clone();
            match tokio::task::spawn_blocking(move || landing::of(&project, &asked)).await {
                Ok(looked) => looked,
                Err(e) => {
                    tracing::warn!(error = %e, "the look at the agents' branches failed");
                    continue;
                }
            }
        };
        let changed = match found.lock() {
            Ok(mut found) if *found != looked => {
                *found = looked;
                true
            }
            _ => false,
        };
        if changed && redraw.send(()).is_err() {
            return;
        }
    }
}
