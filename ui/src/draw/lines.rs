//! The header line (where, which sessions, how many of each, the time) and
//! the footer line (keys, or the filter being typed, or a status message).
//! Both give up their least useful words first on a narrow screen.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::{Ctx, HeaderInfo};
use crate::format::{clock, keep_head, keep_tail};
use crate::state::Panel;

/// One part of the header: its forms, longest first ("" leaves it out).
struct Part {
    forms: Vec<String>,
    chosen: usize,
    style: Style,
    /// Blanks it takes besides its text.
    pad: usize,
}

impl Part {
    fn new(forms: Vec<String>, style: Style) -> Self {
        Part {
            forms,
            chosen: 0,
            style,
            pad: 2,
        }
    }

    fn pad(mut self, pad: usize) -> Self {
        self.pad = pad;
        self
    }

    fn text(&self) -> &str {
        &self.forms[self.chosen]
    }

    /// Its width with its blanks, or nothing when left out.
    fn cost(&self) -> usize {
        match self.text().chars().count() {
            0 => 0,
            n => n + self.pad,
        }
    }
}

pub(super) fn header(frame: &mut Frame, area: Rect, ctx: &Ctx, info: &HeaderInfo) {
    let t = ctx.theme;
    let time = format!("{} UTC", clock(ctx.now_ms));
    let session = match ctx.state.session_filter() {
        None => vec!["all sessions".to_string(), "all".to_string()],
        Some(id) => vec![format!("session {}", keep_head(id, 12))],
    };
    let counts = format!(
        "agents {}  locks {}  tasks {}",
        ctx.count(Panel::Agents),
        ctx.count(Panel::Locks),
        ctx.count(Panel::Tasks)
    );
    // Inactive agents left out of the view are always counted; the longer
    // forms say what they are and how to see them.
    let hidden = match ctx.totals.hidden_agents {
        0 => vec![String::new()],
        n => vec![
            format!("{n} inactive hidden (i shows)"),
            format!("{n} inactive hidden"),
            format!("+{n} hidden"),
        ],
    };
    let waiting = ctx
        .state
        .snapshot()
        .waiters
        .iter()
        .filter(|w| ctx.state.session_filter().is_none_or(|s| s == w.session_id))
        .count();
    // How many claims wait (the Locks panel shows it too).
    let waiting = match waiting {
        0 => vec![String::new()],
        n => vec![format!("waiting {n}"), String::new()],
    };
    let mut parts = [
        // A badge, " ccmulti ", the address after one blank.
        Part::new(vec!["ccmulti".into(), String::new()], t.title),
        Part::new(vec![info.address.clone()], t.key).pad(1),
        Part::new(session, t.header),
        Part::new(vec![counts], Style::new()),
        Part::new(hidden, t.muted),
        Part::new(waiting, t.warn),
        // Two blanks at least before the time, one after it.
        Part::new(vec![time.clone(), clock(ctx.now_ms)], t.header).pad(3),
    ];
    const TITLE: usize = 0;
    const TIME: usize = 6;
    // What gives way first: the name, the waiting count, the longer forms.
    let giving = [TITLE, 5, 4, TIME, 4, 2];
    let width = usize::from(area.width);
    let used = |parts: &[Part]| parts.iter().map(Part::cost).sum::<usize>();
    for &i in &giving {
        if used(&parts) <= width {
            break;
        }
        parts[i].chosen = (parts[i].chosen + 1).min(parts[i].forms.len() - 1);
    }
    // The database path is the least glanced-at part: it gets what is left,
    // cut from the left so the file name survives; the full path is in help.
    let spare = width.saturating_sub(used(&parts));
    let mut db = (spare >= 12).then(|| format!("db {}", keep_tail(&info.database, spare - 5)));
    let mut spans = Vec::new();
    let (parts, time) = parts.split_at(TIME);
    for (i, part) in parts.iter().enumerate() {
        match (i, part.text()) {
            (_, "") => {}
            // The name is a badge, padded inside its colour.
            (TITLE, name) => spans.push(Span::styled(format!(" {name} "), part.style)),
            (_, text) => {
                // One blank after the badge or at the start, else two.
                let gap = if spans.len() <= 1 { " " } else { "  " };
                spans.push(Span::raw(gap));
                spans.push(Span::styled(text.to_string(), part.style));
            }
        }
        if i == 1 {
            if let Some(db) = db.take() {
                spans.push(Span::raw("  "));
                spans.push(Span::raw(db));
            }
        }
    }
    let time = &time[0];
    let time_width = u16::try_from(time.text().len() + 1).unwrap_or(u16::MAX);
    let [left, right] =
        Layout::horizontal([Constraint::Min(0), Constraint::Length(time_width)]).areas(area);
    frame.render_widget(Paragraph::new(Line::from(spans)), left);
    let time = Span::styled(time.text().to_string(), time.style);
    frame.render_widget(Paragraph::new(time), right);
}

pub(super) fn footer(frame: &mut Frame, area: Rect, ctx: &Ctx) {
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
        // `i` is worth a hint only when there is something to show or hide.
        let inactive = match (ctx.state.shows_inactive(), ctx.totals.hidden_agents) {
            (true, _) => Some("hide inactive"),
            (false, 0) => None,
            (false, _) => Some("inactive"),
        };
        let hints: Vec<(&str, &str, u8)> = [
            Some(("?", "help", 0)),
            Some(("Tab", "panel", 2)),
            Some(("↑↓", "move", 8)),
            Some(("Enter", "details", 3)),
            Some(("r", "release", 4)),
            Some(("s", "session", 5)),
            inactive.map(|what| ("i", what, 6)),
            Some(("/", "filter", 7)),
            Some(("q", "quit", 1)),
        ]
        .into_iter()
        .flatten()
        .collect();
        let room = usize::from(area.width).saturating_sub(Line::from(spans.clone()).width());
        let cost = |(k, w, _): &(&str, &str, u8)| k.chars().count() + w.len() + 3;
        let mut by_priority = hints.clone();
        by_priority.sort_by_key(|h| h.2);
        let mut used = 0;
        let mut shown = [false; 9];
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
