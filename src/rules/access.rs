//! Who may talk to the coordinator at all, before any MCP is read: the bearer
//! token, the `Host` and `Origin` checks against DNS rebinding and cross-site
//! requests from a browser, and the rule that a bind beyond loopback needs a
//! token. Plain functions over plain types; the HTTP layer applies them.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use sha2::{Digest, Sha256};

/// The environment variable that holds the token, for the server and for
/// everything that talks to it (hooks, Claude Code's header).
pub const TOKEN_ENV: &str = "CCMULTI_TOKEN";

/// What a client configuration puts in its `Authorization` header: a reference
/// to the environment variable, which Claude Code expands when it connects, so
/// the secret lands neither in scrollback nor in its config file.
pub const AUTH_HEADER_VALUE: &str = "Bearer ${CCMULTI_TOKEN}";

/// Shorter tokens are guessable by a neighbour on the LAN.
pub const MIN_TOKEN_LEN: usize = 16;

/// The host names every coordinator answers to (rmcp's default list, too).
pub const LOOPBACK_HOSTS: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// A refused setting, with what is accepted instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingError {
    #[error(
        "refusing to listen on {addr} without a token: that address is reachable from other machines, \
         and every coordination call would be open to them. Set a token (--token or {TOKEN_ENV}, \
         at least {MIN_TOKEN_LEN} characters, e.g. from `openssl rand -hex 32`), or bind 127.0.0.1"
    )]
    OpenBind { addr: SocketAddr },
    #[error(
        "the token is not accepted: {why}; use at least {MIN_TOKEN_LEN} printable ASCII characters \
         without spaces, e.g. from `openssl rand -hex 32`"
    )]
    BadToken { why: String },
    #[error(
        "--allow-host {given:?} is not accepted: {why}; give a host name or IP address without scheme \
         or port, such as devbox.lan or 192.168.1.20"
    )]
    BadHost { given: String, why: String },
    #[error(
        "--allow-origin {given:?} is not accepted: {why}; give scheme://host[:port], such as \
         https://app.example or http://devbox.lan:8080"
    )]
    BadOrigin { given: String, why: String },
}

/// A token the server checks requests against; its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

impl Token {
    pub fn new(raw: &str) -> Result<Self, SettingError> {
        let bad = |why: &str| SettingError::BadToken { why: why.into() };
        if raw.is_empty() {
            return Err(bad("it is empty"));
        }
        if !raw.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(bad(
                "it holds spaces, control or non-ASCII characters, which an HTTP header cannot carry",
            ));
        }
        if raw.len() < MIN_TOKEN_LEN {
            return Err(bad(&format!("it has {} characters", raw.len())));
        }
        Ok(Self(raw.to_owned()))
    }

    /// Whether `presented` is this token, in time independent of where they differ.
    pub fn matches(&self, presented: &str) -> bool {
        constant_time_eq(self.0.as_bytes(), presented.as_bytes())
    }
}

/// Compares SHA-256 digests rather than the strings, so neither a differing
/// byte nor a differing length ends the comparison early: both inputs are
/// hashed whole and all 32 digest bytes are always folded together.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let (da, db) = (Sha256::digest(a), Sha256::digest(b));
    let diff = da
        .iter()
        .zip(db.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y));
    // Keeps the optimiser from turning the fold into an early-exit comparison.
    std::hint::black_box(diff) == 0
}

/// The token of an `Authorization: Bearer <token>` header (scheme case-insensitive, RFC 6750).
pub fn bearer(header: &str) -> Option<&str> {
    let (scheme, rest) = header.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| rest.trim())
        .filter(|t| !t.is_empty())
}

/// A bind address beyond loopback is reachable from other machines, so it needs a token.
pub fn check_bind(addr: SocketAddr, token: Option<&Token>) -> Result<(), SettingError> {
    if addr.ip().is_loopback() || token.is_some() {
        Ok(())
    } else {
        Err(SettingError::OpenBind { addr })
    }
}

