//! The coordinator's metrics, kept in memory and exposed in the OpenMetrics
//! text format by `prometheus-client`: requests by method and outcome, tool
//! latency, conflicts, blocked calls and requests refused at the gate. Label
//! values come from closed sets.
//!
//! The crate appends `_total` to a counter's samples and names the family
//! without it (`# TYPE ccmulti_requests counter`, samples
//! `ccmulti_requests_total{...}`), and ends its help texts with a period: the
//! names below are written without either, so every sample keeps its name.

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::{encode_eof, encode_registry};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::{Family, MetricConstructor};
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::connections::ConnectionStats;
use crate::store::WriteBatches;

/// What `/metrics` answers with.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

const LATENCY_BUCKETS_S: [f64; 11] = [
    0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.1, 0.5, 2.0,
];

/// Distinct blocked-client labels kept apart; the rest count as `other`.
const MAX_BLOCKED_CLIENTS: usize = 32;

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

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: &'static str,
    outcome: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ToolLabels {
    tool: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ClientLabels {
    client: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    reason: &'static str,
}

/// Each tool's latency histogram, on the same buckets.
#[derive(Debug, Clone, Copy)]
struct LatencyBuckets;

impl MetricConstructor<Histogram> for LatencyBuckets {
    fn new_metric(&self) -> Histogram {
        Histogram::new(LATENCY_BUCKETS_S)
    }
}

#[derive(Debug)]
pub struct Metrics {
    /// Every metric below, in the order `/metrics` lists them.
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    tool_latency: Family<ToolLabels, Histogram, LatencyBuckets>,
    /// Set when rendered: the store's count at that moment.
    active_locks: Gauge,
    conflicts: Counter,
    blocked: Family<ClientLabels, Counter>,
    /// The client labels `blocked` holds, to bound them.
    blocked_clients: Mutex<BTreeSet<String>>,
    refused: Family<ReasonLabels, Counter>,
    fast_path: Counter,
    /// Set when rendered.
    uptime_s: Gauge,
    /// The HTTP connections, counted by the accept loop.
    pub connections: ConnectionStats,
}

impl Default for Metrics {
    fn default() -> Self {
        let metrics = Self {
            registry: Registry::default(),
            requests: Family::default(),
            tool_latency: Family::new_with_constructor(LatencyBuckets),
            active_locks: Gauge::default(),
            conflicts: Counter::default(),
            blocked: Family::default(),
            blocked_clients: Mutex::default(),
            refused: Family::default(),
            fast_path: Counter::default(),
            uptime_s: Gauge::default(),
            connections: ConnectionStats::default(),
        };
        // Every reason shows, at 0 until a request is refused for it.
        for why in Refusal::ALL {
            let _ = metrics.refused.get_or_create(&ReasonLabels {
                reason: why.label(),
            });
        }
        metrics.registered()
    }
}

impl Metrics {
    fn registered(mut self) -> Self {
        let r = &mut self.registry;
        r.register(
            "ccmulti_requests",
            "MCP requests by JSON-RPC method and outcome",
            self.requests.clone(),
        );
        r.register(
            "ccmulti_tool_duration_seconds",
            "Coordination tool latency, server side",
            self.tool_latency.clone(),
        );
        r.register(
            "ccmulti_active_locks",
            "Live file locks",
            self.active_locks.clone(),
        );
        r.register(
            "ccmulti_lock_conflicts",
            "Claims refused because another agent held a path",
            self.conflicts.clone(),
        );
        r.register(
            "ccmulti_blocked_calls",
            "Coordination tool calls refused to clients that are not Claude Code",
            self.blocked.clone(),
        );
        r.register(
            "ccmulti_refused_requests",
            "Requests refused before anything ran, by reason (Host, Origin, token)",
            self.refused.clone(),
        );
        r.register(
            "ccmulti_fast_path_answers",
            "tools/list and tools/call answered by the fast path (stateless, or on a legacy session it knows) instead of by rmcp",
            self.fast_path.clone(),
        );
        r.register(
            "ccmulti_uptime_seconds",
            "Seconds since start",
            self.uptime_s.clone(),
        );
        self.connections.register(r);
        self
    }

    pub fn count_request(&self, method: &'static str, outcome: &'static str) {
        self.requests
            .get_or_create(&RequestLabels { method, outcome })
            .inc();
    }

    pub fn observe_tool(&self, tool: &'static str, elapsed: Duration) {
        self.tool_latency
            .get_or_create(&ToolLabels { tool })
            .observe(elapsed.as_secs_f64());
    }

    pub fn count_refused(&self, why: Refusal) {
        self.refused
            .get_or_create(&ReasonLabels {
                reason: why.label(),
            })
            .inc();
    }

    /// A stateless request answered by the HTTP fast path instead of rmcp:
    /// shows how much of the traffic skips rmcp's per-request service.
    pub fn count_fast_path(&self) {
        self.fast_path.inc();
    }

    pub fn count_conflict(&self) {
        self.conflicts.inc();
    }

    /// `client` is a verdict label; unknown names are folded to bound the label set.
    pub fn count_blocked(&self, client: &str) {
        let Ok(mut known) = self.blocked_clients.lock() else {
            return;
        };
        let client = if known.len() < MAX_BLOCKED_CLIENTS || known.contains(client) {
            client
        } else {
            "other"
        };
        known.insert(client.to_owned());
        self.blocked
            .get_or_create(&ClientLabels {
                client: client.to_owned(),
            })
            .inc();
    }

    pub fn blocked_total(&self) -> u64 {
        let Ok(known) = self.blocked_clients.lock() else {
            return 0;
        };
        known
            .iter()
            .map(|client| {
                self.blocked
                    .get_or_create(&ClientLabels {
                        client: client.clone(),
                    })
                    .get()
            })
            .sum()
    }

    /// The exposition without the store's batches (the tests read this).
    pub fn render(&self, active_locks: i64, uptime: Duration) -> String {
        self.render_with_batches(active_locks, uptime, None)
    }

    /// The whole exposition: every metric, then (SQLite) the write thread's
    /// batches, then OpenMetrics' closing `# EOF`.
    pub fn render_with_batches(
        &self,
        active_locks: i64,
        uptime: Duration,
        batches: Option<WriteBatches>,
    ) -> String {
        self.active_locks.set(active_locks);
        self.uptime_s
            .set(i64::try_from(uptime.as_secs()).unwrap_or(i64::MAX));
        let mut out = String::new();
        // Writing to a String cannot fail; a metric that could not be
        // encoded would show as a cut exposition, never as a panic.
        let _ = encode_registry(&mut out, &self.registry);
        if let Some(b) = batches {
            let _ = encode_registry(&mut out, &write_batches(b));
        }
        let _ = encode_eof(&mut out);
        out
    }
}

/// The SQLite write thread's group commits: how many transactions, how many
/// writes in them (their ratio is the mean batch), how many held more than
/// one write, and the largest. Under load the mean should rise above 1.
fn write_batches(b: WriteBatches) -> Registry {
    let mut r = Registry::default();
    r.register(
        "ccmulti_store_write_batches",
        "Write transactions the store's write thread committed or tried, each a batch of queued writes",
        ConstCounter::new(b.batches),
    );
    r.register(
        "ccmulti_store_batched_writes",
        "Writes run in those batches",
        ConstCounter::new(b.jobs),
    );
    r.register(
        "ccmulti_store_shared_write_batches",
        "Batches that held more than one write",
        ConstCounter::new(b.shared),
    );
    r.register(
        "ccmulti_store_largest_write_batch",
        "The most writes one batch held",
        ConstGauge::new(i64::try_from(b.largest).unwrap_or(i64::MAX)),
    );
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sample_keeps_its_name_and_the_exposition_ends_with_eof() {
        let m = Metrics::default();
        m.count_request("tools/call", "ok");
        m.count_request("tools/call", "ok");
        m.observe_tool("claim_file_lock", Duration::from_micros(1200));
        m.count_conflict();
        m.count_blocked("cursor");
        m.count_refused(Refusal::Token);
        m.count_fast_path();
        let batches = WriteBatches {
            batches: 3,
            jobs: 5,
            shared: 1,
            largest: 2,
        };
        let text = m.render_with_batches(4, Duration::from_secs(9), Some(batches));
        for line in [
            "# TYPE ccmulti_requests counter",
            "ccmulti_requests_total{method=\"tools/call\",outcome=\"ok\"} 2",
            "# TYPE ccmulti_tool_duration_seconds histogram",
            "ccmulti_tool_duration_seconds_bucket{le=\"0.001\",tool=\"claim_file_lock\"} 0",
            "ccmulti_tool_duration_seconds_bucket{le=\"0.0025\",tool=\"claim_file_lock\"} 1",
            "ccmulti_tool_duration_seconds_bucket{le=\"+Inf\",tool=\"claim_file_lock\"} 1",
            "ccmulti_tool_duration_seconds_count{tool=\"claim_file_lock\"} 1",
            "ccmulti_active_locks 4",
            "ccmulti_lock_conflicts_total 1",
            "ccmulti_blocked_calls_total{client=\"cursor\"} 1",
            "ccmulti_refused_requests_total{reason=\"host\"} 0",
            "ccmulti_refused_requests_total{reason=\"token\"} 1",
            "ccmulti_fast_path_answers_total 1",
            "ccmulti_uptime_seconds 9",
            "ccmulti_store_write_batches_total 3",
            "ccmulti_store_batched_writes_total 5",
            "ccmulti_store_shared_write_batches_total 1",
            "ccmulti_store_largest_write_batch 2",
            "ccmulti_connections_accepted_total 0",
            "ccmulti_connections_closed_total{reason=\"refused_at_cap\"} 0",
            "# HELP ccmulti_active_locks Live file locks.",
        ] {
            assert!(text.lines().any(|l| l == line), "{line:?} not in\n{text}");
        }
        assert!(text.ends_with("# EOF\n"), "{text}");
        assert_eq!(text.matches("# EOF").count(), 1, "{text}");
        assert!(
            !text.contains(".."),
            "a help text ends with two periods:\n{text}"
        );
    }

    #[test]
    fn blocked_client_labels_are_bounded() {
        let m = Metrics::default();
        for i in 0..40 {
            m.count_blocked(&format!("client-{i}"));
        }
        m.count_blocked("client-0");
        let text = m.render(0, Duration::ZERO);
        let labels = text
            .lines()
            .filter(|l| l.starts_with("ccmulti_blocked_calls_total{"))
            .count();
        assert_eq!(labels, MAX_BLOCKED_CLIENTS + 1, "{text}");
        assert!(
            text.contains("ccmulti_blocked_calls_total{client=\"other\"} 8"),
            "{text}"
        );
        assert_eq!(m.blocked_total(), 41);
    }
}
