//! Hostile input, generated: the virtual user id parser, the path normaliser
//! and the JSON-RPC intake of the running server get arbitrary input and must
//! answer every case with a value or a clear error, never a panic or a 5xx.
//!
//! 256 cases per property by default; a long run:
//!     PROPTEST_CASES=100000 cargo test --release --test it hostile_input:: -- --nocapture

use std::path::Path;

use ccmulti::rules::paths::normalize;
use ccmulti_model::VirtualUser;
use ccmulti_testkit::*;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Value, json};
use std::str::FromStr;

// The intake's mangled requests reach the store (any string as a task id, a
// path, a message): on both backends. The parsers alone need no server.
on_both_backends!(blocking: the_intake_answers_every_mangled_request_without_a_server_error);

fn cases(default: u32) -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default);
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

/// Text that tends to hit the edges: separators, markers, dots, NUL, unicode.
fn edgy_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("__".to_owned()),
        Just("__session__".to_owned()),
        Just("/".to_owned()),
        Just("..".to_owned()),
        Just(".".to_owned()),
        Just("\0".to_owned()),
        Just("*".to_owned()),
        Just("[".to_owned()),
        Just("{a,b}".to_owned()),
        Just("\\".to_owned()),
        Just("é".to_owned()),
        "[a-z_]{1,8}",
        any::<String>(),
    ];
    proptest::collection::vec(piece, 0..8).prop_map(|v| v.concat())
}

#[test]
fn virtual_user_ids_parse_or_explain_and_round_trip() {
    let mut runner = TestRunner::new(cases(2_000));
    let accepted = std::cell::Cell::new(0u32);
    runner
        .run(&edgy_text(), |raw| {
            match VirtualUser::from_str(&raw) {
                Ok(user) => {
                    accepted.set(accepted.get() + 1);
                    prop_assert_eq!(user.to_string(), raw.clone(), "display round-trips");
                    prop_assert!(!user.user_id.is_empty() && !user.user_id.contains("__"));
                }
                Err(e) => prop_assert!(!e.to_string().is_empty()),
            }
            Ok(())
        })
        .unwrap();
    println!(
        "virtual user ids: {} cases, {} accepted",
        runner.config().cases,
        accepted.get()
    );
}

#[test]
fn paths_normalise_into_the_root_or_explain() {
    let root = Path::new("/work/repo");
    let mut runner = TestRunner::new(cases(2_000));
    let accepted = std::cell::Cell::new(0u32);
    runner
        .run(&edgy_text(), |raw| {
            match normalize(root, &raw) {
                Ok(path) => {
                    accepted.set(accepted.get() + 1);
                    prop_assert!(!path.is_empty());
                    prop_assert!(!path.starts_with('/'), "{path:?} is relative");
                    prop_assert!(!path.split('/').any(|c| c == ".."), "{path:?} stays inside");
                    prop_assert!(!path.contains('\0'));
                    let again = normalize(root, &path);
                    prop_assert_eq!(again.as_deref(), Ok(path.as_str()), "idempotent");
                }
                Err(e) => prop_assert!(!e.to_string().is_empty()),
            }
            Ok(())
        })
        .unwrap();
    println!(
        "paths: {} cases, {} accepted",
        runner.config().cases,
        accepted.get()
    );
}

/// Valid requests, then mangled: fields dropped, retyped, renamed, or the text cut.
fn jsonrpc_body() -> impl Strategy<Value = String> {
    let method = prop_oneof![
        Just("tools/list"),
        Just("tools/call"),
        Just("initialize"),
        Just("server/discover"),
        Just("ping"),
        Just("resources/list"),
        Just("notifications/initialized"),
    ];
    let tool = prop_oneof![
        Just("claim_file_lock"),
        Just("release_file_lock"),
        Just("sync_progress"),
        Just("check_agent_status"),
        Just("analyze_task_conflicts"),
        Just("nope"),
    ];
    let junk = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        any::<String>().prop_map(Value::from),
        Just(json!([])),
        Just(json!({})),
        Just(json!(["../../etc/passwd", "\u{0}", "a/**/[", ""])),
    ];
    let keys = prop_oneof![
        Just("file_paths"),
        Just("operation"),
        Just("duration_minutes"),
        Just("wait_seconds"),
        Just("all"),
        Just("task_id"),
        Just("status"),
        Just("progress_percentage"),
        Just("include_inactive"),
        Just("tasks"),
    ];
    let arguments = proptest::collection::btree_map(keys, junk.clone(), 0..4)
        .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()));
    (method, tool, arguments, junk, 0usize..6, any::<u16>()).prop_map(
        |(method, tool, arguments, junk, mangle, cut)| {
            let mut body = json!({ "jsonrpc": "2.0", "id": 7, "method": method,
                                   "params": { "name": tool, "arguments": arguments } });
            match mangle {
                0 => {}
                1 => body["jsonrpc"] = junk,
                2 => body["id"] = junk,
                3 => body["params"] = junk,
                4 => body["method"] = junk,
                _ => body = json!([body]),
            }
            let text = body.to_string();
            if cut % 5 == 0 {
                let at = usize::from(cut) % (text.len() + 1);
                text.char_indices()
                    .map(|(i, _)| i)
                    .take_while(|i| *i <= at)
                    .last()
                    .map_or(text.clone(), |i| text[..i].to_owned())
            } else {
                text
            }
        },
    )
}

fn the_intake_answers_every_mangled_request_without_a_server_error(backend: Backend) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(backend.start());
    let url = server.agent_url("fuzzed");
    let mut runner = TestRunner::new(cases(300));
    let statuses = std::cell::RefCell::new(std::collections::BTreeMap::<u16, u32>::new());
    runner
        .run(&jsonrpc_body(), |body| {
            let reply = rt.block_on(send(
                client()
                    .post(&url)
                    .header("content-type", "application/json")
                    .header("x-client-name", "claude-code")
                    .body(body.clone()),
            ));
            *statuses.borrow_mut().entry(reply.status).or_default() += 1;
            prop_assert!(
                reply.status < 500,
                "{body} -> {} {}",
                reply.status,
                reply.text
            );
            // An internal error travels as HTTP 200 with JSON-RPC -32603: a
            // failure of the store (PostgreSQL refusing what SQLite took) too.
            prop_assert!(
                reply.error_code() != Some(-32603),
                "{body} -> internal error {}",
                reply.text
            );
            if reply.status >= 400 {
                prop_assert!(
                    reply.error_message().len() > 5 || reply.text.len() > 5,
                    "an error says what was wrong: {body} -> {}",
                    reply.text
                );
            }
            Ok(())
        })
        .unwrap();
    let health = rt.block_on(send(client().get(format!("{}/health", server.base))));
    assert_eq!(health.status, 200);
    println!(
        "intake: {} mangled requests, statuses {:?}",
        runner.config().cases,
        statuses.borrow()
    );
}
