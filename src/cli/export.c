/* SPDX-License-Identifier: BSD-2-Clause */
/* gotonet export: the list as Squid ACL files, a PAC file, nftables and iptables rules, VPN routes. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "gotonet.h"
#include "cli.h"

typedef unsigned __int128 u128;

/*
 * A run of addresses that one lookup result decides. Address exports are
 * built from these, and these come from gn_table_lookup() itself, so an
 * export says what the helper says: exceptions carved out, the longest
 * prefix deciding, protocols apart.
 */
struct seg {
	u128		 start, end;
	enum gn_match	 match;
	int32_t		 rule;
};

/* A host or wildcard rule, keyed by its name with the labels reversed. */
struct node {
	char		*key;
	const struct gn_rule_info *r;
	uint8_t		 wild, except;
};

struct ex {
	const char	*fmt;
	const char	*rules;
	struct gn_table	*t;
	struct gn_rule_info *info;
	size_t		 n;
	const char	*out;		/* -o */
	const char	*proxy;		/* --proxy */
	const char	*acl_dir;	/* --acl-dir */
	const char	*table;		/* --table */
	const char	*chain;		/* --chain */
	unsigned	 proto;		/* routes --proto */
	int		 complement, wireguard, only4, only6;
	FILE		*f;
	struct node	*nodes;
	size_t		 nnodes;
	char		*warned;	/* by rule id: a warning was printed */
};

