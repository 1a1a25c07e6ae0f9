/* SPDX-License-Identifier: BSD-2-Clause */
/* Test tool for the export tests: probe targets from a rules file, CIDR-list membership and cover checks. */
#include "config.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gotonet.h"

typedef unsigned __int128 u128;

struct cidr {
	u128		 net, last;
	unsigned	 len;
	int		 v6;
	unsigned	 line;
};

static void
addr_print(u128 v, int v6)
{
	uint8_t b[16];
	char a[INET6_ADDRSTRLEN];
	int i;

	if (!v6) {
		printf("%u.%u.%u.%u\n", (unsigned)(v >> 24) & 255, (unsigned)(v >> 16) & 255,
		    (unsigned)(v >> 8) & 255, (unsigned)v & 255);
		return;
	}
	for (i = 15; i >= 0; i--, v >>= 8)
		b[i] = (uint8_t)v;
	inet_ntop(AF_INET6, b, a, sizeof(a));
	printf("%s\n", a);
}

static int
addr_parse(const char *s, u128 *v, int *v6)
{
	uint8_t b[16];
	int i;

	*v = 0;
	if (inet_pton(AF_INET, s, b) == 1) {
		for (i = 0; i < 4; i++)
			*v = *v << 8 | b[i];
		*v6 = 0;
		return 0;
	}
	if (inet_pton(AF_INET6, s, b) == 1) {
		for (i = 0; i < 16; i++)
			*v = *v << 8 | b[i];
		*v6 = 1;
		return 0;
	}
	return -1;
}

/* Every name and address where a verdict could change, around every rule. */
static int
cmd_probes(const char *path)
{
	struct gn_diag d;
	struct gn_table *t;
	size_t n, i;

	gn_diag_init(&d);
	if ((t = gn_table_load(path, &d)) == NULL) {
		for (i = 0; i < d.nmsgs; i++)
			fprintf(stderr, "%s\n", d.msgs[i]);
		gn_diag_free(&d);
		return 2;
	}
	gn_diag_free(&d);
	n = gn_table_rule_count(t);
	for (i = 0; i < n; i++) {
		struct gn_rule_info r;
		int v6, bits, j;
		u128 net = 0, last, max;

		gn_table_rule_info(t, (int32_t)i, &r);
		switch (r.kind) {
		case GN_KIND_HOST:
			printf("%s\nx%s\nsub.%s\n", r.pattern, r.pattern, r.pattern);
			break;
		case GN_KIND_DOMAIN:
			/* The name itself, one and two labels below, and not across a label. */
			printf("%s\nprobe.%s\na.b.%s\nx%s\n", r.pattern + 2, r.pattern + 2, r.pattern + 2,
			    r.pattern + 2);
			break;
		case GN_KIND_NET4:
		case GN_KIND_NET6:
			v6 = r.kind == GN_KIND_NET6;
			bits = v6 ? 128 : 32;
			max = v6 ? ~(u128)0 : 0xffffffffu;
			for (j = 0; j < bits / 8; j++)
				net = net << 8 | r.addr[j];
			last = net | (r.prefixlen == 0 ? max : (((u128)1 << (bits - r.prefixlen)) - 1));
			addr_print(net, v6);
			addr_print(last, v6);
			addr_print(net + (last - net) / 2, v6);
			if (net > 0)
				addr_print(net - 1, v6);
			if (last < max)
				addr_print(last + 1, v6);
			break;
		case GN_KIND_REGEX:
			break;
		}
	}
	printf("unlisted.example\n198.18.0.1\n2001:db8:dead::1\n");
	gn_table_free(t);
	return 0;
}

/* Read a CIDR list: one per line, or comma-separated after "AllowedIPs ="; '#' comments. */
static struct cidr *
read_cidrs(const char *path, size_t *np)
{
	FILE *f;
	char line[8192];
	struct cidr *c = NULL;
	size_t n = 0, cap = 0;
	unsigned lineno = 0;

	if ((f = fopen(path, "r")) == NULL) {
		perror(path);
		return NULL;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		char *s = line, *tok, *save;

		lineno++;
		if (strncmp(s, "AllowedIPs =", 12) == 0)
			s += 12;
		if (*s == '#')
			continue;
		for (tok = strtok_r(s, ", \t\n", &save); tok; tok = strtok_r(NULL, ", \t\n", &save)) {
			char *slash = strchr(tok, '/');
			u128 mask;
			int bits;

			if (n == cap) {
				cap = cap ? cap * 2 : 256;
				if ((c = realloc(c, cap * sizeof(*c))) == NULL)
					abort();
			}
			if (slash == NULL) {
				fprintf(stderr, "%s:%u: '%s' is not a CIDR\n", path, lineno, tok);
				goto bad;
			}
			*slash = '\0';
			if (addr_parse(tok, &c[n].net, &c[n].v6) == -1) {
				fprintf(stderr, "%s:%u: bad address '%s'\n", path, lineno, tok);
				goto bad;
			}
			bits = c[n].v6 ? 128 : 32;
			c[n].len = (unsigned)atoi(slash + 1);
			if (c[n].len > (unsigned)bits) {
				fprintf(stderr, "%s:%u: bad length\n", path, lineno);
				goto bad;
			}
			mask = c[n].len == 0 ? (c[n].v6 ? ~(u128)0 : 0xffffffffu) :
			    (((u128)1 << (bits - c[n].len)) - 1);
			if (c[n].net & mask) {
				fprintf(stderr, "%s:%u: %s/%u has host bits set\n", path, lineno, tok, c[n].len);
				goto bad;
			}
			c[n].last = c[n].net | mask;
			c[n].line = lineno;
			n++;
		}
	}
	fclose(f);
	*np = n;
	return c ? c : calloc(1, sizeof(*c));
bad:
	fclose(f);
	free(c);
	return NULL;
}

