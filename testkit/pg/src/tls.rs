//! A PostgreSQL server that takes TLS connections only, for the tests that
//! the coordinator reaches one over TLS and checks whom it reached: a
//! throwaway CA and a server certificate for 127.0.0.1 made with `openssl`,
//! `ssl=on`, and a `pg_hba.conf` whose only TCP line is `hostssl`, so the
//! server itself refuses a connection without TLS.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{PgServer, run_ok};

pub struct TlsServer {
    pub server: PgServer,
    /// The CA that signed the server's certificate (PEM), for `sslrootcert`.
    pub ca: PathBuf,
    _certs: tempfile::TempDir,
}

/// Only the Unix socket (for `createdb`) and TLS over TCP are let in.
const HBA: &str = "local all all trust\nhostssl all all 127.0.0.1/32 trust\n";

/// What makes the server's certificate one rustls takes for 127.0.0.1: an
/// IP subject alternative name, and not a CA itself.
const SERVER_EXTENSIONS: &str = "subjectAltName=IP:127.0.0.1\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n";

fn openssl(dir: &Path, args: &[&str]) {
    // Debian's openssl package.
    run_ok(Command::new("openssl").current_dir(dir).args(args));
}

/// ca.pem, server.pem and server.key in `dir`.
fn make_certificates(dir: &Path) {
    let key = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let ca = [
        &["req", "-x509"][..],
        &key,
        &["-keyout", "ca.key", "-out", "ca.pem", "-days", "2"],
        &["-subj", "/CN=ccmulti test CA"],
    ]
    .concat();
    openssl(dir, &ca);
    let request = [
        &["req"][..],
        &key,
        &[
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=127.0.0.1",
        ],
    ]
    .concat();
    openssl(dir, &request);
    std::fs::write(dir.join("server.ext"), SERVER_EXTENSIONS).expect("server.ext");
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.pem",
            "-days",
            "2",
            "-extfile",
            "server.ext",
        ],
    );
}

impl TlsServer {
    /// A new cluster with TLS on and required, started and ready.
    pub fn start() -> Self {
        let certs = tempfile::tempdir().expect("tempdir");
        make_certificates(certs.path());
        let read = |name: &str| std::fs::read(certs.path().join(name)).expect("a certificate");
        // Relative to the data directory, where they are put.
        let server = PgServer::initialised(
            "-c ssl=on -c ssl_cert_file=server.pem -c ssl_key_file=server.key".into(),
        );
        server.write_private("server.pem", &read("server.pem"), true);
        server.write_private("server.key", &read("server.key"), true);
        server.write_private("pg_hba.conf", HBA.as_bytes(), true);
        server.start_again();
        server.stop_with_this_process();
        Self {
            server,
            ca: certs.path().join("ca.pem"),
            _certs: certs,
        }
    }

    /// The URL of a new database, with `query` (`sslmode=...`).
    pub fn database(&self, query: &str) -> String {
        let plain = self.server.create_database();
        let name = plain
            .rsplit('/')
            .next()
            .and_then(|n| n.split('?').next())
            .expect("a database name");
        self.server.url_with(name, query)
    }
}
