//! Lock paths, normalised relative to the project root, so that `./src/a.rs`,
//! `src//a.rs` and `/repo/src/a.rs` are one lock. A path ending in `/` stays a
//! directory (`src/api/`); a glob keeps its pattern, with the literal part
//! before its first metacharacter normalised like a path (`./src//**/*.rs`
//! becomes `src/**/*.rs`). This is the spelling alone; which file a spelling
//! names on disk (symlinks) is `crate::lock_paths`.

use std::path::{Component, Path};

use super::targets::{GLOB_META, compile_glob};

pub const MAX_PATH_BYTES: usize = 4096;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    #[error("a file path is empty; give a path relative to the project root, such as src/main.rs")]
    Empty,
    #[error("the file path {0:?} contains a NUL byte")]
    Nul(String),
    #[error("a file path is {0} bytes long; at most {MAX_PATH_BYTES} are accepted")]
    TooLong(usize),
    #[error("the file path {0:?} escapes the project root; give a path inside it")]
    Escapes(String),
    #[error("the file path {0:?} is outside the project root {1}; give a path inside it")]
    OutsideRoot(String, String),
    #[error(
        "the file path {0:?} is outside the project root {1} and each of its worktrees ({2}); give a path inside one of them"
    )]
    OutsideRoots(String, String, String),
    #[error(
        "the file path {0:?} names the project root itself; name a file or directory inside it, or use the glob **"
    )]
    IsRoot(String),
    #[error(
        "the glob {0:?} uses .. after a wildcard; write the pattern relative to the project root without .."
    )]
    GlobClimbs(String),
    #[error(
        "the glob {pattern:?} is not valid: {problem}. Accepted: * and ? within a path component, ** as a whole component, [abc], {{a,b}}, \\ to escape; a path ending in / locks a directory"
    )]
    BadGlob { pattern: String, problem: String },
    #[error(
        "the file path {given:?} leads through a symbolic link to {target}, which is outside the project root {root} and its worktrees; give a path inside them"
    )]
    LinksOutside {
        given: String,
        target: String,
        root: String,
    },
    #[error(
        "the file path {0:?} leads through symbolic links that loop (or more than 40 of them); give the file's own path"
    )]
    LinkLoop(String),
}

/// Lexical normalisation: symlinks are not resolved, since the file may not exist yet.
/// `root` must be absolute and already normalised.
pub fn normalize(root: &Path, raw: &str) -> Result<String, PathError> {
    if raw.trim().is_empty() {
        return Err(PathError::Empty);
    }
    if raw.len() > MAX_PATH_BYTES {
        return Err(PathError::TooLong(raw.len()));
    }
    if raw.contains('\0') {
        return Err(PathError::Nul(raw.replace('\0', "\\0")));
    }
    // The root's own name may hold `[` or `{`; only what follows it can be a glob.
    let root_text = root.to_string_lossy();
    let in_root = raw
        .strip_prefix(root_text.as_ref())
        .and_then(|rest| rest.strip_prefix('/'))
        .filter(|rest| !rest.is_empty());
    if let Some(relative) = in_root.filter(|_| raw.contains(GLOB_META)) {
        return normalize(root, relative);
    }
    if let Some(first_meta) = raw.find(GLOB_META) {
        return normalize_glob(root, raw, first_meta);
    }
    let path = normalize_plain(root, raw)?;
    // `./ ` would leave a name of blanks alone, which a later call naming it
    // could not (blank paths are refused above): refused the same way here.
    if path.trim().is_empty() {
        return Err(PathError::Empty);
    }
    Ok(if raw.ends_with('/') {
        format!("{path}/")
    } else {
        path
    })
}

/// Like [`normalize`], against the project root and the same place in each
/// other worktree of its repository (`roots[0]` is the project root; all are
/// absolute and normalised). An absolute path is taken relative to the
/// deepest root that holds it, so `/repo-b/src/a.rs` and `/repo/src/a.rs` are
/// one lock; a relative path means the same under every root.
pub fn normalize_among(roots: &[impl AsRef<Path>], raw: &str) -> Result<String, PathError> {
    normalize_among_at(roots, raw).map(|(_, path)| path)
}

