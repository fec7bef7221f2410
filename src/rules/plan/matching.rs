//! Which files a task will likely touch, ranked by what the code says: BM25
//! over each source file's stemmed words (identifiers, comments, strings),
//! plus the words of its path, the names it defines, names of several words
//! the task spells (`RateLimiter`, "rate limiter") and paths the task spells
//! out. Source outranks tests, docs and examples; assets are never chosen.
//! A task adding a new public type also edits the file re-exporting it.
//! Each chosen file says why, and the next few below the cut are offered as
//! candidates so the planner can swap them in.

use std::collections::{BTreeSet, HashMap};

use super::filekind::{self, FileKind};
use super::terms::{self, Stems};
use super::{DepGraph, ProjectFiles, TaskInput};

/// At most this many files are taken from a description; more is a guess, not a plan.
pub const MAX_MATCHED_FILES: usize = 2;
/// Words that explain a file's score, strongest first.
const REASON_WORDS: usize = 2;
/// Files below the cut offered to the planner.
pub const MAX_CANDIDATES: usize = 3;
/// Files importing a task's files, listed so conflicts at one remove show.
pub const MAX_RELATED_FILES: usize = 20;

/// BM25's usual constants: term frequency saturates, long files are discounted.
const K1: f64 = 1.2;
const B: f64 = 0.75;
/// A word in the file's own name says more than any count of it inside.
const NAME_WEIGHT: f64 = 2.0;
/// The directory a file is in names its module; those further up, its area.
const PARENT_WEIGHT: f64 = 1.0;
const DIR_WEIGHT: f64 = 0.5;
const DEFINES_WEIGHT: f64 = 0.8;
/// A word in a comment or string counts this much of one in code.
const PROSE_WEIGHT: f64 = 0.25;
/// A name of several words the task spells, defined in one of few files.
const NAME_KEY_BONUS: f64 = 4.0;
const MENTION_BONUS: f64 = 50.0;
/// A name defined in more files than this says nothing about which one.
const MAX_FILES_PER_NAME: usize = 3;
/// A file below the cut is offered while it scores this share of the best.
const CANDIDATE_SHARE: f64 = 0.4;
/// A further file is chosen when it scores this share of the best.
const KEEP_SHARE: f64 = 0.5;
/// Files that re-export a package's or crate's public names: a new public
/// type added to one of its modules is exported there too.
const EXPORTING_FILES: &[&str] = &["__init__.py", "lib.rs", "mod.rs", "index.ts", "index.js"];
/// When the next file scores within a tenth of the best, which of the two the
/// task is about is a toss-up, so neither is strong evidence of a collision.
const TOSS_UP_SHARE: f64 = 0.9;

/// One file of a task with why it was chosen (or offered).
#[derive(Debug, Clone, PartialEq)]
pub struct Pick {
    pub path: String,
    pub score: f64,
    /// The task's words that matched, strongest first.
    pub words: Vec<String>,
}

impl Pick {
    /// `"retry,keep alive:7"`: short enough to list for every file.
    pub fn reason(&self) -> String {
        format!("{}:{:.0}", self.words.join(","), self.score)
    }
}

/// The files of one task.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TaskFiles {
    /// The files the task edits, sorted.
    pub files: Vec<String>,
    /// Those of `files` the evidence strongly supports: all given ones, or
    /// the best match when it stands clear of the next file (see
    /// `TOSS_UP_SHARE`). A further chosen file is the matcher's second guess,
    /// and a file another task shares only through such a guess is a medium
    /// conflict, not a high one.
    pub strong: Vec<String>,
    /// Files importing those, which the task may break but does not edit.
    pub related: Vec<String>,
    /// True when the planner listed the files itself.
    pub given: bool,
    /// Why each matched file was chosen, best first (empty when given).
    pub picks: Vec<Pick>,
    /// The next files below the cut, best first.
    pub candidates: Vec<Pick>,
}

struct Doc<'a> {
    path: &'a str,
    kind: FileKind,
    /// Words in the body (0 for files not read).
    len: u32,
}

