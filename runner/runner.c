/*
 * runner.c: the test runner behind every raftlab test program (see runner.h).
 * It reads go-test-like flags, runs each selected test in a child process of
 * its own (fresh seed, output piped back and saved to a log, a watchdog that
 * prints gdb backtraces before it kills a hung test), reports failures the way
 * `go test` does, and ends with CUnit's run summary.
 *
 * How a run goes: every selected test is first run to completion (one or
 * -parallel N at a time) by a single-threaded parent that waits on one poll()
 * loop; then a CUnit registry of proxy tests replays the collected results,
 * so that CUnit counts them for its standard "Run Summary" (and its XML
 * report), each test's checks as assertions. The parent
 * never starts a thread, so fork() is safe. With -no-fork the tests run in
 * this process instead, for gdb.
 */
#define _GNU_SOURCE /* dl_iterate_phdr and memmem, for crash reports */
#include "runner/runner.h"

#include <CUnit/Automated.h>
#include <CUnit/CUnit.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <regex.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <link.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

#ifdef __GLIBC__
#include <execinfo.h>
#endif

#include "labtime/labtime.h"
#include "prng/prng.h"
#include "sim/sim.h"

#ifdef RAFTLAB_SIM
#define SIM_FLAGS "[-sched S] "
#else
#define SIM_FLAGS ""
#endif
#define USAGE_FLAGS                                                            \
	"[-run REGEX] [-list] [-seed N] [-timeout SEC] [-parallel N] "         \
	"[-count N] [-go-only] [-v] [-xml PREFIX] [-results FILE] "          \
	"[-budget SEC] [-no-fork] " SIM_FLAGS "[-h]"
#define DEFAULT_LOG_DIR "/tmp/raftlab-logs"
#define INDENT "        "      /* go test indents a failure's lines by 8 */
#define INDENT2 "            " /* ...and what we quote under them by 12 */

enum {
	LAST_LINES = 40, /* lines of a hung test's output we repeat */
	LAST_LINES_WINDOW = 1 << 16, /* bytes of the log searched for them */
	GDB_TIMEOUT_S = 30,     /* how long gdb may take to print backtraces */
	DRAIN_TIMEOUT_S = 5,    /* how long pipes may outlive their writer */
	MAX_SENT_FAILURES = 50, /* failure messages a test process sends */
	CHANNEL_CAP = 1 << 20,  /* bytes kept from a failure channel */
	GDB_OUTPUT_CAP = 4 << 20, /* bytes kept of gdb's output */
	MAX_PARALLEL = 256,
	MAX_COUNT = 10000,
	MAX_TIMEOUT_S = 1000000, /* -timeout's bound (11.6 days) */
	MAX_TIME_SCALE = 1000,   /* RAFTLAB_TIME_SCALE's */
	MAX_STACKS_SHOWN = 6, /* distinct stacks a hang report prints */
	CRASH_FRAMES = 48,  /* return addresses a crashing test sends */
	CRASH_WAIT_S = GDB_TIMEOUT_S + 10, /* how long it waits for gdb */
};

/* ---- small helpers ---- */

/* A growable byte string, always NUL-terminated once anything is added. */
struct buf {
	char *p;
	size_t len, cap;
};

static noreturn void out_of_memory(void)
{
	static const char msg[] = "runner: out of memory\n";
	(void)!write(STDERR_FILENO, msg, sizeof msg - 1);
	_exit(2);
}

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		out_of_memory();
	return p;
}

static char *xstrdup(const char *s)
{
	char *d = strdup(s);
	if (!d)
		out_of_memory();
	return d;
}

static void buf_reserve(struct buf *b, size_t more)
{
	if (b->len + more + 1 <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < b->len + more + 1)
		cap *= 2;
	b->p = xrealloc(b->p, cap);
	b->cap = cap;
}

static void buf_add(struct buf *b, const void *p, size_t n)
{
	buf_reserve(b, n);
	memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void buf_puts(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

static void buf_vprintf(struct buf *b, const char *fmt, va_list ap)
        __attribute__((format(printf, 2, 0)));
static void buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	va_copy(ap2, ap);
	int n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return;
	buf_reserve(b, (size_t)n);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
}

static void buf_printf(struct buf *b, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
static void buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	buf_vprintf(b, fmt, ap);
	va_end(ap);
}

static const char *buf_str(const struct buf *b)
{
	return b->p ? b->p : "";
}

static void buf_free(struct buf *b)
{
	free(b->p);
	*b = (struct buf){0};
}

/* Appends s quoted for a POSIX shell (unquoted when nothing needs it). */
static void buf_add_shell_word(struct buf *b, const char *s)
{
	static const char safe[] =
	        "abcdefghijklmnopqrstuvwxyz"
	        "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./-+=:,@%";
	if (*s && strspn(s, safe) == strlen(s)) {
		buf_puts(b, s);
		return;
	}
	buf_puts(b, "'");
	for (; *s; s++) {
		if (*s == '\'')
			buf_puts(b, "'\\''");
		else
			buf_add(b, s, 1);
	}
	buf_puts(b, "'");
}

/* Appends text, its first line after first_indent and every further line
 * after rest_indent, ending with a newline. */
static void buf_add_indented(struct buf *b, const char *text, size_t len,
                             const char *first_indent, const char *rest_indent)
{
	const char *indent = first_indent;
	while (len > 0) {
		const char *nl = memchr(text, '\n', len);
		size_t n = nl ? (size_t)(nl - text) : len;
		if (n > 0)
			buf_puts(b, indent);
		buf_add(b, text, n);
		buf_puts(b, "\n");
		indent = rest_indent;
		if (!nl)
			break;
		text += n + 1;
		len -= n + 1;
	}
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash ? slash + 1 : path;
}

/* Writes all of p to fd, going on after signals; false on an error. */
static bool write_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n > 0) {
		ssize_t w = write(fd, c, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		c += w;
		n -= (size_t)w;
	}
	return true;
}

