#!/usr/bin/env bash
# contrib/fresh-check.sh — runs the README's two commands the way a new user would, on a
# fresh Debian 12 (bookworm): builds a minimal Debian tree with debootstrap, clones this
# repository's current commit into it, and runs `bash contrib/demo.sh` and then
# `bash contrib/check.sh` inside, printing each one's result and time and a summary at the
# end.  Nothing from the machine's own installed packages is used inside the tree.
#
#   contrib/fresh-check.sh [--only demo|check] [--bench] [--suite SUITE] [--dir DIR] [--keep]
#                          [--share-cache] [--port-base N]
#
#   --only        run one of the two commands (default: both, the demo first)
#   --bench       after the demo (which builds _build/pgvault), install what bench/ needs
#                 besides (zstd, time, python3: bench/README.md) and run a quick benchmark
#                 (bench/run.sh at tiny sizes, one repetition); its log is DIR/bench.log
#   --suite       the Debian release to build (default bookworm; trixie works too)
#   --dir DIR     where to build the tree (default: a new /var/tmp/pgvault-fresh.XXXXXX);
#                 the logs are DIR/demo.log and DIR/check.log
#   --keep        keep DIR afterwards (it is removed when both commands passed otherwise)
#   --share-cache bind-mount the machine's /var/cache/pgvault-test (the test harness's cache
#                 of Debian trees for other PostgreSQL versions) into the tree, so the inner
#                 run reuses it instead of building those trees again
#   --port-base N the first port the inner suite's servers try (PV_PORT_BASE, default 5490):
#                 the tree shares the machine's network, so a suite running beside it on
#                 the machine needs other ports (a server restarted by a test finds its
#                 port taken otherwise)
#
# Needs root.  Each command runs in its own mount and PID namespace (unshare): proc, sys and
# dev are mounted only there, so nothing stays mounted and no process stays behind.  The
# archive address comes from the machine's own apt sources (`URIs:` lines, or sources.list).
# From the machine it copies only what a fresh machine of this workplace has too: the DNS
# configuration, its extra CA certificates (/usr/local/share/ca-certificates) and its global
# npm configuration (/etc/npmrc, /usr/etc/npmrc), without which npm cannot reach its
# registry through the workplace's network.
set -uo pipefail
ONLY="" SUITE=bookworm DIR="" KEEP=no SHARE=no BENCH=no PORTBASE=""
while [ $# -gt 0 ]; do
	case "$1" in
	--only) ONLY="${2:?--only needs demo or check}"; shift 2 ;;
	--bench) BENCH=yes; shift ;;
	--suite) SUITE="${2:?--suite needs a release name}"; shift 2 ;;
	--dir) DIR="${2:?--dir needs a directory}"; shift 2 ;;
	--keep) KEEP=yes; shift ;;
	--share-cache) SHARE=yes; shift ;;
	--port-base) PORTBASE="${2:?--port-base needs a port}"; shift 2 ;;
	*) echo "usage: $0 [--only demo|check] [--bench] [--suite SUITE] [--dir DIR] [--keep] [--share-cache] [--port-base N]" >&2; exit 2 ;;
	esac
done
case "$ONLY" in ""|demo|check) ;; *) echo "fresh-check: --only takes demo or check" >&2; exit 2 ;; esac
case "$PORTBASE" in *[!0-9]*) echo "fresh-check: --port-base takes a port number" >&2; exit 2 ;; esac
[ "$BENCH" = no ] || [ "$ONLY" != check ] || { echo "fresh-check: --bench needs the demo's build" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "fresh-check: needs root (debootstrap, chroot, mounts)" >&2; exit 1; }

here="$(cd "$(dirname "$0")/.." && pwd)"
COMMIT="$(git -C "$here" rev-parse HEAD)" || { echo "fresh-check: $here is not a git checkout" >&2; exit 1; }
GITDIR="$(cd "$here" && cd "$(git rev-parse --git-common-dir)" && pwd)"
if [ -n "$(git -C "$here" status --porcelain --untracked-files=no)" ]; then
	echo "fresh-check: note: uncommitted changes in $here are not part of the check (commit $COMMIT is)" >&2
fi

# The archive address: the first one the machine's apt sources name that is not the
# security archive.
mirror() {
	local f
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] && sed -n 's/^URIs:[ \t]*//p' "$f" | tr ' \t' '\n\n'
	done
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] && sed -n 's/^[ \t]*deb[ \t]\+\(\[[^]]*\][ \t]\+\)\?\([^ \t]*\).*/\2/p' "$f"
	done
}
MIRROR="$(mirror | grep -v '^$' | grep -v -- '-security' | head -1)"
[ -n "$MIRROR" ] || { echo "fresh-check: no archive address in /etc/apt/sources.list{,.d/}" >&2; exit 1; }

command -v debootstrap >/dev/null || {
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
} || { echo "fresh-check: cannot install debootstrap" >&2; exit 1; }

