/*
 * lincheck: checks a recorded key/value history for linearizability from the
 * command line, with lincheck's KV model, and draws an illegal one as an HTML
 * page. The history format is in usage() below and in lincheck/README.md.
 *
 * Not for: other models. The parser accepts exactly the documented JSON-lines
 * format (a strict subset of JSON), and reports the first problem by line.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lincheck/lincheck.h"

enum {
	EXIT_LIN_OK = 0,
	EXIT_LIN_ILLEGAL = 1,
	EXIT_LIN_UNKNOWN = 2,
	EXIT_LIN_USAGE = 3, /* bad command line or bad input */
};

static void usage(FILE *f)
{
	fputs("usage: lincheck [--timeout MS] [--max-memory SIZE] [--full-report]\n"
	      "                [--allow-empty] [--html PATH] FILE\n"
	      "\n"
	      "Checks that the key/value history in FILE ('-' for standard\n"
	      "input) is linearizable: get returns the key's current value,\n"
	      "put sets it, append appends to it, every key starts as \"\".\n"
	      "\n"
	      "  --timeout MS  give up after MS milliseconds (default 0: "
	      "never)\n"
	      "  --max-memory SIZE  the memory the search may hold, in bytes "
	      "or with\n"
	      "                a K, M or G suffix (default: 4G, or a quarter "
	      "of the\n"
	      "                machine's memory if less); the key holding the "
	      "most\n"
	      "                then stops undecided, and the others go on\n"
	      "  --full-report go on after the first illegal key, within the "
	      "budget,\n"
	      "                so that the report and the page show every "
	      "illegal key\n"
	      "  --allow-empty check a history with no operations (Ok); "
	      "without it,\n"
	      "                an empty history is an error, as a recorder "
	      "that died\n"
	      "                leaves one\n"
	      "  --html PATH   where to write the page drawing an illegal\n"
	      "                history (default: lincheck-<pid>.html here)\n"
	      "\n"
	      "FILE holds one operation per line, as a JSON object:\n"
	      "  {\"client\":0,\"call\":123,\"return\":130,\"op\":\"get\","
	      "\"key\":\"k\",\"output\":\"v\"}\n"
	      "  {\"client\":1,\"call\":125,\"return\":140,\"op\":\"put\","
	      "\"key\":\"k\",\"value\":\"v\"}\n"
	      "  client         integer, the client that ran it (for the "
	      "drawing)\n"
	      "  call, return   integers, when it was called and returned, in "
	      "any one\n"
	      "                 unit; call <= return\n"
	      "  op             \"get\", \"put\" or \"append\"\n"
	      "  key            string\n"
	      "  value          string: required for put and append, unused "
	      "for get\n"
	      "  output         string: required for get (what it returned), "
	      "unused\n"
	      "                 otherwise\n"
	      "Fields may come in any order; no other field is allowed. "
	      "Strings take\n"
	      "the JSON escapes (\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX, "
	      "not \\u0000).\n"
	      "Blank lines are skipped. The file must be UTF-8.\n"
	      "\n"
	      "Keys are checked in turns of a few milliseconds each, so that "
	      "an illegal\n"
	      "key is found even behind keys whose search never ends.\n"
	      "\n"
	      "Exit status: 0 linearizable, 1 not linearizable (the page is "
	      "written),\n"
	      "2 no verdict (out of time or memory; the keys are named), 3 bad "
	      "command\n"
	      "line or bad input.\n",
	      f);
}

/* ---- the history as read ---- */

struct record {
	size_t line;
	int client;
	int64_t call, ret;
	struct lin_kv_input in;
	struct lin_kv_output out;
};

struct history {
	struct record *recs;
	size_t n, cap;
};

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p) {
		fputs("lincheck: out of memory\n", stderr);
		exit(EXIT_LIN_USAGE);
	}
	return p;
}

static void record_free(struct record *r)
{
	free((char *)r->in.key);
	free((char *)r->in.value);
	free((char *)r->out.value);
}

