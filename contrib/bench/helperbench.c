/* SPDX-License-Identifier: BSD-2-Clause */
/* helperbench: feed request lines through pipes to external ACL helpers; print lines/s, ratios and latency. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "gotonet.h"

#define MAXHELPERS	8
#define MAXSETS		4
#define POOL		65536	/* distinct request lines per query set */

struct qset {
	const char	*name;
	const char	*rules;
	char		**lines;	/* POOL lines without ID or newline */
	size_t		 nlines;
	size_t		 nhit;		/* lines built to hit a rule */
};

struct helper {
	const char	*name;
	struct qset	*set;
	const char	*cmd;
	double		 rate;		/* lines/s, median of the runs */
	double		 lat_mean, lat_p50, lat_p99;	/* microseconds per round trip */
	size_t		 ok, err, bh;	/* answers in the check pass */
};

static void die(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));

static void
die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "helperbench: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(1);
}

static uint64_t rng = 88172645463325252ULL;

static uint64_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *
xstrdup(const char *s)
{
	char *p = strdup(s);

	if (p == NULL)
		die("out of memory");
	return p;
}

/* A target that a rule matches, or NULL for kinds we do not sample (regexes, exceptions). */
static int
rule_target(const struct gn_rule_info *r, char *buf, size_t len)
{
	uint8_t a[16];
	unsigned host;

	if (r->flags & GN_RULE_EXCEPT)
		return -1;
	switch (r->kind) {
	case GN_KIND_HOST:
		snprintf(buf, len, "%s", r->pattern);
		return 0;
	case GN_KIND_DOMAIN:
		snprintf(buf, len, "n%u.%s", (unsigned)(rnd() % 1000), r->pattern + 2);
		return 0;
	case GN_KIND_NET4:
		memcpy(a, r->addr, 4);
		host = r->prefixlen >= 32 ? 0 : (unsigned)(rnd() & ((1ULL << (32 - r->prefixlen)) - 1));
		host = (unsigned)(((uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 | (uint32_t)a[2] << 8 | a[3]) | host);
		snprintf(buf, len, "%u.%u.%u.%u", host >> 24, (host >> 16) & 255, (host >> 8) & 255, host & 255);
		return 0;
	case GN_KIND_NET6:
		memcpy(a, r->addr, 16);
		if (r->prefixlen <= 120)
			a[15] = (uint8_t)(1 + rnd() % 200);
		inet_ntop(AF_INET6, a, buf, (socklen_t)len);
		return 0;
	default:
		return -1;
	}
}

/*
 * The fields Squid sends, as in the external_acl_type format of
 * etc/squid/gotonet.conf: %ssl::>sni %>rd %>rP (-F sni,host,port), or with
 * the client address too (%>a, the helper's default -F sni,host,port,client).
 * Squid appends "-" for %DATA either way.
 */
static int with_client;

/*
 * Request lines for a rules file: half aimed at rules (names with the same
 * SNI, addresses without one), half at names and addresses nobody lists.
 */
static void
make_set(struct qset *q)
{
	struct gn_diag d;
	struct gn_table *t;
	struct gn_rule_info r;
	size_t i, n, o, tries;
	char target[256], line[600];

	gn_diag_init(&d);
	if ((t = gn_table_load(q->rules, &d)) == NULL)
		die("%s: %zu errors", q->rules, d.nerrors);
	gn_diag_free(&d);
	n = gn_table_rule_count(t);
	if ((q->lines = calloc(POOL, sizeof(*q->lines))) == NULL)
		die("out of memory");
	for (i = 0; i < POOL; i++) {
		int v6 = 0;

		if (i % 2 == 0) {
			for (tries = 0; tries < 100; tries++)
				if (gn_table_rule_info(t, (int32_t)(rnd() % n), &r) == 0 &&
				    rule_target(&r, target, sizeof(target)) == 0)
					break;
			if (tries == 100)
				die("%s: no rule to aim at", q->rules);
			v6 = r.kind == GN_KIND_NET6;
			q->nhit++;
		} else if (i % 4 == 1) {
			snprintf(target, sizeof(target), "www%u.site%u.example", (unsigned)(rnd() % 100000),
			    (unsigned)(rnd() % 1000));
		} else {
			snprintf(target, sizeof(target), "198.%u.%u.%u", 18 + (unsigned)(rnd() % 2),
			    (unsigned)(rnd() % 256), (unsigned)(rnd() % 256));
		}
		if (strchr(target, ':') != NULL || strspn(target, "0123456789.") == strlen(target))
			o = (size_t)snprintf(line, sizeof(line), "- %s%s%s 443", v6 ? "%5B" : "", target,
			    v6 ? "%5D" : "");
		else
			o = (size_t)snprintf(line, sizeof(line), "%s %s 443", target, target);
		/* The same random draws either way: both formats ask the same questions. */
		snprintf(line + o, sizeof(line) - o, with_client ? " 10.%u.%u.%u -" : " -",
		    (unsigned)(rnd() % 256), (unsigned)(rnd() % 256), (unsigned)(rnd() % 256));
		q->lines[i] = xstrdup(line);
	}
	q->nlines = POOL;
	gn_table_free(t);
}

/* N lines with channel IDs 1..N, as Squid sends them with concurrency. */
static char *
make_input(const struct qset *q, size_t nreq, size_t *len)
{
	size_t cap = 0, o = 0, i;
	char *buf;

	for (i = 0; i < q->nlines; i++)
		cap += strlen(q->lines[i]) + 12;
	cap = cap * (nreq / q->nlines + 1);
	if ((buf = malloc(cap)) == NULL)
		die("out of memory");
	for (i = 0; i < nreq; i++)
		o += (size_t)sprintf(buf + o, "%zu %s\n", i + 1, q->lines[i % q->nlines]);
	*len = o;
	return buf;
}

struct child {
	pid_t	pid;
	int	in, out;	/* we write to in, read from out */
};

static void
spawn(const char *cmd, struct child *c)
{
	int pin[2], pout[2];

	if (pipe(pin) == -1 || pipe(pout) == -1)
		die("pipe: %s", strerror(errno));
	if ((c->pid = fork()) == -1)
		die("fork: %s", strerror(errno));
	if (c->pid == 0) {
		dup2(pin[0], 0);
		dup2(pout[1], 1);
		close(pin[0]);
		close(pin[1]);
		close(pout[0]);
		close(pout[1]);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	close(pin[0]);
	close(pout[1]);
	/* Bigger pipes mean fewer wake-ups for every helper alike (best effort). */
	(void)fcntl(pin[1], F_SETPIPE_SZ, 1 << 20);
	(void)fcntl(pout[0], F_SETPIPE_SZ, 1 << 20);
	c->in = pin[1];
	c->out = pout[0];
}

static void
reap(struct child *c)
{
	int st;

	close(c->in);
	close(c->out);
	waitpid(c->pid, &st, 0);
}

/* One answered request before the clock starts: rules loading is not throughput. */
static void
warm_up(const struct helper *h, struct child *c)
{
	char line[700], rb[4096];
	size_t len;
	ssize_t n;

	len = (size_t)snprintf(line, sizeof(line), "0 %s\n", h->set->lines[0]);
	if (write(c->in, line, len) != (ssize_t)len)
		die("%s: write", h->name);
	do {
		n = read(c->out, rb, sizeof(rb));
	} while (n > 0 && rb[n - 1] != '\n');
	if (n <= 0)
		die("%s: no answer to the first request", h->name);
}

struct feed {
	int		 fd;
	const char	*buf;
	size_t		 len;
};

static void *
feeder(void *arg)
{
	struct feed *f = arg;
	size_t o = 0;
	ssize_t n;

	while (o < f->len) {
		size_t chunk = f->len - o > 65536 ? 65536 : f->len - o;

		if ((n = write(f->fd, f->buf + o, chunk)) == -1) {
			if (errno == EINTR)
				continue;
			die("write to helper: %s", strerror(errno));
		}
		o += (size_t)n;
	}
	close(f->fd);
	return NULL;
}

/*
 * Pipe buf through the helper; count answers. With check set, classify
 * every answer (OK/ERR/BH) too.
 */
static double
run_stream(struct helper *h, const char *buf, size_t len, size_t nreq, int check)
{
	static char rb[1 << 20];
	struct child c;
	struct feed f;
	pthread_t th;
	size_t lines = 0, i, linestart = 1;
	double t0, t1;
	ssize_t n;

	spawn(h->cmd, &c);
	warm_up(h, &c);
	f.fd = c.in;
	f.buf = buf;
	f.len = len;
	t0 = now();
	if (pthread_create(&th, NULL, feeder, &f) != 0)
		die("pthread_create");
	while (lines < nreq) {
		if ((n = read(c.out, rb, sizeof(rb))) <= 0) {
			if (n == -1 && errno == EINTR)
				continue;
			die("%s: answers stopped after %zu of %zu lines", h->name, lines, nreq);
		}
		if (!check) {
			const char *p = rb, *e = rb + n;

			while ((p = memchr(p, '\n', (size_t)(e - p))) != NULL) {
				lines++;
				p++;
			}
			continue;
		}
		for (i = 0; i < (size_t)n; i++) {
			/* Classify from the first letter after the ID. */
			if (linestart == 1 && !(rb[i] >= '0' && rb[i] <= '9') && rb[i] != ' ') {
				if (rb[i] == 'O')
					h->ok++;
				else if (rb[i] == 'E')
					h->err++;
				else
					h->bh++;
				linestart = 0;
			}
			if (rb[i] == '\n') {
				lines++;
				linestart = 1;
			}
		}
	}
	t1 = now();
	pthread_join(th, NULL);
	c.in = -1;
	close(c.out);
	waitpid(c.pid, NULL, 0);
	return (double)nreq / (t1 - t0);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/*
 * One request at a time: write a line, wait for its answer. Driver and
 * helper share one CPU, so a round trip is two context switches plus the
 * helper's work; across CPUs it would mostly measure how fast an idle
 * (virtual) CPU wakes up, which swings from run to run.
 */
static void
run_latency(struct helper *h, size_t iters)
{
	struct child c;
	double *d, sum = 0;
	char line[700], rb[8192];
	size_t i, len;
	ssize_t n;
	cpu_set_t saved, one;
	int cpu, pinned = 0;

	if ((d = malloc(iters * sizeof(*d))) == NULL)
		die("out of memory");
	if (sched_getaffinity(0, sizeof(saved), &saved) == 0) {
		for (cpu = 0; cpu < CPU_SETSIZE && !CPU_ISSET(cpu, &saved); cpu++)
			;
		CPU_ZERO(&one);
		CPU_SET(cpu, &one);
		pinned = sched_setaffinity(0, sizeof(one), &one) == 0;
	}
	spawn(h->cmd, &c);	/* the helper inherits the CPU */
	for (i = 0; i < iters + 1000; i++) {
		double t0, t1;

		len = (size_t)snprintf(line, sizeof(line), "%zu %s\n", i + 1,
		    h->set->lines[i % h->set->nlines]);
		t0 = now();
		if (write(c.in, line, len) != (ssize_t)len)
			die("%s: write", h->name);
		do {
			n = read(c.out, rb, sizeof(rb));
		} while (n > 0 && rb[n - 1] != '\n');
		if (n <= 0)
			die("%s: no answer", h->name);
		t1 = now();
		if (i >= 1000) {	/* the first ones warm up */
			d[i - 1000] = (t1 - t0) * 1e6;
			sum += d[i - 1000];
		}
	}
	reap(&c);
	if (pinned)
		sched_setaffinity(0, sizeof(saved), &saved);
	qsort(d, iters, sizeof(*d), cmp_double);
	h->lat_mean = sum / (double)iters;
	h->lat_p50 = d[iters / 2];
	h->lat_p99 = d[iters * 99 / 100];
	free(d);
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: helperbench [-c] [-n lines] [-L round-trips] [-R runs] -s NAME=RULES ... -h NAME|SET|COMMAND ...\n"
	    "       helperbench [-c] [-n lines] -s NAME=RULES -D NAME    (write that input to stdout)\n"
	    "  -c  send the client address too (SNI HOST PORT CLIENT -, for -F sni,host,port,client);\n"
	    "      by default SNI HOST PORT - as the shipped snippet's %%ssl::>sni %%>rd %%>rP\n"
	    "  -s  a query set: request lines aimed at RULES (half hits, half misses)\n"
	    "  -h  a helper: NAME, the query set it gets, the shell command that runs it;\n"
	    "      the first helper is the baseline, one named 'python' is the second one\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	struct qset sets[MAXSETS];
	struct helper hs[MAXHELPERS];
	size_t nsets = 0, nh = 0, nreq = 2000000, iters = 100000, i, j, len;
	int ch, runs = 3;
	const char *dump = NULL;
	const struct helper *py = NULL;
	char *p, *q;

	signal(SIGPIPE, SIG_IGN);
	while ((ch = getopt(argc, argv, "cD:h:L:n:R:s:")) != -1) {
		switch (ch) {
		case 'c':
			with_client = 1;
			break;
		case 'D':
			dump = optarg;
			break;
		case 'n':
			nreq = strtoul(optarg, NULL, 10);
			break;
		case 'L':
			iters = strtoul(optarg, NULL, 10);
			break;
		case 'R':
			runs = atoi(optarg);
			break;
		case 's':
			if (nsets == MAXSETS || (p = strchr(optarg, '=')) == NULL)
				usage();
			*p = '\0';
			memset(&sets[nsets], 0, sizeof(sets[nsets]));
			sets[nsets].name = optarg;
			sets[nsets++].rules = p + 1;
			break;
		case 'h':
			if (nh == MAXHELPERS || (p = strchr(optarg, '|')) == NULL ||
			    (q = strchr(p + 1, '|')) == NULL)
				usage();
			*p = *q = '\0';
			memset(&hs[nh], 0, sizeof(hs[nh]));
			hs[nh].name = optarg;
			for (j = 0; j < nsets; j++)
				if (strcmp(sets[j].name, p + 1) == 0)
					hs[nh].set = &sets[j];
			if (hs[nh].set == NULL)
				die("-h %s: no query set '%s' (give -s first)", optarg, p + 1);
			hs[nh++].cmd = q + 1;
			break;
		default:
			usage();
		}
	}
	if ((nh == 0 && dump == NULL) || runs < 1 || nreq == 0 || iters == 0)
		usage();
	for (i = 0; i < nsets; i++)
		make_set(&sets[i]);
	if (dump != NULL) {
		/* The input of one query set, for profiling a helper on its own. */
		for (i = 0; i < nsets; i++) {
			if (strcmp(sets[i].name, dump) == 0) {
				char *buf = make_input(&sets[i], nreq, &len);

				fwrite(buf, 1, len, stdout);
				return 0;
			}
		}
		die("-D %s: no such query set", dump);
	}

	printf("helperbench: request lines as \"%zu %s\" (%s)\n", (size_t)1, sets[0].lines[0],
	    with_client ? "fields SNI HOST PORT CLIENT and %DATA: -F sni,host,port,client" :
	    "the snippet's %ssl::>sni %>rd %>rP and %DATA: -F sni,host,port");
	printf("helperbench: %zu request lines per run (channel IDs 1..N, half aimed at listed rules), "
	    "best of %d runs; %zu one-at-a-time round trips (driver and helper on one CPU)\n",
	    nreq, runs, iters);
	for (i = 0; i < nh; i++) {
		struct helper *h = &hs[i];
		char *buf = make_input(h->set, nreq, &len);
		double r[16];
		int k;

		/* Check pass over the first pool of lines: every line answered, and how. */
		size_t k0 = h->set->nlines < nreq ? h->set->nlines : nreq, off = 0, seen = 0;

		while (seen < k0) {
			off = (size_t)((char *)memchr(buf + off, '\n', len - off) - buf) + 1;
			seen++;
		}
		run_stream(h, buf, off, k0, 1);
		for (k = 0; k < runs && k < 16; k++)
			r[k] = run_stream(h, buf, len, nreq, 0);
		qsort(r, (size_t)k, sizeof(r[0]), cmp_double);
		h->rate = r[k - 1];
		run_latency(h, iters);
		free(buf);
		if (strcmp(h->name, "python") == 0)
			py = h;
		fprintf(stderr, "  %s done\n", h->name);
	}

	/* The median round trip: a shared or virtual machine's preemptions swing the mean. */
	printf("\n%-14s %-10s %12s %9s %9s %7s %7s | %9s %9s %9s %12s\n", "helper", "queries",
	    "lines/s", "vs-base", "vs-python", "OK%", "BH", "mean-us", "p50-us", "p99-us",
	    "p50-vs-base");
	for (i = 0; i < nh; i++) {
		const struct helper *h = &hs[i];
		size_t tot = h->ok + h->err + h->bh;
		char vspy[16] = "-";

		if (py != NULL)
			snprintf(vspy, sizeof(vspy), "%.1fx", h->rate / py->rate);
		printf("%-14s %-10s %11.2fM %8.2fx %9s %6.1f%% %7zu | %9.2f %9.2f %9.2f %+11.2fus\n",
		    h->name, h->set->name, h->rate / 1e6, h->rate / hs[0].rate, vspy,
		    tot ? 100.0 * (double)h->ok / (double)tot : 0.0, h->bh, h->lat_mean, h->lat_p50,
		    h->lat_p99, h->lat_p50 - hs[0].lat_p50);
	}
	for (i = 0; i < nh; i++)
		printf("%s: %s\n", hs[i].name, hs[i].cmd);
	return 0;
}
