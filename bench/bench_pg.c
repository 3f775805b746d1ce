/*
** bench_pg.c - the queue users build in PostgreSQL, through libpq.
**
**   CREATE TABLE queue(id bigserial PRIMARY KEY, topic text NOT NULL,
**     partition int NOT NULL, key text, payload jsonb NOT NULL,
**     created_at timestamptz NOT NULL DEFAULT now());
**   CREATE INDEX queue_partition_id ON queue(partition, id);
**   CREATE TABLE queue_offsets(group_id text, partition int,
**     last_id bigint NOT NULL, PRIMARY KEY(group_id, partition));
**
**   produce   batch 1: a prepared single-row INSERT (autocommit);
**             batch n: one prepared n-row INSERT ... VALUES (...),(...)
**             (one statement, one transaction, one round trip)
**   consume   BENCH_PG_DELETE (the classic work queue, one group only):
**               DELETE FROM queue WHERE id IN (SELECT id FROM queue
**                WHERE partition=$1 ORDER BY id LIMIT $2
**                FOR UPDATE SKIP LOCKED) RETURNING id, payload
**             BENCH_PG_OFFSETS (Kafka-like, any number of groups): one
**               statement that reads the batch after the group's last id
**               and upserts the new last id (CTE), so one round trip and
**               one transaction per batch
**   point     SELECT payload FROM queue WHERE id=$1 (id = offset+1 in a
**             fresh one-partition queue)
**   bytes     pg_total_relation_size('queue') (heap + indexes + TOAST)
**
** Durability is per session: SET synchronous_commit = off | on (the
** server runs with fsync=on, see bench/run.sh).  With iBlockMs > 0 (the
** latency workload) an empty poll waits for a notification (LISTEN) up
** to iBlockMs; with bNotify the producer's INSERT NOTIFYs in the same
** statement.
*/
#include "bench.h"
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>

#define PG(p) ((PGconn*)(p)->pPg)

static PGresult *pgCheck(BenchSys *p, PGresult *r, const char *zWhat){
  ExecStatusType e = PQresultStatus(r);
  if( e!=PGRES_COMMAND_OK && e!=PGRES_TUPLES_OK ){
    benchFatal("%s: %s: %s", p->zName, zWhat, PQerrorMessage(PG(p)));
  }
  return r;
}

static void pgExec(BenchSys *p, const char *zSql){
  PQclear(pgCheck(p, PQexec(PG(p), zSql), zSql));
}

static void pgClose(BenchSys *p){
  if( p->pPg ){
    PQfinish(PG(p));
    p->pPg = 0;
  }
}

static void pgDurable(BenchSys *p, int bDurable){
  p->bDurable = bDurable;
  pgExec(p, bDurable ? "SET synchronous_commit = on"
                     : "SET synchronous_commit = off");
}

static void pgOpen(BenchSys *p, int bFresh, int nPart){
  PGconn *c;
  pgClose(p);
  c = PQconnectdb(p->zConninfo);
  if( PQstatus(c)!=CONNECTION_OK ){
    benchFatal("%s: connect '%s': %s", p->zName, p->zConninfo,
               PQerrorMessage(c));
  }
  p->pPg = c;
  p->nPrepared = 0;
  p->nPos = 0;
  pgExec(p, "SET client_min_messages = warning");
  if( bFresh ){
    pgExec(p, "DROP TABLE IF EXISTS queue, queue_offsets");
    pgExec(p,
      "CREATE TABLE queue(id bigserial PRIMARY KEY, topic text NOT NULL,"
      " partition int NOT NULL, key text, payload jsonb NOT NULL,"
      " created_at timestamptz NOT NULL DEFAULT now())");
    pgExec(p, "CREATE INDEX queue_partition_id ON queue(partition, id)");
    pgExec(p,
      "CREATE TABLE queue_offsets(group_id text, partition int,"
      " last_id bigint NOT NULL, PRIMARY KEY(group_id, partition))");
    p->nPart = nPart;
  }
  pgDurable(p, p->bDurable);
  PQclear(pgCheck(p, PQprepare(c, "del",
      "DELETE FROM queue WHERE id IN (SELECT id FROM queue"
      " WHERE partition=$1::int ORDER BY id LIMIT $2::int"
      " FOR UPDATE SKIP LOCKED) RETURNING id, payload", 0, 0), "prepare del"));
  PQclear(pgCheck(p, PQprepare(c, "offs",
      "WITH pos AS (SELECT coalesce((SELECT last_id FROM queue_offsets"
      "   WHERE group_id=$1::text AND partition=$2::int), 0) AS last),"
      " m AS (SELECT id, payload FROM queue WHERE partition=$2::int"
      "   AND id > (SELECT last FROM pos) ORDER BY id LIMIT $3::int),"
      " u AS (INSERT INTO queue_offsets(group_id, partition, last_id)"
      "   SELECT $1::text, $2::int, max(id) FROM m HAVING count(*)>0"
      "   ON CONFLICT (group_id, partition)"
      "   DO UPDATE SET last_id = excluded.last_id)"
      " SELECT id, payload FROM m ORDER BY id", 0, 0), "prepare offs"));
  PQclear(pgCheck(p, PQprepare(c, "point",
      "SELECT payload FROM queue WHERE id=$1::bigint", 0, 0), "prepare point"));
  PQclear(pgCheck(p, PQprepare(c, "insnotify",
      "WITH i AS (INSERT INTO queue(topic, partition, key, payload)"
      " VALUES('bench', $1::int, $2, $3::jsonb) RETURNING id)"
      " SELECT pg_notify('bench', '') FROM i", 0, 0), "prepare insnotify"));
  if( p->iBlockMs>0 ) pgExec(p, "LISTEN bench");
}

