//! From an import as written to the project file it names. Imports of things
//! outside the project (std, packages, other modules) resolve to nothing.

use std::collections::{HashMap, HashSet};

use crate::lex::imports::Import;
use crate::project::{Language, ProjectFiles, SourceFile, join, parent};

pub(super) struct Resolver<'a> {
    files: HashSet<&'a str>,
    go_packages: HashMap<&'a str, Vec<&'a str>>,
    project: &'a ProjectFiles,
}

impl<'a> Resolver<'a> {
    pub fn new(project: &'a ProjectFiles) -> Self {
        let mut go_packages: HashMap<&str, Vec<&str>> = HashMap::new();
        for f in &project.files {
            if f.ends_with(".go") && !f.ends_with("_test.go") {
                go_packages.entry(parent(f)).or_default().push(f);
            }
        }
        Self {
            files: project.files.iter().map(String::as_str).collect(),
            go_packages,
            project,
        }
    }

    fn existing(&self, candidate: &str) -> Option<String> {
        self.files.contains(candidate).then(|| candidate.to_owned())
    }

    /// The files one import of `source` refers to.
    pub fn resolve(&self, source: &SourceFile, import: &Import) -> Vec<String> {
        let found = match (source.language, import) {
            (Language::Rust, Import::RustMod(name)) => self.rust_mod(&source.path, name),
            (Language::Rust, Import::RustUse(segs)) => self.rust_use(&source.path, segs),
            (
                Language::Python,
                Import::Python {
                    level,
                    module,
                    names,
                },
            ) => {
                return self.python(&source.path, *level, module, names);
            }
            (Language::JavaScript, Import::Js(spec)) => self.javascript(&source.path, spec),
            (Language::Go, Import::Go(path)) => return self.go(path),
            _ => None,
        };
        found.into_iter().filter(|f| *f != source.path).collect()
    }

    fn rust_mod(&self, file: &str, name: &str) -> Option<String> {
        let layout = RustLayout::of(file);
        let dir = if layout.is_root_like {
            parent(file).to_owned()
        } else {
            join(parent(file), stem(file))
        };
        self.existing(&join(&dir, &format!("{name}.rs")))
            .or_else(|| self.existing(&join(&dir, &format!("{name}/mod.rs"))))
    }

    fn rust_use(&self, file: &str, segs: &[String]) -> Option<String> {
        let layout = RustLayout::of(file);
        let (first, rest) = segs.split_first()?;
        // (src dir, module path, how much of the path must resolve)
        let mut bases: Vec<(String, Vec<String>, usize)> = Vec::new();
        match first.as_str() {
            "crate" => bases.push((layout.src_dir.clone(), rest.to_vec(), 0)),
            "self" => bases.push((
                layout.src_dir.clone(),
                [&layout.module[..], rest].concat(),
                0,
            )),
            "super" => {
                let mut module = layout.module.clone();
                let mut rest = segs;
                while let Some(("super", more)) = rest.split_first().map(|(a, b)| (a.as_str(), b)) {
                    module.pop();
                    rest = more;
                }
                bases.push((layout.src_dir.clone(), [&module[..], rest].concat(), 0));
            }
            name => {
                if let Some((_, src)) = self.project.rust_crates.iter().find(|(c, _)| c == name) {
                    bases.push((src.clone(), rest.to_vec(), 0));
                }
                // Edition 2018 paths: a name in scope may be a sibling or a crate-root
                // module; the guess counts only if that first name resolves.
                let sibling = [&layout.module[..], segs].concat();
                let depth = layout.module.len() + 1;
                bases.push((layout.src_dir.clone(), sibling, depth));
                bases.push((layout.src_dir.clone(), segs.to_vec(), 1));
            }
        }
        bases.into_iter().find_map(|(src, module, at_least)| {
            (at_least..=module.len())
                .rev()
                .find_map(|k| self.rust_module_file(&src, &module[..k]))
        })
    }

    fn rust_module_file(&self, src: &str, module: &[String]) -> Option<String> {
        if module.is_empty() {
            return self
                .existing(&join(src, "lib.rs"))
                .or_else(|| self.existing(&join(src, "main.rs")));
        }
        let path = join(src, &module.join("/"));
        self.existing(&format!("{path}.rs"))
            .or_else(|| self.existing(&format!("{path}/mod.rs")))
    }

    fn python_module(&self, base: &str, module: &[String]) -> Option<String> {
        let path = join(base, &module.join("/"));
        if module.is_empty() {
            return self.existing(&join(base, "__init__.py"));
        }
        self.existing(&format!("{path}.py"))
            .or_else(|| self.existing(&format!("{path}/__init__.py")))
    }

    fn python(&self, file: &str, level: usize, module: &[String], names: &[String]) -> Vec<String> {
        let bases: Vec<String> = if level > 0 {
            let mut dir = parent(file);
            for _ in 1..level {
                dir = parent(dir);
            }
            vec![dir.to_owned()]
        } else {
            python_roots(file, &self.files)
        };
        for base in &bases {
            // `from pkg import mod` names modules; `from mod import name` names a module's contents.
            let submodules: Vec<String> = names
                .iter()
                .filter_map(|n| {
                    self.python_module(base, &[module, std::slice::from_ref(n)].concat())
                })
                .collect();
            if !submodules.is_empty() {
                return submodules;
            }
            if let Some(found) = (1..=module.len())
                .rev()
                .find_map(|k| self.python_module(base, &module[..k]))
                .or_else(|| (level > 0).then(|| self.python_module(base, &[])).flatten())
            {
                return vec![found];
            }
        }
        Vec::new()
    }

