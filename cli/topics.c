/*
** topics.c - "sqlite-stream DB topics ...": list, create, alter, delete
** and describe topics, as kafka-topics.sh does.
**
**   topics                                   stream_topics + stream_partitions
**   topics create NAME [-p N] [-c K=V]...    stream_create_topic()
**   topics alter NAME [-p N] [-c K=V]... [-d K]...
**                                            stream_alter_topic(),
**                                            stream_add_partitions()
**   topics delete NAME                       stream_delete_topic()
**   topics describe NAME                     stream_partitions, stream_segments
*/
#include "cli.h"

#include <stdlib.h>
#include <string.h>

const char cliTopicsHelp[] =
"Usage: sqlite-stream DB topics\n"
"       sqlite-stream DB topics create NAME [-p PARTITIONS] [-c KEY=VALUE]...\n"
"       sqlite-stream DB topics alter NAME [-p PARTITIONS] [-c KEY=VALUE]...\n"
"                                          [-d KEY]...\n"
"       sqlite-stream DB topics delete NAME\n"
"       sqlite-stream DB topics describe NAME\n"
"\n"
"Without a subcommand, lists the topics: partitions, messages, bytes and\n"
"the configuration overrides.\n"
"\n"
"  create    creates a topic (and the database file, in WAL mode, if it\n"
"            does not exist); -p defaults to 1\n"
"  alter     merges -c settings into the topic's configuration; -d KEY\n"
"            puts KEY back to its default; -p N grows the topic to N\n"
"            partitions\n"
"  delete    deletes the topic, its messages and committed offsets\n"
"  describe  one line per partition: log start offset, high watermark,\n"
"            first offset in the hot tier, messages, bytes, warm segments\n"
"\n"
"  -p, --partitions N        number of partitions\n"
"  -c, --config KEY=VALUE    a topic setting (repeatable), e.g.\n"
"                            -c retention.ms=86400000 -c cleanup.policy=compact\n"
"  -d, --delete-config KEY   (alter) reset KEY to its default (repeatable)\n";

#define TOPICS_CMD "topics"

/* Settings gathered from -c and -d, as one JSON object. */
typedef struct TopicArgs TopicArgs;
struct TopicArgs {
  const char *zName;       /* topic name */
  sqlite3_int64 nPart;     /* -p, or 0 */
  sqlite3_str *pConfig;    /* JSON object text under construction */
  int nConfig;             /* keys added */
};

/* Add "KEY":VALUE (VALUE a JSON string, or null if zVal is NULL). */
static void topicAddConfig(TopicArgs *pArgs, const char *zKey, int nKey,
                           const char *zVal){
  sqlite3_str_appendall(pArgs->pConfig, pArgs->nConfig ? "," : "{");
  sqlite3_str_appendf(pArgs->pConfig, "\"%.*w\":", nKey, zKey);
  if( zVal ){
    sqlite3_str_appendf(pArgs->pConfig, "\"%w\"", zVal);
  }else{
    sqlite3_str_appendall(pArgs->pConfig, "null");
  }
  pArgs->nConfig++;
}

/* Parse NAME and the options of create/alter (argv[0] is the verb). */
static int topicParseArgs(int argc, char **argv, int bAlter, TopicArgs *pA){
  int i, rc = CLI_OK;
  for(i=1; rc==CLI_OK && i<argc; i++){
    const char *zVal = 0;
    int m;
    if( cliOptInt(TOPICS_CMD, argc, argv, &i, "-p", "--partitions", 1,
                  2147483647, &pA->nPart, &rc) ){
      continue;
    }else if( (m = cliOptArg(argc, argv, &i, "-c", "--config", &zVal))!=0 ){
      const char *zEq;
      if( m<0 ) return cliUsage(TOPICS_CMD, "%s needs KEY=VALUE", argv[i]);
      zEq = strchr(zVal, '=');
      if( zEq==0 || zEq==zVal ){
        return cliUsage(TOPICS_CMD, "--config needs KEY=VALUE, got \"%s\"",
                        zVal);
      }
      topicAddConfig(pA, zVal, (int)(zEq-zVal), zEq+1);
    }else if( bAlter
           && (m = cliOptArg(argc, argv, &i, "-d", "--delete-config",
                             &zVal))!=0 ){
      if( m<0 ) return cliUsage(TOPICS_CMD, "%s needs a KEY", argv[i]);
      topicAddConfig(pA, zVal, (int)strlen(zVal), 0);
    }else{
      rc = cliPositional(TOPICS_CMD, argv[i], &pA->zName);
    }
  }
  if( rc==CLI_OK && pA->zName==0 ){
    rc = cliUsage(TOPICS_CMD, "topics %s needs a topic name", argv[0]);
  }
  if( rc==CLI_OK ){
    sqlite3_str_appendall(pA->pConfig, pA->nConfig ? "}" : "{}");
  }
  return rc;
}

