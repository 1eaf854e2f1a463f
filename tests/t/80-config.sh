# Configuration (SPEC §7): unknown sections and keys and malformed values are errors naming
# the file, the line and the key (exit 2) for the commands that read the key, warnings for
# the others (a bad [schedule] line does not stop a backup), errors for `config check` and
# `schedule install`; a file holding a secret that others can read is refused; precedence is command line > PGVAULT_* environment > file > defaults (shown with
# the storage directory and with keep_days); [db:NAME] overrides retention for one
# database; a named --config must exist while the default one may be absent; and the
# shipped etc/pgvault.conf.sample loads as it is and with any documented key uncommented.
. "$TOP_SRCDIR/tests/lib/common.sh"
. "$TOP_SRCDIR/tests/lib/oracle.sh"

db=pv80_cfg; db2=pv80_other
dropdb_q "$db"; dropdb_q "$db2"
createdb_q "$db"; createdb_q "$db2"
q -d "$db" -c "CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t SELECT g, 'row ' || g FROM generate_series(1, 50) g"
q -d "$db2" -c "CREATE TABLE u (id int); INSERT INTO u VALUES (1), (2)"
trap 'dropdb_q "$db" || true; dropdb_q "$db2" || true' EXIT
unset PGVAULT_STORAGE PGVAULT_KEEP_DAYS PGVAULT_KEEP_MIN PGVAULT_NOTIFY_URL PGVAULT_METRICS_FILE 2>/dev/null || true

empty="$T/empty-store"; mkdir -p "$empty"
failures=0
check() { # description, then a command; records a failure instead of stopping
	local what="$1"; shift
	if "$@"; then echo "ok: $what"; else echo "NOT OK: $what" >&2; failures=$((failures + 1)); fi
}
show() { echo "--- exit $rc; stdout:"; cat "$T/out"; echo "--- stderr:"; cat "$T/err"; } >&2

# conf FILE MODE LINE...: write a configuration file
conf() {
	local f="$1" mode="$2"; shift 2
	printf '%s\n' "$@" >"$f"
	chmod "$mode" "$f"
}

# --- 1. errors name file, line and key -------------------------------------------------
# bad_config WHAT EXPECTED-LINE KEY-TEXT LINES...: exit 2, stderr holds FILE:LINE and KEY-TEXT
bad_config() {
	local what="$1" line="$2" key="$3"; shift 3
	local f="$T/bad.conf"
	conf "$f" 600 "$@"
	# shellcheck disable=SC2086 # CFGCMD: the command, split into words
	pv --config "$f" ${CFGCMD:-prune --dry-run} --storage "$empty"
	if [ "$rc" != 2 ]; then show; echo "$what: exit $rc, expected 2" >&2; return 1; fi
	if ! grep -qF -- "$f:$line" "$T/err"; then show; echo "$what: stderr does not name $f:$line" >&2; return 1; fi
	if ! grep -qF -- "$key" "$T/err"; then show; echo "$what: stderr does not name $key" >&2; return 1; fi
}
check "unknown key" bad_config "unknown key" 4 keep_dayz \
	'# retention for the test' '[retention]' 'keep_days = 3' 'keep_dayz = 3'
check "bad value keep_days = lots" bad_config "keep_days = lots" 3 keep_days \
	'[storage]' '[retention]' 'keep_days = lots'
CFGCMD="config check" check "bad cron expression in [schedule]" bad_config "bad cron" 5 backup \
	'[retention]' 'keep_days = 3' '' '[schedule]' 'backup = 61 2 * * *'
check "unknown time zone" bad_config "unknown time zone" 2 timezone \
	'[schedule]' 'timezone = Mars/Olympus_Mons' 'backup = 0 2 * * *'
CFGCMD="config check" check "bad boolean" bad_config "bad boolean" 3 prune_after_backup \
	'[retention]' 'keep_days = 3' 'prune_after_backup = perhaps'
check "key set twice" bad_config "key set twice" 3 keep_days \
	'[retention]' 'keep_days = 3' 'keep_days = 4'
check "unknown key in [db:NAME]" bad_config "unknown key in [db:NAME]" 4 keep_hours \
	'[retention]' 'keep_days = 3' "[db:$db]" 'keep_hours = 3'