static void __attribute__((format(printf, 3, 4)))
note_rule(struct ex *x, const struct gn_rule_info *r, const char *fmt, ...)
{
	va_list ap;

	/* One notice per rule is enough. */
	if (x->warned[r->id])
		return;
	x->warned[r->id] = 1;
	fprintf(stderr, "gotonet: export %s: %s:%u: %s: ", x->fmt, r->file, r->line, r->pattern);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* Text of an address held in the low 32 (v4) or 128 bits. */
static void
addr_text(u128 v, int v6, char *buf, size_t size)
{
	uint8_t b[16];
	int i;

	if (!v6) {
		snprintf(buf, size, "%u.%u.%u.%u", (unsigned)(v >> 24) & 255, (unsigned)(v >> 16) & 255,
		    (unsigned)(v >> 8) & 255, (unsigned)v & 255);
		return;
	}
	for (i = 15; i >= 0; i--, v >>= 8)
		b[i] = (uint8_t)v;
	inet_ntop(AF_INET6, b, buf, (socklen_t)size);
}

static u128
family_max(int v6)
{
	return v6 ? ~(u128)0 : (u128)0xffffffffu;
}

static int
u128_cmp(const void *a, const void *b)
{
	u128 x = *(const u128 *)a, y = *(const u128 *)b;

	return x < y ? -1 : x > y;
}

/*
 * Cut one family into segments for proto. The verdict can only change where
 * some prefix starts or ends, so one lookup at each such boundary decides the
 * whole segment up to the next one.
 */
static int
segments(struct ex *x, int v6, unsigned proto, struct seg **out, size_t *nout)
{
	const u128 max = family_max(v6);
	/* IPv4-mapped IPv6 is looked up as IPv4 and never seen on the wire as IPv6. */
	const u128 mapped = (u128)0xffff << 32, mapped_end = mapped | 0xffffffffu;
	struct seg *s = NULL;
	u128 *b;
	size_t nb = 0, i, n = 0;

	if ((b = malloc((x->n * 2 + 3) * sizeof(*b))) == NULL)
		return -1;
	b[nb++] = 0;
	if (v6) {
		b[nb++] = mapped;
		b[nb++] = mapped_end + 1;
	}
	for (i = 0; i < x->n; i++) {
		const struct gn_rule_info *r = &x->info[i];
		unsigned bits = v6 ? 128 : 32;
		u128 start = 0, end;
		unsigned j;

		if (r->kind != (v6 ? GN_KIND_NET6 : GN_KIND_NET4))
			continue;
		for (j = 0; j < bits / 8; j++)
			start = start << 8 | r->addr[j];
		end = start | (r->prefixlen == 0 ? max : (((u128)1 << (bits - r->prefixlen)) - 1));
		b[nb++] = start;
		if (end != max)
			b[nb++] = end + 1;
	}
	qsort(b, nb, sizeof(*b), u128_cmp);
	if ((s = malloc(nb * sizeof(*s))) == NULL) {
		free(b);
		return -1;
	}
	for (i = 0; i < nb; i++) {
		struct gn_verdict v = { GN_MATCH_NONE, GN_TARGET_IPV6, GN_NONE };
		char a[INET6_ADDRSTRLEN];

		if (i > 0 && b[i] == b[i - 1])
			continue;
		if (!(v6 && b[i] >= mapped && b[i] <= mapped_end)) {
			addr_text(b[i], v6, a, sizeof(a));
			v = gn_table_lookup(x->t, a, strlen(a), proto);
		}
		if (n > 0 && s[n - 1].match == v.match && s[n - 1].rule == v.rule)
			continue;
		if (n > 0)
			s[n - 1].end = b[i] - 1;
		s[n].start = b[i];
		s[n].end = max;
		s[n].match = v.match;
		s[n].rule = v.rule;
		n++;
	}
	free(b);
	*out = s;
	*nout = n;
	return 0;
}

typedef void (*cidr_fn)(struct ex *, u128 net, unsigned len, int v6, void *arg);

/* [a, b] as the fewest CIDR blocks: at each step the largest aligned block that fits. */
static void
cidrs(struct ex *x, u128 a, u128 b, int v6, cidr_fn fn, void *arg)
{
	unsigned bits = v6 ? 128 : 32;

	for (;;) {
		unsigned k = 0;
		u128 last;

		while (k < bits) {
			u128 mask = ((u128)2 << k) - 1;	/* 2^(k+1) - 1; all ones at k + 1 == 128 */

			if ((a & mask) != 0 || a + mask < a || a + mask > b)
				break;
			k++;
		}
		fn(x, a, bits - k, v6, arg);
		last = a + (k == 128 ? ~(u128)0 : (((u128)1 << k) - 1));
		if (last >= b)
			break;
		a = last + 1;
	}
}

/* The rule deciding a segment, when it is listed (not excepted, not unlisted). */
static const struct gn_rule_info *
seg_rule(const struct ex *x, const struct seg *s)
{
	return s->match == GN_MATCH_LISTED ? &x->info[s->rule] : NULL;
}

static int
same_ports(const struct gn_rule_info *a, const struct gn_rule_info *b)
{
	return a->nports == b->nports &&
	    (a->nports == 0 || memcmp(a->ports, b->ports, a->nports * sizeof(*a->ports)) == 0);
}

/* "443,3478-3481" (sep ","), or "443 3478-3481" for squid (sep " ", range "-"). */
static void
ports_text(const struct gn_rule_info *r, const char *sep, const char *range, char *buf, size_t size)
{
	size_t i, n = 0;

	buf[0] = '\0';
	for (i = 0; i < r->nports && n < size; i++) {
		if (r->ports[i].lo == r->ports[i].hi)
			n += (size_t)snprintf(buf + n, size - n, "%s%u", i ? sep : "", r->ports[i].lo);
		else
			n += (size_t)snprintf(buf + n, size - n, "%s%u%s%u", i ? sep : "",
			    r->ports[i].lo, range, r->ports[i].hi);
	}
}

/* A label made safe inside a double-quoted string of any of our formats. */
static void
safe_label(const char *s, char *buf, size_t size)
{
	size_t n = 0;

	for (; *s && n + 1 < size; s++)
		buf[n++] = (*s == '"' || *s == '\\' || (unsigned char)*s < 0x20) ? '\'' : *s;
	buf[n] = '\0';
}

static void
header(struct ex *x, FILE *f, const char *c)
{
	const char *v = gn_table_version(x->t);
	char line[200];

	/* Short whatever the path and version: Squid reads its files in pieces. */
	snprintf(line, sizeof(line), "Generated by gotonet export %s from %s (list %s).", x->fmt,
	    x->rules, v[0] ? v : "without a version");
	fprintf(f, "%s %s\n", c, line);
	fprintf(f, "%s Do not edit: change the rules and export again.\n", c);
}

/* --- names: hosts and wildcards, for the Squid and PAC exports --- */

/*
 * Keys in label order: '.' sorts below every other byte, so that a name's
 * descendants come right after it ("info.ixt", "info.ixt.oi6", then
 * "info.ixt-e0"), which the walks over the sorted nodes rely on.
 */
static int
key_cmp(const char *a, const char *b)
{
	for (; *a && *a == *b; a++, b++)
		;
	if (*a == *b)
		return 0;
	if (*a == '.' || *b == '\0')
		return *b == '\0' ? 1 : -1;
	if (*b == '.' || *a == '\0')
		return *a == '\0' ? -1 : 1;
	return (unsigned char)*a < (unsigned char)*b ? -1 : 1;
}

/* Parents before children; at one name the wildcard before the host; then file order. */
static int
node_cmp(const void *a, const void *b)
{
	const struct node *p = a, *q = b;
	int c = key_cmp(p->key, q->key);

	if (c != 0)
		return c;
	if (p->wild != q->wild)
		return p->wild ? -1 : 1;
	if (p->except != q->except)
		return p->except < q->except ? -1 : 1;
	return p->r->id < q->r->id ? -1 : p->r->id > q->r->id;
}

/* Is key (reversed) equal to anc or below it? */
static int
key_at_or_below(const char *key, const char *anc)
{
	size_t n = strlen(anc);

	return strncmp(key, anc, n) == 0 && (key[n] == '\0' || key[n] == '.');
}

/*
 * Collect the host and wildcard rules, sorted, without the duplicates that
 * never decide (the first rule for a name decides). Refuses an exception
 * written as a regex: no format here can express it, and leaving it out
 * would bypass what it excepts. List regexes are left out with a notice:
 * they only ever add bypasses, so leaving one out only keeps traffic
 * inspected.
 */
static int
collect_names(struct ex *x)
{
	size_t i, k;

	if ((x->nodes = calloc(x->n + 1, sizeof(*x->nodes))) == NULL)
		return -1;
	x->nnodes = 0;	/* counts what to free, whatever happens below */
	for (i = 0; i < x->n; i++) {
		const struct gn_rule_info *r = &x->info[i];
		struct node *p = &x->nodes[x->nnodes];
		const char *name;

		if (r->kind == GN_KIND_REGEX) {
			if (r->flags & GN_RULE_EXCEPT) {
				fprintf(stderr, "gotonet: export %s: %s:%u: the exception %s is a regular "
				    "expression, which %s cannot express; refusing, since the export "
				    "would bypass what it excepts (write it as a host or wildcard)\n",
				    x->fmt, r->file, r->line, r->pattern, x->fmt);
				return -2;
			}
			note_rule(x, r, "regular expression not exported (%s cannot express it); names "
			    "only it matches stay inspected and proxied", x->fmt);
			continue;
		}
		if (r->kind != GN_KIND_HOST && r->kind != GN_KIND_DOMAIN)
			continue;
		name = r->pattern + (r->kind == GN_KIND_DOMAIN ? 2 : 0);
		if ((p->key = malloc(strlen(name) + 1)) == NULL)
			return -1;
		gn_name_reverse_labels(name, strlen(name), p->key);
		p->r = r;
		p->wild = r->kind == GN_KIND_DOMAIN;
		p->except = (r->flags & GN_RULE_EXCEPT) != 0;
		x->nnodes++;
	}
	if (x->nnodes > 0)
		qsort(x->nodes, x->nnodes, sizeof(*x->nodes), node_cmp);
	/* Drop later duplicates: the first rule written for a name decides. */
	for (i = 0, k = 0; i < x->nnodes; i++) {
		struct node *p = k ? &x->nodes[k - 1] : NULL;

		if (p && strcmp(p->key, x->nodes[i].key) == 0 && p->wild == x->nodes[i].wild &&
		    p->except == x->nodes[i].except) {
			free(x->nodes[i].key);
			continue;
		}
		x->nodes[k++] = x->nodes[i];
	}
	x->nnodes = k;
	return 0;
}

/* Is there a node with this key, kind and side? (nodes are sorted by node_cmp) */
static int
has_node(const struct ex *x, const char *key, int wild, int except)
{
	size_t lo = 0, hi = x->nnodes;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct node *p = &x->nodes[mid];
		int c = key_cmp(p->key, key);

		if (c == 0 && p->wild != wild)
			c = p->wild ? -1 : 1;	/* wildcards sort first */
		if (c == 0 && p->except != except)
			c = p->except < except ? -1 : 1;
		if (c == 0)
			return 1;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

/*
 * Is key covered by an exception wildcard: at key itself when self is set,
 * else strictly above it? Keys are reversed, so the covering wildcards are
 * the key's prefixes that end on a label boundary.
 */
static int
except_wild_above(const struct ex *x, const char *key, int self)
{
	char buf[256];
	size_t len = strlen(key), i;

	if (len >= sizeof(buf))
		return 0;
	memcpy(buf, key, len + 1);
	for (i = 1; i <= len; i++) {
		if (i < len && buf[i] != '.')
			continue;
		if (i == len && !self)
			break;
		buf[i] = '\0';
		if (has_node(x, buf, 1, 1))
			return 1;
		if (i < len)
			buf[i] = '.';
	}
	return 0;
}

/* Does an exception cover all of node p (which is a list rule)? */
static int
excepted(const struct ex *x, const struct node *p)
{
	return except_wild_above(x, p->key, 1) || (!p->wild && has_node(x, p->key, 0, 1));
}

/* --- squid --- */

/*
 * A group is what one Squid ACL line can say: one action (splice or direct)
 * and one set of ports. Most lists have two groups, splice and direct on any
 * port, with the same members; then they share their files.
 */
#define MAX_TIERS	8

struct group {
	unsigned	 action;	/* GN_ACTION_SPLICE or GN_ACTION_DIRECT */
	const struct gn_rule_info *ports;	/* a rule with this port set, or NULL for any port */
	char		 tag[48];	/* "" for the main files, else e.g. "direct", "splice-ports1" */
	char		*pos[MAX_TIERS], *neg[MAX_TIERS], *nets;	/* file contents */
	size_t		 npos[MAX_TIERS], nneg[MAX_TIERS], nnets;
	int		 ntiers;
	int		 same_as;	/* index of an earlier group with the same files, or -1 */
};

struct buf {
	char		*s;
	size_t		 len, cap;
	int		 nomem;
};

static void __attribute__((format(printf, 2, 3)))
buf_add(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->nomem)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? b->cap - b->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->nomem = 1;
			return;
		}
		if (b->s && b->len + (size_t)n < b->cap) {
			b->len += (size_t)n;
			return;
		}
		size_t cap = b->cap ? b->cap * 2 : 1024;
		while (cap < b->len + (size_t)n + 1)
			cap *= 2;
		char *s = realloc(b->s, cap);
		if (s == NULL) {
			b->nomem = 1;
			return;
		}
		b->s = s;
		b->cap = cap;
	}
}

