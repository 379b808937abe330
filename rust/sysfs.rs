// SPDX-License-Identifier: GPL-2.0

//! The one safe wrapper over the kernel's kobject/sysfs bindings.
//!
//! Linux 6.12's Rust has no sysfs abstraction, so this file owns every raw
//! kobject and attribute call. The rest of the module sees:
//!
//! - [`FileDesc`] / [`BinDesc`]: a `static` description of a text file or a
//!   binary file (name, mode, handlers taking `&T`);
//! - [`File`] / [`BinFile`]: one registered instance of such a file, stored
//!   inside the object `T` that owns the directory, so that every handler gets
//!   that object (`this`) directly, without looking anything up;
//! - [`Dir`]: a directory (kobject) that removes itself and its files on drop.
//!
//! Handlers return `Result<(), Refusal>`; a refusal is logged here, the same
//! way for every file (`mint: [osN: ]<file>: <reason>`), and its errno is
//! returned to userspace.
//!
//! Lifetime rule: removing a directory (dropping its [`Dir`]) waits for the
//! handlers running on its files (kernfs drains them) and guarantees that no
//! new one starts; so the owner `T` and its `File`s must outlive the `Dir`,
//! and whoever drops a `Dir` must not hold a lock those handlers may wait on.

use core::cell::UnsafeCell;
use core::fmt;
use core::ptr::NonNull;

use kernel::bindings;
use kernel::prelude::*;
use kernel::str::CStr;

use crate::refusal::Refusal;

/// Size of the buffer sysfs hands to `show` (one page).
const SHOW_BUF_LEN: usize = 4096;

/// Longest directory name a [`Dir`] accepts (without the NUL).
pub(crate) const MAX_DIR_NAME: usize = 15;

extern "C" {
    /// Gives a dynamically allocated attribute the lockdep class `key`
    /// (rust/arch_shim.c). A no-op without lockdep.
    ///
    /// # Safety
    ///
    /// `attr` must point to a writable `struct attribute` not yet registered;
    /// `key` must point to a `struct lock_class_key` in static storage (lockdep
    /// refuses other keys; it is passed untyped because without lockdep the C
    /// struct is empty).
    fn mint_sysfs_attr_init(attr: *mut bindings::attribute, key: *mut core::ffi::c_void);
}

/// The lockdep class of one kind of file, as C's `sysfs_attr_init` gives
/// every attribute declaration its own: removing a partition's files from a
/// top-level file's handler (`destroy`) then never looks like taking a lock
/// of the class already held. Lives in a `static` [`FileDesc`]/[`BinDesc`].
pub(crate) struct LockKey(kernel::types::Opaque<bindings::lock_class_key>);

// SAFETY: lockdep does its own synchronisation on the key; Rust never reads it.
unsafe impl Sync for LockKey {}

impl LockKey {
    /// A key for a `static` (lockdep expects uninitialised static memory).
    pub(crate) const fn new() -> Self {
        Self(kernel::types::Opaque::uninit())
    }
}

/// What owns a directory: the object its files' handlers receive.
pub(crate) trait Owner: Sync + 'static {
    /// What refusals are prefixed with (`"os2"`), or `""` for none.
    fn label(&self) -> &str;
}

/// Renders a text file's content.
pub(crate) type ShowFn<T> = fn(this: &T, out: &mut Output<'_>) -> Result<(), Refusal>;
/// Acts on a write to a text file; `input` is exactly what userspace wrote.
pub(crate) type StoreFn<T> = fn(this: &T, input: &[u8]) -> Result<(), Refusal>;
/// Accepts one chunk of a write to a binary file, at byte `offset`, from the
/// open file `writer` (an identity only: equal for chunks of one `open`).
pub(crate) type BinWriteFn<T> =
    fn(this: &T, writer: usize, offset: u64, data: &[u8]) -> Result<(), Refusal>;
/// Fills `buf` (at most a page) with the binary file's bytes from `offset`;
/// returns how many it wrote, 0 at the end of the content.
pub(crate) type BinReadFn<T> = fn(this: &T, offset: u64, buf: &mut [u8]) -> Result<usize, Refusal>;

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

/// A text file: name, mode, handlers and lockdep class. Declare it as a
/// `static` (the key must be static); a handler
/// that is `None` must not be reachable through the mode bits.
pub(crate) struct FileDesc<T: 'static> {
    /// File name.
    pub(crate) name: &'static CStr,
    /// Octal permission, e.g. `0o444` or `0o600`.
    pub(crate) mode: u16,
    /// Read handler.
    pub(crate) show: Option<ShowFn<T>>,
    /// Write handler.
    pub(crate) store: Option<StoreFn<T>>,
    /// Its lockdep class.
    pub(crate) key: LockKey,
}

