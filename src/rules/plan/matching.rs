//! Which files a task will likely touch, from its words: names in the file's
//! path, names the file defines, and paths the task spells out.

use std::collections::{BTreeSet, HashMap};

use super::{DepGraph, ProjectFiles, TaskInput};

/// At most this many files are taken from a description; more is a guess, not a plan.
pub const MAX_MATCHED_FILES: usize = 10;
/// Files that import a task's files, listed so conflicts at one remove show.
pub const MAX_RELATED_FILES: usize = 20;
const MIN_SCORE: f64 = 1.0;
/// A file scoring below this share of the best match is left out.
const RELATIVE_CUTOFF: f64 = 0.5;

const STOPWORDS: &[&str] = &[
    "the",
    "and",
    "for",
    "with",
    "into",
    "from",
    "that",
    "this",
    "add",
    "fix",
    "make",
    "new",
    "use",
    "using",
    "should",
    "support",
    "file",
    "files",
    "code",
    "all",
    "when",
    "then",
    "also",
    "update",
    "implement",
    "create",
    "change",
    "improve",
    "refactor",
    "write",
    "move",
    "remove",
    "its",
    "their",
    "not",
    "but",
    "are",
    "was",
    "can",
    "will",
    "each",
    "every",
    "out",
    "our",
    "src",
    "lib",
    "mod",
    "index",
    "main",
    "init",
    "pkg",
    "internal",
    "cmd",
];

/// The files of one task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskFiles {
    /// The files the task edits, sorted.
    pub files: Vec<String>,
    /// Files importing those, which the task may break but does not edit.
    pub related: Vec<String>,
    /// True when the planner listed the files itself.
    pub given: bool,
}

/// Path words and defined names of every file, built once per analysis.
pub struct MatchIndex<'a> {
    files: Vec<(&'a str, Vec<String>, Vec<String>)>,
    symbols: HashMap<String, Vec<&'a str>>,
}

impl<'a> MatchIndex<'a> {
    pub fn new(project: &'a ProjectFiles) -> Self {
        let files = project
            .files
            .iter()
            .filter(|path| !is_sample_data(path))
            .map(|path| {
                let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
                let stem = name.split_once('.').map_or(name, |(s, _)| s);
                (path.as_str(), words(dir), words(stem))
            })
            .collect();
        let mut symbols: HashMap<String, Vec<&str>> = HashMap::new();
        for source in &project.sources {
            for symbol in &source.symbols {
                let files = symbols.entry(symbol_key(symbol)).or_default();
                if files.last() != Some(&source.path.as_str()) {
                    files.push(&source.path);
                }
            }
        }
        Self { files, symbols }
    }

