/*
** partitions.c - the stream_partitions eponymous virtual table: one row
** per partition of every topic.
**
**   SELECT topic, partition, log_start_offset, high_watermark,
**          hot_start_offset, messages, bytes, first_timestamp,
**          last_timestamp
**     FROM stream_partitions WHERE topic='orders';
**
** high_watermark is the next offset to be assigned; hot_start_offset the
** first offset still in the hot tier (the high watermark when the hot tier
** of the partition is empty): offsets below it are in warm segments
** (stream_segments).  messages, bytes and the timestamps cover both tiers:
** hot messages are counted and measured (stored key + value + headers
** bytes) from the partition's rows, warm ones from the segment index
** (bytes = Parquet file size), so a query costs a scan of the hot rows of
** the partitions it names.  "topic =" and "partition =" are pushed down.
** Read-only.
*/
#include "streamInt.h"

static const StreamSqlVtabDef streamPartitionsDef = {
  "stream_partitions",
  "topic TEXT, partition INTEGER, log_start_offset INTEGER,"
  " high_watermark INTEGER, hot_start_offset INTEGER, messages INTEGER,"
  " bytes INTEGER, first_timestamp INTEGER, last_timestamp INTEGER",
  "SELECT c0, c1, c2, c3, coalesce(h0, c3) AS c4, n+coalesce(wn,0) AS c5,"
  " b+coalesce(wb,0) AS c6, min(coalesce(t0,w0), coalesce(w0,t0)) AS c7,"
  " max(coalesce(t1,w1), coalesce(w1,t1)) AS c8 FROM ("
  "SELECT p.topic AS c0, p.partition AS c1, p.log_start_offset AS c2,"
  " " STREAM_HWM_SQL("p.id", "p.next_offset") " AS c3,"
  " min(m.id)&" STREAM_LOG_M " AS h0,"
  " count(r.offset) AS n,"
  " coalesce(sum(r.bytes),0) AS b,"
  " min(r.timestamp) AS t0, max(r.timestamp) AS t1,"
  " (SELECT sum(messages) FROM _stream_segments s WHERE s.topic=p.topic"
  "   AND s.partition=p.partition) AS wn,"
  " (SELECT sum(bytes) FROM _stream_segments s WHERE s.topic=p.topic"
  "   AND s.partition=p.partition) AS wb,"
  " (SELECT min(first_timestamp) FROM _stream_segments s"
  "   WHERE s.topic=p.topic AND s.partition=p.partition) AS w0,"
  " (SELECT max(last_timestamp) FROM _stream_segments s"
  "   WHERE s.topic=p.topic AND s.partition=p.partition) AS w1"
  " FROM _stream_partitions p LEFT JOIN _stream_log m"
  "   ON m.id BETWEEN p.id<<40 AND (p.id<<40)+" STREAM_LOG_M
  " LEFT JOIN stream_log_records(m.id, m.key, m.value, m.headers,"
  "   m.timestamp, m.attrs) r"
  " GROUP BY p.topic, p.partition)",
  0x03,                 /* topic =, partition = */
  0,                    /* innocuous: read-only */
  0,                    /* not the anchor */
  0,                    /* no rowid column */
  0,
  0,
  "c0, c1"              /* topic, partition */
};

int sqlite3StreamRegisterPartitions(sqlite3 *db, StreamCtx *p){
  return sqlite3StreamRegisterSqlVtab(db, p, &streamPartitionsDef);
}
