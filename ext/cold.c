/*
** cold.c - the cold tier: every message of a topic with cold.enabled kept
** in an Apache Iceberg table (ext/iceberg.c) on the cold store, and
** stream_history(), which reads a topic's whole history.
**
**   SELECT stream_config('cold.store', 'file:///var/lib/app/cold');
**   SELECT stream_alter_topic('orders', '{"cold.enabled":1}');
**   SELECT stream_archive('orders');             -- or stream_maintain()
**   SELECT * FROM stream_history('orders');
**
** Tables.  Topic T of the database with id D is the table
** "iceberg/db_D/T" of the store: namespace db_D, table T.  Several
** databases can write to one store without conflicts; any one of them can
** read another's tables (stream_history with a store URL and namespace).
**
** Archiving (sqlite3StreamColdArchive: stream_maintain(), stream_archive())
** for one topic, under the database's write lock:
**
**   1. load the table; find this database's last commit by walking the
**      snapshots back from the current one: its summary holds
**      "stream.database-id" and "stream.next-offsets" (the next offset to
**      archive per partition).  That is the truth; the local mirror
**      (_stream_cold) is brought to it (a crash after the metadata commit
**      and before the mirror's update is repaired here);
**   2. if the batch is due (cold.commit.interval.ms since the last commit,
**      or cold.commit.bytes pending) read every message from there to the
**      high watermark (at most STREAM_COLD_MAX_BATCH) from the live log
**      (the scan API, ext/scan.c: hot and warm), one Parquet file per
**      partition and UTC day (unique names);
**   3. commit (sqlite3StreamIceAppend: manifest, manifest list, then the
**      create-only vN+1.metadata.json; reload, check, rebase on a
**      conflict);
**   4. update the mirror, then commit the SQLite transaction.
**
** A crash anywhere before 3 leaves unreferenced files (orphans) and the
** next run archives the same messages again into new files; a crash after
** 3 is repaired by step 1.  So each offset is in the table exactly once.
**
** Between 1 and 2, bounded housekeeping (streamColdHousekeep): expiry by
** cold.retention.ms, snapshot expiry (never past this database's last
** commit, so step 1 keeps working from the current snapshot's summary),
** the files only expired snapshots reached, orphans older than
** cold.orphan.grace.ms, old metadata versions.
**
** Retention and compaction of the live log (hot and warm) never remove a
** message at or above the mirror's next offset of a cold-enabled topic:
** the cold tier's xHold (sqlite3StreamTierCold), which the tier driver
** asks (sqlite3StreamTierHold), holds them back to the cold watermark.
*/
#include "streamInt.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Most messages archived by one commit (the rest: the next commit). */
#define STREAM_COLD_MAX_BATCH 1000000
/* Most rows in one data file. */
#define STREAM_COLD_FILE_ROWS 1000000
/* Most files one archiving call deletes per topic (housekeeping: the
** rest wait for the next calls), and most snapshots it expires. */
#define STREAM_COLD_MAX_DELETE 1000
#define STREAM_COLD_MAX_EXPIRE 1000

/* What one archiving call did (stream_archive() returns it as JSON). */
typedef struct StreamColdStats StreamColdStats;
struct StreamColdStats {
  i64 nMessages;               /* Messages committed */
  i64 nFiles;                  /* Data files committed */
  i64 nOrphans;                /* Orphan files deleted */
  i64 nExpired;                /* Data files expired (cold.retention.ms) */
  i64 nSnapshots;              /* Snapshots expired */
};

/**************************************************************************
** Small helpers
*/

/* The cold store (cold.store), or NULL if none is configured. */
static int streamColdStore(StreamCtx *p, const char *zUrl, StreamStore **pp,
                           char **pzErr){
  char *zSet = 0;
  int rc = SQLITE_OK;
  *pp = 0;
  if( zUrl==0 ){
    zSet = sqlite3StreamMetaGet(p, "cold.store", &rc);
    if( rc ) return sqlite3StreamDbErr(p->db, pzErr, rc);
    if( zSet==0 ) return SQLITE_OK;
    zUrl = zSet;
  }
  rc = sqlite3StreamStoreOpen(zUrl, 0, pp, pzErr);
  sqlite3_free(zSet);
  return rc;
}

/* Key prefix of a topic's table in namespace zNs ("db_<id>"). */
static char *streamColdPrefix(const char *zNs, const char *zTopic,
                              char **pzErr, int *pRc){
  char *z = sqlite3_mprintf("iceberg/%s/%s", zNs, zTopic);
  *pRc = z ? sqlite3StreamStoreKeyCheck(z, 0) : SQLITE_NOMEM;
  if( *pRc && z ){
    *pRc = sqlite3StreamErr(pzErr, SQLITE_ERROR, "cold tier: namespace \"%s\""
        " and topic \"%s\" do not make a valid table location (letters,"
        " digits, '.', '_', '-' and '=' only)", zNs, zTopic);
    sqlite3_free(z);
    z = 0;
  }
  return z;
}

/**************************************************************************
** The hold on retention and compaction
*/

/* xHold of the cold tier: the first offset not archived yet, and (the
** Pipelines sink being the other way to the same history, ext/pipeline.c)
** not delivered yet; INT64_MAX for a topic with neither. */
static int streamColdHold(StreamCtx *p, const char *zTopic, int iPart,
                          const StreamTopicConfig *pCfg, i64 *piHold,
                          char **pzErr){
  i64 iCold = 0x7fffffffffffffffLL, iPipe = 0x7fffffffffffffffLL;
  int rc = SQLITE_OK;
  if( pCfg->coldEnabled ){
    rc = sqlite3StreamWatermark(p, 0, zTopic, iPart, &iCold, pzErr);
  }
  if( rc==SQLITE_OK && pCfg->pipelineEnabled ){
    /* The Pipelines sink holds back to its watermark too. */
    rc = sqlite3StreamWatermark(p, 1, zTopic, iPart, &iPipe, pzErr);
  }
  *piHold = iCold<iPipe ? iCold : iPipe;
  return rc;
}

/* The cold tier on the tier interface (ext/tier.c).  It keeps a copy, so
** only its hold matters to the driver: xOpen gives no tier (archiving is
** one Iceberg commit per topic, with every partition's watermark in one
** snapshot summary, from stream_maintain() and stream_archive(); the
** driver's moves are per partition and take messages out of the hot
** log), stream_messages does not read it (Kafka's live-log semantics:
** stream_history() does), it is never compacted, and deleting a topic
** keeps its table (history; the mirror rows of the old incarnation count
** as none). */
static int streamColdOpen(StreamCtx *p, const char *zAsked, StreamTier **pp,
                          char **pzErr){
  STREAM_UNUSED(p); STREAM_UNUSED(zAsked); STREAM_UNUSED(pzErr);
  *pp = 0;
  return SQLITE_OK;
}
static void streamColdClose(StreamTier *pTier){ STREAM_UNUSED(pTier); }

const StreamTierMethods sqlite3StreamTierCold = {
  "cold",                          /* zName */
  streamColdOpen,                  /* xOpen: never a tier to drive */
  streamColdClose,                 /* xClose */
  0,                               /* xSweep: housekeeping in archiving */
  0,                               /* xExpire: cold.retention.ms, idem */
  0,                               /* xMoveIn: stream_archive() */
  0,                               /* xCompact: history is not compacted */
  0,                               /* xDropTopic: the table is history */
  0,                               /* xReaderNew: stream_history() reads */
  0,                               /* xReaderFree */
  0,                               /* xScanOpen */
  0,                               /* xScanNext */
  0,                               /* xScanClose */
  streamColdHold,                  /* xHold */
  0,                               /* xMoveEnd: no moves */
};

/**************************************************************************
** Archiving
*/

/* The Parquet sink: a store upload. */
typedef struct StreamColdSink StreamColdSink;
struct StreamColdSink {
  StreamStore *pStore;
  StreamStoreUpload *pUp;
  char *zErr;
};
static int streamColdSinkWrite(void *pCtx, const void *a, size_t n){
  StreamColdSink *s = (StreamColdSink*)pCtx;
  return s->pStore->pMethods->xPutWrite(s->pUp, a, n, &s->zErr);
}

/* One topic's archiving state. */
typedef struct StreamColdRun StreamColdRun;
struct StreamColdRun {
  StreamCtx *p;
  StreamStore *pStore;
  const char *zTopic;
  const char *zDbId;
  char *zBase;                 /* Our last commit's next offsets, or NULL */
  StreamIceFile *aFile;        /* Data files written */
  int nFile, nFileAlloc;
  char **azRel;                /* Their paths (owned) */
  i64 nMessages;               /* Messages written */
};

/* xCheck of the commit: after a conflict, the table must still have our
** last commit where we started from, else another writer with this
** database id archived the same messages. */
static int streamColdCheck(void *pArg, StreamIceTable *t, char **pzErr){
  StreamColdRun *r = (StreamColdRun*)pArg;
  const char *z = sqlite3StreamIceLastCommit(t, "stream.database-id",
                                             r->zDbId, "stream.next-offsets",
                                             0);
  if( (z==0)!=(r->zBase==0) || (z && strcmp(z, r->zBase)!=0) ){
    return sqlite3StreamErr(pzErr, SQLITE_BUSY, "cold tier: table of topic %s"
        " was committed to by another writer with this database's id (a"
        " copy of the database?): nothing committed, try again",
        r->zTopic);
  }
  return SQLITE_OK;
}

