//! The planner's parsers over whatever a repository contains: imports and
//! defined symbols in every language, and a planning request's task lines.
#![no_main]
#![forbid(unsafe_code)]

use ccmulti_planner::Language;
use ccmulti_planner::lex::{imports, symbols};
use ccmulti_planner::request;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    for language in [
        Language::Rust,
        Language::Python,
        Language::JavaScript,
        Language::Go,
    ] {
        let _ = imports::extract(language, text);
        let _ = symbols::defined(language, text);
    }
    let asked = request::parse(text);
    for task in asked.tasks.iter().chain(request::task_lines(text).iter()) {
        assert!(!task.trim().is_empty(), "an empty task from {text:?}");
    }
});
