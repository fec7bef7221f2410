//! What the hooks print on stdout, in Claude Code's documented hook output:
//! `hookSpecificOutput` carrying `hookEventName` (it must match the event),
//! `permissionDecision` / `permissionDecisionReason` (PreToolUse: a `deny`
//! reason is shown to the model), `additionalContext` (added to the model's
//! context) and the top-level `systemMessage` (shown to the user).
//!
//! ccmulti never answers `allow`: that would skip the user's own permission
//! prompt. With no objection it prints nothing, or only context.

use serde_json::{Value, json};

use super::decide::Verdict;

pub fn pre_tool(verdict: &Verdict) -> Option<Value> {
    match verdict {
        Verdict::Allow { context: None } => None,
        Verdict::Allow {
            context: Some(context),
        } => Some(json!({
            "hookSpecificOutput": { "hookEventName": "PreToolUse", "additionalContext": context }
        })),
        Verdict::Warn { user, context } => Some(json!({
            "systemMessage": user,
            "hookSpecificOutput": { "hookEventName": "PreToolUse", "additionalContext": context }
        })),
        Verdict::Deny { reason } => Some(json!({
            "hookSpecificOutput": {
                "hookEventName": "PreToolUse",
                "permissionDecision": "deny",
                "permissionDecisionReason": denial(reason)
            }
        })),
    }
}

/// How a denial opens. Claude Code (2.1.x) puts every refusal of a
/// PreToolUse hook before the model as "PreToolUse:Edit hook error: <reason>",
/// whichever form the hook used (this JSON, `decision: block`, exit code 2,
/// an HTTP hook): the prefix is Claude Code's own. This JSON form is the one
/// that adds nothing else (exit code 2 adds the hook's command line), so the
/// reason's first words say that this is a decision, not a broken hook.
pub const DENIAL_LEAD: &str =
    "ccmulti denied this call on purpose (the hook works; this is a refusal, not an error): ";

fn denial(reason: &str) -> String {
    format!(
        "{DENIAL_LEAD}{}",
        reason.strip_prefix("ccmulti: ").unwrap_or(reason)
    )
}

/// Nothing at all when nothing changed; otherwise a few lines of context.
pub fn news(event: &str, agent: &str, session: &str, lines: &[String]) -> Option<Value> {
    if lines.is_empty() {
        return None;
    }
    let mut context = format!("ccmulti news for {agent} (session {session}):");
    for line in lines {
        context.push_str("\n- ");
        context.push_str(line);
    }
    Some(json!({
        "hookSpecificOutput": { "hookEventName": event, "additionalContext": context }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_objection_prints_nothing_and_a_denial_is_documented_json() {
        assert_eq!(pre_tool(&Verdict::Allow { context: None }), None);
        assert_eq!(
            pre_tool(&Verdict::Deny {
                reason: "held".into()
            }),
            Some(json!({ "hookSpecificOutput": {
                "hookEventName": "PreToolUse", "permissionDecision": "deny",
                "permissionDecisionReason": format!("{DENIAL_LEAD}held")
            }}))
        );
        let warn = pre_tool(&Verdict::Warn {
            user: "u".into(),
            context: "c".into(),
        })
        .unwrap();
        assert_eq!(warn["systemMessage"], "u");
        assert_eq!(warn["hookSpecificOutput"]["additionalContext"], "c");
        assert!(
            warn["hookSpecificOutput"]
                .get("permissionDecision")
                .is_none()
        );
    }

    #[test]
    fn news_is_silent_when_empty_and_names_the_event_otherwise() {
        assert_eq!(news("PostToolUse", "a", "s", &[]), None);
        let out = news(
            "UserPromptSubmit",
            "impl_a",
            "s1",
            &["x".into(), "y".into()],
        )
        .unwrap();
        assert_eq!(
            out["hookSpecificOutput"]["hookEventName"],
            "UserPromptSubmit"
        );
        assert_eq!(
            out["hookSpecificOutput"]["additionalContext"],
            "ccmulti news for impl_a (session s1):\n- x\n- y"
        );
    }
}
