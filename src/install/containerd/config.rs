//! containerd's configuration as text: which shape a `config.toml` has,
//! the one block install adds to a version 1 or 2 file, the drop-in and
//! `imports` entry of a version 3 file, and finding and taking them out
//! again. (The rule a `config dump` after install must keep is `dump`'s.)
//!
//! Pure: plain functions over strings. toml_edit only reads (values, and
//! where they are in the text); the operator's text is never re-serialised:
//! install inserts and removes whole lines of its own and nothing else.
//! Facts about containerd's format are data here, each with its source
//! (FINDINGS means the measurements of containerd 1.6.20 in the issue's
//! research, kept with the tests). This module must never run containerd
//! or touch a file.

use std::fmt;
use std::ops::Range;

use toml_edit::{Document, Item, Value};

/// The first line of a drop-in install writes (version 3, and the
/// `conf.d` drop-in of earlier versions of install): how uninstall, with no
/// record to go by, recognises a file as ours.
pub(crate) const HEADER: &str = "# Written by `oci-add-hooks install`; `oci-add-hooks uninstall` removes it.";
/// The file install creates when there is no config.toml: containerd's
/// built-in defaults plus the block (a block in a file without `version`
/// would be read as version 1, FINDINGS 1f).
pub(crate) const CREATED: &str = "version = 2\n";
/// The runc shim's runtime type; `BinaryName` is one of its options.
const RUNC_V2: &str = "io.containerd.runc.v2";

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
    fn cri(self) -> &'static str {
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

