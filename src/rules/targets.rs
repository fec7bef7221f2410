//! What a lock path covers: one file, a directory and everything under it
//! (a path ending in `/`), or the files a glob matches (`src/api/**/*.rs`,
//! `*`, `?`, `[..]`, `{a,b}`); and whether two of them can touch one file.
//!
//! A lock path is stored as the normalised string the agent gave, so the kind
//! is read back from the string itself: ending in `/` is a directory, holding
//! a glob metacharacter is a glob, anything else is a file.

use globset::{GlobBuilder, GlobMatcher};

/// Characters that make a lock path a glob. `\` escapes the next character,
/// so `a\[1\].rs` is a glob that matches the file `a[1].rs` only.
pub const GLOB_META: [char; 5] = ['*', '?', '[', '{', '\\'];

/// Characters after which a glob's text may be literal again: the ends of
/// wildcards, classes and alternations, and an escape (whose next character is literal).
const GLOB_META_END: [char; 5] = ['*', '?', ']', '}', '\\'];

/// Compiles a normalised glob the way every lock pattern is read: `*` and `?`
/// stay within one path component, `**` crosses components, `\` escapes.
pub fn compile_glob(pattern: &str) -> Result<GlobMatcher, globset::Error> {
    Ok(GlobBuilder::new(pattern)
        .literal_separator(true)
        .backslash_escape(true)
        .build()?
        .compile_matcher())
}

pub fn is_pattern(path: &str) -> bool {
    path.ends_with('/') || path.contains(GLOB_META)
}

#[derive(Debug, Clone)]
pub struct Glob {
    pattern: String,
    matcher: GlobMatcher,
}

impl Glob {
    /// Every path the glob matches starts with this.
    fn literal_prefix(&self) -> &str {
        self.pattern
            .find(GLOB_META)
            .map_or(self.pattern.as_str(), |i| &self.pattern[..i])
    }

    /// Every path the glob matches ends with this.
    fn literal_suffix(&self) -> &str {
        self.pattern
            .rfind(GLOB_META_END)
            .map_or(self.pattern.as_str(), |i| &self.pattern[i + 1..])
    }
}

#[derive(Debug, Clone)]
pub enum LockTarget {
    File(String),
    /// With its trailing `/`, e.g. `src/api/`.
    Dir(String),
    Glob(Glob),
}

impl PartialEq for LockTarget {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for LockTarget {}

fn prefix_compatible(a: &str, b: &str) -> bool {
    a.starts_with(b) || b.starts_with(a)
}

fn suffix_compatible(a: &str, b: &str) -> bool {
    a.ends_with(b) || b.ends_with(a)
}

impl LockTarget {
    /// Reads a normalised lock path. A glob that does not compile (only a file
    /// name locked before patterns existed could be one) is taken as a file.
    pub fn parse(path: &str) -> Self {
        if path.contains(GLOB_META) {
            if let Ok(matcher) = compile_glob(path) {
                return Self::Glob(Glob {
                    pattern: path.to_owned(),
                    matcher,
                });
            }
        } else if path.ends_with('/') {
            return Self::Dir(path.to_owned());
        }
        Self::File(path.to_owned())
    }

    pub fn as_str(&self) -> &str {
        match self {
            Self::File(p) | Self::Dir(p) => p,
            Self::Glob(g) => &g.pattern,
        }
    }

    /// Whether some file could be covered by both.
    ///
    /// File against anything is exact: equal paths, a file under a directory
    /// (or named like the directory itself), a file the glob matches. Pattern
    /// against pattern over-approximates, since deciding whether two globs
    /// share a match is costly and rarely worth it: a directory and a glob
    /// overlap when the directory and the glob's literal prefix (its text
    /// before the first metacharacter) are one a prefix of the other; two globs
    /// overlap when their literal prefixes are, and their literal suffixes
    /// (text after the last metacharacter) are one a suffix of the other. So
    /// `src/*.rs` and `src/api/` are reported as overlapping though no file is
    /// in both, while a real overlap is never missed.
    pub fn overlaps(&self, other: &Self) -> bool {
        use LockTarget::{Dir, File, Glob};
        match (self, other) {
            (File(a), File(b)) => a == b,
            (File(f), Dir(d)) | (Dir(d), File(f)) => {
                f.starts_with(d.as_str()) || Some(f.as_str()) == d.strip_suffix('/')
            }
            (File(f), Glob(g)) | (Glob(g), File(f)) => g.matcher.is_match(f),
            (Dir(a), Dir(b)) => prefix_compatible(a, b),
            (Dir(d), Glob(g)) | (Glob(g), Dir(d)) => prefix_compatible(d, g.literal_prefix()),
            (Glob(a), Glob(b)) => {
                prefix_compatible(a.literal_prefix(), b.literal_prefix())
                    && suffix_compatible(a.literal_suffix(), b.literal_suffix())
            }
        }
    }
}

#[cfg(test)]
mod tests;