/// The host of a `Host` header or an authority, lower case, IPv6 without
/// brackets, port dropped; `None` if it does not parse.
pub fn host_of(authority: &str) -> Option<String> {
    let parsed: http::uri::Authority = authority.trim().parse().ok()?;
    if parsed.as_str().contains('@') {
        // Userinfo has no place in a Host header.
        return None;
    }
    let host = parsed.host().trim_start_matches('[').trim_end_matches(']');
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

/// A browser origin, normalised: scheme, host, and the port (the scheme's default when omitted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub scheme: String,
    pub host: String,
    pub port: Option<u16>,
}

impl Origin {
    pub fn parse(raw: &str) -> Option<Self> {
        let uri: http::Uri = raw.trim().parse().ok()?;
        let scheme = uri.scheme_str()?.to_ascii_lowercase();
        let authority = uri.authority()?;
        if !matches!(uri.path(), "" | "/") || uri.query().is_some() {
            return None;
        }
        let host = host_of(authority.as_str())?;
        let port = authority.port_u16().or(match scheme.as_str() {
            "http" => Some(80),
            "https" => Some(443),
            _ => None,
        });
        Some(Self { scheme, host, port })
    }
}

/// Who the HTTP layer lets in.
#[derive(Debug, Clone, Default)]
pub struct AccessPolicy {
    /// Every request but `GET /health` must carry it, when set.
    pub token: Option<Token>,
    /// The address listened on; `None` means loopback only.
    pub bind: Option<IpAddr>,
    /// Further host names (lower case, no port) a `Host` header may name.
    pub allowed_hosts: Vec<String>,
    /// Further browser origins an `Origin` header may name.
    pub allowed_origins: Vec<Origin>,
}

/// Why a request's `Host` or `Origin` is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderRefusal {
    pub header: &'static str,
    pub received: String,
    pub accepted: String,
}

impl AccessPolicy {
    pub fn new(
        token: Option<&str>,
        bind: IpAddr,
        allow_hosts: &[String],
        allow_origins: &[String],
    ) -> Result<Self, SettingError> {
        let token = token.map(Token::new).transpose()?;
        let allowed_hosts = allow_hosts
            .iter()
            .map(|h| parse_allowed_host(h))
            .collect::<Result<_, _>>()?;
        let allowed_origins = allow_origins
            .iter()
            .map(|o| parse_allowed_origin(o))
            .collect::<Result<_, _>>()?;
        Ok(Self {
            token,
            bind: Some(bind),
            allowed_hosts,
            allowed_origins,
        })
    }

    /// Bound to every interface (0.0.0.0 or ::), the machine's own addresses are
    /// not known here; an IP literal in `Host` cannot be a rebound DNS name,
    /// which is what the check is for, so any is accepted then.
    fn any_ip_literal(&self) -> bool {
        self.bind.is_some_and(|ip| ip.is_unspecified())
    }

    /// The host names a `Host` header may name, besides IP literals when bound to every interface.
    pub fn host_names(&self) -> Vec<String> {
        let bind = self
            .bind
            .filter(|ip| !ip.is_unspecified())
            .map(|ip| ip.to_string());
        let mut names: Vec<String> = Vec::new();
        let candidates = LOOPBACK_HOSTS
            .iter()
            .map(|h| (*h).to_owned())
            .chain(bind)
            .chain(self.allowed_hosts.iter().cloned());
        for host in candidates {
            if !names.contains(&host) {
                names.push(host);
            }
        }
        names
    }

    /// Whether `host` is one of [`Self::host_names`], without building the
    /// list: this is asked on every request.
    fn is_host_name(&self, host: &str) -> bool {
        LOOPBACK_HOSTS.contains(&host)
            || self
                .bind
                .filter(|ip| !ip.is_unspecified())
                .is_some_and(|ip| ip.to_string() == host)
            || self.allowed_hosts.iter().any(|h| h == host)
    }

