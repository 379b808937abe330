// SPDX-License-Identifier: GPL-2.0

//! The one safe wrapper over the kernel's kobject/sysfs bindings.
//!
//! Linux 6.12's Rust has no sysfs abstraction, so this file owns every raw
//! kobject and attribute call. The rest of the module sees three things:
//!
//! - [`Attribute`]: a `static` text file description (name, mode, Rust handlers);
//! - [`BinAttribute`]: a `static` write-only binary file (chunked writes);
//! - [`Dir`]: a directory (kobject) that owns the files added to it and removes
//!   everything on drop.
//!
//! Handlers receive the name of the directory the file lives in (`b"mint"` for
//! the top level, `b"os2"` for a partition), so one static attribute serves
//! every partition directory. Removing a directory waits for handlers that are
//! running on its files (kernfs drains them), so a handler must never wait on a
//! lock held by code that is removing the handler's own directory.

use core::cell::UnsafeCell;
use core::fmt;
use core::ptr::NonNull;

use kernel::bindings;
use kernel::prelude::*;
use kernel::str::CStr;

/// Size of the buffer sysfs hands to `show` (one page).
const SHOW_BUF_LEN: usize = 4096;

/// Longest directory name a [`Dir`] accepts (without the NUL).
pub(crate) const MAX_DIR_NAME: usize = 15;

/// Renders a text file's content.
pub(crate) type ShowFn = fn(dir: &[u8], out: &mut Output<'_>) -> Result;
/// Acts on a write to a text file; `input` is exactly what userspace wrote.
pub(crate) type StoreFn = fn(dir: &[u8], input: &[u8]) -> Result;
/// Accepts one chunk of a write to a binary file, at byte `offset`.
pub(crate) type BinWriteFn = fn(dir: &[u8], offset: u64, data: &[u8]) -> Result;

/// The page a `show` handler writes into; formatting past its end fails.
pub(crate) struct Output<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl fmt::Write for Output<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let bytes = s.as_bytes();
        let end = self.len.checked_add(bytes.len()).ok_or(fmt::Error)?;
        let dst = self.buf.get_mut(self.len..end).ok_or(fmt::Error)?;
        dst.copy_from_slice(bytes);
        self.len = end;
        Ok(())
    }
}

/// A text sysfs file: its name, mode and handlers. Declare it as a `static`.
///
/// `#[repr(C)]` with the raw `kobj_attribute` first, so the pointer sysfs
/// passes back to the callbacks can be turned into the containing `Attribute`.
#[repr(C)]
pub(crate) struct Attribute {
    raw: UnsafeCell<bindings::kobj_attribute>,
    show: Option<ShowFn>,
    store: Option<StoreFn>,
}

// SAFETY: the raw attribute is written only by the kernel's sysfs core during
// registration (lockdep key setup is compiled out in our configuration) and is
// otherwise read-only; the handlers are plain `fn` pointers.
unsafe impl Sync for Attribute {}

impl Attribute {
    /// Describes a file. `mode` is the octal permission (e.g. `0o444`, `0o600`);
    /// a handler that is `None` must not be reachable through the mode bits.
    pub(crate) const fn new(
        name: &'static CStr,
        mode: u16,
        show: Option<ShowFn>,
        store: Option<StoreFn>,
    ) -> Self {
        Self {
            raw: UnsafeCell::new(bindings::kobj_attribute {
                attr: bindings::attribute {
                    name: name.as_char_ptr(),
                    mode,
                },
                show: if show.is_some() {
                    Some(show_callback)
                } else {
                    None
                },
                store: if store.is_some() {
                    Some(store_callback)
                } else {
                    None
                },
            }),
            show,
            store,
        }
    }

    fn raw_attr(&'static self) -> *const bindings::attribute {
        // SAFETY: `raw` lives as long as `self` ('static); taking a field
        // address does not create a reference.
        unsafe { core::ptr::addr_of!((*self.raw.get()).attr) }
    }
}

