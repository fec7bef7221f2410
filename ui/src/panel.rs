//! The dashboard's four panels, in Tab order.

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Panel {
    Agents,
    Locks,
    Tasks,
    Events,
}

impl Panel {
    pub const ALL: [Panel; 4] = [Panel::Agents, Panel::Locks, Panel::Tasks, Panel::Events];

    pub fn index(self) -> usize {
        match self {
            Panel::Agents => 0,
            Panel::Locks => 1,
            Panel::Tasks => 2,
            Panel::Events => 3,
        }
    }

    pub fn next(self) -> Panel {
        Panel::ALL[(self.index() + 1) % 4]
    }

    pub fn prev(self) -> Panel {
        Panel::ALL[(self.index() + 3) % 4]
    }

    pub fn title(self) -> &'static str {
        match self {
            Panel::Agents => "Agents",
            Panel::Locks => "Locks",
            Panel::Tasks => "Tasks",
            Panel::Events => "Events",
        }
    }
}