static void streamColdRunFree(StreamColdRun *r){
  int i;
  for(i=0; i<r->nFile; i++) sqlite3_free(r->azRel[i]);
  sqlite3_free(r->azRel);
  sqlite3_free(r->aFile);
  sqlite3_free(r->zBase);
}

/* Days since the epoch of a timestamp in ms. */
static int streamColdDay(i64 iMs){
  i64 d = iMs>=0 ? iMs/86400000 : -((-iMs+86399999)/86400000);
  return (int)d;
}

/* The live log is read through the scan API (ext/scan.c: hot and warm,
** values decoded), not SQL on the storage tables (streamInt.h). */
i64 sqlite3StreamColdScanInt(StreamScan *pScan, int iCol){
  return sqlite3StreamScanInt(pScan, iCol);
}

int sqlite3StreamColdScanRange(StreamCtx *p, const char *zTopic, int iPart,
                               i64 iFrom, i64 iTo, int nLimit,
                               StreamScan **pp, char **pzErr){
  const i64 aInt[3] = { iFrom, iTo, nLimit };
  return sqlite3StreamScanPartition(p, zTopic, iPart, STREAM_SCAN_OFF_LO
      |STREAM_SCAN_OFF_HI|STREAM_SCAN_OFF_HI_X
      |(nLimit>0 ? STREAM_SCAN_LIMIT : 0), nLimit>0 ? 3 : 2, aInt, pp, pzErr);
}

int sqlite3StreamColdScanBytes(StreamScan *pScan, int iCol,
                               const void **pp, int *pn, int *peType,
                               sqlite3_value **ppVal){
  StreamScanField f;
  int rc = sqlite3StreamScanColumn(pScan, iCol, &f);
  *pp = 0;
  *pn = 0;
  *peType = STREAM_PQ_NULL;
  if( ppVal ) *ppVal = f.pValue;
  if( rc || f.eType==SQLITE_NULL ) return rc;
  if( f.pValue && f.eType==SQLITE_BLOB ){
    *pp = sqlite3_value_blob(f.pValue);
    *pn = sqlite3_value_bytes(f.pValue);
    *peType = STREAM_PQ_BLOB;
  }else if( f.pValue ){
    *pp = sqlite3_value_text(f.pValue);
    if( *pp==0 ) return SQLITE_NOMEM;
    *pn = sqlite3_value_bytes(f.pValue);
    *peType = STREAM_PQ_TEXT;
  }else{
    *pp = f.p ? f.p : "";
    *pn = f.n;
    *peType = f.eType==SQLITE_BLOB ? STREAM_PQ_BLOB : STREAM_PQ_TEXT;
  }
  return SQLITE_OK;
}

/* Finish the open file (if any) and record it. */
static int streamColdFileEnd(StreamColdRun *r, StreamPqWriter **ppW,
                             StreamColdSink *pSink, StreamIceFile *pF,
                             char **pzErr){
  StreamPqWriter *pW = *ppW;
  int rc;
  if( pW==0 ) return SQLITE_OK;
  *ppW = 0;
  rc = sqlite3StreamPqWriterFinish(pW);
  pF->nBytes = sqlite3StreamPqWriterBytes(pW);
  if( rc ){
    if( pSink->zErr ){
      sqlite3_free(*pzErr);
      *pzErr = pSink->zErr;
      pSink->zErr = 0;
    }else{
      sqlite3StreamErr(pzErr, rc, "cold tier: %s",
          sqlite3StreamPqWriterErrmsg(pW) ? sqlite3StreamPqWriterErrmsg(pW)
                                          : "cannot write a data file");
    }
    sqlite3StreamPqWriterFree(pW);
    r->pStore->pMethods->xPutAbort(pSink->pUp);
    pSink->pUp = 0;
    return rc;
  }
  sqlite3StreamPqWriterFree(pW);
  rc = r->pStore->pMethods->xPutCommit(pSink->pUp, pzErr);
  pSink->pUp = 0;
  if( rc ) return rc;
  if( r->nFile>=r->nFileAlloc ){
    int nNew = r->nFileAlloc ? r->nFileAlloc*2 : 8;
    StreamIceFile *aNew = sqlite3_realloc64(r->aFile, sizeof(*aNew)*nNew);
    char **azNew;
    if( aNew==0 ) return SQLITE_NOMEM;
    r->aFile = aNew;
    azNew = sqlite3_realloc64(r->azRel, sizeof(char*)*nNew);
    if( azNew==0 ) return SQLITE_NOMEM;
    r->azRel = azNew;
    r->nFileAlloc = nNew;
  }
  r->azRel[r->nFile] = (char*)pF->zRel;
  r->aFile[r->nFile] = *pF;
  r->nFile++;
  pF->zRel = 0;
  return SQLITE_OK;
}

/* Write the messages [iStart, iEnd) of partition iPart to data files;
** *piNext: the offset after the last one read (iEnd if all were). */
static int streamColdPartition(StreamColdRun *r, const char *zPrefix,
                               int iPart, i64 iStart, i64 iEnd, int eCodec,
                               i64 nMax, i64 *piNext, char **pzErr){
  StreamCtx *p = r->p;
  StreamScan *pSel = 0;
  StreamPqWriter *pW = 0;
  StreamColdSink sink;
  StreamIceFile f;
  i64 nRows = 0;
  int rc;

  memset(&sink, 0, sizeof(sink));
  memset(&f, 0, sizeof(f));
  sink.pStore = r->pStore;
  *piNext = iEnd;
  rc = sqlite3StreamColdScanRange(p, r->zTopic, iPart, iStart, iEnd, 0,
                                  &pSel, pzErr);
  if( rc ) return rc;
  for(; rc==SQLITE_OK && !sqlite3StreamScanEof(pSel);
        rc = sqlite3StreamScanNext(pSel, pzErr)){
    StreamPqRow row;
    i64 iOff = sqlite3StreamColdScanInt(pSel, STREAM_SCAN_COL_OFFSET);
    i64 iTs = sqlite3StreamColdScanInt(pSel, STREAM_SCAN_COL_TIMESTAMP);
    int iDay = streamColdDay(iTs);
    const void *pH;
    if( r->nMessages>=nMax ){
      *piNext = iOff;                 /* the rest: the next commit */
      break;
    }
    if( pW && (iDay!=f.iDay || f.nRecords>=STREAM_COLD_FILE_ROWS) ){
      rc = streamColdFileEnd(r, &pW, &sink, &f, pzErr);
      if( rc ) break;
    }
    if( pW==0 ){
      char zDate[16];
      char *zKey;
      u64 rnd;
      i64 iSec = (i64)iDay*86400;
      time_t tt = (time_t)iSec;
      struct tm tm;
      gmtime_r(&tt, &tm);
      strftime(zDate, sizeof(zDate), "%Y-%m-%d", &tm);
      sqlite3_randomness(sizeof(rnd), &rnd);
      memset(&f, 0, sizeof(f));
      f.zRel = sqlite3_mprintf("data/timestamp_day=%s/%d-%020lld-%016llx"
                               ".parquet", zDate, iPart, (long long)iOff,
                               (unsigned long long)rnd);
      zKey = f.zRel ? sqlite3_mprintf("%s/%s", zPrefix, f.zRel) : 0;
      if( zKey==0 ){ rc = SQLITE_NOMEM; break; }
      rc = r->pStore->pMethods->xPutBegin(r->pStore, zKey, &sink.pUp, pzErr);
      sqlite3_free(zKey);
      if( rc ){ sqlite3_free((char*)f.zRel); f.zRel = 0; break; }
      rc = sqlite3StreamPqWriterOpen(&pW, eCodec, 0, streamColdSinkWrite,
                                     &sink);
      if( rc ){
        r->pStore->pMethods->xPutAbort(sink.pUp);
        sqlite3_free((char*)f.zRel);
        f.zRel = 0;
        break;
      }
      sqlite3StreamPqWriterIceberg(pW);
      sqlite3StreamPqWriterMeta(pW, "stream.topic", r->zTopic);
      f.zTopic = r->zTopic;
      f.iDay = iDay;
      f.iPartition = iPart;
      f.iOffLo = iOff;
      f.iTsLo = f.iTsHi = iTs*1000;
    }
    memset(&row, 0, sizeof(row));
    row.zTopic = r->zTopic;
    row.nTopic = (int)strlen(r->zTopic);
    row.iPartition = iPart;
    row.iOffset = iOff;
    {
      int eH;
      rc = sqlite3StreamColdScanBytes(pSel, STREAM_SCAN_COL_KEY, &row.pKey,
                                      &row.nKey, &row.eKeyType, 0);
      if( rc==SQLITE_OK ){
        rc = sqlite3StreamColdScanBytes(pSel, STREAM_SCAN_COL_VALUE,
                                        &row.pValue, &row.nValue,
                                        &row.eValueType, 0);
      }
      if( rc==SQLITE_OK ){
        rc = sqlite3StreamColdScanBytes(pSel, STREAM_SCAN_COL_HEADERS, &pH,
                                        &row.nHeaders, &eH, 0);
      }
      if( rc ){
        sqlite3StreamErr(pzErr, rc, "cold tier: cannot read message %s/%d"
                         " offset %lld", r->zTopic, iPart, (long long)iOff);
        break;
      }
      row.zHeaders = (const char*)pH;
    }
    row.iTimestampMs = iTs;
    rc = sqlite3StreamPqWriterAdd(pW, &row);
    if( rc ){
      sqlite3StreamErr(pzErr, rc, "cold tier: %s",
                       sqlite3StreamPqWriterErrmsg(pW));
      break;
    }
    f.nRecords++;
    f.iOffHi = iOff;
    if( iTs*1000<f.iTsLo ) f.iTsLo = iTs*1000;
    if( iTs*1000>f.iTsHi ) f.iTsHi = iTs*1000;
    if( row.eKeyType==STREAM_PQ_NULL ) f.nNullKey++;
    if( row.eValueType==STREAM_PQ_NULL ) f.nNullValue++;
    if( row.zHeaders==0 ) f.nNullHeaders++;
    r->nMessages++;
    nRows++;
  }
  sqlite3StreamScanClose(pSel);
  if( rc==SQLITE_OK ){
    rc = streamColdFileEnd(r, &pW, &sink, &f, pzErr);
  }
  if( pW ){
    sqlite3StreamPqWriterFree(pW);
    r->pStore->pMethods->xPutAbort(sink.pUp);
  }
  sqlite3_free((char*)f.zRel);
  sqlite3_free(sink.zErr);
  return rc;
}

