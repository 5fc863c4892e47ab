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

use super::daemon_json::Previous;
use crate::args::VERSION_LINE;
use crate::json::write_json;

/// The record's file name, in the configuration directory.
pub(crate) const FILE_NAME: &str = "installed.json";

/// What one install put in place. Every path is a host path.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Record {
    pub(crate) binary: Option<String>,
    pub(crate) hooks: Vec<String>,
    /// Directories install created, parents first; uninstall removes those
    /// left empty, children first.
    pub(crate) created_dirs: Vec<String>,
    pub(crate) docker: Option<Docker>,
    pub(crate) containerd: Option<String>,
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

#[derive(Debug, PartialEq, Eq)]
pub(crate) struct RecordError {
    pub(crate) field: String,
    pub(crate) why: String,
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.why)
    }
}

/// Where the paths of one field of the record may be: what install could
/// have written there. A field added to the record adds its rule (CRI-O's
/// hook files: `Place::In` its hooks directory; containerd's config.toml:
/// `Place::Exactly`); a field without one is refused.
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
    /// This path and no other: a drop-in.
    Exactly(String),
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
            Place::Exactly(p) => path == p,
            Place::Anywhere => true,
        }
    }
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Place::In { dir, suffix } => write!(f, "a *{suffix} file directly in {dir}"),
            Place::Named(name) => write!(f, "a file called {name}"),
            Place::Exactly(path) => write!(f, "{path} itself"),
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
    fn paths(&self) -> Vec<(String, &'static str, &str)> {
        let mut out = Vec::new();
        for (rule, paths) in [("hooks", &self.hooks), ("created-dirs", &self.created_dirs)] {
            out.extend(paths.iter().enumerate().map(|(i, p)| (format!("{rule}[{i}]"), rule, p.as_str())));
        }
        let one = [("binary", &self.binary), ("containerd", &self.containerd)];
        out.extend(one.iter().filter_map(|(f, p)| p.as_deref().map(|p| (f.to_string(), *f, p))));
        if let Some(d) = &self.docker {
            out.push(("docker.config".into(), "docker.config", d.config.as_str()));
        }
        out
    }

    /// Refuses a path that no rule of its field allows: each is one install
    /// could have written, or nothing is removed.
    pub(crate) fn check(&self, rules: &[Rule]) -> Result<(), RecordError> {
        for (field, rule, path) in self.paths() {
            let place = rules.iter().find(|r| r.field == rule).map(|r| &r.place);
            let why = match place {
                None => format!("{path:?}: no rule says where install writes this field, so it is not removed"),
                Some(place) if !is_clean(path) || !place.allows(path) => {
                    format!("{path:?}: not a path install writes here ({place}), so uninstall will not remove it")
                }
                Some(_) => continue,
            };
            return Err(RecordError { field, why });
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
        add(&mut out.created_dirs, &other.created_dirs);
        match (&out.docker, &other.docker) {
            (Some(d), Some(o)) if d.config != o.config || d.runtime != o.runtime => {}
            (_, Some(_)) => out.docker.clone_from(&other.docker),
            (_, None) => {}
        }
        if out.containerd.is_none() {
            out.containerd.clone_from(&other.containerd);
        }
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
            ("created-dirs", self.created_dirs.clone().into()),
            ("docker", docker.into()),
            ("containerd", self.containerd.clone().into()),
        ]);
        let mut out = Vec::new();
        write_json(&mut out, &doc, Some(b"  "));
        out.push(b'\n');
        out
    }

    pub(crate) fn parse(bytes: &[u8]) -> Result<Record, RecordError> {
        let err = |field: &str, why: &str| RecordError { field: field.into(), why: why.into() };
        let doc: Value =
            serde_json::from_slice(bytes).map_err(|e| err("(top level)", &format!("not valid JSON: {e}")))?;
        let top = doc.as_object().ok_or_else(|| err("(top level)", "must be a JSON object"))?;
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
            Some(_) => return Err(err("docker", "must be an object or null")),
        };
        Ok(Record {
            binary: opt_string(top, "binary")?,
            hooks: strings(top, "hooks")?,
            created_dirs: strings(top, "created-dirs")?,
            docker,
            containerd: opt_string(top, "containerd")?,
        })
    }
}

/// The last part of a dotted field name: the key in its object.
fn key(field: &str) -> &str {
    field.rsplit('.').next().unwrap_or(field)
}

fn string(obj: &Map<String, Value>, field: &str) -> Result<String, RecordError> {
    opt_string(obj, field)?.ok_or_else(|| RecordError { field: field.into(), why: "missing".into() })
}

fn opt_string(obj: &Map<String, Value>, field: &str) -> Result<Option<String>, RecordError> {
    match obj.get(key(field)) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(RecordError { field: field.into(), why: "must be a string".into() }),
    }
}

fn boolean(obj: &Map<String, Value>, field: &str) -> Result<bool, RecordError> {
    match obj.get(key(field)) {
        None => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(RecordError { field: field.into(), why: "must be true or false".into() }),
    }
}

