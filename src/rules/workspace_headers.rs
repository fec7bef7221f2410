//! How the hooks tell the coordinator where their agent works: three request
//! headers on every call they make (the worktree's top, its branch, the
//! machine). Values are percent-encoded, since a path may hold bytes a header
//! value cannot. An agent started by hand gets its workspace recorded this
//! way; `ccmulti team` records its agents' itself.

use ccmulti_model::AgentWorkspace;

pub const WORKTREE: &str = "x-ccmulti-worktree";
pub const BRANCH: &str = "x-ccmulti-branch";
pub const HOST: &str = "x-ccmulti-host";

/// Longer values are not a workspace: refused rather than stored.
const MAX_LEN: usize = 4096;

/// `%`, controls, spaces and anything beyond ASCII as `%XX`.
pub fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_graphic() && byte != b'%' {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The value [`encode`] made; `None` for anything it cannot have made.
pub fn decode(value: &str) -> Option<String> {
    if value.len() > MAX_LEN * 3 {
        return None;
    }
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = value.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    let text = String::from_utf8(out).ok()?;
    (!text.is_empty() && text.len() <= MAX_LEN && !text.contains('\0')).then_some(text)
}

/// The headers for `workspace`.
pub fn headers(workspace: &AgentWorkspace) -> Vec<(&'static str, String)> {
    let mut out = vec![(WORKTREE, encode(&workspace.worktree))];
    out.extend(workspace.branch.as_deref().map(|b| (BRANCH, encode(b))));
    out.extend(workspace.host.as_deref().map(|h| (HOST, encode(h))));
    out
}

/// The workspace a request's headers name (`get` reads one header's
/// value); `None` without a valid absolute worktree.
pub fn read(get: impl Fn(&str) -> Option<String>) -> Option<AgentWorkspace> {
    let worktree = decode(&get(WORKTREE)?)?;
    if !worktree.starts_with('/') {
        return None;
    }
    Some(AgentWorkspace {
        worktree,
        branch: get(BRANCH).and_then(|b| decode(&b)),
        host: get(HOST).and_then(|h| decode(&h)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_workspace_survives_the_trip_through_headers() {
        let workspace = AgentWorkspace {
            host: Some("dev box".into()),
            worktree: "/home/ü/my app-implementer-1".into(),
            branch: Some("ccmulti/s/implementer-1".into()),
        };
        let sent = headers(&workspace);
        assert!(
            sent.iter()
                .all(|(_, v)| v.bytes().all(|b| b.is_ascii_graphic()))
        );
        let back = read(|name| {
            sent.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.clone())
        });
        assert_eq!(back, Some(workspace));
    }

    #[test]
    fn what_encode_cannot_have_made_is_no_workspace() {
        assert_eq!(decode("%zz"), None);
        assert_eq!(decode("abc%4"), None);
        assert_eq!(decode("%00"), None);
        assert_eq!(decode(""), None);
        assert_eq!(read(|_| Some("relative/path".into())), None);
        assert_eq!(read(|_| None), None);
    }
}
