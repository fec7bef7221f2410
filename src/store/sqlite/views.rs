//! A session's rows as last read, kept for as long as the database has not
//! changed, so that `check_agent_status` (a quarter of whose cost was this
//! read: BENCHMARKS.md, "HTTP under wrk") does not read them again.
//!
//! "Has not changed" is decided the way SQLite's own readers decide whether
//! their page cache still holds: by the WAL-index header at the start of the
//! `-shm` file (<https://sqlite.org/walformat.html>, "The WAL-Index Header").
//! Every commit, by any connection of any process (this coordinator's write
//! thread, `ccmulti release` in a terminal), rewrites it before the commit
//! returns: its change counter, frame count, salts and checksums. The header
//! is stored twice, second copy first; copies that differ mean a commit is
//! writing it, and nothing is cached or served then.
//!
//! Rows are tagged with the header read *before* they were read: a commit
//! that lands between the two makes the tag stale, never the rows. Time does
//! not go through the cache: the rows hold every lock of the session, expired
//! or not, and each answer keeps those live at its own moment.

use std::collections::HashMap;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::{Arc, RwLock};

use ccmulti_model::snapshot::{AgentRow, LockRow, TaskRow};

use crate::rules::progress::summarise_agents;
use crate::store::SessionView;

/// One copy of the WAL-index header (`WalIndexHdr`).
const HEADER: usize = 48;

/// Sessions kept at most; past it the cache starts over (a session's rows are
/// a read away).
const MAX_SESSIONS: usize = 256;

/// The WAL-index header as last seen: equal bytes, no commit in between.
pub(super) type Stamp = [u8; HEADER];

/// A session's agents, every lock (expired ones too) and tasks, as stored.
#[derive(Debug)]
pub(super) struct SessionRows {
    pub agents: Vec<AgentRow>,
    pub locks: Vec<LockRow>,
    pub tasks: Vec<TaskRow>,
}

impl SessionRows {
    /// The session as its agents see it at `now`: live locks only, each
    /// agent's lock count and current task from those.
    pub fn view_at(&self, now: i64) -> SessionView {
        let locks: Vec<LockRow> = self
            .locks
            .iter()
            .filter(|l| l.expires_at_ms > now)
            .cloned()
            .collect();
        let mut agents = self.agents.clone();
        summarise_agents(&mut agents, &locks, &self.tasks);
        SessionView {
            now_ms: now,
            agents,
            locks,
            tasks: self.tasks.clone(),
        }
    }
}

pub(super) struct SessionViews {
    /// The `-shm` file; `None` if it cannot be read, and then nothing is
    /// cached.
    shm: Option<File>,
    /// Read under a shared lock on every answer, written on a miss only: no
    /// answer waits behind another one's lookup.
    cached: RwLock<HashMap<String, (Stamp, Arc<SessionRows>)>>,
}

impl SessionViews {
    /// For the database at `database`, once SQLite has put it in WAL mode
    /// (which makes the `-shm` file).
    pub fn beside(database: &Path) -> Self {
        // SQLite follows a symbolic link to the database and keeps its side
        // files beside the file linked to.
        let shm = std::fs::canonicalize(database).ok().and_then(|database| {
            let mut name = database.into_os_string();
            name.push("-shm");
            File::open(name).ok()
        });
        Self {
            shm,
            cached: RwLock::default(),
        }
    }

    /// The WAL-index header now, if both copies agree.
    pub fn stamp(&self) -> Option<Stamp> {
        let mut both = [0u8; 2 * HEADER];
        self.shm.as_ref()?.read_exact_at(&mut both, 0).ok()?;
        let (first, second) = both.split_at(HEADER);
        // An all-zero header is one SQLite has not initialised yet.
        (first == second && first.iter().any(|b| *b != 0))
            .then(|| first.try_into().ok())
            .flatten()
    }

    /// The session's rows if they were read under this very header.
    pub fn get(&self, session: &str, stamp: &Stamp) -> Option<Arc<SessionRows>> {
        let cached = self.cached.read().ok()?;
        cached
            .get(session)
            .filter(|(tag, _)| tag == stamp)
            .map(|(_, rows)| rows.clone())
    }

