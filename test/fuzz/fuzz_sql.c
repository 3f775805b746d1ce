/*
** fuzz_sql.c - SQL-level libFuzzer target: every stream_* function and
** virtual table, called with arbitrary arguments.
**
**   make fuzz && ./fuzz/fuzz_sql -max_total_time=60 \
**     $(srcdir)/test/fuzz/corpus/sql
**
** Setup (once, LLVMFuzzerInitialize): an in-memory database with the
** engine linked in, a warm store in a fresh temporary directory, topics
** "a" (3 partitions, some messages already tiered to a Parquet segment)
** and "b" (compacted, with a tombstone), a group "g" with member "m" and a
** commit, timestamps of the last minute.  The database is serialized as a template, and the store's files
** are kept in memory.
**
** Each input: a fresh connection gets the template (sqlite3_deserialize)
** and the store directory is put back as it was, so every input starts
** from the same state (member "m" joins again: membership belongs to
** the connection).  The input is then read as a program: a first byte
** of flags (bit 0: run everything inside BEGIN ... COMMIT), then up to 24
** calls, each a byte choosing one of the statements in aCall[] and, per
** parameter, a byte choosing the kind of value: NULL, integers (small,
** edge values, 64 bits from the input), reals (incl. NaN, infinities,
** -0.0), text from a dictionary (topic/group names, hostile names, JSON
** configs, batches, options), text or blob bytes taken from the input
** (invalid UTF-8, NUL bytes), and a zeroblob.  Errors are fine; a crash, a
** sanitizer report, a leak (the connection is closed after each input and
** must close cleanly), or a database that fails "PRAGMA quick_check" is a
** bug.
**
** Partition counts between 1001 and 100000 are left out (the dictionary
** has 1000, 1001 and 100001; an edit of _stream_topics.partitions is
** capped at 1000): stream_maintain() costs about 30 us per partition, so
** a topic of 100000 partitions takes seconds per call (docs/reliability.md)
** and would only make the run slow.
**
** Two things are held back so that a run cannot hurt the machine or hang:
** a warm.store URL given to stream_config() is replaced by one inside the
** temporary directory, and wait_ms arguments are clamped to 2 ms (and
** text containing "block", which could enable a backpressure wait, is
** replaced by '{}').
**
** FUZZ_SQL_TRACE=1 in the environment prints each statement and its
** outcome (to read what an input does).
*/
#ifndef _XOPEN_SOURCE
# define _XOPEN_SOURCE 700
#endif
#include "streamInt.h"
#include "stream.h"
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Statements; ?N are the parameters.  bWait: the last parameter is a wait
** in ms (clamped). */
static const struct FuzzCall {
  const char *zSql;
  int nArg;
  int bWait;
} aCall[] = {
  { "SELECT stream_version()", 0, 0 },
  { "SELECT stream_debug()", 0, 0 },
  { "SELECT stream_murmur2(?1)", 1, 0 },
  { "SELECT stream_partition(?1, ?2)", 2, 0 },
  { "SELECT stream_create_topic(?1, ?2)", 2, 0 },
  { "SELECT stream_create_topic(?1, ?2, ?3)", 3, 0 },
  { "SELECT stream_alter_topic(?1, ?2)", 2, 0 },
  { "SELECT stream_add_partitions(?1, ?2)", 2, 0 },
  { "SELECT stream_delete_topic(?1)", 1, 0 },
  { "SELECT stream_produce(?1, ?2, ?3)", 3, 0 },
  { "SELECT stream_produce(?1, ?2, ?3, ?4)", 4, 0 },
  { "SELECT stream_produce(?1, ?2, ?3, ?4, ?5)", 5, 0 },
  { "SELECT stream_produce_batch(?1, ?2)", 2, 0 },
  { "SELECT stream_commit(?1, ?2, ?3, ?4)", 4, 0 },
  { "SELECT stream_commit(?1, ?2, ?3, ?4, ?5)", 5, 0 },
  { "SELECT stream_commit(?1, ?2, ?3, ?4, ?5, ?6)", 6, 0 },
  { "SELECT stream_config(?1)", 1, 0 },
  { "SELECT stream_config(?1, ?2)", 2, 0 },
  { "SELECT stream_api_ptr(?1), stream_ctx_ptr(?2)", 2, 0 },
  { "SELECT stream_join(?1, ?2, ?3)", 3, 0 },
  { "SELECT stream_join(?1, ?2, ?3, ?4)", 4, 0 },
  { "SELECT stream_heartbeat(?1, ?2)", 2, 0 },
  { "SELECT stream_leave(?1, ?2)", 2, 0 },
  { "SELECT stream_assignment(?1, ?2)", 2, 0 },
  { "SELECT stream_commit_sync(?1, ?2)", 2, 0 },
  { "SELECT stream_seek(?1, ?2, ?3, ?4)", 4, 0 },
  { "SELECT stream_pause(?1, ?2, ?3, ?4)", 4, 0 },
  { "SELECT stream_resume(?1, ?2, ?3, ?4)", 4, 0 },
  { "SELECT stream_offset_for_time(?1, ?2, ?3)", 3, 0 },
  { "SELECT stream_dead_letter(?1, ?2, ?3, ?4, ?5, ?6)", 6, 0 },
  { "SELECT stream_wait(?1, ?2)", 2, 0 },
  { "SELECT stream_wait(?1, ?2, ?3)", 3, 1 },
  { "SELECT * FROM stream_poll(?1, ?2)", 2, 0 },
  { "SELECT * FROM stream_poll(?1, ?2, ?3)", 3, 0 },
  { "SELECT * FROM stream_poll(?1, ?2, ?3, ?4)", 4, 1 },
  { "SELECT stream_maintain()", 0, 0 },
  { "SELECT stream_maintain(?1)", 1, 0 },
  { "SELECT stream_compact(?1)", 1, 0 },
  { "SELECT stream_compact(?1, ?2)", 2, 0 },
  { "SELECT stream_compaction()", 0, 0 },
  { "SELECT stream_compaction(?1)", 1, 0 },
  { "SELECT stream_tier()", 0, 0 },
  { "SELECT stream_tier(?1)", 1, 0 },
  { "SELECT stream_vfs_default(?1)", 1, 0 },
  { "SELECT * FROM stream_messages", 0, 0 },
  { "SELECT * FROM stream_messages WHERE topic=?1", 1, 0 },
  { "SELECT * FROM stream_messages WHERE topic=?1 AND partition=?2"
    " AND offset>=?3 ORDER BY offset LIMIT ?4", 4, 0 },
  { "SELECT * FROM stream_messages WHERE topic=?1 AND partition=?2"
    " ORDER BY offset DESC LIMIT ?3", 3, 0 },
  { "SELECT * FROM stream_messages WHERE topic=?1 AND partition IN (?2,?3)"
    " AND offset BETWEEN ?4 AND ?5", 5, 0 },
  { "SELECT * FROM stream_messages WHERE topic=?1 AND offset=?2", 2, 0 },
  { "SELECT * FROM stream_messages WHERE topic=?1 AND timestamp>=?2"
    " AND timestamp<?3", 3, 0 },
  { "SELECT * FROM stream_messages WHERE partition=?1 AND offset>?2"
    " AND offset<?3 LIMIT ?4 OFFSET ?5", 5, 0 },
  { "INSERT INTO stream_messages(topic, key, value) VALUES(?1, ?2, ?3)",
    3, 0 },
  { "INSERT INTO stream_messages(topic, partition, offset, key, value,"
    " headers, timestamp) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)", 7, 0 },
  { "INSERT INTO stream_messages(topic, key, value, producer_id,"
    " producer_seq) VALUES(?1, ?2, ?3, ?4, ?5)", 5, 0 },
  { "UPDATE stream_messages SET value=?2 WHERE topic=?1", 2, 0 },
  { "DELETE FROM stream_messages WHERE topic=?1", 1, 0 },
  { "SELECT * FROM stream_topics", 0, 0 },
  { "SELECT * FROM stream_topics WHERE name=?1", 1, 0 },
  { "INSERT INTO stream_topics(name, partitions) VALUES(?1, ?2)", 2, 0 },
  { "DELETE FROM stream_topics WHERE name=?1", 1, 0 },
  { "SELECT * FROM stream_partitions", 0, 0 },
  { "SELECT * FROM stream_partitions WHERE topic=?1 AND partition=?2", 2, 0 },
  { "UPDATE stream_partitions SET high_watermark=?2 WHERE topic=?1", 2, 0 },
  { "SELECT * FROM stream_offsets", 0, 0 },
  { "SELECT * FROM stream_offsets WHERE group_id=?1 AND topic=?2"
    " AND partition=?3", 3, 0 },
  { "INSERT INTO stream_offsets(group_id, topic, partition, offset,"
    " metadata) VALUES(?1, ?2, ?3, ?4, ?5)", 5, 0 },
  { "UPDATE stream_offsets SET offset=?1, partition=?2, group_id=?3", 3, 0 },
  { "UPDATE stream_offsets SET topic=?1 WHERE group_id=?2", 2, 0 },
  { "DELETE FROM stream_offsets WHERE partition=?1", 1, 0 },
  { "INSERT INTO stream_txn VALUES(?1)", 1, 0 },
  { "SELECT * FROM stream_txn", 0, 0 },
  { "SELECT * FROM stream_groups", 0, 0 },
  { "SELECT * FROM stream_lag", 0, 0 },
  { "SELECT * FROM stream_lag WHERE group_id=?1 AND topic=?2", 2, 0 },
  { "INSERT INTO stream_groups VALUES(?1, ?2, ?3, ?4, ?5)", 5, 0 },
  { "SELECT * FROM stream_segments", 0, 0 },
  { "SELECT * FROM stream_segments WHERE topic=?1 AND partition=?2", 2, 0 },
  { "DELETE FROM stream_segments", 0, 0 },
  /* The storage tables edited directly, as a hostile or careless
  ** application could: the engine must cope with what it finds. */
  { "UPDATE _stream_segments SET location=?1", 1, 0 },
  { "UPDATE _stream_segments SET first_offset=?1, last_offset=?2", 2, 0 },
  { "UPDATE _stream_partitions SET next_offset=?1 WHERE partition=?2", 2, 0 },
  { "UPDATE _stream_topics SET config=?2 WHERE name=?1", 2, 0 },
  { "UPDATE _stream_topics SET partitions=iif(?2 BETWEEN 1001 AND 100000,"
    " 1000, ?2) WHERE name=?1", 2, 0 },
  { "UPDATE _stream_messages SET value=?1, attrs=?2 WHERE offset=?3", 3, 0 },
  { "UPDATE _stream_meta SET value=?2 WHERE key=?1", 2, 0 },
  { "UPDATE _stream_members SET topics=?1", 1, 0 },
  { "UPDATE _stream_groups SET topic_partitions=?1", 1, 0 },
  { "UPDATE _stream_topics SET compression=?1, cleanup=?2,"
    " timestamp_type=?3", 3, 0 },
  { "UPDATE _stream_assignments SET position=?1, partition=?2", 2, 0 },
  { "UPDATE _stream_members SET options=?1, max_poll_records=?2", 2, 0 },
  { "BEGIN", 0, 0 },
  { "COMMIT", 0, 0 },
  { "ROLLBACK", 0, 0 },
  { "SAVEPOINT s", 0, 0 },
  { "ROLLBACK TO s", 0, 0 },
  { "RELEASE s", 0, 0 },
  { "PRAGMA stream_compact", 0, 0 },
  { "PRAGMA stream_compaction", 0, 0 },
};
#define N_CALL ((int)(sizeof(aCall)/sizeof(aCall[0])))

