/*
** test_iceberg.c - unit tests of ext/avro.c, ext/iceberg.c and the
** create-only commit of the local store (xPutCommitNew).
**
**   ./test_iceberg        # last line "N passed, N failed"
**
** Avro values round trip through the encoder and the decoder; the decoder
** fails cleanly on every truncation and on corrupted bytes; xPutCommitNew
** refuses an existing key and leaves it untouched; two writers that
** append to one table from the same version conflict on
** vN+1.metadata.json, and the second reloads, rebases on the first and
** commits v(N+2) with both data files (or stops when its check refuses).
** Snapshot expiry keeps the current snapshot, the minimum count and the
** chain back to the owner's last commit, expires the oldest first within
** its bound, and names the files only the expired snapshots reached;
** the walk to the owner's commit reports a chain cut by expiry; the
** orphan listing finds a stray file and the old metadata versions.
*/
#include "streamInt.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int nPass = 0;
static int nFail = 0;

#define CHECK(cond, ...) do{                                    \
  if( cond ){ nPass++; }else{                                   \
    nFail++; printf("FAIL %s:%d: ", __FILE__, __LINE__);        \
    printf(__VA_ARGS__); printf("\n");                          \
  }                                                             \
}while(0)

static const char zSchema[] =
  "{\"type\":\"record\",\"name\":\"r\",\"fields\":["
  "{\"name\":\"a\",\"type\":\"long\",\"field-id\":1},"
  "{\"name\":\"b\",\"type\":[\"null\",\"string\"],\"field-id\":2},"
  "{\"name\":\"c\",\"type\":{\"type\":\"array\",\"items\":\"bytes\"},"
  "\"field-id\":3},"
  "{\"name\":\"d\",\"type\":{\"type\":\"map\",\"values\":\"int\"},"
  "\"field-id\":4},"
  "{\"name\":\"e\",\"type\":\"boolean\",\"field-id\":5}]}";