/* Writes to our stdout at once, so it interleaves right with children. */
static void out_write(const void *p, size_t n)
{
	fwrite(p, 1, n, stdout);
	fflush(stdout);
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static double seconds_since(int64_t start_ns)
{
	return (double)(labtime_now_ns() - start_ns) / 1e9;
}

/* ---- what the runner knows ---- */

static struct options {
	const char *run; /* -run REGEX; NULL selects every test */
	bool list;       /* -list */
	bool go_only;    /* -go-only */
	bool seed_set;   /* -seed N */
	uint64_t seed;
	bool timeout_set; /* -timeout SEC; 0 means no watchdog */
	double timeout_s;
	int parallel; /* -parallel N */
	int count;    /* -count N */
	bool verbose; /* -v */
	const char *xml; /* -xml PREFIX: CUnit's XML results too */
	const char *results; /* -results FILE: a line per run, for scripts */
	double budget_s;     /* -budget SEC: the whole run's; 0 for none */
	bool no_fork; /* -no-fork */
	struct sim_options sched; /* -sched: the policy and its depth, sim
	                             build only */
} opt;

static const char *prog;      /* argv[0], as replay commands repeat it */
static const char *prog_name; /* its last component, for messages */
static const char *suite_name;
static char *log_dir;  /* where test logs go; NULL in -no-fork mode */
static char *gdb_path; /* NULL when gdb is not installed */

/* runner_time_scale(), fixed before any test runs so threads may read it. */
static double time_scale = 1.0;
static bool time_scale_fixed;

/* A failure of a test: a failed assertion or runner_fatalf (with the place
 * in the source), or something the runner saw (file NULL): a crash, a
 * timeout, a bad exit status. */
struct failure {
	char *file;
	unsigned line;
	char *msg;
};

/* One run of one test (-count N runs each selected test N times). */
struct run {
	const struct runner_test *test;
	int iteration; /* 1..opt.count */
	char *cu_name; /* its name in CUnit's report, unique among runs */
	uint64_t seed;
	char *log_path; /* NULL in -no-fork mode */
	double elapsed_s;
	bool passed;
	const char *outcome; /* pass fail timeout crash sanitizer budget
	                        not-run interrupted: see write_result */
	uint64_t rpcs, ops;  /* runner_report_counts's sums */
	unsigned asserts_passed; /* CUnit assertions that held */
	struct failure *failures;
	size_t nfailures;
};

static struct run *runs;
static size_t nruns;

/* The test running in this process (a test process, or -no-fork mode). */
static struct run *cur_run;
static uint64_t cur_seed;
static int64_t cur_start_ns;
static int fail_channel = -1; /* write end of the failure channel, in a
                                 forked test process; -1 elsewhere */
static atomic_uint checks_held; /* runner_check_held's count, this test */

static void complain(const char *fmt, ...)
        __attribute__((format(printf, 1, 2)));
static void complain(const char *fmt, ...)
{
	va_list ap;
	fflush(stdout);
	fprintf(stderr, "%s: ", prog_name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void add_failure(struct run *r, const char *file, unsigned line,
                        const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
static void add_failure(struct run *r, const char *file, unsigned line,
                        const char *fmt, ...)
{
	struct buf msg = {0};
	va_list ap;
	va_start(ap, fmt);
	buf_vprintf(&msg, fmt, ap);
	va_end(ap);
	r->failures =
	        xrealloc(r->failures, (r->nfailures + 1) * sizeof *r->failures);
	r->failures[r->nfailures++] = (struct failure){
	        .file = file ? xstrdup(base_name(file)) : NULL,
	        .line = line,
	        .msg = msg.p ? msg.p : xstrdup(""),
	};
}

static void free_runs(void)
{
	for (size_t i = 0; i < nruns; i++) {
		struct run *r = &runs[i];
		for (size_t j = 0; j < r->nfailures; j++) {
			free(r->failures[j].file);
			free(r->failures[j].msg);
		}
		free(r->failures);
		free(r->cu_name);
		free(r->log_path);
	}
	free(runs);
	runs = NULL;
	nruns = 0;
}

/* ---- public helpers for tests ---- */

uint64_t runner_seed(void)
{
	return cur_run ? cur_seed : opt.seed;
}

/* Reads $RAFTLAB_TIME_SCALE; 0 if it is set and not a number above 0 and
 * at most MAX_TIME_SCALE. */
static double read_time_scale(void)
{
	const char *s = getenv("RAFTLAB_TIME_SCALE");
	if (!s || !*s) {
#if defined(RAFTLAB_SANITIZER) && RAFTLAB_SANITIZER && !defined(RAFTLAB_SIM)
		return 2.0;
#else
		return 1.0;
#endif
	}
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || *end || !isfinite(v) || v <= 0 || v > MAX_TIME_SCALE)
		return 0;
	return v;
}

double runner_time_scale(void)
{
	if (time_scale_fixed)
		return time_scale;
	/* Called outside runner_main, e.g. by a benchmark. */
	double v = read_time_scale();
	if (v == 0) {
		fprintf(stderr,
		        "RAFTLAB_TIME_SCALE must be a number above 0 and at "
		        "most %d, not '%s'\n",
		        MAX_TIME_SCALE, getenv("RAFTLAB_TIME_SCALE"));
		exit(2);
	}
	return v;
}

/* ---- the command line ---- */

static void print_usage(FILE *f)
{
	fprintf(f, "usage: %s %s\n", prog, USAGE_FLAGS);
}

static void print_help(void)
{
	print_usage(stdout);
	printf("\nRuns the %s tests in source order, each in a process of\n"
	       "its own under a watchdog. As with go test, only failures\n"
	       "are printed unless -v is given.\n\n",
	       suite_name);
	printf("  -run REGEX    run only the tests whose names match REGEX,\n"
	       "                a POSIX extended regular expression found\n"
	       "                anywhere in the name, as in go test: -run 3A,\n"
	       "                -run 'TestBackup3B|TestCount3B',\n"
	       "                -run '^TestBasic$'; a pattern that starts\n"
	       "                with - is written -run=-x (a value taken\n"
	       "                from the next argument may not start\n"
	       "                with -, so that -xml -list is an error)\n"
	       "  -list         print the names of the tests (those -run\n"
	       "                selects) and exit\n"
	       "  -seed N       give every test the seed N (decimal or 0x\n"
	       "                hex) to replay a failure; by default each\n"
	       "                test gets a fresh random seed\n"
	       "  -timeout SEC  kill a test that runs longer than SEC\n"
	       "                seconds, instead of at its own limit (%d s\n"
	       "                unless it sets one); 0 means no limit\n"
	       "  -parallel N   run up to N tests at once (default 1); each\n"
	       "                test's output is printed whole when it ends\n"
	       "  -count N      run each selected test N times\n"
	       "  -go-only      run only the tests of the Go suite, leaving\n"
	       "                out those beyond it (-list -go-only shows them)\n"
	       "  -v            verbose: print === RUN and --- PASS lines,\n"
	       "                as go test -v does\n"
	       "  -xml PREFIX   also write CUnit's XML results to\n"
	       "                PREFIX-Results.xml (CUnit's automated mode)\n"
	       "  -results FILE write a line per run to FILE as it ends, for\n"
	       "                scripts: test, result, seconds, seed, RPCs,\n"
	       "                operations, log and the whole failure\n"
	       "                messages, tab-separated (its header says\n"
	       "                more)\n"
	       "  -budget SEC   the whole run's time: when SEC seconds have\n"
	       "                passed, the running tests are killed and\n"
	       "                fail, and the rest fail as not run\n",
	       RUNNER_DEFAULT_TIMEOUT_S);
	printf("  -no-fork      run the tests inside this process, one after\n"
	       "                another, with no watchdog and no log, so that\n"
	       "                a debugger sees them, e.g.\n"
	       "                  gdb --args %s -no-fork -run '^TestX$'\n"
	       "                A crash or runner_fatalf ends the program.\n",
	       prog);
	if (sim_enabled())
		printf("  -sched S      how the scheduler picks the next thread:\n"
		       "                random (the default) or pct[:D], PCT with\n"
		       "                D-1 priority changes (D is 3 unless given)\n");
	printf("  -h            print this help\n\n");
	if (sim_enabled())
		printf("This is the sim build: each test runs its threads one at\n"
		       "a time on virtual time, its limit is in virtual seconds,\n"
		       "and its seed replays it exactly, thread interleaving\n"
		       "included.\n\n");
	printf("A failed test's report ends with its seed, the command that\n"
	       "replays it, and its log. A crash is reported at the line it\n"
	       "happened, with the crashing thread's frames and the gdb and\n"
	       "AddressSanitizer commands that show more. A test that\n"
	       "outlives its limit is killed after gdb (if installed) shows\n"
	       "where its threads wait, yours first, one line per distinct\n"
	       "place; its last %d lines of output are repeated, and every\n"
	       "thread's whole backtrace is in the log.\n"
	       "\n",
	       LAST_LINES);
	printf("Exit status:\n"
	       "  0  every selected test passed (after -list or -h: done)\n"
	       "  1  a test failed, crashed, timed out or was not run\n"
	       "     within -budget\n"
	       "  2  a usage error: an unknown flag, a bad value, a -run\n"
	       "     pattern that matches no test, an unwritable -xml or\n"
	       "     -results path\n"
	       "\n");
	printf("Environment:\n"
	       "  RAFTLAB_TIME_SCALE  multiplies every time limit (now %g;\n"
	       "                      the default is 1, or 2 in sanitizer\n"
	       "                      builds)\n"
	       "  RAFTLAB_LOG_DIR     where each test's log goes, as\n"
	       "                      SUITE-TEST-SEED.log (default\n"
	       "                      " DEFAULT_LOG_DIR "); the logs of\n"
	       "                      passing tests are deleted\n"
	       "  RAFTLAB_SEED        set in each test process to its seed\n"
	       "  RAFTLAB_DEBUG       1 or 2: the debug log (rlog) on stderr,\n"
	       "                      2 adding the detailed lines; each test's\n"
	       "                      log keeps it (tools/logview lays it out)\n"
	       "  RAFTLAB_TOPICS      the debug log's topics, comma-separated\n"
	       "                      (default all): TIMER VOTE LEADER APPEND\n"
	       "                      COMMIT PERSIST SNAP APPLY CLIENT SERVER\n"
	       "                      TEST WARN INFO\n"
	       "  RAFTLAB_NO_GDB      1: crash and hang reports without gdb\n"
	       "                      (a crash is then located from its return\n"
	       "                      addresses, by binutils' addr2line)\n"
	       "  RAFTLAB_STUDENT_FILES  the files whose frames hang reports\n"
	       "                      list first, colon-separated path endings\n"
	       "                      (default raft/raft.c:kvraft/client.c:\n"
	       "                      kvraft/server.c and the skeletons')\n"
	       "  RAFTLAB_SIM_STATS   sim build: 1 prints each test's virtual\n"
	       "                      and real time, scheduling points and\n"
	       "                      thread switches\n",
	       time_scale);
}

static int bad_usage(const char *fmt, ...)
        __attribute__((format(printf, 1, 2)));
static int bad_usage(const char *fmt, ...)
{
	va_list ap;
	fflush(stdout);
	fprintf(stderr, "%s: ", prog_name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	print_usage(stderr);
	return 2;
}

/* Parses a seed: decimal, or hex after 0x. */
static bool parse_seed(const char *s, uint64_t *out)
{
	int base = 10;
	const char *digits = s;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		digits = s + 2;
	}
	const char *ok = base == 16 ? "0123456789abcdefABCDEF" : "0123456789";
	if (!*digits || strspn(digits, ok) != strlen(digits))
		return false;
	errno = 0;
	unsigned long long v = strtoull(digits, NULL, base);
	if (errno)
		return false;
	*out = (uint64_t)v;
	return true;
}

static bool parse_int(const char *s, int min, int max, int *out)
{
	if (!*s || strspn(s, "0123456789") != strlen(s))
		return false;
	errno = 0;
	long v = strtol(s, NULL, 10);
	if (errno || v < min || v > max)
		return false;
	*out = (int)v;
	return true;
}

/* Parses seconds from 0 to MAX_TIMEOUT_S into *out. */
static bool parse_seconds(const char *s, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (!*s || errno || *end || !isfinite(v) || v < 0 ||
	    v > MAX_TIMEOUT_S)
		return false;
	*out = v;
	return true;
}

enum flag_id {
	F_RUN,
	F_LIST,
	F_SEED,
	F_TIMEOUT,
	F_PARALLEL,
	F_COUNT,
	F_GO_ONLY,
	F_V,
	F_XML,
	F_RESULTS,
	F_BUDGET,
	F_NO_FORK,
	F_SCHED,
	F_HELP
};

static const struct flag {
	const char *name;
	enum flag_id id;
	const char *value; /* what its value is, NULL for a switch */
} flags[] = {
        {"run", F_RUN, "a regular expression"},
        {"list", F_LIST, NULL},
        {"seed", F_SEED, "a seed, decimal or 0x hex"},
        {"timeout", F_TIMEOUT, "seconds"},
        {"parallel", F_PARALLEL, "a number of tests"},
        {"count", F_COUNT, "a number of runs"},
        {"go-only", F_GO_ONLY, NULL},
        {"v", F_V, NULL},
        {"xml", F_XML, "a file name prefix"},
        {"results", F_RESULTS, "a file name"},
        {"budget", F_BUDGET, "seconds"},
        {"no-fork", F_NO_FORK, NULL},
        {"sched", F_SCHED, "a schedule: random, pct or pct:D"},
        {"h", F_HELP, NULL},
        {"help", F_HELP, NULL},
};

/* Parses the command line into opt. Returns -1 to go on, or the exit status
 * to end with at once (0 after -h, 2 after a mistake). Flags are written
 * -name value, -name=value or with two dashes, as Go's flag package allows. */
static int parse_args(int argc, char **argv)
{
	opt = (struct options){.parallel = 1, .count = 1};
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		if (arg[0] != '-' || arg[1] == '\0')
			return bad_usage("unexpected argument '%s'", arg);
		const char *name = arg + (arg[1] == '-' ? 2 : 1);
		/* "--" ends the flags, and nothing may follow it. */
		if (*name == '\0') {
			if (i + 1 < argc)
				return bad_usage("unexpected argument '%s'",
				                 argv[i + 1]);
			break;
		}
		const char *eq = strchr(name, '=');
		size_t len = eq ? (size_t)(eq - name) : strlen(name);
		const struct flag *f = NULL;
		for (size_t k = 0; k < sizeof flags / sizeof flags[0]; k++) {
			if (strlen(flags[k].name) == len &&
			    !strncmp(flags[k].name, name, len))
				f = &flags[k];
		}
		if (!f)
			return bad_usage("unknown flag -%.*s", (int)len, name);

		const char *val = NULL;
		if (f->value && eq) {
			val = eq + 1;
		} else if (f->value && i + 1 < argc) {
			val = argv[++i];
			/* "-xml -list" is a forgotten value, not a prefix. */
			if (val[0] == '-' && val[1] != '\0')
				return bad_usage("flag -%s needs a value (%s), "
				                 "not the flag '%s' (write "
				                 "-%s=%s if that is the value)",
				                 f->name, f->value, val,
				                 f->name, val);
		} else if (f->value)
			return bad_usage("flag -%s needs a value (%s)", f->name,
			                 f->value);
		else if (eq)
			return bad_usage("flag -%s takes no value", f->name);

		switch (f->id) {
		case F_RUN:
			opt.run = val;
			break;
		case F_LIST:
			opt.list = true;
			break;
		case F_SEED:
			if (!parse_seed(val, &opt.seed))
				return bad_usage("bad -seed '%s': want a "
				                 "decimal number or 0x hex",
				                 val);
			opt.seed_set = true;
			break;
		case F_TIMEOUT:
			if (!parse_seconds(val, &opt.timeout_s))
				return bad_usage("bad -timeout '%s': want "
				                 "seconds, at most %d (0 "
				                 "means no limit)",
				                 val, MAX_TIMEOUT_S);
			opt.timeout_set = true;
			break;
		case F_BUDGET:
			if (!parse_seconds(val, &opt.budget_s) ||
			    opt.budget_s == 0)
				return bad_usage("bad -budget '%s': want "
				                 "seconds, more than 0 and at "
				                 "most %d",
				                 val, MAX_TIMEOUT_S);
			break;
		case F_RESULTS:
			opt.results = val;
			break;
		case F_PARALLEL:
			if (!parse_int(val, 1, MAX_PARALLEL, &opt.parallel))
				return bad_usage("bad -parallel '%s': want a "
				                 "number from 1 to %d",
				                 val, MAX_PARALLEL);
			break;
		case F_COUNT:
			if (!parse_int(val, 1, MAX_COUNT, &opt.count))
				return bad_usage("bad -count '%s': want a "
				                 "number from 1 to %d",
				                 val, MAX_COUNT);
			break;
		case F_GO_ONLY:
			opt.go_only = true;
			break;
		case F_V:
			opt.verbose = true;
			break;
		case F_XML:
			opt.xml = val;
			break;
		case F_NO_FORK:
			opt.no_fork = true;
			break;
		case F_SCHED:
			if (!sim_enabled())
				return bad_usage("-sched works only in the sim "
				                 "build: make SIM=1, then "
				                 "build/sim/%s",
				                 prog_name);
#ifdef RAFTLAB_SIM
			if (!sim_parse_policy(val, &opt.sched))
				return bad_usage("bad -sched '%s': want random, "
				                 "pct or pct:D (D from 1 to 64)",
				                 val);
#endif
			break;
		case F_HELP:
			print_help();
			return 0;
		}
	}
	if (opt.no_fork && opt.parallel > 1)
		return bad_usage("-no-fork runs the tests one at a time: drop "
		                 "-parallel");
	return -1;
}

/* Checks the program's table of tests; false (after saying why) if bad. */
static bool check_tests(const struct runner_test *tests, size_t ntests)
{
	for (size_t i = 0; i < ntests; i++) {
		const struct runner_test *t = &tests[i];
		if (!t->name || !*t->name) {
			complain("bad test table: test %zu has no name", i);
			return false;
		}
		if (!t->fn) {
			complain("bad test table: %s has no function", t->name);
			return false;
		}
		if (t->timeout_s < 0) {
			complain("bad test table: %s has a negative timeout",
			         t->name);
			return false;
		}
		for (size_t j = 0; j < i; j++) {
			if (!strcmp(tests[j].name, t->name)) {
				complain("bad test table: two tests named %s",
				         t->name);
				return false;
			}
		}
	}
	return true;
}

/* ---- simulation mode (the sim build) ---- */

static void channel_send(const char *tag, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
static void report_in_process(struct run *r);
static double base_limit_s(const struct run *r);

/* The virtual seconds the running test has taken, or -1 outside sim. */
static double sim_seconds(void)
{
#ifdef RAFTLAB_SIM
	struct sim_stats st;
	sim_get_stats(&st);
	return (double)st.now_ns / 1e9;
#else
	return -1;
#endif
}

/* Tells the runner the test's virtual time, which its report shows. */
static void send_sim_seconds(void)
{
	double s = sim_seconds();
	if (s >= 0 && fail_channel >= 0)
		channel_send("T", "%.17g", s);
}

#ifdef RAFTLAB_SIM
/* The scheduler's trouble: a failure of the test (SIM_FAILED), or a stuck
 * process for the runner to take backtraces of and kill (SIM_STUCK). */
static noreturn void on_sim_trouble(enum sim_trouble kind, const char *reason,
                                    const char *details)
{
	fflush(stdout);
	if (details && *details)
		fprintf(stderr, "sim: %s\n%s", reason, details);
	fflush(stderr);
	if (fail_channel >= 0) {
		send_sim_seconds();
		if (kind == SIM_STUCK) {
			channel_send("X", "%s", reason);
			for (;;) /* until the runner, done with gdb, kills us */
				pause();
		}
		channel_send("F", "\t0\t%s", reason);
		_exit(1);
	}
	if (kind == SIM_STUCK) {
		fprintf(stderr, "sim: %s\n", reason);
		abort(); /* -no-fork: under gdb, stop here */
	}
	if (cur_run) {
		struct run *r = cur_run;
		cur_run = NULL;
		add_failure(r, NULL, 0, "%s", reason);
		report_in_process(r);
	}
	exit(1);
}

static int64_t sim_real_start_ns; /* for RAFTLAB_SIM_STATS */
#endif

/* Runs what follows on the simulation's scheduler, with r's seed and its
 * limit in virtual time (nothing happens outside the sim build). */
static void sim_begin(const struct run *r)
{
#ifdef RAFTLAB_SIM
	double limit_s = base_limit_s(r);
	struct sim_options o = opt.sched; /* the policy: random by default */
	o.seed = r->seed;
	o.limit_ns = limit_s < 1e9 ? (int64_t)(limit_s * 1e9) : 0;
	o.cpu = -1;
	sim_on_trouble(on_sim_trouble);
	sim_real_start_ns = labtime_now_ns();
	sim_start(&o);
#else
	(void)r;
#endif
}

static void sim_end(void)
{
#ifdef RAFTLAB_SIM
	sim_stop();
	const char *env = getenv("RAFTLAB_SIM_STATS");
	if (env && *env && strcmp(env, "0") != 0) {
		struct sim_stats st;
		sim_get_stats(&st);
		fprintf(stderr,
		        "sim: %.3f s virtual in %.3f s real: %" PRIu64
		        " scheduling points, %" PRIu64 " switches, %" PRIu64
		        " threads\n",
		        (double)st.now_ns / 1e9,
		        seconds_since(sim_real_start_ns), st.points,
		        st.switches, st.threads);
	}
#endif
}

/* ---- running a test in this process ---- */

/* Makes r the running test: runner_seed() and $RAFTLAB_SEED give its seed. */
static void enter_test(struct run *r)
{
	char seed[32];
	snprintf(seed, sizeof seed, "0x%" PRIx64, r->seed);
	setenv("RAFTLAB_SEED", seed, 1);
	cur_seed = r->seed;
	cur_run = r;
	atomic_store(&checks_held, 0);
	cur_start_ns = labtime_now_ns();
}

/* Runs r's test function in a CUnit registry of its own holding just that
 * test, and collects its failed assertions into r. */
static void execute_test(struct run *r)
{
	CU_pSuite suite = NULL;
	CU_pTest test = NULL;
	if (CU_initialize_registry() == CUE_SUCCESS)
		suite = CU_add_suite(suite_name, NULL, NULL);
	if (suite)
		test = CU_add_test(suite, r->test->name, r->test->fn);
	if (!test) {
		add_failure(r, NULL, 0, "CUnit could not run the test: %s",
		            CU_get_error_msg());
		goto cleanup_registry;
	}
	sim_begin(r);
	CU_run_test(suite, test);
	sim_end();
	for (CU_pFailureRecord f = CU_get_failure_list(); f; f = f->pNext) {
		add_failure(r, f->strFileName ? f->strFileName : "?",
		            f->uiLineNumber, "%s",
		            f->strCondition ? f->strCondition : "");
	}
	r->asserts_passed = CU_get_number_of_successes() +
	                    atomic_load(&checks_held);
cleanup_registry:
	CU_cleanup_registry();
}

/* ---- reports ---- */

/* Appends to out what go test prints after a test: nothing for a pass
 * (--- PASS with -v), else --- FAIL, each failure, details (extra lines
 * such as backtraces, may be NULL), the seed, a replay command, the log. */
static void format_report(const struct run *r, const char *details,
                          struct buf *out)
{
	if (r->passed) {
		if (opt.verbose)
			buf_printf(out, "--- PASS: %s (%.2fs)\n", r->test->name,
			           r->elapsed_s);
		return;
	}
	buf_printf(out, "--- FAIL: %s (%.2fs)\n", r->test->name, r->elapsed_s);
	for (size_t i = 0; i < r->nfailures; i++) {
		const struct failure *f = &r->failures[i];
		struct buf line = {0};
		if (f->file)
			buf_printf(&line, "%s:%u: ", f->file, f->line);
		buf_puts(&line, f->msg);
		buf_add_indented(out, line.p, line.len, INDENT, INDENT2);
		buf_free(&line);
	}
	if (details)
		buf_puts(out, details);
	buf_printf(out, INDENT "seed: 0x%" PRIx64 "  replay: ", r->seed);
	buf_add_shell_word(out, prog);
	buf_puts(out, " -run ");
	struct buf pattern = {0};
	buf_printf(&pattern, "^%s$", r->test->name);
	buf_add_shell_word(out, pattern.p);
	buf_free(&pattern);
	buf_printf(out, " -seed 0x%" PRIx64 "\n", r->seed);
	if (r->log_path)
		buf_printf(out, INDENT "log: %s\n", r->log_path);
}

/* ---- the results file (-results) ---- */

static FILE *results_file;

/* Adds s to out with backslash, tab, newline and carriage return escaped
 * as \\, \t, \n and \r, so that a field holds any text on one line. */
static void buf_add_tsv_field(struct buf *out, const char *s)
{
	for (; *s; s++) {
		const char *esc = *s == '\\' ? "\\\\"
		                  : *s == '\t' ? "\\t"
		                  : *s == '\n' ? "\\n"
		                  : *s == '\r' ? "\\r"
		                               : NULL;
		if (esc)
			buf_puts(out, esc);
		else
			buf_add(out, s, 1);
	}
}

/* Opens the -results file and writes its header. Returns 0, or -1 after
 * saying what is wrong. */
static int open_results(void)
{
	results_file = fopen(opt.results, "w");
	if (!results_file) {
		complain("cannot write -results %s: %s", opt.results,
		         strerror(errno));
		return -1;
	}
	fprintf(results_file,
	        "# raftlab results 1: one line per run, fields tab-separated; "
	        "in the message, \\\\ \\t \\n \\r stand for a backslash, "
	        "tab, newline and carriage return\n"
	        "# result: pass, fail, timeout (killed at its limit), crash, "
	        "sanitizer (a sanitizer's report), budget (killed when "
	        "-budget ran out), not-run, interrupted\n"
	        "# rpcs and ops: the harness's counts, empty when it gave "
	        "none; log: kept for a failed run\n"
	        "#test\tresult\tseconds\tseed\trpcs\tops\tlog\tmessage\n");
	fflush(results_file);
	return 0;
}

/* Writes r's line to the -results file, if there is one. */
static void write_result(const struct run *r)
{
	if (!results_file)
		return;
	struct buf line = {0};
	buf_add_tsv_field(&line, r->cu_name);
	buf_printf(&line, "\t%s\t%.3f\t0x%" PRIx64 "\t", r->outcome,
	           r->elapsed_s, r->seed);
	if (r->rpcs || r->ops)
		buf_printf(&line, "%" PRIu64 "\t%" PRIu64 "\t", r->rpcs, r->ops);
	else
		buf_puts(&line, "\t\t");
	if (r->log_path)
		buf_add_tsv_field(&line, r->log_path);
	buf_puts(&line, "\t");
	for (size_t i = 0; i < r->nfailures; i++) {
		const struct failure *f = &r->failures[i];
		struct buf msg = {0};
		if (i > 0)
			buf_puts(&msg, "\n");
		if (f->file)
			buf_printf(&msg, "%s:%u: ", f->file, f->line);
		buf_puts(&msg, f->msg);
		buf_add_tsv_field(&line, buf_str(&msg));
		buf_free(&msg);
	}
	buf_puts(&line, "\n");
	fputs(buf_str(&line), results_file);
	fflush(results_file);
	buf_free(&line);
}

/* ---- -no-fork mode ---- */

/* Ends r, which ran in this process: times it, judges it, reports it. */
static void report_in_process(struct run *r)
{
	r->elapsed_s = seconds_since(cur_start_ns);
	r->passed = r->nfailures == 0;
	r->outcome = r->passed ? "pass" : "fail";
	write_result(r);
	struct buf report = {0};
	format_report(r, NULL, &report);
	fflush(stderr);
	out_write(buf_str(&report), report.len);
	buf_free(&report);
}

/* An exit handler: a test that calls exit() ends the whole program, and
 * that must not pass for success. */
static void exit_during_test(void)
{
	struct run *r = cur_run;
	if (!r)
		return;
	cur_run = NULL;
	add_failure(r, NULL, 0,
	            "the program exited before the test returned: does the "
	            "code under test call exit()?");
	report_in_process(r);
	_exit(1);
}

static void run_in_process(void)
{
	atexit(exit_during_test);
	for (size_t i = 0; i < nruns; i++) {
		struct run *r = &runs[i];
		r->seed = opt.seed_set ? opt.seed : prng_entropy_seed();
		if (opt.verbose)
			printf("=== RUN   %s  seed=0x%" PRIx64 "\n",
			       r->test->name, r->seed);
		fflush(stdout);
		enter_test(r);
		execute_test(r);
		cur_run = NULL;
		report_in_process(r);
	}
}

/* ---- the failure channel: a test process tells the runner how it went ---- */

/*
 * Records are NUL-terminated strings, tagged by their first byte:
 *   F<file>\t<line>\t<message>   a failure (file empty when unknown)
 *   A<n>                         n assertions held
 *   D                            the test function returned
 *   T<seconds>                   the test's virtual time (sim build)
 *   X<reason>                    stuck (sim build): take backtraces,
 *                                kill it, and report reason
 *   C<signal>\t<tid>\t<hex> ...  crashed (on_crash): take backtraces,
 *                                kill it, report where
 * A process that ends without D ended inside its test (runner_fatalf, a
 * crash, a call to exit()).
 */
static void channel_send(const char *tag, const char *fmt, ...)
{
	struct buf rec = {0};
	va_list ap;
	buf_puts(&rec, tag);
	va_start(ap, fmt);
	buf_vprintf(&rec, fmt, ap);
	va_end(ap);
	(void)write_all(fail_channel, rec.p, rec.len + 1); /* with its NUL */
	buf_free(&rec);
}

static void channel_send_failure(const struct failure *f)
{
	channel_send("F", "%s\t%u\t%s", f->file ? f->file : "", f->line,
	             f->msg);
}

/* Reads what a test process sent into r; sets *returned if it sent D. */
static void channel_decode(struct run *r, const struct buf *b, bool *returned,
                           bool *stuck)
{
	*returned = false;
	*stuck = false;
	const char *p = buf_str(b), *end = p + b->len;
	while (p < end) {
		const char *rec = p;
		const char *nul = memchr(p, '\0', (size_t)(end - p));
		if (!nul)
			break; /* cut short: the process died while writing */
		p = nul + 1;
		if (rec[0] == 'D') {
			*returned = true;
		} else if (rec[0] == 'T') {
			r->elapsed_s = strtod(rec + 1, NULL);
		} else if (rec[0] == 'X') {
			*stuck = true;
			add_failure(r, NULL, 0, "%s", rec + 1);
		} else if (rec[0] == 'N') {
			char *tab;
			r->rpcs += strtoull(rec + 1, &tab, 10);
			if (*tab == '\t')
				r->ops += strtoull(tab + 1, NULL, 10);
		} else if (rec[0] == 'A') {
			r->asserts_passed =
			        (unsigned)strtoul(rec + 1, NULL, 10);
		} else if (rec[0] == 'F') {
			const char *tab1 = strchr(rec + 1, '\t');
			const char *tab2 = tab1 ? strchr(tab1 + 1, '\t') : NULL;
			if (!tab2)
				continue;
			struct buf file = {0};
			buf_add(&file, rec + 1, (size_t)(tab1 - rec - 1));
			unsigned line = (unsigned)strtoul(tab1 + 1, NULL, 10);
			add_failure(r, file.len ? file.p : NULL, line, "%s",
			            tab2 + 1);
			buf_free(&file);
		}
	}
}

void runner_report_counts(uint64_t rpcs, uint64_t ops)
{
	if (fail_channel >= 0) {
		channel_send("N", "%" PRIu64 "\t%" PRIu64, rpcs, ops);
	} else if (cur_run) {
		cur_run->rpcs += rpcs;
		cur_run->ops += ops;
	}
}

void runner_check_held(unsigned n)
{
	atomic_fetch_add(&checks_held, n);
}

noreturn void runner_fail_at(const char *file, int line, const char *fmt, ...)
{
	struct buf msg = {0};
	va_list ap;
	va_start(ap, fmt);
	buf_vprintf(&msg, fmt, ap);
	va_end(ap);
	unsigned uline = line > 0 ? (unsigned)line : 0;

	if (fail_channel >= 0) { /* a test process: tell the runner, and end */
		struct failure f = {.file = (char *)base_name(file),
		                    .line = uline,
		                    .msg = (char *)buf_str(&msg)};
		channel_send_failure(&f);
		channel_send("A", "%u",
		             CU_get_number_of_successes() +
		                     atomic_load(&checks_held));
		send_sim_seconds();
		fflush(stdout);
		fflush(stderr);
		_exit(1); /* other threads may still run: no exit handlers */
	}
	if (cur_run) { /* -no-fork: report the test, and end the program */
		struct run *r = cur_run;
		cur_run = NULL;
		add_failure(r, file, uline, "%s", buf_str(&msg));
		report_in_process(r);
		exit(1);
	}
	fprintf(stderr, "%s:%d: %s\n", base_name(file), line, buf_str(&msg));
	exit(1);
}

/* ---- running tests in child processes ---- */

/* What a crashing test process sent (a C record). */
struct crash {
	int sig; /* 0: none came */
	long tid;
	uintptr_t frames[CRASH_FRAMES]; /* return addresses, innermost first */
	int nframes;
};

/* One running test process, and its watchdog's state. */
struct slot {
	struct run *run; /* NULL when the slot is free */
	pid_t pid;       /* the test process, a group leader; 0 once reaped */
	int status;      /* its wait status */
	int out_fd;      /* its stdout and stderr; -1 after EOF */
	int chan_fd;     /* its failure channel; -1 after EOF */
	int log_fd;
	off_t log_len;   /* bytes written to the log */
	off_t out_start; /* where the test's output starts in the log */
	bool out_nl;     /* its output so far is empty or ends with a newline */
	struct buf chan; /* what it sent on the failure channel */
	int64_t start_ns;
	int64_t deadline_ns; /* when the watchdog fires; 0 for never */
	int64_t drain_ns;    /* when to stop waiting for the pipes' EOF */
	bool timed_out;
	bool over_budget; /* killed because -budget ran out */
	bool interrupted;
	bool not_started; /* could not be started (run says why) */
	pid_t gdb_pid;    /* gdb printing its backtraces; 0 when none */
	int gdb_fd;       /* gdb's stdout and stderr; -1 after EOF */
	int64_t gdb_deadline_ns;
	bool gdb_killed;
	struct buf gdb_out;
	struct crash crash; /* sig 0 unless it crashed */
};

static struct slot *slots;
static int nslots;
static pid_t runner_pid;
static int64_t budget_end_ns; /* when -budget runs out; 0 for never */

/* SIGCHLD and the stop signals wake the poll loop through this pipe. */
static int wake_pipe[2] = {-1, -1};
static volatile sig_atomic_t stop_signal;
#define NSTOP_SIGNALS 4
static const int stop_signals[NSTOP_SIGNALS] = {SIGINT, SIGTERM, SIGHUP,
                                                SIGPIPE};
static bool caught[NSTOP_SIGNALS]; /* which of them the runner handles */

static void on_stop_signal(int sig)
{
	int saved = errno;
	/* A second one: the tests were sent SIGKILL, stop waiting for them. */
	if (stop_signal != 0)
		_exit(128 + sig);
	stop_signal = sig;
	(void)!write(wake_pipe[1], "s", 1);
	errno = saved;
}

static void on_sigchld(int sig)
{
	(void)sig;
	int saved = errno;
	(void)!write(wake_pipe[1], "c", 1);
	errno = saved;
}

/* Makes a pipe whose ends close on exec (gdb must not hold the tests'
 * pipes). Returns 0 or a negative errno. */
static int make_pipe(int fds[2])
{
	if (pipe(fds) != 0)
		return -errno;
	fcntl(fds[0], F_SETFD, FD_CLOEXEC);
	fcntl(fds[1], F_SETFD, FD_CLOEXEC);
	return 0;
}

/* Installs the runner's signal handlers, leaving alone a stop signal our
 * caller ignores (as nohup does). Returns 0 or a negative errno. */
static int install_signals(void)
{
	int err = make_pipe(wake_pipe);
	if (err)
		return err;
	fcntl(wake_pipe[0], F_SETFL, O_NONBLOCK);
	fcntl(wake_pipe[1], F_SETFL, O_NONBLOCK);

	struct sigaction sa = {0};
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	for (int i = 0; i < NSTOP_SIGNALS; i++) {
		struct sigaction old;
		sigaction(stop_signals[i], NULL, &old);
		caught[i] = old.sa_handler != SIG_IGN;
		sa.sa_handler = on_stop_signal;
		if (caught[i])
			sigaction(stop_signals[i], &sa, NULL);
	}
	sa.sa_handler = on_sigchld;
	sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
	sigaction(SIGCHLD, &sa, NULL);
	return 0;
}

/* Gives back the default actions of the signals install_signals caught. */
static void restore_signals(void)
{
	struct sigaction sa = {0};
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = SIG_DFL;
	for (int i = 0; i < NSTOP_SIGNALS; i++) {
		if (caught[i])
			sigaction(stop_signals[i], &sa, NULL);
	}
	sigaction(SIGCHLD, &sa, NULL);
}

/* The watchdog's limit for r in seconds, before the time scale; 0 for
 * none. */
static double base_limit_s(const struct run *r)
{
	if (opt.timeout_set)
		return opt.timeout_s;
	return r->test->timeout_s > 0 ? r->test->timeout_s
	                              : RUNNER_DEFAULT_TIMEOUT_S;
}

static void log_write(struct slot *s, const void *p, size_t n)
{
	if (s->log_fd >= 0 && write_all(s->log_fd, p, n))
		s->log_len += (off_t)n;
}

/* ---- crash reports: the test process's side ---- */

#if defined(__GLIBC__) && !defined(RAFTLAB_SANITIZER)
/* Writes v in base 10 or 16 to p without a library call (for a signal
 * handler); returns the number of digits. */
static size_t put_digits(char *p, uintmax_t v, unsigned base)
{
	char rev[3 * sizeof v];
	size_t n = 0;
	do {
		rev[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	for (size_t i = 0; i < n; i++)
		p[i] = rev[n - 1 - i];
	return n;
}

/* The test process; a process it forks inherits on_crash but must not
 * report. */
static pid_t crash_reporter_pid;

/* The address of the instruction a signal interrupted, or 0 where we do
 * not know how to read it. */
static uintptr_t interrupted_pc(void *context)
{
	const ucontext_t *uc = context;
#if defined(__x86_64__)
	return (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
#elif defined(__i386__)
	return (uintptr_t)uc->uc_mcontext.gregs[REG_EIP];
#elif defined(__aarch64__)
	return (uintptr_t)uc->uc_mcontext.pc;
#else
	(void)uc;
	return 0;
#endif
}

/*
 * A crash in the test process: send the runner the signal, the crashing
 * thread's id and its return addresses (a C record), then wait, so that the
 * runner can have gdb print the threads' stacks before it kills us. Only
 * async-signal-safe calls: backtrace() was warmed up when the handler was
 * installed, so it does not load libgcc here.
 */
static void on_crash(int sig, siginfo_t *info, void *context)
{
	(void)info;
	if (syscall(SYS_getpid) != crash_reporter_pid) {
		/* A process the test forked (one that checks an abort, say):
		 * the handler is already reset, so die of the signal as it
		 * expects. */
		raise(sig);
		return;
	}
	void *frames[CRASH_FRAMES];
	int n = backtrace(frames, CRASH_FRAMES);
	/* Send the frames from the interrupted instruction on: the handler's
	 * own and the signal trampoline's (how many depends on the compiler)
	 * are of no interest. */
	uintptr_t pc = interrupted_pc(context);
	int first = n > 2 ? 2 : n;
	for (int i = 0; pc && i < n; i++) {
		if ((uintptr_t)frames[i] == pc) {
			first = i;
			break;
		}
	}
	char rec[64 + CRASH_FRAMES * 20];
	size_t len = 0;
	rec[len++] = 'C';
	len += put_digits(rec + len, (uintmax_t)sig, 10);
	rec[len++] = '\t';
	len += put_digits(rec + len, (uintmax_t)syscall(SYS_gettid), 10);
	rec[len++] = '\t';
	for (int i = first; i < n; i++) {
		if (i > first)
			rec[len++] = ' ';
		len += put_digits(rec + len, (uintptr_t)frames[i], 16);
	}
	rec[len++] = '\0';
	(void)write_all(fail_channel, rec, len);
	alarm(CRASH_WAIT_S); /* should the runner never kill us */
	for (;;) /* not pause(): simulation mode takes that over */
		syscall(SYS_ppoll, NULL, 0, NULL, NULL, 0);
}
#endif

/* Reports the test process's crashes to the runner (on_crash). Sanitizer
 * builds keep the sanitizer's own reports, and a handler someone else set
 * stays. */
static void install_crash_handlers(void)
{
#if defined(__GLIBC__) && !defined(RAFTLAB_SANITIZER)
	static const int crash_signals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL,
	                                    SIGABRT};
	static char alt_stack[1 << 16]; /* for a stack overflow */
	void *warm[1];
	(void)backtrace(warm, 1);
	crash_reporter_pid = getpid();
	stack_t ss = {.ss_sp = alt_stack, .ss_size = sizeof alt_stack};
	(void)sigaltstack(&ss, NULL);
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_crash;
	sigemptyset(&sa.sa_mask);
	/* SA_RESETHAND: a second crash just dies */
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESETHAND;
	for (size_t i = 0; i < sizeof crash_signals / sizeof *crash_signals;
	     i++) {
		struct sigaction old;
		if (sigaction(crash_signals[i], NULL, &old) == 0 &&
		    old.sa_handler == SIG_DFL)
			sigaction(crash_signals[i], &sa, NULL);
	}
#endif
}

/* The test process: wires up stdout/stderr and the failure channel, runs
 * the test, and reports through the channel and its exit status. */
static noreturn void test_process(struct run *r, int out_r, int out_w,
                                  int chan_r, int chan_w)
{
	setpgid(0, 0); /* its own group, so the watchdog kills any stragglers */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != runner_pid)
		_exit(1); /* the runner is already gone */
	restore_signals();

	/* Close the runner's descriptors: other tests' pipes would never see
	 * EOF while we hold them. */
	close_fd(&wake_pipe[0]);
	close_fd(&wake_pipe[1]);
	for (int i = 0; i < nslots; i++) {
		close_fd(&slots[i].out_fd);
		close_fd(&slots[i].chan_fd);
		close_fd(&slots[i].log_fd);
		close_fd(&slots[i].gdb_fd);
	}
	close(out_r);
	close(chan_r);
	int null_fd = open("/dev/null", O_RDONLY);
	if (null_fd >= 0) {
		dup2(null_fd, STDIN_FILENO);
		if (null_fd != STDIN_FILENO)
			close(null_fd);
	}
	dup2(out_w, STDOUT_FILENO);
	dup2(out_w, STDERR_FILENO);
	if (out_w > STDERR_FILENO)
		close(out_w);
	fail_channel = chan_w;
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* Let gdb attach even when Yama allows tracing only by ancestors. */
	(void)prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY, 0, 0, 0);
	install_crash_handlers();

	enter_test(r);
	execute_test(r);
	size_t nsend = r->nfailures < MAX_SENT_FAILURES ? r->nfailures
	                                                : MAX_SENT_FAILURES;
	for (size_t i = 0; i < nsend; i++)
		channel_send_failure(&r->failures[i]);
	if (r->nfailures > nsend)
		channel_send("F", "\t0\t(and %zu more failures)",
		             r->nfailures - nsend);
	channel_send("A", "%u", r->asserts_passed);
	send_sim_seconds();
	channel_send("D", "%s", "");
	if (r->nfailures > 0) {
		fflush(stdout);
		fflush(stderr);
		_exit(1); /* a failed test may have left threads running */
	}
	exit(0); /* exit handlers run: the sanitizers' leak check, for one */
}

/* The log file for r: DIR/SUITE-TEST-SEED.log (a replay of the same seed
 * overwrites it, except among the runs of -count with -seed). */
static char *log_path_for(const struct run *r)
{
	struct buf path = {0};
	buf_printf(&path, "%s/%s-%s-0x%" PRIx64, log_dir, suite_name,
	           r->test->name, r->seed);
	if (opt.seed_set && opt.count > 1)
		buf_printf(&path, "-%d", r->iteration);
	buf_puts(&path, ".log");
	return path.p;
}

/* Starts r in the free slot s. If it cannot, s is left with not_started set
 * and r holds the reason, for finish_slot to report. */
static void start_run(struct slot *s, struct run *r)
{
	*s = (struct slot){.run = r,
	                   .out_fd = -1,
	                   .chan_fd = -1,
	                   .log_fd = -1,
	                   .gdb_fd = -1,
	                   .out_nl = true};
	r->seed = opt.seed_set ? opt.seed : prng_entropy_seed();
	s->start_ns = labtime_now_ns();
	if (budget_end_ns && s->start_ns >= budget_end_ns) {
		r->outcome = "not-run";
		add_failure(r, NULL, 0,
		            "not run: the run's time budget of %g s (-budget) "
		            "ran out",
		            opt.budget_s);
		goto not_started;
	}
	r->log_path = log_path_for(r);

	s->log_fd =
	        open(r->log_path,
	             O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (s->log_fd < 0) {
		add_failure(r, NULL, 0,
		            "the runner cannot create the log %s: %s",
		            r->log_path, strerror(errno));
		free(r->log_path);
		r->log_path = NULL;
		goto not_started;
	}
	struct buf header = {0};
	buf_printf(&header, "=== RUN   %s  seed=0x%" PRIx64 "\n", r->test->name,
	           r->seed);
	log_write(s, header.p, header.len);
	s->out_start = s->log_len;
	if (opt.verbose && opt.parallel == 1)
		out_write(header.p, header.len);
	buf_free(&header);

	int out[2], chan[2];
	int err = make_pipe(out);
	if (err) {
		add_failure(r, NULL, 0, "the runner cannot make a pipe: %s",
		            strerror(-err));
		goto not_started;
	}
	err = make_pipe(chan);
	if (err) {
		add_failure(r, NULL, 0, "the runner cannot make a pipe: %s",
		            strerror(-err));
		goto close_out;
	}
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid < 0) {
		add_failure(r, NULL, 0, "the runner cannot fork: %s",
		            strerror(errno));
		goto close_chan;
	}
	if (pid == 0)
		test_process(r, out[0], out[1], chan[0], chan[1]);
	setpgid(pid, pid); /* as the child does: whichever runs first wins */
	close(out[1]);
	close(chan[1]);
	s->pid = pid;
	s->out_fd = out[0];
	s->chan_fd = chan[0];
	double limit = base_limit_s(r) * time_scale;
	if (limit > 0)
		s->deadline_ns = s->start_ns + (int64_t)(limit * 1e9);
	if (budget_end_ns && (!s->deadline_ns || budget_end_ns < s->deadline_ns))
		s->deadline_ns = budget_end_ns;
	return;

close_chan:
	close(chan[0]);
	close(chan[1]);
close_out:
	close(out[0]);
	close(out[1]);
not_started:
	s->not_started = true;
}

/* Starts gdb to print the backtraces of s's threads. Returns 0 or a
 * negative errno. */
static int start_gdb(struct slot *s)
{
	char pid[32];
	snprintf(pid, sizeof pid, "%d", (int)s->pid);
	int out[2];
	int err = make_pipe(out);
	if (err)
		return err;
	fflush(stdout);
	fflush(stderr);
	pid_t gdb = fork();
	if (gdb < 0) {
		err = -errno;
		close(out[0]);
		close(out[1]);
		return err;
	}
	if (gdb == 0) {
		setpgid(0, 0);
		int null_fd = open("/dev/null", O_RDONLY);
		if (null_fd >= 0)
			dup2(null_fd, STDIN_FILENO);
		dup2(out[1], STDOUT_FILENO);
		dup2(out[1], STDERR_FILENO);
		/* No symbol downloads while the watchdog waits. */
		unsetenv("DEBUGINFOD_URLS");
		execl(gdb_path, "gdb", "-p", pid, "-batch", "-nx", "-ex",
		      "set pagination off", "-ex", "set width 0", "-ex",
		      "thread apply all bt",
		      (char *)NULL);
		_exit(127);
	}
	setpgid(gdb, gdb);
	close(out[1]);
	s->gdb_pid = gdb;
	s->gdb_fd = out[0];
	s->gdb_deadline_ns =
	        labtime_now_ns() + (int64_t)GDB_TIMEOUT_S * 1000000000;
	return 0;
}

/* The watchdog fired: backtraces first (if gdb can), then SIGKILL. */
static void on_timeout(struct slot *s, int64_t now)
{
	s->timed_out = true;
	s->over_budget = s->deadline_ns == budget_end_ns;
	s->run->elapsed_s = (double)(now - s->start_ns) / 1e9;
	/* Out of budget, it was not stuck: no backtraces. */
	if (s->over_budget || !gdb_path || start_gdb(s) != 0)
		kill(-s->pid, SIGKILL);
	/* else reap_slot kills it once gdb is done */
}

/* Kills everything s runs, for a stop signal. */
static void interrupt_slot(struct slot *s)
{
	if (!s->run || s->not_started)
		return;
	s->interrupted = true;
	if (s->pid)
		kill(-s->pid, SIGKILL);
	if (s->gdb_pid)
		kill(-s->gdb_pid, SIGKILL);
}

static void extend_drain(struct slot *s)
{
	s->drain_ns = labtime_now_ns() + (int64_t)DRAIN_TIMEOUT_S * 1000000000;
}

/* Reaps whatever of s has ended: gdb, then the test process. */
static void reap_slot(struct slot *s)
{
	if (s->gdb_pid) {
		int status;
		pid_t p = waitpid(s->gdb_pid, &status, WNOHANG);
		if (p == s->gdb_pid || (p < 0 && errno == ECHILD)) {
			s->gdb_pid = 0;
			extend_drain(s);
			if (s->pid) /* it timed out or crashed */
				kill(-s->pid, SIGKILL);
		}
	}
	if (s->pid) {
		siginfo_t info;
		memset(&info, 0, sizeof info);
		/* Peek first: while the leader is a zombie its group id cannot
		 * be reused, so killing the group's stragglers is safe. */
		if (waitid(P_PID, (id_t)s->pid, &info,
		           WEXITED | WNOHANG | WNOWAIT) != 0 ||
		    info.si_pid != s->pid)
			return;
		kill(-s->pid, SIGKILL);
		while (waitpid(s->pid, &s->status, 0) < 0 && errno == EINTR)
			;
		if (!s->timed_out && !s->crash.sig)
			s->run->elapsed_s = seconds_since(s->start_ns);
		s->pid = 0;
		extend_drain(s);
	}
}

static bool slot_done(const struct slot *s)
{
	return s->run &&
	       (s->not_started || (!s->pid && !s->gdb_pid && s->out_fd < 0 &&
	                           s->chan_fd < 0 && s->gdb_fd < 0));
}

/* Whether a test process's channel holds an X record (sim: stuck). */
static bool channel_says_stuck(const struct buf *b)
{
	const char *p = b->p, *end = b->p + b->len;
	while (p && p < end) {
		if (*p == 'X')
			return true;
		const char *nul = memchr(p, '\0', (size_t)(end - p));
		p = nul ? nul + 1 : NULL;
	}
	return false;
}

/* Finds a C record (a crash) in a test process's channel and decodes it
 * into c; false if there is none. */
static bool channel_find_crash(const struct buf *b, struct crash *c)
{
	const char *p = b->p, *end = b->p + b->len;
	while (p && p < end) {
		const char *nul = memchr(p, '\0', (size_t)(end - p));
		if (!nul)
			return false; /* the rest is still coming */
		if (*p == 'C') {
			char *q;
			*c = (struct crash){.sig = (int)strtol(p + 1, &q, 10)};
			c->tid = *q == '\t' ? strtol(q + 1, &q, 10) : 0;
			while (*q && c->nframes < CRASH_FRAMES) {
				char *next;
				uintptr_t a = (uintptr_t)strtoull(q + 1, &next,
				                                  16);
				if (next == q + 1)
					break;
				c->frames[c->nframes++] = a;
				q = next;
			}
			if (c->sig <= 0)
				c->sig = SIGABRT; /* a garbled record */
			return true;
		}
		p = nul + 1;
	}
	return false;
}

/* s's test process crashed and waits in on_crash: backtraces (if gdb can),
 * then SIGKILL. */
static void on_crash_record(struct slot *s)
{
	s->run->elapsed_s = seconds_since(s->start_ns);
	if (!gdb_path || start_gdb(s) != 0)
		kill(-s->pid, SIGKILL);
	/* else reap_slot kills it once gdb is done */
}

/* Reads what is ready on one of s's pipes. */
static void read_pipe(struct slot *s, int *fd)
{
	char chunk[1 << 16];
	ssize_t n = read(*fd, chunk, sizeof chunk);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		close_fd(fd);
		return;
	}
	if (fd == &s->out_fd) {
		log_write(s, chunk, (size_t)n);
		if (opt.parallel == 1)
			out_write(chunk, (size_t)n);
		s->out_nl = chunk[n - 1] == '\n';
	} else if (fd == &s->chan_fd) {
		if (s->chan.len < CHANNEL_CAP)
			buf_add(&s->chan, chunk, (size_t)n);
		if (s->timed_out || s->crash.sig)
			return;
		if (channel_find_crash(&s->chan, &s->crash))
			on_crash_record(s);
		else if (channel_says_stuck(&s->chan))
			on_timeout(s, labtime_now_ns());
	} else if (s->gdb_out.len < GDB_OUTPUT_CAP) {
		buf_add(&s->gdb_out, chunk, (size_t)n);
	}
}

/* ---- crash reports: the runner's side ---- */

static char *find_program(const char *name);

/* Whether path, a source file as gdb or addr2line print it, is one of the
 * files students write: those of the labs, or the colon-separated list in
 * $RAFTLAB_STUDENT_FILES (path endings, for a course's own layout). */
static bool is_student_file(const char *path, size_t n)
{
	static const char default_files[] =
	        "raft/raft.c:raft/skeleton/raft.c:kvraft/client.c:"
	        "kvraft/server.c:kvraft/skeleton/client.c:"
	        "kvraft/skeleton/server.c";
	const char *files = getenv("RAFTLAB_STUDENT_FILES");
	if (!files || !*files)
		files = default_files;
	for (const char *f = files; *f;) {
		size_t k = strcspn(f, ":");
		if (k > 0 && n >= k && memcmp(path + n - k, f, k) == 0 &&
		    (n == k || path[n - k - 1] == '/'))
			return true;
		f += k + (f[k] == ':');
	}
	return false;
}

/* Whether path is raftlab's source (not the C library's, whose debug
 * information names files like ./nptl/pthread_kill.c). */
static bool is_project_file(const char *path, size_t n)
{
	return n > 0 && path[0] != '.' && strncmp(path, "/usr/", 5) != 0 &&
	       !(n == 2 && path[0] == '?');
}

/* Whether path is one of the runner's own sources (runner/NAME.c), whose
 * frames, its signal handlers' say, are not a test's: runner/selftest.c,
 * the runner's self-test, is a test like the others. */
static bool is_runner_file(const char *path, size_t n)
{
	static const char dir[] = "runner/", selftest[] = "runner/selftest.c";
	return n > sizeof dir - 1 && memcmp(path, dir, sizeof dir - 1) == 0 &&
	       !(n == sizeof selftest - 1 && memcmp(path, selftest, n) == 0);
}

/* One frame of a backtrace line, "#N  [0x... in ]FUNC [(ARGS)] at
 * FILE:LINE" (gdb's form, and ours): false if the line has no FILE:LINE. */
struct frame {
	const char *func, *file;
	size_t func_len, file_len;
	unsigned line;
};

static bool parse_frame(const char *text, size_t n, struct frame *f)
{
	if (n < 2 || text[0] != '#')
		return false;
	const char *end = text + n, *at = NULL;
	for (const char *p = text; p + 4 <= end; p++)
		if (memcmp(p, " at ", 4) == 0)
			at = p; /* the last one */
	if (!at)
		return false;
	const char *file = at + 4, *colon = NULL;
	for (const char *p = file; p < end && *p != ' '; p++)
		if (*p == ':')
			colon = p;
	if (!colon || colon + 1 >= end || colon[1] < '0' || colon[1] > '9')
		return false;
	const char *p = text + 1;
	while (p < end && *p >= '0' && *p <= '9')
		p++;
	while (p < end && *p == ' ')
		p++;
	if (end - p > 2 && p[0] == '0' && p[1] == 'x') {
		const char *in = p;
		while (in + 4 <= end && memcmp(in, " in ", 4) != 0)
			in++;
		p = in + 4 <= end ? in + 4 : p;
	}
	const char *func = p;
	while (p < end && *p != ' ' && *p != '(')
		p++;
	*f = (struct frame){.func = func,
	                    .func_len = (size_t)(p - func),
	                    .file = file,
	                    .file_len = (size_t)(colon - file),
	                    .line = (unsigned)strtoul(colon + 1, NULL, 10)};
	return f->func_len > 0;
}

/* The frame to blame in a backtrace (lines of frames, innermost first):
 * the innermost in a student's file, else the innermost in raftlab's. */
static bool blame_frame(const char *text, struct frame *out)
{
	bool found = false;
	for (const char *line = text; line && *line;) {
		const char *nl = strchr(line, '\n');
		size_t n = nl ? (size_t)(nl - line) : strlen(line);
		const char *t = line;
		while (n > 0 && *t == ' ')
			t++, n--;
		struct frame f;
		if (parse_frame(t, n, &f) &&
		    is_project_file(f.file, f.file_len)) {
			if (is_student_file(f.file, f.file_len)) {
				*out = f;
				return true;
			}
			if (!found)
				*out = f;
			found = true;
		}
		line = nl ? nl + 1 : NULL;
	}
	return found;
}

/* Whether a frame line is CUnit's or the runner's, below the test. */
static bool is_runner_frame(const char *line, size_t n)
{
	return memmem(line, n, "libcunit", 8) ||
	       memmem(line, n, " execute_test ", 14) ||
	       memmem(line, n, "[Inferior ", 10);
}

/* The crashing thread's frames from gdb's dump (those below the signal
 * handler), one per line; false if gdb's output lacks that thread. */
static bool crash_frames_from_gdb(const struct slot *s, struct buf *out)
{
	char key[48];
	snprintf(key, sizeof key, "(LWP %ld)", s->crash.tid);
	const char *hdr = strstr(buf_str(&s->gdb_out), key);
	const char *first = hdr ? strchr(hdr, '\n') : NULL;
	if (!first)
		return false;
	first++;
	const char *stop = first;
	while (*stop && *stop != '\n' && strncmp(stop, "Thread ", 7) != 0) {
		const char *nl = strchr(stop, '\n');
		size_t n = nl ? (size_t)(nl - stop) : strlen(stop);
		if (memmem(stop, n, "<signal handler called>", 23))
			first = nl ? nl + 1 : stop + n;
		else if (first < stop && is_runner_frame(stop, n))
			break;
		stop += n + (nl != NULL);
	}
	if (first < stop)
		buf_add(out, first, (size_t)(stop - first));
	return out->len > 0;
}

/* Where an address is: the loaded object holding it and its load bias. */
struct object_find {
	uintptr_t addr;
	bool found, main_program;
	uintptr_t bias;
};

static int find_object(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	struct object_find *f = data;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
		if (ph->p_type == PT_LOAD && f->addr >= lo &&
		    f->addr < lo + ph->p_memsz) {
			f->found = true;
			f->main_program = info->dlpi_name[0] == '\0';
			f->bias = info->dlpi_addr;
			return 1;
		}
	}
	return 0;
}

/* Runs argv (a program given by path) and returns its stdout, or NULL. */
static char *run_for_output(char *const argv[])
{
	int out[2];
	if (make_pipe(out) != 0)
		return NULL;
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid < 0) {
		close(out[0]);
		close(out[1]);
		return NULL;
	}
	if (pid == 0) {
		int null_fd = open("/dev/null", O_RDWR);
		if (null_fd >= 0) {
			dup2(null_fd, STDIN_FILENO);
			dup2(null_fd, STDERR_FILENO);
		}
		dup2(out[1], STDOUT_FILENO);
		execv(argv[0], argv);
		_exit(127);
	}
	close(out[1]);
	struct buf b = {0};
	char chunk[4096];
	for (;;) {
		ssize_t n = read(out[0], chunk, sizeof chunk);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		buf_add(&b, chunk, (size_t)n);
	}
	close(out[0]);
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		buf_free(&b);
		return NULL;
	}
	return b.p ? b.p : xstrdup("");
}