/// Every file's words, built once per analysis.
pub struct MatchIndex<'a> {
    docs: Vec<Doc<'a>>,
    /// stemmed word → (doc, count in the body, prose counting part).
    body: HashMap<String, Vec<(u32, f32)>>,
    /// stemmed word → (doc, weight of where in the path it is).
    path: HashMap<String, Vec<(u32, f64)>>,
    /// stemmed word → docs defining a name with that word.
    defines: HashMap<String, Vec<u32>>,
    /// a name of several words, joined lowercase → docs defining it.
    names: HashMap<String, Vec<u32>>,
    read_docs: usize,
    average_len: f64,
}

impl<'a> MatchIndex<'a> {
    pub fn new(project: &'a ProjectFiles) -> Self {
        let sources: HashMap<&str, &super::SourceFile> = project
            .sources
            .iter()
            .map(|s| (s.path.as_str(), s))
            .collect();
        let mut index = Self {
            docs: Vec::new(),
            body: HashMap::new(),
            path: HashMap::new(),
            defines: HashMap::new(),
            names: HashMap::new(),
            read_docs: 0,
            average_len: 1.0,
        };
        let mut total_len = 0u64;
        let mut stems = Stems::default();
        for path in &project.files {
            if is_sample_data(path) {
                continue;
            }
            let Some(kind) = filekind::of(path) else {
                continue;
            };
            let id = index.docs.len() as u32;
            let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
            let stem = name.split_once('.').map_or(name, |(s, _)| s);
            let mut seen = BTreeSet::new();
            let (above, parent) = dir.rsplit_once('/').unwrap_or(("", dir));
            let mut weighted = path_words(stem, NAME_WEIGHT, &mut stems);
            weighted.extend(path_words(parent, PARENT_WEIGHT, &mut stems));
            weighted.extend(path_words(above, DIR_WEIGHT, &mut stems));
            // The first (strongest) place a word appears in the path counts.
            for (word, weight) in weighted {
                if seen.insert(word.clone()) {
                    index.path.entry(word).or_default().push((id, weight));
                }
            }
            let mut len = 0u32;
            if let Some(source) = sources.get(path.as_str()) {
                for t in &source.terms {
                    len = len.saturating_add(t.code + t.prose);
                    let tf = t.code as f32 + PROSE_WEIGHT as f32 * t.prose as f32;
                    match index.body.get_mut(&t.word) {
                        Some(postings) => postings.push((id, tf)),
                        None => {
                            index.body.insert(t.word.clone(), vec![(id, tf)]);
                        }
                    }
                }
                let mut defined = BTreeSet::new();
                for symbol in &source.symbols {
                    for part in terms::identifier_parts(symbol) {
                        defined.insert(stems.of(part));
                    }
                    if let Some(key) = terms::name_key(symbol) {
                        let docs = index.names.entry(key).or_default();
                        if docs.last() != Some(&id) {
                            docs.push(id);
                        }
                    }
                }
                for word in defined {
                    index.defines.entry(word).or_default().push(id);
                }
                index.read_docs += 1;
                total_len += u64::from(len);
            }
            index.docs.push(Doc { path, kind, len });
        }
        index.average_len = (total_len as f64 / index.read_docs.max(1) as f64).max(1.0);
        index
    }

    /// The files a description points at: the chosen ones, best first, and
    /// the next candidates below the cut.
    pub fn matches(&self, description: &str) -> (Vec<Pick>, Vec<Pick>) {
        let query = terms::query(description);
        let asked: Vec<FileKind> = [
            FileKind::Other,
            FileKind::Test,
            FileKind::Docs,
            FileKind::Example,
        ]
        .into_iter()
        .filter(|k| query.iter().any(|q| k.asked_by().contains(&q.as_str())))
        .collect();
        let mut ranked: Vec<(u32, Scored)> = self
            .scores(&query, description)
            .into_iter()
            .map(|(doc, mut s)| {
                let kind = self.docs[doc as usize].kind;
                s.score *= kind.prior(asked.contains(&kind));
                (doc, s)
            })
            .collect();
        let path = |doc: u32| self.docs[doc as usize].path;
        ranked.sort_by(|a, b| {
            b.1.score
                .total_cmp(&a.1.score)
                .then_with(|| path(a.0).cmp(path(b.0)))
        });
        // Only the files anyone will read get their reasons spelled out.
        ranked.truncate(MAX_MATCHED_FILES + MAX_CANDIDATES);
        let shown = shown_words(description);
        let picks = ranked
            .into_iter()
            .map(|(doc, mut s)| {
                s.by_word.sort_by(|a, b| b.0.total_cmp(&a.0));
                Pick {
                    path: path(doc).to_owned(),
                    score: s.score,
                    words: s
                        .by_word
                        .iter()
                        .filter_map(|(_, w)| shown_word(*w, &query, &shown))
                        .take(REASON_WORDS)
                        .collect(),
                }
            })
            .collect();
        select(picks)
    }

