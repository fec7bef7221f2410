//! A real coordinator on a real listener (port 0), on either backend (a real
//! SQLite file, or a database of its own on the testkit's real PostgreSQL
//! server), and a plain HTTP client.
#![forbid(unsafe_code)]

pub mod binary;
pub mod claude;
pub mod history;
pub mod interop;
pub mod load;
pub mod synthetic;
pub mod tools;

use std::path::PathBuf;
use std::sync::Arc;

use ccmulti::clock::{Clock, SystemClock};
use ccmulti::state::{Security, SharedState};
use ccmulti::store::{Durability, PostgresStore, SharedStore, SqliteStore};

pub use binary::{SECURITY_ENV, ccmulti_binary};
use ccmulti_model::tools::{Claim, ClaimArgs};
use ccmulti_model::{Operation, VirtualUser, agent_url};
/// The kit's command runner is the PostgreSQL starter's (a crate of its own).
pub use ccmulti_testpg::run_ok;
use serde_json::{Value, json};

/// What the hooks read from a terminal's environment; the tests clear it so the
/// developer's own terminal does not leak in.
pub const HOOK_ENV: [&str; 10] = [
    "CCMULTI_AGENT",
    "CCMULTI_URL",
    "CCMULTI_ADDR",
    "CCMULTI_TOKEN",
    "CCMULTI_HOOK_OFFLINE",
    "CCMULTI_HOOK_AUTO_CLAIM",
    "CCMULTI_HOOK_TOOLS_WAIT_SECONDS",
    "CCMULTI_HOOK_WAIT_SECONDS",
    "CCMULTI_GIT_GUARD",
    "CLAUDE_PROJECT_DIR",
];

/// Which database a test's coordinator keeps its state in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A new SQLite file in the server's temporary directory.
    Sqlite,
    /// A new database on the test binary's shared PostgreSQL server ([`ccmulti_testpg`]).
    Postgres,
}

pub struct Server {
    pub base: String,
    pub state: SharedState,
    /// The coordinator's database, to look at directly (through the same
    /// trait the service uses, so a test reads either backend alike).
    pub store: SharedStore,
    pub backend: Backend,
    /// What `--db` takes to reach the same database from the binary: the
    /// SQLite file's path, or the PostgreSQL URL.
    pub db: String,
    pub root: PathBuf,
    _dir: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// The tool table (docs/guide/tools.md), in listing order.
pub const PLANNER_TOOLS: [&str; 7] = [
    "analyze_task_conflicts",
    "create_task_distribution",
    "claim_file_lock",
    "release_file_lock",
    "sync_progress",
    "check_agent_status",
    "setup_multi_agent_coordination",
];
pub const IMPLEMENTER_TOOLS: [&str; 5] = [
    "claim_file_lock",
    "release_file_lock",
    "sync_progress",
    "check_agent_status",
    "setup_multi_agent_coordination",
];
pub const NO_SESSION_TOOLS: [&str; 1] = ["setup_multi_agent_coordination"];

/// A coordinator on SQLite; `Backend::X.start()` for a chosen backend.
pub async fn start() -> Server {
    Backend::Sqlite.start().await
}

pub async fn start_with_clock(clock: Arc<dyn Clock>) -> Server {
    Backend::Sqlite.start_with_clock(clock).await
}

/// A coordinator with a token, allowed hosts or admitted clients.
pub async fn start_with(security: Security) -> Server {
    Backend::Sqlite.start_with(security).await
}

impl Backend {
    pub async fn start(self) -> Server {
        self.start_with_clock(Arc::new(SystemClock)).await
    }

    pub async fn start_with_clock(self, clock: Arc<dyn Clock>) -> Server {
        self.start_secured(clock, Security::default()).await
    }

    /// A coordinator with a token, allowed hosts or admitted clients.
    pub async fn start_with(self, security: Security) -> Server {
        self.start_secured(Arc::new(SystemClock), security).await
    }

    /// A coordinator whose project root is a git repository of `files`
    /// from the start (one commit on `main`), as `ccmulti team` serves it:
    /// the worktrees made later are found as the repository's.
    pub async fn start_in_git_repo(self, files: &[(&str, &str)]) -> Server {
        self.start_prepared(Arc::new(SystemClock), Security::default(), |root| {
            claude::git_repo(root, files)
        })
        .await
    }

    /// Another process's view of the database `db` (a [`Server`]'s or a
    /// binary [`binary::Coordinator`]'s `db`), which must exist.
    pub async fn open(self, db: &str) -> SharedStore {
        match self {
            Backend::Sqlite => Arc::new(
                SqliteStore::open_existing(
                    std::path::Path::new(db),
                    Arc::new(SystemClock),
                    Durability::Normal,
                )
                .expect("the coordinator's SQLite file"),
            ),
            Backend::Postgres => Arc::new(
                PostgresStore::open_existing(db, Arc::new(SystemClock))
                    .await
                    .expect("the coordinator's PostgreSQL database"),
            ),
        }
    }

    async fn start_secured(self, clock: Arc<dyn Clock>, security: Security) -> Server {
        self.start_prepared(clock, security, |_| {}).await
    }

