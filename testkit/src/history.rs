//! A history of lock operations as clients saw them (invocation and completion
//! times, outcome), and a checker for the guarantees a lock service owes:
//! never two holders of an exclusive lock at once, fencing tokens that grow
//! with every grant, and no acknowledged release ignored.
//!
//! Only what is certain counts: a client surely held a lock from the moment
//! its grant was acknowledged until it invoked the release. An operation whose
//! outcome is unknown (a transport error) constrains nothing.
#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};

use ccmulti_model::tools::{ClaimResult, ReleaseResult};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Granted { token: i64, renewed: bool },
    Refused { holders: Vec<String> },
    Released,
    NotHeld,
    Unknown,
}

impl Outcome {
    /// A one-path claim's outcome from its tool result (`None`: no answer).
    pub fn of_claim(result: Option<Value>) -> Self {
        match result.map(serde_json::from_value::<ClaimResult>) {
            Some(Ok(r)) if r.success => {
                let lock = r.locks.first();
                Self::Granted {
                    token: lock.map_or(-1, |l| l.fencing_token),
                    renewed: lock.is_some_and(|l| l.renewed),
                }
            }
            Some(Ok(r)) if !r.conflicts.is_empty() => Self::Refused {
                holders: r.conflicts.into_iter().map(|c| c.holder).collect(),
            },
            _ => Self::Unknown,
        }
    }

    /// A release of `path` alone, from its tool result (`None`: no answer).
    pub fn of_release(result: Option<Value>, path: &str) -> Self {
        match result.map(serde_json::from_value::<ReleaseResult>) {
            Some(Ok(r)) if r.released == [path] => Self::Released,
            Some(Ok(r)) if r.not_held == [path] => Self::NotHeld,
            _ => Self::Unknown,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    Claim,
    Release,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Op {
    pub client: String,
    pub kind: Kind,
    pub path: String,
    /// Nanoseconds since the run began.
    pub invoked: u64,
    pub completed: u64,
    pub outcome: Outcome,
}

/// One grant, from its acknowledgement to its release.
#[derive(Debug, Clone)]
struct Hold {
    client: String,
    token: i64,
    granted_invoked: u64,
    granted_completed: u64,
    /// When the release was invoked, and when it was acknowledged (`None`: never).
    release_invoked: Option<u64>,
    release_completed: Option<u64>,
}

pub fn check(history: &[Op]) -> Vec<String> {
    let mut violations = Vec::new();
    let mut per_path: BTreeMap<&str, Vec<&Op>> = BTreeMap::new();
    for op in history {
        per_path.entry(&op.path).or_default().push(op);
    }
    let mut token_owner: HashMap<i64, (String, &str)> = HashMap::new();
    for (path, ops) in per_path {
        let holds = holds(ops.iter().copied(), &mut violations);
        for h in &holds {
            if let Some((c, p)) = token_owner.insert(h.token, (h.client.clone(), path)) {
                violations.push(format!(
                    "token {} granted twice: {c} on {p} and {} on {path}",
                    h.token, h.client
                ));
            }
        }
        let mut by_start: Vec<&Hold> = holds.iter().collect();
        by_start.sort_by_key(|h| h.granted_completed);
        for pair in by_start.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            let a_end = a.release_invoked.unwrap_or(u64::MAX);
            if b.granted_completed < a_end {
                violations.push(format!(
                    "{path}: {} (token {}) and {} (token {}) held it at once",
                    a.client, a.token, b.client, b.token
                ));
            } else if b.token <= a.token {
                violations.push(format!(
                    "{path}: token {} of {} came after token {} of {}",
                    b.token, b.client, a.token, a.client
                ));
            }
        }
        for op in &ops {
            let Outcome::Refused { holders } = &op.outcome else {
                continue;
            };
            for holder in holders {
                let could_hold = holds.iter().any(|h| {
                    &h.client == holder
                        && h.granted_invoked <= op.completed
                        && h.release_completed.is_none_or(|end| end >= op.invoked)
                }) || lost_claim_before(&ops, holder, op.completed);
                if !could_hold {
                    violations.push(format!(
                        "{path}: {} was refused at {} naming {holder}, who could not hold it then (its release was acknowledged, or it never had a grant)",
                        op.client, op.invoked
                    ));
                }
            }
        }
    }
    violations
}

/// Did `client` ask for the path before `time` and never hear back? Such a
/// claim may have been granted, and its holder may be named in a refusal.
fn lost_claim_before(ops: &[&Op], client: &str, time: u64) -> bool {
    ops.iter().any(|o| {
        o.client == client
            && o.kind == Kind::Claim
            && o.outcome == Outcome::Unknown
            && o.invoked <= time
    })
}

/// Each client's grants on one path, closed by its next release.
fn holds<'a>(ops: impl Iterator<Item = &'a Op>, violations: &mut Vec<String>) -> Vec<Hold> {
    let mut per_client: BTreeMap<&str, Vec<&Op>> = BTreeMap::new();
    for op in ops {
        per_client.entry(&op.client).or_default().push(op);
    }
    let mut out = Vec::new();
    for (client, mut ops) in per_client {
        ops.sort_by_key(|o| o.invoked);
        let mut holds = ClientHolds::new(client, violations);
        for op in ops {
            holds.step(op);
        }
        out.extend(holds.finish());
    }
    out
}

/// One client's holds on one path, read op by op in invocation order.
struct ClientHolds<'v> {
    client: String,
    violations: &'v mut Vec<String>,
    closed: Vec<Hold>,
    open: Option<Hold>,
    /// The last hold closed by a release whose answer was lost: that
    /// release may not have happened (the database was down), and a
    /// later renewal of the same token shows it did not.
    maybe_unreleased: Option<Hold>,
    /// A claim whose answer was lost may have been granted: when.
    maybe_granted: Option<u64>,
}

