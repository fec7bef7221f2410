//! The replay benchmark's quick form in CI (`benches/replay.rs`, BENCHMARKS.md
//! "Replay of real history"): one window of real history (hypothesis 6.118.3
//! to 6.118.7, four consecutive releases), one real Claude Code per commit,
//! all started at once in one checkout, played by the reacting stand-in model.
//!
//! What holds today and must keep holding, with ccmulti in one checkout:
//! every overlapping edit is serialised (no interleaving), no applied edit is
//! undone, and every file whose hunks all went in ends equal to the real
//! history. (That no hunk at all is lost does not hold today: an agent keeps
//! the lock the hook took for a file while it waits for another commit's text
//! elsewhere, and the agent that would write that text waits for the file;
//! the wait ends only with the first agent's patience. Issue 24, item 5.)
//! The control (the same without ccmulti) runs too, and only has to finish.
//!
//! SQLite only: `ccmulti team`, which sets the agents up, is SQLite only.
//! Skipped, saying so, without Claude Code or python3; `.ci/run` sets
//! CCMULTI_REQUIRE_INTEROP=1, which makes that a failure.

#[allow(dead_code)]
#[path = "../../benches/replay/mod.rs"]
mod replay;

use std::collections::BTreeSet;

use ccmulti_testkit::claude::claude_or_skip;

use replay::measure::measure;
use replay::report;
use replay::run::{Condition, Pace, run};
use replay::window::Window;

const WINDOW: &str = "hypothesis-6.118";

#[test]
fn in_one_checkout_with_ccmulti_edits_are_serialised_and_files_end_as_in_history() {
    let Some(claude) = claude_or_skip(
        "in_one_checkout_with_ccmulti_edits_are_serialised_and_files_end_as_in_history",
        &[],
    ) else {
        return;
    };
    let window = Window::all()
        .into_iter()
        .find(|w| w.name == WINDOW)
        .expect("the quick window is shipped");
    let scratch = tempfile::tempdir().expect("tempdir");
    let history = window.history_end(scratch.path());
    let hunks = window.hunks();
    let pace = Pace::default();
    for condition in [Condition::OneCheckout, Condition::OneCheckoutCcmulti] {
        let ran = run(&window, condition, 1, &pace, &claude);
        let figures = measure(&ran, hunks, &history);
        let said = format!(
            "{}\n{}\n{}",
            report::header(),
            report::line(WINDOW, condition.name(), &figures),
            report::notes(&figures).join("\n")
        );
        assert!(figures.failures.is_empty(), "{said}");
        if condition.ccmulti() {
            assert_eq!(
                figures.interleavings, 0,
                "edits interleaved with ccmulti:\n{said}"
            );
            assert_eq!(
                figures.gone, 0,
                "applied edits undone with ccmulti:\n{said}"
            );
            let lost: BTreeSet<&str> = ran
                .events
                .iter()
                .filter(|e| e["event"] == "lost")
                .filter_map(|e| e["path"].as_str())
                .collect();
            for (path, want) in &history {
                if !lost.contains(path.as_str()) {
                    assert_eq!(
                        ran.end.get(path),
                        Some(want),
                        "{path} lost no hunk but does not end as in history:\n{said}"
                    );
                }
            }
        }
    }
}
