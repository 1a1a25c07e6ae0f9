/* SPDX-License-Identifier: BSD-2-Clause */
/* Strict address syntax: an address is what a browser would send, nothing that merely decodes to one. */
#include "config.h"

#include <arpa/inet.h>
#include <string.h>

#include "internal.h"

/*
 * Only a canonical dotted quad is an IPv4 address: four decimal parts, no
 * leading zeros, each at most 255. inet_aton() and libcidr accept octal,
 * hex and shorthand forms (0255.0307.0.1, 0xad.0xc7.0.1, 173.199.1) that
 * would let a client name a listed address in a way no list author expects.
 */
int
gn_addr_parse4(const char *s, size_t len, uint32_t *out)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len;
	uint32_t addr = 0;
	int part;

	if (len < 7 || len > 15)
		return -1;
	/* Unrolled per part: one to three digits, no leading zero, at most 255. */
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
