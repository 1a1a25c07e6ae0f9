/* SPDX-License-Identifier: BSD-2-Clause */
/* gotonet import: the vendor's published firewall tables as a rules file, and what changed against ours. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gotonet.h"
#include "cli.h"

/*
 * The vendor's document is text with tables written as "cell | cell |"
 * rows under a header row and a "---|---|" rule; a row may run over several
 * lines (the first range table puts four ranges on one line and their use
 * on the next). What we read from it:
 *  - the title (first line), for the version: "... V10 GoTo ..." -> goto-v10;
 *  - "N IP Ranges" titled tables with a Range header: the first is TCP, the
 *    second UDP; a Use cell may name hosts ("egw.gotomeeting.com
 *    (Connection detection)"), which become host rules of their own;
 *  - the numbered Domain table (number, domain, use, points to) and the
 *    sentence "The first eight (8) domains ... need to be excluded from deep
 *    packet inspection", which says which are critical;
 *  - the "GoTo Opener" Domain table (domain, use, points to).
 * Anything else (the network modes table, prose) is ignored.
 */

#define MAX_CELLS	8

struct row {
	char		*cell[MAX_CELLS];
	int		 n;
	unsigned	 line;
};

struct table {
	char		*title;		/* the line above the header */
	char		*head[MAX_CELLS];
	int		 ncols;
	struct row	*rows;
	size_t		 nrows;
	unsigned	 line;
};

struct doc {
	const char	*path;
	char		*title;
	struct table	*tables;
	size_t		 ntables;
	int		 ncritical;	/* "the first N domains", -1 when not said */
};

struct range {
	char		*net;
	char		*tcp_use, *udp_use;	/* NULL when not in that table */
	int		 order;
};

struct out {
	char		*s;
	size_t		 len, cap;
	int		 nomem;
};

static void __attribute__((format(printf, 2, 3)))
out_add(struct out *o, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	if (o->nomem)
		return;
	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0) {
		o->nomem = 1;
		return;
	}
	if (o->len + (size_t)n + 1 > o->cap) {
		size_t cap = o->cap ? o->cap : 4096;
		char *p;

		while (cap < o->len + (size_t)n + 1)
			cap *= 2;
		if ((p = realloc(o->s, cap)) == NULL) {
			free(s);
			o->nomem = 1;
			return;
		}
		o->s = p;
		o->cap = cap;
	}
	memcpy(o->s + o->len, s, (size_t)n + 1);
	o->len += (size_t)n;
	free(s);
}

static char *
trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* Split "a | b | c |" into cells; the empty piece after a final '|' is not a cell. */
static int
split_cells(char *line, char **cell, int max)
{
	int n = 0;
	char *p = line, *bar;

	while ((bar = strchr(p, '|')) != NULL) {
		*bar = '\0';
		if (n < max)
			cell[n] = trim(p);
		n++;
		p = bar + 1;
	}
	if (*trim(p) != '\0') {
		if (n < max)
			cell[n] = trim(p);
		n++;
	}
	return n;
}

static int
is_rule_line(const char *s)
{
	/* "---|---|" */
	return strncmp(s, "---", 3) == 0 && strspn(s, "-| \t\r\n") == strlen(s);
}

static void
free_doc(struct doc *d)
{
	size_t i, j;
	int k;

	for (i = 0; i < d->ntables; i++) {
		struct table *t = &d->tables[i];

		free(t->title);
		for (k = 0; k < t->ncols && k < MAX_CELLS; k++)
			free(t->head[k]);
		for (j = 0; j < t->nrows; j++)
			for (k = 0; k < t->rows[j].n; k++)
				free(t->rows[j].cell[k]);
		free(t->rows);
	}
	free(d->tables);
	free(d->title);
}

static const char *const numbers[] = {
	"zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
	"eleven", "twelve", NULL
};

/* "The first eight (8) domains" or "the first 8 domains": 8; -1 if the text does not say. */
static int
first_n(const char *line)
{
	const char *p = strstr(line, "first ");
	char word[32];
	int i, n;

	if (p == NULL || strstr(p, "domains") == NULL)
		return -1;
	p += 6;
	if (sscanf(p, "%d", &n) == 1)
		return n;
	if (sscanf(p, "%31[a-z] (%d)", word, &n) == 2)
		return n;
	if (sscanf(p, "%31[a-z]", word) == 1)
		for (i = 0; numbers[i]; i++)
			if (strcmp(word, numbers[i]) == 0)
				return i;
	return -1;
}

