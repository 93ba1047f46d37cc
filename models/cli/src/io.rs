//! Files in and out, with one-line messages: reading JSON, writing atomically, and the text
//! of I/O errors.

use std::path::Path;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

/// An I/O error's text without Rust's " (os error N)" suffix.
pub fn io_reason(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.rfind(" (os error ") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

/// Reads a JSON file; `what` names it in messages ("parameter file", "fit summary").
/// A UTF-8 byte-order mark is skipped (as for CSV files) and duplicate keys are refused.
pub fn read_json(path: &Path, what: &str) -> Result<Value, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {what} '{}': {}", path.display(), io_reason(&e)))?;
    parse_json(&text).map_err(|e| format!("{}: invalid JSON: {e}", path.display()))
}

/// Parses JSON text like `serde_json::from_str::<Value>`, but skips a leading UTF-8
/// byte-order mark and refuses an object with a repeated key (serde_json keeps the last one
/// silently, so `{"mu": 1, "mu": 2}` would quietly mean `mu = 2`).
pub fn parse_json(text: &str) -> Result<Value, serde_json::Error> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    serde_json::from_str::<StrictValue>(text).map(|v| v.0)
}

/// A JSON value read with [`StrictVisitor`].
struct StrictValue(Value);

impl<'de> Deserialize<'de> for StrictValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StrictVisitor).map(StrictValue)
    }
}

/// Builds a [`Value`] as serde_json does, except that a repeated object key is an error.
struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        // The JSON grammar has no non-finite numbers, so this is always `Some`.
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(StrictValue(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if object.contains_key(&key) {
                return Err(de::Error::custom(format!(
                    "duplicate key \"{}\"",
                    key.escape_debug()
                )));
            }
            let StrictValue(value) = map.next_value()?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

/// Writes a file atomically (temporary file, then rename).
pub fn write_file(path: &Path, contents: &[u8]) -> Result<(), String> {
    trellis_samplers::output::write_atomic(path, contents).map_err(output_error)
}

/// A library output error as a message.
pub fn output_error(e: trellis_samplers::OutputError) -> String {
    match e {
        trellis_samplers::OutputError::Io { path, source } => {
            format!("cannot write '{}': {}", path.display(), io_reason(&source))
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_json;
    use serde_json::json;

    #[test]
    fn duplicate_keys_are_refused_at_any_depth() {
        let err = parse_json("{\"mu\": 1,\n \"mu\": 2}").unwrap_err();
        assert_eq!(err.to_string(), "duplicate key \"mu\" at line 2 column 5");
        let err = parse_json("{\"a\": [{\"b\": 1, \"b\": 1}]}").unwrap_err();
        assert_eq!(err.to_string(), "duplicate key \"b\" at line 1 column 19");
    }

    #[test]
    fn values_match_serde_json_and_a_bom_is_skipped() {
        let text =
            r#"{"a": [1, -2, 3.5, 1e300, true, null, "x"], "b": {"c": 18446744073709551615}}"#;
        let expected: serde_json::Value = serde_json::from_str(text).unwrap();
        assert_eq!(parse_json(text).unwrap(), expected);
        assert_eq!(
            parse_json("\u{feff}{\"k\": [1]}").unwrap(),
            json!({"k": [1]})
        );
        // Still strict about everything else.
        assert!(parse_json("{\"a\": 1,}").is_err());
        assert!(parse_json("[1] 2").is_err());
    }
}
