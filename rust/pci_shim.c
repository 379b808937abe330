// SPDX-License-Identifier: GPL-2.0
/*
 * PCI functions handed to partitions, the host side (Rust-for-Linux 6.12 has
 * no PCI bindings). rust/pci.rs wraps these calls and documents the rules;
 * everything the PCI core is asked to do happens here, in process context.
 *
 * A claimed function is bound to the module's own stub driver "mint", through
 * driver_override, so no host driver can bind it while a partition owns it.
 * The stub does nothing with the device: the PCI core keeps the runtime-PM
 * reference it takes for every probe, so the function and the port above it
 * stay in D0; as an ordinary user of the function's default IOMMU domain
 * (no driver_managed_dma) the stub keeps the domain from being changed
 * (group type) or taken (VFIO) while a partition owns it; there are no
 * sysfs bind/unbind files (no surprise unbind by hand), and the stub binds
 * only the function a claim is binding (not through new_id, nor an
 * override someone else set). A removed function is quiesced; one that
 * reappears at a claimed address is kept from host drivers until the
 * hand-back.
 *
 * The claim saves the host's view of the configuration space (BARs as the
 * host assigned them, command register), then disables INTx and sets
 * INTERRUPT_LINE to 0xff (the partition has no IOAPIC; a valid line would
 * make its ACPI PIC routing program the shared 8259's ELCR). A reset (FLR,
 * or whatever pci_reset_function picks; a function without any is refused)
 * between two runs puts that saved configuration back; the hand-back resets,
 * restores, unbinds the stub, puts the old override back and lets the host's
 * drivers probe the function again.
 */
#include <linux/delay.h>
#include <linux/device.h>
#include <linux/iommu.h>
#include <linux/list.h>
#include <linux/msi.h>
#include <linux/mutex.h>
#include <linux/notifier.h>
#include <linux/pci.h>
#include <linux/slab.h>
#include <linux/string.h>

/* One claimed function. */
struct mint_pci_fn {
	struct pci_dev *pdev;		/* a reference */
	struct pci_saved_state *saved;	/* the host's configuration */
	const char *old_override;	/* the function's override before the claim, or NULL */
	struct list_head node;		/* in mint_claims */
	bool removed;			/* the host removed the function meanwhile */
	char owner[8];			/* the partition's name */
};

/* Called from Rust only (rust/pci.rs declares them): no header of their own. */
int mint_pci_register(void);
void mint_pci_unregister(void);
int mint_pci_claim(const char *owner, size_t owner_len, u32 seg, u32 bus, u32 devfn,
		   struct mint_pci_fn **out, char *why, size_t why_len);
int mint_pci_reset(struct mint_pci_fn *f);
bool mint_pci_removed(struct mint_pci_fn *f);
void mint_pci_release(struct mint_pci_fn *f, bool hand_back);

/*
 * Serializes claims, resets and releases; protects mint_binding. Never held
 * across a host driver's probe. The bus notifier does not take it (a probe
 * holding a parent's device lock may add PCI devices), only mint_claims_lock,
 * which guards the list of claims and is held for no call out.
 */
static DEFINE_MUTEX(mint_pci_lock);
static DEFINE_SPINLOCK(mint_claims_lock);
static LIST_HEAD(mint_claims);
/* The function mint_pci_claim is binding to the stub right now. */
static struct pci_dev *mint_binding;

/*
 * Stops what a partition may have left running in @pdev when no reset did:
 * bus mastering (DMA), MSI and MSI-X, INTx.
 */
static void mint_pci_quiesce(struct pci_dev *pdev)
{
	u16 v;

	pci_read_config_word(pdev, PCI_COMMAND, &v);
	pci_write_config_word(pdev, PCI_COMMAND,
			      (v & ~PCI_COMMAND_MASTER) | PCI_COMMAND_INTX_DISABLE);
	if (pdev->msi_cap) {
		pci_read_config_word(pdev, pdev->msi_cap + PCI_MSI_FLAGS, &v);
		pci_write_config_word(pdev, pdev->msi_cap + PCI_MSI_FLAGS, v & ~PCI_MSI_FLAGS_ENABLE);
	}
	if (pdev->msix_cap) {
		pci_read_config_word(pdev, pdev->msix_cap + PCI_MSIX_FLAGS, &v);
		pci_write_config_word(pdev, pdev->msix_cap + PCI_MSIX_FLAGS,
				      v & ~PCI_MSIX_FLAGS_ENABLE);
	}
}

