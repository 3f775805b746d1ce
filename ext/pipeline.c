/*
** pipeline.c - the Cloudflare Pipelines sink: every message of a topic
** with pipeline.enabled POSTed, as JSON, to a Pipelines HTTP stream.
**
**   SELECT stream_config('pipeline.url', 'https://<id>.ingest.cloudflare.com');
**   SELECT stream_config('pipeline.token.env', 'PIPELINE_TOKEN');
**   SELECT stream_alter_topic('orders', '{"pipeline.enabled":1}');
**   SELECT stream_pipeline_ship('orders');        -- or stream_maintain()
**
** Requests.  POST pipeline.url with "Content-Type: application/json",
** "Authorization: Bearer <token>" (when pipeline.token.env is set) and a
** JSON array of records, at most STREAM_PIPELINE_MAX_BODY bytes (the
** documented 1 MB request limit), one partition per request, in offset
** order.  A record:
**
**   {"topic":"orders","partition":0,"offset":41,"timestamp":1705233600000,
**    "key":"k1" | null,          (or "key_base64":"..." for a BLOB key)
**    "value":{...} | null,       (the JSON as produced; "value_base64"
**                                 for a BLOB value)
**    "headers":{...} | null}
**
** topic, partition and offset let the receiving side deduplicate.
**
** Delivery is at least once.  The watermark of a partition
** (_stream_pipeline.next_offset) advances only after a 2xx answer, in its
** own short transaction (no lock is held during a request).  A 429, a 5xx,
** a timeout (pipeline.timeout.ms) or a dropped connection is retried with
** exponential backoff (100 ms doubling, at most 5 s), at most
** STREAM_PIPELINE_TRIES times per call; then the call stops with an error
** and the next call starts again at the watermark (a batch may then be
** sent twice: only after a failure).  Other 4xx answers stop at once.
** Retention and compaction of the topic are held back to the watermark
** (the cold tier's xHold, ext/cold.c, asked by sqlite3StreamTierHold()).
**
** The token.  It is never stored in the database: pipeline.token.env
** names an environment variable of the process that holds it.  It is sent
** only in the Authorization header and never appears in an error.
*/
#include "streamInt.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef HAVE_LIBCURL
# include <curl/curl.h>
#endif

#define STREAM_PIPELINE_MAX_BODY 1000000
#define STREAM_PIPELINE_TRIES    6
#define STREAM_PIPELINE_BATCH    10000     /* rows read per request, at most */

int sqlite3StreamPipelineSettingCheck(const char *zName, const char *zValue,
                                      char **pzErr){
  size_t i;
  if( zValue==0 ) return SQLITE_OK;
  if( strcmp(zName, "pipeline.url")==0 ){
    const char *zHost;
    if( strncmp(zValue, "https://", 8)!=0 && strncmp(zValue, "http://", 7)!=0 ){
      return sqlite3StreamErr(pzErr, SQLITE_ERROR, "invalid pipeline.url:"
          " expected an http:// or https:// URL");
    }
    zHost = strstr(zValue, "://") + 3;
    for(i=0; zHost[i] && zHost[i]!='/'; i++){
      if( zHost[i]=='@' ){
        return sqlite3StreamErr(pzErr, SQLITE_ERROR, "invalid pipeline.url:"
            " credentials in the URL are refused (the token goes in the"
            " environment variable named by pipeline.token.env)");
      }
    }
    for(i=0; zValue[i]; i++){
      if( (unsigned char)zValue[i]<=0x20 || zValue[i]==0x7f ){
        return sqlite3StreamErr(pzErr, SQLITE_ERROR, "invalid pipeline.url:"
            " control characters and spaces are not allowed");
      }
    }
    return SQLITE_OK;
  }
  if( strcmp(zName, "pipeline.token.env")==0 ){
    for(i=0; zValue[i]; i++){
      char c = zValue[i];
      if( !(c=='_' || (c>='A' && c<='Z') || (c>='a' && c<='z')
            || (i>0 && c>='0' && c<='9')) ) break;
    }
    if( i==0 || zValue[i] || i>128 ){
      return sqlite3StreamErr(pzErr, SQLITE_ERROR, "invalid"
          " pipeline.token.env \"%s\": expected the name of an environment"
          " variable ([A-Za-z_][A-Za-z0-9_]*, at most 128 characters; the"
          " token itself is never stored)", zValue);
    }
  }
  return SQLITE_OK;
}

#ifdef HAVE_LIBCURL

