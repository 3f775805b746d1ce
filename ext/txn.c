/*
** txn.c - transactions: the transaction-scoped cache of topic settings,
** next offsets and the CDC setting; one call as one transaction
** (sqlite3StreamAutoBegin/End); savepoints as units of work.
**
** Producing a message needs the topic's settings, the partition's next
** offset and the CDC setting: three B-tree searches that cost more than the
** insert itself.  Within one write transaction they cannot change behind
** our back (SQLite has one writer), except through our own catalog
** functions (which clear the cache) and through rollbacks.  So the cache
** lives only while the connection's transaction is known to us, and is
** dropped at every ROLLBACK and ROLLBACK TO (statement rollbacks
** included).
**
** A COMMIT keeps it for the connection's next transaction (a transaction
** of one message would otherwise read the topic's row, the partition's
** next offset and the CDC setting again each time), but only while
** nothing else can have changed what it holds:
** - every change counted by sqlite3_total_changes64() since the cache
**   was last checked must be the extension's own (p->iCacheChanges: the
**   count when a produce call ended, or the pending batches were written,
**   sqlite3StreamCacheMark()); any other write of this connection - the
**   application's own DELETE FROM _stream_log or UPDATE _stream_topics,
**   stream_maintain, retention, a poll's writes, the rows of an INSERT
**   INTO stream_messages - drops it at the commit (seen by
**   sqlite3StreamCacheCheck() as a produce call starts and at the commit)
**   or at the next transaction's start;
** - the data version of main and temp (SQLITE_FCNTL_DATA_VERSION, which
**   changes with every commit to the file, this connection's own or
**   another connection's or process's, as noticed when a read
**   transaction starts) must be the one seen at the commit, checked when
**   the next transaction enlists, after its read transaction has started
**   (else the cache is dropped).  temp's too: a temporary table of the
**   same name would hide main's;
** - catalog calls, rollbacks and failed calls drop it as before.
**
** SQLite tells an extension about transactions only through the
** xBegin/xCommit/xRollback/xSavepoint/xRollbackTo methods of virtual
** tables written in the transaction (FTS5 keeps its pending data the same
** way).  The first produce of an explicit transaction therefore writes a
** no-op row into the eponymous table stream_txn, which enlists it;
** INSERT INTO stream_messages enlists stream_messages itself.  Outside a
** known transaction (autocommit statements that only call functions),
** nothing is cached and every value is read from the database.
*/
#include "streamInt.h"
#include <string.h>

struct StreamCacheTopic {
  char *zName;                 /* Topic name (same allocation) */
  StreamTopic t;               /* Settings */
  i64 *aNext;                  /* Next offset per partition, or -1 */
  i64 *aPid;                   /* Partition id per partition */
  i64 *aTsMax;                 /* Largest timestamp up to the next offset,
                               ** or -1 if unknown (the time index) */
  int bCfg;                    /* cfg and nPartCfg are valid */
  int nPartCfg;                /* Partitions, as read with cfg */
  StreamTopicConfig cfg;       /* Full configuration (maintenance) */
  StreamCacheTopic *pNext;     /* Next cached topic */
};

void sqlite3StreamCacheClear(StreamCtx *p){
  while( p->pCache ){
    StreamCacheTopic *pNext = p->pCache->pNext;
    sqlite3_free(p->pCache);
    p->pCache = pNext;
  }
  sqlite3_free(p->zCdcCache);
  p->zCdcCache = 0;
  p->bCdcCache = 0;
  p->bCacheKept = 0;
  p->bCacheDirty = 0;
  p->eTextEnc = 0;
}

/* Everything written so far is known to the cache (see the top of this
** file): called when a produce call ends and after the pending batches
** are written. */
void sqlite3StreamCacheMark(StreamCtx *p){
  p->iCacheChanges = sqlite3_total_changes64(p->db);
}

/* Something other than the extension wrote since
** sqlite3StreamCacheMark(): the cache is not kept past the commit.  (Within
** the transaction it is used as before: an INSERT INTO stream_messages
** statement counts its rows when it ends, and must not end its batch.) */
void sqlite3StreamCacheCheck(StreamCtx *p){
  if( sqlite3_total_changes64(p->db)!=p->iCacheChanges ) p->bCacheDirty = 1;
}

/* The data version of database zDb, or 0 where it has none (temp before
** its first use). */
static unsigned int streamTxnFileDv(StreamCtx *p, const char *zDb){
  unsigned int v = 0;
  if( sqlite3_file_control(p->db, zDb, SQLITE_FCNTL_DATA_VERSION, &v) ){
    return 0;
  }
  return v;
}
static unsigned int streamCacheDv(StreamCtx *p){
  /* (NULL is main: no name to look up, twice a produce call) */
  return streamTxnFileDv(p, 0)*31u + streamTxnFileDv(p, "temp");
}