/* Text values worth trying. */
static const char *azText[] = {
  "a", "b", "nope", "g", "m", "m2", "a.dlq", "", "..", ".", "../x", "a/b",
  "/etc/passwd", "A", "a ", "cdc.topic", "warm.store", "file:///etc",
  "{}", "[]", "null", "1", "-1", "1.5", "\"s\"", "{\"a\":1}",
  "[\"a\",\"b\"]", "[\"a\"]", "[\"nope\"]", "[\"a\",\"a\"]", "[1]",
  "{\"retention.ms\":1}", "{\"retention.ms\":-1}", "{\"retention.ms\":null}",
  "{\"cleanup.policy\":\"compact\"}", "{\"cleanup.policy\":\"compact,delete\"}",
  "{\"compression.type\":\"zstd\"}", "{\"compression.type\":\"gzip\"}",
  "{\"max.message.bytes\":0}", "{\"hot.retention.messages\":0}",
  "{\"hot.retention.ms\":-1}", "{\"retention.bytes\":1}",
  "{\"min.cleanable.dirty.ratio\":0}", "{\"compaction.head.messages\":0}",
  "{\"message.timestamp.type\":\"LogAppendTime\"}",
  "{\"backpressure.max.lag\":0}",
  "{\"strategy\":\"roundrobin\"}", "{\"strategy\":\"sticky\"}",
  "{\"strategy\":\"cooperative-sticky\"}",
  "{\"auto.offset.reset\":\"earliest\"}", "{\"auto.offset.reset\":\"none\"}",
  "{\"enable.auto.commit\":false}", "{\"max.poll.records\":1}",
  "{\"session.timeout.ms\":1}", "{\"fetch.max.bytes\":1}",
  "[{\"key\":\"k\",\"value\":1}]", "[{\"key\":null,\"value\":null}]",
  "[{\"key\":\"k\",\"value\":{},\"partition\":2,\"timestamp\":5}]",
  "[{\"key\":\"k\",\"value\":1,\"producer_id\":\"p\",\"producer_seq\":0}]",
  "[{\"key\":\"k\",\"value\":1,\"headers\":{\"h\":\"v\"}}]",
  "{\"h\":\"v\"}", "{\"h\":1}", "[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]",
  "\xff\xfe", "a\xc0\x80", "\xed\xa0\x80", "k\x01\x7f",
  "orders/partition=0/date=2024-01-01/00000000000000000000-00000000000000000001.parquet",
  "../../../etc/passwd", "a/partition=0/../../x.parquet",
  "0123456789012345678901234567890123456789012345678901234567890123456789"
  "0123456789012345678901234567890123456789012345678901234567890123456789"
  "0123456789012345678901234567890123456789012345678901234567890123456789"
  "0123456789",
};
#define N_TEXT ((int)(sizeof(azText)/sizeof(azText[0])))