/*
 * Puts @pdev in D0 if a partition left it in a lower power state (the host's
 * pdev->current_state still says D0, so the PCI core would not).
 */
static void mint_pci_wake(struct pci_dev *pdev)
{
	u16 pmcsr;

	if (!pdev->pm_cap)
		return;
	pci_read_config_word(pdev, pdev->pm_cap + PCI_PM_CTRL, &pmcsr);
	if (!(pmcsr & PCI_PM_CTRL_STATE_MASK))
		return;
	pci_write_config_word(pdev, pdev->pm_cap + PCI_PM_CTRL, pmcsr & ~PCI_PM_CTRL_STATE_MASK);
	msleep(10);	/* D3hot -> D0 recovery time (PCI PM 1.2, 5.6.1) */
}

static int mint_stub_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	/*
	 * Only the function a claim binds right now: not one matched through
	 * new_id, a driver_override someone else set, or at registration.
	 */
	return READ_ONCE(mint_binding) == pdev ? 0 : -ENODEV;
}

static void mint_stub_remove(struct pci_dev *pdev)
{
	struct mint_pci_fn *f = pci_get_drvdata(pdev);

	/*
	 * The hand-back clears drvdata first, and there is no unbind file: a
	 * claimed function gets here only when the host removes it. Stop its
	 * DMA and interrupts; the partition's driver loses it.
	 */
	if (!f)
		return;
	mint_pci_quiesce(pdev);
	WRITE_ONCE(f->removed, true);
	pci_warn(pdev, "mint: %s: removed while the partition owns it\n", f->owner);
}

static struct pci_driver mint_stub = {
	.name = "mint",
	.probe = mint_stub_probe,
	.remove = mint_stub_remove,
	.driver = {
		.suppress_bind_attrs = true,
	},
};

/*
 * A function that reappears (a rescan after a removal) while a partition
 * still owns its address gets the stub's override, so no host driver binds
 * it before the partition is done with it; the hand-back lets it go.
 */
static int mint_pci_notify(struct notifier_block *nb, unsigned long action, void *data)
{
	struct pci_dev *pdev = to_pci_dev(data);
	struct mint_pci_fn *f;
	char owner[sizeof(f->owner)] = "";

	if (action != BUS_NOTIFY_ADD_DEVICE)
		return NOTIFY_DONE;
	spin_lock(&mint_claims_lock);
	list_for_each_entry(f, &mint_claims, node) {
		if (f->pdev != pdev && pci_domain_nr(f->pdev->bus) == pci_domain_nr(pdev->bus) &&
		    f->pdev->bus->number == pdev->bus->number && f->pdev->devfn == pdev->devfn)
			memcpy(owner, f->owner, sizeof(owner));
	}
	spin_unlock(&mint_claims_lock);
	if (!owner[0])
		return NOTIFY_DONE;
	device_set_driver_override(&pdev->dev, mint_stub.name);
	pci_warn(pdev, "mint: %s: reappeared while the partition owns it: kept from host drivers\n",
		 owner);
	return NOTIFY_OK;
}

static struct notifier_block mint_pci_nb = {
	.notifier_call = mint_pci_notify,
};

static bool mint_stub_registered;

/* Registers the stub driver and the bus notifier (module load). */
int mint_pci_register(void)
{
	int ret = bus_register_notifier(&pci_bus_type, &mint_pci_nb);

	if (ret)
		return ret;
	ret = pci_register_driver(&mint_stub);
	if (ret) {
		bus_unregister_notifier(&pci_bus_type, &mint_pci_nb);
		return ret;
	}
	mint_stub_registered = true;
	return 0;
}

/* Unregisters them (module unload, after every function was released). */
void mint_pci_unregister(void)
{
	if (!mint_stub_registered)
		return;
	pci_unregister_driver(&mint_stub);
	bus_unregister_notifier(&pci_bus_type, &mint_pci_nb);
	mint_stub_registered = false;
}

