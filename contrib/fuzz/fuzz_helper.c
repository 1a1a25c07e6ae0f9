/* SPDX-License-Identifier: BSD-2-Clause */
/* libFuzzer target: the Squid helper's request-line parser and its bypass decision. */
/* fuzz-sources: src/helper/parse.c src/helper/decide.c */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"
#include "fuzz.h"

/*
 * Input: a field list ("sni,host,port,client") up to the first newline, then
 * one request line as Squid would write it (everything after, newlines and
 * NULs included). A field list that does not parse is replaced by the
 * default one, so that every input exercises the request parser.
 *
 * Checked: no crash or read outside the line; every field points inside the
 * line and holds no control byte once decoded; the port is 1-65535 or
 * missing; escaping a parsed request again and parsing it gives the same
 * request; and the answer is OK exactly when the policy of
 * ext_gotonet_acl(8) says so, as computed here from gn_table_lookup() and
 * the rule info: the host listed, for TCP, on a rule that splices and
 * allows the port, and the SNI absent or listed the same way.
 */

static const char rules_text[] =
    "*.goto.com label=goto\n"
    "launch.getgo.com ports=443 label=launch\n"
    "*.direct.test action=direct label=direct-only\n"
    "*.splice.test action=splice ports=1-100,443,8443 label=splice-ports\n"
    "except portal.goto.com\n"
    "10.0.0.0/8 proto=tcp ports=443,8443 label=ten\n"
    "10.1.0.0/16 proto=udp label=ten-one-udp\n"
    "except 10.2.0.0/16\n"
    "2001:db8::/32 label=doc6\n"
    "~edge[0-9]+\\.example\\.net label=edge\n";

static struct gn_table *table;
static struct gn_acl_rules *rules;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct gn_diag diag;

	(void)argc;
	(void)argv;
	gn_diag_init(&diag);
	if ((table = gn_table_load_buffer("fuzz_helper.rules", rules_text, sizeof(rules_text) - 1,
	    &diag)) == NULL)
		gn_fuzz_fail(rules_text, sizeof(rules_text) - 1, "rules did not load: %s",
		    diag.nmsgs ? diag.msgs[0] : "?");
	gn_diag_free(&diag);
	/* The helper's rules own the table from here on. */
	if ((rules = gn_acl_rules_new(table, 0)) == NULL)
		gn_fuzz_fail(NULL, 0, "gn_acl_rules_new failed");
	return 0;
}

static void
check_field(const char *what, const char *p, size_t n, const char *line, size_t len,
    const char *in, size_t inlen)
{
	size_t i;

	if (p == NULL)
		return;
	if (p < line || p > line + len || n > (size_t)(line + len - p) || n == 0)
		gn_fuzz_fail(in, inlen, "%s at offset %td, %zu bytes, outside a %zu-byte line", what,
		    p - line, n, len);
	for (i = 0; i < n; i++)
		if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
			gn_fuzz_fail(in, inlen, "%s holds control byte %#x after decoding", what,
			    (unsigned char)p[i]);
}

/* The policy, stated independently of decide.c: may this target be spliced at port? */
static int
may_splice(const char *s, size_t n, int port)
{
	struct gn_verdict v = gn_table_lookup(table, s, n, GN_PROTO_TCP);
	struct gn_rule_info info;
	size_t i;

	if (v.match != GN_MATCH_LISTED || gn_table_rule_info(table, v.rule, &info) == -1)
		return 0;
	if (!(info.action & GN_ACTION_SPLICE))
		return 0;
	if (info.nports == 0)
		return 1;
	for (i = 0; i < info.nports; i++)
		if (port >= (int)info.ports[i].lo && port <= (int)info.ports[i].hi)
			return 1;
	return 0;
}

/* Escape every byte but letters: nothing of it can look like an ID, a port or "-". */
static size_t
encode(char *dst, const char *src, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)src[i];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
			dst[o++] = (char)c;
		} else {
			dst[o++] = '%';
			dst[o++] = hex[c >> 4];
			dst[o++] = hex[c & 15];
		}
	}
	return o;
}

static int
same(const char *a, size_t an, const char *b, size_t bn)
{
	if (a == NULL || b == NULL)
		return a == b;
	return an == bn && memcmp(a, b, an) == 0;
}

/*
 * Write the request again, with a channel ID in front so that the parser's
 * guess about IDs cannot differ, and parse it: the same fields must come out.
 */
