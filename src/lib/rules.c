/* SPDX-License-Identifier: BSD-2-Clause */
/* The rules file parser: every error of every file in one pass, a table only when there are none. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <libcidr.h>
#include <pcre2.h>

#include "internal.h"

#define MAX_DEPTH	8
#define MAX_TOKENS	64

/* Interned strings (labels repeat): open addressing over arena offsets. */
struct intern {
	uint32_t	*slots;
	size_t		 mask, count;
};

struct parser {
	struct gn_table	*t;
	struct gn_diag	*diag;
	const char	*file;		/* current file, as shown in messages */
	unsigned	 line;
	uint16_t	 fileidx;
	int		 depth;
	char		*open[MAX_DEPTH + 1];	/* realpaths of the files being read */
	char		*version_at;	/* "file:line" of the version statement */
	struct intern	 strs;
	struct gn_pfx4	*pfx4;		/* address rules */
	size_t		 npfx4, cap4;
	struct gn_pfx6	*pfx6;
	size_t		 npfx6, cap6;
	struct intern	 sets;		/* attribute sets, by content */
	uint32_t	*set_ports;	/* per attribute set: its interned ports text */
	size_t		 nerr;
	int		 nomem;
};

static void parse_stream(struct parser *, FILE *, int);

static void __attribute__((format(printf, 2, 3)))
perr(struct parser *p, const char *fmt, ...)
{
	char *msg;
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (r == -1 || gn_diag_add(p->diag, 0, "%s:%u: %s", p->file, p->line, msg) == -1)
		p->nomem = 1;
	if (r != -1)
		free(msg);
	p->nerr++;
}

static uint64_t
fnv(uint64_t h, const void *s, size_t len)
{
	const unsigned char *c = s;

	while (len-- > 0)
		h = (h ^ *c++) * 0x100000001b3ULL;
	return h;
}

static uint32_t
intern(struct parser *p, const char *s)
{
	struct intern *in = &p->strs;
	size_t len = strlen(s), i;
	uint32_t off;

	if ((in->count + 1) * 2 > in->mask + 1) {
		size_t size = in->mask ? (in->mask + 1) * 2 : 64, j;
		uint32_t *slots = calloc(size, sizeof(*slots));

		if (slots == NULL)
			return UINT32_MAX;
		for (j = 0; in->mask && j <= in->mask; j++) {
			const char *k;

			if (in->slots[j] == 0)
				continue;
			k = p->t->arena.buf + in->slots[j];
			for (i = fnv(0xcbf29ce484222325ULL, k, strlen(k)) & (size - 1); slots[i];
			    i = (i + 1) & (size - 1))
				;
			slots[i] = in->slots[j];
		}
		free(in->slots);
		in->slots = slots;
		in->mask = size - 1;
	}
	for (i = fnv(0xcbf29ce484222325ULL, s, len) & in->mask; in->slots[i];
	    i = (i + 1) & in->mask)
		if (strcmp(p->t->arena.buf + in->slots[i], s) == 0)
			return in->slots[i];
	if ((off = gn_arena_add(&p->t->arena, s, len)) == UINT32_MAX)
		return UINT32_MAX;
	in->slots[i] = off;
	in->count++;
	return off;
}

/*
 * Split a line into tokens in place. Quotes may appear anywhere in a token
 * (label="a b"); inside them \" and \\ are escapes. '#' starting a token
 * ends the line.
 */
