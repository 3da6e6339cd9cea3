/*
 * supervise.c: runs the tests in child processes and watches them from one
 * poll() loop: their output into logs, their failure channels, the
 * watchdog and -budget, stop signals, gdb for a hung or crashed test's
 * backtraces; and, in the test process, the handler that reports a crash.
 */
#define _GNU_SOURCE /* REG_RIP and the like in ucontext_t */
#include "runner/runner_int.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

enum {
	DRAIN_TIMEOUT_S = 5,      /* how long pipes may outlive their writer */
	MAX_SENT_FAILURES = 50,   /* failure messages a test process sends */
	CHANNEL_CAP = 1 << 20,    /* bytes kept from a failure channel */
	GDB_OUTPUT_CAP = 4 << 20, /* bytes kept of gdb's output */
	CRASH_WAIT_S = GDB_TIMEOUT_S + 10, /* how long it waits for gdb */
};

/* ---- running tests in child processes ---- */

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
static char *log_dir;         /* where test logs go; NULL in -no-fork mode */
static char *gdb_path;        /* NULL when gdb is not installed */

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

/* Installs the runner's signal handlers, leaving alone a stop signal our
 * caller ignores (as nohup does). Returns 0 or a negative errno. */
static int install_signals(void)
{
	int err = runner_make_pipe(wake_pipe);
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

static void log_write(struct slot *s, const void *p, size_t n)
{
	if (s->log_fd >= 0 && runner_write_all(s->log_fd, p, n))
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
	(void)runner_write_all(runner_fail_channel, rec, len);
	alarm(CRASH_WAIT_S); /* should the runner never kill us */
	for (;;)             /* not pause(): simulation mode takes that over */
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

/* ---- starting a test process, and watching it ---- */

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
	runner_close_fd(&wake_pipe[0]);
	runner_close_fd(&wake_pipe[1]);
	for (int i = 0; i < nslots; i++) {
		runner_close_fd(&slots[i].out_fd);
		runner_close_fd(&slots[i].chan_fd);
		runner_close_fd(&slots[i].log_fd);
		runner_close_fd(&slots[i].gdb_fd);
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
	runner_fail_channel = chan_w;
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* Let gdb attach even when Yama allows tracing only by ancestors. */
	(void)prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY, 0, 0, 0);
	install_crash_handlers();

	runner_enter_test(r);
	runner_execute_test(r);
	size_t nsend = r->nfailures < MAX_SENT_FAILURES ? r->nfailures
	                                                : MAX_SENT_FAILURES;
	for (size_t i = 0; i < nsend; i++)
		runner_channel_send_failure(&r->failures[i]);
	if (r->nfailures > nsend)
		runner_channel_send("F", "\t0\t(and %zu more failures)",
		                    r->nfailures - nsend);
	runner_channel_send("A", "%u", r->asserts_passed);
	runner_send_sim_seconds();
	runner_channel_send("D", "%s", "");
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
	runner_buf_printf(&path, "%s/%s-%s-0x%" PRIx64, log_dir,
	                  runner_suite_name, r->test->name, r->seed);
	if (runner_opt.seed_set && runner_opt.count > 1)
		runner_buf_printf(&path, "-%d", r->iteration);
	runner_buf_puts(&path, ".log");
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
	r->seed = runner_opt.seed_set ? runner_opt.seed : prng_entropy_seed();
	s->start_ns = labtime_now_ns();
	if (budget_end_ns && s->start_ns >= budget_end_ns) {
		r->outcome = "not-run";
		runner_add_failure(r, NULL, 0,
		                   "not run: the run's time budget of %g s "
		                   "(-budget) ran out",
		                   runner_opt.budget_s);
		goto not_started;
	}
	r->log_path = log_path_for(r);

	s->log_fd =
	        open(r->log_path,
	             O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (s->log_fd < 0) {
		runner_add_failure(r, NULL, 0,
		                   "the runner cannot create the log %s: %s",
		                   r->log_path, strerror(errno));
		free(r->log_path);
		r->log_path = NULL;
		goto not_started;
	}
	struct buf header = {0};
	runner_buf_printf(&header, "=== RUN   %s  seed=0x%" PRIx64 "\n",
	                  r->test->name, r->seed);
	log_write(s, header.p, header.len);
	s->out_start = s->log_len;
	if (runner_opt.verbose && runner_opt.parallel == 1)
		runner_out_write(header.p, header.len);
	runner_buf_free(&header);

	int out[2], chan[2];
	int err = runner_make_pipe(out);
	if (err) {
		runner_add_failure(r, NULL, 0,
		                   "the runner cannot make a pipe: %s",
		                   strerror(-err));
		goto not_started;
	}
	err = runner_make_pipe(chan);
	if (err) {
		runner_add_failure(r, NULL, 0,
		                   "the runner cannot make a pipe: %s",
		                   strerror(-err));
		goto close_out;
	}
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid < 0) {
		runner_add_failure(r, NULL, 0, "the runner cannot fork: %s",
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
	double limit = runner_base_limit_s(r) * runner_time_scale();
	if (limit > 0)
		s->deadline_ns = s->start_ns + (int64_t)(limit * 1e9);
	if (budget_end_ns &&
	    (!s->deadline_ns || budget_end_ns < s->deadline_ns))
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
	int err = runner_make_pipe(out);
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
		      "thread apply all bt", (char *)NULL);
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
			s->run->elapsed_s = runner_seconds_since(s->start_ns);
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

/* s's test process crashed and waits in on_crash: backtraces (if gdb can),
 * then SIGKILL. */
static void on_crash_record(struct slot *s)
{
	s->run->elapsed_s = runner_seconds_since(s->start_ns);
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
		runner_close_fd(fd);
		return;
	}
	if (fd == &s->out_fd) {
		log_write(s, chunk, (size_t)n);
		if (runner_opt.parallel == 1)
			runner_out_write(chunk, (size_t)n);
		s->out_nl = chunk[n - 1] == '\n';
	} else if (fd == &s->chan_fd) {
		if (s->chan.len < CHANNEL_CAP)
			runner_buf_add(&s->chan, chunk, (size_t)n);
		if (s->timed_out || s->crash.sig)
			return;
		if (runner_channel_find_crash(&s->chan, &s->crash))
			on_crash_record(s);
		else if (runner_channel_says_stuck(&s->chan))
			on_timeout(s, labtime_now_ns());
	} else if (s->gdb_out.len < GDB_OUTPUT_CAP) {
		runner_buf_add(&s->gdb_out, chunk, (size_t)n);
	}
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

/* s's test ended: decide how it went, report it, free the slot. */
static void finish_slot(struct slot *s)
{
	struct run *r = s->run;
	bool returned = false, stuck = false;
	struct buf crash_details = {0};
	runner_channel_decode(r, &s->chan, &returned, &stuck);
	const char *outcome = "fail";
	if (s->not_started) {
		/* r already says why */
		if (r->outcome)
			outcome = r->outcome;
	} else if (s->interrupted) {
		outcome = "interrupted";
		runner_add_failure(r, NULL, 0, "interrupted by signal %d (%s)",
		                   (int)stop_signal, strsignal(stop_signal));
	} else if (stuck) {
		/* the simulation said why */
		outcome = "timeout";
	} else if (s->over_budget) {
		outcome = "budget";
		runner_add_failure(r, NULL, 0,
		                   "killed: the run's time budget of %g s "
		                   "(-budget) ran out",
		                   runner_opt.budget_s);
	} else if (s->timed_out) {
		outcome = "timeout";
		double base = runner_base_limit_s(r);
		double scale = runner_time_scale();
		if (scale != 1.0)
			runner_add_failure(r, NULL, 0,
			                   "TIMEOUT: killed after %g s (%g s x "
			                   "time scale %g)",
			                   base * scale, base, scale);
		else
			runner_add_failure(r, NULL, 0,
			                   "TIMEOUT: killed after %g s", base);
	} else if (s->crash.sig) {
		outcome = "crash";
		runner_format_crash(r, &s->crash, runner_buf_str(&s->gdb_out),
		                    &crash_details);
	} else if (WIFSIGNALED(s->status)) {
		outcome = "crash";
		int sig = WTERMSIG(s->status);
		runner_add_failure(r, NULL, 0, "crashed: signal %d (%s)%s", sig,
		                   strsignal(sig),
		                   WCOREDUMP(s->status) ? ", core dumped" : "");
	} else if (WEXITSTATUS(s->status) != 0) {
		/* A failed test exits 1 too: a sanitizer report in its output
		 * is still named. */
		struct test_output out = {s->log_fd, s->out_start, s->log_len};
		if (runner_blame_sanitizer(r, &out, WEXITSTATUS(s->status)))
			outcome = "sanitizer";
	} else if (!returned) {
		runner_add_failure(
		        r, NULL, 0,
		        "the test process exited with status 0 before the test "
		        "returned: does the code under test call exit()?");
	}
	r->passed = r->nfailures == 0;
	r->outcome = r->passed ? "pass" : outcome;
	if (s->not_started)
		r->elapsed_s = runner_seconds_since(s->start_ns);

	if (!s->out_nl) { /* start the report on a line of its own */
		log_write(s, "\n", 1);
		if (runner_opt.parallel == 1)
			runner_out_write("\n", 1);
	}
	struct test_output out = {s->log_fd, s->out_start, s->log_len};
	struct buf details = {0};
	struct buf full_dump = {0};
	if (s->timed_out && !s->interrupted && !s->over_budget) {
		runner_format_backtraces(runner_buf_str(&s->gdb_out),
		                         gdb_path != NULL, s->gdb_killed,
		                         s->log_fd >= 0, &details, &full_dump);
		runner_format_last_lines(&out, &details);
	}
	if (crash_details.len)
		runner_buf_add(&details, crash_details.p, crash_details.len);
	runner_buf_free(&crash_details);
	struct buf report = {0};
	runner_format_report(r, details.p, &report);
	log_write(s, report.p, report.len);
	if (runner_opt.parallel == 1 || s->interrupted || s->log_fd < 0)
		runner_out_write(runner_buf_str(&report), report.len);
	else
		copy_log_to_stdout(s, runner_opt.verbose ? 0 : s->out_start);
	log_write(s, full_dump.p, full_dump.len);
	runner_buf_free(&full_dump);
	runner_buf_free(&details);
	runner_buf_free(&report);

	runner_close_fd(&s->log_fd);
	if (r->passed && r->log_path) {
		unlink(r->log_path);
		free(r->log_path);
		r->log_path = NULL;
	}
	runner_write_result(r);
	runner_buf_free(&s->chan);
	runner_buf_free(&s->gdb_out);
	runner_close_fd(&s->out_fd);
	runner_close_fd(&s->chan_fd);
	runner_close_fd(&s->gdb_fd);
	s->run = NULL;
}

/* ---- the poll loop ---- */

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
			runner_close_fd(&s->out_fd);
			runner_close_fd(&s->chan_fd);
			runner_close_fd(&s->gdb_fd);
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
		runner_complain("poll: %s", strerror(errno));
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

/* Runs every run in child processes, up to runner_opt.parallel at once,
 * reporting each as it ends. Returns 0, or the signal that stopped the
 * run. */
static int run_forked(struct run *runs, size_t nruns)
{
	nslots = runner_opt.parallel;
	slots = runner_xrealloc(NULL, (size_t)nslots * sizeof *slots);
	for (int i = 0; i < nslots; i++)
		slots[i] = (struct slot){.out_fd = -1,
		                         .chan_fd = -1,
		                         .log_fd = -1,
		                         .gdb_fd = -1};
	size_t maxfds = 1 + 3 * (size_t)nslots;
	struct watch w = {
	        .pfds = runner_xrealloc(NULL, maxfds * sizeof *w.pfds),
	        .slot = runner_xrealloc(NULL, maxfds * sizeof *w.slot),
	        .fd = runner_xrealloc(NULL, maxfds * sizeof *w.fd),
	};
	runner_pid = getpid();
	int err = install_signals();
	if (err) {
		runner_complain("cannot make a pipe: %s", strerror(-err));
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
	runner_close_fd(&wake_pipe[0]);
	runner_close_fd(&wake_pipe[1]);
	free(w.pfds);
	free(w.slot);
	free(w.fd);
	free(slots);
	slots = NULL;
	nslots = 0;
	return stop_signal;
}

/* Makes the log directory (and its parents). Returns 0, or a negative errno
 * after saying what is wrong. */
static int prepare_log_dir(void)
{
	const char *env = getenv("RAFTLAB_LOG_DIR");
	bool shared = !env || !*env; /* the default, shared by every user */
	log_dir = runner_xstrdup(shared ? DEFAULT_LOG_DIR : env);
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
		runner_complain("cannot write test logs in %s: %s (set "
		                "RAFTLAB_LOG_DIR to a writable directory)",
		                log_dir, strerror(err));
		return -err;
	}
	return 0;
}

int runner_run_forked(struct run *runs, size_t nruns, int64_t start_ns)
{
	int status = -1;
	if (runner_opt.budget_s > 0)
		budget_end_ns = start_ns + (int64_t)(runner_opt.budget_s * 1e9);
	if (prepare_log_dir() == 0) {
		const char *no_gdb = getenv("RAFTLAB_NO_GDB");
		if (!no_gdb || !*no_gdb || strcmp(no_gdb, "0") == 0)
			gdb_path = runner_find_program("gdb");
		status = run_forked(runs, nruns);
		free(gdb_path);
		gdb_path = NULL;
	}
	free(log_dir);
	log_dir = NULL;
	return status;
}
