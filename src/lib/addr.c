/* SPDX-License-Identifier: BSD-2-Clause */
/* Strict address syntax: an address is what a browser would send, nothing that merely decodes to one. */
#include "config.h"

#include <arpa/inet.h>
#include <string.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "internal.h"

/*
 * Only a canonical dotted quad is an IPv4 address: four decimal parts, no
 * leading zeros, each at most 255. inet_aton() and libcidr accept octal,
 * hex and shorthand forms (0255.0307.0.1, 0xad.0xc7.0.1, 173.199.1) that
 * would let a client name a listed address in a way no list author expects.
 * This is the reference form; gn_addr_parse4() must agree with it on every input.
 */
int
gn_addr_parse4_ref(const char *s, size_t len, uint32_t *out)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len;
	uint32_t addr = 0;
	int part;

	if (len < 7 || len > 15)
		return -1;
	for (part = 0; part < 4; part++) {
		unsigned v, d;

		if (part > 0 && (p >= end || *p++ != '.'))
			return -1;
		if (p >= end || (v = (unsigned)*p - '0') > 9)
			return -1;
		p++;
		if (p < end && (d = (unsigned)*p - '0') <= 9) {
			if (v == 0)
				return -1;	/* leading zero */
			v = v * 10 + d;
			p++;
			if (p < end && (d = (unsigned)*p - '0') <= 9) {
				v = v * 10 + d;
				p++;
				if (v > 255)
					return -1;
			}
		}
		addr = addr << 8 | v;
	}
	if (p != end)
		return -1;
	*out = addr;
	return 0;
}

#if defined(__SSE2__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
/*
 * One part, from the byte after the dot before it to the dot after it, in w
 * as the four bytes that end on its last digit. Returns the value, with
 * bit 16 set when the part is no decimal octet (the caller checks <= 255).
 */
static inline uint32_t
octet(uint32_t w, unsigned start, unsigned end)
{
	static const uint32_t keep[4] = { 0, 0xff0000, 0xffff00, 0xffffff };
	static const uint32_t least[4] = { 0, 0, 10, 100 };	/* else a leading zero */
	unsigned l = end - start;
	uint32_t v;

	w = (w ^ 0x30303030u) & keep[l & 3];
	v = (w & 0xff) * 100 + (w >> 8 & 0xff) * 10 + (w >> 16 & 0xff);
	return v | (uint32_t)((l - 1 > 2) | (v < least[l & 3])) << 16;
}

/*
 * The same, without a branch per digit: the address in one vector, its dots
 * found by mask, each part taken at once between them. Everything stays in
 * registers (a store then a wider load would stall).
 */
int
gn_addr_parse4(const char *s, size_t len, uint32_t *out)
{
	unsigned digits, dots, d1, d2, e1, e2, e3;
	uint32_t o1, o2, o3, o4;
	uint64_t lo, hi = 0;
	unsigned __int128 q;
	__m128i x;

	if (len - 7 > 8)
		return -1;			/* not 7 to 15 bytes */
	/* Sixteen bytes, zeros past the end, without reading past it. */
	if (len >= 8) {
		memcpy(&lo, s, 8);
		if (len > 8) {
			memcpy(&hi, s + len - 8, 8);
			hi >>= 8 * (16 - len);
		}
	} else {
		uint32_t a, c;

		memcpy(&a, s, 4);
		memcpy(&c, s + 3, 4);
		lo = a | (uint64_t)c << 24;
	}
	x = _mm_set_epi64x((long long)hi, (long long)lo);
	digits = (unsigned)_mm_movemask_epi8(_mm_and_si128(
	    _mm_cmpgt_epi8(x, _mm_set1_epi8('0' - 1)), _mm_cmplt_epi8(x, _mm_set1_epi8('9' + 1))));
	dots = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, _mm_set1_epi8('.')));
	/* Every byte a digit or a dot, exactly three dots. */
	d1 = dots & (dots - 1);
	d2 = d1 & (d1 - 1);
	if ((digits | dots) != (1u << len) - 1 || d2 == 0 || (d2 & (d2 - 1)) != 0)
		return -1;
	e1 = (unsigned)__builtin_ctz(dots);
	e2 = (unsigned)__builtin_ctz(d1);
	e3 = (unsigned)__builtin_ctz(d2);
	/* Each part's last digit moved to the third byte of a word (& 3, & 15: junk, not UB, when invalid). */
	q = (unsigned __int128)hi << 64 | lo;
	o1 = octet((uint32_t)lo << (8 * ((3 - e1) & 3)), 0, e1);
	o2 = octet((uint32_t)(q >> (8 * ((e2 - 3) & 15))), e1 + 1, e2);
	o3 = octet((uint32_t)(q >> (8 * ((e3 - 3) & 15))), e2 + 1, e3);
	o4 = octet((uint32_t)(q >> (8 * ((len - 3) & 15))), e3 + 1, (unsigned)len);
	if ((o1 | o2 | o3 | o4) > 255)
		return -1;
	*out = o1 << 24 | o2 << 16 | o3 << 8 | o4;
	return 0;
}
#else
int
gn_addr_parse4(const char *s, size_t len, uint32_t *out)
{
	return gn_addr_parse4_ref(s, len, out);
}
#endif

int
gn_addr_parse6(const char *s, size_t len, uint8_t out[16])
{
	char buf[INET6_ADDRSTRLEN];

	if (len == 0 || len >= sizeof(buf) || memchr(s, ':', len) == NULL ||
	    memchr(s, '\0', len) != NULL)
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	return inet_pton(AF_INET6, buf, out) == 1 ? 0 : -1;
}
