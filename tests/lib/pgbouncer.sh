# tests/lib/pgbouncer.sh — a throwaway PgBouncer (Debian's pgbouncer package,
# /usr/sbin/pgbouncer) in front of a test server, for the connection-pooler tests.  Everything
# of one instance lives in its directory: pgbouncer.ini, userlist.txt, the log, the pid file
# and the Unix socket; it listens on 127.0.0.1 and that socket only, never on the system
# service's port 6432.  Works as root (PgBouncer refuses to run as root: it runs as the
# "postgres" system user, through pg_as_owner) and as an ordinary user.  Exports nothing and
# prints nothing on success (errors and the log go to stderr).
#
# pgbouncer_start DIR PORT MODE TARGET_HOST TARGET_PORT [POOL_SIZE]
#       writes DIR/pgbouncer.ini — pool_mode MODE (session, transaction or statement), every
#       database name forwarded to TARGET_HOST:TARGET_PORT (host=127.0.0.1 or a socket
#       directory), default_pool_size POOL_SIZE (4 when not given) — starts pgbouncer -d and
#       waits until psql -h 127.0.0.1 -p PORT -U postgres -d postgres -c 'SELECT 1' works.
#       PORT "" takes pg_free_port's.  Sets PGB_PORT (the port) and PGB_SOCK (DIR, the socket
#       directory).  Authentication: auth_type = trust, with auth_user = postgres, so any
#       role that can log in on the target server is let in (PgBouncer looks it up there
#       with its auth_query); DIR/userlist.txt lists postgres only.  postgres is also the
#       admin user: psql -h 127.0.0.1 -p PORT -U postgres -d pgbouncer -c 'SHOW POOLS' (only
#       postgres there: another role's login to that console database hangs, PgBouncer 1.18
#       waiting on an auth_query it has no server for).  DIR is the instance's own directory
#       (as root it is given to postgres).
#       Startup parameters PgBouncer does not track and would refuse (extra_float_digits,
#       options) are ignored: a client's PGOPTIONS do not reach the server through it.
# pgbouncer_stop DIR    stops it (SIGTERM: connections are cut) (safe to call twice)
# pgbouncer_reload DIR  rereads DIR/pgbouncer.ini (SIGHUP), e.g. after a test edited it
#
# PGBOUNCER=PATH        another binary than /usr/sbin/pgbouncer (or the one on PATH)

[ "$(type -t pg_as_owner)" = function ] || . "$(dirname "${BASH_SOURCE[0]}")/pg.sh"

PGBOUNCER="${PGBOUNCER:-$(if [ -x /usr/sbin/pgbouncer ]; then echo /usr/sbin/pgbouncer; else command -v pgbouncer; fi)}"

pgbouncer_start() {
	local dir="$1" port="$2" mode="$3" thost="$4" tport="$5" size="${6:-4}" n=0
	[ -n "$PGBOUNCER" ] && [ -x "$PGBOUNCER" ] ||
		{ echo "pgbouncer_start: no pgbouncer (apt-get install pgbouncer)" >&2; return 1; }
	case "$mode" in
	session | transaction | statement) ;;
	*) echo "pgbouncer_start: pool mode $mode: session, transaction or statement" >&2; return 1 ;;
	esac
	[ -n "$port" ] || port=$(pg_free_port) || { echo "no free port" >&2; return 1; }
	mkdir -p "$dir"
	cat >"$dir/pgbouncer.ini" <<-EOF
	[databases]
	* = host=$thost port=$tport

	[pgbouncer]
	listen_addr = 127.0.0.1
	listen_port = $port
	unix_socket_dir = $dir
	auth_type = trust
	auth_file = $dir/userlist.txt
	auth_user = postgres
	admin_users = postgres
	pool_mode = $mode
	default_pool_size = $size
	max_client_conn = 200
	ignore_startup_parameters = extra_float_digits,options
	logfile = $dir/pgbouncer.log
	pidfile = $dir/pgbouncer.pid
	EOF
	echo '"postgres" ""' >"$dir/userlist.txt"
	if [ "$(id -u)" = 0 ]; then
		chmod 755 "$dir"
		chown postgres: "$dir" "$dir/pgbouncer.ini" "$dir/userlist.txt"
	fi
	pg_as_owner "$PGBOUNCER" -d "$dir/pgbouncer.ini" >"$dir/start.log" 2>&1 ||
		{ cat "$dir/start.log" "$dir/pgbouncer.log" >&2 2>/dev/null; return 1; }
	until psql -X -q -w -At -h 127.0.0.1 -p "$port" -U postgres -d postgres -c 'SELECT 1' >/dev/null 2>&1; do
		n=$((n + 1))
		[ "$n" -lt 300 ] || {
			echo "pgbouncer_start: no connection through 127.0.0.1:$port" >&2
			tail -20 "$dir/pgbouncer.log" >&2; return 1
		}
		sleep 0.1
	done
	PGB_PORT="$port" PGB_SOCK="$dir"
}

pgbouncer_reload() {
	kill -HUP "$(cat "$1/pgbouncer.pid")"
}

pgbouncer_stop() {
	local dir="$1" pid n=0
	[ -f "$dir/pgbouncer.pid" ] || return 0
	pid=$(cat "$dir/pgbouncer.pid")
	kill -TERM "$pid" 2>/dev/null || { rm -f "$dir/pgbouncer.pid"; return 0; }
	while kill -0 "$pid" 2>/dev/null && [ "$n" -lt 100 ]; do n=$((n + 1)); sleep 0.1; done
	rm -f "$dir/pgbouncer.pid"
}
