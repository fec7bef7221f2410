//! Whole-screen snapshots on ratatui's TestBackend at 80x24, 140x45 and 200x50,
//! plus a few style checks that text snapshots cannot see.

// Test builders and scenarios read best whole; the 100-line limit is for
// shipped code.
#![allow(clippy::too_many_lines)]

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
fn pending_handovers_show_per_agent() {
    check(
        "handover",
        &state_with(team_with_handovers(), "", Theme::colored()),
    );
    let mut s = state_with(team_with_handovers(), "jjjj", Theme::colored());
    s.handle_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
    check("handover_agent_details", &s);
}

#[test]
fn branches_not_landed_show_per_agent() {
    check(
        "landing",
        &state_with(team_with_landings(), "", Theme::colored()),
    );
    let mut s = state_with(team_with_landings(), "j", Theme::colored());
    s.handle_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
    check("landing_agent_details", &s);
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
    // `i` shows the inactive agent.
    let s = state_with(
        with(agents(), vec![], vec![], vec![]),
        "i",
        Theme::colored(),
    );
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

#[test]
fn long_names_and_branches() {
    check("long", &state_with(long_team(), "", Theme::colored()));
    check(
        "long_inactive_shown",
        &state_with(long_team(), "i", Theme::colored()),
    );
}

fn screen_lines(buf: &Buffer) -> Vec<String> {
    (0..buf.area.height)
        .map(|y| (0..buf.area.width).map(|x| buf[(x, y)].symbol()).collect())
        .collect()
}

/// The cells of a row: a table's columns are apart by at least one blank,
/// and names have none.
fn tokens(line: &str) -> Vec<&str> {
    line.split(|c: char| c.is_whitespace() || c == '│')
        .filter(|t| !t.is_empty())
        .collect()
}

/// Whether a screen row shows all of these whole.
fn row_with<'a>(lines: &'a [String], whole: &[&str]) -> Option<&'a String> {
    lines
        .iter()
        .find(|l| whole.iter().all(|w| tokens(l).contains(w)))
}

/// At 140 and 200 columns there is room: every agent's name, branch and
/// task, every lock's holder and every task's id show whole, on one row.
#[test]
fn no_name_or_branch_is_cut_while_there_is_room() {
    let snapshot = long_team();
    let s = state_with(snapshot.clone(), "", Theme::colored());
    for size in &SIZES[1..] {
        let t = render(&s, NOW, *size);
        let lines = screen_lines(t.backend().buffer());
        for a in s.view().agents {
            let mut whole = vec![a.agent_id.as_str()];
            whole.extend(a.current_task.as_deref());
            whole.extend(a.workspace.as_ref().map(|w| w.short_name()));
            assert!(
                row_with(&lines, &whole).is_some(),
                "{size:?}: no row shows {whole:?} whole:\n{}",
                lines.join("\n")
            );
        }
        for l in s.view().locks {
            assert!(
                row_with(&lines, &[&l.path, &l.agent_id]).is_some(),
                "{size:?}: lock {} of {}",
                l.path,
                l.agent_id
            );
        }
        for k in s.view().tasks {
            assert!(
                row_with(&lines, &[&k.agent_id, &k.task_id]).is_some(),
                "{size:?}: task {} of {}",
                k.task_id,
                k.agent_id
            );
        }
    }
}

/// A cut shows `…` and keeps the name's start and end.
fn abbreviates(shown: &str, name: &str) -> bool {
    if shown == name {
        return true;
    }
    let Some((head, tail)) = shown.split_once('…') else {
        return false;
    };
    name.starts_with(head) && name.ends_with(tail)
}

