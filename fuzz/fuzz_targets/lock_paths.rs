//! Lock paths and globs: normalised into the root (idempotently) or refused
//! with a message; what comes out is read as a lock target, and overlap
//! between two targets is symmetric and never misses a target's own path.
#![no_main]
#![forbid(unsafe_code)]

use std::path::Path;

use ccmulti::rules::paths::normalize;
use ccmulti::rules::targets::LockTarget;
use libfuzzer_sys::fuzz_target;

fn normalised(raw: &str) -> Option<String> {
    let root = Path::new("/work/repo");
    match normalize(root, raw) {
        Ok(path) => {
            assert!(!path.is_empty());
            assert!(!path.starts_with('/'), "{path:?} is relative");
            assert!(!path.split('/').any(|c| c == ".."), "{path:?} stays inside");
            assert!(!path.contains('\0'));
            assert_eq!(normalize(root, &path).as_deref(), Ok(path.as_str()), "idempotent");
            Some(path)
        }
        Err(e) => {
            assert!(!e.to_string().is_empty());
            None
        }
    }
}

// Two paths, split at the first newline.
fuzz_target!(|raw: &str| {
    let (a, b) = raw.split_once('\n').unwrap_or((raw, ""));
    let (Some(a), b) = (normalised(a), normalised(b)) else {
        return;
    };
    let ta = LockTarget::parse(&a);
    assert!(ta.overlaps(&ta), "{a:?} overlaps itself");
    if let Some(b) = b {
        let tb = LockTarget::parse(&b);
        assert_eq!(ta.overlaps(&tb), tb.overlaps(&ta), "{a:?} vs {b:?} symmetric");
    }
});