fn err(field: impl Into<String>, why: impl Into<String>) -> ConfigError {
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

    /// `plugins.<cri>.containerd`, the CRI plugin's container settings.
    fn cri_containerd(&self) -> Option<&Item> {
        self.doc.get("plugins")?.get(self.version.cri())?.get("containerd")
    }

    /// Whether the CRI's plugins are there: a dump of a config that
    /// disables one has no section for it (FINDINGS 1g).
    fn has_cri(&self) -> bool {
        let plugins = self.doc.get("plugins");
        self.version.cri_plugins().iter().all(|name| plugins.and_then(|p| p.get(name)).is_some())
    }

    /// Whether `disabled_plugins` disables the CRI.
    pub(crate) fn cri_disabled(&self) -> bool {
        let names = self.doc.get("disabled_plugins").and_then(Item::as_array);
        names.is_some_and(|a| a.iter().any(|v| v.as_str().is_some_and(|s| self.version.cri_plugins().contains(&s))))
    }

    /// `default_runtime_name`, if the config sets it.
    fn default_runtime_name(&self) -> Option<&str> {
        self.cri_containerd()?.get("default_runtime_name")?.as_str()
    }

    /// The runtimes the config declares.
    fn runtimes(&self) -> Vec<&str> {
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
    fn runtime_type<'t>(&self, table: &'t Table) -> Option<&'t str> {
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
            let at = format!("{field}.{}", key_text(key));
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

    /// Sets `key` to the TOML value `raw` (its compared form `text`), in its
    /// place or last.
    fn set(&mut self, key: &str, raw: String, text: String) {
        match self.values.iter_mut().find(|e| e.key == key) {
            Some(e) => (e.raw, e.text) = (raw, text),
            None => self.values.push(Entry { key: key.to_owned(), raw, text }),
        }
    }

    /// The table `key` below this one, made if it is not there.
    fn table_mut(&mut self, key: &str) -> &mut Table {
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
    fn write(&self, out: &mut String, header: &str, depth: usize) {
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

/// What install declares: runtime `runtime`, whose runc shim runs `binary`.
pub(crate) struct Want<'a> {
    pub(crate) runtime: &'a str,
    pub(crate) binary: &'a str,
    /// containerd's `pod_annotations` for the runtime.
    pub(crate) pod_annotations: &'a [String],
}

/// What a configuration needs, worked out from the file (`file`, without
/// any block of ours) and the host's containerd's dump of it (`dump`).
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Plan {
    /// The CRI is off (`disabled_plugins`): nothing to declare.
    CriDisabled,
    /// The text to add: a block (versions 1 and 2) or a drop-in (3).
    Add {
        text: String,
        /// The runtime whose table was copied, and whether the text
        /// declares it too.
        default: String,
        declares_default: bool,
    },
}

/// Works out what to add for `want`: the default runtime's whole table as
/// containerd dumps it (every key this release has, its defaults filled
/// in), copied under the new runtime's name with the shim as `BinaryName`
/// and `pod_annotations` as given. Without a dump (the host's containerd
/// could not be run) only a disabled CRI can be told from the file; any
/// other plan would be a guess at the runtimes this release has built in,
/// so it is `None` and the caller refuses.
pub(crate) fn plan(file: &Config, dump: Option<&Config>, want: &Want) -> Result<Option<Plan>, ConfigError> {
    let v = file.version;
    let Some(dump) = dump else { return Ok(file.cri_disabled().then_some(Plan::CriDisabled)) };
    if !dump.has_cri() {
        return Ok(Some(Plan::CriDisabled));
    }
    let prefix = format!("plugins.{}.containerd", key_text(v.cri()));
    let declared = file.runtimes();
    if declared.contains(&want.runtime) {
        return Err(err(
            format!("{prefix}.runtimes.{}", key_text(want.runtime)),
            "already declared, and not by install: not touched; remove it, or give --runtime-name another name",
        ));
    }
    let dump_prefix = format!("plugins.{}.containerd", key_text(dump.version.cri()));
    let default = dump.default_runtime_name().unwrap_or_default().to_owned();
    if default == want.runtime {
        return Err(err(
            format!("{prefix}.default_runtime_name"),
            format!("{default:?} is the runtime install would declare: give --runtime-name another name"),
        ));
    }
    let table = dump.runtime(&default)?.ok_or_else(|| {
        err(
            format!("{dump_prefix}.default_runtime_name"),
            format!(
                "{default:?} names no runtime in containerd's own config dump, so its CRI plugin does not load with \
                 this configuration (FINDINGS: \"no corresponding runtime configured\"); fix it first"
            ),
        )
    })?;
    if let Some(t) = dump.runtime_type(&table).filter(|t| *t != quoted(RUNC_V2)) {
        return Err(err(
            format!("{dump_prefix}.runtimes.{}.runtime_type", key_text(&default)),
            format!(
                "{t}: the default runtime is not the runc shim ({RUNC_V2:?}), so the shim cannot stand in for it \
                 as runc's BinaryName"
            ),
        ));
    }
    // Declaring a runtime drops 1.x's built-in list (FINDINGS 1b): a file
    // that declares none gets the default too, exactly as dumped. (2.x
    // merges deeply, and gets the same table again: nothing changes.)
    let declares_default = v != Version::V3 && declared.is_empty();
    let mut text = String::new();
    match v {
        Version::V3 => {
            // `version = 3`, the root's own: containerd 2.3.0 to 2.3.4 refuse
            // an import whose version is above the root file's (containerd
            // PR 12891), and this drop-in is imported by version 3 roots only.
            text.push_str(HEADER);
            text.push('\n');
            text.push_str(&format!(
                "# Runtime {} (a RuntimeClass handler): runtime {default} as containerd has it, through the shim.\n\
                 # containerd 2.x merges this file into config.toml, which imports it.\n\
                 version = 3\n\n",
                want.runtime
            ));
        }
        _ => {
            text.push_str(&begin(want.runtime));
            text.push_str(&format!(
                "# Runtime {} (a RuntimeClass handler): runtime {default} as containerd has it, through the\n\
                 # shim. Edit outside this block: install rewrites it, uninstall removes it.\n",
                want.runtime
            ));
            if declares_default {
                text.push_str(&format!(
                    "# {default} as containerd has it built in: declaring any runtime replaces that list.\n"
                ));
                table.write(&mut text, &format!("{prefix}.runtimes.{}", key_text(&default)), 0);
            }
        }
    }
    for_shim(&table, want).write(&mut text, &format!("{prefix}.runtimes.{}", key_text(want.runtime)), 0);
    if v != Version::V3 {
        text.push_str(&end(want.runtime));
    }
    Ok(Some(Plan::Add { text, default, declares_default }))
}

/// The default runtime's table as the new runtime has it: the shim as
/// runc's `BinaryName`, and `pod_annotations` as given (none given: as
/// the default has them).
pub(crate) fn for_shim(default: &Table, want: &Want) -> Table {
    let mut table = default.clone();
    let binary = quoted(want.binary);
    table.table_mut("options").set("BinaryName", binary.clone(), binary);
    if !want.pod_annotations.is_empty() {
        let list = format!("[{}]", want.pod_annotations.iter().map(|s| quoted(s)).collect::<Vec<_>>().join(", "));
        table.set("pod_annotations", list.clone(), list);
    }
    table
}

/// The block's first line: uninstall finds the block by it and `end`.
fn begin(runtime: &str) -> String {
    format!("# BEGIN oci-add-hooks runtime {runtime}: written by `oci-add-hooks install`, removed by `oci-add-hooks uninstall`.\n")
}

fn end(runtime: &str) -> String {
    format!("# END oci-add-hooks runtime {runtime}\n")
}

/// Where install's text is, in a config.toml.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Found {
    /// The text install recorded, exactly.
    Recorded(Range<usize>),
    /// A block between install's BEGIN and END lines, edited since.
    Block(Range<usize>),
    /// No block, but the runtime's tables (uninstall only).
    Tables(Vec<Range<usize>>),
    Nothing,
}

/// Finds what install added to `text` for `runtime`: the recorded text if
/// it is there as it was written, else the block between its marker lines.
pub(crate) fn find_block(text: &str, recorded: Option<&str>, runtime: &str) -> Found {
    if let Some(r) = recorded.filter(|r| !r.is_empty()) {
        if let Some(at) = text.rfind(r) {
            return Found::Recorded(at..at + r.len());
        }
    }
    let (b, e) = (begin(runtime), end(runtime));
    let starts = line_starts(text);
    let Some(from) = starts.iter().copied().find(|&i| text[i..].starts_with(&b)) else { return Found::Nothing };
    match starts.iter().copied().find(|&i| i > from && text[i..].starts_with(&e)) {
        Some(to) => Found::Block(from..to + e.len().min(text.len() - to)),
        None => Found::Nothing,
    }
}

/// Finds runtime `runtime`'s tables in `config` when no block is left:
/// from each `[...]` header of the runtime or its sub-tables to the next
/// header, comment lines just above that one kept. A runtime declared
/// otherwise (inline, dotted keys) is refused: removing it would mean
/// editing the operator's own lines.
pub(crate) fn find_tables(config: &Config, runtime: &str) -> Result<Found, ConfigError> {
    let Some(item) = config.cri_containerd().and_then(|c| c.get("runtimes")).and_then(|r| r.get(runtime)) else {
        return Ok(Found::Nothing);
    };
    let text = config.doc.raw();
    let mut ours = Vec::new();
    if !collect_headers(item, &mut ours) {
        return Err(err(
            format!("plugins.{}.containerd.runtimes.{}", key_text(config.version.cri()), key_text(runtime)),
            "not declared as [tables], so not removed: remove it by hand",
        ));
    }
    let mut all = Vec::new();
    collect_headers(config.doc.as_item(), &mut all);
    // Each header in the file's order, and the one after it: a few tables
    // of a runtime among some dozens, so found by looking rather than by a
    // sort, another 3 KiB of code in a binary with a size budget.
    let next_after =
        |headers: &[usize], at: Option<usize>| headers.iter().copied().filter(|&h| at.is_none_or(|a| h > a)).min();
    let mut ranges: Vec<Range<usize>> = Vec::new();
    let mut at = None;
    while let Some(start) = next_after(&ours, at) {
        at = Some(start);
        let from = line_start(text, start);
        let next = next_after(&all, at).map_or(text.len(), |h| line_start(text, h));
        let to = keep_comments_above(text, from, next);
        match ranges.last_mut() {
            Some(last) if last.end == from => last.end = to,
            _ => ranges.push(from..to),
        }
    }
    Ok(Found::Tables(ranges))
}

/// Collects the header positions of `item` and every table below it;
/// false if a part is not a header table (an inline or dotted one).
fn collect_headers(item: &Item, out: &mut Vec<usize>) -> bool {
    match item {
        Item::Table(t) => {
            let mut ok = !t.is_dotted();
            if !t.is_implicit() {
                match t.span() {
                    Some(s) => out.push(s.start),
                    None => ok = false,
                }
            }
            for (_, child) in t.iter() {
                if !child.is_value() {
                    ok &= collect_headers(child, out);
                }
            }
            ok
        }
        Item::ArrayOfTables(a) => a.iter().all(|t| {
            out.extend(t.span().map(|s| s.start));
            t.iter().filter(|(_, c)| !c.is_value()).all(|(_, c)| collect_headers(c, out))
        }),
        _ => false,
    }
}

fn line_start(text: &str, at: usize) -> usize {
    text[..at].rfind('\n').map_or(0, |i| i + 1)
}

fn line_starts(text: &str) -> Vec<usize> {
    std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i + 1).filter(|&i| i < text.len())).collect()
}

