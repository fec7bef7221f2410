//! How a table's width is shared among its columns, as a pure function.
//!
//! Names (an agent, a branch, a task id, a lock's holder, a path) keep their
//! full width while the free text (what an agent is doing, a task's message,
//! an event's detail) can give: free text takes what is left, and is cut
//! first, down to a floor. Only when that is not enough do the other columns
//! give way, least important first: an optional column drops out, any other
//! shortens towards its least width, and columns of equal importance share
//! the cut, the widest first, so that no one of them is cut to nothing while
//! another stays whole. A column whose shortening loses nothing (a role
//! abbreviated, a header's short form) gives way before any free text is cut.

/// How a column gives way when the table is too narrow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Give {
    /// Free text: takes what the other columns leave, cut first down to
    /// `floor`; room beyond every column's natural width is shared among the
    /// free columns in proportion to `weight` (0 takes none).
    Free { floor: u16, weight: u16 },
    /// Kept at its natural width while the free text is above its floor;
    /// then, in rank order (the highest rank gives first), dropped when
    /// `optional`, else shortened to `least`. A `lossless` column (its least
    /// width shows the same thing, abbreviated) goes straight to `least` as
    /// soon as the free text would otherwise be cut at all.
    Keep {
        rank: u8,
        least: u16,
        optional: bool,
        lossless: bool,
    },
}

/// What one column asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Need {
    /// Its widest cell, header included.
    pub natural: u16,
    pub give: Give,
}

/// Each column's width, `None` for a column left out. The widths and one
/// `gap` between neighbouring columns fit in `total`, even when that means
/// cutting below the least widths (the rightmost columns first).
pub fn allocate(total: u16, gap: u16, needs: &[Need]) -> Vec<Option<u16>> {
    let mut widths: Vec<Option<u16>> = needs.iter().map(|n| Some(n.natural)).collect();
    let mut ranks: Vec<u8> = needs
        .iter()
        .filter_map(|n| match n.give {
            Give::Keep { rank, .. } => Some(rank),
            Give::Free { .. } => None,
        })
        .collect();
    ranks.sort_unstable_by(|a, b| b.cmp(a));
    ranks.dedup();
    for &rank in &ranks {
        abbreviate(rank, total, gap, needs, &mut widths);
    }
    for &rank in &ranks {
        concede(rank, total, gap, needs, &mut widths);
    }
    let room = total
        .saturating_sub(gaps(gap, &widths))
        .saturating_sub(kept(needs, &widths));
    share_free(room, needs, &mut widths);
    let used = kept(needs, &widths) + free(needs, &widths) + gaps(gap, &widths);
    cut_from_right(used.saturating_sub(total), &mut widths);
    widths
}

/// The lossless columns of one rank take their least width, while the free
/// text is short of its natural width.
fn abbreviate(rank: u8, total: u16, gap: u16, needs: &[Need], widths: &mut [Option<u16>]) {
    for (i, need) in needs.iter().enumerate() {
        let lossless = matches!(need.give, Give::Keep { rank: r, lossless: true, optional: false, .. }
            if r == rank);
        if lossless && shortfall(total, gap, needs, widths, Text::Whole) > 0 {
            widths[i] = Some(least(need));
        }
    }
}

/// The columns of one rank give way: optional ones drop (rightmost first),
/// the others shorten together, as far as the free text needs.
fn concede(rank: u8, total: u16, gap: u16, needs: &[Need], widths: &mut [Option<u16>]) {
    let of_rank = |optional_wanted: bool| {
        needs
            .iter()
            .enumerate()
            .filter(move |(_, n)| {
                matches!(n.give, Give::Keep { rank: r, optional, .. }
                    if r == rank && optional == optional_wanted)
            })
            .map(|(i, _)| i)
    };
    let optional: Vec<usize> = of_rank(true).collect();
    for &i in optional.iter().rev() {
        if shortfall(total, gap, needs, widths, Text::Floor) == 0 {
            return;
        }
        widths[i] = None;
    }
    let members: Vec<usize> = of_rank(false).collect();
    let mut short = shortfall(total, gap, needs, widths, Text::Floor);
    while short > 0 {
        // The widest member still above its least width loses a column.
        let widest = members
            .iter()
            .copied()
            .filter(|&i| widths[i].unwrap_or(0) > least(&needs[i]))
            .max_by_key(|&i| (widths[i], i));
        let Some(i) = widest else { return };
        widths[i] = widths[i].map(|w| w - 1);
        short -= 1;
    }
}

fn least(need: &Need) -> u16 {
    match need.give {
        Give::Keep { least, .. } => least.min(need.natural),
        Give::Free { floor, .. } => floor.min(need.natural),
    }
}