/* Set the mirror (_stream_cold) of every partition to aNext[]. */
static int streamColdMirror(StreamCtx *p, const char *zTopic, int nPart,
                            const i64 *aNext, char **pzErr){
  int i, rc = SQLITE_OK;
  for(i=0; i<nPart && rc==SQLITE_OK; i++){
    rc = sqlite3StreamAuxRun(p, STREAM_AUX_COLD_MIRROR_SET, pzErr, "tii",
                             zTopic, (i64)i, aNext[i]);
  }
  return rc;
}

/**************************************************************************
** Housekeeping (each archiving run, before it archives): snapshot expiry,
** then the deletion of what only the expired snapshots reached, then the
** orphans, at most STREAM_COLD_MAX_DELETE files in all.
**
** Orphans (files the current metadata does not reach) are deleted only
** once they have been orphans for cold.orphan.grace.ms: an upload of
** another writer still committing looks the same.  _stream_cold_orphans
** remembers when each was first seen; rows of files that are referenced
** or gone by the next listing go.  The listing is skipped while every
** known orphan is still in its grace period.  Files of expired snapshots
** beyond the bound are queued there as due at once.  Every step is safe
** to kill: the metadata commit is atomic, and a file left behind is an
** orphan for a later run.
*/

static int streamColdMaxDelete(void){
#ifdef STREAM_TEST_HOOKS
  const char *z = getenv("STREAM_COLD_MAX_DELETE");
  if( z && atoi(z)>0 ) return atoi(z);
#endif
  return STREAM_COLD_MAX_DELETE;
}

/* Delete the orphans of zTopic first seen at or before iDue, at most
** *pnBudget (decremented); *pnDeleted counts them. */
static int streamColdOrphansDue(StreamCtx *p, StreamStore *pStore,
                                const char *zTopic, i64 iDue, int *pnBudget,
                                i64 *pnDeleted, char **pzErr){
  StreamStrList due;
  int rc, i;
  memset(&due, 0, sizeof(due));
  rc = sqlite3StreamAuxList(p, STREAM_AUX_COLD_ORPHANS_DUE, &due, pzErr,
                            "tii", zTopic, iDue, (i64)*pnBudget);
  for(i=0; i<due.n && rc==SQLITE_OK; i++){
    rc = pStore->pMethods->xDelete(pStore, due.az[i], pzErr);
    if( rc ) break;
    (*pnBudget)--;
    (*pnDeleted)++;
    STREAM_COLD_CRASH(10);
    rc = sqlite3StreamAuxRun(p, STREAM_AUX_COLD_ORPHAN_DROP, pzErr, "tt",
                             zTopic, due.az[i]);
  }
  sqlite3StreamStrListFree(&due);
  return rc;
}

static int streamColdHousekeep(StreamCtx *p, StreamStore *pStore,
                               StreamIceTable *t,
                               const StreamTopicConfig *pCfg,
                               const char *zTopic, const char *zDbId,
                               StreamStrList *pGone, StreamColdStats *pSt,
                               char **pzErr){
  StreamStrList orph, oldMeta;
  i64 iNow = sqlite3StreamNow(p), nRows = 0, nDue = 0;
  i64 iDue = iNow - pCfg->coldOrphanGraceMs;
  int nBudget = streamColdMaxDelete(), nExp = 0, i, rc;

  memset(&orph, 0, sizeof(orph));
  memset(&oldMeta, 0, sizeof(oldMeta));
  /* 1. Snapshot expiry. */
  rc = sqlite3StreamIceExpireSnapshots(t,
      pCfg->coldSnapshotRetentionMs>iNow ? 0
                                         : iNow-pCfg->coldSnapshotRetentionMs,
      (int)pCfg->coldSnapshotMin, "stream.database-id", zDbId,
      STREAM_COLD_MAX_EXPIRE, iNow, &nExp, pGone, pzErr);
  pSt->nSnapshots += nExp;
  if( rc ) return rc;

  /* 2. What only expired snapshots (or expired data) reached: no grace
  ** (readers had cold.snapshot.retention.ms); the rest of the bound's
  ** overflow is queued, due at once. */
  for(i=0; i<pGone->n && rc==SQLITE_OK; i++){
    if( nBudget>0 ){
      rc = pStore->pMethods->xDelete(pStore, pGone->az[i], pzErr);
      if( rc==SQLITE_OK ){
        nBudget--;
        STREAM_COLD_CRASH(8);
      }
    }else{
      rc = sqlite3StreamAuxRun(p, STREAM_AUX_COLD_ORPHAN_PUT, pzErr, "tti",
                               zTopic, pGone->az[i], (i64)0);
    }
  }
  if( rc || nBudget<=0 ) return rc;

  /* 3. Orphans: list only if no known orphan is still in its grace. */
  rc = sqlite3StreamAuxInt(p, STREAM_AUX_COLD_ORPHAN_COUNT, &nRows, pzErr,
                           "t", zTopic);
  if( rc==SQLITE_OK ){
    rc = sqlite3StreamAuxInt(p, STREAM_AUX_COLD_ORPHAN_DUE_COUNT, &nDue,
                             pzErr, "ti", zTopic, iDue);
  }
  if( rc || (nRows>0 && nDue==0) ) return rc;
  rc = sqlite3StreamIceOrphans(t, &orph, &oldMeta, pzErr);
  if( rc==SQLITE_OK ){
    /* Forget the rows of files no longer orphans, record the new ones. */
    StreamJson *pArr = sqlite3StreamJsonNew(STREAM_JSON_ARRAY);
    char *zJson = 0;
    for(i=0; pArr && i<orph.n; i++){
      sqlite3StreamJsonAppend(pArr, sqlite3StreamJsonNewString(orph.az[i]));
    }
    zJson = pArr ? sqlite3StreamJsonPrint(pArr, 0) : 0;
    sqlite3StreamJsonFree(pArr);
    if( zJson==0 ){
      rc = SQLITE_NOMEM;
    }else{
      rc = sqlite3StreamAuxRun(p, STREAM_AUX_COLD_ORPHANS_KEEP, pzErr, "tt",
                               zTopic, zJson);
      sqlite3_free(zJson);
    }
  }
  for(i=0; i<orph.n && rc==SQLITE_OK; i++){
    rc = sqlite3StreamAuxRun(p, STREAM_AUX_COLD_ORPHAN_ADD, pzErr, "tti",
                             zTopic, orph.az[i], iNow);
  }
  if( rc==SQLITE_OK ){
    rc = streamColdOrphansDue(p, pStore, zTopic, iDue, &nBudget,
                              &pSt->nOrphans, pzErr);
  }
  /* 4. Metadata versions older than the kept ones. */
  for(i=0; i<oldMeta.n && rc==SQLITE_OK && nBudget>0; i++){
    rc = pStore->pMethods->xDelete(pStore, oldMeta.az[i], pzErr);
    nBudget--;
    STREAM_COLD_CRASH(11);
  }
  sqlite3StreamStrListFree(&orph);
  sqlite3StreamStrListFree(&oldMeta);
  return rc;
}

