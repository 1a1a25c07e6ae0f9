/* SPDX-License-Identifier: BSD-2-Clause */
/* libFuzzer target: any bytes as a rules file; errors or a table that agrees with the oracle. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"

/*
 * The buffer is named DIR/fuzz.rules, DIR a private directory holding a few
 * files to include (a valid list, a loop, a chain too deep, a second version
 * line), so that relative includes are fuzzed too. Inputs that include a
 * path with a '/' are skipped: they could reach /dev/zero or a FIFO and
 * measure the machine rather than the parser.
 */
static char dir[64];
static char name[96];
static pid_t owner;		/* the process that made dir; a replay's children must not remove it */

static const struct {
	const char	*file, *text;
} files[] = {
	{ "list.rules", "*.goto.com label=x\nlaunch.getgo.com label=y\n10.0.0.0/8 proto=udp label=z\n"
	    "except portal.goto.com\n~edge[0-9]+\\.example\\.net label=e\n" },
	{ "loop.rules", "include loop.rules\n" },
	{ "version.rules", "version inner\n" },
	{ "bad.rules", "*goto.com label=x\n010.1.2.3 label=y\n" },
	{ "d1.rules", "include d2.rules\n" }, { "d2.rules", "include d3.rules\n" },
	{ "d3.rules", "include d4.rules\n" }, { "d4.rules", "include d5.rules\n" },
	{ "d5.rules", "include d6.rules\n" }, { "d6.rules", "include d7.rules\n" },
	{ "d7.rules", "include d8.rules\n" }, { "d8.rules", "include d9.rules\n" },
	{ "d9.rules", "a.test label=deep\n" },
};
#define NFILES (sizeof(files) / sizeof(files[0]))

static void
cleanup(void)
{
	char path[128];
	size_t i;

	if (getpid() != owner)
		return;
	for (i = 0; i < NFILES; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i].file);
		unlink(path);
	}
	rmdir(dir);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = getenv("TMPDIR");
	char path[128];
	size_t i;
	FILE *f;

	(void)argc;
	(void)argv;
	if (tmp == NULL || *tmp == '\0' || strlen(tmp) > 40)
		tmp = "/tmp";
	snprintf(dir, sizeof(dir), "%s/gn-fuzz.XXXXXX", tmp);
	if (mkdtemp(dir) == NULL)
		gn_fuzz_fail(NULL, 0, "mkdtemp %s failed", dir);
	owner = getpid();
	atexit(cleanup);
	for (i = 0; i < NFILES; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i].file);
		if ((f = fopen(path, "w")) == NULL || fputs(files[i].text, f) == EOF || fclose(f) != 0)
			gn_fuzz_fail(NULL, 0, "cannot write %s", path);
	}
	snprintf(name, sizeof(name), "%s/fuzz.rules", dir);
	return 0;
}

/* Does a line (as the parser splits them, on '\n') start with include and hold a '/'? */
static int
includes_a_path(const uint8_t *data, size_t size)
{
	size_t i = 0, j;

	while (i < size) {
		const uint8_t *nl = memchr(data + i, '\n', size - i);
		size_t end = nl ? (size_t)(nl - data) : size;

		for (j = i; j < end && (data[j] == ' ' || data[j] == '\t' || data[j] == '\r'); j++)
			;
		if (end - j >= 7 && memcmp(data + j, "include", 7) == 0 &&
		    memchr(data + j, '/', end - j) != NULL)
			return 1;
		i = end + 1;
	}
	return 0;
}

/* Nothing but blank lines and comments: an empty list, which must load. */
static int
blank(const uint8_t *data, size_t size)
{
	size_t i = 0;

	while (i < size) {
		while (i < size && (data[i] == ' ' || data[i] == '\t' || data[i] == '\r'))
			i++;
		if (i < size && data[i] == '#')
			while (i < size && data[i] != '\n' && data[i] != '\0')
				i++;
		if (i < size && data[i] != '\n')
			return 0;
		i++;
	}
	return 1;
}

