/*
** cdc.c - change data capture: the seed's stream.produce / stream.commit
** events, appended in the caller's transaction to the topic named by the
** extension-wide setting cdc.topic, and handed to the embedder's C
** callback (sqlite3_stream_api.xCdcHook).
**
** The event for a produce is written just before the message (a
** before-append hook, naming the offset the message is about to get), and
** the event for a commit just before the commit: what the CDC topic
** refuses then fails the call before anything of it is written, also
** where no savepoint can undo it (a one-row INSERT in a transaction).
** The event for a produce is keyed by the topic name and the event for a
** commit by the group id, so the events of one topic (or group) stay in
** order on one CDC partition.  Writes to the CDC topic itself produce no
** event.  The C callback runs when the event is written, inside the
** transaction, like sqlite3_update_hook(): it may report an event whose
** transaction later rolls back; the CDC topic never does.
*/
#include "streamInt.h"
#include <string.h>

int sqlite3StreamCdcPrepare(StreamCtx *p, const char *zSkipTopic,
                            char **pzCdc, char **pzErr){
  int rc = SQLITE_OK;
  char *zCdc = sqlite3StreamCdcTopic(p, &rc);
  *pzCdc = 0;
  if( rc ) return sqlite3StreamDbErr(p->db, pzErr, rc);
  if( zCdc && zSkipTopic && strcmp(zCdc, zSkipTopic)==0 ){
    sqlite3_free(zCdc);
    return SQLITE_OK;
  }
  if( zCdc ){
    StreamTopic t;
    rc = sqlite3StreamTopicGet(p, zCdc, &t, pzErr);
    if( rc ){
      if( rc==SQLITE_NOTFOUND ){
        rc = sqlite3StreamErr(pzErr, SQLITE_ERROR,
            "CDC topic %s (setting cdc.topic) does not exist", zCdc);
      }
      sqlite3_free(zCdc);
      return rc;
    }
  }
  *pzCdc = zCdc;
  return SQLITE_OK;
}

int sqlite3StreamCdcWrite(StreamCtx *p, const char *zCdc, const char *zKey,
                          const char *zEvent, char **pzErr){
  int rc = SQLITE_OK;
  if( zCdc ){
    StreamMsg m;
    i64 iPart, iOff;
    memset(&m, 0, sizeof(m));
    m.pKey = zKey; m.nKey = (int)strlen(zKey); m.eKey = STREAM_TYPE_TEXT;
    m.pValue = zEvent; m.nValue = (int)strlen(zEvent);
    m.eValue = STREAM_TYPE_TEXT;
    m.iPartition = STREAM_UNSET;
    m.iTimestamp = STREAM_UNSET;
    rc = sqlite3StreamProduce(p, zCdc, &m, &iPart, &iOff, pzErr);
  }
  return rc;
}

void sqlite3StreamCdcNotify(StreamCtx *p, const char *zEvent){
  if( p->xCdc ) p->xCdc(p->pCdcArg, zEvent, (int)strlen(zEvent));
}

int sqlite3StreamCdcEmit(StreamCtx *p, const char *zCdc, const char *zKey,
                         const char *zEvent, char **pzErr){
  int rc = sqlite3StreamCdcWrite(p, zCdc, zKey, zEvent, pzErr);
  if( rc==SQLITE_OK ) sqlite3StreamCdcNotify(p, zEvent);
  return rc;
}

