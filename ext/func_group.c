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
** membership), and registered from ext/main.c's aFunc[] with the reasons.
** Those that write run as one transaction by sqlite3StreamCallTxn().
*/
#include "streamInt.h"
#include <string.h>

#define GROUP_ARG(i)  sqlite3StreamArgText(ctx, argv, i, "group id")
#define MEMBER_ARG(i) sqlite3StreamArgText(ctx, argv, i, "member id")
#define TOPIC_ARG(i)  sqlite3StreamArgText(ctx, argv, i, "topic name")

/* The calls that write, each run as one transaction by
** sqlite3StreamCallTxn(): az[0] the group, az[1] the member. */
static int streamCallJoin(StreamCtx *p, StreamCallArgs *a, char **pzErr){
  return sqlite3StreamJoin(p, a->az[0], a->az[1], a->az[2], a->az[3],
                           (char**)a->pOut, pzErr);
}
static int streamCallHeartbeat(StreamCtx *p, StreamCallArgs *a,
                               char **pzErr){
  StreamMember m;
  int rc = sqlite3StreamMemberCheck(p, a->az[0], a->az[1], &m, pzErr);
  if( rc==SQLITE_OK ) a->iOut = m.iGeneration;
  return rc;
}
static int streamCallLeave(StreamCtx *p, StreamCallArgs *a, char **pzErr){
  return sqlite3StreamLeave(p, a->az[0], a->az[1], pzErr);
}
static int streamCallCommitSync(StreamCtx *p, StreamCallArgs *a,
                                char **pzErr){
  return sqlite3StreamCommitSync(p, a->az[0], a->az[1], &a->iOut, pzErr);
}
/* az[1] is the topic here: stream_seek() names no member. */
static int streamCallSeek(StreamCtx *p, StreamCallArgs *a, char **pzErr){
  return sqlite3StreamSeek(p, a->az[0], a->az[1], a->ai[0], a->pVal,
                           &a->iOut, pzErr);
}
/* ai[1] is 1 to pause, 0 to resume. */
static int streamCallPause(StreamCtx *p, StreamCallArgs *a, char **pzErr){
  return sqlite3StreamPause(p, a->az[0], a->az[1], a->az[2], a->ai[0],
                            (int)a->ai[1], pzErr);
}
static int streamCallDeadLetter(StreamCtx *p, StreamCallArgs *a,
                                char **pzErr){
  return sqlite3StreamDeadLetter(p, a->az[0], a->az[1], a->az[2], a->ai[0],
                                 a->ai[1], a->az[3], &a->iOut, pzErr);
}

/* The group and member arguments 0 and 1 into a->az[0..1]; 0 after
** reporting an error. */
static int streamArgGroupMember(sqlite3_context *ctx, sqlite3_value **argv,
                                StreamCallArgs *a){
  memset(a, 0, sizeof(*a));
  if( (a->az[0] = GROUP_ARG(0))==0 ) return 0;
  if( (a->az[1] = MEMBER_ARG(1))==0 ) return 0;
  return 1;
}

void sqlite3StreamJoinFunc(sqlite3_context *ctx, int argc,
                           sqlite3_value **argv){
  StreamCallArgs a;
  char *zJson = 0;
  if( !streamArgGroupMember(ctx, argv, &a) ) return;
  if( (a.az[2] = sqlite3StreamArgText(ctx, argv, 2, "topics"))==0 ) return;
  if( argc>3 && sqlite3_value_type(argv[3])!=SQLITE_NULL ){
    if( (a.az[3] = sqlite3StreamArgText(ctx, argv, 3, "join options"))==0 ){
      return;
    }
  }
  a.pOut = &zJson;
  if( !sqlite3StreamCallTxn(ctx, streamCallJoin, &a) ){
    sqlite3_free(zJson);              /* the join's, if its commit failed */
    return;
  }
  sqlite3_result_text(ctx, zJson, -1, sqlite3_free);
  sqlite3_result_subtype(ctx, 'J');
}

void sqlite3StreamHeartbeatFunc(sqlite3_context *ctx, int argc,
                                sqlite3_value **argv){
  StreamCallArgs a;
  STREAM_UNUSED(argc);
  if( !streamArgGroupMember(ctx, argv, &a) ) return;
  if( !sqlite3StreamCallTxn(ctx, streamCallHeartbeat, &a) ) return;
  sqlite3_result_int64(ctx, a.iOut);
}