static int
tokenize(struct parser *p, char *s, char **argv, int max)
{
	int argc = 0;
	char *w;

	for (;;) {
		while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
			s++;
		if (*s == '\0' || *s == '#')
			return argc;
		if (argc == max) {
			perr(p, "too many words on one line (limit %d)", max);
			return -1;
		}
		argv[argc++] = w = s;
		/* Most tokens hold no quote: skip to their end without copying. */
		s += strcspn(s, " \t\r\n\"");
		w = s;
		while (*s != '\0' && *s != ' ' && *s != '\t' && *s != '\r' && *s != '\n') {
			if (*s != '"') {
				*w++ = *s++;
				continue;
			}
			for (s++; *s != '"'; s++) {
				if (*s == '\\' && (s[1] == '"' || s[1] == '\\'))
					s++;
				if (*s == '\0') {
					perr(p, "unterminated quoted string");
					return -1;
				}
				*w++ = *s;
			}
			s++;
		}
		if (*s != '\0')
			s++;
		*w = '\0';
	}
}

/*
 * Check a host name and lowercase it in place; returns its length, or 0
 * (leaving it as written, for the message) if it is not one.
 */
static size_t
norm_name(char *s)
{
	size_t len = strlen(s), i, label = 0;
	int numeric = 1;

	if (len > 0 && s[len - 1] == '.')
		len--;
	if (len == 0 || len > 253)
		return 0;
	for (i = 0; i < len; i++) {
		char c = s[i];

		if (c == '.') {
			if (label == 0 || label > 63)
				return 0;
			label = 0;
			numeric = 1;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_'))
			return 0;
		if (c < '0' || c > '9')
			numeric = 0;
		label++;
	}
	/*
	 * A numeric last label (digits, or 0x and hex) makes it an address
	 * attempt, which lookups never treat as a name.
	 */
	if (label == 0 || label > 63 || numeric)
		return 0;
	if (label >= 2 && s[len - label] == '0' && (s[len - label + 1] | 0x20) == 'x' &&
	    strspn(s + len - label + 2, "0123456789abcdefABCDEF") == label - 2)
		return 0;
	for (i = 0; i < len; i++)
		if (s[i] >= 'A' && s[i] <= 'Z')
			s[i] = (char)(s[i] - 'A' + 'a');
	s[len] = '\0';
	return len;
}

#define MAX_PORTS	64

/* A port list: PORT or LO-HI, comma-separated. Returns the count or -1. */
static int
parse_ports(struct parser *p, const char *v, struct gn_port_range *out)
{
	const char *s = v;
	int n = 0;

	for (;;) {
		unsigned long lo, hi;
		char *e;

		if (*s < '0' || *s > '9')
			goto bad;
		lo = hi = strtoul(s, &e, 10);
		if (*e == '-') {
			s = e + 1;
			if (*s < '0' || *s > '9')
				goto bad;
			hi = strtoul(s, &e, 10);
		}
		if (lo < 1 || hi > 65535 || lo > hi || n == MAX_PORTS)
			goto bad;
		out[n].lo = (uint16_t)lo;
		out[n].hi = (uint16_t)hi;
		n++;
		if (*e == '\0')
			return n;
		if (*e != ',')
			goto bad;
		s = e + 1;
	}
bad:
	perr(p, "bad ports '%s' (list of PORT or LO-HI, 1-65535)", v);
	return -1;
}

/*
 * The attribute set of a rule, shared with every rule that has the same one
 * (a list has a handful). ports_text is the interned ports text (0 for none),
 * so that equal port lists share a set too.
 */
static uint32_t
intern_attrs(struct parser *p, const struct gn_attrs *a, uint32_t ports_text,
    const struct gn_port_range *ports)
{
	struct gn_table *t = p->t;
	struct intern *in = &p->sets;
	uint64_t key[2] = { (uint64_t)a->label << 32 | a->points_to,
	    (uint64_t)ports_text << 32 | (uint32_t)a->flags << 16 | a->action << 8 | a->proto };
	size_t i, j;

	if ((in->count + 1) * 2 > in->mask + 1) {
		size_t size = in->mask ? (in->mask + 1) * 2 : 64;
		uint32_t *slots = calloc(size, sizeof(*slots));

		if (slots == NULL)
			return UINT32_MAX;
		for (j = 0; in->mask && j <= in->mask; j++) {
			if (in->slots[j] == 0)
				continue;
			const struct gn_attrs *o = &t->attrs[in->slots[j] - 1];
			uint64_t k[2] = { (uint64_t)o->label << 32 | o->points_to,
			    (uint64_t)p->set_ports[in->slots[j] - 1] << 32 |
			    (uint32_t)o->flags << 16 | o->action << 8 | o->proto };

			for (i = fnv(0xcbf29ce484222325ULL, k, sizeof(k)) & (size - 1); slots[i];
			    i = (i + 1) & (size - 1))
				;
			slots[i] = in->slots[j];
		}
		free(in->slots);
		in->slots = slots;
		in->mask = size - 1;
	}
	for (i = fnv(0xcbf29ce484222325ULL, key, sizeof(key)) & in->mask; in->slots[i];
	    i = (i + 1) & in->mask) {
		const struct gn_attrs *o = &t->attrs[in->slots[i] - 1];

		if (o->label == a->label && o->points_to == a->points_to &&
		    p->set_ports[in->slots[i] - 1] == ports_text && o->flags == a->flags &&
		    o->action == a->action && o->proto == a->proto)
			return in->slots[i] - 1;
	}
	if (t->nattrs % 64 == 0) {
		struct gn_attrs *na = realloc(t->attrs, (t->nattrs + 64) * sizeof(*na));
		uint32_t *np = realloc(p->set_ports, (t->nattrs + 64) * sizeof(*np));

		if (na != NULL)
			t->attrs = na;
		if (np != NULL)
			p->set_ports = np;
		if (na == NULL || np == NULL)
			return UINT32_MAX;
	}
	if (a->nports > 0) {
		struct gn_port_range *r = realloc(t->ports, (t->nports + a->nports) * sizeof(*r));

		if (r == NULL)
			return UINT32_MAX;
		t->ports = r;
		memcpy(t->ports + t->nports, ports, a->nports * sizeof(*ports));
	}
	t->attrs[t->nattrs] = *a;
	t->attrs[t->nattrs].ports = (uint32_t)t->nports;
	t->nports += a->nports;
	p->set_ports[t->nattrs] = ports_text;
	in->slots[i] = (uint32_t)++t->nattrs;
	in->count++;
	return (uint32_t)t->nattrs - 1;
}

#define PUSH(p, arr, n, cap, x) do {						\
	if ((n) == (cap)) {							\
		size_t c_ = (cap) ? (cap) * 2 : 64;				\
		void *a_ = realloc((arr), c_ * sizeof(*(arr)));		\
		if (a_ == NULL) {						\
			(p)->nomem = 1;						\
			return -1;						\
		}								\
		(arr) = a_;							\
		(cap) = c_;							\
	}									\
	(arr)[(n)++] = (x);							\
} while (0)

