/*
** partitions.c - the stream_partitions eponymous virtual table: one row
** per partition of every topic.
**
**   SELECT topic, partition, log_start_offset, high_watermark, messages,
**          bytes, first_timestamp, last_timestamp
**     FROM stream_partitions WHERE topic='orders';
**
** high_watermark is the next offset to be assigned.  messages, bytes
** (stored key + value + headers bytes) and the timestamps are computed from
** the messages the partition holds, so a query costs a scan of the
** partitions it names.  "topic =" and "partition =" are pushed down.
** Read-only.
*/
#include "streamInt.h"

static const StreamSqlVtabDef streamPartitionsDef = {
  "stream_partitions",
  "topic TEXT, partition INTEGER, log_start_offset INTEGER,"
  " high_watermark INTEGER, messages INTEGER, bytes INTEGER,"
  " first_timestamp INTEGER, last_timestamp INTEGER",
  "SELECT p.topic AS c0, p.partition AS c1, p.log_start_offset AS c2,"
  " coalesce(max(m.offset)+1, p.next_offset) AS c3,"
  " count(m.offset) AS c4,"
  " coalesce(sum(coalesce(length(m.key),0)+coalesce(length(m.value),0)"
  "   +coalesce(length(m.headers),0)),0) AS c5,"
  " min(m.timestamp) AS c6, max(m.timestamp) AS c7"
  " FROM _stream_partitions p LEFT JOIN _stream_messages m"
  "   ON m.topic=p.topic AND m.partition=p.partition"
  " GROUP BY p.topic, p.partition",
  0x03,                 /* topic =, partition = */
  0,                    /* innocuous: read-only */
  0,                    /* not the anchor */
  0,                    /* no rowid column */
  0,
  0
};

int sqlite3StreamRegisterPartitions(sqlite3 *db, StreamCtx *p){
  return sqlite3StreamRegisterSqlVtab(db, p, &streamPartitionsDef);
}