/// A binary file of unbounded size (its inode says 0 bytes): writes arrive
/// in chunks (sysfs splits a large `write(2)` into page-sized calls with
/// increasing offsets), reads ask for at most a page at any offset until a
/// read returns 0. Declare it as a `static`; a handler that is `None` must not
/// be reachable through the mode bits.
pub(crate) struct BinDesc<T: 'static> {
    /// File name.
    pub(crate) name: &'static CStr,
    /// Octal permission.
    pub(crate) mode: u16,
    /// Read handler.
    pub(crate) read: Option<BinReadFn<T>>,
    /// Write handler.
    pub(crate) write: Option<BinWriteFn<T>>,
    /// Its lockdep class.
    pub(crate) key: LockKey,
}

/// One text file of `T`'s directory, stored inside `T`.
///
/// # Invariants
///
/// `raw` is the first field (`#[repr(C)]`), so the attribute pointer sysfs
/// hands back is a pointer to the `File`. While the file is registered
/// (between [`Dir::add`] and the drop of that `Dir`), `owner` points at the
/// live `T` that contains this `File`, and neither moves.
#[repr(C)]
pub(crate) struct File<T: 'static> {
    raw: UnsafeCell<bindings::kobj_attribute>,
    owner: UnsafeCell<*const T>,
    desc: &'static FileDesc<T>,
}

// SAFETY: `raw` and `owner` are written only by `Dir::add` before the file is
// registered; afterwards they are only read (by sysfs and the callbacks).
unsafe impl<T: Owner> Sync for File<T> {}
// SAFETY: as above; `T: Owner` is `Sync`.
unsafe impl<T: Owner> Send for File<T> {}

impl<T: Owner> File<T> {
    /// An unregistered file described by `desc`.
    pub(crate) fn new(desc: &'static FileDesc<T>) -> Self {
        // SAFETY: `kobj_attribute` is a C struct of pointers and integers, for
        // which all-zero is a valid value.
        let mut raw: bindings::kobj_attribute = unsafe { core::mem::zeroed() };
        raw.attr.name = desc.name.as_char_ptr();
        raw.attr.mode = desc.mode;
        raw.show = desc.show.map(|_| show_callback::<T> as _);
        raw.store = desc.store.map(|_| store_callback::<T> as _);
        Self {
            raw: UnsafeCell::new(raw),
            owner: UnsafeCell::new(core::ptr::null()),
            desc,
        }
    }
}

/// One binary file of `T`'s directory, stored inside `T`.
///
/// # Invariants
///
/// As for [`File`]: `raw` first, `owner` valid while registered.
#[repr(C)]
pub(crate) struct BinFile<T: 'static> {
    raw: UnsafeCell<bindings::bin_attribute>,
    owner: UnsafeCell<*const T>,
    desc: &'static BinDesc<T>,
}

// SAFETY: as for `File`.
unsafe impl<T: Owner> Sync for BinFile<T> {}
// SAFETY: as for `File`.
unsafe impl<T: Owner> Send for BinFile<T> {}

impl<T: Owner> BinFile<T> {
    /// An unregistered binary file described by `desc`.
    pub(crate) fn new(desc: &'static BinDesc<T>) -> Self {
        // SAFETY: `bin_attribute` is a C struct of pointers and integers, for
        // which all-zero is a valid value.
        let mut raw: bindings::bin_attribute = unsafe { core::mem::zeroed() };
        raw.attr.name = desc.name.as_char_ptr();
        raw.attr.mode = desc.mode;
        raw.read = desc.read.map(|_| bin_read_callback::<T> as _);
        raw.write = desc.write.map(|_| bin_write_callback::<T> as _);
        Self {
            raw: UnsafeCell::new(raw),
            owner: UnsafeCell::new(core::ptr::null()),
            desc,
        }
    }
}

