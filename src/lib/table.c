/* SPDX-License-Identifier: BSD-2-Clause */
/* The immutable table: built once from parsed rules, then looked up from any number of threads. */
#include "config.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "internal.h"

struct gn_table *
gn_table_new(void)
{
	struct gn_table *t;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	if (gn_arena_init(&t->arena) == -1) {
		free(t);
		return NULL;
	}
	return t;
}

static void
free_regex(struct gn_regex *r, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		pcre2_code_free(r[i].code);
	free(r);
}

void
gn_table_free(struct gn_table *t)
{
	size_t i;

	if (t == NULL)
		return;
	gn_names_free(&t->names);
	gn_names_free(&t->xnames);
	free_regex(t->regex, t->nregex);
	free_regex(t->xregex, t->nxregex);
	if (!t->shared_udp) {
		gn_ptab4_free(&t->v4[1]);
		gn_ptab6_free(&t->v6[1]);
	}
	gn_ptab4_free(&t->v4[0]);
	gn_ptab6_free(&t->v6[0]);
	for (i = 0; i < t->nfiles; i++)
		free(t->files[i]);
	free(t->files);
	free(t->rules);
	free(t->ports);
	free(t->version);
	gn_arena_free(&t->arena);
	free(t);
}

/* Address prefixes of one family that apply to proto (exceptions apply to all). */
static size_t
select_pfx(const struct gn_table *t, const struct gn_pfx *all, size_t n, int kind,
    unsigned proto, struct gn_pfx *out)
{
	size_t i, k = 0;

	for (i = 0; i < n; i++) {
		const struct gn_rule *r = &t->rules[all[i].rule];

		if (r->kind == kind && (all[i].except || (r->proto & proto)))
			out[k++] = all[i];
	}
	return k;
}

static int
build_addrs(struct gn_table *t, const struct gn_pfx *all, size_t n)
{
	struct gn_pfx *sel;
	size_t i, k;
	int rc = -1;

	if ((sel = malloc((n ? n : 1) * sizeof(*sel))) == NULL)
		return -1;
	t->shared_udp = 1;
	for (i = 0; i < n; i++) {
		const struct gn_rule *r = &t->rules[all[i].rule];

		if (!all[i].except && r->proto != (GN_PROTO_TCP | GN_PROTO_UDP))
			t->shared_udp = 0;
	}
	for (i = 0; i < (t->shared_udp ? 1u : 2u); i++) {
		unsigned proto = i == 0 ? GN_PROTO_TCP : GN_PROTO_UDP;

		k = select_pfx(t, all, n, GN_KIND_NET4, proto, sel);
		if (gn_ptab4_build(&t->v4[i], sel, k) == -1)
			goto end;
		k = select_pfx(t, all, n, GN_KIND_NET6, proto, sel);
		if (gn_ptab6_build(&t->v6[i], sel, k) == -1)
			goto end;
	}
	if (t->shared_udp) {
		t->v4[1] = t->v4[0];
		t->v6[1] = t->v6[0];
	}
	rc = 0;
end:
	free(sel);
	return rc;
}

int
gn_table_finish(struct gn_table *t, struct gn_pfx *pfx, size_t npfx, struct gn_diag *diag)
{
	size_t i, nnames = 0, nx = 0;
	uint64_t h = 0xcbf29ce484222325ULL;

	for (i = 0; i < t->nrules; i++) {
		const struct gn_rule *r = &t->rules[i];

		if (r->kind == GN_KIND_HOST || r->kind == GN_KIND_DOMAIN)
			(r->flags & GN_RULE_EXCEPT) ? nx++ : nnames++;
	}
	/* Interior nodes roughly double the count for names with many labels. */
	if (gn_names_init(&t->names, nnames + nnames / 2 + 8) == -1 ||
	    gn_names_init(&t->xnames, nx * 2 + 8) == -1)
		goto nomem;
	for (i = 0; i < t->nrules; i++) {
		const struct gn_rule *r = &t->rules[i];
		struct gn_names *n = (r->flags & GN_RULE_EXCEPT) ? &t->xnames : &t->names;
		const char *pat = t->arena.buf + r->pattern;
		int wild = r->kind == GN_KIND_DOMAIN;

		if (r->kind != GN_KIND_HOST && r->kind != GN_KIND_DOMAIN)
			continue;
		if (wild)
			pat += 2;
		if (gn_names_add(n, &t->arena, pat, strlen(pat), wild, (int32_t)i) == -2)
			goto nomem;
	}
	if (nx == 0) {
		gn_names_free(&t->xnames);	/* mask 0: skipped at lookup */
	}
	if (build_addrs(t, pfx, npfx) == -1)
		goto nomem;

	/* A digest of what decides traffic, for ISTags and farm checks. */
	for (i = 0; i < t->nrules; i++) {
		const struct gn_rule *r = &t->rules[i];
		const char *label = t->arena.buf + r->label;
		struct gn_rule_info info;

		gn_table_rule_info(t, (int32_t)i, &info);
		h ^= r->kind | r->flags << 8 | r->action << 16 | (uint64_t)r->proto << 24 |
		    (uint64_t)r->prefixlen << 32;
		h *= 0x100000001b3ULL;
		for (const char *s = info.pattern; *s; s++)
			h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
		for (const char *s = label; *s; s++)
			h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
		for (size_t k = 0; k < r->nports; k++)
			h = (h ^ ((uint64_t)t->ports[r->ports + k].lo << 16 |
			    t->ports[r->ports + k].hi)) * 0x100000001b3ULL;
	}
	t->digest = h;
	return 0;
nomem:
	gn_diag_add(diag, 0, "%s: out of memory", t->files[0]);
	return -1;
}

