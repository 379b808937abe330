//! Checks the partition's ACPI tables with an independent parser: ACPICA's
//! disassembler and compiler (`iasl`, Debian package `acpica-tools`). Skipped,
//! with a note, where `iasl` is not on PATH.
//!
//! The DSDT must disassemble to `\_S5` and the console UART, and compile back
//! to the same AML; the FADT must decode to the reset register and the sleep
//! control and status registers in the status page.

use std::path::{Path, PathBuf};
use std::process::Command;

use mint_kexec::acpi;

/// Where the block is built for: the status page is then at 0x4001_2000.
const BASE: u64 = 0x4000_3000;
/// FADT and DSDT offsets in the block (see `acpi.rs`).
const FADT_OFF: usize = 0xa0;
const DSDT_OFF: usize = 0x1c0;
/// Length of an ACPI table header.
const HEADER_LEN: usize = 36;

fn iasl_available() -> bool {
    if Command::new("iasl").arg("-v").output().is_ok() {
        return true;
    }
    eprintln!(
        "note: iasl is not on PATH (Debian package acpica-tools): \
         ACPI disassembly test skipped"
    );
    false
}

/// A fresh, empty directory for one test's files.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mint-iasl-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The table at byte offset `off` of the block, by its own length field.
fn table_at(bytes: &[u8], off: usize) -> &[u8] {
    let len = u32::from_le_bytes(bytes[off + 4..off + 8].try_into().unwrap()) as usize;
    &bytes[off..off + len]
}