/* Base64 (RFC 4648) of n bytes, appended to s inside quotes. */
static void streamPipeBase64(sqlite3_str *s, const u8 *a, int n){
  static const char az[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  int i;
  sqlite3_str_appendchar(s, 1, '"');
  for(i=0; i+2<n; i+=3){
    u32 v = ((u32)a[i]<<16) | ((u32)a[i+1]<<8) | a[i+2];
    char z[4] = { az[v>>18], az[(v>>12)&63], az[(v>>6)&63], az[v&63] };
    sqlite3_str_append(s, z, 4);
  }
  if( i<n ){
    u32 v = (u32)a[i]<<16 | (i+1<n ? (u32)a[i+1]<<8 : 0);
    char z[4] = { az[v>>18], az[(v>>12)&63],
                  i+1<n ? az[(v>>6)&63] : '=', '=' };
    sqlite3_str_append(s, z, 4);
  }
  sqlite3_str_appendchar(s, 1, '"');
}

/* A JSON string literal of n bytes of UTF-8 text. */
static void streamPipeString(sqlite3_str *s, const char *z, int n){
  char *zCopy = sqlite3_mprintf("%.*s", n, z);
  StreamJson *pStr = zCopy ? sqlite3StreamJsonNewString(zCopy) : 0;
  char *zOut = pStr ? sqlite3StreamJsonPrint(pStr, 0) : 0;
  if( zOut ) sqlite3_str_appendall(s, zOut);
  else sqlite3_str_append(s, "null", 4);
  sqlite3_free(zOut);
  sqlite3StreamJsonFree(pStr);
  sqlite3_free(zCopy);
}

/* Append the record of the scan's current row. */
static int streamPipeRecord(sqlite3_str *s, const char *zTopic, int iPart,
                            StreamScan *pScan){
  const void *aKey, *aVal, *aHdr;
  int nKey, nVal, nHdr, eKey, eVal, eHdr, rc;
  rc = sqlite3StreamColdScanBytes(pScan, STREAM_SCAN_COL_KEY, &aKey, &nKey,
                                  &eKey, 0);
  if( rc==SQLITE_OK ){
    rc = sqlite3StreamColdScanBytes(pScan, STREAM_SCAN_COL_VALUE, &aVal,
                                    &nVal, &eVal, 0);
  }
  if( rc==SQLITE_OK ){
    rc = sqlite3StreamColdScanBytes(pScan, STREAM_SCAN_COL_HEADERS, &aHdr,
                                    &nHdr, &eHdr, 0);
  }
  if( rc ) return rc;
  sqlite3_str_appendall(s, "{\"topic\":");
  streamPipeString(s, zTopic, (int)strlen(zTopic));
  sqlite3_str_appendf(s, ",\"partition\":%d,\"offset\":%lld,"
      "\"timestamp\":%lld,", iPart,
      sqlite3StreamColdScanInt(pScan, STREAM_SCAN_COL_OFFSET),
      sqlite3StreamColdScanInt(pScan, STREAM_SCAN_COL_TIMESTAMP));
  if( eKey==STREAM_PQ_BLOB ){
    sqlite3_str_appendall(s, "\"key_base64\":");
    streamPipeBase64(s, aKey, nKey);
  }else if( eKey==STREAM_PQ_NULL ){
    sqlite3_str_appendall(s, "\"key\":null");
  }else{
    sqlite3_str_appendall(s, "\"key\":");
    streamPipeString(s, (const char*)aKey, nKey);
  }
  if( eVal==STREAM_PQ_BLOB ){
    sqlite3_str_appendall(s, ",\"value_base64\":");
    streamPipeBase64(s, aVal, nVal);
  }else if( eVal==STREAM_PQ_NULL ){
    sqlite3_str_appendall(s, ",\"value\":null");
  }else{
    /* Text values are JSON (produce checks it): embedded as they are. */
    sqlite3_str_appendall(s, ",\"value\":");
    sqlite3_str_append(s, (const char*)aVal, nVal);
  }
  sqlite3_str_appendall(s, ",\"headers\":");
  if( eHdr==STREAM_PQ_NULL ){
    sqlite3_str_append(s, "null", 4);
  }else{
    sqlite3_str_append(s, (const char*)aHdr, nHdr);
  }
  sqlite3_str_appendchar(s, 1, '}');
  return SQLITE_OK;
}

static size_t streamPipeDiscard(char *p, size_t sz, size_t n, void *pArg){
  (void)p; (void)pArg;
  return sz*n;
}

/* One POST.  *piStatus: the HTTP status, or 0 if there was no answer. */
static int streamPipePost(const char *zUrl, const char *zToken, i64 nTimeout,
                          const char *zBody, size_t nBody, long *piStatus,
                          char *zCurlErr){
  CURL *c = curl_easy_init();
  struct curl_slist *pH = 0;
  CURLcode e;
  char *zAuth = 0;
  *piStatus = 0;
  zCurlErr[0] = 0;
  if( c==0 ) return SQLITE_NOMEM;
  pH = curl_slist_append(pH, "Content-Type: application/json");
  if( zToken ){
    zAuth = sqlite3_mprintf("Authorization: Bearer %s", zToken);
    if( zAuth ) pH = curl_slist_append(pH, zAuth);
  }
  curl_easy_setopt(c, CURLOPT_URL, zUrl);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, pH);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, zBody);
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)nBody);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)nTimeout);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)nTimeout);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, streamPipeDiscard);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, zCurlErr);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  e = curl_easy_perform(c);
  if( e==CURLE_OK ) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, piStatus);
  else if( zCurlErr[0]==0 ){
    snprintf(zCurlErr, CURL_ERROR_SIZE, "%s", curl_easy_strerror(e));
  }
  curl_slist_free_all(pH);
  if( zAuth ){
    memset(zAuth, 0, strlen(zAuth));          /* the token, wiped */
    sqlite3_free(zAuth);
  }
  curl_easy_cleanup(c);
  return SQLITE_OK;
}

