/*
 * report.c: what the runner tells of the runs: go test's lines for each
 * (--- FAIL, the seed and the replay command), the -results file, and at
 * the end CUnit's run summary and XML, through a registry of proxy tests.
 */
#include "runner/runner_int.h"

#include <CUnit/Automated.h>
#include <CUnit/CUnit.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- go test's lines ---- */

/* Appends to out what go test prints after a test: nothing for a pass
 * (--- PASS with -v), else --- FAIL, each failure, details (extra lines
 * such as backtraces, may be NULL), the seed, a replay command, the log. */
void runner_format_report(const struct run *r, const char *details,
                          struct buf *out)
{
	if (r->passed) {
		if (runner_opt.verbose)
			runner_buf_printf(out, "--- PASS: %s (%.2fs)\n",
			                  r->test->name, r->elapsed_s);
		return;
	}
	runner_buf_printf(out, "--- FAIL: %s (%.2fs)\n", r->test->name,
	                  r->elapsed_s);
	for (size_t i = 0; i < r->nfailures; i++) {
		const struct failure *f = &r->failures[i];
		struct buf line = {0};
		if (f->file)
			runner_buf_printf(&line, "%s:%u: ", f->file, f->line);
		runner_buf_puts(&line, f->msg);
		runner_buf_add_indented(out, line.p, line.len, INDENT, INDENT2);
		runner_buf_free(&line);
	}
	if (details)
		runner_buf_puts(out, details);
	runner_buf_printf(out, INDENT "seed: 0x%" PRIx64 "  replay: ", r->seed);
	runner_buf_add_shell_word(out, runner_prog);
	runner_buf_puts(out, " -run ");
	struct buf pattern = {0};
	runner_buf_printf(&pattern, "^%s$", r->test->name);
	runner_buf_add_shell_word(out, pattern.p);
	runner_buf_free(&pattern);
	runner_buf_printf(out, " -seed 0x%" PRIx64 "\n", r->seed);
	if (r->log_path)
		runner_buf_printf(out, INDENT "log: %s\n", r->log_path);
}

/* ---- the results file (-results) ---- */

static FILE *results_file;

/* Adds s to out with backslash, tab, newline and carriage return escaped
 * as \\, \t, \n and \r, so that a field holds any text on one line. */
static void buf_add_tsv_field(struct buf *out, const char *s)
{
	for (; *s; s++) {
		const char *esc = *s == '\\'   ? "\\\\"
		                  : *s == '\t' ? "\\t"
		                  : *s == '\n' ? "\\n"
		                  : *s == '\r' ? "\\r"
		                               : NULL;
		if (esc)
			runner_buf_puts(out, esc);
		else
			runner_buf_add(out, s, 1);
	}
}

/* Opens the -results file and writes its header. Returns 0, or -1 after
 * saying what is wrong. */
int runner_open_results(void)
{
	results_file = fopen(runner_opt.results, "w");
	if (!results_file) {
		runner_complain("cannot write -results %s: %s",
		                runner_opt.results, strerror(errno));
		return -1;
	}
	fprintf(results_file,
	        "# raftlab results 1: one line per run, fields tab-separated; "
	        "in the message, \\\\ \\t \\n \\r stand for a backslash, "
	        "tab, newline and carriage return\n"
	        "# result: pass, fail, timeout (killed at its limit), crash, "
	        "sanitizer (a sanitizer's report), budget (killed when "
	        "-budget ran out), not-run, interrupted\n"
	        "# rpcs and ops: the harness's counts, empty when it gave "
	        "none; log: kept for a failed run\n"
	        "#test\tresult\tseconds\tseed\trpcs\tops\tlog\tmessage\n");
	fflush(results_file);
	return 0;
}

/* Writes r's line to the -results file, if there is one. */
void runner_write_result(const struct run *r)
{
	if (!results_file)
		return;
	struct buf line = {0};
	buf_add_tsv_field(&line, r->cu_name);
	runner_buf_printf(&line, "\t%s\t%.3f\t0x%" PRIx64 "\t", r->outcome,
	                  r->elapsed_s, r->seed);
	if (r->rpcs || r->ops)
		runner_buf_printf(&line, "%" PRIu64 "\t%" PRIu64 "\t", r->rpcs,
		                  r->ops);
	else
		runner_buf_puts(&line, "\t\t");
	if (r->log_path)
		buf_add_tsv_field(&line, r->log_path);
	runner_buf_puts(&line, "\t");
	for (size_t i = 0; i < r->nfailures; i++) {
		const struct failure *f = &r->failures[i];
		struct buf msg = {0};
		if (i > 0)
			runner_buf_puts(&msg, "\n");
		if (f->file)
			runner_buf_printf(&msg, "%s:%u: ", f->file, f->line);
		runner_buf_puts(&msg, f->msg);
		buf_add_tsv_field(&line, runner_buf_str(&msg));
		runner_buf_free(&msg);
	}
	runner_buf_puts(&line, "\n");
	fputs(runner_buf_str(&line), results_file);
	fflush(results_file);
	runner_buf_free(&line);
}

