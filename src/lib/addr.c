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
 * The 80 shapes of a dotted quad of 8 to 15 bytes (1 to 3 digits a part):
 * where the dots are in s[0..8) (bits 0..7) and in s[len-8..len) (bits
 * 8..15), and len (from bit 16). Each has its own slot under
 * shape * QMAGIC >> 24, with the shifts that take each part's last digit to
 * the top byte of a word (s3 on the last eight bytes). One compare checks
 * exactly three dots, no part empty and none over three digits
 * (tests/unit_addr.c tries every shape).
 */
#define QMAGIC	0x498a300fu
static const struct shape {
	uint32_t	key;
	uint8_t		s1, s2, s3;
} shapes[256] = {
	[1] = { 0xa28a2, 56, 24, 24 }, [9] = { 0x94992, 56, 32, 16 },
	[12] = { 0xe2288, 40, 8, 24 }, [15] = { 0xf1188, 40, 8, 32 },
	[16] = { 0x952a4, 48, 24, 16 }, [23] = { 0x9152a, 56, 40, 32 },
	[24] = { 0xc2228, 40, 24, 24 }, [27] = { 0xd1128, 40, 24, 32 },
	[28] = { 0xb4424, 48, 24, 16 }, [30] = { 0xa29a4, 48, 24, 24 },
	[34] = { 0xa5144, 48, 16, 16 }, [38] = { 0x94a94, 48, 32, 16 },
	[39] = { 0xb4948, 40, 16, 16 }, [41] = { 0xb2214, 48, 32, 24 },
	[44] = { 0xc1114, 48, 32, 32 }, [47] = { 0xc4888, 40, 8, 16 },
	[48] = { 0xb2844, 48, 16, 24 }, [54] = { 0xd4488, 40, 8, 16 },
	[56] = { 0xc2444, 48, 16, 24 }, [58] = { 0xa1452, 56, 32, 32 },
	[61] = { 0x82a2a, 56, 40, 24 }, [64] = { 0xa2492, 56, 32, 24 },
	[67] = { 0xb2422, 56, 24, 24 }, [74] = { 0x954a8, 40, 24, 16 },
	[75] = { 0xb1294, 48, 32, 32 }, [77] = { 0xd1488, 40, 8, 32 },
	[79] = { 0xc1224, 48, 24, 32 }, [80] = { 0xa4a28, 40, 24, 16 },
	[82] = { 0x85252, 56, 32, 16 }, [83] = { 0xd2244, 48, 16, 24 },
	[86] = { 0xe1144, 48, 16, 32 }, [87] = { 0xa1554, 48, 32, 32 },
	[93] = { 0xa2594, 48, 32, 24 }, [94] = { 0xc2448, 40, 16, 24 },
	[95] = { 0xc2222, 56, 24, 24 }, [96] = { 0x92952, 56, 32, 24 },
	[98] = { 0xd1122, 56, 24, 32 }, [101] = { 0xb14a2, 56, 24, 32 },
	[105] = { 0xe1288, 40, 8, 32 }, [117] = { 0xc1228, 40, 24, 32 },
	[118] = { 0xb4844, 48, 16, 16 }, [122] = { 0xd2248, 40, 16, 24 },
	[124] = { 0xe1148, 40, 16, 32 }, [125] = { 0x92a54, 48, 32, 24 },
	[126] = { 0xc4444, 48, 16, 16 }, [130] = { 0xa4822, 56, 24, 16 },
	[135] = { 0xb2528, 40, 24, 24 }, [137] = { 0xb4422, 56, 24, 16 },
	[147] = { 0x9458a, 56, 40, 16 }, [149] = { 0xc1444, 48, 16, 32 },
	[150] = { 0xb2212, 56, 32, 24 }, [153] = { 0xc1112, 56, 32, 32 },
	[159] = { 0xa4924, 48, 24, 16 }, [164] = { 0xc4448, 40, 16, 16 },
	[169] = { 0xb15a8, 40, 24, 32 }, [176] = { 0xd1244, 48, 16, 32 },
	[180] = { 0x84a4a, 56, 40, 16 }, [184] = { 0xb1292, 56, 32, 32 },
	[187] = { 0xc1448, 40, 16, 32 }, [188] = { 0xc1222, 56, 24, 32 },
	[193] = { 0xa4412, 56, 32, 16 }, [205] = { 0xb4528, 40, 24, 16 },
	[207] = { 0xa2aa8, 40, 24, 24 }, [210] = { 0xa5248, 40, 16, 16 },
	[214] = { 0xb2424, 48, 24, 24 }, [215] = { 0xd1248, 40, 16, 32 },
	[217] = { 0xa124a, 56, 40, 32 }, [219] = { 0xb5188, 40, 8, 16 },
	[222] = { 0xa4514, 48, 32, 16 }, [223] = { 0xa228a, 56, 40, 24 },
	[225] = { 0xb2948, 40, 16, 24 }, [226] = { 0xb118a, 56, 40, 32 },
	[233] = { 0xc2888, 40, 8, 24 }, [235] = { 0x9254a, 56, 40, 24 },
	[240] = { 0xd2488, 40, 8, 24 }, [242] = { 0xc2224, 48, 24, 24 },
	[243] = { 0x951a2, 56, 24, 16 }, [245] = { 0xd1124, 48, 24, 32 },
	[248] = { 0xb14a4, 48, 24, 32 }, [249] = { 0x85454, 48, 32, 16 },
};

