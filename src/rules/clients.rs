//! Who gets which tools: Claude Code, on a `/mcp/v2/claude/...` URL, sees the
//! coordination tools, and so does a client the owner admitted by name
//! (`--admit-client`); the planner sees its own on top. Decided on every request.

use ccmulti_model::VirtualUser;
use ccmulti_model::tools::ToolName;

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
    /// Every `User-Agent` header value (a second one must not hide behind the first).
    pub user_agents: Vec<&'a str>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientVerdict {
    ClaudeCode,
    /// A client the owner admitted by name, every signal naming it and nothing else.
    Admitted(String),
    /// Not entitled; the name is for logs and errors.
    Other(String),
}

impl ClientVerdict {
    pub fn label(&self) -> &str {
        match self {
            Self::ClaudeCode => CLAUDE_CODE,
            Self::Admitted(name) | Self::Other(name) => name,
        }
    }

    /// Served: it sees the tools its URL gives, and its requests may register it.
    pub fn is_entitled(&self) -> bool {
        matches!(self, Self::ClaudeCode | Self::Admitted(_))
    }
}

/// A refused `--admit-client` name, with what is accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "--admit-client {given:?} is not accepted: {why}; give a client's name, 1 to 40 of a-z 0-9 . _ - \
     (such as codex or cursor). That client then gets the tools when its URL segment \
     (/mcp/v2/{{name}}/... or claude) and every x-client-name, clientInfo.name and User-Agent it \
     sends name it"
)]
pub struct AdmitError {
    pub given: String,
    pub why: &'static str,
}

/// Checks and normalises the names of clients to admit.
pub fn admitted_clients(names: &[String]) -> Result<Vec<String>, AdmitError> {
    let mut out: Vec<String> = Vec::new();
    for given in names {
        let name = given.trim().to_ascii_lowercase();
        let refuse = |why| AdmitError {
            given: given.clone(),
            why,
        };
        if name.is_empty() || name.len() > 40 {
            return Err(refuse("it is empty or longer than 40 characters"));
        }
        if !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        {
            return Err(refuse("it holds other characters"));
        }
        if names_claude_code(&name) {
            return Err(refuse("Claude Code is always served"));
        }
        if !out.contains(&name) {
            out.push(name);
        }
    }
    Ok(out)
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

/// One signal's name: Claude Code's aliases folded to one, others as labels.
fn signal_names(signals: &IdentitySignals<'_>) -> Vec<String> {
    let mut names = Vec::new();
    for name in &signals.x_client_names {
        names.push(if names_claude_code(name) {
            CLAUDE_CODE.to_owned()
        } else {
            label(name)
        });
    }
    if let Some(name) = signals.client_info_name {
        names.push(if name.trim() == CLAUDE_CODE {
            CLAUDE_CODE.to_owned()
        } else {
            label(name)
        });
    }
    for agent in &signals.user_agents {
        let lower = agent.trim_start().to_ascii_lowercase();
        if let Some((_, client)) = KNOWN_USER_AGENTS
            .iter()
            .find(|(token, _)| lower.starts_with(token))
        {
            names.push((*client).to_owned());
        }
    }
    names
}

/// `name` names admitted client `admitted`: exactly, or as its product
/// followed by a qualifier (`codex-mcp-client`, `cursor-vscode`).
fn names_client(name: &str, admitted: &str) -> bool {
    name.strip_prefix(admitted)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with(['-', '_', ' ', '.']))
}

/// Claude Code means: the path segment is `claude`, at least one signal names
/// Claude Code, and no signal names another client. An admitted client (from
/// `admitted`, normalised by [`admitted_clients`]) means the same with its
/// name: the path segment is its name or `claude`, at least one signal names
/// it, and every signal does.
pub fn classify(signals: &IdentitySignals<'_>, admitted: &[String]) -> ClientVerdict {
    let names = signal_names(signals);
    let all_claude = names.iter().all(|n| n == CLAUDE_CODE);
    if signals.path_client == "claude" && !names.is_empty() && all_claude {
        return ClientVerdict::ClaudeCode;
    }
    // Exact, as for `claude`: the intake registers agents by the same comparison.
    let path = signals.path_client;
    let consistent = admitted.iter().find(|a| {
        (path == "claude" || path == a.as_str())
            && !names.is_empty()
            && names.iter().all(|n| names_client(n, a))
    });
    if let Some(client) = consistent {
        return ClientVerdict::Admitted(client.clone());
    }
    if let Some(other) = names.into_iter().find(|n| n != CLAUDE_CODE) {
        return ClientVerdict::Other(other);
    }
    if signals.path_client != "claude" {
        return ClientVerdict::Other(label(signals.path_client));
    }
    ClientVerdict::Other("unknown".into())
}

/// The distinct sets of tools a caller can be entitled to: what a cached
/// `tools/list` answer is kept per (`http::fast`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ToolSet {
    /// A client that is not entitled: no tools at all.
    Nothing,
    /// Entitled, on a URL without a session: only the setup tool.
    NoSession,
    Implementer,
    Planner,
}

impl ToolSet {
    pub const ALL: [ToolSet; 4] = [
        Self::Nothing,
        Self::NoSession,
        Self::Implementer,
        Self::Planner,
    ];

    /// Who gets which tools (docs/guide/tools.md; ARCHITECTURE.md).
    pub fn of(verdict: &ClientVerdict, user: &VirtualUser) -> Self {
        // An admitted client gets exactly what Claude Code would on the same URL.
        match &user.session {
            _ if !verdict.is_entitled() => Self::Nothing,
            None => Self::NoSession,
            Some(s) if s.is_planner() => Self::Planner,
            Some(_) => Self::Implementer,
        }
    }

