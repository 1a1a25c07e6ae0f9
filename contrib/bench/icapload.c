/* SPDX-License-Identifier: BSD-2-Clause */
/* icapload: keep-alive ICAP REQMOD load from several threads, reporting requests per second. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "loadgen.h"

#define MAX_REQS	64

struct req {
	char	*buf;
	size_t	 len;
};

struct opts {
	const char	*host;
	in_addr_t	 addr;		/* host, parsed */
	int		 port;
	const char	*service;
	int		 threads;
	long		 count;		/* requests per thread, 0: no limit */
	double		 duration;	/* seconds, 0: no limit */
	struct req	 reqs[MAX_REQS];
	int		 nreqs;
	const char	*allow;		/* ICAP Allow header value */
};

struct worker {
	const struct opts *o;
	int		 id;
	long		 done, errors, s200, s204, other, reconnects;
	struct gn_load_lat lat;		/* of each answered request */
};

static void
usage(void)
{
	fprintf(stderr,
	    "usage: icapload [-h host] [-p port] [-s service] [-t threads] [-n requests]\n"
	    "                [-d seconds] [-a allow] -r 'METHOD TARGET' [-r ...]\n"
	    "  Each thread keeps one ICAP connection and sends REQMOD requests (null body,\n"
	    "  Preview: 0, Allow: 204 or -a) for the -r request lines in turn, until -n\n"
	    "  requests per thread or -d seconds, whichever comes first.\n");
	exit(2);
}

/* Host header for a request line target: the authority of "CONNECT h:p" or of a URL. */
static void
target_host(const char *line, char *host, size_t size)
{
	const char *t = strchr(line, ' '), *p, *e;
	size_t n;

	host[0] = '\0';
	if (t == NULL)
		return;
	t++;
	if ((p = strstr(t, "://")) != NULL)
		t = p + 3;
	for (e = t; *e != '\0' && *e != '/' && *e != ' '; e++)
		;
	n = (size_t)(e - t) < size - 1 ? (size_t)(e - t) : size - 1;
	memcpy(host, t, n);
	host[n] = '\0';
}

static int
add_request(struct opts *o, const char *line)
{
	char http[2048], host[512], icap[1024];
	int hlen, ilen;
	struct req *r;

	if (o->nreqs == MAX_REQS) {
		fprintf(stderr, "icapload: at most %d -r requests\n", MAX_REQS);
		return -1;
	}
	target_host(line, host, sizeof(host));
	/* Roughly what Squid sends for a browser request. */
	hlen = snprintf(http, sizeof(http),
	    "%s HTTP/1.1\r\n"
	    "Host: %s\r\n"
	    "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:109.0) Gecko/20100101 Firefox/115.0\r\n"
	    "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n"
	    "Accept-Language: en-US,en;q=0.5\r\n"
	    "Accept-Encoding: gzip, deflate, br\r\n"
	    "Via: 1.1 proxy (squid/5.7)\r\n"
	    "X-Forwarded-For: 10.1.2.3\r\n"
	    "Cache-Control: max-age=0\r\n"
	    "Connection: keep-alive\r\n"
	    "\r\n", line, host);
	ilen = snprintf(icap, sizeof(icap),
	    "REQMOD icap://%s:%d/%s ICAP/1.0\r\n"
	    "Host: %s:%d\r\n"
	    "Date: Tue, 24 Nov 2026 12:00:00 GMT\r\n"
	    "Encapsulated: req-hdr=0, null-body=%d\r\n"
	    "Preview: 0\r\n"
	    "Allow: %s\r\n"
	    "X-Client-IP: 10.1.2.3\r\n"
	    "\r\n", o->host, o->port, o->service, o->host, o->port, hlen, o->allow);
	if (hlen < 0 || ilen < 0 || (size_t)hlen >= sizeof(http) || (size_t)ilen >= sizeof(icap))
		return -1;
	r = &o->reqs[o->nreqs++];
	r->len = (size_t)ilen + (size_t)hlen;
	if ((r->buf = malloc(r->len)) == NULL)
		return -1;
	memcpy(r->buf, icap, (size_t)ilen);
	memcpy(r->buf + ilen, http, (size_t)hlen);
	return 0;
}

/* Read one line (up to CRLF) of a chunked body; returns its length without CRLF. */
static long
read_line(struct gn_load_conn *c, char *line, size_t size)
{
	char *p;
	size_t n;

	for (;;) {
		p = memmem(c->buf + c->start, c->end - c->start, "\r\n", 2);
		if (p != NULL)
			break;
		if (gn_load_fill(c) == -1)
			return -1;
	}
	n = (size_t)(p - (c->buf + c->start));
	if (n >= size)
		return -1;
	memcpy(line, c->buf + c->start, n);
	line[n] = '\0';
	c->start += n + 2;
	return (long)n;
}

/*
 * Read one ICAP response; returns its status code, -1 on a broken
 * connection. *close is set when the server will close the connection.
 */
