/* SPDX-License-Identifier: BSD-2-Clause */
/* What the fuzz targets share: a readable report, and abort() when table and oracle differ. */
#include "config.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

/* Bytes as a C string literal would write them, so that a report can be pasted into a test. */
static void
put_escaped(FILE *f, const char *s, size_t len, int keep_newlines)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\n' && keep_newlines)
			fputc('\n', f);
		else if (c == '\\' || c == '"')
			fprintf(f, "\\%c", c);
		else if (c >= 0x20 && c < 0x7f)
			fputc(c, f);
		else
			fprintf(f, "\\x%02x", c);
	}
}

void
gn_fuzz_fail(const char *rules, size_t rules_len, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("gotonet fuzz: FAIL: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (rules != NULL) {
		fputs("--- rules ---\n", stderr);
		put_escaped(stderr, rules, rules_len, 1);
		fputs("\n--- end of rules ---\n", stderr);
	}
	fflush(stderr);
	abort();
}

void
gn_fuzz_compare(const struct gn_table *t, const struct gn_oracle *o, const char *target, size_t len,
    const char *rules, size_t rules_len)
{
	static const unsigned protos[] = { GN_PROTO_TCP, GN_PROTO_UDP };
	struct gn_verdict got, want;
	char a[80], b[80];
	size_t i;

	for (i = 0; i < sizeof(protos) / sizeof(protos[0]); i++) {
		got = gn_table_lookup(t, target, len, protos[i]);
		if (gn_oracle_lookup(o, target, len, protos[i], &want) == -1) {
			/*
			 * A regex error: the manual says nothing, but an exception
			 * that could not decide must never turn into a bypass.
			 */
			if (!(want.match == GN_MATCH_EXCEPTED && got.match == GN_MATCH_LISTED))
				continue;
			fputs("gotonet fuzz: exception regex failed to decide (PCRE2 error)\n", stderr);
		} else if (got.match == want.match && got.rule == want.rule &&
		    got.target == want.target)
			continue;
		fflush(stdout);
		fputs("gotonet fuzz: target \"", stderr);
		put_escaped(stderr, target, len, 0);
		fprintf(stderr, "\" (%zu bytes), %s\n", len, gn_proto_name(protos[i]));
		gn_fuzz_fail(rules, rules_len, "table says %s, oracle says %s",
		    gn_oracle_verdict_str(&got, a, sizeof(a)), gn_oracle_verdict_str(&want, b, sizeof(b)));
	}
}

void
gn_fuzz_probe_rule(const struct gn_table *t, const struct gn_oracle *o,
    const struct gn_rule_info *in, const char *text, size_t size)
{
	char buf[600], a[INET6_ADDRSTRLEN];
	uint8_t addr[16];
	unsigned i, bytes;
	size_t n;

#define PROBE(...) do {								\
		int len_ = snprintf(buf, sizeof(buf), __VA_ARGS__);		\
		if (len_ > 0 && (size_t)len_ < sizeof(buf))			\
			gn_fuzz_compare(t, o, buf, (size_t)len_, text, size);	\
	} while (0)

	switch (in->kind) {
	case GN_KIND_HOST:
		PROBE("%s", in->pattern);
		PROBE("%s.", in->pattern);
		PROBE("x.%s", in->pattern);
		PROBE("x%s", in->pattern);
		PROBE("%s", strchr(in->pattern, '.') ? strchr(in->pattern, '.') + 1 : "");
		n = strlen(in->pattern);
		if (n < sizeof(buf)) {
			for (i = 0; i < n; i++)
				buf[i] = (char)(in->pattern[i] >= 'a' && in->pattern[i] <= 'z' ?
				    in->pattern[i] - 'a' + 'A' : in->pattern[i]);
			gn_fuzz_compare(t, o, buf, n, text, size);
		}
		break;
	case GN_KIND_DOMAIN:
		PROBE("%s", in->pattern + 2);
		PROBE("a.%s", in->pattern + 2);
		PROBE("a.b.%s", in->pattern + 2);
		PROBE("x%s", in->pattern + 2);
		PROBE("%s.", in->pattern + 2);
		PROBE("%s.evil.test", in->pattern + 2);
		break;
	case GN_KIND_NET4:
	case GN_KIND_NET6:
		bytes = in->kind == GN_KIND_NET4 ? 4 : 16;
		memcpy(addr, in->addr, 16);
		/* The network, its last address, the one after it and the one before it. */
		for (int step = 0; step < 4; step++) {
			if (step == 1) {
				for (i = in->prefixlen; i < bytes * 8; i++)
					addr[i / 8] |= (uint8_t)(0x80u >> (i % 8));
			} else if (step == 2) {
				for (i = bytes; i-- > 0;)
					if (++addr[i] != 0)
						break;
			} else if (step == 3) {
				memcpy(addr, in->addr, 16);
				for (i = bytes; i-- > 0;)
					if (addr[i]-- != 0)
						break;
			}
			inet_ntop(bytes == 4 ? AF_INET : AF_INET6, addr, a, sizeof(a));
			PROBE("%s", a);
			PROBE("[%s]", a);
			if (bytes == 4)
				PROBE("::ffff:%s", a);
		}
		break;
	case GN_KIND_REGEX:
		break;
	}
#undef PROBE
}
