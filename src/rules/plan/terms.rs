//! Words for matching tasks to code: identifiers split at `snake_case` and
//! `camelCase`, lowercased and stemmed (Snowball English, from `rust-stemmers`,
//! so "merged", "merging" and `merge_base` meet at one root), with noise left out.

use std::collections::HashMap;
use std::sync::LazyLock;

use rust_stemmers::{Algorithm, Stemmer};

static STEMMER: LazyLock<Stemmer> = LazyLock::new(|| Stemmer::create(Algorithm::English));

/// Words too common in English or in tasks to say which file a task touches.
/// A task's verbs (add, fix, support) describe the work, not the place.
const QUERY_STOPWORDS: &[&str] = &[
    "the",
    "and",
    "for",
    "with",
    "into",
    "from",
    "that",
    "this",
    "these",
    "those",
    "add",
    "adds",
    "fix",
    "fixes",
    "make",
    "makes",
    "new",
    "use",
    "uses",
    "using",
    "used",
    "should",
    "must",
    "support",
    "supports",
    "file",
    "files",
    "code",
    "all",
    "any",
    "when",
    "then",
    "than",
    "also",
    "update",
    "implement",
    "create",
    "change",
    "changes",
    "improve",
    "refactor",
    "write",
    "move",
    "remove",
    "its",
    "their",
    "they",
    "them",
    "not",
    "but",
    "are",
    "was",
    "were",
    "can",
    "cannot",
    "will",
    "would",
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
    "has",
    "have",
    "had",
    "been",
    "being",
    "there",
    "here",
    "which",
    "what",
    "where",
    "who",
    "how",
    "why",
    "does",
    "doesn",
    "don",
    "only",
    "just",
    "like",
    "instead",
    "other",
    "same",
    "some",
    "such",
    "via",
    "per",
    "one",
    "two",
    "more",
    "most",
    "less",
    "after",
    "before",
    "while",
    "about",
    "over",
    "under",
    "without",
    "within",
    "between",
    "across",
    "it's",
    "into",
    "onto",
    "too",
    "very",
    "now",
    "yet",
    "still",
    "even",
    "ever",
    "never",
    "always",
    "both",
    "either",
    "own",
    "let",
    "way",
    "ways",
    "case",
    "cases",
    "thing",
    "things",
    "able",
    "allow",
    "allows",
    "given",
    "gives",
    "get",
    "gets",
    "set",
    "sets",
    "work",
    "works",
    "correct",
    "correctly",
    "properly",
    "right",
    "wrong",
    "currently",
    "current",
    "already",
    "again",
    "once",
    "user",
    "users",
    "option",
    "options",
    "behaviour",
    "behavior",
    "instead",
    "them",
    "you",
    "your",
    "his",
    "her",
    "him",
    "she",
    "because",
    "since",
    "until",
    "unless",
    "though",
    "whether",
    "may",
    "might",
    "could",
    "need",
    "needs",
    "want",
    "wants",
    "bug",
    "issue",
    "feature",
    "proper",
];

/// Words too common in any source text to be worth indexing.
const DOCUMENT_STOPWORDS: &[&str] = &[
    "the", "and", "for", "with", "that", "this", "from", "are", "was", "not", "but", "you", "its",
    "can", "will", "self", "return", "returns", "let", "var", "func", "def", "pub", "use",
    "import", "const", "true", "false", "none", "null", "nil", "else", "elif",
];

/// The stem of one lowercase word.
pub fn stem(word: &str) -> String {
    STEMMER.stem(word).into_owned()
}

