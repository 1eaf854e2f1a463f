#!/bin/sh
# contrib/install-deps.sh — installs, with apt, what pgvault needs to build and to run its
# test suite on Debian 12 (bookworm).  Needs root (or sudo).  debootstrap builds the Debian
# trees holding PostgreSQL 17 and 18 for `make check-versions` (tests/lib/trees.sh).
set -e
SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
PKGS="build-essential autoconf automake pkg-config libpq-dev libzstd-dev libarchive-dev
libcurl4-openssl-dev libjansson-dev libinih-dev libssl-dev libcmocka-dev libxml2-dev zstd
postgresql-15 postgresql-contrib postgresql-client-15 python3 time
postgresql-server-dev-15 dpkg-dev debootstrap postgresql-15-postgis-3"
missing=""
for p in $PKGS; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
if [ -n "$missing" ]; then
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
# The security label tests build PostgreSQL's dummy_seclabel test module from the
# postgresql-15 source package (tests/lib/seclabel.sh): apt needs a deb-src line.
if ! grep -rqs '^Types:.*deb-src\|^deb-src ' /etc/apt/sources.list /etc/apt/sources.list.d/; then
	$SUDO tee /etc/apt/sources.list.d/pgvault-deb-src.sources >/dev/null <<'EOF'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
	$SUDO apt-get update -qq
fi
# The S3 tests run s3rver on Node.js (npm installs it on first use); Debian's nodejs when
# the machine has none.
if ! command -v node >/dev/null 2>&1; then
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