static void history_free(struct history *h)
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
	const unsigned char *p = (const unsigned char *)s;
	for (const unsigned char *at = p; *at;) {
		unsigned c = *at, len, min;
		if (c < 0x80) {
			at++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			len = 2, min = 0x80;
		else if (c >= 0xe0 && c <= 0xef)
			len = 3, min = 0x800;
		else if (c >= 0xf0 && c <= 0xf4)
			len = 4, min = 0x10000;
		else
			return (long)(at - p);
		unsigned cp = c & (0x7f >> len);
		for (unsigned k = 1; k < len; k++) {
			if ((at[k] & 0xc0) != 0x80)
				return (long)(at - p);
			cp = cp << 6 | (at[k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return (long)(at - p);
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

/* Reads the history; on bad input prints why (file, line) and returns
 * false. */
static bool read_history(const char *path, FILE *f, struct history *h)
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
			        "(byte 0x%02x): the history must be UTF-8 text\n",
			        path, lineno, bad + 1,
			        (unsigned char)line[bad]);
			ok = false;
			break;
		}
		if (blank(line))
			continue;
		struct record r = {.line = lineno};
		struct parser ps = {.start = line, .p = line};
		if (!parse_record(&ps, &r)) {
			fprintf(stderr, "lincheck: %s:%zu: %s\n", path, lineno,
			        ps.err);
			record_free(&r);
			ok = false;
			break;
		}
		if (h->n == h->cap) {
			h->cap = h->cap ? 2 * h->cap : 64;
			h->recs = xrealloc(h->recs, h->cap * sizeof *h->recs);
		}
		h->recs[h->n++] = r;
	}
	if (ok && ferror(f)) {
		fprintf(stderr, "lincheck: %s: read error: %s\n", path,
		        strerror(errno));
		ok = false;
	}
	free(line);
	return ok;
}

/* ---- the check ---- */

static void report_illegal(const struct lin_info *info, const struct history *h)
{
	for (size_t p = 0; p < lin_info_npartitions(info); p++) {
		if (lin_info_partition_result(info, p) != LIN_ILLEGAL)
			continue;
		const size_t *ops, *seq;
		size_t n = lin_info_partition_ops(info, p, &ops);
		size_t nseq = lin_info_longest(info, p, &seq);
		const struct record *r = &h->recs[lin_info_failed_op(info, p)];
		char *desc = lin_kv_model.describe_op(&r->in, &r->out);
		printf("  key \"%s\": %zu of %zu operations linearize; line "
		       "%zu, %s, cannot come next\n",
		       lin_info_partition_name(info, p), nseq, n, r->line,
		       desc);
		free(desc);
	}
}

/* The page's label of operation i: its line in the input. */
static char *input_line(size_t i, void *arg)
{
	const struct history *h = arg;
	char *s = malloc(32);
	if (s)
		snprintf(s, 32, "input line %zu", h->recs[i].line);
	return s;
}

/* Names the keys without a verdict, by reason: time, then memory. */
static void report_unknown(const struct lin_info *info, int64_t timeout_ms,
                           size_t limit)
{
	static const enum lin_stop reasons[] = {LIN_STOP_TIME,
	                                        LIN_STOP_MEMORY};
	for (size_t k = 0; k < 2; k++) {
		size_t n = 0;
		for (size_t p = 0; p < lin_info_npartitions(info); p++) {
			if (lin_info_partition_stop(info, p) != reasons[k])
				continue;
			if (n == 0)
				printf("  out of %s: key",
				       k == 0 ? "time" : "memory");
			printf("%s \"%s\"", n ? "," : "",
			       lin_info_partition_name(info, p));
			n++;
		}
		if (n == 0)
			continue;
		if (k == 0)
			printf(" (the budget is %" PRId64 " ms)\n", timeout_ms);
		else
			printf(" (the limit is %zu MiB, --max-memory)\n",
			       limit >> 20);
	}
}

static size_t undecided(const struct lin_info *info)
{
	size_t n = 0;
	for (size_t p = 0; p < lin_info_npartitions(info); p++)
		n += lin_info_partition_result(info, p) == LIN_UNKNOWN;
	return n;
}

static int check(const char *path, const struct history *h,
                 const struct lin_options *opt, size_t limit,
                 const char *html)
{
	struct lin_op *ops = xrealloc(NULL, h->n * sizeof *ops);
	for (size_t i = 0; i < h->n; i++) {
		const struct record *r = &h->recs[i];
		ops[i] = (struct lin_op){r->client, r->call, r->ret, &r->in,
		                         &r->out};
	}
	struct lin_info *info = NULL;
	enum lin_result res = lin_check_with(&lin_kv_model, ops, h->n, opt, &info);
	size_t nparts = lin_info_npartitions(info);
	int status;
	switch (res) {
	case LIN_OK:
		printf("%s: Ok: %zu operations on %zu keys are linearizable\n",
		       path, h->n, nparts);
		status = EXIT_LIN_OK;
		break;
	case LIN_UNKNOWN:
		printf("%s: Unknown: %zu of %zu keys have no verdict\n", path,
		       undecided(info), nparts);
		report_unknown(info, opt->timeout_ms, limit);
		status = EXIT_LIN_UNKNOWN;
		break;
	default:
		printf("%s: Illegal: the history is not linearizable\n", path);
		report_illegal(info, h);
		char fallback[64];
		if (!html) {
			snprintf(fallback, sizeof fallback, "lincheck-%ld.html",
			         (long)getpid());
			html = fallback;
		}
		int rc = lin_visualize_html_from(&lin_kv_model, info, html,
		                                 input_line, (void *)h);
		if (rc == 0)
			printf("wrote the history visualization to %s\n", html);
		else
			fprintf(stderr, "lincheck: cannot write %s: %s\n", html,
			        strerror(-rc));
		status = EXIT_LIN_ILLEGAL;
		break;
	}
	lin_info_free(info);
	free(ops);
	return status;
}

/* The process's resident size in bytes (0 if unknown). */
static size_t resident_bytes(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	unsigned long long size = 0, resident = 0;
	if (f) {
		if (fscanf(f, "%llu %llu", &size, &resident) != 2)
			resident = 0;
		fclose(f);
	}
	return (size_t)resident * (size_t)sysconf(_SC_PAGESIZE);
}

/* A size: digits, then nothing (bytes) or K, M or G (binary units); at
 * least 1 MiB, at most 1 TiB. */
static bool parse_size(const char *s, size_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || s[0] == '-')
		return false;
	unsigned shift = 0;
	if (*end == 'K' || *end == 'k')
		shift = 10;
	else if (*end == 'M' || *end == 'm')
		shift = 20;
	else if (*end == 'G' || *end == 'g')
		shift = 30;
	if (shift)
		end++;
	if (*end || v > (1ULL << 40) >> shift)
		return false;
	v <<= shift;
	if (v < (1ULL << 20))
		return false;
	*out = (size_t)v;
	return true;
}

