//! The install record: what `install` put on a host, so that `uninstall`
//! removes exactly that, and a later `install` with other options removes
//! what it no longer wants.
//!
//! Owns the record's JSON form (`/etc/oci-add-hooks/installed.json`, paths
//! as the host sees them, so the record means the same whether install ran
//! on the host or in the installer image with the host under `/host`).
//! Pure: `install` reads and writes the file. It must never guess: a record
//! that does not parse is an error, not an empty record, and so is one that
//! names a path install could not have written (`check`, with a `Rule` per
//! field: uninstall removes what the record names).

use std::fmt;

use serde_json::{Map, Value};

use crate::args::VERSION_LINE;
use crate::json::{write_json, FieldError};

/// The record's file name, in the configuration directory.
pub(crate) const FILE_NAME: &str = "installed.json";

/// What one install put in place. Every path is a host path.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Record {
    pub(crate) binary: Option<String>,
    pub(crate) hooks: Vec<String>,
    /// The hooks.d files put where CRI-O reads them, by directory.
    pub(crate) crio: Vec<CrioFiles>,
    /// Directories install created, parents first; uninstall removes those
    /// left empty, children first.
    pub(crate) created_dirs: Vec<String>,
    pub(crate) docker: Option<Docker>,
    pub(crate) containerd: Option<Containerd>,
    /// The `conf.d` drop-in of an install from before containerd's
    /// config.toml was edited (the record's old `"containerd": PATH`), to
    /// be removed.
    pub(crate) old_containerd_dropin: Option<String>,
    /// A containerd restart owed: made durable before containerd's files
    /// are written, cleared once another containerd than this one serves.
    pub(crate) restart_pending: Option<Pending>,
}

/// The containerd that served the socket before install or uninstall
/// wrote containerd's files: it runs the files as they were, and any other
/// containerd serving since started after the write, so loaded them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Pending {
    pub(crate) pid: i32,
    /// `/proc/PID/stat`'s starttime (ticks after boot): with the pid, one
    /// process, where a pid alone may be reused. 0 with pid 0: none could
    /// be seen (restart none from another pid namespace).
    pub(crate) start: u64,
}

/// The runtime registered in a `daemon.json`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Docker {
    pub(crate) config: String,
    pub(crate) runtime: String,
    /// The entry's `path`: uninstall removes the entry only while it is this.
    pub(crate) path: String,
    /// install created the file; uninstall removes it if it is left empty.
    pub(crate) created_config: bool,
    pub(crate) previous: Previous,
}

/// What install found in `daemon.json` before its changes, to put back on uninstall.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Previous {
    /// The entry install replaced under our name, if any.
    pub(crate) runtime: Option<Value>,
    /// Whether install set `default-runtime`, and what it was before.
    pub(crate) set_default: bool,
    pub(crate) default: Option<Value>,
}

/// The runtime declared for containerd's CRI plugin.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Containerd {
    /// Its config.toml, and that file's `version`.
    pub(crate) config: String,
    pub(crate) version: i64,
    pub(crate) runtime: String,
    /// install created config.toml; uninstall removes it if nothing else
    /// was added to it.
    pub(crate) created_config: bool,
    /// The text added to config.toml (versions 1 and 2), exactly.
    pub(crate) block: Option<String>,
    /// sha256 of config.toml without the block: uninstall says whether it
    /// gave the file back as it was.
    pub(crate) original_sha256: Option<String>,
    /// The drop-in, and the `imports` entry added for it (version 3).
    pub(crate) dropin: Option<String>,
    pub(crate) imports_added: Option<String>,
}