static void testAvro(void){
  const char *azRec[] = {
    "{\"a\":-9007199254740991,\"b\":null,\"c\":[],\"d\":{},\"e\":false}",
    "{\"a\":42,\"b\":\"h\\u00e9\",\"c\":[\"00ff\",\"\"],"
    "\"d\":{\"x\":-1,\"y\":2147483647},\"e\":true}",
  };
  const char *azMeta[] = { "format-version", "2", "content", "data", 0 };
  StreamJson *pSchema = sqlite3StreamJsonParse(zSchema, -1);
  StreamJson *pMeta = 0, *pRecs = 0;
  StreamPqBuf recs, file;
  char *zErr = 0;
  int i, rc, nBad = 0;
  size_t n;
  memset(&recs, 0, sizeof(recs));
  memset(&file, 0, sizeof(file));
  for(i=0; i<2; i++){
    StreamJson *pV = sqlite3StreamJsonParse(azRec[i], -1);
    rc = sqlite3StreamAvroEncode(&recs, pSchema, pV, &zErr);
    CHECK(rc==SQLITE_OK, "encode %d: %s", i, zErr ? zErr : "");
    sqlite3StreamJsonFree(pV);
  }
  rc = sqlite3StreamAvroContainer(&file, zSchema, azMeta, 2, &recs);
  CHECK(rc==SQLITE_OK, "container");
  rc = sqlite3StreamAvroRead(file.a, file.n, &pMeta, &pRecs, &zErr);
  CHECK(rc==SQLITE_OK, "read: %s", zErr ? zErr : "");
  if( rc==SQLITE_OK ){
    StreamJson *p0 = sqlite3StreamJsonAt(pRecs,
                                         0), *p1 = sqlite3StreamJsonAt(pRecs,
                                                                       1);
    CHECK(sqlite3StreamJsonCount(pRecs)==2, "two records");
    CHECK(sqlite3StreamJsonI64(sqlite3StreamJsonGetNoCase(p0, "a"), 0)
          ==-9007199254740991LL, "long");
    CHECK(sqlite3StreamJsonIsNull(sqlite3StreamJsonGetNoCase(p0, "b")),
          "null branch");
    CHECK(strcmp(sqlite3StreamJsonGetNoCase(p1, "b")->zValue, "h\xc3\xa9")==0,
          "string");
    CHECK(strcmp(sqlite3StreamJsonAt(sqlite3StreamJsonGetNoCase(p1, "c"), 0)
                 ->zValue, "00ff")==0, "bytes as hex");
    CHECK(sqlite3StreamJsonI64(sqlite3StreamJsonGetNoCase(
              sqlite3StreamJsonGetNoCase(p1, "d"), "y"), 0)==2147483647,
          "map");
    CHECK(sqlite3StreamJsonIsTrue(sqlite3StreamJsonGetNoCase(p1, "e")),
          "boolean");
    CHECK(strcmp(sqlite3StreamJsonGetNoCase(pMeta, "content")->zValue,
                 "data")==0, "header metadata");
    CHECK(strcmp(sqlite3StreamJsonGetNoCase(pMeta, "avro.schema")->zValue,
                 zSchema)==0, "schema kept as written (field-id)");
  }
  sqlite3StreamJsonFree(pMeta);
  sqlite3StreamJsonFree(pRecs);
  sqlite3_free(zErr);
  zErr = 0;

  /* Every truncation fails cleanly (or is the header alone); corrupted
  ** bytes never crash. */
  for(n=0; n<file.n; n++){
    rc = sqlite3StreamAvroRead(file.a, n, &pMeta, &pRecs, &zErr);
    /* (Cut right after the header it is a valid file of no records.) */
    if( rc==SQLITE_OK ){
      if( sqlite3StreamJsonCount(pRecs)!=0 ) nBad++;
      sqlite3StreamJsonFree(pMeta);
      sqlite3StreamJsonFree(pRecs);
    }
    sqlite3_free(zErr);
    zErr = 0;
  }
  CHECK(nBad==0, "%d truncations read as complete files", nBad);
  for(n=0; n<file.n; n++){
    u8 save = file.a[n];
    file.a[n] ^= 0x5a;
    rc = sqlite3StreamAvroRead(file.a, file.n, &pMeta, &pRecs, &zErr);
    if( rc==SQLITE_OK ){
      sqlite3StreamJsonFree(pMeta);
      sqlite3StreamJsonFree(pRecs);
    }
    else CHECK(zErr && strncmp(zErr, "stream: avro: ", 14)==0,
               "error message at byte %d", (int)n);
    sqlite3_free(zErr);
    zErr = 0;
    file.a[n] = save;
  }
  {
    /* A value that does not match its schema. */
    StreamJson *pV =
        sqlite3StreamJsonParse("{\"a\":1,\"b\":null,\"c\":[\"zz\"]}", -1);
    sqlite3StreamPqBufReset(&recs);
    rc = sqlite3StreamAvroEncode(&recs, pSchema, pV, &zErr);
    CHECK(rc==SQLITE_INTERNAL && zErr, "bad value refused");
    sqlite3StreamJsonFree(pV);
    sqlite3_free(zErr);
  }
  sqlite3StreamJsonFree(pSchema);
  sqlite3StreamPqBufFree(&recs);
  sqlite3StreamPqBufFree(&file);
}

static int put(StreamStore *pStore, const char *zKey, const char *zData,
               int bNew, char **pzErr){
  StreamStoreUpload *pUp = 0;
  int rc = pStore->pMethods->xPutBegin(pStore, zKey, &pUp, pzErr);
  if( rc ) return rc;
  pStore->pMethods->xPutWrite(pUp, zData, strlen(zData), pzErr);
  return bNew ? pStore->pMethods->xPutCommitNew(pUp, pzErr)
              : pStore->pMethods->xPutCommit(pUp, pzErr);
}