/* Whether a driver holds @pdev, and which: under its device lock. */
static int mint_pci_refuse_bound(struct pci_dev *pdev, char *why, size_t why_len)
{
	int ret = 0;

	device_lock(&pdev->dev);
	if (pdev->dev.driver == &mint_stub.driver) {
		struct mint_pci_fn *o = pci_get_drvdata(pdev);

		snprintf(why, why_len, "owned by %s", o ? o->owner : "another partition");
		ret = -EBUSY;
	} else if (pdev->dev.driver) {
		snprintf(why, why_len, "bound to host driver %s: echo %s > /sys/bus/pci/drivers/%s/unbind",
			 pdev->dev.driver->name, pci_name(pdev), pdev->dev.driver->name);
		ret = -EBUSY;
	}
	device_unlock(&pdev->dev);
	return ret;
}

/* Whether the host's IOMMU would translate @pdev's DMA (or block its MSIs). */
static int mint_pci_refuse_iommu(struct pci_dev *pdev, char *why, size_t why_len)
{
	struct iommu_domain *dom;

	if (msi_device_has_isolated_msi(&pdev->dev)) {
		snprintf(why, why_len,
			 "the host's interrupt remapping would block its MSIs to the partition: boot the host with intremap=off");
		return -EOPNOTSUPP;
	}
	dom = iommu_get_domain_for_dev(&pdev->dev);
	if (dom && dom->type != IOMMU_DOMAIN_IDENTITY) {
		snprintf(why, why_len,
			 "the host's IOMMU translates its DMA: boot the host with iommu=pt, or write identity to /sys/kernel/iommu_groups/%d/type",
			 iommu_group_id(pdev->dev.iommu_group));
		return -EOPNOTSUPP;
	}
	return 0;
}

/*
 * Why @pdev cannot be given to a partition whatever binds it, or 0. Takes no
 * device lock (pci_get_slot takes pci_bus_sem, which the PCI core takes
 * before device locks, never after).
 */
static int mint_pci_refuse_kind(struct pci_dev *pdev, char *why, size_t why_len)
{
	unsigned int d;

	if (pdev->hdr_type != PCI_HEADER_TYPE_NORMAL || pdev->subordinate) {
		snprintf(why, why_len, "is a bridge: a partition owns endpoint functions only");
		return -EINVAL;
	}
	if (pdev->is_virtfn) {
		snprintf(why, why_len,
			 "is an SR-IOV virtual function, which a partition cannot enumerate: give it a whole function");
		return -EINVAL;
	}
	for (d = 0; d < 256; d++) {
		struct pci_dev *other = pci_get_slot(pdev->bus, d);
		bool shared = other && other != pdev;

		if (shared)
			snprintf(why, why_len,
				 "shares bus %02x with %s: the partition would enumerate it too; put the function behind a port of its own",
				 pdev->bus->number, pci_name(other));
		pci_dev_put(other);
		if (shared)
			return -EINVAL;
	}
	if (!pdev->msi_cap && !pdev->msix_cap) {
		snprintf(why, why_len,
			 "has no MSI or MSI-X capability: a partition has no IOAPIC, only message interrupts");
		return -EINVAL;
	}
	if (!pdev->reset_methods[0]) {
		snprintf(why, why_len,
			 "has no reset method (FLR, PM or bus reset): the host could not stop what a partition leaves running in it");
		return -EINVAL;
	}
	return mint_pci_refuse_iommu(pdev, why, why_len);
}

/* The function's driver_override now, copied, or NULL (none, or no memory). */
static const char *mint_pci_override(struct pci_dev *pdev)
{
	const char *old = NULL;

	spin_lock(&pdev->dev.driver_override.lock);
	if (pdev->dev.driver_override.name)
		old = kstrdup(pdev->dev.driver_override.name, GFP_ATOMIC);
	spin_unlock(&pdev->dev.driver_override.lock);
	return old;
}

/*
 * Sets @dev's driver_override to what @f's function had before the claim
 * (@dev is that function, or the one a rescan found at its address).
 */
static void mint_pci_restore_override(struct mint_pci_fn *f, struct device *dev)
{
	device_set_driver_override(dev, f->old_override ? f->old_override : "");
}

/*
 * Claims function @seg:@bus:@devfn for partition @owner (@owner_len bytes,
 * not NUL-terminated). On success *@out is the claim and 0 is returned; else
 * a negative errno, a one-line reason in @why, and nothing changed.
 */
int mint_pci_claim(const char *owner, size_t owner_len, u32 seg, u32 bus, u32 devfn,
		   struct mint_pci_fn **out, char *why, size_t why_len)
{
	struct pci_dev *pdev;
	struct mint_pci_fn *f;
	int ret;

