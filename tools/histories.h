/*
 * histories: reading the history files the lincheck tool checks, into
 * operations for lin_check_with. Two formats: JSON lines of key/value
 * operations (lincheck's own, for the KV model), and Jepsen's EDN histories
 * of a register (for the register and compare-and-set models), with
 * Knossos's meaning of :invoke, :ok, :fail and :info.
 *
 * A reader checks everything (UTF-8, syntax, fields, the pairing of
 * invocations and completions) and on the first problem prints one line,
 * "lincheck: FILE:LINE: column C: what", to standard error.
 */
#ifndef RAFTLAB_TOOLS_HISTORIES_H
#define RAFTLAB_TOOLS_HISTORIES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "lincheck/lincheck.h"

enum history_format {
	HISTORY_JSONL, /* lin_kv_model's inputs and outputs */
	HISTORY_EDN,   /* struct lin_reg_input and lin_reg_output */
};

struct history {
	enum history_format format;
	struct lin_op *ops; /* point into the history's own storage */
	size_t n;
	size_t *line;  /* each operation's line (an EDN one's :invoke) */
	bool has_cas;  /* an EDN history with a :cas */
	void *storage; /* (the inputs and outputs) */
};

/* Reads the history in f (named path in messages). Returns false, having
 * said why, on bad input; h is then empty (history_free is still fine). */
bool history_read(const char *path, FILE *f, enum history_format format,
                  struct history *h);

void history_free(struct history *h);

#endif
