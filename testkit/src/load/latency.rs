//! Latency percentiles per operation, over the whole run and its thirds.

use std::collections::BTreeMap;
use std::time::Instant;

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
