#!/usr/bin/env bash
# bench/run.sh — the benchmark of pgvault against pg_dump / pg_restore, on a throwaway
# PostgreSQL of its own (tests/lib/pg.sh).  See bench/README.md.
#
#   bash bench/run.sh [WORKLOAD ...]      workloads: bot fleet many bench big (default: all)
#
# Knobs (environment): REPS=3 JOBS=2 FLEET=50 MANY=5000 BENCH_SCALE=30 MESSAGES=2000000
# BIG_ROWS=3800000 MEM4X=0 BENCH_FSYNC=on BENCH_KEEP=0 PROFILE=1 BENCH_RESULTS=bench/RESULTS.md
# PG_SETTINGS="name=value ..." PV_PORT_BASE=5690 PGVAULT=<binary> PGBIN=/usr/lib/postgresql/15/bin
#
# A workload whose command fails stops there (the error and the command's last lines are
# printed and kept in the results); the other workloads still run, and the exit status is 1.
#
# Each measurement runs REPS times, pgvault and its peers interleaved within each
# repetition (the order rotates from one repetition to the next); medians are reported.
# Wall time comes from the clock around the command, peak RSS and user/system CPU from
# /usr/bin/time.  Before every measured command the server runs a CHECKPOINT and the
# kernel writes out what earlier runs left dirty (sync).
set -Eeuo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$HERE")"
T_START=$(date +%s)

REPS="${REPS:-3}"
JOBS="${JOBS:-2}"
FLEET="${FLEET:-50}"
MANY="${MANY:-5000}"
BENCH_SCALE="${BENCH_SCALE:-30}"
MESSAGES="${MESSAGES:-2000000}"
BIG_ROWS="${BIG_ROWS:-3800000}"
MEM4X="${MEM4X:-0}"
BENCH_FSYNC="${BENCH_FSYNC:-on}"
BENCH_KEEP="${BENCH_KEEP:-0}"
PROFILE="${PROFILE:-1}"           # 1: profile the unmet targets after the measurements
BENCH_RESULTS="${BENCH_RESULTS:-$HERE/RESULTS.md}"
PG_SETTINGS="${PG_SETTINGS:-}"   # extra server settings, "name=value ...", e.g. max_locks_per_transaction=128
export PV_PORT_BASE="${PV_PORT_BASE:-5690}"
if [ -z "${PGVAULT:-}" ] && [ -x "$ROOT/_build/pgvault" ]; then PGVAULT="$ROOT/_build/pgvault"; fi
PGVAULT="${PGVAULT:-}"
# The real binaries of the server's version, never /usr/bin's wrappers.
if [ -z "${PGBIN:-}" ] && [ -d /usr/lib/postgresql/15/bin ]; then PGBIN=/usr/lib/postgresql/15/bin; fi

ALL_WORKLOADS="bot fleet many bench big"

die() { echo "bench: error: $*" >&2; exit 1; }
log() { echo "bench: $*" >&2; }
on_err() { echo "bench: error: command failed (exit $1) at line $2: $3" >&2; }
trap 'on_err $? $LINENO "$BASH_COMMAND"' ERR

# ---- arguments, knobs, prerequisites -------------------------------------------------------

# shellcheck disable=SC2086
if [ $# -eq 0 ]; then set -- $ALL_WORKLOADS; fi
WL=""
for a in "$@"; do
	case "$a" in
	bot | fleet | many | bench | big) case " $WL " in *" $a "*) ;; *) WL="$WL $a" ;; esac ;;
	-h | --help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown workload \"$a\" (workloads: $ALL_WORKLOADS)" ;;
	esac
done
WL="${WL# }"
want() { case " $WL " in *" $1 "*) return 0 ;; esac; return 1; }

for k in REPS JOBS FLEET MANY BENCH_SCALE MESSAGES BIG_ROWS; do
	v="${!k}"
	[[ "$v" =~ ^[1-9][0-9]*$ ]] || die "$k=$v: a positive integer is needed"
done
[ "$JOBS" -ge 2 ] || die "JOBS=$JOBS: 2 or more (the --jobs 1 runs are measured besides)"
case "$BENCH_FSYNC" in on | off) ;; *) die "BENCH_FSYNC=$BENCH_FSYNC: on or off" ;; esac
case "$MEM4X" in 0 | 1) ;; *) die "MEM4X=$MEM4X: 0 or 1" ;; esac
case "$PROFILE" in 0 | 1) ;; *) die "PROFILE=$PROFILE: 0 or 1" ;; esac
for kv in $PG_SETTINGS; do
	[[ "$kv" =~ ^[a-z_.]+=[A-Za-z0-9_.-]+$ ]] || die "PG_SETTINGS: \"$kv\" is not name=value"
done

[ -n "$PGVAULT" ] || die "no pgvault binary: build one into $ROOT/_build (contrib/demo.sh does) or set PGVAULT=/path/to/pgvault"
[ -x "$PGVAULT" ] || die "PGVAULT=$PGVAULT is not an executable"
PGVAULT="$(cd "$(dirname "$PGVAULT")" && pwd)/$(basename "$PGVAULT")"
[ -f "$ROOT/tests/lib/pg.sh" ] || die "$ROOT/tests/lib/pg.sh not found"
# shellcheck source=../tests/lib/pg.sh
. "$ROOT/tests/lib/pg.sh"
[ -n "${PGBIN:-}" ] && [ -x "$PGBIN/postgres" ] || die "no PostgreSQL server binaries (PGBIN=${PGBIN:-unset}); on Debian 12: apt-get install postgresql-15"
for b in initdb pg_ctl psql pg_dump pg_restore pgbench; do
	[ -x "$PGBIN/$b" ] || die "$PGBIN/$b missing"
done
[ -x /usr/bin/time ] || die "/usr/bin/time missing (apt-get install time)"
command -v tar >/dev/null || die "tar missing"
if want bench; then
	command -v zstd >/dev/null || die "the zstd command is missing (apt-get install zstd)"
	command -v python3 >/dev/null || die "python3 missing (apt-get install python3)"
fi
ZSTD="$(command -v zstd || true)"

# ---- work directory and server -------------------------------------------------------------

W="$(mktemp -d /tmp/pgvault-bench.XXXXXX)"
chmod 755 "$W"
mkdir -p "$W/log" "$W/out" "$W/st"
RAW="$W/raw.tsv"           # workload, measurement, repetition, metric, value
WLINFO="$W/workloads.tsv"  # database, size, tables, rows, build seconds
FAILS="$W/failures.tsv"    # workload, measurement, repetition, error line
: >"$RAW"; : >"$WLINFO"; : >"$W/notes.txt"; : >"$FAILS"; : >"$W/failures.txt"
: >"$W/pgvault.conf"       # an empty configuration: no system-wide one applies
SERVER_UP=""
DONE=""

