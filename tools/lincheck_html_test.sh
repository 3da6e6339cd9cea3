#!/bin/sh
# lincheck_html_test.sh: checks the page lincheck draws for an illegal
# history in a real browser, headless Chromium: the page loads with no script
# error, its timeline fills the page's width, and the operation that cannot
# be placed is named, visible, with its client, its number among that
# client's operations and its input line. The history is
# tools/testdata/lincheck/timeline.jsonl: 60 operations of 5 clients on 2 keys, one get
# of key x wrong (input line 20).
#
# A probe script, added to a copy of the page, measures the page once it is
# laid out and writes what it found into the DOM, which Chromium prints
# (--dump-dom). With LINCHECK_SHOT=FILE.png, also saves a screenshot.
#
#   usage: tools/lincheck_html_test.sh PATH/TO/lincheck
set -u

prog=${1:?usage: $0 PATH/TO/lincheck}
history=$(cd "$(dirname "$0")" && pwd)/testdata/lincheck/timeline.jsonl
tmp=$(mktemp -d "${TMPDIR:-/tmp}/lincheck_html_test.XXXXXX") || exit 2
trap '[ -n "${KEEP:-}" ] || rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

browser=""
for b in chromium chromium-browser google-chrome; do
	if command -v "$b" >/dev/null 2>&1; then browser=$b; break; fi
done
if [ -z "$browser" ]; then
	echo "lincheck_html_test: needs headless Chromium: run scripts/deps.sh --check (or apt-get install chromium)" >&2
	exit 2
fi

passed=0
failed=0
ok() { passed=$((passed + 1)); }
bad() {
	failed=$((failed + 1))
	printf 'FAIL: %s\n' "$1"
}

"$prog" --html "$tmp/page.html" "$history" >"$tmp/out" 2>&1
rc=$?
if [ "$rc" -eq 1 ] && [ -s "$tmp/page.html" ]; then ok; else
	bad "lincheck should find the history illegal and write the page (exit status $rc)"
	cat "$tmp/out"
fi

