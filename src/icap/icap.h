/* SPDX-License-Identifier: BSD-2-Clause */
/* srv_gotonet internals that do not need c-icap: reading the target of an HTTP request. */
#ifndef GN_ICAP_H
#define GN_ICAP_H

#include <stddef.h>

/* Where the target of a request was read from. */
enum gn_icap_from {
	GN_ICAP_FROM_NONE = 0,	/* no usable target */
	GN_ICAP_FROM_CONNECT,	/* the authority of a CONNECT request line */
	GN_ICAP_FROM_URL,	/* the host of an absolute URL */
	GN_ICAP_FROM_HOST	/* the Host header of an origin-form request */
};

struct gn_icap_target {
	enum gn_icap_from	from;
	const char		*host;	/* borrowed from the input, not NUL-terminated */
	size_t			 hostlen;	/* IPv6 literals keep their brackets */
	unsigned		 port;	/* 0 when unknown */
	int			 tls;	/* an https:// URL: inside a TLS connection */
};

/*
 * Read the host and port a request goes to from its request line
 * ("CONNECT host:port HTTP/1.1", "GET http://host[:port]/... HTTP/1.1" or
 * "GET /path HTTP/1.1") and, for origin-form requests only, its Host header
 * value (NULL when absent). Returns 0 with t filled, or -1 with t->from set to
 * GN_ICAP_FROM_NONE when no well-formed target is there: a malformed
 * authority is never guessed at, so it can never match a rule by accident.
 */
int	gn_icap_target_parse(const char *reqline, const char *host,
	    struct gn_icap_target *t);

/*
 * Copy an HTTP header value into dst (size bytes, NUL-terminated), replacing
 * control characters so that a label can never split or end the header it is
 * put into, and trimming it to size - 1 bytes. Returns dst.
 */
char	*gn_icap_header_value(char *dst, size_t size, const char *src);

/* Is the header line "Name: value" the header called name (any case)? */
int	gn_icap_header_is(const char *line, const char *name);

#endif /* GN_ICAP_H */
