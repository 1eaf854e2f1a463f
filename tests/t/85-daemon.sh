# `pgvault daemon` (SPEC §3): two daemons run side by side for about three minutes.
#   D1 backs up pv85_main every minute: the first run at the next minute boundary writes a
#      bundle; the second run is made slow (a psql session holds ACCESS EXCLUSIVE on its
#      table across the following minute boundary): that boundary is skipped, never
#      overlapped (no two backup children at any time, polled every 0.2 s); SIGTERM during
#      the slow run lets it finish (the lock is released a little later), the daemon then
#      exits 0 and the bundle verifies.
#   D2 backs up pv85_flaky every minute: the first run fails (the database refuses
#      connections), is logged, and the next run succeeds; then SIGHUP with a broken
#      configuration is reported and ignored, and SIGHUP with a far-away schedule is
#      "reloaded" and no further run happens.
. "$TOP_SRCDIR/tests/lib/common.sh"
. "$TOP_SRCDIR/tests/lib/oracle.sh"

main=pv85_main; flaky=pv85_flaky
dropdb_q "$main"; dropdb_q "$flaky"
createdb_q "$main"; createdb_q "$flaky"
q -d "$main" -c "CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 5000) g"
q -d "$flaky" -c "CREATE TABLE f (id int); INSERT INTO f VALUES (1), (2)"

d1=""; d2=""; holder=""; poller=""
cleanup() {
	exec 7>&- 2>/dev/null || true
	touch "$T/poll.stop" 2>/dev/null || true
	local p; for p in "$d1" "$d2" "$holder" "$poller"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
	# jobs started by the daemons run in their own process groups
	pkill_children() { local pid; for pid in $(grep -l -- "$1" /proc/[0-9]*/cmdline 2>/dev/null | cut -d/ -f3); do kill "$pid" 2>/dev/null || true; done; }
	[ -n "${cfg1:-}" ] && pkill_children "$cfg1"
	[ -n "${cfg2:-}" ] && pkill_children "$cfg2"
	wait 2>/dev/null || true
	q -d postgres -c "ALTER DATABASE $flaky ALLOW_CONNECTIONS true" >/dev/null 2>&1 || true
	dropdb_q "$main" || true; dropdb_q "$flaky" || true
}
trap cleanup EXIT

failures=0
check() { # description, then a command; records a failure instead of stopping
	local what="$1"; shift
	if "$@"; then echo "ok: $what"; else echo "NOT OK: $what" >&2; failures=$((failures + 1)); fi
}
say() { echo "[$(date -u +%H:%M:%S)] $*"; }
wait_for() { # SECONDS DESCRIPTION COMMAND...: poll every 0.2 s; status 1 on timeout
	local limit=$(( $1 * 5 )) what="$2" i; shift 2
	for ((i = 0; i < limit; i++)); do "$@" && return 0; sleep 0.2; done
	echo "timed out ($(( limit / 5 )) s) waiting for: $what" >&2
	return 1
}
sleep_until() { local now; now=$(date +%s); [ "$1" -le "$now" ] || sleep $(( $1 - now )); }
alive() { kill -0 "$1" 2>/dev/null; }
count() { grep -c -- "$2" "$1" || true; }
nbundles() { find "$1" -name '*.pgv' 2>/dev/null | wc -l; }

st1="$T/st1"; st2="$T/st2"
cfg1="$(realpath "$T")/d1.conf"; cfg2="$(realpath "$T")/d2.conf"
printf '%s\n' '[connection]' 'retries = 0' '[storage]' "dir = $st1" '[backup]' "databases = $main" \
	'[schedule]' 'backup = * * * * *' >"$cfg1"
d2conf() { printf '%s\n' '[connection]' 'retries = 0' '[storage]' "dir = $st2" '[backup]' "databases = $flaky" \
	'[schedule]' "$@" >"$cfg2.new"; chmod 600 "$cfg2.new"; mv "$cfg2.new" "$cfg2"; }
chmod 600 "$cfg1"; d2conf 'backup = * * * * *'
log1="$T/d1.log"; log2="$T/d2.log"

# The first run of D2 must fail: its database refuses connections (superusers included).
q -d postgres -c "ALTER DATABASE $flaky ALLOW_CONNECTIONS false"
if psql -X -q -d "$flaky" -c "SELECT 1" >/dev/null 2>&1; then fail "ALLOW_CONNECTIONS false does not stop a superuser"; fi