/// A write-only binary sysfs file that receives data in chunks (sysfs splits
/// a large `write(2)` into page-sized calls with increasing offsets).
#[repr(C)]
pub(crate) struct BinAttribute {
    raw: UnsafeCell<bindings::bin_attribute>,
    write: BinWriteFn,
}

// SAFETY: as for `Attribute`: the raw description is only read after
// registration and the handler is a plain `fn` pointer.
unsafe impl Sync for BinAttribute {}

impl BinAttribute {
    /// Describes a write-only binary file of unbounded size.
    pub(crate) const fn new(name: &'static CStr, mode: u16, write: BinWriteFn) -> Self {
        Self {
            raw: UnsafeCell::new(bindings::bin_attribute {
                attr: bindings::attribute {
                    name: name.as_char_ptr(),
                    mode,
                },
                size: 0,
                private: core::ptr::null_mut(),
                f_mapping: None,
                read: None,
                write: Some(bin_write_callback),
                llseek: None,
                mmap: None,
            }),
            write,
        }
    }
}

/// A sysfs directory backed by a kobject; removed, with its files, on drop.
pub(crate) struct Dir {
    kobj: NonNull<bindings::kobject>,
}

// SAFETY: a kobject may be used and released from any thread; `Dir` only
// hands its pointer to kobject/sysfs functions, which do their own locking.
unsafe impl Send for Dir {}
// SAFETY: `&Dir` exposes no interior mutation of its own.
unsafe impl Sync for Dir {}

impl Dir {
    /// Creates `/sys/kernel/<name>`.
    pub(crate) fn new_in_kernel(name: &CStr) -> Result<Self> {
        // SAFETY: `kernel_kobj` is set up at boot and never changes afterwards.
        let parent = unsafe { bindings::kernel_kobj };
        Self::create(name, parent)
    }

    /// Creates a subdirectory `<self>/<name>`; `name` must be at most
    /// [`MAX_DIR_NAME`] bytes.
    pub(crate) fn new_child(&self, name: &[u8]) -> Result<Self> {
        let mut buf = [0u8; MAX_DIR_NAME + 1];
        buf.get_mut(..name.len())
            .ok_or(EINVAL)?
            .copy_from_slice(name);
        let cname = CStr::from_bytes_with_nul(&buf[..=name.len()]).map_err(|_| EINVAL)?;
        Self::create(cname, self.kobj.as_ptr())
    }

    fn create(name: &CStr, parent: *mut bindings::kobject) -> Result<Self> {
        // SAFETY: `name` is NUL-terminated and copied by the kobject core;
        // `parent` is a live kobject (the caller's `Dir` or `kernel_kobj`).
        let kobj = unsafe { bindings::kobject_create_and_add(name.as_char_ptr(), parent) };
        NonNull::new(kobj).map(|kobj| Self { kobj }).ok_or(EEXIST)
    }

    /// Adds a text file; it disappears with the directory.
    pub(crate) fn add(&self, attr: &'static Attribute) -> Result {
        // SAFETY: `kobj` is live for `self`'s lifetime and `attr` is 'static.
        let ret = unsafe {
            bindings::sysfs_create_file_ns(self.kobj.as_ptr(), attr.raw_attr(), core::ptr::null())
        };
        kernel::error::to_result(ret)
    }

    /// Adds a binary file; it disappears with the directory.
    pub(crate) fn add_bin(&self, attr: &'static BinAttribute) -> Result {
        // SAFETY: `kobj` is live for `self`'s lifetime and `attr` is 'static.
        let ret = unsafe { bindings::sysfs_create_bin_file(self.kobj.as_ptr(), attr.raw.get()) };
        kernel::error::to_result(ret)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        // SAFETY: we own the reference returned by `kobject_create_and_add`;
        // dropping it removes the directory and its files, waiting for running
        // handlers first.
        unsafe { bindings::kobject_put(self.kobj.as_ptr()) };
    }
}

