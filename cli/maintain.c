/*
** maintain.c - "sqlite-stream DB maintain|tier|compact": run the
** extension's maintenance now, in steps, with a progress line on a
** terminal (cli/progress.c).
**
**   maintain [TOPIC]          stream_maintain(topic), one topic per step
**   tier [TOPIC]              stream_tier(topic), one topic per step
**   compact TOPIC [PARTITION] stream_compact(topic, partition), one
**                             partition per step
**
** Each step is one SQL call in autocommit mode, so the write lock is held
** for one step at most (stream_tier() commits each segment move on its
** own).  The steps' results, one JSON object per step with the topic (and
** partition) added, are printed at the end, terminal or not.
*/
#include "cli.h"

#include <string.h>

const char cliMaintainHelp[] =
"Usage: sqlite-stream DB maintain [TOPIC]\n"
"\n"
"Runs every due maintenance task (retention, tiering, compaction) of TOPIC\n"
"or of every topic, one topic at a time, with stream_maintain().  Prints\n"
"one JSON summary per topic.  On a terminal a progress line shows topics\n"
"done, messages removed or moved so far, the rate, the elapsed time and an\n"
"estimate of the time left (per topic: a topic is one SQL call).\n";

const char cliTierHelp[] =
"Usage: sqlite-stream DB tier [TOPIC]\n"
"\n"
"Moves the messages outside the hot window of TOPIC (or of every topic) to\n"
"the warm tier (Parquet segments) with stream_tier(), one topic at a time.\n"
"Prints one JSON summary per topic.  On a terminal a progress line shows\n"
"topics done, messages and Parquet bytes moved, the rate, the elapsed time\n"
"and an estimate of the time left (per topic).\n";

const char cliCompactHelp[] =
"Usage: sqlite-stream DB compact TOPIC [PARTITION]\n"
"\n"
"Compacts the partitions of TOPIC (or PARTITION) now with stream_compact(),\n"
"one partition at a time.  Prints {\"topic\", \"partition\", \"removed\"} per\n"
"partition.  On a terminal a progress line shows partitions done, the\n"
"messages and bytes of the partitions compacted so far, the rate, the\n"
"elapsed time and an estimate of the time left (from the messages left).\n";

/* One kind of maintenance run in steps. */
typedef struct MaintainJob MaintainJob;
struct MaintainJob {
  const char *zCmd;        /* command name */
  const char *zUnit;       /* what a step is */
  const char *zSteps;      /* ?1 topic, ?2 partition: rows of (topic,
                           ** partition, rows, bytes) */
  const char *zCall;       /* ?1 topic, ?2 partition: one JSON result */
  const char *zMeasure;    /* ?1 result, ?2 rows, ?3 bytes of the step:
                           ** (rows, bytes) done */
};

static const MaintainJob aJob[] = {
  { "maintain", "topics",
    "SELECT name, NULL, 0, 0 FROM stream_topics"
    " WHERE ?1 IS NULL OR name = ?1 ORDER BY name",
    "SELECT json_patch(json_object('topic', ?1), stream_maintain(?1))",
    "SELECT coalesce(?1->>'$.deleted', 0)"
    " + coalesce(?1->>'$.tiered.messages', 0)"
    " + coalesce(?1->>'$.compacted', 0), 0" },
  { "tier", "topics",
    "SELECT name, NULL, 0, 0 FROM stream_topics"
    " WHERE ?1 IS NULL OR name = ?1 ORDER BY name",
    "SELECT json_patch(json_object('topic', ?1), stream_tier(?1))",
    "SELECT coalesce(?1->>'$.messages', 0), coalesce(?1->>'$.bytes', 0)" },
  { "compact", "partitions",
    "SELECT ?1, s.value, coalesce(p.messages, 0), coalesce(p.bytes, 0)"
    " FROM (SELECT ?2 AS value WHERE ?2 IS NOT NULL"
    "       UNION ALL SELECT partition FROM stream_partitions"
    "       WHERE topic = ?1 AND ?2 IS NULL) s"
    " LEFT JOIN stream_partitions p ON p.topic = ?1"
    "   AND p.partition = s.value ORDER BY 2",
    "SELECT json_object('topic', ?1, 'partition', ?2,"
    " 'removed', stream_compact(?1, ?2))",
    "SELECT ?2, ?3" },
};

/* One step to run. */
typedef struct MaintainStep MaintainStep;
struct MaintainStep {
  char *zTopic;            /* topic */
  sqlite3_int64 iPart;     /* partition, or -1 */
  sqlite3_int64 nRows;     /* rows hint */
  sqlite3_int64 nBytes;    /* bytes hint */
};

/* Bind ?1 topic and ?2 partition (NULL if < 0). */
static void maintainBind(sqlite3_stmt *pStmt, const char *zTopic,
                         sqlite3_int64 iPart){
  sqlite3_bind_text(pStmt, 1, zTopic, -1, SQLITE_STATIC);
  if( iPart>=0 ) sqlite3_bind_int64(pStmt, 2, iPart);
  else sqlite3_bind_null(pStmt, 2);
}

