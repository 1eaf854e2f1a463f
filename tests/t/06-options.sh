# The options and configuration keys the program has are the ones its man pages document.
# `pgvault --dump-options` prints the option tables (src/cmd/opts.h): each command's options
# and the configuration keys it reads, and the keys the configuration file accepts
# (src/ops/config.c).  Checked here:
#   man/pgvault.1      the option list of each command (the .TP items in its .RS block under
#                      COMMANDS) and of GLOBAL OPTIONS hold exactly that command's options
#                      (long names and short letters); every --option the page names exists;
#                      a command's SYNOPSIS line names only its own and global options; each
#                      command has its entry; each command's --help shows its options
#   keys               every key the file accepts is read by some command, or marked ignored;
#                      every key a command declares is one the file accepts; every
#                      pv_config_*(cfg, db, "section", "key") call in src/ is declared (and
#                      its [db:NAME] override, when it passes a database, is a key)
#   man/pgvault.conf.5 its items (.TP under .SS [section]) are exactly the keys read, each
#                      with its environment variable; it names no other PGVAULT_ variable
#                      (but in [hooks], which lists those a hook gets)
#   etc/pgvault.conf.sample  its keys are exactly the keys read
#   mandoc -Tlint      finds nothing in either page (no error, warning or style note)
# Needs no database server (run-all.sh starts one anyway; this test does not use it).
set -euo pipefail
fail() { echo "FAIL: $*" >&2; exit 1; }
SRC="${TOP_SRCDIR:?}"
PGVAULT="${PGVAULT:?}"
T="${T:-$(mktemp -d /tmp/pgvault-options.XXXXXX)}"
mkdir -p "$T"
MAN1="$SRC/man/pgvault.1" MAN5="$SRC/man/pgvault.conf.5"
errors=0
bad() { echo "FAIL: $*" >&2; errors=$((errors + 1)); }
# same A B WHAT: the sorted files A (the program) and B (the man page) hold the same lines
same() {
	local l
	while IFS= read -r l; do bad "$3: $l is in the program, not in the man page"; done < <(comm -23 "$1" "$2")
	while IFS= read -r l; do bad "$3: $l is in the man page, not in the program"; done < <(comm -13 "$1" "$2")
}
# subset A B WHAT: every line of sorted A is in sorted B
subset() {
	local l
	while IFS= read -r l; do bad "$3: $l"; done < <(comm -23 "$1" "$2")
}

"$PGVAULT" --dump-options >"$T/dump" || fail "pgvault --dump-options failed"
grep -q '^command backup$' "$T/dump" || fail "the dump lists no commands"
awk '$1 == "command" { print $2 }' "$T/dump" | sort >"$T/commands"
# the tokens of a command's options: --long and -x
tokens() { awk -v c="$1" '$1 == "option" && $2 == c { print $3; if (NF > 3) print $4 }' "$T/dump" | sort -u; }
tokens global >"$T/tok.global"
tokens pgvault >"$T/tok.pgvault"
awk '$1 == "option" { print $3 }' "$T/dump" | sort -u >"$T/all-long"

