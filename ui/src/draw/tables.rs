//! The three tabular panels: agents, locks, events. Each is described as a
//! [`Grid`] of its rows' text first, so that the layout can size panels and
//! columns by what they hold.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::widgets::{Table, TableState};

use super::Ctx;
use super::grid::{Column, GAP, Grid, Text, rank};
use crate::format::{DANGER_UNDER_MS, Part, WARN_UNDER_MS, ago, clock, countdown};
use crate::model::{Activity, BranchLanding, EventKind, LandingState, Role};
use crate::state::Panel;
use crate::theme::Theme;
use crate::view::{current_message, operation_label, waiters_on, waiting_note, waiting_of};

/// Free text is cut to this before any name is.
const TEXT_FLOOR: u16 = 12;

/// A session column earns its width only when rows of several sessions show.
pub(super) fn several_sessions<'a>(mut ids: impl Iterator<Item = &'a str>) -> bool {
    let Some(first) = ids.next() else {
        return false;
    };
    ids.any(|id| id != first)
}

fn session_column() -> Column {
    Column::name("Session", Part::Head)
        .rank(rank::SESSION)
        .optional()
}

/// The agents grid's hand-over count and landing, before the session column goes.
const HANDOVER_COLUMN: usize = 7;
const LANDING_COLUMN: usize = 8;

pub(super) fn agents_grid(ctx: &Ctx) -> Grid {
    let t = ctx.theme;
    let snapshot = ctx.state.snapshot();
    let mut grid = Grid::new(
        vec![
            session_column(),
            Column::name("Agent", Part::Ends),
            Column::word("Role").rank(rank::ROLE),
            Column::word("State"),
            Column::word("Idle"),
            // Team branches share their `ccmulti/<session>/` start.
            Column::name("Where", Part::Tail),
            Column::word("Locks").rank(rank::COUNT).short_header("Lk"),
            // Shown only while some agent has a version to bring in.
            Column::word("Hand-over")
                .rank(rank::COUNT)
                .short_header("HO"),
            // Shown only while some agent has a branch of its own to land.
            Column::word("Landing").rank(rank::COUNT).short_header("Ld"),
            Column::name("Task", Part::Ends).least(6),
            Column::free("Doing", TEXT_FLOOR, 1),
        ],
        true,
    );
    for a in &ctx.view.agents {
        let activity = Activity::classify(ctx.now_ms, a.last_activity_ms);
        let waiting = waiting_of(snapshot, a);
        let state = match waiting {
            Some(_) => Text::from("waiting").style(t.warn),
            None => Text::from(activity.as_str()).style(activity_style(t, activity)),
        };
        let role = Text::from(a.role.as_str()).short(match a.role {
            Role::Planner => "plan",
            Role::Implementer => "impl",
        });
        let place = a
            .workspace
            .as_ref()
            .map_or("-", |w| w.short_name())
            .to_string();
        let doing = match waiting {
            Some(w) => Text::from(format!("waiting {}", waiting_note(snapshot, w))).style(t.warn),
            None => Text::from(current_message(snapshot, a).unwrap_or("")),
        };
        grid.push(vec![
            Text::from(a.session_id.as_str()),
            Text::from(a.agent_id.as_str()),
            role,
            state,
            Text::from(ago(ctx.now_ms, a.last_activity_ms)),
            Text::from(place),
            Text::from(a.lock_count.to_string()),
            match a.pending_handovers.len() {
                0 => Text::from("-"),
                n => Text::from(n.to_string()).style(t.warn),
            },
            landing_cell(t, a.landing.as_ref()),
            Text::from(a.current_task.as_deref().unwrap_or("-")),
            doing,
        ]);
    }
    if ctx.view.agents.iter().all(|a| a.landing.is_none()) {
        grid.remove(LANDING_COLUMN);
    }
    if ctx
        .view
        .agents
        .iter()
        .all(|a| a.pending_handovers.is_empty())
    {
        grid.remove(HANDOVER_COLUMN);
    }
    if !several_sessions(ctx.view.agents.iter().map(|a| a.session_id.as_str())) {
        grid.remove(0);
    }
    grid
}

/// How many commits of the agent's branch have not landed, in a word.
fn landing_cell(t: &Theme, landing: Option<&BranchLanding>) -> Text {
    match landing.map(|l| l.state) {
        None => Text::from("-"),
        Some(LandingState::Landed) => Text::from("landed").style(t.ok),
        Some(LandingState::NotLanded { commits }) => Text::from(format!("{commits} to land"))
            .short(commits.to_string())
            .style(t.warn),
        Some(LandingState::NoBranch) => Text::from("no branch").short("none").style(t.warn),
    }
}

