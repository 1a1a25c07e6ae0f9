/* SPDX-License-Identifier: BSD-2-Clause */
/* Squid external ACL request lines: channel ID, fields, %-escapes; parsed in place without allocating. */
#include "config.h"

#include <string.h>

#include "acl.h"

static const struct {
	const char	*name;
	enum gn_acl_field field;
} field_names[] = {
	{ "sni", GN_ACL_F_SNI },
	{ "host", GN_ACL_F_HOST },
	{ "port", GN_ACL_F_PORT },
	{ "client", GN_ACL_F_CLIENT },
	{ "-", GN_ACL_F_SKIP },
};

int
gn_acl_format_parse(const char *spec, struct gn_acl_format *fmt, const char **err)
{
	const char *p = spec, *e;
	unsigned seen = 0;
	size_t i, n;

	memset(fmt, 0, sizeof(*fmt));
	fmt->portpos = -1;
	for (;;) {
		e = strchr(p, ',');
		n = e ? (size_t)(e - p) : strlen(p);
		for (i = 0; i < sizeof(field_names) / sizeof(field_names[0]); i++)
			if (strlen(field_names[i].name) == n && memcmp(field_names[i].name, p, n) == 0)
				break;
		if (i == sizeof(field_names) / sizeof(field_names[0])) {
			*err = "unknown field (use sni, host, port, client or -)";
			return -1;
		}
		if (fmt->nfields == GN_ACL_MAXFIELDS) {
			*err = "too many fields";
			return -1;
		}
		if (field_names[i].field != GN_ACL_F_SKIP) {
			if (seen & (1u << field_names[i].field)) {
				*err = "field given twice";
				return -1;
			}
			seen |= 1u << field_names[i].field;
		}
		if (field_names[i].field == GN_ACL_F_PORT)
			fmt->portpos = (int)fmt->nfields;
		fmt->field[fmt->nfields++] = (unsigned char)field_names[i].field;
		if (e == NULL)
			break;
		p = e + 1;
	}
	if (!(seen & (1u << GN_ACL_F_HOST))) {
		*err = "the host field is required";
		return -1;
	}
	return 0;
}

static int
all_digits(const char *p, size_t n)
{
	size_t i;

	if (n == 0)
		return 0;
	for (i = 0; i < n; i++)
		if (p[i] < '0' || p[i] > '9')
			return 0;
	return 1;
}

/* What Squid can put in a %>rP field: "-" or a decimal number. */
static int
port_like(const char *p, size_t n)
{
	return (n == 1 && p[0] == '-') || (n <= 5 && all_digits(p, n));
}

static int
hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Byte classes: 0 plain, 1 blank (token separator), 2 '%', 3 control byte. */
#define C3	3, 3, 3, 3, 3, 3, 3, 3
static const unsigned char cls[256] = {
	3, 3, 3, 3, 3, 3, 3, 3, 3, 1, 3, 3, 3, 3, 3, 3,	/* \t is a blank */
	C3, C3,
	1, 0, 0, 0, 0, 2,	/* ' ' and '%' */
	[0x7f] = 3,
};
#undef C3

static const char *
ctrl_err(unsigned char c)
{
	return c == 0 ? "NUL byte in request" : "control character in request";
}

/*
 * Scan one token at *pp, decoding %-escapes in place; returns its decoded
 * length. *err is set to the first problem (bad escape, control byte raw or
 * decoded) and the scan still goes to the token's end, so that the caller can
 * find the channel ID of a bad line. *escaped tells whether any %xx was seen.
 */
static size_t
scan_token(char **pp, const char *end, const char **err, int *escaped)
{
	char *start = *pp, *p = start, *o;

	*err = NULL;
	*escaped = 0;
	/* Fast path: most tokens are plain and need no copying. */
	while (p < end && cls[(unsigned char)*p] == 0)
		p++;
	if (p == end || cls[(unsigned char)*p] == 1) {
		*pp = p;
		return (size_t)(p - start);
	}
	o = p;
	while (p < end) {
		unsigned char c = (unsigned char)*p;
		int hi, lo;

		switch (cls[c]) {
		case 1:
			goto done;
		case 2:
			*escaped = 1;
			if (end - p < 3 || cls[(unsigned char)p[1]] == 1 || cls[(unsigned char)p[2]] == 1) {
				if (*err == NULL)
					*err = "truncated %-escape";
				break;
			}
			hi = hexval((unsigned char)p[1]);
			lo = hexval((unsigned char)p[2]);
			if (hi < 0 || lo < 0) {
				if (*err == NULL)
					*err = "invalid %-escape";
				break;
			}
			c = (unsigned char)(hi << 4 | lo);
			if ((c < 0x20 || c == 0x7f) && *err == NULL)
				*err = ctrl_err(c);
			*o++ = (char)c;
			p += 3;
			continue;
		case 3:
			if (*err == NULL)
				*err = ctrl_err(c);
			break;
		default:
			break;
		}
		*o++ = (char)c;
		p++;
	}
done:
	*pp = p;
	return (size_t)(o - start);
}

