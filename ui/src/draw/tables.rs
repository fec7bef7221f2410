//! The three tabular panels: agents, locks, events.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::widgets::{Cell, Row, Table, TableState};

use super::Ctx;
use crate::format::{DANGER_UNDER_MS, WARN_UNDER_MS, ago, clock, countdown, keep_head, keep_tail};
use crate::model::{Activity, EventKind};
use crate::state::Panel;
use crate::theme::Theme;
use crate::view::{current_message, operation_label, waiters_on, waiting_note, waiting_of};

const SPACING: u16 = 1;

/// Panels at least this wide (inside their borders) get the fuller columns.
const ROOMY: u16 = 100;
/// And at least this wide, the session and the lock's clock time and token too.
const ROOMIEST: u16 = 140;

pub(super) fn agents(frame: &mut Frame, area: Rect, ctx: &Ctx) {
    let t = ctx.theme;
    let snapshot = ctx.state.snapshot();
    let inner = ctx.block(Panel::Agents).inner(area);
    let roomy = inner.width >= ROOMY;
    // Narrow: short role names and a two-letter lock count leave the message room.
    let (agent_w, role_w, where_w, locks_w, task_w) = if roomy {
        (14, 11, 20, 5, 12)
    } else {
        (10, 4, 10, 2, 8)
    };
    let mut header = vec![
        "Agent",
        "Role",
        "State",
        "Idle",
        "Where",
        if roomy { "Locks" } else { "Lk" },
        "Task",
        "Doing",
    ];
    let mut widths = vec![
        Constraint::Length(agent_w),
        Constraint::Length(role_w),
        Constraint::Length(8),
        Constraint::Length(4),
        Constraint::Length(where_w),
        Constraint::Length(locks_w),
        Constraint::Length(task_w),
        Constraint::Fill(1),
    ];
    let session = inner.width >= ROOMIEST;
    if session {
        header.insert(0, "Session");
        widths.insert(0, Constraint::Length(10));
    }
    let rows = ctx.view.agents.iter().map(|a| {
        let activity = Activity::classify(ctx.now_ms, a.last_activity_ms);
        let waiting = waiting_of(snapshot, a);
        let state = match waiting {
            Some(_) => Cell::from("waiting").style(t.warn),
            None => Cell::from(activity.as_str()).style(activity_style(t, activity)),
        };
        let role = match (roomy, a.role.as_str()) {
            (true, role) => role.to_string(),
            (false, "planner") => "plan".to_string(),
            (false, "implementer") => "impl".to_string(),
            (false, role) => keep_head(role, usize::from(role_w)),
        };
        let place = a.workspace.as_ref().map_or_else(
            || "-".to_string(),
            |w| keep_head(w.short_name(), usize::from(where_w)),
        );
        let doing = match waiting {
            Some(w) => Cell::from(format!("waiting {}", waiting_note(snapshot, w))).style(t.warn),
            None => Cell::from(current_message(snapshot, a).unwrap_or("").to_string()),
        };
        let mut cells = vec![
            Cell::from(a.agent_id.clone()),
            Cell::from(role),
            state,
            Cell::from(ago(ctx.now_ms, a.last_activity_ms)),
            Cell::from(place),
            Cell::from(a.lock_count.to_string()),
            Cell::from(a.current_task.clone().unwrap_or_else(|| "-".to_string())),
            doing,
        ];
        if session {
            cells.insert(0, Cell::from(keep_head(&a.session_id, 10)));
        }
        Row::new(cells)
    });
    render(
        frame,
        area,
        ctx,
        Panel::Agents,
        header,
        widths,
        rows.collect(),
    );
    if ctx.view.agents.is_empty() {
        ctx.placeholder(frame, inner, 1, "no agents");
    }
}