/* Name of the prepared INSERT of nMsg rows, preparing it if needed. */
static void pgInsertStmt(BenchSys *p, int nMsg, char *zName, int nName){
  int i;
  snprintf(zName, nName, "ins%d", nMsg);
  for(i=0; i<p->nPrepared; i++){
    if( p->aPrepared[i]==nMsg ) return;
  }
  {
    size_t nAlloc = 80 + (size_t)nMsg*48;
    char *zSql = malloc(nAlloc);
    size_t n;
    if( zSql==0 ) benchFatal("out of memory");
    n = (size_t)snprintf(zSql, nAlloc,
        "INSERT INTO queue(topic, partition, key, payload) VALUES");
    for(i=0; i<nMsg; i++){
      n += (size_t)snprintf(zSql+n, nAlloc-n,
          "%s('bench', $%d::int, $%d, $%d::jsonb)", i ? "," : "",
          3*i+1, 3*i+2, 3*i+3);
    }
    PQclear(pgCheck(p, PQprepare(PG(p), zName, zSql, 0, 0), "prepare insert"));
    free(zSql);
  }
  if( p->nPrepared<(int)(sizeof(p->aPrepared)/sizeof(p->aPrepared[0])) ){
    p->aPrepared[p->nPrepared++] = nMsg;
  }
}

static void pgProduce(BenchSys *p, const BenchMsg *aMsg, int nMsg){
  char zName[32];
  const char **aVal = malloc(sizeof(char*)*3*(size_t)nMsg);
  int *aLen = malloc(sizeof(int)*3*(size_t)nMsg);
  char (*aPart)[12] = malloc(sizeof(*aPart)*(size_t)nMsg);
  int i;
  if( aVal==0 || aLen==0 || aPart==0 ) benchFatal("out of memory");
  for(i=0; i<nMsg; i++){
    snprintf(aPart[i], sizeof(aPart[i]), "%d", aMsg[i].iPart);
    aVal[3*i] = aPart[i];           aLen[3*i] = (int)strlen(aPart[i]);
    aVal[3*i+1] = aMsg[i].zKey;     aLen[3*i+1] = aMsg[i].nKey;
    aVal[3*i+2] = aMsg[i].zVal;     aLen[3*i+2] = aMsg[i].nVal;
  }
  if( nMsg==1 && p->bNotify ){
    snprintf(zName, sizeof(zName), "insnotify");
  }else{
    pgInsertStmt(p, nMsg, zName, sizeof(zName));
  }
  PQclear(pgCheck(p, PQexecPrepared(PG(p), zName, 3*nMsg, aVal, aLen, 0, 0),
                  "insert"));
  free(aVal);
  free(aLen);
  free(aPart);
}

