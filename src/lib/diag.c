/* SPDX-License-Identifier: BSD-2-Clause */
/* Diagnostics ("file:line: what") and the string arena. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

void
gn_diag_init(struct gn_diag *d)
{
	memset(d, 0, sizeof(*d));
}

void
gn_diag_free(struct gn_diag *d)
{
	size_t i;

	for (i = 0; i < d->nmsgs; i++)
		free(d->msgs[i]);
	free(d->msgs);
	memset(d, 0, sizeof(*d));
}

int
gn_diag_add(struct gn_diag *d, int warn, const char *fmt, ...)
{
	va_list ap;
	char *msg, **p;
	int r;

	if (d == NULL)
		return 0;
	if (d->nmsgs == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 8;

		if ((p = realloc(d->msgs, cap * sizeof(*p))) == NULL)
			return -1;
		d->msgs = p;
		d->cap = cap;
	}
	va_start(ap, fmt);
	r = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (r == -1)
		return -1;
	d->msgs[d->nmsgs++] = msg;
	if (warn)
		d->nwarnings++;
	else
		d->nerrors++;
	return 0;
}

int
gn_arena_init(struct gn_arena *a, size_t max)
{
	a->cap = 4096;
	a->len = 1;
	/* Room to grow in place; without it (no address space), only slower. */
	if ((a->buf = gn_mem_reserve(a->cap, max)) == NULL &&
	    (a->buf = gn_mem_alloc(a->cap)) == NULL)
		return -1;
	a->buf[0] = '\0';
	return 0;
}

void
gn_arena_free(struct gn_arena *a)
{
	gn_mem_free(a->buf);
	memset(a, 0, sizeof(*a));
}

uint32_t
gn_arena_add(struct gn_arena *a, const void *s, size_t len)
{
	size_t off = a->len;
	char *p;

	if (len >= UINT32_MAX - a->len)
		return UINT32_MAX;
	if (a->len + len + 1 > a->cap) {
		size_t cap = gn_mem_grow(a->cap, a->len + len + 1);

		if ((p = gn_mem_realloc(a->buf, cap)) == NULL)
			return UINT32_MAX;
		a->buf = p;
		a->cap = cap;
	}
	memcpy(a->buf + off, s, len);
	a->buf[off + len] = '\0';
	a->len += len + 1;
	return (uint32_t)off;
}
