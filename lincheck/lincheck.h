/*
 * lincheck: a linearizability checker for histories of concurrent operations,
 * the C counterpart of the porcupine package the 6.5840 kvraft tests use.
 * Given a model of the object (a sequential specification) and a history of
 * operations with their call and return times, it decides whether some total
 * order of the operations, consistent with real time, is legal for the model.
 *
 * The search is Wing & Gong / Lowe's backtracking search with memoisation,
 * run separately on each partition of the history (P-compositionality), the
 * partitions in parallel under one shared time budget. A failing history can
 * be drawn as a self-contained HTML page (lin_visualize_html).
 *
 * Not for: recording histories. The caller (e.g. the kvraft tester) records
 * its operations and owns them; lincheck only reads them.
 *
 * Ownership, everywhere: lincheck never frees or keeps what it is given
 * (models, operations, events and what they point to) beyond the call,
 * except that a struct lin_info refers to the history it was made from.
 * What it returns (an info, a description) is the caller's to free with
 * the function named. As a library: build/default/liblincheck.a and this
 * header, linked with -pthread; it needs nothing else of raftlab.
 */
#ifndef RAFTLAB_LINCHECK_H
#define RAFTLAB_LINCHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * One completed operation of the history. input and output point to the
 * model's own input/output structs (for the KV model: struct lin_kv_input and
 * struct lin_kv_output) and stay owned by the caller. Times may be in any
 * unit, as long as all operations use the same one; call_ns <= return_ns.
 * client_id is used only to lay out the visualization (one row per client).
 */
struct lin_op {
	int client_id;
	int64_t call_ns;
	int64_t return_ns;
	const void *input;
	const void *output;
};

/*
 * A model: the sequential specification of the object. States are opaque
 * pointers, immutable once made, and owned by the checker from the moment
 * init or step returns them: it frees each one once with free_state. NULL
 * is a state like any other (e.g. a register not yet written): the checker
 * passes it to step, equal, hash and describe_state as it is, and never
 * frees it. Every function must be thread-safe, since partitions are
 * checked in parallel (pure functions of their arguments are); functions of
 * states of one partition are called from one thread at a time.
 */
struct lin_model {
	/* The name of the partition op belongs to: operations with equal names
	 * (strcmp) form one independent sub-history, and partitions are checked
	 * and reported in strcmp order of their names. The string must stay
	 * valid as long as the op does (e.g. it is the KV input's key). NULL:
	 * the whole history is one partition, named "". */
	const char *(*partition)(const struct lin_op *op);

	/* A new initial state, owned by the checker (freed with free_state). */
	void *(*init)(void);

	/* Applies input to state, given the output the operation returned.
	 * Returns false if that output is illegal in this state. Otherwise sets
	 * *new_state to the state after the operation: either a fresh state,
	 * owned by the checker, or state itself when the operation leaves it
	 * unchanged (*new_state = state, no cast needed). Must not modify
	 * state. output is NULL for an operation whose outcome is unknown (a
	 * pending one of lin_check_events): step then decides whether some
	 * outcome is legal, and the state after it. */
	bool (*step)(const void *state, const void *input, const void *output,
	             const void **new_state);

	/* State equality. NULL: pointer identity. */
	bool (*equal)(const void *a, const void *b);

	/* A hash of the state, consistent with equal (for the memoisation
	 * cache). NULL: every state hashes to 0 (correct, but slower). */
	uint64_t (*hash)(const void *state);

	/* Frees a state made by init or step (never NULL). NULL: states are
	 * not freed. */
	void (*free_state)(void *state);

	/* Descriptions for the visualization, as malloc'd strings the caller
	 * frees. NULL: a default ("op 12" / "?"). */
	char *(*describe_op)(const void *input, const void *output);
	char *(*describe_state)(const void *state);
};

/* The outcome of a check: linearizable, not linearizable, or the time budget
 * ran out before a verdict (porcupine's Ok, Illegal and Unknown). */
enum lin_result {
	LIN_OK,
	LIN_ILLEGAL,
	LIN_UNKNOWN,
};

/* "Ok", "Illegal" or "Unknown". */
const char *lin_result_name(enum lin_result r);

/* What a check learnt, for reports and the visualization (opaque). */
struct lin_info;

/* The memory a check may hold by default: 4 GiB, or a quarter of the
 * machine's memory if that is less (lin_default_max_memory). */
#define LIN_DEFAULT_MAX_MEMORY ((size_t)4 << 30)
size_t lin_default_max_memory(void);

/* A check's bounds and report. All zero: no time limit, the default memory
 * limit, and a stop at the first illegal partition. */