/* Archive one topic (see the header comment).  *pbDone: something was
** committed. */
static int streamColdTopic(StreamCtx *p, StreamStore *pStore,
                           const char *zDbId, const char *zTopic, int bForce,
                           StreamColdStats *pSt, int *pbMore, char **pzErr){
  StreamTopicConfig cfg;
  StreamColdRun r;
  StreamIceTable *t = 0;
  char *zPrefix = 0, *zNs = 0, *zNext = 0, zInc[24];
  StreamJson *pBase = 0;
  i64 *aStart = 0, *aHwm = 0, *aNext = 0, iInc = 0, nPending = 0;
  int nPart = 0, i, rc, bOpen = 0;
  const char *zPrevInc;
  StreamStrList gone;

  *pbMore = 0;
  memset(&r, 0, sizeof(r));
  memset(&gone, 0, sizeof(gone));
  r.p = p;
  r.pStore = pStore;
  r.zTopic = zTopic;
  r.zDbId = zDbId;
  rc = sqlite3StreamCatTopicRow(p, zTopic, &cfg, &nPart, &iInc, pzErr);
  if( rc ) return rc;
  if( !cfg.coldEnabled ){
    return sqlite3StreamErr(pzErr, SQLITE_ERROR, "cannot archive topic %s:"
        " cold.enabled is not set for it", zTopic);
  }
  snprintf(zInc, sizeof(zInc), "%lld", (long long)iInc);

  rc = sqlite3StreamSavepoint(p, "stream_cold", &bOpen, pzErr);
  if( rc ) return rc;
  /* The write lock first: nothing changes while the batch is cut, and no
  ** other connection of this database archives at the same time. */
  rc = sqlite3StreamWriteLock(p, pzErr);
  if( rc==SQLITE_OK ){
    rc = sqlite3StreamAuxExec(p, STREAM_AUX_COLD_TABLES, pzErr);
  }
  zNs = sqlite3_mprintf("db_%s", zDbId);
  if( rc==SQLITE_OK && zNs==0 ) rc = SQLITE_NOMEM;
  if( rc==SQLITE_OK ) zPrefix = streamColdPrefix(zNs, zTopic, pzErr, &rc);
  if( rc==SQLITE_OK ) rc = sqlite3StreamIceOpen(pStore, zPrefix, &t, pzErr);
  if( rc ) goto out;

  sqlite3StreamIceRepairHint(t);
  sqlite3StreamIceSetKeepVersions(t, (int)cfg.coldMetadataVersionsMax);
  /* 1. Our last commit. */
  {
    int bBroken = 0;
    zPrevInc = sqlite3StreamIceLastCommit(t, "stream.database-id", zDbId,
                                          "stream.topic-incarnation",
                                          &bBroken);
    if( zPrevInc==0 && bBroken ){
      /* Snapshots expired by another writer took our last commit with
      ** them: where to resume is unknown, and guessing would archive
      ** messages twice or skip some. */
      rc = sqlite3StreamErr(pzErr, SQLITE_CORRUPT, "cannot archive topic %s:"
          " the snapshots of its cold table %s/%s no longer reach this"
          " database's last commit (expired by another writer?)", zTopic,
          pStore->zUrl, zPrefix);
      goto out;
    }
  }
  if( zPrevInc && strcmp(zPrevInc, zInc)!=0 ){
    rc = sqlite3StreamErr(pzErr, SQLITE_ERROR, "cannot archive topic %s:"
        " its cold table %s/%s holds an earlier topic of the same name"
        " (incarnation %s, this one is %s); move that table away first",
        zTopic, pStore->zUrl, zPrefix, zPrevInc, zInc);
    goto out;
  }
  {
    const char *z = sqlite3StreamIceLastCommit(t, "stream.database-id",
                                               zDbId, "stream.next-offsets",
                                               0);
    if( z ){
      r.zBase = sqlite3_mprintf("%s", z);
      pBase = sqlite3StreamJsonParse(z, -1);
      if( r.zBase==0 ){ rc = SQLITE_NOMEM; goto out; }
      if( !sqlite3StreamJsonIsObject(pBase) ){
        rc = sqlite3StreamErr(pzErr, SQLITE_CORRUPT, "cold table %s: bad"
            " stream.next-offsets in the snapshot summary", zPrefix);
        goto out;
      }
    }
  }
  /* cold.retention.ms: expire old data files (a "delete" snapshot that
  ** carries this database's last commit forward). */
  if( cfg.coldRetentionMs>=0 && r.zBase ){
    const char *azSum[] = {
      "stream.database-id", zDbId, "stream.topic", zTopic,
      "stream.topic-incarnation", zInc, "stream.next-offsets", r.zBase, 0
    };
    int nExp = 0;
    i64 iNowMs = sqlite3StreamNow(p);
    i64 iCut = iNowMs - cfg.coldRetentionMs;
    rc = sqlite3StreamIceExpire(t, iCut<=0 ? 0 : iCut*1000, iNowMs, azSum,
                                &nExp, &gone, pzErr);
    pSt->nExpired += nExp;
    if( rc ) goto out;
  }
  /* Housekeeping: old snapshots, the files they alone reached, orphans. */
  rc = streamColdHousekeep(p, pStore, t, &cfg, zTopic, zDbId, &gone, pSt,
                           pzErr);
  /* An expiry that lost a race reloaded the table: our last commit must
  ** still be the one the batch starts from. */
  if( rc==SQLITE_OK ) rc = streamColdCheck(&r, t, pzErr);
  if( rc ) goto out;
  aStart = sqlite3_malloc64(sizeof(i64)*3*(u64)(nPart ? nPart : 1));
  if( aStart==0 ){ rc = SQLITE_NOMEM; goto out; }
  aHwm = &aStart[nPart];
  aNext = &aHwm[nPart];
  for(i=0; i<nPart && rc==SQLITE_OK; i++){
    char zP[16];
    StreamJson *pV;
    snprintf(zP, sizeof(zP), "%d", i);
    pV = sqlite3StreamJsonGet(pBase, zP);
    if( pV ){
      aStart[i] = sqlite3StreamJsonI64(pV, 0);
    }else{
      int bFound = 0;
      aStart[i] = 0;
      rc = sqlite3StreamCatLogStart(p, zTopic, i, &aStart[i], &bFound, pzErr);
    }
    if( rc==SQLITE_OK ){
      rc = sqlite3StreamHighWatermark(p, zTopic, i, &aHwm[i], pzErr);
    }
    if( rc==SQLITE_OK && aStart[i]>aHwm[i] ){
      /* The table holds offsets this log never had: it is a copy of the
      ** database (stream_backup(), restored) behind the one that went on
      ** archiving.  Taking the table's watermark would count this log's
      ** next messages as archived (never archived, then released to
      ** retention) and stream_history would read the other's. */
      rc = sqlite3StreamErr(pzErr, SQLITE_ERROR, "cannot archive topic %s:"
          " its cold table %s/%s holds partition %d up to offset %lld, past"
          " this database's high watermark %lld (a copy of the database"
          " behind the one that archived them?)", zTopic, pStore->zUrl,
          zPrefix, i, (long long)aStart[i]-1, (long long)aHwm[i]);
    }
    if( rc==SQLITE_OK && aStart[i]<aHwm[i] ) nPending += aHwm[i]-aStart[i];
  }
  /* The mirror follows the table (repairs a crash after a commit). */
  if( rc==SQLITE_OK ) rc = streamColdMirror(p, zTopic, nPart, aStart, pzErr);
  if( rc || nPending==0 ) goto out;

  /* 2. Due? */
  if( !bForce ){
    i64 iLast = 0, nBytes = 0, iNow = sqlite3StreamNow(p);
    rc = sqlite3StreamAuxInt(p, STREAM_AUX_COLD_COMMITTED_AT, &iLast, pzErr,
                             "t", zTopic);
    if( rc ) goto out;
    if( iNow - iLast < cfg.coldCommitIntervalMs ){
      /* Pending bytes: stored bytes of the hot messages, plus the file
      ** bytes of warm segments holding pending messages. */
      for(i=0; i<nPart && rc==SQLITE_OK; i++){
        i64 n = 0, w = 0;
        rc = sqlite3StreamStorageInt(p, STREAM_SQL_MSG_BYTES_FROM, zTopic,
                                     i, aStart[i], 0, 0, &n, pzErr);
        if( rc==SQLITE_OK ){
          rc = sqlite3StreamStorageInt(p, STREAM_SQL_SEG_BYTES_FROM, zTopic,
                                       i, aStart[i], 0, 0, &w, pzErr);
        }
        nBytes += n + w;
      }
      if( rc || nBytes<cfg.coldCommitBytes ) goto out;
    }
  }

  /* 3. Data files. */
  for(i=0; i<nPart && rc==SQLITE_OK; i++){
    aNext[i] = aStart[i];
    if( aStart[i]>=aHwm[i] ) continue;
    rc = streamColdPartition(&r, zPrefix, i, aStart[i], aHwm[i],
        cfg.eCompression==STREAM_CODEC_GZIP ? STREAM_CODEC_GZIP
                                            : STREAM_CODEC_ZSTD,
        STREAM_COLD_MAX_BATCH, &aNext[i], pzErr);
    if( rc==SQLITE_OK && aNext[i]<aHwm[i] ) *pbMore = 1;
  }
  if( rc ) goto out;
  STREAM_COLD_CRASH(0);

  /* 4. The commit. */
  {
    sqlite3_str *pStr = sqlite3_str_new(0);
    i64 iSnap = 0;
    for(i=0; i<nPart; i++){
      sqlite3_str_appendf(pStr, "%s\"%d\":%lld", i ? "," : "{", i,
                          (long long)aNext[i]);
    }
    sqlite3_str_appendall(pStr, nPart ? "}" : "{}");
    zNext = sqlite3_str_finish(pStr);
    if( zNext==0 ){ rc = SQLITE_NOMEM; goto out; }
    {
      const char *azSum[] = {
        "stream.database-id", zDbId, "stream.topic", zTopic,
        "stream.topic-incarnation", zInc, "stream.next-offsets", zNext, 0
      };
      for(i=0; i<r.nFile; i++) r.aFile[i].zRel = r.azRel[i];
      rc = sqlite3StreamIceAppend(t, r.aFile, r.nFile, zTopic,
                                  sqlite3StreamNow(p), azSum,
                                  streamColdCheck, &r, &iSnap, pzErr);
    }
    if( rc==SQLITE_OK ) rc = streamColdMirror(p, zTopic, nPart, aNext, pzErr);
    if( rc==SQLITE_OK ){
      rc = sqlite3StreamAuxRun(p, STREAM_AUX_COLD_COMMIT_PUT, pzErr, "tiiii",
                               zTopic, iInc, iSnap,
                               (i64)sqlite3StreamIceVersion(t),
                               sqlite3StreamNow(p));
    }
    if( rc==SQLITE_OK ){
      STREAM_COLD_CRASH(5);
      pSt->nMessages += r.nMessages;
      pSt->nFiles += r.nFile;
    }
  }

 out:
  rc = sqlite3StreamSavepointEnd(p, "stream_cold", bOpen, rc, pzErr);
  if( rc==SQLITE_OK ) STREAM_COLD_CRASH(6);
  sqlite3StreamJsonFree(pBase);
  sqlite3_free(aStart);
  sqlite3_free(zNext);
  sqlite3_free(zPrefix);
  sqlite3_free(zNs);
  sqlite3StreamIceClose(t);
  streamColdRunFree(&r);
  sqlite3StreamStrListFree(&gone);
  return rc;
}