/// Where the paths of one field of the record may be: what install could
/// have written there. A field added to the record adds its rule (CRI-O's
/// hook files: `Place::Suffix`; containerd's drop-in: `Place::Named`); a
/// field without one is refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Rule {
    pub(crate) field: &'static str,
    pub(crate) place: Place,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Place {
    /// A file directly in `dir` whose name ends in `suffix` (and is more
    /// than it): a hook file in hooks.d.
    In { dir: String, suffix: &'static str },
    /// A file called `name`, directly in whatever directory: the binary, in
    /// the bin dir of the install that put it there.
    Named(&'static str),
    /// A file whose name ends in `suffix` (and is more than it), in
    /// whatever directory: CRI-O's hook files, in the hooks directory CRI-O
    /// read when they were installed.
    Suffix(&'static str),
    /// Any path: a directory install created, removed only when empty, and
    /// the daemon.json it edited, of which only its own entry is undone.
    Anywhere,
}

impl Place {
    fn allows(&self, path: &str) -> bool {
        let (dir, name) = path.rsplit_once('/').unwrap_or_default();
        let dir = if dir.is_empty() { "/" } else { dir };
        match self {
            Place::In { dir: d, suffix } => dir == d && name.len() > suffix.len() && name.ends_with(suffix),
            Place::Named(n) => name == *n,
            Place::Suffix(suffix) => name.len() > suffix.len() && name.ends_with(suffix),
            Place::Anywhere => true,
        }
    }
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Place::In { dir, suffix } => write!(f, "a *{suffix} file directly in {dir}"),
            Place::Named(name) => write!(f, "a file called {name}"),
            Place::Suffix(suffix) => write!(f, "a *{suffix} file"),
            Place::Anywhere => f.write_str("an absolute path"),
        }
    }
}

/// An absolute path of plain components: no `.`, `..` or empty one.
fn is_clean(path: &str) -> bool {
    path.strip_prefix('/').is_some_and(|rest| rest.split('/').all(|c| !c.is_empty() && c != "." && c != ".."))
}

impl Record {
    /// Every path the record names that uninstall would remove or edit,
    /// with its field (`hooks[0]`) and the field's rule name (`hooks`).
    fn paths(&self) -> Vec<(String, &'static str, String)> {
        let mut out = Vec::new();
        let crio: Vec<String> = self.crio.iter().flat_map(CrioFiles::paths).collect();
        for (rule, paths) in [("hooks", &self.hooks), ("created-dirs", &self.created_dirs), ("crio", &crio)] {
            out.extend(paths.iter().enumerate().map(|(i, p)| (format!("{rule}[{i}]"), rule, p.clone())));
        }
        let containerd = self.containerd.as_ref();
        let one = [
            ("binary", self.binary.as_ref()),
            ("old-containerd-dropin", self.old_containerd_dropin.as_ref()),
            ("docker.config", self.docker.as_ref().map(|d| &d.config)),
            ("containerd.config", containerd.map(|c| &c.config)),
            ("containerd.dropin", containerd.and_then(|c| c.dropin.as_ref())),
        ];
        out.extend(one.into_iter().filter_map(|(f, p)| p.map(|p| (f.to_owned(), f, p.clone()))));
        out
    }

    /// Refuses a path that no rule of its field allows: each is one install
    /// could have written, or nothing is removed.
    pub(crate) fn check(&self, rules: &[Rule]) -> Result<(), FieldError> {
        for (field, rule, path) in self.paths() {
            let path = path.as_str();
            let place = rules.iter().find(|r| r.field == rule).map(|r| &r.place);
            let why = match place {
                None => format!("{path:?}: no rule says where install writes this field, so it is not removed"),
                Some(place) if !is_clean(path) || !place.allows(path) => {
                    format!("{path:?}: not a path install writes here ({place}), so uninstall will not remove it")
                }
                Some(_) => continue,
            };
            return Err(FieldError { field, why });
        }
        Ok(())
    }

    pub(crate) fn is_empty(&self) -> bool {
        *self == Record::default()
    }

    /// Everything either record holds: what may be on the host while an
    /// install moves from one to the other. The docker entry is `other`'s
    /// when both have one, unless they name different files or runtimes,
    /// in which case `self`'s is kept (it is the one still to be undone).
    pub(crate) fn union(&self, other: &Record) -> Record {
        let mut out = self.clone();
        let add = |list: &mut Vec<String>, more: &[String]| {
            for m in more {
                if !list.contains(m) {
                    list.push(m.clone());
                }
            }
        };
        if out.binary.is_none() {
            out.binary.clone_from(&other.binary);
        }
        add(&mut out.hooks, &other.hooks);
        for c in &other.crio {
            match out.crio.iter_mut().find(|o| o.dir == c.dir) {
                Some(o) => add(&mut o.files, &c.files),
                None => out.crio.push(c.clone()),
            }
        }
        add(&mut out.created_dirs, &other.created_dirs);
        match (&out.docker, &other.docker) {
            (Some(d), Some(o)) if d.config != o.config || d.runtime != o.runtime => {}
            (_, Some(_)) => out.docker.clone_from(&other.docker),
            (_, None) => {}
        }
        match (&out.containerd, &other.containerd) {
            (Some(c), Some(o)) if c.config != o.config || c.runtime != o.runtime => {}
            (_, Some(_)) => out.containerd.clone_from(&other.containerd),
            (_, None) => {}
        }
        if out.old_containerd_dropin.is_none() {
            out.old_containerd_dropin.clone_from(&other.old_containerd_dropin);
        }
        out.restart_pending = self.restart_pending.or(other.restart_pending);
        out
    }

    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        // Built with `Value::from` rather than `json!`, which goes through
        // `serde_json::to_value` and links a serializer into `Value` for
        // this alone.
        let object =
            |members: Vec<(&str, Value)>| Value::Object(members.into_iter().map(|(k, v)| (k.to_owned(), v)).collect());
        let docker = self.docker.as_ref().map(|d| {
            object(vec![
                ("config", d.config.clone().into()),
                ("runtime", d.runtime.clone().into()),
                ("path", d.path.clone().into()),
                ("created-config", d.created_config.into()),
                ("replaced-runtime", d.previous.runtime.clone().into()),
                ("set-default", d.previous.set_default.into()),
                ("previous-default", d.previous.default.clone().into()),
            ])
        });
        let doc = object(vec![
            ("installed-by", VERSION_LINE.into()),
            ("binary", self.binary.clone().into()),
            ("hooks", self.hooks.clone().into()),
            ("crio", self.crio.iter().map(CrioFiles::to_value).collect::<Vec<_>>().into()),
            ("created-dirs", self.created_dirs.clone().into()),
            ("docker", docker.into()),
            ("containerd", self.containerd.as_ref().map(containerd_json).into()),
            ("old-containerd-dropin", self.old_containerd_dropin.clone().into()),
            (
                "containerd-restart-pending",
                self.restart_pending.map(|p| object(vec![("pid", p.pid.into()), ("start", p.start.into())])).into(),
            ),
        ]);
        let mut out = Vec::new();
        write_json(&mut out, &doc, Some(b"  "));
        out.push(b'\n');
        out
    }

    pub(crate) fn parse(bytes: &[u8]) -> Result<Record, FieldError> {
        let doc: Value = serde_json::from_slice(bytes)
            .map_err(|e| FieldError::new("(top level)", format!("not valid JSON: {e}")))?;
        let top = doc.as_object().ok_or_else(|| FieldError::new("(top level)", "must be a JSON object"))?;
        let docker = match top.get("docker") {
            None | Some(Value::Null) => None,
            Some(Value::Object(d)) => Some(Docker {
                config: string(d, "docker.config")?,
                runtime: string(d, "docker.runtime")?,
                path: string(d, "docker.path")?,
                created_config: boolean(d, "docker.created-config")?,
                previous: Previous {
                    runtime: d.get("replaced-runtime").filter(|v| !v.is_null()).cloned(),
                    set_default: boolean(d, "docker.set-default")?,
                    default: d.get("previous-default").filter(|v| !v.is_null()).cloned(),
                },
            }),
            Some(_) => return Err(FieldError::new("docker", "must be an object or null")),
        };
        // Before containerd's config.toml was edited, the record named the
        // drop-in install wrote: that file is ours to remove.
        let (containerd, legacy) = match top.get("containerd") {
            None | Some(Value::Null) => (None, None),
            Some(Value::String(s)) => (None, Some(s.clone())),
            Some(Value::Object(c)) => (Some(parse_containerd(c)?), None),
            Some(_) => return Err(FieldError::new("containerd", "must be an object or null")),
        };
        Ok(Record {
            binary: opt_string(top, "binary")?,
            hooks: strings(top, "hooks")?,
            crio: CrioFiles::parse_all(top)?,
            created_dirs: strings(top, "created-dirs")?,
            docker,
            containerd,
            old_containerd_dropin: opt_string(top, "old-containerd-dropin")?.or(legacy),
            restart_pending: pending(top)?,
        })
    }
}

