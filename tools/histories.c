/*
 * histories.c: the lincheck tool's readers of history files (histories.h):
 * a strict parser for lincheck's JSON lines, and one for the EDN maps of
 * Jepsen's register histories, over one line reader that checks what every
 * line must be (no NUL byte, UTF-8).
 */
#include "tools/histories.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lincheck/utf8.h"

/* ---- JSON lines of key/value operations ---- */

struct record {
	size_t line;
	int client;
	int64_t call, ret;
	struct lin_kv_input in;
	struct lin_kv_output out;
};

struct kv_records {
	struct record *recs;
	size_t n, cap;
};

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p) {
		fputs("lincheck: out of memory\n", stderr);
		exit(3); /* the tool's status for bad input */
	}
	return p;
}

static void record_free(struct record *r)
{
	free((char *)r->in.key);
	free((char *)r->in.value);
	free((char *)r->out.value);
}

static void kv_records_free(struct kv_records *h)
{
	for (size_t i = 0; i < h->n; i++)
		record_free(&h->recs[i]);
	free(h->recs);
}

/* ---- a strict parser for one line ---- */

struct parser {
	const char *start; /* the line */
	const char *p;
	char err[200]; /* the first error, "" if none */
};

static __attribute__((format(printf, 2, 3))) bool fail(struct parser *ps,
                                                       const char *fmt, ...)
{
	if (ps->err[0])
		return false;
	int col = (int)(ps->p - ps->start) + 1;
	int n = snprintf(ps->err, sizeof ps->err, "column %d: ", col);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(ps->err + n, sizeof ps->err - (size_t)n, fmt, ap);
	va_end(ap);
	return false;
}

