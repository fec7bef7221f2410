//! From a `postgres://` URL to a connection configuration: TLS through rustls
//! as the URL's `sslmode` asks, time limits on the client and the server,
//! and the URL as it may be shown (password redacted).

use std::sync::Arc;
use std::time::Duration;

use percent_encoding::percent_decode_str;
use tokio_postgres_rustls::MakeRustlsConnect;

use super::{CALL_TIMEOUT, CONNECT_TIMEOUT, Result, StoreError};

/// A parsed URL: what the pool and the listener connect with.
#[derive(Clone)]
pub(super) struct Target {
    pub config: tokio_postgres::Config,
    pub tls: MakeRustlsConnect,
}

impl Target {
    /// Reads libpq's URL form. tokio-postgres knows `sslmode` disable, prefer
    /// (its default) and require; `verify-ca` and `verify-full` are read as
    /// require, which here always verifies: rustls checks the server's chain
    /// (Mozilla's roots, and `sslrootcert=FILE` if given, a PEM file) and its
    /// host name. `sslrootcert` is taken out before tokio-postgres reads the rest.
    pub fn parse(url: &str) -> Result<Self> {
        let (url, root_file) = take_tls_params(url);
        let mut config: tokio_postgres::Config = url.parse().map_err(|e| {
            configuration(format!(
                "the database URL {} is not a PostgreSQL URL: {e}",
                redact(&url)
            ))
        })?;
        let limit_ms = CALL_TIMEOUT.as_millis().saturating_sub(500);
        // The server gives up just before the client does, so a slow
        // statement ends there instead of running on after its caller left.
        let options = format!(
            "{} -c statement_timeout={limit_ms} -c lock_timeout={limit_ms} -c idle_in_transaction_session_timeout={}",
            config.get_options().unwrap_or_default(),
            CALL_TIMEOUT.as_millis() * 2,
        );
        config
            .options(options.trim())
            .connect_timeout(CONNECT_TIMEOUT)
            .keepalives(true)
            .keepalives_idle(Duration::from_secs(10))
            .tcp_user_timeout(CALL_TIMEOUT);
        if config.get_application_name().is_none() {
            config.application_name("ccmulti");
        }
        Ok(Self {
            config,
            tls: MakeRustlsConnect::new(tls_config(root_file.as_deref())?),
        })
    }
}

/// A setting that is wrong: not worth retrying, unlike an unreachable server.
fn configuration(message: String) -> StoreError {
    StoreError::Database(message.into())
}

/// A connection the server (or rustls) refused for a reason waiting will not
/// change: the URL's user, password or database name (SQLSTATE classes 28
/// and 3D: "no pg_hba.conf entry", "password authentication failed",
/// "database does not exist"), or a server certificate that is not trusted.
/// At open that is the URL's fault, not "retry shortly".
pub(super) fn refused_for_good(e: &deadpool_postgres::PoolError) -> bool {
    let deadpool_postgres::PoolError::Backend(e) = e else {
        return false;
    };
    if let Some(code) = e.code() {
        return matches!(&code.code()[..2], "28" | "3D");
    }
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = cause {
        // tokio-rustls hands rustls's error over inside an io::Error.
        let inner = c
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::get_ref)
            .and_then(|i| i.downcast_ref::<rustls::Error>());
        if let Some(rustls::Error::InvalidCertificate(_)) = inner.or(c.downcast_ref()) {
            return true;
        }
        cause = c.source();
    }
    false
}

/// The URL without `sslrootcert` (returned apart) and with libpq's verifying
/// `sslmode`s spelled as tokio-postgres knows them. Split by hand, not by the
/// `url` crate: a libpq URL is not a WHATWG one (`url` refuses several hosts,
/// `h1:5432,h2:5433`, which tokio-postgres takes, and its query writer turns
/// a space into `+`, which tokio-postgres would read as a plus).
fn take_tls_params(url: &str) -> (String, Option<String>) {
    let Some((base, query)) = url.split_once('?') else {
        return (url.to_owned(), None);
    };
    let mut root = None;
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            // Percent-decoded as libpq and tokio-postgres read every value
            // (a path with a space is `%20`); `+` stays a plus.
            Some(("sslrootcert", file)) => {
                root = Some(percent_decode_str(file).decode_utf8_lossy().into_owned());
            }
            Some(("sslmode", "verify-ca" | "verify-full")) => kept.push("sslmode=require".into()),
            _ => kept.push(pair.to_owned()),
        }
    }
    if kept.is_empty() {
        (base.to_owned(), root)
    } else {
        (format!("{base}?{}", kept.join("&")), root)
    }
}

