//! The worktrees of the project's repository, so that an absolute path in any
//! of them (`/home/u/repo-impl_b/src/app.py`) is the same lock as the same
//! file in the main checkout (`src/app.py`). This module runs `git worktree
//! list` and caches its answer; the mapping itself is the pure
//! [`paths::normalize_among`], and the symlinks on disk are followed by
//! [`PathResolver`].

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use crate::git::GitError;
use crate::lock_paths::PathResolver;
use crate::rules::paths::PathError;

/// An unknown absolute path asks git again at most this often, unless a
/// worktree was added or removed since (git's `worktrees` directory changed):
/// a flood of paths outside the project must not become a flood of processes.
const REFRESH_AT_MOST_EVERY: Duration = Duration::from_secs(1);

/// One entry of `git worktree list --porcelain`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Worktree {
    pub path: PathBuf,
    /// The branch checked out (`ccmulti/s/implementer-1`), without `refs/heads/`;
    /// `None` when detached or bare.
    pub branch: Option<String>,
    pub bare: bool,
}

/// Runs `git ARGS` in `dir`, bounded in time: its stdout, or what git said on stderr.
pub use crate::git::ok as git;

/// Parses `git worktree list --porcelain -z`: records of NUL-terminated
/// `key value` fields, separated by an empty field.
pub fn parse_porcelain(text: &str) -> Vec<Worktree> {
    let mut out = Vec::new();
    let mut current: Option<Worktree> = None;
    for field in text.split('\0') {
        if field.is_empty() {
            out.extend(current.take());
            continue;
        }
        let (key, value) = field.split_once(' ').unwrap_or((field, ""));
        match key {
            "worktree" => {
                out.extend(current.take());
                current = Some(Worktree {
                    path: PathBuf::from(value),
                    branch: None,
                    bare: false,
                });
            }
            "branch" => {
                if let Some(w) = current.as_mut() {
                    w.branch = Some(value.strip_prefix("refs/heads/").unwrap_or(value).into());
                }
            }
            "bare" => {
                if let Some(w) = current.as_mut() {
                    w.bare = true;
                }
            }
            _ => {}
        }
    }
    out.extend(current);
    out
}

/// Every worktree of the repository `dir` is in (the main one first, as git lists them).
pub fn list(dir: &Path) -> Result<Vec<Worktree>, GitError> {
    Ok(parse_porcelain(&git(
        dir,
        &["worktree", "list", "--porcelain", "-z"],
    )?))
}

/// The symlink-free spelling when the directory exists, else as given.
fn canonical(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned())
}

/// Where `root` sits in its repository, and where git keeps its worktree list.
#[derive(Debug, Clone)]
struct Repository {
    /// `root` relative to the top of its worktree (empty when it is the top).
    within: PathBuf,
    /// `<git common dir>/worktrees`: changes when a worktree is added or removed.
    registry: PathBuf,
}

impl Repository {
    fn find(root: &Path) -> Option<Self> {
        let top = canonical(Path::new(
            git(root, &["rev-parse", "--show-toplevel"])
                .ok()?
                .trim_end(),
        ));
        let common = git(root, &["rev-parse", "--git-common-dir"]).ok()?;
        let common = Path::new(common.trim_end());
        let common = if common.is_absolute() {
            common.to_owned()
        } else {
            root.join(common)
        };
        Some(Self {
            within: root.strip_prefix(&top).ok()?.to_owned(),
            registry: common.join("worktrees"),
        })
    }

    fn registry_changed_at(&self) -> Option<SystemTime> {
        std::fs::metadata(&self.registry)
            .and_then(|m| m.modified())
            .ok()
    }

    /// `root`, then the same place in every other worktree.
    fn roots(&self, root: &Path) -> Vec<PathBuf> {
        let mut roots = vec![root.to_owned()];
        for tree in list(root).unwrap_or_default() {
            if tree.bare {
                continue;
            }
            for spelling in [tree.path.clone(), canonical(&tree.path)] {
                // Joining an empty path would add a trailing `/`, which the
                // textual prefix match of a glob's root would then miss.
                let place = if self.within.as_os_str().is_empty() {
                    spelling
                } else {
                    spelling.join(&self.within)
                };
                if !roots.contains(&place) {
                    roots.push(place);
                }
            }
        }
        roots
    }
}

/// The project root and the same place in each other worktree, found once;
/// the coordinator holds a [`Roots`] to keep this current.
pub fn roots_of(root: &Path) -> Vec<PathBuf> {
    match Repository::find(root) {
        Some(repo) => repo.roots(root),
        None => vec![root.to_owned()],
    }
}

