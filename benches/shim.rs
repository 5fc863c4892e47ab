//! `make bench`: what the shim adds to every runtime call, measured as a
//! whole process against a runtime that does nothing, side by side with
//! exec'ing that runtime directly.
//!
//! Machines here are noisy and absolute times do not compare between runs,
//! so each case runs both sides in one loop, alternating which goes first,
//! with the same environment and the same file reset before every run of
//! either side. It reports the medians, the overhead (median of the paired
//! differences) and the ratio. Peak memory is getrusage(RUSAGE_CHILDREN)
//! max RSS, taken in a fresh, small probe process per case and side, so one
//! case's peak cannot hide another's. Every timed shim run is checked for
//! doing its job (hooks merged, no write when there is nothing to add, no
//! file read on a passthrough): a fast but wrong binary does not get a
//! figure.
//!
//! `cargo bench --bench shim -- [BIN...]` measures each BIN (default: the
//! release build cargo made). Without `--bench`, as `cargo test
//! --all-targets` runs it, every case runs twice with its checks and
//! nothing is timed, so the harness cannot rot unnoticed.

// Test code: a panic is a failed test, so it may unwrap, and its helpers
// are `pub` to the modules that share them (Cargo.toml's lints are for the
// program itself).
#![allow(clippy::unwrap_used, clippy::expect_used, unreachable_pub)]

// From the integration tests' util, the files this bench uses every item of
// (tests/integration/util/mod.rs says which), as modules of the same names.
#[path = "../tests/integration/util/basics.rs"]
mod basics;
#[path = "../tests/integration/util/bundle.rs"]
mod bundle;

use std::ffi::{OsStr, OsString};
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use basics::TempDir;
use bundle::Bundle;
use oci_add_hooks::{hooks, spec};

/// The first argument that makes this binary a peak-memory probe.
const PROBE: &str = "--rss-probe";
const MIB: usize = 1 << 20;
const ENV_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

fn main() {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    if args.first().is_some_and(|a| a == PROBE) {
        probe(&args[1..]);
    }
    let timed = args.iter().any(|a| a == "--bench");
    let mut bins: Vec<PathBuf> = args
        .iter()
        .filter(|a| !a.to_string_lossy().starts_with("--"))
        .map(|b| std::fs::canonicalize(b).unwrap_or_else(|e| panic!("{}: {e}", b.to_string_lossy())))
        .collect();
    if bins.is_empty() {
        bins.push(basics::bin().to_owned());
    }
    let noop = build_noop();
    if timed {
        print_machine();
    }
    for bin in &bins {
        bench_binary(bin, &noop, timed);
    }
}

/// A way to run: the shim in front of the no-op runtime, or the runtime alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    Direct,
    Shim,
}

/// What a shim run must have done, checked after every timed run.
enum Check {
    /// `config.json` holds exactly these bytes.
    Merged(Vec<u8>),
    /// `config.json` was not written: same inode, size, mtime and ctime.
    NotWritten(Stamp),
    /// Nothing to check on the file: the hook path does not exist, so a
    /// shim that tried to read it would have failed the run.
    ReadsNothing,
}

