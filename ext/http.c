/*
** http.c - HTTP requests over libcurl for the object-store backends
** (ext/store_s3.c): one concern, the curl plumbing.
**
** A pool (StreamHttp) is one curl multi handle: every request runs on it,
** so its connection cache is shared by all of them (no TCP or TLS
** handshake per request) and several requests can be in flight at once
** (multipart parts, read prefetch).  Requests are signed by libcurl
** (CURLOPT_AWS_SIGV4 with CURLOPT_USERNAME / CURLOPT_PASSWORD); the
** session token goes in x-amz-security-token.  Nothing here retries:
** whether a request may be repeated is the caller's decision.
**
** Secrets are copied into the pool, given to curl only, and wiped when
** the pool is freed; no message built here ever contains them (curl's own
** error strings do not carry credentials, and URLs hold none).
**
** Connections outlive their pool: a pool holds its multi handle only while
** a request of its is in flight.  When none is (the last one collected or
** cancelled, or the pool freed), the multi handle, with the live
** connections of its cache, is parked in a process-wide list keyed by
** the requests' "scheme://host[:port]" (streamHttpPark); a pool starting
** a request takes the most recently parked one of its key, if any, before
** it makes a new one (streamHttpTake).  So a database connection's first
** read from a store another connection (or an earlier one) used finds its
** TCP and TLS connections open, and connections opened one a query share
** them.  libcurl allows a handle to move between threads, never to be
** used by two at once: a parked handle has no transfer and is owned by
** the list (its mutex), a taken one by one pool, whose connection SQLite
** drives from one thread at a time; transfers in flight never leave
** their pool.  Whether a cached connection fits a request (host, port,
** TLS settings, proxy) is still libcurl's own check; credentials play no
** part (requests are signed one by one, no connection-based auth).
** Bounded: STREAM_HTTP_PARK handles (the oldest cleaned up first), each
** with at most CURLMOPT_MAXCONNECTS connections, none kept parked longer
** than STREAM_HTTP_PARK_MS.  fork(): the child empties the list without
** touching its handles (their sockets are the parent's: a TLS shutdown
** or a request from the child would break the parent's streams; the
** memory is left), and a pool made before the fork parks nothing in it
** (pthread_atfork, and the pid of each pool).  The extension is never
** unloaded (SQLITE_OK_LOAD_PERMANENTLY, ext/main.c), so the list lives
** until the process exits, when nothing is cleaned up: no curl call may
** follow libcurl's and OpenSSL's own exit handlers; the system closes
** the sockets.
*/
#include "streamInt.h"
#ifdef HAVE_LIBCURL
#include <curl/curl.h>
#include <stdarg.h>
#include <string.h>
#include <stdlib.h>
#include <time.h>
#include <pthread.h>
#include <unistd.h>

/* Largest response body kept when no output buffer is given (listings,
** error documents). */
#define STREAM_HTTP_MAX_RESP (16*1024*1024)
/* Upload buffer of a PUT (CURLOPT_UPLOAD_BUFFERSIZE, at most 2 MiB). */
#define STREAM_HTTP_UPLOAD_BUFFER (512*1024)
/* Receive buffer of a GET into a large buffer (CURLOPT_BUFFERSIZE). */
#define STREAM_HTTP_DOWNLOAD_BUFFER (256*1024)
/* Easy handles kept for reuse. */
#define STREAM_HTTP_POOL 8
/* Connections per multi handle kept open between requests. */
#define STREAM_HTTP_MAXCONNECTS 16
/* Multi handles parked process-wide at most, and for how long. */
#define STREAM_HTTP_PARK 8
#define STREAM_HTTP_PARK_MS 60000
/* Longest "scheme://host[:port]" a parked handle is kept under. */
#define STREAM_HTTP_KEY 300