impl<'v> ClientHolds<'v> {
    fn new(client: &str, violations: &'v mut Vec<String>) -> Self {
        ClientHolds {
            client: client.to_owned(),
            violations,
            closed: Vec::new(),
            open: None,
            maybe_unreleased: None,
            maybe_granted: None,
        }
    }

    fn step(&mut self, op: &Op) {
        match (&op.kind, &op.outcome) {
            (
                Kind::Claim,
                Outcome::Granted {
                    token,
                    renewed: false,
                },
            ) => self.granted(op, *token),
            (
                Kind::Claim,
                Outcome::Granted {
                    token,
                    renewed: true,
                },
            ) => self.renewed(op, *token),
            (Kind::Claim, Outcome::Unknown) if self.open.is_none() => {
                self.maybe_granted.get_or_insert(op.invoked);
            }
            (Kind::Release, Outcome::Unknown) => {
                if let Some(mut h) = self.open.take() {
                    h.release_invoked = Some(op.invoked);
                    self.closed.extend(self.maybe_unreleased.replace(h));
                }
            }
            (Kind::Release, outcome) => self.released(op, outcome),
            _ => {}
        }
    }

    fn hold(&self, token: i64, granted_invoked: u64, granted_completed: u64) -> Hold {
        Hold {
            client: self.client.clone(),
            token,
            granted_invoked,
            granted_completed,
            release_invoked: None,
            release_completed: None,
        }
    }

    fn granted(&mut self, op: &Op, token: i64) {
        self.closed.extend(self.maybe_unreleased.take());
        self.maybe_granted = None;
        if let Some(h) = self.open.take() {
            self.violations.push(format!(
                "{}: new grant (token {token}) while still holding token {}",
                self.client, h.token
            ));
            self.closed.push(h);
        }
        self.open = Some(self.hold(token, op.invoked, op.completed));
    }

    fn renewed(&mut self, op: &Op, token: i64) {
        let client = &self.client;
        match &self.open {
            Some(h) if h.token == token => {}
            Some(h) => self.violations.push(format!(
                "{client}: renewal changed token {} to {token}",
                h.token
            )),
            None => match (self.maybe_unreleased.take(), self.maybe_granted.take()) {
                (Some(mut h), _) if h.token == token => {
                    h.release_invoked = None;
                    h.release_completed = None;
                    self.open = Some(h);
                }
                // The lost claim was granted: held surely from this answer on.
                (earlier, Some(invoked)) => {
                    self.closed.extend(earlier);
                    self.open = Some(self.hold(token, invoked, op.completed));
                }
                _ => self.violations.push(format!(
                    "{client}: renewal (token {token}) of a lock it did not hold"
                )),
            },
        }
    }