#[derive(Debug, PartialEq, Eq)]
struct Stamp {
    ino: u64,
    size: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl Stamp {
    fn of(path: &Path) -> Stamp {
        let m = std::fs::metadata(path).unwrap();
        Stamp { ino: m.ino(), size: m.size(), mtime: (m.mtime(), m.mtime_nsec()), ctime: (m.ctime(), m.ctime_nsec()) }
    }
}

struct Case {
    name: String,
    bundle: Bundle,
    hooks: PathBuf,
    runtime_args: Vec<OsString>,
    /// Written to `config.json` before every run of either side.
    reset: Option<Vec<u8>>,
    check: Check,
    pairs: usize,
}

impl Case {
    fn command(&self, side: Side, bin: &Path, noop: &Path) -> Command {
        let mut cmd = match side {
            Side::Direct => Command::new(noop),
            Side::Shim => {
                let mut c = Command::new(bin);
                c.arg("--hook-config-path").arg(&self.hooks).arg("--runtime-path").arg(noop);
                c
            }
        };
        cmd.args(&self.runtime_args)
            .env_clear()
            .env("PATH", ENV_PATH)
            .current_dir(self.bundle.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        cmd
    }

    fn reset(&self) {
        if let Some(bytes) = &self.reset {
            std::fs::write(self.bundle.config_path(), bytes).unwrap();
        }
    }

    fn check(&self) {
        match &self.check {
            Check::Merged(want) => {
                assert!(self.bundle.config_bytes() == *want, "{}: config.json is not the merged spec", self.name)
            }
            Check::NotWritten(stamp) => {
                assert_eq!(Stamp::of(&self.bundle.config_path()), *stamp, "{}: config.json was written", self.name)
            }
            Check::ReadsNothing => {}
        }
        assert_eq!(self.bundle.entries(), ["config.json"], "{}: a file was left in the bundle", self.name);
    }
}

/// The measurements of one case.
struct Figures {
    direct: Duration,
    shim: Duration,
    overhead: Duration,
    rss_direct: u64,
    rss_shim: u64,
}

fn bench_binary(bin: &Path, noop: &Path, timed: bool) {
    let shm = TempDir::new_in(Path::new("/dev/shm"), "bench");
    let disk = TempDir::new("bench");
    // Hook files where the shim trusts them: not under /dev/shm, which
    // others may write (mode 1777).
    let conf = TempDir::new("bench-hooks");
    let hooks = basics::hook_file(
        conf.path(),
        "hooks.json",
        &json!({"hooks": {
            "prestart": [{"path": "/usr/local/bin/gpu-hook", "args": ["gpu-hook", "prestart"], "env": ["GPU_LOG=1"], "timeout": 5}],
            "createRuntime": [{"path": "/usr/local/bin/netns-hook", "args": ["netns-hook"]}],
            "poststop": [{"path": "/usr/local/bin/cleanup-hook"}],
        }}),
    );
    let missing_hooks = conf.join("no-such-hooks.d");
    let scale = |n: usize| if timed { n } else { 2 };

    let mut cases = Vec::new();
    let create_with = |hooks: &Path, dir: &TempDir, name: &str, config: &[u8], pairs: usize| {
        let bundle = Bundle::with_config_in(dir.path(), config);
        let merged = merged(hooks, config);
        Case {
            name: name.into(),
            runtime_args: create_args(&bundle),
            bundle,
            hooks: hooks.to_owned(),
            reset: Some(config.to_vec()),
            check: Check::Merged(merged),
            pairs,
        }
    };
    let create = |dir: &TempDir, name: &str, config: &[u8], pairs: usize| create_with(&hooks, dir, name, config, pairs);
    let docker = bundle::DOCKER_CONFIG.as_bytes();
    cases.push(create(&shm, "create, Docker config.json, 3 hooks to add", docker, scale(1000)));

    let present = Bundle::with_config_in(shm.path(), merged(&hooks, docker));
    cases.push(Case {
        name: "create, nothing to add (hooks present)".into(),
        runtime_args: create_args(&present),
        check: Check::NotWritten(Stamp::of(&present.config_path())),
        bundle: present,
        hooks: hooks.clone(),
        reset: None,
        pairs: scale(1000),
    });
    for sub in [&["state", "bench-id"][..], &["kill", "bench-id", "KILL"]] {
        cases.push(Case {
            name: format!("{} (passthrough)", sub[0]),
            bundle: Bundle::with_config_in(shm.path(), docker),
            hooks: missing_hooks.clone(),
            runtime_args: sub.iter().map(OsString::from).collect(),
            reset: None,
            check: Check::ReadsNothing,
            pairs: scale(1000),
        });
    }
    let sizes: &[(usize, &str, usize)] = if timed {
        &[(100 << 10, "100 KiB", 300), (MIB, "1 MiB", 60), (10 * MIB, "10 MiB", 20)]
    } else {
        &[(100 << 10, "100 KiB", 2)]
    };
    for &(size, label, pairs) in sizes {
        let config = bundle::large_config(size);
        cases.push(create(&shm, &format!("create, {label} config, 3 hooks to add"), &config, pairs));
    }
    cases.push(create(&disk, "create, Docker config.json, bundle on disk (2 fsyncs)", docker, scale(100)));

    // Many hooks: 1,000 in one file, and 1,000 files of one hook each (the
    // most a configuration may have), each hook distinct.
    let hook = |n: usize| json!({"path": format!("/usr/local/bin/hook-{n:04}"), "args": ["hook", n.to_string()]});
    let many = TempDir::new("bench-many");
    let one_file = basics::hook_file(
        many.path(),
        "1000-hooks.json",
        &json!({"hooks": {"prestart": (0..1000).map(hook).collect::<Vec<_>>()}}),
    );
    cases.push(create_with(&one_file, &shm, "create, 1,000 hooks in one file", docker, scale(100)));
    let files = TempDir::new("bench-files");
    for n in 0..1000 {
        basics::hook_file(files.path(), &format!("{n:04}.json"), &json!({"hooks": {"prestart": [hook(n)]}}));
    }
    cases.push(create_with(files.path(), &shm, "create, 1,000 hook files of one hook", docker, scale(100)));

    if timed {
        println!("\nbinary: {}", describe(bin));
        println!("runtime: {} (a static no-op), run directly and through the shim, interleaved", noop.display());
        println!("peak RSS: of a fresh probe's child; the probe itself puts a floor of about half a MiB under it");
        println!("bundles on tmpfs ({}) unless said\n", shm.path().parent().unwrap().display());
        println!(
            "{:<54} {:>5} {:>10} {:>10} {:>11} {:>6} {:>18}",
            "case", "pairs", "direct ms", "shim ms", "overhead ms", "ratio", "peak RSS KiB d/s"
        );
    }
    let mut results = Vec::new();
    for case in &cases {
        let f = measure(case, bin, noop);
        if timed {
            println!(
                "{:<54} {:>5} {:>10.3} {:>10.3} {:>11.3} {:>6.2} {:>18}",
                case.name,
                case.pairs,
                ms(f.direct),
                ms(f.shim),
                ms(f.overhead),
                f.shim.as_secs_f64() / f.direct.as_secs_f64(),
                format!("{} / {}", f.rss_direct, f.rss_shim),
            );
        }
        results.push(f);
    }
    let opened = passthrough_opens(bin, noop, &cases[2], &hooks);
    if !timed {
        return;
    }

    // Linear growth shows as the same cost per added MiB from each size to
    // the next, starting from the Docker config.
    println!("\ngrowth: added overhead per added MiB of config.json, from the size before");
    let sized: Vec<(&Case, &Figures)> =
        cases.iter().zip(&results).filter(|(c, _)| c.name.contains(" config, ")).collect();
    let mut from = (bundle::DOCKER_CONFIG.len(), &results[0]);
    for (case, f) in sized {
        let len = case.reset.as_ref().map_or(0, Vec::len);
        let added_mib = (len - from.0) as f64 / MIB as f64;
        println!(
            "  {:<44} {:>6.2} ms/MiB   peak RSS {:>6} KiB ({:.1} x the file)",
            case.name,
            (ms(f.overhead) - ms(from.1.overhead)) / added_mib,
            f.rss_shim,
            f.rss_shim as f64 * 1024.0 / len as f64
        );
        from = (len, f);
    }
    println!("\npassthrough (state) opened: {}", if opened.is_empty() { "no file".into() } else { opened.join(", ") });

    let (add, none, state, kill, big) = (&results[0], &results[1], &results[2], &results[3], &results[6]);
    let peak = [add, none, state, kill].iter().map(|f| f.rss_shim).max().unwrap_or(0);
    let verdict = |ok: bool| if ok { "met" } else { "MISSED" };
    println!("\ntargets:");
    let create_ms = ms(add.overhead).max(ms(none.overhead));
    println!("  create overhead        {create_ms:>7.3} ms  <= 0.5 ms  {}", verdict(create_ms <= 0.5));
    let pass_ms = ms(state.overhead).max(ms(kill.overhead));
    println!("  passthrough overhead   {pass_ms:>7.3} ms  <= 0.2 ms  {}", verdict(pass_ms <= 0.2));
    println!("  peak RSS (Docker case) {peak:>7} KiB <= 2048 KiB {}", verdict(peak <= 2048));
    println!("  10 MiB config, shim    {:>7.3} ms  <= 100 ms  {}", ms(big.shim), verdict(ms(big.shim) <= 100.0));
}

/// Runs both sides `pairs` times, interleaved, then probes peak memory.
fn measure(case: &Case, bin: &Path, noop: &Path) -> Figures {
    let mut direct = Vec::with_capacity(case.pairs);
    let mut shim = Vec::with_capacity(case.pairs);
    let mut diffs = Vec::with_capacity(case.pairs);
    for i in 0..case.pairs {
        let order = if i % 2 == 0 { [Side::Shim, Side::Direct] } else { [Side::Direct, Side::Shim] };
        let mut pair = [Duration::ZERO; 2];
        for side in order {
            case.reset();
            let mut cmd = case.command(side, bin, noop);
            let start = Instant::now();
            let status = cmd.status().unwrap();
            let took = start.elapsed();
            assert!(status.success(), "{}: {side:?} run failed: {status}", case.name);
            if side == Side::Shim {
                case.check();
                pair[1] = took;
            } else {
                pair[0] = took;
            }
        }
        direct.push(pair[0]);
        shim.push(pair[1]);
        diffs.push(pair[1].as_secs_f64() - pair[0].as_secs_f64());
    }
    let rss = |side| {
        (0..3)
            .map(|_| {
                case.reset();
                let rss = rss_of(&case.command(side, bin, noop));
                if side == Side::Shim {
                    case.check();
                }
                rss
            })
            .max()
            .unwrap_or(0)
    };
    Figures {
        direct: median(&mut direct),
        shim: median(&mut shim),
        overhead: Duration::from_secs_f64(median_f64(&mut diffs).max(0.0)),
        rss_direct: rss(Side::Direct),
        rss_shim: rss(Side::Shim),
    }
}

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn median_f64(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn create_args(bundle: &Bundle) -> Vec<OsString> {
    let mut args: Vec<OsString> = vec!["create".into(), "--bundle".into()];
    args.push(bundle.path().into());
    args.push("bench-id".into());
    args
}

/// What the shim must write: the merge done in-process on a scratch copy,
/// of the hook file `hooks`, or of the files of the directory `hooks` in
/// name order.
fn merged(hooks: &Path, config: &[u8]) -> Vec<u8> {
    let mut paths = vec![hooks.to_owned()];
    if hooks.is_dir() {
        paths = std::fs::read_dir(hooks).unwrap().map(|e| e.unwrap().path()).collect();
        paths.sort();
    }
    let files: Vec<_> = paths.iter().map(|p| hooks::parse(p, &std::fs::read(p).unwrap()).unwrap()).collect();
    let mut spec = spec::parse(config).unwrap();
    let additions = files.iter().flat_map(|f| &f.hooks).flat_map(|h| h.stages.iter().map(move |s| (*s, &h.hook)));
    spec::merge(&mut spec, additions).unwrap();
    spec::to_bytes(&spec)
}

/// Peak RSS in KiB of one run of `cmd`, from a fresh probe process.
fn rss_of(cmd: &Command) -> u64 {
    let mut probe = Command::new(std::env::current_exe().unwrap());
    probe.arg(PROBE).arg(cmd.get_program()).args(cmd.get_args());
    probe.env_clear().env("PATH", ENV_PATH).stdin(Stdio::null()).stderr(Stdio::inherit());
    if let Some(dir) = cmd.get_current_dir() {
        probe.current_dir(dir);
    }
    let out = probe.output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let (status, rss) = text.trim().split_once(' ').unwrap_or_else(|| panic!("probe said {text:?}"));
    assert_eq!(status, "0", "probed run of {:?} failed", cmd.get_program());
    rss.parse().unwrap()
}

/// The probe: runs its arguments once and prints the exit code and the
/// children's max RSS. It forks rather than spawning from its own address
/// space, since a vfork child's max RSS includes its parent's; a forked
/// child starts from the few pages this small process has written.
fn probe(argv: &[OsString]) -> ! {
    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..]).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
    // SAFETY: the closure does nothing, so it is async-signal-safe; it is
    // there only to make std fork instead of posix_spawn.
    unsafe {
        cmd.pre_exec(|| Ok(()));
    }
    let status = cmd.status().unwrap();
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage fills the rusage it is pointed at, which is ours.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, usage.as_mut_ptr()) };
    assert_eq!(rc, 0, "getrusage: {}", std::io::Error::last_os_error());
    // SAFETY: getrusage succeeded, so the struct is initialised.
    let usage = unsafe { usage.assume_init() };
    println!("{} {}", status.code().unwrap_or(-1), usage.ru_maxrss);
    std::process::exit(0)
}