struct StreamHttp {
  CURLM *pMulti;               /* The multi handle (connection cache), or
                               ** NULL: none taken (no request in flight) */
  char zKey[STREAM_HTTP_KEY];  /* Its key (streamHttpKey), "" if none */
  pid_t pid;                   /* Process that made the pool */
  CURL *aIdle[STREAM_HTTP_POOL]; /* Easy handles not in use */
  int nIdle;                   /* Entries of aIdle */
  int nRunning;                /* Requests started and not done */
  char *zSigV4;                /* CURLOPT_AWS_SIGV4 */
  char *zUser;                 /* Access key id */
  char *zPass;                 /* Secret access key */
  char *zToken;                /* Session token, or NULL */
  long msTimeout;              /* Per-request limit */
  void (*xOnWait)(void*);      /* Called in every round of a wait */
  void *pOnWaitArg;            /* ... with this */
};

/* Monotonic microseconds. */
static i64 streamHttpUs(void){
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (i64)t.tv_sec*1000000 + t.tv_nsec/1000;
}

/* curl_global_init() once per process. */
static int streamHttpGlobal(void){
  static int bDone = 0;
  static CURLcode rcInit = CURLE_OK;
  sqlite3_mutex *pMutex = sqlite3_mutex_alloc(SQLITE_MUTEX_STATIC_MAIN);
  sqlite3_mutex_enter(pMutex);
  if( !bDone ){
    rcInit = curl_global_init(CURL_GLOBAL_DEFAULT);
    bDone = 1;
  }
  sqlite3_mutex_leave(pMutex);
  return rcInit==CURLE_OK ? SQLITE_OK : SQLITE_ERROR;
}

/* The parked multi handles (see the header comment). */
typedef struct StreamHttpParked StreamHttpParked;
struct StreamHttpParked {
  CURLM *pMulti;               /* No transfer in it */
  char zKey[STREAM_HTTP_KEY];  /* "scheme://host[:port]" of its connections */
  i64 usAt;                    /* When it was parked */
};
static struct {
  pthread_mutex_t mu;          /* Guards the rest */
  int n;                       /* Entries of a[], oldest first */
  i64 nTaken;                  /* Handles taken from the list (counters */
  i64 nParked;                 /* ... for sqlite3StreamHttpParkStats) */
  StreamHttpParked a[STREAM_HTTP_PARK];
} streamHttpList = { PTHREAD_MUTEX_INITIALIZER, 0, 0, 0, {{0, {0}, 0}} };
static pthread_once_t streamHttpOnce = PTHREAD_ONCE_INIT;

static void streamHttpForkPrepare(void){
  pthread_mutex_lock(&streamHttpList.mu);
}
static void streamHttpForkParent(void){
  pthread_mutex_unlock(&streamHttpList.mu);
}
/* The child: the handles are the parent's (their sockets too): dropped
** untouched. */
static void streamHttpForkChild(void){
  streamHttpList.n = 0;
  pthread_mutex_unlock(&streamHttpList.mu);
}
static void streamHttpAtFork(void){
  pthread_atfork(streamHttpForkPrepare, streamHttpForkParent,
                 streamHttpForkChild);
}

/* The key of zUrl's connections, "scheme://host[:port]", into zKey (""
** if it is not such a URL or too long to be kept). */
static void streamHttpKey(const char *zUrl, char *zKey){
  const char *z = zUrl ? strstr(zUrl, "://") : 0;
  size_t n;
  zKey[0] = 0;
  if( z==0 ) return;
  n = (size_t)(z+3-zUrl) + strcspn(z+3, "/?#");
  if( n<STREAM_HTTP_KEY ){
    memcpy(zKey, zUrl, n);
    zKey[n] = 0;
  }
}

