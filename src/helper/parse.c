/* SPDX-License-Identifier: BSD-2-Clause */
/* Squid external ACL request lines: channel ID, fields, %-escapes; parsed in place without allocating. */
#include "config.h"

#include <stdint.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

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
	memset(fmt->pos, -1, sizeof(fmt->pos));
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
		if (field_names[i].field != GN_ACL_F_SKIP)
			fmt->pos[field_names[i].field] = (signed char)fmt->nfields;
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

static inline int
all_digits(const char *p, size_t n)
{
	size_t i;

	if (n == 0)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)(p[i] - '0') > 9)
			return 0;
	return 1;
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

/*
 * Length of the run of plain bytes at p: every byte but blanks, control
 * bytes, '%' and DEL, i.e. the bytes <= 0x20, 0x25 and 0x7f. Even the lines
 * parse_fast() leaves have mostly plain tokens: 16 bytes at a time with
 * SSE2, 8 at a time in a 64-bit word elsewhere (little-endian), never a
 * byte past end (the line may end its buffer).
 */
static inline size_t
plain_run(const char *start, const char *end)
{
	const char *p = start;

#if defined(__SSE2__)
	const __m128i sp = _mm_set1_epi8(0x20), pct = _mm_set1_epi8(0x25),
	    del = _mm_set1_epi8(0x7f);

	while (end - p >= 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
		__m128i m = _mm_or_si128(_mm_cmpeq_epi8(_mm_min_epu8(v, sp), v),
		    _mm_or_si128(_mm_cmpeq_epi8(v, pct), _mm_cmpeq_epi8(v, del)));
		unsigned mask = (unsigned)_mm_movemask_epi8(m);

		if (mask != 0)
			return (size_t)(p - start) + (size_t)__builtin_ctz(mask);
		p += 16;
	}
#endif
#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	{
		const uint64_t ones = 0x0101010101010101ULL, high = 0x8080808080808080ULL;

		while (end - p >= 8) {
			uint64_t x, y, z, m;

			memcpy(&x, p, 8);
			y = x ^ (ones * 0x25);
			z = x ^ (ones * 0x7f);
			/*
			 * High bit of each byte below 0x21, equal to '%' or to
			 * DEL. Borrows can flag bytes above a flagged one, never
			 * below: the lowest flag is exact.
			 */
			m = ((x - ones * 0x21) & ~x) | ((y - ones) & ~y) | ((z - ones) & ~z);
			m &= high;
			if (m != 0)
				return (size_t)(p - start) + (size_t)(__builtin_ctzll(m) >> 3);
			p += 8;
		}
	}
#endif
	while (p < end && cls[(unsigned char)*p] == 0)
		p++;
	return (size_t)(p - start);
}

static const char *
ctrl_err(unsigned char c)
{
	return c == 0 ? "NUL byte in request" : "control character in request";
}

/* The first tokens of a request line, pointing into the line. */
struct tokens {
	size_t		 ntok;
	char		*p[GN_ACL_MAXFIELDS + 1];
	size_t		 n[GN_ACL_MAXFIELDS + 1];	/* decoded length */
	const char	*err[GN_ACL_MAXFIELDS + 1];	/* first problem in it, NULL when none */
	unsigned char	 esc[GN_ACL_MAXFIELDS + 1];	/* a %xx was seen */
};

/* What Squid can put in a %>rP field: "-" or a decimal number. */
static inline int
tok_port_like(const struct tokens *t, size_t i)
{
	return !t->esc[i] && ((t->n[i] == 1 && t->p[i][0] == '-') || (t->n[i] <= 5 && all_digits(t->p[i], t->n[i])));
}

/*
 * The slow part of token i, from its first '%' or control byte at p:
 * decode %-escapes in place and note the first problem (bad escape, control
 * byte raw or decoded), going on to the token's end so that the caller can
 * find the channel ID of a bad line. Returns where the token ends.
 */