/*
 * The same, without a branch per byte: s[0..8) and s[len-8..len) in one
 * vector. The first eight bytes hold both first parts (at most 3 + 1 + 3
 * bytes), the last eight both last ones, so each part is taken from a 64-bit
 * word by shifts, and the four are converted together. A byte's neighbour
 * across the middle of the vector is unknown: each check that needs one is
 * made in the half that holds both.
 */
int
gn_addr_parse4(const char *s, size_t len, uint32_t *out)
{
	const __m128i zero = _mm_setzero_si128(), dotv = _mm_set1_epi8('.');
	const __m128i weight = _mm_set_epi16(0, 1, 10, 100, 0, 1, 10, 100);
	unsigned shape;
	uint64_t lo, hi, a, b;
	const struct shape *q;
	__m128i x, y, dig, dot, sep, bad;

	/* d.d.d.d (too short for two loads) is rare: the byte loop takes it. */
	if (len - 8 > 7)
		return len == 7 ? gn_addr_parse4_ref(s, len, out) : -1;
	memcpy(&lo, s, 8);
	memcpy(&hi, s + len - 8, 8);
	x = _mm_set_epi64x((long long)hi, (long long)lo);
	y = _mm_xor_si128(x, _mm_set1_epi8('0'));
	dig = _mm_cmpeq_epi8(_mm_max_epu8(y, _mm_set1_epi8(9)), _mm_set1_epi8(9));
	dot = _mm_cmpeq_epi8(x, dotv);
	/* Refused: any other byte, a leading zero ('0' after a dot or the start, before a digit). */
	sep = _mm_cmpeq_epi8(_mm_or_si128(_mm_slli_epi64(x, 8), _mm_set_epi64x(0, '.')), dotv);
	bad = _mm_and_si128(_mm_and_si128(sep, _mm_cmpeq_epi8(y, zero)), _mm_srli_epi64(dig, 8));
	bad = _mm_or_si128(bad, _mm_andnot_si128(_mm_or_si128(dig, dot), _mm_set1_epi8(-1)));
	if (_mm_movemask_epi8(bad) != 0)
		return -1;
	shape = (unsigned)_mm_movemask_epi8(dot) | (unsigned)len << 16;
	q = &shapes[(shape * QMAGIC) >> 24];
	if (q->key != shape)
		return -1;
	/* Each part's last digit to byte 2 of a 32-bit lane. */
	lo ^= 0x3030303030303030u;
	hi ^= 0x3030303030303030u;
	a = (lo << q->s1 >> 40) | (lo << q->s2 >> 40) << 32;
	b = (hi << q->s3 >> 40) | (hi >> 40) << 32;
	x = _mm_set_epi64x((long long)b, (long long)a);
	/* A lane's dot, and what came before it, is no digit. */
	y = _mm_cmpeq_epi8(x, _mm_set1_epi8('.' ^ '0'));
	x = _mm_andnot_si128(_mm_or_si128(y, _mm_srli_epi32(y, 8)), x);
	/* d0 * 100 + d1 * 10 + d2 in each lane. */
	y = _mm_madd_epi16(_mm_unpackhi_epi8(x, zero), weight);
	x = _mm_madd_epi16(_mm_unpacklo_epi8(x, zero), weight);
	x = _mm_madd_epi16(_mm_packs_epi32(x, y), _mm_set1_epi16(1));
	if (_mm_movemask_epi8(_mm_cmpgt_epi32(x, _mm_set1_epi32(255))) != 0)
		return -1;
	x = _mm_packs_epi32(x, x);
	*out = __builtin_bswap32((uint32_t)_mm_cvtsi128_si32(_mm_packus_epi16(x, x)));
	return 0;
}
#else
int
gn_addr_parse4(const char *s, size_t len, uint32_t *out)
{
	return gn_addr_parse4_ref(s, len, out);
}
#endif