    /// Started once `prepare` has made the project root what it is to be.
    async fn start_prepared(
        self,
        clock: Arc<dyn Clock>,
        security: Security,
        prepare: impl FnOnce(&std::path::Path),
    ) -> Server {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = std::fs::canonicalize(dir.path())
            .expect("canonical root")
            .join("repo");
        std::fs::create_dir_all(&root).expect("root");
        prepare(&root);
        let (state, base, stop, store, db) = match self {
            Backend::Sqlite => {
                let server = load::serve_in_process(
                    dir.path(),
                    "coordinator.db",
                    root.clone(),
                    clock,
                    true,
                    security,
                )
                .await;
                let db = server.store.path().display().to_string();
                let store: SharedStore = Arc::new(server.store);
                (server.state, server.base, server.stop, store, db)
            }
            Backend::Postgres => {
                // createdb (and, the first time, initdb) run as processes: off the runtime's threads.
                let url = tokio::task::spawn_blocking(ccmulti_testpg::database)
                    .await
                    .expect("a PostgreSQL database");
                let store: SharedStore = Arc::new(
                    PostgresStore::open(&url, clock)
                        .await
                        .expect("open the PostgreSQL store"),
                );
                let (state, base, stop) =
                    load::serve_store(store.clone(), root.clone(), true, security).await;
                (state, base, stop, store, url)
            }
        };
        Server {
            base,
            state,
            store,
            backend: self,
            db,
            root,
            _dir: dir,
            stop: Some(stop),
        }
    }
}

impl Server {
    /// A URL as another client's: `/mcp/v2/{client}/{user}`.
    pub fn url(&self, client: &str, user: &str) -> String {
        format!("{}/mcp/v2/{client}/{user}", self.base)
    }

    /// `agent` of session s1 (user u1).
    pub fn agent(agent: &str) -> VirtualUser {
        VirtualUser::agent("u1", "s1", agent)
    }

    pub fn agent_url(&self, agent: &str) -> String {
        agent_url(&self.base, Self::agent(agent))
    }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder().build().expect("client")
}

#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    /// The JSON-RPC message: the body, or the last `data:` event of an SSE stream.
    pub json: Value,
    pub text: String,
}

impl Reply {
    pub fn result(&self) -> &Value {
        &self.json["result"]
    }

    pub fn structured(&self) -> &Value {
        &self.json["result"]["structuredContent"]
    }

    pub fn error_code(&self) -> Option<i64> {
        self.json["error"]["code"].as_i64()
    }

    pub fn error_message(&self) -> String {
        self.json["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    pub fn tool_names(&self) -> Vec<String> {
        self.json["result"]["tools"]
            .as_array()
            .map(|t| {
                t.iter()
                    .filter_map(|t| t["name"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }
}

pub async fn send(request: reqwest::RequestBuilder) -> Reply {
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.expect("body");
    let json = ccmulti::client::jsonrpc_message(
        headers.get("content-type").and_then(|v| v.to_str().ok()),
        &text,
    )
    .unwrap_or(Value::Null);
    Reply {
        status,
        headers,
        json,
        text,
    }
}

/// A bare POST like the seed's curl checks: no initialize, no Accept.
pub async fn bare(url: &str, client_name: Option<&str>, body: Value) -> Reply {
    let mut request = client()
        .post(url)
        .header("content-type", "application/json")
        .body(body.to_string());
    if let Some(name) = client_name {
        request = request.header("x-client-name", name);
    }
    send(request).await
}

pub async fn call_tool(url: &str, tool: &str, arguments: Value) -> Reply {
    bare(
        url,
        Some("claude code"),
        json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": { "name": tool, "arguments": arguments } }),
    )
    .await
}

/// `agent` of session s1 claims a write lock on `path`; it must be granted.
pub async fn hold(server: &Server, agent: &str, path: &str) {
    let endpoint = load::Endpoint::new(&client(), &server.base, &Server::agent(agent).to_string());
    let claim = endpoint
        .call::<Claim>(&ClaimArgs::new(vec![path.to_owned()], Operation::Write))
        .await
        .expect("a claim_file_lock result");
    assert!(claim.success, "{claim:?}");
}

pub async fn list_tools(url: &str, client_name: Option<&str>) -> Reply {
    bare(
        url,
        client_name,
        json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {} }),
    )
    .await
}

/// `/metrics` of the coordinator at `base`, as text.
pub async fn metrics(base: &str) -> String {
    let reply = send(client().get(format!("{base}/metrics"))).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.text
}

/// How long until the server closes `socket` (reading whatever it sends
/// meanwhile), or `None` if it is still open after `within`.
pub async fn closed_after(
    mut socket: tokio::net::TcpStream,
    within: std::time::Duration,
) -> Option<std::time::Duration> {
    use tokio::io::AsyncReadExt;
    let started = std::time::Instant::now();
    let mut buf = [0u8; 1024];
    tokio::time::timeout(within, async {
        loop {
            match socket.read(&mut buf).await {
                Ok(0) | Err(_) => return started.elapsed(),
                Ok(_) => {}
            }
        }
    })
    .await
    .ok()
}

/// Everything a client could change, to show that a refused call changed nothing.
pub async fn state_fingerprint(server: &Server) -> String {
    let snap = server.store.snapshot(0).await.expect("snapshot");
    let mut agents: Vec<_> = snap
        .agents
        .iter()
        .map(|a| (a.session_id.clone(), a.agent_id.clone(), a.lock_count))
        .collect();
    agents.sort();
    format!(
        "sessions={:?} agents={:?} locks={:?} tasks={:?} counts={:?}",
        snap.sessions
            .iter()
            .map(|s| &s.session_id)
            .collect::<Vec<_>>(),
        agents,
        snap.locks
            .iter()
            .map(|l| (&l.path, &l.agent_id, &l.operation, l.expires_at_ms))
            .collect::<Vec<_>>(),
        snap.tasks
            .iter()
            .map(|t| (&t.task_id, &t.status, t.progress_percentage, &t.message))
            .collect::<Vec<_>>(),
        server
            .store
            .counts()
            .await
            .map(|c| (c.active_locks, c.tasks))
            .ok(),
    )
}