static int streamColdArchive(StreamCtx *p, const char *zTopic, int bForce,
                             StreamColdStats *pSt, char **pzErr){
  StreamStore *pStore = 0;
  char *zId = 0;
  int rc;
  memset(pSt, 0, sizeof(*pSt));
  rc = streamColdStore(p, 0, &pStore, pzErr);
  if( rc ) return rc;
  if( pStore==0 ){
    if( zTopic && bForce ){
      StreamTopic t;                 /* a missing topic is the first error */
      rc = sqlite3StreamTopicGet(p, zTopic, &t, pzErr);
      if( rc ) return rc;
      return sqlite3StreamErr(pzErr, SQLITE_ERROR, "cannot archive topic %s:"
          " no cold store is configured (set one with"
          " stream_config('cold.store', 'file:///path'))", zTopic);
    }
    return SQLITE_OK;
  }
  rc = sqlite3StreamDbId(p, 1, &zId, pzErr);
  if( rc==SQLITE_OK && zId==0 ){
    rc = sqlite3StreamErr(pzErr, SQLITE_NOMEM, "out of memory");
  }
  if( rc ) goto out;
  if( zTopic ){
    StreamTopicConfig cfg;
    int nPart, bMore = 1;
    rc = sqlite3StreamTopicConfig(p, zTopic, &cfg, &nPart, pzErr);
    if( rc==SQLITE_OK && (cfg.coldEnabled || bForce) ){
      while( rc==SQLITE_OK && bMore ){
        rc = streamColdTopic(p, pStore, zId, zTopic, bForce, pSt, &bMore,
                             pzErr);
      }
    }
  }else{
    /* Every topic with cold.enabled. */
    StreamStrList names;
    int i;
    memset(&names, 0, sizeof(names));
    rc = sqlite3StreamCatTopicList(p, 0, "cold.enabled", &names, pzErr);
    for(i=0; rc==SQLITE_OK && i<names.n; i++){
      int bMore = 1;
      while( rc==SQLITE_OK && bMore ){
        rc = streamColdTopic(p, pStore, zId, names.az[i], bForce, pSt, &bMore,
                             pzErr);
      }
    }
    sqlite3StreamStrListFree(&names);
  }
 out:
  sqlite3_free(zId);
  pStore->pMethods->xFree(pStore);
  return rc;
}

int sqlite3StreamColdArchive(StreamCtx *p, const char *zTopic, int bForce,
                             i64 *pnMessages, i64 *pnFiles, i64 *pnOrphans,
                             i64 *pnExpired, char **pzErr){
  StreamColdStats st;
  int rc = streamColdArchive(p, zTopic, bForce, &st, pzErr);
  *pnMessages = st.nMessages;
  *pnFiles = st.nFiles;
  *pnOrphans = st.nOrphans;
  *pnExpired = st.nExpired;
  return rc;
}

/* stream_archive([topic]): commit whatever is pending now. */
void sqlite3StreamArchiveFunc(sqlite3_context *ctx, int argc,
                              sqlite3_value **argv){
  StreamCtx *p = (StreamCtx*)sqlite3_user_data(ctx);
  const char *zTopic = 0;
  char *zErr = 0;
  StreamColdStats st;
  int rc;
  if( argc>0 && sqlite3_value_type(argv[0])!=SQLITE_NULL
   && (zTopic = sqlite3StreamArgText(ctx, argv, 0, "topic name"))==0 ){
    return;
  }
  rc = streamColdArchive(p, zTopic, 1, &st, &zErr);
  if( rc ){ sqlite3StreamResultErr(ctx, rc, zErr); return; }
  {
    char *z = sqlite3_mprintf("{\"messages\":%lld,\"files\":%lld,"
                              "\"orphans\":%lld,\"expired\":%lld,"
                              "\"snapshots\":%lld}",
                              (long long)st.nMessages, (long long)st.nFiles,
                              (long long)st.nOrphans, (long long)st.nExpired,
                              (long long)st.nSnapshots);
    if( z==0 ){ sqlite3_result_error_nomem(ctx); return; }
    sqlite3_result_text(ctx, z, -1, sqlite3_free);
    sqlite3_result_subtype(ctx, 'J');
  }
}

/**************************************************************************
** stream_history(topic [, from_ts [, to_ts [, store, namespace]]])
**
** Rows (partition, offset, key, value, headers, timestamp, tier) of the
** topic's whole history in (partition, offset) order: for each partition,
** the cold table's data files (pruned by their timestamp bounds), then
** the live log (the scan API) from the offset after the last archived
** one, so no offset comes twice.  from_ts <= timestamp < to_ts (ms).  With
** a store URL and a namespace ("db_<id>"), only that table is read: the
** history of another database's topic.
*/
#define HIST_TOPIC 7
#define HIST_FROM  8
#define HIST_TO    9
#define HIST_STORE 10
#define HIST_NS    11

typedef struct StreamHistVtab StreamHistVtab;
struct StreamHistVtab {
  sqlite3_vtab base;
  StreamCtx *p;
};

typedef struct StreamHistCursor StreamHistCursor;
struct StreamHistCursor {
  sqlite3_vtab_cursor base;
  StreamCtx *p;
  StreamStore *pStore;         /* Cold store, or NULL */
  StreamIceFile *aFile;        /* Data files, by (partition, first offset) */
  int nFile;
  char *zTopic;
  int bLive;                   /* Read the live log too (own database) */
  int nPart;                   /* Partitions to visit */
  i64 iFrom, iTo;              /* Timestamp range, ms, [iFrom, iTo) */
  int iPart;                   /* Partition being read */
  int iPartOnly;               /* "partition = N" of the query, or -1 */
  int iFile;                   /* Next file of the partition, index */
  unsigned mCols;              /* Parquet columns to decode */
  i64 iColdNext;               /* Offset after the partition's cold files */
  i64 iMirror;                 /* Own database: the partition's archived
                               ** watermark (_stream_cold); cold rows from
                               ** there on are not its history */
  int iMirrorPart;             /* Partition iMirror is of, or -1 */
  StreamStoreHandle h;         /* Open data file */
  StreamPqReader *pR;          /* Its reader */
  StreamScan *pLive;           /* Live rows of the partition (scan API) */
  int bLiveRow;                /* pLive was on a row already returned */
  int eSrc;                    /* 1 cold row, 2 live row */
  StreamPqRow row;             /* Current cold row */
  int bEof;
  sqlite3_value *aArg[4];      /* from_ts .. namespace as given: the hidden
                               ** columns (a WHERE term on one that SQLite
                               ** checks must see the argument, not NULL) */
  StreamReading reading;       /* In the connection's list while open */
};

