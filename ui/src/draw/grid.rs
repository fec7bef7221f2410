//! A table described by its columns and its cells' text, sized by that text
//! (see [`crate::columns`]) and cut, where it must be, with a visible `…`.

use ratatui::layout::Constraint;
use ratatui::style::Style;
use ratatui::text::Span;
use ratatui::widgets::{Cell, Row};

use crate::columns::{Give, Need, allocate};
use crate::format::{Part, keep};

/// Blank columns between two columns.
pub(super) const GAP: u16 = 1;

/// How important a column is; the highest rank gives way first.
pub(super) mod rank {
    /// Who and what: agents, branches, task ids, holders, paths.
    pub const NAME: u8 = 1;
    /// A short word or number from a fixed vocabulary: state, expiry, kind.
    pub const WORD: u8 = 2;
    /// Which session, when several show; dropped before a name is cut.
    pub const SESSION: u8 = 6;
    /// Clock times and fencing tokens, also in the details popup.
    pub const CLOCK: u8 = 7;
    /// A count's header shortens ("Locks" to "Lk").
    pub const COUNT: u8 = 8;
    /// A role shortens ("implementer" to "impl").
    pub const ROLE: u8 = 9;
}

/// How narrow a kept column may become.
#[derive(Debug, Clone, Copy)]
enum Least {
    /// Each cell's short form (its full text when it has none).
    Shortest,
    /// This many columns, cut with `…`.
    Width(u16),
}

#[derive(Debug, Clone)]
pub(super) struct Column {
    header: &'static str,
    short_header: Option<&'static str>,
    /// None for free text.
    rank: Option<u8>,
    optional: bool,
    least: Least,
    /// Free text: cut no further than this while a name can give.
    floor: u16,
    /// Free text: its share of spare room.
    weight: u16,
    part: Part,
    /// A natural width even without text (a progress bar's).
    at_least: u16,
}

impl Column {
    /// A name, kept whole while free text has room, else cut to `least`.
    pub fn name(header: &'static str, part: Part) -> Self {
        Column {
            header,
            short_header: None,
            rank: Some(rank::NAME),
            optional: false,
            least: Least::Width(10),
            floor: 0,
            weight: 0,
            part,
            at_least: 0,
        }
    }

    /// A word or number: as wide as its longest cell, only ever shortened
    /// to its cells' short forms.
    pub fn word(header: &'static str) -> Self {
        Column {
            least: Least::Shortest,
            rank: Some(rank::WORD),
            ..Column::name(header, Part::Head)
        }
    }

    /// Free text: takes what is left, is cut first (down to `floor`), and
    /// takes `weight` shares of the room no column needs.
    pub fn free(header: &'static str, floor: u16, weight: u16) -> Self {
        Column {
            rank: None,
            floor,
            weight,
            ..Column::name(header, Part::Head)
        }
    }

    pub fn rank(mut self, rank: u8) -> Self {
        self.rank = self.rank.map(|_| rank);
        self
    }

    pub fn optional(mut self) -> Self {
        self.optional = true;
        self
    }

    pub fn least(mut self, width: u16) -> Self {
        self.least = Least::Width(width);
        self
    }

    pub fn short_header(mut self, short: &'static str) -> Self {
        self.short_header = Some(short);
        self
    }

    pub fn at_least(mut self, width: u16) -> Self {
        self.at_least = width;
        self
    }
}

/// One cell: its text, a shorter form for a narrow column, its style.
#[derive(Debug, Clone, Default)]
pub(super) struct Text {
    full: String,
    short: Option<String>,
    style: Style,
}

impl Text {
    pub fn short(mut self, short: impl Into<String>) -> Self {
        self.short = Some(short.into());
        self
    }

    pub fn style(mut self, style: Style) -> Self {
        self.style = style;
        self
    }

    /// The full text when it fits, else the short form, cut if need be.
    fn fit(&self, width: u16, part: Part) -> String {
        let width = usize::from(width);
        if chars(&self.full) <= width {
            return self.full.clone();
        }
        keep(self.short.as_deref().unwrap_or(&self.full), width, part)
    }
}

impl From<String> for Text {
    fn from(full: String) -> Self {
        Text {
            full,
            ..Text::default()
        }
    }
}