/// How much of the free text a shortfall is measured against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Text {
    Whole,
    Floor,
}

/// How many columns the table lacks for its kept columns at their current
/// widths and every free column whole or at its floor.
fn shortfall(total: u16, gap: u16, needs: &[Need], widths: &[Option<u16>], text: Text) -> u16 {
    let free: u16 = needs
        .iter()
        .filter(|n| matches!(n.give, Give::Free { .. }))
        .map(|n| match text {
            Text::Whole => n.natural,
            Text::Floor => least(n),
        })
        .sum();
    (kept(needs, widths) + gaps(gap, widths) + free).saturating_sub(total)
}

fn gaps(gap: u16, widths: &[Option<u16>]) -> u16 {
    let shown = widths.iter().flatten().count();
    gap * u16::try_from(shown.saturating_sub(1)).unwrap_or(u16::MAX)
}

fn sum_where(needs: &[Need], widths: &[Option<u16>], free_wanted: bool) -> u16 {
    needs
        .iter()
        .zip(widths)
        .filter(|(n, _)| matches!(n.give, Give::Free { .. }) == free_wanted)
        .filter_map(|(_, w)| *w)
        .sum()
}

fn kept(needs: &[Need], widths: &[Option<u16>]) -> u16 {
    sum_where(needs, widths, false)
}

fn free(needs: &[Need], widths: &[Option<u16>]) -> u16 {
    sum_where(needs, widths, true)
}

/// The free columns take `room`: their natural widths and a weighted share
/// of any more, or, when short, cut the widest first (floors first kept,
/// then given up too when nothing else is left to give).
fn share_free(room: u16, needs: &[Need], widths: &mut [Option<u16>]) {
    let free_cols: Vec<usize> = (0..needs.len())
        .filter(|&i| matches!(needs[i].give, Give::Free { .. }))
        .collect();
    let natural: u16 = free_cols.iter().map(|&i| needs[i].natural).sum();
    if room >= natural {
        let weight = |i: usize| match needs[i].give {
            Give::Free { weight, .. } => weight,
            Give::Keep { .. } => 0,
        };
        let total_weight: u16 = free_cols.iter().map(|&i| weight(i)).sum();
        let extra = room - natural;
        let mut given = 0;
        for &i in &free_cols {
            let share = if total_weight == 0 {
                0
            } else {
                u16::try_from(u32::from(extra) * u32::from(weight(i)) / u32::from(total_weight))
                    .unwrap_or(0)
            };
            given += share;
            widths[i] = Some(needs[i].natural + share);
        }
        // Rounding leftovers go to the last column that grows.
        if let Some(&last) = free_cols.iter().rev().find(|&&i| weight(i) > 0) {
            widths[last] = widths[last].map(|w| w + extra - given);
        }
        return;
    }
    let mut over = natural - room;
    for floor_kept in [true, false] {
        while over > 0 {
            let widest = free_cols
                .iter()
                .copied()
                .filter(|&i| {
                    let w = widths[i].unwrap_or(0);
                    w > if floor_kept { least(&needs[i]) } else { 0 }
                })
                .max_by_key(|&i| (widths[i], i));
            let Some(i) = widest else { break };
            widths[i] = widths[i].map(|w| w - 1);
            over -= 1;
        }
    }
}

