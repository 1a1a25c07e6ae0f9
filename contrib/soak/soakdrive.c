/* SPDX-License-Identifier: BSD-2-Clause */
/* soakdrive: long runs through ext_gotonet_acl or c-icap with srv_gotonet that check every verdict and sample RSS and open fds. */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "gotonet.h"
#include "loadgen.h"

#define POOL		4096	/* distinct request lines or targets */
#define MAXSAMPLES	1000
#define MAXPROCS	64
#define LONG_EVERY	1000003	/* one over-long helper line per this many */
#define LONG_LEN	(200 * 1024)
#define SPOOF_VALUE	"spoofed-by-client"

/* What the answer to a request must be. */
enum expect {
	WANT_OK = 0,	/* helper: OK */
	WANT_ERR,	/* helper: ERR for a valid request (unlisted, SNI spoofing) */
	WANT_BAD,	/* helper: ERR message=bad request */
	WANT_LONG,	/* helper: ERR message=request line too long */
	WANT_MARK,	/* ICAP: 200 with one X-Gotonet-Bypass set by the service */
	WANT_STRIP,	/* ICAP: 200 without X-Gotonet-Bypass (the client's copy removed) */
	WANT_204	/* ICAP: 204, unchanged */
};

static const char *const expect_name[] = {
	"OK", "ERR", "ERR bad request", "ERR too long", "200 marked", "200 stripped", "204"
};

struct entry {
	char		*text;	/* helper: request line without ID; ICAP: target */
	enum expect	 expect;
	int		 kind;	/* ICAP request kind */
};

struct sample {
	long	done;
	double	secs;
	long	rss, hwm;	/* KiB, summed over the processes */
	long	fds;
	int	nprocs;
	long	main_rss, main_fds;
};

struct run {
	const char	*mode;
	long		 total;
	int		 nsamples;
	long		 tolerance;	/* KiB of RSS growth still called "no growth" */
	pid_t		 pid;		/* the helper, or c-icap's main process */
	struct sample	 s[MAXSAMPLES + 4];	/* + the idle samples */
	int		 ns;
	/* results */
	atomic_long	 done, wrong, bh, errors, retries, connections;
	atomic_long	 per[WANT_204 + 1];
	pthread_mutex_t	 lock;
	int		 shown;
};

static struct entry pool[POOL];
static size_t npool;
static struct timespec t0;

static void die(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));

static void
die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "soakdrive: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(2);
}

static double
elapsed(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)(ts.tv_sec - t0.tv_sec) + (double)(ts.tv_nsec - t0.tv_nsec) / 1e9;
}

static uint64_t seed = 0x9e3779b97f4a7c15ULL;

static uint64_t
rnd(void)
{
	seed ^= seed << 13;
	seed ^= seed >> 7;
	seed ^= seed << 17;
	return seed;
}

/* Which pool entry request number n uses: writer and reader agree without sharing state. */
static size_t
pick(uint64_t n)
{
	n += 0x9e3779b97f4a7c15ULL;
	n = (n ^ (n >> 30)) * 0xbf58476d1ce4e5b9ULL;
	n = (n ^ (n >> 27)) * 0x94d049bb133111ebULL;
	return (size_t)((n ^ (n >> 31)) % npool);
}

static char *
xstrdup(const char *s)
{
	char *p = strdup(s);

	if (p == NULL)
		die("out of memory");
	return p;
}

/* ---- /proc sampling ---------------------------------------------------- */

static int
proc_mem(pid_t pid, long *rss, long *hwm)
{
	char path[64], line[256];
	FILE *f;

	*rss = *hwm = -1;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "VmRSS:", 6) == 0)
			*rss = strtol(line + 6, NULL, 10);
		else if (strncmp(line, "VmHWM:", 6) == 0)
			*hwm = strtol(line + 6, NULL, 10);
	}
	fclose(f);
	/* a zombie has a status file but no memory lines */
	return *rss == -1 || *hwm == -1 ? -1 : 0;
}

