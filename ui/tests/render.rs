//! Whole-screen snapshots on ratatui's TestBackend at 80x24, 140x45 and 200x50,
//! plus a few style checks that text snapshots cannot see.

mod common;

use ccmulti_ui::model::Snapshot;
use ccmulti_ui::{AppState, HeaderInfo, Theme, draw};
use common::*;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier};

const SIZES: [(u16, u16); 3] = [(80, 24), (140, 45), (200, 50)];

fn header() -> HeaderInfo {
    HeaderInfo {
        address: "127.0.0.1:7420".into(),
        database: "/home/alice/work/shop/.ccmulti/state.db".into(),
    }
}

fn state_with(snapshot: Snapshot, keys: &str, theme: Theme) -> AppState {
    let mut s = AppState::new(theme);
    s.set_snapshot(snapshot);
    for c in keys.chars() {
        let code = if c == '\t' {
            KeyCode::Tab
        } else {
            KeyCode::Char(c)
        };
        s.handle_key(KeyEvent::new(code, KeyModifiers::NONE));
    }
    s
}

fn render(state: &AppState, now: i64, (w, h): (u16, u16)) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(w, h)).expect("test backend");
    terminal
        .draw(|f| draw(f, state, now, &header()))
        .expect("draw");
    terminal
}

/// Renders at each size and snapshots each as `<name>_<w>x<h>`.
fn check(name: &str, state: &AppState) {
    for size in SIZES {
        let terminal = render(state, NOW, size);
        insta::assert_snapshot!(format!("{name}_{}x{}", size.0, size.1), terminal.backend());
    }
}

#[test]
fn empty_state() {
    check("empty", &state_with(empty(), "", Theme::colored()));
}

#[test]
fn several_agents() {
    check(
        "agents",
        &state_with(with(agents(), vec![], vec![], vec![]), "", Theme::colored()),
    );
}

#[test]
fn locks_near_expiry_and_shared_read() {
    let s = with(vec![], locks(), vec![], vec![]);
    check("locks", &state_with(s, "2", Theme::colored()));
}

#[test]
fn progress_bars() {
    let s = with(vec![], vec![], tasks(), vec![]);
    check("tasks", &state_with(s, "3", Theme::colored()));
}

#[test]
fn full_dashboard() {
    check("full", &state_with(full(), "", Theme::colored()));
}

#[test]
fn a_team_in_worktrees_with_waiters() {
    check("team", &state_with(team(), "", Theme::colored()));
    // The lock two claims wait on, in detail.
    let mut s = state_with(team(), "2", Theme::colored());
    s.handle_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
    check("team_lock_details", &s);
    let mut s = state_with(team(), "jjj", Theme::colored());
    s.handle_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
    check("team_agent_details", &s);
}

#[test]
fn release_confirmation() {
    check("confirm", &state_with(full(), "2r", Theme::colored()));
}

#[test]
fn help_screen() {
    check("help", &state_with(full(), "?", Theme::colored()));
}

#[test]
fn session_picker_and_filtered_session() {
    check("picker", &state_with(full(), "sj", Theme::colored()));
    let mut s = state_with(full(), "sjj", Theme::colored());
    s.handle_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
    check("session2", &s);
}

#[test]
fn details_of_a_lock() {
    let mut s = state_with(full(), "2", Theme::colored());
    s.handle_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
    check("details", &s);
}

fn find(buf: &Buffer, text: &str) -> (u16, u16) {
    let area = buf.area;
    for y in 0..area.height {
        let line: String = (0..area.width).map(|x| buf[(x, y)].symbol()).collect();
        if let Some(x) = line.find(text) {
            // Every symbol before the match is one column here (ASCII rows).
            let col = line[..x].chars().count();
            return (u16::try_from(col).expect("fits"), y);
        }
    }
    panic!("{text:?} not on screen");
}

#[test]
fn countdown_ticks_and_changes_colour() {
    let s = with(
        vec![],
        vec![lock("L1", S1, "impl-1", "a.rs", "write", 70_000)],
        vec![],
        vec![],
    );
    let s = state_with(s, "", Theme::colored());
    let at = |now: i64, text: &str| {
        let t = render(&s, now, (80, 24));
        let buf = t.backend().buffer().clone();
        let (x, y) = find(&buf, text);
        buf[(x, y)].fg
    };
    assert_eq!(at(NOW, "01:10"), Color::Reset);
    assert_eq!(at(NOW + 11_000, "00:59"), Color::Yellow);
    assert_eq!(at(NOW + 56_000, "00:14"), Color::Red);
    assert_eq!(at(NOW + 70_000, "expired"), Color::Red);
}

#[test]
fn clock_follows_now() {
    let s = state_with(empty(), "", Theme::colored());
    let t = render(&s, NOW + 65_000, (80, 24));
    find(t.backend().buffer(), "12:36:01 UTC");
}

#[test]
fn activity_colours() {
    let s = state_with(with(agents(), vec![], vec![], vec![]), "", Theme::colored());
    let t = render(&s, NOW, (80, 24));
    let buf = t.backend().buffer();
    assert_eq!(buf[find(buf, "active")].fg, Color::Green);
    assert_eq!(buf[find(buf, "recent")].fg, Color::Yellow);
    assert_eq!(buf[find(buf, "inactive")].fg, Color::DarkGray);
}

#[test]
fn no_color_theme_uses_no_colour() {
    let s = state_with(full(), "2", Theme::monochrome());
    let t = render(&s, NOW, (200, 50));
    let buf = t.backend().buffer();
    for cell in &buf.content {
        assert_eq!((cell.fg, cell.bg), (Color::Reset, Color::Reset), "{cell:?}");
    }
    // Urgency still shows, as emphasis.
    let urgent = buf[find(buf, "00:10")].modifier;
    assert!(urgent.contains(Modifier::BOLD));
}

/// Cells of the gauge on the row showing `task`: filled blocks or the dark track.
fn gauge_width(buf: &Buffer, task: &str) -> usize {
    let (_, y) = find(buf, task);
    (0..buf.area.width)
        .filter(|&x| {
            let cell = &buf[(x, y)];
            cell.bg == Color::DarkGray || cell.symbol() == "█"
        })
        .count()
}

#[test]
fn bigger_terminals_get_wider_gauges_and_no_empty_rows() {
    let s = state_with(team(), "", Theme::colored());
    let widths: Vec<usize> = SIZES
        .iter()
        .map(|&size| {
            gauge_width(
                render(&s, NOW, size).backend().buffer(),
                "splitting model.rs",
            )
        })
        .collect();
    assert!(widths[0] >= 12, "80x24: {widths:?}");
    assert!(widths[1] >= 35, "140x45: {widths:?}");
    assert!(widths[2] >= 55, "200x50: {widths:?}");
    // Wide screens: the bottom panels' frames close just above the footer.
    for size in &SIZES[1..] {
        let t = render(&s, NOW, *size);
        let buf = t.backend().buffer();
        assert_eq!(buf[(0, size.1 - 2)].symbol(), "└", "{size:?}");
        assert_eq!(buf[(size.0 - 1, size.1 - 2)].symbol(), "┘", "{size:?}");
    }
}