static int
add_pfx4(struct parser *p, const struct gn_pfx4 *x)
{
	PUSH(p, p->pfx4, p->npfx4, p->cap4, *x);
	return 0;
}

static int
add_pfx6(struct parser *p, const struct gn_pfx6 *x)
{
	PUSH(p, p->pfx6, p->npfx6, p->cap6, *x);
	return 0;
}

static gn_u128
addr_to_u128(const uint8_t a[16])
{
	gn_u128 v = 0;
	int i;

	for (i = 0; i < 16; i++)
		v = v << 8 | a[i];
	return v;
}

/* libcidr 1.2.3 reads a few bytes before a short string: give it room. */
static int
pad(char *buf, size_t size, const char *s)
{
	size_t len = strlen(s);

	if (len + 9 > size)
		return -1;
	memset(buf, ' ', 8);
	memcpy(buf + 8, s, len + 1);
	return 0;
}

/*
 * An address or prefix. We parse it ourselves: libcidr takes 10.1/16,
 * octal and hex, and costs a third of a large list's load time. It names
 * the network when host bits are set, and tells a non-canonical address.
 */
static int
parse_net(struct parser *p, char *pat, struct gn_rule *r, gn_u128 *start, gn_u128 *end)
{
	char *slash = strchr(pat, '/'), *net = NULL;
	int v6 = strchr(pat, ':') != NULL, maxlen = v6 ? 128 : 32, len = maxlen, rc = -1;
	size_t alen = slash ? (size_t)(slash - pat) : strlen(pat);
	CIDR *c = NULL, *n = NULL;
	char padded[8 + 64 + 1];
	uint8_t a6[16];
	uint32_t a4;
	gn_u128 v, host;

	r->kind = v6 ? GN_KIND_NET6 : GN_KIND_NET4;
	if (slash != NULL) {
		char *e;
		long l;

		if (slash[1] < '0' || slash[1] > '9' || (slash[1] == '0' && slash[2] != '\0')) {
			perr(p, "invalid prefix length in '%s'", pat);
			return -1;
		}
		l = strtol(slash + 1, &e, 10);
		if (*e != '\0' || l > maxlen) {
			perr(p, "invalid prefix length in '%s'", pat);
			return -1;
		}
		len = (int)l;
	}
	if (v6 ? gn_addr_parse6(pat, alen, a6) == -1 : gn_addr_parse4(pat, alen, &a4) == -1) {
		/* Something inet_aton() would take is worth a sharper message. */
		if (!v6 && pad(padded, sizeof(padded), pat) == 0 &&
		    (c = cidr_from_str(padded + 8)) != NULL && cidr_get_proto(c) == CIDR_IPV4 &&
		    memchr(pat, '.', alen) != NULL)
			perr(p, "non-canonical IPv4 address '%.*s'", (int)alen, pat);
		else
			perr(p, "invalid address '%.*s'", (int)alen, pat);
		goto end;
	}
	if (v6 && len >= 96 && memcmp(a6, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0) {
		/* Lookups read ::ffff:a.b.c.d as a.b.c.d: so must the rule. */
		v6 = 0;
		maxlen = 32;
		len -= 96;
		r->kind = GN_KIND_NET4;
		a4 = (uint32_t)a6[12] << 24 | (uint32_t)a6[13] << 16 | (uint32_t)a6[14] << 8 | a6[15];
	}
	v = v6 ? addr_to_u128(a6) : a4;
	host = len == maxlen ? 0 : len == 0 ? ~(gn_u128)0 >> (128 - maxlen) :
	    ((gn_u128)1 << (maxlen - len)) - 1;
	if (v & host) {
		if (pad(padded, sizeof(padded), pat) == -1 || (c = cidr_from_str(padded + 8)) == NULL ||
		    (n = cidr_addr_network(c)) == NULL || (net = cidr_to_str(n, CIDR_NOFLAGS)) == NULL)
			p->nomem = 1;
		perr(p, "'%s' has host bits set (did you mean %s?)", pat, net ? net : "?");
		goto end;
	}
	if (!v6)
		r->pattern = a4;
	r->prefixlen = (uint8_t)len;
	*start = v;
	*end = v | host;
	rc = 0;
end:
	free(net);
	cidr_free(c);
	cidr_free(n);
	return rc;
}

static void
add_regex(struct parser *p, const char *pat, int except, int32_t id)
{
	struct gn_table *t = p->t;
	struct gn_regex **list = except ? &t->xregex : &t->regex;
	size_t *n = except ? &t->nxregex : &t->nregex;
	PCRE2_UCHAR emsg[120];
	PCRE2_SIZE eoff;
	pcre2_code *code;
	int ecode;

	/* Whole-name match: a bypass pattern must never match by accident inside a name. */
	code = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED,
	    PCRE2_ANCHORED | PCRE2_ENDANCHORED | PCRE2_CASELESS | PCRE2_NEVER_UTF, &ecode, &eoff, NULL);
	if (code == NULL) {
		pcre2_get_error_message(ecode, emsg, sizeof(emsg));
		perr(p, "regex '%s': %s at offset %zu", pat, (char *)emsg, (size_t)eoff);
		return;
	}
	(void)pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);	/* the interpreter is the fallback */
	if (*n % 8 == 0) {
		struct gn_regex *l = realloc(*list, (*n + 8) * sizeof(*l));

		if (l == NULL) {
			pcre2_code_free(code);
			p->nomem = 1;
			return;
		}
		*list = l;
	}
	(*list)[*n].code = code;
	(*list)[*n].rule = id;
	(*n)++;
}