/*
 * The crashing thread's frames from the addresses it sent, without gdb:
 * addr2line names the program's own (this runner is the same program, at
 * the same addresses, as the test process it forked), backtrace_symbols
 * the C library's. Frame 0 is the interrupted instruction, the others are
 * return addresses.
 */
static bool crash_frames_symbolized(const struct crash *c, struct buf *out)
{
#ifdef __GLIBC__
	if (c->nframes == 0)
		return false;
	int n = c->nframes;
	void *addrs[CRASH_FRAMES];
	struct object_find where[CRASH_FRAMES];
	char hex[CRASH_FRAMES][24];
	char *argv[8 + CRASH_FRAMES];
	int argc = 0, nlookups = 0;
	char *addr2line = find_program("addr2line");
	char exe[PATH_MAX]; /* ours, which is the test process's */
	ssize_t exe_len = readlink("/proc/self/exe", exe, sizeof exe - 1);
	exe[exe_len > 0 ? exe_len : 0] = '\0';
	argv[argc++] = addr2line;
	argv[argc++] = "-C";
	argv[argc++] = "-f";
	argv[argc++] = "-p";
	argv[argc++] = "-e";
	argv[argc++] = exe;
	for (int i = 0; i < n; i++) {
		uintptr_t a = c->frames[i];
		addrs[i] = (void *)a;
		/* a return address: the call is the byte before it */
		where[i] = (struct object_find){.addr = i > 0 ? a - 1 : a};
		dl_iterate_phdr(find_object, &where[i]);
		if (where[i].main_program) {
			snprintf(hex[i], sizeof hex[i], "0x%" PRIxPTR,
			         where[i].addr - where[i].bias);
			argv[argc++] = hex[i];
			nlookups++;
		}
	}
	argv[argc] = NULL;
	char *lines = addr2line && exe_len > 0 && nlookups
	                      ? run_for_output(argv)
	                      : NULL;
	char **syms = backtrace_symbols(addrs, n);
	const char *next = lines;
	for (int i = 0; i < n; i++) {
		if (syms && is_runner_frame(syms[i], strlen(syms[i])))
			break;
		if (where[i].main_program && next && *next &&
		    is_runner_frame(next, strcspn(next, "\n")))
			break;
		buf_printf(out, "#%-2d ", i);
		if (where[i].main_program && next && *next) {
			const char *nl = strchr(next, '\n');
			size_t len = nl ? (size_t)(nl - next) : strlen(next);
			const char *disc = memmem(next, len, " (discriminator",
			                          15);
			buf_add(out, next, disc ? (size_t)(disc - next) : len);
			next = nl ? nl + 1 : "";
		} else {
			/* "/lib/.../libc.so.6(abort+0xd3) [0x...]" */
			const char *sym = syms ? syms[i] : "??";
			const char *open_paren = strchr(sym, '(');
			const char *close_paren =
			        open_paren ? strchr(open_paren, ')') : NULL;
			buf_printf(out, "0x%" PRIxPTR " in ",
			           (uintptr_t)addrs[i]);
			if (close_paren && close_paren > open_paren + 1 &&
			    open_paren[1] != '+') {
				buf_add(out, open_paren + 1,
				        (size_t)(close_paren - open_paren - 1));
				buf_puts(out, " ");
			} else {
				buf_puts(out, "?? ");
			}
			const char *obj = open_paren ? open_paren : sym + strlen(sym);
			const char *slash = obj;
			while (slash > sym && slash[-1] != '/')
				slash--;
			buf_puts(out, "from ");
			buf_add(out, slash, (size_t)(obj - slash));
		}
		buf_puts(out, "\n");
	}
	free(syms);
	free(lines);
	free(addr2line);
	return true;
#else
	(void)c;
	(void)out;
	return false;
#endif
}

