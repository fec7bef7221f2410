//! PostgreSQL as a [`CoordStore`](super::CoordStore): the state shared by any
//! number of coordinators, on any machines, pointing at one database.
//!
//! # Why every coordinator gives the same answers
//!
//! Every question about locks is asked within one session (a claim looks only
//! at its own session's rows, see `locks.rs`), so writes are serialised per
//! session: each transaction that writes `file_locks`, writes an event an
//! agent's news reads, reads or moves a news cursor, or stamps task progress
//! first takes the session's transaction-scoped advisory lock
//! (`pg_advisory_xact_lock` on a 64-bit hash of the session id, held until
//! commit or rollback). Transactions run at READ COMMITTED, where every
//! statement reads a fresh snapshot: the statements after the lock see every
//! commit of the transactions that held it before. So the check and the
//! insert of a claim cannot interleave with another claim, release, expiry
//! or forced release in the same session, on this coordinator or any other:
//! the seed's check-then-insert race is closed, multi-path claims are all or
//! nothing, renewal reads the lease it extends. Sessions never wait on each
//! other (a hash collision only makes two sessions take turns).
//!
//! No deadlock: a transaction takes one session's lock, or (a sweep, a
//! forced release or a clock-step pull-back across sessions) several in
//! ascending key order in one statement, before touching any row of theirs;
//! rows of a session are only written under its lock.
//!
//! Expiry is recorded once however many coordinators sweep: the sweeper
//! deletes `WHERE id = $1 AND expires_at <= now` under the sessions' locks
//! and records an event only for a row its own delete removed; a second
//! sweeper finds the rows gone (`store::lock_steps`).
//!
//! Fencing tokens come from a sequence (`nextval` after the session lock), so
//! they never repeat (a sequence never hands a value out twice, even across
//! rollbacks and restarts) and, for one path, only grow: two grants on a path
//! are serialised by the session lock and the later one draws later.
//!
//! An agent's news reads events by id after its cursor, under the session
//! lock: ids come from an identity, and every event news reads is written
//! under the same lock, so no event of the session can commit later with an
//! id below the cursor.
//!
//! Changes reach other coordinators by `NOTIFY` in the writing transaction
//! (delivered at commit, and only if it commits), see `listen.rs`.
//!
//! Every call is bounded ([`CALL_TIMEOUT`], and what is left of its
//! request's time, `crate::deadline`): a database that is down, frozen or
//! unreachable gives [`StoreError::Unavailable`], never a hang. A call that
//! fails may or may not have committed (the answer to a commit can be what is
//! lost); the coordination calls are safe to repeat: a repeated claim renews
//! the caller's own lease, a repeated release finds nothing to release.

mod backend;
mod connect;
mod handover;
mod lifecycle;
mod limits;
mod listen;
mod locks;
mod migrations;
mod news;
mod read;
mod verify;
mod writes;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::time::Duration;

use chrono::{DateTime, Utc};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio::sync::broadcast;

pub use connect::redact;

use super::{Change, DEFAULT_EVENTS_KEPT, Result, StoreError};
use crate::clock::{Millis, SharedClock};
use crate::rules::limits::Limits;

/// The newest migration (`migrations/postgres/V<n>__*.sql`) this binary knows;
/// the same number as SQLite's for the same schema.
pub const SCHEMA_VERSION: i64 = 4;

/// The longest any store call may take, connecting included; then it answers
/// [`StoreError::Unavailable`]. Set on the server too (statement and lock
/// timeouts just below it), so a statement is not left running.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(5);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
const POOL_SIZE: usize = 16;
/// As SQLite's: a subscriber this far behind treats it as "anything changed".
const CHANGE_FEED_DEPTH: usize = 1024;

impl From<tokio_postgres::Error> for StoreError {
    fn from(e: tokio_postgres::Error) -> Self {
        if is_unavailable(&e) {
            Self::Unavailable(with_causes(&e))
        } else {
            Self::Database(Box::new(e))
        }
    }
}

/// The server is gone or not answering, or it refused for now (shutting
/// down, starting, too many connections, a serialisation or deadlock
/// failure): worth retrying. A server's error about the statement itself is not.
fn is_unavailable(e: &tokio_postgres::Error) -> bool {
    match e.code() {
        Some(code) => {
            let class = &code.code()[..2];
            // 08 connection, 53 resources, 57 operator intervention (shutdown,
            // statement or lock timeout), 40 rollback (serialisation, deadlock).
            matches!(class, "08" | "53" | "57" | "40")
        }
        None => {
            e.is_closed()
                || std::error::Error::source(e).is_some_and(|s| s.is::<std::io::Error>())
                || e.to_string().contains("error connecting")
                || e.to_string().contains("timeout")
        }
    }
}

/// The error and what caused it ("error connecting to server: Connection
/// refused"): tokio-postgres keeps the reason in its source.
fn with_causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

impl From<deadpool_postgres::PoolError> for StoreError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        match e {
            deadpool_postgres::PoolError::Backend(e) => e.into(),
            other => Self::Unavailable(format!("no database connection: {}", with_causes(&other))),
        }
    }
}

