/* SPDX-License-Identifier: BSD-2-Clause */
/* Read the host and port an HTTP request goes to, for srv_gotonet. */
#include "config.h"

#include <string.h>
#include <strings.h>

#include "icap.h"

static int
is_space(char c)
{
	return c == ' ' || c == '\t';
}

/*
 * Split "host[:port]" or "[v6]:port" (len bytes) into host and port. The
 * port, when present, must be 1-65535 in plain digits; an unbracketed host
 * with more than one ':' is ambiguous (an IPv6 literal or host:port?) and is
 * refused rather than guessed.
 */
static int
split_authority(const char *s, size_t len, struct gn_icap_target *t)
{
	const char *colon = NULL, *p;
	unsigned long port = 0;
	size_t hostlen, i;

	if (len == 0)
		return -1;
	if (s[0] == '[') {
		if ((p = memchr(s, ']', len)) == NULL)
			return -1;
		hostlen = (size_t)(p - s) + 1;
		if (hostlen < len) {
			if (s[hostlen] != ':')
				return -1;
			colon = s + hostlen;
		}
	} else {
		for (i = 0; i < len; i++) {
			if (s[i] != ':')
				continue;
			if (colon != NULL)
				return -1;
			colon = s + i;
		}
		hostlen = colon != NULL ? (size_t)(colon - s) : len;
	}
	if (hostlen == 0)
		return -1;
	if (colon != NULL) {
		p = colon + 1;
		if (p == s + len)
			return -1;
		for (; p < s + len; p++) {
			if (*p < '0' || *p > '9')
				return -1;
			port = port * 10 + (unsigned long)(*p - '0');
			if (port > 65535)
				return -1;
		}
		if (port == 0)
			return -1;
	}
	t->host = s;
	t->hostlen = hostlen;
	t->port = (unsigned)port;
	return 0;
}

static unsigned
scheme_port(const char *s, size_t len)
{
	if (len == 4 && strncasecmp(s, "http", 4) == 0)
		return 80;
	if (len == 5 && strncasecmp(s, "https", 5) == 0)
		return 443;
	if (len == 3 && strncasecmp(s, "ftp", 3) == 0)
		return 21;
	return 0;
}

int
gn_icap_target_parse(const char *reqline, const char *host, struct gn_icap_target *t)
{
	const char *m, *u, *end, *a, *at;
	size_t mlen, ulen, slen, alen, i;
	unsigned defport = 0;

	memset(t, 0, sizeof(*t));
	if (reqline == NULL)
		return -1;
	m = reqline;
	for (mlen = 0; m[mlen] != '\0' && !is_space(m[mlen]); mlen++)
		;
	if (mlen == 0 || m[mlen] == '\0')
		return -1;
	u = m + mlen;
	while (is_space(*u))
		u++;
	for (ulen = 0; u[ulen] != '\0' && !is_space(u[ulen]) && u[ulen] != '\r' &&
	    u[ulen] != '\n'; ulen++)
		;
	if (ulen == 0)
		return -1;
	/* a request line has three parts; "CONNECT HTTP/1.1" has no target */
	for (end = u + ulen; is_space(*end); end++)
		;
	if (*end == '\0' || *end == '\r' || *end == '\n')
		return -1;

	/* Methods are case-sensitive (RFC 9110 9.1): "connect" is not CONNECT. */
	if (mlen == 7 && memcmp(m, "CONNECT", 7) == 0) {
		if (split_authority(u, ulen, t) == -1)
			return -1;
		t->from = GN_ICAP_FROM_CONNECT;
		return 0;
	}

	/* absolute-form: scheme "://" authority [path]; the scheme is ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) */
	for (slen = 0; slen < ulen; slen++) {
		char c = u[slen];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (slen > 0 && ((c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.'))))
			break;
	}
	if (slen > 0 && ulen - slen >= 3 && memcmp(u + slen, "://", 3) == 0) {
		a = u + slen + 3;
		end = u + ulen;
		for (alen = 0; a + alen < end && a[alen] != '/' && a[alen] != '?' &&
		    a[alen] != '#'; alen++)
			;
		/* userinfo ends at the last '@' of the authority */
		for (at = NULL, i = 0; i < alen; i++)
			if (a[i] == '@')
				at = a + i;
		if (at != NULL) {
			alen -= (size_t)(at + 1 - a);
			a = at + 1;
		}
		if (split_authority(a, alen, t) == -1)
			return -1;
		if (t->port == 0)
			t->port = scheme_port(u, slen);
		t->tls = slen == 5 && strncasecmp(u, "https", 5) == 0;
		t->from = GN_ICAP_FROM_URL;
		return 0;
	}

	/* origin-form ("/path") or "*": only the Host header says where it goes */
	if (u[0] != '/' && !(ulen == 1 && u[0] == '*'))
		return -1;
	if (host == NULL)
		return -1;
	while (is_space(*host))
		host++;
	alen = strlen(host);
	while (alen > 0 && (is_space(host[alen - 1]) || host[alen - 1] == '\r' ||
	    host[alen - 1] == '\n'))
		alen--;
	defport = 80;
	if (split_authority(host, alen, t) == -1) {
		memset(t, 0, sizeof(*t));
		return -1;
	}
	if (t->port == 0)
		t->port = defport;
	t->from = GN_ICAP_FROM_HOST;
	return 0;
}

/* Is c allowed in a header value as is (not a control character)? */
static int
header_safe(unsigned char c)
{
	return c >= 0x20 && c != 0x7f;
}

/*
 * Runs on every marked request: clean runs are found with a read-only scan
 * and copied with memcpy, which is several times cheaper per byte than
 * testing and storing each byte.
 */
char *
gn_icap_header_value(char *dst, size_t size, const char *src)
{
	size_t i = 0, run;

	if (size == 0)
		return dst;
	while (i + 1 < size && src[i] != '\0') {
		for (run = i; run + 1 < size && header_safe((unsigned char)src[run]); run++)
			;
		memcpy(dst + i, src + i, run - i);
		i = run;
		if (i + 1 < size && src[i] != '\0')
			dst[i++] = '?';
	}
	dst[i] = '\0';
	return dst;
}

int
gn_icap_header_is(const char *line, const char *name)
{
	size_t n = strlen(name);

	if (strncasecmp(line, name, n) != 0)
		return 0;
	line += n;
	while (is_space(*line))
		line++;
	return *line == ':';
}