/*
 * A comment line in a Squid ACL file. Squid reads these files in pieces of
 * a few kilobytes and takes what follows a cut as entries, so every comment
 * is kept far below that, whatever the label.
 */
#define SQUID_COMMENT_MAX	200

static void __attribute__((format(printf, 2, 3)))
squid_comment(struct buf *b, const char *fmt, ...)
{
	char line[SQUID_COMMENT_MAX + 1];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	for (char *c = line; *c; c++)
		if (*c == '\n' || *c == '\r')
			*c = ' ';
	buf_add(b, "# %s\n", line);
}

static int
in_group(const struct gn_rule_info *r, const struct group *g)
{
	if (r == NULL || (r->flags & GN_RULE_EXCEPT) || !(r->action & g->action))
		return 0;
	if (g->ports == NULL)
		return r->nports == 0;
	return r->nports != 0 && same_ports(r, g->ports);
}

struct stack_ent {
	const char	*key;
	int		 level;		/* entries written on the path down to here */
};

/*
 * The names of one group as tiers of a positive and a negative list, so that
 * "positive and not negative" in any tier is what lookups say. A rule that
 * decides its names differently from the wider rule around it is carved out
 * (negative) or added back (positive, in the next tier): *.a in, *.b.a out,
 * *.c.b.a in again takes two tiers. Squid warns about, or drops, a name
 * listed beside a wildcard that covers it, so no list ever holds one.
 */
static int
squid_names(struct ex *x, struct group *g)
{
	struct stack_ent *st;
	struct buf pos[MAX_TIERS], neg[MAX_TIERS];
	size_t i, top = 0;
	int t, rc = -1;

	memset(pos, 0, sizeof(pos));
	memset(neg, 0, sizeof(neg));
	if ((st = calloc(x->nnodes + 1, sizeof(*st))) == NULL)
		return -1;
	for (i = 0; i < x->nnodes; i++) {
		const struct node *p = &x->nodes[i];
		const struct gn_rule_info *r = p->r;
		const char *dot = p->wild ? "." : "", *name = r->pattern + (p->wild ? 2 : 0);
		int want, level;

		if (p->except || excepted(x, p))
			continue;	/* the exception ACLs keep these out of every group */
		while (top > 0 && !key_at_or_below(p->key, st[top - 1].key))
			top--;
		level = top ? st[top - 1].level : 0;
		want = in_group(r, g);
		/* An odd level means the names here are in: the last entry above is positive. */
		if (want != (level % 2)) {
			t = level / 2;
			if (t >= MAX_TIERS) {
				note_rule(x, r, "nested too deep in rules that alternate; its names do "
				    "not get %s in the Squid export", gn_action_name(g->action));
			} else if (want) {
				squid_comment(&pos[t], "%s (%s:%u)", r->label, r->file, r->line);
				buf_add(&pos[t], "%s%s\n", dot, name);
				g->npos[t]++;
				level++;
			} else {
				squid_comment(&neg[t], "not %s: %s (%s:%u)", gn_action_name(g->action),
				    r->label, r->file, r->line);
				buf_add(&neg[t], "%s%s\n", dot, name);
				g->nneg[t]++;
				level++;
			}
			if (t < MAX_TIERS && t + 1 > g->ntiers)
				g->ntiers = t + 1;
		}
		if (p->wild) {
			st[top].key = p->key;
			st[top].level = level;
			top++;
		}
	}
	for (t = 0; t < MAX_TIERS; t++)
		if (pos[t].nomem || neg[t].nomem)
			goto end;
	for (t = 0; t < MAX_TIERS; t++) {
		g->pos[t] = pos[t].s;
		g->neg[t] = neg[t].s;
		pos[t].s = neg[t].s = NULL;
	}
	rc = 0;
end:
	for (t = 0; t < MAX_TIERS; t++) {
		free(pos[t].s);
		free(neg[t].s);
	}
	free(st);
	return rc;
}

struct netbuf {
	struct buf	 b;
	size_t		 n;
};

static void
net_line(struct ex *x, u128 net, unsigned len, int v6, void *arg)
{
	struct netbuf *nb = arg;
	char a[INET6_ADDRSTRLEN];

	(void)x;
	addr_text(net, v6, a, sizeof(a));
	buf_add(&nb->b, "%s/%u\n", a, len);
	nb->n++;
}

/*
 * The addresses of one group (TCP: Squid carries nothing else). Adjacent
 * runs of the group are merged, so that a prefix nested in another of the
 * same group is not listed beside it (Squid drops such a subnet with a
 * warning); the comment names the rules of the run.
 */
static int
squid_nets(struct ex *x, struct group *g)
{
	struct netbuf nb = { { 0 }, 0 };
	int v6;

	for (v6 = 0; v6 <= 1; v6++) {
		struct seg *s;
		size_t n, i, j;

		if (segments(x, v6, GN_PROTO_TCP, &s, &n) == -1)
			return -1;
		for (i = 0; i < n; i = j) {
			const struct gn_rule_info *r = seg_rule(x, &s[i]);

			j = i + 1;
			if (!in_group(r, g))
				continue;
			while (j < n && in_group(seg_rule(x, &s[j]), g) && s[j].start == s[j - 1].end + 1)
				j++;
			{
				char c[SQUID_COMMENT_MAX + 1];
				size_t len = 0, more = 0;

				c[0] = '\0';
				for (size_t k = i; k < j; k++) {
					const struct gn_rule_info *o = seg_rule(x, &s[k]);
					size_t m;

					for (m = i; m < k && seg_rule(x, &s[m]) != o; m++)
						;
					if (m < k)
						continue;
					if (len + strlen(o->label) + strlen(o->file) + 40 >= sizeof(c) / 2 && len > 0) {
						more++;
						continue;
					}
					len += (size_t)snprintf(c + len, sizeof(c) - len, "%s%s (%s:%u)",
					    len ? ", " : "", o->label, o->file, o->line);
					if (len >= sizeof(c))
						len = sizeof(c) - 1;
				}
				if (more > 0)
					squid_comment(&nb.b, "%s and %zu more rule%s", c, more, more == 1 ? "" : "s");
				else
					squid_comment(&nb.b, "%s", c);
			}
			cidrs(x, s[i].start, s[j - 1].end, v6, net_line, &nb);
		}
		free(s);
	}
	if (nb.b.nomem)
		return -1;
	g->nets = nb.b.s;
	g->nnets = nb.n;
	return 0;
}

