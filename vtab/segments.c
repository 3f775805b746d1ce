/*
** segments.c - the stream_segments eponymous virtual table: the warm
** tier's segment index, one row per Parquet file.
**
**   SELECT partition, first_offset, last_offset, messages, bytes, location
**     FROM stream_segments WHERE topic='orders' ORDER BY partition,
**     first_offset;
**
** first_timestamp / last_timestamp are the smallest and largest message
** timestamps in the file (ms; CreateTime need not grow with the offset);
** bytes is the file size; location is the file's key inside the warm
** store (see docs/tiering.md), store the URL of that store (the topic's
** own warm.store when the segment was written, else the database's
** warm.store).  "topic =" and "partition =" are pushed
** down.  Read-only: segments are written by tiering and removed by
** retention.
*/
#include "streamInt.h"

static const StreamSqlVtabDef streamSegmentsDef = {
  "stream_segments",
  "topic TEXT, partition INTEGER, first_offset INTEGER, last_offset INTEGER,"
  " first_timestamp INTEGER, last_timestamp INTEGER, messages INTEGER,"
  " bytes INTEGER, location TEXT, created_at INTEGER, store TEXT",
  "SELECT topic AS c0, partition AS c1, first_offset AS c2,"
  " last_offset AS c3, first_timestamp AS c4, last_timestamp AS c5,"
  " messages AS c6, bytes AS c7, location AS c8, created_at AS c9,"
  " coalesce(store, (SELECT value FROM _stream_meta"
  " WHERE key='warm.store')) AS c10"
  " FROM _stream_segments",
  0x03,                 /* topic =, partition = */
  0,                    /* innocuous: read-only */
  0,                    /* not the anchor */
  0,                    /* no rowid column */
  0,
  0,
  "c0, c1, c2"          /* topic, partition, first_offset */
};

int sqlite3StreamRegisterSegments(sqlite3 *db, StreamCtx *p){
  return sqlite3StreamRegisterSqlVtab(db, p, &streamSegmentsDef);
}