/* Reports s's crash: the failure (at the frame to blame), the crashing
 * thread's frames, and the commands that show more. */
static void format_crash(struct slot *s, struct buf *d)
{
	struct run *r = s->run;
	int sig = s->crash.sig;
	struct buf frames = {0};
	const char *source = crash_frames_from_gdb(s, &frames) ? "gdb"
	                     : crash_frames_symbolized(&s->crash, &frames)
	                             ? "its return addresses"
	                             : NULL;
	struct frame f;
	if (source && blame_frame(buf_str(&frames), &f)) {
		struct buf file = {0}, func = {0};
		buf_add(&file, f.file, f.file_len);
		buf_add(&func, f.func, f.func_len);
		add_failure(r, file.p, f.line, "crashed: signal %d (%s) in %s",
		            sig, strsignal(sig), func.p);
		buf_free(&file);
		buf_free(&func);
	} else {
		add_failure(r, NULL, 0, "crashed: signal %d (%s)", sig,
		            strsignal(sig));
	}
	if (source) {
		buf_printf(d, INDENT "the crashing thread (from %s):\n", source);
		buf_add_indented(d, frames.p, frames.len, INDENT2, INDENT2);
	} else {
		buf_puts(d, INDENT "(install gdb to see where it crashed)\n");
	}
	buf_free(&frames);

	struct buf cmd = {0}, pattern = {0};
	buf_printf(&pattern, "^%s$", r->test->name);
	buf_puts(&cmd, " -run ");
	buf_add_shell_word(&cmd, pattern.p);
	buf_printf(&cmd, " -seed 0x%" PRIx64, r->seed);
	buf_puts(d, INDENT "to stop at the crash in gdb:\n" INDENT2
	                   "gdb -ex run --args ");
	buf_add_shell_word(d, prog);
	buf_printf(d, " -no-fork%s\n", cmd.p);
#ifdef RAFTLAB_SIM
	const char *asan = "SIM=1 SAN=address", *dir = "build/sim-address";
#else
	const char *asan = "SAN=address", *dir = "build/address";
#endif
	buf_printf(d,
	           INDENT "AddressSanitizer names bad memory use where it "
	                  "happens:\n" INDENT2 "make %s && %s/%s%s\n",
	           asan, dir, prog_name, cmd.p);
	buf_free(&cmd);
	buf_free(&pattern);
}

