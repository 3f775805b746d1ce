/*
** store_s3.c - the s3:// object store: AWS S3, Cloudflare R2, MinIO and
** other S3-compatible services, over libcurl (ext/http.c).
**
**   stream_config('warm.store', 's3://bucket/prefix')
**   stream_config('warm.store', 's3://bucket/prefix?endpoint='
**        || 'https://ACCOUNT.r2.cloudflarestorage.com&region=auto')
**
** URL options (after '?', '&'-separated; docs/tiering.md):
**   endpoint=URL        http(s)://host[:port]; default AWS_ENDPOINT_URL, else
**                       https://s3.<region>.amazonaws.com
**   region=NAME         signing region; default AWS_REGION,
**                       AWS_DEFAULT_REGION, else us-east-1 (R2: auto)
**   addressing=path|virtual  /bucket/key or bucket.host/key; default path
**                       with an endpoint, virtual for AWS
**   timeout_ms=N        limit of one request (default 30000)
**   retries=N           attempts after the first (default 5)
**   part_size_mb=N      multipart part size, 5..512 (default 8): objects
**                       larger than one part are uploaded in parts
**   cache_mb=N          read cache per store and connection (default 32)
**   disk_cache_mb=N     a disk cache of fetched blocks beside the
**                       database, <db>.stream/cache (default 0: none)
**   credentials=PATH    an AWS-style credentials file (INI); profile=NAME
**                       picks its section (default AWS_PROFILE, else
**                       "default").  Without it: AWS_ACCESS_KEY_ID,
**                       AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN.
** Credentials are never part of the URL (refused), never stored in the
** database and never put in a message.
**
** Requests: signed by libcurl (CURLOPT_AWS_SIGV4, region and service "s3"
** given explicitly); the query string pre-sorted and pre-encoded, and
** x-amz-content-sha256 always sent (libcurl 7.88 signs both as given).
**
** Uploads: the bytes are buffered in parts of part_size_mb.  An object of
** one part is one PUT with Content-MD5; a larger one is a multipart upload
** whose parts go up to STREAM_S3_PARALLEL at a time while the next part is
** being written (curl multi).  Commit returns SQLITE_OK only once the
** service acknowledged the object and its ETag is the MD5 of what was sent
** (for a multipart object, the MD5 of the parts' MD5s, "-N"), or, for a
** service whose ETags are not MD5s, once a HEAD shows its size; the
** Content-MD5 of every request makes the service check the bytes.  An
** interrupted multipart upload is aborted; one left by a crash shows in
** xList as "<key>.tmp" (the interface's temporary-upload convention), and
** deleting that aborts it.
**
** Create-only commit (xPutCommitNew): If-None-Match: * (R2, S3), after a
** HEAD that finds no object (the fallback for services that ignore the
** header: then only the check is done, not an atomic create).
**
** Retries: bounded exponential backoff with full jitter on 5xx, 429,
** SlowDown, RequestTimeout, timeouts and broken connections, for
** idempotent requests only (GET, HEAD, PUT of whole bytes, UploadPart,
** DELETE, list).  A request whose outcome is unknown (CompleteMultipart,
** a create-only PUT) is resolved by reading the object's state (HEAD and
** its ETag), never by guessing.  Errors name the bucket, the key, the HTTP
** status and the S3 error code.
**
** Reads: xOpen fetches the last STREAM_S3_TAIL bytes (the Parquet footer
** and, for a small file, all of it) with one ranged GET, which also gives
** the size and ETag; xRead serves ranges from a bounded per-store cache of
** blocks (LRU, cache_mb), fetching missing ones in aligned blocks; a read
** in the second half of a cached range starts GETs of what follows in the
** background (up to STREAM_S3_PREFETCH of STREAM_S3_PRE_SPAN bytes), as
** does a reader's second wait in one file (sequential replay).
** xPrefetch (the segment a scan opens and its next ones, with their sizes
** from the segment index) starts the GET of an object's tail in the
** background (STREAM_S3_TAIL bytes: the footer, or all of a small file;
** only STREAM_S3_TAIL_AHEAD when what precedes it comes whole, so that
** less arrives before the first row: a longer footer's start is then read
** from that body as it arrives) and, at once, of what precedes it: all of
** it if the object is at most STREAM_S3_WHOLE, else its first
** STREAM_S3_PRE_SPAN bytes (the magic and the first column chunks).  The
** xOpen of that key within STREAM_S3_AHEAD_MS waits for the tail only,
** and the open file takes the other GET while it is still running: a
** read of bytes it covers waits until they have arrived, not for the
** whole range, so the first row groups are decoded while the rest of the
** file arrives (a response counts only with the status, range and ETag
** asked for; one that fails part-way is dropped and the bytes still
** missing are fetched again by ranged GETs).  A hint of a later file
** (bNext: not the one opened next) of that size is one GET of all of
** the object instead, footer included, sent as a body GET is (paced);
** its xOpen waits for it (usually in already) and reads nothing more
** (streamS3AllTake: one that fails part-way keeps what came, the rest
** is asked If-Match its ETag, and an object changed meanwhile is opened
** afresh).  The round trip of opening
** the next file overlaps the decoding of the current one.  With
** disk_cache_mb, blocks fetched by
** xRead are also kept in files beside the database (StreamStore.zCacheDir),
** each with the key, ETag, offset and SHA-256 of its bytes: a block
** missing from memory is read from there (checked: a damaged or foreign
** file is deleted and the block fetched again), and the oldest files go
** while the directory holds more than disk_cache_mb.  The tail of an object just put in one
** part, whose ETag the service gave as the MD5 of the bytes, is kept the
** same way (streamS3Known()): the move's footer check reads it without a
** GET.
*/
#include "streamInt.h"
#ifdef HAVE_LIBCURL
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <time.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#define STREAM_S3_PARALLEL   4          /* Parts in flight per upload */
#define STREAM_S3_TAIL       (256*1024) /* Bytes read at open: the footer,
                                        ** and all of a small file */
#define STREAM_S3_TAIL_AHEAD (64*1024)  /* ... fetched ahead of an object
                                        ** whose body comes whole in a
                                        ** second GET (the footer; if it is
                                        ** larger, the rest of it comes
                                        ** with the body) */
#define STREAM_S3_BLOCK      (256*1024) /* Read cache granularity */
#define STREAM_S3_PREFETCH   4          /* Ranged GETs in flight ahead of
                                        ** a sequential reader... */
#define STREAM_S3_PRE_SPAN   (1024*1024) /* ... each of up to this: 4 MiB
                                        ** a round trip (200 MB/s at 20 ms) */