    fn javascript(&self, file: &str, spec: &str) -> Option<String> {
        if !spec.starts_with('.') {
            return None;
        }
        let joined = lexical_join(parent(file), spec)?;
        const EXTS: [&str; 8] = ["ts", "tsx", "js", "jsx", "mjs", "cjs", "mts", "cts"];
        let mut candidates = vec![joined.clone()];
        // TypeScript sources import their compiled name: `./a.js` is `./a.ts`.
        if let Some((stem, "js" | "jsx" | "mjs" | "cjs")) = joined.rsplit_once('.') {
            candidates.extend(EXTS.iter().map(|e| format!("{stem}.{e}")));
        }
        candidates.extend(EXTS.iter().map(|e| format!("{joined}.{e}")));
        candidates.extend(EXTS.iter().map(|e| format!("{joined}/index.{e}")));
        candidates.iter().find_map(|c| self.existing(c))
    }

    fn go(&self, import: &str) -> Vec<String> {
        for (dir, module) in &self.project.go_modules {
            let rest = match import.strip_prefix(module.as_str()) {
                Some("") => "",
                Some(rest) if rest.starts_with('/') => &rest[1..],
                _ => continue,
            };
            let pkg = join(dir, rest);
            if let Some(files) = self.go_packages.get(pkg.as_str()) {
                return files.iter().map(|f| (*f).to_owned()).collect();
            }
        }
        Vec::new()
    }
}

/// Where a Rust file sits in its crate: the `src` directory and its module path.
struct RustLayout {
    src_dir: String,
    module: Vec<String>,
    /// lib.rs, main.rs, mod.rs and files outside `src/` declare child modules beside themselves.
    is_root_like: bool,
}

impl RustLayout {
    fn of(file: &str) -> Self {
        let parts: Vec<&str> = file.split('/').collect();
        let src_at = parts.iter().rposition(|p| *p == "src");
        let name = stem(file);
        let Some(src_at) = src_at.filter(|i| *i + 1 < parts.len()) else {
            return Self {
                src_dir: parent(file).to_owned(),
                module: Vec::new(),
                is_root_like: true,
            };
        };
        let inner = &parts[src_at + 1..];
        let mut module: Vec<String> = inner[..inner.len() - 1]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        let in_bin = inner.first() == Some(&"bin") && inner.len() == 2;
        let crate_root = matches!(name, "lib" | "main") && inner.len() == 1 || in_bin;
        if in_bin {
            module.clear();
        } else if !crate_root && name != "mod" {
            module.push(name.to_owned());
        }
        Self {
            src_dir: parts[..=src_at].join("/"),
            module,
            is_root_like: crate_root || name == "mod",
        }
    }
}

fn stem(file: &str) -> &str {
    let name = file.rsplit('/').next().unwrap_or(file);
    name.split_once('.').map_or(name, |(s, _)| s)
}

/// The directories an absolute Python import may start from: the project root,
/// `src/`, and the directory holding the importer's top-level package.
fn python_roots(file: &str, files: &HashSet<&str>) -> Vec<String> {
    let mut dir = parent(file);
    while !dir.is_empty() && files.contains(join(dir, "__init__.py").as_str()) {
        dir = parent(dir);
    }
    let mut roots = vec![dir.to_owned()];
    for extra in ["", "src"] {
        if !roots.iter().any(|r| r == extra) {
            roots.push(extra.to_owned());
        }
    }
    roots
}

/// `dir` joined with a relative specifier, `..` resolved; `None` if it leaves the root.
fn lexical_join(dir: &str, spec: &str) -> Option<String> {
    let mut parts: Vec<&str> = dir.split('/').filter(|p| !p.is_empty()).collect();
    for part in spec.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    Some(parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rust_layouts() {
        let l = RustLayout::of("crates/x/src/store/locks.rs");
        assert_eq!(l.src_dir, "crates/x/src");
        assert_eq!(l.module, ["store", "locks"]);
        assert!(!l.is_root_like);
        let l = RustLayout::of("src/store/mod.rs");
        assert_eq!(l.module, ["store"]);
        assert!(l.is_root_like);
        let l = RustLayout::of("src/lib.rs");
        assert!(l.module.is_empty() && l.is_root_like);
        let l = RustLayout::of("tests/it.rs");
        assert_eq!(l.src_dir, "tests");
        assert!(l.is_root_like);
    }

    #[test]
    fn lexical_joins() {
        assert_eq!(
            lexical_join("web/src", "../lib/a").as_deref(),
            Some("web/lib/a")
        );
        assert_eq!(lexical_join("", "./a").as_deref(), Some("a"));
        assert_eq!(lexical_join("", "../a"), None);
    }
}
