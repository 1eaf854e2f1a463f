#!/usr/bin/env bash
# tests/fuzz/run.sh TARGET... — run each libFuzzer target of a build configured with
# --enable-fuzz (from that build directory) for FUZZ_SECONDS (default 60), starting from
# its seed corpus tests/fuzz/corpus/TARGET plus what earlier runs found (kept in
# fuzz-corpus/TARGET).  Prints one "figure:" line per target (executions, coverage,
# corpus, peak memory) and ends with "N passed, N failed"; a crash, leak, timeout or
# out-of-memory leaves its input in fuzz-crash/ and counts as failed.
#   FUZZ_SECONDS=600 bash tests/fuzz/run.sh bundle manifest   # the 10-minute runs
#   FUZZ_JOBS=2  runs two targets at a time
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
secs="${FUZZ_SECONDS:-60}" jobs="${FUZZ_JOBS:-1}"
mkdir -p fuzz-corpus fuzz-crash fuzz-logs

one() {
	local t="$1" bin="tests/fuzz/fuzz_$1" log="fuzz-logs/$1.log" st
	if [ ! -x "$bin" ]; then
		echo "FAIL: fuzz $t: $bin is not built (configure --enable-fuzz CC=clang)" >"$log.result"
		return
	fi
	mkdir -p "fuzz-corpus/$t"
	# -timeout: one input taking 10 s is a hang; -rss_limit_mb: memory must stay bounded
	"$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="fuzz-crash/$t-" "fuzz-corpus/$t" "$here/corpus/$t" >"$log" 2>&1
	st=$?
	local runs cov ft corp rss
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log" | tail -1)
	cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | cut -d' ' -f2)
	ft=$(grep -oE 'ft: [0-9]+' "$log" | tail -1 | cut -d' ' -f2)
	corp=$(grep -oE 'corp: [0-9]+' "$log" | tail -1 | cut -d' ' -f2)
	if [ "$st" = 0 ]; then
		echo "figure: fuzz $t: ${runs:-?} inputs in ${secs} s, 0 crashes; coverage ${cov:-?} edges, ${ft:-?} features, corpus ${corp:-?}, peak RSS ${rss:-?} MB" >"$log.result"
	else
		echo "FAIL: fuzz $t: exit $st after ${runs:-?} inputs; input kept in fuzz-crash/, log $PWD/$log:" >"$log.result"
		grep -E 'ERROR|SUMMARY|Test unit written' "$log" | head -5 >>"$log.result"
	fi
}

running=0
for t in "$@"; do
	one "$t" &
	running=$((running + 1))
	if [ "$running" -ge "$jobs" ]; then wait -n; running=$((running - 1)); fi
done
wait
pass=0 fail=0
for t in "$@"; do
	cat "fuzz-logs/$t.log.result"
	if grep -q '^figure:' "fuzz-logs/$t.log.result"; then pass=$((pass + 1)); else fail=$((fail + 1)); fi
done
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
