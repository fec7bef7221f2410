//! Prometheus text metrics, kept in memory: requests by method and outcome,
//! tool latency, conflicts, blocked calls and requests refused at the gate.
//! Label values come from closed sets.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::store::WriteBatches;

const LATENCY_BUCKETS_S: [f64; 11] = [
    0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.1, 0.5, 2.0,
];

#[derive(Debug, Default)]
struct Histogram {
    buckets: [u64; LATENCY_BUCKETS_S.len()],
    count: u64,
    sum_s: f64,
}

/// Why the gate in front of every route refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// A `Host` that is not this coordinator's (DNS rebinding).
    Host,
    /// A browser `Origin` that is not a loopback or allowed one.
    Origin,
    /// No token, or not the coordinator's.
    Token,
}

impl Refusal {
    const ALL: [Self; 3] = [Self::Host, Self::Origin, Self::Token];

    fn label(self) -> &'static str {
        match self {
            Self::Host => "host",
            Self::Origin => "origin",
            Self::Token => "token",
        }
    }
}

#[derive(Debug, Default)]
pub struct Metrics {
    refused: [AtomicU64; 3],
    requests: Mutex<BTreeMap<(&'static str, &'static str), u64>>,
    tool_latency: Mutex<BTreeMap<&'static str, Histogram>>,
    blocked: Mutex<BTreeMap<String, u64>>,
    conflicts: AtomicU64,
    fast_path: AtomicU64,
}

impl Metrics {
    pub fn count_request(&self, method: &'static str, outcome: &'static str) {
        if let Ok(mut m) = self.requests.lock() {
            *m.entry((method, outcome)).or_default() += 1;
        }
    }

    pub fn observe_tool(&self, tool: &'static str, elapsed: Duration) {
        let s = elapsed.as_secs_f64();
        if let Ok(mut m) = self.tool_latency.lock() {
            let h = m.entry(tool).or_default();
            h.count += 1;
            h.sum_s += s;
            for (bucket, le) in h.buckets.iter_mut().zip(LATENCY_BUCKETS_S) {
                if s <= le {
                    *bucket += 1;
                }
            }
        }
    }