cleanup() {
	local rc=$?
	set +e
	trap - ERR
	if [ -z "$DONE" ] && { [ -s "$RAW" ] || [ -s "$FAILS" ]; }; then
		write_results "INCOMPLETE: the run stopped (exit $rc) before the end" >/dev/null 2>&1 &&
			log "partial results written to $BENCH_RESULTS"
	fi
	[ -n "$SERVER_UP" ] && pg_stop "$W/pg"
	if [ "$BENCH_KEEP" = 1 ]; then
		log "work directory kept: $W"
	else
		rm -rf "$W"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

q() { "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }
qv() { "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -At "$@"; }

PV=("$PGVAULT" --config "$W/pgvault.conf" -q)

now_ns() { date +%s%N; }
secs_since() { awk -v a="$1" -v b="$(now_ns)" 'BEGIN { printf "%.1f", (b - a) / 1e9 }'; }

# step DESCRIPTION CMD...: a build step with its time on standard error; output to a log
step() {
	local desc="$1" t0 f
	shift
	f="$W/log/build.$(date +%s%N)"
	log "  $desc ..."
	t0=$(now_ns)
	if ! "$@" >"$f.out" 2>"$f.err"; then
		tail -n 20 "$f.err" >&2
		die "build step failed: $desc"
	fi
	log "  $desc: $(secs_since "$t0") s"
}

# ---- measuring ---------------------------------------------------------------------------

# Before each run: the server's dirty buffers written (CHECKPOINT), then the kernel's dirty
# pages (sync), so that no run pays for the writes of the one before it (a dropped
# database's files, the previous restore's data) in its fsyncs.
settle() { q -d postgres -c CHECKPOINT >/dev/null && sync; }

record() { printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" >>"$RAW"; }

# measure WORKLOAD NAME REP CMD...: one timed run; its standard output is left in $OUT
OUT=""
measure() {
	local wl="$1" name="$2" rep="$3" t0 t1 rss usr sys f sig
	shift 3
	f="$W/log/$wl.$(echo "$name" | tr -c 'A-Za-z0-9_.-' '_').$rep"
	settle
	t0=$(now_ns)
	if ! /usr/bin/time -f "%M %U %S" -o "$f.time" "$@" >"$f.out" 2>"$f.err"; then
		sig=$(awk '/^Command terminated by signal/ { print $NF }' "$f.time")
		case "$sig" in 1 | 2 | 15) log "interrupted (signal $sig)"; exit $((128 + sig)) ;; esac
		awk '!/^Command exited with non-zero status/' "$f.err" >"$f.err2"
		[ -z "$sig" ] || echo "killed by signal $sig" >>"$f.err2"
		echo "--- standard error of the failed command (last lines):" >&2
		tail -n 20 "$f.err2" >&2
		printf '%s\t%s\t%s\t%s\n' "$wl" "$name" "$rep" \
			"$(awk 'tolower($0) ~ /error|fatal|fail/ { gsub(/\t/, " "); print substr($0, 1, 200); f = 1; exit }
				{ l = $0 } END { if (!f) print substr(l, 1, 200) }' "$f.err2")" >>"$FAILS"
		{
			echo "- $wl / $name (repetition $rep): \`$*\` failed; its last lines:"
			echo
			tail -n 8 "$f.err2" | sed 's/^/        /'
			echo
		} >>"$W/failures.txt"
		die "$wl: \"$name\" (repetition $rep) failed: $*"
	fi
	t1=$(now_ns)
	read -r rss usr sys < <(tail -n 1 "$f.time")
	record "$wl" "$name" "$rep" wall "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')"
	record "$wl" "$name" "$rep" rss "$rss"
	record "$wl" "$name" "$rep" cpu "$(awk -v u="$usr" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')"
	# pgvault runs with -q: anything on its standard error is a warning worth reading
	if [ "$1" = "$PGVAULT" ] && [ -s "$f.err" ]; then
		{
			echo "- $wl / $name (repetition $rep), pgvault's standard error:"
			head -n 5 "$f.err" | sed 's/^/    /'
		} >>"$W/notes.txt"
	fi
	OUT="$f.out"
	log "  $wl: $name #$rep: $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", (b - a) / 1e9 }') s, $((rss / 1024)) MiB"
}

size_of() { du -sb "$1" | cut -f1; }     # a file or a directory, bytes
bundle_of() {                            # STORAGE DB -> the one bundle file
	local f=("$1/$2/"*.pgv)
	[ -f "${f[0]}" ] || die "no bundle of $2 in $1"
	echo "${f[0]}"
}
first_id() { awk 'NF { print $1; exit }' "$1"; }
# id_of STORAGE DB: the id of the one bundle (pgvault -q prints nothing on success)
id_of() { local f; f=$(bundle_of "$1" "$2") && basename "$f" .pgv; }
drop_db() { q -d postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS \"$1\""; }

# rotated N REP: the item order of repetition REP (0..N-1 rotated by REP-1)
rotated() { local n="$1" r="$2" i; for ((i = 0; i < n; i++)); do echo $(((i + r - 1) % n)); done; }

# same_content SRC DST TABLE: the restored copy has as many tables, and TABLE as many rows
same_content() {
	local a b
	a=$(qv -d "$1" -c "SELECT count(*) FROM pg_class WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace")
	b=$(qv -d "$2" -c "SELECT count(*) FROM pg_class WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace")
	[ "$a" = "$b" ] || die "restored database $2 has $b tables, $1 has $a"
	a=$(qv -d "$1" -c "SELECT count(*) FROM $3")
	b=$(qv -d "$2" -c "SELECT count(*) FROM $3")
	[ "$a" = "$b" ] || die "restored database $2: $3 has $b rows, $1 has $a"
}

# uncompressed bytes of a bundle: raw_size of its data members, size of the others
bundle_raw_bytes() {
	tar xOf "$1" manifest.json | python3 -c '
import json, sys
m = json.load(sys.stdin)
print(sum(x.get("raw_size", x.get("size", 0)) for x in m["members"]))'
}

# ---- building the workloads --------------------------------------------------------------

db_info() { # DB BUILD_SECONDS
	local size tables rows
	size=$(qv -d "$1" -c "SELECT pg_database_size(current_database())")
	tables=$(qv -d "$1" -c "SELECT count(*) FROM pg_class WHERE relkind = 'r' AND relnamespace NOT IN ('pg_catalog'::regnamespace, 'information_schema'::regnamespace) AND relnamespace::regnamespace::text NOT LIKE 'pg_toast%'")
	rows=$(qv -d "$1" -c "SELECT coalesce(sum(greatest(reltuples, 0)), 0)::bigint FROM pg_class WHERE relkind = 'r' AND relnamespace NOT IN ('pg_catalog'::regnamespace, 'information_schema'::regnamespace) AND relnamespace::regnamespace::text NOT LIKE 'pg_toast%'")
	printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$size" "$tables" "$rows" "$2" >>"$WLINFO"
	log "  $1: $(awk -v b="$size" 'BEGIN { printf "%.1f MB", b / 1e6 }'), $tables tables, $rows rows"
}

sql_bot() {
	cat <<'SQL'
CREATE TABLE users (
	id bigint PRIMARY KEY,
	username text,
	first_name text NOT NULL,
	language_code varchar(8),
	created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE messages (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	chat_id bigint NOT NULL,
	text text,
	sent_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX messages_chat_id_sent_at_idx ON messages (chat_id, sent_at);
CREATE TABLE aiogram_states (
	chat_id bigint NOT NULL,
	user_id bigint NOT NULL,
	state text,
	data jsonb NOT NULL DEFAULT '{}',
	PRIMARY KEY (chat_id, user_id)
);
CREATE TABLE alembic_version (
	version_num varchar(32) NOT NULL,
	CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)
);
INSERT INTO alembic_version VALUES ('4b1e2c9d7a3f');
INSERT INTO users (id, username, first_name, language_code, created_at)
SELECT 100000000 + g * 7919,
       CASE WHEN g % 5 = 0 THEN NULL ELSE 'user_' || g END,
       initcap(translate(md5(g::text), '0123456789abcdef', 'aeioulnrstmkdpgb')),
       (ARRAY['en', 'ru', 'uk', 'de', 'es'])[1 + g % 5],
       '2025-01-01'::timestamptz + g * interval '37 minutes'
FROM generate_series(1, 600) g;
INSERT INTO messages (user_id, chat_id, text, sent_at)
SELECT u, CASE WHEN g % 4 = 0 THEN -1001000000000 - g % 7 ELSE u END,
       substr(translate(md5(g::text) || md5((g * 7)::text), '0123456789abcdef', 'etaoin shrdlu cw'), 1, 3 + g % 60),
       '2025-03-01'::timestamptz + g * interval '3 minutes'
FROM generate_series(1, 3000) g, LATERAL (SELECT 100000000 + (1 + (g * 31) % 600) * 7919 AS u) x;
INSERT INTO aiogram_states (chat_id, user_id, state, data)
SELECT 100000000 + g * 7919, 100000000 + g * 7919,
       (ARRAY['Form:name', 'Form:age', 'Menu:main', NULL])[1 + g % 4],
       jsonb_build_object('step', g % 5, 'lang', (ARRAY['en', 'ru'])[1 + g % 2], 'cart', jsonb_build_array(g % 13, g % 17))
FROM generate_series(1, 400) g;
VACUUM ANALYZE;
SQL
}

sql_many() {
	cat <<'SQL'
SELECT format($f$CREATE TABLE t_%1$s (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, k int NOT NULL, v text);
CREATE INDEX t_%1$s_k_idx ON t_%1$s (k);
INSERT INTO t_%1$s (k, v) SELECT g %% 7, md5(g::text) FROM generate_series(1, 20) g$f$, i)
FROM generate_series(1, :many) i
\gexec
VACUUM ANALYZE;
SQL
}

# messages ROWS: a bot's message log (varying text lengths, a jsonb column)
sql_messages() {
	cat <<SQL
CREATE TABLE messages (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	chat_id bigint NOT NULL,
	user_id bigint NOT NULL,
	sent_at timestamptz NOT NULL,
	text text,
	meta jsonb
);
INSERT INTO messages (chat_id, user_id, sent_at, text, meta)
SELECT chat, usr, '2025-01-01'::timestamptz + g * interval '15 seconds',
       substr(translate(md5(g::text) || md5((g # 7)::text) || md5((g + 3)::text) || md5((g * 7)::text),
                        '0123456789abcdef', 'etaoin shrdlu cw'), 1, (5 + h % 124)::int),
       jsonb_build_object('message_id', g,
                          'from', jsonb_build_object('id', usr, 'language_code', (ARRAY['en', 'ru', 'uk', 'de', 'es'])[1 + h % 5]),
                          'chat_type', CASE WHEN h % 4 = 0 THEN 'group' ELSE 'private' END)
FROM generate_series(1, $1) g,
     LATERAL (SELECT (hashint8(g) & 2147483647)::bigint AS h) x,
     LATERAL (SELECT 1 + x.h % 20000 AS chat, 100000 + (x.h / 20000) % 50000 AS usr) y;
CREATE INDEX messages_chat_id_sent_at_idx ON messages (chat_id, sent_at);
SQL
}

sql_big() {
	cat <<SQL
CREATE TABLE big (
	id bigint NOT NULL,
	a int NOT NULL,
	b int NOT NULL,
	payload text NOT NULL
);
INSERT INTO big
SELECT g, h % 1000, (h / 1000) % 100000,
       substr(translate(md5(g::text) || md5((g # 5)::text) || md5((g + 1)::text) || md5((g * 3)::text)
                        || md5((g * 5)::text) || md5((g * 7)::text) || md5((g * 11)::text) || md5((g * 13)::text),
                        '0123456789abcdef', 'etaoin shrdlu cw'), 1, (120 + h % 120)::int)
FROM generate_series(1, $BIG_ROWS) g, LATERAL (SELECT (hashint8(g) & 2147483647)::bigint AS h) x;
ALTER TABLE big ADD PRIMARY KEY (id);
SQL
}

BUILT=" "
build() { # DB: create it (and what it needs) once
	local db="$1" t0 i
	case "$BUILT" in *" $db "*) return 0 ;; esac
	t0=$(now_ns)
	[ "$db" = fleet ] || log "building $db"
	case "$db" in
	bot)
		q -d postgres -c "CREATE DATABASE bot"
		step "schema and rows" q -d bot -f <(sql_bot)
		;;
	fleet)
		build bot
		t0=$(now_ns)
		log "building fleet"
		step "CREATE DATABASE bot1 .. bot$FLEET TEMPLATE bot" \
			q -d postgres -f <(for ((i = 1; i <= FLEET; i++)); do echo "CREATE DATABASE bot$i TEMPLATE bot;"; done)
		;;
	many)
		q -d postgres -c "CREATE DATABASE many"
		step "$MANY tables" q -d many -v many="$MANY" -f <(sql_many)
		;;
	bench | bench4x)
		local scale="$BENCH_SCALE" msgs="$MESSAGES"
		[ "$db" = bench4x ] && { scale=$((4 * BENCH_SCALE)); msgs=$((4 * MESSAGES)); }
		q -d postgres -c "CREATE DATABASE $db"
		step "pgbench -i -s $scale" "$PGBIN/pgbench" -i -q -s "$scale" "$db"
		step "$msgs messages" q -d "$db" -f <(sql_messages "$msgs")
		step "VACUUM ANALYZE" q -d "$db" -c "VACUUM ANALYZE"
		;;
	big)
		q -d postgres -c "CREATE DATABASE big"
		step "$BIG_ROWS rows" q -d big -f <(sql_big)
		step "VACUUM ANALYZE" q -d big -c "VACUUM ANALYZE"
		;;
	esac
	BUILT="$BUILT$db "
	if [ "$db" = fleet ]; then
		printf 'bot1..bot%s\t%s\t%s\t%s\t%s\n' "$FLEET" \
			"$(qv -d postgres -c "SELECT sum(pg_database_size(datname)) FROM pg_database WHERE datname ~ '^bot[0-9]+\$'")" \
			"$(awk -F'\t' '$1 == "bot" { print $3 * '"$FLEET"' }' "$WLINFO")" \
			"$(awk -F'\t' '$1 == "bot" { print $4 * '"$FLEET"' }' "$WLINFO")" \
			"$(secs_since "$t0")" >>"$WLINFO"
	else
		db_info "$db" "$(secs_since "$t0")"
	fi
	log "built $db in $(secs_since "$t0") s"
}

# ---- the workloads' measurements -----------------------------------------------------------

run_bot() {
	local rep i st f
	log "measuring bot"
	for ((rep = 1; rep <= REPS; rep++)); do
		for i in $(rotated 2 "$rep"); do
			case $i in
			0)
				st="$W/st/bot"; rm -rf "$st"
				measure bot "pgvault backup" "$rep" "${PV[@]}" backup --storage "$st" --db bot
				record bot "pgvault backup" "$rep" bytes "$(size_of "$(bundle_of "$st" bot)")"
				rm -rf "$st" ;;
			1)
				f="$W/out/bot.dump"; rm -f "$f"
				measure bot "pg_dump -Fc" "$rep" "$PGBIN/pg_dump" -Fc -f "$f" bot
				record bot "pg_dump -Fc" "$rep" bytes "$(size_of "$f")"
				rm -f "$f" ;;
			esac
		done
	done
}

run_fleet() {
	local rep i st d dbs=() n
	for ((n = 1; n <= FLEET; n++)); do dbs+=(--db "bot$n"); done
	log "measuring fleet"
	for ((rep = 1; rep <= REPS; rep++)); do
		for i in $(rotated 2 "$rep"); do
			case $i in
			0)
				st="$W/st/fleet"; rm -rf "$st"
				measure fleet "pgvault backup --jobs $JOBS" "$rep" "${PV[@]}" backup --storage "$st" "${dbs[@]}" --jobs "$JOBS"
				n=$(find "$st" -name '*.pgv' | wc -l) # -q: no ids on stdout
				[ "$n" = "$FLEET" ] || die "fleet: pgvault made $n bundles for $FLEET databases"
				record fleet "pgvault backup --jobs $JOBS" "$rep" bytes "$(size_of "$st")"
				rm -rf "$st" ;;
			1)
				d="$W/out/fleet"; rm -rf "$d"; mkdir -p "$d"
				measure fleet "pg_dump -Fc loop" "$rep" bash -c \
					'for ((i = 1; i <= $1; i++)); do "$2" -Fc -f "$3/bot$i.dump" "bot$i" || exit 1; done' \
					_ "$FLEET" "$PGBIN/pg_dump" "$d"
				record fleet "pg_dump -Fc loop" "$rep" bytes "$(size_of "$d")"
				rm -rf "$d" ;;
			esac
		done
	done
}

