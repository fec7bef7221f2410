//! Timestamps are stored as fixed-width UTC ISO-8601 text, so text order is time order.

use chrono::{DateTime, SecondsFormat};

use super::StoreError;
use crate::clock::Millis;

pub fn to_text(ms: Millis) -> String {
    DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}

pub fn from_text(text: &str) -> Result<Millis, StoreError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.timestamp_millis())
        .map_err(|e| StoreError::Corrupt(format!("timestamp {text:?}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_sorts_as_text() {
        let a = 1_790_000_000_123;
        assert_eq!(to_text(a), "2026-09-21T14:13:20.123Z");
        assert_eq!(from_text(&to_text(a)).unwrap(), a);
        assert!(to_text(a) < to_text(a + 1));
        assert!(to_text(a + 999) < to_text(a + 1000));
        // SQLite's own default format is read back too.
        assert_eq!(from_text("2026-09-21T14:13:20.123Z").unwrap(), a);
    }
}
