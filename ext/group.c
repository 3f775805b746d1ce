/*
** group.c - consumer group membership: join, heartbeat, leave, session
** expiry, rebalancing and fencing.
**
** Kafka's group coordinator is a broker; here every connection that
** notices a change acts as coordinator, inside its own SQLite transaction
** (SQLite serialises writers, so the outcome is the same whoever acts):
**
**   - A join (or re-join) of a member id, a leave, the expiry of a member
**     (no heartbeat for session.timeout.ms, or no poll for
**     max.poll.interval.ms), and a change in the partition count of a
**     subscribed topic each bump the group's generation and recompute the
**     whole assignment with the group's strategy (ext/assign.c).
**   - Partitions that keep their owner keep its in-flight position; the
**     others start again from the committed offset (at-least-once, as
**     Kafka).
**   - Fencing: each join of a member id gets a new incarnation number; the
**     connection that joined remembers it (StreamIncarnation), and every
**     member-scoped call checks it.  A zombie - a process that stalled
**     past its session timeout, or whose member id joined again
**     elsewhere - gets a clear error and cannot commit or poll.
*/
#include "streamInt.h"
#include <string.h>

/* Longest group or member id. */
#define STREAM_MAX_ID 255
/* Most topics one member may subscribe to. */
#define STREAM_MAX_SUBSCRIPTION 1000
/* Largest group generation (an SQLite integer). */
#define STREAM_MAX_GENERATION 0x7fffffffffffffffLL

static void streamIncarnFree(StreamCtx *p, StreamIncarnation *pInc){
  sqlite3StreamPositionsFree(p, pInc);
  sqlite3_free(pInc);
}

void sqlite3StreamGroupFree(StreamCtx *p){
  while( p->pIncarn ){
    StreamIncarnation *pNext = p->pIncarn->pNext;
    streamIncarnFree(p, p->pIncarn);
    p->pIncarn = pNext;
  }
  sqlite3_free(p->aUndo);
  sqlite3_free(p->aUndoMark);
  p->aUndo = 0;
  p->aUndoMark = 0;
  p->nUndo = p->nUndoAlloc = p->nUndoMark = 0;
  sqlite3StreamWatchClose(p);
  if( p->dbAux ){
    sqlite3_close_v2(p->dbAux);   /* frees p->pAux too */
    p->dbAux = 0;
    p->pAux = 0;
  }
  if( p->xRebalanceDestroy ) p->xRebalanceDestroy(p->pRebalanceArg);
  p->xRebalanceDestroy = 0;
}

static StreamIncarnation **streamIncarnFind(StreamCtx *p, const char *zGroup,
                                            const char *zMember){
  StreamIncarnation **pp;
  for(pp=&p->pIncarn; *pp; pp=&(*pp)->pNext){
    if( strcmp((*pp)->zGroup, zGroup)==0
     && strcmp((*pp)->zMember, zMember)==0 ) return pp;
  }
  return pp;
}

StreamIncarnation *sqlite3StreamIncarnGet(StreamCtx *p, const char *zGroup,
                                          const char *zMember){
  return *streamIncarnFind(p, zGroup, zMember);
}

static void streamIncarnForget(StreamCtx *p, const char *zGroup,
                               const char *zMember){
  StreamIncarnation **pp = streamIncarnFind(p, zGroup, zMember);
  if( *pp ){
    StreamIncarnation *pDel = *pp;
    *pp = pDel->pNext;
    streamIncarnFree(p, pDel);
  }
}

static int streamIncarnSet(StreamCtx *p, const char *zGroup,
                           const char *zMember, i64 iInc){
  size_t nG = strlen(zGroup), nM = strlen(zMember);
  StreamIncarnation *pNew;
  streamIncarnForget(p, zGroup, zMember);
  pNew = sqlite3_malloc64(sizeof(*pNew) + nG + nM + 2);
  if( pNew==0 ) return SQLITE_NOMEM;
  pNew->zGroup = (char*)&pNew[1];
  pNew->zMember = pNew->zGroup + nG + 1;
  memcpy(pNew->zGroup, zGroup, nG+1);
  memcpy(pNew->zMember, zMember, nM+1);
  pNew->iIncarnation = iInc;
  pNew->pPos = 0;
  pNew->apHash = 0;
  pNew->nHash = pNew->nPos = 0;
  pNew->iPollCursor = 0;
  pNew->iAutoCommitAt = -1;
  pNew->pPollCache = 0;
  pNew->pNext = p->pIncarn;
  p->pIncarn = pNew;
  return SQLITE_OK;
}

static int streamIdCheck(const char *zId, const char *zWhat, char **pzErr){
  size_t n;
  if( zId==0 ){
    return sqlite3StreamErr(pzErr, SQLITE_MISUSE,
                            "%s must be text, not NULL", zWhat);
  }
  n = strlen(zId);
  if( n==0 || n>STREAM_MAX_ID ){
    return sqlite3StreamErr(pzErr, SQLITE_ERROR,
        "%s must be 1 to %d bytes, got %d", zWhat, STREAM_MAX_ID, (int)n);
  }
  return SQLITE_OK;
}

/* A loaded member, for the assignor. */
typedef struct StreamGrpMember StreamGrpMember;
struct StreamGrpMember {
  char *zId;                   /* Member id */
  StreamJson *pTopics;              /* Subscription (JSON array of strings) */
  i64 iJoined;                 /* joined_at */
};

/* qsort comparators: Java's String order (ext/assign.c). */
static int streamMemberCmp(const void *a, const void *b){
  return sqlite3StreamJavaCmp(((const StreamGrpMember*)a)->zId,
                              ((const StreamGrpMember*)b)->zId);
}
static int streamNameCmp(const void *a, const void *b){
  return sqlite3StreamJavaCmp(*(const char*const*)a, *(const char*const*)b);
}

/* Index of zName in the sorted azName[0..n-1], or -1. */
static int streamNameFind(const char *const *azName, int n,
                          const char *zName){
  int lo = 0, hi = n-1;
  while( lo<=hi ){
    int mid = lo + (hi-lo)/2;
    int c = sqlite3StreamJavaCmp(azName[mid], zName);
    if( c==0 ) return mid;
    if( c<0 ) lo = mid+1; else hi = mid-1;
  }
  return -1;
}

