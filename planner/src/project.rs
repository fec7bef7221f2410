//! What the planner reads a project as: its files, the source files among
//! them with what each imports, defines and says, and the tasks to place.

use crate::lex::{imports, terms};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Language {
    Rust,
    Python,
    JavaScript,
    Go,
}

impl Language {
    pub fn of(path: &str) -> Option<Self> {
        let ext = path.rsplit_once('.')?.1;
        match ext {
            "rs" => Some(Self::Rust),
            "py" | "pyi" => Some(Self::Python),
            "js" | "jsx" | "mjs" | "cjs" | "ts" | "tsx" | "mts" | "cts" => Some(Self::JavaScript),
            "go" => Some(Self::Go),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rust => "rust",
            Self::Python => "python",
            Self::JavaScript => "javascript/typescript",
            Self::Go => "go",
        }
    }
}

/// A source file as the scanner read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    pub path: String,
    pub language: Language,
    pub imports: Vec<imports::Import>,
    /// Names the file defines (functions, types, classes), for matching task text.
    pub symbols: Vec<String>,
    /// Every stemmed word of the file with its count, sorted (see `terms::document`).
    pub terms: Vec<terms::TermCount>,
}

/// What the scanner found under the project root. Paths are relative, `/`-separated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProjectFiles {
    /// Every file not ignored, sorted.
    pub files: Vec<String>,
    pub sources: Vec<SourceFile>,
    /// `(directory of go.mod, module path)`.
    pub go_modules: Vec<(String, String)>,
    /// `(crate name with '-' as '_', its src directory)`.
    pub rust_crates: Vec<(String, String)>,
    /// Why the scan stopped before the end, if it did.
    pub stopped_early: Option<String>,
}

/// A task as the planner gave it: text, and the files if the planner knows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskInput {
    pub description: String,
    pub files: Option<Vec<String>>,
}

/// The parent directory of a relative path, `""` at the root.
pub(crate) fn parent(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(dir, _)| dir)
}

pub(crate) fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_owned()
    } else {
        format!("{dir}/{name}")
    }
}