static char *
scan_rest(struct tokens *t, size_t i, char *p, const char *end)
{
	char *o = p;

	while (p < end) {
		unsigned char c = (unsigned char)*p;
		int hi, lo;

		switch (cls[c]) {
		case 0:
			break;
		case 1:
			goto done;
		case 2:
			t->esc[i] = 1;
			if (end - p < 3 || cls[(unsigned char)p[1]] == 1 || cls[(unsigned char)p[2]] == 1) {
				if (t->err[i] == NULL)
					t->err[i] = "truncated %-escape";
				break;
			}
			hi = hexval((unsigned char)p[1]);
			lo = hexval((unsigned char)p[2]);
			if (hi < 0 || lo < 0) {
				if (t->err[i] == NULL)
					t->err[i] = "invalid %-escape";
				break;
			}
			c = (unsigned char)(hi << 4 | lo);
			if ((c < 0x20 || c == 0x7f) && t->err[i] == NULL)
				t->err[i] = ctrl_err(c);
			*o++ = (char)c;
			p += 3;
			continue;
		default:
			if (t->err[i] == NULL)
				t->err[i] = ctrl_err(c);
			break;
		}
		*o++ = (char)c;
		p++;
	}
done:
	t->n[i] = (size_t)(o - t->p[i]);
	return p;
}

/* Any line: runs of blanks between tokens, %-escapes decoded in place. */
static void
split_any(char *line, const char *end, size_t max, struct tokens *t)
{
	char *p = line;
	size_t i;

	for (i = 0; i < max; i++) {
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		if (p == end)
			break;
		t->p[i] = p;
		t->err[i] = NULL;
		t->esc[i] = 0;
		p += plain_run(p, end);
		if (p == end || *p == ' ' || *p == '\t')
			t->n[i] = (size_t)(p - t->p[i]);
		else
			p = scan_rest(t, i, p, end);
	}
	t->ntok = i;
}

#if defined(__SSE2__)
/*
 * Bit i set for each blank at p[i]; for each '%', control byte or DEL; for
 * each non-digit.
 */
static inline void
masks16(const char *p, unsigned *spaces, unsigned *odd, unsigned *nondigit)
{
	const __m128i sp = _mm_set1_epi8(' '), low = _mm_set1_epi8(0x20),
	    pct = _mm_set1_epi8('%'), del = _mm_set1_epi8(0x7f), zero = _mm_set1_epi8('0'),
	    nine = _mm_set1_epi8(9);
	__m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
	__m128i d = _mm_sub_epi8(v, zero);

	*spaces = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, sp));
	*odd = (unsigned)_mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(_mm_min_epu8(v, low), v),
	    _mm_or_si128(_mm_cmpeq_epi8(v, pct), _mm_cmpeq_epi8(v, del)))) & ~*spaces;
	*nondigit = ~(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_min_epu8(d, nine), d)) & 0xffff;
}

/*
 * The masks16() bits of the first 64 bytes of line, or of all of a shorter
 * one (bits past its end are clear, but for nondigit).
 */
static inline void
masks64(const char *line, size_t len, uint64_t *spaces, uint64_t *odd, uint64_t *nondigit)
{
	size_t m = len < 64 ? len : 64, b;
	unsigned s, x, y;

	*spaces = *odd = *nondigit = 0;
	for (b = 0; b + 16 <= m; b += 16) {
		masks16(line + b, &s, &x, &y);
		*spaces |= (uint64_t)s << b;
		*odd |= (uint64_t)x << b;
		*nondigit |= (uint64_t)y << b;
	}
	if (b < m) {
		if (len >= 16) {
			/* The line's last 16 bytes, shifted onto this block. */
			masks16(line + len - 16, &s, &x, &y);
			s >>= 16 - (m - b);
			x >>= 16 - (m - b);
			y >>= 16 - (m - b);
		} else {
			char tmp[16];

			memset(tmp, 'x', sizeof(tmp));
			memcpy(tmp, line, len);
			masks16(tmp, &s, &x, &y);
		}
		*spaces |= (uint64_t)s << b;
		*odd |= (uint64_t)x << b;
		*nondigit |= (uint64_t)y << b;
	}
}

/* Bits 0 .. n-1 (n < 64). */
#define LOWBITS(n)	((UINT64_C(1) << (n)) - 1)