struct lin_options {
	/* The whole check's wall-clock budget in milliseconds; <= 0: none. */
	int64_t timeout_ms;
	/* The memory the search may hold, in bytes: on Linux the growth of
	 * the process's resident size during the check (the searches'
	 * caches and the states they keep), elsewhere the searches' own
	 * count. When it is reached, the partition holding the most stops
	 * with LIN_UNKNOWN (LIN_STOP_MEMORY) and frees what it held, and the
	 * others go on. 0: lin_default_max_memory(). */
	size_t max_memory;
	/* false: the first illegal partition stops the others (they are
	 * LIN_UNKNOWN, LIN_STOP_ILLEGAL). true: the others go on within the
	 * budget, so that the info covers every partition, as porcupine's
	 * verbose check does. */
	bool full_report;
};

/* Why a partition has no verdict (lin_info_partition_stop). */
enum lin_stop {
	LIN_STOP_NONE,    /* it has one */
	LIN_STOP_TIME,    /* the budget ran out */
	LIN_STOP_MEMORY,  /* it held the most when the memory limit was hit */
	LIN_STOP_ILLEGAL, /* another partition was illegal first */
};

/* "none", "time", "memory" or "illegal elsewhere". */
const char *lin_stop_name(enum lin_stop why);

/*
 * Checks whether the history ops[0..nops-1] is linearizable under model m,
 * within the bounds of opt (NULL: all defaults). Partitions are checked in
 * turns of a few milliseconds, round robin, on a few threads (at most the
 * CPU count): each gets a fair share of the budget whatever the order of
 * the names, so that an illegal partition is found even behind ones whose
 * search is exponential. The result is LIN_ILLEGAL if any partition is not
 * linearizable (even if the budget then runs out), else LIN_UNKNOWN if some
 * partition got no verdict (lin_info_partition_stop says why), else LIN_OK.
 * The search takes time and memory exponential in how many operations
 * overlap on one partition, so give histories from real runs a budget.
 *
 * If info_out is not NULL, *info_out receives a new struct lin_info (free
 * it with lin_info_free), in either report mode. The info refers to ops:
 * the array and its inputs and outputs must stay valid while the info is
 * used (lin_info_free excepted).
 */
enum lin_result lin_check_with(const struct lin_model *m,
                               const struct lin_op *ops, size_t nops,
                               const struct lin_options *opt,
                               struct lin_info **info_out);

/*
 * One event of a history given as a sequence of calls and returns, in the
 * order they happened (porcupine's Event and CheckEvents). A call and its
 * return share an id, unique among the calls; the return comes after the
 * call. value is the call's input, or the return's output. A call with no
 * return is pending (a client that crashed, Jepsen's :info): it may take
 * effect at any point after its call, or never, and its output is NULL.
 */
enum lin_event_kind { LIN_CALL, LIN_RETURN };
struct lin_event {
	enum lin_event_kind kind;
	int client_id; /* for the drawing, as in lin_op */
	size_t id;
	const void *value;
};

/*
 * lin_check_with on a history of events. The info, if asked for, holds its
 * own array of operations (lin_info_ops): the i-th call of events is
 * operation i, at times that are positions in events (a pending one returns
 * after the last event). The events' values must stay valid while the info
 * is used. A malformed history (a return with no call before it, an id
 * called twice) is LIN_UNKNOWN with no info, and *error, if not NULL, says
 * why in a static string; else *error is NULL.
 */
enum lin_result lin_check_events(const struct lin_model *m,
                                 const struct lin_event *events, size_t n,
                                 const struct lin_options *opt,
                                 struct lin_info **info_out,
                                 const char **error);

/* lin_check_with, with a budget of timeout_ms milliseconds (<= 0: none) and
 * the other options at their defaults: it stops at the first illegal
 * partition. */
enum lin_result lin_check(const struct lin_model *m, const struct lin_op *ops,
                          size_t nops, int64_t timeout_ms,
                          struct lin_info **info_out);

void lin_info_free(struct lin_info *info);

/* ---- reading an info ---- */

/* "No such operation" for lin_info_failed_op. */
#define LIN_NO_OP SIZE_MAX

/* The history the info was made from: lin_check's ops, and *nops. */
const struct lin_op *lin_info_ops(const struct lin_info *info, size_t *nops);

/* The number of partitions, and partition p's name (see lin_model). */
size_t lin_info_npartitions(const struct lin_info *info);
const char *lin_info_partition_name(const struct lin_info *info, size_t p);

/* Partition p's own verdict: LIN_OK, LIN_ILLEGAL, or LIN_UNKNOWN when its
 * search was stopped (time ran out, or another partition was illegal). */
enum lin_result lin_info_partition_result(const struct lin_info *info,
                                          size_t p);

/* Partition p's operations: sets *ops to their indices in the array given to
 * lin_check, in history order, and returns how many there are. */
size_t lin_info_partition_ops(const struct lin_info *info, size_t p,
                              const size_t **ops);

