/*
 * runner_int.h: what the runner's own files share, and no other file
 * includes: a run and its failures, the options, and what each file offers
 * the others. The runner's API, for tests, is runner.h.
 */
#ifndef RAFTLAB_RUNNER_INT_H
#define RAFTLAB_RUNNER_INT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "runner/runner.h"
#include "sim/sim.h"

#define DEFAULT_LOG_DIR "/tmp/raftlab-logs"
#define INDENT "        "      /* go test indents a failure's lines by 8 */
#define INDENT2 "            " /* ...and what we quote under them by 12 */

enum {
	LAST_LINES = 40,    /* lines of a hung test's output we repeat */
	GDB_TIMEOUT_S = 30, /* how long gdb may take to print backtraces */
	CRASH_FRAMES = 48,  /* return addresses a crashing test sends */
};

/* ---- buf.c: a growable byte string, and small I/O helpers ---- */

/* A growable byte string, always NUL-terminated once anything is added. */
struct buf {
	char *p;
	size_t len, cap;
};

/* realloc and strdup that end the program (status 2) when out of memory */
void *runner_xrealloc(void *p, size_t n);
char *runner_xstrdup(const char *s);

void runner_buf_add(struct buf *b, const void *p, size_t n);
void runner_buf_puts(struct buf *b, const char *s);
void runner_buf_vprintf(struct buf *b, const char *fmt, va_list ap)
        __attribute__((format(printf, 2, 0)));
void runner_buf_printf(struct buf *b, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
/* The string, "" when nothing was added. */
const char *runner_buf_str(const struct buf *b);
void runner_buf_free(struct buf *b);
/* Appends s quoted for a POSIX shell (unquoted when nothing needs it). */
void runner_buf_add_shell_word(struct buf *b, const char *s);
/* Appends text, its first line after first_indent and every further line
 * after rest_indent, ending with a newline. */
void runner_buf_add_indented(struct buf *b, const char *text, size_t len,
                             const char *first_indent, const char *rest_indent);

/* The last component of path. */
const char *runner_base_name(const char *path);
/* Writes all of p to fd, going on after signals; false on an error. */
bool runner_write_all(int fd, const void *p, size_t n);
/* Writes to our stdout at once, so it interleaves right with children. */
void runner_out_write(const void *p, size_t n);
/* Closes *fd if it is open, and sets it to -1. */
void runner_close_fd(int *fd);
double runner_seconds_since(int64_t start_ns);
/* Makes a pipe whose ends close on exec (gdb must not hold the tests'
 * pipes). Returns 0 or a negative errno. */
int runner_make_pipe(int fds[2]);
/* The path of program name in $PATH (to free), or NULL. */
char *runner_find_program(const char *name);

/* ---- runner.c: the run, and the test running in this process ---- */

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
	int iteration; /* 1..runner_opt.count */
	char *cu_name; /* its name in CUnit's report, unique among runs */
	uint64_t seed;
	char *log_path; /* NULL in -no-fork mode */
	double elapsed_s;
	bool passed;
	const char *outcome;     /* pass fail timeout crash sanitizer budget
	                            not-run interrupted: see runner_write_result */
	uint64_t rpcs, ops;      /* runner_report_counts's sums */
	unsigned asserts_passed; /* CUnit assertions that held */
	struct failure *failures;
	size_t nfailures;
};

/* What a crashing test process sent (a C record). */
struct crash {
	int sig; /* 0: none came */
	long tid;
	uintptr_t frames[CRASH_FRAMES]; /* return addresses, innermost first */
	int nframes;
};

extern const char *runner_prog;      /* argv[0], as replay commands repeat it */
extern const char *runner_prog_name; /* its last component, for messages */
extern const char *runner_suite_name;
/* The write end of the failure channel, in a forked test process; -1
 * elsewhere. */
extern int runner_fail_channel;

/* Prints "PROGRAM: message" on stderr. */
void runner_complain(const char *fmt, ...)
        __attribute__((format(printf, 1, 2)));
void runner_vcomplain(const char *fmt, va_list ap)
        __attribute__((format(printf, 1, 0)));
/* Adds a failure to r, at file:line (the file's last component) or, with
 * file NULL, at no place. */
