/* SPDX-License-Identifier: BSD-2-Clause */
/* Lint: what a list says that its author probably did not mean, found before it is deployed. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "internal.h"

/* A host or wildcard rule, keyed by its name with the labels reversed ("com.goto"). */
struct nent {
	char		*key;
	int32_t		 rule;
	uint8_t		 wild, except;
};

/* An address rule widened to 128 bits. */
struct pent {
	gn_u128		 start, end;
	int32_t		 rule;
	uint8_t		 v6, len, except, proto;
};

/* What a regex can match, as far as its text tells: one name, a subtree, or anything. */
enum region {
	REGION_ANY = 0,
	REGION_NAME,		/* exactly name */
	REGION_TREE		/* name and everything below it */
};

struct rx {
	enum region	 region;
	char		 name[256];	/* normal order, lowercase */
	const pcre2_code *code;
};

struct finding {
	int32_t		 rule;
	size_t		 seq;
	char		*msg;
};

struct lint {
	const struct gn_table *t;
	unsigned	 flags;
	struct gn_rule_info *info;	/* by rule id */
	size_t		 nrules;
	struct nent	*names;
	size_t		 nnames;
	struct pent	*pfx;
	size_t		 npfx;
	struct rx	*rx;		/* by rule id, for regex rules */
	int32_t		*lre, *xre;	/* ids of the list and exception regexes */
	size_t		 nlre, nxre;
	struct finding	*found;
	size_t		 nfound, capfound;
	pcre2_match_data *md;
	int		 nomem;
};

static void __attribute__((format(printf, 3, 4)))
warn(struct lint *l, int32_t rule, const char *fmt, ...)
{
	struct finding *f;
	va_list ap;
	char *msg;

	if (l->nfound == l->capfound) {
		size_t cap = l->capfound ? l->capfound * 2 : 32;

		if ((f = realloc(l->found, cap * sizeof(*f))) == NULL) {
			l->nomem = 1;
			return;
		}
		l->found = f;
		l->capfound = cap;
	}
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) == -1) {
		va_end(ap);
		l->nomem = 1;
		return;
	}
	va_end(ap);
	f = &l->found[l->nfound];
	f->rule = rule;
	f->seq = l->nfound++;
	f->msg = msg;
}

/* "www.goto.com" -> "com.goto.www" into out (at least len + 1 bytes). */

static int
nent_cmp(const void *a, const void *b)
{
	const struct nent *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	if (c != 0)
		return c;
	if (x->wild != y->wild)
		return x->wild < y->wild ? -1 : 1;
	if (x->except != y->except)
		return x->except < y->except ? -1 : 1;
	return x->rule < y->rule ? -1 : x->rule > y->rule;
}

