//! Checks the partition's ACPI tables with independent parsers: ACPICA's
//! disassembler and compiler (`iasl`) and its AML interpreter (`acpiexec`),
//! both from Debian's `acpica-tools` and both the ACPICA code Linux runs.
//! Each test is skipped, with a note, where its tool is not on PATH. The
//! tables are found in the block through the `acpi` crate's parser (RSDP,
//! XSDT, FADT), not at fixed offsets.
//!
//! * iasl: the DSDT disassembles to `\_S5`, the console UART and the PCI
//!   host bridges, and compiles back to the same AML; the FADT decodes to
//!   the reset register and the sleep control and status registers in the
//!   status page, without NO_MSI; the MADT to the decoy and the CPUs; the
//!   MCFG to one allocation per bus.
//! * acpiexec: it loads the DSDT, evaluates `\_S5`, finds the devices by
//!   their `_HID`, evaluates the bridges' `_CID`, `_SEG`, `_BBN` and `_UID`,
//!   and decodes each device's `_CRS` with ACPICA's resource manager (what
//!   Linux's `acpi_walk_resources` returns); there is no `_OSC` and no
//!   `_PRT`.
//!
//! Expected values come from the inputs (CPU ids, ports, buses, windows).

// Windows are lists of ranges, often of one.
#![allow(clippy::single_range_in_vec_init)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::ptr::NonNull;

use ::acpi::{fadt::Fadt, madt::Madt, mcfg::Mcfg, AcpiHandler, PhysicalMapping};
use mint_kexec::acpi::{self as mint_acpi, PciBus};

/// Where the block is built for: the status page is then at 0x4001_2000.
const BASE: u64 = 0x4000_3000;
/// Length of an ACPI table header.
const HEADER_LEN: usize = 36;
const FOUR_GIB: u64 = 1 << 32;

/// Physical memory for the parser: the block at the base it was built for.
#[derive(Clone, Copy)]
struct Block<'a> {
    base: u64,
    bytes: &'a [u8],
}

impl AcpiHandler for Block<'_> {
    unsafe fn map_physical_region<T>(&self, addr: usize, size: usize) -> PhysicalMapping<Self, T> {
        let off = (addr as u64 - self.base) as usize;
        assert!(
            off + size <= self.bytes.len(),
            "{addr:#x}+{size:#x} outside the tables"
        );
        let ptr = NonNull::new(self.bytes[off..].as_ptr() as *mut T).unwrap();
        // SAFETY: the bytes are borrowed for the handler's lifetime; the
        // parser's table types are packed (alignment 1) and only read.
        unsafe { PhysicalMapping::new(addr, ptr, size, size, *self) }
    }

    fn unmap_physical_region<T>(_: &PhysicalMapping<Self, T>) {}
}

/// The FADT, DSDT, MADT and (with PCI buses) MCFG of a block, as the parser
/// finds them from its RSDP.
struct Tables<'a> {
    fadt: &'a [u8],
    dsdt: &'a [u8],
    madt: &'a [u8],
    mcfg: Option<&'a [u8]>,
}

fn tables(t: &mint_acpi::AcpiTables) -> Tables<'_> {
    let block = Block {
        base: BASE,
        bytes: &t.bytes,
    };
    // SAFETY: the handler checks every mapping against the block.
    let parsed = unsafe { ::acpi::AcpiTables::from_rsdp(block, t.rsdp_addr as usize) }.unwrap();
    let at = |phys: usize| {
        let off = phys - BASE as usize;
        let len = u32::from_le_bytes(t.bytes[off + 4..off + 8].try_into().unwrap()) as usize;
        &t.bytes[off..off + len]
    };
    let dsdt = parsed.dsdt().unwrap();
    Tables {
        fadt: at(parsed.find_table::<Fadt>().unwrap().physical_start()),
        dsdt: at(dsdt.address - HEADER_LEN),
        madt: at(parsed.find_table::<Madt>().unwrap().physical_start()),
        mcfg: parsed
            .find_table::<Mcfg>()
            .ok()
            .map(|m| at(m.physical_start())),
    }
}

