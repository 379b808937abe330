// SPDX-License-Identifier: GPL-2.0
/*
 * Carving a partition's memory out of the running host (rust/window.rs is
 * the Rust side and documents the contracts), and the host pages that hold
 * a 64-bit entry's identity page tables (rust/boot.rs).
 *
 * A carve takes a contiguous, aligned pfn range from the buddy allocator
 * with alloc_contig_range(), which isolates its pageblocks and migrates
 * whatever movable pages sit there; the pages stay allocated (to mint) until
 * free_contig_range(). alloc_contig_pages() would search for such a range
 * itself, lowest address first, but is not exported; the search here is the
 * same idea from the top down. The range is shown in /proc/iomem as a busy
 * child of its "System RAM" resource.
 *
 * A host booted with cma= has a contiguous area whose pageblocks only ever
 * hold movable pages. Its bookkeeping belongs to the CMA allocator, which a
 * module reaches only through the DMA API: mint registers a platform device
 * of its own ("mint-memory", no hardware behind it, dma-direct) and takes
 * windows from the default CMA area with dma_alloc_pages(). The top-down
 * search skips CMA pageblocks (alloc_contig_range() with MIGRATE_MOVABLE
 * would make them ordinary movable blocks on the way out).
 */
#include <linux/dma-mapping.h>
#include <linux/gfp.h>
#include <linux/io.h>
#include <linux/ioport.h>
#include <linux/ktime.h>
#include <linux/memory_hotplug.h>
#include <linux/mm.h>
#include <linux/mmzone.h>
#include <linux/page-isolation.h>
#include <linux/platform_device.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/vmstat.h>

/* What a carve did, for the Rust side's log line and refusal message. */
struct mint_carve_stats {
	u64 tries;		/* alloc_contig_range() calls */
	u64 ns;			/* time the whole carve took */
	u64 largest_free;	/* on failure: largest run of free pages seen */
};

/* Called from Rust only (rust/window.rs, rust/boot.rs declare them). */
int mint_carve(u64 size, u64 align, u64 floor, u64 *start, struct mint_carve_stats *st);
int mint_carve_at(u64 start, u64 size, struct mint_carve_stats *st);
void mint_uncarve(u64 start, u64 size);
struct resource *mint_carve_show(u64 start, u64 size, const char *name);
void mint_carve_hide(struct resource *res);
u64 mint_free_bytes(void);
int mint_cma_register(void);
void mint_cma_unregister(void);
int mint_carve_cma(u64 size, u64 *start, struct mint_carve_stats *st);
void mint_uncarve_cma(u64 start, u64 size);
void *mint_page_dma32(u64 *phys);
void mint_page_free(void *va);
void mint_cond_resched(void);

/* At most this many System RAM ranges are searched (the highest ones). */
/* A carve gives up after this many alloc_contig_range() calls: each one
 * isolates the range and drains every CPU's lists. */
#define MINT_CARVE_TRIES 256
#define MINT_RAM_RANGES 64

struct ram_ranges {
	unsigned int n;
	u64 start[MINT_RAM_RANGES];
	u64 end[MINT_RAM_RANGES];	/* exclusive */
};

/* Keeps the highest MINT_RAM_RANGES ranges (the walk is ascending; the
 * search starts at the top, where movablecore= puts ZONE_MOVABLE). */
static int collect_ram(struct resource *res, void *arg)
{
	struct ram_ranges *r = arg;

	if (r->n == MINT_RAM_RANGES) {
		memmove(r->start, r->start + 1, (MINT_RAM_RANGES - 1) * sizeof(r->start[0]));
		memmove(r->end, r->end + 1, (MINT_RAM_RANGES - 1) * sizeof(r->end[0]));
		r->n--;
	}
	r->start[r->n] = res->start;
	r->end[r->n] = res->end + 1;
	r->n++;
	return 0;
}

static void ram_ranges(struct ram_ranges *r)
{
	r->n = 0;
	walk_iomem_res_desc(IORES_DESC_NONE, IORESOURCE_SYSTEM_RAM | IORESOURCE_BUSY,
			    0, U64_MAX, r, collect_ram);
}

#ifndef CONFIG_SPARSEMEM
#error "mint's carve reads the pageblock flags of SPARSEMEM"
#endif