/* Emit the stream.rebalance event (CDC topic and C callback). */
static int streamRebalanceEvent(StreamCtx *p, const char *zGroup,
                                i64 iGen, const char *zMembers,
                                const char *zAssign, char **pzErr){
  char *zCdc = 0;
  char *zEvent;
  sqlite3_str *pStr;
  int rc = sqlite3StreamCdcPrepare(p, 0, &zCdc, pzErr);
  if( rc ) return rc;
  if( zCdc==0 && p->xCdc==0 && p->xRebalance==0 ) return SQLITE_OK;
  pStr = sqlite3_str_new(p->db);
  sqlite3_str_appendall(pStr, "{\"type\":\"stream.rebalance\",\"groupId\":");
  sqlite3StreamJsonQuote(pStr, zGroup, (int)strlen(zGroup));
  sqlite3_str_appendf(pStr, ",\"generation\":%lld,\"members\":%s,"
                      "\"assignment\":%s}", iGen, zMembers, zAssign);
  zEvent = sqlite3_str_finish(pStr);
  if( zEvent==0 ){
    sqlite3_free(zCdc);
    return SQLITE_NOMEM;
  }
  if( p->xRebalance ) p->xRebalance(p->pRebalanceArg, zEvent,
                                    (int)strlen(zEvent));
  rc = sqlite3StreamCdcEmit(p, zCdc, zGroup, zEvent, pzErr);
  sqlite3_free(zEvent);
  sqlite3_free(zCdc);
  return rc;
}

/* Load the members of zGroup, sorted by member id in Java's String order.
** A topics value that is not a JSON array of strings is damage. */
static int streamLoadMembers(StreamCtx *p, const char *zGroup,
                             StreamGrpMember **paMem, int *pnMem,
                             char **pzErr){
  sqlite3_stmt *pStmt = sqlite3StreamCatStmt(p, STREAM_CAT_MEMBERS, pzErr);
  StreamGrpMember *aMem = 0;
  int nMem = 0, nAlloc = 0, rc = SQLITE_OK;
  *paMem = 0;
  *pnMem = 0;
  if( pStmt==0 ) return sqlite3StreamStmtErr(p);
  sqlite3_bind_text(pStmt, 1, zGroup, -1, SQLITE_STATIC);
  while( sqlite3_step(pStmt)==SQLITE_ROW ){
    StreamGrpMember *pM;
    const char *zTopics = (const char*)sqlite3_column_text(pStmt, 1);
    const StreamJson *pT;
    if( nMem==nAlloc ){
      int nNew = nAlloc ? nAlloc*2 : 8;
      StreamGrpMember *aNew = sqlite3_realloc64(aMem, sizeof(*aNew)*nNew);
      if( aNew==0 ){ rc = SQLITE_NOMEM; break; }
      aMem = aNew;
      nAlloc = nNew;
    }
    pM = &aMem[nMem++];
    pM->zId = sqlite3_mprintf("%s", sqlite3_column_text(pStmt, 0));
    pM->pTopics = 0;
    pM->iJoined = sqlite3_column_int64(pStmt, 2);
    if( pM->zId==0
     || (zTopics==0 && sqlite3_column_type(pStmt, 1)!=SQLITE_NULL) ){
      rc = SQLITE_NOMEM;
      break;
    }
    if( zTopics
     && sqlite3StreamJsonCheck(zTopics, strlen(zTopics))==STREAM_JSON_ARRAY ){
      pM->pTopics = sqlite3StreamJsonParse(zTopics, -1);
      if( pM->pTopics==0 ){ rc = SQLITE_NOMEM; break; }  /* it was valid */
      pT = 0;
      STREAM_JSON_FOREACH(pT, pM->pTopics){
        if( !sqlite3StreamJsonIsString(pT) ) break;
      }
      if( pM->pTopics && pT==0 ) continue;
    }
    rc = sqlite3StreamErr(pzErr, SQLITE_CORRUPT,
        "damaged row in _stream_members (group %s, member %s): topics is"
        " not a JSON array of topic names", zGroup, pM->zId);
    break;
  }
  if( rc==SQLITE_OK ){
    rc = sqlite3StreamStorageReset(p, pStmt, pzErr);
  }else{
    sqlite3_reset(pStmt);
  }
  if( rc==SQLITE_OK && nMem>1 ){
    qsort(aMem, nMem, sizeof(*aMem), streamMemberCmp);
  }
  *paMem = aMem;
  *pnMem = nMem;
  return rc;
}

/* The generation after iGen, or an error at the largest one. */
static int streamNextGeneration(StreamCtx *p, const char *zGroup,
                                i64 *piGen, char **pzErr){
  int eType;
  i64 iGen;
  int rc = sqlite3StreamCatGeneration(p, zGroup, &eType, &iGen, pzErr);
  if( rc ) return rc;
  if( eType!=SQLITE_NULL && eType!=SQLITE_INTEGER ){
    return sqlite3StreamErr(pzErr, SQLITE_CORRUPT,
        "damaged row in _stream_groups (group %s): generation is not an"
        " integer", zGroup);
  }
  if( iGen>=STREAM_MAX_GENERATION ){
    return sqlite3StreamErr(pzErr, SQLITE_ERROR,
        "group %s is at generation %lld, the largest: it cannot rebalance"
        " again (delete its _stream_groups row to start it afresh)",
        zGroup, iGen);
  }
  *piGen = iGen+1;
  return SQLITE_OK;
}

/* Run one cached statement with group, topic, partition and
** (if zMember) member and the move mark iMark bound. */
static int streamAssignWrite(StreamCtx *p, sqlite3_stmt *pStmt,
                             const char *zGroup, const char *zTopic,
                             i64 iPart, const char *zMember, i64 iMark,
                             char **pzErr){
  sqlite3_bind_text(pStmt, 1, zGroup, -1, SQLITE_STATIC);
  sqlite3_bind_text(pStmt, 2, zTopic, -1, SQLITE_STATIC);
  sqlite3_bind_int64(pStmt, 3, iPart);
  if( zMember ){
    sqlite3_bind_text(pStmt, 4, zMember, -1, SQLITE_STATIC);
    sqlite3_bind_int64(pStmt, 5, iMark);
  }
  sqlite3_step(pStmt);
  return sqlite3StreamStorageReset(p, pStmt, pzErr);
}

