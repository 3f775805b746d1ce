/*
** test_store.c - unit test of the store interface (ext/store.c, and
** ext/store_s3.c when STREAM_TEST_S3 names a server) through the scheme
** registry:
**
**   1. the registry: file:// and s3:// found, others not; capability flags;
**   2. put/commit, then read back by ranges (first, middle, across
**      blocks, last byte), identity (xFileId equals xStat), list by prefix,
**      delete, DeleteMany; 1,005 keys (more than a listing page and a
**      DeleteObjects batch): each listed once, all deleted, none left;
**   3. xPutCommitNew: a new key is written; an existing key is refused with
**      SQLITE_CONSTRAINT and a message naming the key, and keeps its bytes;
**   4. an aborted upload leaves nothing (a multipart one on s3:// is
**      aborted: nothing listed), a multipart object (three 5 MiB parts)
**      reads back byte for byte;
**   5. a missing object: xOpen fails with SQLITE_CANTOPEN naming it;
**   6. (s3:// behind test/s3proxy.mjs --data, STREAM_TEST_S3_CTL set to its
**      control URL) stale multipart uploads: two writers killed after
**      their first part leave uploads that xList shows as "<key>.tmp"
**      (over several pages), and xDelete of "<key>.tmp" aborts them; a
**      create-only put that loses a race (the object appears after the
**      HEAD: 412 Precondition Failed) is refused with SQLITE_CONSTRAINT
**      and writes nothing; one whose response is lost (outcome unknown)
**      is resolved by reading the object, not retried blindly; an object
**      hinted with xPrefetch is opened and read with no request of its own
**      (the prefetched answer is used: one GET in all; one larger than
**      the tail, hinted as a later file, comes in one GET of all of it,
**      even with its size hinted too large, and in two, the second of
**      the byte it lacks, with it hinted a byte short), a hinted missing
**      object still fails to open with its message, a hint never used is
**      dropped with the store; an object just put (one part) is opened
**      once with no request (its acknowledged tail), then with one;
**   7. (s3://) the read cache stays within cache_mb (1 MiB) while four
**      objects of 1.5 MiB are read through three times (forwards,
**      backwards, with prefetch hints), and holds nothing with cache_mb=0;
**   8. the connection's store cache: one URL, one store object; two URLs,
**      two.
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
#include <sys/wait.h>
#ifdef HAVE_LIBCURL
#include <curl/curl.h>
#endif

#include "unit_check.h"

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

/* More keys than one listing page or one DeleteObjects holds (1,000):
** every key listed exactly once (ListObjectsV2 continuation tokens), all
** deleted by one DeleteMany (batches), none listed after. */
#define MANY_KEYS 1005
typedef struct ManyAcc ManyAcc;
struct ManyAcc { unsigned char aSeen[MANY_KEYS]; int nBad; };
static int manyCb(void *pArg, const char *zKey){
  ManyAcc *p = (ManyAcc*)pArg;
  int i;
  if( sscanf(zKey, "ns/m/k%d.bin", &i)==1 && i>=0 && i<MANY_KEYS ){
    p->aSeen[i]++;
  }else{
    p->nBad++;
  }
  return 0;
}
static void runMany(StreamStore *p){
  static char azKey[MANY_KEYS][32];
  char *azDel[MANY_KEYS];
  ManyAcc acc;
  char *zErr = 0;
  int i, rc = SQLITE_OK, nOnce = 0;
  for(i=0; i<MANY_KEYS && rc==SQLITE_OK; i++){
    snprintf(azKey[i], sizeof(azKey[i]), "ns/m/k%d.bin", i);
    azDel[i] = azKey[i];
    rc = put(p, azKey[i], (const unsigned char*)azKey[i], 1, 0, &zErr);
  }
  check(rc==SQLITE_OK, "many: put", zErr);
  memset(&acc, 0, sizeof(acc));
  sqlite3_free(zErr); zErr = 0;
  rc = p->pMethods->xList(p, "ns/m/", manyCb, &acc, &zErr);
  for(i=0; i<MANY_KEYS; i++) nOnce += acc.aSeen[i]==1;
  check(rc==SQLITE_OK && nOnce==MANY_KEYS && acc.nBad==0,
        "many: every key listed once", zErr);
  sqlite3_free(zErr); zErr = 0;
  rc = sqlite3StreamStoreDeleteMany(p, azDel, MANY_KEYS, &zErr);
  check(rc==SQLITE_OK, "many: deleted in batches", zErr);
  memset(&acc, 0, sizeof(acc));
  sqlite3_free(zErr); zErr = 0;
  rc = p->pMethods->xList(p, "ns/m/", manyCb, &acc, &zErr);
  for(i=0, nOnce=0; i<MANY_KEYS; i++) nOnce += acc.aSeen[i];
  check(rc==SQLITE_OK && nOnce==0 && acc.nBad==0, "many: none left", zErr);
  sqlite3_free(zErr);
}

