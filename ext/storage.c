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
** (sqlite3StreamStmtStatic(), ext/schema.c).
**
** A second table (aCatSql[], STREAM_CAT_*, at the end of the file) holds
** the catalog and group statements (_stream_topics, _stream_partitions,
** _stream_meta, _stream_groups, _stream_members, _stream_assignments,
** _stream_offsets) with their accessors (sqlite3StreamCat*()): every
** statement of ext/group.c, ext/offsets.c and ext/consume.c's pause and
** seek, and the topic lists of the maintenance and the tiers.
**
** A third table (aAuxSql[], STREAM_AUX_*, its own section) holds the
** tiers' own tables (the warm segment index as the warm tier scans,
** sweeps and drops it, the cold tier's and the Pipelines sink's tables)
** and the one-off writes (the write lock, the database id, a topic's
** delete), with their accessors (sqlite3StreamAux*()).
**
** A fourth (aHotSql[], STREAM_HOT_*, last in the file) holds the hot
** log's: the append, the producers, backpressure, the time index and the
** scan's hot query.  Still elsewhere: those listed in
** docs/architecture.md ("Not there yet").
*/
#include "streamInt.h"
#include <stdarg.h>

/* The rowid where a walk for the first message of a time starts: after
** the last time index entry of the partition whose timestamp is CMP (an
** SQL comparison with the time, "<?4"), or at the partition's start.
** Entries hold running maxima, so no message at or below such an entry
** can match (sql/schema.sql). */
#define STREAM_TIX_AFTER(CMP) \
  "(" STREAM_LOG_B "+coalesce((SELECT offset+1 FROM _stream_timeindex" \
  " WHERE pid=" STREAM_LOG_PID " AND timestamp" CMP \
  " ORDER BY timestamp DESC, offset DESC LIMIT 1), 0))"

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
  ** location, store */
  [STREAM_SQL_SEG_OLDEST] =
  "SELECT first_offset, last_offset, last_timestamp, bytes, location, store"
  " FROM _stream_segments WHERE topic=?1 AND partition=?2"
  " ORDER BY first_offset",
  /* newest first, of the topic's incarnation: first_offset, last_offset,
  ** location, codec, messages, bytes, incarnation, max_message_bytes,
  ** store */
  [STREAM_SQL_SEG_NEWEST] =
  "SELECT s.first_offset, s.last_offset, s.location, s.codec,"
  " s.messages, s.bytes, s.incarnation, t.max_message_bytes, s.store"
  " FROM _stream_segments s JOIN _stream_topics t ON t.name=s.topic"
  " AND t.incarnation=s.incarnation"
  " WHERE s.topic=?1 AND s.partition=?2"
  " ORDER BY s.first_offset DESC",
  /* ?3 offset: the first hot offset >= it */
  [STREAM_SQL_MSG_FIRST_FROM] =
  "SELECT " STREAM_LOG_OFF " FROM _stream_log WHERE id BETWEEN "
  STREAM_LOG_AT("?3") " AND " STREAM_LOG_END " ORDER BY id LIMIT 1",
  /* ?3 offset: its timestamp */
  [STREAM_SQL_MSG_TIMESTAMP] =
  "SELECT timestamp FROM _stream_log WHERE id=" STREAM_LOG_AT("?3")
  " AND ?3 BETWEEN 0 AND " STREAM_LOG_M,
  /* ?3 offset, ?4 time: the first offset >= ?3 of a message not older:
  ** the walk starts after the last time index entry older than ?4 */
  [STREAM_SQL_MSG_FIRST_YOUNG] =
  "SELECT " STREAM_LOG_OFF " FROM _stream_log WHERE id BETWEEN max("
  STREAM_LOG_AT("?3") "," STREAM_TIX_AFTER("<?4") ") AND " STREAM_LOG_END
  " AND timestamp>=?4 ORDER BY id LIMIT 1",
  /* ?3 offset, ?4 n: the (n+1)-th hot offset >= ?3 */
  [STREAM_SQL_MSG_NTH_FROM] =
  "SELECT " STREAM_LOG_OFF " FROM _stream_log WHERE id BETWEEN "
  STREAM_LOG_AT("?3") " AND " STREAM_LOG_END
  " ORDER BY id LIMIT 1 OFFSET ?4",
  /* ?3, ?4: the last hot offset in [?3, ?4) */
  [STREAM_SQL_MSG_LAST_BELOW] =
  "SELECT max(id)&" STREAM_LOG_M " FROM _stream_log WHERE id>="
  STREAM_LOG_AT("?3") " AND id<" STREAM_LOG_AT("?4")
  " AND id<=" STREAM_LOG_END,
  /* ?3, ?4, ?5, ?6: the first offset in (?3, ?4] whose timestamp is
  ** outside [?5, ?6] */
  [STREAM_SQL_MSG_OTHER_DAY] =
  "SELECT " STREAM_LOG_OFF " FROM _stream_log WHERE id>" STREAM_LOG_AT("?3")
  " AND id<=min(" STREAM_LOG_AT("?4") "," STREAM_LOG_END ")"
  " AND (timestamp<?5 OR timestamp>?6) ORDER BY id LIMIT 1",
  /* ?3, ?4: the stored rows of [?3, ?4]: offset, key, value, headers,
  ** timestamp, attrs */
  [STREAM_SQL_MSG_RANGE] =
  "SELECT " STREAM_LOG_OFF ", key, value, headers, timestamp, attrs"
  " FROM _stream_log WHERE " STREAM_LOG_RANGE("?3", "?4") " ORDER BY id",
  /* bytes of the hot messages (key + value + headers) */
  [STREAM_SQL_MSG_BYTES] =
  "SELECT sum(coalesce(length(CAST(key AS BLOB)),0)"
  "+coalesce(length(CAST(value AS BLOB)),0)"
  "+coalesce(length(CAST(headers AS BLOB)),0))"
  " FROM _stream_log WHERE " STREAM_LOG_ALL,
  /* ?3 offset: stored bytes of the hot messages from it (cold tier) */
  [STREAM_SQL_MSG_BYTES_FROM] =
  "SELECT sum(" STREAM_MSG_BYTES_SQL ") FROM _stream_log"
  " WHERE id BETWEEN " STREAM_LOG_AT("?3") " AND " STREAM_LOG_END,
  /* ?3 offset: file bytes of the segments holding offsets from it */
  [STREAM_SQL_SEG_BYTES_FROM] =
  "SELECT sum(bytes) FROM _stream_segments"
  " WHERE topic=?1 AND partition=?2 AND last_offset>=?3",
  /* the keys of the hot messages that have one */
  [STREAM_SQL_MSG_KEYS] =
  "SELECT key FROM _stream_log WHERE " STREAM_LOG_ALL
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
  /* ?3 offset, ?4 limit: the rows from ?3 (retention): last offset and
  ** bytes of each (?3 is a row's first offset: whole rows are counted) */
  [STREAM_SQL_MSG_SIZES_FROM] =
  "SELECT " STREAM_LOG_OFF "+" STREAM_BATCH_LAST_SQL("_stream_log") ", "
  STREAM_MSG_BYTES_SQL " FROM _stream_log"
  " WHERE id BETWEEN " STREAM_LOG_AT("?3") " AND " STREAM_LOG_END
  " ORDER BY id LIMIT ?4",
  /* ?3 limit: the oldest rows (retention removes whole rows: a record
  ** batch goes when all its messages may go): last offset, timestamp (a
  ** batch's largest), bytes, messages */
  [STREAM_SQL_MSG_OLDEST] =
  "SELECT " STREAM_LOG_OFF "+" STREAM_BATCH_LAST_SQL("_stream_log")
  ", timestamp, " STREAM_MSG_BYTES_SQL ", " STREAM_BATCH_COUNT_SQL
  " FROM _stream_log WHERE " STREAM_LOG_ALL " ORDER BY id LIMIT ?3",
  /* ?3 offset: the hot messages below it */
  [STREAM_SQL_MSG_DELETE_BELOW] =
  "DELETE FROM _stream_log WHERE id>=" STREAM_LOG_B
  " AND id<" STREAM_LOG_AT("?3"),
  /* ?3 high watermark: the log starts at the first hot message (or at ?3
  ** if none is left); returns the new log start offset */
  [STREAM_SQL_PART_START_AT_HOT] =
  "UPDATE _stream_partitions SET log_start_offset=max(log_start_offset,"
  " coalesce((SELECT " STREAM_LOG_OFF " FROM _stream_log WHERE "
  STREAM_LOG_ALL " ORDER BY id LIMIT 1), ?3))"
  " WHERE topic=?1 AND partition=?2 RETURNING log_start_offset",
  /* ?3 time: the first offset of a message younger (compaction lag),
  ** found as MSG_FIRST_YOUNG finds it */
  [STREAM_SQL_CMP_YOUNGEST] =
  "SELECT (SELECT " STREAM_LOG_OFF " FROM _stream_log WHERE id BETWEEN "
  STREAM_TIX_AFTER("<=?3") " AND " STREAM_LOG_END " AND timestamp>?3"
  " ORDER BY id LIMIT 1)",
  /* ?3 clean offset: the first message from it: offset, timestamp */
  [STREAM_SQL_CMP_FIRST_DIRTY] =
  "SELECT " STREAM_LOG_OFF ", timestamp FROM _stream_log WHERE id BETWEEN "
  STREAM_LOG_AT("?3") " AND " STREAM_LOG_END " ORDER BY id LIMIT 1",
  /* the key map of a partition, emptied */
  [STREAM_SQL_CLEANER_KEYS_CLEAR] =
  "DELETE FROM _stream_cleaner_keys WHERE topic=?1 AND partition=?2",
  /* ?3 key, ?4 offset, ?5 tomb: one entry of the key map */
  [STREAM_SQL_CLEANER_KEYS_ADD] =
  "INSERT INTO _stream_cleaner_keys(topic, partition, key, offset, tomb)"
  " VALUES(?1,?2,?3,?4,?5)",
  /* ?3 upper: offset, key, tombstone, bytes, newest first */
  [STREAM_SQL_CMP_SCAN_DESC_BYTES] =
  "SELECT " STREAM_LOG_OFF ", key, value IS NULL, " STREAM_MSG_BYTES_SQL
  " FROM _stream_log WHERE id>=" STREAM_LOG_B " AND id<" STREAM_LOG_AT("?3")
  " ORDER BY id DESC",
  /* ?3 upper: offset, key, tombstone, newest first */
  [STREAM_SQL_CMP_SCAN_DESC] =
  "SELECT " STREAM_LOG_OFF ", key, value IS NULL FROM _stream_log"
  " WHERE id>=" STREAM_LOG_B " AND id<" STREAM_LOG_AT("?3")
  " ORDER BY id DESC",
  /* ?3, ?4: the hot rows of [?3, ?4] */
  [STREAM_SQL_MSG_DELETE_RANGE] =
  "DELETE FROM _stream_log WHERE " STREAM_LOG_RANGE("?3", "?4"),
  /* ?3, ?4, ?5: offset, key, tombstone of [?3, ?4), at most ?5 */
  [STREAM_SQL_CMP_SCAN_DIRTY] =
  "SELECT " STREAM_LOG_OFF ", key, value IS NULL FROM _stream_log"
  " WHERE id>=" STREAM_LOG_AT("?3") " AND id<" STREAM_LOG_AT("?4")
  " AND id<=" STREAM_LOG_END " ORDER BY id LIMIT ?5",
  /* ?3 key: its offset in the key map */
  [STREAM_SQL_CLEANER_KEY_GET] =
  "SELECT offset FROM _stream_cleaner_keys"
  " WHERE topic=?1 AND partition=?2 AND key=?3",
  /* ?3, ?4: the hot rows of [?3, ?4], returning their bytes */
  [STREAM_SQL_MSG_DELETE_RANGE_BYTES] =
  "DELETE FROM _stream_log WHERE " STREAM_LOG_RANGE("?3", "?4")
  " RETURNING " STREAM_MSG_BYTES_SQL,
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
  ** ?9 location, ?10 codec, ?11 created_at, ?12 incarnation, ?13 store */
  [STREAM_SQL_SEG_INSERT] =
  "INSERT INTO _stream_segments(topic, partition, first_offset,"
  " last_offset, first_timestamp, last_timestamp, messages, bytes,"
  " location, codec, created_at, incarnation, store)"
  " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
  /* ?3 last offset: the hot rows up to it */
  [STREAM_SQL_MSG_DELETE_TO] =
  "DELETE FROM _stream_log WHERE id>=" STREAM_LOG_B
  " AND id<=min(" STREAM_LOG_AT("?3") "," STREAM_LOG_END ")",
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
  /* ?3 offset: the time index entries below it (with the messages) */
  [STREAM_SQL_TIX_DELETE_BELOW] =
  "DELETE FROM _stream_timeindex WHERE pid=" STREAM_LOG_PID " AND offset<?3",
  /* ?3 from, ?4 to, ?5 offset: the first record batch whose first offset
  ** is in [?3, ?4] and whose last is >= ?5: id, value */
  [STREAM_SQL_BATCH_NEXT] =
  "SELECT id, value FROM _stream_log WHERE id BETWEEN " STREAM_LOG_AT("?3")
  " AND min(" STREAM_LOG_AT("?4") "," STREAM_LOG_END ") AND attrs&8"
  " AND " STREAM_LOG_OFF "+(key&255)>=?5 ORDER BY id LIMIT 1",
  /* ?3 offset: the records of the batch starting at it */
  [STREAM_SQL_BATCH_AT] =
  "SELECT value FROM _stream_log WHERE id=" STREAM_LOG_AT("?3")
  " AND attrs&8",
  /* ?3 offset: the row at it */
  [STREAM_SQL_MSG_DELETE_AT] =
  "DELETE FROM _stream_log WHERE id=" STREAM_LOG_AT("?3"),
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
  int rc;
  sqlite3_stmt *pStmt = sqlite3StreamStorageStmt(p, eSql, zTopic, iPart,
                                                 pzErr);
  if( pStmt==0 ) return sqlite3StreamStmtErr(p);
  if( sqlite3_bind_parameter_count(pStmt)>=3 ) sqlite3_bind_int64(pStmt, 3, a3);
  sqlite3_step(pStmt);
  rc = sqlite3StreamStorageReset(p, pStmt, pzErr);
  /* The time index follows the head of the log away. */
  if( rc==SQLITE_OK && (eSql==STREAM_SQL_MSG_DELETE_BELOW
                     || eSql==STREAM_SQL_MSG_DELETE_TO) ){
    rc = sqlite3StreamStorageRun(p, STREAM_SQL_TIX_DELETE_BELOW, zTopic, iPart,
        eSql==STREAM_SQL_MSG_DELETE_TO ? sqlite3StreamOffsetAfter(a3) : a3,
        pzErr);
  }
  return rc;
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
  if( pSeg->zStore ){
    sqlite3_bind_text(pIns, 13, pSeg->zStore, -1, SQLITE_STATIC);
  }else{
    sqlite3_bind_null(pIns, 13);
  }
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