StreamCacheTopic *sqlite3StreamCacheFind(StreamCtx *p, const char *zTopic){
  StreamCacheTopic *pC;
  if( !p->bTxn ) return 0;
  for(pC=p->pCache; pC; pC=pC->pNext){
    if( strcmp(pC->zName, zTopic)==0 ) return pC;
  }
  return 0;
}

const StreamTopic *sqlite3StreamCacheTopic(StreamCacheTopic *pC){
  return &pC->t;
}

void sqlite3StreamCacheAdd(StreamCtx *p, const char *zTopic,
                           const StreamTopic *pT){
  size_t n = strlen(zTopic);
  StreamCacheTopic *pC;
  int i;
  if( !p->bTxn || pT->nPartition<=0 ) return;
  pC = sqlite3_malloc64(sizeof(*pC) + sizeof(i64)*3*pT->nPartition + n + 1);
  if( pC==0 ) return;          /* no cache: correct, only slower */
  pC->aNext = (i64*)&pC[1];
  pC->aPid = &pC->aNext[pT->nPartition];
  pC->aTsMax = &pC->aPid[pT->nPartition];
  pC->zName = (char*)&pC->aTsMax[pT->nPartition];
  memcpy(pC->zName, zTopic, n+1);
  pC->t = *pT;
  pC->bCfg = 0;
  for(i=0; i<pT->nPartition; i++) pC->aNext[i] = pC->aTsMax[i] = -1;
  pC->pNext = p->pCache;
  p->pCache = pC;
}

i64 sqlite3StreamCacheNext(StreamCtx *p, const char *zTopic, int iPart,
                           i64 *piPid){
  StreamCacheTopic *pC = sqlite3StreamCacheFind(p, zTopic);
  i64 iBase;
  if( pC==0 || iPart<0 || iPart>=pC->t.nPartition ) return -1;
  if( piPid ) *piPid = pC->aPid[iPart];
  /* Pending batches held (sqlite3StreamPendingHold()): the work sees the
  ** log as written, which ends where the partition's batch starts (its
  ** high watermark as read from the database would be that too). */
  if( p->nPendingHold && pC->aNext[iPart]>=0
   && sqlite3StreamPendingInfo(p, pC->aPid[iPart], &iBase, 0) ){
    return iBase;
  }
  return pC->aNext[iPart];
}

void sqlite3StreamCacheSetNext(StreamCtx *p, const char *zTopic, int iPart,
                               i64 iNext, i64 iPid){
  StreamCacheTopic *pC = sqlite3StreamCacheFind(p, zTopic);
  if( pC && iPart>=0 && iPart<pC->t.nPartition ){
    pC->aNext[iPart] = iNext;
    pC->aPid[iPart] = iPid;
  }
}

i64 sqlite3StreamCacheTsMax(StreamCtx *p, const char *zTopic, int iPart){
  StreamCacheTopic *pC = sqlite3StreamCacheFind(p, zTopic);
  if( pC==0 || iPart<0 || iPart>=pC->t.nPartition ) return -1;
  return pC->aTsMax[iPart];
}

void sqlite3StreamCacheSetTsMax(StreamCtx *p, const char *zTopic, int iPart,
                                i64 iTsMax){
  StreamCacheTopic *pC = sqlite3StreamCacheFind(p, zTopic);
  if( pC && iPart>=0 && iPart<pC->t.nPartition ) pC->aTsMax[iPart] = iTsMax;
}

int sqlite3StreamCacheConfig(StreamCtx *p, const char *zTopic,
                             StreamTopicConfig *pCfg, int *pnPart){
  StreamCacheTopic *pC = sqlite3StreamCacheFind(p, zTopic);
  if( pC==0 || !pC->bCfg ) return 0;
  *pCfg = pC->cfg;
  if( pnPart ) *pnPart = pC->nPartCfg;
  return 1;
}

void sqlite3StreamCacheSetConfig(StreamCtx *p, const char *zTopic,
                                 const StreamTopicConfig *pCfg, int nPart){
  StreamCacheTopic *pC = sqlite3StreamCacheFind(p, zTopic);
  if( pC ){
    pC->cfg = *pCfg;
    pC->nPartCfg = nPart;
    pC->bCfg = 1;
  }
}

