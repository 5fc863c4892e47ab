//! Docker's `daemon.json`, and registering the shim as a runtime in it.
//!
//! Owns parsing the file, the merge (`runtimes.<name>` and, when asked,
//! `default-runtime`), its reversal, and writing the document back in the
//! file's own layout. Pure: no file is read or written here (`install`
//! does both, `atomic` writes). This is the host's most critical Docker
//! file: a document that does not parse is refused, never rewritten (the
//! next dockerd start would fail on a file we broke), every key, value and
//! the key order outside our entry is kept, and a merge that changes
//! nothing says so, so that the caller writes nothing.

use std::cell::RefCell;
use std::fmt;

use serde::de::{DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::super::record::Previous;
use crate::json::{indent_of, write_json, Json};

pub(crate) const RUNTIMES: &str = "runtimes";
pub(crate) const DEFAULT_RUNTIME_KEY: &str = "default-runtime";
const BOM: &[u8] = b"\xEF\xBB\xBF";
/// The layout of a file we create: what Docker's documentation shows.
const NEW_INDENT: &[u8] = b"  ";

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum DaemonJsonError {
    Json(String),
    NotAnObject,
    Field { field: String, why: String },
}

impl fmt::Display for DaemonJsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DaemonJsonError::Json(e) => write!(
                f,
                "not valid JSON ({e}); dockerd accepts only plain JSON (no comments, nothing after \
                 the object), so it would not start with this file either: fix it, then run install again"
            ),
            DaemonJsonError::NotAnObject => f.write_str("(top level): must be a JSON object"),
            DaemonJsonError::Field { field, why } => write!(f, "{field}: {why}"),
        }
    }
}

impl std::error::Error for DaemonJsonError {}

/// A parsed `daemon.json` and what is needed to write it back as it was laid
/// out.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Doc {
    pub(crate) config: Map<String, Value>,
    /// The file did not exist, or held only white space.
    pub(crate) was_empty: bool,
    bom: bool,
    indent: Option<Vec<u8>>,
    trailing_newline: bool,
}

/// Parses the file's bytes; `None` (no file) and white space alone are an
/// empty object. A UTF-8 byte order mark, which dockerd skips, is kept.
pub(crate) fn parse(bytes: Option<&[u8]>) -> Result<Doc, DaemonJsonError> {
    let bytes = bytes.unwrap_or_default();
    let (bom, text) = match bytes.strip_prefix(BOM) {
        Some(rest) => (true, rest),
        None => (false, bytes),
    };
    if text.iter().all(u8::is_ascii_whitespace) {
        return Ok(Doc {
            config: Map::new(),
            was_empty: true,
            bom,
            indent: Some(NEW_INDENT.to_vec()),
            trailing_newline: true,
        });
    }
    let value: Value = serde_json::from_slice(text).map_err(|e| DaemonJsonError::Json(e.to_string()))?;
    let Value::Object(config) = value else { return Err(DaemonJsonError::NotAnObject) };
    no_repeated_keys(text)?;
    Ok(Doc {
        config,
        was_empty: false,
        bom,
        indent: indent_of(text).map(<[u8]>::to_vec),
        trailing_newline: text.ends_with(b"\n"),
    })
}

/// Refuses a key given twice in one object, at any depth. serde_json keeps
/// the last of them, while dockerd (Go's encoding/json, decoding into its
/// Config struct) merges a repeated object-valued field into one: with
/// `{"runtimes": {"x": ...}, "runtimes": {"y": ...}}` dockerd has both `x`
/// and `y`, and a file written back from serde_json's document would drop
/// `x`. Install rewrites the whole document, so every level counts, not
/// only the `runtimes` it edits. Go also matches a struct field's name
/// without case (`Runtimes`, and `runtimeſ` with U+017F), so a key that folds
/// to one install edits is a repeat of it too.
///
/// A second pass over the text, through `from_slice` like every read (the
/// same reader type, so no second parser is linked); the keys seen are kept
/// in a `Map`, the type the document is already parsed into.
fn no_repeated_keys(text: &[u8]) -> Result<(), DaemonJsonError> {
    let found = RefCell::new(None);
    let seed = Keys { path: String::new(), found: &found };
    // Its only error is the repeat it records: the first parse accepted
    // the text.
    let _ = seed.deserialize(&mut serde_json::Deserializer::from_slice(text));
    match found.into_inner() {
        Some((field, why)) => Err(DaemonJsonError::Field { field, why }),
        None => Ok(()),
    }
}