/* Step a statement whose ?1 is the topic name and finalize it. */
static int topicRun(Cli *p, sqlite3_stmt *pStmt, const TopicArgs *pA){
  int rc;
  sqlite3_bind_text(pStmt, 1, pA->zName, -1, SQLITE_STATIC);
  rc = cliStepDone(p, pStmt);
  sqlite3_finalize(pStmt);
  return rc;
}

/*
** create: stream_create_topic(name, partitions, config), WAL if new.
** alter: stream_alter_topic(name, config) and stream_add_partitions(name,
** n) in one transaction, so that a bad setting changes nothing.
*/
static int topicCreateOrAlter(Cli *p, int argc, char **argv, int bAlter){
  TopicArgs a;
  sqlite3_stmt *pStmt = 0;
  const char *zConfig;
  int rc;
  memset(&a, 0, sizeof(a));
  a.pConfig = sqlite3_str_new(0);
  rc = topicParseArgs(argc, argv, bAlter, &a);
  zConfig = sqlite3_str_value(a.pConfig);
  if( rc==CLI_OK && zConfig==0 ) rc = cliError("out of memory");
  if( rc==CLI_OK && !bAlter ){
    /* A new (empty) database goes to WAL, which lets consumers read while
    ** a producer writes (README); an existing one keeps its journal mode. */
    rc = cliPrepare(p, "SELECT count(*) FROM sqlite_schema", &pStmt);
    if( rc==CLI_OK ){
      int bEmpty = sqlite3_step(pStmt)==SQLITE_ROW
                && sqlite3_column_int(pStmt, 0)==0;
      rc = cliRc(p, sqlite3_finalize(pStmt));
      if( rc==CLI_OK && bEmpty ) rc = cliExec(p, "PRAGMA journal_mode=WAL");
    }
    if( rc==CLI_OK ){
      rc = cliPrepare(p, "SELECT stream_create_topic(?1, ?2, ?3)", &pStmt);
    }
    if( rc==CLI_OK ){
      sqlite3_bind_int64(pStmt, 2, a.nPart ? a.nPart : 1);
      sqlite3_bind_text(pStmt, 3, zConfig, -1, SQLITE_STATIC);
      rc = topicRun(p, pStmt, &a);
    }
    if( rc==CLI_OK ) printf("Created topic %s.\n", a.zName);
  }else if( rc==CLI_OK ){
    if( a.nConfig==0 && a.nPart==0 ){
      rc = cliUsage(TOPICS_CMD, "topics alter needs -c, -d or -p");
    }
    if( rc==CLI_OK ) rc = cliExec(p, "BEGIN IMMEDIATE");
    if( rc==CLI_OK && a.nConfig ){
      rc = cliPrepare(p, "SELECT stream_alter_topic(?1, ?2)", &pStmt);
      if( rc==CLI_OK ){
        sqlite3_bind_text(pStmt, 2, zConfig, -1, SQLITE_STATIC);
        rc = topicRun(p, pStmt, &a);
      }
    }
    if( rc==CLI_OK && a.nPart ){
      rc = cliPrepare(p, "SELECT stream_add_partitions(?1, ?2)", &pStmt);
      if( rc==CLI_OK ){
        sqlite3_bind_int64(pStmt, 2, a.nPart);
        rc = topicRun(p, pStmt, &a);
      }
    }
    if( rc==CLI_OK ) rc = cliExec(p, "COMMIT");
    if( rc!=CLI_OK && !sqlite3_get_autocommit(p->db) ){
      sqlite3_exec(p->db, "ROLLBACK", 0, 0, 0);
    }
    if( rc==CLI_OK ) printf("Altered topic %s.\n", a.zName);
  }
  sqlite3_free(sqlite3_str_finish(a.pConfig));
  return rc;
}