/* Step the enlisting statement.  Its row is the extension's own: the
** caller's last_insert_rowid() stays as its statements left it (a virtual
** table's INSERT sets it).  Returns the step's code (the reset's). */
int sqlite3StreamEnlistStep(StreamCtx *p, sqlite3_stmt *pStmt){
  i64 iRowid = sqlite3_last_insert_rowid(p->db);
  sqlite3_step(pStmt);
  sqlite3_set_last_insert_rowid(p->db, iRowid);
  return sqlite3_reset(pStmt);
}

/* Enlist with pStmt (STREAM_STMT_TXN_ENLIST).  On failure: simply no
** cache.  A cache kept from the previous transaction passed its check at
** xBegin (sqlite3StreamTxnBegin); the enlisting row is ours, so the cache
** is marked after it.  Returns the step's code. */
static int streamEnlistMark(StreamCtx *p, sqlite3_stmt *pStmt){
  int rc = sqlite3StreamEnlistStep(p, pStmt);
  if( rc==SQLITE_OK && p->bTxn && (p->pCache || p->bCdcCache) ){
    sqlite3StreamCacheMark(p);
  }
  return rc;
}

/* A read-only connection (a long poll's reader, ext/consume.c) is never
** enlisted: the row of stream_txn would fail there, a statement each time
** for nothing. */
void sqlite3StreamTxnEnlist(StreamCtx *p){
  sqlite3_stmt *pStmt;
  if( p->bTxn || sqlite3_get_autocommit(p->db) ) return;
  if( sqlite3_db_readonly(p->db, "main")==1 ) return;
  pStmt = sqlite3StreamStmt(p, STREAM_STMT_TXN_ENLIST, 0);
  if( pStmt ) streamEnlistMark(p, pStmt);
}

/*
** Autocommit calls.  Outside a transaction, each write statement the
** extension runs inside a SQL function or a virtual table commits on its
** own as soon as it ends (a SELECT is not a writing statement, so SQLite
** has nothing to wait for).  A call with several writes - a poll writes
** positions and a heartbeat, and may auto-commit offsets - would then be
** several transactions, and a crash could keep some of them.  So such a
** call runs as one transaction of its own (BEGIN ... COMMIT, or ROLLBACK
** if it fails: streamAutoOpen()), and takes the write lock first with a
** no-op write, as BEGIN IMMEDIATE does, so that busy_timeout applies and
** no later write of the call meets a lock.
**
** When the lock cannot be taken because the statement's snapshot is older
** than the newest commit, SQLite answers SQLITE_BUSY_SNAPSHOT at once
** (waiting cannot help); *pbStale is set so that a poll can leave its due
** writes to its next call (ext/consume.c).  p->nAutoCommit counts the
** transactions these calls committed.
*/
/* The statements of streamSpRun() (ext/txn.c's savepoints, below). */
#define STREAM_SP_BEGIN      0
#define STREAM_SP_RELEASE    1
#define STREAM_SP_ROLLBACK   2
#define STREAM_SP_BEGIN_TXN  3
#define STREAM_SP_COMMIT_TXN 4
static int streamAutoBegin(StreamCtx *p, const char *zName, int bEnlist,
                           int *pbOpen, int *pbStale, char **pzErr);
static int streamSpRun(StreamCtx *p, const char *zName, int eOp);
int sqlite3StreamAutoBegin(StreamCtx *p, const char *zName, int *pbOpen,
                           int *pbStale, char **pzErr){
  return streamAutoBegin(p, zName, 0, pbOpen, pbStale, pzErr);
}
/* The same for a call that enlists in its transaction anyway (a produce):
** the enlisting row of stream_txn is its no-op write.  A virtual table's
** INSERT takes main's write lock as any INSERT does (before xBegin), so
** the one statement does both: one statement a call less. */
int sqlite3StreamAutoBeginEnlist(StreamCtx *p, const char *zName,
                                 int *pbOpen, char **pzErr){
  return streamAutoBegin(p, zName, 1, pbOpen, 0, pzErr);
}

