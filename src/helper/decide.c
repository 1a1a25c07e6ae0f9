/* SPDX-License-Identifier: BSD-2-Clause */
/* The bypass decision for one request, and the per-rule reply text built when rules are loaded. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"

static const char *const reason_text[GN_ACL_NREASONS] = {
	[GN_ACL_OK] = "listed",
	[GN_ACL_NO_RULES] = "no rules loaded",
	[GN_ACL_BAD_REQUEST] = "bad request",
	[GN_ACL_TOO_LONG] = "request line too long",
	[GN_ACL_NO_HOST] = "no CONNECT host",
	[GN_ACL_HOST_UNLISTED] = "host not listed",
	[GN_ACL_HOST_EXCEPTED] = "host excepted",
	[GN_ACL_HOST_PORT] = "port not allowed for host",
	[GN_ACL_HOST_NOSPLICE] = "host rule does not splice",
	[GN_ACL_SNI_UNLISTED] = "SNI not listed",
	[GN_ACL_SNI_EXCEPTED] = "SNI excepted",
	[GN_ACL_SNI_PORT] = "port not allowed for SNI",
	[GN_ACL_SNI_NOSPLICE] = "SNI rule does not splice",
};

const char *
gn_acl_reason_text(enum gn_acl_reason r)
{
	if ((unsigned)r >= GN_ACL_NREASONS)
		return "?";
	return reason_text[r];
}

/*
 * Check one target (CONNECT host or SNI) against the rules. Returns 0 when
 * it may be spliced; otherwise the offset of its refusal reason from the
 * "unlisted" reason of its kind (0 unlisted, 1 excepted, 2 port, 3 no splice).
 */
static int
check_target(const struct gn_acl_rules *rules, const char *s, size_t n, int port,
    int32_t *rule, int *why)
{
	struct gn_verdict v = gn_table_lookup(rules->table, s, n, GN_PROTO_TCP);
	const struct gn_acl_rule *r;

	*rule = v.rule;
	switch (v.match) {
	case GN_MATCH_LISTED:
		break;
	case GN_MATCH_EXCEPTED:
		*why = 1;
		return -1;
	default:
		*why = 0;
		return -1;
	}
	r = &rules->rule[v.rule];
	/* Port 0 is in no range: a missing port passes rules without a port list only. */
	if (!r->anyport &&
	    !gn_table_rule_port_ok(rules->table, v.rule, port > 0 ? (unsigned)port : 0)) {
		*why = 2;
		return -1;
	}
	if (!(r->action & GN_ACTION_SPLICE)) {
		*why = 3;
		return -1;
	}
	return 0;
}

void
gn_acl_decide(const struct gn_acl_rules *rules, const struct gn_acl_req *req,
    struct gn_acl_decision *dec)
{
	int why;

	dec->host_rule = GN_NONE;
	dec->sni_rule = GN_NONE;
	if (rules == NULL) {
		dec->reason = GN_ACL_NO_RULES;
		return;
	}
	if (req->host == NULL) {
		dec->reason = GN_ACL_NO_HOST;
		return;
	}
	/*
	 * Both must be listed: Squid splices to the CONNECT host, while the SNI
	 * is what the client claims. A listed SNI on an unlisted host is the
	 * classic way to smuggle a connection past inspection.
	 */
	if (check_target(rules, req->host, req->hostlen, req->port, &dec->host_rule, &why) == -1) {
		dec->reason = (enum gn_acl_reason)(GN_ACL_HOST_UNLISTED + why);
		return;
	}
	/* Clients mostly send the CONNECT host as SNI: that answer is known. */
	if (req->sni != NULL && req->snilen == req->hostlen &&
	    memcmp(req->sni, req->host, req->hostlen) == 0) {
		dec->sni_rule = dec->host_rule;
	} else if (req->sni != NULL &&
	    check_target(rules, req->sni, req->snilen, req->port, &dec->sni_rule, &why) == -1) {
		dec->reason = (enum gn_acl_reason)(GN_ACL_SNI_UNLISTED + why);
		return;
	}
	dec->reason = GN_ACL_OK;
}