/// At 80 columns something must give: names are cut visibly, and still
/// tell the agents apart (a trial saw every one cut to `implemente`).
#[test]
fn names_cut_on_a_narrow_screen_stay_apart() {
    let s = state_with(long_team(), "", Theme::colored());
    let t = render(&s, NOW, (80, 24));
    let lines = screen_lines(t.backend().buffer());
    let agents_panel: Vec<&String> = lines
        .iter()
        .skip_while(|l| !l.contains("Agents ("))
        .skip(2)
        .take_while(|l| !l.contains("Locks ("))
        .collect();
    let view = s.view();
    assert_eq!(
        agents_panel.len(),
        view.agents.len(),
        "{}",
        lines.join("\n")
    );
    let mut shown_names = Vec::new();
    for (row, a) in agents_panel.iter().zip(&view.agents) {
        let cells = tokens(row);
        let name = cells
            .iter()
            .find(|c| abbreviates(c, &a.agent_id))
            .unwrap_or_else(|| panic!("{} not on {row:?}", a.agent_id));
        shown_names.push(format!("{}/{name}", a.session_id));
    }
    shown_names.sort();
    let before = shown_names.len();
    shown_names.dedup();
    assert_eq!(shown_names.len(), before, "{shown_names:?}");
}

/// Without colour a bar is its blocks alone: the percentage stands beside
/// it, never inside it.
#[test]
fn percentages_stand_beside_their_bars_in_plain_text() {
    const BLOCKS: &[char] = &['█', '▉', '▊', '▋', '▌', '▍', '▎', '▏'];
    let s = state_with(long_team(), "", Theme::monochrome());
    for size in SIZES {
        let t = render(&s, NOW, size);
        let lines = screen_lines(t.backend().buffer());
        let bars: Vec<&String> = lines.iter().filter(|l| l.contains(BLOCKS)).collect();
        assert!(bars.len() >= 4, "{size:?}: {}", lines.join("\n"));
        for line in bars {
            let last_block = line.rfind(BLOCKS).expect("a block");
            let percent = line.find('%').expect("a percentage");
            assert!(last_block < percent, "{size:?}: {line}");
            let number = line[last_block..percent].trim_start_matches(BLOCKS);
            assert!(number.starts_with(' '), "{size:?}: {line}");
        }
    }
}

/// A crowd of agents beside few locks and events: the agents get the rows
/// the others do not need, and the locks panel has no empty rows.
#[test]
fn panels_share_rows_by_need() {
    let agents: Vec<_> = (1..=30)
        .map(|i| agent(S1, &format!("impl-{i}"), "implementer", 1_000, None, 0))
        .collect();
    let locks = locks()[..2].to_vec();
    let events = events()[..3].to_vec();
    let s = state_with(with(agents, locks, tasks(), events), "", Theme::colored());
    for size in &SIZES[1..] {
        let t = render(&s, NOW, *size);
        let lines = screen_lines(t.backend().buffer());
        let agent_rows = lines
            .iter()
            .filter(|l| l.contains("impl-") && l.contains("active"))
            .count();
        // Body minus the other panels' borders, headers and entries.
        let others = 2 + 3 + (2 + 1 + 2) + (2 + 1 + 3);
        assert_eq!(
            agent_rows,
            (usize::from(size.1) - 2 - others - 3).min(30),
            "{size:?}:\n{}",
            lines.join("\n")
        );
    }
}

/// The all-sessions view names each row's session at 140 columns.
#[test]
fn all_sessions_keep_their_session_column_at_140() {
    let s = state_with(full(), "", Theme::colored());
    let t = render(&s, NOW, (140, 45));
    let lines = screen_lines(t.backend().buffer());
    for (panel, id) in [
        ("Agents (", "impl-9"),
        ("Locks (", "web/app.ts"),
        ("Tasks (", "B-1"),
    ] {
        let rows: Vec<&String> = lines.iter().skip_while(|l| !l.contains(panel)).collect();
        assert!(
            rows.iter()
                .any(|l| tokens(l).contains(&id) && tokens(l).contains(&S2)),
            "{panel}: {}",
            lines.join("\n")
        );
    }
}

#[test]
fn more_than_a_screen_holds() {
    check("crowded", &state_with(crowded(), "", Theme::colored()));
}
