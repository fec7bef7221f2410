//! Ranking the files for one task: BM25 over the words of the files' bodies,
//! plus their paths, the names they define, names of several words the task
//! spells (`RateLimiter`, "rate limiter") and paths it spells out. Source
//! outranks tests, docs and examples; the best files down to a share of the
//! best are chosen, the next few offered as candidates.

use std::collections::HashMap;

use super::index::MatchIndex;
use super::spelled::{mentioned_paths, shown_word, shown_words, spelled_names};
use crate::filekind::FileKind;
use crate::lex::terms;

/// At most this many files are taken from a description; more is a guess, not a plan.
const MAX_MATCHED_FILES: usize = 2;
/// Words that explain a file's score, strongest first.
const REASON_WORDS: usize = 2;
/// Files below the cut offered to the planner.
const MAX_CANDIDATES: usize = 3;
/// BM25's usual constants: term frequency saturates, long files are discounted.
const K1: f64 = 1.2;
const B: f64 = 0.75;
const DEFINES_WEIGHT: f64 = 0.8;
/// A name of several words the task spells, defined in one of few files.
const NAME_KEY_BONUS: f64 = 4.0;
const MENTION_BONUS: f64 = 50.0;
/// A name defined in more files than this says nothing about which one.
const MAX_FILES_PER_NAME: usize = 3;
/// A file below the cut is offered while it scores this share of the best.
const CANDIDATE_SHARE: f64 = 0.4;
/// A further file is chosen when it scores this share of the best.
pub(super) const KEEP_SHARE: f64 = 0.5;

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

impl MatchIndex<'_> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matching::index::is_sample_data;
    use crate::matching::testing::{chosen, project, sources};

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
}
