//! Reading tool arguments with errors that name the field, what was wrong and what is accepted.

use std::ops::RangeInclusive;

use rmcp::model::JsonObject;
use serde_json::Value;

use crate::error::CoordError;
use crate::json::kind;

pub struct Args<'a> {
    tool: &'static str,
    map: &'a JsonObject,
}

impl<'a> Args<'a> {
    /// Refuses any field the tool does not take, so a typo is not silently ignored.
    pub fn new(
        tool: &'static str,
        map: &'a JsonObject,
        accepted: &[&str],
    ) -> Result<Self, CoordError> {
        if let Some(unknown) = map.keys().find(|k| !accepted.contains(&k.as_str())) {
            return Err(CoordError::InvalidParams(format!(
                "{tool}: unknown argument {unknown:?}; accepted: {}",
                accepted.join(", ")
            )));
        }
        Ok(Self { tool, map })
    }

    fn invalid(&self, field: &str, problem: String) -> CoordError {
        CoordError::InvalidParams(format!("{}: {field} {problem}", self.tool))
    }

    fn present(&self, field: &str) -> Option<&'a Value> {
        self.map.get(field).filter(|v| !v.is_null())
    }

    pub fn required_string(&self, field: &str, max_len: usize) -> Result<&'a str, CoordError> {
        match self.optional_string(field, max_len)? {
            Some(s) => Ok(s),
            None => Err(self.invalid(field, "is required (a string)".into())),
        }
    }

    pub fn optional_string(
        &self,
        field: &str,
        max_len: usize,
    ) -> Result<Option<&'a str>, CoordError> {
        match self.present(field) {
            None => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => {
                Err(self.invalid(field, "is empty".into()))
            }
            Some(Value::String(s)) if s.len() > max_len => Err(self.invalid(
                field,
                format!("is {} bytes long; at most {max_len} are accepted", s.len()),
            )),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => {
                Err(self.invalid(field, format!("must be a string, not {}", kind(other))))
            }
        }
    }

    pub fn optional_int(
        &self,
        field: &str,
        range: RangeInclusive<i64>,
    ) -> Result<Option<i64>, CoordError> {
        let Some(v) = self.present(field) else {
            return Ok(None);
        };
        // Models sometimes send 15.0 for 15; a whole float is taken, a fraction is not.
        let n = match v {
            Value::Number(n) => n.as_i64().or_else(|| {
                n.as_f64()
                    .filter(|f| f.fract() == 0.0 && f.abs() < 1e15)
                    .map(|f| f as i64)
            }),
            _ => None,
        };
        match n {
            Some(n) if range.contains(&n) => Ok(Some(n)),
            Some(n) => Err(self.invalid(
                field,
                format!("is {n}; accepted: {} to {}", range.start(), range.end()),
            )),
            None => Err(self.invalid(
                field,
                format!(
                    "must be a whole number from {} to {}, not {}",
                    range.start(),
                    range.end(),
                    kind(v)
                ),
            )),
        }
    }

    pub fn optional_bool(&self, field: &str) -> Result<Option<bool>, CoordError> {
        match self.present(field) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(other) => {
                Err(self.invalid(field, format!("must be true or false, not {}", kind(other))))
            }
        }
    }

    /// A list of strings; `max` bounds its length.
    pub fn optional_string_list(
        &self,
        field: &str,
        max: usize,
    ) -> Result<Option<Vec<&'a str>>, CoordError> {
        let Some(v) = self.present(field) else {
            return Ok(None);
        };
        let Value::Array(items) = v else {
            return Err(self.invalid(
                field,
                format!("must be an array of strings, not {}", kind(v)),
            ));
        };
        if items.len() > max {
            return Err(self.invalid(
                field,
                format!(
                    "has {} entries; at most {max} are accepted per call",
                    items.len()
                ),
            ));
        }
        items
            .iter()
            .enumerate()
            .map(|(i, item)| match item {
                Value::String(s) => Ok(s.as_str()),
                other => Err(self.invalid(
                    field,
                    format!("entry {i} must be a string, not {}", kind(other)),
                )),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }
}