run_many() {
	local rep i st="$W/st/many" f="$W/out/many.dump" id=""
	log "measuring many"
	for ((rep = 1; rep <= REPS; rep++)); do
		for i in $(rotated 2 "$rep"); do
			case $i in
			0)
				rm -rf "$st"
				measure many "pgvault backup --jobs $JOBS" "$rep" "${PV[@]}" backup --storage "$st" --db many --jobs "$JOBS"
				id=$(id_of "$st" many)
				record many "pgvault backup --jobs $JOBS" "$rep" bytes "$(size_of "$(bundle_of "$st" many)")" ;;
			1)
				rm -f "$f"
				measure many "pg_dump -Fc" "$rep" "$PGBIN/pg_dump" -Fc -f "$f" many
				record many "pg_dump -Fc" "$rep" bytes "$(size_of "$f")" ;;
			esac
		done
	done
	[ -n "$id" ] || die "many: no bundle id"
	for ((rep = 1; rep <= REPS; rep++)); do
		for i in $(rotated 2 "$rep"); do
			case $i in
			0)
				drop_db many_pv
				measure many "pgvault restore --jobs $JOBS" "$rep" "${PV[@]}" restore --storage "$st" "$id" --as many_pv --jobs "$JOBS"
				[ "$rep" = 1 ] && same_content many many_pv "t_$MANY"
				drop_db many_pv ;;
			1)
				drop_db many_pr
				q -d postgres -c "CREATE DATABASE many_pr TEMPLATE template0"
				measure many "pg_restore -j$JOBS" "$rep" "$PGBIN/pg_restore" -j "$JOBS" -d many_pr "$f"
				[ "$rep" = 1 ] && same_content many many_pr "t_$MANY"
				drop_db many_pr ;;
			esac
		done
	done
	rm -rf "$st" "$f"
}

# the tables of DB in two groups of about equal size, one "COPY t TO STDOUT;" file each
copy_scripts() {
	qv -d "$1" -F $'\t' -c "SELECT format('%I.%I', n.nspname, c.relname), pg_relation_size(c.oid)
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
		  AND n.nspname NOT LIKE 'pg_toast%' ORDER BY 2 DESC, 1" |
		awk -F'\t' -v a="$2" -v b="$3" '
			{ if (sa <= sb) { print "COPY " $1 " TO STDOUT;" > a; sa += $2 }
			  else { print "COPY " $1 " TO STDOUT;" > b; sb += $2 } }
			END { printf "" >> a; printf "" >> b }'
}

run_bench() {
	local rep i st j1="$W/st/bench-j1" jj="$W/st/bench-j$JOBS" fc="$W/out/bench.dump" fd="$W/out/bench.dir"
	local zs="$W/out/bench.sql.zst" id="" raw db
	copy_scripts bench "$W/copy1.sql" "$W/copy2.sql"
	log "measuring bench: backups"
	for ((rep = 1; rep <= REPS; rep++)); do
		for i in $(rotated 6 "$rep"); do
			case $i in
			0)
				rm -rf "$jj"
				measure bench "pgvault backup --jobs $JOBS" "$rep" "${PV[@]}" backup --storage "$jj" --db bench --jobs "$JOBS"
				id=$(id_of "$jj" bench)
				record bench "pgvault backup --jobs $JOBS" "$rep" bytes "$(size_of "$(bundle_of "$jj" bench)")" ;;
			1)
				rm -rf "$j1"
				measure bench "pgvault backup --jobs 1" "$rep" "${PV[@]}" backup --storage "$j1" --db bench --jobs 1
				record bench "pgvault backup --jobs 1" "$rep" bytes "$(size_of "$(bundle_of "$j1" bench)")"
				rm -rf "$j1" ;;
			2)
				rm -f "$fc"
				measure bench "pg_dump -Fc" "$rep" "$PGBIN/pg_dump" -Fc -f "$fc" bench
				record bench "pg_dump -Fc" "$rep" bytes "$(size_of "$fc")" ;;
			3)
				rm -rf "$fd"
				measure bench "pg_dump -Fd -j$JOBS" "$rep" "$PGBIN/pg_dump" -Fd -j "$JOBS" -f "$fd" bench
				record bench "pg_dump -Fd -j$JOBS" "$rep" bytes "$(size_of "$fd")"
				rm -rf "$fd" ;;
			4)
				rm -f "$zs"
				measure bench "pg_dump | zstd -T0 -3" "$rep" bash -c 'set -o pipefail; "$1" "$2" | "$3" -T0 -3 -q >"$4"' \
					_ "$PGBIN/pg_dump" bench "$ZSTD" "$zs"
				record bench "pg_dump | zstd -T0 -3" "$rep" bytes "$(size_of "$zs")"
				rm -f "$zs" ;;
			5)
				measure bench "COPY limit (2 sessions)" "$rep" bash -c \
					'"$1" -X -q -v ON_ERROR_STOP=1 -d "$2" -f "$3" >/dev/null & p=$!
					 "$1" -X -q -v ON_ERROR_STOP=1 -d "$2" -f "$4" >/dev/null || { wait $p; exit 1; }
					 wait $p' _ "$PGBIN/psql" bench "$W/copy1.sql" "$W/copy2.sql" ;;
			esac
		done
	done
	[ -n "$id" ] || die "bench: no bundle id"
	log "measuring bench: restores"
	for ((rep = 1; rep <= REPS; rep++)); do
		for i in $(rotated 2 "$rep"); do
			case $i in
			0)
				drop_db bench_pv
				measure bench "pgvault restore --jobs $JOBS" "$rep" "${PV[@]}" restore --storage "$jj" "$id" --as bench_pv --jobs "$JOBS"
				[ "$rep" = 1 ] && same_content bench bench_pv messages
				drop_db bench_pv ;;
			1)
				drop_db bench_pr
				q -d postgres -c "CREATE DATABASE bench_pr TEMPLATE template0"
				measure bench "pg_restore -j$JOBS" "$rep" "$PGBIN/pg_restore" -j "$JOBS" -d bench_pr "$fc"
				[ "$rep" = 1 ] && same_content bench bench_pr messages
				drop_db bench_pr ;;
			esac
		done
	done
	rm -f "$fc"
	log "measuring bench: verify"
	raw=$(bundle_raw_bytes "$(bundle_of "$jj" bench)")
	for ((rep = 1; rep <= REPS; rep++)); do
		measure verify "pgvault verify" "$rep" "${PV[@]}" verify --storage "$jj" "$id"
		record verify "pgvault verify" "$rep" bytes "$raw"
	done
	rm -rf "$jj"
	if [ "$MEM4X" = 1 ]; then
		build bench4x
		log "measuring memory: bench against bench4x"
		for ((rep = 1; rep <= REPS; rep++)); do
			for i in $(rotated 2 "$rep"); do
				case $i in
				0) db=bench ;;
				1) db=bench4x ;;
				esac
				st="$W/st/mem"; rm -rf "$st"
				measure mem "pgvault backup --jobs $JOBS ($db)" "$rep" "${PV[@]}" backup --storage "$st" --db "$db" --jobs "$JOBS"
				record mem "pgvault backup --jobs $JOBS ($db)" "$rep" bytes "$(size_of "$(bundle_of "$st" "$db")")"
				rm -rf "$st"
			done
		done
	fi
}

run_big() {
	local rep i st j1="$W/st/big-j1" jj="$W/st/big-j$JOBS" id=""
	log "measuring big: backups"
	for ((rep = 1; rep <= REPS; rep++)); do
		for i in $(rotated 2 "$rep"); do
			case $i in
			0)
				rm -rf "$jj"
				measure big "pgvault backup --jobs $JOBS" "$rep" "${PV[@]}" backup --storage "$jj" --db big --jobs "$JOBS"
				id=$(id_of "$jj" big)
				record big "pgvault backup --jobs $JOBS" "$rep" bytes "$(size_of "$(bundle_of "$jj" big)")" ;;
			1)
				rm -rf "$j1"
				measure big "pgvault backup --jobs 1" "$rep" "${PV[@]}" backup --storage "$j1" --db big --jobs 1
				record big "pgvault backup --jobs 1" "$rep" bytes "$(size_of "$(bundle_of "$j1" big)")"
				rm -rf "$j1" ;;
			esac
		done
	done
	[ -n "$id" ] || die "big: no bundle id"
	log "measuring big: restores (both of the --jobs $JOBS bundle)"
	for ((rep = 1; rep <= REPS; rep++)); do
		for i in $(rotated 2 "$rep"); do
			case $i in
			0)
				drop_db big_rj
				measure big "pgvault restore --jobs $JOBS" "$rep" "${PV[@]}" restore --storage "$jj" "$id" --as big_rj --jobs "$JOBS"
				[ "$rep" = 1 ] && same_content big big_rj big
				drop_db big_rj ;;
			1)
				drop_db big_r1
				measure big "pgvault restore --jobs 1" "$rep" "${PV[@]}" restore --storage "$jj" "$id" --as big_r1 --jobs 1
				[ "$rep" = 1 ] && same_content big big_r1 big
				drop_db big_r1 ;;
			esac
		done
	done
	rm -rf "$jj"
}

# ---- results -------------------------------------------------------------------------------

# med WORKLOAD NAME METRIC: the median over the repetitions (empty when not measured)
med() {
	awk -F'\t' -v w="$1" -v n="$2" -v m="$3" '$1 == w && $2 == n && $4 == m { v[++k] = $5 }
		END {
			if (!k) exit
			for (i = 2; i <= k; i++) { x = v[i]; for (j = i - 1; j >= 1 && v[j] > x; j--) v[j + 1] = v[j]; v[j + 1] = x }
			printf "%.15g\n", (k % 2) ? v[(k + 1) / 2] : (v[k / 2] + v[k / 2 + 1]) / 2
		}' "$RAW"
}

# fmt UNIT VALUE
fmt() {
	case "$1" in
	s) awk -v v="$2" 'BEGIN { printf "%.2f s", v }' ;;
	MiB) awk -v v="$2" 'BEGIN { printf "%.1f MiB", v / 1024 }' ;; # from KiB
	MB) awk -v v="$2" 'BEGIN { printf "%.2f MB", v / 1e6 }' ;;   # from bytes
	GBps) awk -v v="$2" 'BEGIN { printf "%.2f GB/s", v }' ;;
	dMiB) awk -v v="$2" 'BEGIN { printf "%+.1f MiB", v / 1024 }' ;;
	esac
}

# tgt WORKLOAD MEASUREMENT UNIT PV PEER OP LIMIT: one row of the target table
#   OP "<=": PV/PEER <= LIMIT; "abs<=", "abs>=", "abs<": PV itself; "-": no target
tgt() {
	local wl="$1" m="$2" unit="$3" pv="$4" peer="$5" op="$6" lim="$7" ratio="-" target="-" met="-" pvs peers
	[ -n "$pv" ] || return 0
	[ "$op" = "<=" ] || [ "$op" = "-" ] && [ -z "$peer" ] && return 0
	pvs=$(fmt "$unit" "$pv")
	peers="-"
	[ -n "$peer" ] && peers=$(fmt "$unit" "$peer")
	if [ -n "$peer" ]; then ratio=$(awk -v a="$pv" -v b="$peer" 'BEGIN { printf (b > 0 ? "%.2f" : "-"), a / b }'); fi
	case "$op" in
	"<=")
		target="<= ${lim}x"
		met=$(awk -v r="$ratio" -v l="$lim" 'BEGIN { print (r != "-" && r + 0 <= l + 0) ? "yes" : "no" }') ;;
	abs\<=) target="<= $lim"; met=$(awk -v a="$pv" -v l="$8" 'BEGIN { print (a <= l) ? "yes" : "no" }') ;;
	abs\>=) target=">= $lim"; met=$(awk -v a="$pv" -v l="$8" 'BEGIN { print (a >= l) ? "yes" : "no" }') ;;
	abs\<) target="< $lim"; met=$(awk -v a="$pv" -v l="$8" 'BEGIN { print (a < l) ? "yes" : "no" }') ;;
	esac
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$wl" "$m" "$pvs" "$peers" "$ratio" "$target" "$met"
}