    /// The set's tools, in listing order.
    pub fn tools(self) -> &'static [ToolName] {
        use ToolName::*;
        match self {
            Self::Nothing => &[],
            Self::NoSession => &[SetupMultiAgentCoordination],
            Self::Implementer => &[
                ClaimFileLock,
                ReleaseFileLock,
                SyncProgress,
                CheckAgentStatus,
                SetupMultiAgentCoordination,
            ],
            // Every tool, in the order `ToolName::ALL` lists them.
            Self::Planner => &ToolName::ALL,
        }
    }
}

/// The tools this caller is entitled to, in listing order.
pub fn entitled_tools(verdict: &ClientVerdict, user: &VirtualUser) -> &'static [ToolName] {
    ToolSet::of(verdict, user).tools()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ccmulti_model::VirtualUser;
    use std::str::FromStr;

    fn verdict(path: &str, x: &[&str], info: Option<&str>, ua: Option<&str>) -> ClientVerdict {
        admitted_verdict(&[], path, x, info, ua)
    }

    fn admitted_verdict(
        admit: &[&str],
        path: &str,
        x: &[&str],
        info: Option<&str>,
        ua: Option<&str>,
    ) -> ClientVerdict {
        let admit: Vec<String> = admit.iter().map(|a| (*a).to_owned()).collect();
        classify(
            &IdentitySignals {
                path_client: path,
                x_client_names: x.to_vec(),
                client_info_name: info,
                user_agents: ua.into_iter().collect(),
            },
            &admitted_clients(&admit).unwrap(),
        )
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
        let planner = VirtualUser::from_str("u__session__s__planner").unwrap();
        let implementer = VirtualUser::from_str("u__session__s__impl_a").unwrap();
        let plain = VirtualUser::from_str("u").unwrap();
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

    #[test]
    fn other_clients_are_refused_unless_admitted() {
        let codex = |admit: &[&str]| {
            admitted_verdict(
                admit,
                "codex",
                &["codex"],
                Some("codex-mcp-client"),
                Some("codex_cli_rs/0.40"),
            )
        };
        assert_eq!(codex(&[]), ClientVerdict::Other("codex".into()));
        assert_eq!(codex(&["codex"]), ClientVerdict::Admitted("codex".into()));
        assert_eq!(
            codex(&["Cursor", "codex"]),
            ClientVerdict::Admitted("codex".into())
        );
        assert_eq!(codex(&["cursor"]), ClientVerdict::Other("codex".into()));
        // On the claude segment, too, when its signals name it.
        assert_eq!(
            admitted_verdict(&["codex"], "claude", &["codex"], None, None),
            ClientVerdict::Admitted("codex".into())
        );
    }

    #[test]
    fn an_admitted_client_must_be_named_consistently_and_alone() {
        let admit = ["codex"];
        // The path names another client.
        assert_eq!(
            admitted_verdict(&admit, "cursor", &["codex"], None, None),
            ClientVerdict::Other("codex".into())
        );
        // The path segment is compared exactly, as the intake does.
        assert_eq!(
            admitted_verdict(&admit, "Codex", &["codex"], None, None),
            ClientVerdict::Other("codex".into())
        );
        // Only the path names it: no signal does.
        assert_eq!(
            admitted_verdict(&admit, "codex", &[], None, Some("curl/8")),
            ClientVerdict::Other("codex".into())
        );
        // Another signal names Claude Code, or another client.
        assert_eq!(
            admitted_verdict(&admit, "codex", &["codex"], Some("claude-code"), None),
            ClientVerdict::Other("codex".into())
        );
        assert_eq!(
            admitted_verdict(&admit, "codex", &["codex"], None, Some("Cursor/1.7")),
            ClientVerdict::Other("codex".into())
        );
        assert_eq!(
            admitted_verdict(&admit, "codex", &["codexy"], None, None),
            ClientVerdict::Other("codexy".into())
        );
        // Claude Code is unaffected by the setting.
        assert_eq!(
            admitted_verdict(&admit, "claude", &["claude code"], None, None),
            ClientVerdict::ClaudeCode
        );
    }

    #[test]
    fn admitted_names_are_checked() {
        let names =
            |v: &[&str]| admitted_clients(&v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>());
        assert_eq!(
            names(&[" Codex ", "cursor", "codex"]).unwrap(),
            ["codex", "cursor"]
        );
        for bad in [
            "",
            "claude-code",
            "Claude",
            "co dex",
            "codex/1",
            &"x".repeat(41),
        ] {
            let err = names(&[bad]).unwrap_err().to_string();
            assert!(err.contains("--admit-client"), "{err}");
            assert!(err.contains("such as codex or cursor"), "{err}");
        }
    }

    #[test]
    fn an_admitted_client_gets_the_claude_code_table() {
        let planner = VirtualUser::from_str("u__session__s__planner").unwrap();
        let implementer = VirtualUser::from_str("u__session__s__impl_a").unwrap();
        let plain = VirtualUser::from_str("u").unwrap();
        let codex = ClientVerdict::Admitted("codex".into());
        for user in [&planner, &implementer, &plain] {
            assert_eq!(
                entitled_tools(&codex, user),
                entitled_tools(&ClientVerdict::ClaudeCode, user)
            );
        }
    }
}
