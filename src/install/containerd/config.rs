//! containerd's configuration as a model read from text: a `config.toml`
//! or a `config dump`, its schema version, the plugins that serve the CRI,
//! its runtimes and each runtime's whole table (`Table`), which `block`
//! writes into another file. (What install adds is `block`'s, the `imports`
//! entry of version 3 `imports`'s, the rule two dumps keep `dump`'s.)
//!
//! Pure: plain functions over strings. toml_edit only reads (values, and
//! where they are in the text); nothing here writes the operator's text.
//! Facts about containerd's format are data here, each with its source
//! (FINDINGS means the measurements of containerd 1.6.20 in the issue's
//! research, kept with the tests; others name the release measured). This
//! module must never run containerd or touch a file.

use std::fmt;
use std::ops::Range;

use toml_edit::{Document, Item, Value};

/// A config's schema, by its `version` key: 1 when there is none, even in
/// an empty file (FINDINGS 1f); 3 is containerd 2.x's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Version {
    V1,
    V2,
    V3,
}

impl Version {
    pub(crate) fn number(self) -> i64 {
        match self {
            Version::V1 => 1,
            Version::V2 => 2,
            Version::V3 => 3,
        }
    }

    /// The CRI plugin's key under `plugins`, which holds
    /// `containerd.runtimes`. Version 1 knows only the short name (the long
    /// one is silently ignored there, FINDINGS 1f); version 2 only the long
    /// one (`cri` is an error there); 2.x moved the runtimes to the
    /// `io.containerd.cri.v1.runtime` plugin (containerd's docs/cri/config.md).
    pub(crate) fn cri(self) -> &'static str {
        match self {
            Version::V1 => "cri",
            Version::V2 => "io.containerd.grpc.v1.cri",
            Version::V3 => "io.containerd.cri.v1.runtime",
        }
    }

    /// The plugins that serve the CRI, each of which a dump must have and
    /// `disabled_plugins` must not name for the CRI to run: in version 1
    /// only `cri` counts (the long name is listed but CRI still loads,
    /// FINDINGS 1g); in 2.x both the gRPC service and the runtime plugin
    /// (containerd's docs/cri/config.md; measured with 2.1.9: a version 1
    /// file's `disabled_plugins = ["cri"]` becomes the gRPC plugin's name,
    /// and its section is gone from the dump).
    fn cri_plugins(self) -> &'static [&'static str] {
        match self {
            Version::V1 => &["cri"],
            Version::V2 => &["io.containerd.grpc.v1.cri"],
            Version::V3 => &["io.containerd.cri.v1.runtime", "io.containerd.grpc.v1.cri"],
        }
    }
}

/// What is wrong with a configuration, by field.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct ConfigError {
    pub(crate) field: String,
    pub(crate) why: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.field.is_empty() {
            true => f.write_str(&self.why),
            false => write!(f, "{}: {}", self.field, self.why),
        }
    }
}

pub(crate) fn err(field: impl Into<String>, why: impl Into<String>) -> ConfigError {
    ConfigError { field: field.into(), why: why.into() }
}

/// A parsed configuration (a `config.toml`, or a `config dump`), with its
/// text: values are copied as they are written.
pub(crate) struct Config {
    doc: Document<String>,
    version: Version,
}

pub(crate) fn parse(text: &str) -> Result<Config, ConfigError> {
    let doc = Document::parse(text.to_owned()).map_err(|e| {
        let why = e.message().trim_end().to_owned();
        let at = e.span().map(|s| line_col(text, s.start)).unwrap_or_default();
        err("", format!("not valid TOML ({at}{why}); containerd would not start with it either"))
    })?;
    let version = match doc.get("version") {
        None => Version::V1,
        Some(v) => match v.as_integer() {
            Some(1) => Version::V1,
            Some(2) => Version::V2,
            Some(3) => Version::V3,
            _ => return Err(err("version", format!("{}: containerd knows 1, 2 and 3", raw(&doc, v.span())))),
        },
    };
    Ok(Config { doc, version })
}