static const sqlite3_int64 aInt[] = {
  0, 1, 2, 3, -1, -2, 5, 8, 9, 10, 100, 1000, 1001, 100001, 16384,
  2147483647LL, 2147483648LL, -2147483648LL, -2147483649LL,
  4294967296LL, 9223372036854775807LL, -9223372036854775807LL-1,
  1700000000000LL, 1700000000019LL, 86400000, 1048588, 1048589,
};
#define N_INT ((int)(sizeof(aInt)/sizeof(aInt[0])))

static unsigned char *aTemplate = 0;   /* Serialized setup database */
static sqlite3_int64 nTemplate = 0;
static char zStore[64];                /* Warm store directory */
static char zStoreUrl[96];             /* file://... of zStore */

/* Files of the store after setup, to put back before each input. */
typedef struct FuzzFile FuzzFile;
struct FuzzFile { char *zRel; unsigned char *a; size_t n; };
static FuzzFile *aFile = 0;
static int nFile = 0;

static void fail(const char *zMsg, const char *zDetail){
  fprintf(stderr, "fuzz_sql: %s: %s\n", zMsg, zDetail ? zDetail : "");
  abort();
}

static int saveCb(const char *zPath, const struct stat *st, int eType,
                  struct FTW *pFtw){
  FILE *f;
  FuzzFile *pNew;
  (void)pFtw;
  if( eType!=FTW_F ) return 0;
  pNew = realloc(aFile, sizeof(FuzzFile)*(nFile+1));
  if( pNew==0 ) fail("out of memory", 0);
  aFile = pNew;
  aFile[nFile].zRel = strdup(zPath + strlen(zStore) + 1);
  aFile[nFile].n = (size_t)st->st_size;
  aFile[nFile].a = malloc(aFile[nFile].n + 1);
  if( aFile[nFile].zRel==0 || aFile[nFile].a==0 ) fail("out of memory", 0);
  f = fopen(zPath, "rb");
  if( f==0 || fread(aFile[nFile].a, 1, aFile[nFile].n, f)!=aFile[nFile].n ){
    fail("cannot read", zPath);
  }
  fclose(f);
  nFile++;
  return 0;
}

