#!/bin/bash
# bench/run.sh - sqlite-stream side by side with raw SQLite, Redis Streams
# and a PostgreSQL queue, on this machine, in one run; writes the report.
#
#   bench/run.sh [--quick] [--so PATH] [--out FILE] [--only W1,W2,...]
#                [--stream-poll] [--batch N] [--no-install] [--keep]
#
#   --quick        CI smoke run (under 2 minutes on 2 cores): short
#                  repetitions, W2 backlog 50k, W5 sizes 10k/100k/1M
#   --so PATH      the extension to test (default ./stream0.so)
#   --out FILE     the report (default BENCHMARKS-compare.md at the top of
#                  the source tree)
#   --only LIST    run only these workloads (the report says so)
#   --stream-poll  sqlite-stream consumes through stream_poll() /
#                  stream_commit_sync() instead of range reads + stream_commit
#   --batch N      W1's rows of batch N (1, 100 or 1000) only (the report
#                  says so)
#   --no-install   do not apt-get install missing packages
#   --keep         keep the work directory (databases, server logs)
#
# What it does: installs what is missing from Debian's packages
# (redis-server, postgresql, libhiredis-dev, libpq-dev, libsqlite3-dev);
# builds the driver (bench/*.c) with -Wall -Wextra; starts three Redis
# servers (appendonly no / appendfsync everysec / appendfsync always) on
# 127.0.0.1 and a private PostgreSQL cluster (initdb into the work
# directory, Unix socket only, no TCP), with the settings written below;
# runs bench/streambench; stops every server it started, on success and on
# failure (trap); writes the markdown report.  It reports numbers; it never
# fails because of one.
set -euo pipefail

# Everything is in main(), which bash parses whole before running it, so
# that editing this file during a run cannot derail the run.
main() {
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
SO=./stream0.so
OUT=$ROOT/BENCHMARKS-compare.md
QUICK=
ONLY=
BATCH=
POLL=
INSTALL=1
KEEP=
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) QUICK=--quick ;;
    --so) SO=$2; shift ;;
    --out) OUT=$2; shift ;;
    --only) ONLY=$2; shift ;;
    --batch) BATCH=$2; shift ;;
    --stream-poll) POLL=--stream-poll ;;
    --no-install) INSTALL= ;;
    --keep) KEEP=1 ;;
    *) echo "usage: $0 [--quick] [--so PATH] [--out FILE] [--only W1,...]" \
            "[--stream-poll] [--batch N] [--no-install] [--keep]" >&2; exit 2 ;;
  esac
  shift
done
[ -f "$SO" ] || { echo "run.sh: no extension at $SO (build it, or pass --so)" >&2; exit 2; }
SO=$(cd "$(dirname "$SO")" && pwd)/$(basename "$SO")
T_START=$(date +%s)

# ---- Packages -------------------------------------------------------------
PKGS="redis-server redis-tools postgresql libhiredis-dev libpq-dev libsqlite3-dev sqlite3 gcc"
missing=
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  if [ -z "$INSTALL" ]; then
    echo "run.sh: missing packages:$missing (run without --no-install)" >&2; exit 2
  fi
  SUDO=
  [ "$(id -u)" = 0 ] || SUDO="sudo -n"
  echo "run.sh: installing$missing" >&2
  $SUDO apt-get install -y $missing >&2 || { $SUDO apt-get update >&2 && $SUDO apt-get install -y $missing >&2; }
fi
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$PGBIN/postgres" ] || { echo "run.sh: no PostgreSQL server binaries" >&2; exit 2; }