/// `to`, moved up over the comment lines directly above it (they are the
/// next table's).
fn keep_comments_above(text: &str, from: usize, mut to: usize) -> usize {
    while to > from {
        let prev = line_start(text, to - 1);
        if !text[prev..to].trim_start().starts_with('#') {
            break;
        }
        to = prev;
    }
    to
}

/// `text` without the ranges of `found`.
pub(crate) fn remove(text: &str, found: &Found) -> String {
    let ranges = match found {
        Found::Recorded(r) | Found::Block(r) => std::slice::from_ref(r),
        Found::Tables(rs) => rs.as_slice(),
        Found::Nothing => &[],
    };
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for r in ranges {
        out.push_str(&text[at..r.start]);
        at = r.end;
    }
    out.push_str(&text[at..]);
    out
}

/// `base` with `block` put back where a block was (`at`, after the blank
/// lines `lead` that were inserted with it), or at the end after one blank
/// line; returns the text and what was inserted, to be recorded and removed
/// exactly.
pub(crate) fn insert(base: &str, at: Option<(usize, &str)>, block: &str) -> (String, String) {
    let (at, inserted) = match at {
        Some((at, lead)) if at < base.len() => (at, format!("{lead}{block}")),
        _ => {
            let sep = match base {
                "" => "",
                b if b.ends_with("\n\n") => "",
                b if b.ends_with('\n') => "\n",
                _ => "\n\n",
            };
            (base.len(), format!("{sep}{block}"))
        }
    };
    let mut text = String::with_capacity(base.len() + inserted.len());
    text.push_str(&base[..at]);
    text.push_str(&inserted);
    text.push_str(&base[at..]);
    (text, inserted)
}