# An unknown section: its name and the line (of the section header or of its first key).
unknown_section() {
	local f="$T/bad.conf"
	conf "$f" 600 '[retention]' 'keep_days = 3' '[retentoin]' 'keep_min = 2'
	pv --config "$f" prune --dry-run --storage "$empty"
	[ "$rc" = 2 ] || { show; echo "unknown section: exit $rc, expected 2" >&2; return 1; }
	grep -qF -- "[retentoin]" "$T/err" || { show; echo "unknown section: not named" >&2; return 1; }
	grep -qE -- "$f:(3|4)([^0-9]|$)" "$T/err" || { show; echo "unknown section: no file:line" >&2; return 1; }
}
check "unknown section" unknown_section
# An unknown section without keys is just as much a typo (e.g. [retentoin] whose keys were
# commented out, or a stray [s4]).
empty_unknown_section() {
	local f="$T/bad.conf"
	conf "$f" 600 '[retention]' 'keep_days = 3' '' '[storag]'
	pv --config "$f" prune --dry-run --storage "$empty"
	[ "$rc" = 2 ] || { show; echo "unknown section without keys: exit $rc, expected 2" >&2; return 1; }
	grep -qF -- "[storag]" "$T/err" && grep -qF -- "$f:4" "$T/err" ||
		{ show; echo "unknown section without keys: message lacks $f:4 or [storag]" >&2; return 1; }
}
check "unknown section without keys" empty_unknown_section
# "#" starts a comment (pgvault.conf(5)), also after a value: it is not part of the value.
inline_comment() {
	local f="$T/inline.conf"
	conf "$f" 600 '[storage]' "dir = $T/st-inline            # where the bundles go" \
		'[retention]' 'keep_days = 3'
	pv --config "$f" backup --db "$db"
	[ "$rc" = 0 ] || { show; echo "a value followed by a # comment: exit $rc" >&2; return 1; }
	[ -n "$(find "$T/st-inline" -name '*.pgv' 2>/dev/null)" ] ||
		{ show; find "$T" -maxdepth 1 -name 'st-inline*' >&2; echo "the bundle did not land in $T/st-inline" >&2; return 1; }
}
check "a # comment after a string value is not part of it" inline_comment
inline_comment_number() {
	local f="$T/inline.conf"
	conf "$f" 600 '[retention]' 'keep_days = 3   # two weeks would be better'
	pv --config "$f" prune --dry-run --storage "$empty"
	[ "$rc" = 0 ] || { show; echo "a number followed by a # comment: exit $rc" >&2; return 1; }
}
check "a # comment after a number is not part of it" inline_comment_number
# The same error stops a backup before it connects or writes anything.
backup_refuses_bad_config() {
	local f="$T/bad.conf"
	conf "$f" 600 '[retention]' 'keep_days = lots'
	pv --config "$f" backup --db "$db" --storage "$T/st-bad"
	[ "$rc" = 2 ] || { show; echo "backup with a bad config: exit $rc, expected 2" >&2; return 1; }
	grep -qF "$f:2" "$T/err" || { show; echo "backup: message lacks $f:2" >&2; return 1; }
	no_bundle_leftovers "$T/st-bad"
}
check "backup refuses a bad configuration" backup_refuses_bad_config
# A malformed PGVAULT_* value is named too.
bad_env() {
	local f="$T/good.conf"
	conf "$f" 600 '[retention]' 'keep_days = 3'
	set +e; PGVAULT_KEEP_DAYS=lots "$PGVAULT" --config "$f" prune --dry-run --storage "$empty" >"$T/out" 2>"$T/err"; rc=$?; set -e
	[ "$rc" = 2 ] && grep -qF PGVAULT_KEEP_DAYS "$T/err" || { show; echo "PGVAULT_KEEP_DAYS=lots: not refused by name" >&2; return 1; }
}
check "malformed PGVAULT_KEEP_DAYS" bad_env
# A problem in a key the command does not read is a warning: a malformed [schedule] line
# never cancels the night's backup; `config check` and `schedule install` still refuse it.
unused_key_warns() {
	local f="$T/sched.conf"
	conf "$f" 600 '[retention]' 'keep_days = 3' '[schedule]' 'backup = 61 2 * * *'
	pv --config "$f" backup --db "$db" --storage "$T/st-sched"
	[ "$rc" = 0 ] || { show; echo "backup with a bad [schedule] line: exit $rc, expected 0" >&2; return 1; }
	grep -qF -- "warning: $f:4: [schedule] backup" "$T/err" || { show; echo "no warning naming $f:4" >&2; return 1; }
	[ -n "$(find "$T/st-sched" -name '*.pgv')" ] || { show; echo "no bundle" >&2; return 1; }
	pv --config "$f" config check --storage "$T/st-sched"
	[ "$rc" = 2 ] && grep -qF -- "error: $f:4: [schedule] backup" "$T/err" ||
		{ show; echo "config check: exit $rc, or the error is not named" >&2; return 1; }
	pv --config "$f" schedule install --file "$T/cron.d"
	[ "$rc" = 2 ] && [ ! -s "$T/cron.d" ] || { show; echo "schedule install: exit $rc with a bad [schedule]" >&2; return 1; }
	conf "$f" 600 '[retention]' 'keep_days = 3' '[schedule]' 'backup = 1 2 * * *'
	pv --config "$f" config check --storage "$T/st-sched"
	[ "$rc" = 0 ] && grep -qF "configuration $f: ok" "$T/out" || { show; echo "config check of a good file: exit $rc" >&2; return 1; }
}
check "a bad key the command does not read is a warning; config check refuses it" unused_key_warns
# config check: a storage directory this user cannot write is named with what to do
storage_not_writable() {
	[ "$(id -u)" != 0 ] || return 0 # root writes anywhere
	local f="$T/good.conf"
	conf "$f" 600 '[retention]' 'keep_days = 3'
	pv --config "$f" config check --storage /
	[ "$rc" = 1 ] && grep -qF "not writable" "$T/err" || { show; echo "config check --storage /: exit $rc" >&2; return 1; }
}
check "config check: a storage directory that cannot be written" storage_not_writable
# storage made by root, used by another user (root's first try, then cron as postgres): the
# message says what to chown
storage_of_another_user() {
	[ "$(id -u)" = 0 ] && getent passwd postgres >/dev/null && command -v runuser >/dev/null || return 0
	runuser -u postgres -- test -x "$PGVAULT" || { echo "skipped: postgres cannot run $PGVAULT here"; return 0; }
	local d; d=$(mktemp -d /tmp/pv80-root-store.XXXXXX)
	local c; c=$(mktemp /tmp/pv80-conf.XXXXXX); chmod 644 "$c"
	set +e
	runuser -u postgres -- "$PGVAULT" --config "$c" list --storage "$d" >"$T/out" 2>"$T/err"; rc=$?
	set -e
	rm -rf "$d" "$c"
	[ "$rc" != 0 ] && grep -q "chown -R it to the user that runs pgvault" "$T/err" ||
		{ show; echo "a root-owned storage used by postgres: no chown advice" >&2; return 1; }
}
check "storage made by another user: the message says what to chown" storage_of_another_user