fn line_col(text: &str, at: usize) -> String {
    let before = &text[..at.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    format!("line {line}, column {col}: ")
}

/// The text of a value as written, from its span.
fn raw(doc: &Document<String>, span: Option<Range<usize>>) -> String {
    span.and_then(|s| doc.raw().get(s)).unwrap_or("?").trim().to_owned()
}

/// The entries of a table, `[name]` or inline (`{ ... }`): each key, and
/// its value when that is a plain value, not a table. (Not toml_edit's
/// `as_table_like`: its trait object links every method of the trait, one
/// of them an `unwrap` that brings all of toml_edit's `Debug` and std's
/// float printing into the binary, 34 KiB.)
fn entries(item: &Item) -> Option<Vec<(&str, Option<&Value>)>> {
    match item {
        Item::Table(t) => Some(t.iter().map(|(key, item)| (key, item.as_value())).collect()),
        Item::Value(Value::InlineTable(t)) => Some(t.iter().map(|(key, value)| (key, Some(value))).collect()),
        _ => None,
    }
}

impl Config {
    pub(crate) fn version(&self) -> Version {
        self.version
    }

    /// The document, with its text.
    pub(crate) fn doc(&self) -> &Document<String> {
        &self.doc
    }

    /// `plugins.<cri>.containerd`, the CRI plugin's container settings.
    pub(crate) fn cri_containerd(&self) -> Option<&Item> {
        self.doc.get("plugins")?.get(self.version.cri())?.get("containerd")
    }

    /// Whether the CRI's plugins are there: a dump of a config that
    /// disables one has no section for it (FINDINGS 1g).
    pub(crate) fn has_cri(&self) -> bool {
        let plugins = self.doc.get("plugins");
        self.version.cri_plugins().iter().all(|name| plugins.and_then(|p| p.get(name)).is_some())
    }

    /// Whether `disabled_plugins` disables the CRI.
    pub(crate) fn cri_disabled(&self) -> bool {
        let names = self.doc.get("disabled_plugins").and_then(Item::as_array);
        names.is_some_and(|a| a.iter().any(|v| v.as_str().is_some_and(|s| self.version.cri_plugins().contains(&s))))
    }

    /// `default_runtime_name`, if the config sets it.
    pub(crate) fn default_runtime_name(&self) -> Option<&str> {
        self.cri_containerd()?.get("default_runtime_name")?.as_str()
    }

    /// The runtimes the config declares.
    pub(crate) fn runtimes(&self) -> Vec<&str> {
        let table = self.cri_containerd().and_then(|c| c.get("runtimes")).and_then(entries);
        table.map(|t| t.into_iter().map(|(k, _)| k).collect()).unwrap_or_default()
    }

    /// Runtime `name`'s whole table, if declared: every key, and the tables
    /// below it (`options`).
    pub(crate) fn runtime(&self, name: &str) -> Result<Option<Table>, ConfigError> {
        let Some(rt) = self.cri_containerd().and_then(|c| c.get("runtimes")).and_then(|r| r.get(name)) else {
            return Ok(None);
        };
        let field = format!("plugins.{}.containerd.runtimes.{}", key_text(self.version.cri()), key_text(name));
        Table::read(&self.doc, rt, &field).map(Some)
    }

    /// The runtime type of runtime `name`'s table.
    pub(crate) fn runtime_type<'t>(&self, table: &'t Table) -> Option<&'t str> {
        table.get("runtime_type").map(|e| e.text.as_str())
    }
}

/// One key of a table, with its value as written (`raw`) and as compared
/// (`text`: a string's or array's contents the same however they are
/// quoted; containerd 1.x dumps `"x"`, 2.x `'x'`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Entry {
    pub(crate) key: String,
    pub(crate) raw: String,
    pub(crate) text: String,
}

/// A runtime's table as a configuration has it: its values in order, then
/// the tables below it, each the same way. Written back, it is the same
/// table in another file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Table {
    pub(crate) values: Vec<Entry>,
    pub(crate) tables: Vec<(String, Table)>,
}

impl Table {
    /// The table at `item` (`[name]` or inline), `field` naming it.
    fn read(doc: &Document<String>, item: &Item, field: &str) -> Result<Table, ConfigError> {
        let mut table = Table::default();
        let entries = entries(item).ok_or_else(|| err(field, "must be a table"))?;
        for (key, value) in entries {
            let at = match field {
                "" => key_text(key),
                _ => format!("{field}.{}", key_text(key)),
            };
            match (value, item.get(key)) {
                (Some(Value::InlineTable(_)), Some(sub)) | (None, Some(sub @ Item::Table(_))) => {
                    table.tables.push((key.to_owned(), Table::read(doc, sub, &at)?))
                }
                (Some(v), _) => {
                    table.values.push(Entry { key: key.to_owned(), raw: raw(doc, v.span()), text: text(doc, v) })
                }
                _ => return Err(err(at, "an array of tables: not copied")),
            }
        }
        Ok(table)
    }

    pub(crate) fn get(&self, key: &str) -> Option<&Entry> {
        self.values.iter().find(|e| e.key == key)
    }

    /// The table `key` below this one.
    pub(crate) fn sub(&self, key: &str) -> Option<&Table> {
        self.tables.iter().find(|(k, _)| k == key).map(|(_, t)| t)
    }

