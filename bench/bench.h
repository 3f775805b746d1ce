/*
** bench.h - shared declarations of the benchmarks in bench/: the
** utilities in bench_util.c (linked by every benchmark program), and for
** the comparative benchmark driver (bench/streambench) the interface
** every compared system implements (bench_sqlite.c, bench_redis.c,
** bench_pg.c).  The workloads live in bench_main.c.
**
** A system is driven through a BenchSys: a table of methods (BenchOps)
** and the state of one connection.  Every workload is written once
** against that interface, so that each system does exactly the same work:
**
**   xOpen       connect; with bFresh, drop everything and create an empty
**               topic of nPart partitions first
**   xDurable    relaxed (0) or durable (1) commits for this connection
**   xProduce    produce a batch of messages as one transaction/pipeline
**   xConsume    one poll of a consumer group on one partition: read up to
**               nMax messages after the group's position, commit/ack/delete
**               them, hand each value to a callback; returns the count
**   xPointRead  read one message by partition and offset
**   xBytes      bytes the store occupies (file, memory or relation size)
**   xServerCpu  CPU-seconds used so far by the server's processes (0 for
**               in-process systems: their CPU is the driver's own)
*/
#ifndef BENCH_H
#define BENCH_H

#ifndef _GNU_SOURCE
# define _GNU_SOURCE   /* clock_nanosleep, drand48, usleep with -std=c11 */
#endif

#include <sys/types.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

typedef long long i64;

/* One message to produce. */
typedef struct BenchMsg BenchMsg;
struct BenchMsg {
  const char *zKey;  /* Key text */
  int nKey;          /* Bytes in zKey */
  const char *zVal;  /* JSON value */
  int nVal;          /* Bytes in zVal */
  int iPart;         /* Partition (murmur2 of the key, computed by caller) */
};

/* Called for every consumed message. */
typedef void (*BenchRecvFn)(void *pArg, const char *zVal, int nVal);

typedef struct BenchSys BenchSys;
typedef struct BenchOps BenchOps;

struct BenchOps {
  void (*xOpen)(BenchSys*, int bFresh, int nPart);
  void (*xClose)(BenchSys*);
  void (*xDurable)(BenchSys*, int bDurable);
  void (*xProduce)(BenchSys*, const BenchMsg *aMsg, int nMsg);
  int (*xConsume)(BenchSys*, const char *zGroup, int iPart, int nMax,
                  BenchRecvFn xRecv, void *pArg);
  void (*xPointRead)(BenchSys*, int iPart, i64 iOffset);
  i64 (*xBytes)(BenchSys*);
  double (*xServerCpu)(BenchSys*);
};

/* Kinds of system. */
#define BENCH_STREAM 1   /* sqlite-stream through its SQL functions */
#define BENCH_RAW    2   /* raw SQLite, the seed's schema */
#define BENCH_REDIS  3   /* Redis Streams through hiredis */
#define BENCH_PG     4   /* PostgreSQL queue table through libpq */

/* PostgreSQL consume patterns. */
#define BENCH_PG_DELETE  0  /* SELECT ... FOR UPDATE SKIP LOCKED + DELETE */
#define BENCH_PG_OFFSETS 1  /* offset table per group */

/* Consumer positions kept by a connection (group, partition -> next). */
#define BENCH_MAX_POS 64
typedef struct BenchPos BenchPos;
struct BenchPos {
  char zGroup[48];   /* Consumer group */
  int iPart;         /* Partition */
  i64 iNext;         /* Next offset to read */
};

