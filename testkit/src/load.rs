//! Load over HTTP, shared by the soak test (`tests/it/soak.rs`) and the benches
//! (`benches/soak.rs`, `benches/scale.rs`, `benches/claim_release.rs`): tool calls shaped like Claude Code's
//! (stateless 2026-07-28 POSTs), a soak agent's mix of calls, latency
//! percentiles per operation, and a process's resident memory from /proc.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ccmulti::clock::Clock;
use ccmulti::state::{AppState, Security, SharedState};
use ccmulti::store::{Durability, SharedStore, SqliteStore};
use serde_json::{Value, json};

const PROTOCOL: &str = "2026-07-28";
const USER_AGENT: &str = "claude-code/2.1.330 (sdk-cli)";

/// A coordinator in this process, on a free loopback port, over a new
/// database `dir/db_name`. With `sweeper` false it serves the router alone:
/// nothing deletes expired rows or prunes events behind the caller's back.
/// Dropping `stop` (or sending on it) shuts it down.
pub struct InProcess {
    pub state: SharedState,
    /// The same database, for a test or bench to look at (or seed) directly.
    pub store: SqliteStore,
    pub base: String,
    pub stop: tokio::sync::oneshot::Sender<()>,
}

pub async fn serve_in_process(
    dir: &Path,
    db_name: &str,
    root: PathBuf,
    clock: Arc<dyn Clock>,
    sweeper: bool,
    security: Security,
) -> InProcess {
    let store = SqliteStore::open(&dir.join(db_name), clock, Durability::Normal).expect("store");
    let (state, base, stop) = serve_store(Arc::new(store.clone()), root, sweeper, security).await;
    InProcess {
        state,
        store,
        base,
        stop,
    }
}

/// A coordinator in this process over any store (a PostgreSQL one, say), on
/// a free loopback port: its state, its base URL and what stops it.
pub async fn serve_store(
    store: SharedStore,
    root: PathBuf,
    sweeper: bool,
    security: Security,
) -> (SharedState, String, tokio::sync::oneshot::Sender<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let state = AppState::secured(store, root, base.clone(), security);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let stopped = async move {
        let _ = stopped.await;
    };
    if sweeper {
        tokio::spawn(ccmulti::serve::serve(listener, state.clone(), stopped));
    } else {
        tokio::spawn(ccmulti::serve::serve_http(listener, state.clone(), stopped));
    }
    (state, base, stop)
}

/// A bench's numeric arguments in order (`cargo bench` adds `--bench`, which is skipped).
pub fn bench_args() -> Vec<u64> {
    std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .filter_map(|a| a.parse().ok())
        .collect()
}

/// The JSON-RPC message of a reply: the body, or the last `data:` event with
/// a result or an error when the server answered with an SSE stream.
pub fn jsonrpc_message(content_type: Option<&str>, text: &str) -> Value {
    if content_type.is_some_and(|c| c.starts_with("text/event-stream")) {
        text.lines()
            .rev()
            .filter_map(|l| l.strip_prefix("data:"))
            .filter_map(|d| serde_json::from_str::<Value>(d.trim()).ok())
            .find(|v| v.get("result").is_some() || v.get("error").is_some())
            .unwrap_or(Value::Null)
    } else {
        serde_json::from_str(text).unwrap_or(Value::Null)
    }
}

/// Under the coordinator's default header deadline of 10 s, as Node's
/// `fetch` (4 s) and Python's httpx (5 s) keep theirs.
const IDLE_CONNECTION_KEPT: Duration = Duration::from_secs(5);

/// A keep-alive client for `agents` concurrent callers; a call that takes
/// longer than `timeout` counts as failed. Idle connections are dropped
/// before the coordinator's header deadline closes them (README, Limits):
/// reqwest's default of 90 s let a call, twice in a 30-minute soak, go out
/// on a connection the server was closing.
pub fn http_client(agents: usize, timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(agents)
        .pool_idle_timeout(IDLE_CONNECTION_KEPT)
        .timeout(timeout)
        .build()
        .expect("http client")
}