static int rmCb(const char *zPath, const struct stat *st, int eType,
                struct FTW *pFtw){
  (void)st;
  if( pFtw->level==0 ) return 0;
  if( eType==FTW_DP ) rmdir(zPath); else unlink(zPath);
  return 0;
}

/* Put the store directory back to its state after setup. */
static void storeRestore(void){
  int i;
  nftw(zStore, rmCb, 16, FTW_DEPTH|FTW_PHYS);
  for(i=0; i<nFile; i++){
    char zPath[512];
    char *z;
    FILE *f;
    snprintf(zPath, sizeof(zPath), "%s/%s", zStore, aFile[i].zRel);
    for(z=strchr(zPath+strlen(zStore)+1, '/'); z; z=strchr(z+1, '/')){
      *z = 0;
      mkdir(zPath, 0777);
      *z = '/';
    }
    f = fopen(zPath, "wb");
    if( f==0 || fwrite(aFile[i].a, 1, aFile[i].n, f)!=aFile[i].n ){
      fail("cannot restore", zPath);
    }
    fclose(f);
  }
}

static void execOrDie(sqlite3 *db, const char *zSql){
  char *zErr = 0;
  if( sqlite3_exec(db, zSql, 0, 0, &zErr) ) fail(zSql, zErr);
}

