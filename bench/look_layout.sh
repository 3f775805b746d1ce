#!/bin/bash
# WAL frames a commit of autocommit INSERTs of 8 partitions' messages in
# plain SQLite, two layouts: one rowid table keyed (partition << 40) |
# offset, as _stream_log is (every partition but the last appends in the
# middle of the tree), against one table a partition keyed by offset
# (each appends at its tree's right edge).  No extension: the B-tree's
# own cost of the layout.  Usage: bench/look_layout.sh BYTES one|eight [N]
# (N messages after N of warm-up, default 3,000; partitions drawn at
# random, seed 1; the WAL's size after a checkpoint, in frames, / N).
set -e
S=$1; MODE=$2; N=${3:-3000}
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
COLS="id INTEGER PRIMARY KEY, k, v, ts INTEGER NOT NULL, a INTEGER NOT NULL DEFAULT 0"
{ echo "PRAGMA journal_mode=WAL;"; echo "PRAGMA wal_autocheckpoint=0;"
  if [ "$MODE" = one ]; then echo "CREATE TABLE log($COLS);"
  else for p in 1 2 3 4 5 6 7 8; do echo "CREATE TABLE log$p($COLS);"; done; fi
  python3 - "$MODE" "$N" "$S" <<'PY'
import sys, random
mode, n, v = sys.argv[1], int(sys.argv[2]), 'x' * int(sys.argv[3])
random.seed(1)
nxt = [0] * 9
for w in range(2):
    if w == 1:
        print("PRAGMA wal_checkpoint(TRUNCATE);")
    for i in range(n):
        p = random.randint(1, 8)
        o = nxt[p]
        nxt[p] += 1
        if mode == 'one':
            print("INSERT INTO log VALUES(%d,'k%d','%s',%d,0);" % ((p << 40) | o, i, v, i))
        else:
            print("INSERT INTO log%d VALUES(%d,'k%d','%s',%d,0);" % (p, o, i, v, i))
PY
  echo ".system stat -c %s $W/db-wal > $W/size"
} | sqlite3 "$W/db" > /dev/null
python3 -c "import sys; print('%s, %s B: %.2f frames a commit' % (sys.argv[1], sys.argv[2], (int(sys.argv[3]) - 32) / (4096 + 24) / int(sys.argv[4])))" "$MODE" "$S" "$(cat "$W/size")" "$N"