/// Runs `iasl ARGS` in `dir` and asserts that it succeeded.
fn iasl(dir: &Path, args: &[&str]) {
    let out = Command::new("iasl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("running iasl");
    assert!(
        out.status.success(),
        "iasl {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Writes `table` to `dir/name.dat`, disassembles it (`iasl -d`) and returns
/// the text with every run of blanks made one space.
fn disassemble(dir: &Path, name: &str, table: &[u8]) -> String {
    std::fs::write(dir.join(format!("{name}.dat")), table).unwrap();
    iasl(dir, &["-d", &format!("{name}.dat")]);
    let text = std::fs::read_to_string(dir.join(format!("{name}.dsl"))).unwrap();
    text.lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `count` lines of `text` from the first one containing `start`.
fn lines_from<'a>(text: &'a str, start: &str, count: usize) -> Vec<&'a str> {
    let lines: Vec<&str> = text.lines().collect();
    let i = lines
        .iter()
        .position(|l| l.contains(start))
        .unwrap_or_else(|| panic!("no {start:?} in\n{text}"));
    lines[i..(i + count).min(lines.len())].to_vec()
}

/// Asserts that `lines` has one containing each of `wanted`.
fn has_all(lines: &[&str], wanted: &[&str]) {
    for w in wanted {
        assert!(
            lines.iter().any(|l| l.contains(w)),
            "no {w:?} in\n{}",
            lines.join("\n")
        );
    }
}

#[test]
fn iasl_reads_s5_and_the_status_page_registers() {
    if !iasl_available() {
        return;
    }
    let t = acpi::build(BASE, &[1, 2], 0x608, 0xf, Some(0x2f8)).unwrap();
    let page = BASE + acpi::STATUS_PAGE_OFFSET;
    assert_eq!(t.status_page, page);
    let fadt = table_at(&t.bytes, FADT_OFF);
    let dsdt = table_at(&t.bytes, DSDT_OFF);
    assert_eq!(&fadt[..4], b"FACP");
    assert_eq!(&dsdt[..4], b"DSDT");
    let dir = scratch("tables");

    // DSDT: `\_S5` is a package of two elements, both 5, at the root.
    let d = disassemble(&dir, "dsdt", dsdt);
    let s5 = lines_from(&d, "Name (\\_S5, Package (0x02)", 5);
    assert_eq!(s5[1], "{", "{d}");
    assert_eq!(s5[2].trim_end_matches(',').trim(), "0x05", "{d}");
    assert_eq!(s5[3], "0x05", "{d}");
    assert_eq!(s5[4], "})", "{d}");
    has_all(
        &d.lines().collect::<Vec<_>>(),
        &[
            "Device (COM1)",
            "EisaId (\"PNP0501\")",
            "0x02F8, // Range Minimum",
        ],
    );
    // Compiled back without iasl's optimizations, the disassembly gives the
    // same AML, but for the resource template's end-tag checksum, which
    // iasl leaves 0.
    iasl(&dir, &["-oa", "-p", "again", "dsdt.dsl"]);
    let again = std::fs::read(dir.join("again.aml")).unwrap();
    assert_eq!(again.len(), dsdt.len());
    assert_eq!(
        again[HEADER_LEN..again.len() - 1],
        dsdt[HEADER_LEN..dsdt.len() - 1]
    );

    // FADT: the reset register is the status page's byte 0, value 1, and
    // supported; sleep control and status are its byte 1.
    let f = disassemble(&dir, "facp", fadt);
    let address = |a: u64| format!("Address : {a:016X}");
    has_all(
        &lines_from(&f, "Reset Register : [Generic Address Structure]", 6),
        &[
            "Space ID : 00 [SystemMemory]",
            "Bit Width : 08",
            "Bit Offset : 00",
            "Encoded Access Width : 01 [Byte Access:8]",
            &address(page),
        ],
    );
    has_all(
        &f.lines().collect::<Vec<_>>(),
        &[
            "Value to cause reset : 01",
            "Reset Register Supported (V2) : 1",
            "Hardware Reduced (V5) : 1",
        ],
    );
    for reg in ["Sleep Control Register", "Sleep Status Register"] {
        has_all(
            &lines_from(&f, &format!("{reg} : [Generic Address Structure]"), 6),
            &[
                "Space ID : 00 [SystemMemory]",
                "Bit Width : 08",
                "Encoded Access Width : 01 [Byte Access:8]",
                &address(page + 1),
            ],
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The MADT's offset in a block with a console UART (see `acpi.rs`).
const MADT_OFF_WITH_UART: usize = 0x230;

/// The MADT decodes as firmware's would: the type-0 decoy first, then a
/// Processor Local APIC for each id up to 0xfe and a Processor Local x2APIC
/// for 0xff and above, in the given order with UIDs 0, 1, ...; and it
/// compiles back to the same bytes (but for the compiler's id and revision
/// in the header, and so the checksum).
#[test]
fn iasl_reads_the_madt_with_x2apic_entries() {
    if !iasl_available() {
        return;
    }
    let t = acpi::build(BASE, &[0x100, 2, 0xff, 0x1_0000], 0x608, 0xf, Some(0x2f8)).unwrap();
    let madt = table_at(&t.bytes, MADT_OFF_WITH_UART);
    assert_eq!(&madt[..4], b"APIC");
    let dir = scratch("madt");
    let m = disassemble(&dir, "apic", madt);
    let lines: Vec<&str> = m.lines().collect();
    // The subtables in order: (type line, the lines that must follow it).
    let subtables: Vec<usize> = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| l.contains("Subtable Type :"))
        .map(|(i, _)| i)
        .collect();
    assert_eq!(subtables.len(), 5, "{m}");
    let expect: [(&str, &[&str]); 5] = [
        (
            "00 [Processor Local APIC]",
            &[
                "Processor ID : FF",
                "Local Apic ID : 0F",
                "Processor Enabled : 1",
            ],
        ),
        (
            "09 [Processor Local x2APIC]",
            &[
                "Length : 10",
                "Processor x2Apic ID : 00000100",
                "Processor Enabled : 1",
                "Processor UID : 00000000",
            ],
        ),
        (
            "00 [Processor Local APIC]",
            &[
                "Processor ID : 01",
                "Local Apic ID : 02",
                "Processor Enabled : 1",
            ],
        ),
        (
            "09 [Processor Local x2APIC]",
            &["Processor x2Apic ID : 000000FF", "Processor UID : 00000002"],
        ),
        (
            "09 [Processor Local x2APIC]",
            &["Processor x2Apic ID : 00010000", "Processor UID : 00000003"],
        ),
    ];
    for (k, (&i, (kind, fields))) in subtables.iter().zip(expect).enumerate() {
        let end = subtables.get(k + 1).copied().unwrap_or(lines.len());
        assert!(lines[i].contains(kind), "subtable {k}: {}\n{m}", lines[i]);
        has_all(&lines[i..end], fields);
    }
    assert!(!m.contains("**** "), "iasl reported a problem:\n{m}");
    iasl(&dir, &["-p", "again", "apic.dsl"]);
    let again = std::fs::read(dir.join("again.aml")).unwrap();
    assert_eq!(again.len(), madt.len());
    assert_eq!(again[HEADER_LEN..], madt[HEADER_LEN..]);
    assert_eq!(again[..9], madt[..9], "signature, length, revision");
    let _ = std::fs::remove_dir_all(&dir);
}
