/* SPDX-License-Identifier: BSD-2-Clause */
/* Shared helpers of the libgotonet unit tests: the .eval runner, the bad-rules checker, paths. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit_common.h"

#ifndef TOP_SRCDIR
#define TOP_SRCDIR "."
#endif

#define MAX_TOKENS	32

/* Set by unit_set_quiet(): the runner's self-test fails on purpose. */
static int quiet;
#define MAX_REPEAT	100000

/* One token of an .eval line, escapes decoded: it may hold NUL bytes. */
struct tok {
	char	*s;		/* NUL-terminated copy, for tokens without NULs */
	size_t	 len;
};

/* What a case line expects. */
struct expect {
	enum gn_match	 match;
	int		 target;	/* enum gn_target, or -1 when not checked */
	int		 has_rule;
	const char	*file;		/* NULL: the @rules file itself */
	unsigned	 line;
};

/* The state of one .eval file while it runs. */
struct evalrun {
	const char	*name;		/* as given, for messages */
	unsigned	 lineno;
	struct gn_table	*t;
	char		*rules;		/* full path of the loaded rules file */
	size_t		 rulesdir;	/* length of its directory prefix, with the '/' */
	unsigned	 protos;
	unsigned	*hits;		/* per rule id of the last table: cases it decided */
	size_t		 nhits;
};

void
unit_set_quiet(int q)
{
	quiet = q;
}

static void __attribute__((format(printf, 1, 2)))
report(const char *fmt, ...)
{
	va_list ap;

	if (quiet)
		return;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
}

char *
unit_path(const char *rel)
{
	const char *top = getenv("top_srcdir");
	char *p;

	if (rel[0] == '/')
		return strdup(rel);
	if (top == NULL || *top == '\0')
		top = TOP_SRCDIR;
	if (asprintf(&p, "%s/%s", top, rel) == -1)
		return NULL;
	return p;
}

struct gn_table *
unit_load_string(const char *name, const char *text, struct gn_diag *d)
{
	return gn_table_load_buffer(name, text, strlen(text), d);
}

