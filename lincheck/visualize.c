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
#include "lincheck/utf8.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Descriptions longer than this are cut in the middle, so that a page for a
 * long append history stays a few megabytes (the ends are what differ). */
enum { VIS_MAX_DESC = 2048, VIS_KEEP_HEAD = 512 };

/* Writes s as a JSON string, cutting it in the middle if it is too long.
 * '<' is escaped too, so a description cannot end the script element, and
 * a byte that is not UTF-8 becomes U+FFFD, the replacement character (the
 * page is declared UTF-8). */
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
		size_t seq = c >= 0x80
		                     ? utf8_length((const unsigned char *)s + i,
		                                   len - i)
		                     : 1;
		if (c == '"' || c == '\\') {
			fprintf(f, "\\%c", c);
		} else if (c < 0x20 || c == '<' || c == 0x7f) {
			fprintf(f, "\\u%04x", c);
		} else if (seq == 0) {
			fputs("\\ufffd", f);
		} else {
			fwrite(s + i, 1, seq, f);
			i += seq - 1;
		}
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

/* Where operations came from, for the page: each one's number among its
 * client's operations (1, 2, ...), and the caller's label, if any. */
struct origins {
	const size_t *nth; /* by the caller's index */
	char *(*label)(size_t op, void *arg);
	void *arg;
};

struct client_op {
	int client;
	size_t op;
};

static int cmp_client_op(const void *a, const void *b)
{
	const struct client_op *x = a, *y = b;
	if (x->client != y->client)
		return x->client < y->client ? -1 : 1;
	return x->op < y->op ? -1 : x->op > y->op;
}

/* Each operation's number among its client's, in the order of the array
 * (a client's operations follow one another). */
static size_t *client_numbering(const struct lin_op *all, size_t nops)
{
	struct client_op *order = malloc((nops ? nops : 1) * sizeof *order);
	size_t *nth = malloc((nops ? nops : 1) * sizeof *nth);
	if (!order || !nth) {
		free(order);
		free(nth);
		return NULL;
	}
	for (size_t i = 0; i < nops; i++)
		order[i] = (struct client_op){all[i].client_id, i};
	qsort(order, nops, sizeof *order, cmp_client_op);
	for (size_t k = 0; k < nops; k++) {
		bool same = k > 0 && order[k].client == order[k - 1].client;
		nth[order[k].op] = same ? nth[order[k - 1].op] + 1 : 1;
	}
	free(order);
	return nth;
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
                          size_t p, const size_t *local,
                          const struct origins *from)
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
		        "\"x0\":%zu,\"x1\":%zu,\"idx\":%zu,",
		        i ? "," : "", op->client_id, (long long)op->call_ns,
		        (long long)op->return_ns,
		        time_rank(times, ntimes, op->call_ns),
		        time_rank(times, ntimes, ret), from->nth[ops[i]]);
		char *label =
		        from->label ? from->label(ops[i], from->arg) : NULL;
		if (label) {
			fputs("\"origin\":", f);
			json_owned(f, label, "");
			fputc(',', f);
		}
		fputs("\"desc\":", f);
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
	const void *state = m->init();
	fputs("],\n\"init\":", f);
	json_state(f, m, state);
	fputs(",\"lin\":[", f);
	for (size_t k = 0; k < nseq; k++) {
		const struct lin_op *op = &all[seq[k]];
		const void *next = NULL;
		if (!m->step(state, op->input, op->output, &next)) {
			rc = -EINVAL;
			break;
		}
		if (next != state && state && m->free_state)
			m->free_state((void *)state);
		state = next;
		fprintf(f, "%s\n{\"op\":%zu,\"state\":", k ? "," : "",
		        local[seq[k]]);
		json_state(f, m, state);
		fputc('}', f);
	}
	if (state && m->free_state)
		m->free_state((void *)state);
	if (failed == LIN_NO_OP)
		fputs("],\"failed\":-1}", f);
	else
		fprintf(f, "],\"failed\":%zu}", local[failed]);
	return rc;
}

