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
 *
 * This file has the run's state and runner_main, and the test's side in
 * the process that runs it: the helpers runner.h gives tests, the failure
 * channel, -no-fork mode. options.c reads the command line, supervise.c
 * runs and watches the test processes, diagnose.c explains crashes and
 * hangs, report.c prints and writes the results; buf.c has small tools.
 */
#include "runner/runner.h"
#include "runner/runner_int.h"

#include <CUnit/CUnit.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <regex.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "labtime/labtime.h"
#include "prng/prng.h"
#include "sim/sim.h"

enum {
	MAX_TIME_SCALE = 1000, /* RAFTLAB_TIME_SCALE's */
};

/* ---- what the runner knows ---- */

const char *runner_prog;
const char *runner_prog_name;
const char *runner_suite_name;

/* runner_time_scale(), fixed before any test runs so threads may read it. */
static double time_scale = 1.0;
static bool time_scale_fixed;

static struct run *runs;
static size_t nruns;

/* The test running in this process (a test process, or -no-fork mode). */
static struct run *cur_run;
static uint64_t cur_seed;
static int64_t cur_start_ns;
int runner_fail_channel = -1;   /* set in a forked test process */
static atomic_uint checks_held; /* runner_check_held's count, this test */

void runner_vcomplain(const char *fmt, va_list ap)
{
	fflush(stdout);
	fprintf(stderr, "%s: ", runner_prog_name);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void runner_complain(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	runner_vcomplain(fmt, ap);
	va_end(ap);
}

void runner_add_failure(struct run *r, const char *file, unsigned line,
                        const char *fmt, ...)
{
	struct buf msg = {0};
	va_list ap;
	va_start(ap, fmt);
	runner_buf_vprintf(&msg, fmt, ap);
	va_end(ap);
	r->failures = runner_xrealloc(r->failures,
	                              (r->nfailures + 1) * sizeof *r->failures);
	r->failures[r->nfailures++] = (struct failure){
	        .file = file ? runner_xstrdup(runner_base_name(file)) : NULL,
	        .line = line,
	        .msg = msg.p ? msg.p : runner_xstrdup(""),
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
	return cur_run ? cur_seed : runner_opt.seed;
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

/* ---- simulation mode (the sim build) ---- */

static void report_in_process(struct run *r);

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
void runner_send_sim_seconds(void)
{
	double s = sim_seconds();
	if (s >= 0 && runner_fail_channel >= 0)
		runner_channel_send("T", "%.17g", s);
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
	if (runner_fail_channel >= 0) {
		runner_send_sim_seconds();
		if (kind == SIM_STUCK) {
			runner_channel_send("X", "%s", reason);
			for (;;) /* until the runner, done with gdb, kills us */
				pause();
		}
		runner_channel_send("F", "\t0\t%s", reason);
		_exit(1);
	}
	if (kind == SIM_STUCK) {
		fprintf(stderr, "sim: %s\n", reason);
		abort(); /* -no-fork: under gdb, stop here */
	}
	if (cur_run) {
		struct run *r = cur_run;
		cur_run = NULL;
		runner_add_failure(r, NULL, 0, "%s", reason);
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
	double limit_s = runner_base_limit_s(r);
	/* the policy: random by default */
	struct sim_options o = runner_opt.sched;
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
		        runner_seconds_since(sim_real_start_ns), st.points,
		        st.switches, st.threads);
	}
#endif
}

/* ---- running a test in this process ---- */

/* Makes r the running test: runner_seed() and $RAFTLAB_SEED give its seed. */
void runner_enter_test(struct run *r)
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
void runner_execute_test(struct run *r)
{
	CU_pSuite suite = NULL;
	CU_pTest test = NULL;
	if (CU_initialize_registry() == CUE_SUCCESS)
		suite = CU_add_suite(runner_suite_name, NULL, NULL);
	if (suite)
		test = CU_add_test(suite, r->test->name, r->test->fn);
	if (!test) {
		runner_add_failure(r, NULL, 0,
		                   "CUnit could not run the test: %s",
		                   CU_get_error_msg());
		goto cleanup_registry;
	}
	sim_begin(r);
	CU_run_test(suite, test);
	sim_end();
	for (CU_pFailureRecord f = CU_get_failure_list(); f; f = f->pNext) {
		runner_add_failure(r, f->strFileName ? f->strFileName : "?",
		                   f->uiLineNumber, "%s",
		                   f->strCondition ? f->strCondition : "");
	}
	r->asserts_passed =
	        CU_get_number_of_successes() + atomic_load(&checks_held);
cleanup_registry:
	CU_cleanup_registry();
}

/* ---- -no-fork mode ---- */

/* Ends r, which ran in this process: times it, judges it, reports it. */
static void report_in_process(struct run *r)
{
	r->elapsed_s = runner_seconds_since(cur_start_ns);
	r->passed = r->nfailures == 0;
	r->outcome = r->passed ? "pass" : "fail";
	runner_write_result(r);
	struct buf report = {0};
	runner_format_report(r, NULL, &report);
	fflush(stderr);
	runner_out_write(runner_buf_str(&report), report.len);
	runner_buf_free(&report);
}

/* An exit handler: a test that calls exit() ends the whole program, and
 * that must not pass for success. */
static void exit_during_test(void)
{
	struct run *r = cur_run;
	if (!r)
		return;
	cur_run = NULL;
	runner_add_failure(r, NULL, 0,
	                   "the program exited before the test returned: does "
	                   "the code under test call exit()?");
	report_in_process(r);
	_exit(1);
}

static void run_in_process(void)
{
	atexit(exit_during_test);
	for (size_t i = 0; i < nruns; i++) {
		struct run *r = &runs[i];
		r->seed = runner_opt.seed_set ? runner_opt.seed
		                              : prng_entropy_seed();
		if (runner_opt.verbose)
			printf("=== RUN   %s  seed=0x%" PRIx64 "\n",
			       r->test->name, r->seed);
		fflush(stdout);
		runner_enter_test(r);
		runner_execute_test(r);
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
void runner_channel_send(const char *tag, const char *fmt, ...)
{
	struct buf rec = {0};
	va_list ap;
	runner_buf_puts(&rec, tag);
	va_start(ap, fmt);
	runner_buf_vprintf(&rec, fmt, ap);
	va_end(ap);
	/* with its NUL */
	(void)runner_write_all(runner_fail_channel, rec.p, rec.len + 1);
	runner_buf_free(&rec);
}

void runner_channel_send_failure(const struct failure *f)
{
	runner_channel_send("F", "%s\t%u\t%s", f->file ? f->file : "", f->line,
	                    f->msg);
}

/* Reads what a test process sent into r; sets *returned if it sent D. */
void runner_channel_decode(struct run *r, const struct buf *b, bool *returned,
                           bool *stuck)
{
	*returned = false;
	*stuck = false;
	const char *p = runner_buf_str(b), *end = p + b->len;
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
			runner_add_failure(r, NULL, 0, "%s", rec + 1);
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
			runner_buf_add(&file, rec + 1,
			               (size_t)(tab1 - rec - 1));
			unsigned line = (unsigned)strtoul(tab1 + 1, NULL, 10);
			runner_add_failure(r, file.len ? file.p : NULL, line,
			                   "%s", tab2 + 1);
			runner_buf_free(&file);
		}
	}
}

/* Whether a test process's channel holds an X record (sim: stuck). */
bool runner_channel_says_stuck(const struct buf *b)
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
bool runner_channel_find_crash(const struct buf *b, struct crash *c)
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
				uintptr_t a =
				        (uintptr_t)strtoull(q + 1, &next, 16);
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

void runner_report_counts(uint64_t rpcs, uint64_t ops)
{
	if (runner_fail_channel >= 0) {
		runner_channel_send("N", "%" PRIu64 "\t%" PRIu64, rpcs, ops);
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
	runner_buf_vprintf(&msg, fmt, ap);
	va_end(ap);
	unsigned uline = line > 0 ? (unsigned)line : 0;

	/* a test process: tell the runner, and end */
	if (runner_fail_channel >= 0) {
		struct failure f = {.file = (char *)runner_base_name(file),
		                    .line = uline,
		                    .msg = (char *)runner_buf_str(&msg)};
		runner_channel_send_failure(&f);
		runner_channel_send("A", "%u",
		                    CU_get_number_of_successes() +
		                            atomic_load(&checks_held));
		runner_send_sim_seconds();
		fflush(stdout);
		fflush(stderr);
		_exit(1); /* other threads may still run: no exit handlers */
	}
	if (cur_run) { /* -no-fork: report the test, and end the program */
		struct run *r = cur_run;
		cur_run = NULL;
		runner_add_failure(r, file, uline, "%s", runner_buf_str(&msg));
		report_in_process(r);
		exit(1);
	}
	fprintf(stderr, "%s:%d: %s\n", runner_base_name(file), line,
	        runner_buf_str(&msg));
	exit(1);
}

/* ---- setting up ---- */

/* Checks the program's table of tests; false (after saying why) if bad. */
static bool check_tests(const struct runner_test *tests, size_t ntests)
{
	for (size_t i = 0; i < ntests; i++) {
		const struct runner_test *t = &tests[i];
		if (!t->name || !*t->name) {
			runner_complain("bad test table: test %zu has no name",
			                i);
			return false;
		}
		if (!t->fn) {
			runner_complain("bad test table: %s has no function",
			                t->name);
			return false;
		}
		if (t->timeout_s < 0) {
			runner_complain("bad test table: %s has a negative "
			                "timeout",
			                t->name);
			return false;
		}
		for (size_t j = 0; j < i; j++) {
			if (!strcmp(tests[j].name, t->name)) {
				runner_complain("bad test table: two tests "
				                "named %s",
				                t->name);
				return false;
			}
		}
	}
	return true;
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
	runner_prog = argc > 0 && argv[0] ? argv[0] : suite;
	runner_prog_name = runner_base_name(runner_prog);
	runner_suite_name = suite;
	time_scale = read_time_scale();
	if (time_scale == 0) {
		runner_complain("RAFTLAB_TIME_SCALE must be a number above 0 "
		                "and at most %d, not '%s'",
		                MAX_TIME_SCALE, getenv("RAFTLAB_TIME_SCALE"));
		return 2;
	}
	time_scale_fixed = true;

	int status = runner_parse_args(argc, argv);
	if (status >= 0)
		return status;
	if (!check_tests(tests, ntests))
		return 2;

	regex_t re;
	if (runner_opt.run) {
		int err =
		        regcomp(&re, runner_opt.run, REG_EXTENDED | REG_NOSUB);
		if (err) {
			char why[256];
			regerror(err, &re, why, sizeof why);
			runner_complain("bad -run pattern '%s': %s",
			                runner_opt.run, why);
			return 2;
		}
	}
	bool *selected = runner_xrealloc(NULL, ntests * sizeof *selected);
	size_t nselected = 0;
	for (size_t i = 0; i < ntests; i++) {
		selected[i] = (!runner_opt.run ||
		               regexec(&re, tests[i].name, 0, NULL, 0) == 0) &&
		              !(runner_opt.go_only && i >= ngo);
		nselected += selected[i];
	}
	if (runner_opt.run)
		regfree(&re);

	status = 2;
	if (nselected == 0) {
		fflush(stdout);
		if (runner_opt.run)
			fprintf(stderr,
			        "no tests matched -run '%s' (run with -list to "
			        "see the tests)\n",
			        runner_opt.run);
		else
			runner_complain("no tests to run");
		goto free_selected;
	}
	if (runner_opt.list) {
		for (size_t i = 0; i < ntests; i++) {
			if (selected[i])
				printf("%s\n", tests[i].name);
		}
		status = 0;
		goto free_selected;
	}

	nruns = nselected * (size_t)runner_opt.count;
	runs = runner_xrealloc(NULL, nruns * sizeof *runs);
	size_t k = 0;
	for (int it = 1; it <= runner_opt.count; it++) {
		for (size_t i = 0; i < ntests; i++) {
			if (!selected[i])
				continue;
			struct buf name = {0};
			runner_buf_puts(&name, tests[i].name);
			if (it > 1)
				runner_buf_printf(&name, "#%d", it);
			runs[k++] = (struct run){.test = &tests[i],
			                         .iteration = it,
			                         .cu_name = name.p};
		}
	}

	open_std_fds();
	status = 2;
	if (runner_opt.xml && runner_check_xml_prefix() != 0)
		goto free_runs;
	if (runner_opt.results && runner_open_results() != 0)
		goto free_runs;
	if (runner_opt.no_fork) {
		run_in_process();
	} else {
		int sig = runner_run_forked(runs, nruns, start_ns);
		if (sig < 0) /* it said why; status is 2 */
			goto free_runs;
		if (sig) {
			runner_complain("stopped by signal %d (%s)", sig,
			                strsignal(sig));
			status = 128 + sig;
			goto free_runs;
		}
	}
	status = runner_report_through_cunit(runs, nruns, start_ns);

free_runs:
	if (runner_close_results() != 0)
		status = 2;
	free_runs();
free_selected:
	free(selected);
	return status;
}