static void
check_diag(const struct gn_diag *d, const uint8_t *data, size_t size)
{
	size_t i, dlen = strlen(dir);

	if (d->nmsgs != d->nerrors + d->nwarnings)
		gn_fuzz_fail((const char *)data, size, "%zu messages but %zu errors and %zu warnings",
		    d->nmsgs, d->nerrors, d->nwarnings);
	for (i = 0; i < d->nmsgs; i++) {
		const char *m = d->msgs[i];

		/* "file:line: what", the file one of ours. */
		if (m == NULL || strncmp(m, dir, dlen) != 0 || m[dlen] != '/' ||
		    strstr(m, ": ") == NULL)
			gn_fuzz_fail((const char *)data, size, "message %zu is not 'file:line: what': %s",
			    i, m ? m : "(null)");
	}
}

static void
check_info(const struct gn_table *t, const struct gn_rule_info *in, const uint8_t *data,
    size_t size)
{
	const char *text = (const char *)data;
	size_t k;

	if (in->pattern == NULL || in->file == NULL || in->label == NULL || in->line == 0 ||
	    in->pattern[0] == '\0')
		gn_fuzz_fail(text, size, "rule %d: pattern %p file %p label %p line %u", (int)in->id,
		    (const void *)in->pattern, (const void *)in->file, (const void *)in->label,
		    in->line);
	if (strncmp(in->file, dir, strlen(dir)) != 0)
		gn_fuzz_fail(text, size, "rule %d: file '%s' is not one of ours", (int)in->id, in->file);
	if ((unsigned)in->kind > GN_KIND_REGEX ||
	    (in->flags & ~(unsigned)(GN_RULE_EXCEPT | GN_RULE_CRITICAL)))
		gn_fuzz_fail(text, size, "rule %d: kind %d flags %#x", (int)in->id, (int)in->kind,
		    in->flags);
	if ((in->flags & GN_RULE_EXCEPT) ?
	    (in->action != 0 || (in->flags & GN_RULE_CRITICAL) || in->nports != 0 || in->points_to) :
	    (in->action == 0 || (in->action & ~(unsigned)GN_ACTION_BOTH)))
		gn_fuzz_fail(text, size, "rule %d (%s): action %#x flags %#x nports %zu", (int)in->id,
		    in->pattern, in->action, in->flags, in->nports);
	if (in->kind == GN_KIND_NET4 || in->kind == GN_KIND_NET6) {
		if (in->proto == 0 || (in->proto & ~(unsigned)(GN_PROTO_TCP | GN_PROTO_UDP)) ||
		    in->prefixlen > (in->kind == GN_KIND_NET4 ? 32u : 128u))
			gn_fuzz_fail(text, size, "rule %d (%s): proto %#x prefixlen %u", (int)in->id,
			    in->pattern, in->proto, in->prefixlen);
	} else if (in->proto != 0)
		gn_fuzz_fail(text, size, "rule %d (%s): proto %#x on a name rule", (int)in->id,
		    in->pattern, in->proto);
	if ((in->nports == 0) != (in->ports == NULL))
		gn_fuzz_fail(text, size, "rule %d: nports %zu ports %p", (int)in->id, in->nports,
		    (const void *)in->ports);
	for (k = 0; k < in->nports; k++) {
		if (in->ports[k].lo < 1 || in->ports[k].lo > in->ports[k].hi)
			gn_fuzz_fail(text, size, "rule %d: port range %u-%u", (int)in->id,
			    in->ports[k].lo, in->ports[k].hi);
		if (!gn_table_rule_port_ok(t, in->id, in->ports[k].lo) ||
		    !gn_table_rule_port_ok(t, in->id, in->ports[k].hi))
			gn_fuzz_fail(text, size, "rule %d: port %u listed but refused", (int)in->id,
			    in->ports[k].lo);
	}
	if (in->nports == 0 && (!gn_table_rule_port_ok(t, in->id, 1) ||
	    !gn_table_rule_port_ok(t, in->id, 65535)))
		gn_fuzz_fail(text, size, "rule %d: no ports but a port refused", (int)in->id);
}