/* The first entry at or after (key, wild, except, rule -1). */
static size_t
nent_lower(const struct lint *l, const char *key, int wild, int except)
{
	struct nent probe = { (char *)(uintptr_t)key, -1, (uint8_t)wild, (uint8_t)except };
	size_t lo = 0, hi = l->nnames;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (nent_cmp(&l->names[mid], &probe) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The first rule written with exactly this key, kind and side; GN_NONE if none. */
static int32_t
nent_find(const struct lint *l, const char *key, int wild, int except)
{
	size_t i = nent_lower(l, key, wild, except);

	if (i < l->nnames && strcmp(l->names[i].key, key) == 0 && l->names[i].wild == wild &&
	    l->names[i].except == except)
		return l->names[i].rule;
	return GN_NONE;
}

/*
 * The nearest wildcard on one side (list or exceptions) that covers key:
 * key itself when self is set, then each shorter suffix. GN_NONE if none.
 */
static int32_t
nearest_wild(const struct lint *l, const char *key, int self, int except)
{
	char buf[256];
	size_t len = strlen(key);
	int32_t r;

	if (len >= sizeof(buf))
		return GN_NONE;
	memcpy(buf, key, len + 1);
	for (;;) {
		if (!self) {
			/* One label up: "com.goto.www" -> "com.goto". */
			while (len > 0 && buf[len - 1] != '.')
				len--;
			if (len == 0)
				return GN_NONE;
			buf[--len] = '\0';
		}
		self = 0;
		if ((r = nent_find(l, buf, 1, except)) != GN_NONE)
			return r;
	}
}

/* Any rule on one side with this key or a key below it? */
static int32_t
any_at_or_below(const struct lint *l, const char *key, int except)
{
	char probe[258];
	size_t len = strlen(key), i;
	int32_t r;

	if ((r = nent_find(l, key, 0, except)) != GN_NONE || (r = nent_find(l, key, 1, except)) != GN_NONE)
		return r;
	if (len + 2 > sizeof(probe))
		return GN_NONE;
	memcpy(probe, key, len);
	probe[len] = '.';
	probe[len + 1] = '\0';
	for (i = nent_lower(l, probe, 0, 0); i < l->nnames &&
	    strncmp(l->names[i].key, probe, len + 1) == 0; i++)
		if (l->names[i].except == except)
			return l->names[i].rule;
	return GN_NONE;
}

/* Is b (normal order) equal to a or below it? */
static int
name_at_or_below(const char *b, const char *a)
{
	size_t la = strlen(a), lb = strlen(b);

	if (lb < la || strcmp(b + lb - la, a) != 0)
		return 0;
	return lb == la || b[lb - la - 1] == '.';
}

/* Can the regions of two regexes, or of a regex and a name region, meet? */
static int
regions_meet(enum region ra, const char *a, enum region rb, const char *b)
{
	if (ra == REGION_ANY || rb == REGION_ANY)
		return 1;
	if (ra == REGION_NAME && rb == REGION_NAME)
		return strcmp(a, b) == 0;
	if (ra == REGION_NAME)
		return name_at_or_below(a, b);
	if (rb == REGION_NAME)
		return name_at_or_below(b, a);
	return name_at_or_below(a, b) || name_at_or_below(b, a);
}

static int
rx_matches(struct lint *l, const struct rx *x, const char *name)
{
	if (x->code == NULL || l->md == NULL)
		return 0;
	return pcre2_match(x->code, (PCRE2_SPTR)name, strlen(name), 0, 0, l->md, NULL) >= 0;
}

/*
 * Read what a regex can match from its text: the literal tail every match
 * ends with. "edge[0-9]+\.goto\.com" only matches names below goto.com;
 * "www\.goto\.com" only that name. Anything the scan does not understand
 * (alternation at the top, \Q, option settings, classes at the end) gives
 * REGION_ANY, which claims nothing.
 */
static void
rx_region(const char *re, struct rx *x)
{
	char tail[256];
	size_t len = strlen(re), n = 0, i, start = 0;
	int depth = 0, inclass = 0;

	x->region = REGION_ANY;
	x->name[0] = '\0';
	for (i = 0; i < len; i++) {
		if (re[i] == '\\') {
			if (re[i + 1] == 'Q' || re[i + 1] == 'E')
				return;
			i++;
			continue;
		}
		if (inclass) {
			if (re[i] == ']')
				inclass = 0;
			continue;
		}
		if (re[i] == '[')
			inclass = 1;
		else if (re[i] == '(') {
			if (re[i + 1] == '?' && re[i + 2] != ':')
				return;
			depth++;
		} else if (re[i] == ')')
			depth--;
		else if (re[i] == '|' && depth == 0)
			return;
	}
	if (len > 0 && re[0] == '^')
		start = 1;
	if (len > start && re[len - 1] == '$' && (len < 2 || re[len - 2] != '\\'))
		len--;
	/* Walk back over literal characters and \. escapes. */
	while (len > start && n < sizeof(tail) - 1) {
		char c = re[len - 1];
		size_t bs = 0;

		while (len - 1 - bs > start && re[len - 2 - bs] == '\\')
			bs++;
		if (bs % 2 == 1) {
			if (c != '.' && c != '-')
				break;
			tail[n++] = c;
			len -= 2;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_'))
			break;
		tail[n++] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
		len--;
	}
	tail[n] = '\0';
	/* tail is reversed; put it right. */
	for (i = 0; i < n / 2; i++) {
		char c = tail[i];

		tail[i] = tail[n - 1 - i];
		tail[n - 1 - i] = c;
	}
	if (len == start) {
		if (n == 0 || tail[0] == '.' || tail[n - 1] == '.' || strstr(tail, "..") != NULL)
			return;
		x->region = REGION_NAME;
		memcpy(x->name, tail, n + 1);
		return;
	}
	/* Something precedes the tail: only what follows its first dot is a whole suffix. */
	{
		char *dot = strchr(tail, '.');

		if (dot == NULL || dot[1] == '\0' || strstr(dot + 1, "..") != NULL ||
		    tail[n - 1] == '.')
			return;
		x->region = REGION_TREE;
		memcpy(x->name, dot + 1, strlen(dot + 1) + 1);
	}
}

static const char *
quoted_label(const struct gn_rule_info *r)
{
	return r->label[0] ? r->label : "";
}

static int
same_ports(const struct gn_rule_info *a, const struct gn_rule_info *b)
{
	return a->nports == b->nports &&
	    (a->nports == 0 || memcmp(a->ports, b->ports, a->nports * sizeof(*a->ports)) == 0);
}

/* What differs between a rule and the one that covers it, besides the label. */
static void
attr_diff(const struct gn_rule_info *r, const struct gn_rule_info *up, char *buf, size_t size)
{
	size_t n = 0;

	buf[0] = '\0';
	if (r->action != up->action)
		n += (size_t)snprintf(buf + n, size - n, "%saction=%s instead of %s", n ? ", " : "",
		    gn_action_name(r->action), gn_action_name(up->action));
	if (n < size && (r->flags & GN_RULE_CRITICAL) != (up->flags & GN_RULE_CRITICAL))
		n += (size_t)snprintf(buf + n, size - n, "%scritical=%s instead of %s",
		    n ? ", " : "", (r->flags & GN_RULE_CRITICAL) ? "yes" : "no",
		    (up->flags & GN_RULE_CRITICAL) ? "yes" : "no");
	if (n < size && !same_ports(r, up))
		snprintf(buf + n, size - n, "%sother ports", n ? ", " : "");
}

/*
 * r is covered by up, a wider list rule (wildcard or prefix) on the same side
 * that would decide for it if r were not there.
 */
static void
warn_covered(struct lint *l, const struct gn_rule_info *r, const struct gn_rule_info *up)
{
	char diff[160], only[32] = "";
	int same_label = strcmp(r->label, up->label) == 0;
	unsigned extra = r->proto & ~up->proto;

	attr_diff(r, up, diff, sizeof(diff));
	/* A prefix that also applies where the wider one does not is not covered there. */
	if (extra)
		snprintf(only, sizeof(only), " for %s", gn_proto_name(r->proto & up->proto));
	if (diff[0] == '\0' && same_label) {
		if (extra)
			return;
		warn(l, r->id, "redundant: %s (%s:%u) already covers %s with the same label and action",
		    up->pattern, up->file, up->line, r->pattern);
	} else if (diff[0] == '\0') {
		if (l->flags & GN_LINT_RELABEL_OK)
			return;
		warn(l, r->id, "%s is covered by %s (%s:%u)%s with the same action: a deliberate "
		    "relabel? (label \"%s\" instead of \"%s\")", r->pattern, up->pattern, up->file,
		    up->line, only, quoted_label(r), quoted_label(up));
	} else {
		warn(l, r->id, "%s is inside %s (%s:%u)%s and overrides it: %s%s", r->pattern,
		    up->pattern, up->file, up->line, only, diff, same_label ? "" : ", other label");
	}
}

static void
check_names(struct lint *l)
{
	size_t i, k;

	for (i = 0; i < l->nnames; i++) {
		const struct nent *e = &l->names[i];
		const struct gn_rule_info *r = &l->info[e->rule];
		int32_t first, x, up;

		first = nent_find(l, e->key, e->wild, e->except);
		if (first != e->rule) {
			const struct gn_rule_info *f = &l->info[first];

			warn(l, r->id, "duplicate %s%s: first at %s:%u, which decides%s",
			    e->except ? "exception " : "", r->pattern, f->file, f->line,
			    strcmp(r->label, f->label) == 0 ? "" : " (this label is never shown)");
			continue;
		}
		if (e->except) {
			/* Inside a wider exception: never adds anything. */
			if ((x = nearest_wild(l, e->key, !e->wild, 1)) != GN_NONE) {
				warn(l, r->id, "redundant exception: %s (%s:%u) already excepts %s",
				    l->info[x].pattern, l->info[x].file, l->info[x].line, r->pattern);
				continue;
			}
			/* Does any list rule meet it? */
			if (e->wild) {
				if (nearest_wild(l, e->key, 1, 0) != GN_NONE ||
				    any_at_or_below(l, e->key, 0) != GN_NONE)
					continue;
			} else {
				if (nent_find(l, e->key, 0, 0) != GN_NONE ||
				    nearest_wild(l, e->key, 1, 0) != GN_NONE)
					continue;
			}
			for (k = 0; k < l->nlre; k++) {
				const struct rx *o = &l->rx[l->lre[k]];

				if (e->wild ? regions_meet(o->region, o->name, REGION_TREE, r->pattern + 2) :
				    rx_matches(l, o, r->pattern))
					break;
			}
			if (k == l->nlre)
				warn(l, r->id, "exception %s matches nothing on the list", r->pattern);
			continue;
		}
		/* A list rule that an exception swallows whole never bypasses anything. */
		x = nearest_wild(l, e->key, 1, 1);
		if (x == GN_NONE && !e->wild)
			x = nent_find(l, e->key, 0, 1);
		for (k = 0; x == GN_NONE && !e->wild && k < l->nxre; k++)
			if (rx_matches(l, &l->rx[l->xre[k]], r->pattern))
				x = l->xre[k];
		if (x != GN_NONE) {
			warn(l, r->id, "%s never bypasses anything: the exception %s (%s:%u) covers it",
			    r->pattern, l->info[x].pattern, l->info[x].file, l->info[x].line);
			continue;
		}
		if ((up = nearest_wild(l, e->key, !e->wild, 0)) != GN_NONE)
			warn_covered(l, r, &l->info[up]);
	}
}

static void
check_regex(struct lint *l)
{
	size_t i, k;

	for (i = 0; i < l->nrules; i++) {
		const struct gn_rule_info *r = &l->info[i];
		const struct rx *x = &l->rx[i];
		int except = (r->flags & GN_RULE_EXCEPT) != 0;
		char key[256];
		int32_t by = GN_NONE;

		if (r->kind != GN_KIND_REGEX)
			continue;
		{
			const int32_t *ids = except ? l->xre : l->lre;
			size_t nids = except ? l->nxre : l->nlre;

			for (k = 0; k < nids && ids[k] < (int32_t)i; k++)
				if (strcmp(l->info[ids[k]].pattern, r->pattern) == 0)
					break;
			if (k < nids && ids[k] < (int32_t)i) {
				warn(l, r->id, "duplicate %s%s: first at %s:%u, which decides",
				    except ? "exception " : "", r->pattern, l->info[ids[k]].file,
				    l->info[ids[k]].line);
				continue;
			}
		}
		if (x->region == REGION_ANY)
			continue;
		gn_name_reverse_labels(x->name, strlen(x->name), key);
		if (except) {
			if ((by = nearest_wild(l, key, 1, 1)) == GN_NONE &&
			    x->region == REGION_NAME)
				by = nent_find(l, key, 0, 1);
			if (by != GN_NONE) {
				warn(l, r->id, "redundant exception: %s (%s:%u) already excepts every name "
				    "%s can match", l->info[by].pattern, l->info[by].file,
				    l->info[by].line, r->pattern);
				continue;
			}
			if (nearest_wild(l, key, 1, 0) != GN_NONE ||
			    (x->region == REGION_TREE ? any_at_or_below(l, key, 0) :
			    nent_find(l, key, 0, 0)) != GN_NONE)
				continue;
			for (k = 0; k < l->nlre; k++)
				if (regions_meet(l->rx[l->lre[k]].region, l->rx[l->lre[k]].name, x->region,
				    x->name))
					break;
			if (k == l->nlre)
				warn(l, r->id, "exception %s matches nothing on the list", r->pattern);
			continue;
		}
		/* Exceptions first: they beat the list whatever it says. */
		by = nearest_wild(l, key, 1, 1);
		if (by == GN_NONE && x->region == REGION_NAME)
			by = nent_find(l, key, 0, 1);
		if (by != GN_NONE) {
			warn(l, r->id, "%s never bypasses anything: the exception %s (%s:%u) covers every "
			    "name it can match", r->pattern, l->info[by].pattern, l->info[by].file,
			    l->info[by].line);
			continue;
		}
		/* Regexes are tried only when no host or wildcard matches. */
		by = nearest_wild(l, key, 1, 0);
		if (by == GN_NONE && x->region == REGION_NAME)
			by = nent_find(l, key, 0, 0);
		if (by != GN_NONE)
			warn(l, r->id, "%s never decides: %s (%s:%u) matches every name it can match, and "
			    "regexes are tried only when no host or wildcard matches", r->pattern,
			    l->info[by].pattern, l->info[by].file, l->info[by].line);
		else if (x->region == REGION_NAME)
			warn(l, r->id, "%s matches only the name %s: write it as a host rule", r->pattern,
			    x->name);
	}
}

static int
pent_cmp(const void *a, const void *b)
{
	const struct pent *x = a, *y = b;

	if (x->v6 != y->v6)
		return x->v6 < y->v6 ? -1 : 1;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;	/* the wider one first: it encloses */
	return x->rule < y->rule ? -1 : x->rule > y->rule;
}

static void
check_prefixes(struct lint *l)
{
	const struct pent **stack;
	size_t i, top = 0;

	/* Prefixes nest or are disjoint: a stack of the enclosing ones is all we need. */
	if ((stack = malloc((l->npfx + 1) * sizeof(*stack))) == NULL) {
		l->nomem = 1;
		return;
	}
	if (l->npfx > 0)
		qsort(l->pfx, l->npfx, sizeof(*l->pfx), pent_cmp);
	for (i = 0; i < l->npfx; i++) {
		const struct pent *p = &l->pfx[i];
		const struct gn_rule_info *r = &l->info[p->rule];
		const struct pent *up = NULL, *x = NULL;
		unsigned earlier = 0;
		size_t s, k;

		while (top > 0 && (stack[top - 1]->v6 != p->v6 || stack[top - 1]->end < p->start))
			top--;
		if (p->except) {
			for (s = top; s > 0; s--)
				if (stack[s - 1]->except)
					break;
			if (s > 0) {
				const struct gn_rule_info *o = &l->info[stack[s - 1]->rule];
				int same = stack[s - 1]->len == p->len;

				warn(l, r->id, "%s exception %s: %s (%s:%u) already excepts it",
				    same ? "duplicate" : "redundant", r->pattern, o->pattern, o->file,
				    o->line);
				stack[top++] = p;
				continue;
			}
			/* A list prefix around it or inside it? */
			for (s = top; s > 0 && stack[s - 1]->except; s--)
				;
			if (s == 0) {
				for (k = i + 1; k < l->npfx && l->pfx[k].v6 == p->v6 &&
				    l->pfx[k].start <= p->end && l->pfx[k].except; k++)
					;
				if (k == l->npfx || l->pfx[k].v6 != p->v6 || l->pfx[k].start > p->end)
					warn(l, r->id, "exception %s matches nothing on the list (outside "
					    "every listed range)", r->pattern);
			}
			stack[top++] = p;
			continue;
		}
		for (s = top; s > 0; s--) {
			const struct pent *o = stack[s - 1];

			if (o->except && x == NULL)
				x = o;
			/* The nearest wider prefix; of identical ones, the first written decides. */
			if (!o->except && o->len < p->len && (o->proto & p->proto) &&
			    (up == NULL || o->len == up->len))
				up = o;
			if (!o->except && o->len == p->len)
				earlier |= o->proto;
		}
		/* An exception written later for the same prefix sorts after this rule. */
		for (k = i + 1; x == NULL && k < l->npfx && l->pfx[k].v6 == p->v6 &&
		    l->pfx[k].start == p->start && l->pfx[k].len == p->len; k++)
			if (l->pfx[k].except)
				x = &l->pfx[k];
		stack[top++] = p;
		if (x != NULL) {
			const struct gn_rule_info *o = &l->info[x->rule];

			warn(l, r->id, "%s never bypasses anything: the exception %s (%s:%u) covers it",
			    r->pattern, o->pattern, o->file, o->line);
			continue;
		}
		if (earlier & p->proto) {
			const struct gn_rule_info *f = NULL;

			for (s = top - 1; s > 0; s--)
				if (!stack[s - 1]->except && stack[s - 1]->len == p->len &&
				    (stack[s - 1]->proto & p->proto))
					f = &l->info[stack[s - 1]->rule];
			if (f == NULL)
				continue;
			if ((p->proto & ~earlier) == 0)
				warn(l, r->id, "%s %s: first at %s:%u, which decides%s",
				    strcmp(r->label, f->label) == 0 ? "duplicate" : "identical prefix",
				    r->pattern, f->file, f->line,
				    strcmp(r->label, f->label) == 0 ? "" : " (this label is never shown)");
			else
				warn(l, r->id, "identical prefix %s at %s:%u decides for %s; this rule only "
				    "for %s", r->pattern, f->file, f->line, gn_proto_name(earlier & p->proto),
				    gn_proto_name(p->proto & ~earlier));
			continue;
		}
		if (up != NULL)
			warn_covered(l, r, &l->info[up->rule]);
	}
	free(stack);
}

static int
finding_cmp(const void *a, const void *b)
{
	const struct finding *x = a, *y = b;

	if (x->rule != y->rule)
		return x->rule < y->rule ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int
collect(struct lint *l)
{
	const struct gn_table *t = l->t;
	size_t i;

	l->nrules = gn_table_rule_count(t);
	if ((l->info = calloc(l->nrules + 1, sizeof(*l->info))) == NULL ||
	    (l->names = calloc(l->nrules + 1, sizeof(*l->names))) == NULL ||
	    (l->pfx = calloc(l->nrules + 1, sizeof(*l->pfx))) == NULL ||
	    (l->rx = calloc(l->nrules + 1, sizeof(*l->rx))) == NULL ||
	    (l->lre = calloc(l->nrules + 1, sizeof(*l->lre))) == NULL ||
	    (l->xre = calloc(l->nrules + 1, sizeof(*l->xre))) == NULL)
		return -1;
	for (i = 0; i < l->nrules; i++) {
		struct gn_rule_info *r = &l->info[i];
		int except;

		/* In place: for address rules pattern points into the info's own buffer. */
		gn_table_rule_info(t, (int32_t)i, r);
		except = (r->flags & GN_RULE_EXCEPT) != 0;
		switch (r->kind) {
		case GN_KIND_HOST:
		case GN_KIND_DOMAIN: {
			const char *name = r->pattern + (r->kind == GN_KIND_DOMAIN ? 2 : 0);
			struct nent *e = &l->names[l->nnames];

			if ((e->key = malloc(strlen(name) + 1)) == NULL)
				return -1;
			gn_name_reverse_labels(name, strlen(name), e->key);
			e->rule = (int32_t)i;
			e->wild = r->kind == GN_KIND_DOMAIN;
			e->except = (uint8_t)except;
			l->nnames++;
			break;
		}
		case GN_KIND_NET4:
		case GN_KIND_NET6: {
			struct pent *p = &l->pfx[l->npfx++];
			int v6 = r->kind == GN_KIND_NET6, bits = v6 ? 128 : 32, j;
			gn_u128 v = 0;

			for (j = 0; j < bits / 8; j++)
				v = v << 8 | r->addr[j];
			p->start = v;
			p->end = v | (r->prefixlen == 0 ? (bits == 128 ? ~(gn_u128)0 : 0xffffffffu) :
			    (((gn_u128)1 << (bits - r->prefixlen)) - 1));
			p->rule = (int32_t)i;
			p->v6 = (uint8_t)v6;
			p->len = (uint8_t)r->prefixlen;
			p->except = (uint8_t)except;
			p->proto = (uint8_t)r->proto;
			break;
		}
		case GN_KIND_REGEX:
			rx_region(r->pattern + 1, &l->rx[i]);
			if (except)
				l->xre[l->nxre++] = (int32_t)i;
			else
				l->lre[l->nlre++] = (int32_t)i;
			break;
		}
	}
	/* The compiled code of each regex, to try it on listed names. */
	for (i = 0; i < t->nregex; i++)
		l->rx[t->regex[i].rule].code = t->regex[i].code;
	for (i = 0; i < t->nxregex; i++)
		l->rx[t->xregex[i].rule].code = t->xregex[i].code;
	if ((t->nregex || t->nxregex) && (l->md = pcre2_match_data_create(1, NULL)) == NULL)
		return -1;
	if (l->nnames > 0)
		qsort(l->names, l->nnames, sizeof(*l->names), nent_cmp);
	return 0;
}

int
gn_lint_table(const struct gn_table *t, unsigned flags, struct gn_diag *diag)
{
	struct lint l;
	size_t i;
	int rc = -1;

	memset(&l, 0, sizeof(l));
	l.t = t;
	l.flags = flags;
	if (collect(&l) == -1)
		goto end;
	check_names(&l);
	check_regex(&l);
	check_prefixes(&l);
	if (l.nomem)
		goto end;
	if (l.nfound > 0)
		qsort(l.found, l.nfound, sizeof(*l.found), finding_cmp);
	for (i = 0; i < l.nfound; i++) {
		const struct gn_rule_info *r = &l.info[l.found[i].rule];

		if (gn_diag_add(diag, 1, "%s:%u: warning: %s", r->file, r->line, l.found[i].msg) == -1)
			goto end;
	}
	rc = 0;
end:
	for (i = 0; i < l.nfound; i++)
		free(l.found[i].msg);
	free(l.found);
	for (i = 0; i < l.nnames; i++)
		free(l.names[i].key);
	free(l.names);
	free(l.pfx);
	free(l.rx);
	free(l.lre);
	free(l.xre);
	free(l.info);
	pcre2_match_data_free(l.md);
	return rc;
}