/* Wait up to ms for a NOTIFY on "bench". */
static void pgWaitNotify(BenchSys *p, int ms){
  PGnotify *n;
  fd_set fds;
  struct timeval tv;
  int fd = PQsocket(PG(p));
  PQconsumeInput(PG(p));
  if( (n = PQnotifies(PG(p)))!=0 ){
    do{ PQfreemem(n); }while( (n = PQnotifies(PG(p)))!=0 );
    return;
  }
  FD_ZERO(&fds);
  FD_SET(fd, &fds);
  tv.tv_sec = ms/1000;
  tv.tv_usec = (ms%1000)*1000;
  if( select(fd+1, &fds, 0, 0, &tv)>0 ){
    PQconsumeInput(PG(p));
    while( (n = PQnotifies(PG(p)))!=0 ) PQfreemem(n);
  }
}

static int pgConsume(BenchSys *p, const char *zGroup, int iPart, int nMax,
                     BenchRecvFn xRecv, void *pArg){
  char zPart[12], zMax[12];
  const char *aVal[3];
  PGresult *r;
  int n, i, iTry;
  snprintf(zPart, sizeof(zPart), "%d", iPart);
  snprintf(zMax, sizeof(zMax), "%d", nMax);
  for(iTry=0; ; iTry++){
    if( p->eMode==BENCH_PG_DELETE ){
      aVal[0] = zPart; aVal[1] = zMax;
      r = PQexecPrepared(PG(p), "del", 2, aVal, 0, 0, 0);
    }else{
      aVal[0] = zGroup; aVal[1] = zPart; aVal[2] = zMax;
      r = PQexecPrepared(PG(p), "offs", 3, aVal, 0, 0, 0);
    }
    pgCheck(p, r, "consume");
    n = PQntuples(r);
    if( n>0 || p->iBlockMs<=0 || iTry>0 ) break;
    PQclear(r);
    pgWaitNotify(p, p->iBlockMs);
  }
  if( xRecv ){
    for(i=0; i<n; i++){
      xRecv(pArg, PQgetvalue(r, i, 1), PQgetlength(r, i, 1));
    }
  }
  PQclear(r);
  return n;
}

static void pgPointRead(BenchSys *p, int iPart, i64 iOffset){
  char zId[24];
  const char *aVal[1];
  PGresult *r;
  (void)iPart;
  snprintf(zId, sizeof(zId), "%lld", iOffset+1);
  aVal[0] = zId;
  r = pgCheck(p, PQexecPrepared(PG(p), "point", 1, aVal, 0, 0, 0), "point");
  if( PQntuples(r)!=1 ) benchFatal("%s: no row id %s", p->zName, zId);
  PQclear(r);
}

static i64 pgBytes(BenchSys *p){
  PGresult *r = pgCheck(p, PQexec(PG(p),
      "SELECT pg_total_relation_size('queue')"), "size");
  i64 n = strtoll(PQgetvalue(r, 0, 0), 0, 10);
  PQclear(r);
  return n;
}

static double pgServerCpu(BenchSys *p){
  FILE *f = fopen(p->zPidFile, "r");
  int pid = 0;
  if( f==0 ) return 0.0;
  if( fscanf(f, "%d", &pid)!=1 ) pid = 0;
  fclose(f);
  return pid>0 ? benchTreeCpu((pid_t)pid) : 0.0;
}

const BenchOps benchPgOps = {
  pgOpen,         /* xOpen */
  pgClose,        /* xClose */
  pgDurable,      /* xDurable */
  pgProduce,      /* xProduce */
  pgConsume,      /* xConsume */
  pgPointRead,    /* xPointRead */
  pgBytes,        /* xBytes */
  pgServerCpu,    /* xServerCpu */
};

/* Fill a one-partition queue with n copies of zVal server-side (fast
** backlog loads for the consume and growth workloads), then VACUUM
** ANALYZE so that the planner and the visibility map know the data. */
void benchPgFill(BenchSys *p, i64 n, const char *zVal){
  char zN[24];
  const char *aVal[2];
  snprintf(zN, sizeof(zN), "%lld", n);
  aVal[0] = zVal;
  aVal[1] = zN;
  PQclear(pgCheck(p, PQexecParams(PG(p),
      "INSERT INTO queue(topic, partition, key, payload)"
      " SELECT 'bench', 0, 'key-' || g, $1::jsonb"
      " FROM generate_series(1, $2::bigint) g", 2, 0, aVal, 0, 0, 0),
      "fill"));
  pgExec(p, "VACUUM ANALYZE queue");
}

/* Empty the queue (ids continue from the sequence). */
void benchPgTruncate(BenchSys *p){
  pgExec(p, "TRUNCATE queue, queue_offsets");
}