    /// What rmcp's own `Host` check should allow, so it agrees with ours; `None`
    /// when ours accepts any IP literal, which rmcp's list cannot say (ours runs first).
    pub fn rmcp_allowed_hosts(&self) -> Option<Vec<String>> {
        (!self.any_ip_literal()).then(|| self.host_names())
    }

    pub fn check_host(&self, host_header: Option<&str>) -> Result<(), HeaderRefusal> {
        let refuse = |received: &str| HeaderRefusal {
            header: "Host",
            received: received.chars().take(200).collect(),
            accepted: self.hosts_accepted(),
        };
        let Some(raw) = host_header else {
            return Err(refuse("(none)"));
        };
        let Some(host) = host_of(raw) else {
            return Err(refuse(raw));
        };
        let named = self.is_host_name(&host);
        if named || (self.any_ip_literal() && host.parse::<IpAddr>().is_ok()) {
            Ok(())
        } else {
            Err(refuse(raw))
        }
    }

    fn hosts_accepted(&self) -> String {
        let mut text = self.host_names().join(", ");
        if self.any_ip_literal() {
            text.push_str(", or any IP address (bound to every interface)");
        }
        text.push_str("; --allow-host adds a name");
        text
    }

    /// No `Origin` is fine (curl, SDKs, Claude Code); a browser's must be loopback or allowed.
    pub fn check_origin(&self, origin_header: Option<&str>) -> Result<(), HeaderRefusal> {
        let Some(raw) = origin_header else {
            return Ok(());
        };
        let allowed = Origin::parse(raw).is_some_and(|o| {
            (matches!(o.scheme.as_str(), "http" | "https") && is_loopback_host(&o.host))
                || self.allowed_origins.contains(&o)
        });
        if allowed {
            return Ok(());
        }
        let mut accepted = "http(s)://localhost, 127.0.0.1 or [::1] on any port".to_owned();
        for o in &self.allowed_origins {
            accepted.push_str(&format!(", {}", display_origin(o)));
        }
        accepted.push_str("; --allow-origin adds one");
        Err(HeaderRefusal {
            header: "Origin",
            received: raw.chars().take(200).collect(),
            accepted,
        })
    }
}

fn display_origin(o: &Origin) -> String {
    let host = if o.host.contains(':') {
        format!("[{}]", o.host)
    } else {
        o.host.clone()
    };
    match o.port {
        Some(port) => format!("{}://{host}:{port}", o.scheme),
        None => format!("{}://{host}", o.scheme),
    }
}

pub fn is_loopback_host(host: &str) -> bool {
    host == "localhost"
        || host
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip == IpAddr::V4(Ipv4Addr::LOCALHOST) || ip == Ipv6Addr::LOCALHOST)
}

fn parse_allowed_host(given: &str) -> Result<String, SettingError> {
    let bad = |why: &str| SettingError::BadHost {
        given: given.to_owned(),
        why: why.into(),
    };
    let trimmed = given.trim();
    if trimmed.is_empty() {
        return Err(bad("it is empty"));
    }
    if trimmed.contains("://") || trimmed.contains('/') {
        return Err(bad("it has a scheme or a path"));
    }
    let host = host_of(trimmed).ok_or_else(|| bad("it is not a host name"))?;
    let bare = trimmed.trim_start_matches('[').trim_end_matches(']');
    if host != bare.to_ascii_lowercase() {
        return Err(bad("it has a port; the Host check ignores ports"));
    }
    Ok(host)
}