/* The page around the data, in pieces (C99 promises string literals of
 * 4095 bytes, no more). */
static const char *const page_head[] = {
        "<!DOCTYPE html>\n"
        "<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
        "<title>lincheck</title>\n"
        "<style>\n"
        "body{font:13px/1.4 sans-serif;margin:16px;color:#222}\n"
        "h1{font-size:20px;margin:0 0 8px}\n"
        "h2{font-size:15px;margin:24px 0 4px}\n"
        "#wrap{display:flex;gap:16px;align-items:flex-start}\n"
        "#main{flex:1;min-width:0}\n"
        "#panel{position:sticky;top:8px;flex:none;width:340px;box-sizing:bo"
        "rder-box;max-height:calc(100vh - 16px);overflow:auto;border:1px"
        " solid #999;border-radius:4px;padding:8px;background:#fafafa}\n"
        "#panel h3{font-size:13px;margin:0 0 6px}\n"
        "#panel .desc{font:13px monospace;word-break:break-all;margin:0 0"
        " 6px}\n"
        "#panel dl{margin:0;font-size:12px}\n"
        "#panel dt{color:#666;margin-top:4px}\n"
        "#panel dd{margin:0;font-family:monospace;white-space:pre-wrap;word"
        "-break:break-all}\n"
        "@media (max-width:900px){#wrap{display:block}#panel{position:stati"
        "c;width:auto;margin-top:16px}}\n"
        ".legend span{display:inline-block;padding:1px"
        " 8px;margin-right:8px;border-radius:3px}\n"
        ".cannot{margin:4px 0 8px;padding:6px 8px;border:2px solid"
        " #c00;border-radius:4px;background:#fdeaea;cursor:pointer}\n"
        ".cannot code{font-size:13px;word-break:break-all}\n"
        ".scroll{overflow-x:auto;border:1px solid #ccc;padding:4px 0}\n"
        ".tl{position:relative}\n"
        ".row{position:absolute;left:0;font-size:11px;color:#666;width:70px"
        ";padding-left:4px;line-height:20px}\n"
        ".op{position:absolute;height:20px;line-height:18px;box-sizing:bord"
        "er-box;border:1px solid"
        " #888;border-radius:3px;background:#ddd;font-size:11px;padding:0"
        " 3px;white-space:nowrap;overflow:hidden;text-overflow:ellipsis;cur"
        "sor:pointer}\n"
        ".op.lin{background:#bfe3bf;border-color:#4a9a4a}\n"
        ".op.failed{background:#f4a6a6;border:2px solid #c00;z-index:2}\n"
        ".op.upto{outline:2px solid #26c}\n"
        ".op.pinned{box-shadow:0 0 0 3px #fc3;z-index:3}\n"
        "#tip{position:fixed;display:none;max-width:520px;background:#fff;b"
        "order:1px solid #444;padding:6px;box-shadow:2px 2px 6px"
        " #999;white-space:pre-wrap;word-break:break-all;z-index:9;font:12p"
        "x monospace;pointer-events:none}\n"
        "table{border-collapse:collapse;font:12px monospace}\n"
        "td{border:1px solid #ddd;padding:1px"
        " 6px;vertical-align:top;word-break:break-all}\n"
        "tr.failed td{background:#f4a6a6}\n"
        ".Illegal{color:#c00}.Unknown{color:#a60}.Ok{color:#080}\n"
        "</style></head><body>\n"
        "<h1>lincheck: <span id=\"verdict\"></span></h1>\n"
        "<div id=\"wrap\"><div id=\"main\">\n"
        "<p class=\"legend\"><span class=\"op lin\""
        " style=\"position:static\">in the longest linearizable"
        " prefix</span><span class=\"op failed\"",
        " style=\"position:static\">could not be placed</span><span"
        " class=\"op\" style=\"position:static\">not linearized</span> <a"
        " href=\"#first-error\" id=\"jump\">[ jump to first error"
        " ]</a></p>\n"
        "<p>One timeline per partition, one row per client; each operation"
        " is a bar from its call to its return (positions keep the order"
        " of events, not their times). Hover over an operation to see it"
        " in a tip and in the panel at the side; click it to keep it in"
        " the panel. The bars of the longest linearizable prefix are"
        " numbered in its order.</p>\n"
        "<div id=\"parts\"></div></div>\n"
        "<div id=\"panel\"></div></div><div id=\"tip\"></div>\n"
        "<script>\n"
        "const data = ",
        NULL,
};

