# Monitoring (SPEC §3 status, §8 notify): `status` names stale and missing databases (text
# and --json, --max-age, [db:NAME] max_age); the [notify] url is POSTed a JSON report on
# failure (and on success with on_success = yes) — checked with a real HTTP listener — and
# an unreachable or failing endpoint only warns; the Prometheus textfile parses strictly and
# keeps per-database values across runs; a multi-database run where one database fails
# exits 3 and still writes the good bundle.
. "$TOP_SRCDIR/tests/lib/common.sh"
. "$TOP_SRCDIR/tests/lib/oracle.sh"

a=pv83_a; b=pv83_b; c=pv83_c
for d in "$a" "$b" "$c"; do dropdb_q "$d"; createdb_q "$d"; q -d "$d" -c "CREATE TABLE t (id int); INSERT INTO t SELECT generate_series(1, 100)"; done
listener=""
cleanup() {
	[ -n "$listener" ] && kill "$listener" 2>/dev/null || true
	for d in "$a" "$b" "$c"; do dropdb_q "$d" || true; done
}
trap cleanup EXIT
unset PGVAULT_NOTIFY_URL PGVAULT_METRICS_FILE PGVAULT_MAX_AGE PGVAULT_STORAGE PGVAULT_DATABASES 2>/dev/null || true

failures=0
check() { # description, then a command; records a failure instead of stopping
	local what="$1"; shift
	if "$@"; then echo "ok: $what"; else echo "NOT OK: $what" >&2; failures=$((failures + 1)); fi
}
show() { { echo "--- exit $rc; stdout:"; cat "$T/out"; echo "--- stderr:"; cat "$T/err"; } >&2; }
conf() { local f="$1"; shift; printf '%s\n' "$@" >"$f"; chmod 600 "$f"; }
jq_py() { # FILE EXPR: evaluate a python expression over the JSON document j in FILE
	python3 -c 'import json, sys; j = json.load(open(sys.argv[1])); r = eval(sys.argv[2]); print(r if not isinstance(r, (dict, list)) else json.dumps(r))' "$1" "$2"
}

# ======================================= status ==============================================
st="$T/st"
conf "$T/status.conf" '[storage]' "dir = $st" '[backup]' "databases = $a $b, $c"
pv --config "$T/status.conf" backup --db "$a" --db "$b"; expect_rc 0 "backup $a $b"
# b's only bundle is made three days old (its sidecar's snapshot time, and its id)
python3 - "$st/$b" <<-'PY'
	import glob, json, os, sys, time
	side = glob.glob(os.path.join(sys.argv[1], "*.manifest.json"))
	assert len(side) == 1, side
	d = json.load(open(side[0]))
	epoch = d["snapshot_epoch"] - 3 * 86400
	new = os.path.basename(sys.argv[1]) + "_" + time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(epoch))
	os.rename(side[0][: -len(".manifest.json")] + ".pgv", os.path.join(sys.argv[1], new + ".pgv"))
	os.unlink(side[0])
	d.update(id=new, snapshot_epoch=epoch, snapshot_time=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch)))
	json.dump(d, open(os.path.join(sys.argv[1], new + ".manifest.json"), "w"), indent=1)
PY

