//! Files in and out, with one-line messages: reading JSON, writing atomically, and the text
//! of I/O errors.

use std::path::Path;

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
pub fn read_json(path: &Path, what: &str) -> Result<Value, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {what} '{}': {}", path.display(), io_reason(&e)))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: invalid JSON: {e}", path.display()))
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
