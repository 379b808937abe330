// SPDX-License-Identifier: GPL-2.0
/*
 * The partition-side role of mint.ko (the "agent", rust/agent.rs): the kernel
 * structures Rust-for-Linux 6.12 does not bind (a reboot notifier_block and a
 * kmsg_dumper), the lookup of the partition's FADT, and the halt loop. The
 * Rust side decides the role, maps the status page and owns the ABI
 * constants; it hands them over in struct mint_agent_config. The contracts
 * are documented on the Rust declarations.
 *
 * What happens when this kernel leaves (kernel/reboot.c, kernel/panic.c):
 *   reboot/poweroff/halt: reboot notifier chain (SYS_RESTART, SYS_POWER_OFF,
 *     SYS_HALT) -> device_shutdown() -> syscore_shutdown() ->
 *     kmsg_dump(KMSG_DUMP_SHUTDOWN) -> machine_restart/power_off/halt;
 *   emergency_restart() (sysrq-b, panic with panic=N != 0):
 *     kmsg_dump(KMSG_DUMP_EMERG) -> machine_emergency_restart();
 *   panic: ... kmsg_dump(KMSG_DUMP_PANIC) -> with panic=0, halt in a loop.
 * The notifier only records which action is coming; the dumper writes it to
 * the status page and, for SHUTDOWN and EMERG, halts this CPU before
 * machine_*() can reach a reset path (keyboard controller, triple fault,
 * ACPI reset register) that would reset the whole machine.
 */
#include <linux/acpi.h>
#include <linux/compiler.h>
#include <linux/errno.h>
#include <linux/irqflags.h>
#include <linux/kmsg_dump.h>
#include <linux/limits.h>
#include <linux/minmax.h>
#include <linux/notifier.h>
#include <linux/reboot.h>
#include <linux/string.h>
#include <asm/barrier.h>

/* Must match AgentConfig in rust/agent.rs (#[repr(C)]). */
struct mint_agent_config {
	u32 *event;	/* the status page's EVENT word, mapped write-back */
	u32 reboot;	/* EVENT values */
	u32 poweroff;
	u32 halt;
	u32 panic;
};

/* The functions rust/agent.rs calls (declared there too). */
int mint_agent_fadt_read(u8 *buf, u32 len);
int mint_agent_register(const struct mint_agent_config *cfg);
void mint_agent_unregister(void);

static struct mint_agent_config mint_agent_cfg;
/* The EVENT value of the action the reboot notifier announced (0: none). */
static u32 mint_agent_pending;

/*
 * Copies the first @len bytes (at most the table's length) of the FADT
 * ("FACP") into @buf. Returns the number of bytes copied, or -ENOENT when
 * this kernel has no FADT (no ACPI, acpi=off).
 */
int mint_agent_fadt_read(u8 *buf, u32 len)
{
	struct acpi_table_header *hdr;
	u32 n;

	if (ACPI_FAILURE(acpi_get_table(ACPI_SIG_FADT, 0, &hdr)))
		return -ENOENT;
	n = min(len, hdr->length);
	memcpy(buf, hdr, n);
	acpi_put_table(hdr);
	return n;
}

static void mint_agent_report(u32 event)
{
	WRITE_ONCE(*mint_agent_cfg.event, event);
	/* Drain the store buffer: nothing runs on this CPU after us. */
	mb();
}

/*
 * Halts this CPU for good. The host sees the event within one poll and sends
 * INIT to every CPU of the partition; until then the CPU sleeps with
 * interrupts off (an NMI may wake it: the loop halts again).
 */
static void mint_agent_halt_forever(void)
{
	local_irq_disable();
	for (;;)
		native_halt();
}

static int mint_agent_reboot_notify(struct notifier_block *nb,
				    unsigned long action, void *data)
{
	u32 event = 0;

	switch (action) {
	case SYS_RESTART:
		event = mint_agent_cfg.reboot;
		break;
	case SYS_POWER_OFF:
		event = mint_agent_cfg.poweroff;
		break;
	case SYS_HALT:
		event = mint_agent_cfg.halt;
		break;
	}
	if (event)
		WRITE_ONCE(mint_agent_pending, event);
	return NOTIFY_DONE;
}

static struct notifier_block mint_agent_reboot_nb = {
	.notifier_call = mint_agent_reboot_notify,
	/* Run after every other reboot notifier. */
	.priority = INT_MIN,
};

static void mint_agent_dump(struct kmsg_dumper *dumper,
			    struct kmsg_dump_detail *detail)
{
	u32 event;

	switch (detail->reason) {
	case KMSG_DUMP_PANIC:
		/* Report and return: panic() goes on (panic=0: it halts). */
		mint_agent_report(mint_agent_cfg.panic);
		return;
	case KMSG_DUMP_SHUTDOWN:
		/*
		 * Every kernel_restart/halt/power_off ran the notifier first;
		 * should none have, report reboot, the path that resets.
		 */
		event = READ_ONCE(mint_agent_pending);
		mint_agent_report(event ? event : mint_agent_cfg.reboot);
		break;
	case KMSG_DUMP_EMERG:
		/*
		 * emergency_restart(). After a panic (panic=N) keep the panic,
		 * which the host has seen already and which says more.
		 */
		if (READ_ONCE(*mint_agent_cfg.event) != mint_agent_cfg.panic)
			mint_agent_report(mint_agent_cfg.reboot);
		break;
	default:
		/* KMSG_DUMP_OOPS and anything newer: the kernel goes on. */
		return;
	}
	/*
	 * SHUTDOWN or EMERG: machine_restart/halt/power_off or
	 * machine_emergency_restart() would come next. Halting here, inside
	 * the dumper (under rcu_read_lock, maybe with the partition's other
	 * CPUs still running), is acceptable: the host INITs every CPU of the
	 * partition within milliseconds of seeing the event, and nothing of
	 * this kernel needs to run again. Dumpers registered before ours
	 * (pstore/ramoops, registered at boot; the agent is loaded from the
	 * initramfs) have already run.
	 */
	mint_agent_halt_forever();
}

static struct kmsg_dumper mint_agent_dumper = {
	.dump = mint_agent_dump,
	/* Also SHUTDOWN and EMERG, which the default (OOPS) filters out. */
	.max_reason = KMSG_DUMP_MAX,
};

/*
 * Registers the reboot notifier and the kmsg dumper, which report to
 * @cfg->event from then on. Returns 0 or a negative errno (nothing is left
 * registered then).
 */
int mint_agent_register(const struct mint_agent_config *cfg)
{
	int ret;

	mint_agent_cfg = *cfg;
	WRITE_ONCE(mint_agent_pending, 0);
	ret = register_reboot_notifier(&mint_agent_reboot_nb);
	if (ret)
		return ret;
	ret = kmsg_dump_register(&mint_agent_dumper);
	if (ret) {
		unregister_reboot_notifier(&mint_agent_reboot_nb);
		return ret;
	}
	return 0;
}

/*
 * Unregisters both. When it returns, no handler runs or will run (the dumper
 * list is RCU-protected and kmsg_dump_unregister() waits for a grace period;
 * the reboot notifier chain is a blocking one).
 */
void mint_agent_unregister(void)
{
	kmsg_dump_unregister(&mint_agent_dumper);
	unregister_reboot_notifier(&mint_agent_reboot_nb);
}
