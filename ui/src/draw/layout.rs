//! Where the four panels go. Narrow screens stack them; wide ones give the
//! agents and the tasks (whose gauges want width) the full width, one above
//! the other, and put the locks beside the events below them. Every height is
//! what the panel's rows want within a share of the screen, and whatever is
//! left goes to the panels that grow without end (events, and locks on wide
//! screens), so a bigger terminal shows more rows, never empty space.

use ratatui::layout::{Constraint, Layout, Rect};

use super::Ctx;
use crate::state::Panel;

/// Areas for Agents, Locks, Tasks, Events, in that order.
pub(super) fn panels(body: Rect, ctx: &Ctx) -> [Rect; 4] {
    if ctx.wide {
        wide(body, ctx)
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

/// The least a panel is given: its border, header and one row.
fn least(panel: Panel, border: u16) -> u16 {
    border + 1 + u16::from(panel != Panel::Tasks)
}

fn share(height: u16, tenths: u16) -> u16 {
    u16::try_from(u32::from(height) * u32::from(tenths) / 10).unwrap_or(height)
}

fn stacked(body: Rect, ctx: &Ctx) -> [Rect; 4] {
    let h = body.height;
    let border = 1;
    // Caps keep a crowd of agents from pushing locks and tasks off screen.
    let cap = |p: Panel| match p {
        Panel::Agents | Panel::Locks => share(h, 4).max(least(p, border)),
        Panel::Tasks => share(h, 3).max(least(p, border)),
        Panel::Events => h,
    };
    let mut heights = Panel::ALL.map(|p| least(p, border));
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

fn wide(body: Rect, ctx: &Ctx) -> [Rect; 4] {
    let h = body.height;
    let border = 2;
    // The bottom row (locks and events) keeps at least a third of the screen.
    let bottom_least = share(h, 3).max(least(Panel::Locks, border));
    let agents = wanted(ctx, Panel::Agents, border)
        .min(share(h, 4))
        .max(least(Panel::Agents, border));
    let tasks = wanted(ctx, Panel::Tasks, border)
        .min(share(h, 3))
        .max(least(Panel::Tasks, border))
        .min(h.saturating_sub(agents).saturating_sub(bottom_least));
    let [agents_area, tasks_area, bottom] = Layout::vertical([
        Constraint::Length(agents),
        Constraint::Length(tasks),
        Constraint::Min(0),
    ])
    .areas(body);
    // Locks carry more columns (holder, operation, countdown, waiters) than events.
    let [locks_area, events_area] =
        Layout::horizontal([Constraint::Percentage(58), Constraint::Percentage(42)]).areas(bottom);
    [agents_area, locks_area, tasks_area, events_area]
}
