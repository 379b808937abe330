//! `mint-fuzz`: the stable side of mint's fuzzing, for `cargo xtask fuzz`
//! and for people.
//!
//! ```text
//! mint-fuzz list                        targets, max_len, what they check
//! mint-fuzz seeds DIR                   DIR/<target>/ seeds, DIR/<target>.dict
//! mint-fuzz regress [--mutations N] [TARGET...]
//!                                       the regression run of `cargo test`
//! mint-fuzz replay TARGET FILE...       run a target on files (crash artifacts)
//! ```

use std::path::Path;
use std::process::ExitCode;

use mint_fuzz_harness::real::Real;
use mint_fuzz_harness::{regress, seeds, target, TARGETS};

fn usage() -> ExitCode {
    eprintln!(
        "usage: mint-fuzz list | seeds DIR | regress [--mutations N] [TARGET...] | replay TARGET FILE..."
    );
    ExitCode::from(2)
}

/// libFuzzer's dictionary syntax: one `"token"` per line, `\xNN` escapes.
fn dict_file(tokens: &[&[u8]]) -> String {
    tokens
        .iter()
        .map(|t| {
            let body: String = t
                .iter()
                .map(|&b| match b {
                    b'"' | b'\\' => format!("\\x{b:02x}"),
                    0x20..=0x7e => (b as char).to_string(),
                    _ => format!("\\x{b:02x}"),
                })
                .collect();
            format!("\"{body}\"\n")
        })
        .collect()
}

fn write_seeds(dir: &Path) -> std::io::Result<()> {
    let real = Real::get();
    for t in TARGETS {
        let d = dir.join(t.name);
        if d.exists() {
            std::fs::remove_dir_all(&d)?;
        }
        std::fs::create_dir_all(&d)?;
        let mut n = 0;
        for s in seeds::all(t, real).into_iter().filter(|s| s.corpus) {
            let name: String = s
                .name
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || "-_.+".contains(c) {
                        c
                    } else {
                        '_'
                    }
                })
                .collect();
            std::fs::write(d.join(name), &s.data)?;
            n += 1;
        }
        std::fs::write(dir.join(format!("{}.dict", t.name)), dict_file(t.dict))?;
        println!("{}: {n} seeds in {}", t.name, d.display());
    }
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("list") => {
            for t in TARGETS {
                println!("{} {} {}", t.name, t.max_len, t.about);
            }
        }
        Some("seeds") if args.len() == 2 => {
            if let Err(e) = write_seeds(Path::new(&args[1])) {
                eprintln!("mint-fuzz: writing seeds to {}: {e}", args[1]);
                return ExitCode::FAILURE;
            }
        }
        Some("regress") => {
            let mut mutations = regress::mutations_from_env();
            let mut names = Vec::new();
            let mut it = args[1..].iter();
            while let Some(a) = it.next() {
                if a == "--mutations" {
                    match it.next().and_then(|v| v.parse().ok()) {
                        Some(n) => mutations = n,
                        None => return usage(),
                    }
                } else {
                    names.push(a.as_str());
                }
            }
            let mut chosen = Vec::new();
            for n in &names {
                match target(n) {
                    Some(t) => chosen.push(t),
                    None => {
                        eprintln!("mint-fuzz: no target {n}");
                        return usage();
                    }
                }
            }
            if chosen.is_empty() {
                chosen.extend(TARGETS.iter());
            }
            for t in chosen {
                let o = regress::run(t, Real::get(), mutations);
                println!(
                    "{}: {} seeds ({} real), {} executions, {:.1?}",
                    o.target, o.seeds, o.real_seeds, o.execs, o.elapsed
                );
            }
        }
        Some("replay") if args.len() >= 3 => {
            let Some(t) = target(&args[1]) else {
                eprintln!("mint-fuzz: no target {}", args[1]);
                return usage();
            };
            for f in &args[2..] {
                match std::fs::read(f) {
                    Ok(data) => {
                        (t.run)(&data);
                        println!("{}: {f}: ok", t.name);
                    }
                    Err(e) => {
                        eprintln!("mint-fuzz: cannot read {f}: {e}");
                        return ExitCode::FAILURE;
                    }
                }
            }
        }
        _ => return usage(),
    }
    ExitCode::SUCCESS
}