/**************************************************************************
** The catalog and the groups: the statements on _stream_topics,
** _stream_partitions, _stream_meta, _stream_groups, _stream_members,
** _stream_assignments and _stream_offsets, indexed by STREAM_CAT_*, and
** the typed accessors that run them.  (_stream_meta is read by
** sqlite3StreamMetaGet() in ext/schema.c, which checks the storage
** format with it before anything else runs; the idempotent producers'
** statements live with the hot log, ext/schema.c.)
*/
/* The columns and the FROM of STREAM_CAT_MEMBER_READ and
** STREAM_CAT_MEMBER_PEEK. */
#define STREAM_MEMBER_READ_COLS \
  "SELECT m.incarnation, g.generation, m.auto_commit," \
  " m.auto_commit_interval_ms, m.max_poll_records, m.fetch_max_bytes," \
  " m.auto_offset_reset, (SELECT min(CASE WHEN x.polled_at IS NULL" \
  "   THEN x.heartbeat_at + x.session_timeout_ms" \
  "   ELSE min(x.heartbeat_at + x.session_timeout_ms," \
  "            x.polled_at + x.max_poll_interval_ms) END)" \
  "  FROM _stream_members x WHERE x.group_id=?1)," \
  " min(m.session_timeout_ms, m.max_poll_interval_ms), m.heartbeat_at," \
  " m.polled_at"
#define STREAM_MEMBER_READ_FROM \
  " FROM _stream_members m JOIN _stream_groups g USING(group_id)" \
  " WHERE m.group_id=?1 AND m.member_id=?2"

static const char *const aCatSql[STREAM_CAT_COUNT] = {
  /* ?1 name: partitions, max_message_bytes, timestamp_type, compression,
  ** cleanup, backpressure_max_lag, backpressure_block_ms */
  [STREAM_CAT_TOPIC_GET] =
  "SELECT partitions, max_message_bytes, timestamp_type, compression, cleanup,"
  " backpressure_max_lag, backpressure_block_ms"
  " FROM _stream_topics WHERE name=?1",
  /* ?1 topic, ?3 partition (?3 as in the others: see streamCatBind()) */
  [STREAM_CAT_LOG_START] =
  "SELECT log_start_offset FROM _stream_partitions"
  " WHERE topic=?1 AND partition=?3",
  /* ?1 key, ?2 value */
  [STREAM_CAT_META_SET] =
  "INSERT OR REPLACE INTO _stream_meta(key, value) VALUES(?1, ?2)",
  /* ?1 key */
  [STREAM_CAT_META_DELETE] =
  "DELETE FROM _stream_meta WHERE key=?1",
  /* ?1 group */
  [STREAM_CAT_GENERATION] =
  "SELECT generation FROM _stream_groups WHERE group_id=?1",
  /* ?1 group, ?2 now */
  [STREAM_CAT_MEMBER_EXPIRE] =
  "DELETE FROM _stream_members WHERE group_id=?1"
  " AND (heartbeat_at + session_timeout_ms < ?2"
  "  OR (polled_at IS NOT NULL AND polled_at + max_poll_interval_ms < ?2))",
  /* ?1 group, ?2 topic, ?3 partition, ?4 member */
  [STREAM_CAT_OWNS] =
  "SELECT 1 FROM _stream_assignments WHERE group_id=?1 AND topic=?2"
  " AND partition=?3 AND member_id=?4",
  /* ?1 group, ?2 member: topic, partition, position (the mark), paused */
  [STREAM_CAT_ASSIGNED] =
  "SELECT topic, partition, position, paused FROM _stream_assignments"
  " WHERE group_id=?1 AND member_id=?2 ORDER BY topic, partition",
  /* ?1 group, ?2 topic, ?3 partition, ?4 mark */
  [STREAM_CAT_POSITION_SET] =
  "UPDATE _stream_assignments SET position=?4"
  " WHERE group_id=?1 AND topic=?2 AND partition=?3",
  /* ?1 group, ?2 topic, ?3 partition */
  [STREAM_CAT_COMMITTED_GET] =
  "SELECT offset FROM _stream_offsets"
  " WHERE group_id=?1 AND topic=?2 AND partition=?3",
  /* ?1 name, ?2 config (the overrides), ?3 partitions, ?4..?9 the columns
  ** of sqlite3StreamCatTopicUpdate(), ?10 created_at */
  [STREAM_CAT_TOPIC_INSERT] =
  "INSERT INTO _stream_topics(name, partitions, config, max_message_bytes,"
  " timestamp_type, compression, cleanup, created_at,"
  " backpressure_max_lag, backpressure_block_ms, incarnation)"
  " VALUES(?1, ?3, ?2, ?4, ?5, ?6, ?7, ?10, ?8, ?9,"
  " (random()&0x7fffffffffffffff)|1)",
  /* ?1 name */
  [STREAM_CAT_TOPIC_CONFIG] =
  "SELECT config FROM _stream_topics WHERE name=?1",
  /* ?1 name, ?2 config, ?4 max_message_bytes, ?5 timestamp_type,
  ** ?6 compression, ?7 cleanup, ?8 backpressure_max_lag,
  ** ?9 backpressure_block_ms */
  [STREAM_CAT_TOPIC_UPDATE] =
  "UPDATE _stream_topics SET config=?2, max_message_bytes=?4,"
  " timestamp_type=?5, compression=?6, cleanup=?7,"
  " backpressure_max_lag=?8, backpressure_block_ms=?9"
  " WHERE name=?1",
  /* ?1 name, ?3 partitions */
  [STREAM_CAT_TOPIC_GROW] =
  "UPDATE _stream_topics SET partitions=?3 WHERE name=?1",
  /* ?1 group, ?2 leader, ?3 members, ?4 assignment, ?5 updated_at,
  ** ?6 topic_partitions, ?7 generation: a rebalance's result */
  [STREAM_CAT_GROUP_STORE] =
  "INSERT INTO _stream_groups(group_id, generation, leader, members,"
  " assignment, updated_at, topic_partitions)"
  " VALUES(?1, ?7, ?2, ?3, ?4, ?5, ?6)"
  " ON CONFLICT(group_id) DO UPDATE SET generation=excluded.generation,"
  " leader=excluded.leader, members=excluded.members,"
  " assignment=excluded.assignment, updated_at=excluded.updated_at,"
  " topic_partitions=excluded.topic_partitions",
  /* ?1 group, ?2 now, ?3 strategy: the group row of a join */
  [STREAM_CAT_GROUP_ENSURE] =
  "INSERT INTO _stream_groups(group_id, generation, members, assignment,"
  " updated_at, strategy) VALUES(?1, 0, '[]', '{}', ?2, ?3)"
  " ON CONFLICT(group_id) DO UPDATE SET strategy=excluded.strategy",
  /* ?1 group, ?2 member, ?3 incarnation, ?4 topics, ?5 options,
  ** ?6..?12 the settings, ?13 now: a join */
  [STREAM_CAT_MEMBER_UPSERT] =
  "INSERT INTO _stream_members(group_id, member_id, incarnation, topics,"
  " options, session_timeout_ms, max_poll_interval_ms, auto_commit,"
  " auto_commit_interval_ms, max_poll_records, fetch_max_bytes,"
  " auto_offset_reset, joined_at, heartbeat_at)"
  " VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?13)"
  " ON CONFLICT(group_id, member_id) DO UPDATE SET"
  " incarnation=excluded.incarnation, topics=excluded.topics,"
  " options=excluded.options,"
  " session_timeout_ms=excluded.session_timeout_ms,"
  " max_poll_interval_ms=excluded.max_poll_interval_ms,"
  " auto_commit=excluded.auto_commit,"
  " auto_commit_interval_ms=excluded.auto_commit_interval_ms,"
  " max_poll_records=excluded.max_poll_records,"
  " fetch_max_bytes=excluded.fetch_max_bytes,"
  " auto_offset_reset=excluded.auto_offset_reset,"
  " heartbeat_at=excluded.heartbeat_at, polled_at=NULL",
  /* ?1 group, ?2 member: a leave */
  [STREAM_CAT_MEMBER_DELETE] =
  "DELETE FROM _stream_members WHERE group_id=?1 AND member_id=?2",
  /* ?1 group, ?2 member: a re-joining member starts again from the
  ** committed offsets */
  [STREAM_CAT_MARKS_CLEAR] =
  "UPDATE _stream_assignments SET position=NULL, paused=0"
  " WHERE group_id=?1 AND member_id=?2",
  /* ?1 name: config, partitions, incarnation */
  [STREAM_CAT_TOPIC_ROW] =
  "SELECT config, partitions, incarnation FROM _stream_topics WHERE name=?1",
  /* ?1 topic, ?2 first partition, ?3 end (excluded), ?4 the id of
  ** partition 0 (partition i gets id ?4+i: the key of its messages in
  ** _stream_log) */
  [STREAM_CAT_PARTITIONS_ADD] =
  "WITH RECURSIVE p(i) AS (SELECT ?2 UNION ALL SELECT i+1 FROM p"
  " WHERE i+1<?3)"
  " INSERT INTO _stream_partitions(topic, partition, id)"
  " SELECT ?1, i, ?4+i FROM p",
  [STREAM_CAT_PARTITION_MAX_ID] =
  "SELECT coalesce(max(id), 0) FROM _stream_partitions",
  /* ?1 group: member_id, topics, joined_at (a rebalance's members) */
  [STREAM_CAT_MEMBERS] =
  "SELECT member_id, topics, joined_at FROM _stream_members"
  " WHERE group_id=?1",
  /* ?1 group: topic, partition, member_id (a rebalance reads them once) */
  [STREAM_CAT_ASSIGN_ROWS] =
  "SELECT topic, partition, member_id FROM _stream_assignments"
  " WHERE group_id=?1",
  /* ?1 group, ?2 topic, ?3 partition */
  [STREAM_CAT_ASSIGN_DELETE] =
  "DELETE FROM _stream_assignments"
  " WHERE group_id=?1 AND topic=?2 AND partition=?3",
  /* ?1 group, ?2 topic, ?3 partition, ?4 member, ?5 mark: a new owner
  ** starts from the committed offset, not paused */
  [STREAM_CAT_ASSIGN_MOVE] =
  "UPDATE _stream_assignments SET member_id=?4, position=?5, paused=0"
  " WHERE group_id=?1 AND topic=?2 AND partition=?3",
  /* ?1 group, ?2 topic, ?3 partition, ?4 member, ?5 mark */
  [STREAM_CAT_ASSIGN_INSERT] =
  "INSERT INTO _stream_assignments(group_id, topic, partition, member_id,"
  " position) VALUES(?1,?2,?3,?4,?5)",
  /* ?1 group, ?2 member (or NULL): strategy, the number of the other
  ** members */
  [STREAM_CAT_GROUP_STRATEGY] =
  "SELECT g.strategy, (SELECT count(*) FROM _stream_members m"
  " WHERE m.group_id=g.group_id AND m.member_id IS NOT ?2)"
  " FROM _stream_groups g WHERE g.group_id=?1",
  /* ?1 group */
  [STREAM_CAT_MEMBER_COUNT] =
  "SELECT count(*) FROM _stream_members WHERE group_id=?1",
  /* ?1 group, ?2 member (bound, never spliced into a JSON path) */
  [STREAM_CAT_MEMBER_ASSIGNMENT] =
  "SELECT j.value FROM _stream_groups g, json_each(g.assignment) j"
  " WHERE g.group_id=?1 AND j.key=?2",
  /* ?1 group, ?2 member */
  [STREAM_CAT_MEMBER_INCARNATION] =
  "SELECT incarnation FROM _stream_members"
  " WHERE group_id=?1 AND member_id=?2",
  /* ?1 group, ?2 the member's assignment (JSON) */
  [STREAM_CAT_JOIN_ANSWER] =
  "SELECT json_object('generation', generation, 'leader', leader,"
  " 'assignment', json(?2)) FROM _stream_groups WHERE group_id=?1",
  /* ?1 group, ?2 member: the member, its group's generation and
  ** its options; the group's expiry deadline, the least of its members'
  ** (a member with a deadline < now meets the condition of
  ** STREAM_CAT_MEMBER_EXPIRE); min(session.timeout.ms,
  ** max.poll.interval.ms), heartbeat_at, polled_at (ext/group.c) */
  [STREAM_CAT_MEMBER_READ] =
  STREAM_MEMBER_READ_COLS STREAM_MEMBER_READ_FROM,
  /* The same, and whether a topic's partition count changed (or the topic
  ** was deleted) since the assignment was computed (topic_partitions): a
  ** look's check in one statement (a wait's check 22.7 k instructions in
  ** two, 20.4 k in one: bench/look_callgrind.sh).  The count is read from
  ** _stream_partitions (partitions 0..n-1, added with
  ** _stream_topics.partitions in one transaction, deleted with the
  ** topic), whose page a poll's fetch reads anyway: a look reads one
  ** catalog table less than with _stream_topics (test_capi 11.*). */
  [STREAM_CAT_MEMBER_PEEK] =
  STREAM_MEMBER_READ_COLS ","
  " EXISTS(SELECT 1 FROM json_each(g.topic_partitions) j"
  "  WHERE j.value IS NOT (SELECT coalesce(max(p.partition)+1, 0)"
  "   FROM _stream_partitions p WHERE p.topic=j.key))"
  STREAM_MEMBER_READ_FROM,
  /* ?1 group, ?2 member, ?3 now, ?4 a poll's (polled_at too) */
  [STREAM_CAT_HEARTBEAT] =
  "UPDATE _stream_members SET heartbeat_at=?3,"
  " polled_at=CASE WHEN ?4 THEN ?3 ELSE polled_at END"
  " WHERE group_id=?1 AND member_id=?2",
  /* ?1 group, ?2 topic, ?3 partition */
  [STREAM_CAT_OWNER] =
  "SELECT member_id FROM _stream_assignments"
  " WHERE group_id=?1 AND topic=?2 AND partition=?3",
  /* ?1 group, ?2 topic, ?3 partition, ?4 paused */
  [STREAM_CAT_PAUSE] =
  "UPDATE _stream_assignments SET paused=?4"
  " WHERE group_id=?1 AND topic=?2 AND partition=?3",
  /* ?1 group, ?2 topic, ?3 partition, ?4 offset, ?5 metadata,
  ** ?6 committed_at */
  [STREAM_CAT_OFFSET_COMMIT] =
  "INSERT INTO _stream_offsets"
  "(group_id, topic, partition, offset, metadata, committed_at)"
  " VALUES(?1,?2,?3,?4,?5,?6)"
  " ON CONFLICT(group_id, topic, partition) DO UPDATE SET"
  " offset=excluded.offset, metadata=excluded.metadata,"
  " committed_at=excluded.committed_at",
  /* ?1 rowid */
  [STREAM_CAT_OFFSET_DELETE] =
  "DELETE FROM _stream_offsets WHERE rowid=?1",
  /* ?3 rowid: the group of a row of _stream_offsets */
  [STREAM_CAT_OFFSET_GROUP] =
  "SELECT group_id FROM _stream_offsets WHERE rowid=?3",
  /* ?1 group, ?2 topic, ?3 partition, ?4 rowid */
  [STREAM_CAT_OFFSET_ROW_IS] =
  "SELECT 1 FROM _stream_offsets WHERE rowid=?4"
  " AND group_id=?1 AND topic=?2 AND partition=?3",
  /* ?1 name or NULL (all), ?2 a configuration key or NULL: the topics
  ** (with that key set to true) */
  [STREAM_CAT_TOPIC_LIST] =
  "SELECT name FROM _stream_topics WHERE (?1 IS NULL OR name=?1)"
  " AND (?2 IS NULL OR config->>('$.\"' || ?2 || '\"')=1) ORDER BY name",
  /* ?1 name */
  [STREAM_CAT_TOPIC_COLLIDES] =
  "SELECT name FROM _stream_topics WHERE name<>?1"
  " AND replace(name, '.', '_')=replace(?1, '.', '_') ORDER BY name LIMIT 1",
};