    /// The files a description points at, best first. Each word of the task
    /// counts once per file (the best of its path and its definitions); a file
    /// must score half the best and explain half as many words as the best.
    pub fn matches(&self, description: &str) -> Vec<String> {
        let mut found: HashMap<&str, Evidence> = HashMap::new();
        let query = words(description);
        let total = self.files.len().max(1);
        let single: BTreeSet<&String> = query.iter().collect();
        for token in &single {
            let defined_in = self.symbol_files(token);
            let hits: Vec<(&str, f64)> = self
                .files
                .iter()
                .filter_map(|(path, dir, stem)| {
                    let by_path = (best_match(token, stem) * 2.0).max(best_match(token, dir));
                    let by_symbol = if defined_in.contains(path) { 1.5 } else { 0.0 };
                    let s = by_path.max(by_symbol);
                    (s > 0.0).then_some((*path, s))
                })
                .collect();
            // A word in most paths (say "api" in an api-only repo) says nothing.
            if hits.is_empty() || hits.len() * 3 > total && hits.len() > 5 {
                continue;
            }
            let weight = 1.0 / (hits.len() as f64).sqrt();
            for (path, s) in hits {
                found.entry(path).or_default().add(s * weight);
            }
        }
        // Names of several words: `vat_rate`, `RateLimiter`, or two words in a row.
        let compounds: BTreeSet<String> = identifiers(description)
            .chain(query.windows(2).map(|w| format!("{}{}", w[0], w[1])))
            .filter(|c| !single.contains(c))
            .collect();
        for compound in &compounds {
            for path in self.symbol_files(compound) {
                found.entry(path).or_default().add(1.5);
            }
        }
        for mention in description.split_whitespace().map(trim_punctuation) {
            if !mention.contains('/') && !mention.contains('.') {
                continue;
            }
            let mention = mention.trim_start_matches("./");
            for (path, _, _) in &self.files {
                if *path == mention || path.ends_with(&format!("/{mention}")) {
                    found.entry(path).or_default().add(10.0);
                }
            }
        }
        let best = found.values().map(|e| e.score).fold(0.0, f64::max);
        let best_words = found
            .values()
            .filter(|e| e.score == best)
            .map(|e| e.words)
            .max()
            .unwrap_or(0);
        let cutoff = (best * RELATIVE_CUTOFF).max(MIN_SCORE);
        let mut ranked: Vec<(&str, Evidence)> = found
            .into_iter()
            .filter(|(_, e)| e.score >= cutoff && e.words * 2 >= best_words)
            .collect();
        ranked.sort_by(|a, b| b.1.score.total_cmp(&a.1.score).then(a.0.cmp(b.0)));
        ranked
            .into_iter()
            .take(MAX_MATCHED_FILES)
            .map(|(p, _)| p.to_owned())
            .collect()
    }

    /// Files defining `name` (lowercase, no underscores), if few enough to be telling.
    fn symbol_files(&self, name: &str) -> &[&'a str] {
        self.symbols
            .get(name)
            .filter(|f| f.len() <= 3)
            .map_or(&[], Vec::as_slice)
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct Evidence {
    score: f64,
    /// How many of the task's words (or names, or paths) point at the file.
    words: usize,
}

impl Evidence {
    fn add(&mut self, score: f64) {
        self.score += score;
        self.words += 1;
    }
}

/// The files of a task: as given, or matched from its text; plus their importers.
pub fn task_files(task: &TaskInput, index: &MatchIndex<'_>, graph: &DepGraph) -> TaskFiles {
    let (files, given): (BTreeSet<String>, bool) = match &task.files {
        Some(files) => (files.iter().cloned().collect(), true),
        None => (
            index.matches(&task.description).into_iter().collect(),
            false,
        ),
    };
    let related: BTreeSet<String> = files
        .iter()
        .flat_map(|f| graph.importers_of(f))
        .filter(|f| !files.contains(*f))
        .take(MAX_RELATED_FILES)
        .map(str::to_owned)
        .collect();
    TaskFiles {
        files: files.into_iter().collect(),
        related: related.into_iter().collect(),
        given,
    }
}

/// Fixtures and vendored code stand in for other projects; a task names this one.
fn is_sample_data(path: &str) -> bool {
    path.split('/').any(|dir| {
        matches!(
            dir,
            "fixtures" | "testdata" | "test-data" | "vendor" | "third_party" | "node_modules"
        )
    })
}

fn trim_punctuation(word: &str) -> &str {
    word.trim_matches(|c: char| {
        matches!(
            c,
            '`' | '"' | '\'' | ',' | ';' | ':' | '(' | ')' | '!' | '?'
        )
    })
    .trim_end_matches('.')
}

/// Lowercase words of at least three letters, split at punctuation and camelCase.
pub fn words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for raw in text.split(|c: char| !c.is_alphanumeric()) {
        let mut current = String::new();
        let mut prev_lower = false;
        for c in raw.chars() {
            if c.is_uppercase() && prev_lower && !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
            prev_lower = c.is_lowercase() || c.is_ascii_digit();
            current.extend(c.to_lowercase());
        }
        out.push(current);
    }
    out.retain(|w| {
        w.len() >= 3 && !STOPWORDS.contains(&w.as_str()) && !w.chars().all(|c| c.is_ascii_digit())
    });
    out
}

/// Identifiers as written (`load_config`, `RateLimiter`), as symbol keys.
fn identifiers(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| w.len() >= 4)
        .map(symbol_key)
}

