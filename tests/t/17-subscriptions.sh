#!/usr/bin/env bash
# tests/t/17-subscriptions.sh — subscriptions survive a backup and restore as pg_dump writes
# them (src/pg/cat_fdw.c): CREATE SUBSCRIPTION ... WITH (connect = false, slot_name = ...,
# non-default options), owner, comment, security label; the copy is disabled and contacts no
# publisher.  A password in a subscription's connection string never reaches the bundle or
# the messages: the backup warns, the restored connection string lacks only the password.
# Checks: the catalog rows of the copy against the source's, the oracle (pg_dump
# --schema-only, once the password is set again as the warning says), every member of the
# bundle and the sidecar searched for the password; --owner with a role that is not a
# superuser (the subscriptions stay the restoring superuser's, with a warning); a restore by
# a non-superuser refused before it creates anything; a restore that fails after the
# subscriptions were created still drops its database.
. "$TOP_SRCDIR/tests/lib/common.sh"
. "$TOP_SRCDIR/tests/lib/oracle.sh"
. "$TOP_SRCDIR/tests/lib/seclabel.sh"

db='subs "17" db'; copy='subs "17" copy'; copy2=pvt17_owned; refused=pvt17_refused
faildb=pvt17_fail; failcopy=pvt17_fail_copy
PW='Sekr3t-pw_17'
ST="$T/st"

# a database with subscriptions cannot be dropped: drop them first, never touching a slot
drop_subs() {
	qdb "$1" -c "SELECT format('ALTER SUBSCRIPTION %I DISABLE; ALTER SUBSCRIPTION %I SET (slot_name = NONE); DROP SUBSCRIPTION %I;', subname, subname, subname) FROM pg_subscription s JOIN pg_database d ON d.oid = s.subdbid WHERE d.datname = current_database()" 2>/dev/null |
		qdb "$1" >/dev/null 2>&1 || true
}
cleanup() {
	local d
	for d in "$db" "$copy" "$copy2" "$refused" "$faildb" "$failcopy"; do
		db_exists "$d" && drop_subs "$d"
		dropdb_q "$d" >/dev/null 2>&1 || true
	done
	q -d postgres -c 'DROP ROLE IF EXISTS "pvt17 super", pvt17_app, pvt17_admin' >/dev/null 2>&1 || true
}
trap cleanup EXIT
cleanup
q -d postgres -c 'CREATE ROLE "pvt17 super" SUPERUSER NOLOGIN' -c 'CREATE ROLE pvt17_admin LOGIN CREATEDB NOSUPERUSER'
createdb_q "$db"

labels=0
if seclabel_install && seclabel_enable; then labels=1; else
	echo "17-subscriptions: SKIPPED security labels (the dummy_seclabel module could not be built or loaded)" >&2
fi

