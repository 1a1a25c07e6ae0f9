/* SPDX-License-Identifier: BSD-2-Clause */
/* helperbench-bare: the benchmark's ceiling, an external ACL helper that answers OK without looking. */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

/* Same I/O as ext_gotonet_acl (big reads, batched writes), so that the ratio is the matching. */
static char ibuf[128 * 1024], obuf[128 * 1024];
static size_t olen;

static int
flush(void)
{
	size_t o = 0;
	ssize_t n;

	while (o < olen) {
		if ((n = write(1, obuf + o, olen - o)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		o += (size_t)n;
	}
	olen = 0;
	return 0;
}

int
main(void)
{
	size_t ilen = 0, idlen;
	char *p, *e, *nl;
	ssize_t n;

	for (;;) {
		if (olen > 0 && flush() == -1)
			return 1;
		if ((n = read(0, ibuf + ilen, sizeof(ibuf) - ilen)) <= 0) {
			if (n == -1 && errno == EINTR)
				continue;
			return n == 0 ? 0 : 1;
		}
		ilen += (size_t)n;
		p = ibuf;
		e = ibuf + ilen;
		while ((nl = memchr(p, '\n', (size_t)(e - p))) != NULL) {
			/* Echo the channel ID. */
			for (idlen = 0; p + idlen < nl && p[idlen] >= '0' && p[idlen] <= '9'; idlen++)
				;
			if (sizeof(obuf) - olen < idlen + 8 && flush() == -1)
				return 1;
			memcpy(obuf + olen, p, idlen);
			olen += idlen;
			memcpy(obuf + olen, idlen ? " OK\n" : "OK\n", idlen ? 4 : 3);
			olen += idlen ? 4 : 3;
			p = nl + 1;
		}
		ilen = (size_t)(e - p);
		memmove(ibuf, p, ilen);
		if (ilen == sizeof(ibuf))
			ilen = 0;	/* an over-long line: drop it */
	}
}