static void cleanup(void){
  int i;
  nftw(zStore, rmCb, 16, FTW_DEPTH|FTW_PHYS);
  rmdir(zStore);
  for(i=0; i<nFile; i++){ free(aFile[i].zRel); free(aFile[i].a); }
  free(aFile);
  sqlite3_free(aTemplate);
}

int LLVMFuzzerInitialize(int *pArgc, char ***pArgv){
  sqlite3 *db = 0;
  char *zSql;
  (void)pArgc; (void)pArgv;
  strcpy(zStore, "/tmp/fuzz_sql.XXXXXX");
  if( mkdtemp(zStore)==0 ) fail("mkdtemp", zStore);
  snprintf(zStoreUrl, sizeof(zStoreUrl), "file://%s", zStore);
  atexit(cleanup);
  if( sqlite3_open(":memory:", &db) || sqlite3_stream_init(db, 0, 0) ){
    fail("setup", sqlite3_errmsg(db));
  }
  zSql = sqlite3_mprintf("SELECT stream_config('warm.store', %Q)", zStoreUrl);
  execOrDie(db, zSql);
  sqlite3_free(zSql);
  execOrDie(db,
    "SELECT stream_create_topic('a', 3,"
    "  '{\"hot.retention.messages\":2,\"hot.retention.ms\":0}');"
    "SELECT stream_create_topic('b', 1,"
    "  '{\"cleanup.policy\":\"compact\",\"compaction.head.messages\":0,"
    "    \"delete.retention.ms\":0}');"
    "WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i+1 FROM c WHERE i<29)"
    " INSERT INTO stream_messages(topic, partition, key, value, headers,"
    "   timestamp)"
    " SELECT 'a', i%3, 'k'||(i%5), json_object('i', i),"
    "   iif(i%4=0, '{\"h\":\"v\"}', NULL), unixepoch()*1000-60000+i FROM c;"
    "WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i+1 FROM c WHERE i<11)"
    " INSERT INTO stream_messages(topic, key, value, timestamp)"
    " SELECT 'b', 'k'||(i%3), iif(i=10, NULL, json_object('i', i)),"
    "   unixepoch()*1000-60000+i FROM c;"
    "SELECT stream_produce('a', x'00ff', x'0102');"
    "SELECT stream_join('g', 'm', '[\"a\",\"b\"]',"
    "  '{\"session.timeout.ms\":86400000}');"
    "SELECT stream_commit('g', 'a', 0, 2, 'meta', 'm');"
    "SELECT stream_tier('a');");
  aTemplate = sqlite3_serialize(db, "main", &nTemplate, 0);
  if( aTemplate==0 ) fail("serialize", 0);
  sqlite3_close(db);
  nftw(zStore, saveCb, 16, FTW_PHYS);
  if( nFile==0 ) fail("setup wrote no warm segment", zStore);
  return 0;
}

