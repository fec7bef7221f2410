//! What a source file imports, read from its text without a parser: enough to
//! draw a file dependency graph, not to compile anything.

use crate::Language;

/// One import as written, before it is resolved to a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Import {
    /// `mod name;` — a child module file.
    RustMod(String),
    /// `use a::b::c;`, expanded out of brace groups, `as` renames dropped.
    RustUse(Vec<String>),
    /// `import a.b` (`level` 0) or `from ..a import b, c` (`level` 2, `names` b and c).
    Python {
        level: usize,
        module: Vec<String>,
        names: Vec<String>,
    },
    /// The specifier of `import ... from "x"`, `require("x")`, `import("x")`.
    Js(String),
    /// A Go import path.
    Go(String),
}

pub fn extract(language: Language, text: &str) -> Vec<Import> {
    match language {
        Language::Rust => rust(text),
        Language::Python => python(text),
        Language::JavaScript => javascript(text),
        Language::Go => go(text),
    }
}

/// Statements that end at `;`, each starting at the beginning of a line.
fn rust(text: &str) -> Vec<Import> {
    let mut out = Vec::new();
    let mut pending: Option<String> = None;
    for line in text.lines() {
        let line = line.split("//").next().unwrap_or_default().trim();
        let statement = match pending.take() {
            Some(mut open) => {
                open.push(' ');
                open.push_str(line);
                open
            }
            None => {
                let body = strip_visibility(line);
                if let Some(rest) = body.strip_prefix("mod ") {
                    if let Some(name) = rest.strip_suffix(';') {
                        out.push(Import::RustMod(name.trim().to_owned()));
                    }
                    continue;
                }
                match body.strip_prefix("use ") {
                    Some(rest) => rest.to_owned(),
                    None => continue,
                }
            }
        };
        match statement.split_once(';') {
            Some((tree, _)) => out.extend(
                expand_use_tree(tree, 0)
                    .into_iter()
                    .map(|path| Import::RustUse(path.split("::").map(str::to_owned).collect())),
            ),
            None => pending = Some(statement),
        }
    }
    out
}

fn strip_visibility(line: &str) -> &str {
    let Some(rest) = line.strip_prefix("pub") else {
        return line;
    };
    let rest = rest.trim_start();
    match rest.strip_prefix('(') {
        Some(inner) => inner.split_once(')').map_or(line, |(_, r)| r.trim_start()),
        None => rest,
    }
}

/// Deeper brace nesting is not real code; stop before it costs the stack.
const MAX_USE_DEPTH: usize = 16;

/// `a::{b, c::{d, e as f}, self}` → `a::b`, `a::c::d`, `a::c::e`, `a`.
fn expand_use_tree(tree: &str, depth: usize) -> Vec<String> {
    if depth > MAX_USE_DEPTH {
        return Vec::new();
    }
    let tree = tree.trim().trim_start_matches("::");
    let Some(open) = tree.find('{') else {
        let leaf = tree.split(" as ").next().unwrap_or_default().trim();
        let leaf = leaf.trim_end_matches("::*").trim_end_matches("::self");
        return if leaf.is_empty() || leaf == "*" {
            Vec::new()
        } else {
            vec![leaf.replace(' ', "")]
        };
    };
    let prefix = tree[..open].trim().trim_end_matches("::").replace(' ', "");
    let inner = tree[open + 1..].trim_end();
    let inner = inner.strip_suffix('}').unwrap_or(inner);
    split_top_level(inner)
        .into_iter()
        .flat_map(|part| expand_use_tree(part, depth + 1))
        .map(|rest| match (prefix.is_empty(), rest.as_str()) {
            (true, _) => rest,
            (false, "self") => prefix.clone(),
            (false, _) => format!("{prefix}::{rest}"),
        })
        .chain(inner.trim().is_empty().then(|| prefix.clone()))
        .collect()
}

fn split_top_level(inner: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0usize, 0usize);
    for (i, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                parts.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&inner[start..]);
    parts.into_iter().filter(|p| !p.trim().is_empty()).collect()
}

fn python(text: &str) -> Vec<Import> {
    let mut out = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let line = line.split('#').next().unwrap_or_default().trim();
        if let Some(rest) = line.strip_prefix("import ") {
            for part in rest.split(',') {
                let module = part.split(" as ").next().unwrap_or_default().trim();
                if !module.is_empty() {
                    out.push(Import::Python {
                        level: 0,
                        module: dotted(module),
                        names: Vec::new(),
                    });
                }
            }
        } else if let Some(rest) = line.strip_prefix("from ") {
            let Some((module, names)) = rest.split_once(" import ") else {
                continue;
            };
            let mut names = names.trim().to_owned();
            // `from a import (\n b,\n c\n)` spans lines.
            if names.starts_with('(') && !names.contains(')') {
                for more in lines.by_ref() {
                    names.push(' ');
                    names.push_str(more.split('#').next().unwrap_or_default());
                    if more.contains(')') {
                        break;
                    }
                }
            }
            let module = module.trim();
            let level = module.chars().take_while(|c| *c == '.').count();
            out.push(Import::Python {
                level,
                module: dotted(&module[level..]),
                names: names
                    .trim_matches(|c| c == '(' || c == ')' || c == ' ')
                    .split(',')
                    .filter_map(|n| n.split(" as ").next())
                    .map(|n| n.trim().trim_end_matches(')').trim().to_owned())
                    .filter(|n| !n.is_empty() && n != "*")
                    .collect(),
            });
        }
    }
    out
}

