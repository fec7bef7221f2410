//! The table: one line per window and condition, and the sums per condition.

use super::measure::Figures;

pub fn header() -> String {
    format!(
        "{:<18} {:<18} {:>4} {:>9} {:>5} {:>5} {:>8} {:>9} {:>6} {:>8} {:>7} {:>7} {:>8}",
        "window",
        "condition",
        "runs",
        "hunks",
        "lost",
        "gone",
        "files=",
        "conflicts",
        "interl",
        "stale",
        "denials",
        "waited",
        "wall/run"
    )
}

pub fn line(window: &str, condition: &str, f: &Figures) -> String {
    let runs = f.runs.max(1) as f64;
    format!(
        "{:<18} {:<18} {:>4} {:>9} {:>5} {:>5} {:>8} {:>9} {:>6} {:>8} {:>7} {:>6.0}s {:>7.1}s",
        window,
        condition,
        f.runs,
        format!("{}/{}", f.applied, f.hunks),
        f.lost,
        f.gone,
        format!("{}/{}", f.equal, f.files),
        f.conflicts,
        f.interleavings,
        format!("{}/{}", f.stale, f.after_commit),
        f.denials,
        f.waited,
        f.wall / runs
    )
}

/// The conflicting files and anything that went wrong, below a line.
pub fn notes(f: &Figures) -> Vec<String> {
    let mut out = Vec::new();
    if !f.conflict_files.is_empty() {
        let files: Vec<&str> = f.conflict_files.iter().map(String::as_str).collect();
        out.push(format!("    conflicting files: {}", files.join(", ")));
    }
    for failure in &f.failures {
        out.push(format!("    FAILED: {failure}"));
    }
    out
}
