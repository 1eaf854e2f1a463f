# `pgvault schedule show|install|remove` on a scratch crontab file (--file) that holds
# foreign lines: install is idempotent and marks its lines, a changed configuration replaces
# the set, remove takes only pgvault's lines, foreign lines stay byte-identical throughout,
# and a configuration without jobs is refused by install.  The installed command lines are
# also run the way cron would run them (cron's % handling, then sh -c).
. "$TOP_SRCDIR/tests/lib/common.sh"

failures=0
check() { # description, then a command; records a failure instead of stopping
	local what="$1"; shift
	if "$@"; then echo "ok: $what"; else echo "NOT OK: $what" >&2; failures=$((failures + 1)); fi
}
show() { { echo "--- exit $rc; stdout:"; cat "$T/out"; echo "--- stderr:"; cat "$T/err"; } >&2; }

# A configuration in a directory whose name needs quoting for the shell and escaping for cron.
cdir="$T/cron dir's 100%"
mkdir -p "$cdir"
cfg="$cdir/pgvault.conf"
st="$T/st"
write_conf() { printf '%s\n' "$@" >"$cfg"; chmod 600 "$cfg"; }
write_conf '[storage]' "dir = $st" '[retention]' 'keep_days = 7' \
	'[schedule]' 'backup = 0 2 * * *' 'prune = 30 3 * * *'

tab="$T/crontab"
cat >"$tab" <<'EOF'
# my own crontab
MAILTO=ops@example.com
SHELL=/bin/sh

*/5 * * * * /usr/local/bin/healthcheck --quiet
@reboot /usr/local/bin/start-bot	# tab before this comment
0 2 * * * /usr/local/bin/other-backup --mention-pgvault-but-not-marked
EOF
cp "$tab" "$T/foreign.orig"
MARK='# pgvault-managed'
ours() { grep -F -- "$MARK" "$tab" || true; }
foreign_intact() {
	grep -vF -- "$MARK" "$tab" >"$T/foreign.now" || true
	cmp -s "$T/foreign.orig" "$T/foreign.now" || { diff "$T/foreign.orig" "$T/foreign.now" >&2; echo "foreign lines changed" >&2; return 1; }
}

show_both() {
	pv --config "$cfg" schedule show --file "$tab"
	[ "$rc" = 0 ] || { show; return 1; }
	grep -E '^0 2 \* \* \* .*backup' "$T/out" >/dev/null && grep -E '^30 3 \* \* \* .*prune' "$T/out" >/dev/null ||
		{ show; echo "show does not print both entries" >&2; return 1; }
	[ "$(grep -c . "$T/out")" = 2 ] || { show; echo "show prints more than the two entries" >&2; return 1; }
	cmp -s "$tab" "$T/foreign.orig" || { echo "show changed the file" >&2; return 1; }
}
check "schedule show prints the backup and prune entries" show_both

install_once() {
	pv --config "$cfg" schedule install --file "$tab"
	[ "$rc" = 0 ] || { show; return 1; }
	[ "$(ours | wc -l)" = 2 ] || { cat "$tab" >&2; echo "expected two marked lines" >&2; return 1; }
	ours | grep -qE '^0 2 \* \* \* .*backup' && ours | grep -qE '^30 3 \* \* \* .*prune' ||
		{ cat "$tab" >&2; echo "the marked lines are not the configured jobs" >&2; return 1; }
	foreign_intact
}
check "install writes one marked set, foreign lines intact" install_once
cp "$tab" "$T/after-first-install"
install_twice() {
	pv --config "$cfg" schedule install --file "$tab"
	[ "$rc" = 0 ] || { show; return 1; }
	[ "$(ours | wc -l)" = 2 ] || { cat "$tab" >&2; echo "a second install duplicated the entries" >&2; return 1; }
	cmp -s "$tab" "$T/after-first-install" || { diff "$T/after-first-install" "$tab" >&2; echo "a second install changed the file" >&2; return 1; }
	foreign_intact
}
check "install again: the file is unchanged (idempotent)" install_twice