/* A header row we read: "Range | Use |" or "Domain | ..." with a "---|" rule under it. */
static int
is_header(char **lines, size_t n, size_t i)
{
	const char *t = lines[i];

	return (strncmp(t, "Range", 5) == 0 || strncmp(t, "Domain", 6) == 0) && strchr(t, '|') &&
	    i + 1 < n && is_rule_line(lines[i + 1]);
}

static int
read_doc(const char *path, struct doc *d)
{
	FILE *f;
	char *line = NULL, **lines = NULL;
	size_t cap = 0, n = 0, i;
	ssize_t len;
	struct table *cur = NULL;
	struct row pending;
	int rc = -1, k;

	memset(d, 0, sizeof(*d));
	memset(&pending, 0, sizeof(pending));
	d->path = path;
	d->ncritical = -1;
	if ((f = fopen(path, "r")) == NULL) {
		fprintf(stderr, "gotonet: import: %s: %s\n", path, strerror(errno));
		return -1;
	}
	while ((len = getline(&line, &cap, f)) != -1) {
		char **l = realloc(lines, (n + 1) * sizeof(*l));

		if (l == NULL)
			goto nomem;
		lines = l;
		if ((size_t)len >= 4096) {
			fprintf(stderr, "%s:%zu: line too long\n", path, n + 1);
			goto end;
		}
		if ((lines[n] = strdup(trim(line))) == NULL)
			goto nomem;
		n++;
	}
	if (ferror(f)) {
		fprintf(stderr, "gotonet: import: %s: %s\n", path, strerror(errno));
		goto end;
	}
	for (i = 0; i < n; i++) {
		char copy[4096], *cells[MAX_CELLS];
		const char *t = lines[i];
		int nc;

		if (d->title == NULL && *t != '\0' && (d->title = strdup(t)) == NULL)
			goto nomem;
		if (d->ncritical == -1 && strstr(t, "excluded from deep packet inspection") != NULL)
			d->ncritical = first_n(t);
		if (is_header(lines, n, i)) {
			struct table *tb;
			size_t p;

			if (pending.n > 0)
				goto short_row;
			if ((tb = realloc(d->tables, (d->ntables + 1) * sizeof(*tb))) == NULL)
				goto nomem;
			d->tables = tb;
			cur = &d->tables[d->ntables++];
			memset(cur, 0, sizeof(*cur));
			cur->line = (unsigned)i + 1;
			/*
			 * The title: the nearest heading above, a short line that is not a
			 * sentence ("GoTo IP Ranges" above its prose, "GoTo Opener").
			 */
			for (p = i; p > 0; p--) {
				const char *h = lines[p - 1];
				size_t hl = strlen(h);

				if (hl > 0 && hl < 60 && h[hl - 1] != '.' && h[hl - 1] != ':' &&
				    strchr(h, '|') == NULL && !is_rule_line(h))
					break;
			}
			if ((cur->title = strdup(p > 0 ? lines[p - 1] : "")) == NULL)
				goto nomem;
			strcpy(copy, t);
			nc = split_cells(copy, cells, MAX_CELLS);
			cur->ncols = nc > MAX_CELLS ? MAX_CELLS : nc;
			for (k = 0; k < cur->ncols; k++)
				if ((cur->head[k] = strdup(cells[k])) == NULL)
					goto nomem;
			i++;	/* the rule line */
			continue;
		}
		if (cur != NULL && strchr(t, '|') != NULL) {
			strcpy(copy, t);
			nc = split_cells(copy, cells, MAX_CELLS);
			if (pending.n + nc > MAX_CELLS) {
				fprintf(stderr, "%s:%zu: too many cells in a row\n", path, i + 1);
				goto end;
			}
			if (pending.n == 0)
				pending.line = (unsigned)i + 1;
			for (k = 0; k < nc; k++)
				if ((pending.cell[pending.n++] = strdup(cells[k])) == NULL)
					goto nomem;
			if (pending.n >= cur->ncols) {
				struct row *r = realloc(cur->rows, (cur->nrows + 1) * sizeof(*r));

				if (r == NULL)
					goto nomem;
				cur->rows = r;
				cur->rows[cur->nrows++] = pending;
				memset(&pending, 0, sizeof(pending));
			}
			continue;
		}
		if (pending.n > 0)
			goto short_row;
		cur = NULL;
	}
	if (pending.n > 0)
		goto short_row;
	rc = 0;
	goto end;
short_row:
	fprintf(stderr, "%s:%u: a table row ends before its last cell\n", path, pending.line);
	goto end;
nomem:
	fprintf(stderr, "gotonet: import: out of memory\n");
end:
	for (k = 0; k < pending.n; k++)
		free(pending.cell[k]);
	for (i = 0; i < n; i++)
		free(lines[i]);
	free(lines);
	free(line);
	fclose(f);
	return rc;
}

