/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The few pieces the initramfs's libc-free helpers (tsc.c, init-stamp.c)
 * share: a raw x86-64 system call, the time stamp counter, and decimal
 * output.
 */
#ifndef MINT_NOLIBC_H
#define MINT_NOLIBC_H

#define SYS_write 1
#define SYS_open 2
#define SYS_execve 59
#define SYS_exit 60
#define O_WRONLY 1

static inline long sys3(long nr, long a, long b, long c)
{
	long ret;

	__asm__ volatile("syscall" : "=a"(ret) : "a"(nr), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
	return ret;
}

static inline unsigned long long rdtsc(void)
{
	unsigned int lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((unsigned long long)hi << 32) | lo;
}

/* Appends the decimal form of v at p; returns the new end. */
static inline char *put_u64(char *p, unsigned long long v)
{
	char tmp[20];
	int n = 0;

	do {
		tmp[n++] = '0' + v % 10;
		v /= 10;
	} while (v);
	while (n)
		*p++ = tmp[--n];
	return p;
}

#endif
