//! The install record's JSON form both ways, and its rules per field.

use super::*;
use serde_json::json;

fn full() -> Record {
    Record {
        binary: Some("/usr/local/bin/oci-add-hooks".into()),
        hooks: vec!["/etc/oci-add-hooks/hooks.d/10-a.json".into()],
        crio: vec![CrioFiles {
            dir: "/usr/share/containers/oci/hooks.d".into(),
            files: vec!["0001-10-a-prestart-0.json".into()],
        }],
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
        containerd: Some(Containerd {
            config: "/etc/containerd/config.toml".into(),
            version: 2,
            runtime: "oci-add-hooks".into(),
            created_config: false,
            block: Some("\n# BEGIN oci-add-hooks runtime oci-add-hooks\n".into()),
            original_sha256: Some("ab".repeat(32)),
            dropin: None,
            imports_added: None,
        }),
        old_containerd_dropin: Some("/etc/containerd/conf.d/99-oci-add-hooks.toml".into()),
        restart_pending: Some(Pending { pid: 4242, start: 123_456 }),
    }
}

#[test]
fn a_pending_restart_is_read_back_and_a_bad_one_is_refused_by_field() {
    let text = String::from_utf8(full().to_bytes()).unwrap();
    assert!(
        text.contains("\"containerd-restart-pending\": {\n    \"pid\": 4242,\n    \"start\": 123456\n  }"),
        "{text}"
    );
    for (bad, field) in [
        (json!({"containerd-restart-pending": {"pid": -1, "start": 1}}), "containerd-restart-pending.pid"),
        (json!({"containerd-restart-pending": {"pid": 1}}), "containerd-restart-pending.start"),
        (json!({"containerd-restart-pending": 7}), "containerd-restart-pending"),
    ] {
        let err = Record::parse(bad.to_string().as_bytes()).unwrap_err();
        assert_eq!(err.field, field, "{err:?}");
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
    assert_eq!(u.crio, old.crio);
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

fn rules() -> [Rule; 8] {
    [
        Rule { field: "hooks", place: Place::In { dir: "/etc/oci-add-hooks/hooks.d".into(), suffix: ".json" } },
        Rule { field: "binary", place: Place::Named("oci-add-hooks") },
        Rule { field: "crio", place: Place::Suffix(".json") },
        Rule { field: "containerd.config", place: Place::Anywhere },
        Rule { field: "containerd.dropin", place: Place::Named("99-oci-add-hooks.toml") },
        Rule { field: "old-containerd-dropin", place: Place::Named("99-oci-add-hooks.toml") },
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
    let dropin = Record { old_containerd_dropin: Some("/etc/containerd/config.toml".into()), ..full() };
    assert!(e(dropin).starts_with(
        "old-containerd-dropin: \"/etc/containerd/config.toml\": not a path install writes here (a file called \
         99-oci-add-hooks.toml)"
    ));
    let dirs = Record { created_dirs: vec!["/var/../etc".into()], ..full() };
    assert!(e(dirs).starts_with("created-dirs[0]: \"/var/../etc\": not a path install writes here (an absolute path)"));
    // A field without a rule is refused, whatever it names.
    let only_binary = Record { binary: Some("/usr/local/bin/oci-add-hooks".into()), ..Record::default() };
    assert_eq!(
        only_binary.check(&rules()[..1]).unwrap_err().to_string(),
        "binary: \"/usr/local/bin/oci-add-hooks\": no rule says where install writes this field, so it is not \
         removed"
    );
}

/// An install from before config.toml was edited recorded its drop-in
/// as a string: the next run must still find it to remove it.
#[test]
fn the_old_containerd_dropin_record_is_read_as_a_file_to_remove() {
    let r = Record::parse(br#"{"containerd": "/etc/containerd/conf.d/99-oci-add-hooks.toml"}"#).unwrap();
    assert_eq!(r.containerd, None);
    assert_eq!(r.old_containerd_dropin.as_deref(), Some("/etc/containerd/conf.d/99-oci-add-hooks.toml"));
    assert_eq!(Record::parse(&r.to_bytes()).unwrap(), r);
    // The union keeps it until the run that removes it writes its record.
    let new = Record { containerd: full().containerd, ..Record::default() };
    assert_eq!(r.union(&new).old_containerd_dropin, r.old_containerd_dropin);
    assert_eq!(r.union(&new).containerd, new.containerd);
}

#[test]
fn union_of_crio_files_by_directory() {
    let files = |dir: &str, names: &[&str]| CrioFiles {
        dir: dir.into(),
        files: names.iter().map(|n| (*n).to_owned()).collect(),
    };
    let old = Record { crio: vec![files("/a", &["0001-x.json", "0002-y.json"])], ..Record::default() };
    let new = Record {
        crio: vec![files("/a", &["0001-y.json", "0002-x.json"]), files("/b", &["0001-z.json"])],
        ..Record::default()
    };
    assert_eq!(
        old.union(&new).crio,
        [files("/a", &["0001-x.json", "0002-y.json", "0001-y.json", "0002-x.json"]), files("/b", &["0001-z.json"])]
    );
    let paths: Vec<String> = new.crio.iter().flat_map(CrioFiles::paths).collect();
    assert_eq!(paths, ["/a/0001-y.json", "/a/0002-x.json", "/b/0001-z.json"]);
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
    // Uninstall removes what the record names: only hooks.d files.
    for (crio, want) in [
        (
            r#"{"hooks-dir": "/h", "files": ["../../etc/shadow.json"]}"#,
            "crio[0].files[0]: must be the name of a *.json file directly in hooks-dir",
        ),
        (
            r#"{"hooks-dir": "/h", "files": ["sshd_config"]}"#,
            "crio[0].files[0]: must be the name of a *.json file directly in hooks-dir",
        ),
        (
            r#"{"hooks-dir": "/h", "files": [".x.json"]}"#,
            "crio[0].files[0]: must be the name of a *.json file directly in hooks-dir",
        ),
        (r#"{"hooks-dir": "h", "files": []}"#, "crio[0].hooks-dir: must be an absolute path without .."),
        (r#"{"hooks-dir": "/etc/../h", "files": []}"#, "crio[0].hooks-dir: must be an absolute path without .."),
        (r#"{"files": []}"#, "crio[0].hooks-dir: missing"),
        (r#"{"hooks-dir": "/h", "files": "0001-a.json"}"#, "crio[0].files: must be an array of strings"),
        (r#""/h""#, "crio[0]: must be an object"),
    ] {
        assert_eq!(e(&format!(r#"{{"crio": [{crio}]}}"#)), want, "{crio}");
    }
    assert_eq!(e(r#"{"crio": {}}"#), "crio: must be an array");
    assert_eq!(e(r#"{"containerd": 1}"#), "containerd: must be an object or null");
    assert_eq!(e(r#"{"containerd": {"version": 4}}"#), "containerd.version: must be 1, 2 or 3");
    assert_eq!(e(r#"{"containerd": {"version": 2, "config": "/c"}}"#), "containerd.runtime: missing");
}