/// Where `found` was in `text`, to put a new block back there: `None` at
/// the end; and the blank lines the recorded text began with.
pub(crate) fn place<'a>(text: &str, found: &Found, recorded: Option<&'a str>) -> Option<(usize, &'a str)> {
    match found {
        Found::Recorded(r) if r.end < text.len() => {
            let r_text = recorded.unwrap_or_default();
            Some((r.start, &r_text[..r_text.find("# BEGIN").unwrap_or(0)]))
        }
        Found::Block(r) if r.end < text.len() => Some((r.start, "")),
        _ => None,
    }
}

/// The `imports` entry install adds to a version 3 config.toml in
/// `config_dir`: every drop-in in its `conf.d`, as containerd 2.x's own
/// default config imports them (containerd PR 12323). A glob that matches
/// nothing is fine where a missing plain import is fatal (FINDINGS 1h), so
/// the entry stays harmless if the drop-in goes.
pub(crate) fn import_entry(config_dir: &str) -> String {
    format!("{}/conf.d/*.toml", config_dir.trim_end_matches('/'))
}

/// `text` (a version 3 config.toml in `config_dir`) with `entry` added to
/// its `imports`, or `None` if an entry there already imports `dropin`.
/// The entry goes after the last one, or a new `imports` line after the
/// `version` line.
pub(crate) fn add_import(
    text: &str,
    config_dir: &str,
    dropin: &str,
    entry: &str,
) -> Result<Option<String>, ConfigError> {
    let config = parse(text)?;
    let doc = &config.doc;
    let Some(imports) = doc.get("imports") else {
        let version = doc.get("version").and_then(Item::span).ok_or_else(|| err("version", "missing"))?;
        let eol = text[version.end..].find('\n').map_or(text.len(), |i| version.end + i + 1);
        let nl = if eol == text.len() && !text.ends_with('\n') { "\n" } else { "" };
        return Ok(Some(format!("{}{nl}imports = [{}]\n{}", &text[..eol], quoted(entry), &text[eol..])));
    };
    let list = imports.as_array().ok_or_else(|| err("imports", "must be an array of file names"))?;
    for v in list.iter() {
        let name = v.as_str().ok_or_else(|| err("imports", "must be an array of file names"))?;
        if imports_file(name, config_dir, dropin) {
            return Ok(None);
        }
    }
    let (at, add) = match list.iter().last().and_then(|v| v.span()) {
        Some(last) => (last.end, format!(", {}", quoted(entry))),
        None => {
            let open = imports.span().map(|s| s.start).ok_or_else(|| err("imports", "cannot be edited"))?;
            (open + 1, quoted(entry))
        }
    };
    Ok(Some(format!("{}{add}{}", &text[..at], &text[at..])))
}

