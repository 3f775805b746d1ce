/*
** bench_sqlite.c - the two in-process systems of the comparison:
**
**   sqlite-stream  the extension loaded by path (sqlite3_load_extension),
**                  driven through its SQL surface only:
**                    produce   SELECT stream_produce('bench', ?key, ?value)
**                              (the extension partitions by murmur2), one
**                              transaction per batch
**                    consume   SELECT offset, value FROM stream_messages
**                               WHERE topic='bench' AND partition=? AND
**                               offset>=? ORDER BY offset LIMIT ?
**                              then SELECT stream_commit(group, 'bench', p, next)
**                    point     ... WHERE topic=? AND partition=? AND offset=?
**   raw SQLite     the same work done by hand on a plain table with the
**                  seed's schema (stream_messages, stream_offsets,
**                  idx_messages_topic): prepared INSERTs with partition
**                  and offset computed by the application (murmur2 and an
**                  in-memory next offset), the same SELECT, an UPSERT of
**                  the committed offset.  Our physical limit.
**
** Both use the same pragmas: journal_mode=WAL, synchronous=NORMAL
** (relaxed) or FULL (durable), and the same busy handler: retry after
** 20 us (first 50 tries) then 100 us, for up to about 10 s.  SQLite's
** busy_timeout sleeps 1 ms and more between retries, which would dominate
** the latency of a producer and a committing consumer in two processes
** (W3); an application that cares about latency installs such a handler.
**
** stream_poll: when bPoll is set (streambench --stream-poll), sqlite-stream
** consumes through the consumer-group API instead of range reads:
**   SELECT stream_join(group, member, '["bench"]')        (once per group)
**   SELECT partition, offset, value FROM stream_poll(group, member, ?max)
**   SELECT stream_commit_sync(group, member)
** The partition argument of xConsume is then ignored (the member owns
** every partition).  This is the one place to change if the lead's final
** signatures differ.
*/
#include "bench.h"
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define DB(p)   ((sqlite3*)(p)->db)
#define STMT(x) ((sqlite3_stmt*)(x))

static void sqlCheck(BenchSys *p, int rc, const char *zWhat){
  if( rc!=SQLITE_OK && rc!=SQLITE_ROW && rc!=SQLITE_DONE ){
    benchFatal("%s: %s: %s", p->zName, zWhat,
               p->db ? sqlite3_errmsg(DB(p)) : sqlite3_errstr(rc));
  }
}

static void sqlExec(BenchSys *p, const char *zSql){
  char *zErr = 0;
  if( sqlite3_exec(DB(p), zSql, 0, 0, &zErr)!=SQLITE_OK ){
    benchFatal("%s: %s: %s", p->zName, zSql, zErr);
  }
}

static void *sqlPrepare(BenchSys *p, const char *zSql){
  sqlite3_stmt *pStmt = 0;
  sqlCheck(p, sqlite3_prepare_v3(DB(p), zSql, -1, SQLITE_PREPARE_PERSISTENT,
                                 &pStmt, 0), zSql);
  return pStmt;
}

static void sqlFinalizeAll(BenchSys *p){
  void **ap[] = { &p->pIns, &p->pRead, &p->pCommit, &p->pPoint, &p->pPoll };
  size_t i;
  for(i=0; i<sizeof(ap)/sizeof(ap[0]); i++){
    sqlite3_finalize(STMT(*ap[i]));
    *ap[i] = 0;
  }
}

static void sqlClose(BenchSys *p){
  if( p->db==0 ) return;
  sqlFinalizeAll(p);
  sqlite3_close(DB(p));
  p->db = 0;
}

