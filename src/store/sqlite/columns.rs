//! Text columns read as the model's words (operation, task status, event kind).

use rusqlite::Row;
use rusqlite::types::Type;

/// The column `idx` read with `parse`; a value the schema's CHECK constraints
/// should have kept out is a conversion error naming it, never a default.
pub(super) fn word<T>(
    row: &Row<'_>,
    idx: usize,
    parse: impl Fn(&str) -> Option<T>,
) -> rusqlite::Result<T> {
    let raw: String = row.get(idx)?;
    parse(&raw).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            idx,
            Type::Text,
            format!("unexpected value {raw:?}").into(),
        )
    })
}