struct attrs {
	const char	*label, *points_to, *ports;
	int		 critical, action, proto;
};

static int
parse_attrs(struct parser *p, int except, int argc, char **argv, struct attrs *a)
{
	static const char *const known[] = {
		"label", "critical", "action", "proto", "ports", "points-to", NULL
	};
	const char *seen[8] = { 0 };
	int i, k, bad = 0;

	memset(a, 0, sizeof(*a));
	a->critical = 1;
	a->action = GN_ACTION_BOTH;
	a->proto = -1;
	for (i = 0; i < argc; i++) {
		char *v = strchr(argv[i], '=');

		if (v == NULL) {
			perr(p, "expected attribute=value, got '%s'", argv[i]);
			bad = 1;
			continue;
		}
		*v++ = '\0';
		for (k = 0; known[k] && (known[k][0] != argv[i][0] || strcmp(known[k], argv[i]) != 0); k++)
			;
		if (known[k] == NULL) {
			perr(p, "unknown attribute '%s'", argv[i]);
			bad = 1;
			continue;
		}
		if (seen[k]) {
			perr(p, "duplicate attribute '%s'", argv[i]);
			bad = 1;
			continue;
		}
		seen[k] = v;
		if (except && k != 0) {
			perr(p, "only label is allowed on an exception, not '%s'", argv[i]);
			bad = 1;
			continue;
		}
		switch (k) {
		case 0:
			a->label = v;
			break;
		case 1:
			if (strcmp(v, "yes") == 0)
				a->critical = 1;
			else if (strcmp(v, "no") == 0)
				a->critical = 0;
			else {
				perr(p, "bad value '%s' for critical (yes or no)", v);
				bad = 1;
			}
			break;
		case 2:
			if (strcmp(v, "splice") == 0)
				a->action = GN_ACTION_SPLICE;
			else if (strcmp(v, "direct") == 0)
				a->action = GN_ACTION_DIRECT;
			else if (strcmp(v, "both") == 0)
				a->action = GN_ACTION_BOTH;
			else {
				perr(p, "bad action '%s' (splice, direct or both)", v);
				bad = 1;
			}
			break;
		case 3:
			if (strcmp(v, "tcp") == 0)
				a->proto = GN_PROTO_TCP;
			else if (strcmp(v, "udp") == 0)
				a->proto = GN_PROTO_UDP;
			else if (strcmp(v, "tcp,udp") == 0 || strcmp(v, "udp,tcp") == 0)
				a->proto = GN_PROTO_TCP | GN_PROTO_UDP;
			else {
				perr(p, "bad proto '%s' (tcp, udp or tcp,udp)", v);
				bad = 1;
			}
			break;
		case 4:
			a->ports = v;
			break;
		case 5:
			a->points_to = v;
			break;
		}
	}
	if (!except && a->label == NULL && !bad) {
		perr(p, "missing label");
		bad = 1;
	}
	return bad ? -1 : 0;
}