static const char *const page_tail[] = {
        ";\n"
        "const MIN_UNIT = 14, ROW = 26, LEFT = 76, PAD = 12;\n"
        "const tip = document.getElementById('tip');\n"
        "const panel = document.getElementById('panel');\n"
        "function el(tag, cls, text) {\n"
        "  const e = document.createElement(tag);\n"
        "  if (cls) e.className = cls;\n"
        "  if (text !== undefined) e.textContent = text;\n"
        "  return e;\n"
        "}\n"
        "function whence(o) {\n"
        "  return 'client ' + o.client + ', its operation ' + o.idx +\n"
        "    (o.origin ? ' (' + o.origin + ')' : '');\n"
        "}\n"
        "// What the panel and the tip say about operation i of a"
        " partition view.\n"
        "function facts(v, i) {\n"
        "  const part = v.part, o = part.ops[i], k = v.step.get(i);\n"
        "  const f = [['from', whence(o)], ['call, return', o.call + ', '"
        " + o.ret]];\n"
        "  if (k !== undefined) {\n"
        "    f.push(['place', 'step ' + (k + 1) + ' of ' + part.lin.length"
        " +\n"
        "      ' in the longest linearizable prefix']);\n"
        "    f.push(['state after', part.lin[k].state]);\n"
        "  } else if (i === part.failed) {\n"
        "    f.push(['place', 'cannot be placed after the longest"
        " linearizable prefix']);\n"
        "    f.push(['state there', part.lin.length ?\n"
        "      part.lin[part.lin.length - 1].state : part.init]);\n"
        "  } else {\n"
        "    f.push(['place', 'not linearized (after the operation that"
        " cannot be placed)']);\n"
        "  }\n"
        "  return f;\n"
        "}\n"
        "let pinned = null, initial = null;\n"
        "function showPanel(sel) {\n"
        "  panel.textContent = '';\n"
        "  if (!sel) {\n"
        "    panel.appendChild(el('h3', '', 'No operation selected'));\n"
        "    panel.appendChild(el('p', '', 'Hover over or click an"
        " operation.'));\n"
        "    return;\n"
        "  }\n"
        "  const v = sel.v, o = v.part.ops[sel.i];\n"
        "  panel.appendChild(el('h3', '', 'partition ' +"
        " JSON.stringify(v.part.name)));\n"
        "  const d = el('p', 'desc', o.desc);\n"
        "  d.id = 'panel-desc';\n"
        "  panel.appendChild(d);\n"
        "  const dl = el('dl');\n"
        "  for (const [t, x] of facts(v, sel.i)) {\n"
        "    dl.appendChild(el('dt', '', t));\n"
        "    dl.appendChild(el('dd', '', x));\n"
        "  }\n"
        "  panel.appendChild(dl);\n"
        "}\n"
        "function pin(sel) {\n"
        "  if (pinned)"
        " pinned.v.bars[pinned.i].classList.remove('pinned');\n"
        "  pinned = sel;\n"
        "  if (sel) sel.v.bars[sel.i].classList.add('pinned');\n"
        "  showPanel(sel || initial);\n"
        "}\n"
        "let verdict = 'Ok', firstError = null;\n"
        "const views = [];\n"
        "for (const part of data) {\n"
        "  if (part.result === 'Illegal') verdict = 'Illegal';\n"
        "  else if (part.result === 'Unknown' && verdict === 'Ok') verdict"
        " = 'Unknown';\n",
        "  const v = {part, step: new Map(), bars: []};\n"
        "  part.lin.forEach((l, k) => v.step.set(l.op, k));\n"
        "  v.clients = [...new Set(part.ops.map(o => o.client))].sort((a,"
        " b) => a - b);\n"
        "  const sec = el('section');\n"
        "  const h = el('h2', part.result, 'partition ' +"
        " JSON.stringify(part.name) +\n"
        "    ': ' + part.result + ' (' + part.ops.length +\n"
        "    ' operations, longest linearizable prefix ' + part.lin.length"
        " + ')');\n"
        "  sec.appendChild(h);\n"
        "  if (part.failed >= 0) {\n"
        "    const o = part.ops[part.failed], c = el('div', 'cannot');\n"
        "    c.appendChild(document.createTextNode('Cannot be placed:"
        " '));\n"
        "    c.appendChild(el('code', '', o.desc));\n"
        "    c.appendChild(document.createTextNode(' \\u2014 ' +"
        " whence(o)));\n"
        "    c.onclick = () => {\n"
        "      pin({v, i: part.failed});\n"
        "      v.bars[part.failed].scrollIntoView({block: 'nearest',"
        " inline: 'center'});\n"
        "    };\n"
        "    sec.appendChild(c);\n"
        "    if (!firstError) {\n"
        "      firstError = h; h.id = 'first-error'; c.id ="
        " 'first-failed-op';\n"
        "      initial = {v, i: part.failed};\n"
        "    }\n"
        "  }\n"
        "  v.scroll = el('div', 'scroll');\n"
        "  v.tl = el('div', 'tl');\n"
        "  v.tl.style.height = (v.clients.length * ROW) + 'px';\n"
        "  v.clients.forEach((c, r) => {\n"
        "    const lab = el('div', 'row', 'client ' + c);\n"
        "    lab.style.top = (r * ROW + 2) + 'px';\n"
        "    v.tl.appendChild(lab);\n"
        "  });\n"
        "  part.ops.forEach((o, i) => {\n"
        "    const k = v.step.get(i), failed = i === part.failed;\n"
        "    const b = el('div', 'op' + (k !== undefined ? ' lin' : '') +\n"
        "      (failed ? ' failed' : ''), (k !== undefined ? (k + 1) + ':"
        " ' : '') + o.desc);\n"
        "    if (failed) b.id = 'failed-' + views.length;\n"
        "    b.style.top = (v.clients.indexOf(o.client) * ROW + 2) +"
        " 'px';\n"
        "    b.onmouseenter = () => {\n"
        "      tip.textContent = o.desc + '\\n' + facts(v, i).map(f =>"
        " f[0] + ': ' + f[1]).join('\\n');\n"
        "      tip.style.display = 'block';\n"
        "      showPanel({v, i});\n"
        "      if (k !== undefined) v.bars.forEach((bb, j) => {\n"
        "        const kk = v.step.get(j);\n"
        "        if (kk !== undefined && kk <= k)"
        " bb.classList.add('upto');\n"
        "      });\n"
        "    };\n"
        "    b.onmousemove = e => {\n"
        "      tip.style.left = Math.max(0, Math.min(e.clientX + 12,"
        " window.innerWidth - 540)) + 'px';\n"
        "      tip.style.top = (e.clientY + 16) + 'px';\n"
        "    };\n"
        "    b.onmouseleave = () => {\n"
        "      tip.style.display = 'none';\n"
        "      v.bars.forEach(bb => bb.classList.remove('upto'));\n",
        "      showPanel(pinned || initial);\n"
        "    };\n"
        "    b.onclick = () => pin(pinned && pinned.v === v && pinned.i"
        " === i ? null : {v, i});\n"
        "    v.bars.push(b);\n"
        "    v.tl.appendChild(b);\n"
        "  });\n"
        "  v.scroll.appendChild(v.tl);\n"
        "  sec.appendChild(v.scroll);\n"
        "  const det = el('details'), sum = el('summary', '', 'longest"
        " linearizable prefix, step by step');\n"
        "  det.appendChild(sum);\n"
        "  const table = el('table');\n"
        "  const row = (cells, cls) => {\n"
        "    const tr = el('tr', cls);\n"
        "    cells.forEach(c => tr.appendChild(el('td', '', c)));\n"
        "    table.appendChild(tr);\n"
        "  };\n"
        "  row(['step', 'operation', 'state after']);\n"
        "  row(['0', '(initial state)', part.init]);\n"
        "  part.lin.forEach((l, k) => row([String(k + 1),"
        " part.ops[l.op].desc, l.state]));\n"
        "  if (part.failed >= 0) row(['-', part.ops[part.failed].desc,"
        " 'could not be placed'], 'failed');\n"
        "  det.appendChild(table);\n"
        "  sec.appendChild(det);\n"
        "  if (part.result !== 'Ok') det.open = true;\n"
        "  document.getElementById('parts').appendChild(sec);\n"
        "  views.push(v);\n"
        "}\n"
        "// The timelines fill the page's width; a history with more"
        " events than\n"
        "// fit at MIN_UNIT pixels each scrolls sideways.\n"
        "function layout() {\n"
        "  for (const v of views) {\n"
        "    const span = Math.max(v.part.width - 1, 1);\n"
        "    const unit = Math.max(MIN_UNIT, (v.scroll.clientWidth - LEFT"
        " - PAD) / span);\n"
        "    v.tl.style.width = (LEFT + span * unit + PAD) + 'px';\n"
        "    v.part.ops.forEach((o, i) => {\n"
        "      v.bars[i].style.left = (LEFT + o.x0 * unit) + 'px';\n"
        "      v.bars[i].style.width = Math.max((o.x1 - o.x0) * unit, 8) +"
        " 'px';\n"
        "    });\n"
        "  }\n"
        "}\n"
        "layout();\n"
        "window.addEventListener('resize', layout);\n"
        "showPanel(initial);\n"
        "const vd = document.getElementById('verdict');\n"
        "vd.textContent = verdict;\n"
        "vd.className = verdict;\n"
        "if (!firstError) document.getElementById('jump').style.display ="
        " 'none';\n"
        "</script></body></html>\n",
        NULL,
};