# ---- Work directory and cleanup ------------------------------------------
WORK=$(mktemp -d /tmp/streambench.XXXXXX)
chmod 755 "$WORK"
REDIS_PIDS=
PG_STARTED=
RUNAS=
if [ "$(id -u)" = 0 ]; then RUNAS="runuser -u postgres --"; fi
cleanup() {
  set +e
  for pid in $REDIS_PIDS; do kill "$pid" 2>/dev/null; done
  if [ -n "$PG_STARTED" ]; then
    $RUNAS "$PGBIN/pg_ctl" -D "$WORK/pg" -m immediate -w stop >/dev/null 2>&1
  fi
  for pid in $REDIS_PIDS; do
    for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  done
  if [ -z "$KEEP" ]; then rm -rf "$WORK"; else echo "run.sh: kept $WORK" >&2; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- Driver -----------------------------------------------------------------
# (the driver's files only: bench/ also holds the engine benchmarks, each
# a program of its own linking bench_util.c)
gcc -std=c11 -O2 -Wall -Wextra -I/usr/include/postgresql -o "$WORK/streambench" \
    "$HERE"/bench_main.c "$HERE"/bench_util.c "$HERE"/bench_sqlite.c \
    "$HERE"/bench_redis.c "$HERE"/bench_pg.c -lsqlite3 -lhiredis -lpq

# ---- Redis: three servers, one per persistence setting ----------------------
free_port() {  # a free loopback TCP port from $1 upwards
  local p=$1
  while (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null; do p=$((p+1)); done
  echo $p
}
REDIS_ARGS=
port=16390
for mode in noaof everysec always; do
  port=$(free_port $port)
  d=$WORK/redis-$mode
  mkdir -p "$d"
  case $mode in
    noaof)    aof="appendonly no" ;;
    everysec) aof="appendonly yes
appendfsync everysec" ;;
    always)   aof="appendonly yes
appendfsync always" ;;
  esac
  cat > "$d/redis.conf" <<EOF
bind 127.0.0.1
port $port
protected-mode yes
daemonize no
dir $d
logfile $d/redis.log
save ""
$aof
auto-aof-rewrite-percentage 0
no-appendfsync-on-rewrite no
EOF
  redis-server "$d/redis.conf" &
  REDIS_PIDS="$REDIS_PIDS $!"
  REDIS_ARGS="$REDIS_ARGS --redis-$mode $port"
  for _ in $(seq 50); do redis-cli -p $port ping >/dev/null 2>&1 && break; sleep 0.1; done
  redis-cli -p $port ping >/dev/null || { echo "run.sh: redis ($mode) did not start" >&2; exit 1; }
  port=$((port+1))
done

# ---- PostgreSQL: a private cluster on a Unix socket -------------------------
PG_SETTINGS="fsync=on full_page_writes=on wal_level=minimal max_wal_senders=0 shared_buffers=1GB max_wal_size=8GB checkpoint_timeout=30min"
mkdir -p "$WORK/pg" "$WORK/pgsock"
[ -n "$RUNAS" ] && chown postgres "$WORK/pg" "$WORK/pgsock"
$RUNAS "$PGBIN/initdb" -D "$WORK/pg" -A trust -U bench -E UTF8 --no-sync >"$WORK/initdb.log" 2>&1 \
  || { cat "$WORK/initdb.log" >&2; exit 1; }
PGOPTS="-c listen_addresses='' -c unix_socket_directories=$WORK/pgsock"
for s in $PG_SETTINGS; do PGOPTS="$PGOPTS -c $s"; done
PG_STARTED=1
$RUNAS "$PGBIN/pg_ctl" -D "$WORK/pg" -l "$WORK/pg/server.log" -w -o "$PGOPTS" start >/dev/null \
  || { cat "$WORK/pg/server.log" >&2; exit 1; }
PGCONN="host=$WORK/pgsock user=bench dbname=postgres"

# ---- Run ---------------------------------------------------------------------
ONLYARG=
[ -n "$ONLY" ] && ONLYARG="--only $ONLY"
[ -n "$BATCH" ] && ONLYARG="$ONLYARG --batch $BATCH"
CMDLINE=$(echo "bench/run.sh $QUICK $POLL $ONLYARG" | tr -s ' ' | sed 's/ $//')
"$WORK/streambench" --so "$SO" --dir "$WORK" $QUICK $POLL $ONLYARG $REDIS_ARGS \
  --pg "$PGCONN" --pg-pidfile "$WORK/pg/postmaster.pid" > "$WORK/body.md"