/* A host name as the vendor writes one in a Use cell: dotted, no spaces, a letter at the end. */
static int
looks_like_host(const char *s, size_t len)
{
	size_t i;

	if (len < 4 || memchr(s, '.', len) == NULL || !isalpha((unsigned char)s[len - 1]))
		return 0;
	for (i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '.' && s[i] != '-' && s[i] != '_')
			return 0;
	return 1;
}

struct item {
	char		 text[512];
	int		 host;		/* text is a host name */
	char		 remark[256];	/* "(Connection detection)" after a host, without parens */
};

/* Split a Use cell on the commas outside parentheses. */
static int
split_use(const char *use, struct item *it, int max)
{
	int n = 0, depth = 0;
	const char *p = use, *start = use;

	for (;; p++) {
		if (*p == '(')
			depth++;
		else if (*p == ')' && depth > 0)
			depth--;
		if (*p == '\0' || (*p == ',' && depth == 0)) {
			char buf[512];
			size_t l = (size_t)(p - start);
			char *s, *sp;

			if (l >= sizeof(buf))
				l = sizeof(buf) - 1;
			memcpy(buf, start, l);
			buf[l] = '\0';
			s = trim(buf);
			if (*s != '\0' && n < max) {
				memset(&it[n], 0, sizeof(it[n]));
				sp = strchr(s, ' ');
				if (looks_like_host(s, sp ? (size_t)(sp - s) : strlen(s))) {
					it[n].host = 1;
					if (sp != NULL) {
						char *r = trim(sp);
						size_t rl = strlen(r);

						if (r[0] == '(' && rl > 1 && r[rl - 1] == ')') {
							r[rl - 1] = '\0';
							r++;
						}
						snprintf(it[n].remark, sizeof(it[n].remark), "%s", r);
						*sp = '\0';
					}
				}
				snprintf(it[n].text, sizeof(it[n].text), "%s", s);
				n++;
			}
			if (*p == '\0')
				break;
			start = p + 1;
		}
	}
	return n;
}

/* The Use cell without its host names: the label of the range itself. */
static void
range_label(const char *use, char *buf, size_t size)
{
	struct item it[32];
	int n = split_use(use, it, 32), i;
	size_t len = 0;

	buf[0] = '\0';
	for (i = 0; i < n; i++) {
		char *t = it[i].text;
		size_t l;

		if (it[i].host)
			continue;
		/* The UDP table points back to the TCP one: "see TCP". */
		l = strlen(t);
		if (l >= 7 && strcmp(t + l - 7, "see TCP") == 0) {
			t[l - 7] = '\0';
			t = trim(t);
		}
		if (*t == '\0')
			continue;
		len += (size_t)snprintf(buf + len, len < size ? size - len : 0, "%s%s", len ? ", " : "", t);
	}
}

static void
quote(const char *s, char *buf, size_t size)
{
	size_t n = 0;

	for (; *s && n + 3 < size; s++) {
		if (*s == '"' || *s == '\\')
			buf[n++] = '\\';
		buf[n++] = *s;
	}
	buf[n] = '\0';
}

/* points-to is one token unless quoted; quote when needed. */
static void
attr_value(const char *s, char *buf, size_t size)
{
	if (*s != '\0' && strpbrk(s, " \t\"\\#") == NULL) {
		snprintf(buf, size, "%s", s);
	} else {
		char q[300];

		quote(s, q, sizeof(q));
		snprintf(buf, size, "\"%s\"", q);
	}
}

