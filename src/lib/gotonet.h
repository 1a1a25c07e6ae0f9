/* SPDX-License-Identifier: BSD-2-Clause */
/* libgotonet: load a bypass list into an immutable table and answer "is this host or address on it?". */
#ifndef GOTONET_H
#define GOTONET_H

#include <stddef.h>
#include <stdint.h>

#define GN_NONE		(-1)	/* "no rule" wherever a rule id is expected */

/* What a pattern is. */
enum gn_kind {
	GN_KIND_HOST = 0,	/* exact host name: launch.getgo.com */
	GN_KIND_DOMAIN,		/* wildcard: *.goto.com (goto.com and every name below it) */
	GN_KIND_NET4,		/* IPv4 prefix: 173.199.0.0/18 */
	GN_KIND_NET6,		/* IPv6 prefix: 2001:db8::/32 */
	GN_KIND_REGEX		/* PCRE2 pattern that must match the whole host name */
};

/* Rule flags. */
#define GN_RULE_EXCEPT		0x01	/* admin exception: never bypass what it matches */
#define GN_RULE_CRITICAL	0x02	/* the vendor calls this entry critical */

/* Actions: what the proxy does with listed traffic. */
#define GN_ACTION_SPLICE	0x01	/* exclude from TLS inspection (ssl_bump splice) */
#define GN_ACTION_DIRECT	0x02	/* send straight to the origin (always_direct) */
#define GN_ACTION_BOTH		(GN_ACTION_SPLICE | GN_ACTION_DIRECT)

/* Protocols an address rule applies to. */
#define GN_PROTO_TCP		0x01
#define GN_PROTO_UDP		0x02

/* The answer to one lookup. */
enum gn_match {
	GN_MATCH_NONE = 0,	/* not on the list */
	GN_MATCH_LISTED,	/* on the list: rule says how */
	GN_MATCH_EXCEPTED	/* matched by an admin exception: never bypass */
};

/* How the target was read. */
enum gn_target {
	GN_TARGET_NAME = 0,	/* a host name (ASCII, A-labels) */
	GN_TARGET_IPV4,		/* canonical dotted quad, or IPv4-mapped IPv6 */
	GN_TARGET_IPV6,		/* IPv6 literal, bracketed or not */
	GN_TARGET_INVALID	/* neither: bad bytes, empty label, non-canonical IPv4 form... */
};

struct gn_verdict {
	enum gn_match	match;
	enum gn_target	target;
	int32_t		rule;	/* deciding rule id, GN_NONE when match is GN_MATCH_NONE */
};

/* A port range; a rule without ports applies to every port. */
struct gn_port_range {
	uint16_t	lo, hi;
};

/*
 * A rule as written, for front ends (check, exports, logs). Every pointer is
 * borrowed from the table and lives as long as it does.
 */
struct gn_rule_info {
	int32_t		id;		/* 0 .. gn_table_rule_count() - 1, in file order */
	enum gn_kind	kind;
	const char	*pattern;	/* normalised: lowercase names, canonical prefixes */
	const char	*label;
	const char	*points_to;	/* vendor's "points to" column, or NULL */
	const char	*file;		/* file the rule came from */
	unsigned	line;
	unsigned	flags;		/* GN_RULE_* */
	unsigned	action;		/* GN_ACTION_* */
	unsigned	proto;		/* GN_PROTO_*, address rules only (0 for names) */
	const struct gn_port_range *ports;	/* NULL when nports is 0 (any port) */
	size_t		nports;
	uint8_t		addr[16];	/* network, for NET4 (first 4 bytes) and NET6 */
	unsigned	prefixlen;
	char		buf[48];	/* storage behind pattern for address rules */
};

/*
 * Diagnostics collected while loading: every error of a file, each one line
 * "file:line: what". The library never prints; callers do.
 */
struct gn_diag {
	char		**msgs;
	size_t		nmsgs, cap;
	size_t		nerrors;
	size_t		nwarnings;
};