static int checkRefuse(void *pArg, StreamIceTable *t, char **pzErr){
  (void)t;
  ++*(int*)pArg;
  return sqlite3StreamErr(pzErr, SQLITE_BUSY, "refused");
}
static int checkAccept(void *pArg, StreamIceTable *t, char **pzErr){
  (void)t; (void)pzErr;
  ++*(int*)pArg;
  return SQLITE_OK;
}

static void testCommit(const char *zDir){
  StreamStore *pStore = 0;
  StreamIceTable *t1 = 0, *t2 = 0, *t3 = 0;
  StreamIceFile f, *aFile = 0;
  char *zErr = 0, *zUrl = sqlite3_mprintf("file://%s", zDir);
  const char *azSum[] = { "stream.database-id", "abc",
                          "stream.next-offsets", "{\"0\":10}", 0 };
  int rc, nFile = 0, nCheck = 0;
  i64 iSnap = 0;
  StreamPqBuf b;

  memset(&b, 0, sizeof(b));
  rc = sqlite3StreamStoreOpen(zUrl, 0, &pStore, &zErr);
  CHECK(rc==SQLITE_OK, "open store: %s", zErr ? zErr : "");
  if( rc ) return;

  /* xPutCommitNew */
  rc = put(pStore, "x/k.json", "first", 1, &zErr);
  CHECK(rc==SQLITE_OK, "create-only of a new key");
  rc = put(pStore, "x/k.json", "second", 1, &zErr);
  CHECK(rc==SQLITE_CONSTRAINT && zErr && strstr(zErr, "x/k.json"),
        "create-only of an existing key: %d %s", rc, zErr ? zErr : "");
  sqlite3_free(zErr); zErr = 0;
  rc = sqlite3StreamIceGet(pStore, "x/k.json", &b, &zErr);
  CHECK(rc==SQLITE_OK && b.n==5 && memcmp(b.a, "first", 5)==0,
        "existing object untouched");

  /* Two writers from version 0. */
  memset(&f, 0, sizeof(f));
  f.zTopic = "t";
  f.nBytes = 100;
  f.nRecords = 10;
  f.iDay = 19736;
  f.iOffHi = 9;
  f.zRel = "data/a.parquet";
  rc = sqlite3StreamIceOpen(pStore, "iceberg/db_x/t", &t1, &zErr);
  if( rc==SQLITE_OK ) rc = sqlite3StreamIceOpen(pStore, "iceberg/db_x/t", &t2,
                                                &zErr);
  if( rc==SQLITE_OK ) rc = sqlite3StreamIceOpen(pStore, "iceberg/db_x/t", &t3,
                                                &zErr);
  CHECK(rc==SQLITE_OK && sqlite3StreamIceVersion(t1)==0, "open tables");
  rc = sqlite3StreamIceAppend(t1, &f, 1, "t", 1000, azSum, checkRefuse,
                              &nCheck, &iSnap, &zErr);
  CHECK(rc==SQLITE_OK && sqlite3StreamIceVersion(t1)==1 && nCheck==0,
        "first writer commits v1: %s", zErr ? zErr : "");
  f.zRel = "data/b.parquet";
  rc = sqlite3StreamIceAppend(t2, &f, 1, "t", 2000, azSum, checkAccept,
                              &nCheck, &iSnap, &zErr);
  CHECK(rc==SQLITE_OK && sqlite3StreamIceVersion(t2)==2 && nCheck==1,
        "second writer conflicts, checks, rebases, commits v2: %d %s", rc,
        zErr ? zErr : "");
  rc = sqlite3StreamIceDataFiles(t2, &aFile, &nFile, &zErr);
  CHECK(rc==SQLITE_OK && nFile==2, "both data files after the rebase: %d",
        nFile);
  sqlite3StreamIceFreeFiles(aFile, nFile);
  CHECK(sqlite3StreamIceLastCommit(t2, "stream.database-id", "abc",
        "stream.next-offsets", 0)!=0, "last commit found by its summary");
  CHECK(sqlite3StreamIceLastCommit(t2, "stream.database-id", "zzz",
        "stream.next-offsets", 0)==0, "no commit of another database");

  /* A third, stale at version 0, whose check refuses: nothing written. */
  nCheck = 0;
  f.zRel = "data/c.parquet";
  rc = sqlite3StreamIceAppend(t3, &f, 1, "t", 3000, azSum, checkRefuse,
                              &nCheck, &iSnap, &zErr);
  CHECK(rc==SQLITE_BUSY && nCheck==1 && zErr && strcmp(zErr,
        "stream: refused")==0, "refused after the conflict: %d", rc);
  sqlite3_free(zErr); zErr = 0;
  sqlite3StreamIceClose(t3);
  rc = sqlite3StreamIceOpen(pStore, "iceberg/db_x/t", &t3, &zErr);
  CHECK(rc==SQLITE_OK && sqlite3StreamIceVersion(t3)==2, "still v2");

  sqlite3StreamIceClose(t1);
  sqlite3StreamIceClose(t2);
  sqlite3StreamIceClose(t3);
  sqlite3StreamPqBufFree(&b);
  pStore->pMethods->xFree(pStore);
  sqlite3_free(zUrl);
  sqlite3_free(zErr);
}

