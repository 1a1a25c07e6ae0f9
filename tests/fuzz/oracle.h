/* SPDX-License-Identifier: BSD-2-Clause */
/* A deliberately simple linear matcher, from gotonet.rules(5), to check the fast table against. */
#ifndef GN_ORACLE_H
#define GN_ORACLE_H

#include <stddef.h>

#include "gotonet.h"

struct gn_oracle;

/*
 * Read every rule of t (through gn_table_rule_info only) into an oracle of
 * its own. Returns NULL on ENOMEM or when a rule as the table reports it
 * cannot be read back (a pattern that is not what its kind says); then why
 * (whysize bytes) says what.
 */
struct gn_oracle	*gn_oracle_new(const struct gn_table *t, char *why, size_t whysize);
void			 gn_oracle_free(struct gn_oracle *);

/*
 * Decide target (len bytes, not NUL-terminated) for proto by trying every
 * rule in turn. Returns 0 with the verdict in *v, or -1 when a regular
 * expression could not decide (PCRE2 stopped with an error such as its match
 * limit); the manual does not say what that means. Then *v is what is known
 * for sure: an exception regex that could not decide leaves v->match
 * GN_MATCH_EXCEPTED with its rule (whatever the answer, the target must not be
 * bypassed), and a list regex leaves GN_MATCH_NONE (nothing to hold the table
 * to).
 */
int			 gn_oracle_lookup(const struct gn_oracle *, const char *target, size_t len,
			    unsigned proto, struct gn_verdict *v);

/* Write a verdict as "listed rule 3 (name)"; returns buf. */
const char		*gn_oracle_verdict_str(const struct gn_verdict *v, char *buf, size_t size);

#endif /* GN_ORACLE_H */
