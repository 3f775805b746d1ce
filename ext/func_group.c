/*
** func_group.c - the SQL functions of consumer groups: argument checks,
** then engine calls (ext/group.c, ext/consume.c).
**
**   stream_join(group, member, topics_json [, options_json]) -> JSON
**   stream_heartbeat(group, member)                -> generation
**   stream_leave(group, member)                    -> 1
**   stream_assignment(group, member)               -> {"topic":[p...]}
**   stream_commit_sync(group, member)              -> partitions committed
**   stream_seek(group, topic, partition, target)   -> offset
**   stream_pause(group, member, topic, partition)  -> 1
**   stream_resume(group, member, topic, partition) -> 1
**   stream_offset_for_time(topic, partition, ms)   -> offset or NULL
**   stream_dead_letter(group, member, topic, partition, offset, reason)
**                                                  -> offset in <topic>.dlq
**   stream_wait(group, member [, wait_ms])         -> partitions ready
**   stream_position(group, member, topic, partition)
**                  -> the member's position on this connection, or NULL
**
** All are SQLITE_DIRECTONLY (they write, or depend on this connection's
** membership): see the security note in ext/func.c.
*/
#include "streamInt.h"
#include <string.h>

#define GROUP_ARG(i)  sqlite3StreamArgText(ctx, argv, i, "group id")
#define MEMBER_ARG(i) sqlite3StreamArgText(ctx, argv, i, "member id")
#define TOPIC_ARG(i)  sqlite3StreamArgText(ctx, argv, i, "topic name")

static void streamJoinFunc(sqlite3_context *ctx, int argc,
                           sqlite3_value **argv){
  StreamCtx *p = sqlite3_user_data(ctx);
  const char *zGroup, *zMember, *zTopics, *zOpts = 0;
  char *zErr = 0, *zJson = 0;
  int rc;
  int bAuto;
  if( (zGroup = GROUP_ARG(0))==0 ) return;
  if( (zMember = MEMBER_ARG(1))==0 ) return;
  if( (zTopics = sqlite3StreamArgText(ctx, argv, 2, "topics"))==0 ) return;
  if( argc>3 && sqlite3_value_type(argv[3])!=SQLITE_NULL ){
    if( (zOpts = sqlite3StreamArgText(ctx, argv, 3, "join options"))==0 ){
      return;
    }
  }
  rc = sqlite3StreamAutoBegin(p, "stream_call", &bAuto, 0, &zErr);
  if( rc==SQLITE_OK ){
    rc = sqlite3StreamJoin(p, zGroup, zMember, zTopics, zOpts, &zJson, &zErr);
  }
  rc = sqlite3StreamAutoEnd(p, "stream_call", bAuto, rc, &zErr);
  if( rc ){ sqlite3StreamResultErr(ctx, rc, zErr); return; }
  sqlite3_result_text(ctx, zJson, -1, sqlite3_free);
  sqlite3_result_subtype(ctx, 'J');
}

static void streamHeartbeatFunc(sqlite3_context *ctx, int argc,
                                sqlite3_value **argv){
  StreamCtx *p = sqlite3_user_data(ctx);
  const char *zGroup, *zMember;
  char *zErr = 0;
  StreamMember m;
  int rc;
  int bAuto;
  STREAM_UNUSED(argc);
  if( (zGroup = GROUP_ARG(0))==0 ) return;
  if( (zMember = MEMBER_ARG(1))==0 ) return;
  rc = sqlite3StreamAutoBegin(p, "stream_call", &bAuto, 0, &zErr);
  if( rc==SQLITE_OK ){
    rc = sqlite3StreamMemberCheck(p, zGroup, zMember, &m, &zErr);
  }
  rc = sqlite3StreamAutoEnd(p, "stream_call", bAuto, rc, &zErr);
  if( rc ){ sqlite3StreamResultErr(ctx, rc, zErr); return; }
  sqlite3_result_int64(ctx, m.iGeneration);
}