/// One agent's MCP endpoint.
#[derive(Clone)]
pub struct Endpoint {
    http: reqwest::Client,
    pub url: String,
}

impl Endpoint {
    pub fn new(http: &reqwest::Client, base: &str, virtual_user: &str) -> Self {
        Self {
            http: http.clone(),
            url: format!("{base}/mcp/v2/claude/{virtual_user}"),
        }
    }

    /// Calls `tool` as Claude Code does; the result's `structuredContent`, or
    /// why there is none (transport, HTTP status, JSON-RPC error).
    pub async fn call(&self, tool: &str, arguments: Value) -> Result<Value, String> {
        let body = json!({
            "jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {
                "name": tool, "arguments": arguments,
                "_meta": {
                    "io.modelcontextprotocol/protocolVersion": PROTOCOL,
                    "io.modelcontextprotocol/clientInfo": { "name": "claude-code", "version": "2.1.330" },
                    "io.modelcontextprotocol/clientCapabilities": {}
                }
            }
        });
        let response = self
            .http
            .post(&self.url)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("user-agent", USER_AGENT)
            .header("mcp-method", "tools/call")
            .header("mcp-name", tool)
            .header("mcp-protocol-version", PROTOCOL)
            .body(body.to_string())
            .send()
            .await
            .map_err(|e| format!("{tool}: {e}"))?;
        let status = response.status();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let text = response
            .text()
            .await
            .map_err(|e| format!("{tool}: reading the body: {e}"))?;
        if status != reqwest::StatusCode::OK {
            return Err(format!("{tool}: HTTP {status}: {}", clip(&text)));
        }
        let message = jsonrpc_message(content_type.as_deref(), &text);
        match &message["result"]["structuredContent"] {
            // A refusal (a conflict, a bad argument) is a result too, with
            // `isError` and `success: false`: the caller judges it.
            Value::Null => Err(format!("{tool}: {}", clip(&text))),
            value => Ok(value.clone()),
        }
    }
}

/// At most a few hundred characters of a reply, for a report.
pub fn clip(text: &str) -> String {
    match text.char_indices().nth(300) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_owned(),
    }
}

