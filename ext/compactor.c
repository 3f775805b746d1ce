/*
** compactor.c - the one compaction engine: which records of a compacted
** partition stay, decided over a record source read newest first.
**
** Both the hot log's one-pass compaction (ext/compact.c,
** sqlite3StreamCompactFull()) and the compaction of warm segment files
** (ext/warm_compact.c) feed their records to sqlite3StreamCompactorStep()
** through a StreamRecordSource, newest first; what each does with the
** decision (a ranged DELETE, a rewritten file) is its own.  The rule, as
** Kafka's cleaner:
**
**   - a record whose key was seen before (a newer record of the key
**     exists: in this source, or seeded with sqlite3StreamCompactorSeed()
**     from a newer tier) goes;
**   - a tombstone (NULL value) that is the latest of its key goes when
**     tombstones may go this pass (bDropTombs) and it is below the
**     tombstone horizon (iHorizon, delete.retention.ms: ext/compact.c);
**   - a record with a NULL key goes (Kafka's cleaner drops them);
**   - but the newest message of the partition (offset iHwm-1) never goes:
**     the high watermark is max(offset)+1 while a partition holds
**     messages, so removing it would move it back.
**
** Keys compare as bytes (TEXT 'k' and BLOB x'6b' are one key).  The keys
** seen are kept in a hash set over an arena (FNV-1a, open addressing):
** memory is the distinct keys of the partition, once.
*/
#include "streamInt.h"
#include <string.h>

/**************************************************************************
** The key set.
*/

static u64 streamKeyHash(const u8 *z, int n){
  u64 h = 0xcbf29ce484222325ULL;           /* FNV-1a, 64 bits */
  int i;
  for(i=0; i<n; i++){ h ^= z[i]; h *= 0x100000001b3ULL; }
  h ^= h>>29;
  return h ? h : 1;
}

static int streamKeySetGrow(StreamKeySet *pSet){
  u64 nNew = pSet->nSlot ? pSet->nSlot*2 : 1024;
  StreamKeySlot *aNew = sqlite3_malloc64(sizeof(StreamKeySlot)*nNew);
  u64 i;
  if( aNew==0 ) return SQLITE_NOMEM;
  memset(aNew, 0, sizeof(StreamKeySlot)*nNew);
  for(i=0; i<pSet->nSlot; i++){
    StreamKeySlot *pOld = &pSet->aSlot[i];
    if( pOld->h ){
      u64 j = pOld->h & (nNew-1);
      while( aNew[j].h ) j = (j+1) & (nNew-1);
      aNew[j] = *pOld;
    }
  }
  sqlite3_free(pSet->aSlot);
  pSet->aSlot = aNew;
  pSet->nSlot = nNew;
  return SQLITE_OK;
}

int sqlite3StreamKeySetAdd(StreamKeySet *pSet, const u8 *z, int n,
                           int *pbNew, i64 *piKey){
  u64 h = streamKeyHash(z, n), j;
  int rc;
  if( (pSet->nUsed+1)*2 > pSet->nSlot ){
    rc = streamKeySetGrow(pSet);
    if( rc ) return rc;
  }
  for(j=h & (pSet->nSlot-1); pSet->aSlot[j].h; j=(j+1) & (pSet->nSlot-1)){
    StreamKeySlot *pS = &pSet->aSlot[j];
    if( pS->h==h && pS->nKey==n
     && (n==0 || memcmp(&pSet->aArena[pS->iKey], z, n)==0) ){
      *pbNew = 0;
      *piKey = pS->iKey;
      return SQLITE_OK;
    }
  }
  if( pSet->nArena+n > pSet->nArenaAlloc ){
    i64 nNew = pSet->nArenaAlloc ? pSet->nArenaAlloc*2 : 65536;
    u8 *aNew;
    while( nNew<pSet->nArena+n ) nNew *= 2;
    aNew = sqlite3_realloc64(pSet->aArena, nNew);
    if( aNew==0 ) return SQLITE_NOMEM;
    pSet->aArena = aNew;
    pSet->nArenaAlloc = nNew;
  }
  if( n>0 ) memcpy(&pSet->aArena[pSet->nArena], z, n);
  pSet->aSlot[j].h = h;
  pSet->aSlot[j].iKey = pSet->nArena;
  pSet->aSlot[j].nKey = n;
  *piKey = pSet->nArena;
  pSet->nArena += n;
  pSet->nUsed++;
  *pbNew = 1;
  return SQLITE_OK;
}

const u8 *sqlite3StreamKeySetBytes(const StreamKeySet *pSet, i64 iKey){
  return pSet->aArena ? &pSet->aArena[iKey] : (const u8*)"";
}

void sqlite3StreamKeySetFree(StreamKeySet *pSet){
  sqlite3_free(pSet->aSlot);
  sqlite3_free(pSet->aArena);
  memset(pSet, 0, sizeof(*pSet));
}

/**************************************************************************
** The engine.
*/

void sqlite3StreamCompactorInit(StreamCompactor *pC, i64 iHwm, i64 iHorizon,
                                int bDropTombs){
  memset(pC, 0, sizeof(*pC));
  pC->iHwm = iHwm;
  pC->iHorizon = iHorizon;
  pC->bDropTombs = bDropTombs;
}

int sqlite3StreamCompactorSeed(StreamCompactor *pC, const u8 *pKey,
                               int nKey){
  int bNew;
  i64 iKey;
  return sqlite3StreamKeySetAdd(&pC->set, pKey ? pKey : (const u8*)"", nKey,
                                &bNew, &iKey);
}

int sqlite3StreamCompactorStep(StreamCompactor *pC, StreamRecordSource *pSrc,
                               StreamRecord *pRec, int *pbKeep){
  int rc = pSrc->xNext(pSrc, pRec);
  *pbKeep = 1;
  pRec->iKey = -1;
  if( rc!=SQLITE_ROW ) return rc;
  if( pRec->bHasKey ){
    int bNew = 0;
    int rc2 = sqlite3StreamKeySetAdd(&pC->set,
        pRec->pKey ? pRec->pKey : (const u8*)"", pRec->nKey, &bNew,
        &pRec->iKey);
    if( rc2 ) return rc2;
    /* Superseded by a newer record of the key, or a tombstone that has
    ** been in the log for delete.retention.ms. */
    *pbKeep = !(!bNew || (pRec->bTomb && pC->bDropTombs
                          && pRec->iOffset<pC->iHorizon
                          && pRec->iOffset<pC->iHwm-1));
  }else{
    *pbKeep = !(pRec->iOffset<pC->iHwm-1);  /* no key: Kafka drops it */
  }
  return SQLITE_ROW;
}

void sqlite3StreamCompactorFree(StreamCompactor *pC){
  sqlite3StreamKeySetFree(&pC->set);
}
