/* SPDX-License-Identifier: BSD-2-Clause */
/* ext_gotonet_acl: Squid external ACL helper that says OK to splicing only the listed vendor traffic. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gotonet.h"
#include "acl.h"

#define PROGNAME	"ext_gotonet_acl"
#define IBUF_SIZE	(128 * 1024)	/* longest request line + 1; longer ones are drained */
#define OBUF_SIZE	(512 * 1024)	/* answers to a full IBUF (about 3x its bytes): one write() per read() */
#define LBUF_SIZE	(64 * 1024)
#define REPLY_MAX	4096		/* room one reply needs besides its ID and rule text */
#define LOGLINE_MAX	4096		/* room a decision log line needs besides rule texts */
#define IDSAVE_MAX	1024		/* channel ID kept across an over-long line */
#define LOGFIELD_MAX	256		/* input bytes shown per field in the log */
#define STATS_TOP	100		/* rules listed by the counters at reload and exit */

enum log_level {
	LOG_NONE = 0,	/* no decisions */
	LOG_BYPASS,	/* OK decisions and refused input */
	LOG_ALL		/* every decision */
};

struct outbuf {
	int	 fd;
	char	*buf;
	size_t	 len, cap;
	int	 failed;
};

struct helper {
	const char		*rules_path;
	const char		*log_path;
	struct gn_acl_format	 fmt;
	enum log_level		 level;
	unsigned		 flags;		/* GN_ACL_NOTAG */
	struct gn_acl_rules	*rules;		/* NULL until a rules file loaded */
	char			*ibuf;
	size_t			 ilen;
	struct outbuf		 out;		/* replies to Squid */
	struct outbuf		 log;		/* decision log */
	int			 draining;	/* inside an over-long line */
	char			 idsave[IDSAVE_MAX];
	size_t			 idsavelen;
	int			 idsaved;
	struct timespec		 now;		/* wall clock at the last read */
	time_t			 stamp_sec;
	char			 stamp[32];	/* "YYYY/MM/DD HH:MM:SS" of stamp_sec */
	uint64_t		 nreq, nok, nerr, nbad;
	char			 errtail[GN_ACL_NREASONS][96];
	size_t			 errtaillen[GN_ACL_NREASONS];
};

static volatile sig_atomic_t got_hup, got_usr1, got_term;

static void
log_vwrite(int errnum, const char *fmt, va_list ap)
{
	char buf[2048];
	int n, m;

	n = snprintf(buf, sizeof(buf), "%s: ", PROGNAME);
	m = vsnprintf(buf + n, sizeof(buf) - (size_t)n, fmt, ap);
	if (m < 0)
		m = 0;
	n += m;
	if ((size_t)n > sizeof(buf) - 64)
		n = (int)sizeof(buf) - 64;
	if (errnum != 0)
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, ": %s", strerror(errnum));
	buf[n++] = '\n';
	/* stderr is unbuffered by nature here: one write per message keeps lines whole in cache.log. */
	(void)!write(STDERR_FILENO, buf, (size_t)n);
}

static void log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
static void log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
static void fatalx(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));

static void
log_warn(const char *fmt, ...)
{
	int e = errno;
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(e, fmt, ap);
	va_end(ap);
}

static void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(0, fmt, ap);
	va_end(ap);
}

static void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(0, fmt, ap);
	va_end(ap);
	exit(1);
}

static int
out_flush(struct outbuf *o)
{
	size_t done = 0;
	ssize_t n;

	while (done < o->len) {
		n = write(o->fd, o->buf + done, o->len - done);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			o->failed = errno;
			o->len = 0;
			return -1;
		}
		done += (size_t)n;
	}
	o->len = 0;
	return 0;
}

/* Make room for n more bytes; -1 when a flush fails. */
static inline int
out_room(struct outbuf *o, size_t n)
{
	if (o->cap - o->len >= n)
		return 0;
	return out_flush(o);
}