/// The record's `containerd-restart-pending`: `{"pid": N, "start": T}`.
fn pending(top: &Map<String, Value>) -> Result<Option<Pending>, FieldError> {
    let field = "containerd-restart-pending";
    let p = match top.get(field) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Object(p)) => p,
        Some(_) => return Err(FieldError::new(field, "must be an object or null")),
    };
    let pid = p.get("pid").and_then(Value::as_i64).and_then(|n| i32::try_from(n).ok()).filter(|n| *n >= 0);
    let start = p.get("start").and_then(Value::as_u64);
    match (pid, start) {
        (Some(pid), Some(start)) => Ok(Some(Pending { pid, start })),
        (None, _) => {
            Err(FieldError::new("containerd-restart-pending.pid", "must be a pid (a whole number, 0 or more)"))
        }
        (_, None) => Err(FieldError::new("containerd-restart-pending.start", "must be a whole number, 0 or more")),
    }
}

fn containerd_json(c: &Containerd) -> Value {
    let members = [
        ("config", c.config.clone().into()),
        ("version", c.version.into()),
        ("runtime", c.runtime.clone().into()),
        ("created-config", c.created_config.into()),
        ("block", c.block.clone().into()),
        ("original-sha256", c.original_sha256.clone().into()),
        ("dropin", c.dropin.clone().into()),
        ("imports-added", c.imports_added.clone().into()),
    ];
    Value::Object(members.into_iter().map(|(k, v): (&str, Value)| (k.to_owned(), v)).collect())
}