static int
same_text(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

static int
same_group_files(const struct group *a, const struct group *b)
{
	int t;

	if (a->ports != b->ports || !same_text(a->nets, b->nets))
		return 0;
	for (t = 0; t < MAX_TIERS; t++)
		if (!same_text(a->pos[t], b->pos[t]) || !same_text(a->neg[t], b->neg[t]))
			return 0;
	return 1;
}

static int
write_file(struct ex *x, const char *dir, const char *name, const char *body)
{
	char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "w")) == NULL) {
		fprintf(stderr, "gotonet: export squid: %s: %s\n", path, strerror(errno));
		return -1;
	}
	header(x, f, "#");
	fputs(body ? body : "", f);
	if (fclose(f) != 0) {
		fprintf(stderr, "gotonet: export squid: %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* gotonet-[TAG-]WHAT[-TIER].txt and gotonet_[TAG_]WHAT[_TIER]; tiers count from 1, shown from 2. */
static void
file_name(const struct group *g, const char *what, int tier, char *buf, size_t size)
{
	char t[16] = "";

	if (tier > 0)
		snprintf(t, sizeof(t), "-%d", tier + 1);
	snprintf(buf, size, "gotonet-%s%s%s%s.txt", g->tag, g->tag[0] ? "-" : "", what, t);
}

static void
acl_name(const struct group *g, const char *what, int tier, char *buf, size_t size)
{
	char t[16] = "";

	if (tier > 0)
		snprintf(t, sizeof(t), "_%d", tier + 1);
	/* gotonet_native_: apart from the helper snippet's ACL names, so both can be included. */
	snprintf(buf, size, "gotonet_native_%s%s%s%s", g->tag, g->tag[0] ? "_" : "", what, t);
	for (char *c = buf; *c; c++)
		if (*c == '-')
			*c = '_';
}

static int
export_squid(struct ex *x)
{
	struct group g[2 + 2 * 31];
	const struct gn_rule_info *portsets[31];
	struct buf xb = { 0 }, conf = { 0 };
	size_t ng = 0, i, nx = 0, nports = 0;
	char dir[PATH_MAX], name[PATH_MAX], acl[128];
	const char *accdir;
	int rc = -1, a, t;

	if (x->out == NULL) {
		fprintf(stderr, "gotonet: export squid needs -o DIR\n");
		return -1;
	}
	if (mkdir(x->out, 0755) == -1 && errno != EEXIST) {
		fprintf(stderr, "gotonet: export squid: %s: %s\n", x->out, strerror(errno));
		return -1;
	}
	if (realpath(x->out, dir) == NULL) {
		fprintf(stderr, "gotonet: export squid: %s: %s\n", x->out, strerror(errno));
		return -1;
	}
	accdir = x->acl_dir ? x->acl_dir : dir;
	if (collect_names(x) != 0)
		return -1;

	/* Groups: splice and direct on any port, then one per action and port set. */
	memset(g, 0, sizeof(g));
	for (a = 0; a < 2; a++) {
		g[ng].action = a == 0 ? GN_ACTION_SPLICE : GN_ACTION_DIRECT;
		snprintf(g[ng].tag, sizeof(g[ng].tag), "%s", a == 0 ? "" : "direct");
		ng++;
	}
	for (i = 0; i < x->n; i++) {
		const struct gn_rule_info *r = &x->info[i];
		size_t k, set;

		if (r->nports == 0 || (r->flags & GN_RULE_EXCEPT) || r->kind == GN_KIND_REGEX)
			continue;
		for (set = 0; set < nports && !same_ports(portsets[set], r); set++)
			;
		if (set == nports) {
			if (nports == sizeof(portsets) / sizeof(portsets[0])) {
				fprintf(stderr, "gotonet: export squid: too many different port lists\n");
				goto end;
			}
			portsets[nports++] = r;
		}
		for (a = 0; a < 2; a++) {
			unsigned act = a == 0 ? GN_ACTION_SPLICE : GN_ACTION_DIRECT;

			if (!(r->action & act))
				continue;
			for (k = 2; k < ng; k++)
				if (g[k].action == act && g[k].ports == portsets[set])
					break;
			if (k < ng)
				continue;
			g[ng].action = act;
			g[ng].ports = portsets[set];
			snprintf(g[ng].tag, sizeof(g[ng].tag), "%s-ports%zu", a == 0 ? "splice" : "direct",
			    set + 1);
			ng++;
		}
	}
	for (i = 0; i < ng; i++) {
		size_t k;

		if (squid_names(x, &g[i]) == -1 || squid_nets(x, &g[i]) == -1)
			goto nomem;
		g[i].same_as = -1;
		for (k = 0; k < i; k++)
			if (g[k].same_as == -1 && same_group_files(&g[k], &g[i])) {
				g[i].same_as = (int)k;
				break;
			}
	}
	/* Exceptions: one list for every group, without names a wider exception covers. */
	for (i = 0; i < x->nnodes; i++) {
		const struct node *p = &x->nodes[i];

		if (!p->except || except_wild_above(x, p->key, !p->wild))
			continue;
		squid_comment(&xb, "%s (%s:%u)", p->r->label[0] ? p->r->label : "exception", p->r->file,
		    p->r->line);
		buf_add(&xb, "%s%s\n", p->wild ? "." : "", p->r->pattern + (p->wild ? 2 : 0));
		nx++;
	}
	if (xb.nomem)
		goto nomem;

	/* The files, then the snippet that uses them. */
	buf_add(&conf, "# Include from squid.conf after your \"ssl_bump peek\" rule for step 1 and\n"
	    "# before your bump rule, e.g.:\n"
	    "#   acl step1 at_step SslBump1\n"
	    "#   ssl_bump peek step1\n"
	    "#   include %s/gotonet-native.conf\n"
	    "#   ssl_bump bump all\n"
	    "# A name is spliced only when both the CONNECT host and the TLS SNI are\n"
	    "# listed (the SNI alone could be forged); an address only when the CONNECT\n"
	    "# names it as an IP literal. Exceptions are kept out of every rule.\n\n"
	    "acl gotonet_native_step2 at_step SslBump2\n", accdir);
	if (nx > 0) {
		if (write_file(x, dir, "gotonet-except-domains.txt", xb.s) == -1)
			goto end;
		buf_add(&conf, "acl gotonet_native_except_sni ssl::server_name \"%s/gotonet-except-domains.txt\"\n"
		    "acl gotonet_native_except_host dstdomain -n \"%s/gotonet-except-domains.txt\"\n",
		    accdir, accdir);
	}
	for (i = 0; i < ng; i++) {
		const struct group *p = &g[i];

		if (p->same_as != -1)
			continue;
		for (t = 0; t < p->ntiers; t++) {
			int w;

			for (w = 0; w < 2; w++) {
				if ((w == 0 ? p->npos[t] : p->nneg[t]) == 0)
					continue;	/* Squid warns about an empty ACL */
				file_name(p, w == 0 ? "domains" : "domains-not", t, name, sizeof(name));
				if (write_file(x, dir, name, w == 0 ? p->pos[t] : p->neg[t]) == -1)
					goto end;
				acl_name(p, w == 0 ? "sni" : "sni_not", t, acl, sizeof(acl));
				buf_add(&conf, "acl %s ssl::server_name \"%s/%s\"\n", acl, accdir, name);
				acl_name(p, w == 0 ? "host" : "host_not", t, acl, sizeof(acl));
				buf_add(&conf, "acl %s dstdomain -n \"%s/%s\"\n", acl, accdir, name);
			}
		}
		if (p->nnets > 0) {
			file_name(p, "nets", 0, name, sizeof(name));
			if (write_file(x, dir, name, p->nets) == -1)
				goto end;
			acl_name(p, "nets", 0, acl, sizeof(acl));
			buf_add(&conf, "acl %s dst -n \"%s/%s\"\n", acl, accdir, name);
		}
		if (p->ports != NULL) {
			char ports[256];

			ports_text(p->ports, " ", "-", ports, sizeof(ports));
			acl_name(p, "ports", 0, acl, sizeof(acl));
			buf_add(&conf, "acl %s port %s\n", acl, ports);
		}
	}
	buf_add(&conf, "\n");
	for (i = 0; i < ng; i++) {
		const struct group *p = &g[i], *src = p->same_as != -1 ? &g[p->same_as] : p;
		const char *xs = nx ? " !gotonet_native_except_sni" : "", *xh = nx ? " !gotonet_native_except_host" : "";
		int splice = p->action == GN_ACTION_SPLICE;
		char ports[160] = "";

		if (src->ports != NULL) {
			acl_name(src, "ports", 0, acl, sizeof(acl));
			snprintf(ports, sizeof(ports), " %s", acl);
		}
		for (t = 0; t < src->ntiers; t++) {
			char sni[128], host[128], sni_not[160] = "", host_not[160] = "";

			if (src->npos[t] == 0)
				continue;
			acl_name(src, "sni", t, sni, sizeof(sni));
			acl_name(src, "host", t, host, sizeof(host));
			if (src->nneg[t] > 0) {
				acl_name(src, "sni_not", t, acl, sizeof(acl));
				snprintf(sni_not, sizeof(sni_not), " !%s", acl);
				acl_name(src, "host_not", t, acl, sizeof(acl));
				snprintf(host_not, sizeof(host_not), " !%s", acl);
			}
			if (splice)
				buf_add(&conf, "ssl_bump splice gotonet_native_step2%s %s %s%s%s%s%s\n", ports,
				    host, sni, host_not, sni_not, xh, xs);
			else
				buf_add(&conf, "always_direct allow%s %s%s%s\n", ports, host, host_not, xh);
		}
		if (src->nnets > 0) {
			acl_name(src, "nets", 0, acl, sizeof(acl));
			if (splice)
				buf_add(&conf, "ssl_bump splice gotonet_native_step2%s %s\n", ports, acl);
			else
				buf_add(&conf, "always_direct allow%s %s\n", ports, acl);
		}
	}
	if (conf.nomem)
		goto nomem;
	if (write_file(x, dir, "gotonet-native.conf", conf.s) == -1)
		goto end;
	rc = 0;
	goto end;
nomem:
	fprintf(stderr, "gotonet: export squid: out of memory\n");
end:
	for (i = 0; i < ng; i++) {
		for (t = 0; t < MAX_TIERS; t++) {
			free(g[i].pos[t]);
			free(g[i].neg[t]);
		}
		free(g[i].nets);
	}
	free(xb.s);
	free(conf.s);
	return rc;
}

/* --- pac --- */

static void
pac_net(struct ex *x, u128 net, unsigned len, int v6, void *arg)
{
	const char *verdict = arg;
	char a[INET6_ADDRSTRLEN];
	u128 mask = len == 0 ? 0 : (((u128)0xffffffffu << (32 - len)) & 0xffffffffu);

	addr_text(net, v6, a, sizeof(a));
	fprintf(x->f, "\tif (isInNet(host, \"%s\", \"%u.%u.%u.%u\")) return \"%s\";\n", a,
	    (unsigned)(mask >> 24) & 255, (unsigned)(mask >> 16) & 255, (unsigned)(mask >> 8) & 255,
	    (unsigned)mask & 255, verdict);
}

static int
wild_len_cmp(const void *a, const void *b)
{
	const struct node *const *p = a, *const *q = b;
	size_t lp = strlen((*p)->key), lq = strlen((*q)->key);

	/* The longest suffix decides: try it first. */
	if (lp != lq)
		return lp > lq ? -1 : 1;
	return strcmp((*p)->key, (*q)->key);
}

static void
pac_name_rule(struct ex *x, const struct node *p, const char *direct, const char *proxy)
{
	const struct gn_rule_info *r = p->r;
	const char *name = r->pattern + (p->wild ? 2 : 0);
	const char *verdict;
	char why[160] = "";

	if (p->except) {
		verdict = proxy;
		snprintf(why, sizeof(why), "exception: never direct");
	} else if (!(r->action & GN_ACTION_DIRECT)) {
		verdict = proxy;
		snprintf(why, sizeof(why), "action=%s: through the proxy", gn_action_name(r->action));
	} else if (r->nports != 0) {
		verdict = proxy;
		snprintf(why, sizeof(why), "ports: a PAC file cannot tell ports apart, so proxied");
		note_rule(x, r, "has ports, which a PAC file cannot check; sent to the proxy");
	} else {
		verdict = direct;
	}
	fprintf(x->f, "\t// %s (%s:%u)%s%s\n", r->label[0] ? r->label : "exception", r->file, r->line,
	    why[0] ? "; " : "", why);
	/* One test per if: no || for a parser that might not take it. */
	if (p->wild)
		fprintf(x->f, "\tif (dnsDomainIs(host, \".%s\")) return \"%s\";\n", name, verdict);
	fprintf(x->f, "\tif (shExpMatch(host, \"%s\")) return \"%s\";\n", name, verdict);
}

/*
 * FindProxyForURL with nothing but if, return, shExpMatch, dnsDomainIs and
 * isInNet: the vendor says its client parses PAC files poorly. Rules go in
 * the order lookups take them, so the first that matches decides:
 * exceptions, exact hosts, wildcards from the longest suffix, then addresses
 * (already resolved by the library, exceptions carved out).
 */
static int
export_pac(struct ex *x)
{
	char proxy[300], direct[] = "DIRECT";
	const struct node **w;
	size_t i, nw = 0;
	int pass, rc;

	if (x->proxy == NULL) {
		fprintf(stderr, "gotonet: export pac needs --proxy HOST:PORT\n");
		return -1;
	}
	if (strpbrk(x->proxy, "\"\\ \t;") != NULL || strchr(x->proxy, ':') == NULL) {
		fprintf(stderr, "gotonet: export pac: bad --proxy '%s' (HOST:PORT)\n", x->proxy);
		return -1;
	}
	snprintf(proxy, sizeof(proxy), "PROXY %s", x->proxy);
	if ((rc = collect_names(x)) != 0)
		return -1;
	if ((w = calloc(x->nnodes + 1, sizeof(*w))) == NULL)
		return -1;
	header(x, x->f, "//");
	fprintf(x->f, "// Listed hosts and addresses go DIRECT, everything else to %s.\n"
	    "// isInNet() resolves a host name; addresses of the list are IPv4 only here.\n"
	    "function FindProxyForURL(url, host) {\n", proxy);
	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < x->nnodes; i++) {
			const struct node *p = &x->nodes[i];

			if (p->except != (pass == 0) || (pass == 1 && p->wild))
				continue;
			pac_name_rule(x, p, direct, proxy);
		}
	}
	for (i = 0; i < x->nnodes; i++)
		if (!x->nodes[i].except && x->nodes[i].wild)
			w[nw++] = &x->nodes[i];
	qsort(w, nw, sizeof(*w), wild_len_cmp);
	for (i = 0; i < nw; i++)
		pac_name_rule(x, w[i], direct, proxy);
	free(w);
	{
		struct seg *s;
		size_t n;

		if (segments(x, 0, GN_PROTO_TCP, &s, &n) == -1)
			return -1;
		for (i = 0; i < n; i++) {
			const struct gn_rule_info *r = seg_rule(x, &s[i]);

			if (r == NULL || !(r->action & GN_ACTION_DIRECT))
				continue;
			if (r->nports != 0) {
				note_rule(x, r, "has ports, which a PAC file cannot check; sent to the proxy");
				continue;
			}
			fprintf(x->f, "\t// %s (%s:%u)\n", r->label, r->file, r->line);
			cidrs(x, s[i].start, s[i].end, 0, pac_net, direct);
		}
		free(s);
	}
	for (i = 0; i < x->n; i++)
		if (x->info[i].kind == GN_KIND_NET6 && !(x->info[i].flags & GN_RULE_EXCEPT))
			note_rule(x, &x->info[i], "IPv6 prefix not exported: isInNet() is IPv4 only");
	fprintf(x->f, "\treturn \"%s\";\n}\n", proxy);
	return 0;
}

