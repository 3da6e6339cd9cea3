/*
 * rlog.c: the debug log (see rlog.h). Reads RAFTLAB_DEBUG and RAFTLAB_TOPICS
 * once, caches the enabled topics per level in an atomic mask, and formats
 * each line into a buffer written to stderr with a single write(2).
 */
#include "rlog/rlog.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "labtime/labtime.h"

enum { LINE_MAX_BYTES = 512 };

atomic_uint rlog_masks_[2] = {RLOG_UNREAD_, RLOG_UNREAD_};

static const char *const topic_names[RLOG_NTOPICS] = {
        [RLOG_TIMER] = "TIMER",   [RLOG_VOTE] = "VOTE",
        [RLOG_LEADER] = "LEADER", [RLOG_APPEND] = "APPEND",
        [RLOG_COMMIT] = "COMMIT", [RLOG_PERSIST] = "PERSIST",
        [RLOG_SNAP] = "SNAP",     [RLOG_APPLY] = "APPLY",
        [RLOG_CLIENT] = "CLIENT", [RLOG_SERVER] = "SERVER",
        [RLOG_TEST] = "TEST",     [RLOG_WARN] = "WARN",
        [RLOG_INFO] = "INFO",
};

static pthread_once_t env_once = PTHREAD_ONCE_INIT;
static int64_t start_ms; /* written once, under env_once */

const char *rlog_topic_name(enum rlog_topic topic)
{
	return (unsigned)topic < RLOG_NTOPICS ? topic_names[topic] : NULL;
}

static void complain(const char *fmt, ...)
        __attribute__((format(printf, 1, 2)));
static void complain(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "rlog: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* The topics RAFTLAB_TOPICS names, as a mask (all of them if unset). */
static unsigned topics_from_env(void)
{
	const char *env = getenv("RAFTLAB_TOPICS");
	if (!env || !*env)
		return (1u << RLOG_NTOPICS) - 1;
	unsigned mask = 0;
	for (const char *p = env; *p;) {
		size_t len = strcspn(p, ", ");
		int t = 0;
		while (t < RLOG_NTOPICS &&
		       !(strlen(topic_names[t]) == len &&
		         strncasecmp(p, topic_names[t], len) == 0))
			t++;
		if (t < RLOG_NTOPICS) {
			mask |= 1u << t;
		} else if (len > 0) {
			char name[32];
			snprintf(name, sizeof name, "%.*s", (int)len, p);
			complain("unknown topic '%s' in RAFTLAB_TOPICS", name);
		}
		p += len;
		p += strspn(p, ", ");
	}
	return mask;
}

static void read_env(void)
{
	start_ms = labtime_now_ms();
	const char *env = getenv("RAFTLAB_DEBUG");
	long level = 0;
	if (env && *env) {
		char *end;
		errno = 0;
		level = strtol(env, &end, 10);
		if (errno || *end || level < 0) {
			complain("RAFTLAB_DEBUG must be 0, 1 or 2, not '%s'",
			         env);
			level = 0;
		} else if (level > 2) {
			complain("RAFTLAB_DEBUG must be 0, 1 or 2, not '%s' "
			         "(taken as 2, the most detail)",
			         env);
			level = 2;
		}
	}
	unsigned topics = level > 0 ? topics_from_env() : 0;
	atomic_store(&rlog_masks_[0], topics);
	atomic_store(&rlog_masks_[1], level >= 2 ? topics : 0);
}

unsigned rlog_read_env_(int level)
{
	pthread_once(&env_once, read_env);
	return atomic_load(&rlog_masks_[level - 1]);
}

void rlog_write_(enum rlog_topic topic, int peer, int term, const char *fmt,
                 ...)
{
	char line[LINE_MAX_BYTES];
	const char *name = rlog_topic_name(topic);
	int n = snprintf(line, sizeof line, "%06" PRId64 " %s S",
	                 labtime_now_ms() - start_ms, name ? name : "INFO");
	n += peer >= 0 ? snprintf(line + n, sizeof line - (size_t)n, "%d", peer)
	               : snprintf(line + n, sizeof line - (size_t)n, "-");
	n += term >= 0 ? snprintf(line + n, sizeof line - (size_t)n, " T%d ",
	                          term)
	               : snprintf(line + n, sizeof line - (size_t)n, " T- ");

	va_list ap;
	va_start(ap, fmt);
	int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (m < 0)
		m = 0;
	n = n + m < (int)sizeof line - 1 ? n + m : (int)sizeof line - 2;
	/* One line each: a newline in the message would break the format. */
	for (char *p = line; p < line + n; p++)
		if (*p == '\n')
			*p = ' ';
	line[n++] = '\n';
	for (size_t done = 0; done < (size_t)n;) {
		ssize_t w = write(STDERR_FILENO, line + done, (size_t)n - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		done += (size_t)w;
	}
}
