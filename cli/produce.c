/*
** produce.c - "sqlite-stream DB produce TOPIC": messages from stdin, one
** per line, produced in transactions of up to -b lines or 100 ms.
**
**   plain lines   SELECT stream_produce(topic, key, value, NULL, partition)
**                 the value is sent as a BLOB (bytes, as kcat does), or as
**                 JSON text with --value-json; -K DELIM splits the key off
**   --json        SELECT stream_produce_batch(topic, json_array(json(line)))
**                 each line a {key, value, headers, partition, timestamp}
**                 object, validated by the extension
**
** SIGINT and SIGTERM commit the complete lines read so far and exit 0.
** stdin is read with poll(): a batch is committed when it holds -b lines
** or when 100 ms (--linger) have passed since its first line arrived, so a
** slow pipe never waits.  Lines are buffered in memory and written in one
** BEGIN IMMEDIATE ... COMMIT, so the write lock is held for the writes of
** one batch only.  --print-offsets prints "partition<TAB>offset" for each
** line once its batch is committed; the partitions come from the
** extension's CDC callback (stream.h xCdcHook), the one place the
** extension reports where a NULL-keyed message went.
*/
#include "cli.h"
#include "stream.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char cliProduceHelp[] =
"Usage: sqlite-stream DB produce TOPIC [OPTIONS] < messages\n"
"\n"
"Produces one message per line of standard input.  A line's bytes are the\n"
"value, sent as a BLOB (use --value-json for JSON values); consume prints\n"
"them back unchanged.  An empty line is an empty value (a tombstone with -Z).\n"
"\n"
"  -K DELIM            split each line into key DELIM value at the first\n"
"                      DELIM (a line without DELIM has a NULL key)\n"
"  --json              each line is a JSON object {\"key\", \"value\",\n"
"                      \"headers\", \"partition\", \"timestamp\"}, as in\n"
"                      stream_produce_batch(); value is any JSON value,\n"
"                      null a tombstone\n"
"  --value-json        send plain values as JSON text (validated) instead\n"
"                      of BLOBs\n"
"  -Z, --null-empty    an empty value is a NULL (a tombstone)\n"
"  -p, --partition N   produce to partition N (default: the partitioner)\n"
"  -b, --batch N       lines per transaction (default 1000)\n"
"  --linger MS         commit a batch at most MS ms after its first line\n"
"                      (default 100)\n"
"  --print-offsets     print \"PARTITION<TAB>OFFSET\" for every message\n"
"\n"
"A line that the extension refuses fails its whole batch (nothing of it\n"
"is written; earlier batches stay) and the tool exits with status 1.\n"
"SIGINT or SIGTERM commits the lines read so far and exits with 0.\n";

#define PRODUCE_CMD "produce"

/* Where the messages of the current batch went (from the CDC callback). */
typedef struct ProduceEvents ProduceEvents;
struct ProduceEvents {
  const char *zTopic;      /* the topic produced to */
  int nEvent;              /* events recorded in this batch */
  int nAlloc;              /* allocated pairs */
  sqlite3_int64 *aPos;     /* nEvent (partition, offset) pairs */
  int bOom;                /* an allocation failed */
};

typedef struct Producer Producer;
struct Producer {
  Cli *p;                  /* the tool */
  const char *zTopic;      /* TOPIC */
  const char *zDelim;      /* -K, or NULL */
  int bJson;               /* --json */
  int bValueJson;          /* --value-json */
  int bNullEmpty;          /* -Z */
  sqlite3_int64 iPartition;/* -p, or -1 */
  sqlite3_int64 nBatch;    /* -b */
  sqlite3_int64 nLinger;   /* --linger, ms */
  int bPrint;              /* --print-offsets */
  sqlite3_stmt *pStmt;     /* the produce statement */
  char *aLine;             /* buffered lines, each NUL-terminated */
  sqlite3_int64 nLineByte; /* bytes used in aLine */
  sqlite3_int64 nLineAlloc;/* bytes allocated for aLine */
  int nLine;               /* lines buffered */
  sqlite3_int64 iLineNo;   /* input line number of the first buffered line */
  ProduceEvents ev;        /* partitions and offsets of the batch */
};

