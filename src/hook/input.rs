//! What Claude Code sends a command hook on stdin (its documented hook input):
//! common fields (`session_id`, `transcript_path`, `cwd`, `hook_event_name`, ...)
//! and, for tool events, `tool_name`, `tool_input` and `tool_use_id`. Only the
//! fields ccmulti needs are read; the rest are ignored, so new ones do no harm.

use serde::Deserialize;
use serde_json::Value;

/// Claude Code's editing tools, and the `tool_input` field naming the file each edits.
pub const EDITING_TOOLS: [(&str, &str); 4] = [
    ("Edit", "file_path"),
    ("Write", "file_path"),
    ("MultiEdit", "file_path"),
    ("NotebookEdit", "notebook_path"),
];

/// The events `ccmulti hook news` answers; each takes `additionalContext`.
pub const NEWS_EVENTS: [&str; 3] = ["UserPromptSubmit", "PostToolUse", "SessionStart"];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    #[error(
        "the hook input on stdin is not JSON ({0}); ccmulti hook expects the JSON object Claude Code sends to command hooks"
    )]
    NotJson(String),
    #[error("the hook input has no {0:?}; ccmulti hook expects Claude Code's hook input")]
    Missing(&'static str),
    #[error(
        "{tool}'s tool_input has no {field:?} string; ccmulti cannot tell which file is edited"
    )]
    NoPath { tool: String, field: &'static str },
    #[error(
        "`ccmulti hook {command}` answers {accepted}, not {got:?}; check the event it is registered under in .claude/settings.json"
    )]
    WrongEvent {
        command: &'static str,
        accepted: String,
        got: String,
    },
}

#[derive(Debug, Clone, Deserialize)]
pub struct HookInput {
    #[serde(default)]
    pub hook_event_name: Option<String>,
    /// The working directory of the Claude Code session.
    #[serde(default)]
    pub cwd: Option<String>,
    #[serde(default)]
    pub tool_name: Option<String>,
    #[serde(default)]
    pub tool_input: Option<Value>,
    /// The session's transcript (JSON lines), which Claude Code keeps.
    #[serde(default)]
    pub transcript_path: Option<String>,
}

impl HookInput {
    pub fn parse(text: &str) -> Result<Self, InputError> {
        serde_json::from_str(text).map_err(|e| InputError::NotJson(e.to_string()))
    }

    pub fn event(&self) -> Result<&str, InputError> {
        self.hook_event_name
            .as_deref()
            .ok_or(InputError::Missing("hook_event_name"))
    }

    /// The file an editing tool is about to change; `None` for any other tool.
    pub fn edited_path(&self) -> Result<Option<&str>, InputError> {
        let tool = self
            .tool_name
            .as_deref()
            .ok_or(InputError::Missing("tool_name"))?;
        let Some((_, field)) = EDITING_TOOLS.iter().find(|(name, _)| *name == tool) else {
            return Ok(None);
        };
        self.tool_input
            .as_ref()
            .and_then(|i| i.get(field))
            .and_then(Value::as_str)
            .map(Some)
            .ok_or_else(|| InputError::NoPath {
                tool: tool.to_owned(),
                field,
            })
    }

    /// The file Claude Code's Read tool read; `None` for any other tool.
    pub fn read_path(&self) -> Option<&str> {
        if self.tool_name.as_deref() != Some("Read") {
            return None;
        }
        self.tool_input
            .as_ref()
            .and_then(|i| i.get("file_path"))
            .and_then(Value::as_str)
    }

    /// The event, if it is one `ccmulti hook news` answers.
    pub fn news_event(&self) -> Result<&str, InputError> {
        let event = self.event()?;
        if NEWS_EVENTS.contains(&event) {
            Ok(event)
        } else {
            Err(InputError::WrongEvent {
                command: "news",
                accepted: NEWS_EVENTS.join(", "),
                got: event.to_owned(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_edited_file_of_each_editing_tool() {
        for (tool, field) in EDITING_TOOLS {
            let input = HookInput::parse(&format!(
                r#"{{"hook_event_name":"PreToolUse","tool_name":"{tool}","tool_input":{{"{field}":"/r/a.rs"}}}}"#
            ))
            .unwrap();
            assert_eq!(input.edited_path(), Ok(Some("/r/a.rs")), "{tool}");
        }
        let bash = HookInput::parse(
            r#"{"hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"ls"}}"#,
        )
        .unwrap();
        assert_eq!(bash.edited_path(), Ok(None));
    }

    #[test]
    fn says_what_is_wrong_with_bad_input() {
        assert!(matches!(
            HookInput::parse("not json"),
            Err(InputError::NotJson(_))
        ));
        let no_path = HookInput::parse(
            r#"{"hook_event_name":"PreToolUse","tool_name":"Edit","tool_input":{}}"#,
        )
        .unwrap();
        assert_eq!(
            no_path.edited_path().unwrap_err().to_string(),
            "Edit's tool_input has no \"file_path\" string; ccmulti cannot tell which file is edited"
        );
        let stop = HookInput::parse(r#"{"hook_event_name":"Stop"}"#).unwrap();
        assert!(
            stop.news_event()
                .unwrap_err()
                .to_string()
                .contains("UserPromptSubmit, PostToolUse")
        );
    }
}
