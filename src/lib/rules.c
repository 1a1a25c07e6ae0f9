/* SPDX-License-Identifier: BSD-2-Clause */
/* The rules file parser: every error of every file in one pass, a table only when there are none. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/stat.h>

/* -U__SSE2__ builds the portable code on x86 too (tests/libgotonet-portable.la). */
#ifdef __SSE2__
#define GN_RULES_SSE2	1
#include <emmintrin.h>
#endif

#define PCRE2_CODE_UNIT_WIDTH 8
#include <libcidr.h>
#include <pcre2.h>

#include "internal.h"

#define MAX_DEPTH	8
#define MAX_TOKENS	64
#define READ_CHUNK	65536	/* read() size: memory stays flat whatever the file's size */
#define SLACK		16	/* zeroed bytes after the data: a vector load past a line's end stays in them */

/* Interned strings (labels repeat): open addressing over arena offsets. */
struct islot {
	uint32_t	off;		/* arena offset; 0 = empty */
	uint32_t	len;
	uint32_t	hash;
};

struct strtab {
	struct islot	*slots;
	size_t		 mask, count;
};

/* Attribute sets, by content: open addressing over set index + 1. */
struct settab {
	uint32_t	*slots;
	size_t		 mask, count;
};

struct parser {
	struct gn_table	*t;
	struct gn_diag	*diag;
	const char	*file;		/* current file, as shown in messages */
	unsigned	 line;
	uint16_t	 fileidx;
	int		 depth;
	char		*open[MAX_DEPTH + 1];	/* realpaths of the files being read */
	char		*version_at;	/* "file:line" of the version statement */
	struct strtab	 strs;
	struct gn_pfx4	*pfx4;		/* address rules */
	size_t		 npfx4, cap4;
	struct gn_pfx6	*pfx6;
	size_t		 npfx6, cap6;
	struct settab	 sets;
	uint32_t	*set_ports;	/* per attribute set: its interned ports text */
	uint64_t	*set_digest;	/* per attribute set: a digest of what it decides */
	struct acache	*acache;	/* ACACHE_SIZE entries, made on first use */
	uint64_t	 digest;	/* of the rules so far, in file order */
	size_t		 rules_cap;	/* room in t->rules */
	size_t		 nerr;
	int		 nomem;
};

/* Where lines come from: a file descriptor or a caller's buffer, read in chunks. */
struct reader {
	int		 fd;		/* -1: from mem */
	const char	*mem;
	size_t		 memlen;
	char		*buf;
	size_t		 cap, pos, end;	/* buf[pos, end) is read but not yet split */
	size_t		 nulat;		/* the first NUL at or after pos (end: none); < pos or SIZE_MAX: not known */
	int		 eof;
	int		 error;		/* an errno once reading failed */
};

/* A word of a line, its quotes taken out, NUL-terminated in place. */
struct tok {
	char		*s;
	uint32_t	 len;
	int32_t		 eq;		/* offset of the first '=', -1 when none */
	unsigned	 seen;		/* T_* classes of the bytes it holds */
};

/*
 * What the attributes of a rule came to, by their text as written: the lines
 * of a long list mostly repeat another line's attributes (label="CDN"
 * critical=no), and a repeat needs no splitting, parsing or interning.
 */
#define ACACHE_SIZE	4096	/* entries, direct-mapped */
#define ACACHE_TEXT	117	/* longer attribute texts are not kept; an entry is two cache lines */

struct acache {
	uint32_t	hash;
	uint32_t	attrs;		/* the attribute set */
	int8_t		proto;		/* proto= as given, -1 for none */
	uint8_t		key;		/* 0: empty; else 1 + except + 2 * (address rule) */
	uint8_t		len;
	char		text[ACACHE_TEXT];
};

/* Entries on cache line pairs (the table is 64-byte aligned): a hit reads one or two lines, not three. */
_Static_assert(sizeof(struct acache) == 128, "struct acache is two cache lines");

/* A rule line's attribute text and its entry. */
struct aref {
	struct acache	*e;		/* NULL: not kept (too long, or no memory) */
	int		 hit;		/* e holds this text: its words were not even split */
	uint32_t	 hash;
	uint8_t		 key, len;
	char		 raw[ACACHE_TEXT];	/* on a miss, the text before splitting */
};

/* What the tokenizer must stop at; the last three it only notes, for the pattern. */
#define T_END	0x01		/* NUL: the end of the line */
#define T_SPACE	0x02
#define T_QUOTE	0x04
#define T_EQ	0x08
#define T_STAR	0x10
#define T_COLON	0x20
#define T_SLASH	0x40
#define T_ESC	0x80		/* '\\', an escape inside quotes */

static const unsigned char tclass[256] = {
	['\0'] = T_END, [' '] = T_SPACE, ['\t'] = T_SPACE, ['\r'] = T_SPACE, ['\n'] = T_SPACE,
	['"'] = T_QUOTE, ['='] = T_EQ, ['*'] = T_STAR, [':'] = T_COLON, ['/'] = T_SLASH,
	['\\'] = T_ESC,
};

/* Bytes of a host name: anything with class 0 is not one. */
#define N_LOWER	0x01
#define N_UPPER	0x02
#define N_DIGIT	0x04
#define N_MARK	0x08		/* '-' and '_' */
#define N_DOT	0x10

static const unsigned char nclass[256] = {
	['a' ... 'z'] = N_LOWER, ['A' ... 'Z'] = N_UPPER, ['0' ... '9'] = N_DIGIT,
	['-'] = N_MARK, ['_'] = N_MARK, ['.'] = N_DOT,
};

static void parse_stream(struct parser *, struct reader *, int);

static void __attribute__((format(printf, 2, 3)))
perr(struct parser *p, const char *fmt, ...)
{
	char *msg;
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (r == -1 || gn_diag_add(p->diag, 0, "%s:%u: %s", p->file, p->line, msg) == -1)
		p->nomem = 1;
	if (r != -1)
		free(msg);
	p->nerr++;
}

/*
 * Eight bytes a step: the digest covers every rule at every load, and the
 * string table hashes with it too. Not for security.
 */
static inline uint64_t
digest(uint64_t h, const void *s, size_t len)
{
	const unsigned char *c = s;
	uint64_t w;

	for (; len >= 8; c += 8, len -= 8) {
		memcpy(&w, c, 8);
		h = (h ^ w) * 0x9e3779b97f4a7c15ULL;
		h ^= h >> 31;
	}
	/* The last bytes, little-endian, in two loads that may overlap (no call to memcpy). */
	if (len >= 4) {
		uint32_t lo, hi;

		memcpy(&lo, c, 4);
		memcpy(&hi, c + len - 4, 4);
		w = lo | (uint64_t)hi << (8 * (len - 4));
	} else if (len > 0)
		w = c[0] | (uint64_t)c[len / 2] << (8 * (len / 2)) | (uint64_t)c[len - 1] << (8 * (len - 1));
	else
		w = 0;
	w ^= (uint64_t)len << 56;
	h = (h ^ w) * 0x9e3779b97f4a7c15ULL;
	return h ^ h >> 29;
}

#define DIGEST_SEED	0xcbf29ce484222325ULL

/* s is len bytes and a NUL. */
static uint32_t
intern(struct parser *p, const char *s, size_t len)
{
	struct strtab *in = &p->strs;
	uint32_t hash = (uint32_t)(digest(DIGEST_SEED, s, len) >> 32), off;
	size_t i, j;

	if ((in->count + 1) * 2 > in->mask + 1) {
		size_t size = in->mask ? (in->mask + 1) * 2 : 64;
		struct islot *slots = calloc(size, sizeof(*slots));

		if (slots == NULL)
			return UINT32_MAX;
		for (j = 0; in->mask && j <= in->mask; j++) {
			if (in->slots[j].off == 0)
				continue;
			for (i = in->slots[j].hash & (size - 1); slots[i].off; i = (i + 1) & (size - 1))
				;
			slots[i] = in->slots[j];
		}
		free(in->slots);
		in->slots = slots;
		in->mask = size - 1;
	}
	for (i = hash & in->mask; in->slots[i].off; i = (i + 1) & in->mask)
		if (in->slots[i].hash == hash && in->slots[i].len == len &&
		    memcmp(p->t->arena.buf + in->slots[i].off, s, len) == 0)
			return in->slots[i].off;
	if (len >= UINT32_MAX || (off = gn_arena_add(&p->t->arena, s, len)) == UINT32_MAX)
		return UINT32_MAX;
	in->slots[i].off = off;
	in->slots[i].len = (uint32_t)len;
	in->slots[i].hash = hash;
	in->count++;
	return off;
}