#[derive(Clone)]
pub struct PostgresStore {
    inner: Arc<Inner>,
}

struct Inner {
    /// For people: the URL with its password replaced.
    location: String,
    pool: Pool,
    clock: SharedClock,
    changes: broadcast::Sender<Change>,
    /// Marks this process's notifications, which its listener skips (it
    /// announced them itself after commit).
    origin: uuid::Uuid,
    /// Set once a dashboard asks for every write.
    follow_all: Arc<AtomicBool>,
    events_kept: AtomicU64,
    /// What registration refuses beyond (agents per session, sessions per user).
    limits: std::sync::RwLock<Limits>,
    /// Ends the listener when the last handle on the store goes.
    _listener: listen::Listener,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("location", &self.inner.location)
            .finish()
    }
}

/// Is `db` a PostgreSQL connection URL rather than a SQLite file path?
pub fn is_url(db: &str) -> bool {
    db.starts_with("postgres://") || db.starts_with("postgresql://")
}

impl PostgresStore {
    /// Connects (TLS as the URL's `sslmode` says), migrates, and starts
    /// listening for other coordinators' changes. A server that cannot be
    /// reached is a clear error here, naming the redacted URL.
    pub async fn open(url: &str, clock: SharedClock) -> Result<Self> {
        Self::open_as(url, clock, false).await
    }

    /// As [`open`](Self::open), for a command that looks at (or releases
    /// from) a coordinator's database: one without ccmulti's tables is
    /// [`StoreError::MissingSchema`], and nothing is created in it.
    pub async fn open_existing(url: &str, clock: SharedClock) -> Result<Self> {
        Self::open_as(url, clock, true).await
    }

    async fn open_as(url: &str, clock: SharedClock, must_exist: bool) -> Result<Self> {
        let target = connect::Target::parse(url)?;
        let manager = Manager::from_config(
            target.config.clone(),
            target.tls.clone(),
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .wait_timeout(Some(CALL_TIMEOUT))
            .create_timeout(Some(CONNECT_TIMEOUT))
            .recycle_timeout(Some(CONNECT_TIMEOUT))
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .build()
            .map_err(|e| StoreError::Database(Box::new(e)))?;
        let location = redact(url);
        {
            let mut client = pool.get().await.map_err(|e| unreachable(&location, e))?;
            if must_exist && migrations::applied_version(&client).await? == 0 {
                return Err(StoreError::MissingSchema { location });
            }
            migrations::migrate(&mut client).await?;
        }
        let changes = broadcast::channel(CHANGE_FEED_DEPTH).0;
        let origin = uuid::Uuid::new_v4();
        let follow_all = Arc::new(AtomicBool::new(false));
        let listener = listen::Listener::start(
            target,
            origin,
            changes.clone(),
            follow_all.clone(),
            location.clone(),
        );
        // Open means every change committed from now on is heard: a claim
        // that starts waiting right after cannot miss the release it waits for.
        if !listener.wait_listening(CALL_TIMEOUT).await {
            return Err(StoreError::Unavailable(format!(
                "could not LISTEN for other coordinators' changes on {location} within {} s",
                CALL_TIMEOUT.as_secs()
            )));
        }
        Ok(Self {
            inner: Arc::new(Inner {
                location,
                pool,
                clock,
                changes,
                origin,
                follow_all,
                events_kept: AtomicU64::new(DEFAULT_EVENTS_KEPT),
                limits: std::sync::RwLock::new(Limits::default()),
                _listener: listener,
            }),
        })
    }

    pub fn now_ms(&self) -> Millis {
        self.inner.clock.now_ms()
    }

    pub fn location(&self) -> &str {
        &self.inner.location
    }

    async fn client(&self) -> Result<deadpool_postgres::Object> {
        Ok(self.inner.pool.get().await?)
    }
}

fn unreachable(location: &str, e: deadpool_postgres::PoolError) -> StoreError {
    if connect::refused_for_good(&e) {
        return StoreError::Database(
            format!(
                "PostgreSQL at {location} refused ccmulti: {}; check the URL (user, password, database name, sslmode, sslrootcert)",
                with_causes(&e)
            )
            .into(),
        );
    }
    StoreError::Unavailable(format!(
        "cannot reach PostgreSQL at {location}: {}",
        with_causes(&e)
    ))
}

/// A stored timestamp for the store's milliseconds.
fn ts(ms: Millis) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

fn ms(t: DateTime<Utc>) -> Millis {
    t.timestamp_millis()
}

/// Takes the advisory locks of `sessions` for the rest of the transaction,
/// in ascending key order (see the module comment: why, and why no deadlock).
async fn lock_sessions(tx: &deadpool_postgres::Transaction<'_>, sessions: &[&str]) -> Result<()> {
    let stmt = tx
        .prepare_cached(
            "SELECT pg_advisory_xact_lock(k) FROM
               (SELECT DISTINCT hashtextextended(s, 0) AS k FROM unnest($1::text[]) AS s ORDER BY k) AS keys",
        )
        .await?;
    tx.execute(&stmt, &[&sessions]).await?;
    Ok(())
}
