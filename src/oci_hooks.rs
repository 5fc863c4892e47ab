//! The shim's hook configuration as the hooks.d files CRI-O and podman read
//! themselves (oci-hooks(5)), so that on those engines the same hooks run,
//! for the same containers, in the same order, with no shim at all.
//!
//! Owns the conversion and the files' names. Pure: it is handed the parsed
//! hook files in the order the shim applies them and returns each file's
//! name and bytes; `install --crio` writes them and `validate --engine crio`
//! prints them. It must never read or write a file.
//!
//! What the engines do, from containers/common `pkg/hooks` (CRI-O and
//! podman both call it):
//! - `read.go`: a file without `version` is read as the old 0.1.0 format,
//!   not as the shim's `{"hooks": ...}`, so every original-format hook is
//!   written as a 1.0.0 file of its own: `"when": {"always": true}` and its
//!   one stage;
//! - `hooks.go` `Hooks`: the files apply in the order of their names
//!   lowercased (`strings.ToLower`, then bytes; oci-hooks(5) says so and
//!   recommends "an ASCII-only prefix"), where the shim orders names by
//!   bytes (`B.json` before `a.json`); podman before containers/common took
//!   the code over (v0.49) sorted with a locale collation ignoring case. So
//!   every name starts with a fixed-width rank (`0001-`), which every one of
//!   those orders sorts the same way, followed by the source's name;
//! - `hooks.go` `Hooks`: each matching file's hook is appended to each of
//!   its stages in that order, with no check for a hook already there, and
//!   since v0.58.0 (commit dc0f2633, "hooks: handle prestart as
//!   createRuntime") a `prestart` stage is appended to `createRuntime`.
//!   runc runs the prestart hooks, then the createRuntime hooks
//!   (libcontainer/process_linux.go), so the shim's order there is every
//!   prestart hook, then every createRuntime hook: the ranks put them in
//!   that order, which older releases (separate `prestart`) also keep;
//! - `1.0.0/hook.go` `Validate`: a hook whose `path` does not exist when the
//!   directory is read is left out without an error.
//!
//! What the shim does that a file cannot say is handled before anything is
//! written: a hook the shim would add once because an earlier one is the
//! same (`spec::merge`) is left out when the earlier one applies whenever
//! it would (no conditions, or the same), and refused by name otherwise; an
//! order that one name per file cannot give (a hooks.d file naming both
//! prestart and createRuntime between other such hooks) is refused by
//! name. The shim puts its hooks before those already in the spec, and the
//! engines after; neither the CRI nor podman's command line can give a
//! container hooks of its own, so that never shows there.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::hooks::{HookError, HookFile, HOOKS_D_VERSION};
use crate::json::write_json;
use crate::spec::Stage;
use crate::when::When;

/// Digits of the rank each name starts with, and the most files that gives.
const RANK_WIDTH: usize = 4;
const MAX_FILES: usize = 9999;
/// The longest file name Linux takes (NAME_MAX).
const NAME_MAX: usize = 255;

/// One hooks.d file, as it is to be written.
#[derive(Debug, PartialEq)]
pub(crate) struct OciHookFile {
    pub(crate) name: String,
    pub(crate) bytes: Vec<u8>,
    /// The hook file it comes from.
    pub(crate) source: PathBuf,
    /// The hook's field there (`hooks.prestart[0]`); None for a hooks.d
    /// file, which is written whole.
    pub(crate) field: Option<String>,
    /// The hook's `path`, which the engines check exists when they read
    /// the file.
    pub(crate) hook_path: String,
}

impl OciHookFile {
    /// `/h/10-a.json hooks.prestart[0]`, or the file alone.
    pub(crate) fn from(&self) -> String {
        describe(&self.source, self.field.as_deref())
    }
}

/// A hook left out of one stage because the shim adds it once.
#[derive(Debug, PartialEq)]
pub(crate) struct LeftOut {
    /// The hook that is left out, and where it is (`/h/20-b.json hooks.prestart[0]`).
    pub(crate) what: String,
    pub(crate) stage: Stage,
    /// The same hook, earlier, which stays.
    pub(crate) same_as: String,
}

/// The files, in the order the engines apply them, and what was left out.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Converted {
    pub(crate) files: Vec<OciHookFile>,
    pub(crate) left_out: Vec<LeftOut>,
}