#ifdef HAVE_LIBCURL
/* The test proxy's control URL (GET zCtl/...), its answer kept. */
typedef struct CtlBody CtlBody;
struct CtlBody { char a[2048]; size_t n; };
static size_t keepCb(char *a, size_t sz, size_t n, void *p){
  CtlBody *pB = (CtlBody*)p;
  size_t k = sz*n;
  if( k>sizeof(pB->a)-1-pB->n ) k = sizeof(pB->a)-1-pB->n;
  memcpy(pB->a+pB->n, a, k);
  pB->n += k;
  pB->a[pB->n] = 0;
  return sz*n;
}
/* GET zCtl/zPath; the value of its JSON counter zStat if zStat is not
** NULL, else 1 if it answered 200 (-1: no answer). */
static long long proxyGet(const char *zCtl, const char *zPath,
                          const char *zStat){
  char zUrl[512], zPat[64];
  CtlBody body;
  CURL *pE = curl_easy_init();
  long iCode = 0;
  const char *z;
  if( pE==0 ) return -1;
  memset(&body, 0, sizeof(body));
  snprintf(zUrl, sizeof(zUrl), "%s/%s", zCtl, zPath);
  curl_easy_setopt(pE, CURLOPT_URL, zUrl);
  curl_easy_setopt(pE, CURLOPT_WRITEFUNCTION, keepCb);
  curl_easy_setopt(pE, CURLOPT_WRITEDATA, &body);
  if( curl_easy_perform(pE)==CURLE_OK ){
    curl_easy_getinfo(pE, CURLINFO_RESPONSE_CODE, &iCode);
  }
  curl_easy_cleanup(pE);
  if( iCode!=200 ) return -1;
  if( zStat==0 ) return 1;
  snprintf(zPat, sizeof(zPat), "\"%s\":", zStat);
  z = strstr(body.a, zPat);
  return z ? atoll(z+strlen(zPat)) : -1;
}
static int proxySet(const char *zCtl, const char *zPath){
  return proxyGet(zCtl, zPath, 0)==1;
}
static long long proxyRequests(const char *zCtl){
  return proxyGet(zCtl, "stats", "requests");
}

/* A writer that dies after sending the first part of zKey: a child
** process, with a store of its own (its own connections), that writes
** a[0..n) and exits without committing or aborting. */
static void staleUpload(const char *zUrl, const char *zKey,
                        const unsigned char *a, size_t n){
  pid_t pid = fork();
  if( pid==0 ){
    StreamStore *p = 0;
    StreamStoreUpload *pUp = 0;
    char *zErr = 0;
    int rc = sqlite3StreamStoreOpen(zUrl, 1, &p, &zErr);
    if( rc==SQLITE_OK ) rc = p->pMethods->xPutBegin(p, zKey, &pUp, &zErr);
    if( rc==SQLITE_OK ) rc = p->pMethods->xPutWrite(pUp, a, n, &zErr);
    _exit(rc==SQLITE_OK ? 0 : 1);
  }else if( pid>0 ){
    int st = 0;
    waitpid(pid, &st, 0);
    check(WIFEXITED(st) && WEXITSTATUS(st)==0, "stale upload: writer", 0);
  }
}