static int
out_put(struct outbuf *o, const void *p, size_t n)
{
	if (out_room(o, n) == -1)
		return -1;
	if (n > o->cap) {
		/* Only a giant channel ID gets here: write it straight through. */
		while (n > 0) {
			ssize_t w = write(o->fd, p, n);

			if (w == -1) {
				if (errno == EINTR)
					continue;
				o->failed = errno;
				return -1;
			}
			p = (const char *)p + w;
			n -= (size_t)w;
		}
		return 0;
	}
	memcpy(o->buf + o->len, p, n);
	o->len += n;
	return 0;
}

static void
out_init(struct outbuf *o, int fd, size_t cap)
{
	o->fd = fd;
	o->len = 0;
	o->cap = cap;
	o->failed = 0;
	if ((o->buf = malloc(cap)) == NULL)
		fatalx("out of memory");
}

/* --- decision log --- */

static void
update_stamp(struct helper *h)
{
	struct tm tm;

	if (h->now.tv_sec == h->stamp_sec && h->stamp[0] != '\0')
		return;
	h->stamp_sec = h->now.tv_sec;
	localtime_r(&h->stamp_sec, &tm);
	strftime(h->stamp, sizeof(h->stamp), "%Y/%m/%d %H:%M:%S", &tm);
}

/* Bytes a log field shows as they are; the others are %-escaped. */
static unsigned char log_plain[256];

static void
log_plain_init(void)
{
	int c;

	for (c = 0x21; c < 0x7f; c++)
		log_plain[c] = c != '%' && c != '"' && c != '\\';
}

/* Append " NAME=" and a printable, bounded copy of an input field (escaping like the protocol). */
static size_t
log_field(char *p, const char *name, size_t namelen, const char *v, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0, i, j, lim = n > LOGFIELD_MAX ? LOGFIELD_MAX : n;

	p[o++] = ' ';
	o += put_mem(p + o, name, namelen);
	p[o++] = '=';
	if (v == NULL) {
		p[o++] = '-';
		return o;
	}
	for (i = 0; i < lim; i++) {
		unsigned char c;

		/* Fields are mostly plain: copy runs, not bytes. */
		for (j = i; j < lim && log_plain[(unsigned char)v[j]]; j++)
			;
		o += put_mem(p + o, v + i, j - i);
		if ((i = j) == lim)
			break;
		c = (unsigned char)v[i];
		p[o++] = '%';
		p[o++] = hex[c >> 4];
		p[o++] = hex[c & 15];
	}
	if (lim < n) {
		memcpy(p + o, "...", 3);
		o += 3;
	}
	return o;
}

#define LOG_FIELD(p, name, v, n)	log_field((p), (name), sizeof(name) - 1, (v), (n))

/* " NAME=FILE:LINE label="LABEL"". */
static size_t
log_rule(char *p, const char *name, size_t namelen, const struct gn_acl_rules *rules, int32_t id)
{
	size_t o = 0;

	if (id == GN_NONE || rules == NULL || (size_t)id >= rules->nrules)
		return 0;
	p[o++] = ' ';
	o += put_mem(p + o, name, namelen);
	p[o++] = '=';
	o += gn_acl_put_log(rules, id, p + o);
	return o;
}

