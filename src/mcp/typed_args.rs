//! Tool arguments read into their typed structs (`ccmulti_model::tools`),
//! checked first against the JSON Schema generated from the same struct, so
//! that a bad argument gets a message naming the field, what was wrong and
//! what is accepted (serde's own errors name neither the field nor the limit).
//!
//! The checker reads the subset of JSON Schema the model's structs generate:
//! `type` (one or a list with `null`), `enum`, `minimum`/`maximum`,
//! `minLength`/`maxLength`, `minItems`/`maxItems`, `items`, `required` and
//! `additionalProperties: false`. A `null` argument counts as absent.

use rmcp::model::JsonObject;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::error::CoordError;
use crate::json::kind;

/// Checks `arguments` against `schema` and reads them into `T`.
pub fn parse<T: DeserializeOwned>(
    tool: &str,
    schema: &JsonObject,
    arguments: &JsonObject,
) -> Result<T, CoordError> {
    let invalid = |msg: String| CoordError::InvalidParams(format!("{tool}: {msg}"));
    let no_properties = Map::new();
    // Borrowed, not cloned: this runs on every call.
    let properties = schema
        .get("properties")
        .and_then(Value::as_object)
        .unwrap_or(&no_properties);
    if let Some(unknown) = arguments.keys().find(|k| !properties.contains_key(*k)) {
        let accepted: Vec<&str> = properties.keys().map(String::as_str).collect();
        return Err(invalid(format!(
            "unknown argument {unknown:?}; accepted: {}",
            accepted.join(", ")
        )));
    }
    if let Some(at) = arguments
        .iter()
        .find_map(|(field, value)| nul_at(value).map(|rest| format!("{field}{rest}")))
    {
        return Err(invalid(format!(
            "{at} holds a NUL byte (\\0), which no text argument may hold"
        )));
    }
    let mut checked = Map::new();
    for (field, rule) in properties {
        match arguments.get(field).filter(|v| !v.is_null()) {
            Some(value) => {
                let value = check(field, rule, value).map_err(invalid)?;
                checked.insert(field.clone(), value);
            }
            None if is_required(schema, field) => {
                return Err(invalid(format!("{field} is required ({})", describe(rule))));
            }
            None => {}
        }
    }
    // What the schema cannot say (a task's shape, an analysis reference) the
    // types' own deserializers say; the path names the entry.
    serde_path_to_error::deserialize(Value::Object(checked)).map_err(|e| {
        let path = e.path().to_string();
        invalid(format!("{path} {}", e.into_inner()))
    })
}

/// Where below `value` a string holds a NUL byte (`""` for `value` itself,
/// `[1].description` for a field of an entry), if anywhere. No text a tool
/// takes means anything with one, and PostgreSQL cannot store one in a text
/// column (SQLite would): refused here, before either backend is asked, so
/// both answer alike. The path is built only on the way out of a find.
fn nul_at(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => s.contains('\0').then(String::new),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| nul_at(item).map(|rest| format!("[{i}]{rest}"))),
        Value::Object(fields) => fields
            .iter()
            .find_map(|(key, item)| nul_at(item).map(|rest| format!(".{key}{rest}"))),
        _ => None,
    }
}

fn is_required(schema: &JsonObject, field: &str) -> bool {
    schema
        .get("required")
        .and_then(Value::as_array)
        .is_some_and(|r| r.iter().any(|f| f == field))
}

/// The non-null types a rule accepts.
fn types(rule: &Value) -> Vec<&str> {
    match rule.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .filter(|t| *t != "null")
            .collect(),
        _ => Vec::new(),
    }
}

fn int(rule: &Value, key: &str) -> Option<i64> {
    rule.get(key).and_then(Value::as_i64)
}

fn enum_values(rule: &Value) -> Option<Vec<&str>> {
    rule.get("enum")
        .and_then(Value::as_array)
        .map(|vs| vs.iter().filter_map(Value::as_str).collect())
}

/// "a, b or c".
fn one_of(values: &[&str]) -> String {
    match values {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
    }
}

/// What a field takes, for "is required (...)".
fn describe(rule: &Value) -> String {
    if let Some(values) = enum_values(rule) {
        return format!("one of {}", one_of(&values));
    }
    match types(rule).first().copied() {
        Some("array") if holds_strings(rule) => "an array of strings".to_owned(),
        Some("array") => list_of(rule),
        Some("integer") => match (int(rule, "minimum"), int(rule, "maximum")) {
            (Some(lo), Some(hi)) => format!("a whole number from {lo} to {hi}"),
            _ => "a whole number".to_owned(),
        },
        Some("boolean") => "true or false".to_owned(),
        Some("string") => "a string".to_owned(),
        Some(other) => other.to_owned(),
        None => "a value".to_owned(),
    }
}