# The probe: errors are caught from the first script on; the checks run
# after the page's own script, at load.
cat >"$tmp/first.js" <<'EOF'
<script>window.probeErrors = [];
window.addEventListener('error', e => probeErrors.push(e.message + ' (line ' + e.lineno + ')'));</script>
EOF
cat >"$tmp/last.js" <<'EOF'
<script>
window.addEventListener('load', () => {
  const out = [];
  // check NAME FN: FN returns '' when the check holds, else why not.
  const check = (name, fn) => {
    let why;
    try { why = fn(); } catch (e) { why = 'threw ' + e; }
    out.push(why === '' ? 'PASS ' + name : 'FAIL ' + name + ': ' + why);
  };
  // Seen: laid out, not hidden, inside the window's width, and on top at
  // its centre (nothing covers it).
  const seen = e => {
    if (!e) return 'missing';
    e.scrollIntoView({block: 'center', inline: 'nearest'});
    const r = e.getBoundingClientRect(), s = getComputedStyle(e);
    if (s.display === 'none' || s.visibility !== 'visible') return 'hidden';
    if (r.width < 4 || r.height < 4) return 'too small: ' + r.width + 'x' + r.height;
    if (r.left < 0 || r.right > innerWidth) return 'outside the window: ' + r.left + '..' + r.right;
    const top = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
    if (!top || !(top === e || e.contains(top))) return 'covered by ' + (top ? top.outerHTML.slice(0, 60) : 'nothing');
    return '';
  };
  const has = (e, text) => !e ? 'missing' : e.textContent.includes(text) ? '' : 'says ' + JSON.stringify(e.textContent);
  const want = "get('x') -> '822Z'";
  const byId = id => document.getElementById(id);
  const bar = () => document.querySelector('.tl .op.failed');
  check('no script error', () => probeErrors.join('; '));
  check('the failed operation is named at the top', () => has(byId('first-failed-op'), want));
  check('the name says where it came from', () => has(byId('first-failed-op'), 'client 1, its operation 8 (input line 20)'));
  check('the name is visible', () => seen(byId('first-failed-op')));
  check('the side panel shows it at load', () => has(byId('panel-desc'), want));
  check('the side panel is visible', () => seen(byId('panel-desc')));
  check('its bar carries the whole label', () => bar().textContent === want ? '' : 'says ' + bar().textContent);
  check('its bar is visible', () => seen(bar()));
  check('the timeline fills the page width', () => {
    const fill = document.querySelector('.tl').getBoundingClientRect().width / document.querySelector('.scroll').clientWidth;
    return fill > 0.9 && fill < 1.01 ? '' : 'the timeline is ' + Math.round(fill * 100) + '% of its box';
  });
  check('its box takes most of the window', () => {
    const box = document.querySelector('.scroll').getBoundingClientRect().width / innerWidth;
    return box > 0.6 ? '' : Math.round(box * 100) + '% of ' + innerWidth + ' px';
  });
  check('hovering its bar shows the tip', () => {
    bar().dispatchEvent(new MouseEvent('mouseenter'));
    const tip = byId('tip');
    if (getComputedStyle(tip).display !== 'block') return 'no tip';
    return has(tip, want) || has(tip, 'input line 20');
  });
  const lin = () => document.querySelector('.tl .op.lin');
  check('hovering another bar shows it in the panel', () => {
    lin().dispatchEvent(new MouseEvent('mouseenter'));
    return byId('panel-desc').textContent === lin().textContent.replace(/^[0-9]+: /, '') ? '' : 'the panel says ' + byId('panel-desc').textContent;
  });
  check('leaving it shows the failed operation again', () => {
    lin().dispatchEvent(new MouseEvent('mouseleave'));
    return has(byId('panel-desc'), want);
  });
  check('clicking a bar keeps it in the panel', () => {
    lin().dispatchEvent(new MouseEvent('click'));
    lin().dispatchEvent(new MouseEvent('mouseleave'));
    return byId('panel-desc').textContent === lin().textContent.replace(/^[0-9]+: /, '') ? '' : 'the panel says ' + byId('panel-desc').textContent;
  });
  const pre = document.createElement('pre');
  pre.id = 'probe';
  pre.textContent = '\n' + out.join('\n') + '\n';
  document.body.appendChild(pre);
});
</script>
EOF
awk -v first="$tmp/first.js" -v last="$tmp/last.js" '
	function put(f,   l) { while ((getline l < f) > 0) print l; close(f) }
	/<head>/ { sub(/<head>/, "<head>\n"); printf "%s", $0; put(first); next }
	/<\/body>/ {
		i = index($0, "</body>")
		print substr($0, 1, i - 1); put(last); print substr($0, i); next
	}
	{ print }' "$tmp/page.html" >"$tmp/probe.html"

# --virtual-time-budget lets the load event and the layout finish before
# the DOM is printed.
run_browser() {
	timeout 60 "$browser" --headless --no-sandbox --disable-gpu \
		--hide-scrollbars --window-size=1400,900 \
		--virtual-time-budget=5000 "$@" "file://$tmp/probe.html" 2>"$tmp/browser.err"
}
run_browser --dump-dom >"$tmp/dom.html"
rc=$?
if [ "$rc" -ne 0 ]; then
	bad "$browser ended with status $rc"
	tail -n 5 "$tmp/browser.err"
fi
sed -n '/<pre id="probe">/,/<\/pre>/p' "$tmp/dom.html" |
	sed 's/<[^>]*>//g; s/&gt;/>/g; s/&lt;/</g; s/&quot;/"/g; s/&amp;/\&/g' |
	grep -E '^(PASS|FAIL) ' >"$tmp/results"
if [ ! -s "$tmp/results" ]; then
	bad "the probe printed nothing: the page did not finish loading"
fi
while IFS= read -r line; do
	case $line in
	PASS*) ok ;;
	*) bad "${line#FAIL }" ;;
	esac
done <"$tmp/results"
if [ "$((passed + failed))" -lt 15 ]; then
	bad "only $((passed + failed)) checks ran (want 15)"
fi

if [ -n "${LINCHECK_SHOT:-}" ]; then
	run_browser --screenshot="$LINCHECK_SHOT" >/dev/null &&
		echo "lincheck_html_test: screenshot in $LINCHECK_SHOT"
fi

echo "lincheck_html_test: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
