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
 * stay in D0; driver_managed_dma keeps the IOMMU core from claiming its DMA;
 * there are no sysfs bind/unbind files (no surprise unbind by hand).
 *
 * The claim saves the host's view of the configuration space (BARs as the
 * host assigned them, command register), then disables INTx and sets
 * INTERRUPT_LINE to 0xff (the partition has no IOAPIC; a valid line would
 * make its ACPI PIC routing program the shared 8259's ELCR). A reset (FLR,
 * or whatever pci_reset_function picks) puts that saved configuration back;
 * the hand-back resets, restores, unbinds the stub, clears the override and
 * lets the host's drivers probe the function again.
 */
#include <linux/device.h>
#include <linux/iommu.h>
#include <linux/msi.h>
#include <linux/pci.h>
#include <linux/slab.h>
#include <linux/string.h>

/* One claimed function. */
struct mint_pci_fn {
	struct pci_dev *pdev;		/* a reference */
	struct pci_saved_state *saved;	/* the host's configuration */
	char owner[8];			/* the partition's name */
};

/* Called from Rust only (rust/pci.rs declares them): no header of their own. */
int mint_pci_register(void);
void mint_pci_unregister(void);
int mint_pci_claim(const char *owner, size_t owner_len, u32 seg, u32 bus, u32 devfn,
		   struct mint_pci_fn **out, char *why, size_t why_len);
int mint_pci_reset(struct mint_pci_fn *f);
void mint_pci_release(struct mint_pci_fn *f, bool hand_back);

static int mint_stub_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	return 0;
}

static void mint_stub_remove(struct pci_dev *pdev)
{
	struct mint_pci_fn *f = pci_get_drvdata(pdev);

	/* Only a hot removal gets here while a partition owns the function. */
	if (f)
		pci_warn(pdev, "mint: %s: removed while the partition owns it\n", f->owner);
}

static struct pci_driver mint_stub = {
	.name = "mint",
	.probe = mint_stub_probe,
	.remove = mint_stub_remove,
	.driver_managed_dma = true,
	.driver = {
		.suppress_bind_attrs = true,
	},
};

static bool mint_stub_registered;

/* Registers the stub driver (module load). */
int mint_pci_register(void)
{
	int ret = pci_register_driver(&mint_stub);

	mint_stub_registered = !ret;
	return ret;
}

/* Unregisters it (module unload, after every function was released). */
void mint_pci_unregister(void)
{
	if (mint_stub_registered)
		pci_unregister_driver(&mint_stub);
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

/*
 * Why @pdev cannot be given to a partition whatever binds it, or 0. Takes no
 * device lock (pci_get_slot takes pci_bus_sem, which the PCI core takes
 * before device locks, never after).
 */
static int mint_pci_refuse_kind(struct pci_dev *pdev, char *why, size_t why_len)
{
	struct iommu_domain *dom;
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
	/* Owned or bound first: the most common refusal, and the most telling. */
	ret = mint_pci_refuse_bound(pdev, why, why_len);
	if (!ret)
		ret = mint_pci_refuse_kind(pdev, why, why_len);
	if (ret)
		goto put;
	f = kzalloc(sizeof(*f), GFP_KERNEL);
	if (!f) {
		snprintf(why, why_len, "out of memory");
		ret = -ENOMEM;
		goto put;
	}
	memcpy(f->owner, owner, min(owner_len, sizeof(f->owner) - 1));
	f->pdev = pdev;
	ret = device_set_driver_override(&pdev->dev, mint_stub.name);
	if (ret) {
		snprintf(why, why_len, "cannot set its driver_override (%d)", ret);
		goto free;
	}
	/* Fails with -EBUSY if a host driver bound it since the checks. */
	ret = device_driver_attach(&mint_stub.driver, &pdev->dev);
	device_lock(&pdev->dev);
	if (!ret && pdev->dev.driver != &mint_stub.driver)
		ret = -EBUSY;
	if (ret) {
		device_unlock(&pdev->dev);
		snprintf(why, why_len, "cannot bind the module's stub driver (%d): did a host driver bind it?",
			 ret);
		goto override;
	}
	pci_set_drvdata(pdev, f);
	pci_save_state(pdev);
	f->saved = pci_store_saved_state(pdev);
	if (!f->saved) {
		pci_set_drvdata(pdev, NULL);
		device_unlock(&pdev->dev);
		device_release_driver(&pdev->dev);
		snprintf(why, why_len, "out of memory saving its configuration");
		ret = -ENOMEM;
		goto override;
	}
	pci_intx(pdev, 0);
	pci_write_config_byte(pdev, PCI_INTERRUPT_LINE, 0xff);
	device_unlock(&pdev->dev);
	pci_info(pdev, "mint: claimed for %s\n", f->owner);
	*out = f;
	return 0;

override:
	device_set_driver_override(&pdev->dev, "");
free:
	kfree(f);
put:
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

/*
 * Resets a claimed function (its partition's CPUs are stopped) and puts the
 * host's saved configuration back; it stays claimed. Returns 0, or the
 * negative errno of a reset that failed or is not supported (the saved
 * configuration is restored either way).
 */
int mint_pci_reset(struct mint_pci_fn *f)
{
	struct pci_dev *pdev = f->pdev;
	int ret;

	if (!mint_pci_held(f) || !pci_device_is_present(pdev))
		return -ENODEV;
	ret = pci_reset_function(pdev);
	if (ret)
		pci_warn(pdev, "mint: %s: reset failed (%d)\n", f->owner, ret);
	pci_load_saved_state(pdev, f->saved);
	pci_restore_state(pdev);
	pci_intx(pdev, 0);
	pci_write_config_byte(pdev, PCI_INTERRUPT_LINE, 0xff);
	return ret;
}

/*
 * Gives a claimed function back and frees @f. With @hand_back (the partition
 * may have run): reset it, restore the host's configuration, unbind the stub,
 * clear the override and let the host's drivers probe it. Without (undoing a
 * claim whose partition never saw it): restore, unbind, clear, nothing more,
 * so the function is exactly as before the claim.
 */
void mint_pci_release(struct mint_pci_fn *f, bool hand_back)
{
	struct pci_dev *pdev = f->pdev;
	bool held = mint_pci_held(f);
	int ret;

	if (held && hand_back && pci_device_is_present(pdev)) {
		ret = pci_reset_function(pdev);
		if (ret)
			pci_warn(pdev, "mint: %s: reset failed (%d)\n", f->owner, ret);
	}
	if (held) {
		device_lock(&pdev->dev);
		pci_load_saved_state(pdev, f->saved);
		pci_restore_state(pdev);
		pci_set_drvdata(pdev, NULL);
		device_unlock(&pdev->dev);
		device_release_driver(&pdev->dev);
	}
	device_set_driver_override(&pdev->dev, "");
	if (hand_back) {
		ret = device_attach(&pdev->dev);
		if (ret < 0)
			pci_warn(pdev, "mint: %s: handed back; no host driver bound (%d)\n", f->owner, ret);
		else
			pci_info(pdev, "mint: %s: handed back to the host (driver %s)\n", f->owner,
				 pdev->dev.driver ? pdev->dev.driver->name : "none");
	}
	kfree(f->saved);
	pci_dev_put(pdev);
	kfree(f);
}