static void
log_decision(struct helper *h, const struct gn_acl_req *req, const struct gn_acl_decision *dec,
    const char *raw, size_t rawlen, const char *err, double us)
{
	unsigned long ms, us10;
	const char *why;
	char *p;
	size_t o = 0, need = LOGLINE_MAX;
	int32_t host_rule = dec->host_rule, sni_rule = dec->sni_rule;

	/* Rule texts are as long as their labels: make room, or leave them out. */
	if (h->rules != NULL) {
		if (host_rule != GN_NONE)
			need += gn_acl_log_size(h->rules, host_rule) + 16;
		if (sni_rule != GN_NONE)
			need += gn_acl_log_size(h->rules, sni_rule) + 16;
	}
	if (need > h->log.cap) {
		host_rule = sni_rule = GN_NONE;
		need = LOGLINE_MAX;
	}
	if (h->log.failed || out_room(&h->log, need) == -1)
		return;
	update_stamp(h);
	p = h->log.buf + h->log.len;
	o += PUT_LIT(p + o, PROGNAME ": ");
	o += put_mem(p + o, h->stamp, strlen(h->stamp));
	ms = (unsigned long)h->now.tv_nsec / 1000000;
	p[o++] = '.';
	p[o++] = (char)('0' + ms / 100);
	p[o++] = (char)('0' + ms / 10 % 10);
	p[o++] = (char)('0' + ms % 10);
	o += dec->reason == GN_ACL_OK ? PUT_LIT(p + o, " OK") : PUT_LIT(p + o, " ERR");
	o += LOG_FIELD(p + o, "ch", req->id, req->idlen);
	if (raw != NULL || dec->reason == GN_ACL_TOO_LONG) {
		/* The fields could not be told apart: show what came. */
		o += LOG_FIELD(p + o, "line", raw, rawlen);
	} else {
		o += LOG_FIELD(p + o, "sni", req->sni, req->snilen);
		o += LOG_FIELD(p + o, "host", req->host, req->hostlen);
		o += PUT_LIT(p + o, " port=");
		if (req->port > 0)
			o += put_uint(p + o, (unsigned long)req->port);
		else
			p[o++] = '-';
		o += LOG_FIELD(p + o, "client", req->client, req->clientlen);
	}
	if (dec->reason != GN_ACL_OK) {
		why = gn_acl_reason_text(dec->reason);
		o += PUT_LIT(p + o, " reason=\"");
		o += put_mem(p + o, why, strlen(why));
		if (err != NULL) {
			o += PUT_LIT(p + o, ": ");
			o += put_mem(p + o, err, strlen(err));
		}
		p[o++] = '"';
	}
	o += log_rule(p + o, "rule", 4, h->rules, host_rule);
	if (sni_rule != host_rule)
		o += log_rule(p + o, "sni_rule", 8, h->rules, sni_rule);
	us10 = us > 0 ? (unsigned long)(us * 10 + 0.5) : 0;
	o += PUT_LIT(p + o, " us=");
	o += put_uint(p + o, us10 / 10);
	p[o++] = '.';
	p[o++] = (char)('0' + us10 % 10);
	p[o++] = '\n';
	h->log.len += o;
}

/* --- rules --- */

static const struct gn_acl_rules *sort_rules;

static int
cmp_hits(const void *a, const void *b)
{
	uint64_t x = sort_rules->rule[*(const uint32_t *)a].hits;
	uint64_t y = sort_rules->rule[*(const uint32_t *)b].hits;

	return x < y ? 1 : x > y ? -1 : 0;
}

/*
 * Totals, then one line per rule that matched: every one in file order, or
 * only the limit most matched ones (a reload or exit of a helper with a big
 * list must not flood cache.log; SIGUSR1 asks for all).
 */
