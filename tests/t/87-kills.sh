#!/usr/bin/env bash
# tests/t/87-kills.sh — SIGKILL of backup and of prune at spread-out points (PV_KILL_POINTS
# each, default 12; `make check-faults` runs 50).  After every kill `list` shows only
# complete bundles and every one of them verifies; the next run removes what the killed ones
# left (temporary files, sidecars whose bundle a killed prune deleted); nothing else in the
# storage directory.  (SIGKILL of restore: tests 76 and 77.)
. "$TOP_SRCDIR/tests/lib/common.sh"
. "$TOP_SRCDIR/tests/lib/oracle.sh"
N=${PV_KILL_POINTS:-12}
DB=pvt87
ST="$T/st"
trap 'dropdb_q $DB' EXIT
dropdb_q "$DB"; createdb_q "$DB"
q -d "$DB" -c "CREATE TABLE t AS SELECT i, md5(i::text) AS h, repeat('x', 200) AS pad FROM generate_series(1, 400000) i;
	CREATE INDEX ON t (h); CREATE TABLE u AS SELECT * FROM t WHERE i % 3 = 0" >/dev/null
export PGVAULT_CHUNK_BYTES=1048576

# listed_verify: every bundle list shows verifies; prints how many there are
listed_verify() {
	local ids id n=0
	pv list --storage "$ST" --db "$DB" --json; expect_rc 0 list
	ids=$(python3 -c 'import json, sys; [print(b["id"]) for b in json.load(open(sys.argv[1]))]' "$T/out")
	touch "$T/verified"
	for id in $ids; do
		n=$((n + 1))
		grep -qxF "$id" "$T/verified" && continue # (a bundle does not change once listed)
		pv verify --storage "$ST" "$id"; expect_rc 0 "verify of listed bundle $id"
		echo "$id" >>"$T/verified"
	done
	echo "$n"
}
orphans() { # sidecars without bundles, temporary files
	find "$ST" -name '.*.tmp.*'
	for s in $(find "$ST" -name '*.manifest.json'); do [ -e "${s%.manifest.json}.pgv" ] || echo "$s"; done
}

# ---- backup
start=$(date +%s%N)
pv backup --storage "$ST" --db "$DB"; expect_rc 0 "a backup"
dur_ms=$(( ($(date +%s%N) - start) / 1000000 ))
kills=0
for ((k = 0; k < N; k++)); do
	"$PGVAULT" backup --storage "$ST" --db "$DB" >/dev/null 2>&1 &
	pid=$!
	sleep "$(awk -v d="$dur_ms" -v k="$k" -v n="$N" 'BEGIN { printf "%.3f", d * (0.05 + 1.0 * k / n) / 1000 }')"
	kill -9 "$pid" 2>/dev/null && kills=$((kills + 1))
	wait "$pid" 2>/dev/null || true
	listed_verify >/dev/null
	sleep 1 # a new second: bundle names are per second
done
dead=$(sh -c 'echo $$') # a pid that is gone
touch "$ST/$DB/.${DB}_20200101T000000Z.pgv.tmp.$dead" "$ST/$DB/.${DB}_20200101T000000Z.manifest.json.tmp.$dead"
side=$(find "$ST" -name '*.manifest.json' | sort | awk 'NR == 1'); cp "$side" "$ST/$DB/${DB}_20200101T000001Z.manifest.json"
pv backup --storage "$ST" --db "$DB"; expect_rc 0 "the next backup"
left=$(orphans)
[ -z "$left" ] || fail "the next backup left what killed backups left: $left"
n=$(listed_verify)
echo "figure: SIGKILL of backup at $kills points: $n bundles listed, all verify; 0 leftovers after the next run"

# ---- prune: many bundles (copies with earlier times), keep_days = 7 (the copies are older)
python3 - "$ST" "$DB" <<'EOF'
import glob, json, os, shutil, sys, time
st, db = sys.argv[1], sys.argv[2]
side = sorted(glob.glob(os.path.join(st, db, "*.manifest.json")))[-1]
tmpl = json.load(open(side))
for k in range(1, 301):
    epoch = int(time.time()) - 86400 * 30 - k * 60
    new = db + "_" + time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(epoch))
    shutil.copyfile(side[: -len(".manifest.json")] + ".pgv", os.path.join(st, db, new + ".pgv"))
    d = dict(tmpl, id=new, snapshot_epoch=epoch, snapshot_time=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch)))
    with open(os.path.join(st, db, new + ".manifest.json"), "w") as f:
        json.dump(d, f)
EOF
printf '[retention]\nkeep_days = 7\n' >"$T/p.conf"; chmod 600 "$T/p.conf"
pkills=0
for ((k = 0; k < N; k++)); do
	"$PGVAULT" --config "$T/p.conf" prune --storage "$ST" >/dev/null 2>&1 &
	pid=$!
	sleep "0.0$((k % 10))$((k % 7))"
	kill -9 "$pid" 2>/dev/null && pkills=$((pkills + 1))
	wait "$pid" 2>/dev/null || true
	pv list --storage "$ST" --db "$DB" --json; expect_rc 0 "list after a killed prune"
	python3 - "$T/out" <<'EOF' || fail "list shows a bundle whose file is gone"
import json, os, sys
sys.exit(0 if all(os.path.exists(b["path"]) for b in json.load(open(sys.argv[1]))) else 1)
EOF
done
# the state a kill between a prune's two deletions leaves (the window is microseconds wide,
# so it is also made by hand): a sidecar whose bundle is gone, and a dead run's temporary file
victim=$(find "$ST" -name '*.manifest.json' | sort | awk 'NR == 1')  # (awk reads it all: head's early exit would SIGPIPE sort, which pipefail turns into a silent exit)
rm -f "${victim%.manifest.json}.pgv"
dead=$(sh -c 'echo $$') # a pid that is gone
touch "$ST/$DB/.${DB}_20200101T000000Z.pgv.tmp.$dead"
pv --config "$T/p.conf" prune --storage "$ST"; expect_rc 0 "the next prune"
[ ! -e "$victim" ] || fail "the sidecar whose bundle is gone is still there"
left=$(orphans)
[ -z "$left" ] || fail "the next prune left what killed prunes left: $left"
n=$(listed_verify)
[ "$n" -ge 1 ] || fail "prune left no bundle"
echo "figure: SIGKILL of prune at $pkills points (300 bundles to delete): list never shows a missing bundle; 0 leftovers after the next run; $n bundle(s) kept, all verify"
echo "all good"
