//! What the run shows: the exclusion history checked, grants and releases
//! acknowledged but not found in the database at the end, coordinators that
//! ended by themselves, errors that said nothing useful, calls answered past
//! their bound, and how long each fault took to mend.

use std::collections::BTreeMap;
use std::time::Duration;

use ccmulti_testkit::history::{Kind, Op, Outcome, check};

use crate::agents::{Answer, Call};
use crate::faults::Window;
use crate::hostile::Case;

/// Scheduling on a loaded machine, the client's own work.
pub const SLACK: Duration = Duration::from_millis(500);

/// For each (client, path), whether the client holds it after its last
/// acknowledged operation (`None`: an operation after it has no answer).
fn expected_holds(ops: &[Op]) -> BTreeMap<(String, String), Option<bool>> {
    let mut sorted: Vec<&Op> = ops.iter().collect();
    sorted.sort_by_key(|o| o.invoked);
    let mut state = BTreeMap::new();
    for op in sorted {
        let entry = state
            .entry((op.client.clone(), op.path.clone()))
            .or_insert(Some(false));
        match (&op.kind, &op.outcome) {
            (Kind::Claim, Outcome::Granted { .. }) => *entry = Some(true),
            (Kind::Release, Outcome::Released | Outcome::NotHeld) => *entry = Some(false),
            (_, Outcome::Unknown) => *entry = None,
            (Kind::Claim, _) | (Kind::Release, _) => {}
        }
    }
    state
}

/// Acknowledged grants not held at the end, and acknowledged releases still
/// held, against `held` (client, path) read from the database.
pub fn lost(ops: &[Op], held: &[(String, String)]) -> Vec<String> {
    let mut out = Vec::new();
    for ((client, path), expected) in expected_holds(ops) {
        let is_held = held.iter().any(|(c, p)| *c == client && *p == path);
        match expected {
            Some(true) if !is_held => {
                out.push(format!("{client} was granted {path}; not held at the end"))
            }
            Some(false) if is_held => {
                out.push(format!("{client} released {path}; still held at the end"))
            }
            _ => {}
        }
    }
    out
}

/// Was `call` made to a coordinator that was itself down or frozen meanwhile?
fn excused(call: &Call, windows: &[Window]) -> bool {
    windows.iter().any(|w| {
        w.excused
            && w.coordinators.contains(&call.coordinator)
            && call.invoked < w.end + SLACK
            && call.completed + SLACK > w.start
    })
}

pub struct Summary {
    pub violations: Vec<String>,
    pub lost: Vec<String>,
    pub crashes: Vec<String>,
    pub unclear: Vec<String>,
    pub late: Vec<String>,
}

impl Summary {
    pub fn clean(&self) -> bool {
        [
            &self.violations,
            &self.lost,
            &self.crashes,
            &self.unclear,
            &self.late,
        ]
        .iter()
        .all(|v| v.is_empty())
    }
}

/// One backend's history: its label, its claims and releases, and the
/// locks (agent, path) its database holds at the end.
pub struct History<'a> {
    pub label: &'a str,
    pub ops: &'a [Op],
    pub held: Vec<(String, String)>,
}

pub struct Inputs<'a> {
    pub histories: Vec<History<'a>>,
    pub calls: &'a [Call],
    pub windows: &'a [Window],
    pub cases: &'a [Case],
    pub crashes: Vec<String>,
}

pub fn summarise(inputs: &Inputs<'_>) -> Summary {
    let mut violations = Vec::new();
    let mut lost_all = Vec::new();
    for History { label, ops, held } in &inputs.histories {
        violations.extend(check(ops).into_iter().map(|v| format!("{label}: {v}")));
        lost_all.extend(lost(ops, held).into_iter().map(|l| format!("{label}: {l}")));
    }
    let mut unclear: Vec<String> = inputs
        .calls
        .iter()
        .filter_map(|c| match &c.answer {
            Answer::Unclear(e) => Some(format!("{} on coordinator {}: {e}", c.tool, c.coordinator)),
            // No answer from a coordinator that was up: as unclear as it gets.
            Answer::Transport(e) if !excused(c, inputs.windows) => Some(format!(
                "{} on coordinator {} (up): {e}",
                c.tool, c.coordinator
            )),
            _ => None,
        })
        .collect();
    unclear.extend(
        inputs
            .cases
            .iter()
            .filter_map(|c| c.outcome.as_ref().err().map(|e| format!("{}: {e}", c.name))),
    );
    let late = inputs
        .calls
        .iter()
        .filter(|c| c.completed - c.invoked > c.bound + SLACK && !excused(c, inputs.windows))
        .map(|c| {
            format!(
                "{} on coordinator {} at {:.1} s took {:.2} s (bound {:.0} s)",
                c.tool,
                c.coordinator,
                c.invoked.as_secs_f64(),
                (c.completed - c.invoked).as_secs_f64(),
                c.bound.as_secs_f64()
            )
        })
        .collect();
    Summary {
        violations,
        lost: lost_all,
        crashes: inputs.crashes.clone(),
        unclear,
        late,
    }
}

/// The first call that got a result from one of the window's coordinators
/// after the window ended: how long after.
pub fn recovery(window: &Window, calls: &[Call]) -> Option<Duration> {
    calls
        .iter()
        .filter(|c| window.coordinators.contains(&c.coordinator))
        .filter(|c| c.answer == Answer::Result && c.completed > window.end)
        .map(|c| c.completed - window.end)
        .min()
}

/// How the calls made during the window were answered, by kind.
pub fn during(window: &Window, calls: &[Call]) -> String {
    let mut counts = BTreeMap::<&str, usize>::new();
    let mut slowest = Duration::ZERO;
    for c in calls.iter().filter(|c| {
        window.coordinators.contains(&c.coordinator)
            && c.invoked >= window.start
            && c.invoked < window.end
    }) {
        let kind = match c.answer {
            Answer::Result => "result",
            Answer::Unavailable => "unavailable",
            Answer::Transport(_) => "no answer",
            Answer::Unclear(_) => "unclear",
        };
        *counts.entry(kind).or_default() += 1;
        slowest = slowest.max(c.completed - c.invoked);
    }
    let counts: Vec<String> = counts.iter().map(|(k, n)| format!("{n} {k}")).collect();
    format!(
        "{}; slowest {:.2} s",
        counts.join(", "),
        slowest.as_secs_f64()
    )
}
