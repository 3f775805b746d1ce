/*
** consume.c - "sqlite-stream DB consume TOPIC": print messages, alone or
** as a member of a consumer group.
**
** Alone (no -g), per partition, from the start point -o:
**   SELECT partition, log_start_offset, high_watermark
**     FROM stream_partitions WHERE topic = ?          -- once, for -o and -e
**   SELECT partition, offset, key, value, headers, timestamp
**     FROM stream_messages WHERE topic = ? AND partition = ? AND offset >= ?
**     ORDER BY offset LIMIT ?                          -- plan 2059: a range
** The partitions are read in turn, a batch each.  With -e the end is each
** partition's high watermark when the tool started.  Following (the
** default), an idle reader naps 1, 2, 4 ... 16 ms between rounds, so a new
** message is printed within about 16 ms of its commit.
**
** In a group (-g): stream_join(), then per batch
**   BEGIN IMMEDIATE; SELECT ... FROM stream_poll(g, m, n);
**   (print); SELECT stream_commit_sync(g, m); COMMIT;
** so a batch is committed once printed (at-least-once: a batch whose
** commit fails is delivered again).  Following, the tool waits with
** stream_wait(g, m, 1000) outside any transaction; stream_leave() runs at
** the end, also after SIGINT or SIGTERM.
*/
#include "cli.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char cliConsumeHelp[] =
"Usage: sqlite-stream DB consume TOPIC [OPTIONS]\n"
"\n"
"Prints the messages of TOPIC, following it for new ones until interrupted\n"
"(or with -e until the end).\n"
"\n"
"  -o, --offset START  where each partition starts: beginning (default),\n"
"                      end, OFFSET, -N (N before the end), @TIME (the first\n"
"                      message at or after TIME: ms since the epoch or ISO\n"
"                      8601, e.g. @2024-01-14T12:00:00Z)\n"
"  -p, --partition N   only partition N\n"
"  -e, --exit          exit at the end of the partitions (their high\n"
"                      watermarks when the tool started)\n"
"  -f, --follow        wait for new messages (the default)\n"
"  -c, --count N       exit after N messages\n"
"  -g, --group GROUP   consume as a member of consumer group GROUP,\n"
"                      committing each batch once printed; -o beginning or\n"
"                      end then sets auto.offset.reset (default: latest)\n"
"  --member ID         member id in the group (default sqlite-stream-PID)\n"
"  -b, --batch N       messages per read or poll (default 500)\n"
"  --format FORMAT     text (default): the value, one per line;\n"
"                      json: one JSON object per line (topic, partition,\n"
"                      offset, timestamp, key, value, headers);\n"
"                      tsv: partition, offset, timestamp, key, value, headers\n"
"                      separated by tabs (\\t \\n \\\\ escaped, NULL as \\N)\n"
"  -K DELIM            text format: print key DELIM value\n"
"\n"
"In JSON, a TEXT value (JSON, as the extension stores it) is printed as\n"
"is; a BLOB as a JSON string if it is UTF-8, else as base64 with\n"
"\"value_encoding\":\"base64\" (the same for keys).\n";

#define CONSUME_CMD "consume"

#define FORMAT_TEXT 0
#define FORMAT_JSON 1
#define FORMAT_TSV  2


typedef struct Consumer Consumer;
struct Consumer {
  Cli *p;                  /* the tool */
  const char *zTopic;      /* TOPIC */
  const char *zGroup;      /* -g, or NULL */
  const char *zMember;     /* --member, or NULL */
  const char *zStart;      /* -o, or NULL */
  const char *zKeyDelim;   /* -K, or NULL */
  sqlite3_int64 iPartition;/* -p, or -1 */
  sqlite3_int64 nCount;    /* -c, or -1 */
  sqlite3_int64 nBatch;    /* -b */
  int bExit;               /* -e */
  int bPipeGone;           /* stdout's reader went away (EPIPE) */
  int eFormat;             /* FORMAT_* */
  sqlite3_int64 nDone;     /* messages printed */
};

/* Sleep ms milliseconds (a signal ends it early). */
static void consumeNap(int ms){
  poll(0, 0, ms);
}