    /// Sets `key` to the TOML value `raw` (its compared form `text`), in its
    /// place or last.
    pub(crate) fn set(&mut self, key: &str, raw: String, text: String) {
        match self.values.iter_mut().find(|e| e.key == key) {
            Some(e) => (e.raw, e.text) = (raw, text),
            None => self.values.push(Entry { key: key.to_owned(), raw, text }),
        }
    }

    /// The table `key` below this one, made if it is not there.
    pub(crate) fn table_mut(&mut self, key: &str) -> &mut Table {
        let i = match self.tables.iter().position(|(k, _)| k == key) {
            Some(i) => i,
            None => {
                self.tables.push((key.to_owned(), Table::default()));
                self.tables.len() - 1
            }
        };
        &mut self.tables[i].1
    }

    /// The table as `[header]` and its lines, then its tables below it.
    pub(crate) fn write(&self, out: &mut String, header: &str, depth: usize) {
        let indent = "  ".repeat(depth);
        out.push_str(&format!("{indent}[{header}]\n"));
        for e in &self.values {
            out.push_str(&format!("{indent}  {} = {}\n", key_text(&e.key), e.raw));
        }
        for (key, sub) in &self.tables {
            sub.write(out, &format!("{header}.{}", key_text(key)), depth + 1);
        }
    }

    /// Whether two tables hold the same keys with the same values (their
    /// order and quoting aside), and where they first differ.
    pub(crate) fn differs(&self, other: &Table) -> Option<String> {
        for e in &self.values {
            match other.get(&e.key) {
                None => return Some(format!("{} = {} is missing", e.key, e.raw)),
                Some(o) if o.text != e.text => return Some(format!("{} = {}, not {}", e.key, o.raw, e.raw)),
                Some(_) => {}
            }
        }
        if let Some(extra) = other.values.iter().find(|o| self.get(&o.key).is_none()) {
            return Some(format!("{} = {} is not in the original", extra.key, extra.raw));
        }
        let names = |t: &Table| t.tables.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>();
        let (mine, theirs) = (names(self), names(other));
        if mine.iter().any(|k| !theirs.contains(k)) || theirs.iter().any(|k| !mine.contains(k)) {
            return Some(format!("its tables are {theirs:?}, not {mine:?}"));
        }
        for (key, sub) in &self.tables {
            let o = other.tables.iter().find(|(k, _)| k == key).map(|(_, t)| t).unwrap_or(sub);
            if let Some(why) = sub.differs(o) {
                return Some(format!("{}.{why}", key_text(key)));
            }
        }
        None
    }
}

/// Every key of a TOML text, named in full (`a.b.key`), with its value as
/// written and as compared (`Entry`); a table is an entry of its own, its
/// value `[table]`, so that one added or removed is seen too.
pub(crate) fn flat(text: &str) -> Result<Vec<Entry>, ConfigError> {
    let doc = parse(text)?.doc;
    let mut out = Vec::new();
    Table::read(&doc, doc.as_item(), "")?.flatten("", &mut out);
    Ok(out)
}

impl Table {
    fn flatten(&self, at: &str, out: &mut Vec<Entry>) {
        let name = |key: &str| match at {
            "" => key_text(key),
            _ => format!("{at}.{}", key_text(key)),
        };
        for e in &self.values {
            out.push(Entry { key: name(&e.key), ..e.clone() });
        }
        for (key, sub) in &self.tables {
            out.push(Entry { key: name(key), raw: "[table]".into(), text: "[table]".into() });
            sub.flatten(&name(key), out);
        }
    }
}

/// A value as compared: strings by their contents, arrays item by item,
/// anything else as written.
fn text(doc: &Document<String>, v: &Value) -> String {
    match v {
        Value::String(s) => quoted(s.value()),
        Value::Array(a) => format!("[{}]", a.iter().map(|v| text(doc, v)).collect::<Vec<_>>().join(", ")),
        other => raw(doc, other.span()),
    }
}

/// A TOML key as text: bare when it can be, else a basic string.
pub(crate) fn key_text(key: &str) -> String {
    let bare = !key.is_empty() && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if bare {
        key.to_owned()
    } else {
        quoted(key)
    }
}

/// A TOML basic string (`"..."`). A JSON string is one, as TOML's escapes
/// are JSON's, except that TOML also wants DEL escaped.
pub(crate) fn quoted(s: &str) -> String {
    crate::json::json_text(&s.into()).replace('\u{7f}', "\\u007F")
}

/// Where the line holding byte `at` of `text` starts.
pub(crate) fn line_start(text: &str, at: usize) -> usize {
    text[..at].rfind('\n').map_or(0, |i| i + 1)
}