targets() {
	local j="$JOBS" a b raw cpu
	tgt bot "backup vs pg_dump -Fc" s "$(med bot "pgvault backup" wall)" "$(med bot "pg_dump -Fc" wall)" "<=" 0.5
	tgt bot "bundle bytes vs -Fc" MB "$(med bot "pgvault backup" bytes)" "$(med bot "pg_dump -Fc" bytes)" - -
	tgt fleet "backup --jobs $j vs pg_dump -Fc loop" s "$(med fleet "pgvault backup --jobs $j" wall)" "$(med fleet "pg_dump -Fc loop" wall)" "<=" 0.3
	tgt many "backup --jobs $j vs pg_dump -Fc" s "$(med many "pgvault backup --jobs $j" wall)" "$(med many "pg_dump -Fc" wall)" "<=" 0.5
	tgt many "restore --jobs $j vs pg_restore -j$j" s "$(med many "pgvault restore --jobs $j" wall)" "$(med many "pg_restore -j$j" wall)" "<=" 0.25
	a=$(med bench "pgvault backup --jobs $j" wall)
	tgt bench "backup --jobs $j vs pg_dump -Fc" s "$a" "$(med bench "pg_dump -Fc" wall)" "<=" 0.45
	tgt bench "backup --jobs $j vs pg_dump | zstd" s "$a" "$(med bench "pg_dump | zstd -T0 -3" wall)" "<=" 0.75
	tgt bench "bundle bytes vs pg_dump | zstd" MB "$(med bench "pgvault backup --jobs $j" bytes)" "$(med bench "pg_dump | zstd -T0 -3" bytes)" "<=" 1.05
	tgt bench "restore --jobs $j vs pg_restore -j$j" s "$(med bench "pgvault restore --jobs $j" wall)" "$(med bench "pg_restore -j$j" wall)" "<=" 0.6
	tgt bench "backup --jobs $j vs pg_dump -Fd -j$j" s "$a" "$(med bench "pg_dump -Fd -j$j" wall)" - -
	tgt bench "backup --jobs 1 vs pg_dump -Fc" s "$(med bench "pgvault backup --jobs 1" wall)" "$(med bench "pg_dump -Fc" wall)" - -
	tgt bench "backup --jobs $j vs COPY limit" s "$a" "$(med bench "COPY limit (2 sessions)" wall)" - -
	tgt bench "bundle bytes vs -Fc" MB "$(med bench "pgvault backup --jobs $j" bytes)" "$(med bench "pg_dump -Fc" bytes)" - -
	raw=$(med verify "pgvault verify" bytes)
	cpu=$(med verify "pgvault verify" cpu)
	if [ -n "$raw" ] && [ -n "$cpu" ] && awk -v c="$cpu" 'BEGIN { exit !(c > 0) }'; then
		tgt verify "verify GB/s per core" GBps "$(awk -v b="$raw" -v c="$cpu" 'BEGIN { printf "%.4f", b / 1e9 / c }')" "" "abs>=" "1 GB/s" 1
	elif [ -n "$raw" ]; then
		printf 'verify\tverify GB/s per core\t(CPU time < 0.01 s)\t-\t-\t>= 1 GB/s\t-\n'
	fi
	tgt bench "peak RSS backup --jobs $j" MiB "$(med bench "pgvault backup --jobs $j" rss)" "" "abs<=" "32 MiB" 32768
	a=$(med mem "pgvault backup --jobs $j (bench4x)" rss)
	b=$(med mem "pgvault backup --jobs $j (bench)" rss)
	if [ -n "$a" ] && [ -n "$b" ]; then
		tgt mem "peak RSS bench4x - bench" dMiB "$(awk -v a="$a" -v b="$b" 'BEGIN { print a - b }')" "" "abs<" "4 MiB" 4096
	fi
	tgt big "backup --jobs $j vs --jobs 1" s "$(med big "pgvault backup --jobs $j" wall)" "$(med big "pgvault backup --jobs 1" wall)" "<=" 0.6
	tgt big "restore --jobs $j vs --jobs 1" s "$(med big "pgvault restore --jobs $j" wall)" "$(med big "pgvault restore --jobs 1" wall)" "<=" 0.6
	# a failed command: its workload stopped there
	awk -F'\t' '{ e = $4; sub(/^.*ERROR: */, "", e); sub(/^[a-z_]+: (error: )?/, "", e)
		printf "%s\tFAILED: %s #%s: %s\t-\t-\t-\t-\tno\n", $1, $2, $3, substr(e, 1, 60) }' "$FAILS"
}

HEAD=$'workload\tmeasurement\tpgvault\tpeer\tratio\ttarget\tmet'

print_table() { # TSV on stdin -> aligned columns
	awk -F'\t' '{ for (i = 1; i <= NF; i++) { c[NR, i] = $i; if (length($i) > w[i]) w[i] = length($i) } n = NF }
		END { for (r = 1; r <= NR; r++) { line = ""; for (i = 1; i <= n; i++) line = line sprintf("%-*s  ", w[i], c[r, i]); sub(/ +$/, "", line); print line } }'
}
md_table() { # TSV on stdin (header first) -> markdown table
	awk -F'\t' 'NR == 1 { s = "|"; for (i = 1; i <= NF; i++) s = s "---|" }
		{ l = "|"; for (i = 1; i <= NF; i++) { c = $i; gsub(/\|/, "\\|", c); l = l " " c " |" }; print l; if (NR == 1) print s }'
}

measurements_md() {
	{
		printf 'workload\tmeasurement\twall median\twall, every run (s)\tpeak RSS median\tRSS, every run (MiB)\tCPU median (user+sys)\toutput bytes\n'
		awk -F'\t' '{ k = $1 "\t" $2; if (!(k in seen)) { seen[k] = 1; order[++n] = k }
				v[k, $4] = v[k, $4] (v[k, $4] == "" ? "" : " ") ($4 == "rss" ? sprintf("%.1f", $5 / 1024) : $5) }
			END { for (i = 1; i <= n; i++) print order[i] "\t" v[order[i], "wall"] "\t" v[order[i], "rss"] }' "$RAW" |
			while IFS=$'\t' read -r w n walls rsss; do
				by=$(med "$w" "$n" bytes)
				printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$w" "$n" "$(fmt s "$(med "$w" "$n" wall)")" "$walls" \
					"$(fmt MiB "$(med "$w" "$n" rss)")" "$rsss" "$(fmt s "$(med "$w" "$n" cpu)")" \
					"$([ -n "$by" ] && printf '%.0f' "$by" || echo -)"
			done
	} | md_table
}

machine_md() {
	local cpu mem kern fs pgv pvv rev
	cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || true)
	[ -n "$cpu" ] || cpu=$(lscpu 2>/dev/null | awk -F': +' '/^Model name/ { print $2; exit }' || true)
	mem=$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
	kern=$(uname -srm)
	fs=$(df -hT "$W" | awk 'NR == 2 { print $2 " (" $1 ", " $3 " total, " $5 " free)" }')
	pgv=$(qv -d postgres -c "SELECT version()" 2>/dev/null || echo unknown)
	pvv=$("$PGVAULT" --version 2>&1 | awk 'NR == 1' || true)
	rev=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo "unknown (no git)")
	echo "- CPUs: $(nproc) × ${cpu:-unknown}"
	echo "- memory: $mem"
	echo "- kernel: $kern"
	echo "- work directory's file system: $fs"
	echo "- PostgreSQL: $pgv ($PGBIN)"
	echo "- server settings: $(qv -d postgres -F ' ' -c "SELECT string_agg(name || '=' || current_setting(name), ', ' ORDER BY name) FROM pg_settings WHERE name IN ('fsync', 'max_connections', 'max_locks_per_transaction', 'shared_buffers', 'max_wal_size', 'wal_level', 'synchronous_commit', 'full_page_writes')" 2>/dev/null || echo unknown) (tests/lib/pg.sh's, fsync=$BENCH_FSYNC${PG_SETTINGS:+, PG_SETTINGS=$PG_SETTINGS}; the databases are built with fsync=off)"
	echo "- pgvault: $pvv, commit $rev ($PGVAULT)"
	echo "- zstd: $([ -n "$ZSTD" ] && "$ZSTD" --version 2>/dev/null | grep -o 'v[0-9][0-9.]*' | awk 'NR == 1' || echo none)"
}

write_results() { # [NOTE]
	local out="$BENCH_RESULTS" tmp
	mkdir -p "$(dirname "$out")"
	tmp="$out.tmp.$$"
	{
		echo "# pgvault benchmark results"
		echo
		[ -n "${1:-}" ] && { echo "**$1**"; echo; }
		echo "- date: $(date -u '+%Y-%m-%d %H:%M:%S UTC'), run time $(( ($(date +%s) - T_START) / 60 )) min $(( ($(date +%s) - T_START) % 60 )) s"
		echo "- command: bash bench/run.sh $WL"
		echo "- settings: REPS=$REPS JOBS=$JOBS FLEET=$FLEET MANY=$MANY BENCH_SCALE=$BENCH_SCALE MESSAGES=$MESSAGES BIG_ROWS=$BIG_ROWS MEM4X=$MEM4X BENCH_FSYNC=$BENCH_FSYNC PROFILE=$PROFILE PG_SETTINGS=\"$PG_SETTINGS\""
		echo
		echo "## Machine"
		echo
		machine_md
		echo
		echo "## Databases"
		echo
		{
			printf 'database\tsize\ttables\trows (reltuples)\tbuild time\n'
			awk -F'\t' '{ printf "%s\t%.1f MB\t%s\t%s\t%s s\n", $1, $2 / 1e6, $3, $4, $5 }' "$WLINFO"
		} | md_table
		echo
		echo "## Targets"
		echo
		echo "Ratio = pgvault median / peer median (wall time, or bytes for sizes); \"-\" = for information, no target."
		echo
		{ echo "$HEAD"; targets; } | md_table
		echo
		echo "## Measurements"
		echo
		echo "Medians of $REPS repetition(s); wall time by the clock, peak RSS and CPU by /usr/bin/time; a CHECKPOINT and a sync before each run."
		echo "pg_restore's target database is created (TEMPLATE template0) before its clock starts; pgvault restore creates its own."
		echo "The verify row's output bytes are the bundle's uncompressed bytes (manifest raw_size); GB/s per core = those / CPU seconds."
		echo
		measurements_md
		if [ -s "$W/profile.md" ]; then
			echo
			cat "$W/profile.md"
		fi
		if [ -s "$W/failures.txt" ]; then
			echo
			echo "## Failures"
			echo
			cat "$W/failures.txt"
		fi
		if [ -s "$W/notes.txt" ]; then
			echo
			echo "## pgvault's warnings"
			echo
			cat "$W/notes.txt"
		fi
	} >"$tmp"
	mv "$tmp" "$out"
}

# ---- profile of the unmet targets ----------------------------------------------------------
#
# After the measurements, each target row that is not met gets one more run of its pgvault
# command (with -v, under perf record -g when there is perf) and, when the peer is
# pg_dump / pg_restore, of the peer's command; none of these runs enters the tables above.
# For each run: wall time, the client's CPU (/usr/bin/time), the server's CPU (/proc), the
# server's statement durations (log_min_duration_statement = 0) by statement class.
# The section goes to $W/profile.md; a failure is reported there, never fails the benchmark.

PROF="$W/prof"
SLOG="$W/pg/log/server.log"   # the server's standard error (pg_ctl -l), where its log goes
PVV=("$PGVAULT" --config "$W/pgvault.conf" -v)
PERF=""
NCPU=$(nproc)
CLK_TCK=$(getconf CLK_TCK 2>/dev/null || echo 100)

# srv_ticks: CPU clock ticks (user + system) used so far by this cluster's processes: the
# postmaster's own and its reaped children's (cutime, cstime: every backend or worker that
# has exited), plus every live child's.  /proc/PID/stat after "(comm) ": $2 ppid, $12 utime,
# $13 stime, $14 cutime, $15 cstime.
srv_ticks() {
	local pm
	pm=$(head -n 1 "$W/pg/data/postmaster.pid" 2>/dev/null) || return 1
	[[ "$pm" =~ ^[0-9]+$ ]] || return 1
	{ cat /proc/[0-9]*/stat 2>/dev/null || true; } | awk -v pm="$pm" '
		{ pid = $1; sub(/^.*\) /, "")
		  if (pid == pm) { seen = 1; t += $12 + $13 + $14 + $15 }
		  else if ($2 == pm) t += $12 + $13 + $14 + $15 }
		END { if (!seen) exit 1; printf "%d\n", t }'
}

# prof_log_setting VALUE|default: log_min_duration_statement for the whole server; waits
# until a new session sees it (the postmaster re-reads its configuration asynchronously)
prof_log_setting() {
	local want="$1" i
	if [ "$want" = default ]; then
		q -d postgres -c "ALTER SYSTEM RESET log_min_duration_statement" -c "SELECT pg_reload_conf()" >/dev/null || return 1
		want=-1
	else
		q -d postgres -c "ALTER SYSTEM SET log_min_duration_statement = $want" -c "SELECT pg_reload_conf()" >/dev/null || return 1
	fi
	for ((i = 0; i < 50; i++)); do
		[ "$(qv -d postgres -c 'SHOW log_min_duration_statement' 2>/dev/null)" = "$want" ] && return 0
		sleep 0.1
	done
	return 1
}

# stmt_classes LOG: the durations logged in LOG ("duration: X ms  statement: ...", "execute
# <name>: ...", "parse ...", "bind ...") summed by statement class; lines "ms<TAB>executions
# <TAB>class", largest first.  A statement's parse and bind add to its class's time, only
# its execution to the count.  The class: COPY; "sequence values" (pg_dump's per-sequence
# SELECT); else the first words: up to 3 of a SELECT or WITH (cut at a "("), the leading
# upper-case keywords of anything else (CREATE TABLE, ALTER TABLE ONLY, SET, BEGIN READ ONLY).
stmt_classes() {
	awk '
	function cls(s,   n, w, i, t, out, sel) {
		gsub(/[ \t]+/, " ", s); sub(/^ /, "", s)
		if (s ~ /^(BEGIN|START TRANSACTION)[^;]*; *[^ ;]/ && s !~ /^[^;]*; *(COMMIT|END)/) sub(/^[^;]*; */, "", s)
		gsub(/;/, "; ", s)
		if (s ~ /^[Cc][Oo][Pp][Yy] /) return "COPY"
		if (s ~ /^SELECT [0-9]+::pg_catalog\.oid, last_value/) return "sequence values"
		n = split(substr(s, 1, 200), w, " ")
		sel = (w[1] == "SELECT" || w[1] == "WITH" || w[1] == "select" || w[1] == "with")
		out = ""
		for (i = 1; i <= n && i <= 3; i++) {
			t = w[i]
			if (i > 1 && !sel && t !~ /^[A-Z_]+;?$/) break
			if (index(t, "(")) { out = out (out == "" ? "" : " ") substr(t, 1, index(t, "(")); break }
			out = out (out == "" ? "" : " ") t
			if (t ~ /;$/) break
		}
		sub(/[;,]$/, "", out); gsub(/ [0-9]+/, " N", out)
		return out == "" ? "(empty)" : out
	}
	function flush() { if (have) { c = cls(txt); tot[c] += ms; cnt[c] += ex }; have = 0 }
	/^[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] / {
		flush()
		i = index($0, "LOG:  duration: ")
		if (!i) next
		s = substr($0, i + 16); ms = s + 0; sub(/^[0-9.]+ ms */, "", s)
		ex = 1
		if (s ~ /^statement: /) sub(/^statement: /, "", s)
		else if (s ~ /^execute [^:]*: /) sub(/^execute [^:]*: /, "", s)
		else if (s ~ /^(bind|parse) [^:]*: /) { sub(/^(bind|parse) [^:]*: /, "", s); ex = 0 }
		txt = s; have = 1; next
	}
	have && length(txt) < 300 {
		l = $0; sub(/^[ \t]+/, "", l)
		if (txt ~ /^[ \t]*$/ && (l ~ /^--/ || l == "")) next
		txt = txt " " l
	}
	END { flush(); for (c in tot) printf "%.3f\t%d\t%s\n", tot[c], cnt[c], c }' "$1" |
		sort -t "$(printf '\t')" -k1,1gr
}

# The wait-event sampler: a function in the postgres database that looks at pg_stat_activity
# every 10 ms until a row appears in bench_stop, and returns, per state, how many times it saw
# a working session (client backends and parallel workers, not itself, not idle) in it —
# "CPU" for an active session with no wait event, the wait event's type and name otherwise,
# the state for an idle-in-transaction one — with the number of rounds last.  Nothing is
# written during the run (no commit, no fsync); reading pg_stat_activity costs well under a
# millisecond a round.  Also returned: the rounds, the most working sessions seen in one
# round ("sessions"), and the microseconds the rounds took.
sampler_setup() {
	q -d postgres <<'SQL'
CREATE UNLOGGED TABLE IF NOT EXISTS bench_stop (x int);
CREATE OR REPLACE FUNCTION bench_sample() RETURNS TABLE (what text, n bigint)
LANGUAGE plpgsql AS $f$
DECLARE
	rounds bigint := 0;
	t0 timestamptz := clock_timestamp();
	seen jsonb := '{}';
	r record;
	here bigint;
	most bigint := 0;
BEGIN
	WHILE NOT EXISTS (SELECT 1 FROM bench_stop) AND rounds < 60000 LOOP
		PERFORM pg_stat_clear_snapshot(); -- else one transaction sees one snapshot of it
		here := 0;
		FOR r IN SELECT CASE WHEN a.state = 'active'
		                     THEN coalesce(a.wait_event_type || ':' || a.wait_event, 'CPU')
		                     ELSE a.state END AS w
		         FROM pg_stat_activity a
		         WHERE a.backend_type IN ('client backend', 'parallel worker')
		           AND a.pid <> pg_backend_pid() AND a.state IS DISTINCT FROM 'idle'
		           AND a.query NOT LIKE '%bench_stop%' LOOP
			seen := jsonb_set(seen, ARRAY[r.w], to_jsonb(coalesce((seen ->> r.w)::bigint, 0) + 1));
			here := here + 1;
		END LOOP;
		most := greatest(most, here);
		rounds := rounds + 1;
		PERFORM pg_sleep(0.01);
	END LOOP;
	RETURN QUERY SELECT e.key, e.value::text::bigint FROM jsonb_each(seen) e
	             UNION ALL SELECT 'rounds', rounds
	             UNION ALL SELECT 'sessions', most
	             UNION ALL SELECT 'elapsed_us', (extract(epoch FROM clock_timestamp() - t0) * 1e6)::bigint;
END
$f$;
SQL
}

# prof_run KEY LABEL CMD...: one profiled run of CMD (pgvault's under perf when there is perf).
# $PROF/KEY.sum: "wall client_cpu rss_kib server_cpu statements_s executions"; KEY.label,
# KEY.cls (statement classes), KEY.err (standard error), KEY.perf; "-" for what is unknown.
prof_run() {
	local label="$2" f="$PROF/$1" t0 t1 s0 s1 o0 o1 rc=0 rss usr sys el srv wall perf=""
	shift 2
	echo "$label" >"$f.label"
	log "  profile: $label"
	settle
	q -d postgres -c "TRUNCATE bench_stop" >/dev/null
	qv -d postgres -F $'\t' -c "SELECT * FROM bench_sample()" >"$f.waits" 2>"$f.waits.err" </dev/null &
	local sampler=$!
	o0=$(stat -c %s "$SLOG")
	s0=$(srv_ticks) || s0=""
	t0=$(now_ns)
	if [ "$1" = "$PGVAULT" ] && [ -n "$PERF" ]; then
		perf=1
		"$PERF" record -q -g -o "$f.perf" -- /usr/bin/time -f "%M %U %S %e" -o "$f.time" "$@" \
			>"$f.out" 2>"$f.err" </dev/null || rc=$?
	else
		/usr/bin/time -f "%M %U %S %e" -o "$f.time" "$@" >"$f.out" 2>"$f.err" </dev/null || rc=$?
	fi
	t1=$(now_ns)
	s1=$(srv_ticks) || s1=""
	o1=$(stat -c %s "$SLOG")
	q -d postgres -c "INSERT INTO bench_stop VALUES (1)" >/dev/null
	wait "$sampler" || : >"$f.waits"
	if [ "$rc" != 0 ] || grep -q '^Command \(exited with non-zero status\|terminated by signal\)' "$f.time"; then
		tail -n 5 "$f.err" >&2
		die "profile run of \"$label\" failed (exit $rc)$(awk 'NF { l = $0 } END { if (l != "") printf ": %s", substr(l, 1, 200) }' "$f.err")"
	fi
	dd if="$SLOG" of="$f.log" iflag=skip_bytes,count_bytes skip="$o0" count=$((o1 - o0)) status=none
	stmt_classes "$f.log" >"$f.cls"
	read -r rss usr sys el < <(tail -n 1 "$f.time")
	srv="-"
	[ -n "$s0" ] && [ -n "$s1" ] && srv=$(awk -v a="$s0" -v b="$s1" -v hz="$CLK_TCK" 'BEGIN { printf "%.2f", (b - a) / hz }')
	# perf record's own start and end take about a second: under perf, the wall time is
	# /usr/bin/time's (inside perf, 10 ms resolution), else the clock's around the command
	wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
	[ -z "$perf" ] || wall="$el"
	awk -F'\t' -v w="$wall" -v u="$usr" -v s="$sys" -v r="$rss" -v srv="$srv" '
		{ ms += $1; n += $2 } END { printf "%s %.2f %s %s %.3f %d\n", w, u + s, r, srv, ms / 1000, n }' "$f.cls" >"$f.sum"
	rm -f "$f.log"
}

# pr KEY LABEL CMD...: prof_run once per KEY; the row's runs are listed in ROWKEYS
ROWKEYS=()
pr() {
	ROWKEYS+=("$1")
	[ -f "$PROF/$1.sum" ] || prof_run "$@"
}