# Poll for backup jobs of D1: at no time more than one.  A job is a process with the job's
# command line whose parent is D1 itself: other processes with that command line are helpers
# a job forked without exec (under AddressSanitizer, LeakSanitizer's tracer at exit), listed
# apart as "helpers".
cat >"$T/poll.py" <<'PY'
import json, os, sys, time
cfg, daemon, out, stop = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
maxn, pids, helpers, samples, over = 0, set(), set(), 0, []
def ppid(p):
    try:
        for line in open("/proc/%s/status" % p):
            if line.startswith("PPid:"):
                return int(line.split()[1])
    except OSError:
        pass
    return None  # gone
while not os.path.exists(stop):
    n, now = [], time.time()
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            argv = [a.decode("utf-8", "replace") for a in open("/proc/%s/cmdline" % p, "rb").read().split(b"\0") if a]
        except OSError:
            continue
        if cfg in argv and argv[-1] == "backup":
            parent = ppid(p)
            if parent == daemon:
                n.append(int(p))
            elif parent is not None:
                helpers.add(int(p))
    samples += 1
    pids.update(n)
    if len(n) > maxn:
        maxn = len(n)
    if len(n) > 1:
        over.append([now, n])
    time.sleep(0.2)
json.dump({"max": maxn, "pids": sorted(pids), "helpers": sorted(helpers), "samples": samples,
           "overlaps": over[:20]}, open(out, "w"))
PY

start=$(date +%s)
"$PGVAULT" --config "$cfg1" daemon >"$log1" 2>&1 &
d1=$!
python3 "$T/poll.py" "$cfg1" "$d1" "$T/poll.json" "$T/poll.stop" &
poller=$!
"$PGVAULT" --config "$cfg2" daemon >"$log2" 2>&1 &
d2=$!
started() { grep -q "daemon started" "$1" && grep -q "next backup at" "$1"; }
wait_for 10 "D1 to start" started "$log1" || { cat "$log1" >&2; fail "D1 did not start"; }
wait_for 10 "D2 to start" started "$log2" || { cat "$log2" >&2; fail "D2 did not start"; }
# the first fire time D1 announces: the next minute boundary after it started
iso_m0=$(sed -n 's/.*next backup at \([0-9TZ:-]*\).*/\1/p' "$log1" | head -1)
m0=$(date -u -d "$iso_m0" +%s) || fail "D1 announced no next backup time"
m1=$((m0 + 60)); m2=$((m0 + 120))
say "daemons started: D1 pid $d1, D2 pid $d2; minute boundaries at $(date -u -d @$m0 +%H:%M:%S), +60 s, +120 s"
next_boundary() { [ $((m0 % 60)) = 0 ] && [ "$m0" -gt "$start" ] && [ "$m0" -le $((start + 61)) ]; }
check "D1 announces the next backup at the next minute boundary ($iso_m0)" next_boundary
check "D2 announces the same time" grep -q "next backup at $iso_m0" "$log2"

# --- minute 0: D1 succeeds, D2 fails ------------------------------------------------------------
say "waiting for the first runs (up to 75 s)"
has_bundle() { [ "$(nbundles "$1")" -ge "$2" ]; }
check "D1 writes a bundle at the first minute boundary" wait_for 75 "D1's first bundle" has_bundle "$st1" 1
d2_failed() { grep -q "backup failed with exit status" "$log2"; }
check "D2's failing run is logged as failed" wait_for 20 "D2's failure in its log" d2_failed
first_run_time() {
	local t; t=$(grep -m1 "running backup" "$log1" | cut -d' ' -f1)
	local e; e=$(date -u -d "$t" +%s) || return 1
	[ "$e" -ge "$m0" ] && [ "$e" -le $((m0 + 3)) ] || { cat "$log1" >&2; echo "the first run started at $t, not at $iso_m0" >&2; return 1; }
}
check "D1's first run started at the minute boundary" first_run_time
say "D1: $(nbundles "$st1") bundle(s); D2: $(grep -m1 'failed with' "$log2" | cut -d' ' -f2-)"
check "D2 survives its failed job" alive "$d2"

# Re-enable D2's database; block D1's table across the next boundary.
q -d postgres -c "ALTER DATABASE $flaky ALLOW_CONNECTIONS true"
rm -f "$T/fifo"; mkfifo "$T/fifo"
psql -X -q -v ON_ERROR_STOP=1 -d "$main" <"$T/fifo" >"$T/holder.log" 2>&1 &
holder=$!
exec 7>"$T/fifo"
echo "BEGIN; LOCK TABLE t IN ACCESS EXCLUSIVE MODE;" >&7
table_locked() {
	[ "$(q -d "$main" -c "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
	     WHERE c.relname = 't' AND l.mode = 'AccessExclusiveLock' AND l.granted")" = 1 ]
}
wait_for 10 "the table lock" table_locked || fail "could not lock the table"
say "holding ACCESS EXCLUSIVE on $main.t"