/* Hex digit values plus one; 0: not a hex digit. */
static const uint8_t hex1[256] = {
	['0'] = 1, ['1'] = 2, ['2'] = 3, ['3'] = 4, ['4'] = 5,
	['5'] = 6, ['6'] = 7, ['7'] = 8, ['8'] = 9, ['9'] = 10,
	['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16,
	['A'] = 11, ['B'] = 12, ['C'] = 13, ['D'] = 14, ['E'] = 15, ['F'] = 16,
};

/*
 * IPv6 text exactly as glibc's inet_pton(AF_INET6) takes it (tests/unit_addr.c
 * compares the two on millions of strings), three to four times faster: a
 * table per byte instead of a search, and no copy to terminate the string.
 * Groups of one to four hex digits, at most one "::", and a dotted quad for
 * the last 32 bits (inet_pton() reads it as gn_addr_parse4() does: decimal,
 * no leading zero); no zone, no brackets (the caller takes those off).
 */
int
gn_addr_parse6(const char *s, size_t len, uint8_t out[16])
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len, *tok;
	uint8_t tmp[16], *tp = tmp, *gap = NULL;
	unsigned v = 0, nx = 0;
	uint32_t a4;

	if (len == 0 || len >= INET6_ADDRSTRLEN)
		return -1;
	if (*p == ':' && (++p == end || *p != ':'))
		return -1;			/* a leading colon only as "::" */
	for (tok = p; p < end;) {
		unsigned ch = *p++, d = hex1[ch];

		if (d != 0) {
			if (nx == 4)
				return -1;
			v = v << 4 | (d - 1);
			nx++;
		} else if (ch == ':') {
			tok = p;
			if (nx == 0) {
				if (gap != NULL)
					return -1;	/* a second "::" */
				gap = tp;
				continue;
			}
			if (p == end || tp + 2 > tmp + 16)
				return -1;
			*tp++ = (uint8_t)(v >> 8);
			*tp++ = (uint8_t)v;
			v = nx = 0;
		} else if (ch == '.' && tp + 4 <= tmp + 16 &&
		    gn_addr_parse4((const char *)tok, (size_t)(end - tok), &a4) == 0) {
			*tp++ = (uint8_t)(a4 >> 24);
			*tp++ = (uint8_t)(a4 >> 16);
			*tp++ = (uint8_t)(a4 >> 8);
			*tp++ = (uint8_t)a4;
			nx = 0;
			break;
		} else {
			return -1;
		}
	}
	if (nx > 0) {
		if (tp + 2 > tmp + 16)
			return -1;
		*tp++ = (uint8_t)(v >> 8);
		*tp++ = (uint8_t)v;
	}
	if (gap != NULL) {
		/* "::" stands for at least one group of zeros. */
		size_t n = (size_t)(tp - gap);

		if (tp == tmp + 16)
			return -1;
		memmove(tmp + 16 - n, gap, n);
		memset(gap, 0, (size_t)(tmp + 16 - n - gap));
		tp = tmp + 16;
	}
	if (tp != tmp + 16)
		return -1;
	memcpy(out, tmp, 16);
	return 0;
}
