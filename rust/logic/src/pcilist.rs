//! PCI function addresses and the list a user writes to a partition's
//! `devices` file: `0000:01:00.0,0000:02:00.0` (commas or whitespace between
//! items; an empty write means "no devices").
//!
//! An address is `SSSS:BB:DD.F` (segment, bus, device, function, hex) as
//! Linux names functions in `/sys/bus/pci/devices`; the short form `BB:DD.F`
//! (segment 0) is accepted too. [`Bdf`]'s `Display` writes the long form.

use core::fmt;

/// Most functions one partition may own.
pub const MAX_DEVICES: usize = 8;

/// One PCI function's address.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Bdf {
    /// PCI segment (domain).
    pub segment: u16,
    /// Bus number.
    pub bus: u8,
    /// Device number, below 32.
    pub device: u8,
    /// Function number, below 8.
    pub function: u8,
}

impl Bdf {
    /// The function's `devfn` byte, as the kernel's PCI core numbers it.
    pub fn devfn(&self) -> u8 {
        (self.device << 3) | self.function
    }
}

impl fmt::Display for Bdf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04x}:{:02x}:{:02x}.{:x}",
            self.segment, self.bus, self.device, self.function
        )
    }
}

/// Why a PCI address or list could not be parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PciListError {
    /// An item is not `SSSS:BB:DD.F` or `BB:DD.F` in hex.
    Malformed,
    /// The device number is 32 or more, or the function 8 or more.
    OutOfRange,
    /// The same function is listed twice.
    Duplicate(Bdf),
    /// More than [`MAX_DEVICES`] functions.
    TooMany,
}

impl fmt::Display for PciListError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PciListError::Malformed => f.write_str(
                "malformed PCI address: expected SSSS:BB:DD.F (hex, as in /sys/bus/pci/devices), separated by commas",
            ),
            PciListError::OutOfRange => {
                f.write_str("PCI address out of range: device numbers are 00-1f, functions 0-7")
            }
            PciListError::Duplicate(b) => write!(f, "{b} is listed twice"),
            PciListError::TooMany => write!(f, "a partition owns at most {MAX_DEVICES} PCI functions"),
        }
    }
}

impl core::error::Error for PciListError {}

/// A hex field of exactly `len` digits (1 to 4).
fn hex(s: &str, len: usize) -> Result<u16, PciListError> {
    if s.len() != len || !s.bytes().all(|c| c.is_ascii_hexdigit()) {
        return Err(PciListError::Malformed);
    }
    u16::from_str_radix(s, 16).map_err(|_| PciListError::Malformed)
}

/// Parses one address, `SSSS:BB:DD.F` or `BB:DD.F`.
pub fn parse_bdf(s: &str) -> Result<Bdf, PciListError> {
    let (segment, rest) = match s.split_once(':') {
        Some((a, b)) if b.contains(':') => (hex(a, 4)?, b),
        _ => (0, s),
    };
    let (bus, rest) = rest.split_once(':').ok_or(PciListError::Malformed)?;
    let (device, function) = rest.split_once('.').ok_or(PciListError::Malformed)?;
    let (bus, device, function) = (hex(bus, 2)?, hex(device, 2)?, hex(function, 1)?);
    if device >= 32 || function >= 8 {
        return Err(PciListError::OutOfRange);
    }
    Ok(Bdf {
        segment,
        bus: bus as u8,
        device: device as u8,
        function: function as u8,
    })
}

/// A list of distinct functions, in the order given.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PciList {
    items: [Bdf; MAX_DEVICES],
    len: usize,
}

impl PciList {
    /// The functions.
    pub fn as_slice(&self) -> &[Bdf] {
        &self.items[..self.len]
    }

    /// Whether `b` is in the list.
    pub fn contains(&self, b: &Bdf) -> bool {
        self.as_slice().contains(b)
    }
}

