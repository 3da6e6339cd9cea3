/*
 * visualize.c: lin_visualize_html, the page that shows why a history is not
 * linearizable (porcupine's Visualize, simplified). It uses only the public
 * lincheck.h API: the check's info, and the model to replay the longest
 * linearizable prefix and describe operations and states.
 *
 * The page is self-contained (inline CSS and JavaScript, no network): the C
 * side writes the data as JSON into `const data = ...`, and the script draws
 * one timeline per partition from it.
 */
#include "lincheck/lincheck.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Descriptions longer than this are cut in the middle, so that a page for a
 * long append history stays a few megabytes (the ends are what differ). */
enum { VIS_MAX_DESC = 2048, VIS_KEEP_HEAD = 512 };

/* Writes s as a JSON string, cutting it in the middle if it is too long.
 * '<' is escaped too, so a description cannot end the script element. */
static void json_string(FILE *f, const char *s)
{
	size_t len = strlen(s), head = len, tail_at = len;
	if (len > VIS_MAX_DESC) {
		head = VIS_KEEP_HEAD;
		tail_at = len - (VIS_MAX_DESC - VIS_KEEP_HEAD);
		/* Do not split a UTF-8 sequence. */
		while (head > 0 && ((unsigned char)s[head] & 0xc0) == 0x80)
			head--;
		while (tail_at < len &&
		       ((unsigned char)s[tail_at] & 0xc0) == 0x80)
			tail_at++;
	}
	fputc('"', f);
	for (size_t i = 0; i < len; i++) {
		if (i == head && head < tail_at) {
			fprintf(f, " \\u2026[%zu bytes omitted]\\u2026 ",
			        tail_at - head);
			i = tail_at - 1;
			continue;
		}
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20 || c == '<' || c == 0x7f)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

/* Writes the owned string made by describe (or a fallback) and frees it. */
static void json_owned(FILE *f, char *s, const char *fallback)
{
	json_string(f, s ? s : fallback);
	free(s);
}

static void json_state(FILE *f, const struct lin_model *m, const void *state)
{
	json_owned(f, m->describe_state ? m->describe_state(state) : NULL, "?");
}

/* Index of each operation within its partition, by the caller's index. */
static size_t *local_index_map(const struct lin_info *info, size_t nops)
{
	size_t *local = calloc(nops ? nops : 1, sizeof *local);
	if (!local)
		return NULL;
	for (size_t p = 0; p < lin_info_npartitions(info); p++) {
		const size_t *ops;
		size_t n = lin_info_partition_ops(info, p, &ops);
		for (size_t i = 0; i < n; i++)
			local[ops[i]] = i;
	}
	return local;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

/* The rank of t among the sorted distinct times[0..n-1]. */
static size_t time_rank(const int64_t *times, size_t n, int64_t t)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (times[mid] < t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * One partition as a JSON object: its operations (x positions are ranks of
 * their times, so that the drawing keeps the order of events whatever the
 * time scale), the longest linearizable prefix replayed with the state after
 * each step, and the operation that could not be placed.
 */
static int json_partition(FILE *f, const struct lin_model *m,
                          const struct lin_info *info, const struct lin_op *all,
                          size_t p, const size_t *local)
{
	const size_t *ops, *seq;
	size_t n = lin_info_partition_ops(info, p, &ops);
	size_t nseq = lin_info_longest(info, p, &seq);
	size_t failed = lin_info_failed_op(info, p);

	int64_t *times = malloc(2 * n * sizeof *times);
	if (!times)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		times[2 * i] = all[ops[i]].call_ns;
		times[2 * i + 1] = all[ops[i]].return_ns;
	}
	qsort(times, 2 * n, sizeof *times, cmp_i64);
	size_t ntimes = 0;
	for (size_t i = 0; i < 2 * n; i++)
		if (ntimes == 0 || times[ntimes - 1] != times[i])
			times[ntimes++] = times[i];

	fputs("{\"name\":", f);
	json_string(f, lin_info_partition_name(info, p));
	fprintf(f, ",\"result\":\"%s\",\"width\":%zu,\"ops\":[",
	        lin_result_name(lin_info_partition_result(info, p)), ntimes);
	for (size_t i = 0; i < n; i++) {
		const struct lin_op *op = &all[ops[i]];
		int64_t ret = op->return_ns < op->call_ns ? op->call_ns
		                                          : op->return_ns;
		fprintf(f,
		        "%s\n{\"client\":%d,\"call\":\"%lld\",\"ret\":\"%lld\","
		        "\"x0\":%zu,\"x1\":%zu,\"desc\":",
		        i ? "," : "", op->client_id, (long long)op->call_ns,
		        (long long)op->return_ns,
		        time_rank(times, ntimes, op->call_ns),
		        time_rank(times, ntimes, ret));
		char buf[32];
		snprintf(buf, sizeof buf, "op %zu", ops[i]);
		json_owned(f,
		           m->describe_op
		                   ? m->describe_op(op->input, op->output)
		                   : NULL,
		           buf);
		fputc('}', f);
	}
	free(times);

	/* Replay the prefix from the initial state (porcupine does the same;
	 * a step that fails here means the model is not deterministic). */
	int rc = 0;
	void *state = m->init();
	fputs("],\n\"init\":", f);
	json_state(f, m, state);
	fputs(",\"lin\":[", f);
	for (size_t k = 0; k < nseq; k++) {
		const struct lin_op *op = &all[seq[k]];
		void *next = NULL;
		if (!m->step(state, op->input, op->output, &next)) {
			rc = -EINVAL;
			break;
		}
		if (next != state && m->free_state)
			m->free_state(state);
		state = next;
		fprintf(f, "%s\n{\"op\":%zu,\"state\":", k ? "," : "",
		        local[seq[k]]);
		json_state(f, m, state);
		fputc('}', f);
	}
	if (m->free_state)
		m->free_state(state);
	if (failed == LIN_NO_OP)
		fputs("],\"failed\":-1}", f);
	else
		fprintf(f, "],\"failed\":%zu}", local[failed]);
	return rc;
}

static const char page_head[] =
        "<!DOCTYPE html>\n"
        "<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
        "<title>lincheck</title>\n"
        "<style>\n"
        "body{font:13px/1.4 sans-serif;margin:16px;color:#222}\n"
        "h2{font-size:15px;margin:24px 0 4px}\n"
        ".legend span{display:inline-block;padding:1px 8px;margin-right:8px;"
        "border-radius:3px}\n"
        ".scroll{overflow-x:auto;border:1px solid #ccc;padding:4px 0}\n"
        ".tl{position:relative}\n"
        ".row{position:absolute;left:0;font-size:11px;color:#666;"
        "width:64px;padding-left:4px}\n"
        ".op{position:absolute;height:18px;box-sizing:border-box;"
        "border:1px solid #888;border-radius:3px;background:#ddd;"
        "font-size:10px;white-space:nowrap;overflow:hidden;cursor:default}\n"
        ".op.lin{background:#bfe3bf;border-color:#4a9a4a}\n"
        ".op.failed{background:#f4a6a6;border:2px solid #c00}\n"
        ".op.upto{outline:2px solid #26c}\n"
        "#tip{position:fixed;display:none;max-width:640px;background:#fff;"
        "border:1px solid #444;padding:6px;box-shadow:2px 2px 6px #999;"
        "white-space:pre-wrap;word-break:break-all;z-index:9;"
        "font:12px monospace}\n"
        "table{border-collapse:collapse;font:12px monospace}\n"
        "td{border:1px solid #ddd;padding:1px 6px;vertical-align:top;"
        "word-break:break-all}\n"
        "tr.failed td{background:#f4a6a6}\n"
        ".Illegal{color:#c00}.Unknown{color:#a60}.Ok{color:#080}\n"
        "</style></head><body>\n"
        "<h1>lincheck: <span id=\"verdict\"></span></h1>\n"
        "<p class=\"legend\"><span class=\"op lin\" style=\"position:static\">"
        "in the longest linearizable prefix</span>"
        "<span class=\"op failed\" style=\"position:static\">"
        "could not be placed</span>"
        "<span class=\"op\" style=\"position:static\">not linearized</span>"
        " <a href=\"#first-error\" id=\"jump\">[ jump to first error ]</a>"
        "</p>\n"
        "<p>One timeline per partition, one row per client; each operation "
        "is a bar from its call to its return (positions are the order of "
        "events, not to scale). Hover over an operation to see it, its place "
        "in the longest linearizable prefix and the state after it.</p>\n"
        "<div id=\"parts\"></div><div id=\"tip\"></div>\n"
        "<script>\nconst data = ";

static const char page_tail[] =
        ";\n"
        "const UNIT = 10, ROW = 24, LEFT = 70;\n"
        "const tip = document.getElementById('tip');\n"
        "function el(tag, cls, text) {\n"
        "  const e = document.createElement(tag);\n"
        "  if (cls) e.className = cls;\n"
        "  if (text !== undefined) e.textContent = text;\n"
        "  return e;\n"
        "}\n"
        "let verdict = 'Ok', firstError = null;\n"
        "for (const part of data) {\n"
        "  if (part.result === 'Illegal') verdict = 'Illegal';\n"
        "  else if (part.result === 'Unknown' && verdict === 'Ok')"
        " verdict = 'Unknown';\n"
        "  const step = new Map();\n"
        "  part.lin.forEach((l, k) => step.set(l.op, k));\n"
        "  const clients = [...new Set(part.ops.map(o => o.client))]"
        ".sort((a, b) => a - b);\n"
        "  const sec = el('section');\n"
        "  const h = el('h2', part.result, 'partition ' + "
        "JSON.stringify(part.name) + ': ' + part.result + ' (' + "
        "part.ops.length + ' operations, longest linearizable prefix ' + "
        "part.lin.length + ')');\n"
        "  sec.appendChild(h);\n"
        "  if (part.result === 'Illegal' && !firstError) {\n"
        "    firstError = h; h.id = 'first-error';\n"
        "  }\n"
        "  const scroll = el('div', 'scroll'), tl = el('div', 'tl');\n"
        "  tl.style.width = (LEFT + (part.width + 1) * UNIT) + 'px';\n"
        "  tl.style.height = (clients.length * ROW) + 'px';\n"
        "  clients.forEach((c, r) => {\n"
        "    const lab = el('div', 'row', 'client ' + c);\n"
        "    lab.style.top = (r * ROW + 2) + 'px'; tl.appendChild(lab);\n"
        "  });\n"
        "  const bars = [];\n"
        "  part.ops.forEach((o, i) => {\n"
        "    const k = step.get(i), failed = i === part.failed;\n"
        "    const b = el('div', 'op' + (k !== undefined ? ' lin' : '') + "
        "(failed ? ' failed' : ''), (k !== undefined ? (k + 1) + ': ' : '') "
        "+ o.desc);\n"
        "    b.style.left = (LEFT + o.x0 * UNIT) + 'px';\n"
        "    b.style.width = Math.max((o.x1 - o.x0) * UNIT, 6) + 'px';\n"
        "    b.style.top = (clients.indexOf(o.client) * ROW + 2) + 'px';\n"
        "    let text = o.desc + '\\nclient ' + o.client + ', call ' + "
        "o.call + ', return ' + o.ret;\n"
        "    if (k !== undefined) text += '\\nstep ' + (k + 1) + ' of the "
        "longest linearizable prefix\\nstate after: ' + part.lin[k].state;\n"
        "    else if (failed) text += '\\ncould not be placed after the "
        "longest linearizable prefix\\nstate there: ' + (part.lin.length ? "
        "part.lin[part.lin.length - 1].state : part.init);\n"
        "    b.onmouseenter = () => {\n"
        "      tip.textContent = text; tip.style.display = 'block';\n"
        "      if (k !== undefined) bars.forEach((bb, j) => { const kk = "
        "step.get(j); if (kk !== undefined && kk <= k) "
        "bb.classList.add('upto'); });\n"
        "    };\n"
        "    b.onmousemove = e => {\n"
        "      tip.style.left = Math.min(e.clientX + 12, "
        "window.innerWidth - 660) + 'px';\n"
        "      tip.style.top = (e.clientY + 12) + 'px';\n"
        "    };\n"
        "    b.onmouseleave = () => {\n"
        "      tip.style.display = 'none';\n"
        "      bars.forEach(bb => bb.classList.remove('upto'));\n"
        "    };\n"
        "    bars.push(b); tl.appendChild(b);\n"
        "  });\n"
        "  scroll.appendChild(tl); sec.appendChild(scroll);\n"
        "  const det = el('details'), sum = el('summary', '', "
        "'longest linearizable prefix, step by step');\n"
        "  det.appendChild(sum);\n"
        "  const table = el('table');\n"
        "  const row = (cells, cls) => { const tr = el('tr', cls); "
        "cells.forEach(c => tr.appendChild(el('td', '', c))); "
        "table.appendChild(tr); };\n"
        "  row(['step', 'operation', 'state after']);\n"
        "  row(['0', '(initial state)', part.init]);\n"
        "  part.lin.forEach((l, k) => row([String(k + 1), "
        "part.ops[l.op].desc, l.state]));\n"
        "  if (part.failed >= 0) row(['-', part.ops[part.failed].desc, "
        "'could not be placed'], 'failed');\n"
        "  det.appendChild(table); sec.appendChild(det);\n"
        "  if (part.result !== 'Ok') det.open = true;\n"
        "  document.getElementById('parts').appendChild(sec);\n"
        "}\n"
        "const v = document.getElementById('verdict');\n"
        "v.textContent = verdict; v.className = verdict;\n"
        "if (!firstError) document.getElementById('jump').style.display = "
        "'none';\n"
        "</script></body></html>\n";

int lin_visualize_html(const struct lin_model *m, const struct lin_info *info,
                       const char *path)
{
	size_t np = lin_info_npartitions(info), nops;
	const struct lin_op *all = lin_info_ops(info, &nops);
	size_t *local = local_index_map(info, nops);
	if (!local)
		return -ENOMEM;

	FILE *f = fopen(path, "w");
	if (!f) {
		int err = -errno;
		free(local);
		return err;
	}
	int rc = 0;
	fputs(page_head, f);
	fputc('[', f);
	for (size_t p = 0; p < np && rc == 0; p++) {
		if (p)
			fputs(",\n", f);
		rc = json_partition(f, m, info, all, p, local);
	}
	fputc(']', f);
	fputs(page_tail, f);
	free(local);
	if (ferror(f) && rc == 0)
		rc = -EIO;
	if (fclose(f) != 0 && rc == 0)
		rc = -errno;
	return rc;
}
