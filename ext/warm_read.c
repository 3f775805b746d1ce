/*
** warm_read.c - reading the warm tier: the scan of a range over the
** segment index (xScanOpen/xScanNext/xScanClose), the reader of one
** segment file (StreamWarmCursor), and its per-connection cache.
**
** A segment file is read through a StreamWarmCursor: one segment's rows
** in offset order (or reverse), restricted to [iLo, iHi] and timestamps
** [iTsLo, iTsHi], row groups pruned by their statistics.  Memory: one
** page per column (ascending) or one row group (descending), so a replay
** of any length runs in bounded memory.
**
** A consumer polling a warm backlog runs one short scan per poll (offset
** >= position LIMIT n).  Without a cache every poll opens the segment
** file, reads and parses its footer, then decodes the row group's pages
** from their start only to skip to the position.  The cache keeps the
** last STREAM_WARM_CACHE_SIZE readers a connection closed (LRU), each
** with where it stopped: the next scan of the same file that starts past
** the last row read (or at it: that row is handed back) continues from
** there, with the page already decoded; any other scan reuses the open
** file and the parsed footer and seeks as usual.
**
** An entry is only reused for the same key and store URL and after the
** file's identity (xStat: size, mtime, inode) is checked against the one
** it was opened with, so a file deleted, rewritten (compaction writes a
** new name anyway) or replaced behind our back is never read through a
** stale reader: the entry is dropped and the file opened afresh.  Files
** are immutable once named, and which files a scan reads still comes from
** the segment index in the scan's own transaction, so the cache is safe
** across transactions and connections (each connection has its own).
*/
#include "warm.h"
#include <string.h>

typedef struct StreamWarmCursor StreamWarmCursor;
typedef struct StreamWarmCache StreamWarmCache;
static void streamWarmCursorClose(StreamWarmCursor*);

#define STREAM_WARM_CACHE_SIZE 8

struct StreamWarmCursor {
  StreamStore *pStore;         /* Store (borrowed, or pOwnStore) */
  StreamStore *pOwnStore;      /* Store owned (cached cursors), or NULL */
  StreamWarmCache *pCache;     /* Cache to return the reader to, or NULL */
  StreamStoreHandle h;         /* Open file */
  StreamPqReader *pR;          /* Reader */
  char *zKey;                  /* Object key (messages) */
  StreamSegment seg;           /* The row the file was checked against
                               ** (zLocation = zKey, zTopic = zSegTopic) */
  char *zSegTopic;             /* Topic of seg (owned) */
  i64 iPrev;                   /* Offset of the row read before, or
                               ** SMALLEST_INT64 at a group's start */
  StreamStoreId id;            /* Identity of the open file */
  i64 iLo, iHi;                /* Offset bounds, inclusive */
  i64 iTsLo, iTsHi;            /* Timestamp bounds, inclusive */
  int bDesc;                   /* Descending order */
  int iGroup;                  /* Row group being read / next to read */
  i64 nGroupLeft;              /* Rows of iGroup not yet read (ascending) */
  int bDone;                   /* No more rows */
  unsigned mWant;              /* Columns wanted (0: all) */
  /* Ascending: the last row read from the reader (returned or not). */
  int bLast;                   /* last is valid (its bytes are in the page) */
  StreamPqRow last;            /* The row */
  int iPosGroup;               /* Ascending: group the reader is in, or -1 */
  i64 nPosLeft;                /* ... rows of it the reader has not read */
  int bResume;                 /* First Next() may continue from resume */
  int iResumeGroup;            /* ... the reader is inside this group */
  i64 nResumeLeft;             /* ... with this many rows of it left */
  /* Descending: one row group buffered, returned from the end. */
  StreamPqRow *aRow;           /* Rows (pointers relative to buf.a) */
  int nRow, nRowAlloc;         /* Used/allocated in aRow */
  StreamPqBuf buf;             /* Their bytes */
  StreamPqRow cur;             /* Row returned */
};

/* One cached reader. */
typedef struct StreamWarmEntry StreamWarmEntry;
struct StreamWarmEntry {
  char *zKey;                  /* Object key, or NULL if the slot is free */
  StreamSegment seg;           /* Row the file was checked against */
  char *zSegTopic;             /* Topic of seg (owned) */
  StreamStore *pStore;         /* Store (owned) */
  StreamStoreHandle h;         /* Open file */
  StreamPqReader *pR;          /* Reader */
  StreamStoreId id;            /* Identity of the open file */
  int bResume;                 /* Ascending position below is valid */
  int iGroup;                  /* Group the reader is inside */
  i64 nGroupLeft;              /* Rows of it not read */
  int bLast;                   /* last is valid */
  StreamPqRow last;            /* Last row read */
  u64 iUsed;                   /* LRU clock */
};

struct StreamWarmCache {
  StreamWarmEntry a[STREAM_WARM_CACHE_SIZE];
  u64 iClock;                  /* Ticks at every put */
  i64 nHit, nResume, nMiss;    /* Statistics (tests) */
};

static void streamWarmEntryClear(StreamWarmEntry *pE){
  sqlite3StreamPqReaderClose(pE->pR);
  if( pE->h.pFile ) pE->pStore->pMethods->xClose(pE->h.pFile);
  sqlite3StreamStoreUnref(pE->pStore);
  sqlite3_free(pE->zKey);
  sqlite3_free(pE->zSegTopic);
  memset(pE, 0, sizeof(*pE));
}