/* What one call did. */
typedef struct StreamPipeStats StreamPipeStats;
struct StreamPipeStats {
  i64 nMessages;               /* Records delivered (2xx) */
  i64 nRequests;               /* Requests answered 2xx */
  i64 nRetries;                /* Failed attempts retried */
};

/* Ship partition iPart of zTopic from its watermark to iHwm. */
static int streamPipePartition(StreamCtx *p, const char *zTopic, int iPart,
                               i64 iHwm, const char *zUrl, const char *zToken,
                               i64 nTimeout, StreamPipeStats *pSt,
                               char **pzErr){
  int rc = SQLITE_OK;
  while( rc==SQLITE_OK ){
    StreamScan *pSel = 0;
    sqlite3_str *s;
    i64 iNext = 0, iLast = -1, nRec = 0;
    char *zBody;
    size_t nBody;
    int nTry;

    rc = sqlite3StreamWatermark(p, 1, zTopic, iPart, &iNext, pzErr);
    if( rc || iNext>=iHwm ) break;
    /* The batch: records from the watermark while the body stays under
    ** the limit. */
    rc = sqlite3StreamColdScanRange(p, zTopic, iPart, iNext, iHwm,
                                    STREAM_PIPELINE_BATCH, &pSel, pzErr);
    if( rc ) return rc;
    s = sqlite3_str_new(0);
    sqlite3_str_appendchar(s, 1, '[');
    for(; rc==SQLITE_OK && !sqlite3StreamScanEof(pSel);
          rc = sqlite3StreamScanNext(pSel, pzErr)){
      sqlite3_str *r = sqlite3_str_new(0);
      int nR;
      char *zR;
      rc = streamPipeRecord(r, zTopic, iPart, pSel);
      nR = sqlite3_str_length(r);
      zR = sqlite3_str_finish(r);
      if( rc ){
        sqlite3_free(zR);
        sqlite3StreamErr(pzErr, rc, "pipeline: cannot read %s/%d offset %lld",
            zTopic, iPart,
            sqlite3StreamColdScanInt(pSel, STREAM_SCAN_COL_OFFSET));
        break;
      }
      if( zR==0 ){ rc = SQLITE_NOMEM; break; }
      if( (size_t)sqlite3_str_length(s) + nR + 2 > STREAM_PIPELINE_MAX_BODY ){
        if( nRec==0 ){
          rc = sqlite3StreamErr(pzErr, SQLITE_TOOBIG, "pipeline: the record"
              " of %s/%d offset %lld is %d bytes, more than the %d bytes a"
              " request may carry", zTopic, iPart,
              sqlite3StreamColdScanInt(pSel, STREAM_SCAN_COL_OFFSET), nR,
              STREAM_PIPELINE_MAX_BODY);
        }
        sqlite3_free(zR);
        break;
      }
      if( nRec ) sqlite3_str_appendchar(s, 1, ',');
      sqlite3_str_append(s, zR, nR);
      sqlite3_free(zR);
      iLast = sqlite3StreamColdScanInt(pSel, STREAM_SCAN_COL_OFFSET);
      nRec++;
    }
    sqlite3StreamScanClose(pSel);
    sqlite3_str_appendchar(s, 1, ']');
    nBody = (size_t)sqlite3_str_length(s);
    zBody = sqlite3_str_finish(s);
    if( rc==SQLITE_OK && zBody==0 ) rc = SQLITE_NOMEM;
    if( rc ){ sqlite3_free(zBody); break; }
    /* Nothing left below the high watermark (a compacted tail). */
    if( nRec==0 ) iLast = iHwm-1;

    for(nTry=0; nRec>0; nTry++){
      long iStatus = 0;
      char zCurlErr[CURL_ERROR_SIZE+1];
      rc = streamPipePost(zUrl, zToken, nTimeout, zBody, nBody, &iStatus,
                          zCurlErr);
      if( rc ) break;
      if( iStatus>=200 && iStatus<300 ){
        pSt->nRequests++;
        pSt->nMessages += nRec;
        break;
      }
      if( iStatus!=0 && iStatus!=429 && iStatus<500 ){
        rc = sqlite3StreamErr(pzErr, SQLITE_ERROR, "pipeline: %s answered"
            " HTTP %ld to a batch of %s/%d (offsets %lld..%lld): not"
            " retried%s", zUrl, iStatus, zTopic, iPart, iNext, iLast,
            iStatus==401 || iStatus==403
              ? " (is the token in pipeline.token.env right?)" : "");
        break;
      }
      if( nTry+1>=STREAM_PIPELINE_TRIES ){
        rc = sqlite3StreamErr(pzErr, SQLITE_BUSY, "pipeline: %s: %s after"
            " %d attempts for a batch of %s/%d (offsets %lld..%lld); the"
            " next call sends it again", zUrl,
            iStatus ? (iStatus==429 ? "HTTP 429 (backpressure)"
                                    : "HTTP 5xx") : zCurlErr,
            STREAM_PIPELINE_TRIES, zTopic, iPart, iNext, iLast);
        if( iStatus ){
          /* The exact status, without the curl message. */
          char *z = sqlite3_mprintf("%s (HTTP %ld)", *pzErr, iStatus);
          if( z ){ sqlite3_free(*pzErr); *pzErr = z; }
        }
        break;
      }
      pSt->nRetries++;
      {
        i64 nMs = (i64)100 << nTry;
        if( nMs>5000 ) nMs = 5000;
        rc = sqlite3StreamNap(p, nMs*1000);
        if( rc ){
          rc = sqlite3StreamErr(pzErr, rc, "pipeline: interrupted");
          break;
        }
      }
    }
    sqlite3_free(zBody);
    if( rc ) break;

    /* Delivered: the watermark, in its own short transaction. */
    rc = sqlite3StreamAuxExec(p, STREAM_AUX_PIPE_TABLE, pzErr);
    if( rc==SQLITE_OK ){
      rc = sqlite3StreamAuxRun(p, STREAM_AUX_PIPE_NEXT_SET, pzErr, "tii",
                               zTopic, (i64)iPart, iLast+1);
    }
  }
  return rc;
}

