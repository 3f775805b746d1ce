/*
** bench_redis.c - Redis Streams through hiredis (synchronous API).
**
** One stream key per partition, "bench:<p>"; the partition is the
** murmur2 of the key, as for the other systems.  Entries carry two fields
** (k = message key, v = JSON value) and explicit IDs 0-<offset+1>, so that
** an offset addresses one entry (W5's point read is XRANGE id id).
**
**   produce   XADD bench:<p> 0-<n> k <key> v <value>
**             batch 1: one round trip per message (not pipelined);
**             batch > 1: the batch's XADDs pipelined (redisAppendCommand
**             then one reply each)
**   consume   XREADGROUP GROUP <g> c1 [BLOCK ms] COUNT n STREAMS bench:<p> >
**             then XACK bench:<p> <g> id ... (one command for the batch)
**   point     XRANGE bench:<p> <id> <id>
**   bytes     INFO memory used_memory, minus the empty server's
**
** Durability is a property of the server (appendonly / appendfsync in the
** generated redis.conf, see bench/run.sh): each configuration is its own
** server on its own port and its own BenchSys.
*/
#include "bench.h"
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RC(p) ((redisContext*)(p)->pRedis)

static redisReply *rdCmd(BenchSys *p, int argc, const char **argv,
                         const size_t *alen){
  redisReply *r = redisCommandArgv(RC(p), argc, argv, alen);
  if( r==0 ) benchFatal("%s: %s", p->zName, RC(p)->errstr);
  if( r->type==REDIS_REPLY_ERROR ){
    benchFatal("%s: %s: %s", p->zName, argv[0], r->str);
  }
  return r;
}

static redisReply *rdCmdStr(BenchSys *p, const char *zCmd){
  redisReply *r = redisCommand(RC(p), zCmd);
  if( r==0 ) benchFatal("%s: %s", p->zName, RC(p)->errstr);
  return r;
}

/* Integer field zField of an INFO reply. */
static i64 rdInfoField(BenchSys *p, const char *zSection, const char *zField){
  char zCmd[64];
  redisReply *r;
  i64 v = 0;
  snprintf(zCmd, sizeof(zCmd), "INFO %s", zSection);
  r = rdCmdStr(p, zCmd);
  if( r->type==REDIS_REPLY_STRING ){
    char zPat[64];
    char *z;
    snprintf(zPat, sizeof(zPat), "\n%s:", zField);
    z = strstr(r->str, zPat);
    if( z ) v = strtoll(z+strlen(zPat), 0, 10);
  }
  freeReplyObject(r);
  return v;
}

static void rdClose(BenchSys *p){
  if( p->pRedis ){
    redisFree(RC(p));
    p->pRedis = 0;
  }
}

static void rdOpen(BenchSys *p, int bFresh, int nPart){
  redisContext *c;
  int i;
  rdClose(p);
  c = redisConnect(p->zHost, p->iPort);
  if( c==0 || c->err ){
    benchFatal("%s: connect %s:%d: %s", p->zName, p->zHost, p->iPort,
               c ? c->errstr : "out of memory");
  }
  p->pRedis = c;
  p->nPos = 0;
  p->redisPid = (pid_t)rdInfoField(p, "server", "process_id");
  if( bFresh ){
    freeReplyObject(rdCmdStr(p, "FLUSHALL"));
    p->nPart = nPart;
    p->iBaseBytes = rdInfoField(p, "memory", "used_memory");
  }
  for(i=0; i<p->nPart && i<64; i++){
    redisReply *r = redisCommand(c, "XLEN bench:%d", i);
    p->aNext[i] = (r && r->type==REDIS_REPLY_INTEGER) ? r->integer : 0;
    if( r ) freeReplyObject(r);
  }
}

static void rdDurable(BenchSys *p, int bDurable){
  p->bDurable = bDurable;   /* the server's configuration decides */
}

static void rdProduce(BenchSys *p, const BenchMsg *aMsg, int nMsg){
  int i;
  for(i=0; i<nMsg; i++){
    const BenchMsg *m = &aMsg[i];
    char zStream[32], zId[32];
    const char *argv[7];
    size_t alen[7];
    snprintf(zStream, sizeof(zStream), "bench:%d", m->iPart);
    snprintf(zId, sizeof(zId), "0-%lld", ++p->aNext[m->iPart]);
    argv[0] = "XADD"; alen[0] = 4;
    argv[1] = zStream; alen[1] = strlen(zStream);
    argv[2] = zId; alen[2] = strlen(zId);
    argv[3] = "k"; alen[3] = 1;
    argv[4] = m->zKey; alen[4] = (size_t)m->nKey;
    argv[5] = "v"; alen[5] = 1;
    argv[6] = m->zVal; alen[6] = (size_t)m->nVal;
    if( nMsg==1 ){
      freeReplyObject(rdCmd(p, 7, argv, alen));
    }else if( redisAppendCommandArgv(RC(p), 7, argv, alen)!=REDIS_OK ){
      benchFatal("%s: %s", p->zName, RC(p)->errstr);
    }
  }
  if( nMsg>1 ){
    for(i=0; i<nMsg; i++){
      redisReply *r = 0;
      if( redisGetReply(RC(p), (void**)&r)!=REDIS_OK || r==0 ){
        benchFatal("%s: %s", p->zName, RC(p)->errstr);
      }
      if( r->type==REDIS_REPLY_ERROR ) benchFatal("%s: XADD: %s", p->zName, r->str);
      freeReplyObject(r);
    }
  }
}

