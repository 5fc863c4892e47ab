//! What install adds to containerd's configuration, and finding and taking
//! it out again: the block of a version 1 or 2 `config.toml` (between
//! install's BEGIN and END lines) and the drop-in of version 3, each the
//! default runtime's whole table as containerd dumps it, under the new
//! runtime's name with the shim as runc's `BinaryName`.
//!
//! Pure: plain functions over strings. The operator's text is never
//! re-serialised: whole lines of install's own are inserted or removed,
//! nothing else. This module must never run containerd or touch a file.

use std::ops::Range;

use toml_edit::Item;

use super::config::{err, key_text, line_start, quoted, Config, ConfigError, Table, Version};

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
    let v = file.version();
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
    let dump_prefix = format!("plugins.{}.containerd", key_text(dump.version().cri()));
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
    let text = config.doc().raw();
    let mut ours = Vec::new();
    if !collect_headers(item, &mut ours) {
        return Err(err(
            format!("plugins.{}.containerd.runtimes.{}", key_text(config.version().cri()), key_text(runtime)),
            "not declared as [tables], so not removed: remove it by hand",
        ));
    }
    let mut all = Vec::new();
    collect_headers(config.doc().as_item(), &mut all);
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

#[cfg(test)]
mod tests;
