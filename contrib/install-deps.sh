#!/bin/sh
# contrib/install-deps.sh [--tests] — installs, with apt, what pgvault needs on Debian 12
# (bookworm) or 13 (trixie).  Needs root (or sudo).
#
#   (no option)  what building pgvault and running it needs: the C compiler and autotools
#                (not build-essential, which brings g++ and dpkg-dev), the libraries' headers,
#                and a PostgreSQL server and client of the release (15 on Debian 12, 17 on
#                13) — what contrib/demo.sh uses.
#   --tests      also what the test suite needs (contrib/check.sh): cmocka, zstd, python3,
#                time, valgrind, clang and its libFuzzer runtime (tests/fuzz), the server's
#                development files and dpkg-dev (the security label tests build a test
#                module from PostgreSQL's source package, so a deb-src line is added, copied
#                from the machine's own apt sources), and Node.js with npm for
#                the S3 test server (Debian's, when the machine has no node), PostGIS
#                (tests/t/22-extensions.sh), PgBouncer for the connection-pooler tests
#                (tests/lib/pgbouncer.sh starts instances of its own on private ports; the
#                package's service is not used), and debootstrap, which builds the Debian
#                trees holding PostgreSQL 17 and 18 for `make check-versions`
#                (tests/lib/trees.sh).
set -e
SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
TESTS=no
for a in "$@"; do
	case "$a" in
	--tests) TESTS=yes ;;
	*) echo "usage: $0 [--tests]" >&2; exit 2 ;;
	esac
done
export DEBIAN_FRONTEND=noninteractive

updated=no
apt_update() {
	[ "$updated" = yes ] && return 0
	$SUDO apt-get update -qq
	updated=yes
}

# The PostgreSQL major version of this release: the one its "postgresql" package depends on.
pg_major() {
	apt-cache depends postgresql 2>/dev/null | sed -n 's/^ *Depends: postgresql-\([0-9][0-9]*\)$/\1/p' | head -1
}
PGV="$(pg_major)"
if [ -z "$PGV" ]; then
	apt_update
	PGV="$(pg_major)"
fi
[ -n "$PGV" ] || { echo "install-deps: apt knows no PostgreSQL server package (apt-cache depends postgresql)" >&2; exit 1; }

PKGS="gcc make libc6-dev autoconf automake pkg-config libpq-dev libzstd-dev libarchive-dev
libcurl4-openssl-dev libjansson-dev libinih-dev libssl-dev libxml2-dev libsodium-dev
postgresql-$PGV postgresql-client-$PGV"
if [ "$TESTS" = yes ]; then
	PKGS="$PKGS libcmocka-dev zstd python3 time postgresql-server-dev-$PGV dpkg-dev
postgresql-$PGV-postgis-3 pgbouncer debootstrap clang valgrind tmux mandoc
chromium"
	# The S3 tests run s3rver on Node.js (tests/lib/s3.sh installs it with npm); Debian's
	# nodejs when the machine has none.
	command -v node >/dev/null 2>&1 || PKGS="$PKGS nodejs"
	command -v npm >/dev/null 2>&1 || PKGS="$PKGS npm"
fi
missing=""
for p in $PKGS; do
	[ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" = "install ok installed" ] || missing="$missing $p"
done
if [ -n "$missing" ]; then
	apt_update
	$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
[ "$TESTS" = yes ] || exit 0

# libFuzzer (tests/fuzz) is in the runtime package of the clang version the "clang" package
# brought.
CLANGV="$(clang --version 2>/dev/null | sed -n 's/.*clang version \([0-9]*\).*/\1/p' | head -1)"
if [ -n "$CLANGV" ] && [ "$(dpkg-query -W -f='${Status}' "libclang-rt-$CLANGV-dev" 2>/dev/null)" != "install ok installed" ]; then
	apt_update
	$SUDO apt-get install -y -qq --no-install-recommends "libclang-rt-$CLANGV-dev" >/dev/null
fi

# Source packages (tests/lib/seclabel.sh runs apt-get source postgresql-$PGV): when apt has no
# deb-src entry, add one for each deb entry of the machine's own sources — same archive
# address, suites, components and key — so no archive host is named here.
if ! grep -rqs '^Types:.*deb-src\|^deb-src ' /etc/apt/sources.list /etc/apt/sources.list.d/; then
	src=""
	set -- /etc/apt/sources.list.d/*.sources
	if [ -f "$1" ]; then
		# each stanza whose Types include "deb", with Types set to deb-src
		src="$(awk '
			function flush() { if (deb && body != "") printf "Types: deb-src\n%s\n", body; body = ""; deb = 0 }
			FNR == 1 { flush() }
			/^[ \t]*$/ { flush(); next }
			/^#/ { next }
			/^Types:/ { for (i = 2; i <= NF; i++) if ($i == "deb") deb = 1; next }
			{ body = body $0 "\n" }
			END { flush() }' "$@")"
	fi
	list=""
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		list="$list$(sed -n 's/^[ \t]*deb[ \t]/deb-src /p' "$f")
"
	done
	if [ -n "$(printf '%s' "$src" | tr -d '[:space:]')" ]; then
		printf '%s\n' "$src" | $SUDO tee /etc/apt/sources.list.d/pgvault-deb-src.sources >/dev/null
	elif [ -n "$(printf '%s' "$list" | tr -d '[:space:]')" ]; then
		printf '%s' "$list" | $SUDO tee /etc/apt/sources.list.d/pgvault-deb-src.list >/dev/null
	else
		echo "install-deps: no deb entry in /etc/apt/sources.list{,.d/} to derive a deb-src entry from" >&2
		exit 1
	fi
	updated=no
	apt_update
fi