/// [`normalize_among`], and the index in `roots` of the root the path was
/// taken relative to (`0` for a relative path).
pub fn normalize_among_at(
    roots: &[impl AsRef<Path>],
    raw: &str,
) -> Result<(usize, String), PathError> {
    let Some(first) = roots.first() else {
        return Err(PathError::OutsideRoot(raw.to_owned(), String::new()));
    };
    let first = first.as_ref();
    if roots.len() == 1 || !raw.starts_with('/') {
        return normalize(first, raw).map(|path| (0, path));
    }
    let mut deepest_first: Vec<(usize, &Path)> =
        roots.iter().map(AsRef::as_ref).enumerate().collect();
    deepest_first.sort_by_key(|(_, r)| std::cmp::Reverse(r.as_os_str().len()));
    for (i, root) in deepest_first {
        match normalize(root, raw) {
            Err(PathError::OutsideRoot(..)) => continue,
            other => return other.map(|path| (i, path)),
        }
    }
    let others: Vec<String> = roots[1..]
        .iter()
        .map(|r| r.as_ref().display().to_string())
        .collect();
    Err(PathError::OutsideRoots(
        raw.to_owned(),
        first.display().to_string(),
        others.join(", "),
    ))
}

/// A normalised lock path as the directory whose files it names on disk and
/// what follows it: a file is itself and nothing (`src/a.rs`, ``), a
/// directory its path and `/` (`src/api`, `/`), a glob the directories
/// before its first metacharacter and the pattern (`src/api`, `/**/*.rs`;
/// `*.rs` is ``, `*.rs`: nothing to resolve).
pub fn on_disk_part(path: &str) -> (&str, &str) {
    if let Some(first_meta) = path.find(GLOB_META) {
        return match path[..first_meta].rfind('/') {
            Some(cut) => path.split_at(cut),
            None => ("", path),
        };
    }
    match path.strip_suffix('/') {
        Some(dir) => (dir, "/"),
        None => (path, ""),
    }
}

/// The directory part before the first metacharacter is normalised like a
/// path (it may be absolute inside the root, or the root itself); the rest is
/// kept as written, without empty or `.` components, and may not climb with `..`.
/// A glob ending in `/` covers everything under what it matches, so gets `**`.
fn normalize_glob(root: &Path, raw: &str, first_meta: usize) -> Result<String, PathError> {
    let cut = raw[..first_meta].rfind('/').map_or(0, |i| i + 1);
    let (base, rest) = raw.split_at(cut);
    let mut pattern = if base.is_empty() {
        String::new()
    } else {
        match normalize_plain(root, base) {
            Ok(dir) => format!("{dir}/"),
            Err(PathError::IsRoot(_)) => String::new(),
            // Name the pattern as given, not the part of it that was looked at.
            Err(PathError::Escapes(_)) => return Err(PathError::Escapes(raw.to_owned())),
            Err(PathError::OutsideRoot(_, root)) => {
                return Err(PathError::OutsideRoot(raw.to_owned(), root));
            }
            Err(PathError::OutsideRoots(_, root, others)) => {
                return Err(PathError::OutsideRoots(raw.to_owned(), root, others));
            }
            Err(e) => return Err(e),
        }
    };
    // Split on alternation syntax too, so `{..,x}` cannot climb either.
    if rest.split(['/', '{', '}', ',']).any(|part| part == "..") {
        return Err(PathError::GlobClimbs(raw.to_owned()));
    }
    let parts: Vec<&str> = rest
        .split('/')
        .filter(|part| !part.is_empty() && *part != ".")
        .collect();
    pattern.push_str(&parts.join("/"));
    if rest.ends_with('/') {
        pattern.push_str("/**");
    }
    compile_glob(&pattern).map_err(|e| PathError::BadGlob {
        pattern: raw.to_owned(),
        problem: e.kind().to_string(),
    })?;
    Ok(pattern)
}

/// A path with no glob in it, without its trailing `/`.
fn normalize_plain(root: &Path, raw: &str) -> Result<String, PathError> {
    let given = Path::new(raw);
    let mut parts: Vec<&str> = Vec::new();
    let relative = if given.is_absolute() {
        let absolute = lexical(given).ok_or_else(|| PathError::Escapes(raw.to_owned()))?;
        let Ok(inside) = Path::new(&absolute).strip_prefix(root) else {
            return Err(PathError::OutsideRoot(
                raw.to_owned(),
                root.display().to_string(),
            ));
        };
        inside.to_string_lossy().into_owned()
    } else {
        raw.to_owned()
    };
    for component in Path::new(&relative).components() {
        match component {
            Component::Normal(part) => parts.push(part.to_str().unwrap_or_default()),
            Component::CurDir => {}
            Component::ParentDir => {
                if parts.pop().is_none() {
                    return Err(PathError::Escapes(raw.to_owned()));
                }
            }
            Component::RootDir | Component::Prefix(_) => {}
        }
    }
    if parts.is_empty() {
        return Err(PathError::IsRoot(raw.to_owned()));
    }
    Ok(parts.join("/"))
}