# --- 2. secrets --------------------------------------------------------------------------
secret_mode() { # MODE WANT-RC LINES...
	local mode="$1" want="$2"; shift 2
	local f="$T/secret.conf"
	conf "$f" "$mode" "$@"
	chmod "$mode" "$f"
	# shellcheck disable=SC2086 # CFGCMD: the command, split into words
	pv --config "$f" ${CFGCMD:-prune --dry-run} --storage "$empty"
	[ "$rc" = "$want" ] || { show; echo "mode $mode: exit $rc, expected $want" >&2; return 1; }
	if [ "$want" = 2 ]; then
		grep -qF -- "$f" "$T/err" && grep -qiE "secret|read" "$T/err" && grep -qF "600" "$T/err" ||
			{ show; echo "mode $mode: message does not say why (file, readable, chmod 600)" >&2; return 1; }
	fi
	# the secret itself never shows up
	! grep -qF "Sup3rS3cret" "$T/out" "$T/err" || { show; echo "the secret was printed" >&2; return 1; }
}
pw=('[connection]' 'password = Sup3rS3cret' '[retention]' 'keep_days = 3')
url=('[notify]' 'url = https://hc-ping.example/Sup3rS3cret/{exit}' '[retention]' 'keep_days = 3')
check "password in a 0644 file refused" secret_mode 644 2 "${pw[@]}"
check "password in a 0640 file refused" secret_mode 640 2 "${pw[@]}"
check "password in a 0600 file accepted" secret_mode 600 0 "${pw[@]}"
CFGCMD="config check" check "notify url in a 0644 file refused" secret_mode 644 2 "${url[@]}"
check "notify url in a 0600 file accepted" secret_mode 600 0 "${url[@]}"
check "no secret: a 0644 file is fine" secret_mode 644 0 '[retention]' 'keep_days = 3' '[storage]' "dir = $empty"

