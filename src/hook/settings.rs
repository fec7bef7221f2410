//! The `hooks` block of Claude Code's `.claude/settings.json` that runs the
//! ccmulti hooks, and its merge into an existing file: other keys and other
//! hooks are kept, and running it twice adds nothing.

use serde_json::{Map, Value, json};

use super::shell_quote;
use crate::json::kind;

/// Claude Code's editing tools, as a `PreToolUse` matcher (a regex over tool names).
pub const EDIT_MATCHER: &str = "Edit|Write|MultiEdit|NotebookEdit";
/// Claude Code's limit for one hook run; ccmulti's own are 2 s at most.
const TIMEOUT_SECONDS: u64 = 10;

/// (event, matcher, `ccmulti hook` subcommand)
const ENTRIES: [(&str, Option<&str>, &str); 4] = [
    ("PreToolUse", Some(EDIT_MATCHER), "pre-tool"),
    ("UserPromptSubmit", None, "news"),
    ("PostToolUse", Some("*"), "news"),
    // Not `StopFailure` (a turn ended by an API error) too: it is recent,
    // and the settings file is shared by whatever Claude Code a user runs.
    ("Stop", None, "stop"),
];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    #[error("{file} is not valid JSON ({why}); fix it, then run again. Nothing was changed")]
    NotJson { file: String, why: String },
    #[error(
        "{file}: {what} is {found}, not {expected}; fix it, then run again. Nothing was changed"
    )]
    WrongShape {
        file: String,
        what: String,
        found: &'static str,
        expected: &'static str,
    },
}

/// The shell command Claude Code runs for one hook.
pub fn command(binary: &str, subcommand: &str) -> String {
    format!("{} hook {subcommand}", shell_quote(binary))
}

fn group(matcher: Option<&str>, command: String) -> Value {
    let hook = json!({ "type": "command", "command": command, "timeout": TIMEOUT_SECONDS });
    match matcher {
        Some(m) => json!({ "matcher": m, "hooks": [hook] }),
        None => json!({ "hooks": [hook] }),
    }
}

/// `{"hooks": {...}}` for a binary at `binary` (an absolute path).
pub fn hooks_block(binary: &str) -> Value {
    let mut hooks = Map::new();
    for (event, matcher, sub) in ENTRIES {
        hooks.insert(event.into(), json!([group(matcher, command(binary, sub))]));
    }
    json!({ "hooks": hooks })
}

