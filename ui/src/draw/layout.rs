//! Where the four panels go: stacked on narrow screens, a 2x2 grid on wide ones.

use ratatui::layout::{Constraint, Layout, Rect};

use super::Ctx;
use crate::state::Panel;

/// Areas for Agents, Locks, Tasks, Events, in that order.
pub(super) fn panels(body: Rect, ctx: &Ctx) -> [Rect; 4] {
    if ctx.wide {
        grid(body, ctx)
    } else {
        stacked(body, ctx)
    }
}

/// Rows a panel would like: its border, its header row, one row per entry
/// (at least one, for the "nothing here" line).
fn wanted(ctx: &Ctx, panel: Panel, border: u16) -> u16 {
    let header = u16::from(panel != Panel::Tasks);
    let rows = u16::try_from(ctx.view.len(panel).max(1)).unwrap_or(u16::MAX);
    border.saturating_add(header).saturating_add(rows)
}

fn stacked(body: Rect, ctx: &Ctx) -> [Rect; 4] {
    let h = body.height;
    let border = 1;
    let min = |p: Panel| border + 1 + u16::from(p != Panel::Tasks);
    // Caps keep a crowd of agents from pushing locks and tasks off screen.
    let cap = |p: Panel| match p {
        Panel::Agents | Panel::Locks => (h * 2 / 5).max(min(p)),
        Panel::Tasks => (h * 3 / 10).max(min(p)),
        Panel::Events => h,
    };
    let mut heights = Panel::ALL.map(min);
    let mut left = h.saturating_sub(heights.iter().sum());
    // Agents first: who is doing what is the question asked most often.
    for p in [Panel::Agents, Panel::Locks, Panel::Tasks] {
        let want = wanted(ctx, p, border).min(cap(p));
        let extra = want.saturating_sub(heights[p.index()]).min(left);
        heights[p.index()] += extra;
        left -= extra;
    }
    heights[Panel::Events.index()] += left;
    Layout::vertical(heights.map(Constraint::Length)).areas(body)
}

fn grid(body: Rect, ctx: &Ctx) -> [Rect; 4] {
    let border = 2;
    let top_wants = wanted(ctx, Panel::Agents, border).max(wanted(ctx, Panel::Locks, border));
    let bottom_min = border + 3;
    // Half the height at least: a big screen should show more rows, not air.
    let top = top_wants
        .max(body.height / 2)
        .min(body.height * 3 / 5)
        .min(body.height.saturating_sub(bottom_min))
        .max(border + 2);
    let [upper, lower] =
        Layout::vertical([Constraint::Length(top), Constraint::Min(0)]).areas(body);
    let halves = [Constraint::Percentage(50), Constraint::Percentage(50)];
    let [agents, locks] = Layout::horizontal(halves).areas(upper);
    let [tasks, events] = Layout::horizontal(halves).areas(lower);
    [agents, locks, tasks, events]
}
