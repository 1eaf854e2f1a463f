#!/bin/sh
# contrib/install-deps.sh — installs, with apt, what pgvault needs to build and to run its
# test suite on Debian 12 (bookworm).  Needs root (or sudo).
set -e
SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
PKGS="build-essential autoconf automake pkg-config libpq-dev libzstd-dev libarchive-dev
libcurl4-openssl-dev libjansson-dev libinih-dev libssl-dev libcmocka-dev zstd
postgresql-15 postgresql-contrib postgresql-client-15"
missing=""
for p in $PKGS; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
if [ -n "$missing" ]; then
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