/// One hook with its conditions and stages: one file to write.
struct Unit<'h> {
    file: &'h Path,
    /// `hooks.<stage>[i]` for a hook of the original format; None for a
    /// hooks.d file.
    field: Option<String>,
    /// The stage and index a name of the original format carries.
    suffix: Option<(Stage, usize)>,
    hook: &'h Value,
    when: Option<&'h When>,
    stages: Vec<Stage>,
}

impl Unit<'_> {
    fn what(&self) -> String {
        describe(self.file, self.field.as_deref())
    }

    /// Applies whenever `later` would: the shim never adds `later`'s hook
    /// when it is the same as this one's.
    fn covers(&self, later: &Unit) -> bool {
        unconditional(self.when) || self.when == later.when
    }
}

fn describe(file: &Path, field: Option<&str>) -> String {
    match field {
        Some(field) => format!("{} {field}", file.display()),
        None => file.display().to_string(),
    }
}

/// No conditions (the original format), or `always: true` alone.
fn unconditional(when: Option<&When>) -> bool {
    when.is_none_or(|w| *w == When { always: Some(true), ..When::default() })
}

/// Converts `files`, given in the order the shim applies them.
pub(crate) fn convert(files: &[HookFile]) -> Result<Converted, HookError> {
    let mut units = units(files);
    let left_out = dedupe(&mut units)?;
    units.retain(|u| !u.stages.is_empty());
    let order = order(&units)?;
    if order.len() > MAX_FILES {
        let last = &units[order[MAX_FILES]];
        return Err(HookError {
            file: last.file.to_owned(),
            field: last.field.clone(),
            why: format!(
                "more than {MAX_FILES} hooks in all: the hooks.d file names have {RANK_WIDTH} digits of order"
            ),
        });
    }
    let files = order.iter().enumerate().map(|(rank, &u)| file(rank + 1, &units[u])).collect();
    Ok(Converted { files, left_out })
}

/// Every hook of every file, in the shim's order.
fn units(files: &[HookFile]) -> Vec<Unit<'_>> {
    let mut units = Vec::new();
    for f in files {
        // The original format's hooks come out of `hooks::parse` stage by
        // stage, in list order: a hook's index is the count of its stage's
        // hooks before it.
        let mut seen = [0usize; Stage::ALL.len()];
        for h in &f.hooks {
            let unit = match &h.when {
                Some(when) => Unit {
                    file: &f.path,
                    field: None,
                    suffix: None,
                    hook: &h.hook,
                    when: Some(when),
                    stages: h.stages.clone(),
                },
                None => {
                    // One stage, always: `hooks::parse` gives each hook of the
                    // original format the stage it is listed under.
                    let Some(&stage) = h.stages.first() else { continue };
                    let i = seen[stage as usize];
                    seen[stage as usize] += 1;
                    Unit {
                        file: &f.path,
                        field: Some(format!("hooks.{stage}[{i}]")),
                        suffix: Some((stage, i)),
                        hook: &h.hook,
                        when: None,
                        stages: vec![stage],
                    }
                }
            };
            units.push(unit);
        }
    }
    units
}

/// Takes out of each stage a hook the shim would not add because the same
/// hook comes earlier in that stage and applies whenever it would; refuses
/// one that the shim adds at one place or the other depending on the
/// container.
fn dedupe(units: &mut [Unit]) -> Result<Vec<LeftOut>, HookError> {
    let mut left_out = Vec::new();
    for stage in Stage::ALL {
        // The first unit of this stage with each hook. A linear search, as
        // `spec::merge`'s: a stage holds a handful of hooks, and install and
        // validate, not the shim, run this.
        let mut first: Vec<usize> = Vec::new();
        for u in 0..units.len() {
            if !units[u].stages.contains(&stage) {
                continue;
            }
            let Some(&e) = first.iter().find(|&&e| units[e].hook == units[u].hook) else {
                first.push(u);
                continue;
            };
            let (earlier, later) = (&units[e], &units[u]);
            if !earlier.covers(later) {
                return Err(HookError {
                    file: later.file.to_owned(),
                    field: Some(later.field.clone().unwrap_or_else(|| "hook".into())),
                    why: format!(
                        "the same {stage} hook as {}, under other conditions: the shim adds it once, at the first \
                         place it applies, and CRI-O and podman would add it at both; give the two the same \
                         conditions, or different args",
                        earlier.what()
                    ),
                });
            }
            left_out.push(LeftOut { what: later.what(), stage, same_as: earlier.what() });
            units[u].stages.retain(|s| *s != stage);
        }
    }
    Ok(left_out)
}

