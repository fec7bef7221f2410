//! Everything the dashboard remembers between frames; no I/O.

use crate::model::{LockRow, Snapshot};
pub use crate::panel::Panel;
use crate::theme::Theme;
use crate::view::{Filter, View};

#[derive(Debug, Clone, PartialEq)]
pub enum Modal {
    None,
    Help,
    /// The lock as it was when `r` was pressed, so the question cannot
    /// change under the person's finger when a new snapshot arrives.
    ConfirmRelease {
        lock: LockRow,
    },
    /// Looked up by identity at each frame so the details stay live.
    Details {
        panel: Panel,
        key: String,
    },
    /// Index 0 is "all sessions", then one entry per snapshot session.
    SessionPicker {
        selected: usize,
    },
}

#[derive(Debug, Clone)]
pub struct AppState {
    pub(crate) snapshot: Snapshot,
    pub(crate) theme: Theme,
    pub(crate) panel: Panel,
    pub(crate) selected: [usize; 4],
    pub(crate) session_filter: Option<String>,
    pub(crate) text_filter: String,
    /// Some while the person is typing a filter after `/`.
    pub(crate) filter_input: Option<String>,
    pub(crate) modal: Modal,
    pub(crate) status: Option<String>,
    /// Off by default: inactive agents and their tasks are left out.
    pub(crate) show_inactive: bool,
    /// The instant activity is judged at: the snapshot's, then each tick's.
    pub(crate) now_ms: i64,
}

impl AppState {
    pub fn new(theme: Theme) -> Self {
        AppState {
            snapshot: Snapshot::default(),
            theme,
            panel: Panel::Agents,
            selected: [0; 4],
            session_filter: None,
            text_filter: String::new(),
            filter_input: None,
            modal: Modal::None,
            status: None,
            show_inactive: false,
            now_ms: 0,
        }
    }

    pub fn snapshot(&self) -> &Snapshot {
        &self.snapshot
    }
    pub fn theme(&self) -> &Theme {
        &self.theme
    }
    pub fn panel(&self) -> Panel {
        self.panel
    }
    /// Index into the panel's filtered rows (see [`AppState::view`]).
    pub fn selected(&self, panel: Panel) -> usize {
        self.selected[panel.index()]
    }
    pub fn session_filter(&self) -> Option<&str> {
        self.session_filter.as_deref()
    }
    pub fn text_filter(&self) -> &str {
        &self.text_filter
    }
    pub fn filter_input(&self) -> Option<&str> {
        self.filter_input.as_deref()
    }
    pub fn modal(&self) -> &Modal {
        &self.modal
    }
    pub fn status(&self) -> Option<&str> {
        self.status.as_deref()
    }
    pub fn shows_inactive(&self) -> bool {
        self.show_inactive
    }

    pub fn set_status(&mut self, message: impl Into<String>) {
        self.status = Some(message.into());
    }

    pub fn view(&self) -> View<'_> {
        View::new(&self.snapshot, &self.filter(&self.text_filter))
    }

    /// The rows without the text filter, for "shown/total" counts.
    pub fn unfiltered_view(&self) -> View<'_> {
        View::new(&self.snapshot, &self.filter(""))
    }

    fn filter<'f>(&'f self, text: &'f str) -> Filter<'f> {
        Filter {
            session: self.session_filter.as_deref(),
            text,
            hide_dormant_at: (!self.show_inactive).then_some(self.now_ms),
        }
    }

    /// Replaces the data while keeping each panel's selection on the same
    /// row (by lock id, agent, task, event id) when that row still shows.
    pub fn set_snapshot(&mut self, snapshot: Snapshot) {
        let before = self.selected_keys();
        self.now_ms = snapshot.now_ms;
        self.snapshot = snapshot;
        self.reselect(&before);
        if let Modal::ConfirmRelease { lock } = &self.modal {
            if !self
                .snapshot
                .locks
                .iter()
                .any(|l| l.lock_id == lock.lock_id)
            {
                self.status = Some(format!("lock on {} is already gone", lock.path));
                self.modal = Modal::None;
            }
        }
    }

    pub(crate) fn selected_keys(&self) -> [Option<String>; 4] {
        let view = self.view();
        Panel::ALL.map(|p| view.key(p, self.selected(p)))
    }

    /// Puts each panel's selection back on its previous row, or keeps the
    /// index within the (possibly shorter) list when that row went away.
    pub(crate) fn reselect(&mut self, before: &[Option<String>; 4]) {
        let view = self.view();
        let mut next = self.selected;
        for p in Panel::ALL {
            let len = view.len(p);
            let found = before[p.index()]
                .as_deref()
                .and_then(|k| view.position(p, k));
            next[p.index()] = found.unwrap_or_else(|| next[p.index()].min(len.saturating_sub(1)));
        }
        self.selected = next;
    }

    /// Moves the clock activity is judged by, so an agent drops out of the
    /// view when it turns inactive, not at the next snapshot.
    pub fn tick(&mut self, now_ms: i64) {
        if now_ms <= self.now_ms {
            return;
        }
        let before = self.selected_keys();
        self.now_ms = now_ms;
        self.reselect(&before);
    }

    pub(crate) fn toggle_inactive(&mut self) {
        let before = self.selected_keys();
        self.show_inactive = !self.show_inactive;
        self.reselect(&before);
        self.status = Some(
            if self.show_inactive {
                "inactive agents shown (i hides them)"
            } else {
                "inactive agents hidden (i shows them)"
            }
            .to_string(),
        );
    }

    pub(crate) fn set_session_filter(&mut self, session: Option<String>) {
        let before = self.selected_keys();
        self.session_filter = session;
        self.reselect(&before);
    }

    pub(crate) fn set_text_filter(&mut self, text: String) {
        let before = self.selected_keys();
        self.text_filter = text;
        self.reselect(&before);
    }

    pub(crate) fn move_selection(&mut self, delta: isize) {
        let len = self.view().len(self.panel);
        let i = self.panel.index();
        let max = len.saturating_sub(1);
        self.selected[i] = self.selected[i].saturating_add_signed(delta).min(max);
    }

    pub(crate) fn select_edge(&mut self, last: bool) {
        let len = self.view().len(self.panel);
        self.selected[self.panel.index()] = if last { len.saturating_sub(1) } else { 0 };
    }

    /// The lock under the cursor, if the Locks panel has one selected.
    pub fn selected_lock(&self) -> Option<&LockRow> {
        self.view().locks.get(self.selected(Panel::Locks)).copied()
    }

    /// Where the session picker's cursor starts: on the session shown now.
    pub(crate) fn session_picker_index(&self) -> usize {
        self.session_filter
            .as_deref()
            .and_then(|id| {
                self.snapshot
                    .sessions
                    .iter()
                    .position(|s| s.session_id == id)
            })
            .map_or(0, |i| i + 1)
    }
}

impl Default for AppState {
    fn default() -> Self {
        AppState::new(Theme::default())
    }
}