static void
stats_dump(struct helper *h, const char *why, size_t limit)
{
	struct gn_acl_rules *rules = h->rules;
	struct gn_rule_info r;
	char line[1024];
	uint32_t *ids = NULL;
	size_t i, k, nhit = 0;
	int n;

	clock_gettime(CLOCK_REALTIME, &h->now);
	update_stamp(h);
	n = snprintf(line, sizeof(line),
	    "%s: %s stats (%s): requests=%llu ok=%llu err=%llu bad=%llu version=\"%s\"\n",
	    PROGNAME, h->stamp, why, (unsigned long long)h->nreq, (unsigned long long)h->nok,
	    (unsigned long long)h->nerr, (unsigned long long)h->nbad,
	    rules ? gn_table_version(rules->table) : "(no rules loaded)");
	out_put(&h->log, line, (size_t)n);
	for (i = 0; rules != NULL && i < rules->nrules; i++)
		nhit += rules->rule[i].hits != 0;
	if (nhit > limit && (ids = malloc(nhit * sizeof(*ids))) != NULL) {
		for (i = 0, k = 0; i < rules->nrules; i++)
			if (rules->rule[i].hits != 0)
				ids[k++] = (uint32_t)i;
		sort_rules = rules;
		qsort(ids, nhit, sizeof(*ids), cmp_hits);
	}
	for (k = 0; rules != NULL && k < (ids ? limit : rules->nrules); k++) {
		i = ids ? ids[k] : k;
		if (rules->rule[i].hits == 0 || gn_table_rule_info(rules->table, (int32_t)i, &r) == -1)
			continue;
		n = snprintf(line, sizeof(line), "%s: hits %llu %s:%u %s%s label=\"%s\"\n",
		    PROGNAME, (unsigned long long)rules->rule[i].hits, r.file, r.line,
		    (r.flags & GN_RULE_EXCEPT) ? "except " : "", r.pattern, r.label);
		if (n < 0)
			continue;
		if ((size_t)n >= sizeof(line)) {
			n = sizeof(line) - 1;
			line[n - 1] = '\n';
		}
		out_put(&h->log, line, (size_t)n);
	}
	if (ids != NULL) {
		n = snprintf(line, sizeof(line), "%s: hits: %zu more rules matched (SIGUSR1 lists all)\n",
		    PROGNAME, nhit - limit);
		out_put(&h->log, line, (size_t)n);
		free(ids);
	}
	out_flush(&h->log);
}

/* Load rules; the old ones stay in force unless the whole new file loads. */
static int
rules_load(struct helper *h, int check_only)
{
	struct gn_acl_rules *rules;
	struct gn_table *t;
	struct gn_diag d;
	size_t i;

	gn_diag_init(&d);
	t = gn_table_load(h->rules_path, &d);
	for (i = 0; i < d.nmsgs; i++)
		log_warnx("%s", d.msgs[i]);
	if (t == NULL) {
		if (h->rules != NULL)
			log_warnx("%zu error%s in %s; keeping the rules in force (version \"%s\")",
			    d.nerrors, d.nerrors == 1 ? "" : "s", h->rules_path,
			    gn_table_version(h->rules->table));
		else
			log_warnx("%zu error%s in %s; rules not loaded%s", d.nerrors,
			    d.nerrors == 1 ? "" : "s", h->rules_path,
			    check_only ? "" : ": answering ERR to every request until they load (SIGHUP)");
		gn_diag_free(&d);
		return -1;
	}
	gn_diag_free(&d);
	if (gn_table_rule_count(t) == 0) {
		/*
		 * An empty list (a file truncated by a failed copy, say) would
		 * bump all vendor traffic: refuse it like a broken one.
		 */
		if (h->rules != NULL)
			log_warnx("%s: no rules in the file; keeping the rules in force (version \"%s\")",
			    h->rules_path, gn_table_version(h->rules->table));
		else
			log_warnx("%s: no rules in the file; rules not loaded%s", h->rules_path,
			    check_only ? "" : ": answering ERR to every request until they load (SIGHUP)");
		gn_table_free(t);
		return -1;
	}
	if ((rules = gn_acl_rules_new(t, h->flags)) == NULL) {
		log_warnx("out of memory loading %s", h->rules_path);
		return -1;
	}
	log_warnx("loaded %s: %zu rules, version \"%s\", digest %016llx", h->rules_path,
	    rules->nrules, gn_table_version(rules->table),
	    (unsigned long long)gn_table_digest(rules->table));
	if (check_only) {
		gn_acl_rules_free(rules);
		return 0;
	}
	if (h->rules != NULL) {
		/* Counters belong to rule ids of the old table: report them before they go. */
		stats_dump(h, "reload", STATS_TOP);
		gn_acl_rules_free(h->rules);
	}
	h->rules = rules;
	return 0;
}

