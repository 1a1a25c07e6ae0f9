/* SPDX-License-Identifier: BSD-2-Clause */
/* libFuzzer target: how srv_gotonet reads where an HTTP request goes (request line, Host). */
/* fuzz-sources: src/icap/target.c */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "icap.h"

/*
 * Input: the request line up to the first newline, then the Host header
 * value up to the next one (no newline: no Host header). Both are handed over as the C strings
 * c-icap gives the module, each in an allocation of its exact size.
 *
 * Checked: no crash or read outside them; a target is either refused whole
 * (-1, from NONE) or names a host inside the text it came from, with no
 * blank (or, from the Host header, none in front), no path or userinfo in a
 * URL's host and no ':' outside IPv6 brackets, and a port of
 * 0-65535; CONNECT only from a CONNECT line, the Host header only for
 * origin-form requests. The host is then looked up in the shipped list's
 * sort of table, and the header helpers run on the same bytes.
 */

static const char rules_text[] =
    "*.goto.com label=goto\n"
    "launch.getgo.com ports=443 label=launch\n"
    "except portal.goto.com\n"
    "173.199.0.0/18 label=range\n"
    "2001:db8::/32 label=doc6\n";

static struct gn_table *table;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct gn_diag diag;

	(void)argc;
	(void)argv;
	gn_diag_init(&diag);
	table = gn_table_load_buffer("fuzz_icap.rules", rules_text, sizeof(rules_text) - 1, &diag);
	if (table == NULL)
		gn_fuzz_fail(rules_text, sizeof(rules_text) - 1, "rules did not load: %s",
		    diag.nmsgs ? diag.msgs[0] : "?");
	gn_diag_free(&diag);
	return 0;
}

static char *
cstring(const char *s, size_t n)
{
	char *c;

	if ((c = malloc(n + 1)) == NULL)
		gn_fuzz_fail(NULL, 0, "out of memory");
	memcpy(c, s, n);
	c[n] = '\0';
	return c;
}

static int
inside(const char *p, size_t n, const char *s)
{
	size_t len = s ? strlen(s) : 0;

	return s != NULL && p >= s && p <= s + len && n <= (size_t)(s + len - p);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data, *nl = memchr(in, '\n', size);
	struct gn_icap_target t;
	char *reqline, *host = NULL, out[64];
	size_t i;
	int rc;

	reqline = cstring(in, nl ? (size_t)(nl - in) : size);
	if (nl != NULL) {
		/* c-icap splits headers into lines: a value holds no newline. */
		const char *v = nl + 1, *vend = memchr(v, '\n', size - (size_t)(v - in));

		host = cstring(v, vend ? (size_t)(vend - v) : size - (size_t)(v - in));
	}

	rc = gn_icap_target_parse(reqline, host, &t);
	if (rc == -1 && (t.from != GN_ICAP_FROM_NONE || t.host != NULL))
		gn_fuzz_fail(in, size, "refused, but from %d host %p", (int)t.from,
		    (const void *)t.host);
	if (rc == 0) {
		const char *src = t.from == GN_ICAP_FROM_HOST ? host : reqline;

		if (t.from == GN_ICAP_FROM_NONE || t.host == NULL || t.hostlen == 0 ||
		    !inside(t.host, t.hostlen, src) || t.port > 65535)
			gn_fuzz_fail(in, size, "target from %d: %zu bytes at %p, port %u", (int)t.from,
			    t.hostlen, (const void *)t.host, t.port);
		if ((t.from == GN_ICAP_FROM_CONNECT) != (strncmp(reqline, "CONNECT", 7) == 0 &&
		    (reqline[7] == ' ' || reqline[7] == '\t')))
			gn_fuzz_fail(in, size, "CONNECT target from a line that is %s CONNECT",
			    t.from == GN_ICAP_FROM_CONNECT ? "not" : "");
		/* A request-line token has no blank; a URL's host no path, query or userinfo. */
		for (i = 0; i < t.hostlen; i++)
			if ((t.from != GN_ICAP_FROM_HOST && strchr(" \t\r\n", t.host[i]) != NULL) ||
			    (t.from == GN_ICAP_FROM_URL && strchr("/?#@", t.host[i]) != NULL))
				gn_fuzz_fail(in, size, "host holds %#x", (unsigned char)t.host[i]);
		if (t.from == GN_ICAP_FROM_HOST && (t.host[0] == ' ' || t.host[0] == '\t'))
			gn_fuzz_fail(in, size, "Host header value not trimmed");
		if (t.host[0] == '[' ? t.host[t.hostlen - 1] != ']' || memchr(t.host, ']',
		    t.hostlen - 1) != NULL : memchr(t.host, ':', t.hostlen) != NULL)
			gn_fuzz_fail(in, size, "host is neither a name nor a bracketed IPv6 address");
		(void)gn_table_lookup(table, t.host, t.hostlen, GN_PROTO_TCP);
	}

	/* The header helpers, on the same bytes and at every small size. */
	for (i = 0; i < 8; i++) {
		size_t n = i < 7 ? i : sizeof(out), k;

		gn_icap_header_value(out, n, reqline);
		if (n > 0) {
			if (memchr(out, '\0', n) == NULL)
				gn_fuzz_fail(in, size, "header value not terminated in %zu bytes", n);
			for (k = 0; out[k] != '\0'; k++)
				if ((unsigned char)out[k] < 0x20 || out[k] == 0x7f)
					gn_fuzz_fail(in, size, "header value holds %#x",
					    (unsigned char)out[k]);
		}
	}
	(void)gn_icap_header_is(reqline, "Host");
	if (host != NULL)
		(void)gn_icap_header_is(host, "X-Client-IP");
	free(reqline);
	free(host);
	return 0;
}