/*
** Store the new owners: read the stored assignment once, then delete,
** move (a partition that changes owner starts again from the committed
** offset, and loses its pause) or insert only the rows that change.
** A moved or new row gets position -(generation)-1, a mark unique to this
** rebalance: the connection of a member compares it with the mark it last
** read, so that a partition that left the member and came back (without
** a poll in between) restarts from the committed offset too (the
** positions themselves live in the connections: ext/consume.c).
** aOwner[aBase[j]+iP] is the owner (index into aMem) of partition iP of
** azTopic[j], or -1.
*/
static int streamAssignStore(StreamCtx *p, const char *zGroup,
                             const StreamGrpMember *aMem,
                             const char *const *azTopic, const int *aPart,
                             const int *aBase, int nTopic, const int *aOwner,
                             int nTotal, i64 iGen, char **pzErr){
  sqlite3_stmt *pSel, *pDel, *pMove, *pIns;
  u8 *aSeen = 0;
  i64 *aGone = 0;              /* partitions of the rows to delete */
  char **azGone = 0;           /* topics of the rows to delete */
  int nGone = 0, nGoneAlloc = 0, rc = SQLITE_OK, j, k;

  /* The statements, cached: each is reset after every use. */
  if( (pSel = sqlite3StreamCatStmt(p, STREAM_CAT_ASSIGN_ROWS, pzErr))==0
   || (pDel = sqlite3StreamCatStmt(p, STREAM_CAT_ASSIGN_DELETE, pzErr))==0
   || (pMove = sqlite3StreamCatStmt(p, STREAM_CAT_ASSIGN_MOVE, pzErr))==0
   || (pIns = sqlite3StreamCatStmt(p, STREAM_CAT_ASSIGN_INSERT, pzErr))==0 ){
    return sqlite3StreamStmtErr(p);
  }
  aSeen = sqlite3_malloc64((i64)nTotal + 1);
  if( aSeen==0 ) return SQLITE_NOMEM;
  memset(aSeen, 0, (size_t)nTotal + 1);

  /* Pass 1: classify the stored rows (nothing is written while the
  ** SELECT runs). */
  sqlite3_bind_text(pSel, 1, zGroup, -1, SQLITE_STATIC);
  while( sqlite3_step(pSel)==SQLITE_ROW ){
    const char *zTopic = (const char*)sqlite3_column_text(pSel, 0);
    i64 iPart = sqlite3_column_int64(pSel, 1);
    const char *zOwner = (const char*)sqlite3_column_text(pSel, 2);
    j = zTopic ? streamNameFind(azTopic, nTopic, zTopic) : -1;
    if( j>=0 && iPart>=0 && iPart<aPart[j] ){
      k = aBase[j] + (int)iPart;
      if( aOwner[k]>=0 ){
        aSeen[k] = (zOwner && strcmp(zOwner, aMem[aOwner[k]].zId)==0) ? 1 : 2;
        continue;
      }
    }
    if( nGone==nGoneAlloc ){
      int nNew = nGoneAlloc ? nGoneAlloc*2 : 16;
      i64 *aNew = sqlite3_realloc64(aGone, sizeof(i64)*nNew);
      char **azNew = sqlite3_realloc64(azGone, sizeof(char*)*nNew);
      if( aNew ) aGone = aNew;
      if( azNew ) azGone = azNew;
      if( aNew==0 || azNew==0 ){ rc = SQLITE_NOMEM; break; }
      nGoneAlloc = nNew;
    }
    azGone[nGone] = sqlite3_mprintf("%s", zTopic ? zTopic : "");
    aGone[nGone] = iPart;
    if( azGone[nGone++]==0 ){ rc = SQLITE_NOMEM; break; }
  }
  if( rc==SQLITE_OK ){
    rc = sqlite3StreamStorageReset(p, pSel, pzErr);
  }else{
    sqlite3_reset(pSel);
  }
  if( rc ) goto out;

  /* Pass 2: write the differences. */
  for(j=0; rc==SQLITE_OK && j<nGone; j++){
    rc = streamAssignWrite(p, pDel, zGroup, azGone[j], aGone[j], 0, 0, pzErr);
  }
  for(j=0, k=0; rc==SQLITE_OK && j<nTopic; j++){
    int iP;
    for(iP=0; rc==SQLITE_OK && iP<aPart[j]; iP++, k++){
      if( aOwner[k]<0 || aSeen[k]==1 ) continue;
      rc = streamAssignWrite(p, aSeen[k] ? pMove : pIns, zGroup, azTopic[j],
                             iP, aMem[aOwner[k]].zId, -iGen-1, pzErr);
    }
  }

 out:
  for(j=0; j<nGone; j++) sqlite3_free(azGone[j]);
  sqlite3_free(azGone);
  sqlite3_free(aGone);
  sqlite3_free(aSeen);
  return rc;
}