static void sqlDurable(BenchSys *p, int bDurable){
  p->bDurable = bDurable;
  sqlExec(p, bDurable ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
}

/* Busy handler: short sleeps (see the header comment). */
static int sqlBusy(void *pArg, int nPrior){
  (void)pArg;
  if( nPrior>=100000 ) return 0;
  usleep(nPrior<50 ? 20 : 100);
  return 1;
}

static void sqlOpen(BenchSys *p, int bFresh, int nPart){
  sqlite3 *db = 0;
  sqlClose(p);
  if( bFresh ){
    char z[600];
    unlink(p->zPath);
    snprintf(z, sizeof(z), "%s-wal", p->zPath); unlink(z);
    snprintf(z, sizeof(z), "%s-shm", p->zPath); unlink(z);
  }
  if( sqlite3_open(p->zPath, &db)!=SQLITE_OK ){
    benchFatal("open %s: %s", p->zPath, sqlite3_errmsg(db));
  }
  p->db = db;
  p->nPos = 0;
  sqlExec(p, "PRAGMA journal_mode=WAL");
  sqlite3_busy_handler(db, sqlBusy, 0);
  sqlDurable(p, p->bDurable);
  if( p->eKind==BENCH_STREAM ){
    char *zErr = 0;
    sqlite3_enable_load_extension(db, 1);
    if( sqlite3_load_extension(db, p->zExt, 0, &zErr)!=SQLITE_OK ){
      benchFatal("load %s: %s", p->zExt, zErr);
    }
    if( bFresh ){
      /* Hot only, like the raw table: the warm tier (Parquet) has its own
      ** benchmark, test/bench/bench_tier.c. */
      char *zSql = sqlite3_mprintf(
          "SELECT stream_create_topic('bench', %d,"
          " '{\"hot.retention.messages\":-1,\"hot.retention.ms\":-1}')",
          nPart);
      sqlExec(p, zSql);
      sqlite3_free(zSql);
    }
    p->pIns = sqlPrepare(p, "SELECT stream_produce('bench', ?1, ?2)");
    p->pRead = sqlPrepare(p,
        "SELECT offset, value FROM stream_messages WHERE topic='bench'"
        " AND partition=?1 AND offset>=?2 ORDER BY offset LIMIT ?3");
    p->pCommit = sqlPrepare(p, "SELECT stream_commit(?1, 'bench', ?2, ?3)");
    p->pPoint = sqlPrepare(p,
        "SELECT value FROM stream_messages WHERE topic='bench'"
        " AND partition=?1 AND offset=?2");
    if( p->bPoll ){
      p->pPoll = sqlPrepare(p,
          "SELECT partition, offset, value FROM stream_poll(?1, ?2, ?3)");
    }
  }else{
    if( bFresh ){
      /* The seed's schema, verbatim. */
      sqlExec(p,
        "CREATE TABLE stream_messages("
        " topic TEXT NOT NULL, partition INTEGER NOT NULL,"
        " offset INTEGER NOT NULL, key TEXT, value JSON NOT NULL,"
        " headers JSON, timestamp INTEGER NOT NULL,"
        " PRIMARY KEY (topic, partition, offset));"
        "CREATE TABLE stream_offsets("
        " group_id TEXT NOT NULL, topic TEXT NOT NULL,"
        " partition INTEGER NOT NULL, offset INTEGER NOT NULL,"
        " metadata TEXT, committed_at INTEGER NOT NULL,"
        " PRIMARY KEY (group_id, topic, partition));"
        "CREATE INDEX idx_messages_topic"
        " ON stream_messages(topic, partition, timestamp);");
    }
    memset(p->aNext, 0, sizeof(p->aNext));
    {
      sqlite3_stmt *pMax = STMT(sqlPrepare(p,
          "SELECT partition, max(offset)+1 FROM stream_messages"
          " GROUP BY partition"));
      while( sqlite3_step(pMax)==SQLITE_ROW ){
        int iPart = sqlite3_column_int(pMax, 0);
        if( iPart>=0 && iPart<64 ) p->aNext[iPart] = sqlite3_column_int64(pMax, 1);
      }
      sqlite3_finalize(pMax);
    }
    p->pIns = sqlPrepare(p,
        "INSERT INTO stream_messages(topic, partition, offset, key, value,"
        " headers, timestamp) VALUES('bench', ?1, ?2, ?3, ?4, NULL, ?5)");
    p->pRead = sqlPrepare(p,
        "SELECT offset, value FROM stream_messages WHERE topic='bench'"
        " AND partition=?1 AND offset>=?2 ORDER BY offset LIMIT ?3");
    p->pCommit = sqlPrepare(p,
        "INSERT INTO stream_offsets(group_id, topic, partition, offset,"
        " metadata, committed_at) VALUES(?1, 'bench', ?2, ?3, NULL, ?4)"
        " ON CONFLICT(group_id, topic, partition) DO UPDATE"
        " SET offset=excluded.offset, committed_at=excluded.committed_at");
    p->pPoint = sqlPrepare(p,
        "SELECT value FROM stream_messages WHERE topic='bench'"
        " AND partition=?1 AND offset=?2");
  }
  if( bFresh ) p->nPart = nPart;
}

static i64 sqlNowMs(void){
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (i64)ts.tv_sec*1000 + ts.tv_nsec/1000000;
}

static void sqlProduce(BenchSys *p, const BenchMsg *aMsg, int nMsg){
  sqlite3_stmt *pIns = STMT(p->pIns);
  int i;
  if( nMsg>1 ) sqlExec(p, "BEGIN");
  for(i=0; i<nMsg; i++){
    const BenchMsg *m = &aMsg[i];
    if( p->eKind==BENCH_STREAM ){
      sqlite3_bind_text(pIns, 1, m->zKey, m->nKey, SQLITE_STATIC);
      sqlite3_bind_text(pIns, 2, m->zVal, m->nVal, SQLITE_STATIC);
    }else{
      sqlite3_bind_int(pIns, 1, m->iPart);
      sqlite3_bind_int64(pIns, 2, p->aNext[m->iPart]++);
      sqlite3_bind_text(pIns, 3, m->zKey, m->nKey, SQLITE_STATIC);
      sqlite3_bind_text(pIns, 4, m->zVal, m->nVal, SQLITE_STATIC);
      sqlite3_bind_int64(pIns, 5, sqlNowMs());
    }
    sqlCheck(p, sqlite3_step(pIns), "produce");
    sqlite3_reset(pIns);
  }
  if( nMsg>1 ) sqlExec(p, "COMMIT");
}

/* Committed offset of a group for a partition, or 0. */
static i64 sqlCommitted(BenchSys *p, const char *zGroup, int iPart){
  sqlite3_stmt *pStmt = STMT(sqlPrepare(p,
      "SELECT offset FROM stream_offsets WHERE group_id=?1 AND topic='bench'"
      " AND partition=?2"));
  i64 iOff = 0;
  sqlite3_bind_text(pStmt, 1, zGroup, -1, SQLITE_STATIC);
  sqlite3_bind_int(pStmt, 2, iPart);
  if( sqlite3_step(pStmt)==SQLITE_ROW ) iOff = sqlite3_column_int64(pStmt, 0);
  sqlite3_finalize(pStmt);
  return iOff;
}

/* stream_poll() form (see the header comment). */
static int sqlConsumePoll(BenchSys *p, const char *zGroup, int nMax,
                          BenchRecvFn xRecv, void *pArg){
  sqlite3_stmt *pPoll = STMT(p->pPoll);
  int bNew, n = 0, rc;
  BenchPos *pPos = benchPos(p, zGroup, -1, &bNew);
  if( bNew ){
    char *zSql = sqlite3_mprintf(
        "SELECT stream_join(%Q, 'bench-member', '[\"bench\"]',"
        " '{\"auto.offset.reset\":\"earliest\",\"enable.auto.commit\":false,"
        "\"max.poll.records\":100000}')", zGroup);
    sqlExec(p, zSql);
    sqlite3_free(zSql);
  }
  (void)pPos;
  /* A poll reads, then writes positions: in WAL, a statement that began
  ** as a reader cannot become a writer once another connection has
  ** committed (SQLITE_BUSY_SNAPSHOT), so take the write lock first. */
  sqlExec(p, "BEGIN IMMEDIATE");
  sqlite3_bind_text(pPoll, 1, zGroup, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(pPoll, 2, "bench-member", -1, SQLITE_STATIC);
  sqlite3_bind_int(pPoll, 3, nMax);
  while( (rc = sqlite3_step(pPoll))==SQLITE_ROW ){
    if( xRecv ){
      xRecv(pArg, (const char*)sqlite3_column_text(pPoll, 2),
            sqlite3_column_bytes(pPoll, 2));
    }
    n++;
  }
  sqlCheck(p, rc, "stream_poll");
  sqlite3_reset(pPoll);
  if( n>0 ){
    char *zSql = sqlite3_mprintf(
        "SELECT stream_commit_sync(%Q, 'bench-member')", zGroup);
    sqlExec(p, zSql);
    sqlite3_free(zSql);
  }
  sqlExec(p, "COMMIT");
  return n;
}

/* One poll: read after the position, then commit the next offset (two
** autocommit statements, so that a concurrent producer is never blocked
** by a reader holding a snapshot; at-least-once, as a Kafka consumer
** that commits after processing). */
static int sqlConsume(BenchSys *p, const char *zGroup, int iPart, int nMax,
                      BenchRecvFn xRecv, void *pArg){
  sqlite3_stmt *pRead = STMT(p->pRead), *pCommit = STMT(p->pCommit);
  int bNew, n = 0, rc;
  BenchPos *pPos;
  if( p->bPoll ) return sqlConsumePoll(p, zGroup, nMax, xRecv, pArg);
  pPos = benchPos(p, zGroup, iPart, &bNew);
  if( bNew ) pPos->iNext = sqlCommitted(p, zGroup, iPart);
  sqlite3_bind_int(pRead, 1, iPart);
  sqlite3_bind_int64(pRead, 2, pPos->iNext);
  sqlite3_bind_int(pRead, 3, nMax);
  while( (rc = sqlite3_step(pRead))==SQLITE_ROW ){
    pPos->iNext = sqlite3_column_int64(pRead, 0) + 1;
    if( xRecv ){
      xRecv(pArg, (const char*)sqlite3_column_text(pRead, 1),
            sqlite3_column_bytes(pRead, 1));
    }
    n++;
  }
  sqlCheck(p, rc, "consume");
  sqlite3_reset(pRead);
  /* Commit after every poll that read something, or (iCommitMs > 0) at
  ** most every iCommitMs, as Kafka's auto.commit.interval.ms (used by the
  ** latency workload; W2 and W4 commit every poll). */
  if( n>0 ) p->bCommitDue = 1;
  if( p->bCommitDue && (p->iCommitMs==0
        || benchNow()-p->tLastCommit >= p->iCommitMs/1000.0) ){
    p->bCommitDue = 0;
    p->tLastCommit = benchNow();
    sqlite3_bind_text(pCommit, 1, zGroup, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(pCommit, 2, iPart);
    sqlite3_bind_int64(pCommit, 3, pPos->iNext);
    if( p->eKind==BENCH_RAW ) sqlite3_bind_int64(pCommit, 4, sqlNowMs());
    sqlCheck(p, sqlite3_step(pCommit), "commit");
    sqlite3_reset(pCommit);
  }
  return n;
}

static void sqlPointRead(BenchSys *p, int iPart, i64 iOffset){
  sqlite3_stmt *pPoint = STMT(p->pPoint);
  sqlite3_bind_int(pPoint, 1, iPart);
  sqlite3_bind_int64(pPoint, 2, iOffset);
  if( sqlite3_step(pPoint)!=SQLITE_ROW ){
    benchFatal("%s: no message at %d/%lld", p->zName, iPart, iOffset);
  }
  (void)sqlite3_column_bytes(pPoint, 0);
  sqlite3_reset(pPoint);
}

/* Size of the database: pages in use (WAL included) times page size. */
static i64 sqlBytes(BenchSys *p){
  sqlite3_stmt *pStmt = STMT(sqlPrepare(p,
      "SELECT (SELECT page_count FROM pragma_page_count())"
      " * (SELECT page_size FROM pragma_page_size())"));
  i64 n = 0;
  if( sqlite3_step(pStmt)==SQLITE_ROW ) n = sqlite3_column_int64(pStmt, 0);
  sqlite3_finalize(pStmt);
  return n;
}

static double sqlServerCpu(BenchSys *p){
  (void)p;
  return 0.0;
}

const BenchOps benchSqliteOps = {
  sqlOpen,        /* xOpen */
  sqlClose,       /* xClose */
  sqlDurable,     /* xDurable */
  sqlProduce,     /* xProduce */
  sqlConsume,     /* xConsume */
  sqlPointRead,   /* xPointRead */
  sqlBytes,       /* xBytes */
  sqlServerCpu,   /* xServerCpu */
};
