/*
 * runner: the test runner every raftlab test program is built on. It selects
 * tests by name the way `go test -run` does (an extended regular expression
 * searched in each name), runs each selected test in its own child process
 * under a watchdog, prints its seed, and reports through CUnit so every
 * program ends with CUnit's run summary.
 *
 * Inside a test, either use CUnit's CU_ASSERT_* macros, or end the test at
 * once with runner_fatalf (the analogue of Go's t.Fatalf).
 */
#ifndef RAFTLAB_RUNNER_H
#define RAFTLAB_RUNNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdnoreturn.h>

#define RUNNER_DEFAULT_TIMEOUT_S 120

struct runner_test {
	const char *name; /* "TestInitialElection3A" */
	void (*fn)(void);
	int timeout_s; /* watchdog limit; 0 means RUNNER_DEFAULT_TIMEOUT_S */
};

/* Parses the command line (run with -h for the options), runs the selected
 * tests and returns the process exit status. */
int runner_main(int argc, char **argv, const char *suite,
                const struct runner_test *tests, size_t ntests);

/* As runner_main, for a suite whose first ngo tests are those of the Go
 * suite and the others go beyond it: -go-only runs only the first ngo. */
int runner_main_beyond_go(int argc, char **argv, const char *suite,
                          const struct runner_test *tests, size_t ntests,
                          size_t ngo);

/* Fails the running test with a printf-style message, reported as
 * "file:line: message", and ends the test process. Only from the test's own
 * thread; helper threads record failures for the test thread to report. */
#define runner_fatalf(...) runner_fail_at(__FILE__, __LINE__, __VA_ARGS__)
noreturn void runner_fail_at(const char *file, int line, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* Counts n checks of the running test that held (a harness's checks that
 * are not CU_ASSERTs), so that CUnit's "asserts" total is real. Safe from
 * any thread. */
void runner_check_held(unsigned n);

/* Adds to the running test's RPC and operation counts (those of its
 * "... Passed" line), which the -results file records. Safe from any
 * thread. */
void runner_report_counts(uint64_t rpcs, uint64_t ops);

/* The running test's seed (from -seed, or fresh for each test). */
uint64_t runner_seed(void);

/* Multiplier for time limits: 1 normally, more in sanitizer builds or as set
 * by $RAFTLAB_TIME_SCALE. Applied to the watchdog and to in-test limits. */
double runner_time_scale(void);

#endif