static int maintainRun(Cli *p, const MaintainJob *pJob, const char *zTopic,
                       sqlite3_int64 iPart){
  sqlite3_stmt *pStmt = 0, *pCall = 0, *pMeasure = 0;
  MaintainStep *aStep = 0;
  sqlite3_str *pOut = sqlite3_str_new(0);
  CliProgress prog;
  sqlite3_int64 nTotal = 0;
  int nStep = 0, nAlloc = 0, i, rc, nPart = 0;
  char *zLabel = sqlite3_mprintf("%s %s", pJob->zCmd,
                                 zTopic ? zTopic : "(all topics)");

  rc = zLabel ? CLI_OK : cliError("out of memory");
  if( rc==CLI_OK && zTopic ) rc = cliTopicPartitions(p, zTopic, &nPart);
  if( rc==CLI_OK ) rc = cliPrepare(p, pJob->zSteps, &pStmt);
  if( rc==CLI_OK ){
    maintainBind(pStmt, zTopic, iPart);
    while( rc==CLI_OK && sqlite3_step(pStmt)==SQLITE_ROW ){
      if( nStep>=nAlloc ){
        int nNew = nAlloc ? nAlloc*2 : 16;
        MaintainStep *aNew = sqlite3_realloc64(aStep,
                                               sizeof(MaintainStep)*nNew);
        if( aNew==0 ){ rc = cliError("out of memory"); break; }
        aStep = aNew;
        nAlloc = nNew;
      }
      aStep[nStep].zTopic = sqlite3_mprintf("%s", CLI_TEXT(pStmt, 0));
      aStep[nStep].iPart = sqlite3_column_type(pStmt, 1)==SQLITE_NULL ? -1
                         : sqlite3_column_int64(pStmt, 1);
      aStep[nStep].nRows = sqlite3_column_int64(pStmt, 2);
      aStep[nStep].nBytes = sqlite3_column_int64(pStmt, 3);
      nTotal += aStep[nStep].nRows;
      if( aStep[nStep++].zTopic==0 ) rc = cliError("out of memory");
    }
    if( rc==CLI_OK ) rc = cliRc(p, sqlite3_errcode(p->db));
    sqlite3_finalize(pStmt);
  }
  if( rc==CLI_OK ) rc = cliPrepare(p, pJob->zCall, &pCall);
  if( rc==CLI_OK ) rc = cliPrepare(p, pJob->zMeasure, &pMeasure);
  if( rc==CLI_OK ){
    cliProgressStart(&prog, p, zLabel, pJob->zUnit, nStep,
                     strcmp(pJob->zCmd, "compact")==0 ? nTotal : 0);
    for(i=0; rc==CLI_OK && i<nStep; i++){
      maintainBind(pCall, aStep[i].zTopic, aStep[i].iPart);
      if( sqlite3_step(pCall)!=SQLITE_ROW ){
        cliProgressEnd(&prog);
        rc = cliSqlError(p);
        break;
      }
      sqlite3_str_appendf(pOut, "%s\n", CLI_TEXT(pCall, 0));
      sqlite3_bind_text(pMeasure, 1, CLI_TEXT(pCall, 0), -1,
                        SQLITE_TRANSIENT);
      sqlite3_reset(pCall);
      sqlite3_bind_int64(pMeasure, 2, aStep[i].nRows);
      sqlite3_bind_int64(pMeasure, 3, aStep[i].nBytes);
      if( sqlite3_step(pMeasure)==SQLITE_ROW ){
        cliProgressStep(&prog, sqlite3_column_int64(pMeasure, 0),
                        sqlite3_column_int64(pMeasure, 1));
      }
      rc = cliRc(p, sqlite3_reset(pMeasure));
    }
    cliProgressEnd(&prog);
  }
  if( rc==CLI_OK ){
    if( sqlite3_str_errcode(pOut) ) rc = cliError("out of memory");
    else if( sqlite3_str_length(pOut) ) fputs(sqlite3_str_value(pOut), stdout);
  }
  sqlite3_finalize(pCall);
  sqlite3_finalize(pMeasure);
  for(i=0; i<nStep; i++) sqlite3_free(aStep[i].zTopic);
  sqlite3_free(aStep);
  sqlite3_free(sqlite3_str_finish(pOut));
  sqlite3_free(zLabel);
  return rc;
}

/* Parse [TOPIC] or TOPIC [PARTITION] and run job iJob. */
static int maintainCommand(Cli *p, int argc, char **argv, int iJob){
  const MaintainJob *pJob = &aJob[iJob];
  int bCompact = strcmp(pJob->zCmd, "compact")==0;
  sqlite3_int64 iPart = -1;
  int i;
  for(i=1; i<argc; i++){
    if( argv[i][0]=='-' ){
      return cliUsage(pJob->zCmd, "unknown option %s", argv[i]);
    }
  }
  if( argc>(bCompact ? 3 : 2) || (bCompact && argc<2) ){
    return cliUsage(pJob->zCmd, bCompact ? "compact needs TOPIC [PARTITION]"
                    : "%s takes at most one TOPIC", pJob->zCmd);
  }
  if( argc==3 ){
    int rc = cliParseInt(pJob->zCmd, "PARTITION", argv[2], 0, 2147483647,
                         &iPart);
    if( rc ) return rc;
  }
  return maintainRun(p, pJob, argc>1 ? argv[1] : 0, iPart);
}

int cliMaintain(Cli *p, int argc, char **argv){
  return maintainCommand(p, argc, argv, 0);
}
int cliTier(Cli *p, int argc, char **argv){
  return maintainCommand(p, argc, argv, 1);
}
int cliCompact(Cli *p, int argc, char **argv){
  return maintainCommand(p, argc, argv, 2);
}
