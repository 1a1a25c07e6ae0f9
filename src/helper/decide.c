/* SPDX-License-Identifier: BSD-2-Clause */
/* The bypass decision for one request, and the reply texts of the rules it names, built on first use. */
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
check_target(struct gn_acl_rules *rules, const char *s, size_t n, int port,
    int32_t *rule, int *why)
{
	struct gn_verdict v = gn_table_lookup(rules->table, s, n, GN_PROTO_TCP);
	const struct gn_acl_rule *r;

	*rule = v.rule;
	/* Replies and logs name the rule: have its details at hand. */
	if (v.rule != GN_NONE && !rules->rule[v.rule].filled &&
	    gn_acl_rule_fill(rules, v.rule) == -1) {
		*rule = GN_NONE;
		*why = -1;
		return -1;
	}
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
gn_acl_decide(struct gn_acl_rules *rules, const struct gn_acl_req *req,
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
		dec->reason = why < 0 ? GN_ACL_NOMEM : (enum gn_acl_reason)(GN_ACL_HOST_UNLISTED + why);
		return;
	}
	/* Clients mostly send the CONNECT host as SNI: that answer is known. */
	if (req->sni != NULL && req->snilen == req->hostlen &&
	    memcmp(req->sni, req->host, req->hostlen) == 0) {
		dec->sni_rule = dec->host_rule;
	} else if (req->sni != NULL &&
	    check_target(rules, req->sni, req->snilen, req->port, &dec->sni_rule, &why) == -1) {
		dec->reason = why < 0 ? GN_ACL_NOMEM : (enum gn_acl_reason)(GN_ACL_SNI_UNLISTED + why);
		return;
	}
	dec->reason = GN_ACL_OK;
}

size_t
gn_acl_put_where(const struct gn_acl_rules *rules, int32_t id, char *p)
{
	const struct gn_acl_rule *r = &rules->rule[id];
	const struct gn_acl_str *f = &rules->str[rules->head[r->head].file];
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
	size_t n = 32 + rules->head[r->head].len + rules->versionlen;

	if (sni_rule != GN_NONE && sni_rule != host_rule)
		n += 32 + rules->str[rules->head[rules->rule[sni_rule].head].file].esclen;
	return n;
}

size_t
gn_acl_put_ok(const struct gn_acl_rules *rules, int32_t host_rule, int32_t sni_rule, char *p)
{
	const struct gn_acl_rule *r = &rules->rule[host_rule];
	const struct gn_acl_head *h = &rules->head[r->head];
	size_t o = 0;

	o += put_mem(p + o, rules->headtext + h->off, h->len);
	o += put_uint(p + o, r->line);
	if (sni_rule != GN_NONE && sni_rule != host_rule) {
		o += PUT_LIT(p + o, " gotonet_sni_rule=");
		o += gn_acl_put_where(rules, sni_rule, p + o);
	}
	o += put_mem(p + o, rules->version, rules->versionlen);
	p[o++] = '\n';
	return o;
}

size_t
gn_acl_log_size(const struct gn_acl_rules *rules, int32_t id)
{
	const struct gn_acl_head *h = &rules->head[rules->rule[id].head];

	return 32 + rules->str[h->file].rawlen + rules->str[h->label].rawlen;
}

size_t
gn_acl_put_log(const struct gn_acl_rules *rules, int32_t id, char *p)
{
	const struct gn_acl_rule *r = &rules->rule[id];
	const struct gn_acl_head *h = &rules->head[r->head];
	const struct gn_acl_str *f = &rules->str[h->file], *l = &rules->str[h->label];
	size_t o = 0;

	o += put_mem(p + o, rules->strtext + f->raw, f->rawlen);
	p[o++] = ':';
	o += put_uint(p + o, r->line);
	o += PUT_LIT(p + o, " label=\"");
	o += put_mem(p + o, rules->strtext + l->raw, l->rawlen);
	p[o++] = '"';
	return o;
}

/*
 * Each distinct label and file name once, found again through a hash of its
 * bytes; filled as rules are first used, so it holds what the traffic needs.
 */
