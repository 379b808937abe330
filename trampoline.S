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
 * derives P from %cs, so it can be copied to any such page. The whole page P
 * belongs to the trampoline: the blob at its start, the stack at its end
 * (STACK_TOP); the partition's e820 map does not include it.
 *
 * Entry state (after SIPI): real mode, CS = P >> 4, IP = 0, other segment
 * registers undefined, SS:SP = 0:0, interrupts disabled (INIT clears IF),
 * IDTR = base 0, limit 0xffff (the real-mode IVT at physical 0, the host's),
 * CR4 = 0, CR0.PE = CR0.PG = 0. CR0.CD and CR0.NW: INIT leaves them as they
 * were (SDM table 9-1), QEMU sets both as on RESET; the trampoline clears
 * them either way. A20 enabled (true on every platform mint supports).
 *
 * Exit state, one of the two Linux boot protocols (Documentation/arch/x86/
 * boot.rst), as mint_trampoline_mode says:
 *   0, 32-bit protocol: protected mode, paging off, CS = 0x10 and DS = ES = SS
 *      = FS = GS = 0x18, flat 4 GiB segments from our own GDT; %esi = boot_params;
 *      %ebp = %edi = %ebx = 0; jump to code32_start (the bzImage's entry).
 *   1, 64-bit protocol: long mode, paging on with the identity page tables at
 *      mint_trampoline_cr3 (4-level, PAE), CS = 0x10 (64-bit code) and DS = ES
 *      = SS = 0x18; %rsi = boot_params (anywhere in the identity map); jump
 *      to the 64-bit entry the module was given (the bzImage's own, at its
 *      load address + 0x200, or a decompressed kernel's startup_64), which
 *      may lie above 4 GiB.
 * Both: interrupts disabled, caches enabled and flushed, %esp/%rsp = P +
 * STACK_TOP (the kernel does not need a stack and sets up its own), IDTR =
 * our parking IDT (below; the kernel loads its own).
 *
 * Register contract inside the trampoline: %ebx = P (linear address of the
 * page) from the first instructions until the final jump (%rbx in 64-bit
 * code, after zero-extending it); %esp = STACK_TOP in real mode (SS = CS),
 * P + STACK_TOP from the load of the flat SS on (the instruction after a MOV
 * to SS cannot be interrupted, not even by an NMI, so no NMI ever sees SS and
 * %esp disagree). %eax, %ecx and %edx are scratch (gate patching, RDMSR/WRMSR,
 * RDTSC); nothing else is live. The page itself is written (the IDT gates, the
 * GDT bases and far-jump targets are patched from %cs, the stack), so it must
 * be RAM.
 *
 * NMIs, exceptions, SMIs.
 *
 * A partition CPU is not protected by being offline in the host: with IPI
 * shorthands enabled (every present CPU booted once, so on a mint host) the
 * host's apic_send_IPI_allbutself(NMI_VECTOR) reaches it too, e.g. for kgdb's
 * round-up (the host lives on) or the kdump shootdown (the crash kernel must
 * still come up); so may another partition's kernel's broadcast. What an NMI
 * in the trampoline must not do is take the host down with it, and this is
 * what decides the choice of IDT.
 *
 * A null IDT (limit 0), as Linux's own realmode/rm/trampoline_64.S loads,
 * turns an NMI into #GP, #DF and then a triple fault: the CPU enters shutdown.
 * For Linux's own APs that is a failure of the same OS. Here it is not
 * confined to the partition: QEMU (TCG or KVM) answers a triple fault of any
 * CPU by resetting the whole machine (or exiting, with -no-reboot); on
 * hardware the CPU signals a shutdown cycle and the chipset answers, per its
 * policy, with INIT to the processors or a platform reset. Either way the host
 * is gone. Returning from the NMI with IRET is not safe either: across the
 * mode switches the interrupted context cannot always be resumed (an NMI after
 * CR0.PE is set and before the far jump saves a real-mode CS value that is no
 * selector; one after the decompressor's LGDT and before its far return saves
 * CS = 0x10, now a 64-bit segment), and resuming a wrong context is worse than
 * not resuming.
 *
 * So the trampoline parks: its own IDT sends NMI, #DF and #GP (every other
 * exception escalates to #GP or #DF) to `park`, a HLT loop in the page.
 * Delivering an NMI blocks further NMIs until the next IRET, which park never
 * executes; IF is 0, so no maskable interrupt wakes it; an SMI returns to the
 * loop (RSM resumes at the HLT or at the JMP back to it). The CPU stays halted
 * until INIT: the module's timeout (if `reached` was not yet written) or
 * `stop` puts it back into wait-for-SIPI. The partition's boot is lost, the
 * host is untouched: the frame goes to the trampoline's stack in P.
 *
 * One table, loaded once before leaving real mode, serves every mode the CPU
 * passes through, because the three formats of the same 224 bytes use
 * disjoint bytes for the vectors that matter:
 *   real mode     4-byte vectors: NMI at bytes 8..11 (CS:park, CS patched);
 *   legacy 32-bit 8-byte gates, selector 0x08 (32-bit code): NMI 16..23, #DF
 *                 64..71, #GP 104..111;
 *   IA-32e        16-byte gates, selector 0x10 (64-bit code): NMI 32..47, #DF
 *                 128..143, #GP 208..223.
 * All other bytes are zero or one of the gates above, which seen in another
 * format is a not-present or invalid gate (#NP/#GP, escalating to the valid
 * #GP or #DF gate). Vectors past the limit raise #GP. The selectors are chosen
 * so the gates stay valid after the kernel reloads the GDT: 0x08 is 32-bit
 * code and 0x10 64-bit code in gdt64 and in the GDTs of the decompressor
 * (__KERNEL32_CS, __KERNEL_CS) and of the kernel proper; 0x08 is 32-bit code
 * in our 32-bit gdt too.
 *
 * Per stage, an NMI (or an exception) arriving
 *   1. after SIPI, before LIDT (the first eleven instructions, real mode):
 *      is delivered through the host's real-mode IVT at physical 0, to
 *      whatever the firmware left there; the one window the trampoline cannot
 *      close (no IDT can be loaded before the first instruction). Its frame
 *      goes to P + STACK_TOP once SS and %esp are loaded (instructions 4
 *      and 5), to the 6 bytes below 0x10000 (SS:SP = 0:0) before.
 *   2. real mode after LIDT: vector 2 of our table, 16-bit frame on SS:SP =
 *      P + STACK_TOP, park.
 *   3. CR0.PE set, before the far jump (protected mode, 16-bit CS): legacy
 *      gate, CS = 0x08 from our GDT, frame on the same stack, park.
 *   4. 32-bit protected mode (start32, both protocols until CR0.PG is set):
 *      legacy gate, 0x08 from gdt or gdt64, frame at P + STACK_TOP, park.
 *   5. long mode (compatibility mode from CR0.PG to the far jump, then
 *      start64): 64-bit gate, 0x10 from gdt64, frame at P + STACK_TOP (the
 *      identity map covers P), park.
 *   6. in the kernel, until it loads an IDT of its own: our table is still in
 *      force, the frame goes to the kernel's early stack (partition memory).
 *      32-bit protocol: through the decompressor's startup_32 (legacy gates;
 *      with CONFIG_AMD_MEM_ENCRYPT it loads its own IDT early on), its
 *      compatibility-mode stretch and startup_64 (64-bit gates; its 4 GiB
 *      identity map covers P) up to load_stage1_idt. 64-bit protocol: the
 *      first instructions of startup_64, up to startup_64_setup_gdt_idt.
 *      After that the kernel's own IDTs decide; some (the decompressor's
 *      stage 1, the kernel's bring-up IDT) have no NMI gate and triple-fault,
 *      which mint cannot change without patching the kernel.
 * An SMI, at any stage including 1 and park, enters SMM, which saves the whole
 * context (mode, descriptor caches, IDTR) in SMRAM, runs the firmware's
 * handler on its own stack and IDT, and resumes the interrupted instruction
 * with RSM: transparent to the trampoline.
 * A machine check is not covered: INIT clears CR4.MCE, and a #MC with CR4.MCE
 * clear shuts the CPU down whatever the IDT (as for every Linux CPU before its
 * #MC support is set up).
 *
 * Caches: the CPU may come out of INIT with CD = NW = 1 and lines of its
 * previous life still in its caches (INIT does not invalidate them, and with
 * NW = 1 write hits need not reach memory). The trampoline clears CD and NW
 * and then executes WBINVD, so the kernel starts with caches on and
 * consistent. WBINVD also writes back and invalidates caches shared with host
 * CPUs, a one-off cost per start that Linux's own AP bring-up pays as well.
 *
 * Parameter fields (offsets from mint_trampoline_start, exported as symbols so
 * the module computes them instead of hard-coding them):
 *   mint_trampoline_boot_params  u64, in:  physical address of boot_params
 *                                          (below 4 GiB for the 32-bit
 *                                          protocol, which reads the low half)
 *   mint_trampoline_entry        u64, in:  physical address of the entry point
 *                                          (the same)
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
#define CODE32_SEL	0x08		/* 32-bit code, target of the legacy gates */
#define BOOT_CS		0x10
#define BOOT_DS		0x18
#define X86_CR0_PE	0x00000001
#define X86_CR0_NW	0x20000000
#define X86_CR0_CD	0x40000000
#define X86_CR0_PG	0x80000000
#define X86_CR4_PAE	0x00000020
#define MSR_EFER	0xc0000080
#define EFER_LME	0x00000100

/* Stack: the top of the page P, growing down towards the blob. */
#define STACK_TOP	0x1000
#define STACK_SIZE	256

#define NMI_VECTOR	2
#define DF_VECTOR	8
#define GP_VECTOR	13
#define GATE_INTR	0x8e		/* present, DPL 0, interrupt gate */

/* Offsets from mint_trampoline_start (DS = CS in real mode). */
#define OFF(sym)	((sym) - mint_trampoline_start)
/* The IDT entry of vector v in each of its three formats. */
#define RM_VEC(v)	(idt + 4 * (v))
#define GATE32(v)	(idt + 8 * (v))
#define GATE64(v)	(idt + 16 * (v))

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
	/* Stack in P first (MOV SS holds off NMIs for one instruction), then
	 * %ebx = P = CS << 4; DS = CS so fields are addressed by offset. */
	movw	%cs, %ax
	movw	%ax, %ss
	movl	$STACK_TOP, %esp
	movw	%ax, %ds
	movzwl	%ax, %ebx
	shll	$4, %ebx

	/* Our IDT, before anything else: the real-mode NMI vector (CS:park,
	 * the offset is static) is complete once its segment is written. */
	movw	%ax, OFF(RM_VEC(NMI_VECTOR) + 2)
	leal	OFF(idt)(%ebx), %eax
	movl	%eax, OFF(idt_desc + 2)
	lidtl	OFF(idt_desc)

	/* The protected- and long-mode gates: offset = P + park, split into
	 * bits 15:0 (bytes 0..1 of the gate) and 31:16 (bytes 6..7). */
	leal	OFF(park)(%ebx), %eax
	movl	%eax, %edx
	shrl	$16, %edx
	.irp	gate, GATE32(NMI_VECTOR), GATE32(DF_VECTOR), GATE32(GP_VECTOR), \
		      GATE64(NMI_VECTOR), GATE64(DF_VECTOR), GATE64(GP_VECTOR)
	movw	%ax, OFF(\gate)
	movw	%dx, OFF(\gate + 6)
	.endr

	/* Caches on (clear CD and NW, which INIT may leave set), then write back
	 * and invalidate whatever the caches held under CD/NW or from before
	 * INIT. */
	movl	%cr0, %eax
	andl	$~(X86_CR0_CD | X86_CR0_NW), %eax
	movl	%eax, %cr0
	wbinvd

	/* Patch the linear addresses the GDT descriptors and far jumps need. */
	leal	OFF(gdt)(%ebx), %eax
	movl	%eax, OFF(gdt_desc + 2)
	leal	OFF(gdt64)(%ebx), %eax
	movl	%eax, OFF(gdt64_desc + 2)
	leal	OFF(start32)(%ebx), %eax
	movl	%eax, OFF(jump32)
	leal	OFF(start64)(%ebx), %eax
	movl	%eax, OFF(jump64)

	lgdtl	OFF(gdt_desc)

	/* Mode switch: real mode -> 32-bit protected mode. */
	movl	%cr0, %eax
	orl	$X86_CR0_PE, %eax
	movl	%eax, %cr0

	/* Far jump through memory loads CS = BOOT_CS and enters 32-bit code. */
	ljmpl	*OFF(jump32)

	/* Where NMIs and exceptions end (see the header): never returns. The
	 * same three bytes (f4 eb fd) mean HLT; JMP back in 16-, 32- and 64-bit
	 * code, so one copy serves every gate. */
park:
	hlt
	jmp	park
park_end:

	.code32
start32:
	/* Flat stack segment and the stack in P in one uninterruptible pair,
	 * then the flat data segments the boot protocol requires. */
	movl	$BOOT_DS, %eax
	movl	%eax, %ss
	leal	STACK_TOP(%ebx), %esp
	movl	%eax, %ds
	movl	%eax, %es
	movl	%eax, %fs
	movl	%eax, %gs

	cmpl	$0, OFF(mint_trampoline_mode)(%ebx)
	jne	to_long_mode

	/* 32-bit boot protocol. */
	/* Timestamp for the module's boot-time breakdown (clobbers %edx:%eax). */
	rdtsc
	movl	%eax, OFF(mint_trampoline_tsc)(%ebx)
	movl	%edx, OFF(mint_trampoline_tsc + 4)(%ebx)

	movl	OFF(mint_trampoline_boot_params)(%ebx), %esi
	movl	OFF(mint_trampoline_entry)(%ebx), %eax
	/* Tell the module this CPU has left real mode and is entering Linux. */
	movl	$MINT_REACHED, OFF(mint_trampoline_reached)(%ebx)
	xorl	%ebp, %ebp
	xorl	%edi, %edi
	xorl	%ebx, %ebx
	jmpl	*%eax

	/* 64-bit boot protocol: enable PAE, load the identity page tables, set
	 * EFER.LME, switch to the GDT whose 0x10 is a 64-bit code segment (its
	 * 0x08 is 32-bit code, as the legacy gates need until paging is on). */
to_long_mode:
	movl	%cr4, %eax
	orl	$X86_CR4_PAE, %eax
	movl	%eax, %cr4
	movl	OFF(mint_trampoline_cr3)(%ebx), %eax
	movl	%eax, %cr3
	movl	$MSR_EFER, %ecx
	rdmsr
	orl	$EFER_LME, %eax
	wrmsr
	lgdtl	OFF(gdt64_desc)(%ebx)

	/* Mode switch: protected mode -> long mode (compatibility submode) by
	 * turning paging on with LME set; from here the IDT is read as 64-bit
	 * gates ... */
	movl	%cr0, %eax
	orl	$X86_CR0_PG, %eax
	movl	%eax, %cr0

	/* ... and -> 64-bit mode by loading CS = 0x10 from the 64-bit GDT. */
	ljmpl	*OFF(jump64)(%ebx)

	.code64
start64:
	/* Upper halves of the registers are undefined after the switch. */
	movl	%ebx, %ebx
	leaq	STACK_TOP(%rbx), %rsp
	rdtsc
	movl	%eax, OFF(mint_trampoline_tsc)(%rbx)
	movl	%edx, OFF(mint_trampoline_tsc + 4)(%rbx)
	movq	OFF(mint_trampoline_boot_params)(%rbx), %rsi
	movq	OFF(mint_trampoline_entry)(%rbx), %rax
	movl	$MINT_REACHED, OFF(mint_trampoline_reached)(%rbx)
	xorl	%ebp, %ebp
	xorl	%edi, %edi
	xorl	%ebx, %ebx
	jmpq	*%rax

	.balign 8
gdt:
	.quad	0				/* 0x00: null */
	.quad	0x00cf9a000000ffff		/* 0x08: flat 4 GiB code, 32-bit (gates) */
	.quad	0x00cf9a000000ffff		/* 0x10: flat 4 GiB code, 32-bit */
	.quad	0x00cf92000000ffff		/* 0x18: flat 4 GiB data */
gdt_end:
gdt_desc:
	.word	gdt_end - gdt - 1		/* limit */
	.long	0				/* base, patched at run time */
	.balign 8
gdt64:
	.quad	0				/* 0x00: null */
	.quad	0x00cf9a000000ffff		/* 0x08: flat 4 GiB code, 32-bit (gates) */
	.quad	0x00af9a000000ffff		/* 0x10: 64-bit code (L=1) */
	.quad	0x00cf92000000ffff		/* 0x18: flat 4 GiB data */
gdt64_end:
gdt64_desc:
	.word	gdt64_end - gdt64 - 1		/* limit */
	.long	0				/* base, patched at run time */

	/* The parking IDT (see the header). Gate offsets are patched at run
	 * time; .org keeps each entry at its vector and fails the build if two
	 * of them were to overlap. */
	.macro	gate32 vector
	.org	GATE32(\vector)
	.word	0				/* offset 15:0, patched */
	.word	CODE32_SEL
	.byte	0
	.byte	GATE_INTR
	.word	0				/* offset 31:16, patched */
	.endm
	.macro	gate64 vector
	.org	GATE64(\vector)
	.word	0				/* offset 15:0, patched */
	.word	BOOT_CS
	.byte	0				/* IST 0: the current stack */
	.byte	GATE_INTR
	.word	0				/* offset 31:16, patched */
	.long	0				/* offset 63:32 */
	.long	0
	.endm

	.balign 16
idt:
	.org	RM_VEC(NMI_VECTOR)
	.word	OFF(park)			/* real mode: offset */
	.word	0				/* real mode: segment, patched */
	gate32	NMI_VECTOR
	gate64	NMI_VECTOR
	gate32	DF_VECTOR
	gate32	GP_VECTOR
	gate64	DF_VECTOR
	gate64	GP_VECTOR
idt_end:
	.balign 4
idt_desc:
	.word	idt_end - idt - 1		/* limit */
	.long	0				/* base, patched at run time */

	.balign 4
jump32:
	.long	0				/* offset, patched at run time */
	.word	BOOT_CS				/* selector */
	.balign 4
jump64:
	.long	0				/* offset, patched at run time */
	.word	BOOT_CS				/* selector, in the 64-bit GDT */
	.balign 8
mint_trampoline_boot_params:
	.quad	0
mint_trampoline_entry:
	.quad	0
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

	/* Build-time checks, in a section the module link discards. A .skip of
	 * the size followed by an .org to the bound fails to assemble ("attempt
	 * to move .org backwards") when the size exceeds the bound. */
	.section .discard.mint_trampoline, "a"
	/* The one park serves every mode only as these three bytes (HLT is one,
	 * so at most three means JMP rel8). */
check_park:
	.skip	park_end - park
	.org	check_park + 3
	/* The stack at the end of the page must not reach the blob. */
check_stack:
	.skip	mint_trampoline_end - mint_trampoline_start
	.org	check_stack + STACK_TOP - STACK_SIZE
