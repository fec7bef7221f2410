//! The soak: agents on their own sessions' files and a few shared ones, each
//! answer checked against what the agent expects.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use ccmulti_model::tools::{
    Claim, ClaimArgs, Progress, ProgressArgs, Release, ReleaseArgs, Status, StatusArgs, Tool,
};
use ccmulti_model::{Operation, ReportedStatus, VirtualUser};
use serde::Serialize;
use serde::de::DeserializeOwned;

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
    fn refused(&mut self, what: &str, answer: &impl Serialize) {
        let answer = serde_json::to_string(answer).unwrap_or_default();
        let line = format!("a{}: {what}: {}", self.index, clip(&answer));
        self.out.unexpected(line);
    }

    /// Calls `tool`, records its latency under `op`, counts a failure as unexpected.
    async fn call<T: Tool>(
        &mut self,
        started: Instant,
        op: &'static str,
        args: &T::Args,
    ) -> Option<T::Result>
    where
        T::Result: DeserializeOwned,
    {
        let call_started = Instant::now();
        let answer = self.endpoint.call::<T>(args).await;
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
        let args = ClaimArgs::new(paths.clone(), Operation::Write);
        if let Some(r) = self.call::<Claim>(started, "claim own", &args).await {
            if r.success {
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
        let args = ClaimArgs::new(vec![path.clone()], Operation::Write);
        if let Some(r) = self.call::<Claim>(started, "renew own", &args).await {
            if r.success && r.locks.first().is_some_and(|l| l.renewed) {
                self.own
                    .insert(path, Instant::now() + Duration::from_secs(15 * 60));
            } else {
                self.refused(&format!("renewal of {path}"), &r);
            }
        }
    }

    async fn release(&mut self, started: Instant) {
        if self.rng.below(4) == 0 || self.own.len() + self.shared.len() == 0 {
            let all = ReleaseArgs {
                file_paths: None,
                all: true,
            };
            if let Some(r) = self.call::<Release>(started, "release all", &all).await {
                if !r.success {
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
        let args = ReleaseArgs {
            file_paths: Some(named.iter().map(|(p, _)| p.clone()).collect()),
            all: false,
        };
        if let Some(r) = self.call::<Release>(started, "release", &args).await {
            // A lease that was surely still running must have been released.
            for (path, surely_live) in &named {
                if *surely_live && r.not_held.contains(path) {
                    self.refused(&format!("{path} was not held"), &r);
                }
            }
        }
        self.own.clear();
        self.shared.clear();
    }

    async fn claim_shared(&mut self, started: Instant) {
        let (path, operation) = match self.rng.below(20) {
            0 => ("shared/*.rs".to_string(), Operation::Read),
            n => (
                format!("shared/f{}.rs", self.rng.below(SHARED_FILES)),
                if n < 7 {
                    Operation::Read
                } else {
                    Operation::Write
                },
            ),
        };
        let wait = if self.rng.below(10) == 0 { 1 } else { 0 };
        let args = ClaimArgs {
            duration_minutes: 1,
            wait_seconds: wait,
            ..ClaimArgs::new(vec![path.clone()], operation)
        };
        let op = if wait > 0 {
            "claim shared (wait)"
        } else {
            "claim shared"
        };
        if let Some(r) = self.call::<Claim>(started, op, &args).await {
            if r.success {
                self.shared
                    .insert(path, Instant::now() + Duration::from_secs(60));
            } else if !r.conflicts.is_empty() {
                self.out.conflicts += 1;
            } else {
                self.refused("shared claim", &r);
            }
        }
    }

    async fn progress(&mut self, started: Instant) {
        let (status, pct) = match self.step {
            0 => (ReportedStatus::Started, 0),
            1 => (ReportedStatus::InProgress, 50),
            _ => (ReportedStatus::Completed, 100),
        };
        let args = ProgressArgs {
            task_id: format!("t{}-{}", self.index, self.task),
            status,
            progress_percentage: Some(pct),
            message: Some(format!("step {}", self.step)),
            affected_files: Some(vec![self.own_path(), self.own_path()]),
        };
        if let Some(r) = self.call::<Progress>(started, "sync_progress", &args).await
            && !r.success
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
        let args = StatusArgs {
            include_inactive: false,
            news: true,
            reading: Vec::new(),
        };
        if let Some(r) = self
            .call::<Status>(started, "check_agent_status", &args)
            .await
        {
            if r.success {
                self.out.news += r.news.as_ref().map_or(0, Vec::len) as u64;
            } else {
                self.refused("check_agent_status", &r);
            }
        }
    }

    /// A one-minute lease it never releases: the sweeper expires it.
    async fn abandon(&mut self, started: Instant) {
        self.scratch += 1;
        let path = format!("agents/a{}/scratch{}.rs", self.index, self.scratch);
        let args = ClaimArgs {
            duration_minutes: 1,
            ..ClaimArgs::new(vec![path], Operation::Write)
        };
        if let Some(r) = self.call::<Claim>(started, "claim, abandoned", &args).await
            && !r.success
        {
            self.refused("scratch claim", &r);
        }
    }
}

/// Agent `i` of soak session `session`.
fn soak_agent(session: usize, i: usize) -> String {
    VirtualUser::agent("soak", &format!("s{session}"), &format!("a{i}")).to_string()
}
