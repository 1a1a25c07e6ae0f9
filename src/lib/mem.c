/* SPDX-License-Identifier: BSD-2-Clause */
/* Big arrays in mappings of their own: faulted in with one call, in huge pages where they fill them. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/mman.h>

#include "internal.h"

#if !defined(MAP_ANONYMOUS) && defined(MAP_ANON)
#define MAP_ANONYMOUS	MAP_ANON
#endif

/*
 * Below this a block comes from malloc(). A mapping costs two system calls;
 * above it a block takes pages no malloc arena is likely to have spare.
 */
#define MAP_MIN		(128 * 1024)
#define HUGE		((size_t)2 * 1024 * 1024)
/* Past MAP_MIN a block grows by this much at a time: in place, in reserved room. */
#define GROW_STEP	(256 * 1024)
/* The header before each block: what follows stays aligned for any type. */
#define HDR		64

struct hdr {
	size_t		map;		/* bytes mapped from the header on; 0: from malloc */
	size_t		room;		/* bytes the caller's part can grow to in place */
	size_t		size;		/* bytes the caller may use; zeroes from here to room */
	size_t		ready;		/* bytes from the header on that are faulted in */
	size_t		want;		/* from malloc: the room to reserve once mapped */
};

static size_t
page_size(void)
{
	long n = sysconf(_SC_PAGESIZE);

	return n > 0 ? (size_t)n : 4096;
}

/*
 * The bytes a block from malloc holds past its header: at least one, so
 * that the caller's pointer points inside it (an empty array's would point
 * just past it, and leak checkers take a block nothing points into for lost).
 */
static size_t
inside(size_t size)
{
	return size > 0 ? size : 1;
}

static size_t
round_up(size_t n, size_t to)
{
	return (n + to - 1) / to * to;
}

/*
 * Fault in [from, to) of a mapping now, in one call: on a virtual machine
 * each page fault can cost microseconds, and a big table touches thousands
 * of pages. Failing (before Linux 5.14) only leaves the pages to fault one by one.
 */
static void
populate(char *base, size_t from, size_t to)
{
#ifdef MADV_POPULATE_WRITE
	if (to > from)
		(void)madvise(base + from, to - from, MADV_POPULATE_WRITE);
#else
	(void)base;
	(void)from;
	(void)to;
#endif
}

/*
 * A mapping of len bytes (a page multiple). One of at least a huge page
 * starts on a huge page boundary and asks for huge pages: the kernel backs
 * only aligned 2 MB runs that lie whole in the mapping with them, so the
 * tail past the last whole run stays in small pages. On a virtual machine
 * a small page costs microseconds again when first touched, even faulted
 * in ahead; a huge page costs that once for 512 of them.
 */
static char *
map(size_t len)
{
	char *p, *a;
	size_t extra = len >= HUGE ? HUGE - page_size() : 0;

	if ((p = mmap(NULL, len + extra, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
	    0)) == MAP_FAILED)
		return NULL;
	a = (char *)round_up((uintptr_t)p, extra ? HUGE : 1);
	if (a > p)
		(void)munmap(p, (size_t)(a - p));
	if (p + extra > a)
		(void)munmap(a + len, (size_t)(p + extra - a));
#ifdef MADV_HUGEPAGE
	if (len >= HUGE)
		(void)madvise(a, len, MADV_HUGEPAGE);
#endif
	return a;
}

void *
gn_mem_reserve(size_t size, size_t max)
{
	struct hdr *h;
	size_t len;
	char *p;

	if (max < size)
		max = size;
	if (max > SIZE_MAX / 2 - HUGE)
		return NULL;
	/*
	 * Small for now: from malloc, the room reserved only once it grows
	 * big. A mapping takes a huge page as soon as its header is written,
	 * and an array may stay empty (a list without IPv6 rules).
	 */
	if (HDR + size < MAP_MIN) {
		if ((p = calloc(1, HDR + inside(size))) == NULL)
			return NULL;
		h = (struct hdr *)(void *)p;
		h->map = 0;
		h->room = size;
		h->size = size;
		h->ready = HDR + size;
		h->want = max;
		return p + HDR;
	}
	len = round_up(HDR + max, page_size());
	if ((p = map(len)) == NULL)
		return NULL;
	h = (struct hdr *)(void *)p;
	h->ready = round_up(HDR + size, page_size());
	populate(p, 0, h->ready);
	h->map = len;
	h->room = len - HDR;
	h->size = size;
	return p + HDR;
}