static int
read_response(struct gn_load_conn *c, int *close_after)
{
	char *hdr, *end, *p, *q, *le, line[256];
	size_t hlen, enc = 0;
	int status, hasbody = 0;
	long chunk;

	for (;;) {
		end = memmem(c->buf + c->start, c->end - c->start, "\r\n\r\n", 4);
		if (end != NULL)
			break;
		if (gn_load_fill(c) == -1)
			return -1;
	}
	hdr = c->buf + c->start;
	hlen = (size_t)(end - hdr) + 4;
	if (sscanf(hdr, "ICAP/1.0 %d", &status) != 1)
		return -1;
	/* a 206 ends its (empty) body with "0; use-original-body=N" */
	*close_after = 0;
	for (p = hdr; p < end; p = le + 2) {
		le = memmem(p, (size_t)(end + 2 - p), "\r\n", 2);

		if (strncasecmp(p, "Connection: close", 17) == 0)
			*close_after = 1;
		if (strncasecmp(p, "Encapsulated:", 13) == 0) {
			for (q = p + 13; q < le; q++) {
				if (strncmp(q, "null-body=", 10) == 0)
					enc = strtoul(q + 10, NULL, 10);
				else if (strncmp(q, "req-body=", 9) == 0 || strncmp(q, "res-body=", 9) == 0) {
					enc = strtoul(strchr(q, '=') + 1, NULL, 10);
					hasbody = 1;
				}
			}
		}
	}
	c->start += hlen;
	if (status == 100 || status == 204)
		return status;
	if (gn_load_need(c, enc) == -1)
		return -1;
	c->start += enc;
	while (hasbody) {
		if ((chunk = read_line(c, line, sizeof(line))) == -1)
			return -1;
		chunk = strtol(line, NULL, 16);
		if (chunk == 0) {
			if (read_line(c, line, sizeof(line)) == -1)	/* the final CRLF */
				return -1;
			break;
		}
		if (gn_load_need(c, (size_t)chunk + 2) == -1)
			return -1;
		c->start += (size_t)chunk + 2;
	}
	return status;
}

static void *
work(void *arg)
{
	struct worker *w = arg;
	const struct opts *o = w->o;
	struct gn_load_conn *c;
	int i = w->id % o->nreqs, status, close_after;
	double t0;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->fd = -1;
	while (gn_load_more(o->count, o->duration, w->done)) {
		if (c->fd == -1) {
			if ((c->fd = gn_load_connect(o->addr, o->port, htonl(INADDR_ANY), 0)) == -1) {
				w->errors++;
				usleep(10000);
				continue;
			}
			c->start = c->end = 0;
			w->reconnects++;
		}
		t0 = gn_load_now();
		if (gn_load_write_all(c->fd, o->reqs[i].buf, o->reqs[i].len) == -1 ||
		    (status = read_response(c, &close_after)) == -1) {
			w->errors++;
			close(c->fd);
			c->fd = -1;
			continue;
		}
		gn_load_lat_add(&w->lat, gn_load_now() - t0);
		w->done++;
		if (status == 200 || status == 206)
			w->s200++;
		else if (status == 204)
			w->s204++;
		else
			w->other++;
		if (close_after) {
			close(c->fd);
			c->fd = -1;
		}
		i = (i + 1) % o->nreqs;
	}
	if (c->fd != -1)
		close(c->fd);
	free(c);
	return NULL;
}

int
main(int argc, char **argv)
{
	struct opts o = { "127.0.0.1", 0, 1344, "gotonet", 2, 0, 5.0, { { NULL, 0 } }, 0, "204" };
	long done = 0, errors = 0, s200 = 0, s204 = 0, other = 0, reconnects = 0;
	struct gn_load_lat all = { 0 };
	struct worker *w;
	double elapsed;
	int ch, i;

	while ((ch = getopt(argc, argv, "a:h:p:s:t:n:d:r:")) != -1) {
		switch (ch) {
		case 'a':
			o.allow = optarg;
			break;
		case 'h':
			o.host = optarg;
			break;
		case 'p':
			o.port = (int)gn_load_num("icapload", ch, optarg, 1, 65535);
			break;
		case 's':
			o.service = optarg;
			break;
		case 't':
			o.threads = (int)gn_load_num("icapload", ch, optarg, 1, 1024);
			break;
		case 'n':
			o.count = gn_load_num("icapload", ch, optarg, 0, LONG_MAX);
			break;
		case 'd':
			o.duration = gn_load_seconds("icapload", ch, optarg, 0);
			break;
		case 'r':
			if (add_request(&o, optarg) == -1)
				return 2;
			break;
		default:
			usage();
		}
	}
	if (o.nreqs == 0 || (o.count == 0 && o.duration == 0))
		usage();
	if (inet_pton(AF_INET, o.host, &o.addr) != 1) {
		fprintf(stderr, "icapload: -h %s: not an IPv4 address\n", o.host);
		return 2;
	}
	if ((w = calloc((size_t)o.threads, sizeof(*w))) == NULL)
		return 1;
	for (i = 0; i < o.threads; i++) {
		w[i].o = &o;
		w[i].id = i;
	}
	if ((elapsed = gn_load_run("icapload", o.threads, work, w, sizeof(*w))) < 0)
		return 1;
	for (i = 0; i < o.threads; i++) {
		done += w[i].done;
		errors += w[i].errors;
		s200 += w[i].s200;
		s204 += w[i].s204;
		other += w[i].other;
		reconnects += w[i].reconnects;
		gn_load_lat_merge(&all, &w[i].lat);
	}
	gn_load_lat_sort(&all);
	printf("service=%s threads=%d requests=%ld seconds=%.3f rps=%.0f avg_us=%.1f "
	    "200/206=%ld 204=%ld other=%ld errors=%ld connections=%ld p50_us=%.1f p99_us=%.1f\n",
	    o.service, o.threads, done, elapsed, elapsed > 0 ? (double)done / elapsed : 0.0,
	    gn_load_lat_mean(&all) * 1e6, s200, s204, other, errors, reconnects,
	    gn_load_lat_pct(&all, 50) * 1e6, gn_load_lat_pct(&all, 99) * 1e6);
	for (i = 0; i < o.nreqs; i++)
		free(o.reqs[i].buf);
	gn_load_lat_free(&all);
	free(w);
	return errors > 0 || other > 0 ? 1 : 0;
}
