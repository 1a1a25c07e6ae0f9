/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests of the strict address syntax (addr.c): only canonical dotted quads are IPv4. */
#include "config.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "unit_common.h"
#include "internal.h"

START_TEST(addr_eval)
{
	UNIT_EVAL("tests/data/addr.eval");
}
END_TEST

static uint64_t rng_state = 0x2545f4914f6cdd1dULL;

static uint32_t
rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 0x2545f4914f6cdd1dULL) >> 32);
}

/*
 * gn_addr_parse4 against glibc's inet_pton(AF_INET), which takes exactly
 * the canonical dotted quad: on random strings over digits, dots and a few
 * other bytes, both must accept the same strings with the same value.
 */
START_TEST(addr_parse4_vs_inet_pton)
{
	static const char alphabet[] = "0123456789012345678901234567890123456789....x-+ ";
	char s[24];
	int i, bad = 0, accepted = 0;

	for (i = 0; i < 400000 && bad < 10; i++) {
		size_t len = 1 + rng() % 16, k;
		uint32_t mine = 0;
		struct in_addr ref;
		int a, b;

		/* Half of the strings start as a canonical quad, then get one byte changed. */
		if (rng() % 2) {
			snprintf(s, sizeof(s), "%u.%u.%u.%u", rng() % 300, rng() % 256, rng() % 256,
			    rng() % 1000);
			len = strlen(s);
			if (rng() % 2)
				s[rng() % len] = alphabet[rng() % (sizeof(alphabet) - 1)];
		} else {
			for (k = 0; k < len; k++)
				s[k] = alphabet[rng() % (sizeof(alphabet) - 1)];
			s[len] = '\0';
		}
		a = gn_addr_parse4(s, len, &mine) == 0;
		b = inet_pton(AF_INET, s, &ref) == 1;
		accepted += a;
		if (a != b || (a && mine != ntohl(ref.s_addr))) {
			printf("FAIL addr_parse4: '%s': gn_addr_parse4 %s (%08x), inet_pton %s (%08x)\n", s,
			    a ? "accepts" : "refuses", mine, b ? "accepts" : "refuses",
			    b ? ntohl(ref.s_addr) : 0);
			bad++;
		}
	}
	ck_assert_int_eq(bad, 0);
	ck_assert_msg(accepted > 1000, "only %d valid addresses generated", accepted);
}
END_TEST

/*
 * The vector parser against the byte loop it replaces, on any bytes (NUL and
 * high bytes included) and on near-misses of valid quads.
 */
START_TEST(addr_parse4_vs_ref)
{
	/* With '.' | 0x80 and '0' | 0x80 .. '9' | 0x80: a signed or unsigned byte compare gone wrong. */
	static const char alphabet[] = "0123456789.0123456789.\0\x80\xff/:a\xae\xb0\xb9\x1e";
	char s[24];
	int i, bad = 0;

	for (i = 0; i < 1000000 && bad < 10; i++) {
		size_t len = rng() % 18, k;
		uint32_t mine = 0, ref = 0;
		int a, b;

		if (rng() % 2) {
			len = (size_t)snprintf(s, sizeof(s), "%u.%u.%u.%u", rng() % 300, rng() % 300,
			    rng() % 260, rng() % 1000);
			for (k = rng() % 3; k > 0; k--)
				s[rng() % len] = alphabet[rng() % (sizeof(alphabet) - 1)];
		} else {
			for (k = 0; k < len; k++)
				s[k] = (char)(rng() % 4 == 0 ? rng() : (uint32_t)alphabet[rng() % (sizeof(alphabet) - 1)]);
		}
		a = gn_addr_parse4(s, len, &mine) == 0;
		b = gn_addr_parse4_ref(s, len, &ref) == 0;
		if (a != b || (a && mine != ref)) {
			printf("FAIL addr_parse4 vs ref: %zu bytes: %s %08x, ref %s %08x\n", len,
			    a ? "accepts" : "refuses", mine, b ? "accepts" : "refuses", ref);
			bad++;
		}
	}
	ck_assert_int_eq(bad, 0);
}
END_TEST

/*
 * Every string of dots and 1s up to 16 bytes (the 81 shapes a quad can
 * have and every near miss), then every one of 7 to 9 bytes over "0259."
 * (leading zeros and parts over 255 in every position).
 */
START_TEST(addr_parse4_shapes)
{
	static const char digits[] = "0259";
	char s[24];
	size_t len, k;
	int bad = 0, accepted = 0;

	for (len = 0; len <= 16; len++) {
		uint32_t mask;

		for (mask = 0; mask < 1u << len; mask++) {
			uint32_t mine = 0, ref = 0;
			int a, b;

			for (k = 0; k < len; k++)
				s[k] = mask >> k & 1 ? '.' : '1';
			a = gn_addr_parse4(s, len, &mine) == 0;
			b = gn_addr_parse4_ref(s, len, &ref) == 0;
			accepted += a;
			if (a != b || (a && mine != ref)) {
				printf("FAIL addr_parse4 shape: '%.*s': %s, ref %s\n", (int)len, s,
				    a ? "accepts" : "refuses", b ? "accepts" : "refuses");
				bad++;
			}
		}
	}
	ck_assert_int_eq(accepted, 81);
	for (len = 7; len <= 9; len++) {
		uint32_t code, n = 1;

		for (k = 0; k < len; k++)
			n *= 5;
		for (code = 0; code < n; code++) {
			uint32_t mine = 0, ref = 0, c = code;
			int a, b;

			for (k = 0; k < len; k++, c /= 5)
				s[k] = c % 5 == 4 ? '.' : digits[c % 5];
			a = gn_addr_parse4(s, len, &mine) == 0;
			b = gn_addr_parse4_ref(s, len, &ref) == 0;
			if (a != b || (a && mine != ref)) {
				printf("FAIL addr_parse4: '%.*s': %s, ref %s\n", (int)len, s,
				    a ? "accepts" : "refuses", b ? "accepts" : "refuses");
				bad++;
			}
		}
	}
	ck_assert_int_eq(bad, 0);
}
END_TEST

