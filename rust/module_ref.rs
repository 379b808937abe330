// SPDX-License-Identifier: GPL-2.0

//! The reference a starting or running partition holds on this module.

use kernel::bindings;

/// A reference on this module, held while a partition starts or runs, so
/// that `rmmod` is refused (`EBUSY`) instead of pulling CPUs from under it.
///
/// # Invariants
///
/// Holds one reference on this module, taken by `try_module_get`.
pub(crate) struct ModuleRef(());

impl ModuleRef {
    /// Takes a reference, unless the module is being unloaded.
    pub(crate) fn get() -> Option<Self> {
        // SAFETY: `THIS_MODULE` is this module, alive while its code runs;
        // `try_module_get` fails once unloading has begun.
        unsafe { bindings::try_module_get(crate::THIS_MODULE.as_ptr()) }.then_some(Self(()))
    }
}

impl Drop for ModuleRef {
    fn drop(&mut self) {
        // SAFETY: type invariant: balances the `try_module_get` in `get`.
        unsafe { bindings::module_put(crate::THIS_MODULE.as_ptr()) };
    }
}