/* --- nft, iptables, routes: addresses only --- */

/* The rules that can go straight through a firewall or around a tunnel. */
static int
direct_rule(const struct gn_rule_info *r)
{
	return r != NULL && (r->action & GN_ACTION_DIRECT);
}

struct fwctx {
	const char	*set;		/* nft: "FAMILY TABLE SET" */
	const struct gn_rule_info *r;
	unsigned	 proto;
	size_t		 count;
};

/* Elements per "add element": one netlink message must hold them all. */
#define NFT_CHUNK	1000

static void
nft_elem(struct ex *x, u128 net, unsigned len, int v6, void *arg)
{
	struct fwctx *c = arg;
	char a[INET6_ADDRSTRLEN], label[100];

	addr_text(net, v6, a, sizeof(a));
	safe_label(c->r->label, label, sizeof(label));
	if (c->count > 0 && c->count % NFT_CHUNK == 0)
		fprintf(x->f, "\n}\nadd element %s {", c->set);
	fprintf(x->f, "%s\n\t%s/%u comment \"%s\"", c->count % NFT_CHUNK == 0 ? "" : ",", a, len, label);
	c->count++;
}

/* Rules of one port set, for one family and protocol: the segments that go direct. */
static int
port_sets(struct ex *x, const struct seg *s, size_t n, const struct gn_rule_info **sets, size_t max)
{
	size_t i, k, ns = 0;

	for (i = 0; i < n; i++) {
		const struct gn_rule_info *r = seg_rule(x, &s[i]);

		if (!direct_rule(r))
			continue;
		for (k = 0; k < ns; k++)
			if (same_ports(sets[k], r))
				break;
		if (k == ns && ns < max)
			sets[ns++] = r;
	}
	return (int)ns;
}

