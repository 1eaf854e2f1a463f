# Retention (SPEC §5) against real bundles.  History is fabricated: a copy of a real bundle
# whose sidecar (DIR/<db>/<id>.manifest.json, the only thing list and prune read) carries an
# older snapshot time and the matching id.  For every policy: which ids remain, and
# `prune --dry-run` predicts the real run exactly while deleting nothing.  Also: the newest
# verified bundle survives any policy, unverified bundles are never deleted, tagged
# pre-deploy bundles do not push out untagged ones, an empty policy is refused, leftovers of
# dead runs are removed, and prune_after_backup prunes only after a fully successful backup.
. "$TOP_SRCDIR/tests/lib/common.sh"
. "$TOP_SRCDIR/tests/lib/oracle.sh"

db=pv81_prune
dropdb_q "$db"; createdb_q "$db"
trap 'q -d postgres -c "ALTER DATABASE $db ALLOW_CONNECTIONS true" >/dev/null 2>&1 || true; dropdb_q "$db" || true' EXIT
q -d "$db" -c "CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 200) g"
unset PGVAULT_STORAGE PGVAULT_KEEP_DAYS PGVAULT_KEEP_MIN 2>/dev/null || true

failures=0
check() { # description, then a command; records a failure instead of stopping
	local what="$1"; shift
	echo "--- $what"
	if "$@"; then echo "ok: $what"; else echo "NOT OK: $what" >&2; failures=$((failures + 1)); fi
}
show() { { echo "--- exit $rc; stdout:"; cat "$T/out"; echo "--- stderr:"; cat "$T/err"; } >&2; }
conf() { local f="$1"; shift; printf '%s\n' "$@" >"$f"; chmod 600 "$f"; }

# Real bundles: several untagged, several pre-deploy (one second apart, so that their
# snapshot times differ).
real="$T/real"
for tag in "" "" "" pre-deploy pre-deploy; do
	if [ -n "$tag" ]; then pv backup --storage "$real" --db "$db" --tag "$tag"; else pv backup --storage "$real" --db "$db"; fi
	expect_rc 0 "backup ${tag:+--tag $tag}"
	sleep 1
