/* SPDX-License-Identifier: BSD-2-Clause */
/* Table-driven test of srv_gotonet's target reading (tests/icap/data/targets.eval). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "icap.h"

static const char *
from_name(enum gn_icap_from f)
{
	switch (f) {
	case GN_ICAP_FROM_CONNECT:
		return "connect";
	case GN_ICAP_FROM_URL:
		return "url";
	case GN_ICAP_FROM_HOST:
		return "host";
	case GN_ICAP_FROM_NONE:
		break;
	}
	return "none";
}

/* Split line at TABs into at most n fields; returns how many were found. */
static int
split(char *line, char **f, int n)
{
	int i = 0;

	f[i++] = line;
	while (i < n && (line = strchr(line, '\t')) != NULL) {
		*line++ = '\0';
		f[i++] = line;
	}
	return i;
}

static int
check_header_helpers(void)
{
	char buf[16];
	int fails = 0;

	gn_icap_header_value(buf, sizeof(buf), "a\r\nX-Evil: 1");
	if (strcmp(buf, "a??X-Evil: 1") != 0) {
		printf("FAIL header value: got '%s'\n", buf);
		fails++;
	}
	gn_icap_header_value(buf, 4, "abcdef");
	if (strcmp(buf, "abc") != 0) {
		printf("FAIL header value truncation: got '%s'\n", buf);
		fails++;
	}
	gn_icap_header_value(buf, 4, "ab\ncd");
	if (strcmp(buf, "ab?") != 0) {
		printf("FAIL header value truncation at a control character: got '%s'\n", buf);
		fails++;
	}
	gn_icap_header_value(buf, sizeof(buf), "\x7f\x01" "Caf\xc3\xa9 \t(x)\r");
	if (strcmp(buf, "??Caf\xc3\xa9 ?(x)?") != 0) {
		printf("FAIL header value: DEL, controls at both ends, UTF-8 kept: got '%s'\n", buf);
		fails++;
	}
	gn_icap_header_value(buf, 1, "abc");
	if (buf[0] != '\0') {
		printf("FAIL header value in 1 byte: got '%s'\n", buf);
		fails++;
	}
	if (!gn_icap_header_is("x-gotonet-bypass: 1", "X-Gotonet-Bypass") ||
	    !gn_icap_header_is("X-Gotonet-Bypass \t: 1", "X-Gotonet-Bypass") ||
	    gn_icap_header_is("X-Gotonet-Bypassed: 1", "X-Gotonet-Bypass") ||
	    gn_icap_header_is("X-Gotonet-Bypass", "X-Gotonet-Bypass")) {
		printf("FAIL gn_icap_header_is\n");
		fails++;
	}
	return fails;
}

int
main(void)
{
	const char *top = getenv("top_srcdir");
	char path[4096], line[4096], got[512], want[512];
	struct gn_icap_target t;
	int lineno = 0, cases = 0, fails = 0, rc;
	char *f[5];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/tests/icap/data/targets.eval", top != NULL ? top : ".");
	if ((fp = fopen(path, "r")) == NULL) {
		perror(path);
		return 99;
	}
	while (fgets(line, sizeof(line), fp) != NULL) {
		lineno++;
		line[strcspn(line, "\n")] = '\0';
		if (line[0] == '#' || line[0] == '\0')
			continue;
		if (split(line, f, 5) != 5) {
			printf("FAIL targets.eval:%d: expected 5 TAB-separated fields\n", lineno);
			fails++;
			continue;
		}
		cases++;
		rc = gn_icap_target_parse(f[3], strcmp(f[4], "-") == 0 ? NULL : f[4], &t);
		if (rc == 0)
			snprintf(got, sizeof(got), "%s %.*s %u", t.tls ? "https" : from_name(t.from),
			    (int)t.hostlen, t.host, t.port);
		else
			snprintf(got, sizeof(got), "none - -");
		if (rc != 0 && t.from != GN_ICAP_FROM_NONE)
			snprintf(got, sizeof(got), "failed with from=%s", from_name(t.from));
		snprintf(want, sizeof(want), "%s %s %s", f[0], f[1], f[2]);
		if (strcmp(got, want) != 0) {
			printf("FAIL targets.eval:%d: '%s' Host '%s': expected %s got %s\n", lineno,
			    f[3], f[4], want, got);
			fails++;
		}
	}
	fclose(fp);
	fails += check_header_helpers();
	printf("%d target cases, %d failure%s\n", cases, fails, fails == 1 ? "" : "s");
	return fails == 0 && cases > 0 ? 0 : 1;
}