# --- minute 1: D1's run blocks; D2's run succeeds -----------------------------------------------
sleep_until "$m1"
blocked() {
	[ "$(q -d postgres -c "SELECT count(*) FROM pg_stat_activity WHERE datname = '$main'
	     AND application_name = 'pgvault' AND wait_event_type = 'Lock'")" -ge 1 ]
}
check "D1's second run is blocked on the table" wait_for 20 "D1's backup to block" blocked
check "D2's next run succeeds after the failed one" wait_for 30 "D2's bundle" has_bundle "$st2" 1
d2_finished() { grep -q "backup finished" "$log2"; }
wait_for 10 "D2's success in its log" d2_finished || true
say "D1 blocked; D2 wrote $(nbundles "$st2") bundle(s)"

# --- SIGHUP on D2 -------------------------------------------------------------------------------
d2conf 'backup = * * * * *' '[retention]' 'keep_days = lots'
kill -HUP "$d2"
reload_failed() { grep -q "reload failed" "$log2"; }
check "SIGHUP with a broken configuration is reported" wait_for 10 "reload failed" reload_failed
check "... and D2 keeps running" alive "$d2"
check "... naming the problem" grep -q "keep_days" "$log2"
d2conf 'backup = 0 0 1 1 *'
kill -HUP "$d2"
reloaded() { grep -q "configuration reloaded" "$log2"; }
check "SIGHUP with a valid configuration: \"configuration reloaded\"" wait_for 10 "reloaded" reloaded
d2_runs=$(count "$log2" "running backup")
say "D2 reloaded after $d2_runs runs"

# --- minute 2: D1's blocked job spans the boundary: no second job -----------------------------
sleep_until $((m2 + 5))
d1_runs=$(count "$log1" "running backup")
check "D1 did not start a job at the boundary its slow job spans (2 runs logged)" test "$d1_runs" = 2
check "D2 did not run after reloading a far-away schedule" test "$(count "$log2" "running backup")" = "$d2_runs"
check "D1's slow job is still running" blocked

# --- SIGTERM during the slow job ----------------------------------------------------------------
kill -TERM "$d1"
say "SIGTERM sent to D1"
sleep 2
check "D1 waits for its running job after SIGTERM" alive "$d1"
check "... and the job was not interrupted" blocked
echo "COMMIT;" >&7; exec 7>&-
wait "$holder" || true; holder=""
say "table lock released"
exited() { ! alive "$d1"; }
if wait_for 60 "D1 to exit" exited; then
	set +e; wait "$d1"; rc1=$?; set -e
else
	rc1=timeout
fi
d1=""
say "D1 exited: $rc1"
check "D1 exits 0 after the job finished" test "$rc1" = 0
check "D1 logged the slow job as finished" test "$(count "$log1" "backup finished")" = 2
check "D1 logged that it stops" grep -q "daemon stopping" "$log1"
finished_before_stop() { # the job finished, then the daemon stopped
	local f s
	f=$(grep -n "backup finished" "$log1" | tail -1 | cut -d: -f1)
	s=$(grep -n "daemon stopping" "$log1" | tail -1 | cut -d: -f1)
	[ -n "$f" ] && [ -n "$s" ] && [ "$f" -lt "$s" ]
}
check "... after the job finished" finished_before_stop
check "D1 wrote two bundles" test "$(nbundles "$st1")" = 2
verify_d1() {
	pv --storage "$st1" verify --all
	[ "$rc" = 0 ] || { cat "$T/out" "$T/err" >&2; return 1; }
	[ -z "$(find "$st1" -name '*.tmp*')" ] || { find "$st1" >&2; echo "temporary files remain" >&2; return 1; }
}
check "the slow job's bundle is complete (verify --all)" verify_d1

touch "$T/poll.stop"; wait "$poller" || true; poller=""
say "poller: $(cat "$T/poll.json")"
poll() { python3 -c 'import json, sys; print(eval(sys.argv[2], {"j": json.load(open(sys.argv[1]))}))' "$T/poll.json" "$1"; }
check "never two backup jobs of D1 at once" test "$(poll 'j["max"]')" = 1
# (the quick first job may fall between two polls; the slow one cannot)
check "the poller saw D1's slow job" test "$(poll 'len(j["pids"]) >= 1')" = True

kill -TERM "$d2"
if wait_for 10 "D2 to exit" eval '! alive "$d2"'; then set +e; wait "$d2"; rc2=$?; set -e; else rc2=timeout; fi
d2=""
check "an idle daemon exits 0 on SIGTERM at once" test "$rc2" = 0
check "D2 wrote exactly one bundle" test "$(nbundles "$st2")" = 1

if [ "$failures" != 0 ]; then
	echo "--- D1 log"; cat "$log1"; echo "--- D2 log"; cat "$log2"
	fail "$failures check(s) failed"
fi