# pv_bundle DB: the id of a bundle of DB in $PROF/st/DB (the profile's own backup of DB, or
# an untimed one made now)
pv_bundle() {
	if [ ! -s "$PROF/st/$1.id" ]; then
		log "  profile: an untimed backup of $1 for the restore"
		rm -rf "$PROF/st/$1"
		"${PV[@]}" backup --storage "$PROF/st/$1" --db "$1" --jobs "$JOBS" >"$PROF/st/$1.out" </dev/null ||
			die "profile: the backup of $1 failed"
		id_of "$PROF/st/$1" "$1" >"$PROF/st/$1.id"
	fi
	cat "$PROF/st/$1.id"
}
# pv_backup DB LABEL ARGS...: the profiled pgvault backup of DB (storage $PROF/st/DB)
pv_backup() {
	local db="$1" label="$2"
	shift 2
	if [ ! -f "$PROF/pvb-$db.sum" ]; then rm -rf "$PROF/st/$db" "$PROF/st/$db.id"; fi
	pr "pvb-$db" "$label" "${PVV[@]}" backup --storage "$PROF/st/$db" "$@"
	[ -s "$PROF/st/$db.id" ] || first_id "$PROF/pvb-$db.out" >"$PROF/st/$db.id"
}
# pd_dump DB: a pg_dump -Fc of DB in $PROF/out/DB.dump (the profiled one, or an untimed one)
pd_dump() {
	if [ ! -s "$PROF/out/$1.dump" ]; then
		log "  profile: an untimed pg_dump -Fc of $1 for the restore"
		"$PGBIN/pg_dump" -Fc -f "$PROF/out/$1.dump" "$1" </dev/null || die "profile: pg_dump of $1 failed"
	fi
}

# prof_details KEY: the statement classes, -v lines and perf report of one run
prof_details() {
	local f="$PROF/$1" label n samples
	label=$(cat "$f.label")
	n=$(awk 'END { print NR }' "$f.cls")
	if [ "$n" = 0 ]; then
		echo "\`$label\` sent no statement to the server."
	else
		echo "Server statements of \`$label\` by class (the largest 8 of $n; parse and bind add to the time, only executions count):"
		echo
		{
			printf 'class\texecutions\ttotal ms\n'
			head -n 8 "$f.cls" | awk -F'\t' '{ printf "%s\t%d\t%.1f\n", substr($3, 1, 60), $2, $1 }'
			awk -F'\t' -v n="$n" '{ ms += $1; c += $2 } END { printf "all %d classes\t%d\t%.1f\n", n, c, ms }' "$f.cls"
		} | md_table
	fi
	echo
	prof_waits "$f"
	if grep -q -E ' in [0-9]+\.[0-9]+s' "$f.err"; then
		echo "pgvault -v, its lines with phase times (\$W = the work directory):"
		echo
		echo '```'
		awk -v w="$W/" '/ in [0-9]+\.[0-9]+s/ && n++ < 6 { sub(/^[0-9][0-9T:.Z+-]* /, "")
			while ((i = index($0, w))) $0 = substr($0, 1, i - 1) "$W/" substr($0, i + length(w))
			print substr($0, 1, 200) }' "$f.err"
		awk '/ in [0-9]+\.[0-9]+s/ { n++ }
			/catalog objects read in/ { b++; for (i = 1; i < NF; i++) {
				if ($i == "read" && $(i + 1) == "in") c += $(i + 2)
				if ($i == "rows" && $(i + 1) == "in") r += $(i + 2)
				if ($i == "written" && $(i + 1) == "in") w += $(i + 2)
				if ($i == "verified" && $(i + 1) == "in") v += $(i + 2) } }
			END { if (n > 6) printf "... %d more lines like these\n", n - 6
				if (b > 1) printf "sum over %d databases: catalog %.3fs, rows %.3fs, written %.3fs, verified %.3fs\n", b, c, r, w, v }' "$f.err"
		echo '```'
		echo
	fi
	if [ -s "$f.perf" ]; then
		samples=$("$PERF" report -i "$f.perf" --stdio --no-children -g none --sort dso 2>/dev/null |
			awk '/^# Samples:/ { sub(/^# Samples: */, ""); sub(/ +of event /, " samples of "); print; exit }')
		echo "\`perf record -g\` of \`$label\` (${samples:-samples unknown}), self time by shared object, then by symbol:"
		echo
		echo '```'
		"$PERF" report -i "$f.perf" --stdio --no-children -g none --sort dso 2>/dev/null |
			awk '!/^#/ && NF && n++ < 6 { sub(/ +$/, ""); print }'
		echo '--'
		# addresses without a symbol (a library without debug symbols) merged per object;
		# the trailing "-" columns (IPC, not measured here) dropped
		"$PERF" report -i "$f.perf" --stdio --no-children -g none --sort dso,symbol 2>/dev/null |
			awk '!/^#/ && NF && $1 ~ /%$/ {
					p = $1 + 0; sub(/^ *[0-9.]+% +/, ""); sub(/[ -]+$/, "")
					if (match($0, / \[[.kgu]\] 0x[0-9a-f]+$/)) $0 = substr($0, 1, RSTART - 1) " [.] (addresses without symbols)"
					d = $1; sub(/^[^ ]+ +/, ""); v[sprintf("%-22s %s", d, $0)] += p }
				END { for (k in v) printf "%9.2f%%  %s\n", v[k], k }' |
			sort -k1,1gr | awk 'n++ < 8 { print substr($0, 1, 120) }'
		echo '```'
		echo
	elif [ -z "$PERF" ] && [[ "$label" == pgvault* ]]; then
		echo "(No working perf: no CPU profile of pgvault; on Debian, apt-get install linux-perf.)"
		echo
	fi
}

# prof_waits F: the sampled states of the server's working sessions during run F
prof_waits() {
	local f="$1"
	[ -s "$f.waits" ] || return 0
	echo "Server sessions during the run, sampled every 10 ms from pg_stat_activity (client backends and parallel workers that are not idle; \"CPU\" = active with no wait event; \`Client:ClientRead\` while active = waiting for data from the client, as COPY FROM STDIN does; session-seconds = samples × the sampler's time / its rounds):"
	echo
	{
		printf 'state or wait event\tsamples\tsession-seconds\tshare\n'
		awk -F'\t' '$1 == "rounds" { r = $2; next } $1 == "elapsed_us" { e = $2 / 1e6; next }
			$1 == "sessions" { next }
			{ w[$1] = $2; t += $2 }
			END { if (r < 1) exit
				for (k in w) printf "%s\t%d\t%.2f\t%.0f%%\n", k, w[k], w[k] * e / r, 100 * w[k] / t }' "$f.waits" |
			sort -t$'\t' -k2,2nr | head -n 8
		awk -F'\t' '$1 == "rounds" { r = $2; next } $1 == "elapsed_us" { e = $2 / 1e6; next }
			$1 == "sessions" { m = $2; next } { t += $2 }
			END { if (r > 0) printf "all, in %d rounds over %.2f s (at most %d at once)\t%d\t%.2f\t100%%\n", r, e, m, t, t * e / r }' "$f.waits"
	} | md_table
	echo
}

# prof_table KEY...: one line per run
prof_table() {
	local k
	{
		printf 'profile run\twall\tclient CPU (user+sys)\tpeak RSS\tserver CPU\tserver statements (logged)\texecutions\n'
		for k in "$@"; do
			read -r wall cpu rss srv st n <"$PROF/$k.sum"
			printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$(cat "$PROF/$k.label")" "$(fmt s "$wall")" "$(fmt s "$cpu")" \
				"$(fmt MiB "$rss")" "$(if [ "$srv" = - ]; then echo "?"; else fmt s "$srv"; fi)" "$(fmt s "$st")" "$n"
		done
	} | md_table
}

# waits_summary F: one sentence: the sampled server sessions' time by kind of state
waits_summary() {
	[ -s "$1.waits" ] || return 0
	awk -F'\t' '$1 == "rounds" { r = $2; next } $1 == "elapsed_us" { e = $2 / 1e6; next }
		$1 == "sessions" { next }
		{ k = "other"
		  if ($1 == "CPU") k = "cpu"
		  else if ($1 ~ /^Client:/ || $1 ~ /^idle in transaction/) k = "client"
		  else if ($1 ~ /^(Lock|LWLock):/) k = "lock"
		  else if ($1 ~ /^IO:/) k = "io"
		  c[k] += $2; t += $2 }
		END { if (r < 1 || t < 1) exit
			printf " The server sessions were busy for %.2f session-seconds: %.0f%% on CPU, %.0f%% waiting on I/O (data files, WAL), %.0f%% on locks, %.0f%% on the client (pgvault or the peer), %.0f%% other.", \
				t * e / r, 100 * c["cpu"] / t, 100 * c["io"] / t, 100 * c["lock"] / t, 100 * c["client"] / t, 100 * c["other"] / t }' "$1.waits"
}

# prof_verdict LIMIT PV_MEDIAN PEER_NAME PEER_MEDIAN KEY [PEER_KEY]: the row's conclusion,
# from KEY's run (and the peer's, when pgvault asked more of the server than it did)
prof_verdict() {
	local lim="$1" pvm="$2" peer="$3" pm="$4" wall cpu rss srv st n psrv="-" x
	read -r wall cpu rss srv st n <"$PROF/$5.sum"
	[ -n "${6:-}" ] && [ -s "$PROF/$6.sum" ] && read -r x x x psrv x x <"$PROF/$6.sum"
	if [ "$srv" = - ]; then
		echo "**Conclusion:** server statements $(fmt s "$st") of $(fmt s "$wall") wall; pgvault CPU $(fmt s "$cpu"); the server's CPU could not be read, so no floor."
		return 0
	fi
	# the server's own work in session-seconds: every sampled state but waiting on the client
	# (or idle in its transaction) and heavyweight locks other than the extension lock
	local sw="0 0 0"
	[ -s "$PROF/$5.waits" ] && sw=$(awk -F'\t' '$1 == "rounds" { r = $2; next }
		$1 == "elapsed_us" { e = $2 / 1e6; next } $1 == "sessions" { m = $2; next }
		$1 ~ /^Client:/ || $1 ~ /^idle/ || ($1 ~ /^Lock:/ && $1 != "Lock:extend") { next }
		{ t += $2 } $1 == "IO:DataFileImmediateSync" { y = $2 }
		END { if (r > 0) printf "%.2f %d %.2f", t * e / r, m, y * e / r; else print "0 0 0" }' "$PROF/$5.waits")
	local sws swm swy
	read -r sws swm swy <<<"$sw"
	awk -v lim="$lim" -v pvm="$pvm" -v peer="$peer" -v pm="$pm" -v w="$wall" -v cc="$cpu" -v cs="$srv" \
		-v st="$st" -v n="$NCPU" -v sws="$sws" -v swm="$swm" -v swy="$swy" -v psrv="$psrv" 'BEGIN {
		req = lim * pm; fl = (cs + cc) / n; sb = swm > 0 ? sws / swm : 0
		printf "**Conclusion:** server statements %.2f s of %.2f s wall; server CPU %.2f s, pgvault CPU %.2f s (the server %.0f%% of the CPU); ", st, w, cs, cc, (cs + cc > 0) ? 100 * cs / (cs + cc) : 0
		printf "%d cores: CPU-bound floor = (%.2f + %.2f) / %d = %.2f s, against the %.2f s the target allows (%s × %s median %.2f s; pgvault median %.2f s). ", n, cs, cc, n, fl, req, lim, peer, pm, pvm
		if (cs / n > req) {
			printf "Out of reach on this machine whatever pgvault does: the server CPU alone, spread over %d cores, takes %.2f s.", n, cs / n
			if (psrv != "-" && psrv + 0 < cs && psrv / n > req)
				printf " pgvault asks more of the server than %s does (%.2f s of server CPU), but even the peer'"'"'s %.2f s take %.2f s over %d cores.", peer, psrv, psrv, psrv / n, n
			else if (psrv != "-" && psrv + 0 < cs)
				printf " But pgvault asks more of the server than %s does (%.2f s of server CPU; %.2f s over %d cores): see the statement classes.", peer, psrv, psrv / n, n
		} else if (sb > req) {
			printf "Out of reach on this machine with the sessions the run uses: the server worked %.2f session-seconds for its statements (on CPU, its own I/O and fsyncs, its internal locks; not counted: waiting for the client or on another session'"'"'s lock), on at most %d sessions at once: at least %.2f s, over the %.2f s allowed.", sws, swm, sb, req
			if (swy > 0.05 * sws)
				printf " %.2f session-seconds of it are IO:DataFileImmediateSync: PostgreSQL before 17 fsyncs every index it builds (a table'"'"'s TOAST index too) before the statement returns, since the build writes outside shared buffers; one wait per index, for pgvault and its peer alike.", swy
		} else if (fl > req)
			printf "Out of reach on this machine at this CPU: with the server part as it is, pgvault CPU would have to fall from %.2f s to %.2f s.", cc, req * n - cs
		else
			printf "The CPU would allow it: %.2f s of the wall is above the floor (waiting on I/O and fsync, round trips, serial phases; see the statement classes and the sessions'"'"' states).", w - fl
		if (sb <= req && sb > 0.8 * req) {
			printf " But the server'"'"'s own work for the statements (on CPU, its own I/O and fsyncs, its internal locks) took %.2f session-seconds on at most %d sessions at once: %.2f s of the %.2f s allowed (%.0f%%), leaving %.2f s for everything that cannot overlap it (the serial steps, the ends of phases, reading the bundle, round trips).", sws, swm, sb, req, 100 * sb / req, req - sb
			if (swy > 0.05 * sws)
				printf " %.2f session-seconds of it are IO:DataFileImmediateSync: PostgreSQL before 17 fsyncs every index it builds (a table'"'"'s TOAST index too) before the statement returns, since the build writes outside shared buffers; one wait per index, for pgvault and its peer alike.", swy
		}
	}'
	waits_summary "$PROF/$5"
	echo
}