# --- 3. precedence: storage --------------------------------------------------------------
cfg="$T/pgvault.conf"
conf "$cfg" 644 '[storage]' "dir = $T/st-file" '[retention]' 'keep_days = 2' '[connection]' 'retries = 0'
count_in() { find "$1" -name '*.pgv' 2>/dev/null | wc -l; }
backup_lands() { # WANT-DIR [env assignments...] -- args: the new bundle(s) land in WANT-DIR only
	local want="$1"; shift
	local envs=() s before=() i=0 got=""
	while [ "$1" != -- ]; do envs+=("$1"); shift; done
	shift
	for s in st-cli st-env st-file; do before+=("$(count_in "$T/$s")"); done
	set +e; env "${envs[@]}" "$PGVAULT" "$@" >"$T/out" 2>"$T/err"; rc=$?; set -e
	[ "$rc" = 0 ] || { show; echo "backup: exit $rc" >&2; return 1; }
	local n; n=$(grep -c . "$T/out")
	for s in st-cli st-env st-file; do
		local added=$(( $(count_in "$T/$s") - before[i] ))
		[ "$added" = 0 ] || got="$got${got:+ }$s(+$added)"
		i=$((i + 1))
	done
	[ "$got" = "$want(+$n)" ] || { show; echo "new bundles landed in: ${got:-nowhere}, expected $want(+$n)" >&2; return 1; }
	while read -r id; do
		find "$T/$want" -name "$id.pgv" | grep -q . || { echo "bundle $id not found under $want" >&2; return 1; }
	done <"$T/out"
}
check "--storage beats PGVAULT_STORAGE and [storage] dir" \
	backup_lands st-cli PGVAULT_STORAGE="$T/st-env" -- --config "$cfg" backup --db "$db" --storage "$T/st-cli"
check "--storage before the command beats them too" \
	backup_lands st-cli PGVAULT_STORAGE="$T/st-env" -- --storage "$T/st-cli" --config "$cfg" backup --db "$db"
check "PGVAULT_STORAGE beats [storage] dir" \
	backup_lands st-env PGVAULT_STORAGE="$T/st-env" -- --config "$cfg" backup --db "$db"
check "[storage] dir is used when nothing else is given" \
	backup_lands st-file -- --config "$cfg" backup --db "$db"
check "an empty PGVAULT_STORAGE counts as unset" \
	backup_lands st-file PGVAULT_STORAGE= -- --config "$cfg" backup --db "$db2" --db "$db"