/*
** Recompute the assignment of zGroup and store it: generation + 1.
** Linear in the members, subscriptions and partitions (apart from the
** sorts), and it writes only the assignment rows that change.
*/
static int streamRebalance(StreamCtx *p, const char *zGroup, char **pzErr){
  StreamGrpMember *aMem = 0;
  int nMem = 0;
  const char **azTopic = 0;    /* Subscribed topics (point into aMem) */
  int *aPart = 0, *aBase = 0, *aOwner = 0;
  int *aArrTopic = 0;          /* Per member: topic of apArr[i], or -1 */
  StreamJson **apObj = 0, **apArr = 0;
  u8 *aSub = 0;
  int nTopic = 0, nTotal = 0, nSub = 0;
  char *zStrategy = 0;
  StreamJson *pAssign = 0, *pMembers = 0, *pSnap = 0;
  char *zAssign = 0, *zMembers = 0, *zSnap = 0;
  int rc, i, j, k, nOthers;
  i64 iGen = 0, iNow = sqlite3StreamNow(p);
  int iLeader = -1;

  rc = streamNextGeneration(p, zGroup, &iGen, pzErr);
  if( rc ) return rc;
  rc = streamLoadMembers(p, zGroup, &aMem, &nMem, pzErr);
  if( rc ) goto out;

  /* Topics: the union of the subscriptions, sorted, with partitions. */
  for(i=0; i<nMem; i++) nSub += sqlite3StreamJsonCount(aMem[i].pTopics);
  azTopic = sqlite3_malloc64(sizeof(char*)*((i64)nSub + 1));
  if( azTopic==0 ){ rc = SQLITE_NOMEM; goto out; }
  for(i=0; i<nMem; i++){
    const StreamJson *pT;
    STREAM_JSON_FOREACH(pT, aMem[i].pTopics) azTopic[nTopic++] = pT->zValue;
  }
  qsort(azTopic, nTopic, sizeof(char*), streamNameCmp);
  for(i=j=0; i<nTopic; i++){
    if( j==0 || strcmp(azTopic[j-1], azTopic[i])!=0 ) azTopic[j++] = azTopic[i];
  }
  nTopic = j;
  aPart = sqlite3_malloc64(sizeof(int)*((i64)nTopic + 1));
  aBase = sqlite3_malloc64(sizeof(int)*((i64)nTopic + 1));
  if( aPart==0 || aBase==0 ){ rc = SQLITE_NOMEM; goto out; }
  for(j=0; j<nTopic; j++){
    StreamTopic t;
    rc = sqlite3StreamTopicGet(p, azTopic[j], &t, 0);
    aPart[j] = rc==SQLITE_OK ? t.nPartition : 0;
    if( rc==SQLITE_NOTFOUND ) rc = SQLITE_OK;
    if( rc ){ sqlite3StreamDbErr(p->db, pzErr, rc); goto out; }
    aBase[j] = nTotal;
    nTotal += aPart[j];
  }

  /* Subscription matrix, then the assignor. */
  aSub = sqlite3_malloc64((i64)nMem*nTopic + 1);
  aOwner = sqlite3_malloc64(sizeof(int)*((i64)nTotal + 1));
  if( aSub==0 || aOwner==0 ){ rc = SQLITE_NOMEM; goto out; }
  memset(aSub, 0, (size_t)nMem*nTopic + 1);
  for(i=0; i<nTotal; i++) aOwner[i] = -1;
  for(i=0; i<nMem; i++){
    const StreamJson *pT;
    STREAM_JSON_FOREACH(pT, aMem[i].pTopics){
      j = streamNameFind(azTopic, nTopic, pT->zValue);
      if( j>=0 ) aSub[(i64)i*nTopic+j] = 1;
    }
    if( iLeader<0 || aMem[i].iJoined<aMem[iLeader].iJoined ) iLeader = i;
  }
  rc = sqlite3StreamCatGroupStrategy(p, zGroup, 0, &zStrategy, &nOthers,
                                     pzErr);
  if( rc ) goto out;
  if( nMem>0 && nTopic>0 ){
    StreamAssignInput in;
    in.nMember = nMem;
    in.nTopic = nTopic;
    in.aPartitions = aPart;
    in.aSub = aSub;
    rc = sqlite3StreamAssign(
        (zStrategy && strcmp(zStrategy, "roundrobin")==0)
          ? STREAM_ASSIGN_ROUNDROBIN : STREAM_ASSIGN_RANGE, &in, aOwner);
    if( rc ) goto out;
  }

  /* The JSON forms, in one pass over the partitions: assignment
  ** {member:{topic:[p]}}, members, topic_partitions. */
  pAssign = sqlite3StreamJsonNewObject();
  pMembers = sqlite3StreamJsonNewArray();
  pSnap = sqlite3StreamJsonNewObject();
  apObj = sqlite3_malloc64(sizeof(StreamJson*)*((i64)nMem + 1));
  apArr = sqlite3_malloc64(sizeof(StreamJson*)*((i64)nMem + 1));
  aArrTopic = sqlite3_malloc64(sizeof(int)*((i64)nMem + 1));
  if( !pAssign || !pMembers || !pSnap || !apObj || !apArr || !aArrTopic ){
    rc = SQLITE_NOMEM;
    goto out;
  }
  for(i=0; i<nMem; i++){
    apObj[i] = sqlite3StreamJsonAddObject(pAssign, aMem[i].zId);
    apArr[i] = 0;
    aArrTopic[i] = -1;
    if( apObj[i]==0
     || !sqlite3StreamJsonAppend(pMembers,
                                 sqlite3StreamJsonNewString(aMem[i].zId)) ){
      rc = SQLITE_NOMEM; goto out;
    }
  }
  for(j=0, k=0; j<nTopic; j++){
    int iP;
    if( sqlite3StreamJsonAddNumber(pSnap, azTopic[j], aPart[j])==0 ){
      rc = SQLITE_NOMEM; goto out;
    }
    for(iP=0; iP<aPart[j]; iP++, k++){
      i = aOwner[k];
      if( i<0 ) continue;
      if( aArrTopic[i]!=j ){
        apArr[i] = sqlite3StreamJsonAddArray(apObj[i], azTopic[j]);
        aArrTopic[i] = j;
      }
      if( apArr[i]==0
       || !sqlite3StreamJsonAppend(apArr[i], sqlite3StreamJsonNewNumber(iP)) ){
        rc = SQLITE_NOMEM; goto out;
      }
    }
  }
  zAssign = sqlite3StreamJsonPrint(pAssign, 0);
  zMembers = sqlite3StreamJsonPrint(pMembers, 0);
  zSnap = sqlite3StreamJsonPrint(pSnap, 0);
  if( !zAssign || !zMembers || !zSnap ){
    rc = SQLITE_NOMEM;
    goto out;
  }

  /* Store: group row, then the assignment rows that change. */
  rc = sqlite3StreamCatRun(p, STREAM_CAT_GROUP_STORE, pzErr,
      "ttttiti", zGroup, iLeader>=0 ? aMem[iLeader].zId : (const char*)0,
      zMembers, zAssign, iNow, zSnap, iGen);
  if( rc ) goto out;
  rc = streamAssignStore(p, zGroup, aMem, azTopic, aPart, aBase, nTopic,
                         aOwner, nTotal, iGen, pzErr);
  if( rc ) goto out;
  rc = streamRebalanceEvent(p, zGroup, iGen, zMembers, zAssign, pzErr);

 out:
  for(i=0; i<nMem; i++){
    sqlite3_free(aMem[i].zId);
    sqlite3StreamJsonFree(aMem[i].pTopics);
  }
  sqlite3_free(aMem);
  sqlite3_free(azTopic);
  sqlite3_free(aPart);
  sqlite3_free(aBase);
  sqlite3_free(aSub);
  sqlite3_free(aOwner);
  sqlite3_free(apObj);
  sqlite3_free(apArr);
  sqlite3_free(aArrTopic);
  sqlite3_free(zStrategy);
  sqlite3StreamJsonFree(pAssign);
  sqlite3StreamJsonFree(pMembers);
  sqlite3StreamJsonFree(pSnap);
  sqlite3_free(zAssign);
  sqlite3_free(zMembers);
  sqlite3_free(zSnap);
  return rc;
}

int sqlite3StreamGroupExpire(StreamCtx *p, const char *zGroup, int *pnLive,
                             char **pzErr){
  int rc, nDel;
  if( pnLive ) *pnLive = 0;
  rc = sqlite3StreamCatMembersExpire(p, zGroup, sqlite3StreamNow(p), &nDel,
                                     pzErr);
  if( rc ) return rc;
  if( nDel>0 ){
    rc = streamRebalance(p, zGroup, pzErr);
    if( rc ) return rc;
  }
  if( pnLive ){
    rc = sqlite3StreamCatMemberCount(p, zGroup, pnLive, pzErr);
  }
  return rc;
}