sqlite3_stmt *sqlite3StreamCatStmt(StreamCtx *p, int eCat, char **pzErr){
  return sqlite3StreamStmtStatic(p, aCatSql[eCat], pzErr);
}

/* Bind ?1..?4 of pStmt from the text zA, zB, the integer iC and the text
** zD; a NULL text leaves its parameter (and those after it) alone. */
static void streamCatBind(sqlite3_stmt *pStmt, const char *zA,
                          const char *zB, i64 iC, const char *zD){
  if( zA ) sqlite3_bind_text(pStmt, 1, zA, -1, SQLITE_STATIC);
  if( zB ) sqlite3_bind_text(pStmt, 2, zB, -1, SQLITE_STATIC);
  if( sqlite3_bind_parameter_count(pStmt)>=3 ){
    sqlite3_bind_int64(pStmt, 3, iC);
  }
  if( zD ) sqlite3_bind_text(pStmt, 4, zD, -1, SQLITE_STATIC);
}

/* Run eCat, bound by streamCatBind(): *pbRow says whether a row came
** back, *peType and *piOut hold its first column (when not NULL). */
static int streamCatRun(StreamCtx *p, int eCat, const char *zA,
                        const char *zB, i64 iC, const char *zD,
                        int *pbRow, int *peType, i64 *piOut, char **pzErr){
  sqlite3_stmt *pStmt = sqlite3StreamCatStmt(p, eCat, pzErr);
  int bRow;
  if( pStmt==0 ) return sqlite3StreamStmtErr(p);
  streamCatBind(pStmt, zA, zB, iC, zD);
  bRow = sqlite3_step(pStmt)==SQLITE_ROW;
  if( pbRow ) *pbRow = bRow;
  if( bRow && peType ) *peType = sqlite3_column_type(pStmt, 0);
  if( bRow && piOut ) *piOut = sqlite3_column_int64(pStmt, 0);
  return sqlite3StreamStorageReset(p, pStmt, pzErr);
}

/* An integer read by eCat: *pbFound unless there is no row or it is
** NULL. */
static int streamCatInt(StreamCtx *p, int eCat, const char *zA,
                        const char *zB, i64 iC, i64 *piOut, int *pbFound,
                        char **pzErr){
  int bRow = 0, eType = SQLITE_NULL;
  i64 v = 0;
  int rc = streamCatRun(p, eCat, zA, zB, iC, 0, &bRow, &eType, &v, pzErr);
  *pbFound = rc==SQLITE_OK && bRow && eType!=SQLITE_NULL;
  if( *pbFound ) *piOut = v;
  return rc;
}

/* Error rc of a read, or SQLITE_OK (and no message) if it failed for want
** of storage: a database without storage has no rows. */
static int streamCatNoStorage(StreamCtx *p, int rc, char **pzErr){
  if( !sqlite3StreamNoStorage(p->db) ) return rc;
  if( pzErr ){
    sqlite3_free(*pzErr);
    *pzErr = 0;
  }
  return SQLITE_OK;
}

/* The text of the first column of eCat's row, bound by streamCatBind():
** *pzOut sqlite3_malloc'd, NULL if there is no row or it is NULL; with
** pn1, the second column as an integer (0 without a row). */
static int streamCatText(StreamCtx *p, int eCat, const char *zA,
                         const char *zB, i64 iC, char **pzOut, int *pn1,
                         char **pzErr){
  sqlite3_stmt *pStmt = sqlite3StreamCatStmt(p, eCat, pzErr);
  int rc = SQLITE_OK;
  *pzOut = 0;
  if( pn1 ) *pn1 = 0;
  if( pStmt==0 ) return sqlite3StreamStmtErr(p);
  streamCatBind(pStmt, zA, zB, iC, 0);
  if( sqlite3_step(pStmt)==SQLITE_ROW ){
    if( pn1 ) *pn1 = sqlite3_column_int(pStmt, 1);
    if( sqlite3_column_type(pStmt, 0)!=SQLITE_NULL ){
      const unsigned char *z = sqlite3_column_text(pStmt, 0);
      *pzOut = z ? sqlite3_mprintf("%s", z) : 0;
      if( *pzOut==0 ) rc = SQLITE_NOMEM;
    }
  }
  if( rc ){
    sqlite3_reset(pStmt);
  }else{
    rc = sqlite3StreamStorageReset(p, pStmt, pzErr);
  }
  if( rc ){
    sqlite3_free(*pzOut);
    *pzOut = 0;
  }
  return rc;
}

int sqlite3StreamCatLogStart(StreamCtx *p, const char *zTopic, i64 iPart,
                             i64 *piOut, int *pbFound, char **pzErr){
  return streamCatInt(p, STREAM_CAT_LOG_START, zTopic, 0, iPart, piOut,
                      pbFound, pzErr);
}

int sqlite3StreamCatCommitted(StreamCtx *p, const char *zGroup,
                              const char *zTopic, i64 iPart, i64 *piOut,
                              int *pbFound, char **pzErr){
  return streamCatInt(p, STREAM_CAT_COMMITTED_GET, zGroup, zTopic, iPart,
                      piOut, pbFound, pzErr);
}

int sqlite3StreamCatMetaSet(StreamCtx *p, const char *zKey,
                            const char *zValue, char **pzErr){
  return streamCatRun(p, zValue ? STREAM_CAT_META_SET : STREAM_CAT_META_DELETE,
                      zKey, zValue, 0, 0, 0, 0, 0, pzErr);
}

int sqlite3StreamCatGeneration(StreamCtx *p, const char *zGroup, int *peType,
                               i64 *piGen, char **pzErr){
  *peType = SQLITE_NULL;
  *piGen = 0;
  return streamCatRun(p, STREAM_CAT_GENERATION, zGroup, 0, 0, 0, 0, peType,
                      piGen, pzErr);
}

int sqlite3StreamCatMembersExpire(StreamCtx *p, const char *zGroup, i64 iNow,
                                  int *pnDeleted, char **pzErr){
  sqlite3_stmt *pStmt = sqlite3StreamCatStmt(p, STREAM_CAT_MEMBER_EXPIRE,
                                             pzErr);
  int rc;
  *pnDeleted = 0;
  if( pStmt==0 ){
    return sqlite3StreamNoStorage(p->db) ? SQLITE_OK : sqlite3StreamStmtErr(p);
  }
  sqlite3_bind_text(pStmt, 1, zGroup, -1, SQLITE_STATIC);
  sqlite3_bind_int64(pStmt, 2, iNow);
  sqlite3_step(pStmt);
  rc = sqlite3StreamStorageReset(p, pStmt, pzErr);
  if( rc==SQLITE_OK ) *pnDeleted = sqlite3_changes(p->db);
  return rc;
}

int sqlite3StreamCatOwns(StreamCtx *p, const char *zGroup, const char *zMember,
                         const char *zTopic, i64 iPart, int *pbOwns,
                         char **pzErr){
  int rc;
  *pbOwns = 0;
  rc = streamCatRun(p, STREAM_CAT_OWNS, zGroup, zTopic, iPart, zMember,
                    pbOwns, 0, 0, pzErr);
  if( rc ) *pbOwns = 0;
  return rc;
}