/* Ship the topics (zTopic, or every topic with pipeline.enabled). */
static int streamPipeShip(StreamCtx *p, const char *zTopic, int bAsked,
                          StreamPipeStats *pSt, char **pzErr){
  StreamStrList names;
  char *zUrl = 0, *zEnv = 0;
  const char *zToken = 0;
  int rc = SQLITE_OK, j;
  memset(&names, 0, sizeof(names));
  zUrl = sqlite3StreamMetaGet(p, "pipeline.url", &rc);
  if( rc==SQLITE_OK ) zEnv = sqlite3StreamMetaGet(p, "pipeline.token.env", &rc);
  if( rc ){ rc = sqlite3StreamDbErr(p->db, pzErr, rc); goto out; }
  if( zUrl==0 ){
    if( bAsked ){
      rc = sqlite3StreamErr(pzErr, SQLITE_ERROR, "pipeline: no pipeline.url"
          " is configured (set one with stream_config('pipeline.url',"
          " 'https://...'))");
    }
    goto out;
  }
  if( zEnv ){
    zToken = getenv(zEnv);
    if( zToken==0 ){
      rc = sqlite3StreamErr(pzErr, SQLITE_ERROR, "pipeline: the environment"
          " variable %s (pipeline.token.env) is not set", zEnv);
      goto out;
    }
  }
  rc = sqlite3StreamCatTopicList(p, zTopic, zTopic ? 0 : "pipeline.enabled",
                                 &names, pzErr);
  for(j=0; rc==SQLITE_OK && j<names.n; j++){
    const char *zName = names.az[j];
    StreamTopicConfig cfg;
    int nPart, i;
    rc = sqlite3StreamTopicConfig(p, zName, &cfg, &nPart, pzErr);
    if( rc ) break;
    if( !cfg.pipelineEnabled ){
      rc = sqlite3StreamErr(pzErr, SQLITE_ERROR, "pipeline: topic %s does"
          " not have pipeline.enabled", zName);
      break;
    }
    for(i=0; i<nPart && rc==SQLITE_OK; i++){
      i64 iHwm = 0;
      rc = sqlite3StreamHighWatermark(p, zName, i, &iHwm, pzErr);
      if( rc==SQLITE_OK ){
        rc = streamPipePartition(p, zName, i, iHwm, zUrl, zToken,
                                 cfg.pipelineTimeoutMs, pSt, pzErr);
      }
    }
  }
 out:
  sqlite3StreamStrListFree(&names);
  sqlite3_free(zUrl);
  sqlite3_free(zEnv);
  return rc;
}