#ifdef GN_RULES_SSE2
/*
 * The bytes of x the tokenizer stops at, one bit each: in *end those that
 * may end a word (x <= ' ', control bytes among them, or a quote), in
 * *mark the others it must see ('=', '*', ':', '/', '\\').
 */
static inline void
stop_bits(__m128i x, unsigned *end, unsigned *mark)
{
	const __m128i sp = _mm_set1_epi8(' '), qu = _mm_set1_epi8('"'), eq = _mm_set1_epi8('='),
	    st = _mm_set1_epi8('*'), co = _mm_set1_epi8(':'), sl = _mm_set1_epi8('/'),
	    bs = _mm_set1_epi8('\\');

	*end = (unsigned)_mm_movemask_epi8(_mm_or_si128(
	    _mm_cmpeq_epi8(_mm_min_epu8(x, sp), x), _mm_cmpeq_epi8(x, qu)));
	*mark = (unsigned)_mm_movemask_epi8(_mm_or_si128(
	    _mm_or_si128(_mm_cmpeq_epi8(x, eq), _mm_cmpeq_epi8(x, st)),
	    _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, co), _mm_cmpeq_epi8(x, sl)),
	    _mm_cmpeq_epi8(x, bs))));
}
#endif

/*
 * The first byte from s on that the tokenizer must look at: one tclass
 * knows, or another control byte (which it passes over). A line ends in a
 * NUL, so there is always one; with SSE2, sixteen bytes at a time, reading
 * at most fifteen past that NUL (the reader leaves SLACK bytes after its data).
 */
static inline char *
next_stop(char *s)
{
#ifdef GN_RULES_SSE2
	unsigned end, mark;

	for (;; s += 16) {
		stop_bits(_mm_loadu_si128((const __m128i *)(void *)s), &end, &mark);
		if ((end | mark) != 0)
			return s + __builtin_ctz(end | mark);
	}
#else
	while (tclass[(unsigned char)*s] == 0)
		s++;
	return s;
#endif
}

/*
 * Walk a word from s up to what ends it or opens a quote (a byte of class
 * T_END, T_SPACE or T_QUOTE), noting the classes of the bytes on the way
 * in *seen and the offset of the first '=' in *eq. With SSE2 a block of
 * sixteen bytes is looked at once and only its marked bytes one by one;
 * like next_stop(), it reads at most fifteen bytes past the line's NUL.
 */
static inline char *
scan_word(char *s, unsigned *seen, int32_t *eq)
{
	char *w = s;
#ifdef GN_RULES_SSE2
	for (;; s += 16) {
		unsigned end, mark, k;

		/* A control byte among the ends goes on: only the tokenizer's classes end a word. */
		stop_bits(_mm_loadu_si128((const __m128i *)(void *)s), &end, &mark);

		while (end != 0 && !(tclass[(unsigned char)s[__builtin_ctz(end)]] &
		    (T_END | T_SPACE | T_QUOTE)))
			end &= end - 1;
		if (end != 0)
			mark &= (end & -end) - 1;
		for (; mark != 0; mark &= mark - 1) {
			k = tclass[(unsigned char)s[__builtin_ctz(mark)]];
			if (k == T_EQ && *eq < 0)
				*eq = (int32_t)(s + __builtin_ctz(mark) - w);
			*seen |= k;
		}
		if (end != 0)
			return s + __builtin_ctz(end);
	}
#else
	unsigned k;

	for (;; s++) {
		if ((k = tclass[(unsigned char)*s]) == 0)
			continue;
		if (k & (T_END | T_SPACE | T_QUOTE))
			return s;
		if (k == T_EQ && *eq < 0)
			*eq = (int32_t)(s - w);
		*seen |= k;
	}
#endif
}

/*
 * Split a line into words in place. Quotes may appear anywhere in a word
 * (label="a b"); inside them \" and \\ are escapes. '#' starting a word
 * ends the line. Goes on from *sp with argc words in tv, and stops after
 * word number stop (leaving *sp after it; INT_MAX: never) or at the end of the line.
 * Returns the number of words, or -1 on an error.
 */
static int
tokenize(struct parser *p, char **sp, struct tok *tv, int argc, int stop)
{
	char *s = *sp;

	for (;;) {
		struct tok *t;
		unsigned c, k, seen = 0;
		int32_t eq = -1;
		char *w;

		while (tclass[(unsigned char)*s] == T_SPACE)
			s++;
		if (*s == '\0' || *s == '#') {
			*sp = s;
			return argc;
		}
		if (argc == MAX_TOKENS) {
			perr(p, "too many words on one line (limit %d)", MAX_TOKENS);
			return -1;
		}
		t = &tv[argc++];
		t->s = s;
		/* Most words hold no quote: walk them without copying. */
		s = scan_word(s, &seen, &eq);
		k = tclass[(unsigned char)*s];
		w = s;
		/*
		 * Mostly key="value": one quoted part, no escape, the end of the
		 * word. Then what is before the quote moves up a byte, over it.
		 */
		if (k == T_QUOTE) {
			char *e = s + 1, *qeq = NULL;
			unsigned qseen = 0;

			for (;; e++) {
				c = (unsigned char)*(e = next_stop(e));
				if (tclass[c] & (T_QUOTE | T_ESC | T_END))
					break;
				if (c == '=' && qeq == NULL)
					qeq = e;
				qseen |= tclass[c];
			}
			if (c == '"' && (tclass[(unsigned char)e[1]] & (T_SPACE | T_END))) {
				for (w = s; w > t->s; w--)	/* a few bytes: no call */
					*w = w[-1];
				t->s++;
				if (eq < 0 && qeq != NULL)
					eq = (int32_t)(qeq - t->s);
				seen |= qseen;
				w = e;
				s = e + 1;
				k = 0;
			}
		}
		/* Otherwise from the first quote on, the word is copied down over its quotes. */
		while (k == T_QUOTE && *s != '\0' && tclass[(unsigned char)*s] != T_SPACE) {
			if (*s != '"') {
				if (*s == '=' && eq < 0)
					eq = (int32_t)(w - t->s);
				seen |= tclass[(unsigned char)*s];
				*w++ = *s++;
				continue;
			}
			for (s++; (c = (unsigned char)*s) != '"'; s++) {
				if (tclass[c] & (T_EQ | T_END | T_ESC)) {
					if (c == '\\' && (s[1] == '"' || s[1] == '\\'))
						c = (unsigned char)*++s;
					else if (c == '\0') {
						perr(p, "unterminated quoted string");
						return -1;
					} else if (c == '=' && eq < 0)
						eq = (int32_t)(w - t->s);
				}
				seen |= tclass[c];
				*w++ = (char)c;
			}
			s++;
		}
		t->len = (uint32_t)(w - t->s);
		t->eq = eq;
		t->seen = seen;
		if (*s != '\0')
			s++;
		*w = '\0';
		if (argc == stop) {
			*sp = s;
			return argc;
		}
	}
}

/*
 * Check a host name of len bytes and lowercase it in place; returns its
 * length, or 0 (leaving it as written, for the message) if it is not one.
 */
