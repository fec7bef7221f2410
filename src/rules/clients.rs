//! Who gets which tools: only Claude Code, on a `/mcp/v2/claude/...` URL, sees the
//! coordination tools; the planner sees its own on top. Decided on every request.

use super::virtual_user::VirtualUser;

/// The product tokens a `User-Agent` may start with to name a client.
/// Anything else (curl, python-httpx, node) is neutral.
const KNOWN_USER_AGENTS: &[(&str, &str)] = &[
    ("claude-code/", CLAUDE_CODE),
    ("cursor/", "cursor"),
    ("chorus/", "chorus"),
    ("chatgpt/", "chatgpt"),
    ("openai-mcp/", "chatgpt"),
    ("codex/", "codex"),
    ("codex_cli_rs/", "codex"),
    ("windsurf/", "windsurf"),
    ("vscode/", "vscode"),
    ("zed/", "zed"),
];

const CLAUDE_CODE: &str = "claude-code";

/// The identity signals of one request, as received.
#[derive(Debug, Clone, Default)]
pub struct IdentitySignals<'a> {
    /// The `{client}` path segment.
    pub path_client: &'a str,
    /// Every `x-client-name` header value.
    pub x_client_names: Vec<&'a str>,
    /// `clientInfo.name` from `_meta` or from `initialize`.
    pub client_info_name: Option<&'a str>,
    pub user_agent: Option<&'a str>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientVerdict {
    ClaudeCode,
    /// Not Claude Code; the name is for logs and errors.
    Other(String),
}

impl ClientVerdict {
    pub fn label(&self) -> &str {
        match self {
            Self::ClaudeCode => CLAUDE_CODE,
            Self::Other(name) => name,
        }
    }
}

/// A client's own name, made safe for logs and metric labels.
fn label(name: &str) -> String {
    let clean: String = name
        .trim()
        .to_ascii_lowercase()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | ' '))
        .take(40)
        .collect();
    if clean.is_empty() {
        "unnamed".into()
    } else {
        clean
    }
}

fn names_claude_code(name: &str) -> bool {
    matches!(
        name.trim().to_ascii_lowercase().as_str(),
        "claude" | "claude-code" | "claude code"
    )
}

/// Claude Code means: the path segment is `claude`, at least one signal names
/// Claude Code, and no signal names another client.
pub fn classify(signals: &IdentitySignals<'_>) -> ClientVerdict {
    let mut named_claude = false;
    let mut other: Option<String> = None;
    let mut note = |name: &str, is_claude: bool| {
        if is_claude {
            named_claude = true;
        } else if other.is_none() {
            other = Some(label(name));
        }
    };
    for name in &signals.x_client_names {
        note(name, names_claude_code(name));
    }
    if let Some(name) = signals.client_info_name {
        note(name, name.trim() == CLAUDE_CODE);
    }
    if let Some(agent) = signals.user_agent {
        let lower = agent.trim_start().to_ascii_lowercase();
        if let Some((_, client)) = KNOWN_USER_AGENTS
            .iter()
            .find(|(token, _)| lower.starts_with(token))
        {
            note(client, *client == CLAUDE_CODE);
        }
    }
    if let Some(other) = other {
        return ClientVerdict::Other(other);
    }
    if signals.path_client != "claude" {
        return ClientVerdict::Other(label(signals.path_client));
    }
    if named_claude {
        ClientVerdict::ClaudeCode
    } else {
        ClientVerdict::Other("unknown".into())
    }
}

/// The coordination tools, by the seed's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ToolName {
    AnalyzeTaskConflicts,
    CreateTaskDistribution,
    ClaimFileLock,
    ReleaseFileLock,
    SyncProgress,
    CheckAgentStatus,
    SetupMultiAgentCoordination,
}

impl ToolName {
    pub const ALL: [ToolName; 7] = [
        Self::AnalyzeTaskConflicts,
        Self::CreateTaskDistribution,
        Self::ClaimFileLock,
        Self::ReleaseFileLock,
        Self::SyncProgress,
        Self::CheckAgentStatus,
        Self::SetupMultiAgentCoordination,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::AnalyzeTaskConflicts => "analyze_task_conflicts",
            Self::CreateTaskDistribution => "create_task_distribution",
            Self::ClaimFileLock => "claim_file_lock",
            Self::ReleaseFileLock => "release_file_lock",
            Self::SyncProgress => "sync_progress",
            Self::CheckAgentStatus => "check_agent_status",
            Self::SetupMultiAgentCoordination => "setup_multi_agent_coordination",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == name)
    }
}