impl From<&str> for Text {
    fn from(full: &str) -> Self {
        Text::from(full.to_string())
    }
}

fn chars(s: &str) -> usize {
    s.chars().count()
}

fn width_of(s: &str) -> u16 {
    u16::try_from(chars(s)).unwrap_or(u16::MAX)
}

/// A table's columns and rows before any width is known.
#[derive(Debug, Clone)]
pub(super) struct Grid {
    columns: Vec<Column>,
    rows: Vec<Vec<Text>>,
    /// Whether a header row is drawn (and so counts towards widths).
    header: bool,
}

impl Grid {
    pub fn new(columns: Vec<Column>, header: bool) -> Self {
        Grid {
            columns,
            rows: Vec::new(),
            header,
        }
    }

    pub fn push(&mut self, row: Vec<Text>) {
        debug_assert_eq!(row.len(), self.columns.len());
        self.rows.push(row);
    }

    /// Leaves a column out altogether (a session column with one session).
    pub fn remove(&mut self, column: usize) {
        self.columns.remove(column);
        for row in &mut self.rows {
            row.remove(column);
        }
    }

    fn needs(&self) -> Vec<Need> {
        self.columns
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let cells = self.rows.iter().map(|r| &r[i]);
                let header = if self.header { width_of(c.header) } else { 0 };
                let natural = cells
                    .clone()
                    .map(|t| width_of(&t.full))
                    .fold(header.max(c.at_least), u16::max);
                let give = match c.rank {
                    None => Give::Free {
                        floor: c.floor,
                        weight: c.weight,
                    },
                    Some(rank) => {
                        let least = match c.least {
                            Least::Width(w) => w,
                            Least::Shortest => {
                                // A header is shortened to its short form, never cut.
                                let header = match (self.header, c.short_header) {
                                    (false, _) => 0,
                                    (true, Some(short)) => width_of(short),
                                    (true, None) => width_of(c.header),
                                };
                                cells
                                    .map(|t| width_of(t.short.as_deref().unwrap_or(&t.full)))
                                    .fold(header, u16::max)
                            }
                        };
                        Give::Keep {
                            rank,
                            least,
                            optional: c.optional,
                            lossless: matches!(c.least, Least::Shortest),
                        }
                    }
                };
                Need { natural, give }
            })
            .collect()
    }

    /// The width at which nothing is cut and nothing is spare.
    pub fn natural_width(&self) -> u16 {
        let needs = self.needs();
        let gaps = GAP * u16::try_from(needs.len().saturating_sub(1)).unwrap_or(0);
        needs.iter().map(|n| n.natural).sum::<u16>() + gaps
    }

    pub fn widths(&self, total: u16) -> Vec<Option<u16>> {
        allocate(total, GAP, &self.needs())
    }

    /// A cell's text as it shows in a column this wide.
    pub fn cell(&self, row: usize, column: usize, width: u16) -> (String, Style) {
        let text = &self.rows[row][column];
        (text.fit(width, self.columns[column].part), text.style)
    }

    /// The header row, the rows and their constraints for a ratatui Table
    /// `total` columns wide; left-out columns are gone from all three.
    pub fn table(
        &self,
        total: u16,
        header_style: Style,
    ) -> (Row<'static>, Vec<Row<'static>>, Vec<Constraint>) {
        let widths = self.widths(total);
        let shown: Vec<(usize, u16)> = widths
            .iter()
            .enumerate()
            .filter_map(|(i, w)| w.map(|w| (i, w)))
            .collect();
        let header = shown.iter().map(|&(i, w)| {
            let c = &self.columns[i];
            let text = Text {
                full: c.header.to_string(),
                short: c.short_header.map(str::to_string),
                style: header_style,
            };
            text.fit(w, Part::Head)
        });
        let rows = (0..self.rows.len())
            .map(|r| {
                Row::new(shown.iter().map(|&(i, w)| {
                    let (text, style) = self.cell(r, i, w);
                    Cell::from(Span::styled(text, style))
                }))
            })
            .collect();
        let constraints = shown.iter().map(|&(_, w)| Constraint::Length(w)).collect();
        (Row::new(header).style(header_style), rows, constraints)
    }
}
