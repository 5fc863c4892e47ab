//! Differential tests against Go itself: the shim must read a spec as runc
//! does (Go's `encoding/json`) and a `when` pattern as podman and CRI-O do
//! (Go's `regexp`). The oracle is tests/go/oracle, a program of Go's
//! standard library only, built here with Debian's `golang-go` (`make
//! deps`), offline. Each test generates its corpus from a fixed seed, so a
//! failure names an input that fails again.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{json, Value};

use crate::util::*;

/// The oracle, built into a temp dir of its own (its Go build cache too).
pub struct Oracle {
    _dir: TempDir,
    bin: PathBuf,
}

impl Oracle {
    /// None (the test is skipped, or under CI=true fails) without `go`.
    pub fn build() -> Option<Oracle> {
        if !require(&["go"]) {
            return None;
        }
        let dir = TempDir::new("go-oracle");
        let bin = dir.join("oracle");
        let out = Command::new("go")
            .args(["build", "-o"])
            .arg(&bin)
            .arg(".")
            .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/go/oracle"))
            // Nothing from the machine's Go setup, nothing from the network,
            // and nothing written outside the temp dir.
            .env("GOENV", "off")
            .env("GOFLAGS", "-mod=mod")
            .env("GOPROXY", "off")
            .env("GOTOOLCHAIN", "local")
            .env("CGO_ENABLED", "0")
            .env("GOCACHE", dir.join("cache"))
            .env("GOPATH", dir.join("gopath"))
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(out.status.success(), "go build of the oracle: {}", stderr(&out));
        Some(Oracle { _dir: dir, bin })
    }

    /// One batch: `input` to `oracle MODE`, its answer.
    pub fn ask(&self, mode: &str, input: &Value) -> Value {
        let mut child = Command::new(&self.bin)
            .arg(mode)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(&serde_json::to_vec(input).unwrap()).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "oracle {mode}: {}", stderr(&out));
        serde_json::from_slice(&out.stdout).unwrap()
    }
}

/// A small deterministic generator (xorshift64*): no seed from the clock.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed | 1)
    }

    pub fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 33) as usize % n
    }

    pub fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Ways to write a field's key: the name, spellings Go folds onto it, and
/// look-alikes it does not (Go's oracle decides which is which).
fn spellings(name: &str) -> Vec<String> {
    let mut capital = name.to_owned();
    capital[..1].make_ascii_uppercase();
    let mut out = vec![
        name.to_owned(),
        name.to_ascii_uppercase(),
        capital,
        name.replace('k', "\u{212A}").replace('s', "\u{17F}"),
        name.replacen('s', "\u{17F}", 1).replacen('k', "\u{212A}", 1).to_ascii_uppercase(),
        format!("{name} "),
        name.replace('i', "\u{131}").replace('o', "\u{F6}"),
        format!("\u{FF41}{}", &name[1..]),
        name[..name.len() - 1].to_owned(),
    ];
    out.dedup();
    out
}

/// An object's keys for `name`: mostly the name once, sometimes not at
/// all, sometimes with other spellings beside it, in any order.
fn keys_for(rng: &mut Rng, name: &str, odd: usize) -> Vec<String> {
    let all = spellings(name);
    let mut keys = Vec::new();
    if rng.chance(85) {
        keys.push(name.to_owned());
    }
    if rng.chance(odd) {
        for _ in 0..1 + rng.below(2) {
            let k = rng.pick(&all).clone();
            keys.insert(rng.below(keys.len() + 1), k);
        }
    }
    keys
}

/// An object written member by member, so that keys may repeat.
fn object(members: &[(String, String)]) -> String {
    let inner: Vec<String> =
        members.iter().map(|(k, v)| format!("{}:{v}", serde_json::to_string(k).unwrap())).collect();
    format!("{{{}}}", inner.join(","))
}

/// The objects of one generated spec that the shim reads by field: where
/// each is, its keys and the fields it must find in them.
struct Read {
    at: String,
    keys: Vec<String>,
    names: &'static [&'static str],
}