/* Was the cached file checked against the same row as pSeg? */
static int streamWarmSameRow(const StreamSegment *pA, const StreamSegment *pB){
  return strcmp(pA->zTopic, pB->zTopic)==0 && pA->iPartition==pB->iPartition
      && pA->iFirst==pB->iFirst && pA->iLast==pB->iLast
      && pA->nMessages==pB->nMessages && pA->nBytes==pB->nBytes
      && pA->iIncarnation==pB->iIncarnation && pA->nMaxValue==pB->nMaxValue;
}

static int streamWarmCacheNew(StreamWarmCache **pp){
  *pp = sqlite3_malloc64(sizeof(StreamWarmCache));
  if( *pp==0 ) return SQLITE_NOMEM;
  memset(*pp, 0, sizeof(StreamWarmCache));
  return SQLITE_OK;
}

static void streamWarmCacheFree(StreamWarmCache *pCache){
  int i;
  if( pCache==0 ) return;
  for(i=0; i<STREAM_WARM_CACHE_SIZE; i++){
    streamWarmEntryClear(&pCache->a[i]);
  }
  sqlite3_free(pCache);
}

static int streamWarmErr(StreamWarmCursor *pC, int rc, char **pzErr){
  const char *z = pC->pR ? sqlite3StreamPqReaderErrmsg(pC->pR) : 0;
  const char *zStore = pC->pR ? sqlite3StreamStoreReadErr(&pC->h) : 0;
  if( zStore && rc!=SQLITE_NOMEM ){
    /* The store failed to read it: its message says why. */
    return sqlite3StreamErr(pzErr, SQLITE_IOERR, "warm segment %s cannot be"
                            " read: %s", pC->zKey, zStore);
  }
  return sqlite3StreamErr(pzErr, rc, "warm segment %s: %s", pC->zKey,
                          z ? z : sqlite3_errstr(rc));
}

/* Take the cached reader of pSeg's file (same store URL, same file
** identity, checked against the same row) into pC.  Returns 1 if it did. */
static int streamWarmCacheTake(StreamWarmCache *pCache, StreamStore *pStore,
                               const StreamSegment *pSeg,
                               StreamWarmCursor *pC){
  const char *zKey = pSeg->zLocation;
  int i;
  for(i=0; i<STREAM_WARM_CACHE_SIZE; i++){
    StreamWarmEntry *pE = &pCache->a[i];
    StreamStoreId now;
    if( pE->zKey==0 || strcmp(pE->zKey, zKey)!=0 ) continue;
    if( strcmp(pE->pStore->zUrl, pStore->zUrl)!=0
     || !streamWarmSameRow(&pE->seg, pSeg)
     || pStore->pMethods->xStat==0
     || pStore->pMethods->xStat(pStore, zKey, &now)!=SQLITE_OK
     || memcmp(&now, &pE->id, sizeof(now))!=0
    ){
      streamWarmEntryClear(pE);       /* stale: deleted or replaced */
      return 0;
    }
    pC->pOwnStore = pE->pStore;
    pC->pStore = pE->pStore;
    pC->h = pE->h;
    pC->pR = pE->pR;
    pC->id = pE->id;
    pC->bResume = pE->bResume;
    pC->iResumeGroup = pE->iGroup;
    pC->nResumeLeft = pE->nGroupLeft;
    pC->bLast = pE->bLast;
    pC->last = pE->last;
    sqlite3_free(pE->zKey);
    sqlite3_free(pE->zSegTopic);
    memset(pE, 0, sizeof(*pE));
    pCache->nHit++;
    return 1;
  }
  return 0;
}

/* Does the cache hold a reader of key zKey of pStore's URL (not yet
** checked to be current)? */
static int streamWarmCacheHas(StreamWarmCache *pCache, StreamStore *pStore,
                              const char *zKey){
  int i;
  for(i=0; pCache && i<STREAM_WARM_CACHE_SIZE; i++){
    StreamWarmEntry *pE = &pCache->a[i];
    if( pE->zKey && strcmp(pE->zKey, zKey)==0
     && strcmp(pE->pStore->zUrl, pStore->zUrl)==0 ){
      return 1;
    }
  }
  return 0;
}

/* Hand pC's reader to the cache (evicting the least recently used).
** Returns 1 if the cache took it. */
static int streamWarmCachePut(StreamWarmCursor *pC){
  StreamWarmCache *pCache = pC->pCache;
  StreamWarmEntry *pE = 0;
  int i;
  if( pCache==0 || pC->pR==0 || pC->pOwnStore==0
   || sqlite3StreamPqReaderErrmsg(pC->pR)!=0 ){
    return 0;
  }
  for(i=0; i<STREAM_WARM_CACHE_SIZE; i++){
    StreamWarmEntry *p = &pCache->a[i];
    if( p->zKey==0 ){ pE = p; break; }
    if( pE==0 || p->iUsed<pE->iUsed ) pE = p;
  }
  streamWarmEntryClear(pE);
  pE->zKey = pC->zKey;
  pC->zKey = 0;
  pE->seg = pC->seg;
  pE->seg.zLocation = pE->zKey;
  pE->zSegTopic = pC->zSegTopic;
  pC->zSegTopic = 0;
  pE->pStore = pC->pOwnStore;
  pE->h = pC->h;
  pE->pR = pC->pR;
  pE->id = pC->id;
  pE->bResume = !pC->bDesc && pC->iPosGroup>=0
             && pC->iPosGroup<sqlite3StreamPqReaderGroups(pC->pR)
             && pC->nPosLeft>0;
  pE->iGroup = pC->iPosGroup;
  pE->nGroupLeft = pC->nPosLeft;
  pE->bLast = pE->bResume && pC->bLast;
  if( !pE->bResume ){
    /* Nothing to continue (a file read to its end, a DESC scan): keep
    ** the open file and the footer, not the decoded pages. */
    sqlite3StreamPqReaderRelease(pE->pR);
  }
  pE->last = pC->last;
  pE->iUsed = ++pCache->iClock;
  sqlite3StreamPqReaderSetSource(pE->pR, &pE->h);
  pC->pOwnStore = 0;
  pC->h.pFile = 0;
  pC->pR = 0;
  return 1;
}

