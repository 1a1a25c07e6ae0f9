/* SPDX-License-Identifier: BSD-2-Clause */
/* e2eload: timed TLS connections through an HTTP proxy's CONNECT (handshake, one GET, close), checking which CA signed each. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "loadgen.h"

#define MAX_NAMES	4096
#define MAX_THREADS	256
#define BUF_SIZE	16384

/* What happened to one connection; the order is the order of the columns. */
enum outcome {
	OUT_SPLICED = 0,	/* the origin CA signed it, as expected */
	OUT_BUMPED,		/* the proxy's CA signed it, as expected */
	OUT_E_CONNECT,		/* no TCP connection to the proxy */
	OUT_E_PROXY,		/* CONNECT not answered 200 */
	OUT_E_TLS,		/* handshake or certificate verification failed */
	OUT_E_PATH,		/* spliced where a bump was expected, or the reverse */
	OUT_E_HTTP,		/* no "origin " answer to the GET */
	OUT_E_TIMEOUT,		/* a read or write timed out */
	OUT_N
};

static const char *const out_names[OUT_N] = {
	"spliced", "bumped", "connect", "proxy", "tls", "path", "http", "timeout"
};

struct name {
	char		*host;		/* not const: SSL_set_tlsext_host_name casts it */
	int		 splice;	/* 1: the proxy should splice it */
};

struct opts {
	int		 proxy_port;
	int		 origin_port;
	int		 threads;
	long		 count;		/* connections in all, 0: no limit */
	double		 duration;	/* seconds, 0: no limit */
	double		 timeout;	/* per read or write, seconds */
	long		 src_base;	/* -1: connect from 127.0.0.1; else a new 127.x.y.z per connection */
	struct name	 names[MAX_NAMES];
	int		 nnames;
	SSL_CTX		*ctx;
	X509_NAME	*origin_ca;	/* subject of the origin's CA */
	X509_NAME	*bump_ca;	/* subject of the proxy's CA */
};

struct worker {
	const struct opts *o;
	long		 counts[OUT_N];
	struct gn_load_lat lat;		/* of each successful connection */
};

static atomic_long next_conn;

static void
usage(void)
{
	fprintf(stderr,
	    "usage: e2eload -p proxy-port -P origin-port -O origin-ca.pem -B bump-ca.pem\n"
	    "               [-c concurrency] [-n connections] [-d seconds] [-t timeout]\n"
	    "               [-S source-base] [+]name ...\n"
	    "  Each of -c threads opens connections to 127.0.0.1:proxy-port in turn:\n"
	    "  CONNECT name:origin-port, TLS handshake with SNI name, GET /, read to the\n"
	    "  end, close; the names are taken round-robin. '+name' must be spliced (its\n"
	    "  certificate signed by the origin CA), a plain name bumped (by the proxy's\n"
	    "  CA). Stops after -n connections or -d seconds, whichever comes first.\n"
	    "  -S N connects from a new address per connection, 127.x.y.z number N, N+1...\n");
	exit(2);
}

static X509_NAME *
ca_subject(const char *path)
{
	FILE *f;
	X509 *x;
	X509_NAME *n;

	if ((f = fopen(path, "r")) == NULL) {
		fprintf(stderr, "e2eload: %s: %s\n", path, strerror(errno));
		exit(2);
	}
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (x == NULL) {
		fprintf(stderr, "e2eload: %s: no PEM certificate\n", path);
		exit(2);
	}
	n = X509_NAME_dup(X509_get_subject_name(x));
	X509_free(x);
	return n;
}

/* 127.x.y.z number k, never a .0 or .255 last octet. */
static in_addr_t
source_addr(long k)
{
	unsigned long a = 1 + (unsigned long)k % 254, b = ((unsigned long)k / 254) % 256,
	    c = 1 + ((unsigned long)k / (254 * 256)) % 254;

	return htonl((127UL << 24) | (c << 16) | (b << 8) | a);
}

static int
io_failed(void)
{
	return errno == EAGAIN || errno == EWOULDBLOCK ? OUT_E_TIMEOUT : -1;
}

/* Read until "\r\n\r\n"; the proxy sends nothing after its CONNECT answer before we speak. */
static int
read_head(int fd, char *buf, size_t size)
{
	size_t len = 0;
	ssize_t r;

	while (len + 1 < size) {
		r = read(fd, buf + len, size - 1 - len);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			return r == 0 ? -1 : io_failed();
		len += (size_t)r;
		buf[len] = '\0';
		if (strstr(buf, "\r\n\r\n") != NULL)
			return 0;
	}
	return -1;
}

