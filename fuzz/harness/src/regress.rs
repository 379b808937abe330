//! The stable regression run: each target over all its seeds (checked-in,
//! recorded failures, generated from the real inputs), then a fixed number
//! of deterministic mutations of the seeds that fit its `max_len`. No
//! libFuzzer, no nightly flags: it runs wherever `cargo test` runs, the
//! same inputs every time, with the overflow checks of the test profile.
//!
//! A failing input is written to `target/fuzz-regress/<target>/` and
//! printed in hex before the panic goes on, so that it can be added to
//! `fuzz/regressions/<target>/` and turned into a unit test.

use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::mutate::{mutate, Rng};
use crate::real::Real;
use crate::seeds;
use crate::Target;

/// Mutations per target when nothing else is asked for.
pub const DEFAULT_MUTATIONS: u64 = 20_000;

/// What one target's run did.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub target: &'static str,
    /// Seeds run as they are.
    pub seeds: usize,
    /// Of those, seeds generated from the real inputs.
    pub real_seeds: usize,
    /// Executions in all: seeds plus mutations.
    pub execs: u64,
    pub elapsed: Duration,
}

/// The number of mutations per target: `$MINT_FUZZ_MUTATIONS`, else
/// [`DEFAULT_MUTATIONS`].
pub fn mutations_from_env() -> u64 {
    std::env::var("MINT_FUZZ_MUTATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_MUTATIONS)
}

fn fnv(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// Runs `t` on `data`; on a panic, saves and prints the input first.
fn exec(t: &Target, what: &str, data: &[u8]) {
    if let Err(panic) = catch_unwind(AssertUnwindSafe(|| (t.run)(data))) {
        let dir = crate::workspace().join("target/fuzz-regress").join(t.name);
        let path: PathBuf = dir.join(format!("crash-{:016x}", fnv(data)));
        let saved = std::fs::create_dir_all(&dir)
            .and_then(|_| std::fs::write(&path, data))
            .map(|_| path.display().to_string())
            .unwrap_or_else(|e| format!("(not saved: {e})"));
        let hex: String = data.iter().take(512).map(|b| format!("{b:02x}")).collect();
        eprintln!(
            "fuzz regression: target {} failed on {what} ({} bytes), saved to {saved}\n  \
             hex{}: {hex}\n  replay: cargo run -p mint-fuzz --bin {} -- {saved}",
            t.name,
            data.len(),
            if data.len() > 512 {
                " (first 512 bytes)"
            } else {
                ""
            },
            t.name,
        );
        resume_unwind(panic);
    }
}

/// Runs `t` over its seeds and `mutations` mutations of them.
pub fn run(t: &'static Target, real: &Real, mutations: u64) -> Outcome {
    let start = Instant::now();
    let all = seeds::all(t, real);
    let real_seeds = all.iter().filter(|s| s.name.starts_with("real-")).count();
    for s in &all {
        exec(t, &format!("seed {}", s.name), &s.data);
    }
    let pool: Vec<Vec<u8>> = all
        .iter()
        .filter(|s| s.data.len() <= t.max_len)
        .map(|s| s.data.clone())
        .collect();
    let mut rng = Rng::seeded(t.name);
    for i in 0..mutations {
        let mut m = if pool.is_empty() {
            Vec::new()
        } else {
            pool[rng.below(pool.len())].clone()
        };
        mutate(&mut rng, &mut m, t.max_len, &pool, t.dict);
        exec(t, &format!("mutation {i}"), &m);
    }
    Outcome {
        target: t.name,
        seeds: all.len(),
        real_seeds,
        execs: all.len() as u64 + mutations,
        elapsed: start.elapsed(),
    }
}

#[cfg(test)]
mod tests {
    //! One test per target: the regression run `cargo xtask test` does.

    use super::*;

    fn regress(name: &str) {
        let t = crate::target(name).expect("registered target");
        let o = run(t, Real::get(), mutations_from_env());
        eprintln!(
            "fuzz regression {}: {} seeds ({} real), {} executions, {:.1?}",
            o.target, o.seeds, o.real_seeds, o.execs, o.elapsed
        );
    }

    #[test]
    fn corpus_seeds_fit_max_len() {
        for t in crate::TARGETS {
            for s in seeds::all(t, Real::get()).iter().filter(|s| s.corpus) {
                assert!(
                    s.data.len() <= t.max_len,
                    "{}: seed {} has {} bytes, max_len is {}",
                    t.name,
                    s.name,
                    s.data.len(),
                    t.max_len
                );
            }
        }
    }

    #[test]
    fn every_target_has_a_cargo_fuzz_binary() {
        let fuzz = crate::workspace().join("fuzz");
        let manifest = std::fs::read_to_string(fuzz.join("Cargo.toml")).unwrap();
        for t in crate::TARGETS {
            let bin = format!("name = \"{0}\"\npath = \"fuzz_targets/{0}.rs\"", t.name);
            assert!(
                manifest.contains(&bin),
                "fuzz/Cargo.toml lacks the [[bin]] {}",
                t.name
            );
            let src = std::fs::read_to_string(fuzz.join(format!("fuzz_targets/{}.rs", t.name)))
                .unwrap_or_else(|e| panic!("fuzz/fuzz_targets/{}.rs: {e}", t.name));
            assert!(
                src.contains(&format!("replay_main(\"{}\")", t.name)),
                "{}",
                t.name
            );
        }
    }

    macro_rules! regression_tests {
        ($($name:ident),* $(,)?) => {
            $(#[test] fn $name() { regress(stringify!($name)); })*

            #[test]
            fn every_target_has_a_regression_test() {
                let tested = [$(stringify!($name)),*];
                for t in crate::TARGETS {
                    assert!(tested.contains(&t.name), "add {} to regression_tests!", t.name);
                }
            }
        };
    }

    regression_tests!(
        cpulist,
        memrange,
        memlist,
        name,
        sysfs_values,
        fadt,
        identity,
        bzimage,
        kernel_lz4,
        vmlinux,
        initrd,
        load_image,
        assemble,
        ramoops,
        pci_sysfs,
    );
}