static void
log_open(struct helper *h)
{
	int fd;

	if (h->log_path == NULL)
		return;
	fd = open(h->log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fd == -1) {
		log_warn("%s", h->log_path);
		if (h->log.fd == -1)
			h->log.fd = STDERR_FILENO;
		return;
	}
	out_flush(&h->log);
	if (h->log.fd != -1 && h->log.fd != STDERR_FILENO)
		close(h->log.fd);
	h->log.fd = fd;
	h->log.failed = 0;
}

static void
on_signal(int sig)
{
	int e = errno;

	if (sig == SIGHUP)
		got_hup = 1;
	else if (sig == SIGUSR1)
		got_usr1 = 1;
	else if (sig != SIGALRM)
		got_term = 1;
	/*
	 * The flags are checked just before read(); a signal landing between
	 * that check and the read() would wait for the next request. A second
	 * signal a moment later ends such a read() instead: the hot path pays
	 * nothing (no poll() per request) and a reload waits at most a second.
	 */
	if (sig != SIGALRM)
		alarm(1);
	errno = e;
}

static void
signals_setup(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: a signal must end the read() that waits for Squid. */
	sa.sa_handler = on_signal;
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGALRM, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
}

static void
handle_signals(struct helper *h)
{
	if (got_hup) {
		got_hup = 0;
		log_open(h);
		rules_load(h, 0);
	}
	if (got_usr1) {
		got_usr1 = 0;
		stats_dump(h, "SIGUSR1", SIZE_MAX);
	}
}

/* --- replies --- */

static void
put_id(struct helper *h, const char *id, size_t idlen)
{
	if (id == NULL)
		return;
	out_put(&h->out, id, idlen);
	out_put(&h->out, " ", 1);
}

static void
reply_err_slow(struct helper *h, const char *id, size_t idlen, enum gn_acl_reason reason,
    const char *detail, int32_t rule)
{
	char buf[REPLY_MAX];
	size_t o = 0;

	put_id(h, id, idlen);
	memcpy(buf, "ERR", 3);
	o = 3;
	memcpy(buf + o, h->errtail[reason], h->errtaillen[reason]);
	o += h->errtaillen[reason];
	if (detail != NULL) {
		o += gn_acl_escape(buf + o, ": ", 2);
		o += gn_acl_escape(buf + o, detail, strlen(detail));
	}
	if (rule != GN_NONE && h->rules != NULL &&
	    h->rules->str[h->rules->head[h->rules->rule[rule].head].file].esclen < REPLY_MAX - 256) {
		memcpy(buf + o, " gotonet_rule=", 14);
		o += 14;
		o += gn_acl_put_where(h->rules, rule, buf + o);
	}
	out_put(&h->out, buf, o);
	if (h->rules != NULL)
		out_put(&h->out, h->rules->version, h->rules->versionlen);
	out_put(&h->out, "\n", 1);
}

/* Room for n bytes in the reply buffer, or NULL (then the slow path copes). */
static inline char *
out_reserve(struct outbuf *o, size_t n)
{
	if (n > o->cap || out_room(o, n) == -1)
		return NULL;
	return o->buf + o->len;
}

static inline size_t
put_idsp(char *p, const char *id, size_t idlen)
{
	if (id == NULL)
		return 0;
	memcpy(p, id, idlen);
	p[idlen] = ' ';
	return idlen + 1;
}

/*
 * ERR with the reason (and the rule that refused, unless GN_NONE); detail
 * (why a line was refused) is added to the message.
 */