    fn released(&mut self, op: &Op, outcome: &Outcome) {
        if let Some(mut h) = self.open.take() {
            h.release_invoked = Some(op.invoked);
            h.release_completed = (*outcome == Outcome::Released).then_some(op.completed);
            if *outcome == Outcome::NotHeld {
                self.violations.push(format!(
                    "{}: release of token {} answered not held",
                    self.client, h.token
                ));
            }
            self.closed.push(h);
        }
    }

    fn finish(mut self) -> Vec<Hold> {
        self.closed.extend(self.maybe_unreleased);
        self.closed.extend(self.open);
        self.closed
    }
}

/// Histories the checker must reject, so a green run means something.
pub fn self_test() {
    let op = |client: &str, kind: Kind, invoked: u64, completed: u64, outcome: Outcome| Op {
        client: client.into(),
        kind,
        path: "a.rs".into(),
        invoked,
        completed,
        outcome,
    };
    let grant = |token| Outcome::Granted {
        token,
        renewed: false,
    };
    let good = vec![
        op("a", Kind::Claim, 0, 10, grant(1)),
        op(
            "b",
            Kind::Claim,
            12,
            14,
            Outcome::Refused {
                holders: vec!["a".into()],
            },
        ),
        op("a", Kind::Release, 20, 30, Outcome::Released),
        op("b", Kind::Claim, 31, 40, grant(2)),
        op("b", Kind::Release, 50, 60, Outcome::Released),
    ];
    assert_eq!(check(&good), Vec::<String>::new());
    let overlap = vec![
        op("a", Kind::Claim, 0, 10, grant(1)),
        op("b", Kind::Claim, 5, 15, grant(2)),
        op("a", Kind::Release, 20, 30, Outcome::Released),
        op("b", Kind::Release, 40, 50, Outcome::Released),
    ];
    assert!(check(&overlap)[0].contains("held it at once"));
    // A release whose answer was lost, then a renewal of the same token: the
    // release never happened, and the hold goes on; fine alone, a violation
    // if someone else was granted in between.
    let renewed = Outcome::Granted {
        token: 1,
        renewed: true,
    };
    let lost_release = vec![
        op("a", Kind::Claim, 0, 10, grant(1)),
        op("a", Kind::Release, 20, 30, Outcome::Unknown),
        op("a", Kind::Claim, 40, 50, renewed.clone()),
        op("a", Kind::Release, 60, 70, Outcome::Released),
    ];
    assert_eq!(check(&lost_release), Vec::<String>::new());
    // A claim whose answer was lost, granted in fact: b is refused naming a,
    // and a's next claim renews it.
    let lost_claim = vec![
        op("a", Kind::Claim, 0, 10, Outcome::Unknown),
        op(
            "b",
            Kind::Claim,
            12,
            14,
            Outcome::Refused {
                holders: vec!["a".into()],
            },
        ),
        op("a", Kind::Claim, 40, 50, renewed.clone()),
        op("a", Kind::Release, 60, 70, Outcome::Released),
    ];
    assert_eq!(check(&lost_claim), Vec::<String>::new());
    let mut granted_between = lost_release.clone();
    granted_between.insert(2, op("b", Kind::Claim, 32, 35, grant(2)));
    granted_between.push(op("b", Kind::Release, 80, 90, Outcome::Released));
    assert!(
        check(&granted_between)
            .iter()
            .any(|v| v.contains("held it at once")),
        "{:?}",
        check(&granted_between)
    );
    let stale_token = vec![
        op("a", Kind::Claim, 0, 10, grant(5)),
        op("a", Kind::Release, 20, 30, Outcome::Released),
        op("b", Kind::Claim, 31, 40, grant(4)),
        op("b", Kind::Release, 50, 60, Outcome::Released),
    ];
    assert!(check(&stale_token)[0].contains("came after"));
    let ignored_release = vec![
        op("a", Kind::Claim, 0, 10, grant(1)),
        op("a", Kind::Release, 20, 30, Outcome::Released),
        op(
            "b",
            Kind::Claim,
            31,
            40,
            Outcome::Refused {
                holders: vec!["a".into()],
            },
        ),
    ];
    assert!(check(&ignored_release)[0].contains("could not hold it"));
}
