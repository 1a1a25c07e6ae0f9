/* SPDX-License-Identifier: BSD-2-Clause */
/* loadgen: what the load clients (e2eload, icapload) share: clock, worker threads, latencies, options, TCP. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>	/* isfinite, a macro: no -lm */
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "loadgen.h"

static struct timespec t_start;
static int started;

long
gn_load_num(const char *prog, int opt, const char *arg, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (end == arg || *end != '\0' || errno != 0 || v < min || v > max) {
		fprintf(stderr, "%s: -%c %s: want a whole number from %ld to %ld\n", prog, opt, arg,
		    min, max);
		exit(2);
	}
	return v;
}

double
gn_load_seconds(const char *prog, int opt, const char *arg, double min)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(arg, &end);
	if (end == arg || *end != '\0' || errno != 0 || !isfinite(v) || v < min) {
		fprintf(stderr, "%s: -%c %s: want seconds, at least %g\n", prog, opt, arg, min);
		exit(2);
	}
	return v;
}

double
gn_load_now(void)
{
	struct timespec ts;

	if (!started)
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)(ts.tv_sec - t_start.tv_sec) + (double)(ts.tv_nsec - t_start.tv_nsec) / 1e9;
}

int
gn_load_more(long count, double duration, long done)
{
	return (count == 0 || done < count) && (duration == 0 || gn_load_now() < duration);
}

double
gn_load_run(const char *prog, int nthreads, void *(*fn)(void *), void *workers, size_t size)
{
	pthread_t *tids;
	int i, n, rc;

	if ((tids = calloc((size_t)nthreads, sizeof(*tids))) == NULL) {
		fprintf(stderr, "%s: out of memory\n", prog);
		return -1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t_start);
	started = 1;
	for (n = 0; n < nthreads; n++) {
		if ((rc = pthread_create(&tids[n], NULL, fn, (char *)workers + (size_t)n * size)) != 0) {
			fprintf(stderr, "%s: pthread_create: %s\n", prog, strerror(rc));
			break;
		}
	}
	for (i = 0; i < n; i++)
		pthread_join(tids[i], NULL);
	free(tids);
	return n == nthreads ? gn_load_now() : -1;
}

/* Room for MORE samples in L. */
static void
lat_reserve(struct gn_load_lat *l, long more)
{
	double *s;
	long cap = l->cap ? l->cap : 4096;

	if (l->n + more <= l->cap)
		return;
	while (cap < l->n + more)
		cap *= 2;
	if ((s = realloc(l->s, (size_t)cap * sizeof(*s))) == NULL) {
		perror("loadgen: realloc");
		exit(1);
	}
	l->s = s;
	l->cap = cap;
}

void
gn_load_lat_add(struct gn_load_lat *l, double t)
{
	lat_reserve(l, 1);
	l->s[l->n++] = t;
	l->sum += t;
}

void
gn_load_lat_merge(struct gn_load_lat *dst, struct gn_load_lat *src)
{
	if (src->n > 0) {
		lat_reserve(dst, src->n);
		memcpy(dst->s + dst->n, src->s, (size_t)src->n * sizeof(*src->s));
		dst->n += src->n;
		dst->sum += src->sum;
	}
	gn_load_lat_free(src);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

void
gn_load_lat_sort(struct gn_load_lat *l)
{
	if (l->n > 1)
		qsort(l->s, (size_t)l->n, sizeof(*l->s), cmp_double);
}

double
gn_load_lat_pct(const struct gn_load_lat *l, double p)
{
	long i;

	if (l->n == 0)
		return 0;
	i = (long)(p / 100.0 * (double)l->n + 0.999999) - 1;
	if (i < 0)
		i = 0;
	if (i >= l->n)
		i = l->n - 1;
	return l->s[i];
}

double
gn_load_lat_mean(const struct gn_load_lat *l)
{
	return l->n > 0 ? l->sum / (double)l->n : 0;
}

void
gn_load_lat_free(struct gn_load_lat *l)
{
	free(l->s);
	memset(l, 0, sizeof(*l));
}

int
gn_load_connect(in_addr_t dst, int port, in_addr_t src, double timeout)
{
	struct sockaddr_in sa;
	struct timeval tv;
	int fd, one = 1, saved;

	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return -1;
	if (timeout > 0) {
		tv.tv_sec = (time_t)timeout;
		tv.tv_usec = (suseconds_t)((timeout - (double)tv.tv_sec) * 1e6);
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	}
	/* Requests are small writes answered at once: no Nagle delay. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	if (src != htonl(INADDR_ANY)) {
		sa.sin_addr.s_addr = src;
		if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1)
			goto fail;
	}
	sa.sin_addr.s_addr = dst;
	sa.sin_port = htons((uint16_t)port);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1)
		goto fail;
	return fd;
fail:
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

int
gn_load_write_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	ssize_t w;

	while (n > 0) {
		if ((w = write(fd, c, n)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

int
gn_load_fill(struct gn_load_conn *c)
{
	ssize_t r;

	if (c->start > 0) {
		memmove(c->buf, c->buf + c->start, c->end - c->start);
		c->end -= c->start;
		c->start = 0;
	}
	if (c->end == sizeof(c->buf))
		return -1;
	do
		r = read(c->fd, c->buf + c->end, sizeof(c->buf) - c->end);
	while (r == -1 && errno == EINTR);
	if (r <= 0)
		return -1;
	c->end += (size_t)r;
	return 0;
}

int
gn_load_need(struct gn_load_conn *c, size_t n)
{
	while (c->end - c->start < n)
		if (gn_load_fill(c) == -1)
			return -1;
	return 0;
}