/// A sysfs directory backed by a kobject; removed, with its files, on drop.
///
/// # Invariants
///
/// `kobj` is the reference returned by `kobject_create_and_add`, owned here.
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

    /// Adds `file`, whose handlers will get `owner`.
    ///
    /// # Safety
    ///
    /// `file` must be a field of `*owner` (or otherwise live exactly as long),
    /// and both must stay alive and in place until this `Dir` is dropped;
    /// `file` must not be added twice.
    pub(crate) unsafe fn add<T: Owner>(&self, owner: &T, file: &File<T>) -> Result {
        // SAFETY: not registered yet (caller's guarantee), so nobody else
        // reads these cells; the attribute is a valid, writable C struct.
        unsafe {
            *file.owner.get() = owner;
            mint_sysfs_attr_init(
                core::ptr::addr_of_mut!((*file.raw.get()).attr),
                file.desc.key.0.get().cast(),
            );
        }
        // SAFETY: `kobj` is live for `self`'s lifetime; the attribute stays in
        // place until the directory is removed (caller's guarantee).
        let ret = unsafe {
            bindings::sysfs_create_file_ns(
                self.kobj.as_ptr(),
                core::ptr::addr_of!((*file.raw.get()).attr),
                core::ptr::null(),
            )
        };
        kernel::error::to_result(ret)
    }

    /// Adds binary `file`, whose handler will get `owner`.
    ///
    /// # Safety
    ///
    /// As for [`Dir::add`].
    pub(crate) unsafe fn add_bin<T: Owner>(&self, owner: &T, file: &BinFile<T>) -> Result {
        // SAFETY: as in `add`.
        unsafe {
            *file.owner.get() = owner;
            mint_sysfs_attr_init(
                core::ptr::addr_of_mut!((*file.raw.get()).attr),
                file.desc.key.0.get().cast(),
            );
        }
        // SAFETY: as in `add`.
        let ret = unsafe { bindings::sysfs_create_bin_file(self.kobj.as_ptr(), file.raw.get()) };
        kernel::error::to_result(ret)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        // SAFETY: we own the reference returned by `kobject_create_and_add`.
        // `kobject_del` unlinks the directory and removes its files, waiting
        // for running handlers; the final `kobject_put` then frees it (possibly
        // later, with CONFIG_DEBUG_KOBJECT_RELEASE: the release function is the
        // kernel's own, not this module's).
        unsafe {
            bindings::kobject_del(self.kobj.as_ptr());
            bindings::kobject_put(self.kobj.as_ptr());
        }
    }
}

fn errno_ret(err: Error) -> isize {
    err.to_errno() as isize
}

/// Logs a refusal of `file`'s handler, once, the same way for every file.
fn log_refusal<T: Owner>(owner: &T, file: &CStr, r: &Refusal) {
    let file = file.to_str().unwrap_or("?");
    let label = owner.label();
    if label.is_empty() {
        pr_warn!("{}: {}\n", file, r);
    } else {
        pr_warn!("{}: {}: {}\n", label, file, r);
    }
}

/// `kobj_attribute.show` for every [`File`].
///
/// # Safety
///
/// Called by sysfs only: `attr` is the `raw` field of a registered
/// [`File<T>`], `buf` is a writable page.
unsafe extern "C" fn show_callback<T: Owner>(
    _kobj: *mut bindings::kobject,
    attr: *mut bindings::kobj_attribute,
    buf: *mut kernel::ffi::c_char,
) -> isize {
    // SAFETY: type invariant of `File`: `raw` is its first field.
    let file = unsafe { &*(attr as *const File<T>) };
    // SAFETY: type invariant: the owner is live while the file is registered,
    // and sysfs calls us only then.
    let owner = unsafe { &**file.owner.get() };
    let Some(show) = file.desc.show else {
        return errno_ret(EIO);
    };
    // SAFETY: sysfs passes a page-sized, writable, exclusively owned buffer.
    let page = unsafe { core::slice::from_raw_parts_mut(buf as *mut u8, SHOW_BUF_LEN) };
    let mut out = Output { buf: page, len: 0 };
    let r = show(owner, &mut out).map(|()| out.len as isize);
    answer(owner, file.desc.name, r)
}