/* Open zKey (hinted first with xPrefetch if nHint: with the size nHint,
** or -1 for none; as a later file than the next one opened if bNext),
** read it all and compare with a[0..n): the number of requests the proxy
** saw, or -1 if the bytes differ. */
static long long openCount(StreamStore *p, const char *zCtl,
                           const char *zKey, const unsigned char *a,
                           size_t n, i64 nHint, int bNext){
  StreamStoreFile *pF = 0;
  unsigned char *b = malloc(n);
  char *zErr = 0;
  i64 nSize = 0;
  long long r0 = proxyRequests(zCtl), r1;
  int bOk;
  if( nHint ) sqlite3StreamStorePrefetch(p, zKey, nHint, bNext);
  bOk = b && p->pMethods->xOpen(p, zKey, &pF, &nSize, &zErr)==SQLITE_OK
     && nSize==(i64)n && p->pMethods->xRead(pF, b, n, 0)==SQLITE_OK
     && memcmp(a, b, n)==0;
  if( pF ) p->pMethods->xClose(pF);
  r1 = proxyRequests(zCtl);
  if( zErr ) printf("  (%s)\n", zErr);
  sqlite3_free(zErr);
  free(b);
  return bOk && r0>0 ? r1-r0 : -1;
}

/* 6. Stale uploads, a lost create-only race, a lost response. */
static void runProxied(StreamStore *p, const char *zUrl, const char *zCtl,
                       const unsigned char *aBig, size_t nBig,
                       const unsigned char *aSmall, size_t nSmall){
  ListAcc acc;
  char *zErr = 0;
  int rc;
  char zOwn[700];
  /* The writers' store must not be this one (shared by URL): another
  ** retries= gives another store, the same bucket and prefix. */
  snprintf(zOwn, sizeof(zOwn), "%s&timeout_ms=29999", zUrl);
  staleUpload(zOwn, "ns/d/stale1.bin", aBig, nBig);
  staleUpload(zOwn, "ns/d/stale2.bin", aBig, nBig);
  memset(&acc, 0, sizeof(acc));
  rc = p->pMethods->xList(p, "ns/d/", listCb, &acc, &zErr);
  check(rc==SQLITE_OK && acc.n==2 && listed(&acc, "ns/d/stale1.bin.tmp")
        && listed(&acc, "ns/d/stale2.bin.tmp"), "stale uploads listed",
        zErr ? zErr : acc.n ? acc.az[0] : "none");
  sqlite3_free(zErr); zErr = 0;
  rc = p->pMethods->xDelete(p, "ns/d/stale1.bin.tmp", &zErr);
  if( rc==SQLITE_OK ) rc = p->pMethods->xDelete(p, "ns/d/stale2.bin.tmp", &zErr);
  check(rc==SQLITE_OK, "stale uploads aborted", zErr);
  memset(&acc, 0, sizeof(acc));
  sqlite3_free(zErr); zErr = 0;
  rc = p->pMethods->xList(p, "ns/d/", listCb, &acc, &zErr);
  check(rc==SQLITE_OK && acc.n==0, "stale uploads gone",
        zErr ? zErr : acc.n ? acc.az[0] : 0);

  /* The object appears between the HEAD and the create-only PUT. */
  sqlite3_free(zErr); zErr = 0;
  rc = put(p, "ns/e/race.bin", aSmall, nSmall, 0, &zErr);
  check(rc==SQLITE_OK, "race: first writer", zErr);
  check(proxySet(zCtl, "set?hidehead=1"), "race: proxy", 0);
  sqlite3_free(zErr); zErr = 0;
  rc = put(p, "ns/e/race.bin", aBig, 1000, 1, &zErr);
  check(rc==SQLITE_CONSTRAINT && zErr && strstr(zErr, "ns/e/race.bin")
        && strstr(zErr, "already exists"), "race: 412 refused", zErr);
  check(readBack(p, "ns/e/race.bin", aSmall, nSmall), "race: bytes kept", 0);

  /* The response of a create-only PUT lost after the service did it. */
  check(proxySet(zCtl, "set?dropput=1"), "lost response: proxy", 0);
  sqlite3_free(zErr); zErr = 0;
  rc = put(p, "ns/e/lost.bin", aBig, 2000, 1, &zErr);
  check(rc==SQLITE_OK, "lost response: resolved", zErr);
  check(readBack(p, "ns/e/lost.bin", aBig, 2000), "lost response: read", 0);
  /* xPrefetch: the open takes the answer fetched ahead. */
  {
    StreamStoreFile *pF = 0;
    i64 n = 0;
    int k;
    sqlite3_free(zErr); zErr = 0;
    rc = put(p, "ns/e/ahead.bin", aSmall, 100000, 0, &zErr);
    check(rc==SQLITE_OK, "ahead: put", zErr);
    /* Just put: the first open needs no request, the next one GET. */
    for(k=0; k<2; k++){
      check(openCount(p, zCtl, "ns/e/ahead.bin", aSmall, 100000, 0, 0)==k,
            "known: requests", k ? "not one" : "not none");
    }
    /* Hinted (lost.bin was put and read back before; smaller than the
    ** tail, so that s3rver's answer to a suffix range is right). */
    check(openCount(p, zCtl, "ns/e/lost.bin", aBig, 2000, -1, 0)==1,
          "ahead: one GET", 0);
    /* Hinted with its size (the segment index's): an object larger than
    ** the tail comes in two GETs sent together, its tail (the footer) and
    ** all that precedes it, which the open file reads as it arrives; as
    ** a later file than the next one opened (bNext), in one GET of all
    ** of it.  Each case on a store of its own (another timeout_ms=), so
    ** no block is cached. */
    sqlite3_free(zErr); zErr = 0;
    rc = put(p, "ns/e/whole.bin", aSmall, nSmall, 0, &zErr);
    check(rc==SQLITE_OK, "whole: put", zErr);
    for(k=0; k<6; k++){
      static const i64 aDelta[3] = { 0, 50000, -1 };
      StreamStore *p2 = 0;
      long long nReq;
      char zUrl2[700];
      snprintf(zUrl2, sizeof(zUrl2), "%s&timeout_ms=%d", zUrl, 29990+k);
      sqlite3_free(zErr); zErr = 0;
      rc = sqlite3StreamStoreOpen(zUrl2, 0, &p2, &zErr);
      check(rc==SQLITE_OK, "whole: store", zErr);
      if( rc ) continue;
      nReq = openCount(p2, zCtl, "ns/e/whole.bin", aSmall, nSmall,
                       (i64)nSmall+aDelta[k%3], k>=3);
      /* The right size: those two GETs.  One too large (the service
      ** gives what there is: a tail shorter than asked) or too small (its
      ** answer is not the object's end): the open asks for the tail
      ** again; the bytes are right all the same.  Hinted as a later file
      ** (k>=3): one GET of all of it; too large, the same one GET (the
      ** service gives all there is); too small, one more GET of just the
      ** byte it lacked. */
      check(k==0 ? nReq==2 : k<3 ? nReq>=3 : nReq==(k==5 ? 2 : 1),
            "whole: requests", k%3==0 ? "right size"
            : k%3==1 ? "size too large" : "size too small");
      sqlite3StreamStoreUnref(p2);
    }
    /* Larger than STREAM_S3_WHOLE (4 MiB): its tail and its first MiB
    ** go out together; the open takes both, so reading the magic at 0
    ** and the footer asks nothing more. */
    sqlite3_free(zErr); zErr = 0;
    rc = put(p, "ns/e/whole.bin", aBig, nBig, 0, &zErr);
    check(rc==SQLITE_OK, "head: put", zErr);
    {
      StreamStore *p2 = 0;
      char zUrl2[700];
      unsigned char aHead[4], aEnd[8];
      long long r0 = proxyRequests(zCtl);
      snprintf(zUrl2, sizeof(zUrl2), "%s&timeout_ms=29989", zUrl);
      sqlite3_free(zErr); zErr = 0;
      rc = sqlite3StreamStoreOpen(zUrl2, 0, &p2, &zErr);
      check(rc==SQLITE_OK, "head: store", zErr);
      if( rc==SQLITE_OK ){
        sqlite3StreamStorePrefetch(p2, "ns/e/whole.bin", (i64)nBig, 0);
        pF = 0;
        sqlite3_free(zErr); zErr = 0;
        rc = p2->pMethods->xOpen(p2, "ns/e/whole.bin", &pF, &n, &zErr);
        check(rc==SQLITE_OK && n==(i64)nBig
              && p2->pMethods->xRead(pF, aHead, 4, 0)==SQLITE_OK
              && p2->pMethods->xRead(pF, aEnd, 8, n-8)==SQLITE_OK
              && memcmp(aHead, aBig, 4)==0
              && memcmp(aEnd, aBig+nBig-8, 8)==0, "head: bytes", zErr);
        check(proxyRequests(zCtl)-r0==2, "head: two GETs, both ahead", 0);
        if( pF ) p2->pMethods->xClose(pF);
        sqlite3StreamStoreUnref(p2);
      }
    }
    /* A missing object: the ahead answer (404) is not taken for one. */
    pF = 0;
    sqlite3StreamStorePrefetch(p, "ns/e/none.bin", -1, 0);
    sqlite3_free(zErr); zErr = 0;
    rc = p->pMethods->xOpen(p, "ns/e/none.bin", &pF, &n, &zErr);
    check(rc==SQLITE_CANTOPEN && pF==0 && zErr
          && strstr(zErr, "ns/e/none.bin"), "ahead: missing", zErr);
    /* A hint never used: dropped when the store is freed. */
    sqlite3StreamStorePrefetch(p, "ns/e/ahead.bin", -1, 0);
  }
  {
    char *azDel[4] = { "ns/e/race.bin", "ns/e/lost.bin", "ns/e/ahead.bin",
                       "ns/e/whole.bin" };
    sqlite3_free(zErr); zErr = 0;
    rc = sqlite3StreamStoreDeleteMany(p, azDel, 4, &zErr);
    check(rc==SQLITE_OK, "race: cleaned", zErr);
  }
  sqlite3_free(zErr);
}
#endif

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
  runMany(p);