/* Run eCat with ?1 group, ?2 topic, ?3 partition and the integer ?4;
** *pbRow (if not NULL): whether a row came back. */
static int streamCatPartRun(StreamCtx *p, int eCat, const char *zGroup,
                            const char *zTopic, i64 iPart, i64 i4, int *pbRow,
                            char **pzErr){
  sqlite3_stmt *pStmt = sqlite3StreamCatStmt(p, eCat, pzErr);
  int bRow;
  if( pbRow ) *pbRow = 0;
  if( pStmt==0 ) return sqlite3StreamStmtErr(p);
  streamCatBind(pStmt, zGroup, zTopic, iPart, 0);
  sqlite3_bind_int64(pStmt, 4, i4);
  bRow = sqlite3_step(pStmt)==SQLITE_ROW;
  if( pbRow ) *pbRow = bRow;
  return sqlite3StreamStorageReset(p, pStmt, pzErr);
}

int sqlite3StreamCatPositionSet(StreamCtx *p, const char *zGroup,
                                const char *zTopic, i64 iPart, i64 iMark,
                                char **pzErr){
  return streamCatPartRun(p, STREAM_CAT_POSITION_SET, zGroup, zTopic, iPart,
                          iMark, 0, pzErr);
}

/* Bind the settings columns ?4..?9 of STREAM_CAT_TOPIC_INSERT/UPDATE. */
static void streamCatBindSettings(sqlite3_stmt *pStmt,
                                  const StreamTopicConfig *pCfg){
  sqlite3_bind_int64(pStmt, 4, pCfg->maxMessageBytes);
  sqlite3_bind_int(pStmt, 5, pCfg->eTimestampType);
  sqlite3_bind_int(pStmt, 6, pCfg->eCompression);
  sqlite3_bind_int(pStmt, 7, pCfg->eCleanup);
  sqlite3_bind_int64(pStmt, 8, pCfg->backpressureMaxLag);
  sqlite3_bind_int64(pStmt, 9, pCfg->eBackpressurePolicy ? pCfg->maxBlockMs
                                                          : (i64)-1);
}

/* Run eCat (a write on _stream_topics) for zName with ?2 zNorm, ?3 n and,
** with pCfg, the settings and ?10 iNow. */
static int streamCatTopicWrite(StreamCtx *p, int eCat, const char *zName,
                               const char *zNorm, i64 n,
                               const StreamTopicConfig *pCfg, i64 iNow,
                               char **pzErr){
  sqlite3_stmt *pStmt = sqlite3StreamCatStmt(p, eCat, pzErr);
  if( pStmt==0 ) return sqlite3StreamStmtErr(p);
  sqlite3_bind_text(pStmt, 1, zName, -1, SQLITE_STATIC);
  if( zNorm ) sqlite3_bind_text(pStmt, 2, zNorm, -1, SQLITE_STATIC);
  if( sqlite3_bind_parameter_count(pStmt)>=3 ) sqlite3_bind_int64(pStmt, 3, n);
  if( pCfg ){
    streamCatBindSettings(pStmt, pCfg);
    if( sqlite3_bind_parameter_count(pStmt)>=10 ){
      sqlite3_bind_int64(pStmt, 10, iNow);
    }
  }
  sqlite3_step(pStmt);
  return sqlite3StreamStorageReset(p, pStmt, pzErr);
}

int sqlite3StreamCatTopicInsert(StreamCtx *p, const char *zName, i64 nPart,
                                const char *zNorm,
                                const StreamTopicConfig *pCfg, i64 iNow,
                                char **pzErr){
  return streamCatTopicWrite(p, STREAM_CAT_TOPIC_INSERT, zName, zNorm, nPart,
                             pCfg, iNow, pzErr);
}

int sqlite3StreamCatTopicUpdate(StreamCtx *p, const char *zName,
                                const char *zNorm,
                                const StreamTopicConfig *pCfg, char **pzErr){
  return streamCatTopicWrite(p, STREAM_CAT_TOPIC_UPDATE, zName, zNorm, 0,
                             pCfg, 0, pzErr);
}

int sqlite3StreamCatTopicGrow(StreamCtx *p, const char *zName, i64 nTotal,
                              char **pzErr){
  return streamCatTopicWrite(p, STREAM_CAT_TOPIC_GROW, zName, 0, nTotal, 0, 0,
                             pzErr);
}

int sqlite3StreamCatPartitionMaxId(StreamCtx *p, i64 *piMax, char **pzErr){
  sqlite3_stmt *pStmt = sqlite3StreamCatStmt(p, STREAM_CAT_PARTITION_MAX_ID,
                                             pzErr);
  *piMax = 0;
  if( pStmt==0 ) return sqlite3StreamStmtErr(p);
  if( sqlite3_step(pStmt)==SQLITE_ROW ) *piMax = sqlite3_column_int64(pStmt, 0);
  return sqlite3StreamStorageReset(p, pStmt, pzErr);
}

int sqlite3StreamCatPartitionsAdd(StreamCtx *p, const char *zName, i64 iFrom,
                                  i64 iTo, i64 iId0, char **pzErr){
  return sqlite3StreamCatRun(p, STREAM_CAT_PARTITIONS_ADD, pzErr, "tiii",
                             zName, iFrom, iTo, iId0);
}

int sqlite3StreamCatTopicConfig(StreamCtx *p, const char *zName,
                                char **pzConfig, char **pzErr){
  return streamCatText(p, STREAM_CAT_TOPIC_CONFIG, zName, 0, 0, pzConfig, 0,
                       pzErr);
}

int sqlite3StreamCatTopicCollides(StreamCtx *p, const char *zName,
                                  char **pzOther, char **pzErr){
  return streamCatText(p, STREAM_CAT_TOPIC_COLLIDES, zName, 0, 0, pzOther, 0,
                       pzErr);
}

int sqlite3StreamCatTopicRow(StreamCtx *p, const char *zTopic,
                             StreamTopicConfig *pCfg, int *pnPart,
                             i64 *piInc, char **pzErr){
  sqlite3_stmt *pStmt = sqlite3StreamCatStmt(p, STREAM_CAT_TOPIC_ROW, pzErr);
  int rc;
  if( pStmt==0 ){
    if( !sqlite3StreamNoStorage(p->db) ) return sqlite3StreamStmtErr(p);
    sqlite3StreamStmtErr(p);                  /* (clears the saved code) */
    return sqlite3StreamTopicMissing(zTopic, pzErr);
  }
  sqlite3_bind_text(pStmt, 1, zTopic, -1, SQLITE_STATIC);
  if( sqlite3_step(pStmt)==SQLITE_ROW ){
    int nPart = 0;
    rc = sqlite3StreamPartitionCount(zTopic, pStmt, 1, &nPart, pzErr);
    if( pnPart ) *pnPart = nPart;
    if( piInc ) *piInc = sqlite3_column_int64(pStmt, 2);
    if( rc==SQLITE_OK ){
      rc = sqlite3StreamConfigParse(pCfg,
          (const char*)sqlite3_column_text(pStmt, 0), 0, pzErr);
    }
    sqlite3_reset(pStmt);
    return rc;
  }
  rc = sqlite3StreamStorageReset(p, pStmt, pzErr);
  if( rc ) return rc;
  return sqlite3StreamTopicMissing(zTopic, pzErr);
}

int sqlite3StreamCatRun(StreamCtx *p, int eCat, char **pzErr,
                        const char *zTypes, ...){
  sqlite3_stmt *pStmt = sqlite3StreamCatStmt(p, eCat, pzErr);
  va_list ap;
  int i, rc = SQLITE_OK;
  if( pStmt==0 ) return sqlite3StreamStmtErr(p);
  va_start(ap, zTypes);
  for(i=0; zTypes[i] && rc==SQLITE_OK; i++){
    /* Text is bound SQLITE_STATIC: the caller's strings outlive the step.
    ** A failed bind fails the statement: run with a NULL parameter, a
    ** DELETE ... WHERE topic=? would change nothing and report success. */
    if( zTypes[i]=='t' ){
      const char *z = va_arg(ap, const char*);
      rc = sqlite3_bind_text(pStmt, i+1, z, -1, SQLITE_STATIC);
    }else{
      rc = sqlite3_bind_int64(pStmt, i+1, va_arg(ap, i64));
    }
  }
  va_end(ap);
  if( rc ){
    sqlite3_reset(pStmt);
    return sqlite3StreamDbErr(p->db, pzErr, rc);
  }
  while( sqlite3_step(pStmt)==SQLITE_ROW ){}
  return sqlite3StreamStorageReset(p, pStmt, pzErr);
}

int sqlite3StreamCatGroupStrategy(StreamCtx *p, const char *zGroup,
                                  const char *zMember, char **pzStrategy,
                                  int *pnOthers, char **pzErr){
  return streamCatText(p, STREAM_CAT_GROUP_STRATEGY, zGroup, zMember, 0,
                       pzStrategy, pnOthers, pzErr);
}

int sqlite3StreamCatMemberCount(StreamCtx *p, const char *zGroup, int *pn,
                                char **pzErr){
  i64 n = 0;
  int bFound = 0;
  int rc = streamCatInt(p, STREAM_CAT_MEMBER_COUNT, zGroup, 0, 0, &n, &bFound,
                        pzErr);
  *pn = (int)n;
  return rc;
}

int sqlite3StreamCatMemberIncarnation(StreamCtx *p, const char *zGroup,
                                      const char *zMember, i64 *piInc,
                                      int *pbFound, char **pzErr){
  return streamCatInt(p, STREAM_CAT_MEMBER_INCARNATION, zGroup, zMember, 0,
                      piInc, pbFound, pzErr);
}

int sqlite3StreamCatMemberAssignment(StreamCtx *p, const char *zGroup,
                                     const char *zMember, char **pzOut,
                                     char **pzErr){
  int rc = streamCatText(p, STREAM_CAT_MEMBER_ASSIGNMENT, zGroup, zMember, 0,
                         pzOut, 0, pzErr);
  return rc ? streamCatNoStorage(p, rc, pzErr) : SQLITE_OK;
}

int sqlite3StreamCatJoinAnswer(StreamCtx *p, const char *zGroup,
                               const char *zAssign, char **pzOut,
                               char **pzErr){
  return streamCatText(p, STREAM_CAT_JOIN_ANSWER, zGroup, zAssign, 0, pzOut,
                       0, pzErr);
}

int sqlite3StreamCatOwner(StreamCtx *p, const char *zGroup, const char *zTopic,
                          i64 iPart, char **pzOut, char **pzErr){
  return streamCatText(p, STREAM_CAT_OWNER, zGroup, zTopic, iPart, pzOut,
                       0, pzErr);
}

int sqlite3StreamCatOffsetGroup(StreamCtx *p, i64 iRowid, char **pzGroup,
                                char **pzErr){
  return streamCatText(p, STREAM_CAT_OFFSET_GROUP, 0, 0, iRowid, pzGroup, 0,
                       pzErr);
}

int sqlite3StreamCatOffsetRowIs(StreamCtx *p, i64 iRowid, const char *zGroup,
                                const char *zTopic, i64 iPart, int *pbSame,
                                char **pzErr){
  int rc = streamCatPartRun(p, STREAM_CAT_OFFSET_ROW_IS, zGroup, zTopic,
                            iPart, iRowid, pbSame, pzErr);
  if( rc ) *pbSame = 0;
  return rc;
}

int sqlite3StreamCatTopicList(StreamCtx *p, const char *zTopic,
                              const char *zFlag, StreamStrList *pList,
                              char **pzErr){
  sqlite3_stmt *pStmt = sqlite3StreamCatStmt(p, STREAM_CAT_TOPIC_LIST, pzErr);
  if( pStmt==0 ) return streamCatNoStorage(p, sqlite3StreamStmtErr(p), pzErr);
  streamCatBind(pStmt, zTopic, zFlag, 0, 0);
  while( pList->rc==SQLITE_OK && sqlite3_step(pStmt)==SQLITE_ROW ){
    sqlite3StreamStrListAdd(pList, (const char*)sqlite3_column_text(pStmt, 0));
  }
  if( pList->rc ){
    sqlite3_reset(pStmt);
    return pList->rc;
  }
  return sqlite3StreamStorageReset(p, pStmt, pzErr);
}

