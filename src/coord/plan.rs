//! Planning as the service does it, once for the MCP tools and `ccmulti plan`:
//! the analysis runs off the async runtime and is kept per session, so that
//! `create_task_distribution` works from what this coordinator found; a plan
//! is recorded as `planned` tasks, with the planner registered in its session.

use std::path::PathBuf;

use super::Coordinator;
use crate::planner::{self, Analysis, Connection, Distribution};
use crate::rules::plan::TaskInput;
use crate::rules::plan::conflicts::Complexity;
use crate::rules::virtual_user::{SessionAgent, VirtualUser};
use crate::scan::ScanLimits;
use crate::store::{Result, StoreError};

impl Coordinator {
    /// Scans `root` and analyses `tasks` on a blocking thread, then keeps the
    /// analysis in `session`.
    pub async fn analyze(
        &self,
        root: PathBuf,
        session: &str,
        tasks: Vec<TaskInput>,
        project_files: Vec<String>,
        complexity: Complexity,
    ) -> Result<Analysis> {
        let analysis = tokio::task::spawn_blocking(move || {
            planner::analyze(
                &root,
                &tasks,
                &project_files,
                complexity,
                ScanLimits::default(),
            )
        })
        .await
        .map_err(|e| StoreError::Join(e.to_string()))?;
        self.keep_analysis(session, &analysis).await?;
        Ok(analysis)
    }

    /// Keeps an analysis made elsewhere (`ccmulti plan`) in `session`.
    pub async fn keep_analysis(&self, session: &str, analysis: &Analysis) -> Result<()> {
        let body =
            serde_json::to_string(analysis).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        self.store
            .save_analysis(session, &analysis.analysis_id, &body)
            .await
    }

    /// The analysis `analysis_id` made in `session`, if there is one.
    pub async fn analysis(&self, session: &str, analysis_id: &str) -> Result<Option<Analysis>> {
        match self.store.load_analysis(session, analysis_id).await? {
            None => Ok(None),
            Some(body) => serde_json::from_str(&body)
                .map(Some)
                .map_err(|e| StoreError::Corrupt(format!("analysis {analysis_id}: {e}"))),
        }
    }

    /// Deals the analysed tasks to `agents` agents and records the plan.
    pub async fn distribute(
        &self,
        conn: &Connection,
        analysis: &Analysis,
        agents: usize,
    ) -> Result<Distribution> {
        let mut plan = planner::distribute(analysis, agents, conn);
        self.record_plan(conn, analysis, &mut plan).await?;
        Ok(plan)
    }

    /// Registers the planner and records every task of `plan` as `planned`
    /// for its agent; a task an agent has already started stays with it, as
    /// the plan's notes then say. Returns those kept tasks.
    pub async fn record_plan(
        &self,
        conn: &Connection,
        analysis: &Analysis,
        plan: &mut Distribution,
    ) -> Result<Vec<String>> {
        let planner = VirtualUser {
            user_id: conn.user_id.clone(),
            session: Some(SessionAgent {
                session_id: conn.session_id.clone(),
                agent_id: "planner".into(),
            }),
        };
        self.store
            .touch_agent(&planner, &conn.url("planner"))
            .await?;
        let kept = self
            .store
            .record_plan(&conn.session_id, &plan.planned_rows(analysis))
            .await?;
        plan.note_kept(&kept);
        Ok(kept)
    }
}
