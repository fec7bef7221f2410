//! Words for matching tasks to code: identifiers split at `snake_case` and
//! `camelCase`, lowercased and stemmed (Snowball English, from `rust-stemmers`,
//! so "merged", "merging" and `merge_base` meet at one root), with noise left out.

use std::collections::HashMap;
use std::sync::LazyLock;

use rust_stemmers::{Algorithm, Stemmer};

use crate::Language;

static STEMMER: LazyLock<Stemmer> = LazyLock::new(|| Stemmer::create(Algorithm::English));

/// Words too common in English or in tasks to say which file a task touches.
/// A task's verbs (add, fix, support) describe the work, not the place.
#[rustfmt::skip]
const QUERY_STOPWORDS: &[&str] = &[
    "the", "and", "for", "with", "into", "from", "that", "this", "these", "those", "add",
    "adds", "fix", "fixes", "make", "makes", "new", "use", "uses", "using", "used", "should",
    "must", "support", "supports", "file", "files", "code", "all", "any", "when", "then",
    "than", "also", "update", "implement", "create", "change", "changes", "improve", "refactor",
    "write", "move", "remove", "its", "their", "they", "them", "not", "but", "are", "was",
    "were", "can", "cannot", "will", "would", "each", "every", "out", "our", "src", "lib",
    "mod", "index", "main", "init", "pkg", "internal", "cmd", "has", "have", "had", "been",
    "being", "there", "here", "which", "what", "where", "who", "how", "why", "does", "doesn",
    "don", "only", "just", "like", "instead", "other", "same", "some", "such", "via", "per",
    "one", "two", "more", "most", "less", "after", "before", "while", "about", "over", "under",
    "without", "within", "between", "across", "onto", "too", "very", "now", "yet", "still",
    "even", "ever", "never", "always", "both", "either", "own", "let", "way", "ways", "case",
    "cases", "thing", "things", "able", "allow", "allows", "given", "gives", "get", "gets",
    "set", "sets", "work", "works", "correct", "correctly", "properly", "right", "wrong",
    "currently", "current", "already", "again", "once", "user", "users", "option", "options",
    "behaviour", "behavior", "you", "your", "his", "her", "him", "she", "because", "since",
    "until", "unless", "though", "whether", "may", "might", "could", "need", "needs", "want",
    "wants", "bug", "feature", "proper",
];

/// Words too common in any source text to be worth indexing.
#[rustfmt::skip]
const DOCUMENT_STOPWORDS: &[&str] = &[
    "the", "and", "for", "with", "that", "this", "from", "are", "was", "not", "but", "you",
    "its", "can", "will", "self", "return", "returns", "let", "var", "func", "def", "pub",
    "use", "import", "const", "true", "false", "none", "null", "nil", "else", "elif",
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
    let words = query_words(text);
    let mut out = words.clone();
    // Two words in a row may be one name in the code: "idle timeout" is `idle_timeout`.
    for pair in words.windows(2) {
        let phrase = phrase(&pair[0], &pair[1]);
        if !out.contains(&phrase) {
            out.push(phrase);
        }
    }
    out
}

/// The single words of a task, stemmed, in order, each once.
pub fn query_words(text: &str) -> Vec<String> {
    query_words_with(text, &mut Stems::default())
}

/// `query_words` with stems remembered across calls, for indexing many paths.
pub fn query_words_with(text: &str, stems: &mut Stems) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for part in identifiers(text).flat_map(identifier_parts) {
        if keep(&part, QUERY_STOPWORDS) {
            let s = stems.of(part);
            if !out.contains(&s) {
                out.push(s);
            }
        }
    }
    out
}

/// Stems already computed: a project repeats its words in every path and name.
#[derive(Debug, Default)]
pub struct Stems(HashMap<String, String>);

impl Stems {
    pub fn of(&mut self, word: String) -> String {
        self.0.entry(word).or_insert_with_key(|w| stem(w)).clone()
    }
}

/// Two stemmed words as the one term a name made of them is indexed under.
pub fn phrase(first: &str, second: &str) -> String {
    format!("{first}_{second}")
}

/// A phrase term as a person reads it: `idl_timeout` → "idl timeout".
pub fn is_phrase(term: &str) -> bool {
    term.contains('_')
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

/// One stemmed word of a file: how often in code, how often in comments and strings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TermCount {
    pub word: String,
    pub code: u32,
    pub prose: u32,
}