/// The units in the order to name them: in every list the engines build,
/// the order the shim's run has. Those lists are `createRuntime` (the
/// shim's prestart hooks, then its createRuntime hooks) and each other
/// stage; the order is the first, by the shim's own, that keeps all of
/// them.
fn order(units: &[Unit]) -> Result<Vec<usize>, HookError> {
    let with = |stage: Stage| (0..units.len()).filter(move |&u| units[u].stages.contains(&stage));
    let mut lists: Vec<Vec<usize>> = vec![with(Stage::Prestart).chain(with(Stage::CreateRuntime)).collect()];
    for stage in [Stage::CreateContainer, Stage::StartContainer, Stage::Poststart, Stage::Poststop] {
        lists.push(with(stage).collect());
    }
    let mut succ: Vec<Vec<usize>> = vec![Vec::new(); units.len()];
    let mut pred: Vec<Vec<usize>> = vec![Vec::new(); units.len()];
    for list in &lists {
        for pair in list.windows(2) {
            if pair[0] != pair[1] {
                succ[pair[0]].push(pair[1]);
                pred[pair[1]].push(pair[0]);
            }
        }
    }
    // Kahn's algorithm, always taking the first ready unit in the shim's
    // order, so that names follow it wherever nothing else decides.
    let mut waiting: Vec<usize> = pred.iter().map(Vec::len).collect();
    let mut ready: BinaryHeap<Reverse<usize>> = (0..units.len()).filter(|&u| waiting[u] == 0).map(Reverse).collect();
    let mut order = Vec::with_capacity(units.len());
    while let Some(Reverse(u)) = ready.pop() {
        order.push(u);
        for &s in &succ[u] {
            waiting[s] -= 1;
            if waiting[s] == 0 {
                ready.push(Reverse(s));
            }
        }
    }
    if order.len() == units.len() {
        return Ok(order);
    }
    // A cycle: walk back through units still waiting until one repeats.
    let mut walk = vec![(0..units.len()).find(|&u| waiting[u] > 0).unwrap_or_default()];
    let cycle = loop {
        let last = walk[walk.len() - 1];
        let back = pred[last].iter().copied().find(|&p| waiting[p] > 0).unwrap_or(last);
        if let Some(at) = walk.iter().position(|&w| w == back) {
            break walk.split_off(at);
        }
        walk.push(back);
    };
    // Only a unit in two lists makes a cycle: a hooks.d file with more
    // than one stage, prestart and createRuntime among them.
    let split = cycle.iter().copied().find(|&u| units[u].stages.len() > 1).unwrap_or(cycle[0]);
    let others: Vec<String> = cycle.iter().filter(|&&u| u != split).map(|&u| units[u].what()).collect();
    Err(HookError {
        file: units[split].file.to_owned(),
        field: Some("stages".into()),
        why: format!(
            "no order of hooks.d files runs these hooks in the shim's order together with {}: CRI-O and podman \
             apply files in one name order for every stage, and add prestart hooks to createRuntime \
             (containers/common 0.58 and later), while runc runs every prestart hook before any createRuntime \
             hook; split this file into one file per stage",
            others.join(", ")
        ),
    })
}

