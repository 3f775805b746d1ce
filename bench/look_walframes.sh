#!/bin/bash
# WAL frames a commit, by B-tree, of N autocommit stream_produce() calls
# (the W1 batch-1 rows of bench/run.sh: one transaction a message).
# Usage: bench/look_walframes.sh path/to/stream0.so PARTITIONS BYTES [N]
#
# Produces 1,000 messages (warm-up), checkpoints, then N more (default
# 1,000) with wal_autocheckpoint=0, copies the WAL before the shell
# closes (the last connection checkpoints and deletes it), and reads each
# frame's page number and commit mark from it; dbstat names each page's
# B-tree and type.  Page 1 shows as sqlite_schema: SQLite writes it when
# the file grows (the page count in its header).  Values are JSON objects
# of BYTES bytes; keys key-1..key-N (murmur2 partitions, as W1's).
# Needs the sqlite3 shell (with dbstat) and python3.
set -e
SO=$(realpath "$1"); P=$2; S=$3; N=${4:-1000}
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
V=$(python3 -c "import sys; n=int(sys.argv[1]); print('{\"a\":\"' + 'x'*(n-8) + '\"}')" "$S")
{ echo ".load $SO"; echo "PRAGMA journal_mode=WAL;"
  echo "PRAGMA wal_autocheckpoint=0;"
  echo "SELECT stream_create_topic('bench', $P,"
  echo " '{\"hot.retention.messages\":-1,\"hot.retention.ms\":-1}');"
  for i in $(seq 1 1000); do echo "SELECT stream_produce('bench','w-$i','$V');"; done
  echo "PRAGMA wal_checkpoint(TRUNCATE);"
  for i in $(seq 1 "$N"); do echo "SELECT stream_produce('bench','key-$i','$V');"; done
  echo ".system cp $W/db-wal $W/wal"
} | sqlite3 "$W/db" >/dev/null
sqlite3 "$W/db" "SELECT pageno, name, pagetype FROM dbstat" > "$W/map"
python3 - "$W/wal" "$W/map" "$P" "$S" <<'PY'
import sys, struct, collections
names = {}
for l in open(sys.argv[2]):
    a = l.rstrip('\n').split('|')
    names[int(a[0])] = a[1] + ' ' + a[2]
d = open(sys.argv[1], 'rb').read()
ps = struct.unpack('>I', d[8:12])[0]
off, cur, commits = 32, [], []
while off + 24 + ps <= len(d):
    pg, trunc = struct.unpack('>II', d[off:off+8])
    cur.append(pg)
    off += 24 + ps
    if trunc:
        commits.append(cur)
        cur = []
c = collections.Counter(names.get(pg, 'page %d' % pg) for cm in commits for pg in cm)
n = len(commits)
print('%s partitions, %s B: %d commits, %.2f frames a commit'
      % (sys.argv[3], sys.argv[4], n, sum(map(len, commits)) / n))
for k, v in c.most_common():
    print('  %-28s %.3f' % (k, v / n))
PY
