/* SPDX-License-Identifier: BSD-2-Clause */
/* ext_gotonet_acl internals: request-line parsing, the bypass decision and prebuilt replies. */
#ifndef GN_HELPER_ACL_H
#define GN_HELPER_ACL_H

#include <stddef.h>
#include <string.h>
#include <stdint.h>

#include "gotonet.h"

/* What one input field carries (the -F option names them). */
enum gn_acl_field {
	GN_ACL_F_SKIP = 0,	/* "-" in -F: a field the helper ignores */
	GN_ACL_F_SNI,		/* %ssl::>sni */
	GN_ACL_F_HOST,		/* %>rd */
	GN_ACL_F_PORT,		/* %>rP */
	GN_ACL_F_CLIENT		/* %>a */
};

#define GN_ACL_MAXFIELDS	8

struct gn_acl_format {
	unsigned	nfields;
	unsigned char	field[GN_ACL_MAXFIELDS];	/* enum gn_acl_field */
	int		portpos;	/* index of the port field, -1 when none */
	signed char	pos[GN_ACL_F_CLIENT + 1];	/* index of each field, -1 when none */
};

/* One parsed request. Pointers point into the caller's line buffer. */
struct gn_acl_req {
	const char	*id;		/* channel ID as received (digits), NULL when none */
	size_t		 idlen;
	const char	*sni;		/* NULL when missing ("-") */
	size_t		 snilen;
	const char	*host;
	size_t		 hostlen;
	const char	*client;
	size_t		 clientlen;
	int		 port;		/* 1..65535, -1 when missing */
	const char	*err;		/* why the line was refused, when parse returned -1 */
};

/* Why a request got its answer; gn_acl_reason_text() turns it into words. */
enum gn_acl_reason {
	GN_ACL_OK = 0,
	GN_ACL_NO_RULES,	/* no rules loaded */
	GN_ACL_BAD_REQUEST,	/* unparseable line; req.err says why */
	GN_ACL_TOO_LONG,	/* line longer than the read buffer */
	GN_ACL_NO_HOST,
	GN_ACL_HOST_UNLISTED,
	GN_ACL_HOST_EXCEPTED,
	GN_ACL_HOST_PORT,
	GN_ACL_HOST_NOSPLICE,
	GN_ACL_SNI_UNLISTED,
	GN_ACL_SNI_EXCEPTED,
	GN_ACL_SNI_PORT,
	GN_ACL_SNI_NOSPLICE,
	GN_ACL_NOMEM,		/* no memory to build the answer */
	GN_ACL_NREASONS
};

struct gn_acl_decision {
	enum gn_acl_reason reason;	/* GN_ACL_OK is the only bypass */
	int32_t		host_rule;	/* rule the CONNECT host matched, GN_NONE when none */
	int32_t		sni_rule;	/* rule the SNI matched, GN_NONE when none */
};

/* A string rules share (a label, a file name): as written, and URL-escaped for replies. */
struct gn_acl_str {
	uint32_t	 raw, rawlen;	/* in strtext */
	uint32_t	 esc, esclen;	/* in strtext */
};

/*
 * What the OK replies of the rules with one label, file and action start
 * with, in headtext: "OK clt_conn_tag=... gotonet_label=LABEL gotonet_rule=FILE:".
 */
struct gn_acl_head {
	uint32_t	 off, len;
	uint32_t	 label, file;	/* indexes in str */
	uint8_t		 direct;
};

/* What the hot path needs of one rule, in one place (one cache line per lookup). */
struct gn_acl_rule {
	uint64_t	 hits;		/* requests it matched */
	uint32_t	 line;
	uint32_t	 head;		/* index in head: label, file, OK reply head */
	uint32_t	 text;		/* its OK reply in text, when textlen is not 0 */
	uint16_t	 textlen;
	uint8_t		 action;	/* GN_ACTION_* */
	uint8_t		 anyport;	/* no port list: skip the port check */
	uint8_t		 filled;	/* the fields above are set (gn_acl_rule_fill) */
};

/*
 * A loaded rules table with what the hot path needs beside it: per-rule
 * records with hit counters, filled the first time a rule matches, and each
 * label and file name once, escaped for replies.
 */
