//! Short strings for instants and durations: one glance, no arithmetic.

/// Locks with less than this many ms left are shown as a warning.
pub const WARN_UNDER_MS: i64 = 60_000;
/// Locks with less than this many ms left are shown as urgent.
pub const DANGER_UNDER_MS: i64 = 15_000;

/// "12s", "3m", "5h", "2d": one unit is enough to tell fresh from stale.
pub fn ago(now_ms: i64, then_ms: i64) -> String {
    // A coordinator clock step backwards must not print a negative age.
    let secs = now_ms.saturating_sub(then_ms).max(0) / 1000;
    match secs {
        s if s < 60 => format!("{s}s"),
        s if s < 3_600 => format!("{}m", s / 60),
        s if s < 86_400 => format!("{}h", s / 3_600),
        s => format!("{}d", s / 86_400),
    }
}

/// mm:ss, or h:mm:ss past an hour. Rounds up so a lock that still holds
/// never reads "00:00"; at or past expiry it reads "expired".
pub fn countdown(remaining_ms: i64) -> String {
    if remaining_ms <= 0 {
        return "expired".to_string();
    }
    let secs = remaining_ms.saturating_add(999) / 1000;
    let (h, m, s) = (secs / 3_600, secs / 60 % 60, secs % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m:02}:{s:02}")
    }
}

/// HH:MM:SS of the UTC day.
pub fn clock(ms: i64) -> String {
    let secs = ms.div_euclid(1000).rem_euclid(86_400);
    format!("{:02}:{:02}:{:02}", secs / 3_600, secs / 60 % 60, secs % 60)
}

/// Keeps the end of a string, where a path's file name is.
pub fn keep_tail(s: &str, max: usize) -> String {
    let len = s.chars().count();
    if len <= max {
        return s.to_string();
    }
    if max == 0 {
        return String::new();
    }
    let tail: String = s.chars().skip(len - (max - 1)).collect();
    format!("…{tail}")
}

/// Keeps the start of a string, for ids whose prefix is what people recognise.
pub fn keep_head(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    if max == 0 {
        return String::new();
    }
    let head: String = s.chars().take(max - 1).collect();
    format!("{head}…")
}

/// Keeps both ends, for names told apart by their end as often as by their
/// start (`implementer-1`, `implementer-12-frontend-refactor`).
pub fn keep_ends(s: &str, max: usize) -> String {
    let len = s.chars().count();
    if len <= max {
        return s.to_string();
    }
    if max < 4 {
        return keep_head(s, max);
    }
    let tail_len = (max - 1) / 2;
    let head: String = s.chars().take(max - 1 - tail_len).collect();
    let tail: String = s.chars().skip(len - tail_len).collect();
    format!("{head}…{tail}")
}

/// Which part of a too-long text a column keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Head,
    Tail,
    Ends,
}

pub fn keep(s: &str, max: usize, part: Part) -> String {
    match part {
        Part::Head => keep_head(s, max),
        Part::Tail => keep_tail(s, max),
        Part::Ends => keep_ends(s, max),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ago_picks_one_unit() {
        assert_eq!(ago(100_000, 88_000), "12s");
        assert_eq!(ago(1_000_000, 1_000_000 - 3 * 60_000 - 5_000), "3m");
        assert_eq!(ago(10 * 3_600_000, 0), "10h");
        assert_eq!(ago(3 * 86_400_000, 0), "3d");
        assert_eq!(ago(0, 5_000), "0s");
    }

    #[test]
    fn countdown_rounds_up_and_expires() {
        assert_eq!(countdown(10_000), "00:10");
        assert_eq!(countdown(9_001), "00:10");
        assert_eq!(countdown(1), "00:01");
        assert_eq!(countdown(0), "expired");
        assert_eq!(countdown(-5), "expired");
        assert_eq!(countdown(125_000), "02:05");
        assert_eq!(countdown(3_725_000), "1:02:05");
    }

    #[test]
    fn clock_is_utc_time_of_day() {
        assert_eq!(clock(0), "00:00:00");
        // 2025-01-01T12:34:56Z
        assert_eq!(clock(1_735_734_896_000), "12:34:56");
    }

    #[test]
    fn truncation_marks_what_was_cut() {
        assert_eq!(keep_tail("src/a/b.rs", 20), "src/a/b.rs");
        assert_eq!(keep_tail("src/a/b.rs", 6), "…/b.rs");
        assert_eq!(keep_head("abcdef", 4), "abc…");
        assert_eq!(
            keep_ends("implementer-12-frontend-refactor", 16),
            "implemen…efactor"
        );
        assert_eq!(keep_ends("implementer-1", 13), "implementer-1");
        assert_eq!(keep_ends("abcdef", 3), "ab…");
        for max in 0..12 {
            assert_eq!(keep_ends("abcdefghijklmnop", max).chars().count(), max);
        }
    }
}
