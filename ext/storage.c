/*
** storage.c - the storage layer of the log and the tiers: the statements
** on the internal tables (_stream_messages, _stream_segments,
** _stream_partitions, _stream_cleaner, _stream_cleaner_keys) that the
** tiers, retention and compaction run, as one table of SQL (aSql[],
** indexed by STREAM_SQL_*) with typed accessors, in the manner of
** fts5_storage.c.  Callers never write SQL on these tables themselves:
** they ask for a statement by its number (its parameters documented
** beside it) or call an accessor that runs it.
**
** Statements are prepared once per connection and kept
** (sqlite3StreamStmtStatic(), ext/schema.c).  The group and poll
** statements still live in ext/schema.c's table (STREAM_STMT_*): see
** docs/architecture.md.
*/
#include "streamInt.h"

/* ?1 topic and ?2 partition in every statement. */
static const char *const aSql[STREAM_SQL_COUNT] = {
  /* ?3 incarnation */
  [STREAM_SQL_SEG_END] =
  "SELECT max(last_offset)+1 FROM _stream_segments"
  " WHERE topic=?1 AND partition=?2 AND incarnation=?3",
  [STREAM_SQL_SEG_LAST] =
  "SELECT max(last_offset) FROM _stream_segments"
  " WHERE topic=?1 AND partition=?2",
  [STREAM_SQL_SEG_COUNT] =
  "SELECT count(*) FROM _stream_segments WHERE topic=?1 AND partition=?2",
  [STREAM_SQL_SEG_BYTES] =
  "SELECT sum(bytes) FROM _stream_segments WHERE topic=?1 AND partition=?2",
  /* oldest first: first_offset, last_offset, last_timestamp, bytes,
  ** location */
  [STREAM_SQL_SEG_OLDEST] =
  "SELECT first_offset, last_offset, last_timestamp, bytes, location"
  " FROM _stream_segments WHERE topic=?1 AND partition=?2"
  " ORDER BY first_offset",
  /* newest first, of the topic's incarnation: first_offset, last_offset,
  ** location, codec, messages, bytes, incarnation, max_message_bytes */
  [STREAM_SQL_SEG_NEWEST] =
  "SELECT s.first_offset, s.last_offset, s.location, s.codec,"
  " s.messages, s.bytes, s.incarnation, t.max_message_bytes"
  " FROM _stream_segments s JOIN _stream_topics t ON t.name=s.topic"
  " AND t.incarnation=s.incarnation"
  " WHERE s.topic=?1 AND s.partition=?2"
  " ORDER BY s.first_offset DESC",
  /* ?3 offset: the first hot offset >= it */
  [STREAM_SQL_MSG_FIRST_FROM] =
  "SELECT offset FROM _stream_messages"
  " WHERE topic=?1 AND partition=?2 AND offset>=?3 ORDER BY offset LIMIT 1",
  /* ?3 offset: its timestamp */
  [STREAM_SQL_MSG_TIMESTAMP] =
  "SELECT timestamp FROM _stream_messages"
  " WHERE topic=?1 AND partition=?2 AND offset=?3",
  /* ?3 offset, ?4 time: the first offset >= ?3 of a message not older
  ** ("+timestamp": walk the primary key, not the timestamp index) */
  [STREAM_SQL_MSG_FIRST_YOUNG] =
  "SELECT offset FROM _stream_messages"
  " WHERE topic=?1 AND partition=?2 AND offset>=?3 AND +timestamp>=?4"
  " ORDER BY offset LIMIT 1",
  /* ?3 offset, ?4 n: the (n+1)-th hot offset >= ?3 */
  [STREAM_SQL_MSG_NTH_FROM] =
  "SELECT offset FROM _stream_messages"
  " WHERE topic=?1 AND partition=?2 AND offset>=?3"
  " ORDER BY offset LIMIT 1 OFFSET ?4",
  /* ?3, ?4: the last hot offset in [?3, ?4) */
  [STREAM_SQL_MSG_LAST_BELOW] =
  "SELECT max(offset) FROM _stream_messages"
  " WHERE topic=?1 AND partition=?2 AND offset>=?3 AND offset<?4",
  /* ?3, ?4, ?5, ?6: the first offset in (?3, ?4] whose timestamp is
  ** outside [?5, ?6] */
  [STREAM_SQL_MSG_OTHER_DAY] =
  "SELECT offset FROM _stream_messages WHERE topic=?1 AND partition=?2"
  " AND offset>?3 AND offset<=?4 AND (+timestamp<?5 OR +timestamp>?6)"
  " ORDER BY offset LIMIT 1",
  /* ?3, ?4: the stored rows of [?3, ?4]: offset, key, value, headers,
  ** timestamp, attrs */
  [STREAM_SQL_MSG_RANGE] =
  "SELECT offset, key, value, headers, timestamp, attrs"
  " FROM _stream_messages WHERE topic=?1 AND partition=?2"
  " AND offset>=?3 AND offset<=?4 ORDER BY offset",
  /* bytes of the hot messages (key + value + headers) */
  [STREAM_SQL_MSG_BYTES] =
  "SELECT sum(coalesce(length(CAST(key AS BLOB)),0)"
  "+coalesce(length(CAST(value AS BLOB)),0)"
  "+coalesce(length(CAST(headers AS BLOB)),0))"
  " FROM _stream_messages WHERE topic=?1 AND partition=?2",
  /* ?3 offset: stored bytes of the hot messages from it (cold tier) */
  [STREAM_SQL_MSG_BYTES_FROM] =
  "SELECT sum(" STREAM_MSG_BYTES_SQL ") FROM _stream_messages"
  " WHERE topic=?1 AND partition=?2 AND offset>=?3",
  /* ?3 offset: file bytes of the segments holding offsets from it */
  [STREAM_SQL_SEG_BYTES_FROM] =
  "SELECT sum(bytes) FROM _stream_segments"
  " WHERE topic=?1 AND partition=?2 AND last_offset>=?3",
  /* the keys of the hot messages that have one */
  [STREAM_SQL_MSG_KEYS] =
  "SELECT key FROM _stream_messages WHERE topic=?1 AND partition=?2"
  " AND key IS NOT NULL",
  /* ?3 high watermark */
  [STREAM_SQL_PART_RAISE_NEXT] =
  "UPDATE _stream_partitions SET next_offset=max(next_offset, ?3)"
  " WHERE topic=?1 AND partition=?2",
  /* ?3 high watermark (only upwards) */
  [STREAM_SQL_PART_SET_NEXT] =
  "UPDATE _stream_partitions SET next_offset=?3"
  " WHERE topic=?1 AND partition=?2 AND next_offset<?3",
  /* ?3 clean_offset, ?4 clean_count, ?5 target_offset, ?6 mark_offset,
  ** ?7 mark_at, ?8 horizon_offset, ?9 cleaned_at, ?10 removed,
  ** ?11 size_offset, ?12 size_bytes: the cleaner state (ext/compact.c) */
  [STREAM_SQL_CLEANER_PUT] =
  "INSERT OR REPLACE INTO _stream_cleaner(topic, partition, clean_offset,"
  " clean_count, target_offset, mark_offset, mark_at, horizon_offset,"
  " cleaned_at, removed, size_offset, size_bytes)"
  " VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12)",
  /* ?3 offset, ?4 limit: offsets and byte sizes from ?3 (retention) */
  [STREAM_SQL_MSG_SIZES_FROM] =
  "SELECT offset, " STREAM_MSG_BYTES_SQL " FROM _stream_messages"
  " WHERE topic=?1 AND partition=?2 AND offset>=?3 ORDER BY offset"
  " LIMIT ?4",
  /* ?3 limit: the oldest messages: offset, timestamp, bytes (retention) */
  [STREAM_SQL_MSG_OLDEST] =
  "SELECT offset, timestamp, " STREAM_MSG_BYTES_SQL
  " FROM _stream_messages WHERE topic=?1 AND partition=?2"
  " ORDER BY offset LIMIT ?3",
  /* ?3 offset: the hot messages below it */
  [STREAM_SQL_MSG_DELETE_BELOW] =
  "DELETE FROM _stream_messages WHERE topic=?1 AND partition=?2"
  " AND offset<?3",
  /* ?3 high watermark: the log starts at the first hot message (or at ?3
  ** if none is left); returns the new log start offset */
  [STREAM_SQL_PART_START_AT_HOT] =
  "UPDATE _stream_partitions SET log_start_offset=max(log_start_offset,"
  " coalesce((SELECT offset FROM _stream_messages WHERE topic=?1"
  " AND partition=?2 ORDER BY offset LIMIT 1), ?3))"
  " WHERE topic=?1 AND partition=?2 RETURNING log_start_offset",
  /* ?3 time: the first offset of a message younger (compaction lag) */
  [STREAM_SQL_CMP_YOUNGEST] =
  "SELECT min(offset) FROM _stream_messages INDEXED BY"
  " _stream_messages_ts WHERE topic=?1 AND partition=?2"
  " AND timestamp>?3",
  /* ?3 clean offset: the first message from it: offset, timestamp */
  [STREAM_SQL_CMP_FIRST_DIRTY] =
  "SELECT offset, timestamp FROM _stream_messages"
  " WHERE topic=?1 AND partition=?2 AND offset>=?3 ORDER BY offset"
  " LIMIT 1",
  /* the key map of a partition, emptied */
  [STREAM_SQL_CLEANER_KEYS_CLEAR] =
  "DELETE FROM _stream_cleaner_keys WHERE topic=?1 AND partition=?2",
  /* ?3 key, ?4 offset, ?5 tomb: one entry of the key map */
  [STREAM_SQL_CLEANER_KEYS_ADD] =
  "INSERT INTO _stream_cleaner_keys(topic, partition, key, offset, tomb)"
  " VALUES(?1,?2,?3,?4,?5)",
  /* ?3 upper: offset, key, tombstone, bytes, newest first */
  [STREAM_SQL_CMP_SCAN_DESC_BYTES] =
  "SELECT offset, key, value IS NULL, " STREAM_MSG_BYTES_SQL
  " FROM _stream_messages WHERE topic=?1 AND partition=?2"
  " AND offset<?3 ORDER BY offset DESC",
  /* ?3 upper: offset, key, tombstone, newest first */
  [STREAM_SQL_CMP_SCAN_DESC] =
  "SELECT offset, key, value IS NULL FROM _stream_messages"
  " WHERE topic=?1 AND partition=?2 AND offset<?3"
  " ORDER BY offset DESC",
  /* ?3, ?4: the hot rows of [?3, ?4] */
  [STREAM_SQL_MSG_DELETE_RANGE] =
  "DELETE FROM _stream_messages WHERE topic=?1 AND partition=?2"
  " AND offset>=?3 AND offset<=?4",
  /* ?3, ?4, ?5: offset, key, tombstone of [?3, ?4), at most ?5 */
  [STREAM_SQL_CMP_SCAN_DIRTY] =
  "SELECT offset, key, value IS NULL FROM _stream_messages"
  " WHERE topic=?1 AND partition=?2 AND offset>=?3 AND offset<?4"
  " ORDER BY offset LIMIT ?5",
  /* ?3 key: its offset in the key map */
  [STREAM_SQL_CLEANER_KEY_GET] =
  "SELECT offset FROM _stream_cleaner_keys"
  " WHERE topic=?1 AND partition=?2 AND key=?3",
  /* ?3, ?4: the hot rows of [?3, ?4], returning their bytes */
  [STREAM_SQL_MSG_DELETE_RANGE_BYTES] =
  "DELETE FROM _stream_messages WHERE topic=?1 AND partition=?2"
  " AND offset>=?3 AND offset<=?4 RETURNING " STREAM_MSG_BYTES_SQL,
  /* ?3 key, ?4 offset, ?5 tomb: set a key's entry */
  [STREAM_SQL_CLEANER_KEY_PUT] =
  "INSERT INTO _stream_cleaner_keys(topic, partition, key, offset, tomb)"
  " VALUES(?1,?2,?3,?4,?5) ON CONFLICT(topic, partition, key)"
  " DO UPDATE SET offset=excluded.offset, tomb=excluded.tomb",
  /* ?3 limit offset, ?4 count: tombstones of the key map below ?3 */
  [STREAM_SQL_CLEANER_TOMBS] =
  "SELECT offset FROM _stream_cleaner_keys"
  " WHERE topic=?1 AND partition=?2 AND tomb AND offset<?3"
  " ORDER BY offset LIMIT ?4",
  /* ?3 offset: a tombstone's entry */
  [STREAM_SQL_CLEANER_TOMB_DROP] =
  "DELETE FROM _stream_cleaner_keys"
  " WHERE topic=?1 AND partition=?2 AND tomb AND offset=?3",
  /* ?3 incarnation: rows of an earlier topic of the same name */
  [STREAM_SQL_SEG_DELETE_DEAD] =
  "DELETE FROM _stream_segments WHERE topic=?1 AND partition=?2"
  " AND incarnation<>?3",
  /* ?3 first, ?4 last, ?5 first ts, ?6 last ts, ?7 messages, ?8 bytes,
  ** ?9 location, ?10 codec, ?11 created_at, ?12 incarnation */
  [STREAM_SQL_SEG_INSERT] =
  "INSERT INTO _stream_segments(topic, partition, first_offset,"
  " last_offset, first_timestamp, last_timestamp, messages, bytes,"
  " location, codec, created_at, incarnation)"
  " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
  /* ?3 last offset: the hot rows up to it */
  [STREAM_SQL_MSG_DELETE_TO] =
  "DELETE FROM _stream_messages WHERE topic=?1 AND partition=?2"
  " AND offset<=?3",
  /* ?3 first_offset (the row), ?4 location, ?5 messages, ?6 bytes,
  ** ?7 first ts, ?8 last ts */
  [STREAM_SQL_SEG_REWRITE] =
  "UPDATE _stream_segments SET location=?4, messages=?5, bytes=?6,"
  " first_timestamp=?7, last_timestamp=?8"
  " WHERE topic=?1 AND partition=?2 AND first_offset=?3",
  /* ?3 first_offset */
  [STREAM_SQL_SEG_DELETE] =
  "DELETE FROM _stream_segments"
  " WHERE topic=?1 AND partition=?2 AND first_offset=?3",
  /* ?3 new log start offset */
  [STREAM_SQL_PART_RAISE_START] =
  "UPDATE _stream_partitions SET"
  " log_start_offset=max(log_start_offset, ?3)"
  " WHERE topic=?1 AND partition=?2",
  /* ?3 new log start offset: the segments wholly below it */
  [STREAM_SQL_SEG_DELETE_BELOW] =
  "DELETE FROM _stream_segments WHERE topic=?1 AND partition=?2"
  " AND last_offset<?3",
};