static enum outcome
one_connection(const struct opts *o, long k, const struct name *nm)
{
	char buf[BUF_SIZE], rest[4096];
	SSL *ssl = NULL;
	X509 *peer = NULL;
	enum outcome res;
	size_t len;
	int fd, r, n;

	if ((fd = gn_load_connect(htonl(INADDR_LOOPBACK), o->proxy_port,
	    o->src_base >= 0 ? source_addr(o->src_base + k) : htonl(INADDR_ANY), o->timeout)) == -1)
		return OUT_E_CONNECT;

	n = snprintf(buf, sizeof(buf), "CONNECT %s:%d HTTP/1.1\r\nHost: %s:%d\r\n\r\n", nm->host,
	    o->origin_port, nm->host, o->origin_port);
	if (gn_load_write_all(fd, buf, (size_t)n) == -1) {
		res = io_failed() == OUT_E_TIMEOUT ? OUT_E_TIMEOUT : OUT_E_PROXY;
		goto end;
	}
	if ((r = read_head(fd, buf, sizeof(buf))) != 0) {
		res = r == OUT_E_TIMEOUT ? OUT_E_TIMEOUT : OUT_E_PROXY;
		goto end;
	}
	if (strncmp(buf, "HTTP/1.1 200", 12) != 0 && strncmp(buf, "HTTP/1.0 200", 12) != 0) {
		res = OUT_E_PROXY;
		goto end;
	}

	if ((ssl = SSL_new(o->ctx)) == NULL || SSL_set_fd(ssl, fd) != 1 ||
	    SSL_set_tlsext_host_name(ssl, nm->host) != 1 || SSL_set1_host(ssl, nm->host) != 1) {
		res = OUT_E_TLS;
		goto end;
	}
	errno = 0;
	if (SSL_connect(ssl) != 1 || SSL_get_verify_result(ssl) != X509_V_OK) {
		res = errno == EAGAIN ? OUT_E_TIMEOUT : OUT_E_TLS;
		goto end;
	}
	if ((peer = SSL_get1_peer_certificate(ssl)) == NULL) {
		res = OUT_E_TLS;
		goto end;
	}
	if (X509_NAME_cmp(X509_get_issuer_name(peer), o->origin_ca) == 0)
		res = nm->splice ? OUT_SPLICED : OUT_E_PATH;
	else if (X509_NAME_cmp(X509_get_issuer_name(peer), o->bump_ca) == 0)
		res = nm->splice ? OUT_E_PATH : OUT_BUMPED;
	else
		res = OUT_E_PATH;

	n = snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nHost: %s:%d\r\nConnection: close\r\n\r\n",
	    nm->host, o->origin_port);
	if (SSL_write(ssl, buf, n) != n) {
		res = OUT_E_HTTP;
		goto end;
	}
	/* The origin closes after its answer; read it all so the close is the server's. */
	len = 0;
	errno = 0;
	while ((r = SSL_read(ssl, len + 1 < sizeof(buf) ? buf + len : rest,
	    len + 1 < sizeof(buf) ? (int)(sizeof(buf) - 1 - len) : (int)sizeof(rest))) > 0) {
		if (len + 1 < sizeof(buf))
			len += (size_t)r;	/* only the start is checked */
		errno = 0;
	}
	/* A stalled answer is a failure, not a slow success. */
	if (errno == EAGAIN || errno == EWOULDBLOCK) {
		res = OUT_E_TIMEOUT;
		goto end;
	}
	buf[len] = '\0';
	if (strncmp(buf, "HTTP/1.1 200", 12) != 0 || strstr(buf, "\r\n\r\norigin ") == NULL)
		res = res == OUT_E_PATH ? res : OUT_E_HTTP;
end:
	X509_free(peer);
	SSL_free(ssl);
	close(fd);
	/* The origin closes without close_notify, which OpenSSL 3 queues as an error. */
	ERR_clear_error();
	return res;
}

static void *
work(void *arg)
{
	struct worker *w = arg;
	const struct opts *o = w->o;
	enum outcome res;
	double t0;
	long k;

	/* One counter for all threads: -n counts connections, and -S numbers them. */
	for (;;) {
		k = atomic_fetch_add(&next_conn, 1);
		if (!gn_load_more(o->count, o->duration, k))
			break;
		t0 = gn_load_now();
		res = one_connection(o, k, &o->names[k % o->nnames]);
		w->counts[res]++;
		if (res == OUT_SPLICED || res == OUT_BUMPED)
			gn_load_lat_add(&w->lat, gn_load_now() - t0);
	}
	return NULL;
}

