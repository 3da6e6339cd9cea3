/*
 * labrpc: a simulated, unreliable network between the threads of one process.
 * It re-creates the 6.5840 Go labrpc model: client ends that each talk to one
 * server, servers hosting named services, and a network that can be reliable
 * or unreliable (delays, dropped requests and replies), reorder replies by up
 * to 2.2 s (long reordering), delay failures by up to 7 s (long delays),
 * partition (enable/disable ends), and delete or replace servers. Beyond
 * Go's model it can also give every message a fixed time on the wire
 * (labrpc_net_latency), for benchmarks that want a known broadcast time.
 *
 * Arguments and replies always cross as encoded bytes (codec.h): a handler
 * gets a private decoded copy of the arguments and a zeroed reply, and the
 * caller gets a private decoded copy of the reply. Nothing is shared.
 *
 * Not for: real sockets. Everything here lives in one process.
 */
#ifndef RAFTLAB_LABRPC_H
#define RAFTLAB_LABRPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec/codec.h"

struct labrpc_net;
struct labrpc_end;
struct labrpc_server;

/* ---- services ---- */

/*
 * One RPC method. The handler runs on a network thread with args decoded
 * from the caller's bytes and reply zeroed; it fills reply, which the network
 * then encodes and releases. Handlers may block (e.g. waiting for a commit),
 * but must return promptly once their receiver has been killed.
 */
struct labrpc_method {
	const char *name; /* "AppendEntries" */
	const struct codec_type *args_type;
	const struct codec_type *reply_type;
	void (*handler)(void *receiver, const void *args, void *reply);
};

/* A service: a name ("Raft", "KVServer") and its table of methods. */
struct labrpc_service_def {
	const char *name;
	const struct labrpc_method *methods;
	size_t nmethods;
};

/* ---- the network ---- */

/* Makes a network: reliable, no long delays, no long reordering. Its random
 * choices come from seed (see labrpc_seed_from_env): each end draws from a
 * stream of its own, made from seed and the end's name, so that with the
 * same seed an end meets the same choices in the same order of its calls,
 * whatever the other ends do. Never returns NULL. */
struct labrpc_net *labrpc_net_make(uint64_t seed);

/* The seed to use for a new network: $RAFTLAB_SEED when set (decimal or
 * 0x-hex), otherwise a fresh random one. */
uint64_t labrpc_seed_from_env(void);

/* Shuts the network down: later calls fail at once, calls in flight return
 * false now, running handlers are waited for, and every thread the network
 * started is joined. Idempotent. */
void labrpc_net_cleanup(struct labrpc_net *net);

/* Cleans up (if not done yet) and frees the network and all its ends.
 * Servers are owned by their creators (labrpc_server_free). */
void labrpc_net_free(struct labrpc_net *net);

void labrpc_net_reliable(struct labrpc_net *net, bool yes);
void labrpc_net_long_reordering(struct labrpc_net *net, bool yes);
void labrpc_net_long_delays(struct labrpc_net *net, bool yes);

/*
 * A fixed latency, in nanoseconds, for each way (0 and 0, the default, is
 * Go's model: none). While it is set, every request that reaches its server
 * starts its handler request_ns after the call (after the unreliable wait,
 * on an unreliable network), and every reply that is delivered reaches its
 * caller reply_ns after its handler returned (after any long-reordering
 * delay): a call's round trip on a reliable network takes request_ns +
 * reply_ns plus the handler's time. A server that writes to disk before it
 * answers is modelled by putting the write's time in reply_ns. Failures
 * without a server (a disabled end) time out as before. A request already on
 * the wire when its end is disabled still reaches the handler, whose reply
 * is then dropped. Calls take the setting in force when they start; it
 * draws no random numbers. A negative latency is a fatal error.
 */
void labrpc_net_latency(struct labrpc_net *net, int64_t request_ns,
                        int64_t reply_ns);

/*
 * Duplicated and stale requests, which the Raft paper allows and Go's labrpc
 * never makes. While on, a request that reaches its server is, with p =
 * 1/10, delivered once more: soon (within 50 ms) or long after (0.2 to 2.2
 * s), to whatever server holds the name by then, if the end is still
 * enabled. The copy's reply goes nowhere. Off by default.
 */
void labrpc_net_duplicates(struct labrpc_net *net, bool yes);

/*
 * Called after every handler returns, before its reply goes out, with the
 * server's name and "Service.Method"; returning true drops the reply (the
 * server "crashed" before sending it). It runs with the network's lock
 * held, so it must not call labrpc or wait. NULL removes it. Not called for
 * the copies of labrpc_net_duplicates.
 */
typedef bool (*labrpc_reply_hook)(void *arg, const char *servername,
                                  const char *svc_meth);
void labrpc_net_reply_hook(struct labrpc_net *net, labrpc_reply_hook fn,
                           void *arg);

