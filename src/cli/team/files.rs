//! What `ccmulti team` writes under ccmulti's data directory, never in the
//! repository: each agent's MCP config and hooks settings (passed to claude as
//! `--mcp-config` and `--settings`), its first prompt, and the team's record
//! that `team stop` and `team status` read.

use std::io::Write;
use std::path::{Path, PathBuf};

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use ccmulti_model::tools::plan::{McpConfig, McpServer};
use serde::{Deserialize, Serialize};

use super::window::WindowCommand;

/// `<data>/teams/<session>/`
pub fn team_dir(data: &Path, session: &str) -> PathBuf {
    data.join("teams").join(session)
}

/// Writes `text` to `path`, readable by its owner only (URLs name the user, and
/// a token file is a secret), replacing what was there.
pub fn write_private(path: &Path, text: &str) -> Result<()> {
    // Removed first: create_private_file appends, and new directories it makes are owner-only.
    let _ = std::fs::remove_file(path);
    let mut file = ccmulti::store::create_private_file(path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(text.as_bytes())
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

pub fn write_json(path: &Path, value: &impl Serialize) -> Result<()> {
    write_private(path, &format!("{}\n", serde_json::to_string_pretty(value)?))
}

/// One agent of a running team, as `team stop` and `team status` need it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AgentRecord {
    pub agent: String,
    pub dir: PathBuf,
    pub worktree: PathBuf,
    pub branch: Option<String>,
}

/// The team as started: read back by `team stop`, `team status`, and by
/// `ccmulti team` when it repairs the team (each window's command).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TeamRecord {
    pub session: String,
    pub user: String,
    pub tmux_session: String,
    pub root: PathBuf,
    pub addr: String,
    pub db: PathBuf,
    pub agents: Vec<AgentRecord>,
    /// Every window, in order (none in a record an older ccmulti wrote).
    #[serde(default)]
    pub windows: Vec<WindowCommand>,
}

/// Each agent's Claude Code settings (`claude --settings`, added to the
/// user's own): the ccmulti hooks, and the ccmulti tools allowed, so that no
/// coordination call waits on a permission prompt. What edits may do stays
/// the user's choice (`--permission-mode`).
#[derive(Debug, Serialize)]
pub struct AgentSettings {
    #[serde(flatten)]
    pub hooks: serde_json::Value,
    pub permissions: Permissions,
}

#[derive(Debug, Serialize)]
pub struct Permissions {
    pub allow: Vec<String>,
}

/// Claude Code's permission rule for every tool of the `ccmulti` server.
pub const CCMULTI_TOOLS_RULE: &str = "mcp__ccmulti";

impl AgentSettings {
    pub fn new(binary: &str) -> Self {
        Self {
            hooks: ccmulti::hook::settings::hooks_block(binary),
            permissions: Permissions {
                allow: vec![CCMULTI_TOOLS_RULE.to_owned()],
            },
        }
    }
}

/// An agent's MCP config (`claude --mcp-config`): its one `ccmulti` server,
/// loaded always, so Claude Code gives the model the ccmulti tools
/// themselves rather than names to search for.
#[derive(Debug, Serialize)]
pub struct AgentMcpConfig {
    #[serde(rename = "mcpServers")]
    pub mcp_servers: BTreeMap<String, AlwaysLoaded>,
}

#[derive(Debug, Serialize)]
pub struct AlwaysLoaded {
    #[serde(flatten)]
    pub server: McpServer,
    #[serde(rename = "alwaysLoad")]
    pub always_load: bool,
}

impl From<McpConfig> for AgentMcpConfig {
    fn from(config: McpConfig) -> Self {
        Self {
            mcp_servers: config
                .mcp_servers
                .into_iter()
                .map(|(name, server)| {
                    (
                        name,
                        AlwaysLoaded {
                            server,
                            always_load: true,
                        },
                    )
                })
                .collect(),
        }
    }
}

pub const RECORD: &str = "team.json";

pub fn save(dir: &Path, record: &TeamRecord) -> Result<()> {
    write_json(&dir.join(RECORD), &serde_json::to_value(record)?)
}

pub fn load(dir: &Path) -> Result<Option<TeamRecord>> {
    let path = dir.join(RECORD);
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(Some(
            serde_json::from_str(&text).with_context(|| format!("reading {}", path.display()))?,
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}