/// `text` without the `imports` entry `entry` (and the line, if that was
/// all it held); `None` if it has no such entry.
pub(crate) fn remove_import(text: &str, entry: &str) -> Result<Option<String>, ConfigError> {
    let config = parse(text)?;
    let Some(imports) = config.doc.get("imports") else { return Ok(None) };
    let Some(list) = imports.as_array() else { return Ok(None) };
    let values: Vec<_> = list.iter().collect();
    let Some(i) = values.iter().position(|v| v.as_str() == Some(entry)) else { return Ok(None) };
    let span = values[i].span().ok_or_else(|| err("imports", "cannot be edited"))?;
    if values.len() == 1 {
        let line = format!("imports = [{}]\n", quoted(entry));
        let from = line_start(text, span.start);
        if text[from..].starts_with(&line) {
            return Ok(Some(format!("{}{}", &text[..from], &text[from + line.len()..])));
        }
    }
    // With the comma before it (or, first, after it) and the space between.
    let range = match i {
        0 => match values.get(1).and_then(|v| v.span()) {
            Some(next) => span.start..next.start,
            None => span,
        },
        _ => values[i - 1].span().map_or(span.start, |p| p.end)..span.end,
    };
    Ok(Some(format!("{}{}", &text[..range.start], &text[range.end..])))
}

/// Whether the `imports` entry `name` of a config in `config_dir` imports
/// the file `dropin`. containerd resolves a relative plain name against
/// the config's directory and a relative glob against its working
/// directory, `/` (FINDINGS 1h), and matches globs with Go's
/// `filepath.Match`; `[` classes are not worked out here (they count as no
/// match: an entry is then added, and containerd loads a file once).
fn imports_file(name: &str, config_dir: &str, dropin: &str) -> bool {
    let glob = name.contains(['*', '?', '[']);
    let full = match (name.starts_with('/'), glob) {
        (true, _) => name.to_owned(),
        (false, false) => format!("{}/{name}", config_dir.trim_end_matches('/')),
        (false, true) => format!("/{name}"),
    };
    !full.contains(['[', '\\']) && glob_match(full.as_bytes(), dropin.as_bytes())
}

/// Go's `filepath.Match` for `*` (no `/`) and `?`.
fn glob_match(p: &[u8], s: &[u8]) -> bool {
    match p.split_first() {
        None => s.is_empty(),
        Some((b'*', rest)) => {
            (0..=s.len()).take_while(|&i| i == 0 || s[i - 1] != b'/').any(|i| glob_match(rest, &s[i..]))
        }
        Some((b'?', rest)) => s.first().is_some_and(|&c| c != b'/') && glob_match(rest, &s[1..]),
        Some((c, rest)) => s.first() == Some(c) && glob_match(rest, &s[1..]),
    }
}

#[cfg(test)]
mod tests;
