/*
** tier.c - the tiers, driven as one: the list of tier implementations
** (StreamTierMethods, streamInt.h; warm is the first, ext/warm*.c), and
** what the rest of the engine asks of them:
**
**   SELECT stream_tier();            -- every topic (ext/func_tier.c)
**   SELECT stream_tier('orders');    -- {"segments":2,"messages":20000,...}
**
** sqlite3StreamTier() / sqlite3StreamTierMaintain(): in every configured
** tier, sweep, then per partition apply retention and move in what left
** the hot window.  sqlite3StreamTierAfterAppend(): the produce path's
** amortised hook, which looks at one partition every
** STREAM_TIER_CHECK_EVERY offsets and moves at most one bounded file,
** into a tier cheap enough to run inline (a local store).  Dropping a
** topic and compaction go to every tier.
**
** Reading: sqlite3StreamTierScanOpen() opens a scan of a range in every
** tier and merges them by (topic, partition, offset); an offset present in
** two tiers (a move interrupted between its steps) is returned once, from
** the first tier in the list.  The hot log and this merge are merged
** again by the caller (vtab/messages.c).
*/
#include "streamInt.h"
#include <string.h>
#include <stdlib.h>

#ifdef STREAM_TEST_HOOKS
# include <unistd.h>
#endif

/* The produce hook looks at a partition once per this many offsets. */
#define STREAM_TIER_CHECK_EVERY    1000

/* The tiers, hottest first.  The first is the one stream_tier(topic) asks
** to take messages (its error says why it cannot).  Cold (ext/cold.c)
** keeps a copy: it never opens here (it archives from stream_maintain()
** and stream_archive(), one commit per topic), is not read by
** stream_messages, and holds retention and compaction of the tiers before
** it back to its watermark (xHold). */
static const StreamTierMethods *const aTier[] = {
  &sqlite3StreamTierWarm,
  &sqlite3StreamTierCold,
};
#define STREAM_NTIER ((int)(sizeof(aTier)/sizeof(aTier[0])))

#ifdef STREAM_TEST_HOOKS
void sqlite3StreamTierCrashPoint(int iStep){
  const char *z = getenv("STREAM_TIER_CRASH");
  if( z && z[0]>='0' && z[0]<='9' && atoi(z)==iStep ) _exit(99);
}
#endif

/* The hold of tiers iFirst.. on (zTopic, iPart): their smallest xHold. */
static int streamTierHoldFrom(StreamCtx *p, int iFirst, const char *zTopic,
                              int iPart, const StreamTopicConfig *pCfg,
                              i64 *piHold, char **pzErr){
  int rc = SQLITE_OK, i;
  *piHold = (i64)0x7fffffffffffffffLL;
  for(i=iFirst; rc==SQLITE_OK && i<STREAM_NTIER; i++){
    i64 iHold = (i64)0x7fffffffffffffffLL;
    if( aTier[i]->xHold==0 ) continue;
    rc = aTier[i]->xHold(p, zTopic, iPart, pCfg, &iHold, pzErr);
    if( iHold<*piHold ) *piHold = iHold;
  }
  return rc;
}

int sqlite3StreamTierHold(StreamCtx *p, const char *zTopic, int iPart,
                          const StreamTopicConfig *pCfg, i64 *piHold,
                          char **pzErr){
  return streamTierHoldFrom(p, 0, zTopic, iPart, pCfg, piHold, pzErr);
}

/* Every topic name (zTopic: just that one) into *pList. */
static int streamTierTopics(StreamCtx *p, const char *zTopic,
                            StreamStrList *pList, char **pzErr){
  if( zTopic ){
    sqlite3StreamStrListAdd(pList, zTopic);
    return pList->rc;
  }
  return sqlite3StreamCatTopicList(p, 0, 0, pList, pzErr);
}