static void
reply_err(struct helper *h, const char *id, size_t idlen, enum gn_acl_reason reason,
    const char *detail, int32_t rule)
{
	struct gn_acl_rules *rules = h->rules;
	const char *e;
	char *p;
	size_t o, filelen;

	/* The common refusals are texts made when the rules loaded. */
	if (detail != NULL || rules == NULL)
		goto slow;
	e = rules->errtext + rules->erroff[reason];
	if (rule == GN_NONE) {
		if ((p = out_reserve(&h->out, idlen + 1 + rules->errlen[reason])) == NULL)
			goto slow;
		o = put_idsp(p, id, idlen);
		o += put_mem(p + o, e, rules->errlen[reason]);
		h->out.len += o;
		return;
	}
	filelen = rules->str[rules->head[rules->rule[rule].head].file].esclen;
	if (filelen >= REPLY_MAX - 256 ||
	    (p = out_reserve(&h->out, idlen + rules->errhead[reason] + filelen +
	    rules->versionlen + 40)) == NULL)
		goto slow;
	o = put_idsp(p, id, idlen);
	o += put_mem(p + o, e, rules->errhead[reason]);
	o += PUT_LIT(p + o, " gotonet_rule=");
	o += gn_acl_put_where(rules, rule, p + o);
	o += put_mem(p + o, rules->version, rules->versionlen);
	p[o++] = '\n';
	h->out.len += o;
	return;
slow:
	reply_err_slow(h, id, idlen, reason, detail, rule);
}

static void
reply_ok(struct helper *h, const struct gn_acl_req *req, const struct gn_acl_decision *dec)
{
	const struct gn_acl_rule *r = &h->rules->rule[dec->host_rule];
	size_t need;
	char *big, *p;
	size_t o;

	if (r->textlen != 0 && (dec->sni_rule == GN_NONE || dec->sni_rule == dec->host_rule) &&
	    (p = out_reserve(&h->out, req->idlen + 1 + r->textlen)) != NULL) {
		o = put_idsp(p, req->id, req->idlen);
		o += put_mem(p + o, h->rules->text + r->text, r->textlen);
		h->out.len += o;
		return;
	}
	need = req->idlen + 2 + gn_acl_ok_size(h->rules, dec->host_rule, dec->sni_rule);
	if ((p = out_reserve(&h->out, need)) != NULL) {
		o = put_idsp(p, req->id, req->idlen);
		o += gn_acl_put_ok(h->rules, dec->host_rule, dec->sni_rule, p + o);
		h->out.len += o;
		return;
	}
	/* Only a giant channel ID or label gets here. */
	if ((big = malloc(need)) == NULL) {
		reply_err(h, req->id, req->idlen, GN_ACL_NOMEM, NULL, GN_NONE);
		return;
	}
	o = put_idsp(big, req->id, req->idlen);
	o += gn_acl_put_ok(h->rules, dec->host_rule, dec->sni_rule, big + o);
	out_put(&h->out, big, o);
	free(big);
}

static double
elapsed_us(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) * 1e6 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e3;
}

static void
handle_line(struct helper *h, char *line, size_t len)
{
	struct gn_acl_req req;
	struct gn_acl_decision dec;
	struct timespec t0;

	if (h->level != LOG_NONE)
		clock_gettime(CLOCK_MONOTONIC, &t0);
	h->nreq++;
	if (gn_acl_parse_padded(line, len, &h->fmt, &req) == -1) {
		h->nbad++;
		h->nerr++;
		dec.reason = GN_ACL_BAD_REQUEST;
		dec.host_rule = dec.sni_rule = GN_NONE;
		reply_err(h, req.id, req.idlen, GN_ACL_BAD_REQUEST, req.err, GN_NONE);
		if (h->level != LOG_NONE)
			log_decision(h, &req, &dec, line, len, req.err, elapsed_us(&t0));
		return;
	}
	gn_acl_decide(h->rules, &req, &dec);
	if (dec.host_rule != GN_NONE)
		h->rules->rule[dec.host_rule].hits++;
	if (dec.sni_rule != GN_NONE && dec.sni_rule != dec.host_rule)
		h->rules->rule[dec.sni_rule].hits++;
	if (dec.reason == GN_ACL_OK) {
		h->nok++;
		reply_ok(h, &req, &dec);
		if (h->level >= LOG_BYPASS)
			log_decision(h, &req, &dec, NULL, 0, NULL, elapsed_us(&t0));
		return;
	}
	h->nerr++;
	reply_err(h, req.id, req.idlen, dec.reason, NULL,
	    dec.reason == GN_ACL_HOST_UNLISTED || dec.reason == GN_ACL_SNI_UNLISTED ? GN_NONE :
	    (dec.sni_rule != GN_NONE ? dec.sni_rule : dec.host_rule));
	if (h->level >= LOG_ALL)
		log_decision(h, &req, &dec, NULL, 0, NULL, elapsed_us(&t0));
}