#define STREAM_S3_MAX_PARTS  10000
#define STREAM_S3_DELETE_MAX 1000       /* Keys per DeleteObjects */
#define STREAM_S3_AHEAD      4          /* Object tails fetched ahead */
#define STREAM_S3_AHEAD_MS   2000       /* ... and how long one is used */
#ifndef STREAM_S3_BODIES
# define STREAM_S3_BODIES    1          /* GETs of what precedes a tail in
                                        ** flight at once (the open file's
                                        ** first), the others wait (a
                                        ** -D for bench_s3's comparisons) */
#endif
#define STREAM_S3_WHOLE      (4*1024*1024) /* An object hinted (xPrefetch)
                                        ** with a size up to this, and up
                                        ** to an 8th of cache_mb: all that
                                        ** precedes its tail is fetched in
                                        ** one request */

typedef struct StreamS3Store StreamS3Store;
typedef struct StreamS3Block StreamS3Block;
typedef struct StreamS3Part StreamS3Part;
typedef struct StreamS3Upload StreamS3Upload;
typedef struct StreamS3File StreamS3File;
typedef struct StreamS3Pre StreamS3Pre;
typedef struct StreamS3Ahead StreamS3Ahead;

/* The tail of an object fetched ahead of its xOpen (xPrefetch). */
struct StreamS3Ahead {
  char *zKey;                  /* Full key, or NULL: slot free */
  StreamHttpReq req;           /* GET of its last STREAM_S3_TAIL bytes, or
                               ** of all of it (size hinted, small) */
  unsigned char *a;            /* Their buffer (req.nOut bytes) */
  StreamHttpReq *pHead;        /* With a larger size hinted: GET of what
                               ** precedes the tail (or of its first
                               ** STREAM_S3_PRE_SPAN bytes), handed to the
                               ** open file running (allocated: libcurl
                               ** holds its address) */
  unsigned char *aHead;        /* Their buffer, or NULL: none */
  int bHeadWait;               /* pHead not started yet: STREAM_S3_BODIES
                               ** others were in flight */
  int bAll;                    /* pHead is a GET of all of the object (a
                               ** later file's hint, bNext): no tail GET,
                               ** req unused */
  i64 iSeq;                    /* Order of the hints */
  i64 msStart;                 /* When the GET started (monotonic ms) */
};

/* A range being fetched ahead of a reader. */
struct StreamS3Pre {
  StreamHttpReq *pReq;         /* The ranged GET (allocated) */
  unsigned char *a;            /* Its buffer, or NULL: slot free */
  i64 iOff;                    /* First byte */
  i64 n;                       /* Length */
  int bEtag;                   /* Sent without If-Match (before the ETag
                               ** was known): kept only if its ETag is the
                               ** file's */
};

/* A cached range of an object. */
struct StreamS3Block {
  char *zKey;                  /* Object key (full, with prefix) */
  char *zEtag;                 /* Its ETag when read */
  i64 iOff;                    /* First byte */
  i64 n;                       /* Bytes */
  unsigned char *a;            /* The bytes */
  StreamS3Block *pNext;        /* Next, most recently used first */
};

struct StreamS3Store {
  StreamStore base;            /* Base class - must be first */
  StreamHttp *pHttp;           /* Connection pool, signing */
  char *zBucket;               /* Bucket */
  char *zPrefix;               /* Key prefix, "" or ending in '/' */
  char *zBase;                 /* "scheme://host[:port]" of requests */
  char *zRegion;               /* Signing region */
  int bVirtual;                /* bucket.host addressing */
  int nRetry;                  /* Attempts after the first */
  i64 nPart;                   /* Part size */
  i64 nCacheMax;               /* Read cache limit, bytes */
  i64 nCache;                  /* Bytes in the read cache */
  StreamS3Block *pBlock;       /* Read cache, MRU first */
  int bNoUploadList;           /* The service answered ListMultipartUploads
                               ** with 501 (s3rver): skip that listing */
  StreamS3Ahead aAhead[STREAM_S3_AHEAD];  /* Tails fetched ahead */
  i64 iAheadSeq;               /* Hints made (StreamS3Ahead.iSeq) */
  StreamHttpReq *pLead;        /* The GET of an open file's body, handed
                               ** to it running (its reader takes the
                               ** bytes as they arrive), or NULL */
  i64 nDiskMax;                /* disk_cache_mb in bytes, 0: no disk cache */
  i64 nDisk;                   /* Bytes in the disk cache, -1: not known */
  int bDiskOff;                /* The directory cannot be made: off */
};

struct StreamS3Part {
  StreamHttpReq req;           /* The UploadPart request */
  unsigned char *a;            /* Bytes of the part */
  size_t n;                    /* Used */
  unsigned char aMd5[16];      /* MD5 of the bytes */
  char zEtag[96];              /* ETag the service returned */
  int nTry;                    /* Attempts made */
  int bDone;                   /* Acknowledged and checked */
};

struct StreamS3Upload {
  StreamStoreUpload base;      /* Base class - must be first */
  StreamS3Store *p;            /* Store */
  char *zKey;                  /* Full object key */
  char *zUploadId;             /* Multipart upload id, or NULL */
  StreamS3Part **apPart;       /* Parts (last = being filled) */
  int nPartUsed;               /* Entries of apPart */
  int nPartAlloc;              /* Allocated */
  i64 nTotal;                  /* Bytes written */
  StreamMd5 md5All;            /* MD5 of every byte written */
  int bFirst;                  /* No byte written yet (crash point 0) */
  char zEtagOk[96];            /* The object's ETag, once it was seen to be
                               ** the MD5 form of what was sent */
  StreamHttpReq reqPut;        /* The single PUT (started by xPutStart) */
  int bStarted;                /* xPutStart sent the last bytes */
  int rc;                      /* Sticky error of a background part */
  char *zErr;                  /* ... and its message */
};

struct StreamS3File {
  StreamStoreFile base;        /* Base class - must be first */
  StreamS3Store *p;            /* Store */
  char *zKey;                  /* Full object key */
  i64 nSize;                   /* Size */
  char zEtag[96];              /* ETag at open */
  int nMiss;                   /* Reads that had to wait for a GET */
  char *zReadErr;              /* Message of the last failed xRead */
  StreamS3Pre aPre[STREAM_S3_PREFETCH];  /* Ranges being prefetched */
};

/**************************************************************************
** URLs and options
*/

/* The option zName=zVal of a store URL, checked; values returned through
** the pointers that are not NULL. */
typedef struct StreamS3Opts StreamS3Opts;
struct StreamS3Opts {
  char *zEndpoint;             /* endpoint= */
  char *zRegion;               /* region= */
  int eAddr;                   /* 0 default, 1 path, 2 virtual */
  long msTimeout;              /* timeout_ms= */
  int nRetry;                  /* retries= */
  i64 nPartMb;                 /* part_size_mb= */
  i64 nCacheMb;                /* cache_mb= */
  i64 nDiskMb;                 /* disk_cache_mb= */
  char *zCreds;                /* credentials= */
  char *zProfile;              /* profile= */
};

static void streamS3OptsFree(StreamS3Opts *o){
  sqlite3_free(o->zEndpoint);
  sqlite3_free(o->zRegion);
  sqlite3_free(o->zCreds);
  sqlite3_free(o->zProfile);
  memset(o, 0, sizeof(*o));
}

static int streamS3IsUnreserved(int c){
  return (c>='a' && c<='z') || (c>='A' && c<='Z') || (c>='0' && c<='9')
      || c=='-' || c=='.' || c=='_' || c=='~';
}

/* A prefix character: the key characters and a few more that need
** percent-encoding in a request. */
static int streamS3PrefixChar(int c){
  return streamS3IsUnreserved(c) || c=='=' || c=='+' || c=='!' || c=='*'
      || c=='(' || c==')' || c==',' || c==';' || c=='\'';
}

/* Percent-decode a[0..n) into a new string (options), or NULL if it
** holds a bad escape (or %00). */
static char *streamS3Unescape(const char *a, int n){
  char *z = sqlite3_malloc64(n+1);
  int i, j = 0;
  if( z==0 ) return 0;
  for(i=0; i<n; i++){
    if( a[i]=='%' ){
      int h = 0, k;
      if( i+2>=n ){ sqlite3_free(z); return 0; }
      for(k=1; k<=2; k++){
        char c = a[i+k];
        h = h*16 + (c>='0' && c<='9' ? c-'0' : c>='a' && c<='f' ? c-'a'+10
                    : c>='A' && c<='F' ? c-'A'+10 : -1000);
      }
      if( h<=0 ){ sqlite3_free(z); return 0; }
      z[j++] = (char)h;
      i += 2;
    }else{
      z[j++] = a[i];
    }
  }
  z[j] = 0;
  return z;
}

/* An integer option value in [iMin, iMax]. */
static int streamS3OptInt(const char *zUrl, const char *zName,
                          const char *zVal, i64 iMin, i64 iMax, i64 *piOut,
                          char **pzErr){
  char *zEnd = 0;
  long long v;
  errno = 0;
  v = strtoll(zVal, &zEnd, 10);
  if( zVal[0]==0 || *zEnd || errno || v<iMin || v>iMax ){
    return sqlite3StreamErr(pzErr, SQLITE_ERROR, "invalid warm.store URL"
        " \"%s\": %s must be an integer from %lld to %lld", zUrl, zName,
        iMin, iMax);
  }
  *piOut = v;
  return SQLITE_OK;
}

/* *pz = a copy of zVal (the last one given wins). */
static int streamS3OptStr(char **pz, const char *zVal){
  sqlite3_free(*pz);
  *pz = sqlite3_mprintf("%s", zVal);
  return *pz ? SQLITE_OK : SQLITE_NOMEM;
}

/* Parse zUrl: bucket (*pzBucket), prefix (*pzPrefix, "" or ending '/')
** and options.  Any pointer may be NULL (a check only). */
static int streamS3Parse(const char *zUrl, char **pzBucket, char **pzPrefix,
                         StreamS3Opts *pOpt, char **pzErr){
  const char *z = zUrl+5;              /* After "s3://" */
  const char *zQ = strchr(z, '?');
  int nPath = zQ ? (int)(zQ-z) : (int)strlen(z);
  int nBucket = 0, i, rc = SQLITE_OK;
  StreamS3Opts o;
  memset(&o, 0, sizeof(o));
  o.msTimeout = 30000;
  o.nRetry = 5;
  o.nPartMb = 8;
  o.nCacheMb = 32;
  if( pzBucket ) *pzBucket = 0;
  if( pzPrefix ) *pzPrefix = 0;
  while( nBucket<nPath && z[nBucket]!='/' ) nBucket++;
  for(i=0; i<nBucket; i++){
    if( z[i]=='@' || z[i]==':' ){
      return sqlite3StreamErr(pzErr, SQLITE_ERROR, "invalid warm.store URL"
          " \"s3://(credentials removed)%s\": credentials do not belong in"
          " the URL (use AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or"
          " credentials=/path/to/file)", strrchr(z, '@') ? strrchr(z, '@')
          : "@...");
    }
  }
  if( nBucket<3 || nBucket>63 ){
    return sqlite3StreamErr(pzErr, SQLITE_ERROR, "invalid warm.store URL"
        " \"%s\": expected s3://bucket/prefix with a bucket name of 3 to 63"
        " characters", zUrl);
  }
  for(i=0; i<nBucket; i++){
    char c = z[i];
    if( !((c>='a' && c<='z') || (c>='0' && c<='9') || c=='-' || c=='.') ){
      return sqlite3StreamErr(pzErr, SQLITE_ERROR, "invalid warm.store URL"
          " \"%s\": a bucket name is lowercase letters, digits, '-' and '.'",
          zUrl);
    }
  }
  /* The prefix: components of prefix characters, no "." or "..". */
  {
    int iComp = nBucket+1;
    for(i=nBucket+1; i<=nPath; i++){
      if( i==nPath || z[i]=='/' ){
        int n = i-iComp;
        if( (n==0 && i<nPath) || (n==1 && z[iComp]=='.')
         || (n==2 && z[iComp]=='.' && z[iComp+1]=='.') ){
          return sqlite3StreamErr(pzErr, SQLITE_ERROR, "invalid warm.store"
              " URL \"%s\": the prefix has an empty, \".\" or \"..\""
              " component", zUrl);
        }
        iComp = i+1;
      }else if( !streamS3PrefixChar((unsigned char)z[i]) ){
        return sqlite3StreamErr(pzErr, SQLITE_ERROR, "invalid warm.store URL"
            " \"%s\": a prefix is made of letters, digits and -._~=+!*(),;'",
            zUrl);
      }
    }
    if( nPath>900 ){
      return sqlite3StreamErr(pzErr, SQLITE_TOOBIG, "invalid warm.store URL:"
          " bucket and prefix longer than 900 bytes");
    }
  }
  /* Options. */
  if( zQ ){
    const char *zOpt = zQ+1;
    while( rc==SQLITE_OK && *zOpt ){
      int n = (int)strcspn(zOpt, "&");
      const char *zEq = memchr(zOpt, '=', n);
      int nName = zEq ? (int)(zEq-zOpt) : n;
      char *zVal = zEq ? streamS3Unescape(zEq+1, n-nName-1) : 0;
      i64 v;
      if( zEq==0 || zVal==0 ){
        rc = zEq && zVal==0 && n-nName-1>=0
          ? sqlite3StreamErr(pzErr, SQLITE_ERROR, "invalid warm.store URL"
                " \"%s\": bad %%-escape in option %.*s", zUrl, nName, zOpt)
          : sqlite3StreamErr(pzErr, SQLITE_ERROR, "invalid warm.store URL"
                " \"%s\": expected name=value options after '?'", zUrl);
      }else if( nName==8 && memcmp(zOpt, "endpoint", 8)==0 ){
        size_t k, nHost;
        const char *zHost = strncmp(zVal, "https://", 8)==0 ? zVal+8
                          : strncmp(zVal, "http://", 7)==0 ? zVal+7 : 0;
        nHost = zHost ? strcspn(zHost, "/") : 0;
        for(k=0; zHost && k<nHost; k++){
          char c = zHost[k];
          if( !(streamS3IsUnreserved(c) || c==':' || c=='[' || c==']') ){
            zHost = 0;
          }
        }
        if( zHost==0 || nHost==0 || (zHost[nHost] && strcmp(&zHost[nHost], "/")) ){
          rc = sqlite3StreamErr(pzErr, SQLITE_ERROR, "invalid warm.store URL"
              " \"%s\": endpoint must be http(s)://host[:port] (no user,"
              " path or query)", zUrl);
        }else{
          sqlite3_free(o.zEndpoint);
          o.zEndpoint = sqlite3_mprintf("%.*s", (int)(zHost-zVal+nHost), zVal);
          if( o.zEndpoint==0 ) rc = SQLITE_NOMEM;
        }
      }else if( nName==6 && memcmp(zOpt, "region", 6)==0 ){
        size_t k;
        for(k=0; zVal[k] && ((zVal[k]>='a' && zVal[k]<='z')
                 || (zVal[k]>='0' && zVal[k]<='9') || zVal[k]=='-'); k++){}
        if( k==0 || zVal[k] || k>40 ){
          rc = sqlite3StreamErr(pzErr, SQLITE_ERROR, "invalid warm.store URL"
              " \"%s\": region must be lowercase letters, digits and '-'"
              " (R2: auto)", zUrl);
        }else{
          rc = streamS3OptStr(&o.zRegion, zVal);
        }
      }else if( nName==10 && memcmp(zOpt, "addressing", 10)==0 ){
        if( strcmp(zVal, "path")==0 ) o.eAddr = 1;
        else if( strcmp(zVal, "virtual")==0 ) o.eAddr = 2;
        else rc = sqlite3StreamErr(pzErr, SQLITE_ERROR, "invalid warm.store"
            " URL \"%s\": addressing must be path or virtual", zUrl);
      }else if( nName==10 && memcmp(zOpt, "timeout_ms", 10)==0 ){
        rc = streamS3OptInt(zUrl, "timeout_ms", zVal, 100, 3600000, &v, pzErr);
        o.msTimeout = (long)v;
      }else if( nName==7 && memcmp(zOpt, "retries", 7)==0 ){
        rc = streamS3OptInt(zUrl, "retries", zVal, 0, 20, &v, pzErr);
        o.nRetry = (int)v;
      }else if( nName==12 && memcmp(zOpt, "part_size_mb", 12)==0 ){
        rc = streamS3OptInt(zUrl, "part_size_mb", zVal, 5, 512, &v, pzErr);
        o.nPartMb = v;
      }else if( nName==8 && memcmp(zOpt, "cache_mb", 8)==0 ){
        rc = streamS3OptInt(zUrl, "cache_mb", zVal, 0, 65536, &v, pzErr);
        o.nCacheMb = v;
      }else if( nName==13 && memcmp(zOpt, "disk_cache_mb", 13)==0 ){
        rc = streamS3OptInt(zUrl, "disk_cache_mb", zVal, 0, 1048576, &v,
                            pzErr);
        o.nDiskMb = v;
      }else if( nName==11 && memcmp(zOpt, "credentials", 11)==0 ){
        if( zVal[0]!='/' ){
          rc = sqlite3StreamErr(pzErr, SQLITE_ERROR, "invalid warm.store URL"
              " \"%s\": credentials must be an absolute file path", zUrl);
        }else{
          rc = streamS3OptStr(&o.zCreds, zVal);
        }
      }else if( nName==7 && memcmp(zOpt, "profile", 7)==0 ){
        rc = streamS3OptStr(&o.zProfile, zVal);
      }else{
        rc = sqlite3StreamErr(pzErr, SQLITE_ERROR, "invalid warm.store URL"
            " \"%s\": unknown option \"%.*s\" (known: endpoint, region,"
            " addressing, timeout_ms, retries, part_size_mb, cache_mb,"
            " disk_cache_mb, credentials, profile)", zUrl, nName, zOpt);
      }
      sqlite3_free(zVal);
      zOpt += n;
      if( *zOpt=='&' ) zOpt++;
    }
  }
  if( rc==SQLITE_OK && pzBucket ){
    *pzBucket = sqlite3_mprintf("%.*s", nBucket, z);
    *pzPrefix = nPath>nBucket+1
      ? sqlite3_mprintf("%.*s/", nPath-nBucket-1, z+nBucket+1)
      : sqlite3_mprintf("");
    if( *pzBucket==0 || *pzPrefix==0 ) rc = SQLITE_NOMEM;
  }
  if( rc==SQLITE_OK && pOpt ){
    *pOpt = o;
  }else{
    streamS3OptsFree(&o);
  }
  return rc;
}

int sqlite3StreamS3UrlCheck(const char *zUrl, char **pzErr){
  return streamS3Parse(zUrl, 0, 0, 0, pzErr);
}

/* Append the S3 encoding of a[0..n) to buffer z (room assumed): every
** byte but the unreserved ones (and '/' if bSlash) as %XX. */
static int streamS3Encode(char *z, const char *a, size_t n, int bSlash){
  static const char aHex[] = "0123456789ABCDEF";
  size_t i;
  int j = 0;
  for(i=0; i<n; i++){
    unsigned char c = (unsigned char)a[i];
    if( streamS3IsUnreserved(c) || (bSlash && c=='/') ){
      z[j++] = (char)c;
    }else{
      z[j++] = '%';
      z[j++] = aHex[c>>4];
      z[j++] = aHex[c&15];
    }
  }
  z[j] = 0;
  return j;
}

/* A new string: the encoding of z. */
static char *streamS3Enc(const char *z, int bSlash){
  size_t n = strlen(z);
  char *zOut = sqlite3_malloc64(n*3+1);
  if( zOut ) streamS3Encode(zOut, z, n, bSlash);
  return zOut;
}

/* The URL of full key zKey (NULL: the bucket), with query zQuery (sorted,
** encoded) or NULL. */
static char *streamS3Url(StreamS3Store *p, const char *zKey,
                         const char *zQuery){
  char *zEnc = streamS3Enc(zKey ? zKey : "", 1);
  char *zUrl;
  const char *zHost = strstr(p->zBase, "://")+3;
  if( zEnc==0 ) return 0;
  if( p->bVirtual ){
    zUrl = sqlite3_mprintf("%.*s%s.%s/%s%s%s", (int)(zHost-p->zBase),
        p->zBase, p->zBucket, zHost, zEnc, zQuery ? "?" : "",
        zQuery ? zQuery : "");
  }else{
    zUrl = sqlite3_mprintf("%s/%s%s%s%s%s", p->zBase, p->zBucket,
        zKey ? "/" : "", zEnc, zQuery ? "?" : "", zQuery ? zQuery : "");
  }
  sqlite3_free(zEnc);
  return zUrl;
}

/**************************************************************************
** Credentials
*/

/* Read key zName of section [zProfile] (or [profile zProfile]) of an
** AWS credentials file; NULL if absent. */
static char *streamS3IniGet(const char *zText, const char *zProfile,
                            const char *zName){
  const char *z = zText;
  int bIn = 0;
  size_t nProf = strlen(zProfile), nName = strlen(zName);
  while( *z ){
    size_t n = strcspn(z, "\n");
    const char *zLine = z, *zEnd = z+n;
    while( zLine<zEnd && (*zLine==' ' || *zLine=='\t') ) zLine++;
    while( zEnd>zLine && (zEnd[-1]=='\r' || zEnd[-1]==' ' || zEnd[-1]=='\t') ) zEnd--;
    if( zLine<zEnd && *zLine=='[' ){
      const char *zS = zLine+1;
      size_t nS;
      while( zS<zEnd && *zS==' ' ) zS++;
      if( (size_t)(zEnd-zS)>8 && memcmp(zS, "profile ", 8)==0 ) zS += 8;
      nS = (size_t)(zEnd-zS);
      if( nS>0 && zS[nS-1]==']' ) nS--;
      while( nS>0 && zS[nS-1]==' ' ) nS--;
      bIn = nS==nProf && memcmp(zS, zProfile, nProf)==0;
    }else if( bIn && (size_t)(zEnd-zLine)>nName
           && memcmp(zLine, zName, nName)==0 ){
      const char *zV = zLine+nName;
      while( zV<zEnd && (*zV==' ' || *zV=='\t') ) zV++;
      if( zV<zEnd && *zV=='=' ){
        zV++;
        while( zV<zEnd && (*zV==' ' || *zV=='\t') ) zV++;
        return sqlite3_mprintf("%.*s", (int)(zEnd-zV), zV);
      }
    }
    z += n;
    if( *z ) z++;
  }
  return 0;
}

/* Wipe then free. */
static void streamS3Wipe(char *z){
  if( z ){
    volatile char *v = z;
    while( *v ) *v++ = 0;
    sqlite3_free(z);
  }
}

/* Load credentials: the named file, else the environment. */
static int streamS3Creds(const char *zUrl, const StreamS3Opts *o,
                         char **pzKey, char **pzSecret, char **pzToken,
                         char **pzErr){
  *pzKey = *pzSecret = *pzToken = 0;
  if( o->zCreds ){
    FILE *f = fopen(o->zCreds, "rb");
    char *zText;
    size_t n;
    const char *zProfile = o->zProfile ? o->zProfile
                         : getenv("AWS_PROFILE") ? getenv("AWS_PROFILE")
                         : "default";
    if( f==0 ){
      return sqlite3StreamErr(pzErr, SQLITE_CANTOPEN, "cannot read the"
          " credentials file %s of store %s: %s", o->zCreds, zUrl,
          strerror(errno));
    }
    zText = sqlite3_malloc64(65537);
    if( zText==0 ){ fclose(f); return SQLITE_NOMEM; }
    n = fread(zText, 1, 65536, f);
    fclose(f);
    zText[n] = 0;
    *pzKey = streamS3IniGet(zText, zProfile, "aws_access_key_id");
    *pzSecret = streamS3IniGet(zText, zProfile, "aws_secret_access_key");
    *pzToken = streamS3IniGet(zText, zProfile, "aws_session_token");
    memset(zText, 0, n);
    sqlite3_free(zText);
    if( *pzKey==0 || *pzSecret==0 ){
      streamS3Wipe(*pzKey); streamS3Wipe(*pzSecret); streamS3Wipe(*pzToken);
      *pzKey = *pzSecret = *pzToken = 0;
      return sqlite3StreamErr(pzErr, SQLITE_AUTH, "the credentials file %s"
          " of store %s has no aws_access_key_id and aws_secret_access_key"
          " in profile [%s]", o->zCreds, zUrl, zProfile);
    }
    return SQLITE_OK;
  }else{
    const char *zK = getenv("AWS_ACCESS_KEY_ID");
    const char *zS = getenv("AWS_SECRET_ACCESS_KEY");
    const char *zT = getenv("AWS_SESSION_TOKEN");
    if( zK==0 || zK[0]==0 || zS==0 || zS[0]==0 ){
      return sqlite3StreamErr(pzErr, SQLITE_AUTH, "no credentials for store"
          " %s: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and"
          " AWS_SESSION_TOKEN for temporary ones) in the environment, or"
          " name a credentials file with credentials=/path", zUrl);
    }
    *pzKey = sqlite3_mprintf("%s", zK);
    *pzSecret = sqlite3_mprintf("%s", zS);
    *pzToken = zT && zT[0] ? sqlite3_mprintf("%s", zT) : 0;
    if( *pzKey==0 || *pzSecret==0 || (zT && zT[0] && *pzToken==0) ){
      return SQLITE_NOMEM;
    }
    return SQLITE_OK;
  }
}

/**************************************************************************
** Requests, errors and retries
*/

/* The text of the first <zTag>...</zTag> of XML zXml, entity-decoded, or
** NULL.  *pzAfter (if not NULL) is set past it. */
static char *streamS3XmlTag(const char *zXml, const char *zTag,
                            const char **pzAfter){
  char zOpen[64], zClose[64];
  const char *zA, *zB;
  char *zOut;
  int i, j;
  if( zXml==0 ) return 0;
  sqlite3_snprintf(sizeof(zOpen), zOpen, "<%s>", zTag);
  sqlite3_snprintf(sizeof(zClose), zClose, "</%s>", zTag);
  zA = strstr(zXml, zOpen);
  if( zA==0 ) return 0;
  zA += strlen(zOpen);
  zB = strstr(zA, zClose);
  if( zB==0 ) return 0;
  if( pzAfter ) *pzAfter = zB+strlen(zClose);
  zOut = sqlite3_malloc64(zB-zA+1);
  if( zOut==0 ) return 0;
  for(i=0, j=0; zA+i<zB; i++){
    static const struct { const char *z; char c; } aEnt[] = {
      {"&amp;",'&'}, {"&lt;",'<'}, {"&gt;",'>'}, {"&quot;",'"'},
      {"&apos;",'\''}
    };
    size_t k;
    if( zA[i]=='&' && zA+i+2<zB && zA[i+1]=='#' ){
      /* A character reference: &#NN; or &#xHH; (as UTF-8). */
      const char *zNum = &zA[i+2];
      char *zEnd = 0;
      unsigned long c = (*zNum=='x' || *zNum=='X') ? strtoul(zNum+1, &zEnd, 16)
                                                  : strtoul(zNum, &zEnd, 10);
      if( zEnd && zEnd<zB && *zEnd==';' && c>0 && c<0x110000 ){
        if( c<0x80 ){
          zOut[j++] = (char)c;
        }else if( c<0x800 ){
          zOut[j++] = (char)(0xc0|(c>>6));
          zOut[j++] = (char)(0x80|(c&0x3f));
        }else if( c<0x10000 ){
          zOut[j++] = (char)(0xe0|(c>>12));
          zOut[j++] = (char)(0x80|((c>>6)&0x3f));
          zOut[j++] = (char)(0x80|(c&0x3f));
        }else{
          zOut[j++] = (char)(0xf0|(c>>18));
          zOut[j++] = (char)(0x80|((c>>12)&0x3f));
          zOut[j++] = (char)(0x80|((c>>6)&0x3f));
          zOut[j++] = (char)(0x80|(c&0x3f));
        }
        i = (int)(zEnd-zA);
        continue;
      }
    }
    if( zA[i]=='&' ){
      for(k=0; k<sizeof(aEnt)/sizeof(aEnt[0]); k++){
        size_t nE = strlen(aEnt[k].z);
        if( (size_t)(zB-zA-i)>=nE && memcmp(&zA[i], aEnt[k].z, nE)==0 ){
          zOut[j++] = aEnt[k].c;
          i += (int)nE-1;
          break;
        }
      }
      if( k<sizeof(aEnt)/sizeof(aEnt[0]) ) continue;
    }
    zOut[j++] = zA[i];
  }
  zOut[j] = 0;
  return zOut;
}

/* The S3 error code of a response (<Code>), or NULL. */
static char *streamS3Code(StreamHttpReq *pReq){
  return pReq->aResp ? streamS3XmlTag((char*)pReq->aResp, "Code", 0) : 0;
}

/* True if pReq failed in a way worth retrying (an idempotent request). */
static int streamS3Retryable(StreamHttpReq *pReq){
  if( pReq->eCurl ){
    switch( pReq->eCurl ){
      case CURLE_OUT_OF_MEMORY:
      case CURLE_UNSUPPORTED_PROTOCOL:
      case CURLE_URL_MALFORMAT:
      case CURLE_BAD_FUNCTION_ARGUMENT:
      case CURLE_COULDNT_RESOLVE_HOST:
        return 0;
      default:
        return 1;          /* Timeouts, resets, refused, short bodies */
    }
  }
  if( pReq->iStatus==501 ) return 0;                /* NotImplemented */
  if( pReq->iStatus>=500 || pReq->iStatus==429 ) return 1;
  if( pReq->iStatus==400 ){
    char *zCode = streamS3Code(pReq);
    int b = zCode && (strcmp(zCode, "RequestTimeout")==0
                   || strcmp(zCode, "SlowDown")==0);
    sqlite3_free(zCode);
    return b;
  }
  return 0;
}

/* Sleep before attempt iTry (1, 2, ...): full jitter on an exponential
** ceiling of 50 ms * 2^(iTry-1), at most 2 s. */
static void streamS3Backoff(int iTry){
  unsigned r;
  int msCap = 50<<(iTry>6 ? 6 : iTry-1);
  if( msCap>2000 ) msCap = 2000;
  sqlite3_randomness(sizeof(r), &r);
  sqlite3_sleep((int)(r % (unsigned)msCap) + 1);
}

/* The error for failed request pReq on key zKey (full key; NULL: the
** bucket): names bucket, key, status and S3 code; SQLite code returned. */
static int streamS3Err(StreamS3Store *p, StreamHttpReq *pReq,
                       const char *zWhat, const char *zKey, int nTry,
                       char **pzErr){
  char *zCode = streamS3Code(pReq);
  char *zMsg = pReq->aResp ? streamS3XmlTag((char*)pReq->aResp, "Message", 0)
                           : 0;
  char zTries[40];
  int rc;
  zTries[0] = 0;
  if( nTry>1 ) sqlite3_snprintf(sizeof(zTries), zTries, " (after %d attempts)", nTry);
  if( pReq->eCurl ){
    rc = pReq->eCurl==CURLE_OUT_OF_MEMORY ? SQLITE_NOMEM : SQLITE_IOERR;
    sqlite3StreamErr(pzErr, rc, "s3 %s of bucket %s, key %s failed: no"
        " response: %s%s", zWhat, p->zBucket, zKey ? zKey : "(none)",
        pReq->zErr[0] ? pReq->zErr : "network error", zTries);
  }else{
    long s = pReq->iStatus;
    rc = s==404 ? SQLITE_CANTOPEN : (s==401 || s==403) ? SQLITE_AUTH
       : s==412 ? SQLITE_CONSTRAINT : SQLITE_IOERR;
    sqlite3StreamErr(pzErr, rc, "s3 %s of bucket %s, key %s failed: HTTP"
        " %ld %s%s%s%s", zWhat, p->zBucket, zKey ? zKey : "(none)", s,
        zCode ? zCode : "(no S3 error code)", zMsg ? ": " : "",
        zMsg ? zMsg : "", zTries);
  }
  sqlite3_free(zCode);
  sqlite3_free(zMsg);
  return rc;
}

/* The x-amz-content-sha256 and Content-MD5 headers of a body.  aMd5Known:
** its MD5 if the caller has it already (else computed, and copied to
** aMd5Out if that is not NULL). */
static int streamS3BodyHeaders(StreamHttpReq *pReq, const unsigned char *a,
                               size_t n, const unsigned char *aMd5Known,
                               unsigned char *aMd5Out){
  StreamSha256 sha;
  StreamMd5 md5;
  unsigned char aSha[32], aMd5[16];
  char zHex[65], zB64[32];
  int rc;
  sqlite3StreamSha256Init(&sha);
  sqlite3StreamSha256Update(&sha, a, n);
  sqlite3StreamSha256Final(&sha, aSha);
  sqlite3StreamHex(aSha, 32, zHex);
  rc = sqlite3StreamHttpHeader(pReq, "x-amz-content-sha256: %s", zHex);
  if( rc==SQLITE_OK && a ){
    if( aMd5Known ){
      memcpy(aMd5, aMd5Known, 16);
    }else{
      sqlite3StreamMd5Init(&md5);
      sqlite3StreamMd5Update(&md5, a, n);
      sqlite3StreamMd5Final(&md5, aMd5);
    }
    sqlite3StreamBase64(aMd5, 16, zB64);
    rc = sqlite3StreamHttpHeader(pReq, "Content-MD5: %s", zB64);
    if( aMd5Out ) memcpy(aMd5Out, aMd5, 16);
  }
  return rc;
}

/* Prepare pReq (cleared) for zMethod on full key zKey with query zQuery
** and body a[0..n), whose MD5 is aMd5 (NULL: computed). */
static int streamS3ReqMd5(StreamS3Store *p, StreamHttpReq *pReq,
                          const char *zMethod, const char *zKey,
                          const char *zQuery, const unsigned char *a,
                          size_t n, const unsigned char *aMd5){
  sqlite3StreamHttpReqClear(p->pHttp, pReq);
  pReq->zMethod = zMethod;
  pReq->zUrl = streamS3Url(p, zKey, zQuery);
  pReq->aBody = a;
  pReq->nBody = n;
  if( pReq->zUrl==0 ) return SQLITE_NOMEM;
  return streamS3BodyHeaders(pReq, a, n, aMd5, 0);
}
static int streamS3Req(StreamS3Store *p, StreamHttpReq *pReq,
                       const char *zMethod, const char *zKey,
                       const char *zQuery, const unsigned char *a, size_t n){
  return streamS3ReqMd5(p, pReq, zMethod, zKey, zQuery, a, n, 0);
}

/* Run an idempotent request (prepared) with retries; *pnTry gets the
** attempts made.  Returns when it succeeded (2xx, or a status listed in
** aOk) or failed for good. */
static void streamS3RunFrom(StreamS3Store *p, StreamHttpReq *pReq,
                            int bStarted, int *pnTry){
  int iTry;
  for(iTry=0; ; iTry++){
    if( iTry>0 ) streamS3Backoff(iTry);
    if( iTry==0 && bStarted ){
      sqlite3StreamHttpWait(p->pHttp, pReq);    /* Its first attempt */
    }else{
      sqlite3StreamHttpRun(p->pHttp, pReq);
    }
    if( iTry>=p->nRetry || !streamS3Retryable(pReq) ) break;
  }
  *pnTry = iTry+1;
}
static void streamS3Run(StreamS3Store *p, StreamHttpReq *pReq, int *pnTry){
  streamS3RunFrom(p, pReq, 0, pnTry);
}

static int streamS3Ok(StreamHttpReq *pReq){
  return pReq->eCurl==0 && pReq->iStatus>=200 && pReq->iStatus<300;
}

/* The full key of store key zKey, or NULL. */
static char *streamS3Key(StreamS3Store *p, const char *zKey){
  return sqlite3_mprintf("%s%s", p->zPrefix, zKey);
}

/* *pp = n zeroed bytes for an object of store key zKey (checked). */
static int streamS3Alloc(const char *zKey, size_t n, void **pp,
                         char **pzErr){
  int rc = sqlite3StreamStoreKeyCheck(zKey, pzErr);
  *pp = 0;
  if( rc ) return rc;
  *pp = sqlite3_malloc64(n);
  if( *pp==0 ) return SQLITE_NOMEM;
  memset(*pp, 0, n);
  return SQLITE_OK;
}

/* HEAD of full key zKey: *pbExists, *pnSize, zEtag (96 bytes, may be 0). */
static int streamS3Head(StreamS3Store *p, const char *zKey, int *pbExists,
                        i64 *pnSize, char *zEtag, char **pzErr){
  StreamHttpReq req;
  int rc, nTry;
  memset(&req, 0, sizeof(req));
  *pbExists = 0;
  rc = streamS3Req(p, &req, "HEAD", zKey, 0, 0, 0);
  if( rc==SQLITE_OK ){
    streamS3Run(p, &req, &nTry);
    if( streamS3Ok(&req) ){
      *pbExists = 1;
      if( pnSize ) *pnSize = req.nTotal;
      if( zEtag ) memcpy(zEtag, req.zEtag, sizeof(req.zEtag));
    }else if( req.eCurl==0 && req.iStatus==404 ){
      *pbExists = 0;
    }else{
      rc = streamS3Err(p, &req, "HEAD", zKey, nTry, pzErr);
    }
  }
  sqlite3StreamHttpReqClear(p->pHttp, &req);
  return rc;
}

/**************************************************************************
** Uploads
*/

static int streamS3PutBegin(StreamStore *pStore, const char *zKey,
                            StreamStoreUpload **pp, char **pzErr){
  StreamS3Store *p = (StreamS3Store*)pStore;
  StreamS3Upload *pUp;
  int rc = streamS3Alloc(zKey, sizeof(*pUp), (void**)&pUp, pzErr);
  *pp = 0;
  if( rc ) return rc;
  pUp->base.pStore = pStore;
  pUp->p = p;
  pUp->bFirst = 1;
  sqlite3StreamMd5Init(&pUp->md5All);
  pUp->zKey = streamS3Key(p, zKey);
  if( pUp->zKey==0 ){ sqlite3_free(pUp); return SQLITE_NOMEM; }
  *pp = &pUp->base;
  return SQLITE_OK;
}

static void streamS3PartFree(StreamS3Store *p, StreamS3Part *pPart){
  if( pPart==0 ) return;
  sqlite3StreamHttpReqClear(p->pHttp, &pPart->req);
  sqlite3_free(pPart->a);
  sqlite3_free(pPart);
}

/* A new empty part at the end of pUp. */
static int streamS3PartNew(StreamS3Upload *pUp){
  StreamS3Part *pPart;
  if( pUp->nPartUsed>=STREAM_S3_MAX_PARTS ){
    return sqlite3StreamErr(&pUp->zErr, SQLITE_TOOBIG, "s3 upload of bucket"
        " %s, key %s: more than %d parts of %lld bytes (raise part_size_mb)",
        pUp->p->zBucket, pUp->zKey, STREAM_S3_MAX_PARTS, pUp->p->nPart);
  }
  if( pUp->nPartUsed==pUp->nPartAlloc ){
    int nNew = pUp->nPartAlloc ? pUp->nPartAlloc*2 : 8;
    StreamS3Part **aNew = sqlite3_realloc64(pUp->apPart, sizeof(*aNew)*nNew);
    if( aNew==0 ) return SQLITE_NOMEM;
    pUp->apPart = aNew;
    pUp->nPartAlloc = nNew;
  }
  pPart = sqlite3_malloc64(sizeof(*pPart));
  if( pPart==0 ) return SQLITE_NOMEM;
  memset(pPart, 0, sizeof(*pPart));
  pPart->a = sqlite3_malloc64(pUp->p->nPart);
  if( pPart->a==0 ){ sqlite3_free(pPart); return SQLITE_NOMEM; }
  pUp->apPart[pUp->nPartUsed++] = pPart;
  return SQLITE_OK;
}

/* Start CreateMultipartUpload (once). */
static int streamS3MultiCreate(StreamS3Upload *pUp){
  StreamS3Store *p = pUp->p;
  StreamHttpReq req;
  int rc, nTry;
  memset(&req, 0, sizeof(req));
  rc = streamS3Req(p, &req, "POST", pUp->zKey, "uploads=", 0, 0);
  if( rc==SQLITE_OK ){
    /* Idempotent enough: a retry after a lost response leaves an unused
    ** upload id, which the sweep aborts (xList shows it as "<key>.tmp"). */
    streamS3Run(p, &req, &nTry);
    if( streamS3Ok(&req) ){
      pUp->zUploadId = streamS3XmlTag((char*)req.aResp, "UploadId", 0);
      if( pUp->zUploadId==0 ){
        rc = sqlite3StreamErr(&pUp->zErr, SQLITE_IOERR, "s3 CreateMultipart"
            "Upload of bucket %s, key %s: no UploadId in the response",
            p->zBucket, pUp->zKey);
      }
    }else{
      rc = streamS3Err(p, &req, "CreateMultipartUpload", pUp->zKey, nTry,
                       &pUp->zErr);
    }
  }
  sqlite3StreamHttpReqClear(p->pHttp, &req);
  return rc;
}

/* Start the UploadPart request of part iPart (0-based). */
static int streamS3PartStart(StreamS3Upload *pUp, int iPart){
  StreamS3Store *p = pUp->p;
  StreamS3Part *pPart = pUp->apPart[iPart];
  char *zEncId = streamS3Enc(pUp->zUploadId, 0);
  char *zQuery = zEncId ? sqlite3_mprintf("partNumber=%d&uploadId=%s",
                                          iPart+1, zEncId) : 0;
  int rc;
  sqlite3_free(zEncId);
  if( zQuery==0 ) return SQLITE_NOMEM;
  sqlite3StreamHttpReqClear(p->pHttp, &pPart->req);
  pPart->req.zMethod = "PUT";
  pPart->req.zUrl = streamS3Url(p, pUp->zKey, zQuery);
  pPart->req.aBody = pPart->a;
  pPart->req.nBody = pPart->n;
  sqlite3_free(zQuery);
  if( pPart->req.zUrl==0 ) return SQLITE_NOMEM;
  rc = streamS3BodyHeaders(&pPart->req, pPart->a, pPart->n, 0, pPart->aMd5);
  if( rc==SQLITE_OK ){
    if( pPart->nTry>0 ) streamS3Backoff(pPart->nTry);
    pPart->nTry++;
    rc = sqlite3StreamHttpStart(p->pHttp, &pPart->req);
  }
  return rc;
}

/* Is zEtag, the ETag a part was acknowledged with, right for its bytes:
** the MD5 of the part when it has the MD5 form (32 hex digits), else
** anything (a service whose ETags are not MD5s: the Content-MD5 made it
** check the bytes)? */
static int streamS3PartEtagOk(const StreamS3Part *pPart, const char *zEtag){
  char zHex[33];
  size_t n;
  if( *zEtag=='"' ) zEtag++;
  n = strcspn(zEtag, "\"");
  if( n!=32 || strspn(zEtag, "0123456789abcdefABCDEF")<32 ) return 1;
  sqlite3StreamHex(pPart->aMd5, 16, zHex);
  return sqlite3_strnicmp(zEtag, zHex, 32)==0;
}

/* Check finished parts: acknowledged ones are done (ETag = MD5 of the
** part, or any ETag from a service whose ETags are not MD5s: the
** Content-MD5 made it check the bytes); retryable failures restart, and
** so does a part acknowledged with an MD5 that is not its bytes' (the
** service holds other bytes: never counted as durable).  *pnBusy gets
** the parts still in flight. */
static int streamS3PartsReap(StreamS3Upload *pUp, int *pnBusy){
  StreamS3Store *p = pUp->p;
  int i, nBusy = 0, rc = SQLITE_OK;
  for(i=0; rc==SQLITE_OK && i<pUp->nPartUsed; i++){
    StreamS3Part *pPart = pUp->apPart[i];
    if( pPart->bDone || pPart->req.zUrl==0 ) continue;
    if( !pPart->req.bDone ){ nBusy++; continue; }
    if( streamS3Ok(&pPart->req) && pPart->req.zEtag[0]
     && !streamS3PartEtagOk(pPart, pPart->req.zEtag) ){
      if( pPart->nTry<=p->nRetry ){
        rc = streamS3PartStart(pUp, i);
        nBusy++;
      }else{
        char zHex[33];
        sqlite3StreamHex(pPart->aMd5, 16, zHex);
        rc = sqlite3StreamErr(&pUp->zErr, SQLITE_IOERR, "s3 UploadPart %d of"
            " bucket %s, key %s was acknowledged with ETag %s, not the MD5 of"
            " the bytes sent (\"%s\"), %d attempts", i+1, p->zBucket,
            pUp->zKey, pPart->req.zEtag, zHex, pPart->nTry);
      }
    }else if( streamS3Ok(&pPart->req) && pPart->req.zEtag[0] ){
      sqlite3_snprintf(sizeof(pPart->zEtag), pPart->zEtag, "%s",
                       pPart->req.zEtag);
      pPart->bDone = 1;
      sqlite3StreamHttpReqClear(p->pHttp, &pPart->req);
      sqlite3_free(pPart->a);        /* Only its MD5 and ETag are needed now */
      pPart->a = 0;
    }else if( streamS3Retryable(&pPart->req) && pPart->nTry<=p->nRetry ){
      rc = streamS3PartStart(pUp, i);
      nBusy++;
    }else{
      char zWhat[40];
      sqlite3_snprintf(sizeof(zWhat), zWhat, "UploadPart %d", i+1);
      rc = streamS3Err(p, &pPart->req, zWhat, pUp->zKey, pPart->nTry,
                       &pUp->zErr);
    }
  }
  *pnBusy = nBusy;
  return rc;
}

/* Send the full part at the end of pUp (starting the multipart upload
** first if needed), keeping at most STREAM_S3_PARALLEL in flight. */
static int streamS3PartSend(StreamS3Upload *pUp){
  int rc = SQLITE_OK, nBusy = 0;
  if( pUp->zUploadId==0 ) rc = streamS3MultiCreate(pUp);
  if( rc==SQLITE_OK ) rc = streamS3PartStart(pUp, pUp->nPartUsed-1);
  while( rc==SQLITE_OK ){
    sqlite3StreamHttpPump(pUp->p->pHttp);
    rc = streamS3PartsReap(pUp, &nBusy);
    if( rc || nBusy<STREAM_S3_PARALLEL ) break;
    sqlite3StreamHttpWait(pUp->p->pHttp, 0);
  }
  return rc;
}

/* Move an error of a part (kept in pUp->zErr) to *pzErr. */
static int streamS3UpErr(StreamS3Upload *pUp, int rc, char **pzErr){
  if( pUp->zErr ){
    if( pzErr ){ sqlite3_free(*pzErr); *pzErr = pUp->zErr; }
    else sqlite3_free(pUp->zErr);
    pUp->zErr = 0;
  }
  return rc;
}

static int streamS3PutWrite(StreamStoreUpload *pBase, const void *pData,
                            size_t n, char **pzErr){
  StreamS3Upload *pUp = (StreamS3Upload*)pBase;
  StreamS3Store *p = pUp->p;
  const unsigned char *a = (const unsigned char*)pData;
  int rc = pUp->rc;
  if( rc ) return rc;
  /* Requests of other uploads started (xPutStart) progress meanwhile. */
  sqlite3StreamHttpPump(p->pHttp);
  if( pUp->nPartUsed==0 ) rc = streamS3PartNew(pUp);
  while( rc==SQLITE_OK && n>0 ){
    StreamS3Part *pPart = pUp->apPart[pUp->nPartUsed-1];
    size_t nTake = (size_t)p->nPart - pPart->n;
    if( nTake==0 ){
      /* The part is full and more follows: send it, start another. */
      rc = streamS3PartSend(pUp);
      if( rc==SQLITE_OK ) rc = streamS3PartNew(pUp);
      continue;
    }
    if( nTake>n ) nTake = n;
    memcpy(pPart->a+pPart->n, a, nTake);
    sqlite3StreamMd5Update(&pUp->md5All, a, nTake);
    pPart->n += nTake;
    pUp->nTotal += nTake;
    a += nTake;
    n -= nTake;
  }
  if( rc==SQLITE_OK && pUp->bFirst ){
    pUp->bFirst = 0;
    STREAM_TIER_CRASH(0);
  }
  if( rc ) pUp->rc = rc;
  return streamS3UpErr(pUp, rc, pzErr);
}

/* Abort the multipart upload of pUp, if any (best effort, retried). */
static void streamS3MultiAbort(StreamS3Upload *pUp){
  StreamS3Store *p = pUp->p;
  StreamHttpReq req;
  char *zEncId, *zQuery;
  int nTry;
  if( pUp->zUploadId==0 ) return;
  zEncId = streamS3Enc(pUp->zUploadId, 0);
  zQuery = zEncId ? sqlite3_mprintf("uploadId=%s", zEncId) : 0;
  memset(&req, 0, sizeof(req));
  if( zQuery && streamS3Req(p, &req, "DELETE", pUp->zKey, zQuery, 0, 0)==0 ){
    streamS3Run(p, &req, &nTry);
  }
  sqlite3StreamHttpReqClear(p->pHttp, &req);
  sqlite3_free(zEncId);
  sqlite3_free(zQuery);
}

static void streamS3UploadFree(StreamS3Upload *pUp){
  int i;
  sqlite3StreamHttpReqClear(pUp->p->pHttp, &pUp->reqPut); /* Cancels it */
  for(i=0; i<pUp->nPartUsed; i++) streamS3PartFree(pUp->p, pUp->apPart[i]);
  sqlite3_free(pUp->apPart);
  sqlite3_free(pUp->zUploadId);
  sqlite3_free(pUp->zKey);
  sqlite3_free(pUp->zErr);
  sqlite3_free(pUp);
}

static void streamS3PutAbort(StreamStoreUpload *pBase){
  StreamS3Upload *pUp = (StreamS3Upload*)pBase;
  int i;
  if( pUp==0 ) return;
  for(i=0; i<pUp->nPartUsed; i++){
    sqlite3StreamHttpCancel(pUp->p->pHttp, &pUp->apPart[i]->req);
  }
  streamS3MultiAbort(pUp);
  streamS3UploadFree(pUp);
}

/* The ETag a service that uses MD5 ETags gives the object: the MD5 of a
** single PUT, or MD5(part MD5s)-N. */
static void streamS3ExpectedEtag(StreamS3Upload *pUp, char *zOut){
  unsigned char aMd5[16];
  char zHex[33];
  if( pUp->zUploadId==0 ){
    sqlite3StreamHex(pUp->apPart[0]->aMd5, 16, zHex);
    sqlite3_snprintf(96, zOut, "\"%s\"", zHex);
  }else{
    StreamMd5 md5;
    int i;
    sqlite3StreamMd5Init(&md5);
    for(i=0; i<pUp->nPartUsed; i++){
      sqlite3StreamMd5Update(&md5, pUp->apPart[i]->aMd5, 16);
    }
    sqlite3StreamMd5Final(&md5, aMd5);
    sqlite3StreamHex(aMd5, 16, zHex);
    sqlite3_snprintf(96, zOut, "\"%s-%d\"", zHex, pUp->nPartUsed);
  }
}

/* ETags compared without quotes and case. */
static int streamS3EtagEq(const char *zA, const char *zB){
  size_t nA, nB;
  if( *zA=='"' ) zA++;
  if( *zB=='"' ) zB++;
  nA = strcspn(zA, "\"");
  nB = strcspn(zB, "\"");
  return nA==nB && sqlite3_strnicmp(zA, zB, (int)nA)==0;
}

/* True if zEtag is the MD5-form ETag of pUp's bytes: MD5(parts' MD5s)-N
** for a multipart upload (S3, R2), or the MD5 of all the bytes (a single
** PUT; some services, s3rver among them, for multipart too). */
static int streamS3EtagIsOurs(StreamS3Upload *pUp, const char *zEtag){
  char zExp[96], zWhole[40];
  StreamMd5 md5 = pUp->md5All;
  unsigned char aMd5[16];
  streamS3ExpectedEtag(pUp, zExp);
  sqlite3StreamMd5Final(&md5, aMd5);
  sqlite3StreamHex(aMd5, 16, zWhole);
  return streamS3EtagEq(zEtag, zExp) || streamS3EtagEq(zEtag, zWhole);
}

/* Is the object at pUp's key the bytes of pUp?  *pbOurs set: by its ETag
** (MD5 form) or, if the service's ETags are of another form, its size. */
static int streamS3IsOurs(StreamS3Upload *pUp, const char *zEtag, i64 nSize,
                          int *pbOurs){
  if( streamS3EtagIsOurs(pUp, zEtag) ){
    *pbOurs = 1;
  }else{
    /* An MD5-form ETag ("32 hex" or "32 hex-N") that differs: other
    ** bytes.  Another form (SSE-KMS, some services): trust the size, as
    ** Content-MD5 made the service check every byte it stored. */
    const char *z = zEtag[0]=='"' ? zEtag+1 : zEtag;
    size_t nHex = 0;
    while( nHex<32 && ((z[nHex]>='0' && z[nHex]<='9')
                    || (z[nHex]>='a' && z[nHex]<='f')
                    || (z[nHex]>='A' && z[nHex]<='F')) ) nHex++;
    *pbOurs = nHex<32 && nSize==pUp->nTotal;
  }
  return SQLITE_OK;
}

/* Check a committed object: it must exist with our ETag (or size). */
static int streamS3Verify(StreamS3Upload *pUp, const char *zEtagAck,
                          char **pzErr){
  StreamS3Store *p = pUp->p;
  char zEtag[96];
  char zExp[96];
  i64 nSize = -1;
  int bExists = 0, bOurs = 0, rc;
  streamS3ExpectedEtag(pUp, zExp);
  if( zEtagAck && streamS3EtagIsOurs(pUp, zEtagAck) ){
    sqlite3_snprintf(sizeof(pUp->zEtagOk), pUp->zEtagOk, "%s", zEtagAck);
    return SQLITE_OK;
  }
  rc = streamS3Head(p, pUp->zKey, &bExists, &nSize, zEtag, pzErr);
  if( rc ) return rc;
  if( bExists ) streamS3IsOurs(pUp, zEtag, nSize, &bOurs);
  if( bOurs && streamS3EtagIsOurs(pUp, zEtag) ){
    sqlite3_snprintf(sizeof(pUp->zEtagOk), pUp->zEtagOk, "%s", zEtag);
  }
  if( !bOurs ){
    return sqlite3StreamErr(pzErr, SQLITE_IOERR, "s3 upload of bucket %s,"
        " key %s was acknowledged but the object %s (ETag %s, %lld bytes;"
        " sent %lld bytes, ETag %s)", p->zBucket, pUp->zKey,
        bExists ? "differs" : "is missing", bExists ? zEtag : "-", nSize,
        pUp->nTotal, zExp);
  }
  return SQLITE_OK;
}

/* The error of a create-only put whose key exists. */
static int streamS3Exists(StreamS3Upload *pUp, char **pzErr){
  return sqlite3StreamErr(pzErr, SQLITE_CONSTRAINT, "s3 object %s of bucket"
      " %s already exists (create-only put)", pUp->zKey, pUp->p->zBucket);
}

/* Prepare pUp->reqPut, the single PUT of its one part (bNew: create-only),
** and the part's MD5: that of every byte written (the part holds them
** all), taken from the running MD5 rather than computed again. */
static int streamS3SingleReq(StreamS3Upload *pUp, int bNew){
  StreamS3Part *pPart = pUp->apPart[0];
  StreamMd5 md5 = pUp->md5All;
  int rc;
  sqlite3StreamMd5Final(&md5, pPart->aMd5);
  rc = streamS3ReqMd5(pUp->p, &pUp->reqPut, "PUT", pUp->zKey, 0, pPart->a,
                      pPart->n, pPart->aMd5);
  if( rc ) return rc;
  if( bNew ) rc = sqlite3StreamHttpHeader(&pUp->reqPut, "If-None-Match: *");
  return rc;
}

/* Single PUT of the one part of pUp.  bNew: create-only.  If xPutStart
** sent it, the first attempt is that request, waited for here. */
static int streamS3PutSingle(StreamS3Upload *pUp, int bNew, char **pzErr){
  StreamS3Store *p = pUp->p;
  StreamHttpReq *pReq = &pUp->reqPut;
  int rc = SQLITE_OK, iTry;
  for(iTry=0; ; iTry++){
    int bOurs = 0;
    if( iTry>0 || !pUp->bStarted ){
      if( iTry>0 ) streamS3Backoff(iTry);
      rc = streamS3SingleReq(pUp, bNew);
      if( rc ) break;
      sqlite3StreamHttpRun(p->pHttp, pReq);
    }else{
      sqlite3StreamHttpWait(p->pHttp, pReq);
    }
    if( streamS3Ok(pReq) ){
      STREAM_TIER_CRASH(3);
      rc = streamS3Verify(pUp, pReq->zEtag, pzErr);
      break;
    }
    if( bNew && pReq->eCurl==0 && pReq->iStatus==412 && iTry==0 ){
      rc = streamS3Exists(pUp, pzErr);
      break;
    }
    if( bNew && (pReq->eCurl || pReq->iStatus==412) ){
      /* Outcome unknown (or our own earlier attempt landed): read the
      ** object's state instead of guessing. */
      i64 nSize = -1;
      char zEtag[96];
      int bExists = 0;
      char *zHeadErr = 0;
      if( streamS3Head(p, pUp->zKey, &bExists, &nSize, zEtag, &zHeadErr)==0
       && bExists ){
        streamS3IsOurs(pUp, zEtag, nSize, &bOurs);
        if( bOurs ){ rc = SQLITE_OK; sqlite3_free(zHeadErr); break; }
        rc = streamS3Exists(pUp, pzErr);
        sqlite3_free(zHeadErr);
        break;
      }
      sqlite3_free(zHeadErr);
    }
    if( iTry>=p->nRetry || !streamS3Retryable(pReq) ){
      rc = streamS3Err(p, pReq, "PUT", pUp->zKey, iTry+1, pzErr);
      break;
    }
  }
  sqlite3StreamHttpReqClear(p->pHttp, pReq);
  return rc;
}

/* CompleteMultipartUpload of pUp (every part done). */
static int streamS3MultiComplete(StreamS3Upload *pUp, int bNew,
                                 char **pzErr){
  StreamS3Store *p = pUp->p;
  StreamHttpReq req;
  char *zXml = sqlite3_mprintf("<CompleteMultipartUpload>");
  char *zEncId = streamS3Enc(pUp->zUploadId, 0);
  char *zQuery = zEncId ? sqlite3_mprintf("uploadId=%s", zEncId) : 0;
  int i, rc = SQLITE_OK, iTry;
  memset(&req, 0, sizeof(req));
  for(i=0; zXml && i<pUp->nPartUsed; i++){
    char *zNew = sqlite3_mprintf("%z<Part><PartNumber>%d</PartNumber>"
        "<ETag>%s</ETag></Part>", zXml, i+1, pUp->apPart[i]->zEtag);
    zXml = zNew;
  }
  if( zXml ) zXml = sqlite3_mprintf("%z</CompleteMultipartUpload>", zXml);
  if( zXml==0 || zQuery==0 ) rc = SQLITE_NOMEM;
  for(iTry=0; rc==SQLITE_OK; iTry++){
    char zEtag[96];
    i64 nSize = -1;
    int bExists = 0, bOurs = 0;
    char *zHeadErr = 0;
    if( iTry>0 ) streamS3Backoff(iTry);
    rc = streamS3Req(p, &req, "POST", pUp->zKey, zQuery,
                     (const unsigned char*)zXml, strlen(zXml));
    if( rc==SQLITE_OK ){
      rc = sqlite3StreamHttpHeader(&req, "Content-Type: application/xml");
    }
    if( rc==SQLITE_OK && bNew ){
      rc = sqlite3StreamHttpHeader(&req, "If-None-Match: *");
    }
    if( rc ) break;
    sqlite3StreamHttpRun(p->pHttp, &req);
    /* S3 may answer 200 with an <Error> document. */
    if( streamS3Ok(&req) && req.aResp
     && strstr((char*)req.aResp, "<Error>")==0
     && strstr((char*)req.aResp, "CompleteMultipartUploadResult") ){
      char *zTag = streamS3XmlTag((char*)req.aResp, "ETag", 0);
      STREAM_TIER_CRASH(3);
      rc = streamS3Verify(pUp, zTag, pzErr);
      sqlite3_free(zTag);
      break;
    }
    if( bNew && req.eCurl==0 && req.iStatus==412 && iTry==0 ){
      rc = streamS3Exists(pUp, pzErr);
      break;
    }
    /* Not idempotent: resolve the outcome by reading the object. */
    if( streamS3Head(p, pUp->zKey, &bExists, &nSize, zEtag, &zHeadErr)==0
     && bExists ){
      streamS3IsOurs(pUp, zEtag, nSize, &bOurs);
      sqlite3_free(zHeadErr);
      if( bOurs ){
        sqlite3_free(pUp->zUploadId);      /* Completed: nothing to abort */
        pUp->zUploadId = 0;
        break;
      }
      if( bNew ){
        rc = streamS3Exists(pUp, pzErr);
        break;
      }
    }else{
      sqlite3_free(zHeadErr);
    }
    if( iTry>=p->nRetry || !(streamS3Retryable(&req) || streamS3Ok(&req)) ){
      rc = streamS3Err(p, &req, "CompleteMultipartUpload", pUp->zKey,
                       iTry+1, pzErr);
      if( rc==SQLITE_OK ) rc = SQLITE_IOERR;
      break;
    }
  }
  if( rc==SQLITE_OK ){
    sqlite3_free(pUp->zUploadId);
    pUp->zUploadId = 0;
  }
  sqlite3StreamHttpReqClear(p->pHttp, &req);
  sqlite3_free(zXml);
  sqlite3_free(zEncId);
  sqlite3_free(zQuery);
  return rc;
}

static void streamS3Known(StreamS3Store*, const char *zKey,
                          const unsigned char *a, i64 n, const char *zEtag);

static int streamS3Commit(StreamStoreUpload *pBase, int bNew, char **pzErr){
  StreamS3Upload *pUp = (StreamS3Upload*)pBase;
  StreamS3Store *p = pUp->p;
  int rc = pUp->rc, bSingle = 0;
  if( !pUp->bStarted ){ STREAM_TIER_CRASH(1); }
  if( rc==SQLITE_OK && pUp->nPartUsed==0 ) rc = streamS3PartNew(pUp);
  if( rc==SQLITE_OK && bNew ){
    /* The fallback for services that ignore If-None-Match: look first. */
    int bExists = 0;
    rc = streamS3Head(p, pUp->zKey, &bExists, 0, 0, pzErr);
    if( rc==SQLITE_OK && bExists ){
      rc = streamS3Exists(pUp, pzErr);
    }
  }
  if( rc==SQLITE_OK && pUp->zUploadId==0 ){
    rc = streamS3PutSingle(pUp, bNew, pzErr);
    bSingle = 1;
  }else if( rc==SQLITE_OK ){
    int nBusy = 0;
    if( !pUp->bStarted ) rc = streamS3PartSend(pUp);
    while( rc==SQLITE_OK ){
      rc = streamS3PartsReap(pUp, &nBusy);
      if( rc || nBusy==0 ) break;
      sqlite3StreamHttpWait(p->pHttp, 0);
    }
    STREAM_TIER_CRASH(2);
    if( rc==SQLITE_OK ) rc = streamS3MultiComplete(pUp, bNew, pzErr);
    rc = streamS3UpErr(pUp, rc, pzErr);
  }else{
    rc = streamS3UpErr(pUp, rc, pzErr);
  }
  if( rc==SQLITE_OK ){
    STREAM_TIER_CRASH(4);
    if( bSingle && pUp->zEtagOk[0] ){
      /* Its tail is known: the footer read that follows needs no GET. */
      StreamS3Part *pPart = pUp->apPart[0];
      streamS3Known(p, pUp->zKey, pPart->a, (i64)pPart->n, pUp->zEtagOk);
    }
  }
  if( rc ){
    int i;
    for(i=0; i<pUp->nPartUsed; i++){
      sqlite3StreamHttpCancel(p->pHttp, &pUp->apPart[i]->req);
    }
    streamS3MultiAbort(pUp);
  }
  streamS3UploadFree(pUp);
  return rc;
}

static int streamS3PutCommit(StreamStoreUpload *pUp, char **pzErr){
  return streamS3Commit(pUp, 0, pzErr);
}

/* xPutStart: the single PUT, or the last part of a multipart upload, sent
** without waiting; xPutCommit then waits for it (and retries it if need
** be), completes a multipart upload and checks the ETag as usual.  (Not
** for create-only puts, whose commit looks first.) */
static int streamS3PutStart(StreamStoreUpload *pBase, char **pzErr){
  StreamS3Upload *pUp = (StreamS3Upload*)pBase;
  StreamS3Store *p = pUp->p;
  int rc = pUp->rc;
  if( rc==SQLITE_OK && pUp->bStarted ) return SQLITE_MISUSE;
  STREAM_TIER_CRASH(1);
  if( rc==SQLITE_OK && pUp->nPartUsed==0 ) rc = streamS3PartNew(pUp);
  if( rc==SQLITE_OK && pUp->zUploadId==0 ){
    rc = streamS3SingleReq(pUp, 0);
    if( rc==SQLITE_OK ) rc = sqlite3StreamHttpStart(p->pHttp, &pUp->reqPut);
  }else if( rc==SQLITE_OK ){
    rc = streamS3PartSend(pUp);
  }
  if( rc==SQLITE_OK ){
    pUp->bStarted = 1;
    sqlite3StreamHttpPump(p->pHttp);
  }else{
    pUp->rc = rc;
  }
  return streamS3UpErr(pUp, rc, pzErr);
}
static int streamS3PutCommitNew(StreamStoreUpload *pUp, char **pzErr){
  return streamS3Commit(pUp, 1, pzErr);
}

/**************************************************************************
** Reads and the read cache
*/

/* Drop least recently used blocks until nNeed more bytes fit. */
static void streamS3CacheTrim(StreamS3Store *p, i64 nNeed){
  while( p->pBlock && p->nCache+nNeed>p->nCacheMax ){
    StreamS3Block **pp = &p->pBlock, *pB;
    while( (*pp)->pNext ) pp = &(*pp)->pNext;
    pB = *pp;
    *pp = 0;
    p->nCache -= pB->n;
    sqlite3_free(pB->zKey);
    sqlite3_free(pB->zEtag);
    sqlite3_free(pB->a);
    sqlite3_free(pB);
  }
}

/* Add a[0..n) of (zKey, zEtag) at iOff to the cache (takes a; frees it
** if it does not fit). */
static void streamS3CacheAdd(StreamS3Store *p, const char *zKey,
                             const char *zEtag, i64 iOff, unsigned char *a,
                             i64 n){
  StreamS3Block *pB;
  if( n>p->nCacheMax ){ sqlite3_free(a); return; }
  streamS3CacheTrim(p, n);
  pB = sqlite3_malloc64(sizeof(*pB));
  if( pB ){
    pB->zKey = sqlite3_mprintf("%s", zKey);
    pB->zEtag = sqlite3_mprintf("%s", zEtag);
  }
  if( pB==0 || pB->zKey==0 || pB->zEtag==0 ){
    if( pB ){ sqlite3_free(pB->zKey); sqlite3_free(pB->zEtag); }
    sqlite3_free(pB);
    sqlite3_free(a);
    return;
  }
  pB->iOff = iOff;
  pB->n = n;
  pB->a = a;
  pB->pNext = p->pBlock;
  p->pBlock = pB;
  p->nCache += n;
}

void sqlite3StreamS3CacheUsage(StreamStore *pStore, i64 *pnUsed,
                               i64 *pnMax){
  StreamS3Store *p = (StreamS3Store*)pStore;
  *pnUsed = p->nCache;
  *pnMax = p->nCacheMax;
}

/* The cached block of pF holding byte iOff (moved to the front), or NULL. */
static StreamS3Block *streamS3CacheFind(StreamS3File *pF, i64 iOff){
  StreamS3Store *p = pF->p;
  StreamS3Block **pp;
  for(pp=&p->pBlock; *pp; pp=&(*pp)->pNext){
    StreamS3Block *pB = *pp;
    if( iOff>=pB->iOff && iOff<pB->iOff+pB->n && strcmp(pB->zKey, pF->zKey)==0
     && strcmp(pB->zEtag, pF->zEtag)==0 ){
      *pp = pB->pNext;
      pB->pNext = p->pBlock;
      p->pBlock = pB;
      return pB;
    }
  }
  return 0;
}

/**************************************************************************
** The disk cache (disk_cache_mb)
**
** One file per block, <zCacheDir>/<16 hex>-<offset>.blk (the hex: FNV-1a
** of key and ETag), written to a temporary name and renamed:
**
**   "SSB1" | key bytes (u32) | ETag bytes (u32) | 0 (u32) | offset (i64)
**   | length (i64) | SHA-256 of the block (32) | key | ETag | block
**
** (integers little-endian).  A file is used only if all of it checks
** against what is asked; otherwise it is deleted and the block fetched
** again.  A hit sets the file's mtime: the oldest files go first.
*/
#define STREAM_S3_DISK_HDR 64

static void streamS3Put32(unsigned char *a, u32 v){
  int i;
  for(i=0; i<4; i++) a[i] = (unsigned char)(v>>(8*i));
}
static void streamS3Put64(unsigned char *a, u64 v){
  int i;
  for(i=0; i<8; i++) a[i] = (unsigned char)(v>>(8*i));
}
static u64 streamS3Get64(const unsigned char *a, int n){
  u64 v = 0;
  int i;
  for(i=n-1; i>=0; i--) v = (v<<8) | a[i];
  return v;
}

/* The file of block (zKey, zEtag, iOff), or NULL. */
static char *streamS3DiskPath(StreamS3Store *p, const char *zKey,
                              const char *zEtag, i64 iOff){
  u64 h = 0xcbf29ce484222325ULL;
  const char *z;
  for(z=zKey; *z; z++){ h ^= (unsigned char)*z; h *= 0x100000001b3ULL; }
  h ^= '\n'; h *= 0x100000001b3ULL;
  for(z=zEtag; *z; z++){ h ^= (unsigned char)*z; h *= 0x100000001b3ULL; }
  return sqlite3_mprintf("%s/%016llx-%lld.blk", p->base.zCacheDir,
                         (unsigned long long)h, iOff);
}

typedef struct StreamS3DiskEnt StreamS3DiskEnt;
struct StreamS3DiskEnt { char *zPath; i64 nSize; i64 iTime; };

static int streamS3DiskEntCmp(const void *pA, const void *pB){
  const StreamS3DiskEnt *a = (const StreamS3DiskEnt*)pA;
  const StreamS3DiskEnt *b = (const StreamS3DiskEnt*)pB;
  return a->iTime<b->iTime ? -1 : a->iTime>b->iTime;
}

/* Count the cache's bytes; if bTrim, delete the least recently used
** files until at most nDiskMax bytes remain. */
static void streamS3DiskScan(StreamS3Store *p, int bTrim){
  DIR *pDir = opendir(p->base.zCacheDir);
  struct dirent *pEnt;
  StreamS3DiskEnt *a = 0;
  int n = 0, nAlloc = 0, i;
  i64 nTotal = 0;
  if( pDir==0 ){ p->nDisk = 0; return; }
  while( (pEnt = readdir(pDir))!=0 ){
    size_t nName = strlen(pEnt->d_name);
    struct stat st;
    char *zPath;
    if( bTrim && nName>4 && strcmp(pEnt->d_name+nName-4, ".tmp")==0 ){
      /* Left by a process that died while writing it (an hour ago). */
      zPath = sqlite3_mprintf("%s/%s", p->base.zCacheDir, pEnt->d_name);
      if( zPath && stat(zPath, &st)==0 && st.st_mtime+3600<time(0) ){
        (void)unlink(zPath);
      }
      sqlite3_free(zPath);
      continue;
    }
    if( nName<5 || strcmp(pEnt->d_name+nName-4, ".blk")!=0 ) continue;
    zPath = sqlite3_mprintf("%s/%s", p->base.zCacheDir, pEnt->d_name);
    if( zPath==0 || stat(zPath, &st) || !S_ISREG(st.st_mode) ){
      sqlite3_free(zPath);
      continue;
    }
    nTotal += st.st_size;
    if( n==nAlloc ){
      StreamS3DiskEnt *aNew = sqlite3_realloc64(a, sizeof(*a)*(nAlloc*2+16));
      if( aNew==0 ){ sqlite3_free(zPath); break; }
      a = aNew;
      nAlloc = nAlloc*2+16;
    }
    a[n].zPath = zPath;
    a[n].nSize = st.st_size;
    a[n].iTime = (i64)st.st_mtim.tv_sec*1000000000 + st.st_mtim.tv_nsec;
    n++;
  }
  closedir(pDir);
  if( bTrim && nTotal>p->nDiskMax ){
    qsort(a, n, sizeof(*a), streamS3DiskEntCmp);
    for(i=0; i<n && nTotal>p->nDiskMax; i++){
      if( unlink(a[i].zPath)==0 ) nTotal -= a[i].nSize;
    }
  }
  for(i=0; i<n; i++) sqlite3_free(a[i].zPath);
  sqlite3_free(a);
  p->nDisk = nTotal;
}

/* True if the disk cache is in use (its directory made, its size known). */
static int streamS3DiskOn(StreamS3Store *p){
  if( p->nDiskMax<=0 || p->bDiskOff || p->base.zCacheDir==0 ) return 0;
  if( p->nDisk<0 ){
    char *zParent = sqlite3_mprintf("%s", p->base.zCacheDir);
    char *zSlash = zParent ? strrchr(zParent, '/') : 0;
    if( zSlash ){ *zSlash = 0; (void)mkdir(zParent, 0700); }
    sqlite3_free(zParent);
    if( mkdir(p->base.zCacheDir, 0700) && errno!=EEXIST ){
      p->bDiskOff = 1;
      return 0;
    }
    streamS3DiskScan(p, 1);
  }
  return 1;
}

/* Block (zKey, zEtag) at iOff from the disk cache: *pa (sqlite3_malloc)
** and *pn, 1 returned; 0 if there is none (a bad file is deleted). */
static int streamS3DiskGet(StreamS3Store *p, const char *zKey,
                           const char *zEtag, i64 iOff, unsigned char **pa,
                           i64 *pn){
  char *zPath;
  unsigned char aHdr[STREAM_S3_DISK_HDR], aSha[32];
  unsigned char *a = 0, *aKey = 0;
  size_t nKey = strlen(zKey), nEtag = strlen(zEtag);
  i64 n = 0;
  int fd, bOk = 0;
  struct stat st;
  *pa = 0;
  *pn = 0;
  if( !streamS3DiskOn(p) ) return 0;
  zPath = streamS3DiskPath(p, zKey, zEtag, iOff);
  if( zPath==0 ) return 0;
  fd = open(zPath, O_RDONLY|O_NOFOLLOW|O_NONBLOCK|O_CLOEXEC);
  if( fd<0 ){ sqlite3_free(zPath); return 0; }
  if( fstat(fd, &st)==0 && S_ISREG(st.st_mode)
   && read(fd, aHdr, sizeof(aHdr))==(ssize_t)sizeof(aHdr)
   && memcmp(aHdr, "SSB1", 4)==0
   && streamS3Get64(aHdr+4, 4)==nKey && streamS3Get64(aHdr+8, 4)==nEtag
   && (i64)streamS3Get64(aHdr+16, 8)==iOff ){
    n = (i64)streamS3Get64(aHdr+24, 8);
    if( n>0 && n<=p->nDiskMax
     && st.st_size==(off_t)(STREAM_S3_DISK_HDR+nKey+nEtag+n) ){
      aKey = sqlite3_malloc64(nKey+nEtag+1);
      a = sqlite3_malloc64(n);
    }
    if( a && aKey
     && read(fd, aKey, nKey+nEtag)==(ssize_t)(nKey+nEtag)
     && memcmp(aKey, zKey, nKey)==0 && memcmp(aKey+nKey, zEtag, nEtag)==0
     && read(fd, a, (size_t)n)==(ssize_t)n ){
      StreamSha256 sha;
      sqlite3StreamSha256Init(&sha);
      sqlite3StreamSha256Update(&sha, a, (size_t)n);
      sqlite3StreamSha256Final(&sha, aSha);
      bOk = memcmp(aSha, aHdr+32, 32)==0;
    }
  }
  close(fd);
  sqlite3_free(aKey);
  if( bOk ){
    (void)utimensat(AT_FDCWD, zPath, 0, 0);         /* Recently used */
    *pa = a;
    *pn = n;
  }else{
    if( unlink(zPath)==0 ) p->nDisk -= st.st_size;  /* Damaged: refetch */
    sqlite3_free(a);
  }
  sqlite3_free(zPath);
  return bOk;
}

/* Keep block a[0..n) of (zKey, zEtag) at iOff in the disk cache. */
static void streamS3DiskPut(StreamS3Store *p, const char *zKey,
                            const char *zEtag, i64 iOff,
                            const unsigned char *a, i64 n){
  static unsigned nTmp = 0;
  unsigned char aHdr[STREAM_S3_DISK_HDR];
  size_t nKey = strlen(zKey), nEtag = strlen(zEtag);
  char *zPath, *zTmp;
  StreamSha256 sha;
  int fd, bOk;
  if( n<=0 || !streamS3DiskOn(p)
   || STREAM_S3_DISK_HDR+(i64)(nKey+nEtag)+n>p->nDiskMax ){
    return;
  }
  zPath = streamS3DiskPath(p, zKey, zEtag, iOff);
  zTmp = zPath ? sqlite3_mprintf("%s.%d.%p.%u.tmp", zPath, (int)getpid(),
                                 (void*)p, ++nTmp) : 0;
  if( zTmp==0 ){ sqlite3_free(zPath); return; }
  memcpy(aHdr, "SSB1", 4);
  streamS3Put32(aHdr+4, (u32)nKey);
  streamS3Put32(aHdr+8, (u32)nEtag);
  streamS3Put32(aHdr+12, 0);
  streamS3Put64(aHdr+16, (u64)iOff);
  streamS3Put64(aHdr+24, (u64)n);
  sqlite3StreamSha256Init(&sha);
  sqlite3StreamSha256Update(&sha, a, (size_t)n);
  sqlite3StreamSha256Final(&sha, aHdr+32);
  fd = open(zTmp, O_WRONLY|O_CREAT|O_EXCL|O_CLOEXEC, 0600);
  bOk = fd>=0
     && write(fd, aHdr, sizeof(aHdr))==(ssize_t)sizeof(aHdr)
     && write(fd, zKey, nKey)==(ssize_t)nKey
     && write(fd, zEtag, nEtag)==(ssize_t)nEtag
     && write(fd, a, (size_t)n)==(ssize_t)n;
  if( fd>=0 ) close(fd);
  if( bOk && rename(zTmp, zPath)==0 ){
    p->nDisk += STREAM_S3_DISK_HDR+(i64)(nKey+nEtag)+n;
    if( p->nDisk>p->nDiskMax ) streamS3DiskScan(p, 1);
  }else if( fd>=0 ){
    (void)unlink(zTmp);                 /* A full disk, say: not cached */
  }
  sqlite3_free(zTmp);
  sqlite3_free(zPath);
}

/* True if the disk cache has a file for block (zKey, zEtag) at iOff (not
** checked yet: that is done when it is read). */
static int streamS3DiskHas(StreamS3Store *p, const char *zKey,
                           const char *zEtag, i64 iOff){
  char *zPath;
  int bHas;
  if( !streamS3DiskOn(p) ) return 0;
  zPath = streamS3DiskPath(p, zKey, zEtag, iOff);
  bHas = zPath && access(zPath, R_OK)==0;
  sqlite3_free(zPath);
  return bHas;
}

/* Keep a[0..n) of (zKey, zEtag), from aligned offset iStart on, in the
** disk cache as blocks of STREAM_S3_BLOCK (what xRead looks up). */
static void streamS3DiskPutBlocks(StreamS3Store *p, const char *zKey,
                                  const char *zEtag, i64 iStart,
                                  const unsigned char *a, i64 n){
  i64 i;
  for(i=0; i<n && p->nDiskMax>0; i+=STREAM_S3_BLOCK){
    streamS3DiskPut(p, zKey, zEtag, iStart+i, a+i,
                    n-i<STREAM_S3_BLOCK ? n-i : STREAM_S3_BLOCK);
  }
}

/* Free an allocated request (cancelled if it is running). */
static void streamS3ReqFree(StreamS3Store *p, StreamHttpReq **ppReq){
  if( *ppReq ){
    if( *ppReq==p->pLead ) p->pLead = 0;
    sqlite3StreamHttpReqClear(p->pHttp, *ppReq);
    sqlite3_free(*ppReq);
    *ppReq = 0;
  }
}

/* A new request (zeroed), or NULL. */
static StreamHttpReq *streamS3ReqNew(void){
  StreamHttpReq *pReq = sqlite3_malloc64(sizeof(*pReq));
  if( pReq ) memset(pReq, 0, sizeof(*pReq));
  return pReq;
}

static void streamS3FreeFile(StreamS3File *pF){
  int i;
  if( pF==0 ) return;
  for(i=0; i<STREAM_S3_PREFETCH; i++) streamS3ReqFree(pF->p, &pF->aPre[i].pReq);
  for(i=0; i<STREAM_S3_PREFETCH; i++) sqlite3_free(pF->aPre[i].a);
  sqlite3_free(pF->zKey);
  sqlite3_free(pF->zReadErr);
  sqlite3_free(pF);
}

/* Is the finished answer pReq to the GET of [iOff, iOff+n) of pF those
** bytes of the object pF opened?  Its ETag must be the one of the open
** (If-Match is not relied on: some services ignore it, and the bytes of
** a replaced object read with the old one's footer would give wrong
** rows), its size the one known at open, and it must be a 206 from iOff
** with n bytes, or a 200 (the service ignored Range: the object from its
** first byte, its first iOff bytes dropped by the HTTP layer (iSkip),
** stopped once n bytes came).
** Returns 0 if it is; else 1 if the object is another one now
** (*pbChanged set), 2 if the answer is not the range asked for. */
static int streamS3RangeBad(StreamS3File *pF, const StreamHttpReq *pReq,
                            i64 iOff, i64 n, int *pbChanged){
  *pbChanged = 0;
  if( (pF->zEtag[0] && strcmp(pReq->zEtag, pF->zEtag)!=0)
   || pReq->nTotal!=pF->nSize ){
    *pbChanged = 1;
    return 1;
  }
  if( pReq->iStatus==206 ){
    if( pReq->eCurl==0 && pReq->iRangeFirst==iOff
     && pReq->nGot==(size_t)n ){
      return 0;
    }
  }else if( pReq->iStatus==200 && iOff==pReq->iSkip
         && pReq->nGot==(size_t)n && (pReq->eCurl==0 || pReq->bOverflow) ){
    return 0;
  }
  return 2;
}

/* Ranged GET of [iOff, iOff+n) of pF into a (with retries); the answer
** counts only if it is those bytes of the object opened
** (streamS3RangeBad): an object changed since (412, or another ETag or
** size from a service that ignores If-Match) is an error naming it.  A
** service that ignores Range answers the whole object: the range is cut
** from it as it arrives (iSkip), the rest not fetched. */
static int streamS3GetRange(StreamS3File *pF, StreamHttpReq *pReq,
                            unsigned char *a, i64 iOff, i64 n, int bStart,
                            char **pzErr){
  StreamS3Store *p = pF->p;
  int rc = streamS3Req(p, pReq, "GET", pF->zKey, 0, 0, 0);
  int bChanged = 0;
  if( rc==SQLITE_OK ){
    rc = sqlite3StreamHttpHeader(pReq, "Range: bytes=%lld-%lld", iOff,
                                 iOff+n-1);
  }
  if( rc==SQLITE_OK && pF->zEtag[0] ){
    rc = sqlite3StreamHttpHeader(pReq, "If-Match: %s", pF->zEtag);
  }
  if( rc ) return rc;
  pReq->aOut = a;
  pReq->nOut = (size_t)n;
  pReq->iSkip = iOff;
  if( bStart ) return sqlite3StreamHttpStart(p->pHttp, pReq);
  {
    int iTry;
    for(iTry=0; ; iTry++){
      int bAnswer;                 /* A 2xx answer, even if cut short */
      if( iTry>0 ) streamS3Backoff(iTry);
      sqlite3StreamHttpRun(p->pHttp, pReq);
      bAnswer = pReq->iStatus/100==2
             && (pReq->eCurl==0 || pReq->nGot>0 || pReq->bOverflow);
      if( bAnswer && streamS3RangeBad(pF, pReq, iOff, n, &bChanged)==0 ){
        return SQLITE_OK;
      }
      if( bChanged ) break;
      if( iTry>=p->nRetry || !(streamS3Retryable(pReq) || (pReq->eCurl==0
           && pReq->iStatus/100==2)) ){
        break;
      }
    }
    if( bChanged || (pReq->eCurl==0 && pReq->iStatus==412) ){
      return sqlite3StreamErr(pzErr, SQLITE_IOERR, "s3 object %s of bucket"
          " %s changed while it was read (ETag no longer %s; the answer to"
          " bytes %lld-%lld had ETag %s, size %lld, not %lld)", pF->zKey,
          p->zBucket, pF->zEtag, iOff, iOff+n-1,
          pReq->zEtag[0] ? pReq->zEtag : "(none)", pReq->nTotal, pF->nSize);
    }
    if( pReq->eCurl==0 && pReq->iStatus/100==2 ){
      return sqlite3StreamErr(pzErr, SQLITE_IOERR_SHORT_READ, "s3 GET of"
          " bucket %s, key %s: %lld bytes at %lld asked, %lld received"
          " (HTTP %ld, range from %lld)", p->zBucket, pF->zKey, n, iOff,
          (i64)pReq->nGot, pReq->iStatus, pReq->iRangeFirst);
    }
    return streamS3Err(p, pReq, "GET", pF->zKey, iTry+1, pzErr);
  }
}

/* Monotonic milliseconds. */
static i64 streamS3Ms(void){
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (i64)t.tv_sec*1000 + t.tv_nsec/1000000;
}

static void streamS3AheadFree(StreamS3Store *p, StreamS3Ahead *pA){
  sqlite3StreamHttpReqClear(p->pHttp, &pA->req);   /* Cancels it if busy */
  streamS3ReqFree(p, &pA->pHead);
  sqlite3_free(pA->aHead);
  sqlite3_free(pA->a);
  sqlite3_free(pA->zKey);
  memset(pA, 0, sizeof(*pA));
}

static void streamS3AheadPump(StreamS3Store *p);

/* Start the GET of what precedes a tail fetched ahead (pA->pHead);
** dropped if it cannot be started. */
static void streamS3BodyStart(StreamS3Store *p, StreamS3Ahead *pA){
  pA->bHeadWait = 0;
  if( sqlite3StreamHttpStart(p->pHttp, pA->pHead) ){
    streamS3ReqFree(p, &pA->pHead);
    sqlite3_free(pA->aHead);
    pA->aHead = 0;
  }
}

/* Add body GET pReq (or NULL) to the bodies in flight: their number
** (*pnRun), and whether all of them will be in before a GET sent now
** begins to answer (*pbNear, cleared otherwise), judged by the rate their
** bytes have come at (sqlite3StreamHttpPace): the bytes left of all of
** them (*pnLeft) at the rate of all (*pRate) against the slowest start of
** an answer seen (*pusBegin).  One whose pace is not known yet (just
** sent) clears *pbNear. */
static void streamS3BodyPace(const StreamHttpReq *pReq, int *pnRun,
                             int *pbNear, double *pnLeft, double *pRate,
                             double *pusBegin){
  double nLeft, rRate, usBegin;
  if( pReq==0 || pReq->bDone || pReq->pEasy==0 ) return;
  (*pnRun)++;
  if( !sqlite3StreamHttpPace(pReq, &nLeft, &rRate, &usBegin) ){
    *pbNear = 0;
    return;
  }
  *pnLeft += nLeft;
  *pRate += rRate;
  if( usBegin>*pusBegin ) *pusBegin = usBegin;
}

/* Start the waiting body GETs of the hints, oldest first, while fewer than
** STREAM_S3_BODIES are in flight (the open file's, p->pLead, counted); or
** one more once those in flight are near their end (streamS3BodyPace): it
** is sent so that its first bytes come as their last do, and the
** connection does not stand idle for a round trip between two files. */
static void streamS3BodyKick(StreamS3Store *p){
  int nBusy = 0, bNear = 1;
  double nLeft = 0, rRate = 0, usBegin = 0;
  int i;
  streamS3BodyPace(p->pLead, &nBusy, &bNear, &nLeft, &rRate, &usBegin);
  for(i=0; i<STREAM_S3_AHEAD; i++){
    StreamS3Ahead *pA = &p->aAhead[i];
    if( !pA->bHeadWait ){
      streamS3BodyPace(pA->pHead, &nBusy, &bNear, &nLeft, &rRate, &usBegin);
    }
  }
  if( nBusy>=STREAM_S3_BODIES && bNear && nLeft<=rRate*usBegin ){
    nBusy = STREAM_S3_BODIES-1;            /* Room for one more */
  }
  while( nBusy<STREAM_S3_BODIES ){
    StreamS3Ahead *pNext = 0;
    for(i=0; i<STREAM_S3_AHEAD; i++){
      StreamS3Ahead *pA = &p->aAhead[i];
      if( pA->bHeadWait && (pNext==0 || pA->iSeq<pNext->iSeq) ) pNext = pA;
    }
    if( pNext==0 ) break;
    streamS3BodyStart(p, pNext);
    nBusy++;
  }
}

/* The GET of the first nHead bytes of pA's object (pA->pHead, into
** pA->aHead), made ready to be sent when its turn comes (bHeadWait,
** streamS3BodyKick).  On failure (SQLITE_NOMEM) neither is kept. */
static int streamS3HeadNew(StreamS3Store *p, StreamS3Ahead *pA, i64 nHead){
  pA->aHead = sqlite3_malloc64(nHead);
  pA->pHead = streamS3ReqNew();
  if( pA->aHead==0 || pA->pHead==0
   || streamS3Req(p, pA->pHead, "GET", pA->zKey, 0, 0, 0)
   || sqlite3StreamHttpHeader(pA->pHead, "Range: bytes=0-%lld", nHead-1) ){
    streamS3ReqFree(p, &pA->pHead);
    sqlite3_free(pA->aHead);
    pA->aHead = 0;
    return SQLITE_NOMEM;
  }
  pA->pHead->aOut = pA->aHead;
  pA->pHead->nOut = (size_t)nHead;
  pA->bHeadWait = 1;
  return SQLITE_OK;
}

void sqlite3StreamS3Prefetch(StreamStore *pStore, const char *zKey,
                             i64 nSize, int bNext){
  StreamS3Store *p = (StreamS3Store*)pStore;
  StreamS3Ahead *pFree = 0;
  char *zFull;
  i64 msNow;
  int i, rc;
  /* With the size hinted (the segment index's), the range is explicit
  ** (servers that ignore suffix ranges answer it right), and what
  ** precedes the tail (all of an object up to STREAM_S3_WHOLE) is asked
  ** for at once, in a second GET the open file reads as it arrives.  The
  ** tail is taken only if it is the object's end (bSuffix), the rest only
  ** with the range and ETag asked for, so a wrong hint costs a request,
  ** never a wrong byte. */
  int bWhole = nSize>STREAM_S3_TAIL && nSize<=STREAM_S3_WHOLE
            && nSize<=p->nCacheMax/8;
  /* A later file than the one opened next (bNext): nobody waits for its
  ** first row yet, so all of it comes in one GET, sent as a body is
  ** (paced, streamS3BodyKick), its footer included; one request a file
  ** instead of two (streamS3AllTake). */
  int bAll = bWhole && bNext;
  i64 nBuf = bWhole ? STREAM_S3_TAIL_AHEAD : STREAM_S3_TAIL;
  if( zKey==0 ){
    /* Progress only: of every transfer under way (the tails fetched
    ** ahead, a file's prefetches, an upload started by xPutStart). */
    sqlite3StreamHttpPump(p->pHttp);
    streamS3BodyKick(p);
    return;
  }
  msNow = streamS3Ms();
  if( sqlite3StreamStoreKeyCheck(zKey, 0) ) return;
  zFull = streamS3Key(p, zKey);
  if( zFull==0 ) return;
  for(i=0; i<STREAM_S3_AHEAD; i++){
    StreamS3Ahead *pA = &p->aAhead[i];
    if( pA->zKey && msNow-pA->msStart>STREAM_S3_AHEAD_MS ){
      streamS3AheadFree(p, pA);              /* Never opened: dropped */
    }
    if( pA->zKey && strcmp(pA->zKey, zFull)==0 ){
      sqlite3_free(zFull);                   /* Already under way */
      return;
    }
    if( pA->zKey==0 && pFree==0 ) pFree = pA;
  }
  if( pFree==0 ){ sqlite3_free(zFull); return; }
  pFree->zKey = zFull;
  pFree->msStart = msNow;
  if( bAll ){
    pFree->bAll = 1;
    if( streamS3HeadNew(p, pFree, nSize) ){
      streamS3AheadFree(p, pFree);
      return;
    }
    pFree->iSeq = ++p->iAheadSeq;
    streamS3BodyKick(p);
    sqlite3StreamHttpPump(p->pHttp);
    return;
  }
  pFree->a = sqlite3_malloc64(nBuf);
  rc = pFree->a==0 ? SQLITE_NOMEM
     : streamS3Req(p, &pFree->req, "GET", zFull, 0, 0, 0);
  if( rc==SQLITE_OK ){
    rc = nSize>0
      ? sqlite3StreamHttpHeader(&pFree->req, "Range: bytes=%lld-%lld",
                                nSize-(nSize<nBuf ? nSize : nBuf), nSize-1)
      : sqlite3StreamHttpHeader(&pFree->req, "Range: bytes=-%d",
                                STREAM_S3_TAIL);
  }
  if( rc ){
    streamS3AheadFree(p, pFree);
    return;
  }
  pFree->req.aOut = pFree->a;
  pFree->req.nOut = (size_t)nBuf;
  pFree->req.bSuffix = 1;
  if( sqlite3StreamHttpStart(p->pHttp, &pFree->req) ){
    streamS3AheadFree(p, pFree);
    return;
  }
  if( nSize>nBuf && (bWhole || (STREAM_S3_PRE_SPAN<=p->nCacheMax/8
                                  && p->nDiskMax==0)) ){
    /* Larger than what that brings: what precedes the tail too, or its
    ** first bytes, where a reader starts (the magic, then the first
    ** column chunks), so that its first read does not wait a round trip
    ** of its own.  Best effort; beyond STREAM_S3_WHOLE not with a disk
    ** cache, which may hold them already. */
    i64 nHead = bWhole ? nSize-nBuf
              : (nSize-nBuf<STREAM_S3_PRE_SPAN ? nSize-nBuf : STREAM_S3_PRE_SPAN);
    /* Sent when fewer than STREAM_S3_BODIES others are in flight
    ** (streamS3BodyKick), so that the file opened first arrives first,
    ** not all of them at a fraction of the bandwidth each. */
    streamS3HeadNew(p, pFree, nHead);
  }
  pFree->iSeq = ++p->iAheadSeq;
  streamS3BodyKick(p);
  sqlite3StreamHttpPump(p->pHttp);
}

/* In every round of a wait (sqlite3StreamHttpOnWait): a reader waiting
** for a file's tail or body sends the next file's body GET once those in
** flight are near their end. */
static void streamS3OnWait(void *pArg){
  streamS3BodyKick((StreamS3Store*)pArg);
}

/* Let the GETs of tails fetched ahead progress (a new connection's, say),
** without blocking. */
static void streamS3AheadPump(StreamS3Store *p){
  int i;
  for(i=0; i<STREAM_S3_AHEAD; i++){
    StreamS3Ahead *pA = &p->aAhead[i];
    if( pA->zKey && ((!pA->bAll && !pA->req.bDone) || pA->bHeadWait
                     || (pA->pHead && !pA->pHead->bDone)) ){
      sqlite3StreamHttpPump(p->pHttp);
      streamS3BodyKick(p);
      return;
    }
  }
}

/* An object just written and acknowledged (size n, ETag zEtag checked to
** be the MD5 of a[0..n)): its tail kept as if fetched ahead, and its first
** block (the magic) as if fetched with it, so that the xOpen that reads
** the file back (the move's check, within STREAM_S3_AHEAD_MS) takes them
** without a request.  The service vouched for these bytes by their MD5;
** an older entry makes room if needed. */
static void streamS3Known(StreamS3Store *p, const char *zKey,
                          const unsigned char *a, i64 n, const char *zEtag){
  StreamS3Ahead *pA = 0;
  i64 nTail = n<STREAM_S3_TAIL ? n : STREAM_S3_TAIL;
  i64 nHead = n-nTail<STREAM_S3_BLOCK ? n-nTail : STREAM_S3_BLOCK;
  int i;
  for(i=0; i<STREAM_S3_AHEAD; i++){
    StreamS3Ahead *pI = &p->aAhead[i];
    if( pI->zKey && strcmp(pI->zKey, zKey)==0 ){ pA = pI; break; }
    if( pA==0 || (pA->zKey && (pI->zKey==0 || pI->msStart<pA->msStart)) ){
      pA = pI;
    }
  }
  streamS3AheadFree(p, pA);
  pA->zKey = sqlite3_mprintf("%s", zKey);
  pA->a = sqlite3_malloc64(nTail>0 ? nTail : 1);
  if( pA->zKey==0 || pA->a==0 ){
    streamS3AheadFree(p, pA);
    return;
  }
  memcpy(pA->a, a+(n-nTail), (size_t)nTail);
  pA->msStart = streamS3Ms();
  pA->req.bDone = 1;
  pA->req.iStatus = 206;
  pA->req.nTotal = n;
  pA->req.nGot = (size_t)nTail;
  pA->req.nOut = STREAM_S3_TAIL;
  pA->req.iRangeFirst = n-nTail;
  sqlite3_snprintf(sizeof(pA->req.zEtag), pA->req.zEtag, "%s", zEtag);
  if( nHead>0 && (pA->aHead = sqlite3_malloc64(nHead))!=0
   && (pA->pHead = streamS3ReqNew())!=0 ){
    memcpy(pA->aHead, a, (size_t)nHead);
    pA->pHead->bDone = 1;
    pA->pHead->iStatus = 206;
    pA->pHead->nTotal = n;
    pA->pHead->nGot = (size_t)nHead;
    pA->pHead->nOut = (size_t)nHead;
    pA->pHead->iRangeFirst = 0;
    memcpy(pA->pHead->zEtag, pA->req.zEtag, sizeof(pA->pHead->zEtag));
  }
}

/* True if pReq, a GET of the last nOut bytes of an object (at least
** STREAM_S3_TAIL: its footer), has them all, with the object's size and
** ETag. */
static int streamS3TailOk(StreamHttpReq *pReq){
  i64 nWant = (i64)pReq->nOut;
  return pReq->eCurl==0 && (pReq->iStatus==206 || pReq->iStatus==200)
      && pReq->nTotal>=0 && pReq->zEtag[0] && nWant>=STREAM_S3_TAIL_AHEAD
      && (i64)pReq->nGot==(pReq->nTotal<nWant ? pReq->nTotal : nWant)
      && (pReq->iRangeFirst<0 ? 0 : pReq->iRangeFirst)
         ==pReq->nTotal-(i64)pReq->nGot;
}

/* The tail of full key zKey fetched ahead, if a GET of it was started
** (and not too long ago): waited for, and if it is a usable answer moved
** to *pReq and *pa (returns 1).  The GET of what precedes it, if there is
** one, goes to pHead, done or still running, even if the tail is not
** usable (the open asks for that again): its bytes count only once the
** open file's size and ETag are known to be its own (streamS3PreOk).  The
** slot is freed either way. */
static int streamS3AheadTake(StreamS3Store *p, const char *zKey,
                             StreamHttpReq *pReq, unsigned char **pa,
                             StreamS3Pre *pHead){
  int i, bOk = 0;
  for(i=0; i<STREAM_S3_AHEAD; i++){
    StreamS3Ahead *pA = &p->aAhead[i];
    if( pA->zKey==0 || pA->bAll || strcmp(pA->zKey, zKey)!=0 ) continue;
    if( streamS3Ms()-pA->msStart<=STREAM_S3_AHEAD_MS ){
      sqlite3StreamHttpWait(p->pHttp, &pA->req);
      bOk = pA->req.bDone && !pA->req.bRangeWrong && streamS3TailOk(&pA->req);
    }
    if( bOk ){
      sqlite3StreamHttpReqClear(p->pHttp, pReq);
      *pReq = pA->req;
      memset(&pA->req, 0, sizeof(pA->req));
      sqlite3_free(*pa);
      *pa = pA->a;
      pA->a = 0;
    }
    if( pA->aHead && pA->pHead && pA->bHeadWait ){
      streamS3BodyStart(p, pA);            /* Wanted now */
    }
    if( pA->aHead && pA->pHead ){
      /* Not waited for: the reader takes its bytes as they arrive. */
      if( !pA->pHead->bDone ) p->pLead = pA->pHead;
      pHead->pReq = pA->pHead;
      pA->pHead = 0;
      pHead->a = pA->aHead;
      pHead->iOff = 0;
      pHead->n = (i64)pHead->pReq->nOut;
      pHead->bEtag = 1;
      pA->aHead = 0;
    }
    streamS3AheadFree(p, pA);
    break;
  }
  return bOk;
}

/* Open pF on the GET of all of its object sent ahead (a later file's
** hint: a slot with bAll), if there is one: waited for (sent now if it
** was still waiting its turn).  Its answer counts only if it is the
** object's start (206 from byte 0, or 200) with the object's size and
** ETag and fits the read cache; then pF has that size and ETag, and its
** bytes go to the cache (*pbOpen set).  Bytes it lacks (a connection
** dropped or a body cut short part-way, a size hinted too small) are
** fetched by one ranged GET of just those, If-Match that ETag; if its
** answer says the object changed (412, or another ETag or size, from a
** service that ignores If-Match) nothing of either is used and *pbOpen
** stays clear, as with any other answer: the open then asks afresh.  An
** error other than that (the rest's GET failing after its retries) is
** returned.  The slot is freed either way. */
static int streamS3AllTake(StreamS3File *pF, int *pbOpen, char **pzErr){
  StreamS3Store *p = pF->p;
  StreamS3Ahead *pA = 0;
  StreamHttpReq *pReq;
  unsigned char *a;
  i64 nTotal, nGot;
  int i, rc = SQLITE_OK;
  *pbOpen = 0;
  for(i=0; i<STREAM_S3_AHEAD && pA==0; i++){
    StreamS3Ahead *pI = &p->aAhead[i];
    if( pI->zKey && pI->bAll && strcmp(pI->zKey, pF->zKey)==0 ) pA = pI;
  }
  if( pA==0 ) return SQLITE_OK;
  if( streamS3Ms()-pA->msStart>STREAM_S3_AHEAD_MS || pA->pHead==0 ){
    streamS3AheadFree(p, pA);
    return SQLITE_OK;
  }
  if( pA->bHeadWait ) streamS3BodyStart(p, pA);        /* Wanted now */
  pReq = pA->pHead;
  if( pReq ) sqlite3StreamHttpWait(p->pHttp, pReq);   /* (Paced as a body
                                          ** while in its slot) */
  if( pReq==0 || !pReq->bDone
   || !(pReq->iStatus==206 ? pReq->iRangeFirst==0 : pReq->iStatus==200)
   || pReq->zEtag[0]==0 || pReq->nTotal<=0 || pReq->nTotal>p->nCacheMax
   || pReq->nGot==0 || (i64)pReq->nGot>pReq->nTotal ){
    streamS3AheadFree(p, pA);
    return SQLITE_OK;
  }
  nTotal = pReq->nTotal;
  nGot = (i64)pReq->nGot;
  a = pA->aHead;
  if( nTotal>(i64)pReq->nOut ){
    a = sqlite3_realloc64(a, nTotal);          /* Hinted too small */
    if( a==0 ){
      streamS3AheadFree(p, pA);
      return SQLITE_NOMEM;
    }
  }
  pA->aHead = 0;
  pF->nSize = nTotal;
  sqlite3_snprintf(sizeof(pF->zEtag), pF->zEtag, "%s", pReq->zEtag);
  streamS3AheadFree(p, pA);
  if( nGot<nTotal ){
    /* Only what is missing, of that same object. */
    StreamHttpReq req;
    char *zErr = 0;
    memset(&req, 0, sizeof(req));
    rc = streamS3GetRange(pF, &req, a+nGot, nGot, nTotal-nGot, 0, &zErr);
    if( req.iStatus==412 || (req.iStatus/100==2
         && (strcmp(req.zEtag, pF->zEtag)!=0 || req.nTotal!=nTotal)) ){
      rc = SQLITE_OK;                          /* Changed: ask afresh */
      sqlite3_free(a);
      a = 0;
    }
    sqlite3StreamHttpReqClear(p->pHttp, &req);
    if( rc ){
      sqlite3_free(a);
      if( pzErr ){ *pzErr = zErr; zErr = 0; }
      sqlite3_free(zErr);
      return rc;
    }
    sqlite3_free(zErr);
    if( a==0 ){
      pF->nSize = 0;
      pF->zEtag[0] = 0;
      return SQLITE_OK;
    }
  }
  streamS3DiskPutBlocks(p, pF->zKey, pF->zEtag, 0, a, nTotal);
  streamS3CacheAdd(p, pF->zKey, pF->zEtag, 0, a, nTotal);
  *pbOpen = 1;
  return SQLITE_OK;
}

static int streamS3Open(StreamStore *pStore, const char *zKey,
                        StreamStoreFile **pp, i64 *pnSize, char **pzErr){
  StreamS3Store *p = (StreamS3Store*)pStore;
  StreamS3File *pF;
  StreamHttpReq req;
  unsigned char *a = 0;
  i64 nKnown = -1;                   /* Size, once a response told it */
  int rc = streamS3Alloc(zKey, sizeof(*pF), (void**)&pF, pzErr), iTry;
  int bAhead;                        /* The tail was fetched ahead */
  int bAll = 0;                      /* All of it was fetched ahead */
  *pp = 0;
  if( rc ) return rc;
  pF->base.pStore = pStore;
  pF->p = p;
  pF->zKey = streamS3Key(p, zKey);
  a = sqlite3_malloc64(STREAM_S3_TAIL);
  memset(&req, 0, sizeof(req));
  if( pF->zKey==0 || a==0 ){ rc = SQLITE_NOMEM; goto out; }
  /* All of it fetched ahead (a later file's hint), or else one request:
  ** the tail (footer) of the object, its size and ETag (unless it was
  ** fetched ahead). */
  rc = streamS3AllTake(pF, &bAll, pzErr);
  if( rc ) goto out;
  if( bAll ) goto opened;
  bAhead = streamS3AheadTake(p, pF->zKey, &req, &a, &pF->aPre[0]);
  for(iTry=0; !bAhead; iTry++){
    if( iTry>0 ) streamS3Backoff(iTry);
    rc = streamS3Req(p, &req, "GET", pF->zKey, 0, 0, 0);
    if( rc==SQLITE_OK ){
      rc = nKnown<0
        ? sqlite3StreamHttpHeader(&req, "Range: bytes=-%d", STREAM_S3_TAIL)
        : sqlite3StreamHttpHeader(&req, "Range: bytes=%lld-%lld",
              nKnown-(nKnown<STREAM_S3_TAIL ? nKnown : STREAM_S3_TAIL),
              nKnown-1);
    }
    if( rc ) goto out;
    req.aOut = a;
    req.nOut = STREAM_S3_TAIL;
    req.bSuffix = 1;
    sqlite3StreamHttpRun(p->pHttp, &req);
    if( req.bRangeWrong && nKnown<0 ){
      /* The server ignored the suffix range (s3rver does): ask for the
      ** explicit range now that the size is known. */
      nKnown = req.nTotal;
      iTry--;
      continue;
    }
    if( streamS3TailOk(&req) ) break;
    if( req.eCurl==0 && req.iStatus==416 ){
      /* An empty object: no range of it is satisfiable. */
      req.nTotal = 0;
      req.nGot = 0;
      break;
    }
    if( iTry>=p->nRetry || !(streamS3Retryable(&req)
          || (req.eCurl==0 && req.iStatus/100==2)) ){
      if( req.eCurl==0 && req.iStatus==404 ){
        char *zCode = streamS3Code(&req);
        if( zCode && strcmp(zCode, "NoSuchBucket")==0 ){
          rc = sqlite3StreamErr(pzErr, SQLITE_CANTOPEN, "warm segment %s"
              " cannot be read: bucket %s does not exist (HTTP 404"
              " NoSuchBucket; was warm.store changed, or the bucket"
              " deleted?)", pF->zKey, p->zBucket);
        }else{
          rc = sqlite3StreamErr(pzErr, SQLITE_CANTOPEN, "warm segment %s"
              " cannot be opened: it is missing from bucket %s (HTTP 404 %s;"
              " deleted outside the extension?)", pF->zKey, p->zBucket,
              zCode ? zCode : "NoSuchKey");
        }
        sqlite3_free(zCode);
      }else{
        rc = streamS3Err(p, &req, "GET", pF->zKey, iTry+1, pzErr);
      }
      goto out;
    }
  }
  pF->nSize = req.nTotal;
  sqlite3_snprintf(sizeof(pF->zEtag), pF->zEtag, "%s", req.zEtag);
  if( req.nGot>0 ){
    unsigned char *aTail = sqlite3_realloc64(a, req.nGot);
    if( aTail ) a = aTail;
    streamS3CacheAdd(p, pF->zKey, pF->zEtag, pF->nSize-(i64)req.nGot, a,
                     (i64)req.nGot);
    a = 0;
  }
 opened:
  *pnSize = pF->nSize;
  *pp = &pF->base;
  pF = 0;
 out:
  sqlite3StreamHttpReqClear(p->pHttp, &req);
  sqlite3_free(a);
  streamS3FreeFile(pF);
  return rc;
}

/* The prefetch slot of pF whose block holds byte iOff, or -1. */
static int streamS3PreFind(StreamS3File *pF, i64 iOff){
  int i;
  for(i=0; i<STREAM_S3_PREFETCH; i++){
    StreamS3Pre *pP = &pF->aPre[i];
    if( pP->a && iOff>=pP->iOff && iOff<pP->iOff+pP->n ) return i;
  }
  return -1;
}

/* The first byte at or after iOff that is held (cached, on the disk,
** being fetched), within [iOff, iLimit); iLimit if none. */
static i64 streamS3HeldFrom(StreamS3File *pF, i64 iOff, i64 iLimit){
  for(; iOff<iLimit; iOff+=STREAM_S3_BLOCK){
    if( streamS3PreFind(pF, iOff)>=0 || streamS3CacheFind(pF, iOff)
     || streamS3DiskHas(pF->p, pF->zKey, pF->zEtag, iOff) ){
      return iOff;
    }
  }
  return iLimit;
}

/* Start fetching what follows iEnd, up to STREAM_S3_PREFETCH ranges of up
** to STREAM_S3_PRE_SPAN bytes, in the background (what is neither cached
** nor under way), and send the requests now, so the service works while
** the reader decodes.  The cache stays bounded: a range lands in it (LRU,
** cache_mb) only once it is read. */
static void streamS3Prefetch(StreamS3File *pF, i64 iEnd){
  i64 iOff = iEnd;
  i64 iLimit = iEnd + (i64)STREAM_S3_PREFETCH*STREAM_S3_PRE_SPAN;
  int bStarted = 0;
  if( iLimit>pF->nSize ) iLimit = pF->nSize;
  while( iOff<iLimit ){
    StreamS3Pre *pP = 0;
    i64 n, iHeld;
    int i = streamS3PreFind(pF, iOff);
    StreamS3Block *pB;
    if( i>=0 ){                              /* Under way: past it */
      iOff = pF->aPre[i].iOff + pF->aPre[i].n;
      continue;
    }
    if( (pB = streamS3CacheFind(pF, iOff))!=0 ){
      iOff = pB->iOff + pB->n;
      continue;
    }
    if( streamS3DiskHas(pF->p, pF->zKey, pF->zEtag, iOff) ){
      iOff += STREAM_S3_BLOCK;
      continue;
    }
    for(i=0; i<STREAM_S3_PREFETCH && pF->aPre[i].a; i++){}
    if( i==STREAM_S3_PREFETCH ) break;
    pP = &pF->aPre[i];
    n = iLimit-iOff < STREAM_S3_PRE_SPAN ? iLimit-iOff : STREAM_S3_PRE_SPAN;
    iHeld = streamS3HeldFrom(pF, iOff+STREAM_S3_BLOCK, iOff+n);
    n = iHeld-iOff;
    pP->a = sqlite3_malloc64(n);
    pP->pReq = streamS3ReqNew();
    pP->iOff = iOff;
    pP->n = n;
    if( pP->a==0 || pP->pReq==0
     || streamS3GetRange(pF, pP->pReq, pP->a, iOff, n, 1, 0) ){
      streamS3ReqFree(pF->p, &pP->pReq);
      sqlite3_free(pP->a);
      pP->a = 0;
      break;
    }
    bStarted = 1;
    iOff += n;
  }
  if( bStarted ) sqlite3StreamHttpPump(pF->p->pHttp);
}

/* Is the response of prefetch slot pP, as far as it has come, the one
** asked for (206 from the range's first byte, or 200 with the bytes
** before the range dropped (iSkip);
** the file's size and ETag, If-Match or not: some services ignore it), with
** at least its first nNeed bytes? */
static int streamS3PreOk(StreamS3File *pF, StreamS3Pre *pP, i64 nNeed){
  StreamHttpReq *pReq = pP->pReq;
  return (pReq->iStatus==206 ? pReq->iRangeFirst==pP->iOff
                             : pReq->iStatus==200 && pP->iOff==pReq->iSkip)
      && pReq->nTotal==pF->nSize && pP->iOff+pP->n<=pF->nSize
      && ((!pP->bEtag && pF->zEtag[0]==0)
          || strcmp(pReq->zEtag, pF->zEtag)==0)
      && (i64)pReq->nGot>=nNeed;
}

/* Drop prefetch slot pP (cancelling its GET if it is running). */
static void streamS3PreDrop(StreamS3File *pF, StreamS3Pre *pP){
  sqlite3_free(pP->a);
  pP->a = 0;
  pP->bEtag = 0;
  streamS3ReqFree(pF->p, &pP->pReq);
}

/* Finish prefetch slot i (waiting for it if bWait): into the cache if it
** succeeded; if it failed part-way (a connection dropped, a body cut
** short) after a response that was the one asked for, what arrived of it
** goes to the cache, and only the rest is fetched again; nothing if it is
** still running. */
static void streamS3PrefetchEnd(StreamS3File *pF, int i, int bWait){
  StreamS3Pre *pP = &pF->aPre[i];
  StreamHttpReq *pReq = pP->pReq;
  if( pP->a==0 ) return;
  if( bWait ) sqlite3StreamHttpWait(pF->p->pHttp, pReq);
  if( !pReq->bDone ) return;
  if( (pReq->eCurl==0 || pReq->bOverflow) && (i64)pReq->nGot==pP->n
   && streamS3PreOk(pF, pP, pP->n) ){
    streamS3DiskPutBlocks(pF->p, pF->zKey, pF->zEtag, pP->iOff, pP->a,
                          pP->n);
    streamS3CacheAdd(pF->p, pF->zKey, pF->zEtag, pP->iOff, pP->a, pP->n);
    pP->a = 0;
  }else if( streamS3PreOk(pF, pP, 1) && (i64)pReq->nGot<pP->n ){
    unsigned char *aGot = sqlite3_realloc64(pP->a, pReq->nGot);
    if( aGot ){
      streamS3CacheAdd(pF->p, pF->zKey, pF->zEtag, pP->iOff, aGot,
                       (i64)pReq->nGot);
      pP->a = 0;
    }
  }
  streamS3PreDrop(pF, pP);
}

/* Copy to a what prefetch slot i holds of [iOff, iOff+n) while its GET is
** still arriving: waits until those bytes are in, not for the whole
** range (streamS3PreOk).  Returns the bytes copied, or 0 if the slot was
** finished instead (done: its bytes are now in the cache; or failed, or
** not the response asked for: dropped, they must be fetched). */
static i64 streamS3PreServe(StreamS3File *pF, int i, unsigned char *a,
                            i64 iOff, i64 n){
  StreamS3Pre *pP = &pF->aPre[i];
  StreamHttpReq *pReq = pP->pReq;
  i64 nCopy = pP->iOff+pP->n-iOff;
  if( nCopy>n ) nCopy = n;
  if( !pReq->bDone ){
    sqlite3StreamHttpWaitFor(pF->p->pHttp, pReq,
                             (size_t)(iOff+nCopy-pP->iOff));
  }
  if( pReq->bDone ){
    streamS3PrefetchEnd(pF, i, 0);
    return 0;
  }
  if( !streamS3PreOk(pF, pP, iOff+nCopy-pP->iOff) ){
    streamS3PreDrop(pF, pP);
    return 0;
  }
  memcpy(a, pP->a+(iOff-pP->iOff), (size_t)nCopy);
  /* Reading into the second half of the range: fetch what follows. */
  if( iOff+nCopy-pP->iOff > pP->n/2 ) streamS3Prefetch(pF, pP->iOff+pP->n);
  return nCopy;
}

/* Let the prefetches progress (without blocking) and take those done. */
static void streamS3PrefetchReap(StreamS3File *pF){
  int i, bAny = 0;
  for(i=0; i<STREAM_S3_PREFETCH; i++) bAny |= pF->aPre[i].a!=0;
  if( !bAny ) return;
  sqlite3StreamHttpPump(pF->p->pHttp);
  for(i=0; i<STREAM_S3_PREFETCH; i++) streamS3PrefetchEnd(pF, i, 0);
}

static int streamS3Read(StreamStoreFile *pBase, void *pBuf, size_t n,
                        i64 iOff){
  StreamS3File *pF = (StreamS3File*)pBase;
  StreamS3Store *p = pF->p;
  unsigned char *a = (unsigned char*)pBuf;
  unsigned char *aDisk = 0;            /* A block from the disk cache */
  i64 nDisk = 0;
  int rc = SQLITE_OK;
  sqlite3_free(pF->zReadErr);
  pF->zReadErr = 0;
  if( iOff<0 || iOff+(i64)n>pF->nSize ) return SQLITE_IOERR_SHORT_READ;
  streamS3PrefetchReap(pF);
  streamS3AheadPump(p);
  while( n>0 && rc==SQLITE_OK ){
    StreamS3Block *pB = streamS3CacheFind(pF, iOff);
    int iPre = pB ? -1 : streamS3PreFind(pF, iOff);
    if( iPre>=0 ){
      i64 nCopy = streamS3PreServe(pF, iPre, a, iOff, (i64)n);
      if( nCopy>0 ){
        a += nCopy;
        iOff += nCopy;
        n -= (size_t)nCopy;
        continue;
      }
      pB = streamS3CacheFind(pF, iOff);
    }
    if( pB ){
      i64 nCopy = pB->iOff+pB->n-iOff;
      if( nCopy>(i64)n ) nCopy = (i64)n;
      memcpy(a, pB->a+(iOff-pB->iOff), (size_t)nCopy);
      /* Sequential reading into the second half of a block: fetch the
      ** next ones meanwhile. */
      if( iOff+nCopy-pB->iOff > pB->n/2 ) streamS3Prefetch(pF, pB->iOff+pB->n);
      a += nCopy;
      iOff += nCopy;
      n -= (size_t)nCopy;
    }else if( streamS3DiskGet(p, pF->zKey, pF->zEtag,
                              iOff - iOff%STREAM_S3_BLOCK, &aDisk, &nDisk)
           && iOff < iOff - iOff%STREAM_S3_BLOCK + nDisk
           && iOff - iOff%STREAM_S3_BLOCK + nDisk <= pF->nSize ){
      /* From the disk cache: what is asked of it copied, the block kept in
      ** the memory cache if it fits there. */
      i64 iStart = iOff - iOff%STREAM_S3_BLOCK;
      i64 nCopy = iStart+nDisk-iOff;
      if( nCopy>(i64)n ) nCopy = (i64)n;
      memcpy(a, aDisk+(iOff-iStart), (size_t)nCopy);
      if( nDisk<=p->nCacheMax ){
        streamS3CacheAdd(p, pF->zKey, pF->zEtag, iStart, aDisk, nDisk);
      }else{
        sqlite3_free(aDisk);
      }
      aDisk = 0;
      a += nCopy;
      iOff += nCopy;
      n -= (size_t)nCopy;
    }else{
      /* Fetch the aligned blocks covering what is left (at least one). */
      StreamHttpReq req;
      i64 iStart = iOff - iOff%STREAM_S3_BLOCK;
      i64 iEnd = iOff+(i64)n;
      unsigned char *aNew;
      char *zErr = 0;
      sqlite3_free(aDisk);                /* (Not covering iOff) */
      aDisk = 0;
      iEnd += (STREAM_S3_BLOCK - iEnd%STREAM_S3_BLOCK) % STREAM_S3_BLOCK;
      if( iEnd>pF->nSize ) iEnd = pF->nSize;
      /* A reader that waits a second time in this file is taken for a
      ** sequential one: what follows is sent for before this wait. */
      if( pF->nMiss++>0 ) streamS3Prefetch(pF, iEnd);
      aNew = sqlite3_malloc64(iEnd-iStart);
      if( aNew==0 ) return SQLITE_NOMEM;
      memset(&req, 0, sizeof(req));
      rc = streamS3GetRange(pF, &req, aNew, iStart, iEnd-iStart, 0, &zErr);
      sqlite3StreamHttpReqClear(p->pHttp, &req);
      if( zErr ){                         /* For xReadErr */
        sqlite3_free(pF->zReadErr);
        pF->zReadErr = zErr;
      }
      if( rc ){
        sqlite3_free(aNew);
        return rc==SQLITE_NOMEM ? rc : SQLITE_IOERR_READ;
      }
      streamS3DiskPutBlocks(p, pF->zKey, pF->zEtag, iStart, aNew,
                            iEnd-iStart);
      if( iEnd-iStart>p->nCacheMax ){
        /* Too big to cache: copy what was asked for directly. */
        memcpy(a, aNew+(iOff-iStart), n);
        sqlite3_free(aNew);
        return SQLITE_OK;
      }
      streamS3CacheAdd(p, pF->zKey, pF->zEtag, iStart, aNew, iEnd-iStart);
      if( streamS3CacheFind(pF, iOff)==0 ){
        /* Cache too small to keep it: read uncached. */
        return SQLITE_IOERR_READ;
      }
    }
  }
  return rc;
}

static void streamS3Close(StreamStoreFile *pBase){
  StreamS3File *pF = (StreamS3File*)pBase;
  if( pF==0 ) return;
  streamS3PrefetchReap(pF);           /* Keep what has arrived */
  streamS3FreeFile(pF);               /* Cancel the rest */
}

static const char *streamS3ReadErr(StreamStoreFile *pBase){
  return ((StreamS3File*)pBase)->zReadErr;
}

/* Identity from size and ETag (FNV-1a of the ETag). */
static void streamS3IdOf(i64 nSize, const char *zEtag, StreamStoreId *pId){
  u64 h = 0xcbf29ce484222325ULL;
  for(; *zEtag; zEtag++){ h ^= (unsigned char)*zEtag; h *= 0x100000001b3ULL; }
  pId->nSize = nSize;
  pId->iVersion = (i64)h;
  pId->iVersion2 = 0;
}

static void streamS3FileId(StreamStoreFile *pBase, StreamStoreId *pId){
  StreamS3File *pF = (StreamS3File*)pBase;
  streamS3IdOf(pF->nSize, pF->zEtag, pId);
}

static int streamS3Stat(StreamStore *pStore, const char *zKey,
                        StreamStoreId *pId){
  StreamS3Store *p = (StreamS3Store*)pStore;
  char *zFull;
  char zEtag[96];
  i64 nSize = -1;
  int bExists = 0, rc;
  memset(pId, 0, sizeof(*pId));
  if( sqlite3StreamStoreKeyCheck(zKey, 0) ) return SQLITE_NOTFOUND;
  zFull = streamS3Key(p, zKey);
  if( zFull==0 ) return SQLITE_NOMEM;
  zEtag[0] = 0;
  rc = streamS3Head(p, zFull, &bExists, &nSize, zEtag, 0);
  sqlite3_free(zFull);
  if( rc ) return rc;
  if( !bExists ) return SQLITE_NOTFOUND;
  streamS3IdOf(nSize, zEtag, pId);
  return SQLITE_OK;
}

/**************************************************************************
** Listing and deleting
*/

/* Prepare pReq: ListMultipartUploads of full prefix zFull from the
** markers (NULL: the first page). */
static int streamS3UploadsReq(StreamS3Store *p, StreamHttpReq *pReq,
                              const char *zFull, const char *zKeyMarker,
                              const char *zIdMarker){
  char *zEncP = streamS3Enc(zFull, 0);
  char *zEncK = zKeyMarker ? streamS3Enc(zKeyMarker, 0) : 0;
  char *zEncI = zIdMarker ? streamS3Enc(zIdMarker, 0) : 0;
  /* Sorted: key-marker, prefix, upload-id-marker, uploads. */
  char *zQuery = sqlite3_mprintf("%s%s%sprefix=%s%s%s%suploads=",
      zEncK ? "key-marker=" : "", zEncK ? zEncK : "", zEncK ? "&" : "",
      zEncP ? zEncP : "", zEncI ? "&upload-id-marker=" : "",
      zEncI ? zEncI : "", "&");
  int rc;
  sqlite3_free(zEncP); sqlite3_free(zEncK); sqlite3_free(zEncI);
  if( zQuery==0 ) return SQLITE_NOMEM;
  rc = streamS3Req(p, pReq, "GET", 0, zQuery, 0, 0);
  sqlite3_free(zQuery);
  return rc;
}

/* List multipart uploads under full prefix zFull: each as "<key>.tmp".
** pReq: the request to use (cleared here); bStarted: it is the first
** page's, already started (streamS3List sends it beside its own). */
static int streamS3ListUploads(StreamS3Store *p, const char *zFull,
                               int (*xCb)(void*, const char*), void *pArg,
                               int *pbStop, StreamHttpReq *pReq,
                               int bStarted, char **pzErr){
  char *zKeyMarker = 0, *zIdMarker = 0;
  int rc = SQLITE_OK, nTry;
  while( rc==SQLITE_OK && !*pbStop && !p->bNoUploadList ){
    const char *z;
    char *zTrunc;
    if( !bStarted ){
      rc = streamS3UploadsReq(p, pReq, zFull, zKeyMarker, zIdMarker);
      if( rc ) break;
    }
    streamS3RunFrom(p, pReq, bStarted, &nTry);
    bStarted = 0;
    if( !streamS3Ok(pReq) ){
      char *zCode = streamS3Code(pReq);
      if( pReq->eCurl==0 && (pReq->iStatus==501 || (zCode
           && strcmp(zCode, "NotImplemented")==0)) ){
        p->bNoUploadList = 1;       /* The service cannot list them */
      }else{
        rc = streamS3Err(p, pReq, "ListMultipartUploads", zFull, nTry, pzErr);
      }
      sqlite3_free(zCode);
      break;
    }
    z = (char*)pReq->aResp;
    while( z && !*pbStop ){
      const char *zAfter = 0;
      char *zUp = streamS3XmlTag(z, "Upload", &zAfter);
      char *zKey = zUp ? streamS3XmlTag(zUp, "Key", 0) : 0;
      if( zUp==0 ) break;
      if( zKey && strncmp(zKey, p->zPrefix, strlen(p->zPrefix))==0 ){
        char *zTmp = sqlite3_mprintf("%s.tmp", zKey+strlen(p->zPrefix));
        if( zTmp==0 ) rc = SQLITE_NOMEM;
        else if( xCb(pArg, zTmp) ) *pbStop = 1;
        sqlite3_free(zTmp);
      }
      sqlite3_free(zKey);
      sqlite3_free(zUp);
      z = zAfter;
      if( rc ) break;
    }
    zTrunc = streamS3XmlTag((char*)pReq->aResp, "IsTruncated", 0);
    sqlite3_free(zKeyMarker);
    sqlite3_free(zIdMarker);
    zKeyMarker = streamS3XmlTag((char*)pReq->aResp, "NextKeyMarker", 0);
    zIdMarker = streamS3XmlTag((char*)pReq->aResp, "NextUploadIdMarker", 0);
    if( zTrunc==0 || strcmp(zTrunc, "true")!=0 || zKeyMarker==0 ){
      sqlite3_free(zTrunc);
      break;
    }
    sqlite3_free(zTrunc);
  }
  sqlite3StreamHttpReqClear(p->pHttp, pReq);
  sqlite3_free(zKeyMarker);
  sqlite3_free(zIdMarker);
  return rc;
}

static int streamS3List(StreamStore *pStore, const char *zPrefix,
                        int (*xCb)(void*, const char*), void *pArg,
                        char **pzErr){
  StreamS3Store *p = (StreamS3Store*)pStore;
  StreamHttpReq req, reqUp;
  char *zToken = 0;
  char *zFull;
  int rc = SQLITE_OK, nTry, bStop = 0, bUpStarted = 0;
  size_t nPre = strlen(p->zPrefix);
  rc = sqlite3StreamStorePrefixCheck(zPrefix, pzErr);
  if( rc ) return rc;
  zFull = streamS3Key(p, zPrefix);
  if( zFull==0 ) return SQLITE_NOMEM;
  memset(&req, 0, sizeof(req));
  memset(&reqUp, 0, sizeof(reqUp));
  /* The first page of ListMultipartUploads goes out with the first of
  ** ListObjectsV2: two round trips overlapped (a sweep runs them both). */
  if( !p->bNoUploadList
   && streamS3UploadsReq(p, &reqUp, zFull, 0, 0)==SQLITE_OK
   && sqlite3StreamHttpStart(p->pHttp, &reqUp)==SQLITE_OK ){
    bUpStarted = 1;
  }
  for(;;){
    char *zEncP = streamS3Enc(zFull, 0);
    char *zEncT = zToken ? streamS3Enc(zToken, 0) : 0;
    /* Sorted: continuation-token, list-type, prefix. */
    char *zQuery = sqlite3_mprintf("%s%s%slist-type=2&prefix=%s",
        zEncT ? "continuation-token=" : "", zEncT ? zEncT : "",
        zEncT ? "&" : "", zEncP ? zEncP : "");
    const char *z;
    char *zTrunc;
    sqlite3_free(zEncP);
    sqlite3_free(zEncT);
    if( zQuery==0 ){ rc = SQLITE_NOMEM; break; }
    rc = streamS3Req(p, &req, "GET", 0, zQuery, 0, 0);
    sqlite3_free(zQuery);
    if( rc ) break;
    for(nTry=0; ; nTry++){
      /* A truncated listing (a broken response) is retried too. */
      int nRun;
      streamS3Run(p, &req, &nRun);
      nTry += nRun-1;
      if( !streamS3Ok(&req) || (req.aResp
          && strstr((char*)req.aResp, "</ListBucketResult>")) ){
        break;
      }
      if( nTry>=p->nRetry ) break;
      streamS3Backoff(nTry+1);
    }
    if( !streamS3Ok(&req) || req.aResp==0
     || strstr((char*)req.aResp, "</ListBucketResult>")==0 ){
      if( streamS3Ok(&req) ){
        rc = sqlite3StreamErr(pzErr, SQLITE_IOERR, "s3 ListObjectsV2 of"
            " bucket %s, prefix %s: incomplete response", p->zBucket, zFull);
      }else{
        rc = streamS3Err(p, &req, "ListObjectsV2", zFull, nTry+1, pzErr);
      }
      break;
    }
    z = (char*)req.aResp;
    while( z && !bStop ){
      const char *zAfter = 0;
      char *zC = streamS3XmlTag(z, "Contents", &zAfter);
      char *zKey = zC ? streamS3XmlTag(zC, "Key", 0) : 0;
      if( zC==0 ) break;
      if( zKey && strncmp(zKey, p->zPrefix, nPre)==0 ){
        if( xCb(pArg, zKey+nPre) ) bStop = 1;
      }
      sqlite3_free(zKey);
      sqlite3_free(zC);
      z = zAfter;
    }
    zTrunc = streamS3XmlTag((char*)req.aResp, "IsTruncated", 0);
    sqlite3_free(zToken);
    zToken = streamS3XmlTag((char*)req.aResp, "NextContinuationToken", 0);
    if( bStop || zTrunc==0 || strcmp(zTrunc, "true")!=0 || zToken==0 ){
      sqlite3_free(zTrunc);
      break;
    }
    sqlite3_free(zTrunc);
  }
  sqlite3StreamHttpReqClear(p->pHttp, &req);
  if( rc==SQLITE_OK && !bStop ){
    rc = streamS3ListUploads(p, zFull, xCb, pArg, &bStop, &reqUp,
                             bUpStarted, pzErr);
  }
  sqlite3StreamHttpReqClear(p->pHttp, &reqUp);   /* (Cancelled if busy) */
  sqlite3_free(zToken);
  sqlite3_free(zFull);
  return rc;
}

/* Abort the multipart uploads of full key zFull. */
static int streamS3AbortUploads(StreamS3Store *p, const char *zFull,
                                char **pzErr){
  StreamHttpReq req;
  char *zEncP = streamS3Enc(zFull, 0);
  char *zQuery = zEncP ? sqlite3_mprintf("prefix=%s&uploads=", zEncP) : 0;
  int rc, nTry;
  memset(&req, 0, sizeof(req));
  sqlite3_free(zEncP);
  if( zQuery==0 ) return SQLITE_NOMEM;
  rc = streamS3Req(p, &req, "GET", 0, zQuery, 0, 0);
  sqlite3_free(zQuery);
  if( rc==SQLITE_OK ){
    streamS3Run(p, &req, &nTry);
    if( streamS3Ok(&req) && req.aResp ){
      const char *z = (char*)req.aResp;
      char *zResp = (char*)req.aResp;
      req.aResp = 0;                  /* Kept while requests are made */
      while( z && rc==SQLITE_OK ){
        const char *zAfter = 0;
        char *zUp = streamS3XmlTag(z, "Upload", &zAfter);
        char *zKey = zUp ? streamS3XmlTag(zUp, "Key", 0) : 0;
        char *zId = zUp ? streamS3XmlTag(zUp, "UploadId", 0) : 0;
        if( zUp==0 ) break;
        if( zKey && zId && strcmp(zKey, zFull)==0 ){
          char *zEncId = streamS3Enc(zId, 0);
          char *zQ = zEncId ? sqlite3_mprintf("uploadId=%s", zEncId) : 0;
          StreamHttpReq del;
          memset(&del, 0, sizeof(del));
          if( zQ==0 ) rc = SQLITE_NOMEM;
          else rc = streamS3Req(p, &del, "DELETE", zFull, zQ, 0, 0);
          if( rc==SQLITE_OK ){
            streamS3Run(p, &del, &nTry);
            if( !streamS3Ok(&del) && !(del.eCurl==0 && del.iStatus==404) ){
              rc = streamS3Err(p, &del, "AbortMultipartUpload", zFull, nTry,
                               pzErr);
            }
          }
          sqlite3StreamHttpReqClear(p->pHttp, &del);
          sqlite3_free(zEncId);
          sqlite3_free(zQ);
        }
        sqlite3_free(zKey);
        sqlite3_free(zId);
        sqlite3_free(zUp);
        z = zAfter;
      }
      sqlite3_free(zResp);
    }
  }
  sqlite3StreamHttpReqClear(p->pHttp, &req);
  return rc;
}

static int streamS3Delete(StreamStore *pStore, const char *zKey,
                          char **pzErr){
  StreamS3Store *p = (StreamS3Store*)pStore;
  StreamHttpReq req;
  char *zFull;
  size_t n;
  int rc = sqlite3StreamStoreKeyCheck(zKey, pzErr), nTry;
  if( rc ) return rc;
  zFull = streamS3Key(p, zKey);
  if( zFull==0 ) return SQLITE_NOMEM;
  n = strlen(zFull);
  if( n>4 && strcmp(zFull+n-4, ".tmp")==0 && !p->bNoUploadList ){
    /* A temporary upload: abort the multipart uploads of the key. */
    zFull[n-4] = 0;
    rc = streamS3AbortUploads(p, zFull, pzErr);
    zFull[n-4] = '.';
  }
  memset(&req, 0, sizeof(req));
  if( rc==SQLITE_OK ) rc = streamS3Req(p, &req, "DELETE", zFull, 0, 0, 0);
  if( rc==SQLITE_OK ){
    streamS3Run(p, &req, &nTry);
    if( !streamS3Ok(&req) && !(req.eCurl==0 && req.iStatus==404) ){
      rc = streamS3Err(p, &req, "DELETE", zFull, nTry, pzErr);
    }
  }
  sqlite3StreamHttpReqClear(p->pHttp, &req);
  sqlite3_free(zFull);
  return rc;
}

/* DeleteObjects in batches of up to 1000 keys; temporary uploads (".tmp")
** one by one (xDelete aborts their multipart uploads). */
int sqlite3StreamS3DeleteMany(StreamStore *pStore, char **azKey, int nKey,
                              char **pzErr){
  StreamS3Store *p = (StreamS3Store*)pStore;
  int i = 0, rc = SQLITE_OK;
  while( i<nKey ){
    StreamHttpReq req;
    char *zXml = sqlite3_mprintf("<Delete><Quiet>true</Quiet>");
    int nBatch = 0, nTry, rc2;
    for(; zXml && i<nKey && nBatch<STREAM_S3_DELETE_MAX; i++){
      size_t n = strlen(azKey[i]);
      if( sqlite3StreamStoreKeyCheck(azKey[i], 0)
       || (n>4 && strcmp(azKey[i]+n-4, ".tmp")==0) ){
        rc2 = streamS3Delete(pStore, azKey[i], pzErr);
        if( rc2 && rc==SQLITE_OK ) rc = rc2;
        continue;
      }
      zXml = sqlite3_mprintf("%z<Object><Key>%s%s</Key></Object>", zXml,
                             p->zPrefix, azKey[i]);
      nBatch++;
    }
    if( zXml==0 ) return SQLITE_NOMEM;
    zXml = sqlite3_mprintf("%z</Delete>", zXml);
    if( zXml==0 ) return SQLITE_NOMEM;
    if( nBatch==0 ){ sqlite3_free(zXml); continue; }
    memset(&req, 0, sizeof(req));
    rc2 = streamS3Req(p, &req, "POST", 0, "delete=",
                      (const unsigned char*)zXml, strlen(zXml));
    if( rc2==SQLITE_OK ){
      rc2 = sqlite3StreamHttpHeader(&req, "Content-Type: application/xml");
    }
    if( rc2==SQLITE_OK ){
      streamS3Run(p, &req, &nTry);     /* Deleting again is harmless */
      if( !streamS3Ok(&req) ){
        rc2 = streamS3Err(p, &req, "DeleteObjects", 0, nTry, pzErr);
      }else if( req.aResp && strstr((char*)req.aResp, "<Error>") ){
        char *zErrXml = streamS3XmlTag((char*)req.aResp, "Error", 0);
        char *zK = zErrXml ? streamS3XmlTag(zErrXml, "Key", 0) : 0;
        char *zC = zErrXml ? streamS3XmlTag(zErrXml, "Code", 0) : 0;
        rc2 = sqlite3StreamErr(pzErr, SQLITE_IOERR, "s3 DeleteObjects of"
            " bucket %s, key %s failed: %s", p->zBucket, zK ? zK : "?",
            zC ? zC : "?");
        sqlite3_free(zErrXml);
        sqlite3_free(zK);
        sqlite3_free(zC);
      }
    }
    sqlite3StreamHttpReqClear(p->pHttp, &req);
    sqlite3_free(zXml);
    if( rc2 && rc==SQLITE_OK ) rc = rc2;
  }
  return rc;
}

/**************************************************************************
** The store
*/

static void streamS3Free(StreamStore *pStore){
  StreamS3Store *p = (StreamS3Store*)pStore;
  int i;
  if( p==0 ) return;
  streamS3CacheTrim(p, p->nCacheMax+1);
  for(i=0; i<STREAM_S3_AHEAD; i++) streamS3AheadFree(p, &p->aAhead[i]);
  sqlite3StreamHttpFree(p->pHttp);
  sqlite3_free(p->base.zCacheDir);
  sqlite3_free(p->base.zUrl);
  sqlite3_free(p->base.zNs);
  sqlite3_free(p->zBucket);
  sqlite3_free(p->zPrefix);
  sqlite3_free(p->zBase);
  sqlite3_free(p->zRegion);
  sqlite3_free(p);
}

static const StreamStoreMethods streamS3Methods = {
  streamS3PutBegin,      /* xPutBegin */
  streamS3PutWrite,      /* xPutWrite */
  streamS3PutCommit,     /* xPutCommit */
  streamS3PutAbort,      /* xPutAbort */
  streamS3Open,          /* xOpen */
  streamS3Read,          /* xRead */
  streamS3Close,         /* xClose */
  streamS3List,          /* xList */
  streamS3Delete,        /* xDelete */
  streamS3Free,          /* xFree */
  streamS3Stat,          /* xStat */
  streamS3FileId,        /* xFileId */
  streamS3PutCommitNew,  /* xPutCommitNew */
  streamS3PutStart,      /* xPutStart */
  streamS3ReadErr        /* xReadErr */
};

int sqlite3StreamS3Open(const char *zUrl, int bCreate, StreamStore **pp,
                        char **pzErr){
  StreamS3Store *p;
  StreamS3Opts o;
  char *zKey = 0, *zSecret = 0, *zToken = 0, *zSigV4 = 0;
  const char *zEnv;
  int rc;
  STREAM_UNUSED(bCreate);
  *pp = 0;
  p = sqlite3_malloc64(sizeof(*p));
  if( p==0 ) return SQLITE_NOMEM;
  memset(p, 0, sizeof(*p));
  p->base.pMethods = &streamS3Methods;
  rc = streamS3Parse(zUrl, &p->zBucket, &p->zPrefix, &o, pzErr);
  if( rc ){ sqlite3_free(p); return rc; }
  p->base.zUrl = sqlite3_mprintf("%s", zUrl);
  p->base.mCaps = STREAM_STORE_ETAG|STREAM_STORE_RANGED;
  p->nRetry = o.nRetry;
  p->nPart = o.nPartMb*1024*1024;
  p->nCacheMax = o.nCacheMb*1024*1024;
  p->nDiskMax = o.nDiskMb*1024*1024;
  p->nDisk = -1;
  p->zRegion = o.zRegion ? sqlite3_mprintf("%s", o.zRegion)
      : (zEnv = getenv("AWS_REGION"))!=0 && zEnv[0] ? sqlite3_mprintf("%s", zEnv)
      : (zEnv = getenv("AWS_DEFAULT_REGION"))!=0 && zEnv[0]
        ? sqlite3_mprintf("%s", zEnv) : sqlite3_mprintf("us-east-1");
  if( o.zEndpoint ){
    p->zBase = sqlite3_mprintf("%s", o.zEndpoint);
  }else if( (zEnv = getenv("AWS_ENDPOINT_URL"))!=0 && zEnv[0] ){
    size_t n = strlen(zEnv);
    while( n>0 && zEnv[n-1]=='/' ) n--;
    p->zBase = sqlite3_mprintf("%.*s", (int)n, zEnv);
  }else if( p->zRegion ){
    p->zBase = sqlite3_mprintf("https://s3.%s.amazonaws.com", p->zRegion);
  }
  if( p->zBase ){
    size_t n = strlen(p->zBase);
    if( n>0 && p->zBase[n-1]=='/' ) p->zBase[n-1] = 0;
  }
  p->bVirtual = o.eAddr==2 || (o.eAddr==0 && o.zEndpoint==0
                               && (zEnv = getenv("AWS_ENDPOINT_URL"))==0);
  if( p->base.zUrl==0 || p->zRegion==0 || p->zBase==0 ){
    rc = SQLITE_NOMEM;
  }else if( strncmp(p->zBase, "http://", 7)!=0
         && strncmp(p->zBase, "https://", 8)!=0 ){
    rc = sqlite3StreamErr(pzErr, SQLITE_ERROR, "store %s: AWS_ENDPOINT_URL"
        " must be an http(s):// URL", zUrl);
  }
  if( rc==SQLITE_OK ) rc = streamS3Creds(zUrl, &o, &zKey, &zSecret, &zToken,
                                         pzErr);
  if( rc==SQLITE_OK ){
    zSigV4 = sqlite3_mprintf("aws:amz:%s:s3", p->zRegion);
    rc = zSigV4 ? sqlite3StreamHttpNew(&p->pHttp, zSigV4, zKey, zSecret,
                                       zToken, o.msTimeout) : SQLITE_NOMEM;
    if( rc==SQLITE_ERROR ){
      rc = sqlite3StreamErr(pzErr, rc, "store %s: libcurl could not be"
          " initialised", zUrl);
    }
    if( rc==SQLITE_OK ) sqlite3StreamHttpOnWait(p->pHttp, streamS3OnWait, p);
  }
  sqlite3_free(zSigV4);
  streamS3Wipe(zKey);
  streamS3Wipe(zSecret);
  streamS3Wipe(zToken);
  streamS3OptsFree(&o);
  if( rc ){
    streamS3Free(&p->base);
    return rc;
  }
  *pp = &p->base;
  return SQLITE_OK;
}

#endif /* HAVE_LIBCURL */
