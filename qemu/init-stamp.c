// SPDX-License-Identifier: GPL-2.0
/*
 * init-stamp: the partition initramfs's /init. It reads the time stamp
 * counter as its first instruction, so the boot-time benchmark's end point
 * ("/init is running") is the moment the kernel hands over to user space,
 * not the moment a shell has started. Then it execs the real init script,
 * /init.sh, under busybox sh, with MINT_INIT_TSC=<value> added to the
 * environment the kernel gave /init.
 *
 * It also writes one line to the kernel log through /dev/kmsg (a device node
 * in the initramfs, so it is there before devtmpfs is mounted):
 *
 *     MINT-INIT tsc=<T0> kmsg_tsc=<T1>
 *
 * T0 is the TSC at /init's first instruction, T1 the TSC just before the
 * write(2) that stamps the line with the kernel's clock. The pair (T1, the
 * line's printk time) ties the kernel's clock to the TSC, which lets the
 * benchmark place the kernel's own events (its clock's start, "Run /init")
 * on the same TSC axis as the host's.
 *
 * No libc: a few hundred bytes, nothing to load or relocate.
 */
#include "nolibc.h"

static char *put_str(char *p, const char *s)
{
	while (*s)
		*p++ = *s++;
	return p;
}

#define MAX_ENV 64

/*
 * Entry from _start: sp points at the initial process stack (argc, argv[],
 * NULL, envp[], NULL), t0 is the TSC _start read first thing.
 */
void stamp_main(long *sp, unsigned long long t0);

__attribute__((noinline, used)) void stamp_main(long *sp, unsigned long long t0)
{
	static char line[96], env_tsc[48];
	static char *envp[MAX_ENV + 2];
	static char *const argv[] = { "sh", "/init.sh", 0 };
	char **env = (char **)(sp + 1 + sp[0] + 1);
	unsigned long long t1;
	long fd;
	char *p;
	int n = 0;

	fd = sys3(SYS_open, (long)"/dev/kmsg", O_WRONLY, 0);
	if (fd >= 0) {
		t1 = rdtsc();
		p = put_str(line, "MINT-INIT tsc=");
		p = put_u64(p, t0);
		p = put_str(p, " kmsg_tsc=");
		p = put_u64(p, t1);
		*p++ = '\n';
		sys3(SYS_write, fd, (long)line, p - line);
	}

	p = put_str(env_tsc, "MINT_INIT_TSC=");
	*put_u64(p, t0) = 0;
	while (env[n] && n < MAX_ENV) {
		envp[n] = env[n];
		n++;
	}
	envp[n++] = env_tsc;
	envp[n] = 0;
	sys3(SYS_execve, (long)"/bin/sh", (long)argv, (long)envp);

	/* Only reached if the exec failed: say so where the kernel log is. */
	if (fd >= 0) {
		static const char msg[] = "init-stamp: cannot exec /bin/sh /init.sh\n";

		sys3(SYS_write, fd, (long)msg, sizeof(msg) - 1);
	}
	sys3(SYS_exit, 1, 0, 0);
}

/* Read the TSC before anything else, then hand the stack to stamp_main. */
__asm__(".globl _start\n"
	"_start:\n"
	"	rdtsc\n"
	"	shl $32, %rdx\n"
	"	or %rax, %rdx\n"
	"	mov %rdx, %rsi\n"
	"	mov %rsp, %rdi\n"
	"	and $-16, %rsp\n"
	"	call stamp_main\n"
	"	hlt\n");
