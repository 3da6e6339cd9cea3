/*
 * options.c: the runner's command line, written as for go test (-run,
 * -count, -v ...): parsing, each value's bounds, -h's help and the usage
 * errors. What the flags do is the other files' business.
 */
#include "runner/runner_int.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/sim.h"

#ifdef RAFTLAB_SIM
#define SIM_FLAGS "[-sched S] "
#else
#define SIM_FLAGS ""
#endif
#define USAGE_FLAGS                                                            \
	"[-run REGEX] [-list] [-seed N] [-timeout SEC] [-parallel N] "         \
	"[-count N] [-go-only] [-v] [-xml PREFIX] [-results FILE] "            \
	"[-budget SEC] [-no-fork] " SIM_FLAGS "[-h]"

enum {
	MAX_PARALLEL = 256,
	MAX_COUNT = 10000,
	MAX_TIMEOUT_S = 1000000, /* -timeout's bound (11.6 days) */
};

struct runner_options runner_opt;

static void print_usage(FILE *f)
{
	fprintf(f, "usage: %s %s\n", runner_prog, USAGE_FLAGS);
}

static void print_help(void)
{
	print_usage(stdout);
	printf("\nRuns the %s tests in source order, each in a process of\n"
	       "its own under a watchdog. As with go test, only failures\n"
	       "are printed unless -v is given.\n\n",
	       runner_suite_name);
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
	       "                out those beyond it (-list -go-only shows "
	       "them)\n"
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
	       runner_prog);
	if (sim_enabled())
		printf("  -sched S      how the scheduler picks the next "
		       "thread:\n"
		       "                random (the default) or pct[:D], PCT "
		       "with\n"
		       "                D-1 priority changes (D is 3 unless "
		       "given)\n");
	printf("  -h            print this help\n\n");
	if (sim_enabled())
		printf("This is the sim build: each test runs its threads one "
		       "at\n"
		       "a time on virtual time, its limit is in virtual "
		       "seconds,\n"
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
	       "                      2 adding the detailed lines; each "
	       "test's\n"
	       "                      log keeps it (tools/logview lays it "
	       "out)\n"
	       "  RAFTLAB_TOPICS      the debug log's topics, comma-separated\n"
	       "                      (default all): TIMER VOTE LEADER APPEND\n"
	       "                      COMMIT PERSIST SNAP APPLY CLIENT SERVER\n"
	       "                      TEST WARN INFO\n"
	       "  RAFTLAB_NO_GDB      1: crash and hang reports without gdb\n"
	       "                      (a crash is then located from its "
	       "return\n"
	       "                      addresses, by binutils' addr2line)\n"
	       "  RAFTLAB_STUDENT_FILES  the files whose frames hang reports\n"
	       "                      list first, colon-separated path "
	       "endings\n"
	       "                      (default raft/raft.c:kvraft/client.c:\n"
	       "                      kvraft/server.c and the skeletons')\n"
	       "  RAFTLAB_SIM_STATS   sim build: 1 prints each test's virtual\n"
	       "                      and real time, scheduling points and\n"
	       "                      thread switches\n",
	       runner_time_scale());
}

static int bad_usage(const char *fmt, ...)
        __attribute__((format(printf, 1, 2)));
static int bad_usage(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	runner_vcomplain(fmt, ap);
	va_end(ap);
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
	if (!*s || errno || *end || !isfinite(v) || v < 0 || v > MAX_TIMEOUT_S)
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

/* Parses the command line into runner_opt. Returns -1 to go on, or the exit
 * status to end with at once (0 after -h, 2 after a mistake). Flags are
 * written -name value, -name=value or with two dashes, as Go's flag package
 * allows. */
int runner_parse_args(int argc, char **argv)
{
	runner_opt = (struct runner_options){.parallel = 1, .count = 1};
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
			runner_opt.run = val;
			break;
		case F_LIST:
			runner_opt.list = true;
			break;
		case F_SEED:
			if (!parse_seed(val, &runner_opt.seed))
				return bad_usage("bad -seed '%s': want a "
				                 "decimal number or 0x hex",
				                 val);
			runner_opt.seed_set = true;
			break;
		case F_TIMEOUT:
			if (!parse_seconds(val, &runner_opt.timeout_s))
				return bad_usage("bad -timeout '%s': want "
				                 "seconds, at most %d (0 "
				                 "means no limit)",
				                 val, MAX_TIMEOUT_S);
			runner_opt.timeout_set = true;
			break;
		case F_BUDGET:
			if (!parse_seconds(val, &runner_opt.budget_s) ||
			    runner_opt.budget_s == 0)
				return bad_usage("bad -budget '%s': want "
				                 "seconds, more than 0 and at "
				                 "most %d",
				                 val, MAX_TIMEOUT_S);
			break;
		case F_RESULTS:
			runner_opt.results = val;
			break;
		case F_PARALLEL:
			if (!parse_int(val, 1, MAX_PARALLEL,
			               &runner_opt.parallel))
				return bad_usage("bad -parallel '%s': want a "
				                 "number from 1 to %d",
				                 val, MAX_PARALLEL);
			break;
		case F_COUNT:
			if (!parse_int(val, 1, MAX_COUNT, &runner_opt.count))
				return bad_usage("bad -count '%s': want a "
				                 "number from 1 to %d",
				                 val, MAX_COUNT);
			break;
		case F_GO_ONLY:
			runner_opt.go_only = true;
			break;
		case F_V:
			runner_opt.verbose = true;
			break;
		case F_XML:
			runner_opt.xml = val;
			break;
		case F_NO_FORK:
			runner_opt.no_fork = true;
			break;
		case F_SCHED:
			if (!sim_enabled())
				return bad_usage("-sched works only in the sim "
				                 "build: make SIM=1, then "
				                 "build/sim/%s",
				                 runner_prog_name);
#ifdef RAFTLAB_SIM
			if (!sim_parse_policy(val, &runner_opt.sched))
				return bad_usage(
				        "bad -sched '%s': want random, "
				        "pct or pct:D (D from 1 to 64)",
				        val);
#endif
			break;
		case F_HELP:
			print_help();
			return 0;
		}
	}
	if (runner_opt.no_fork && runner_opt.parallel > 1)
		return bad_usage("-no-fork runs the tests one at a time: drop "
		                 "-parallel");
	return -1;
}

/* The watchdog's limit for r in seconds, before the time scale; 0 for
 * none. */
double runner_base_limit_s(const struct run *r)
{
	if (runner_opt.timeout_set)
		return runner_opt.timeout_s;
	return r->test->timeout_s > 0 ? r->test->timeout_s
	                              : RUNNER_DEFAULT_TIMEOUT_S;
}
