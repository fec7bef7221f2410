//! The soak: agents on their own sessions' files and a few shared ones, each
//! answer checked against what the agent expects.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use ccmulti_model::VirtualUser;
use serde_json::{Value, json};

use super::{Endpoint, Latencies, clip, http_client};

/// The soak's shape: `agents` agents, `per_session` to a session, for
/// `duration`, each pausing a random 0 to 2 × `pause` after every call.
#[derive(Debug, Clone)]
pub struct SoakPlan {
    pub agents: usize,
    pub per_session: usize,
    pub duration: Duration,
    pub pause: Duration,
    /// The agents go on past `duration` until they have taken this many steps
    /// (each one or more calls) together (or eight times `duration` has passed), so that what a test
    /// asserts of the volume does not depend on how busy the machine is.
    pub min_steps: u64,
}

/// What the soak's agents saw.
#[derive(Debug, Default)]
pub struct SoakOutcome {
    pub latencies: Latencies,
    /// Claims refused because another agent held the path: expected on shared files.
    pub conflicts: u64,
    /// Anything else that was not the expected answer; must stay 0.
    pub unexpected: u64,
    /// The first few unexpected answers, for the report.
    pub first_unexpected: Vec<String>,
    pub news: u64,
}

impl SoakOutcome {
    fn merge(&mut self, other: SoakOutcome) {
        self.latencies.merge(other.latencies);
        self.conflicts += other.conflicts;
        self.unexpected += other.unexpected;
        self.news += other.news;
        for e in other.first_unexpected {
            if self.first_unexpected.len() < 10 {
                self.first_unexpected.push(e);
            }
        }
    }

    fn unexpected(&mut self, what: String) {
        self.unexpected += 1;
        if self.first_unexpected.len() < 10 {
            self.first_unexpected.push(what);
        }
    }
}

/// Runs the soak against the coordinator at `base`; every agent's answers are checked.
pub async fn soak(base: &str, plan: &SoakPlan) -> SoakOutcome {
    let http = http_client(plan.agents, Duration::from_secs(30));
    let started = Instant::now();
    let until = Until {
        at_least: started + plan.duration,
        at_most: started + plan.duration * 8,
        min_steps: plan.min_steps,
        steps: Arc::new(AtomicU64::new(0)),
    };
    let tasks: Vec<_> = (0..plan.agents)
        .map(|i| {
            let session = i / plan.per_session.max(1);
            let endpoint = Endpoint::new(&http, base, &soak_agent(session, i));
            let agent = SoakAgent::new(i, endpoint, plan.pause);
            tokio::spawn(agent.run(started, until.clone()))
        })
        .collect();
    let mut outcome = SoakOutcome::default();
    for task in tasks {
        match task.await {
            Ok(o) => outcome.merge(o),
            Err(e) => outcome.unexpected(format!("an agent task failed: {e}")),
        }
    }
    outcome
}

/// When the agents stop: not before `at_least`, then once they have made
/// `min_steps` steps together, and never after `at_most`.
#[derive(Debug, Clone)]
struct Until {
    at_least: Instant,
    at_most: Instant,
    min_steps: u64,
    steps: Arc<AtomicU64>,
}

impl Until {
    fn go_on(&self) -> bool {
        let now = Instant::now();
        now < self.at_least
            || (now < self.at_most && self.steps.load(Ordering::Relaxed) < self.min_steps)
    }
}

/// splitmix64: a small deterministic generator, one per agent.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const OWN_FILES: usize = 8;
const SHARED_FILES: usize = 6;
const TASKS_PER_AGENT: usize = 4;
/// A lease this close to its end may have run out by the time a release arrives.
const LEASE_MARGIN: Duration = Duration::from_secs(5);

