//! Overlays: help, release confirmation, row details, session picker.

use ratatui::Frame;
use ratatui::layout::{Alignment, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use super::tables::{activity_style, expiry_style};
use super::tasks::status_style;
use super::{Ctx, HeaderInfo};
use crate::format::{ago, clock, countdown};
use crate::model::{Activity, LockRow};
use crate::state::Panel;
use crate::view::{
    current_message, operation_label, task_percent, waiters_on, waiting_note, waiting_of,
};

const KEYS: &[(&str, &str)] = &[
    ("↑ ↓  j k", "move the selection"),
    ("PgUp PgDn", "move by ten rows"),
    ("Home End g G", "first / last row"),
    ("Tab Shift-Tab", "next / previous panel"),
    ("1 2 3 4", "agents / locks / tasks / events"),
    ("Enter", "details of the selected row"),
    ("r", "release the selected lock (asks y/n)"),
    ("s", "show one session or all sessions"),
    ("i", "show / hide inactive agents and their tasks"),
    ("/", "filter all panels by text"),
    ("Esc", "clear the filter, close a popup"),
    ("?", "this help"),
    ("q  Ctrl-C", "quit"),
];

pub(super) fn help(frame: &mut Frame, area: Rect, ctx: &Ctx, info: &HeaderInfo) {
    let t = ctx.theme;
    let mut lines: Vec<Line> = KEYS
        .iter()
        .map(|(k, what)| {
            Line::from(vec![
                Span::styled(format!(" {k:<14}"), t.key),
                Span::raw(*what),
            ])
        })
        .collect();
    lines.push(Line::raw(""));
    lines.push(Line::from(vec![
        Span::styled(" address  ", t.muted),
        Span::raw(info.address.clone()),
    ]));
    lines.push(Line::from(vec![
        Span::styled(" database ", t.muted),
        Span::raw(info.database.clone()),
    ]));
    popup(frame, area, ctx, " Keys — Esc closes ", 60, lines);
}

pub(super) fn confirm_release(frame: &mut Frame, area: Rect, ctx: &Ctx, lock: &LockRow) {
    let t = ctx.theme;
    let remaining = lock.expires_at_ms.saturating_sub(ctx.now_ms);
    let lines = vec![
        Line::from(format!(
            " Release the {} lock on",
            operation_label(ctx.state.snapshot(), lock)
        )),
        Line::from(Span::styled(format!("   {}", lock.path), t.header)),
        Line::from(vec![
            Span::raw(" held by "),
            Span::styled(lock.agent_id.clone(), t.header),
            Span::raw("? Expires in "),
            Span::styled(countdown(remaining), expiry_style(t, remaining)),
        ]),
        Line::styled(" Recorded as a forced release by the dashboard.", t.muted),
        Line::raw(""),
        Line::from(vec![
            Span::styled("y", t.key),
            Span::raw(" release    "),
            Span::styled("n", t.key),
            Span::raw(" / "),
            Span::styled("Esc", t.key),
            Span::raw(" cancel"),
        ])
        .alignment(Alignment::Center),
    ];
    popup(frame, area, ctx, " Release lock? ", 60, lines);
}

pub(super) fn details(frame: &mut Frame, area: Rect, ctx: &Ctx, panel: Panel, key: &str) {
    let fields = detail_fields(ctx, panel, key);
    let t = ctx.theme;
    let lines = if fields.is_empty() {
        vec![Line::styled(" This row is no longer there.", t.muted)]
    } else {
        fields
            .into_iter()
            .map(|(k, v, style)| {
                Line::from(vec![
                    Span::styled(format!(" {k:<10} "), t.muted),
                    Span::styled(v, style),
                ])
            })
            .collect()
    };
    let title = format!(" {} — Esc closes ", panel.title());
    popup(frame, area, ctx, &title, 76, lines);
}

type Field = (&'static str, String, Style);

fn detail_fields(ctx: &Ctx, panel: Panel, key: &str) -> Vec<Field> {
    let Some(i) = ctx.view.position(panel, key) else {
        return Vec::new();
    };
    match panel {
        Panel::Agents => agent_fields(ctx, i),
        Panel::Locks => lock_fields(ctx, i),
        Panel::Tasks => task_fields(ctx, i),
        Panel::Events => event_fields(ctx, i),
    }
}

fn plain(k: &'static str, v: String) -> Field {
    (k, v, Style::new())
}

/// A moment as the clock time and how long ago it was.
fn at(now: i64, ms: i64) -> String {
    format!("{} UTC ({} ago)", clock(ms), ago(now, ms))
}

fn agent_fields(ctx: &Ctx, i: usize) -> Vec<Field> {
    let (now, s, t) = (ctx.now_ms, ctx.state.snapshot(), ctx.theme);
    let a = ctx.view.agents[i];
    let activity = Activity::classify(now, a.last_activity_ms);
    let held: Vec<&str> = s
        .locks
        .iter()
        .filter(|l| l.session_id == a.session_id && l.agent_id == a.agent_id)
        .map(|l| l.path.as_str())
        .collect();
    let mut fields = vec![
        plain("agent", a.agent_id.clone()),
        plain("session", a.session_id.clone()),
        plain("role", a.role.as_str().to_owned()),
        plain("status", a.status.clone()),
        (
            "activity",
            activity.as_str().into(),
            activity_style(t, activity),
        ),
        plain("last call", at(now, a.last_activity_ms)),
        plain("task", a.current_task.clone().unwrap_or_default()),
        plain(
            "message",
            current_message(s, a).unwrap_or_default().to_string(),
        ),
        plain("locks", format!("{} {}", a.lock_count, held.join(", "))),
        plain(
            "worktree",
            a.workspace
                .as_ref()
                .map_or_else(|| "-".to_string(), |w| w.worktree.clone()),
        ),
        plain(
            "branch",
            a.workspace
                .as_ref()
                .and_then(|w| w.branch.clone())
                .unwrap_or_else(|| "-".to_string()),
        ),
        match waiting_of(s, a) {
            Some(w) => ("waiting", waiting_note(s, w), t.warn),
            None => plain("waiting", "no".to_string()),
        },
    ];
    if let Some(landing) = &a.landing {
        let style = if landing.needs_attention() {
            t.warn
        } else {
            t.ok
        };
        fields.push(("landing", landing.describe(), style));
    }
    // Each version it must bring in, and the command that does it (none
    // when the changes were left uncommitted: a person commits them).
    for p in &a.pending_handovers {
        let v = &p.version;
        fields.push((
            "hand-over",
            format!("{} from {}", v.path, v.agent_id),
            t.warn,
        ));
        fields.push(plain("", v.origin()));
        if let Some(merge) = v.merge_command() {
            fields.push(("", merge, t.key));
        }
    }
    fields
}

fn lock_fields(ctx: &Ctx, i: usize) -> Vec<Field> {
    let (now, s, t) = (ctx.now_ms, ctx.state.snapshot(), ctx.theme);
    let l = ctx.view.locks[i];
    let remaining = l.expires_at_ms.saturating_sub(now);
    vec![
        plain("path", l.path.clone()),
        plain("holder", l.agent_id.clone()),
        plain("operation", operation_label(s, l)),
        ("expires", countdown(remaining), expiry_style(t, remaining)),
        plain("expires at", format!("{} UTC", clock(l.expires_at_ms))),
        plain("session", l.session_id.clone()),
        plain("lock id", l.lock_id.clone()),
        plain("fencing", l.fencing_token.to_string()),
        (
            "waiting",
            waiters_on(s, l)
                .iter()
                .map(|w| {
                    format!(
                        "{} ({}, {} left)",
                        w.agent_id,
                        w.operation.as_str(),
                        countdown(w.deadline_ms.saturating_sub(now))
                    )
                })
                .collect::<Vec<_>>()
                .join(", "),
            t.warn,
        ),
    ]
}

fn task_fields(ctx: &Ctx, i: usize) -> Vec<Field> {
    let (now, t) = (ctx.now_ms, ctx.theme);
    let k = ctx.view.tasks[i];
    vec![
        plain("task", k.task_id.clone()),
        plain("agent", k.agent_id.clone()),
        plain("session", k.session_id.clone()),
        (
            "status",
            k.status.as_str().to_owned(),
            status_style(t, k.status),
        ),
        plain("progress", format!("{}%", task_percent(k))),
        plain("updated", at(now, k.updated_at_ms)),
        plain("message", k.message.clone().unwrap_or_default()),
    ]
}

fn event_fields(ctx: &Ctx, i: usize) -> Vec<Field> {
    let now = ctx.now_ms;
    let e = ctx.view.events[i];
    let opt = |o: &Option<String>| o.clone().unwrap_or_default();
    vec![
        plain("kind", e.kind.as_str().to_owned()),
        plain("at", at(now, e.at_ms)),
        plain("session", opt(&e.session_id)),
        plain("agent", opt(&e.agent_id)),
        plain("path", opt(&e.path)),
        plain("detail", opt(&e.detail)),
        plain("event id", e.id.to_string()),
    ]
}

pub(super) fn session_picker(frame: &mut Frame, area: Rect, ctx: &Ctx, selected: usize) {
    let (t, s) = (ctx.theme, ctx.state.snapshot());
    let current = ctx.state.session_filter();
    let mut entries = vec![(current.is_none(), "All sessions".to_string())];
    for session in &s.sessions {
        let agents = s
            .agents
            .iter()
            .filter(|a| a.session_id == session.session_id)
            .count();
        entries.push((
            current == Some(session.session_id.as_str()),
            format!(
                "{}  {}  {} agent{}  since {}",
                session.session_id,
                session.user_id,
                agents,
                if agents == 1 { "" } else { "s" },
                clock(session.created_at_ms)
            ),
        ));
    }
    let lines = entries
        .into_iter()
        .enumerate()
        .map(|(i, (shown, text))| {
            let mark = if shown { "•" } else { " " };
            let style = if i == selected {
                t.selected
            } else {
                Style::new()
            };
            Line::styled(format!(" {mark} {text}"), style)
        })
        .collect();
    popup(
        frame,
        area,
        ctx,
        " Show session — Enter picks, Esc cancels ",
        76,
        lines,
    );
}

/// A bordered box centred on `area`, as tall as its lines need and at most
/// `max_width` wide, wrapping long lines.
fn popup(frame: &mut Frame, area: Rect, ctx: &Ctx, title: &str, max_width: u16, lines: Vec<Line>) {
    let width = max_width.min(area.width.saturating_sub(2)).max(10);
    let inner_width = usize::from(width.saturating_sub(2)).max(1);
    let wrapped: usize = lines
        .iter()
        .map(|l| l.width().max(1).div_ceil(inner_width))
        .sum();
    let wanted = u16::try_from(wrapped + 2).unwrap_or(u16::MAX);
    let height = wanted.min(area.height);
    let rect = Rect {
        x: area.x + (area.width.saturating_sub(width)) / 2,
        y: area.y + (area.height.saturating_sub(height)) / 2,
        width: width.min(area.width),
        height,
    };
    let block = Block::new()
        .borders(Borders::ALL)
        .border_style(ctx.theme.focus_border)
        .title(Span::styled(title.to_string(), ctx.theme.focus_border));
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false }),
        rect,
    );
}