static size_t
norm_name(char *s, size_t len)
{
	size_t i, start = 0;
	int upper = 0;

	if (len > 0 && s[len - 1] == '.')
		len--;
	if (len == 0 || len > 253)
		return 0;
#ifdef GN_RULES_SSE2
	/*
	 * Sixteen bytes at a time: every byte one of [a-zA-Z0-9._-], dots a
	 * label apart. A name of at most 63 bytes has no label too long, so
	 * its dots need no walk: a dot at the start or after a dot is an
	 * empty label, and the last one says where the last label starts.
	 */
	unsigned prev = 1;	/* a dot just before s[i], or the start */

	for (i = 0; i < len; i += 16) {
		__m128i x = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
		/* x in [lo, lo + n) as a signed compare after a shift; letters of either case at once */
		__m128i al = _mm_cmplt_epi8(_mm_add_epi8(_mm_or_si128(x, _mm_set1_epi8(0x20)),
		    _mm_set1_epi8((char)(0x80 - 'a'))), _mm_set1_epi8((char)(0x80 + 26)));
		__m128i dg = _mm_cmplt_epi8(_mm_add_epi8(x, _mm_set1_epi8((char)(0x80 - '0'))),
		    _mm_set1_epi8((char)(0x80 + 10)));
		__m128i dot = _mm_cmpeq_epi8(x, _mm_set1_epi8('.'));
		__m128i mk = _mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('-')),
		    _mm_cmpeq_epi8(x, _mm_set1_epi8('_')));
		unsigned in = len - i < 16 ? (1u << (len - i)) - 1 : 0xffff, dots, ok;

		ok = (unsigned)_mm_movemask_epi8(_mm_or_si128(_mm_or_si128(al, dg), _mm_or_si128(dot, mk)));
		if ((ok & in) != in)
			return 0;
		/* Upper case: a letter without bit 5 (moved to bit 7 for the mask). */
		if ((unsigned)_mm_movemask_epi8(_mm_andnot_si128(_mm_slli_epi16(x, 2), al)) & in)
			upper = 1;
		dots = (unsigned)_mm_movemask_epi8(dot) & in;
		if (len <= 63) {
			if (dots & (dots << 1 | prev))
				return 0;
			if (dots != 0)
				start = i + 32 - (size_t)__builtin_clz(dots);
			prev = dots >> 15;
			continue;
		}
		for (; dots != 0; dots &= dots - 1) {
			size_t d = i + (size_t)__builtin_ctz(dots);

			if (d == start || d - start > 63)
				return 0;
			start = d + 1;
		}
	}
#else
	for (i = 0; i < len; i++) {
		unsigned k = nclass[(unsigned char)s[i]];

		if (k == N_DOT) {
			if (i == start || i - start > 63)
				return 0;
			start = i + 1;
		} else if (k == 0)
			return 0;
		else if (k == N_UPPER)
			upper = 1;
	}
#endif
	/*
	 * A numeric last label (digits, or 0x and hex) makes it an address
	 * attempt, which lookups never treat as a name.
	 */
	if (len == start || len - start > 63)
		return 0;
	for (i = start; i < len && (nclass[(unsigned char)s[i]] & N_DIGIT); i++)
		;
	if (i == len)
		return 0;
	if (len - start >= 2 && s[start] == '0' && (s[start + 1] | 0x20) == 'x') {
		for (i = start + 2; i < len && ((nclass[(unsigned char)s[i]] & N_DIGIT) ||
		    ((s[i] | 0x20) >= 'a' && (s[i] | 0x20) <= 'f')); i++)
			;
		if (i == len)
			return 0;
	}
	if (upper)
		for (i = 0; i < len; i++)
			if (nclass[(unsigned char)s[i]] == N_UPPER)
				s[i] = (char)(s[i] - 'A' + 'a');
	s[len] = '\0';
	return len;
}

#define MAX_PORTS	64

/* A port list: PORT or LO-HI, comma-separated. Returns the count or -1. */
static int
parse_ports(struct parser *p, const char *v, struct gn_port_range *out)
{
	const char *s = v;
	int n = 0;

	for (;;) {
		unsigned long lo, hi;
		char *e;

		if (*s < '0' || *s > '9')
			goto bad;
		lo = hi = strtoul(s, &e, 10);
		if (*e == '-') {
			s = e + 1;
			if (*s < '0' || *s > '9')
				goto bad;
			hi = strtoul(s, &e, 10);
		}
		if (lo < 1 || hi > 65535 || lo > hi || n == MAX_PORTS)
			goto bad;
		out[n].lo = (uint16_t)lo;
		out[n].hi = (uint16_t)hi;
		n++;
		if (*e == '\0')
			return n;
		if (*e != ',')
			goto bad;
		s = e + 1;
	}
bad:
	perr(p, "bad ports '%s' (list of PORT or LO-HI, 1-65535)", v);
	return -1;
}

static uint64_t
set_hash(const struct gn_attrs *a, uint32_t ports_text)
{
	uint64_t h = (uint64_t)a->label * 0x9e3779b97f4a7c15ULL ^
	    (uint64_t)a->points_to * 0xc2b2ae3d27d4eb4fULL ^ (uint64_t)ports_text * 0x165667b19e3779f9ULL ^
	    ((uint32_t)a->flags << 16 | a->action << 8 | a->proto);

	/* Every input bit into the low bits, which pick the slot. */
	h ^= h >> 32;
	h *= 0xff51afd7ed558ccdULL;
	return h ^ h >> 29;
}

/*
 * The attribute set of a rule, shared with every rule that has the same one
 * (a list has a handful). ports_text is the interned ports text (0 for none),
 * so that equal port lists share a set too.
 */
static uint32_t
intern_attrs(struct parser *p, const struct gn_attrs *a, uint32_t ports_text,
    const struct gn_port_range *ports, size_t label_len)
{
	uint64_t fixed = (uint64_t)a->flags | (uint64_t)a->action << 8 | (uint64_t)a->proto << 16;
	struct gn_table *t = p->t;
	struct settab *in = &p->sets;
	size_t i, j;
	uint64_t h;

	if ((in->count + 1) * 2 > in->mask + 1) {
		size_t size = in->mask ? (in->mask + 1) * 2 : 64;
		uint32_t *slots = calloc(size, sizeof(*slots));

		if (slots == NULL)
			return UINT32_MAX;
		for (j = 0; in->mask && j <= in->mask; j++) {
			uint32_t s = in->slots[j];

			if (s == 0)
				continue;
			for (i = set_hash(&t->attrs[s - 1], p->set_ports[s - 1]) & (size - 1); slots[i];
			    i = (i + 1) & (size - 1))
				;
			slots[i] = s;
		}
		free(in->slots);
		in->slots = slots;
		in->mask = size - 1;
	}
	for (i = set_hash(a, ports_text) & in->mask; in->slots[i]; i = (i + 1) & in->mask) {
		const struct gn_attrs *o = &t->attrs[in->slots[i] - 1];

		if (o->label == a->label && o->points_to == a->points_to &&
		    p->set_ports[in->slots[i] - 1] == ports_text && o->flags == a->flags &&
		    o->action == a->action && o->proto == a->proto)
			return in->slots[i] - 1;
	}
	if (t->nattrs % 64 == 0) {
		struct gn_attrs *na = realloc(t->attrs, (t->nattrs + 64) * sizeof(*na));
		uint32_t *np = realloc(p->set_ports, (t->nattrs + 64) * sizeof(*np));
		uint64_t *nd = realloc(p->set_digest, (t->nattrs + 64) * sizeof(*nd));

		if (na != NULL)
			t->attrs = na;
		if (np != NULL)
			p->set_ports = np;
		if (nd != NULL)
			p->set_digest = nd;
		if (na == NULL || np == NULL || nd == NULL)
			return UINT32_MAX;
	}
	if (a->nports > 0) {
		struct gn_port_range *r = realloc(t->ports, (t->nports + a->nports) * sizeof(*r));

		if (r == NULL)
			return UINT32_MAX;
		t->ports = r;
		memcpy(t->ports + t->nports, ports, a->nports * sizeof(*ports));
	}
	t->attrs[t->nattrs] = *a;
	t->attrs[t->nattrs].ports = (uint32_t)t->nports;
	t->nports += a->nports;
	p->set_ports[t->nattrs] = ports_text;
	/* The digest covers the label and ports as text and numbers, not where they are kept. */
	h = digest(DIGEST_SEED, t->arena.buf + a->label, label_len + 1);
	h = digest(h, &fixed, sizeof(fixed));
	if (a->nports > 0)
		h = digest(h, ports, a->nports * sizeof(*ports));
	p->set_digest[t->nattrs] = h;
	in->slots[i] = (uint32_t)++t->nattrs;
	in->count++;
	return (uint32_t)t->nattrs - 1;
}

