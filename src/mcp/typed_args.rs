//! Tool arguments read into their typed structs (`ccmulti_model::tools`),
//! validated first by the `jsonschema` crate against the JSON Schema
//! generated from the same struct (compiled once per struct), so that a bad
//! argument gets a message naming the field, what was wrong and what is
//! accepted (neither the validator's nor serde's own errors say all three).
//!
//! Before validation a `null` argument counts as absent and a whole float
//! where a whole number is asked becomes one (models send 15.0 for 15).
//! What the schema cannot say is checked here too: a NUL byte in any text
//! (PostgreSQL cannot store one) and a required text that is only blanks.
//! A field whose own type reads it (a task's shape, an analysis reference:
//! objects and alternatives) is left to that type's deserializer, whose
//! message names the entry.

use std::any::TypeId;
use std::collections::HashMap;
use std::sync::{Arc, LazyLock, RwLock};

use jsonschema::error::ValidationErrorKind;
use jsonschema::paths::LocationSegment;
use jsonschema::{ValidationError, Validator};
use rmcp::model::JsonObject;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::error::CoordError;
use crate::json::kind;
use crate::store::StoreError;

/// Checks `arguments` against `schema` (generated from `T`) and reads them into `T`.
pub fn parse<T: DeserializeOwned + 'static>(
    tool: &str,
    schema: &JsonObject,
    arguments: &JsonObject,
) -> Result<T, CoordError> {
    let invalid = |msg: String| CoordError::InvalidParams(format!("{tool}: {msg}"));
    if let Some(at) = arguments
        .iter()
        .find_map(|(field, value)| nul_at(value).map(|rest| format!("{field}{rest}")))
    {
        return Err(invalid(format!(
            "{at} holds a NUL byte (\\0), which no text argument may hold"
        )));
    }
    let properties = properties(schema);
    let arguments = Value::Object(normalised(properties, arguments));
    let validator = validator_for::<T>(tool, schema)?;
    let first = validator
        .iter_errors(&arguments)
        .filter_map(|e| Reported::of(schema, &e))
        .min_by_key(|r| r.rank);
    if let Some(reported) = first {
        return Err(invalid(reported.message));
    }
    if let Some(blank) = blank_text(properties, &arguments) {
        return Err(invalid(format!("{blank} is empty")));
    }
    serde_path_to_error::deserialize(arguments).map_err(|e| {
        let path = e.path().to_string();
        invalid(format!("{path} {}", e.into_inner()))
    })
}

type Validators = RwLock<HashMap<TypeId, Arc<Validator>>>;

/// Each argument struct's validator, compiled on its first call.
fn validator_for<T: 'static>(
    tool: &str,
    schema: &JsonObject,
) -> Result<Arc<Validator>, CoordError> {
    static COMPILED: LazyLock<Validators> = LazyLock::new(Validators::default);
    let key = TypeId::of::<T>();
    if let Some(v) = COMPILED.read().ok().and_then(|m| m.get(&key).cloned()) {
        return Ok(v);
    }
    let compiled = jsonschema::validator_for(&Value::Object(schema.clone())).map_err(|e| {
        // A generated schema the validator cannot read is this build's bug.
        tracing::error!(tool, error = %e, "the tool's input schema does not compile");
        CoordError::Internal(StoreError::Database(
            format!("{tool}: input schema: {e}").into(),
        ))
    })?;
    let compiled = Arc::new(compiled);
    if let Ok(mut m) = COMPILED.write() {
        m.insert(key, compiled.clone());
    }
    Ok(compiled)
}

fn properties(schema: &JsonObject) -> &Map<String, Value> {
    static NONE: LazyLock<Map<String, Value>> = LazyLock::new(Map::new);
    schema
        .get("properties")
        .and_then(Value::as_object)
        .unwrap_or(&NONE)
}

/// The arguments without nulls, and with whole floats as whole numbers where
/// the schema asks for one.
fn normalised(properties: &Map<String, Value>, arguments: &JsonObject) -> Map<String, Value> {
    arguments
        .iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(field, value)| {
            let wants_integer = properties
                .get(field)
                .is_some_and(|rule| types(rule).contains(&"integer"));
            let whole = value
                .as_f64()
                .filter(|f| wants_integer && value.is_f64() && f.fract() == 0.0 && f.abs() < 1e15);
            let value = whole.map_or_else(|| value.clone(), |f| Value::from(f as i64));
            (field.clone(), value)
        })
        .collect()
}