# Run each installed entry's command as cron would: %-processing (\% is a literal %, an
# unescaped % ends the command), then sh -c.  As root the sixth field is the user.
run_entries() {
	local line
	while IFS= read -r line; do
		python3 - "$line" >"$T/cmd" <<-'PY' || return 1
			import sys
			line = sys.argv[1]
			fields = line.split(None, 5)
			cmd = fields[5]
			import os
			if os.geteuid() == 0:  # the user field (checked elsewhere); run as ourselves
			    cmd = cmd.split(None, 1)[1]
			out, i = [], 0
			while i < len(cmd):
			    if cmd[i] == "\\" and cmd[i + 1 : i + 2] == "%":
			        out.append("%"); i += 2; continue
			    if cmd[i] == "%":
			        sys.exit("unescaped %% in the cron command: " + line)
			    out.append(cmd[i]); i += 1
			print("".join(out))
		PY
		set +e; sh -c "$(cat "$T/cmd")" >"$T/out" 2>"$T/err"; rc=$?; set -e
		case "$line" in
		*" prune "*) [ "$rc" = 0 ] || { show; echo "the installed prune entry fails: $line" >&2; return 1; } ;;
		esac
		grep -q "cannot read configuration\|No such file" "$T/err" && { show; echo "the entry does not find its configuration: $line" >&2; return 1; }
	done < <(ours | grep " prune ")
	return 0
}
check "the installed prune entry runs under sh with cron's % rules" run_entries

write_conf '[storage]' "dir = $st" '[retention]' 'keep_days = 7' \
	'[schedule]' 'backup = 15 1 * * *' 'verify = 0 4 * * 0'
replace_set() {
	pv --config "$cfg" schedule install --file "$tab"
	[ "$rc" = 0 ] || { show; return 1; }
	[ "$(ours | wc -l)" = 2 ] || { cat "$tab" >&2; echo "expected exactly the two new entries" >&2; return 1; }
	ours | grep -qE '^15 1 \* \* \* .*backup' && ours | grep -qE '^0 4 \* \* 0 .*verify' ||
		{ cat "$tab" >&2; echo "the new entries are missing" >&2; return 1; }
	! ours | grep -qE '^0 2 \* \* \*|prune' || { cat "$tab" >&2; echo "old entries remain" >&2; return 1; }
	foreign_intact
}
check "a changed configuration replaces the set" replace_set

remove_ours() {
	pv --config "$cfg" schedule remove --file "$tab"
	[ "$rc" = 0 ] || { show; return 1; }
	cmp -s "$tab" "$T/foreign.orig" || { diff "$T/foreign.orig" "$tab" >&2; echo "remove did not restore the original file exactly" >&2; return 1; }
	pv --config "$cfg" schedule remove --file "$tab"
	[ "$rc" = 0 ] && cmp -s "$tab" "$T/foreign.orig" || { show; echo "a second remove changed something" >&2; return 1; }
}
check "remove leaves exactly the foreign lines" remove_ours

no_jobs() {
	write_conf '[storage]' "dir = $st" '[retention]' 'keep_days = 7' '[schedule]' 'timezone = UTC'
	pv --config "$cfg" schedule install --file "$tab"
	[ "$rc" = 2 ] || { show; echo "install without jobs: exit $rc, expected 2" >&2; return 1; }
	cmp -s "$tab" "$T/foreign.orig" || { echo "install without jobs changed the file" >&2; return 1; }
	write_conf '[storage]' "dir = $st"
	pv --config "$cfg" schedule install --file "$tab"
	[ "$rc" = 2 ] || { show; echo "install without [schedule]: exit $rc, expected 2" >&2; return 1; }
	cmp -s "$tab" "$T/foreign.orig" || { echo "install without jobs changed the file" >&2; return 1; }
}
check "a configuration with no [schedule] jobs: install exits 2, file untouched" no_jobs