#define PUSH(p, arr, n, cap, x) do {						\
	if ((n) == (cap)) {							\
		size_t c_ = gn_mem_grow((cap) * sizeof(*(arr)),			\
		    ((n) + 1) * sizeof(*(arr))) / sizeof(*(arr));		\
		void *a_ = gn_mem_realloc((arr), c_ * sizeof(*(arr)));		\
		if (a_ == NULL) {						\
			(p)->nomem = 1;						\
			return -1;						\
		}								\
		(arr) = a_;							\
		(cap) = c_;							\
	}									\
	(arr)[(n)++] = (x);							\
} while (0)

static int
add_pfx4(struct parser *p, const struct gn_pfx4 *x)
{
	PUSH(p, p->pfx4, p->npfx4, p->cap4, *x);
	return 0;
}

static int
add_pfx6(struct parser *p, const struct gn_pfx6 *x)
{
	PUSH(p, p->pfx6, p->npfx6, p->cap6, *x);
	return 0;
}

static gn_u128
addr_to_u128(const uint8_t a[16])
{
	uint64_t hi, lo;

	memcpy(&hi, a, 8);
	memcpy(&lo, a + 8, 8);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	hi = __builtin_bswap64(hi);
	lo = __builtin_bswap64(lo);
#endif
	return (gn_u128)hi << 64 | lo;
}

static void
u128_to_addr(gn_u128 v, uint8_t a[16])
{
	uint64_t hi = (uint64_t)(v >> 64), lo = (uint64_t)v;

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	hi = __builtin_bswap64(hi);
	lo = __builtin_bswap64(lo);
#endif
	memcpy(a, &hi, 8);
	memcpy(a + 8, &lo, 8);
}

/* libcidr 1.2.3 reads a few bytes before a short string: give it room. */
static int
pad(char *buf, size_t size, const char *s)
{
	size_t len = strlen(s);

	if (len + 9 > size)
		return -1;
	memset(buf, ' ', 8);
	memcpy(buf + 8, s, len + 1);
	return 0;
}

static char *
put_dec(char *o, unsigned v)
{
	if (v >= 100)
		*o++ = (char)('0' + v / 100);
	if (v >= 10)
		*o++ = (char)('0' + v / 10 % 10);
	*o++ = (char)('0' + v % 10);
	return o;
}

/*
 * a/len as inet_ntop() and "%s/%u" write it (the first longest run of two or
 * more zero groups as "::", ::a.b.c.d and ::ffff:a.b.c.d as glibc does),
 * without their cost: a list may hold thousands. out holds 50 bytes.
 */
static size_t
format_net6(const uint8_t a[16], unsigned len, char *out)
{
	static const char hex[] = "0123456789abcdef";
	unsigned w[8];
	int i, best = -1, bestlen = 0, cur = -1, curlen = 0;
	char *o = out;

	for (i = 0; i < 8; i++) {
		w[i] = (unsigned)a[2 * i] << 8 | a[2 * i + 1];
		if (w[i] != 0) {
			cur = -1;
			continue;
		}
		if (cur == -1) {
			cur = i;
			curlen = 0;
		}
		if (++curlen > bestlen) {
			best = cur;
			bestlen = curlen;
		}
	}
	if (bestlen < 2)
		best = -1;
	for (i = 0; i < 8; i++) {
		if (best != -1 && i >= best && i < best + bestlen) {
			if (i == best)
				*o++ = ':';
			continue;
		}
		if (i != 0)
			*o++ = ':';
		if (i == 6 && best == 0 && (bestlen == 6 || (bestlen == 5 && w[5] == 0xffff))) {
			o = put_dec(o, a[12]);
			*o++ = '.';
			o = put_dec(o, a[13]);
			*o++ = '.';
			o = put_dec(o, a[14]);
			*o++ = '.';
			o = put_dec(o, a[15]);
			break;
		}
		if (w[i] >= 0x1000)
			*o++ = hex[w[i] >> 12];
		if (w[i] >= 0x100)
			*o++ = hex[w[i] >> 8 & 0xf];
		if (w[i] >= 0x10)
			*o++ = hex[w[i] >> 4 & 0xf];
		*o++ = hex[w[i] & 0xf];
	}
	if (best != -1 && best + bestlen == 8)
		*o++ = ':';
	*o++ = '/';
	o = put_dec(o, len);
	*o = '\0';
	return (size_t)(o - out);
}

/*
 * An address or prefix. We parse it ourselves: libcidr takes 10.1/16,
 * octal and hex, and costs a third of a large list's load time. It names
 * the network when host bits are set, and tells a non-canonical address.
 */
static int
parse_net(struct parser *p, const struct tok *pt, struct gn_rule *r, gn_u128 *start, gn_u128 *end,
    int quiet)
{
	const char *pat = pt->s, *slash = NULL;
	int v6 = (pt->seen & T_COLON) != 0, maxlen = v6 ? 128 : 32, len = maxlen, rc = -1;
	size_t alen;
	CIDR *c = NULL, *n = NULL;
	char padded[8 + 64 + 1], *net = NULL;
	uint8_t a6[16];
	uint32_t a4;
	gn_u128 v, host;

	if (pt->seen & T_SLASH) {
#ifdef GN_RULES_SSE2
		/* An IPv4 prefix has its slash in its first sixteen bytes (the line's SLACK covers the load). */
		unsigned m = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(
		    _mm_loadu_si128((const __m128i *)(const void *)pat), _mm_set1_epi8('/')));

		if (m != 0 && (size_t)__builtin_ctz(m) < pt->len)
			slash = pat + __builtin_ctz(m);
		else
#endif
		slash = memchr(pat, '/', pt->len);
	}
	alen = slash ? (size_t)(slash - pat) : pt->len;
	r->kind = v6 ? GN_KIND_NET6 : GN_KIND_NET4;
	if (slash != NULL) {
		const char *d = slash + 1, *e = pat + pt->len;
		unsigned d0 = (unsigned char)d[0] - '0', d1 = (unsigned char)d[1] - '0';

		/* Decimal, no sign, no leading zero, at most maxlen; mostly one or two digits. */
		if (e - d == 1 && d0 <= 9)
			len = (int)d0;
		else if (e - d == 2 && d0 - 1 <= 8 && d1 <= 9 && (int)(d0 * 10 + d1) <= maxlen)
			len = (int)(d0 * 10 + d1);
		else if (d == e || (*d == '0' && d + 1 != e)) {
			if (!quiet)
				perr(p, "invalid prefix length in '%s'", pat);
			return -1;
		} else {
			for (len = 0; d < e; d++) {
				if (*d < '0' || *d > '9' || (len = len * 10 + (*d - '0')) > maxlen) {
					if (!quiet)
						perr(p, "invalid prefix length in '%s'", pat);
					return -1;
				}
			}
		}
	}
	if (v6 ? gn_addr_parse6(pat, alen, a6) == -1 : gn_addr_parse4(pat, alen, &a4) == -1) {
		if (quiet)
			return -1;
		/* Something inet_aton() would take is worth a sharper message. */
		if (!v6 && pad(padded, sizeof(padded), pat) == 0 &&
		    (c = cidr_from_str(padded + 8)) != NULL && cidr_get_proto(c) == CIDR_IPV4 &&
		    memchr(pat, '.', alen) != NULL)
			perr(p, "non-canonical IPv4 address '%.*s'", (int)alen, pat);
		else
			perr(p, "invalid address '%.*s'", (int)alen, pat);
		goto end;
	}
	if (v6 && len >= 96 && memcmp(a6, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0) {
		/* Lookups read ::ffff:a.b.c.d as a.b.c.d: so must the rule. */
		v6 = 0;
		maxlen = 32;
		len -= 96;
		r->kind = GN_KIND_NET4;
		a4 = (uint32_t)a6[12] << 24 | (uint32_t)a6[13] << 16 | (uint32_t)a6[14] << 8 | a6[15];
	}
	if (v6) {
		v = addr_to_u128(a6);
		host = len == 128 ? 0 : len == 0 ? ~(gn_u128)0 : ((gn_u128)1 << (128 - len)) - 1;
	} else {
		v = a4;
		host = (uint32_t)(((uint64_t)1 << (32 - len)) - 1);
	}
	if (v & host) {
		if (quiet)
			return -1;
		if (pad(padded, sizeof(padded), pat) == -1 || (c = cidr_from_str(padded + 8)) == NULL ||
		    (n = cidr_addr_network(c)) == NULL || (net = cidr_to_str(n, CIDR_NOFLAGS)) == NULL)
			p->nomem = 1;
		perr(p, "'%s' has host bits set (did you mean %s?)", pat, net ? net : "?");
		goto end;
	}
	if (!v6)
		r->pattern = a4;
	r->prefixlen = (uint8_t)len;
	*start = v;
	*end = v | host;
	rc = 0;
end:
	if (c != NULL) {	/* only after an error: no calls per rule */
		free(net);
		cidr_free(c);
		cidr_free(n);
	}
	return rc;
}

