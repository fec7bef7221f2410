//! The planner's analyses, and planned tasks written as `planned` progress rows.

use std::collections::BTreeSet;

use ccmulti_model::PlannedTask;
use rusqlite::{OptionalExtension, params};

use super::{Result, SqliteStore, time};
use crate::rules::progress::{Replan, replan};

impl SqliteStore {
    pub fn save_analysis(&self, session: &str, analysis_id: &str, body: &str) -> Result<()> {
        let now = time::to_text(self.now_ms());
        self.write(|tx| {
            tx.prepare_cached(
                "INSERT INTO task_analyses (id, session_id, created_at, body) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![analysis_id, session, now, body])?;
            Ok(())
        })
    }

    /// The analysis, if it was made in this session.
    pub fn load_analysis(&self, session: &str, analysis_id: &str) -> Result<Option<String>> {
        self.read(|conn| {
            Ok(conn
                .prepare_cached("SELECT body FROM task_analyses WHERE id = ?1 AND session_id = ?2")?
                .query_row(params![analysis_id, session], |r| r.get(0))
                .optional()?)
        })
    }

    /// Writes the plan as `planned` rows, as [`replan`] says; returns the
    /// ids of the tasks kept with the agent that started them.
    pub fn record_plan(&self, session: &str, tasks: &[PlannedTask]) -> Result<Vec<String>> {
        let now = time::to_text(self.now_ms());
        self.write(|tx| {
            let (mut planned, mut started) = (BTreeSet::new(), BTreeSet::new());
            let mut stored = tx.prepare_cached(
                "SELECT DISTINCT task_id, status = 'planned' FROM task_progress WHERE session_id = ?1",
            )?;
            let mut rows = stored.query([session])?;
            while let Some(row) = rows.next()? {
                let task_id: String = row.get(0)?;
                if row.get::<_, bool>(1)? {
                    planned.insert(task_id);
                } else {
                    started.insert(task_id);
                }
            }
            let Replan {
                unplan,
                to_plan,
                kept,
            } = replan(tasks, &planned, &started);
            for task_id in &unplan {
                tx.prepare_cached(
                    "DELETE FROM task_progress WHERE session_id = ?1 AND task_id = ?2 AND status = 'planned'",
                )?
                .execute(params![session, task_id])?;
            }
            for task in to_plan {
                tx.prepare_cached(
                    "INSERT INTO task_progress
                       (id, session_id, agent_id, task_id, status, progress_percentage, message, affected_files, created_at, updated_at)
                     VALUES (?1, ?2, ?3, ?4, 'planned', 0, ?5, ?6, ?7, ?7)
                     ON CONFLICT (session_id, agent_id, task_id) DO NOTHING",
                )?
                .execute(params![
                    uuid::Uuid::new_v4().to_string(),
                    session,
                    task.agent_id,
                    task.task_id,
                    task.description,
                    serde_json::Value::from(task.files.clone()).to_string(),
                    now,
                ])?;
            }
            Ok(kept)
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::store::sqlite::test_support::open_temp;
    use ccmulti_model::VirtualUser;
    use std::str::FromStr;

    use super::PlannedTask;

    fn planned(agent: &str, task: &str) -> PlannedTask {
        PlannedTask {
            agent_id: agent.into(),
            task_id: task.into(),
            description: "d".into(),
            files: vec!["a.rs".into()],
        }
    }

    #[test]
    fn analyses_are_per_session_and_plans_move_only_unstarted_tasks() {
        let (_dir, store, _clock) = open_temp();
        for vu in ["u__session__s1__planner", "u__session__s2__planner"] {
            store
                .touch_agent(&VirtualUser::from_str(vu).unwrap(), "x")
                .unwrap();
        }
        store.save_analysis("s1", "a1", "{\"x\":1}").unwrap();
        assert_eq!(
            store.load_analysis("s1", "a1").unwrap().as_deref(),
            Some("{\"x\":1}")
        );
        assert_eq!(store.load_analysis("s2", "a1").unwrap(), None);

        store
            .record_plan(
                "s1",
                &[
                    planned("implementer-1", "T1"),
                    planned("implementer-1", "T2"),
                ],
            )
            .unwrap();
        let started = crate::rules::progress::ProgressUpdate {
            task_id: "T2".into(),
            status: ccmulti_model::TaskStatus::Started,
            progress_percentage: None,
            message: None,
            affected_files: None,
        };
        store
            .sync_progress("s1", "implementer-1", &started)
            .unwrap();
        let kept = store
            .record_plan(
                "s1",
                &[
                    planned("implementer-2", "T1"),
                    planned("implementer-2", "T2"),
                ],
            )
            .unwrap();
        assert_eq!(kept, ["T2"]);
        let view = store.session_view("s1").unwrap();
        let mut rows: Vec<(String, String, String)> = view
            .tasks
            .iter()
            .map(|t| {
                (
                    t.agent_id.clone(),
                    t.task_id.clone(),
                    t.status.as_str().to_owned(),
                )
            })
            .collect();
        rows.sort();
        assert_eq!(
            rows,
            [
                ("implementer-1".into(), "T2".into(), "started".into()),
                ("implementer-2".into(), "T1".into(), "planned".into()),
            ]
        );
    }
}
