/*
 * chan_test.c: the channel's contract (chan.h), one property per test:
 * unbuffered sends are rendezvous, buffered channels are FIFO queues that
 * block only when full, every item is delivered exactly once under
 * contention, close wakes everyone, and timed receives time out. The last
 * tests carry Raft's apply messages (raft.h) over a channel as a peer does.
 */
#include <CUnit/CUnit.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chan/chan.h"
#include "labtime/labtime.h"
#include "raft/raft.h"
#include "runner/runner.h"

/* Long enough for a started thread to reach its blocking call. Tests only
 * use it to look for something that must NOT have happened, so a slow
 * machine can make such a check weaker but never make it fail wrongly. */
#define SETTLE_MS 100

static struct chan *make_chan(size_t capacity)
{
	struct chan *ch = chan_make(capacity);
	if (!ch)
		runner_fatalf("chan_make(%zu) returned NULL", capacity);
	return ch;
}

static void start_thread(pthread_t *thread, void *(*fn)(void *), void *arg)
{
	if (pthread_create(thread, NULL, fn, arg) != 0)
		runner_fatalf("pthread_create failed");
}

static void join_thread(pthread_t thread)
{
	if (pthread_join(thread, NULL) != 0)
		runner_fatalf("pthread_join failed");
}

/* A thread that sends one item, after an optional delay, and records what
 * chan_send returned. */
struct sender {
	struct chan *ch;
	void *item;
	int64_t delay_ms;
	pthread_t thread;
	atomic_bool returned;
	int rc; /* read only after join */
};

static void *sender_main(void *arg)
{
	struct sender *s = arg;
	labtime_sleep_ms(s->delay_ms);
	s->rc = chan_send(s->ch, s->item);
	atomic_store(&s->returned, true);
	return NULL;
}

static void sender_start(struct sender *s, struct chan *ch, void *item,
                         int64_t delay_ms)
{
	s->ch = ch;
	s->item = item;
	s->delay_ms = delay_ms;
	atomic_init(&s->returned, false);
	start_thread(&s->thread, sender_main, s);
}

/* Waits for the sender and returns what chan_send returned. */
static int sender_join(struct sender *s)
{
	join_thread(s->thread);
	return s->rc;
}

/* A thread that receives one item and records what chan_recv returned. */
struct receiver {
	struct chan *ch;
	pthread_t thread;
	int rc;     /* read only after join */
	void *item; /* read only after join */
};

static void *receiver_main(void *arg)
{
	struct receiver *r = arg;
	r->rc = chan_recv(r->ch, &r->item);
	return NULL;
}

static void receiver_start(struct receiver *r, struct chan *ch)
{
	r->ch = ch;
	start_thread(&r->thread, receiver_main, r);
}

static int receiver_join(struct receiver *r)
{
	join_thread(r->thread);
	return r->rc;
}

/* ---- rendezvous ---- */

static void test_unbuffered_send_waits_for_receiver(void)
{
	struct chan *ch = make_chan(0);
	int value = 42;
	struct sender s;
	sender_start(&s, ch, &value, 0);

	/* With no receiver, the send must still be blocked. */
	labtime_sleep_ms(SETTLE_MS);
	CU_ASSERT_FALSE(atomic_load(&s.returned));

	/* A receiver arrives: it gets the item and the send completes. */
	void *got = NULL;
	CU_ASSERT_EQUAL(chan_recv(ch, &got), CHAN_OK);
	CU_ASSERT_PTR_EQUAL(got, &value);
	CU_ASSERT_EQUAL(sender_join(&s), CHAN_OK);
	chan_free(ch);
}