/* ---- hang reports: gdb's dump, grouped by stack, the student's first ---- */

/* One thread of gdb's "thread apply all bt": its header line and frames. */
struct gdb_thread {
	const char *header, *frames;
	size_t header_len, frames_len;
	int number; /* gdb's thread number */
	char *key;  /* its stack without addresses and arguments */
	int group;
};

/* A set of threads with the same stack. */
struct stack_group {
	int first; /* its first thread, in gdb's order */
	int count;
	int rank;  /* 0: student code in the stack, 1: tests or config, 2: rest */
	int state; /* 0: running, 1: waiting for a lock, 2: waiting otherwise */
	struct buf place; /* "blocked in pthread_mutex_lock ← raft_start" */
};

/* A frame line without its number, address and arguments: "FUNC at
 * FILE:LINE" or "FUNC from LIB", for comparing stacks. */
static void frame_key(const char *line, size_t n, struct buf *key)
{
	const char *end = line + n, *p = line + 1;
	while (p < end && *p != ' ')
		p++;
	while (p < end && *p == ' ')
		p++;
	if (end - p > 2 && p[0] == '0' && p[1] == 'x') {
		const char *in = memmem(p, (size_t)(end - p), " in ", 4);
		if (in)
			p = in + 4;
	}
	const char *func = p;
	while (p < end && *p != ' ' && *p != '(')
		p++;
	buf_add(key, func, (size_t)(p - func));
	const char *tail = NULL;
	for (const char *q = p; q + 4 <= end; q++)
		if (memcmp(q, " at ", 4) == 0 ||
		    (q + 6 <= end && memcmp(q, " from ", 6) == 0))
			tail = q;
	if (tail)
		buf_add(key, tail, (size_t)(end - tail));
	buf_puts(key, "\n");
}

