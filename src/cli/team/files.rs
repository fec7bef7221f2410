//! What `ccmulti team` writes under ccmulti's data directory, never in the
//! repository: each agent's MCP config and hooks settings (passed to claude as
//! `--mcp-config` and `--settings`), its first prompt, and the team's record
//! that `team stop` and `team status` read.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

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

/// The team as started: read back by `team stop` and `team status`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TeamRecord {
    pub session: String,
    pub user: String,
    pub tmux_session: String,
    pub root: PathBuf,
    pub addr: String,
    pub db: PathBuf,
    pub agents: Vec<AgentRecord>,
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
