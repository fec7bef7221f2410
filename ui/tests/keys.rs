//! Key handling as pure state transitions: no terminal involved.

// Test builders and scenarios read best whole; the 100-line limit is for
// shipped code.
#![allow(clippy::too_many_lines)]

mod common;

use ccmulti_ui::model::Action;
use ccmulti_ui::{AppState, Modal, Panel, Theme};
use common::*;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

fn ch(c: char) -> KeyEvent {
    key(KeyCode::Char(c))
}

fn state() -> AppState {
    let mut s = AppState::new(Theme::colored());
    s.set_snapshot(full());
    s
}

fn press(s: &mut AppState, keys: &str) -> Vec<Action> {
    keys.chars().filter_map(|c| s.handle_key(ch(c))).collect()
}

#[test]
fn arrows_and_jk_move_within_bounds() {
    let mut s = state();
    assert_eq!(s.selected(Panel::Agents), 0);
    s.handle_key(key(KeyCode::Down));
    press(&mut s, "j");
    assert_eq!(s.selected(Panel::Agents), 2);
    press(&mut s, "k");
    s.handle_key(key(KeyCode::Up));
    s.handle_key(key(KeyCode::Up));
    assert_eq!(s.selected(Panel::Agents), 0);
    press(&mut s, "jjjjjjjjjj");
    assert_eq!(
        s.selected(Panel::Agents),
        3,
        "stops at the last of the four agents shown (impl-3 is inactive)"
    );
    press(&mut s, "g");
    assert_eq!(s.selected(Panel::Agents), 0);
    // Other panels keep their own selection.
    assert_eq!(s.selected(Panel::Locks), 0);
}

#[test]
fn tab_cycles_panels_both_ways() {
    let mut s = state();
    let mut seen = vec![s.panel()];
    for _ in 0..4 {
        s.handle_key(key(KeyCode::Tab));
        seen.push(s.panel());
    }
    use Panel::*;
    assert_eq!(seen, [Agents, Locks, Tasks, Events, Agents]);
    s.handle_key(key(KeyCode::BackTab));
    assert_eq!(s.panel(), Events);
    press(&mut s, "2");
    assert_eq!(s.panel(), Locks);
}

#[test]
fn r_then_y_releases_the_selected_lock() {
    let mut s = state();
    s.handle_key(key(KeyCode::Tab));
    press(&mut s, "j");
    assert!(press(&mut s, "r").is_empty());
    match s.modal() {
        Modal::ConfirmRelease { lock } => assert_eq!(lock.lock_id, "L2"),
        other => panic!("expected a confirmation, got {other:?}"),
    }
    let actions = press(&mut s, "y");
    assert_eq!(
        actions,
        [Action::ReleaseLock {
            lock_id: "L2".into(),
            session_id: S1.into(),
            path: "src/model.rs".into(),
            holder: "impl-1".into(),
        }]
    );
    assert_eq!(s.modal(), &Modal::None);
}

#[test]
fn r_then_n_or_esc_releases_nothing() {
    let mut s = state();
    s.handle_key(key(KeyCode::Tab));
    assert!(press(&mut s, "rn").is_empty());
    assert_eq!(s.modal(), &Modal::None);
    press(&mut s, "r");
    assert!(s.handle_key(key(KeyCode::Esc)).is_none());
    assert_eq!(s.modal(), &Modal::None);
    // After cancelling, a stray y must not release anything.
    assert!(press(&mut s, "y").is_empty());
}

#[test]
fn r_outside_the_locks_panel_only_explains() {
    let mut s = state();
    assert!(press(&mut s, "r").is_empty());
    assert_eq!(s.modal(), &Modal::None);
    assert!(s.status().is_some_and(|m| m.contains("Locks")));
}

#[test]
fn confirmation_closes_when_the_lock_disappears() {
    let mut s = state();
    press(&mut s, "2r");
    let mut next = full();
    next.locks.retain(|l| l.lock_id != "L1");
    s.set_snapshot(next);
    assert_eq!(s.modal(), &Modal::None);
    assert!(press(&mut s, "y").is_empty());
}

#[test]
fn q_and_ctrl_c_quit() {
    let mut s = state();
    assert_eq!(press(&mut s, "q"), [Action::Quit]);
    let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
    press(&mut s, "/ab");
    assert_eq!(
        s.handle_key(ctrl_c),
        Some(Action::Quit),
        "even while typing"
    );
}

#[test]
fn filter_narrows_every_panel_and_esc_clears() {
    let mut s = state();
    assert!(
        press(&mut s, "/store").is_empty(),
        "q-free text is typed, not acted on"
    );
    assert_eq!(s.filter_input(), Some("store"));
    assert_eq!(s.view().locks.len(), 6, "not applied before Enter");
    s.handle_key(key(KeyCode::Enter));
    let v = s.view();
    assert_eq!(v.locks.len(), 1);
    assert_eq!(v.locks[0].path, "src/store.rs");
    assert_eq!(v.tasks.len(), 2, "task messages match too");
    assert_eq!(v.events.len(), 2);
    assert_eq!(v.agents.len(), 0);
    s.handle_key(key(KeyCode::Esc));
    assert_eq!(s.text_filter(), "");
    assert_eq!(s.view().locks.len(), 6);
}