static void
add_regex(struct parser *p, const char *pat, int except, int32_t id)
{
	struct gn_table *t = p->t;
	struct gn_regex **list = except ? &t->xregex : &t->regex;
	size_t *n = except ? &t->nxregex : &t->nregex;
	PCRE2_UCHAR emsg[120];
	PCRE2_SIZE eoff;
	pcre2_code *code;
	int ecode;

	/* Whole-name match: a bypass pattern must never match by accident inside a name. */
	code = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED,
	    PCRE2_ANCHORED | PCRE2_ENDANCHORED | PCRE2_CASELESS | PCRE2_NEVER_UTF, &ecode, &eoff, NULL);
	if (code == NULL) {
		pcre2_get_error_message(ecode, emsg, sizeof(emsg));
		perr(p, "regex '%s': %s at offset %zu", pat, (char *)emsg, (size_t)eoff);
		return;
	}
	(void)pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);	/* the interpreter is the fallback */
	if (*n % 8 == 0) {
		struct gn_regex *l = realloc(*list, (*n + 8) * sizeof(*l));

		if (l == NULL) {
			pcre2_code_free(code);
			p->nomem = 1;
			return;
		}
		*list = l;
	}
	(*list)[*n].code = code;
	(*list)[*n].rule = id;
	(*n)++;
}

struct attrs {
	const char	*label, *points_to, *ports;
	size_t		 label_len, points_to_len, ports_len;
	int		 critical, action, proto;
};

/* Which attribute a key of len bytes names, or -1. */
static int
attr_index(const char *key, size_t len)
{
	switch (len) {
	case 5:
		if (memcmp(key, "label", 5) == 0)
			return 0;
		if (memcmp(key, "proto", 5) == 0)
			return 3;
		if (memcmp(key, "ports", 5) == 0)
			return 4;
		break;
	case 6:
		if (memcmp(key, "action", 6) == 0)
			return 2;
		break;
	case 8:
		if (memcmp(key, "critical", 8) == 0)
			return 1;
		break;
	case 9:
		if (memcmp(key, "points-to", 9) == 0)
			return 5;
		break;
	}
	return -1;
}

#define IS(v, n, lit)	((n) == sizeof(lit) - 1 && memcmp((v), (lit), sizeof(lit) - 1) == 0)

static int
parse_attrs(struct parser *p, int except, int argc, struct tok *tv, struct attrs *a)
{
	const char *seen[6] = { 0 };
	int i, k, bad = 0;

	memset(a, 0, sizeof(*a));
	a->critical = 1;
	a->action = GN_ACTION_BOTH;
	a->proto = -1;
	for (i = 0; i < argc; i++) {
		char *key = tv[i].s, *v;
		size_t vlen;

		if (tv[i].eq < 0) {
			perr(p, "expected attribute=value, got '%s'", key);
			bad = 1;
			continue;
		}
		key[tv[i].eq] = '\0';
		v = key + tv[i].eq + 1;
		vlen = tv[i].len - (size_t)tv[i].eq - 1;
		if ((k = attr_index(key, (size_t)tv[i].eq)) == -1) {
			perr(p, "unknown attribute '%s'", key);
			bad = 1;
			continue;
		}
		if (seen[k]) {
			perr(p, "duplicate attribute '%s'", key);
			bad = 1;
			continue;
		}
		seen[k] = v;
		if (except && k != 0) {
			perr(p, "only label is allowed on an exception, not '%s'", key);
			bad = 1;
			continue;
		}
		switch (k) {
		case 0:
			a->label = v;
			a->label_len = vlen;
			break;
		case 1:
			if (IS(v, vlen, "yes"))
				a->critical = 1;
			else if (IS(v, vlen, "no"))
				a->critical = 0;
			else {
				perr(p, "bad value '%s' for critical (yes or no)", v);
				bad = 1;
			}
			break;
		case 2:
			if (IS(v, vlen, "splice"))
				a->action = GN_ACTION_SPLICE;
			else if (IS(v, vlen, "direct"))
				a->action = GN_ACTION_DIRECT;
			else if (IS(v, vlen, "both"))
				a->action = GN_ACTION_BOTH;
			else {
				perr(p, "bad action '%s' (splice, direct or both)", v);
				bad = 1;
			}
			break;
		case 3:
			if (IS(v, vlen, "tcp"))
				a->proto = GN_PROTO_TCP;
			else if (IS(v, vlen, "udp"))
				a->proto = GN_PROTO_UDP;
			else if (IS(v, vlen, "tcp,udp") || IS(v, vlen, "udp,tcp"))
				a->proto = GN_PROTO_TCP | GN_PROTO_UDP;
			else {
				perr(p, "bad proto '%s' (tcp, udp or tcp,udp)", v);
				bad = 1;
			}
			break;
		case 4:
			a->ports = v;
			a->ports_len = vlen;
			break;
		case 5:
			a->points_to = v;
			a->points_to_len = vlen;
			break;
		}
	}
	if (!except && a->label == NULL && !bad) {
		perr(p, "missing label");
		bad = 1;
	}
	return bad ? -1 : 0;
}

/* An address attempt: what a lookup would read as one, canonical or not. */
static int
looks_like_addr(const struct tok *pt)
{
	const char *end = pt->s + pt->len, *last = end;

	if (pt->seen & (T_COLON | T_SLASH))
		return 1;
	while (last > pt->s && last[-1] != '.')
		last--;
	if (last[0] == '0' && (last[1] == 'x' || last[1] == 'X'))
		return 1;
	if (last == end)
		return 0;
	for (; last < end; last++)
		if (*last < '0' || *last > '9')
			return 0;
	return 1;
}

/*
 * Fold a rule into the digest of the list: what decides traffic, and what a
 * verdict shows. Each rule's own digest depends on nothing before it, so
 * that only one step per rule is serial.
 */
static void
digest_rule(struct parser *p, const struct gn_rule *r, const char *text, size_t len)
{
	uint64_t h = p->set_digest[r->attrs] ^ ((uint64_t)r->kind | (uint64_t)r->prefixlen << 8);

	if (r->kind == GN_KIND_NET4)
		h = digest(h, &r->pattern, sizeof(r->pattern));
	else
		h = digest(h, text, len + 1);
	h = (p->digest ^ h) * 0x9e3779b97f4a7c15ULL;
	p->digest = h ^ h >> 31;
}

/*
 * gn_arena_add() for a pattern, whose text (len bytes) already ends in a
 * NUL: most take two moves here, not a call and a memcpy.
 */
static inline uint32_t
arena_put(struct gn_arena *a, const char *s, size_t len)
{
	size_t off = a->len, n = len + 1;
	char *d = a->buf + off;

	if (n < 8 || n > 32 || a->cap - off < n || off + n >= UINT32_MAX)
		return gn_arena_add(a, s, len);
	if (n >= 16) {
		memcpy(d, s, 16);
		memcpy(d + n - 16, s + n - 16, 16);
	} else {
		memcpy(d, s, 8);
		memcpy(d + n - 8, s + n - 8, 8);
	}
	a->len += n;
	return (uint32_t)off;
}

/*
 * The rule r is valid: add it. pat is its pattern as normalised (len
 * bytes and a NUL; for an address rule, as written), start and end its
 * range when it is an address rule.
 */
