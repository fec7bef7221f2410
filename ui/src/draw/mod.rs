//! The whole screen as a pure function of state, clock and header text.

mod layout;
mod popups;
mod tables;
mod tasks;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use crate::format::{clock, keep_head, keep_tail};
use crate::state::{AppState, Modal, Panel};
use crate::theme::Theme;
use crate::view::View;

/// Where the coordinator listens and what it stores into; shown, never parsed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeaderInfo {
    pub address: String,
    pub database: String,
}

/// At or above this width the agents and tasks span the screen above the
/// locks and events side by side; below it the four panels stack.
pub const WIDE_FROM_COLUMNS: u16 = 120;

pub fn draw(frame: &mut Frame, state: &AppState, now_ms: i64, header: &HeaderInfo) {
    let area = frame.area();
    let ctx = Ctx {
        state,
        view: state.view(),
        totals: View::new(state.snapshot(), state.session_filter(), ""),
        theme: state.theme(),
        now_ms,
        wide: area.width >= WIDE_FROM_COLUMNS,
    };
    let [head, body, foot] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(1),
    ])
    .areas(area);
    header_line(frame, head, &ctx, header);
    let [agents, locks, tasks, events] = layout::panels(body, &ctx);
    tables::agents(frame, agents, &ctx);
    tables::locks(frame, locks, &ctx);
    tasks::tasks(frame, tasks, &ctx);
    tables::events(frame, events, &ctx);
    footer_line(frame, foot, &ctx);
    match state.modal() {
        Modal::None => {}
        Modal::Help => popups::help(frame, area, &ctx, header),
        Modal::ConfirmRelease { lock } => popups::confirm_release(frame, area, &ctx, lock),
        Modal::Details { panel, key } => popups::details(frame, area, &ctx, *panel, key),
        Modal::SessionPicker { selected } => popups::session_picker(frame, area, &ctx, *selected),
    }
}

/// What every part of a frame needs, computed once per frame.
pub(crate) struct Ctx<'a> {
    pub state: &'a AppState,
    pub view: View<'a>,
    /// The same rows without the text filter, for "shown/total" counts.
    pub totals: View<'a>,
    pub theme: &'a Theme,
    pub now_ms: i64,
    pub wide: bool,
}

impl Ctx<'_> {
    fn focused(&self, panel: Panel) -> bool {
        self.state.modal() == &Modal::None && self.state.panel() == panel
    }

    /// Unfocused panels keep their scroll position but show no cursor.
    pub fn highlight(&self, panel: Panel) -> Style {
        if self.focused(panel) {
            self.theme.selected
        } else {
            Style::new()
        }
    }

    pub fn count(&self, panel: Panel) -> String {
        let (shown, total) = (self.view.len(panel), self.totals.len(panel));
        if shown == total {
            shown.to_string()
        } else {
            format!("{shown}/{total}")
        }
    }

    /// Narrow screens trade side borders for rows: a titled rule per panel.
    pub fn block(&self, panel: Panel) -> Block<'static> {
        let focused = self.focused(panel);
        let border = if focused {
            self.theme.focus_border
        } else {
            self.theme.border
        };
        let marker = if focused { "▶" } else { " " };
        let title = format!(
            "{marker}{} {} ({}) ",
            panel.index() + 1,
            panel.title(),
            self.count(panel)
        );
        let borders = if self.wide {
            Borders::ALL
        } else {
            Borders::TOP
        };
        Block::new()
            .borders(borders)
            .border_style(border)
            .title(Span::styled(title, border))
    }

    /// A muted line saying a panel has nothing, drawn under its header row.
    pub fn placeholder(&self, frame: &mut Frame, inner: Rect, skip_rows: u16, text: &str) {
        if inner.height <= skip_rows {
            return;
        }
        let line = Rect {
            y: inner.y + skip_rows,
            height: 1,
            ..inner
        };
        let text = if self.state.text_filter().is_empty() {
            text.to_string()
        } else {
            format!("{text} matching \"{}\"", self.state.text_filter())
        };
        frame.render_widget(Paragraph::new(Span::styled(text, self.theme.muted)), line);
    }
}