/* An address attempt: what a lookup would read as one, canonical or not. */
static int
looks_like_addr(const char *pat)
{
	const char *last = strrchr(pat, '.');

	if (strchr(pat, ':') != NULL || strchr(pat, '/') != NULL)
		return 1;
	last = last ? last + 1 : pat;
	if (last[0] == '0' && (last[1] == 'x' || last[1] == 'X'))
		return 1;
	return last[0] != '\0' && strspn(last, "0123456789") == strlen(last);
}

static void
parse_rule(struct parser *p, int argc, char **argv)
{
	struct gn_table *t = p->t;
	struct gn_port_range ports[MAX_PORTS];
	struct gn_attrs set;
	struct gn_rule r;
	struct attrs a;
	gn_u128 start = 0, end = 0;
	uint32_t ports_text = 0;
	char *pat;
	int except = 0, bad = 0, nports = 0;
	int32_t id = (int32_t)t->nrules, vc;

	if (strcmp(argv[0], "except") == 0) {
		except = 1;
		argc--, argv++;
		if (argc == 0) {
			perr(p, "missing pattern");
			return;
		}
	}
	pat = argv[0];
	if (strchr(pat, '=') != NULL) {
		perr(p, "missing pattern");
		return;
	}
	memset(&r, 0, sizeof(r));
	memset(&set, 0, sizeof(set));
	r.line = p->line;
	r.file = p->fileidx;
	if (parse_attrs(p, except, argc - 1, argv + 1, &a) == -1)
		bad = 1;

	if (pat[0] == '~') {
		r.kind = GN_KIND_REGEX;
		if (pat[1] == '\0') {
			perr(p, "empty regex");
			bad = 1;
		}
	} else if (strchr(pat, '*') != NULL) {
		r.kind = GN_KIND_DOMAIN;
		if (pat[0] != '*' || pat[1] != '.' || norm_name(pat + 2) == 0) {
			perr(p, "invalid wildcard '%s' (write *.example.com)", pat);
			bad = 1;
		}
	} else if (looks_like_addr(pat)) {
		if (parse_net(p, pat, &r, &start, &end) == -1)
			bad = 1;
	} else {
		r.kind = GN_KIND_HOST;
		if (norm_name(pat) == 0) {
			perr(p, "invalid host name '%s'", pat);
			bad = 1;
		}
	}
	if (a.proto != -1 && r.kind != GN_KIND_NET4 && r.kind != GN_KIND_NET6) {
		perr(p, "proto applies to address rules only");
		bad = 1;
	}
	if (a.ports != NULL && (nports = parse_ports(p, a.ports, ports)) == -1)
		bad = 1;
	if (bad)
		return;
	if (t->nrules >= GN_VC_EXCEPT) {
		perr(p, "too many rules");
		return;
	}

	set.flags = (uint8_t)((except ? GN_RULE_EXCEPT : 0) | (a.critical && !except ? GN_RULE_CRITICAL : 0));
	set.action = (uint8_t)(except ? 0 : a.action);
	if (r.kind == GN_KIND_NET4 || r.kind == GN_KIND_NET6)
		set.proto = (uint8_t)(a.proto == -1 ? (GN_PROTO_TCP | GN_PROTO_UDP) : a.proto);
	set.nports = (uint8_t)nports;
	if ((set.label = intern(p, a.label ? a.label : "")) == UINT32_MAX ||
	    (a.points_to && (set.points_to = intern(p, a.points_to)) == UINT32_MAX) ||
	    (a.ports && (ports_text = intern(p, a.ports)) == UINT32_MAX) ||
	    (r.attrs = intern_attrs(p, &set, ports_text, ports)) == UINT32_MAX) {
		p->nomem = 1;
		return;
	}
	if (r.kind != GN_KIND_NET4) {
		char buf[INET6_ADDRSTRLEN + 8];
		const char *text = pat;

		if (r.kind == GN_KIND_NET6) {
			uint8_t a6[16];
			char s6[INET6_ADDRSTRLEN];
			gn_u128 v = start;
			int i;

			for (i = 15; i >= 0; i--, v >>= 8)
				a6[i] = (uint8_t)v;
			inet_ntop(AF_INET6, a6, s6, sizeof(s6));
			snprintf(buf, sizeof(buf), "%s/%u", s6, r.prefixlen);
			text = buf;
		}
		if ((r.pattern = gn_arena_add(&t->arena, text, strlen(text))) == UINT32_MAX) {
			p->nomem = 1;
			return;
		}
	}
	vc = id | (except ? GN_VC_EXCEPT : 0);
	if (r.kind == GN_KIND_REGEX) {
		size_t nbefore = p->nerr;

		add_regex(p, t->arena.buf + r.pattern + 1, except, id);
		if (p->nerr != nbefore)
			return;
	}
	if (r.kind == GN_KIND_NET4) {
		struct gn_pfx4 x = { (uint32_t)start, (uint32_t)end, vc, r.prefixlen, set.proto };

		if (add_pfx4(p, &x) == -1)
			return;
	}
	if (r.kind == GN_KIND_NET6) {
		struct gn_pfx6 x;

		memset(&x, 0, sizeof(x));
		x.start = start;
		x.end = end;
		x.vc = vc;
		x.len = r.prefixlen;
		x.proto = set.proto;
		if (add_pfx6(p, &x) == -1)
			return;
	}
	if (t->nrules % 1024 == 0) {
		struct gn_rule *n = realloc(t->rules, (t->nrules + 1024) * sizeof(*n));

		if (n == NULL) {
			p->nomem = 1;
			return;
		}
		t->rules = n;
	}
	t->rules[t->nrules++] = r;
}