/**************************************************************************
** The tiers' own tables and the one-off writes: the warm segment index as
** the warm tier scans, sweeps and drops it (and retention, compaction and
** stream_backup() read it), the cold tier's tables (_stream_cold,
** _stream_cold_orphans, _stream_cold_commits), the Pipelines watermark
** (_stream_pipeline), the _stream_meta writes of the units of work (the
** write lock, the database id) and a topic's delete, indexed by
** STREAM_AUX_*, with their accessors (sqlite3StreamAux*()).
**
** The cold and Pipelines tables are made on first use (their DDL is
** here too, run with sqlite3_exec()); until then, and in a database
** without storage, a read finds no row.
*/

/* The segment-index scan of the warm tier: ?1 topic (if T), ?2 partition
** (if P), ?3..?6 the offset and timestamp bounds; without T, ?7 and ?8
** bound the topics (inclusive: '' and an empty blob when unbounded), and
** ?9, ?10 are a strict bound's topic, left out (NULL: none);
** rows in (topic, partition, first_offset) order, reversed if D is
** " DESC".  Only segments of the topic's incarnation (not those of an
** earlier topic of the same name). */
#define STREAM_SEG_SCAN(T, P, D) \
  "SELECT s.topic, s.partition, s.location, s.first_offset," \
  " s.last_offset, s.messages, s.bytes, s.incarnation, t.max_message_bytes," \
  " s.store FROM _stream_segments s JOIN _stream_topics t ON t.name=s.topic" \
  " AND t.incarnation=s.incarnation" \
  " WHERE " T P "s.last_offset>=?3 AND s.first_offset<=?4" \
  " AND s.last_timestamp>=?5 AND s.first_timestamp<=?6" \
  " ORDER BY s.topic" D ", s.partition" D ", s.first_offset" D
#define STREAM_SEG_T "s.topic=?1 AND "
#define STREAM_SEG_R "s.topic>=?7 AND s.topic<=?8" \
  " AND s.topic IS NOT ?9 AND s.topic IS NOT ?10 AND "
#define STREAM_SEG_P "s.partition=?2 AND "

/* next_offset of a watermark table W (?1 topic, ?2 partition): a row of
** an earlier topic of the same name (another incarnation: deleted and
** created again) does not count. */
#define STREAM_WATERMARK(W) \
  "SELECT w.next_offset FROM " W " w" \
  " JOIN _stream_topics t ON t.name=w.topic AND t.incarnation=w.incarnation" \
  " WHERE w.topic=?1 AND w.partition=?2"

static const char *const aAuxSql[STREAM_AUX_COUNT] = {
  /* the segment-index scans, one per bit set of the scan (1 topic =,
  ** 2 partition =, 4 descending) */
  [STREAM_AUX_SEG_SCAN+0] = STREAM_SEG_SCAN(STREAM_SEG_R, "", ""),
  [STREAM_AUX_SEG_SCAN+1] = STREAM_SEG_SCAN(STREAM_SEG_T, "", ""),
  [STREAM_AUX_SEG_SCAN+2] = STREAM_SEG_SCAN(STREAM_SEG_R, STREAM_SEG_P, ""),
  [STREAM_AUX_SEG_SCAN+3] = STREAM_SEG_SCAN(STREAM_SEG_T, STREAM_SEG_P, ""),
  [STREAM_AUX_SEG_SCAN+4] = STREAM_SEG_SCAN(STREAM_SEG_R, "", " DESC"),
  [STREAM_AUX_SEG_SCAN+5] = STREAM_SEG_SCAN(STREAM_SEG_T, "", " DESC"),
  [STREAM_AUX_SEG_SCAN+6] = STREAM_SEG_SCAN(STREAM_SEG_R, STREAM_SEG_P,
                                            " DESC"),
  [STREAM_AUX_SEG_SCAN+7] = STREAM_SEG_SCAN(STREAM_SEG_T, STREAM_SEG_P,
                                            " DESC"),
  /* (in the database's store: a topic's own store is no legacy store) */
  [STREAM_AUX_SEG_ANY] =
  "SELECT 1 FROM _stream_segments WHERE store IS NULL LIMIT 1",
  /* ?1 topic, ?2 partition */
  [STREAM_AUX_SEG_PART_ANY] =
  "SELECT 1 FROM _stream_segments WHERE topic=?1 AND partition=?2"
  " LIMIT 1",
  /* the rows of deleted (or deleted and re-created) topics */
  [STREAM_AUX_SEG_DELETE_DEAD] =
  "DELETE FROM _stream_segments AS s WHERE NOT EXISTS"
  " (SELECT 1 FROM _stream_topics t WHERE t.name=s.topic"
  "  AND t.incarnation=s.incarnation)",
  /* ?1 location */
  [STREAM_AUX_SEG_AT] =
  "SELECT 1 FROM _stream_segments WHERE location=?1",
  /* ?1 topic */
  [STREAM_AUX_SEG_DROP_TOPIC] =
  "DELETE FROM _stream_segments WHERE topic=?1",
  /* ?1 topic */
  [STREAM_AUX_SEG_TOPIC_ANY] =
  "SELECT 1 FROM _stream_segments WHERE topic=?1 LIMIT 1",
  [STREAM_AUX_SEG_DEAD_ANY] =
  "SELECT 1 FROM _stream_segments AS s WHERE NOT EXISTS"
  " (SELECT 1 FROM _stream_topics t WHERE t.name=s.topic"
  "  AND t.incarnation=s.incarnation) LIMIT 1",
  /* Warm files no row names any more, kept for warm.file.delete.delay.ms
  ** after deleted_at (ext/warm_sweep.c); made on first use, in the
  ** transaction of the change that stopped naming a file (sqlite3_exec()) */
  [STREAM_AUX_WARM_DEFER_TABLE] =
  "CREATE TABLE IF NOT EXISTS _stream_warm_deleted("
  " location TEXT PRIMARY KEY NOT NULL, store TEXT,"
  " deleted_at INTEGER NOT NULL) WITHOUT ROWID",
  /* ?1 location, ?2 store (NULL: the database's), ?3 deleted_at */
  [STREAM_AUX_WARM_DEFER_PUT] =
  "INSERT OR REPLACE INTO _stream_warm_deleted(location, store, deleted_at)"
  " VALUES(?1, ?2, ?3)",
  /* ?1 topic, ?2 deleted_at (before STREAM_AUX_SEG_DROP_TOPIC) */
  [STREAM_AUX_WARM_DEFER_TOPIC] =
  "INSERT OR REPLACE INTO _stream_warm_deleted(location, store, deleted_at)"
  " SELECT location, store, ?2 FROM _stream_segments WHERE topic=?1",
  /* ?1 deleted_at (before STREAM_AUX_SEG_DELETE_DEAD) */
  [STREAM_AUX_WARM_DEFER_DEAD] =
  "INSERT OR REPLACE INTO _stream_warm_deleted(location, store, deleted_at)"
  " SELECT location, store, ?1 FROM _stream_segments AS s WHERE NOT EXISTS"
  " (SELECT 1 FROM _stream_topics t WHERE t.name=s.topic"
  "  AND t.incarnation=s.incarnation)",
  /* ?1 location, ?2 the cutoff (now - delay): still held */
  [STREAM_AUX_WARM_DEFER_HELD] =
  "SELECT 1 FROM _stream_warm_deleted WHERE location=?1 AND deleted_at>?2",
  /* ?1 the cutoff */
  [STREAM_AUX_WARM_DEFER_DUE] =
  "DELETE FROM _stream_warm_deleted WHERE deleted_at<=?1",
  /* ?1 location: held, whether its delay has passed or not (a move
  ** never writes over it: ext/warm_move.c) */
  [STREAM_AUX_WARM_DEFER_AT] =
  "SELECT 1 FROM _stream_warm_deleted WHERE location=?1",
  /* location, bytes, store of every segment (stream_backup()) */
  [STREAM_AUX_SEG_FILES] =
  "SELECT location, bytes, store FROM _stream_segments ORDER BY location",
  /* ?1 topic: its own warm.store (NULL: the database's) */
  [STREAM_AUX_TOPIC_STORE] =
  "SELECT json_extract(config, '$.\"warm.store\"') FROM _stream_topics"
  " WHERE name=?1",
  /* every store other than warm.store that segments are or may be
  ** written to: the stores of segment rows, the topics' own */
  [STREAM_AUX_STORES] =
  "SELECT url FROM _stream_stores"
  " UNION SELECT store FROM _stream_segments WHERE store IS NOT NULL",
  /* ?1 a topic's config (JSON): remember its own warm.store */
  [STREAM_AUX_STORE_REMEMBER] =
  "INSERT OR IGNORE INTO _stream_stores(url)"
  " SELECT json_extract(?1, '$.\"warm.store\"')"
  " WHERE json_extract(?1, '$.\"warm.store\"') IS NOT NULL",
  /* ?1 topic, ?2 partition: the cleaner state (ext/compact.c) */
  [STREAM_AUX_CLEANER_GET] =
  "SELECT clean_offset, clean_count, coalesce(target_offset,-1),"
  " mark_offset, mark_at, horizon_offset, coalesce(cleaned_at,-1),"
  " removed, coalesce(size_offset,-1), size_bytes"
  " FROM _stream_cleaner WHERE topic=?1 AND partition=?2",
  /* a no-op write: takes the write lock, as BEGIN IMMEDIATE does */
  [STREAM_AUX_WRITE_LOCK] =
  "DELETE FROM _stream_meta WHERE key IS NULL",
  /* (the storage tables make one; this is for a database whose id was
  ** removed, e.g. a copy given a namespace of its own) */
  [STREAM_AUX_DB_ID_MAKE] =
  "INSERT OR IGNORE INTO _stream_meta(key, value)"
  " VALUES('database.id', lower(hex(randomblob(16))))",
  /* ?1 topic: a topic's delete, in this order */
  [STREAM_AUX_TOPIC_DELETE_LOG] =
  "DELETE FROM _stream_log WHERE id IN (SELECT m.id FROM"
  " _stream_partitions p, _stream_log m WHERE p.topic=?1 AND m.id"
  " BETWEEN p.id<<40 AND (p.id<<40)+" STREAM_LOG_M ")",
  [STREAM_AUX_TOPIC_DELETE_TIX] =
  "DELETE FROM _stream_timeindex WHERE pid IN"
  " (SELECT id FROM _stream_partitions WHERE topic=?1)",
  [STREAM_AUX_TOPIC_DELETE_PARTS] =
  "DELETE FROM _stream_partitions WHERE topic=?1",
  [STREAM_AUX_TOPIC_DELETE_OFFSETS] =
  "DELETE FROM _stream_offsets WHERE topic=?1",
  /* (a topic created again under the name starts without them: a
  ** producer's sequence 0 to it is no retry of a send to the old one) */
  [STREAM_AUX_TOPIC_DELETE_PRODUCERS] =
  "DELETE FROM _stream_producers WHERE topic=?1",
  /* (a new mark, negative as a rebalance's -(generation)-1 but far below
  ** any, and random, so it differs from every mark a connection holds:
  ** each member's position on the topic restarts from the committed
  ** offset, so the position reached in the old topic is not taken for one
  ** in a topic created again under the name) */
  [STREAM_AUX_TOPIC_DELETE_MARKS] =
  "UPDATE _stream_assignments"
  " SET position=-4611686018427387904-(random()&4611686018427387903)"
  " WHERE topic=?1",
  [STREAM_AUX_TOPIC_DELETE_TOPIC] =
  "DELETE FROM _stream_topics WHERE name=?1",
  /* the cold tier's tables (several statements: sqlite3_exec()) */
  [STREAM_AUX_COLD_TABLES] =
  "CREATE TABLE IF NOT EXISTS _stream_cold("
  " topic TEXT NOT NULL, partition INTEGER NOT NULL,"
  " next_offset INTEGER NOT NULL, incarnation INTEGER,"
  " PRIMARY KEY(topic, partition)) WITHOUT ROWID;"
  "CREATE TABLE IF NOT EXISTS _stream_cold_commits("
  " topic TEXT PRIMARY KEY NOT NULL, incarnation INTEGER,"
  " snapshot_id INTEGER, version INTEGER, committed_at INTEGER)"
  " WITHOUT ROWID;"
  "CREATE TABLE IF NOT EXISTS _stream_cold_orphans("
  " topic TEXT NOT NULL, key TEXT NOT NULL, seen_at INTEGER NOT NULL,"
  " PRIMARY KEY(topic, key)) WITHOUT ROWID;",
  /* ?1 topic, ?2 partition */
  [STREAM_AUX_COLD_NEXT] = STREAM_WATERMARK("_stream_cold"),
  /* ?1 topic, ?2 partition, ?3 next offset: the mirror of the table */
  [STREAM_AUX_COLD_MIRROR_SET] =
  "INSERT OR REPLACE INTO _stream_cold(topic, partition, next_offset,"
  " incarnation) VALUES(?1, ?2, ?3,"
  " (SELECT incarnation FROM _stream_topics WHERE name=?1))",
  /* ?1 topic, ?2 due (seen_at at or before it), ?3 limit: keys */
  [STREAM_AUX_COLD_ORPHANS_DUE] =
  "SELECT key FROM _stream_cold_orphans"
  " WHERE topic=?1 AND seen_at<=?2 ORDER BY seen_at, key LIMIT ?3",
  /* ?1 topic, ?2 key */
  [STREAM_AUX_COLD_ORPHAN_DROP] =
  "DELETE FROM _stream_cold_orphans WHERE topic=?1 AND key=?2",
  /* ?1 topic, ?2 key, ?3 seen_at */
  [STREAM_AUX_COLD_ORPHAN_PUT] =
  "INSERT OR REPLACE INTO _stream_cold_orphans(topic, key, seen_at)"
  " VALUES(?1, ?2, ?3)",
  /* ?1 topic, ?2 key, ?3 seen_at: a new orphan (a known one keeps its
  ** first sighting) */
  [STREAM_AUX_COLD_ORPHAN_ADD] =
  "INSERT OR IGNORE INTO _stream_cold_orphans(topic, key, seen_at)"
  " VALUES(?1, ?2, ?3)",
  /* ?1 topic */
  [STREAM_AUX_COLD_ORPHAN_COUNT] =
  "SELECT count(*) FROM _stream_cold_orphans WHERE topic=?1",
  /* ?1 topic, ?2 due */
  [STREAM_AUX_COLD_ORPHAN_DUE_COUNT] =
  "SELECT count(*) FROM _stream_cold_orphans WHERE topic=?1"
  " AND seen_at<=?2",
  /* ?1 topic, ?2 the orphans listed (a JSON array): the rows of files
  ** that are no longer orphans */
  [STREAM_AUX_COLD_ORPHANS_KEEP] =
  "DELETE FROM _stream_cold_orphans"
  " WHERE topic=?1 AND key NOT IN (SELECT value FROM json_each(?2))",
  /* ?1 topic */
  [STREAM_AUX_COLD_COMMITTED_AT] =
  "SELECT committed_at FROM _stream_cold_commits WHERE topic=?1",
  /* ?1 topic, ?2 incarnation, ?3 snapshot_id, ?4 version,
  ** ?5 committed_at */
  [STREAM_AUX_COLD_COMMIT_PUT] =
  "INSERT OR REPLACE INTO _stream_cold_commits"
  "(topic, incarnation, snapshot_id, version, committed_at)"
  " VALUES(?1, ?2, ?3, ?4, ?5)",
  /* the Pipelines sink's table (sqlite3_exec()) */
  [STREAM_AUX_PIPE_TABLE] =
  "CREATE TABLE IF NOT EXISTS _stream_pipeline("
  " topic TEXT NOT NULL, partition INTEGER NOT NULL,"
  " next_offset INTEGER NOT NULL, incarnation INTEGER,"
  " PRIMARY KEY(topic, partition)) WITHOUT ROWID",
  /* ?1 topic, ?2 partition */
  [STREAM_AUX_PIPE_NEXT] = STREAM_WATERMARK("_stream_pipeline"),
  /* ?1 topic, ?2 partition, ?3 next offset: a delivery (a row of an
  ** earlier topic of the same name is replaced) */
  [STREAM_AUX_PIPE_NEXT_SET] =
  "INSERT INTO _stream_pipeline(topic, partition, next_offset, incarnation)"
  " VALUES(?1, ?2, ?3, (SELECT incarnation FROM _stream_topics"
  " WHERE name=?1))"
  " ON CONFLICT(topic, partition) DO UPDATE SET next_offset ="
  " CASE WHEN incarnation IS excluded.incarnation"
  " THEN max(next_offset, excluded.next_offset)"
  " ELSE excluded.next_offset END, incarnation=excluded.incarnation",
};