/// One agent: claims, renews and releases its own files, sometimes a file
/// its session shares (a conflict when another agent holds it), leaves a
/// short lease to expire now and then, reports progress and looks at the session.
struct SoakAgent {
    index: usize,
    endpoint: Endpoint,
    pause: Duration,
    rng: Rng,
    /// Held paths and when their leases end, as this agent reckons.
    own: BTreeMap<String, Instant>,
    shared: BTreeMap<String, Instant>,
    task: usize,
    step: usize,
    scratch: usize,
    out: SoakOutcome,
}

impl SoakAgent {
    fn new(index: usize, endpoint: Endpoint, pause: Duration) -> Self {
        Self {
            index,
            endpoint,
            pause,
            rng: Rng(index as u64 + 1),
            own: BTreeMap::new(),
            shared: BTreeMap::new(),
            task: 0,
            step: 0,
            scratch: 0,
            out: SoakOutcome::default(),
        }
    }

    fn own_path(&mut self) -> String {
        format!("agents/a{}/f{}.rs", self.index, self.rng.below(OWN_FILES))
    }

    async fn run(mut self, started: Instant, until: Until) -> SoakOutcome {
        self.status(started).await;
        while until.go_on() {
            until.steps.fetch_add(1, Ordering::Relaxed);
            match self.rng.below(100) {
                0..25 => self.claim_own(started).await,
                25..35 => self.renew(started).await,
                35..55 => self.release(started).await,
                55..68 => self.claim_shared(started).await,
                68..80 => self.progress(started).await,
                80..95 => self.status(started).await,
                _ => self.abandon(started).await,
            }
            if !self.pause.is_zero() {
                let pause_us = self.pause.as_micros() as usize;
                let jitter = self.rng.below(2 * pause_us + 1);
                tokio::time::sleep(Duration::from_micros(jitter as u64)).await;
            }
        }
        self.out
    }

    /// An answer that was not the one expected.
    fn refused(&mut self, what: &str, answer: &Value) {
        let line = format!("a{}: {what}: {}", self.index, clip(&answer.to_string()));
        self.out.unexpected(line);
    }

    /// Calls `tool`, records its latency under `op`, counts a failure as unexpected.
    async fn call(
        &mut self,
        started: Instant,
        op: &'static str,
        tool: &str,
        arguments: Value,
    ) -> Option<Value> {
        let call_started = Instant::now();
        let answer = self.endpoint.call_raw(tool, arguments).await;
        self.out.latencies.record(op, started, call_started);
        match answer {
            Ok(value) => Some(value),
            Err(e) => {
                self.out.unexpected(format!("a{}: {e}", self.index));
                None
            }
        }
    }

    async fn claim_own(&mut self, started: Instant) {
        let paths: Vec<String> = (0..1 + self.rng.below(3))
            .map(|_| self.own_path())
            .collect();
        let args = json!({ "file_paths": paths, "duration_minutes": 15 });
        if let Some(r) = self
            .call(started, "claim own", "claim_file_lock", args)
            .await
        {
            if r["success"] == true {
                let until = Instant::now() + Duration::from_secs(15 * 60);
                self.own.extend(paths.into_iter().map(|p| (p, until)));
            } else {
                self.refused("own files refused", &r);
            }
        }
    }

    async fn renew(&mut self, started: Instant) {
        let Some(path) = self.own.keys().nth(self.rng.below(self.own.len())).cloned() else {
            return self.claim_own(started).await;
        };
        let args = json!({ "file_paths": [path], "duration_minutes": 15 });
        if let Some(r) = self
            .call(started, "renew own", "claim_file_lock", args)
            .await
        {
            if r["success"] == true && r["locks"][0]["renewed"] == true {
                self.own
                    .insert(path, Instant::now() + Duration::from_secs(15 * 60));
            } else {
                self.refused(&format!("renewal of {path}"), &r);
            }
        }
    }

