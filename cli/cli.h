/*
** cli.h - internal header of the sqlite-stream command-line tool.
**
** The tool (the files of cli/, one concern per file) is a client of the extension's
** SQL interface only: it links libsqlitestream.a, calls
** sqlite3_stream_init() on its connection and then runs the stream_*
** functions and virtual tables through the public sqlite3 API, as any
** application would.  Nothing here includes the engine's internal header.
**
** Exit codes (docs/cli.md): CLI_OK 0, CLI_ERROR 1, CLI_USAGE 2, CLI_BUSY 3.
*/
#ifndef SQLITE_STREAM_CLI_H
#define SQLITE_STREAM_CLI_H

#include <signal.h>
#include <stdio.h>
#include "sqlite3.h"

#define CLI_OK     0   /* success */
#define CLI_ERROR  1   /* an error reported by SQLite or the extension */
#define CLI_USAGE  2   /* bad command line */
#define CLI_BUSY   3   /* the database stayed locked past --busy-timeout */

/* Text value of column i of pStmt, never NULL. */
#define CLI_TEXT(pStmt, i) \
  ((const char*)(sqlite3_column_text((pStmt), (i)) ? \
   (const char*)sqlite3_column_text((pStmt), (i)) : ""))

typedef struct Cli Cli;
struct Cli {
  sqlite3 *db;             /* the connection, extension registered */
  const char *zDb;         /* database file name, as given */
  int nBusyTimeout;        /* --busy-timeout in ms */
  int bTty;                /* stdout is a terminal (progress output) */
};

/* A command: its name, its entry point, its --help text. */
typedef struct CliCommand CliCommand;
struct CliCommand {
  const char *zName;                               /* e.g. "produce" */
  int (*xRun)(Cli*, int argc, char **argv);        /* argv[0] is zName */
  const char *zHelp;                               /* printed by --help */
  int bCreate;                                     /* may create the DB */
};

/* Interface to code in cli/util.c: errors, options, SQL helpers, JSON. */
int cliUsage(const char *zCmd, const char *zFmt, ...);
int cliError(const char *zFmt, ...);
int cliSqlError(Cli *p);
int cliRc(Cli *p, int rc);
int cliWantsHelp(int argc, char **argv, const char *zHelp);
int cliOptArg(int argc, char **argv, int *pi, const char *zShort,
              const char *zLong, const char **pzVal);
int cliParseInt(const char *zCmd, const char *zOpt, const char *z,
                sqlite3_int64 iMin, sqlite3_int64 iMax, sqlite3_int64 *piOut);
int cliPositional(const char *zCmd, const char *zArg, const char **pzSlot);
int cliOptInt(const char *zCmd, int argc, char **argv, int *pi,
              const char *zShort, const char *zLong, sqlite3_int64 iMin,
              sqlite3_int64 iMax, sqlite3_int64 *piOut, int *pRc);
int cliPrepare(Cli *p, const char *zSql, sqlite3_stmt **ppStmt);
int cliPrepare1(Cli *p, const char *zSql, const char *z1,
                sqlite3_stmt **ppStmt);
int cliQueryTable(Cli *p, const char *zSql, const char *z1, int bHeader,
                  int *pnRow);
int cliExec(Cli *p, const char *zSql);
int cliStepDone(Cli *p, sqlite3_stmt *pStmt);
int cliTopicPartitions(Cli *p, const char *zTopic, int *pnPart);
void cliJsonString(FILE *out, const char *z, int n);
void cliJsonBytes(FILE *out, const unsigned char *a, int n);
int cliUtf8Valid(const unsigned char *a, int n);
sqlite3_int64 cliNowMs(void);
int cliParseTime(const char *z, sqlite3_int64 *piMs);
int cliOutputFailed(void);
extern volatile sig_atomic_t cliStop;
void cliCatchSignals(void);
int cliPrintTable(Cli *p, sqlite3_stmt *pStmt, int bHeader, int *pnRow);

/* Interface to code in cli/topics.c */
int cliTopics(Cli*, int, char**);
extern const char cliTopicsHelp[];

/* Interface to code in cli/produce.c */
int cliProduce(Cli*, int, char**);
extern const char cliProduceHelp[];

/* Interface to code in cli/consume.c */
int cliConsume(Cli*, int, char**);
extern const char cliConsumeHelp[];

/* Interface to code in cli/groups.c */
int cliGroups(Cli*, int, char**);
extern const char cliGroupsHelp[];

/* Interface to code in cli/maintain.c */
int cliMaintain(Cli*, int, char**);
int cliTier(Cli*, int, char**);
int cliCompact(Cli*, int, char**);
extern const char cliMaintainHelp[];
extern const char cliTierHelp[];
extern const char cliCompactHelp[];

/* Interface to code in cli/progress.c: a one-line progress display,
** redrawn in place on a terminal, nothing at all otherwise. */
typedef struct CliProgress CliProgress;
struct CliProgress {
  sqlite3 *db;             /* connection with the progress handler */
  int bOn;                 /* drawing (stdout is a terminal) */
  int bDrawn;              /* a line is on screen, to be ended */
  const char *zWhat;       /* label, e.g. "compact orders" */
  const char *zUnit;       /* what a step is, e.g. "partitions" */
  sqlite3_int64 iStart;    /* start time, ms */
  sqlite3_int64 iLast;     /* last redraw, ms */
  sqlite3_int64 nStep;     /* steps done */
  sqlite3_int64 nSteps;    /* steps in all */
  sqlite3_int64 nRows;     /* rows done */
  sqlite3_int64 nBytes;    /* bytes done */
  sqlite3_int64 nTotal;    /* rows expected, or 0 if unknown */
};
void cliProgressStart(CliProgress*, Cli*, const char *zWhat,
                      const char *zUnit, sqlite3_int64 nSteps,
                      sqlite3_int64 nTotal);
void cliProgressStep(CliProgress*, sqlite3_int64 nRows,
                     sqlite3_int64 nBytes);
void cliProgressEnd(CliProgress*);

#endif /* SQLITE_STREAM_CLI_H */
