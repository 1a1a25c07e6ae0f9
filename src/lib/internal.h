/* SPDX-License-Identifier: BSD-2-Clause */
/* libgotonet internals: compact rule storage, name hash, prefix intervals. */
#ifndef GN_INTERNAL_H
#define GN_INTERNAL_H

#include <stdint.h>
#include <stddef.h>

#include "gotonet.h"

/*
 * Memory for big arrays (mem.c): each big block is a mapping of its own,
 * faulted in with one call rather than a page fault per page, in huge pages
 * where it fills them, and unmapped when freed. Blocks are zeroed; small
 * ones come from malloc. Free with gn_mem_free() only.
 */
void		*gn_mem_alloc(size_t size);
/* A block of size bytes with room reserved (not faulted in) to grow to max in place. */
void		*gn_mem_reserve(size_t size, size_t max);
/*
 * Grow (new bytes zeroed), moving only past the room reserved, or shrink,
 * giving back the room (the same size: only that); NULL, p intact, on ENOMEM.
 */
void		*gn_mem_realloc(void *p, size_t size);
void		 gn_mem_free(void *p);
/* Give back the pages of bytes [from, to) of a block, done with; they read as zeroes after. */
void		 gn_mem_discard(void *p, size_t from, size_t to);
/* The next size in bytes for a growing block of cap bytes that must hold need. */
size_t		 gn_mem_grow(size_t cap, size_t need);

/* Bytes kept readable past the arena's end and a lookup's copy of a name: keys are compared 32 at a time. */
#define KEY_PAD		32

/* A string arena: offsets are stable while it grows; offset 0 is "". */
struct gn_arena {
	char		*buf;
	size_t		 len, cap;
};

/* max: how big it may get (room reserved, not used), 0 if not known. */
int		 gn_arena_init(struct gn_arena *, size_t max);
void		 gn_arena_free(struct gn_arena *);
/* Append len bytes plus a NUL; returns the offset or UINT32_MAX on ENOMEM. */
uint32_t	 gn_arena_add(struct gn_arena *, const void *, size_t len);

/*
 * A verdict code, what the hot tables store: a rule id with the exception
 * bit beside it, so a lookup never touches the rule itself. -1 is none.
 */
#define GN_VC_EXCEPT	0x40000000
#define GN_VC_RULE(vc)	((vc) & ~GN_VC_EXCEPT)
#define GN_VC_IS_EXCEPT(vc) ((vc) >= 0 && ((vc) & GN_VC_EXCEPT))

/* What rules share (few distinct sets in a list): interned. */
struct gn_attrs {
	uint32_t	label;		/* arena offset */
	uint32_t	points_to;	/* arena offset, 0 when none */
	uint32_t	ports;		/* index of the first range in the port array */
	uint8_t		nports;
	uint8_t		flags;		/* GN_RULE_* */
	uint8_t		action;		/* GN_ACTION_* */
	uint8_t		proto;		/* GN_PROTO_* */
};

/* One rule, 16 bytes: the table may hold hundreds of thousands. */
struct gn_rule {
	uint32_t	pattern;	/* arena offset; NET4: the network address itself */
	uint32_t	line;
	uint32_t	attrs;		/* index in the attribute sets */
	uint16_t	file;		/* index in the file-name table */
	uint8_t		kind;		/* enum gn_kind */
	uint8_t		prefixlen;
};

/*
 * Names: one open-addressing hash holding every listed name (hosts and
 * wildcard domains); a lookup probes each suffix of a name that starts at a
 * label. Each key is copied once into its record (names.c).
 */
/*
 * Copy a name lowercased to a buffer padded with KEY_PAD zero bytes, its
 * dots as bits in four words; -1 when a byte is never in a name (names.c).
 */
typedef int	 gn_classify_fn(const unsigned char *, size_t, unsigned char *, uint64_t[4]);

struct gn_names {
	uint8_t		*tags;		/* per slot: 0 empty, else 7 bits of its hash; the first 16 again at the end */
	uint16_t	*at;		/* per slot: its record's place past its block of 64's first, in 4-byte units */
	uint32_t	*base;		/* per 64 slots: where the first one's record is */
	uint8_t		*recs;		/* the records, in slot order */
	gn_classify_fn	*classify;	/* the fastest this machine runs */
	uint32_t	 mask;		/* slots - 1 */
	uint32_t	 count;
	uint8_t		 minlabels;	/* the fewest labels a key has (UINT8_MAX with no key) */
	uint8_t		 maxlabels;	/* the most (0 with no key) */
	/* While loading: each key's first rule, the rules for keys already in, records' bytes at most. */
	uint32_t	*first;
	struct gn_nmore	*more;
	size_t		 nmore, moremax;
	size_t		 bytes;
};