static int streamWarmCursorOpen(StreamStore *pStore, StreamWarmCache *pCache,
                                const StreamSegment *pSeg, i64 iLo,
                                i64 iHi, i64 iTsLo, i64 iTsHi, int bDesc,
                                StreamWarmCursor **pp, char **pzErr){
  StreamWarmCursor *pC;
  i64 nFile = 0;
  int rc;
  *pp = 0;
  pC = sqlite3_malloc64(sizeof(*pC));
  if( pC==0 ) return SQLITE_NOMEM;
  memset(pC, 0, sizeof(*pC));
  pC->pStore = pStore;
  pC->pCache = pCache;
  pC->iLo = iLo; pC->iHi = iHi; pC->iTsLo = iTsLo; pC->iTsHi = iTsHi;
  pC->bDesc = bDesc;
  pC->iPrev = SMALLEST_INT64;
  pC->zKey = sqlite3_mprintf("%s", pSeg->zLocation);
  pC->zSegTopic = sqlite3_mprintf("%s", pSeg->zTopic);
  if( pC->zKey==0 || pC->zSegTopic==0 ){ rc = SQLITE_NOMEM; goto fail; }
  pC->seg = *pSeg;
  pC->seg.zLocation = pC->zKey;
  pC->seg.zTopic = pC->zSegTopic;
  if( pCache && streamWarmCacheTake(pCache, pStore, pSeg, pC) ){
    pC->h.pStore = pC->pStore;
    if( bDesc ) pC->bResume = 0;
    goto opened;
  }
  if( pCache ){
    /* The cache keeps the reader beyond this statement: its own store. */
    pCache->nMiss++;
    pC->pOwnStore = sqlite3StreamStoreRef(pStore);
    pC->pStore = pC->pOwnStore;
  }
  if( pStore->mCaps & STREAM_STORE_RANGED ){
    /* Its size is known here: a small file comes whole in the open's one
    ** round trip (the next segment's hint went out just before). */
    sqlite3StreamStorePrefetch(pStore, pSeg->zLocation, pSeg->nBytes, 0);
  }
  rc = sqlite3StreamWarmOpenSegment(pC->pStore, &pC->seg, &pC->h, &pC->pR,
                                    &nFile, pzErr);
  if( rc ) goto fail;
  if( pC->pStore->pMethods->xFileId ){
    pC->pStore->pMethods->xFileId(pC->h.pFile, &pC->id);
  }
 opened:
  /* The StreamStoreHandle moved: the reader's callback context too. */
  sqlite3StreamPqReaderSetSource(pC->pR, &pC->h);
  pC->iGroup = bDesc ? sqlite3StreamPqReaderGroups(pC->pR)-1 : 0;
  pC->nGroupLeft = -1;
  if( !pC->bResume ) pC->iPosGroup = -1;
  else{
    pC->iPosGroup = pC->iResumeGroup;
    pC->nPosLeft = pC->nResumeLeft;
  }
  *pp = pC;
  return SQLITE_OK;
 fail:
  streamWarmCursorClose(pC);
  return rc;
}

/* Does row group g possibly hold a row inside the bounds?  Sets *pbPast
** when it (and, in the direction of reading, every later group) lies
** beyond the offset bounds. */
static int streamWarmGroupOk(StreamWarmCursor *pC, int g, int *pbPast){
  const StreamPqGroupInfo *pI = sqlite3StreamPqReaderGroup(pC->pR, g);
  *pbPast = 0;
  if( pI==0 || !pI->bStats ) return 1;
  if( pC->bDesc ? pI->iOffsetMax<pC->iLo : pI->iOffsetMin>pC->iHi ){
    *pbPast = 1;
    return 0;
  }
  if( pI->iOffsetMax<pC->iLo || pI->iOffsetMin>pC->iHi ) return 0;
  if( pI->iTimestampMax<pC->iTsLo || pI->iTimestampMin>pC->iTsHi ) return 0;
  return 1;
}

static int streamWarmRowOk(StreamWarmCursor *pC, const StreamPqRow *r){
  return r->iOffset>=pC->iLo && r->iOffset<=pC->iHi
      && r->iTimestampMs>=pC->iTsLo && r->iTimestampMs<=pC->iTsHi;
}