/// Resolves `.` and `..` in an absolute path; `None` if it climbs above `/`.
fn lexical(path: &Path) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for component in path.components() {
        match component {
            Component::Normal(part) => parts.push(part.to_str()?),
            Component::ParentDir => {
                parts.pop()?;
            }
            Component::CurDir | Component::RootDir | Component::Prefix(_) => {}
        }
    }
    Some(format!("/{}", parts.join("/")))
}

#[cfg(test)]
mod tests {
    /// Found by `cargo fuzz` (lock_paths): `./\u{c}` normalised to a name of
    /// blanks, which normalising again refused; now both are refused alike.
    #[test]
    fn a_name_of_blanks_is_refused_however_it_is_reached() {
        let root = std::path::Path::new("/work/repo");
        for raw in ["./\u{c}", "./ ", "a/../ ", "./\t/", " ", "\u{c}"] {
            assert_eq!(
                super::normalize(root, raw),
                Err(super::PathError::Empty),
                "{raw:?}"
            );
        }
        assert_eq!(super::normalize(root, "./ a").as_deref(), Ok(" a"));
        assert_eq!(
            super::normalize(root, " a").as_deref(),
            Ok(" a"),
            "idempotent"
        );
    }

    use super::*;

    fn norm(raw: &str) -> Result<String, PathError> {
        normalize(Path::new("/repo"), raw)
    }

    #[test]
    fn a_path_in_any_worktree_is_the_same_repository_path() {
        let roots = [
            "/home/u/repo",
            "/home/u/repo-impl_b",
            "/home/u/repo/nested-wt",
        ];
        for raw in [
            "src/app.py",
            "/home/u/repo/src/app.py",
            "/home/u/repo-impl_b/src/app.py",
            "/home/u/repo-impl_b/src/../src/app.py",
            "/home/u/repo/nested-wt/src/app.py",
        ] {
            assert_eq!(
                normalize_among(&roots, raw).as_deref(),
                Ok("src/app.py"),
                "{raw}"
            );
        }
        assert_eq!(
            normalize_among(&roots, "/home/u/repo-impl_b/src/*.py").as_deref(),
            Ok("src/*.py")
        );
        assert_eq!(
            normalize_among(&roots, "/home/u/repo-impl_b/src/").as_deref(),
            Ok("src/")
        );
        // Climbing out of one worktree into another still lands in the repository.
        assert_eq!(
            normalize_among(&roots, "/home/u/repo-impl_b/../repo/a.rs").as_deref(),
            Ok("a.rs")
        );
    }

    #[test]
    fn the_part_on_disk_is_what_symlinks_are_resolved_in() {
        assert_eq!(on_disk_part("src/a.rs"), ("src/a.rs", ""));
        assert_eq!(on_disk_part("src/api/"), ("src/api", "/"));
        assert_eq!(on_disk_part("src/api/**/*.rs"), ("src/api", "/**/*.rs"));
        assert_eq!(on_disk_part("src/*.rs"), ("src", "/*.rs"));
        assert_eq!(on_disk_part("*.rs"), ("", "*.rs"));
        assert_eq!(on_disk_part("**"), ("", "**"));
        let roots = ["/r", "/r-b", "/r/nested"];
        assert_eq!(
            normalize_among_at(&roots, "/r/nested/a.rs"),
            Ok((2, "a.rs".to_owned()))
        );
        assert_eq!(
            normalize_among_at(&roots, "a.rs"),
            Ok((0, "a.rs".to_owned()))
        );
    }

    #[test]
    fn a_path_outside_every_worktree_is_refused_naming_them() {
        let roots = ["/home/u/repo", "/home/u/repo-impl_b"];
        let Err(e) = normalize_among(&roots, "/home/u/other/src/app.py") else {
            panic!("a path outside every worktree was accepted");
        };
        assert!(matches!(e, PathError::OutsideRoots(..)), "{e:?}");
        let text = e.to_string();
        assert!(
            text.contains("/home/u/repo ") && text.contains("/home/u/repo-impl_b"),
            "{text}"
        );
        assert!(matches!(
            normalize_among(&roots, "/home/u/repo-impl_bx/a"),
            Err(PathError::OutsideRoots(..))
        ));
        assert!(matches!(
            normalize_among(&roots, "/etc/*"),
            Err(PathError::OutsideRoots(..))
        ));
        // One root: the message is the one it always was.
        assert!(matches!(
            normalize_among(&roots[..1], "/etc/passwd"),
            Err(PathError::OutsideRoot(..))
        ));
        assert!(matches!(
            normalize_among(&roots, "../x"),
            Err(PathError::Escapes(_))
        ));
    }