/* Closes the -results file, if there is one. Returns 0, or -1 after saying
 * what is wrong. */
int runner_close_results(void)
{
	int err = 0;
	if (results_file && fclose(results_file) != 0) {
		runner_complain("cannot write -results %s: %s",
		                runner_opt.results, strerror(errno));
		err = -1;
	}
	results_file = NULL;
	return err;
}

/* ---- the report through CUnit ---- */

static struct run *proxy_runs; /* the runs the proxies stand for */
static size_t proxy_nruns;
static size_t proxy_next; /* CUnit runs the proxies in the order added */

/* A CUnit test standing for one run: replays its assertions. */
static void proxy_test(void)
{
	const char *name = CU_get_current_test()->pName;
	struct run *r = NULL;
	if (proxy_next < proxy_nruns &&
	    !strcmp(proxy_runs[proxy_next].cu_name, name))
		r = &proxy_runs[proxy_next++];
	for (size_t i = 0; !r && i < proxy_nruns; i++) {
		if (!strcmp(proxy_runs[i].cu_name, name))
			r = &proxy_runs[i];
	}
	if (!r) {
		CU_FAIL("runner: no run of this name");
		return;
	}
	for (unsigned i = 0; i < r->asserts_passed; i++)
		CU_assertImplementation(CU_TRUE, 0, "", "", "", CU_FALSE);
	for (size_t i = 0; i < r->nfailures; i++) {
		const struct failure *f = &r->failures[i];
		struct buf msg = {0};
		runner_buf_printf(&msg, "%s (seed 0x%" PRIx64, f->msg, r->seed);
		if (r->log_path)
			runner_buf_printf(&msg, ", log %s", r->log_path);
		runner_buf_add(&msg, ")", 1);
		/* No file:line when the failure has none (a timeout, say).
		 * CUnit 2.1-3 copies both strings into its failure record. */
		CU_assertImplementation(CU_FALSE, f->file ? f->line : 0, msg.p,
		                        f->file ? f->file : "", "", CU_FALSE);
		runner_buf_free(&msg);
	}
}

/* Prints CUnit's "Run Summary" table of the proxies' run, with the run's
 * real elapsed time: CUnit's own counts the processor time of the proxies,
 * which is none. */
static void print_run_summary(double elapsed)
{
	char *table = CU_get_run_results_string();
	if (!table)
		return;
	char *tail = strstr(table, "Elapsed time");
	if (tail)
		*tail = '\0';
	printf("\n%s", table);
	if (tail)
		printf("Elapsed time = %8.3f seconds\n", elapsed);
	fflush(stdout);
	free(table); /* CUnit allocates it with malloc (CU_FREE) */
}

/* Runs the proxies in CUnit and prints its summary, then ends the way go
 * test does. Returns the exit status. */
int runner_report_through_cunit(struct run *runs, size_t nruns,
                                int64_t start_ns)
{
	int status = 2;
	proxy_runs = runs;
	proxy_nruns = nruns;
	if (CU_initialize_registry() != CUE_SUCCESS)
		goto cunit_error;
	CU_pSuite suite = CU_add_suite(runner_suite_name, NULL, NULL);
	if (!suite)
		goto cunit_error;
	for (size_t i = 0; i < nruns; i++) {
		if (!CU_add_test(suite, runs[i].cu_name, proxy_test))
			goto cunit_error;
	}
	proxy_next = 0;
	/* CUnit's core run, without the basic interface's banner and its
	 * second list of the failures reported as the tests ended. */
	if (CU_run_all_tests() != CUE_SUCCESS)
		goto cunit_error;
	double elapsed = runner_seconds_since(start_ns);
	print_run_summary(elapsed);
	if (runner_opt.xml) { /* the proxies again, into CUnit's XML file */
		proxy_next = 0;
		CU_set_output_filename(runner_opt.xml);
		CU_automated_run_tests();
		if (CU_get_error() != CUE_SUCCESS)
			goto cunit_error;
	}

	size_t failed = 0;
	for (size_t i = 0; i < nruns; i++)
		failed += !runs[i].passed;
	if (failed)
		printf("FAIL\nFAIL\t%s\t%.3fs\n", runner_suite_name, elapsed);
	else
		printf("PASS\nok  \t%s\t%.3fs\n", runner_suite_name, elapsed);
	fflush(stdout);
	status = failed ? 1 : 0;
	goto cleanup_registry;

cunit_error:
	runner_complain("CUnit failed: %s", CU_get_error_msg());
cleanup_registry:
	CU_cleanup_registry();
	return status;
}

/* Checks at the start that CUnit can write PREFIX-Results.xml at the end.
 * Returns 0, or -1 after saying what is wrong. */
int runner_check_xml_prefix(void)
{
	struct buf path = {0};
	runner_buf_printf(&path, "%s-Results.xml", runner_opt.xml);
	int fd = open(path.p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	int err = errno;
	if (fd >= 0)
		close(fd);
	else
		runner_complain("cannot write the -xml results %s: %s (is "
		                "its folder there?)",
		                path.p, strerror(err));
	runner_buf_free(&path);
	return fd >= 0 ? 0 : -1;
}
