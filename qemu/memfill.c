// SPDX-License-Identifier: GPL-2.0
/*
 * memfill: fill memory with a pattern only this run can produce and check it
 * is still there. The memory scenarios run it on both sides of a carve: in a
 * partition over most of the RAM the host carved for it, and on the host
 * over its own RAM at the same time, so a page that both sides can write
 * (a range the host gave away but still uses, or a partition writing outside
 * its ranges) shows up as a mismatch on one side or the other.
 *
 *     memfill SEED MiB [GO-FILE]
 *
 * maps MiB of anonymous memory, writes every 8-byte word, then verifies the
 * whole mapping twice. With GO-FILE it prints a `filled` line after the
 * first verification and holds the memory (so the host can carve, and so
 * migrate these pages, meanwhile) until GO-FILE exists, then verifies again.
 *
 * Word i holds splitmix64(H + (i + 1) * 0x9e3779b97f4a7c15), H the FNV-1a
 * hash of SEED: the finalizer is a bijection and the step is odd, so every
 * word of a mapping differs from every other (a page copied to the wrong
 * place, or read back from another page, cannot match), and another seed
 * gives another sequence.
 *
 * One line on stdout, e.g.
 *
 *     memfill: seed=abc mib=1536 pass1=ok pass2=ok mismatches=0 fill_ms=812 verify_ms=640,655
 *
 * or, for a bad pass, `passN=bad` and the first mismatch of the run:
 * `first_off=0x... first_va=0x... first_pa=0x... want=0x... got=0x...`
 * (first_pa from /proc/self/pagemap, `?` when it is not readable). Exit
 * status 0 only if both passes found every word; 1 on a mismatch; 2 on a
 * usage or mapping error.
 *
 * No libc (qemu/nolibc.h), like qemu/tsc.c: it runs in the bare initramfs
 * images of the host and of a partition.
 */
#include "nolibc.h"

#define SYS_pread64 17
#define SYS_mmap 9
#define SYS_access 21
#define SYS_nanosleep 35
#define SYS_clock_gettime 228
#define PROT_RW 3
#define MAP_PRIVATE_ANON 0x22
#define CLOCK_MONOTONIC 1
#define O_RDONLY 0

typedef unsigned long long u64;

static long sys6(long nr, long a, long b, long c, long d, long e, long f)
{
	long ret;
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	register long r9 __asm__("r9") = f;

	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}