static void
parse_include(struct parser *p, const char *path)
{
	char *full = NULL, *dir = NULL, *real = NULL;
	const char *saved_file = p->file;
	unsigned saved_line = p->line;
	uint16_t saved_idx = p->fileidx;
	FILE *f = NULL;
	int i;

	if (path[0] != '/') {
		if ((dir = strdup(p->file)) == NULL ||
		    asprintf(&full, "%s/%s", dirname(dir), path) == -1) {
			full = NULL;
			p->nomem = 1;
			goto end;
		}
		path = full;
	}
	if (p->depth == MAX_DEPTH) {
		perr(p, "includes nested too deep (limit %d)", MAX_DEPTH);
		goto end;
	}
	if ((f = fopen(path, "r")) == NULL) {
		perr(p, "cannot open '%s': %s", path, strerror(errno));
		goto end;
	}
	if ((real = realpath(path, NULL)) != NULL) {
		for (i = 0; i <= p->depth; i++)
			if (p->open[i] != NULL && strcmp(p->open[i], real) == 0) {
				perr(p, "include loop: '%s'", path);
				goto end;
			}
	}
	if (p->t->nfiles == UINT16_MAX) {
		perr(p, "too many files");
		goto end;
	}
	{
		char **files = realloc(p->t->files, (p->t->nfiles + 1) * sizeof(*files));

		if (files == NULL || (files[p->t->nfiles] = strdup(path)) == NULL) {
			if (files)
				p->t->files = files;
			p->nomem = 1;
			goto end;
		}
		p->t->files = files;
		p->fileidx = (uint16_t)p->t->nfiles++;
	}
	p->file = p->t->files[p->fileidx];
	p->open[++p->depth] = real;
	real = NULL;
	parse_stream(p, f, 1);
	free(p->open[p->depth]);
	p->open[p->depth--] = NULL;
end:
	p->file = saved_file;
	p->line = saved_line;
	p->fileidx = saved_idx;
	if (f)
		fclose(f);
	free(real);
	free(full);
	free(dir);
}

