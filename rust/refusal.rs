// SPDX-License-Identifier: GPL-2.0

//! One typed refusal for every sysfs handler: an errno and a one-line reason.
//!
//! Handlers return `Result<(), Refusal>`; the sysfs glue (`sysfs.rs`) logs
//! every refusal the same way, `mint: [osN: ]<file>: <reason>`, and returns
//! its errno to the writer. A handler never logs a refusal itself.

use core::fmt;

use kernel::prelude::*;

/// Longest formatted reason kept (longer ones are cut at a UTF-8 boundary).
const REASON_LEN: usize = 224;

/// Why a request was refused, and the errno the caller gets.
pub(crate) struct Refusal {
    err: Error,
    reason: Reason,
}

enum Reason {
    Static(&'static str),
    Text { buf: [u8; REASON_LEN], len: usize },
}

/// A `fmt::Write` into a fixed buffer that silently stops when it is full.
struct Cut<'a> {
    buf: &'a mut [u8; REASON_LEN],
    len: usize,
}

impl fmt::Write for Cut<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for ch in s.chars() {
            let mut tmp = [0u8; 4];
            let bytes = ch.encode_utf8(&mut tmp).as_bytes();
            let end = self.len + bytes.len();
            let Some(dst) = self.buf.get_mut(self.len..end) else {
                return Ok(());
            };
            dst.copy_from_slice(bytes);
            self.len = end;
        }
        Ok(())
    }
}

impl Refusal {
    /// A refusal with a fixed reason.
    pub(crate) fn new(err: Error, why: &'static str) -> Self {
        Self {
            err,
            reason: Reason::Static(why),
        }
    }

    /// A refusal whose reason is formatted from `why` (e.g. a parser error).
    pub(crate) fn with(err: Error, why: &dyn fmt::Display) -> Self {
        let mut buf = [0u8; REASON_LEN];
        let mut w = Cut {
            buf: &mut buf,
            len: 0,
        };
        let _ = fmt::write(&mut w, format_args!("{why}"));
        let len = w.len;
        Self {
            err,
            reason: Reason::Text { buf, len },
        }
    }

    /// A refusal from a logic error that knows its own errno.
    pub(crate) fn errno(errno: i32, why: &dyn fmt::Display) -> Self {
        Self::with(Error::from_errno(-errno), why)
    }

    /// The errno returned to the caller.
    pub(crate) fn error(&self) -> Error {
        self.err
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.reason {
            Reason::Static(s) => f.write_str(s),
            Reason::Text { buf, len } => {
                f.write_str(core::str::from_utf8(&buf[..*len]).unwrap_or("(unprintable reason)"))
            }
        }
    }
}

/// A kernel error without a reason of its own (an allocation failure, say)
/// becomes a refusal that names the errno.
impl From<Error> for Refusal {
    fn from(err: Error) -> Self {
        struct Errno(i32);
        impl fmt::Display for Errno {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "failed with error {}", self.0)
            }
        }
        Self::with(err, &Errno(err.to_errno()))
    }
}

/// An allocation failure.
impl From<kernel::alloc::AllocError> for Refusal {
    fn from(_: kernel::alloc::AllocError) -> Self {
        Self::new(ENOMEM, "out of memory")
    }
}

/// A `show` whose output does not fit in sysfs's page.
impl From<fmt::Error> for Refusal {
    fn from(_: fmt::Error) -> Self {
        Self::new(EFBIG, "output does not fit in a page")
    }
}

/// What was written to a text file, as text.
pub(crate) fn text(input: &[u8]) -> Result<&str, Refusal> {
    core::str::from_utf8(input).map_err(|_| Refusal::new(EINVAL, "input is not text"))
}
