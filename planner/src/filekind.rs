//! What a file is for: the source a task edits, or tests, docs and examples
//! about it, or something no task edits by hand (images, archives, lock files).

/// The kinds, in the order a task most likely edits them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Source,
    /// Configuration, build files, data: edited now and then.
    Other,
    Test,
    Docs,
    Example,
}

const TEST_DIRS: &[&str] = &[
    "test",
    "tests",
    "__tests__",
    "spec",
    "specs",
    "testing",
    "e2e",
    "test_utils",
    "testutil",
];
const DOC_DIRS: &[&str] = &["doc", "docs", "documentation", "man", "site", "website"];
const EXAMPLE_DIRS: &[&str] = &[
    "example",
    "examples",
    "sample",
    "samples",
    "demo",
    "demos",
    "bench",
    "benches",
    "benchmark",
    "benchmarks",
    "_examples",
];
const DOC_EXTENSIONS: &[&str] = &["md", "rst", "txt", "adoc", "markdown", "html", "htm"];
/// Files nobody edits as text, so no task's files.
const ASSET_EXTENSIONS: &[&str] = &[
    "png", "jpg", "jpeg", "gif", "svg", "ico", "icns", "webp", "bmp", "tif", "tiff", "pdf", "woff",
    "woff2", "ttf", "otf", "eot", "zip", "gz", "tgz", "bz2", "xz", "zst", "7z", "tar", "jar",
    "whl", "so", "dll", "dylib", "a", "o", "exe", "bin", "wasm", "mp3", "mp4", "wav", "ogg", "mov",
    "avi", "lock", "map", "snap", "pyc", "db", "sqlite",
];

/// Build output: a published package or a checkout without its `.gitignore`
/// ships it beside the source, and it repeats every name of the source.
const GENERATED_DIRS: &[&str] = &["dist", "coverage", "__pycache__", ".next", ".nuxt"];

/// The kind of a relative path, or `None` for a file no task edits.
pub fn of(path: &str) -> Option<FileKind> {
    let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
    let lower = name.to_ascii_lowercase();
    let ext = lower.rsplit_once('.').map_or("", |(_, e)| e);
    let dirs: Vec<String> = dir.split('/').map(str::to_ascii_lowercase).collect();
    let in_dir = |names: &[&str]| dirs.iter().any(|d| names.contains(&d.as_str()));
    if ASSET_EXTENSIONS.contains(&ext) || lower.ends_with(".min.js") || in_dir(GENERATED_DIRS) {
        return None;
    }
    // Type declarations are usually generated from the source they describe.
    if lower.ends_with(".d.ts") {
        return Some(FileKind::Other);
    }
    let stem = lower.split_once('.').map_or(lower.as_str(), |(s, _)| s);
    if in_dir(TEST_DIRS)
        || stem.starts_with("test")
        || stem.starts_with("mock")
        || stem.ends_with("_test")
        || stem.ends_with("_tests")
        || stem == "conftest"
        || lower.contains(".test.")
        || lower.contains(".spec.")
    {
        return Some(FileKind::Test);
    }
    if in_dir(EXAMPLE_DIRS) {
        return Some(FileKind::Example);
    }
    if in_dir(DOC_DIRS) || DOC_EXTENSIONS.contains(&ext) || stem == "changelog" || stem == "license"
    {
        return Some(FileKind::Docs);
    }
    if crate::Language::of(&lower).is_some() {
        Some(FileKind::Source)
    } else {
        Some(FileKind::Other)
    }
}

impl FileKind {
    /// How much a match in this kind of file counts. A task that asks for
    /// tests or docs still mostly edits source, so asking only narrows the gap.
    pub fn prior(self, asked: bool) -> f64 {
        match (self, asked) {
            (Self::Source, _) => 1.0,
            (Self::Other, false) => 0.4,
            (Self::Other, true) => 0.8,
            (Self::Test | Self::Docs | Self::Example, false) => 0.2,
            (Self::Test | Self::Docs | Self::Example, true) => 0.5,
        }
    }

    /// Stems of task words that ask for this kind: "add tests", "document".
    pub fn asked_by(self) -> &'static [&'static str] {
        match self {
            Self::Source => &[],
            Self::Other => &["config", "configur", "build", "ci", "workflow", "depend"],
            Self::Test => &["test", "spec", "regress", "coverag"],
            Self::Docs => &["doc", "document", "readm", "changelog", "guid", "tutori"],
            Self::Example => &["exampl", "sampl", "demo", "benchmark", "bench"],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_of_paths() {
        assert_eq!(of("src/requests/sessions.py"), Some(FileKind::Source));
        assert_eq!(of("tests/test_sessions.py"), Some(FileKind::Test));
        assert_eq!(of("pkg/merge_test.go"), Some(FileKind::Test));
        assert_eq!(of("web/src/cart.spec.ts"), Some(FileKind::Test));
        assert_eq!(of("docs/merge.rst"), Some(FileKind::Docs));
        assert_eq!(of("README.md"), Some(FileKind::Docs));
        assert_eq!(of("examples/merge/main.go"), Some(FileKind::Example));
        assert_eq!(of("assets/merge.png"), None);
        assert_eq!(of("Cargo.lock"), None);
        assert_eq!(of("dist/mobx.esm.js"), None);
        assert_eq!(of("dist/core/atom.d.ts"), None);
        assert_eq!(of("types/index.d.ts"), Some(FileKind::Other));
        assert_eq!(of("pyproject.toml"), Some(FileKind::Other));
    }
}