fn tls_config(root_file: Option<&str>) -> Result<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    if let Some(file) = root_file {
        use rustls::pki_types::CertificateDer;
        use rustls::pki_types::pem::PemObject;
        let bad =
            |e: &dyn std::fmt::Display| StoreError::Unavailable(format!("sslrootcert {file}: {e}"));
        for cert in CertificateDer::pem_file_iter(file).map_err(|e| bad(&e))? {
            roots.add(cert.map_err(|e| bad(&e))?).map_err(|e| bad(&e))?;
        }
    }
    // The provider is named here, not taken from the process default, which
    // other crates in the binary could have set differently.
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| StoreError::Database(Box::new(e)))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// The URL as logs, `/health/detailed` and errors show it: the password
/// (in the user part or a `password=` parameter) replaced by `***`. By hand
/// for the reason `take_tls_params` gives: it must redact every URL
/// tokio-postgres accepts, several hosts included.
pub fn redact(url: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let base = match base.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, path) = rest.find('/').map_or((rest, ""), |i| rest.split_at(i));
            let authority = match authority.rsplit_once('@') {
                Some((user_info, host)) => match user_info.split_once(':') {
                    Some((user, _password)) => format!("{user}:***@{host}"),
                    None => format!("{user_info}@{host}"),
                },
                None => authority.to_owned(),
            };
            format!("{scheme}://{authority}{path}")
        }
        None => base.to_owned(),
    };
    match query {
        None => base,
        Some(q) => {
            let pairs: Vec<String> = q
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some(("password", _)) => "password=***".to_owned(),
                    _ => pair.to_owned(),
                })
                .collect();
            format!("{base}?{}", pairs.join("&"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_show() {
        assert_eq!(
            redact("postgres://ccm:s3cr:et@db.example:5432/ccmulti?sslmode=require"),
            "postgres://ccm:***@db.example:5432/ccmulti?sslmode=require"
        );
        assert_eq!(
            redact("postgresql://ccm@localhost/x?password=hunter2&sslmode=disable"),
            "postgresql://ccm@localhost/x?password=***&sslmode=disable"
        );
        assert_eq!(redact("postgres://localhost"), "postgres://localhost");
        // Several hosts, as tokio-postgres takes them (the url crate would not).
        let several = "postgres://ccm:pw@h1:5432,h2:5433/ccmulti";
        assert!(several.parse::<tokio_postgres::Config>().is_ok());
        assert_eq!(
            redact(several),
            "postgres://ccm:***@h1:5432,h2:5433/ccmulti"
        );
        let shown = redact("postgres://a:p%40ss@h/d");
        assert!(!shown.contains("p%40ss"), "{shown}");
    }

    #[test]
    fn verifying_modes_and_root_files_are_read() {
        let (url, root) = take_tls_params(
            "postgres://h/d?sslmode=verify-full&sslrootcert=/etc/ca.pem&connect_timeout=2",
        );
        assert_eq!(url, "postgres://h/d?sslmode=require&connect_timeout=2");
        assert_eq!(root.as_deref(), Some("/etc/ca.pem"));
        let (_, root) = take_tls_params("postgres://h/d?sslrootcert=/my%20certs/ca+1.pem");
        assert_eq!(root.as_deref(), Some("/my certs/ca+1.pem"));
        assert!(Target::parse("postgres://h/d?sslmode=verify-ca").is_ok());
        let missing = Target::parse("postgres://h/d?sslrootcert=/nonexistent/ca.pem")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(missing.contains("/nonexistent/ca.pem"), "{missing}");
        let bad = Target::parse("postgres://u:secret@h/d?sslmode=sometimes")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            bad.contains("not a PostgreSQL URL") && !bad.contains("secret"),
            "{bad}"
        );
    }
}