static void test_unbuffered_send_returns_when_its_item_is_taken(void)
{
	struct chan *ch = make_chan(0);
	int values[2] = {1, 2};
	struct sender s[2];
	sender_start(&s[0], ch, &values[0], 0);
	sender_start(&s[1], ch, &values[1], 0);
	labtime_sleep_ms(SETTLE_MS);

	/* Taking one item releases its sender and only that one. */
	void *got = NULL;
	CU_ASSERT_EQUAL_FATAL(chan_recv(ch, &got), CHAN_OK);
	int first = got == &values[0] ? 0 : 1;
	CU_ASSERT_PTR_EQUAL_FATAL(got, &values[first]);
	CU_ASSERT_EQUAL(sender_join(&s[first]), CHAN_OK);
	labtime_sleep_ms(SETTLE_MS);
	CU_ASSERT_FALSE(atomic_load(&s[1 - first].returned));

	CU_ASSERT_EQUAL(chan_recv(ch, &got), CHAN_OK);
	CU_ASSERT_PTR_EQUAL(got, &values[1 - first]);
	CU_ASSERT_EQUAL(sender_join(&s[1 - first]), CHAN_OK);
	chan_free(ch);
}

/* ---- many senders, many receivers ---- */

enum { NSENDERS = 8, NRECEIVERS = 4, ITEMS_PER_SENDER = 10000 };
#define NITEMS ((size_t)NSENDERS * ITEMS_PER_SENDER)

/* Item n (sender n / ITEMS_PER_SENDER, its number n % ITEMS_PER_SENDER) is
 * sent as the pointer value n + 1. */
static void *item_encode(size_t n)
{
	return (void *)(uintptr_t)(n + 1);
}

static size_t item_decode(void *item)
{
	return (size_t)(uintptr_t)item - 1;
}

struct crowd_sender {
	struct chan *ch;
	int id;
	pthread_t thread;
	int failed_rc; /* first chan_send error, or CHAN_OK */
};

static void *crowd_sender_main(void *arg)
{
	struct crowd_sender *s = arg;
	s->failed_rc = CHAN_OK;
	for (size_t i = 0; i < ITEMS_PER_SENDER; i++) {
		size_t n = (size_t)s->id * ITEMS_PER_SENDER + i;
		int rc = chan_send(s->ch, item_encode(n));
		if (rc != CHAN_OK) {
			s->failed_rc = rc;
			break;
		}
	}
	return NULL;
}

/* Receives until the channel is closed, keeping every item in arrival
 * order. With timeout_ms > 0 it uses chan_recv_timeout and simply retries
 * on CHAN_TIMEOUT, so timed-out waits are exercised under contention. */
struct crowd_receiver {
	struct chan *ch;
	int64_t timeout_ms;
	pthread_t thread;
	size_t *got; /* NITEMS slots */
	size_t ngot;
	int bad_rc; /* an unexpected return code, or CHAN_OK */
	bool overflow;
};

static void *crowd_receiver_main(void *arg)
{
	struct crowd_receiver *r = arg;
	r->bad_rc = CHAN_OK;
	for (;;) {
		void *item;
		int rc = r->timeout_ms > 0 ? chan_recv_timeout(r->ch, &item,
		                                               r->timeout_ms)
		                           : chan_recv(r->ch, &item);
		if (rc == CHAN_CLOSED)
			break;
		if (rc == CHAN_TIMEOUT && r->timeout_ms > 0)
			continue;
		if (rc != CHAN_OK) {
			r->bad_rc = rc;
			break;
		}
		if (r->ngot == NITEMS) {
			r->overflow = true;
			break;
		}
		r->got[r->ngot++] = item_decode(item);
	}
	return NULL;
}

/* Checks that the receivers together got every item exactly once, and that
 * each receiver saw each sender's items in the order they were sent. */
static void check_crowd_deliveries(struct crowd_receiver *rs, int nreceivers)
{
	int *times = calloc(NITEMS, sizeof *times);
	if (!times)
		runner_fatalf("out of memory");
	for (int r = 0; r < nreceivers; r++) {
		long last[NSENDERS];
		for (int s = 0; s < NSENDERS; s++)
			last[s] = -1;
		CU_ASSERT_EQUAL(rs[r].bad_rc, CHAN_OK);
		CU_ASSERT_FALSE(rs[r].overflow);
		for (size_t i = 0; i < rs[r].ngot; i++) {
			size_t n = rs[r].got[i];
			if (n >= NITEMS) {
				CU_FAIL("received an item nobody sent");
				continue;
			}
			times[n]++;
			int s = (int)(n / ITEMS_PER_SENDER);
			long seq = (long)(n % ITEMS_PER_SENDER);
			if (seq <= last[s])
				CU_FAIL("a sender's items arrived out of "
				        "order");
			last[s] = seq;
		}
	}
	size_t lost = 0, duplicated = 0;
	for (size_t n = 0; n < NITEMS; n++) {
		lost += times[n] == 0;
		duplicated += times[n] > 1;
	}
	free(times);
	if (lost || duplicated)
		runner_fatalf("of %zu items, %zu were never received and %zu "
		              "more than once",
		              NITEMS, lost, duplicated);
}

/* NSENDERS threads each send ITEMS_PER_SENDER items while NRECEIVERS threads
 * receive; once every send has returned the channel is closed, and the
 * receivers stop after draining it. */
static void run_crowd(size_t capacity, int64_t recv_timeout_ms)
{
	struct chan *ch = make_chan(capacity);
	struct crowd_sender senders[NSENDERS];
	struct crowd_receiver receivers[NRECEIVERS];

	for (int r = 0; r < NRECEIVERS; r++) {
		receivers[r] = (struct crowd_receiver){
		        .ch = ch,
		        .timeout_ms = recv_timeout_ms,
		        .got = malloc(NITEMS * sizeof(size_t)),
		};
		if (!receivers[r].got)
			runner_fatalf("out of memory");
		start_thread(&receivers[r].thread, crowd_receiver_main,
		             &receivers[r]);
	}
	for (int s = 0; s < NSENDERS; s++) {
		senders[s] = (struct crowd_sender){.ch = ch, .id = s};
		start_thread(&senders[s].thread, crowd_sender_main,
		             &senders[s]);
	}

	for (int s = 0; s < NSENDERS; s++) {
		join_thread(senders[s].thread);
		CU_ASSERT_EQUAL(senders[s].failed_rc, CHAN_OK);
	}
	chan_close(ch);
	for (int r = 0; r < NRECEIVERS; r++)
		join_thread(receivers[r].thread);

	check_crowd_deliveries(receivers, NRECEIVERS);
	for (int r = 0; r < NRECEIVERS; r++)
		free(receivers[r].got);
	chan_free(ch);
}

static void test_unbuffered_many_senders_many_receivers(void)
{
	run_crowd(0, 0);
}

static void test_buffered_many_senders_many_receivers(void)
{
	run_crowd(16, 0);
}

/* Receivers whose timed waits keep expiring while items arrive must still
 * neither lose nor duplicate an item. */
static void test_timed_receivers_lose_nothing(void)
{
	run_crowd(0, 1);
	run_crowd(4, 1);
}

/* ---- buffered channels ---- */

/* Items come out in the order they went in: while the queue stays two or
 * three deep and so wraps around its storage again and again, and when it is
 * filled to capacity. */
static void test_buffered_is_fifo(void)
{
	enum { CAP = 5 };
	struct chan *ch = make_chan(CAP);
	size_t next_sent = 0, next_received = 0;
	void *got = NULL;

	for (int i = 0; i < 2; i++)
		CU_ASSERT_EQUAL(chan_send(ch, item_encode(next_sent++)),
		                CHAN_OK);
	for (int step = 0; step < 3 * CAP; step++) {
		CU_ASSERT_EQUAL(chan_send(ch, item_encode(next_sent++)),
		                CHAN_OK);
		CU_ASSERT_EQUAL(chan_recv(ch, &got), CHAN_OK);
		CU_ASSERT_EQUAL(item_decode(got), next_received++);
	}
	for (int i = 2; i < CAP; i++)
		CU_ASSERT_EQUAL(chan_send(ch, item_encode(next_sent++)),
		                CHAN_OK);
	for (int i = 0; i < CAP; i++) {
		CU_ASSERT_EQUAL(chan_recv(ch, &got), CHAN_OK);
		CU_ASSERT_EQUAL(item_decode(got), next_received++);
	}
	CU_ASSERT_EQUAL(chan_recv_timeout(ch, &got, 0), CHAN_TIMEOUT);
	chan_free(ch);
}

static void test_buffered_send_blocks_only_when_full(void)
{
	enum { CAP = 3 };
	struct chan *ch = make_chan(CAP);

	/* Up to the capacity, sends return at once with no receiver. */
	for (size_t i = 0; i < CAP; i++)
		CU_ASSERT_EQUAL(chan_send(ch, item_encode(i)), CHAN_OK);

	/* The next send blocks... */
	struct sender s;
	sender_start(&s, ch, item_encode(CAP), 0);
	labtime_sleep_ms(SETTLE_MS);
	CU_ASSERT_FALSE(atomic_load(&s.returned));

	/* ...until a receive makes room. */
	void *got = NULL;
	CU_ASSERT_EQUAL(chan_recv(ch, &got), CHAN_OK);
	CU_ASSERT_EQUAL(item_decode(got), 0);
	CU_ASSERT_EQUAL(sender_join(&s), CHAN_OK);

	for (size_t i = 1; i <= CAP; i++) {
		CU_ASSERT_EQUAL(chan_recv(ch, &got), CHAN_OK);
		CU_ASSERT_EQUAL(item_decode(got), i);
	}
	chan_free(ch);
}

/* ---- close ---- */

static void test_close_wakes_blocked_receivers(void)
{
	enum { N = 3 };
	size_t capacities[] = {0, 4};
	for (size_t c = 0; c < 2; c++) {
		struct chan *ch = make_chan(capacities[c]);
		struct receiver rs[N];
		for (int i = 0; i < N; i++)
			receiver_start(&rs[i], ch);
		labtime_sleep_ms(SETTLE_MS);

		chan_close(ch);
		for (int i = 0; i < N; i++)
			CU_ASSERT_EQUAL(receiver_join(&rs[i]), CHAN_CLOSED);
		chan_free(ch);
	}
}

static void test_close_wakes_blocked_senders(void)
{
	enum { N = 3 };
	struct chan *ch = make_chan(0);
	struct sender ss[N];
	for (int i = 0; i < N; i++) {
		int *item = malloc(sizeof *item);
		if (!item)
			runner_fatalf("out of memory");
		*item = i;
		sender_start(&ss[i], ch, item, 0);
	}
	labtime_sleep_ms(SETTLE_MS);

	/* Each blocked sender fails, and its item, never taken, is still its
	 * own: nothing can receive it and the sender frees it. */
	chan_close(ch);
	for (int i = 0; i < N; i++) {
		CU_ASSERT_EQUAL(sender_join(&ss[i]), CHAN_CLOSED);
		free(ss[i].item);
	}
	void *got = NULL;
	CU_ASSERT_EQUAL(chan_recv(ch, &got), CHAN_CLOSED);
	chan_free(ch);
}

static void test_close_wakes_sender_blocked_on_full_buffer(void)
{
	struct chan *ch = make_chan(1);
	CU_ASSERT_EQUAL(chan_send(ch, item_encode(0)), CHAN_OK);
	struct sender s;
	sender_start(&s, ch, item_encode(1), 0);
	labtime_sleep_ms(SETTLE_MS);

	chan_close(ch);
	CU_ASSERT_EQUAL(sender_join(&s), CHAN_CLOSED);

	/* What was buffered before the close is still delivered. */
	void *got = NULL;
	CU_ASSERT_EQUAL(chan_recv(ch, &got), CHAN_OK);
	CU_ASSERT_EQUAL(item_decode(got), 0);
	CU_ASSERT_EQUAL(chan_recv(ch, &got), CHAN_CLOSED);
	chan_free(ch);
}

static void test_recv_on_closed_channel_drains_then_fails(void)
{
	struct chan *ch = make_chan(4);
	CU_ASSERT_EQUAL(chan_send(ch, item_encode(0)), CHAN_OK);
	CU_ASSERT_EQUAL(chan_send(ch, item_encode(1)), CHAN_OK);
	chan_close(ch);

	void *got = NULL;
	CU_ASSERT_EQUAL(chan_recv(ch, &got), CHAN_OK);
	CU_ASSERT_EQUAL(item_decode(got), 0);
	CU_ASSERT_EQUAL(chan_recv_timeout(ch, &got, 0), CHAN_OK);
	CU_ASSERT_EQUAL(item_decode(got), 1);

	/* Closed and empty: every receive fails at once, timed or not. */
	CU_ASSERT_EQUAL(chan_recv(ch, &got), CHAN_CLOSED);
	CU_ASSERT_EQUAL(chan_recv(ch, &got), CHAN_CLOSED);
	CU_ASSERT_EQUAL(chan_recv_timeout(ch, &got, 0), CHAN_CLOSED);
	CU_ASSERT_EQUAL(chan_recv_timeout(ch, &got, 60000), CHAN_CLOSED);
	chan_free(ch);
}

static void test_send_on_closed_channel_fails(void)
{
	size_t capacities[] = {0, 4};
	for (size_t c = 0; c < 2; c++) {
		struct chan *ch = make_chan(capacities[c]);
		chan_close(ch);
		CU_ASSERT_EQUAL(chan_send(ch, item_encode(0)), CHAN_CLOSED);
		void *got = NULL;
		CU_ASSERT_EQUAL(chan_recv(ch, &got), CHAN_CLOSED);
		chan_free(ch);
	}
}

static void *close_main(void *arg)
{
	chan_close(arg);
	return NULL;
}

static void test_close_is_idempotent(void)
{
	enum { N = 4 };
	struct chan *ch = make_chan(2);
	CU_ASSERT_EQUAL(chan_send(ch, item_encode(7)), CHAN_OK);

	/* Several threads close at once, then the test closes again. */
	pthread_t closers[N];
	for (int i = 0; i < N; i++)
		start_thread(&closers[i], close_main, ch);
	for (int i = 0; i < N; i++)
		join_thread(closers[i]);
	chan_close(ch);

	void *got = NULL;
	CU_ASSERT_EQUAL(chan_recv(ch, &got), CHAN_OK);
	CU_ASSERT_EQUAL(item_decode(got), 7);
	CU_ASSERT_EQUAL(chan_recv(ch, &got), CHAN_CLOSED);
	CU_ASSERT_EQUAL(chan_send(ch, item_encode(8)), CHAN_CLOSED);
	chan_free(ch);
}

/* ---- timed receive ---- */

static void test_recv_timeout_times_out(void)
{
	const int64_t timeout_ms = 100;
	/* Only a generous upper bound: a loaded machine may be slow to wake. */
	const int64_t slack_ms = (int64_t)(2000 * runner_time_scale());
	size_t capacities[] = {0, 4};
	for (size_t c = 0; c < 2; c++) {
		struct chan *ch = make_chan(capacities[c]);
		void *got = NULL;
		int64_t start = labtime_now_ns();
		CU_ASSERT_EQUAL(chan_recv_timeout(ch, &got, timeout_ms),
		                CHAN_TIMEOUT);
		int64_t elapsed_ms = (labtime_now_ns() - start) / 1000000;
		CU_ASSERT(elapsed_ms >= timeout_ms);
		CU_ASSERT(elapsed_ms < timeout_ms + slack_ms);
		chan_free(ch);
	}
}

static void test_recv_timeout_zero_polls(void)
{
	struct chan *unbuffered = make_chan(0);
	struct chan *buffered = make_chan(4);
	void *got = NULL;

	CU_ASSERT_EQUAL(chan_recv_timeout(unbuffered, &got, 0), CHAN_TIMEOUT);
	CU_ASSERT_EQUAL(chan_recv_timeout(buffered, &got, 0), CHAN_TIMEOUT);

	CU_ASSERT_EQUAL(chan_send(buffered, item_encode(3)), CHAN_OK);
	CU_ASSERT_EQUAL(chan_recv_timeout(buffered, &got, 0), CHAN_OK);
	CU_ASSERT_EQUAL(item_decode(got), 3);
	CU_ASSERT_EQUAL(chan_recv_timeout(buffered, &got, 0), CHAN_TIMEOUT);

	chan_free(unbuffered);
	chan_free(buffered);
}

static void test_recv_timeout_returns_item_arriving_in_time(void)
{
	const int64_t delay_ms = 50, timeout_ms = 60000;
	size_t capacities[] = {0, 4};
	for (size_t c = 0; c < 2; c++) {
		struct chan *ch = make_chan(capacities[c]);
		struct sender s;
		sender_start(&s, ch, item_encode(9), delay_ms);

		void *got = NULL;
		int64_t start = labtime_now_ns();
		CU_ASSERT_EQUAL(chan_recv_timeout(ch, &got, timeout_ms),
		                CHAN_OK);
		int64_t elapsed_ms = (labtime_now_ns() - start) / 1000000;
		CU_ASSERT_EQUAL(item_decode(got), 9);
		CU_ASSERT(elapsed_ms < timeout_ms);
		CU_ASSERT_EQUAL(sender_join(&s), CHAN_OK);
		chan_free(ch);
	}
}

/* ---- Raft's apply messages over a channel ---- */

enum { NCOMMANDS = 100, SNAPSHOT_TERM = 3 };
static const char snapshot_bytes[] = "snapshot through 100";

static void command_text(char *buf, size_t size, int index)
{
	snprintf(buf, size, "command %d", index);
}

/* Plays a peer's applier: sends NCOMMANDS committed commands, then a
 * snapshot, then closes the channel. */
struct applier {
	struct chan *ch;
	pthread_t thread;
	int failed_rc; /* first chan_send error, or CHAN_OK */
};

static void *applier_main(void *arg)
{
	struct applier *a = arg;
	a->failed_rc = CHAN_OK;
	for (int index = 1; index <= NCOMMANDS + 1; index++) {
		struct raft_apply_msg *msg;
		if (index <= NCOMMANDS) {
			char text[32];
			command_text(text, sizeof text, index);
			msg = raft_apply_msg_command(text, strlen(text), index);
		} else {
			msg = raft_apply_msg_snapshot(snapshot_bytes,
			                              sizeof snapshot_bytes,
			                              SNAPSHOT_TERM, NCOMMANDS);
		}
		int rc = chan_send(a->ch, msg);
		if (rc != CHAN_OK) {
			/* Not taken: the message is still ours. */
			raft_apply_msg_free(msg);
			a->failed_rc = rc;
			break;
		}
	}
	chan_close(a->ch);
	return NULL;
}

static void test_apply_msg_over_channel(void)
{
	struct chan *ch = make_chan(0);
	struct applier a = {.ch = ch};
	start_thread(&a.thread, applier_main, &a);

	/* The receiver owns each message it takes and frees it. */
	for (int index = 1; index <= NCOMMANDS; index++) {
		void *item = NULL;
		CU_ASSERT_EQUAL_FATAL(chan_recv(ch, &item), CHAN_OK);
		struct raft_apply_msg *msg = item;
		char text[32];
		command_text(text, sizeof text, index);
		CU_ASSERT_TRUE(msg->command_valid);
		CU_ASSERT_FALSE(msg->snapshot_valid);
		CU_ASSERT_EQUAL(msg->command_index, index);
		CU_ASSERT_EQUAL(msg->command_len, strlen(text));
		CU_ASSERT_NSTRING_EQUAL(msg->command, text, strlen(text));
		raft_apply_msg_free(msg);
	}

	void *item = NULL;
	CU_ASSERT_EQUAL_FATAL(chan_recv(ch, &item), CHAN_OK);
	struct raft_apply_msg *msg = item;
	CU_ASSERT_FALSE(msg->command_valid);
	CU_ASSERT_TRUE(msg->snapshot_valid);
	CU_ASSERT_EQUAL(msg->snapshot_term, SNAPSHOT_TERM);
	CU_ASSERT_EQUAL(msg->snapshot_index, NCOMMANDS);
	CU_ASSERT_EQUAL(msg->snapshot_len, sizeof snapshot_bytes);
	CU_ASSERT_EQUAL(
	        memcmp(msg->snapshot, snapshot_bytes, sizeof snapshot_bytes),
	        0);
	raft_apply_msg_free(msg);

	CU_ASSERT_EQUAL(chan_recv(ch, &item), CHAN_CLOSED);
	join_thread(a.thread);
	CU_ASSERT_EQUAL(a.failed_rc, CHAN_OK);
	chan_free(ch);
}