# prof_verdict_self LIMIT PV_MEDIAN PEER_NAME PEER_MEDIAN KEY KEY1: the conclusion of a row
# whose peer is pgvault's own --jobs 1 (run KEY1): that run keeps B cores busy ((server CPU
# + client CPU) / wall); --jobs N does at least its work, at most N / B times faster, so the
# ratio is at least B / N; when that is above the target, no scheduling reaches it here
prof_verdict_self() {
	local lim="$1" pvm="$2" peer="$3" pm="$4" w1 c1 r1 s1 st1 n1
	read -r w1 c1 r1 s1 st1 n1 <"$PROF/$6.sum"
	if [ "$s1" = - ]; then
		prof_verdict "$1" "$2" "$3" "$4" "$5"
		return 0
	fi
	awk -v lim="$lim" -v pvm="$pvm" -v peer="$peer" -v pm="$pm" -v w1="$w1" -v c1="$c1" -v s1="$s1" \
		-v n="$NCPU" 'BEGIN {
		busy = (s1 + c1) / w1; bound = busy / n; req = lim * pm
		printf "**Conclusion:** the peer is pgvault itself: its %s profile run kept %.2f of the %d cores busy (server CPU %.2f s + pgvault CPU %.2f s in %.2f s of wall; perf and the statement log slow that run, its work and its wall alike). ", peer, busy, n, s1, c1, w1
		printf "The parallel run does at least that work, and %d cores do it at most %.2fx faster: a ratio of at least %.2f / %d = %.2f, where the target asks for %.2f (%.2f s against %s'"'"'s median %.2f s; pgvault median %.2f s, ratio %.2f). ", n, n / busy, busy, n, bound, lim, req, peer, pm, pvm, pvm / pm
		if (bound > lim)
			printf "Out of reach on this machine however pgvault schedules its work: --jobs 1 already overlaps reading, compressing and the server."
		else
			printf "The CPU would allow it: the median is %.2f s above that bound (see the sessions'"'"' states).", pvm - bound * pm
	}'
	waits_summary "$PROF/$5"
	# sessions of one table waiting for each other inside the server: the relation extension
	# lock (COPYs into one heap extend it one at a time) and WAL writes
	[ -s "$PROF/$5.waits" ] && awk -F'\t' '$1 == "rounds" || $1 == "elapsed_us" || $1 == "sessions" { next }
		{ t += $2 } $1 == "Lock:extend" { x = $2 } $1 ~ /^(LWLock|IO):WAL/ { wal += $2 }
		END { if (t > 0 && x / t >= 0.05)
			printf " Of that, %.0f%% waited on the relation extension lock and %.0f%% on WAL writes: the parallel sessions load one table, and the server extends its heap one session at a time and flushes one WAL; that wait is the server'"'"'s.", 100 * x / t, 100 * wal / t }' "$PROF/$5.waits"
	echo
}

# prof_row WORKLOAD MEASUREMENT: the profile of one unmet target row, markdown on stdout
prof_row() {
	local wl="$1" m="$2" j="$JOBS" id lim="" pvn="" peern="" pvm pm k dbs=() i wall cpu rss srv st n raw
	ROWKEYS=()
	echo "### $wl: $m"
	echo
	case "$wl|$m" in
	"bot|backup vs pg_dump -Fc")
		lim=0.5 pvn="pgvault backup" peern="pg_dump -Fc"
		pv_backup bot "pgvault backup" --db bot
		pr pd-bot "pg_dump -Fc" "$PGBIN/pg_dump" -Fc -f "$PROF/out/bot.dump" bot ;;
	"fleet|backup --jobs $j vs pg_dump -Fc loop")
		lim=0.3 pvn="pgvault backup --jobs $j" peern="pg_dump -Fc loop"
		for ((i = 1; i <= FLEET; i++)); do dbs+=(--db "bot$i"); done
		pv_backup fleet "pgvault backup --jobs $j (bot1..bot$FLEET)" "${dbs[@]}" --jobs "$j"
		mkdir -p "$PROF/out/fleet"
		pr pd-fleet "pg_dump -Fc loop (bot1..bot$FLEET)" bash -c \
			'for ((i = 1; i <= $1; i++)); do "$2" -Fc -f "$3/bot$i.dump" "bot$i" || exit 1; done' \
			_ "$FLEET" "$PGBIN/pg_dump" "$PROF/out/fleet" ;;
	"many|backup --jobs $j vs pg_dump -Fc")
		lim=0.5 pvn="pgvault backup --jobs $j" peern="pg_dump -Fc"
		pv_backup many "pgvault backup --jobs $j" --db many --jobs "$j"
		pr pd-many "pg_dump -Fc" "$PGBIN/pg_dump" -Fc -f "$PROF/out/many.dump" many ;;
	"many|restore --jobs $j vs pg_restore -j$j" | "bench|restore --jobs $j vs pg_restore -j$j")
		lim=$([ "$wl" = many ] && echo 0.25 || echo 0.6) pvn="pgvault restore --jobs $j" peern="pg_restore -j$j"
		id=$(pv_bundle "$wl")
		pd_dump "$wl"
		drop_db prof_pv
		pr "pvr-$wl" "pgvault restore --jobs $j" "${PVV[@]}" restore --storage "$PROF/st/$wl" "$id" --as prof_pv --jobs "$j"
		drop_db prof_pv
		drop_db prof_pr
		q -d postgres -c "CREATE DATABASE prof_pr TEMPLATE template0"
		pr "pdr-$wl" "pg_restore -j$j" "$PGBIN/pg_restore" -j "$j" -d prof_pr "$PROF/out/$wl.dump"
		drop_db prof_pr ;;
	"bench|backup --jobs $j vs pg_dump -Fc")
		lim=0.45 pvn="pgvault backup --jobs $j" peern="pg_dump -Fc"
		pv_backup bench "pgvault backup --jobs $j" --db bench --jobs "$j"
		pr pd-bench "pg_dump -Fc" "$PGBIN/pg_dump" -Fc -f "$PROF/out/bench.dump" bench ;;
	"bench|backup --jobs $j vs pg_dump | zstd")
		lim=0.75 pvn="pgvault backup --jobs $j" peern="pg_dump | zstd -T0 -3"
		pv_backup bench "pgvault backup --jobs $j" --db bench --jobs "$j"
		pr pz-bench "pg_dump | zstd -T0 -3" bash -c 'set -o pipefail; "$1" "$2" | "$3" -T0 -3 -q >"$4"' \
			_ "$PGBIN/pg_dump" bench "$ZSTD" "$PROF/out/bench.sql.zst"
		rm -f "$PROF/out/bench.sql.zst" ;;
	"big|backup --jobs $j vs --jobs 1")
		lim=0.6 pvn="pgvault backup --jobs $j" peern="pgvault backup --jobs 1"
		pv_backup big "pgvault backup --jobs $j" --db big --jobs "$j"
		# the peer is pgvault itself: its run too, for how busy it keeps the machine
		[ -f "$PROF/pvb1-big.sum" ] || rm -rf "$PROF/st/big1"
		pr pvb1-big "pgvault backup --jobs 1" "${PVV[@]}" backup --storage "$PROF/st/big1" --db big --jobs 1 ;;
	"big|restore --jobs $j vs --jobs 1")
		lim=0.6 pvn="pgvault restore --jobs $j" peern="pgvault restore --jobs 1"
		id=$(pv_bundle big)
		drop_db prof_pv
		pr pvr-big "pgvault restore --jobs $j" "${PVV[@]}" restore --storage "$PROF/st/big" "$id" --as prof_pv --jobs "$j"
		drop_db prof_pv
		pr pvr1-big "pgvault restore --jobs 1" "${PVV[@]}" restore --storage "$PROF/st/big" "$id" --as prof_pv --jobs 1
		drop_db prof_pv ;;
	"verify|verify GB/s per core")
		id=$(pv_bundle bench)
		pr pvv-bench "pgvault verify" "${PVV[@]}" verify --storage "$PROF/st/bench" "$id" ;;
	"bench|bundle bytes vs pg_dump | zstd")
		echo "A size target, not a time one: nothing to profile."
		echo
		return 0 ;;
	"bench|peak RSS backup --jobs $j")
		echo "A memory target, not a time one: no time profile.$([ -f "$PROF/pvb-bench.sum" ] &&
			awk '{ printf " The profile run of pgvault backup --jobs '"$j"' on bench (above) peaked at %.1f MiB.", $3 / 1024 }' "$PROF/pvb-bench.sum")"
		echo
		return 0 ;;
	"mem|peak RSS bench4x - bench")
		echo "A memory target, not a time one: no time profile."
		echo
		return 0 ;;
	*)
		echo "No profile is defined for this row."
		echo
		return 0 ;;
	esac
	pvm="" pm=""
	if [ -n "$pvn" ]; then pvm=$(med "$wl" "$pvn" wall); fi
	if [ -n "$peern" ]; then pm=$(med "$wl" "$peern" wall); fi
	if [ -n "$pvm" ] && [ -n "$pm" ]; then
		echo "Target: pgvault ≤ $lim × $peern's median $(fmt s "$pm") = $(awk -v l="$lim" -v p="$pm" 'BEGIN { printf "%.2f s", l * p }'); pgvault's median $(fmt s "$pvm")."
		echo
	fi
	prof_table "${ROWKEYS[@]}"
	echo
	for k in "${ROWKEYS[@]}"; do
		if [ -f "$PROF/$k.shown" ]; then
			echo "\`$(cat "$PROF/$k.label")\`: the same run as in $(cat "$PROF/$k.shown") above."
			echo
		else
			prof_details "$k"
			echo "$wl: $m" >"$PROF/$k.shown"
		fi
	done
	if [ "$wl" = verify ]; then
		read -r wall cpu rss srv st n <"$PROF/pvv-bench.sum"
		raw=$(bundle_raw_bytes "$(bundle_of "$PROF/st/bench" bench)")
		echo "**Conclusion:** verify read $(fmt MB "$raw") of uncompressed data with $(fmt s "$cpu") of CPU in the profile run: $(awk -v b="$raw" -v c="$cpu" 'BEGIN { if (c > 0) printf "%.2f GB/s per core", b / 1e9 / c; else printf "too short to measure" }') (target ≥ 1 GB/s per core); the server's CPU: $(if [ "$srv" = - ]; then echo unknown; else fmt s "$srv"; fi). A client-only target: the perf profile above shows where the CPU goes."
	elif [ -n "$pvm" ] && [ -n "$pm" ] && [ "$wl" = big ]; then
		prof_verdict_self "$lim" "$pvm" "$peern" "$pm" "${ROWKEYS[0]}" "${ROWKEYS[1]}"
	elif [ -n "$pvm" ] && [ -n "$pm" ]; then
		prof_verdict "$lim" "$pvm" "$peern" "$pm" "${ROWKEYS[0]}" "${ROWKEYS[1]:-}"
	fi
	echo
}

