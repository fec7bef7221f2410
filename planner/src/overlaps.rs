//! Which tasks collide: on the same files (they must share an agent), or one
//! removed, through an import (worth a note, not a constraint). A pair of
//! tasks that collide is a [`TaskOverlap`]; it is about planned work, not
//! about locks held on files.

use std::collections::BTreeSet;

use ccmulti_model::tools::plan::{Complexity, MAX_AGENTS, MIN_AGENTS};

use crate::matching::TaskFiles;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OverlapKind {
    /// Both tasks edit these files.
    SharedFiles,
    /// One task edits files that the other's files import.
    Dependency,
}

impl OverlapKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SharedFiles => "shared_files",
            Self::Dependency => "dependency",
        }
    }
}

/// How sure the overlap is. Two tasks sharing a file each is strongly matched
/// to must share an agent (high); a file only one of them is strongly matched
/// to is as likely a wrong guess on a big central module, so distribution keeps
/// such tasks together only while the load allows (medium); imports are notes (low).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    High,
    Medium,
    Low,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::High => "high",
            Self::Medium => "medium",
            Self::Low => "low",
        }
    }
}

/// Two tasks that collide on files, and how (the analysis reports it as a
/// conflict between tasks).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskOverlap {
    pub kind: OverlapKind,
    pub severity: Severity,
    /// Task indices, the lower first.
    pub tasks: (usize, usize),
    pub files: Vec<String>,
}

pub fn find(tasks: &[TaskFiles]) -> Vec<TaskOverlap> {
    let mut out = Vec::new();
    for (i, a) in tasks.iter().enumerate() {
        for (j, b) in tasks.iter().enumerate().skip(i + 1) {
            let shared = intersect(&a.files, &b.files);
            if !shared.is_empty() {
                let sure = shared
                    .iter()
                    .any(|f| a.strong.contains(f) && b.strong.contains(f));
                out.push(TaskOverlap {
                    kind: OverlapKind::SharedFiles,
                    severity: if sure {
                        Severity::High
                    } else {
                        Severity::Medium
                    },
                    tasks: (i, j),
                    files: shared,
                });
                continue;
            }
            let mut through: BTreeSet<String> =
                intersect(&a.files, &b.related).into_iter().collect();
            through.extend(intersect(&a.related, &b.files));
            if !through.is_empty() {
                out.push(TaskOverlap {
                    kind: OverlapKind::Dependency,
                    severity: Severity::Low,
                    tasks: (i, j),
                    files: through.into_iter().collect(),
                });
            }
        }
    }
    out
}

fn intersect(a: &[String], b: &[String]) -> Vec<String> {
    let b: BTreeSet<&String> = b.iter().collect();
    a.iter().filter(|f| b.contains(f)).cloned().collect()
}

/// Tasks joined by surely shared files (high severity), transitively: each
/// group goes to one agent. Groups and their members are in task order.
pub fn groups(task_count: usize, overlaps: &[TaskOverlap]) -> Vec<Vec<usize>> {
    let mut leader: Vec<usize> = (0..task_count).collect();
    fn find_leader(leader: &mut [usize], mut i: usize) -> usize {
        while leader[i] != i {
            leader[i] = leader[leader[i]];
            i = leader[i];
        }
        i
    }
    for c in overlaps.iter().filter(|c| c.severity == Severity::High) {
        let (a, b) = (
            find_leader(&mut leader, c.tasks.0),
            find_leader(&mut leader, c.tasks.1),
        );
        leader[a.max(b)] = a.min(b);
    }
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut slot_of_leader = vec![usize::MAX; task_count];
    for task in 0..task_count {
        let l = find_leader(&mut leader, task);
        if slot_of_leader[l] == usize::MAX {
            slot_of_leader[l] = groups.len();
            groups.push(Vec::new());
        }
        groups[slot_of_leader[l]].push(task);
    }
    groups
}

/// More agents pay off only when each has enough to do alone.
fn agent_cap(complexity: Complexity) -> usize {
    match complexity {
        Complexity::Simple => 3,
        Complexity::Moderate => 4,
        Complexity::Complex => MAX_AGENTS,
    }
}

/// One agent per independent group, within 2 to 5 and the complexity's cap.
pub fn recommended_agents(group_count: usize, complexity: Complexity) -> usize {
    group_count.clamp(MIN_AGENTS, agent_cap(complexity))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(files: &[&str], related: &[&str]) -> TaskFiles {
        TaskFiles {
            files: files.iter().map(|f| (*f).to_owned()).collect(),
            strong: files.iter().map(|f| (*f).to_owned()).collect(),
            related: related.iter().map(|f| (*f).to_owned()).collect(),
            given: true,
            ..TaskFiles::default()
        }
    }

    #[test]
    fn shared_files_and_dependencies() {
        let tasks = [
            task(&["a.rs", "b.rs"], &[]),
            task(&["b.rs"], &[]),
            task(&["c.rs"], &["a.rs"]),
            task(&["d.rs"], &[]),
        ];
        let found = find(&tasks);
        assert_eq!(
            found,
            [
                TaskOverlap {
                    kind: OverlapKind::SharedFiles,
                    severity: Severity::High,
                    tasks: (0, 1),
                    files: vec!["b.rs".into()]
                },
                TaskOverlap {
                    kind: OverlapKind::Dependency,
                    severity: Severity::Low,
                    tasks: (0, 2),
                    files: vec!["a.rs".into()]
                },
            ]
        );
        assert_eq!(groups(4, &found), [vec![0, 1], vec![2], vec![3]]);
    }

    #[test]
    fn groups_are_transitive() {
        let tasks = [task(&["a"], &[]), task(&["b"], &[]), task(&["a", "b"], &[])];
        assert_eq!(groups(3, &find(&tasks)), [vec![0, 1, 2]]);
    }

    /// A file one task only guesses at (below its strong share) is a medium
    /// conflict: reported, but it does not tie the two tasks into one group.
    #[test]
    fn a_weak_overlap_is_not_a_high_conflict() {
        let mut guess = task(&["core.rs", "cli.rs"], &[]);
        guess.strong = vec!["cli.rs".into()];
        let tasks = [task(&["core.rs"], &[]), guess, task(&["cli.rs"], &[])];
        let found = find(&tasks);
        let severities: Vec<(usize, usize, Severity)> = found
            .iter()
            .map(|c| (c.tasks.0, c.tasks.1, c.severity))
            .collect();
        assert_eq!(
            severities,
            [(0, 1, Severity::Medium), (1, 2, Severity::High)]
        );
        assert!(found.iter().all(|c| c.kind == OverlapKind::SharedFiles));
        assert_eq!(groups(3, &found), [vec![0], vec![1, 2]]);
    }

    #[test]
    fn recommendation_stays_within_two_to_five() {
        assert_eq!(recommended_agents(1, Complexity::Moderate), 2);
        assert_eq!(recommended_agents(3, Complexity::Moderate), 3);
        assert_eq!(recommended_agents(9, Complexity::Moderate), 4);
        assert_eq!(recommended_agents(9, Complexity::Simple), 3);
        assert_eq!(recommended_agents(9, Complexity::Complex), 5);
    }
}