static void streamLeaveFunc(sqlite3_context *ctx, int argc,
                            sqlite3_value **argv){
  StreamCtx *p = sqlite3_user_data(ctx);
  const char *zGroup, *zMember;
  char *zErr = 0;
  int rc;
  int bAuto;
  STREAM_UNUSED(argc);
  if( (zGroup = GROUP_ARG(0))==0 ) return;
  if( (zMember = MEMBER_ARG(1))==0 ) return;
  rc = sqlite3StreamAutoBegin(p, "stream_call", &bAuto, 0, &zErr);
  if( rc==SQLITE_OK ){
    rc = sqlite3StreamLeave(p, zGroup, zMember, &zErr);
  }
  rc = sqlite3StreamAutoEnd(p, "stream_call", bAuto, rc, &zErr);
  if( rc ){ sqlite3StreamResultErr(ctx, rc, zErr); return; }
  sqlite3_result_int(ctx, 1);
}

static void streamAssignmentFunc(sqlite3_context *ctx, int argc,
                                 sqlite3_value **argv){
  StreamCtx *p = sqlite3_user_data(ctx);
  const char *zGroup, *zMember;
  char *zErr = 0, *zJson = 0;
  int rc;
  STREAM_UNUSED(argc);
  if( (zGroup = GROUP_ARG(0))==0 ) return;
  if( (zMember = MEMBER_ARG(1))==0 ) return;
  rc = sqlite3StreamAssignmentJson(p, zGroup, zMember, &zJson, &zErr);
  if( rc ){ sqlite3StreamResultErr(ctx, rc, zErr); return; }
  sqlite3_result_text(ctx, zJson, -1, sqlite3_free);
  sqlite3_result_subtype(ctx, 'J');
}

static void streamCommitSyncFunc(sqlite3_context *ctx, int argc,
                                 sqlite3_value **argv){
  StreamCtx *p = sqlite3_user_data(ctx);
  const char *zGroup, *zMember;
  char *zErr = 0;
  i64 n;
  int rc;
  int bAuto;
  STREAM_UNUSED(argc);
  if( (zGroup = GROUP_ARG(0))==0 ) return;
  if( (zMember = MEMBER_ARG(1))==0 ) return;
  rc = sqlite3StreamAutoBegin(p, "stream_call", &bAuto, 0, &zErr);
  if( rc==SQLITE_OK ){
    rc = sqlite3StreamCommitSync(p, zGroup, zMember, &n, &zErr);
  }
  rc = sqlite3StreamAutoEnd(p, "stream_call", bAuto, rc, &zErr);
  if( rc ){ sqlite3StreamResultErr(ctx, rc, zErr); return; }
  sqlite3_result_int64(ctx, n);
}

static void streamSeekFunc(sqlite3_context *ctx, int argc,
                           sqlite3_value **argv){
  StreamCtx *p = sqlite3_user_data(ctx);
  const char *zGroup, *zTopic;
  char *zErr = 0;
  i64 iPart, iOffset;
  int rc;
  int bAuto;
  STREAM_UNUSED(argc);
  if( (zGroup = GROUP_ARG(0))==0 ) return;
  if( (zTopic = TOPIC_ARG(1))==0 ) return;
  if( !sqlite3StreamArgInt(ctx, argv, 2, "partition", &iPart) ) return;
  rc = sqlite3StreamAutoBegin(p, "stream_call", &bAuto, 0, &zErr);
  if( rc==SQLITE_OK ){
    rc = sqlite3StreamSeek(p, zGroup, zTopic, iPart, argv[3], &iOffset, &zErr);
  }
  rc = sqlite3StreamAutoEnd(p, "stream_call", bAuto, rc, &zErr);
  if( rc ){ sqlite3StreamResultErr(ctx, rc, zErr); return; }
  sqlite3_result_int64(ctx, iOffset);
}