/*
 * The migrate type of @pfn's pageblock. get_pfnblock_flags_mask() is not
 * exported; this is the same lockless read of the section's pageblock
 * bitmap (mm/page_alloc.c, SPARSEMEM layout: NR_PAGEBLOCK_BITS per block,
 * counted from the start of the section).
 */
static int pageblock_migratetype(unsigned long pfn)
{
	unsigned long *bitmap = section_to_usemap(__pfn_to_section(pfn));
	unsigned long bitidx = ((pfn & (PAGES_PER_SECTION - 1)) >> pageblock_order) *
			       NR_PAGEBLOCK_BITS;
	unsigned long word = READ_ONCE(bitmap[bitidx / BITS_PER_LONG]);

	return (word >> (bitidx & (BITS_PER_LONG - 1))) & MIGRATETYPE_MASK;
}

/*
 * Whether the page at @pfn may be part of a carved range in zone @z (NULL:
 * any zone but ZONE_DMA, which *@z is then set to): online, not reserved
 * (kernel image, firmware, memblock), not a huge page, not an allocated
 * page that cannot move, and in a pageblock that is not CMA (its pages are
 * the CMA allocator's to hand out, and isolation refuses them for
 * MIGRATE_MOVABLE), not isolated by someone else and not a high-order
 * atomic reserve (whose accounting a carve would upset). Racy by nature:
 * alloc_contig_range() decides.
 */
static bool page_ok(unsigned long pfn, struct zone **z)
{
	struct page *page = pfn_to_online_page(pfn);
	int mt;

	if (!page || PageReserved(page) || PageHuge(page))
		return false;
	if (*z && page_zone(page) != *z)
		return false;
	if (!*z) {
#ifdef CONFIG_ZONE_DMA
		if (zone_idx(page_zone(page)) == ZONE_DMA)
			return false;
#endif
		*z = page_zone(page);
	}
	mt = pageblock_migratetype(pfn);
	if (is_migrate_cma(mt) || is_migrate_isolate(mt) || mt == MIGRATE_HIGHATOMIC)
		return false;
	/*
	 * An allocated page that is neither on an LRU list nor a movable
	 * kernel page (slab, page tables, vmalloc, ...) cannot be migrated:
	 * the test of has_unmovable_pages() (mm/page_isolation.c), which
	 * ZONE_MOVABLE skips because nothing unmovable may live there.
	 */
	if (zone_idx(*z) != ZONE_MOVABLE && page_count(page) && !PageBuddy(page) &&
	    !PageLRU(page) && !__PageMovable(page) && !PageCompound(page))
		return false;
	return true;
}

/*
 * The lowest pfn of @first..@last (inclusive, scanned downwards) from which
 * every page up to @last is page_ok() in one zone: @first if all are, else
 * the pfn above the highest bad one (> @last if @last itself is bad).
 */
static unsigned long good_down_to(unsigned long first, unsigned long last, struct zone **z)
{
	unsigned long pfn = last + 1;

	while (pfn > first) {
		if (!page_ok(pfn - 1, z))
			return pfn;
		pfn--;
		if (!(pfn & 1023))
			cond_resched();
	}
	return first;
}

static int try_range(unsigned long pfn, unsigned long nr, struct mint_carve_stats *st)
{
	st->tries++;
	return alloc_contig_range_noprof(pfn, pfn + nr, MIGRATE_MOVABLE,
					 GFP_KERNEL | __GFP_NOWARN);
}

/* The largest run of free (buddy) pages in System RAM, read without locks. */
static u64 largest_free(const struct ram_ranges *r)
{
	unsigned long best = 0, run = 0;
	unsigned int i;

	for (i = 0; i < r->n; i++) {
		unsigned long pfn = PHYS_PFN(r->start[i]), end = PHYS_PFN(r->end[i]);

		run = 0;
		while (pfn < end) {
			struct page *page = pfn_to_online_page(pfn);
			unsigned long n = 1;

			if (page && PageBuddy(page)) {
				/* buddy_order_unsafe() (mm/internal.h): the order a free
				 * page's private field holds. */
				unsigned long order = READ_ONCE(page->private);

				n = order <= MAX_PAGE_ORDER ? 1UL << order : 1;
				run += n;
				best = max(best, run);
			} else {
				run = 0;
			}
			pfn += n;
			if (!(pfn & 4095))
				cond_resched();
		}
	}
	return (u64)best << PAGE_SHIFT;
}