/* The call's transaction: a plain (deferred) BEGIN, as a SAVEPOINT
** outside a transaction is, but without the savepoint the call would
** never roll back to: SAVEPOINT, RELEASE and the enlisted tables'
** xSavepoint/xRelease cost about 850 instructions a call more than BEGIN
** and COMMIT (BENCHMARKS.md, w1b1).  *pbOpen 3 (COMMIT or
** ROLLBACK at the end, sqlite3StreamSavepointEnd()), or 0 inside a
** statement that writes: in autocommit mode SQLite has a write
** transaction open only while such a statement runs, which commits it
** when it ends; no transaction can begin inside it (SAVEPOINT says
** "statements in progress"), and the call's writes are that
** statement's. */
static int streamAutoOpen(StreamCtx *p, const char *zName, int *pbOpen,
                          char **pzErr){
  int rc;
  *pbOpen = 0;
  if( sqlite3_txn_state(p->db, 0)==SQLITE_TXN_WRITE ) return SQLITE_OK;
  rc = streamSpRun(p, zName, STREAM_SP_BEGIN_TXN);
  if( rc ) return sqlite3StreamDbErr(p->db, pzErr, rc);
  *pbOpen = 3;
  return SQLITE_OK;
}

static int streamAutoBegin(StreamCtx *p, const char *zName, int bEnlist,
                           int *pbOpen, int *pbStale, char **pzErr){
  int rc;
  sqlite3_stmt *pStmt;
  *pbOpen = 0;
  if( pbStale ) *pbStale = 0;
  if( p->iLeftOpen ){
    /* A call's transaction left open (sqlite3StreamSavepointAbort()): if
    ** it is still open and nothing was written since (the application
    ** did not roll back as SQLite advises after SQLITE_NOMEM, but did
    ** not write either), roll it back now, so that this call is not part
    ** of it and its changes never commit. */
    if( !sqlite3_get_autocommit(p->db)
     && sqlite3_total_changes(p->db)+1==p->iLeftOpen ){
      sqlite3_exec(p->db, "ROLLBACK", 0, 0, 0);
      sqlite3StreamCacheClear(p);
    }
    if( sqlite3_get_autocommit(p->db)
     || sqlite3_total_changes(p->db)+1!=p->iLeftOpen ){
      p->iLeftOpen = 0;
    }
  }
  if( !sqlite3_get_autocommit(p->db) ) return SQLITE_OK;
  /* Enlisted while SQLite is in autocommit mode: inside an autocommit
  ** statement writing an enlisted table (INSERT INTO stream_messages ...
  ** SELECT), which is one transaction already and where no savepoint can
  ** open.  Nothing to do - and the write-lock statement below must not
  ** be handed out: that writes the statement's pending record batches
  ** out (ext/schema.c), one row a message.  They are written at its
  ** commit (xSync), dropped if it fails (xRollback). */
  if( p->bTxn ) return SQLITE_OK;
  /* Prepared before the savepoint opens: the first preparation on a
  ** connection runs the storage format check, a read, which inside the
  ** savepoint would start the transaction's snapshot before the write lock
  ** is asked for - and a commit by another connection in between would
  ** then make the lock fail at once (SQLITE_BUSY_SNAPSHOT) instead of
  ** waiting under busy_timeout. */
  {
    char *zErr = 0;
    pStmt = sqlite3StreamAuxStmt(p, STREAM_AUX_WRITE_LOCK, &zErr);
    if( pStmt==0 ){
      /* No storage yet (the call creates it): nothing to lock ahead.
      ** Otherwise the preparation's own message (e.g. the storage
      ** format check's), not the connection's. */
      int bNone = sqlite3StreamNoStorage(p->db);
      rc = sqlite3StreamStmtErr(p);             /* (clears the saved code) */
      if( !bNone ){
        if( zErr==0 ) return sqlite3StreamDbErr(p->db, pzErr, rc);
        if( pzErr ){
          sqlite3_free(*pzErr);
          *pzErr = zErr;
        }else{
          sqlite3_free(zErr);
        }
        return rc;
      }
    }
    sqlite3_free(zErr);
  }
  rc = streamAutoOpen(p, zName, pbOpen, pzErr);
  if( rc==SQLITE_OK && *pbOpen ){
    if( pStmt && bEnlist && !p->bTxn ){
      /* (prepared above all the same: the storage format check) */
      sqlite3_stmt *pEnlist = sqlite3StreamStmt(p, STREAM_STMT_TXN_ENLIST, 0);
      if( pEnlist ){
        rc = streamEnlistMark(p, pEnlist);
        pStmt = 0;
      }
    }
    if( pStmt ){
      sqlite3_step(pStmt);
      rc = sqlite3_reset(pStmt);
    }
    if( rc!=SQLITE_OK ){
      if( pbStale ){
        *pbStale = sqlite3_extended_errcode(p->db)==SQLITE_BUSY_SNAPSHOT;
      }
      rc = sqlite3StreamDbErr(p->db, pzErr, rc);
      sqlite3StreamSavepointEnd(p, zName, *pbOpen, rc, 0);
      *pbOpen = 0;
    }
  }
  return rc;
}

