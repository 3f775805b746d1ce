/*
** test_store.c - unit test of the store interface (ext/store.c, and
** ext/store_s3.c when STREAM_TEST_S3 names a server) through the scheme
** registry:
**
**   1. the registry: file:// and s3:// found, others not; capability flags;
**   2. put/commit, then read back by ranges (first, middle, across
**      blocks, last byte), identity (xFileId equals xStat), list by prefix,
**      delete, DeleteMany;
**   3. xPutCommitNew: a new key is written; an existing key is refused with
**      SQLITE_CONSTRAINT and a message naming the key, and keeps its bytes;
**   4. an aborted upload leaves nothing (a multipart one on s3:// is
**      aborted: nothing listed), a multipart object (three 5 MiB parts)
**      reads back byte for byte;
**   5. a missing object: xOpen fails with SQLITE_CANTOPEN naming it.
**
** Run by "make check" with a file:// store in a temporary directory; run
** again by test/s3.test with STREAM_TEST_S3="ENDPOINT DIR BUCKET" and AWS
** credentials in the environment, against s3rver.
**
** The last line printed is "N passed, N failed"; the exit code is non-zero
** if anything failed.
*/
#include "streamInt.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int nPass = 0;
static int nFail = 0;

static void check(int bOk, const char *zTest, const char *zDetail){
  if( bOk ){
    nPass++;
  }else{
    nFail++;
    printf("FAIL %s: %s\n", zTest, zDetail ? zDetail : "");
  }
}

/* Deterministic bytes. */
static void fill(unsigned char *a, size_t n, unsigned seed){
  size_t i;
  for(i=0; i<n; i++){
    seed = seed*1103515245u + 12345u;
    a[i] = (unsigned char)(seed>>16);
  }
}

static int put(StreamStore *p, const char *zKey, const unsigned char *a,
               size_t n, int bNew, char **pzErr){
  StreamStoreUpload *pUp = 0;
  size_t i;
  int rc = p->pMethods->xPutBegin(p, zKey, &pUp, pzErr);
  /* Written in uneven pieces, as the Parquet writer does. */
  for(i=0; rc==SQLITE_OK && i<n; i+=4099){
    rc = p->pMethods->xPutWrite(pUp, a+i, n-i<4099 ? n-i : 4099, pzErr);
  }
  if( rc ){
    if( pUp ) p->pMethods->xPutAbort(pUp);
    return rc;
  }
  return bNew ? p->pMethods->xPutCommitNew(pUp, pzErr)
              : p->pMethods->xPutCommit(pUp, pzErr);
}

/* Read the whole object zKey and compare with a[0..n) by several ranges. */
static int readBack(StreamStore *p, const char *zKey, const unsigned char *a,
                    size_t n){
  StreamStoreFile *pF = 0;
  char *zErr = 0;
  i64 nSize = -1;
  unsigned char *b = malloc(n ? n : 1);
  int rc = p->pMethods->xOpen(p, zKey, &pF, &nSize, &zErr);
  int bOk = rc==SQLITE_OK && nSize==(i64)n && b!=0;
  if( bOk && n>10 ){
    /* The tail first (as the Parquet reader does), then the rest in
    ** pieces of odd sizes, which cross the cache's blocks. */
    size_t i, nPiece = 77777;
    bOk = p->pMethods->xRead(pF, b+n-8, 8, (i64)n-8)==SQLITE_OK
       && memcmp(b+n-8, a+n-8, 8)==0;
    for(i=0; bOk && i<n; i+=nPiece){
      size_t k = n-i<nPiece ? n-i : nPiece;
      bOk = p->pMethods->xRead(pF, b+i, k, (i64)i)==SQLITE_OK;
    }
    bOk = bOk && memcmp(a, b, n)==0;
    /* Past the end is an error, not a short success. */
    bOk = bOk && p->pMethods->xRead(pF, b, 2, (i64)n-1)!=SQLITE_OK;
  }
  if( bOk ){
    StreamStoreId id1, id2;
    p->pMethods->xFileId(pF, &id1);
    bOk = p->pMethods->xStat(p, zKey, &id2)==SQLITE_OK
       && memcmp(&id1, &id2, sizeof(id1))==0 && id1.nSize==(i64)n;
  }
  if( zErr ) printf("  (%s)\n", zErr);
  if( pF ) p->pMethods->xClose(pF);
  sqlite3_free(zErr);
  free(b);
  return bOk;
}