/* The xCdcHook callback: record partition and offset of each produce to
** our topic ("type":"stream.produce","topic":T,"partition":P,"offset":O). */
static void produceOnEvent(void *pArg, const char *zJson, int nJson){
  ProduceEvents *pEv = (ProduceEvents*)pArg;
  char *z = sqlite3_mprintf("%.*s", nJson, zJson);
  char *zTopicKey = sqlite3_mprintf("\"topic\":\"%s\",", pEv->zTopic);
  const char *zP;
  if( z==0 || zTopicKey==0 ){
    pEv->bOom = 1;
  }else if( strstr(z, "\"type\":\"stream.produce\"")
         && strstr(z, zTopicKey)
         && (zP = strstr(z, "\"partition\":"))!=0 ){
    const char *zO = strstr(zP, "\"offset\":");
    if( pEv->nEvent>=pEv->nAlloc ){
      int nNew = pEv->nAlloc ? pEv->nAlloc*2 : 256;
      sqlite3_int64 *aNew = sqlite3_realloc64(pEv->aPos,
                                              sizeof(sqlite3_int64)*2*nNew);
      if( aNew==0 ){ pEv->bOom = 1; goto done; }
      pEv->aPos = aNew;
      pEv->nAlloc = nNew;
    }
    pEv->aPos[pEv->nEvent*2] = strtoll(zP+12, 0, 10);
    pEv->aPos[pEv->nEvent*2+1] = zO ? strtoll(zO+9, 0, 10) : -1;
    pEv->nEvent++;
  }
done:
  sqlite3_free(zTopicKey);
  sqlite3_free(z);
}

/* Bind the line z (n bytes) to the produce statement. */
static void produceBind(Producer *pr, const char *z, int n){
  sqlite3_stmt *pStmt = pr->pStmt;
  const char *zVal = z;
  int nVal = n;
  if( pr->bJson ){
    sqlite3_bind_text(pStmt, 2, z, n, SQLITE_STATIC);
    return;
  }
  if( pr->zDelim ){
    const char *zD = strstr(z, pr->zDelim);
    if( zD ){
      sqlite3_bind_text(pStmt, 2, z, (int)(zD-z), SQLITE_STATIC);
      zVal = zD + strlen(pr->zDelim);
      nVal = n - (int)(zVal-z);
    }else{
      sqlite3_bind_null(pStmt, 2);
    }
  }
  if( nVal==0 && pr->bNullEmpty ){
    sqlite3_bind_null(pStmt, 3);
  }else if( pr->bValueJson ){
    sqlite3_bind_text(pStmt, 3, zVal, nVal, SQLITE_STATIC);
  }else if( nVal==0 ){
    sqlite3_bind_zeroblob(pStmt, 3, 0);
  }else{
    sqlite3_bind_blob(pStmt, 3, zVal, nVal, SQLITE_STATIC);
  }
}

/* Write the buffered lines in one transaction; print offsets after it. */
static int produceFlush(Producer *pr){
  Cli *p = pr->p;
  const char *z = pr->aLine;
  int i, rc;
  if( pr->nLine==0 ) return CLI_OK;
  pr->ev.nEvent = 0;
  rc = cliExec(p, "BEGIN IMMEDIATE");
  for(i=0; rc==CLI_OK && i<pr->nLine; i++){
    int n = (int)strlen(z);
    produceBind(pr, z, n);
    if( sqlite3_step(pr->pStmt)!=SQLITE_ROW ){
      fprintf(stderr, "line %lld: ", (long long)(pr->iLineNo + i));
      rc = cliSqlError(p);
    }
    sqlite3_reset(pr->pStmt);
    z += n+1;
  }
  if( rc==CLI_OK ) rc = cliExec(p, "COMMIT");
  if( rc!=CLI_OK && !sqlite3_get_autocommit(p->db) ){
    sqlite3_exec(p->db, "ROLLBACK", 0, 0, 0);
  }
  if( rc==CLI_OK && pr->ev.bOom ) rc = cliError("out of memory");
  if( rc==CLI_OK && pr->bPrint ){
    for(i=0; i<pr->ev.nEvent; i++){
      printf("%lld\t%lld\n", (long long)pr->ev.aPos[i*2],
             (long long)pr->ev.aPos[i*2+1]);
    }
    if( cliOutputFailed() ) rc = cliError("cannot write to standard output");
  }
  pr->iLineNo += pr->nLine;
  pr->nLine = 0;
  pr->nLineByte = 0;
  return rc;
}

