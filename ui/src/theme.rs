//! Colours, or their absence.
//!
//! The caller decides once (see [`Theme::from_env`]) so that drawing stays a
//! pure function of its inputs and tests can render either variant.

use ratatui::style::{Color, Modifier, Style};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Theme {
    /// True when colour is off; some widgets then lean on glyphs instead.
    pub monochrome: bool,
    pub title: Style,
    pub header: Style,
    pub border: Style,
    pub focus_border: Style,
    pub selected: Style,
    pub muted: Style,
    pub key: Style,
    pub ok: Style,
    pub info: Style,
    pub warn: Style,
    pub danger: Style,
    pub active: Style,
    pub recent: Style,
    pub inactive: Style,
}

impl Theme {
    pub fn colored() -> Self {
        let bold = Modifier::BOLD;
        Theme {
            monochrome: false,
            title: Style::new()
                .fg(Color::Black)
                .bg(Color::Cyan)
                .add_modifier(bold),
            header: Style::new().fg(Color::Cyan).add_modifier(bold),
            border: Style::new().fg(Color::DarkGray),
            focus_border: Style::new().fg(Color::Cyan).add_modifier(bold),
            selected: Style::new().add_modifier(Modifier::REVERSED),
            muted: Style::new().fg(Color::DarkGray),
            key: Style::new().fg(Color::Yellow).add_modifier(bold),
            ok: Style::new().fg(Color::Green),
            info: Style::new().fg(Color::Cyan),
            warn: Style::new().fg(Color::Yellow),
            danger: Style::new().fg(Color::Red).add_modifier(bold),
            active: Style::new().fg(Color::Green),
            recent: Style::new().fg(Color::Yellow),
            inactive: Style::new().fg(Color::DarkGray),
        }
    }

    /// Only modifiers, so meaning survives a terminal (or a person) without colour.
    pub fn monochrome() -> Self {
        let plain = Style::new();
        Theme {
            monochrome: true,
            title: Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD),
            header: Style::new().add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
            border: plain,
            focus_border: Style::new().add_modifier(Modifier::BOLD),
            selected: Style::new().add_modifier(Modifier::REVERSED),
            muted: Style::new().add_modifier(Modifier::DIM),
            key: Style::new().add_modifier(Modifier::BOLD),
            ok: plain,
            info: plain,
            warn: Style::new().add_modifier(Modifier::BOLD),
            danger: Style::new().add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
            active: Style::new().add_modifier(Modifier::BOLD),
            recent: plain,
            inactive: Style::new().add_modifier(Modifier::DIM),
        }
    }

    /// https://no-color.org: any non-empty NO_COLOR turns colour off.
    pub fn from_no_color(value: Option<&std::ffi::OsStr>) -> Self {
        match value {
            Some(v) if !v.is_empty() => Theme::monochrome(),
            _ => Theme::colored(),
        }
    }

    pub fn from_env() -> Self {
        Theme::from_no_color(std::env::var_os("NO_COLOR").as_deref())
    }
}

impl Default for Theme {
    fn default() -> Self {
        Theme::colored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;

    #[test]
    fn empty_no_color_keeps_colour() {
        assert!(!Theme::from_no_color(None).monochrome);
        assert!(!Theme::from_no_color(Some(OsStr::new(""))).monochrome);
        assert!(Theme::from_no_color(Some(OsStr::new("1"))).monochrome);
    }
}