#[derive(Debug)]
struct Known {
    roots: Arc<Vec<PathBuf>>,
    resolver: Arc<PathResolver>,
    asked: Instant,
    registry_changed_at: Option<SystemTime>,
}

/// The coordinator's roots: the project root and its place in every worktree
/// of the repository, asked of git at start and again when an absolute path
/// arrives that none of them holds (a worktree made since).
#[derive(Debug)]
pub struct Roots {
    root: PathBuf,
    repository: Option<Repository>,
    known: Mutex<Known>,
    /// Held while git is asked again: a caller with an unknown path waits for
    /// a look already under way and takes its answer, rather than being
    /// refused by the "at most every second" rule meanwhile (two agents'
    /// first paths in two new worktrees arrive together).
    refreshing: Mutex<()>,
}

impl Roots {
    /// `root` absolute and normalised. Not in a git repository: `root` alone, for good.
    pub fn discover(root: &Path) -> Self {
        let repository = Repository::find(root);
        let roots = match &repository {
            Some(repo) => repo.roots(root),
            None => vec![root.to_owned()],
        };
        Self {
            root: root.to_owned(),
            known: Mutex::new(Known {
                resolver: Arc::new(PathResolver::new(roots.clone())),
                roots: Arc::new(roots),
                asked: Instant::now(),
                registry_changed_at: repository
                    .as_ref()
                    .and_then(Repository::registry_changed_at),
            }),
            repository,
            refreshing: Mutex::new(()),
        }
    }

    /// The project root first, then its place in the other worktrees.
    pub fn current(&self) -> Arc<Vec<PathBuf>> {
        match self.known.lock() {
            Ok(k) => k.roots.clone(),
            Err(_) => Arc::new(vec![self.root.clone()]),
        }
    }

    /// As [`Self::current`], after learning of worktrees made since:
    /// hand-over finds an agent's worktree among them even when no path named
    /// it yet. A stat of git's worktree registry while it is unchanged (every
    /// claim, release and status call comes here); git only when it changed.
    pub fn current_fresh(&self) -> Arc<Vec<PathBuf>> {
        let seen = self.current();
        let Some(repo) = &self.repository else {
            return seen;
        };
        let changed_at = repo.registry_changed_at();
        let unchanged = self
            .known
            .lock()
            .map_or(true, |known| known.registry_changed_at == changed_at);
        if unchanged {
            return seen;
        }
        self.refresh(&seen);
        self.current()
    }

    fn resolver(&self) -> Arc<PathResolver> {
        match self.known.lock() {
            Ok(k) => k.resolver.clone(),
            Err(_) => Arc::new(PathResolver::new(vec![self.root.clone()])),
        }
    }

    /// A lock path for `raw`, which may be absolute in any worktree; the
    /// file it names, symlinks followed.
    pub fn normalize(&self, raw: &str) -> Result<String, PathError> {
        // Read before the resolver: a refresh in between shows as changed.
        let seen = self.current();
        match self.resolver().lock_path(raw) {
            Err(
                PathError::OutsideRoot(..)
                | PathError::OutsideRoots(..)
                | PathError::LinksOutside { .. },
            ) if self.refresh(&seen) => self.resolver().lock_path(raw),
            other => other,
        }
    }