sqlite3_stmt *sqlite3StreamStorageStmt(StreamCtx *p, int eSql,
                                       const char *zTopic, int iPart,
                                       char **pzErr){
  sqlite3_stmt *pStmt = sqlite3StreamStmtStatic(p, aSql[eSql], pzErr);
  if( pStmt ){
    sqlite3_bind_text(pStmt, 1, zTopic, -1, SQLITE_STATIC);
    sqlite3_bind_int(pStmt, 2, iPart);
  }
  return pStmt;
}

int sqlite3StreamStorageReset(StreamCtx *p, sqlite3_stmt *pStmt,
                              char **pzErr){
  int rc = sqlite3_reset(pStmt);
  return rc ? sqlite3StreamDbErr(p->db, pzErr, rc) : SQLITE_OK;
}

int sqlite3StreamStorageGet(StreamCtx *p, int eSql, const char *zTopic,
                            int iPart, sqlite3_stmt **ppStmt, char **pzErr){
  *ppStmt = sqlite3StreamStorageStmt(p, eSql, zTopic, iPart, pzErr);
  return *ppStmt ? SQLITE_OK : sqlite3StreamStmtErr(p);
}

int sqlite3StreamStorageInt(StreamCtx *p, int eSql, const char *zTopic,
                            int iPart, i64 a3, i64 a4, i64 iDefault,
                            i64 *piOut, char **pzErr){
  sqlite3_stmt *pStmt = sqlite3StreamStorageStmt(p, eSql, zTopic, iPart,
                                                 pzErr);
  if( pStmt==0 ) return sqlite3StreamStmtErr(p);
  if( sqlite3_bind_parameter_count(pStmt)>=3 ) sqlite3_bind_int64(pStmt, 3, a3);
  if( sqlite3_bind_parameter_count(pStmt)>=4 ) sqlite3_bind_int64(pStmt, 4, a4);
  *piOut = iDefault;
  if( sqlite3_step(pStmt)==SQLITE_ROW
   && sqlite3_column_type(pStmt, 0)!=SQLITE_NULL ){
    *piOut = sqlite3_column_int64(pStmt, 0);
  }
  return sqlite3StreamStorageReset(p, pStmt, pzErr);
}

int sqlite3StreamStorageRun(StreamCtx *p, int eSql, const char *zTopic,
                            int iPart, i64 a3, char **pzErr){
  sqlite3_stmt *pStmt = sqlite3StreamStorageStmt(p, eSql, zTopic, iPart,
                                                 pzErr);
  if( pStmt==0 ) return sqlite3StreamStmtErr(p);
  if( sqlite3_bind_parameter_count(pStmt)>=3 ) sqlite3_bind_int64(pStmt, 3, a3);
  sqlite3_step(pStmt);
  return sqlite3StreamStorageReset(p, pStmt, pzErr);
}

int sqlite3StreamStorageSegmentAdd(StreamCtx *p, const StreamSegment *pSeg,
                                   i64 iHwm, i64 iTsMin, i64 iTsMax,
                                   int eCodec, char **pzErr){
  const char *zTopic = pSeg->zTopic;
  int iPart = pSeg->iPartition;
  sqlite3_stmt *pIns;
  int rc = sqlite3StreamStorageRun(p, STREAM_SQL_PART_RAISE_NEXT, zTopic,
                                   iPart, iHwm, pzErr);
  if( rc==SQLITE_OK ){
    rc = sqlite3StreamStorageRun(p, STREAM_SQL_SEG_DELETE_DEAD, zTopic, iPart,
                                 pSeg->iIncarnation, pzErr);
  }
  if( rc ) return rc;
  pIns = sqlite3StreamStorageStmt(p, STREAM_SQL_SEG_INSERT, zTopic, iPart,
                                  pzErr);
  if( pIns==0 ) return sqlite3StreamStmtErr(p);
  sqlite3_bind_int64(pIns, 3, pSeg->iFirst);
  sqlite3_bind_int64(pIns, 4, pSeg->iLast);
  sqlite3_bind_int64(pIns, 5, iTsMin);
  sqlite3_bind_int64(pIns, 6, iTsMax);
  sqlite3_bind_int64(pIns, 7, pSeg->nMessages);
  sqlite3_bind_int64(pIns, 8, pSeg->nBytes);
  sqlite3_bind_text(pIns, 9, pSeg->zLocation, -1, SQLITE_STATIC);
  sqlite3_bind_int(pIns, 10, eCodec);
  sqlite3_bind_int64(pIns, 11, sqlite3StreamNow(p));
  sqlite3_bind_int64(pIns, 12, pSeg->iIncarnation);
  sqlite3_step(pIns);
  rc = sqlite3StreamStorageReset(p, pIns, pzErr);
  if( rc==SQLITE_OK ){
    rc = sqlite3StreamStorageRun(p, STREAM_SQL_MSG_DELETE_TO, zTopic, iPart,
                                 pSeg->iLast, pzErr);
  }
  return rc;
}