struct gn_acl_rules {
	struct gn_table	*table;
	size_t		 nrules;
	struct gn_acl_rule *rule;	/* nrules of them */
	struct gn_acl_str *str;		/* distinct labels and file names */
	size_t		 nstr;
	char		*strtext;
	struct gn_acl_strtab *strtab;	/* finds them again */
	unsigned	 flags;		/* GN_ACL_NOTAG */
	char		*version;	/* " gotonet_version=..." (escaped), "" when the list has none */
	size_t		 versionlen;
	/* Refusals without detail: "ERR message=REASON" + version + "\n", per reason. */
	char		*errtext;
	uint32_t	 erroff[GN_ACL_NREASONS], errhead[GN_ACL_NREASONS], errlen[GN_ACL_NREASONS];
	struct gn_acl_head *head;	/* distinct reply heads */
	size_t		 nhead;
	char		*headtext;
	size_t		 headtextlen;
	struct gn_acl_heads *heads;	/* finds them again */
	char		*text;		/* whole OK replies of the first rules used */
	size_t		 textlen;
};

#define GN_ACL_NOTAG	0x01	/* do not send clt_conn_tag= */

/* Parse a field list such as "sni,host,port,client"; -1 with *err set on a bad list. */
int	 gn_acl_format_parse(const char *spec, struct gn_acl_format *fmt, const char **err);

/*
 * Parse one request line (without its newline) in place: %-escapes are
 * decoded where they stand. Returns 0, or -1 with req->err set; req->id is
 * filled whenever the line starts with a channel ID, even on error, so that
 * every answer can carry it.
 */
int	 gn_acl_parse(char *line, size_t len, const struct gn_acl_format *fmt,
	    struct gn_acl_req *req);

/*
 * The same for a line that GN_ACL_PAD readable bytes follow, whatever they
 * hold (they are read, never written): it parses faster.
 */
#define GN_ACL_PAD	64
int	 gn_acl_parse_padded(char *line, size_t len, const struct gn_acl_format *fmt,
	    struct gn_acl_req *req);

/*
 * Decide a parsed request. rules may be NULL (nothing loaded): never OK then.
 * The rules the decision names are filled (gn_acl_rule_fill).
 */
void	 gn_acl_decide(struct gn_acl_rules *rules, const struct gn_acl_req *req,
	    struct gn_acl_decision *dec);

/*
 * Set a rule's record from the table, the first time it is needed; 0, or -1
 * when out of memory. Every function below wants filled rules.
 */
int	 gn_acl_rule_fill(struct gn_acl_rules *, int32_t rule);

const char *gn_acl_reason_text(enum gn_acl_reason);

/*
 * The reply to an OK decided by host_rule (and sni_rule, GN_NONE or the
 * same when the SNI added nothing), without the channel ID: "OK
 * clt_conn_tag=... gotonet_label=... gotonet_rule=FILE:LINE
 * [gotonet_sni_rule=FILE:LINE] gotonet_version=...\n". gn_acl_ok_size()
 * bounds its length; gn_acl_put_ok() writes it, unterminated.
 */
size_t	 gn_acl_ok_size(const struct gn_acl_rules *, int32_t host_rule, int32_t sni_rule);
size_t	 gn_acl_put_ok(const struct gn_acl_rules *, int32_t host_rule, int32_t sni_rule, char *p);

/* "FILE:LINE" of a rule, escaped for a reply (at most 3 * file + 11 bytes). */
size_t	 gn_acl_put_where(const struct gn_acl_rules *, int32_t rule, char *p);

/* "FILE:LINE label="LABEL"" as written, for logs; gn_acl_log_size() bounds it. */
size_t	 gn_acl_log_size(const struct gn_acl_rules *, int32_t rule);
size_t	 gn_acl_put_log(const struct gn_acl_rules *, int32_t rule, char *p);

/* Build the reply data for a freshly loaded table (taken over even on failure). */
struct gn_acl_rules *gn_acl_rules_new(struct gn_table *table, unsigned flags);
void	 gn_acl_rules_free(struct gn_acl_rules *);

/*
 * URL-escape src into dst (room for 3 * n bytes) the way Squid's reply
 * parser undoes it; returns the length written.
 */
size_t	 gn_acl_escape(char *dst, const char *src, size_t n);

/* Append n bytes at p; returns n (reply and log lines are built this way). */
static inline size_t
put_mem(char *p, const char *s, size_t n)
{
	memcpy(p, s, n);
	return n;
}

#define PUT_LIT(p, lit)	put_mem((p), (lit), sizeof(lit) - 1)

/* Append the decimal digits of v; returns how many. */
static inline size_t
put_uint(char *p, unsigned long v)
{
	char tmp[20];
	size_t n = 0;

	do {
		tmp[sizeof(tmp) - ++n] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	memcpy(p, tmp + sizeof(tmp) - n, n);
	return n;
}

#endif /* GN_HELPER_ACL_H */
