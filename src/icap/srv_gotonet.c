/* SPDX-License-Identifier: BSD-2-Clause */
/* srv_gotonet: c-icap service that marks listed traffic so that Squid splices it and sends it direct. */
#include "config.h"

#include <inttypes.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <c_icap/c-icap.h>
#include <c_icap/service.h>
#include <c_icap/header.h>
#include <c_icap/request.h>
#include <c_icap/simple_api.h>
#include <c_icap/debug.h>
#include <c_icap/stats.h>
#include <c_icap/module.h>

#include "gotonet.h"
#include "icap.h"

/* The HTTP headers squid.conf matches with "acl ... req_header". */
#define GN_HDR_BYPASS		"X-Gotonet-Bypass"
#define GN_HDR_ACTION		"X-Gotonet-Action"

#define GN_LABEL_MAX		256	/* longest label copied into a header */
#define GN_LABEL_STATS_MAX	128	/* per-label counters up to this many distinct labels */
#define GN_ECHO_SIZE		65536	/* body echo, for ICAP clients without Allow 206 only */
#define GN_STAT_GROUP		"Service gotonet"

enum gn_icap_verdict {
	GN_V_NONE = 0,		/* not listed: untouched */
	GN_V_BYPASS,		/* listed: marked for splice/direct */
	GN_V_EXCEPTED,		/* matched by an admin exception: untouched */
	GN_V_STRIPPED,		/* not listed, a client-sent bypass header removed */
	GN_V_INVALID,		/* no well-formed target: untouched */
	GN_V_BUMPED,		/* listed name in an https:// URL (a bumped connection): untouched */
	GN_V_PLAIN,		/* listed target of a request other than CONNECT: untouched */
	GN_V_ERROR		/* could not answer: ICAP 500 */
};

static const char *const gn_verdict_names[] = {
	"none", "bypass", "excepted", "stripped", "invalid", "bumped", "plain", "error"
};

/* The rules in force and what was derived from them at load time. */
struct gn_icap_state {
	struct gn_table	*table;
	int		*rule_stat;	/* per rule: its label's counter, or -1 */
	char		 options_hdr[256];	/* X-Gotonet-Rules, sent with OPTIONS */
	char		 istag[CI_SERVICE_ISTAG_SIZE + 1];
	char		 when[64];	/* load time, UTC */
	char		 loaded[PATH_MAX + 256];	/* "at TIME from PATH (version ..., digest ...)" */
};

struct gn_icap_decision {
	enum gn_icap_verdict	 kind;
	int32_t			 rule;	/* deciding rule, or GN_NONE */
	int			 has_ri;	/* ri describes rule */
	struct gn_rule_info	 ri;
	struct gn_icap_target	 target;
};

/* Per-request state, only for a body that must be echoed back (no Allow 206). */
struct gn_icap_echo {
	size_t	start, used;
	int	eof;
	char	buf[GN_ECHO_SIZE];
};

/*
 * Keep this module mapped across c-icap's reconfigure. c-icap 0.5.10 calls
 * close, dlclose()s every service module, dlopen()s it again and calls init
 * and post_init (cfg_param.c system_reconfigure, dlib.c ci_dlib_closeall),
 * unless the module exports this symbol (service.c load_c_service). Then the
 * same mapping comes back and gn_state below survives: a reload that finds a
 * broken rules file keeps the rules in force instead of leaving the service
 * without a list. A new srv_gotonet.so at the same path therefore needs a
 * restart of c-icap, not a reconfigure.
 */
CI_MOD_DISABLE_FORCE_UNLOAD();

/*
 * Module state. Written only while c-icap (re)configures in its main
 * process, before children fork; request threads only read it, so it needs
 * no locks. gn_state outlives a reconfigure (see above); the rest is set
 * again by init and the directives.
 */
