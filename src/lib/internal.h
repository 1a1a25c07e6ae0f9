/* SPDX-License-Identifier: BSD-2-Clause */
/* libgotonet internals: compact rule storage, name hash, prefix intervals. */
#ifndef GN_INTERNAL_H
#define GN_INTERNAL_H

#include <stdint.h>
#include <stddef.h>

#include "gotonet.h"

/* A string arena: offsets are stable while it grows; offset 0 is "". */
struct gn_arena {
	char		*buf;
	size_t		 len, cap;
};

int		 gn_arena_init(struct gn_arena *);
void		 gn_arena_free(struct gn_arena *);
/* Append len bytes plus a NUL; returns the offset or UINT32_MAX on ENOMEM. */
uint32_t	 gn_arena_add(struct gn_arena *, const void *, size_t len);

/* One rule, 28 bytes: the table may hold hundreds of thousands. */
struct gn_rule {
	uint32_t	pattern;	/* arena offset; NET4: the network address itself */
	uint32_t	label;		/* arena offset (interned) */
	uint32_t	points_to;	/* arena offset (interned), 0 when none */
	uint32_t	line;
	uint32_t	ports;		/* index of the first range in the port array */
	uint16_t	file;		/* index in the file-name table */
	uint8_t		kind;		/* enum gn_kind */
	uint8_t		flags;		/* GN_RULE_* */
	uint8_t		action;		/* GN_ACTION_* */
	uint8_t		proto;		/* GN_PROTO_* */
	uint8_t		prefixlen;
	uint8_t		nports;
};

/*
 * Names: one open-addressing hash holding every listed name and every
 * suffix of one (interior nodes, no rule) so that a lookup walks a name
 * label by label from the right and stops at the first suffix nobody lists.
 */
struct gn_nslot {
	uint32_t	check;		/* high hash bits | key length; 0 = empty */
	uint32_t	key;		/* arena offset of the lowercase key */
	int32_t		exact;		/* host rule, or GN_NONE */
	int32_t		wild;		/* wildcard rule, or GN_NONE */
};

struct gn_names {
	struct gn_nslot	*slots;
	uint32_t	 mask;		/* slots - 1; 0 when the table is empty */
	uint32_t	 count;
};

int		 gn_names_init(struct gn_names *, size_t expected);
void		 gn_names_free(struct gn_names *);
/*
 * Add key (lowercase, validated) with its rule; wild says which slot. The
 * first rule for a key and slot wins; returns the rule already there, or
 * GN_NONE when this one was stored, or -2 on ENOMEM.
 */
int32_t		 gn_names_add(struct gn_names *, struct gn_arena *, const char *key,
		    size_t len, int wild, int32_t rule);
/*
 * Match name (len bytes, no trailing dot, any case). Returns the deciding rule
 * (exact beats the longest wildcard) or GN_NONE; *valid is cleared when the
 * name holds a byte or label that can never match.
 */
int32_t		 gn_names_match(const struct gn_names *, const char *arena, const char *name,
		    size_t len, int *valid);

/* Addresses: sorted, non-overlapping intervals with the verdict resolved. */
struct gn_ptab4 {
	uint32_t	*start;
	int32_t		*rule;
	uint32_t	 n;
	uint32_t	*index;		/* 65537 entries: first interval at or above k << 16 */
};

typedef unsigned __int128 gn_u128;

struct gn_ptab6 {
	gn_u128		*start;
	int32_t		*rule;
	uint32_t	 n;
};

/* A prefix as the flattening sees it (both families widened to 128 bits). */
struct gn_pfx {
	gn_u128		start, end;
	int32_t		rule;
	uint8_t		len;
	uint8_t		except;
};

/* Build from pfx (sorted in place); rules gives exception flags. */
int		 gn_ptab4_build(struct gn_ptab4 *, struct gn_pfx *, size_t n);
int		 gn_ptab6_build(struct gn_ptab6 *, struct gn_pfx *, size_t n);
void		 gn_ptab4_free(struct gn_ptab4 *);
void		 gn_ptab6_free(struct gn_ptab6 *);
int32_t		 gn_ptab4_lookup(const struct gn_ptab4 *, uint32_t addr);
int32_t		 gn_ptab6_lookup(const struct gn_ptab6 *, gn_u128 addr);

/* Strict address syntax: only canonical dotted quads are IPv4. */
int		 gn_addr_parse4(const char *, size_t, uint32_t *);
int		 gn_addr_parse6(const char *, size_t, uint8_t out[16]);

/* A regex rule, compiled and JIT-compiled once, shared read-only. */
struct gn_regex {
	void		*code;		/* pcre2_code_8 */
	int32_t		 rule;
};

struct gn_table {
	struct gn_arena	 arena;
	struct gn_rule	*rules;
	size_t		 nrules;
	struct gn_port_range *ports;
	size_t		 nports;
	char		**files;
	size_t		 nfiles;
	char		*version;
	uint64_t	 digest;

	struct gn_names	 names;		/* list */
	struct gn_names	 xnames;	/* exceptions */
	struct gn_regex	*regex, *xregex;
	size_t		 nregex, nxregex;
	struct gn_ptab4	 v4[2];		/* [0] tcp, [1] udp */
	struct gn_ptab6	 v6[2];
	int		 shared_udp;	/* v4[1]/v6[1] alias [0] */
};

/* Builder entry points used by the parser (table.c). */
struct gn_table	*gn_table_new(void);
int		 gn_table_finish(struct gn_table *, struct gn_pfx *, size_t, struct gn_diag *);

#endif /* GN_INTERNAL_H */