int lin_visualize_html(const struct lin_model *m, const struct lin_info *info,
                       const char *path)
{
	return lin_visualize_html_from(m, info, path, NULL, NULL);
}

int lin_visualize_html_from(const struct lin_model *m,
                            const struct lin_info *info, const char *path,
                            char *(*origin)(size_t op, void *arg), void *arg)
{
	size_t np = lin_info_npartitions(info), nops;
	const struct lin_op *all = lin_info_ops(info, &nops);
	size_t *local = local_index_map(info, nops);
	size_t *nth = client_numbering(all, nops);
	if (!local || !nth) {
		free(local);
		free(nth);
		return -ENOMEM;
	}
	struct origins from = {nth, origin, arg};

	FILE *f = fopen(path, "w");
	if (!f) {
		int err = -errno;
		free(local);
		free(nth);
		return err;
	}
	int rc = 0;
	for (const char *const *piece = page_head; *piece; piece++)
		fputs(*piece, f);
	fputc('[', f);
	for (size_t p = 0; p < np && rc == 0; p++) {
		if (p)
			fputs(",\n", f);
		rc = json_partition(f, m, info, all, p, local, &from);
	}
	fputc(']', f);
	for (const char *const *piece = page_tail; *piece; piece++)
		fputs(*piece, f);
	free(local);
	free(nth);
	if (ferror(f) && rc == 0)
		rc = -EIO;
	if (fclose(f) != 0 && rc == 0)
		rc = -errno;
	return rc;
}