    pub fn count_refused(&self, why: Refusal) {
        if let Some(i) = Refusal::ALL.iter().position(|r| *r == why) {
            self.refused[i].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// A stateless request answered by the HTTP fast path instead of rmcp:
    /// shows how much of the traffic skips rmcp's per-request service.
    pub fn count_fast_path(&self) {
        self.fast_path.fetch_add(1, Ordering::Relaxed);
    }

    pub fn count_conflict(&self) {
        self.conflicts.fetch_add(1, Ordering::Relaxed);
    }

    /// `client` is a verdict label; unknown names are folded to bound the label set.
    pub fn count_blocked(&self, client: &str) {
        if let Ok(mut m) = self.blocked.lock() {
            let key = if m.len() < 32 || m.contains_key(client) {
                client
            } else {
                "other"
            };
            *m.entry(key.to_owned()).or_default() += 1;
        }
    }

    pub fn blocked_total(&self) -> u64 {
        self.blocked.lock().map(|m| m.values().sum()).unwrap_or(0)
    }

    pub fn render(&self, active_locks: i64, uptime: Duration) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP ccmulti_requests_total MCP requests by JSON-RPC method and outcome."
        );
        let _ = writeln!(out, "# TYPE ccmulti_requests_total counter");
        if let Ok(m) = self.requests.lock() {
            for ((method, outcome), n) in m.iter() {
                let _ = writeln!(
                    out,
                    "ccmulti_requests_total{{method=\"{method}\",outcome=\"{outcome}\"}} {n}"
                );
            }
        }
        let _ = writeln!(
            out,
            "# HELP ccmulti_tool_duration_seconds Coordination tool latency, server side."
        );
        let _ = writeln!(out, "# TYPE ccmulti_tool_duration_seconds histogram");
        if let Ok(m) = self.tool_latency.lock() {
            for (tool, h) in m.iter() {
                for (n, le) in h.buckets.iter().zip(LATENCY_BUCKETS_S) {
                    let _ = writeln!(
                        out,
                        "ccmulti_tool_duration_seconds_bucket{{tool=\"{tool}\",le=\"{le}\"}} {n}"
                    );
                }
                let _ = writeln!(
                    out,
                    "ccmulti_tool_duration_seconds_bucket{{tool=\"{tool}\",le=\"+Inf\"}} {}",
                    h.count
                );
                let _ = writeln!(
                    out,
                    "ccmulti_tool_duration_seconds_sum{{tool=\"{tool}\"}} {}",
                    h.sum_s
                );
                let _ = writeln!(
                    out,
                    "ccmulti_tool_duration_seconds_count{{tool=\"{tool}\"}} {}",
                    h.count
                );
            }
        }
        single(
            &mut out,
            "ccmulti_active_locks",
            "gauge",
            "Live file locks.",
            active_locks,
        );
        single(
            &mut out,
            "ccmulti_lock_conflicts_total",
            "counter",
            "Claims refused because another agent held a path.",
            self.conflicts.load(Ordering::Relaxed),
        );
        let _ = writeln!(
            out,
            "# HELP ccmulti_blocked_calls_total Coordination tool calls refused to clients that are not Claude Code."
        );
        let _ = writeln!(out, "# TYPE ccmulti_blocked_calls_total counter");
        if let Ok(m) = self.blocked.lock() {
            for (client, n) in m.iter() {
                let _ = writeln!(
                    out,
                    "ccmulti_blocked_calls_total{{client=\"{client}\"}} {n}"
                );
            }
        }
        let _ = writeln!(
            out,
            "# HELP ccmulti_refused_requests_total Requests refused before anything ran, by reason (Host, Origin, token)."
        );
        let _ = writeln!(out, "# TYPE ccmulti_refused_requests_total counter");
        for (why, n) in Refusal::ALL.iter().zip(&self.refused) {
            let _ = writeln!(
                out,
                "ccmulti_refused_requests_total{{reason=\"{}\"}} {}",
                why.label(),
                n.load(Ordering::Relaxed)
            );
        }
        single(
            &mut out,
            "ccmulti_fast_path_answers_total",
            "counter",
            "tools/list and tools/call answered by the fast path (stateless, or on a legacy session it knows) instead of by rmcp.",
            self.fast_path.load(Ordering::Relaxed),
        );
        single(
            &mut out,
            "ccmulti_uptime_seconds",
            "gauge",
            "Seconds since start.",
            uptime.as_secs(),
        );
        out
    }
}

/// The SQLite write thread's group commits: how many transactions, how many
/// writes in them (their ratio is the mean batch), how many held more than
/// one write, and the largest. Under load the mean should rise above 1.
pub fn render_write_batches(out: &mut String, b: WriteBatches) {
    let lines = [
        (
            "ccmulti_store_write_batches_total",
            "counter",
            "Write transactions the store's write thread committed or tried, each a batch of queued writes.",
            b.batches,
        ),
        (
            "ccmulti_store_batched_writes_total",
            "counter",
            "Writes run in those batches.",
            b.jobs,
        ),
        (
            "ccmulti_store_shared_write_batches_total",
            "counter",
            "Batches that held more than one write.",
            b.shared,
        ),
        (
            "ccmulti_store_largest_write_batch",
            "gauge",
            "The most writes one batch held.",
            b.largest,
        ),
    ];
    for (name, kind, help, value) in lines {
        single(out, name, kind, help, value);
    }
}

/// A metric of one unlabelled value, with its help and type lines.
fn single(out: &mut String, name: &str, kind: &str, help: &str, value: impl std::fmt::Display) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
    let _ = writeln!(out, "{name} {value}");
}