#ifdef HAVE_LIBCURL
  {
    const char *zCtl = getenv("STREAM_TEST_S3_CTL");
    if( zCtl && zCtl[0] && strncmp(zUrl, "s3://", 5)==0 ){
      runProxied(p, zUrl, zCtl, aBig, nBig, aSmall, nSmall);
    }
  }
#endif
 out:
  sqlite3_free(zErr);
  sqlite3StreamStoreUnref(p);
  free(aSmall);
  free(aBig);
  free(aOther);
}

#ifdef HAVE_LIBCURL
/* 7. The read cache's bound (cache_mb): objects larger than the cache
** read through, sequentially, backwards and by prefetch hints, several
** times over; the cache holds bytes (so the check can fail) and never
** more than cache_mb.  cache_mb=0: nothing is kept. */
static void runCacheBound(const char *zEndpoint, const char *zBucket,
                          int nMb){
  char zUrl[600], zKey[64];
  StreamStore *p = 0;
  char *zErr = 0;
  size_t n = 1536*1024, nPiece = 65536;
  unsigned char *a = malloc(n), *b = malloc(n);
  i64 nUsed = 0, nMax = -1, nPeak = 0;
  int i, k, bOk = 1, rc;
  snprintf(zUrl, sizeof(zUrl), "s3://%s/cache+%d?endpoint=%s&cache_mb=%d"
           "&retries=8", zBucket, (int)getpid(), zEndpoint, nMb);
  rc = sqlite3StreamStoreOpen(zUrl, 1, &p, &zErr);
  check(rc==SQLITE_OK && a && b, "7.0 open", zErr);
  if( rc || a==0 || b==0 ) goto out;
  for(i=0; bOk && i<4; i++){
    snprintf(zKey, sizeof(zKey), "c%d", i);
    fill(a, n, 900+i);
    bOk = put(p, zKey, a, n, 0, &zErr)==SQLITE_OK;
  }
  check(bOk, "7.1 put", zErr);
  for(k=0; bOk && k<3; k++){
    for(i=0; bOk && i<4; i++){
      StreamStoreFile *pF = 0;
      i64 nSize = 0;
      size_t j;
      snprintf(zKey, sizeof(zKey), "c%d", k==1 ? 3-i : i);
      if( k==2 ) sqlite3StreamStorePrefetch(p, zKey, (i64)n, 0);
      bOk = p->pMethods->xOpen(p, zKey, &pF, &nSize, &zErr)==SQLITE_OK
         && nSize==(i64)n;
      fill(a, n, 900+(k==1 ? 3-i : i));
      for(j=0; bOk && j<n; j+=nPiece){
        /* k==1: the pieces backwards. */
        size_t off = k==1 ? n-nPiece-j : j;
        bOk = p->pMethods->xRead(pF, b+off, nPiece, (i64)off)==SQLITE_OK
           && memcmp(a+off, b+off, nPiece)==0;
        sqlite3StreamS3CacheUsage(p, &nUsed, &nMax);
        if( nUsed>nPeak ) nPeak = nUsed;
        if( nUsed>nMax ) bOk = 0;
      }
      if( pF ) p->pMethods->xClose(pF);
    }
  }
  {
    char zDetail[200];
    snprintf(zDetail, sizeof(zDetail), "cache_mb=%d: peak %lld bytes,"
             " bound %lld", nMb, nPeak, nMax);
    printf("  7.2 %s\n", zDetail);
    check(bOk && nMax==(i64)nMb*1024*1024 && nPeak<=nMax
          && (nMb==0 ? nPeak==0 : nPeak>nMax/2), "7.2 cache bound", zDetail);
    if( zErr ) printf("  (%s)\n", zErr);
  }
  for(i=0; i<4; i++){
    snprintf(zKey, sizeof(zKey), "c%d", i);
    p->pMethods->xDelete(p, zKey, 0);
  }
 out:
  sqlite3_free(zErr);
  sqlite3StreamStoreUnref(p);
  free(a);
  free(b);
}
#endif

