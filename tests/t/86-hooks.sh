#!/usr/bin/env bash
# tests/t/86-hooks.sh — [hooks]: pre_backup runs before each database's backup with
# PGVAULT_DATABASE and PGVAULT_STORAGE, and its failure fails that database only (nothing
# read, no bundle); post_backup gets the new bundle's id, path and size (the path is the
# bundle); on_failure runs once after a run that did not fully succeed, with the exit code
# and the failed databases; a hook that hangs is killed after [hooks] timeout and fails its
# database; a name with a space and a quote reaches the hook intact (the environment, not
# the command line).
. "$TOP_SRCDIR/tests/lib/common.sh"
A=pvt86_a; B="pvt86 b'q"
cleanup() { dropdb_q "$A" >/dev/null 2>&1 || true; dropdb_q "$B" >/dev/null 2>&1 || true; }
trap cleanup EXIT
cleanup
createdb_q "$A"; createdb_q "$B"
q -d "$A" -c "CREATE TABLE t AS SELECT 1 AS x"
LOG="$T/hooks.log"
cat >"$T/hook.sh" <<'SH'
#!/bin/sh
# log the hook's view; refuse "pvt86 b'q" before its backup when asked to
printf '%s|%s|%s|%s|%s|%s|%s\n' "$PGVAULT_HOOK" "$PGVAULT_DATABASE" "$PGVAULT_BUNDLE_ID" \
	"$PGVAULT_BUNDLE_PATH" "$PGVAULT_BUNDLE_SIZE" "$PGVAULT_EXIT_CODE" "$(printf '%s' "$PGVAULT_FAILED_DATABASES" | tr '\n' ',')" >>"$HOOKLOG"
[ "$PGVAULT_HOOK" = pre_backup ] && [ "$PGVAULT_DATABASE" = "$REFUSE" ] && exit 7
[ "$PGVAULT_HOOK" = pre_backup ] && [ -n "$HANG" ] && [ "$PGVAULT_DATABASE" = "$HANG" ] && sleep 30
exit 0
SH
chmod +x "$T/hook.sh"
cat >"$T/c.conf" <<CONF
[storage]
dir = $T/st
[backup]
databases = $A
[hooks]
pre_backup = $T/hook.sh
post_backup = $T/hook.sh
on_failure = $T/hook.sh
timeout = 3s
CONF
export HOOKLOG="$LOG"
# all well: pre and post for each, no on_failure
: >"$LOG"
pv --config "$T/c.conf" backup --db "$A" --db "$B"; expect_rc 0 "backup with hooks"
IDB=$(sed -n 2p "$T/out")
grep -qx "pre_backup|$A|||||" "$LOG" || { cat "$LOG" >&2; fail "pre_backup of $A not run as expected"; }
grep -q "^post_backup|$B|$IDB|$T/st/.*/$IDB.pgv|[0-9]*||" "$LOG" || { cat "$LOG" >&2; fail "post_backup of '$B' lacks its bundle"; }
path=$(grep "^post_backup|$B|" "$LOG" | cut -d'|' -f4); size=$(grep "^post_backup|$B|" "$LOG" | cut -d'|' -f5)
[ -f "$path" ] && [ "$(stat -c %s "$path")" = "$size" ] || fail "PGVAULT_BUNDLE_PATH/SIZE do not name the bundle: $path $size"
grep -q "^on_failure" "$LOG" && fail "on_failure ran after a run that succeeded"
# pre_backup refuses one database: it fails (no bundle), the other is backed up, on_failure once
: >"$LOG"
before=$(find "$T/st" -name '*.pgv' | wc -l)
REFUSE="$B" pv --config "$T/c.conf" backup --db "$A" --db "$B"; expect_rc 3 "a pre_backup hook refusing one database"
expect_err "[hooks] pre_backup exited with status 7"
[ "$(find "$T/st" -name '*.pgv' | wc -l)" = $((before + 1)) ] || fail "the refused database got a bundle, or the other none"
[ "$(grep -c "^on_failure|" "$LOG")" = 1 ] || { cat "$LOG" >&2; fail "on_failure did not run exactly once"; }
grep -qx "on_failure|||||3|$B" "$LOG" || { cat "$LOG" >&2; fail "on_failure lacks the exit code or the failed database"; }
# a hook that hangs is killed after the timeout and fails its database
: >"$LOG"
t0=$(date +%s)
HANG="$A" pv --config "$T/c.conf" backup --db "$A"; expect_rc 1 "a hanging pre_backup"
[ $(($(date +%s) - t0)) -lt 20 ] || fail "the hanging hook was not killed after its timeout"
expect_err "did not finish in 3 s"
echo "figure: hooks: pre/post with the bundle's id, path and size; a refusing pre_backup fails its database only; on_failure once with exit 3; a hanging hook killed after 3 s"
