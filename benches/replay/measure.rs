//! The figures of one run, from the agents' events and git.
//!
//! - hunks applied: distinct (agent, file, hunk) edits Claude Code reported done.
//! - lost: hunks an agent gave up on (its old text never appeared within its
//!   patience, or the file stayed held by another agent past its limit).
//! - gone: applied hunks whose new text is in the real history's last version
//!   of the file but not in the run's end (overwritten, or dropped in a merge
//!   that conflicted).
//! - files equal: window files whose end equals the real history's end.
//! - interleavings (one checkout): an edit of a file by one agent between
//!   another agent's first and last edit of that file.
//! - stale edits (worktrees): an edit of file F by agent A at time t, while
//!   another agent B had already committed a change to F (B's commit event is
//!   before t) that A's HEAD at t (logged with the edit) does not contain.
//!   Shown as stale / edits after another agent's commit of the same file.
//! - denials: edits refused by a hook; waited: seconds from a denial to the
//!   agent's next try (a waiting claim included).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::git::{files_of, is_ancestor};
use super::run::Ran;
use super::window::Tree;

#[derive(Debug, Clone, Default)]
pub struct Figures {
    pub hunks: usize,
    pub applied: usize,
    pub lost: usize,
    pub gone: usize,
    pub files: usize,
    pub equal: usize,
    pub conflicts: usize,
    pub conflict_files: BTreeSet<String>,
    pub interleavings: usize,
    pub stale: usize,
    pub after_commit: usize,
    pub denials: usize,
    pub waited: f64,
    pub wall: f64,
    pub failures: Vec<String>,
    pub runs: usize,
}

impl Figures {
    pub fn add(&mut self, other: &Figures) {
        self.hunks += other.hunks;
        self.applied += other.applied;
        self.lost += other.lost;
        self.gone += other.gone;
        self.files += other.files;
        self.equal += other.equal;
        self.conflicts += other.conflicts;
        self.conflict_files
            .extend(other.conflict_files.iter().cloned());
        self.interleavings += other.interleavings;
        self.stale += other.stale;
        self.after_commit += other.after_commit;
        self.denials += other.denials;
        self.waited += other.waited;
        self.wall += other.wall;
        self.failures.extend(other.failures.iter().cloned());
        self.runs += other.runs;
    }
}

fn of<'a>(events: &'a [Value], kind: &str) -> impl Iterator<Item = &'a Value> + 'a {
    let kind = kind.to_owned();
    events.iter().filter(move |e| e["event"] == kind.as_str())
}

fn text(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

pub fn measure(ran: &Ran, hunks: usize, history: &Tree) -> Figures {
    let applied: Vec<&Value> = {
        let mut seen = BTreeSet::new();
        of(&ran.events, "applied")
            .filter(|e| {
                seen.insert((
                    text(&e["agent"]).to_owned(),
                    text(&e["path"]).to_owned(),
                    e["hunk"].as_i64(),
                ))
            })
            .collect()
    };
    let gone = applied
        .iter()
        .filter(|e| {
            let new = text(&e["new_text"]);
            let path = text(&e["path"]);
            let kept = |tree: &Tree| {
                tree.get(path)
                    .and_then(|c| c.as_deref())
                    .is_some_and(|c| c.contains(new))
            };
            !new.is_empty() && kept(history) && !kept(&ran.end)
        })
        .count();
    let equal = history
        .iter()
        .filter(|(path, want)| ran.end.get(*path) == Some(*want))
        .count();
    let (stale, after_commit) = if ran.condition.worktrees() {
        stale_edits(ran, &applied)
    } else {
        (0, 0)
    };
    Figures {
        hunks,
        applied: applied.len(),
        lost: of(&ran.events, "lost").count(),
        gone,
        files: history.len(),
        equal,
        conflicts: ran.conflicts.len(),
        conflict_files: ran
            .conflicts
            .iter()
            .flat_map(|(_, f)| f.iter().cloned())
            .collect(),
        interleavings: if ran.condition.worktrees() {
            0
        } else {
            interleavings(&applied)
        },
        stale,
        after_commit,
        denials: of(&ran.events, "denied").count(),
        waited: of(&ran.events, "waited")
            .map(|e| e["seconds"].as_f64().unwrap_or(0.0))
            .fold(0.0, |a, b| a + b),
        wall: ran.wall.as_secs_f64(),
        failures: ran.failures.clone(),
        runs: 1,
    }
}

/// Edits of a file by one agent between another agent's first and last edit of it.
fn interleavings(applied: &[&Value]) -> usize {
    let mut spans: BTreeMap<(&str, &str), (f64, f64)> = BTreeMap::new();
    for e in applied {
        let t = e["t"].as_f64().unwrap_or(0.0);
        let span = spans
            .entry((text(&e["path"]), text(&e["agent"])))
            .or_insert((t, t));
        span.0 = span.0.min(t);
        span.1 = span.1.max(t);
    }
    applied
        .iter()
        .filter(|e| {
            let t = e["t"].as_f64().unwrap_or(0.0);
            spans.iter().any(|((path, agent), (first, last))| {
                *path == text(&e["path"]) && *agent != text(&e["agent"]) && *first < t && t < *last
            })
        })
        .count()
}

/// (stale edits, edits made after another agent had committed the same file).
fn stale_edits(ran: &Ran, applied: &[&Value]) -> (usize, usize) {
    let commits: Vec<(String, f64, String, Vec<String>)> = of(&ran.events, "commit")
        .filter_map(|e| {
            let sha = e["sha"].as_str()?.to_owned();
            Some((
                text(&e["agent"]).to_owned(),
                e["t"].as_f64().unwrap_or(0.0),
                sha.clone(),
                files_of(&ran.repo, &sha),
            ))
        })
        .collect();
    let (mut stale, mut after) = (0, 0);
    for e in applied {
        let t = e["issued"].as_f64().or(e["t"].as_f64()).unwrap_or(0.0);
        let (agent, path) = (text(&e["agent"]), text(&e["path"]));
        let earlier: Vec<&String> = commits
            .iter()
            .filter(|(by, at, _, files)| by != agent && *at < t && files.iter().any(|f| f == path))
            .map(|(_, _, sha, _)| sha)
            .collect();
        if earlier.is_empty() {
            continue;
        }
        after += 1;
        // A new file has no HEAD logged: its edit saw no earlier version at all.
        let head = e["head"].as_str();
        if earlier
            .iter()
            .any(|sha| head.is_none_or(|h| !is_ancestor(&ran.repo, sha, h)))
        {
            stale += 1;
        }
    }
    (stale, after)
}
