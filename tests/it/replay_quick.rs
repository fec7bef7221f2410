//! The replay benchmark's quick form in CI (`benches/replay.rs`, BENCHMARKS.md
//! "Replay of real history"): one window of real history (hypothesis 6.118.3
//! to 6.118.7, four consecutive releases), one real Claude Code per commit,
//! all started at once in one checkout, played by the reacting stand-in model.
//!
//! What must hold, with ccmulti in one checkout: no applied edit is undone
//! (each edit is made under its lock), and every file whose hunks all went in
//! ends equal to the real history. Each agent's edits of a file are not one
//! run any more: the lock the hook takes lapses a short lease after the last
//! edit, or when the agent edits another file (issue 24, item 5), so another
//! agent may edit between two of them (the bench counts those as
//! interleavings). That no hunk is lost held in every run since, but is left
//! to the bench: it rests on the stand-in's patience under a loaded CI
//! machine. The control (the same without ccmulti) runs too, and only has to
//! finish.
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
fn in_one_checkout_with_ccmulti_no_edit_is_undone_and_files_end_as_in_history() {
    let Some(claude) = claude_or_skip(
        "in_one_checkout_with_ccmulti_no_edit_is_undone_and_files_end_as_in_history",
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
