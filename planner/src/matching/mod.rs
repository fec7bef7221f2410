//! Which files a task will likely touch, ranked by what the code says
//! (`rank`, over the words `index` holds for each file); a task adding a new
//! public type also edits the file re-exporting it (`exports`). Each chosen
//! file says why, and the next few below the cut are offered as candidates
//! so the planner can swap them in.

use std::collections::BTreeSet;

use crate::graph::DepGraph;
use crate::project::TaskInput;

mod exports;
mod index;
mod rank;
mod spelled;

pub use index::MatchIndex;
pub use rank::Pick;

/// Files importing a task's files, listed so conflicts at one remove show.
const MAX_RELATED_FILES: usize = 20;
/// When the next file scores within a tenth of the best, which of the two the
/// task is about is a toss-up, so neither is strong evidence of a collision.
const TOSS_UP_SHARE: f64 = 0.9;

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
            if let Some(export) = exports::exporting_pick(&task.description, &picks, index, graph) {
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

/// Projects built in memory for the tests of this module's parts.
#[cfg(test)]
mod testing {
    use super::MatchIndex;
    use crate::lex::{imports, symbols, terms};
    use crate::project::{Language, ProjectFiles, SourceFile};

    pub fn project(files: &[&str]) -> ProjectFiles {
        ProjectFiles {
            files: files.iter().map(|f| (*f).to_owned()).collect(),
            ..ProjectFiles::default()
        }
    }

    /// A project of Python files with these texts (and any plain files).
    pub fn sources(texts: &[(&str, &str)], plain: &[&str]) -> ProjectFiles {
        let mut p = project(plain);
        for (path, text) in texts {
            p.files.push((*path).to_owned());
            p.sources.push(SourceFile {
                path: (*path).to_owned(),
                language: Language::Python,
                imports: imports::extract(Language::Python, text),
                symbols: symbols::defined(Language::Python, text),
                terms: terms::document(Language::Python, text),
            });
        }
        p.files.sort();
        p
    }

    pub fn chosen(index: &MatchIndex<'_>, task: &str) -> Vec<String> {
        index.matches(task).0.into_iter().map(|p| p.path).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matching::testing::{project, sources};

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
}