void *
gn_mem_alloc(size_t size)
{
	return gn_mem_reserve(size, size);
}

void *
gn_mem_realloc(void *ptr, size_t size)
{
	struct hdr *h;
	char *p, *q;
	size_t len, pg = page_size();

	if (ptr == NULL)
		return gn_mem_alloc(size);
	p = (char *)ptr - HDR;
	h = (struct hdr *)(void *)p;
	if (size > SIZE_MAX / 4 - HUGE)
		return NULL;
	if (h->map == 0) {
		if (size < h->size)
			memset(p + HDR + size, 0, h->size - size);	/* past the end reads as zeroes */
		/* From malloc: there while small (exact when shrunk), to a mapping once big. */
		if (size <= h->room && size >= h->size) {
			h->size = size;
			return ptr;
		}
		if (size < h->room || HDR + size < MAP_MIN) {
			if ((q = realloc(p, HDR + inside(size))) == NULL) {
				if (size > h->room)
					return NULL;
				h->size = size;		/* kept as it was, only bigger */
				return ptr;
			}
			h = (struct hdr *)(void *)q;
			if (size > h->room)
				memset(q + HDR + h->room, 0, size - h->room);
			h->room = h->size = size;
			h->ready = HDR + size;
			return q + HDR;
		}
		if ((h->want <= 2 * size || (q = gn_mem_reserve(size, h->want)) == NULL) &&
		    (q = gn_mem_reserve(size, 2 * size)) == NULL)
			return NULL;
		memcpy(q, ptr, h->size);
		free(p);
		return q;
	}
	len = round_up(HDR + size, pg);
	if (size <= h->size) {
		/* Shrink (or fit): give back the pages past the end. */
		if (len < h->map) {
			(void)munmap(p + len, h->map - len);
			h->map = len;
			h->room = len - HDR;
			if (h->ready > len)
				h->ready = len;
		}
		if (size < h->size)
			memset(p + HDR + size, 0, (h->size < h->room ? h->size : h->room) - size);
		h->size = size;
		return ptr;
	}
	if (len <= h->map) {
		/* Grow in the room reserved: fault in the new pages. */
		if (len > h->ready) {
			populate(p, h->ready, len);
			h->ready = len;
		}
		h->size = size;
		return ptr;
	}
	/* Past the room reserved: move, with room for as much again. */
#ifdef MREMAP_MAYMOVE
	/* The pages move with their tables, not copied: the block is never there twice. */
	if ((q = mremap(p, h->map, 2 * len, MREMAP_MAYMOVE)) != MAP_FAILED) {
		h = (struct hdr *)(void *)q;
		populate(q, h->ready, len);
		h->map = 2 * len;
		h->room = 2 * len - HDR;
		h->ready = len;
		h->size = size;
		return q + HDR;
	}
#endif
	if ((q = gn_mem_reserve(size, 2 * len)) == NULL)
		return NULL;
	memcpy(q, ptr, h->size);
	(void)munmap(p, h->map);
	return q;
}

static struct hdr *
header(void *ptr)
{
	return (struct hdr *)(void *)((char *)ptr - HDR);
}

void
gn_mem_free(void *ptr)
{
	struct hdr *h;

	if (ptr == NULL)
		return;
	h = header(ptr);
	if (h->map == 0)
		free(h);
	else
		(void)munmap(h, h->map);
}

void
gn_mem_discard(void *ptr, size_t from, size_t to)
{
	struct hdr *h;
	uintptr_t a, b;

	if (ptr == NULL || (h = header(ptr))->map == 0)
		return;			/* small blocks are malloc's */
	/* Whole pages only. */
	a = round_up((uintptr_t)ptr + from, page_size());
	b = ((uintptr_t)ptr + (to < h->size ? to : h->size)) / page_size() * page_size();
	if (b > a)
		(void)madvise((void *)a, (size_t)(b - a), MADV_DONTNEED);
}

size_t
gn_mem_grow(size_t cap, size_t need)
{
	size_t n = cap < MAP_MIN ? 2 * cap : cap + GROW_STEP;

	if (n < 4096)
		n = 4096;
	return n < need ? need : n;
}
