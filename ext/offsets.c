/*
** offsets.c - committed offsets of consumer groups.
**
** Kafka's meaning: the committed offset is the next offset the group will
** read, so committing the high watermark means "everything read".  A commit
** is checked against the topic, the partition and [0, high watermark].
*/
#include "streamInt.h"
#include <string.h>

/* Longest group id accepted. */
#define STREAM_MAX_GROUP_ID 255
/* Longest commit metadata accepted, in bytes (Kafka's broker default of
** offset.metadata.max.bytes; over it Kafka answers
** OFFSET_METADATA_TOO_LARGE). */
#define STREAM_MAX_OFFSET_METADATA 4096

static int streamGroupCheck(const char *zGroup, char **pzErr){
  size_t n;
  if( zGroup==0 ){
    return sqlite3StreamErr(pzErr, SQLITE_MISUSE,
                            "group id must be text, not NULL");
  }
  n = strlen(zGroup);
  if( n==0 || n>STREAM_MAX_GROUP_ID ){
    return sqlite3StreamErr(pzErr, SQLITE_ERROR,
        "group id must be 1 to %d bytes, got %d", STREAM_MAX_GROUP_ID, (int)n);
  }
  return SQLITE_OK;
}

int sqlite3StreamCommit(StreamCtx *p, const char *zGroup, const char *zTopic,
                        i64 iPartition, i64 iOffset, const char *zMeta,
                        const char *zMember, char **pzErr){
  StreamTopic t;
  int rc = streamGroupCheck(zGroup, pzErr);
  if( rc==SQLITE_OK ) rc = sqlite3StreamTopicGet(p, zTopic, &t, pzErr);
  if( rc==SQLITE_OK ) rc = sqlite3StreamPartitionCheck(zTopic, &t, iPartition,
                                                       pzErr);
  if( rc ) return rc;
  if( zMember ){
    /* Fenced: only the current owner of the partition may commit it. */
    int bOwns = 0;
    StreamMember m;
    rc = sqlite3StreamMemberFence(p, zGroup, zMember, &m, pzErr);
    if( rc==SQLITE_OK ) rc = sqlite3StreamOwns(p, zGroup, zMember, zTopic,
                                               iPartition, &bOwns, pzErr);
    if( rc ) return rc;
    if( !bOwns ){
      return sqlite3StreamErr(pzErr, SQLITE_ERROR,
          "member %s does not own %s/%lld in generation %lld of group %s"
          " (Kafka's ILLEGAL_GENERATION): poll or re-join to learn the new"
          " assignment", zMember, zTopic, iPartition, m.iGeneration, zGroup);
    }
  }else{
    int nLive = 0;
    rc = sqlite3StreamGroupExpire(p, zGroup, &nLive, pzErr);
    if( rc ) return rc;
    if( nLive>0 ){
      return sqlite3StreamErr(pzErr, SQLITE_ERROR,
          "group %s has %d live member(s): commit as a member"
          " (stream_commit(group, topic, partition, offset, metadata, member))",
          zGroup, nLive);
    }
  }
  return sqlite3StreamCommitRaw(p, zGroup, zTopic, iPartition, iOffset, zMeta,
                                pzErr);
}