static char gn_conf_rules[PATH_MAX];	/* gotonet.RulesFile; "" means GN_RULES_PATH */
static int gn_conf_log_verdicts;	/* gotonet.LogVerdicts */
static struct gn_icap_state *gn_state;	/* the last rules loaded, NULL before the first */
static char gn_reload_hdr[192];		/* X-Gotonet-Reload after a failed reload, or "" */
static struct {
	int	requests, bypassed, excepted, stripped, invalid, bumped, plain, errors;
} gn_stat;

static int	gn_icap_init(ci_service_xdata_t *, struct ci_server_conf *);
static int	gn_icap_post_init(ci_service_xdata_t *, struct ci_server_conf *);
static void	gn_icap_close(void);
static void	*gn_icap_req_new(ci_request_t *);
static void	gn_icap_req_free(void *);
static int	gn_icap_preview(char *, int, ci_request_t *);
static int	gn_icap_end_of_data(ci_request_t *);
static int	gn_icap_io(char *, int *, char *, int *, int, ci_request_t *);
static int	gn_icap_set_rules(const char *, const char **, void *);

static struct ci_conf_entry gn_conf_table[] = {
	{ "RulesFile", gn_conf_rules, gn_icap_set_rules,
	    "gotonet.RulesFile PATH: the rules to load (absolute path)" },
	{ "LogVerdicts", &gn_conf_log_verdicts, ci_cfg_onoff,
	    "gotonet.LogVerdicts on|off: log every decision to the server log" },
	{ NULL, NULL, NULL, NULL }
};

CI_DECLARE_MOD_DATA ci_service_module_t service = {
	"gotonet",
	"gotonet bypass marker",
	ICAP_REQMOD | ICAP_RESPMOD,
	gn_icap_init,
	gn_icap_post_init,
	gn_icap_close,
	gn_icap_req_new,
	gn_icap_req_free,
	gn_icap_preview,
	gn_icap_end_of_data,
	gn_icap_io,
	gn_conf_table,
	NULL
};

static int
gn_icap_set_rules(const char *directive, const char **argv, void *setdata)
{
	char *dst = setdata;
	size_t len;

	if (argv == NULL || argv[0] == NULL || argv[1] != NULL) {
		ci_debug_printf(1, "gotonet: %s needs exactly one path\n", directive);
		return 0;
	}
	/* c-icap runs from "/" as a daemon: a relative path would mean something else there */
	if (argv[0][0] != '/') {
		ci_debug_printf(1, "gotonet: %s '%s': use an absolute path\n", directive, argv[0]);
		return 0;
	}
	if ((len = strlen(argv[0])) >= PATH_MAX) {
		ci_debug_printf(1, "gotonet: %s: path too long\n", directive);
		return 0;
	}
	memcpy(dst, argv[0], len + 1);
	return 1;
}

/* Register the counter "name" (followed by suffix) in the service's group. */
static int
gn_stat_register(const char *name, const char *suffix)
{
	char label[GN_LABEL_MAX + 64], group[] = GN_STAT_GROUP;

	snprintf(label, sizeof(label), "%s%s", name, suffix);
	return ci_stat_entry_register(label, STAT_INT64_T, group);
}

static void
gn_stat_inc(int id)
{
	if (id >= 0)
		ci_stat_uint64_inc(id, 1);
}

/* OPTIONS: tell which rules are in force (the ISTag says when they change). */
static int
gn_icap_options(ci_request_t *req)
{
	const struct gn_icap_state *st = gn_state;

	if (st != NULL && ci_icap_add_xheader(req, st->options_hdr) == NULL) {
		ci_debug_printf(1, "gotonet: cannot add %s to the OPTIONS answer\n", "X-Gotonet-Rules");
	}
	if (gn_reload_hdr[0] != '\0' && ci_icap_add_xheader(req, gn_reload_hdr) == NULL) {
		ci_debug_printf(1, "gotonet: cannot add %s to the OPTIONS answer\n", "X-Gotonet-Reload");
	}
	return CI_OK;
}

