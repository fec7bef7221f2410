//! What an agent is told changed for it since it last looked: a lock it wanted
//! (it had a conflict on) was freed, another agent completed a task, a lock of
//! its own was force-released, expired or is about to expire. Each fact is told
//! once: the caller keeps a cursor (the last event shown, and when it looked).

use crate::clock::Millis;
use ccmulti_model::tools::claim::MIN_DURATION_MINUTES;

use crate::rules::locks::seconds_until;
use crate::rules::targets::LockTarget;

/// A lock of one's own is "about to expire" inside this window.
pub const EXPIRY_WARNING_MS: Millis = 120_000;
/// Enough to act on; the rest is one `check_agent_status` away.
pub const MAX_ITEMS: usize = 8;

/// Where an agent last looked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    /// The last coordination event it was shown (ids only grow).
    pub last_event_id: i64,
    pub looked_at_ms: Millis,
}

impl Cursor {
    /// Where an agent that never looked starts: everything since it joined
    /// is news. Events before its first own event cannot concern it, so its
    /// ids start just before that one (a new agent in a session with a long
    /// history reads none of it); with no event of its own, after the newest
    /// event of all. Its last look is when it joined, or `now` if no agent
    /// row says so.
    pub fn first_look(
        first_own_event: Option<i64>,
        newest_event: i64,
        joined_at_ms: Option<Millis>,
        now: Millis,
    ) -> Self {
        Self {
            last_event_id: first_own_event.map_or(newest_event, |id| id - 1),
            looked_at_ms: joined_at_ms.unwrap_or(now),
        }
    }
}

/// How a lock stopped being held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freed {
    Released,
    Expired,
    ForcedRelease,
}

impl Freed {
    /// From an event kind; other kinds free nothing.
    pub fn from_kind(kind: &str) -> Option<Self> {
        match kind {
            "released" => Some(Self::Released),
            "expired" => Some(Self::Expired),
            "forced_release" => Some(Self::ForcedRelease),
            _ => None,
        }
    }
}

/// A release, expiry or forced release of another agent's lock on a path
/// this agent had a conflict on (and has not been granted since).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FreedEvent {
    pub path: String,
    pub holder: String,
    pub how: Freed,
}

