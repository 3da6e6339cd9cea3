/*
 * diagnose.c: where a failed test went wrong, read from what it left: the
 * frame to blame for a crash, where a hung test's threads wait (gdb's dump
 * grouped by stack, the student's first), its last lines of output, and
 * the sanitizers' reports in it. It starts nothing but addr2line.
 */
#define _GNU_SOURCE /* dl_iterate_phdr and memmem */
#include "runner/runner_int.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#ifdef __GLIBC__
#include <execinfo.h>
#endif

enum {
	LAST_LINES_WINDOW = 1 << 16, /* bytes of the log searched for those */
	MAX_STACKS_SHOWN = 6,        /* distinct stacks a hang report prints */
};

/* ---- crash reports: the runner's side ---- */

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
	       memmem(line, n, " runner_execute_test ", 21) ||
	       memmem(line, n, "[Inferior ", 10);
}

/* The crashing thread's frames from gdb's dump (those below the signal
 * handler), one per line; false if gdb's output lacks that thread. */
static bool crash_frames_from_gdb(long tid, const char *gdb_out,
                                  struct buf *out)
{
	char key[48];
	snprintf(key, sizeof key, "(LWP %ld)", tid);
	const char *hdr = strstr(gdb_out, key);
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
		runner_buf_add(out, first, (size_t)(stop - first));
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
	if (runner_make_pipe(out) != 0)
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
		runner_buf_add(&b, chunk, (size_t)n);
	}
	close(out[0]);
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		runner_buf_free(&b);
		return NULL;
	}
	return b.p ? b.p : runner_xstrdup("");
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
	char *addr2line = runner_find_program("addr2line");
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
		runner_buf_printf(out, "#%-2d ", i);
		if (where[i].main_program && next && *next) {
			const char *nl = strchr(next, '\n');
			size_t len = nl ? (size_t)(nl - next) : strlen(next);
			const char *disc =
			        memmem(next, len, " (discriminator", 15);
			runner_buf_add(out, next,
			               disc ? (size_t)(disc - next) : len);
			next = nl ? nl + 1 : "";
		} else {
			/* "/lib/.../libc.so.6(abort+0xd3) [0x...]" */
			const char *sym = syms ? syms[i] : "??";
			const char *open_paren = strchr(sym, '(');
			const char *close_paren =
			        open_paren ? strchr(open_paren, ')') : NULL;
			runner_buf_printf(out, "0x%" PRIxPTR " in ",
			                  (uintptr_t)addrs[i]);
			if (close_paren && close_paren > open_paren + 1 &&
			    open_paren[1] != '+') {
				runner_buf_add(
				        out, open_paren + 1,
				        (size_t)(close_paren - open_paren - 1));
				runner_buf_puts(out, " ");
			} else {
				runner_buf_puts(out, "?? ");
			}
			const char *obj =
			        open_paren ? open_paren : sym + strlen(sym);
			const char *slash = obj;
			while (slash > sym && slash[-1] != '/')
				slash--;
			runner_buf_puts(out, "from ");
			runner_buf_add(out, slash, (size_t)(obj - slash));
		}
		runner_buf_puts(out, "\n");
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

/* Reports r's crash: the failure (at the frame to blame), the crashing
 * thread's frames, and the commands that show more. */