static void streamPauseResume(sqlite3_context *ctx, sqlite3_value **argv,
                              int bPause){
  StreamCtx *p = sqlite3_user_data(ctx);
  const char *zGroup, *zMember, *zTopic;
  char *zErr = 0;
  i64 iPart;
  int rc;
  int bAuto;
  if( (zGroup = GROUP_ARG(0))==0 ) return;
  if( (zMember = MEMBER_ARG(1))==0 ) return;
  if( (zTopic = TOPIC_ARG(2))==0 ) return;
  if( !sqlite3StreamArgInt(ctx, argv, 3, "partition", &iPart) ) return;
  rc = sqlite3StreamAutoBegin(p, "stream_call", &bAuto, 0, &zErr);
  if( rc==SQLITE_OK ){
    rc = sqlite3StreamPause(p, zGroup, zMember, zTopic, iPart, bPause, &zErr);
  }
  rc = sqlite3StreamAutoEnd(p, "stream_call", bAuto, rc, &zErr);
  if( rc ){ sqlite3StreamResultErr(ctx, rc, zErr); return; }
  sqlite3_result_int(ctx, 1);
}

static void streamPauseFunc(sqlite3_context *ctx, int argc,
                            sqlite3_value **argv){
  STREAM_UNUSED(argc);
  streamPauseResume(ctx, argv, 1);
}

static void streamResumeFunc(sqlite3_context *ctx, int argc,
                             sqlite3_value **argv){
  STREAM_UNUSED(argc);
  streamPauseResume(ctx, argv, 0);
}

static void streamOffsetForTimeFunc(sqlite3_context *ctx, int argc,
                                    sqlite3_value **argv){
  StreamCtx *p = sqlite3_user_data(ctx);
  const char *zTopic;
  char *zErr = 0;
  i64 iPart, iTime, iOffset;
  int rc;
  STREAM_UNUSED(argc);
  if( (zTopic = TOPIC_ARG(0))==0 ) return;
  if( !sqlite3StreamArgInt(ctx, argv, 1, "partition", &iPart) ) return;
  if( !sqlite3StreamArgInt(ctx, argv, 2, "timestamp", &iTime) ) return;
  if( iTime<0 ){
    /* Kafka's offsetsForTimes throws IllegalArgumentException here. */
    zErr = sqlite3_mprintf(STREAM_ERR "the target time for %s/%lld is %lld:"
        " it cannot be negative (to go to the beginning or the end, use"
        " stream_seek(group, topic, partition, 'earliest') or 'latest')",
        zTopic, iPart, iTime);
    sqlite3StreamResultErr(ctx, zErr ? SQLITE_ERROR : SQLITE_NOMEM, zErr);
    return;
  }
  rc = sqlite3StreamOffsetForTime(p, zTopic, iPart, iTime, &iOffset, &zErr);
  if( rc ){ sqlite3StreamResultErr(ctx, rc, zErr); return; }
  if( iOffset>=0 ) sqlite3_result_int64(ctx, iOffset);
}

static void streamDeadLetterFunc(sqlite3_context *ctx, int argc,
                                 sqlite3_value **argv){
  StreamCtx *p = sqlite3_user_data(ctx);
  const char *zGroup, *zMember, *zTopic, *zReason;
  char *zErr = 0;
  i64 iPart, iOffset, iDlq;
  int rc;
  int bAuto;
  STREAM_UNUSED(argc);
  if( (zGroup = GROUP_ARG(0))==0 ) return;
  if( (zMember = MEMBER_ARG(1))==0 ) return;
  if( (zTopic = TOPIC_ARG(2))==0 ) return;
  if( !sqlite3StreamArgInt(ctx, argv, 3, "partition", &iPart) ) return;
  if( !sqlite3StreamArgInt(ctx, argv, 4, "offset", &iOffset) ) return;
  if( (zReason = sqlite3StreamArgText(ctx, argv, 5, "reason"))==0 ) return;
  rc = sqlite3StreamAutoBegin(p, "stream_call", &bAuto, 0, &zErr);
  if( rc==SQLITE_OK ){
    rc = sqlite3StreamDeadLetter(p, zGroup, zMember, zTopic, iPart, iOffset,
        zReason, &iDlq, &zErr);
  }
  rc = sqlite3StreamAutoEnd(p, "stream_call", bAuto, rc, &zErr);
  if( rc ){ sqlite3StreamResultErr(ctx, rc, zErr); return; }
  sqlite3_result_int64(ctx, iDlq);
}

