/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mint AP trampoline: takes a CPU woken by INIT/SIPI from real mode to the
 * partition kernel's entry, through the Linux 32-bit or 64-bit boot protocol.
 *
 * The module copies the bytes between mint_trampoline_start and
 * mint_trampoline_end to a page-aligned page P below 1 MiB, fills in the
 * parameter fields (below) and sends INIT, SIPI(P >> 12), SIPI(P >> 12) to the
 * partition's boot CPU. The blob is data for the host (it lives in .rodata and
 * is never executed where it is linked) and fully position independent: it
 * derives P from %cs, so it can be copied to any such page.
 *
 * Entry state (after SIPI): real mode, CS = P >> 4, IP = 0, other segment
 * registers and the stack undefined, interrupts disabled by INIT, CR0 as after
 * INIT (PE = PG = 0, CD = NW = 1), A20 enabled (true on every platform mint
 * supports).
 *
 * Exit state, one of the two Linux boot protocols (Documentation/arch/x86/
 * boot.rst), as mint_trampoline_mode says:
 *   0, 32-bit protocol: protected mode, paging off, CS = 0x10 and DS = ES = SS
 *      = FS = GS = 0x18, flat 4 GiB segments from our own GDT; %esi = boot_params;
 *      %ebp = %edi = %ebx = 0; jump to code32_start (the bzImage's entry).
 *   1, 64-bit protocol: long mode, paging on with the identity page tables at
 *      mint_trampoline_cr3 (4-level, PAE), CS = 0x10 (64-bit code) and DS = ES
 *      = SS = 0x18; %rsi = boot_params; jump to the decompressed kernel's
 *      startup_64.
 * Both: interrupts disabled, caches enabled, no stack needed (the kernel sets
 * up its own).
 *
 * Register contract inside the trampoline: %ebx = P (linear address of the
 * page) from the first instructions until the final jump (%rbx in 64-bit
 * code, after zero-extending it). The paging path clobbers %ecx and %edx
 * (RDMSR/WRMSR); nothing else is live. The page itself is written (the GDT
 * bases and far-jump targets are patched from %cs), so it must be RAM.
 *
 * Parameter fields (offsets from mint_trampoline_start, exported as symbols so
 * the module computes them instead of hard-coding them):
 *   mint_trampoline_boot_params  u32, in:  physical address of boot_params
 *   mint_trampoline_entry        u32, in:  physical address of the entry point
 *   mint_trampoline_mode         u32, in:  0 = 32-bit protocol, 1 = 64-bit
 *   mint_trampoline_cr3          u32, in:  64-bit protocol: page tables (CR3)
 *   mint_trampoline_reached      u32, out: MINT_REACHED once the CPU is in
 *                                          protected (or long) mode and about
 *                                          to jump;
 *                                          the module polls it ("left the
 *                                          trampoline").
 *   mint_trampoline_tsc          u64, out: the TSC just before the jump to the
 *                                          kernel (boot-time breakdown).
 */

#define MINT_REACHED	0x544e494d	/* "MINT" */
#define BOOT_CS		0x10
#define BOOT_DS		0x18
#define X86_CR0_PE	0x00000001
#define X86_CR0_NW	0x20000000
#define X86_CR0_CD	0x40000000
#define X86_CR0_PG	0x80000000
#define X86_CR4_PAE	0x00000020
#define MSR_EFER	0xc0000080
#define EFER_LME	0x00000100

	.section .rodata, "a"
	.balign 16
	.globl mint_trampoline_start
	.globl mint_trampoline_end
	.globl mint_trampoline_boot_params
	.globl mint_trampoline_entry
	.globl mint_trampoline_reached
	.globl mint_trampoline_tsc
	.globl mint_trampoline_mode
	.globl mint_trampoline_cr3

	.code16
mint_trampoline_start:
	cli
	cld
	/* %ebx = P = CS << 4; DS = CS so fields are addressed by offset. */
	movw	%cs, %ax
	movw	%ax, %ds
	movzwl	%ax, %ebx
	shll	$4, %ebx

	/* Patch the linear addresses the GDT descriptors and far jumps need. */
	leal	(gdt - mint_trampoline_start)(%ebx), %eax
	movl	%eax, (gdt_desc + 2 - mint_trampoline_start)
	leal	(gdt64 - mint_trampoline_start)(%ebx), %eax
	movl	%eax, (gdt64_desc + 2 - mint_trampoline_start)
	leal	(start32 - mint_trampoline_start)(%ebx), %eax
	movl	%eax, (jump32 - mint_trampoline_start)
	leal	(start64 - mint_trampoline_start)(%ebx), %eax
	movl	%eax, (jump64 - mint_trampoline_start)

	lgdtl	(gdt_desc - mint_trampoline_start)

	/* Mode switch: real mode -> 32-bit protected mode. Set PE; clear CD and
	 * NW, which INIT leaves set, so the kernel starts with caches on. */
	movl	%cr0, %eax
	andl	$~(X86_CR0_CD | X86_CR0_NW), %eax
	orl	$X86_CR0_PE, %eax
	movl	%eax, %cr0

	/* Far jump through memory loads CS = BOOT_CS and enters 32-bit code. */
	ljmpl	*(jump32 - mint_trampoline_start)

	.code32
start32:
	/* Flat data segments, as the boot protocol requires. */
	movl	$BOOT_DS, %eax
	movl	%eax, %ds
	movl	%eax, %es
	movl	%eax, %ss
	movl	%eax, %fs
	movl	%eax, %gs

	cmpl	$0, (mint_trampoline_mode - mint_trampoline_start)(%ebx)
	jne	to_long_mode

	/* 32-bit boot protocol. */
	/* Timestamp for the module's boot-time breakdown (clobbers %edx:%eax). */
	rdtsc
	movl	%eax, (mint_trampoline_tsc - mint_trampoline_start)(%ebx)
	movl	%edx, (mint_trampoline_tsc + 4 - mint_trampoline_start)(%ebx)

	movl	(mint_trampoline_boot_params - mint_trampoline_start)(%ebx), %esi
	movl	(mint_trampoline_entry - mint_trampoline_start)(%ebx), %eax
	/* Tell the module this CPU has left real mode and is entering Linux. */
	movl	$MINT_REACHED, (mint_trampoline_reached - mint_trampoline_start)(%ebx)
	xorl	%ebp, %ebp
	xorl	%edi, %edi
	xorl	%ebx, %ebx
	jmpl	*%eax

	/* 64-bit boot protocol: enable PAE, load the identity page tables, set
	 * EFER.LME, switch to the GDT whose 0x10 is a 64-bit code segment. */
to_long_mode:
	movl	%cr4, %eax
	orl	$X86_CR4_PAE, %eax
	movl	%eax, %cr4
	movl	(mint_trampoline_cr3 - mint_trampoline_start)(%ebx), %eax
	movl	%eax, %cr3
	movl	$MSR_EFER, %ecx
	rdmsr
	orl	$EFER_LME, %eax
	wrmsr
	lgdtl	(gdt64_desc - mint_trampoline_start)(%ebx)

	/* Mode switch: protected mode -> long mode (compatibility submode) by
	 * turning paging on with LME set ... */
	movl	%cr0, %eax
	orl	$X86_CR0_PG, %eax
	movl	%eax, %cr0

	/* ... and -> 64-bit mode by loading CS = 0x10 from the 64-bit GDT. */
	ljmpl	*(jump64 - mint_trampoline_start)(%ebx)

	.code64
start64:
	/* Upper halves of the registers are undefined after the switch. */
	movl	%ebx, %ebx
	rdtsc
	movl	%eax, (mint_trampoline_tsc - mint_trampoline_start)(%rbx)
	movl	%edx, (mint_trampoline_tsc + 4 - mint_trampoline_start)(%rbx)
	movl	(mint_trampoline_boot_params - mint_trampoline_start)(%rbx), %esi
	movl	(mint_trampoline_entry - mint_trampoline_start)(%rbx), %eax
	movl	$MINT_REACHED, (mint_trampoline_reached - mint_trampoline_start)(%rbx)
	xorl	%ebp, %ebp
	xorl	%edi, %edi
	xorl	%ebx, %ebx
	jmpq	*%rax

	.balign 8
gdt:
	.quad	0				/* 0x00: null */
	.quad	0				/* 0x08: unused */
	.quad	0x00cf9a000000ffff		/* 0x10: flat 4 GiB code, 32-bit */
	.quad	0x00cf92000000ffff		/* 0x18: flat 4 GiB data */
gdt_end:
gdt_desc:
	.word	gdt_end - gdt - 1		/* limit */
	.long	0				/* base, patched at run time */
	.balign 8
gdt64:
	.quad	0				/* 0x00: null */
	.quad	0				/* 0x08: unused */
	.quad	0x00af9a000000ffff		/* 0x10: 64-bit code (L=1) */
	.quad	0x00cf92000000ffff		/* 0x18: flat 4 GiB data */
gdt64_end:
gdt64_desc:
	.word	gdt64_end - gdt64 - 1		/* limit */
	.long	0				/* base, patched at run time */
	.balign 4
jump32:
	.long	0				/* offset, patched at run time */
	.word	BOOT_CS				/* selector */
	.balign 4
jump64:
	.long	0				/* offset, patched at run time */
	.word	BOOT_CS				/* selector, in the 64-bit GDT */
	.balign 4
mint_trampoline_boot_params:
	.long	0
mint_trampoline_entry:
	.long	0
mint_trampoline_mode:
	.long	0
mint_trampoline_cr3:
	.long	0
mint_trampoline_reached:
	.long	0
	.balign 8
mint_trampoline_tsc:
	.quad	0
mint_trampoline_end:
