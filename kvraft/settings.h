/*
 * settings.h: settings of the reference key/value server (kvraft/server.c)
 * that only benchmarks change; the graded tests use the defaults. Not part
 * of the lab's API: a student's server need not have them.
 */
#ifndef RAFTLAB_KV_SETTINGS_H
#define RAFTLAB_KV_SETTINGS_H

#include <stdbool.h>

/* Servers started from now on put Gets through the Raft log, as 6.5840's
 * lab does, instead of serving them with raft_read_index (the default,
 * false). For comparing the two (make bench). Any thread. */
void kv_settings_log_reads(bool yes);
bool kv_settings_get_log_reads(void);

#endif