/// The value as the struct will read it (a whole float becomes an integer:
/// models sometimes send 15.0 for 15), or the message saying what is wrong.
fn check(field: &str, rule: &Value, value: &Value) -> Result<Value, String> {
    if let Some(values) = enum_values(rule) {
        return match value {
            Value::String(s) if values.contains(&s.as_str()) => Ok(value.clone()),
            Value::String(s) => Err(format!("{field} {s:?} is not one of {}", one_of(&values))),
            other => Err(format!(
                "{field} must be one of {}, not {}",
                one_of(&values),
                kind(other)
            )),
        };
    }
    match types(rule).first().copied() {
        Some("integer") => check_integer(field, rule, value),
        Some("boolean") => match value {
            Value::Bool(_) => Ok(value.clone()),
            other => Err(format!(
                "{field} must be true or false, not {}",
                kind(other)
            )),
        },
        Some("string") => check_string(field, rule, value).map(|()| value.clone()),
        Some("array") => check_string_list(field, rule, value).map(|()| value.clone()),
        _ => Ok(value.clone()),
    }
}

fn check_integer(field: &str, rule: &Value, value: &Value) -> Result<Value, String> {
    let (lo, hi) = (
        int(rule, "minimum").unwrap_or(i64::MIN),
        int(rule, "maximum").unwrap_or(i64::MAX),
    );
    let n = match value {
        Value::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 1e15)
                .map(|f| f as i64)
        }),
        _ => None,
    };
    match n {
        Some(n) if (lo..=hi).contains(&n) => Ok(Value::from(n)),
        Some(n) => Err(format!("{field} is {n}; accepted: {lo} to {hi}")),
        None => Err(format!(
            "{field} must be a whole number from {lo} to {hi}, not {}",
            kind(value)
        )),
    }
}

fn check_string(field: &str, rule: &Value, value: &Value) -> Result<(), String> {
    let Value::String(s) = value else {
        return Err(format!("{field} must be a string, not {}", kind(value)));
    };
    if int(rule, "minLength").is_some_and(|min| min > 0) && s.trim().is_empty() {
        return Err(format!("{field} is empty"));
    }
    if let Some(max) = int(rule, "maxLength").filter(|max| s.len() as i64 > *max) {
        return Err(format!(
            "{field} is {} bytes long; at most {max} are accepted",
            s.len()
        ));
    }
    Ok(())
}

/// Whether an array's entries are plain strings; other entries (tasks) are
/// checked by their own type.
fn holds_strings(rule: &Value) -> bool {
    types(&rule["items"]).first() == Some(&"string")
}

/// "a list of 1 to 50 entries; <the field's description>".
fn list_of(rule: &Value) -> String {
    let count = match (int(rule, "minItems"), int(rule, "maxItems")) {
        (Some(lo), Some(hi)) => format!(" of {lo} to {hi} entries"),
        (None, Some(hi)) => format!(" of at most {hi} entries"),
        _ => String::new(),
    };
    match rule.get("description").and_then(Value::as_str) {
        Some(what) => format!("a list{count}; {what}"),
        None => format!("a list{count}"),
    }
}