/* Ascending, first call: continue where the cached reader stopped if
** this scan starts at or past the last row it read, inside the same
** group, and the group decodes every column wanted. */
static void streamWarmResume(StreamWarmCursor *pC){
  const StreamPqGroupInfo *pI;
  pC->bResume = 0;
  if( pC->bDesc ) return;
  pI = sqlite3StreamPqReaderGroup(pC->pR, pC->iResumeGroup);
  if( pI==0 || !pI->bStats || pI->iOffsetMax<pC->iLo ) return;
  if( (sqlite3StreamPqReaderColumns(pC->pR) & pC->mWant)!=pC->mWant ) return;
  if( pC->bLast && pC->last.iOffset>=pC->iLo ){
    /* Only the very last row can be handed back. */
    if( pC->last.iOffset!=pC->iLo ) return;
    if( sqlite3StreamPqReaderUnread(pC->pR, &pC->last) ) return;
    pC->nResumeLeft++;
    pC->bLast = 0;
  }else if( !pC->bLast ){
    /* Nothing read yet in that group: a plain seek costs the same. */
    return;
  }
  pC->iGroup = pC->iResumeGroup;
  pC->nGroupLeft = pC->nResumeLeft;
  pC->nPosLeft = pC->nResumeLeft;
  if( pC->pCache ) pC->pCache->nResume++;
}
/* Descending: buffer the rows of group pC->iGroup that pass the bounds. */
static int streamWarmLoadGroup(StreamWarmCursor *pC, char **pzErr){
  const StreamPqGroupInfo *pI = sqlite3StreamPqReaderGroup(pC->pR, pC->iGroup);
  i64 i;
  int rc = sqlite3StreamPqReaderSeekGroup(pC->pR, pC->iGroup);
  if( rc ) return streamWarmErr(pC, rc, pzErr);
  sqlite3StreamPqBufReset(&pC->buf);
  pC->nRow = 0;
  for(i=0; i<pI->nRows; i++){
    StreamPqRow r;
    rc = sqlite3StreamPqReaderNext(pC->pR, &r);
    if( rc!=SQLITE_ROW ){
      if( rc==SQLITE_DONE ) rc = SQLITE_CORRUPT;
      return streamWarmErr(pC, rc, pzErr);
    }
    if( i==0 ) pC->iPrev = SMALLEST_INT64;
    rc = sqlite3StreamWarmRowCheck(pC->zKey, pI, &pC->iPrev, r.iOffset, pzErr);
    if( rc ) return rc;
    if( !streamWarmRowOk(pC, &r) ) continue;
    if( pC->nRow==pC->nRowAlloc ){
      int nNew = pC->nRowAlloc ? pC->nRowAlloc*2 : 256;
      StreamPqRow *aNew = sqlite3_realloc64(pC->aRow, sizeof(*aNew)*nNew);
      if( aNew==0 ) return SQLITE_NOMEM;
      pC->aRow = aNew;
      pC->nRowAlloc = nNew;
    }
    /* Store byte offsets; turned into pointers when returned. */
#define WARM_KEEP(PTR, NBYTE) \
    if( PTR ){ size_t o = pC->buf.n; \
      sqlite3StreamPqBufAppend(&pC->buf, PTR, (size_t)(NBYTE)); \
      PTR = (void*)(o+1); }
    WARM_KEEP(r.pKey, r.nKey);
    WARM_KEEP(r.pValue, r.nValue);
    {
      const void *pH = r.zHeaders;
      WARM_KEEP(pH, r.nHeaders);
      r.zHeaders = (const char*)pH;
    }
    r.zTopic = 0;
    r.nTopic = 0;
#undef WARM_KEEP
    if( pC->buf.rc ) return SQLITE_NOMEM;
    pC->aRow[pC->nRow++] = r;
  }
  return SQLITE_OK;
}

static int streamWarmCursorNext(StreamWarmCursor *pC, const StreamPqRow **ppRow,
                                char **pzErr){
  int rc, bPast;
  if( pC->bDone ) return SQLITE_DONE;
  if( pC->bResume ) streamWarmResume(pC);
  if( pC->bDesc ){
    while( pC->nRow==0 ){
      if( pC->nGroupLeft==0 ) pC->iGroup--;
      pC->nGroupLeft = 0;
      if( pC->iGroup<0 ){ pC->bDone = 1; return SQLITE_DONE; }
      if( !streamWarmGroupOk(pC, pC->iGroup, &bPast) ){
        if( bPast ){ pC->bDone = 1; return SQLITE_DONE; }
        continue;
      }
      rc = streamWarmLoadGroup(pC, pzErr);
      if( rc ) return rc;
    }
    {
      StreamPqRow *r = &pC->aRow[--pC->nRow];
      const u8 *a = pC->buf.a;
      pC->cur = *r;
#define WARM_PTR(ptr) if( ptr ) ptr = (void*)(a + ((size_t)(ptr) - 1));
      WARM_PTR(pC->cur.pKey);
      WARM_PTR(pC->cur.pValue);
      {
        const void *pH = pC->cur.zHeaders;
        WARM_PTR(pH);
        pC->cur.zHeaders = (const char*)pH;
      }
#undef WARM_PTR
      pC->cur.zTopic = "";
      *ppRow = &pC->cur;
      return SQLITE_ROW;
    }
  }
  while( 1 ){
    if( pC->nGroupLeft<=0 ){
      if( pC->nGroupLeft==0 ) pC->iGroup++;
      pC->nGroupLeft = 0;
      if( pC->iGroup>=sqlite3StreamPqReaderGroups(pC->pR) ){
        pC->bDone = 1;
        return SQLITE_DONE;
      }
      if( !streamWarmGroupOk(pC, pC->iGroup, &bPast) ){
        if( bPast ){ pC->bDone = 1; return SQLITE_DONE; }
        continue;
      }
      rc = sqlite3StreamPqReaderSeekGroup(pC->pR, pC->iGroup);
      if( rc ) return streamWarmErr(pC, rc, pzErr);
      pC->bLast = 0;
      pC->iPrev = SMALLEST_INT64;
      pC->nGroupLeft = sqlite3StreamPqReaderGroup(pC->pR, pC->iGroup)->nRows;
      pC->iPosGroup = pC->iGroup;
      pC->nPosLeft = pC->nGroupLeft;
      if( pC->nGroupLeft==0 ) continue;
    }
    pC->bLast = 0;
    rc = sqlite3StreamPqReaderNext(pC->pR, &pC->last);
    if( rc!=SQLITE_ROW ){
      if( rc==SQLITE_DONE ) rc = SQLITE_CORRUPT;
      return streamWarmErr(pC, rc, pzErr);
    }
    pC->bLast = 1;
    pC->nGroupLeft--;
    pC->nPosLeft--;
    rc = sqlite3StreamWarmRowCheck(pC->zKey,
        sqlite3StreamPqReaderGroup(pC->pR, pC->iGroup), &pC->iPrev,
        pC->last.iOffset, pzErr);
    if( rc ) return rc;
    if( pC->last.iOffset>pC->iHi ){ pC->bDone = 1; return SQLITE_DONE; }
    if( !streamWarmRowOk(pC, &pC->last) ) continue;
    *ppRow = &pC->last;
    return SQLITE_ROW;
  }
}