/// A ccmulti hook of this subcommand, whatever the binary's path was.
fn is_ours(hook: &Value, subcommand: &str) -> bool {
    hook["command"].as_str().is_some_and(|c| {
        c.contains("ccmulti") && c.trim_end().ends_with(&format!("hook {subcommand}"))
    })
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Merged {
    /// The file already has these hooks.
    Unchanged,
    /// The new text of the file.
    Changed(String),
}

/// Merges the hooks into `existing` (the file's text, `None` if it does not
/// exist). `file` names it in errors. An entry of ours with another binary path
/// is updated in place rather than duplicated.
pub fn merge(file: &str, existing: Option<&str>, binary: &str) -> Result<Merged, SettingsError> {
    let shape = |what: &str, found: &Value, expected: &'static str| SettingsError::WrongShape {
        file: file.to_owned(),
        what: what.to_owned(),
        found: kind(found),
        expected,
    };
    let mut root: Value = match existing.map(str::trim) {
        None | Some("") => json!({}),
        Some(text) => serde_json::from_str(text).map_err(|e| SettingsError::NotJson {
            file: file.to_owned(),
            why: e.to_string(),
        })?,
    };
    let Value::Object(top) = &mut root else {
        return Err(shape("the top level", &root, "an object"));
    };
    let hooks = top.entry("hooks").or_insert_with(|| json!({}));
    let Value::Object(hooks) = hooks else {
        return Err(shape("\"hooks\"", hooks, "an object"));
    };
    let mut changed = false;
    for (event, matcher, sub) in ENTRIES {
        let wanted = command(binary, sub);
        let groups = hooks.entry(event).or_insert_with(|| json!([]));
        let Value::Array(groups) = groups else {
            return Err(shape(&format!("hooks.{event}"), groups, "an array"));
        };
        let ours = groups
            .iter_mut()
            .filter_map(|g| g.get_mut("hooks").and_then(Value::as_array_mut))
            .flatten()
            .find(|h| is_ours(h, sub));
        match ours {
            Some(hook) if hook["command"] == wanted => {}
            Some(hook) => {
                hook["command"] = json!(wanted);
                changed = true;
            }
            None => {
                groups.push(group(matcher, wanted));
                changed = true;
            }
        }
    }
    if !changed {
        return Ok(Merged::Unchanged);
    }
    let mut text = serde_json::to_string_pretty(&root).unwrap_or_default();
    text.push('\n');
    Ok(Merged::Changed(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    const BIN: &str = "/opt/ccmulti/bin/ccmulti";

    fn changed(m: Merged) -> Value {
        match m {
            Merged::Changed(text) => serde_json::from_str(&text).unwrap(),
            Merged::Unchanged => panic!("expected a change"),
        }
    }

    #[test]
    fn the_block_runs_each_hook_on_its_event() {
        let block = hooks_block(BIN);
        assert_eq!(block["hooks"]["PreToolUse"][0]["matcher"], EDIT_MATCHER);
        assert_eq!(
            block["hooks"]["PreToolUse"][0]["hooks"][0]["command"],
            "/opt/ccmulti/bin/ccmulti hook pre-tool"
        );
        assert!(
            block["hooks"]["UserPromptSubmit"][0]
                .get("matcher")
                .is_none()
        );
        assert_eq!(
            block["hooks"]["PostToolUse"][0]["hooks"][0]["command"],
            "/opt/ccmulti/bin/ccmulti hook news"
        );
    }

    #[test]
    fn merging_keeps_what_is_there_and_is_idempotent() {
        let existing = r#"{"model": "opus", "hooks": {"PostToolUse": [{"matcher": "Write", "hooks": [{"type": "command", "command": "prettier --write"}]}]}}"#;
        let merged = changed(merge("s.json", Some(existing), BIN).unwrap());
        assert_eq!(merged["model"], "opus");
        let post = merged["hooks"]["PostToolUse"].as_array().unwrap();
        assert_eq!(post.len(), 2);
        assert_eq!(post[0]["hooks"][0]["command"], "prettier --write");
        let again = merge("s.json", Some(&merged.to_string()), BIN).unwrap();
        assert_eq!(again, Merged::Unchanged);
        // A moved binary updates our entries instead of adding more.
        let moved = changed(merge("s.json", Some(&merged.to_string()), "/new/ccmulti").unwrap());
        assert_eq!(moved["hooks"]["PostToolUse"].as_array().unwrap().len(), 2);
        assert_eq!(
            moved["hooks"]["PostToolUse"][1]["hooks"][0]["command"],
            "/new/ccmulti hook news"
        );
    }

    #[test]
    fn refuses_what_it_cannot_merge_into() {
        let err = merge("s.json", Some("{ \"model\": "), BIN).unwrap_err();
        assert!(
            err.to_string().starts_with("s.json is not valid JSON"),
            "{err}"
        );
        let err = merge("s.json", Some("[]"), BIN).unwrap_err();
        assert_eq!(
            err.to_string(),
            "s.json: the top level is an array, not an object; fix it, then run again. Nothing was changed"
        );
        let err = merge("s.json", Some(r#"{"hooks": {"PreToolUse": {}}}"#), BIN).unwrap_err();
        assert!(
            err.to_string()
                .contains("hooks.PreToolUse is an object, not an array"),
            "{err}"
        );
        assert!(matches!(merge("s.json", None, BIN), Ok(Merged::Changed(_))));
    }
}