/// Another agent's live lock, to say whether a freed path is free now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtherLock {
    pub path: String,
    pub agent_id: String,
    pub operation: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnLock {
    pub path: String,
    pub granted_at_ms: Millis,
    pub expires_at_ms: Millis,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompletedTask {
    pub agent_id: String,
    pub task_id: String,
    pub message: Option<String>,
}

/// Everything the store found since the cursor, before the rules pick what to tell.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Facts {
    /// Oldest first.
    pub freed: Vec<FreedEvent>,
    pub others_live: Vec<OtherLock>,
    pub completed: Vec<CompletedTask>,
    /// This agent's own locks lost since the cursor (forced release or expiry), oldest first;
    /// the detail of a forced release says who did it.
    pub lost: Vec<(String, Freed, Option<String>)>,
    /// This agent's own live locks.
    pub own_live: Vec<OwnLock>,
    /// Files whose changes in this agent's worktree another agent was found
    /// to need while they were in no commit (a version recorded since the
    /// last look as left uncommitted), oldest first.
    pub wanted_uncommitted: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum News {
    WantedLockFreed {
        path: String,
        holder: String,
        how: Freed,
        /// Other agents still holding it (shared readers, or a new holder).
        still_held_by: Vec<String>,
    },
    TaskCompleted(CompletedTask),
    OwnLockLost {
        path: String,
        how: Freed,
        detail: Option<String>,
    },
    OwnLockExpiring {
        path: String,
        seconds_left: i64,
    },
    /// Another agent needs this agent's changes to a file, and they are in
    /// no commit in its worktree, so they cannot be handed over.
    ChangeWanted {
        path: String,
    },
    /// More items than are told at once.
    More(usize),
}

impl News {
    pub fn kind(&self) -> &'static str {
        match self {
            Self::WantedLockFreed { .. } => "wanted_lock_freed",
            Self::TaskCompleted(_) => "task_completed",
            Self::OwnLockLost {
                how: Freed::ForcedRelease,
                ..
            } => "own_lock_force_released",
            Self::OwnLockLost { .. } => "own_lock_expired",
            Self::OwnLockExpiring { .. } => "own_lock_expiring",
            Self::ChangeWanted { .. } => "change_wanted",
            Self::More(_) => "more",
        }
    }

    pub fn path(&self) -> Option<&str> {
        match self {
            Self::WantedLockFreed { path, .. }
            | Self::OwnLockLost { path, .. }
            | Self::OwnLockExpiring { path, .. }
            | Self::ChangeWanted { path } => Some(path),
            Self::TaskCompleted(_) | Self::More(_) => None,
        }
    }

    /// One line the model can act on.
    pub fn message(&self) -> String {
        match self {
            Self::WantedLockFreed {
                path,
                holder,
                how,
                still_held_by,
            } => {
                let what = match how {
                    Freed::Released => format!("{holder} released {path}, which you wanted"),
                    Freed::Expired => {
                        format!("{holder}'s lock on {path}, which you wanted, expired")
                    }
                    Freed::ForcedRelease => {
                        format!("{holder}'s lock on {path}, which you wanted, was force-released")
                    }
                };
                if still_held_by.is_empty() {
                    format!("{what}; it is free now: claim_file_lock it before editing")
                } else {
                    format!("{what}; it is still held by {}", still_held_by.join(", "))
                }
            }
            Self::TaskCompleted(t) => match &t.message {
                Some(m) => format!("{} completed task {}: {m}", t.agent_id, t.task_id),
                None => format!("{} completed task {}", t.agent_id, t.task_id),
            },
            Self::OwnLockLost {
                path,
                how: Freed::ForcedRelease,
                detail,
            } => format!(
                "your lock on {path} was {}; claim it again before editing",
                detail.as_deref().unwrap_or("force-released")
            ),
            // A lock that gave way to another agent's claim says so.
            Self::OwnLockLost {
                path,
                detail: Some(detail),
                ..
            } => format!("your lock on {path} expired ({detail}); claim it again before editing"),
            Self::OwnLockLost { path, .. } => {
                format!("your lock on {path} expired; claim it again before editing")
            }
            Self::OwnLockExpiring { path, seconds_left } => format!(
                "your lock on {path} expires in {seconds_left}s; claim_file_lock it again to renew, or release it"
            ),
            Self::ChangeWanted { path } => format!(
                "another agent needs your changes to {path}, and they are in no commit in your worktree, so ccmulti \
                 cannot hand them over: once your current edit of it is done, commit them (`{}`)",
                crate::rules::handover::commit_command(std::slice::from_ref(path))
            ),
            Self::More(n) => format!("{n} more: call check_agent_status"),
        }
    }
}

/// An own lock is in the warning window now and was not at the last look (it
/// was granted since, or had longer left then), so it is told once per lease;
/// a renewal moves it out, and it may be told again. A lease granted for
/// less than the shortest duration_minutes (what the edit hook takes in
/// seconds, renewed by each edit) is meant to lapse once the agent moves on:
/// never warned about.
pub fn newly_expiring(now: Millis, looked_at: Millis, lock: &OwnLock) -> bool {
    let in_window =
        |at: Millis| lock.expires_at_ms > at && lock.expires_at_ms - at < EXPIRY_WARNING_MS;
    let short_by_design = lock.expires_at_ms - lock.granted_at_ms < MIN_DURATION_MINUTES * 60_000;
    in_window(now) && !short_by_design && (lock.granted_at_ms > looked_at || !in_window(looked_at))
}