static void
add_rule(struct parser *p, struct gn_rule *r, const char *pat, size_t len, gn_u128 start, gn_u128 end,
    int except, int32_t id)
{
	struct gn_table *t = p->t;
	uint8_t proto = t->attrs[r->attrs].proto;
	struct gn_rule *nr;
	const char *text;
	char buf[64];
	int32_t vc;

	text = pat;
	if (r->kind == GN_KIND_NET6) {
		uint8_t a6[16];

		u128_to_addr(start, a6);
		len = format_net6(a6, r->prefixlen, buf);
		text = buf;
	}
	if (r->kind != GN_KIND_NET4 &&
	    (r->pattern = arena_put(&t->arena, text, len)) == UINT32_MAX) {
		p->nomem = 1;
		return;
	}
	vc = id | (except ? GN_VC_EXCEPT : 0);
	if (r->kind == GN_KIND_REGEX) {
		size_t nbefore = p->nerr;

		add_regex(p, t->arena.buf + r->pattern + 1, except, id);
		if (p->nerr != nbefore)
			return;
	}
	if (r->kind == GN_KIND_NET4) {
		struct gn_pfx4 x = { (uint32_t)start, (uint32_t)end, vc, r->prefixlen, proto };

		if (add_pfx4(p, &x) == -1)
			return;
	}
	if (r->kind == GN_KIND_NET6) {
		struct gn_pfx6 x;

		memset(&x, 0, sizeof(x));
		x.start = start;
		x.end = end;
		x.vc = vc;
		x.len = r->prefixlen;
		x.proto = proto;
		if (add_pfx6(p, &x) == -1)
			return;
	}
	if (t->nrules == p->rules_cap) {
		size_t cap = gn_mem_grow(p->rules_cap * sizeof(*nr), (t->nrules + 1) * sizeof(*nr)) /
		    sizeof(*nr);

		if ((nr = gn_mem_realloc(t->rules, cap * sizeof(*nr))) == NULL) {
			p->nomem = 1;
			return;
		}
		t->rules = nr;
		p->rules_cap = cap;
	}
	t->rules[t->nrules++] = *r;
	digest_rule(p, r, text, len);
}

/*
 * A rule line: tv[0] is "except" when except says so (the caller looked);
 * net is looks_like_addr() of the pattern when the caller knows it, else -1.
 */
static void
parse_rule(struct parser *p, int argc, struct tok *tv, struct aref *ar, int except, int net)
{
	struct gn_table *t = p->t;
	struct gn_port_range ports[MAX_PORTS];
	struct gn_attrs set;
	struct gn_rule r;
	struct attrs a;
	gn_u128 start = 0, end = 0;
	uint32_t ports_text = 0;
	struct tok *pt;
	char *pat;
	size_t n;
	int bad = 0, nports = 0;
	int32_t id = (int32_t)t->nrules;

	if (except) {
		argc--, tv++;
		if (argc == 0) {
			perr(p, "missing pattern");
			return;
		}
	}
	pt = &tv[0];
	pat = pt->s;
	if (pt->eq >= 0) {
		perr(p, "missing pattern");
		return;
	}
	memset(&r, 0, sizeof(r));
	memset(&set, 0, sizeof(set));
	r.line = p->line;
	r.file = p->fileidx;
	if (ar != NULL && ar->hit) {
		/* Valid before, with the same except and kind of pattern: the same set. */
		memset(&a, 0, sizeof(a));
		a.proto = ar->e->proto;
		r.attrs = ar->e->attrs;
	} else if (parse_attrs(p, except, argc - 1, tv + 1, &a) == -1)
		bad = 1;

	if (pat[0] == '~') {
		r.kind = GN_KIND_REGEX;
		if (pat[1] == '\0') {
			perr(p, "empty regex");
			bad = 1;
		}
	} else if (pt->seen & T_STAR) {
		r.kind = GN_KIND_DOMAIN;
		if (pat[0] != '*' || pat[1] != '.' || (n = norm_name(pat + 2, pt->len - 2)) == 0) {
			perr(p, "invalid wildcard '%s' (write *.example.com)", pat);
			bad = 1;
		} else
			pt->len = (uint32_t)n + 2;
	} else if (net >= 0 ? net : looks_like_addr(pt)) {
		if (parse_net(p, pt, &r, &start, &end, 0) == -1)
			bad = 1;
	} else {
		r.kind = GN_KIND_HOST;
		if ((n = norm_name(pat, pt->len)) == 0) {
			perr(p, "invalid host name '%s'", pat);
			bad = 1;
		} else
			pt->len = (uint32_t)n;
	}
	if (a.proto != -1 && r.kind != GN_KIND_NET4 && r.kind != GN_KIND_NET6) {
		perr(p, "proto applies to address rules only");
		bad = 1;
	}
	if (a.ports != NULL && (nports = parse_ports(p, a.ports, ports)) == -1)
		bad = 1;
	if (bad)
		return;
	if (t->nrules >= GN_VC_EXCEPT) {
		perr(p, "too many rules");
		return;
	}
	if (ar != NULL && ar->hit)
		goto pattern;

	set.flags = (uint8_t)((except ? GN_RULE_EXCEPT : 0) | (a.critical && !except ? GN_RULE_CRITICAL : 0));
	set.action = (uint8_t)(except ? 0 : a.action);
	if (r.kind == GN_KIND_NET4 || r.kind == GN_KIND_NET6)
		set.proto = (uint8_t)(a.proto == -1 ? (GN_PROTO_TCP | GN_PROTO_UDP) : a.proto);
	set.nports = (uint8_t)nports;
	if (a.label == NULL) {
		a.label = "";
		a.label_len = 0;
	}
	if ((set.label = intern(p, a.label, a.label_len)) == UINT32_MAX ||
	    (a.points_to && (set.points_to = intern(p, a.points_to, a.points_to_len)) == UINT32_MAX) ||
	    (a.ports && (ports_text = intern(p, a.ports, a.ports_len)) == UINT32_MAX) ||
	    (r.attrs = intern_attrs(p, &set, ports_text, ports, a.label_len)) == UINT32_MAX) {
		p->nomem = 1;
		return;
	}
	if (ar != NULL && ar->e != NULL) {
		ar->e->hash = ar->hash;
		ar->e->attrs = r.attrs;
		ar->e->proto = (int8_t)a.proto;
		ar->e->key = ar->key;
		ar->e->len = ar->len;
		memcpy(ar->e->text, ar->raw, ar->len);
	}
pattern:
	add_rule(p, &r, pat, pt->len, start, end, except, id);
}

/*
 * A rule line whose attribute text is a cache hit (argc is except + 1):
 * its pattern alone is left to check. Anything wrong, or out of the
 * ordinary, goes to parse_rule(), which says what; nothing here has
 * changed the line then.
 */
static void
parse_hit(struct parser *p, int argc, struct tok *tv, struct aref *ar, int except, int net)
{
	struct tok *pt = &tv[except];
	char *pat = pt->s;
	struct gn_rule r;
	gn_u128 start = 0, end = 0;
	size_t n;

	if (pat[0] == '~' || (ar->e->proto != -1 && !net) || p->t->nrules >= GN_VC_EXCEPT)
		goto slow;
	memset(&r, 0, sizeof(r));
	r.line = p->line;
	r.file = p->fileidx;
	r.attrs = ar->e->attrs;
	if (pt->seen & T_STAR) {
		if (pat[0] != '*' || pat[1] != '.' || (n = norm_name(pat + 2, pt->len - 2)) == 0)
			goto slow;
		r.kind = GN_KIND_DOMAIN;
		pt->len = (uint32_t)n + 2;
	} else if (net) {
		if (parse_net(p, pt, &r, &start, &end, 1) == -1)
			goto slow;
	} else {
		if ((n = norm_name(pat, pt->len)) == 0)
			goto slow;
		r.kind = GN_KIND_HOST;
		pt->len = (uint32_t)n;
	}
	add_rule(p, &r, pat, pt->len, start, end, except, (int32_t)p->t->nrules);
	return;
slow:
	parse_rule(p, argc, tv, ar, except, net);
}

static void
reader_init(struct reader *r, int fd, const char *mem, size_t memlen)
{
	memset(r, 0, sizeof(*r));
	r->fd = fd;
	r->mem = mem;
	r->memlen = memlen;
	r->nulat = SIZE_MAX;
	/* Zeroed, so that what a vector load reads past the data is always defined. */
	if ((r->buf = calloc(1, READ_CHUNK)) == NULL)
		r->error = ENOMEM;
	else
		r->cap = READ_CHUNK;
}