    /// Keeps `rows`, read after the header was `stamp`.
    pub fn put(&self, session: &str, stamp: Stamp, rows: Arc<SessionRows>) {
        let Ok(mut cached) = self.cached.write() else {
            return;
        };
        if cached.len() >= MAX_SESSIONS && !cached.contains_key(session) {
            cached.clear();
        }
        cached.insert(session.to_owned(), (stamp, rows));
    }
}

#[cfg(test)]
mod tests {
    use ccmulti_model::Operation;

    use crate::store::sqlite::test_support::{open_temp, paths, register};
    use crate::store::sqlite::{Durability, SqliteStore};

    /// The view as a read straight from the database gives it, bypassing
    /// the cache: what every cached answer must equal.
    fn fresh(store: &SqliteStore) -> crate::store::SessionView {
        let other = SqliteStore::open(store.path(), store.inner.clock.clone(), Durability::Normal)
            .expect("a second store on the file");
        other.session_view("s").expect("a fresh view")
    }

    #[test]
    fn a_commit_changes_the_stamp_and_a_read_does_not() {
        let (_dir, store, _clock) = open_temp();
        register(&store, &["impl_a"]);
        let views = &store.inner.session_views;
        let before = views.stamp().expect("a WAL-index header");
        store.session_view("s").unwrap();
        store.snapshot(10).unwrap();
        assert_eq!(views.stamp(), Some(before));
        store
            .claim("s", "impl_a", Operation::Write, &paths(&["a.rs"]), 10)
            .unwrap();
        assert_ne!(views.stamp(), Some(before));
    }

    #[test]
    fn every_answer_equals_a_fresh_read_across_writes_here_and_elsewhere() {
        let (_dir, store, clock) = open_temp();
        register(&store, &["impl_a", "impl_b"]);
        let first = store.session_view("s").unwrap();
        assert_eq!(first, fresh(&store));
        // Served again without a write: the same rows.
        assert_eq!(store.session_view("s").unwrap(), first);
        // A write by this store.
        store
            .claim("s", "impl_a", Operation::Write, &paths(&["a.rs"]), 10)
            .unwrap();
        let claimed = store.session_view("s").unwrap();
        assert_eq!(claimed.locks.len(), 1);
        assert_eq!(claimed.agents[0].lock_count, 1);
        assert_eq!(claimed, fresh(&store));
        // A write by another connection to the file, as `ccmulti release`
        // in another process makes it: seen by the very next answer.
        let elsewhere = SqliteStore::open(store.path(), clock.clone(), Durability::Normal).unwrap();
        elsewhere
            .force_release(
                &crate::store::ForceSelector::Path {
                    session_id: Some("s".into()),
                    path: "a.rs".into(),
                },
                "a person",
            )
            .unwrap();
        let released = store.session_view("s").unwrap();
        assert!(released.locks.is_empty(), "{released:?}");
        assert_eq!(released.agents[0].lock_count, 0);
        assert_eq!(released, fresh(&store));
    }

    #[test]
    fn a_lock_expires_from_the_answer_without_any_write() {
        let (_dir, store, clock) = open_temp();
        register(&store, &["impl_a"]);
        store
            .claim("s", "impl_a", Operation::Write, &paths(&["a.rs"]), 1)
            .unwrap();
        let live = store.session_view("s").unwrap();
        assert_eq!((live.locks.len(), live.agents[0].lock_count), (1, 1));
        let stamp = store.inner.session_views.stamp();
        clock.advance_ms(61_000);
        let later = store.session_view("s").unwrap();
        // Nothing was written (the rows came from the cache), yet the lock is gone.
        assert_eq!(store.inner.session_views.stamp(), stamp);
        assert!(later.locks.is_empty(), "{later:?}");
        assert_eq!(later.agents[0].lock_count, 0);
        assert_eq!(later, fresh(&store));
    }
}
