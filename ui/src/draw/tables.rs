//! The three tabular panels: agents, locks, events.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::widgets::{Cell, Row, Table, TableState};

use super::Ctx;
use crate::format::{DANGER_UNDER_MS, WARN_UNDER_MS, ago, clock, countdown, keep_head, keep_tail};
use crate::model::Activity;
use crate::state::Panel;
use crate::theme::Theme;
use crate::view::operation_label;

const SPACING: u16 = 1;

pub(super) fn agents(frame: &mut Frame, area: Rect, ctx: &Ctx) {
    let t = ctx.theme;
    let mut header = vec!["Agent", "Role", "Activity", "Idle", "Locks", "Task"];
    let mut widths = vec![
        Constraint::Length(14),
        Constraint::Length(11),
        Constraint::Length(8),
        Constraint::Length(4),
        Constraint::Length(5),
        Constraint::Fill(1),
    ];
    if ctx.wide {
        header.insert(0, "Session");
        widths.insert(0, Constraint::Length(10));
        header.insert(3, "Status");
        widths.insert(3, Constraint::Length(10));
    }
    let rows = ctx.view.agents.iter().map(|a| {
        let activity = Activity::classify(ctx.now_ms, a.last_activity_ms);
        let mut cells = vec![
            Cell::from(a.agent_id.clone()),
            Cell::from(a.role.clone()),
            Cell::from(activity.as_str()).style(activity_style(t, activity)),
            Cell::from(ago(ctx.now_ms, a.last_activity_ms)),
            Cell::from(a.lock_count.to_string()),
            Cell::from(a.current_task.clone().unwrap_or_else(|| "-".to_string())),
        ];
        if ctx.wide {
            cells.insert(0, Cell::from(keep_head(&a.session_id, 10)));
            cells.insert(3, Cell::from(a.status.clone()));
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
        ctx.placeholder(frame, ctx.block(Panel::Agents).inner(area), 1, "no agents");
    }
}

pub(super) fn locks(frame: &mut Frame, area: Rect, ctx: &Ctx) {
    let t = ctx.theme;
    let snapshot = ctx.state.snapshot();
    let mut header = vec!["Path", "Holder", "Operation", "Expires"];
    let mut widths = vec![
        Constraint::Fill(1),
        Constraint::Length(14),
        Constraint::Length(16),
        Constraint::Length(7),
    ];
    if ctx.wide {
        header.insert(0, "Session");
        widths.insert(0, Constraint::Length(10));
        header.extend(["At (UTC)", "Token"]);
        widths.extend([Constraint::Length(8), Constraint::Length(6)]);
    }
    // Paths are cut from the left by hand: the file name is the part to keep,
    // and the table would cut from the right.
    let inner = ctx.block(Panel::Locks).inner(area);
    let path_width = usize::from(fill_width(inner.width, &widths));
    let rows = ctx.view.locks.iter().map(|l| {
        let remaining = l.expires_at_ms.saturating_sub(ctx.now_ms);
        let mut cells = vec![
            Cell::from(keep_tail(&l.path, path_width)),
            Cell::from(l.agent_id.clone()),
            Cell::from(operation_label(snapshot, l)),
            Cell::from(countdown(remaining)).style(expiry_style(t, remaining)),
        ];
        if ctx.wide {
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
    let mut header = vec!["Ago", "Kind", "Agent", "Path", "Detail"];
    let mut widths = vec![
        Constraint::Length(4),
        Constraint::Length(14),
        Constraint::Length(14),
        Constraint::Fill(1),
        Constraint::Fill(1),
    ];
    if ctx.wide {
        header.insert(1, "At (UTC)");
        widths.insert(1, Constraint::Length(8));
    }
    let opt = |o: &Option<String>| o.clone().unwrap_or_default();
    let rows = ctx.view.events.iter().map(|e| {
        let mut cells = vec![
            Cell::from(ago(ctx.now_ms, e.at_ms)),
            Cell::from(e.kind.clone()).style(event_style(t, &e.kind)),
            Cell::from(opt(&e.agent_id)),
            Cell::from(opt(&e.path)),
            Cell::from(opt(&e.detail)),
        ];
        if ctx.wide {
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
        let inner = ctx.block(Panel::Events).inner(area);
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

fn event_style(t: &Theme, kind: &str) -> Style {
    match kind {
        "granted" => t.ok,
        "renewed" | "released" => Style::new(),
        "blocked_client" => t.danger,
        "conflict" | "forced_release" | "expired" => t.warn,
        _ => t.info,
    }
}