    #[test]
    fn a_root_whose_name_looks_like_a_glob_is_still_the_root() {
        let root = Path::new("/work/[team]/repo");
        assert_eq!(
            normalize(root, "/work/[team]/repo/src/a.rs").as_deref(),
            Ok("src/a.rs")
        );
        assert_eq!(
            normalize(root, "/work/[team]/repo/src/*.rs").as_deref(),
            Ok("src/*.rs")
        );
        assert_eq!(
            normalize(root, "/work/[team]/repo/src/").as_deref(),
            Ok("src/")
        );
    }

    #[test]
    fn equivalent_spellings_become_one_path() {
        for raw in [
            "src/a.rs",
            "./src/a.rs",
            "src//a.rs",
            "src/x/../a.rs",
            "/repo/src/a.rs",
        ] {
            assert_eq!(norm(raw).as_deref(), Ok("src/a.rs"), "{raw}");
        }
    }

    #[test]
    fn a_trailing_slash_keeps_a_directory() {
        for raw in ["src/api/", "./src//api/", "/repo/src/api/", "src/x/../api/"] {
            assert_eq!(norm(raw).as_deref(), Ok("src/api/"), "{raw}");
        }
        assert!(matches!(norm("/repo/"), Err(PathError::IsRoot(_))));
        assert!(matches!(norm("../"), Err(PathError::Escapes(_))));
    }

    #[test]
    fn a_glob_keeps_its_pattern_with_the_literal_part_normalised() {
        let cases = [
            ("src/api/**/*.rs", "src/api/**/*.rs"),
            ("./src//api/**/*.rs", "src/api/**/*.rs"),
            ("/repo/src/*.rs", "src/*.rs"),
            ("src/x/../*.rs", "src/*.rs"),
            ("*", "*"),
            ("./**", "**"),
            ("/repo/**", "**"),
            ("src/*//./a.rs", "src/*/a.rs"),
            ("src/{a,b}.rs", "src/{a,b}.rs"),
            ("src/[ab]?.rs", "src/[ab]?.rs"),
            ("src/*/", "src/*/**"),
        ];
        for (raw, want) in cases {
            assert_eq!(norm(raw).as_deref(), Ok(want), "{raw}");
        }
    }

    #[test]
    fn refuses_globs_that_leave_the_root_or_do_not_parse() {
        assert!(matches!(norm("../**"), Err(PathError::Escapes(_))));
        assert!(matches!(norm("/etc/*"), Err(PathError::OutsideRoot(..))));
        assert!(matches!(norm("/**"), Err(PathError::OutsideRoot(..))));
        assert!(matches!(
            norm("src/*/../../x"),
            Err(PathError::GlobClimbs(_))
        ));
        assert!(matches!(
            norm("src/{..,x}/y"),
            Err(PathError::GlobClimbs(_))
        ));
        let Err(e) = norm("src/[a") else {
            panic!("src/[a is not a glob");
        };
        assert!(e.to_string().contains("unclosed character class"), "{e}");
        assert!(matches!(norm("src/a\\"), Err(PathError::BadGlob { .. })));
        assert!(matches!(norm("src/{a,b"), Err(PathError::BadGlob { .. })));
    }

    #[test]
    fn refuses_what_is_not_a_file_inside_the_root() {
        assert_eq!(norm(""), Err(PathError::Empty));
        assert_eq!(norm("  "), Err(PathError::Empty));
        assert!(matches!(norm("a\0b"), Err(PathError::Nul(_))));
        assert!(matches!(
            norm(&"a".repeat(5000)),
            Err(PathError::TooLong(5000))
        ));
        assert!(matches!(
            norm("../../etc/passwd"),
            Err(PathError::Escapes(_))
        ));
        assert!(matches!(norm("src/../../x"), Err(PathError::Escapes(_))));
        assert!(matches!(
            norm("/etc/passwd"),
            Err(PathError::OutsideRoot(..))
        ));
        assert!(matches!(
            norm("/repository/a"),
            Err(PathError::OutsideRoot(..))
        ));
        assert!(matches!(
            norm("/repo/../etc"),
            Err(PathError::OutsideRoot(..))
        ));
        assert!(matches!(norm("."), Err(PathError::IsRoot(_))));
        assert!(matches!(norm("/repo"), Err(PathError::IsRoot(_))));
    }
}