typedef struct ListAcc ListAcc;
struct ListAcc { char az[16][200]; int n; };
static int listCb(void *pArg, const char *zKey){
  ListAcc *p = (ListAcc*)pArg;
  if( p->n<16 ) snprintf(p->az[p->n++], 200, "%s", zKey);
  return 0;
}
static int listed(ListAcc *p, const char *zKey){
  int i;
  for(i=0; i<p->n; i++) if( strcmp(p->az[i], zKey)==0 ) return 1;
  return 0;
}

static void runStore(const char *zUrl){
  StreamStore *p = 0;
  char *zErr = 0;
  const size_t nSmall = 300000, nBig = 11*1024*1024 + 12345;
  unsigned char *aSmall = malloc(nSmall), *aBig = malloc(nBig);
  unsigned char *aOther = malloc(nSmall);
  ListAcc acc;
  int rc;
  char *azDel[3];
  printf("store %s\n", zUrl);
  fill(aSmall, nSmall, 1);
  fill(aOther, nSmall, 2);
  fill(aBig, nBig, 3);
  rc = sqlite3StreamStoreOpen(zUrl, 1, &p, &zErr);
  check(rc==SQLITE_OK && p && p->pScheme && p->nRef==1, "open", zErr);
  if( rc ){ sqlite3_free(zErr); goto out; }
  check(strncmp(zUrl, "s3://", 5)==0
        ? (p->mCaps & STREAM_STORE_RANGED)!=0 && !p->bLocal
        : (p->mCaps & STREAM_STORE_ATOMIC_RENAME)!=0 && p->bLocal,
        "caps", 0);

  /* 2. put, read, list, delete */
  rc = put(p, "ns/a/one.bin", aSmall, nSmall, 0, &zErr);
  check(rc==SQLITE_OK, "put", zErr);
  check(readBack(p, "ns/a/one.bin", aSmall, nSmall), "read back", 0);
  rc = put(p, "ns/a/one.bin", aOther, nSmall, 0, &zErr);
  check(rc==SQLITE_OK, "overwrite", zErr);
  check(readBack(p, "ns/a/one.bin", aOther, nSmall), "read overwritten", 0);

  /* 3. create-only */
  sqlite3_free(zErr); zErr = 0;
  rc = put(p, "ns/a/one.bin", aSmall, nSmall, 1, &zErr);
  check(rc==SQLITE_CONSTRAINT && zErr && strstr(zErr, "ns/a/one.bin")
        && strstr(zErr, "already exists"), "create-only refused", zErr);
  check(readBack(p, "ns/a/one.bin", aOther, nSmall), "kept its bytes", 0);
  sqlite3_free(zErr); zErr = 0;
  rc = put(p, "ns/b/two.bin", aSmall, 1000, 1, &zErr);
  check(rc==SQLITE_OK, "create-only new key", zErr);
  check(readBack(p, "ns/b/two.bin", aSmall, 1000), "create-only read", 0);

  /* 4. abort; multipart */
  {
    StreamStoreUpload *pUp = 0;
    sqlite3_free(zErr); zErr = 0;
    rc = p->pMethods->xPutBegin(p, "ns/c/aborted.bin", &pUp, &zErr);
    if( rc==SQLITE_OK ) rc = p->pMethods->xPutWrite(pUp, aBig, nBig, &zErr);
    check(rc==SQLITE_OK, "abort: write", zErr);
    if( pUp ) p->pMethods->xPutAbort(pUp);
  }
  rc = put(p, "ns/c/big.bin", aBig, nBig, 0, &zErr);
  check(rc==SQLITE_OK, "put big", zErr);
  check(readBack(p, "ns/c/big.bin", aBig, nBig), "read big", 0);
  sqlite3_free(zErr); zErr = 0;
  rc = put(p, "ns/c/big.bin", aBig, nBig, 1, &zErr);
  check(rc==SQLITE_CONSTRAINT, "create-only big refused", zErr);

  memset(&acc, 0, sizeof(acc));
  sqlite3_free(zErr); zErr = 0;
  rc = p->pMethods->xList(p, "ns/", listCb, &acc, &zErr);
  check(rc==SQLITE_OK && acc.n==3 && listed(&acc, "ns/a/one.bin")
        && listed(&acc, "ns/b/two.bin") && listed(&acc, "ns/c/big.bin"),
        "list", zErr);
  memset(&acc, 0, sizeof(acc));
  rc = p->pMethods->xList(p, "ns/a/", listCb, &acc, &zErr);
  check(rc==SQLITE_OK && acc.n==1, "list prefix", zErr);

  /* 5. missing */
  {
    StreamStoreFile *pF = 0;
    i64 n = 0;
    sqlite3_free(zErr); zErr = 0;
    rc = p->pMethods->xOpen(p, "ns/none.bin", &pF, &n, &zErr);
    check(rc==SQLITE_CANTOPEN && zErr && strstr(zErr, "ns/none.bin"),
          "missing", zErr);
  }

  azDel[0] = "ns/a/one.bin";
  azDel[1] = "ns/b/two.bin";
  azDel[2] = "ns/c/big.bin";
  sqlite3_free(zErr); zErr = 0;
  rc = sqlite3StreamStoreDeleteMany(p, azDel, 3, &zErr);
  check(rc==SQLITE_OK, "delete many", zErr);
  memset(&acc, 0, sizeof(acc));
  rc = p->pMethods->xList(p, "ns/", listCb, &acc, &zErr);
  check(rc==SQLITE_OK && acc.n==0, "deleted", acc.n ? acc.az[0] : zErr);
  sqlite3_free(zErr); zErr = 0;
  rc = p->pMethods->xDelete(p, "ns/a/one.bin", &zErr);
  check(rc==SQLITE_OK, "delete missing is not an error", zErr);
 out:
  sqlite3_free(zErr);
  sqlite3StreamStoreUnref(p);
  free(aSmall);
  free(aBig);
  free(aOther);
}