#else /* !HAVE_LIBCURL */

typedef struct StreamPipeStats StreamPipeStats;
struct StreamPipeStats { i64 nMessages, nRequests, nRetries; };
static int streamPipeShip(StreamCtx *p, const char *zTopic, int bAsked,
                          StreamPipeStats *pSt, char **pzErr){
  STREAM_UNUSED(p); STREAM_UNUSED(zTopic); STREAM_UNUSED(pSt);
  if( !bAsked ) return SQLITE_OK;
  return sqlite3StreamErr(pzErr, SQLITE_ERROR, "pipeline: this build has no"
      " libcurl (HTTP): the Pipelines sink is not available");
}

#endif /* HAVE_LIBCURL */

int sqlite3StreamPipelineMaintain(StreamCtx *p, const char *zTopic){
  StreamPipeStats st;
  char *zErr = 0;
  int rc;
  memset(&st, 0, sizeof(st));
  if( zTopic ){
    StreamTopicConfig cfg;
    int nPart;
    rc = sqlite3StreamTopicConfig(p, zTopic, &cfg, &nPart, &zErr);
    if( rc || !cfg.pipelineEnabled ){ sqlite3_free(zErr); return SQLITE_OK; }
  }
  rc = streamPipeShip(p, zTopic, 0, &st, &zErr);
  sqlite3_free(zErr);
  /* Delivery failures wait for the next run (the watermark did not move,
  ** retention is held back); only running out of memory is reported. */
  return rc==SQLITE_NOMEM ? rc : SQLITE_OK;
}

/* stream_pipeline_ship([topic]) */
void sqlite3StreamPipelineShipFunc(sqlite3_context *ctx, int argc,
                                   sqlite3_value **argv){
  StreamCtx *p = (StreamCtx*)sqlite3_user_data(ctx);
  const char *zTopic = 0;
  StreamPipeStats st;
  char *zErr = 0;
  int rc;
  memset(&st, 0, sizeof(st));
  if( argc>0 && sqlite3_value_type(argv[0])!=SQLITE_NULL
   && (zTopic = sqlite3StreamArgText(ctx, argv, 0, "topic name"))==0 ){
    return;
  }
  if( zTopic ){
    StreamTopicConfig cfg;
    int nPart;
    rc = sqlite3StreamTopicConfig(p, zTopic, &cfg, &nPart, &zErr);
    if( rc ){ sqlite3StreamResultErr(ctx, rc, zErr); return; }
  }
  rc = streamPipeShip(p, zTopic, 1, &st, &zErr);
  if( rc ){ sqlite3StreamResultErr(ctx, rc, zErr); return; }
  {
    char *z = sqlite3_mprintf("{\"messages\":%lld,\"requests\":%lld,"
        "\"retries\":%lld}", st.nMessages, st.nRequests, st.nRetries);
    if( z==0 ){ sqlite3_result_error_nomem(ctx); return; }
    sqlite3_result_text(ctx, z, -1, sqlite3_free);
    sqlite3_result_subtype(ctx, 'J');
  }
}