static int
header_is(const struct table *t, int col, const char *name)
{
	return col < t->ncols && strncmp(t->head[col], name, strlen(name)) == 0;
}

/* Build the rules text from the document. */
static int
build(const struct doc *d, const char *version, struct out *o)
{
	struct range *ranges = NULL;
	size_t nranges = 0, i, j;
	int nrange_tables = 0, ndomains = 0, nopener = 0, rc = -1;
	char q[600], pt[320], label[600];
	const char *points_default = NULL;
	char *host_title = NULL;
	struct out hosts = { 0 };

	out_add(o, "# gotonet.rules: imported by gotonet import from %s\n", d->path);
	out_add(o, "# \"%s\"\n", d->title ? d->title : "");
	out_add(o, "# Format: gotonet.rules(5). Local changes belong in an included file.\n\n");
	out_add(o, "version %s\n", version);

	for (i = 0; i < d->ntables; i++) {
		const struct table *t = &d->tables[i];

		/* Domains: "N | domain | use | points to |" */
		if (header_is(t, 0, "Domain") && t->ncols >= 3 && t->nrows > 0 &&
		    strspn(t->rows[0].cell[0], "0123456789") == strlen(t->rows[0].cell[0]) &&
		    t->rows[0].cell[0][0] != '\0') {
			out_add(o, "\n# %s (the vendor's numbered table; line %u of the document)\n",
			    t->title[0] ? t->title : "Domains", t->line);
			if (d->ncritical >= 0)
				out_add(o, "# The vendor: the first %d need to be excluded from deep packet "
				    "inspection (critical=yes).\n", d->ncritical);
			else
				out_add(o, "# The document does not say which are critical: every entry "
				    "is critical=yes unless it says \"not critical\".\n");
			for (j = 0; j < t->nrows; j++) {
				const struct row *r = &t->rows[j];
				int num = atoi(r->cell[0]);
				int notcrit = strstr(r->cell[2], "not critical") != NULL;
				int crit = d->ncritical >= 0 ? num <= d->ncritical && !notcrit : !notcrit;

				out_add(o, "# %d; %s\n", num, crit ? "excluded from deep packet inspection" :
				    notcrit ? "not critical" : "not among the first entries to exclude");
				quote(r->cell[2], q, sizeof(q));
				attr_value(r->n > 3 ? r->cell[3] : "", pt, sizeof(pt));
				out_add(o, "%-26s critical=%s%s%s  label=\"%s\"\n", r->cell[1],
				    crit ? "yes" : "no", r->n > 3 && r->cell[3][0] ? "  points-to=" : "",
				    r->n > 3 && r->cell[3][0] ? pt : "", q);
				ndomains++;
			}
			continue;
		}
		/* The Opener and other unnumbered domain tables: "domain | use | points to |" */
		if (header_is(t, 0, "Domain") && t->ncols >= 2) {
			out_add(o, "\n# %s (line %u of the document); no criticality given: critical=yes\n",
			    t->title[0] ? t->title : "Domains", t->line);
			for (j = 0; j < t->nrows; j++) {
				const struct row *r = &t->rows[j];

				snprintf(label, sizeof(label), "%s%s%s", t->title[0] ? t->title : "",
				    t->title[0] ? ": " : "", r->cell[1]);
				quote(label, q, sizeof(q));
				attr_value(r->n > 2 ? r->cell[2] : "", pt, sizeof(pt));
				out_add(o, "%-26s critical=yes%s%s  label=\"%s\"\n", r->cell[0],
				    r->n > 2 && r->cell[2][0] ? "  points-to=" : "",
				    r->n > 2 && r->cell[2][0] ? pt : "", q);
				nopener++;
			}
			continue;
		}
		/* Ranges: "range ... | use |", first table TCP, second UDP. */
		if (header_is(t, 0, "Range") && t->ncols >= 2) {
			int udp = nrange_tables++ > 0;

			if (nrange_tables > 2) {
				fprintf(stderr, "gotonet: import: %s:%u: a third range table; only two (TCP, "
				    "then UDP) are known\n", d->path, t->line);
				goto end;
			}
			if (!udp && host_title == NULL) {
				const char *title = t->title;
				const char *ip = strstr(title, " IP Ranges");

				/* "GoTo IP Ranges": the hosts of these ranges point to GoTo. */
				if (ip != NULL && (host_title = strndup(title, (size_t)(ip - title))) == NULL)
					goto nomem;
				points_default = host_title;
			}
			for (j = 0; j < t->nrows; j++) {
				const struct row *r = &t->rows[j];
				char nets[512], *tok, *save;

				snprintf(nets, sizeof(nets), "%s", r->cell[0]);
				for (tok = strtok_r(nets, " \t,", &save); tok; tok = strtok_r(NULL, " \t,", &save)) {
					struct range *g = NULL;
					size_t k;

					for (k = 0; k < nranges; k++)
						if (strcmp(ranges[k].net, tok) == 0)
							g = &ranges[k];
					if (g == NULL) {
						struct range *nr = realloc(ranges, (nranges + 1) * sizeof(*nr));

						if (nr == NULL)
							goto nomem;
						ranges = nr;
						g = &ranges[nranges];
						memset(g, 0, sizeof(*g));
						g->order = (int)nranges++;
						if ((g->net = strdup(tok)) == NULL)
							goto nomem;
					}
					if (udp ? g->udp_use != NULL : g->tcp_use != NULL) {
						fprintf(stderr, "gotonet: import: %s:%u: %s twice in one table\n",
						    d->path, r->line, tok);
						goto end;
					}
					if (udp)
						g->udp_use = r->cell[1];
					else
						g->tcp_use = r->cell[1];
				}
				/* Hosts named in the Use cell: a remark covers the hosts before it. */
				{
					struct item it[32];
					int n = split_use(r->cell[1], it, 32), a, b;
					char first[64];

					if (sscanf(r->cell[0], "%63s", first) != 1)
						first[0] = '\0';
					for (a = 0; a < n; a++) {
						const char *remark = "";

						if (!it[a].host || udp)
							continue;
						for (b = a; b < n && it[b].host; b++)
							if (it[b].remark[0]) {
								remark = it[b].remark;
								break;
							}
						if (remark[0])
							snprintf(label, sizeof(label), "%s (in %s)", remark, first);
						else
							snprintf(label, sizeof(label), "Host in %s", first);
						quote(label, q, sizeof(q));
						out_add(&hosts, "%-26s critical=yes%s%s  label=\"%s\"\n", it[a].text,
						    points_default ? "  points-to=" : "",
						    points_default ? points_default : "", q);
					}
				}
			}
			continue;
		}
	}
	if (ndomains == 0 && nranges == 0 && nopener == 0) {
		fprintf(stderr, "gotonet: import: %s: no Domain or Range table found\n", d->path);
		goto end;
	}
	if (hosts.len > 0) {
		out_add(o, "\n# Hosts the range tables name in their Use column; their ranges' "
		    "remark, or the range.\n");
		out_add(o, "%s", hosts.s);
	}
	if (nranges > 0) {
		out_add(o, "\n# IP ranges: \"All critical media services are tied to these ranges\" "
		    "(critical=yes).\n# The first range table is TCP, the second UDP; a range in "
		    "both is proto=tcp,udp.\n");
		for (i = 0; i < nranges; i++) {
			const struct range *g = &ranges[i];
			const char *proto = g->tcp_use && g->udp_use ? "tcp,udp" : g->tcp_use ? "tcp" : "udp";
			char ul[512];

			range_label(g->tcp_use ? g->tcp_use : g->udp_use, label, sizeof(label));
			if (g->tcp_use && g->udp_use) {
				range_label(g->udp_use, ul, sizeof(ul));
				if (strcmp(ul, label) != 0)
					out_add(o, "# UDP table: \"%s\"\n", g->udp_use);
			}
			quote(label, q, sizeof(q));
			out_add(o, "%-26s critical=yes  proto=%-8s label=\"%s\"\n", g->net, proto, q);
		}
	}
	if (o->nomem || hosts.nomem)
		goto nomem;
	rc = 0;
	goto end;
nomem:
	fprintf(stderr, "gotonet: import: out of memory\n");
end:
	for (i = 0; i < nranges; i++)
		free(ranges[i].net);
	free(ranges);
	free(host_title);
	free(hosts.s);
	return rc;
}

