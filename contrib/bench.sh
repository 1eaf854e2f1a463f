#!/usr/bin/env bash
# contrib/bench.sh — pgvault against pg_dump/pg_restore on the same data, in one run, on a
# throwaway PostgreSQL of its own.  Reports wall time, peak RSS and output size of each, and
# the ratios pgvault / pg_dump.  Not part of the test suite (timings are not tests).
#   bash contrib/bench.sh [ROWS]        (default 4,000,000 rows in a few tables, ~1 GB of data)
#   BASELINE=/path/to/other/pgvault REPS=5 bash contrib/bench.sh [ROWS]   also compares two builds
# Needs a built tree (_build/pgvault, e.g. from contrib/check.sh or contrib/demo.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS="${1:-4000000}"
PGVAULT="${PGVAULT:-$PWD/_build/pgvault}"
[ -x "$PGVAULT" ] || { echo "build pgvault first (bash contrib/demo.sh builds _build/)" >&2; exit 2; }
. tests/lib/pg.sh
W="$(mktemp -d /tmp/pgvault-bench.XXXXXX)"; chmod 755 "$W"
trap 'pg_stop "$W/pg"; rm -rf "$W"' EXIT
pg_start "$W/pg" >/dev/null
BIN="$PGBIN"
q() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }
q -d postgres -c "CREATE DATABASE bench"
q -d bench <<SQL
CREATE TABLE users (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text, settings jsonb);
INSERT INTO users (name, settings) SELECT 'user ' || g, jsonb_build_object('lang', 'en', 'n', g)
  FROM generate_series(1, $ROWS / 20) g;
CREATE TABLE messages (id bigserial PRIMARY KEY, user_id bigint REFERENCES users, body text,
  sent_at timestamptz NOT NULL);
INSERT INTO messages (user_id, body, sent_at) SELECT 1 + g % ($ROWS / 20), md5(g::text) || ' ' || repeat('x', g % 50),
  '2026-01-01'::timestamptz + g * interval '1 second' FROM generate_series(1, $ROWS) g;
CREATE INDEX ON messages (user_id, sent_at);
CREATE TABLE events AS SELECT g AS id, (g % 7)::int AS kind, md5((g * 3)::text) AS payload FROM generate_series(1, $ROWS / 2) g;
ALTER TABLE events ADD PRIMARY KEY (id);
VACUUM ANALYZE;
SQL
size=$(q -At -d bench -c "SELECT pg_size_pretty(pg_database_size('bench'))")
echo "database: $size ($ROWS messages, $((ROWS / 2)) events, $((ROWS / 20)) users), PostgreSQL $(q -At -d postgres -c 'SHOW server_version')"

declare -A T M S
run() { # name command... : wall seconds and peak RSS (kB)
	local name="$1"; shift
	local t0 t1
	t0=$(date +%s.%N)
	/usr/bin/time -f "%M" -o "$W/rss" "$@" >/dev/null 2>"$W/$name.err" || { cat "$W/$name.err" >&2; exit 1; }
	t1=$(date +%s.%N)
	T[$name]=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
	M[$name]=$(tail -1 "$W/rss")
}
run pgvault_backup "$PGVAULT" backup --storage "$W/st" --db bench
S[pgvault_backup]=$(du -b "$W"/st/bench/*.pgv | cut -f1)
run pg_dump "$BIN/pg_dump" -Fc -f "$W/bench.dump" bench
S[pg_dump]=$(stat -c %s "$W/bench.dump")
run pgvault_restore "$PGVAULT" restore --storage "$W/st" bench@latest --as bench_v
run pgvault_restore_j2 "$PGVAULT" restore --storage "$W/st" bench@latest --as bench_vj --jobs 2
q -d postgres -c "CREATE DATABASE bench_p TEMPLATE template0" -c "CREATE DATABASE bench_pj TEMPLATE template0"
run pg_restore "$BIN/pg_restore" -d bench_p "$W/bench.dump"
run pg_restore_j2 "$BIN/pg_restore" -j 2 -d bench_pj "$W/bench.dump"

printf '\n%-22s %9s %10s %12s\n' "" "seconds" "peak RSS" "output"
for n in pgvault_backup pg_dump pgvault_restore pg_restore pgvault_restore_j2 pg_restore_j2; do
	printf '%-22s %9.2f %8d kB %12s\n' "$n" "${T[$n]}" "${M[$n]}" "${S[$n]:-}"
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
echo
echo "backup  time ratio pgvault/pg_dump -Fc:      $(ratio "${T[pgvault_backup]}" "${T[pg_dump]}")  (pgvault includes verifying the bundle)"
echo "backup  size ratio pgvault/pg_dump -Fc:      $(ratio "${S[pgvault_backup]}" "${S[pg_dump]}")"
echo "restore time ratio pgvault/pg_restore:       $(ratio "${T[pgvault_restore]}" "${T[pg_restore]}")"
echo "restore time ratio (2 jobs each):            $(ratio "${T[pgvault_restore_j2]}" "${T[pg_restore_j2]}")"

# BASELINE=PATH: another pgvault build (e.g. of the previous release or of main before a
# change) on the same data, interleaved with this one REPS times (default 3): medians of
# backup and restore, and the ratio this build / baseline (above 1: slower).
if [ -n "${BASELINE:-}" ]; then
	[ -x "$BASELINE" ] || { echo "BASELINE=$BASELINE is not an executable" >&2; exit 2; }
	REPS="${REPS:-3}"
	median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
	: >"$W/cmp"
	for i in $(seq "$REPS"); do
		for which in this baseline; do
			bin="$PGVAULT"; [ "$which" = baseline ] && bin="$BASELINE"
			rm -rf "$W/st_$which"
			run b "$bin" backup --storage "$W/st_$which" --db bench
			echo "$which backup ${T[b]}" >>"$W/cmp"
			q -d postgres -c "DROP DATABASE IF EXISTS bench_cmp"
			run r "$bin" restore --storage "$W/st_$which" bench@latest --as bench_cmp
			echo "$which restore ${T[r]}" >>"$W/cmp"
		done
	done
	echo
	echo "this build against BASELINE ($REPS interleaved runs each, medians):"
	for op in backup restore; do
		a=$(awk -v o="$op" '$1 == "this" && $2 == o { print $3 }' "$W/cmp" | median)
		b=$(awk -v o="$op" '$1 == "baseline" && $2 == o { print $3 }' "$W/cmp" | median)
		printf '%-8s this %7.2f s   baseline %7.2f s   ratio %s\n' "$op" "$a" "$b" "$(ratio "$a" "$b")"
	done
fi
