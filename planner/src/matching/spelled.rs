//! What a task's text spells: names of several words, paths, and the words
//! as written (for the reasons a person reads).

use std::collections::HashMap;

use crate::lex::terms;

/// The word as the task wrote it, for a reason a person reads.
pub(super) fn shown_word(
    at: usize,
    query: &[String],
    shown: &HashMap<String, String>,
) -> Option<String> {
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
pub(super) fn shown_words(description: &str) -> HashMap<String, String> {
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
pub(super) fn spelled_names(description: &str) -> Vec<(String, String)> {
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
pub(super) fn mentioned_paths(description: &str) -> impl Iterator<Item = &str> {
    description
        .split_whitespace()
        .map(trim_punctuation)
        .filter(|m| m.contains('/') || m.contains('.'))
        .map(|m| m.trim_start_matches("./"))
        .filter(|m| !m.is_empty())
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
    use crate::matching::MatchIndex;
    use crate::matching::testing::{chosen, sources};

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
}