static void
reader_free(struct reader *r)
{
	free(r->buf);
	r->buf = NULL;
}

/*
 * The next line, its newline (if it has one: *nl) replaced by a NUL; NULL
 * at the end of the input or once reading failed (r->error). *nul says
 * whether the line holds a NUL byte: the reader knows where the next one
 * in its buffer is, so a line is scanned only for its newline (by memchr,
 * which is vector code in any libc worth the name).
 */
static char *
reader_line(struct reader *r, size_t *len, int *nl, int *nul)
{
	size_t scanned = 0, room, e;
	char *line, *c;
	ssize_t n;

	if (r->buf == NULL)
		return NULL;
	for (;;) {
		line = r->buf + r->pos;
		if (r->nulat + 1 <= r->pos)	/* behind us, or SIZE_MAX: not known */
			r->nulat = (c = memchr(line, '\0', r->end - r->pos)) != NULL ?
			    (size_t)(c - r->buf) : r->end;
		if ((c = memchr(line + scanned, '\n', r->end - r->pos - scanned)) != NULL) {
			e = (size_t)(c - line);
			*c = '\0';
			*len = e;
			*nl = 1;
			*nul = r->nulat < r->pos + e;
			r->pos += e + 1;
			return line;
		}
		scanned = r->end - r->pos;
		if (r->eof || r->error) {
			if (scanned == 0 || r->error)
				return NULL;
			line[scanned] = '\0';	/* reading always leaves SLACK bytes for this */
			*len = scanned;
			*nl = 0;
			*nul = r->nulat < r->end;
			r->pos = r->end;
			return line;
		}
		/* Keep the start of the line, make room after it, read on. */
		if (r->pos > 0) {
			memmove(r->buf, line, scanned);
			r->pos = 0;
			r->end = scanned;
		}
		if (r->cap - r->end < READ_CHUNK / 2) {
			size_t cap = r->cap * 2;
			char *b = realloc(r->buf, cap);

			if (b == NULL) {
				r->error = ENOMEM;
				return NULL;
			}
			memset(b + r->cap, 0, cap - r->cap);
			r->buf = b;
			r->cap = cap;
		}
		room = r->cap - r->end - SLACK;
		if (r->fd == -1) {
			n = (ssize_t)(r->memlen < room ? r->memlen : room);
			memcpy(r->buf + r->end, r->mem, (size_t)n);
			r->mem += n;
			r->memlen -= (size_t)n;
		} else if ((n = read(r->fd, r->buf + r->end, room)) == -1) {
			if (errno != EINTR)
				r->error = errno;
			continue;
		}
		if (n == 0)
			r->eof = 1;
		r->end += (size_t)n;
		r->nulat = SIZE_MAX;	/* bytes moved or came in */
	}
}

static void
parse_include(struct parser *p, const char *path)
{
	char *full = NULL, *dir = NULL, *real = NULL;
	const char *saved_file = p->file;
	unsigned saved_line = p->line;
	uint16_t saved_idx = p->fileidx;
	struct reader r;
	int fd = -1, i;

	if (path[0] != '/') {
		if ((dir = strdup(p->file)) == NULL ||
		    asprintf(&full, "%s/%s", dirname(dir), path) == -1) {
			full = NULL;
			p->nomem = 1;
			goto end;
		}
		path = full;
	}
	if (p->depth == MAX_DEPTH) {
		perr(p, "includes nested too deep (limit %d)", MAX_DEPTH);
		goto end;
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		perr(p, "cannot open '%s': %s", path, strerror(errno));
		goto end;
	}
	if ((real = realpath(path, NULL)) != NULL) {
		for (i = 0; i <= p->depth; i++)
			if (p->open[i] != NULL && strcmp(p->open[i], real) == 0) {
				perr(p, "include loop: '%s'", path);
				goto end;
			}
	}
	if (p->t->nfiles == UINT16_MAX) {
		perr(p, "too many files");
		goto end;
	}
	{
		char **files = realloc(p->t->files, (p->t->nfiles + 1) * sizeof(*files));

		if (files == NULL || (files[p->t->nfiles] = strdup(path)) == NULL) {
			if (files)
				p->t->files = files;
			p->nomem = 1;
			goto end;
		}
		p->t->files = files;
		p->fileidx = (uint16_t)p->t->nfiles++;
	}
	p->file = p->t->files[p->fileidx];
	p->open[++p->depth] = real;
	real = NULL;
	reader_init(&r, fd, NULL, 0);
	parse_stream(p, &r, 1);
	reader_free(&r);
	free(p->open[p->depth]);
	p->open[p->depth--] = NULL;
end:
	p->file = saved_file;
	p->line = saved_line;
	p->fileidx = saved_idx;
	if (fd != -1)
		close(fd);
	free(real);
	free(full);
	free(dir);
}

/*
 * Where to look for an attribute text: sixteen bytes a step in two lanes,
 * half digest()'s chain of multiplies (the compare decides anyway).
 */
static uint32_t
acache_hash(unsigned key, const char *s, size_t len)
{
	uint64_t h1 = key | (uint64_t)len << 8, h2 = 0x9e3779b97f4a7c15ULL, w1, w2;
	size_t i;

	if (len < 16)
		return (uint32_t)(digest(h1, s, len) >> 32);
	for (i = 0; i + 16 < len; i += 16) {
		memcpy(&w1, s + i, 8);
		memcpy(&w2, s + i + 8, 8);
		h1 = (h1 ^ w1) * 0x9e3779b97f4a7c15ULL;
		h2 = (h2 ^ w2) * 0xc2b2ae3d27d4eb4fULL;
	}
	/* The last sixteen bytes, which may overlap the ones before. */
	memcpy(&w1, s + len - 16, 8);
	memcpy(&w2, s + len - 8, 8);
	h1 = (h1 ^ w1) * 0x9e3779b97f4a7c15ULL;
	h2 = (h2 ^ w2) * 0xc2b2ae3d27d4eb4fULL;
	h1 ^= h1 >> 29 ^ h2 ^ h2 >> 32;
	return (uint32_t)(h1 * 0xff51afd7ed558ccdULL >> 32);
}

/*
 * Is an entry's text the len bytes (at most ACACHE_TEXT) at rem? With
 * SSE2 without a call: the entry's text field holds sixteen bytes even
 * when len is less, the last load ends at len, and rem is in a line, which
 * has SLACK bytes after its NUL.
 */
static inline int
acache_eq(const struct acache *e, const char *rem, size_t len)
{
#ifdef GN_RULES_SSE2
	size_t i;

	if (len < 16)
		return ((unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(
		    _mm_loadu_si128((const __m128i *)(const void *)e->text),
		    _mm_loadu_si128((const __m128i *)(const void *)rem))) | ~0u << len) == ~0u;
	for (i = 0; i + 16 < len; i += 16)
		if (_mm_movemask_epi8(_mm_cmpeq_epi8(
		    _mm_loadu_si128((const __m128i *)(const void *)(e->text + i)),
		    _mm_loadu_si128((const __m128i *)(const void *)(rem + i)))) != 0xffff)
			return 0;
	return _mm_movemask_epi8(_mm_cmpeq_epi8(
	    _mm_loadu_si128((const __m128i *)(const void *)(e->text + len - 16)),
	    _mm_loadu_si128((const __m128i *)(const void *)(rem + len - 16)))) == 0xffff;
#else
	return memcmp(e->text, rem, len) == 0;
#endif
}

/*
 * The entry for a rule's attribute text, rem (len bytes, as written): a hit,
 * or where to keep it once it parses; ar->e is NULL when it cannot be kept.
 */
static void
acache_find(struct parser *p, struct aref *ar, int except, int net, const char *rem, size_t len)
{
	struct acache *e;

	memset(ar, 0, offsetof(struct aref, raw));
	if (len > ACACHE_TEXT)
		return;
	if (p->acache == NULL && (p->acache = gn_mem_alloc(ACACHE_SIZE * sizeof(*p->acache))) == NULL)
		return;		/* only slower */
	ar->key = (uint8_t)(1 + except + 2 * net);
	ar->len = (uint8_t)len;
	ar->hash = acache_hash(ar->key, rem, len);
	e = &p->acache[ar->hash & (ACACHE_SIZE - 1)];
	ar->e = e;
	if (e->key == ar->key && e->hash == ar->hash && e->len == len && acache_eq(e, rem, len))
		ar->hit = 1;
	else
		memcpy(ar->raw, rem, len);
}