/* One pcre2 match block per thread, made on its first regex lookup. */
static pthread_key_t md_key;
static pthread_once_t md_once = PTHREAD_ONCE_INIT;
static int md_key_ok;

static void
md_free(void *md)
{
	pcre2_match_data_free(md);
}

static void
md_init(void)
{
	md_key_ok = pthread_key_create(&md_key, md_free) == 0;
}

static int32_t
match_regex(const struct gn_regex *re, size_t n, const char *name, size_t len)
{
	unsigned char buf[256];
	pcre2_match_data *md;
	size_t i;

	if (n == 0)
		return GN_NONE;
	pthread_once(&md_once, md_init);
	if (!md_key_ok)
		return GN_NONE;
	if ((md = pthread_getspecific(md_key)) == NULL) {
		if ((md = pcre2_match_data_create(1, NULL)) == NULL)
			return GN_NONE;
		if (pthread_setspecific(md_key, md) != 0) {
			pcre2_match_data_free(md);
			return GN_NONE;
		}
	}
	for (i = 0; i < len; i++)
		buf[i] = (unsigned char)(name[i] >= 'A' && name[i] <= 'Z' ? name[i] - 'A' + 'a' : name[i]);
	for (i = 0; i < n; i++)
		if (pcre2_match(re[i].code, buf, len, 0, 0, md, NULL) >= 0)
			return re[i].rule;
	return GN_NONE;
}

static struct gn_verdict
decide(const struct gn_table *t, enum gn_target target, int32_t rule)
{
	struct gn_verdict v = { GN_MATCH_NONE, target, GN_NONE };

	if (rule != GN_NONE) {
		v.rule = rule;
		v.match = (t->rules[rule].flags & GN_RULE_EXCEPT) ? GN_MATCH_EXCEPTED : GN_MATCH_LISTED;
	}
	return v;
}

static struct gn_verdict
lookup_name(const struct gn_table *t, const char *s, size_t len)
{
	const char *arena = t->arena.buf;
	int32_t rule;
	int valid;

	/* Exceptions beat the list, whatever their specificity. */
	if (t->xnames.mask != 0) {
		rule = gn_names_match(&t->xnames, arena, s, len, &valid);
		if (!valid)
			return decide(t, GN_TARGET_INVALID, GN_NONE);
		if (rule != GN_NONE)
			return decide(t, GN_TARGET_NAME, rule);
	}
	rule = gn_names_match(&t->names, arena, s, len, &valid);
	if (!valid)
		return decide(t, GN_TARGET_INVALID, GN_NONE);
	if (t->nxregex > 0) {
		int32_t x = match_regex(t->xregex, t->nxregex, s, len);

		if (x != GN_NONE)
			return decide(t, GN_TARGET_NAME, x);
	}
	if (rule == GN_NONE)
		rule = match_regex(t->regex, t->nregex, s, len);
	return decide(t, GN_TARGET_NAME, rule);
}

static int
numeric_label(const char *s, const char *end)
{
	int hex = end - s > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X');

	if (s == end)
		return 0;
	for (s += hex ? 2 : 0; s < end; s++)
		if (!((*s >= '0' && *s <= '9') ||
		    (hex && ((*s >= 'a' && *s <= 'f') || (*s >= 'A' && *s <= 'F')))))
			return 0;
	return 1;
}