/// DESIGN.md's table: the tools this caller is entitled to, in listing order.
pub fn entitled_tools(verdict: &ClientVerdict, user: &VirtualUser) -> &'static [ToolName] {
    use ToolName::*;
    const PLANNER: &[ToolName] = &[
        AnalyzeTaskConflicts,
        CreateTaskDistribution,
        ClaimFileLock,
        ReleaseFileLock,
        SyncProgress,
        CheckAgentStatus,
        SetupMultiAgentCoordination,
    ];
    const IMPLEMENTER: &[ToolName] = &[
        ClaimFileLock,
        ReleaseFileLock,
        SyncProgress,
        CheckAgentStatus,
        SetupMultiAgentCoordination,
    ];
    const NO_SESSION: &[ToolName] = &[SetupMultiAgentCoordination];
    match (verdict, &user.session) {
        (ClientVerdict::Other(_), _) => &[],
        (ClientVerdict::ClaudeCode, None) => NO_SESSION,
        (ClientVerdict::ClaudeCode, Some(s)) if s.is_planner() => PLANNER,
        (ClientVerdict::ClaudeCode, Some(_)) => IMPLEMENTER,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::virtual_user;

    fn verdict(path: &str, x: &[&str], info: Option<&str>, ua: Option<&str>) -> ClientVerdict {
        classify(&IdentitySignals {
            path_client: path,
            x_client_names: x.to_vec(),
            client_info_name: info,
            user_agent: ua,
        })
    }

    #[test]
    fn claude_code_is_recognised_by_any_of_its_signals() {
        assert_eq!(
            verdict("claude", &["claude code"], None, None),
            ClientVerdict::ClaudeCode
        );
        assert_eq!(
            verdict("claude", &[" Claude-Code "], None, None),
            ClientVerdict::ClaudeCode
        );
        assert_eq!(
            verdict("claude", &["CLAUDE"], None, None),
            ClientVerdict::ClaudeCode
        );
        assert_eq!(
            verdict("claude", &[], Some("claude-code"), None),
            ClientVerdict::ClaudeCode
        );
        assert_eq!(
            verdict("claude", &[], None, Some("claude-code/2.1.330 (sdk-cli)")),
            ClientVerdict::ClaudeCode
        );
        assert_eq!(
            verdict("claude", &[], Some("claude-code"), Some("curl/8.5.0")),
            ClientVerdict::ClaudeCode
        );
    }

    #[test]
    fn any_other_name_or_path_is_not_claude_code() {
        assert_eq!(
            verdict("cursor", &["cursor"], None, None),
            ClientVerdict::Other("cursor".into())
        );
        assert_eq!(
            verdict("cursor", &["claude code"], None, None),
            ClientVerdict::Other("cursor".into())
        );
        assert_eq!(
            verdict("claude", &["claude code", "cursor"], None, None),
            ClientVerdict::Other("cursor".into())
        );
        assert_eq!(
            verdict("claude", &[], Some("Cursor"), None),
            ClientVerdict::Other("cursor".into())
        );
        assert_eq!(
            verdict("claude", &["claude code"], None, Some("Cursor/1.2")),
            ClientVerdict::Other("cursor".into())
        );
        assert_eq!(
            verdict("claude", &[], Some("mcp"), None),
            ClientVerdict::Other("mcp".into())
        );
        // No signal at all, or only a neutral agent string: unknown.
        assert_eq!(
            verdict("claude", &[], None, None),
            ClientVerdict::Other("unknown".into())
        );
        assert_eq!(
            verdict("claude", &[], None, Some("curl/8")),
            ClientVerdict::Other("unknown".into())
        );
    }

    #[test]
    fn the_design_table() {
        let planner = virtual_user::parse("u__session__s__planner").unwrap();
        let implementer = virtual_user::parse("u__session__s__impl_a").unwrap();
        let plain = virtual_user::parse("u").unwrap();
        let claude = ClientVerdict::ClaudeCode;
        assert_eq!(entitled_tools(&claude, &planner).len(), 7);
        assert_eq!(
            entitled_tools(&claude, &implementer),
            [
                ToolName::ClaimFileLock,
                ToolName::ReleaseFileLock,
                ToolName::SyncProgress,
                ToolName::CheckAgentStatus,
                ToolName::SetupMultiAgentCoordination
            ]
        );
        assert_eq!(
            entitled_tools(&claude, &plain),
            [ToolName::SetupMultiAgentCoordination]
        );
        for other in ["cursor", "chorus", "chatgpt", "api", "unknown"] {
            for user in [&planner, &implementer, &plain] {
                assert!(entitled_tools(&ClientVerdict::Other(other.into()), user).is_empty());
            }
        }
    }
}