static int streamHistConnect(sqlite3 *db, void *pAux, int argc,
                             const char *const *argv, sqlite3_vtab **ppVtab,
                             char **pzErr){
  StreamHistVtab *v;
  int rc;
  STREAM_UNUSED(argc); STREAM_UNUSED(argv); STREAM_UNUSED(pzErr);
  rc = sqlite3_declare_vtab(db, "CREATE TABLE x(partition INTEGER,"
      " offset INTEGER, key, value, headers TEXT, timestamp INTEGER,"
      " tier TEXT, topic TEXT HIDDEN, from_ts INTEGER HIDDEN,"
      " to_ts INTEGER HIDDEN, store TEXT HIDDEN, namespace TEXT HIDDEN)");
  if( rc ) return rc;
  /* DIRECTONLY: it opens stores named by its arguments, so a hostile
  ** schema (a view, a trigger) must not reach it. */
  sqlite3_vtab_config(db, SQLITE_VTAB_DIRECTONLY);
  v = sqlite3_malloc(sizeof(*v));
  if( v==0 ) return SQLITE_NOMEM;
  memset(v, 0, sizeof(*v));
  v->p = (StreamCtx*)pAux;
  *ppVtab = &v->base;
  return SQLITE_OK;
}

static int streamHistDisconnect(sqlite3_vtab *pVtab){
  sqlite3_free(pVtab);
  return SQLITE_OK;
}

/*
** The arguments are the "=" terms on the hidden columns.  An argument
** constrained twice (stream_history('t') WHERE topic = j.t, or a
** MULTI-INDEX OR's branch topic = 'u') gets both values, the extra one
** after the arguments in argv and named by idxStr ('0'..'4' per value):
** xFilter returns no rows unless they are equal.  (Either one taken as
** the argument alone read that topic, or failed with "no such topic".)
** An extra term with another collation is left to SQLite, which compares
** it with the hidden column (the argument).
*/
#define HIST_MAX_DUP 8
/* idxNum bit: a "partition =" value follows the arguments in argv. */
#define HIST_PART_ARG (1<<5)
static int streamHistBestIndex(sqlite3_vtab *pVtab, sqlite3_index_info *pIdx){
  int i, aUse[5] = {-1,-1,-1,-1,-1}, n = 0, mask = 0, nDup = 0;
  int aDup[HIST_MAX_DUP];
  char zDup[HIST_MAX_DUP];
  STREAM_UNUSED(pVtab);
  for(i=0; i<pIdx->nConstraint; i++){
    const struct sqlite3_index_constraint *c = &pIdx->aConstraint[i];
    int k = c->iColumn-HIST_TOPIC;
    if( k<0 || c->op!=SQLITE_INDEX_CONSTRAINT_EQ || c->usable ) continue;
    /* An argument not available in this plan (a join's, or a correlated
    ** subquery's outer column) - unless another term gives it: that term
    ** is the argument, and SQLite checks this one against it. */
    for(n=0; n<pIdx->nConstraint; n++){
      const struct sqlite3_index_constraint *d = &pIdx->aConstraint[n];
      if( d->iColumn==c->iColumn && d->usable
       && d->op==SQLITE_INDEX_CONSTRAINT_EQ ) break;
    }
    if( n==pIdx->nConstraint ) return SQLITE_CONSTRAINT;
  }
  n = 0;
  for(i=0; i<pIdx->nConstraint; i++){
    const struct sqlite3_index_constraint *c = &pIdx->aConstraint[i];
    int k = c->iColumn-HIST_TOPIC;
    if( k<0 || c->op!=SQLITE_INDEX_CONSTRAINT_EQ || !c->usable ) continue;
    if( aUse[k]<0 ){
      aUse[k] = i;
    }else if( nDup<HIST_MAX_DUP && sqlite3StreamVtabBinary(pIdx, i) ){
      aDup[nDup] = i;
      zDup[nDup++] = (char)('0' + k);
    }
  }
  if( aUse[0]<0 ){
    pIdx->estimatedCost = 1e99;
    pIdx->idxNum = 0;
    return SQLITE_OK;
  }
  for(i=0; i<5; i++){
    if( aUse[i]>=0 ){
      pIdx->aConstraintUsage[aUse[i]].argvIndex = ++n;
      pIdx->aConstraintUsage[aUse[i]].omit = 1;
      mask |= 1<<i;
    }
  }
  /* "partition = N": only that partition's data files and live log are
  ** read (SQLite checks the term too: a value that is no integer reads
  ** all of them). */
  for(i=0; i<pIdx->nConstraint; i++){
    const struct sqlite3_index_constraint *c = &pIdx->aConstraint[i];
    if( c->iColumn==0 && c->op==SQLITE_INDEX_CONSTRAINT_EQ && c->usable ){
      pIdx->aConstraintUsage[i].argvIndex = ++n;
      mask |= HIST_PART_ARG;
      break;
    }
  }
  if( sqlite3StreamVtabDupArgs(pIdx, n, aDup, zDup, nDup) ){
    return SQLITE_NOMEM;
  }
  /* Parquet columns the statement uses (key 3, value 4, headers 5 of the
  ** file layout), in bits 8..15: the others are not decoded. */
  if( pIdx->colUsed & (1<<2) ) mask |= 1<<(8+3);
  if( pIdx->colUsed & (1<<3) ) mask |= 1<<(8+4);
  if( pIdx->colUsed & (1<<4) ) mask |= 1<<(8+5);
  pIdx->idxNum = mask;
  pIdx->estimatedCost = (mask & HIST_PART_ARG) ? 100 : 1000;
  if( pIdx->nOrderBy==2
   && pIdx->aOrderBy[0].iColumn==0 && !pIdx->aOrderBy[0].desc
   && pIdx->aOrderBy[1].iColumn==1 && !pIdx->aOrderBy[1].desc ){
    pIdx->orderByConsumed = 1;
  }
  return SQLITE_OK;
}

/* StreamReading.xActive: rows left of this database's topic, which
** stream_delete_topic() will not delete from under it (ext/topic.c): the
** rest of its live log would be gone, or a new topic's of the same name.
** (Another database's table, read by store and namespace, is not.) */
static int streamHistActive(StreamReading *pR){
  StreamHistCursor *c = (StreamHistCursor*)((char*)pR
                        - offsetof(StreamHistCursor, reading));
  return c->reading.zTopic!=0 && !c->bEof;
}

static int streamHistOpen(sqlite3_vtab *pVtab, sqlite3_vtab_cursor **pp){
  StreamHistCursor *c = sqlite3_malloc(sizeof(*c));
  if( c==0 ) return SQLITE_NOMEM;
  memset(c, 0, sizeof(*c));
  c->p = ((StreamHistVtab*)pVtab)->p;
  c->bEof = 1;
  c->reading.xActive = streamHistActive;
  sqlite3StreamReadingAdd(c->p, &c->reading);
  *pp = &c->base;
  return SQLITE_OK;
}

static void streamHistReset(StreamHistCursor *c){
  int i;
  if( c->pR ) sqlite3StreamPqReaderClose(c->pR);
  c->pR = 0;
  if( c->h.pFile ) c->pStore->pMethods->xClose(c->h.pFile);
  c->h.pFile = 0;
  sqlite3StreamScanClose(c->pLive);
  c->pLive = 0;
  c->bLiveRow = 0;
  sqlite3StreamIceFreeFiles(c->aFile, c->nFile);
  c->aFile = 0;
  c->nFile = 0;
  if( c->pStore ) c->pStore->pMethods->xFree(c->pStore);
  c->pStore = 0;
  sqlite3_free(c->zTopic);
  c->zTopic = 0;
  c->reading.zTopic = 0;               /* c->zTopic's */
  c->bEof = 1;
  for(i=0; i<4; i++){
    sqlite3_value_free(c->aArg[i]);
    c->aArg[i] = 0;
  }
}

static int streamHistClose(sqlite3_vtab_cursor *pCur){
  StreamHistCursor *c = (StreamHistCursor*)pCur;
  sqlite3StreamReadingRemove(c->p, &c->reading);
  streamHistReset(c);
  sqlite3_free(pCur);
  return SQLITE_OK;
}

static int streamHistFileCmp(const void *a, const void *b){
  const StreamIceFile *x = (const StreamIceFile*)a;
  const StreamIceFile *y = (const StreamIceFile*)b;
  if( x->iPartition!=y->iPartition ) return x->iPartition<y->iPartition?-1:1;
  if( x->iOffLo!=y->iOffLo ) return x->iOffLo<y->iOffLo ? -1 : 1;
  return 0;
}

static int streamHistErr(StreamHistCursor *c, int rc, char *zErr){
  sqlite3_free(c->base.pVtab->zErrMsg);
  c->base.pVtab->zErrMsg = zErr ? zErr
                         : sqlite3_mprintf("%s", sqlite3_errstr(rc));
  return rc;
}