/* Every canonical quad of every octet value round-trips. */
START_TEST(addr_parse4_all_octets)
{
	char s[32];
	unsigned v;
	int bad = 0;

	for (v = 0; v < 256; v++) {
		uint32_t got = 0, want = v << 24 | (255 - v) << 16 | v << 8 | (v * 7 % 256);

		snprintf(s, sizeof(s), "%u.%u.%u.%u", v, 255 - v, v, v * 7 % 256);
		if (gn_addr_parse4(s, strlen(s), &got) != 0 || got != want) {
			printf("FAIL addr_parse4: '%s' -> %08x\n", s, got);
			bad++;
		}
		/* The same with one leading zero is refused. */
		snprintf(s, sizeof(s), "0%u.%u.%u.%u", v, 255 - v, v, v * 7 % 256);
		if (gn_addr_parse4(s, strlen(s), &got) == 0) {
			printf("FAIL addr_parse4: '%s' accepted\n", s);
			bad++;
		}
	}
	ck_assert_int_eq(bad, 0);
}
END_TEST

/*
 * gn_addr_parse6 against glibc's inet_pton(AF_INET6): on addresses as
 * inet_ntop() writes them (compressed, with zero runs, IPv4-mapped), then
 * with bytes changed, added or removed, and on random strings over hex
 * digits, colons, dots and a few other bytes, both must accept the same
 * strings with the same value.
 */
START_TEST(addr_parse6_vs_inet_pton)
{
	static const char alphabet[] = "0123456789abcdefABCDEFg:::...%x ";
	char s[64];
	uint8_t x[16], mine[16], ref[16];
	int i, k, bad = 0, accepted = 0;

	for (i = 0; i < 1000000 && bad < 10; i++) {
		size_t len, pos;
		int a, b;

		if (rng() % 4 == 0) {
			for (k = 0; k < 16; k++)
				x[k] = (uint8_t)rng();
			if (rng() % 3 == 0)
				memset(x + rng() % 8, 0, rng() % 9);
			else if (rng() % 3 == 0) {
				memset(x, 0, 10);
				x[10] = x[11] = 0xff;
			}
			inet_ntop(AF_INET6, x, s, sizeof(s));
			len = strlen(s);
			for (k = (int)(rng() % 4); k > 0; k--) {
				pos = rng() % (len + 1);
				if (rng() % 3 == 0 && len > 0)
					s[pos % len] = alphabet[rng() % (sizeof(alphabet) - 1)];
				else if (rng() % 2 == 0 && len < 60) {
					memmove(s + pos + 1, s + pos, len - pos);
					s[pos] = alphabet[rng() % (sizeof(alphabet) - 1)];
					len++;
				} else if (len > 0) {
					memmove(s + pos % len, s + pos % len + 1, len - pos % len - 1);
					len--;
				}
			}
		} else {
			len = rng() % 46;
			for (k = 0; k < (int)len; k++)
				s[k] = alphabet[rng() % (sizeof(alphabet) - 1)];
		}
		s[len] = '\0';
		a = gn_addr_parse6(s, len, mine) == 0;
		b = inet_pton(AF_INET6, s, ref) == 1;
		accepted += a;
		if (a != b || (a && memcmp(mine, ref, 16) != 0)) {
			printf("FAIL addr_parse6: '%s': gn_addr_parse6 %s, inet_pton %s\n", s,
			    a ? "accepts" : "refuses", b ? "accepts" : "refuses");
			bad++;
		}
	}
	ck_assert_int_eq(bad, 0);
	ck_assert_msg(accepted > 10000, "only %d valid addresses generated", accepted);
}
END_TEST

/* The length is honoured: bytes after len are never read as part of the address. */
START_TEST(addr_parse_len)
{
	uint32_t a4 = 0;
	uint8_t a6[16];

	ck_assert_int_eq(gn_addr_parse4("173.199.1.12", 11, &a4), 0);
	ck_assert_uint_eq(a4, 0xadc70101u);
	ck_assert_int_eq(gn_addr_parse4("173.199.1.1", 9, &a4), -1);
	ck_assert_int_eq(gn_addr_parse4("", 0, &a4), -1);
	ck_assert_int_eq(gn_addr_parse6("2001:db8::1x", 11, a6), 0);
	ck_assert_int_eq(a6[15], 1);
	ck_assert_int_eq(gn_addr_parse6("", 0, a6), -1);
	ck_assert_int_eq(gn_addr_parse6("173.199.1.1", 11, a6), -1);
}
END_TEST

static Suite *
addr_suite(void)
{
	Suite *s = suite_create("addr");
	TCase *tc = tcase_create("addr");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, addr_eval);
	tcase_add_test(tc, addr_parse4_vs_inet_pton);
	tcase_add_test(tc, addr_parse4_vs_ref);
	tcase_add_test(tc, addr_parse4_shapes);
	tcase_add_test(tc, addr_parse6_vs_inet_pton);
	tcase_add_test(tc, addr_parse4_all_octets);
	tcase_add_test(tc, addr_parse_len);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return unit_run(addr_suite());
}
