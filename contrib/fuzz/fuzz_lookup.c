/* SPDX-License-Identifier: BSD-2-Clause */
/* libFuzzer target: a small list from a dictionary, then targets, judged by the oracle. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

/*
 * Input: byte 0 is the number of rules (mod 16); then two bytes per rule,
 * flags and pattern index; the rest is the target, looked up whole and, when
 * it holds newlines, line by line too (building a table costs far more than
 * a lookup, so one list serves several targets). The patterns overlap on
 * purpose (nested wildcards and prefixes, duplicates, the edges of the
 * address space, mapped IPv6) so that precedence decides most lookups.
 *
 * flags: 0x80 except; 0x60 proto (none, tcp, udp, tcp,udp; address rules
 * only); 0x01 label on an exception.
 */

#define L10	"abcdefghij"
#define L63	L10 L10 L10 L10 L10 L10 "abc"
#define L61	L10 L10 L10 L10 L10 L10 "a"
#define L59	L10 L10 L10 L10 L10 "abcdefghi"

static const char *const patterns[] = {
	/* names: nested wildcards and the hosts beneath them */
	"*.goto.com", "goto.com", "www.goto.com", "*.www.goto.com", "*.a.goto.com",
	"x.a.goto.com", "*.com", "*.getgo.com", "launch.getgo.com", "*.servers.getgo.com",
	"join.servers.getgo.com", "builds.getgocdn.com", "egw.gotomeeting.com",
	"*.gotomeeting.com",
	/* case, trailing dot, punycode, '_', '-', one label */
	"*.GoTo.Com", "GOTO.COM.", "*.xn--bcher-kva.example", "a_b.test", "*.test", "*.a-b.test",
	"*.x", "x", "*.a.b.c.d.e",
	/* a wildcard whose last label looks hexadecimal but is not a number ("*.0x" is refused) */
	"*.0xg",
	/* the longest label and the longest name */
	L63 ".test", L63 "." L63 "." L63 "." L61, "*." L63 "." L63 "." L63 "." L59,
	/* regexes: anchoring, alternation, case */
	"~edge[0-9]+\\.example\\.net", "~.*\\.goto\\.com", "~[a-z]+", "~(www|api)\\.goto\\.com",
	"~g.*", "~a|b", "~.*", "~[^.]+\\.test", "~X{0,3}\\.A\\.goto\\.com", "~.*\\.test",
	/* IPv4: nested, adjacent, the edges, duplicates */
	"0.0.0.0/0", "10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24", "10.1.2.3", "10.1.2.128/25",
	"10.1.2.2/31", "255.255.255.255", "255.255.255.0/24", "173.199.0.0/18", "202.173.24.0/21",
	"192.0.2.0/24", "128.0.0.0/1", "0.0.0.0/32", "10.255.255.0/24", "11.0.0.0/8", "10.0.0.0/8",
	/* IPv6: nested, mapped and translated space, the edges */
	"::/0", "2001:db8::/32", "2001:db8:1::/48", "2001:db8:1::1", "::1", "::ffff:0:0/96",
	"::ffff:10.1.2.0/120", "fe80::/10", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "::/128",
	"64:ff9b::/96", "2001:db8:8000::/33", "2001:db8::/128", "8000::/1", "ffff:ffff:ffff:ffff::/64",
	/* (new entries go last: the corpus names patterns by index) */
	/* a regex PCRE2 gives up on (match limit) for a{40,}.tesx, which it matches */
	"~(?:(a|aa)+\\.tesy|a+\\.tesx)", "*.tesx",
};
#define NPATTERNS (sizeof(patterns) / sizeof(patterns[0]))

#define MAX_RULES	16

/* The last list built: libFuzzer mostly mutates the target, so keep it. */
static struct {
	uint8_t		 head[1 + 2 * MAX_RULES];
	size_t		 headlen;
	char		*text;
	size_t		 textlen;
	struct gn_table	*t;
	struct gn_oracle *o;
} cache;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

static int
is_addr(const char *pat)
{
	if (pat[0] == '~' || pat[0] == '*')
		return 0;
	return strpbrk(pat, ":/") != NULL || strspn(pat, "0123456789.") == strlen(pat);
}

static void
build(const uint8_t *head, size_t n)
{
	struct gn_diag diag;
	char why[200];
	size_t i, cap = 64;
	FILE *f;

	gn_oracle_free(cache.o);
	gn_table_free(cache.t);
	free(cache.text);
	memset(&cache, 0, sizeof(cache));

	if ((f = open_memstream(&cache.text, &cap)) == NULL)
		gn_fuzz_fail(NULL, 0, "open_memstream failed");
	for (i = 0; i < n; i++) {
		static const char *const protos[] = { "", " proto=tcp", " proto=udp", " proto=tcp,udp" };
		unsigned flags = head[1 + 2 * i];
		const char *pat = patterns[head[2 + 2 * i] % NPATTERNS];

		if (flags & 0x80)
			fprintf(f, "except %s%s\n", pat, (flags & 1) ? " label=\"an exception\"" : "");
		else
			fprintf(f, "%s%s label=r%zu\n", pat, is_addr(pat) ? protos[flags >> 5 & 3] : "", i);
	}
	if (fclose(f) != 0)
		gn_fuzz_fail(NULL, 0, "open_memstream failed");
	cache.textlen = strlen(cache.text);

	gn_diag_init(&diag);
	cache.t = gn_table_load_buffer("fuzz_lookup.rules", cache.text, cache.textlen, &diag);
	if (cache.t == NULL)
		gn_fuzz_fail(cache.text, cache.textlen, "a list from the dictionary did not load: %s",
		    diag.nmsgs ? diag.msgs[0] : "(no message)");
	gn_diag_free(&diag);
	if (gn_table_rule_count(cache.t) != n)
		gn_fuzz_fail(cache.text, cache.textlen, "%zu rules written, %zu loaded", n,
		    gn_table_rule_count(cache.t));
	if ((cache.o = gn_oracle_new(cache.t, why, sizeof(why))) == NULL)
		gn_fuzz_fail(cache.text, cache.textlen, "oracle: %s", why);
	/* A new list: the edges of every rule once, then what the fuzzer writes. */
	for (i = 0; i < n; i++) {
		struct gn_rule_info info;

		if (gn_table_rule_info(cache.t, (int32_t)i, &info) == -1)
			gn_fuzz_fail(cache.text, cache.textlen, "no info for rule %zu", i);
		gn_fuzz_probe_rule(cache.t, cache.o, &info, cache.text, cache.textlen);
	}
	memcpy(cache.head, head, 1 + 2 * n);
	cache.headlen = 1 + 2 * n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t n, headlen;

	if (size < 1)
		return 0;
	n = data[0] % MAX_RULES;
	headlen = 1 + 2 * n;
	if (size < headlen)
		return 0;
	if (cache.t == NULL || cache.headlen != headlen || memcmp(cache.head, data, headlen) != 0)
		build(data, n);
	data += headlen;
	size -= headlen;
	gn_fuzz_compare(cache.t, cache.o, (const char *)data, size, cache.text, cache.textlen);
	if (memchr(data, '\n', size) != NULL) {
		const uint8_t *end = data + size, *nl;

		for (; data <= end; data = nl + 1) {
			if ((nl = memchr(data, '\n', (size_t)(end - data))) == NULL)
				nl = end;
			gn_fuzz_compare(cache.t, cache.o, (const char *)data, (size_t)(nl - data),
			    cache.text, cache.textlen);
		}
	}
	return 0;
}
