//! Where the four panels go. Narrow screens stack them; wide ones give the
//! agents and the tasks (whose bars want width) the full width, one above
//! the other, and below them the locks above the events when the locks are
//! few, beside them when both are many. Rows are shared by need (see
//! [`share_rows`]): a panel with few entries gives its rows to the others,
//! and only when every panel has all it wants do rows stay empty, at the
//! bottom of the events.

use ratatui::layout::{Constraint, Layout, Rect};

use super::Ctx;
use crate::state::Panel;

/// What a panel asks of the screen's rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct RowNeed {
    /// Its border, header and one entry.
    pub least: u16,
    /// Its border, header and every entry.
    pub want: u16,
    /// Its fair share while every panel wants more than the screen has.
    pub cap: u16,
}

/// Heights for panels listed most important first: each gets its least,
/// then as much of its want as its cap allows, in order; what is left goes
/// to those still wanting more, in order (the share a panel with few
/// entries leaves); whatever remains, once every want is met, goes to
/// `spill`.
pub(super) fn share_rows(height: u16, needs: &[RowNeed], spill: usize) -> Vec<u16> {
    let mut rows: Vec<u16> = needs.iter().map(|n| n.least).collect();
    let mut left = height.saturating_sub(rows.iter().sum());
    for capped in [true, false] {
        for (row, need) in rows.iter_mut().zip(needs) {
            let limit = if capped {
                need.want.min(need.cap)
            } else {
                need.want
            };
            let extra = limit.saturating_sub(*row).min(left);
            *row += extra;
            left -= extra;
        }
    }
    if let Some(row) = rows.get_mut(spill) {
        *row += left;
    }
    rows
}

/// Areas for Agents, Locks, Tasks, Events, in that order. `locks_width` is
/// what the locks table needs, for sharing a row with the events.
pub(super) fn panels(body: Rect, ctx: &Ctx, locks_width: u16) -> [Rect; 4] {
    if ctx.wide {
        wide(body, ctx, locks_width)
    } else {
        stacked(body, ctx)
    }
}

fn need(ctx: &Ctx, panel: Panel, border: u16, cap: u16) -> RowNeed {
    let header = u16::from(panel != Panel::Tasks);
    let rows = u16::try_from(ctx.view.len(panel).max(1)).unwrap_or(u16::MAX);
    let least = border + header + 1;
    RowNeed {
        least,
        want: least.saturating_add(rows - 1),
        cap: cap.max(least),
    }
}

fn share(height: u16, tenths: u16) -> u16 {
    u16::try_from(u32::from(height) * u32::from(tenths) / 10).unwrap_or(height)
}

fn stacked(body: Rect, ctx: &Ctx) -> [Rect; 4] {
    let h = body.height;
    // Agents first: who is doing what is the question asked most often.
    let needs = [
        need(ctx, Panel::Agents, 1, share(h, 4)),
        need(ctx, Panel::Locks, 1, share(h, 4)),
        need(ctx, Panel::Tasks, 1, share(h, 3)),
        need(ctx, Panel::Events, 1, h),
    ];
    let rows = share_rows(h, &needs, 3);
    Layout::vertical(rows.into_iter().map(Constraint::Length)).areas(body)
}

fn wide(body: Rect, ctx: &Ctx, locks_width: u16) -> [Rect; 4] {
    let h = body.height;
    let agents = need(ctx, Panel::Agents, 2, share(h, 4));
    let tasks = need(ctx, Panel::Tasks, 2, share(h, 3));
    let locks = need(ctx, Panel::Locks, 2, h);
    let events = need(ctx, Panel::Events, 2, h);
    let bottom = |least: u16, want: u16| RowNeed {
        least,
        want,
        cap: h,
    };
    // Locks above events, when the locks are few or everything fits.
    let one_above = bottom(locks.least + events.least, locks.want + events.want);
    let rows = share_rows(h, &[agents, tasks, one_above], 2);
    let below = rows[2];
    if locks.want + events.want <= below || locks.want <= below / 3 {
        let locks_rows = locks.want.min(below.saturating_sub(events.least));
        let [a, t, l, e] = Layout::vertical([
            Constraint::Length(rows[0]),
            Constraint::Length(rows[1]),
            Constraint::Length(locks_rows),
            Constraint::Min(0),
        ])
        .areas(body);
        return [a, l, t, e];
    }
    let side_by_side = bottom(locks.least.max(events.least), locks.want.max(events.want));
    let rows = share_rows(h, &[agents, tasks, side_by_side], 2);
    let [a, t, below] = Layout::vertical([
        Constraint::Length(rows[0]),
        Constraint::Length(rows[1]),
        Constraint::Min(0),
    ])
    .areas(body);
    // The locks (who holds what) get what their table needs, within two
    // fifths and three fifths of the width; the events take the rest.
    let width = below.width;
    let locks_width = locks_width
        .saturating_add(2)
        .clamp(share(width, 4), share(width, 6));
    let [l, e] =
        Layout::horizontal([Constraint::Length(locks_width), Constraint::Min(0)]).areas(below);
    [a, l, t, e]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn need(least: u16, want: u16, cap: u16) -> RowNeed {
        RowNeed { least, want, cap }
    }

    #[test]
    fn every_want_met_leaves_the_rest_to_the_spill() {
        let needs = [need(3, 6, 8), need(3, 4, 8), need(3, 5, 20)];
        assert_eq!(share_rows(30, &needs, 2), [6, 4, 20]);
    }

    #[test]
    fn a_panel_with_few_entries_gives_its_rows_to_the_others() {
        // The agents want 30 rows, more than their cap of 16; the events
        // want 5: the agents get what the events leave.
        let needs = [need(3, 30, 16), need(3, 8, 12), need(3, 5, 40)];
        assert_eq!(share_rows(40, &needs, 2), [27, 8, 5]);
    }

    #[test]
    fn when_all_want_more_caps_keep_shares_fair_in_order() {
        let needs = [need(3, 30, 16), need(3, 30, 12), need(3, 30, 40)];
        assert_eq!(share_rows(40, &needs, 2), [16, 12, 12]);
        // Too few rows even for the caps: earlier panels first.
        assert_eq!(share_rows(20, &needs, 2), [14, 3, 3]);
    }

    #[test]
    fn the_sum_is_the_height_whenever_the_least_fits() {
        let needs = [
            need(3, 9, 8),
            need(2, 1, 8),
            need(3, 70, 20),
            need(3, 4, 40),
        ];
        for h in 11..120 {
            assert_eq!(share_rows(h, &needs, 3).iter().sum::<u16>(), h);
        }
    }
}
