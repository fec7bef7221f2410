//! The file dependency graph: an edge from a file to each project file it imports.

use std::collections::{BTreeSet, HashMap};

mod resolve;

use crate::ProjectFiles;
use resolve::Resolver;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DepGraph {
    /// file → the project files it imports.
    imports: HashMap<String, BTreeSet<String>>,
    /// file → the project files that import it.
    importers: HashMap<String, BTreeSet<String>>,
}

impl DepGraph {
    pub fn build(project: &ProjectFiles) -> Self {
        let resolver = Resolver::new(project);
        let mut graph = Self::default();
        for source in &project.sources {
            for import in &source.imports {
                for target in resolver.resolve(source, import) {
                    graph.add(&source.path, target);
                }
            }
        }
        graph
    }

    fn add(&mut self, from: &str, to: String) {
        self.importers
            .entry(to.clone())
            .or_default()
            .insert(from.to_owned());
        self.imports.entry(from.to_owned()).or_default().insert(to);
    }

    pub fn imports_of(&self, file: &str) -> impl Iterator<Item = &str> {
        self.imports
            .get(file)
            .into_iter()
            .flatten()
            .map(String::as_str)
    }

    pub fn importers_of(&self, file: &str) -> impl Iterator<Item = &str> {
        self.importers
            .get(file)
            .into_iter()
            .flatten()
            .map(String::as_str)
    }

    pub fn edge_count(&self) -> usize {
        self.imports.values().map(BTreeSet::len).sum()
    }

    /// Every edge, sorted, for reports and tests.
    pub fn edges(&self) -> BTreeSet<(&str, &str)> {
        self.imports
            .iter()
            .flat_map(|(from, tos)| tos.iter().map(move |to| (from.as_str(), to.as_str())))
            .collect()
    }
}