int
gn_acl_parse(char *line, size_t len, const struct gn_acl_format *fmt, struct gn_acl_req *req)
{
	/* Room for the ID and the fields; what follows (%DATA) is never read. */
	char *tok[GN_ACL_MAXFIELDS + 1];
	size_t toklen[GN_ACL_MAXFIELDS + 1];
	const char *tokerr[GN_ACL_MAXFIELDS + 1];
	int tokesc[GN_ACL_MAXFIELDS + 1];
	size_t ntok = 0, i, max = fmt->nfields + 1;
	unsigned f, first;
	char *p = line;
	const char *end = line + len;

	memset(req, 0, sizeof(*req));
	req->port = -1;
	if (len > 0 && line[len - 1] == '\r')
		end--;
	/* Squid separates tokens with one space; tolerate runs of blanks. */
	while (p < end && ntok < max) {
		while (p < end && cls[(unsigned char)*p] == 1)
			p++;
		if (p == end)
			break;
		tok[ntok] = p;
		toklen[ntok] = scan_token(&p, end, &tokerr[ntok], &tokesc[ntok]);
		ntok++;
	}

	/*
	 * A leading all-digit token is the channel ID (concurrency=N) unless the
	 * line only makes sense without one: then the first field (an SNI, which
	 * a client chooses) merely looks like a number. Squid always writes a
	 * number or "-" for the port, so the port position tells them apart.
	 */
	first = 0;
	if (ntok > 0 && !tokesc[0] && tokerr[0] == NULL && all_digits(tok[0], toklen[0])) {
		int with_id = 1;

		if (fmt->portpos >= 0) {
			size_t pp = (size_t)fmt->portpos;
			int fits_without = pp < ntok && !tokesc[pp] && port_like(tok[pp], toklen[pp]);
			int fits_with = pp + 1 < ntok && !tokesc[pp + 1] &&
			    port_like(tok[pp + 1], toklen[pp + 1]);

			if (fits_without && !fits_with)
				with_id = 0;
		}
		if (with_id) {
			req->id = tok[0];
			req->idlen = toklen[0];
			first = 1;
		}
	}
	if (ntok - first < fmt->nfields) {
		req->err = ntok == first ? "empty request" : "too few fields";
		return -1;
	}

	for (f = 0; f < fmt->nfields; f++) {
		const char *v = tok[first + f];
		size_t n = toklen[first + f];

		if (fmt->field[f] == GN_ACL_F_SKIP)
			continue;
		if (tokerr[first + f] != NULL) {
			req->err = tokerr[first + f];
			return -1;
		}
		if (n == 1 && v[0] == '-' && !tokesc[first + f])
			continue;	/* missing value */
		switch (fmt->field[f]) {
		case GN_ACL_F_SNI:
			req->sni = v;
			req->snilen = n;
			break;
		case GN_ACL_F_HOST:
			req->host = v;
			req->hostlen = n;
			break;
		case GN_ACL_F_CLIENT:
			req->client = v;
			req->clientlen = n;
			break;
		case GN_ACL_F_PORT: {
			unsigned long port = 0;

			if (!all_digits(v, n) || n > 5) {
				req->err = "bad port";
				return -1;
			}
			for (i = 0; i < n; i++)
				port = port * 10 + (unsigned long)(v[i] - '0');
			if (port < 1 || port > 65535) {
				req->err = "bad port";
				return -1;
			}
			req->port = (int)port;
			break;
		}
		default:
			break;
		}
	}
	return 0;
}

/* Bytes that survive Squid's reply parser unchanged (rfc1738_unescape, strwordtok). */
static int
safe_byte(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return 1;
	return c != 0 && strchr("-._~:/,+@()*!", c) != NULL;
}

size_t
gn_acl_escape(char *dst, const char *src, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)src[i];

		if (safe_byte(c)) {
			dst[o++] = (char)c;
		} else {
			dst[o++] = '%';
			dst[o++] = hex[c >> 4];
			dst[o++] = hex[c & 15];
		}
	}
	return o;
}