/* Move to the next row (or to EOF). */
static int streamHistStep(StreamHistCursor *c){
  char *zErr = 0;
  int rc;
  while( 1 ){
    if( c->pR ){
      rc = sqlite3StreamPqReaderNext(c->pR, &c->row);
      if( rc==SQLITE_ROW ){
        if( c->row.iTimestampMs<c->iFrom || c->row.iTimestampMs>=c->iTo
         || c->row.iOffset>=c->iMirror ){
          continue;
        }
        c->eSrc = 1;
        return SQLITE_OK;
      }
      if( rc!=SQLITE_DONE ){
        /* A failed read of the store: its message says why (the file
        ** changed or removed under the reader, ...). */
        const char *zStore = rc==SQLITE_NOMEM ? 0
                           : sqlite3StreamStoreReadErr(&c->h);
        if( zStore ){
          return streamHistErr(c, SQLITE_IOERR, sqlite3_mprintf(STREAM_ERR
              "cold data file %s cannot be read: %s",
              c->aFile[c->iFile-1].zKey, zStore));
        }
        return streamHistErr(c, rc, sqlite3_mprintf(STREAM_ERR "cold data"
            " file %s: %s", c->aFile[c->iFile-1].zKey,
            sqlite3StreamPqReaderErrmsg(c->pR)));
      }
      sqlite3StreamPqReaderClose(c->pR);
      c->pR = 0;
      c->pStore->pMethods->xClose(c->h.pFile);
      c->h.pFile = 0;
    }
    if( c->pLive ){
      if( c->bLiveRow ){
        rc = sqlite3StreamScanNext(c->pLive, &zErr);
        if( rc ) return streamHistErr(c, rc, zErr);
      }
      if( !sqlite3StreamScanEof(c->pLive) ){
        c->bLiveRow = 1;
        c->eSrc = 2;
        return SQLITE_OK;
      }
      sqlite3StreamScanClose(c->pLive);
      c->pLive = 0;
      c->bLiveRow = 0;
      if( c->iPartOnly>=0 ){
        c->bEof = 1;                   /* the one partition asked for */
        return SQLITE_OK;
      }
      c->iPart++;
      c->iColdNext = 0;
    }
    if( c->bLive && c->iMirrorPart!=c->iPart ){
      /* The table may be ahead of this database: a crash after a commit
      ** (the live log still has those messages: the hold is the mirror)
      ** or a copy of the database behind the original (the table has
      ** the original's messages there, not this log's). */
      rc = sqlite3StreamWatermark(c->p, 0, c->zTopic, c->iPart,
                                  &c->iMirror, &zErr);
      if( rc ) return streamHistErr(c, rc, zErr);
      c->iMirrorPart = c->iPart;
    }
    /* Next cold file of this partition? */
    if( c->iFile<c->nFile && c->aFile[c->iFile].iPartition==c->iPart ){
      StreamIceFile *f = &c->aFile[c->iFile++];
      i64 nSize = 0;
      if( f->iOffHi+1>c->iColdNext ) c->iColdNext = f->iOffHi+1;
      if( c->iColdNext>c->iMirror ) c->iColdNext = c->iMirror;
      if( f->iOffLo>=c->iMirror ) continue;
      if( f->iTsHi/1000<c->iFrom || f->iTsLo/1000>=c->iTo ) continue;
      rc = c->pStore->pMethods->xOpen(c->pStore, f->zKey, &c->h.pFile,
                                      &nSize, &zErr);
      if( rc==SQLITE_OK ){
        c->h.pStore = c->pStore;
        rc = sqlite3StreamPqReaderOpen(&c->pR, sqlite3StreamStoreReadFn,
                                       &c->h, nSize, &zErr);
      }
      if( rc==SQLITE_OK ) rc = sqlite3StreamPqReaderSetColumns(c->pR, c->mCols);
      if( rc ){
        const char *zStore = rc==SQLITE_NOMEM ? 0
                           : sqlite3StreamStoreReadErr(&c->h);
        char *z = zStore
          ? sqlite3_mprintf(STREAM_ERR "cold data file %s cannot be read: %s",
                            f->zKey, zStore)
          : sqlite3_mprintf(STREAM_ERR "cold data file %s: %s", f->zKey,
                  zErr==0 ? sqlite3_errstr(rc)
                  : strncmp(zErr, STREAM_ERR, sizeof(STREAM_ERR)-1)==0
                  ? zErr+sizeof(STREAM_ERR)-1 : zErr);
        sqlite3_free(zErr);
        return streamHistErr(c, zStore ? SQLITE_IOERR : rc, z);
      }
      continue;
    }
    /* The live log of this partition. */
    if( c->bLive && c->iPart<c->nPart ){
      StreamScanner *pScanner = 0;
      StreamScanArg aArg[5];
      int idx = STREAM_SCAN_TOPIC|STREAM_SCAN_PART|STREAM_SCAN_OFF_LO
              |STREAM_SCAN_TS_LO|STREAM_SCAN_TS_HI|STREAM_SCAN_TS_HI_X;
      if( (c->mCols & (1u<<3))==0 ) idx |= STREAM_SCAN_NO_KEY;
      if( (c->mCols & (1u<<4))==0 ) idx |= STREAM_SCAN_NO_VALUE;
      if( (c->mCols & (1u<<5))==0 ) idx |= STREAM_SCAN_NO_HDRS;
      memset(aArg, 0, sizeof(aArg));
      aArg[0].zVal = c->zTopic;
      aArg[1].iVal = c->iPart;
      aArg[2].iVal = c->iColdNext;
      aArg[3].iVal = c->iFrom;
      aArg[4].iVal = c->iTo;
      rc = sqlite3StreamScannerGet(c->p, &pScanner);
      if( rc==SQLITE_OK ){
        rc = sqlite3StreamScanOpen(pScanner, idx, 5, aArg, &c->pLive, &zErr);
      }
      c->bLiveRow = 0;
      if( rc ){
        sqlite3StreamScanClose(c->pLive);
        c->pLive = 0;
        return streamHistErr(c, rc, zErr);
      }
      continue;
    }
    /* Next partition with cold files. */
    if( c->iFile<c->nFile ){
      c->iPart = c->aFile[c->iFile].iPartition;
      c->iColdNext = 0;
      if( c->bLive && c->iPart>=c->nPart ) c->bLive = 0;
      continue;
    }
    c->bEof = 1;
    return SQLITE_OK;
  }
}

