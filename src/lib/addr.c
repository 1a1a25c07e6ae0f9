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
	uint32_t addr = 0, part = 0;
	size_t i, digits = 0, parts = 0;

	for (i = 0; i <= len; i++) {
		if (i == len || s[i] == '.') {
			if (digits == 0 || part > 255 || ++parts > 4)
				return -1;
			addr = addr << 8 | part;
			part = 0;
			digits = 0;
			continue;
		}
		if (s[i] < '0' || s[i] > '9')
			return -1;
		if (digits > 0 && part == 0)
			return -1;	/* leading zero */
		if (++digits > 3)
			return -1;
		part = part * 10 + (uint32_t)(s[i] - '0');
	}
	if (parts != 4)
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