static void skip_space(struct parser *ps)
{
	while (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\r')
		ps->p++;
}

static bool expect(struct parser *ps, char c)
{
	skip_space(ps);
	if (*ps->p != c) {
		if (*ps->p == 0)
			return fail(ps,
			            "expected '%c', found the end of the line",
			            c);
		return fail(ps, "expected '%c', found '%c'", c, *ps->p);
	}
	ps->p++;
	return true;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static bool parse_hex4(struct parser *ps, unsigned *out)
{
	unsigned v = 0;
	for (int i = 0; i < 4; i++) {
		int d = hex_digit(ps->p[i]);
		if (d < 0)
			return fail(ps, "\\u needs four hex digits");
		v = v * 16 + (unsigned)d;
	}
	ps->p += 4;
	*out = v;
	return true;
}

/* Appends code point cp as UTF-8. */
static size_t put_utf8(char *d, unsigned cp)
{
	if (cp < 0x80) {
		d[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		d[0] = (char)(0xc0 | cp >> 6);
		d[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		d[0] = (char)(0xe0 | cp >> 12);
		d[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		d[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	d[0] = (char)(0xf0 | cp >> 18);
	d[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	d[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	d[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* A JSON string, decoded into a new malloc'd string. An escape never
 * decodes to more bytes than it takes, so the line's length bounds it. */
static bool parse_string(struct parser *ps, char **out)
{
	if (!expect(ps, '"'))
		return false;
	char *s = xrealloc(NULL, strlen(ps->p) + 1);
	size_t n = 0;
	for (;;) {
		unsigned char c = (unsigned char)*ps->p;
		if (c == '"') {
			ps->p++;
			break;
		}
		if (c == 0) {
			free(s);
			return fail(ps, "unterminated string");
		}
		if (c < 0x20) {
			free(s);
			return fail(ps, "control character in a string");
		}
		if (c != '\\') {
			s[n++] = (char)c;
			ps->p++;
			continue;
		}
		ps->p++;
		char e = *ps->p++;
		unsigned cp;
		switch (e) {
		case '"':
		case '\\':
		case '/':
			s[n++] = e;
			break;
		case 'b':
			s[n++] = '\b';
			break;
		case 'f':
			s[n++] = '\f';
			break;
		case 'n':
			s[n++] = '\n';
			break;
		case 'r':
			s[n++] = '\r';
			break;
		case 't':
			s[n++] = '\t';
			break;
		case 'u':
			if (!parse_hex4(ps, &cp))
				goto bad;
			if (cp >= 0xdc00 && cp <= 0xdfff) {
				fail(ps, "lone low surrogate \\u%04x", cp);
				goto bad;
			}
			if (cp >= 0xd800 && cp <= 0xdbff) {
				unsigned lo;
				if (ps->p[0] != '\\' || ps->p[1] != 'u') {
					fail(ps,
					     "high surrogate \\u%04x without "
					     "its low half",
					     cp);
					goto bad;
				}
				ps->p += 2;
				if (!parse_hex4(ps, &lo))
					goto bad;
				if (lo < 0xdc00 || lo > 0xdfff) {
					fail(ps, "bad low surrogate \\u%04x",
					     lo);
					goto bad;
				}
				cp = 0x10000 + ((cp - 0xd800) << 10) +
				     (lo - 0xdc00);
			}
			if (cp == 0) {
				fail(ps, "\\u0000 is not supported");
				goto bad;
			}
			n += put_utf8(s + n, cp);
			break;
		default:
			ps->p--;
			if (e == 0)
				fail(ps, "unterminated string");
			else
				fail(ps, "bad escape '\\%c'", e);
			goto bad;
		}
	}
	s[n] = 0;
	*out = s;
	return true;
bad:
	free(s);
	return false;
}

/* A JSON integer (no fraction, no exponent) within [min, max]. */
static bool parse_int(struct parser *ps, const char *field, int64_t min,
                      int64_t max, int64_t *out)
{
	skip_space(ps);
	const char *p = ps->p;
	bool neg = *p == '-';
	if (neg)
		p++;
	if (*p < '0' || *p > '9')
		return fail(ps, "%s must be an integer", field);
	if (*p == '0' && p[1] >= '0' && p[1] <= '9')
		return fail(ps, "%s: leading zeros are not allowed", field);
	/* Accumulate negatively: the range of int64_t is asymmetric. */
	int64_t v = 0;
	for (; *p >= '0' && *p <= '9'; p++) {
		int d = *p - '0';
		if (v < (INT64_MIN + d) / 10)
			return fail(ps, "%s is out of range", field);
		v = v * 10 - d;
	}
	if (*p == '.' || *p == 'e' || *p == 'E')
		return fail(ps, "%s must be an integer", field);
	if (!neg) {
		if (v == INT64_MIN)
			return fail(ps, "%s is out of range", field);
		v = -v;
	}
	if (v < min || v > max)
		return fail(ps, "%s is out of range", field);
	ps->p = p;
	*out = v;
	return true;
}

enum field {
	F_CLIENT,
	F_CALL,
	F_RETURN,
	F_OP,
	F_KEY,
	F_VALUE,
	F_OUTPUT,
	NFIELDS
};

static const char *const field_names[NFIELDS] = {
        "client", "call", "return", "op", "key", "value", "output",
};

static bool parse_field(struct parser *ps, enum field f, struct record *r)
{
	int64_t v;
	char *s = NULL;
	switch (f) {
	case F_CLIENT:
		if (!parse_int(ps, "client", INT32_MIN, INT32_MAX, &v))
			return false;
		r->client = (int)v;
		return true;
	case F_CALL:
		return parse_int(ps, "call", INT64_MIN, INT64_MAX, &r->call);
	case F_RETURN:
		return parse_int(ps, "return", INT64_MIN, INT64_MAX, &r->ret);
	case F_OP: {
		const char *at = ps->p;
		if (!parse_string(ps, &s))
			return false;
		if (strcmp(s, "get") == 0)
			r->in.op = LIN_KV_GET;
		else if (strcmp(s, "put") == 0)
			r->in.op = LIN_KV_PUT;
		else if (strcmp(s, "append") == 0)
			r->in.op = LIN_KV_APPEND;
		else
			r->in.op = -1;
		free(s);
		if (r->in.op < 0) {
			ps->p = at;
			skip_space(ps);
			return fail(ps, "op must be \"get\", \"put\" or "
			                "\"append\"");
		}
		return true;
	}
	case F_KEY:
		return parse_string(ps, (char **)&r->in.key);
	case F_VALUE:
		return parse_string(ps, (char **)&r->in.value);
	case F_OUTPUT:
		if (!parse_string(ps, (char **)&r->out.value))
			return false;
		r->out = lin_kv_output_str(r->out.value);
		return true;
	default:
		return false;
	}
}

/* Parses one operation; on failure ps->err says why. */
static bool parse_record(struct parser *ps, struct record *r)
{
	bool seen[NFIELDS] = {false};
	if (!expect(ps, '{'))
		return false;
	skip_space(ps);
	if (*ps->p == '}')
		return fail(ps, "empty object");
	for (;;) {
		skip_space(ps);
		const char *at = ps->p;
		char *name;
		if (!parse_string(ps, &name))
			return false;
		int f = 0;
		while (f < NFIELDS && strcmp(name, field_names[f]) != 0)
			f++;
		if (f == NFIELDS || seen[f]) {
			ps->p = at;
			fail(ps, "%s field \"%.40s\"",
			     f == NFIELDS ? "unknown" : "duplicate", name);
			free(name);
			return false;
		}
		free(name);
		seen[f] = true;
		if (!expect(ps, ':') || !parse_field(ps, (enum field)f, r))
			return false;
		skip_space(ps);
		if (*ps->p == ',') {
			ps->p++;
			continue;
		}
		if (!expect(ps, '}'))
			return false;
		break;
	}
	skip_space(ps);
	if (*ps->p != 0)
		return fail(ps, "unexpected text after the object");

	for (int f = F_CLIENT; f <= F_KEY; f++)
		if (!seen[f])
			return fail(ps, "missing field \"%s\"", field_names[f]);
	if (r->in.op != LIN_KV_GET && !seen[F_VALUE])
		return fail(ps, "%s needs a \"value\"",
		            r->in.op == LIN_KV_PUT ? "put" : "append");
	if (r->in.op == LIN_KV_GET && !seen[F_OUTPUT])
		return fail(ps, "get needs an \"output\"");
	if (r->ret < r->call)
		return fail(ps,
		            "return (%" PRId64 ") is before call (%" PRId64 ")",
		            r->ret, r->call);
	return true;
}

/* The offset of the first byte of s that is not well-formed UTF-8 (RFC
 * 3629: no overlong forms, no surrogates, nothing above U+10FFFF), or -1. */
static long invalid_utf8_at(const char *s)
{
	size_t n = strlen(s);
	for (size_t at = 0; at < n;) {
		size_t len = utf8_length((const unsigned char *)s + at, n - at);
		if (len == 0)
			return (long)at;
		at += len;
	}
	return -1;
}

static bool blank(const char *line)
{
	for (; *line; line++)
		if (*line != ' ' && *line != '\t' && *line != '\r')
			return false;
	return true;
}

/* ---- lines ---- */

/* Calls parse(ctx, &ps) with a parser on each line of f that is not blank.
 * Returns false, having printed why, at the first bad line. */
static bool read_lines(const char *path, FILE *f,
                       bool (*parse)(void *ctx, struct parser *ps,
                                     size_t lineno),
                       void *ctx)
{
	char *line = NULL;
	size_t cap = 0, lineno = 0;
	ssize_t len;
	bool ok = true;
	while ((len = getline(&line, &cap, f)) >= 0) {
		lineno++;
		if (strlen(line) != (size_t)len) {
			fprintf(stderr, "lincheck: %s:%zu: NUL byte in line\n",
			        path, lineno);
			ok = false;
			break;
		}
		if (len > 0 && line[len - 1] == '\n')
			line[len - 1] = 0;
		long bad = invalid_utf8_at(line);
		if (bad >= 0) {
			fprintf(stderr,
			        "lincheck: %s:%zu: column %ld: invalid UTF-8 "
			        "(byte 0x%02x): the history must be UTF-8 "
			        "text\n",
			        path, lineno, bad + 1,
			        (unsigned char)line[bad]);
			ok = false;
			break;
		}
		if (blank(line))
			continue;
		struct parser ps = {.start = line, .p = line};
		if (!parse(ctx, &ps, lineno)) {
			fprintf(stderr, "lincheck: %s:%zu: %s\n", path, lineno,
			        ps.err);
			ok = false;
			break;
		}
	}
	if (ok && ferror(f)) {
		fprintf(stderr, "lincheck: %s: read error: %s\n", path,
		        strerror(errno));
		ok = false;
	}
	free(line);
	return ok;
}

static bool parse_jsonl_line(void *ctx, struct parser *ps, size_t lineno)
{
	struct kv_records *h = ctx;
	struct record r = {.line = lineno};
	if (!parse_record(ps, &r)) {
		record_free(&r);
		return false;
	}
	if (h->n == h->cap) {
		h->cap = h->cap ? 2 * h->cap : 64;
		h->recs = xrealloc(h->recs, h->cap * sizeof *h->recs);
	}
	h->recs[h->n++] = r;
	return true;
}

/* ---- Jepsen's EDN register histories ---- */

/*
 * One line is one map, e.g. {:process 0, :type :invoke, :f :cas, :value
 * [1 2]}. Of its keys, :process (an integer; another value, such as
 * :nemesis, is not a client and its lines are skipped), :type, :f and
 * :value are read and any other is skipped whole (:time, :index, :error,
 * ...). Commas are white space, as everywhere in EDN.
 */
enum edn_type { T_INVOKE, T_OK, T_FAIL, T_INFO };
enum edn_value_kind { V_NONE, V_NIL, V_INT, V_PAIR, V_OTHER };

struct edn_line {
	size_t line;
	bool client;
	int64_t process;
	enum edn_type type;
	int f; /* LIN_REG_READ, LIN_REG_WRITE or LIN_REG_CAS */
	enum edn_value_kind kind;
	int64_t v[2];
};

struct edn_lines {
	struct edn_line *l;
	size_t n, cap;
};

static void edn_space(struct parser *ps)
{
	for (;;) {
		char c = *ps->p;
		if (c == ' ' || c == '\t' || c == '\r' || c == ',') {
			ps->p++;
		} else if (c == ';') { /* a comment, to the end of the line */
			ps->p += strlen(ps->p);
		} else {
			return;
		}
	}
}

static bool edn_delimiter(char c)
{
	return c == 0 || strchr(" \t\r,;{}[]()\"", c) != NULL;
}

/* A bare token (keyword, symbol, number): its text, up to a delimiter. */
static size_t edn_token(struct parser *ps, const char **start)
{
	*start = ps->p;
	while (!edn_delimiter(*ps->p))
		ps->p++;
	return (size_t)(ps->p - *start);
}

/* Skips one value of any kind. */
static bool edn_skip(struct parser *ps, int depth)
{
	edn_space(ps);
	char c = *ps->p;
	if (depth > 64)
		return fail(ps, "values nested too deep");
	if (c == '"') {
		for (ps->p++; *ps->p && *ps->p != '"'; ps->p++)
			if (*ps->p == '\\' && ps->p[1])
				ps->p++;
		if (!*ps->p)
			return fail(ps, "unterminated string");
		ps->p++;
		return true;
	}
	char close = c == '{' ? '}' : c == '[' ? ']' : c == '(' ? ')' : 0;
	if (c == '#' && ps->p[1] == '{') { /* a set */
		ps->p++;
		close = '}';
	}
	if (close) {
		ps->p++;
		for (;;) {
			edn_space(ps);
			if (*ps->p == close) {
				ps->p++;
				return true;
			}
			if (!*ps->p)
				return fail(ps,
				            "expected '%c', found the end "
				            "of the line",
				            close);
			if (!edn_skip(ps, depth + 1))
				return false;
		}
	}
	const char *t;
	if (edn_token(ps, &t) > 0)
		return true;
	if (c == 0)
		return fail(ps, "expected a value, found the end of the line");
	return fail(ps, "unexpected '%c'", c);
}

/* An integer token into *v; false (not an error) if the token is not one. */
static bool edn_int_token(const char *t, size_t len, int64_t *v)
{
	char buf[32];
	if (len == 0 || len >= sizeof buf)
		return false;
	memcpy(buf, t, len);
	buf[len] = 0;
	if (buf[len - 1] == 'N') /* a bigint literal that fits */
		buf[len - 1] = 0;
	char *end;
	errno = 0;
	long long x = strtoll(buf, &end, 10);
	if (errno || end == buf || *end)
		return false;
	*v = x;
	return true;
}

static bool edn_token_is(const char *t, size_t len, const char *s)
{
	return len == strlen(s) && memcmp(t, s, len) == 0;
}

/* A :value: nil, an integer, a pair of integers, or something else. */
static bool edn_value(struct parser *ps, struct edn_line *l)
{
	edn_space(ps);
	const char *at = ps->p, *t;
	if (*ps->p == '[') {
		ps->p++;
		int k = 0;
		for (;; k++) {
			edn_space(ps);
			if (*ps->p == ']') {
				ps->p++;
				break;
			}
			size_t len = edn_token(ps, &t);
			if (k >= 2 || !edn_int_token(t, len, &l->v[k])) {
				ps->p = at;
				l->kind = V_OTHER;
				return edn_skip(ps, 0);
			}
		}
		l->kind = k == 2 ? V_PAIR : V_OTHER;
		return true;
	}
	if (edn_delimiter(*ps->p)) {
		l->kind = V_OTHER;
		return edn_skip(ps, 0);
	}
	size_t len = edn_token(ps, &t);
	if (edn_token_is(t, len, "nil"))
		l->kind = V_NIL;
	else if (edn_int_token(t, len, &l->v[0]))
		l->kind = V_INT;
	else
		l->kind = V_OTHER;
	return true;
}

/* A keyword value, e.g. ":invoke", into name (without the colon). */
static bool edn_keyword(struct parser *ps, const char *what, const char **name,
                        size_t *len)
{
	edn_space(ps);
	if (*ps->p != ':')
		return fail(ps, "%s must be a keyword, such as :%s", what,
		            strcmp(what, ":type") == 0 ? "invoke" : "read");
	ps->p++;
	*len = edn_token(ps, name);
	return *len > 0 || fail(ps, "empty keyword");
}

static bool parse_edn_line(void *ctx, struct parser *ps, size_t lineno)
{
	struct edn_lines *h = ctx;
	struct edn_line l = {.line = lineno, .client = true, .f = -1};
	bool seen_type = false, seen_f = false, seen_process = false;
	const char *f_at = NULL, *f_name = ""; /* an :f no model knows */
	size_t f_len = 0;
	edn_space(ps);
	if (*ps->p == 0) /* a comment */
		return true;
	if (!expect(ps, '{'))
		return false;
	for (;;) {
		edn_space(ps);
		if (*ps->p == '}') {
			ps->p++;
			break;
		}
		if (*ps->p == 0)
			return fail(ps, "expected '}', found the end of the "
			                "line");
		const char *key;
		size_t klen;
		if (!edn_keyword(ps, "a map key", &key, &klen))
			return false;
		const char *t;
		size_t len;
		if (edn_token_is(key, klen, "process")) {
			seen_process = true;
			edn_space(ps);
			const char *at = ps->p;
			len = edn_token(ps, &t);
			if (!edn_int_token(t, len, &l.process)) {
				ps->p = at; /* :nemesis and the like */
				l.client = false;
				if (!edn_skip(ps, 0))
					return false;
			}
		} else if (edn_token_is(key, klen, "type")) {
			seen_type = true;
			edn_space(ps);
			const char *at = ps->p;
			if (!edn_keyword(ps, ":type", &t, &len))
				return false;
			if (edn_token_is(t, len, "invoke"))
				l.type = T_INVOKE;
			else if (edn_token_is(t, len, "ok"))
				l.type = T_OK;
			else if (edn_token_is(t, len, "fail"))
				l.type = T_FAIL;
			else if (edn_token_is(t, len, "info"))
				l.type = T_INFO;
			else {
				ps->p = at;
				return fail(ps,
				            "unknown :type :%.*s (want "
				            ":invoke, :ok, :fail or :info)",
				            (int)len, t);
			}
		} else if (edn_token_is(key, klen, "f")) {
			seen_f = true;
			edn_space(ps);
			const char *at = ps->p;
			if (*ps->p != ':') {
				l.f = -2; /* not a register operation */
				if (!edn_skip(ps, 0))
					return false;
				continue;
			}
			ps->p++;
			len = edn_token(ps, &t);
			if (edn_token_is(t, len, "read"))
				l.f = LIN_REG_READ;
			else if (edn_token_is(t, len, "write"))
				l.f = LIN_REG_WRITE;
			else if (edn_token_is(t, len, "cas"))
				l.f = LIN_REG_CAS;
			else { /* an error only on a client's line */
				f_at = at;
				f_name = t;
				f_len = len;
			}
		} else if (edn_token_is(key, klen, "value")) {
			if (!edn_value(ps, &l))
				return false;
		} else if (!edn_skip(ps, 0)) {
			return false;
		}
	}
	edn_space(ps);
	if (*ps->p)
		return fail(ps, "unexpected text after the map");
	if (!seen_process)
		return fail(ps, "missing :process");
	if (!seen_type)
		return fail(ps, "missing :type");
	if (l.client && !seen_f)
		return fail(ps, "missing :f");
	if (l.client && l.f == -2)
		return fail(ps, ":f must be :read, :write or :cas");
	if (l.client && f_at) {
		ps->p = f_at;
		return fail(ps,
		            "unknown :f :%.*s (the register models know "
		            ":read, :write and :cas)",
		            (int)f_len, f_name);
	}
	if (h->n == h->cap) {
		h->cap = h->cap ? 2 * h->cap : 64;
		h->l = xrealloc(h->l, h->cap * sizeof *h->l);
	}
	h->l[h->n++] = l;
	return true;
}

/* Where each process stands: its operation in flight (or SIZE_MAX), and
 * the line of its :info, if it crashed. */
struct proc {
	int64_t id;
	size_t in_flight;
	size_t crashed_at; /* 0: never */
};

static struct proc *proc_find(struct proc **procs, size_t *n, int64_t id)
{
	for (size_t i = 0; i < *n; i++)
		if ((*procs)[i].id == id)
			return &(*procs)[i];
	*procs = xrealloc(*procs, (*n + 1) * sizeof **procs);
	(*procs)[*n] = (struct proc){id, SIZE_MAX, 0};
	return &(*procs)[(*n)++];
}

struct edn_storage {
	struct lin_reg_input *in;
	struct lin_reg_output *out;
};

/* Pairs invocations with completions, as Knossos does: :ok completes, :fail
 * means the operation did not happen (it is dropped), :info means nobody
 * knows (it stays pending: it may take effect any time after its call, or
 * never), as does an invocation still open at the end; a pending read is
 * dropped too, since it constrains nothing. */
static bool edn_operations(const char *path, const struct edn_lines *e,
                           struct history *h)
{
	size_t nprocs = 0, nops = 0;
	struct proc *procs = NULL;
	struct edn_storage *st = xrealloc(NULL, sizeof *st);
	st->in = xrealloc(NULL, (e->n + 1) * sizeof *st->in);
	st->out = xrealloc(NULL, (e->n + 1) * sizeof *st->out);
	struct lin_op *ops = xrealloc(NULL, (e->n + 1) * sizeof *ops);
	size_t *line = xrealloc(NULL, (e->n + 1) * sizeof *line);
	bool *dropped = xrealloc(NULL, (e->n + 1) * sizeof *dropped);
	const char *why = NULL;
	size_t at = 0;
	int64_t who = 0;
	for (size_t i = 0; i < e->n && !why; i++) {
		const struct edn_line *l = &e->l[i];
		if (!l->client)
			continue;
		at = l->line;
		who = l->process;
		struct proc *p = proc_find(&procs, &nprocs, l->process);
		if (l->type == T_INVOKE) {
			if (p->crashed_at) {
				why = "invokes after its :info (Jepsen gives a "
				      "crashed process a new number)";
				break;
			}
			if (p->in_flight != SIZE_MAX) {
				why = "invokes again before its last operation "
				      "completed";
				break;
			}
			struct lin_reg_input *in = &st->in[nops];
			*in = (struct lin_reg_input){.op = l->f};
			if (l->f == LIN_REG_WRITE) {
				if (l->kind != V_INT) {
					why = "invokes :write without an "
					      "integer :value";
					break;
				}
				in->value = l->v[0];
			} else if (l->f == LIN_REG_CAS) {
				if (l->kind != V_PAIR) {
					why = "invokes :cas without a :value "
					      "[from to] of integers";
					break;
				}
				in->from = l->v[0];
				in->value = l->v[1];
				h->has_cas = true;
			}
			ops[nops] = (struct lin_op){(int)l->process, (int64_t)i,
			                            INT64_MAX, in, NULL};
			line[nops] = l->line;
			dropped[nops] = false;
			p->in_flight = nops++;
			continue;
		}
		if (p->in_flight == SIZE_MAX) {
			why = "completes an operation it did not invoke";
			break;
		}
		size_t k = p->in_flight;
		p->in_flight = SIZE_MAX;
		if (l->f != st->in[k].op) {
			why = "completes with another :f than it invoked";
			break;
		}
		if (l->type == T_FAIL) {
			dropped[k] = true;
		} else if (l->type == T_INFO) {
			p->crashed_at = l->line;
			/* A read whose outcome nobody knows constrains
			 * nothing: left out, as Knossos does, so that the
			 * search need not place it. */
			dropped[k] = st->in[k].op == LIN_REG_READ;
		} else {
			struct lin_reg_output *out = &st->out[k];
			*out = (struct lin_reg_output){.ok = true};
			if (l->f == LIN_REG_READ) {
				if (l->kind != V_NIL && l->kind != V_INT) {
					why = "completes :read :ok without a "
					      ":value (nil or an integer)";
					break;
				}
				out->nil = l->kind == V_NIL;
				out->value = l->v[0];
			}
			ops[k].return_ns = (int64_t)i;
			ops[k].output = out;
		}
	}
	free(procs);
	if (why)
		fprintf(stderr, "lincheck: %s:%zu: process %" PRId64 " %s\n",
		        path, at, who, why);
	/* Pending operations return after every event; dropped ones go. */
	size_t n = 0;
	for (size_t k = 0; k < nops && !why; k++) {
		bool pending = ops[k].return_ns == INT64_MAX;
		if (dropped[k] || (pending && st->in[k].op == LIN_REG_READ))
			continue;
		if (pending)
			ops[k].return_ns = (int64_t)e->n;
		ops[n] = ops[k];
		line[n] = line[k];
		n++;
	}
	free(dropped);
	if (why) {
		free(ops);
		free(line);
		free(st->in);
		free(st->out);
		free(st);
		return false;
	}
	h->ops = ops;
	h->n = n;
	h->line = line;
	h->storage = st;
	return true;
}

/* ---- both ---- */

bool history_read(const char *path, FILE *f, enum history_format format,
                  struct history *h)
{
	*h = (struct history){.format = format};
	if (format == HISTORY_EDN) {
		struct edn_lines e = {0};
		bool ok = read_lines(path, f, parse_edn_line, &e) &&
		          edn_operations(path, &e, h);
		free(e.l);
		return ok;
	}
	struct kv_records *recs = xrealloc(NULL, sizeof *recs);
	*recs = (struct kv_records){0};
	if (!read_lines(path, f, parse_jsonl_line, recs)) {
		kv_records_free(recs);
		free(recs);
		return false;
	}
	h->ops = xrealloc(NULL, (recs->n + 1) * sizeof *h->ops);
	h->line = xrealloc(NULL, (recs->n + 1) * sizeof *h->line);
	for (size_t i = 0; i < recs->n; i++) {
		const struct record *r = &recs->recs[i];
		h->ops[i] = (struct lin_op){r->client, r->call, r->ret, &r->in,
		                            &r->out};
		h->line[i] = r->line;
	}
	h->n = recs->n;
	h->storage = recs;
	return true;
}

void history_free(struct history *h)
{
	if (h->storage && h->format == HISTORY_EDN) {
		struct edn_storage *st = h->storage;
		free(st->in);
		free(st->out);
		free(st);
	} else if (h->storage) {
		kv_records_free(h->storage);
		free(h->storage);
	}
	free(h->ops);
	free(h->line);
	*h = (struct history){0};
}
