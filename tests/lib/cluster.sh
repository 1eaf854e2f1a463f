# tests/lib/cluster.sh — a throwaway primary and hot standby (streaming replication) for the
# tests about standbys, on top of tests/lib/pg.sh (sourced here when not yet).  Private ports
# (pg_free_port) and socket directories; no other server on the machine is touched.  Works as
# root (servers run as the "postgres" system user) and as an ordinary user.  Exports nothing
# and prints nothing on success (errors and the server log go to stderr): the suite's own
# PGHOST/PGPORT stay as they are.  Connect with psql -h "$CL_..._SOCK" -p "$CL_..._PORT"
# -U postgres (or -h 127.0.0.1): trust authentication, as in pg_start.
#
# cluster_primary DIR [PORT]
#       pg_start DIR, plus what streaming replication needs (wal_level=replica,
#       max_wal_senders, max_replication_slots, hot_standby, replication lines in
#       pg_hba.conf: local and 127.0.0.1, trust); sets CL_PRIMARY_PORT, CL_PRIMARY_SOCK
# cluster_standby PRIMARY_DIR STANDBY_DIR [PORT] [NAME=VALUE ...]
#       pg_basebackup -R from the primary of PRIMARY_DIR into STANDBY_DIR/data (through a
#       physical replication slot pv_standby_PORT, so the primary keeps the WAL it needs),
#       starts it as a hot standby and waits until it accepts connections, is in recovery and
#       streams (pg_stat_replication on the primary shows it, application_name
#       pv_standby_PORT); sets CL_STANDBY_PORT, CL_STANDBY_SOCK.  Extra server settings:
#       NAME=VALUE arguments and/or CL_STANDBY_SETTINGS, in pg_ctl -o form, e.g.
#       CL_STANDBY_SETTINGS="-c hot_standby_feedback=off -c max_standby_streaming_delay=0"
# cluster_wait_replay PRIMARY_PORT STANDBY_PORT [TIMEOUT]
#       waits (default 60 s) until the standby has replayed the primary's current WAL
#       position (pg_current_wal_lsn() there <= pg_last_wal_replay_lsn() here); over TCP
# cluster_promote STANDBY_DIR
#       pg_ctl promote, and waits until pg_is_in_recovery() is false
# cluster_stop DIR       stops the server of DIR, primary or standby (safe to call twice)
# cluster_port DIR       prints the port of the server of DIR
#
# Both directories get the layout of pg_start (DIR/data, DIR/sock, DIR/log/server.log,
# DIR/options), so pg_restart and pg_stop work on them too.

[ "$(type -t pg_start)" = function ] || . "$(dirname "${BASH_SOURCE[0]}")/pg.sh"

# psql as the trusted superuser on a port of 127.0.0.1, one value out
cl_psql() {
	local port="$1"; shift
	psql -X -q -w -At -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d postgres "$@"
}

cluster_port() {
	sed -n 's/^-p \([0-9]*\) .*/\1/p' "$1/options"
}

cluster_primary() {
	local dir="$1" port="${2:-}"
	[ -n "$port" ] || port=$(pg_free_port) || { echo "no free port" >&2; return 1; }
	# in a subshell: pg_start's exports stay there
	(pg_start "$dir" "$port") || return 1
	{
		echo "local replication all trust"
		echo "host replication all 127.0.0.1/32 trust"
	} >>"$dir/data/pg_hba.conf"
	# wal_level and the sender limits only take effect at start: a fast restart
	echo "$(cat "$dir/options") -c wal_level=replica -c max_wal_senders=10 -c max_replication_slots=10 -c hot_standby=on" \
		>"$dir/options.new" && mv "$dir/options.new" "$dir/options"
	pg_as_owner "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/log/server.log" -m fast -w -t 60 \
		-o "$(cat "$dir/options")" restart >/dev/null || { cat "$dir/log/server.log" >&2; return 1; }
	CL_PRIMARY_PORT="$port" CL_PRIMARY_SOCK="$dir/sock"
}