/* masks64() from 0 when GN_ACL_PAD bytes after the line may be read: no tail to fit. */
static inline void
masks64_padded(const char *line, size_t len, uint64_t *spaces, uint64_t *odd,
    uint64_t *nondigit)
{
	uint64_t valid = len >= 64 ? ~UINT64_C(0) : LOWBITS(len), sp, od, nd;
	unsigned s, x, y;

	masks16(line, &s, &x, &y);
	sp = s, od = x, nd = y;
	masks16(line + 16, &s, &x, &y);
	sp |= (uint64_t)s << 16, od |= (uint64_t)x << 16, nd |= (uint64_t)y << 16;
	masks16(line + 32, &s, &x, &y);
	sp |= (uint64_t)s << 32, od |= (uint64_t)x << 32, nd |= (uint64_t)y << 32;
	masks16(line + 48, &s, &x, &y);
	sp |= (uint64_t)s << 48, od |= (uint64_t)x << 48, nd |= (uint64_t)y << 48;
	*spaces = sp & valid;
	*odd = od & valid;
	*nondigit = nd;
}

/*
 * The usual request in one go: a line whose tokens up to the last field lie
 * in its first 64 bytes, single spaces between them, no escapes, and a good
 * port. Returns 0 with req filled, or -1 for any other line, which the
 * general parser then reads (and refuses, if it must) as if this had not
 * looked: this only takes lines on which both agree, and never writes.
 */
static inline int
parse_fast(const char *line, size_t len, const struct gn_acl_format *fmt,
    struct gn_acl_req *req, int padded)
{
	size_t end[GN_ACL_MAXFIELDS + 1], start[GN_ACL_MAXFIELDS + 2];
	size_t max = fmt->nfields + 1, k = 0, first = 0, i;
	uint64_t spaces, odd, nondigit;
	int pp = fmt->portpos;

	if (padded)
		masks64_padded(line, len, &spaces, &odd, &nondigit);
	else
		masks64(line, len, &spaces, &odd, &nondigit);
	if (odd != 0)
		spaces &= (odd & (0 - odd)) - 1;
	start[0] = 0;
	while (spaces != 0 && k < max) {
		end[k] = (size_t)__builtin_ctzll(spaces);
		if (end[k] == start[k])
			return -1;	/* leading or doubled blank */
		k++;
		start[k] = end[k - 1] + 1;
		spaces &= spaces - 1;
	}
	if (k < max) {
		/* The general parser would read on: only the whole line will do. */
		if (odd != 0 || len > 64)
			return -1;
		if (start[k] < len) {
			end[k] = len;
			k++;
		}
	}
	/* Token i is line[start[i] .. end[i]), end[i] <= 64; the same ID test as below. */
#define DIGITS(i)	(end[i] < 64 ? (nondigit & LOWBITS(end[i]) & ~LOWBITS(start[i])) == 0 : \
			    all_digits(line + start[i], end[i] - start[i]))
#define PORTLIKE(i)	(end[i] - start[i] <= 5 && (DIGITS(i) || \
			    (end[i] - start[i] == 1 && line[start[i]] == '-')))
	if (k > 0 && DIGITS(0)) {
		first = 1;
		if (pp >= 0 && (size_t)pp < k && PORTLIKE((size_t)pp) &&
		    !((size_t)pp + 1 < k && PORTLIKE((size_t)pp + 1)))
			first = 0;
	}
	if (k - first < fmt->nfields)
		return -1;
	if (pp >= 0) {
		i = first + (size_t)pp;
		if (end[i] - start[i] != 1 || line[start[i]] != '-') {
			const char *v = line + start[i];
			size_t n = end[i] - start[i], j;
			unsigned port = 0;

			if (n > 5 || !DIGITS(i))
				return -1;
			for (j = 0; j < n; j++)
				port = port * 10 + (unsigned)(v[j] - '0');
			if (port < 1 || port > 65535)
				return -1;
			req->port = (int)port;
		}
	}
#undef DIGITS
#undef PORTLIKE
	if (first) {
		req->id = line;
		req->idlen = end[0];
	}
	/* A field's value, NULL for "-". */
#define FIELD(f, v, n) do {						\
		size_t j_ = first + (size_t)fmt->pos[f];		\
									\
		if (end[j_] - start[j_] != 1 || line[start[j_]] != '-') {	\
			(v) = line + start[j_];				\
			(n) = end[j_] - start[j_];			\
		}							\
	} while (0)
	if (fmt->pos[GN_ACL_F_SNI] >= 0)
		FIELD(GN_ACL_F_SNI, req->sni, req->snilen);
	FIELD(GN_ACL_F_HOST, req->host, req->hostlen);
	if (fmt->pos[GN_ACL_F_CLIENT] >= 0)
		FIELD(GN_ACL_F_CLIENT, req->client, req->clientlen);