/* tsv: write z[0..n) with \t, \n, \r and \\ escaped. */
static void consumeTsvField(const unsigned char *a, int n, int bNull){
  int i;
  if( bNull ){ fputs("\\N", stdout); return; }
  for(i=0; i<n; i++){
    switch( a[i] ){
      case '\t': fputs("\\t", stdout); break;
      case '\n': fputs("\\n", stdout); break;
      case '\r': fputs("\\r", stdout); break;
      case '\\': fputs("\\\\", stdout); break;
      default: putchar(a[i]);
    }
  }
}

/* json: write column i (a key or value) as JSON; zName for _encoding. */
static void consumeJsonField(sqlite3_stmt *pStmt, int i, const char *zName,
                             int bRawText){
  int t = sqlite3_column_type(pStmt, i);
  const unsigned char *a;
  int n;
  if( t==SQLITE_NULL ){
    printf(",\"%s\":null", zName);
    return;
  }
  a = t==SQLITE_BLOB ? sqlite3_column_blob(pStmt, i)
                     : sqlite3_column_text(pStmt, i);
  n = sqlite3_column_bytes(pStmt, i);
  printf(",\"%s\":", zName);
  if( t!=SQLITE_BLOB && bRawText ){
    fwrite(a, 1, (size_t)n, stdout);
  }else if( t!=SQLITE_BLOB || cliUtf8Valid(a, n) ){
    cliJsonString(stdout, (const char*)a, n);
  }else{
    cliJsonBytes(stdout, a, n);
    printf(",\"%s_encoding\":\"base64\"", zName);
  }
}

/* Print one message; the columns are partition, offset, key, value,
** headers, timestamp. */
static void consumePrint(Consumer *pc, sqlite3_stmt *pStmt){
  const unsigned char *aKey = sqlite3_column_blob(pStmt, 2);
  int nKey = sqlite3_column_bytes(pStmt, 2);
  const unsigned char *aVal = sqlite3_column_blob(pStmt, 3);
  int nVal = sqlite3_column_bytes(pStmt, 3);
  switch( pc->eFormat ){
    case FORMAT_JSON:
      printf("{\"topic\":");
      cliJsonString(stdout, pc->zTopic, (int)strlen(pc->zTopic));
      printf(",\"partition\":%lld,\"offset\":%lld,\"timestamp\":%lld",
             (long long)sqlite3_column_int64(pStmt, 0),
             (long long)sqlite3_column_int64(pStmt, 1),
             (long long)sqlite3_column_int64(pStmt, 5));
      consumeJsonField(pStmt, 2, "key", 0);
      consumeJsonField(pStmt, 3, "value", 1);
      if( sqlite3_column_type(pStmt, 4)==SQLITE_NULL ){
        printf(",\"headers\":null");
      }else{
        printf(",\"headers\":%s", CLI_TEXT(pStmt, 4));
      }
      printf("}\n");
      break;
    case FORMAT_TSV:
      printf("%lld\t%lld\t%lld\t", (long long)sqlite3_column_int64(pStmt, 0),
             (long long)sqlite3_column_int64(pStmt, 1),
             (long long)sqlite3_column_int64(pStmt, 5));
      consumeTsvField(aKey, nKey, sqlite3_column_type(pStmt, 2)==SQLITE_NULL);
      putchar('\t');
      consumeTsvField(aVal, nVal, sqlite3_column_type(pStmt, 3)==SQLITE_NULL);
      putchar('\t');
      consumeTsvField(sqlite3_column_text(pStmt, 4),
                      sqlite3_column_bytes(pStmt, 4),
                      sqlite3_column_type(pStmt, 4)==SQLITE_NULL);
      putchar('\n');
      break;
    default:
      if( pc->zKeyDelim ){
        if( nKey ) fwrite(aKey, 1, (size_t)nKey, stdout);
        fputs(pc->zKeyDelim, stdout);
      }
      if( nVal ) fwrite(aVal, 1, (size_t)nVal, stdout);
      putchar('\n');
      break;
  }
  pc->nDone++;
}

