//! Who does what: groups of colliding tasks stay whole, and the groups are
//! dealt heaviest first to the least-loaded agent, so load evens out.

/// A task's weight: one for the task, a quarter for each file it edits.
pub fn task_weight(file_count: usize) -> f64 {
    1.0 + 0.25 * file_count as f64
}

/// Groups joined further by weak ties (tasks that may share a file, on weak
/// evidence): two groups are merged while the merged group still weighs no
/// more than an even share of the work among `agents`, so a guess keeps
/// tasks together when it costs nothing and never piles the plan onto one
/// agent. Ties are taken in the order given; groups come back in task order.
pub fn join_weak_ties(
    groups: &[Vec<usize>],
    weights: &[f64],
    ties: &[(usize, usize)],
    agents: usize,
) -> Vec<Vec<usize>> {
    let weight = |t: &usize| weights.get(*t).copied().unwrap_or(1.0);
    let fair = groups.iter().flatten().map(weight).sum::<f64>() / agents.max(1) as f64;
    let mut joined: Vec<Vec<usize>> = groups.to_vec();
    for &(a, b) in ties {
        let (Some(ga), Some(gb)) = (
            joined.iter().position(|g| g.contains(&a)),
            joined.iter().position(|g| g.contains(&b)),
        ) else {
            continue;
        };
        if ga == gb {
            continue;
        }
        let merged: f64 = joined[ga].iter().chain(&joined[gb]).map(weight).sum();
        if merged <= fair {
            let (keep, gone) = (ga.min(gb), ga.max(gb));
            let moved = joined.remove(gone);
            joined[keep].extend(moved);
            joined[keep].sort_unstable();
        }
    }
    joined.sort_by_key(|g| g.first().copied());
    joined
}

/// For each agent, the task indices it gets (in task order). Agents past the
/// number of groups would have nothing to do, so fewer lists may come back.
pub fn balance(groups: &[Vec<usize>], weights: &[f64], agents: usize) -> Vec<Vec<usize>> {
    let agents = agents.min(groups.len()).max(1);
    let group_weight = |g: &Vec<usize>| {
        g.iter()
            .map(|t| weights.get(*t).copied().unwrap_or(1.0))
            .sum::<f64>()
    };
    let mut order: Vec<&Vec<usize>> = groups.iter().collect();
    // Heaviest first; ties keep task order so a plan is reproducible.
    order.sort_by(|a, b| {
        group_weight(b)
            .total_cmp(&group_weight(a))
            .then(a[0].cmp(&b[0]))
    });
    let mut loads = vec![0.0f64; agents];
    let mut assigned: Vec<Vec<usize>> = vec![Vec::new(); agents];
    for group in order {
        let lightest = (0..agents)
            .min_by(|a, b| loads[*a].total_cmp(&loads[*b]).then(a.cmp(b)))
            .unwrap_or(0);
        loads[lightest] += group_weight(group);
        assigned[lightest].extend(group.iter().copied());
    }
    for tasks in &mut assigned {
        tasks.sort_unstable();
    }
    assigned.retain(|t| !t.is_empty());
    assigned
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heavy_groups_spread_and_colliding_tasks_stay_together() {
        // Round robin would give agent 0 tasks 0 and 2 (weight 6) and agent 1 the rest (2).
        let groups = vec![vec![0], vec![1], vec![2], vec![3]];
        let weights = [3.0, 1.0, 3.0, 1.0];
        assert_eq!(balance(&groups, &weights, 2), [vec![0, 1], vec![2, 3]]);
        let groups = vec![vec![0, 3], vec![1], vec![2]];
        let got = balance(&groups, &[1.0; 4], 3);
        assert!(got.contains(&vec![0, 3]));
        assert_eq!(got.len(), 3);
    }

    #[test]
    fn weak_ties_join_groups_only_within_an_even_share() {
        let groups = vec![vec![0], vec![1], vec![2], vec![3]];
        // An even share at 2 agents is 2: 0 and 1 join, 2 may not join them too.
        let got = join_weak_ties(&groups, &[1.0; 4], &[(0, 1), (1, 2), (2, 3)], 2);
        assert_eq!(got, [vec![0, 1], vec![2, 3]]);
        // At 4 agents the share is 1: nothing joins.
        assert_eq!(join_weak_ties(&groups, &[1.0; 4], &[(0, 1)], 4), groups);
    }

    #[test]
    fn never_more_agents_than_groups() {
        assert_eq!(balance(&[vec![0, 1]], &[1.0, 1.0], 4), [vec![0, 1]]);
    }
}
