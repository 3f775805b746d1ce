#!/bin/bash
# Instructions of a consumer's membership check, per check, under callgrind
# (issue #12 C).  Usage: bench/look_callgrind.sh path/to/stream0.so [N]
#
# One sqlite3 shell long-polls ('g', 'm', 100 records, 3 s wait) N times
# under callgrind while another produces N messages 30 ms apart, so that
# each poll waits and its wait looks when a message is committed.  Only
# sqlite3StreamMemberPeek is collected: the poll's own check (called from
# sqlite3StreamPoll) and the wait's check of the look that found the
# message (from streamWaitOn), printed apart, with instructions per call.
# Needs valgrind and the sqlite3 shell; takes about a minute for N=200.
set -e
SO=$(realpath "$1"); N=${2:-200}
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
DB=$W/look.db
sqlite3 "$DB" ".load $SO" "PRAGMA journal_mode=WAL;" \
  "SELECT stream_create_topic('t', 4);" >/dev/null
{ echo ".load $SO"; echo ".timeout 5000"
  echo "SELECT stream_join('g','m','[\"t\"]');"
  for i in $(seq 1 "$N"); do
    echo "SELECT count(*) FROM stream_poll('g','m',100,3000);"
  done; } > "$W/poll.sql"
( sleep 5
  { echo ".load $SO"; echo ".timeout 5000"
    for i in $(seq 1 "$N"); do
      echo "SELECT stream_produce('t','k$i','1');"; sleep 0.03
    done; } | sqlite3 "$DB" >/dev/null ) &
valgrind --tool=callgrind --callgrind-out-file="$W/cg" \
  --toggle-collect=sqlite3StreamMemberPeek sqlite3 "$DB" < "$W/poll.sql" \
  > "$W/out" 2>"$W/err" || true
grep -v "^==" "$W/err" | sort | uniq -c | head -3 >&2    # errors, if any
wait
echo "polls returning: $(sort "$W/out" | uniq -c | tr '\n' ';')"
grep -o 'Collected : [0-9]*' "$W/err"
# The call arcs into sqlite3StreamMemberPeek, by caller, from the raw
# profile (names are compressed: "fn=(id) name" once, "fn=(id)" after).
awk '
  /^fn=/ { id=$1; sub(/^fn=/, "", id); if( NF>1 ) name[id]=$2; fn=name[id] }
  /^cfn=/ { c=$1; sub(/^cfn=/, "", c); if( NF>1 ) name[c]=$2
            peek=(name[c]=="sqlite3StreamMemberPeek"); next }
  peek && /^calls=/ { split($1, a, "="); n[fn]+=a[2]; next }
  peek { ir[fn]+=$2; peek=0 }
  END { for(f in n) printf "%s: %d checks, %d Ir a check\n", f, n[f], ir[f]/n[f] }
' "$W/cg"
