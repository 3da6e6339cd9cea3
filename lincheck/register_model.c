/*
 * register_model.c: lin_register_model and lin_cas_register_model, the
 * read/write register and the compare-and-set register of Knossos (and of
 * Jepsen's register tests). One partition; the state is NULL for nil, the
 * register before its first write, or a malloc'd int64_t.
 */
#include "lincheck/lincheck.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static void *reg_init(void)
{
	return NULL; /* nil */
}

/* A new state holding v. */
static const void *reg_holding(int64_t v)
{
	int64_t *st = malloc(sizeof *st);
	if (!st) {
		fputs("lincheck: out of memory\n", stderr);
		abort();
	}
	*st = v;
	return st;
}

static bool reg_holds(const void *state, int64_t v)
{
	return state && *(const int64_t *)state == v;
}

/* read and write, for both models. */
static bool reg_read_write(const void *state, const struct lin_reg_input *in,
                           const struct lin_reg_output *out,
                           const void **new_state)
{
	switch (in->op) {
	case LIN_REG_READ:
		*new_state = state;
		if (!out) /* an unknown read: anything was legal */
			return true;
		return out->nil ? state == NULL : reg_holds(state, out->value);
	case LIN_REG_WRITE:
		if (reg_holds(state, in->value)) {
			*new_state = state;
			return true;
		}
		*new_state = reg_holding(in->value);
		return true;
	default:
		return false;
	}
}

static bool reg_step(const void *state, const void *input, const void *output,
                     const void **new_state)
{
	return reg_read_write(state, input, output, new_state);
}

static bool cas_step(const void *state, const void *input, const void *output,
                     const void **new_state)
{
	const struct lin_reg_input *in = input;
	const struct lin_reg_output *out = output;
	if (in->op != LIN_REG_CAS)
		return reg_read_write(state, in, out, new_state);
	bool matches = reg_holds(state, in->from);
	if (out && !out->ok) { /* it failed: the register held another value */
		*new_state = state;
		return !matches;
	}
	if (!matches) {
		/* A cas that succeeded cannot have seen this state; one whose
		 * outcome is unknown failed here, and changed nothing. */
		*new_state = state;
		return out == NULL;
	}
	if (in->value == in->from) {
		*new_state = state;
		return true;
	}
	*new_state = reg_holding(in->value);
	return true;
}

static bool reg_equal(const void *a, const void *b)
{
	if (!a || !b)
		return a == b;
	return *(const int64_t *)a == *(const int64_t *)b;
}

static uint64_t reg_hash(const void *state)
{
	return state ? (uint64_t) * (const int64_t *)state : UINT64_C(0x6e696c);
}

static char *reg_printf(const char *fmt, ...)
        __attribute__((format(printf, 1, 2)));
static char *reg_printf(const char *fmt, ...)
{
	char *s = malloc(96);
	if (!s)
		return NULL; /* the page then says "op N" */
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(s, 96, fmt, ap);
	va_end(ap);
	return s;
}

static char *reg_describe_op(const void *input, const void *output)
{
	const struct lin_reg_input *in = input;
	const struct lin_reg_output *out = output;
	switch (in->op) {
	case LIN_REG_READ:
		if (!out)
			return reg_printf("read() -> ? (unknown)");
		if (out->nil)
			return reg_printf("read() -> nil");
		return reg_printf("read() -> %" PRId64, out->value);
	case LIN_REG_WRITE:
		return reg_printf(out ? "write(%" PRId64 ")"
		                      : "write(%" PRId64 ") (unknown)",
		                  in->value);
	case LIN_REG_CAS:
		if (!out)
			return reg_printf("cas(%" PRId64 ", %" PRId64
			                  ") -> ? (unknown)",
			                  in->from, in->value);
		return reg_printf(
		        out->ok ? "cas(%" PRId64 ", %" PRId64 ") -> ok"
		                : "cas(%" PRId64 ", %" PRId64 ") -> fail",
		        in->from, in->value);
	default:
		return reg_printf("<invalid>");
	}
}

static char *reg_describe_state(const void *state)
{
	if (!state)
		return reg_printf("nil");
	return reg_printf("%" PRId64, *(const int64_t *)state);
}

const struct lin_model lin_register_model = {
        .init = reg_init,
        .step = reg_step,
        .equal = reg_equal,
        .hash = reg_hash,
        .free_state = free,
        .describe_op = reg_describe_op,
        .describe_state = reg_describe_state,
};

const struct lin_model lin_cas_register_model = {
        .init = reg_init,
        .step = cas_step,
        .equal = reg_equal,
        .hash = reg_hash,
        .free_state = free,
        .describe_op = reg_describe_op,
        .describe_state = reg_describe_state,
};