static int rdConsume(BenchSys *p, const char *zGroup, int iPart, int nMax,
                     BenchRecvFn xRecv, void *pArg){
  char zStream[32], zCount[16], zBlock[16];
  const char *argv[12];
  size_t alen[12];
  int argc = 0, bNew, n = 0, i;
  redisReply *r, *pEntries = 0;
  snprintf(zStream, sizeof(zStream), "bench:%d", iPart);
  benchPos(p, zGroup, iPart, &bNew);
  if( bNew ){
    r = redisCommand(RC(p), "XGROUP CREATE %s %s 0 MKSTREAM", zStream, zGroup);
    if( r==0 ) benchFatal("%s: %s", p->zName, RC(p)->errstr);
    if( r->type==REDIS_REPLY_ERROR && strncmp(r->str, "BUSYGROUP", 9)!=0 ){
      benchFatal("%s: XGROUP CREATE: %s", p->zName, r->str);
    }
    freeReplyObject(r);
  }
  snprintf(zCount, sizeof(zCount), "%d", nMax);
  snprintf(zBlock, sizeof(zBlock), "%d", p->iBlockMs);
  argv[argc++] = "XREADGROUP"; argv[argc++] = "GROUP";
  argv[argc++] = zGroup; argv[argc++] = "c1";
  if( p->iBlockMs>0 ){ argv[argc++] = "BLOCK"; argv[argc++] = zBlock; }
  argv[argc++] = "COUNT"; argv[argc++] = zCount;
  argv[argc++] = "STREAMS"; argv[argc++] = zStream; argv[argc++] = ">";
  for(i=0; i<argc; i++) alen[i] = strlen(argv[i]);
  r = rdCmd(p, argc, argv, alen);
  /* Reply: [[stream, [[id, [f, v, ...]], ...]]] or nil (RESP2). */
  if( r->type==REDIS_REPLY_ARRAY && r->elements>0
   && r->element[0]->type==REDIS_REPLY_ARRAY && r->element[0]->elements==2 ){
    pEntries = r->element[0]->element[1];
  }
  if( pEntries && pEntries->type==REDIS_REPLY_ARRAY && pEntries->elements>0 ){
    size_t nE = pEntries->elements, j;
    const char **aArgv = malloc(sizeof(char*)*(nE+3));
    size_t *aLen = malloc(sizeof(size_t)*(nE+3));
    if( aArgv==0 || aLen==0 ) benchFatal("out of memory");
    aArgv[0] = "XACK"; aLen[0] = 4;
    aArgv[1] = zStream; aLen[1] = strlen(zStream);
    aArgv[2] = zGroup; aLen[2] = strlen(zGroup);
    for(j=0; j<nE; j++){
      redisReply *e = pEntries->element[j];
      redisReply *f = e->element[1];
      aArgv[3+j] = e->element[0]->str;
      aLen[3+j] = e->element[0]->len;
      if( xRecv && f->type==REDIS_REPLY_ARRAY && f->elements>=4 ){
        xRecv(pArg, f->element[3]->str, (int)f->element[3]->len);
      }
    }
    freeReplyObject(rdCmd(p, (int)nE+3, aArgv, aLen));
    free(aArgv);
    free(aLen);
    n = (int)nE;
  }
  freeReplyObject(r);
  return n;
}

static void rdPointRead(BenchSys *p, int iPart, i64 iOffset){
  redisReply *r = redisCommand(RC(p), "XRANGE bench:%d 0-%lld 0-%lld",
                               iPart, iOffset+1, iOffset+1);
  if( r==0 ) benchFatal("%s: %s", p->zName, RC(p)->errstr);
  if( r->type!=REDIS_REPLY_ARRAY || r->elements!=1 ){
    benchFatal("%s: no entry at %d/%lld", p->zName, iPart, iOffset);
  }
  freeReplyObject(r);
}

static i64 rdBytes(BenchSys *p){
  return rdInfoField(p, "memory", "used_memory") - p->iBaseBytes;
}

static double rdServerCpu(BenchSys *p){
  return benchPidCpu(p->redisPid);
}

const BenchOps benchRedisOps = {
  rdOpen,         /* xOpen */
  rdClose,        /* xClose */
  rdDurable,      /* xDurable */
  rdProduce,      /* xProduce */
  rdConsume,      /* xConsume */
  rdPointRead,    /* xPointRead */
  rdBytes,        /* xBytes */
  rdServerCpu,    /* xServerCpu */
};