    /// Asks git again if a worktree may have appeared; true if the roots
    /// changed since the caller read `seen` (by this look, or by one it
    /// waited for). Runs git on the caller's thread (milliseconds; only a
    /// path outside every known worktree gets here), and never while holding
    /// the roots' lock, so other requests reading the roots do not wait for git.
    fn refresh(&self, seen: &Arc<Vec<PathBuf>>) -> bool {
        let Some(repo) = &self.repository else {
            return false;
        };
        let Ok(_turn) = self.refreshing.lock() else {
            return false;
        };
        if !Arc::ptr_eq(&self.current(), seen) {
            return true;
        }
        let changed_at = repo.registry_changed_at();
        {
            let Ok(mut known) = self.known.lock() else {
                return false;
            };
            if changed_at == known.registry_changed_at
                && known.asked.elapsed() < REFRESH_AT_MOST_EVERY
            {
                return false;
            }
            // Claimed now, so concurrent callers do not all run git.
            known.asked = Instant::now();
            known.registry_changed_at = changed_at;
        }
        let roots = repo.roots(&self.root);
        let Ok(mut known) = self.known.lock() else {
            return false;
        };
        if *known.roots == roots {
            return false;
        }
        tracing::info!(roots = ?roots, "the repository's worktrees changed");
        known.resolver = Arc::new(PathResolver::new(roots.clone()));
        known.roots = Arc::new(roots);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_worktree_made_after_start_is_learned_on_its_first_path() {
        let fixture = crate::git::tests::Repo::new(&[]);
        let (base, repo) = (fixture.base.clone(), fixture.top.clone());
        let roots = Roots::discover(&repo);
        assert_eq!(*roots.current(), vec![repo.clone()]);

        fixture.worktree("b");
        let in_b = format!("{}/src/app.py", base.join("repo-b").display());
        assert_eq!(roots.normalize(&in_b).as_deref(), Ok("src/app.py"));
        assert_eq!(*roots.current(), vec![repo.clone(), base.join("repo-b")]);
        let outside = format!("{}/src/app.py", base.join("other").display());
        assert!(matches!(
            roots.normalize(&outside),
            Err(PathError::OutsideRoots(..))
        ));
        assert_eq!(roots.normalize("src/app.py").as_deref(), Ok("src/app.py"));
    }

    /// Hand-over asks for the roots before any path names a new worktree
    /// (an agent whose first call is a release or a relative path).
    #[test]
    fn a_worktree_made_after_start_is_learned_by_a_fresh_look() {
        let fixture = crate::git::tests::Repo::new(&[]);
        let (base, repo) = (fixture.base.clone(), fixture.top.clone());
        let roots = Roots::discover(&repo);
        fixture.worktree("b");
        assert_eq!(*roots.current(), vec![repo.clone()], "not asked yet");
        assert_eq!(
            *roots.current_fresh(),
            vec![repo.clone(), base.join("repo-b")]
        );
    }

    /// Two agents' first paths, each in a worktree made after the start,
    /// arrive together: the second waits for the look the first started
    /// rather than being refused while it runs.
    #[test]
    fn paths_in_two_new_worktrees_at_once_are_both_learned() {
        let fixture = crate::git::tests::Repo::new(&[]);
        let (base, repo) = (fixture.base.clone(), fixture.top.clone());
        for round in 0..5 {
            let roots = Roots::discover(&repo);
            let trees: Vec<PathBuf> = ["a", "b"]
                .iter()
                .map(|t| base.join(format!("wt-{round}-{t}")))
                .collect();
            for (i, tree) in trees.iter().enumerate() {
                let branch = format!("r{round}-{i}");
                fixture.git(
                    &repo,
                    &[
                        "worktree",
                        "add",
                        "-q",
                        "-b",
                        &branch,
                        &tree.to_string_lossy(),
                    ],
                );
            }
            let answers: Vec<_> = std::thread::scope(|scope| {
                let asks: Vec<_> = trees
                    .iter()
                    .map(|tree| {
                        let roots = &roots;
                        let path = format!("{}/src/app.py", tree.display());
                        scope.spawn(move || roots.normalize(&path))
                    })
                    .collect();
                asks.into_iter()
                    .map(|a| a.join().expect("joined"))
                    .collect()
            });
            for answer in answers {
                assert_eq!(answer.as_deref(), Ok("src/app.py"), "round {round}");
            }
        }
    }

    #[test]
    fn outside_a_repository_the_root_is_the_only_root() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = std::fs::canonicalize(dir.path()).expect("canonical");
        let roots = Roots::discover(&root);
        assert_eq!(*roots.current(), vec![root.clone()]);
        assert!(matches!(
            roots.normalize("/elsewhere/a.rs"),
            Err(PathError::OutsideRoot(..))
        ));
    }

    #[test]
    fn reads_branches_detached_and_bare_entries() {
        let text = "worktree /r\0HEAD 1\0branch refs/heads/main\0\0\
                    worktree /r-b\0HEAD 2\0branch refs/heads/ccmulti/s/implementer-1\0locked\0\0\
                    worktree /r-c\0HEAD 3\0detached\0\0\
                    worktree /bare.git\0bare\0\0";
        let trees = parse_porcelain(text);
        let summary: Vec<(&str, Option<&str>, bool)> = trees
            .iter()
            .map(|t| (t.path.to_str().unwrap_or(""), t.branch.as_deref(), t.bare))
            .collect();
        assert_eq!(
            summary,
            [
                ("/r", Some("main"), false),
                ("/r-b", Some("ccmulti/s/implementer-1"), false),
                ("/r-c", None, false),
                ("/bare.git", None, true),
            ]
        );
    }
}