/* Print the rows of pStmt (stepped here, not reset); *pnRow gets their
** number, *piLast the last offset.  Stops at -c. */
static int consumeRows(Consumer *pc, sqlite3_stmt *pStmt, int *pnRow,
                       sqlite3_int64 *piLast){
  int rc = SQLITE_DONE;
  *pnRow = 0;
  while( (pc->nCount<0 || pc->nDone<pc->nCount)
      && (rc = sqlite3_step(pStmt))==SQLITE_ROW ){
    consumePrint(pc, pStmt);
    *piLast = sqlite3_column_int64(pStmt, 1);
    (*pnRow)++;
  }
  if( pc->nCount>=0 && pc->nDone>=pc->nCount ) rc = SQLITE_DONE;
  if( rc!=SQLITE_DONE ) return cliSqlError(pc->p);
  if( cliOutputFailed() ){
    if( errno==EPIPE ){   /* the reader is gone: stop, quietly */
      pc->bPipeGone = 1;
      cliStop = 1;
      return CLI_OK;
    }
    return cliError("cannot write to standard output");
  }
  return CLI_OK;
}

/* The first offset to read of one partition, from -o. */
static int consumeStartOffset(Consumer *pc, int iPart, sqlite3_int64 iLso,
                              sqlite3_int64 iHwm, sqlite3_int64 *piNext){
  const char *z = pc->zStart ? pc->zStart : "beginning";
  sqlite3_int64 v = 0;
  int rc = CLI_OK;
  if( strcmp(z, "beginning")==0 ){
    *piNext = iLso;
  }else if( strcmp(z, "end")==0 ){
    *piNext = iHwm;
  }else if( z[0]=='@' ){
    sqlite3_stmt *pStmt = 0;
    if( cliParseTime(&z[1], &v) ){
      return cliUsage(CONSUME_CMD, "-o @TIME: cannot read time \"%s\"", &z[1]);
    }
    rc = cliPrepare(pc->p,
        "SELECT coalesce(stream_offset_for_time(?1, ?2, ?3), ?4)", &pStmt);
    if( rc ) return rc;
    sqlite3_bind_text(pStmt, 1, pc->zTopic, -1, SQLITE_STATIC);
    sqlite3_bind_int(pStmt, 2, iPart);
    sqlite3_bind_int64(pStmt, 3, v);
    sqlite3_bind_int64(pStmt, 4, iHwm);
    if( sqlite3_step(pStmt)==SQLITE_ROW ){
      *piNext = sqlite3_column_int64(pStmt, 0);
    }else{
      rc = cliSqlError(pc->p);
    }
    sqlite3_finalize(pStmt);
  }else if( z[0]=='-' ){
    rc = cliParseInt(CONSUME_CMD, "-o -N", &z[1], 0, INT64_MAX, &v);
    if( rc==CLI_OK ) *piNext = iHwm-v<iLso ? iLso : iHwm-v;
  }else{
    rc = cliParseInt(CONSUME_CMD, "--offset", z, 0, INT64_MAX, &v);
    if( rc==CLI_OK ) *piNext = v;
  }
  return rc;
}

