//! Is a coordinator already serving this repository at the address? Asked of
//! its `/health/detailed` (with the terminal's token, if any).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use serde_json::Value;

/// What answers at the address.
#[derive(Debug)]
pub enum Found {
    /// A ccmulti coordinator: its project root, the same place in the other
    /// worktrees it knows, and its database.
    Ccmulti {
        root: PathBuf,
        worktrees: Vec<PathBuf>,
        db: PathBuf,
    },
    /// Nothing listens.
    Nothing,
}

impl Found {
    /// True when a path of `root` is a path of this coordinator's repository.
    pub fn serves(&self, root: &Path) -> bool {
        match self {
            Self::Ccmulti {
                root: served,
                worktrees,
                ..
            } => served == root || worktrees.iter().any(|w| w == root),
            Self::Nothing => false,
        }
    }
}

pub fn probe(base: &str, token: Option<&str>) -> Result<Found> {
    let http = ureq::Agent::config_builder()
        .timeout_connect(Some(Duration::from_millis(500)))
        .timeout_global(Some(Duration::from_secs(5)))
        .http_status_as_error(false)
        .proxy(None)
        .build()
        .new_agent();
    let url = format!("{base}/health/detailed");
    let mut get = http.get(&url);
    if let Some(token) = token {
        get = get.header("authorization", &format!("Bearer {token}"));
    }
    let mut response = match get.call() {
        Ok(r) => r,
        Err(ureq::Error::ConnectionFailed | ureq::Error::Io(_)) => return Ok(Found::Nothing),
        Err(e) => bail!("asking {url} whether a coordinator runs there: {e}"),
    };
    let status = response.status().as_u16();
    let body = response
        .body_mut()
        .with_config()
        .limit(1024 * 1024)
        .read_to_string()
        .unwrap_or_default();
    if status == 401 {
        bail!(
            "the coordinator at {base} requires a token; set CCMULTI_TOKEN to it and run again. Nothing was changed"
        );
    }
    let value: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    let (Some(root), Some(db)) = (
        value["project_root"].as_str(),
        value["database"]["path"].as_str(),
    ) else {
        bail!(
            "something that is not a ccmulti coordinator answers at {base} (HTTP {status}); \
             pass --addr with a free address. Nothing was changed"
        );
    };
    let worktrees = value["worktrees"]
        .as_array()
        .map(|list| {
            list.iter()
                .filter_map(Value::as_str)
                .map(PathBuf::from)
                .collect()
        })
        .unwrap_or_default();
    Ok(Found::Ccmulti {
        root: PathBuf::from(root),
        worktrees,
        db: PathBuf::from(db),
    })
}

/// Whether anything answers `GET /health` (open to all) at `base`.
pub fn answers(base: &str) -> bool {
    let http = ureq::Agent::config_builder()
        .timeout_connect(Some(Duration::from_millis(500)))
        .timeout_global(Some(Duration::from_secs(3)))
        .proxy(None)
        .build()
        .new_agent();
    http.get(&format!("{base}/health")).call().is_ok()
}

/// Waits until a coordinator answers at `base`, while `alive` says the one
/// just started still runs.
pub fn wait_until_up(
    base: &str,
    token: Option<&str>,
    within: Duration,
    alive: impl Fn() -> bool,
) -> Result<Found> {
    let deadline = Instant::now() + within;
    loop {
        if let Ok(found @ Found::Ccmulti { .. }) = probe(base, token) {
            return Ok(found);
        }
        if !alive() {
            bail!("the coordinator stopped before it answered at {base}");
        }
        if Instant::now() > deadline {
            bail!(
                "the coordinator did not answer at {base} within {} s",
                within.as_secs()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