/* "goto-v10 YYYY-MM-DD" from "... V10 GoTo ..." and today (or SOURCE_DATE_EPOCH). */
static void
default_version(const struct doc *d, char *buf, size_t size)
{
	const char *e = getenv("SOURCE_DATE_EPOCH"), *p;
	char ver[16] = "";
	time_t now = e ? (time_t)strtoll(e, NULL, 10) : time(NULL);
	struct tm tm;

	for (p = d->title; p && *p; p++)
		if ((*p == 'V' || *p == 'v') && isdigit((unsigned char)p[1]) &&
		    (p == d->title || p[-1] == ' ')) {
			snprintf(ver, sizeof(ver), "-v%d", atoi(p + 1));
			break;
		}
	gmtime_r(&now, &tm);
	snprintf(buf, size, "%s%s %04d-%02d-%02d", strstr(d->title ? d->title : "", "GoTo") ? "goto" :
	    "vendor", ver, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

/* --- diff --- */

static const struct gn_rule_info *
find_rule(const struct gn_rule_info *info, size_t n, const struct gn_rule_info *want,
    const char *only_file)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (info[i].kind == want->kind && !(info[i].flags & GN_RULE_EXCEPT) &&
		    (only_file == NULL || strcmp(info[i].file, only_file) == 0) &&
		    strcmp(info[i].pattern, want->pattern) == 0)
			return &info[i];
	return NULL;
}

static void
ports_str(const struct gn_rule_info *r, char *buf, size_t size)
{
	size_t i, n = 0;

	snprintf(buf, size, "any");
	for (i = 0; i < r->nports && n < size; i++)
		n += (size_t)snprintf(buf + n, size - n, r->ports[i].lo == r->ports[i].hi ? "%s%u" :
		    "%s%u-%u", i ? "," : "", r->ports[i].lo, r->ports[i].hi);
}

/*
 * What the import would change in the current list: rules added, removed,
 * relabelled, or with another attribute. Only the current file's own list
 * rules count: exceptions and included files are local.
 */
static int
diff_rules(const char *current, struct gn_table *cur, struct gn_table *imp)
{
	struct gn_rule_info *a = cli_rule_infos(cur), *b = cli_rule_infos(imp);
	size_t na = gn_table_rule_count(cur), nb = gn_table_rule_count(imp), i;
	const char *top;
	int changes = 0, rc = -1;

	if (a == NULL || b == NULL) {
		fprintf(stderr, "gotonet: import: out of memory\n");
		goto end;
	}
	top = na > 0 ? NULL : current;
	/* The top file is where rules without an include come from: the first file's name. */
	for (i = 0; i < na && top == NULL; i++)
		if (strcmp(a[i].file, current) == 0)
			top = a[i].file;
	for (i = 0; i < nb; i++) {
		const struct gn_rule_info *n = &b[i], *o = find_rule(a, na, n, top);
		char po[64], pn[64];

		if (n->flags & GN_RULE_EXCEPT)
			continue;
		if (o == NULL) {
			printf("+ %s label=\"%s\" critical=%s%s%s\n", n->pattern, n->label,
			    (n->flags & GN_RULE_CRITICAL) ? "yes" : "no", n->proto ? " proto=" : "",
			    n->proto ? gn_proto_name(n->proto) : "");
			changes++;
			continue;
		}
		if (strcmp(o->label, n->label) != 0) {
			printf("~ %s (%s:%u) label: \"%s\" -> \"%s\"\n", n->pattern, o->file, o->line,
			    o->label, n->label);
			changes++;
		}
		if ((o->flags & GN_RULE_CRITICAL) != (n->flags & GN_RULE_CRITICAL)) {
			printf("~ %s (%s:%u) critical: %s -> %s\n", n->pattern, o->file, o->line,
			    (o->flags & GN_RULE_CRITICAL) ? "yes" : "no",
			    (n->flags & GN_RULE_CRITICAL) ? "yes" : "no");
			changes++;
		}
		if (o->proto != n->proto) {
			printf("~ %s (%s:%u) proto: %s -> %s\n", n->pattern, o->file, o->line,
			    gn_proto_name(o->proto), gn_proto_name(n->proto));
			changes++;
		}
		if (o->action != n->action) {
			printf("~ %s (%s:%u) action: %s -> %s\n", n->pattern, o->file, o->line,
			    gn_action_name(o->action), gn_action_name(n->action));
			changes++;
		}
		ports_str(o, po, sizeof(po));
		ports_str(n, pn, sizeof(pn));
		if (strcmp(po, pn) != 0) {
			printf("~ %s (%s:%u) ports: %s -> %s\n", n->pattern, o->file, o->line, po, pn);
			changes++;
		}
		if (strcmp(o->points_to ? o->points_to : "", n->points_to ? n->points_to : "") != 0) {
			printf("~ %s (%s:%u) points-to: \"%s\" -> \"%s\"\n", n->pattern, o->file, o->line,
			    o->points_to ? o->points_to : "", n->points_to ? n->points_to : "");
			changes++;
		}
	}
	for (i = 0; i < na; i++) {
		const struct gn_rule_info *o = &a[i];

		if ((o->flags & GN_RULE_EXCEPT) || (top != NULL && strcmp(o->file, top) != 0))
			continue;
		if (find_rule(b, nb, o, NULL) == NULL) {
			printf("- %s (%s:%u) label=\"%s\"\n", o->pattern, o->file, o->line, o->label);
			changes++;
		}
	}
	printf("%d change%s against %s (list %s; imported %s)\n", changes, changes == 1 ? "" : "s",
	    current, gn_table_version(cur)[0] ? gn_table_version(cur) : "without a version",
	    gn_table_version(imp));
	rc = changes > 0;
end:
	free(a);
	free(b);
	return rc;
}

int
cmd_import(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "diff", required_argument, NULL, 'd' },
		{ "version", required_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	const char *outpath = NULL, *diff = NULL, *version = NULL;
	struct out o = { 0 };
	struct doc d;
	struct gn_table *imp = NULL, *cur = NULL;
	struct gn_diag dg;
	char ver[128], name[PATH_MAX + 32];
	size_t i;
	int ch, rc = 2;

	while ((ch = getopt_long(argc, argv, "o:V:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'o':
			outpath = optarg;
			break;
		case 'd':
			diff = optarg;
			break;
		case 'V':
			version = optarg;
			break;
		default:
			goto usage;
		}
	}
	if (optind + 1 != argc)
		goto usage;
	if (read_doc(argv[optind], &d) == -1)
		return 2;
	if (version == NULL) {
		default_version(&d, ver, sizeof(ver));
		version = ver;
	}
	if (build(&d, version, &o) == -1)
		goto end;
	/* What we write must load: check it with the library before anyone relies on it. */
	gn_diag_init(&dg);
	snprintf(name, sizeof(name), "(rules from %s)", argv[optind]);
	imp = gn_table_load_buffer(name, o.s, o.len, &dg);
	for (i = 0; i < dg.nmsgs; i++)
		fprintf(stderr, "gotonet: import: %s\n", dg.msgs[i]);
	gn_diag_free(&dg);
	if (imp == NULL) {
		fprintf(stderr, "gotonet: import: the document gave rules that do not load; nothing "
		    "written\n");
		goto end;
	}
	if (outpath != NULL || diff == NULL) {
		FILE *f = stdout;

		if (outpath != NULL && strcmp(outpath, "-") != 0 && (f = fopen(outpath, "w")) == NULL) {
			fprintf(stderr, "gotonet: import: %s: %s\n", outpath, strerror(errno));
			goto end;
		}
		fputs(o.s, f);
		if (fflush(f) != 0 || ferror(f)) {
			fprintf(stderr, "gotonet: import: write error: %s\n", strerror(errno));
			if (f != stdout)
				fclose(f);
			goto end;
		}
		if (f != stdout && fclose(f) != 0) {
			fprintf(stderr, "gotonet: import: %s: %s\n", outpath, strerror(errno));
			goto end;
		}
	}
	if (diff != NULL) {
		int r;

		if ((cur = cli_load(diff)) == NULL)
			goto end;
		if ((r = diff_rules(diff, cur, imp)) == -1)
			goto end;
		rc = r;
	} else {
		rc = 0;
	}
end:
	gn_table_free(imp);
	gn_table_free(cur);
	free(o.s);
	free_doc(&d);
	return rc;
usage:
	fprintf(stderr, "usage: gotonet import [-o out] [-V version] [--diff rules] file\n");
	return 2;
}