/*
 * Stale requests on demand, for a tester that knows which are stale. A tap
 * sees every request a call puts on the network, enabled end or not: the
 * end's name, "Service.Method" and the encoded arguments (len bytes, which
 * it must copy to keep). It runs on the caller's thread with the network's
 * lock held, so it must not call labrpc or wait (it may take a lock of its
 * own that is never held around a labrpc call). NULL removes it; once that
 * call returns, the old tap is not running and will not run.
 */
typedef void (*labrpc_request_tap)(void *arg, const char *endname,
                                   const char *svc_meth, const uint8_t *args,
                                   size_t len);
void labrpc_net_request_tap(struct labrpc_net *net, labrpc_request_tap fn,
                            void *arg);

/*
 * A request sent long ago to the server named servername arrives now: its
 * handler runs (on a network thread, soon) with args (len bytes, copied);
 * the reply goes nowhere. Whatever became of the end it was sent on, and
 * whether or not any end reaches the server now, it arrives, as a message
 * in flight may outlive its sender and cross a partition made after it
 * left. Returns false, doing nothing, if no server holds the name. Not in
 * the network's totals (labrpc_total_count, labrpc_total_bytes), though the
 * server's count has it as it has every dispatch; the reply hook is not
 * called.
 */
bool labrpc_replay(struct labrpc_net *net, const char *servername,
                   const char *svc_meth, const uint8_t *args, size_t len);

/*
 * While hold is on, a reply to a call on the end that passed the dead-server
 * check after its handler ran (and was not dropped) is held back: its caller
 * keeps waiting. Turning hold off delivers every held reply at once, even if
 * the end was disabled meanwhile, as replies already on the wire: stale
 * replies at the moment the tester chooses. Deleting the end, and cleanup,
 * fail held calls as they fail any other. Off by default.
 */
void labrpc_hold_replies(struct labrpc_net *net, const char *endname,
                         bool hold);

/* Makes a client end named name, disabled and unconnected. The network owns
 * it. A name already in use is a fatal error. */
struct labrpc_end *labrpc_make_end(struct labrpc_net *net, const char *name);

/* Deletes an end: calls in flight on it return false at once, later calls on
 * it return false at once, and its name is free again. The object stays
 * valid (owned by the network) until labrpc_net_free, so a killed peer that
 * still holds the pointer is safe. An unknown name is a fatal error. */
void labrpc_delete_end(struct labrpc_net *net, const char *name);

/* Connects end endname to the server named servername. */
void labrpc_connect(struct labrpc_net *net, const char *endname,
                    const char *servername);
void labrpc_enable(struct labrpc_net *net, const char *endname, bool enabled);

/* Puts srv in the network under servername, replacing any previous server
 * (calls in flight to the old one then get no reply). */
void labrpc_add_server(struct labrpc_net *net, const char *servername,
                       struct labrpc_server *srv);
/* Removes the server named servername; calls in flight to it get no reply. */
void labrpc_delete_server(struct labrpc_net *net, const char *servername);

/* RPCs dispatched to the named server's handlers (0 for an unknown name). */
int labrpc_get_count(struct labrpc_net *net, const char *servername);
/* Every call that entered the network, delivered or not. */
int labrpc_total_count(struct labrpc_net *net);
/* Bytes of every call's arguments plus every delivered reply. */
int64_t labrpc_total_bytes(struct labrpc_net *net);
/* The seed of the network's PRNG. */
uint64_t labrpc_net_seed(struct labrpc_net *net);
/* The most threads the network has run at once (timer and handler pool). */
int labrpc_peak_threads(struct labrpc_net *net);

/* ---- servers ---- */

/* Makes an empty server. The creator owns it and frees it with
 * labrpc_server_free. */
struct labrpc_server *labrpc_server_make(void);

/* Adds a service whose handlers receive `receiver` as first argument. */
void labrpc_server_add_service(struct labrpc_server *srv,
                               const struct labrpc_service_def *def,
                               void *receiver);

/* RPCs dispatched to this server's handlers so far. */
int labrpc_server_count(struct labrpc_server *srv);

/* Stops the server: no handler starts any more, and this waits until every
 * handler already running has returned; then the receivers may be freed.
 * Delete the server from the network first. */
void labrpc_server_free(struct labrpc_server *srv);

/* ---- calls ---- */

/*
 * Calls "Service.Method" on the server behind end, with args of args_type,
 * and on success decodes the reply into *reply (a value of reply_type, which
 * is zeroed first; release it with reply_type->release when done). Returns
 * true if a reply arrived, false on a timeout-like failure (dropped request or
 * reply, disabled or unconnected end, dead server). Like the original, there
 * is no other timeout: a call returns once its handler returns or the server
 * dies. Safe to call from many threads at once, also on one end.
 */
bool labrpc_call(struct labrpc_end *end, const char *svc_meth,
                 const struct codec_type *args_type, const void *args,
                 const struct codec_type *reply_type, void *reply);

#endif
