//! Lock paths name files, not spellings. [`crate::rules::paths`] makes one
//! spelling of each path among the project's roots; this looks at the disk
//! for which file it is: every symbolic link on the way is followed, so a
//! link and its target are one lock (`src/alias.py → real.py` is
//! `src/real.py`), and a link out of the project and every worktree
//! (`linkdir → /etc`) makes a path outside it, refused like any other. The
//! tools ([`crate::worktrees::Roots`]), the pre-tool hook and the git guard
//! all call [`PathResolver::lock_path`].
//!
//! A file that does not exist yet is resolved as far as the disk goes: its
//! deepest existing directory through its links, then the rest as written.
//! A directory lock resolves its directory; a glob the directories before
//! its first wildcard (links among the files it matches are not followed:
//! a claim of such a file names its target, which the glob may not match).

use std::collections::VecDeque;
use std::ffi::OsString;
use std::path::{Component, Path, PathBuf};

use crate::rules::paths::{self, PathError};

/// The kernel's own limit on links followed while resolving one path.
const MAX_LINKS: usize = 40;

/// Roots a lock path may be relative to or absolute in, each with its
/// symlink-free spelling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathResolver {
    /// Every spelling of every root, the project root first: the given ones
    /// in order, then the symlink-free ones not among them.
    spellings: Vec<PathBuf>,
    /// For each spelling, its root's symlink-free path, where links are
    /// followed from.
    real: Vec<PathBuf>,
}

impl PathResolver {
    /// `roots`: the project root, then its place in every other worktree,
    /// absolute (as [`crate::worktrees`] finds them).
    pub fn new(roots: Vec<PathBuf>) -> Self {
        let real_of: Vec<PathBuf> = roots
            .iter()
            .map(|root| std::fs::canonicalize(root).unwrap_or_else(|_| root.clone()))
            .collect();
        let mut spellings = roots;
        let mut real = real_of.clone();
        for canonical in real_of {
            if !spellings.contains(&canonical) {
                spellings.push(canonical.clone());
                real.push(canonical);
            }
        }
        Self { spellings, real }
    }

    /// The roots as given, the project root first.
    pub fn roots(&self) -> &[PathBuf] {
        &self.spellings
    }

    /// The lock path `raw` names: normalised among the roots, then resolved
    /// through the symlinks on disk.
    pub fn lock_path(&self, raw: &str) -> Result<String, PathError> {
        match paths::normalize_among_at(&self.spellings, raw) {
            Ok((root, path)) => self.resolved(root, raw, &path),
            // Outside every root as written, but perhaps a link's spelling of
            // a file inside one.
            Err(outside @ (PathError::OutsideRoot(..) | PathError::OutsideRoots(..)))
                if raw.starts_with('/') && paths::on_disk_part(raw).1.is_empty() =>
            {
                let real = real_path(Path::new("/"), Path::new(raw), raw)?;
                self.inside(&real).ok_or(outside)
            }
            Err(e) => Err(e),
        }
    }

    fn resolved(&self, root: usize, raw: &str, path: &str) -> Result<String, PathError> {
        let (on_disk, rest) = paths::on_disk_part(path);
        if on_disk.is_empty() {
            return Ok(path.to_owned());
        }
        let real = real_path(&self.real[root], Path::new(on_disk), raw)?;
        match self.inside(&real) {
            Some(resolved) => Ok(format!("{resolved}{rest}")),
            None => Err(PathError::LinksOutside {
                given: raw.to_owned(),
                target: real.display().to_string(),
                root: self.spellings[0].display().to_string(),
            }),
        }
    }

    /// `real` (absolute, symlink-free) as a lock path, if it is in a root.
    fn inside(&self, real: &Path) -> Option<String> {
        let text = real.to_str()?;
        paths::normalize_among(&self.real, text).ok()
    }
}

/// `path` (relative to `base`, or absolute; `base` symlink-free) with every
/// symbolic link on the way followed, as far as the disk goes: from the
/// first component that does not exist, the rest as written.
fn real_path(base: &Path, path: &Path, raw: &str) -> Result<PathBuf, PathError> {
    let mut done = base.to_path_buf();
    let mut todo: VecDeque<OsString> = VecDeque::new();
    push_front(&mut todo, &mut done, path);
    let mut links = 0;
    while let Some(part) = todo.pop_front() {
        if part == ".." {
            done.pop();
            continue;
        }
        let next = done.join(&part);
        let Ok(meta) = std::fs::symlink_metadata(&next) else {
            // Not there (yet): the rest is named as written.
            done = next;
            while let Some(part) = todo.pop_front() {
                if part == ".." {
                    done.pop();
                } else {
                    done.push(part);
                }
            }
            break;
        };
        if !meta.file_type().is_symlink() {
            done = next;
            continue;
        }
        links += 1;
        if links > MAX_LINKS {
            return Err(PathError::LinkLoop(raw.to_owned()));
        }
        match std::fs::read_link(&next) {
            Ok(target) => push_front(&mut todo, &mut done, &target),
            // Unreadable: taken as it is.
            Err(_) => done = next,
        }
    }
    Ok(done)
}