pub(super) fn locks(frame: &mut Frame, area: Rect, ctx: &Ctx) {
    let t = ctx.theme;
    let snapshot = ctx.state.snapshot();
    let inner = ctx.block(Panel::Locks).inner(area);
    let roomy = inner.width >= ROOMY;
    let roomiest = inner.width >= ROOMIEST;
    // Narrow: how many wait; roomy: who.
    let waiters_w: u16 = if roomy { 22 } else { 4 };
    let mut header = vec![
        "Path",
        "Holder",
        "Operation",
        "Expires",
        if roomy { "Waiting" } else { "Wait" },
    ];
    let mut widths = vec![
        Constraint::Fill(1),
        Constraint::Length(if roomy { 14 } else { 10 }),
        Constraint::Length(16),
        Constraint::Length(7),
        Constraint::Length(waiters_w),
    ];
    if roomiest {
        header.insert(0, "Session");
        widths.insert(0, Constraint::Length(10));
        header.extend(["At (UTC)", "Token"]);
        widths.extend([Constraint::Length(8), Constraint::Length(6)]);
    }
    // Paths are cut from the left by hand: the file name is the part to keep,
    // and the table would cut from the right.
    let path_width = usize::from(fill_width(inner.width, &widths));
    let rows = ctx.view.locks.iter().map(|l| {
        let remaining = l.expires_at_ms.saturating_sub(ctx.now_ms);
        let waiters = waiters_on(snapshot, l);
        let waiting = match (waiters.len(), roomy) {
            (0, _) => String::new(),
            (n, false) => n.to_string(),
            (n, true) => {
                let names: Vec<&str> = waiters.iter().map(|w| w.agent_id.as_str()).collect();
                keep_head(
                    &format!("{n}: {}", names.join(", ")),
                    usize::from(waiters_w),
                )
            }
        };
        let mut cells = vec![
            Cell::from(keep_tail(&l.path, path_width)),
            Cell::from(l.agent_id.clone()),
            Cell::from(operation_label(snapshot, l)),
            Cell::from(countdown(remaining)).style(expiry_style(t, remaining)),
            Cell::from(waiting).style(t.warn),
        ];
        if roomiest {
            cells.insert(0, Cell::from(keep_head(&l.session_id, 10)));
            cells.push(Cell::from(clock(l.expires_at_ms)));
            cells.push(Cell::from(l.fencing_token.to_string()));
        }
        Row::new(cells)
    });
    render(
        frame,
        area,
        ctx,
        Panel::Locks,
        header,
        widths,
        rows.collect(),
    );
    if ctx.view.locks.is_empty() {
        ctx.placeholder(frame, inner, 1, "no locks held");
    }
}

pub(super) fn events(frame: &mut Frame, area: Rect, ctx: &Ctx) {
    let t = ctx.theme;
    let inner = ctx.block(Panel::Events).inner(area);
    // Beside the locks the panel is narrow: the detail (in Enter's popup)
    // gives way so that the path keeps its file name.
    let detail = inner.width >= 70;
    let at = inner.width >= 90;
    let mut header = vec!["Ago", "Kind", "Agent", "Path"];
    let mut widths = vec![
        Constraint::Length(4),
        Constraint::Length(14),
        Constraint::Length(if detail { 14 } else { 10 }),
        Constraint::Fill(1),
    ];
    if detail {
        header.push("Detail");
        widths.push(Constraint::Fill(1));
    }
    if at {
        header.insert(1, "At (UTC)");
        widths.insert(1, Constraint::Length(8));
    }
    let path_width = usize::from(fill_width(inner.width, &widths) / if detail { 2 } else { 1 });
    let opt = |o: &Option<String>| o.clone().unwrap_or_default();
    let rows = ctx.view.events.iter().map(|e| {
        let mut cells = vec![
            Cell::from(ago(ctx.now_ms, e.at_ms)),
            Cell::from(e.kind.as_str()).style(event_style(t, e.kind)),
            Cell::from(opt(&e.agent_id)),
            Cell::from(keep_tail(e.path.as_deref().unwrap_or(""), path_width)),
        ];
        if detail {
            cells.push(Cell::from(opt(&e.detail)));
        }
        if at {
            cells.insert(1, Cell::from(clock(e.at_ms)));
        }
        Row::new(cells)
    });
    render(
        frame,
        area,
        ctx,
        Panel::Events,
        header,
        widths,
        rows.collect(),
    );
    if ctx.view.events.is_empty() {
        ctx.placeholder(frame, inner, 1, "no events yet");
    }
}

fn render(
    frame: &mut Frame,
    area: Rect,
    ctx: &Ctx,
    panel: Panel,
    header: Vec<&'static str>,
    widths: Vec<Constraint>,
    rows: Vec<Row<'static>>,
) {
    let table = Table::new(rows, widths)
        .header(Row::new(header).style(ctx.theme.header))
        .block(ctx.block(panel))
        .column_spacing(SPACING)
        .row_highlight_style(ctx.highlight(panel));
    let selected = (ctx.view.len(panel) > 0).then(|| ctx.state.selected(panel));
    let mut state = TableState::default().with_selected(selected);
    frame.render_stateful_widget(table, area, &mut state);
}

/// What a single Fill column gets once the fixed columns and gaps are paid.
fn fill_width(total: u16, widths: &[Constraint]) -> u16 {
    let fixed: u16 = widths
        .iter()
        .map(|c| match c {
            Constraint::Length(n) => *n,
            _ => 0,
        })
        .sum();
    let gaps = SPACING * u16::try_from(widths.len().saturating_sub(1)).unwrap_or(0);
    total.saturating_sub(fixed).saturating_sub(gaps)
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