/* One tier (aTier[iTier]): sweep, then for each topic and partition
** expire (held back by the colder tiers) and move (pErrs: an error of one
** topic, or of the sweep, is recorded there and the run goes on). */
static int streamTierRunOne(StreamTier *pTier, int iTier, const char *zTopic,
                            StreamTierStats *pStats, StreamTopicErrs *pErrs,
                            char **pzErr){
  StreamCtx *p = pTier->pCtx;
  const StreamTierMethods *pM = pTier->pMethods;
  StreamStrList topics;
  int rc, i;
  memset(&topics, 0, sizeof(topics));
  rc = sqlite3StreamEnsureSchema(p, pzErr);
  if( rc==SQLITE_OK ){
    rc = pM->xSweep(pTier, zTopic, pStats, pzErr);
    if( rc ) rc = sqlite3StreamTopicErr(p->db, pErrs, zTopic, "sweep", rc,
                                        pzErr);
  }
  if( rc==SQLITE_OK ) rc = streamTierTopics(p, zTopic, &topics, pzErr);
  for(i=0; rc==SQLITE_OK && i<topics.n; i++){
    StreamTopicConfig cfg;
    int nPart = 0, iPart;
    i64 iInc = 0;
    rc = sqlite3StreamCatTopicRow(p, topics.az[i], &cfg, &nPart, &iInc, pzErr);
    /* Expiry of every partition first, then the moves: a tier may keep a
    ** move under way from one partition to the next (an upload in flight
    ** while the next file is encoded), which xMoveEnd finishes. */
    for(iPart=0; rc==SQLITE_OK && iPart<nPart; iPart++){
      i64 iHold = 0;
      rc = streamTierHoldFrom(p, iTier+1, topics.az[i], iPart, &cfg, &iHold,
                              pzErr);
      if( rc ) break;
      rc = pM->xExpire(pTier, topics.az[i], iPart, &cfg, iHold, pStats,
                       pzErr);
    }
    if( rc==SQLITE_OK && pTier->bMoveIn ){
      for(iPart=0; rc==SQLITE_OK && iPart<nPart; iPart++){
        rc = pM->xMoveIn(pTier, topics.az[i], iPart, iInc, &cfg, 0, pStats,
                         pzErr);
      }
      if( pM->xMoveEnd ){
        /* (After an error, the first error is the one reported.) */
        char *zErr2 = 0;
        int rc2 = pM->xMoveEnd(pTier, pStats, rc ? &zErr2 : pzErr);
        sqlite3_free(zErr2);
        if( rc==SQLITE_OK ) rc = rc2;
      }
    }
    if( rc ) rc = sqlite3StreamTopicErr(p->db, pErrs, topics.az[i],
                                        "tiering", rc, pzErr);
  }
  sqlite3StreamStrListFree(&topics);
  return rc;
}

/* stream_tier() (bAsked: a topic named that the first tier cannot take is
** an error) and stream_maintain() (it is not: there is nothing to do). */
static int streamTierRun(StreamCtx *p, const char *zTopic, int bAsked,
                         StreamTierStats *pStats, StreamTopicErrs *pErrs,
                         char **pzErr){
  int rc = SQLITE_OK, i;
  memset(pStats, 0, sizeof(*pStats));
  if( zTopic ){
    StreamTopic t;
    rc = sqlite3StreamTopicGet(p, zTopic, &t, pzErr);
    if( rc ) return rc;
  }
  for(i=0; rc==SQLITE_OK && i<STREAM_NTIER; i++){
    StreamTier *pTier = 0;
    rc = aTier[i]->xOpen(p, (bAsked && i==0) ? zTopic : 0, &pTier, pzErr);
    if( rc ){
      rc = sqlite3StreamTopicErr(p->db, pErrs, zTopic, "tiering", rc, pzErr);
      continue;
    }
    if( pTier==0 ) continue;
    rc = streamTierRunOne(pTier, i, zTopic, pStats, pErrs, pzErr);
    aTier[i]->xClose(pTier);
  }
  return rc;
}

int sqlite3StreamTier(StreamCtx *p, const char *zTopic,
                      StreamTierStats *pStats, char **pzErr){
  return streamTierRun(p, zTopic, 1, pStats, 0, pzErr);
}

int sqlite3StreamTierMaintain(StreamCtx *p, const char *zTopic,
                              StreamTierStats *pStats,
                              StreamTopicErrs *pErrs, char **pzErr){
  return streamTierRun(p, zTopic, 0, pStats, pErrs, pzErr);
}

int sqlite3StreamTierAfterAppend(StreamCtx *p, const StreamAppended *pA,
                                 char **pzErr){
  const char *zTopic = pA->zTopic;
  int iPart = (int)pA->pMsg->iPartition;
  i64 iOffset = pA->iOffset;
  StreamTier *pTier = 0;
  StreamTopicConfig cfg;
  StreamTierStats st;
  int nPart = 0, rc;
  i64 iInc = 0;
  STREAM_UNUSED(pzErr);           /* never fails the produce */
  if( iOffset>=STREAM_MAX_OFFSET || (iOffset+1) % STREAM_TIER_CHECK_EVERY ){
    return SQLITE_OK;
  }
  /* Only the first tier takes hot messages.  Whether it can (its store)
  ** is read without writing the transaction's pending record batches
  ** (sqlite3StreamPendingHold(), ext/produce.c): that would cut them. */
  sqlite3StreamPendingHold(p, 1);
  rc = aTier[0]->xOpen(p, 0, &pTier, 0);
  sqlite3StreamPendingHold(p, 0);
  if( rc || pTier==0 || !pTier->bInline ) goto out;
  rc = sqlite3StreamEnsureSchema(p, 0);
  if( rc ) goto out;
  rc = sqlite3StreamCatTopicRow(p, zTopic, &cfg, &nPart, &iInc, 0);
  if( rc ) goto out;
  memset(&st, 0, sizeof(st));
  aTier[0]->xMoveIn(pTier, zTopic, iPart, iInc, &cfg, 1, &st, 0);
 out:
  if( pTier ) aTier[0]->xClose(pTier);
  return SQLITE_OK;
}