int main(void){
  char zDir[] = "/tmp/test_store_XXXXXX";
  const char *zS3 = getenv("STREAM_TEST_S3");
  check(sqlite3StreamStoreScheme("file:///x")!=0, "scheme file", 0);
  check(sqlite3StreamStoreScheme("s3://b/x")!=0, "scheme s3", 0);
  check(sqlite3StreamStoreScheme("gs://b/x")==0, "scheme gs", 0);
  if( mkdtemp(zDir) ){
    char zUrl[64], zCmd[96];
    snprintf(zUrl, sizeof(zUrl), "file://%s", zDir);
    runStore(zUrl);
    snprintf(zCmd, sizeof(zCmd), "rm -rf %s", zDir);
    if( system(zCmd) ){ /* leave it */ }
  }
#ifdef HAVE_LIBCURL
  if( zS3 && zS3[0] ){
    char zEndpoint[200], zData[400], zBucket[100], zUrl[600];
    if( sscanf(zS3, "%199s %399s %99s", zEndpoint, zData, zBucket)==3 ){
      snprintf(zUrl, sizeof(zUrl), "s3://%s/unit+%d?endpoint=%s&part_size_mb=5"
               "&retries=8", zBucket, (int)getpid(), zEndpoint);
      runStore(zUrl);
    }
  }
#else
  (void)zS3;
#endif
  printf("%d passed, %d failed\n", nPass, nFail);
  return nFail!=0;
}
