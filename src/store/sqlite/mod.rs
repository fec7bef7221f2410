//! The only module that writes SQL. One write connection (every write
//! transaction `BEGIN IMMEDIATE`; on the store's write thread one transaction
//! is shared by the writes queued together, see `batch.rs`), reads from a small
//! r2d2 pool, WAL set once before the pool is built. Blocking: async callers
//! go through [`SqliteStore::blocking`] or [`SqliteStore::on_write_thread`], as
//! its [`CoordStore`](super::CoordStore) implementation does.

mod agents;
mod backend;
mod backup;
mod batch;
mod bulk;
mod clock_step;
mod columns;
mod events;
mod handover;
mod lifecycle;
mod locks;
mod migrations;
mod news;
mod plans;
mod progress;
#[cfg(test)]
mod query_plans;
mod read;
mod time;
mod verify;
mod views;
mod waiters;
mod watch;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, mpsc};
use std::thread::ThreadId;

use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::{Connection, TransactionBehavior};
use tokio::sync::broadcast;

pub use batch::WriteBatches;
use batch::{BatchCounters, WriteJob};
#[doc(hidden)]
pub use bulk::BulkSeed;

use super::{Change, DEFAULT_EVENTS_KEPT};
use crate::clock::SharedClock;

/// The newest migration (`migrations/sqlite/V<n>__*.sql`) this binary knows.
pub const SCHEMA_VERSION: i64 = 4;
const READ_POOL_SIZE: u32 = 4;
/// A subscriber that falls this far behind is told it lagged, and treats
/// that as "anything may have changed".
const CHANGE_FEED_DEPTH: usize = 1024;
const BUSY_TIMEOUT_MS: u64 = 5_000;
/// The page size of a database this build creates.
const NEW_PAGE_SIZE: i64 = 1024;

pub(crate) use super::{Result, StoreError};

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        // SQLite rolls back what it could not write: the caller may retry.
        if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DiskFull) {
            return Self::DiskFull(Box::new(e));
        }
        Self::Database(Box::new(e))
    }
}

impl From<r2d2::Error> for StoreError {
    fn from(e: r2d2::Error) -> Self {
        Self::Database(Box::new(e))
    }
}

/// How much of a commit survives what. `Normal` survives a process crash
/// (the WAL is in the OS's hands at commit); `Full` also survives power loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    #[default]
    Normal,
    Full,
}

#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    writer: Mutex<Connection>,
    readers: r2d2::Pool<SqliteConnectionManager>,
    clock: SharedClock,
    /// The change feed: what this process freed, and what others wrote.
    changes: broadcast::Sender<Change>,
    /// Watches the files once a dashboard asks to follow every write.
    watcher: Mutex<Option<notify::RecommendedWatcher>>,
    /// The write connection's `PRAGMA data_version` when last looked at, to
    /// notice commits by other processes.
    data_version: AtomicI64,
    /// How many of the newest coordination events the sweeper keeps.
    events_kept: AtomicU64,
    /// Registration limits, checked in the registering transaction so that
    /// racing registrations cannot pass them together.
    limits: std::sync::RwLock<crate::rules::limits::Limits>,
    /// The queue of the store's own write thread ([`SqliteStore::on_write_thread`]).
    write_jobs: mpsc::Sender<WriteJob>,
    /// That thread, the only one that runs batches.
    write_thread: ThreadId,
    /// Held by the write thread for a whole batch: the batch's transaction
    /// stays open between its jobs' statements, and a write from any other
    /// thread (a CLI command, `pull_leases_back` on the blocking pool) must
    /// not run its statements inside it. The write thread itself never takes
    /// it per statement.
    batch_gate: Mutex<()>,
    /// True while the write thread runs a batch's jobs: their writes go into
    /// the batch's transaction and their change notices wait for its commit.
    batching: AtomicBool,
    /// Change notices of the open batch's jobs, published after its commit.
    pending_changes: Mutex<Vec<Change>>,
    batch_counters: BatchCounters,
    /// Sessions' rows as last read, while the database has not changed.
    session_views: views::SessionViews,
}

