#!/usr/bin/env bash
# Makes a MinIO server available on loopback for the S3 blob store tests (internal/blob/s3).
#
#   eval "$(scripts/minio.sh)"     # install if needed, start, export the test variables
#   go test ./internal/blob/s3/
#   scripts/minio.sh stop          # stop the server this script started
#
# If `minio` is not on PATH (nor in $(go env GOPATH)/bin), it is built with `go install` at the
# pinned version below (2 min 40 s on 2 cores with a cold build cache, seconds with a warm one).
# The server listens on 127.0.0.1:9000 (API) and 127.0.0.1:9001 (console), keeps its data in a
# new temporary directory, and uses fixed test credentials. If a server already answers on the
# address, nothing is started (it must then accept the credentials printed here). The variables
# are printed on stdout; progress goes to stderr. CARNET_MINIO_ADDR and CARNET_MINIO_CONSOLE_ADDR
# change the addresses (keep them on loopback).
set -euo pipefail

# github.com/minio/minio has no semver tags (its releases are RELEASE.<date> tags), so the Go
# module proxy serves pseudo-versions: this is what @latest resolved to on 2026-11-23. It builds
# with Go 1.26 (the module asks for go 1.24.0).
MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c

ADDR=${CARNET_MINIO_ADDR:-127.0.0.1:9000}
CONSOLE_ADDR=${CARNET_MINIO_CONSOLE_ADDR:-127.0.0.1:9001}
ACCESS_KEY=carnet-test
SECRET_KEY=carnet-test-secret
STATE=${TMPDIR:-/tmp}/carnet-minio.state # holds the pid and data directory of the server started here

log() { echo "minio.sh: $*" >&2; }

live() { curl -fsS -m 2 -o /dev/null "http://$ADDR/minio/health/live" 2>/dev/null; }

print_env() {
	cat <<EOF
export CARNET_TEST_S3_ENDPOINT=$ADDR
export CARNET_TEST_S3_ACCESS_KEY=$ACCESS_KEY
export CARNET_TEST_S3_SECRET_KEY=$SECRET_KEY
EOF
}

stop() {
	if [[ ! -f $STATE ]]; then
		log "no server started by this script"
		return 0
	fi
	local pid dir
	{ read -r pid; read -r dir; } <"$STATE"
	if kill -0 "$pid" 2>/dev/null; then
		kill "$pid"
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		log "stopped MinIO (pid $pid)"
	fi
	[[ -n $dir && $dir == */carnet-minio.* ]] && rm -rf -- "$dir"
	rm -f -- "$STATE"
}

find_minio() {
	if command -v minio >/dev/null; then
		command -v minio
		return
	fi
	local gobin
	gobin=$(go env GOBIN)
	[[ -n $gobin ]] || gobin=$(go env GOPATH)/bin
	if [[ -x $gobin/minio ]]; then
		echo "$gobin/minio"
		return
	fi
	log "installing github.com/minio/minio@$MINIO_VERSION with go install (a few minutes)..."
	local start=$SECONDS
	# Outside any module, so that the project's go.mod is neither read nor changed.
	(cd / && GOFLAGS= go install "github.com/minio/minio@$MINIO_VERSION") >&2
	log "installed in $((SECONDS - start)) s"
	echo "$gobin/minio"
}

start() {
	if live; then
		log "a server already answers on $ADDR"
		print_env
		return 0
	fi
	local bin dir pid
	bin=$(find_minio)
	dir=$(mktemp -d "${TMPDIR:-/tmp}/carnet-minio.XXXXXX")
	log "starting $bin on $ADDR (console $CONSOLE_ADDR), data in $dir/data, log in $dir/minio.log"
	MINIO_ROOT_USER=$ACCESS_KEY MINIO_ROOT_PASSWORD=$SECRET_KEY MINIO_UPDATE=off MINIO_BROWSER=on \
		setsid nohup "$bin" server --quiet --address "$ADDR" --console-address "$CONSOLE_ADDR" "$dir/data" \
		>"$dir/minio.log" 2>&1 </dev/null &
	pid=$!
	printf '%s\n%s\n' "$pid" "$dir" >"$STATE"
	for _ in $(seq 300); do
		if live; then
			log "MinIO is up (pid $pid)"
			print_env
			return 0
		fi
		if ! kill -0 "$pid" 2>/dev/null; then
			log "MinIO exited; its log:"
			tail -n 30 "$dir/minio.log" >&2
			rm -f -- "$STATE"
			return 1
		fi
		sleep 0.2
	done
	log "MinIO did not answer on http://$ADDR/minio/health/live within 60 s; its log:"
	tail -n 30 "$dir/minio.log" >&2
	return 1
}

case "${1:-start}" in
start) start ;;
stop) stop ;;
env) print_env ;;
*)
	echo "usage: $0 [start|stop|env]" >&2
	exit 2
	;;
esac
