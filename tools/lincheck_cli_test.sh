#!/bin/sh
# lincheck_cli_test.sh: checks the lincheck command-line tool (tools/lincheck.c)
# from the outside: its verdicts and exit statuses on small history files, the
# HTML page it writes for an illegal history, and its messages for bad command
# lines and malformed lines (exit 3, naming the file, line and problem).
# Prints one line per failed check and a count at the end; exits non-zero if
# any check failed.
#
#   usage: tools/lincheck_cli_test.sh PATH/TO/lincheck
set -u

prog=${1:?usage: $0 PATH/TO/lincheck}
case $prog in /*) ;; *) prog=$(pwd)/$prog ;; esac
tmp=$(mktemp -d "${TMPDIR:-/tmp}/lincheck_cli_test.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

passed=0
failed=0
what="" # the command being checked, for failure messages

# run ARGS...: runs the tool in $tmp; stdout in $tmp/out, stderr in
# $tmp/err, exit status in $rc.
run() {
	what="lincheck $*"
	(cd "$tmp" && "$prog" "$@") >"$tmp/out" 2>"$tmp/err"
	rc=$?
}

ok() {
	passed=$((passed + 1))
}

# bad MESSAGE: a failed check; shows what the tool printed.
bad() {
	failed=$((failed + 1))
	printf 'FAIL: %s\n  after: %s\n' "$1" "$what"
	sed 's/^/  stdout| /' "$tmp/out" | head -n 20
	sed 's/^/  stderr| /' "$tmp/err" | head -n 20
}

expect_rc() {
	if [ "$rc" -eq "$1" ]; then ok; else bad "exit status $rc, want $1"; fi
}

# expect_in FILE TEXT: FILE ($tmp/out, $tmp/err...) contains TEXT.
expect_in() {
	if grep -qF -- "$2" "$1"; then ok; else bad "no '$2' in $(basename "$1")"; fi
}

# history NAME: writes standard input to $tmp/NAME.
history() {
	cat >"$tmp/$1"
}

# malformed TEXT MESSAGE: a file whose second line is TEXT is rejected with
# exit 3 and "bad.jsonl:2: ...MESSAGE".
malformed() {
	printf '%s\n%s\n' '{"client":0,"call":0,"return":1,"op":"put","key":"k","value":"v"}' "$1" >"$tmp/bad.jsonl"
	run bad.jsonl
	expect_rc 3
	expect_in "$tmp/err" "bad.jsonl:2: "
	expect_in "$tmp/err" "$2"
}

# ---- the command line ----

run --help
expect_rc 0
expect_in "$tmp/out" '{"client":0,"call":123,"return":130,"op":"get","key":"k","output":"v"}'
expect_in "$tmp/out" "Exit status"

run
expect_rc 3
expect_in "$tmp/err" "usage: lincheck"

run --frobnicate x.jsonl
expect_rc 3
expect_in "$tmp/err" "unknown option '--frobnicate'"

run --timeout soon x.jsonl
expect_rc 3
expect_in "$tmp/err" "--timeout needs a number of milliseconds"

run --timeout
expect_rc 3
expect_in "$tmp/err" "--timeout needs a value"

run no-such-file.jsonl
expect_rc 3
expect_in "$tmp/err" "cannot open no-such-file.jsonl"

# ---- verdicts ----

# Two overlapping appends, read back in the order the search tries second.
history ok.jsonl <<'EOF'
{"client":0,"call":0,"return":100,"op":"append","key":"k","value":"a"}
{"client":1,"call":0,"return":100,"op":"append","key":"k","value":"b"}

  { "op" : "get", "key" : "k", "output" : "ba", "client" : 2, "call" : 200, "return" : 210 }
{"client":0,"call":300,"return":310,"op":"put","key":"other","value":"x"}
{"client":1,"call":320,"return":330,"op":"get","key":"other","output":"x","value":"ignored"}
EOF
run ok.jsonl
expect_rc 0
expect_in "$tmp/out" "ok.jsonl: Ok: 5 operations on 2 keys are linearizable"

(cd "$tmp" && "$prog" - <ok.jsonl) >"$tmp/out" 2>"$tmp/err"
rc=$?
what="lincheck - <ok.jsonl"
expect_rc 0
expect_in "$tmp/out" "-: Ok"

# An empty history is what a recorder that died leaves: an error, unless
# --allow-empty says it is meant.
: >"$tmp/empty.jsonl"
run empty.jsonl
expect_rc 3
expect_in "$tmp/err" "lincheck: empty.jsonl: no operations: an empty history is most likely a recorder that stopped early (--allow-empty checks it as linearizable)"
printf '\n  \n' >"$tmp/blank.jsonl"
run blank.jsonl
expect_rc 3
expect_in "$tmp/err" "lincheck: blank.jsonl: no operations"
run --allow-empty empty.jsonl
expect_rc 0
expect_in "$tmp/out" "Ok: 0 operations"

# Bytes that are not UTF-8 are an error naming the line and column; UTF-8
# of every length passes.
malformed "$(printf '{"client":0,"call":0,"return":1,"op":"put","key":"k\377","value":"v"}')" \
	"column 52: invalid UTF-8 (byte 0xff): the history must be UTF-8 text"
malformed "$(printf '{"client":0,"call":0,"return":1,"op":"put","key":"\355\240\200","value":"v"}')" \
	"column 51: invalid UTF-8 (byte 0xed)" # a surrogate
malformed "$(printf '{"client":0,"call":0,"return":1,"op":"put","key":"\300\257","value":"v"}')" \
	"column 51: invalid UTF-8 (byte 0xc0)" # an overlong '/'
malformed "$(printf '{"client":0,"call":0,"return":1,"op":"put","key":"\303","value":"v"}')" \
	"column 51: invalid UTF-8 (byte 0xc3)" # cut short
printf '{"client":0,"call":0,"return":1,"op":"put","key":"\303\251\342\202\254\360\237\230\200","value":"v"}\n' >"$tmp/utf8.jsonl"
run utf8.jsonl
expect_rc 0
expect_in "$tmp/out" "utf8.jsonl: Ok: 1 operations on 1 keys"

# JSON escapes decode to the same bytes as the raw UTF-8 they stand for.
history escapes.jsonl <<'EOF'
{"client":0,"call":0,"return":1,"op":"put","key":"k\u00e9","value":"q\"b\\s\/\t\ud83d\ude00"}
{"client":0,"call":2,"return":3,"op":"get","key":"ké","output":"q\"b\\s/\u0009😀"}
EOF
run escapes.jsonl
expect_rc 0
expect_in "$tmp/out" "Ok: 2 operations on 1 keys"

# put 1 then put 2, then a read of 1: stale.
history illegal.jsonl <<'EOF'
{"client":0,"call":0,"return":10,"op":"put","key":"apple","value":"1"}
{"client":1,"call":20,"return":30,"op":"put","key":"apple","value":"2"}
{"client":2,"call":40,"return":50,"op":"get","key":"apple","output":"1"}
{"client":0,"call":60,"return":70,"op":"get","key":"banana","output":""}
EOF
run --html page.html illegal.jsonl
expect_rc 1
expect_in "$tmp/out" "illegal.jsonl: Illegal"
expect_in "$tmp/out" "key \"apple\": 2 of 3 operations linearize; line 3, get('apple') -> '1', cannot come next"
expect_in "$tmp/out" "page.html"
if [ -s "$tmp/page.html" ]; then ok; else bad "page.html was not written"; fi
expect_in "$tmp/page.html" '"apple"'
expect_in "$tmp/page.html" '"banana"'
expect_in "$tmp/page.html" "get('apple') -> '1'"

# Without --html the page goes to lincheck-<pid>.html, here.
run illegal.jsonl
expect_rc 1
page=$(sed -n 's/^wrote the history visualization to //p' "$tmp/out")
case $page in
lincheck-[0-9]*.html) ok ;;
*) bad "default page name '$page'" ;;
esac
if [ -n "$page" ] && [ -s "$tmp/$page" ]; then ok; else bad "no page $page"; fi

run --html "$tmp/no-such-dir/page.html" illegal.jsonl
expect_rc 1
expect_in "$tmp/err" "cannot write"

# Twelve overlapping appends and an impossible read: e * 12! search steps.
{
	for v in a b c d e f g h i j k l; do
		printf '{"client":0,"call":0,"return":100,"op":"append","key":"k","value":"%s"}\n' "$v"
	done
	printf '{"client":1,"call":200,"return":210,"op":"get","key":"k","output":"no such order"}\n'
} >"$tmp/hard.jsonl"
run --timeout 100 hard.jsonl
expect_rc 2
expect_in "$tmp/out" "hard.jsonl: Unknown: 1 of 1 keys have no verdict"
expect_in "$tmp/out" '  out of time: key "k" (the budget is 100 ms)'

# The memory limit stops the search, with no time limit, and the process
# stays under it.
what="lincheck --max-memory 64M hard.jsonl"
if [ -x /usr/bin/time ]; then
	(cd "$tmp" && /usr/bin/time -f '%M' -o "$tmp/peak" "$prog" --max-memory 64M hard.jsonl) >"$tmp/out" 2>"$tmp/err"
	rc=$?
else
	run --max-memory 64M hard.jsonl
	echo 0 >"$tmp/peak"
fi
expect_rc 2
expect_in "$tmp/out" '  out of memory: key "k" (the limit is 64 MiB, --max-memory)'
# (Not in sanitizer builds: AddressSanitizer keeps freed memory resident
# in its quarantine, so a stopped search's memory is not given back.)
peak=$(tail -n 1 "$tmp/peak")
if grep -qa -e __asan_init -e __tsan_init "$prog"; then ok
elif [ "$peak" -le 65536 ]; then ok; else bad "peak resident size $peak KiB over the 64 MiB limit"; fi

# Fairness: three such keys and an illegal one; whatever the names, the
# illegal key is found (before, keys were searched in name order, and one
# behind hard keys was never reached).
for bad_key in a m z; do
	for k in b c d; do sed "s/\"key\":\"k\"/\"key\":\"$k\"/" "$tmp/hard.jsonl"; done >"$tmp/mixed.jsonl"
	printf '{"client":5,"call":300,"return":310,"op":"put","key":"%s","value":"1"}\n' "$bad_key" >>"$tmp/mixed.jsonl"
	printf '{"client":5,"call":320,"return":330,"op":"get","key":"%s","output":"2"}\n' "$bad_key" >>"$tmp/mixed.jsonl"
	run --timeout 5000 --html page.html mixed.jsonl
	expect_rc 1
	expect_in "$tmp/out" "  key \"$bad_key\": 1 of 2 operations linearize; line 41, get('$bad_key') -> '2', cannot come next"
done

# A full report names every illegal key; by default the first one stops
# the check.
printf '%s\n' '{"client":0,"call":0,"return":1,"op":"put","key":"x","value":"1"}' \
	'{"client":0,"call":2,"return":3,"op":"get","key":"x","output":"2"}' \
	'{"client":0,"call":0,"return":1,"op":"put","key":"y","value":"1"}' \
	'{"client":0,"call":2,"return":3,"op":"get","key":"y","output":"2"}' >"$tmp/two.jsonl"
run --full-report --html page.html two.jsonl
expect_rc 1
expect_in "$tmp/out" '  key "x": 1 of 2 operations linearize'
expect_in "$tmp/out" '  key "y": 1 of 2 operations linearize'

for bad_size in 0 10 1T 5X -1M 2000G; do
	run --max-memory "$bad_size" x.jsonl
	expect_rc 3
	expect_in "$tmp/err" "--max-memory needs a size in bytes, or with a K, M or G suffix, of at least 1M, not '$bad_size'"
done
run --max-memory
expect_rc 3
expect_in "$tmp/err" "--max-memory needs a value"

# ---- malformed lines: exit 3, naming the line and the problem ----

malformed '{"client":0,"call":0,"return":1,"op":"get","key":"k","output":"v"' "expected '}', found the end of the line"
malformed '{"client":0 "call":0}' "column 13: expected '}', found '\"'"
malformed '[1, 2]' "column 1: expected '{', found '['"
malformed '{}' "empty object"
malformed '{"client":0,"call":0,"return":1,"op":"get","key":"k","output":"v","extra":1}' 'unknown field "extra"'
malformed '{"client":0,"client":1}' 'duplicate field "client"'
malformed '{"client":0,"call":0,"return":1,"op":"cas","key":"k","value":"v"}' 'op must be "get", "put" or "append"'
malformed '{"client":0,"call":0,"return":1,"op":"get","output":"v"}' 'missing field "key"'
malformed '{"client":0,"call":0,"return":1,"op":"put","key":"k"}' 'put needs a "value"'
malformed '{"client":0,"call":0,"return":1,"op":"append","key":"k"}' 'append needs a "value"'
malformed '{"client":0,"call":0,"return":1,"op":"get","key":"k"}' 'get needs an "output"'
malformed '{"client":0,"call":5,"return":4,"op":"get","key":"k","output":""}' "return (4) is before call (5)"
malformed '{"client":0,"call":1.5,"return":4,"op":"get","key":"k","output":""}' "call must be an integer"
malformed '{"client":0,"call":"1","return":4,"op":"get","key":"k","output":""}' "call must be an integer"
malformed '{"client":0,"call":01,"return":4,"op":"get","key":"k","output":""}' "leading zeros"
malformed '{"client":0,"call":0,"return":99999999999999999999,"op":"get","key":"k","output":""}' "return is out of range"
malformed '{"client":4294967296,"call":0,"return":1,"op":"get","key":"k","output":""}' "client is out of range"
malformed '{"client":0,"call":0,"return":1,"op":"get","key":"k\x","output":""}' "bad escape '\\x'"
malformed '{"client":0,"call":0,"return":1,"op":"get","key":"k\u12","output":""}' "\\u needs four hex digits"
malformed '{"client":0,"call":0,"return":1,"op":"get","key":"k\u0000","output":""}' "\\u0000 is not supported"
malformed '{"client":0,"call":0,"return":1,"op":"get","key":"k\ud800","output":""}' "without its low half"
malformed '{"client":0,"call":0,"return":1,"op":"get","key":"k\udc00","output":""}' "lone low surrogate"
malformed '{"client":0,"call":0,"return":1,"op":"get","key":"k	","output":""}' "control character in a string"
malformed '{"client":0,"call":0,"return":1,"op":"get","key":"k' "unterminated string"
malformed '{"client":0,"call":0,"return":1,"op":"get","key":"k\' "unterminated string"
malformed '{"client":0,"call":0,"return":1,"op":"get","key":"k","output":""} x' "unexpected text after the object"
printf '{"client":0,"call":0,"return":1,"op":"get","key":"k\000","output":""}\n' >"$tmp/nul.jsonl"
run nul.jsonl
expect_rc 3
expect_in "$tmp/err" "nul.jsonl:1: NUL byte in line"

# The extreme integers are valid.
printf '{"client":-0,"call":-9223372036854775808,"return":9223372036854775807,"op":"get","key":"k","output":""}\n' >"$tmp/extreme.jsonl"
run extreme.jsonl
expect_rc 0

# ---- Jepsen's EDN register histories (--format edn, or a .edn file) ----

# edn NAME: writes standard input to $tmp/NAME.edn.
edn() { cat >"$tmp/$1.edn"; }

# A history as Jepsen writes it: a comment, commas, keys the checker does
# not need, and a nemesis, which is not a client.
edn ok <<'EOF'
; writes, reads and a cas
{:process 0, :type :invoke, :f :write, :value 1, :time 10}
{:process 0, :type :ok, :f :write, :value 1, :time 20}
{:process 1, :type :invoke, :f :read, :value nil}
{:process :nemesis, :type :info, :f :start, :value "partition #{1 2}"}
{:process 1, :type :ok, :f :read, :value 1}
{:process 2, :type :invoke, :f :cas, :value [1 2]}
{:process 2, :type :ok, :f :cas, :value [1 2], :extra {:nested [1 (2 3)]}}
{:process 0, :type :invoke, :f :read, :value nil}
{:process 0, :type :ok, :f :read, :value 2, :index 7}
EOF
run ok.edn
expect_rc 0
expect_in "$tmp/out" "ok.edn: Ok: 4 operations on the register are linearizable"
run --format edn --model cas - <"$tmp/ok.edn"
expect_rc 0

# Knossos's classic: a read that sees an older value after a newer write
# completed (knossos.model's register, rewritten).
edn stale <<'EOF'
{:process 0, :type :invoke, :f :write, :value 1}
{:process 0, :type :ok, :f :write, :value 1}
{:process 0, :type :invoke, :f :write, :value 2}
{:process 0, :type :ok, :f :write, :value 2}
{:process 1, :type :invoke, :f :read, :value nil}
{:process 1, :type :ok, :f :read, :value 1}
EOF
run --model register --html page.html stale.edn
expect_rc 1
expect_in "$tmp/out" "  the register: 2 of 3 operations linearize; line 5, read() -> 1, cannot come next"
expect_in "$tmp/page.html" '"origin":"input line 5"'

# :info: nobody knows whether the write happened; reading nil, then 3, is
# legal (it happened in between); 3, then nil, is not.
edn info <<'EOF'
{:process 0, :type :invoke, :f :write, :value 3}
{:process 0, :type :info, :f :write, :value 3, :error :timeout}
{:process 1, :type :invoke, :f :read, :value nil}
{:process 1, :type :ok, :f :read, :value nil}
{:process 1, :type :invoke, :f :read, :value nil}
{:process 1, :type :ok, :f :read, :value 3}
EOF
run info.edn
expect_rc 0
sed -e '4s/nil}$/3}/' -e '6s/3}$/nil}/' "$tmp/info.edn" >"$tmp/info-bad.edn"
run info-bad.edn
expect_rc 1
expect_in "$tmp/out" "line 5, read() -> nil, cannot come next"
# An invocation with no completion at all is pending too.
head -n 1 "$tmp/info.edn" >"$tmp/pending.edn"
tail -n 2 "$tmp/info.edn" >>"$tmp/pending.edn"
run pending.edn
expect_rc 0

# :fail: the write did not happen, so no read may see it.
edn fail <<'EOF'
{:process 0, :type :invoke, :f :write, :value 3}
{:process 0, :type :fail, :f :write, :value 3}
{:process 1, :type :invoke, :f :read, :value nil}
{:process 1, :type :ok, :f :read, :value 3}
EOF
run fail.edn
expect_rc 1
expect_in "$tmp/out" "  the register: 0 of 1 operations linearize; line 3, read() -> 3, cannot come next"

# Two concurrent cas from 1 cannot both succeed; an unknown one may have.
edn cas <<'EOF'
{:process 0, :type :invoke, :f :write, :value 1}
{:process 0, :type :ok, :f :write, :value 1}
{:process 1, :type :invoke, :f :cas, :value [1 5]}
{:process 2, :type :invoke, :f :cas, :value [1 7]}
{:process 1, :type :ok, :f :cas, :value [1 5]}
{:process 2, :type :ok, :f :cas, :value [1 7]}
EOF
run cas.edn
expect_rc 1
expect_in "$tmp/out" "cas(1, 7) -> ok, cannot come next"
sed '6s/:type :ok/:type :info/' "$tmp/cas.edn" >"$tmp/cas-info.edn"
printf '%s\n' '{:process 3, :type :invoke, :f :read, :value nil}' \
	'{:process 3, :type :ok, :f :read, :value 5}' >>"$tmp/cas-info.edn"
run cas-info.edn
expect_rc 0
run --model register cas.edn
expect_rc 3
expect_in "$tmp/err" "lincheck: cas.edn: the history has :cas operations: check it with --model cas"

# Models and formats that do not go together, and unknown ones.
run --model kv ok.edn
expect_rc 3
expect_in "$tmp/err" "--model kv does not read edn histories"
run --model cas --format jsonl ok.edn
expect_rc 3
expect_in "$tmp/err" "--model cas does not read jsonl histories"
run --model bogus ok.edn
expect_rc 3
expect_in "$tmp/err" "--model must be kv, register or cas, not 'bogus'"
run --format yaml ok.edn
expect_rc 3
expect_in "$tmp/err" "--format must be jsonl or edn, not 'yaml'"

# edn_bad LINE MESSAGE: the line, after a good one, is refused with MESSAGE.
edn_bad() {
	printf '%s\n%s\n' '{:process 9, :type :invoke, :f :read, :value nil}' "$1" >"$tmp/bad.edn"
	run bad.edn
	expect_rc 3
	expect_in "$tmp/err" "bad.edn:2: "
	expect_in "$tmp/err" "$2"
}
edn_bad '{:process 0, :type :ok, :f :read, :value 1}' "process 0 completes an operation it did not invoke"
edn_bad '{:process 9, :type :invoke, :f :read, :value nil}' "process 9 invokes again before its last operation completed"
edn_bad '{:process 9, :type :ok, :f :write, :value 1}' "process 9 completes with another :f than it invoked"
edn_bad '{:process 9, :type :ok, :f :read}' "process 9 completes :read :ok without a :value (nil or an integer)"
edn_bad '{:process 1, :type :invoke, :f :write, :value "x"}' "process 1 invokes :write without an integer :value"
edn_bad '{:process 1, :type :invoke, :f :cas, :value [1]}' "process 1 invokes :cas without a :value [from to] of integers"
edn_bad '{:process 1, :type :begin, :f :read}' "column 20: unknown :type :begin (want :invoke, :ok, :fail or :info)"
edn_bad '{:process 1, :type :invoke, :f :add, :value 1}' "column 32: unknown :f :add (the register models know :read, :write and :cas)"
edn_bad '{:type :invoke, :f :read}' "missing :process"
edn_bad '{:process 1, :f :read}' "missing :type"
edn_bad '{:process 1, :type :invoke, :f :read' "expected '}', found the end of the line"
edn_bad '[:process 1]' "column 1: expected '{', found '['"
edn_bad '{:process 1, :type :invoke, :f :read, :value "no end}' "unterminated string"
edn_bad '{:process 1, :type :invoke, :f :read} x' "unexpected text after the map"
printf '%s\n' '{:process 0, :type :invoke, :f :write, :value 1}' \
	'{:process 0, :type :info, :f :write, :value 1}' \
	'{:process 0, :type :invoke, :f :read, :value nil}' >"$tmp/crashed.edn"
run crashed.edn
expect_rc 3
expect_in "$tmp/err" "crashed.edn:3: process 0 invokes after its :info (Jepsen gives a crashed process a new number)"

printf 'lincheck_cli_test: %d passed, %d failed\n' "$passed" "$failed"
[ "$failed" -eq 0 ]