/// One spec's text, and the objects in it that are read, nested ones only
/// where they are reached by their exact key.
fn generate(rng: &mut Rng) -> (String, Vec<Read>) {
    const TOP: &[&str] = &["hooks", "process", "annotations", "mounts"];
    const STAGES: &[&str] =
        &["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"];
    let mut read = Vec::new();
    let mut top = vec![("ociVersion".to_owned(), "\"1.0.2\"".to_owned())];
    let mut old = 0;
    for &field in TOP {
        if !rng.chance(80) {
            continue;
        }
        for key in keys_for(rng, field, 8) {
            let value = match field {
                "hooks" => {
                    let mut members = Vec::new();
                    for &stage in STAGES {
                        if !rng.chance(30) {
                            continue;
                        }
                        for k in keys_for(rng, stage, 25) {
                            let hooks: Vec<String> = (0..rng.below(3))
                                .map(|_| {
                                    old += 1;
                                    format!(r#"{{"path":"/old/{old}"}}"#)
                                })
                                .collect();
                            members.push((k, format!("[{}]", hooks.join(","))));
                        }
                    }
                    if key == "hooks" {
                        read.push(Read {
                            at: "hooks".into(),
                            keys: members.iter().map(|m| m.0.clone()).collect(),
                            names: STAGES,
                        });
                    }
                    object(&members)
                }
                "process" => {
                    let mut members = vec![("cwd".to_owned(), "\"/\"".to_owned())];
                    for k in keys_for(rng, "args", 25) {
                        let cmd = rng.pick(&["/bin/sh", "/bin/bash", "/sbin/init"]);
                        members.insert(rng.below(members.len() + 1), (k, format!(r#"["{cmd}","-c","true"]"#)));
                    }
                    if key == "process" {
                        read.push(Read {
                            at: "process".into(),
                            keys: members.iter().map(|m| m.0.clone()).collect(),
                            names: &["args"],
                        });
                    }
                    object(&members)
                }
                "annotations" => format!(r#"{{"gpu":"{}","x":"y"}}"#, rng.pick(&["0", "1"])),
                _ => {
                    let mut mounts = Vec::new();
                    for i in 0..rng.below(4) {
                        let mut members = vec![("destination".to_owned(), format!("\"/m{i}\""))];
                        for k in keys_for(rng, "type", 20) {
                            members.push((k, format!("\"{}\"", rng.pick(&["bind", "proc", "tmpfs"]))));
                        }
                        for k in keys_for(rng, "options", 20) {
                            members.push((
                                k,
                                rng.pick(&[r#"["rbind"]"#, r#"["ro"]"#, r#"["bind","ro"]"#, "[]"]).to_string(),
                            ));
                        }
                        if key == "mounts" {
                            read.push(Read {
                                at: format!("mounts[{i}]"),
                                keys: members.iter().map(|m| m.0.clone()).collect(),
                                names: &["type", "options"],
                            });
                        }
                        mounts.push(object(&members));
                    }
                    format!("[{}]", mounts.join(","))
                }
            };
            top.insert(rng.below(top.len() + 1), (key, value));
        }
    }
    read.insert(0, Read { at: String::new(), keys: top.iter().map(|m| m.0.clone()).collect(), names: TOP });
    (object(&top), read)
}

/// A hook file, its hook's path, and whether it applies to a spec as Go
/// decoded it.
type Conditioned = (PathBuf, &'static str, fn(&Value) -> bool);

/// The four hook files of the spec test, one per kind of condition, and
/// whether each applies to a container as Go decoded its spec.
fn conditioned_hooks(dir: &Path) -> Vec<Conditioned> {
    let file = |name: &str, path: &str, when: Value| {
        hook_file(dir, name, &json!({"version": "1.0.0", "hook": {"path": path}, "when": when, "stages": ["prestart"]}))
    };
    vec![
        (file("1.json", "/h/always", json!({"always": true})), "/h/always", |_| true),
        (file("2.json", "/h/sh", json!({"commands": ["^/bin/sh$"]})), "/h/sh", |s| {
            s["process"]["args"][0] == "/bin/sh"
        }),
        (file("3.json", "/h/gpu", json!({"annotations": {"^gpu$": "^1$"}})), "/h/gpu", |s| {
            s["annotations"]["gpu"] == "1"
        }),
        (file("4.json", "/h/bind", json!({"hasBindMounts": true})), "/h/bind", |s| {
            s["mounts"].as_array().is_some_and(|ms| {
                ms.iter().any(|m| {
                    m["type"] == "bind"
                        || m["options"].as_array().is_some_and(|o| o.iter().any(|o| o == "bind" || o == "rbind"))
                })
            })
        }),
    ]
}

/// Issue 20, item 1: over generated specs whose keys are the fields' names,
/// spellings Go folds onto them and look-alikes, the shim refuses exactly
/// the specs in which Go would fold two keys (or a key not spelt as the
/// field) onto a field the shim reads or writes; and every spec it takes,
/// runc then reads with the hooks the conditions chose, as Go decided
/// them, ahead of the old ones, and nothing else changed.
#[test]
fn the_shim_reads_and_writes_a_spec_as_gos_encoding_json_decodes_it() {
    let Some(go) = Oracle::build() else { return };
    let conf = TempDir::new("conf");
    let hooks = conditioned_hooks(conf.path());
    let mut rng = Rng::new(20);
    let corpus: Vec<(String, Vec<Read>)> = (0..300).map(|_| generate(&mut rng)).collect();

    // Which keys Go reads as which field, for every object that is read.
    let pairs: Vec<(String, &str)> = corpus
        .iter()
        .flat_map(|(_, read)| read.iter())
        .flat_map(|r| r.keys.iter().flat_map(|k| r.names.iter().map(move |n| (k.clone(), *n))))
        .collect();
    let folds = go.ask("fold", &json!(pairs));
    let folds: std::collections::HashMap<(String, &str), bool> =
        pairs.into_iter().zip(folds.as_array().unwrap().iter().map(|b| b.as_bool().unwrap())).collect();
    // The fields that are ambiguous: Go reads two keys of their object as
    // them, or reads one that another runtime would not.
    let ambiguous = |read: &[Read]| -> Vec<String> {
        let mut fields = Vec::new();
        for r in read {
            for &n in r.names {
                let matching: Vec<&String> = r.keys.iter().filter(|k| folds[&((*k).clone(), n)]).collect();
                if matching.len() > 1 || matching.first().is_some_and(|k| *k != n) {
                    fields.push(if r.at.is_empty() { n.to_owned() } else { format!("{}.{n}", r.at) });
                }
            }
        }
        fields
    };

    let texts: Vec<&String> = corpus.iter().map(|(t, _)| t).collect();
    let before = go.ask("spec", &json!(texts));
    let (mut refused, mut written) = (Vec::new(), Vec::new());
    let mut nested = 0;
    for ((text, read), go_before) in corpus.iter().zip(before.as_array().unwrap()) {
        let runtime = Recorder::new();
        let bundle = Bundle::with_config(text);
        let mut cmd = shim();
        for (file, _, _) in &hooks {
            cmd.arg("--hook-config-path").arg(file);
        }
        let out = create_with(&mut cmd, &runtime, &bundle);
        let fields = ambiguous(read);
        match fields.first() {
            Some(_) => {
                let why = stderr(&out);
                assert_eq!(out.status.code(), Some(1), "{text}: Go folds keys onto {fields:?}, and the shim took it");
                assert!(
                    fields.iter().any(|f| why.contains(&format!(": {f}: given "))),
                    "{text}: the message names one of {fields:?}: {why}"
                );
                assert_eq!(bundle.config_bytes(), text.as_bytes(), "{text}: refused, yet changed");
                assert!(!runtime.ran());
                nested += usize::from(fields.iter().any(|f| f.contains('.')));
                refused.push(text);
            }
            None => {
                assert!(out.status.success(), "{text}: Go reads it plainly, and the shim refused: {}", stderr(&out));
                let mut want = go_before["spec"].clone();
                assert!(want.is_object(), "{text}: Go could not decode it: {go_before}");
                let added: Vec<Value> =
                    hooks.iter().filter(|(_, _, applies)| applies(&want)).map(|(_, p, _)| json!({"path": p})).collect();
                let old = want["hooks"]["prestart"].as_array().cloned().unwrap_or_default();
                if want["hooks"].is_null() {
                    want["hooks"] = json!({});
                }
                want["hooks"]["prestart"] = Value::Array(added.into_iter().chain(old).collect());
                written.push((String::from_utf8(bundle.config_bytes()).unwrap(), want, text.clone()));
            }
        }
    }
    let outs: Vec<&String> = written.iter().map(|(out, _, _)| out).collect();
    let after = go.ask("spec", &json!(outs));
    for ((_, want, text), got) in written.iter().zip(after.as_array().unwrap()) {
        assert_eq!(&got["spec"], want, "runc's view of the shim's output for {text}");
    }
    // The corpus reaches both answers, and ambiguity below the top level.
    assert!(refused.len() > 30 && written.len() > 100, "{} refused, {} written", refused.len(), written.len());
    assert!(nested > 15, "{nested} refused for a field below the top level");
}

/// The patterns the README's examples give `when`, and those of
/// containers/common's oci-hooks(5) (the hooks.d man page podman and CRI-O
/// ship): `.*/init$`, `.*/systemd$`, and the nvidia example's key and value.
fn documented_patterns() -> Vec<String> {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let mut out: Vec<String> =
        [".*/init$", ".*/systemd$", r"^com\.example\.department$", ".*fluid-dynamics$"].map(String::from).into();
    for line in readme.lines() {
        let Some(at) = line.find("\"when\":") else { continue };
        let text = &line[at + 7..];
        let when: Value = serde_json::Deserializer::from_str(text).into_iter().next().unwrap().unwrap();
        for (k, v) in when["annotations"].as_object().into_iter().flatten() {
            out.extend([k.clone(), v.as_str().unwrap().to_owned()]);
        }
        out.extend(when["commands"].as_array().into_iter().flatten().map(|c| c.as_str().unwrap().to_owned()));
    }
    assert!(out.len() > 4, "the README's when examples were not found");
    out
}

/// Tokens that generated patterns are made of: Go's syntax, what only
/// regex-lite or PCRE take, and what neither does.
const TOKENS: &[&str] = &[
    "a",
    "b",
    "k",
    "s",
    "K",
    "S",
    "\u{212A}",
    "\u{17F}",
    "é",
    "<",
    "/",
    ".",
    "^",
    "$",
    r"\d",
    r"\D",
    r"\s",
    r"\S",
    r"\w",
    r"\W",
    r"\b",
    r"\B",
    r"\A",
    r"\z",
    r"\Z",
    r"\<",
    r"\>",
    r"\_",
    r"\.",
    r"\-",
    r"\ ",
    r"\Q",
    r"\E",
    r"\Qa.*\E",
    "(",
    ")",
    "(?:",
    "(?i)",
    "(?i:",
    "(?-i)",
    "(?m)",
    "(?s)",
    "(?U)",
    "(?x)",
    "(?R)",
    "(?u)",
    "(?)",
    "(?-)",
    "(?i-s)",
    "(?P<n>",
    "(?<n>",
    "(?P=n)",
    "|",
    "*",
    "+",
    "?",
    "*?",
    "{2}",
    "{1,3}",
    "{2,}",
    "{,2}",
    "{01}",
    "{1001}",
    "{1000}",
    "{2,1}",
    "{",
    "}",
    "[a-c]",
    "[^a]",
    "[^\\n]",
    "[[:alpha:]]",
    "[[:^space:]]",
    "[[:foo:]]",
    "[\\d_]",
    "[\\b]",
    "[a-]",
    "[]a]",
    "[^]a]",
    "[z-a]",
    "[",
    "]",
    "[\\pN]",
    "[\\p{Any}]",
    "[K-k]",
    "[\\x{212A}]",
    r"\x41",
    r"\x{212A}",
    r"\x{110000}",
    r"\x{}",
    r"\x4",
    r"\101",
    r"\0",
    r"\012",
    r"\1",
    r"\8",
    r"\pN",
    r"\p{Any}",
    r"\P{Any}",
    r"\p{^Any}",
    r"\p{Greek}",
    r"\pL",
    r"\p{Foo}",
    r"\C",
    r"\e",
    r"\n",
    r"\v",
    r"\t",
    r"\f",
    r"\a",
    "\\",
    " ",
    "-",
];

/// Texts every pattern is matched against.
const TEXTS: &[&str] = &[
    "",
    "a",
    "ab",
    "aab",
    "b",
    "A",
    "k",
    "K",
    "\u{212A}",
    "s",
    "S",
    "\u{17F}",
    "\n",
    "a\nb",
    "ab\n",
    "\u{B}",
    "\u{C}",
    " ",
    "\t",
    "_",
    "<",
    "<sh",
    "/bin/sh",
    "/sbin/init",
    "sh",
    "1",
    "12",
    "é",
    "É",
    "{",
    "}",
    "a{2}",
    "aa",
    "aaa",
    "x.y",
    ".",
    "-",
    "]",
    "[",
    "\\",
    "\u{0}",
    "\u{7}",
    "\u{1B}",
    "Aa.*",
    "a.*",
    "\u{3C2}\u{3A3}",
];

/// Issue 20, item 2: `when` patterns compile exactly when Go's
/// `regexp.Compile` takes them, and match exactly when
/// `regexp.MatchString` does: over the documented patterns, the issue's
/// own cases and generated ones, against texts chosen to tell the
/// dialects apart. The one difference, listed and kept: a Unicode class
/// (`\pN`, `\p{Greek}`; all but `\p{Any}`) is refused, since the binary has
/// no Unicode tables.
#[test]
fn when_patterns_compile_and_match_as_gos_regexp() {
    let Some(go) = Oracle::build() else { return };
    let mut patterns = documented_patterns();
    patterns.extend(
        [r"(?x)a", "a{1001}", "(?R)", "a**", r"\pN", r"\Q.\E", r"\<sh", r"(?i)k", r"(?i)s", r"\s", r"(?P<a>x)(?P<a>y)"]
            .map(String::from),
    );
    let mut rng = Rng::new(2);
    for _ in 0..4000 {
        let n = 1 + rng.below(5);
        patterns.push((0..n).map(|_| *rng.pick(TOKENS)).collect());
    }
    let cases: Vec<Value> = patterns.iter().map(|p| json!({"pattern": p, "texts": TEXTS})).collect();
    let answers = go.ask("regexp", &json!(cases));
    let (mut compiled, mut refused, mut unicode) = (0, 0, 0);
    for (pattern, answer) in patterns.iter().zip(answers.as_array().unwrap()) {
        let ours: Vec<Result<bool, String>> =
            TEXTS.iter().map(|t| oci_add_hooks::go_regexp_match(pattern, t)).collect();
        match (&answer["error"], &ours[0]) {
            (Value::String(go_err), Ok(_)) => panic!("{pattern:?}: Go refuses it ({go_err}), the shim takes it"),
            (Value::String(_), Err(_)) => refused += 1,
            (_, Err(e)) if e.contains("a Unicode class") => {
                assert!(pattern.contains(r"\p") || pattern.contains(r"\P"), "{pattern:?}: {e}");
                unicode += 1;
            }
            (_, Err(e)) => panic!("{pattern:?}: Go takes it, the shim refuses it: {e}"),
            (_, Ok(_)) => {
                let go_matches = answer["matches"].as_array().unwrap();
                for ((text, got), want) in TEXTS.iter().zip(&ours).zip(go_matches) {
                    assert_eq!(got.as_ref().ok(), want.as_bool().as_ref(), "{pattern:?} on {text:?}");
                }
                compiled += 1;
            }
        }
    }
    // The corpus reaches every answer.
    assert!(
        compiled > 800 && refused > 800 && unicode > 20,
        "{compiled} compiled, {refused} refused, {unicode} unicode"
    );
}

/// `(?i)` folds as Go does, over every code point Go folds: each member of
/// each of Go's orbits matches every member, and no other character that
/// the standard library's case mappings give; and the code points only a
/// later Unicode folds match only themselves.
#[test]
fn case_insensitive_patterns_fold_as_gos_regexp() {
    let Some(go) = Oracle::build() else { return };
    let orbits = go.ask("orbits", &Value::Null);
    let orbits: Vec<Vec<char>> = orbits
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o.as_array().unwrap().iter().map(|c| char::from_u32(c.as_u64().unwrap() as u32).unwrap()).collect())
        .collect();
    assert!(orbits.len() > 1000, "{} orbits", orbits.len());
    let in_orbit: std::collections::HashMap<char, &Vec<char>> =
        orbits.iter().flat_map(|o| o.iter().map(move |c| (*c, o))).collect();
    let mapped = |c: char| -> Vec<char> { c.to_lowercase().chain(c.to_uppercase()).filter(|m| *m != c).collect() };
    // Every folding character, and every character std maps that Go does not fold.
    let mut chars: Vec<char> = in_orbit.keys().copied().collect();
    chars.extend(
        (0..=0x10FFFFu32).filter_map(char::from_u32).filter(|c| !in_orbit.contains_key(c) && !mapped(*c).is_empty()),
    );
    for c in chars {
        let pattern = format!("(?i)^\\x{{{:X}}}$", c as u32);
        let alone = vec![c];
        let orbit = in_orbit.get(&c).copied().unwrap_or(&alone);
        for t in orbit.iter().copied().chain(mapped(c)) {
            let want = orbit.contains(&t);
            let got = oci_add_hooks::go_regexp_match(&pattern, &t.to_string()).unwrap();
            assert_eq!(got, want, "(?i)U+{:04X} on U+{:04X}", c as u32, t as u32);
        }
    }
}
