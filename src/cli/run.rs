//! `ccmulti serve` and `ccmulti up`.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};
use ccmulti::clock::SystemClock;
use ccmulti::state::AppState;
use ccmulti::store::{Durability, Store};
use tracing_subscriber::EnvFilter;

use super::Common;

fn init_logging_to_stderr() {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,rmcp=warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

pub fn serve(common: &Common, durable: bool) -> Result<ExitCode> {
    init_logging_to_stderr();
    let durability = if durable {
        Durability::Full
    } else {
        Durability::Normal
    };
    let db = common.db_path()?;
    let store = Store::open(&db, Arc::new(SystemClock), durability)
        .with_context(|| format!("opening the database {}", db.display()))?;
    let root = common.root()?;
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(common.addr)
            .await
            .with_context(|| format!("listening on {}", common.addr))?;
        let addr = listener.local_addr()?;
        let state = AppState::new(store, root.clone(), format!("http://{addr}"));
        tracing::info!(%addr, db = %db.display(), root = %root.display(), "ccmulti coordinator listening");
        ccmulti::serve::serve(listener, state, shutdown_signal()).await?;
        tracing::info!("ccmulti coordinator stopped");
        Ok(ExitCode::SUCCESS)
    })
}

pub fn up(common: &Common) -> Result<ExitCode> {
    // The dashboard arrives in its own change; until then `up` serves headless.
    serve(common, false)
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
