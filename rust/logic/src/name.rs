//! Partition names: `os` followed by a decimal number from [`MIN_INDEX`] to
//! [`MAX_INDEX`] without leading zero, e.g. `os2` (the host itself is `os1`).

use core::fmt;

/// Lowest partition number.
pub const MIN_INDEX: u8 = 2;
/// Highest partition number.
pub const MAX_INDEX: u8 = 255;
/// Longest valid name, in bytes (`"os255"`).
pub const MAX_NAME_LEN: usize = 5;

/// Why a partition name was refused. The offending input is not embedded in
/// the message (no allocation); callers may print it next to the message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameError {
    /// The name is empty.
    Empty,
    /// The name is not `os` followed by decimal digits without leading zero.
    Malformed,
    /// The number is outside `MIN_INDEX..=MAX_INDEX`.
    OutOfRange,
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self {
            NameError::Empty => "empty",
            NameError::Malformed => "malformed",
            NameError::OutOfRange => "number out of range",
        };
        write!(
            f,
            "partition name must be osN with N from {MIN_INDEX} to {MAX_INDEX} and no leading zero ({what})"
        )
    }
}

impl core::error::Error for NameError {}

/// Checks a partition name (one trailing `'\n'` from `echo` allowed) and
/// returns it without the newline.
pub fn parse_name(s: &str) -> Result<&str, NameError> {
    let name = s.strip_suffix('\n').unwrap_or(s);
    number(name).map(|_| name)
}

/// The number `N` of a partition name `osN` (one trailing `'\n'` allowed).
pub fn index(s: &str) -> Result<u8, NameError> {
    number(s.strip_suffix('\n').unwrap_or(s))
}

/// The number of an exact name (no newline allowed).
fn number(name: &str) -> Result<u8, NameError> {
    if name.is_empty() {
        return Err(NameError::Empty);
    }
    let digits = name.strip_prefix("os").ok_or(NameError::Malformed)?;
    if digits.is_empty() || digits.starts_with('0') || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(NameError::Malformed);
    }
    // At most 3 digits fit the range; longer digit strings are out of range
    // (and could overflow), so reject them before converting.
    if digits.len() > 3 {
        return Err(NameError::OutOfRange);
    }
    let n = digits.bytes().fold(0u32, |acc, b| {
        acc.saturating_mul(10)
            .saturating_add(u32::from(b.wrapping_sub(b'0')))
    });
    match u8::try_from(n) {
        Ok(n) if n >= MIN_INDEX => Ok(n),
        _ => Err(NameError::OutOfRange),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::ToString;

    #[test]
    fn valid() {
        assert_eq!(parse_name("os2"), Ok("os2"));
        assert_eq!(parse_name("os2\n"), Ok("os2"));
        assert_eq!(parse_name("os10"), Ok("os10"));
        assert_eq!(parse_name("os255"), Ok("os255"));
        assert_eq!(index("os37\n"), Ok(37));
        assert_eq!(index("os255"), Ok(255));
        assert_eq!("os255".len(), MAX_NAME_LEN);
    }

    #[test]
    fn invalid() {
        use NameError::*;
        for (s, e) in [
            ("", Empty),
            ("\n", Empty),
            ("os", Malformed),
            ("os\n", Malformed),
            ("os02", Malformed),
            ("os0", Malformed),
            ("OS2", Malformed),
            ("os2 ", Malformed),
            (" os2", Malformed),
            ("os2\n\n", Malformed),
            ("os-2", Malformed),
            ("os+2", Malformed),
            ("os2a", Malformed),
            ("xos2", Malformed),
            ("os\u{663}", Malformed),
            ("os1", OutOfRange),
            ("os256", OutOfRange),
            ("os999", OutOfRange),
            ("os99999999999999999999", OutOfRange),
        ] {
            assert_eq!(parse_name(s), Err(e), "{s:?}");
        }
        let msg = Malformed.to_string();
        assert!(msg.starts_with("partition name must be osN with N from 2 to 255"));
        assert!(!msg.contains('\n'));
    }
}
