# tests/lib/pg.sh — start and stop a throwaway PostgreSQL cluster for the test suite.
# Sourced by tests/run-all.sh and by the README demo.  Private port and socket directory,
# so no other server on the machine is ever touched.  Works as root (runs the server as the
# "postgres" system user) and as an ordinary user.
#
# pg_start DIR [PORT]   creates DIR/data, starts the server, exports PGHOST PGPORT PGUSER
# pg_stop DIR           stops it (safe to call twice)
# pg_restart DIR        kills it (immediate shutdown) and starts it again, same port
# PV_PORT_BASE=N        first port pg_free_port tries (parallel suites on one machine)

PGBIN="${PGBIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}"

pg_as_owner() {
	if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

pg_free_port() {
	local p
	for p in $(seq "${1:-${PV_PORT_BASE:-5490}}" 5699); do
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && [ ! -e "/tmp/.s.PGSQL.$p" ]; then
			echo "$p"; return 0
		fi
	done
	return 1
}

pg_start() {
	local dir="$1" port="${2:-}"
	[ -n "$port" ] || port=$(pg_free_port) || { echo "no free port" >&2; return 1; }
	mkdir -p "$dir/data" "$dir/sock" "$dir/log"
	if [ "$(id -u)" = 0 ]; then
		chmod 755 "$dir"
		chown postgres: "$dir/data" "$dir/sock" "$dir/log"
	fi
	pg_as_owner "$PGBIN/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 \
		--locale=C.UTF-8 >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; return 1; }
	# Password-authenticated role for the authentication-failure tests; everything else trusts.
	{
		echo "local all pv_pwuser scram-sha-256"
		echo "host all pv_pwuser 127.0.0.1/32 scram-sha-256"
		echo "host all pvt3_bot_user 127.0.0.1/32 scram-sha-256"
		echo "local all all trust"
		echo "host all all 127.0.0.1/32 trust"
	} >"$dir/pg_hba.conf.new"
	if [ "$(id -u)" = 0 ]; then chown postgres: "$dir/pg_hba.conf.new"; fi
	mv "$dir/pg_hba.conf.new" "$dir/data/pg_hba.conf"
	# the security label provider of the tests (tests/lib/seclabel.sh), when installed
	local preload=""
	[ -f "$PGBIN/../lib/dummy_seclabel.so" ] && preload=" -c shared_preload_libraries=dummy_seclabel"
	echo "-p $port -k $dir/sock -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=60$preload" \
		>"$dir/options"
	pg_as_owner "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/log/server.log" -w -t 60 \
		-o "$(cat "$dir/options")" start >/dev/null || { cat "$dir/log/server.log" >&2; return 1; }
	export PGHOST="$dir/sock" PGPORT="$port" PGUSER=postgres PGDATABASE=postgres
	unset PGPASSWORD PGSERVICE PGOPTIONS
}

# pg_restart DIR: the server of pg_start DIR dies (immediate shutdown: sessions are cut as
# in a crash) and starts again on the same port
pg_restart() {
	local dir="$1"
	pg_as_owner "$PGBIN/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null &&
		pg_as_owner "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/log/server.log" -w -t 60 \
			-o "$(cat "$dir/options")" start >/dev/null
}

pg_stop() {
	local dir="$1"
	[ -f "$dir/data/postmaster.pid" ] || return 0
	pg_as_owner "$PGBIN/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
}
