/*
 * kvraft: the fault-tolerant key/value service of Lab 4, built on Raft. A
 * group of servers replicate a map from strings to strings through the Raft
 * log; clerks (clients) call Get, Put and Append on them over labrpc and
 * retry until some server, the leader, has executed the call exactly once.
 *
 * Students implement the clerk in kvraft/client.c and the server in
 * kvraft/server.c (the handout's are starting points); the wire format the
 * two share is declared here and defined in kvraft/rpc.c. The tester
 * (config/kv_config.c) uses only the clerk and server API below.
 *
 * Semantics (every call linearizable, executed exactly once despite retries):
 * Put replaces a key's value, Append concatenates to it (a missing key counts
 * as ""), Get returns the current value ("" for a missing key).
 */
#ifndef RAFTLAB_KVRAFT_H
#define RAFTLAB_KVRAFT_H

#include <stdint.h>

#include "codec/codec.h"
#include "labrpc/labrpc.h"
#include "raft/persister.h"
#include "raft/raft.h"

/* ---- the clerk ---- */

struct kv_clerk;

/*
 * Makes a clerk that talks to the servers through servers[0..nservers-1].
 * The tester passes the ends in a random order, so servers[i] need not be
 * server i. The ends belong to the tester and stay valid until
 * kv_clerk_free. A clerk makes one call at a time.
 */
struct kv_clerk *kv_clerk_make(struct labrpc_end **servers, int nservers);
void kv_clerk_free(struct kv_clerk *ck);

/* The current value of key: a malloc'd string the caller frees, "" if the
 * key is missing. Keeps trying forever in the face of all other errors. */
char *kv_get(struct kv_clerk *ck, const char *key);
/* Replaces key's value with value. Keeps trying until it is done. */
void kv_put(struct kv_clerk *ck, const char *key, const char *value);
/* Appends value to key's value ("" if missing). Keeps trying until done. */
void kv_append(struct kv_clerk *ck, const char *key, const char *value);

/* ---- the server ---- */

struct kv_server;

/*
 * Starts server me of a group of n, and returns at once. servers[j] is its
 * end to the Raft peer of server j (servers[me] included); the ends and the
 * persister belong to the tester and stay valid until kv_server_free. The
 * server restores its state from the persister's snapshot, then makes its
 * Raft peer with an unbuffered apply channel of its own.
 *
 * maxraftstate: snapshot (raft_snapshot) when the persisted Raft state
 * approaches this many bytes; -1 means never snapshot.
 */
struct kv_server *kv_server_start(struct labrpc_end **servers, int n, int me,
                                  struct persister *persister,
                                  int maxraftstate);

/* The server's Raft peer: the tester registers its "Raft" service on the same
 * labrpc server as "KVServer", and asks it who leads. */
struct raft *kv_server_raft(struct kv_server *kv);

/*
 * Stops the server for good: kills its Raft peer, stops its apply thread and
 * makes every handler still waiting return (ErrWrongLeader) at once. Handlers
 * called later return at once too. Call it once the server's labrpc server
 * has been removed from the network.
 */
void kv_server_kill(struct kv_server *kv);

/* Frees a killed server and its Raft peer. The tester calls it once no
 * handler can run any more (after labrpc_server_free). */
void kv_server_free(struct kv_server *kv);

/* The "KVServer" labrpc service, with methods "Get" and "PutAppend"; the
 * receiver is the struct kv_server. */
extern const struct labrpc_service_def kv_service;

/* ---- the wire format (kvraft/rpc.c): shared by client.c and server.c ----
 *
 * Strings cross as codec byte strings. Decoded strings are malloc'd and
 * NUL-terminated; each type's release frees them. Err is a string, as in the
 * original: one of the KV_ERR_* values.
 */

#define KV_OK "OK"
#define KV_ERR_NO_KEY "ErrNoKey"
#define KV_ERR_WRONG_LEADER "ErrWrongLeader"

/* A clerk's call is identified by its clerk's id and a sequence number that
 * grows with every call; the servers use them to execute it once only. */
struct kv_get_args {
	char *key;
	uint64_t client_id;
	uint64_t seq;
};

struct kv_get_reply {
	char *err;
	char *value;
};

struct kv_put_append_args {
	char *key;
	char *value;
	char *op; /* "Put" or "Append" */
	uint64_t client_id;
	uint64_t seq;
};

struct kv_put_append_reply {
	char *err;
};

extern const struct codec_type kv_get_args_type;
extern const struct codec_type kv_get_reply_type;
extern const struct codec_type kv_put_append_args_type;
extern const struct codec_type kv_put_append_reply_type;

#endif