static int
gn_icap_init(ci_service_xdata_t *srv, struct ci_server_conf *conf)
{
	(void)conf;
	/* gn_state stays: it is what a failed reload falls back to */
	gn_conf_rules[0] = '\0';
	gn_conf_log_verdicts = 0;

	/* Headers decide everything: no body, ever, and "no change" is a 204. */
	ci_service_set_preview(srv, 0);
	ci_service_enable_204(srv);
	/* 206 lets a changed request keep its body without us reading it. */
	ci_service_enable_206(srv);
	ci_service_set_xopts(srv, CI_XCLIENTIP | CI_XSERVERIP);
	ci_service_add_option_handler(srv, "gotonet", gn_icap_options);

	gn_stat.requests = gn_stat_register("gotonet requests", "");
	gn_stat.bypassed = gn_stat_register("gotonet bypassed", "");
	gn_stat.excepted = gn_stat_register("gotonet excepted", "");
	gn_stat.stripped = gn_stat_register("gotonet spoofed headers stripped", "");
	gn_stat.invalid = gn_stat_register("gotonet invalid targets", "");
	gn_stat.bumped = gn_stat_register("gotonet listed names in bumped connections", "");
	gn_stat.plain = gn_stat_register("gotonet listed names in requests other than CONNECT", "");
	gn_stat.errors = gn_stat_register("gotonet errors", "");
	return CI_OK;
}

/*
 * One counter per distinct label, registered before the children fork (c-icap
 * sizes its shared statistics block then). Lists with many labels get none:
 * the info page would become unreadable and registering is quadratic.
 */
static void
gn_icap_label_stats(struct gn_icap_state *st)
{
	const char *labels[GN_LABEL_STATS_MAX];
	size_t n = 0, nrules, i, j;
	struct gn_rule_info ri;

	nrules = gn_table_rule_count(st->table);
	for (i = 0; i < nrules; i++)
		st->rule_stat[i] = -1;
	for (i = 0; i < nrules; i++) {
		if (gn_table_rule_info(st->table, (int32_t)i, &ri) == -1 ||
		    (ri.flags & GN_RULE_EXCEPT))
			continue;
		for (j = 0; j < n; j++)
			if (strcmp(labels[j], ri.label) == 0)
				break;
		if (j == n) {
			if (n == GN_LABEL_STATS_MAX) {
				ci_debug_printf(1, "gotonet: more than %d labels: no per-label counters\n",
				    GN_LABEL_STATS_MAX);
				for (i = 0; i < nrules; i++)
					st->rule_stat[i] = -1;
				return;
			}
			labels[n++] = ri.label;
		}
	}
	for (i = 0; i < nrules; i++) {
		if (gn_table_rule_info(st->table, (int32_t)i, &ri) == -1 ||
		    (ri.flags & GN_RULE_EXCEPT))
			continue;
		/* c-icap returns the existing counter for a label it has seen */
		st->rule_stat[i] = gn_stat_register("gotonet bypassed: ", ri.label);
	}
}