/// The last resort on a screen too narrow for every least width.
fn cut_from_right(mut over: u16, widths: &mut [Option<u16>]) {
    for w in widths.iter_mut().rev().flatten() {
        let take = over.min(*w);
        *w -= take;
        over -= take;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keep(natural: u16, rank: u8, least: u16) -> Need {
        Need {
            natural,
            give: Give::Keep {
                rank,
                least,
                optional: false,
                lossless: false,
            },
        }
    }

    fn abbreviated(natural: u16, rank: u8, least: u16) -> Need {
        Need {
            natural,
            give: Give::Keep {
                rank,
                least,
                optional: false,
                lossless: true,
            },
        }
    }

    fn optional(natural: u16, rank: u8) -> Need {
        Need {
            natural,
            give: Give::Keep {
                rank,
                least: natural,
                optional: true,
                lossless: false,
            },
        }
    }

    fn free(natural: u16, floor: u16, weight: u16) -> Need {
        Need {
            natural,
            give: Give::Free { floor, weight },
        }
    }

    fn used(widths: &[Option<u16>]) -> u16 {
        widths.iter().flatten().sum::<u16>() + gaps(1, widths)
    }

    #[test]
    fn room_to_spare_goes_to_the_free_text() {
        let needs = [keep(10, 1, 4), keep(5, 2, 5), free(8, 4, 1)];
        assert_eq!(allocate(40, 1, &needs), [Some(10), Some(5), Some(23)]);
    }

    #[test]
    fn free_columns_share_spare_room_by_weight() {
        let needs = [keep(10, 1, 4), free(10, 8, 2), free(0, 10, 3)];
        // 50 - 10 - 2 gaps = 38; 28 spare: 2/5 and 3/5.
        assert_eq!(allocate(50, 1, &needs), [Some(10), Some(21), Some(17)]);
    }

    #[test]
    fn without_free_text_the_spare_room_stays_unused() {
        let needs = [keep(10, 1, 4), keep(5, 2, 5)];
        assert_eq!(allocate(40, 1, &needs), [Some(10), Some(5)]);
    }

    #[test]
    fn free_text_is_cut_to_its_floor_before_any_name() {
        let needs = [keep(20, 1, 6), free(40, 10, 1), keep(15, 1, 6)];
        // 20 + 15 + 2 gaps leave 13 of 50 for the text.
        assert_eq!(allocate(50, 1, &needs), [Some(20), Some(13), Some(15)]);
        // At 47 the floor (10) is reached: the names still fit exactly.
        assert_eq!(allocate(47, 1, &needs), [Some(20), Some(10), Some(15)]);
    }

    #[test]
    fn the_least_important_give_first_optional_ones_drop() {
        let needs = [
            optional(10, 6),
            keep(20, 1, 6),
            keep(11, 9, 4),
            free(30, 10, 1),
        ];
        // Natural: 10 + 20 + 11 + 3 gaps + floor 10 = 54. At 47 the rank-9
        // column shortens by 7 to its least, nothing else moves.
        assert_eq!(
            allocate(47, 1, &needs),
            [Some(10), Some(20), Some(4), Some(10)]
        );
        // At 46 that is not enough: the optional rank-6 column drops, and
        // the free text gets what it frees.
        assert_eq!(allocate(46, 1, &needs), [None, Some(20), Some(4), Some(20)]);
    }

    #[test]
    fn an_abbreviation_comes_before_any_cut_of_the_text() {
        let needs = [keep(20, 1, 6), abbreviated(11, 9, 4), free(30, 10, 1)];
        // Room for everything: nothing is abbreviated.
        assert_eq!(allocate(63, 1, &needs), [Some(20), Some(11), Some(30)]);
        // One column short of the whole text: the abbreviation goes all the
        // way (a part-abbreviated column would only show blanks).
        assert_eq!(allocate(62, 1, &needs), [Some(20), Some(4), Some(36)]);
    }

    #[test]
    fn names_of_one_rank_share_the_cut_widest_first() {
        let needs = [
            keep(32, 1, 8),
            keep(30, 1, 8),
            keep(20, 1, 6),
            free(5, 5, 1),
        ];
        // 32 + 30 + 20 + 3 gaps + 5 = 90; at 69, 21 must go: the two
        // widest come down to the third, then all three level.
        let widths = allocate(69, 1, &needs);
        assert_eq!(widths, [Some(21), Some(20), Some(20), Some(5)]);
        assert_eq!(used(&widths), 69);
    }

    #[test]
    fn too_narrow_for_every_least_width_still_fits() {
        let needs = [keep(32, 1, 8), keep(30, 1, 8), free(40, 10, 1)];
        for total in 0..40 {
            let widths = allocate(total, 1, &needs);
            assert!(used(&widths) <= total.max(2), "{total}: {widths:?}");
        }
        // Least widths first, then the free text, then from the right.
        assert_eq!(allocate(20, 1, &needs), [Some(8), Some(8), Some(2)]);
    }

    /// The promise the dashboard makes: a name is cut only when every free
    /// column is at (or under) its floor, at any width.
    #[test]
    fn a_name_is_cut_only_when_the_free_text_has_no_room_left() {
        let needs = [
            optional(11, 6),
            keep(32, 1, 10),
            abbreviated(11, 9, 4),
            keep(8, 2, 8),
            keep(30, 1, 10),
            keep(5, 8, 2),
            keep(23, 1, 6),
            free(60, 12, 1),
        ];
        for total in 0..300 {
            let widths = allocate(total, 1, &needs);
            assert!(used(&widths) <= total.max(7), "{total}: {widths:?}");
            let cut_name = needs.iter().zip(&widths).any(|(n, w)| {
                matches!(n.give, Give::Keep { rank: 1, .. }) && w.is_some_and(|w| w < n.natural)
            });
            let free_room = widths[7].is_some_and(|w| w > 12);
            assert!(!(cut_name && free_room), "{total}: {widths:?}");
        }
    }
}