/* A C library function's name without the underscores and aliases gdb
 * shows: "___pthread_mutex_lock" -> "pthread_mutex_lock" (and simulation
 * mode's "__wrap_pthread_mutex_lock" and the sanitizers'
 * "__interceptor_pthread_join" too). */
static void plain_name(const char *func, size_t n, struct buf *out)
{
	for (bool again = true; again;) {
		again = false;
		if (n > 0 && *func == '_') {
			func++, n--, again = true;
		} else if (n > 3 && memcmp(func, "GI_", 3) == 0) {
			func += 3, n -= 3, again = true;
		} else if (n > 5 && memcmp(func, "wrap_", 5) == 0) {
			func += 5, n -= 5, again = true; /* sim's __wrap_ */
		} else if (n > 12 && memcmp(func, "interceptor_", 12) == 0) {
			func += 12, n -= 12, again = true; /* sanitizers' */
		} else if (n > 8 && memcmp(func, "new_sem_", 8) == 0) {
			func += 4, n -= 4, again = true; /* glibc's sem_wait */
		}
	}
	if (n > 2 && memcmp(func + n - 2, "64", 2) == 0)
		n -= 2; /* pthread_cond_timedwait64: the 64-bit time_t one */
	buf_add(out, func, n);
}

/* Describes where a thread is, from its frames: "blocked in WAIT ← FUNC
 * (FILE:LINE)", with the student's frame too when the innermost of
 * raftlab's is not one; sets *rank. */
static void describe_place(const char *frames, size_t len, struct buf *out,
                           int *rank, int *state)
{
	struct buf wait = {0};
	bool wait_named = false; /* by simulation mode's call= */
	struct frame inner = {0}, student = {0};
	bool have_inner = false, have_student = false;
	const char *end = frames + len;
	for (const char *line = frames; line < end;) {
		const char *nl = memchr(line, '\n', (size_t)(end - line));
		size_t n = nl ? (size_t)(nl - line) : (size_t)(end - line);
		struct frame f;
		bool parsed = parse_frame(line, n, &f);
		/* simulation mode's wrappers, and the runner's handlers,
		 * count as the C library's */
		bool sim_frame = parsed && ((f.file_len > 4 &&
		                             memcmp(f.file, "sim/", 4) == 0) ||
		                            is_runner_file(f.file, f.file_len));
		if (parsed && !sim_frame && is_project_file(f.file, f.file_len)) {
			if (!have_inner)
				inner = f, have_inner = true;
			if (is_student_file(f.file, f.file_len)) {
				student = f, have_student = true;
				break;
			}
		} else if (!have_inner && n > 1 && line[0] == '#') {
			/* the C library's: the last before raftlab's frames
			 * is the call it waits in */
			struct buf key = {0};
			frame_key(line, n, &key);
			size_t k = strcspn(key.p, " \n");
			/* simulation mode's wait names the call it stands
			 * for: call=0x... "pthread_mutex_lock" */
			const char *call = memmem(line, n, "call=", 5);
			const char *q1 = call ? memchr(call, '"',
			                               (size_t)(line + n - call))
			                      : NULL;
			const char *q2 = q1 ? memchr(q1 + 1, '"',
			                             (size_t)(line + n - q1 - 1))
			                    : NULL;
			if (q2 && q2 > q1 + 1) {
				wait.len = 0;
				buf_add(&wait, q1 + 1, (size_t)(q2 - q1 - 1));
				wait_named = true;
			} else if (!wait_named && k > 0 &&
			           !(k == 2 && key.p[0] == '?')) {
				wait.len = 0;
				plain_name(key.p, k, &wait);
			}
			buf_free(&key);
		}
		line += n + (nl != NULL);
	}
	if (!have_inner) {
		buf_printf(out, "in %s (no raftlab frames)",
		           wait.len ? wait.p : "??");
		*rank = 2;
		*state = 2;
	} else {
		if (wait.len)
			buf_printf(out, "blocked in %s \u2190 ", wait.p);
		else
			buf_puts(out, "running in ");
		buf_printf(out, "%.*s (%.*s:%u)", (int)inner.func_len,
		           inner.func, (int)inner.file_len, inner.file,
		           inner.line);
		if (have_student && student.func != inner.func)
			buf_printf(out, " \u2190 %.*s (%.*s:%u)",
			           (int)student.func_len, student.func,
			           (int)student.file_len, student.file,
			           student.line);
		/* (runner/ here is the runner's self-test: its own frames
		 * were passed over) */
		bool harness = (inner.file_len > 6 &&
		                (memcmp(inner.file, "tests/", 6) == 0)) ||
		               (inner.file_len > 7 &&
		                (memcmp(inner.file, "config/", 7) == 0 ||
		                 memcmp(inner.file, "runner/", 7) == 0));
		*rank = have_student ? 0 : harness ? 1 : 2;
		*state = !wait.len                      ? 0
		         : strstr(wait.p, "mutex") ||
		                   strstr(wait.p, "rwlock") ||
		                   strstr(wait.p, "spin_lock")
		                 ? 1
		                 : 2;
	}
	buf_free(&wait);
}

/* The length of the frames (lines) that are above CUnit's and the
 * runner's own. */
static size_t frames_above_runner(const char *frames, size_t len)
{
	const char *end = frames + len;
	for (const char *line = frames; line < end;) {
		const char *nl = memchr(line, '\n', (size_t)(end - line));
		size_t n = nl ? (size_t)(nl - line) : (size_t)(end - line);
		if (is_runner_frame(line, n))
			return (size_t)(line - frames);
		line += n + (nl != NULL);
	}
	return len;
}

/* Whether group a is listed before b in a hang report. */
static bool group_before(const struct stack_group *a,
                         const struct stack_group *b)
{
	if (a->rank != b->rank)
		return a->rank < b->rank;
	if (a->state != b->state)
		return a->state < b->state;
	return a->count < b->count;
}

/* Splits gdb's dump (from its first "Thread N" line) into threads. */
static size_t parse_gdb_threads(const char *text, struct gdb_thread **out)
{
	struct gdb_thread *t = NULL;
	size_t n = 0;
	for (const char *line = text; *line;) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		if (strncmp(line, "Thread ", 7) == 0) {
			t = xrealloc(t, (n + 1) * sizeof *t);
			t[n++] = (struct gdb_thread){
			        .header = line,
			        .header_len = len,
			        .frames = line + len + (nl != NULL),
			        .number = atoi(line + 7),
			        .group = -1};
		} else if (n > 0 && len > 0 && line[0] == '#') {
			struct gdb_thread *cur = &t[n - 1];
			cur->frames_len = (size_t)(line + len - cur->frames) +
			                  (nl != NULL);
		}
		line += len + (nl != NULL);
	}
	*out = t;
	return n;
}

/* Appends where a hung test's threads are, from gdb: a line per distinct
 * stack (the student's first), then those stacks; *full gets the whole
 * dump, for the log. */
static void format_backtraces(const struct slot *s, struct buf *d,
                              struct buf *full)
{
	if (!gdb_path) {
		buf_puts(d, INDENT "(install gdb to see the threads' "
		                   "backtraces)\n");
		return;
	}
	/* Skip gdb's preamble (symbol loading, the current frame): the
	 * backtraces start at the first "Thread N (...)" line. */
	const char *text = buf_str(&s->gdb_out);
	const char *start =
	        strncmp(text, "Thread ", 7) ? strstr(text, "\nThread ") : text;
	if (!start) {
		const char *why = s->gdb_killed ? "gdb was too slow"
		                                : "gdb could not attach";
		buf_printf(d, INDENT "(no backtraces: %s)\n", why);
		return;
	}
	if (*start == '\n')
		start++;

	struct gdb_thread *threads;
	size_t nthreads = parse_gdb_threads(start, &threads);
	struct stack_group *groups =
	        xrealloc(NULL, (nthreads + 1) * sizeof *groups);
	size_t ngroups = 0;
	for (size_t i = 0; i < nthreads; i++) {
		struct gdb_thread *t = &threads[i];
		struct buf key = {0};
		const char *end = t->frames + t->frames_len;
		for (const char *line = t->frames; line < end;) {
			const char *nl = memchr(line, '\n', (size_t)(end - line));
			size_t n = nl ? (size_t)(nl - line) : (size_t)(end - line);
			if (is_runner_frame(line, n))
				break;
			if (n > 0 && line[0] == '#')
				frame_key(line, n, &key);
			line += n + (nl != NULL);
		}
		t->key = key.p ? key.p : xstrdup("");
		for (size_t g = 0; g < ngroups; g++)
			if (strcmp(threads[groups[g].first].key, t->key) == 0) {
				t->group = (int)g;
				groups[g].count++;
				break;
			}
		if (t->group < 0) {
			t->group = (int)ngroups;
			groups[ngroups] = (struct stack_group){.first = (int)i,
			                                       .count = 1};
			describe_place(t->frames, t->frames_len,
			               &groups[ngroups].place,
			               &groups[ngroups].rank,
			               &groups[ngroups].state);
			ngroups++;
		}
	}

	/* Stacks that differ only below the place they wait at (how the
	 * thread started, say) share a summary line. */
	for (size_t g = 0; g < ngroups; g++)
		for (size_t h = 0; h < g; h++)
			if (groups[h].count > 0 &&
			    strcmp(buf_str(&groups[h].place),
			           buf_str(&groups[g].place)) == 0) {
				groups[h].count += groups[g].count;
				groups[g].count = 0;
				for (size_t i = 0; i < nthreads; i++)
					if (threads[i].group == (int)g)
						threads[i].group = (int)h;
				break;
			}
	bool any_student = false;
	for (size_t g = 0; g < ngroups; g++)
		any_student |= groups[g].rank == 0 && groups[g].count > 0;
	buf_printf(d,
	           INDENT "where the test's %zu threads are (gdb; %s):\n",
	           nthreads,
	           any_student ? "yours first" : "no thread is in your code");
	/* Yours first; among them a thread running or waiting for a lock
	 * first, and a lone thread before a crowd: in a deadlock the
	 * culprit is one thread, its victims pile up. */
	size_t *order = xrealloc(NULL, (ngroups + 1) * sizeof *order);
	for (size_t g = 0; g < ngroups; g++)
		order[g] = g;
	for (size_t i = 1; i < ngroups; i++)
		for (size_t j = i; j > 0 && group_before(&groups[order[j]],
		                                         &groups[order[j - 1]]);
		     j--) {
			size_t tmp = order[j];
			order[j] = order[j - 1];
			order[j - 1] = tmp;
		}
	for (size_t k = 0; k < ngroups; k++) {
		const struct stack_group *grp = &groups[order[k]];
		if (grp->count == 0)
			continue; /* merged into another */
		buf_printf(d, INDENT2 "%d thread%s %s\n", grp->count,
		           grp->count == 1 ? " " : "s", buf_str(&grp->place));
	}
	/* The stacks: yours when some are, else every distinct one. */
	buf_printf(d, INDENT "%s:\n",
	           any_student ? "the stacks in your code"
	                       : "each distinct stack");
	size_t shown = 0;
	for (size_t k = 0; k < ngroups; k++) {
		const struct stack_group *g = &groups[order[k]];
		if (g->count == 0 || (any_student && g->rank != 0))
			continue;
		if (shown++ == MAX_STACKS_SHOWN) {
			buf_printf(d, INDENT2 "(and more: every thread's "
			                      "backtrace is in the log)\n");
			break;
		}
		const struct gdb_thread *t = &threads[g->first];
		if (g->count == 1) {
			buf_printf(d, INDENT2 "%.*s\n", (int)t->header_len,
			           t->header);
		} else {
			struct buf numbers = {0};
			for (size_t i = 0; i < nthreads; i++)
				if (threads[i].group == (int)order[k])
					buf_printf(&numbers, "%s%d",
					           numbers.len ? ", " : "",
					           threads[i].number);
			buf_printf(d, INDENT2 "Threads %s (%d, the same stack):\n",
			           numbers.p, g->count);
			buf_free(&numbers);
		}
		buf_add_indented(d, t->frames,
		                 frames_above_runner(t->frames, t->frames_len),
		                 INDENT2, INDENT2);
	}
	if (s->gdb_killed)
		buf_printf(d, INDENT "(gdb was stopped after %d s)\n",
		           GDB_TIMEOUT_S);
	if (nthreads > 0 && s->log_fd >= 0)
		buf_printf(d, INDENT "every thread's backtrace: at the end of "
		                     "the log\n");

	buf_puts(full, "\nbacktraces of every thread of the test (gdb):\n");
	for (const char *line = start; *line;) {
		const char *nl = strchr(line, '\n');
		size_t n = nl ? (size_t)(nl - line) : strlen(line);
		if (strncmp(line, "[Inferior ", 10) != 0) {
			buf_add(full, line, n);
			buf_puts(full, "\n");
		}
		line += n + (nl != NULL);
	}
	free(order);
	for (size_t i = 0; i < nthreads; i++)
		free(threads[i].key);
	for (size_t g = 0; g < ngroups; g++)
		buf_free(&groups[g].place);
	free(groups);
	free(threads);
}