/* Parsed join options. */
typedef struct StreamJoinOpts StreamJoinOpts;
struct StreamJoinOpts {
  const char *zStrategy;       /* "range" or "roundrobin" */
  i64 sessionTimeoutMs;        /* session.timeout.ms */
  i64 maxPollIntervalMs;       /* max.poll.interval.ms */
  int eReset;                  /* auto.offset.reset */
  int bAutoCommit;             /* enable.auto.commit */
  i64 autoCommitIntervalMs;    /* auto.commit.interval.ms */
  i64 maxPollRecords;          /* max.poll.records */
  i64 fetchMaxBytes;           /* fetch.max.bytes */
};

static const char *const azReset[] = { "earliest", "latest", "none", 0 };

static int streamOptInt(const StreamJson *pV, i64 iMin, i64 iMax, i64 *pOut,
                        const char *zKey, char **pzErr){
  i64 v;
  int bRange;
  if( !sqlite3StreamJsonIsNumber(pV) && !sqlite3StreamJsonIsString(pV) ){
    goto bad;
  }
  if( !sqlite3StreamJsonInt(pV, &v, &bRange) ){
    if( !bRange ) goto bad;
    return sqlite3StreamErr(pzErr, SQLITE_RANGE,
        "option %s must be between %lld and %lld, got %.40s",
        zKey, iMin, iMax, pV->zValue ? pV->zValue : "?");
  }
  if( v<iMin || v>iMax ){
    return sqlite3StreamErr(pzErr, SQLITE_RANGE,
        "option %s must be between %lld and %lld, got %lld",
        zKey, iMin, iMax, v);
  }
  *pOut = v;
  return SQLITE_OK;
 bad:
  return sqlite3StreamErr(pzErr, SQLITE_MISMATCH,
                          "option %s must be an integer", zKey);
}

static int streamJoinOptions(const char *zJson, StreamJoinOpts *pO,
                             char **pzNorm, char **pzErr){
  StreamJson *pRoot = 0, *pNorm = 0;
  StreamJson trimmed;          /* A value trimmed, as Kafka's ConfigDef
                               ** trims every value */
  const StreamJson *pItem;
  int rc = SQLITE_OK;
  pO->zStrategy = "range";
  pO->sessionTimeoutMs = 45000;
  pO->maxPollIntervalMs = 300000;
  pO->eReset = STREAM_RESET_LATEST;
  pO->bAutoCommit = 1;
  pO->autoCommitIntervalMs = 5000;
  pO->maxPollRecords = 500;
  pO->fetchMaxBytes = 52428800;
  if( zJson ){
    if( sqlite3StreamJsonCheck(zJson, strlen(zJson))!=STREAM_JSON_OBJECT ){
      return sqlite3StreamErr(pzErr, SQLITE_ERROR,
                              "join options must be a JSON object");
    }
    pRoot = sqlite3StreamJsonParse(zJson, -1);
    if( pRoot==0 ) return SQLITE_NOMEM;
  }
  STREAM_JSON_FOREACH(pItem, pRoot){
    const char *zKey = pItem->zKey;
    int bTrim = sqlite3StreamJsonTrimmed(pItem, &trimmed);
    if( bTrim<0 ){
      rc = SQLITE_NOMEM;
      break;
    }
    if( bTrim ) pItem = &trimmed;
    if( strcmp(zKey, "strategy")==0 ){
      const char *z = sqlite3StreamJsonIsString(pItem) ? pItem->zValue : "";
      if( strcmp(z, "range")==0 ) pO->zStrategy = "range";
      else if( strcmp(z, "roundrobin")==0 ) pO->zStrategy = "roundrobin";
      else{
        rc = sqlite3StreamErr(pzErr, SQLITE_ERROR,
            "unknown strategy %s%s%s: use range or roundrobin",
            sqlite3StreamJsonIsString(pItem) ? "\"" : "",
            sqlite3StreamJsonIsString(pItem) ? z : "(not a string)",
            sqlite3StreamJsonIsString(pItem) ? "\"" : "");
      }
    }else if( strcmp(zKey, "session.timeout.ms")==0 ){
      rc = streamOptInt(pItem, 1, 86400000, &pO->sessionTimeoutMs, zKey, pzErr);
    }else if( strcmp(zKey, "max.poll.interval.ms")==0 ){
      rc = streamOptInt(pItem, 1, 2147483647, &pO->maxPollIntervalMs, zKey,
                        pzErr);
    }else if( strcmp(zKey, "auto.commit.interval.ms")==0 ){
      rc = streamOptInt(pItem, 0, 2147483647, &pO->autoCommitIntervalMs, zKey,
                        pzErr);
    }else if( strcmp(zKey, "max.poll.records")==0 ){
      rc = streamOptInt(pItem, 1, 2147483647, &pO->maxPollRecords, zKey,
                        pzErr);
    }else if( strcmp(zKey, "fetch.max.bytes")==0 ){
      rc = streamOptInt(pItem, 0, 2147483647, &pO->fetchMaxBytes, zKey, pzErr);
    }else if( strcmp(zKey, "enable.auto.commit")==0 ){
      if( sqlite3StreamJsonIsBool(pItem) ){
        pO->bAutoCommit = sqlite3StreamJsonIsTrue(pItem);
      }else if( sqlite3StreamJsonIsString(pItem)    /* Kafka's BOOLEAN */
             && (sqlite3_stricmp(pItem->zValue, "true")==0
              || sqlite3_stricmp(pItem->zValue, "false")==0) ){
        pO->bAutoCommit = (pItem->zValue[0]|0x20)=='t';
      }else{
        rc = sqlite3StreamErr(pzErr, SQLITE_MISMATCH,
                              "option enable.auto.commit must be true or false");
      }
    }else if( strcmp(zKey, "auto.offset.reset")==0 ){
      int i;
      for(i=0; azReset[i]; i++){
        if( sqlite3StreamJsonIsString(pItem) && strcmp(pItem->zValue,
                                                       azReset[i])==0 ){
          break;
        }
      }
      if( azReset[i]==0 ){
        rc = sqlite3StreamErr(pzErr, SQLITE_ERROR,
            "option auto.offset.reset must be one of: earliest, latest, none");
      }else{
        pO->eReset = i;
      }
    }else{
      rc = sqlite3StreamErr(pzErr, SQLITE_ERROR,
          "unknown join option: %s (known: strategy, session.timeout.ms,"
          " max.poll.interval.ms, auto.offset.reset, enable.auto.commit,"
          " auto.commit.interval.ms, max.poll.records, fetch.max.bytes)",
          zKey);
    }
    if( bTrim ) sqlite3_free(trimmed.zValue);  /* (the loop steps on from
                                               ** the copy's pNext) */
    if( rc ) break;
  }
  sqlite3StreamJsonFree(pRoot);
  if( rc ) return rc;
  pNorm = sqlite3StreamJsonNewObject();
  if( pNorm==0 ) return SQLITE_NOMEM;
  sqlite3StreamJsonAddString(pNorm, "strategy", pO->zStrategy);
  sqlite3StreamJsonAddNumber(pNorm, "session.timeout.ms",
                          (double)pO->sessionTimeoutMs);
  sqlite3StreamJsonAddNumber(pNorm, "max.poll.interval.ms",
                          (double)pO->maxPollIntervalMs);
  sqlite3StreamJsonAddString(pNorm, "auto.offset.reset", azReset[pO->eReset]);
  sqlite3StreamJsonAddBool(pNorm, "enable.auto.commit", pO->bAutoCommit);
  sqlite3StreamJsonAddNumber(pNorm, "auto.commit.interval.ms",
                          (double)pO->autoCommitIntervalMs);
  sqlite3StreamJsonAddNumber(pNorm, "max.poll.records",
                          (double)pO->maxPollRecords);
  sqlite3StreamJsonAddNumber(pNorm, "fetch.max.bytes",
                             (double)pO->fetchMaxBytes);
  {
    char *z = sqlite3StreamJsonPrint(pNorm, 0);
    *pzNorm = z ? sqlite3_mprintf("%s", z) : 0;
    sqlite3_free(z);
  }
  sqlite3StreamJsonFree(pNorm);
  return *pzNorm ? SQLITE_OK : SQLITE_NOMEM;
}

