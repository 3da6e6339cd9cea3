/*
 * client.c: YOUR clerk for the key/value service (Lab 4). This is the
 * starting point handed to students: it compiles against kvraft/kvraft.h and
 * runs, but talks to no server, so the kvraft tests fail until you fill it in.
 *
 * A clerk sends each call to a server with labrpc_call(servers[i],
 * "KVServer.Get", &kv_get_args_type, &args, &kv_get_reply_type, &reply) (or
 * "KVServer.PutAppend"), and tries another server on a lost message or a
 * wrong-leader reply. Release a received reply with its type's release. Look
 * for "Your code here".
 */
#include "kvraft/kvraft.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "labtime/labtime.h"
#include "prng/prng.h"

struct kv_clerk {
	struct labrpc_end **servers; /* the tester's, in its random order */
	int nservers;
	/* Your data here (4A): remember the leader; a unique id
	 * (prng_entropy_seed() is a good source) and a sequence number, so
	 * that the servers can detect a retried call. */
};

struct kv_clerk *kv_clerk_make(struct labrpc_end **servers, int nservers)
{
	struct kv_clerk *ck = calloc(1, sizeof *ck);
	if (ck == NULL)
		return NULL;
	ck->servers = calloc((size_t)nservers, sizeof *ck->servers);
	if (ck->servers == NULL) {
		free(ck);
		return NULL;
	}
	memcpy(ck->servers, servers, (size_t)nservers * sizeof *servers);
	ck->nservers = nservers;
	/* Your code here (4A). */
	return ck;
}

void kv_clerk_free(struct kv_clerk *ck)
{
	if (ck == NULL)
		return;
	/* Your code here (4A), if the clerk owns more. */
	free(ck->servers);
	free(ck);
}

/*
 * Fetches the current value for a key. Returns "" if the key does not
 * exist. Keeps trying forever in the face of all other errors. The result is
 * a malloc'd string the caller frees.
 */
char *kv_get(struct kv_clerk *ck, const char *key)
{
	(void)ck;
	(void)key;
	/* Your code here (4A). */
	return strdup("");
}

/* Shared by Put and Append; op is "Put" or "Append". */
static void put_append(struct kv_clerk *ck, const char *key, const char *value,
                       const char *op)
{
	(void)ck;
	(void)key;
	(void)value;
	(void)op;
	/* Your code here (4A). */
}

void kv_put(struct kv_clerk *ck, const char *key, const char *value)
{
	put_append(ck, key, value, "Put");
}

void kv_append(struct kv_clerk *ck, const char *key, const char *value)
{
	put_append(ck, key, value, "Append");
}
