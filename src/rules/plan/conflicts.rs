//! Which tasks collide: on the same files (they must share an agent), or one
//! removed, through an import (worth a note, not a constraint).

use std::collections::BTreeSet;

use super::MAX_AGENTS;
use super::MIN_AGENTS;
use super::matching::TaskFiles;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConflictKind {
    /// Both tasks edit these files.
    SharedFiles,
    /// One task edits files that the other's files import.
    Dependency,
}

impl ConflictKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SharedFiles => "shared_files",
            Self::Dependency => "dependency",
        }
    }

    pub fn severity(self) -> &'static str {
        match self {
            Self::SharedFiles => "high",
            Self::Dependency => "low",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    pub kind: ConflictKind,
    /// Task indices, the lower first.
    pub tasks: (usize, usize),
    pub files: Vec<String>,
}

pub fn find(tasks: &[TaskFiles]) -> Vec<Conflict> {
    let mut out = Vec::new();
    for (i, a) in tasks.iter().enumerate() {
        for (j, b) in tasks.iter().enumerate().skip(i + 1) {
            let shared = intersect(&a.files, &b.files);
            if !shared.is_empty() {
                out.push(Conflict {
                    kind: ConflictKind::SharedFiles,
                    tasks: (i, j),
                    files: shared,
                });
                continue;
            }
            let mut through: BTreeSet<String> =
                intersect(&a.files, &b.related).into_iter().collect();
            through.extend(intersect(&a.related, &b.files));
            if !through.is_empty() {
                out.push(Conflict {
                    kind: ConflictKind::Dependency,
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

/// Tasks joined by shared files, transitively: each group goes to one agent.
/// Groups and their members are in task order.
pub fn groups(task_count: usize, conflicts: &[Conflict]) -> Vec<Vec<usize>> {
    let mut leader: Vec<usize> = (0..task_count).collect();
    fn find_leader(leader: &mut [usize], mut i: usize) -> usize {
        while leader[i] != i {
            leader[i] = leader[leader[i]];
            i = leader[i];
        }
        i
    }
    for c in conflicts
        .iter()
        .filter(|c| c.kind == ConflictKind::SharedFiles)
    {
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

pub use ccmulti_model::tools::plan::Complexity;

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
                Conflict {
                    kind: ConflictKind::SharedFiles,
                    tasks: (0, 1),
                    files: vec!["b.rs".into()]
                },
                Conflict {
                    kind: ConflictKind::Dependency,
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

    #[test]
    fn recommendation_stays_within_two_to_five() {
        assert_eq!(recommended_agents(1, Complexity::Moderate), 2);
        assert_eq!(recommended_agents(3, Complexity::Moderate), 3);
        assert_eq!(recommended_agents(9, Complexity::Moderate), 4);
        assert_eq!(recommended_agents(9, Complexity::Simple), 3);
        assert_eq!(recommended_agents(9, Complexity::Complex), 5);
    }
}