int sqlite3StreamAutoEnd(StreamCtx *p, const char *zName, int bOpen, int rc,
                         char **pzErr){
  if( !bOpen ) return rc;
  rc = sqlite3StreamSavepointEnd(p, zName, bOpen, rc, pzErr);
  if( rc==SQLITE_OK ) p->nAutoCommit++;
  return rc;
}

/* The transaction methods, shared by stream_txn and stream_messages. */
void sqlite3StreamTxnBegin(StreamCtx *p){
  if( !p->bTxn ){
    /* The cache kept by the previous commit stays only if nothing wrote
    ** since, here or elsewhere.  The data version is current only once
    ** the read transaction has started (it has: the enlisting statement
    ** started it; if not, drop). */
    if( !p->bCacheKept
     || sqlite3_total_changes64(p->db)!=p->iCacheChanges
     || sqlite3_txn_state(p->db, "main")==SQLITE_TXN_NONE
     || streamCacheDv(p)!=p->iCacheDv ){
      sqlite3StreamCacheClear(p);
    }
    p->bCacheKept = 0;
    p->bTxn = 1;
  }
}
void sqlite3StreamTxnEnd(StreamCtx *p){
  sqlite3StreamPendingDrop(p);   /* a rollback (a commit flushed at xSync) */
  sqlite3StreamCacheClear(p);
  p->bTxn = 0;
  p->nTxnEnd++;                /* a poll of that transaction sees it ended */
}
/* A commit: the cache is kept if everything written since it was last
** checked is the extension's own (see the top of this file). */
static void streamTxnCommitEnd(StreamCtx *p){
  int bKeep = p->bTxn && p->pPending==0 && (p->pCache || p->bCdcCache)
           && !p->bCacheDirty
           && sqlite3_total_changes64(p->db)==p->iCacheChanges;
  if( !bKeep ){
    sqlite3StreamTxnEnd(p);
    return;
  }
  p->iCacheDv = streamCacheDv(p);      /* this commit's included */
  p->bCacheKept = 1;
  p->bTxn = 0;
  p->nTxnEnd++;
}
void sqlite3StreamTxnRollbackTo(StreamCtx *p){
  /* Every pending record was produced after the newest savepoint (each
  ** xSavepoint flushes): all of them go.  Except while they are held
  ** (sqlite3StreamPendingHold(): the amortised maintenance's savepoint, or
  ** a statement inside it, opened after them): then none goes. */
  if( p->nPendingHold==0 ) sqlite3StreamPendingDrop(p);
  sqlite3StreamCacheClear(p);
}

/*
** stream_txn: an eponymous table with one column that accepts INSERTs
** and stores nothing; writing it enlists the connection's StreamCtx in the
** transaction.  SQLITE_VTAB_DIRECTONLY: it has no use in a schema.
*/
typedef StreamVtabHead StreamTxnVtab;

static int streamTxnConnect(sqlite3 *db, void *pAux, int argc,
                            const char *const *argv, sqlite3_vtab **ppVtab,
                            char **pzErr){
  StreamTxnVtab *pTab;
  int rc;
  STREAM_UNUSED(argc); STREAM_UNUSED(argv);
  rc = sqlite3_declare_vtab(db, "CREATE TABLE x(enlist)");
  if( rc ){
    *pzErr = sqlite3_mprintf(STREAM_ERR "%s", sqlite3_errmsg(db));
    return rc;
  }
  sqlite3_vtab_config(db, SQLITE_VTAB_DIRECTONLY);
  pTab = sqlite3_malloc64(sizeof(*pTab));
  if( pTab==0 ) return SQLITE_NOMEM;
  memset(pTab, 0, sizeof(*pTab));
  pTab->pCtx = (StreamCtx*)pAux;
  *ppVtab = &pTab->base;
  return SQLITE_OK;
}

static int streamTxnDisconnect(sqlite3_vtab *pVtab){
  sqlite3_free(pVtab);
  return SQLITE_OK;
}

static int streamTxnBestIndex(sqlite3_vtab *pVtab, sqlite3_index_info *pInfo){
  STREAM_UNUSED(pVtab);
  pInfo->estimatedCost = 1.0;
  pInfo->estimatedRows = 0;
  return SQLITE_OK;
}

static int streamTxnOpen(sqlite3_vtab *pVtab, sqlite3_vtab_cursor **ppCur){
  sqlite3_vtab_cursor *pCur = sqlite3_malloc64(sizeof(*pCur));
  STREAM_UNUSED(pVtab);
  if( pCur==0 ) return SQLITE_NOMEM;
  memset(pCur, 0, sizeof(*pCur));
  *ppCur = pCur;
  return SQLITE_OK;
}

