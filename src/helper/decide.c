/* SPDX-License-Identifier: BSD-2-Clause */
/* The bypass decision for one request, and the per-rule reply text built when rules are loaded. */
#include "config.h"

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
	[GN_ACL_NOMEM] = "out of memory",
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

static size_t
put_uint(char *p, unsigned v)
{
	char tmp[12];
	size_t n = 0, i;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	for (i = 0; i < n; i++)
		p[i] = tmp[n - 1 - i];
	return n;
}

size_t
gn_acl_put_where(const struct gn_acl_rules *rules, int32_t id, char *p)
{
	const struct gn_acl_rule *r = &rules->rule[id];
	const struct gn_acl_str *f = &rules->str[r->file];
	size_t o = 0;

	o += put_mem(p + o, rules->strtext + f->esc, f->esclen);
	p[o++] = ':';
	o += put_uint(p + o, r->line);
	return o;
}

size_t
gn_acl_ok_size(const struct gn_acl_rules *rules, int32_t host_rule, int32_t sni_rule)
{
	const struct gn_acl_rule *r = &rules->rule[host_rule];
	size_t n = 128 + rules->str[r->label].esclen + rules->str[r->file].esclen + rules->versionlen;

	if (sni_rule != GN_NONE && sni_rule != host_rule)
		n += 32 + rules->str[rules->rule[sni_rule].file].esclen;
	return n;
}

size_t
gn_acl_put_ok(const struct gn_acl_rules *rules, int32_t host_rule, int32_t sni_rule, char *p)
{
	const struct gn_acl_rule *r = &rules->rule[host_rule];
	const struct gn_acl_str *label = &rules->str[r->label];
	size_t o = 0;

	/*
	 * A connection annotation survives into the internal CONNECT of a
	 * step-2 splice, where always_direct is decided; it also tells the
	 * rule's action (every OK splices).
	 */
	if (!(rules->flags & GN_ACL_NOTAG)) {
		if (r->action & GN_ACTION_DIRECT)
			o += PUT_LIT(p + o, " clt_conn_tag=gotonet_direct");
		else
			o += PUT_LIT(p + o, " clt_conn_tag=gotonet_splice");
	}
	o += PUT_LIT(p + o, " gotonet_label=");
	o += put_mem(p + o, rules->strtext + label->esc, label->esclen);
	o += PUT_LIT(p + o, " gotonet_rule=");
	o += gn_acl_put_where(rules, host_rule, p + o);
	if (sni_rule != GN_NONE && sni_rule != host_rule) {
		o += PUT_LIT(p + o, " gotonet_sni_rule=");
		o += gn_acl_put_where(rules, sni_rule, p + o);
	}
	o += put_mem(p + o, rules->version, rules->versionlen);
	return o;
}

size_t
gn_acl_log_size(const struct gn_acl_rules *rules, int32_t id)
{
	const struct gn_acl_rule *r = &rules->rule[id];

	return 32 + rules->str[r->file].rawlen + rules->str[r->label].rawlen;
}

size_t
gn_acl_put_log(const struct gn_acl_rules *rules, int32_t id, char *p)
{
	const struct gn_acl_rule *r = &rules->rule[id];
	const struct gn_acl_str *f = &rules->str[r->file], *l = &rules->str[r->label];
	size_t o = 0;

	o += put_mem(p + o, rules->strtext + f->raw, f->rawlen);
	p[o++] = ':';
	o += put_uint(p + o, r->line);
	o += PUT_LIT(p + o, " label=\"");
	o += put_mem(p + o, rules->strtext + l->raw, l->rawlen);
	p[o++] = '"';
	return o;
}

/* Building: each distinct string once, found again through a hash of its bytes. */
struct strtab {
	struct gn_acl_rules *rules;
	size_t		 cap;		/* strings */
	size_t		 textlen, textcap;
	uint32_t	*slot;		/* open addressing: index + 1, 0 empty */
	size_t		 nslot;		/* a power of two */
};