static int
export_nft(struct ex *x)
{
	char family[32], tname[64], ports[256];
	int v6, pi, k, nsets;
	int want4 = 1, want6 = 1;

	if (sscanf(x->table, "%31s %63s", family, tname) != 2 ||
	    (strcmp(family, "inet") != 0 && strcmp(family, "ip") != 0 && strcmp(family, "ip6") != 0)) {
		fprintf(stderr, "gotonet: export nft: bad --table '%s' (inet|ip|ip6 NAME)\n", x->table);
		return -1;
	}
	if (strcmp(family, "ip") == 0)
		want6 = 0;
	if (strcmp(family, "ip6") == 0)
		want4 = 0;
	header(x, x->f, "#");
	fprintf(x->f, "# Load with \"nft -f FILE\" (again after each change: it replaces what it made),\n"
	    "# then send traffic to the chain from yours, e.g.:\n"
	    "#   nft add rule %s %s forward jump %s\n"
	    "# Accepted: %s towards the list's ranges that go direct, per protocol as the\n"
	    "# rules say, carved around exceptions.\n\n", family, tname, x->chain,
	    want4 && want6 ? "IPv4 and IPv6" : want4 ? "IPv4" : "IPv6");
	fprintf(x->f, "add table %s %s\nadd chain %s %s %s\nflush chain %s %s %s\n", family, tname,
	    family, tname, x->chain, family, tname, x->chain);
	for (v6 = 0; v6 <= 1; v6++) {
		if (v6 ? !want6 : !want4)
			continue;
		for (pi = 0; pi < 2; pi++) {
			unsigned proto = pi == 0 ? GN_PROTO_TCP : GN_PROTO_UDP;
			const char *pn = pi == 0 ? "tcp" : "udp";
			const struct gn_rule_info *sets[32];
			struct seg *s;
			size_t n, i;

			if (segments(x, v6, proto, &s, &n) == -1)
				return -1;
			nsets = port_sets(x, s, n, sets, 32);
			for (k = 0; k < nsets; k++) {
				char set[80], where[200];
				struct fwctx c = { where, NULL, proto, 0 };

				if (sets[k]->nports == 0)
					snprintf(set, sizeof(set), "gotonet_v%d_%s", v6 ? 6 : 4, pn);
				else
					snprintf(set, sizeof(set), "gotonet_v%d_%s_ports%d", v6 ? 6 : 4, pn, k + 1);
				snprintf(where, sizeof(where), "%s %s %s", family, tname, set);
				fprintf(x->f, "\nadd set %s %s %s { type %s; flags interval; }\n"
				    "flush set %s %s %s\nadd element %s %s %s {", family, tname, set,
				    v6 ? "ipv6_addr" : "ipv4_addr", family, tname, set, family, tname, set);
				for (i = 0; i < n; i++) {
					const struct gn_rule_info *r = seg_rule(x, &s[i]);

					if (!direct_rule(r) || !same_ports(r, sets[k]))
						continue;
					c.r = r;
					cidrs(x, s[i].start, s[i].end, v6, nft_elem, &c);
				}
				fprintf(x->f, "\n}\n");
				if (sets[k]->nports == 0) {
					fprintf(x->f, "add rule %s %s %s %s daddr @%s meta l4proto %s accept "
					    "comment \"gotonet\"\n", family, tname, x->chain, v6 ? "ip6" : "ip",
					    set, pn);
				} else {
					ports_text(sets[k], ", ", "-", ports, sizeof(ports));
					fprintf(x->f, "add rule %s %s %s %s daddr @%s %s dport { %s } accept "
					    "comment \"gotonet\"\n", family, tname, x->chain, v6 ? "ip6" : "ip",
					    set, pn, ports);
				}
			}
			free(s);
		}
	}
	return 0;
}