/* 8. The connection's cache of open stores (sqlite3StreamStoreGet(), what
** the warm tier opens the database's and each topic's own warm.store
** through): one URL, one store object (referenced again); two URLs, two
** objects; a store dropped from the cache stays valid while referenced. */
static void runStoreCache(const char *zDir){
  sqlite3 *db = 0;
  StreamCtx *p;
  StreamStore *a1 = 0, *a2 = 0, *b = 0;
  char zA[300], zB[300];
  char *zErr = 0;
  int rc;
  snprintf(zA, sizeof(zA), "file://%s", zDir);
  snprintf(zB, sizeof(zB), "file://%s/", zDir);
  rc = sqlite3_open(":memory:", &db);
  p = rc==SQLITE_OK ? sqlite3StreamCtxLoad(db) : 0;
  check(p!=0, "8.0 connection", 0);
  if( p==0 ){ sqlite3_close(db); return; }
  rc = sqlite3StreamStoreGet(p, zA, &a1, &zErr);
  if( rc==SQLITE_OK ) rc = sqlite3StreamStoreGet(p, zA, &a2, &zErr);
  if( rc==SQLITE_OK ) rc = sqlite3StreamStoreGet(p, zB, &b, &zErr);
  check(rc==SQLITE_OK, "8.1 get", zErr);
  check(a1!=0 && a1==a2, "8.2 one URL, one store", 0);
  check(b!=0 && b!=a1 && strcmp(b->zUrl, zB)==0 && strcmp(a1->zUrl, zA)==0,
        "8.3 two URLs, two stores", 0);
  /* Cached and referenced by the caller: 3 references to a (cache, a1,
  ** a2), 2 to b. */
  check(a1 && b && a1->nRef==3 && b->nRef==2, "8.4 references", 0);
  sqlite3StreamStoreUnref(a2);
  sqlite3StreamStoreUnref(b);
  sqlite3_close(db);                 /* drops the cache's references */
  check(a1 && a1->nRef==1 && strcmp(a1->zUrl, zA)==0, "8.5 kept by its user",
        0);
  sqlite3StreamStoreUnref(a1);
  sqlite3_free(zErr);
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
    runStoreCache(zDir);
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
      runCacheBound(zEndpoint, zBucket, 1);
      runCacheBound(zEndpoint, zBucket, 0);
    }
  }
#else
  (void)zS3;
#endif
  return checkDone();
}