/* Format now (UTC) into buf for the logs and headers. */
static void
gn_icap_now(char *buf, size_t size)
{
	time_t now = time(NULL);
	struct tm tm;

	if (gmtime_r(&now, &tm) == NULL || strftime(buf, size, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		snprintf(buf, size, "%lld", (long long)now);
}

static void
gn_icap_state_free(struct gn_icap_state *st)
{
	if (st == NULL)
		return;
	gn_table_free(st->table);
	free(st->rule_stat);
	free(st);
}

/*
 * Load path into a new state. On failure every error has been logged and
 * *why says in a few words what went wrong ("2 errors", "no rules").
 */
static struct gn_icap_state *
gn_icap_state_load(const char *path, char *why, size_t whysize)
{
	struct gn_icap_state *st = NULL;
	struct gn_table *t;
	struct gn_diag diag;
	size_t i, nrules;
	uint64_t digest;

	gn_diag_init(&diag);
	t = gn_table_load(path, &diag);
	for (i = 0; i < diag.nmsgs; i++) {
		ci_debug_printf(1, "gotonet: %s\n", diag.msgs[i]);
	}
	if (t == NULL) {
		snprintf(why, whysize, "%zu error%s in %s", diag.nerrors,
		    diag.nerrors == 1 ? "" : "s", path);
		goto end;
	}
	if ((nrules = gn_table_rule_count(t)) == 0) {
		snprintf(why, whysize, "%s has no rules", path);
		goto end;
	}
	if ((st = calloc(1, sizeof(*st))) == NULL ||
	    (st->rule_stat = calloc(nrules, sizeof(*st->rule_stat))) == NULL) {
		snprintf(why, whysize, "out of memory loading %s", path);
		gn_icap_state_free(st);
		st = NULL;
		goto end;
	}
	st->table = t;
	t = NULL;
	digest = gn_table_digest(st->table);
	snprintf(st->options_hdr, sizeof(st->options_hdr),
	    "X-Gotonet-Rules: %zu rules; version \"%.120s\"; digest %016" PRIx64,
	    nrules, gn_table_version(st->table), digest);
	/* c-icap puts "CI0001" in front; the digest changes whenever a rule does */
	snprintf(st->istag, sizeof(st->istag), "-gn%016" PRIx64, digest);
	gn_icap_now(st->when, sizeof(st->when));
	snprintf(st->loaded, sizeof(st->loaded), "at %s from %s (version \"%.120s\", digest %016" PRIx64 ")",
	    st->when, path, gn_table_version(st->table), digest);
end:
	gn_table_free(t);
	gn_diag_free(&diag);
	return st;
}

/*
 * Runs in c-icap's main process at start and after every reconfigure,
 * before the children fork. The first load must succeed or the service
 * refuses to run (c-icap answers its requests with 500): never an empty
 * list. A later load that fails keeps the rules in force, the way a reload
 * of the external ACL helper does, and says so in the log and in OPTIONS.
 */
static int
gn_icap_post_init(ci_service_xdata_t *srv, struct ci_server_conf *conf)
{
	const char *path = gn_conf_rules[0] != '\0' ? gn_conf_rules : GN_RULES_PATH;
	struct gn_icap_state *st;
	char why[PATH_MAX + 64], now[64];

	(void)conf;
	if ((st = gn_icap_state_load(path, why, sizeof(why))) != NULL) {
		gn_icap_state_free(gn_state);
		gn_state = st;
		gn_reload_hdr[0] = '\0';
		ci_debug_printf(1, "gotonet: %zu rules loaded from %s (version \"%s\", ISTag CI0001%s)\n",
		    gn_table_rule_count(st->table), path, gn_table_version(st->table), st->istag);
	} else if ((st = gn_state) != NULL) {
		ci_debug_printf(1, "gotonet: %s; rules not loaded, keeping the rules loaded %s\n",
		    why, st->loaded);
		gn_icap_now(now, sizeof(now));
		snprintf(gn_reload_hdr, sizeof(gn_reload_hdr),
		    "X-Gotonet-Reload: failed at %s; rules loaded at %s kept", now, st->when);
	} else {
		ci_debug_printf(1, "gotonet: %s; rules not loaded, service gotonet disabled\n", why);
		return CI_ERROR;
	}
	/* c-icap made a new service entry: counters and ISTag are set again */
	gn_icap_label_stats(st);
	ci_service_set_istag(srv, st->istag);
	return CI_OK;
}

/*
 * c-icap calls this before each reconfigure and at exit. The rules stay in
 * memory (the module stays mapped): they are freed when a reload replaces
 * them, or with the process. Not NULL in the service table: c-icap 0.5.10
 * unregisters a service's directives only when it has a close function.
 */
static void
gn_icap_close(void)
{
}

/* May the answer be 206 with use-original-body (inside preview, or Allow: 204, 206)? */
static int
gn_can_206(ci_request_t *req)
{
	return ci_req_allow206(req) && (req->preview >= 0 || ci_req_allow204(req));
}

/* May the answer be 204, or does c-icap turn it into a copy of the headers? */
static int
gn_can_204(ci_request_t *req)
{
	return !ci_req_hasbody(req) || req->preview >= 0 || ci_req_allow204(req);
}

static void *
gn_icap_req_new(ci_request_t *req)
{
	struct gn_icap_echo *e;

	/*
	 * Only a client that can take neither 204 nor 206 for a body makes us
	 * handle that body; every other request costs no allocation.
	 */
	if (!ci_req_hasbody(req) || gn_can_206(req))
		return NULL;
	if ((e = malloc(sizeof(*e))) == NULL) {
		ci_debug_printf(1, "gotonet: out of memory for a request body\n");
		return NULL;
	}
	e->start = e->used = 0;
	e->eof = 0;
	return e;
}

static void
gn_icap_req_free(void *data)
{
	free(data);
}

/* Look target up for TCP; a listed rule that excludes the port does not count. */
static struct gn_verdict
gn_icap_lookup(const struct gn_table *t, const char *s, size_t len, unsigned port)
{
	struct gn_verdict v = gn_table_lookup(t, s, len, GN_PROTO_TCP);

	if (v.match == GN_MATCH_LISTED && !gn_table_rule_port_ok(t, v.rule, port)) {
		v.match = GN_MATCH_NONE;
		v.rule = GN_NONE;
	}
	return v;
}

/* Is the HTTP request line a CONNECT (methods are case-sensitive)? */
static int
gn_is_connect(const char *reqline)
{
	return reqline != NULL && strncmp(reqline, "CONNECT", 7) == 0 &&
	    (reqline[7] == ' ' || reqline[7] == '\t');
}

/*
 * Decide from the request's target and, when the ICAP client sent it,
 * X-Server-IP. An exception on either wins; otherwise either being listed
 * is enough (the connection goes to that name or address).
 */
static void
gn_icap_decide(const struct gn_icap_state *st, ci_request_t *req, struct gn_icap_decision *d)
{
	struct gn_verdict vh = { GN_MATCH_NONE, GN_TARGET_INVALID, GN_NONE };
	struct gn_verdict vs = { GN_MATCH_NONE, GN_TARGET_INVALID, GN_NONE };
	const char *ip, *reqline = ci_http_request(req);
	size_t iplen;

	d->kind = GN_V_NONE;
	d->rule = GN_NONE;
	d->has_ri = 0;
	if (gn_icap_target_parse(reqline, ci_http_request_get_header(req, "Host"),
	    &d->target) == 0)
		vh = gn_icap_lookup(st->table, d->target.host, d->target.hostlen, d->target.port);
	if ((ip = ci_headers_value(req->request_header, "X-Server-IP")) != NULL) {
		for (iplen = 0; ip[iplen] != '\0' && ip[iplen] != ' ' && ip[iplen] != '\t' &&
		    ip[iplen] != '\r' && ip[iplen] != '\n'; iplen++)
			;
		vs = gn_icap_lookup(st->table, ip, iplen, d->target.port);
	}

	if (vh.match == GN_MATCH_EXCEPTED || vs.match == GN_MATCH_EXCEPTED) {
		d->kind = GN_V_EXCEPTED;
		d->rule = vh.match == GN_MATCH_EXCEPTED ? vh.rule : vs.rule;
	} else if (vh.match == GN_MATCH_LISTED) {
		d->kind = GN_V_BYPASS;
		d->rule = vh.rule;
	} else if (vs.match == GN_MATCH_LISTED) {
		d->kind = GN_V_BYPASS;
		d->rule = vs.rule;
	} else if (vh.target == GN_TARGET_INVALID && vs.target == GN_TARGET_INVALID)
		d->kind = GN_V_INVALID;

	/*
	 * Only a CONNECT is marked. Any other request may come from inside a
	 * bumped connection, and Squid sends it over the connection it made
	 * for the CONNECT, whatever its URL names: a client that CONNECTs to
	 * an unlisted host and then asks for "http://listed/" or
	 * "https://listed/" would skip the inspection services while talking
	 * to the unlisted host. Nothing in the ICAP request says reliably
	 * that it came from a bumped connection (Squid 5.7's
	 * connections_encrypted acl, tried as an adaptation_meta header, held
	 * only for the first service of a REQMOD chain, never in RESPMOD), so
	 * plain HTTP to listed names is inspected too.
	 * Listed CONNECTs are spliced, so nothing inside them reaches ICAP.
	 */
	if (d->kind == GN_V_BYPASS && !gn_is_connect(reqline))
		d->kind = d->target.tls ? GN_V_BUMPED : GN_V_PLAIN;
	d->has_ri = d->rule != GN_NONE && gn_table_rule_info(st->table, d->rule, &d->ri) == 0;
}

/*
 * Does the HTTP request carry a header that could be one of ours, in any
 * spelling? One pass over the headers, so that the common request without
 * any pays for no removal attempts. headers[0] is the request line.
 */
static int
gn_icap_has_ours(const ci_headers_list_t *h)
{
	int i;

	for (i = 1; i < h->used; i++) {
		if (h->headers[i][0] != 'X' && h->headers[i][0] != 'x')
			continue;
		if (gn_icap_header_is(h->headers[i], GN_HDR_BYPASS) ||
		    gn_icap_header_is(h->headers[i], GN_HDR_ACTION))
			return 1;
	}
	return 0;
}

/*
 * Remove every client-sent gotonet header from the HTTP request, or any
 * client could mark its own traffic for bypass. Returns how many were removed,
 * or -1 when one is spelled so oddly ("Name : value") that c-icap cannot
 * remove it: then the request must not pass unchanged.
 */
static int
gn_icap_strip(ci_request_t *req)
{
	ci_headers_list_t *h;
	int i, n = 0;

	if ((h = ci_http_request_headers(req)) == NULL || !gn_icap_has_ours(h))
		return 0;
	while (ci_headers_remove(h, GN_HDR_BYPASS))
		n++;
	while (ci_headers_remove(h, GN_HDR_ACTION))
		n++;
	for (i = 1; i < h->used; i++)
		if (gn_icap_header_is(h->headers[i], GN_HDR_BYPASS) ||
		    gn_icap_header_is(h->headers[i], GN_HDR_ACTION))
			return -1;
	return n;
}

/* Copy "name: value" into line (size bytes), the value made safe for a header. */
static void
gn_icap_header_line(char *line, size_t size, const char *name, size_t namelen, const char *value)
{
	memcpy(line, name, namelen);
	line[namelen] = ':';
	line[namelen + 1] = ' ';
	gn_icap_header_value(line + namelen + 2, size - namelen - 2, value);
}

static int
gn_icap_mark(ci_request_t *req, const struct gn_rule_info *ri)
{
	char line[sizeof(GN_HDR_BYPASS ": ") + GN_LABEL_MAX];
	const char *action;
	size_t n;

	/* an empty value would not match "req_header ... ." in squid.conf */
	gn_icap_header_line(line, sizeof(line), GN_HDR_BYPASS, sizeof(GN_HDR_BYPASS) - 1,
	    ri->label[0] != '\0' ? ri->label : ri->pattern);
	if (ci_http_request_add_header(req, line) == NULL)
		return -1;
	/* the library's action names are plain tokens: no need to clean them */
	action = gn_action_name(ri->action);
	if ((n = strlen(action)) > GN_LABEL_MAX)
		n = GN_LABEL_MAX;
	memcpy(line, GN_HDR_ACTION ": ", sizeof(GN_HDR_ACTION ": ") - 1);
	memcpy(line + sizeof(GN_HDR_ACTION ": ") - 1, action, n);
	line[sizeof(GN_HDR_ACTION ": ") - 1 + n] = '\0';
	if (ci_http_request_add_header(req, line) == NULL)
		return -1;
	return 0;
}

/* Take over the body to send it back unchanged (clients without Allow 206 only). */
static int
gn_icap_echo_start(ci_request_t *req, const char *data, int len)
{
	struct gn_icap_echo *e = ci_service_data(req);

	if (e == NULL || len < 0 || (size_t)len > sizeof(e->buf))
		return CI_MOD_ERROR;
	if (len > 0)
		memcpy(e->buf, data, (size_t)len);
	e->used = (size_t)len;
	e->eof = ci_req_hasalldata(req);
	/* let c-icap send while it reads, or a body larger than the ring stalls */
	ci_req_unlock_data(req);
	return CI_MOD_CONTINUE;
}

static int
gn_icap_unchanged(ci_request_t *req, const char *data, int len)
{
	if (gn_can_204(req))
		return CI_MOD_ALLOW204;
	return gn_icap_echo_start(req, data, len);
}

static int
gn_icap_changed(ci_request_t *req, const char *data, int len)
{
	if (!ci_req_hasbody(req))
		return CI_MOD_CONTINUE;
	if (gn_can_206(req)) {
		if (!ci_request_206_origin_body(req, 0))
			return CI_MOD_ERROR;
		return CI_MOD_ALLOW206;
	}
	return gn_icap_echo_start(req, data, len);
}

static void
gn_icap_log(ci_request_t *req, const struct gn_icap_decision *d, int stripped)
{
	const char *client = ci_headers_value(req->request_header, "X-Client-IP");
	const char *method = req->type == ICAP_RESPMOD ? "RESPMOD" : "REQMOD";
	const char *verdict = gn_verdict_names[d->kind];
	const char *target = d->target.from != GN_ICAP_FROM_NONE ? d->target.host : "-";
	const int tlen = d->target.from != GN_ICAP_FROM_NONE ? (int)d->target.hostlen : 1;
	const unsigned port = d->target.port;

	if (client == NULL)
		client = "-";
	if (d->has_ri) {
		ci_debug_printf(1, "gotonet: %s %s %.*s port %u client %s: %s (%s:%u, label \"%s\")%s\n",
		    method, verdict, tlen, target, port, client, d->ri.pattern, d->ri.file, d->ri.line,
		    d->ri.label, stripped > 0 ? ", client header stripped" : "");
	} else {
		ci_debug_printf(1, "gotonet: %s %s %.*s port %u client %s%s\n", method, verdict,
		    tlen, target, port, client, stripped > 0 ? ", client header stripped" : "");
	}
}

/* "file:line" of a rule into buf, without printf on the request path. */
static void
gn_icap_where(char *buf, size_t size, const struct gn_rule_info *ri)
{
	char digits[16];
	size_t n = strlen(ri->file), nd = 0;
	unsigned line = ri->line;

	do
		digits[nd++] = (char)('0' + line % 10);
	while ((line /= 10) != 0 && nd < sizeof(digits));
	if (n + 1 + nd >= size)
		n = size - 2 - nd;
	memcpy(buf, ri->file, n);
	buf[n++] = ':';
	while (nd > 0)
		buf[n++] = digits[--nd];
	buf[n] = '\0';
}

static void
gn_icap_account(const struct gn_icap_state *st, ci_request_t *req,
    const struct gn_icap_decision *d, int stripped)
{
	char where[PATH_MAX + 16];

	gn_stat_inc(gn_stat.requests);
	switch (d->kind) {
	case GN_V_BYPASS:
		gn_stat_inc(gn_stat.bypassed);
		if (d->rule >= 0 && (size_t)d->rule < gn_table_rule_count(st->table))
			gn_stat_inc(st->rule_stat[d->rule]);
		break;
	case GN_V_EXCEPTED:
		gn_stat_inc(gn_stat.excepted);
		break;
	case GN_V_INVALID:
		gn_stat_inc(gn_stat.invalid);
		break;
	case GN_V_BUMPED:
		gn_stat_inc(gn_stat.bumped);
		break;
	case GN_V_PLAIN:
		gn_stat_inc(gn_stat.plain);
		break;
	case GN_V_ERROR:
		gn_stat_inc(gn_stat.errors);
		break;
	case GN_V_NONE:
	case GN_V_STRIPPED:
		break;
	}
	if (stripped > 0)
		gn_stat_inc(gn_stat.stripped);

	/*
	 * Most traffic is not listed: leave it without attributes (the log shows
	 * "-"), since the first one costs c-icap an allocation per request.
	 */
	if (d->kind != GN_V_NONE)
		ci_request_set_str_attribute(req, "gotonet:verdict", gn_verdict_names[d->kind]);
	if (d->has_ri) {
		gn_icap_where(where, sizeof(where), &d->ri);
		ci_request_set_str_attribute(req, "gotonet:rule", where);
	}
	if (gn_conf_log_verdicts)
		gn_icap_log(req, d, stripped);
}

static int
gn_icap_preview(char *data, int len, ci_request_t *req)
{
	const struct gn_icap_state *st = gn_state;
	struct gn_icap_decision d;
	int stripped = 0, ret;

	if (st == NULL) {
		/* c-icap does not route requests to a service whose post_init failed */
		ci_debug_printf(1, "gotonet: request without rules loaded\n");
		return CI_MOD_ERROR;
	}
	gn_icap_decide(st, req, &d);
	if (req->type == ICAP_REQMOD) {
		if ((stripped = gn_icap_strip(req)) == -1) {
			ci_debug_printf(1, "gotonet: cannot remove a malformed client %s header\n",
			    GN_HDR_BYPASS);
			d.kind = GN_V_ERROR;
			ret = CI_MOD_ERROR;
			goto end;
		}
		if (stripped > 0 && d.kind != GN_V_BYPASS)
			d.kind = GN_V_STRIPPED;
	}
	if (d.kind == GN_V_BYPASS) {
		/* in a routing=on chain, skip the inspection services after this one */
		if (ci_icap_add_xheader(req, "X-Next-Services: ") == NULL) {
			ci_debug_printf(1, "gotonet: cannot add X-Next-Services\n");
		}
		if (req->type == ICAP_REQMOD && (!d.has_ri || gn_icap_mark(req, &d.ri) == -1)) {
			ci_debug_printf(1, "gotonet: cannot add %s to the request\n", GN_HDR_BYPASS);
			d.kind = GN_V_ERROR;
			ret = CI_MOD_ERROR;
			goto end;
		}
	}
	if (req->type == ICAP_REQMOD && (d.kind == GN_V_BYPASS || stripped > 0))
		ret = gn_icap_changed(req, data, len);
	else
		ret = gn_icap_unchanged(req, data, len);
	if (ret == CI_MOD_ERROR)
		d.kind = GN_V_ERROR;
end:
	gn_icap_account(st, req, &d, stripped);
	return ret;
}

static int
gn_icap_end_of_data(ci_request_t *req)
{
	struct gn_icap_echo *e = ci_service_data(req);

	if (e != NULL)
		e->eof = 1;
	return CI_MOD_DONE;
}

/*
 * Body I/O. Answers that keep the original body (204, 206, null-body) send
 * none of their own; only the echo for clients without Allow 206 moves data.
 */
static int
gn_icap_io(char *wbuf, int *wlen, char *rbuf, int *rlen, int iseof, ci_request_t *req)
{
	struct gn_icap_echo *e = ci_service_data(req);
	size_t n, i;

	if (e == NULL) {
		if (wbuf != NULL && wlen != NULL)
			*wlen = CI_EOF;
		return CI_OK;
	}
	if (rbuf != NULL && rlen != NULL && *rlen >= 0) {
		n = sizeof(e->buf) - e->used;
		if ((size_t)*rlen < n)
			n = (size_t)*rlen;
		for (i = 0; i < n; i++)
			e->buf[(e->start + e->used + i) % sizeof(e->buf)] = rbuf[i];
		e->used += n;
		if (iseof && n == (size_t)*rlen)
			e->eof = 1;
		*rlen = (int)n;
	}
	if (wbuf != NULL && wlen != NULL && *wlen >= 0) {
		n = e->used < (size_t)*wlen ? e->used : (size_t)*wlen;
		for (i = 0; i < n; i++)
			wbuf[i] = e->buf[(e->start + i) % sizeof(e->buf)];
		e->start = (e->start + n) % sizeof(e->buf);
		e->used -= n;
		*wlen = n == 0 && e->eof ? CI_EOF : (int)n;
	}
	return CI_OK;
}
