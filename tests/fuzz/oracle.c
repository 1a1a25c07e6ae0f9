/* SPDX-License-Identifier: BSD-2-Clause */
/* A deliberately simple linear matcher, from gotonet.rules(5), to check the fast table against. */
#include "config.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "oracle.h"

/*
 * Nothing here shares code with src/lib beyond reading the rules through
 * gn_table_rule_info(): the point is to be obviously right, not fast. Every
 * lookup walks every rule.
 */

struct orule {
	int32_t		 id;
	enum gn_kind	 kind;
	int		 except;
	unsigned	 proto;
	char		*name;		/* HOST: the name; DOMAIN: the suffix after "*." */
	size_t		 namelen;
	uint8_t		 addr[16];	/* NET4: first 4 bytes */
	unsigned	 plen;
	pcre2_code	*re;
};

struct gn_oracle {
	struct orule	*r;
	size_t		 n;
	pcre2_match_context *mctx;	/* the limits gotonet.rules(5) gives a regex match */
	char		*why;		/* the caller's buffer */
	size_t		 whysize;
};

/*
 * What a target is, read from the manual's MATCHING section. Where it is
 * silent (name and label length, what makes a last label a number, a
 * trailing dot after an address) this follows the library, and says so.
 */
struct target {
	enum gn_target	 kind;
	char		 name[254];	/* lowercase, no trailing dot */
	size_t		 namelen;
	uint8_t		 addr[16];	/* IPV4: first 4 bytes */
};

static int
name_byte(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	    c == '.' || c == '-' || c == '_';
}

static char
lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/*
 * "Octal, hexadecimal and shorthand forms ... never match anything": a last
 * label that is a number (decimal digits, or 0x followed by hex digits, as
 * WHATWG URL hosts read them, "0x" alone included) makes the target an
 * address attempt, never a name. The manual gives examples, not this rule.
 */