/* The longest linearizable prefix the search found in partition p: sets
 * *seq to op indices (into lin_check's array) in linearization order and
 * returns its length. For a linearizable partition it is every operation. */
size_t lin_info_longest(const struct lin_info *info, size_t p,
                        const size_t **seq);

/* The operation that could not be placed after the longest prefix: of the
 * operations not in it, the one that returned first (the search had to
 * linearize it next and could not). LIN_NO_OP unless partition p is
 * LIN_ILLEGAL. */
size_t lin_info_failed_op(const struct lin_info *info, size_t p);

/* Why partition p is LIN_UNKNOWN; LIN_STOP_NONE if it has a verdict. */
enum lin_stop lin_info_partition_stop(const struct lin_info *info, size_t p);

/* The most memory the check held at once, as lin_options.max_memory counts
 * it, and the limit it ran under. */
size_t lin_info_peak_memory(const struct lin_info *info);
size_t lin_info_max_memory(const struct lin_info *info);

/* ---- visualization ---- */

/*
 * Writes a self-contained HTML page (inline CSS and JavaScript, no network
 * access) to path: for each partition a timeline with one row per client and
 * each operation as a bar from call to return, the longest linearizable
 * prefix highlighted with the state after each of its steps shown on hover
 * and in a side panel, and the operation that could not be placed named at
 * the top of its partition. The timelines fill the page's width. m must be the
 * model given to lin_check. Returns 0, or a negative errno value.
 */
int lin_visualize_html(const struct lin_model *m, const struct lin_info *info,
                       const char *path);

/*
 * lin_visualize_html, naming where each operation came from. The page names
 * an operation by its client and its number among that client's operations
 * (their order in lin_check's array); origin, if not NULL, adds a label such
 * as "input line 12": origin(i, arg) returns a malloc'd string for operation
 * i of lin_check's array, which the page writer frees, or NULL for none.
 */
int lin_visualize_html_from(const struct lin_model *m,
                            const struct lin_info *info, const char *path,
                            char *(*origin)(size_t op, void *arg), void *arg);

/* ---- the key/value model (6.5840 models.KvModel) ---- */

enum {
	LIN_KV_GET = 0,
	LIN_KV_PUT = 1,
	LIN_KV_APPEND = 2,
};

/* value is unused (may be NULL) for LIN_KV_GET. */
struct lin_kv_input {
	int op; /* LIN_KV_GET, LIN_KV_PUT or LIN_KV_APPEND */
	const char *key;
	const char *value;
};

/* What a get returned: the len bytes at value, which need not be followed
 * by a NUL (so that a recorder may point many outputs into one buffer);
 * unused for put and append. A NULL value reads as "". */
struct lin_kv_output {
	const char *value;
	size_t len;
};

/* The output of a get that returned the NUL-terminated s (NULL: ""). */
static inline struct lin_kv_output lin_kv_output_str(const char *s)
{
	size_t len = 0;
	while (s && s[len] != '\0')
		len++;
	return (struct lin_kv_output){s, len};
}

/*
 * The KV model: partitioned by key; the state is the key's string value,
 * initially "". get is legal iff it returned the current value; put sets the
 * value; append appends to it (neither returns anything to check).
 */
extern const struct lin_model lin_kv_model;

/* ---- registers: read/write, and compare-and-set (Knossos's models) ---- */

enum {
	LIN_REG_READ = 0,
	LIN_REG_WRITE = 1,
	LIN_REG_CAS = 2, /* lin_cas_register_model only */
};

/* A register holds an integer, or nothing (nil) before the first write. */
struct lin_reg_input {
	int op;        /* LIN_REG_READ, LIN_REG_WRITE or LIN_REG_CAS */
	int64_t value; /* write: the value; cas: the value it sets */
	int64_t from;  /* cas: the value it expects */
};

/* What an operation returned. A NULL output is an unknown outcome (a
 * pending operation). */
struct lin_reg_output {
	bool nil;      /* read: it read nil (then value is unused) */
	int64_t value; /* read: the value it read */
	bool ok;       /* cas: it succeeded; one that failed saw another
	                * value (Jepsen's :fail, an operation that did not
	                * happen, is better left out of the history) */
};

/*
 * The read/write register: one partition, initially nil. read is legal iff
 * it returned the current value (an unknown read is always legal); write
 * sets it (known or not: a pending write may take effect at any time or
 * never). The state is NULL for nil.
 */
extern const struct lin_model lin_register_model;

/* The compare-and-set register: lin_register_model, plus cas, which sets
 * value if the register holds from: one that succeeded is legal iff the
 * register held from, one that failed iff it did not, and an unknown one
 * takes effect iff the register holds from. */
extern const struct lin_model lin_cas_register_model;

#endif