static int streamTxnClose(sqlite3_vtab_cursor *pCur){
  sqlite3_free(pCur);
  return SQLITE_OK;
}

static int streamTxnFilter(sqlite3_vtab_cursor *pCur, int idxNum,
                           const char *idxStr, int argc, sqlite3_value **argv){
  STREAM_UNUSED(pCur); STREAM_UNUSED(idxNum); STREAM_UNUSED(idxStr);
  STREAM_UNUSED(argc); STREAM_UNUSED(argv);
  return SQLITE_OK;
}

static int streamTxnNext(sqlite3_vtab_cursor *pCur){
  STREAM_UNUSED(pCur);
  return SQLITE_OK;
}

static int streamTxnEof(sqlite3_vtab_cursor *pCur){
  STREAM_UNUSED(pCur);
  return 1;
}

static int streamTxnColumn(sqlite3_vtab_cursor *pCur, sqlite3_context *ctx,
                           int iCol){
  STREAM_UNUSED(pCur); STREAM_UNUSED(ctx); STREAM_UNUSED(iCol);
  return SQLITE_OK;
}

static int streamTxnRowid(sqlite3_vtab_cursor *pCur, sqlite3_int64 *pRowid){
  STREAM_UNUSED(pCur);
  *pRowid = 0;
  return SQLITE_OK;
}

static int streamTxnUpdate(sqlite3_vtab *pVtab, int argc, sqlite3_value **argv,
                           sqlite3_int64 *pRowid){
  STREAM_UNUSED(pVtab); STREAM_UNUSED(argc); STREAM_UNUSED(argv);
  *pRowid = 0;
  return SQLITE_OK;
}

int sqlite3StreamVtabBegin(sqlite3_vtab *pVtab){
  sqlite3StreamTxnBegin(((StreamVtabHead*)pVtab)->pCtx);
  return SQLITE_OK;
}
/* The commit: the pending record batches are written (ext/produce.c). */
int sqlite3StreamVtabSync(sqlite3_vtab *pVtab){
  StreamCtx *p = ((StreamVtabHead*)pVtab)->pCtx;
  char *zErr = 0;
  int rc;
  /* Held (sqlite3StreamPendingHold()): a savepoint of the produce call's
  ** own unit of work (its amortised maintenance), whose writes are the
  ** call's, which marks them when it ends: nothing to write or check. */
  if( p->nPendingHold ) return SQLITE_OK;
  sqlite3StreamCacheCheck(p);
  rc = sqlite3StreamPendingFlush(p, &zErr);
  if( rc==SQLITE_OK ) sqlite3StreamCacheMark(p);  /* the batches: ours */
  if( rc ){
    sqlite3_free(pVtab->zErrMsg);
    pVtab->zErrMsg = zErr;
  }
  return rc;
}
int sqlite3StreamVtabEnd(sqlite3_vtab *pVtab){
  sqlite3StreamTxnEnd(((StreamVtabHead*)pVtab)->pCtx);
  return SQLITE_OK;
}
/* xCommit runs after SQLite's commit phase two: the commit is published
** (the WAL-index header written, the write lock released), so the waiting
** polls can be woken now (ext/wake.c). */
int sqlite3StreamVtabCommit(sqlite3_vtab *pVtab){
  StreamCtx *p = ((StreamVtabHead*)pVtab)->pCtx;
  sqlite3StreamTxnEnd(p);
  sqlite3StreamWakeCommitted(p);
  return SQLITE_OK;
}
/* A savepoint opens (or is released): the pending record batches are
** written first, so that a ROLLBACK TO drops exactly those produced
** after it. */
int sqlite3StreamVtabSavepoint(sqlite3_vtab *pVtab, int i){
  STREAM_UNUSED(i);
  return sqlite3StreamVtabSync(pVtab);
}
int sqlite3StreamVtabRollbackTo(sqlite3_vtab *pVtab, int i){
  STREAM_UNUSED(i);
  sqlite3StreamTxnRollbackTo(((StreamVtabHead*)pVtab)->pCtx);
  return SQLITE_OK;
}

