//! JSON helpers every part of the binary uses: showing a value in a message,
//! writing a document back in its file's own layout, and naming the field
//! at fault.
//!
//! Owns the one serializer and the one reader configuration the binary
//! links: each serde_json reader or writer type instantiated is another
//! parser's or printer's worth of code in a binary with a size budget, so
//! everything that shows or writes JSON comes through here. Pure: no file
//! is read or written. It must never depend on another module of the crate.

use std::fmt;

use serde_json::Value;

/// `value` as compact JSON text, for messages and log lines.
pub(crate) fn json_text(value: &Value) -> String {
    let mut out = Vec::new();
    write_json(&mut out, value, None);
    // serde_json writes UTF-8 only.
    String::from_utf8_lossy(&out).into_owned()
}

/// Shows a value in a message as compact JSON. serde_json's own `Display`
/// for `Value` would link a second serializer (one writing to a
/// formatter) into the binary, beside the one `write_json` uses.
pub(crate) struct Json<'a>(pub &'a Value);

impl fmt::Display for Json<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&json_text(self.0))
    }
}

/// Appends `value` as JSON: indented with `indent` per level when given
/// (as the file being rewritten was), else compact. The spec's `hooks`,
/// `daemon.json` and the install record are all written by it.
pub(crate) fn write_json(out: &mut Vec<u8>, value: &impl serde::Serialize, indent: Option<&[u8]>) {
    let written = match indent {
        Some(indent) => {
            let fmt = serde_json::ser::PrettyFormatter::with_indent(indent);
            value.serialize(&mut serde_json::Serializer::with_formatter(&mut *out, fmt))
        }
        None => serde_json::to_writer(&mut *out, value),
    };
    // Serialising JSON values into a Vec cannot fail: there is no I/O and
    // every key is a string.
    debug_assert!(written.is_ok());
}

/// The indentation of the first key, when the document opens with `{` and a
/// newline: how a rewritten document keeps its file's layout.
pub(crate) fn indent_of(original: &[u8]) -> Option<&[u8]> {
    let rest = original.strip_prefix(b"{")?;
    let rest = rest.strip_prefix(b"\r\n").or_else(|| rest.strip_prefix(b"\n"))?;
    let end = rest.iter().position(|&b| b != b' ' && b != b'\t')?;
    (end > 0).then(|| &rest[..end])
}

/// A problem at one field of a JSON document: the field as a path from the
/// top (`hooks.prestart[1].path`) and why. The caller adds the file.
#[derive(Debug, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub why: String,
}

impl FieldError {
    pub(crate) fn new(field: impl Into<String>, why: impl Into<String>) -> Self {
        FieldError { field: field.into(), why: why.into() }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.why)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn indent_is_that_of_the_first_key() {
        assert_eq!(indent_of(b"{\n  \"a\": 1\n}"), Some(&b"  "[..]));
        assert_eq!(indent_of(b"{\r\n\t\"a\": 1\r\n}"), Some(&b"\t"[..]));
        assert_eq!(indent_of(b"{\"a\": 1}"), None);
        assert_eq!(indent_of(b"{\n\"a\": 1}"), None);
        assert_eq!(indent_of(b" {\n  \"a\": 1}"), None);
    }

    #[test]
    fn written_compact_or_indented_as_asked() {
        let v = json!({"a": [1, {"b": null}]});
        assert_eq!(json_text(&v), r#"{"a":[1,{"b":null}]}"#);
        let mut out = Vec::new();
        write_json(&mut out, &v, Some(b"\t"));
        assert_eq!(String::from_utf8(out).unwrap(), "{\n\t\"a\": [\n\t\t1,\n\t\t{\n\t\t\t\"b\": null\n\t\t}\n\t]\n}");
        assert_eq!(Json(&json!("x\"")).to_string(), r#""x\"""#);
        assert_eq!(
            FieldError::new("hooks.prestart[0]", "must be an object").to_string(),
            "hooks.prestart[0]: must be an object"
        );
    }
}