sqlite3_stmt *sqlite3StreamAuxStmt(StreamCtx *p, int eAux, char **pzErr){
  return sqlite3StreamStmtStatic(p, aAuxSql[eAux], pzErr);
}

int sqlite3StreamAuxPrepare(StreamCtx *p, int eAux, unsigned int mFlags,
                            sqlite3_stmt **ppStmt){
  return sqlite3_prepare_v3(p->db, aAuxSql[eAux], -1, mFlags, ppStmt, 0);
}

int sqlite3StreamAuxExec(StreamCtx *p, int eAux, char **pzErr){
  int rc = sqlite3_exec(p->db, aAuxSql[eAux], 0, 0, 0);
  return rc ? sqlite3StreamDbErr(p->db, pzErr, rc) : SQLITE_OK;
}

/* Bind the parameters of pStmt in order from ap, as zTypes says: 't' a
** const char* (NULL binds NULL), 'i' an i64.  A failed bind is the
** statement's failure (a value silently NULL would be a wrong answer). */
static int streamAuxBind(StreamCtx *p, sqlite3_stmt *pStmt,
                         const char *zTypes, va_list ap, char **pzErr){
  int i, rc = SQLITE_OK;
  for(i=0; zTypes[i] && rc==SQLITE_OK; i++){
    if( zTypes[i]=='t' ){
      rc = sqlite3_bind_text(pStmt, i+1, va_arg(ap, const char*), -1,
                             SQLITE_STATIC);
    }else{
      rc = sqlite3_bind_int64(pStmt, i+1, va_arg(ap, i64));
    }
  }
  if( rc ){
    sqlite3_reset(pStmt);
    return sqlite3StreamDbErr(p->db, pzErr, rc);
  }
  return SQLITE_OK;
}

/* Run eAux bound from ap: every row is stepped; *piOut (if not NULL) gets
** the first column of the first row unless NULL, pList (if not NULL) the
** text of the first column of every row.  With bRead, a table not made
** yet (or no storage) reads as no row. */
static int streamAuxRunV(StreamCtx *p, int eAux, int bRead, i64 *piOut,
                         StreamStrList *pList, char **pzErr,
                         const char *zTypes, va_list ap){
  sqlite3_stmt *pStmt = sqlite3StreamAuxStmt(p, eAux, pzErr);
  int rc, bFirst = 1;
  if( pStmt==0 ){
    rc = sqlite3StreamStmtErr(p);
    return bRead ? sqlite3StreamAuxNoStorage(p, rc, pzErr) : rc;
  }
  rc = streamAuxBind(p, pStmt, zTypes, ap, pzErr);
  if( rc ) return rc;
  while( sqlite3_step(pStmt)==SQLITE_ROW ){
    if( bFirst && piOut && sqlite3_column_type(pStmt, 0)!=SQLITE_NULL ){
      *piOut = sqlite3_column_int64(pStmt, 0);
    }
    bFirst = 0;
    if( pList ){
      sqlite3StreamStrListAdd(pList, (const char*)sqlite3_column_text(pStmt,
                                                                      0));
      if( pList->rc ){
        sqlite3_reset(pStmt);
        return pList->rc;
      }
    }else if( piOut ){
      break;
    }
  }
  rc = sqlite3StreamStorageReset(p, pStmt, pzErr);
  /* (A statement prepared while the table existed finds it gone if the
  ** transaction that made it rolled back.) */
  return rc && bRead ? sqlite3StreamAuxNoStorage(p, rc, pzErr) : rc;
}

int sqlite3StreamAuxRun(StreamCtx *p, int eAux, char **pzErr,
                        const char *zTypes, ...){
  va_list ap;
  int rc;
  va_start(ap, zTypes);
  rc = streamAuxRunV(p, eAux, 0, 0, 0, pzErr, zTypes, ap);
  va_end(ap);
  return rc;
}

int sqlite3StreamAuxInt(StreamCtx *p, int eAux, i64 *piOut, char **pzErr,
                        const char *zTypes, ...){
  va_list ap;
  int rc;
  va_start(ap, zTypes);
  rc = streamAuxRunV(p, eAux, 1, piOut, 0, pzErr, zTypes, ap);
  va_end(ap);
  return rc;
}

int sqlite3StreamAuxList(StreamCtx *p, int eAux, StreamStrList *pList,
                         char **pzErr, const char *zTypes, ...){
  va_list ap;
  int rc;
  va_start(ap, zTypes);
  rc = streamAuxRunV(p, eAux, 1, 0, pList, pzErr, zTypes, ap);
  va_end(ap);
  return rc;
}

int sqlite3StreamAuxNoStorage(StreamCtx *p, int rc, char **pzErr){
  /* (Out of memory, say, is never taken for a missing table.) */
  return (rc&0xff)==SQLITE_ERROR ? streamCatNoStorage(p, rc, pzErr) : rc;
}

int sqlite3StreamWriteLock(StreamCtx *p, char **pzErr){
  return sqlite3StreamAuxRun(p, STREAM_AUX_WRITE_LOCK, pzErr, "");
}

int sqlite3StreamDbId(StreamCtx *p, int bCreate, char **pzId, char **pzErr){
  int rc = SQLITE_OK;
  *pzId = sqlite3StreamMetaGet(p, "database.id", &rc);
  if( rc ) return sqlite3StreamDbErr(p->db, pzErr, rc);
  if( *pzId || !bCreate ) return SQLITE_OK;
  rc = sqlite3StreamAuxRun(p, STREAM_AUX_DB_ID_MAKE, pzErr, "");
  if( rc ) return rc;
  *pzId = sqlite3StreamMetaGet(p, "database.id", &rc);
  return rc ? sqlite3StreamDbErr(p->db, pzErr, rc) : SQLITE_OK;
}

int sqlite3StreamAuxTopicDelete(StreamCtx *p, const char *zName,
                                char **pzErr){
  int e, rc = SQLITE_OK;
  for(e=STREAM_AUX_TOPIC_DELETE_LOG;
      e<=STREAM_AUX_TOPIC_DELETE_TOPIC && rc==SQLITE_OK; e++){
    rc = sqlite3StreamAuxRun(p, e, pzErr, "t", zName);
  }
  return rc;
}

int sqlite3StreamWatermark(StreamCtx *p, int bPipeline, const char *zTopic,
                           int iPart, i64 *piNext, char **pzErr){
  *piNext = 0;                    /* nothing done yet: hold everything */
  return sqlite3StreamAuxInt(p, bPipeline ? STREAM_AUX_PIPE_NEXT
                                          : STREAM_AUX_COLD_NEXT,
                             piNext, pzErr, "ti", zTopic, (i64)iPart);
}

int sqlite3StreamBackupOneStore(sqlite3 *db, char **pzErr){
  int rc = sqlite3_exec(db,
      "UPDATE _stream_segments SET store=NULL WHERE store IS NOT NULL;"
      "UPDATE _stream_topics SET config=json_remove(config,"
      " '$.\"warm.store\"') WHERE json_extract(config, '$.\"warm.store\"')"
      " IS NOT NULL;"
      "DELETE FROM _stream_stores;", 0, 0, 0);
  return rc ? sqlite3StreamDbErr(db, pzErr, rc) : SQLITE_OK;
}

int sqlite3StreamMetaSetOn(sqlite3 *db, const char *zKey, const char *zValue,
                           char **pzErr){
  sqlite3_stmt *pStmt = 0;
  int rc = sqlite3_prepare_v2(db, aCatSql[STREAM_CAT_META_SET], -1, &pStmt,
                              0);
  if( rc==SQLITE_OK ) rc = sqlite3_bind_text(pStmt, 1, zKey, -1,
                                             SQLITE_STATIC);
  if( rc==SQLITE_OK ) rc = sqlite3_bind_text(pStmt, 2, zValue, -1,
                                             SQLITE_STATIC);
  if( rc==SQLITE_OK ) sqlite3_step(pStmt);
  if( rc==SQLITE_OK ){
    rc = sqlite3_finalize(pStmt);
  }else{
    sqlite3_finalize(pStmt);
  }
  return rc ? sqlite3StreamDbErr(db, pzErr, rc) : SQLITE_OK;
}