row_status() { awk -v d="$1" '$1 == d { print $2 }' "$T/out"; }
status_default() {
	pv --config "$T/status.conf" status
	[ "$rc" = 1 ] || { show; echo "status: exit $rc, expected 1" >&2; return 1; }
	grep -qF "$b" "$T/err" && grep -qF "$c" "$T/err" || { show; echo "stderr does not name $b and $c" >&2; return 1; }
	! grep -qF "$a" "$T/err" || { show; echo "stderr names the fresh database $a" >&2; return 1; }
	[ "$(row_status "$a")/$(row_status "$b")/$(row_status "$c")" = "ok/stale/missing" ] ||
		{ show; echo "table: expected $a ok, $b stale, $c missing" >&2; return 1; }
}
check "status: $b stale, $c missing, exit 1" status_default
status_json() {
	pv --config "$T/status.conf" status --json
	[ "$rc" = 1 ] || { show; echo "status --json: exit $rc, expected 1" >&2; return 1; }
	cp "$T/out" "$T/status.json"
	local got; got=$(jq_py "$T/status.json" '" ".join(e["database"] + "=" + e["status"] for e in j)') ||
		{ show; echo "status --json is not JSON" >&2; return 1; }
	[ "$got" = "$a=ok $b=stale $c=missing" ] || { show; echo "status --json: $got" >&2; return 1; }
	[ "$(jq_py "$T/status.json" '[e for e in j if e["database"] == "'"$b"'"][0]["age_seconds"] >= 3 * 86400')" = True ] ||
		{ show; echo "age of $b is not about three days" >&2; return 1; }
}
check "status --json: ok/stale/missing per database" status_json
status_max_age() {
	pv --config "$T/status.conf" status --max-age 4d
	[ "$rc" = 1 ] || { show; echo "status --max-age 4d: exit $rc, expected 1 ($c)" >&2; return 1; }
	grep -qF "$c" "$T/err" && ! grep -qF "$b" "$T/err" || { show; echo "with --max-age 4d only $c should be named" >&2; return 1; }
	pv --config "$T/status.conf" status --max-age 4d --json
	[ "$(jq_py "$T/out" '" ".join(e["status"] for e in j)')" = "ok ok missing" ] || { show; return 1; }
}
check "status --max-age 4d: only $c fails" status_max_age
status_db_override() {
	conf "$T/status2.conf" '[storage]' "dir = $st" '[backup]' "databases = $a $b" "[db:$b]" 'max_age = 4d'
	pv --config "$T/status2.conf" status
	[ "$rc" = 0 ] || { show; echo "[db:$b] max_age = 4d: exit $rc, expected 0" >&2; return 1; }
}
check "status: [db:NAME] max_age" status_db_override
status_only_a() {
	pv --config "$T/status.conf" status --db "$a"
	[ "$rc" = 0 ] || { show; echo "status --db $a: exit $rc" >&2; return 1; }
}
check "status --db $a: exit 0" status_only_a
status_unverified() {
	# a fresh but unverified bundle does not make c fresh
	mkdir -p "$st/$c"
	local src; src=$(ls "$st/$a"/*.manifest.json | head -1)
	local id="${c}_$(date -u +%Y%m%dT%H%M%SZ)"
	cp "${src%.manifest.json}.pgv" "$st/$c/$id.pgv"
	python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); d.update(id=sys.argv[3], database=sys.argv[4], verified=False); json.dump(d, open(sys.argv[2], "w"))' \
		"$src" "$st/$c/$id.manifest.json" "$id" "$c"
	pv --config "$T/status.conf" status --json
	[ "$rc" = 1 ] && [ "$(jq_py "$T/out" '[e["status"] for e in j if e["database"] == "'"$c"'"][0]')" = missing ] ||
		{ show; echo "an unverified bundle counted as fresh" >&2; return 1; }
}
check "status: an unverified bundle does not count" status_unverified

# ======================================= notify ==============================================
cat >"$T/listener.py" <<'PY'
import http.server, json, os, sys
log, portfile = sys.argv[1], sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    def any(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        rec = {"method": self.command, "path": self.path, "body": body.decode("utf-8", "replace"),
               "content_type": self.headers.get("Content-Type")}
        with open(log, "a") as f:
            f.write(json.dumps(rec) + "\n")
        code = 500 if "/fail" in self.path else 200
        self.send_response(code)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"OK")
    do_POST = do_GET = do_PUT = any
    def log_message(self, *a):
        pass
srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
with open(portfile + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(portfile + ".tmp", portfile)
srv.serve_forever()
PY
: >"$T/requests"
python3 "$T/listener.py" "$T/requests" "$T/port" &
listener=$!
for _ in $(seq 100); do [ -s "$T/port" ] && break; sleep 0.1; done
[ -s "$T/port" ] || fail "the HTTP listener did not start"
port=$(cat "$T/port")
deadport=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
echo "listener on port $port; nothing on port $deadport"
nreq() { grep -c . "$T/requests" || true; }
last_req() { tail -1 "$T/requests" >"$T/req.json"; }
sn="$T/st-notify"
notify_conf() { # URL [more lines]
	local url="$1"; shift
	conf "$T/notify.conf" '[storage]' "dir = $sn" '[connection]' 'retries = 0' '[notify]' "url = $url" "$@"
}

notify_failure() {
	notify_conf "http://127.0.0.1:$port/ping/{exit}"
	local n0; n0=$(nreq)
	pv --config "$T/notify.conf" backup --db pv83_no_such_db
	[ "$rc" = 1 ] || { show; echo "backup of a missing database: exit $rc" >&2; return 1; }
	[ "$(nreq)" = $((n0 + 1)) ] || { cat "$T/requests" >&2; echo "expected exactly one request" >&2; return 1; }
	last_req
	[ "$(jq_py "$T/req.json" 'j["method"] + " " + j["path"]')" = "POST /ping/1" ] || { cat "$T/req.json" >&2; echo "expected POST /ping/1" >&2; return 1; }
	jq_py "$T/req.json" 'j["body"]' >"$T/body.json"
	jq_py "$T/body.json" 'j' >/dev/null || { cat "$T/req.json" >&2; echo "the body is not JSON" >&2; return 1; }
	[ "$(jq_py "$T/body.json" 'j["status"]')" = failure ] || { cat "$T/body.json" >&2; echo 'status is not "failure"' >&2; return 1; }
	jq_py "$T/body.json" 'json.dumps(j)' | grep -qF '"pv83_no_such_db"' || { cat "$T/body.json" >&2; echo "the body does not name the database" >&2; return 1; }
	[ "$(jq_py "$T/body.json" 'any(isinstance(d.get("error"), str) and len(d["error"]) > 5 for d in j["databases"])')" = True ] ||
		{ cat "$T/body.json" >&2; echo "the body carries no error message" >&2; return 1; }
	case "$(jq_py "$T/req.json" 'j["content_type"]')" in application/json*) ;; *) echo "Content-Type is not application/json" >&2; return 1 ;; esac
}
check "a failing backup POSTs a failure report to /ping/1" notify_failure
notify_success_silent() {
	notify_conf "http://127.0.0.1:$port/ping/{exit}"
	local n0; n0=$(nreq)
	pv --config "$T/notify.conf" backup --db "$a"
	[ "$rc" = 0 ] || { show; return 1; }
	[ "$(nreq)" = "$n0" ] || { tail -1 "$T/requests" >&2; echo "a successful backup notified without on_success" >&2; return 1; }
}
check "a successful backup posts nothing by default" notify_success_silent
notify_success() {
	notify_conf "http://127.0.0.1:$port/ping/{exit}" 'on_success = yes'
	local n0; n0=$(nreq)
	pv --config "$T/notify.conf" backup --db "$a"
	[ "$rc" = 0 ] || { show; return 1; }
	local id; id=$(cat "$T/out")
	[ "$(nreq)" = $((n0 + 1)) ] || { cat "$T/requests" >&2; echo "expected one request" >&2; return 1; }
	last_req
	[ "$(jq_py "$T/req.json" 'j["method"] + " " + j["path"]')" = "POST /ping/0" ] || { cat "$T/req.json" >&2; echo "expected POST /ping/0" >&2; return 1; }
	jq_py "$T/req.json" 'j["body"]' >"$T/body.json"
	local size; size=$(stat -c %s "$(bundle_file "$sn" "$id")")
	[ "$(jq_py "$T/body.json" 'j["status"]')" = success ] || { cat "$T/body.json" >&2; echo 'status is not "success"' >&2; return 1; }
	[ "$(jq_py "$T/body.json" '[(d["database"], d.get("bundle"), d.get("size")) for d in j["databases"]] == [("'"$a"'", "'"$id"'", '"$size"')]')" = True ] ||
		{ cat "$T/body.json" >&2; echo "expected database $a, bundle $id, size $size" >&2; return 1; }
	[ "$(jq_py "$T/body.json" 'all(isinstance(d.get("duration_seconds"), (int, float)) and 0 <= d["duration_seconds"] < 600 for d in j["databases"])')" = True ] ||
		{ cat "$T/body.json" >&2; echo "no plausible duration" >&2; return 1; }
}
check "on_success = yes: POST /ping/0 with status, bundle id, size and duration" notify_success
notify_status_placeholder() {
	notify_conf "http://127.0.0.1:$port/hc/{status}" 'on_success = yes'
	pv --config "$T/notify.conf" backup --db "$a"
	[ "$rc" = 0 ] || { show; return 1; }
	last_req
	[ "$(jq_py "$T/req.json" 'j["path"]')" = /hc/success ] || { cat "$T/req.json" >&2; return 1; }
}
check "{status} in the URL" notify_status_placeholder
notify_unreachable() {
	notify_conf "http://127.0.0.1:$deadport/ping-token-123/{exit}" 'on_success = yes' 'timeout = 5s'
	pv --config "$T/notify.conf" backup --db "$a"
	[ "$rc" = 0 ] || { show; echo "unreachable notification URL: exit $rc, expected 0" >&2; return 1; }
	grep -qi "notif" "$T/err" || { show; echo "no warning about the notification" >&2; return 1; }
	! grep -qF "ping-token-123" "$T/err" || { show; echo "the warning shows the URL's secret path" >&2; return 1; }
	pv --config "$T/notify.conf" backup --db pv83_no_such_db
	[ "$rc" = 1 ] || { show; echo "failing backup with an unreachable URL: exit $rc, expected 1" >&2; return 1; }
}
check "an unreachable notification URL only warns" notify_unreachable
notify_http_error() {
	notify_conf "http://127.0.0.1:$port/fail/{exit}" 'on_success = yes'
	pv --config "$T/notify.conf" backup --db "$a"
	[ "$rc" = 0 ] || { show; echo "endpoint answering 500: exit $rc, expected 0" >&2; return 1; }
	grep -q "500" "$T/err" || { show; echo "the warning does not give the HTTP status" >&2; return 1; }
}
check "an endpoint answering HTTP 500 only warns" notify_http_error

# ======================================= metrics =============================================
cat >"$T/promparse.py" <<'PY'
# Strict parser of the Prometheus text exposition format (0.0.4).  Prints the samples as JSON
# [[name, {labels}, value], ...] or exits 1 naming the first problem.
import json, math, re, sys
NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
FLOAT = re.compile(r"[+-]?(?:(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|Inf|inf)|NaN")
TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}

def bad(no, msg, line):
    sys.exit("line %d: %s: %r" % (no, msg, line))

def family_of(name, types):
    for suf in ("_bucket", "_sum", "_count"):
        if name.endswith(suf) and types.get(name[: -len(suf)]) in ("histogram", "summary"):
            return name[: -len(suf)]
    return name

text = open(sys.argv[1], encoding="utf-8").read()
if not text.endswith("\n"):
    sys.exit("the file does not end with a newline")
types, helps, samples, seen, done = {}, {}, [], set(), set()
current = None
for no, line in enumerate(text[:-1].split("\n"), 1):
    if line == "":
        continue
    if line.startswith("#"):
        parts = line.split(None, 3)
        if len(parts) >= 2 and parts[1] in ("HELP", "TYPE"):
            if len(parts) < 3 or not NAME.fullmatch(parts[2]):
                bad(no, "bad metric name in " + parts[1], line)
            name = parts[2]
            if parts[1] == "HELP":
                if name in helps:
                    bad(no, "second HELP", line)
                doc = parts[3] if len(parts) > 3 else ""
                if re.search(r"\\[^\\n]", doc) or doc.endswith("\\") and not doc.endswith("\\\\"):
                    bad(no, "bad escape in HELP", line)
                helps[name] = doc
            else:
                if name in types:
                    bad(no, "second TYPE", line)
                if len(parts) != 4 or parts[3] not in TYPES:
                    bad(no, "bad TYPE", line)
                if any(s[0] == name or family_of(s[0], {name: parts[3]}) == name for s in samples):
                    bad(no, "TYPE after samples", line)
                types[name] = parts[3]
            if current is not None and name != current:
                done.add(current)
            current = name
            if name in done:
                bad(no, "metric family split in two", line)
        continue
    m = NAME.match(line)
    if not m:
        bad(no, "bad metric name", line)
    name, i, labels = m.group(0), m.end(), {}
    if i < len(line) and line[i] == "{":
        i += 1
        while True:
            if line[i] == "}":
                i += 1
                break
            lm = LABEL.match(line, i)
            if not lm:
                bad(no, "bad label name", line)
            lname = lm.group(0)
            i = lm.end()
            if line[i : i + 2] != '="':
                bad(no, "expected =\"", line)
            i += 2
            val = []
            while True:
                if i >= len(line):
                    bad(no, "unterminated label value", line)
                ch = line[i]
                if ch == "\\":
                    nx = line[i + 1 : i + 2]
                    if nx not in ("\\", '"', "n"):
                        bad(no, "bad escape in label value", line)
                    val.append("\n" if nx == "n" else nx)
                    i += 2
                    continue
                if ch == '"':
                    i += 1
                    break
                val.append(ch)
                i += 1
            if lname in labels:
                bad(no, "label given twice", line)
            labels[lname] = "".join(val)
            if line[i] == ",":
                i += 1
            elif line[i] != "}":
                bad(no, "expected , or }", line)
    rest = line[i:]
    if not rest.startswith(" "):
        bad(no, "expected a space before the value", line)
    fields = rest.split()
    if len(fields) not in (1, 2) or not FLOAT.fullmatch(fields[0]):
        bad(no, "bad value", line)
    if len(fields) == 2 and not re.fullmatch(r"-?[0-9]+", fields[1]):
        bad(no, "bad timestamp", line)
    value = float(fields[0].replace("Inf", "inf"))
    fam = family_of(name, types)
    if fam != current:
        if current is not None:
            done.add(current)
        if fam in done:
            bad(no, "metric family split in two", line)
        current = fam
    key = (name, tuple(sorted(labels.items())))
    if key in seen:
        bad(no, "duplicate series", line)
    seen.add(key)
    if types.get(fam) == "counter" and (math.isnan(value) or value < 0):
        bad(no, "negative or NaN counter", line)
    samples.append([name, labels, value])
print(json.dumps({"types": types, "samples": samples}))
PY
# the parser itself rejects what it should
for badtext in 'm{database="a} 1' 'm{database="a\q"} 1' 'm 1 2 3' '9m 1' 'm{a="1",a="2"} 1' 'm 1\nn 1\nm{x="1"} 1' 'm abc'; do
	printf "$badtext\n" >"$T/bad.prom"
	if python3 "$T/promparse.py" "$T/bad.prom" >/dev/null 2>&1; then fail "the test's parser accepts: $badtext"; fi
done
printf '# HELP m x\n# TYPE m counter\nm{database="a\\"b\\\\c"} 1\nm{database="d"} 2.5e+01\n' >"$T/good.prom"
python3 "$T/promparse.py" "$T/good.prom" >/dev/null || fail "the test's parser rejects a good file"

mdir="$T/metrics"; mkdir -p "$mdir"
prom="$mdir/pgvault.prom"
weird='pv83 "no\such'   # a missing database whose name needs label escaping
conf "$T/metrics.conf" '[storage]' "dir = $T/st-metrics" '[connection]' 'retries = 0' '[notify]' "metrics_file = $prom"
metric() { # NAME DATABASE -> value ("" when absent), from $T/prom.json
	python3 -c 'import json, sys; j = json.load(open(sys.argv[1]))
v = [s[2] for s in j["samples"] if s[0] == sys.argv[2] and s[1] == {"database": sys.argv[3]}]
print(repr(v[0]) if v else "")' "$T/prom.json" "$1" "$2"
}
parse_prom() {
	[ -f "$prom" ] || { echo "no metrics file $prom" >&2; return 1; }
	python3 "$T/promparse.py" "$prom" >"$T/prom.json" || { cat "$prom" >&2; echo "the metrics file does not parse" >&2; return 1; }
}
t_start=$(date +%s)
metrics_runs() {
	pv --config "$T/metrics.conf" backup --db "$a"; [ "$rc" = 0 ] || { show; return 1; }
	local id; id=$(cat "$T/out")
	pv --config "$T/metrics.conf" backup --db "$weird"; [ "$rc" = 1 ] || { show; echo "backup of a missing database: exit $rc" >&2; return 1; }
	parse_prom || return 1
	local ts now; ts=$(metric pgvault_last_success_timestamp_seconds "$a"); now=$(date +%s)
	[ -n "$ts" ] && python3 -c 'import sys; sys.exit(0 if int(sys.argv[2]) - 1 <= float(sys.argv[1]) <= int(sys.argv[3]) + 1 else 1)' "$ts" "$t_start" "$now" ||
		{ cat "$prom" >&2; echo "pgvault_last_success_timestamp_seconds of $a: '$ts', expected $t_start..$now" >&2; return 1; }
	[ "$(metric pgvault_backup_failures_total "$weird")" = 1.0 ] ||
		{ cat "$prom" >&2; echo "pgvault_backup_failures_total of the failed database is not 1" >&2; return 1; }
	[ "$(metric pgvault_last_backup_size_bytes "$a")" = "$(stat -c %s "$(bundle_file "$T/st-metrics" "$id")").0" ] ||
		{ cat "$prom" >&2; echo "pgvault_last_backup_size_bytes of $a is not the bundle's size" >&2; return 1; }
	[ -n "$(metric pgvault_last_backup_duration_seconds "$a")" ] || { cat "$prom" >&2; echo "no duration for $a" >&2; return 1; }
	[ "$(metric pgvault_last_run_success "$a")/$(metric pgvault_last_run_success "$weird")" = "1.0/0.0" ] ||
		{ cat "$prom" >&2; echo "pgvault_last_run_success: expected 1 for $a, 0 for the failed one" >&2; return 1; }
	[ "$(jq_py "$T/prom.json" 'j["types"].get("pgvault_backup_failures_total")')" = counter ] ||
		{ echo "pgvault_backup_failures_total is not typed counter" >&2; return 1; }
	[ "$(stat -c %a "$prom")" = 640 ] || { echo "metrics file mode $(stat -c %a "$prom"), expected 640" >&2; return 1; }
	cp "$T/prom.json" "$T/prom1.json"
}
check "metrics after a good and a failed run: strict format, success time, failure count, mode 0640" metrics_runs
metrics_accumulate() {
	pv --config "$T/metrics.conf" backup --db "$weird"; [ "$rc" = 1 ] || { show; return 1; }
	parse_prom || return 1
	[ "$(metric pgvault_backup_failures_total "$weird")" = 2.0 ] ||
		{ cat "$prom" >&2; echo "pgvault_backup_failures_total did not go to 2" >&2; return 1; }
	local before; before=$(python3 -c 'import json, sys; j = json.load(open(sys.argv[1]))
print([s[2] for s in j["samples"] if s[0] == "pgvault_last_success_timestamp_seconds" and s[1] == {"database": sys.argv[2]}][0])' "$T/prom1.json" "$a")
	[ "$(metric pgvault_last_success_timestamp_seconds "$a")" = "$before" ] ||
		{ cat "$prom" >&2; echo "the last success time of $a was lost or changed by another database's run" >&2; return 1; }
	[ "$(stat -c %a "$prom")" = 640 ] || { echo "metrics file mode $(stat -c %a "$prom")" >&2; return 1; }
	[ -z "$(find "$mdir" -name '*.tmp*')" ] || { ls -la "$mdir" >&2; echo "temporary metrics files remain" >&2; return 1; }
}
check "metrics: the failure counter increments, other databases' values are kept" metrics_accumulate
# A configuration problem that stops the backup (the notification URL in a file others can
# read) still notifies (with the error) and counts the failure in the metrics; a malformed
# [schedule] line does not stop it at all.
config_stops_backup() {
	conf "$T/cfgerr.conf" '[storage]' "dir = $T/st-metrics" '[backup]' "databases = $a" \
		'[notify]' "url = http://127.0.0.1:$port/cfg/{status}/{exit}" "metrics_file = $prom"
	chmod 644 "$T/cfgerr.conf"
	local n0 f0; n0=$(nreq); f0=$(metric pgvault_backup_failures_total "$a")
	pv --config "$T/cfgerr.conf" backup
	[ "$rc" = 2 ] || { show; echo "backup with the notify URL in a 0644 file: exit $rc, expected 2" >&2; return 1; }
	[ "$(nreq)" = $((n0 + 1)) ] || { cat "$T/requests" >&2; echo "the stopped run did not notify" >&2; return 1; }
	last_req
	[ "$(jq_py "$T/req.json" 'j["path"]')" = /cfg/failure/2 ] || { cat "$T/req.json" >&2; return 1; }
	jq_py "$T/req.json" 'j["body"]' >"$T/body.json"
	[ "$(jq_py "$T/body.json" '"chmod 600" in j["error"] and j["databases"][0]["database"] == "'"$a"'" and not j["databases"][0]["ok"]')" = True ] ||
		{ cat "$T/body.json" >&2; echo "the report lacks the error or the database" >&2; return 1; }
	parse_prom || return 1
	[ "$(metric pgvault_last_run_success "$a")" = 0.0 ] && [ "$(metric pgvault_backup_failures_total "$a")" != "$f0" ] ||
		{ cat "$prom" >&2; echo "the metrics do not count the stopped run" >&2; return 1; }
	chmod 600 "$T/cfgerr.conf"
	printf '[schedule]\nbackup = 61 2 * * *\n' >>"$T/cfgerr.conf"
	pv --config "$T/cfgerr.conf" backup
	[ "$rc" = 0 ] || { show; echo "a malformed [schedule] line stopped the backup: exit $rc" >&2; return 1; }
	grep -qF "warning: $T/cfgerr.conf:9: [schedule] backup" "$T/err" || { show; echo "no warning" >&2; return 1; }
}
check "a configuration problem that stops the backup still notifies and counts; one it does not read warns" config_stops_backup

# ============================ one database fails in a multi-database run ======================
partial() {
	notify_conf "http://127.0.0.1:$port/ping/{exit}" "metrics_file = $prom"
	local n0; n0=$(nreq)
	pv --config "$T/notify.conf" backup --db "$a" --db pv83_no_such_db --db "$b"
	[ "$rc" = 3 ] || { show; echo "one of three databases failing: exit $rc, expected 3" >&2; return 1; }
	[ "$(grep -c . "$T/out")" = 2 ] || { show; echo "expected two ids on stdout" >&2; return 1; }
	local id
	while read -r id; do
		bundle_file "$sn" "$id" >/dev/null || return 1
		pv --storage "$sn" verify "$id"; [ "$rc" = 0 ] || { show; echo "bundle $id does not verify" >&2; return 1; }
	done < <(cat "$T/out")
	[ "$(nreq)" = $((n0 + 1)) ] || { echo "expected one notification" >&2; return 1; }
	last_req
	[ "$(jq_py "$T/req.json" 'j["path"]')" = /ping/3 ] || { cat "$T/req.json" >&2; echo "expected /ping/3" >&2; return 1; }
	jq_py "$T/req.json" 'j["body"]' >"$T/body.json"
	[ "$(jq_py "$T/body.json" 'j["status"] + " " + " ".join(d["database"] + ":" + str(d["ok"]) for d in j["databases"])')" = \
		"failure $a:True pv83_no_such_db:False $b:True" ] || { cat "$T/body.json" >&2; echo "the report does not say which database failed" >&2; return 1; }
	parse_prom || return 1
	[ "$(metric pgvault_last_run_success "$b")/$(metric pgvault_last_run_success pv83_no_such_db)" = "1.0/0.0" ] ||
		{ cat "$prom" >&2; echo "metrics of the partial run are wrong" >&2; return 1; }
}
check "--db good --db missing --db good: exit 3, both good bundles written, report names the failure" partial

[ "$failures" = 0 ] || fail "$failures check(s) failed"