#[test]
fn typing_q_in_the_filter_does_not_quit() {
    let mut s = state();
    assert!(press(&mut s, "/quit").is_empty());
    s.handle_key(key(KeyCode::Backspace));
    assert_eq!(s.filter_input(), Some("qui"));
    s.handle_key(key(KeyCode::Esc));
    assert_eq!(s.filter_input(), None);
    assert_eq!(s.text_filter(), "");
}

#[test]
fn session_picker_switches_and_offers_all() {
    let mut s = state();
    press(&mut s, "s");
    assert_eq!(s.modal(), &Modal::SessionPicker { selected: 0 });
    press(&mut s, "jj");
    s.handle_key(key(KeyCode::Enter));
    assert_eq!(s.session_filter(), Some(S2));
    let v = s.view();
    assert_eq!(v.agents.len(), 1);
    assert_eq!(v.agents[0].agent_id, "impl-9");
    assert_eq!(v.events.len(), 0);
    // The picker opens on the session shown; up once is session 1, again is "all".
    press(&mut s, "skk");
    s.handle_key(key(KeyCode::Enter));
    assert_eq!(s.session_filter(), None);
    assert_eq!(s.view().agents.len(), 4, "impl-3 is inactive");
}

#[test]
fn inactive_agents_and_their_tasks_hide_until_i_shows_them() {
    let mut snapshot = full();
    // impl-3 (25 minutes idle) had a task in progress; impl-2 (recent) shows.
    snapshot
        .tasks
        .push(task(S1, "impl-3", "T-9", "in_progress", Some(70), None));
    // An inactive agent that still holds a lock stays: it matters to others.
    snapshot
        .agents
        .push(agent(S1, "impl-5", "implementer", 30 * 60_000, None, 1));
    // Nine minutes idle: recent, for one more minute.
    snapshot
        .agents
        .push(agent(S1, "impl-6", "implementer", 9 * 60_000, None, 0));
    let mut s = AppState::new(Theme::colored());
    s.set_snapshot(snapshot);
    let shown = |s: &AppState| -> Vec<String> {
        s.view().agents.iter().map(|a| a.agent_id.clone()).collect()
    };
    let tasks = |s: &AppState| -> Vec<String> {
        s.view().tasks.iter().map(|t| t.task_id.clone()).collect()
    };
    assert_eq!(
        shown(&s),
        ["planner", "impl-1", "impl-2", "impl-9", "impl-5", "impl-6"]
    );
    assert_eq!(tasks(&s), ["T-1", "T-2", "T-3", "B-1"]);
    assert_eq!((s.view().hidden_agents, s.view().hidden_tasks), (1, 1));
    assert!(!s.shows_inactive());

    // The selection stays on its agent when rows come and go.
    press(&mut s, "jjj");
    assert_eq!(s.selected(Panel::Agents), 3);
    press(&mut s, "i");
    assert!(s.shows_inactive());
    assert!(s.status().is_some_and(|m| m.contains("shown")));
    assert_eq!(
        shown(&s),
        [
            "planner", "impl-1", "impl-2", "impl-3", "impl-9", "impl-5", "impl-6"
        ]
    );
    assert_eq!(tasks(&s), ["T-1", "T-2", "T-3", "B-1", "T-9"]);
    assert_eq!(s.selected(Panel::Agents), 4, "still on impl-9");
    press(&mut s, "i");
    assert_eq!(shown(&s).len(), 6);
    assert_eq!(s.view().hidden_agents, 1);

    // Time passing hides an agent that turns inactive, without a new snapshot.
    s.tick(NOW + 2 * 60_000);
    assert_eq!(
        shown(&s),
        ["planner", "impl-1", "impl-2", "impl-9", "impl-5"]
    );
    assert_eq!(s.view().hidden_agents, 2);
}

#[test]
fn selection_follows_the_same_lock_across_snapshots() {
    let mut s = state();
    press(&mut s, "2jj");
    assert_eq!(s.selected_lock().map(|l| l.lock_id.as_str()), Some("L3"));
    let mut next = full();
    next.locks.remove(0);
    next.locks
        .insert(2, lock("L7", S1, "impl-3", "a.rs", "write", 1_000));
    s.set_snapshot(next);
    assert_eq!(s.selected_lock().map(|l| l.lock_id.as_str()), Some("L3"));
    // When the row goes away the cursor stays put, within bounds.
    let mut fewer = full();
    fewer.locks.truncate(1);
    s.set_snapshot(fewer);
    assert_eq!(s.selected(Panel::Locks), 0);
}

#[test]
fn enter_opens_details_help_toggles() {
    let mut s = state();
    press(&mut s, "j");
    s.handle_key(key(KeyCode::Enter));
    assert_eq!(
        s.modal(),
        &Modal::Details {
            panel: Panel::Agents,
            key: format!("{S1}\0impl-1"),
        }
    );
    s.handle_key(key(KeyCode::Esc));
    press(&mut s, "?");
    assert_eq!(s.modal(), &Modal::Help);
    assert!(
        press(&mut s, "q").is_empty(),
        "q closes help before it quits"
    );
    assert_eq!(s.modal(), &Modal::None);
}

#[test]
fn empty_state_keys_are_harmless() {
    let mut s = AppState::new(Theme::monochrome());
    s.set_snapshot(empty());
    for c in "jkgG".chars() {
        s.handle_key(ch(c));
    }
    s.handle_key(key(KeyCode::Enter));
    assert_eq!(s.modal(), &Modal::None);
    press(&mut s, "2r");
    assert_eq!(s.modal(), &Modal::None);
    assert_eq!(s.status(), Some("no lock to release"));
}