/// Every stemmed word of a source text with its counts in code and in prose
/// (comments, strings), sorted by word. Each distinct spelling is stemmed once.
pub fn document(language: Language, text: &str) -> Vec<TermCount> {
    let mut raw: HashMap<&str, (u32, u32)> = HashMap::new();
    for (piece, is_code) in lexed(language, text) {
        for ident in identifiers(piece) {
            let slot = raw.entry(ident).or_insert((0, 0));
            if is_code {
                slot.0 += 1;
            } else {
                slot.1 += 1;
            }
        }
    }
    let mut stems: HashMap<String, (u32, u32)> = HashMap::with_capacity(raw.len());
    let mut memo = Stems::default();
    for (ident, (code, prose)) in raw {
        let mut previous: Option<String> = None;
        for part in identifier_parts(ident) {
            if !keep(&part, DOCUMENT_STOPWORDS) {
                continue;
            }
            let stemmed = memo.of(part);
            // Adjacent words of one name are indexed as a phrase too.
            if let Some(before) = previous.replace(stemmed.clone()) {
                let slot = stems.entry(phrase(&before, &stemmed)).or_insert((0, 0));
                slot.0 += code;
                slot.1 += prose;
            }
            let slot = stems.entry(stemmed).or_insert((0, 0));
            slot.0 += code;
            slot.1 += prose;
        }
    }
    let mut out: Vec<TermCount> = stems
        .into_iter()
        .map(|(word, (code, prose))| TermCount { word, code, prose })
        .collect();
    out.sort_unstable_by(|a, b| a.word.cmp(&b.word));
    out
}

/// The text cut into code and prose (comments and string literals), with a
/// small lexer per language: enough to tell a name from a sentence, not to parse.
fn lexed(language: Language, text: &str) -> Vec<(&str, bool)> {
    fn push<'t>(text: &'t str, from: usize, to: usize, code: bool, out: &mut Vec<(&'t str, bool)>) {
        if let Some(piece) = text.get(from..to).filter(|p| !p.is_empty()) {
            out.push((piece, code));
        }
    }
    let line_comment: &[u8] = match language {
        Language::Python => b"#",
        _ => b"//",
    };
    let block_comments = language != Language::Python;
    let quotes: &[u8] = match language {
        // A Rust `'` is more often a lifetime than a character.
        Language::Rust => b"\"",
        Language::Python => b"\"'",
        Language::JavaScript => b"\"'`",
        Language::Go => b"\"`",
    };
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let (mut i, mut start) = (0, 0);
    while i < bytes.len() {
        let rest = &bytes[i..];
        let (end, skip) = if rest.starts_with(line_comment) {
            let len = rest.iter().position(|b| *b == b'\n').unwrap_or(rest.len());
            (i + len, line_comment.len())
        } else if block_comments && rest.starts_with(b"/*") {
            let len = find(&rest[2..], b"*/").map_or(rest.len(), |p| p + 4);
            (i + len, 2)
        } else if quotes.contains(&rest[0]) {
            let q = rest[0];
            let triple = language == Language::Python && rest.starts_with(&[q, q, q]);
            let len = if triple {
                find(&rest[3..], &[q, q, q]).map_or(rest.len(), |p| p + 6)
            } else {
                closing(rest, q)
            };
            (i + len, 1)
        } else {
            i += 1;
            continue;
        };
        push(text, start, i, true, &mut out);
        push(text, i + skip.min(end - i), end, false, &mut out);
        i = end.max(i + 1);
        start = i;
    }
    push(text, start, bytes.len(), true, &mut out);
    out
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Length of a one-line string literal starting at `s[0]` (its quote),
/// escapes skipped; an unclosed one ends at the line's end.
fn closing(s: &[u8], quote: u8) -> usize {
    let mut i = 1;
    while i < s.len() {
        match s[i] {
            b'\\' => i += 2,
            b'\n' if quote != b'`' => return i,
            c if c == quote => return i + 1,
            _ => i += 1,
        }
    }
    s.len()
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
    fn documents_count_stemmed_words_in_code_and_prose() {
        let doc = document(
            Language::Python,
            "def merge_base(self):\n    # merging happens here\n    merged = \"merge it\"\n",
        );
        let merge = doc.iter().find(|t| t.word == "merg");
        assert_eq!(merge.map(|t| (t.code, t.prose)), Some((2, 2)), "{doc:?}");
        assert!(doc.iter().all(|t| t.word != "self"));
        let rust = document(
            Language::Rust,
            "/* block idle */ fn pool<'a>(x: &'a str) { let s = \"keep \\\" alive\"; } // evict\n",
        );
        let prose: Vec<&str> = rust
            .iter()
            .filter(|t| t.prose > 0)
            .map(|t| t.word.as_str())
            .collect();
        assert_eq!(prose, ["aliv", "block", "evict", "idl", "keep"], "{rust:?}");
        assert!(rust.iter().any(|t| t.word == "pool" && t.code == 1));
    }
}
