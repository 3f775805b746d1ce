/*
** groups.c - the stream_groups and stream_lag eponymous virtual tables.
**
**   SELECT * FROM stream_groups;   -- the seed's group row
**     (group_id, generation, leader, members, assignment, updated_at)
**   SELECT * FROM stream_lag WHERE group_id='billing';
**     (group_id, topic, partition, committed, high_watermark, lag)
**
** stream_lag has a row for every partition a group has committed or is
** assigned; lag is the high watermark minus the committed offset (minus
** the log start offset when nothing is committed yet).  Both are read-only
** and innocuous; "=" on their key columns is pushed down.
*/
#include "streamInt.h"

static const StreamSqlVtabDef streamGroupsDef = {
  "stream_groups",
  "group_id TEXT, generation INTEGER, leader TEXT, members TEXT,"
  " assignment TEXT, updated_at INTEGER",
  "SELECT group_id AS c0, generation AS c1, leader AS c2, members AS c3,"
  " assignment AS c4, updated_at AS c5 FROM _stream_groups"
  " ORDER BY group_id",
  0x01,                 /* group_id = */
  0,                    /* innocuous: read-only */
  0,                    /* not the anchor */
  0,                    /* no rowid column */
  0,
  0,
  "c0"                  /* group_id */
};

static const StreamSqlVtabDef streamLagDef = {
  "stream_lag",
  "group_id TEXT, topic TEXT, partition INTEGER, committed INTEGER,"
  " high_watermark INTEGER, lag INTEGER",
  "SELECT k.group_id AS c0, k.topic AS c1, k.partition AS c2,"
  " o.offset AS c3, h.hwm AS c4, h.hwm - coalesce(o.offset, h.lso) AS c5"
  " FROM (SELECT group_id, topic, partition FROM _stream_offsets"
  "       UNION SELECT group_id, topic, partition FROM _stream_assignments) k"
  " JOIN (SELECT p.topic, p.partition, p.log_start_offset AS lso,"
  "       " STREAM_HWM_SQL("p.id", "p.next_offset")
  " AS hwm"
  "       FROM _stream_partitions p) h"
  "   ON h.topic=k.topic AND h.partition=k.partition"
  " LEFT JOIN _stream_offsets o ON o.group_id=k.group_id"
  "   AND o.topic=k.topic AND o.partition=k.partition"
  " ORDER BY 1, 2, 3",
  0x07,                 /* group_id =, topic =, partition = */
  0,                    /* innocuous: read-only */
  0,                    /* not the anchor */
  0,                    /* no rowid column */
  0,
  0,
  "c0, c1, c2"          /* group_id, topic, partition */
};

int sqlite3StreamRegisterGroups(sqlite3 *db, StreamCtx *p){
  return sqlite3StreamRegisterSqlVtab(db, p, &streamGroupsDef);
}

int sqlite3StreamRegisterLag(sqlite3 *db, StreamCtx *p){
  return sqlite3StreamRegisterSqlVtab(db, p, &streamLagDef);
}
