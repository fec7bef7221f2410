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

#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Granted { token: i64, renewed: bool },
    Refused { holders: Vec<String> },
    Released,
    NotHeld,
    Unknown,
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
        for op in ops {
            let Outcome::Refused { holders } = &op.outcome else {
                continue;
            };
            for holder in holders {
                let could_hold = holds.iter().any(|h| {
                    &h.client == holder
                        && h.granted_invoked <= op.completed
                        && h.release_completed.is_none_or(|end| end >= op.invoked)
                });
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

/// Each client's grants on one path, closed by its next release.
fn holds<'a>(ops: impl Iterator<Item = &'a Op>, violations: &mut Vec<String>) -> Vec<Hold> {
    let mut per_client: BTreeMap<&str, Vec<&Op>> = BTreeMap::new();
    for op in ops {
        per_client.entry(&op.client).or_default().push(op);
    }
    let mut out = Vec::new();
    for (client, mut ops) in per_client {
        ops.sort_by_key(|o| o.invoked);
        let mut open: Option<Hold> = None;
        for op in ops {
            match (&op.kind, &op.outcome) {
                (
                    Kind::Claim,
                    Outcome::Granted {
                        token,
                        renewed: false,
                    },
                ) => {
                    if let Some(h) = open.take() {
                        violations.push(format!(
                            "{client}: new grant (token {token}) while still holding token {}",
                            h.token
                        ));
                        out.push(h);
                    }
                    open = Some(Hold {
                        client: client.to_owned(),
                        token: *token,
                        granted_invoked: op.invoked,
                        granted_completed: op.completed,
                        release_invoked: None,
                        release_completed: None,
                    });
                }
                (
                    Kind::Claim,
                    Outcome::Granted {
                        token,
                        renewed: true,
                    },
                ) => match &open {
                    Some(h) if h.token == *token => {}
                    Some(h) => violations.push(format!(
                        "{client}: renewal changed token {} to {token}",
                        h.token
                    )),
                    None => violations.push(format!(
                        "{client}: renewal (token {token}) of a lock it did not hold"
                    )),
                },
                (Kind::Release, outcome) => {
                    if let Some(mut h) = open.take() {
                        h.release_invoked = Some(op.invoked);
                        h.release_completed =
                            (*outcome == Outcome::Released).then_some(op.completed);
                        if *outcome == Outcome::NotHeld {
                            violations.push(format!(
                                "{client}: release of token {} answered not held",
                                h.token
                            ));
                        }
                        out.push(h);
                    }
                }
                _ => {}
            }
        }
        out.extend(open);
    }
    out
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
