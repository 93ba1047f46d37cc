//! Reading the reference fixtures of the ArviZ comparisons (`diagnostics_arviz`,
//! `loo_arviz`), which include this file with `#[path]`.

use std::fs;
use std::path::Path;

use serde_json::Value;

/// The text of `file` in the fixture folder `tests/fixtures/<folder>`.
pub fn read_fixture(folder: &str, file: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(folder)
        .join(file);
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("{} is readable: {e}", path.display()))
}

/// A number from a reference: a JSON number, or text (numbers kept as text to parse them
/// correctly rounded; infinities stored as "inf" and "-inf").
pub fn as_num(v: &Value) -> f64 {
    match v {
        Value::String(s) => s.parse().unwrap_or_else(|_| panic!("{s} is a number")),
        other => other
            .as_f64()
            .unwrap_or_else(|| panic!("{other} is a number")),
    }
}

/// `arviz_reference.json` of the fixture folder `folder`, its text passed through `prepare`
/// before parsing.
pub fn arviz_reference(folder: &str, prepare: impl FnOnce(String) -> String) -> Value {
    let text = prepare(read_fixture(folder, "arviz_reference.json"));
    serde_json::from_str(&text).expect("arviz_reference.json is valid JSON")
}
