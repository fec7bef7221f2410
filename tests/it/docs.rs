//! The docs a reader is sent to exist: the README stays short enough to read
//! in five minutes, and every relative link in the README, the other
//! top-level docs and `docs/` names a file that exists, and a heading in it
//! when the link names one (as GitHub makes heading anchors). Code that
//! cites BENCHMARKS.md names one of its topics, never the benchmark log.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// The README's budget: what a newcomer reads in five minutes.
const README_MAX_BYTES: usize = 12 * 1024;

fn root() -> PathBuf {
    ccmulti_testkit::interop::repo()
}

/// The Markdown files whose links are checked: the top-level ones and all of `docs/`.
fn markdown_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root())
        .expect("read the repository root")
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    let mut dirs = vec![root().join("docs")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("read docs/") {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "md") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// The text outside fenced code blocks and inline code spans, line by line.
fn prose_lines(markdown: &str) -> Vec<String> {
    let mut in_fence = false;
    let mut lines = Vec::new();
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
            continue;
        }
        if in_fence {
            continue;
        }
        // Drop inline code: every other piece between backticks.
        let prose: String = line
            .split('`')
            .enumerate()
            .filter(|(i, _)| i % 2 == 0)
            .map(|(_, piece)| piece)
            .collect::<Vec<_>>()
            .join(" ");
        lines.push(prose);
    }
    lines
}

/// Every link target `[text](target)` (images too) in a line of prose.
fn link_targets(line: &str) -> Vec<String> {
    let mut targets = Vec::new();
    let mut rest = line;
    while let Some(at) = rest.find("](") {
        let after = &rest[at + 2..];
        match after.find(')') {
            Some(end) => {
                targets.push(after[..end].trim().to_owned());
                rest = &after[end + 1..];
            }
            None => break,
        }
    }
    targets
}

/// GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-' || *c == '_')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// The anchors of a Markdown file's headings, duplicates numbered as GitHub numbers them.
fn anchors(markdown: &str) -> HashSet<String> {
    let mut seen = HashSet::new();
    let mut in_fence = false;
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
            continue;
        }
        if in_fence || !line.starts_with('#') {
            continue;
        }
        let text = line.trim_start_matches('#');
        if !text.starts_with(' ') {
            continue;
        }
        let base = slug(&text.replace('`', ""));
        let mut anchor = base.clone();
        let mut n = 0;
        while seen.contains(&anchor) {
            n += 1;
            anchor = format!("{base}-{n}");
        }
        seen.insert(anchor);
    }
    seen
}

fn is_external(target: &str) -> bool {
    ["http://", "https://", "mailto:"]
        .iter()
        .any(|scheme| target.starts_with(scheme))
}

/// What is wrong with one link from `file`, if anything.
fn broken(file: &Path, target: &str) -> Option<String> {
    let (path, anchor) = match target.split_once('#') {
        Some((path, anchor)) => (path, Some(anchor)),
        None => (target, None),
    };
    let linked = if path.is_empty() {
        file.to_path_buf()
    } else {
        file.parent().expect("a file's directory").join(path)
    };
    if !linked.exists() {
        return Some(format!("{target}: no file {}", linked.display()));
    }
    let anchor = anchor?;
    if linked.extension().is_none_or(|e| e != "md") {
        return None;
    }
    let text = std::fs::read_to_string(&linked).expect("read a linked file");
    (!anchors(&text).contains(anchor))
        .then(|| format!("{target}: no heading #{anchor} in {}", linked.display()))
}

#[test]
fn the_readme_reads_in_five_minutes() {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README.md");
    assert!(
        readme.len() < README_MAX_BYTES,
        "README.md is {} bytes; keep it under {README_MAX_BYTES} and move the rest to docs/",
        readme.len()
    );
}