static void streamWarmCursorColumns(StreamWarmCursor *pC, unsigned mWant){
  pC->mWant = mWant;
  sqlite3StreamPqReaderSetColumns(pC->pR, mWant);
}

static void streamWarmCursorClose(StreamWarmCursor *pC){
  if( pC==0 ) return;
  if( !streamWarmCachePut(pC) ){
    sqlite3StreamPqReaderClose(pC->pR);
    if( pC->h.pFile ) pC->pStore->pMethods->xClose(pC->h.pFile);
  }
  sqlite3StreamStoreUnref(pC->pOwnStore);
  sqlite3StreamPqBufFree(&pC->buf);
  sqlite3_free(pC->aRow);
  sqlite3_free(pC->zKey);
  sqlite3_free(pC->zSegTopic);
  sqlite3_free(pC);
}



/**************************************************************************
** The scan of a range over the segment index.
**
** A query of _stream_segments, pruned by the range's topic / partition /
** offset / timestamp bounds, in (topic, partition, first_offset) order
** or its reverse (STREAM_AUX_SEG_SCAN, ext/storage.c: only segments of
** the topic's incarnation); each segment named is read through
** a StreamWarmCursor.  The statements are cached per connection in the
** reader, one per (topic =, partition =, DESC).
*/

/* Segment-index statements: one per (topic =, partition =, DESC). */
#define STREAM_WARM_SEG_CACHE 8

/* A scan of a remote store (STREAM_STORE_RANGED) hints the store
** (xPrefetch) at the next segment it will read as it opens a segment,
** before it waits for that one's first round trip, so that the two round
** trips overlap (a sequential replay then never waits twice in a row; a
** LIMIT 1 read or a short poll pays at most that one request, in the
** background).  Once it has read STREAM_WARM_AHEAD_ROWS rows of a segment
** it hints at the next STREAM_WARM_AHEAD, so that their opening round
** trips overlap the decoding of this one.  The hints of the next segments
** say so (bNext): nobody waits for their first rows yet, so a store may
** fetch each whole in one request rather than its footer first.  Then, every
** STREAM_WARM_PUMP_ROWS rows, it lets those fetches progress (xPrefetch
** with no key): the answers are taken in while this segment is decoded,
** not only once the next one is opened. */
#define STREAM_WARM_AHEAD_ROWS 256
#define STREAM_WARM_AHEAD      3
#define STREAM_WARM_AHEAD_OPEN 1
#define STREAM_WARM_PUMP_ROWS  1024

/* Per-connection read state (xReaderNew). */
typedef struct StreamWarmReader StreamWarmReader;
struct StreamWarmReader {
  StreamTierReader base;       /* Base class - must be first */
  StreamCtx *pCtx;             /* Connection */
  sqlite3_stmt *aSeg[STREAM_WARM_SEG_CACHE];  /* Cached statements */
  int abSegUsed[STREAM_WARM_SEG_CACHE];       /* Held by an open scan */
  StreamWarmCache *pCache;     /* Open readers, or NULL (no memory) */
};

/* One scan (xScanOpen). */
typedef struct StreamWarmScan StreamWarmScan;
struct StreamWarmScan {
  StreamTierScan base;         /* Base class - must be first */
  StreamWarmReader *pReader;   /* Reader it belongs to */
  sqlite3_stmt *pSeg;          /* Segment-index statement, or NULL: done */
  int iSegSlot;                /* Cache slot of pSeg, or -1 if private */
  StreamStore *pStore;         /* Store of the open segment */
  char *zAt;                   /* Its store column ("": the database's) */
  StreamWarmCursor *pWarm;     /* Segment file being read, or NULL */
  StreamPqRow row;             /* Current row, topic and partition set */
  char *zSegTopic;             /* Topic of the segment being read */
  int nSegTopic;               /* Bytes in zSegTopic */
  int iSegPart;                /* Its partition */
  char *zSegLoc;               /* Its location */
  i64 iSegFirst, iSegLast;     /* Its offset range */
  StreamScanRange range;       /* Bounds (pTopic, pPartition not kept) */
  int iVar;                    /* Bits of the segment-index query */
  i64 nSegRows;                /* Rows returned from the open segment */
  sqlite3_stmt *pAhead;        /* The next segments' locations, or NULL */
};

