// SPDX-License-Identifier: GPL-2.0
/*
 * Kernel internals that Rust-for-Linux 6.12 does not bind: per-CPU APIC IDs,
 * the local APIC's interrupt command register, sysfs attribute lockdep
 * classes and a kernel thread. Each function is a thin, stateless wrapper;
 * the Rust side (rust/boot.rs, rust/sysfs.rs, rust/watch.rs) documents the
 * contracts.
 */
#include <linux/cpumask.h>
#include <linux/delay.h>
#include <linux/err.h>
#include <linux/kthread.h>
#include <linux/percpu.h>
#include <linux/preempt.h>
#include <linux/sysfs.h>
#include <asm/apic.h>
#include <asm/smp.h>

/* Called from Rust only (the rust/ files declare them): no header of their own. */
u32 mint_cpu_apic_id(unsigned int cpu);
bool mint_cpu_present(unsigned int cpu);
bool mint_cpu_online(unsigned int cpu);
unsigned int mint_tsc_khz(void);
void mint_apic_init(u32 apicid);
void mint_apic_wake(u32 apicid, unsigned long page_phys);
void mint_sysfs_attr_init(struct attribute *attr, struct lock_class_key *key);
struct task_struct *mint_watch_start(void (*tick)(void), unsigned int period_us,
				     const char *name);
void mint_watch_stop(struct task_struct *t);

/* The APIC ID of logical CPU @cpu (valid for every present CPU). */
u32 mint_cpu_apic_id(unsigned int cpu)
{
	return per_cpu(x86_cpu_to_apicid, cpu);
}

/* Whether logical CPU @cpu exists (is present) on this machine. */
bool mint_cpu_present(unsigned int cpu)
{
	return cpu < nr_cpu_ids && cpu_present(cpu);
}

/* Whether logical CPU @cpu is online in the host. */
bool mint_cpu_online(unsigned int cpu)
{
	return cpu < nr_cpu_ids && cpu_online(cpu);
}

/* The host's TSC frequency in kHz (handed to partitions: tsc_early_khz=). */
unsigned int mint_tsc_khz(void)
{
	return tsc_khz;
}

/*
 * One IPI through the host's APIC driver. Checked against both driver
 * families of 6.12 (arch/x86/kernel/apic/): the xAPIC drivers (apic_flat,
 * apic_physflat) have write, icr_write (which itself waits for the ICR to be
 * idle before writing) and wait_icr_idle; the x2APIC drivers (x2apic_phys,
 * x2apic_cluster) have write (an MSR write; ESR is MSR 0x828) and icr_write
 * (one MSR write to 0x830, no busy bit to wait for) but leave wait_icr_idle
 * NULL, so it is called only where it exists.
 */
static void mint_send_ipi_raw(u32 apicid, u32 low)
{
	apic->write(APIC_ESR, 0);
	apic->icr_write(low, apicid);
	if (apic->wait_icr_idle)
		apic->wait_icr_idle();
}

/*
 * Put the CPU with @apicid into wait-for-SIPI: INIT assert, then deassert.
 * Whatever it was running stops at once.
 */
void mint_apic_init(u32 apicid)
{
	preempt_disable();
	mint_send_ipi_raw(apicid, APIC_INT_LEVELTRIG | APIC_INT_ASSERT | APIC_DM_INIT);
	preempt_enable();
	mdelay(10);
	preempt_disable();
	mint_send_ipi_raw(apicid, APIC_INT_LEVELTRIG | APIC_DM_INIT);
	preempt_enable();
}

/*
 * The universal start-up sequence: INIT, then two STARTUP IPIs whose vector
 * is @page_phys >> 12 (the page, below 1 MiB, where the CPU starts in real
 * mode at CS = page >> 4, IP = 0).
 */
void mint_apic_wake(u32 apicid, unsigned long page_phys)
{
	int i;

	mint_apic_init(apicid);
	for (i = 0; i < 2; i++) {
		preempt_disable();
		mint_send_ipi_raw(apicid, APIC_DM_STARTUP | (page_phys >> 12));
		preempt_enable();
		udelay(i == 0 ? 300 : 200);
	}
}

/*
 * Give a dynamically allocated sysfs attribute the lockdep class @key (static
 * storage: one per kind of file, as sysfs_attr_init() gives each declaration
 * its own); a no-op without CONFIG_DEBUG_LOCK_ALLOC.
 */
void mint_sysfs_attr_init(struct attribute *attr, struct lock_class_key *key)
{
#ifdef CONFIG_DEBUG_LOCK_ALLOC
	attr->key = key;
#endif
}

/* The one watcher thread's parameters (written before it starts). */
static void (*mint_watch_tick)(void);
static unsigned int mint_watch_period_us;

static int mint_watch_fn(void *unused)
{
	while (!kthread_should_stop()) {
		mint_watch_tick();
		usleep_range(mint_watch_period_us, mint_watch_period_us * 2);
	}
	return 0;
}

/*
 * Start the kernel thread @name that calls @tick every @period_us to
 * 2 * @period_us microseconds until mint_watch_stop(). One at a time.
 * Returns the thread or an ERR_PTR.
 */
struct task_struct *mint_watch_start(void (*tick)(void), unsigned int period_us,
				     const char *name)
{
	mint_watch_tick = tick;
	mint_watch_period_us = period_us;
	return kthread_run(mint_watch_fn, NULL, "%s", name);
}

/* Stop the thread and wait until its last tick has returned. */
void mint_watch_stop(struct task_struct *t)
{
	kthread_stop(t);
}
