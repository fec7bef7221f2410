//! What Claude Code writes on a hook's stdin: read, or refused with a message,
//! for every question the hooks ask of it.
#![no_main]
#![forbid(unsafe_code)]

use ccmulti::hook::input::HookInput;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    match HookInput::parse(text) {
        Ok(input) => {
            for answer in [input.event().err(), input.news_event().err()] {
                if let Some(e) = answer {
                    assert!(!e.to_string().is_empty());
                }
            }
            if let Err(e) = input.edited_path() {
                assert!(!e.to_string().is_empty());
            }
        }
        Err(e) => assert!(!e.to_string().is_empty()),
    }
});