void runner_format_crash(struct run *r, const struct crash *c,
                         const char *gdb_out, struct buf *d)
{
	int sig = c->sig;
	struct buf frames = {0};
	const char *source =
	        crash_frames_from_gdb(c->tid, gdb_out, &frames) ? "gdb"
	        : crash_frames_symbolized(c, &frames) ? "its return addresses"
	                                              : NULL;
	struct frame f;
	if (source && blame_frame(runner_buf_str(&frames), &f)) {
		struct buf file = {0}, func = {0};
		runner_buf_add(&file, f.file, f.file_len);
		runner_buf_add(&func, f.func, f.func_len);
		runner_add_failure(r, file.p, f.line,
		                   "crashed: signal %d (%s) in %s", sig,
		                   strsignal(sig), func.p);
		runner_buf_free(&file);
		runner_buf_free(&func);
	} else {
		runner_add_failure(r, NULL, 0, "crashed: signal %d (%s)", sig,
		                   strsignal(sig));
	}
	if (source) {
		runner_buf_printf(d, INDENT "the crashing thread (from %s):\n",
		                  source);
		runner_buf_add_indented(d, frames.p, frames.len, INDENT2,
		                        INDENT2);
	} else {
		runner_buf_puts(d, INDENT
		                "(install gdb to see where it crashed)\n");
	}
	runner_buf_free(&frames);

	struct buf cmd = {0}, pattern = {0};
	runner_buf_printf(&pattern, "^%s$", r->test->name);
	runner_buf_puts(&cmd, " -run ");
	runner_buf_add_shell_word(&cmd, pattern.p);
	runner_buf_printf(&cmd, " -seed 0x%" PRIx64, r->seed);
	runner_buf_puts(d, INDENT "to stop at the crash in gdb:\n" INDENT2
	                          "gdb -ex run --args ");
	runner_buf_add_shell_word(d, runner_prog);
	runner_buf_printf(d, " -no-fork%s\n", cmd.p);
#ifdef RAFTLAB_SIM
	const char *asan = "SIM=1 SAN=address", *dir = "build/sim-address";
#else
	const char *asan = "SAN=address", *dir = "build/address";
#endif
	runner_buf_printf(d,
	                  INDENT
	                  "AddressSanitizer names bad memory use where it "
	                  "happens:\n" INDENT2 "make %s && %s/%s%s\n",
	                  asan, dir, runner_prog_name, cmd.p);
	runner_buf_free(&cmd);
	runner_buf_free(&pattern);
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
	int rank;  /* 0: student code in the stack, 1: tests or config, 2: rest
	            */
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
	runner_buf_add(key, func, (size_t)(p - func));
	const char *tail = NULL;
	for (const char *q = p; q + 4 <= end; q++)
		if (memcmp(q, " at ", 4) == 0 ||
		    (q + 6 <= end && memcmp(q, " from ", 6) == 0))
			tail = q;
	if (tail)
		runner_buf_add(key, tail, (size_t)(end - tail));
	runner_buf_puts(key, "\n");
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
	runner_buf_add(out, func, n);
}

/* Describes where a thread is, from its frames: "blocked in WAIT ← FUNC
 * (FILE:LINE)", with the student's frame too when the innermost of
 * raftlab's is not one; sets *rank. */