/// Starts the thread that runs every write call for as long as the store
/// lives (it ends when the queue's sender is dropped with the store), in
/// batches that share one transaction (`batch.rs`). Writes are serialised on
/// the one write connection anyway; a thread that stays awake under load
/// hands each call over with one queue push and one wake-up, where tokio's
/// blocking pool spawned a task on any of dozens of threads per call, whose
/// futex and scheduler work showed in every call's profile
/// (BENCHMARKS.md, "HTTP under wrk").
fn start_write_thread() -> std::io::Result<(mpsc::Sender<WriteJob>, ThreadId)> {
    let (jobs, queue) = mpsc::channel::<WriteJob>();
    let thread = std::thread::Builder::new()
        .name("ccmulti-store-writes".into())
        .spawn(move || batch::run_write_thread(queue))?;
    Ok((jobs, thread.thread().id()))
}

/// The write connection, and the batch gate when taken by a thread other than
/// the write thread. Fields drop in order: the connection before the gate.
struct WriterGuard<'a> {
    conn: MutexGuard<'a, Connection>,
    _gate: Option<MutexGuard<'a, ()>>,
}

impl std::ops::Deref for WriterGuard<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        &self.conn
    }
}

impl std::ops::DerefMut for WriterGuard<'_> {
    fn deref_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.inner.path)
            .finish()
    }
}

fn configure(conn: &Connection, durability: Durability) -> rusqlite::Result<()> {
    conn.busy_timeout(std::time::Duration::from_millis(BUSY_TIMEOUT_MS))?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(
        None,
        "synchronous",
        match durability {
            Durability::Normal => "NORMAL",
            Durability::Full => "FULL",
        },
    )?;
    #[cfg(test)]
    query_plans::trace(conn);
    Ok(())
}

impl SqliteStore {
    /// Opens (creating if needed; it, its `-wal` and `-shm` readable by their
    /// owner only) and migrates the database.
    pub fn open(path: &Path, clock: SharedClock, durability: Durability) -> Result<Self> {
        create_private_file(path).map_err(|source| StoreError::File {
            path: path.to_owned(),
            source,
        })?;
        Self::open_file(path, clock, durability)
    }

    /// Opens and migrates a database that must already exist: for the
    /// commands that only look at one (`status`, `db verify`, `dash`), so that
    /// a mistyped `--db` creates neither a file nor a directory.
    pub fn open_existing(path: &Path, clock: SharedClock, durability: Durability) -> Result<Self> {
        if !path.is_file() {
            return Err(StoreError::Missing {
                path: path.to_owned(),
            });
        }
        Self::open_file(path, clock, durability)
    }

    fn open_file(path: &Path, clock: SharedClock, durability: Durability) -> Result<Self> {
        let mut writer = Connection::open(path)?;
        configure(&writer, durability)?;
        // A new file's pages are 1 KiB rather than 4: a commit writes each
        // page it changed to the WAL whole, and a claim or a release changes
        // a dozen pages (the lock row, six indexes, the event row, three
        // indexes, the counters) by a few bytes each, so smaller pages write
        // a quarter of the bytes (BENCHMARKS.md, "SQLite write path"). Only a
        // new, empty database takes it; an existing one keeps its size.
        writer.pragma_update(None, "page_size", NEW_PAGE_SIZE)?;
        // WAL is a property of the file: set once, before any reader exists.
        writer.pragma_update(None, "journal_mode", "WAL")?;
        migrations::migrate(&mut writer)?;
        restrict_side_files(path)?;
        let data_version = writer.pragma_query_value(None, "data_version", |r| r.get(0))?;
        let manager =
            SqliteConnectionManager::file(path).with_init(move |c| configure(c, durability));
        let readers = r2d2::Pool::builder()
            .max_size(READ_POOL_SIZE)
            .min_idle(Some(1))
            .build(manager)?;
        let (write_jobs, write_thread) =
            start_write_thread().map_err(|source| StoreError::File {
                path: path.to_owned(),
                source,
            })?;
        Ok(Self {
            inner: Arc::new(Inner {
                path: path.to_owned(),
                writer: Mutex::new(writer),
                readers,
                clock,
                changes: broadcast::channel(CHANGE_FEED_DEPTH).0,
                watcher: Mutex::new(None),
                data_version: AtomicI64::new(data_version),
                events_kept: AtomicU64::new(DEFAULT_EVENTS_KEPT),
                limits: std::sync::RwLock::default(),
                write_jobs,
                write_thread,
                batch_gate: Mutex::new(()),
                batching: AtomicBool::new(false),
                pending_changes: Mutex::new(Vec::new()),
                batch_counters: BatchCounters::default(),
                session_views: views::SessionViews::beside(path),
            }),
        })
    }

    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    pub fn now_ms(&self) -> i64 {
        self.inner.clock.now_ms()
    }