/// The keys install edits, which Go would also find under another case.
const EDITED_KEYS: [&str; 2] = [RUNTIMES, DEFAULT_RUNTIME_KEY];

/// `key` as Go's encoding/json compares a field name when the name is ASCII:
/// ASCII letters without case, and the two non-ASCII letters that fold to
/// ASCII ones, U+212A KELVIN SIGN (k) and U+017F LONG S (s) (Go's
/// `foldName`, by `unicode.SimpleFold`). Any other non-ASCII character
/// matches no ASCII name: `None`.
fn go_folded(key: &str) -> Option<String> {
    key.chars()
        .map(|c| match c {
            '\u{212a}' => Some('k'),
            '\u{17f}' => Some('s'),
            c if c.is_ascii() => Some(c.to_ascii_lowercase()),
            _ => None,
        })
        .collect()
}

/// Visits a value and checks every object in it, below `path`.
struct Keys<'a> {
    path: String,
    /// The first repeat: the field and why.
    found: &'a RefCell<Option<(String, String)>>,
}

impl Keys<'_> {
    fn child(&self, key: &str) -> Self {
        let path = if self.path.is_empty() { key.to_owned() } else { format!("{}.{key}", self.path) };
        Keys { path, found: self.found }
    }

    fn stop<E: serde::de::Error>(&self, field: String, why: String) -> E {
        *self.found.borrow_mut() = Some((field, why));
        E::custom("repeated key")
    }
}

impl<'de> DeserializeSeed<'de> for Keys<'_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Keys<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut i = 0;
        while seq.next_element_seed(Keys { path: format!("{}[{i}]", self.path), found: self.found })?.is_some() {
            i += 1;
        }
        Ok(())
    }

    // With arbitrary_precision a number arrives as a one-key map too, which
    // is checked like any object and has no repeat.
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if seen.insert(key.clone(), Value::Null).is_some() {
                let why = "given more than once; dockerd (Go) merges the repeats into one, and install would keep \
                           only the last: make it one key"
                    .to_owned();
                return Err(self.stop(self.child(&key).path, why));
            }
            if self.path.is_empty() {
                let folded = go_folded(&key);
                if let Some(edited) = EDITED_KEYS.iter().find(|k| key != **k && folded.as_deref() == Some(**k)) {
                    let why = format!(
                        "dockerd (Go) reads this key as {edited:?}, which it matches without case, and install \
                         edits only {edited:?}: spell it {edited:?}"
                    );
                    return Err(self.stop(key, why));
                }
            }
            map.next_value_seed(self.child(&key))?;
        }
        Ok(())
    }
}

/// The document as bytes: indented as the file was (a new file with two
/// spaces), compact if it was written on one line.
pub(crate) fn to_bytes(doc: &Doc) -> Vec<u8> {
    let mut out = Vec::new();
    if doc.bom {
        out.extend_from_slice(BOM);
    }
    write_json(&mut out, &doc.config, doc.indent.as_deref());
    if doc.trailing_newline {
        out.push(b'\n');
    }
    out
}

/// The document as bytes (`to_bytes`), read again by `parse`: they must
/// read as this very document, else they are not written (a defect of
/// install's, caught before the file is touched).
pub(crate) fn read_back(doc: &Doc) -> Result<Vec<u8>, DaemonJsonError> {
    let bytes = to_bytes(doc);
    match parse(Some(&bytes)) {
        Ok(again) if again.config == doc.config => Ok(bytes),
        Ok(_) => Err(DaemonJsonError::Field {
            field: "(top level)".into(),
            why: "the JSON install would write reads back as another document: not written".into(),
        }),
        Err(e) => Err(DaemonJsonError::Field {
            field: "(top level)".into(),
            why: format!("the JSON install would write does not read back ({e}): not written"),
        }),
    }
}