#[test]
fn every_relative_link_in_the_docs_points_at_something_that_exists() {
    let files = markdown_files();
    assert!(
        files.iter().any(|f| f.ends_with("docs/README.md")),
        "docs/README.md, the guide's index, exists"
    );
    let mut problems = Vec::new();
    let mut checked = 0;
    for file in &files {
        let text = std::fs::read_to_string(file).expect("read a doc");
        for line in prose_lines(&text) {
            for target in link_targets(&line) {
                if is_external(&target) {
                    continue;
                }
                checked += 1;
                if let Some(problem) = broken(file, &target) {
                    problems.push(format!("{}: {problem}", file.display()));
                }
            }
        }
    }
    assert!(
        checked > 50,
        "only {checked} links found: is the parser blind?"
    );
    assert!(
        problems.is_empty(),
        "broken links:\n{}",
        problems.join("\n")
    );
}

/// Source files (not `target/`, not hidden folders but `.cargo` and `.ci`) under `dir`.
fn code_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read a folder") {
        let path = entry.expect("a directory entry").path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if path.is_dir() {
            let hidden = name.starts_with('.') && name != ".cargo" && name != ".ci";
            if !hidden && name != "target" && name != "docs" && name != "node_modules" {
                code_files(&path, out);
            }
        } else if ["rs", "toml", "py", "lua", "sh"]
            .iter()
            .any(|e| path.extension().is_some_and(|x| x == *e))
            || name == "run"
        {
            out.push(path);
        }
    }
}

/// The topics a file cites as `BENCHMARKS.md, "Topic"` or `BENCHMARKS.md ("Topic")`,
/// read across comment lines.
fn cited_topics(text: &str) -> Vec<String> {
    let flat = text
        .lines()
        .map(|l| l.trim_start().trim_start_matches(['/', '!', '#']).trim())
        .collect::<Vec<_>>()
        .join(" ");
    let mut topics = Vec::new();
    for (at, _) in flat.match_indices("BENCHMARKS.md") {
        let after = flat[at + "BENCHMARKS.md".len()..].trim_start_matches([',', ' ', '(']);
        if let Some(quoted) = after.strip_prefix('"') {
            if let Some(end) = quoted.find('"') {
                topics.push(quoted[..end].to_owned());
            }
        }
    }
    topics
}

#[test]
fn code_cites_benchmark_topics_that_exist_and_never_the_log() {
    let benchmarks = std::fs::read_to_string(root().join("BENCHMARKS.md")).expect("BENCHMARKS.md");
    let topics: HashSet<&str> = benchmarks
        .lines()
        .filter_map(|l| l.strip_prefix("## "))
        .collect();
    let mut files = Vec::new();
    code_files(&root(), &mut files);
    files.push(root().join("ARCHITECTURE.md"));
    let mut problems = Vec::new();
    let mut cited = 0;
    // This file names what it looks for.
    let this = root().join(file!());
    for file in files.iter().filter(|f| **f != this) {
        let Ok(text) = std::fs::read_to_string(file) else {
            continue;
        };
        if text.contains("benchmarks-log") {
            problems.push(format!("{} cites the benchmark log", file.display()));
        }
        for topic in cited_topics(&text) {
            cited += 1;
            if !topics.contains(topic.as_str()) {
                problems.push(format!(
                    "{} cites BENCHMARKS.md, \"{topic}\", which is not one of its topics",
                    file.display()
                ));
            }
        }
    }
    assert!(
        cited > 5,
        "only {cited} citations found: is the reader blind?"
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_link_checker_finds_what_github_links_to() {
    assert_eq!(
        slug("Without tmux: --print"),
        "without-tmux---print",
        "punctuation goes, each space is a hyphen"
    );
    assert_eq!(
        slug("Planner: task → files on real repositories"),
        "planner-task--files-on-real-repositories"
    );
    let doc = "# A\n## Same\n```\n# not a heading\n```\n## Same\n";
    let found = anchors(doc);
    assert!(found.contains("a") && found.contains("same") && found.contains("same-1"));
    assert!(!found.contains("not-a-heading"));
    assert_eq!(
        link_targets("see [x](a.md#b) and ![y](img.png), not [z] (c)"),
        ["a.md#b", "img.png"]
    );
    assert_eq!(
        prose_lines("`[x](gone.md)` and [y](here.md)")[0].trim(),
        "and [y](here.md)"
    );
}