/* The most recently parked multi handle of key zKey, taken off the list,
** or NULL.  Handles parked too long ago are cleaned up on the way. */
static CURLM *streamHttpTake(const char *zKey){
  CURLM *pOld[STREAM_HTTP_PARK];
  CURLM *pGot = 0;
  int i, j, nOld = 0;
  i64 usNow = streamHttpUs();
  pthread_mutex_lock(&streamHttpList.mu);
  for(i=j=0; i<streamHttpList.n; i++){
    StreamHttpParked *pP = &streamHttpList.a[i];
    if( usNow - pP->usAt > (i64)STREAM_HTTP_PARK_MS*1000 ){
      pOld[nOld++] = pP->pMulti;
    }else{
      streamHttpList.a[j++] = *pP;
    }
  }
  streamHttpList.n = j;
  for(i=streamHttpList.n-1; zKey[0] && i>=0; i--){
    if( strcmp(streamHttpList.a[i].zKey, zKey)==0 ){
      pGot = streamHttpList.a[i].pMulti;
      memmove(&streamHttpList.a[i], &streamHttpList.a[i+1],
              (streamHttpList.n-i-1)*sizeof(StreamHttpParked));
      streamHttpList.n--;
      streamHttpList.nTaken++;
      break;
    }
  }
  pthread_mutex_unlock(&streamHttpList.mu);
  for(i=0; i<nOld; i++) curl_multi_cleanup(pOld[i]);
  return pGot;
}

/* Park p's multi handle, which has no transfer: it leaves the pool. */
static void streamHttpPark(StreamHttp *p){
  CURLM *pOld = 0;
  if( p->pMulti==0 || p->nRunning ) return;
  if( p->zKey[0]==0 || p->pid!=getpid() ){
    /* Nothing to key it by, or a pool of the parent: not parked. */
    if( p->pid==getpid() ) curl_multi_cleanup(p->pMulti);
  }else{
    pthread_once(&streamHttpOnce, streamHttpAtFork);
    pthread_mutex_lock(&streamHttpList.mu);
    if( streamHttpList.n==STREAM_HTTP_PARK ){
      pOld = streamHttpList.a[0].pMulti;          /* The oldest goes */
      memmove(&streamHttpList.a[0], &streamHttpList.a[1],
              (STREAM_HTTP_PARK-1)*sizeof(StreamHttpParked));
      streamHttpList.n--;
    }
    streamHttpList.a[streamHttpList.n].pMulti = p->pMulti;
    memcpy(streamHttpList.a[streamHttpList.n].zKey, p->zKey,
           sizeof(p->zKey));
    streamHttpList.a[streamHttpList.n].usAt = streamHttpUs();
    streamHttpList.n++;
    streamHttpList.nParked++;
    pthread_mutex_unlock(&streamHttpList.mu);
    if( pOld ) curl_multi_cleanup(pOld);
  }
  p->pMulti = 0;
}

/* A multi handle for a request to zUrl: the pool's own while one is in
** flight, else a parked one of its key, else a new one. */
static int streamHttpMulti(StreamHttp *p, const char *zUrl){
  if( p->pMulti ) return SQLITE_OK;
  streamHttpKey(zUrl, p->zKey);
  if( p->pid==getpid() ) p->pMulti = streamHttpTake(p->zKey);
  if( p->pMulti==0 ){
    p->pMulti = curl_multi_init();
    if( p->pMulti==0 ) return SQLITE_NOMEM;
    curl_multi_setopt(p->pMulti, CURLMOPT_MAXCONNECTS,
                      (long)STREAM_HTTP_MAXCONNECTS);
  }
  return SQLITE_OK;
}

void sqlite3StreamHttpParkStats(i64 *pnParked, i64 *pnTaken, int *pnNow){
  pthread_mutex_lock(&streamHttpList.mu);
  *pnParked = streamHttpList.nParked;
  *pnTaken = streamHttpList.nTaken;
  *pnNow = streamHttpList.n;
  pthread_mutex_unlock(&streamHttpList.mu);
}

/* Overwrite then free a secret. */
static void streamHttpWipe(char *z){
  if( z ){
    volatile char *v = z;
    while( *v ) *v++ = 0;
    sqlite3_free(z);
  }
}