/**************************************************************************
** The hot log: the statements the append path, the idempotent producers,
** backpressure and the time index run on _stream_log, _stream_timeindex
** and _stream_producers (indexed by STREAM_HOT_*, prepared once per
** connection in StreamCtx.aHot[]), their typed accessors
** (sqlite3StreamHot*()), and the SQL of the scan's hot query
** (sqlite3StreamHotScanSql(), one statement per plan, kept by
** ext/scan.c).
*/
static const struct {
  const char *zSql;
  int bRead;                   /* reads _stream_log or _stream_timeindex:
                               ** pending record batches are written first */
} aHotSql[STREAM_HOT_COUNT] = {
  /* ?1 topic, ?2 partition: high watermark, id */
  [STREAM_HOT_HWM] = {
  "SELECT " STREAM_HWM_SQL("p.id", "p.next_offset") ", p.id"
  " FROM _stream_partitions p WHERE p.topic=?1 AND p.partition=?2", 1 },
  /* ?1 id, ?2 key, ?3 value, ?4 headers, ?5 timestamp, ?6 attrs */
  [STREAM_HOT_APPEND] = {
  "INSERT INTO _stream_log(id, key, value, headers, timestamp, attrs)"
  " VALUES(?1,?2,?3,?4,?5,?6)", 0 },
  /* ?1 topic, ?2 partition */
  [STREAM_HOT_FIRST] = {
  "SELECT " STREAM_LOG_OFF " FROM _stream_log WHERE " STREAM_LOG_ALL
  " ORDER BY id LIMIT 1", 1 },
  /* ?1 topic, ?2 partition, ?3 group: high watermark, committed offset */
  [STREAM_HOT_AVAILABLE] = {
  "SELECT " STREAM_HWM_SQL_BOUND ", (SELECT offset FROM _stream_offsets"
  " WHERE group_id=?3 AND topic=?1 AND partition=?2)", 1 },
  /* ?1 producer, ?2 topic */
  [STREAM_HOT_PRODUCER_LAST] = {
  "SELECT max(seq) FROM _stream_producers WHERE producer_id=?1 AND topic=?2",
  0 },
  /* ?1 producer, ?2 topic, ?3 seq: partition, offset */
  [STREAM_HOT_PRODUCER_GET] = {
  "SELECT partition, offset FROM _stream_producers"
  " WHERE producer_id=?1 AND topic=?2 AND seq=?3", 0 },
  /* ?1 producer, ?2 topic, ?3 seq, ?4 partition, ?5 offset, ?6 batch_seq */
  [STREAM_HOT_PRODUCER_PUT] = {
  "INSERT INTO _stream_producers(producer_id, topic, seq, partition, offset,"
  " batch_seq) VALUES(?1,?2,?3,?4,?5,?6)", 0 },
  /* ?1 producer, ?2 topic, ?3 batches kept */
  [STREAM_HOT_PRODUCER_TRIM] = {
  "DELETE FROM _stream_producers WHERE producer_id=?1 AND topic=?2"
  " AND coalesce(batch_seq, seq)<(SELECT min(b) FROM"
  "  (SELECT DISTINCT coalesce(batch_seq, seq) AS b FROM _stream_producers"
  "   WHERE producer_id=?1 AND topic=?2 ORDER BY b DESC LIMIT ?3))", 0 },
  /* ?1 topic, ?2 partition: group, committed */
  [STREAM_HOT_SLOWEST_GROUP] = {
  "SELECT g.group_id, coalesce(o.offset, p.log_start_offset) AS committed"
  " FROM (SELECT DISTINCT m.group_id FROM _stream_members m,"
  "   json_each(m.topics) j WHERE j.value=?1) g"
  " JOIN _stream_partitions p ON p.topic=?1 AND p.partition=?2"
  " LEFT JOIN _stream_offsets o ON o.group_id=g.group_id AND o.topic=?1"
  "   AND o.partition=?2"
  " ORDER BY committed, g.group_id LIMIT 1", 0 },
  /* ?1 partition id: the newest time index entry, timestamp and offset
  ** (the append path's: pending batches never hold index entries) */
  [STREAM_HOT_TIX_LAST] = {
  "SELECT timestamp, offset FROM _stream_timeindex WHERE pid=?1"
  " ORDER BY timestamp DESC, offset DESC LIMIT 1", 0 },
  /* ?1, ?2 rowids: the largest timestamp of the messages in [?1, ?2]
  ** (from the row before ?1, which may be a batch holding ?1: its
  ** timestamp is its records' largest, so the result may be larger than
  ** the exact one, never smaller).  The append path's, which adds the
  ** partition's pending batch itself (writing every pending batch out at
  ** each partition's first index entry of a connection cut them short). */
  [STREAM_HOT_TIX_MAX] = {
  "SELECT max(timestamp) FROM _stream_log WHERE id BETWEEN coalesce((SELECT"
  " max(id) FROM _stream_log WHERE id BETWEEN (?1>>40)<<40 AND ?1), ?1)"
  " AND ?2", 0 },
  /* ?1 partition id, ?2 timestamp, ?3 offset */
  [STREAM_HOT_TIX_PUT] = {
  "INSERT INTO _stream_timeindex(pid, timestamp, offset) VALUES(?1,?2,?3)",
  0 },
};

sqlite3_stmt *sqlite3StreamHotStmt(StreamCtx *p, int eHot, char **pzErr){
  return sqlite3StreamStmtCached(p, &p->aHot[eHot], aHotSql[eHot].zSql,
                                 aHotSql[eHot].bRead, pzErr);
}

/* Bind a key, value or headers field of a row. */
static void streamHotBind(sqlite3_stmt *pStmt, int i, int eType,
                          const void *pData, int n){
  if( eType==SQLITE_TEXT ){
    sqlite3_bind_text(pStmt, i, pData, n, SQLITE_STATIC);
  }else if( eType==SQLITE_BLOB ){
    sqlite3_bind_blob(pStmt, i, pData ? pData : "", n, SQLITE_STATIC);
  }else{
    sqlite3_bind_null(pStmt, i);
  }
}

int sqlite3StreamHotAppend(StreamCtx *p, const StreamHotRow *pRow,
                           char **pzErr){
  sqlite3_stmt *pIns = sqlite3StreamHotStmt(p, STREAM_HOT_APPEND, pzErr);
  int rc;
  if( pIns==0 ) return sqlite3StreamStmtErr(p);
  sqlite3_bind_int64(pIns, 1, pRow->iId);
  if( pRow->eKey==SQLITE_INTEGER ){
    sqlite3_bind_int64(pIns, 2, pRow->iKey);
  }else{
    streamHotBind(pIns, 2, pRow->eKey, pRow->pKey, pRow->nKey);
  }
  streamHotBind(pIns, 3, pRow->eValue, pRow->pValue, pRow->nValue);
  streamHotBind(pIns, 4, pRow->eHeaders, pRow->pHeaders, pRow->nHeaders);
  sqlite3_bind_int64(pIns, 5, pRow->iTimestamp);
  sqlite3_bind_int(pIns, 6, pRow->attrs);
  sqlite3_step(pIns);
  rc = sqlite3_reset(pIns);
  /* The message first: a successful bind clears the connection's error. */
  if( rc ) rc = sqlite3StreamDbErr(p->db, pzErr, rc);
  /* The caller's buffers are not referenced beyond the call. */
  sqlite3_bind_null(pIns, 2);
  sqlite3_bind_null(pIns, 3);
  sqlite3_bind_null(pIns, 4);
  return rc;
}

int sqlite3StreamHotPosition(StreamCtx *p, const char *zTopic, int iPart,
                             i64 *piHwm, i64 *piPid, char **pzErr){
  sqlite3_stmt *pStmt = sqlite3StreamHotStmt(p, STREAM_HOT_HWM, pzErr);
  int rc;
  *piHwm = 0;
  *piPid = 0;
  if( pStmt==0 ) return sqlite3StreamStmtErr(p);
  sqlite3_bind_text(pStmt, 1, zTopic, -1, SQLITE_STATIC);
  sqlite3_bind_int(pStmt, 2, iPart);
  if( sqlite3_step(pStmt)==SQLITE_ROW ){
    /* A damaged row (next_offset text, a real, INT64_MAX; an offset
    ** INT64_MAX, whose +1 SQLite makes a real) must not become an
    ** offset: the next message would overflow it. */
    i64 iHwm = sqlite3_column_int64(pStmt, 0), iPid;
    if( sqlite3_column_type(pStmt, 0)!=SQLITE_INTEGER
     || iHwm<0 || iHwm>STREAM_MAX_OFFSET ){
      const char *z = (const char*)sqlite3_column_text(pStmt, 0);
      char *zVal = sqlite3_mprintf("%.40s", z ? z : "NULL");
      sqlite3_reset(pStmt);
      rc = sqlite3StreamErr(pzErr, SQLITE_CORRUPT,
          "partition %s/%d is damaged: its next offset (_stream_partitions"
          ".next_offset, or the newest offset + 1) is %s, not an offset in"
          " 0..%lld", zTopic, iPart, zVal ? zVal : "?", STREAM_MAX_OFFSET);
      sqlite3_free(zVal);
      return rc;
    }
    *piHwm = iHwm;
    iPid = sqlite3_column_int64(pStmt, 1);
    if( sqlite3_column_type(pStmt, 1)==SQLITE_INTEGER
     && iPid>0 && iPid<=STREAM_MAX_PID ){
      *piPid = iPid;
    }
  }
  return sqlite3StreamStorageReset(p, pStmt, pzErr);
}

/* Step eHot, bound by the caller: *pbFound if a row came back whose first
** column is not NULL, then columns 0 and 1 in *pi0 and *pi1 (either may
** be NULL). */
static int streamHotInts(StreamCtx *p, sqlite3_stmt *pStmt, i64 *pi0,
                         i64 *pi1, int *pbFound, char **pzErr){
  int bFound = sqlite3_step(pStmt)==SQLITE_ROW
            && sqlite3_column_type(pStmt, 0)!=SQLITE_NULL;
  if( bFound && pi0 ) *pi0 = sqlite3_column_int64(pStmt, 0);
  if( bFound && pi1 ) *pi1 = sqlite3_column_int64(pStmt, 1);
  if( pbFound ) *pbFound = bFound;
  return sqlite3StreamStorageReset(p, pStmt, pzErr);
}

/* eHot with the text ?1, ?2 and the integer ?3 (where it has them). */
static sqlite3_stmt *streamHotBound(StreamCtx *p, int eHot, const char *z1,
                                    const char *z2, i64 i3, char **pzErr){
  sqlite3_stmt *pStmt = sqlite3StreamHotStmt(p, eHot, pzErr);
  if( pStmt ){
    sqlite3_bind_text(pStmt, 1, z1, -1, SQLITE_STATIC);
    sqlite3_bind_text(pStmt, 2, z2, -1, SQLITE_STATIC);
    if( sqlite3_bind_parameter_count(pStmt)>=3 ){
      sqlite3_bind_int64(pStmt, 3, i3);
    }
  }
  return pStmt;
}

/* Bind a[0..n-1] to ?i0.. of pStmt (NULL: an error already reported),
** run it, reset it. */
static int streamHotExec(StreamCtx *p, sqlite3_stmt *pStmt, int i0, int n,
                         const i64 *a, char **pzErr){
  int i;
  if( pStmt==0 ) return sqlite3StreamStmtErr(p);
  for(i=0; i<n; i++) sqlite3_bind_int64(pStmt, i0+i, a[i]);
  sqlite3_step(pStmt);
  return sqlite3StreamStorageReset(p, pStmt, pzErr);
}

int sqlite3StreamHotAvailable(StreamCtx *p, const char *zTopic, int iPart,
                              const char *zGroup, i64 *piHwm,
                              i64 *piCommitted, int *pbCommitted){
  sqlite3_stmt *pStmt = sqlite3StreamHotStmt(p, STREAM_HOT_AVAILABLE, 0);
  *piHwm = 0;
  *pbCommitted = 0;
  if( pStmt==0 ) return sqlite3StreamStmtErr(p);
  sqlite3_bind_text(pStmt, 1, zTopic, -1, SQLITE_STATIC);
  sqlite3_bind_int(pStmt, 2, iPart);
  sqlite3_bind_text(pStmt, 3, zGroup, -1, SQLITE_STATIC);
  if( sqlite3_step(pStmt)==SQLITE_ROW ){
    *piHwm = sqlite3_column_int64(pStmt, 0);
    if( sqlite3_column_type(pStmt, 1)!=SQLITE_NULL ){
      *piCommitted = sqlite3_column_int64(pStmt, 1);
      *pbCommitted = 1;
    }
  }
  return sqlite3_reset(pStmt);
}

int sqlite3StreamHotFirst(StreamCtx *p, const char *zTopic, i64 iPart,
                          i64 *piOffset, int *pbFound, char **pzErr){
  sqlite3_stmt *pStmt = sqlite3StreamHotStmt(p, STREAM_HOT_FIRST, pzErr);
  *pbFound = 0;
  if( pStmt==0 ) return sqlite3StreamStmtErr(p);
  sqlite3_bind_text(pStmt, 1, zTopic, -1, SQLITE_STATIC);
  sqlite3_bind_int64(pStmt, 2, iPart);
  return streamHotInts(p, pStmt, piOffset, 0, pbFound, pzErr);
}