/* Without a group: read the partitions in turn from stream_messages. */
static int consumeAlone(Consumer *pc){
  Cli *p = pc->p;
  sqlite3_stmt *pStmt = 0;
  sqlite3_int64 *aNext = 0, *aEnd = 0;
  int *aPart = 0;
  int nPart = 0, nTopicPart = 0, i, rc, nNap = 1;

  rc = cliTopicPartitions(p, pc->zTopic, &nTopicPart);
  if( rc ) return rc;
  if( pc->iPartition>=nTopicPart ){
    fprintf(stderr, "stream: partition %lld out of range for topic %s "
            "(0..%d)\n", (long long)pc->iPartition, pc->zTopic,
            nTopicPart-1);
    return CLI_ERROR;
  }
  aNext = sqlite3_malloc64(sizeof(sqlite3_int64)*2*nTopicPart
                           + sizeof(int)*nTopicPart);
  if( aNext==0 ) return cliError("out of memory");
  aEnd = &aNext[nTopicPart];
  aPart = (int*)&aEnd[nTopicPart];

  /* Start and end of each partition. */
  rc = cliPrepare1(p,
      "SELECT partition, log_start_offset, high_watermark"
      " FROM stream_partitions WHERE topic = ?1"
      " AND (?2 < 0 OR partition = ?2) ORDER BY partition", pc->zTopic,
      &pStmt);
  if( rc==CLI_OK ){
    sqlite3_bind_int64(pStmt, 2, pc->iPartition);
    while( rc==CLI_OK && nPart<nTopicPart
        && sqlite3_step(pStmt)==SQLITE_ROW ){
      aPart[nPart] = sqlite3_column_int(pStmt, 0);
      aEnd[nPart] = sqlite3_column_int64(pStmt, 2);
      rc = consumeStartOffset(pc, aPart[nPart],
                              sqlite3_column_int64(pStmt, 1), aEnd[nPart],
                              &aNext[nPart]);
      nPart++;
    }
    if( rc==CLI_OK ) rc = cliRc(p, sqlite3_errcode(p->db));
    sqlite3_finalize(pStmt);
    pStmt = 0;
  }
  if( rc==CLI_OK ){
    rc = cliPrepare1(p,
        "SELECT partition, offset, key, value, headers, timestamp"
        " FROM stream_messages WHERE topic = ?1 AND partition = ?2"
        " AND offset >= ?3 AND offset < ?4 ORDER BY offset LIMIT ?5",
        pc->zTopic, &pStmt);
  }
  if( rc==CLI_OK ){
    sqlite3_bind_int64(pStmt, 5, pc->nBatch);
  }
  while( rc==CLI_OK && !cliStop ){
    int nRound = 0, nOpen = 0;
    for(i=0; rc==CLI_OK && i<nPart && !cliStop; i++){
      int nRow = 0;
      sqlite3_int64 iLast = -1;
      if( pc->bExit && aNext[i]>=aEnd[i] ) continue;
      sqlite3_bind_int(pStmt, 2, aPart[i]);
      sqlite3_bind_int64(pStmt, 3, aNext[i]);
      sqlite3_bind_int64(pStmt, 4, pc->bExit ? aEnd[i] : INT64_MAX);
      rc = consumeRows(pc, pStmt, &nRow, &iLast);
      sqlite3_reset(pStmt);
      if( nRow>0 ) aNext[i] = iLast+1;
      /* A short batch reached the end (gaps of compaction included). */
      if( pc->bExit && nRow<pc->nBatch ) aNext[i] = aEnd[i];
      if( pc->bExit && aNext[i]<aEnd[i] ) nOpen++;
      nRound += nRow;
      if( pc->nCount>=0 && pc->nDone>=pc->nCount ) cliStop = 1;
    }
    if( pc->bExit && nOpen==0 ) break;
    if( nRound==0 ){
      consumeNap(nNap);
      if( nNap<16 ) nNap *= 2;
    }else{
      nNap = 1;
    }
  }
  sqlite3_finalize(pStmt);
  sqlite3_free(aNext);
  return rc;
}

/* One group poll: a transaction of poll, print, commit.  *pnRow gets the
** number of messages. */
static int consumeGroupBatch(Consumer *pc, sqlite3_stmt *pPoll,
                             sqlite3_stmt *pCommit, int *pnRow){
  Cli *p = pc->p;
  sqlite3_int64 iLast = 0;
  sqlite3_int64 nMax = pc->nBatch;
  int rc;
  if( pc->nCount>=0 && pc->nCount-pc->nDone<nMax ){
    nMax = pc->nCount-pc->nDone;   /* commit no more than is printed */
  }
  rc = cliExec(p, "BEGIN IMMEDIATE");
  if( rc==CLI_OK ){
    sqlite3_bind_int64(pPoll, 3, nMax);
    rc = consumeRows(pc, pPoll, pnRow, &iLast);
    sqlite3_reset(pPoll);
  }
  /* Commit what was printed; if the reader went away, nothing. */
  if( rc==CLI_OK && !pc->bPipeGone ){
    rc = cliStepDone(p, pCommit);
    sqlite3_reset(pCommit);
    if( rc==CLI_OK ) rc = cliExec(p, "COMMIT");
  }
  if( !sqlite3_get_autocommit(p->db) ){
    sqlite3_exec(p->db, "ROLLBACK", 0, 0, 0);
  }
  return rc;
}