/* The start of an over-long line is gone once drained: keep its channel ID. */
static void
save_id(struct helper *h)
{
	size_t i;

	h->idsaved = 0;
	for (i = 0; i < h->ilen && i < IDSAVE_MAX; i++)
		if (h->ibuf[i] < '0' || h->ibuf[i] > '9')
			break;
	if (i > 0 && i < h->ilen && i < IDSAVE_MAX && (h->ibuf[i] == ' ' || h->ibuf[i] == '\t')) {
		memcpy(h->idsave, h->ibuf, i);
		h->idsavelen = i;
		h->idsaved = 1;
	}
}

static void
answer_too_long(struct helper *h)
{
	struct gn_acl_req req;
	struct gn_acl_decision dec;

	h->nreq++;
	h->nbad++;
	h->nerr++;
	reply_err(h, h->idsaved ? h->idsave : NULL, h->idsavelen, GN_ACL_TOO_LONG, NULL, GN_NONE);
	if (h->level != LOG_NONE) {
		memset(&req, 0, sizeof(req));
		req.id = h->idsaved ? h->idsave : NULL;
		req.idlen = h->idsavelen;
		req.port = -1;
		dec.reason = GN_ACL_TOO_LONG;
		dec.host_rule = dec.sni_rule = GN_NONE;
		log_decision(h, &req, &dec, NULL, 0, NULL, 0);
	}
}

/* Answer every complete line in the buffer; keep the partial rest. */
static void
process(struct helper *h)
{
	char *p = h->ibuf, *end = h->ibuf + h->ilen, *nl;

	if (h->draining) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL) {
			h->ilen = 0;
			return;
		}
		h->draining = 0;
		answer_too_long(h);
		p = nl + 1;
	}
	while (p < end && (nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		handle_line(h, p, (size_t)(nl - p));
		p = nl + 1;
	}
	h->ilen = (size_t)(end - p);
	if (h->ilen > 0 && p != h->ibuf)
		memmove(h->ibuf, p, h->ilen);
	if (h->ilen == IBUF_SIZE) {
		save_id(h);
		h->draining = 1;
		h->ilen = 0;
	}
}

static void
finish(struct helper *h, int rc)
{
	out_flush(&h->out);
	stats_dump(h, "exit", STATS_TOP);
	out_flush(&h->log);
	gn_acl_rules_free(h->rules);
	free(h->ibuf);
	free(h->out.buf);
	free(h->log.buf);
	exit(rc);
}

static void
serve(struct helper *h)
{
	ssize_t n;

	for (;;) {
		if (got_hup || got_usr1)
			handle_signals(h);
		if (got_term)
			finish(h, 0);
		/* Never wait for input with answers Squid is waiting for. */
		if (h->out.len > 0 && out_flush(&h->out) == -1) {
			errno = h->out.failed;
			log_warn("writing replies");
			finish(h, 1);
		}
		if (h->log.len > 0 && out_flush(&h->log) == -1) {
			errno = h->log.failed;
			log_warn("writing the decision log");
		}
		if (got_hup || got_usr1 || got_term)
			continue;
		n = read(STDIN_FILENO, h->ibuf + h->ilen, IBUF_SIZE - h->ilen);
		if (n == -1) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			log_warn("reading requests");
			finish(h, 1);
		}
		if (h->level != LOG_NONE)
			clock_gettime(CLOCK_REALTIME, &h->now);
		if (n == 0) {
			/* A last line without its newline still gets an answer. */
			if (h->draining)
				answer_too_long(h);
			else if (h->ilen > 0)
				handle_line(h, h->ibuf, h->ilen);
			if (h->out.len > 0 && out_flush(&h->out) == -1) {
				errno = h->out.failed;
				log_warn("writing replies");
				finish(h, 1);
			}
			finish(h, 0);
		}
		h->ilen += (size_t)n;
		process(h);
		if (h->out.failed) {
			errno = h->out.failed;
			log_warn("writing replies");
			finish(h, 1);
		}
	}
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: %s [-Cn] [-d none|bypass|all] [-F fields] [-l logfile] [-r rules]\n"
	    "       %s -V\n", PROGNAME, PROGNAME);
	exit(1);
}