if [ -z "$DIR" ]; then DIR="$(mktemp -d /var/tmp/pgvault-fresh.XXXXXX)"; else mkdir -p "$DIR"; fi
DIR="$(cd "$DIR" && pwd)"
ROOT="$DIR/root"
RESULTS=()
say() { echo "[$(date -u +%H:%M:%S)] $*"; }
hms() { printf '%dm%02ds' $(($1 / 60)) $(($1 % 60)); }

# inside COMMAND: runs COMMAND (a bash script) as root in the tree, in private mount and PID
# namespaces, with a clean environment.
inside() {
	local cache=""
	[ "$SHARE" = yes ] && [ -d /var/cache/pgvault-test ] && cache=/var/cache/pgvault-test
	unshare --mount --propagation private --pid --fork env -i \
		ROOT="$ROOT" GITDIR="$GITDIR" CACHE="$cache" CMD="$1" PATH=/usr/sbin:/usr/bin:/sbin:/bin \
		bash -c '
		set -e
		# the tree itself a mount point: inside, "/" can then be made private again by the
		# harness'"'"'s own unshare -m (tests/lib/trees.sh), which fails on a plain chroot
		mount --bind "$ROOT" "$ROOT"
		mount -t proc proc "$ROOT/proc"
		mount -t sysfs sysfs "$ROOT/sys"
		mount --rbind /dev "$ROOT/dev"
		mkdir -p "$ROOT/mnt/pgvault.git"
		mount --bind -o ro "$GITDIR" "$ROOT/mnt/pgvault.git"
		if [ -n "$CACHE" ]; then
			mkdir -p "$ROOT$CACHE"
			mount --bind "$CACHE" "$ROOT$CACHE"
		fi
		exec chroot "$ROOT" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb \
			PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
			/bin/bash -c "$CMD"' </dev/null
}

# step NAME LOG COMMAND...: runs COMMAND, output to the terminal and LOG; records the result.
step() {
	local name="$1" log="$2" t0 t1 st last; shift 2
	say "$name: started (log $log)"
	t0=$(date +%s)
	"$@" 2>&1 | tee "$log"
	st=${PIPESTATUS[0]}
	t1=$(date +%s)
	last="$(grep -v '^[[:space:]]*$' "$log" | tail -1)"
	RESULTS+=("$(printf '%-10s %-6s exit %-3s %8s   last line: %s' "$name" \
		"$([ "$st" = 0 ] && echo pass || echo FAIL)" "$st" "$(hms $((t1 - t0)))" "$last")")
	say "$name: $([ "$st" = 0 ] && echo passed || echo FAILED with exit status $st) in $(hms $((t1 - t0)))"
	return "$st"
}

summary() {
	echo
	echo "== fresh-check summary: Debian $SUITE tree $ROOT, commit $COMMIT"
	printf '%s\n' "${RESULTS[@]}"
}

ok=yes
say "fresh-check of commit $COMMIT on a new Debian $SUITE tree in $ROOT (archive: $MIRROR)"
if [ ! -x "$ROOT/bin/bash" ]; then
	step debootstrap "$DIR/debootstrap.log" debootstrap --variant=minbase --include=git,ca-certificates \
		"$SUITE" "$ROOT" "$MIRROR" || { summary; exit 1; }
fi
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
if compgen -G '/usr/local/share/ca-certificates/*.crt' >/dev/null; then
	cp /usr/local/share/ca-certificates/*.crt "$ROOT/usr/local/share/ca-certificates/"
	inside 'update-ca-certificates >/dev/null 2>&1'
fi
for f in /etc/npmrc /usr/etc/npmrc; do
	[ -f "$f" ] && mkdir -p "$ROOT$(dirname "$f")" && cp "$f" "$ROOT$f"
done

step clone "$DIR/clone.log" inside "set -e
	rm -rf /root/pgvault
	git clone -q /mnt/pgvault.git /root/pgvault
	git -C /root/pgvault checkout -q --detach $COMMIT
	git -C /root/pgvault log -1 --format='cloned %h %s'" || { summary; exit 1; }

if [ "$ONLY" != check ]; then
	step demo "$DIR/demo.log" inside 'cd /root/pgvault && bash contrib/demo.sh' || ok=no
fi
if [ "$BENCH" = yes ] && [ "$ok" = yes ]; then
	step bench "$DIR/bench.log" inside 'set -e; cd /root/pgvault
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends zstd time python3 >/dev/null
		REPS=1 FLEET=3 MANY=50 BENCH_SCALE=1 MESSAGES=20000 BIG_ROWS=50000 \
			BENCH_RESULTS=/root/bench-quick.md bash bench/run.sh' || ok=no
fi
if [ "$ONLY" != demo ]; then
	step check "$DIR/check.log" inside "cd /root/pgvault && ${PORTBASE:+PV_PORT_BASE=$PORTBASE }bash contrib/check.sh" || ok=no
fi
summary
if [ "$ok" = yes ] && [ "$KEEP" = no ]; then
	rm -rf --one-file-system "$DIR"
	echo "(tree removed; --keep keeps it)"
else
	echo "(tree and logs kept in $DIR)"
fi
[ "$ok" = yes ]