/// The parts of one identifier, lowercase: `parseHTTPResponse` → parse, http,
/// response; `merge_base` → merge, base. A dunder (`__call__`) is Python's
/// protocol, not a word the task could mean, so it has no parts.
pub fn identifier_parts(ident: &str) -> Vec<String> {
    if is_dunder(ident) {
        return Vec::new();
    }
    let chars: Vec<char> = ident.chars().collect();
    let mut out = Vec::new();
    let mut current = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_alphanumeric() {
            if !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
            continue;
        }
        let prev = i.checked_sub(1).map(|p| chars[p]);
        let next = chars.get(i + 1).copied();
        let boundary = c.is_uppercase()
            && prev.is_some_and(|p| {
                p.is_lowercase()
                    || p.is_ascii_digit()
                    || (p.is_uppercase() && next.is_some_and(char::is_lowercase))
            });
        if boundary && !current.is_empty() {
            out.push(std::mem::take(&mut current));
        }
        current.extend(c.to_lowercase());
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// `__init__`, `__call__`: names the language calls, not ones a person chose.
pub fn is_dunder(ident: &str) -> bool {
    ident.len() > 4 && ident.starts_with("__") && ident.ends_with("__")
}

fn is_identifier_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The identifiers of a text, as written (`load_config`, `RateLimiter`).
pub fn identifiers(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !is_identifier_char(c))
        .filter(|w| !w.is_empty())
}

fn keep(word: &str, stopwords: &[&str]) -> bool {
    word.len() >= 3 && !word.chars().all(|c| c.is_ascii_digit()) && !stopwords.contains(&word)
}

/// A task's words, stemmed, in order, each once; stop words are gone before
/// anything else sees them, names of several words included.
pub fn query(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for part in identifiers(text).flat_map(identifier_parts) {
        if keep(&part, QUERY_STOPWORDS) {
            let s = stem(&part);
            if !out.contains(&s) {
                out.push(s);
            }
        }
    }
    out
}

/// Lowercase words of a task before stemming, in order (for ids and reasons).
pub fn plain_words(text: &str) -> Vec<String> {
    identifiers(text)
        .flat_map(identifier_parts)
        .filter(|w| keep(w, QUERY_STOPWORDS))
        .collect()
}

/// Whether a lowercase word is a stop word of task text.
pub fn is_query_stopword(word: &str) -> bool {
    QUERY_STOPWORDS.contains(&word)
}

/// Every stemmed word of a source text (identifiers, comments, strings) with
/// its count, sorted by word. Each distinct spelling is stemmed once.
pub fn document(text: &str) -> Vec<(String, u32)> {
    let mut raw: HashMap<String, u32> = HashMap::new();
    for ident in identifiers(text) {
        for part in identifier_parts(ident) {
            if keep(&part, DOCUMENT_STOPWORDS) {
                *raw.entry(part).or_insert(0) += 1;
            }
        }
    }
    let mut stems: HashMap<String, u32> = HashMap::with_capacity(raw.len());
    for (word, n) in raw {
        *stems.entry(stem(&word)).or_insert(0) += n;
    }
    let mut out: Vec<(String, u32)> = stems.into_iter().collect();
    out.sort_unstable();
    out
}

/// A name of several words as one key: `vat_rate`, `VatRate` → `vatrate`.
/// Dunders have none.
pub fn name_key(ident: &str) -> Option<String> {
    let parts = identifier_parts(ident);
    (parts.len() >= 2).then(|| parts.concat())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_split_at_case_and_underscores() {
        assert_eq!(
            identifier_parts("parseHTTPResponse"),
            ["parse", "http", "response"]
        );
        assert_eq!(identifier_parts("merge_base"), ["merge", "base"]);
        assert_eq!(identifier_parts("RateLimiter"), ["rate", "limiter"]);
        assert!(identifier_parts("__call__").is_empty());
        assert_eq!(name_key("vat_rate"), name_key("VatRate"));
        assert_eq!(name_key("files"), None);
    }

    #[test]
    fn inflections_meet_at_one_root() {
        assert_eq!(query("merged"), query("merge"));
        assert_eq!(query("retries"), query("retry"));
        assert_eq!(query("Sessions"), query("session"));
    }

    #[test]
    fn stop_words_never_reach_matching() {
        assert_eq!(query("Add the files to the code"), Vec::<String>::new());
        assert_eq!(query("list_files"), [stem("list")]);
    }

    #[test]
    fn documents_count_stemmed_words() {
        let doc = document("def merge_base(self):\n    # merging happens here\n    merged = 1\n");
        let merge = doc.iter().find(|(w, _)| w == "merg").map(|(_, n)| *n);
        assert_eq!(merge, Some(3), "{doc:?}");
        assert!(doc.iter().all(|(w, _)| w != "self"));
    }
}