/*
 * Carves @size bytes (a multiple of @align, a power of two >= the page
 * size) at an @align boundary, at or above @floor, highest address first;
 * *@start receives it. Candidates that hold a page that can never be
 * allocated this way are skipped without trying; the others are tried one
 * @align step apart, at most MINT_CARVE_TRIES of them. 0, -ENOMEM (nothing could be had: st->largest_free
 * says what was free) or -EINTR (a fatal signal).
 */
int mint_carve(u64 size, u64 align, u64 floor, u64 *start, struct mint_carve_stats *st)
{
	struct ram_ranges *r;
	unsigned long nr = size >> PAGE_SHIFT;
	u64 t0 = ktime_get_ns();
	int i, ret = -ENOMEM;

	memset(st, 0, sizeof(*st));
	if (!size || size & (align - 1) || align < PAGE_SIZE || align & (align - 1))
		return -EINVAL;
	r = kmalloc(sizeof(*r), GFP_KERNEL);
	if (!r)
		return -ENOMEM;
	ram_ranges(r);
	for (i = r->n - 1; i >= 0 && ret == -ENOMEM && st->tries < MINT_CARVE_TRIES; i--) {
		u64 lo = max(r->start[i], floor), hi = r->end[i];
		/* Pages known good: [good_lo, good_hi) in zone good_z. */
		unsigned long good_lo = 0, good_hi = 0;
		struct zone *good_z = NULL;
		u64 cand;

		if (hi < lo + size)
			continue;
		cand = ALIGN_DOWN(hi - size, align);
		while (cand >= lo && ret == -ENOMEM) {
			unsigned long pfn = PHYS_PFN(cand), last = pfn + nr - 1, ok;

			if (fatal_signal_pending(current)) {
				ret = -EINTR;
				break;
			}
			/* Extend the known-good run down to this candidate. */
			if (good_hi <= good_lo || last >= good_hi || last + 1 < good_lo) {
				good_z = NULL;
				good_hi = last + 1;
				good_lo = good_hi;
			}
			if (pfn < good_lo) {
				ok = good_down_to(pfn, good_lo - 1, &good_z);
				if (ok > pfn) {
					/* A bad page at ok - 1: the next candidate
					 * must end at or below it. */
					good_lo = good_hi = 0;
					if (((u64)(ok - 1) << PAGE_SHIFT) < lo + size)
						break;
					cand = ALIGN_DOWN(((u64)(ok - 1) << PAGE_SHIFT) - size, align);
					continue;
				}
				good_lo = pfn;
			}
			if (st->tries >= MINT_CARVE_TRIES)
				break;
			ret = try_range(pfn, nr, st);
			if (!ret) {
				*start = cand;
				break;
			}
			if (ret == -EINTR || fatal_signal_pending(current)) {
				ret = -EINTR;
				break;
			}
			/* -EBUSY (a page that could not be migrated) and the
			 * like: one step down. */
			ret = -ENOMEM;
			if (cand < align)
				break;
			cand -= align;
			cond_resched();
		}
	}
	if (ret == -ENOMEM)
		st->largest_free = largest_free(r);
	kfree(r);
	st->ns = ktime_get_ns() - t0;
	return ret;
}

/*
 * Carves exactly [@start, @start + @size) out of System RAM: 0, -EBUSY (a
 * page there can never be carved: reserved, another zone, CMA, or one that
 * could not be migrated) or -EINTR.
 */
int mint_carve_at(u64 start, u64 size, struct mint_carve_stats *st)
{
	unsigned long pfn = PHYS_PFN(start), nr = size >> PAGE_SHIFT;
	struct zone *z = NULL;
	u64 t0 = ktime_get_ns();
	int ret;

	memset(st, 0, sizeof(*st));
	if (!nr || (start | size) & ~PAGE_MASK)
		return -EINVAL;
	if (good_down_to(pfn, pfn + nr - 1, &z) != pfn)
		ret = -EBUSY;
	else
		ret = try_range(pfn, nr, st);
	if (ret && ret != -EINTR)
		ret = -EBUSY;
	st->ns = ktime_get_ns() - t0;
	return ret;
}