int sqlite3StreamCommitRaw(StreamCtx *p, const char *zGroup,
                           const char *zTopic, i64 iPartition, i64 iOffset,
                           const char *zMeta, char **pzErr){
  StreamTopic t;
  i64 iHwm;
  char *zCdc = 0, *zEvent = 0;
  int rc;

  rc = streamGroupCheck(zGroup, pzErr);
  if( rc==SQLITE_OK && zMeta && strlen(zMeta)>STREAM_MAX_OFFSET_METADATA ){
    rc = sqlite3StreamErr(pzErr, SQLITE_ERROR,
        "commit metadata is %lld bytes, the limit is %d"
        " (Kafka's offset.metadata.max.bytes)", (i64)strlen(zMeta),
        STREAM_MAX_OFFSET_METADATA);
  }
  if( rc==SQLITE_OK ) rc = sqlite3StreamTopicGet(p, zTopic, &t, pzErr);
  if( rc==SQLITE_OK ){
    rc = sqlite3StreamPartitionCheck(zTopic, &t, iPartition, pzErr);
  }
  if( rc==SQLITE_OK ){
    rc = sqlite3StreamHighWatermark(p, zTopic, (int)iPartition, &iHwm, pzErr);
  }
  if( rc ) return rc;
  if( iOffset<0 || iOffset>iHwm ){
    return sqlite3StreamErr(pzErr, SQLITE_RANGE,
        "offset %lld out of range for %s/%lld: a committed offset is the next"
        " offset to read, 0..%lld (the high watermark)",
        iOffset, zTopic, iPartition, iHwm);
  }
  rc = sqlite3StreamCdcPrepare(p, 0, &zCdc, pzErr);
  if( rc ) return rc;
  if( zCdc || p->xCdc ){
    /* The event first: one the CDC topic refuses fails the commit before
    ** it is written, also where no savepoint can undo it (a one-row
    ** INSERT INTO stream_offsets in a transaction). */
    sqlite3_str *pStr = sqlite3_str_new(p->db);
    sqlite3_str_appendall(pStr, "{\"type\":\"stream.commit\",\"groupId\":");
    sqlite3StreamJsonQuote(pStr, zGroup, (int)strlen(zGroup));
    sqlite3_str_appendall(pStr, ",\"topic\":");
    sqlite3StreamJsonQuote(pStr, zTopic, (int)strlen(zTopic));
    sqlite3_str_appendf(pStr, ",\"partition\":%lld,\"offset\":%lld}",
                        iPartition, iOffset);
    zEvent = sqlite3_str_finish(pStr);
    rc = zEvent ? sqlite3StreamCdcWrite(p, zCdc, zGroup, zEvent, pzErr)
                : SQLITE_NOMEM;
  }
  sqlite3_free(zCdc);
  if( rc==SQLITE_OK ){
    rc = sqlite3StreamCatRun(p, STREAM_CAT_OFFSET_COMMIT, pzErr, "ttiiti",
                             zGroup, zTopic, iPartition, iOffset, zMeta,
                             sqlite3StreamNow(p));
  }
  /* The callback once the commit is written: a failed one reports
  ** nothing. */
  if( rc==SQLITE_OK && zEvent ) sqlite3StreamCdcNotify(p, zEvent);
  sqlite3_free(zEvent);
  return rc;
}

/* SQLITE_OK if the commit in row iRowid of _stream_offsets may go (a
** DELETE, or an UPDATE that moves it to another key): not while its group
** has live members, as for a commit without a member.  A member's
** partition whose commit went would be read from auto.offset.reset by
** its next owner: again from the start, or from the end, skipping what
** was not read yet (Kafka's OffsetDelete refuses a group subscribed to
** the topic: GROUP_SUBSCRIBED_TO_TOPIC). */
static int streamCommitDeletable(StreamCtx *p, i64 iRowid, char **pzErr){
  char *zGroup = 0;
  int nLive = 0;
  int rc = sqlite3StreamCatOffsetGroup(p, iRowid, &zGroup, pzErr);
  if( rc==SQLITE_OK && zGroup ){
    rc = sqlite3StreamGroupExpire(p, zGroup, &nLive, pzErr);
    if( rc==SQLITE_OK && nLive>0 ){
      rc = sqlite3StreamErr(pzErr, SQLITE_ERROR,
          "group %s has %d live member(s): its committed offsets cannot be"
          " deleted or moved to another key while it has members (Kafka's"
          " GROUP_SUBSCRIBED_TO_TOPIC)", zGroup, nLive);
    }
  }
  sqlite3_free(zGroup);
  return rc;
}

int sqlite3StreamCommitDelete(StreamCtx *p, i64 iRowid, char **pzErr){
  int rc = streamCommitDeletable(p, iRowid, pzErr);
  if( rc ) return rc;
  return sqlite3StreamCatRun(p, STREAM_CAT_OFFSET_DELETE, pzErr, "i", iRowid);
}

int sqlite3StreamCommitReplace(StreamCtx *p, i64 iRowid, const char *zGroup,
                               const char *zTopic, i64 iPartition,
                               i64 iOffset, const char *zMeta, char **pzErr){
  int bSame = 0;
  int rc = sqlite3StreamCatOffsetRowIs(p, iRowid, zGroup, zTopic, iPartition,
                                       &bSame, pzErr);
  /* Both checks before anything is written. */
  if( rc==SQLITE_OK && !bSame ) rc = streamCommitDeletable(p, iRowid, pzErr);
  if( rc ) return rc;
  rc = sqlite3StreamCommit(p, zGroup, zTopic, iPartition, iOffset, zMeta, 0,
                           pzErr);
  if( rc==SQLITE_OK && !bSame ){
    rc = sqlite3StreamCatRun(p, STREAM_CAT_OFFSET_DELETE, pzErr, "i", iRowid);
  }
  return rc;
}