int sqlite3StreamStorageSegmentRewrite(StreamCtx *p, const char *zTopic,
                                       int iPart, i64 iFirst,
                                       const char *zLocation, i64 nMessages,
                                       i64 nBytes, i64 iTsMin, i64 iTsMax,
                                       char **pzErr){
  sqlite3_stmt *pUp = sqlite3StreamStorageStmt(p, STREAM_SQL_SEG_REWRITE,
                                               zTopic, iPart, pzErr);
  if( pUp==0 ) return sqlite3StreamStmtErr(p);
  sqlite3_bind_int64(pUp, 3, iFirst);
  sqlite3_bind_text(pUp, 4, zLocation, -1, SQLITE_STATIC);
  sqlite3_bind_int64(pUp, 5, nMessages);
  sqlite3_bind_int64(pUp, 6, nBytes);
  sqlite3_bind_int64(pUp, 7, iTsMin);
  sqlite3_bind_int64(pUp, 8, iTsMax);
  sqlite3_step(pUp);
  return sqlite3StreamStorageReset(p, pUp, pzErr);
}

int sqlite3StreamStorageSegmentsExpire(StreamCtx *p, const char *zTopic,
                                       int iPart, i64 iStart, char **pzErr){
  int rc = sqlite3StreamStorageRun(p, STREAM_SQL_PART_RAISE_START, zTopic,
                                   iPart, iStart, pzErr);
  if( rc==SQLITE_OK ){
    rc = sqlite3StreamStorageRun(p, STREAM_SQL_SEG_DELETE_BELOW, zTopic,
                                 iPart, iStart, pzErr);
  }
  return rc;
}

int sqlite3StreamRaiseNext(StreamCtx *p, const char *zTopic, int iPart,
                           i64 iHwm, char **pzErr){
  return sqlite3StreamStorageRun(p, STREAM_SQL_PART_SET_NEXT, zTopic, iPart,
                                 iHwm, pzErr);
}