# ---------------------------------------------------------------- man/pgvault.1
# "command NAME", "item WHERE TOKEN" (an option item of a command or of "global"),
# "synopsis NAME TOKEN", "mention - --long" (anywhere)
awk '
function unesc(l) { gsub(/\\-/, "-", l); gsub(/\\f[BIRP]/, "", l); gsub(/"/, "", l); return l }
function tokens(l, kind, where,   t) {
	l = " " l
	while (match(l, /[^-[:alnum:]]--?[[:alnum:]][[:alnum:]-]*/)) {
		t = substr(l, RSTART + 1, RLENGTH - 1)
		if (kind != "mention" || t ~ /^--/)
			print kind, where, t
		l = substr(l, RSTART + RLENGTH)
	}
}
/^\.SH / { sec = $2; cmd = ""; depth = 0; want = 0; next }
/^\.RS/ { depth++; next }
/^\.RE/ { depth--; next }
/^\.TP/ { want = 1; next }
/^\.PP/ { if (depth == 0) cmd = ""; next }
/^\.(PD|br|IP)/ { next }
{
	line = unesc($0)
	tokens(line, "mention", "-")
	# a synopsis is ".B pgvault" then its text, on one line or several
	if (sec == "SYNOPSIS" && line ~ /^\.B pgvault$/)
		syn = ""
	else if (sec == "SYNOPSIS") {
		if (syn == "") {
			c = line
			if (sub(/^\[global options\] +/, "", c)) { sub(/ .*/, "", c) } else c = "pgvault"
			syn = c
		}
		tokens(line, "synopsis", syn)
	}
	if (!want)
		next
	want = 0
	if (sec == "COMMANDS" && depth == 0) {
		cmd = line; sub(/^\.B +/, "", cmd); print "command", cmd
	} else if (sec == "GLOBAL") {
		tokens(line, "item", "global")
	} else if (sec == "COMMANDS" && depth == 1 && cmd != "") {
		tokens(line, "item", cmd)
	}
}' "$MAN1" >"$T/man1"
grep -q '^item global --storage$' "$T/man1" || fail "cannot parse $MAN1 (no --storage item)"

awk '$1 == "command" { print $2 }' "$T/man1" | sort >"$T/man.commands"
same "$T/commands" "$T/man.commands" "pgvault.1 COMMANDS"
for c in $(cat "$T/commands") global; do
	if [ "$c" = global ]; then sort -u "$T/tok.global" "$T/tok.pgvault" >"$T/tok.want"
	else tokens "$c" >"$T/tok.want"; fi
	awk -v c="$c" '$1 == "item" && $2 == c { print $3 }' "$T/man1" | sort -u >"$T/tok.man"
	same "$T/tok.want" "$T/tok.man" "pgvault.1, options of $c"
done
awk '$1 == "mention" { print $3 }' "$T/man1" | sort -u >"$T/man.mentions"
subset "$T/man.mentions" "$T/all-long" "pgvault.1 names an option that no command has"
for c in $(cat "$T/commands") pgvault; do
	{ tokens "$c"; cat "$T/tok.global"; } | sort -u >"$T/tok.want"
	awk -v c="$c" '$1 == "synopsis" && $2 == c { print $3 }' "$T/man1" | sort -u >"$T/tok.syn"
	subset "$T/tok.syn" "$T/tok.want" "pgvault.1 SYNOPSIS of $c names an option $c does not have"
done
grep -q '^synopsis backup --db$' "$T/man1" || bad "cannot parse the SYNOPSIS of $MAN1"

# each command's --help shows its options ("-x, --long" for those with a letter)
for c in $(cat "$T/commands"); do
	"$PGVAULT" "$c" --help >"$T/help" || bad "$c --help failed"
	while read -r _ _ long short; do
		want="      $long"
		[ -z "$short" ] || want="  $short, $long"
		grep -qF -- "$want" "$T/help" || bad "$c --help does not show $want"
	done < <(awk -v c="$c" '$1 == "option" && $2 == c' "$T/dump")
done

# ---------------------------------------------------------------- the keys
awk '$1 == "reads" { print $3 }' "$T/dump" | sort -u >"$T/reads"
awk '$1 == "key" && $4 != "ignored" { print $2 }' "$T/dump" | sort -u >"$T/keys"
awk '$1 == "key" && $4 == "ignored" { print $2 }' "$T/dump" | sort -u >"$T/ignored"
awk '$1 == "key" { print $2 }' "$T/dump" | sort -u >"$T/accepted"
[ -s "$T/keys" ] && [ -s "$T/reads" ] || fail "the dump lists no configuration keys"
subset "$T/keys" "$T/reads" "a key the configuration file accepts that no command reads (mark it ignored)"
subset "$T/reads" "$T/keys" "a key a command reads that the configuration file does not accept (or marks ignored)"
# the calls in src/ with a literal section and key: declared; with a database, its [db:NAME]
# override is a key
grep -rhoE 'pv_config_(get|int|bool|seconds|list|list_has|origin)\([^,]+, *[^,]+, *"[a-z0-9_]+", *"[a-z0-9_]+"' \
	--include='*.c' "$SRC/src" | grep -v '^pv_config_[a-z_]*(const pv_config' >"$T/calls" || true
[ -s "$T/calls" ] || fail "found no pv_config_* calls in src/"
sed -E 's/.*"([a-z0-9_]+)", *"([a-z0-9_]+)"$/\1.\2/' "$T/calls" | sort -u >"$T/called"
subset "$T/called" "$T/reads" "src/ reads a key that no command table declares"
sed -nE 's/^pv_config_[a-z_]*\([^,]+, *([^, ]+), *"[a-z0-9_]+", *"([a-z0-9_]+)"$/\1 \2/p' "$T/calls" |
	awk '$1 != "NULL" { print "db." $2 }' | sort -u >"$T/overrides"
subset "$T/overrides" "$T/accepted" "src/ reads a [db:NAME] override that the configuration file does not accept"
subset "$T/overrides" "$T/reads" "src/ reads a [db:NAME] override that no command table declares"

# ---------------------------------------------------------------- man/pgvault.conf.5
# "key SECTION.KEY" for each item, "env SECTION.KEY VAR" for the PGVAULT_ variables in its text
awk '
function unesc(l) { gsub(/\\-/, "-", l); gsub(/\\f[BIRP]/, "", l); gsub(/"/, "", l); return l }
/^\.SH / { sec = $2; s = ""; cur = ""; next }
/^\.SS / { l = unesc($0); s = ""; cur = ""
	if (match(l, /\[[a-z][a-zA-Z0-9_:]*\]/)) { s = substr(l, RSTART + 1, RLENGTH - 2); sub(/:.*/, "", s) }
	next }
/^\.TP/ { want = 1; next }
/^\.PD/ { next }
{
	l = unesc($0)
	if (want && sec == "SECTIONS" && s != "") {
		k = l; sub(/^\.B +/, "", k); sub(/ .*/, "", k); cur = s "." k; print "key", cur
	}
	want = 0
	# [hooks] documents the variables a hook gets, not ones pgvault reads
	while (s != "hooks" && match(l, /PGVAULT_[A-Z_]+/)) {
		print "env", (cur == "" ? "-" : cur), substr(l, RSTART, RLENGTH)
		l = substr(l, RSTART + RLENGTH)
	}
}' "$MAN5" >"$T/man5"
awk '$1 == "key" { print $2 }' "$T/man5" | sort -u >"$T/man.keys"
grep -q '^connection.host$' "$T/man.keys" || fail "cannot parse $MAN5 (no [connection] host item)"
same "$T/keys" "$T/man.keys" "pgvault.conf.5 keys"
awk '$1 == "key" && $3 != "-" { print $2, $3 }' "$T/dump" | sort -u >"$T/envs"
awk '$1 == "env" && $2 != "-" { print $2, $3 }' "$T/man5" | sort -u >"$T/man.envs"
subset "$T/envs" "$T/man.envs" "pgvault.conf.5 does not give a key its environment variable"
awk '{ print $2 }' "$T/envs" | sort -u >"$T/env.names"
awk '$1 == "env" { print $3 }' "$T/man5" | sort -u >"$T/man.env.names"
subset "$T/man.env.names" "$T/env.names" "pgvault.conf.5 names an environment variable no key has"

# ---------------------------------------------------------------- etc/pgvault.conf.sample
# its keys ("key = value" lines, commented out or not, under [section] or "# [section]")
awk '
/^(# *)?\[[a-z][a-zA-Z0-9_:-]*\]/ { s = $0; sub(/^[# ]*\[/, "", s); sub(/[]:].*/, "", s); next }
s != "" && /^(# ?)?[a-z_]+ = / { k = $0; sub(/^# ?/, "", k); sub(/ .*/, "", k); print s "." k }
' "$SRC/etc/pgvault.conf.sample" | sort -u >"$T/sample.keys"
grep -q '^connection.host$' "$T/sample.keys" || fail "cannot parse etc/pgvault.conf.sample"
same "$T/keys" "$T/sample.keys" "etc/pgvault.conf.sample keys"

# both pages are clean for mandoc's linter, STYLE notes included
command -v mandoc >/dev/null || fail "mandoc is not installed (contrib/install-deps.sh --tests installs it)"
lint=$(mandoc -Tlint "$MAN1" "$MAN5" 2>&1) || true
[ -z "$lint" ] || bad "mandoc -Tlint: $lint"

[ "$errors" = 0 ] || fail "$errors differences between the program and its man pages"
echo "figure: $(wc -l <"$T/commands") commands, $(grep -c '^option' "$T/dump") options," \
	"$(wc -l <"$T/keys") configuration keys read ($(wc -l <"$T/ignored") ignored)"
echo "the man pages document exactly the options and configuration keys of the program"
