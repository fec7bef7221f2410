//! Both steps at once, for callers that keep nothing in between: analyse the
//! tasks, then deal them to the agents asked for (or the recommended number).

use std::path::PathBuf;

use ccmulti_model::tools::plan::{Complexity, Distribution};

use crate::analysis::{Analysis, analyze};
use crate::distribution::{Connection, distribute};
use crate::project::TaskInput;
use crate::scan::ScanLimits;

/// What to plan: the tasks, the project they are in, and for how many agents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanRequest {
    /// The project to scan.
    pub root: PathBuf,
    pub tasks: Vec<TaskInput>,
    /// Analyse only these files (relative to `root`); empty scans the project.
    pub project_files: Vec<String>,
    pub complexity: Complexity,
    /// Agents to deal the tasks to (2 to 5, checked by the caller); `None`
    /// takes the analysis's recommendation.
    pub agents: Option<usize>,
}

impl PlanRequest {
    /// Every file of the project, at the default complexity and the recommended agent count.
    pub fn new(root: PathBuf, tasks: Vec<TaskInput>) -> Self {
        Self {
            root,
            tasks,
            project_files: Vec::new(),
            complexity: Complexity::default(),
            agents: None,
        }
    }

    /// The first step (scans the project: blocking I/O within the scan's budget).
    pub fn analyze(&self) -> Analysis {
        analyze(
            &self.root,
            &self.tasks,
            &self.project_files,
            self.complexity,
            ScanLimits::default(),
        )
    }

    /// The second step over `analysis`, at the agent count asked for or recommended.
    pub fn distribute(&self, analysis: &Analysis, conn: &Connection) -> Distribution {
        distribute(analysis, analysis.agent_count(self.agents), conn)
    }
}

/// A plan: the analysis and the distribution made from it.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub analysis: Analysis,
    pub distribution: Distribution,
}

/// Analyses and distributes, recording nothing: for a plan that is shown
/// before anything is made, and recorded later (or, in a dry run, never).
pub fn plan(request: &PlanRequest, conn: &Connection) -> Plan {
    let analysis = request.analyze();
    let distribution = request.distribute(&analysis, conn);
    Plan {
        analysis,
        distribution,
    }
}