/* Validate the subscription: a JSON array of 0..1000 topic names (Kafka
** lets a consumer subscribe to topics that do not exist yet, and an empty
** subscription is an unsubscribe); *pzSorted receives it sorted and
** without duplicates. */
static int streamJoinTopics(const char *zJson, char **pzSorted,
                            char **pzErr){
  StreamJson *pRoot, *pOut = 0;
  const StreamJson *pItem;
  const char **az = 0;
  int n = 0, i, j, rc = SQLITE_OK;
  if( sqlite3StreamJsonCheck(zJson, strlen(zJson))!=STREAM_JSON_ARRAY ){
    return sqlite3StreamErr(pzErr, SQLITE_ERROR,
        "topics must be a JSON array of topic names, e.g. '[\"orders\"]'");
  }
  pRoot = sqlite3StreamJsonParse(zJson, -1);
  if( pRoot==0 ) return SQLITE_NOMEM;
  n = sqlite3StreamJsonCount(pRoot);
  if( n>STREAM_MAX_SUBSCRIPTION ){
    rc = sqlite3StreamErr(pzErr, SQLITE_ERROR,
        "topics must name at most %d topics, got %d",
        STREAM_MAX_SUBSCRIPTION, n);
    goto out;
  }
  az = sqlite3_malloc64(sizeof(char*)*((i64)n + 1));
  if( az==0 ){ rc = SQLITE_NOMEM; goto out; }
  i = 0;
  STREAM_JSON_FOREACH(pItem, pRoot){
    if( !sqlite3StreamJsonIsString(pItem) ){
      rc = sqlite3StreamErr(pzErr, SQLITE_MISMATCH,
                            "topics must be a JSON array of strings");
      goto out;
    }
    rc = sqlite3StreamTopicNameCheck(pItem->zValue, pzErr);
    if( rc ) goto out;
    az[i++] = pItem->zValue;
  }
  qsort(az, i, sizeof(char*), streamNameCmp);
  for(n=i, i=j=0; i<n; i++){
    if( j==0 || strcmp(az[j-1], az[i])!=0 ) az[j++] = az[i];
  }
  pOut = sqlite3StreamJsonNewStringArray(az, j);
  if( pOut==0 ){ rc = SQLITE_NOMEM; goto out; }
  {
    char *z = sqlite3StreamJsonPrint(pOut, 0);
    *pzSorted = z ? sqlite3_mprintf("%s", z) : 0;
    sqlite3_free(z);
    if( *pzSorted==0 ) rc = SQLITE_NOMEM;
  }
 out:
  sqlite3_free(az);
  sqlite3StreamJsonFree(pOut);
  sqlite3StreamJsonFree(pRoot);
  return rc;
}

/* The member's entry of the group's assignment (the member id is bound,
** never spliced into a JSON path). */
int sqlite3StreamAssignmentJson(StreamCtx *p, const char *zGroup,
                                const char *zMember, char **pzJson,
                                char **pzErr){
  int rc;
  *pzJson = 0;
  rc = streamIdCheck(zGroup, "group id", pzErr);
  if( rc==SQLITE_OK ) rc = streamIdCheck(zMember, "member id", pzErr);
  if( rc==SQLITE_OK ){
    rc = sqlite3StreamCatMemberAssignment(p, zGroup, zMember, pzJson, pzErr);
  }
  if( rc || *pzJson ) return rc;
  return sqlite3StreamErr(pzErr, SQLITE_NOTFOUND,
                          "unknown member %s of group %s", zMember, zGroup);
}