done
pv list --storage "$real" --db "$db" --json; expect_rc 0 list
[ "$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$T/out")" = 5 ] || fail "expected 5 real bundles"
tmpl=$(ls "$real/$db"/*.manifest.json | grep -v pre-deploy | awk 'NR == 1')

# fab STORE WHEN [TAG|-] [verified: true|false] -> prints the id of a new history entry.
# WHEN: seconds ago, or @EPOCH.
fab() {
	python3 - "$tmpl" "$@" <<-'PY'
		import json, os, shutil, sys, time
		tmpl, store, when = sys.argv[1], sys.argv[2], sys.argv[3]
		tag = sys.argv[4] if len(sys.argv) > 4 and sys.argv[4] != "-" else None
		verified = (sys.argv[5] if len(sys.argv) > 5 else "true") == "true"
		epoch = int(when[1:]) if when.startswith("@") else int(time.time()) - int(when)
		d = json.load(open(tmpl))
		fs = os.path.basename(os.path.dirname(tmpl))
		if os.environ.get("FAB_DB"):   # another database (plain name)
		    fs = d["database"] = os.environ["FAB_DB"]
		ddir = os.path.join(store, fs)
		os.makedirs(ddir, mode=0o700, exist_ok=True)
		iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))
		base = fs + "_" + time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(epoch))
		n, new = 1, None
		while True:
		    new = base + ("-%d" % n if n > 1 else "") + ("_" + tag if tag else "")
		    if not os.path.exists(os.path.join(ddir, new + ".pgv")):
		        break
		    n += 1
		shutil.copyfile(tmpl[: -len(".manifest.json")] + ".pgv", os.path.join(ddir, new + ".pgv"))
		d.update(id=new, snapshot_epoch=epoch, snapshot_time=iso, tag=tag, verified=verified)
		if verified:
		    d["verified_at"] = iso
		else:
		    d.pop("verified_at", None)
		with open(os.path.join(ddir, new + ".manifest.json"), "w") as f:
		    json.dump(d, f, indent=1, sort_keys=True)
		print(new)
	PY
}
D=86400; H=3600

ids_in() { # STORE -> sorted ids of the bundles present
	find "$1" -name '*.pgv' -printf '%f\n' 2>/dev/null | sed 's/\.pgv$//' | LC_ALL=C sort
}
files_in() { find "$1" -type f ! -name .lock -printf '%P\n' 2>/dev/null | LC_ALL=C sort; }
sorted() { printf '%s\n' "$@" | sed '/^$/d' | LC_ALL=C sort; }

# prune_case STORE CONFIG "EXPECTED-DELETED-IDS": dry run, then the real run; checks that
# the dry run deleted nothing, predicted the deleted set, and the real run deleted exactly
# that set (bundles and sidecars) and printed it.
prune_case() {
	local store="$1" cfg="$2" want; want=$(sorted $3)
	local before after_dry after would did real_del
	before=$(files_in "$store")
	pv --config "$cfg" --storage "$store" prune --dry-run
	[ "$rc" = 0 ] || { show; echo "prune --dry-run: exit $rc" >&2; return 1; }
	cp "$T/out" "$T/dry.out"
	after_dry=$(files_in "$store")
	[ "$before" = "$after_dry" ] || { diff <(echo "$before") <(echo "$after_dry") >&2; echo "the dry run changed files" >&2; return 1; }
	# every bundle appears exactly once in the dry run
	local listed; listed=$(awk '$1 == "would" { print $3 }' "$T/dry.out" | LC_ALL=C sort)
	[ "$listed" = "$(ids_in "$store")" ] || { show; echo "the dry run does not list every bundle exactly once" >&2; return 1; }
	would=$(awk '$1 == "would" && $2 == "delete" { print $3 }' "$T/dry.out" | LC_ALL=C sort)
	[ "$would" = "$want" ] || {
		show; echo "would delete:"; echo "$would"; echo "expected:"; echo "$want"
		echo "dry run predicts the wrong set" >&2; return 1
	} >&2
	local ids_before; ids_before=$(ids_in "$store")
	pv --config "$cfg" --storage "$store" prune
	[ "$rc" = 0 ] || { show; echo "prune: exit $rc" >&2; return 1; }
	did=$(comm -23 <(echo "$ids_before") <(ids_in "$store"))
	real_del=$(awk '$1 == "delete" { print $2 }' "$T/out" | LC_ALL=C sort)
	[ "$did" = "$would" ] || { show; echo "deleted: $did; the dry run said: $would" >&2; return 1; }
	[ "$real_del" = "$would" ] || { show; echo "prune printed delete for: $real_del; the dry run said: $would" >&2; return 1; }
	# no sidecar without its bundle, no bundle without its sidecar
	local f
	for f in $(find "$store" -name '*.manifest.json'); do
		[ -f "${f%.manifest.json}.pgv" ] || { echo "orphan sidecar $f" >&2; return 1; }
	done
	for f in $(find "$store" -name '*.pgv'); do
		[ -f "${f%.pgv}.manifest.json" ] || { echo "bundle $f lost its sidecar" >&2; return 1; }
	done
	# the same real lines, without "would "
	diff <(sed 's/^would //' "$T/dry.out") "$T/out" >&2 || { echo "the real run's report differs from the dry run's" >&2; return 1; }
}
reason() { # ID -> "keep REASON" / "delete REASON" from the last dry run
	awk -v id="$1" '$1 == "would" && $3 == id { $1 = ""; $3 = ""; sub(/^ +/, ""); gsub(/  +/, " "); print }' "$T/dry.out"
}
expect_reason() { # ID PREFIX
	local got; got=$(reason "$1")
	case "$got" in "$2"*) return 0 ;; esac
	echo "bundle $1: '$got', expected '$2...'" >&2; return 1
}

# --- keep_days --------------------------------------------------------------------------
s="$T/s-days"
n0=$(fab "$s" 60); n1=$(fab "$s" $((1 * D))); n3=$(fab "$s" $((3 * D)))
n5=$(fab "$s" $((5 * D))); n8=$(fab "$s" $((8 * D))); n12=$(fab "$s" $((12 * D)))
conf "$T/days.conf" '[retention]' 'keep_days = 4'
keep_days_case() {
	prune_case "$s" "$T/days.conf" "$n5 $n8 $n12" &&
		expect_reason "$n0" "keep newest verified" && expect_reason "$n1" "keep keep_days" &&
		expect_reason "$n3" "keep keep_days" && expect_reason "$n8" "delete expired" &&
		[ "$(ids_in "$s")" = "$(sorted "$n0" "$n1" "$n3")" ]
}
check "keep_days = 4 keeps 0, 1 and 3 days, deletes 5, 8 and 12" keep_days_case

# --- keep_min ---------------------------------------------------------------------------
s="$T/s-min"
n0=$(fab "$s" 60); n1=$(fab "$s" $((1 * D))); n3=$(fab "$s" $((3 * D)))
n5=$(fab "$s" $((5 * D))); n8=$(fab "$s" $((8 * D))); n12=$(fab "$s" $((12 * D)))
conf "$T/min.conf" '[retention]' 'keep_days = 1' 'keep_min = 4'
keep_min_case() {
	prune_case "$s" "$T/min.conf" "$n8 $n12" && expect_reason "$n5" "keep keep_min" &&
		[ "$(ids_in "$s")" = "$(sorted "$n0" "$n1" "$n3" "$n5")" ]
}
check "keep_days = 1, keep_min = 4 keeps the newest four" keep_min_case
conf "$T/min-only.conf" '[retention]' 'keep_min = 2'
s="$T/s-min-only"
m1=$(fab "$s" $((1 * D))); m2=$(fab "$s" $((2 * D))); m3=$(fab "$s" $((30 * D)))
check "keep_min = 2 alone is a policy: keeps two" prune_case "$s" "$T/min-only.conf" "$m3"

# --- keep_daily (UTC calendar days) ------------------------------------------------------
s="$T/s-daily"
mid=$(( $(date +%s) / D * D ))   # today 00:00 UTC
now=$(date +%s)
today=$(fab "$s" "@$(( now - 30 > mid ? now - 30 : mid ))")
d1a=$(fab "$s" "@$((mid - D + 10 * H))"); d1b=$(fab "$s" "@$((mid - D + 14 * H))")
d2a=$(fab "$s" "@$((mid - 2 * D + 10 * H))"); d2b=$(fab "$s" "@$((mid - 2 * D + 14 * H))")
d3=$(fab "$s" "@$((mid - 3 * D + 12 * H))"); d10=$(fab "$s" "@$((mid - 10 * D + 12 * H))")
conf "$T/daily.conf" '[retention]' 'keep_daily = 3'
daily_case() {
	prune_case "$s" "$T/daily.conf" "$d1a $d2a $d3 $d10" &&
		expect_reason "$d1b" "keep keep_daily" && expect_reason "$d2b" "keep keep_daily" &&
		[ "$(ids_in "$s")" = "$(sorted "$today" "$d1b" "$d2b")" ]
}
check "keep_daily = 3 keeps the newest bundle of each of the last three days" daily_case

# --- tagged: keep_tagged, real pre-deploy bundles -----------------------------------------
s="$T/s-tagged"
mkdir -p "$s"
for tag in pre-deploy pre-deploy pre-deploy; do
	pv backup --storage "$s" --db "$db" --tag "$tag"; expect_rc 0 "backup --tag $tag"
	cat "$T/out" >>"$T/tagged.ids"
	sleep 1
done
mapfile -t tg <"$T/tagged.ids"
for i in 0 1 2; do id_matches "${tg[$i]}" "$db" pre-deploy || fail "bad tagged id ${tg[$i]}"; done
u1=$(fab "$s" "@$((mid - D + 2 * H))"); u2=$(fab "$s" "@$((mid - 2 * D + 2 * H))")
u3=$(fab "$s" "@$((mid - 3 * D + 2 * H))"); u4=$(fab "$s" "@$((mid - 4 * D + 2 * H))")
t4=$(fab "$s" $((5 * H)) pre-deploy); t5=$(fab "$s" $((6 * D)) pre-deploy)
conf "$T/tagged.conf" '[retention]' 'keep_daily = 3' 'keep_tagged = 2'
tagged_case() {
	# the two newest pre-deploy bundles are the last two real ones
	prune_case "$s" "$T/tagged.conf" "${tg[0]} $t4 $t5 $u4" &&
		expect_reason "${tg[2]}" "keep newest verified" && expect_reason "${tg[1]}" "keep keep_tagged" &&
		expect_reason "$u1" "keep" && expect_reason "$u2" "keep keep_daily" && expect_reason "$u3" "keep keep_daily"
}
check "keep_tagged = 2 keeps the two newest pre-deploy bundles; newer tagged ones do not push out daily ones" tagged_case

# Adding pre-deploy snapshots must not change what happens to the untagged (nightly)
# bundles: decide once without them, once with them.
conf "$T/push.conf" '[retention]' 'keep_days = 1' 'keep_min = 2' 'keep_tagged = 2'
s="$T/s-push"
p2=$(fab "$s" $((2 * D))); p3=$(fab "$s" $((3 * D))); p4=$(fab "$s" $((4 * D)))
untagged_decisions() { # -> "ID keep|delete" for the untagged bundles, from a dry run
	pv --config "$T/push.conf" --storage "$s" prune --dry-run
	[ "$rc" = 0 ] || { show; return 1; }
	awk '$1 == "would" && $3 !~ /_pre-deploy$/ { print $3, $2 }' "$T/out" | LC_ALL=C sort
}
push_case() {
	local without with
	without=$(untagged_decisions) || return 1
	fab "$s" $((1 * H)) pre-deploy >/dev/null; fab "$s" $((2 * H)) pre-deploy >/dev/null; fab "$s" $((3 * H)) pre-deploy >/dev/null
	with=$(untagged_decisions) || return 1
	[ "$without" = "$(sorted "$p2 keep" "$p3 keep" "$p4 delete")" ] ||
		{ echo "without tagged bundles:"; echo "$without"; echo "expected $p2, $p3 kept (newest, keep_min), $p4 deleted"; return 1; } >&2
	[ "$with" = "$without" ] || {
		echo "untagged decisions without pre-deploy bundles:"; echo "$without"
		echo "with three newer pre-deploy bundles:"; echo "$with"; cat "$T/out"
		echo "pre-deploy snapshots pushed out untagged bundles"; return 1; } >&2
}
check "pre-deploy snapshots do not change the fate of untagged bundles (newest, keep_min)" push_case

# --- the newest verified bundle survives everything ---------------------------------------
s="$T/s-newest"
o10=$(fab "$s" $((10 * D))); o20=$(fab "$s" $((20 * D))); o30=$(fab "$s" $((30 * D)))
conf "$T/one.conf" '[retention]' 'keep_days = 1'
newest_case() {
	prune_case "$s" "$T/one.conf" "$o20 $o30" && expect_reason "$o10" "keep newest verified" &&
		[ "$(ids_in "$s")" = "$o10" ] || return 1
	# and again: a second prune never takes the last one
	prune_case "$s" "$T/one.conf" "" && [ "$(ids_in "$s")" = "$o10" ]
}
check "keep_days = 1 with everything old keeps the newest verified bundle" newest_case

# --- unverified bundles are never deleted (nor counted) ------------------------------------
s="$T/s-unverified"
v_new=$(fab "$s" $((1 * H)) - false); v10=$(fab "$s" $((10 * D))); v20=$(fab "$s" $((20 * D)))
v_old=$(fab "$s" $((40 * D)) - false)
unverified_case() {
	prune_case "$s" "$T/one.conf" "$v20" &&
		expect_reason "$v_new" "keep unverified" && expect_reason "$v_old" "keep unverified" &&
		expect_reason "$v10" "keep newest verified" &&
		[ "$(ids_in "$s")" = "$(sorted "$v_new" "$v10" "$v_old")" ]
}
check "unverified bundles are kept and not counted as the newest" unverified_case

# --- an empty policy is refused ------------------------------------------------------------
s="$T/s-empty"
e1=$(fab "$s" $((1 * D))); e2=$(fab "$s" $((50 * D)))
empty_case() { # CONFIG-LINES...
	conf "$T/empty.conf" "$@"
	local before; before=$(files_in "$s")
	for mode in --dry-run ""; do
		pv --config "$T/empty.conf" --storage "$s" prune $mode
		[ "$rc" = 2 ] || { show; echo "prune $mode with an empty policy: exit $rc, expected 2" >&2; return 1; }
		grep -qi "empty policy\|policy" "$T/err" || { show; echo "the message does not say the policy is empty" >&2; return 1; }
	done
	[ "$(files_in "$s")" = "$before" ] || { echo "files changed" >&2; return 1; }
}
check "no retention keys: exit 2" empty_case '[storage]' "dir = $s"
check "only prune_after_backup and timezone: exit 2" empty_case '[retention]' 'prune_after_backup = yes' 'timezone = UTC'
check "keep_days = 0: exit 2" empty_case '[retention]' 'keep_days = 0'
no_config_case() {
	pv --config /dev/null --storage "$s" prune
	[ "$rc" = 2 ] || { show; echo "prune with an empty configuration: exit $rc" >&2; return 1; }
}
check "an empty configuration file: exit 2" no_config_case

# --- leftovers of dead runs -------------------------------------------------------------
s="$T/s-tmp"
k1=$(fab "$s" $((1 * D)))
dead="$s/$db/.${db}_20200101T000000Z.pgv.tmp.99999999"
dead2="$s/$db/.${db}_20200101T000000Z.manifest.json.tmp.99999999"
dead3="$s/otherdb/.otherdb_20200101T000000Z.pgv.tmp.99999998"
live="$s/$db/.${db}_20200102T000000Z.pgv.tmp.$$"   # this shell is alive
mkdir -p "$s/otherdb"
for f in "$dead" "$dead2" "$dead3" "$live"; do head -c 1000 /dev/urandom >"$f"; done
leftover_case() {
	pv --config "$T/days.conf" --storage "$s" prune --dry-run
	[ "$rc" = 0 ] || { show; return 1; }
	[ -e "$dead" ] && [ -e "$dead3" ] || { echo "the dry run removed leftovers" >&2; return 1; }
	pv --config "$T/days.conf" --storage "$s" prune
	[ "$rc" = 0 ] || { show; return 1; }
	local f
	for f in "$dead" "$dead2" "$dead3"; do [ ! -e "$f" ] || { show; echo "leftover $f of a dead process not removed" >&2; return 1; }; done
	[ -e "$live" ] || { echo "the temporary file of a live process was removed" >&2; return 1; }
	[ "$(ids_in "$s")" = "$k1" ] || { echo "bundles changed" >&2; return 1; }
}
check "prune removes temporary files of dead runs, and only those" leftover_case
rm -f "$live"

# --- prune --db: only that database ---------------------------------------------------------
s="$T/s-one-db"
x1=$(fab "$s" $((1 * H))); x2=$(fab "$s" $((20 * D)))
y1=$(FAB_DB=pv81_other fab "$s" $((1 * H))); y2=$(FAB_DB=pv81_other fab "$s" $((20 * D)))
only_db() {
	pv --config "$T/one.conf" --storage "$s" prune --db pv81_other
	[ "$rc" = 0 ] || { show; return 1; }
	[ "$(ids_in "$s")" = "$(sorted "$x1" "$x2" "$y1")" ] || { show; ids_in "$s" >&2; echo "prune --db pv81_other touched other bundles" >&2; return 1; }
	prune_case "$s" "$T/one.conf" "$x2"
}
check "prune --db NAME prunes only that database" only_db

# --- prune_after_backup -------------------------------------------------------------------
s="$T/s-after"
conf "$T/after.conf" '[storage]' "dir = $s" '[retention]' 'keep_days = 1' 'prune_after_backup = yes' \
	'[connection]' 'retries = 0'
a5=$(fab "$s" $((5 * D))); a10=$(fab "$s" $((10 * D)))
present() { local id; for id in "$@"; do [ -f "$s/$db/$id.pgv" ] || { echo "$id was deleted" >&2; return 1; }; done; }
after_failed() {
	pv --config "$T/after.conf" backup --db pv81_no_such_db
	[ "$rc" = 1 ] || { show; echo "backup of a missing database: exit $rc" >&2; return 1; }
	present "$a5" "$a10"
}
check "prune_after_backup: a failed backup prunes nothing" after_failed
after_partial() {
	pv --config "$T/after.conf" backup --db "$db" --db pv81_no_such_db
	[ "$rc" = 3 ] || { show; echo "partial backup: exit $rc, expected 3" >&2; return 1; }
	present "$a5" "$a10" "$(cat "$T/out")"
}
check "prune_after_backup: a partly failed run (exit 3) prunes nothing" after_partial
after_unavailable() {
	q -d postgres -c "ALTER DATABASE $db ALLOW_CONNECTIONS false"
	pv --config "$T/after.conf" backup --db "$db"
	q -d postgres -c "ALTER DATABASE $db ALLOW_CONNECTIONS true"
	[ "$rc" = 1 ] || { show; echo "backup of a database that refuses connections: exit $rc" >&2; return 1; }
	present "$a5" "$a10"
}
check "prune_after_backup: a failed backup of the database itself prunes nothing" after_unavailable
after_no_prune() {
	pv --config "$T/after.conf" backup --db "$db" --no-prune
	[ "$rc" = 0 ] || { show; return 1; }
	present "$a5" "$a10"
}
check "prune_after_backup: --no-prune" after_no_prune
after_success() {
	local before; before=$(ids_in "$s")
	pv --config "$T/after.conf" backup --db "$db"
	[ "$rc" = 0 ] || { show; return 1; }
	local new; new=$(cat "$T/out")
	[ -f "$s/$db/$new.pgv" ] || { echo "the new bundle is missing" >&2; return 1; }
	[ ! -e "$s/$db/$a5.pgv" ] && [ ! -e "$s/$db/$a10.pgv" ] &&
		[ ! -e "$s/$db/$a5.manifest.json" ] && [ ! -e "$s/$db/$a10.manifest.json" ] ||
		{ show; ids_in "$s" >&2; echo "old bundles not pruned after a successful backup" >&2; return 1; }
	# the recent bundles stay
	[ "$(ids_in "$s")" = "$(sorted $(echo "$before" | grep -v -e "$a5" -e "$a10") "$new")" ] ||
		{ ids_in "$s" >&2; echo "a recent bundle was deleted" >&2; return 1; }
}
check "prune_after_backup: a successful backup prunes" after_success

[ "$failures" = 0 ] || fail "$failures check(s) failed"