prof_intro() {
	cat <<EOF
For every target row that is not met: one more run of its pgvault command (\`pgvault -v\`$([ -n "$PERF" ] && echo ", under \`perf record -g\`")) and, when the peer is pg_dump / pg_restore, of the peer's command, after the measurements; these runs are not in the tables above (a bundle or dump a restore needs is made beforehand, untimed). Each run is preceded by a CHECKPOINT and a sync.

- **server statements**: \`log_min_duration_statement = 0\` for the step (ALTER SYSTEM, reset afterwards); the durations the server logged during the run, summed by statement class (COPY; "sequence values" = pg_dump's \`SELECT <oid>::pg_catalog.oid, last_value ...\`; else the first words). Logging every statement costs a little, so the sums run a little high; a COPY's duration includes waiting for the client (COPY TO STDOUT blocks while the client is not reading, COPY FROM STDIN waits for its data), so it is time spent in the statement, not necessarily server work; two sessions in parallel can log more than the wall time.
- **server CPU**: user+system CPU of the cluster's processes, from \`/proc/PID/stat\`: the postmaster's utime+stime+cutime+cstime plus those of each of its live children, before and after the run (cutime/cstime hold the CPU of every backend or worker that exited and was reaped, so short-lived backends count). In ticks of 1/$CLK_TCK s, a tick or two of error; it includes the background processes (checkpointer, WAL writer, autovacuum) during the run, and no time waiting for I/O.
- **client CPU**: user+system of the command by \`/usr/bin/time\` (with its children: zstd of the pipe, each pg_dump of the loop)$([ -n "$PERF" ] && echo "; perf's sampling adds a little to pgvault's").
- **wall**: the clock around the command$([ -n "$PERF" ] && echo "; for pgvault under perf, /usr/bin/time's elapsed time inside perf (10 ms resolution), since perf's own start and end take about a second"). One run, not a median: compare it with the medians above with care.
- **server sessions' states**: a function in the server samples \`pg_stat_activity\` every 10 ms during the run (no writes) and counts what each working session (client backends and parallel workers, not idle) is doing: on CPU, waiting on a lock, on I/O, on WAL, or on the client; scaled to session-seconds by the wall time.
- **floor**: (server CPU + client CPU) / $NCPU cores: the wall time if the work were perfectly spread over the cores and nothing waited. When that floor is above the time the target allows, the target cannot be met on this machine, however pgvault schedules its work.
- **sessions' bound**: the server's own work in session-seconds (every sampled state except waiting on the client, idle in transaction, and heavyweight locks other than the relation extension lock: CPU, the server's I/O and fsyncs, its internal locks) divided by the most sessions seen working at once: a statement runs on one session, so the run cannot take less wall time than that with those sessions, however it orders its statements. It counts what CPU does not: the server waiting on its own fsyncs.

EOF
}

# profile_unmet: the section, into $W/profile.md
profile_unmet() {
	local rows wl m rc t0
	t0=$(now_ns)
	rows=$(targets | awk -F'\t' '$7 == "no" && $2 !~ /^FAILED/ { print $1 "\t" $2 }')
	rm -rf "$PROF"
	mkdir -p "$PROF/st" "$PROF/out"
	PERF=$(command -v perf || true)
	if [ -n "$PERF" ] && ! "$PERF" record -q -o "$PROF/probe.perf" -- true >/dev/null 2>&1; then
		log "perf is installed but perf record does not work here: no CPU profile"
		PERF=""
	fi
	rm -f "$PROF/probe.perf"
	{
		echo "## Where the time goes (unmet targets)"
		echo
		prof_intro
	} >"$W/profile.md"
	if [ -z "$rows" ]; then
		echo "Every target is met (or failed): nothing to profile." >>"$W/profile.md"
		return 0
	fi
	log "profile of the unmet targets"
	sampler_setup >/dev/null || die "could not create the wait-event sampler"
	prof_log_setting 0 || die "could not set log_min_duration_statement = 0"
	while IFS=$'\t' read -r wl m <&3; do
		rm -f "$PROF/why"
		trap - ERR
		set +e
		(
			set -e
			die() { echo "$*" >"$PROF/why"; echo "bench: error: $*" >&2; exit 1; }
			trap 'rc=$?; [ -s "$PROF/why" ] || echo "command failed (exit $rc): $BASH_COMMAND" >"$PROF/why"; on_err $rc $LINENO "$BASH_COMMAND"' ERR
			prof_row "$wl" "$m"
		) >"$PROF/row.md" </dev/null
		rc=$?
		set -e
		trap 'on_err $? $LINENO "$BASH_COMMAND"' ERR
		case "$rc" in 129 | 130 | 143) exit "$rc" ;; esac
		cat "$PROF/row.md" >>"$W/profile.md"
		if [ "$rc" != 0 ]; then
			{
				echo "**The profile of this row failed** (exit $rc): $(cut -c 1-300 "$PROF/why" 2>/dev/null || echo unknown)"
				echo
			} >>"$W/profile.md"
			log "profile of \"$wl: $m\" failed, the next row"
		fi
		drop_db prof_pv >/dev/null 2>&1 || true
		drop_db prof_pr >/dev/null 2>&1 || true
	done 3<<<"$rows"
	prof_log_setting default || die "could not reset log_min_duration_statement"
	echo "The profile step took $(secs_since "$t0") s." >>"$W/profile.md"
	rm -rf "$PROF/st" "$PROF/out"
}

# ---- main ---------------------------------------------------------------------------------

log "workloads: $WL; REPS=$REPS JOBS=$JOBS; work directory $W"
log "pgvault: $PGVAULT ($("$PGVAULT" --version 2>&1 | awk 'NR == 1'))"
pg_start "$W/pg" >/dev/null || die "the PostgreSQL server did not start"
SERVER_UP=1
log "server: $("$PGBIN/postgres" --version), port $PGPORT"

for w in $WL; do
	build "$w"
done
sync

# The measurements' server settings: fsync back on (pg_start turns it off for the build),
# PG_SETTINGS added.  pg_start puts -c fsync=off on the server's command line, which outranks
# postgresql.auto.conf, so ALTER SYSTEM alone does not do: the server restarts without it.
restart=""
if [ "$BENCH_FSYNC" = on ]; then
	q -d postgres -c "ALTER SYSTEM SET fsync = on" -c "SELECT pg_reload_conf()" >/dev/null
	sleep 1
	if [ "$(qv -d postgres -c 'SHOW fsync')" != on ]; then
		sed -i 's/ *-c fsync=off//' "$W/pg/options"
		restart=1
	fi
fi
# PostgreSQL's default max_connections (100, and with it the lock table's size), not the
# test suite's 60
if grep -q -- '-c max_connections=' "$W/pg/options"; then
	sed -i 's/ *-c max_connections=[0-9]*//' "$W/pg/options"
	restart=1
fi
for kv in $PG_SETTINGS; do
	echo " -c $kv" >>"$W/pg/options"
	restart=1
done
if [ -n "$restart" ]; then
	tr -d '\n' <"$W/pg/options" >"$W/pg/options.new" && mv "$W/pg/options.new" "$W/pg/options"
	pg_as_owner "$PGBIN/pg_ctl" -D "$W/pg/data" -m fast -w stop >/dev/null ||
		die "could not stop the server to change its settings"
	pg_as_owner "$PGBIN/pg_ctl" -D "$W/pg/data" -l "$W/pg/log/server.log" -w -t 60 \
		-o "$(cat "$W/pg/options")" start >/dev/null ||
		{ tail -n 20 "$W/pg/log/server.log" >&2; die "the server did not restart (options: $(cat "$W/pg/options"))"; }
fi
[ "$(qv -d postgres -c 'SHOW fsync')" = "$BENCH_FSYNC" ] || die "fsync is not $BENCH_FSYNC"
for kv in $PG_SETTINGS; do
	v=$(qv -d postgres -c "SHOW ${kv%%=*}") || die "PG_SETTINGS: no setting ${kv%%=*}"
	log "${kv%%=*} = $v"
done
log "fsync is $BENCH_FSYNC"

# Each workload in a subshell of its own: one that fails stops there, the others still run.
FAILED=""
for w in $WL; do
	trap - ERR
	set +e
	(
		set -e
		trap 'on_err $? $LINENO "$BASH_COMMAND"' ERR
		"run_$w"
	)
	rc=$?
	set -e
	trap 'on_err $? $LINENO "$BASH_COMMAND"' ERR
	case "$rc" in 129 | 130 | 143) exit "$rc" ;; esac # interrupted: stop the run
	if [ "$rc" != 0 ]; then
		FAILED="$FAILED $w"
		log "workload $w FAILED (exit $rc), its remaining measurements skipped"
		for d in $(qv -d postgres -c "SELECT datname FROM pg_database WHERE datname ~ '_(pv|pr|rj|r1)\$'"); do
			drop_db "$d"
		done
	fi
done

DONE=1
write_results "${FAILED:+FAILED workloads:$FAILED (see Failures)}"

# The profile of the unmet targets (PROFILE=1): RESULTS.md above already holds the
# measurements; the profile adds its section, and whatever fails in it is reported there.
if [ "$PROFILE" = 1 ]; then
	trap - ERR
	set +e
	(
		set -e
		trap 'on_err $? $LINENO "$BASH_COMMAND"' ERR
		profile_unmet
	)
	rc=$?
	set -e
	trap 'on_err $? $LINENO "$BASH_COMMAND"' ERR
	case "$rc" in 129 | 130 | 143) exit "$rc" ;; esac
	if [ "$rc" != 0 ]; then
		log "the profile step failed (exit $rc); the measurements are not affected"
		{ echo; echo "**The profile step failed** (exit $rc); see the benchmark's standard error."; } >>"$W/profile.md"
	fi
	# whatever happened: statement logging off, the profile's databases and files gone
	[ "$(qv -d postgres -c 'SHOW log_min_duration_statement' 2>/dev/null)" = -1 ] ||
		prof_log_setting default || log "could not reset log_min_duration_statement"
	drop_db prof_pv >/dev/null 2>&1 || true
	drop_db prof_pr >/dev/null 2>&1 || true
	rm -rf "$PROF"
	write_results "${FAILED:+FAILED workloads:$FAILED (see Failures)}"
fi
echo
{ echo "$HEAD"; targets; } | print_table
echo
met=$(targets | awk -F'\t' '$7 == "yes"' | wc -l)
all=$(targets | awk -F'\t' '$7 == "yes" || $7 == "no"' | wc -l)
echo "$met of $all targets met; results in $BENCH_RESULTS ($(( ($(date +%s) - T_START) / 60 )) min $(( ($(date +%s) - T_START) % 60 )) s)"
if [ -n "$FAILED" ]; then
	echo "FAILED workloads:$FAILED"
	exit 1
fi
