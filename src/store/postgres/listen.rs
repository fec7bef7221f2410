//! Other coordinators' writes, pushed by PostgreSQL: one connection of its
//! own (outside the pool) `LISTEN`s on the channel every write transaction
//! notifies at commit (`writes::notify`), and each notice becomes a change on
//! this store's feed:
//!
//! - paths another coordinator freed: [`Change::Freed`], which wakes the
//!   waiting claims first in line for them here, as a release made here would;
//! - a notice too big to list them: [`Change::Other`] (wake every waiter);
//! - any notice, this process's own included, once a dashboard follows
//!   every write: [`Change::Written`].
//!
//! This process's own frees are announced by the writer itself after commit,
//! so its notices wake nobody twice. While the connection is down nothing is
//! heard; it reconnects by itself (backing off up to two seconds), and on
//! reconnecting announces [`Change::Other`]: anything may have been freed
//! meanwhile.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::{broadcast, mpsc, watch};
use tokio_postgres::AsyncMessage;

use super::connect::Target;
use super::writes::{CHANNEL, Notice};
use crate::store::Change;

const FIRST_RETRY: Duration = Duration::from_millis(100);
const LAST_RETRY: Duration = Duration::from_secs(2);

/// The listening task; it ends when the store does.
pub(super) struct Listener {
    task: tokio::task::JoinHandle<()>,
    /// True while `LISTEN` is in effect.
    listening: watch::Receiver<bool>,
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.task.abort();
    }
}

struct Hearing {
    origin: String,
    changes: broadcast::Sender<Change>,
    follow_all: Arc<AtomicBool>,
}

impl Listener {
    pub fn start(
        target: Target,
        origin: uuid::Uuid,
        changes: broadcast::Sender<Change>,
        follow_all: Arc<AtomicBool>,
        location: String,
    ) -> Self {
        let hearing = Hearing {
            origin: origin.to_string(),
            changes,
            follow_all,
        };
        let (listening_tx, listening) = watch::channel(false);
        let task = tokio::spawn(async move {
            let mut retry = FIRST_RETRY;
            let mut first = true;
            loop {
                let outcome =
                    listen_once(&target, &hearing, !first, &mut retry, &listening_tx).await;
                listening_tx.send_replace(false);
                if let Err(e) = outcome {
                    tracing::warn!(error = %e, db = %location, "not hearing other coordinators' changes; reconnecting");
                }
                first = false;
                tokio::time::sleep(retry).await;
                retry = (retry * 2).min(LAST_RETRY);
            }
        });
        Self { task, listening }
    }

    /// Waits until `LISTEN` is in effect: from then on every committed
    /// change is heard. False if it was not within `limit`.
    pub async fn wait_listening(&self, limit: Duration) -> bool {
        let mut listening = self.listening.clone();
        matches!(
            tokio::time::timeout(limit, listening.wait_for(|l| *l)).await,
            Ok(Ok(_))
        )
    }
}

/// One connection's life: listens until it breaks.
async fn listen_once(
    target: &Target,
    hearing: &Hearing,
    reconnected: bool,
    retry: &mut Duration,
    listening: &watch::Sender<bool>,
) -> Result<(), tokio_postgres::Error> {
    let (client, mut connection) = target.config.connect(target.tls.clone()).await?;
    let (notices, mut heard) = mpsc::unbounded_channel();
    // The connection must be polled for anything to arrive, the LISTEN's answer included.
    let driver = tokio::spawn(async move {
        let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(message) = messages.next().await {
            match message {
                Ok(AsyncMessage::Notification(n)) => {
                    if notices.send(n.payload().to_owned()).is_err() {
                        return Ok(());
                    }
                }
                Ok(_) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    });
    client.batch_execute(&format!("LISTEN {CHANNEL}")).await?;
    listening.send_replace(true);
    *retry = FIRST_RETRY;
    if reconnected {
        tracing::info!("hearing other coordinators' changes again");
        hearing.announce(Change::Other);
    }
    while let Some(payload) = heard.recv().await {
        hearing.hear(&payload);
    }
    drop(client);
    match driver.await {
        Ok(ended) => ended,
        // Only an abort (the store is gone) or a panic end the driver otherwise.
        Err(_) => Ok(()),
    }
}

impl Hearing {
    fn announce(&self, change: Change) {
        // No subscriber is not an error.
        let _ = self.changes.send(change);
        if self.follow_all.load(Ordering::Relaxed) {
            let _ = self.changes.send(Change::Written);
        }
    }

    fn hear(&self, payload: &str) {
        let notice: Notice = match serde_json::from_str(payload) {
            Ok(notice) => notice,
            Err(e) => {
                // Another program on the channel, or a newer ccmulti: anything may have changed.
                tracing::warn!(error = %e, "an unreadable change notice");
                return self.announce(Change::Other);
            }
        };
        if notice.origin == self.origin {
            if self.follow_all.load(Ordering::Relaxed) {
                let _ = self.changes.send(Change::Written);
            }
            return;
        }
        if notice.overflow {
            let _ = self.changes.send(Change::Other);
        }
        for (session, paths) in notice.freed {
            let _ = self.changes.send(Change::Freed { session, paths });
        }
        if self.follow_all.load(Ordering::Relaxed) {
            let _ = self.changes.send(Change::Written);
        }
    }
}
