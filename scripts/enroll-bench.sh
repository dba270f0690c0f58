#!/bin/sh
# Enrolment benchmark: generate a file of N insured people (1 % bad rows), enrol it into a fresh
# SQLite data directory, and print rows/s and peak memory. Then, in a second fresh directory,
# kill a run half-way (SIGKILL), resume it, and compare the outcome with the uninterrupted run.
# Usage: scripts/enroll-bench.sh [ROWS]   (default 1000000; needs /usr/bin/time and sqlite3 optional)
set -eu
ROWS=${1:-1000000}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
go build -o "$WORK/carnet" ./cmd/carnet
"$WORK/carnet" enroll generate --rows "$ROWS" --bad 1 "$WORK/assures.csv"
ls -l "$WORK/assures.csv" | awk '{printf "file: %.0f MB\n", $5/1e6}'

echo "== uninterrupted run"
CARNET_DATA="$WORK/a" /usr/bin/time -f "elapsed %e s, peak RSS %M KiB" \
	"$WORK/carnet" enroll --quiet --report "$WORK/a.refus.csv" "$WORK/assures.csv" 2>&1 | grep -v '^{'

echo "== killed half-way, then resumed"
CARNET_DATA="$WORK/b" "$WORK/carnet" enroll --quiet --report "$WORK/b.refus.csv" "$WORK/assures.csv" >/dev/null 2>&1 &
PID=$!
# Kill when about half the file is enrolled (the database grows with it).
SIZE_A=$(du -sk "$WORK/a" | cut -f1)
while kill -0 $PID 2>/dev/null; do
	if [ -d "$WORK/b" ] && [ "$(du -sk "$WORK/b" | cut -f1)" -ge $((SIZE_A / 2)) ]; then
		kill -9 $PID; echo "killed at $(du -sk "$WORK/b" | cut -f1) KiB of $SIZE_A"; break
	fi
	sleep 0.2
done
wait $PID 2>/dev/null || true
CARNET_DATA="$WORK/b" "$WORK/carnet" enroll --quiet --report "$WORK/b.refus.csv" "$WORK/assures.csv" 2>&1 | grep -v '^{'
if cmp -s "$WORK/a.refus.csv" "$WORK/b.refus.csv"; then echo "reports: identical"; else echo "reports: DIFFER"; exit 1; fi
if command -v sqlite3 >/dev/null; then
	# Codes are queued on the enrolment rows (code_sealed) until the outbox worker sends them.
	for t in patients nir_index data_keys enrolments audit_events audit_heads outbox "enrolments where code_sealed is not null"; do
		a=$(sqlite3 "$WORK/a/carnet.db" "select count(*) from $t"); b=$(sqlite3 "$WORK/b/carnet.db" "select count(*) from $t")
		echo "$t: $a / $b"; [ "$a" = "$b" ] || { echo "DIFFER"; exit 1; }
	done
	echo "database: $(du -m "$WORK/a/carnet.db" | cut -f1) MB"
fi