void sqlite3StreamLeaveFunc(sqlite3_context *ctx, int argc,
                            sqlite3_value **argv){
  StreamCallArgs a;
  STREAM_UNUSED(argc);
  if( !streamArgGroupMember(ctx, argv, &a) ) return;
  if( !sqlite3StreamCallTxn(ctx, streamCallLeave, &a) ) return;
  sqlite3_result_int(ctx, 1);
}

void sqlite3StreamAssignmentFunc(sqlite3_context *ctx, int argc,
                                 sqlite3_value **argv){
  StreamCtx *p = sqlite3_user_data(ctx);
  StreamCallArgs a;
  char *zErr = 0, *zJson = 0;
  int rc;
  STREAM_UNUSED(argc);
  if( !streamArgGroupMember(ctx, argv, &a) ) return;
  rc = sqlite3StreamAssignmentJson(p, a.az[0], a.az[1], &zJson, &zErr);
  if( rc ){ sqlite3StreamResultErr(ctx, rc, zErr); return; }
  sqlite3_result_text(ctx, zJson, -1, sqlite3_free);
  sqlite3_result_subtype(ctx, 'J');
}

void sqlite3StreamCommitSyncFunc(sqlite3_context *ctx, int argc,
                                 sqlite3_value **argv){
  StreamCallArgs a;
  STREAM_UNUSED(argc);
  if( !streamArgGroupMember(ctx, argv, &a) ) return;
  if( !sqlite3StreamCallTxn(ctx, streamCallCommitSync, &a) ) return;
  sqlite3_result_int64(ctx, a.iOut);
}

void sqlite3StreamSeekFunc(sqlite3_context *ctx, int argc,
                           sqlite3_value **argv){
  StreamCallArgs a;
  STREAM_UNUSED(argc);
  memset(&a, 0, sizeof(a));
  if( (a.az[0] = GROUP_ARG(0))==0 ) return;
  if( (a.az[1] = TOPIC_ARG(1))==0 ) return;
  if( !sqlite3StreamArgInt(ctx, argv, 2, "partition", &a.ai[0]) ) return;
  a.pVal = argv[3];
  if( !sqlite3StreamCallTxn(ctx, streamCallSeek, &a) ) return;
  sqlite3_result_int64(ctx, a.iOut);
}

/* The arguments (group, member, topic, partition) of stream_pause(),
** stream_resume() and stream_dead_letter(); 0 after reporting an error. */
static int streamArgMemberPartition(sqlite3_context *ctx,
                                    sqlite3_value **argv,
                                    StreamCallArgs *a){
  if( !streamArgGroupMember(ctx, argv, a) ) return 0;
  if( (a->az[2] = TOPIC_ARG(2))==0 ) return 0;
  return sqlite3StreamArgInt(ctx, argv, 3, "partition", &a->ai[0]);
}

static void streamPauseResume(sqlite3_context *ctx, sqlite3_value **argv,
                              int bPause){
  StreamCallArgs a;
  if( !streamArgMemberPartition(ctx, argv, &a) ) return;
  a.ai[1] = bPause;
  if( !sqlite3StreamCallTxn(ctx, streamCallPause, &a) ) return;
  sqlite3_result_int(ctx, 1);
}

void sqlite3StreamPauseFunc(sqlite3_context *ctx, int argc,
                            sqlite3_value **argv){
  STREAM_UNUSED(argc);
  streamPauseResume(ctx, argv, 1);
}

void sqlite3StreamResumeFunc(sqlite3_context *ctx, int argc,
                             sqlite3_value **argv){
  STREAM_UNUSED(argc);
  streamPauseResume(ctx, argv, 0);
}

void sqlite3StreamOffsetForTimeFunc(sqlite3_context *ctx, int argc,
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

void sqlite3StreamDeadLetterFunc(sqlite3_context *ctx, int argc,
                                 sqlite3_value **argv){
  StreamCallArgs a;
  STREAM_UNUSED(argc);
  if( !streamArgMemberPartition(ctx, argv, &a) ) return;
  if( !sqlite3StreamArgInt(ctx, argv, 4, "offset", &a.ai[1]) ) return;
  if( (a.az[3] = sqlite3StreamArgText(ctx, argv, 5, "reason"))==0 ) return;
  if( !sqlite3StreamCallTxn(ctx, streamCallDeadLetter, &a) ) return;
  sqlite3_result_int64(ctx, a.iOut);
}

/* Kafka's consumer.position(): the next offset the member's poll hands
** out on the partition, kept by this connection; NULL while it has not
** started (the next poll starts from the committed offset). */
void sqlite3StreamPositionFunc(sqlite3_context *ctx, int argc,
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

void sqlite3StreamWaitFunc(sqlite3_context *ctx, int argc,
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