# ---- Report ------------------------------------------------------------------
T_END=$(date +%s)
cpu=$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1)
mem=$(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)
fs=$(df -T "$WORK" | awk 'NR==2 {print $2}')
sv=$(sqlite3 :memory: "SELECT sqlite_version()")
stv=$(sqlite3 :memory: ".load $SO" "SELECT stream_version()" 2>/dev/null || echo "?")
rv=$(redis-server --version | sed -n 's/.*v=\([0-9.]*\).*/\1/p')
pv=$("$PGBIN/postgres" --version | awk '{print $3}')
hv=$(dpkg-query -W -f='${Version}' libhiredis-dev 2>/dev/null || echo "?")
mode=full; [ -n "$QUICK" ] && mode="quick (--quick: CI smoke sizes, not for claims)"
{
  echo "# Benchmarks: sqlite-stream side by side"
  echo
  echo "<!-- Generated by bench/run.sh; do not edit by hand. -->"
  echo
  echo "Generated by \`make bench\` (\`$CMDLINE\`) on $(date -u '+%Y-%m-%d %H:%M UTC'); $mode run, $((T_END-T_START)) s in all."
  [ -n "$ONLY" ] && echo "Only workloads $ONLY were run."
  [ -n "$BATCH" ] && echo "Only W1's rows of batch $BATCH were run."
  echo
  echo "**Machine**: $(nproc) cores ($cpu), $mem memory, $(uname -sr), work directory on $fs."
  echo
  echo "**Versions**: sqlite-stream $stv over SQLite $sv; Redis $rv with hiredis $hv; PostgreSQL $pv (libpq)."
  echo
  echo "## Settings"
  echo
  echo "| system | settings |"
  echo "|---|---|"
  echo "| sqlite-stream | in-process, the loadable extension through its SQL functions (\`stream_produce\`, \`stream_messages\` range reads, \`stream_commit\`$([ -n "$POLL" ] && echo ", \`stream_poll\`")); journal_mode=WAL; relaxed synchronous=NORMAL, durable synchronous=FULL; a busy handler retrying every 20–100 µs (up to 10 s) instead of busy_timeout's ≥ 1 ms sleeps; one transaction per batch |"
  echo "| raw SQLite | in-process, prepared INSERT/SELECT/UPSERT on the seed's schema (rowid table, PRIMARY KEY(topic, partition, offset), idx_messages_topic); partition (murmur2) and offset computed by the application; same pragmas |"
  echo "| Redis | redis-server on 127.0.0.1 (TCP loopback), hiredis synchronous API, one stream key per partition, \`XADD\` with explicit IDs, \`XREADGROUP\` + \`XACK\`; three servers: \`appendonly no\`, \`appendonly yes\` + \`appendfsync everysec\`, \`appendonly yes\` + \`appendfsync always\`; \`save \"\"\` (no RDB snapshots), \`auto-aof-rewrite-percentage 0\` |"
  echo "| PostgreSQL | private cluster (initdb in a temp dir), Unix socket, libpq; ${PG_SETTINGS// /, }; relaxed \`synchronous_commit=off\`, durable \`synchronous_commit=on\`; table \`queue(id bigserial primary key, topic, partition, key, payload jsonb, created_at)\` + index (partition, id); multi-row prepared INSERT per batch |"
  echo
  echo "Values are JSON objects of exactly 100 or 1,024 bytes with the producer's timestamp; keys \`key-N\`, partition = murmur2(key) mod partitions (Kafka's). CPU-seconds are the driver's (getrusage) plus the server's processes' (/proc/PID/stat utime+stime, PostgreSQL: postmaster and all its children; 10 ms resolution). Ratios are *sqlite-stream ÷ this system* for throughput (above 1: sqlite-stream is ahead) and *this system ÷ sqlite-stream* for latency (above 1: sqlite-stream is ahead)."
  echo
  cat "$WORK/body.md"
} > "$OUT.tmp"
mv "$OUT.tmp" "$OUT"
echo "run.sh: wrote $OUT ($((T_END-T_START)) s)" >&2
}

main "$@"
exit