int sqlite3StreamHttpNew(StreamHttp **pp, const char *zSigV4,
                         const char *zUser, const char *zPass,
                         const char *zToken, long msTimeout){
  StreamHttp *p;
  *pp = 0;
  if( streamHttpGlobal() ) return SQLITE_ERROR;
  p = sqlite3_malloc64(sizeof(*p));
  if( p==0 ) return SQLITE_NOMEM;
  memset(p, 0, sizeof(*p));
  p->pid = getpid();
  p->zSigV4 = sqlite3_mprintf("%s", zSigV4);
  p->zUser = sqlite3_mprintf("%s", zUser ? zUser : "");
  p->zPass = sqlite3_mprintf("%s", zPass ? zPass : "");
  p->zToken = zToken && zToken[0] ? sqlite3_mprintf("%s", zToken) : 0;
  p->msTimeout = msTimeout;
  if( p->zSigV4==0 || p->zUser==0 || p->zPass==0
   || (zToken && zToken[0] && p->zToken==0) ){
    sqlite3StreamHttpFree(p);
    return SQLITE_NOMEM;
  }
  *pp = p;
  return SQLITE_OK;
}

void sqlite3StreamHttpFree(StreamHttp *p){
  int i;
  if( p==0 ) return;
  for(i=0; i<p->nIdle; i++) curl_easy_cleanup(p->aIdle[i]);
  if( p->pMulti ){
    if( p->nRunning==0 ){
      streamHttpPark(p);               /* Its connections live on */
    }else if( p->pid==getpid() ){
      curl_multi_cleanup(p->pMulti);
    }
  }
  sqlite3_free(p->zSigV4);
  streamHttpWipe(p->zUser);
  streamHttpWipe(p->zPass);
  streamHttpWipe(p->zToken);
  sqlite3_free(p);
}

void sqlite3StreamHttpOnWait(StreamHttp *p, void (*x)(void*), void *pArg){
  p->xOnWait = x;
  p->pOnWaitArg = pArg;
}

int sqlite3StreamHttpPace(const StreamHttpReq *pReq, double *pnLeft,
                          double *pRate, double *pusBegin){
  if( pReq->pEasy==0 || pReq->bDone || pReq->aOut==0 || pReq->usFirst==0
   || pReq->nGot==0 || pReq->nGot>=pReq->nOut
   || pReq->usLast<=pReq->usFirst ){
    return 0;
  }
  *pnLeft = (double)(pReq->nOut - pReq->nGot);
  *pRate = (double)pReq->nGot / (double)(pReq->usLast - pReq->usFirst);
  *pusBegin = (double)(pReq->usFirst - pReq->usStart);
  return 1;
}

int sqlite3StreamHttpHeader(StreamHttpReq *pReq, const char *zFmt, ...){
  va_list ap;
  char *z;
  if( pReq->nHeader>=STREAM_HTTP_MAX_HEADER ) return SQLITE_MISUSE;
  va_start(ap, zFmt);
  z = sqlite3_vmprintf(zFmt, ap);
  va_end(ap);
  if( z==0 ) return SQLITE_NOMEM;
  pReq->azHeader[pReq->nHeader++] = z;
  return SQLITE_OK;
}

/* Request body for curl (uploads). */
static size_t streamHttpReadCb(char *a, size_t sz, size_t nmemb, void *pArg){
  StreamHttpReq *pReq = (StreamHttpReq*)pArg;
  size_t n = sz*nmemb;
  if( n>pReq->nBody-pReq->nSent ) n = pReq->nBody-pReq->nSent;
  if( n ) memcpy(a, pReq->aBody+pReq->nSent, n);
  pReq->nSent += n;
  return n;
}

