//! The agents: each claims one of a few hot paths for write, sometimes
//! renews it, releases it, now and then asks for its status, all along the
//! run. Every claim and release goes into an exclusion history (the
//! testkit's checker reads it), and every call into a log of what it was
//! answered and how long it took.

use std::time::{Duration, Instant};

use ccmulti::client::ClientError;
use ccmulti_testkit::history::{Kind, Op, Outcome};
use ccmulti_testkit::load::Endpoint;
use serde_json::{Value, json};

/// The paths agents of one backend contend for.
pub const PATHS: [&str; 6] = [
    "src/a.rs",
    "src/b.rs",
    "src/c.rs",
    "src/d.rs",
    "README.md",
    "Cargo.toml",
];

/// How long an agent's claim may wait, when it waits.
pub const WAIT: Duration = Duration::from_secs(2);

/// What a call was answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// A result: granted, refused with a conflict, released, a status.
    Result,
    /// The one answer for a database that cannot serve: -32000, retry.
    Unavailable,
    /// No answer: the connection failed or timed out.
    Transport(String),
    /// Anything else: an error that says nothing useful, a server error.
    Unclear(String),
}

#[derive(Debug, Clone)]
pub struct Call {
    pub coordinator: usize,
    pub tool: &'static str,
    /// From the run's start.
    pub invoked: Duration,
    pub completed: Duration,
    pub answer: Answer,
    /// Its answer bound: 5 s, plus the wait it asked for.
    pub bound: Duration,
}

pub struct Agent {
    pub name: String,
    /// Its session: history paths are `session:path`, one lock per session.
    pub session: String,
    pub coordinator: usize,
    pub endpoint: Endpoint,
    pub started: Instant,
}

#[derive(Debug, Default)]
pub struct AgentLog {
    pub ops: Vec<Op>,
    pub calls: Vec<Call>,
}

impl Agent {
    fn at(&self) -> Duration {
        self.started.elapsed()
    }

    async fn call(
        &self,
        log: &mut AgentLog,
        tool: &'static str,
        arguments: Value,
        bound: Duration,
    ) -> Option<Value> {
        let invoked = self.at();
        let reply = self.endpoint.call_untyped(tool, arguments).await;
        let completed = self.at();
        let answer = match &reply {
            Ok(_) => Answer::Result,
            Err(ClientError::Unavailable { message, .. })
                if message.contains("unavailable") && message.contains("retry") =>
            {
                Answer::Unavailable
            }
            Err(e @ ClientError::Unreachable { .. }) => Answer::Transport(e.to_string()),
            Err(e) => Answer::Unclear(e.to_string()),
        };
        log.calls.push(Call {
            coordinator: self.coordinator,
            tool,
            invoked,
            completed,
            answer,
            bound,
        });
        reply.ok()
    }

    fn op(&self, kind: Kind, path: &str, invoked: Duration, outcome: Outcome) -> Op {
        Op {
            client: self.name.clone(),
            kind,
            path: format!("{}:{path}", self.session),
            invoked: invoked.as_nanos() as u64,
            completed: self.at().as_nanos() as u64,
            outcome,
        }
    }

    async fn claim(&self, log: &mut AgentLog, path: &str, wait: Duration) -> Outcome {
        let invoked = self.at();
        let reply = self
            .call(
                log,
                "claim_file_lock",
                json!({ "file_paths": [path], "duration_minutes": 60, "wait_seconds": wait.as_secs() }),
                ccmulti::deadline::ANSWER_WITHIN + wait,
            )
            .await;
        let outcome = Outcome::of_claim(reply);
        log.ops
            .push(self.op(Kind::Claim, path, invoked, outcome.clone()));
        outcome
    }

    /// Releases `path`, again after a pause while there is no answer (a
    /// release is safe to repeat), a few times at most.
    async fn release(&self, log: &mut AgentLog, path: &str) {
        for _ in 0..5 {
            if self.release_once(log, path).await != Outcome::Unknown {
                return;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    async fn release_once(&self, log: &mut AgentLog, path: &str) -> Outcome {
        let invoked = self.at();
        let reply = self
            .call(
                log,
                "release_file_lock",
                json!({ "file_paths": [path] }),
                ccmulti::deadline::ANSWER_WITHIN,
            )
            .await;
        let outcome = Outcome::of_release(reply, path);
        log.ops
            .push(self.op(Kind::Release, path, invoked, outcome.clone()));
        outcome
    }

    /// Until `end`: claim, maybe renew, release; a status now and then. A
    /// call without an answer is followed by a pause, as a client's retry.
    pub async fn run(self, seed: u64, end: Instant) -> AgentLog {
        let mut log = AgentLog::default();
        let mut rng = seed.wrapping_mul(6364136223846793005) | 1;
        let mut next = || {
            rng = rng
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            rng >> 33
        };
        while Instant::now() < end {
            let path = PATHS[next() as usize % PATHS.len()];
            let wait = if next() % 8 == 0 {
                WAIT
            } else {
                Duration::ZERO
            };
            match self.claim(&mut log, path, wait).await {
                Outcome::Granted { .. } => {
                    if next() % 3 == 0 {
                        self.claim(&mut log, path, Duration::ZERO).await;
                    }
                    tokio::time::sleep(Duration::from_millis(next() % 50)).await;
                    self.release(&mut log, path).await;
                }
                // Perhaps granted: released, as a client that lost the answer would.
                Outcome::Unknown => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    self.release(&mut log, path).await;
                }
                _ => tokio::time::sleep(Duration::from_millis(20)).await,
            }
            if next() % 10 == 0 {
                self.call(
                    &mut log,
                    "check_agent_status",
                    json!({ "news": false }),
                    ccmulti::deadline::ANSWER_WITHIN,
                )
                .await;
            }
        }
        log
    }
}