# --- 4. precedence: retention (keep_days) and [db:NAME] ----------------------------------
# Fabricated history: a copy of a real bundle whose sidecar says it is AGE seconds old
# (list and prune read only sidecars).
fab() { # SIDECAR AGE-SECONDS [OTHER-STORE] -> prints the new id
	python3 - "$@" <<-'PY'
		import json, os, shutil, sys, time
		src, age = sys.argv[1], int(sys.argv[2])
		d = json.load(open(src))
		ddir = os.path.dirname(src)
		if len(sys.argv) > 3:
		    ddir = os.path.join(sys.argv[3], os.path.basename(ddir))
		    os.makedirs(ddir, exist_ok=True)
		epoch = int(time.time()) - age
		iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))
		new = os.path.basename(ddir) + "_" + time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(epoch))
		assert not os.path.exists(os.path.join(ddir, new + ".pgv")), new
		shutil.copyfile(src[: -len(".manifest.json")] + ".pgv", os.path.join(ddir, new + ".pgv"))
		d.update(id=new, snapshot_epoch=epoch, snapshot_time=iso, verified_at=iso, tag=None, verified=True)
		with open(os.path.join(ddir, new + ".manifest.json"), "w") as f:
		    json.dump(d, f, indent=1, sort_keys=True)
		print(new)
	PY
}
st="$T/st-file"
side1=$(ls "$st/$db"/*.manifest.json | head -1); side2=$(ls "$st/$db2"/*.manifest.json | head -1)
a3=$(fab "$side1" $((3 * 86400))); a10=$(fab "$side1" $((10 * 86400)))
b3=$(fab "$side2" $((3 * 86400))); b10=$(fab "$side2" $((10 * 86400)))
decision() { # ID -> "keep REASON" / "delete REASON" from the dry run in $T/out
	awk -v id="$1" '$1 == "would" && $3 == id { $1 = ""; $3 = ""; sub(/^ +/, ""); gsub(/  +/, " "); print }' "$T/out"
}
expect_decision() { # ID "keep keep_days" ...
	local got; got=$(decision "$1")
	case "$got" in "$2"*) return 0 ;; esac
	show; echo "bundle $1: '$got', expected '$2...'" >&2; return 1
}
dry() { # [env...] -> prune --dry-run with $cfg
	set +e; env "$@" "$PGVAULT" --config "$cfg" prune --dry-run >"$T/out" 2>"$T/err"; rc=$?; set -e
	[ "$rc" = 0 ] || { show; echo "prune --dry-run: exit $rc" >&2; return 1; }
}
file_keep_days() {
	dry && expect_decision "$a3" "delete expired" && expect_decision "$a10" "delete expired"
}
env_keep_days() {
	dry PGVAULT_KEEP_DAYS=5 && expect_decision "$a3" "keep keep_days" && expect_decision "$a10" "delete expired"
}
env_keep_days_all() {
	dry PGVAULT_KEEP_DAYS=20 && expect_decision "$a3" "keep keep_days" && expect_decision "$a10" "keep keep_days"
}
check "file keep_days = 2 expires 3- and 10-day-old bundles" file_keep_days
check "PGVAULT_KEEP_DAYS=5 beats the file" env_keep_days
check "PGVAULT_KEEP_DAYS=20 beats the file" env_keep_days_all
check "dry runs deleted nothing" test -f "$st/$db/$a3.pgv" -a -f "$st/$db/$a10.pgv" -a -f "$st/$db2/$b10.pgv"

conf "$cfg" 644 '[storage]' "dir = $T/st-file" '[retention]' 'keep_days = 2' "[db:$db2]" 'keep_days = 5'
db_override() {
	dry && expect_decision "$a3" "delete expired" && expect_decision "$a10" "delete expired" &&
		expect_decision "$b3" "keep keep_days" && expect_decision "$b10" "delete expired"
}
check "[db:NAME] keep_days overrides [retention] for that database only" db_override
# and a real prune follows the override
real_override() {
	pv --config "$cfg" prune
	[ "$rc" = 0 ] || { show; return 1; }
	[ ! -e "$st/$db/$a3.pgv" ] && [ ! -e "$st/$db/$a10.pgv" ] && [ -e "$st/$db2/$b3.pgv" ] && [ ! -e "$st/$db2/$b10.pgv" ] ||
		{ show; find "$st" -name '*.pgv' >&2; echo "prune did not follow [db:$db2]" >&2; return 1; }
}
check "prune applies the [db:NAME] override" real_override

# The whole chain on one key, [status] max_age (default 26h), with a 30-hour-old bundle:
# default -> stale; file 2d -> fresh; PGVAULT_MAX_AGE=1d over the file -> stale;
# --max-age 3d over the environment -> fresh.
sa="$T/st-age"
fab "$side1" $((30 * 3600)) "$sa" >/dev/null
status_is() { # WANT-RC CONFIG [env...] -- [args...]
	local want="$1" c="$2"; shift 2
	local envs=()
	while [ "$1" != -- ]; do envs+=("$1"); shift; done
	shift
	set +e; env "${envs[@]}" "$PGVAULT" --config "$c" status --db "$db" --storage "$sa" "$@" >"$T/out" 2>"$T/err"; rc=$?; set -e
	[ "$rc" = "$want" ] || { show; echo "status: exit $rc, expected $want" >&2; return 1; }
}
conf "$T/age0.conf" 644 '[retention]' 'keep_days = 3'
conf "$T/age2.conf" 644 '[status]' 'max_age = 2d'
check "default max_age 26h: a 30-hour-old bundle is stale" status_is 1 "$T/age0.conf" --
check "file max_age = 2d beats the default" status_is 0 "$T/age2.conf" --
check "PGVAULT_MAX_AGE=1d beats the file" status_is 1 "$T/age2.conf" PGVAULT_MAX_AGE=1d --
check "--max-age 3d beats PGVAULT_MAX_AGE" status_is 0 "$T/age2.conf" PGVAULT_MAX_AGE=1d -- --max-age 3d

# --- 5. --config: a named file must exist; the default may be absent ---------------------
missing_config() {
	pv --config "$T/no-such.conf" list --storage "$empty"
	[ "$rc" = 2 ] && grep -qF "$T/no-such.conf" "$T/err" || { show; echo "missing --config not refused" >&2; return 1; }
	pv --config "$T/no-such.conf" backup --db "$db" --storage "$T/st-missing"
	[ "$rc" = 2 ] || { show; echo "backup with a missing --config: exit $rc" >&2; return 1; }
	no_bundle_leftovers "$T/st-missing"
}
check "--config naming a missing file: exit 2" missing_config
config_is_dir() {
	mkdir -p "$T/confdir"
	pv --config "$T/confdir" list --storage "$empty"
	[ "$rc" = 2 ] || { show; echo "--config naming a directory: exit $rc, expected 2 (read as an empty configuration)" >&2; return 1; }
}
check "--config naming a directory: exit 2" config_is_dir
default_absent() {
	local def
	def=$("$PGVAULT" --help | sed -n 's/.*configuration file (default \(.*\)).*/\1/p')
	[ -n "$def" ] || { echo "cannot find the default configuration path in --help" >&2; return 1; }
	if [ -e "$def" ]; then echo "(default $def exists on this machine: not checked)"; return 0; fi
	pv list --storage "$T/st-cli"
	[ "$rc" = 0 ] && grep -qF "$db" "$T/out" || { show; echo "without the default file: exit $rc" >&2; return 1; }
}
check "the default configuration file may be absent" default_absent

