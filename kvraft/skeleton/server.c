/*
 * server.c: YOUR key/value server (Lab 4). This is the starting point handed
 * to students: it compiles against kvraft/kvraft.h, starts a Raft peer and
 * stops it cleanly, but its handlers do nothing, so the kvraft tests fail
 * until you fill it in. Look for "Your code here".
 *
 * Hints (the handout's): put every call, Get included, through the Raft log
 * (raft_start with the operation encoded by the codec); apply the committed
 * operations in order on the apply thread; make a handler wait (on a
 * condition variable, with a time limit) until its operation is applied, and
 * answer ErrWrongLeader when it lost its leadership; execute each Put/Append
 * once only. In 4B, snapshot (raft_snapshot) when
 * persister_raft_state_size() approaches maxraftstate, and restore from the
 * persister's snapshot at start. Never hold your lock while calling into
 * Raft if Raft could be waiting on the apply channel meanwhile.
 *
 * Optional (the paper's §8, raft.h's raft_read_index): serve a Get without
 * the log. Ask Raft for a read index; on RAFT_READ_NO_ENTRY start a no-op
 * operation of your own and ask again; wait until your server has applied
 * everything through the index, then answer from the map. The tests beyond
 * the Go suite named TestReadIndex...4A check that Gets add nothing to the
 * log, and that a deposed leader never answers one.
 */
#include "kvraft/kvraft.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chan/chan.h"
#include "codec/codec.h"
#include "labtime/labtime.h"

struct kv_server {
	pthread_mutex_t mu;
	int me;
	struct raft *rf;
	struct persister *persister;
	struct chan *apply_ch; /* unbuffered, ours */
	pthread_t applier;
	atomic_bool dead; /* set by kv_server_kill */
	int maxraftstate; /* snapshot if log grows this big */

	/* Your data here (4A, 4B). */
};

static bool killed(struct kv_server *kv)
{
	return atomic_load(&kv->dead);
}

/* Receives what Raft applies until kv_server_kill closes the channel. */
static void *applier_main(void *arg)
{
	struct kv_server *kv = arg;
	void *item;
	while (chan_recv(kv->apply_ch, &item) == CHAN_OK) {
		struct raft_apply_msg *m = item;
		/* Your code here (4A, 4B): apply m->command, or install
		 * m->snapshot. */
		raft_apply_msg_free(m);
	}
	return NULL;
}

static void get_handler(void *receiver, const void *vargs, void *vreply)
{
	struct kv_server *kv = receiver;
	const struct kv_get_args *args = vargs;
	struct kv_get_reply *reply = vreply;
	(void)args;
	if (killed(kv)) {
		/* reply->err and reply->value are malloc'd; labrpc frees
		 * them after sending the reply. */
		reply->err = strdup(KV_ERR_WRONG_LEADER);
		reply->value = strdup("");
		return;
	}
	/* Your code here (4A). */
}

static void put_append_handler(void *receiver, const void *vargs, void *vreply)
{
	struct kv_server *kv = receiver;
	const struct kv_put_append_args *args = vargs;
	struct kv_put_append_reply *reply = vreply;
	(void)args;
	if (killed(kv)) {
		reply->err = strdup(KV_ERR_WRONG_LEADER);
		return;
	}
	/* Your code here (4A). */
}

static const struct labrpc_method kv_methods[] = {
        {"Get", &kv_get_args_type, &kv_get_reply_type, get_handler},
        {"PutAppend", &kv_put_append_args_type, &kv_put_append_reply_type,
         put_append_handler},
};

const struct labrpc_service_def kv_service = {"KVServer", kv_methods, 2};

/*
 * servers[] contains the ends of the set of servers that will cooperate via
 * Raft to form the fault-tolerant key/value service. me is the index of the
 * current server in servers[]. The k/v server should store snapshots through
 * the underlying Raft implementation, which should call persister_save to
 * save the Raft state along with the snapshot. The k/v server should
 * snapshot when Raft's saved state exceeds maxraftstate bytes, in order to
 * allow Raft to garbage-collect its log. If maxraftstate is -1, you don't
 * need to snapshot. kv_server_start must return quickly, so it should start
 * threads for any long-running work.
 */
struct kv_server *kv_server_start(struct labrpc_end **servers, int n, int me,
                                  struct persister *persister, int maxraftstate)
{
	struct kv_server *kv = calloc(1, sizeof *kv);
	if (kv == NULL)
		return NULL;
	kv->me = me;
	kv->persister = persister;
	kv->maxraftstate = maxraftstate;
	atomic_init(&kv->dead, false);
	pthread_mutex_init(&kv->mu, NULL);

	/* You may need initialization code here. */

	kv->apply_ch = chan_make(0);
	if (kv->apply_ch == NULL)
		goto free_kv;
	kv->rf = raft_make(servers, n, me, persister, kv->apply_ch);
	if (kv->rf == NULL)
		goto free_chan;
	if (pthread_create(&kv->applier, NULL, applier_main, kv) != 0)
		goto kill_raft;

	/* You may need initialization code here. */
	return kv;

kill_raft:
	raft_kill(kv->rf);
	raft_free(kv->rf);
free_chan:
	chan_free(kv->apply_ch);
free_kv:
	pthread_mutex_destroy(&kv->mu);
	free(kv);
	return NULL;
}

struct raft *kv_server_raft(struct kv_server *kv)
{
	return kv->rf;
}

/*
 * The tester calls kv_server_kill when a server is no longer needed. Your
 * handlers must return promptly afterwards: use killed() in your waits.
 */
void kv_server_kill(struct kv_server *kv)
{
	if (atomic_exchange(&kv->dead, true))
		return;
	raft_kill(kv->rf); /* keep receiving until it returns */
	chan_close(kv->apply_ch);
	pthread_join(kv->applier, NULL);
	/* Your code here, if anything: wake waiting handlers. */
}

void kv_server_free(struct kv_server *kv)
{
	if (kv == NULL)
		return;
	/* Your code here (4A, 4B): free your state. */
	raft_free(kv->rf);
	chan_free(kv->apply_ch);
	pthread_mutex_destroy(&kv->mu);
	free(kv);
}
