// SPDX-License-Identifier: GPL-2.0
/*
 * tsc: print the CPU's time stamp counter in decimal. The scenarios and the
 * benchmark's throughput runs time work with it on both sides (host and
 * partition). No libc, so it is a few hundred bytes and starts as fast as a
 * program can.
 */
#include "nolibc.h"

void _start(void)
{
	char buf[24];
	char *end = put_u64(buf, rdtsc());

	*end++ = '\n';
	sys3(SYS_write, 1, (long)buf, end - buf);
	sys3(SYS_exit, 0, 0, 0);
	for (;;)
		;
}