static void describe_place(const char *frames, size_t len, struct buf *out,
                           int *rank, int *state)
{
	struct buf wait = {0};
	bool wait_named = false; /* by simulation mode's call= */
	struct frame inner = {0}, student = {0}, caller = {0};
	bool have_inner = false, have_student = false, have_caller = false;
	const char *end = frames + len;
	for (const char *line = frames; line < end;) {
		const char *nl = memchr(line, '\n', (size_t)(end - line));
		size_t n = nl ? (size_t)(nl - line) : (size_t)(end - line);
		struct frame f;
		bool parsed = parse_frame(line, n, &f);
		/* simulation mode's wrappers, and the runner's handlers,
		 * count as the C library's */
		bool sim_frame =
		        parsed &&
		        ((f.file_len > 4 && memcmp(f.file, "sim/", 4) == 0) ||
		         is_runner_file(f.file, f.file_len));
		if (parsed && !sim_frame && have_student) {
			/* the student's function that called it, when it is
			 * a helper of theirs (a wait, a lock), names the
			 * place better than the helper alone */
			if (is_student_file(f.file, f.file_len))
				caller = f, have_caller = true;
			break;
		} else if (parsed && !sim_frame &&
		           is_project_file(f.file, f.file_len)) {
			if (!have_inner)
				inner = f, have_inner = true;
			if (is_student_file(f.file, f.file_len))
				student = f, have_student = true;
		} else if (!have_inner && n > 1 && line[0] == '#') {
			/* the C library's: the last before raftlab's frames
			 * is the call it waits in */
			struct buf key = {0};
			frame_key(line, n, &key);
			size_t k = strcspn(key.p, " \n");
			/* simulation mode's wait names the call it stands
			 * for: call=0x... "pthread_mutex_lock" */
			const char *call = memmem(line, n, "call=", 5);
			const char *q1 =
			        call ? memchr(call, '"',
			                      (size_t)(line + n - call))
			             : NULL;
			const char *q2 =
			        q1 ? memchr(q1 + 1, '"',
			                    (size_t)(line + n - q1 - 1))
			           : NULL;
			if (q2 && q2 > q1 + 1) {
				wait.len = 0;
				runner_buf_add(&wait, q1 + 1,
				               (size_t)(q2 - q1 - 1));
				wait_named = true;
			} else if (!wait_named && k > 0 &&
			           !(k == 2 && key.p[0] == '?')) {
				wait.len = 0;
				plain_name(key.p, k, &wait);
			}
			runner_buf_free(&key);
		}
		line += n + (nl != NULL);
	}
	if (!have_inner) {
		runner_buf_printf(out, "in %s (no raftlab frames)",
		                  wait.len ? wait.p : "??");
		*rank = 2;
		*state = 2;
	} else {
		if (wait.len)
			runner_buf_printf(out, "blocked in %s \u2190 ", wait.p);
		else
			runner_buf_puts(out, "running in ");
		runner_buf_printf(out, "%.*s (%.*s:%u)", (int)inner.func_len,
		                  inner.func, (int)inner.file_len, inner.file,
		                  inner.line);
		if (have_student && student.func != inner.func)
			runner_buf_printf(out, " \u2190 %.*s (%.*s:%u)",
			                  (int)student.func_len, student.func,
			                  (int)student.file_len, student.file,
			                  student.line);
		if (have_caller)
			runner_buf_printf(out, " \u2190 %.*s (%.*s:%u)",
			                  (int)caller.func_len, caller.func,
			                  (int)caller.file_len, caller.file,
			                  caller.line);
		/* (runner/ here is the runner's self-test: its own frames
		 * were passed over) */
		bool harness = (inner.file_len > 6 &&
		                (memcmp(inner.file, "tests/", 6) == 0)) ||
		               (inner.file_len > 7 &&
		                (memcmp(inner.file, "config/", 7) == 0 ||
		                 memcmp(inner.file, "runner/", 7) == 0));
		*rank = have_student ? 0 : harness ? 1 : 2;
		*state = !wait.len ? 0
		         : strstr(wait.p, "mutex") ||
		                         strstr(wait.p, "rwlock") ||
		                         strstr(wait.p, "spin_lock")
		                 ? 1
		                 : 2;
	}
	runner_buf_free(&wait);
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
			t = runner_xrealloc(t, (n + 1) * sizeof *t);
			t[n++] = (struct gdb_thread){.header = line,
			                             .header_len = len,
			                             .frames = line + len +
			                                       (nl != NULL),
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
void runner_format_backtraces(const char *gdb_out, bool have_gdb, bool killed,
                              bool logged, struct buf *d, struct buf *full)
{
	if (!have_gdb) {
		runner_buf_puts(d, INDENT "(install gdb to see the threads' "
		                          "backtraces)\n");
		return;
	}
	/* Skip gdb's preamble (symbol loading, the current frame): the
	 * backtraces start at the first "Thread N (...)" line. */
	const char *text = gdb_out;
	const char *start =
	        strncmp(text, "Thread ", 7) ? strstr(text, "\nThread ") : text;
	if (!start) {
		const char *why =
		        killed ? "gdb was too slow" : "gdb could not attach";
		runner_buf_printf(d, INDENT "(no backtraces: %s)\n", why);
		return;
	}
	if (*start == '\n')
		start++;

	struct gdb_thread *threads;
	size_t nthreads = parse_gdb_threads(start, &threads);
	struct stack_group *groups =
	        runner_xrealloc(NULL, (nthreads + 1) * sizeof *groups);
	size_t ngroups = 0;
	for (size_t i = 0; i < nthreads; i++) {
		struct gdb_thread *t = &threads[i];
		struct buf key = {0};
		const char *end = t->frames + t->frames_len;
		for (const char *line = t->frames; line < end;) {
			const char *nl =
			        memchr(line, '\n', (size_t)(end - line));
			size_t n =
			        nl ? (size_t)(nl - line) : (size_t)(end - line);
			if (is_runner_frame(line, n))
				break;
			if (n > 0 && line[0] == '#')
				frame_key(line, n, &key);
			line += n + (nl != NULL);
		}
		t->key = key.p ? key.p : runner_xstrdup("");
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
			    strcmp(runner_buf_str(&groups[h].place),
			           runner_buf_str(&groups[g].place)) == 0) {
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
	runner_buf_printf(
	        d, INDENT "where the test's %zu threads are (gdb; %s):\n",
	        nthreads,
	        any_student ? "yours first" : "no thread is in your code");
	/* Yours first; among them a thread running or waiting for a lock
	 * first, and a lone thread before a crowd: in a deadlock the
	 * culprit is one thread, its victims pile up. */
	size_t *order = runner_xrealloc(NULL, (ngroups + 1) * sizeof *order);
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
		runner_buf_printf(d, INDENT2 "%d thread%s %s\n", grp->count,
		                  grp->count == 1 ? " " : "s",
		                  runner_buf_str(&grp->place));
	}
	/* The stacks: yours when some are, else every distinct one. */
	runner_buf_printf(d, INDENT "%s:\n",
	                  any_student ? "the stacks in your code"
	                              : "each distinct stack");
	size_t shown = 0;
	for (size_t k = 0; k < ngroups; k++) {
		const struct stack_group *g = &groups[order[k]];
		if (g->count == 0 || (any_student && g->rank != 0))
			continue;
		if (shown++ == MAX_STACKS_SHOWN) {
			runner_buf_printf(d,
			                  INDENT2 "(and more: every thread's "
			                          "backtrace is in the log)\n");
			break;
		}
		const struct gdb_thread *t = &threads[g->first];
		if (g->count == 1) {
			runner_buf_printf(d, INDENT2 "%.*s\n",
			                  (int)t->header_len, t->header);
		} else {
			struct buf numbers = {0};
			for (size_t i = 0; i < nthreads; i++)
				if (threads[i].group == (int)order[k])
					runner_buf_printf(&numbers, "%s%d",
					                  numbers.len ? ", "
					                              : "",
					                  threads[i].number);
			runner_buf_printf(
			        d, INDENT2 "Threads %s (%d, the same stack):\n",
			        numbers.p, g->count);
			runner_buf_free(&numbers);
		}
		runner_buf_add_indented(
		        d, t->frames,
		        frames_above_runner(t->frames, t->frames_len), INDENT2,
		        INDENT2);
	}
	if (killed)
		runner_buf_printf(d, INDENT "(gdb was stopped after %d s)\n",
		                  GDB_TIMEOUT_S);
	if (nthreads > 0 && logged)
		runner_buf_printf(d, INDENT
		                  "every thread's backtrace: at the end of "
		                  "the log\n");

	runner_buf_puts(full,
	                "\nbacktraces of every thread of the test (gdb):\n");
	for (const char *line = start; *line;) {
		const char *nl = strchr(line, '\n');
		size_t n = nl ? (size_t)(nl - line) : strlen(line);
		if (strncmp(line, "[Inferior ", 10) != 0) {
			runner_buf_add(full, line, n);
			runner_buf_puts(full, "\n");
		}
		line += n + (nl != NULL);
	}
	free(order);
	for (size_t i = 0; i < nthreads; i++)
		free(threads[i].key);
	for (size_t g = 0; g < ngroups; g++)
		runner_buf_free(&groups[g].place);
	free(groups);
	free(threads);
}

/* Appends the last LAST_LINES lines of a test's output, read back from its
 * log. */
void runner_format_last_lines(const struct test_output *out, struct buf *d)
{
	off_t len = out->end - out->start;
	if (len <= 0) {
		runner_buf_puts(d, INDENT "(the test printed nothing)\n");
		return;
	}
	size_t want = len < LAST_LINES_WINDOW ? (size_t)len : LAST_LINES_WINDOW;
	off_t from = out->end - (off_t)want;
	char *text = runner_xrealloc(NULL, want);
	size_t got = 0;
	while (got < want) {
		ssize_t n = pread(out->fd, text + got, want - got,
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
	bool whole = begin == 0 && from == out->start;
	if (begin == 0 && !whole) { /* the window starts mid-line: skip that */
		const char *nl = memchr(text, '\n', end);
		begin = nl ? (size_t)(nl - text) + 1 : 0;
	}
	int shown = 1;
	for (size_t i = begin; i < end; i++)
		shown += text[i] == '\n';
	if (whole)
		runner_buf_printf(d, INDENT "its output (%d line%s):\n", shown,
		                  shown == 1 ? "" : "s");
	else
		runner_buf_printf(d, INDENT "its last %d lines of output:\n",
		                  shown);
	runner_buf_add_indented(d, text + begin, end - begin, INDENT2, INDENT2);
	free(text);
}

/* ---- the sanitizers' reports in a test's output ---- */

/* Calls fn with each line of a test's output in its log (without the
 * newline; a line longer than the buffer comes in pieces), until fn
 * returns false. */
static void for_each_output_line(const struct test_output *out,
                                 bool (*fn)(const char *, size_t, void *),
                                 void *arg)
{
	char chunk[1 << 16];
	size_t have = 0;
	off_t at = out->start;
	if (out->fd < 0)
		return;
	for (;;) {
		ssize_t n = at < out->end ? pread(out->fd, chunk + have,
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
			const char *eq =
			        len > 2 && line[0] == '=' && line[1] == '='
			                ? memmem(line + 2, len - 2, "==", 2)
			                : NULL;
			const char *from = eq ? eq + 2 : line;
			runner_buf_add(&scan->headline, from,
			               len - (size_t)(from - line));
		}
	} else if (starts_with(line, len, "SUMMARY: ")) {
		if (!scan->summary.len)
			runner_buf_add(&scan->summary, line + 9, len - 9);
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
			    !memmem(func, len - (size_t)(func - line),
			            "libc.so", 7))
				runner_buf_add(&scan->frame, func,
				               len - (size_t)(func - line));
		}
	}
	return true;
}

static void sanitizer_scan_free(struct sanitizer_scan *scan)
{
	runner_buf_free(&scan->summary);
	runner_buf_free(&scan->headline);
	runner_buf_free(&scan->frame);
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
static bool split_location(const char *text, struct buf *file, unsigned *line,
                           struct buf *rest)
{
	for (const char *w = text; *w;) {
		size_t len = strcspn(w, " ");
		const char *colon = memchr(w, ':', len);
		if (colon && colon > w && colon + 1 < w + len &&
		    colon[1] >= '0' && colon[1] <= '9') {
			runner_buf_add(file, w, (size_t)(colon - w));
			*line = (unsigned)strtoul(colon + 1, NULL, 10);
			runner_buf_add(rest, text, (size_t)(w - text));
			const char *after = w + len;
			while (*after == ' ')
				after++;
			while (rest->len && rest->p[rest->len - 1] == ' ')
				rest->p[--rest->len] = '\0';
			if (*after) {
				if (rest->len)
					runner_buf_puts(rest, " ");
				runner_buf_puts(rest, after);
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
                                  const struct sanitizer_scan *scan, int status)
{
	unsigned n = scan->reports;
	if (n == 0) {
		runner_add_failure(r, NULL, 0,
		                   "exit status %d, and no sanitizer report in "
		                   "the test's output: does the code under "
		                   "test call exit()?",
		                   status);
		return;
	}
	const char *text = scan->summary.len ? scan->summary.p
	                                     : runner_buf_str(&scan->headline);
	struct buf file = {0}, rest = {0};
	unsigned line = 0;
	bool located = split_location(text, &file, &line, &rest);
	if (!located && scan->frame.len) { /* a leak: where it was allocated */
		struct buf ffile = {0}, frest = {0};
		if (split_location(scan->frame.p, &ffile, &line, &frest)) {
			runner_buf_free(&file);
			file = ffile;
			runner_buf_free(&rest);
			runner_buf_printf(
			        &rest, "%.*s, allocated in %.*s",
			        without_final_dots(text, strlen(text)), text,
			        (int)strcspn(frest.p, " "), frest.p);
			located = true;
		} else {
			runner_buf_free(&ffile);
		}
		runner_buf_free(&frest);
	}
	const char *what = located ? runner_buf_str(&rest) : text;
	runner_add_failure(r, located ? file.p : NULL, line,
	                   "%.*s (%u sanitizer report%s, whole in the log; "
	                   "exit status %d)",
	                   without_final_dots(what, strlen(what)), what, n,
	                   n == 1 ? "" : "s", status);
	runner_buf_free(&file);
	runner_buf_free(&rest);
}

/* r's test exited with status, not 0: names the sanitizer report in its
 * output, if any, unless r has failures that explain the status and there
 * is none. Returns whether it added a failure. */
bool runner_blame_sanitizer(struct run *r, const struct test_output *out,
                            int status)
{
	struct sanitizer_scan scan = {0};
	for_each_output_line(out, scan_sanitizer_line, &scan);
	bool blamed = r->nfailures == 0 || scan.reports > 0;
	if (blamed)
		add_sanitizer_failure(r, &scan, status);
	sanitizer_scan_free(&scan);
	return blamed;
}