fn parse_allowed_origin(given: &str) -> Result<Origin, SettingError> {
    let bad = |why: &str| SettingError::BadOrigin {
        given: given.to_owned(),
        why: why.into(),
    };
    if given.trim().eq_ignore_ascii_case("null") {
        return Err(bad(
            "the null origin is any sandboxed page or file, so it is never allowed",
        ));
    }
    let origin = Origin::parse(given).ok_or_else(|| bad("it is not an origin"))?;
    if !matches!(origin.scheme.as_str(), "http" | "https") {
        return Err(bad("only http and https origins are accepted"));
    }
    Ok(origin)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(bind: &str, hosts: &[&str], origins: &[&str]) -> AccessPolicy {
        let own = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        AccessPolicy::new(None, bind.parse().unwrap(), &own(hosts), &own(origins)).unwrap()
    }

    #[test]
    fn equal_tokens_match_and_others_do_not_whatever_their_length() {
        let token = Token::new("0123456789abcdef-secret").unwrap();
        assert!(token.matches("0123456789abcdef-secret"));
        assert!(!token.matches("0123456789abcdef-secreT"));
        assert!(!token.matches("1123456789abcdef-secret"));
        assert!(!token.matches("0123456789abcdef-secret "));
        assert!(!token.matches("0123456789abcdef"));
        assert!(!token.matches(""));
        assert!(!token.matches(&"0".repeat(10_000)));
        assert!(constant_time_eq(b"", b""));
        assert!(!constant_time_eq(b"a", b""));
    }

    #[test]
    fn the_token_debug_output_hides_it() {
        let token = Token::new("0123456789abcdef-secret").unwrap();
        assert!(!format!("{token:?}").contains("secret"));
    }

    #[test]
    fn weak_or_unsendable_tokens_are_refused_with_the_rule() {
        for bad in [
            "",
            "short",
            "has a space in it!!",
            "ünïcödé-ünïcödé-x",
            "tab\there-1234567890",
        ] {
            let err = Token::new(bad).unwrap_err().to_string();
            assert!(
                err.contains("at least 16 printable ASCII"),
                "{bad:?}: {err}"
            );
        }
        assert!(Token::new("abcdefghijklmnop").is_ok());
    }

    #[test]
    fn bearer_headers_are_read_case_insensitively() {
        assert_eq!(bearer("Bearer abc"), Some("abc"));
        assert_eq!(bearer("bearer   abc "), Some("abc"));
        assert_eq!(bearer("BEARER abc"), Some("abc"));
        assert_eq!(bearer("Basic abc"), None);
        assert_eq!(bearer("Bearer"), None);
        assert_eq!(bearer("Bearer "), None);
        assert_eq!(bearer("abc"), None);
    }

    #[test]
    fn only_loopback_binds_go_without_a_token() {
        let token = Token::new("0123456789abcdef").unwrap();
        for addr in ["127.0.0.1:7477", "[::1]:0", "127.0.0.2:1"] {
            assert_eq!(check_bind(addr.parse().unwrap(), None), Ok(()), "{addr}");
        }
        for addr in ["0.0.0.0:7477", "[::]:0", "192.168.1.20:7477"] {
            let err = check_bind(addr.parse().unwrap(), None)
                .unwrap_err()
                .to_string();
            assert!(err.contains("without a token"), "{err}");
            assert!(err.contains("--token or CCMULTI_TOKEN"), "{err}");
            assert!(err.contains("bind 127.0.0.1"), "{err}");
            assert_eq!(check_bind(addr.parse().unwrap(), Some(&token)), Ok(()));
        }
    }

    #[test]
    fn loopback_hosts_pass_on_any_port_and_others_do_not() {
        let p = policy("127.0.0.1", &[], &[]);
        for ok in [
            "localhost",
            "LOCALHOST:7477",
            "127.0.0.1:7477",
            "[::1]:7477",
            "[::1]",
        ] {
            assert_eq!(p.check_host(Some(ok)), Ok(()), "{ok}");
        }
        for bad in [
            "evil.example",
            "evil.example:7477",
            "127.0.0.1.evil.example",
            "192.168.1.20:7477",
            "",
            "a b",
            "user@localhost",
        ] {
            let refusal = p.check_host(Some(bad)).unwrap_err();
            assert_eq!(refusal.header, "Host");
            assert!(
                refusal.accepted.contains("localhost, 127.0.0.1, ::1"),
                "{refusal:?}"
            );
        }
        assert!(p.check_host(None).is_err());
    }

    #[test]
    fn the_bind_address_and_allowed_hosts_pass_too() {
        let p = policy("192.168.1.20", &["DevBox.lan"], &[]);
        assert_eq!(p.check_host(Some("192.168.1.20:7477")), Ok(()));
        assert_eq!(p.check_host(Some("devbox.lan:7477")), Ok(()));
        assert!(p.check_host(Some("192.168.1.21:7477")).is_err());
        assert!(p.check_host(Some("evil.example")).is_err());
        assert_eq!(
            p.rmcp_allowed_hosts(),
            Some(vec![
                "localhost".into(),
                "127.0.0.1".into(),
                "::1".into(),
                "192.168.1.20".into(),
                "devbox.lan".into()
            ])
        );
    }

    /// `check_host` asks without building the list; both must say the same.
    #[test]
    fn the_host_check_and_the_host_list_agree() {
        for p in [
            policy("192.168.1.20", &["DevBox.lan"], &[]),
            policy("127.0.0.1", &[], &[]),
            policy("0.0.0.0", &["box"], &[]),
            policy("::1", &[], &[]),
        ] {
            let names = p.host_names();
            for host in [
                "localhost",
                "127.0.0.1",
                "::1",
                "192.168.1.20",
                "devbox.lan",
                "box",
                "0.0.0.0",
                "10.0.0.1",
                "evil.example",
                "",
            ] {
                assert_eq!(
                    p.is_host_name(host),
                    names.iter().any(|n| n == host),
                    "{host} with {names:?}"
                );
            }
        }
    }

    #[test]
    fn bound_to_every_interface_any_ip_literal_passes_but_no_unlisted_name() {
        let p = policy("0.0.0.0", &[], &[]);
        assert_eq!(p.check_host(Some("10.1.2.3:7477")), Ok(()));
        assert_eq!(p.check_host(Some("[fe80::1]:7477")), Ok(()));
        assert_eq!(p.check_host(Some("localhost:7477")), Ok(()));
        let refusal = p.check_host(Some("evil.example:7477")).unwrap_err();
        assert!(refusal.accepted.contains("any IP address"), "{refusal:?}");
        assert_eq!(p.rmcp_allowed_hosts(), None);
    }

    #[test]
    fn origins_must_be_loopback_or_allowed() {
        let p = policy("127.0.0.1", &[], &["https://app.example"]);
        assert_eq!(p.check_origin(None), Ok(()));
        for ok in [
            "http://localhost:6274",
            "http://127.0.0.1:7477",
            "https://localhost",
            "http://[::1]:3000",
            "https://app.example",
            "https://app.example:443",
        ] {
            assert_eq!(p.check_origin(Some(ok)), Ok(()), "{ok}");
        }
        for bad in [
            "https://evil.example",
            "http://app.example",
            "https://app.example:8443",
            "null",
            "http://localhost.evil.example",
            "file://",
            "chrome-extension://abc",
            "garbage",
        ] {
            let refusal = p.check_origin(Some(bad)).unwrap_err();
            assert_eq!(refusal.header, "Origin", "{bad}");
            assert!(
                refusal.accepted.contains("https://app.example:443"),
                "{refusal:?}"
            );
        }
    }

    #[test]
    fn malformed_settings_are_refused_with_what_is_accepted() {
        let own = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        for host in ["", "http://devbox", "devbox:7477", "dev/box"] {
            let err = AccessPolicy::new(None, ip, &own(&[host]), &[]).unwrap_err();
            assert!(err.to_string().contains("such as devbox.lan"), "{err}");
        }
        for origin in [
            "null",
            "devbox.lan",
            "ftp://devbox",
            "https://app.example/path",
        ] {
            let err = AccessPolicy::new(None, ip, &[], &own(&[origin])).unwrap_err();
            assert!(err.to_string().contains("scheme://host[:port]"), "{err}");
        }
        assert!(AccessPolicy::new(None, ip, &own(&["[fe80::1]", "10.0.0.2"]), &[]).is_ok());
    }
}