static void
parse_line(struct parser *p, char *line, size_t linelen)
{
	struct tok tv[MAX_TOKENS];
	struct aref ar, *arp = NULL;
	char *s = line, *e;
	unsigned c, seen = 0;
	int32_t eq = -1;
	int argc, except;

	/*
	 * The pattern first (after except): most attribute texts were seen
	 * before. A first word without quotes is taken here as tokenize()
	 * would take it.
	 */
	c = (unsigned char)line[0];
	if (!(tclass[c] & (T_END | T_SPACE | T_QUOTE)) && c != '#' &&
	    tclass[(unsigned char)*(e = scan_word(line, &seen, &eq))] != T_QUOTE) {
		tv[0].s = line;
		tv[0].len = (uint32_t)(e - line);
		tv[0].eq = eq;
		tv[0].seen = seen;
		s = *e != '\0' ? e + 1 : e;
		*e = '\0';
		argc = 1;
	} else if ((argc = tokenize(p, &s, tv, 0, 1)) <= 0)
		return;
	except = IS(tv[0].s, tv[0].len, "except");
	if (except && (argc = tokenize(p, &s, tv, 1, 2)) == -1)
		return;
	if (argc == except + 1 && tv[except].eq < 0 && !IS(tv[0].s, tv[0].len, "version") &&
	    !IS(tv[0].s, tv[0].len, "include")) {
		const struct tok *pt = &tv[except];
		int net = pt->s[0] != '~' && !(pt->seen & T_STAR) && looks_like_addr(pt);

		acache_find(p, &ar, except, net, s, (size_t)(line + linelen - s));
		arp = &ar;
		if (ar.hit) {
			parse_hit(p, argc, tv, arp, except, net);
			return;
		}
	}
	if ((argc = tokenize(p, &s, tv, argc, INT_MAX)) == -1)
		return;
	if (IS(tv[0].s, tv[0].len, "version")) {
		size_t n = 0;
		int i;
		char *v;

		if (argc < 2) {
			perr(p, "version needs a value");
			return;
		}
		if (p->version_at != NULL) {
			perr(p, "version given twice (first at %s)", p->version_at);
			return;
		}
		for (i = 1; i < argc; i++)
			n += tv[i].len + 1;
		if ((v = malloc(n)) == NULL || asprintf(&p->version_at, "%s:%u", p->file, p->line) == -1) {
			free(v);
			p->version_at = NULL;
			p->nomem = 1;
			return;
		}
		for (n = 0, i = 1; i < argc; i++) {
			memcpy(v + n, tv[i].s, tv[i].len);
			n += tv[i].len;
			v[n++] = i + 1 < argc ? ' ' : '\0';
		}
		p->t->version = v;
		return;
	}
	if (IS(tv[0].s, tv[0].len, "include")) {
		if (argc != 2) {
			perr(p, argc < 2 ? "include needs a path" : "include takes one path");
			return;
		}
		parse_include(p, tv[1].s);
		return;
	}
	parse_rule(p, argc, tv, arp, except, -1);
}

/*
 * file says the stream is a file on disk: there a last line without its
 * newline is most likely a write cut short (an editor saving, a copy in
 * progress), and a cut line can still parse, as an exception that lost its
 * tail. Refusing it keeps the rules in force.
 */
static void
parse_stream(struct parser *p, struct reader *r, int file)
{
	char *line;
	size_t n;
	int nl, nul;

	for (p->line = 1; (line = reader_line(r, &n, &nl, &nul)) != NULL; p->line++) {
		if (nul) {
			perr(p, "NUL byte in line");
			continue;
		}
		if (file && !nl) {
			perr(p, "last line has no newline (file cut short?)");
			continue;
		}
		parse_line(p, line, n);
	}
	if (r->error == ENOMEM)
		p->nomem = 1;
	else if (r->error != 0)
		perr(p, "read error: %s", strerror(r->error));
}

/*
 * Room for the arrays a text of size bytes can fill, reserved, not used: a
 * rule line takes at least about sixteen bytes, an address one more. The
 * arrays then grow in place, in small steps, so that they are never copied
 * nor held twice, and what is faulted in stays close to what is used. No
 * room (no address space) only makes them slower; included files grow them
 * past it.
 */
static void
reserve(struct parser *p, size_t size)
{
	struct gn_table *t = p->t;

	size = size < SIZE_MAX / 4 ? size : SIZE_MAX / 4;
	t->rules = gn_mem_reserve(0, size / 16 * sizeof(*t->rules));
	p->pfx4 = gn_mem_reserve(0, size / 16 * sizeof(*p->pfx4));
	p->pfx6 = gn_mem_reserve(0, size / 24 * sizeof(*p->pfx6));
}

static struct gn_table *
load(const char *name, struct reader *r, size_t size, int file, struct gn_diag *diag)
{
	struct parser p;
	struct gn_table *t;
	struct gn_rule *nr;
	int ok = 0;

	memset(&p, 0, sizeof(p));
	p.digest = DIGEST_SEED;
	if ((t = gn_table_new(size)) == NULL)
		goto end;
	p.t = t;
	reserve(&p, size);
	p.diag = diag;
	if ((t->files = malloc(sizeof(*t->files))) == NULL || (t->files[0] = strdup(name)) == NULL)
		goto end;
	t->nfiles = 1;
	p.file = t->files[0];
	p.open[0] = realpath(name, NULL);
	parse_stream(&p, r, file);
	if (p.nomem || p.nerr > 0)
		goto end;
	/* The scratch goes before the tables are built: it would only raise the peak. */
	reader_free(r);
	/*
	 * Give back the room the rules had to grow (in place: no copy). Not
	 * the prefixes': they are gone once the address tables are made, the
	 * IPv4 ones' block becoming the IPv4 table.
	 */
	if (t->rules != NULL && (nr = gn_mem_realloc(t->rules, t->nrules * sizeof(*nr))) != NULL)
		t->rules = nr;
	free(p.strs.slots);
	free(p.sets.slots);
	free(p.set_ports);
	free(p.set_digest);
	gn_mem_free(p.acache);
	p.acache = NULL;
	memset(&p.strs, 0, sizeof(p.strs));
	memset(&p.sets, 0, sizeof(p.sets));
	p.set_ports = NULL;
	p.set_digest = NULL;
	t->digest = p.digest;
	if (gn_table_finish(t, &p.pfx4, p.npfx4, &p.pfx6, p.npfx6, diag) == -1)
		goto end;
	ok = 1;
end:
	if (p.nomem)
		gn_diag_add(diag, 0, "%s: out of memory", name);
	free(p.open[0]);
	free(p.version_at);
	free(p.strs.slots);
	gn_mem_free(p.pfx4);
	gn_mem_free(p.pfx6);
	free(p.sets.slots);
	free(p.set_ports);
	free(p.set_digest);
	gn_mem_free(p.acache);
	if (!ok) {
		gn_table_free(t);
		t = NULL;
	}
	return t;
}

struct gn_table *
gn_table_load(const char *path, struct gn_diag *diag)
{
	struct gn_table *t;
	struct reader r;
	struct stat st;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		gn_diag_add(diag, 0, "%s: cannot open: %s", path, strerror(errno));
		return NULL;
	}
	reader_init(&r, fd, NULL, 0);
	/* The size only sizes room (a file that grows meanwhile still loads). */
	t = load(path, &r, fstat(fd, &st) == 0 && S_ISREG(st.st_mode) ? (size_t)st.st_size : 0, 1,
	    diag);
	reader_free(&r);
	close(fd);
	return t;
}

struct gn_table *
gn_table_load_buffer(const char *name, const char *buf, size_t len, struct gn_diag *diag)
{
	struct gn_table *t;
	struct reader r;

	reader_init(&r, -1, buf, len);
	t = load(name, &r, len, 0, diag);
	reader_free(&r);
	return t;
}