int sqlite3StreamHotProducerLast(StreamCtx *p, const char *zProducer,
                                 const char *zTopic, i64 *piLast,
                                 char **pzErr){
  sqlite3_stmt *pStmt = streamHotBound(p, STREAM_HOT_PRODUCER_LAST, zProducer,
                                       zTopic, 0, pzErr);
  *piLast = -1;
  if( pStmt==0 ) return sqlite3StreamStmtErr(p);
  return streamHotInts(p, pStmt, piLast, 0, 0, pzErr);
}

int sqlite3StreamHotProducerGet(StreamCtx *p, const char *zProducer,
                                const char *zTopic, i64 iSeq,
                                i64 *piOffset, int *pbFound, char **pzErr){
  sqlite3_stmt *pStmt = streamHotBound(p, STREAM_HOT_PRODUCER_GET, zProducer,
                                       zTopic, iSeq, pzErr);
  *pbFound = 0;
  if( pStmt==0 ) return sqlite3StreamStmtErr(p);
  return streamHotInts(p, pStmt, 0, piOffset, pbFound, pzErr);
}

int sqlite3StreamHotProducerPut(StreamCtx *p, const char *zProducer,
                                const char *zTopic, i64 iSeq, i64 iPart,
                                i64 iOffset, i64 iBatchSeq, char **pzErr){
  i64 a[3];
  a[0] = iPart; a[1] = iOffset; a[2] = iBatchSeq;
  return streamHotExec(p, streamHotBound(p, STREAM_HOT_PRODUCER_PUT,
                       zProducer, zTopic, iSeq, pzErr), 4, 3, a, pzErr);
}

int sqlite3StreamHotProducerTrim(StreamCtx *p, const char *zProducer,
                                 const char *zTopic, int nWindow,
                                 char **pzErr){
  return streamHotExec(p, streamHotBound(p, STREAM_HOT_PRODUCER_TRIM,
                       zProducer, zTopic, nWindow, pzErr), 0, 0, 0, pzErr);
}

int sqlite3StreamHotSlowestGroup(StreamCtx *p, const char *zTopic, int iPart,
                                 char **pzGroup, i64 *piCommitted,
                                 char **pzErr){
  sqlite3_stmt *pStmt = sqlite3StreamHotStmt(p, STREAM_HOT_SLOWEST_GROUP,
                                             pzErr);
  int rc;
  *pzGroup = 0;
  *piCommitted = 0;
  if( pStmt==0 ) return sqlite3StreamStmtErr(p);
  sqlite3_bind_text(pStmt, 1, zTopic, -1, SQLITE_STATIC);
  sqlite3_bind_int(pStmt, 2, iPart);
  if( sqlite3_step(pStmt)==SQLITE_ROW ){
    *pzGroup = sqlite3_mprintf("%s", sqlite3_column_text(pStmt, 0));
    *piCommitted = sqlite3_column_int64(pStmt, 1);
    if( *pzGroup==0 ){
      sqlite3_reset(pStmt);
      return SQLITE_NOMEM;
    }
  }
  rc = sqlite3StreamStorageReset(p, pStmt, pzErr);
  if( rc ){
    sqlite3_free(*pzGroup);
    *pzGroup = 0;
  }
  return rc;
}

int sqlite3StreamHotTixLast(StreamCtx *p, i64 iPid, i64 *piTs, i64 *piOffset,
                            int *pbFound, char **pzErr){
  sqlite3_stmt *pStmt = sqlite3StreamHotStmt(p, STREAM_HOT_TIX_LAST, pzErr);
  *pbFound = 0;
  if( pStmt==0 ) return sqlite3StreamStmtErr(p);
  sqlite3_bind_int64(pStmt, 1, iPid);
  return streamHotInts(p, pStmt, piTs, piOffset, pbFound, pzErr);
}

int sqlite3StreamHotTixMax(StreamCtx *p, i64 iLo, i64 iHi, i64 *piTs,
                           int *pbFound, char **pzErr){
  sqlite3_stmt *pStmt = sqlite3StreamHotStmt(p, STREAM_HOT_TIX_MAX, pzErr);
  *pbFound = 0;
  if( pStmt==0 ) return sqlite3StreamStmtErr(p);
  sqlite3_bind_int64(pStmt, 1, iLo);
  sqlite3_bind_int64(pStmt, 2, iHi);
  return streamHotInts(p, pStmt, piTs, 0, pbFound, pzErr);
}

int sqlite3StreamHotTixPut(StreamCtx *p, i64 iPid, i64 iTs, i64 iOffset,
                           char **pzErr){
  i64 a[3];
  a[0] = iPid; a[1] = iTs; a[2] = iOffset;
  return streamHotExec(p, sqlite3StreamHotStmt(p, STREAM_HOT_TIX_PUT, pzErr),
                       1, 3, a, pzErr);
}

/*
** The scan's hot query: the SQL for one plan (ext/scan.c).  The hot log is
** read as _stream_partitions joined to the rowid range of each partition's messages in _stream_log
** (sql/schema.sql); each plan value is the parameter ?N of its position.
** An offset value restricts the rowid range (one lower and one upper
** bound, so that SQLite seeks by them) when it is a number; the exact
** comparison, with the INTEGER affinity of the seed's offset column, is
** always made too (CAST gives the expression that affinity).  A
** timestamp lower bound starts the range after the last time index entry
** below it (no message there can match).
*/
#define HOT_SCAN_OFF "CAST(m.id-(p.id<<40) AS INTEGER)"

/* The exact term of an offset bound ?iArg (operator zOp) and, in zOut (400
** bytes), the rowid range's bound for it: the value if a number (clamped
** to the partition), else no restriction.  With bInt (an integer value)
** the range is exact by itself: offsets lie in 0..STREAM_LOG_M, so
** "offset >= v" is "offset >= max(0,v)" and "offset <= v" is
** "offset <= min(STREAM_LOG_M,v)". */
static void streamScanOffTerm(sqlite3_str *p, char *zOut, int iArg,
                              const char *zOp, int bUpper, int bInt){
  if( bInt ){
    int bStrict = zOp[1]==0 && zOp[0]!='=';
    sqlite3_snprintf(400, zOut, "%s(%s,?%d%s)", bUpper ? "min" : "max",
        bUpper ? STREAM_LOG_M : "0", iArg,
        !bStrict ? "" : bUpper ? "-1" : "+1");
    return;
  }
  sqlite3_str_appendf(p, " AND (m.attrs&8 OR " HOT_SCAN_OFF "%s?%d)", zOp, iArg);
  sqlite3_snprintf(400, zOut, "%s(%s,%s(%s,CASE WHEN typeof(?%d) IN"
      " ('integer','real') THEN ?%d ELSE %s END))",
      bUpper ? "min" : "max", bUpper ? STREAM_LOG_M : "0",
      bUpper ? "max" : "min", bUpper ? "-1" : STREAM_LOG_M "+1",
      iArg, iArg, bUpper ? STREAM_LOG_M : "0");
}

char *sqlite3StreamHotScanSql(int idxNum){
  sqlite3_str *p = sqlite3_str_new(0);
  const char *zDir = (idxNum & STREAM_SCAN_DESC) ? " DESC" : "";
  char zLo[400], zHi[400], zTs[200];
  int iArg = 0, iTs;
  sqlite3_snprintf(sizeof(zLo), zLo, "0");
  sqlite3_snprintf(sizeof(zHi), zHi, "%s", STREAM_LOG_M);
  /* Per row only what is needed: with KEY_ARGS the topic and partition
  ** are the values ?1 and ?2 (no column of p read for every row: the
  ** range of m.id is one partition's, so its offset is m.id's low bits);
  ** a key or headers column the statement does not use is NULL (a batch
  ** row's records carry their own, in its value). */
  sqlite3_str_appendf(p, "SELECT %s, %s, m.value, %s, m.timestamp, m.attrs"
      " FROM _stream_partitions p JOIN _stream_log m WHERE 1",
      (idxNum & STREAM_SCAN_KEY_ARGS) ? "?1, ?2, m.id&" STREAM_LOG_M
                                 : "p.topic, p.partition, m.id-(p.id<<40)",
      (idxNum & STREAM_SCAN_NO_KEY) ? "NULL" : "m.key",
      (idxNum & STREAM_SCAN_NO_HDRS) ? "NULL" : "m.headers");
  if( idxNum & STREAM_SCAN_TOPIC ){
    sqlite3_str_appendf(p, " AND p.topic=?%d", ++iArg);
  }
  if( idxNum & STREAM_SCAN_PART ){
    sqlite3_str_appendf(p, " AND p.partition=?%d", ++iArg);
  }
  if( idxNum & STREAM_SCAN_OFF_EQ ){
    ++iArg;
    if( idxNum & STREAM_SCAN_INT_OFFSETS ){
      streamScanOffTerm(p, zLo, iArg, ">=", 0, 1);
      streamScanOffTerm(p, zHi, iArg, "<=", 1, 1);
    }else{
      sqlite3_str_appendf(p, " AND (m.attrs&8 OR " HOT_SCAN_OFF "=?%d)", iArg);
      sqlite3_snprintf(sizeof(zLo), zLo, "max(0,min(" STREAM_LOG_M ",CAST(?%d"
                       " AS INTEGER)))", iArg);
      sqlite3_snprintf(sizeof(zHi), zHi, "%s", zLo);
    }
  }
  if( idxNum & STREAM_SCAN_OFF_LO ){
    streamScanOffTerm(p, zLo, ++iArg,
                      (idxNum & STREAM_SCAN_OFF_LO_X) ? ">" : ">=", 0,
                      (idxNum & STREAM_SCAN_INT_OFFSETS)!=0);
  }
  if( idxNum & STREAM_SCAN_OFF_HI ){
    streamScanOffTerm(p, zHi, ++iArg,
                      (idxNum & STREAM_SCAN_OFF_HI_X) ? "<" : "<=", 1,
                      (idxNum & STREAM_SCAN_INT_OFFSETS)!=0);
  }
  iTs = 0;
  zTs[0] = 0;
  if( idxNum & STREAM_SCAN_TS_LO ){
    iTs = ++iArg;
    sqlite3_str_appendf(p, " AND m.timestamp%s?%d",
                        (idxNum & STREAM_SCAN_TS_LO_X) ? ">" : ">=", iArg);
    /* the walk starts after the last time index entry below the time */
    sqlite3_snprintf(sizeof(zTs), zTs, ",coalesce((SELECT offset+1 FROM"
        " _stream_timeindex WHERE pid=p.id AND timestamp%s?%d ORDER BY"
        " timestamp DESC, offset DESC LIMIT 1),0)",
        (idxNum & STREAM_SCAN_TS_LO_X) ? "<=" : "<", iTs);
  }
  if( idxNum & STREAM_SCAN_TS_HI ){
    sqlite3_str_appendf(p, " AND (m.attrs&8 OR m.timestamp%s?%d)",
                        (idxNum & STREAM_SCAN_TS_HI_X) ? "<" : "<=", ++iArg);
  }
  if( idxNum & STREAM_SCAN_TOPIC_LO ){
    sqlite3_str_appendf(p, " AND p.topic%s?%d",
                        (idxNum & STREAM_SCAN_TOPIC_LO_X) ? ">" : ">=", ++iArg);
  }
  if( idxNum & STREAM_SCAN_TOPIC_HI ){
    sqlite3_str_appendf(p, " AND p.topic%s?%d",
                        (idxNum & STREAM_SCAN_TOPIC_HI_X) ? "<" : "<=", ++iArg);
  }
  /* The range: one lower and one upper bound on m.id.  The lower bound
  ** is the row of the first offset wanted (X), or the record batch
  ** holding it: the row before X if it is a batch reaching X. */
  {
    char *zX = sqlite3_mprintf("((p.id<<40)+%s(%s%s))", iTs ? "max" : "",
        zLo, zTs);
    if( zX==0 ){
      sqlite3_free(sqlite3_str_finish(p));
      return 0;
    }
    sqlite3_str_appendf(p, " AND m.id>=coalesce((SELECT CASE WHEN c.attrs&8"
        " AND c.id+(c.key&255)>=%s THEN c.id END FROM _stream_log c WHERE"
        " c.id BETWEEN p.id<<40 AND %s ORDER BY c.id DESC LIMIT 1), %s)"
        " AND m.id<=(p.id<<40)+%s", zX, zX, zX, zHi);
    sqlite3_free(zX);
  }
  sqlite3_str_appendf(p, " ORDER BY p.topic%s, p.partition%s, m.id%s",
                      zDir, zDir, zDir);
  /* No LIMIT: it counts messages, not rows; the scan stops (nLimit). */
  return sqlite3_str_finish(p);
}