	if (!mint_stub_registered) {
		snprintf(why, why_len, "the module's PCI stub driver is not registered");
		return -ENODEV;
	}
	if (seg > 0xffff || bus > 0xff || devfn > 0xff) {
		snprintf(why, why_len, "no such PCI address");
		return -EINVAL;
	}
	pdev = pci_get_domain_bus_and_slot(seg, bus, devfn);
	if (!pdev) {
		snprintf(why, why_len, "no such PCI function on the host");
		return -ENODEV;
	}
	f = kzalloc(sizeof(*f), GFP_KERNEL);
	if (!f) {
		pci_dev_put(pdev);
		snprintf(why, why_len, "out of memory");
		return -ENOMEM;
	}
	memcpy(f->owner, owner, min(owner_len, sizeof(f->owner) - 1));
	f->pdev = pdev;
	INIT_LIST_HEAD(&f->node);
	mutex_lock(&mint_pci_lock);
	/* Owned or bound first: the most common refusal, and the most telling. */
	ret = mint_pci_refuse_bound(pdev, why, why_len);
	if (!ret)
		ret = mint_pci_refuse_kind(pdev, why, why_len);
	if (ret)
		goto unlock;
	f->old_override = mint_pci_override(pdev);
	ret = device_set_driver_override(&pdev->dev, mint_stub.name);
	if (ret) {
		snprintf(why, why_len, "cannot set its driver_override (%d)", ret);
		goto unlock;
	}
	WRITE_ONCE(mint_binding, pdev);
	/* Fails with -EBUSY if a host driver bound it since the checks. */
	ret = device_driver_attach(&mint_stub.driver, &pdev->dev);
	WRITE_ONCE(mint_binding, NULL);
	device_lock(&pdev->dev);
	/* Bound to the stub (only ever for this claim, see the probe), or not. */
	ret = pdev->dev.driver == &mint_stub.driver ? 0 : (ret ? ret : -EBUSY);
	if (!ret)
		ret = mint_pci_refuse_iommu(pdev, why, why_len);	/* again, now it is ours */
	else
		snprintf(why, why_len, "cannot bind the module's stub driver (%d): did a host driver bind it?",
			 ret);
	if (!ret) {
		pci_save_state(pdev);
		f->saved = pci_store_saved_state(pdev);
		if (!f->saved) {
			pdev->state_saved = false;
			snprintf(why, why_len, "out of memory saving its configuration");
			ret = -ENOMEM;
		}
	}
	if (ret) {
		bool bound = pdev->dev.driver == &mint_stub.driver;

		device_unlock(&pdev->dev);
		if (bound)
			device_release_driver(&pdev->dev);
		mint_pci_restore_override(f, &pdev->dev);
		goto unlock;
	}
	pci_set_drvdata(pdev, f);
	pci_intx(pdev, 0);
	pci_write_config_byte(pdev, PCI_INTERRUPT_LINE, 0xff);
	device_unlock(&pdev->dev);
	spin_lock(&mint_claims_lock);
	list_add(&f->node, &mint_claims);
	spin_unlock(&mint_claims_lock);
	mutex_unlock(&mint_pci_lock);
	pci_info(pdev, "mint: claimed for %s\n", f->owner);
	*out = f;
	return 0;

unlock:
	mutex_unlock(&mint_pci_lock);
	kfree(f->old_override);
	kfree(f);
	pci_dev_put(pdev);
	return ret;
}

/* Whether the stub still holds @f's function (a hot removal unbinds it). */
static bool mint_pci_held(struct mint_pci_fn *f)
{
	bool held;

	device_lock(&f->pdev->dev);
	held = f->pdev->dev.driver == &mint_stub.driver;
	device_unlock(&f->pdev->dev);
	return held;
}

/* Whether the host removed @f's function since the claim. */
bool mint_pci_removed(struct mint_pci_fn *f)
{
	return READ_ONCE(f->removed);
}

/*
 * Resets @f's function (its partition's CPUs are stopped): wakes it if the
 * partition put it to sleep, resets it (stopping what it was doing) or, if
 * that fails, clears its bus mastering and MSI enables; then writes the
 * host's saved configuration back. With @between_runs the function stays
 * claimed: INTx stays disabled and INTERRUPT_LINE 0xff (set in the state
 * written back, so INTx is never enabled meanwhile). Under mint_pci_lock.
 */