/// Runs a passthrough once under strace and returns the files it opened
/// other than the dynamic loader's (none for a static build). Panics if the
/// hook file or anything in the bundle was opened.
fn passthrough_opens(bin: &Path, noop: &Path, case: &Case, hooks: &Path) -> Vec<String> {
    if !basics::require(&["strace"]) {
        return vec!["(not checked: strace missing)".into()];
    }
    let log = TempDir::new("strace");
    let out = log.join("trace");
    // An existing hook file this time, and the bundle as the current
    // directory: a shim that read either would show it.
    let cmd = case.command(Side::Shim, bin, noop);
    let mut args: Vec<OsString> = cmd.get_args().map(OsStr::to_owned).collect();
    let hook_pos = args.iter().position(|a| a == "--hook-config-path").unwrap() + 1;
    args[hook_pos] = hooks.into();
    let status = Command::new("strace")
        .args(["-f", "-qq", "-e", "trace=open,openat,openat2", "-o"])
        .arg(&out)
        .arg(cmd.get_program())
        .args(&args)
        .env_clear()
        .env("PATH", ENV_PATH)
        .current_dir(case.bundle.path())
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "strace run of the passthrough failed");
    let trace = std::fs::read_to_string(&out).unwrap();
    let opened: Vec<String> = trace.lines().filter_map(|l| l.split('"').nth(1)).map(str::to_owned).collect();
    for path in &opened {
        let p = Path::new(path);
        assert!(
            p != hooks && !p.starts_with(case.bundle.path()) && p != Path::new("config.json"),
            "passthrough opened {path}:\n{trace}"
        );
    }
    let loader = |p: &str| p == "/etc/ld.so.cache" || p.contains(".so.") || p.ends_with(".so");
    opened.into_iter().filter(|p| !loader(p)).collect()
}

/// The no-op runtime, built from benches/noop.c.
fn build_noop() -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/noop.c");
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("noop");
    let status = Command::new("cc")
        .args(["-nostdlib", "-static", "-O2", "-o"])
        .arg(&out)
        .arg(&src)
        .status()
        .expect("cc, to build the no-op runtime");
    assert!(status.success(), "building {} failed", src.display());
    out
}

fn describe(bin: &Path) -> String {
    let size = std::fs::metadata(bin).map_or(0, |m| m.len()) / 1024;
    let file = Command::new("file").arg("-b").arg(bin).output().ok();
    let kind = file
        .map(|o| String::from_utf8_lossy(&o.stdout).split(", ").take(5).collect::<Vec<_>>().join(", "))
        .unwrap_or_default();
    format!("{} ({size} KiB; {kind})", bin.display())
}

fn print_machine() {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines().find(|l| l.starts_with("model name")).map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_default();
    let os = std::fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|c| c.lines().find(|l| l.starts_with("PRETTY_NAME=")).map(|l| l[13..].trim_matches('"').to_owned()))
        .unwrap_or_default();
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!("machine: {os}, kernel {}, {cores} cores ({cpu})", kernel.trim());
}
