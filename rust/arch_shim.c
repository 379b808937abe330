// SPDX-License-Identifier: GPL-2.0
/*
 * x86 internals that Rust-for-Linux 6.12 does not bind: per-CPU APIC IDs and
 * the local APIC's interrupt command register. Each function is a thin,
 * stateless wrapper; the Rust side (rust/boot.rs) documents the contracts.
 */
#include <linux/cpumask.h>
#include <linux/delay.h>
#include <linux/percpu.h>
#include <linux/preempt.h>
#include <asm/apic.h>
#include <asm/smp.h>

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

static void mint_send_ipi_raw(u32 apicid, u32 low)
{
	apic->write(APIC_ESR, 0);
	apic->icr_write(low, apicid);
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