/* The input as a byte reader. */
typedef struct Rd Rd;
struct Rd { const uint8_t *a; size_t n, i; };
static int rdByte(Rd *p){ return p->i<p->n ? p->a[p->i++] : 0; }
static int rdEof(Rd *p){ return p->i>=p->n; }

/* Bind parameter iArg of pStmt from the input. */
static void bindArg(sqlite3_stmt *pStmt, int iArg, Rd *p, int bWait,
                    int bConfig){
  int e = rdByte(p);
  switch( e % 12 ){
    case 0: sqlite3_bind_null(pStmt, iArg); break;
    case 1: sqlite3_bind_int(pStmt, iArg, (signed char)rdByte(p)); break;
    case 2: case 3:
      sqlite3_bind_int64(pStmt, iArg, aInt[rdByte(p) % N_INT]);
      break;
    case 4: {
      sqlite3_uint64 u = 0;
      int k;
      for(k=0; k<8; k++) u = (u<<8) | (sqlite3_uint64)rdByte(p);
      sqlite3_bind_int64(pStmt, iArg, (sqlite3_int64)u);
      break;
    }
    case 5: {
      static const double aReal[] = { 0.0, -0.0, 0.5, 1.0, 2.0, 2.5, -1.0,
        1e300, -1e300, 9.3e18, 100000.0, 1700000000000.0 };
      int k = rdByte(p);
      double r;
      if( k==255 ) r = NAN;
      else if( k==254 ) r = INFINITY;
      else if( k==253 ) r = -INFINITY;
      else r = aReal[k % (int)(sizeof(aReal)/sizeof(aReal[0]))];
      sqlite3_bind_double(pStmt, iArg, r);
      break;
    }
    case 6: case 7: case 8: {
      const char *z = azText[rdByte(p) % N_TEXT];
      if( bConfig && strncmp(z, "file:", 5)==0 ) z = zStoreUrl;
      sqlite3_bind_text(pStmt, iArg, z, -1, SQLITE_STATIC);
      break;
    }
    case 9: case 10: {
      /* Raw bytes from the input: text (maybe invalid UTF-8) or blob. */
      size_t n = (size_t)rdByte(p);
      char *z;
      if( n > p->n - p->i ) n = p->n - p->i;
      z = sqlite3_malloc64(n+1);
      if( z==0 ){ sqlite3_bind_null(pStmt, iArg); break; }
      memcpy(z, p->a + p->i, n);
      z[n] = 0;
      p->i += n;
      if( strstr(z, "block") ) memcpy(z, "{}", 3), n = 2;
      if( bConfig && strncmp(z, "file:", 5)==0 ){
        sqlite3_free(z);
        sqlite3_bind_text(pStmt, iArg, zStoreUrl, -1, SQLITE_STATIC);
      }else if( e % 12==9 ){
        sqlite3_bind_text(pStmt, iArg, z, (int)n, sqlite3_free);
      }else{
        sqlite3_bind_blob(pStmt, iArg, z, (int)n, sqlite3_free);
      }
      break;
    }
    default:
      sqlite3_bind_zeroblob(pStmt, iArg, rdByte(p) * 64);
      break;
  }
  if( bWait && e % 12>=1 && e % 12<=5 ){
    /* A number given as a wait: at most 2 ms. */
    sqlite3_bind_int(pStmt, iArg, rdByte(p) % 3);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *aData, size_t nData){
  sqlite3 *db = 0;
  unsigned char *aDb;
  Rd rd;
  int flags, nStep = 0, rc = SQLITE_OK;
  static int bTrace = -1;    /* FUZZ_SQL_TRACE=1: print each statement */

  if( nData>4096 ) return 0;
  if( bTrace<0 ) bTrace = getenv("FUZZ_SQL_TRACE")!=0;
  rd.a = aData; rd.n = nData; rd.i = 0;
  storeRestore();
  if( sqlite3_open(":memory:", &db) || sqlite3_stream_init(db, 0, 0) ){
    fail("open", sqlite3_errmsg(db));
  }
  aDb = sqlite3_malloc64(nTemplate);
  if( aDb==0 ) fail("out of memory", 0);
  memcpy(aDb, aTemplate, nTemplate);
  if( sqlite3_deserialize(db, "main", aDb, nTemplate, nTemplate,
        SQLITE_DESERIALIZE_FREEONCLOSE|SQLITE_DESERIALIZE_RESIZEABLE) ){
    fail("deserialize", sqlite3_errmsg(db));
  }
  /* Group membership lives on the connection: join again. */
  execOrDie(db, "SELECT stream_join('g', 'm', '[\"a\",\"b\"]',"
                "  '{\"session.timeout.ms\":86400000}')");
  flags = rdByte(&rd);
  if( flags & 1 ) sqlite3_exec(db, "BEGIN", 0, 0, 0);
  while( !rdEof(&rd) && nStep++<24 ){
    const struct FuzzCall *pC = &aCall[rdByte(&rd) % N_CALL];
    sqlite3_stmt *pStmt = 0;
    int i, bConfig = strstr(pC->zSql, "stream_config")!=0;
    if( sqlite3_prepare_v2(db, pC->zSql, -1, &pStmt, 0)!=SQLITE_OK ){
      /* Only statements on tables that do not exist may fail here. */
      continue;
    }
    for(i=1; i<=pC->nArg; i++){
      bindArg(pStmt, i, &rd, pC->bWait && i==pC->nArg, bConfig);
    }
    for(i=0; i<1000 && (rc = sqlite3_step(pStmt))==SQLITE_ROW; i++){
      int k;
      for(k=0; k<sqlite3_column_count(pStmt); k++){
        (void)sqlite3_column_bytes(pStmt, k);
      }
    }
    if( bTrace ){
      char *zX = sqlite3_expanded_sql(pStmt);
      fprintf(stderr, "%s\n  -> %d rows, %s\n", zX ? zX : pC->zSql, i,
              rc==SQLITE_DONE ? "done" : sqlite3_errmsg(db));
      sqlite3_free(zX);
    }
    sqlite3_finalize(pStmt);
  }
  if( flags & 1 ) sqlite3_exec(db, "COMMIT", 0, 0, 0);
  {
    sqlite3_stmt *pStmt = 0;
    sqlite3_prepare_v2(db, "PRAGMA quick_check", -1, &pStmt, 0);
    if( sqlite3_step(pStmt)!=SQLITE_ROW
     || strcmp((const char*)sqlite3_column_text(pStmt, 0), "ok")!=0 ){
      fail("quick_check", (const char*)sqlite3_column_text(pStmt, 0));
    }
    sqlite3_finalize(pStmt);
  }
  sqlite3_exec(db, "SELECT stream_vfs_default(0)", 0, 0, 0);
  if( sqlite3_close(db)!=SQLITE_OK ) fail("close", "statements left open");
  return 0;
}