void		 gn_diag_init(struct gn_diag *);
void		 gn_diag_free(struct gn_diag *);
/* Add a message; warn is 0 for an error. Formats like printf. Returns -1 on ENOMEM. */
int		 gn_diag_add(struct gn_diag *, int warn, const char *fmt, ...)
		    __attribute__((format(printf, 3, 4)));

struct gn_table;

/*
 * Load the rules file at path (and what it includes) into a new table. On
 * success returns the table; on any error returns NULL with every error of
 * every file in diag. A table is never half-loaded: callers keep using their
 * old table until this returns non-NULL.
 */
struct gn_table	*gn_table_load(const char *path, struct gn_diag *diag);

/* The same from a buffer; name is used in messages and to resolve includes. */
struct gn_table	*gn_table_load_buffer(const char *name, const char *buf, size_t len,
		    struct gn_diag *diag);

void		 gn_table_free(struct gn_table *);

/*
 * Look up a target: a host name, a canonical IPv4 address, an IPv6 address
 * (optionally in brackets; IPv4-mapped addresses are looked up as IPv4). The
 * target is len bytes, not NUL-terminated. proto (GN_PROTO_TCP or _UDP)
 * selects the address rules that apply; names ignore it. Case and one trailing
 * dot are ignored. Anything that is not a valid name or canonical address
 * never matches. Safe from many threads at once; never allocates except once
 * per thread when the table holds regular expressions.
 * Exceptions beat the list; otherwise the most specific rule decides
 * (exact host, then longest wildcard suffix, then regexes in file order;
 * longest prefix for addresses).
 */
struct gn_verdict gn_table_lookup(const struct gn_table *, const char *target,
		    size_t len, unsigned proto);

/* Does rule id allow this port? (Rules without ports allow all.) */
int		 gn_table_rule_port_ok(const struct gn_table *, int32_t rule, unsigned port);

size_t		 gn_table_rule_count(const struct gn_table *);
/* Fill info for rule id. Returns -1 when id is out of range. */
int		 gn_table_rule_info(const struct gn_table *, int32_t id, struct gn_rule_info *info);
/* The list's version line ("" when none) and a 64-bit digest of every rule. */
const char	*gn_table_version(const struct gn_table *);
uint64_t	 gn_table_digest(const struct gn_table *);

const char	*gn_kind_name(enum gn_kind);
const char	*gn_match_name(enum gn_match);
const char	*gn_target_name(enum gn_target);
/* "splice", "direct" or "splice,direct". */
const char	*gn_action_name(unsigned action);
/* "tcp", "udp", "tcp,udp" or "" */
const char	*gn_proto_name(unsigned proto);

/*
 * Write name (len bytes) with its labels in reverse order ("www.goto.com" ->
 * "com.goto.www") to out, which holds len + 1 bytes; sorting such keys puts
 * a domain beside everything below it (lint, exports).
 */
void		 gn_name_reverse_labels(const char *name, size_t len, char *out);

/* lint (src/lib/lint.c) */

/* Don't warn about a name or prefix a wider rule covers when only the label differs. */
#define GN_LINT_RELABEL_OK	0x01

/*
 * Look for what a loaded list says that its author probably did not mean:
 * duplicate patterns, hosts and wildcards a wider wildcard already covers
 * (redundant when the label and action are the same, a relabel or an
 * override otherwise), nested or identical prefixes, exceptions that match no
 * list rule, and rules that never decide (swallowed by an exception, a regex
 * that can only match names a host or wildcard already decides). Each finding
 * is added to diag as a warning "file:line: warning: what", in rule order.
 * Regexes are judged from their literal tail, so some overlaps go unseen,
 * never the other way round. flags: GN_LINT_*. Returns 0, or -1 on ENOMEM.
 */
int		 gn_lint_table(const struct gn_table *, unsigned flags, struct gn_diag *diag);

#endif /* GOTONET_H */
