//! `.claude/settings.json` as a repository may hold it: the hooks are merged
//! in, or the file is refused with a message; a merged file is JSON and
//! merging into it again changes nothing.
#![no_main]
#![forbid(unsafe_code)]

use ccmulti::hook::settings::{Merged, merge};
use libfuzzer_sys::fuzz_target;

const FILE: &str = ".claude/settings.json";
const BINARY: &str = "/usr/local/bin/ccmulti";

fuzz_target!(|existing: &str| {
    match merge(FILE, Some(existing), BINARY) {
        Ok(Merged::Unchanged) => {}
        Ok(Merged::Changed(text)) => {
            assert!(serde_json::from_str::<serde_json::Value>(&text).is_ok());
            assert!(
                matches!(merge(FILE, Some(&text), BINARY), Ok(Merged::Unchanged)),
                "merging twice changed the file again"
            );
        }
        Err(e) => assert!(!e.to_string().is_empty()),
    }
});