/* With a group: join, poll and commit per batch, leave. */
static int consumeGroup(Consumer *pc){
  Cli *p = pc->p;
  sqlite3_stmt *pPoll = 0, *pCommit = 0, *pWait = 0, *pStmt = 0;
  char *zMember = 0;
  const char *zReset = "latest";
  sqlite3_int64 iLastPoll = 0;
  int rc, nTopicPart = 0, bJoined = 0;

  if( pc->zStart ){
    if( strcmp(pc->zStart, "beginning")==0 ) zReset = "earliest";
    else if( strcmp(pc->zStart, "end")!=0 ){
      return cliUsage(CONSUME_CMD, "with -g, -o is beginning or end "
                      "(auto.offset.reset); the group's committed offsets "
                      "decide otherwise");
    }
  }
  if( pc->iPartition>=0 ){
    return cliUsage(CONSUME_CMD, "-p and -g do not go together: the group "
                    "assigns the partitions");
  }
  rc = cliTopicPartitions(p, pc->zTopic, &nTopicPart);
  if( rc ) return rc;
  zMember = pc->zMember ? sqlite3_mprintf("%s", pc->zMember)
                        : sqlite3_mprintf("sqlite-stream-%d", (int)getpid());
  if( zMember==0 ) return cliError("out of memory");

  rc = cliPrepare(p,
      "SELECT stream_join(?1, ?2, json_array(?3),"
      " json_object('auto.offset.reset', ?4,"
      "             'enable.auto.commit', json('false')))", &pStmt);
  if( rc==CLI_OK ){
    sqlite3_bind_text(pStmt, 1, pc->zGroup, -1, SQLITE_STATIC);
    sqlite3_bind_text(pStmt, 2, zMember, -1, SQLITE_STATIC);
    sqlite3_bind_text(pStmt, 3, pc->zTopic, -1, SQLITE_STATIC);
    sqlite3_bind_text(pStmt, 4, zReset, -1, SQLITE_STATIC);
    rc = cliStepDone(p, pStmt);
    sqlite3_finalize(pStmt);
    pStmt = 0;
    bJoined = rc==CLI_OK;
  }
  if( rc==CLI_OK ){
    rc = cliPrepare(p,
        "SELECT partition, offset, key, value, headers, timestamp"
        " FROM stream_poll(?1, ?2, ?3)", &pPoll);
  }
  if( rc==CLI_OK ){
    rc = cliPrepare(p, "SELECT stream_commit_sync(?1, ?2)", &pCommit);
  }
  if( rc==CLI_OK ){
    rc = cliPrepare(p, "SELECT stream_wait(?1, ?2, 1000)", &pWait);
  }
  if( rc==CLI_OK ){
    sqlite3_stmt *aStmt[3];
    int k;
    aStmt[0] = pPoll; aStmt[1] = pCommit; aStmt[2] = pWait;
    for(k=0; k<3; k++){
      sqlite3_bind_text(aStmt[k], 1, pc->zGroup, -1, SQLITE_STATIC);
      sqlite3_bind_text(aStmt[k], 2, zMember, -1, SQLITE_STATIC);
    }
  }
  while( rc==CLI_OK && !cliStop ){
    int nRow = 0;
    rc = consumeGroupBatch(pc, pPoll, pCommit, &nRow);
    iLastPoll = cliNowMs();
    if( rc || cliStop ) break;
    if( pc->nCount>=0 && pc->nDone>=pc->nCount ) break;
    if( nRow>0 ) continue;
    if( pc->bExit ) break;
    /* Follow: wait outside any transaction; poll at least every 3 s so
    ** that the member stays alive (session and max.poll.interval). */
    while( rc==CLI_OK && !cliStop && cliNowMs()-iLastPoll<3000 ){
      sqlite3_int64 iWait = cliNowMs();
      int nReady = 0;
      if( sqlite3_step(pWait)==SQLITE_ROW ){
        nReady = sqlite3_column_int(pWait, 0);
      }else{
        rc = cliSqlError(p);
      }
      sqlite3_reset(pWait);
      if( nReady>0 ) break;
      /* Without WAL the wait returns at once: do not spin. */
      if( cliNowMs()-iWait<100 ) consumeNap(16);
    }
  }
  sqlite3_finalize(pPoll);
  sqlite3_finalize(pCommit);
  sqlite3_finalize(pWait);
  if( bJoined ){
    int rc2 = cliPrepare(p, "SELECT stream_leave(?1, ?2)", &pStmt);
    if( rc2==CLI_OK ){
      sqlite3_bind_text(pStmt, 1, pc->zGroup, -1, SQLITE_STATIC);
      sqlite3_bind_text(pStmt, 2, zMember, -1, SQLITE_STATIC);
      rc2 = cliStepDone(p, pStmt);
      sqlite3_finalize(pStmt);
    }
    if( rc==CLI_OK ) rc = rc2;
  }
  sqlite3_free(zMember);
  return rc;
}