static void
ipt_rule(struct ex *x, u128 net, unsigned len, int v6, void *arg)
{
	struct fwctx *c = arg;
	char a[INET6_ADDRSTRLEN], label[200], ports[256];
	const char *pn = c->proto == GN_PROTO_TCP ? "tcp" : "udp";

	addr_text(net, v6, a, sizeof(a));
	safe_label(c->r->label, label, sizeof(label));
	fprintf(x->f, "-A %s -d %s/%u -p %s", x->chain, a, len, pn);
	if (c->r->nports > 0) {
		ports_text(c->r, ",", ":", ports, sizeof(ports));
		fprintf(x->f, " -m multiport --dports %s", ports);
	}
	fprintf(x->f, " -m comment --comment \"%s\" -j ACCEPT\n", label);
}

static int
export_iptables(struct ex *x, int v6)
{
	int pi;

	header(x, x->f, "#");
	fprintf(x->f, "# Load with \"%s-restore --noflush FILE\" (again after each change: it\n"
	    "# empties the chain first), then send traffic to it from yours, e.g.:\n"
	    "#   %s -A FORWARD -j %s\n"
	    "# Accepted: traffic towards the list's ranges that go direct, per protocol\n"
	    "# as the rules say, carved around exceptions.\n", v6 ? "ip6tables" : "iptables",
	    v6 ? "ip6tables" : "iptables", x->chain);
	fprintf(x->f, "*filter\n:%s - [0:0]\n", x->chain);
	for (pi = 0; pi < 2; pi++) {
		unsigned proto = pi == 0 ? GN_PROTO_TCP : GN_PROTO_UDP;
		struct seg *s;
		size_t n, i;

		if (segments(x, v6, proto, &s, &n) == -1)
			return -1;
		for (i = 0; i < n; i++) {
			const struct gn_rule_info *r = seg_rule(x, &s[i]);
			struct fwctx c = { NULL, r, proto, 0 };

			if (!direct_rule(r))
				continue;
			if (r->nports > 15) {
				note_rule(x, r, "more than 15 port ranges, which multiport cannot take; "
				    "not exported");
				continue;
			}
			cidrs(x, s[i].start, s[i].end, v6, ipt_rule, &c);
		}
		free(s);
	}
	fprintf(x->f, "COMMIT\n");
	return 0;
}

/* A sorted list of disjoint intervals. */
struct ivs {
	u128		*a, *b;
	size_t		 n, cap;
	int		 nomem;
};

static void
ivs_add(struct ivs *v, u128 a, u128 b)
{
	if (v->n > 0 && v->b[v->n - 1] + 1 == a && v->b[v->n - 1] != ~(u128)0) {
		v->b[v->n - 1] = b;	/* adjacent: one interval */
		return;
	}
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 64;
		u128 *na = realloc(v->a, cap * sizeof(*na)), *nb;

		if (na == NULL) {
			v->nomem = 1;
			return;
		}
		v->a = na;
		if ((nb = realloc(v->b, cap * sizeof(*nb))) == NULL) {
			v->nomem = 1;
			return;
		}
		v->b = nb;
		v->cap = cap;
	}
	v->a[v->n] = a;
	v->b[v->n] = b;
	v->n++;
}

struct routectx {
	int		 first;
	struct buf	*b;
};

static void
route_line(struct ex *x, u128 net, unsigned len, int v6, void *arg)
{
	struct routectx *c = arg;
	char a[INET6_ADDRSTRLEN];

	addr_text(net, v6, a, sizeof(a));
	if (x->wireguard)
		buf_add(c->b, "%s%s/%u", c->first ? "" : ", ", a, len);
	else
		buf_add(c->b, "%s/%u\n", a, len);
	c->first = 0;
}

/*
 * Routes cannot tell protocols or ports apart: a range goes around the tunnel
 * when the rules send it direct for any chosen protocol (default both). A rule
 * limited to some ports is left in the tunnel, with a notice.
 */