/// The `p` quantile (0..=1) of sorted samples, nearest rank.
pub fn percentile<T: Copy>(sorted: &[T], p: f64) -> T {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// Latencies per operation, each with when it started (ms into the run).
#[derive(Debug, Default, Clone)]
pub struct Latencies(pub BTreeMap<&'static str, Vec<(u32, u32)>>);

impl Latencies {
    pub fn record(&mut self, op: &'static str, run_started: Instant, call_started: Instant) {
        let at = call_started.duration_since(run_started).as_millis();
        let took = call_started.elapsed().as_micros();
        self.0.entry(op).or_default().push((
            u32::try_from(at).unwrap_or(u32::MAX),
            u32::try_from(took).unwrap_or(u32::MAX),
        ));
    }

    pub fn merge(&mut self, other: Latencies) {
        for (op, samples) in other.0 {
            self.0.entry(op).or_default().extend(samples);
        }
    }

    pub fn calls(&self) -> usize {
        self.0.values().map(Vec::len).sum()
    }

    /// p50, p95, p99 and max in µs of `op`'s calls that started in `[from_ms, to_ms)`.
    pub fn summary(&self, op: &str, from_ms: u32, to_ms: u32) -> Option<Summary> {
        let mut us: Vec<u32> = self
            .0
            .get(op)?
            .iter()
            .filter(|(at, _)| (from_ms..to_ms).contains(at))
            .map(|&(_, us)| us)
            .collect();
        if us.is_empty() {
            return None;
        }
        us.sort_unstable();
        Some(Summary {
            count: us.len(),
            p50: percentile(&us, 0.50),
            p95: percentile(&us, 0.95),
            p99: percentile(&us, 0.99),
            max: us[us.len() - 1],
        })
    }

    /// A table: every operation over the whole run, then its first and last thirds.
    pub fn print(&self, run_ms: u32) {
        println!(
            "{:<22} {:>8} {:>9} {:>9} {:>9} {:>9}   {:>19} {:>19}",
            "operation",
            "calls",
            "p50 µs",
            "p95 µs",
            "p99 µs",
            "max µs",
            "first third p50/p99",
            "last third p50/p99"
        );
        let third = run_ms / 3;
        for op in self.0.keys() {
            let Some(all) = self.summary(op, 0, u32::MAX) else {
                continue;
            };
            let thirds = [(0, third), (run_ms - third, u32::MAX)].map(|(from, to)| {
                match self.summary(op, from, to) {
                    Some(s) => format!("{}/{}", s.p50, s.p99),
                    None => "-".into(),
                }
            });
            println!(
                "{:<22} {:>8} {:>9} {:>9} {:>9} {:>9}   {:>19} {:>19}",
                op, all.count, all.p50, all.p95, all.p99, all.max, thirds[0], thirds[1]
            );
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Summary {
    pub count: usize,
    pub p50: u32,
    pub p95: u32,
    pub p99: u32,
    pub max: u32,
}

/// A process's resident set size in KiB, from `/proc/<pid>/status`.
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// RSS samples (seconds into the run, KiB).
#[derive(Debug, Default, Clone)]
pub struct RssSamples(pub Vec<(f64, u64)>);

impl RssSamples {
    /// Samples `pid` every `every` until `until`.
    pub async fn sample(pid: u32, every: Duration, until: Instant) -> Self {
        let started = Instant::now();
        let mut samples = Vec::new();
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            if let Some(kib) = rss_kib(pid) {
                samples.push((started.elapsed().as_secs_f64(), kib));
            }
            if Instant::now() >= until {
                return Self(samples);
            }
        }
    }

    fn third_max(&self, which: usize) -> u64 {
        let n = self.0.len();
        let (from, to) = match which {
            0 => (0, n.div_ceil(3)),
            _ => (n - n.div_ceil(3), n),
        };
        self.0[from..to].iter().map(|&(_, k)| k).max().unwrap_or(0)
    }

    /// The most the last third of the run held over the most the first third
    /// (the warm-up) held, in KiB; negative if it shrank.
    pub fn growth_kib(&self) -> i64 {
        if self.0.is_empty() {
            return 0;
        }
        self.third_max(2) as i64 - self.third_max(0) as i64
    }

    pub fn print(&self) {
        let (Some(first), Some(last)) = (self.0.first(), self.0.last()) else {
            println!("rss: no samples");
            return;
        };
        let max = self.0.iter().map(|&(_, k)| k).max().unwrap_or(0);
        println!(
            "server RSS: start {:.1} MiB, max {:.1} MiB, end {:.1} MiB ({} samples); \
             max in first third {:.1} MiB, in last third {:.1} MiB: growth {:+.1} MiB",
            first.1 as f64 / 1024.0,
            max as f64 / 1024.0,
            last.1 as f64 / 1024.0,
            self.0.len(),
            self.third_max(0) as f64 / 1024.0,
            self.third_max(2) as f64 / 1024.0,
            self.growth_kib() as f64 / 1024.0,
        );
    }
}

/// The soak's shape: `agents` agents, `per_session` to a session, for
/// `duration`, each pausing a random 0 to 2 × `pause` after every call.
#[derive(Debug, Clone)]
pub struct SoakPlan {
    pub agents: usize,
    pub per_session: usize,
    pub duration: Duration,
    pub pause: Duration,
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
    let until = started + plan.duration;
    let tasks: Vec<_> = (0..plan.agents)
        .map(|i| {
            let session = i / plan.per_session.max(1);
            let endpoint = Endpoint::new(&http, base, &format!("soak__session__s{session}__a{i}"));
            let agent = SoakAgent::new(i, endpoint, plan.pause);
            tokio::spawn(agent.run(started, until))
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

    async fn run(mut self, started: Instant, until: Instant) -> SoakOutcome {
        self.status(started).await;
        while Instant::now() < until {
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
        let answer = self.endpoint.call(tool, arguments).await;
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