/* delete NAME */
static int topicDelete(Cli *p, int argc, char **argv){
  sqlite3_stmt *pStmt = 0;
  int rc;
  if( argc!=2 || argv[1][0]=='-' ){
    return cliUsage(TOPICS_CMD, "topics delete needs exactly one topic name");
  }
  rc = cliPrepare(p, "SELECT stream_delete_topic(?1)", &pStmt);
  if( rc ) return rc;
  sqlite3_bind_text(pStmt, 1, argv[1], -1, SQLITE_STATIC);
  rc = cliStepDone(p, pStmt);
  sqlite3_finalize(pStmt);
  if( rc==CLI_OK ) printf("Deleted topic %s.\n", argv[1]);
  return rc;
}

/* describe NAME: the topic line, then one row per partition. */
static int topicDescribe(Cli *p, int argc, char **argv){
  int rc, nPart = 0;
  if( argc!=2 || argv[1][0]=='-' ){
    return cliUsage(TOPICS_CMD, "topics describe needs exactly one topic name");
  }
  rc = cliTopicPartitions(p, argv[1], &nPart);
  if( rc==CLI_OK ){
    rc = cliQueryTable(p,
        "SELECT 'Topic: ' || name || '  Partitions: ' || partitions"
        " || '  Config: ' || overrides FROM stream_topics WHERE name = ?1",
        argv[1], 0, 0);
  }
  if( rc==CLI_OK ){
    rc = cliQueryTable(p,
        "SELECT p.partition, p.log_start_offset AS log_start,"
        " p.high_watermark, p.hot_start_offset AS hot_start, p.messages,"
        " p.bytes,"
        " (SELECT count(*) FROM stream_segments s WHERE s.topic = p.topic"
        "   AND s.partition = p.partition) AS warm_segments,"
        " CASE WHEN p.hot_start_offset > p.log_start_offset"
        "   AND p.hot_start_offset < p.high_watermark THEN 'warm+hot'"
        "   WHEN p.hot_start_offset > p.log_start_offset THEN 'warm'"
        "   WHEN p.messages > 0 THEN 'hot' ELSE 'empty' END AS tiers"
        " FROM stream_partitions p WHERE p.topic = ?1 ORDER BY p.partition",
        argv[1], 1, 0);
  }
  return rc;
}

/* topics: the list. */
static int topicList(Cli *p){
  return cliQueryTable(p,
      "SELECT t.name AS topic, t.partitions,"
      " coalesce(sum(p.messages), 0) AS messages,"
      " coalesce(sum(p.bytes), 0) AS bytes, t.overrides AS config"
      " FROM stream_topics t LEFT JOIN stream_partitions p"
      "   ON p.topic = t.name GROUP BY t.name ORDER BY t.name", 0, 1, 0);
}

int cliTopics(Cli *p, int argc, char **argv){
  if( argc<2 ) return topicList(p);
  if( strcmp(argv[1], "create")==0 ){
    return topicCreateOrAlter(p, argc-1, argv+1, 0);
  }
  if( strcmp(argv[1], "alter")==0 ){
    return topicCreateOrAlter(p, argc-1, argv+1, 1);
  }
  if( strcmp(argv[1], "delete")==0 ) return topicDelete(p, argc-1, argv+1);
  if( strcmp(argv[1], "describe")==0 ){
    return topicDescribe(p, argc-1, argv+1);
  }
  if( strcmp(argv[1], "list")==0 && argc==2 ) return topicList(p);
  return cliUsage(TOPICS_CMD, "unknown topics subcommand \"%s\"", argv[1]);
}