fn strings(obj: &Map<String, Value>, field: &str) -> Result<Vec<String>, RecordError> {
    let bad = || RecordError { field: field.into(), why: "must be an array of strings".into() };
    match obj.get(key(field)) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items.iter().map(|v| v.as_str().map(str::to_owned).ok_or_else(bad)).collect(),
        Some(_) => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn full() -> Record {
        Record {
            binary: Some("/usr/local/bin/oci-add-hooks".into()),
            hooks: vec!["/etc/oci-add-hooks/hooks.d/10-a.json".into()],
            created_dirs: vec!["/etc/oci-add-hooks".into(), "/etc/oci-add-hooks/hooks.d".into()],
            docker: Some(Docker {
                config: "/etc/docker/daemon.json".into(),
                runtime: "oci-add-hooks".into(),
                path: "/usr/local/bin/oci-add-hooks".into(),
                created_config: true,
                previous: Previous {
                    runtime: Some(json!({"path": "/old"})),
                    set_default: true,
                    default: Some(json!("runc")),
                },
            }),
            containerd: Some("/etc/containerd/conf.d/99-oci-add-hooks.toml".into()),
        }
    }

    #[test]
    fn round_trips() {
        for r in [full(), Record::default()] {
            assert_eq!(Record::parse(&r.to_bytes()).unwrap(), r);
        }
        assert!(Record::default().is_empty());
        assert!(!full().is_empty());
    }

    #[test]
    fn union_keeps_everything_either_holds() {
        let old = full();
        let new = Record {
            binary: Some("/opt/bin/oci-add-hooks".into()),
            hooks: vec!["/etc/oci-add-hooks/hooks.d/20-b.json".into()],
            ..Record::default()
        };
        let u = old.union(&new);
        assert_eq!(u.binary, old.binary);
        assert_eq!(u.hooks, ["/etc/oci-add-hooks/hooks.d/10-a.json", "/etc/oci-add-hooks/hooks.d/20-b.json"]);
        assert_eq!(u.docker, old.docker);
        assert_eq!(Record::default().union(&new), new);
        assert_eq!(old.union(&old), old);

        // The same registration, now with --set-default: the new entry, so
        // that a run that dies after the edit still knows the old default.
        let mut again = full();
        again.docker.as_mut().unwrap().previous =
            Previous { runtime: None, set_default: true, default: Some(json!("crun")) };
        assert_eq!(full().union(&again).docker, again.docker);
        // Another file or runtime: the old one, still to be undone.
        again.docker.as_mut().unwrap().runtime = "other".into();
        assert_eq!(full().union(&again).docker, full().docker);
    }

    fn rules() -> [Rule; 5] {
        [
            Rule { field: "hooks", place: Place::In { dir: "/etc/oci-add-hooks/hooks.d".into(), suffix: ".json" } },
            Rule { field: "binary", place: Place::Named("oci-add-hooks") },
            Rule { field: "containerd", place: Place::Exactly("/etc/containerd/conf.d/99-oci-add-hooks.toml".into()) },
            Rule { field: "created-dirs", place: Place::Anywhere },
            Rule { field: "docker.config", place: Place::Anywhere },
        ]
    }

    #[test]
    fn regression_uninstall_removed_any_path_the_record_named() {
        assert_eq!(full().check(&rules()), Ok(()));
        let e = |r: Record| r.check(&rules()).unwrap_err().to_string();
        let hook = |p: &str| Record { hooks: vec!["/etc/oci-add-hooks/hooks.d/10-a.json".into(), p.into()], ..full() };
        assert_eq!(
            e(hook("/etc/ssh/sshd_config")),
            "hooks[1]: \"/etc/ssh/sshd_config\": not a path install writes here (a *.json file directly in \
             /etc/oci-add-hooks/hooks.d), so uninstall will not remove it"
        );
        for bad in [
            "/etc/oci-add-hooks/hooks.d/sub/x.json",
            "/etc/oci-add-hooks/hooks.d/.json",
            "/etc/oci-add-hooks/hooks.d/../../ssh/x.json",
            "/etc/oci-add-hooks/hooks.d/./x.json",
            "etc/oci-add-hooks/hooks.d/x.json",
            "/etc/oci-add-hooks/hooks.d//x.json",
        ] {
            assert!(e(hook(bad)).starts_with("hooks[1]: "), "{bad}");
        }
        let binary = |p: &str| Record { binary: Some(p.into()), ..full() };
        assert_eq!(full().check(&rules()), binary("/opt/bin/oci-add-hooks").check(&rules()));
        assert!(e(binary("/usr/bin/sudo"))
            .starts_with("binary: \"/usr/bin/sudo\": not a path install writes here (a file called oci-add-hooks)"));
        let dropin = Record { containerd: Some("/etc/containerd/config.toml".into()), ..full() };
        assert!(e(dropin).contains("(/etc/containerd/conf.d/99-oci-add-hooks.toml itself)"));
        let dirs = Record { created_dirs: vec!["/var/../etc".into()], ..full() };
        assert!(
            e(dirs).starts_with("created-dirs[0]: \"/var/../etc\": not a path install writes here (an absolute path)")
        );
        // A field without a rule is refused, whatever it names.
        let only_binary = Record { binary: Some("/usr/local/bin/oci-add-hooks".into()), ..Record::default() };
        assert_eq!(
            only_binary.check(&rules()[..1]).unwrap_err().to_string(),
            "binary: \"/usr/local/bin/oci-add-hooks\": no rule says where install writes this field, so it is not \
             removed"
        );
    }

    #[test]
    fn errors_name_the_field() {
        let e = |t: &str| Record::parse(t.as_bytes()).unwrap_err().to_string();
        assert_eq!(e("{"), "(top level): not valid JSON: EOF while parsing an object at line 1 column 1");
        assert_eq!(e("[]"), "(top level): must be a JSON object");
        assert_eq!(e(r#"{"hooks": [1]}"#), "hooks: must be an array of strings");
        assert_eq!(e(r#"{"binary": 1}"#), "binary: must be a string");
        assert_eq!(e(r#"{"docker": {"config": "/c", "runtime": "r"}}"#), "docker.path: missing");
        assert_eq!(
            e(r#"{"docker": {"config": "/c", "runtime": "r", "path": "/p", "set-default": 1}}"#),
            "docker.set-default: must be true or false"
        );
    }
}