static int
numeric_label(const char *s, size_t len)
{
	size_t i = 0;
	int hex = 0;

	if (len == 0)
		return 0;
	if (len >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		hex = 1;
		i = 2;
	}
	for (; i < len; i++) {
		char c = s[i];

		if (c >= '0' && c <= '9')
			continue;
		if (hex && ((c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
			continue;
		return 0;
	}
	return 1;
}

/* Four decimal numbers 0-255 without leading zeros, and nothing else. */
static int
canonical_quad(const char *s, size_t len, uint8_t out[4])
{
	size_t i = 0;
	int part;

	for (part = 0; part < 4; part++) {
		size_t start = i;
		unsigned v = 0;

		while (i < len && s[i] >= '0' && s[i] <= '9') {
			v = v * 10 + (unsigned)(s[i] - '0');
			i++;
			if (i - start > 3)
				return -1;
		}
		if (i == start || v > 255 || (s[start] == '0' && i - start > 1))
			return -1;
		out[part] = (uint8_t)v;
		if (part < 3) {
			if (i == len || s[i] != '.')
				return -1;
			i++;
		}
	}
	return i == len ? 0 : -1;
}

static void
classify(const char *s, size_t len, struct target *t)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	char buf[300];
	size_t i, label;

	memset(t, 0, sizeof(*t));
	t->kind = GN_TARGET_INVALID;
	/* No name or address is this long, or holds a NUL. */
	if (len >= sizeof(buf) || memchr(s, '\0', len) != NULL)
		return;
	memcpy(buf, s, len);
	buf[len] = '\0';

	if (len > 0 && buf[0] == '[') {
		if (len < 2 || buf[len - 1] != ']')
			return;
		buf[len - 1] = '\0';
		if (strchr(buf + 1, ':') == NULL || inet_pton(AF_INET6, buf + 1, t->addr) != 1)
			return;
		goto v6;
	}
	if (memchr(buf, ':', len) != NULL) {
		if (inet_pton(AF_INET6, buf, t->addr) != 1)
			return;
		goto v6;
	}

	/* One trailing dot is ignored (for an address too: the manual only says so of names). */
	if (len > 0 && buf[len - 1] == '.')
		buf[--len] = '\0';
	/* No DNS name is longer than 253 bytes or has a label over 63 (the manual is silent). */
	if (len == 0 || len > 253)
		return;
	for (i = 0, label = 0; i < len; i++) {
		if (!name_byte((unsigned char)buf[i]))
			return;
		if (buf[i] == '.') {
			if (label == 0)
				return;		/* empty label */
			label = 0;
		} else if (++label > 63)
			return;
	}
	if (label == 0)
		return;
	for (i = len; i > 0 && buf[i - 1] != '.'; i--)
		;
	if (numeric_label(buf + i, len - i)) {
		if (canonical_quad(buf, len, t->addr) == 0)
			t->kind = GN_TARGET_IPV4;
		return;
	}
	for (i = 0; i < len; i++)
		t->name[i] = lower(buf[i]);
	t->name[len] = '\0';
	t->namelen = len;
	t->kind = GN_TARGET_NAME;
	return;
v6:
	if (memcmp(t->addr, mapped, sizeof(mapped)) == 0) {
		memmove(t->addr, t->addr + 12, 4);
		memset(t->addr + 4, 0, 12);
		t->kind = GN_TARGET_IPV4;
	} else
		t->kind = GN_TARGET_IPV6;
}

static int
prefix_match(const uint8_t *net, const uint8_t *addr, unsigned plen)
{
	unsigned i;

	for (i = 0; i < plen; i++) {
		unsigned mask = 0x80u >> (i % 8);

		if ((net[i / 8] & mask) != (addr[i / 8] & mask))
			return 0;
	}
	return 1;
}

/* Read an address pattern as the manual writes it: ADDR or ADDR/LEN, host bits zero. */
static int
parse_net(struct gn_oracle *o, const char *pat, int v6, uint8_t addr[16], unsigned *plen)
{
	char buf[64];
	const char *slash = strchr(pat, '/');
	size_t alen = slash ? (size_t)(slash - pat) : strlen(pat);
	unsigned max = v6 ? 128 : 32, len = max, i;

	if (alen >= sizeof(buf))
		goto bad;
	memcpy(buf, pat, alen);
	buf[alen] = '\0';
	memset(addr, 0, 16);
	if (v6 ? inet_pton(AF_INET6, buf, addr) != 1 : canonical_quad(buf, alen, addr) == -1)
		goto bad;
	if (slash != NULL) {
		const char *p = slash + 1;

		if (*p == '\0' || strlen(p) > 3)
			goto bad;
		for (len = 0; *p; p++) {
			if (*p < '0' || *p > '9')
				goto bad;
			len = len * 10 + (unsigned)(*p - '0');
		}
		if (len > max)
			goto bad;
	}
	for (i = len; i < max; i++)
		if (addr[i / 8] & (0x80u >> (i % 8)))
			goto bad;
	*plen = len;
	return 0;
bad:
	snprintf(o->why, o->whysize, "address pattern '%s' does not read back", pat);
	return -1;
}

static int
valid_name(const char *s)
{
	size_t i, label = 0, len = strlen(s);

	if (len == 0 || len > 253)
		return 0;
	for (i = 0; i < len; i++) {
		if (!name_byte((unsigned char)s[i]) || (s[i] >= 'A' && s[i] <= 'Z'))
			return 0;
		if (s[i] == '.') {
			if (label == 0)
				return 0;
			label = 0;
		} else
			label++;
	}
	return label > 0;
}

static int
read_rule(struct gn_oracle *o, const struct gn_rule_info *in, struct orule *r)
{
	const char *pat = in->pattern;
	int ecode;
	PCRE2_SIZE eoff;

	memset(r, 0, sizeof(*r));
	r->id = in->id;
	r->kind = in->kind;
	r->except = (in->flags & GN_RULE_EXCEPT) != 0;
	r->proto = in->proto;
	switch (in->kind) {
	case GN_KIND_HOST:
	case GN_KIND_DOMAIN:
		if (in->kind == GN_KIND_DOMAIN) {
			if (strncmp(pat, "*.", 2) != 0)
				goto bad;
			pat += 2;
		}
		if (!valid_name(pat))
			goto bad;
		if ((r->name = strdup(pat)) == NULL)
			return -1;
		r->namelen = strlen(pat);
		return 0;
	case GN_KIND_NET4:
	case GN_KIND_NET6:
		if (parse_net(o, pat, in->kind == GN_KIND_NET6, r->addr, &r->plen) == -1)
			return -1;
		/* The table's own reading must be the same network. */
		if (r->plen != in->prefixlen ||
		    memcmp(r->addr, in->addr, in->kind == GN_KIND_NET6 ? 16 : 4) != 0) {
			snprintf(o->why, o->whysize, "rule %d: '%s' but addr/prefixlen say otherwise",
			    (int)in->id, in->pattern);
			return -1;
		}
		return 0;
	case GN_KIND_REGEX:
		if (pat[0] != '~')
			goto bad;
		/* The documented semantics: whole name, anchored at both ends, any case. */
		r->re = pcre2_compile((PCRE2_SPTR)(pat + 1), PCRE2_ZERO_TERMINATED,
		    PCRE2_ANCHORED | PCRE2_ENDANCHORED | PCRE2_CASELESS, &ecode, &eoff, NULL);
		if (r->re == NULL) {
			snprintf(o->why, o->whysize, "rule %d: regex '%s' does not compile (%d)",
			    (int)in->id, pat, ecode);
			return -1;
		}
		return 0;
	}
bad:
	snprintf(o->why, o->whysize, "rule %d: pattern '%s' is not a %s", (int)in->id, in->pattern,
	    gn_kind_name(in->kind));
	return -1;
}

void
gn_oracle_free(struct gn_oracle *o)
{
	size_t i;

	if (o == NULL)
		return;
	for (i = 0; i < o->n; i++) {
		free(o->r[i].name);
		pcre2_code_free(o->r[i].re);
	}
	free(o->r);
	pcre2_match_context_free(o->mctx);
	free(o);
}

struct gn_oracle *
gn_oracle_new(const struct gn_table *t, char *why, size_t whysize)
{
	struct gn_oracle *o;
	struct gn_rule_info info;
	size_t i, n = gn_table_rule_count(t);

	if ((o = calloc(1, sizeof(*o))) == NULL ||
	    (o->r = calloc(n ? n : 1, sizeof(*o->r))) == NULL) {
		snprintf(why, whysize, "out of memory");
		free(o);
		return NULL;
	}
	o->why = why;
	o->whysize = whysize;
	snprintf(why, whysize, "out of memory");
	/* gotonet.rules(5), MATCHING: "PCRE2's match or depth limit (100000 steps, depth 1000)". */
	if ((o->mctx = pcre2_match_context_create(NULL)) == NULL)
		goto fail;
	pcre2_set_match_limit(o->mctx, 100000);
	pcre2_set_depth_limit(o->mctx, 1000);
	for (i = 0; i < n; i++) {
		o->n = i + 1;	/* so that a partly read rule is freed too */
		if (gn_table_rule_info(t, (int32_t)i, &info) == -1) {
			snprintf(why, whysize, "rule %zu of %zu has no info", i, n);
			goto fail;
		}
		if (read_rule(o, &info, &o->r[i]) == -1)
			goto fail;
	}
	o->why = NULL;
	return o;
fail:
	gn_oracle_free(o);
	return NULL;
}

/*
 * Name rules: an exact host beats any wildcard, the longest wildcard suffix
 * beats shorter ones, regexes are tried only when neither matched, in file
 * order. Among equals the first written decides.
 */
static int
decide_name(const struct gn_oracle *o, const struct target *t, int except, int32_t *rule)
{
	/* On -1, *rule is the regex that could not decide. */
	pcre2_match_data *md = NULL;
	int32_t host = GN_NONE, wild = GN_NONE;
	size_t i, wildlen = 0;
	int rc = 0;

	*rule = GN_NONE;
	for (i = 0; i < o->n; i++) {
		const struct orule *r = &o->r[i];

		if (r->except != except)
			continue;
		if (r->kind == GN_KIND_HOST && host == GN_NONE && r->namelen == t->namelen &&
		    memcmp(r->name, t->name, t->namelen) == 0)
			host = r->id;
		if (r->kind == GN_KIND_DOMAIN && (wild == GN_NONE || r->namelen > wildlen) &&
		    (r->namelen == t->namelen ||
		    (t->namelen > r->namelen && t->name[t->namelen - r->namelen - 1] == '.')) &&
		    memcmp(r->name, t->name + t->namelen - r->namelen, r->namelen) == 0) {
			wild = r->id;
			wildlen = r->namelen;
		}
	}
	if (host != GN_NONE) {
		*rule = host;
		return 0;
	}
	if (wild != GN_NONE) {
		*rule = wild;
		return 0;
	}
	for (i = 0; i < o->n; i++) {
		const struct orule *r = &o->r[i];
		int m;

		if (r->except != except || r->kind != GN_KIND_REGEX)
			continue;
		if (md == NULL && (md = pcre2_match_data_create_from_pattern(r->re, NULL)) == NULL)
			return -1;
		m = pcre2_match(r->re, (PCRE2_SPTR)t->name, t->namelen, 0, 0, md, o->mctx);
		/* Past a limit "decides nothing": an exception counts it as a match, the list as none. */
		if (m == PCRE2_ERROR_MATCHLIMIT || m == PCRE2_ERROR_DEPTHLIMIT)
			m = except ? 0 : PCRE2_ERROR_NOMATCH;
		if (m >= 0) {
			*rule = r->id;
			break;
		}
		if (m != PCRE2_ERROR_NOMATCH) {
			*rule = r->id;
			rc = -1;
			break;
		}
	}
	pcre2_match_data_free(md);
	return rc;
}

/* Address rules: longest prefix; the first written among identical ones. */
static int32_t
decide_addr(const struct gn_oracle *o, const struct target *t, int except, unsigned proto)
{
	enum gn_kind kind = t->kind == GN_TARGET_IPV4 ? GN_KIND_NET4 : GN_KIND_NET6;
	int32_t best = GN_NONE;
	unsigned bestlen = 0;
	size_t i;

	for (i = 0; i < o->n; i++) {
		const struct orule *r = &o->r[i];

		if (r->except != except || r->kind != kind)
			continue;
		/* An exception has no proto of its own: it matches for every protocol. */
		if (!except && !(r->proto & proto))
			continue;
		if (!prefix_match(r->addr, t->addr, r->plen))
			continue;
		if (best == GN_NONE || r->plen > bestlen) {
			best = r->id;
			bestlen = r->plen;
		}
	}
	return best;
}

int
gn_oracle_lookup(const struct gn_oracle *o, const char *s, size_t len, unsigned proto,
    struct gn_verdict *v)
{
	struct target t;
	int32_t rule = GN_NONE;
	int except;

	classify(s, len, &t);
	v->target = t.kind;
	v->match = GN_MATCH_NONE;
	v->rule = GN_NONE;
	if (t.kind == GN_TARGET_INVALID)
		return 0;
	/* Exceptions beat everything, however specific the list rule. */
	for (except = 1; except >= 0; except--) {
		if (t.kind == GN_TARGET_NAME) {
			if (decide_name(o, &t, except, &rule) == -1) {
				if (except) {
					v->match = GN_MATCH_EXCEPTED;
					v->rule = rule;
				}
				return -1;
			}
		} else
			rule = decide_addr(o, &t, except, proto);
		if (rule != GN_NONE) {
			v->match = except ? GN_MATCH_EXCEPTED : GN_MATCH_LISTED;
			v->rule = rule;
			return 0;
		}
	}
	return 0;
}

const char *
gn_oracle_verdict_str(const struct gn_verdict *v, char *buf, size_t size)
{
	snprintf(buf, size, "%s rule %d (%s)", gn_match_name(v->match), (int)v->rule,
	    gn_target_name(v->target));
	return buf;
}
