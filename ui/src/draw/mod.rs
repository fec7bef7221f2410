//! The whole screen as a pure function of state, clock and header text.

mod grid;
mod layout;
mod lines;
mod popups;
mod tables;
mod tasks;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::Span;
use ratatui::widgets::{Block, Borders, Paragraph};

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
/// locks and events (see `layout`); below it the four panels stack.
pub const WIDE_FROM_COLUMNS: u16 = 120;

pub fn draw(frame: &mut Frame, state: &AppState, now_ms: i64, header: &HeaderInfo) {
    let area = frame.area();
    let ctx = Ctx {
        state,
        view: state.view(),
        totals: state.unfiltered_view(),
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
    lines::header(frame, head, &ctx, header);
    let grids = [
        tables::agents_grid(&ctx),
        tables::locks_grid(&ctx),
        tasks::tasks_grid(&ctx),
        tables::events_grid(&ctx),
    ];
    let locks_width = grids[Panel::Locks.index()].natural_width();
    let areas = layout::panels(body, &ctx, locks_width);
    for panel in Panel::ALL {
        let (area, grid) = (areas[panel.index()], &grids[panel.index()]);
        match panel {
            Panel::Tasks => tasks::tasks(frame, area, &ctx, grid),
            _ => tables::render(frame, area, &ctx, panel, grid),
        }
    }
    lines::footer(frame, foot, &ctx);
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
