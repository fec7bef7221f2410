//! The virtual user id from the URL: parsed, or refused with a message; an
//! accepted one prints back as it came.
#![no_main]
#![forbid(unsafe_code)]

use ccmulti_model::VirtualUser;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|raw: &str| {
    match raw.parse::<VirtualUser>() {
        Ok(user) => {
            assert_eq!(user.to_string(), raw, "display round-trips");
            assert!(!user.user_id.is_empty() && !user.user_id.contains("__"));
        }
        Err(e) => assert!(!e.to_string().is_empty()),
    }
});
