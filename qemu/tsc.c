// SPDX-License-Identifier: GPL-2.0
/*
 * tsc: print the CPU's time stamp counter in decimal. The end point of the
 * boot-time benchmark (`cargo xtask bench`): a partition's, a kexec'd or a
 * cold-booted /init runs it first thing. No libc, so it is a few hundred
 * bytes and starts as fast as a program can.
 */
static long sys3(long nr, long a, long b, long c)
{
	long ret;

	__asm__ volatile("syscall" : "=a"(ret) : "a"(nr), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
	return ret;
}

void _start(void)
{
	unsigned int lo, hi;
	unsigned long long v;
	char buf[24];
	int i = sizeof(buf);

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	v = ((unsigned long long)hi << 32) | lo;
	buf[--i] = '\n';
	do {
		buf[--i] = '0' + v % 10;
		v /= 10;
	} while (v);
	sys3(1, 1, (long)(buf + i), sizeof(buf) - i);	/* write(1, ...) */
	sys3(60, 0, 0, 0);				/* exit(0) */
	for (;;)
		;
}