fn tool_available(tool: &str) -> bool {
    if Command::new(tool).arg("-v").output().is_ok() {
        return true;
    }
    eprintln!(
        "note: {tool} is not on PATH (Debian package acpica-tools): \
         ACPI test skipped"
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

/// Runs `tool ARGS` in `dir`, asserts that it succeeded and returns its
/// output (stdout, then stderr).
fn run(dir: &Path, tool: &str, args: &[&str]) -> String {
    let out = Command::new(tool)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("running {tool}: {e}"));
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{tool} {args:?} failed:\n{text}");
    text
}

/// Writes `table` to `dir/name.dat`, disassembles it (`iasl -d`) and returns
/// the text with every run of blanks made one space.
fn disassemble(dir: &Path, name: &str, table: &[u8]) -> String {
    std::fs::write(dir.join(format!("{name}.dat")), table).unwrap();
    run(dir, "iasl", &["-d", &format!("{name}.dat")]);
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

/// Compiles the disassembly `name.dsl` back without iasl's optimizations
/// and asserts that it gives the same AML as `dsdt`.
fn compiles_back(dir: &Path, name: &str, dsdt: &[u8]) {
    run(dir, "iasl", &["-oa", "-p", "again", &format!("{name}.dsl")]);
    let again = std::fs::read(dir.join("again.aml")).unwrap();
    assert_eq!(again.len(), dsdt.len());
    assert_eq!(again[HEADER_LEN..], dsdt[HEADER_LEN..]);
}

/// Two buses of two segments: memory windows below and above 4 GiB, an I/O
/// window; the second segment's ECAM above 4 GiB.
fn two_buses() -> Vec<PciBus> {
    vec![
        PciBus {
            segment: 0,
            bus: 3,
            ecam_base: 0xb000_0000,
            mem: vec![0xfe00_0000..0xfe10_0000, 0x38_0000_0000..0x38_0010_0000],
            io: vec![0xc000..0xc040, 0xd000..0xd008],
        },
        PciBus {
            segment: 1,
            bus: 0x80,
            ecam_base: 0x30_0000_0000,
            mem: vec![0xfd00_0000..0xfd00_4000],
            io: vec![],
        },
    ]
}

#[test]
fn iasl_reads_s5_and_the_status_page_registers() {
    if !tool_available("iasl") {
        return;
    }
    let t = mint_acpi::build(BASE, &[1, 2], 0x608, 0xf, Some(0x2f8), &[]).unwrap();
    let page = BASE + mint_acpi::STATUS_PAGE_OFFSET;
    assert_eq!(t.status_page, page);
    let Tables { fadt, dsdt, .. } = tables(&t);
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
    assert!(!d.contains("PNP0A08"), "no PCI bus, no host bridge:\n{d}");
    // Compiled back without iasl's optimizations, the disassembly gives the
    // same AML.
    compiles_back(&dir, "dsdt", dsdt);

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
            "Revision : 06",
            "FADT Minor Revision : 00",
            "Value to cause reset : 01",
            "Reset Register Supported (V2) : 1",
            "Hardware Reduced (V5) : 1",
            "MSI Not Supported (V4) : 0",
            "8042 Present on ports 60/64 (V2) : 0",
            "CMOS RTC Not Present (V5) : 1",
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
    assert!(!f.contains("**** "), "iasl reported a problem:\n{f}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The MADT decodes as firmware's would: the type-0 decoy first, then a
/// Processor Local APIC for each id up to 0xfe and a Processor Local x2APIC
/// for 0xff and above, in the given order with UIDs 0, 1, ...; and it
/// compiles back to the same bytes (but for the compiler's id and revision
/// in the header, and so the checksum).
#[test]
fn iasl_reads_the_madt_with_x2apic_entries() {
    if !tool_available("iasl") {
        return;
    }
    let t = mint_acpi::build(
        BASE,
        &[0x100, 2, 0xff, 0x1_0000],
        0x608,
        0xf,
        Some(0x2f8),
        &two_buses(),
    )
    .unwrap();
    let madt = tables(&t).madt;
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
    has_all(
        &lines,
        &["Local Apic Address : FEE00000", "PC-AT Compatibility : 0"],
    );
    assert!(!m.contains("**** "), "iasl reported a problem:\n{m}");
    run(&dir, "iasl", &["-p", "again", "apic.dsl"]);
    let again = std::fs::read(dir.join("again.aml")).unwrap();
    assert_eq!(again.len(), madt.len());
    assert_eq!(again[HEADER_LEN..], madt[HEADER_LEN..]);
    assert_eq!(again[..9], madt[..9], "signature, length, revision");
    let _ = std::fs::remove_dir_all(&dir);
}

/// With two PCI buses: the MCFG has one allocation per bus, the DSDT a host
/// bridge per bus and one motherboard device, no `_OSC` and no `_PRT`, and
/// compiles back to the same AML.
#[test]
fn iasl_reads_the_mcfg_and_the_host_bridges() {
    if !tool_available("iasl") {
        return;
    }
    let pci = two_buses();
    let t = mint_acpi::build(BASE, &[1, 2], 0x608, 0xf, Some(0x2f8), &pci).unwrap();
    let Tables {
        fadt, dsdt, mcfg, ..
    } = tables(&t);
    let dir = scratch("pci");

    let m = disassemble(&dir, "mcfg", mcfg.expect("an MCFG"));
    assert!(!m.contains("**** "), "iasl reported a problem:\n{m}");
    let lines: Vec<&str> = m.lines().collect();
    let entries: Vec<usize> = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| l.contains("Base Address :"))
        .map(|(i, _)| i)
        .collect();
    assert_eq!(entries.len(), pci.len(), "{m}");
    for (&i, b) in entries.iter().zip(&pci) {
        has_all(
            &lines[i..i + 4],
            &[
                &format!("Base Address : {:016X}", b.ecam_base),
                &format!("Segment Group Number : {:04X}", b.segment),
                &format!("Start Bus Number : {:02X}", b.bus),
                &format!("End Bus Number : {:02X}", b.bus),
            ],
        );
    }

    let d = disassemble(&dir, "dsdt", dsdt);
    let count = |s: &str| d.matches(s).count();
    assert_eq!(count("EisaId (\"PNP0A08\")"), pci.len(), "{d}");
    assert_eq!(count("EisaId (\"PNP0A03\")"), pci.len(), "{d}");
    assert_eq!(count("EisaId (\"PNP0C02\")"), 1, "{d}");
    assert_eq!(count("EisaId (\"PNP0501\")"), 1, "{d}");
    assert_eq!(count("WordBusNumber ("), pci.len(), "{d}");
    assert!(!d.contains("_OSC") && !d.contains("_PRT"), "{d}");
    compiles_back(&dir, "dsdt", dsdt);

    let f = disassemble(&dir, "facp", fadt);
    has_all(
        &f.lines().collect::<Vec<_>>(),
        &["MSI Not Supported (V4) : 0"],
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Runs acpiexec commands on `dir/dsdt.aml` in one run (each run takes a
/// second) and returns the output of each, checked for interpreter errors.
/// The outputs are told apart by evaluating a name that does not exist
/// (`\MKnn`) after each command.
fn acpiexec(dir: &Path, commands: &[String]) -> Vec<String> {
    let separator = |i: usize| format!("\\MK{i:02}");
    let batch: Vec<String> = commands
        .iter()
        .enumerate()
        .map(|(i, c)| format!("{c};evaluate {}", separator(i)))
        .collect();
    let out = run(dir, "acpiexec", &["-b", &batch.join(";"), "dsdt.aml"]);
    assert!(
        !out.contains("ACPI Error") && !out.contains("ACPI Exception"),
        "acpiexec {commands:?}:\n{out}"
    );
    let mut rest = out.as_str();
    let mut outputs = Vec::new();
    for (i, c) in commands.iter().enumerate() {
        let end = format!(
            "Evaluation of {} failed with status AE_NOT_FOUND",
            separator(i)
        );
        let (this, after) = rest
            .split_once(&end)
            .unwrap_or_else(|| panic!("no output for {c:?} in\n{out}"));
        outputs.push(this.to_string());
        rest = after;
    }
    outputs
}

/// A value acpiexec printed in hex.
fn hex(s: &str) -> u64 {
    u64::from_str_radix(s.trim(), 16).unwrap_or_else(|e| panic!("{s:?}: {e}"))
}

/// The command that evaluates `path`.
fn evaluate(path: &str) -> String {
    format!("evaluate {path}")
}

/// The integer the output of [`evaluate`]`(path)` shows, or `None` if
/// `path` does not exist.
fn int_of(path: &str, out: &str) -> Option<u64> {
    if out.contains(&format!(
        "Evaluation of {path} failed with status AE_NOT_FOUND"
    )) {
        return None;
    }
    let line = lines_from(out, &format!("Evaluation of {path} returned"), 2)[1];
    let v = line
        .trim()
        .strip_prefix("[Integer] = ")
        .unwrap_or_else(|| panic!("{path} is not an integer:\n{out}"));
    Some(hex(v))
}

/// An EISA id from its compressed form (ACPI 6.5, 6.1.5): the DWord's bytes
/// big-endian, three 5-bit letters (1 is 'A'), four hex digits.
fn eisa_id(v: u64) -> String {
    let v = (v as u32).swap_bytes();
    let letter = |shift: u32| char::from(b'@' + ((v >> shift) & 0x1f) as u8);
    format!(
        "{}{}{}{:04X}",
        letter(26),
        letter(21),
        letter(16),
        v & 0xffff
    )
}

/// Every device with a `_HID`, from the output of acpiexec's `find _HID`:
/// (device path, the id).
fn devices(find_hid: &str) -> Vec<(String, String)> {
    find_hid
        .lines()
        .filter_map(|l| {
            let (path, rest) = l.trim().split_once(' ')?;
            let dev = path.strip_suffix("._HID")?;
            let (_, v) = rest.rsplit_once(" = ")?;
            Some((dev.to_string(), eisa_id(hex(v))))
        })
        .collect()
}

/// One resource descriptor as ACPICA decodes it: its title ("32-Bit DWORD
/// Address Space Resource") and its fields ("Address Minimum" -> "FE000000").
#[derive(Debug)]
struct Resource {
    title: String,
    fields: BTreeMap<String, String>,
}

impl Resource {
    fn field(&self, name: &str) -> &str {
        self.fields
            .get(name)
            .unwrap_or_else(|| panic!("no {name:?} in {self:?}"))
    }

    fn int(&self, name: &str) -> u64 {
        hex(self.field(name))
    }
}

/// A device's `_CRS` as ACPICA's resource manager decodes it, from the
/// output of acpiexec's `resources DEVICE`, up to and including the end tag.
fn resources(out: &str) -> Vec<Resource> {
    let mut list: Vec<Resource> = Vec::new();
    for line in out.lines() {
        // Titles start at the line's start ("[00] I/O Resource"), trace
        // lines do not.
        if let Some(title) = line
            .strip_prefix('[')
            .and_then(|l| l.split_once("] "))
            .map(|(_, t)| t.trim())
        {
            let done = list.last().is_some_and(|r| r.title.starts_with("EndTag"));
            if done {
                break;
            }
            list.push(Resource {
                title: title.to_string(),
                fields: BTreeMap::new(),
            });
        } else if let (Some(r), Some((k, v))) = (list.last_mut(), line.split_once(" : ")) {
            if !r.title.starts_with("EndTag") {
                r.fields.insert(k.trim().to_string(), v.trim().to_string());
            }
        }
    }
    assert!(
        list.last().is_some_and(|r| r.title == "EndTag Resource"),
        "no end tag in\n{out}"
    );
    list
}

/// Asserts that `r` is the memory range `want`: a DWORD address space
/// descriptor below 4 GiB, QWORD above, read-write.
fn is_memory_range(r: &Resource, want: &std::ops::Range<u64>) {
    let title = if want.end <= FOUR_GIB {
        "32-Bit DWORD Address Space Resource"
    } else {
        "64-Bit QWORD Address Space Resource"
    };
    assert_eq!(r.title, title, "{want:x?}: {r:?}");
    assert_eq!(r.field("Resource Type"), "Memory Range", "{r:?}");
    assert_eq!(r.field("Write Protect"), "ReadWrite", "{r:?}");
    assert_eq!(r.int("Address Minimum"), want.start, "{r:?}");
    assert_eq!(r.int("Address Maximum"), want.end - 1, "{r:?}");
    assert_eq!(r.int("Address Length"), want.end - want.start, "{r:?}");
}

/// ACPICA loads the DSDT with two PCI buses and a UART and evaluates it:
/// `\_S5`, the UART's I/O range without an interrupt, each bridge's ids,
/// segment, bus and resources, and the ECAM reservation.
#[test]
fn acpiexec_evaluates_the_dsdt() {
    if !tool_available("acpiexec") {
        return;
    }
    let pci = two_buses();
    let t = mint_acpi::build(BASE, &[1, 2], 0x608, 0xf, Some(0x2f8), &pci).unwrap();
    let dir = scratch("acpiexec");
    std::fs::write(dir.join("dsdt.aml"), tables(&t).dsdt).unwrap();

    // First what there is: `\\_S5`, the devices, any `_OSC` or `_PRT`.
    let [s5, find_hid, find_osc, find_prt] = &acpiexec(
        &dir,
        &[
            evaluate("\\_S5"),
            "find _HID".into(),
            "find _OSC".into(),
            "find _PRT".into(),
        ],
    )[..] else {
        unreachable!()
    };
    // `\\_S5`: SLP_TYPa = SLP_TYPb = 5.
    let lines = lines_from(s5, "Evaluation of \\_S5 returned", 4);
    assert_eq!(lines[1].trim(), "[Package] Contains 2 Elements:", "{s5}");
    for line in &lines[2..4] {
        assert_eq!(
            line.trim().strip_prefix("[Integer] = ").map(hex),
            Some(5),
            "{s5}"
        );
    }
    // No _OSC and no _PRT anywhere in the namespace.
    assert!(!find_osc.contains("._OSC"), "{find_osc}");
    assert!(!find_prt.contains("._PRT"), "{find_prt}");

    let devs = devices(find_hid);
    let with = |id: &str| -> Vec<String> {
        devs.iter()
            .filter(|(_, i)| i == id)
            .map(|(d, _)| d.clone())
            .collect()
    };
    let [uart] = &with("PNP0501")[..] else {
        panic!("one UART: {devs:?}")
    };
    let [mb] = &with("PNP0C02")[..] else {
        panic!("one motherboard device: {devs:?}")
    };
    let bridges = with("PNP0A08");
    assert_eq!(bridges.len(), pci.len(), "{devs:?}");
    assert_eq!(devs.len(), pci.len() + 2, "nothing else: {devs:?}");

    // Then each device's resources and each bridge's names.
    let mut commands = vec![format!("resources {uart}"), format!("resources {mb}")];
    for d in &bridges {
        commands.push(format!("resources {d}"));
        for name in ["_SEG", "_BBN", "_CID", "_UID"] {
            commands.push(evaluate(&format!("{d}.{name}")));
        }
    }
    let outs = acpiexec(&dir, &commands);

    // The UART: one I/O range of 8 ports at its base, no interrupt.
    let r = resources(&outs[0]);
    assert_eq!(r.len(), 2, "{r:?}");
    assert_eq!(r[0].title, "I/O Resource");
    assert_eq!(r[0].field("Address Decoding"), "Decode16");
    assert_eq!(r[0].int("Address Minimum"), 0x2f8);
    assert_eq!(r[0].int("Address Maximum"), 0x2f8);
    assert_eq!(r[0].int("Address Length"), 8);

    // The motherboard device reserves each bus's 1 MiB of ECAM.
    let r = resources(&outs[1]);
    assert_eq!(r.len(), pci.len() + 1, "{r:?}");
    for (d, b) in r.iter().zip(&pci) {
        let start = b.ecam_base + (u64::from(b.bus) << 20);
        let slice = start..start + (1 << 20);
        if slice.end <= FOUR_GIB {
            assert_eq!(d.title, "32-Bit Fixed Memory Range Resource", "{d:?}");
            assert_eq!(d.field("Write Protect"), "ReadWrite");
            assert_eq!(d.int("Address"), slice.start);
            assert_eq!(d.int("Address Length"), 1 << 20);
        } else {
            is_memory_range(d, &slice);
        }
    }

    // The bridges: one per bus, matched by segment and bus number.
    struct Bridge {
        seg: Option<u64>,
        bbn: Option<u64>,
        cid: Option<u64>,
        uid: Option<u64>,
        resources: Vec<Resource>,
    }
    let found: Vec<Bridge> = bridges
        .iter()
        .zip(outs[2..].chunks(5))
        .map(|(d, o)| Bridge {
            resources: resources(&o[0]),
            seg: int_of(&format!("{d}._SEG"), &o[1]),
            bbn: int_of(&format!("{d}._BBN"), &o[2]),
            cid: int_of(&format!("{d}._CID"), &o[3]),
            uid: int_of(&format!("{d}._UID"), &o[4]),
        })
        .collect();
    let mut uids: Vec<u64> = found.iter().map(|f| f.uid.expect("a _UID")).collect();
    uids.sort_unstable();
    uids.dedup();
    assert_eq!(uids.len(), pci.len(), "unique _UIDs");
    for b in &pci {
        let matching: Vec<&Bridge> = found
            .iter()
            .filter(|f| f.seg == Some(u64::from(b.segment)) && f.bbn == Some(u64::from(b.bus)))
            .collect();
        let [f] = matching[..] else {
            panic!("one bridge for {b:x?}")
        };
        assert_eq!(f.cid.map(eisa_id).as_deref(), Some("PNP0A03"));

        // The bus range, each memory window, each I/O window, in the
        // given order; all produced by the bridge.
        let r = &f.resources;
        assert_eq!(r.len(), 1 + b.mem.len() + b.io.len() + 1, "{r:?}");
        for d in &r[..r.len() - 1] {
            assert_eq!(d.field("Consumer/Producer"), "ResourceProducer", "{d:?}");
        }
        assert_eq!(r[0].title, "16-Bit WORD Address Space Resource");
        assert_eq!(r[0].field("Resource Type"), "Bus Number Range");
        assert_eq!(r[0].int("Address Minimum"), u64::from(b.bus));
        assert_eq!(r[0].int("Address Maximum"), u64::from(b.bus));
        assert_eq!(r[0].int("Address Length"), 1);
        for (d, w) in r[1..].iter().zip(&b.mem) {
            is_memory_range(d, w);
        }
        for (d, w) in r[1 + b.mem.len()..].iter().zip(&b.io) {
            assert_eq!(d.title, "16-Bit WORD Address Space Resource", "{d:?}");
            assert_eq!(d.field("Resource Type"), "I/O Range");
            assert_eq!(d.int("Address Minimum"), u64::from(w.start));
            assert_eq!(d.int("Address Maximum"), u64::from(w.end - 1));
            assert_eq!(d.int("Address Length"), u64::from(w.end - w.start));
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Without a UART or PCI buses the DSDT holds `\_S5` alone.
#[test]
fn acpiexec_finds_no_device_in_the_smallest_dsdt() {
    if !tool_available("acpiexec") {
        return;
    }
    let t = mint_acpi::build(BASE, &[1], 0x608, 0xf, None, &[]).unwrap();
    let dir = scratch("acpiexec-empty");
    std::fs::write(dir.join("dsdt.aml"), tables(&t).dsdt).unwrap();
    let outs = acpiexec(&dir, &["find _HID".into(), evaluate("\\_S5")]);
    assert_eq!(devices(&outs[0]), vec![]);
    assert!(
        outs[1].contains("[Package] Contains 2 Elements:"),
        "{}",
        outs[1]
    );
    let _ = std::fs::remove_dir_all(&dir);
}
