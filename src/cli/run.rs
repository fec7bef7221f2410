//! `ccmulti serve`, `ccmulti up` and `ccmulti dash`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};
use ccmulti::coord::Coordinator;
use ccmulti::dashboard::{CoordSource, forward_changes};
use ccmulti::state::{Security, ServerState};
use ccmulti::store::{Durability, SharedStore};
use ccmulti_ui::HeaderInfo;
use tracing_subscriber::EnvFilter;

use super::service::{Opening, open_store};
use super::{Common, Database};

fn filter() -> EnvFilter {
    EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,rmcp=warn"))
}

/// Colour only for a person at a terminal: a log captured to a file or piped
/// to another program keeps no escape codes (and `NO_COLOR` is honoured).
fn log_to_stderr() {
    use std::io::IsTerminal;
    let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter())
        .with_ansi(colour)
        // A log reader that went away (`serve 2>&1 | head`) loses the log;
        // the coordinator serves on, and must not report it on that same stderr.
        .log_internal_errors(false)
        .with_writer(std::io::stderr)
        .try_init();
}

/// The dashboard owns the terminal, so logs go to a file beside the database.
fn log_to_file(db: &Path) -> Result<PathBuf> {
    let path = db.with_extension("log");
    // Logs name sessions, agents and paths: as private as the database.
    let file = ccmulti::store::create_private_file(&path)
        .with_context(|| format!("opening the log file {}", path.display()))?;
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter())
        .with_ansi(false)
        // Never onto the dashboard's terminal, not even that a log line was lost.
        .log_internal_errors(false)
        .with_writer(std::sync::Mutex::new(file))
        .try_init();
    Ok(path)
}

/// Logs this command to the file `up` and `dash` log to; where it is.
pub(super) fn log_beside_database(common: &Common) -> Result<PathBuf> {
    log_to_file(&log_path(common, &common.database()?)?)
}

/// Logs this command beside the SQLite file `db`, as `up` on it would.
pub(super) fn log_beside(db: &Path) -> Result<PathBuf> {
    log_to_file(db)
}

/// Where `up` and `dash` log: beside the SQLite file, or for PostgreSQL
/// where the default file would be.
fn log_path(common: &Common, database: &Database) -> Result<PathBuf> {
    Ok(match database {
        Database::File(path) => path.clone(),
        Database::Postgres(_) => common.default_db_path()?,
    })
}

async fn bind(
    common: &Common,
    store: SharedStore,
    root: PathBuf,
    security: Security,
) -> Result<(tokio::net::TcpListener, Arc<ServerState>)> {
    let listener = tokio::net::TcpListener::bind(common.addr)
        .await
        .with_context(|| {
            format!(
                "listening on {} (is another ccmulti running? try --addr)",
                common.addr
            )
        })?;
    let addr = listener.local_addr()?;
    // No claim waits yet in this process: any waiter rows are a crashed
    // coordinator's. (Bound first: a second coordinator on the same port
    // fails above and leaves the first one's rows alone.)
    let db = store.location();
    let state = ServerState::secured(store, root, common.advertised_url(addr), security);
    let stale = state.coord.clear_stale_waiters().await?;
    if stale > 0 {
        tracing::info!(stale, "cleared waiting claims a previous coordinator left");
    }
    tracing::info!(
        %addr,
        %db,
        root = %state.root.display(),
        token_required = state.security.access.token.is_some(),
        admitted_clients = ?state.security.admitted_clients,
        "ccmulti coordinator listening"
    );
    Ok((listener, state))
}

pub fn serve(common: &Common, durable: bool) -> Result<ExitCode> {
    log_to_stderr();
    let durability = if durable {
        Durability::Full
    } else {
        Durability::Normal
    };
    let security = common.security()?;
    let database = common.database()?;
    let root = common.root()?;
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async {
        let store = open_store(&database, Opening::CreateIfMissing, durability).await?;
        store.keep_events(common.server.keep_events);
        let (listener, state) = bind(common, store, root, security).await?;
        ccmulti::serve::serve(listener, state, shutdown_signal()).await?;
        tracing::info!("ccmulti coordinator stopped");
        Ok(ExitCode::SUCCESS)
    })
}

pub fn up(common: &Common) -> Result<ExitCode> {
    let security = common.security()?;
    let database = common.database()?;
    let log = log_to_file(&log_path(common, &database)?)?;
    let root = common.root()?;
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let (listener, state) = runtime.block_on(async {
        let store = open_store(&database, Opening::CreateIfMissing, Durability::Normal).await?;
        store.keep_events(common.server.keep_events);
        bind(common, store, root.clone(), security).await
    })?;
    let shown_database = state.coord.store().location();
    let address = state.public_url.clone();
    let coord = state.coord.clone();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = runtime.spawn(ccmulti::serve::serve(listener, state, async move {
        let _ = stopped.await;
    }));
    let shown = dashboard(
        &coord,
        runtime.handle(),
        Some(root),
        shown_database,
        address,
    )
    .with_context(|| format!("the dashboard failed; the log is {}", log.display()));
    let _ = stop.send(());
    let _ = runtime.block_on(server);
    shown.map(|()| ExitCode::SUCCESS)
}

pub fn dash(common: &Common) -> Result<ExitCode> {
    // Another process serves the database: a missing one is a mistyped --db
    // or no coordinator yet, never something to create (nor its log beside it).
    let database = common.database()?;
    // The dashboard draws on this thread; the service's calls run on one worker.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let store = runtime.block_on(open_store(
        &database,
        Opening::MustExist,
        Durability::Normal,
    ))?;
    log_to_file(&log_path(common, &database)?)?;
    let shown_database = store.location();
    let coord = runtime.block_on(async { Coordinator::new(store) });
    // The branches land in the repository it runs in (a team's `dash` window runs in its root).
    let project = common.root().ok();
    dashboard(
        &coord,
        runtime.handle(),
        project,
        shown_database,
        format!("{} (served elsewhere)", common.public_url()),
    )?;
    Ok(ExitCode::SUCCESS)
}

fn dashboard(
    coord: &Coordinator,
    runtime: &tokio::runtime::Handle,
    project: Option<PathBuf>,
    database: String,
    address: String,
) -> Result<()> {
    let (redraw, changes) = std::sync::mpsc::channel();
    forward_changes(coord, runtime, redraw.clone()).context("watching the database for changes")?;
    let mut source = CoordSource::new(coord.clone(), runtime.clone());
    if let Some(project) = project {
        source = source.with_landings(project, redraw);
    }
    let header = HeaderInfo { address, database };
    ccmulti_ui::run(&mut source, changes, header).context("drawing the dashboard")?;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}