/// The hooks.d file of `unit`, named with its `rank`.
fn file(rank: usize, unit: &Unit) -> OciHookFile {
    let source_name = unit.file.file_name().unwrap_or_default().to_string_lossy();
    let stem = source_name.strip_suffix(".json").unwrap_or(&source_name);
    let tail = match unit.suffix {
        Some((stage, i)) => format!("-{stage}-{i}.json"),
        None => ".json".to_owned(),
    };
    let room = NAME_MAX - RANK_WIDTH - 1 - tail.len();
    let mut end = stem.len().min(room);
    while !stem.is_char_boundary(end) {
        end -= 1;
    }
    let name = format!("{rank:0RANK_WIDTH$}-{}{tail}", &stem[..end]);

    let always = When { always: Some(true), ..When::default() };
    let when = unit.when.unwrap_or(&always).to_value();
    let stages: Vec<Value> = unit.stages.iter().map(|s| Value::from(s.name())).collect();
    let mut doc = Map::new();
    doc.insert("version".into(), HOOKS_D_VERSION.into());
    doc.insert("hook".into(), unit.hook.clone());
    doc.insert("when".into(), when);
    doc.insert("stages".into(), stages.into());
    let mut bytes = Vec::new();
    write_json(&mut bytes, &Value::Object(doc), Some(b"  "));
    bytes.push(b'\n');
    let hook_path = unit.hook.get("path").and_then(Value::as_str).unwrap_or_default().to_owned();
    OciHookFile { name, bytes, source: unit.file.to_owned(), field: unit.field.clone(), hook_path }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hooks;
    use serde_json::json;

    fn parse(path: &str, text: &str) -> HookFile {
        hooks::parse(Path::new(path), text.as_bytes()).unwrap()
    }

    fn names(c: &Converted) -> Vec<&str> {
        c.files.iter().map(|f| f.name.as_str()).collect()
    }

    /// The golden cases: `tests/fixtures/crio/<case>/in/*.json` converted
    /// must be exactly `out/`, names and bytes (`OAH_BLESS=1` rewrites
    /// `out/` from the conversion, to be reviewed as a diff).
    #[test]
    fn golden_files() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/crio");
        let mut cases: Vec<PathBuf> = std::fs::read_dir(&root).unwrap().map(|e| e.unwrap().path()).collect();
        cases.sort();
        assert!(cases.len() >= 3, "{cases:?}");
        let read_dir = |dir: &Path| -> Vec<(String, Vec<u8>)> {
            let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
                .map(|d| d.map(|e| e.unwrap().path()).collect::<Vec<_>>())
                .unwrap_or_default()
                .into_iter()
                .filter(|p| p.extension().is_some_and(|e| e == "json"))
                .map(|p| (p.file_name().unwrap().to_str().unwrap().to_owned(), std::fs::read(&p).unwrap()))
                .collect();
            // The shim's order: file names in byte order.
            out.sort();
            out
        };
        for case in cases {
            let input: Vec<HookFile> = read_dir(&case.join("in"))
                .into_iter()
                .map(|(name, bytes)| hooks::parse(&Path::new("/h").join(name), &bytes).unwrap())
                .collect();
            let got = convert(&input).unwrap();
            let got: Vec<(String, Vec<u8>)> = got.files.into_iter().map(|f| (f.name, f.bytes)).collect();
            let out = case.join("out");
            if std::env::var_os("OAH_BLESS").is_some() {
                let _ = std::fs::remove_dir_all(&out);
                std::fs::create_dir_all(&out).unwrap();
                for (name, bytes) in &got {
                    std::fs::write(out.join(name), bytes).unwrap();
                }
            }
            let want = read_dir(&out);
            let show = |files: &[(String, Vec<u8>)]| -> String {
                files.iter().map(|(n, b)| format!("== {n}\n{}", String::from_utf8_lossy(b))).collect()
            };
            assert_eq!(show(&got), show(&want), "{}", case.display());
        }
    }

    #[test]
    fn the_rank_orders_names_the_way_the_shim_orders_files_whatever_their_case() {
        // The shim: B.json (0x42) before a.json (0x61); the engines, which
        // lowercase, would put a first without the rank.
        let files = [
            parse("/h/B.json", r#"{"hooks": {"poststop": [{"path": "/b"}]}}"#),
            parse("/h/a.json", r#"{"hooks": {"poststop": [{"path": "/a"}]}}"#),
        ];
        let c = convert(&files).unwrap();
        assert_eq!(names(&c), ["0001-B-poststop-0.json", "0002-a-poststop-0.json"]);
        let mut lowered: Vec<String> = names(&c).iter().map(|n| n.to_lowercase()).collect();
        lowered.sort();
        assert_eq!(lowered, ["0001-b-poststop-0.json", "0002-a-poststop-0.json"]);
    }

    #[test]
    fn prestart_hooks_are_named_before_every_createruntime_hook() {
        // runc runs the shim's prestart list, then its createRuntime list;
        // containers/common 0.58 puts both into createRuntime by name.
        let files = [
            parse(
                "/h/10-a.json",
                r#"{"hooks": {"createRuntime": [{"path": "/a-cr"}], "prestart": [{"path": "/a-pre"}]}}"#,
            ),
            parse(
                "/h/20-b.json",
                r#"{"hooks": {"prestart": [{"path": "/b-pre"}], "poststop": [{"path": "/b-stop"}]}}"#,
            ),
        ];
        let c = convert(&files).unwrap();
        assert_eq!(
            names(&c),
            [
                "0001-10-a-prestart-0.json",
                "0002-20-b-prestart-0.json",
                "0003-10-a-createRuntime-0.json",
                "0004-20-b-poststop-0.json"
            ]
        );
        assert_eq!(c.files[2].from(), "/h/10-a.json hooks.createRuntime[0]");
        assert_eq!(c.files[2].hook_path, "/a-cr");
    }

    #[test]
    fn a_hook_the_shim_adds_once_is_left_out_where_the_first_always_applies() {
        let files = [
            parse("/h/10-a.json", r#"{"hooks": {"prestart": [{"path": "/x"}, {"path": "/x"}]}}"#),
            parse(
                "/h/20-b.json",
                r#"{"version": "1.0.0", "hook": {"path": "/x"}, "when": {"annotations": {"a": "b"}}, "stages": ["prestart", "poststop"]}"#,
            ),
            parse(
                "/h/30-c.json",
                r#"{"version": "1.0.0", "hook": {"path": "/y"}, "when": {"annotations": {"a": "b"}}, "stages": ["poststart"]}"#,
            ),
            parse(
                "/h/40-d.json",
                r#"{"version": "1.0.0", "hook": {"path": "/y"}, "when": {"annotations": {"a": "b"}}, "stages": ["poststart"]}"#,
            ),
        ];
        let c = convert(&files).unwrap();
        assert_eq!(names(&c), ["0001-10-a-prestart-0.json", "0002-20-b.json", "0003-30-c.json"]);
        let stages: Value = serde_json::from_slice(&c.files[1].bytes).unwrap();
        assert_eq!(stages["stages"], json!(["poststop"]), "prestart taken out of 20-b, kept for poststop");
        assert_eq!(
            c.left_out,
            [
                LeftOut {
                    what: "/h/10-a.json hooks.prestart[1]".into(),
                    stage: Stage::Prestart,
                    same_as: "/h/10-a.json hooks.prestart[0]".into()
                },
                LeftOut {
                    what: "/h/20-b.json".into(),
                    stage: Stage::Prestart,
                    same_as: "/h/10-a.json hooks.prestart[0]".into()
                },
                LeftOut { what: "/h/40-d.json".into(), stage: Stage::Poststart, same_as: "/h/30-c.json".into() },
            ]
        );
    }

    #[test]
    fn a_hook_added_at_one_place_or_another_by_container_is_refused_by_name() {
        let files = [
            parse(
                "/h/10-gpu.json",
                r#"{"version": "1.0.0", "hook": {"path": "/x"}, "when": {"annotations": {"gpu": "yes"}}, "stages": ["prestart"]}"#,
            ),
            parse("/h/20-all.json", r#"{"hooks": {"prestart": [{"path": "/x"}]}}"#),
        ];
        assert_eq!(
            convert(&files).unwrap_err().to_string(),
            "/h/20-all.json: hooks.prestart[0]: the same prestart hook as /h/10-gpu.json, under other conditions: \
             the shim adds it once, at the first place it applies, and CRI-O and podman would add it at both; give \
             the two the same conditions, or different args"
        );
    }

    #[test]
    fn an_order_no_names_can_give_is_refused_by_name() {
        // Shim: prestart [10-a], createRuntime [05-x, 10-a]... as runc runs
        // it: 10-a(prestart), 05-x, 10-a(createRuntime). One file for 10-a
        // cannot stand both before and after 05-x.
        let files = [
            parse("/h/05-x.json", r#"{"hooks": {"createRuntime": [{"path": "/x"}]}}"#),
            parse(
                "/h/10-a.json",
                r#"{"version": "1.0.0", "hook": {"path": "/a"}, "when": {"always": true}, "stages": ["prestart", "createRuntime"]}"#,
            ),
        ];
        let err = convert(&files).unwrap_err().to_string();
        assert!(
            err.starts_with(
                "/h/10-a.json: stages: no order of hooks.d files runs these hooks in the shim's order together with \
                 /h/05-x.json hooks.createRuntime[0]: "
            ),
            "{err}"
        );
        // Alone, the same file is fine: both stages run at its place.
        assert_eq!(names(&convert(&files[1..]).unwrap()), ["0001-10-a.json"]);
    }

    #[test]
    fn long_names_are_cut_to_what_linux_takes() {
        let long = format!("/h/{}é.json", "x".repeat(300));
        let c = convert(&[parse(&long, r#"{"hooks": {"startContainer": [{"path": "/s"}]}}"#)]).unwrap();
        let name = &c.files[0].name;
        assert!(
            name.len() <= NAME_MAX && name.starts_with("0001-xxx") && name.ends_with("x-startContainer-0.json"),
            "{name}"
        );
        assert!(convert(&[]).unwrap() == Converted::default());
    }
}
