//! The first step, `analyze_task_conflicts`: tasks → files → conflicts →
//! groups → agent count, over the scanned project.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Instant;

use ccmulti_model::tools::plan::{Complexity, ProjectSummary};
use serde::{Deserialize, Serialize};

use crate::balance::task_weight;
use crate::graph::DepGraph;
use crate::lex::terms::plain_words;
use crate::matching::{MatchIndex, Pick, task_files};
use crate::overlaps;
use crate::project::{ProjectFiles, TaskInput};
use crate::scan::{ScanLimits, scan};

/// Everything `create_task_distribution` needs; stored under `analysis_id`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Analysis {
    pub analysis_id: String,
    pub complexity_level: String,
    pub tasks: Vec<AnalyzedTask>,
    pub conflicts: Vec<ConflictReport>,
    /// Task ids that must share an agent, each group in task order.
    pub groups: Vec<Vec<String>>,
    pub recommended_agent_count: usize,
    pub project: ProjectSummary,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnalyzedTask {
    pub task_id: String,
    pub description: String,
    pub files: Vec<String>,
    /// Files importing `files`: not edited, but they may break.
    pub related: Vec<String>,
    pub files_given: bool,
    /// Why each matched file was chosen, best first; empty when the files were given.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<FileReason>,
    /// The next files below the cut, best first, for the planner to confirm or swap in.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub candidates: Vec<FileReason>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileReason {
    pub path: String,
    /// The task's words that matched and the score: `"retry,session:7"`.
    pub why: String,
}

impl From<&Pick> for FileReason {
    fn from(pick: &Pick) -> Self {
        Self {
            path: pick.path.clone(),
            why: pick.reason(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConflictReport {
    pub kind: String,
    pub severity: String,
    pub tasks: [String; 2],
    pub files: Vec<String>,
}

/// Scans `root` (or only `project_files` when given) and analyses `tasks`.
pub fn analyze(
    root: &Path,
    tasks: &[TaskInput],
    project_files: &[String],
    complexity: Complexity,
    limits: ScanLimits,
) -> Analysis {
    let started = Instant::now();
    let mut project = scan(root, limits);
    if !project_files.is_empty() {
        restrict(&mut project, project_files);
    }
    let graph = DepGraph::build(&project);
    let index = MatchIndex::new(&project);
    let files: Vec<_> = tasks
        .iter()
        .map(|t| task_files(t, &index, &graph))
        .collect();
    let found = overlaps::find(&files);
    let groups = overlaps::groups(tasks.len(), &found);
    let ids: Vec<String> = tasks
        .iter()
        .enumerate()
        .map(|(i, t)| task_id(i, &t.description))
        .collect();
    let mut languages = BTreeMap::new();
    for s in &project.sources {
        *languages.entry(s.language.as_str().to_owned()).or_insert(0) += 1;
    }
    Analysis {
        analysis_id: uuid::Uuid::new_v4().to_string(),
        complexity_level: complexity.as_str().to_owned(),
        recommended_agent_count: overlaps::recommended_agents(groups.len(), complexity),
        groups: groups
            .iter()
            .map(|g| g.iter().map(|t| ids[*t].clone()).collect())
            .collect(),
        conflicts: found
            .into_iter()
            .map(|c| ConflictReport {
                kind: c.kind.as_str().to_owned(),
                severity: c.severity.as_str().to_owned(),
                tasks: [ids[c.tasks.0].clone(), ids[c.tasks.1].clone()],
                files: c.files,
            })
            .collect(),
        tasks: tasks
            .iter()
            .zip(files)
            .zip(&ids)
            .map(|((t, f), id)| AnalyzedTask {
                task_id: id.clone(),
                description: t.description.clone(),
                reasons: f.picks.iter().map(FileReason::from).collect(),
                candidates: f.candidates.iter().map(FileReason::from).collect(),
                files: f.files,
                related: f.related,
                files_given: f.given,
            })
            .collect(),
        project: ProjectSummary {
            files_scanned: project.files.len(),
            source_files: project.sources.len(),
            languages,
            import_edges: graph.edge_count(),
            elapsed_ms: started.elapsed().as_millis() as u64,
            stopped_early: project.stopped_early,
        },
    }
}

/// The planner named the files that matter; the rest of the tree is noise.
fn restrict(project: &mut ProjectFiles, keep: &[String]) {
    let keep: BTreeSet<&str> = keep.iter().map(String::as_str).collect();
    project.files.retain(|f| keep.contains(f.as_str()));
    project.sources.retain(|s| keep.contains(s.path.as_str()));
    let present: BTreeSet<String> = project.files.iter().cloned().collect();
    project.files.extend(
        keep.iter()
            .filter(|k| !present.contains(**k))
            .map(|k| (*k).to_owned()),
    );
    project.files.sort_unstable();
}

/// `T3-export-invoices-as-pdf`: readable on the dashboard, unique within a plan.
pub fn task_id(index: usize, description: &str) -> String {
    let mut slug = String::new();
    for word in plain_words(description) {
        if slug.len() + word.len() + 1 > 32 {
            break;
        }
        slug.push('-');
        slug.push_str(&word);
    }
    format!("T{}{slug}", index + 1)
}

impl AnalyzedTask {
    /// How much work the task is, for balancing agents.
    pub fn weight(&self) -> f64 {
        task_weight(self.files.len())
    }
}

impl Analysis {
    /// The agents asked for, or the recommended number.
    pub fn agent_count(&self, asked: Option<usize>) -> usize {
        asked.unwrap_or(self.recommended_agent_count)
    }

    pub fn task(&self, id: &str) -> Option<&AnalyzedTask> {
        self.tasks.iter().find(|t| t.task_id == id)
    }
}

/// `T4` of `T4-malformed-location-header`: a plan names each task once in full.
pub(crate) fn short_id(id: &str) -> &str {
    id.split_once('-').map_or(id, |(n, _)| n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_ids_are_short_and_numbered() {
        assert_eq!(
            task_id(0, "Add rate limiting to the login endpoint"),
            "T1-rate-limiting-login-endpoint"
        );
        assert_eq!(task_id(9, "!!!"), "T10");
    }
}