static int streamHistFilter(sqlite3_vtab_cursor *pCur, int idxNum,
                            const char *idxStr, int argc,
                            sqlite3_value **argv){
  StreamHistCursor *c = (StreamHistCursor*)pCur;
  StreamCtx *p = c->p;
  const char *zStore = 0, *zNs = 0;
  char *zErr = 0, *zId = 0, *zNsOwn = 0, *zPrefix = 0;
  StreamIceTable *t = 0;
  int rc = SQLITE_OK, i, j = 0, bOther = 0;
  i64 iInc = 0;
  STREAM_UNUSED(argc);
  streamHistReset(c);
  c->iFrom = (i64)-0x7fffffffffffffffLL;
  c->iTo = (i64)0x7fffffffffffffffLL;
  c->iPart = 0;
  c->iFile = 0;
  c->iColdNext = 0;
  c->iMirror = (i64)0x7fffffffffffffffLL;
  c->iMirrorPart = -1;
  c->iPartOnly = -1;
  c->mCols = (((unsigned)idxNum >> 8) & 0xff) | (1u<<1);  /* + partition */
  if( (idxNum & 1)==0 ){
    return streamHistErr(c, SQLITE_ERROR, sqlite3_mprintf(STREAM_ERR
        "stream_history: a topic is required: stream_history(topic [,"
        " from_ts [, to_ts [, store, namespace]]])"));
  }
  for(i=0; idxStr && idxStr[i]; i++){
    /* An argument given twice: no rows unless the values are equal. */
    int k = idxStr[i]-'0', iArg = 0, m;
    for(m=0; m<k; m++) iArg += (idxNum>>m) & 1;
    rc = sqlite3StreamVtabSame(argv[iArg], argv[argc-(int)strlen(idxStr)+i],
                               k==1 || k==2 ? SQLITE_INTEGER : SQLITE_TEXT);
    if( rc<0 ) return SQLITE_NOMEM;
    if( rc==0 ) return SQLITE_OK;           /* bEof from streamHistReset */
    rc = SQLITE_OK;
  }
  for(i=0; i<5; i++){
    sqlite3_value *v;
    if( (idxNum & (1<<i))==0 ) continue;
    v = argv[j++];
    if( i>0 && (c->aArg[i-1] = sqlite3_value_dup(v))==0 ){
      return SQLITE_NOMEM;
    }
    if( sqlite3_value_type(v)==SQLITE_NULL ) continue;
    switch( i ){
      case 0:
        c->zTopic = sqlite3_mprintf("%s", sqlite3_value_text(v));
        if( c->zTopic==0 ) return SQLITE_NOMEM;
        break;
      case 1: case 2:
        /* The one integer rule (an integer, or a real that is exactly
        ** one, sqlite3StreamValueInt), as every other argument. */
        if( !sqlite3StreamValueInt(v, i==1 ? &c->iFrom : &c->iTo) ){
          return streamHistErr(c, SQLITE_MISMATCH, sqlite3_mprintf(
              STREAM_ERR "stream_history: %s must be an integer (ms since"
              " the epoch)", i==1 ? "from_ts" : "to_ts"));
        }
        break;
      case 3: zStore = (const char*)sqlite3_value_text(v); break;
      case 4: zNs = (const char*)sqlite3_value_text(v); break;
    }
  }
  if( idxNum & HIST_PART_ARG ){
    i64 iP = -1;
    if( sqlite3StreamValueInt(argv[j++], &iP) && iP>=0 && iP<=0x7fffffff ){
      c->iPartOnly = (int)iP;
    }
  }
  if( c->zTopic==0 ){
    return streamHistErr(c, SQLITE_ERROR, sqlite3_mprintf(STREAM_ERR
        "stream_history: topic must not be NULL"));
  }
  if( (zStore==0)!=(zNs==0) ){
    return streamHistErr(c, SQLITE_ERROR, sqlite3_mprintf(STREAM_ERR
        "stream_history: give both a store URL and a namespace, or neither"));
  }
  if( zStore==0 ){
    /* This database: the topic must exist. */
    StreamTopicConfig cfg;
    rc = sqlite3StreamCatTopicRow(p, c->zTopic, &cfg, &c->nPart, &iInc,
                                  &zErr);
    if( rc ) return streamHistErr(c, rc, zErr);
    c->bLive = 1;
    c->reading.zTopic = c->zTopic;
    zId = sqlite3StreamMetaGet(p, "database.id", &rc);
    if( rc ) return streamHistErr(c, rc, 0);
    if( zId ){
      zNsOwn = sqlite3_mprintf("db_%s", zId);
      if( zNsOwn==0 ){ sqlite3_free(zId); return SQLITE_NOMEM; }
      zNs = zNsOwn;
    }
  }
  if( zNs ) rc = streamColdStore(p, zStore, &c->pStore, &zErr);
  if( rc==SQLITE_OK && c->pStore ){
    zPrefix = streamColdPrefix(zNs, c->zTopic, &zErr, &rc);
    if( rc==SQLITE_OK ) rc = sqlite3StreamIceOpen(c->pStore, zPrefix, &t,
                                                  &zErr);
    if( rc==SQLITE_OK && zStore==0 ){
      /* The table of an earlier topic of the same name (deleted and
      ** created again; stream_archive() refuses to write into it) is not
      ** this topic's history: its offsets hid the live log's. */
      const char *zPrev = sqlite3StreamIceLastCommit(t, "stream.database-id",
                      zId, "stream.topic-incarnation", 0);
      char zInc[24];
      snprintf(zInc, sizeof(zInc), "%lld", (long long)iInc);
      if( zPrev && zPrev[0] && strcmp(zPrev, zInc)!=0 ) bOther = 1;
    }
    if( rc==SQLITE_OK && !bOther ){
      rc = sqlite3StreamIceDataFiles(t, &c->aFile, &c->nFile, &zErr);
    }
    if( rc==SQLITE_OK && c->iPartOnly>=0 ){
      /* Only that partition's data files. */
      int k = 0;
      for(i=0; i<c->nFile; i++){
        if( c->aFile[i].iPartition==c->iPartOnly ){
          StreamIceFile tmp = c->aFile[k];
          c->aFile[k++] = c->aFile[i];
          c->aFile[i] = tmp;
        }
      }
      for(i=k; i<c->nFile; i++) sqlite3_free(c->aFile[i].zKey);
      c->nFile = k;
    }
    if( rc==SQLITE_OK && c->nFile>1 ){
      qsort(c->aFile, (size_t)c->nFile, sizeof(c->aFile[0]),
            streamHistFileCmp);
    }
  }
  sqlite3StreamIceClose(t);
  sqlite3_free(zPrefix);
  sqlite3_free(zNsOwn);
  sqlite3_free(zId);
  if( rc ) return streamHistErr(c, rc, zErr);
  if( c->nFile>0 && (!c->bLive || c->aFile[0].iPartition<0) ){
    c->iPart = c->aFile[0].iPartition;
  }
  if( c->iPartOnly>=0 && c->bLive ){
    /* That partition alone (past the last: its data files, no live log,
    ** as a partition of them alone would be read). */
    c->iPart = c->iPartOnly;
    if( c->iPart>=c->nPart ) c->bLive = 0;
  }
  c->bEof = 0;
  return streamHistStep(c);
}

static int streamHistNext(sqlite3_vtab_cursor *pCur){
  return streamHistStep((StreamHistCursor*)pCur);
}

static int streamHistEof(sqlite3_vtab_cursor *pCur){
  return ((StreamHistCursor*)pCur)->bEof;
}

/* Cold bytes are handed to SQLite as copies (SQLITE_TRANSIENT), as
** vtab/messages.c does for warm ones: they live in the reader's decoded
** page only until the next xNext, and SQLite may keep a value beyond the
** row (an ordered GROUP BY's bare columns): a value handed out without a
** copy then read the next row's bytes (cold.test 1.15). */
static void streamHistBytes(sqlite3_context *ctx, int eType, const void *a,
                            int n){
  if( eType==STREAM_PQ_TEXT ){
    sqlite3_result_text(ctx, a ? (const char*)a : "", n, SQLITE_TRANSIENT);
  }else if( eType==STREAM_PQ_BLOB ){
    sqlite3_result_blob(ctx, a ? a : "", n, SQLITE_TRANSIENT);
  }
}

static int streamHistColumn(sqlite3_vtab_cursor *pCur, sqlite3_context *ctx,
                            int i){
  StreamHistCursor *c = (StreamHistCursor*)pCur;
  if( i>HIST_TOPIC ){
    if( c->aArg[i-HIST_FROM] ) sqlite3_result_value(ctx, c->aArg[i-HIST_FROM]);
    return SQLITE_OK;
  }
  if( c->eSrc==2 ){
    /* A live row: key, value and headers as stored (an SQL value) or as
    ** the scan decoded them. */
    static const int aCol[] = {
      STREAM_SCAN_COL_PARTITION, STREAM_SCAN_COL_OFFSET, STREAM_SCAN_COL_KEY,
      STREAM_SCAN_COL_VALUE, STREAM_SCAN_COL_HEADERS,
      STREAM_SCAN_COL_TIMESTAMP
    };
    if( i==0 || i==1 || i==5 ){
      sqlite3_result_int64(ctx, sqlite3StreamColdScanInt(c->pLive, aCol[i]));
    }else if( i<=4 ){
      const void *a;
      int n, eType, rc;
      sqlite3_value *pVal = 0;
      rc = sqlite3StreamColdScanBytes(c->pLive, aCol[i], &a, &n, &eType,
                                      &pVal);
      if( rc ) return rc;
      if( pVal ) sqlite3_result_value(ctx, pVal);
      else streamHistBytes(ctx, eType, a, n);
    }else if( i==6 ){
      sqlite3_result_text(ctx, "live", -1, SQLITE_STATIC);
    }else if( i==HIST_TOPIC ){
      sqlite3_result_text(ctx, c->zTopic, -1, SQLITE_TRANSIENT);
    }
    return SQLITE_OK;
  }
  switch( i ){
    case 0: sqlite3_result_int(ctx, c->row.iPartition); break;
    case 1: sqlite3_result_int64(ctx, c->row.iOffset); break;
    case 2: streamHistBytes(ctx, c->row.eKeyType, c->row.pKey, c->row.nKey);
            break;
    case 3: streamHistBytes(ctx, c->row.eValueType, c->row.pValue,
                            c->row.nValue);
            break;
    case 4:
      if( c->row.zHeaders ){
        streamHistBytes(ctx, STREAM_PQ_TEXT, c->row.zHeaders,
                        c->row.nHeaders);
      }
      break;
    case 5: sqlite3_result_int64(ctx, c->row.iTimestampMs); break;
    case 6: sqlite3_result_text(ctx, "cold", -1, SQLITE_STATIC); break;
    case HIST_TOPIC:
      sqlite3_result_text(ctx, c->zTopic, -1, SQLITE_TRANSIENT);
      break;
  }
  return SQLITE_OK;
}

static int streamHistRowid(sqlite3_vtab_cursor *pCur, sqlite3_int64 *pRowid){
  StreamHistCursor *c = (StreamHistCursor*)pCur;
  i64 iOff = c->eSrc==2
      ? sqlite3StreamColdScanInt(c->pLive, STREAM_SCAN_COL_OFFSET)
      : c->row.iOffset;
  *pRowid = iOff;
  return SQLITE_OK;
}

static const sqlite3_module streamHistModule = {
  0, 0, streamHistConnect, streamHistBestIndex, streamHistDisconnect, 0,
  streamHistOpen, streamHistClose, streamHistFilter, streamHistNext,
  streamHistEof, streamHistColumn, streamHistRowid,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
};

/* The stream_history module; stream_archive() is registered from
** ext/main.c's aFunc[]. */
int sqlite3StreamRegisterCold(sqlite3 *db, StreamCtx *p){
  return sqlite3_create_module(db, "stream_history", &streamHistModule, p);
}