#define PTRCACHE	256

struct gn_acl_strtab {
	size_t		 cap;		/* entries of rules->str */
	size_t		 textlen, textcap;
	uint32_t	*slot;		/* open addressing: index + 1, 0 empty */
	size_t		 nslot;		/* a power of two, at least twice cap */
	/* The library hands out each distinct label at one address: skip the hash. */
	struct {
		const char	*p;
		uint32_t	 idx;
	} seen[PTRCACHE];
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

/*
 * The slots of an open-addressing index of n entries (index + 1, 0 empty),
 * nslot a power of two, entry i placed by hash(rules, i); NULL on ENOMEM.
 */
static uint32_t *
index_build(const struct gn_acl_rules *rules, size_t n, size_t nslot,
    uint32_t (*hash)(const struct gn_acl_rules *, size_t))
{
	uint32_t *slot;
	size_t i, j;

	if ((slot = calloc(nslot, sizeof(*slot))) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		for (j = hash(rules, i) & (nslot - 1); slot[j] != 0; j = (j + 1) & (nslot - 1))
			;
		slot[j] = (uint32_t)(i + 1);
	}
	return slot;
}

static uint32_t
str_hash(const struct gn_acl_rules *rules, size_t i)
{
	return fnv1a(rules->strtext + rules->str[i].raw, rules->str[i].rawlen);
}

/* Room for one more string: double the entries (and the slots with them). */
static int
strtab_grow(struct gn_acl_rules *rules)
{
	struct gn_acl_strtab *st = rules->strtab;
	struct gn_acl_str *str;
	uint32_t *slot;
	size_t cap = st->cap ? 2 * st->cap : 16;

	if (cap > UINT32_MAX / 8)
		return -1;
	if ((str = realloc(rules->str, cap * sizeof(*str))) == NULL)
		return -1;
	rules->str = str;
	if ((slot = index_build(rules, rules->nstr, 4 * cap, str_hash)) == NULL)
		return -1;
	free(st->slot);
	st->slot = slot;
	st->nslot = 4 * cap;
	st->cap = cap;
	return 0;
}

/* Index of string s in rules->str, adding it when new; -1 on ENOMEM or overflow. */
static int64_t
strtab_add(struct gn_acl_rules *rules, const char *s)
{
	struct gn_acl_strtab *st = rules->strtab;
	size_t n = strlen(s), i, need, k = ((uintptr_t)s >> 3) % PTRCACHE;
	struct gn_acl_str *e;

	if (st->seen[k].p == s)
		return st->seen[k].idx;
	if (rules->nstr == st->cap && strtab_grow(rules) == -1)
		return -1;
	for (i = fnv1a(s, n) & (st->nslot - 1); st->slot[i] != 0; i = (i + 1) & (st->nslot - 1)) {
		e = &rules->str[st->slot[i] - 1];
		if (e->rawlen == n && memcmp(rules->strtext + e->raw, s, n) == 0)
			goto found;
	}
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
	rules->nstr++;
found:
	st->seen[k].p = s;
	st->seen[k].idx = st->slot[i] - 1;
	return st->seen[k].idx;
}

/*
 * What the OK replies of rules with the same label, file and action start
 * with: "OK clt_conn_tag=... gotonet_label=LABEL gotonet_rule=FILE:". Lists
 * have few of them, so they stay in the cache where a text per rule would not.
 */
struct gn_acl_heads {
	uint32_t	*slot;		/* open addressing: index + 1, 0 empty */
	size_t		 nslot;		/* a power of two, at least twice cap */
	size_t		 cap;		/* entries of rules->head */
	size_t		 textcap;
};

static uint32_t
head_hash(uint32_t label, uint32_t file, uint8_t direct)
{
	uint64_t k = ((uint64_t)label << 32 | file) * 0x9E3779B97F4A7C15ULL;

	return (uint32_t)(k >> 32) ^ direct;
}

static uint32_t
head_hash_at(const struct gn_acl_rules *rules, size_t i)
{
	const struct gn_acl_head *e = &rules->head[i];

	return head_hash(e->label, e->file, e->direct);
}

/* Room for one more head: double the entries and rehash. */
static int
heads_grow(struct gn_acl_rules *rules)
{
	struct gn_acl_heads *hs = rules->heads;
	struct gn_acl_head *head;
	uint32_t *slot;
	size_t cap = hs->cap ? 2 * hs->cap : 8;

	if (cap > UINT32_MAX / 8)
		return -1;
	if ((head = realloc(rules->head, cap * sizeof(*head))) == NULL)
		return -1;
	rules->head = head;
	if ((slot = index_build(rules, rules->nhead, 4 * cap, head_hash_at)) == NULL)
		return -1;
	free(hs->slot);
	hs->slot = slot;
	hs->nslot = 4 * cap;
	hs->cap = cap;
	return 0;
}

static int64_t
head_add(struct gn_acl_rules *rules, uint32_t label, uint32_t file, uint8_t direct)
{
	struct gn_acl_heads *hs = rules->heads;
	const struct gn_acl_str *l = &rules->str[label], *f = &rules->str[file];
	struct gn_acl_head *e;
	size_t i, need, o;
	char *p;

	if (rules->nhead == hs->cap && heads_grow(rules) == -1)
		return -1;
	for (i = head_hash(label, file, direct) & (hs->nslot - 1); hs->slot[i] != 0;
	    i = (i + 1) & (hs->nslot - 1)) {
		e = &rules->head[hs->slot[i] - 1];
		if (e->label == label && e->file == file && e->direct == direct)
			return hs->slot[i] - 1;
	}
	need = rules->headtextlen + 96 + l->esclen + f->esclen;
	if (need > UINT32_MAX)
		return -1;
	if (need > hs->textcap) {
		size_t cap = hs->textcap * 2 > need ? hs->textcap * 2 : need;

		if ((p = realloc(rules->headtext, cap)) == NULL)
			return -1;
		rules->headtext = p;
		hs->textcap = cap;
	}
	p = rules->headtext + rules->headtextlen;
	o = PUT_LIT(p, "OK");
	/*
	 * A connection annotation survives into the internal CONNECT of a
	 * step-2 splice, where always_direct is decided; it also tells the
	 * rule's action (every OK splices).
	 */
	if (!(rules->flags & GN_ACL_NOTAG)) {
		if (direct)
			o += PUT_LIT(p + o, " clt_conn_tag=gotonet_direct");
		else
			o += PUT_LIT(p + o, " clt_conn_tag=gotonet_splice");
	}
	o += PUT_LIT(p + o, " gotonet_label=");
	o += put_mem(p + o, rules->strtext + l->esc, l->esclen);
	o += PUT_LIT(p + o, " gotonet_rule=");
	o += put_mem(p + o, rules->strtext + f->esc, f->esclen);
	p[o++] = ':';
	e = &rules->head[rules->nhead];
	e->off = (uint32_t)rules->headtextlen;
	e->len = (uint32_t)o;
	e->label = label;
	e->file = file;
	e->direct = direct;
	rules->headtextlen += o;
	hs->slot[i] = (uint32_t)(rules->nhead + 1);
	return (int64_t)rules->nhead++;
}

/*
 * The whole reply of a rule that decides alone ("OK ... gotonet_version=V\n"),
 * kept in one small block while it has room: copied as is, the shipped list's
 * replies cost one memcpy. Big lists fill it with their first rules and build
 * the rest from the heads, whose few texts stay in the CPU cache.
 */
#define TEXT_MAX	(256 * 1024)
#define TEXT_RULE_MAX	1024

static void
text_build(struct gn_acl_rules *rules, struct gn_acl_rule *r, int32_t id)
{
	char tmp[TEXT_RULE_MAX];
	size_t n;

	if (gn_acl_ok_size(rules, id, GN_NONE) > sizeof(tmp) ||
	    (n = gn_acl_put_ok(rules, id, GN_NONE, tmp)) > TEXT_MAX - rules->textlen)
		return;
	if (rules->text == NULL && (rules->text = malloc(TEXT_MAX)) == NULL)
		return;
	memcpy(rules->text + rules->textlen, tmp, n);
	r->text = (uint32_t)rules->textlen;
	r->textlen = (uint16_t)n;
	rules->textlen += n;
}

int
gn_acl_rule_fill(struct gn_acl_rules *rules, int32_t id)
{
	struct gn_acl_rule *r = &rules->rule[id];
	struct gn_rule_info info;
	int64_t label, file, head;

	if (r->filled)
		return 0;
	if (gn_table_rule_info(rules->table, id, &info) == -1 ||
	    (label = strtab_add(rules, info.label)) == -1 ||
	    (file = strtab_add(rules, info.file)) == -1 ||
	    (head = head_add(rules, (uint32_t)label, (uint32_t)file,
	    (info.action & GN_ACTION_DIRECT) != 0)) == -1)
		return -1;
	r->head = (uint32_t)head;
	r->line = info.line;
	r->action = (uint8_t)info.action;
	r->anyport = info.nports == 0;
	r->filled = 1;
	text_build(rules, r, id);
	return 0;
}

/* "ERR message=REASON" + version + "\n" for every reason. */
static int
err_texts(struct gn_acl_rules *rules)
{
	size_t cap = 0, o = 0, i;

	for (i = 0; i < GN_ACL_NREASONS; i++)
		cap += 16 + 3 * strlen(gn_acl_reason_text((enum gn_acl_reason)i)) +
		    rules->versionlen;
	if ((rules->errtext = malloc(cap)) == NULL)
		return -1;
	for (i = 0; i < GN_ACL_NREASONS; i++) {
		const char *why = gn_acl_reason_text((enum gn_acl_reason)i);

		rules->erroff[i] = (uint32_t)o;
		o += PUT_LIT(rules->errtext + o, "ERR message=");
		o += gn_acl_escape(rules->errtext + o, why, strlen(why));
		rules->errhead[i] = (uint32_t)(o - rules->erroff[i]);
		o += put_mem(rules->errtext + o, rules->version, rules->versionlen);
		rules->errtext[o++] = '\n';
		rules->errlen[i] = (uint32_t)(o - rules->erroff[i]);
	}
	return 0;
}

struct gn_acl_rules *
gn_acl_rules_new(struct gn_table *table, unsigned flags)
{
	struct gn_acl_rules *rules;
	const char *v;
	size_t o;

	if ((rules = calloc(1, sizeof(*rules))) == NULL) {
		gn_table_free(table);
		return NULL;
	}
	rules->table = table;
	rules->flags = flags;
	rules->nrules = gn_table_rule_count(table);
	if (rules->nrules > INT32_MAX)
		goto fail;
	/*
	 * A rule's details (label, file, line, action) are taken from the table
	 * the first time it matches: a big list loads without a pass over it.
	 */
	rules->rule = calloc(rules->nrules + 1, sizeof(*rules->rule));
	rules->strtab = calloc(1, sizeof(*rules->strtab));
	rules->heads = calloc(1, sizeof(*rules->heads));
	v = gn_table_version(table);
	rules->version = malloc(sizeof(" gotonet_version=") + 3 * strlen(v));
	if (rules->rule == NULL || rules->strtab == NULL || rules->heads == NULL ||
	    rules->version == NULL)
		goto fail;
	o = 0;
	if (*v != '\0') {
		o = PUT_LIT(rules->version, " gotonet_version=");
		o += gn_acl_escape(rules->version + o, v, strlen(v));
	}
	rules->version[o] = '\0';
	rules->versionlen = o;
	if (err_texts(rules) == -1)
		goto fail;
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
	free(rules->str);
	free(rules->strtext);
	if (rules->strtab != NULL)
		free(rules->strtab->slot);
	free(rules->strtab);
	free(rules->head);
	free(rules->headtext);
	if (rules->heads != NULL)
		free(rules->heads->slot);
	free(rules->heads);
	free(rules->errtext);
	free(rules->text);
	free(rules->version);
	free(rules);
}
