/* SPDX-License-Identifier: BSD-2-Clause */
/* gotonet: explain verdicts and manage rules files from the command line. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gotonet.h"
#include "cli.h"

const char *gn_default_rules = GN_RULES_PATH;

/* Load rules, printing every error; NULL when the file has any. */
struct gn_table *
cli_load(const char *path)
{
	struct gn_table *t;
	struct gn_diag d;
	size_t i;

	gn_diag_init(&d);
	t = gn_table_load(path, &d);
	for (i = 0; i < d.nmsgs; i++)
		fprintf(stderr, "%s\n", d.msgs[i]);
	if (t == NULL)
		fprintf(stderr, "gotonet: %zu error%s in %s; rules not loaded\n", d.nerrors,
		    d.nerrors == 1 ? "" : "s", path);
	gn_diag_free(&d);
	return t;
}

struct gn_rule_info *
cli_rule_infos(const struct gn_table *t)
{
	size_t n = gn_table_rule_count(t), i;
	struct gn_rule_info *info;

	if ((info = calloc(n + 1, sizeof(*info))) == NULL)
		return NULL;
	/* In place: an address rule's pattern points into its own info. */
	for (i = 0; i < n; i++)
		gn_table_rule_info(t, (int32_t)i, &info[i]);
	return info;
}

void
cli_print_rule(FILE *f, const struct gn_rule_info *r)
{
	fprintf(f, "rule %s:%u %s label=\"%s\"", r->file, r->line, r->pattern, r->label);
	if (r->flags & GN_RULE_EXCEPT) {
		fprintf(f, " exception");
		return;
	}
	fprintf(f, " critical=%s action=%s", (r->flags & GN_RULE_CRITICAL) ? "yes" : "no",
	    gn_action_name(r->action));
	if (r->proto)
		fprintf(f, " proto=%s", gn_proto_name(r->proto));
	for (size_t i = 0; i < r->nports; i++) {
		fprintf(f, "%s%u", i == 0 ? " ports=" : ",", r->ports[i].lo);
		if (r->ports[i].hi != r->ports[i].lo)
			fprintf(f, "-%u", r->ports[i].hi);
	}
}

int
cmd_check(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	const char *rules = gn_default_rules;
	unsigned proto = GN_PROTO_TCP;
	struct gn_table *t;
	int ch, i, rc = 0, version = 0;

	while ((ch = getopt_long(argc, argv, "r:uV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'r':
			rules = optarg;
			break;
		case 'u':
			proto = GN_PROTO_UDP;
			break;
		case 'V':
			version = 1;
			break;
		default:
			goto usage;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0 && !version)
		goto usage;
	if ((t = cli_load(rules)) == NULL)
		return 2;
	/* Which list is in force, as the helper and srv_gotonet report it. */
	if (version) {
		size_t n = gn_table_rule_count(t);
		const char *v = gn_table_version(t);

		printf("%s: list %s, %zu rule%s, digest %016llx\n", rules,
		    v[0] != '\0' ? v : "(no version line)", n, n == 1 ? "" : "s",
		    (unsigned long long)gn_table_digest(t));
	}
	for (i = 0; i < argc; i++) {
		struct gn_verdict v = gn_table_lookup(t, argv[i], strlen(argv[i]), proto);
		struct gn_rule_info r;

		printf("%s %s", argv[i], gn_match_name(v.match));
		if (v.rule != GN_NONE && gn_table_rule_info(t, v.rule, &r) == 0) {
			putchar(' ');
			cli_print_rule(stdout, &r);
		} else if (v.target == GN_TARGET_INVALID) {
			printf(" (not a valid host name or canonical address)");
		}
		putchar('\n');
		if (v.match != GN_MATCH_LISTED)
			rc = 1;
	}
	gn_table_free(t);
	return rc;
usage:
	fprintf(stderr, "usage: gotonet check [-u] [-r rules] target ...\n"
	    "       gotonet check [-r rules] --version [target ...]\n");
	return 2;
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: gotonet check [-u] [-r rules] target ...\n"
	    "       gotonet lint [-R] [-r rules]\n"
	    "       gotonet export squid|pac|nft|iptables|ip6tables|routes [-r rules] [options]\n"
	    "       gotonet import [-o out] [-V version] [--diff rules] file\n"
	    "       gotonet --version\n");
}

int
main(int argc, char **argv)
{
	if (argc < 2) {
		usage();
		return 2;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("gotonet %s\n", PACKAGE_VERSION);
		return 0;
	}
	if (strcmp(argv[1], "check") == 0)
		return cmd_check(argc - 1, argv + 1);
	if (strcmp(argv[1], "lint") == 0)
		return cmd_lint(argc - 1, argv + 1);
	if (strcmp(argv[1], "export") == 0)
		return cmd_export(argc - 1, argv + 1);
	if (strcmp(argv[1], "import") == 0)
		return cmd_import(argc - 1, argv + 1);
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		usage();
		return 0;
	}
	fprintf(stderr, "gotonet: unknown command '%s'\n", argv[1]);
	usage();
	return 2;
}