static long
proc_fds(pid_t pid)
{
	char path[64];
	struct dirent *e;
	DIR *d;
	long n = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	if ((d = opendir(path)) == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* The children of pid (c-icap's servers), from the parent field of /proc/N/stat. */
static int
proc_children(pid_t pid, pid_t *out, int max)
{
	char path[300], buf[512], *p;
	struct dirent *e;
	DIR *d;
	FILE *f;
	int n = 0, ppid;

	if ((d = opendir("/proc")) == NULL)
		return 0;
	while ((e = readdir(d)) != NULL && n < max) {
		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		p = fgets(buf, sizeof(buf), f);
		fclose(f);
		/* the command name may hold spaces and parentheses: skip to the last ')' */
		if (p == NULL || (p = strrchr(buf, ')')) == NULL)
			continue;
		if (sscanf(p + 1, " %*c %d", &ppid) == 1 && ppid == (int)pid)
			out[n++] = (pid_t)atoi(e->d_name);
	}
	closedir(d);
	return n;
}

static void
take_sample(struct run *r, int with_children)
{
	struct sample *s;
	pid_t kids[MAXPROCS];
	long rss, hwm, fds;
	int i, nk = 0;

	if (r->ns >= MAXSAMPLES + 4)
		return;
	s = &r->s[r->ns++];
	memset(s, 0, sizeof(*s));
	s->done = atomic_load(&r->done);
	s->secs = elapsed();
	if (proc_mem(r->pid, &rss, &hwm) == -1)
		die("%s: process %d is gone", r->mode, (int)r->pid);
	s->main_rss = s->rss = rss;
	s->hwm = hwm;
	s->main_fds = s->fds = proc_fds(r->pid);
	s->nprocs = 1;
	if (with_children)
		nk = proc_children(r->pid, kids, MAXPROCS);
	for (i = 0; i < nk; i++) {
		if (proc_mem(kids[i], &rss, &hwm) == -1 || (fds = proc_fds(kids[i])) == -1)
			continue;
		s->rss += rss;
		s->hwm += hwm;
		s->fds += fds;
		s->nprocs++;
	}
}

/*
 * Print the samples and judge them: growth is the highest RSS of the second
 * half of the run over the highest of the first half (allocators keep what
 * they once used, so a leak shows as new highs late in the run), and the
 * open fds at the end against the first sample.
 */
static int
report(struct run *r)
{
	long max1 = 0, max2 = 0, growth, fdd;
	int i, half, grew, procs_changed = 0;

	printf("\n%-12s %9s %11s %11s %8s %6s %12s %10s\n", "requests", "seconds", "RSS-KiB",
	    "HWM-KiB", "fds", "procs", "main-RSS-KiB", "main-fds");
	for (i = 0; i < r->ns; i++) {
		const struct sample *s = &r->s[i];

		printf("%-12ld %9.1f %11ld %11ld %8ld %6d %12ld %10ld\n", s->done, s->secs, s->rss,
		    s->hwm, s->fds, s->nprocs, s->main_rss, s->main_fds);
		if (s->nprocs != r->s[0].nprocs)
			procs_changed = 1;
	}
	if (r->ns < 3) {
		printf("%s: too few samples to judge growth\n", r->mode);
		return 1;
	}
	/* sample 0 is taken after the warm-up request, before the load */
	half = 1 + (r->ns - 1) / 2;
	for (i = 1; i < r->ns; i++) {
		if (i < half && r->s[i].rss > max1)
			max1 = r->s[i].rss;
		if (i >= half && r->s[i].rss > max2)
			max2 = r->s[i].rss;
	}
	growth = max2 - max1;
	/* the first and last samples are taken with no request in flight */
	fdd = r->s[r->ns - 1].fds - r->s[0].fds;
	grew = growth > r->tolerance || fdd != 0;
	printf("%s: %s: RSS max %ld KiB in the first half, %ld KiB in the second (%+ld KiB, "
	    "tolerance %ld KiB); open fds %ld -> %ld (%+ld)%s\n", r->mode,
	    grew ? "GROWTH" : "no growth", max1, max2, growth, r->tolerance, r->s[0].fds,
	    r->s[r->ns - 1].fds, fdd, procs_changed ? "; the number of processes changed" : "");
	return grew;
}

static void
wrong_answer(struct run *r, long n, const struct entry *e, const char *got, size_t len)
{
	atomic_fetch_add(&r->wrong, 1);
	pthread_mutex_lock(&r->lock);
	if (r->shown++ < 10)
		fprintf(stderr, "soakdrive: WRONG #%ld: sent \"%.200s\", expected %s, got \"%.*s\"\n",
		    n, e->text, expect_name[e->expect], (int)(len > 300 ? 300 : len), got);
	pthread_mutex_unlock(&r->lock);
}

/* ---- targets from the rules -------------------------------------------- */

/* A name or address that rule r lists, or -1 for rules we do not aim at. */
static int
listed_target(const struct gn_rule_info *ri, char *buf, size_t len)
{
	uint8_t a[16];
	uint32_t v;

	if ((ri->flags & GN_RULE_EXCEPT) || !(ri->action & GN_ACTION_SPLICE))
		return -1;
	switch (ri->kind) {
	case GN_KIND_HOST:
		snprintf(buf, len, "%s", ri->pattern);
		break;
	case GN_KIND_DOMAIN:
		if (rnd() % 8 == 0)	/* the domain itself */
			snprintf(buf, len, "%s", ri->pattern + 2);
		else
			snprintf(buf, len, "s%u.%s", (unsigned)(rnd() % 5000), ri->pattern + 2);
		break;
	case GN_KIND_NET4:
		memcpy(&v, ri->addr, 4);
		v = ntohl(v);
		if (ri->prefixlen < 32)
			v |= (uint32_t)rnd() & (uint32_t)((1ULL << (32 - ri->prefixlen)) - 1);
		v = htonl(v);
		inet_ntop(AF_INET, &v, buf, (socklen_t)len);
		break;
	case GN_KIND_NET6:
		memcpy(a, ri->addr, 16);
		if (ri->prefixlen <= 120)
			a[15] = (uint8_t)(1 + rnd() % 250);
		inet_ntop(AF_INET6, a, buf, (socklen_t)len);
		break;
	default:
		return -1;
	}
	return 0;
}

/* Names and addresses no list holds: reserved names, benchmark and documentation ranges. */
static void
unlisted_target(char *buf, size_t len)
{
	switch (rnd() % 4) {
	case 0:
		snprintf(buf, len, "www%u.site%u.example", (unsigned)(rnd() % 100000),
		    (unsigned)(rnd() % 1000));
		break;
	case 1:	/* a listed name under an unlisted one */
		snprintf(buf, len, "meet.goto.com.evil%u.invalid", (unsigned)(rnd() % 1000));
		break;
	case 2:
		snprintf(buf, len, "198.%u.%u.%u", 18 + (unsigned)(rnd() % 2),
		    (unsigned)(rnd() % 256), (unsigned)(rnd() % 256));
		break;
	default:
		snprintf(buf, len, "2001:db8::%x", (unsigned)(rnd() % 65536));
		break;
	}
}

static int
is_v6(const char *s)
{
	return strchr(s, ':') != NULL;
}

/*
 * The construction says what a target is; the library must agree, or the
 * pool (not the program under test) is wrong and the run stops here.
 */
static void
confirm(const struct gn_table *t, const char *s, int listed)
{
	struct gn_verdict v = gn_table_lookup(t, s, strlen(s), GN_PROTO_TCP);
	struct gn_rule_info ri;
	int ok = v.match == GN_MATCH_LISTED && gn_table_rule_port_ok(t, v.rule, 443) &&
	    gn_table_rule_info(t, v.rule, &ri) == 0 && (ri.action & GN_ACTION_SPLICE);

	if (ok != listed)
		die("pool: %s should be %s but the rules say otherwise", s, listed ? "listed" : "unlisted");
}

static void
random_target(const struct gn_table *t, int listed, char *buf, size_t len)
{
	struct gn_rule_info ri;
	size_t n = gn_table_rule_count(t);
	int tries;

	if (!listed) {
		unlisted_target(buf, len);
		confirm(t, buf, 0);
		return;
	}
	for (tries = 0; tries < 1000; tries++)
		if (gn_table_rule_info(t, (int32_t)(rnd() % n), &ri) == 0 &&
		    listed_target(&ri, buf, len) == 0)
			break;
	if (tries == 1000)
		die("pool: no rule to aim at");
	confirm(t, buf, 1);
}

static struct gn_table *
load(const char *rules)
{
	struct gn_diag d;
	struct gn_table *t;

	gn_diag_init(&d);
	if ((t = gn_table_load(rules, &d)) == NULL)
		die("%s: %zu errors (first: %s)", rules, d.nerrors, d.nmsgs ? d.msgs[0] : "?");
	gn_diag_free(&d);
	return t;
}

/* ---- the helper ----------------------------------------------------------- */

/* A URL-escaped request field: IPv6 literals go in escaped brackets as Squid's %>rd does. */
static void
field(char *out, size_t len, const char *host)
{
	if (is_v6(host))
		snprintf(out, len, "%%5B%s%%5D", host);
	else
		snprintf(out, len, "%s", host);
}

/*
 * Request lines the helper must refuse as "bad request": H stands for a
 * listed host, C for the client address (the rest of the line is sound, so
 * only the fault decides).
 */
static const char *const garbage[] = {
	"- H%zz 443 C -",	/* invalid %-escape */
	"- H%4 443 C -",	/* truncated %-escape */
	"- H%0A 443 C -",	/* escaped control character */
	"H H%00 443 C -",	/* escaped NUL */
	"- H 65536 C -",	/* port out of range */
	"- H 44x C -",		/* port not a number */
	"- H",			/* too few fields */
};
#define NGARBAGE	(sizeof(garbage) / sizeof(garbage[0]))

static void
expand(char *out, size_t size, const char *tmpl, const char *host, const char *client)
{
	size_t o = 0;
	int n;

	for (; *tmpl != '\0' && o + 1 < size; tmpl++) {
		if (*tmpl == 'H' || *tmpl == 'C') {
			n = snprintf(out + o, size - o, "%s", *tmpl == 'H' ? host : client);
			o = n < 0 || (size_t)n >= size - o ? size - 1 : o + (size_t)n;
		} else
			out[o++] = *tmpl;
	}
	out[o] = '\0';
}

static void
helper_pool(const char *rules)
{
	struct gn_table *t = load(rules);
	char a[300], b[300], fa[320], fb[320], line[800], client[32];
	size_t i;
	unsigned k;

	for (i = 0; i < POOL; i++) {
		struct entry *e = &pool[i];

		snprintf(client, sizeof(client), "10.%u.%u.%u", (unsigned)(rnd() % 256),
		    (unsigned)(rnd() % 256), (unsigned)(rnd() % 256));
		k = (unsigned)(rnd() % 100);
		if (k < 40) {
			/* listed: SNI the same name, absent, or another listed name */
			random_target(t, 1, a, sizeof(a));
			field(fa, sizeof(fa), a);
			if (k < 20 && !is_v6(a))
				snprintf(line, sizeof(line), "%s %s 443 %s -", fa, fa, client);
			else if (k < 30)
				snprintf(line, sizeof(line), "- %s 443 %s -", fa, client);
			else {
				random_target(t, 1, b, sizeof(b));
				field(fb, sizeof(fb), b);
				snprintf(line, sizeof(line), "%s %s 443 %s -", fb, fa, client);
			}
			e->expect = WANT_OK;
		} else if (k < 70) {
			random_target(t, 0, a, sizeof(a));
			field(fa, sizeof(fa), a);
			snprintf(line, sizeof(line), "%s %s 443 %s -", k < 55 ? fa : "-", fa, client);
			e->expect = WANT_ERR;
		} else if (k < 80) {
			/* SNI spoofing both ways: a listed SNI on an unlisted host, and back */
			random_target(t, 1, a, sizeof(a));
			random_target(t, 0, b, sizeof(b));
			field(fa, sizeof(fa), a);
			field(fb, sizeof(fb), b);
			if (k < 75)
				snprintf(line, sizeof(line), "%s %s 443 %s -", fa, fb, client);
			else
				snprintf(line, sizeof(line), "%s %s 443 %s -", fb, fa, client);
			e->expect = WANT_ERR;
		} else {
			random_target(t, 1, a, sizeof(a));
			field(fa, sizeof(fa), a);
			expand(line, sizeof(line), garbage[k % NGARBAGE], fa, client);
			e->expect = WANT_BAD;
		}
		e->text = xstrdup(line);
	}
	npool = POOL;
	gn_table_free(t);
}

struct feed {
	struct run	*r;
	int		 fd;
	char		*longline;
};

static void *
helper_writer(void *arg)
{
	struct feed *f = arg;
	static char buf[1 << 16];
	size_t o = 0;
	long i;

	for (i = 1; i <= f->r->total; i++) {
		const char *text = i % LONG_EVERY == 0 ? f->longline : pool[pick((uint64_t)i)].text;

		if (sizeof(buf) - o < 1024 || i % LONG_EVERY == 0) {
			if (gn_load_write_all(f->fd, buf, o) == -1)
				die("write to the helper: %s", strerror(errno));
			o = 0;
		}
		if (i % LONG_EVERY == 0) {
			dprintf(f->fd, "%ld %s\n", i, text);
			continue;
		}
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%ld %s\n", i, text);
	}
	if (gn_load_write_all(f->fd, buf, o) == -1)
		die("write to the helper: %s", strerror(errno));
	/* the reader closes the pipe after its last sample: EOF ends the helper */
	return NULL;
}

static void
check_helper_answer(struct run *r, long n, const char *p, size_t len)
{
	static const struct entry longentry = { "<over-long line>", WANT_LONG, 0 };
	const struct entry *e = n % LONG_EVERY == 0 ? &longentry : &pool[pick((uint64_t)n)];
	const char *v;
	size_t idlen;
	int good;

	for (idlen = 0; idlen < len && isdigit((unsigned char)p[idlen]); idlen++)
		;
	if (idlen == 0 || idlen >= len || p[idlen] != ' ' || strtol(p, NULL, 10) != n) {
		wrong_answer(r, n, e, p, len);	/* an ID lost or out of order */
		return;
	}
	v = p + idlen + 1;
	len -= idlen + 1;
	if (len >= 2 && strncmp(v, "BH", 2) == 0)
		atomic_fetch_add(&r->bh, 1);
	switch (e->expect) {
	case WANT_OK:
		good = len >= 3 && strncmp(v, "OK ", 3) == 0;
		break;
	case WANT_ERR:
		good = len >= 4 && strncmp(v, "ERR ", 4) == 0 &&
		    memmem(v, len, "message=bad%20request", 21) == NULL;
		break;
	case WANT_BAD:
		good = len >= 4 && strncmp(v, "ERR ", 4) == 0 &&
		    memmem(v, len, "message=bad%20request", 21) != NULL;
		break;
	default:
		good = len >= 4 && strncmp(v, "ERR ", 4) == 0 &&
		    memmem(v, len, "message=request%20line%20too%20long", 35) != NULL;
		break;
	}
	atomic_fetch_add(&r->per[e->expect], 1);
	if (!good)
		wrong_answer(r, n, e, p, len + idlen + 1);
}

/* Replace the rules file in one rename, so that a reload never reads half of it. */
static void
put_rules(const char *path, const char *content, size_t len)
{
	char tmp[4096];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.soaktmp", path);
	if ((f = fopen(tmp, "w")) == NULL || fwrite(content, 1, len, f) != len || fclose(f) != 0)
		die("%s: %s", tmp, strerror(errno));
	if (rename(tmp, path) == -1)
		die("rename %s: %s", tmp, strerror(errno));
}

static char *
slurp(const char *path, size_t *len)
{
	FILE *f;
	char *buf;
	long n;

	if ((f = fopen(path, "r")) == NULL || fseek(f, 0, SEEK_END) == -1 || (n = ftell(f)) < 0)
		die("%s: %s", path, strerror(errno));
	rewind(f);
	if ((buf = malloc((size_t)n + 64)) == NULL || fread(buf, 1, (size_t)n, f) != (size_t)n)
		die("%s: read failed", path);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static int
run_helper(struct run *r, const char *rules, long reload_every, const char *errlog, char **cmd)
{
	static char rb[1 << 20];
	struct feed f;
	pthread_t th;
	int pin[2], pout[2], efd, status;
	size_t have = 0, rulelen, i;
	char *good, *bad, *p, *nl;
	long n = 0, next_sample, reloads = 0, bad_reloads = 0;
	ssize_t got;

	helper_pool(rules);
	good = slurp(rules, &rulelen);
	/* a broken copy: one bad line at the end; the helper must keep the rules in force */
	if ((bad = malloc(rulelen + 64)) == NULL)
		die("out of memory");
	memcpy(bad, good, rulelen);
	memcpy(bad + rulelen, "\n*.soak.example critical=maybe\n", 31);
	if ((f.longline = malloc(LONG_LEN + 1)) == NULL)
		die("out of memory");
	memcpy(f.longline, "- ", 2);
	memset(f.longline + 2, 'a', LONG_LEN - 2);
	f.longline[LONG_LEN] = '\0';

	if (pipe(pin) == -1 || pipe(pout) == -1)
		die("pipe: %s", strerror(errno));
	if ((r->pid = fork()) == -1)
		die("fork: %s", strerror(errno));
	if (r->pid == 0) {
		if ((efd = open(errlog, O_WRONLY | O_CREAT | O_APPEND, 0644)) == -1)
			_exit(126);
		dup2(pin[0], 0);
		dup2(pout[1], 1);
		dup2(efd, 2);
		close(efd);
		close(pin[0]);
		close(pin[1]);
		close(pout[0]);
		close(pout[1]);
		/* only 0-2, as under Squid: the fd count then is the helper's own */
		for (efd = 3; efd < 1024; efd++)
			close(efd);
		execv(cmd[0], cmd);
		_exit(127);
	}
	close(pin[0]);
	close(pout[1]);
	/* warm-up: one answered request, so that the first sample has the rules loaded */
	dprintf(pin[1], "0 - meet.goto.com 443 10.0.0.1 -\n");
	if ((got = read(pout[0], rb, sizeof(rb))) <= 0 || strncmp(rb, "0 OK", 4) != 0)
		die("the helper did not answer the warm-up request with OK");
	take_sample(r, 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	r->s[0].secs = 0;

	f.r = r;
	f.fd = pin[1];
	if (pthread_create(&th, NULL, helper_writer, &f) != 0)
		die("pthread_create failed");
	next_sample = r->total / r->nsamples;
	while (n < r->total) {
		if ((got = read(pout[0], rb + have, sizeof(rb) - have)) <= 0) {
			if (got == -1 && errno == EINTR)
				continue;
			die("the helper stopped answering after %ld of %ld requests", n, r->total);
		}
		have += (size_t)got;
		p = rb;
		while ((nl = memchr(p, '\n', have - (size_t)(p - rb))) != NULL) {
			n++;
			check_helper_answer(r, n, p, (size_t)(nl - p));
			atomic_store(&r->done, n);
			p = nl + 1;
			if (n == next_sample) {
				take_sample(r, 0);
				next_sample = r->total * (r->ns) / r->nsamples;
			}
			if (reload_every > 0 && n % reload_every == 0 && n < r->total) {
				/* alternate a broken file (refused) and the good one (loaded) */
				if (reloads % 2 == 0) {
					put_rules(rules, bad, rulelen + 31);
					bad_reloads++;
				} else
					put_rules(rules, good, rulelen);
				reloads++;
				kill(r->pid, SIGHUP);
			}
		}
		i = have - (size_t)(p - rb);
		if (i == sizeof(rb))
			die("an answer longer than %zu bytes", sizeof(rb));
		memmove(rb, p, i);
		have = i;
	}
	pthread_join(th, NULL);
	put_rules(rules, good, rulelen);
	close(pin[1]);
	close(pout[0]);
	waitpid(r->pid, &status, 0);
	printf("helper: %ld requests in %.1f s (%.0f/s); %ld SIGHUP reloads (%ld of a broken file); "
	    "helper exit status %d\n", n, elapsed(), (double)n / elapsed(), reloads, bad_reloads,
	    WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	printf("helper: answers OK %ld, ERR %ld, ERR bad request %ld, ERR too long %ld; "
	    "wrong verdicts %ld, BH %ld\n", atomic_load(&r->per[WANT_OK]), atomic_load(&r->per[WANT_ERR]),
	    atomic_load(&r->per[WANT_BAD]), atomic_load(&r->per[WANT_LONG]), atomic_load(&r->wrong),
	    atomic_load(&r->bh));
	free(good);
	free(bad);
	free(f.longline);
	return (WIFEXITED(status) && WEXITSTATUS(status) == 0) ? 0 : 1;
}

/* ---- c-icap ------------------------------------------------------------- */

enum kind {
	K_CONNECT_LISTED = 0,	/* CONNECT listed:443 -> marked */
	K_CONNECT_UNLISTED,	/* -> 204 */
	K_CONNECT_LISTED_IP,	/* CONNECT listed-address:443 -> marked */
	K_SPOOF_UNLISTED,	/* CONNECT unlisted with a client X-Gotonet-Bypass -> stripped */
	K_GET_HTTPS_LISTED,	/* GET https://listed/ (from a bumped connection) -> 204 */
	K_SPOOF_LISTED,		/* CONNECT listed with a client copy -> marked, the copy gone */
	K_GET_UNLISTED,		/* GET http://unlisted/ -> 204 */
	K_CONNECT_UNLISTED_IP,	/* CONNECT 198.18.x.y:443 -> 204 */
	K_N
};

static void
icap_pool(const char *rules)
{
	struct gn_table *t = load(rules);
	struct gn_rule_info ri;
	char a[300];
	size_t i;
	int k, tries;

	for (i = 0; i < POOL; i++) {
		struct entry *e = &pool[i];

		k = (int)(i % K_N);
		switch (k) {
		case K_CONNECT_LISTED_IP:
			for (tries = 0; tries < 1000; tries++)
				if (gn_table_rule_info(t, (int32_t)(rnd() % gn_table_rule_count(t)),
				    &ri) == 0 && ri.kind == GN_KIND_NET4 &&
				    listed_target(&ri, a, sizeof(a)) == 0)
					break;
			if (tries == 1000)
				random_target(t, 1, a, sizeof(a));
			confirm(t, a, 1);
			break;
		case K_CONNECT_UNLISTED_IP:
			snprintf(a, sizeof(a), "198.%u.%u.%u", 18 + (unsigned)(rnd() % 2),
			    (unsigned)(rnd() % 256), (unsigned)(rnd() % 256));
			confirm(t, a, 0);
			break;
		case K_CONNECT_UNLISTED:
		case K_SPOOF_UNLISTED:
		case K_GET_UNLISTED:
			snprintf(a, sizeof(a), "www%u.site%u.example", (unsigned)(rnd() % 100000),
			    (unsigned)(rnd() % 1000));
			confirm(t, a, 0);
			break;
		default:
			do
				random_target(t, 1, a, sizeof(a));
			while (is_v6(a));
			break;
		}
		e->kind = k;
		e->text = xstrdup(a);
		switch (k) {
		case K_CONNECT_LISTED:
		case K_CONNECT_LISTED_IP:
		case K_SPOOF_LISTED:
			e->expect = WANT_MARK;
			break;
		case K_SPOOF_UNLISTED:
			e->expect = WANT_STRIP;
			break;
		default:
			e->expect = WANT_204;
			break;
		}
	}
	npool = POOL;
	gn_table_free(t);
}

struct icap_opts {
	struct run	*r;
	const char	*host;
	in_addr_t	 addr;		/* host, parsed */
	int		 port;
	const char	*service;
	atomic_long	 next;		/* next request number to take */
};

struct conn {
	struct gn_load_conn io;
	int	served;		/* requests answered on this connection */
};

static size_t
icap_request(const struct icap_opts *o, const struct entry *e, char *out, size_t size)
{
	char http[1024];
	int hlen, ilen;
	const char *spoof = "";

	if (e->kind == K_SPOOF_UNLISTED || e->kind == K_SPOOF_LISTED)
		spoof = "X-Gotonet-Bypass: " SPOOF_VALUE "\r\n";
	if (e->kind == K_GET_HTTPS_LISTED)
		hlen = snprintf(http, sizeof(http), "GET https://%s/soak HTTP/1.1\r\nHost: %s\r\n"
		    "User-Agent: soakdrive\r\n\r\n", e->text, e->text);
	else if (e->kind == K_GET_UNLISTED)
		hlen = snprintf(http, sizeof(http), "GET http://%s/soak HTTP/1.1\r\nHost: %s\r\n"
		    "User-Agent: soakdrive\r\n\r\n", e->text, e->text);
	else
		hlen = snprintf(http, sizeof(http), "CONNECT %s:443 HTTP/1.1\r\nHost: %s:443\r\n"
		    "%sUser-Agent: soakdrive\r\n\r\n", e->text, e->text, spoof);
	ilen = snprintf(out, size, "REQMOD icap://%s:%d/%s ICAP/1.0\r\nHost: %s:%d\r\n"
	    "Encapsulated: req-hdr=0, null-body=%d\r\nAllow: 204\r\nX-Client-IP: 10.1.2.3\r\n\r\n%s",
	    o->host, o->port, o->service, o->host, o->port, hlen, http);
	if (hlen < 0 || ilen < 0 || (size_t)ilen >= size)
		die("request too long");
	return (size_t)ilen;
}

/*
 * One ICAP response: status, whether the server closes, and how many
 * X-Gotonet-Bypass headers the returned HTTP request has, and whether one
 * carries the client's spoofed value. -1 on a broken or unexpected response.
 */
static int
icap_response(struct conn *c, int *closing, int *marks, int *spoofed)
{
	char *h, *end, *p, *le, *enc;
	size_t hlen, blen = 0;
	int status;

	*closing = *marks = *spoofed = 0;
	for (;;) {
		h = c->io.buf + c->io.start;
		if ((end = memmem(h, c->io.end - c->io.start, "\r\n\r\n", 4)) != NULL)
			break;
		if (gn_load_need(&c->io, c->io.end - c->io.start + 1) == -1)
			return -1;
	}
	hlen = (size_t)(end - h) + 4;
	if (sscanf(h, "ICAP/1.0 %d", &status) != 1)
		return -1;
	for (p = h; p < end; p = le + 2) {
		le = memmem(p, (size_t)(end + 2 - p), "\r\n", 2);
		if (strncasecmp(p, "Connection:", 11) == 0 && memmem(p, (size_t)(le - p), "close", 5))
			*closing = 1;
		if (strncasecmp(p, "Encapsulated:", 13) == 0) {
			*end = '\0';
			if (strstr(p, "-body=") != NULL && strstr(p, "null-body=") == NULL)
				return -1;	/* a body we never asked for */
			if ((enc = strstr(p, "null-body=")) != NULL)
				blen = strtoul(enc + 10, NULL, 10);
			*end = '\r';
		}
	}
	c->io.start += hlen;
	if (status == 204 || blen == 0)
		return status;
	if (gn_load_need(&c->io, blen) == -1)
		return -1;
	h = c->io.buf + c->io.start;
	for (p = h; p < h + blen; p = le + 2) {
		if ((le = memmem(p, blen - (size_t)(p - h), "\r\n", 2)) == NULL)
			break;
		if (strncasecmp(p, "X-Gotonet-Bypass:", 17) == 0) {
			(*marks)++;
			if (memmem(p, (size_t)(le - p), SPOOF_VALUE, sizeof(SPOOF_VALUE) - 1) != NULL)
				*spoofed = 1;
		}
	}
	c->io.start += blen;
	return status;
}

static void *
icap_worker(void *arg)
{
	struct icap_opts *o = arg;
	struct run *r = o->r;
	struct conn *c;
	char req[2048];
	size_t len;
	long i;
	int status, closing, marks, spoofed, good, tries;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		die("out of memory");
	c->io.fd = -1;
	while ((i = atomic_fetch_add(&o->next, 1)) <= r->total) {
		const struct entry *e = &pool[pick((uint64_t)i)];

		len = icap_request(o, e, req, sizeof(req));
		for (tries = 0;; tries++) {
			if (c->io.fd == -1) {
				/* a stalled c-icap fails the request after 30 s instead of hanging */
				if ((c->io.fd = gn_load_connect(o->addr, o->port, htonl(INADDR_ANY), 30)) == -1)
					die("cannot connect to %s:%d: %s", o->host, o->port, strerror(errno));
				c->io.start = c->io.end = 0;
				c->served = 0;
				atomic_fetch_add(&r->connections, 1);
			}
			status = gn_load_write_all(c->io.fd, req, len) == 0 ?
			    icap_response(c, &closing, &marks, &spoofed) : -1;
			if (status != -1)
				break;
			close(c->io.fd);
			c->io.fd = -1;
			/*
			 * A server may close a kept-alive connection between two
			 * requests (MaxKeepAliveRequests, KeepAliveTimeout): ask
			 * again once on a new one. Anything else is an error.
			 */
			if (c->served > 0 && tries == 0 && c->io.end == c->io.start) {
				atomic_fetch_add(&r->retries, 1);
				continue;
			}
			atomic_fetch_add(&r->errors, 1);
			break;
		}
		if (status == -1) {
			atomic_fetch_add(&r->done, 1);
			continue;
		}
		c->served++;
		switch (e->expect) {
		case WANT_MARK:
			good = status == 200 && marks == 1 && !spoofed;
			break;
		case WANT_STRIP:
			good = status == 200 && marks == 0;
			break;
		default:
			good = status == 204;
			break;
		}
		atomic_fetch_add(&r->per[e->expect], 1);
		if (!good) {
			char got[96];

			snprintf(got, sizeof(got), "ICAP %d, %d X-Gotonet-Bypass%s", status, marks,
			    spoofed ? " (the spoofed one)" : "");
			wrong_answer(r, i, e, got, strlen(got));
		}
		if (closing) {
			close(c->io.fd);
			c->io.fd = -1;
		}
		atomic_fetch_add(&r->done, 1);
	}
	if (c->io.fd != -1)
		close(c->io.fd);
	free(c);
	return NULL;
}

/* Send requests 1..total of r from several threads; returns when all are answered. */
static void
icap_load(struct icap_opts *o, int threads, int sampling)
{
	struct run *r = o->r;
	pthread_t th[256];
	struct timespec nap = { 0, 5 * 1000 * 1000 };
	long next_sample;
	int i;

	atomic_store(&o->next, 1);
	for (i = 0; i < threads; i++)
		if (pthread_create(&th[i], NULL, icap_worker, o) != 0)
			die("pthread_create failed");
	next_sample = r->total / r->nsamples;
	while (sampling && atomic_load(&r->done) < r->total) {
		nanosleep(&nap, NULL);
		if (atomic_load(&r->done) >= next_sample) {
			take_sample(r, 1);
			next_sample = r->total * r->ns / r->nsamples;
		}
	}
	for (i = 0; i < threads; i++)
		pthread_join(th[i], NULL);
}

static int
run_icap(struct run *r, const char *rules, struct icap_opts *o, int threads)
{
	static struct run warm;
	struct icap_opts wo;
	double secs;

	icap_pool(rules);
	/*
	 * Warm up (every thread's first connection, c-icap's first servers and
	 * logs), let the connections close, and sample c-icap idle: the last
	 * sample is idle too, so open fds compare exactly.
	 */
	memset(&wo, 0, sizeof(wo));
	wo.host = o->host;
	wo.addr = o->addr;
	wo.port = o->port;
	wo.service = o->service;
	wo.r = &warm;
	warm.mode = "icap warm-up";
	warm.total = 64L * threads;
	warm.nsamples = 1;
	pthread_mutex_init(&warm.lock, NULL);
	icap_load(&wo, threads, 0);
	if (atomic_load(&warm.wrong) != 0 || atomic_load(&warm.errors) != 0)
		die("the warm-up requests went wrong; c-icap or the service is not working");
	sleep(1);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	take_sample(r, 1);
	icap_load(o, threads, 1);
	secs = elapsed();
	if (r->s[r->ns - 1].done < r->total)
		take_sample(r, 1);
	sleep(1);
	take_sample(r, 1);
	printf("icap: %ld REQMOD requests in %.1f s (%.0f/s) from %d threads over %ld connections "
	    "(%ld asked again after a keep-alive close), after %ld warm-up requests\n",
	    atomic_load(&r->done), secs, (double)atomic_load(&r->done) / secs, threads,
	    atomic_load(&r->connections), atomic_load(&r->retries), warm.total);
	printf("icap: answers 200 marked %ld, 200 stripped %ld, 204 %ld; wrong verdicts %ld, "
	    "errors %ld\n", atomic_load(&r->per[WANT_MARK]), atomic_load(&r->per[WANT_STRIP]),
	    atomic_load(&r->per[WANT_204]), atomic_load(&r->wrong), atomic_load(&r->errors));
	return 0;
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: soakdrive helper [-n lines] [-s samples] [-H reload-every] [-g KiB] -r rules\n"
	    "                 -e stderr-file -- /path/to/ext_gotonet_acl ARGS...\n"
	    "       soakdrive icap [-n requests] [-s samples] [-t threads] [-g KiB] [-h host]\n"
	    "                 [-S service] -p port -P pid -r rules\n"
	    "  helper: runs the helper, feeds it lines with channel IDs (listed, unlisted,\n"
	    "  SNI spoofing, garbage, an over-long line now and then) and checks every answer;\n"
	    "  -H sends SIGHUP every so many lines, the rules file (-r, rewritten in place)\n"
	    "  alternately broken and good. icap: REQMOD over keep-alive connections to the\n"
	    "  c-icap whose main process is -P, checking every status and mark. Both sample\n"
	    "  VmRSS, VmHWM and open fds (-s times) and judge growth (-g KiB tolerated).\n"
	    "  Exit status: 0 all as expected, 1 a wrong verdict, BH or error, 3 growth\n"
	    "  alone, 2 bad usage or a run that could not go on.\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	static struct run r;
	struct icap_opts o;
	const char *rules = NULL, *errlog = NULL;
	long reload_every = -1;
	int ch, threads = 4, rc, wrongrc, grew;

	if (argc < 2)
		usage();
	signal(SIGPIPE, SIG_IGN);
	memset(&o, 0, sizeof(o));
	o.host = "127.0.0.1";
	o.service = "gotonet";
	r.mode = argv[1];
	r.nsamples = 20;
	r.tolerance = 1024;
	pthread_mutex_init(&r.lock, NULL);
	if (strcmp(r.mode, "helper") != 0 && strcmp(r.mode, "icap") != 0)
		usage();
	r.total = strcmp(r.mode, "helper") == 0 ? 10000000 : 1000000;
	optind = 2;
	while ((ch = getopt(argc, argv, "e:g:H:h:n:P:p:r:S:s:t:")) != -1) {
		switch (ch) {
		case 'e':
			errlog = optarg;
			break;
		case 'g':
			r.tolerance = gn_load_num("soakdrive", ch, optarg, 0, 1L << 30);
			break;
		case 'H':
			reload_every = gn_load_num("soakdrive", ch, optarg, 0, 1L << 40);
			break;
		case 'h':
			o.host = optarg;
			break;
		case 'n':
			r.total = gn_load_num("soakdrive", ch, optarg, 1, 1L << 40);
			break;
		case 'P':
			r.pid = (pid_t)gn_load_num("soakdrive", ch, optarg, 1, INT_MAX);
			break;
		case 'p':
			o.port = (int)gn_load_num("soakdrive", ch, optarg, 1, 65535);
			break;
		case 'r':
			rules = optarg;
			break;
		case 'S':
			o.service = optarg;
			break;
		case 's':
			r.nsamples = (int)gn_load_num("soakdrive", ch, optarg, 2, MAXSAMPLES);
			break;
		case 't':
			threads = (int)gn_load_num("soakdrive", ch, optarg, 1, 256);
			break;
		default:
			usage();
		}
	}
	if (rules == NULL)
		usage();
	if (r.total < r.nsamples)
		r.nsamples = (int)r.total;
	if (reload_every < 0)
		reload_every = r.total / 200 > 0 ? r.total / 200 : 1;
	if (strcmp(r.mode, "helper") == 0) {
		if (optind >= argc || errlog == NULL)
			usage();
		rc = run_helper(&r, rules, reload_every, errlog, argv + optind);
	} else {
		if (o.port == 0 || r.pid == 0)
			usage();
		if (inet_pton(AF_INET, o.host, &o.addr) != 1)
			die("-h %s: not an IPv4 address", o.host);
		o.r = &r;
		rc = run_icap(&r, rules, &o, threads);
	}
	grew = report(&r);
	wrongrc = atomic_load(&r.wrong) != 0 || atomic_load(&r.bh) != 0 ||
	    atomic_load(&r.errors) != 0 || rc != 0;
	printf("%s: %s\n", r.mode, wrongrc ? "WRONG VERDICTS OR ERRORS (see above)" :
	    "every answer as expected");
	/* growth alone has its own status: a sanitizer build grows by design */
	return wrongrc ? 1 : grew ? 3 : 0;
}