/* The database's message as the scan's error. */
static int streamWarmScanDbErr(sqlite3 *db, int rc, char **pzErr){
  const char *z = sqlite3_errmsg(db);
  sqlite3_free(*pzErr);
  *pzErr = sqlite3_mprintf("%s%s", STREAM_HAS_PREFIX(z) ? "" : STREAM_ERR, z);
  return rc;
}

int sqlite3StreamWarmReaderNew(StreamCtx *p, StreamTierReader **pp){
  StreamWarmReader *pR = sqlite3_malloc64(sizeof(*pR));
  *pp = 0;
  if( pR==0 ) return SQLITE_NOMEM;
  memset(pR, 0, sizeof(*pR));
  pR->base.pMethods = &sqlite3StreamTierWarm;
  pR->pCtx = p;
  /* Consumers polling a warm backlog reuse open readers across polls.
  ** Without the memory for it, reads simply open every file. */
  streamWarmCacheNew(&pR->pCache);
  *pp = &pR->base;
  return SQLITE_OK;
}

void sqlite3StreamWarmReaderFree(StreamTierReader *pBase){
  StreamWarmReader *pR = (StreamWarmReader*)pBase;
  int i;
  if( pR==0 ) return;
  for(i=0; i<STREAM_WARM_SEG_CACHE; i++) sqlite3_finalize(pR->aSeg[i]);
  streamWarmCacheFree(pR->pCache);
  sqlite3_free(pR);
}

/* Release the segment statement, the file and the store. */
static void streamWarmScanRelease(StreamWarmScan *pS){
  StreamWarmReader *pR = pS->pReader;
  streamWarmCursorClose(pS->pWarm);
  pS->pWarm = 0;
  sqlite3StreamStmtGiveBack(&pS->pSeg, &pS->iSegSlot, pR->abSegUsed);
  sqlite3StreamWarmStoreFree(pS->pStore);
  pS->pStore = 0;
  sqlite3_free(pS->zAt);
  pS->zAt = 0;
  sqlite3_free(pS->zSegTopic);
  pS->zSegTopic = 0;
  sqlite3_free(pS->zSegLoc);
  pS->zSegLoc = 0;
  sqlite3_finalize(pS->pAhead);
  pS->pAhead = 0;
}

void sqlite3StreamWarmScanClose(StreamTierScan *pBase){
  StreamWarmScan *pS = (StreamWarmScan*)pBase;
  if( pS==0 ) return;
  streamWarmScanRelease(pS);
  sqlite3_free(pS);
}

int sqlite3StreamWarmScanOpen(StreamTierReader *pBase,
                              const StreamScanRange *pRange,
                              StreamTierScan **pp, char **pzErr){
  StreamWarmReader *pR = (StreamWarmReader*)pBase;
  sqlite3 *db = pR->pCtx->db;
  StreamWarmScan *pS;
  int iVar = (pRange->pTopic || pRange->zTopic ? 1 : 0)
           | (pRange->pPartition || pRange->bPartition ? 2 : 0)
           | (pRange->bDesc ? 4 : 0);
  int rc;
  *pp = 0;
  if( pRange->iLo>pRange->iHi || pRange->iTsLo>pRange->iTsHi ){
    return SQLITE_OK;                           /* no row can match */
  }
  pS = sqlite3_malloc64(sizeof(*pS));
  if( pS==0 ) return SQLITE_NOMEM;
  memset(pS, 0, sizeof(*pS));
  pS->base.pMethods = &sqlite3StreamTierWarm;
  pS->pReader = pR;
  pS->iSegSlot = -1;
  pS->range = *pRange;
  pS->range.pTopic = 0;
  pS->range.zTopic = 0;
  pS->range.zTopicLo = 0;
  pS->range.zTopicHi = 0;
  pS->range.pPartition = 0;
  pS->iVar = iVar;
  if( pR->aSeg[iVar] && !pR->abSegUsed[iVar] ){
    pS->pSeg = pR->aSeg[iVar];
    pS->iSegSlot = iVar;
  }else{
    /* Kept only while the connection's cached statements are. */
    int bCache = pR->aSeg[iVar]==0 && sqlite3StreamAnchor(pR->pCtx, 0)==0;
    rc = sqlite3StreamAuxPrepare(pR->pCtx, STREAM_AUX_SEG_SCAN+iVar,
             bCache ? SQLITE_PREPARE_PERSISTENT : 0, &pS->pSeg);
    if( rc ){
      sqlite3_free(pS);
      if( sqlite3StreamNoStorage(db) ) return SQLITE_OK;  /* no warm tier */
      return streamWarmScanDbErr(db, rc, pzErr);
    }
    if( bCache ){
      pR->aSeg[iVar] = pS->pSeg;
      pS->iSegSlot = iVar;
    }
  }
  if( pS->iSegSlot>=0 ) pR->abSegUsed[pS->iSegSlot] = 1;
  if( pRange->pTopic ){
    sqlite3_bind_value(pS->pSeg, 1, pRange->pTopic);
  }else if( pRange->zTopic ){
    sqlite3_bind_text(pS->pSeg, 1, pRange->zTopic, -1, SQLITE_TRANSIENT);
  }else{
    /* The topic range: only the segments of topics in it are read (a
    ** file of another topic is never opened). */
    sqlite3_bind_text(pS->pSeg, 7, pRange->zTopicLo ? pRange->zTopicLo : "",
                      -1, SQLITE_TRANSIENT);
    if( pRange->zTopicHi ){
      sqlite3_bind_text(pS->pSeg, 8, pRange->zTopicHi, -1, SQLITE_TRANSIENT);
    }else{
      sqlite3_bind_zeroblob(pS->pSeg, 8, 0);   /* above every text */
    }
    if( pRange->zTopicLo && pRange->bTopicLoX ){
      sqlite3_bind_text(pS->pSeg, 9, pRange->zTopicLo, -1, SQLITE_TRANSIENT);
    }else{
      sqlite3_bind_null(pS->pSeg, 9);
    }
    if( pRange->zTopicHi && pRange->bTopicHiX ){
      sqlite3_bind_text(pS->pSeg, 10, pRange->zTopicHi, -1, SQLITE_TRANSIENT);
    }else{
      sqlite3_bind_null(pS->pSeg, 10);
    }
  }
  if( pRange->pPartition ){
    sqlite3_bind_value(pS->pSeg, 2, pRange->pPartition);
  }else if( pRange->bPartition ){
    sqlite3_bind_int(pS->pSeg, 2, pRange->iPartition);
  }
  sqlite3_bind_int64(pS->pSeg, 3, pRange->iLo);
  sqlite3_bind_int64(pS->pSeg, 4, pRange->iHi);
  sqlite3_bind_int64(pS->pSeg, 5, pRange->iTsLo);
  sqlite3_bind_int64(pS->pSeg, 6, pRange->iTsHi);
  *pp = &pS->base;
  return SQLITE_OK;
}