/* Append one line (n bytes, without its newline) to the batch. */
static int produceAddLine(Producer *pr, const char *z, sqlite3_int64 n){
  if( n>0 && z[n-1]=='\r' ) n--;   /* CRLF input */
  if( memchr(z, 0, (size_t)n) ){
    return cliError("line %lld: contains a NUL byte",
                    (long long)(pr->iLineNo + pr->nLine));
  }
  if( pr->nLineByte+n+1>pr->nLineAlloc ){
    sqlite3_int64 nNew = (pr->nLineAlloc+n+1)*2;
    char *aNew = sqlite3_realloc64(pr->aLine, nNew);
    if( aNew==0 ) return cliError("out of memory");
    pr->aLine = aNew;
    pr->nLineAlloc = nNew;
  }
  memcpy(&pr->aLine[pr->nLineByte], z, (size_t)n);
  pr->aLine[pr->nLineByte+n] = 0;
  pr->nLineByte += n+1;
  pr->nLine++;
  return pr->nLine>=pr->nBatch ? produceFlush(pr) : CLI_OK;
}

/* Read stdin to its end, producing as lines complete. */
static int produceLoop(Producer *pr){
  char *aBuf = 0;               /* bytes read, not yet a complete line */
  sqlite3_int64 nBuf = 0, nAlloc = 0;
  sqlite3_int64 iDeadline = 0;  /* when the batch must be committed */
  int rc = CLI_OK, bEof = 0;
  while( rc==CLI_OK && !bEof ){
    struct pollfd pfd;
    int nWait = -1, r;
    if( pr->nLine>0 ){
      sqlite3_int64 d = iDeadline - cliNowMs();
      nWait = d<0 ? 0 : (int)d;
    }
    pfd.fd = 0;
    pfd.events = POLLIN;
    pfd.revents = 0;
    r = poll(&pfd, 1, nWait);
    if( r<0 && errno==EINTR ){
      if( cliStop ) break;   /* SIGINT/SIGTERM: commit what was read */
      continue;
    }
    if( r<0 ){ rc = cliError("poll: %s", strerror(errno)); break; }
    if( r>0 ){
      ssize_t nRead;
      sqlite3_int64 i, iStart = 0;
      if( nBuf+65536>nAlloc ){
        char *aNew = sqlite3_realloc64(aBuf, nAlloc*2+65536);
        if( aNew==0 ){ rc = cliError("out of memory"); break; }
        aBuf = aNew;
        nAlloc = nAlloc*2+65536;
      }
      nRead = read(0, &aBuf[nBuf], (size_t)(nAlloc-nBuf));
      if( nRead<0 && errno==EINTR ){
        if( cliStop ) break;
        continue;
      }
      if( nRead<0 ){ rc = cliError("read: %s", strerror(errno)); break; }
      if( nRead==0 ){
        bEof = 1;
        if( nBuf>0 ) rc = produceAddLine(pr, aBuf, nBuf);   /* no final \n */
        nBuf = 0;
        break;
      }
      for(i=nBuf; rc==CLI_OK && i<nBuf+nRead; i++){
        if( aBuf[i]=='\n' ){
          if( pr->nLine==0 ) iDeadline = cliNowMs() + pr->nLinger;
          rc = produceAddLine(pr, &aBuf[iStart], i-iStart);
          iStart = i+1;
        }
      }
      nBuf += nRead;
      memmove(aBuf, &aBuf[iStart], (size_t)(nBuf-iStart));
      nBuf -= iStart;
    }
    if( rc==CLI_OK && pr->nLine>0 && cliNowMs()>=iDeadline ){
      rc = produceFlush(pr);
    }
  }
  if( rc==CLI_OK ) rc = produceFlush(pr);
  sqlite3_free(aBuf);
  return rc;
}