cluster_standby() {
	local pdir="$1" dir="$2" port="" pport extra="" name i
	shift 2
	case "${1:-}" in
	'' | [0-9]*) port="${1:-}"; [ $# = 0 ] || shift ;;
	esac
	for i in "$@"; do extra="$extra -c $i"; done
	pport=$(cluster_port "$pdir") && [ -n "$pport" ] || { echo "cluster_standby: no server in $pdir" >&2; return 1; }
	[ -n "$port" ] || port=$(pg_free_port) || { echo "no free port" >&2; return 1; }
	name="pv_standby_$port"
	mkdir -p "$dir/data" "$dir/sock" "$dir/log"
	chmod 700 "$dir/data"   # pg_basebackup fills an existing empty directory
	if [ "$(id -u)" = 0 ]; then
		chmod 755 "$dir"
		chown postgres: "$dir/data" "$dir/sock" "$dir/log"
	fi
	# -C -S: a slot of its own (-R writes primary_slot_name), -X stream: WAL while copying
	pg_as_owner "$PGBIN/pg_basebackup" -h "$pdir/sock" -p "$pport" -U postgres \
		-D "$dir/data" -R -X stream -c fast -C -S "$name" -d "application_name=$name" \
		>"$dir/basebackup.log" 2>&1 || { cat "$dir/basebackup.log" >&2; return 1; }
	# the primary's settings (wal_level etc., for a promotion) on the standby's port and socket
	local popts; popts="$(cat "$pdir/options")"
	echo "-p $port -k $dir/sock ${popts#-p * -k * } -c cluster_name=$name${CL_STANDBY_SETTINGS:+ $CL_STANDBY_SETTINGS}$extra" \
		>"$dir/options"
	pg_as_owner "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/log/server.log" -w -t 60 \
		-o "$(cat "$dir/options")" start >/dev/null || { cat "$dir/log/server.log" >&2; return 1; }
	local n=0
	until [ "$(cl_psql "$port" -c "SELECT pg_is_in_recovery()" 2>/dev/null)" = t ] &&
		[ "$(cl_psql "$pport" -c "SELECT count(*) FROM pg_stat_replication
			WHERE application_name = '$name' AND state = 'streaming'" 2>/dev/null)" = 1 ]; do
		n=$((n + 1))
		[ "$n" -lt 600 ] || { echo "cluster_standby: $name does not stream" >&2; tail -20 "$dir/log/server.log" >&2; return 1; }
		sleep 0.1
	done
	CL_STANDBY_PORT="$port" CL_STANDBY_SOCK="$dir/sock"
}

cluster_wait_replay() {
	local pport="$1" sport="$2" timeout="${3:-60}" lsn n=0
	lsn=$(cl_psql "$pport" -c "SELECT pg_current_wal_lsn()") || return 1
	until [ "$(cl_psql "$sport" -c "SELECT pg_last_wal_replay_lsn() >= '$lsn'::pg_lsn" 2>/dev/null)" = t ]; do
		n=$((n + 1))
		[ "$n" -lt $((timeout * 10)) ] || { echo "cluster_wait_replay: standby on $sport has not replayed $lsn in ${timeout}s" >&2; return 1; }
		sleep 0.1
	done
}

cluster_promote() {
	local dir="$1" port n=0
	port=$(cluster_port "$dir")
	pg_as_owner "$PGBIN/pg_ctl" -D "$dir/data" -w -t 60 promote >/dev/null || return 1
	until [ "$(cl_psql "$port" -c "SELECT pg_is_in_recovery()" 2>/dev/null)" = f ]; do
		n=$((n + 1))
		[ "$n" -lt 600 ] || { echo "cluster_promote: $dir is still in recovery" >&2; return 1; }
		sleep 0.1
	done
}

cluster_stop() { pg_stop "$1"; }