static int
cidr_cmp(const void *a, const void *b)
{
	const struct cidr *x = a, *y = b;

	if (x->v6 != y->v6)
		return x->v6 < y->v6 ? -1 : 1;
	return x->net < y->net ? -1 : x->net > y->net;
}

/* Addresses on stdin: print "ADDR yes" or "ADDR no" for membership in FILE. */
static int
cmd_member(const char *path)
{
	struct cidr *c;
	size_t n, i;
	char line[256];

	if ((c = read_cidrs(path, &n)) == NULL)
		return 2;
	while (fgets(line, sizeof(line), stdin) != NULL) {
		u128 v;
		int v6, in = 0;

		line[strcspn(line, "\n")] = '\0';
		if (addr_parse(line, &v, &v6) == -1)
			continue;
		for (i = 0; i < n; i++)
			if (c[i].v6 == v6 && v >= c[i].net && v <= c[i].last)
				in = 1;
		printf("%s %s\n", line, in ? "yes" : "no");
	}
	free(c);
	return 0;
}

/*
 * FILE_A and FILE_B together must tile the whole space of each family in
 * FAMILIES ("4", "6" or "46"): no overlap, no gap. Each file must be the
 * fewest CIDRs for what it covers: no two blocks that are halves of one.
 */
static int
cmd_cover(const char *families, const char *pa, const char *pb)
{
	struct cidr *a, *b, *all;
	size_t na, nb, n, i;
	int bad = 0, v6;

	if ((a = read_cidrs(pa, &na)) == NULL || (b = read_cidrs(pb, &nb)) == NULL)
		return 2;
	for (int f = 0; f < 2; f++) {
		struct cidr *c = f ? b : a;
		size_t nc = f ? nb : na;

		qsort(c, nc, sizeof(*c), cidr_cmp);
		for (i = 0; i + 1 < nc; i++) {
			int bits = c[i].v6 ? 128 : 32;

			if (c[i].v6 == c[i + 1].v6 && c[i].len == c[i + 1].len && c[i].len > 0 &&
			    c[i].last + 1 == c[i + 1].net &&
			    (c[i].net >> (bits - c[i].len + 1)) == (c[i + 1].net >> (bits - c[i].len + 1))) {
				fprintf(stderr, "%s:%u: not minimal: this block and the next make one /%u\n",
				    f ? pb : pa, c[i].line, c[i].len - 1);
				bad = 1;
			}
		}
	}
	if ((all = malloc((na + nb + 1) * sizeof(*all))) == NULL)
		return 2;
	memcpy(all, a, na * sizeof(*a));
	memcpy(all + na, b, nb * sizeof(*b));
	n = na + nb;
	qsort(all, n, sizeof(*all), cidr_cmp);
	for (v6 = 0; v6 <= 1; v6++) {
		u128 next = 0, max = v6 ? ~(u128)0 : 0xffffffffu;
		int done = 0, want = strchr(families, v6 ? '6' : '4') != NULL, any = 0;

		for (i = 0; i < n; i++) {
			if (all[i].v6 != v6)
				continue;
			any = 1;
			if (!want) {
				fprintf(stderr, "unexpected IPv%d block\n", v6 ? 6 : 4);
				bad = 1;
				break;
			}
			if (done || all[i].net < next) {
				fprintf(stderr, "IPv%d: overlap at line %u\n", v6 ? 6 : 4, all[i].line);
				bad = 1;
			} else if (all[i].net > next) {
				fprintf(stderr, "IPv%d: gap before line %u\n", v6 ? 6 : 4, all[i].line);
				bad = 1;
			}
			if (all[i].last == max)
				done = 1;
			else
				next = all[i].last + 1;
		}
		if (want && (!any || !done)) {
			fprintf(stderr, "IPv%d: the space is not covered to its end\n", v6 ? 6 : 4);
			bad = 1;
		}
	}
	free(a);
	free(b);
	free(all);
	return bad;
}

int
main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "probes") == 0)
		return cmd_probes(argv[2]);
	if (argc == 3 && strcmp(argv[1], "member") == 0)
		return cmd_member(argv[2]);
	if (argc == 5 && strcmp(argv[1], "cover") == 0)
		return cmd_cover(argv[2], argv[3], argv[4]);
	fprintf(stderr, "usage: gn_probe probes RULES | member CIDRFILE < addrs | "
	    "cover 4|6|46 FILE_A FILE_B\n");
	return 2;
}