int sqlite3StreamTierDropTopic(StreamCtx *p, const char *zTopic,
                               char **pzErr){
  int rc = SQLITE_OK, i;
  for(i=0; rc==SQLITE_OK && i<STREAM_NTIER; i++){
    if( aTier[i]->xDropTopic ) rc = aTier[i]->xDropTopic(p, zTopic, pzErr);
  }
  return rc;
}

int sqlite3StreamTierCompact(StreamCtx *p, const char *zTopic, int iPart,
                             i64 nMaxRewrite, i64 *pnRemoved, char **pzErr){
  int rc = SQLITE_OK, i;
  *pnRemoved = 0;
  for(i=0; rc==SQLITE_OK && i<STREAM_NTIER; i++){
    i64 n = 0, iHold = 0;
    StreamTopicConfig cfg;
    int nPart = 0;
    if( aTier[i]->xCompact==0 ) continue;
    rc = sqlite3StreamTopicConfig(p, zTopic, &cfg, &nPart, pzErr);
    if( rc==SQLITE_OK ){
      rc = streamTierHoldFrom(p, i+1, zTopic, iPart, &cfg, &iHold, pzErr);
    }
    if( rc==SQLITE_OK ){
      rc = aTier[i]->xCompact(p, zTopic, iPart, nMaxRewrite, iHold, &n,
                              pzErr);
    }
    *pnRemoved += n;
  }
  return rc;
}

int sqlite3StreamTierSettingCheck(StreamCtx *p, const char *zName,
                                  const char *zValue, char **pzErr){
  int rc;
  char *z;
  STREAM_UNUSED(p);
  if( strcmp(zName, "warm.file.delete.delay.ms")==0 && zValue ){
    /* (ext/warm.c) milliseconds, as Kafka's file.delete.delay.ms */
    const char *z2 = zValue;
    while( *z2>='0' && *z2<='9' ) z2++;
    if( z2==zValue || *z2 || z2-zValue>15 ){
      if( pzErr ){
        *pzErr = sqlite3_mprintf(STREAM_ERR "warm.file.delete.delay.ms must"
            " be an integer number of ms from 0 to 999999999999999, got"
            " %.40s%s", zValue, strlen(zValue)>40 ? "..." : "");
      }
      return SQLITE_ERROR;
    }
    return SQLITE_OK;
  }
  /* cold.store (ext/cold.c) takes the same URLs as warm.store. */
  if( (strcmp(zName, "warm.store")!=0 && strcmp(zName, "cold.store")!=0)
   || zValue==0 ) return SQLITE_OK;
  rc = sqlite3StreamStoreUrlCheck(zValue, pzErr);
  z = rc && pzErr && *pzErr ? strstr(*pzErr, "warm.store") : 0;
  if( z && zName[0]=='c' ) memcpy(z, "cold", 4);   /* name the setting */
  return rc;
}

/**************************************************************************
** Reading every tier.
*/

struct StreamTierRead {
  StreamCtx *pCtx;             /* Connection */
  StreamTierReader *apReader[STREAM_NTIER];  /* One per tier, made on the
                                             ** first scan */
};

/* A scan of every tier: the head row of each, merged. */
struct StreamTierMerge {
  StreamTierRead *pRead;       /* Read state it belongs to */
  int bDesc;                   /* Descending order */
  int iCur;                    /* Tier of the row returned last, or -1 */
  StreamTierScan *apScan[STREAM_NTIER];      /* Scans (NULL: done) */
  const StreamPqRow *apRow[STREAM_NTIER];    /* Their head rows */
};

int sqlite3StreamMsgCompare(const char *zA, int nA, i64 iPartA, i64 iOffA,
                            const char *zB, int nB, i64 iPartB, i64 iOffB){
  int c = memcmp(zA ? zA : "", zB ? zB : "", (size_t)(nA<nB ? nA : nB));
  if( c==0 ) c = nA - nB;
  if( c==0 ) c = iPartA<iPartB ? -1 : iPartA>iPartB;
  if( c==0 ) c = iOffA<iOffB ? -1 : iOffA>iOffB;
  return c;
}

