//! A process's resident memory from /proc, sampled over a run.

use std::time::{Duration, Instant};

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
        Self::sample_while(pid, every, move || Instant::now() < until).await
    }

    /// Samples `pid` every `every` for as long as `go_on` says (once more after it stops).
    pub async fn sample_while(pid: u32, every: Duration, go_on: impl Fn() -> bool) -> Self {
        let started = Instant::now();
        let mut samples = Vec::new();
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            if let Some(kib) = rss_kib(pid) {
                samples.push((started.elapsed().as_secs_f64(), kib));
            }
            if !go_on() {
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