/* Gives a carved range back to the host's allocator. */
void mint_uncarve(u64 start, u64 size)
{
	free_contig_range(PHYS_PFN(start), size >> PAGE_SHIFT);
}

/*
 * Shows a carved range in /proc/iomem as @name (which must outlive it),
 * nested under its System RAM resource; NULL if it cannot be inserted.
 */
struct resource *mint_carve_show(u64 start, u64 size, const char *name)
{
	struct resource *res = kzalloc(sizeof(*res), GFP_KERNEL);

	if (!res)
		return NULL;
	res->name = name;
	res->start = start;
	res->end = start + size - 1;
	res->flags = IORESOURCE_MEM | IORESOURCE_BUSY;
	if (insert_resource(&iomem_resource, res)) {
		kfree(res);
		return NULL;
	}
	return res;
}

/* Removes what mint_carve_show() inserted. */
void mint_carve_hide(struct resource *res)
{
	remove_resource(res);
	kfree(res);
}

/* Free memory of the host, as MemFree counts it. */
u64 mint_free_bytes(void)
{
	return (u64)global_zone_page_state(NR_FREE_PAGES) << PAGE_SHIFT;
}

/* One zeroed page below 4 GiB; *@phys receives its address. */
void *mint_page_dma32(u64 *phys)
{
	struct page *page = alloc_page(GFP_KERNEL | __GFP_DMA32 | __GFP_ZERO);

	if (!page)
		return NULL;
	*phys = page_to_phys(page);
	return page_address(page);
}

/* Frees a page from mint_page_dma32(). */
void mint_page_free(void *va)
{
	free_page((unsigned long)va);
}

/* A scheduling point for long loops on the Rust side (scrubbing). */
void mint_cond_resched(void)
{
	cond_resched();
}

/* The device windows from the CMA area are allocated for (NULL: none). */
static struct platform_device *mint_cma_dev;

/* Registers "mint-memory"; called once at module load. */
int mint_cma_register(void)
{
	struct platform_device *pdev;
	int ret;

	pdev = platform_device_register_simple("mint-memory", PLATFORM_DEVID_NONE, NULL, 0);
	if (IS_ERR(pdev))
		return PTR_ERR(pdev);
	ret = dma_coerce_mask_and_coherent(&pdev->dev, DMA_BIT_MASK(64));
	if (ret) {
		platform_device_unregister(pdev);
		return ret;
	}
	mint_cma_dev = pdev;
	return 0;
}

/* Unregisters it; called at module unload, after every window went back. */
void mint_cma_unregister(void)
{
	if (mint_cma_dev)
		platform_device_unregister(mint_cma_dev);
	mint_cma_dev = NULL;
}

/*
 * @size bytes from the host's default CMA area (cma=), at a 1 MiB or
 * better boundary (CMA_ALIGNMENT); -ENOMEM if there is no such area or it
 * has no room. Sizes of at most 1 << MAX_PAGE_ORDER pages may come from the
 * page allocator instead, which is just as good. The memory comes zeroed
 * (dma_direct_alloc_pages() clears it); *@start receives its physical
 * address, which is also its DMA handle for mint_uncarve_cma() (dma-direct,
 * no memory encryption on a host mint runs on).
 */
int mint_carve_cma(u64 size, u64 *start, struct mint_carve_stats *st)
{
	u64 t0 = ktime_get_ns();
	dma_addr_t handle;
	struct page *page;

	memset(st, 0, sizeof(*st));
	if (!mint_cma_dev)
		return -ENOMEM;
	st->tries = 1;
	page = dma_alloc_pages(&mint_cma_dev->dev, size, &handle, DMA_BIDIRECTIONAL,
			       GFP_KERNEL | __GFP_NOWARN);
	st->ns = ktime_get_ns() - t0;
	if (!page)
		return -ENOMEM;
	*start = page_to_phys(page);
	return 0;
}

/* Gives back what mint_carve_cma() took. */
void mint_uncarve_cma(u64 start, u64 size)
{
	dma_free_pages(&mint_cma_dev->dev, size, pfn_to_page(PHYS_PFN(start)), start,
		       DMA_BIDIRECTIONAL);
}