/* --max-memory is the whole process's peak: what it holds before the
 * search (the history) is taken off the search's share. */
static bool search_limit(struct lin_options *opt, size_t limit)
{
	size_t now = resident_bytes();
	if (now + (1u << 20) > limit) {
		fprintf(stderr,
		        "lincheck: --max-memory: %zu MiB is less than the tool "
		        "holds before the search (%zu MiB) and 1 MiB more\n",
		        limit >> 20, now >> 20);
		return false;
	}
	opt->max_memory = limit - now;
	return true;
}

int main(int argc, char **argv)
{
	struct lin_options opt = {0};
	const char *html = NULL, *path = NULL;
	bool allow_empty = false;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage(stdout);
			return EXIT_LIN_OK;
		}
		if ((strcmp(a, "--timeout") == 0 || strcmp(a, "--html") == 0 ||
		     strcmp(a, "--max-memory") == 0) &&
		    i + 1 == argc) {
			fprintf(stderr, "lincheck: %s needs a value\n", a);
			return EXIT_LIN_USAGE;
		}
		if (strcmp(a, "--timeout") == 0) {
			char *end;
			errno = 0;
			long long v = strtoll(argv[++i], &end, 10);
			if (errno || *end || end == argv[i] || v < 0) {
				fprintf(stderr,
				        "lincheck: --timeout needs a number of "
				        "milliseconds, not '%s'\n",
				        argv[i]);
				return EXIT_LIN_USAGE;
			}
			opt.timeout_ms = v;
		} else if (strcmp(a, "--max-memory") == 0) {
			if (!parse_size(argv[++i], &opt.max_memory)) {
				fprintf(stderr,
				        "lincheck: --max-memory needs a size in "
				        "bytes, or with a K, M or G suffix, of "
				        "at least 1M, not '%s'\n",
				        argv[i]);
				return EXIT_LIN_USAGE;
			}
		} else if (strcmp(a, "--allow-empty") == 0) {
			allow_empty = true;
		} else if (strcmp(a, "--full-report") == 0) {
			opt.full_report = true;
		} else if (strcmp(a, "--html") == 0) {
			html = argv[++i];
		} else if (a[0] == '-' && a[1] != 0) {
			fprintf(stderr, "lincheck: unknown option '%s'\n", a);
			usage(stderr);
			return EXIT_LIN_USAGE;
		} else if (path) {
			fprintf(stderr, "lincheck: one history file only\n");
			return EXIT_LIN_USAGE;
		} else {
			path = a;
		}
	}
	if (!path) {
		usage(stderr);
		return EXIT_LIN_USAGE;
	}

	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	if (!f) {
		fprintf(stderr, "lincheck: cannot open %s: %s\n", path,
		        strerror(errno));
		return EXIT_LIN_USAGE;
	}
	struct history h = {0};
	int status = EXIT_LIN_USAGE;
	size_t limit = opt.max_memory ? opt.max_memory
	                              : lin_default_max_memory();
	bool read = read_history(path, f, &h);
	if (read && h.n == 0 && !allow_empty) {
		fprintf(stderr,
		        "lincheck: %s: no operations: an empty history is "
		        "most likely a recorder that stopped early "
		        "(--allow-empty checks it as linearizable)\n",
		        path);
		read = false;
	}
	if (read && search_limit(&opt, limit))
		status = check(path, &h, &opt, limit, html);
	if (f != stdin)
		fclose(f);
	history_free(&h);
	return status;
}