/* Appends the last LAST_LINES lines of s's output, read back from its log. */
static void format_last_lines(const struct slot *s, off_t out_end,
                              struct buf *d)
{
	off_t len = out_end - s->out_start;
	if (len <= 0) {
		buf_puts(d, INDENT "(the test printed nothing)\n");
		return;
	}
	size_t want = len < LAST_LINES_WINDOW ? (size_t)len : LAST_LINES_WINDOW;
	off_t from = out_end - (off_t)want;
	char *text = xrealloc(NULL, want);
	size_t got = 0;
	while (got < want) {
		ssize_t n = pread(s->log_fd, text + got, want - got,
		                  from + (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	size_t end = got;
	if (end > 0 && text[end - 1] == '\n')
		end--;
	size_t begin = end;
	int lines = 1;
	while (begin > 0) {
		if (text[begin - 1] == '\n' && ++lines > LAST_LINES)
			break;
		begin--;
	}
	bool whole = begin == 0 && from == s->out_start;
	if (begin == 0 && !whole) { /* the window starts mid-line: skip that */
		const char *nl = memchr(text, '\n', end);
		begin = nl ? (size_t)(nl - text) + 1 : 0;
	}
	int shown = 1;
	for (size_t i = begin; i < end; i++)
		shown += text[i] == '\n';
	if (whole)
		buf_printf(d, INDENT "its output (%d line%s):\n", shown,
		           shown == 1 ? "" : "s");
	else
		buf_printf(d, INDENT "its last %d lines of output:\n", shown);
	buf_add_indented(d, text + begin, end - begin, INDENT2, INDENT2);
	free(text);
}

/* Copies the log from offset from to our stdout (-parallel output). */
static void copy_log_to_stdout(const struct slot *s, off_t from)
{
	char chunk[1 << 16];
	for (off_t at = from; at < s->log_len;) {
		ssize_t n = pread(s->log_fd, chunk, sizeof chunk, at);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		fwrite(chunk, 1, (size_t)n, stdout);
		at += n;
	}
	fflush(stdout);
}

/* Calls fn with each line of s's test output in its log (without the
 * newline; a line longer than the buffer comes in pieces), until fn
 * returns false. */
static void for_each_output_line(const struct slot *s,
                                 bool (*fn)(const char *, size_t, void *),
                                 void *arg)
{
	char chunk[1 << 16];
	size_t have = 0;
	off_t at = s->out_start;
	if (s->log_fd < 0)
		return;
	for (;;) {
		ssize_t n = at < s->log_len
		                    ? pread(s->log_fd, chunk + have,
		                            sizeof chunk - have, at)
		                    : 0;
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (have)
				(void)fn(chunk, have, arg);
			return;
		}
		at += n;
		have += (size_t)n;
		size_t from = 0;
		for (;;) {
			char *nl = memchr(chunk + from, '\n', have - from);
			if (!nl)
				break;
			if (!fn(chunk + from, (size_t)(nl - chunk - from), arg))
				return;
			from = (size_t)(nl - chunk) + 1;
		}
		if (from == 0 && have == sizeof chunk) { /* a very long line */
			if (!fn(chunk, have, arg))
				return;
			from = have;
		}
		memmove(chunk, chunk + from, have - from);
		have -= from;
	}
}

/* What the sanitizers' reports in a test's output say. */
struct sanitizer_scan {
	unsigned reports;     /* how many reports */
	struct buf summary;   /* the first SUMMARY line, less "SUMMARY: " */
	struct buf headline;  /* the first report's first line */
	struct buf frame;     /* its first frame in raftlab's code */
	bool in_first_report; /* still reading the first report */
};

static bool starts_with(const char *s, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);
	return len >= n && !memcmp(s, prefix, n);
}

static bool scan_sanitizer_line(const char *line, size_t len, void *arg)
{
	struct sanitizer_scan *scan = arg;
	/* Reports start "WARNING: ThreadSanitizer: ...", "==PID==ERROR:
	 * AddressSanitizer: ..." (or LeakSanitizer), or "FILE:LINE:COL:
	 * runtime error: ..." (UndefinedBehaviorSanitizer). */
	bool start = memmem(line, len, "WARNING: ThreadSanitizer: ", 26) ||
	             memmem(line, len, "ERROR: AddressSanitizer: ", 25) ||
	             memmem(line, len, "ERROR: LeakSanitizer: ", 22) ||
	             memmem(line, len, ": runtime error: ", 17);
	if (start) {
		scan->in_first_report = scan->reports == 0;
		scan->reports++;
		if (scan->in_first_report) {
			const char *eq = len > 2 && line[0] == '=' && line[1] == '='
			                         ? memmem(line + 2, len - 2, "==", 2)
			                         : NULL;
			const char *from = eq ? eq + 2 : line;
			buf_add(&scan->headline, from,
			        len - (size_t)(from - line));
		}
	} else if (starts_with(line, len, "SUMMARY: ")) {
		if (!scan->summary.len)
			buf_add(&scan->summary, line + 9, len - 9);
		scan->in_first_report = false;
	} else if (scan->in_first_report && !scan->frame.len) {
		/* "    #1 0x55d0c3 in FUNC FILE:LINE (...)" */
		const char *p = line;
		while (p < line + len && *p == ' ')
			p++;
		const char *in = memmem(p, len - (size_t)(p - line), " in ", 4);
		if (p < line + len && *p == '#' && in) {
			const char *func = in + 4;
			size_t flen = strcspn(func, " ");
			bool runtime = starts_with(func, flen, "__") ||
			               starts_with(func, flen, "malloc") ||
			               starts_with(func, flen, "calloc") ||
			               starts_with(func, flen, "realloc") ||
			               starts_with(func, flen, "strdup") ||
			               starts_with(func, flen, "operator");
			if (!runtime && func + flen < line + len &&
			    !memmem(func, len - (size_t)(func - line),
			            "sanitizer", 9) &&
			    !memmem(func, len - (size_t)(func - line), "libc.so",
			            7))
				buf_add(&scan->frame, func,
				        len - (size_t)(func - line));
		}
	}
	return true;
}

static void sanitizer_scan_free(struct sanitizer_scan *scan)
{
	buf_free(&scan->summary);
	buf_free(&scan->headline);
	buf_free(&scan->frame);
}

/* The length of s[0..len) without its final full stops. */
static int without_final_dots(const char *s, size_t len)
{
	while (len > 0 && s[len - 1] == '.')
		len--;
	return (int)len;
}

/* Splits "... PATH:LINE[:COL] ..." text into the file and line of its first
 * FILE:LINE word, and the text without that word. Returns false if it has
 * none. */
static bool split_location(const char *text, struct buf *file,
                           unsigned *line, struct buf *rest)
{
	for (const char *w = text; *w;) {
		size_t len = strcspn(w, " ");
		const char *colon = memchr(w, ':', len);
		if (colon && colon > w && colon + 1 < w + len &&
		    colon[1] >= '0' && colon[1] <= '9') {
			buf_add(file, w, (size_t)(colon - w));
			*line = (unsigned)strtoul(colon + 1, NULL, 10);
			buf_add(rest, text, (size_t)(w - text));
			const char *after = w + len;
			while (*after == ' ')
				after++;
			while (rest->len && rest->p[rest->len - 1] == ' ')
				rest->p[--rest->len] = '\0';
			if (*after) {
				if (rest->len)
					buf_puts(rest, " ");
				buf_puts(rest, after);
			}
			return true;
		}
		w += len;
		while (*w == ' ')
			w++;
	}
	return false;
}

/* r's test exited with a sanitizer's status: name the first report of
 * scan (its output's), at its file:line, e.g. "raft.c:1542:
 * ThreadSanitizer: data race in raft_tick (1 sanitizer report, whole in
 * the log; exit status 66)". */
static void add_sanitizer_failure(struct run *r,
                                  const struct sanitizer_scan *scan,
                                  int status)
{
	unsigned n = scan->reports;
	if (n == 0) {
		add_failure(r, NULL, 0,
		            "exit status %d, and no sanitizer report in the "
		            "test's output: does the code under test call "
		            "exit()?",
		            status);
		return;
	}
	const char *text = scan->summary.len ? scan->summary.p
	                                     : buf_str(&scan->headline);
	struct buf file = {0}, rest = {0};
	unsigned line = 0;
	bool located = split_location(text, &file, &line, &rest);
	if (!located && scan->frame.len) { /* a leak: where it was allocated */
		struct buf ffile = {0}, frest = {0};
		if (split_location(scan->frame.p, &ffile, &line, &frest)) {
			buf_free(&file);
			file = ffile;
			buf_free(&rest);
			buf_printf(&rest, "%.*s, allocated in %.*s",
			           without_final_dots(text, strlen(text)), text,
			           (int)strcspn(frest.p, " "), frest.p);
			located = true;
		} else {
			buf_free(&ffile);
		}
		buf_free(&frest);
	}
	const char *what = located ? buf_str(&rest) : text;
	add_failure(r, located ? file.p : NULL, line,
	            "%.*s (%u sanitizer report%s, whole in the log; exit "
	            "status %d)",
	            without_final_dots(what, strlen(what)), what, n,
	            n == 1 ? "" : "s", status);
	buf_free(&file);
	buf_free(&rest);
}

/* s's test ended: decide how it went, report it, free the slot. */
static void finish_slot(struct slot *s)
{
	struct run *r = s->run;
	bool returned = false, stuck = false;
	struct buf crash_details = {0};
	channel_decode(r, &s->chan, &returned, &stuck);
	const char *outcome = "fail";
	if (s->not_started) {
		/* r already says why */
		if (r->outcome)
			outcome = r->outcome;
	} else if (s->interrupted) {
		outcome = "interrupted";
		add_failure(r, NULL, 0, "interrupted by signal %d (%s)",
		            (int)stop_signal, strsignal(stop_signal));
	} else if (stuck) {
		/* the simulation said why */
		outcome = "timeout";
	} else if (s->over_budget) {
		outcome = "budget";
		add_failure(r, NULL, 0,
		            "killed: the run's time budget of %g s (-budget) "
		            "ran out",
		            opt.budget_s);
	} else if (s->timed_out) {
		outcome = "timeout";
		double base = base_limit_s(r);
		if (time_scale != 1.0)
			add_failure(r, NULL, 0,
			            "TIMEOUT: killed after %g s (%g s x time "
			            "scale %g)",
			            base * time_scale, base, time_scale);
		else
			add_failure(r, NULL, 0, "TIMEOUT: killed after %g s",
			            base);
	} else if (s->crash.sig) {
		outcome = "crash";
		format_crash(s, &crash_details);
	} else if (WIFSIGNALED(s->status)) {
		outcome = "crash";
		int sig = WTERMSIG(s->status);
		add_failure(r, NULL, 0, "crashed: signal %d (%s)%s", sig,
		            strsignal(sig),
		            WCOREDUMP(s->status) ? ", core dumped" : "");
	} else if (WEXITSTATUS(s->status) != 0) {
		/* A failed test exits 1 too: a sanitizer report in its output
		 * is still named. */
		struct sanitizer_scan scan = {0};
		for_each_output_line(s, scan_sanitizer_line, &scan);
		if (r->nfailures == 0 || scan.reports > 0) {
			outcome = "sanitizer";
			add_sanitizer_failure(r, &scan, WEXITSTATUS(s->status));
		}
		sanitizer_scan_free(&scan);
	} else if (!returned) {
		add_failure(
		        r, NULL, 0,
		        "the test process exited with status 0 before the test "
		        "returned: does the code under test call exit()?");
	}
	r->passed = r->nfailures == 0;
	r->outcome = r->passed ? "pass" : outcome;
	if (s->not_started)
		r->elapsed_s = seconds_since(s->start_ns);

	if (!s->out_nl) { /* start the report on a line of its own */
		log_write(s, "\n", 1);
		if (opt.parallel == 1)
			out_write("\n", 1);
	}
	off_t out_end = s->log_len;
	struct buf details = {0};
	struct buf full_dump = {0};
	if (s->timed_out && !s->interrupted && !s->over_budget) {
		format_backtraces(s, &details, &full_dump);
		format_last_lines(s, out_end, &details);
	}
	if (crash_details.len)
		buf_add(&details, crash_details.p, crash_details.len);
	buf_free(&crash_details);
	struct buf report = {0};
	format_report(r, details.p, &report);
	log_write(s, report.p, report.len);
	if (opt.parallel == 1 || s->interrupted || s->log_fd < 0)
		out_write(buf_str(&report), report.len);
	else
		copy_log_to_stdout(s, opt.verbose ? 0 : s->out_start);
	log_write(s, full_dump.p, full_dump.len);
	buf_free(&full_dump);
	buf_free(&details);
	buf_free(&report);

	close_fd(&s->log_fd);
	if (r->passed && r->log_path) {
		unlink(r->log_path);
		free(r->log_path);
		r->log_path = NULL;
	}
	write_result(r);
	buf_free(&s->chan);
	buf_free(&s->gdb_out);
	close_fd(&s->out_fd);
	close_fd(&s->chan_fd);
	close_fd(&s->gdb_fd);
	s->run = NULL;
}

/* The poll timeout until the next deadline of any slot, in ms (-1: none). */
static int next_timeout_ms(int64_t now)
{
	int64_t next = INT64_MAX;
	for (int i = 0; i < nslots; i++) {
		const struct slot *s = &slots[i];
		if (!s->run || s->not_started)
			continue;
		if (s->pid && !s->timed_out && s->deadline_ns &&
		    s->deadline_ns < next)
			next = s->deadline_ns;
		if (s->gdb_pid && !s->gdb_killed && s->gdb_deadline_ns < next)
			next = s->gdb_deadline_ns;
		if (!s->pid && !s->gdb_pid && s->drain_ns < next)
			next = s->drain_ns;
	}
	if (next == INT64_MAX)
		return -1;
	if (next <= now)
		return 0;
	int64_t ms = (next - now + 999999) / 1000000;
	return ms > INT_MAX ? INT_MAX : (int)ms;
}

static void check_deadlines(int64_t now)
{
	for (int i = 0; i < nslots; i++) {
		struct slot *s = &slots[i];
		if (!s->run || s->not_started)
			continue;
		if (s->pid && !s->timed_out && !s->crash.sig &&
		    s->deadline_ns && now >= s->deadline_ns)
			on_timeout(s, now);
		if (s->gdb_pid && !s->gdb_killed && now >= s->gdb_deadline_ns) {
			kill(-s->gdb_pid, SIGKILL);
			s->gdb_killed = true;
		}
		if (!s->pid && !s->gdb_pid && now >= s->drain_ns) {
			/* Someone outside the process group has them. */
			close_fd(&s->out_fd);
			close_fd(&s->chan_fd);
			close_fd(&s->gdb_fd);
		}
	}
}

/* What poll() watches: the wake pipe, then every open pipe of every slot. */
struct watch {
	struct pollfd *pfds;
	struct slot **slot; /* the slot of pfds[i] */
	int **fd;           /* and which of its fields holds it */
	size_t n;
};

static void watch_add(struct watch *w, struct slot *s, int *fd)
{
	w->pfds[w->n] = (struct pollfd){.fd = *fd, .events = POLLIN};
	w->slot[w->n] = s;
	w->fd[w->n] = fd;
	w->n++;
}

/* Waits until a pipe has data, a child ends, a signal comes or the next
 * deadline passes; reads what the pipes hold. */
static void wait_for_events(struct watch *w)
{
	w->n = 0;
	watch_add(w, NULL, &wake_pipe[0]);
	for (int i = 0; i < nslots; i++) {
		struct slot *s = &slots[i];
		int *fds[] = {&s->out_fd, &s->chan_fd, &s->gdb_fd};
		for (size_t k = 0; s->run && k < sizeof fds / sizeof fds[0];
		     k++) {
			if (*fds[k] >= 0)
				watch_add(w, s, fds[k]);
		}
	}
	int n = poll(w->pfds, (nfds_t)w->n, next_timeout_ms(labtime_now_ns()));
	if (n < 0 && errno != EINTR) {
		complain("poll: %s", strerror(errno));
		stop_signal = SIGTERM; /* cannot watch the tests: stop them */
	}
	if (n <= 0)
		return;
	if (w->pfds[0].revents & POLLIN) {
		char drain[64];
		while (read(wake_pipe[0], drain, sizeof drain) > 0)
			;
	}
	for (size_t k = 1; k < w->n; k++) {
		if (w->pfds[k].revents & (POLLIN | POLLHUP | POLLERR))
			read_pipe(w->slot[k], w->fd[k]);
	}
}

/* Runs every run in child processes, up to opt.parallel at once, reporting
 * each as it ends. Returns 0, or the signal that stopped the run. */
static int run_forked(void)
{
	nslots = opt.parallel;
	slots = xrealloc(NULL, (size_t)nslots * sizeof *slots);
	for (int i = 0; i < nslots; i++)
		slots[i] = (struct slot){.out_fd = -1,
		                         .chan_fd = -1,
		                         .log_fd = -1,
		                         .gdb_fd = -1};
	size_t maxfds = 1 + 3 * (size_t)nslots;
	struct watch w = {
	        .pfds = xrealloc(NULL, maxfds * sizeof *w.pfds),
	        .slot = xrealloc(NULL, maxfds * sizeof *w.slot),
	        .fd = xrealloc(NULL, maxfds * sizeof *w.fd),
	};
	runner_pid = getpid();
	int err = install_signals();
	if (err) {
		complain("cannot make a pipe: %s", strerror(-err));
		stop_signal = SIGTERM;
		goto free_watch;
	}

	size_t next = 0;
	bool stopping = false;
	for (;;) {
		int active = 0;
		for (int i = 0; i < nslots; i++) {
			struct slot *s = &slots[i];
			if (slot_done(s))
				finish_slot(s);
			while (!s->run && next < nruns && !stopping) {
				start_run(s, &runs[next++]);
				if (slot_done(s)) /* it could not start */
					finish_slot(s);
			}
			active += s->run != NULL;
		}
		if (active == 0)
			break;

		wait_for_events(&w);
		if (stop_signal && !stopping) {
			stopping = true;
			for (int i = 0; i < nslots; i++)
				interrupt_slot(&slots[i]);
		}
		for (int i = 0; i < nslots; i++) {
			if (slots[i].run && !slots[i].not_started)
				reap_slot(&slots[i]);
		}
		check_deadlines(labtime_now_ns());
	}
	restore_signals();

free_watch:
	close_fd(&wake_pipe[0]);
	close_fd(&wake_pipe[1]);
	free(w.pfds);
	free(w.slot);
	free(w.fd);
	free(slots);
	slots = NULL;
	nslots = 0;
	return stop_signal;
}

/* ---- the report through CUnit ---- */

static size_t proxy_next; /* CUnit runs the proxies in the order added */

/* A CUnit test standing for one run: replays its assertions. */
static void proxy_test(void)
{
	const char *name = CU_get_current_test()->pName;
	struct run *r = NULL;
	if (proxy_next < nruns && !strcmp(runs[proxy_next].cu_name, name))
		r = &runs[proxy_next++];
	for (size_t i = 0; !r && i < nruns; i++) {
		if (!strcmp(runs[i].cu_name, name))
			r = &runs[i];
	}
	if (!r) {
		CU_FAIL("runner: no run of this name");
		return;
	}
	for (unsigned i = 0; i < r->asserts_passed; i++)
		CU_assertImplementation(CU_TRUE, 0, "", "", "", CU_FALSE);
	for (size_t i = 0; i < r->nfailures; i++) {
		const struct failure *f = &r->failures[i];
		struct buf msg = {0};
		buf_printf(&msg, "%s (seed 0x%" PRIx64, f->msg, r->seed);
		if (r->log_path)
			buf_printf(&msg, ", log %s", r->log_path);
		buf_add(&msg, ")", 1);
		/* No file:line when the failure has none (a timeout, say).
		 * CUnit 2.1-3 copies both strings into its failure record. */
		CU_assertImplementation(CU_FALSE, f->file ? f->line : 0, msg.p,
		                        f->file ? f->file : "", "", CU_FALSE);
		buf_free(&msg);
	}
}

/* Prints CUnit's "Run Summary" table of the proxies' run, with the run's
 * real elapsed time: CUnit's own counts the processor time of the proxies,
 * which is none. */
static void print_run_summary(double elapsed)
{
	char *table = CU_get_run_results_string();
	if (!table)
		return;
	char *tail = strstr(table, "Elapsed time");
	if (tail)
		*tail = '\0';
	printf("\n%s", table);
	if (tail)
		printf("Elapsed time = %8.3f seconds\n", elapsed);
	fflush(stdout);
	free(table); /* CUnit allocates it with malloc (CU_FREE) */
}

/* Runs the proxies in CUnit and prints its summary, then ends the way go
 * test does. Returns the exit status. */
static int report_through_cunit(int64_t start_ns)
{
	int status = 2;
	if (CU_initialize_registry() != CUE_SUCCESS)
		goto cunit_error;
	CU_pSuite suite = CU_add_suite(suite_name, NULL, NULL);
	if (!suite)
		goto cunit_error;
	for (size_t i = 0; i < nruns; i++) {
		if (!CU_add_test(suite, runs[i].cu_name, proxy_test))
			goto cunit_error;
	}
	proxy_next = 0;
	/* CUnit's core run, without the basic interface's banner and its
	 * second list of the failures reported as the tests ended. */
	if (CU_run_all_tests() != CUE_SUCCESS)
		goto cunit_error;
	double elapsed = seconds_since(start_ns);
	print_run_summary(elapsed);
	if (opt.xml) { /* the same proxies again, into CUnit's XML file */
		proxy_next = 0;
		CU_set_output_filename(opt.xml);
		CU_automated_run_tests();
		if (CU_get_error() != CUE_SUCCESS)
			goto cunit_error;
	}

	size_t failed = 0;
	for (size_t i = 0; i < nruns; i++)
		failed += !runs[i].passed;
	if (failed)
		printf("FAIL\nFAIL\t%s\t%.3fs\n", suite_name, elapsed);
	else
		printf("PASS\nok  \t%s\t%.3fs\n", suite_name, elapsed);
	fflush(stdout);
	status = failed ? 1 : 0;
	goto cleanup_registry;

cunit_error:
	complain("CUnit failed: %s", CU_get_error_msg());
cleanup_registry:
	CU_cleanup_registry();
	return status;
}

/* ---- setting up ---- */

/* Checks at the start that CUnit can write PREFIX-Results.xml at the end.
 * Returns 0, or -1 after saying what is wrong. */
static int check_xml_prefix(void)
{
	struct buf path = {0};
	buf_printf(&path, "%s-Results.xml", opt.xml);
	int fd = open(path.p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	int err = errno;
	if (fd >= 0)
		close(fd);
	else
		complain("cannot write the -xml results %s: %s (is its "
		         "folder there?)",
		         path.p, strerror(err));
	buf_free(&path);
	return fd >= 0 ? 0 : -1;
}

/* Makes the log directory (and its parents). Returns 0, or a negative errno
 * after saying what is wrong. */
static int prepare_log_dir(void)
{
	const char *env = getenv("RAFTLAB_LOG_DIR");
	bool shared = !env || !*env; /* the default, shared by every user */
	log_dir = xstrdup(shared ? DEFAULT_LOG_DIR : env);
	size_t len = strlen(log_dir);
	while (len > 1 && log_dir[len - 1] == '/')
		log_dir[--len] = '\0';
	for (char *p = log_dir + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char c = *p;
		*p = '\0';
		/* The shared one is like /tmp: anyone may add files. */
		if (mkdir(log_dir, 0777) == 0 && shared && c == '\0')
			chmod(log_dir, 01777);
		*p = c;
		if (c == '\0')
			break;
	}
	if (access(log_dir, W_OK | X_OK) != 0) {
		int err = errno;
		complain("cannot write test logs in %s: %s (set "
		         "RAFTLAB_LOG_DIR to a writable directory)",
		         log_dir, strerror(err));
		return -err;
	}
	return 0;
}

/* The path of program name in $PATH, or NULL. */
static char *find_program(const char *name)
{
	const char *path = getenv("PATH");
	if (!path)
		path = "/usr/bin:/bin";
	struct buf dir = {0};
	for (const char *p = path;;) {
		const char *colon = strchr(p, ':');
		size_t n = colon ? (size_t)(colon - p) : strlen(p);
		dir.len = 0;
		buf_add(&dir, n ? p : ".", n ? n : 1);
		buf_printf(&dir, "/%s", name);
		if (access(dir.p, X_OK) == 0)
			return dir.p;
		if (!colon)
			break;
		p = colon + 1;
	}
	buf_free(&dir);
	return NULL;
}

/* Makes sure fds 0-2 are open, so pipes never land on them. */
static void open_std_fds(void)
{
	for (int fd = 0; fd <= 2; fd++) {
		if (fcntl(fd, F_GETFD) < 0 && open("/dev/null", O_RDWR) != fd)
			return;
	}
}

int runner_main(int argc, char **argv, const char *suite,
                const struct runner_test *tests, size_t ntests)
{
	return runner_main_beyond_go(argc, argv, suite, tests, ntests, ntests);
}

int runner_main_beyond_go(int argc, char **argv, const char *suite,
                          const struct runner_test *tests, size_t ntests,
                          size_t ngo)
{
	int64_t start_ns = labtime_now_ns();
	prog = argc > 0 && argv[0] ? argv[0] : suite;
	prog_name = base_name(prog);
	suite_name = suite;
	time_scale = read_time_scale();
	if (time_scale == 0) {
		complain("RAFTLAB_TIME_SCALE must be a number above 0 and at "
		         "most %d, not '%s'",
		         MAX_TIME_SCALE, getenv("RAFTLAB_TIME_SCALE"));
		return 2;
	}
	time_scale_fixed = true;

	int status = parse_args(argc, argv);
	if (status >= 0)
		return status;
	if (!check_tests(tests, ntests))
		return 2;

	regex_t re;
	if (opt.run) {
		int err = regcomp(&re, opt.run, REG_EXTENDED | REG_NOSUB);
		if (err) {
			char why[256];
			regerror(err, &re, why, sizeof why);
			complain("bad -run pattern '%s': %s", opt.run, why);
			return 2;
		}
	}
	bool *selected = xrealloc(NULL, ntests * sizeof *selected);
	size_t nselected = 0;
	for (size_t i = 0; i < ntests; i++) {
		selected[i] = (!opt.run ||
		               regexec(&re, tests[i].name, 0, NULL, 0) == 0) &&
		              !(opt.go_only && i >= ngo);
		nselected += selected[i];
	}
	if (opt.run)
		regfree(&re);

	status = 2;
	if (nselected == 0) {
		fflush(stdout);
		if (opt.run)
			fprintf(stderr,
			        "no tests matched -run '%s' (run with -list to "
			        "see the tests)\n",
			        opt.run);
		else
			complain("no tests to run");
		goto free_selected;
	}
	if (opt.list) {
		for (size_t i = 0; i < ntests; i++) {
			if (selected[i])
				printf("%s\n", tests[i].name);
		}
		status = 0;
		goto free_selected;
	}

	nruns = nselected * (size_t)opt.count;
	runs = xrealloc(NULL, nruns * sizeof *runs);
	size_t k = 0;
	for (int it = 1; it <= opt.count; it++) {
		for (size_t i = 0; i < ntests; i++) {
			if (!selected[i])
				continue;
			struct buf name = {0};
			buf_puts(&name, tests[i].name);
			if (it > 1)
				buf_printf(&name, "#%d", it);
			runs[k++] = (struct run){.test = &tests[i],
			                         .iteration = it,
			                         .cu_name = name.p};
		}
	}

	open_std_fds();
	status = 2;
	if (opt.xml && check_xml_prefix() != 0)
		goto free_runs;
	if (opt.results && open_results() != 0)
		goto free_runs;
	if (opt.budget_s > 0)
		budget_end_ns = start_ns + (int64_t)(opt.budget_s * 1e9);
	if (opt.no_fork) {
		run_in_process();
	} else {
		status = 2;
		if (prepare_log_dir() != 0)
			goto free_runs;
		const char *no_gdb = getenv("RAFTLAB_NO_GDB");
		if (!no_gdb || !*no_gdb || strcmp(no_gdb, "0") == 0)
			gdb_path = find_program("gdb");
		int sig = run_forked();
		if (sig) {
			complain("stopped by signal %d (%s)", sig,
			         strsignal(sig));
			status = 128 + sig;
			goto free_runs;
		}
	}
	status = report_through_cunit(start_ns);

free_runs:
	if (results_file && fclose(results_file) != 0) {
		complain("cannot write -results %s: %s", opt.results,
		         strerror(errno));
		status = 2;
	}
	results_file = NULL;
	free_runs();
	free(log_dir);
	log_dir = NULL;
	free(gdb_path);
	gdb_path = NULL;
free_selected:
	free(selected);
	return status;
}