/// The runtime entry the shim is registered with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Runtime {
    pub(crate) name: String,
    pub(crate) path: String,
    pub(crate) args: Vec<String>,
}

impl Runtime {
    /// `{"path": ..., "runtimeArgs": [...]}`, as dockerd reads it.
    pub(crate) fn entry(&self) -> Value {
        let mut m = Map::new();
        m.insert("path".into(), Value::String(self.path.clone()));
        m.insert("runtimeArgs".into(), self.args.iter().cloned().map(Value::String).collect());
        Value::Object(m)
    }
}

/// What a merge or its reversal did: each is one line of the install log,
/// and what install records so that uninstall can put things back.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Change {
    AddedRuntime {
        name: String,
    },
    /// An entry of the same name was replaced; `was` is kept to restore.
    ReplacedRuntime {
        name: String,
        was: Value,
    },
    RemovedRuntime {
        name: String,
    },
    RestoredRuntime {
        name: String,
    },
    /// `runtimes` held only our entry and went with it.
    RemovedRuntimes,
    SetDefault {
        name: String,
        was: Option<Value>,
    },
    RestoredDefault {
        to: Option<Value>,
    },
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Change::AddedRuntime { name } => write!(f, "added {RUNTIMES}.{name}"),
            Change::ReplacedRuntime { name, was } => write!(f, "replaced {RUNTIMES}.{name} (was {})", Json(was)),
            Change::RemovedRuntime { name } => write!(f, "removed {RUNTIMES}.{name}"),
            Change::RestoredRuntime { name } => {
                write!(f, "restored {RUNTIMES}.{name} to what it was before install")
            }
            Change::RemovedRuntimes => write!(f, "removed {RUNTIMES}, left empty"),
            Change::SetDefault { name, was: Some(was) } => {
                write!(f, "set {DEFAULT_RUNTIME_KEY} to {name:?} (was {})", Json(was))
            }
            Change::SetDefault { name, was: None } => write!(f, "set {DEFAULT_RUNTIME_KEY} to {name:?}"),
            Change::RestoredDefault { to: Some(to) } => write!(f, "reset {DEFAULT_RUNTIME_KEY} to {}", Json(to)),
            Change::RestoredDefault { to: None } => {
                write!(f, "removed {DEFAULT_RUNTIME_KEY} (it was not set before install)")
            }
        }
    }
}

/// Registers `rt` under `runtimes`, keeping the entry's place if one of the
/// same name exists, and makes it `default-runtime` when `set_default`.
/// Returns the changes; none means the document is as it was. On an error
/// nothing has changed.
pub(crate) fn merge(
    config: &mut Map<String, Value>,
    rt: &Runtime,
    set_default: bool,
) -> Result<Vec<Change>, DaemonJsonError> {
    let existing = runtimes(config)?.and_then(|r| r.get(&rt.name)).cloned();
    let default = default_runtime(config)?.cloned();
    let mut changes = Vec::new();
    let entry = rt.entry();
    if existing.as_ref() != Some(&entry) {
        let slot = config.entry(RUNTIMES).or_insert(Value::Null);
        if !slot.is_object() {
            *slot = Value::Object(Map::new());
        }
        if let Value::Object(runtimes) = slot {
            runtimes.insert(rt.name.clone(), entry);
        }
        changes.push(match existing {
            Some(was) => Change::ReplacedRuntime { name: rt.name.clone(), was },
            None => Change::AddedRuntime { name: rt.name.clone() },
        });
    }
    if set_default && default.as_ref().and_then(Value::as_str) != Some(rt.name.as_str()) {
        config.insert(DEFAULT_RUNTIME_KEY.into(), Value::String(rt.name.clone()));
        changes.push(Change::SetDefault { name: rt.name.clone(), was: default });
    }
    Ok(changes)
}

