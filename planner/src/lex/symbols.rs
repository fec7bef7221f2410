//! Names a source file defines at the start of a line: functions, types,
//! classes. A task that names `RateLimiter` likely touches the file defining it.

use crate::Language;

const MAX_SYMBOLS_PER_FILE: usize = 200;

pub fn defined(language: Language, text: &str) -> Vec<String> {
    let keywords: &[&str] = match language {
        Language::Rust => &["fn", "struct", "enum", "trait", "type", "const", "static"],
        Language::Python => &["def", "class"],
        Language::JavaScript => &["function", "class", "interface", "type", "const", "enum"],
        Language::Go => &["func", "type"],
    };
    let mut out = Vec::new();
    for line in text.lines() {
        // Top-level items and methods one level in; deeper lines are local names.
        let indent = line.len() - line.trim_start().len();
        if indent > 4 {
            continue;
        }
        let mut words = line.split_whitespace().peekable();
        // Skip visibility and modifiers: pub, pub(crate), export, async, default, ...
        while let Some(w) = words.peek() {
            if w.starts_with("pub")
                || matches!(
                    *w,
                    "export" | "async" | "default" | "unsafe" | "declare" | "abstract"
                )
            {
                words.next();
            } else {
                break;
            }
        }
        let (Some(keyword), Some(name)) = (words.next(), words.next()) else {
            continue;
        };
        if !keywords.contains(&keyword) || keyword == "const" && indent > 0 {
            continue;
        }
        // Go methods: `func (r *Repo) Save(`.
        let name = if keyword == "func" && name.starts_with('(') {
            match line.split_once(')') {
                Some((_, rest)) => rest.trim_start(),
                None => continue,
            }
        } else {
            name
        };
        let ident: String = name
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if ident.len() >= 3 {
            out.push(ident);
            if out.len() == MAX_SYMBOLS_PER_FILE {
                break;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_per_language() {
        assert_eq!(
            defined(
                Language::Rust,
                "pub(crate) async fn load_config() {}\nstruct Cache;\nlet x = 1;"
            ),
            ["load_config", "Cache"]
        );
        assert_eq!(
            defined(
                Language::Python,
                "class RateLimiter:\n    def allow(self):\n"
            ),
            ["RateLimiter", "allow"]
        );
        assert_eq!(
            defined(
                Language::JavaScript,
                "export default function renderCart() {}\nexport const API_URL = 1;\n  const local = 2;\n        function deep() {}"
            ),
            ["renderCart", "API_URL"]
        );
        assert_eq!(
            defined(
                Language::Go,
                "func (r *Repo) SaveOrder(o Order) error {\ntype Order struct {"
            ),
            ["SaveOrder", "Order"]
        );
    }
}