fn check_string_list(field: &str, rule: &Value, value: &Value) -> Result<(), String> {
    let Value::Array(items) = value else {
        return Err(if holds_strings(rule) {
            format!("{field} must be an array of strings, not {}", kind(value))
        } else {
            format!("{field} must be {}, not {}", list_of(rule), kind(value))
        });
    };
    let max = int(rule, "maxItems");
    if let Some(max) = max.filter(|max| items.len() as i64 > *max) {
        return Err(format!(
            "{field} has {} entries; at most {max} are accepted per call",
            items.len()
        ));
    }
    if let Some(min) = int(rule, "minItems").filter(|min| (items.len() as i64) < *min) {
        let most = max.map(|m| format!(" to {m}")).unwrap_or_default();
        return Err(format!("{field} is empty; give {min}{most} entries"));
    }
    for (i, item) in items.iter().enumerate() {
        if holds_strings(rule) && !item.is_string() {
            return Err(format!(
                "{field} entry {i} must be a string, not {}",
                kind(item)
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ccmulti_model::schema::input_schema;
    use ccmulti_model::tools::{ClaimArgs, ProgressArgs, ReleaseArgs, StatusArgs};
    use ccmulti_model::{Operation, ReportedStatus};
    use serde_json::json;

    fn claim(args: Value) -> Result<ClaimArgs, String> {
        let Value::Object(args) = args else {
            panic!("an object")
        };
        parse("claim_file_lock", &input_schema::<ClaimArgs>(), &args).map_err(|e| e.to_string())
    }

    #[test]
    fn a_good_claim_reads_with_its_defaults() {
        let args = claim(json!({ "file_paths": ["a.rs"] })).unwrap();
        assert_eq!(args.file_paths, ["a.rs"]);
        assert_eq!(args.operation, Operation::Write);
        assert_eq!(args.duration_minutes, 15);
        assert_eq!(args.wait_seconds, 0);
        let args = claim(json!({ "file_paths": ["a.rs"], "duration_minutes": 30.0, "operation": "read", "wait_seconds": null })).unwrap();
        assert_eq!(
            (args.duration_minutes, args.operation),
            (30, Operation::Read)
        );
    }

    #[test]
    fn each_bad_claim_argument_is_named_with_what_is_accepted() {
        for (args, says) in [
            (
                json!({}),
                "claim_file_lock: file_paths is required (an array of strings)",
            ),
            (
                json!({ "file_paths": "a.rs" }),
                "file_paths must be an array of strings, not a string",
            ),
            (
                json!({ "file_paths": [] }),
                "file_paths is empty; give 1 to 100 entries",
            ),
            (
                json!({ "file_paths": [1] }),
                "file_paths entry 0 must be a string, not a number",
            ),
            (
                json!({ "file_paths": ["a"], "operation": "lock" }),
                "operation \"lock\" is not one of read, write or delete",
            ),
            (
                json!({ "file_paths": ["a"], "operation": 1 }),
                "operation must be one of read, write or delete, not a number",
            ),
            (
                json!({ "file_paths": ["a"], "duration_minutes": 61 }),
                "duration_minutes is 61; accepted: 1 to 60",
            ),
            (
                json!({ "file_paths": ["a"], "duration_minutes": 1.5 }),
                "duration_minutes must be a whole number from 1 to 60, not a number",
            ),
            (
                json!({ "file_paths": ["a"], "wait_seconds": "5" }),
                "wait_seconds must be a whole number from 0 to 120, not a string",
            ),
            (
                json!({ "file_paths": ["a"], "force": true }),
                "unknown argument \"force\"; accepted: file_paths, operation, duration_minutes, wait_seconds",
            ),
        ] {
            let err = claim(args.clone()).unwrap_err();
            assert!(err.contains(says), "{args}: {err}");
        }
        let many: Vec<String> = (0..101).map(|i| format!("f{i}")).collect();
        let err = claim(json!({ "file_paths": many })).unwrap_err();
        assert!(
            err.contains("file_paths has 101 entries; at most 100"),
            "{err}"
        );
    }

    #[test]
    fn the_other_tools_read_and_refuse_the_same_way() {
        let schema = input_schema::<ProgressArgs>();
        let args = json!({ "task_id": "t1", "status": "in_progress", "progress_percentage": 50 });
        let parsed: ProgressArgs =
            parse("sync_progress", &schema, args.as_object().unwrap()).unwrap();
        assert_eq!(parsed.status, ReportedStatus::InProgress);
        assert_eq!(parsed.progress_percentage, Some(50));
        for (args, says) in [
            (
                json!({ "status": "started" }),
                "task_id is required (a string)",
            ),
            (
                json!({ "task_id": " ", "status": "started" }),
                "task_id is empty",
            ),
            (
                json!({ "task_id": "t", "status": "planned" }),
                "started, in_progress, completed, failed, blocked or paused",
            ),
            (
                json!({ "task_id": "t", "status": "started", "progress_percentage": 101 }),
                "accepted: 0 to 100",
            ),
            (
                json!({ "task_id": "t", "status": "started", "message": "x".repeat(4001) }),
                "at most 4000",
            ),
            (
                json!({ "task_id": "t\u{0}", "status": "started" }),
                "task_id holds a NUL byte",
            ),
            (
                json!({ "task_id": "t", "status": "started", "affected_files": ["a", "b\u{0}"] }),
                "affected_files[1] holds a NUL byte",
            ),
        ] {
            let err = parse::<ProgressArgs>("sync_progress", &schema, args.as_object().unwrap())
                .unwrap_err()
                .to_string();
            assert!(err.contains(says), "{args}: {err}");
        }
        let release = input_schema::<ReleaseArgs>();
        let parsed: ReleaseArgs = parse(
            "release_file_lock",
            &release,
            json!({ "all": true }).as_object().unwrap(),
        )
        .unwrap();
        assert!(parsed.all && parsed.file_paths.is_none());
        let status = input_schema::<StatusArgs>();
        let parsed: StatusArgs = parse("check_agent_status", &status, &JsonObject::new()).unwrap();
        assert!(parsed.news && !parsed.include_inactive);
        let err = parse::<StatusArgs>(
            "check_agent_status",
            &status,
            json!({ "news": "no" }).as_object().unwrap(),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("news must be true or false, not a string"),
            "{err}"
        );
    }
}
