#!/usr/bin/env bash
# tests/t/99-status-page.sh — `status --html FILE`, rendered by headless Chromium.  Three
# configured databases: one steady, one whose bundle shrinks by more than half overnight, one
# that does not exist (its runs fail), plus one whose name needs escaping.  The page is
# written even though status exits 1 (a database is missing); Chromium renders it (a
# screenshot of plausible size is taken) and its DOM has one section per database, each with
# its state, a size chart with one point per bundle, the shrinking one's fall marked, the
# failed runs marked failed, and the awkward name shown as text, not markup.
. "$TOP_SRCDIR/tests/lib/common.sh"
CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
[ -n "$CHROMIUM" ] || fail "chromium is not installed (contrib/install-deps.sh --tests installs it)"
A=pvt99_steady; B=pvt99_shrinks; C=pvt99_missing; W='pvt99<b>&"odd'
cleanup() { for d in "$A" "$B" "$W"; do dropdb_q "$d" >/dev/null 2>&1 || true; done; }
trap cleanup EXIT
cleanup; dropdb_q "$C"
for d in "$A" "$B" "$W"; do createdb_q "$d"; done
q -d "$A" -c "CREATE TABLE t AS SELECT g FROM generate_series(1, 1000) g"
q -d "$B" -c "CREATE TABLE t AS SELECT g, md5(g::text) AS h FROM generate_series(1, 40000) g"
cat >"$T/c.conf" <<CONF
[storage]
dir = $T/st
[backup]
databases = $A, $B, $C
[connection]
retries = 0
CONF
for i in 1 2 3; do
	pv --config "$T/c.conf" backup; expect_rc 3 "backup run $i (one database missing)"
	sleep 1
done
pv --config "$T/c.conf" backup --db "$W"; expect_rc 0 "backup of the awkward name"
q -d "$B" -c "DELETE FROM t WHERE g > 5000" -c "VACUUM FULL t"
pv --config "$T/c.conf" backup; expect_rc 3 "the night the bundle shrinks"
printf '[backup]\ndatabases = %s, %s, %s, %s\n' "$A" "$B" "$C" "$W" >"$T/s.conf"
sed -n '1,2p' "$T/c.conf" >>"$T/s.conf"
pv --config "$T/s.conf" status --html "$T/status.html"; expect_rc 1 "status with a missing database"
[ -s "$T/status.html" ] || fail "no page written"

# Chromium: a screenshot, and the DOM as it parsed the page
"$CHROMIUM" --headless --no-sandbox --disable-gpu --window-size=1000,1600 \
	--screenshot="$T/status.png" "file://$T/status.html" >"$T/chromium.log" 2>&1 ||
	{ cat "$T/chromium.log" >&2; fail "chromium failed to render the page"; }
"$CHROMIUM" --headless --no-sandbox --disable-gpu --dump-dom "file://$T/status.html" >"$T/dom.html" 2>>"$T/chromium.log" ||
	{ cat "$T/chromium.log" >&2; fail "chromium failed to dump the DOM"; }
python3 - "$T/status.png" <<'PY' || fail "the screenshot is not a plausible PNG"
import struct, sys
b = open(sys.argv[1], "rb").read()
assert b[:8] == b"\x89PNG\r\n\x1a\n", b[:8]
w, h = struct.unpack(">II", b[16:24])
assert w >= 900 and h >= 1000 and len(b) > 20000, (w, h, len(b))
PY
python3 - "$T/dom.html" "$A" "$B" "$C" "$W" <<'PY' || fail "the page does not hold what it should: see $T/dom.html"
import sys
from html.parser import HTMLParser
dom, A, B, C, W = sys.argv[1:]
class P(HTMLParser):
    def __init__(self):
        super().__init__(); self.sections = {}; self.cur = None; self.stack = []; self.bold = 0
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "section" and "database" in (a.get("class") or ""):
            self.cur = self.sections.setdefault(a["data-database"], {"svg": None, "fell": 0, "failed": 0, "state": None, "dots": 0})
        if self.cur is None: return
        cls = a.get("class") or ""
        if tag == "svg" and "sizes" in cls: self.cur["svg"] = int(a["data-bundles"])
        if tag == "circle": self.cur["dots"] += 1; self.cur["fell"] += cls == "fell"
        if tag == "tr" and cls == "failed": self.cur["failed"] += 1
        if tag == "span" and cls.startswith("state "): self.cur["state"] = cls.split()[1]
        if tag == "b": self.bold += 1
p = P(); p.feed(open(dom).read())
s = p.sections
assert set(s) == {A, B, C, W}, s.keys()
assert s[A]["state"] == "ok" and s[A]["svg"] == 4 and s[A]["dots"] == 4 and s[A]["fell"] == 0, s[A]
assert s[B]["svg"] == 4 and s[B]["fell"] == 1, s[B]
assert s[C]["state"] == "missing" and s[C]["svg"] == 0 and s[C]["failed"] == 4, s[C]
assert s[W]["svg"] == 1, s[W]
assert p.bold == 0, "the awkward name became markup"
PY
echo "figure: status page: 4 databases rendered by Chromium ($(python3 -c 'import struct,sys; b=open(sys.argv[1],"rb").read(); print("%dx%d" % struct.unpack(">II", b[16:24]))' "$T/status.png") screenshot, $(stat -c %s "$T/status.png") bytes); the shrinking bundle marked; the missing database's 4 failed runs marked"