    /// Every file any of the task's words, names or paths reach, with what each adds.
    fn scores(&self, query: &[String], description: &str) -> HashMap<u32, Scored> {
        let mut scores: HashMap<u32, Scored> = HashMap::new();
        let mut add = |doc: u32, score: f64, word: usize| {
            scores.entry(doc).or_default().add(score, word);
        };
        let docs = self.docs.len().max(1);
        for (w, word) in query.iter().enumerate() {
            if let Some(postings) = self.body.get(word) {
                let idf = idf(self.read_docs, postings.len());
                for &(doc, tf) in postings {
                    let tf = f64::from(tf);
                    let len = f64::from(self.docs[doc as usize].len);
                    let norm = K1 * (1.0 - B + B * len / self.average_len);
                    add(doc, idf * tf * (K1 + 1.0) / (tf + norm), w);
                }
            }
            if let Some(postings) = self.path.get(word) {
                // A word in most files' code (`response` in an HTTP client) is
                // not specific just because one file is named after it.
                let in_code = self.body.get(word).map_or(0, Vec::len);
                let idf = match in_code {
                    0 => idf(docs, postings.len()),
                    n => idf(docs, postings.len()).min(idf(self.read_docs, n)),
                };
                for &(doc, weight) in postings {
                    add(doc, idf * weight, w);
                }
            }
            if let Some(defining) = self.defines.get(word) {
                let idf = idf(self.read_docs, defining.len());
                for &doc in defining {
                    add(doc, idf * DEFINES_WEIGHT, w);
                }
            }
        }
        for (key, word) in spelled_names(description) {
            if let Some(defining) = self
                .names
                .get(&key)
                .filter(|d| d.len() <= MAX_FILES_PER_NAME)
            {
                let at = query.iter().position(|q| *q == word).unwrap_or(usize::MAX);
                for &doc in defining {
                    add(doc, NAME_KEY_BONUS, at);
                }
            }
        }
        for mention in mentioned_paths(description) {
            for (id, doc) in self.docs.iter().enumerate() {
                if doc.path == mention || doc.path.ends_with(&format!("/{mention}")) {
                    add(id as u32, MENTION_BONUS, usize::MAX);
                }
            }
        }
        scores
    }
}

/// A file's score for one task, and how much each of the task's words
/// (by position in the query; `usize::MAX` for a spelled-out path) gave.
#[derive(Debug, Default)]
struct Scored {
    score: f64,
    by_word: Vec<(f64, usize)>,
}

impl Scored {
    fn add(&mut self, score: f64, word: usize) {
        self.score += score;
        match self.by_word.iter_mut().find(|(_, w)| *w == word) {
            Some(slot) => slot.0 += score,
            None => self.by_word.push((score, word)),
        }
    }
}

/// The best files, down to a share of the best; the next few are candidates.
fn select(ranked: Vec<Pick>) -> (Vec<Pick>, Vec<Pick>) {
    let best = ranked.first().map_or(0.0, |p| p.score);
    let keep = ranked
        .iter()
        .take(MAX_MATCHED_FILES)
        .take_while(|p| p.score > 0.0 && p.score >= best * KEEP_SHARE)
        .count();
    let mut chosen = ranked;
    let candidates = chosen
        .split_off(keep)
        .into_iter()
        .take(MAX_CANDIDATES)
        .take_while(|p| p.score >= best * CANDIDATE_SHARE)
        .collect();
    (chosen, candidates)
}

