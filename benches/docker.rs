//! `make bench-docker`: the whole-Docker figure. `docker run --rm` of a
//! busybox `true` in a private dockerd, with plain runc and through the
//! shim, the sides taking turns run by run, 50 runs each.
//!
//! Two shim sides separate the shim's own cost from what a hook costs:
//! one with a hook directory that adds nothing, one adding a single
//! `/bin/true` prestart hook (which runc then runs). And since dockerd runs
//! a runtime that has `runtimeArgs` through a `/bin/sh` script it writes
//! (`<data-root>/runtimes/<name>`), as it does the shim, runc is also
//! measured behind such a script: the shim's own cost is the difference
//! to that side.
//!
//! `cargo bench --bench docker -- [BIN]` (default: the release build cargo
//! made). Without `--bench`, as `cargo test --all-targets` runs it, it does
//! nothing: starting a Docker engine is not part of `make test`.

// Test code: a panic is a failed test, so it may unwrap, and its helpers
// are `pub` to the modules that share them (Cargo.toml's lints are for the
// program itself).
#![allow(clippy::unwrap_used, clippy::expect_used, unreachable_pub)]

// From the integration tests' util, the files this bench uses every item of
// (tests/integration/util/mod.rs says which), as modules of the same names.
#[path = "../tests/integration/util/basics.rs"]
mod basics;
#[path = "../tests/integration/util/dockerd.rs"]
mod dockerd;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::json;

use basics::TempDir;
use dockerd::{stderr, Dockerd};

const RUNS: usize = 50;
const WARM_UP: usize = 3;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if !args.iter().any(|a| a == "--bench") {
        return;
    }
    let bin = match args.iter().find(|a| !a.starts_with("--")) {
        Some(b) => std::fs::canonicalize(b).unwrap_or_else(|e| panic!("{b}: {e}")),
        None => basics::bin().to_owned(),
    };
    assert!(basics::require(&["dockerd", "docker", "runc"]), "dockerd, docker and runc are needed");

    let empty = TempDir::new("bench-docker-empty");
    let conf = TempDir::new("bench-docker-hooks");
    let hooks = basics::hook_file(
        conf.path(),
        "10-true.json",
        &json!({"hooks": {"prestart": [{"path": "/bin/true", "args": ["true"]}]}}),
    );
    let shim_runtime =
        |hooks: PathBuf| json!({"path": bin, "runtimeArgs": ["--hook-config-path", hooks, "--runtime-path", "runc"]});
    let dockerd = Dockerd::start(&json!({
        "runtimes": {
            "runc-wrapped": {"path": "/usr/sbin/runc", "runtimeArgs": ["--debug=false"]},
            "oah-nothing-to-add": shim_runtime(empty.path().to_owned()),
            "oah-one-hook": shim_runtime(hooks),
        }
    }));
    dockerd.import_busybox("oah-busybox");

    let sides = [
        ("runc", "plain runc"),
        ("runc-wrapped", "runc, with runtimeArgs"),
        ("oah-nothing-to-add", "shim, nothing to add"),
        ("oah-one-hook", "shim + /bin/true prestart hook"),
    ];
    let run = |runtime: &str| {
        let start = Instant::now();
        let out = dockerd.docker(&[
            "run",
            "--rm",
            "--network",
            "none",
            &format!("--runtime={runtime}"),
            "oah-busybox",
            "true",
        ]);
        let took = start.elapsed();
        assert!(out.status.success(), "docker run --runtime={runtime}: {}", stderr(&out));
        took
    };
    for _ in 0..WARM_UP {
        for (runtime, _) in sides {
            run(runtime);
        }
    }
    let mut times: Vec<Vec<Duration>> = vec![Vec::with_capacity(RUNS); sides.len()];
    for i in 0..RUNS {
        // Rotate which side goes first, so none always follows another.
        for k in 0..sides.len() {
            let s = (i + k) % sides.len();
            times[s].push(run(sides[s].0));
        }
    }

    println!("\ndocker run --rm --network none oah-busybox true, {RUNS} runs per side, sides in turn");
    println!("binary: {}", bin.display());
    println!("{:<32} {:>10} {:>10} {:>10} {:>7}", "side", "median ms", "p25 ms", "p75 ms", "ratio");
    let stats: Vec<(f64, f64, f64)> = times.iter_mut().map(|t| quartiles(t)).collect();
    for ((_, label), (p25, med, p75)) in sides.iter().zip(&stats) {
        println!("{label:<32} {med:>10.1} {p25:>10.1} {p75:>10.1} {:>7.3}", med / stats[0].1);
    }
    for (base, others) in [(0, 1..sides.len()), (1, 2..sides.len())] {
        for s in others {
            let diff = stats[s].1 - stats[base].1;
            let (lo, hi) = bootstrap_median_difference(&times[s], &times[base]);
            let verdict = if lo <= 0.0 && 0.0 <= hi { "within noise" } else { "NOT within noise" };
            println!(
                "{} vs {}: {diff:+.1} ms (95% bootstrap interval {lo:+.1} .. {hi:+.1} ms): {verdict}",
                sides[s].1, sides[base].1
            );
        }
    }
}

/// A 95% interval for median(a) - median(b) in milliseconds, from 2000
/// resamplings of both (with a fixed-seed generator, so a run can be
/// repeated exactly from the same times).
fn bootstrap_median_difference(a: &[Duration], b: &[Duration]) -> (f64, f64) {
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move |n: usize| {
        // xorshift64*
        seed ^= seed >> 12;
        seed ^= seed << 25;
        seed ^= seed >> 27;
        (seed.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) as usize % n
    };
    let mut median_of_resample = |v: &[Duration]| {
        let mut r: Vec<Duration> = (0..v.len()).map(|_| v[next(v.len())]).collect();
        r.sort();
        r[r.len() / 2].as_secs_f64() * 1e3
    };
    let mut diffs: Vec<f64> = (0..2000).map(|_| median_of_resample(a) - median_of_resample(b)).collect();
    diffs.sort_by(f64::total_cmp);
    (diffs[50], diffs[1949])
}

/// (p25, median, p75) in milliseconds.
fn quartiles(v: &mut [Duration]) -> (f64, f64, f64) {
    v.sort();
    let at = |q: usize| v[(v.len() - 1) * q / 4].as_secs_f64() * 1e3;
    (at(1), at(2), at(3))
}