pub(super) fn locks_grid(ctx: &Ctx) -> Grid {
    let t = ctx.theme;
    let snapshot = ctx.state.snapshot();
    let mut grid = Grid::new(
        vec![
            session_column(),
            // The file name is the part to keep.
            Column::name("Path", Part::Tail).least(12),
            Column::name("Holder", Part::Ends),
            Column::word("Operation").short_header("Op"),
            Column::word("Expires"),
            Column::word("At (UTC)").rank(rank::CLOCK).optional(),
            Column::word("Token").rank(rank::CLOCK).optional(),
            // How many wait, then who: the count survives a cut.
            Column::free("Waiting", 4, 1).short_header("Wait"),
        ],
        true,
    );
    for l in &ctx.view.locks {
        let remaining = l.expires_at_ms.saturating_sub(ctx.now_ms);
        let waiters = waiters_on(snapshot, l);
        let waiting = match waiters.len() {
            0 => String::new(),
            n => {
                let names: Vec<&str> = waiters.iter().map(|w| w.agent_id.as_str()).collect();
                format!("{n}: {}", names.join(", "))
            }
        };
        let sharers = operation_label(snapshot, l);
        let operation = match sharers.strip_prefix("read (shared x") {
            Some(n) => {
                Text::from(sharers.clone()).short(format!("read x{}", n.trim_end_matches(')')))
            }
            None => Text::from(sharers),
        };
        grid.push(vec![
            Text::from(l.session_id.as_str()),
            Text::from(l.path.as_str()),
            Text::from(l.agent_id.as_str()),
            operation,
            Text::from(countdown(remaining)).style(expiry_style(t, remaining)),
            Text::from(clock(l.expires_at_ms)),
            Text::from(l.fencing_token.to_string()),
            Text::from(waiting).style(t.warn),
        ]);
    }
    if !several_sessions(ctx.view.locks.iter().map(|l| l.session_id.as_str())) {
        grid.remove(0);
    }
    grid
}

pub(super) fn events_grid(ctx: &Ctx) -> Grid {
    let t = ctx.theme;
    let mut grid = Grid::new(
        vec![
            session_column(),
            Column::word("Ago"),
            Column::word("At (UTC)").rank(rank::CLOCK).optional(),
            Column::word("Kind"),
            Column::name("Agent", Part::Ends),
            Column::name("Path", Part::Tail).least(12),
            Column::free("Detail", TEXT_FLOOR, 1),
        ],
        true,
    );
    let opt = |o: &Option<String>| o.as_deref().unwrap_or("").to_string();
    for e in &ctx.view.events {
        grid.push(vec![
            Text::from(opt(&e.session_id)),
            Text::from(ago(ctx.now_ms, e.at_ms)),
            Text::from(clock(e.at_ms)),
            Text::from(e.kind.as_str()).style(event_style(t, e.kind)),
            Text::from(opt(&e.agent_id)),
            Text::from(opt(&e.path)),
            Text::from(opt(&e.detail)),
        ]);
    }
    // Coordinator-wide events belong to no session; they make none "several".
    let sessions = ctx
        .view
        .events
        .iter()
        .filter_map(|e| e.session_id.as_deref());
    if !several_sessions(sessions) {
        grid.remove(0);
    }
    grid
}

/// Draws a panel's grid as a table with its header, border and selection;
/// a muted line when it has no rows.
pub(super) fn render(frame: &mut Frame, area: Rect, ctx: &Ctx, panel: Panel, grid: &Grid) {
    let block = ctx.block(panel);
    let inner = block.inner(area);
    let (header, rows, widths) = grid.table(inner.width, ctx.theme.header);
    let table = Table::new(rows, widths)
        .header(header)
        .block(block)
        .column_spacing(GAP)
        .row_highlight_style(ctx.highlight(panel));
    let selected = (ctx.view.len(panel) > 0).then(|| ctx.state.selected(panel));
    let mut state = TableState::default().with_selected(selected);
    frame.render_stateful_widget(table, area, &mut state);
    if ctx.view.len(panel) == 0 {
        let empty = match panel {
            Panel::Agents => "no agents",
            Panel::Locks => "no locks held",
            Panel::Tasks => "no tasks reported",
            Panel::Events => "no events yet",
        };
        ctx.placeholder(frame, inner, 1, empty);
    }
}

pub(super) fn activity_style(t: &Theme, activity: Activity) -> Style {
    match activity {
        Activity::Active => t.active,
        Activity::Recent => t.recent,
        Activity::Inactive => t.inactive,
    }
}

pub(super) fn expiry_style(t: &Theme, remaining_ms: i64) -> Style {
    if remaining_ms < DANGER_UNDER_MS {
        t.danger
    } else if remaining_ms < WARN_UNDER_MS {
        t.warn
    } else {
        Style::new()
    }
}

fn event_style(t: &Theme, kind: EventKind) -> Style {
    match kind {
        EventKind::Granted => t.ok,
        EventKind::Renewed | EventKind::Released => Style::new(),
        EventKind::BlockedClient => t.danger,
        EventKind::Conflict | EventKind::ForcedRelease | EventKind::Expired => t.warn,
    }
}