/// Parses what is written to `devices`: addresses separated by commas and/or
/// whitespace; nothing (or only whitespace) is the empty list.
pub fn parse(s: &str) -> Result<PciList, PciListError> {
    let mut list = PciList::default();
    for item in s
        .split(|c: char| c == ',' || c.is_ascii_whitespace())
        .filter(|i| !i.is_empty())
    {
        let b = parse_bdf(item)?;
        if list.contains(&b) {
            return Err(PciListError::Duplicate(b));
        }
        let slot = list.items.get_mut(list.len).ok_or(PciListError::TooMany)?;
        *slot = b;
        list.len += 1;
    }
    // A lone comma between nothing is malformed, not empty.
    if list.len == 0 && s.contains(',') {
        return Err(PciListError::Malformed);
    }
    Ok(list)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::format;

    fn b(segment: u16, bus: u8, device: u8, function: u8) -> Bdf {
        Bdf {
            segment,
            bus,
            device,
            function,
        }
    }

    #[test]
    fn addresses() {
        assert_eq!(parse_bdf("0000:01:00.0"), Ok(b(0, 1, 0, 0)));
        assert_eq!(parse_bdf("10ab:fe:1f.7"), Ok(b(0x10ab, 0xfe, 31, 7)));
        assert_eq!(parse_bdf("02:03.1"), Ok(b(0, 2, 3, 1)));
        assert_eq!(parse_bdf("0000:01:00.0").unwrap().devfn(), 0);
        assert_eq!(parse_bdf("00:1f.7").unwrap().devfn(), 0xff);
        assert_eq!(format!("{}", b(0x10ab, 0xfe, 31, 7)), "10ab:fe:1f.7");
        for bad in [
            "",
            "0000:01:00",
            "000:01:00.0",
            "0000:1:00.0",
            "0000:01:0.0",
            "0000:01:00.00",
            "0000:01:00.g",
            "x0000:01:00.0",
            "0000:01:00.0:",
            "0000:01:00:0",
            "+000:01:00.0",
            "0000:0 :00.0",
            "01.00.0",
            "0000::00.0",
            "ÿ000:01:00.0",
        ] {
            assert_eq!(parse_bdf(bad), Err(PciListError::Malformed), "{bad:?}");
        }
        assert_eq!(parse_bdf("0000:01:20.0"), Err(PciListError::OutOfRange));
        assert_eq!(parse_bdf("0000:01:00.8"), Err(PciListError::OutOfRange));
        // Display and parse agree for every device/function.
        for dev in 0..32 {
            for func in 0..8 {
                let x = b(0x1234, 0x56, dev, func);
                assert_eq!(parse_bdf(&format!("{x}")), Ok(x));
            }
        }
    }

    #[test]
    fn lists() {
        assert_eq!(parse("").unwrap().as_slice(), &[]);
        assert_eq!(parse(" \n").unwrap().as_slice(), &[]);
        assert_eq!(
            parse("0000:01:00.0,0000:02:00.0\n").unwrap().as_slice(),
            &[b(0, 1, 0, 0), b(0, 2, 0, 0)]
        );
        assert_eq!(
            parse("02:00.0 01:00.0").unwrap().as_slice(),
            &[b(0, 2, 0, 0), b(0, 1, 0, 0)]
        );
        assert_eq!(parse(","), Err(PciListError::Malformed));
        assert_eq!(parse("01:00.0,x"), Err(PciListError::Malformed));
        assert_eq!(
            parse("01:00.0,0000:01:00.0"),
            Err(PciListError::Duplicate(b(0, 1, 0, 0)))
        );
        let eight: std::vec::Vec<_> = (1..=8).map(|i| format!("{i:02x}:00.0")).collect();
        assert_eq!(parse(&eight.join(",")).unwrap().as_slice().len(), 8);
        let nine: std::vec::Vec<_> = (1..=9).map(|i| format!("{i:02x}:00.0")).collect();
        assert_eq!(parse(&nine.join(",")), Err(PciListError::TooMany));
        assert!(parse("01:00.0").unwrap().contains(&b(0, 1, 0, 0)));
        assert!(!parse("01:00.0").unwrap().contains(&b(0, 1, 0, 1)));
    }
}
