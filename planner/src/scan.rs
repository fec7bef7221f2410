//! Reading a project for the planner: every file the project's ignore rules
//! admit (`.gitignore`, `.ignore`, git excludes, hidden files), and the
//! imports and definitions of its source files, within a time budget.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use ignore::{WalkBuilder, WalkState};

use crate::lex::{imports, symbols, terms};
use crate::project::{Language, ProjectFiles, SourceFile};

#[derive(Debug, Clone, Copy)]
pub struct ScanLimits {
    /// Past this the walk stops and says so; the plan uses what was read.
    pub budget: Duration,
    pub max_files: usize,
    /// Imports sit at the top; the tail of a huge generated file adds nothing.
    pub max_bytes_per_file: usize,
}

impl Default for ScanLimits {
    fn default() -> Self {
        Self {
            budget: Duration::from_millis(700),
            max_files: 50_000,
            max_bytes_per_file: 128 * 1024,
        }
    }
}

enum Found {
    Plain(String),
    Source(SourceFile),
    GoModule(String, String),
    RustCrate(String, String),
}

pub fn scan(root: &Path, limits: ScanLimits) -> ProjectFiles {
    let started = Instant::now();
    let stopped_by_time = AtomicBool::new(false);
    let seen = AtomicUsize::new(0);
    let (tx, rx) = mpsc::channel::<Found>();
    WalkBuilder::new(root)
        .require_git(false)
        .threads(2)
        .build_parallel()
        .run(|| {
            let tx = tx.clone();
            let (stopped_by_time, seen) = (&stopped_by_time, &seen);
            Box::new(move |entry| {
                if started.elapsed() > limits.budget {
                    stopped_by_time.store(true, Ordering::Relaxed);
                    return WalkState::Quit;
                }
                let Ok(entry) = entry else {
                    return WalkState::Continue;
                };
                if !entry.file_type().is_some_and(|t| t.is_file()) {
                    return WalkState::Continue;
                }
                if seen.fetch_add(1, Ordering::Relaxed) >= limits.max_files {
                    return WalkState::Quit;
                }
                let Some(relative) = relative(root, entry.path()) else {
                    return WalkState::Continue;
                };
                for found in read(entry.path(), relative, limits.max_bytes_per_file) {
                    if tx.send(found).is_err() {
                        return WalkState::Quit;
                    }
                }
                WalkState::Continue
            })
        });
    drop(tx);
    let mut project = ProjectFiles::default();
    for found in rx {
        match found {
            Found::Plain(path) => project.files.push(path),
            Found::Source(source) => {
                project.files.push(source.path.clone());
                project.sources.push(source);
            }
            Found::GoModule(dir, module) => project.go_modules.push((dir, module)),
            Found::RustCrate(name, src) => project.rust_crates.push((name, src)),
        }
    }
    project.files.sort_unstable();
    project.sources.sort_unstable_by(|a, b| a.path.cmp(&b.path));
    let seen = seen.load(Ordering::Relaxed);
    project.stopped_early = if stopped_by_time.load(Ordering::Relaxed) {
        Some(format!(
            "stopped after {} ms with {} files read; the plan uses those",
            limits.budget.as_millis(),
            project.files.len()
        ))
    } else if seen > limits.max_files {
        Some(format!(
            "stopped at {} files; the plan uses those",
            limits.max_files
        ))
    } else {
        None
    };
    project
}

fn relative(root: &Path, path: &Path) -> Option<String> {
    let rel = path.strip_prefix(root).ok()?.to_str()?;
    Some(rel.replace('\\', "/"))
}

fn read(path: &Path, relative: String, max_bytes: usize) -> Vec<Found> {
    let name = relative.rsplit('/').next().unwrap_or(&relative);
    let dir = relative.rsplit_once('/').map_or("", |(d, _)| d).to_owned();
    if name == "go.mod" || name == "Cargo.toml" {
        let manifest = head(path, max_bytes).unwrap_or_default();
        let mut out = vec![Found::Plain(relative.clone())];
        if name == "go.mod" {
            if let Some(module) = manifest
                .lines()
                .find_map(|l| l.trim().strip_prefix("module "))
            {
                out.push(Found::GoModule(
                    dir,
                    module.trim().trim_matches('"').to_owned(),
                ));
            }
        } else if let Some(crate_name) = cargo_package_name(&manifest) {
            let src = if dir.is_empty() {
                "src".into()
            } else {
                format!("{dir}/src")
            };
            out.push(Found::RustCrate(crate_name.replace('-', "_"), src));
        }
        return out;
    }
    let Some(language) = Language::of(&relative) else {
        return vec![Found::Plain(relative)];
    };
    let Some(text) = head(path, max_bytes) else {
        return vec![Found::Plain(relative)];
    };
    vec![Found::Source(SourceFile {
        imports: imports::extract(language, &text),
        symbols: symbols::defined(language, &text),
        terms: terms::document(language, &text),
        path: relative,
        language,
    })]
}

/// The first `max` bytes as text, cut back to a character boundary.
fn head(path: &Path, max: usize) -> Option<String> {
    use std::io::Read;
    let mut buf = Vec::with_capacity(max.min(16 * 1024));
    std::fs::File::open(path)
        .ok()?
        .take(max as u64)
        .read_to_end(&mut buf)
        .ok()?;
    match String::from_utf8(buf) {
        Ok(s) => Some(s),
        Err(e) => {
            let valid = e.utf8_error().valid_up_to();
            let mut bytes = e.into_bytes();
            bytes.truncate(valid);
            String::from_utf8(bytes).ok()
        }
    }
}

fn cargo_package_name(manifest: &str) -> Option<String> {
    let mut in_package = false;
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_package = line == "[package]";
        } else if in_package {
            if let Some(value) = line.strip_prefix("name").map(str::trim_start) {
                if let Some(value) = value.strip_prefix('=') {
                    return Some(value.trim().trim_matches('"').to_owned());
                }
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cargo_names() {
        assert_eq!(
            cargo_package_name("[workspace]\nmembers=[]\n[package]\nname = \"ccmulti-ui\"\n")
                .as_deref(),
            Some("ccmulti-ui")
        );
        assert_eq!(cargo_package_name("[workspace]\nname = \"x\"\n"), None);
    }
}