int cliConsume(Cli *p, int argc, char **argv){
  Consumer c;
  int i, rc = CLI_OK;
  memset(&c, 0, sizeof(c));
  c.p = p;
  c.iPartition = -1;
  c.nCount = -1;
  c.nBatch = 500;
  for(i=1; rc==CLI_OK && i<argc; i++){
    const char *zVal = 0;
    int m = 0;
    if( strcmp(argv[i], "-e")==0 || strcmp(argv[i], "--exit")==0 ){
      c.bExit = 1;
    }else if( strcmp(argv[i], "-f")==0 || strcmp(argv[i], "--follow")==0 ){
      c.bExit = 0;
    }else if( (m = cliOptArg(argc, argv, &i, "-o", "--offset", &zVal)) ){
      c.zStart = zVal;
    }else if( cliOptInt(CONSUME_CMD, argc, argv, &i, "-p", "--partition",
                        0, 2147483647, &c.iPartition, &rc)
           || cliOptInt(CONSUME_CMD, argc, argv, &i, "-c", "--count",
                        0, INT64_MAX, &c.nCount, &rc)
           || cliOptInt(CONSUME_CMD, argc, argv, &i, "-b", "--batch",
                        1, 1000000, &c.nBatch, &rc) ){
      continue;
    }else if( (m = cliOptArg(argc, argv, &i, "-g", "--group", &zVal)) ){
      c.zGroup = zVal;
    }else if( (m = cliOptArg(argc, argv, &i, 0, "--member", &zVal)) ){
      c.zMember = zVal;
    }else if( (m = cliOptArg(argc, argv, &i, "-K", "--key-delimiter",
                             &zVal)) ){
      c.zKeyDelim = zVal;
    }else if( (m = cliOptArg(argc, argv, &i, 0, "--format", &zVal)) ){
      if( m>0 ){
        if( strcmp(zVal, "text")==0 ) c.eFormat = FORMAT_TEXT;
        else if( strcmp(zVal, "json")==0 ) c.eFormat = FORMAT_JSON;
        else if( strcmp(zVal, "tsv")==0 ) c.eFormat = FORMAT_TSV;
        else{
          return cliUsage(CONSUME_CMD,
                          "--format is json, text or tsv, got \"%s\"", zVal);
        }
      }
    }else if( m==0 ){
      rc = cliPositional(CONSUME_CMD, argv[i], &c.zTopic);
    }
    if( m<0 ) return cliUsage(CONSUME_CMD, "%s needs a value", argv[i]);
  }
  if( rc ) return rc;
  if( c.zTopic==0 ) return cliUsage(CONSUME_CMD, "consume needs a TOPIC");
  if( c.zMember && !c.zGroup ){
    return cliUsage(CONSUME_CMD, "--member needs -g GROUP");
  }

  cliCatchSignals();
  rc = c.zGroup ? consumeGroup(&c) : consumeAlone(&c);
  if( c.bPipeGone ) clearerr(stdout);   /* not an error: see main() */
  return rc;
}