new_file() {
	write_conf '[schedule]' 'backup = @daily'
	pv --config "$cfg" schedule install --file "$T/new-crontab"
	[ "$rc" = 0 ] || { show; return 1; }
	[ "$(grep -c . "$T/new-crontab")" = 1 ] && grep -q '^@daily .*backup.*pgvault-managed' "$T/new-crontab" ||
		{ cat "$T/new-crontab" >&2; echo "expected one @daily entry" >&2; return 1; }
	pv --config "$cfg" schedule remove --file "$T/new-crontab"
	[ "$rc" = 0 ] && [ ! -s "$T/new-crontab" ] || { cat "$T/new-crontab" >&2; echo "remove left something in a file that held only our entry" >&2; return 1; }
}
check "install into a new file and remove again" new_file

# the user's crontab through the crontab command (a stand-in on PATH): a failing
# `crontab -l` is no empty crontab; "no crontab for" is
fake_crontab() {
	mkdir -p "$T/bin"
	cat >"$T/bin/crontab" <<EOF
#!/bin/sh
case "\$1" in
-l) $1 ;;
-) cat >"$T/crontab-written" ;;
esac
EOF
	chmod +x "$T/bin/crontab"
	rm -f "$T/crontab-written"
}
crontab_failing() {
	write_conf '[schedule]' 'backup = @daily'
	fake_crontab 'echo "crontab: cannot open spool: Permission denied" >&2; exit 1'
	PATH="$T/bin:$PATH" pv --config "$cfg" schedule install --crontab
	[ "$rc" = 1 ] || { show; echo "install over a crontab -l that failed: exit $rc" >&2; return 1; }
	[ ! -e "$T/crontab-written" ] || { echo "install wrote a crontab although crontab -l failed" >&2; return 1; }
	grep -q "Permission denied" "$T/err" || { show; return 1; }
	fake_crontab 'echo "no crontab for $(id -un)" >&2; exit 1'
	PATH="$T/bin:$PATH" pv --config "$cfg" schedule install --crontab
	[ "$rc" = 0 ] && grep -q '^@daily .*pgvault-managed' "$T/crontab-written" &&
		! grep -q '^@daily root ' "$T/crontab-written" || { show; cat "$T/crontab-written" >&2; return 1; }
}
check "install: a failing crontab -l leaves the crontab alone; 'no crontab' installs" crontab_failing
# As root, cron.d entries run as [schedule] user, by default postgres where that user exists
# (it can connect to a stock Debian cluster; root cannot), and install names what that user
# cannot read.
cron_user() {
	[ "$(id -u)" = 0 ] || return 0
	local want=root
	getent passwd postgres >/dev/null && want=postgres
	write_conf '[storage]' "dir = $st" '[schedule]' 'backup = 0 2 * * *'
	rm -f "$T/crond"
	pv --config "$cfg" schedule install --file "$T/crond"
	[ "$rc" = 0 ] || { show; return 1; }
	grep -q "^0 2 \* \* \* $want " "$T/crond" || { cat "$T/crond" >&2; echo "the entry does not run as $want" >&2; return 1; }
	if [ "$want" = postgres ]; then
		grep -qF "run as postgres, who cannot read $(realpath "$cfg")" "$T/err" || { show; echo "no warning about the configuration postgres cannot read" >&2; return 1; }
	fi
	write_conf '[storage]' "dir = $st" '[schedule]' 'backup = 0 2 * * *' 'user = root'
	rm -f "$T/crond"
	pv --config "$cfg" schedule install --file "$T/crond"
	[ "$rc" = 0 ] && grep -q "^0 2 \* \* \* root " "$T/crond" || { cat "$T/crond" >&2; echo "[schedule] user = root not honoured" >&2; return 1; }
}
check "cron.d entries run as [schedule] user, by default postgres" cron_user

[ "$failures" = 0 ] || fail "$failures check(s) failed"