void sqlite3StreamIsoTime(i64 iMs, char *z){
  /* Civil-from-days (proleptic Gregorian), valid for any i64 day count
  ** that fits; timestamps are >= 0 here. */
  i64 iDays = iMs / 86400000, iRem = iMs % 86400000;
  i64 era, doe, yoe, y, doy, mp, d, m;
  if( iRem<0 ){ iRem += 86400000; iDays--; }
  iDays += 719468;
  era = (iDays>=0 ? iDays : iDays-146096) / 146097;
  doe = iDays - era*146097;
  yoe = (doe - doe/1460 + doe/36524 - doe/146096) / 365;
  y = yoe + era*400;
  doy = doe - (365*yoe + yoe/4 - yoe/100);
  mp = (5*doy + 2)/153;
  d = doy - (153*mp+2)/5 + 1;
  m = mp<10 ? mp+3 : mp-9;
  if( m<=2 ) y++;
  sqlite3_snprintf(25, z, "%04lld-%02lld-%02lldT%02lld:%02lld:%02lld.%03lldZ",
      y, m, d, iRem/3600000, (iRem/60000)%60, (iRem/1000)%60, iRem%1000);
}

/* The before-append hook: the stream.produce event of the message
** (pA->iOffset is the offset it is about to get). */
int sqlite3StreamCdcBeforeAppend(StreamCtx *p, const StreamAppended *pA,
                                 char **pzErr){
  const StreamMsg *pMsg = pA->pMsg;
  char zTime[32];
  sqlite3_str *pStr;
  char *zEvent;
  i64 iTs = pMsg->iTimestamp;
  int rc;
  sqlite3_free(p->zCdcEvent);      /* of an append that failed after it */
  p->zCdcEvent = 0;
  if( pA->zCdc==0 && (p->xCdc==0 || pA->bCdcSelf) ) return SQLITE_OK;
  pStr = sqlite3_str_new(p->db);
  if( iTs==STREAM_UNSET || pA->pT->eTimestampType==STREAM_TS_LOG_APPEND_TIME ){
    iTs = sqlite3StreamNow(p);
  }
  sqlite3StreamIsoTime(iTs, zTime);
  sqlite3_str_appendall(pStr, "{\"type\":\"stream.produce\",\"topic\":");
  sqlite3StreamJsonQuote(pStr, pA->zTopic, (int)strlen(pA->zTopic));
  sqlite3_str_appendf(pStr, ",\"partition\":%lld,\"offset\":%lld,\"key\":",
                      pMsg->iPartition, pA->iOffset);
  if( pMsg->eKey==STREAM_TYPE_TEXT ){
    sqlite3StreamJsonQuote(pStr, pMsg->pKey, pMsg->nKey);
  }else if( pMsg->eKey==STREAM_TYPE_BLOB ){
    /* Binary keys are shown in hex: JSON has no byte strings. */
    int i;
    sqlite3_str_appendchar(pStr, 1, '"');
    for(i=0; i<pMsg->nKey; i++){
      sqlite3_str_appendf(pStr, "%02x", ((const u8*)pMsg->pKey)[i]);
    }
    sqlite3_str_appendchar(pStr, 1, '"');
  }else{
    sqlite3_str_appendall(pStr, "null");
  }
  sqlite3_str_appendf(pStr, ",\"timestamp\":\"%s\"}", zTime);
  zEvent = sqlite3_str_finish(pStr);
  if( zEvent==0 ) return SQLITE_NOMEM;
  rc = sqlite3StreamCdcWrite(p, pA->zCdc, pA->zTopic, zEvent, pzErr);
  if( rc==SQLITE_OK && p->xCdc && !pA->bCdcSelf ){
    p->zCdcEvent = zEvent;         /* for the callback, after the append */
  }else{
    sqlite3_free(zEvent);
  }
  return rc;
}

int sqlite3StreamCdcAfterAppend(StreamCtx *p, const StreamAppended *pA,
                                char **pzErr){
  char *zEvent = p->zCdcEvent;
  STREAM_UNUSED(pzErr);
  /* Only the event of this append: the CDC topic's own append (nested in
  ** the before-append hook, bCdcSelf or no zCdc) runs this hook too. */
  if( zEvent==0 || pA->bCdcSelf || (pA->zCdc==0 && p->xCdc==0) ){
    return SQLITE_OK;
  }
  p->zCdcEvent = 0;
  sqlite3StreamCdcNotify(p, zEvent);
  sqlite3_free(zEvent);
  return SQLITE_OK;
}