fn parse_containerd(c: &Map<String, Value>) -> Result<Containerd, FieldError> {
    let version = match c.get("version").and_then(Value::as_i64) {
        Some(v @ 1..=3) => v,
        _ => return Err(FieldError::new("containerd.version", "must be 1, 2 or 3")),
    };
    Ok(Containerd {
        config: string(c, "containerd.config")?,
        version,
        runtime: string(c, "containerd.runtime")?,
        created_config: boolean(c, "containerd.created-config")?,
        block: opt_string(c, "containerd.block")?,
        original_sha256: opt_string(c, "containerd.original-sha256")?,
        dropin: opt_string(c, "containerd.dropin")?,
        imports_added: opt_string(c, "containerd.imports-added")?,
    })
}

/// Files install put into one directory CRI-O reads hook files from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CrioFiles {
    /// The directory, a host path.
    pub(crate) dir: String,
    /// Names of `*.json` files directly in it.
    pub(crate) files: Vec<String>,
}

impl CrioFiles {
    /// The host path of each file.
    pub(crate) fn paths(&self) -> impl Iterator<Item = String> + '_ {
        self.files.iter().map(|f| format!("{}/{f}", self.dir.trim_end_matches('/')))
    }

    fn to_value(&self) -> Value {
        Value::Object(
            [("hooks-dir".to_owned(), self.dir.clone().into()), ("files".to_owned(), self.files.clone().into())]
                .into_iter()
                .collect(),
        )
    }

    /// The record's `crio`, each entry checked so that uninstall can only
    /// ever remove a `*.json` file directly in an absolute directory, as
    /// install writes them.
    fn parse_all(top: &Map<String, Value>) -> Result<Vec<CrioFiles>, FieldError> {
        let err = |field: String, why: &str| FieldError { field, why: why.into() };
        let entries = match top.get("crio") {
            None | Some(Value::Null) => return Ok(Vec::new()),
            Some(Value::Array(entries)) => entries,
            Some(_) => return Err(err("crio".into(), "must be an array")),
        };
        let mut out = Vec::with_capacity(entries.len());
        for (i, entry) in entries.iter().enumerate() {
            let at = format!("crio[{i}]");
            let obj = entry.as_object().ok_or_else(|| err(at.clone(), "must be an object"))?;
            let dir = string(obj, &format!("{at}.hooks-dir"))?;
            if !dir.starts_with('/') || dir.split('/').any(|c| c == "..") {
                return Err(err(format!("{at}.hooks-dir"), "must be an absolute path without .."));
            }
            let files = strings(obj, &format!("{at}.files"))?;
            for (j, f) in files.iter().enumerate() {
                if f.contains('/') || f.starts_with('.') || !f.ends_with(".json") {
                    let why = "must be the name of a *.json file directly in hooks-dir";
                    return Err(err(format!("{at}.files[{j}]"), why));
                }
            }
            out.push(CrioFiles { dir, files });
        }
        Ok(out)
    }
}

/// The last part of a dotted field name: the key in its object.
fn key(field: &str) -> &str {
    field.rsplit('.').next().unwrap_or(field)
}

fn string(obj: &Map<String, Value>, field: &str) -> Result<String, FieldError> {
    opt_string(obj, field)?.ok_or_else(|| FieldError::new(field, "missing"))
}

fn opt_string(obj: &Map<String, Value>, field: &str) -> Result<Option<String>, FieldError> {
    match obj.get(key(field)) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(FieldError::new(field, "must be a string")),
    }
}

fn boolean(obj: &Map<String, Value>, field: &str) -> Result<bool, FieldError> {
    match obj.get(key(field)) {
        None => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(FieldError::new(field, "must be true or false")),
    }
}

fn strings(obj: &Map<String, Value>, field: &str) -> Result<Vec<String>, FieldError> {
    let bad = || FieldError::new(field, "must be an array of strings");
    match obj.get(key(field)) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items.iter().map(|v| v.as_str().map(str::to_owned).ok_or_else(bad)).collect(),
        Some(_) => Err(bad()),
    }
}

#[cfg(test)]
mod tests;