static void streamWarmScanAhead(StreamWarmScan *pS, int nAhead);

/* Open the file of the segment row pS->pSeg is on. */
static int streamWarmScanSegment(StreamWarmScan *pS, char **pzErr){
  StreamWarmReader *pR = pS->pReader;
  sqlite3_stmt *pSeg = pS->pSeg;
  const char *zT = (const char*)sqlite3_column_text(pSeg, 0);
  const char *zLoc = (const char*)sqlite3_column_text(pSeg, 2);
  const char *zAt = (const char*)sqlite3_column_text(pSeg, 9);
  StreamSegment seg;
  int rc;
  memset(&seg, 0, sizeof(seg));
  seg.zLocation = zLoc ? zLoc : "";
  seg.zTopic = zT ? zT : "";
  seg.iPartition = sqlite3_column_int(pSeg, 1);
  seg.iFirst = sqlite3_column_int64(pSeg, 3);
  seg.iLast = sqlite3_column_int64(pSeg, 4);
  seg.nMessages = sqlite3_column_int64(pSeg, 5);
  seg.nBytes = sqlite3_column_int64(pSeg, 6);
  seg.iIncarnation = sqlite3_column_int64(pSeg, 7);
  seg.nMaxValue = sqlite3_column_int64(pSeg, 8);
  /* Rows come ordered by first_offset: two of one partition overlap if
  ** and only if two consecutive ones do.  Refused: the file would return
  ** its messages twice. */
  if( pS->zSegLoc && pS->zSegTopic
   && strcmp(pS->zSegTopic, seg.zTopic)==0
   && pS->iSegPart==seg.iPartition
   && (pS->range.bDesc ? seg.iLast>=pS->iSegFirst
                       : seg.iFirst<=pS->iSegLast) ){
    StreamSegment prev;
    memset(&prev, 0, sizeof(prev));
    prev.zLocation = pS->zSegLoc;
    prev.zTopic = pS->zSegTopic;
    prev.iPartition = pS->iSegPart;
    prev.iFirst = pS->iSegFirst;
    prev.iLast = pS->iSegLast;
    return sqlite3StreamWarmOverlapErr(&prev, &seg, pzErr);
  }
  sqlite3_free(pS->zSegTopic);
  sqlite3_free(pS->zSegLoc);
  pS->zSegTopic = sqlite3_mprintf("%s", seg.zTopic);
  pS->zSegLoc = sqlite3_mprintf("%s", seg.zLocation);
  if( pS->zSegTopic==0 || pS->zSegLoc==0 ) return SQLITE_NOMEM;
  pS->nSegTopic = (int)strlen(pS->zSegTopic);
  pS->iSegPart = seg.iPartition;
  pS->iSegFirst = seg.iFirst;
  pS->iSegLast = seg.iLast;
  pS->nSegRows = 0;
  if( zAt==0 ) zAt = "";
  if( pS->pStore && strcmp(pS->zAt, zAt)!=0 ){
    /* Another store (a topic's own warm.store, or the database's). */
    sqlite3StreamWarmStoreFree(pS->pStore);
    pS->pStore = 0;
  }
  if( pS->pStore==0 ){
    sqlite3_free(pS->zAt);
    pS->zAt = sqlite3_mprintf("%s", zAt);
    if( pS->zAt==0 ) return SQLITE_NOMEM;
    rc = sqlite3StreamWarmSegStore(pR->pCtx, 0, zAt, &pS->pStore, pzErr);
    if( rc==SQLITE_OK && pS->pStore==0 ){
      rc = sqlite3StreamErr(pzErr, SQLITE_ERROR,
          "warm segment %s is in the index but there is no warm store"
          " (set one with stream_config('warm.store', 'file:///...'))",
          zLoc ? zLoc : "?");
    }
    if( rc ) return rc;
  }
  if( pS->pStore->mCaps & STREAM_STORE_RANGED ){
    /* This segment's fetch first (unless the cache holds its reader),
    ** then the next one's: a store that orders its transfers serves the
    ** file read first first. */
    if( !streamWarmCacheHas(pR->pCache, pS->pStore, seg.zLocation) ){
      sqlite3StreamStorePrefetch(pS->pStore, seg.zLocation, seg.nBytes, 0);
    }
    streamWarmScanAhead(pS, STREAM_WARM_AHEAD_OPEN);
  }
  rc = streamWarmCursorOpen(pS->pStore, pR->pCache, &seg,
      pS->range.iLo, pS->range.iHi, pS->range.iTsLo, pS->range.iTsHi,
      pS->range.bDesc, &pS->pWarm, pzErr);
  if( rc ) return sqlite3StreamWarmGoneErr(pR->pCtx, seg.zLocation,
                                          seg.iIncarnation, rc, pzErr);
  streamWarmCursorColumns(pS->pWarm, pS->range.mCols);
  return SQLITE_OK;
}