    async fn release(&mut self, started: Instant) {
        if self.rng.below(4) == 0 || self.own.len() + self.shared.len() == 0 {
            if let Some(r) = self
                .call(
                    started,
                    "release all",
                    "release_file_lock",
                    json!({ "all": true }),
                )
                .await
            {
                if r["success"] != true {
                    self.refused("release all", &r);
                }
            }
            self.own.clear();
            self.shared.clear();
            return;
        }
        let now = Instant::now();
        let named: Vec<(String, bool)> = self
            .own
            .iter()
            .map(|(p, until)| (p.clone(), *until > now + LEASE_MARGIN))
            .chain(
                self.shared
                    .iter()
                    .map(|(p, until)| (p.clone(), *until > now + LEASE_MARGIN)),
            )
            .collect();
        let paths: Vec<&String> = named.iter().map(|(p, _)| p).collect();
        let args = json!({ "file_paths": paths });
        if let Some(r) = self
            .call(started, "release", "release_file_lock", args)
            .await
        {
            let not_held: Vec<&str> = r["not_held"]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            // A lease that was surely still running must have been released.
            for (path, surely_live) in &named {
                if *surely_live && not_held.contains(&path.as_str()) {
                    self.refused(&format!("{path} was not held"), &r);
                }
            }
        }
        self.own.clear();
        self.shared.clear();
    }

    async fn claim_shared(&mut self, started: Instant) {
        let (path, operation) = match self.rng.below(20) {
            0 => ("shared/*.rs".to_string(), "read"),
            n => (
                format!("shared/f{}.rs", self.rng.below(SHARED_FILES)),
                if n < 7 { "read" } else { "write" },
            ),
        };
        let wait = if self.rng.below(10) == 0 { 1 } else { 0 };
        let args = json!({ "file_paths": [path], "operation": operation,
                           "duration_minutes": 1, "wait_seconds": wait });
        let op = if wait > 0 {
            "claim shared (wait)"
        } else {
            "claim shared"
        };
        if let Some(r) = self.call(started, op, "claim_file_lock", args).await {
            if r["success"] == true {
                self.shared
                    .insert(path, Instant::now() + Duration::from_secs(60));
            } else if r["conflicts"].as_array().is_some_and(|c| !c.is_empty()) {
                self.out.conflicts += 1;
            } else {
                self.refused("shared claim", &r);
            }
        }
    }

    async fn progress(&mut self, started: Instant) {
        let (status, pct) = match self.step {
            0 => ("started", 0),
            1 => ("in_progress", 50),
            _ => ("completed", 100),
        };
        let files = [self.own_path(), self.own_path()];
        let args = json!({
            "task_id": format!("t{}-{}", self.index, self.task), "status": status,
            "progress_percentage": pct, "message": format!("step {}", self.step),
            "affected_files": files,
        });
        if let Some(r) = self
            .call(started, "sync_progress", "sync_progress", args)
            .await
            && r["success"] != true
        {
            self.refused("sync_progress", &r);
        }
        self.step += 1;
        if self.step > 2 {
            // An agent goes back to its few tasks, so the session's task list stays the size of a real one.
            self.step = 0;
            self.task = (self.task + 1) % TASKS_PER_AGENT;
        }
    }

    async fn status(&mut self, started: Instant) {
        if let Some(r) = self
            .call(
                started,
                "check_agent_status",
                "check_agent_status",
                json!({}),
            )
            .await
        {
            if r["success"] == true {
                self.out.news += r["news"].as_array().map_or(0, Vec::len) as u64;
            } else {
                self.refused("check_agent_status", &r);
            }
        }
    }

    /// A one-minute lease it never releases: the sweeper expires it.
    async fn abandon(&mut self, started: Instant) {
        self.scratch += 1;
        let path = format!("agents/a{}/scratch{}.rs", self.index, self.scratch);
        let args = json!({ "file_paths": [path], "duration_minutes": 1 });
        if let Some(r) = self
            .call(started, "claim, abandoned", "claim_file_lock", args)
            .await
            && r["success"] != true
        {
            self.refused("scratch claim", &r);
        }
    }
}

/// Agent `i` of soak session `session`.
fn soak_agent(session: usize, i: usize) -> String {
    VirtualUser::agent("soak", &format!("s{session}"), &format!("a{i}")).to_string()
}
