//! Lock paths, normalised relative to the project root, so that `./src/a.rs`,
//! `src//a.rs` and `/repo/src/a.rs` are one lock.

use std::path::{Component, Path};

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
    #[error("the file path {0:?} names the project root itself; name a file inside it")]
    IsRoot(String),
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
    use super::*;

    fn norm(raw: &str) -> Result<String, PathError> {
        normalize(Path::new("/repo"), raw)
    }

    #[test]
    fn equivalent_spellings_become_one_path() {
        for raw in [
            "src/a.rs",
            "./src/a.rs",
            "src//a.rs",
            "src/x/../a.rs",
            "/repo/src/a.rs",
            "src/a.rs/",
        ] {
            assert_eq!(norm(raw).as_deref(), Ok("src/a.rs"), "{raw}");
        }
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