static int streamTierRowCompare(const StreamPqRow *a, const StreamPqRow *b){
  return sqlite3StreamMsgCompare(a->zTopic, a->nTopic, a->iPartition,
      a->iOffset, b->zTopic, b->nTopic, b->iPartition, b->iOffset);
}

int sqlite3StreamTierReadNew(StreamCtx *p, StreamTierRead **pp){
  StreamTierRead *pRead = sqlite3_malloc64(sizeof(*pRead));
  *pp = 0;
  if( pRead==0 ) return SQLITE_NOMEM;
  memset(pRead, 0, sizeof(*pRead));
  pRead->pCtx = p;
  *pp = pRead;
  return SQLITE_OK;
}

void sqlite3StreamTierReadFinalize(StreamTierRead *pRead){
  int i;
  if( pRead==0 ) return;
  for(i=0; i<STREAM_NTIER; i++){
    if( pRead->apReader[i] ) aTier[i]->xReaderFree(pRead->apReader[i]);
    pRead->apReader[i] = 0;
  }
}

void sqlite3StreamTierReadFree(StreamTierRead *pRead){
  sqlite3StreamTierReadFinalize(pRead);
  sqlite3_free(pRead);
}

void sqlite3StreamTierScanClose(StreamTierMerge *pM){
  int i;
  if( pM==0 ) return;
  for(i=0; i<STREAM_NTIER; i++){
    if( pM->apScan[i] ) aTier[i]->xScanClose(pM->apScan[i]);
  }
  sqlite3_free(pM);
}

/* Advance tier i's scan (closed at its end). */
static int streamTierAdvance(StreamTierMerge *pM, int i, char **pzErr){
  int rc;
  pM->apRow[i] = 0;
  if( pM->apScan[i]==0 ) return SQLITE_OK;
  rc = aTier[i]->xScanNext(pM->apScan[i], &pM->apRow[i], pzErr);
  if( rc==SQLITE_ROW ) return SQLITE_OK;
  pM->apRow[i] = 0;
  if( rc==SQLITE_DONE ){
    aTier[i]->xScanClose(pM->apScan[i]);
    pM->apScan[i] = 0;
    rc = SQLITE_OK;
  }
  return rc;
}

int sqlite3StreamTierScanOpen(StreamTierRead *pRead,
                              const StreamScanRange *pRange,
                              StreamTierMerge **pp, char **pzErr){
  StreamTierMerge *pM;
  int rc = SQLITE_OK, i, bAny = 0;
  *pp = 0;
  pM = sqlite3_malloc64(sizeof(*pM));
  if( pM==0 ) return SQLITE_NOMEM;
  memset(pM, 0, sizeof(*pM));
  pM->pRead = pRead;
  pM->bDesc = pRange->bDesc;
  pM->iCur = -1;
  for(i=0; rc==SQLITE_OK && i<STREAM_NTIER; i++){
    if( aTier[i]->xReaderNew==0 ) continue;       /* not read here */
    if( pRead->apReader[i]==0 ){
      rc = aTier[i]->xReaderNew(pRead->pCtx, &pRead->apReader[i]);
      if( rc ) break;
    }
    rc = aTier[i]->xScanOpen(pRead->apReader[i], pRange, &pM->apScan[i],
                             pzErr);
    if( pM->apScan[i] ) bAny = 1;
  }
  if( rc || !bAny ){
    sqlite3StreamTierScanClose(pM);
    return rc;
  }
  *pp = pM;
  return SQLITE_OK;
}

int sqlite3StreamTierScanNext(StreamTierMerge *pM, const StreamPqRow **ppRow,
                              char **pzErr){
  int rc = SQLITE_OK, i, iBest = -1;
  *ppRow = 0;
  if( pM->iCur<0 ){
    for(i=0; rc==SQLITE_OK && i<STREAM_NTIER; i++){
      rc = streamTierAdvance(pM, i, pzErr);
    }
  }else{
    rc = streamTierAdvance(pM, pM->iCur, pzErr);
  }
  if( rc ) return rc;
  for(i=0; i<STREAM_NTIER; i++){
    int c;
    if( pM->apRow[i]==0 ) continue;
    if( iBest<0 ){ iBest = i; continue; }
    while( pM->apRow[i]
        && (c = streamTierRowCompare(pM->apRow[i], pM->apRow[iBest]))==0 ){
      rc = streamTierAdvance(pM, i, pzErr);     /* in two tiers: once */
      if( rc ) return rc;
    }
    if( pM->apRow[i] && ((c<0) != (pM->bDesc!=0)) ) iBest = i;
  }
  pM->iCur = iBest;
  if( iBest<0 ) return SQLITE_DONE;
  *ppRow = pM->apRow[iBest];
  return SQLITE_ROW;
}
