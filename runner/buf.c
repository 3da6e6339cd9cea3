/*
 * buf.c: the runner's small tools: a growable byte string (struct buf) for
 * the reports it builds, and the I/O helpers its files share. Nothing here
 * knows about tests.
 */
#include "runner/runner_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdnoreturn.h>
#include <string.h>
#include <unistd.h>

#include "labtime/labtime.h"

/* ---- the growable buffer ---- */

static noreturn void out_of_memory(void)
{
	static const char msg[] = "runner: out of memory\n";
	(void)!write(STDERR_FILENO, msg, sizeof msg - 1);
	_exit(2);
}

void *runner_xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		out_of_memory();
	return p;
}

char *runner_xstrdup(const char *s)
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
	b->p = runner_xrealloc(b->p, cap);
	b->cap = cap;
}

void runner_buf_add(struct buf *b, const void *p, size_t n)
{
	buf_reserve(b, n);
	memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void runner_buf_puts(struct buf *b, const char *s)
{
	runner_buf_add(b, s, strlen(s));
}

void runner_buf_vprintf(struct buf *b, const char *fmt, va_list ap)
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

void runner_buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	runner_buf_vprintf(b, fmt, ap);
	va_end(ap);
}

const char *runner_buf_str(const struct buf *b)
{
	return b->p ? b->p : "";
}

void runner_buf_free(struct buf *b)
{
	free(b->p);
	*b = (struct buf){0};
}

/* Appends s quoted for a POSIX shell (unquoted when nothing needs it). */
void runner_buf_add_shell_word(struct buf *b, const char *s)
{
	static const char safe[] =
	        "abcdefghijklmnopqrstuvwxyz"
	        "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./-+=:,@%";
	if (*s && strspn(s, safe) == strlen(s)) {
		runner_buf_puts(b, s);
		return;
	}
	runner_buf_puts(b, "'");
	for (; *s; s++) {
		if (*s == '\'')
			runner_buf_puts(b, "'\\''");
		else
			runner_buf_add(b, s, 1);
	}
	runner_buf_puts(b, "'");
}

/* Appends text, its first line after first_indent and every further line
 * after rest_indent, ending with a newline. */
void runner_buf_add_indented(struct buf *b, const char *text, size_t len,
                             const char *first_indent, const char *rest_indent)
{
	const char *indent = first_indent;
	while (len > 0) {
		const char *nl = memchr(text, '\n', len);
		size_t n = nl ? (size_t)(nl - text) : len;
		if (n > 0)
			runner_buf_puts(b, indent);
		runner_buf_add(b, text, n);
		runner_buf_puts(b, "\n");
		indent = rest_indent;
		if (!nl)
			break;
		text += n + 1;
		len -= n + 1;
	}
}

/* ---- small I/O helpers ---- */

const char *runner_base_name(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash ? slash + 1 : path;
}

/* Writes all of p to fd, going on after signals; false on an error. */
bool runner_write_all(int fd, const void *p, size_t n)
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
void runner_out_write(const void *p, size_t n)
{
	fwrite(p, 1, n, stdout);
	fflush(stdout);
}

void runner_close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

double runner_seconds_since(int64_t start_ns)
{
	return (double)(labtime_now_ns() - start_ns) / 1e9;
}

/* Makes a pipe whose ends close on exec (gdb must not hold the tests'
 * pipes). Returns 0 or a negative errno. */
int runner_make_pipe(int fds[2])
{
	if (pipe(fds) != 0)
		return -errno;
	fcntl(fds[0], F_SETFD, FD_CLOEXEC);
	fcntl(fds[1], F_SETFD, FD_CLOEXEC);
	return 0;
}

/* The path of program name in $PATH (to free), or NULL. */
char *runner_find_program(const char *name)
{
	const char *path = getenv("PATH");
	if (!path)
		path = "/usr/bin:/bin";
	struct buf dir = {0};
	for (const char *p = path;;) {
		const char *colon = strchr(p, ':');
		size_t n = colon ? (size_t)(colon - p) : strlen(p);
		dir.len = 0;
		runner_buf_add(&dir, n ? p : ".", n ? n : 1);
		runner_buf_printf(&dir, "/%s", name);
		if (access(dir.p, X_OK) == 0)
			return dir.p;
		if (!colon)
			break;
		p = colon + 1;
	}
	runner_buf_free(&dir);
	return NULL;
}