/* Kafka's consumer.position(): the next offset the member's poll hands
** out on the partition, kept by this connection; NULL while it has not
** started (the next poll starts from the committed offset). */
static void streamPositionFunc(sqlite3_context *ctx, int argc,
                               sqlite3_value **argv){
  StreamCtx *p = sqlite3_user_data(ctx);
  const char *zGroup, *zMember, *zTopic;
  char *zErr = 0;
  i64 iPart, iPos;
  int rc;
  STREAM_UNUSED(argc);
  if( (zGroup = GROUP_ARG(0))==0 ) return;
  if( (zMember = MEMBER_ARG(1))==0 ) return;
  if( (zTopic = TOPIC_ARG(2))==0 ) return;
  if( !sqlite3StreamArgInt(ctx, argv, 3, "partition", &iPart) ) return;
  rc = sqlite3StreamPosition(p, zGroup, zMember, zTopic, iPart, &iPos, &zErr);
  if( rc ){ sqlite3StreamResultErr(ctx, rc, zErr); return; }
  if( iPos>=0 ) sqlite3_result_int64(ctx, iPos);
}

static void streamWaitFunc(sqlite3_context *ctx, int argc,
                           sqlite3_value **argv){
  StreamCtx *p = sqlite3_user_data(ctx);
  const char *zGroup, *zMember;
  char *zErr = 0;
  i64 nWait = 0, nAvail;
  int rc;
  if( (zGroup = GROUP_ARG(0))==0 ) return;
  if( (zMember = MEMBER_ARG(1))==0 ) return;
  if( argc>2 && !sqlite3StreamArgInt(ctx, argv, 2, "wait_ms", &nWait) ) return;
  rc = sqlite3StreamWait(p, zGroup, zMember, nWait, &nAvail, &zErr);
  if( rc ){ sqlite3StreamResultErr(ctx, rc, zErr); return; }
  sqlite3_result_int64(ctx, nAvail);
}

int sqlite3StreamRegisterGroupFunctions(sqlite3 *db, StreamCtx *p){
  static const struct {
    const char *zName;
    int nArg;
    void (*xFunc)(sqlite3_context*, int, sqlite3_value**);
  } aFunc[] = {
    { "stream_join",            3, streamJoinFunc },
    { "stream_join",            4, streamJoinFunc },
    { "stream_heartbeat",       2, streamHeartbeatFunc },
    { "stream_leave",           2, streamLeaveFunc },
    { "stream_assignment",      2, streamAssignmentFunc },
    { "stream_commit_sync",     2, streamCommitSyncFunc },
    { "stream_seek",            4, streamSeekFunc },
    { "stream_offset_for_time", 3, streamOffsetForTimeFunc },
    { "stream_dead_letter",     6, streamDeadLetterFunc },
    { "stream_wait",            2, streamWaitFunc },
    { "stream_wait",            3, streamWaitFunc },
    { "stream_position",        4, streamPositionFunc },
    { "stream_pause",           4, streamPauseFunc },
    { "stream_resume",          4, streamResumeFunc },
  };
  int rc = SQLITE_OK;
  size_t i;
  for(i=0; rc==SQLITE_OK && i<sizeof(aFunc)/sizeof(aFunc[0]); i++){
    rc = sqlite3_create_function(db, aFunc[i].zName, aFunc[i].nArg,
        SQLITE_UTF8|SQLITE_DIRECTONLY, p, aFunc[i].xFunc, 0, 0);
  }
  return rc;
}