# --- 6. etc/pgvault.conf.sample ----------------------------------------------------------
sample="$TOP_SRCDIR/etc/pgvault.conf.sample"
copy="$T/sample.conf"
sample_loads() {
	cp "$sample" "$copy"; chmod 600 "$copy"
	pv --config "$copy" prune --dry-run --storage "$empty"
	[ "$rc" = 0 ] || { show; echo "the sample as shipped does not load" >&2; return 1; }
}
check "etc/pgvault.conf.sample loads as shipped" sample_loads
# Every documented "# key = value" line, uncommented the way an operator would (drop the
# leading "# "), together with its section header when that is commented out too.
sample_keys() {
	local lines bad=0 n sec
	lines=$(grep -nE '^#[[:space:]]?[a-z_]+[[:space:]]*=' "$sample" | cut -d: -f1)
	[ -n "$lines" ] || { echo "(the sample documents no commented key)"; return 0; }
	for n in $lines; do
		# nearest section header above, commented or not
		sec=$(head -n "$n" "$sample" | grep -nE '^#?[[:space:]]*\[[^]]+\][[:space:]]*$' | tail -1 | cut -d: -f1)
		cp "$sample" "$copy"; chmod 600 "$copy"
		sed -i -e "${n}s/^#[[:space:]]\{0,1\}//" "$copy"
		# the sample's key file, made for real (its path is an example)
		printf 'a-key-for-the-sample-test-0123456789\n' >"$T/sample.key"; chmod 600 "$T/sample.key"
		sed -i -e "${n}s|/etc/pgvault/signing.key|$T/sample.key|" "$copy"
		[ -n "$sec" ] && sed -i -e "${sec}s/^#[[:space:]]*//" "$copy"
		pv --config "$copy" prune --dry-run --storage "$empty"
		if [ "$rc" != 0 ]; then
			bad=$((bad + 1))
			echo "uncommenting line $n ($(sed -n "${n}p" "$copy")) breaks the sample: $(tail -1 "$T/err")" >&2
		fi
	done
	echo "$(echo "$lines" | wc -l) documented key lines tried, $bad failed"
	[ "$bad" = 0 ]
}
check "every documented key of the sample loads when uncommented" sample_keys

# a password on the command line is readable by every user (ps): refused, and not echoed
maint_password() {
	local m ok=0
	for m in "host=127.0.0.1 dbname=postgres password=Sekr1t-77" "postgresql://u:Sekr1t-77@127.0.0.1/postgres"; do
		pv --maintenance-db "$m" --storage "$T/st" list
		[ "$rc" = 2 ] && grep -q "process list" "$T/err" && ! grep -q "Sekr1t-77" "$T/err" "$T/out" || { show; ok=1; }
	done
	pv --maintenance-db "host=127.0.0.1 dbname=postgres" --storage "$T/st" list
	[ "$rc" = 0 ] || { show; ok=1; }
	return "$ok"
}
check "--maintenance-db with a password is refused (ps shows it)" maint_password

[ "$failures" = 0 ] || fail "$failures check(s) failed"