void runner_add_failure(struct run *r, const char *file, unsigned line,
                        const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

/* Makes r the running test: runner_seed() and $RAFTLAB_SEED give its seed. */
void runner_enter_test(struct run *r);
/* Runs r's test function in a CUnit registry of its own holding just that
 * test, and collects its failed assertions into r. */
void runner_execute_test(struct run *r);

/* The failure channel (runner.c has its records): the test process's
 * side, */
void runner_channel_send(const char *tag, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
void runner_channel_send_failure(const struct failure *f);
/* (the test's virtual time, in the sim build) */
void runner_send_sim_seconds(void);
/* and the runner's: what a test process sent, into r; */
void runner_channel_decode(struct run *r, const struct buf *b, bool *returned,
                           bool *stuck);
/* whether it said it is stuck (sim build), */
bool runner_channel_says_stuck(const struct buf *b);
/* and whether it crashed (c then says how). */
bool runner_channel_find_crash(const struct buf *b, struct crash *c);

/* ---- options.c: the command line ---- */

struct runner_options {
	const char *run; /* -run REGEX; NULL selects every test */
	bool list;       /* -list */
	bool go_only;    /* -go-only */
	bool seed_set;   /* -seed N */
	uint64_t seed;
	bool timeout_set; /* -timeout SEC; 0 means no watchdog */
	double timeout_s;
	int parallel;        /* -parallel N */
	int count;           /* -count N */
	bool verbose;        /* -v */
	const char *xml;     /* -xml PREFIX: CUnit's XML results too */
	const char *results; /* -results FILE: a line per run, for scripts */
	double budget_s;     /* -budget SEC: the whole run's; 0 for none */
	bool no_fork;        /* -no-fork */
	struct sim_options sched; /* -sched: the policy and its depth, sim
	                             build only */
};

extern struct runner_options runner_opt;

/* Parses the command line into runner_opt. Returns -1 to go on, or the
 * exit status to end with at once (0 after -h, 2 after a mistake). */
int runner_parse_args(int argc, char **argv);
/* The watchdog's limit for r in seconds, before the time scale; 0 for
 * none. */
double runner_base_limit_s(const struct run *r);

/* ---- supervise.c: each test in a child process, under a watchdog ---- */

/* Runs the runs in child processes, up to runner_opt.parallel at once,
 * reporting each as it ends, with -budget counted from start_ns. Returns
 * 0, the signal that stopped the run, or -1 if it could not start (after
 * saying why). */
int runner_run_forked(struct run *runs, size_t nruns, int64_t start_ns);

/* ---- diagnose.c: crash and hang reports ---- */

/* A test's output as its log holds it: bytes [start, end) of fd, which is
 * -1 when there is no log. */
struct test_output {
	int fd;
	off_t start, end;
};

/* Reports r's crash, which c describes: the failure, at the frame to
 * blame, into r; into d the crashing thread's frames (from gdb_out, gdb's
 * dump of the threads, else from c's return addresses) and the commands
 * that show more. */
void runner_format_crash(struct run *r, const struct crash *c,
                         const char *gdb_out, struct buf *d);
/* Appends where a hung test's threads are, from gdb_out (gdb's dump; have_gdb
 * false when gdb is not installed, killed when it was stopped): a line per
 * distinct stack (the student's first), then those stacks; *full gets the
 * whole dump, for the log (logged: the test has one). */
void runner_format_backtraces(const char *gdb_out, bool have_gdb, bool killed,
                              bool logged, struct buf *d, struct buf *full);
/* Appends the last LAST_LINES lines of a test's output. */
void runner_format_last_lines(const struct test_output *out, struct buf *d);
/* r's test exited with status, not 0. If its output holds a sanitizer's
 * report, or r has no failure that explains the status, adds a failure
 * that names the report (or its absence) and returns true. */
bool runner_blame_sanitizer(struct run *r, const struct test_output *out,
                            int status);

/* ---- report.c: go test's lines, -results, CUnit's summary ---- */

/* Appends to out what go test prints after r: nothing for a pass
 * (--- PASS with -v), else --- FAIL, each failure, details (extra lines
 * such as backtraces, may be NULL), the seed, a replay command, the log. */
void runner_format_report(const struct run *r, const char *details,
                          struct buf *out);
/* The -results file: opened with its header, a line per run as it ends,
 * closed. Opening and closing return 0, or -1 after saying what is wrong. */
int runner_open_results(void);
void runner_write_result(const struct run *r);
int runner_close_results(void);
/* Checks at the start that CUnit can write -xml's PREFIX-Results.xml at
 * the end. Returns 0, or -1 after saying what is wrong. */
int runner_check_xml_prefix(void);
/* Runs the runs' proxies in CUnit and prints its summary, then ends the way
 * go test does. Returns the exit status. */
int runner_report_through_cunit(struct run *runs, size_t nruns,
                                int64_t start_ns);

#endif
