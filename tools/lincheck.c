/*
 * lincheck: checks a recorded history for linearizability from the command
 * line, and draws an illegal one as an HTML page: a key/value history in
 * JSON lines with lincheck's KV model, or a Jepsen register history in EDN
 * with the register or compare-and-set model. The formats are in usage()
 * below and in lincheck/README.md; tools/histories.c reads them.
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
#include "tools/histories.h"

enum {
	EXIT_LIN_OK = 0,
	EXIT_LIN_ILLEGAL = 1,
	EXIT_LIN_UNKNOWN = 2,
	EXIT_LIN_USAGE = 3, /* bad command line or bad input */
};

static void usage(FILE *f)
{
	fputs("usage: lincheck [--timeout MS] [--max-memory SIZE] "
	      "[--full-report]\n"
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

/* ---- the check ---- */

/* What is checked: the model, and what its partitions are called. */
struct subject {
	const struct lin_model *m;
	const char *partition; /* "key" or "register" */
};

/* "key \"x\"", or "the register" (the one partition, ""). */
static void print_partition(const struct subject *s,
                            const struct lin_info *info, size_t p)
{
	const char *name = lin_info_partition_name(info, p);
	if (name[0])
		printf("%s \"%s\"", s->partition, name);
	else
		printf("the %s", s->partition);
}

static void report_illegal(const struct subject *s, const struct lin_info *info,
                           const struct history *h)
{
	for (size_t p = 0; p < lin_info_npartitions(info); p++) {
		if (lin_info_partition_result(info, p) != LIN_ILLEGAL)
			continue;
		const size_t *ops, *seq;
		size_t n = lin_info_partition_ops(info, p, &ops);
		size_t nseq = lin_info_longest(info, p, &seq);
		size_t failed = lin_info_failed_op(info, p);
		const struct lin_op *op = &h->ops[failed];
		char *desc = s->m->describe_op(op->input, op->output);
		printf("  ");
		print_partition(s, info, p);
		printf(": %zu of %zu operations linearize; line %zu, %s, "
		       "cannot come next\n",
		       nseq, n, h->line[failed], desc);
		free(desc);
	}
}

/* The page's label of operation i: its line in the input. */
static char *input_line(size_t i, void *arg)
{
	const struct history *h = arg;
	char *s = malloc(32);
	if (s)
		snprintf(s, 32, "input line %zu", h->line[i]);
	return s;
}

/* Names the keys without a verdict, by reason: time, then memory. */
static void report_unknown(const struct subject *s, const struct lin_info *info,
                           int64_t timeout_ms, size_t limit)
{
	static const enum lin_stop reasons[] = {LIN_STOP_TIME, LIN_STOP_MEMORY};
	for (size_t k = 0; k < 2; k++) {
		size_t n = 0;
		for (size_t p = 0; p < lin_info_npartitions(info); p++) {
			if (lin_info_partition_stop(info, p) != reasons[k])
				continue;
			printf(n ? ", " : "  out of %s: ",
			       k == 0 ? "time" : "memory");
			print_partition(s, info, p);
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

static int check(const char *path, const struct subject *s,
                 const struct history *h, const struct lin_options *opt,
                 size_t limit, const char *html)
{
	struct lin_info *info = NULL;
	enum lin_result res = lin_check_with(s->m, h->ops, h->n, opt, &info);
	size_t nparts = lin_info_npartitions(info);
	int status;
	switch (res) {
	case LIN_OK:
		if (s->m == &lin_kv_model)
			printf("%s: Ok: %zu operations on %zu keys are "
			       "linearizable\n",
			       path, h->n, nparts);
		else
			printf("%s: Ok: %zu operations on the register are "
			       "linearizable\n",
			       path, h->n);
		status = EXIT_LIN_OK;
		break;
	case LIN_UNKNOWN:
		if (s->m == &lin_kv_model)
			printf("%s: Unknown: %zu of %zu keys have no "
			       "verdict\n",
			       path, undecided(info), nparts);
		else
			printf("%s: Unknown: the register has no verdict\n",
			       path);
		report_unknown(s, info, opt->timeout_ms, limit);
		status = EXIT_LIN_UNKNOWN;
		break;
	default:
		printf("%s: Illegal: the history is not linearizable\n", path);
		report_illegal(s, info, h);
		char fallback[64];
		if (!html) {
			snprintf(fallback, sizeof fallback, "lincheck-%ld.html",
			         (long)getpid());
			html = fallback;
		}
		int rc = lin_visualize_html_from(s->m, info, html, input_line,
		                                 (void *)h);
		if (rc == 0)
			printf("wrote the history visualization to %s\n", html);
		else
			fprintf(stderr, "lincheck: cannot write %s: %s\n", html,
			        strerror(-rc));
		status = EXIT_LIN_ILLEGAL;
		break;
	}
	lin_info_free(info);
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

static bool ends_with(const char *s, const char *end)
{
	size_t n = strlen(s), m = strlen(end);
	return n >= m && strcmp(s + n - m, end) == 0;
}

/* The model and format from --model and --format, or from the file's name
 * (.edn: a register history, checked with the cas model, which reads and
 * writes alone also fit). */
static bool choose(const char *path, const char *model, const char *format,
                   struct subject *s, enum history_format *fmt)
{
	if (format && strcmp(format, "jsonl") && strcmp(format, "edn")) {
		fprintf(stderr,
		        "lincheck: --format must be jsonl or edn, not "
		        "'%s'\n",
		        format);
		return false;
	}
	if (model && strcmp(model, "kv") && strcmp(model, "register") &&
	    strcmp(model, "cas")) {
		fprintf(stderr,
		        "lincheck: --model must be kv, register or cas, "
		        "not '%s'\n",
		        model);
		return false;
	}
	if (!format)
		format = (model && strcmp(model, "kv")) ||
		                         ends_with(path, ".edn")
		                 ? "edn"
		                 : "jsonl";
	*fmt = strcmp(format, "edn") == 0 ? HISTORY_EDN : HISTORY_JSONL;
	if (!model)
		model = *fmt == HISTORY_EDN ? "cas" : "kv";
	bool kv = strcmp(model, "kv") == 0;
	if (kv != (*fmt == HISTORY_JSONL)) {
		fprintf(stderr,
		        "lincheck: --model %s does not read %s histories: key/"
		        "value histories are JSON lines (--model kv --format "
		        "jsonl), register ones are Jepsen's EDN (--model "
		        "register or cas, --format edn)\n",
		        model, format);
		return false;
	}
	s->m = kv                          ? &lin_kv_model
	       : strcmp(model, "cas") == 0 ? &lin_cas_register_model
	                                   : &lin_register_model;
	s->partition = kv ? "key" : "register";
	return true;
}

int main(int argc, char **argv)
{
	struct lin_options opt = {0};
	const char *html = NULL, *path = NULL, *model = NULL, *format = NULL;
	bool allow_empty = false;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage(stdout);
			return EXIT_LIN_OK;
		}
		if ((strcmp(a, "--timeout") == 0 || strcmp(a, "--html") == 0 ||
		     strcmp(a, "--max-memory") == 0 ||
		     strcmp(a, "--model") == 0 || strcmp(a, "--format") == 0) &&
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
				        "lincheck: --max-memory needs a size "
				        "in "
				        "bytes, or with a K, M or G suffix, of "
				        "at least 1M, not '%s'\n",
				        argv[i]);
				return EXIT_LIN_USAGE;
			}
		} else if (strcmp(a, "--model") == 0) {
			model = argv[++i];
		} else if (strcmp(a, "--format") == 0) {
			format = argv[++i];
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

	struct subject subject;
	enum history_format fmt;
	if (!choose(path, model, format, &subject, &fmt))
		return EXIT_LIN_USAGE;

	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	if (!f) {
		fprintf(stderr, "lincheck: cannot open %s: %s\n", path,
		        strerror(errno));
		return EXIT_LIN_USAGE;
	}
	struct history h = {0};
	int status = EXIT_LIN_USAGE;
	size_t limit =
	        opt.max_memory ? opt.max_memory : lin_default_max_memory();
	bool read = history_read(path, f, fmt, &h);
	if (read && h.has_cas && subject.m == &lin_register_model) {
		fprintf(stderr,
		        "lincheck: %s: the history has :cas operations: check "
		        "it with --model cas\n",
		        path);
		read = false;
	}
	if (read && h.n == 0 && !allow_empty) {
		fprintf(stderr,
		        "lincheck: %s: no operations: an empty history is "
		        "most likely a recorder that stopped early "
		        "(--allow-empty checks it as linearizable)\n",
		        path);
		read = false;
	}
	if (read && search_limit(&opt, limit))
		status = check(path, &subject, &h, &opt, limit, html);
	if (f != stdin)
		fclose(f);
	history_free(&h);
	return status;
}