/// Robertson–Spärck Jones weight, never negative.
fn idf(docs: usize, with_word: usize) -> f64 {
    let (n, df) = (docs as f64, with_word as f64);
    (1.0 + (n - df + 0.5) / (df + 0.5)).ln()
}

/// The stemmed words of a path part, each with the weight of that part.
fn path_words(part: &str, weight: f64, stems: &mut Stems) -> Vec<(String, f64)> {
    terms::query_words_with(part, stems)
        .into_iter()
        .map(|w| (w, weight))
        .collect()
}

/// The word as the task wrote it, for a reason a person reads.
fn shown_word(at: usize, query: &[String], shown: &HashMap<String, String>) -> Option<String> {
    match at {
        usize::MAX => Some("path".to_owned()),
        _ => query.get(at).map(|q| {
            q.split('_')
                .map(|w| shown.get(w).map_or(w, String::as_str))
                .collect::<Vec<_>>()
                .join(" ")
        }),
    }
}

/// Stemmed word → the first spelling of it in the task.
fn shown_words(description: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for word in terms::plain_words(description) {
        out.entry(terms::stem(&word)).or_insert(word);
    }
    out
}

/// Names of several words a task spells: identifiers as written, whole
/// (`raise_for_status`, `RateLimiter`), and two plain words in a row ("rate
/// limiter") of which neither is a stop word. Each comes with the stem of its
/// last word, for the reason.
fn spelled_names(description: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut previous: Option<String> = None;
    for ident in terms::identifiers(description) {
        let parts = terms::identifier_parts(ident);
        // A name written as one (`raise_for_status`) is matched whole, as it is defined.
        if let (Some(key), Some(last)) = (terms::name_key(ident), parts.last()) {
            out.push((key, terms::stem(last)));
            previous = None;
            continue;
        }
        // A plain word, with the word before it: a name written as two ("rate limiter").
        // A stop word breaks the run, so it never becomes part of a name.
        match parts
            .into_iter()
            .next()
            .filter(|w| w.len() >= 3 && !terms::is_query_stopword(w))
        {
            Some(word) => {
                if let Some(before) = previous.replace(word.clone()) {
                    out.push((format!("{before}{word}"), terms::stem(&word)));
                }
            }
            None => previous = None,
        }
    }
    out
}

/// Paths the task spells out (`api/auth/login.py`, `./src/cart.rs`).
fn mentioned_paths(description: &str) -> impl Iterator<Item = &str> {
    description
        .split_whitespace()
        .map(trim_punctuation)
        .filter(|m| m.contains('/') || m.contains('.'))
        .map(|m| m.trim_start_matches("./"))
        .filter(|m| !m.is_empty())
}

/// The files of a task: as given, or matched from its text; plus their importers.
pub fn task_files(task: &TaskInput, index: &MatchIndex<'_>, graph: &DepGraph) -> TaskFiles {
    let strong = |picks: &[Pick], candidates: &[Pick]| -> Vec<String> {
        let best = picks.first().map_or(0.0, |p| p.score);
        let runner_up = picks
            .iter()
            .chain(candidates)
            .nth(1)
            .map_or(0.0, |p| p.score);
        if runner_up >= best * TOSS_UP_SHARE {
            return Vec::new();
        }
        let mut out: Vec<String> = picks
            .iter()
            .filter(|p| p.score >= best)
            .map(|p| p.path.clone())
            .collect();
        out.sort();
        out
    };
    let (files, picks, candidates, given) = match &task.files {
        Some(files) => (
            files.iter().cloned().collect::<BTreeSet<_>>(),
            Vec::new(),
            Vec::new(),
            true,
        ),
        None => {
            let (mut picks, candidates) = index.matches(&task.description);
            if let Some(export) = exporting_pick(&task.description, &picks, index, graph) {
                picks.push(export);
            }
            let files = picks.iter().map(|p| p.path.clone()).collect();
            (files, picks, candidates, false)
        }
    };
    let related: BTreeSet<String> = files
        .iter()
        .flat_map(|f| graph.importers_of(f))
        .filter(|f| !files.contains(*f))
        .take(MAX_RELATED_FILES)
        .map(str::to_owned)
        .collect();
    let strong = if given {
        files.iter().cloned().collect()
    } else {
        strong(&picks, &candidates)
    };
    TaskFiles {
        files: files.into_iter().collect(),
        strong,
        related: related.into_iter().collect(),
        given,
        picks,
        candidates,
    }
}