fn dotted(module: &str) -> Vec<String> {
    module
        .split('.')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A quoted string right after `from`, `import`, `require(` or `import(`.
fn javascript(text: &str) -> Vec<Import> {
    let mut out = Vec::new();
    for (start, quote) in text.char_indices().filter(|(_, c)| matches!(c, '\'' | '"')) {
        let before = text[..start].trim_end();
        let before = before.strip_suffix('(').map_or(before, str::trim_end);
        let introduced = ["from", "import", "require"].iter().any(|w| {
            before.ends_with(w)
                && !before[..before.len() - w.len()]
                    .ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == '.' || c == '$')
        });
        if !introduced {
            continue;
        }
        let rest = &text[start + 1..];
        if let Some(end) = rest.find(quote) {
            let spec = &rest[..end];
            if !spec.is_empty() && !spec.contains('\n') {
                out.push(Import::Js(spec.to_owned()));
            }
        }
    }
    out
}

fn go(text: &str) -> Vec<Import> {
    let mut out = Vec::new();
    let mut in_block = false;
    for line in text.lines() {
        let line = line.split("//").next().unwrap_or_default().trim();
        let spec = if in_block {
            if line.starts_with(')') {
                in_block = false;
                continue;
            }
            line
        } else if let Some(rest) = line.strip_prefix("import") {
            let rest = rest.trim();
            if rest.starts_with('(') {
                in_block = true;
                rest.trim_start_matches('(')
            } else {
                rest
            }
        } else {
            continue;
        };
        if let Some(path) = spec.split('"').nth(1).filter(|p| !p.is_empty()) {
            out.push(Import::Go(path.to_owned()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uses(text: &str) -> Vec<String> {
        rust(text)
            .into_iter()
            .map(|i| match i {
                Import::RustUse(p) => p.join("::"),
                Import::RustMod(m) => format!("mod {m}"),
                other => panic!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn rust_use_trees_expand() {
        let text = "use std::io;\npub(crate) use crate::a::{b, c::{d, e as f}, self};\nmod g;\npub mod h;\nmod inline {\n}\nuse super::x::*;\nuse crate::{\n    y,\n    z,\n};";
        assert_eq!(
            uses(text),
            [
                "std::io",
                "crate::a::b",
                "crate::a::c::d",
                "crate::a::c::e",
                "crate::a",
                "mod g",
                "mod h",
                "super::x",
                "crate::y",
                "crate::z"
            ]
        );
    }

    #[test]
    fn absurd_nesting_is_cut_off_not_recursed() {
        let text = format!("use a::{}b{};", "{".repeat(100_000), "}".repeat(100_000));
        assert!(uses(&text).is_empty());
    }

    #[test]
    fn python_forms() {
        let text = "import os, app.models as m\nfrom . import util\nfrom ..core.db import (\n    connect,\n    close,\n)\nfrom x import *  # all\n";
        let got = python(text);
        assert_eq!(got.len(), 5);
        assert_eq!(
            got[1],
            Import::Python {
                level: 0,
                module: vec!["app".into(), "models".into()],
                names: vec![]
            }
        );
        assert_eq!(
            got[2],
            Import::Python {
                level: 1,
                module: vec![],
                names: vec!["util".into()]
            }
        );
        assert_eq!(
            got[3],
            Import::Python {
                level: 2,
                module: vec!["core".into(), "db".into()],
                names: vec!["connect".into(), "close".into()]
            }
        );
        assert_eq!(
            got[4],
            Import::Python {
                level: 0,
                module: vec!["x".into()],
                names: vec![]
            }
        );
    }

    #[test]
    fn javascript_forms() {
        let text = "import a from './a';\nimport { b } from \"../b/index.js\";\nimport './side.css';\nconst c = require('./c');\nconst d = await import('./d');\nexport * from './e';\nconst s = 'not an import';\nobj.from('./no');\n";
        let got: Vec<String> = javascript(text)
            .into_iter()
            .map(|i| match i {
                Import::Js(s) => s,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            got,
            ["./a", "../b/index.js", "./side.css", "./c", "./d", "./e"]
        );
    }

    #[test]
    fn go_forms() {
        let text = "package main\n\nimport \"fmt\"\nimport (\n\t\"example.com/app/store\"\n\tlog \"example.com/app/log\" // aliased\n)\n";
        assert_eq!(
            go(text),
            [
                Import::Go("fmt".into()),
                Import::Go("example.com/app/store".into()),
                Import::Go("example.com/app/log".into())
            ]
        );
    }
}