/* Response body from curl. */
static size_t streamHttpWriteCb(char *a, size_t sz, size_t nmemb, void *pArg){
  StreamHttpReq *pReq = (StreamHttpReq*)pArg;
  size_t n = sz*nmemb;
  if( pReq->aOut && pReq->iStatus>=200 && pReq->iStatus<300 ){
    size_t nAll = n;
    if( pReq->iStatus==200 && pReq->nSkipped<pReq->iSkip ){
      /* The bytes before the range asked for: dropped. */
      size_t nDrop = pReq->iSkip-pReq->nSkipped < (i64)n
                   ? (size_t)(pReq->iSkip-pReq->nSkipped) : n;
      pReq->nSkipped += (i64)nDrop;
      a += nDrop;
      n -= nDrop;
      if( n==0 ) return nAll;
    }
    if( pReq->bSuffix && pReq->nGot==0 && pReq->nTotal>=0 ){
      i64 nWant = pReq->nTotal<(i64)pReq->nOut ? pReq->nTotal : (i64)pReq->nOut;
      i64 iFirst = pReq->iRangeFirst<0 ? 0 : pReq->iRangeFirst;
      if( iFirst!=pReq->nTotal-nWant ){
        pReq->bRangeWrong = 1;
        return 0;                        /* Not the tail: stop */
      }
    }
    if( pReq->nGot+n > pReq->nOut ){
      /* More than asked for: what fits is kept (a 200 answer, the whole
      ** object, then holds the range), the transfer aborted. */
      size_t nFit = pReq->nOut - pReq->nGot;
      if( nFit ) memcpy(pReq->aOut+pReq->nGot, a, nFit);
      pReq->nGot += nFit;
      pReq->bOverflow = 1;
      return 0;                          /* Abort: more than asked for */
    }
    memcpy(pReq->aOut+pReq->nGot, a, n);
    pReq->usLast = streamHttpUs();
    if( pReq->nGot==0 ) pReq->usFirst = pReq->usLast;
    pReq->nGot += n;
    return nAll;
  }else{
    if( pReq->nGot+n > STREAM_HTTP_MAX_RESP ){
      pReq->bOverflow = 1;
      return 0;
    }
    if( pReq->nGot+n+1 > pReq->nAlloc ){
      size_t nNew = (pReq->nGot+n+1)*2;
      unsigned char *aNew = sqlite3_realloc64(pReq->aResp, nNew);
      if( aNew==0 ) return 0;
      pReq->aResp = aNew;
      pReq->nAlloc = nNew;
    }
    memcpy(pReq->aResp+pReq->nGot, a, n);
    pReq->aResp[pReq->nGot+n] = 0;
  }
  pReq->nGot += n;
  return n;
}

/* Length of the header value of line a[0..n) named zName, with *pzVal
** set to it (trimmed), or -1 if the line is another header. */
static int streamHttpHeaderIs(const char *a, size_t n, const char *zName,
                              const char **pzVal){
  size_t nName = strlen(zName);
  size_t i;
  if( n<=nName || sqlite3_strnicmp(a, zName, (int)nName)!=0
   || a[nName]!=':' ){
    return -1;
  }
  for(i=nName+1; i<n && (a[i]==' ' || a[i]=='\t'); i++){}
  while( n>i && (a[n-1]=='\r' || a[n-1]=='\n' || a[n-1]==' ') ) n--;
  *pzVal = &a[i];
  return (int)(n-i);
}

