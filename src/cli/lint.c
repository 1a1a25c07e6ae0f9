/* SPDX-License-Identifier: BSD-2-Clause */
/* gotonet lint: the loader's errors and the library's warnings, then what the list holds. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "gotonet.h"
#include "cli.h"

static void
print_summary(const char *path, const struct gn_table *t, size_t nwarn)
{
	size_t n = gn_table_rule_count(t), i, host = 0, wild = 0, v4 = 0, v6 = 0, re = 0, x = 0;
	const char *version = gn_table_version(t);
	struct gn_rule_info r;

	for (i = 0; i < n; i++) {
		if (gn_table_rule_info(t, (int32_t)i, &r) == -1)
			continue;
		if (r.flags & GN_RULE_EXCEPT) {
			x++;
			continue;
		}
		switch (r.kind) {
		case GN_KIND_HOST:
			host++;
			break;
		case GN_KIND_DOMAIN:
			wild++;
			break;
		case GN_KIND_NET4:
			v4++;
			break;
		case GN_KIND_NET6:
			v6++;
			break;
		case GN_KIND_REGEX:
			re++;
			break;
		}
	}
	printf("%s: list %s: %zu rule%s (%zu wildcard%s, %zu host%s, %zu IPv4 prefix%s, "
	    "%zu IPv6 prefix%s, %zu regex%s, %zu exception%s), digest %016llx: %zu warning%s\n",
	    path, version[0] ? version : "(no version line)", n, n == 1 ? "" : "s",
	    wild, wild == 1 ? "" : "s", host, host == 1 ? "" : "s", v4, v4 == 1 ? "" : "es",
	    v6, v6 == 1 ? "" : "es", re, re == 1 ? "" : "es", x, x == 1 ? "" : "s",
	    (unsigned long long)gn_table_digest(t), nwarn, nwarn == 1 ? "" : "s");
}

int
cmd_lint(int argc, char **argv)
{
	const char *rules = gn_default_rules;
	unsigned flags = 0;
	struct gn_table *t;
	struct gn_diag d;
	size_t i;
	int ch, rc;

	while ((ch = getopt(argc, argv, "Rr:")) != -1) {
		switch (ch) {
		case 'R':
			flags |= GN_LINT_RELABEL_OK;
			break;
		case 'r':
			rules = optarg;
			break;
		default:
			goto usage;
		}
	}
	if (optind != argc)
		goto usage;
	if ((t = cli_load(rules)) == NULL)
		return 2;
	gn_diag_init(&d);
	if (gn_lint_table(t, flags, &d) == -1) {
		fprintf(stderr, "gotonet: lint: out of memory\n");
		rc = 2;
		goto end;
	}
	for (i = 0; i < d.nmsgs; i++)
		fprintf(stderr, "%s\n", d.msgs[i]);
	fflush(stderr);
	print_summary(rules, t, d.nwarnings);
	rc = d.nwarnings > 0 ? 1 : 0;
end:
	gn_diag_free(&d);
	gn_table_free(t);
	return rc;
usage:
	fprintf(stderr, "usage: gotonet lint [-R] [-r rules]\n");
	return 2;
}
