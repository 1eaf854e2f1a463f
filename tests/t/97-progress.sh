#!/usr/bin/env bash
# tests/t/97-progress.sh — progress on a terminal and off it (issue 19).  A backup of a
# database of more than 300 MB runs in tmux (a real terminal) while the test reads the
# screen: the status line changes while it runs (more bytes, a higher percentage) and is
# gone at the end, where the ordinary last lines and the exit status are.  The same backup
# with standard error in a file has plain timestamped lines only (PGVAULT_PROGRESS_INTERVAL=0.2:
# progress lines among them, no carriage return, no escape sequence).  With --quiet a
# successful backup prints nothing at all, on either output.
. "$TOP_SRCDIR/tests/lib/common.sh"
DB=pvt97_progress
command -v tmux >/dev/null || fail "tmux is not installed (contrib/install-deps.sh --tests installs it)"
SOCK="pvt97-$$"
cleanup() { tmux -L "$SOCK" kill-server >/dev/null 2>&1 || true; dropdb_q "$DB" >/dev/null 2>&1 || true; }
trap cleanup EXIT
dropdb_q "$DB"
createdb_q "$DB"
q -d "$DB" -c "CREATE TABLE big AS SELECT i AS id, repeat(md5(i::text), 6) AS pad FROM generate_series(1, 1600000) i"
size=$(q -d "$DB" -c "SELECT pg_database_size(current_database())")
[ "$size" -gt $((300 * 1024 * 1024)) ] || fail "the database is only $size bytes"
echo > "$T/empty.conf"

# 1. on a terminal
tmux -L "$SOCK" -f /dev/null new-session -d -s pv -x 160 -y 24 \
	"env PGHOST='$PGHOST' PGPORT='$PGPORT' PGUSER='$PGUSER' TERM=xterm '$PGVAULT' --config '$T/empty.conf' backup --storage '$T/st' --db $DB --compress-level 6; echo EXIT=\$? >'$T/exit'; sleep 60"
seen="$T/screens"; : >"$seen"
for _ in $(seq 1 600); do
	tmux -L "$SOCK" capture-pane -p -t pv >>"$seen" 2>/dev/null || true
	echo "=====" >>"$seen"
	[ -s "$T/exit" ] && break
	sleep 0.1
done
[ -s "$T/exit" ] || fail "the backup in tmux did not finish in a minute"
tmux -L "$SOCK" capture-pane -p -t pv >"$T/final"
[ "$(cat "$T/exit")" = EXIT=0 ] || { cat "$T/final" >&2; fail "the backup in tmux: $(cat "$T/exit")"; }
# the distinct status lines seen, with their percentages
grep -o 'backing up "'"$DB"'".* read ([0-9]*%)' "$seen" | sort -u >"$T/states"
n=$(grep -c . "$T/states" || true)
[ "$n" -ge 3 ] || { cat "$T/states" >&2; fail "the status line took $n states, expected at least 3"; }
python3 - "$T/states" <<'PY' || fail "the status line does not move forward: $(cat "$T/states")"
import re, sys
p = sorted({int(re.search(r"\((\d+)%\)", l).group(1)) for l in open(sys.argv[1])})
assert len(p) >= 3 and p[0] < p[-1], p
PY
grep -q "public.*big" "$T/states" || fail "the status line does not name the table"
# at the end: the status line is gone, the last lines are the ordinary ones
grep -q ' read (' "$T/final" && { cat "$T/final" >&2; fail "a status line is left on the screen at the end"; }
grep -q "pgvault: database \"$DB\": bundle ${DB}_" "$T/final" || { cat "$T/final" >&2; fail "the final message is not on the screen"; }
range=$(grep -o '([0-9]*%)' "$T/states" | tr -d '()%' | sort -n | sed -n '1p;$p' | paste -sd- -)
echo "figure: a $((size / 1048576)) MiB backup in tmux: the status line took $n states ($range%), none left at the end"

# 2. standard error in a file: timestamped lines only
rm -rf "$T/st2"
PGVAULT_PROGRESS_INTERVAL=0.2 pv --config "$T/empty.conf" backup --storage "$T/st2" --db "$DB"; expect_rc 0 "backup with stderr in a file"
grep -q ' read (' "$T/err" || { cat "$T/err" >&2; fail "no progress line when standard error is a file"; }
bad=$(grep -cvE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z pgvault: ' "$T/err" || true)
[ "$bad" = 0 ] || { cat -A "$T/err" >&2; fail "$bad line(s) of standard error are not plain timestamped lines"; }
! grep -q $'[\r\033]' "$T/err" || fail "a carriage return or escape sequence in the file"
echo "figure: stderr in a file: $(grep -c ' read (' "$T/err") progress line(s), all $(grep -c . "$T/err") lines timestamped"

# 3. --quiet: nothing at all on success
rm -rf "$T/st3"
pv --config "$T/empty.conf" --quiet backup --storage "$T/st3" --db "$DB"; expect_rc 0 "backup --quiet"
[ ! -s "$T/out" ] && [ ! -s "$T/err" ] || { cat "$T/out" "$T/err" >&2; fail "--quiet printed something on success"; }
[ -n "$(find "$T/st3" -name '*.pgv')" ] || fail "backup --quiet made no bundle"
