//! One progress bar per task, with who, what and the latest word.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style};
use ratatui::text::Span;
use ratatui::widgets::{Gauge, Paragraph};

use super::Ctx;
use crate::format::keep_head;
use crate::model::{TaskRow, TaskStatus};
use crate::state::Panel;
use crate::theme::Theme;
use crate::view::task_percent;

pub(super) fn tasks(frame: &mut Frame, area: Rect, ctx: &Ctx) {
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
        task_row(frame, row, ctx, task, style);
    }
}

fn task_row(frame: &mut Frame, area: Rect, ctx: &Ctx, task: &TaskRow, style: Style) {
    let t = ctx.theme;
    let (agent_w, task_w) = if area.width >= 100 {
        (14, 14)
    } else {
        (12, 10)
    };
    // The gauge takes two fifths of what the fixed columns leave, the
    // message the rest: a wider terminal gets a longer, finer bar.
    let fixed = agent_w + task_w + 11 + 4;
    let gauge_w = (area.width.saturating_sub(fixed) * 2 / 5).max(8);
    let [agent, id, status, gauge, message] = Layout::horizontal([
        Constraint::Length(agent_w),
        Constraint::Length(task_w),
        Constraint::Length(11),
        Constraint::Length(gauge_w),
        Constraint::Fill(1),
    ])
    .spacing(1)
    .areas(area);
    let text = |s: &str, w: u16| keep_head(s, usize::from(w));
    frame.render_widget(
        Paragraph::new(text(&task.agent_id, agent_w)).style(style),
        agent,
    );
    frame.render_widget(Paragraph::new(text(&task.task_id, task_w)).style(style), id);
    let status_style = status_style(t, task.status);
    frame.render_widget(
        Paragraph::new(Span::styled(task.status.as_str(), status_style)),
        status,
    );
    let percent = task_percent(task);
    frame.render_widget(
        Gauge::default()
            .ratio(f64::from(percent) / 100.0)
            .label(format!("{percent}%"))
            .use_unicode(true)
            .gauge_style(gauge_style(t, status_style)),
        gauge,
    );
    let note = task.message.clone().unwrap_or_default();
    frame.render_widget(Paragraph::new(note), message);
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