/// Picks what to tell, at most [`MAX_ITEMS`] lines plus a count of the rest:
/// lost locks first (the agent may be editing without one), then expiring
/// ones, then changes of its own another agent waits to be committed, then
/// freed paths it does not hold now (the latest event per path) and
/// completed tasks.
pub fn compose(now: Millis, cursor: Cursor, me: &str, facts: Facts) -> Vec<News> {
    let mut news: Vec<News> = Vec::new();
    for (path, how, detail) in facts.lost {
        news.push(News::OwnLockLost { path, how, detail });
    }
    for lock in &facts.own_live {
        if newly_expiring(now, cursor.looked_at_ms, lock) {
            news.push(News::OwnLockExpiring {
                seconds_left: seconds_until(now, lock.expires_at_ms),
                path: lock.path.clone(),
            });
        }
    }
    let mut wanted: Vec<String> = Vec::new();
    for path in facts.wanted_uncommitted {
        if !wanted.contains(&path) {
            wanted.push(path);
        }
    }
    news.extend(wanted.into_iter().map(|path| News::ChangeWanted { path }));
    let mut freed: Vec<FreedEvent> = Vec::new();
    // A path it holds now is no longer wanted: a waiting claim granted after
    // the release took it, and "claim it" would tell the holder to take its own lock.
    let held: Vec<LockTarget> = facts
        .own_live
        .iter()
        .map(|l| LockTarget::parse(&l.path))
        .collect();
    for event in facts.freed {
        let path = LockTarget::parse(&event.path);
        if held.iter().any(|h| h.overlaps(&path)) {
            continue;
        }
        freed.retain(|f| f.path != event.path);
        freed.push(event);
    }
    for f in freed {
        let still_held_by: Vec<String> = facts
            .others_live
            .iter()
            .filter(|l| l.path == f.path && l.agent_id != me)
            .map(|l| format!("{} ({})", l.agent_id, l.operation))
            .collect();
        news.push(News::WantedLockFreed {
            path: f.path,
            holder: f.holder,
            how: f.how,
            still_held_by,
        });
    }
    news.extend(
        facts
            .completed
            .into_iter()
            .filter(|t| t.agent_id != me)
            .map(News::TaskCompleted),
    );
    if news.len() > MAX_ITEMS {
        let rest = news.len() - (MAX_ITEMS - 1);
        news.truncate(MAX_ITEMS - 1);
        news.push(News::More(rest));
    }
    news
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Millis = 1_790_000_000_000;

    #[test]
    fn a_first_look_starts_at_the_agents_own_history() {
        assert_eq!(
            Cursor::first_look(Some(41), 99, Some(NOW - 5), NOW),
            Cursor {
                last_event_id: 40,
                looked_at_ms: NOW - 5
            }
        );
        assert_eq!(
            Cursor::first_look(None, 99, None, NOW),
            Cursor {
                last_event_id: 99,
                looked_at_ms: NOW
            }
        );
    }

    fn cursor(looked_at_ms: Millis) -> Cursor {
        Cursor {
            last_event_id: 0,
            looked_at_ms,
        }
    }

    fn lock(granted_at_ms: Millis, expires_at_ms: Millis) -> OwnLock {
        OwnLock {
            path: "src/a.rs".into(),
            granted_at_ms,
            expires_at_ms,
        }
    }

    #[test]
    fn an_expiry_is_told_once_when_it_enters_the_window() {
        let old = NOW - 900_000;
        // Looked 5 minutes ago, expires in 90 s: it entered the window since.
        assert!(newly_expiring(NOW, NOW - 300_000, &lock(old, NOW + 90_000)));
        // Looked 10 s ago, when it already had 100 s left: told then.
        assert!(!newly_expiring(NOW, NOW - 10_000, &lock(old, NOW + 90_000)));
        // Granted for three minutes after the last look, two of them gone: never told yet.
        assert!(newly_expiring(
            NOW,
            NOW - 130_000,
            &lock(NOW - 120_000, NOW + 60_000)
        ));
        // Granted for 30 s at an edit: it lapses by design, unannounced.
        assert!(!newly_expiring(
            NOW,
            NOW - 10_000,
            &lock(NOW - 5_000, NOW + 25_000)
        ));
        // Far from expiry, or already expired.
        assert!(!newly_expiring(
            NOW,
            NOW - 300_000,
            &lock(old, NOW + 600_000)
        ));
        assert!(!newly_expiring(NOW, NOW - 300_000, &lock(old, NOW - 1)));
    }

    #[test]
    fn a_freed_path_says_whether_it_is_free_now_and_is_told_once() {
        let facts = Facts {
            freed: vec![
                FreedEvent {
                    path: "src/a.rs".into(),
                    holder: "impl_b".into(),
                    how: Freed::Released,
                },
                FreedEvent {
                    path: "src/b.rs".into(),
                    holder: "impl_b".into(),
                    how: Freed::Expired,
                },
                FreedEvent {
                    path: "src/a.rs".into(),
                    holder: "impl_c".into(),
                    how: Freed::ForcedRelease,
                },
            ],
            others_live: vec![OtherLock {
                path: "src/b.rs".into(),
                agent_id: "impl_d".into(),
                operation: "read".into(),
            }],
            ..Facts::default()
        };
        let news = compose(NOW, cursor(NOW - 1000), "impl_a", facts);
        let lines: Vec<String> = news.iter().map(News::message).collect();
        assert_eq!(
            lines,
            [
                "impl_b's lock on src/b.rs, which you wanted, expired; it is still held by impl_d (read)",
                "impl_c's lock on src/a.rs, which you wanted, was force-released; it is free now: claim_file_lock it before editing",
            ]
        );
    }

    #[test]
    fn a_change_another_agent_needs_uncommitted_is_told_once_per_file_with_the_command() {
        let facts = Facts {
            wanted_uncommitted: vec!["src/a b.rs".into(), "src/c.rs".into(), "src/a b.rs".into()],
            ..Facts::default()
        };
        let news = compose(NOW, cursor(NOW - 1000), "impl_a", facts);
        let paths: Vec<Option<&str>> = news.iter().map(News::path).collect();
        assert_eq!(paths, [Some("src/a b.rs"), Some("src/c.rs")]);
        assert_eq!(news[0].kind(), "change_wanted");
        assert!(
            news[0]
                .message()
                .contains("commit them (`git add -A -- 'src/a b.rs' && git commit -m \"...\"`)"),
            "{}",
            news[0].message()
        );
    }

    #[test]
    fn a_freed_path_it_holds_now_is_not_news() {
        let freed = |path: &str| FreedEvent {
            path: path.into(),
            holder: "impl_b".into(),
            how: Freed::Released,
        };
        let facts = Facts {
            freed: vec![freed("src/a.rs"), freed("src/b.rs"), freed("docs/c.md")],
            // Granted since the release: one by its path, one under a directory.
            own_live: vec![
                OwnLock {
                    path: "src/a.rs".into(),
                    granted_at_ms: NOW - 500,
                    expires_at_ms: NOW + 900_000,
                },
                OwnLock {
                    path: "docs/".into(),
                    granted_at_ms: NOW - 500,
                    expires_at_ms: NOW + 900_000,
                },
            ],
            ..Facts::default()
        };
        let news = compose(NOW, cursor(NOW - 1000), "impl_a", facts);
        let paths: Vec<Option<&str>> = news.iter().map(News::path).collect();
        assert_eq!(paths, [Some("src/b.rs")]);
    }

    #[test]
    fn own_losses_come_first_and_the_list_is_capped() {
        let facts = Facts {
            lost: vec![(
                "src/x.rs".into(),
                Freed::ForcedRelease,
                Some("released by dashboard".into()),
            )],
            own_live: vec![OwnLock {
                path: "src/y.rs".into(),
                granted_at_ms: NOW - 900_000,
                expires_at_ms: NOW + 60_000,
            }],
            completed: (0..10)
                .map(|i| CompletedTask {
                    agent_id: if i == 0 { "impl_a" } else { "impl_b" }.into(),
                    task_id: format!("t{i}"),
                    message: None,
                })
                .collect(),
            ..Facts::default()
        };
        let news = compose(NOW, cursor(NOW - 300_000), "impl_a", facts);
        assert_eq!(news.len(), MAX_ITEMS);
        assert_eq!(
            news[0].message(),
            "your lock on src/x.rs was released by dashboard; claim it again before editing"
        );
        assert_eq!(news[0].kind(), "own_lock_force_released");
        assert_eq!(
            news[1].message(),
            "your lock on src/y.rs expires in 60s; claim_file_lock it again to renew, or release it"
        );
        // Its own completed task is not news to it; 9 others, 5 shown, 4 counted.
        assert_eq!(news[2].message(), "impl_b completed task t1");
        assert_eq!(news[7], News::More(4));
    }
}