    /// Runs a store call off the async runtime.
    pub async fn blocking<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&SqliteStore) -> Result<T> + Send + 'static,
    {
        let store = self.clone();
        tokio::task::spawn_blocking(move || f(&store))
            .await
            .map_err(|e| StoreError::Join(e.to_string()))?
    }

    /// Runs a write call on the store's write thread, in a batch with the
    /// calls queued beside it: one transaction for the batch, a savepoint for
    /// this call, its answer (and its change notices) only once the batch has
    /// committed (`batch.rs`). `f` must be a plain write: its writes go
    /// through `SqliteStore::write`, it opens no transaction of its own.
    pub async fn on_write_thread<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&SqliteStore) -> Result<T> + Send + 'static,
    {
        let (answer, answered) = tokio::sync::oneshot::channel();
        self.queue_write(batch::batched(self.clone(), f, answer), answered)
            .await
    }

    /// Runs a write call on the write thread alone, outside any batch: for
    /// calls that commit several transactions on purpose (a sweep of a
    /// backlog, in bounded transactions so that no one waits long behind it).
    pub async fn on_write_thread_alone<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&SqliteStore) -> Result<T> + Send + 'static,
    {
        let (answer, answered) = tokio::sync::oneshot::channel();
        let store = self.clone();
        let job = WriteJob::Alone(Box::new(move || {
            // The caller may have gone (a cancelled request); the write stands.
            let _ = answer.send(f(&store));
        }));
        self.queue_write(job, answered).await
    }

    /// Queues `job` for the write thread and waits for its answer.
    async fn queue_write<T>(
        &self,
        job: WriteJob,
        answered: tokio::sync::oneshot::Receiver<Result<T>>,
    ) -> Result<T> {
        self.inner
            .write_jobs
            .send(job)
            .map_err(|_| StoreError::Join("the store's write thread has stopped".into()))?;
        answered
            .await
            .map_err(|_| StoreError::Join("a write call panicked".into()))?
    }

    /// Whether this thread is the write thread running a batch's job.
    fn in_batch(&self) -> bool {
        self.inner.batching.load(Ordering::Acquire)
            && std::thread::current().id() == self.inner.write_thread
    }

    fn writer(&self) -> Result<WriterGuard<'_>> {
        let gate = if std::thread::current().id() == self.inner.write_thread {
            None
        } else {
            Some(
                self.inner
                    .batch_gate
                    .lock()
                    .map_err(|_| StoreError::Poisoned)?,
            )
        };
        let conn = self.inner.writer.lock().map_err(|_| StoreError::Poisoned)?;
        Ok(WriterGuard { conn, _gate: gate })
    }

    /// Runs `f` in one `BEGIN IMMEDIATE` transaction, committed if it returns
    /// Ok. In a batch on the write thread the batch owns the transaction and
    /// the job's savepoint: `f` runs inside them, and a job that fails is
    /// rolled back whole to its savepoint (`batch.rs`).
    fn write<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let mut conn = self.writer()?;
        if self.in_batch() {
            return f(&conn);
        }
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let value = f(&tx)?;
        tx.commit()?;
        Ok(value)
    }

    /// Announces `change` on the change feed now, or, from a batch's job,
    /// once the batch has committed (a woken waiter must find the paths free).
    fn publish(&self, change: Change) {
        if self.in_batch() {
            if let Ok(mut pending) = self.inner.pending_changes.lock() {
                pending.push(change);
                return;
            }
        }
        // No subscriber (a CLI command) is not an error.
        let _ = self.inner.changes.send(change);
    }

    fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        if self.in_batch() {
            // A job reads what the batch's earlier jobs wrote, as it would
            // had each committed alone; a reader connection would not see it.
            let conn = self.writer()?;
            return f(&conn);
        }
        let conn = self.inner.readers.get()?;
        f(&conn)
    }
}