static void
parse_line(struct parser *p, char *line)
{
	char *argv[MAX_TOKENS];
	int argc;

	if ((argc = tokenize(p, line, argv, MAX_TOKENS)) <= 0)
		return;
	if (strcmp(argv[0], "version") == 0) {
		size_t n = 0;
		int i;
		char *v;

		if (argc < 2) {
			perr(p, "version needs a value");
			return;
		}
		if (p->version_at != NULL) {
			perr(p, "version given twice (first at %s)", p->version_at);
			return;
		}
		for (i = 1; i < argc; i++)
			n += strlen(argv[i]) + 1;
		if ((v = malloc(n)) == NULL || asprintf(&p->version_at, "%s:%u", p->file, p->line) == -1) {
			free(v);
			p->version_at = NULL;
			p->nomem = 1;
			return;
		}
		for (v[0] = '\0', i = 1; i < argc; i++) {
			strcat(v, argv[i]);
			if (i + 1 < argc)
				strcat(v, " ");
		}
		p->t->version = v;
		return;
	}
	if (strcmp(argv[0], "include") == 0) {
		if (argc != 2) {
			perr(p, argc < 2 ? "include needs a path" : "include takes one path");
			return;
		}
		parse_include(p, argv[1]);
		return;
	}
	parse_rule(p, argc, argv);
}

