//! Load over HTTP, shared by the soak test (`tests/it/soak.rs`) and the benches
//! (`benches/soak.rs`, `benches/scale.rs`, `benches/claim_release.rs`), one
//! job a file: a coordinator in this process (`serve.rs`), tool calls shaped
//! like Claude Code's (`endpoint.rs`), latency percentiles (`latency.rs`), a
//! process's resident memory (`rss.rs`) and the soak's agents (`soak.rs`).
//! Each item has one name, here.

mod endpoint;
mod latency;
mod rss;
mod serve;
mod soak;

pub use endpoint::{Endpoint, clip, http_client};
pub use latency::{Latencies, Summary, percentile};
pub use rss::{RssSamples, rss_kib};
pub use serve::{InProcess, serve_in_process, serve_store};
pub use soak::{SoakOutcome, SoakPlan, soak};

/// A bench's numeric arguments in order (`cargo bench` adds `--bench`, which is skipped).
pub fn bench_args() -> Vec<u64> {
    std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .filter_map(|a| a.parse().ok())
        .collect()
}
