//! Key presses as pure state transitions; the only effects leave as [`Action`]s.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use crate::model::Action;
use crate::state::{AppState, Modal, Panel};

const PAGE: isize = 10;

impl AppState {
    pub fn handle_key(&mut self, key: KeyEvent) -> Option<Action> {
        // Terminals that report releases (Windows, kitty protocol) would
        // otherwise act twice per press.
        if key.kind == KeyEventKind::Release {
            return None;
        }
        if key.modifiers.contains(KeyModifiers::CONTROL)
            && matches!(key.code, KeyCode::Char('c') | KeyCode::Char('C'))
        {
            return Some(Action::Quit);
        }
        if self.filter_input.is_some() {
            self.filter_key(key);
            return None;
        }
        match self.modal {
            Modal::None => self.main_key(key),
            Modal::Help | Modal::Details { .. } => {
                if matches!(
                    key.code,
                    KeyCode::Esc | KeyCode::Enter | KeyCode::Char('?' | 'q')
                ) {
                    self.modal = Modal::None;
                }
                None
            }
            Modal::ConfirmRelease { .. } => self.confirm_key(key),
            Modal::SessionPicker { selected } => {
                self.picker_key(key, selected);
                None
            }
        }
    }

    fn main_key(&mut self, key: KeyEvent) -> Option<Action> {
        self.status = None;
        match key.code {
            KeyCode::Char('q') => return Some(Action::Quit),
            KeyCode::Up | KeyCode::Char('k') => self.move_selection(-1),
            KeyCode::Down | KeyCode::Char('j') => self.move_selection(1),
            KeyCode::PageUp => self.move_selection(-PAGE),
            KeyCode::PageDown => self.move_selection(PAGE),
            KeyCode::Home | KeyCode::Char('g') => self.select_edge(false),
            KeyCode::End | KeyCode::Char('G') => self.select_edge(true),
            KeyCode::Tab | KeyCode::Right | KeyCode::Char('l') => self.panel = self.panel.next(),
            KeyCode::BackTab | KeyCode::Left | KeyCode::Char('h') => self.panel = self.panel.prev(),
            KeyCode::Char(c @ '1'..='4') => {
                let i = c as usize - '1' as usize;
                self.panel = Panel::ALL[i];
            }
            KeyCode::Enter => self.open_details(),
            KeyCode::Char('r') => self.ask_release(),
            KeyCode::Char('s') => {
                self.modal = Modal::SessionPicker {
                    selected: self.session_picker_index(),
                }
            }
            KeyCode::Char('i') => self.toggle_inactive(),
            KeyCode::Char('/') => self.filter_input = Some(self.text_filter.clone()),
            KeyCode::Char('?') => self.modal = Modal::Help,
            KeyCode::Esc if !self.text_filter.is_empty() => self.set_text_filter(String::new()),
            _ => {}
        }
        None
    }

    fn open_details(&mut self) {
        let view = self.view();
        match view.key(self.panel, self.selected(self.panel)) {
            Some(key) => {
                self.modal = Modal::Details {
                    panel: self.panel,
                    key,
                }
            }
            None => self.status = Some(format!("no {} to show", noun(self.panel))),
        }
    }

    fn ask_release(&mut self) {
        if self.panel != Panel::Locks {
            self.status = Some("select a lock first: Tab to the Locks panel".to_string());
            return;
        }
        match self.selected_lock().cloned() {
            Some(lock) => self.modal = Modal::ConfirmRelease { lock },
            None => self.status = Some("no lock to release".to_string()),
        }
    }

    fn confirm_key(&mut self, key: KeyEvent) -> Option<Action> {
        match key.code {
            KeyCode::Char('y' | 'Y') => {
                let Modal::ConfirmRelease { lock } =
                    std::mem::replace(&mut self.modal, Modal::None)
                else {
                    return None;
                };
                self.status = Some(format!("releasing {} ...", lock.path));
                Some(Action::ReleaseLock {
                    lock_id: lock.lock_id,
                    session_id: lock.session_id,
                    path: lock.path,
                    holder: lock.agent_id,
                })
            }
            KeyCode::Char('n' | 'N' | 'q') | KeyCode::Esc => {
                self.modal = Modal::None;
                self.status = Some("release cancelled".to_string());
                None
            }
            _ => None,
        }
    }

    fn picker_key(&mut self, key: KeyEvent, selected: usize) {
        let entries = self.snapshot.sessions.len() + 1;
        let moved = |d: isize| selected.saturating_add_signed(d).min(entries - 1);
        match key.code {
            KeyCode::Up | KeyCode::Char('k') => {
                self.modal = Modal::SessionPicker {
                    selected: moved(-1),
                }
            }
            KeyCode::Down | KeyCode::Char('j') => {
                self.modal = Modal::SessionPicker { selected: moved(1) }
            }
            KeyCode::Enter => {
                let session = selected
                    .checked_sub(1)
                    .and_then(|i| self.snapshot.sessions.get(i))
                    .map(|s| s.session_id.clone());
                self.modal = Modal::None;
                self.set_session_filter(session);
            }
            KeyCode::Esc | KeyCode::Char('q' | 's') => self.modal = Modal::None,
            _ => {}
        }
    }

    fn filter_key(&mut self, key: KeyEvent) {
        let Some(input) = self.filter_input.as_mut() else {
            return;
        };
        match key.code {
            KeyCode::Enter => {
                let text = input.trim().to_string();
                self.filter_input = None;
                self.set_text_filter(text);
            }
            KeyCode::Esc => {
                self.filter_input = None;
                self.set_text_filter(String::new());
            }
            KeyCode::Backspace => {
                input.pop();
            }
            KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => input.push(c),
            _ => {}
        }
    }
}

fn noun(panel: Panel) -> &'static str {
    match panel {
        Panel::Agents => "agent",
        Panel::Locks => "lock",
        Panel::Tasks => "task",
        Panel::Events => "event",
    }
}
