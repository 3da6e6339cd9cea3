/*
 * client.c: the reference clerk of the key/value service (kvraft.h). A clerk
 * sends each call to the server it last found leading, and moves on to the
 * next server on a wrong-leader reply or a lost message, until a leader has
 * executed it. Its id and per-call sequence numbers let the servers execute
 * a retried call only once. Not for: the servers' side (server.c).
 */
#include "kvraft/kvraft.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "labtime/labtime.h"
#include "prng/prng.h"
#include "rlog/rlog.h"

/* After asking every server in turn without success (no leader yet, or a
 * partition), wait this long before the next round, rather than spin. */
#define ROUND_PAUSE_MS 20

struct kv_clerk {
	struct labrpc_end **servers; /* the tester's, in its random order */
	int nservers;
	int leader;         /* the server that answered the last call */
	uint64_t client_id; /* random, 62 bits (Go: nrand()) */
	uint64_t seq;       /* of the last call made */
};

struct kv_clerk *kv_clerk_make(struct labrpc_end **servers, int nservers)
{
	struct kv_clerk *ck = calloc(1, sizeof *ck);
	if (ck == NULL) {
		fputs("kvraft: out of memory\n", stderr);
		abort();
	}
	ck->servers = calloc((size_t)nservers, sizeof *ck->servers);
	if (ck->servers == NULL) {
		fputs("kvraft: out of memory\n", stderr);
		abort();
	}
	memcpy(ck->servers, servers, (size_t)nservers * sizeof *servers);
	ck->nservers = nservers;
	ck->client_id = prng_entropy_seed() >> 2;
	return ck;
}

void kv_clerk_free(struct kv_clerk *ck)
{
	if (ck == NULL)
		return;
	free(ck->servers);
	free(ck);
}

/* Moves on to the next server; after a whole round without success, pauses
 * before the next one. tried counts the servers asked this round. */
static void next_server(struct kv_clerk *ck, int *tried)
{
	ck->leader = (ck->leader + 1) % ck->nservers;
	if (++*tried >= ck->nservers) {
		*tried = 0;
		labtime_sleep_ms(ROUND_PAUSE_MS);
	}
}

char *kv_get(struct kv_clerk *ck, const char *key)
{
	struct kv_get_args args = {.key = (char *)key,
	                           .client_id = ck->client_id,
	                           .seq = ++ck->seq};
	int tried = 0;
	for (;;) {
		struct kv_get_reply reply = {0};
		bool ok = labrpc_call(ck->servers[ck->leader], "KVServer.Get",
		                      &kv_get_args_type, &args,
		                      &kv_get_reply_type, &reply);
		rlog2(RLOG_CLIENT, -1, -1, "C%016llx #%llu Get(%s) at %d: %s",
		      (unsigned long long)ck->client_id,
		      (unsigned long long)args.seq, key, ck->leader,
		      ok ? reply.err : "no reply");
		if (ok && strcmp(reply.err, KV_OK) == 0) {
			char *value = reply.value;
			free(reply.err);
			return value;
		}
		if (ok && strcmp(reply.err, KV_ERR_NO_KEY) == 0) {
			kv_get_reply_type.release(&reply);
			return strdup("");
		}
		if (ok)
			kv_get_reply_type.release(&reply);
		next_server(ck, &tried);
	}
}

/* Put and Append (op "Put" or "Append"), until a leader has executed it. */
static void put_append(struct kv_clerk *ck, const char *key, const char *value,
                       const char *op)
{
	struct kv_put_append_args args = {.key = (char *)key,
	                                  .value = (char *)value,
	                                  .op = (char *)op,
	                                  .client_id = ck->client_id,
	                                  .seq = ++ck->seq};
	int tried = 0;
	for (;;) {
		struct kv_put_append_reply reply = {0};
		bool ok = labrpc_call(ck->servers[ck->leader],
		                      "KVServer.PutAppend",
		                      &kv_put_append_args_type, &args,
		                      &kv_put_append_reply_type, &reply);
		bool done = ok && strcmp(reply.err, KV_OK) == 0;
		rlog2(RLOG_CLIENT, -1, -1, "C%016llx #%llu %s(%s) at %d: %s",
		      (unsigned long long)ck->client_id,
		      (unsigned long long)args.seq, op, key, ck->leader,
		      ok ? reply.err : "no reply");
		if (ok)
			kv_put_append_reply_type.release(&reply);
		if (done)
			return;
		next_server(ck, &tried);
	}
}

void kv_put(struct kv_clerk *ck, const char *key, const char *value)
{
	put_append(ck, key, value, "Put");
}

void kv_append(struct kv_clerk *ck, const char *key, const char *value)
{
	put_append(ck, key, value, "Append");
}