int
main(int argc, char *argv[])
{
	static struct opts o;
	static struct worker w[MAX_THREADS];
	const char *origin_ca = NULL, *bump_ca = NULL;
	struct gn_load_lat all = { 0 };
	long counts[OUT_N] = { 0 }, ok, err;
	struct rusage ru;
	double elapsed, cpu;
	int ch, i, j;

	o.threads = 8;
	o.count = 2000;
	o.duration = 30;
	o.timeout = 10;
	o.src_base = -1;
	while ((ch = getopt(argc, argv, "p:P:O:B:c:n:d:t:S:")) != -1) {
		switch (ch) {
		case 'p':
			o.proxy_port = (int)gn_load_num("e2eload", ch, optarg, 1, 65535);
			break;
		case 'P':
			o.origin_port = (int)gn_load_num("e2eload", ch, optarg, 1, 65535);
			break;
		case 'O':
			origin_ca = optarg;
			break;
		case 'B':
			bump_ca = optarg;
			break;
		case 'c':
			o.threads = (int)gn_load_num("e2eload", ch, optarg, 1, MAX_THREADS);
			break;
		case 'n':
			o.count = gn_load_num("e2eload", ch, optarg, 0, LONG_MAX);
			break;
		case 'd':
			o.duration = gn_load_seconds("e2eload", ch, optarg, 0);
			break;
		case 't':
			o.timeout = gn_load_seconds("e2eload", ch, optarg, 0.001);
			break;
		case 'S':
			o.src_base = gn_load_num("e2eload", ch, optarg, 0, LONG_MAX / 2);
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (o.proxy_port == 0 || o.origin_port == 0 || origin_ca == NULL || bump_ca == NULL ||
	    argc < 1 || argc > MAX_NAMES || (o.count == 0 && o.duration == 0))
		usage();
	for (i = 0; i < argc; i++) {
		o.names[i].splice = argv[i][0] == '+';
		o.names[i].host = argv[i] + o.names[i].splice;
		if (o.names[i].host[0] == '\0' || strlen(o.names[i].host) > 253)
			usage();
	}
	o.nnames = argc;
	signal(SIGPIPE, SIG_IGN);

	o.origin_ca = ca_subject(origin_ca);
	o.bump_ca = ca_subject(bump_ca);
	/* Both CAs are trusted: the outcome is told by the issuer, not by a failed handshake. */
	if ((o.ctx = SSL_CTX_new(TLS_client_method())) == NULL ||
	    SSL_CTX_load_verify_locations(o.ctx, origin_ca, NULL) != 1 ||
	    SSL_CTX_load_verify_locations(o.ctx, bump_ca, NULL) != 1) {
		fprintf(stderr, "e2eload: cannot set up TLS: ");
		ERR_print_errors_fp(stderr);
		return 2;
	}
	SSL_CTX_set_verify(o.ctx, SSL_VERIFY_PEER, NULL);
	/* Every connection pays a full handshake, as a new client would. */
	SSL_CTX_set_session_cache_mode(o.ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_options(o.ctx, SSL_OP_NO_TICKET);

	for (i = 0; i < o.threads; i++)
		w[i].o = &o;
	if ((elapsed = gn_load_run("e2eload", o.threads, work, w, sizeof(w[0]))) < 0)
		return 1;
	getrusage(RUSAGE_SELF, &ru);
	cpu = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	    (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;

	for (i = 0; i < o.threads; i++) {
		for (j = 0; j < OUT_N; j++)
			counts[j] += w[i].counts[j];
		gn_load_lat_merge(&all, &w[i].lat);
	}
	gn_load_lat_sort(&all);
	ok = counts[OUT_SPLICED] + counts[OUT_BUMPED];
	err = 0;
	for (j = OUT_E_CONNECT; j < OUT_N; j++)
		err += counts[j];
	printf("conns=%ld ok=%ld errors=%ld secs=%.3f cps=%.1f p50_ms=%.2f p99_ms=%.2f", ok + err,
	    ok, err, elapsed, elapsed > 0 ? (double)ok / elapsed : 0.0,
	    gn_load_lat_pct(&all, 50) * 1e3, gn_load_lat_pct(&all, 99) * 1e3);
	for (j = 0; j < OUT_N; j++)
		printf(" %s=%ld", out_names[j], counts[j]);
	/* The client's share of the machine, beside the proxy's and the origin's. */
	printf(" client_us=%.0f\n", ok + err > 0 ? cpu * 1e6 / (double)(ok + err) : 0.0);
	gn_load_lat_free(&all);
	SSL_CTX_free(o.ctx);
	X509_NAME_free(o.origin_ca);
	X509_NAME_free(o.bump_ca);
	return err > 0 ? 1 : 0;
}