/* stream_txn's own transaction methods also tell the consume path, whose
** in-memory positions follow the transaction (ext/consume.c); the shared
** ones above serve stream_messages too. */
static int streamTxnBegin(sqlite3_vtab *pVtab){
  StreamCtx *p = ((StreamVtabHead*)pVtab)->pCtx;
  sqlite3StreamPosTxn(p, STREAM_POSTXN_BEGIN, 0);
  return sqlite3StreamVtabBegin(pVtab);
}
static int streamTxnCommit(sqlite3_vtab *pVtab){
  StreamCtx *p = ((StreamVtabHead*)pVtab)->pCtx;
  sqlite3StreamPosTxn(p, STREAM_POSTXN_COMMIT, 0);
  streamTxnCommitEnd(p);
  sqlite3StreamWakeCommitted(p);        /* (see sqlite3StreamVtabCommit) */
  return SQLITE_OK;
}
static int streamTxnRollback(sqlite3_vtab *pVtab){
  StreamCtx *p = ((StreamVtabHead*)pVtab)->pCtx;
  sqlite3StreamPosTxn(p, STREAM_POSTXN_ROLLBACK, 0);
  return sqlite3StreamVtabEnd(pVtab);
}
static int streamTxnSavepoint(sqlite3_vtab *pVtab, int i){
  sqlite3StreamPosTxn(((StreamVtabHead*)pVtab)->pCtx,
                      STREAM_POSTXN_SAVEPOINT, i);
  return sqlite3StreamVtabSavepoint(pVtab, i);
}
static int streamTxnRollbackTo(sqlite3_vtab *pVtab, int i){
  sqlite3StreamPosTxn(((StreamVtabHead*)pVtab)->pCtx,
                      STREAM_POSTXN_ROLLBACKTO, i);
  return sqlite3StreamVtabRollbackTo(pVtab, i);
}

static const sqlite3_module streamTxnModule = {
  2,                    /* iVersion: savepoint methods */
  0,                    /* xCreate: eponymous only */
  streamTxnConnect,     /* xConnect */
  streamTxnBestIndex,   /* xBestIndex */
  streamTxnDisconnect,  /* xDisconnect */
  0,                    /* xDestroy */
  streamTxnOpen,        /* xOpen */
  streamTxnClose,       /* xClose */
  streamTxnFilter,      /* xFilter */
  streamTxnNext,        /* xNext */
  streamTxnEof,         /* xEof */
  streamTxnColumn,      /* xColumn */
  streamTxnRowid,       /* xRowid */
  streamTxnUpdate,      /* xUpdate */
  streamTxnBegin,       /* xBegin */
  sqlite3StreamVtabSync,       /* xSync */
  streamTxnCommit,      /* xCommit */
  streamTxnRollback,    /* xRollback */
  0,                    /* xFindFunction */
  0,                    /* xRename */
  streamTxnSavepoint,   /* xSavepoint */
  sqlite3StreamVtabSavepoint,  /* xRelease */
  streamTxnRollbackTo,  /* xRollbackTo */
  0                     /* xShadowName */
};

int sqlite3StreamRegisterTxn(sqlite3 *db, StreamCtx *p){
  return sqlite3_create_module(db, "stream_txn", &streamTxnModule, p);
}

/* The cdc.topic setting, cached with the topic settings while the
** transaction is known (see the top of this file). */
char *sqlite3StreamCdcTopic(StreamCtx *p, int *pRc){
  char *z;
  if( p->bTxn && p->bCdcCache ){
    *pRc = SQLITE_OK;
    if( p->zCdcCache==0 ) return 0;
    z = sqlite3_mprintf("%s", p->zCdcCache);
    if( z==0 ) *pRc = SQLITE_NOMEM;
    return z;
  }
  z = sqlite3StreamMetaGet(p, "cdc.topic", pRc);
  if( *pRc==SQLITE_OK && p->bTxn ){
    p->zCdcCache = z ? sqlite3_mprintf("%s", z) : 0;
    p->bCdcCache = (z==0 || p->zCdcCache!=0);
  }
  return z;
}

/**************************************************************************
** Savepoints: a unit of work as one transaction (maintenance, tiering,
** autocommit calls).
*/