static u64 word(u64 h, u64 i)
{
	u64 z = h + (i + 1) * 0x9e3779b97f4a7c15ULL;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static u64 now_ms(void)
{
	long ts[2] = { 0, 0 };

	sys3(SYS_clock_gettime, CLOCK_MONOTONIC, (long)ts, 0);
	return (u64)ts[0] * 1000 + (u64)ts[1] / 1000000;
}

static char *put_str(char *p, const char *s)
{
	while (*s)
		*p++ = *s++;
	return p;
}

/* The seed as given, at most 64 characters of it (the line's buffer is fixed). */
static char *put_seed(char *p, const char *s)
{
	int n = 0;

	while (*s && n++ < 64)
		*p++ = *s++;
	return p;
}

static char *put_hex(char *p, u64 v)
{
	int shift = 60;

	p = put_str(p, "0x");
	while (shift > 0 && !(v >> shift))
		shift -= 4;
	for (; shift >= 0; shift -= 4)
		*p++ = "0123456789abcdef"[(v >> shift) & 15];
	return p;
}

static void out(int fd, const char *s, char *end)
{
	sys3(SYS_write, fd, (long)s, end - s);
}

static void usage(void)
{
	static const char msg[] = "usage: memfill SEED MiB [GO-FILE]\n";

	sys3(SYS_write, 2, (long)msg, sizeof(msg) - 1);
	sys3(SYS_exit, 2, 0, 0);
}

/* The physical address behind va, or ~0 if pagemap does not say. */
static u64 phys(u64 va)
{
	u64 entry = 0;
	long fd = sys3(SYS_open, (long)"/proc/self/pagemap", O_RDONLY, 0);

	if (fd < 0)
		return ~0ULL;
	if (sys6(SYS_pread64, fd, (long)&entry, 8, (long)(va / 4096 * 8), 0, 0) != 8)
		entry = 0;
	/* close(2) is number 3; the process ends soon anyway. */
	sys3(3, fd, 0, 0);
	/* Bit 63: present; bits 0-54: the frame (0 without CAP_SYS_ADMIN). */
	if (!(entry >> 63) || !(entry & ((1ULL << 55) - 1)))
		return ~0ULL;
	return (entry & ((1ULL << 55) - 1)) * 4096 + va % 4096;
}

struct first {
	u64 seen, off, va, want, got;
};

/* Counts the words of p[0..n) that do not hold their pattern. */
static u64 verify(volatile u64 *p, u64 n, u64 h, struct first *f)
{
	u64 bad = 0, i, w;

	for (i = 0; i < n; i++) {
		w = p[i];
		if (w != word(h, i)) {
			if (!f->seen) {
				f->seen = 1;
				f->off = i * 8;
				f->va = (u64)(p + i);
				f->want = word(h, i);
				f->got = w;
			}
			bad++;
		}
	}
	return bad;
}

void memfill_main(long *sp);

__attribute__((noinline, used)) void memfill_main(long *sp)
{
	static char line[512];
	long argc = sp[0];
	char **argv = (char **)(sp + 1);
	const char *seed, *go, *s;
	struct first first = { 0, 0, 0, 0, 0 };
	u64 h = 0xcbf29ce484222325ULL, mib = 0, n, i, bad1, bad2, t0, t1, t2, t3;
	u64 fill_ms, verify1_ms;
	volatile u64 *p;
	long ret;
	char *e;

	if (argc < 3 || argc > 4)
		usage();
	seed = argv[1];
	go = argc == 4 ? argv[3] : 0;
	for (s = seed; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	for (s = argv[2]; *s; s++) {
		if (*s < '0' || *s > '9' || mib > (1ULL << 20))
			usage();
		mib = mib * 10 + (*s - '0');
	}
	if (!mib)
		usage();
	n = mib << 17; /* 8-byte words */

	ret = sys6(SYS_mmap, 0, (long)(mib << 20), PROT_RW, MAP_PRIVATE_ANON, -1, 0);
	if (ret < 0 && ret > -4096) {
		e = put_str(line, "memfill: seed=");
		e = put_seed(e, seed);
		e = put_str(e, " mib=");
		e = put_u64(e, mib);
		e = put_str(e, " mmap failed errno=");
		e = put_u64(e, -ret);
		*e++ = '\n';
		out(1, line, e);
		sys3(SYS_exit, 2, 0, 0);
	}
	p = (volatile u64 *)ret;

	t0 = now_ms();
	for (i = 0; i < n; i++)
		p[i] = word(h, i);
	t1 = now_ms();
	bad1 = verify(p, n, h, &first);
	t2 = now_ms();
	if (go) {
		e = put_str(line, "memfill: seed=");
		e = put_seed(e, seed);
		e = put_str(e, " filled, waiting for ");
		e = put_seed(e, go);
		*e++ = '\n';
		out(1, line, e);
		while (sys3(SYS_access, (long)go, 0, 0) != 0) {
			static const long tenth[2] = { 0, 100000000 };

			sys3(SYS_nanosleep, (long)tenth, 0, 0);
		}
	}
	fill_ms = t1 - t0;
	verify1_ms = t2 - t1;
	t2 = now_ms();
	bad2 = verify(p, n, h, &first);
	t3 = now_ms();

	e = put_str(line, "memfill: seed=");
	e = put_seed(e, seed);
	e = put_str(e, " mib=");
	e = put_u64(e, mib);
	e = put_str(e, bad1 ? " pass1=bad" : " pass1=ok");
	e = put_str(e, bad2 ? " pass2=bad" : " pass2=ok");
	e = put_str(e, " mismatches=");
	e = put_u64(e, bad1 + bad2);
	if (first.seen) {
		u64 pa = phys(first.va);

		e = put_str(e, " first_off=");
		e = put_hex(e, first.off);
		e = put_str(e, " first_va=");
		e = put_hex(e, first.va);
		e = put_str(e, " first_pa=");
		e = pa == ~0ULL ? put_str(e, "?") : put_hex(e, pa);
		e = put_str(e, " want=");
		e = put_hex(e, first.want);
		e = put_str(e, " got=");
		e = put_hex(e, first.got);
	}
	e = put_str(e, " fill_ms=");
	e = put_u64(e, fill_ms);
	e = put_str(e, " verify_ms=");
	e = put_u64(e, verify1_ms);
	*e++ = ',';
	e = put_u64(e, t3 - t2);
	*e++ = '\n';
	out(1, line, e);
	sys3(SYS_exit, bad1 + bad2 ? 1 : 0, 0, 0);
}

/* The stack holds argc, argv[]: hand it to memfill_main, 16-byte aligned. */
__asm__(".globl _start\n"
	"_start:\n"
	"	mov %rsp, %rdi\n"
	"	and $-16, %rsp\n"
	"	call memfill_main\n"
	"	hlt\n");