int sqlite3StreamJoin(StreamCtx *p, const char *zGroup, const char *zMember,
                      const char *zTopics, const char *zOptions,
                      char **pzJson, char **pzErr){
  StreamJoinOpts o;
  char *zSorted = 0, *zNorm = 0, *zAssign = 0, *zStrategy = 0;
  i64 iInc = 1, iNow;
  int rc, nLive = 0, nOthers = 0, bFound = 0;

  *pzJson = 0;
  rc = streamIdCheck(zGroup, "group id", pzErr);
  if( rc==SQLITE_OK ) rc = streamIdCheck(zMember, "member id", pzErr);
  if( rc==SQLITE_OK && zTopics==0 ){
    rc = sqlite3StreamErr(pzErr, SQLITE_MISUSE, "topics must be text, not NULL");
  }
  if( rc==SQLITE_OK ) rc = streamJoinTopics(zTopics, &zSorted, pzErr);
  if( rc==SQLITE_OK ) rc = streamJoinOptions(zOptions, &o, &zNorm, pzErr);
  if( rc ) goto out;
  rc = sqlite3StreamEnsureSchema(p, pzErr);
  if( rc ) goto out;

  /* Expire the dead, then check the strategy against the live others. */
  rc = sqlite3StreamGroupExpire(p, zGroup, &nLive, pzErr);
  if( rc ) goto out;
  rc = sqlite3StreamCatGroupStrategy(p, zGroup, zMember, &zStrategy, &nOthers,
                                     pzErr);
  if( rc ) goto out;
  if( nOthers>0 && zStrategy && strcmp(zStrategy, o.zStrategy)!=0 ){
    rc = sqlite3StreamErr(pzErr, SQLITE_ERROR,
        "group %s uses strategy %s; member %s asked for %s"
        " (Kafka's INCONSISTENT_GROUP_PROTOCOL)",
        zGroup, zStrategy, zMember, o.zStrategy);
    goto out;
  }

  iNow = sqlite3StreamNow(p);
  rc = sqlite3StreamCatRun(p, STREAM_CAT_GROUP_ENSURE, pzErr,
      "tit", zGroup, iNow, o.zStrategy);
  if( rc ) goto out;
  rc = sqlite3StreamCatMemberIncarnation(p, zGroup, zMember, &iInc, &bFound,
                                         pzErr);
  if( rc ) goto out;
  iInc = bFound ? sqlite3StreamOffsetAfter(iInc) : 1;
  rc = sqlite3StreamCatRun(p, STREAM_CAT_MEMBER_UPSERT, pzErr,
      "ttittiiiiiiii", zGroup, zMember, iInc, zSorted, zNorm,
      o.sessionTimeoutMs, o.maxPollIntervalMs, (i64)o.bAutoCommit,
      o.autoCommitIntervalMs, o.maxPollRecords, o.fetchMaxBytes,
      (i64)o.eReset, iNow);
  if( rc ) goto out;
  /* A re-joining member starts again from the committed offsets. */
  rc = sqlite3StreamCatRun(p, STREAM_CAT_MARKS_CLEAR, pzErr, "tt", zGroup,
                           zMember);
  if( rc ) goto out;
  rc = streamRebalance(p, zGroup, pzErr);
  if( rc ) goto out;
  rc = streamIncarnSet(p, zGroup, zMember, iInc);
  if( rc ) goto out;

  rc = sqlite3StreamAssignmentJson(p, zGroup, zMember, &zAssign, pzErr);
  if( rc ) goto out;
  rc = sqlite3StreamCatJoinAnswer(p, zGroup, zAssign, pzJson, pzErr);

 out:
  sqlite3_free(zSorted);
  sqlite3_free(zNorm);
  sqlite3_free(zAssign);
  sqlite3_free(zStrategy);
  return rc;
}

/*
** Read the member (no writes) and check it: joined on this connection,
** still a member, not fenced.  *pbExpire: the group has an expired member.
** *pbBeat: this member's heartbeat is due - a heartbeat (and, with bPoll,
** the poll time that max.poll.interval.ms watches) is written at most
** every min(session.timeout.ms, max.poll.interval.ms)/3, as a Kafka
** client's heartbeat.interval.ms is a third of its session timeout, so
** that a member that keeps calling is never seen expired; a poll writes
** the first poll time at once.  pbChanged (if not NULL): a topic of the
** group's assignment has another partition count now (or was deleted),
** read by the same statement.
*/
static int streamMemberRead(StreamCtx *p, StreamCtx *pRead,
                            const char *zGroup, const char *zMember,
                            StreamMember *pM, int bPoll, int *pbExpire,
                            int *pbBeat, int *pbChanged, i64 *piUntil,
                            char **pzErr){
  StreamIncarnation **pp;
  sqlite3_stmt *pStmt;
  i64 iInc = -1, iNow = sqlite3StreamNow(p), iUntil = iNow - 1;
  int rc;

  *pbExpire = *pbBeat = 0;
  if( pbChanged ) *pbChanged = 0;
  rc = streamIdCheck(zGroup, "group id", pzErr);
  if( rc==SQLITE_OK ) rc = streamIdCheck(zMember, "member id", pzErr);
  if( rc ) return rc;
  pp = streamIncarnFind(p, zGroup, zMember);
  if( *pp==0 ){
    return sqlite3StreamErr(pzErr, SQLITE_ERROR,
        "member %s has not joined group %s on this connection"
        " (call stream_join first)", zMember, zGroup);
  }
  pStmt = sqlite3StreamCatStmt(pRead, pbChanged ? STREAM_CAT_MEMBER_PEEK
                                                : STREAM_CAT_MEMBER_READ,
                               pzErr);
  if( pStmt==0 ) return sqlite3StreamStmtErr(pRead);
  sqlite3_bind_text(pStmt, 1, zGroup, -1, SQLITE_STATIC);
  sqlite3_bind_text(pStmt, 2, zMember, -1, SQLITE_STATIC);
  if( sqlite3_step(pStmt)==SQLITE_ROW ){
    i64 nThird = sqlite3_column_int64(pStmt, 8) / 3;
    i64 iHeartbeat = sqlite3_column_int64(pStmt, 9);
    int bPolled = sqlite3_column_type(pStmt, 10)!=SQLITE_NULL;
    i64 iPolled = sqlite3_column_int64(pStmt, 10), iBy;
    iInc = sqlite3_column_int64(pStmt, 0);
    pM->iGeneration = sqlite3_column_int64(pStmt, 1);
    pM->bAutoCommit = sqlite3_column_int(pStmt, 2);
    pM->autoCommitIntervalMs = sqlite3_column_int64(pStmt, 3);
    pM->maxPollRecords = sqlite3_column_int64(pStmt, 4);
    pM->fetchMaxBytes = sqlite3_column_int64(pStmt, 5);
    pM->eReset = sqlite3_column_int(pStmt, 6);
    /* The group's least expiry deadline: a member is expired once now
    ** is past its own (the condition of STREAM_CAT_MEMBER_EXPIRE). */
    if( sqlite3_column_type(pStmt, 7)!=SQLITE_NULL ){
      iUntil = sqlite3_column_int64(pStmt, 7);
      *pbExpire = iUntil<iNow;
    }else{
      iUntil = 0x7fffffffffffffffLL;       /* no member: never */
    }
    *pbBeat = sqlite3StreamSubSat(iNow, iHeartbeat) >= nThird
           || (bPoll && (!bPolled
                || sqlite3StreamSubSat(iNow, iPolled) >= nThird));
    /* The last millisecond at which these answers hold, while the rows
    ** read do not change: no expiry and no heartbeat due up to it. */
    iBy = sqlite3StreamSubSat(sqlite3StreamAddSat(iHeartbeat, nThird), 1);
    if( iBy<iUntil ) iUntil = iBy;
    if( bPoll ){
      iBy = bPolled
          ? sqlite3StreamSubSat(sqlite3StreamAddSat(iPolled, nThird), 1)
          : sqlite3StreamSubSat(iNow, 1);
      if( iBy<iUntil ) iUntil = iBy;
    }
    if( pbChanged ) *pbChanged = sqlite3_column_int(pStmt, 11);
  }
  if( piUntil ) *piUntil = iUntil;
  rc = sqlite3StreamStorageReset(pRead, pStmt, pzErr);
  if( rc ) return rc;
  if( iInc<0 ){
    streamIncarnForget(p, zGroup, zMember);
    return sqlite3StreamErr(pzErr, SQLITE_ERROR,
        "unknown member %s of group %s: it left or expired"
        " (session.timeout.ms or max.poll.interval.ms exceeded);"
        " re-join with stream_join (Kafka's UNKNOWN_MEMBER_ID)",
        zMember, zGroup);
  }
  if( iInc!=(*pp)->iIncarnation ){
    return sqlite3StreamErr(pzErr, SQLITE_ERROR,
        "member %s of group %s was fenced: it joined again elsewhere"
        " (Kafka's FENCED_INSTANCE_ID)", zMember, zGroup);
  }
  pM->pInc = *pp;
  pM->bWriteDue = 0;
  return SQLITE_OK;
}

