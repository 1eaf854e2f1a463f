# tests/lib/seclabel.sh — a security label provider for the tests: PostgreSQL's test module
# dummy_seclabel (src/test/modules/dummy_seclabel, provider "dummy") is in no Debian binary
# package, so it is built with PGXS from the postgresql-MAJOR source package (needs a deb-src
# line, dpkg-dev and postgresql-server-dev-MAJOR; see contrib/install-deps.sh) and installed
# into the server's lib directory.  Sourced by tests that need labels.
#
#   seclabel_install     build and install the module when missing (root); status 1 if not
#   seclabel_enable      make the provider usable in new sessions of the running cluster:
#                        already preloaded (tests/lib/pg.sh), else session_preload_libraries
#                        through ALTER SYSTEM; status 1 if labels still cannot be set
#   seclabel_disable     undo seclabel_enable's ALTER SYSTEM

_seclabel_pgconfig() {
	if [ -x "${PGBIN:-}/pg_config" ]; then echo "$PGBIN/pg_config"; else echo pg_config; fi
}

seclabel_install() {
	local pgc lib major dir v
	pgc=$(_seclabel_pgconfig)
	lib=$("$pgc" --pkglibdir) || return 1
	[ -f "$lib/dummy_seclabel.so" ] && return 0
	[ -w "$lib" ] || { echo "seclabel: $lib is not writable" >&2; return 1; }
	major=$("$pgc" --version | sed -n 's/^PostgreSQL \([0-9]*\).*/\1/p')
	dir="${SECLABEL_BUILD_DIR:-/var/tmp/pgvault-seclabel-$major}"
	mkdir -p "$dir" || return 1
	if [ ! -d "$dir/src" ]; then
		# the newest source version first; a version missing on the mirror is skipped
		for v in $(apt-cache showsrc "postgresql-$major" 2>/dev/null | sed -n 's/^Version: //p' | sort -Vr); do
			rm -f "$dir"/*.orig.tar.* 2>/dev/null
			(cd "$dir" && apt-get source -qq --download-only "postgresql-$major=$v" >/dev/null 2>&1) || continue
			local tb; tb=$(ls "$dir"/postgresql-"$major"_*.orig.tar.* 2>/dev/null | head -1)
			[ -n "$tb" ] || continue
			mkdir -p "$dir/src" && tar -xf "$tb" -C "$dir/src" --strip-components=1 --wildcards \
				'*/src/test/modules/dummy_seclabel/*' && break
			rm -rf "$dir/src"
		done
	fi
	[ -d "$dir/src/src/test/modules/dummy_seclabel" ] ||
		{ echo "seclabel: could not get the postgresql-$major source (deb-src line missing?)" >&2; return 1; }
	make -s -C "$dir/src/src/test/modules/dummy_seclabel" USE_PGXS=1 PG_CONFIG="$pgc" install >/dev/null 2>&1 ||
		{ echo "seclabel: building dummy_seclabel failed" >&2; return 1; }
	[ -f "$lib/dummy_seclabel.so" ]
}

# (probed in database postgres: a temporary table leaves pg_temp_N schemas behind)
_seclabel_works() {
	psql -X -q -At -d postgres -c "CREATE TEMP TABLE pv_seclabel_probe (); SECURITY LABEL FOR dummy ON TABLE pv_seclabel_probe IS 'classified'" >/dev/null 2>&1
}

seclabel_enable() {
	_seclabel_works && return 0
	# never change the configuration of a server the suite did not start
	[ -z "${PV_EXTERNAL_SERVER:-}" ] || return 1
	psql -X -q -d postgres -c "ALTER SYSTEM SET session_preload_libraries = 'dummy_seclabel'" -c "SELECT pg_reload_conf()" >/dev/null 2>&1 || return 1
	sleep 0.5
	_seclabel_works
}

seclabel_disable() {
	psql -X -q -d postgres -c "ALTER SYSTEM RESET session_preload_libraries" -c "SELECT pg_reload_conf()" >/dev/null 2>&1 || true
}