#undef FIELD
	return 0;
}

#endif

/* A field's value: NULL for a missing one ("-" as such, not escaped). */
static inline void
field_value(const struct tokens *t, size_t i, const char **v, size_t *n)
{
	if (t->n[i] == 1 && t->p[i][0] == '-' && !t->esc[i])
		return;
	*v = t->p[i];
	*n = t->n[i];
}

static inline int
parse(char *line, size_t len, const struct gn_acl_format *fmt, struct gn_acl_req *req,
    int padded)
{
	/* Room for the ID and the fields; what follows (%DATA) is never read. */
	struct tokens t;
	size_t max = fmt->nfields + 1, first = 0, f, i;
	unsigned long port;

	(void)padded;
	memset(req, 0, sizeof(*req));
	req->port = -1;
	if (len > 0 && line[len - 1] == '\r')
		len--;
#if defined(__SSE2__)
	if (parse_fast(line, len, fmt, req, padded) == 0)
		return 0;
	memset(req, 0, sizeof(*req));
	req->port = -1;
#endif
	split_any(line, line + len, max, &t);

	/*
	 * A leading all-digit token is the channel ID (concurrency=N) unless the
	 * line only makes sense without one: then the first field (an SNI, which
	 * a client chooses) merely looks like a number. Squid always writes a
	 * number or "-" for the port, so the port position tells them apart.
	 */
	if (t.ntok > 0 && !t.esc[0] && t.err[0] == NULL && all_digits(t.p[0], t.n[0])) {
		int with_id = 1;

		if (fmt->portpos >= 0) {
			size_t pp = (size_t)fmt->portpos;
			int fits_without = pp < t.ntok && tok_port_like(&t, pp);
			int fits_with = pp + 1 < t.ntok && tok_port_like(&t, pp + 1);

			if (fits_without && !fits_with)
				with_id = 0;
		}
		if (with_id) {
			req->id = t.p[0];
			req->idlen = t.n[0];
			first = 1;
		}
	}
	if (t.ntok - first < fmt->nfields) {
		req->err = t.ntok == first ? "empty request" : "too few fields";
		return -1;
	}

	/* The first field in order that is bad decides the error. */
	for (f = 0; f < fmt->nfields; f++) {
		if (fmt->field[f] == GN_ACL_F_SKIP || t.err[first + f] == NULL)
			continue;
		if (fmt->portpos >= 0 && (size_t)fmt->portpos < f)
			break;	/* the port comes first: check it below */
		req->err = t.err[first + f];
		return -1;
	}
	if (fmt->portpos >= 0) {
		const char *v = NULL;
		size_t n = 0;

		i = first + (size_t)fmt->portpos;
		field_value(&t, i, &v, &n);
		if (v != NULL) {
			if (n > 5 || !all_digits(t.p[i], t.n[i]))
				goto badport;
			for (i = 0, port = 0; i < n; i++)
				port = port * 10 + (unsigned long)(v[i] - '0');
			if (port < 1 || port > 65535)
				goto badport;
			req->port = (int)port;
		}
	}
	if (f < fmt->nfields) {
		/* A bad field after a good port. */
		req->err = t.err[first + f];
		return -1;
	}
	if (fmt->pos[GN_ACL_F_SNI] >= 0)
		field_value(&t, first + (size_t)fmt->pos[GN_ACL_F_SNI], &req->sni, &req->snilen);
	field_value(&t, first + (size_t)fmt->pos[GN_ACL_F_HOST], &req->host, &req->hostlen);
	if (fmt->pos[GN_ACL_F_CLIENT] >= 0)
		field_value(&t, first + (size_t)fmt->pos[GN_ACL_F_CLIENT], &req->client,
		    &req->clientlen);
	return 0;
badport:
	req->err = "bad port";
	return -1;
}

int
gn_acl_parse(char *line, size_t len, const struct gn_acl_format *fmt, struct gn_acl_req *req)
{
	return parse(line, len, fmt, req, 0);
}

int
gn_acl_parse_padded(char *line, size_t len, const struct gn_acl_format *fmt,
    struct gn_acl_req *req)
{
	return parse(line, len, fmt, req, 1);
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
