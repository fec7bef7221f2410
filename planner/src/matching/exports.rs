//! A task adding a new public type also edits the file re-exporting its
//! module's names (`__init__.py`, `lib.rs`, `mod.rs`, `index.ts`).

use super::index::MatchIndex;
use super::rank::{KEEP_SHARE, Pick};
use crate::graph::DepGraph;
use crate::lex::terms;

/// Files that re-export a package's or crate's public names: a new public
/// type added to one of its modules is exported there too.
const EXPORTING_FILES: &[&str] = &["__init__.py", "lib.rs", "mod.rs", "index.ts", "index.js"];

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
pub(super) fn exporting_pick(
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

#[cfg(test)]
mod tests {
    use crate::graph::DepGraph;
    use crate::matching::testing::sources;
    use crate::matching::{MatchIndex, task_files};
    use crate::project::TaskInput;

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
