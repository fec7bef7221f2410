//! The index a task's words are looked up in, built once per analysis: each
//! file's stemmed words from its body (code counting more than prose), its
//! path (its own name counting most) and the names it defines.

use std::collections::{BTreeSet, HashMap};

use crate::filekind::{self, FileKind};
use crate::lex::terms::{self, Stems};
use crate::project::{ProjectFiles, SourceFile};

/// A word in the file's own name says more than any count of it inside.
const NAME_WEIGHT: f64 = 2.0;
/// The directory a file is in names its module; those further up, its area.
const PARENT_WEIGHT: f64 = 1.0;
const DIR_WEIGHT: f64 = 0.5;
/// A word in a comment or string counts this much of one in code.
const PROSE_WEIGHT: f64 = 0.25;

pub(super) struct Doc<'a> {
    pub(super) path: &'a str,
    pub(super) kind: FileKind,
    /// Words in the body (0 for files not read).
    pub(super) len: u32,
}

/// Every file's words, built once per analysis.
pub struct MatchIndex<'a> {
    pub(super) docs: Vec<Doc<'a>>,
    /// stemmed word → (doc, count in the body, prose counting part).
    pub(super) body: HashMap<String, Vec<(u32, f32)>>,
    /// stemmed word → (doc, weight of where in the path it is).
    pub(super) path: HashMap<String, Vec<(u32, f64)>>,
    /// stemmed word → docs defining a name with that word.
    pub(super) defines: HashMap<String, Vec<u32>>,
    /// a name of several words, joined lowercase → docs defining it.
    pub(super) names: HashMap<String, Vec<u32>>,
    pub(super) read_docs: usize,
    pub(super) average_len: f64,
}

impl<'a> MatchIndex<'a> {
    pub fn new(project: &'a ProjectFiles) -> Self {
        let sources: HashMap<&str, &SourceFile> = project
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
}

/// The stemmed words of a path part, each with the weight of that part.
fn path_words(part: &str, weight: f64, stems: &mut Stems) -> Vec<(String, f64)> {
    terms::query_words_with(part, stems)
        .into_iter()
        .map(|w| (w, weight))
        .collect()
}

/// Fixtures and vendored code stand in for other projects; a task names this one.
pub(super) fn is_sample_data(path: &str) -> bool {
    path.split('/').any(|dir| {
        matches!(
            dir,
            "fixtures" | "testdata" | "test-data" | "vendor" | "third_party" | "node_modules"
        )
    })
}