qdb "$db" -v pw="$PW" >/dev/null <<'EOF'
SET client_min_messages = error;
CREATE TABLE public.items (id int PRIMARY KEY, v text);
INSERT INTO public.items SELECT i, 'v' || i FROM generate_series(1, 20) i;
CREATE PUBLICATION pub_a FOR TABLE public.items;
CREATE PUBLICATION "pub B" FOR ALL TABLES;
-- a named slot, several publications, every option this server has set away from its default,
-- a value that needs conninfo quoting
CREATE SUBSCRIPTION "sub ""one"""
	CONNECTION 'host=/nonexistent port=5999 dbname=''pub db'' application_name=''it\''s a \\ test'''
	PUBLICATION pub_a, "pub B"
	WITH (connect = false, slot_name = 'slot_one', binary = true, streaming = on, two_phase = true,
	      disable_on_error = true, synchronous_commit = 'local');
-- a password (and no slot)
SELECT format('CREATE SUBSCRIPTION sub_pw CONNECTION %L PUBLICATION pub_a WITH (connect = false, slot_name = NONE)',
	'host=/nonexistent dbname=remote user=rep password=' || :'pw' || ' sslmode=disable') \gexec
-- defaults (the slot is named after the subscription), another superuser owns it
CREATE SUBSCRIPTION sub_plain CONNECTION 'dbname=elsewhere' PUBLICATION "pub B" WITH (connect = false);
ALTER SUBSCRIPTION sub_plain OWNER TO "pvt17 super";
COMMENT ON SUBSCRIPTION "sub ""one""" IS 'the first one''s comment';
EOF
if [ "$labels" = 1 ]; then
	qdb "$db" -c "SECURITY LABEL FOR dummy ON SUBSCRIPTION sub_plain IS 'classified'"
fi

# Everything that defines the subscriptions of database $1 except the connection string.
describe() {
	qdb "$1" <<-'EOF'
		SELECT concat_ws(' | ', s.subname, pg_get_userbyid(s.subowner), s.subenabled, s.subslotname,
		       s.subpublications::text, s.subbinary, s.substream, s.subtwophasestate, s.subdisableonerr,
		       s.subsynccommit, obj_description(s.oid, 'pg_subscription'),
		       (SELECT string_agg(l.provider || '=' || l.label, ',') FROM pg_shseclabel l
		        WHERE l.classoid = 'pg_subscription'::regclass AND l.objoid = s.oid))
		FROM pg_subscription s JOIN pg_database d ON d.oid = s.subdbid
		WHERE d.datname = current_database() ORDER BY s.subname COLLATE "C";
	EOF
}
conninfo() { # DB SUBNAME
	echo "SELECT subconninfo FROM pg_subscription s JOIN pg_database d ON d.oid = s.subdbid WHERE d.datname = current_database() AND s.subname = :'s';" |
		qdb "$1" -v s="$2"
}
describe "$db" >"$T/src.txt"
[ "$(grep -c . "$T/src.txt")" = 3 ] || { cat "$T/src.txt" >&2; fail "the source has not 3 subscriptions"; }
grep -qF 'sub "one" | postgres | f | slot_one | {pub_a,"pub B"} | t | t | p | t | local | the first one'"'"'s comment' "$T/src.txt" ||
	{ cat "$T/src.txt" >&2; fail "the source's first subscription is not what the test sets up"; }
conninfo "$db" sub_pw | grep -qF "password=$PW" || fail "the source's sub_pw has no password"

# ---------------------------------------------------------------- backup
pv backup --storage "$ST" --db "$db"
expect_rc 0 "backup"
if grep -qi unsupported "$T/err"; then cat "$T/err" >&2; fail "backup reported unsupported objects"; fi
id=$(head -1 "$T/out")
pgv=$(bundle_file "$ST" "$id")
grep -F 'sub_pw' "$T/err" | grep -F 'ALTER SUBSCRIPTION "sub_pw" CONNECTION' | grep -qi password ||
	{ cat "$T/err" >&2; fail "no warning about sub_pw's password"; }
[ "$(grep -c 'ALTER SUBSCRIPTION' "$T/err")" = 1 ] || { cat "$T/err" >&2; fail "expected one password warning"; }
if grep -qF -- "$PW" "$T/err" "$T/out"; then fail "the backup printed the password"; fi

# the password is in no member of the bundle (decompressed), not in the sidecar
mkdir -p "$T/members"
tar tf "$pgv" >"$T/members.txt"
[ "$(grep -c . "$T/members.txt")" -ge 5 ] || fail "the bundle lists too few members"
n=0
while IFS= read -r m; do
	n=$((n + 1))
	case "$m" in
		*.zst) tar xOf "$pgv" "$m" | zstd -dq >"$T/members/$n" || fail "cannot decompress member $m" ;;
		*) tar xOf "$pgv" "$m" >"$T/members/$n" ;;
	esac
	if grep -qF -- "$PW" "$T/members/$n"; then fail "member $m holds the password"; fi
done <"$T/members.txt"
if grep -qaF -- "$PW" "$pgv"; then fail "the bundle file holds the password"; fi
for f in "$(dirname "$pgv")"/*.json; do
	if grep -qF -- "$PW" "$f"; then fail "$f holds the password"; fi
done
tar xOf "$pgv" post-data.json | python3 -c '
import json, sys
server_version = int(sys.argv[1])
entries = json.load(sys.stdin)
subs = [e for e in entries if e["kind"] == "subscription"]
assert len(subs) == 3, "%d subscription entries in post-data" % len(subs)
for e in subs:
    assert "connect = false" in e["sql"], e["sql"]
    assert e.get("owner") and e.get("owner_target", "").startswith("SUBSCRIPTION "), e
one = [e for e in subs if e["name"] == "sub \"one\""][0]
for opt in ("slot_name = '"'"'slot_one'"'"'", "binary = true", "streaming = on", "two_phase = on",
            "disable_on_error = true", "synchronous_commit = '"'"'local'"'"'"):
    assert opt in one["sql"], (opt, one["sql"])
plain = [e for e in subs if e["name"] == "sub_plain"][0]
for opt in ("binary", "two_phase", "disable_on_error", "synchronous_commit"):
    assert opt not in plain["sql"], (opt, plain["sql"])
# streaming is always written: its default changed in 18 (off -> parallel)
want = "streaming = parallel" if server_version >= 180000 else "streaming = off"
assert want in plain["sql"], (want, plain["sql"])
pw = [e for e in subs if e["name"] == "sub_pw"][0]
assert "slot_name = NONE" in pw["sql"], pw["sql"]
' "$(server_version_num)" || fail "post-data entries of the bundle are wrong"
tar xOf "$pgv" pgvault.json | python3 -c '
import json, sys
h = json.load(sys.stdin)
assert sorted(h.get("subscriptions", [])) == ["sub \"one\"", "sub_plain", "sub_pw"], h.get("subscriptions")
assert any("sub_pw" in w for w in h.get("warnings", [])), h.get("warnings")
' || fail "the bundle header does not list the subscriptions and the warning"

pv verify --storage "$ST" "$id"
expect_rc 0 "verify"

# ---------------------------------------------------------------- restore
pv restore --storage "$ST" "$id" --as "$copy"
expect_rc 0 "restore --as copy"
describe "$copy" >"$T/copy.txt"
diff "$T/src.txt" "$T/copy.txt" >&2 || fail "the subscriptions of the copy differ from the source's"
[ "$(qdb "$copy" -c "SELECT count(*) FROM pg_subscription s JOIN pg_database d ON d.oid = s.subdbid WHERE d.datname = current_database() AND NOT s.subenabled")" = 3 ] ||
	fail "the copy's subscriptions are not 3 disabled ones"
[ "$labels" = 0 ] || grep -qF 'sub_plain | pvt17 super | f | sub_plain | {"pub B"} | f | f | d | f | off | dummy=classified' "$T/copy.txt" ||
	{ cat "$T/copy.txt" >&2; fail "sub_plain lost its owner, options or label"; }
for s in 'sub "one"' sub_plain; do
	[ "$(conninfo "$copy" "$s")" = "$(conninfo "$db" "$s")" ] || fail "the connection string of $s changed"
done
# sub_pw: the same options, without the password (parsed as libpq does)
conninfo "$copy" sub_pw >"$T/pw-conninfo"
if grep -qF -- "$PW" "$T/pw-conninfo"; then fail "the copy's sub_pw has the password"; fi
python3 - "$T/pw-conninfo" <<'EOF' || fail "the copy's sub_pw connection string is wrong: $(cat "$T/pw-conninfo")"
import sys
s = open(sys.argv[1]).read().strip()
opts, i = {}, 0
while i < len(s):
    while i < len(s) and s[i].isspace(): i += 1
    if i >= len(s): break
    k = ""
    while s[i] not in "= ": k += s[i]; i += 1
    while s[i] in " =": i += 1
    v = ""
    if s[i] == "'":
        i += 1
        while s[i] != "'":
            if s[i] == "\\": i += 1
            v += s[i]; i += 1
        i += 1
    else:
        while i < len(s) and not s[i].isspace(): v += s[i]; i += 1
    opts[k] = v
want = {"host": "/nonexistent", "dbname": "remote", "user": "rep", "sslmode": "disable"}
assert opts == want, opts
EOF
# set the password again, as the warning says: then the copy is the source
pwconn=$(conninfo "$db" sub_pw)
echo "ALTER SUBSCRIPTION sub_pw CONNECTION :'c';" | qdb "$copy" -v c="$pwconn"
oracle_compare "$db" "$copy" || fail "restored copy differs from the source"

# ---------------------------------------------------------------- --owner a non-superuser
pv restore --storage "$ST" "$id" --as "$copy2" --owner pvt17_app --create-role
expect_rc 0 "restore --owner pvt17_app (not a superuser)"
expect_err 'SUBSCRIPTION "sub_pw" stays owned by the role restoring it'
got=$(qdb "$copy2" -c "SELECT string_agg(s.subname || ':' || pg_get_userbyid(s.subowner), ',' ORDER BY s.subname COLLATE \"C\") FROM pg_subscription s JOIN pg_database d ON d.oid = s.subdbid WHERE d.datname = current_database()")
[ "$got" = 'sub "one":postgres,sub_plain:postgres,sub_pw:postgres' ] || fail "subscription owners after --owner: $got"
[ "$(qdb "$copy2" -c "SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = 'public.items'::regclass")" = pvt17_app ] ||
	fail "--owner did not give the table to pvt17_app"

# ---------------------------------------------------------------- a non-superuser restore refuses
pv -U pvt17_admin restore --storage "$ST" "$id" --as "$refused" --owner pvt17_admin
expect_rc 1 "restore of subscriptions by a non-superuser"
expect_err 'only a superuser can create a subscription'
expect_err '"sub_pw"'
! db_exists "$refused" || fail "the refused restore created $refused"
[ "$(q -d postgres -c "SELECT count(*) FROM pg_database WHERE datname LIKE 'pgvault\_restore\_%'")" = 0 ] ||
	fail "the refused restore left a pgvault_restore_* database"

# ---------------------------------------------------------------- failing after the subscriptions exist
# a materialized view refreshed in the restore's last pass fails anywhere but in the source
createdb_q "$faildb"
qdb "$faildb" >/dev/null <<EOF
SET client_min_messages = error;
CREATE FUNCTION public.only_here() RETURNS int LANGUAGE plpgsql AS \$\$
BEGIN IF current_database() <> '$faildb' THEN RAISE EXCEPTION 'not in the source'; END IF; RETURN 1; END \$\$;
CREATE MATERIALIZED VIEW public.mv AS SELECT public.only_here() AS x;
CREATE SUBSCRIPTION pvt17_sub_fail CONNECTION 'dbname=nowhere' PUBLICATION p WITH (connect = false, slot_name = 'its_slot');
EOF
pv backup --storage "$ST" --db "$faildb"
expect_rc 0 "backup of $faildb"
fid=$(head -1 "$T/out")
pv restore --storage "$ST" "$fid" --as "$failcopy"
expect_rc 1 "restore whose materialized view refresh fails"
expect_err 'not in the source'
if grep -q 'could not drop' "$T/err"; then cat "$T/err" >&2; fail "the partly restored database was not dropped"; fi
! db_exists "$failcopy" || fail "the failed restore left $failcopy"
[ "$(q -d postgres -c "SELECT count(*) FROM pg_database WHERE datname LIKE 'pgvault\_restore\_%'")" = 0 ] ||
	fail "the failed restore left a pgvault_restore_* database"
[ "$(q -d postgres -c "SELECT count(*) FROM pg_subscription WHERE subname = 'pvt17_sub_fail'")" = 1 ] ||
	fail "the source's subscription is not the only one left"
[ "$labels" = 0 ] || seclabel_disable
echo "all good"