int sqlite3StreamMemberPeekUntil(StreamCtx *p, StreamCtx *pRead,
                                 const char *zGroup, const char *zMember,
                                 StreamMember *pM, i64 *piUntil,
                                 char **pzErr){
  int bExpire, bBeat, bChanged = 0;
  int rc = streamMemberRead(p, pRead, zGroup, zMember, pM, 1, &bExpire,
                            &bBeat, &bChanged, piUntil, pzErr);
  if( rc==SQLITE_OK ) pM->bWriteDue = bExpire || bBeat || bChanged;
  return rc;
}
int sqlite3StreamMemberPeek(StreamCtx *p, StreamCtx *pRead,
                            const char *zGroup, const char *zMember,
                            StreamMember *pM, char **pzErr){
  return sqlite3StreamMemberPeekUntil(p, pRead, zGroup, zMember, pM, 0,
                                      pzErr);
}

/* Check the member, expire the dead and rebalance as needed (unless
** bFence: see sqlite3StreamMemberFence), and write the heartbeat when due
** (bPoll: a poll's). */
static int streamMemberCheck(StreamCtx *p, const char *zGroup,
                             const char *zMember, StreamMember *pM,
                             int bPoll, int bFence, char **pzErr){
  StreamMember m;
  int bExpire, bBeat, bChanged = 0, rc;
  if( pM==0 ) pM = &m;
  /* The partition counts (a fence's check ignores them) are read with
  ** the member, after the expiry as before. */
  rc = streamMemberRead(p, p, zGroup, zMember, pM, bPoll, &bExpire, &bBeat,
                        bFence ? 0 : &bChanged, 0, pzErr);
  if( bFence ) bExpire = 0;
  if( rc==SQLITE_OK && bExpire ){
    rc = sqlite3StreamGroupExpire(p, zGroup, 0, pzErr);
    /* this member may be one of them */
    if( rc==SQLITE_OK ) rc = streamMemberRead(p, p, zGroup, zMember, pM,
                                              bPoll, &bExpire, &bBeat,
                                              &bChanged, 0, pzErr);
  }
  if( rc==SQLITE_OK && bChanged ){
    rc = streamRebalance(p, zGroup, pzErr);
    if( rc==SQLITE_OK ) rc = streamMemberRead(p, p, zGroup, zMember, pM,
                                              bPoll, &bExpire, &bBeat, 0,
                                              0, pzErr);
  }
  if( rc==SQLITE_OK && bBeat ){
    rc = sqlite3StreamCatRun(p, STREAM_CAT_HEARTBEAT, pzErr, "ttii", zGroup,
                             zMember, sqlite3StreamNow(p), (i64)bPoll);
  }
  return rc;
}

int sqlite3StreamMemberCheck(StreamCtx *p, const char *zGroup,
                             const char *zMember, StreamMember *pM,
                             char **pzErr){
  return streamMemberCheck(p, zGroup, zMember, pM, 0, 0, pzErr);
}

int sqlite3StreamMemberPoll(StreamCtx *p, const char *zGroup,
                            const char *zMember, StreamMember *pM,
                            char **pzErr){
  return streamMemberCheck(p, zGroup, zMember, pM, 1, 0, pzErr);
}

/*
** The check of a commit by a member (stream_commit_sync, stream_commit
** with a member, a dead letter): fencing and the heartbeat only.  It
** neither expires other members nor rebalances: a rebalance there could
** take from the member, in the middle of its transaction, a partition
** whose rows its poll has handed out, and the commit would then silently
** leave them out while the transaction's outputs commit - a duplicate
** when the next owner reads them again (eos.test 5.*).  Kafka accepts
** the commits of the current generation while a rebalance is prepared
** (members commit in onPartitionsRevoked); the new generation forms when
** the members rejoin - here, at the next poll, which expires the dead
** before it fetches anything.
*/
int sqlite3StreamMemberFence(StreamCtx *p, const char *zGroup,
                             const char *zMember, StreamMember *pM,
                             char **pzErr){
  return streamMemberCheck(p, zGroup, zMember, pM, 0, 1, pzErr);
}

int sqlite3StreamLeave(StreamCtx *p, const char *zGroup, const char *zMember,
                       char **pzErr){
  StreamMember m;
  i64 n;
  int rc = sqlite3StreamMemberCheck(p, zGroup, zMember, &m, pzErr);
  if( rc ) return rc;
  /* Kafka commits on close when auto-commit is on. */
  if( m.bAutoCommit ){
    rc = sqlite3StreamCommitSync(p, zGroup, zMember, &n, pzErr);
    if( rc ) return rc;
  }
  rc = sqlite3StreamCatRun(p, STREAM_CAT_MEMBER_DELETE, pzErr,
      "tt", zGroup, zMember);
  if( rc==SQLITE_OK ) rc = streamRebalance(p, zGroup, pzErr);
  if( rc==SQLITE_OK ) streamIncarnForget(p, zGroup, zMember);
  return rc;
}

int sqlite3StreamOwns(StreamCtx *p, const char *zGroup, const char *zMember,
                      const char *zTopic, i64 iPartition, int *pbOwns,
                      char **pzErr){
  return sqlite3StreamCatOwns(p, zGroup, zMember, zTopic, iPartition, pbOwns,
                              pzErr);
}
