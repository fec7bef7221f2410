//! An analysis as the planner model reads it (`analyze_task_conflicts`'
//! answer): each task's files with why, the files tasks share, the groups.

use ccmulti_model::tools::plan::{AnalysisReply, AnalysisSummary, SharedFiles, TaskSummary};
use serde_json::{Map, Value};

use crate::analysis::{Analysis, AnalyzedTask, ConflictReport, FileReason, short_id};

/// Conflicts listed in a summary; the rest are counted, so a big plan stays readable.
const MAX_CONFLICTS_SHOWN: usize = 30;

/// What the planner model is asked to do with a lexical guess.
const NEXT_STEP: &str = "Check files and candidates with your own search; fix wrong ones by calling again with {description, files}; then";

impl Analysis {
    /// The analysis as the planner reads it: each task's files with why, the
    /// candidates below the cut, the files tasks share, the groups that must
    /// share an agent. Import links are only counted here: in a real project
    /// most tasks meet through a central module, and create_task_distribution
    /// turns them into one note per pair of agents.
    pub fn summary(&self) -> AnalysisSummary {
        let shared: Vec<&ConflictReport> = self
            .conflicts
            .iter()
            .filter(|c| c.kind == "shared_files")
            .collect();
        AnalysisSummary {
            analysis_id: self.analysis_id.clone(),
            recommended_agent_count: self.recommended_agent_count,
            tasks: self.tasks.iter().map(AnalyzedTask::summary).collect(),
            shared_files: shared
                .iter()
                .take(MAX_CONFLICTS_SHOWN)
                .map(|c| SharedFiles {
                    tasks: [
                        short_id(&c.tasks[0]).to_owned(),
                        short_id(&c.tasks[1]).to_owned(),
                    ],
                    files: c.files.clone(),
                    weak: c.severity != "high",
                })
                .collect(),
            shared_files_not_listed: (shared.len() > MAX_CONFLICTS_SHOWN)
                .then(|| shared.len() - MAX_CONFLICTS_SHOWN),
            import_links: self.conflicts.len() - shared.len(),
            groups: self
                .groups
                .iter()
                .filter(|g| g.len() > 1)
                .map(|g| g.iter().map(|id| short_id(id).to_owned()).collect())
                .collect(),
            project: self.project.clone(),
        }
    }

    /// What `analyze_task_conflicts` answers: the summary, and what to do next.
    pub fn reply(&self) -> AnalysisReply {
        AnalysisReply {
            success: true,
            summary: self.summary(),
            next: NEXT_STEP.to_owned(),
        }
    }
}

impl AnalyzedTask {
    /// Files and candidates as `{path: why}`; given files say so.
    fn summary(&self) -> TaskSummary {
        let reasons = |list: &[FileReason]| -> Map<String, Value> {
            list.iter()
                .map(|r| (r.path.clone(), Value::String(r.why.clone())))
                .collect()
        };
        let files = if self.files_given {
            self.files
                .iter()
                .map(|f| (f.clone(), Value::String("given".into())))
                .collect()
        } else {
            reasons(&self.reasons)
        };
        TaskSummary {
            task_id: self.task_id.clone(),
            files,
            candidates: reasons(&self.candidates),
        }
    }
}