/* A host or wildcard the list accepted must decide its own name: listed or excepted. */
static void
check_self(const struct gn_table *t, const struct gn_rule_info *in, const uint8_t *data,
    size_t size)
{
	const char *own = in->pattern + (in->kind == GN_KIND_DOMAIN ? 2 : 0);

	if ((in->kind != GN_KIND_HOST && in->kind != GN_KIND_DOMAIN) ||
	    (in->flags & GN_RULE_EXCEPT))
		return;
	if (gn_table_lookup(t, own, strlen(own), GN_PROTO_TCP).match == GN_MATCH_NONE)
		gn_fuzz_fail((const char *)data, size, "rule %d (%s): '%s' is not listed",
		    (int)in->id, in->pattern, own);
}

/* Each word of the input as a target: the fuzzer controls these. */
static void
probe_words(const struct gn_table *t, const struct gn_oracle *o, const uint8_t *data, size_t size)
{
	size_t i = 0, j, nwords = 0;

	while (i < size && nwords < 64) {
		while (i < size && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n'))
			i++;
		for (j = i; j < size && data[j] != ' ' && data[j] != '\t' && data[j] != '\n'; j++)
			;
		if (j > i) {
			gn_fuzz_compare(t, o, (const char *)data + i, j - i, (const char *)data, size);
			nwords++;
		}
		i = j;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gn_table *t, *again;
	struct gn_oracle *o;
	struct gn_rule_info info;
	struct gn_diag diag;
	char why[200];
	size_t i, n;

	if (includes_a_path(data, size))
		return 0;
	gn_diag_init(&diag);
	t = gn_table_load_buffer(name, (const char *)data, size, &diag);
	check_diag(&diag, data, size);
	if (t == NULL) {
		if (blank(data, size))
			gn_fuzz_fail((const char *)data, size, "an empty list did not load: %s",
			    diag.nmsgs ? diag.msgs[0] : "(no message)");
		if (diag.nerrors == 0)
			gn_fuzz_fail((const char *)data, size, "no table and no error");
		gn_diag_free(&diag);
		return 0;
	}
	if (diag.nerrors != 0)
		gn_fuzz_fail((const char *)data, size, "a table despite %zu errors: %s", diag.nerrors,
		    diag.msgs[0]);
	gn_diag_free(&diag);

	n = gn_table_rule_count(t);
	if (blank(data, size) && n != 0)
		gn_fuzz_fail((const char *)data, size, "%zu rules from blank lines and comments", n);
	if (gn_table_rule_info(t, (int32_t)n, &info) != -1 || gn_table_rule_info(t, -1, &info) != -1)
		gn_fuzz_fail((const char *)data, size, "rule_info accepts an id out of range");
	for (i = 0; i < n; i++) {
		if (gn_table_rule_info(t, (int32_t)i, &info) == -1 || info.id != (int32_t)i)
			gn_fuzz_fail((const char *)data, size, "no info for rule %zu of %zu", i, n);
		check_info(t, &info, data, size);
	}
	(void)gn_table_version(t);

	if ((o = gn_oracle_new(t, why, sizeof(why))) == NULL)
		gn_fuzz_fail((const char *)data, size, "oracle: %s", why);
	for (i = 0; i < n; i++) {
		gn_table_rule_info(t, (int32_t)i, &info);
		gn_fuzz_probe_rule(t, o, &info, (const char *)data, size);
		check_self(t, &info, data, size);
	}
	probe_words(t, o, data, size);
	gn_oracle_free(o);

	/* Loading is deterministic: the same bytes give the same digest. */
	gn_diag_init(&diag);
	if ((again = gn_table_load_buffer(name, (const char *)data, size, &diag)) == NULL ||
	    gn_table_digest(again) != gn_table_digest(t) || gn_table_rule_count(again) != n)
		gn_fuzz_fail((const char *)data, size, "a second load of the same bytes differs");
	gn_table_free(again);
	gn_diag_free(&diag);
	gn_table_free(t);
	return 0;
}