struct BenchSys {
  const BenchOps *pOps;   /* Methods */
  int eKind;              /* BENCH_STREAM, ... */
  const char *zName;      /* Row label in the report */
  const char *zSettings;  /* Settings shown in the report */
  int eMode;              /* BENCH_PG_DELETE or _OFFSETS (PostgreSQL) */
  int nPart;              /* Partitions of the current topic */
  int bDurable;           /* Current durability */
  /* SQLite (stream and raw) */
  char zPath[512];        /* Database file */
  const char *zExt;       /* Extension path (stream) */
  int bPoll;              /* stream: consume with stream_poll() */
  int iCommitMs;          /* commit at most every iCommitMs (0: each poll) */
  double tLastCommit;     /* time of the last commit (benchNow()) */
  int bCommitDue;         /* a commit was skipped by iCommitMs */
  void *db;               /* sqlite3* */
  void *pIns, *pRead, *pCommit, *pPoint, *pPoll; /* sqlite3_stmt* */
  i64 aNext[64];          /* raw: next offset per partition */
  /* Redis */
  const char *zHost;      /* Host (127.0.0.1) */
  int iPort;              /* Port */
  void *pRedis;           /* redisContext* */
  pid_t redisPid;         /* Server pid (from INFO) */
  int iBlockMs;           /* XREADGROUP BLOCK (0: do not block) */
  i64 iBaseBytes;         /* used_memory of the empty server */
  /* PostgreSQL */
  const char *zConninfo;  /* libpq connection string */
  const char *zPidFile;   /* postmaster.pid */
  int bNotify;            /* produce: NOTIFY bench in the same statement */
  void *pPg;              /* PGconn* */
  int aPrepared[8];       /* batch sizes with a prepared INSERT */
  int nPrepared;
  /* Consumer positions */
  BenchPos aPos[BENCH_MAX_POS];
  int nPos;
};

/* Interface to bench_util.c */
double benchNow(void);
i64 benchNowNs(void);
void benchSleepUntil(double t);
double benchSelfCpu(void);
double benchPidCpu(pid_t pid);
double benchTreeCpu(pid_t root);
int benchMurmur2(const unsigned char *d, int n);
int benchPartition(const char *zKey, int nKey, int nPart);
int benchMakeValue(char *z, int nSize, i64 iId, i64 tsNs);
i64 benchValueTs(const char *zVal, int nVal);
double benchMedian(double *a, int n);
double benchPercentile(double *aSorted, int n, double p);
void benchSortD(double *a, int n);
int benchCmpDouble(const void *a, const void *b);
/* SQLite helpers (sqlite3*): exit with the message on failure. */
void benchExec(sqlite3 *db, const char *zSql);
void benchCheck(sqlite3 *db, int rc, const char *zWhat);
void benchLoadExt(sqlite3 *db, const char *zExt);
/* Raw SQLite: the seed's table of messages, as written in the seed. */
#define BENCH_SEED_DDL \
  "CREATE TABLE stream_messages(" \
  " topic TEXT NOT NULL, partition INTEGER NOT NULL," \
  " offset INTEGER NOT NULL, key TEXT, value JSON NOT NULL," \
  " headers JSON, timestamp INTEGER NOT NULL," \
  " PRIMARY KEY (topic, partition, offset));" \
  "CREATE INDEX idx_messages_topic" \
  " ON stream_messages(topic, partition, timestamp);"
/* The engine benchmarks' payload and command line. */
int benchValue100(char *z, int i);
const char *benchEngineArgs(int argc, char **argv, int *pbQuick,
                            char *zDir, int nDir, const char *zUsage,
                            int (*xOpt)(const char *zOpt, const char *zVal));
void benchFatal(const char *zFmt, ...);
/* Shared by bench_tier.c, bench_s3.c and bench_cold.c. */
long long benchInt1(sqlite3 *db, const char *zSql);
double benchProduceBatched(sqlite3 *db, const char *zTopic, int n,
                           int (*xValue)(char *z, int i));
double benchDuckdb(const char *zInterop, const char *zQuery,
                   long long *pN, long long *pSum);
BenchPos *benchPos(BenchSys *p, const char *zGroup, int iPart, int *pbNew);

/* Interface to bench_sqlite.c, bench_redis.c, bench_pg.c */
extern const BenchOps benchSqliteOps;
extern const BenchOps benchRedisOps;
extern const BenchOps benchPgOps;
void benchPgFill(BenchSys *p, i64 n, const char *zVal);
void benchPgTruncate(BenchSys *p);

#endif /* BENCH_H */