int
main(int argc, char **argv)
{
	struct helper h;
	const char *err;
	int ch, check_only = 0, i;

	memset(&h, 0, sizeof(h));
	h.rules_path = GN_RULES_PATH;
	h.level = LOG_BYPASS;
	h.log.fd = -1;
	if (gn_acl_format_parse("sni,host,port,client", &h.fmt, &err) == -1)
		fatalx("default format: %s", err);
	while ((ch = getopt(argc, argv, "Cd:F:hl:nr:V")) != -1) {
		switch (ch) {
		case 'C':
			h.flags |= GN_ACL_NOTAG;
			break;
		case 'd':
			if (strcmp(optarg, "none") == 0)
				h.level = LOG_NONE;
			else if (strcmp(optarg, "bypass") == 0)
				h.level = LOG_BYPASS;
			else if (strcmp(optarg, "all") == 0)
				h.level = LOG_ALL;
			else
				fatalx("-d %s: use none, bypass or all", optarg);
			break;
		case 'F':
			if (gn_acl_format_parse(optarg, &h.fmt, &err) == -1)
				fatalx("-F %s: %s", optarg, err);
			break;
		case 'l':
			h.log_path = optarg;
			break;
		case 'n':
			check_only = 1;
			break;
		case 'r':
			h.rules_path = optarg;
			break;
		case 'V':
			printf("%s %s\n", PROGNAME, PACKAGE_VERSION);
			return 0;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	/*
	 * Squid talks to us on fds 0 and 1. If one is closed, the next open()
	 * (the -l log file) would take its place and receive the answers.
	 */
	for (i = 0; i <= 2; i++) {
		if (fcntl(i, F_GETFD) != -1 || errno != EBADF)
			continue;
		if (i == STDERR_FILENO) {
			if (open("/dev/null", O_WRONLY) != STDERR_FILENO)
				return 1;
			continue;
		}
		if (!check_only)
			fatalx("%s: standard %s is closed", i == 0 ? "reading requests" : "writing replies",
			    i == 0 ? "input" : "output");
	}
	if (check_only)
		return rules_load(&h, 1) == 0 ? 0 : 1;

	out_init(&h.out, STDOUT_FILENO, OBUF_SIZE);
	out_init(&h.log, -1, LBUF_SIZE);
	log_open(&h);
	if (h.log.fd == -1)
		h.log.fd = STDERR_FILENO;
	/* Zeroed: the parser reads GN_ACL_PAD bytes past a line, all of them defined. */
	if ((h.ibuf = calloc(1, IBUF_SIZE + GN_ACL_PAD)) == NULL)
		fatalx("out of memory");
	for (i = 0; i < GN_ACL_NREASONS; i++) {
		const char *t = gn_acl_reason_text((enum gn_acl_reason)i);
		size_t o;

		memcpy(h.errtail[i], " message=", 9);
		o = 9 + gn_acl_escape(h.errtail[i] + 9, t, strlen(t));
		h.errtaillen[i] = o;
	}
	log_plain_init();
	signals_setup();
	/*
	 * A helper that exits before its first answer can make Squid exit
	 * ("crashing too rapidly"): without rules, serve ERR (bump everything)
	 * and wait for a SIGHUP instead.
	 */
	rules_load(&h, 0);
	serve(&h);
	return 0;
}
