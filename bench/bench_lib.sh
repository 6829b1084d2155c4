# Sourced by the benchmark scripts: report logging, running as the server's user, and the exit
# trap that stops the server the script started (by its pid in PG_PID) and removes its temp dir
# (TMP), keeping the server log in $OUT.  Expects REPORT, SERVER_USER and OUT to be set.
TMP=""
PG_PID=""

log() { printf '== %s\n' "$*" >&2; }
say() { printf '%s\n' "$*" | tee -a "$REPORT"; } # report lines: printed and kept in $REPORT

as_server_user() {
	if [ "$(id -u)" = 0 ]; then runuser -u "$SERVER_USER" -- env "PATH=$PATH" "$@"; else "$@"; fi
}

# Stops the server this script started, by its pid (SIGINT = fast shutdown; SIGQUIT, then SIGKILL
# if it hangs), and removes the temp dir, keeping the server log next to the install.
cleanup() {
	local status=$?
	trap - EXIT INT TERM
	if [ -n "$PG_PID" ] && kill -0 "$PG_PID" 2>/dev/null; then
		kill -INT "$PG_PID" 2>/dev/null || true
		for _ in $(seq 1 300); do kill -0 "$PG_PID" 2>/dev/null || break; sleep 0.1; done
		if kill -0 "$PG_PID" 2>/dev/null; then
			log "server $PG_PID did not stop within 30 s: SIGQUIT"
			kill -QUIT "$PG_PID" 2>/dev/null || true
			sleep 2
			kill -KILL "$PG_PID" 2>/dev/null || true
		fi
	fi
	if [ -n "$TMP" ] && [ -d "$TMP" ]; then
		[ -f "$TMP/server.log" ] && cp "$TMP/server.log" "$OUT/server.log" 2>/dev/null
		rm -rf "$TMP"
	fi
	[ "$status" = 0 ] || log "failed (status $status); server log: $OUT/server.log"
	exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