static size_t streamHttpHeaderCb(char *a, size_t sz, size_t nmemb,
                                 void *pArg){
  StreamHttpReq *pReq = (StreamHttpReq*)pArg;
  size_t n = sz*nmemb;
  const char *zVal;
  int nVal;
  if( n>5 && memcmp(a, "HTTP/", 5)==0 ){
    /* A new response (after "100 Continue", say): forget the last one. */
    const char *zSp = memchr(a, ' ', n);
    pReq->iStatus = zSp ? strtol(zSp+1, 0, 10) : 0;
    pReq->zEtag[0] = 0;
    pReq->nTotal = -1;
    pReq->iRangeFirst = -1;
    pReq->nGot = 0;
    pReq->usFirst = 0;
    pReq->nSkipped = 0;
  }else if( (nVal = streamHttpHeaderIs(a, n, "etag", &zVal))>=0 ){
    if( (size_t)nVal<sizeof(pReq->zEtag) ){
      memcpy(pReq->zEtag, zVal, nVal);
      pReq->zEtag[nVal] = 0;
    }
  }else if( (nVal = streamHttpHeaderIs(a, n, "content-range", &zVal))>=0 ){
    const char *zSlash = memchr(zVal, '/', nVal);
    if( zSlash && zSlash[1]!='*' ) pReq->nTotal = strtoll(zSlash+1, 0, 10);
    if( nVal>6 && memcmp(zVal, "bytes ", 6)==0 ){
      pReq->iRangeFirst = strtoll(zVal+6, 0, 10);
    }
  }else if( (nVal = streamHttpHeaderIs(a, n, "content-length", &zVal))>=0 ){
    if( pReq->nTotal<0 && pReq->iStatus==200 ){
      pReq->nTotal = strtoll(zVal, 0, 10);
    }
  }
  return n;
}