/// Queues `path`'s components before what is left; an absolute one starts
/// again from `/`.
fn push_front(todo: &mut VecDeque<OsString>, done: &mut PathBuf, path: &Path) {
    let mut parts = Vec::new();
    for component in path.components() {
        match component {
            Component::RootDir | Component::Prefix(_) => {
                *done = PathBuf::from("/");
                parts.clear();
            }
            Component::CurDir => {}
            Component::ParentDir => parts.push(OsString::from("..")),
            Component::Normal(part) => parts.push(part.to_owned()),
        }
    }
    for part in parts.into_iter().rev() {
        todo.push_front(part);
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::symlink;

    use super::*;

    struct Project {
        _dir: tempfile::TempDir,
        root: PathBuf,
        outside: PathBuf,
    }

    fn project() -> Project {
        let dir = tempfile::tempdir().expect("tempdir");
        let base = std::fs::canonicalize(dir.path()).expect("canonical");
        let root = base.join("repo");
        let outside = base.join("etc");
        std::fs::create_dir_all(root.join("src/real_dir")).expect("dirs");
        std::fs::create_dir_all(&outside).expect("outside");
        std::fs::write(root.join("src/real.py"), "").expect("file");
        std::fs::write(outside.join("passwd"), "").expect("file");
        symlink("real.py", root.join("src/alias.py")).expect("link");
        symlink(&outside, root.join("linkdir")).expect("link");
        symlink("src/real_dir", root.join("short")).expect("link");
        symlink("gone.py", root.join("src/dangling.py")).expect("link");
        symlink("loop_b", root.join("loop_a")).expect("link");
        symlink("loop_a", root.join("loop_b")).expect("link");
        Project {
            _dir: dir,
            root,
            outside,
        }
    }

    #[test]
    fn a_link_and_its_target_are_one_lock() {
        let p = project();
        let resolver = PathResolver::new(vec![p.root.clone()]);
        for raw in [
            "src/alias.py",
            "src/real.py",
            "./src/alias.py",
            &format!("{}/src/alias.py", p.root.display()),
        ] {
            assert_eq!(
                resolver.lock_path(raw).as_deref(),
                Ok("src/real.py"),
                "{raw}"
            );
        }
        // A file not there yet, under a linked directory: the directory resolved.
        assert_eq!(
            resolver.lock_path("short/new/file.rs").as_deref(),
            Ok("src/real_dir/new/file.rs")
        );
        // A dangling link names the file writing through it would create.
        assert_eq!(
            resolver.lock_path("src/dangling.py").as_deref(),
            Ok("src/gone.py")
        );
        assert_eq!(
            resolver.lock_path("plain/new.rs").as_deref(),
            Ok("plain/new.rs")
        );
    }

    #[test]
    fn directories_and_globs_resolve_the_directories_they_name() {
        let p = project();
        let resolver = PathResolver::new(vec![p.root.clone()]);
        assert_eq!(resolver.lock_path("short/").as_deref(), Ok("src/real_dir/"));
        assert_eq!(
            resolver.lock_path("short/**/*.rs").as_deref(),
            Ok("src/real_dir/**/*.rs")
        );
        assert_eq!(resolver.lock_path("*.rs").as_deref(), Ok("*.rs"));
        for raw in ["linkdir/", "linkdir/*", "linkdir/**/passwd"] {
            assert!(
                matches!(resolver.lock_path(raw), Err(PathError::LinksOutside { .. })),
                "{raw}"
            );
        }
    }

    #[test]
    fn a_link_out_of_the_project_is_outside_it() {
        let p = project();
        let resolver = PathResolver::new(vec![p.root.clone()]);
        let Err(e) = resolver.lock_path("linkdir/passwd") else {
            panic!("a file outside the project was named a lock path");
        };
        let text = e.to_string();
        assert!(
            text.contains("linkdir/passwd")
                && text.contains(&p.outside.join("passwd").display().to_string())
                && text.contains(&p.root.display().to_string()),
            "{text}"
        );
        assert!(matches!(
            resolver.lock_path("loop_a/x"),
            Err(PathError::LinkLoop(_))
        ));
        // The outside file itself, as before.
        assert!(matches!(
            resolver.lock_path(&p.outside.join("passwd").display().to_string()),
            Err(PathError::OutsideRoot(..))
        ));
    }

    #[test]
    fn a_root_reached_through_a_link_is_the_root() {
        let p = project();
        let via = p.root.with_file_name("via");
        symlink(&p.root, &via).expect("link");
        // Given the link's spelling as the root, or a path through it.
        let resolver = PathResolver::new(vec![via.clone()]);
        assert_eq!(
            resolver.lock_path("src/alias.py").as_deref(),
            Ok("src/real.py")
        );
        let resolver = PathResolver::new(vec![p.root.clone()]);
        let through = format!("{}/src/alias.py", via.display());
        assert_eq!(resolver.lock_path(&through).as_deref(), Ok("src/real.py"));
    }
}