/// The files SQLite keeps beside the database in WAL mode.
const SIDE_FILES: [&str; 2] = ["-wal", "-shm"];

/// Creates `path` if absent, readable and writable by its owner only, and
/// narrows an existing file that is wider (made by an older ccmulti, or by
/// hand). A new parent directory is made owner-only too. Returns the file
/// open for appending.
pub fn create_private_file(path: &Path) -> std::io::Result<std::fs::File> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        let mut dirs = std::fs::DirBuilder::new();
        dirs.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut dirs, 0o700);
        dirs.create(parent)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let file = options.open(path)?;
    restrict_to_owner(path)?;
    Ok(file)
}

/// Takes group and other permissions off an existing file (no-op off Unix).
pub fn restrict_to_owner(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)?.permissions().mode();
        if mode & 0o077 != 0 {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode & 0o700))?;
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// SQLite gives `-wal` and `-shm` the database's mode when it creates them,
/// but ones left by an earlier run keep whatever mode they had.
fn restrict_side_files(path: &Path) -> Result<()> {
    for suffix in SIDE_FILES {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        let side = PathBuf::from(name);
        match restrict_to_owner(&side) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(StoreError::File {
                    path: side,
                    source: e,
                });
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::*;
    use crate::clock::ManualClock;

    pub const T0: i64 = 1_790_000_000_000;

    /// Normalised lock paths, as a claim carries them.
    pub fn paths(list: &[&str]) -> std::collections::BTreeSet<String> {
        list.iter().map(|p| p.to_string()).collect()
    }

    /// Agents `agents` of session `s`, user `u`.
    pub fn register(store: &SqliteStore, agents: &[&str]) {
        for a in agents {
            store
                .touch_agent(
                    &<ccmulti_model::VirtualUser as std::str::FromStr>::from_str(&format!(
                        "u__session__s__{a}"
                    ))
                    .expect("a virtual user"),
                    "url",
                )
                .expect("registered");
        }
    }

    /// The audit trail's kinds, oldest first.
    pub fn event_kinds(store: &SqliteStore) -> Vec<String> {
        let mut kinds: Vec<_> = store
            .snapshot(1000)
            .expect("a snapshot")
            .events
            .into_iter()
            .map(|e| e.kind.as_str().to_owned())
            .collect();
        kinds.reverse();
        kinds
    }

    /// One number a query returns, read straight from the database.
    pub fn scalar(store: &SqliteStore, sql: &str) -> i64 {
        store
            .read(|c| Ok(c.query_row(sql, [], |r| r.get(0))?))
            .expect("a scalar query")
    }

    pub fn open_temp() -> (tempfile::TempDir, SqliteStore, Arc<ManualClock>) {
        let dir = tempfile::tempdir().expect("tempdir");
        let clock = ManualClock::starting_at(T0);
        let store = SqliteStore::open(&dir.path().join("c.db"), clock.clone(), Durability::Normal)
            .expect("open store");
        (dir, store, clock)
    }
}

/// How the bundled SQLite is compiled (`.cargo/config.toml`).
#[cfg(test)]
mod compile_options {
    #[test]
    fn readers_share_no_global_page_cache_or_memory_statistics() {
        let conn = rusqlite::Connection::open_in_memory().expect("in memory");
        let mut stmt = conn.prepare("PRAGMA compile_options").expect("pragma");
        let options: Vec<String> = stmt
            .query_map([], |r| r.get(0))
            .expect("options")
            .collect::<Result<_, _>>()
            .expect("read");
        // One page cache per connection, not one behind a global mutex.
        assert!(
            !options.iter().any(|o| o == "ENABLE_MEMORY_MANAGEMENT"),
            "{options:?}: build from the repository, where .cargo/config.toml sets LIBSQLITE3_FLAGS"
        );
        assert!(
            options.iter().any(|o| o == "DEFAULT_MEMSTATUS=0"),
            "{options:?}"
        );
        assert!(options.iter().any(|o| o == "THREADSAFE=1"), "{options:?}");
    }
}