/*
** SAVEPOINT, RELEASE and ROLLBACK TO of a unit of work's savepoint, kept
** prepared per connection for each name (string literals, compared by
** address, then by value): parsing them again for every autocommit call
** cost about as much as the call's INSERT.  A name beyond the cache, or
** a statement that cannot be prepared, runs through sqlite3_exec().
** Returns the step's code (its message in sqlite3_errmsg()).
*/
static int streamSpRun(StreamCtx *p, const char *zName, int eOp){
  static const char *const azOp[] = { "SAVEPOINT", "RELEASE", "ROLLBACK TO",
    "BEGIN TRANSACTION", "COMMIT TRANSACTION" };  /* (their names ignored) */
  sqlite3_stmt **ppStmt = 0;
  char *zSql;
  int i, rc;
  for(i=0; i<STREAM_SP_CACHE && p->aSp[i].zName; i++){
    if( p->aSp[i].zName==zName || strcmp(p->aSp[i].zName, zName)==0 ) break;
  }
  if( i<STREAM_SP_CACHE ){
    if( p->aSp[i].zName==0 ) p->aSp[i].zName = zName;
    ppStmt = &p->aSp[i].ap[eOp];
  }
  if( ppStmt==0 || *ppStmt==0 ){
    zSql = sqlite3_mprintf("%s %s", azOp[eOp], zName);
    if( zSql==0 ) return SQLITE_NOMEM;
    if( ppStmt==0 || sqlite3_prepare_v3(p->db, zSql, -1,
                         SQLITE_PREPARE_PERSISTENT, ppStmt, 0)!=SQLITE_OK ){
      rc = sqlite3_exec(p->db, zSql, 0, 0, 0);
      sqlite3_free(zSql);
      return rc;
    }
    sqlite3_free(zSql);
  }
  sqlite3_step(*ppStmt);
  return sqlite3_reset(*ppStmt);
}

void sqlite3StreamSavepointFinalize(StreamCtx *p){
  int i, j;
  for(i=0; i<STREAM_SP_CACHE; i++){
    for(j=0; j<(int)(sizeof(p->aSp[i].ap)/sizeof(p->aSp[i].ap[0])); j++){
      sqlite3_finalize(p->aSp[i].ap[j]);
      p->aSp[i].ap[j] = 0;
    }
    p->aSp[i].zName = 0;
  }
}

int sqlite3StreamSavepoint(StreamCtx *p, const char *zName, int *pbOpen,
                           char **pzErr){
  int bAuto = sqlite3_get_autocommit(p->db);
  int rc;
  *pbOpen = 0;
  rc = streamSpRun(p, zName, STREAM_SP_BEGIN);
  if( rc==SQLITE_OK ){
    *pbOpen = bAuto ? 2 : 1;
  }else if( rc==SQLITE_BUSY
         && strstr(sqlite3_errmsg(p->db), "statements in progress") ){
    rc = SQLITE_OK;            /* inside a writing statement: no savepoint */
  }else{
    rc = sqlite3StreamDbErr(p->db, pzErr, rc);
  }
  return rc;
}

void sqlite3StreamSavepointAbort(StreamCtx *p, const char *zName, int bOpen){
  if( bOpen!=3 && streamSpRun(p, zName, STREAM_SP_ROLLBACK)==SQLITE_OK ){
    streamSpRun(p, zName, STREAM_SP_RELEASE);
  }
  if( bOpen>=2 && !sqlite3_get_autocommit(p->db) ){
    sqlite3_exec(p->db, "ROLLBACK", 0, 0, 0);
  }
  if( bOpen>=2 && !sqlite3_get_autocommit(p->db) ){
    /* Out of memory: SQLite fails every statement nested in the calling
    ** one, this ROLLBACK too, and the calling statement (one that reads
    ** no table, SELECT stream_x()) does not roll back when it ends.  The
    ** next call does it (sqlite3StreamAutoBegin). */
    p->iLeftOpen = sqlite3_total_changes(p->db) + 1;
  }
  /* The topic cache may describe rolled back state: drop it. */
  sqlite3StreamCacheClear(p);
}

int sqlite3StreamSavepointEnd(StreamCtx *p, const char *zName, int bOpen,
                              int rc, char **pzErr){
  if( bOpen && rc==SQLITE_OK ){
    i64 nTxnEnd = p->nTxnEnd;
    rc = streamSpRun(p, zName,
                     bOpen==3 ? STREAM_SP_COMMIT_TXN : STREAM_SP_RELEASE);
    if( rc && rc!=SQLITE_NOMEM ){        /* e.g. SQLITE_BUSY at the COMMIT */
      rc = sqlite3StreamDbErr(p->db, pzErr, sqlite3_extended_errcode(p->db));
    }else if( rc==SQLITE_OK && bOpen>=2 && nTxnEnd==p->nTxnEnd
           && sqlite3_get_autocommit(p->db) ){
      /* The call's own transaction committed with no virtual table of
      ** ours in it (whose xCommit would have): the waiting polls see a
      ** commit that was announced (ext/wake.c). */
      sqlite3StreamWakeCommitted(p);
    }
  }
  if( bOpen && rc!=SQLITE_OK ) sqlite3StreamSavepointAbort(p, zName, bOpen);
  return rc;
}