struct gn_verdict
unit_lookup(const struct gn_table *t, const char *target, unsigned proto)
{
	return gn_table_lookup(t, target, strlen(target), proto);
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int
tok_put(struct tok *t, size_t *cap, char c)
{
	if (t->len + 2 > *cap) {
		size_t ncap = *cap ? *cap * 2 : 64;
		char *n = realloc(t->s, ncap);

		if (n == NULL)
			return -1;
		t->s = n;
		*cap = ncap;
	}
	t->s[t->len++] = c;
	t->s[t->len] = '\0';
	return 0;
}

static void
toks_free(struct tok *tv, int n)
{
	int i;

	for (i = 0; i < n; i++)
		free(tv[i].s);
}

/*
 * Split an .eval line into tokens. Double quotes group (and are removed);
 * escapes: \\ \" \xHH, and \{N} which repeats the previous byte so that it
 * appears N times in a row. A token that starts with '#' starts a comment.
 */
static int
tokenize(const char *p, struct tok *tv, int max, const char **err)
{
	int n = 0;

	for (;;) {
		struct tok *t;
		size_t cap = 0;
		int inq = 0;

		while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
			p++;
		if (*p == '\0' || *p == '#')
			return n;
		if (n == max) {
			*err = "too many tokens";
			goto fail;
		}
		t = &tv[n++];
		t->len = 0;
		if ((t->s = malloc(cap = 64)) == NULL) {
			n--;
			goto nomem;
		}
		t->s[0] = '\0';
		while (*p != '\0' && (inq || (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r'))) {
			char c = *p++;

			if (c == '"') {
				inq = !inq;
				continue;
			}
			if (c == '\\') {
				int h, l;

				c = *p++;
				if (c == '\\' || c == '"') {
					/* the byte itself */
				} else if (c == 'x' && (h = hexval(p[0])) >= 0 && (l = hexval(p[1])) >= 0) {
					c = (char)(h << 4 | l);
					p += 2;
				} else if (c == '{' && t->len > 0) {
					char *e;
					unsigned long k = strtoul(p, &e, 10);

					if (e == p || *e != '}' || k < 1 || k > MAX_REPEAT) {
						*err = "bad \\{N} repeat";
						goto fail;
					}
					p = e + 1;
					c = t->s[t->len - 1];
					while (--k > 0)
						if (tok_put(t, &cap, c) == -1)
							goto nomem;
					continue;
				} else {
					*err = "bad escape (\\\\, \\\", \\xHH or \\{N})";
					goto fail;
				}
			}
			if (tok_put(t, &cap, c) == -1)
				goto nomem;
		}
		if (inq) {
			*err = "unterminated quote";
			goto fail;
		}
	}
nomem:
	*err = "out of memory";
fail:
	toks_free(tv, n);
	return -1;
}

/* Printable form of a target for messages. */
static void
show(char *out, size_t outlen, const char *s, size_t len)
{
	size_t i, o = 0;

	for (i = 0; i < len && o + 8 < outlen; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x21 && c < 0x7f && c != '\\' && c != '\'')
			out[o++] = (char)c;
		else
			o += (size_t)snprintf(out + o, outlen - o, "\\x%02x", c);
		if (i == 60 && len > 64) {
			o += (size_t)snprintf(out + o, outlen - o, "...(%zu bytes)", len);
			break;
		}
	}
	out[o] = '\0';
}

static int
parse_match(const char *s, enum gn_match *m, int *target)
{
	static const char *const targets[] = { "name", "ipv4", "ipv6", "invalid" };
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	int i;

	if (n == 6 && strncmp(s, "listed", n) == 0)
		*m = GN_MATCH_LISTED;
	else if (n == 10 && strncmp(s, "not-listed", n) == 0)
		*m = GN_MATCH_NONE;
	else if (n == 8 && strncmp(s, "excepted", n) == 0)
		*m = GN_MATCH_EXCEPTED;
	else
		return -1;
	*target = -1;
	if (slash == NULL)
		return 0;
	for (i = 0; i < 4; i++)
		if (strcmp(slash + 1, targets[i]) == 0)
			*target = i;
	return *target == -1 ? -1 : 0;
}

/* "40" or "inc/sub.inc:3" or "-". */
static int
parse_rule(const char *s, struct expect *e)
{
	const char *colon = strrchr(s, ':'), *num = colon ? colon + 1 : s;
	char *end;
	unsigned long l;

	e->has_rule = 0;
	e->file = NULL;
	if (strcmp(s, "-") == 0)
		return 0;
	if (*num < '1' || *num > '9')
		return -1;
	l = strtoul(num, &end, 10);
	if (*end != '\0' || l > 1000000)
		return -1;
	e->has_rule = 1;
	e->line = (unsigned)l;
	if (colon != NULL) {
		if (colon == s)
			return -1;
		e->file = s;	/* compared up to the colon */
	}
	return 0;
}

/* Where a rule comes from, as the .eval file writes it. */
static void
rule_where(char *out, size_t len, const struct evalrun *r, const struct gn_rule_info *ri)
{
	if (strcmp(ri->file, r->rules) == 0)
		snprintf(out, len, "%u", ri->line);
	else if (strncmp(ri->file, r->rules, r->rulesdir) == 0)
		snprintf(out, len, "%s:%u", ri->file + r->rulesdir, ri->line);
	else
		snprintf(out, len, "%s:%u", ri->file, ri->line);
}

static int
where_matches(const struct evalrun *r, const struct expect *e, const struct gn_rule_info *ri)
{
	size_t flen, ilen;

	if (ri->line != e->line)
		return 0;
	if (e->file == NULL)
		return strcmp(ri->file, r->rules) == 0;
	/* The file is named by its path below the @rules file's directory. */
	flen = (size_t)(strrchr(e->file, ':') - e->file);
	ilen = strlen(ri->file);
	return ilen == r->rulesdir + flen && strncmp(ri->file, r->rules, r->rulesdir) == 0 &&
	    strncmp(ri->file + r->rulesdir, e->file, flen) == 0;
}

static void
ports_text(char *out, size_t len, const struct gn_rule_info *ri)
{
	size_t i, o = 0;

	if (ri->nports == 0) {
		snprintf(out, len, "-");
		return;
	}
	out[0] = '\0';
	for (i = 0; i < ri->nports && o + 14 < len; i++) {
		if (ri->ports[i].lo == ri->ports[i].hi)
			o += (size_t)snprintf(out + o, len - o, "%s%u", i ? "," : "", ri->ports[i].lo);
		else
			o += (size_t)snprintf(out + o, len - o, "%s%u-%u", i ? "," : "",
			    ri->ports[i].lo, ri->ports[i].hi);
	}
}

/* port-ok=N,N or port-no=N,N: the deciding rule allows (refuses) each port. */
static int
check_ports(const struct gn_table *t, int32_t id, const char *list, int want, char *why,
    size_t whylen)
{
	const char *p = list;

	for (;;) {
		char *e;
		unsigned long port = strtoul(p, &e, 10);

		if (e == p || (*e != ',' && *e != '\0'))
			return -1;
		if ((gn_table_rule_port_ok(t, id, (unsigned)port) != 0) != want) {
			snprintf(why, whylen, "port %lu: expected %s got %s", port,
			    want ? "allowed" : "refused", want ? "refused" : "allowed");
			return 1;
		}
		if (*e == '\0')
			return 0;
		p = e + 1;
	}
}

/* One name=value check against the deciding rule: 0 ok, 1 mismatch, -1 unknown. */
static int
check_field(const struct gn_table *t, const struct gn_rule_info *ri, const char *name,
    const char *want, char *why, size_t whylen)
{
	char buf[256];
	const char *got;

	if (strcmp(name, "port-ok") == 0 || strcmp(name, "port-no") == 0)
		return check_ports(t, ri->id, want, name[5] == 'o', why, whylen);
	if (strcmp(name, "label") == 0)
		got = ri->label;
	else if (strcmp(name, "pattern") == 0)
		got = ri->pattern;
	else if (strcmp(name, "points-to") == 0)
		got = ri->points_to ? ri->points_to : "-";
	else if (strcmp(name, "kind") == 0)
		got = gn_kind_name(ri->kind);
	else if (strcmp(name, "critical") == 0)
		got = (ri->flags & GN_RULE_CRITICAL) ? "yes" : "no";
	else if (strcmp(name, "action") == 0)
		got = ri->action == 0 ? "none" : gn_action_name(ri->action);
	else if (strcmp(name, "proto") == 0)
		got = ri->proto ? gn_proto_name(ri->proto) : "-";
	else if (strcmp(name, "ports") == 0) {
		ports_text(buf, sizeof(buf), ri);
		got = buf;
	} else
		return -1;
	if (strcmp(got, want) == 0)
		return 0;
	snprintf(why, whylen, "%s: expected '%s' got '%s'", name, want, got);
	return 1;
}

static void
verdict_text(char *out, size_t len, const struct evalrun *r, struct gn_verdict v)
{
	struct gn_rule_info ri;
	char where[512];

	if (v.rule == GN_NONE)
		snprintf(where, sizeof(where), "-");
	else if (gn_table_rule_info(r->t, v.rule, &ri) == -1)
		snprintf(where, sizeof(where), "bad-rule-id-%d", (int)v.rule);
	else
		rule_where(where, sizeof(where), r, &ri);
	snprintf(out, len, "%s/%s %s", gn_match_name(v.match), gn_target_name(v.target), where);
}

static int
run_case(struct evalrun *r, struct tok *tv, int n)
{
	static const unsigned protos[] = { GN_PROTO_TCP, GN_PROTO_UDP };
	struct expect e = { GN_MATCH_NONE, -1, 0, NULL, 0 };
	unsigned want = r->protos;
	int first = 3, i, k, failed = 0;
	char shown[600];

	if (n < 3 || parse_match(tv[0].s, &e.match, &e.target) == -1 ||
	    parse_rule(tv[2].s, &e) == -1 || (e.match == GN_MATCH_NONE) == e.has_rule) {
		report("FAIL %s:%u: syntax: want VERDICT[/KIND] INPUT RULE [PROTO] [FIELD=VALUE...]\n",
		    r->name, r->lineno);
		return 1;
	}
	if (n > 3 && strchr(tv[3].s, '=') == NULL) {
		if (strcmp(tv[3].s, "tcp") == 0)
			want = GN_PROTO_TCP;
		else if (strcmp(tv[3].s, "udp") == 0)
			want = GN_PROTO_UDP;
		else if (strcmp(tv[3].s, "any") == 0)
			want = GN_PROTO_TCP | GN_PROTO_UDP;
		else {
			report("FAIL %s:%u: syntax: bad protocol '%s'\n", r->name, r->lineno, tv[3].s);
			return 1;
		}
		first = 4;
	}
	for (i = first; i < n; i++)
		if (strchr(tv[i].s, '=') == NULL || !e.has_rule) {
			report("FAIL %s:%u: syntax: '%s' (fields need a deciding rule)\n",
			    r->name, r->lineno, tv[i].s);
			return 1;
		}
	if (r->t == NULL) {
		report("FAIL %s:%u: no rules loaded\n", r->name, r->lineno);
		return 1;
	}
	show(shown, sizeof(shown), tv[1].s, tv[1].len);
	for (k = 0; k < 2; k++) {
		struct gn_verdict v;
		struct gn_rule_info ri;
		const char *pname = k ? "udp" : "tcp";
		char got[600], why[600];
		int ok;

		if (!(want & protos[k]))
			continue;
		v = gn_table_lookup(r->t, tv[1].s, tv[1].len, protos[k]);
		/* Invariants first: they hold whatever the file says. */
		if ((v.match == GN_MATCH_NONE) != (v.rule == GN_NONE) ||
		    (v.target == GN_TARGET_INVALID && v.match != GN_MATCH_NONE)) {
			verdict_text(got, sizeof(got), r, v);
			report("FAIL %s:%u: inconsistent verdict %s for '%s' (%s)\n",
			    r->name, r->lineno, got, shown, pname);
			failed = 1;
			continue;
		}
		ok = v.match == e.match && (e.target == -1 || (int)v.target == e.target);
		if (ok && e.has_rule)
			ok = gn_table_rule_info(r->t, v.rule, &ri) == 0 && where_matches(r, &e, &ri);
		if (ok && e.has_rule && r->hits != NULL && (size_t)v.rule < r->nhits)
			r->hits[v.rule]++;
		if (!ok) {
			verdict_text(got, sizeof(got), r, v);
			report("FAIL %s:%u: expected %s%s%s %s got %s ('%s', %s)\n", r->name, r->lineno,
			    gn_match_name(e.match), e.target == -1 ? "" : "/",
			    e.target == -1 ? "" : gn_target_name((enum gn_target)e.target),
			    tv[2].s, got, shown, pname);
			failed = 1;
			continue;
		}
		for (i = first; i < n; i++) {
			char *eq = strchr(tv[i].s, '=');
			int rc;

			*eq = '\0';
			rc = check_field(r->t, &ri, tv[i].s, eq + 1, why, sizeof(why));
			*eq = '=';
			if (rc == -1) {
				report("FAIL %s:%u: syntax: unknown field '%s'\n", r->name, r->lineno, tv[i].s);
				return 1;
			}
			if (rc == 1) {
				report("FAIL %s:%u: %s ('%s', %s)\n", r->name, r->lineno, why, shown, pname);
				failed = 1;
			}
		}
	}
	return failed;
}

static int
load_rules(struct evalrun *r, const char *rel)
{
	struct gn_diag d;
	const char *slash;
	size_t i;

	gn_table_free(r->t);
	r->t = NULL;
	free(r->rules);
	if ((r->rules = unit_path(rel)) == NULL)
		return 1;
	slash = strrchr(r->rules, '/');
	r->rulesdir = slash ? (size_t)(slash - r->rules) + 1 : 0;
	gn_diag_init(&d);
	r->t = gn_table_load(r->rules, &d);
	if (r->t == NULL || d.nmsgs > 0) {
		report("FAIL %s:%u: %s: %s\n", r->name, r->lineno, rel,
		    r->t ? "messages on a good load" : "rules not loaded");
		for (i = 0; i < d.nmsgs; i++)
			report("    %s\n", d.msgs[i]);
	}
	i = d.nmsgs;
	gn_diag_free(&d);
	return r->t == NULL || i > 0;
}

int
unit_eval(const char *rel, int *ncases)
{
	return unit_eval_cover(rel, ncases, NULL, 0);
}

int
unit_eval_cover(const char *rel, int *ncases, unsigned *hits, size_t nhits)
{
	struct evalrun r;
	char *path, *line = NULL;
	size_t cap = 0;
	FILE *f;
	int fails = 0;

	*ncases = 0;
	memset(&r, 0, sizeof(r));
	r.name = rel;
	r.protos = GN_PROTO_TCP | GN_PROTO_UDP;
	r.hits = hits;
	r.nhits = nhits;
	if ((path = unit_path(rel)) == NULL || (f = fopen(path, "r")) == NULL) {
		report("FAIL %s: cannot open: %s\n", rel, strerror(errno));
		free(path);
		return 1;
	}
	while (getline(&line, &cap, f) != -1) {
		struct tok tv[MAX_TOKENS];
		const char *err = NULL;
		int n;

		r.lineno++;
		if ((n = tokenize(line, tv, MAX_TOKENS, &err)) == -1) {
			report("FAIL %s:%u: syntax: %s\n", rel, r.lineno, err);
			fails++;
			continue;
		}
		if (n == 0)
			continue;
		if (tv[0].s[0] != '@') {
			(*ncases)++;
			fails += run_case(&r, tv, n);
		} else if (strcmp(tv[0].s, "@rules") == 0 && n == 2) {
			fails += load_rules(&r, tv[1].s);
		} else if (strcmp(tv[0].s, "@proto") == 0 && n == 2 &&
		    (strcmp(tv[1].s, "tcp") == 0 || strcmp(tv[1].s, "udp") == 0 ||
		    strcmp(tv[1].s, "any") == 0)) {
			r.protos = tv[1].s[0] == 't' ? GN_PROTO_TCP :
			    tv[1].s[0] == 'u' ? GN_PROTO_UDP : GN_PROTO_TCP | GN_PROTO_UDP;
		} else {
			report("FAIL %s:%u: syntax: unknown directive '%s'\n", rel, r.lineno, tv[0].s);
			fails++;
		}
		toks_free(tv, n);
	}
	report("%s: %d cases, %d failed\n", rel, *ncases, fails);
	fflush(stdout);
	fclose(f);
	free(line);
	free(path);
	free(r.rules);
	gn_table_free(r.t);
	return fails;
}

/* Replace every occurrence of prefix in s (the test's own paths) with nothing. */
static char *
strip_prefix(const char *s, const char *prefix)
{
	size_t plen = strlen(prefix);
	char *out = malloc(strlen(s) + 1), *o = out;

	if (out == NULL)
		return NULL;
	while (*s != '\0') {
		if (plen > 0 && strncmp(s, prefix, plen) == 0) {
			s += plen;
			continue;
		}
		*o++ = *s++;
	}
	*o = '\0';
	return out;
}

static int
is_rules(const struct dirent *d)
{
	size_t n = strlen(d->d_name);

	return n > 6 && strcmp(d->d_name + n - 6, ".rules") == 0;
}

/* The "# expect: " lines of a file, in order. */
static size_t
read_expects(const char *path, char ***out)
{
	static const char tag[] = "# expect: ";
	char *line = NULL, **v = NULL, **nv;
	size_t cap = 0, n = 0;
	ssize_t len;
	FILE *f;

	*out = NULL;
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	while ((len = getline(&line, &cap, f)) != -1) {
		if (strncmp(line, tag, sizeof(tag) - 1) != 0)
			continue;
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if ((nv = realloc(v, (n + 1) * sizeof(*v))) == NULL)
			break;
		v = nv;
		if ((v[n] = strdup(line + sizeof(tag) - 1)) == NULL)
			break;
		n++;
	}
	free(line);
	fclose(f);
	*out = v;
	return n;
}

static int
check_bad_file(const char *rel, const char *dir, const char *name)
{
	struct gn_diag d;
	struct gn_table *t;
	char *path = NULL, *prefix = NULL, **want = NULL, **got = NULL;
	size_t nwant = 0, i, n;
	int bad = 0;

	gn_diag_init(&d);
	if (asprintf(&path, "%s/%s", dir, name) == -1 || asprintf(&prefix, "%s/", dir) == -1) {
		path = prefix = NULL;
		report("FAIL %s/%s: out of memory\n", rel, name);
		bad = 1;
		goto end;
	}
	if ((nwant = read_expects(path, &want)) == 0) {
		report("FAIL %s/%s: no '# expect: ' line\n", rel, name);
		bad = 1;
		goto end;
	}
	if ((t = gn_table_load(path, &d)) != NULL) {
		report("FAIL %s/%s: loaded, but errors were expected\n", rel, name);
		gn_table_free(t);
		bad = 1;
	}
	n = d.nmsgs;
	if ((got = calloc(n + 1, sizeof(*got))) == NULL)
		goto end;
	for (i = 0; i < n; i++)
		got[i] = strip_prefix(d.msgs[i], prefix);
	if (d.nerrors != n || n != nwant)
		bad = 1;
	for (i = 0; i < n && i < nwant; i++)
		if (got[i] == NULL || strcmp(got[i], want[i]) != 0)
			bad = 1;
	if (bad) {
		report("FAIL %s/%s: %zu errors expected, %zu messages (%zu errors) got\n",
		    rel, name, nwant, n, d.nerrors);
		for (i = 0; i < nwant || i < n; i++) {
			const char *w = i < nwant ? want[i] : "(none)";
			const char *g = i < n ? (got[i] ? got[i] : "(nomem)") : "(none)";

			report("  %s expected: %s\n  %s got:      %s\n",
			    strcmp(w, g) == 0 ? " " : "!", w, strcmp(w, g) == 0 ? " " : "!", g);
		}
	}
	for (i = 0; i < n; i++)
		free(got[i]);
end:
	for (i = 0; i < nwant; i++)
		free(want[i]);
	free(want);
	free(got);
	free(path);
	free(prefix);
	gn_diag_free(&d);
	return bad;
}

int
unit_bad_dir(const char *rel, int *nfiles)
{
	struct dirent **list = NULL;
	char *dir;
	int n, i, fails = 0;

	*nfiles = 0;
	if ((dir = unit_path(rel)) == NULL)
		return 1;
	if ((n = scandir(dir, &list, is_rules, alphasort)) == -1) {
		report("FAIL %s: %s\n", rel, strerror(errno));
		free(dir);
		return 1;
	}
	for (i = 0; i < n; i++) {
		fails += check_bad_file(rel, dir, list[i]->d_name);
		free(list[i]);
	}
	*nfiles = n;
	report("%s: %d broken rules files, %d failed\n", rel, n, fails);
	fflush(stdout);
	free(list);
	free(dir);
	return fails;
}

int
unit_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	/* Forked tests end with _exit(): line buffering keeps their FAIL lines. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* CK_ENV: CK_VERBOSITY from the environment, normal by default. */
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