/// A type name the task spells (`InvalidRedirectLocation`) that no file
/// defines yet: the task adds it. Only several-word names starting with a
/// capital count, so a constant (`NO_PROXY`) or a plain word does not.
fn new_type_names<'d>(description: &'d str, index: &MatchIndex<'_>) -> Vec<&'d str> {
    terms::identifiers(description)
        .filter(|ident| {
            ident.starts_with(|c: char| c.is_ascii_uppercase())
                && ident.chars().any(|c| c.is_ascii_lowercase())
                && !ident.contains('_')
        })
        .filter(|ident| terms::name_key(ident).is_some_and(|key| !index.names.contains_key(&key)))
        .collect()
}

/// When the task adds a public type to its best file, the package's or
/// crate's file that imports that file to re-export its names
/// (`__init__.py`, `lib.rs`, `mod.rs`, `index.ts`) is edited too: the new
/// name has to be exported there. The nearest such importer is taken, scored
/// below the best so it is never the task's strong evidence.
fn exporting_pick(
    description: &str,
    picks: &[Pick],
    index: &MatchIndex<'_>,
    graph: &DepGraph,
) -> Option<Pick> {
    let best = picks.first()?;
    let name = *new_type_names(description, index).first()?;
    let dir_of = |path: &str| path.rsplit_once('/').map_or("", |(d, _)| d).len();
    let export = graph
        .importers_of(&best.path)
        .filter(|f| {
            let file = f.rsplit('/').next().unwrap_or(f);
            EXPORTING_FILES.contains(&file)
        })
        .filter(|f| !picks.iter().any(|p| p.path == *f))
        .max_by_key(|f| dir_of(f))?;
    Some(Pick {
        path: export.to_owned(),
        score: best.score * KEEP_SHARE,
        words: vec![format!("exports {name}")],
    })
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::plan::{Language, SourceFile};

    fn project(files: &[&str]) -> ProjectFiles {
        ProjectFiles {
            files: files.iter().map(|f| (*f).to_owned()).collect(),
            ..ProjectFiles::default()
        }
    }

    /// A project of Python files with these texts (and any plain files).
    fn sources(texts: &[(&str, &str)], plain: &[&str]) -> ProjectFiles {
        let mut p = project(plain);
        for (path, text) in texts {
            p.files.push((*path).to_owned());
            p.sources.push(SourceFile {
                path: (*path).to_owned(),
                language: Language::Python,
                imports: crate::rules::plan::imports::extract(Language::Python, text),
                symbols: crate::rules::plan::symbols::defined(Language::Python, text),
                terms: terms::document(Language::Python, text),
            });
        }
        p.files.sort();
        p
    }

    fn chosen(index: &MatchIndex<'_>, task: &str) -> Vec<String> {
        index.matches(task).0.into_iter().map(|p| p.path).collect()
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
            chosen(&index, "Fix the login form validation"),
            ["app/auth/login.py"]
        );
        assert_eq!(
            chosen(&index, "Add PDF export to invoices"),
            ["app/billing/invoice.py"]
        );
        assert_eq!(chosen(&index, "Tidy web/src/cart.ts"), ["web/src/cart.ts"]);
        assert!(chosen(&index, "Write the release notes").is_empty());
        assert!(is_sample_data("tests/fixtures/repo/api/tokens.py"));
        assert!(!is_sample_data("src/fixture_loader.rs"));
    }

    #[test]
    fn a_task_about_behaviour_reaches_the_file_that_implements_it() {
        let p = sources(
            &[
                (
                    "pkg/core.py",
                    "class Repo:\n    def pull(self):\n        # fast-forward when the branch is behind\n        return self.fast_forward(branch)\n",
                ),
                ("pkg/util.py", "def slugify(text):\n    return text\n"),
            ],
            &[],
        );
        let index = MatchIndex::new(&p);
        let (picks, _) = index.matches("Pull should fast-forward a branch that is behind");
        assert_eq!(picks[0].path, "pkg/core.py");
        assert!(picks[0].reason().starts_with("pull,fast"), "{:?}", picks[0]);
    }

    #[test]
    fn source_outranks_tests_docs_and_examples_and_assets_are_never_chosen() {
        let p = sources(
            &[
                ("src/merge.py", "def merge(left, right):\n    pass\n"),
                (
                    "tests/test_merge.py",
                    "def test_merge():\n    merge(merge(1, 2), merge(3, 4))\n",
                ),
                ("examples/merge_demo.py", "merge(1, 2)\nmerge(3, 4)\n"),
            ],
            &["docs/merge.md", "assets/merge.png"],
        );
        let index = MatchIndex::new(&p);
        let (picks, candidates) = index.matches("Merge two trees");
        assert_eq!(picks[0].path, "src/merge.py", "{picks:?}");
        let all: Vec<&str> = picks
            .iter()
            .chain(&candidates)
            .map(|p| p.path.as_str())
            .collect();
        assert!(!all.contains(&"assets/merge.png"), "{all:?}");
        // A task about tests finds them.
        let (picks, _) = index.matches("Add regression tests for merge");
        assert!(
            picks.iter().any(|p| p.path == "tests/test_merge.py"),
            "{picks:?}"
        );
    }

    /// The old matcher looked words up by exact spelling (plurals aside): "merged" missed merge.py.
    #[test]
    fn an_inflected_word_finds_its_roots_file() {
        let p = project(&["lib/merge.py", "lib/branch.py"]);
        let index = MatchIndex::new(&p);
        assert_eq!(
            chosen(&index, "Report which paths were merged"),
            ["lib/merge.py"]
        );
    }

    /// The old matcher stripped underscores from names, so `__call__` became "call".
    #[test]
    fn a_dunder_method_does_not_match_a_plain_word() {
        let p = sources(
            &[
                (
                    "app/hooks.py",
                    "class Hook:\n    def __call__(self, event):\n        pass\n",
                ),
                ("app/webhook.py", "def send_webhook(url):\n    post(url)\n"),
            ],
            &[],
        );
        let index = MatchIndex::new(&p);
        assert_eq!(
            chosen(&index, "Call the webhook again on failure"),
            ["app/webhook.py"]
        );
    }

    /// The old matcher took stop words out of single words but not out of
    /// names of several words, so "files" came back as a defined name.
    #[test]
    fn a_stop_word_does_not_come_back_through_names() {
        let p = sources(
            &[
                (
                    "app/storage.py",
                    "def files(self):\n    pass\ndef list_files(self):\n    pass\n",
                ),
                ("app/thumbnails.py", "def thumbnail(image):\n    pass\n"),
            ],
            &[],
        );
        let index = MatchIndex::new(&p);
        assert_eq!(
            chosen(&index, "Generate thumbnails for the uploaded files"),
            ["app/thumbnails.py"]
        );
        assert!(
            spelled_names("the uploaded files")
                .iter()
                .all(|(k, _)| !k.contains("files"))
        );
    }

    /// The old matcher divided a word's weight by the number of files having
    /// it and then required a fixed minimum, so a common key word found nothing.
    #[test]
    fn a_key_word_in_several_files_still_finds_files() {
        let p = project(&[
            "a/parser.py",
            "b/parser.py",
            "c/parser.py",
            "d/parser.py",
            "e/parser.py",
            "f/lexer.py",
        ]);
        let index = MatchIndex::new(&p);
        let (picks, candidates) = index.matches("Speed up the parser");
        assert!(!picks.is_empty());
        assert_eq!(picks.len() + candidates.len(), 5);
    }

    #[test]
    fn a_name_written_whole_keeps_its_stop_words() {
        let p = sources(
            &[
                (
                    "http/models.py",
                    "class Response:\n    def raise_for_status(self):\n        pass\n",
                ),
                (
                    "http/errors.py",
                    "class StatusError:\n    def raise_error(self, status):\n        pass\n",
                ),
            ],
            &[],
        );
        let index = MatchIndex::new(&p);
        let (picks, _) = index.matches("Put the body in what raise_for_status raises");
        assert_eq!(picks[0].path, "http/models.py", "{picks:?}");
    }

    /// Only a clear best match (or given files) is strong evidence: a second
    /// guess shared with another task makes a medium conflict, not a high one.
    #[test]
    fn only_a_clear_best_match_is_strong() {
        let p = sources(
            &[
                (
                    "net/limits.py",
                    "class RateLimiter:\n    def allow(self):\n        pass\n",
                ),
                (
                    "net/fair_rate.py",
                    "def rate(limiter):\n    return limiter.rate(limiter.fair)\n",
                ),
                ("net/util.py", "def slugify(text):\n    pass\n"),
            ],
            &[],
        );
        let index = MatchIndex::new(&p);
        let graph = DepGraph::build(&p);
        let task = TaskInput {
            description: "Make the rate limiter fair".into(),
            files: None,
        };
        let found = task_files(&task, &index, &graph);
        assert_eq!(
            found.files,
            ["net/fair_rate.py", "net/limits.py"],
            "{found:?}"
        );
        assert_eq!(found.strong, ["net/limits.py"]);
        let given = TaskInput {
            files: Some(vec!["net/fair_rate.py".into(), "net/limits.py".into()]),
            ..task
        };
        assert_eq!(
            task_files(&given, &index, &graph).strong,
            ["net/fair_rate.py", "net/limits.py"]
        );
        // Two files the task matches equally: a toss-up, neither is strong.
        let p = project(&["a/parser.py", "b/parser.py", "c/lexer.py"]);
        let index = MatchIndex::new(&p);
        let task = TaskInput {
            description: "Speed up the parser".into(),
            files: None,
        };
        let found = task_files(&task, &index, &DepGraph::build(&p));
        assert_eq!(found.files, ["a/parser.py", "b/parser.py"]);
        assert!(found.strong.is_empty(), "{found:?}");
    }

    #[test]
    fn a_name_of_several_words_finds_the_file_defining_it() {
        let p = sources(
            &[
                (
                    "net/limits.py",
                    "class RateLimiter:\n    def allow(self):\n        pass\n",
                ),
                ("net/rate.py", "def rate():\n    pass\n"),
                ("net/limit.py", "def limit():\n    pass\n"),
            ],
            &[],
        );
        let index = MatchIndex::new(&p);
        let (picks, _) = index.matches("Make the rate limiter fair");
        assert_eq!(picks[0].path, "net/limits.py", "{picks:?}");
    }

    /// A task adding a public type edits the file that re-exports the
    /// module's names too; a type that already exists is not new.
    #[test]
    fn a_new_public_type_is_exported_from_the_package() {
        let p = sources(
            &[
                (
                    "net/__init__.py",
                    "from .errors import ProtocolError\n__all__ = [\"ProtocolError\"]\n",
                ),
                (
                    "net/errors.py",
                    "class ProtocolError(Exception):\n    \"\"\"The peer broke the protocol.\"\"\"\n",
                ),
                ("net/util.py", "def slugify(text):\n    pass\n"),
            ],
            &[],
        );
        let index = MatchIndex::new(&p);
        let graph = DepGraph::build(&p);
        let task = |description: &str| TaskInput {
            description: description.into(),
            files: None,
        };
        let found = task_files(
            &task("Raise a dedicated BadFrameError, a subclass of ProtocolError, on a bad frame"),
            &index,
            &graph,
        );
        assert_eq!(
            found.files,
            ["net/__init__.py", "net/errors.py"],
            "{found:?}"
        );
        assert_eq!(found.strong, ["net/errors.py"]);
        assert_eq!(
            found.picks[1].reason(),
            format!("exports BadFrameError:{:.0}", found.picks[1].score)
        );
        // Only a type nobody defines yet is new; a constant is not a type.
        let found = task_files(
            &task("Make ProtocolError say which frame was bad"),
            &index,
            &graph,
        );
        assert_eq!(found.files, ["net/errors.py"], "{found:?}");
        let found = task_files(
            &task("Raise ProtocolError when NO_PROXY is malformed"),
            &index,
            &graph,
        );
        assert!(
            !found.files.contains(&"net/__init__.py".to_owned()),
            "{found:?}"
        );
    }
}