/* Append one (imaginary) data file as database zDb at time iNow. */
static int appendAs(StreamIceTable *t, const char *zRel, const char *zDb,
                    i64 iNow, char **pzErr){
  StreamIceFile f;
  i64 iSnap = 0;
  const char *azSum[] = { "stream.database-id", 0,
                          "stream.next-offsets", "{\"0\":1}", 0 };
  azSum[1] = zDb;
  memset(&f, 0, sizeof(f));
  f.zTopic = "t";
  f.nBytes = 10;
  f.nRecords = 1;
  f.iDay = 19736;
  f.zRel = zRel;
  return sqlite3StreamIceAppend(t, &f, 1, "t", iNow, azSum, 0, 0, &iSnap,
                                pzErr);
}

/* Is database zDb's last commit found by the walk? */
static int foundCommit(StreamIceTable *t, const char *zDb, int *pbBroken){
  return sqlite3StreamIceLastCommit(t, "stream.database-id", zDb,
                                    "stream.next-offsets", pbBroken)!=0;
}

static void testExpire(const char *zDir){
  StreamStore *pStore = 0;
  StreamIceTable *t = 0;
  StreamStrList gone, orph, old;
  char *zErr = 0, *zUrl = sqlite3_mprintf("file://%s", zDir);
  int rc, nExp = 0, bBroken = 0, i;
  static const char *azRel[] = {
    "data/e0.parquet", "data/e1.parquet", "data/e2.parquet",
    "data/e3.parquet", "data/e4.parquet"
  };
  static const char *azDb[] = { "abc", "abc", "zzz", "zzz", "zzz" };

  memset(&gone, 0, sizeof(gone));
  memset(&orph, 0, sizeof(orph));
  memset(&old, 0, sizeof(old));
  rc = sqlite3StreamStoreOpen(zUrl, 0, &pStore, &zErr);
  if( rc==SQLITE_OK ) rc = sqlite3StreamIceOpen(pStore, "iceberg/db_y/t", &t,
                                                &zErr);
  for(i=0; rc==SQLITE_OK && i<5; i++){
    rc = appendAs(t, azRel[i], azDb[i], 1000*(i+1), &zErr);
  }
  CHECK(rc==SQLITE_OK && sqlite3StreamIceVersion(t)==5, "five commits: %s",
        zErr ? zErr : "");
  if( rc ) goto out;

  /* Everything is old; "abc"'s last commit is the 2nd: the 1st goes. */
  rc = sqlite3StreamIceExpireSnapshots(t, 100000, 1, "stream.database-id",
                                       "abc", 100, 6000, &nExp, &gone, &zErr);
  CHECK(rc==SQLITE_OK && nExp==1 && sqlite3StreamIceVersion(t)==6,
        "expiry keeps the chain back to the owner's commit: %d %d", rc, nExp);
  CHECK(gone.n==1 && strstr(gone.az[0], "/metadata/snap-")!=0,
        "the expired snapshot's manifest list is gone (%d files)", gone.n);
  CHECK(foundCommit(t, "abc", &bBroken) && !bBroken,
        "the owner's commit is still found");
  sqlite3StreamStrListFree(&gone);

  /* Bounded: at most 1, the oldest (the 2nd commit, time 2000). */
  rc = sqlite3StreamIceExpireSnapshots(t, 100000, 1, 0, 0, 1, 7000, &nExp,
                                       &gone, &zErr);
  CHECK(rc==SQLITE_OK && nExp==1 && gone.n==1, "bounded expiry: %d", nExp);
  CHECK(!foundCommit(t, "abc", &bBroken) && bBroken,
        "the owner's commit expired: the walk reports the cut chain");
  CHECK(foundCommit(t, "zzz", &bBroken) && !bBroken,
        "the other writer's commit is still found");
  sqlite3StreamStrListFree(&gone);

  /* The two older than the cutoff go; then nothing is left to expire
  ** (the current one stays), and nothing is written. */
  rc = sqlite3StreamIceExpireSnapshots(t, 4500, 1, 0, 0, 100, 8000, &nExp,
                                       &gone, &zErr);
  CHECK(rc==SQLITE_OK && nExp==2 && sqlite3StreamIceVersion(t)==8,
        "only the snapshot older than the cutoff: %d v%d", nExp,
        sqlite3StreamIceVersion(t));
  sqlite3StreamStrListFree(&gone);
  rc = sqlite3StreamIceExpireSnapshots(t, 4500, 1, 0, 0, 100, 9000, &nExp,
                                       &gone, &zErr);
  CHECK(rc==SQLITE_OK && nExp==0 && gone.n==0
        && sqlite3StreamIceVersion(t)==8, "nothing left to expire");

  /* Orphans: a stray data file; metadata versions older than the 2 kept. */
  rc = put(pStore, "iceberg/db_y/t/data/stray.parquet", "x", 0, &zErr);
  sqlite3StreamIceSetKeepVersions(t, 2);
  if( rc==SQLITE_OK ) rc = sqlite3StreamIceOrphans(t, &orph, &old, &zErr);
  CHECK(rc==SQLITE_OK && orph.n>=1, "orphans listed: %d", orph.n);
  for(i=0; i<orph.n; i++){
    CHECK(strstr(orph.az[i], "/metadata/v")==0
          && strstr(orph.az[i], "e4.parquet")==0, "not an orphan: %s",
          orph.az[i]);
  }
  CHECK(old.n==5, "metadata versions 1-5 are older than the 2 kept: %d",
        old.n);
 out:
  sqlite3StreamStrListFree(&gone);
  sqlite3StreamStrListFree(&orph);
  sqlite3StreamStrListFree(&old);
  sqlite3StreamIceClose(t);
  if( pStore ) pStore->pMethods->xFree(pStore);
  sqlite3_free(zUrl);
  sqlite3_free(zErr);
}

int main(void){
  char zDir[] = "/tmp/test_iceberg.XXXXXX";
  char *zCmd;
  if( mkdtemp(zDir)==0 ){ perror("mkdtemp"); return 1; }
  testAvro();
  testCommit(zDir);
  testExpire(zDir);
  zCmd = sqlite3_mprintf("rm -rf '%s'", zDir);
  if( zCmd && system(zCmd)!=0 ) printf("cannot remove %s\n", zDir);
  sqlite3_free(zCmd);
  printf("%d passed, %d failed\n", nPass, nFail);
  return nFail ? 1 : 0;
}