/* expected: at least as many as there will be keys; the table never grows. */
int		 gn_names_init(struct gn_names *, size_t expected);
void		 gn_names_free(struct gn_names *);
/*
 * Add the host or wildcard rule with verdict code vc (its pattern in arena
 * lowercase and validated). For each key and kind the first rule wins,
 * unless a later exception replaces a list rule. Returns 0, or -1 when full
 * or out of memory. The rules and arena must stay until gn_names_finish().
 */
int		 gn_names_add(struct gn_names *, const char *arena, const struct gn_rule *rules,
		    int32_t vc);
/* Lay the records out once every rule is in; 0, or -1 on ENOMEM. */
int		 gn_names_finish(struct gn_names *, const char *arena, const struct gn_rule *rules);
/*
 * Match name (len bytes, no trailing dot, any case). Returns the deciding
 * verdict code (the deepest exception if any, else exact beats the longest
 * wildcard) or -1; *valid is 0 when the name holds a byte or label that can
 * never match, 2 when its last label makes it an address attempt, else 1.
 */
int32_t		 gn_names_match(const struct gn_names *, const char *name, size_t len, int *valid);

typedef unsigned __int128 gn_u128;

/*
 * Addresses: sorted, non-overlapping intervals with the verdict for tcp and
 * udp resolved. IPv4 keeps them by /16 block: top[k] says where block k's
 * record is in rec and how many intervals start inside it (n); the record
 * holds their starts' low 16 bits, then n + 1 verdict codes (tcp, udp pairs
 * when the block tells the two apart), the first one in force at k << 16.
 * A lookup reads top, then one record, with no search between blocks.
 */
struct gn_ptab4 {
	uint32_t	*top;		/* 65536: record offset << 5 | pairs << 4 | n (15: n heads the record) */
	uint32_t	*rec;		/* records, 4-byte aligned, in top's block after it */
};

struct gn_iv6 {
	gn_u128		start;
	int32_t		vc[2];
};

struct gn_ptab6 {
	struct gn_iv6	*iv;
	uint32_t	 n;
};

/* Prefixes as the parser collects them. */
struct gn_pfx4 {
	uint32_t	start, end;
	int32_t		vc;
	uint8_t		len;
	uint8_t		proto;		/* GN_PROTO_*, both for exceptions */
};

struct gn_pfx6 {
	gn_u128		start, end;
	int32_t		vc;
	uint8_t		len;
	uint8_t		proto;
};

/*
 * Build from prefixes (sorted in place). The IPv4 build takes p, a
 * gn_mem block, whatever it returns: its memory becomes the table's.
 */
int		 gn_ptab4_build(struct gn_ptab4 *, struct gn_pfx4 *, size_t n);
int		 gn_ptab6_build(struct gn_ptab6 *, struct gn_pfx6 *, size_t n);
void		 gn_ptab4_free(struct gn_ptab4 *);
void		 gn_ptab6_free(struct gn_ptab6 *);
/* Verdict code for addr; pi is 0 for tcp, 1 for udp. */
int32_t		 gn_ptab4_lookup(const struct gn_ptab4 *, uint32_t addr, int pi);
int32_t		 gn_ptab6_lookup(const struct gn_ptab6 *, gn_u128 addr, int pi);

/* Strict address syntax: only canonical dotted quads are IPv4. */
int		 gn_addr_parse4(const char *, size_t, uint32_t *);
/* The obvious byte loop gn_addr_parse4() must agree with (tests compare them). */
int		 gn_addr_parse4_ref(const char *, size_t, uint32_t *);
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
	struct gn_attrs	*attrs;
	size_t		 nattrs;
	struct gn_port_range *ports;
	size_t		 nports;
	char		**files;
	size_t		 nfiles;
	char		*version;
	uint64_t	 digest;

	struct gn_names	 names;		/* hosts and wildcards, exceptions included */
	struct gn_regex	*regex, *xregex;
	size_t		 nregex, nxregex;
	void		*mctx;		/* pcre2_match_context_8: limits, shared read-only */
	struct gn_ptab4	 v4;
	struct gn_ptab6	 v6;
};

static inline const struct gn_attrs *
gn_rule_attrs(const struct gn_table *t, const struct gn_rule *r)
{
	return &t->attrs[r->attrs];
}

/* Builder entry points used by the parser (table.c). */
/* size: of the rules text, to reserve room for what is made from it (0: not known). */
struct gn_table	*gn_table_new(size_t size);
/* Takes the prefix arrays (and frees them, setting them to NULL). */
int		 gn_table_finish(struct gn_table *, struct gn_pfx4 **, size_t,
		    struct gn_pfx6 **, size_t, struct gn_diag *);

#endif /* GN_INTERNAL_H */