static void test_apply_msg_copies_bytes(void)
{
	char command[] = "put x 1";
	struct raft_apply_msg *msg =
	        raft_apply_msg_command(command, sizeof command, 5);
	command[0] = 'X'; /* the message kept its own copy */
	CU_ASSERT_EQUAL(memcmp(msg->command, "put x 1", sizeof command), 0);
	CU_ASSERT_PTR_NULL(msg->snapshot);
	raft_apply_msg_free(msg);

	/* An empty command or snapshot still has non-NULL bytes. */
	msg = raft_apply_msg_command(NULL, 0, 6);
	CU_ASSERT_TRUE(msg->command_valid);
	CU_ASSERT_PTR_NOT_NULL(msg->command);
	CU_ASSERT_EQUAL(msg->command_len, 0);
	raft_apply_msg_free(msg);

	msg = raft_apply_msg_snapshot(NULL, 0, 1, 7);
	CU_ASSERT_TRUE(msg->snapshot_valid);
	CU_ASSERT_PTR_NOT_NULL(msg->snapshot);
	CU_ASSERT_EQUAL(msg->snapshot_len, 0);
	CU_ASSERT_PTR_NULL(msg->command);
	raft_apply_msg_free(msg);

	raft_apply_msg_free(NULL);
}

static const struct runner_test tests[] = {
        {"TestUnbufferedSendWaitsForReceiver",
         test_unbuffered_send_waits_for_receiver, 0},
        {"TestUnbufferedSendReturnsWhenItsItemIsTaken",
         test_unbuffered_send_returns_when_its_item_is_taken, 0},
        {"TestUnbufferedManySendersManyReceivers",
         test_unbuffered_many_senders_many_receivers, 0},
        {"TestBufferedManySendersManyReceivers",
         test_buffered_many_senders_many_receivers, 0},
        {"TestTimedReceiversLoseNothing", test_timed_receivers_lose_nothing, 0},
        {"TestBufferedIsFIFO", test_buffered_is_fifo, 0},
        {"TestBufferedSendBlocksOnlyWhenFull",
         test_buffered_send_blocks_only_when_full, 0},
        {"TestCloseWakesBlockedReceivers", test_close_wakes_blocked_receivers,
         0},
        {"TestCloseWakesBlockedSenders", test_close_wakes_blocked_senders, 0},
        {"TestCloseWakesSenderBlockedOnFullBuffer",
         test_close_wakes_sender_blocked_on_full_buffer, 0},
        {"TestRecvOnClosedChannelDrainsThenFails",
         test_recv_on_closed_channel_drains_then_fails, 0},
        {"TestSendOnClosedChannelFails", test_send_on_closed_channel_fails, 0},
        {"TestCloseIsIdempotent", test_close_is_idempotent, 0},
        {"TestRecvTimeoutTimesOut", test_recv_timeout_times_out, 0},
        {"TestRecvTimeoutZeroPolls", test_recv_timeout_zero_polls, 0},
        {"TestRecvTimeoutReturnsItemArrivingInTime",
         test_recv_timeout_returns_item_arriving_in_time, 0},
        {"TestApplyMsgOverChannel", test_apply_msg_over_channel, 0},
        {"TestApplyMsgCopiesBytes", test_apply_msg_copies_bytes, 0},
};

int main(int argc, char **argv)
{
	return runner_main(argc, argv, "chan", tests,
	                   sizeof tests / sizeof tests[0]);
}