static int
export_routes(struct ex *x)
{
	struct buf out = { 0 };
	struct routectx c = { 1, &out };
	int v6;

	header(x, x->f, "#");
	fprintf(x->f, "# %s, as the fewest CIDR blocks.\n",
	    x->complement ? "Everything EXCEPT the ranges that go direct (for WireGuard AllowedIPs)" :
	    "The ranges that go direct: route them outside the VPN tunnel");
	for (v6 = 0; v6 <= 1; v6++) {
		struct ivs v = { 0 };
		struct seg *s[2] = { NULL, NULL };
		size_t n[2] = { 0, 0 }, i, k[2] = { 0, 0 };
		int pi;

		if ((v6 && x->only4) || (!v6 && x->only6))
			continue;
		for (pi = 0; pi < 2; pi++)
			if (segments(x, v6, pi == 0 ? GN_PROTO_TCP : GN_PROTO_UDP, &s[pi], &n[pi]) == -1)
				return -1;
		/* Walk both protocols' segments together; a boundary of either cuts. */
		for (;;) {
			const struct seg *t = k[0] < n[0] ? &s[0][k[0]] : NULL;
			const struct seg *u = k[1] < n[1] ? &s[1][k[1]] : NULL;
			const struct gn_rule_info *rt, *ru;
			int dt, du, in;
			u128 a, b;

			if (t == NULL || u == NULL)
				break;
			a = t->start > u->start ? t->start : u->start;
			b = t->end < u->end ? t->end : u->end;
			rt = seg_rule(x, t);
			ru = seg_rule(x, u);
			dt = direct_rule(rt) && rt->nports == 0 && (x->proto & GN_PROTO_TCP);
			du = direct_rule(ru) && ru->nports == 0 && (x->proto & GN_PROTO_UDP);
			in = dt || du;
			if (direct_rule(rt) && rt->nports != 0 && (x->proto & GN_PROTO_TCP))
				note_rule(x, rt, "has ports, which routes cannot tell apart; left in the tunnel");
			if (direct_rule(ru) && ru->nports != 0 && (x->proto & GN_PROTO_UDP))
				note_rule(x, ru, "has ports, which routes cannot tell apart; left in the tunnel");
			if (x->proto == (GN_PROTO_TCP | GN_PROTO_UDP) && dt != du)
				note_rule(x, dt ? rt : ru, "is %s only, but a route takes every protocol: %s "
				    "to it leaves the tunnel too (use --proto to choose)",
				    dt ? "tcp" : "udp", dt ? "udp" : "tcp");
			if (in != x->complement)
				ivs_add(&v, a, b);
			if (t->end == b)
				k[0]++;
			if (u->end == b)
				k[1]++;
		}
		free(s[0]);
		free(s[1]);
		if (v.nomem) {
			free(v.a);
			free(v.b);
			return -1;
		}
		for (i = 0; i < v.n; i++)
			cidrs(x, v.a[i], v.b[i], v6, route_line, &c);
		free(v.a);
		free(v.b);
	}
	if (out.nomem)
		return -1;
	if (x->wireguard)
		fprintf(x->f, "AllowedIPs = %s\n", out.s ? out.s : "");
	else
		fputs(out.s ? out.s : "", x->f);
	free(out.s);
	return 0;
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: gotonet export squid -o dir [-r rules] [--acl-dir dir]\n"
	    "       gotonet export pac --proxy host:port [-r rules] [-o file]\n"
	    "       gotonet export nft [-r rules] [-o file] [--table 'family name'] [--chain name]\n"
	    "       gotonet export iptables|ip6tables [-r rules] [-o file] [--chain name]\n"
	    "       gotonet export routes [-4|-6] [--complement] [--wireguard] [--proto tcp|udp|any]\n"
	    "                             [-r rules] [-o file]\n");
}

int
cmd_export(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "proxy", required_argument, NULL, 'p' },
		{ "acl-dir", required_argument, NULL, 'a' },
		{ "table", required_argument, NULL, 't' },
		{ "chain", required_argument, NULL, 'c' },
		{ "proto", required_argument, NULL, 'P' },
		{ "complement", no_argument, NULL, 'C' },
		{ "wireguard", no_argument, NULL, 'w' },
		{ NULL, 0, NULL, 0 }
	};
	struct ex x;
	size_t i;
	int ch, rc = 2, r = -1;

	memset(&x, 0, sizeof(x));
	x.rules = gn_default_rules;
	x.proto = GN_PROTO_TCP | GN_PROTO_UDP;
	if (argc < 2) {
		usage();
		return 2;
	}
	x.fmt = argv[1];
	argc--;
	argv++;
	while ((ch = getopt_long(argc, argv, "46o:r:", longopts, NULL)) != -1) {
		switch (ch) {
		case '4':
			x.only4 = 1;
			break;
		case '6':
			x.only6 = 1;
			break;
		case 'o':
			x.out = optarg;
			break;
		case 'r':
			x.rules = optarg;
			break;
		case 'p':
			x.proxy = optarg;
			break;
		case 'a':
			x.acl_dir = optarg;
			break;
		case 't':
			x.table = optarg;
			break;
		case 'c':
			x.chain = optarg;
			break;
		case 'P':
			if (strcmp(optarg, "tcp") == 0)
				x.proto = GN_PROTO_TCP;
			else if (strcmp(optarg, "udp") == 0)
				x.proto = GN_PROTO_UDP;
			else if (strcmp(optarg, "any") == 0)
				x.proto = GN_PROTO_TCP | GN_PROTO_UDP;
			else {
				fprintf(stderr, "gotonet: export: bad --proto '%s' (tcp, udp or any)\n", optarg);
				return 2;
			}
			break;
		case 'C':
			x.complement = 1;
			break;
		case 'w':
			x.wireguard = 1;
			break;
		default:
			usage();
			return 2;
		}
	}
	if (optind != argc || (x.only4 && x.only6)) {
		usage();
		return 2;
	}
	if (strcmp(x.fmt, "squid") != 0 && strcmp(x.fmt, "pac") != 0 && strcmp(x.fmt, "nft") != 0 &&
	    strcmp(x.fmt, "iptables") != 0 && strcmp(x.fmt, "ip6tables") != 0 &&
	    strcmp(x.fmt, "routes") != 0) {
		fprintf(stderr, "gotonet: export: unknown format '%s'\n", x.fmt);
		usage();
		return 2;
	}
	if (x.chain == NULL)
		x.chain = strcmp(x.fmt, "nft") == 0 ? "gotonet_direct" : "gotonet-direct";
	if (x.table == NULL)
		x.table = "inet filter";
	if (strcmp(x.fmt, "iptables") == 0 || strcmp(x.fmt, "ip6tables") == 0) {
		if (strlen(x.chain) > 28 || strpbrk(x.chain, " \t\"") != NULL) {
			fprintf(stderr, "gotonet: export: bad --chain '%s'\n", x.chain);
			return 2;
		}
	}
	if ((x.t = cli_load(x.rules)) == NULL)
		return 2;
	x.n = gn_table_rule_count(x.t);
	if ((x.info = cli_rule_infos(x.t)) == NULL || (x.warned = calloc(x.n + 1, 1)) == NULL) {
		fprintf(stderr, "gotonet: export: out of memory\n");
		goto end;
	}
	x.f = stdout;
	if (strcmp(x.fmt, "squid") != 0 && x.out != NULL && strcmp(x.out, "-") != 0 &&
	    (x.f = fopen(x.out, "w")) == NULL) {
		fprintf(stderr, "gotonet: export: %s: %s\n", x.out, strerror(errno));
		x.f = NULL;
		goto end;
	}
	if (strcmp(x.fmt, "squid") == 0)
		r = export_squid(&x);
	else if (strcmp(x.fmt, "pac") == 0)
		r = export_pac(&x);
	else if (strcmp(x.fmt, "nft") == 0)
		r = export_nft(&x);
	else if (strcmp(x.fmt, "iptables") == 0)
		r = export_iptables(&x, 0);
	else if (strcmp(x.fmt, "ip6tables") == 0)
		r = export_iptables(&x, 1);
	else
		r = export_routes(&x);
	if (x.f != NULL && (fflush(x.f) != 0 || ferror(x.f))) {
		fprintf(stderr, "gotonet: export: write error: %s\n", strerror(errno));
		r = -1;
	}
	rc = r == 0 ? 0 : 2;
	if (rc != 0 && x.f != NULL && x.f != stdout && x.out != NULL)
		remove(x.out);	/* never leave half an export where a consumer would read it */
end:
	if (x.f != NULL && x.f != stdout)
		fclose(x.f);
	for (i = 0; i < x.nnodes; i++)
		free(x.nodes[i].key);
	free(x.nodes);
	free(x.warned);
	free(x.info);
	gn_table_free(x.t);
	return rc;
}