/* Hint the store at the next nAhead (at most STREAM_WARM_AHEAD) segments
** of the scan (after the open one, in the scan's order, within its
** bounds).  Best effort: a failure only means no prefetch. */
static void streamWarmScanAhead(StreamWarmScan *pS, int nAhead){
  sqlite3 *db = pS->pReader->pCtx->db;
  const char *zDir = pS->range.bDesc ? " DESC" : "";
  if( pS->pAhead==0 ){
    char *zSql = sqlite3_mprintf(
        "SELECT s.location, s.bytes, coalesce(s.store, '')"
        " FROM _stream_segments s"
        " JOIN _stream_topics t ON t.name=s.topic AND t.incarnation=s.incarnation"
        " WHERE %s%s s.last_offset>=?3 AND s.first_offset<=?4"
        " AND s.last_timestamp>=?5 AND s.first_timestamp<=?6"
        " AND (s.topic, s.partition, s.first_offset) %s (?1, ?2, ?7)"
        " ORDER BY s.topic%s, s.partition%s, s.first_offset%s LIMIT %d",
        (pS->iVar & 1) ? "s.topic=?1 AND " : "",
        (pS->iVar & 2) ? "s.partition=?2 AND " : "",
        pS->range.bDesc ? "<" : ">", zDir, zDir, zDir, STREAM_WARM_AHEAD);
    if( zSql==0 ) return;
    if( sqlite3_prepare_v2(db, zSql, -1, &pS->pAhead, 0) ){
      sqlite3_finalize(pS->pAhead);     /* (A format 1 database, say) */
      pS->pAhead = 0;
    }
    sqlite3_free(zSql);
    if( pS->pAhead==0 ) return;
  }
  sqlite3_bind_text(pS->pAhead, 1, pS->zSegTopic, pS->nSegTopic,
                    SQLITE_STATIC);
  sqlite3_bind_int(pS->pAhead, 2, pS->iSegPart);
  sqlite3_bind_int64(pS->pAhead, 3, pS->range.iLo);
  sqlite3_bind_int64(pS->pAhead, 4, pS->range.iHi);
  sqlite3_bind_int64(pS->pAhead, 5, pS->range.iTsLo);
  sqlite3_bind_int64(pS->pAhead, 6, pS->range.iTsHi);
  sqlite3_bind_int64(pS->pAhead, 7, pS->iSegFirst);
  while( nAhead-- > 0 && sqlite3_step(pS->pAhead)==SQLITE_ROW ){
    const char *zLoc = (const char*)sqlite3_column_text(pS->pAhead, 0);
    const char *zAt = (const char*)sqlite3_column_text(pS->pAhead, 2);
    if( zLoc && zAt && pS->zAt && strcmp(zAt, pS->zAt)==0 ){
      sqlite3StreamStorePrefetch(pS->pStore, zLoc,
                                 sqlite3_column_int64(pS->pAhead, 1), 1);
    }
  }
  sqlite3_reset(pS->pAhead);
  sqlite3_clear_bindings(pS->pAhead);
}

/* Next row: from the open file, else from the next segment. */
int sqlite3StreamWarmScanNext(StreamTierScan *pBase, const StreamPqRow **ppRow,
                              char **pzErr){
  StreamWarmScan *pS = (StreamWarmScan*)pBase;
  int rc;
  *ppRow = 0;
  while( pS->pSeg ){
    if( pS->pWarm ){
      const StreamPqRow *pRow = 0;
      rc = streamWarmCursorNext(pS->pWarm, &pRow, pzErr);
      if( rc==SQLITE_ROW ){
        if( (++pS->nSegRows % STREAM_WARM_PUMP_ROWS)==STREAM_WARM_AHEAD_ROWS
         && (pS->pStore->mCaps & STREAM_STORE_RANGED) ){
          if( pS->nSegRows==STREAM_WARM_AHEAD_ROWS ){
            streamWarmScanAhead(pS, STREAM_WARM_AHEAD);
          }else{
            sqlite3StreamStorePrefetch(pS->pStore, 0, -1, 0);
          }
        }
        pS->row = *pRow;
        pS->row.zTopic = pS->zSegTopic;
        pS->row.nTopic = pS->nSegTopic;
        pS->row.iPartition = pS->iSegPart;
        *ppRow = &pS->row;
        return SQLITE_ROW;
      }
      if( rc!=SQLITE_DONE ) return rc;
      streamWarmCursorClose(pS->pWarm);
      pS->pWarm = 0;
    }
    if( sqlite3_step(pS->pSeg)!=SQLITE_ROW ){
      rc = sqlite3_reset(pS->pSeg);
      if( rc ) return streamWarmScanDbErr(pS->pReader->pCtx->db, rc, pzErr);
      streamWarmScanRelease(pS);
      break;
    }
    rc = streamWarmScanSegment(pS, pzErr);
    if( rc ) return rc;
  }
  return SQLITE_DONE;
}