/* A request's easy handle, configured. */
static CURL *streamHttpEasy(StreamHttp *p, StreamHttpReq *pReq){
  CURL *pE = p->nIdle ? p->aIdle[--p->nIdle] : curl_easy_init();
  struct curl_slist *pList = 0;
  int i, bOk = 1;
  if( pE==0 ) return 0;
  curl_easy_reset(pE);
  for(i=0; bOk && i<pReq->nHeader; i++){
    struct curl_slist *pNew = curl_slist_append(pList, pReq->azHeader[i]);
    if( pNew==0 ) bOk = 0; else pList = pNew;
  }
  if( bOk && p->zToken ){
    char *z = sqlite3_mprintf("x-amz-security-token: %s", p->zToken);
    struct curl_slist *pNew = z ? curl_slist_append(pList, z) : 0;
    streamHttpWipe(z);
    if( pNew==0 ) bOk = 0; else pList = pNew;
  }
  if( !bOk ){
    curl_slist_free_all(pList);
    curl_easy_cleanup(pE);
    return 0;
  }
  pReq->pList = pList;
  curl_easy_setopt(pE, CURLOPT_URL, pReq->zUrl);
  curl_easy_setopt(pE, CURLOPT_HTTPHEADER, pList);
  curl_easy_setopt(pE, CURLOPT_AWS_SIGV4, p->zSigV4);
  curl_easy_setopt(pE, CURLOPT_USERNAME, p->zUser);
  curl_easy_setopt(pE, CURLOPT_PASSWORD, p->zPass);
  curl_easy_setopt(pE, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(pE, CURLOPT_TIMEOUT_MS, p->msTimeout);
  curl_easy_setopt(pE, CURLOPT_CONNECTTIMEOUT_MS,
                   p->msTimeout<10000 ? p->msTimeout : 10000L);
  curl_easy_setopt(pE, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(pE, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(pE, CURLOPT_ERRORBUFFER, pReq->zErr);
  curl_easy_setopt(pE, CURLOPT_WRITEFUNCTION, streamHttpWriteCb);
  curl_easy_setopt(pE, CURLOPT_WRITEDATA, pReq);
  curl_easy_setopt(pE, CURLOPT_HEADERFUNCTION, streamHttpHeaderCb);
  curl_easy_setopt(pE, CURLOPT_HEADERDATA, pReq);
  curl_easy_setopt(pE, CURLOPT_PRIVATE, pReq);
  curl_easy_setopt(pE, CURLOPT_USERAGENT, "sqlite-stream");
  /* (Not "Expect:" in the headers to avoid the 100-continue wait: libcurl
  ** 7.88 would sign that empty header, which is never sent, and every
  ** such request would fail the service's check.  A short wait instead.) */
  curl_easy_setopt(pE, CURLOPT_EXPECT_100_TIMEOUT_MS, 50L);
  if( strcmp(pReq->zMethod, "PUT")==0 ){
    curl_easy_setopt(pE, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(pE, CURLOPT_READFUNCTION, streamHttpReadCb);
    curl_easy_setopt(pE, CURLOPT_READDATA, pReq);
    curl_easy_setopt(pE, CURLOPT_INFILESIZE_LARGE, (curl_off_t)pReq->nBody);
    /* Each pump of the pool may hand this much of the body to the socket
    ** (curl's default, 64 KiB, is one buffer per call): an upload started
    ** in the background (xPutStart) goes out in the few pumps a writer
    ** busy encoding the next file makes. */
    curl_easy_setopt(pE, CURLOPT_UPLOAD_BUFFERSIZE,
                     (long)STREAM_HTTP_UPLOAD_BUFFER);
  }else if( strcmp(pReq->zMethod, "POST")==0 ){
    curl_easy_setopt(pE, CURLOPT_POST, 1L);
    curl_easy_setopt(pE, CURLOPT_POSTFIELDS, pReq->aBody ? (const char*)pReq->aBody : "");
    curl_easy_setopt(pE, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)pReq->nBody);
  }else if( strcmp(pReq->zMethod, "GET")==0 ){
    if( pReq->aOut && pReq->nOut>STREAM_HTTP_DOWNLOAD_BUFFER ){
      /* A large GET: each read takes in up to this much of what has
      ** arrived (curl's default is 16 KiB), so that a reader decoding a
      ** file as it arrives gets its bytes in few pumps. */
      curl_easy_setopt(pE, CURLOPT_BUFFERSIZE,
                       (long)STREAM_HTTP_DOWNLOAD_BUFFER);
    }
  }else if( strcmp(pReq->zMethod, "HEAD")==0 ){
    curl_easy_setopt(pE, CURLOPT_NOBODY, 1L);
  }else{
    curl_easy_setopt(pE, CURLOPT_CUSTOMREQUEST, pReq->zMethod);
  }
  return pE;
}

int sqlite3StreamHttpStart(StreamHttp *p, StreamHttpReq *pReq){
  CURL *pE;
  pReq->iStatus = 0;
  pReq->eCurl = 0;
  pReq->zErr[0] = 0;
  pReq->zEtag[0] = 0;
  pReq->nTotal = -1;
  pReq->nGot = 0;
  pReq->nSent = 0;
  pReq->bOverflow = 0;
  pReq->bRangeWrong = 0;
  pReq->iRangeFirst = -1;
  pReq->bDone = 0;
  pReq->nSkipped = 0;
  pReq->usStart = streamHttpUs();
  pReq->usFirst = 0;
  pReq->usLast = 0;
  if( streamHttpMulti(p, pReq->zUrl) ) return SQLITE_NOMEM;
  pE = streamHttpEasy(p, pReq);
  if( pE==0 || curl_multi_add_handle(p->pMulti, pE)!=CURLM_OK ){
    if( pE ){
      curl_slist_free_all((struct curl_slist*)pReq->pList);
      pReq->pList = 0;
      curl_easy_cleanup(pE);
    }
    streamHttpPark(p);
    return SQLITE_NOMEM;
  }
  pReq->pEasy = pE;
  p->nRunning++;
  return SQLITE_OK;
}

/* A finished or cancelled request gives its handle back to the pool. */
static void streamHttpRelease(StreamHttp *p, StreamHttpReq *pReq, int bKeep){
  CURL *pE = (CURL*)pReq->pEasy;
  if( pE==0 ) return;
  curl_multi_remove_handle(p->pMulti, pE);
  if( bKeep && p->nIdle<STREAM_HTTP_POOL ){
    p->aIdle[p->nIdle++] = pE;
  }else{
    curl_easy_cleanup(pE);
  }
  curl_slist_free_all((struct curl_slist*)pReq->pList);
  pReq->pList = 0;
  pReq->pEasy = 0;
  p->nRunning--;
}

/* Collect the requests curl has finished. */
static int streamHttpCollect(StreamHttp *p){
  CURLMsg *pMsg;
  int nLeft, nDone = 0;
  while( (pMsg = curl_multi_info_read(p->pMulti, &nLeft))!=0 ){
    StreamHttpReq *pReq = 0;
    if( pMsg->msg!=CURLMSG_DONE ) continue;
    curl_easy_getinfo(pMsg->easy_handle, CURLINFO_PRIVATE, (char**)&pReq);
    if( pReq==0 ) continue;
    pReq->eCurl = (int)pMsg->data.result;
    if( pReq->eCurl && pReq->zErr[0]==0 ){
      sqlite3_snprintf(sizeof(pReq->zErr), pReq->zErr, "%s",
                       curl_easy_strerror(pMsg->data.result));
    }
    if( pReq->eCurl==CURLE_OK ){
      long iCode = 0;
      curl_easy_getinfo(pMsg->easy_handle, CURLINFO_RESPONSE_CODE, &iCode);
      pReq->iStatus = iCode;
    }
    pReq->bDone = 1;
    streamHttpRelease(p, pReq, pReq->eCurl==CURLE_OK);
    nDone++;
  }
  if( p->nRunning==0 ) streamHttpPark(p);  /* Nothing in flight */
  return nDone;
}

void sqlite3StreamHttpPump(StreamHttp *p){
  int nRun = 0;
  if( p->nRunning==0 ) return;           /* (Cheap when idle) */
  curl_multi_perform(p->pMulti, &nRun);
  streamHttpCollect(p);
}

void sqlite3StreamHttpWaitFor(StreamHttp *p, StreamHttpReq *pReq,
                              size_t nGot){
  for(;;){
    int nRun = 0;
    if( p->pMulti==0 ) return;           /* Nothing in flight */
    curl_multi_perform(p->pMulti, &nRun);
    if( streamHttpCollect(p) && pReq==0 ) return;
    if( p->xOnWait ) p->xOnWait(p->pOnWaitArg);
    if( pReq ? (pReq->bDone || pReq->pEasy==0 || pReq->nGot>=nGot)
             : p->nRunning==0 ){
      return;
    }
    /* (A request in flight: the pool holds its multi handle.) */
    curl_multi_poll(p->pMulti, 0, 0, 100, 0);
  }
}

void sqlite3StreamHttpWait(StreamHttp *p, StreamHttpReq *pReq){
  sqlite3StreamHttpWaitFor(p, pReq, (size_t)-1);
}

void sqlite3StreamHttpCancel(StreamHttp *p, StreamHttpReq *pReq){
  if( pReq->pEasy ){
    streamHttpRelease(p, pReq, 0);
    pReq->eCurl = CURLE_ABORTED_BY_CALLBACK;
    pReq->bDone = 1;
    if( p->nRunning==0 ) streamHttpPark(p);
  }
}

void sqlite3StreamHttpRun(StreamHttp *p, StreamHttpReq *pReq){
  if( sqlite3StreamHttpStart(p, pReq)!=SQLITE_OK ){
    pReq->eCurl = CURLE_OUT_OF_MEMORY;
    sqlite3_snprintf(sizeof(pReq->zErr), pReq->zErr, "out of memory");
    pReq->bDone = 1;
    return;
  }
  sqlite3StreamHttpWait(p, pReq);
}

void sqlite3StreamHttpReqClear(StreamHttp *p, StreamHttpReq *pReq){
  int i;
  if( p ) sqlite3StreamHttpCancel(p, pReq);
  for(i=0; i<pReq->nHeader; i++) sqlite3_free(pReq->azHeader[i]);
  sqlite3_free(pReq->aResp);
  sqlite3_free(pReq->zUrl);
  memset(pReq, 0, sizeof(*pReq));
}

#endif /* HAVE_LIBCURL */
