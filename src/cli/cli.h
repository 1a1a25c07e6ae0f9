/* SPDX-License-Identifier: BSD-2-Clause */
/* Shared pieces of the gotonet command's subcommands. */
#ifndef GN_CLI_H
#define GN_CLI_H

#include <stdio.h>

#include "gotonet.h"

extern const char *gn_default_rules;

/* Load rules, printing every error to stderr; NULL when the file has any. */
struct gn_table	*cli_load(const char *path);
void		 cli_print_rule(FILE *, const struct gn_rule_info *);
/* Every rule's info, by id, or NULL on ENOMEM; free() it. */
struct gn_rule_info *cli_rule_infos(const struct gn_table *);

int		 cmd_check(int, char **);
int		 cmd_lint(int, char **);
int		 cmd_export(int, char **);
int		 cmd_import(int, char **);

#endif
