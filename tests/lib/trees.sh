# tests/lib/trees.sh — Debian trees (debootstrap) holding other PostgreSQL versions, and
# servers started inside them, for the version matrix (tests/versions.sh) and
# contrib/check-regression.sh.  Sourced by bash scripts running as root.
#
#   tree_ensure SUITE PGVER   prints the tree's path; builds it once (debootstrap, then
#                             postgresql-PGVER + postgresql-client-PGVER) and caches it in
#                             $PGVAULT_TREE_CACHE/SUITE (default /var/cache/pgvault-test/SUITE).
#                             A tree counts as built when SUITE/.pgvault-tree-ok exists; it is
#                             built in SUITE.tmp and renamed.  A build under way (by this
#                             script or by anything else working in SUITE.tmp) is waited for.
#   tree_run TREE CMD...      runs CMD inside TREE (chroot) with /proc and /dev mounted in a
#                             private mount namespace: nothing stays mounted on the machine,
#                             whatever happens to the process.  stdin/stdout/stderr pass through.
#   tree_pg_start TREE VER PORT DIRVAR
#                             initdb + pg_ctl start inside TREE as its postgres user, listening
#                             on 127.0.0.1:PORT only (trust for 127.0.0.1/32); the cluster lives
#                             in a fresh directory under TREE/var/tmp whose in-tree path is
#                             stored in the variable named DIRVAR.
#   tree_pg_stop TREE VER DIR stops that server (immediate) and removes its directory.
#   tree_bin_dir TREE VER OUT writes wrapper scripts OUT/{pg_dump,pg_restore,psql,pg_config}
#                             that run the tree's own client programs (through tree_run), so
#                             PGBIN=OUT makes tests/lib/oracle.sh use that version's pg_dump.
#
# The archive address comes from the machine's own apt sources at run time.

PGVAULT_TREE_CACHE="${PGVAULT_TREE_CACHE:-/var/cache/pgvault-test}"
TREE_BUILD_TIMEOUT="${TREE_BUILD_TIMEOUT:-2400}"   # seconds to wait for another builder

# The Debian archive address of this machine's apt sources (not the security archive).
tree_archive_uri() {
	local u
	u=$(grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}' | grep -v security | head -1)
	[ -n "$u" ] || u=$(grep -hs '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list |
		sed 's/\[[^]]*\] *//' | awk '{print $2}' | grep -v security | head -1)
	[ -n "$u" ] || { echo "trees: no Debian archive address in /etc/apt/sources.list{,.d}" >&2; return 1; }
	printf '%s\n' "$u"
}

