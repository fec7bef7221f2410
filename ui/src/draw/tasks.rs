//! One progress bar per task, with who, what and the latest word. The
//! percentage stands beside its bar, so that it reads the same with or
//! without colour.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style};
use ratatui::text::Span;
use ratatui::widgets::Paragraph;

use super::Ctx;
use super::grid::{Column, GAP, Grid, Text};
use super::tables::several_sessions;
use crate::format::Part;
use crate::model::{TaskRow, TaskStatus};
use crate::state::Panel;
use crate::theme::Theme;
use crate::view::task_percent;

/// Where the status and the bar are among the columns, counted from the
/// end (the session column comes and goes at the start).
const STATUS_FROM_END: usize = 4;
const BAR_FROM_END: usize = 3;

pub(super) fn tasks_grid(ctx: &Ctx) -> Grid {
    let t = ctx.theme;
    let mut grid = Grid::new(
        vec![
            Column::name("Session", Part::Head)
                .rank(super::grid::rank::SESSION)
                .optional(),
            Column::name("Agent", Part::Ends),
            Column::name("Task", Part::Ends).least(6),
            Column::word("Status"),
            // A wider terminal gets a longer, finer bar: two shares of the
            // spare room to the message's three.
            Column::free("", 8, 2).at_least(10),
            Column::word("%"),
            Column::free("Message", 12, 3),
        ],
        false,
    );
    for task in &ctx.view.tasks {
        grid.push(vec![
            Text::from(task.session_id.as_str()),
            Text::from(task.agent_id.as_str()),
            Text::from(task.task_id.as_str()),
            Text::from(task.status.as_str()).style(status_style(t, task.status)),
            Text::default(),
            Text::from(format!("{:>4}", format!("{}%", task_percent(task)))),
            Text::from(task.message.as_deref().unwrap_or("")),
        ]);
    }
    if !several_sessions(ctx.view.tasks.iter().map(|t| t.session_id.as_str())) {
        grid.remove(0);
    }
    grid
}

pub(super) fn tasks(frame: &mut Frame, area: Rect, ctx: &Ctx, grid: &Grid) {
    let block = ctx.block(Panel::Tasks);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let tasks = &ctx.view.tasks;
    if tasks.is_empty() {
        ctx.placeholder(frame, inner, 0, "no tasks reported");
        return;
    }
    let visible = usize::from(inner.height);
    if visible == 0 {
        return;
    }
    let widths = grid.widths(inner.width);
    let selected = ctx.state.selected(Panel::Tasks);
    // Scroll just enough to keep the selected task on screen.
    let offset = (selected + 1).saturating_sub(visible);
    let highlight = ctx.highlight(Panel::Tasks);
    for (i, task) in tasks.iter().enumerate().skip(offset).take(visible) {
        let row = Rect {
            y: inner.y + u16::try_from(i - offset).unwrap_or(0),
            height: 1,
            ..inner
        };
        let style = if i == selected {
            highlight
        } else {
            Style::new()
        };
        task_row(frame, row, ctx, (grid, &widths, i), task, style);
    }
}

fn task_row(
    frame: &mut Frame,
    area: Rect,
    ctx: &Ctx,
    (grid, widths, row): (&Grid, &[Option<u16>], usize),
    task: &TaskRow,
    selected: Style,
) {
    let shown: Vec<(usize, u16)> = widths
        .iter()
        .enumerate()
        .filter_map(|(i, w)| w.map(|w| (i, w)))
        .collect();
    let areas = Layout::horizontal(shown.iter().map(|&(_, w)| Constraint::Length(w)))
        .spacing(GAP)
        .split(area);
    let bar = widths.len() - BAR_FROM_END;
    for (&(column, width), &cell) in shown.iter().zip(areas.iter()) {
        if column == bar {
            let status = status_style(ctx.theme, task.status);
            let blocks = bar_blocks(width, task_percent(task));
            frame.render_widget(
                Paragraph::new(Span::styled(blocks, gauge_style(ctx.theme, status))),
                cell,
            );
            continue;
        }
        let (text, style) = grid.cell(row, column, width);
        // The row's highlight covers who and what, not the coloured words.
        let style = if column < widths.len() - STATUS_FROM_END {
            selected.patch(style)
        } else {
            style
        };
        frame.render_widget(Paragraph::new(Span::styled(text, style)), cell);
    }
}

/// A bar `width` columns wide filled to `percent`, in eighths of a column,
/// padded with blanks so that a background shows the whole track.
fn bar_blocks(width: u16, percent: u8) -> String {
    const EIGHTHS: [&str; 8] = [" ", "▏", "▎", "▍", "▌", "▋", "▊", "▉"];
    let eighths = (u32::from(width) * 8 * u32::from(percent.min(100)) + 50) / 100;
    let full = usize::try_from(eighths / 8).unwrap_or(0);
    let part = usize::try_from(eighths % 8).unwrap_or(0);
    let mut bar = "█".repeat(full);
    if part > 0 {
        bar.push_str(EIGHTHS[part]);
    }
    let blanks = usize::from(width).saturating_sub(bar.chars().count());
    bar.push_str(&" ".repeat(blanks));
    bar
}

pub(super) fn status_style(t: &Theme, status: TaskStatus) -> Style {
    match status {
        TaskStatus::Completed => t.ok,
        TaskStatus::Failed => t.danger,
        TaskStatus::Blocked => t.warn,
        TaskStatus::Planned | TaskStatus::Paused => t.muted,
        TaskStatus::Started | TaskStatus::InProgress => t.info,
    }
}

/// A dark track shows how much is left; without colour the blocks alone must do.
fn gauge_style(t: &Theme, status: Style) -> Style {
    if t.monochrome {
        Style::new()
    } else {
        Style::new()
            .fg(status.fg.unwrap_or(Color::Cyan))
            .bg(Color::DarkGray)
    }
}

#[cfg(test)]
mod tests {
    use super::bar_blocks;

    #[test]
    fn bars_fill_in_eighths_and_keep_their_width() {
        assert_eq!(bar_blocks(10, 0), " ".repeat(10));
        assert_eq!(bar_blocks(10, 100), "█".repeat(10));
        assert_eq!(bar_blocks(10, 45), "████▌     ");
        assert_eq!(
            bar_blocks(4, 1),
            "    ",
            "under half an eighth shows nothing"
        );
        assert_eq!(bar_blocks(8, 2), "▏       ");
        for percent in 0..=100 {
            assert_eq!(bar_blocks(13, percent).chars().count(), 13, "{percent}");
        }
    }
}
