/*
** main.c - the sqlite-stream command-line tool: global options, opening
** the database, and the table of commands.
**
**   sqlite-stream [--busy-timeout MS] DB COMMAND [ARGS...]
**
** The extension is linked in (libsqlitestream.a) and registered on the
** connection with sqlite3_stream_init(); every command then works through
** the extension's SQL functions and virtual tables (docs/cli.md).
*/
#include "cli.h"
#include "stream.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char cliMainHelp[] =
"Usage: sqlite-stream [OPTIONS] DB COMMAND [ARGS...]\n"
"\n"
"Kafka-style streams in a SQLite database (the sqlite-stream extension).\n"
"\n"
"Commands:\n"
"  topics [create|alter|delete|describe] ...  list and manage topics\n"
"  produce TOPIC      produce messages read from stdin, one per line\n"
"  consume TOPIC      print messages (alone or as a consumer group member)\n"
"  groups [describe|reset-offsets|delete] ...  consumer groups\n"
"  maintain [TOPIC]   run retention, tiering and compaction now\n"
"  tier [TOPIC]       move old messages to the warm (Parquet) tier\n"
"  compact TOPIC [PARTITION]  compact a compacted topic now\n"
"\n"
"Options:\n"
"  --busy-timeout MS  wait up to MS ms for a locked database (default 5000)\n"
"  --version          print the version and exit\n"
"  -h, --help         this help; 'sqlite-stream DB COMMAND --help' for a command\n"
"\n"
"Exit codes: 0 ok, 1 error, 2 usage, 3 database busy.\n";

static const CliCommand aCommand[] = {
  { "topics",   cliTopics,   cliTopicsHelp,   1 },
  { "produce",  cliProduce,  cliProduceHelp,  0 },
  { "consume",  cliConsume,  cliConsumeHelp,  0 },
  { "groups",   cliGroups,   cliGroupsHelp,   0 },
  { "maintain", cliMaintain, cliMaintainHelp, 0 },
  { "tier",     cliTier,     cliTierHelp,     0 },
  { "compact",  cliCompact,  cliCompactHelp,  0 },
};

/* Open zDb (creating it only if bCreate) and register the extension. */
static int cliOpen(Cli *p, int bCreate){
  int flags = SQLITE_OPEN_READWRITE | (bCreate ? SQLITE_OPEN_CREATE : 0);
  char *zErr = 0;
  int rc = sqlite3_open_v2(p->zDb, &p->db, flags, 0);
  if( rc!=SQLITE_OK ){
    fprintf(stderr, "%s: %s\n", p->zDb,
            p->db ? sqlite3_errmsg(p->db) : "out of memory");
    return CLI_ERROR;
  }
  sqlite3_busy_timeout(p->db, p->nBusyTimeout);
  rc = sqlite3_stream_init(p->db, &zErr, 0);
  if( rc!=SQLITE_OK ){
    fprintf(stderr, "%s\n", zErr ? zErr : sqlite3_errstr(rc));
    sqlite3_free(zErr);
    return CLI_ERROR;
  }
  /* Fail early, in SQLite's words, on a file that is not a database. */
  return cliExec(p, "SELECT count(*) FROM sqlite_schema");
}

int main(int argc, char **argv){
  Cli cli;
  const CliCommand *pCmd = 0;
  int i, rc;
  size_t k;

  memset(&cli, 0, sizeof(cli));
  cli.nBusyTimeout = 5000;
  cli.bTty = isatty(1);
  signal(SIGPIPE, SIG_IGN);   /* a closed pipe is a write error, handled */

  for(i=1; i<argc && argv[i][0]=='-'; i++){
    const char *zVal = 0;
    int m;
    if( strcmp(argv[i], "-h")==0 || strcmp(argv[i], "--help")==0 ){
      fputs(cliMainHelp, stdout);
      return CLI_OK;
    }
    if( strcmp(argv[i], "--version")==0 ){
      printf("sqlite-stream %s (SQLite %s)\n", SQLITE_STREAM_VERSION,
             sqlite3_libversion());
      return CLI_OK;
    }
    m = cliOptArg(argc, argv, &i, 0, "--busy-timeout", &zVal);
    if( m<0 ) return cliUsage(0, "--busy-timeout needs a value");
    if( m>0 ){
      sqlite3_int64 v;
      rc = cliParseInt(0, "--busy-timeout", zVal, 0, 2147483647, &v);
      if( rc ) return rc;
      cli.nBusyTimeout = (int)v;
      continue;
    }
    return cliUsage(0, "unknown option %s", argv[i]);
  }
  if( i+2>argc ){
    if( i+1==argc ) return cliUsage(0, "no command after %s", argv[i]);
    return cliUsage(0, "no database given");
  }
  cli.zDb = argv[i];
  for(k=0; k<sizeof(aCommand)/sizeof(aCommand[0]); k++){
    if( strcmp(argv[i+1], aCommand[k].zName)==0 ) pCmd = &aCommand[k];
  }
  if( pCmd==0 ) return cliUsage(0, "unknown command \"%s\"", argv[i+1]);
  argc -= i+1;
  argv += i+1;
  if( cliWantsHelp(argc, argv, pCmd->zHelp) ) return CLI_OK;

  /* Only "topics create" may create a new database file. */
  rc = cliOpen(&cli, pCmd->bCreate && argc>1 && strcmp(argv[1], "create")==0);
  if( rc==CLI_OK ) rc = pCmd->xRun(&cli, argc, argv);
  /* A reader that closed the pipe early (consume | head) is not an
  ** error; any other failure to write is. */
  if( rc==CLI_OK && cliOutputFailed() && errno!=EPIPE ){
    rc = cliError("cannot write to standard output");
  }
  if( sqlite3_close(cli.db)!=SQLITE_OK && rc==CLI_OK ){
    rc = cliSqlError(&cli);
  }
  return rc;
}