# tree_busy DIR: status 0 while a process works in DIR (names it, or is chrooted there).
tree_busy() {
	local d="$1" p r
	for p in /proc/[0-9]*; do
		r=$(readlink "$p/root" 2>/dev/null) || continue
		case "$r" in "$d"|"$d"/*) return 0 ;; esac
		if tr '\0' ' ' <"$p/cmdline" 2>/dev/null | grep -qF -- "$d"; then return 0; fi
	done
	return 1
}

# tree_mounted DIR: status 0 when anything is mounted at or below DIR.
tree_mounted() {
	awk -v d="$1" '$2 == d || index($2, d "/") == 1 { f = 1 } END { exit !f }' /proc/mounts
}

# tree_remove DIR: removes a broken tree; refuses when something is mounted inside it.
tree_remove() {
	local d="$1"
	[ -e "$d" ] || return 0
	if tree_mounted "$d"; then
		echo "trees: $d has mounts (see /proc/mounts); unmount them, then run again" >&2
		return 1
	fi
	rm -rf --one-file-system "$d"
}

# _tree_build SUITE PGVER DIR: debootstrap into DIR.tmp and install the server; private mounts.
_tree_build() {
	local suite="$1" ver="$2" dir="$3" uri log start
	uri=$(tree_archive_uri) || return 1
	log="$dir.log"
	start=$(date +%s)
	echo "trees: building $dir ($suite, PostgreSQL $ver; log $log)" >&2
	tree_remove "$dir.tmp" || return 1
	# Everything, debootstrap's own mounts included, happens in a private mount namespace.
	unshare -m bash -euo pipefail -c '
		suite=$1; ver=$2; t=$3; uri=$4
		if ! debootstrap --variant=minbase "$suite" "$t" "$uri"; then
			echo "trees: debootstrap with signature checks failed; retrying without (--no-check-gpg)"
			rm -rf --one-file-system "$t"
			debootstrap --variant=minbase --no-check-gpg "$suite" "$t" "$uri"
		fi
		mkdir -p "$t/etc/postgresql-common"
		echo "create_main_cluster = false" >"$t/etc/postgresql-common/createcluster.conf"
		printf "#!/bin/sh\nexit 101\n" >"$t/usr/sbin/policy-rc.d"; chmod +x "$t/usr/sbin/policy-rc.d"
		echo "Acquire::Check-Valid-Until \"false\";" >"$t/etc/apt/apt.conf.d/99pgvault-test"
		cp /etc/resolv.conf "$t/etc/resolv.conf"
		mount -t proc proc "$t/proc"
		mount --bind /dev "$t/dev"
		mount --bind /dev/pts "$t/dev/pts"
		chroot "$t" apt-get update
		DEBIAN_FRONTEND=noninteractive chroot "$t" apt-get install -y --no-install-recommends \
			"postgresql-$ver" "postgresql-client-$ver"
		chroot "$t" apt-get clean
	' sh "$suite" "$ver" "$dir.tmp" "$uri" >"$log" 2>&1 ||
		{ tail -20 "$log" >&2; echo "trees: building $dir failed (log $log)" >&2; return 1; }
	[ -x "$dir.tmp/usr/lib/postgresql/$ver/bin/postgres" ] ||
		{ echo "trees: $dir.tmp has no PostgreSQL $ver server (log $log)" >&2; return 1; }
	echo ok >"$dir.tmp/.pgvault-tree-ok"
	mv "$dir.tmp" "$dir" || return 1
	echo "trees: built $dir in $(( $(date +%s) - start )) s" >&2
}

tree_ensure() {
	local suite="$1" ver="$2" dir waited=0 rc
	dir="$PGVAULT_TREE_CACHE/$suite"
	if [ -f "$dir/.pgvault-tree-ok" ]; then printf '%s\n' "$dir"; return 0; fi
	command -v debootstrap >/dev/null || { echo "trees: debootstrap is not installed (contrib/install-deps.sh)" >&2; return 1; }
	mkdir -p "$PGVAULT_TREE_CACHE" || return 1
	(
		flock 9 || exit 1
		# another builder (not using the lock) still working in SUITE.tmp: wait for it
		while [ ! -f "$dir/.pgvault-tree-ok" ] && [ -d "$dir.tmp" ] && tree_busy "$dir.tmp"; do
			[ "$waited" -lt "$TREE_BUILD_TIMEOUT" ] ||
				{ echo "trees: gave up waiting for the build in $dir.tmp" >&2; exit 1; }
			[ "$waited" = 0 ] && echo "trees: waiting for the build under way in $dir.tmp" >&2
			sleep 5; waited=$((waited + 5))
		done
		[ -f "$dir/.pgvault-tree-ok" ] && exit 0
		tree_remove "$dir" || exit 1      # a tree without its marker is incomplete
		_tree_build "$suite" "$ver" "$dir"
	) 9>"$PGVAULT_TREE_CACHE/.$suite.lock"
	rc=$?
	[ "$rc" = 0 ] && [ -f "$dir/.pgvault-tree-ok" ] || return 1
	printf '%s\n' "$dir"
}

tree_run() {
	local t="$1"; shift
	unshare -m sh -c 't=$1; shift
		mount -t proc proc "$t/proc" && mount --bind /dev "$t/dev" || exit 125
		exec chroot "$t" "$@"' sh "$t" "$@"
}

tree_pg_start() {
	local t="$1" ver="$2" port="$3" dirvar="$4" host rel bin
	host=$(mktemp -d "$t/var/tmp/pgvault-pg.XXXXXX") || return 1
	rel="${host#"$t"}"
	printf -v "$dirvar" '%s' "$rel"
	bin="/usr/lib/postgresql/$ver/bin"
	chmod 755 "$host" && tree_run "$t" chown postgres: "$rel" || return 1
	tree_run "$t" runuser -u postgres -- "$bin/initdb" -D "$rel/data" -U postgres --auth=trust \
		-E UTF8 --locale=C.UTF-8 >"$host/initdb.log" 2>&1 ||
		{ cat "$host/initdb.log" >&2; return 1; }
	printf 'local all all trust\nhost all all 127.0.0.1/32 trust\n' >"$host/data/pg_hba.conf" &&
		tree_run "$t" chown postgres: "$rel/data/pg_hba.conf" || return 1
	tree_run "$t" runuser -u postgres -- "$bin/pg_ctl" -D "$rel/data" -l "$rel/server.log" -w -t 60 \
		-o "-p $port -k $rel -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=60" \
		start >/dev/null || { cat "$host/server.log" >&2; return 1; }
}

tree_pg_stop() {
	local t="$1" ver="$2" rel="$3"
	[ -n "$rel" ] && [ -d "$t$rel" ] || return 0
	if [ -f "$t$rel/data/postmaster.pid" ]; then
		tree_run "$t" runuser -u postgres -- "/usr/lib/postgresql/$ver/bin/pg_ctl" -D "$rel/data" \
			-m immediate -w stop >/dev/null 2>&1 || true
	fi
	case "$rel" in /var/tmp/pgvault-pg.*) rm -rf --one-file-system "${t:?}$rel" ;; esac
}

tree_bin_dir() {
	local t="$1" ver="$2" out="$3" p self
	self="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/trees.sh"
	mkdir -p "$out" || return 1
	for p in pg_dump pg_restore psql pg_config; do
		printf '#!/usr/bin/env bash\n. %q\ntree_run %q %q "$@"\n' \
			"$self" "$t" "/usr/lib/postgresql/$ver/bin/$p" >"$out/$p"
		chmod 755 "$out/$p"
	done
}