static uint32_t
fnv1a(const char *s, size_t n)
{
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return h;
}

/* Index of string s in rules->str, adding it when new; -1 on ENOMEM or overflow. */
static int64_t
strtab_add(struct strtab *st, const char *s)
{
	struct gn_acl_rules *rules = st->rules;
	size_t n = strlen(s), i, need;
	struct gn_acl_str *e;

	for (i = fnv1a(s, n) & (st->nslot - 1); st->slot[i] != 0; i = (i + 1) & (st->nslot - 1)) {
		e = &rules->str[st->slot[i] - 1];
		if (e->rawlen == n && memcmp(rules->strtext + e->raw, s, n) == 0)
			return st->slot[i] - 1;
	}
	if (rules->nstr == st->cap)
		return -1;	/* sized for every label and file: cannot happen */
	need = st->textlen + 4 * n + 1;
	if (need > UINT32_MAX)
		return -1;
	if (need > st->textcap) {
		size_t cap = st->textcap * 2 > need ? st->textcap * 2 : need;
		char *t = realloc(rules->strtext, cap);

		if (t == NULL)
			return -1;
		rules->strtext = t;
		st->textcap = cap;
	}
	e = &rules->str[rules->nstr];
	e->raw = (uint32_t)st->textlen;
	e->rawlen = (uint32_t)n;
	memcpy(rules->strtext + st->textlen, s, n);
	st->textlen += n;
	e->esc = (uint32_t)st->textlen;
	e->esclen = (uint32_t)gn_acl_escape(rules->strtext + st->textlen, s, n);
	st->textlen += e->esclen;
	st->slot[i] = (uint32_t)(rules->nstr + 1);
	return (int64_t)rules->nstr++;
}

struct gn_acl_rules *
gn_acl_rules_new(struct gn_table *table, unsigned flags)
{
	struct gn_acl_rules *rules;
	struct gn_rule_info info;
	struct strtab st;
	const char *v;
	size_t i, o;
	int64_t label, file;

	memset(&st, 0, sizeof(st));
	if ((rules = calloc(1, sizeof(*rules))) == NULL) {
		gn_table_free(table);
		return NULL;
	}
	rules->table = table;
	rules->flags = flags;
	rules->nrules = gn_table_rule_count(table);
	if (rules->nrules > UINT32_MAX / 4)
		goto fail;
	st.rules = rules;
	st.cap = 2 * rules->nrules + 1;
	for (st.nslot = 16; st.nslot < 2 * st.cap; st.nslot *= 2)
		;
	rules->rule = calloc(rules->nrules + 1, sizeof(*rules->rule));
	rules->str = calloc(st.cap, sizeof(*rules->str));
	st.slot = calloc(st.nslot, sizeof(*st.slot));
	v = gn_table_version(table);
	rules->version = malloc(sizeof(" gotonet_version=") + 3 * strlen(v));
	if (rules->rule == NULL || rules->str == NULL || st.slot == NULL || rules->version == NULL)
		goto fail;
	for (i = 0; i < rules->nrules; i++) {
		struct gn_acl_rule *r = &rules->rule[i];

		if (gn_table_rule_info(table, (int32_t)i, &info) == -1 ||
		    (label = strtab_add(&st, info.label)) == -1 ||
		    (file = strtab_add(&st, info.file)) == -1)
			goto fail;
		r->line = info.line;
		r->label = (uint32_t)label;
		r->file = (uint32_t)file;
		r->action = (uint8_t)info.action;
		r->anyport = info.nports == 0;
	}
	o = 0;
	if (*v != '\0') {
		o = PUT_LIT(rules->version, " gotonet_version=");
		o += gn_acl_escape(rules->version + o, v, strlen(v));
	}
	rules->version[o] = '\0';
	rules->versionlen = o;
	free(st.slot);
	return rules;
fail:
	free(st.slot);
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
	free(rules->str);
	free(rules->strtext);
	free(rules->version);
	free(rules);
}