struct gn_verdict
gn_table_lookup(const struct gn_table *t, const char *s, size_t len, unsigned proto)
{
	int pi = proto == GN_PROTO_UDP ? 1 : 0;
	const char *last;
	uint8_t a6[16];
	uint32_t a4;

	if (len > 0 && s[0] == '[') {
		if (len < 3 || s[len - 1] != ']')
			return decide(t, GN_TARGET_INVALID, GN_NONE);
		s++;
		len -= 2;
		if (memchr(s, ':', len) == NULL)
			return decide(t, GN_TARGET_INVALID, GN_NONE);
	}
	if (memchr(s, ':', len) != NULL) {
		gn_u128 v = 0;
		int i;

		if (gn_addr_parse6(s, len, a6) == -1)
			return decide(t, GN_TARGET_INVALID, GN_NONE);
		static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
		if (memcmp(a6, mapped, 12) == 0) {
			a4 = (uint32_t)a6[12] << 24 | (uint32_t)a6[13] << 16 | (uint32_t)a6[14] << 8 | a6[15];
			return decide(t, GN_TARGET_IPV4, gn_ptab4_lookup(&t->v4[pi], a4));
		}
		for (i = 0; i < 16; i++)
			v = v << 8 | a6[i];
		return decide(t, GN_TARGET_IPV6, gn_ptab6_lookup(&t->v6[pi], v));
	}
	if (len > 0 && s[len - 1] == '.')
		len--;
	/* A numeric last label (WHATWG: digits, or 0x and hex) makes this an address or nothing. */
	for (last = s + len; last > s && last[-1] != '.'; last--)
		;
	if (numeric_label(last, s + len)) {
		if (gn_addr_parse4(s, len, &a4) == -1)
			return decide(t, GN_TARGET_INVALID, GN_NONE);
		return decide(t, GN_TARGET_IPV4, gn_ptab4_lookup(&t->v4[pi], a4));
	}
	return lookup_name(t, s, len);
}

int
gn_table_rule_port_ok(const struct gn_table *t, int32_t id, unsigned port)
{
	const struct gn_rule *r;
	size_t i;

	if (id < 0 || (size_t)id >= t->nrules)
		return 0;
	r = &t->rules[id];
	if (r->nports == 0)
		return 1;
	for (i = 0; i < r->nports; i++)
		if (port >= t->ports[r->ports + i].lo && port <= t->ports[r->ports + i].hi)
			return 1;
	return 0;
}

size_t
gn_table_rule_count(const struct gn_table *t)
{
	return t->nrules;
}

int
gn_table_rule_info(const struct gn_table *t, int32_t id, struct gn_rule_info *info)
{
	const struct gn_rule *r;

	if (id < 0 || (size_t)id >= t->nrules)
		return -1;
	r = &t->rules[id];
	memset(info, 0, sizeof(*info));
	info->id = id;
	info->kind = (enum gn_kind)r->kind;
	info->label = t->arena.buf + r->label;
	info->points_to = r->points_to ? t->arena.buf + r->points_to : NULL;
	info->file = t->files[r->file];
	info->line = r->line;
	info->flags = r->flags;
	info->action = r->action;
	info->proto = r->proto;
	info->ports = r->nports ? &t->ports[r->ports] : NULL;
	info->nports = r->nports;
	info->prefixlen = r->prefixlen;
	if (r->kind == GN_KIND_NET4) {
		info->addr[0] = (uint8_t)(r->pattern >> 24);
		info->addr[1] = (uint8_t)(r->pattern >> 16);
		info->addr[2] = (uint8_t)(r->pattern >> 8);
		info->addr[3] = (uint8_t)r->pattern;
		snprintf(info->buf, sizeof(info->buf), "%u.%u.%u.%u/%u", info->addr[0], info->addr[1],
		    info->addr[2], info->addr[3], r->prefixlen);
		info->pattern = info->buf;
		return 0;
	}
	info->pattern = t->arena.buf + r->pattern;
	if (r->kind == GN_KIND_NET6) {
		char a[INET6_ADDRSTRLEN];
		const char *slash = strchr(info->pattern, '/');
		size_t n = (size_t)(slash - info->pattern);

		memcpy(a, info->pattern, n);
		a[n] = '\0';
		inet_pton(AF_INET6, a, info->addr);
	}
	return 0;
}

const char *
gn_table_version(const struct gn_table *t)
{
	return t->version ? t->version : "";
}

uint64_t
gn_table_digest(const struct gn_table *t)
{
	return t->digest;
}

const char *
gn_kind_name(enum gn_kind k)
{
	static const char *const names[] = { "host", "domain", "net4", "net6", "regex" };

	return (unsigned)k < sizeof(names) / sizeof(names[0]) ? names[k] : "?";
}

const char *
gn_match_name(enum gn_match m)
{
	static const char *const names[] = { "not-listed", "listed", "excepted" };

	return (unsigned)m < sizeof(names) / sizeof(names[0]) ? names[m] : "?";
}

const char *
gn_target_name(enum gn_target k)
{
	static const char *const names[] = { "name", "ipv4", "ipv6", "invalid" };

	return (unsigned)k < sizeof(names) / sizeof(names[0]) ? names[k] : "?";
}

const char *
gn_action_name(unsigned action)
{
	static const char *const names[] = { "none", "splice", "direct", "splice,direct" };

	return names[action & GN_ACTION_BOTH];
}

const char *
gn_proto_name(unsigned proto)
{
	static const char *const names[] = { "", "tcp", "udp", "tcp,udp" };

	return names[proto & (GN_PROTO_TCP | GN_PROTO_UDP)];
}