/// The name of the directory `kobj` stands for.
///
/// # Safety
///
/// `kobj` must point to a live kobject with a NUL-terminated name.
unsafe fn dir_name<'a>(kobj: *mut bindings::kobject) -> &'a [u8] {
    // SAFETY: guaranteed by the caller.
    let name = unsafe { (*kobj).name };
    if name.is_null() {
        return b"";
    }
    // SAFETY: the kobject core keeps a NUL-terminated name for its lifetime.
    unsafe { CStr::from_char_ptr(name) }.as_bytes()
}

fn errno_ret(err: Error) -> isize {
    err.to_errno() as isize
}

/// `kobj_attribute.show` for every [`Attribute`].
///
/// # Safety
///
/// Called by sysfs only: `kobj` is live, `attr` is the `raw` field of a
/// registered [`Attribute`], `buf` is a writable page.
unsafe extern "C" fn show_callback(
    kobj: *mut bindings::kobject,
    attr: *mut bindings::kobj_attribute,
    buf: *mut kernel::ffi::c_char,
) -> isize {
    // SAFETY: `raw` is the first field of the `#[repr(C)]` `Attribute` that
    // was registered, so the pointers coincide.
    let this = unsafe { &*(attr as *const Attribute) };
    let Some(show) = this.show else {
        return errno_ret(EIO);
    };
    // SAFETY: sysfs passes a page-sized, writable, exclusively owned buffer.
    let page = unsafe { core::slice::from_raw_parts_mut(buf as *mut u8, SHOW_BUF_LEN) };
    let mut out = Output { buf: page, len: 0 };
    // SAFETY: `kobj` is live during the callback.
    let dir = unsafe { dir_name(kobj) };
    match show(dir, &mut out) {
        Ok(()) => out.len as isize,
        Err(e) => errno_ret(e),
    }
}

/// `kobj_attribute.store` for every [`Attribute`].
///
/// # Safety
///
/// Called by sysfs only: as for [`show_callback`], with `buf` holding `count`
/// readable bytes.
unsafe extern "C" fn store_callback(
    kobj: *mut bindings::kobject,
    attr: *mut bindings::kobj_attribute,
    buf: *const kernel::ffi::c_char,
    count: usize,
) -> isize {
    // SAFETY: see `show_callback`.
    let this = unsafe { &*(attr as *const Attribute) };
    let Some(store) = this.store else {
        return errno_ret(EIO);
    };
    // SAFETY: sysfs passes `count` readable bytes.
    let input = unsafe { core::slice::from_raw_parts(buf as *const u8, count) };
    // SAFETY: `kobj` is live during the callback.
    let dir = unsafe { dir_name(kobj) };
    match store(dir, input) {
        Ok(()) => count as isize,
        Err(e) => errno_ret(e),
    }
}

/// `bin_attribute.write` for every [`BinAttribute`].
///
/// # Safety
///
/// Called by sysfs only: `kobj` is live, `attr` is the `raw` field of a
/// registered [`BinAttribute`], `buf` holds `count` readable bytes.
unsafe extern "C" fn bin_write_callback(
    _file: *mut bindings::file,
    kobj: *mut bindings::kobject,
    attr: *mut bindings::bin_attribute,
    buf: *mut kernel::ffi::c_char,
    offset: bindings::loff_t,
    count: usize,
) -> isize {
    // SAFETY: `raw` is the first field of the `#[repr(C)]` `BinAttribute`.
    let this = unsafe { &*(attr as *const BinAttribute) };
    let Ok(offset) = u64::try_from(offset) else {
        return errno_ret(EINVAL);
    };
    // SAFETY: sysfs passes `count` readable bytes.
    let data = unsafe { core::slice::from_raw_parts(buf as *const u8, count) };
    // SAFETY: `kobj` is live during the callback.
    let dir = unsafe { dir_name(kobj) };
    match (this.write)(dir, offset, data) {
        Ok(()) => count as isize,
        Err(e) => errno_ret(e),
    }
}