/// `vat_rate`, `VatRate` and "vat rate" all become `vatrate`.
fn symbol_key(name: &str) -> String {
    name.chars()
        .filter(|c| *c != '_')
        .flat_map(char::to_lowercase)
        .collect()
}

/// How well a query word matches any of a path's words: 1 for the same word
/// (plurals aside), 0.7 for the same root with an ending (auth, authentication;
/// wait, waiting) but not for two words that merely start alike (time, timeout).
fn best_match(token: &str, candidates: &[String]) -> f64 {
    candidates
        .iter()
        .map(|c| {
            let (a, b) = (singular(token), singular(c));
            let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
            if a == b {
                1.0
            } else if short.len() >= 4
                && long
                    .strip_prefix(short)
                    .is_some_and(|ending| ENDINGS.contains(&ending))
            {
                0.7
            } else {
                0.0
            }
        })
        .fold(0.0, f64::max)
}

/// Endings that keep a word's root: inflections, and the derivations code
/// abbreviates (auth·entication, config·uration, util·ities).
const ENDINGS: &[&str] = &[
    "es",
    "ed",
    "ing",
    "er",
    "ers",
    "ion",
    "ions",
    "ation",
    "ations",
    "uration",
    "urations",
    "ication",
    "ications",
    "entication",
    "orization",
    "ities",
    "ity",
    "ment",
    "ments",
    "ise",
    "ize",
    "ised",
    "ized",
    "ising",
    "izing",
    "al",
    "ive",
    "or",
    "ors",
    "ure",
    "ures",
    "e",
];

fn singular(word: &str) -> &str {
    match word.strip_suffix('s') {
        Some(stem) if stem.len() >= 3 && !stem.ends_with('s') => stem,
        _ => word,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project(files: &[&str]) -> ProjectFiles {
        ProjectFiles {
            files: files.iter().map(|f| (*f).to_owned()).collect(),
            ..ProjectFiles::default()
        }
    }

    #[test]
    fn words_split_camel_case_and_drop_noise() {
        assert_eq!(
            words("Add rate limiting to the LoginHandler in src/auth.py"),
            ["rate", "limiting", "login", "handler", "auth"]
        );
    }

    #[test]
    fn word_roots_match_but_lookalikes_do_not() {
        let path = |w: &[&str]| w.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(best_match("authentication", &path(&["auth"])), 0.7);
        assert_eq!(best_match("waiting", &path(&["wait"])), 0.7);
        assert_eq!(best_match("invoices", &path(&["invoice"])), 1.0);
        assert_eq!(best_match("timeout", &path(&["time"])), 0.0);
        assert_eq!(best_match("configurable", &path(&["config"])), 0.0);
        assert!(is_sample_data("tests/fixtures/repo/api/tokens.py"));
        assert!(!is_sample_data("src/fixture_loader.rs"));
    }

    #[test]
    fn path_words_and_mentions_pick_files() {
        let p = project(&[
            "app/auth/login.py",
            "app/auth/tokens.py",
            "app/billing/invoice.py",
            "web/src/cart.ts",
        ]);
        let index = MatchIndex::new(&p);
        assert_eq!(
            index.matches("Fix the login form validation"),
            ["app/auth/login.py"]
        );
        assert_eq!(
            index.matches("Add PDF export to invoices"),
            ["app/billing/invoice.py"]
        );
        assert_eq!(index.matches("Tidy web/src/cart.ts"), ["web/src/cart.ts"]);
        assert!(index.matches("Write the release notes").is_empty());
    }
}