/// `kobj_attribute.store` for every [`File`].
///
/// # Safety
///
/// Called by sysfs only: as for [`show_callback`], with `buf` holding `count`
/// readable bytes.
unsafe extern "C" fn store_callback<T: Owner>(
    _kobj: *mut bindings::kobject,
    attr: *mut bindings::kobj_attribute,
    buf: *const kernel::ffi::c_char,
    count: usize,
) -> isize {
    // SAFETY: see `show_callback`.
    let file = unsafe { &*(attr as *const File<T>) };
    // SAFETY: see `show_callback`.
    let owner = unsafe { &**file.owner.get() };
    let Some(store) = file.desc.store else {
        return errno_ret(EIO);
    };
    // SAFETY: sysfs passes `count` readable bytes.
    let input = unsafe { core::slice::from_raw_parts(buf as *const u8, count) };
    answer(owner, file.desc.name, store(owner, input).map(|()| count as isize))
}

/// What a callback returns to sysfs: the handler's count, or its refusal,
/// logged once, as an errno.
fn answer<T: Owner>(owner: &T, file: &CStr, r: Result<isize, Refusal>) -> isize {
    r.unwrap_or_else(|r| {
        log_refusal(owner, file, &r);
        errno_ret(r.error())
    })
}

/// The [`BinFile`] sysfs calls back through `attr`, and its owner.
///
/// # Safety
///
/// `attr` is the `raw` field of a registered [`BinFile<T>`].
unsafe fn bin_file<'a, T: Owner>(attr: *mut bindings::bin_attribute) -> (&'a BinFile<T>, &'a T) {
    // SAFETY: type invariant of `BinFile`: `raw` is its first field.
    let this = unsafe { &*(attr as *const BinFile<T>) };
    // SAFETY: type invariant: the owner is live while the file is registered.
    let owner = unsafe { &**this.owner.get() };
    (this, owner)
}

/// `bin_attribute.write` for every [`BinFile`].
///
/// # Safety
///
/// Called by sysfs only: `attr` is the `raw` field of a registered
/// [`BinFile<T>`], `buf` holds `count` readable bytes, `file` is the open file.
unsafe extern "C" fn bin_write_callback<T: Owner>(
    file: *mut bindings::file,
    _kobj: *mut bindings::kobject,
    attr: *mut bindings::bin_attribute,
    buf: *mut kernel::ffi::c_char,
    offset: bindings::loff_t,
    count: usize,
) -> isize {
    // SAFETY: called by sysfs for a registered `BinFile<T>` (our contract).
    let (this, owner) = unsafe { bin_file::<T>(attr) };
    let (Ok(offset), Some(write)) = (u64::try_from(offset), this.desc.write) else {
        return errno_ret(EINVAL);
    };
    // SAFETY: sysfs passes `count` readable bytes.
    let data = unsafe { core::slice::from_raw_parts(buf as *const u8, count) };
    let r = write(owner, file as usize, offset, data).map(|()| count as isize);
    answer(owner, this.desc.name, r)
}

/// `bin_attribute.read` for every [`BinFile`].
///
/// # Safety
///
/// Called by sysfs only: `attr` is the `raw` field of a registered
/// [`BinFile<T>`], `buf` holds `count` writable bytes (at most a page).
unsafe extern "C" fn bin_read_callback<T: Owner>(
    _file: *mut bindings::file,
    _kobj: *mut bindings::kobject,
    attr: *mut bindings::bin_attribute,
    buf: *mut kernel::ffi::c_char,
    offset: bindings::loff_t,
    count: usize,
) -> isize {
    // SAFETY: called by sysfs for a registered `BinFile<T>` (our contract).
    let (this, owner) = unsafe { bin_file::<T>(attr) };
    let (Ok(offset), Some(read)) = (u64::try_from(offset), this.desc.read) else {
        return errno_ret(EINVAL);
    };
    // SAFETY: sysfs passes `count` writable bytes that nothing else uses
    // during the call.
    let out = unsafe { core::slice::from_raw_parts_mut(buf as *mut u8, count) };
    let r = read(owner, offset, out).map(|n| n.min(count) as isize);
    answer(owner, this.desc.name, r)
}