int cliProduce(Cli *p, int argc, char **argv){
  Producer pr;
  const sqlite3_stream_api *pApi;
  int i, rc = CLI_OK, nPart = 0;
  memset(&pr, 0, sizeof(pr));
  pr.p = p;
  pr.iPartition = -1;
  pr.nBatch = 1000;
  pr.nLinger = 100;
  pr.iLineNo = 1;
  for(i=1; rc==CLI_OK && i<argc; i++){
    const char *zVal = 0;
    int m = 0;
    if( strcmp(argv[i], "--json")==0 ){ pr.bJson = 1; continue; }
    if( strcmp(argv[i], "--value-json")==0 ){ pr.bValueJson = 1; continue; }
    if( strcmp(argv[i], "--print-offsets")==0 ){ pr.bPrint = 1; continue; }
    if( strcmp(argv[i], "-Z")==0 || strcmp(argv[i], "--null-empty")==0 ){
      pr.bNullEmpty = 1;
      continue;
    }
    if( (m = cliOptArg(argc, argv, &i, "-K", "--key-delimiter", &zVal)) ){
      if( m>0 && zVal[0]==0 ){
        return cliUsage(PRODUCE_CMD, "-K needs a non-empty delimiter");
      }
      pr.zDelim = zVal;
    }else if( cliOptInt(PRODUCE_CMD, argc, argv, &i, "-p", "--partition",
                        0, 2147483647, &pr.iPartition, &rc)
           || cliOptInt(PRODUCE_CMD, argc, argv, &i, "-b", "--batch",
                        1, 1000000, &pr.nBatch, &rc)
           || cliOptInt(PRODUCE_CMD, argc, argv, &i, 0, "--linger",
                        0, 3600000, &pr.nLinger, &rc) ){
      continue;
    }else if( m==0 ){
      rc = cliPositional(PRODUCE_CMD, argv[i], &pr.zTopic);
    }
    if( m<0 ) return cliUsage(PRODUCE_CMD, "%s needs a value", argv[i]);
  }
  if( rc ) return rc;
  if( pr.zTopic==0 ) return cliUsage(PRODUCE_CMD, "produce needs a TOPIC");
  if( pr.bJson && (pr.zDelim || pr.bValueJson || pr.bNullEmpty
                   || pr.iPartition>=0) ){
    return cliUsage(PRODUCE_CMD,
        "--json lines carry key, value and partition: "
        "-K, -p, -Z and --value-json do not apply");
  }
  rc = cliTopicPartitions(p, pr.zTopic, &nPart);
  if( rc ) return rc;
  pr.ev.zTopic = pr.zTopic;
  if( pr.bPrint ){
    pApi = sqlite3_stream_api_get(p->db);
    if( pApi==0
     || pApi->xCdcHook(p->db, produceOnEvent, &pr.ev, 0)!=SQLITE_OK ){
      return cliError("cannot register the CDC callback for --print-offsets");
    }
  }
  rc = cliPrepare(p, pr.bJson
      ? "SELECT stream_produce_batch(?1, json_array(json(?2)))"
      : "SELECT stream_produce(?1, ?2, ?3, NULL, ?4)", &pr.pStmt);
  if( rc==CLI_OK ){
    sqlite3_bind_text(pr.pStmt, 1, pr.zTopic, -1, SQLITE_STATIC);
    if( !pr.bJson && pr.iPartition>=0 ){
      sqlite3_bind_int64(pr.pStmt, 4, pr.iPartition);
    }
    cliCatchSignals();
    rc = produceLoop(&pr);
  }
  if( pr.bPrint ){
    pApi = sqlite3_stream_api_get(p->db);
    if( pApi ) pApi->xCdcHook(p->db, 0, 0, 0);
  }
  sqlite3_finalize(pr.pStmt);
  sqlite3_free(pr.aLine);
  sqlite3_free(pr.ev.aPos);
  return rc;
}