/// Reverses `merge`: the entry under `name` goes (or gets back what it
/// replaced) only if its `path` is still `our_path`; someone else's entry
/// is left alone. `default-runtime` is reset when it names us and either
/// install set it or our entry is gone (dockerd refuses a default that names
/// no runtime).
pub(crate) fn unmerge(
    config: &mut Map<String, Value>,
    name: &str,
    our_path: &str,
    previous: &Previous,
) -> Result<Vec<Change>, DaemonJsonError> {
    let ours = runtimes(config)?
        .and_then(|r| r.get(name))
        .is_some_and(|e| e.get("path").and_then(Value::as_str) == Some(our_path));
    let default_is_us = default_runtime(config)?.and_then(Value::as_str) == Some(name);
    let mut changes = Vec::new();
    if ours {
        if let Some(Value::Object(runtimes)) = config.get_mut(RUNTIMES) {
            match &previous.runtime {
                Some(was) => {
                    runtimes.insert(name.into(), was.clone());
                    changes.push(Change::RestoredRuntime { name: name.into() });
                }
                None => {
                    runtimes.shift_remove(name);
                    changes.push(Change::RemovedRuntime { name: name.into() });
                    if runtimes.is_empty() {
                        config.shift_remove(RUNTIMES);
                        changes.push(Change::RemovedRuntimes);
                    }
                }
            }
        }
    }
    let entry_gone = ours && previous.runtime.is_none();
    if default_is_us && (previous.set_default || entry_gone) {
        changes.push(restore_default(config, previous.default.clone()));
    }
    Ok(changes)
}

/// Puts `default-runtime` back to `to`, or removes it when there was none.
pub(crate) fn restore_default(config: &mut Map<String, Value>, to: Option<Value>) -> Change {
    match &to {
        Some(v) => {
            config.insert(DEFAULT_RUNTIME_KEY.into(), v.clone());
        }
        None => {
            config.shift_remove(DEFAULT_RUNTIME_KEY);
        }
    }
    Change::RestoredDefault { to }
}

/// dockerd's own default runtime, used when `default-runtime` is not set.
const STOCK_RUNTIME: &str = "runc";

/// What dockerd must be shown on a reload for `after` to take effect, when
/// that is not `after` itself. dockerd's reload keeps its current
/// `runtimes` and `default-runtime` when the file no longer sets them, so a
/// key that `after` drops must reach it as an empty `runtimes` or as the
/// stock default; the file then gets `after` once dockerd has reloaded.
/// Returns the document for the reload and the keys it sets back.
pub(crate) fn for_reload(
    before: &Map<String, Value>,
    after: &Map<String, Value>,
) -> Option<(Map<String, Value>, Vec<&'static str>)> {
    let mut shown = after.clone();
    let mut kept = Vec::new();
    if before.contains_key(RUNTIMES) && !after.contains_key(RUNTIMES) {
        shown.insert(RUNTIMES.into(), Value::Object(Map::new()));
        kept.push(RUNTIMES);
    }
    if before.contains_key(DEFAULT_RUNTIME_KEY) && !after.contains_key(DEFAULT_RUNTIME_KEY) {
        shown.insert(DEFAULT_RUNTIME_KEY.into(), Value::String(STOCK_RUNTIME.into()));
        kept.push(DEFAULT_RUNTIME_KEY);
    }
    (!kept.is_empty()).then_some((shown, kept))
}

/// Whether `default-runtime` names `name`.
pub(crate) fn default_is(config: &Map<String, Value>, name: &str) -> bool {
    config.get(DEFAULT_RUNTIME_KEY).and_then(Value::as_str) == Some(name)
}

fn runtimes(config: &Map<String, Value>) -> Result<Option<&Map<String, Value>>, DaemonJsonError> {
    match config.get(RUNTIMES) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(r)) => Ok(Some(r)),
        Some(other) => Err(DaemonJsonError::Field {
            field: RUNTIMES.into(),
            why: format!("must be an object of runtime name to {{\"path\", \"runtimeArgs\"}}, not {}", Json(other)),
        }),
    }
}

fn default_runtime(config: &Map<String, Value>) -> Result<Option<&Value>, DaemonJsonError> {
    match config.get(DEFAULT_RUNTIME_KEY) {
        None | Some(Value::Null) => Ok(None),
        Some(v @ Value::String(_)) => Ok(Some(v)),
        Some(other) => Err(DaemonJsonError::Field {
            field: DEFAULT_RUNTIME_KEY.into(),
            why: format!("must be a runtime name (a string), not {}", Json(other)),
        }),
    }
}

#[cfg(test)]
mod tests;
