/* SPDX-License-Identifier: BSD-2-Clause */
/* The immutable table: built once from parsed rules, then looked up from any number of threads. */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "internal.h"

struct gn_table *
gn_table_new(size_t size)
{
	struct gn_table *t;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	/* Patterns are parts of the text (an IPv6 one rewritten, rarely longer). */
	if (gn_arena_init(&t->arena, size + 4096) == -1) {
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
	free_regex(t->regex, t->nregex);
	free_regex(t->xregex, t->nxregex);
	pcre2_match_context_free(t->mctx);
	gn_ptab4_free(&t->v4);
	gn_ptab6_free(&t->v6);
	for (i = 0; i < t->nfiles; i++)
		free(t->files[i]);
	free(t->files);
	gn_mem_free(t->rules);
	free(t->attrs);
	free(t->ports);
	free(t->version);
	gn_arena_free(&t->arena);
	free(t);
}

/*
 * The digest is the parser's (rules.c): it has each pattern's text and length at hand.
 * The prefix arrays are gn_mem blocks.
 */
int
gn_table_finish(struct gn_table *t, struct gn_pfx4 **p4, size_t n4, struct gn_pfx6 **p6, size_t n6,
    struct gn_diag *diag)
{
	size_t i, nnames = 0;
	char *shrunk;
	int n;

	for (i = 0; i < t->nrules; i++)
		if (t->rules[i].kind == GN_KIND_HOST || t->rules[i].kind == GN_KIND_DOMAIN)
			nnames++;
	/*
	 * Loading is done with the arena: give back the room it had to grow,
	 * keeping KEY_PAD zero bytes for the name hash's loads.
	 */
	if ((shrunk = gn_mem_realloc(t->arena.buf, t->arena.len + KEY_PAD)) == NULL)
		goto nomem;
	t->arena.buf = shrunk;
	t->arena.cap = t->arena.len + KEY_PAD;
	memset(t->arena.buf + t->arena.len, 0, KEY_PAD);
	/* Host names are short: a regex that needs more than this is pathological. */
	if (t->nregex + t->nxregex > 0) {
		if ((t->mctx = pcre2_match_context_create(NULL)) == NULL)
			goto nomem;
		pcre2_set_match_limit(t->mctx, 100000);
		pcre2_set_depth_limit(t->mctx, 1000);
	}
	/* Addresses first, so that their scratch is gone before the name hash is made. */
	n = gn_ptab4_build(&t->v4, *p4, n4);
	*p4 = NULL;		/* the IPv4 table's now, or freed */
	if (n == -1 || gn_ptab6_build(&t->v6, *p6, n6) == -1)
		goto nomem;
	gn_mem_free(*p6);
	*p6 = NULL;
	/* Sized once: the hash is not rebuilt (and held twice) at the end of a big load. */
	if (gn_names_init(&t->names, nnames + 8) == -1)
		goto nomem;
	for (i = 0; i < t->nrules; i++) {
		const struct gn_rule *r = &t->rules[i];
		int32_t vc = (int32_t)i | ((gn_rule_attrs(t, r)->flags & GN_RULE_EXCEPT) ? GN_VC_EXCEPT : 0);

		if ((r->kind == GN_KIND_HOST || r->kind == GN_KIND_DOMAIN) &&
		    gn_names_add(&t->names, t->arena.buf, t->rules, vc) == -1)
			goto nomem;
	}
	if (gn_names_finish(&t->names, t->arena.buf, t->rules) == -1)
		goto nomem;
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

/*
 * Try regexes in file order. A match that runs out of its limits decides
 * nothing either way: for an exception that means "not bypassed" (the
 * caller passes on_error = the exception itself), for the list "not listed".
 */
static int32_t
match_regex(const struct gn_table *t, const struct gn_regex *re, size_t n, const char *name,
    size_t len, int error_matches)
{
	unsigned char buf[256];
	pcre2_match_data *md;
	size_t i;
	int rc;

	if (n == 0)
		return GN_NONE;
	pthread_once(&md_once, md_init);
	if (!md_key_ok)
		return error_matches ? re[0].rule : GN_NONE;
	if ((md = pthread_getspecific(md_key)) == NULL) {
		if ((md = pcre2_match_data_create(1, NULL)) == NULL)
			return error_matches ? re[0].rule : GN_NONE;
		if (pthread_setspecific(md_key, md) != 0) {
			pcre2_match_data_free(md);
			return error_matches ? re[0].rule : GN_NONE;
		}
	}
	for (i = 0; i < len; i++)
		buf[i] = (unsigned char)(name[i] >= 'A' && name[i] <= 'Z' ? name[i] - 'A' + 'a' : name[i]);
	for (i = 0; i < n; i++) {
		rc = pcre2_match(re[i].code, buf, len, 0, 0, md, t->mctx);
		if (rc >= 0 || (rc != PCRE2_ERROR_NOMATCH && error_matches))
			return re[i].rule;
	}
	return GN_NONE;
}

static inline struct gn_verdict
decide(enum gn_target target, int32_t vc)
{
	struct gn_verdict v;

	/*
	 * No branch: whether a target is listed is as unpredictable as the
	 * traffic, and a mispredicted branch here cost IPv4 lookups a third.
	 */
	_Static_assert(GN_MATCH_NONE == 0 && GN_MATCH_LISTED == 1 && GN_MATCH_EXCEPTED == 2,
	    "decide() computes the match from these values");
	v.target = target;
	v.rule = vc < 0 ? GN_NONE : GN_VC_RULE(vc);
	v.match = (enum gn_match)((vc >= 0) + ((vc >= 0) & ((vc & GN_VC_EXCEPT) != 0)));
	return v;
}

static inline gn_u128
addr6(const uint8_t a[16])
{
	gn_u128 v = 0;
	int i;

	for (i = 0; i < 16; i++)
		v = v << 8 | a[i];
	return v;
}

struct gn_verdict
gn_table_lookup(const struct gn_table *t, const char *s, size_t len, unsigned proto)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	int pi = proto == GN_PROTO_UDP ? 1 : 0, valid;
	int32_t vc, x;
	uint8_t a6[16];
	uint32_t a4;

	/*
	 * A dotted quad ends in a digit; a host name in a letter (its top-level
	 * domain), so names do not try the address parser first.
	 */
	if (len > 0 && s[len - 1] >= '0' && s[len - 1] <= '9' && gn_addr_parse4(s, len, &a4) == 0)
		return decide(GN_TARGET_IPV4, gn_ptab4_lookup(&t->v4, a4, pi));
	if (len > 0 && s[0] == '[') {
		if (len < 3 || s[len - 1] != ']' || memchr(s + 1, ':', len - 2) == NULL)
			return decide(GN_TARGET_INVALID, -1);
		s++;
		len -= 2;
		goto v6;
	}
	/* Names first: they are most of the traffic, and the walk tells the rest apart. */
	vc = gn_names_match(&t->names, s,
	    len > 0 && s[len - 1] == '.' ? len - 1 : len, &valid);
	if (valid != 1 && memchr(s, ':', len) != NULL)
		goto v6;		/* no trailing dot taken off an IPv6 address */
	if (len > 0 && s[len - 1] == '.')
		len--;
	if (valid == 2) {
		/* A numeric last label (WHATWG) makes this an address or nothing. */
		if (gn_addr_parse4(s, len, &a4) == -1)
			return decide(GN_TARGET_INVALID, -1);
		return decide(GN_TARGET_IPV4, gn_ptab4_lookup(&t->v4, a4, pi));
	}
	if (valid == 0)
		return decide(GN_TARGET_INVALID, -1);
	/* Exceptions beat the list, whatever their kind. */
	if (t->nxregex > 0 && !GN_VC_IS_EXCEPT(vc) &&
	    (x = match_regex(t, t->xregex, t->nxregex, s, len, 1)) != GN_NONE)
		return decide(GN_TARGET_NAME, x | GN_VC_EXCEPT);
	if (vc == -1 && t->nregex > 0)
		vc = match_regex(t, t->regex, t->nregex, s, len, 0);
	return decide(GN_TARGET_NAME, vc);
v6:
	if (gn_addr_parse6(s, len, a6) == -1)
		return decide(GN_TARGET_INVALID, -1);
	if (memcmp(a6, mapped, 12) == 0) {
		a4 = (uint32_t)a6[12] << 24 | (uint32_t)a6[13] << 16 | (uint32_t)a6[14] << 8 | a6[15];
		return decide(GN_TARGET_IPV4, gn_ptab4_lookup(&t->v4, a4, pi));
	}
	return decide(GN_TARGET_IPV6, gn_ptab6_lookup(&t->v6, addr6(a6), pi));
}

int
gn_table_rule_port_ok(const struct gn_table *t, int32_t id, unsigned port)
{
	const struct gn_attrs *a;
	size_t i;

	if (id < 0 || (size_t)id >= t->nrules)
		return 0;
	a = gn_rule_attrs(t, &t->rules[id]);
	if (a->nports == 0)
		return 1;
	for (i = 0; i < a->nports; i++)
		if (port >= t->ports[a->ports + i].lo && port <= t->ports[a->ports + i].hi)
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
	const struct gn_attrs *a;
	const struct gn_rule *r;

	if (id < 0 || (size_t)id >= t->nrules)
		return -1;
	r = &t->rules[id];
	a = gn_rule_attrs(t, r);
	memset(info, 0, sizeof(*info));
	info->id = id;
	info->kind = (enum gn_kind)r->kind;
	info->label = t->arena.buf + a->label;
	info->points_to = a->points_to ? t->arena.buf + a->points_to : NULL;
	info->file = t->files[r->file];
	info->line = r->line;
	info->flags = a->flags;
	info->action = a->action;
	info->proto = a->proto;
	info->ports = a->nports ? &t->ports[a->ports] : NULL;
	info->nports = a->nports;
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
	if (r->kind == GN_KIND_NET6)
		(void)gn_addr_parse6(info->pattern, (size_t)(strchr(info->pattern, '/') - info->pattern),
		    info->addr);	/* the parser made this text from an address */
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
