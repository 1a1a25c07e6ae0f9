/* SPDX-License-Identifier: BSD-2-Clause */
/* Shared pieces of the gotonet command's subcommands. */
#ifndef GN_CLI_H
#define GN_CLI_H

#include <stdio.h>

#include "gotonet.h"

extern const char *gn_default_rules;

struct gn_table	*cli_load(const char *path);
void		 cli_print_rule(FILE *, const struct gn_rule_info *);

#endif