static void
round_trip(const struct gn_acl_format *fmt, const struct gn_acl_req *req, const char *in,
    size_t inlen)
{
	struct gn_acl_req again;
	char *line, *p;
	size_t cap = 8, f;

	cap += 3 * (req->snilen + req->hostlen + req->clientlen) + 8 * fmt->nfields;
	if ((line = malloc(cap)) == NULL)
		gn_fuzz_fail(NULL, 0, "out of memory");
	p = line;
	*p++ = '7';
	for (f = 0; f < fmt->nfields; f++) {
		const char *v = NULL;
		size_t n = 0;

		*p++ = ' ';
		switch (fmt->field[f]) {
		case GN_ACL_F_SNI:
			v = req->sni, n = req->snilen;
			break;
		case GN_ACL_F_HOST:
			v = req->host, n = req->hostlen;
			break;
		case GN_ACL_F_CLIENT:
			v = req->client, n = req->clientlen;
			break;
		case GN_ACL_F_PORT:
			if (req->port > 0)
				p += sprintf(p, "%d", req->port);
			else
				*p++ = '-';
			continue;
		default:
			*p++ = 'x';	/* skipped: anything but digits or "-" */
			continue;
		}
		if (v == NULL)
			*p++ = '-';
		else
			p += encode(p, v, n);
	}
	if (gn_acl_parse(line, (size_t)(p - line), fmt, &again) == -1)
		gn_fuzz_fail(in, inlen, "the request written again does not parse: %s", again.err);
	if (again.idlen != 1 || again.id[0] != '7' || !same(req->sni, req->snilen, again.sni,
	    again.snilen) || !same(req->host, req->hostlen, again.host, again.hostlen) ||
	    !same(req->client, req->clientlen, again.client, again.clientlen) ||
	    req->port != again.port)
		gn_fuzz_fail(in, inlen, "the request written again parses differently");
	free(line);
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* What gn_acl_escape() writes must decode to what it was given. */
static void
check_escape(const char *s, size_t n, const char *in, size_t inlen)
{
	char *e, *d;
	size_t elen, i, o = 0;

	if (s == NULL)
		return;
	if ((e = malloc(3 * n + 1)) == NULL || (d = malloc(n + 1)) == NULL)
		gn_fuzz_fail(NULL, 0, "out of memory");
	elen = gn_acl_escape(e, s, n);
	for (i = 0; i < elen; i++) {
		if (e[i] == ' ' || (unsigned char)e[i] < 0x21 || (unsigned char)e[i] > 0x7e)
			gn_fuzz_fail(in, inlen, "escaped text holds byte %#x", (unsigned char)e[i]);
		if (e[i] != '%') {
			d[o++] = e[i];
			continue;
		}
		if (i + 2 >= elen || hexval(e[i + 1]) < 0 || hexval(e[i + 2]) < 0)
			gn_fuzz_fail(in, inlen, "escaped text has a bad %%-escape");
		d[o++] = (char)(hexval(e[i + 1]) << 4 | hexval(e[i + 2]));
		i += 2;
	}
	if (o != n || memcmp(d, s, n) != 0)
		gn_fuzz_fail(in, inlen, "gn_acl_escape() does not decode to its input");
	free(e);
	free(d);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data, *err = NULL, *nl;
	struct gn_acl_format fmt;
	struct gn_acl_req req;
	struct gn_acl_decision dec;
	char *spec, *line;
	size_t speclen, len, i;
	int ok;

	if ((nl = memchr(in, '\n', size)) == NULL)
		return 0;
	speclen = (size_t)(nl - in);
	if ((spec = malloc(speclen + 1)) == NULL)
		return 0;
	memcpy(spec, in, speclen);
	spec[speclen] = '\0';
	if (gn_acl_format_parse(spec, &fmt, &err) == -1) {
		if (err == NULL)
			gn_fuzz_fail(in, size, "field list refused without a reason");
		if (gn_acl_format_parse("sni,host,port,client", &fmt, &err) == -1)
			gn_fuzz_fail(in, size, "the default field list does not parse");
	}
	free(spec);
	if (fmt.nfields == 0 || fmt.nfields > GN_ACL_MAXFIELDS ||
	    (fmt.portpos >= 0 && ((unsigned)fmt.portpos >= fmt.nfields ||
	    fmt.field[fmt.portpos] != GN_ACL_F_PORT)) || memchr(fmt.field, GN_ACL_F_HOST,
	    fmt.nfields) == NULL)
		gn_fuzz_fail(in, size, "field list parsed into nonsense");

	/* An exact-size copy: ASan sees any read past the line. */
	len = size - speclen - 1;
	if ((line = malloc(len ? len : 1)) == NULL)
		return 0;
	memcpy(line, nl + 1, len);
	if (gn_acl_parse(line, len, &fmt, &req) == -1) {
		if (req.err == NULL)
			gn_fuzz_fail(in, size, "request refused without a reason");
		if (req.id != NULL)
			check_field("channel ID", req.id, req.idlen, line, len, in, size);
		free(line);
		return 0;
	}
	check_field("channel ID", req.id, req.idlen, line, len, in, size);
	for (i = 0; req.id != NULL && i < req.idlen; i++)
		if (req.id[i] < '0' || req.id[i] > '9')
			gn_fuzz_fail(in, size, "channel ID is not all digits");
	check_field("SNI", req.sni, req.snilen, line, len, in, size);
	check_field("host", req.host, req.hostlen, line, len, in, size);
	check_field("client", req.client, req.clientlen, line, len, in, size);
	if (req.port != -1 && (req.port < 1 || req.port > 65535))
		gn_fuzz_fail(in, size, "port %d", req.port);
	if (fmt.portpos < 0 && req.port != -1)
		gn_fuzz_fail(in, size, "a port without a port field");

	gn_acl_decide(rules, &req, &dec);
	ok = req.host != NULL && may_splice(req.host, req.hostlen, req.port) &&
	    (req.sni == NULL || may_splice(req.sni, req.snilen, req.port));
	if ((dec.reason == GN_ACL_OK) != ok)
		gn_fuzz_fail(in, size, "helper answers %s (%s), the policy says %s",
		    dec.reason == GN_ACL_OK ? "OK" : "ERR", gn_acl_reason_text(dec.reason),
		    ok ? "OK" : "ERR");

	round_trip(&fmt, &req, in, size);
	check_escape(req.host, req.hostlen, in, size);
	check_escape(req.sni, req.snilen, in, size);
	free(line);
	return 0;
}