/* Append "file:line" of a rule, escaped, to p. */
static size_t
put_where(char *p, const struct gn_rule_info *r)
{
	char line[16];
	size_t o;
	int n;

	o = gn_acl_escape(p, r->file, strlen(r->file));
	n = snprintf(line, sizeof(line), ":%u", r->line);
	memcpy(p + o, line, (size_t)n);
	return o + (size_t)n;
}

static size_t
put_str(char *p, const char *s)
{
	size_t n = strlen(s);

	memcpy(p, s, n);
	return n;
}

/* The text an OK reply carries for a rule, after "OK"; returns its length. */
static size_t
rule_tail(char *p, const struct gn_rule_info *r, unsigned flags)
{
	size_t o = 0;

	/*
	 * A connection annotation survives into the internal CONNECT of a
	 * step-2 splice, where always_direct is decided; it also tells the
	 * rule's action (every OK splices).
	 */
	if (!(flags & GN_ACL_NOTAG))
		o += put_str(p + o, (r->action & GN_ACTION_DIRECT) ?
		    " clt_conn_tag=gotonet_direct" : " clt_conn_tag=gotonet_splice");
	o += put_str(p + o, " gotonet_label=");
	o += gn_acl_escape(p + o, r->label, strlen(r->label));
	o += put_str(p + o, " gotonet_rule=");
	o += put_where(p + o, r);
	return o;
}

static size_t
tail_bound(const struct gn_rule_info *r)
{
	return 128 + 3 * (strlen(r->label) + strlen(r->file));
}

/* How a rule shows in the decision log: " FILE:LINE label="LABEL"". */
static size_t
rule_logtext(char *p, size_t room, const struct gn_rule_info *r)
{
	int n = snprintf(p, room, " %s:%u label=\"%s\"", r->file, r->line, r->label);

	return n < 0 ? 0 : (size_t)n >= room ? room - 1 : (size_t)n;
}

struct gn_acl_rules *
gn_acl_rules_new(struct gn_table *table, unsigned flags)
{
	struct gn_acl_rules *rules;
	struct gn_rule_info info;
	size_t i, size = 1, logsize = 1, o = 0, lo;
	const char *v;

	if ((rules = calloc(1, sizeof(*rules))) == NULL) {
		gn_table_free(table);
		return NULL;
	}
	rules->table = table;
	rules->nrules = gn_table_rule_count(table);
	for (i = 0; i < rules->nrules; i++) {
		if (gn_table_rule_info(table, (int32_t)i, &info) == -1)
			goto fail;
		size += tail_bound(&info);
		logsize += 32 + strlen(info.file) + strlen(info.label);
	}
	if (size > UINT32_MAX || logsize > UINT32_MAX)
		goto fail;
	rules->rule = calloc(rules->nrules + 1, sizeof(*rules->rule));
	rules->text = malloc(size);
	rules->logtext = malloc(logsize);
	v = gn_table_version(table);
	rules->version = malloc(sizeof(" gotonet_version=") + 3 * strlen(v));
	if (rules->rule == NULL || rules->text == NULL || rules->logtext == NULL ||
	    rules->version == NULL)
		goto fail;
	for (i = 0, lo = 0; i < rules->nrules; i++) {
		struct gn_acl_rule *r = &rules->rule[i];

		gn_table_rule_info(table, (int32_t)i, &info);
		r->action = (uint8_t)info.action;
		r->anyport = info.nports == 0;
		r->off = (uint32_t)o;
		r->len = (uint32_t)rule_tail(rules->text + o, &info, flags);
		o += r->len;
		r->logoff = (uint32_t)lo;
		r->loglen = (uint32_t)rule_logtext(rules->logtext + lo, logsize - lo, &info);
		lo += r->loglen;
	}
	if (*v != '\0') {
		o = put_str(rules->version, " gotonet_version=");
		o += gn_acl_escape(rules->version + o, v, strlen(v));
	} else {
		o = 0;
	}
	rules->version[o] = '\0';
	rules->versionlen = o;
	return rules;
fail:
	gn_acl_rules_free(rules);
	return NULL;
}

void
gn_acl_rules_free(struct gn_acl_rules *rules)
{
	if (rules == NULL)
		return;
	gn_table_free(rules->table);
	free(rules->rule);
	free(rules->text);
	free(rules->logtext);
	free(rules->version);
	free(rules);
}