fn header_line(frame: &mut Frame, area: Rect, ctx: &Ctx, info: &HeaderInfo) {
    let t = ctx.theme;
    let time = format!("{} UTC", clock(ctx.now_ms));
    let session = match ctx.state.session_filter() {
        None => "all sessions".to_string(),
        Some(id) => format!("session {}", keep_head(id, 12)),
    };
    let waiting = ctx
        .state
        .snapshot()
        .waiters
        .iter()
        .filter(|w| ctx.state.session_filter().is_none_or(|s| s == w.session_id))
        .count();
    let counts = format!(
        "agents {}  locks {}  tasks {}",
        ctx.count(Panel::Agents),
        ctx.count(Panel::Locks),
        ctx.count(Panel::Tasks)
    );
    let width = usize::from(area.width);
    let fixed = [&info.address, &session, &counts, &time]
        .iter()
        .map(|s| s.chars().count() + 2)
        .sum::<usize>()
        + 1;
    // How many claims wait, when there is room (the Locks panel shows it too).
    let waiting = (waiting > 0)
        .then(|| format!("waiting {waiting}"))
        .filter(|w| fixed + w.len() + 2 <= width);
    let fixed = fixed + waiting.as_ref().map_or(0, |w| w.len() + 2);
    // The database path is the least glanced-at part: it gets what is left,
    // cut from the left so the file name survives; the full path is in help.
    let mut spare = width.saturating_sub(fixed);
    let db = if spare >= 12 {
        let text = format!("db {}", keep_tail(&info.database, spare - 5));
        spare -= text.chars().count() + 2;
        Some(text)
    } else {
        None
    };
    let mut spans = Vec::new();
    if spare >= 10 {
        spans.push(Span::styled(" ccmulti ", t.title));
        spans.push(Span::raw(" "));
    } else {
        spans.push(Span::raw(" "));
    }
    spans.push(Span::styled(info.address.clone(), t.key));
    if let Some(db) = db {
        spans.push(Span::raw("  "));
        spans.push(Span::raw(db));
    }
    spans.push(Span::raw("  "));
    spans.push(Span::styled(session, t.header));
    spans.push(Span::raw("  "));
    spans.push(Span::raw(counts));
    if let Some(waiting) = waiting {
        spans.push(Span::raw("  "));
        spans.push(Span::styled(waiting, t.warn));
    }
    let time_width = u16::try_from(time.len() + 1).unwrap_or(u16::MAX);
    let [left, right] =
        Layout::horizontal([Constraint::Min(0), Constraint::Length(time_width)]).areas(area);
    frame.render_widget(Paragraph::new(Line::from(spans)), left);
    frame.render_widget(Paragraph::new(Span::styled(time, t.header)), right);
}

fn footer_line(frame: &mut Frame, area: Rect, ctx: &Ctx) {
    let t = ctx.theme;
    let line = if let Some(input) = ctx.state.filter_input() {
        Line::from(vec![
            Span::styled(" filter: ", t.key),
            Span::raw(format!("{input}█")),
            Span::styled("   Enter apply · Esc clear", t.muted),
        ])
    } else if let Some(status) = ctx.state.status() {
        Line::from(Span::styled(format!(" {status}"), t.warn))
    } else {
        let mut spans = vec![Span::raw(" ")];
        if !ctx.state.text_filter().is_empty() {
            spans.push(Span::styled(
                format!("filter \"{}\" (Esc clears)  ", ctx.state.text_filter()),
                t.warn,
            ));
        }
        // In the order shown; the number is the priority for a narrow screen.
        let hints: [(&str, &str, u8); 8] = [
            ("?", "help", 0),
            ("Tab", "panel", 2),
            ("↑↓", "move", 7),
            ("Enter", "details", 3),
            ("r", "release", 4),
            ("s", "session", 5),
            ("/", "filter", 6),
            ("q", "quit", 1),
        ];
        let room = usize::from(area.width).saturating_sub(Line::from(spans.clone()).width());
        let cost = |(k, w, _): &(&str, &str, u8)| k.chars().count() + w.len() + 3;
        let mut by_priority = hints.to_vec();
        by_priority.sort_by_key(|h| h.2);
        let mut used = 0;
        let mut shown = [false; 8];
        for hint in &by_priority {
            if used + cost(hint) <= room {
                used += cost(hint);
                shown[usize::from(hint.2)] = true;
            }
        }
        for hint in hints.iter().filter(|h| shown[usize::from(h.2)]) {
            spans.push(Span::styled(hint.0, t.key));
            spans.push(Span::styled(format!(" {}  ", hint.1), t.muted));
        }
        Line::from(spans)
    };
    frame.render_widget(Paragraph::new(line), area);
}