static int mint_pci_reset_locked(struct mint_pci_fn *f, bool between_runs)
{
	struct pci_dev *pdev = f->pdev;
	int ret;

	mint_pci_wake(pdev);
	ret = pci_reset_function(pdev);
	device_lock(&pdev->dev);
	if (ret) {
		pci_warn(pdev, "mint: %s: reset failed (%d): DMA and MSIs switched off instead\n",
			 f->owner, ret);
		mint_pci_quiesce(pdev);
	}
	if (pci_load_saved_state(pdev, f->saved)) {
		pci_warn(pdev, "mint: %s: the host's configuration could not be written back\n", f->owner);
		ret = ret ? ret : -EINVAL;
	} else {
		if (between_runs) {
			pdev->saved_config_space[PCI_COMMAND / 4] |= PCI_COMMAND_INTX_DISABLE;
			pdev->saved_config_space[PCI_INTERRUPT_LINE / 4] |= 0xff;
		}
		pci_restore_state(pdev);
	}
	device_unlock(&pdev->dev);
	return ret;
}

/*
 * Resets a claimed function between two runs of its partition; it stays
 * claimed. Returns 0, or a negative errno (the function was removed, its
 * reset failed: it was quiesced instead).
 */
int mint_pci_reset(struct mint_pci_fn *f)
{
	int ret = -ENODEV;

	mutex_lock(&mint_pci_lock);
	if (mint_pci_held(f) && pci_device_is_present(f->pdev))
		ret = mint_pci_reset_locked(f, true);
	mutex_unlock(&mint_pci_lock);
	return ret;
}

/*
 * Gives a claimed function back and frees @f. With @hand_back (the partition
 * may have run): reset it, restore the host's configuration, unbind the stub,
 * put the old override back and let the host's drivers probe it; a function
 * removed meanwhile that reappeared (see mint_pci_notify) is let go the same
 * way. Without (undoing a claim whose partition never saw it): restore,
 * unbind, old override, nothing more, so the function is as before the claim.
 */
void mint_pci_release(struct mint_pci_fn *f, bool hand_back)
{
	struct pci_dev *pdev = f->pdev, *again = NULL;
	bool held;
	int ret;

	mutex_lock(&mint_pci_lock);
	held = mint_pci_held(f);
	if (held) {
		if (hand_back && pci_device_is_present(pdev)) {
			mint_pci_reset_locked(f, false);
		} else {
			device_lock(&pdev->dev);
			if (!pci_load_saved_state(pdev, f->saved))
				pci_restore_state(pdev);
			device_unlock(&pdev->dev);
		}
		device_lock(&pdev->dev);
		pci_set_drvdata(pdev, NULL);
		device_unlock(&pdev->dev);
		mint_pci_restore_override(f, &pdev->dev);
		device_release_driver(&pdev->dev);
	} else {
		mint_pci_restore_override(f, &pdev->dev);
		/* Removed: a rescan may have found it again, held back by its override. */
		again = pci_get_domain_bus_and_slot(pci_domain_nr(pdev->bus), pdev->bus->number,
						    pdev->devfn);
		if (again == pdev || (again && again->dev.driver)) {
			pci_dev_put(again);
			again = NULL;
		}
		if (again) {
			mint_pci_wake(again);
			if (pci_reset_function(again))
				mint_pci_quiesce(again);
		}
	}
	/* From here a reappearing function is the host's. */
	spin_lock(&mint_claims_lock);
	list_del(&f->node);
	spin_unlock(&mint_claims_lock);
	if (again)
		mint_pci_restore_override(f, &again->dev);
	mutex_unlock(&mint_pci_lock);
	/* The host's drivers probe outside the lock (a probe may add PCI devices). */
	if (hand_back && (held || again)) {
		struct pci_dev *back = held ? pdev : again;

		ret = device_attach(&back->dev);
		if (ret < 0)
			pci_warn(back, "mint: %s: handed back; no host driver bound (%d)\n", f->owner, ret);
		else
			pci_info(back, "mint: %s: handed back to the host (driver %s)\n", f->owner,
				 back->dev.driver ? back->dev.driver->name : "none");
	} else if (hand_back) {
		pci_info(pdev, "mint: %s: released (the host removed it)\n", f->owner);
	}
	pci_dev_put(again);
	kfree(f->old_override);
	kfree(f->saved);
	pci_dev_put(pdev);
	kfree(f);
}