/// A required-looking text (`minLength` 1) that is only blanks: the schema
/// counts its characters, a person sees nothing.
fn blank_text<'a>(properties: &'a Map<String, Value>, arguments: &Value) -> Option<&'a str> {
    properties.iter().find_map(|(field, rule)| {
        let text = arguments.get(field)?.as_str()?;
        (int(rule, "minLength").is_some_and(|min| min > 0) && text.trim().is_empty())
            .then_some(field.as_str())
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

/// A validation error said in the tool's terms, and which to say first:
/// an unknown argument, then the fields in the schema's order.
struct Reported {
    rank: usize,
    message: String,
}

impl Reported {
    /// `None` for an error the field's own type will say better (inside an
    /// object or an alternative, or in a list of such).
    fn of(schema: &JsonObject, error: &ValidationError<'_>) -> Option<Self> {
        let properties = properties(schema);
        let mut path = error.instance_path().segments();
        let field = match (path.next(), error.kind()) {
            (None, ValidationErrorKind::AdditionalProperties { unexpected }) => {
                let accepted: Vec<&str> = properties.keys().map(String::as_str).collect();
                return Some(Self {
                    rank: 0,
                    message: format!(
                        "unknown argument {:?}; accepted: {}",
                        unexpected.first().map_or("", String::as_str),
                        accepted.join(", ")
                    ),
                });
            }
            (None, ValidationErrorKind::Required { property }) => property.as_str()?.to_owned(),
            (Some(LocationSegment::Property(p)), _) => p.to_string(),
            _ => return None,
        };
        let (rank, rule) = properties
            .iter()
            .enumerate()
            .find(|(_, (name, _))| **name == field)
            .map(|(i, (_, rule))| (i + 1, rule))?;
        // An object (or an alternative) is read by its own type, which
        // accepts more than its schema says (an analysis reference as a JSON
        // string) and says a wrong shape in the entry's terms.
        let own_type = !matches!(
            types(rule).first().copied(),
            Some("integer" | "boolean" | "string" | "array")
        );
        if own_type && !error.instance_path().is_empty() {
            return None;
        }
        let entry = match path.next() {
            None => None,
            Some(LocationSegment::Index(i)) if holds_strings(rule) && path.next().is_none() => {
                Some(i)
            }
            Some(_) => return None,
        };
        let message = match entry {
            Some(i) => format!(
                "{field} entry {i} must be a string, not {}",
                kind(error.instance())
            ),
            None => say(&field, rule, error)?,
        };
        Some(Self { rank, message })
    }
}

/// The message for an error on the field itself.
fn say(field: &str, rule: &Value, error: &ValidationError<'_>) -> Option<String> {
    let value = error.instance();
    let count = || match value.as_ref() {
        Value::Array(items) => items.len(),
        Value::String(s) => s.chars().count(),
        _ => 0,
    };
    Some(match error.kind() {
        ValidationErrorKind::Required { .. } => format!("{field} is required ({})", describe(rule)),
        ValidationErrorKind::Enum { .. } => match value.as_ref() {
            Value::String(s) => format!(
                "{field} {s:?} is not one of {}",
                one_of(&enum_values(rule)?)
            ),
            other => format!("{field} must be {}, not {}", describe(rule), kind(other)),
        },
        ValidationErrorKind::Type { .. } => {
            format!("{field} must be {}, not {}", describe(rule), kind(value))
        }
        ValidationErrorKind::Minimum { .. } | ValidationErrorKind::Maximum { .. } => {
            format!("{field} is {value}; accepted: {}", range(rule))
        }
        ValidationErrorKind::MaxItems { limit } => format!(
            "{field} has {} entries; at most {limit} are accepted per call",
            count()
        ),
        ValidationErrorKind::MinItems { limit } => {
            let most = int(rule, "maxItems")
                .map(|m| format!(" to {m}"))
                .unwrap_or_default();
            format!("{field} is empty; give {limit}{most} entries")
        }
        ValidationErrorKind::MinLength { .. } => format!("{field} is empty"),
        ValidationErrorKind::MaxLength { limit } => format!(
            "{field} is {} characters long; at most {limit} are accepted",
            count()
        ),
        // A keyword the model's types do not generate today: the validator's own words.
        _ => format!("{field}: {error}"),
    })
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

/// "1 to 60": a whole number's accepted range.
fn range(rule: &Value) -> String {
    let lo = int(rule, "minimum").unwrap_or(i64::MIN);
    let hi = int(rule, "maximum").unwrap_or(i64::MAX);
    format!("{lo} to {hi}")
}

/// What a field takes, for "is required (...)" and "must be ...".
fn describe(rule: &Value) -> String {
    if let Some(values) = enum_values(rule) {
        return format!("one of {}", one_of(&values));
    }
    match types(rule).first().copied() {
        Some("array") if holds_strings(rule) => "an array of strings".to_owned(),
        Some("array") => list_of(rule),
        Some("integer") if int(rule, "minimum").is_some() && int(rule, "maximum").is_some() => {
            format!("a whole number from {}", range(rule))
        }
        Some("integer") => "a whole number".to_owned(),
        Some("boolean") => "true or false".to_owned(),
        Some("string") => "a string".to_owned(),
        Some("object") => "an object".to_owned(),
        Some(other) => other.to_owned(),
        None => "a value".to_owned(),
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use ccmulti_model::schema::input_schema;
    use ccmulti_model::tools::{
        Claim, ClaimArgs, Progress, ProgressArgs, Release, ReleaseArgs, Status, StatusArgs, Tool,
    };
    use ccmulti_model::{Operation, ReportedStatus};
    use serde_json::json;

    fn claim(args: Value) -> Result<ClaimArgs, String> {
        let Value::Object(args) = args else {
            panic!("an object")
        };
        parse(Claim::NAME, &input_schema::<ClaimArgs>(), &args).map_err(|e| e.to_string())
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
                "unknown argument \"force\"; accepted: file_paths, operation, duration_minutes, lease_seconds, idle_yield_seconds, wait_seconds",
            ),
            (
                json!({ "file_paths": ["a"], "lease_seconds": 2 }),
                "lease_seconds is 2; accepted: 5 to 3600",
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
            parse(Progress::NAME, &schema, args.as_object().unwrap()).unwrap();
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
            let err = parse::<ProgressArgs>(Progress::NAME, &schema, args.as_object().unwrap())
                .unwrap_err()
                .to_string();
            assert!(err.contains(says), "{args}: {err}");
        }
        let release = input_schema::<ReleaseArgs>();
        let parsed: ReleaseArgs = parse(
            Release::NAME,
            &release,
            json!({ "all": true }).as_object().unwrap(),
        )
        .unwrap();
        assert!(parsed.all && parsed.file_paths.is_none());
        let status = input_schema::<StatusArgs>();
        let parsed: StatusArgs = parse(Status::NAME, &status, &JsonObject::new()).unwrap();
        assert!(parsed.news && !parsed.include_inactive);
        let err = parse::<StatusArgs>(
            Status::NAME,
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