/*
 * file says the stream is a file on disk: there a last line without its
 * newline is most likely a write cut short (an editor saving, a copy in
 * progress), and a cut line can still parse, as an exception that lost its
 * tail. Refusing it keeps the rules in force.
 */
static void
parse_stream(struct parser *p, FILE *f, int file)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	for (p->line = 1; (n = getline(&line, &cap, f)) != -1; p->line++) {
		if (strlen(line) != (size_t)n) {
			perr(p, "NUL byte in line");
			continue;
		}
		if (file && n > 0 && line[n - 1] != '\n') {
			perr(p, "last line has no newline (file cut short?)");
			continue;
		}
		parse_line(p, line);
	}
	if (ferror(f))
		perr(p, "read error: %s", strerror(errno));
	free(line);
}

static struct gn_table *
load(const char *name, FILE *f, int file, struct gn_diag *diag)
{
	struct parser p;
	struct gn_table *t;
	int ok = 0;

	memset(&p, 0, sizeof(p));
	if ((t = gn_table_new()) == NULL)
		goto end;
	p.t = t;
	p.diag = diag;
	if ((t->files = malloc(sizeof(*t->files))) == NULL || (t->files[0] = strdup(name)) == NULL)
		goto end;
	t->nfiles = 1;
	p.file = t->files[0];
	p.open[0] = realpath(name, NULL);
	parse_stream(&p, f, file);
	if (p.nomem || p.nerr > 0)
		goto end;
	if (gn_table_finish(t, &p.pfx4, p.npfx4, &p.pfx6, p.npfx6, diag) == -1)
		goto end;
	ok = 1;
end:
	if (p.nomem)
		gn_diag_add(diag, 0, "%s: out of memory", name);
	free(p.open[0]);
	free(p.version_at);
	free(p.strs.slots);
	free(p.pfx4);
	free(p.pfx6);
	free(p.sets.slots);
	free(p.set_ports);
	if (!ok) {
		gn_table_free(t);
		t = NULL;
	}
	return t;
}

struct gn_table *
gn_table_load(const char *path, struct gn_diag *diag)
{
	struct gn_table *t;
	FILE *f;

	if ((f = fopen(path, "r")) == NULL) {
		gn_diag_add(diag, 0, "%s: cannot open: %s", path, strerror(errno));
		return NULL;
	}
	t = load(path, f, 1, diag);
	fclose(f);
	return t;
}

struct gn_table *
gn_table_load_buffer(const char *name, const char *buf, size_t len, struct gn_diag *diag)
{
	struct gn_table *t;
	FILE *f;

	if (len == 0)
		buf = "\n", len = 1;	/* fmemopen refuses a zero size */
	if ((f = fmemopen((void *)(uintptr_t)buf, len, "r")) == NULL) {
		gn_diag_add(diag, 0, "%s: %s", name, strerror(errno));
		return NULL;
	}
	t = load(name, f, 0, diag);
	fclose(f);
	return t;
}
