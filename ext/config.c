/*
** config.c - topic configuration: Kafka's keys, their defaults, types and
** limits, parsed from and rendered to JSON.
**
** A topic stores only its overrides (a JSON object, normalised: numbers as
** JSON integers or reals, enums as their canonical strings).  Values may be
** given as JSON numbers or as strings holding numbers, as Kafka's admin
** tools pass them.  Unknown keys, wrong types and out-of-range values are
** errors that name the key and the limit.
*/
#include "streamInt.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>

#define STREAM_CFG_INT   1     /* integer in [iMin, iMax] */
#define STREAM_CFG_REAL  2     /* real in [rMin, rMax] */
#define STREAM_CFG_ENUM  3     /* one of azEnum (maps to its index) */
#define STREAM_CFG_STR   4     /* a store URL (the only string key), kept
                               ** in the overrides only (no field) */
#define STREAM_CFG_BOOL  5     /* Kafka's BOOLEAN: true/false, or 1/0 */
#define STREAM_CFG_LIST  6     /* Kafka's LIST of azEnum (cleanup.policy) */

typedef struct StreamCfgDef StreamCfgDef;
struct StreamCfgDef {
  const char *zKey;            /* Kafka's name of the setting */
  int eType;                   /* STREAM_CFG_* */
  i64 iMin, iMax;              /* Limits of an INT */
  double rMin, rMax;           /* Limits of a REAL */
  const char *const *azEnum;   /* NULL-terminated choices of an ENUM */
  size_t iField;               /* offsetof() the field in StreamTopicConfig */
};

/* cleanup.policy: index 0 "delete", 1 "compact", 2 "compact,delete",
** 3 "delete,compact", 4 "" -> STREAM_CLEANUP_* bits via aCleanupBits[].
** As in Kafka (a LIST of "compact" and "delete"), the value is split at
** commas and each element trimmed of white space: "compact, delete" is
** index 2; the names are case-sensitive (Kafka refuses "COMPACT").  An
** empty list (Kafka 4.2, KIP-1161: "" or, here, the JSON array []) is
** neither: nothing is deleted or compacted, infinite retention.  A JSON
** array of the names is the same list. */
static const char *const azCleanup[] = {
  "delete", "compact", "compact,delete", "delete,compact", "", 0
};
#define STREAM_CLEANUP_NAMES 2         /* azCleanup[0..1] are the names */
#define STREAM_CLEANUP_EMPTY 4         /* azCleanup[4], the empty list */
static const int aCleanupBits[] = {
  STREAM_CLEANUP_DELETE, STREAM_CLEANUP_COMPACT,
  STREAM_CLEANUP_DELETE|STREAM_CLEANUP_COMPACT,
  STREAM_CLEANUP_DELETE|STREAM_CLEANUP_COMPACT, 0
};
static const char *const azTsType[] = { "CreateTime", "LogAppendTime", 0 };
static const char *const azBackpressure[] = { "reject", "block", 0 };
/* compression.type: index = STREAM_CODEC_* except "producer" (3). */
static const char *const azCodec[] = {
  "uncompressed", "gzip", "zstd", "producer", 0
};

#define I64MAX ((i64)0x7fffffffffffffffLL)
#define OFF(f) offsetof(StreamTopicConfig, f)

/* Sorted by key, as they appear in stream_topics.config. */
static const StreamCfgDef aCfgDef[] = {
  { "backpressure.max.lag",      STREAM_CFG_INT, -1, I64MAX, 0,0, 0,
                                 OFF(backpressureMaxLag) },
  { "backpressure.policy",       STREAM_CFG_ENUM, 0,0, 0,0, azBackpressure,
                                 OFF(eBackpressurePolicy) },
  { "cleanup.policy",            STREAM_CFG_LIST, 0,0, 0,0, azCleanup,
                                 OFF(eCleanup) },
  /* The cold tier (ext/cold.c). */
  { "cold.commit.bytes",         STREAM_CFG_INT, 1, I64MAX, 0,0, 0,
                                 OFF(coldCommitBytes) },
  { "cold.commit.interval.ms",   STREAM_CFG_INT, 0, I64MAX, 0,0, 0,
                                 OFF(coldCommitIntervalMs) },
  { "cold.enabled",              STREAM_CFG_BOOL, 0, 1, 0,0, 0,
                                 OFF(coldEnabled) },
  { "cold.metadata.versions.max",STREAM_CFG_INT, 1, 1000000, 0,0, 0,
                                 OFF(coldMetadataVersionsMax) },
  { "cold.orphan.grace.ms",      STREAM_CFG_INT, 0, I64MAX, 0,0, 0,
                                 OFF(coldOrphanGraceMs) },
  { "cold.retention.ms",         STREAM_CFG_INT, -1, I64MAX, 0,0, 0,
                                 OFF(coldRetentionMs) },
  { "cold.snapshot.min",         STREAM_CFG_INT, 1, 1000000, 0,0, 0,
                                 OFF(coldSnapshotMin) },
  { "cold.snapshot.retention.ms",STREAM_CFG_INT, 0, I64MAX, 0,0, 0,
                                 OFF(coldSnapshotRetentionMs) },
  { "compaction.head.messages",  STREAM_CFG_INT, 0, I64MAX, 0,0, 0,
                                 OFF(compactionHeadMessages) },
  { "compression.type",          STREAM_CFG_ENUM, 0,0, 0,0, azCodec,
                                 OFF(eCompression) },
  { "delete.retention.ms",       STREAM_CFG_INT, 0, I64MAX, 0,0, 0,
                                 OFF(deleteRetentionMs) },
  { "hot.retention.messages",    STREAM_CFG_INT, -1, I64MAX, 0,0, 0,
                                 OFF(hotRetentionMessages) },
  { "hot.retention.ms",          STREAM_CFG_INT, -1, I64MAX, 0,0, 0,
                                 OFF(hotRetentionMs) },
  { "max.block.ms",              STREAM_CFG_INT, 0, STREAM_MAX_BLOCK_MS, 0,0, 0,
                                 OFF(maxBlockMs) },
  { "max.compaction.lag.ms",     STREAM_CFG_INT, 1, I64MAX, 0,0, 0,
                                 OFF(maxCompactionLagMs) },
  { "max.message.bytes",         STREAM_CFG_INT, 0, 2147483647, 0,0, 0,
                                 OFF(maxMessageBytes) },
  { "message.timestamp.type",    STREAM_CFG_ENUM, 0,0, 0,0, azTsType,
                                 OFF(eTimestampType) },
  { "min.cleanable.dirty.ratio", STREAM_CFG_REAL, 0,0, 0.0, 1.0, 0,
                                 OFF(minCleanableRatio) },
  { "min.compaction.lag.ms",     STREAM_CFG_INT, 0, I64MAX, 0,0, 0,
                                 OFF(minCompactionLagMs) },
  /* The Pipelines sink (ext/pipeline.c). */
  { "pipeline.enabled",          STREAM_CFG_BOOL, 0, 1, 0,0, 0,
                                 OFF(pipelineEnabled) },
  { "pipeline.timeout.ms",       STREAM_CFG_INT, 1, 600000, 0,0, 0,
                                 OFF(pipelineTimeoutMs) },
  { "retention.bytes",           STREAM_CFG_INT, -1, I64MAX, 0,0, 0,
                                 OFF(retentionBytes) },
  { "retention.ms",              STREAM_CFG_INT, -1, I64MAX, 0,0, 0,
                                 OFF(retentionMs) },
  /* The topic's own warm store (ext/warm.c; default: the database's
  ** warm.store setting). */
  { "warm.store",                STREAM_CFG_STR, 0,0, 0,0, 0, 0 },
};

static void streamCfgDefaults(StreamTopicConfig *p){
  memset(p, 0, sizeof(*p));
  p->retentionMs = 604800000;           /* 7 days */
  p->retentionBytes = -1;
  p->eCleanup = 0;                      /* index of "delete" */
  p->minCleanableRatio = 0.5;
  p->minCompactionLagMs = 0;
  p->maxCompactionLagMs = I64MAX;
  p->deleteRetentionMs = 86400000;      /* 1 day */
  p->maxMessageBytes = 1048588;         /* Kafka's default */
  p->eTimestampType = STREAM_TS_CREATE_TIME;
  p->eCompression = 3;                  /* index of "producer" */
  p->hotRetentionMs = 3600000;          /* 1 hour */
  p->hotRetentionMessages = 10000;
  p->backpressureMaxLag = -1;           /* off */
  p->eBackpressurePolicy = 0;           /* reject */
  p->maxBlockMs = 60000;                /* Kafka's default */
  p->compactionHeadMessages = 1000;     /* never compacted (ext/compact.c) */
  p->coldEnabled = 0;                   /* cold tier off (ext/cold.c) */
  p->coldRetentionMs = -1;              /* forever */
  p->coldCommitIntervalMs = 60000;      /* 1 minute */
  p->coldCommitBytes = 16*1024*1024;    /* 16 MiB */
  p->coldSnapshotRetentionMs = 432000000; /* 5 days (Iceberg's default) */
  p->coldSnapshotMin = 1;
  p->coldOrphanGraceMs = 259200000;     /* 3 days (Iceberg's default) */
  p->coldMetadataVersionsMax = 100;     /* Iceberg's default */
  p->pipelineEnabled = 0;               /* no Pipelines sink */
  p->pipelineTimeoutMs = 10000;         /* 10 s per request */
}

static const StreamCfgDef *streamCfgFind(const char *zKey){
  size_t i;
  for(i=0; i<sizeof(aCfgDef)/sizeof(aCfgDef[0]); i++){
    if( strcmp(aCfgDef[i].zKey, zKey)==0 ) return &aCfgDef[i];
  }
  return 0;
}

static int streamCfgReal(const StreamJson *pVal, double *prOut){
  if( sqlite3StreamJsonIsNumber(pVal) ){
    *prOut = pVal->rValue;
    return isfinite(*prOut);
  }
  if( sqlite3StreamJsonIsString(pVal) && pVal->zValue[0] ){
    char *zEnd = 0;
    *prOut = strtod(pVal->zValue, &zEnd);
    return *zEnd==0 && isfinite(*prOut);
  }
  return 0;
}

/* Apply one key/value to pCfg; on success, if pNorm is not NULL, add the
** normalised value to it. */
static int streamCfgApply(StreamTopicConfig *pCfg, const char *zKey,
                          const StreamJson *pVal, StreamJson *pNorm,
                          char **pzErr){
  const StreamCfgDef *pDef = streamCfgFind(zKey);
  StreamJson *pNew = 0;
  char *pField;
  if( pDef==0 ){
    return sqlite3StreamErr(pzErr, SQLITE_ERROR,
                            "unknown topic config key: %s", zKey);
  }
  pField = (char*)pCfg + pDef->iField;
  if( pDef->eType!=STREAM_CFG_STR ){
    /* As Kafka parses a property, the value is trimmed of white space
    ** first: " true ", "100 " and " CreateTime" are accepted. */
    StreamJson trimmed;
    int rc = sqlite3StreamJsonTrimmed(pVal, &trimmed);
    if( rc<0 ) return SQLITE_NOMEM;
    if( rc>0 ){
      rc = streamCfgApply(pCfg, zKey, &trimmed, pNorm, pzErr);
      sqlite3_free(trimmed.zValue);
      return rc;
    }
  }
  switch( pDef->eType ){
    case STREAM_CFG_INT: {
      i64 v;
      int bRange;
      if( !sqlite3StreamJsonInt(pVal, &v, &bRange) ){
        if( bRange ){
          const char *zLit = pVal->zValue ? pVal->zValue : "?";
          return sqlite3StreamErr(pzErr, SQLITE_ERROR,
              "config %s must be between %lld and %lld, got %.40s%s", zKey,
              pDef->iMin, pDef->iMax, zLit, sqlite3StreamJsonIsNumber(pVal)
                && strpbrk(zLit, ".eE")
              ? " (an exact integer beyond 2^53 must be written without a"
                " fraction or exponent)" : "");
        }
        return sqlite3StreamErr(pzErr, SQLITE_ERROR,
            "config %s must be an integer", zKey);
      }
      if( v<pDef->iMin || v>pDef->iMax ){
        return sqlite3StreamErr(pzErr, SQLITE_ERROR,
            "config %s must be between %lld and %lld, got %lld",
            zKey, pDef->iMin, pDef->iMax, v);
      }
      *(i64*)pField = v;
      if( pNorm ){
        char zBuf[32];
        sqlite3_snprintf(sizeof(zBuf), zBuf, "%lld", v);
        pNew = sqlite3StreamJsonNewRaw(zBuf);
      }
      break;
    }
    case STREAM_CFG_REAL: {
      double r;
      if( !streamCfgReal(pVal, &r) ){
        return sqlite3StreamErr(pzErr, SQLITE_ERROR,
            "config %s must be a number", zKey);
      }
      if( r<pDef->rMin || r>pDef->rMax ){
        return sqlite3StreamErr(pzErr, SQLITE_ERROR,
            "config %s must be between %g and %g, got %g",
            zKey, pDef->rMin, pDef->rMax, r);
      }
      *(double*)pField = r;
      if( pNorm ) pNew = sqlite3StreamJsonNewNumber(r);
      break;
    }
    case STREAM_CFG_BOOL: {
      /* Kafka's BOOLEAN: true or false (JSON, or a string in any case, as
      ** Kafka parses a property), and 1 or 0 as this setting took before
      ** (and as it is stored, a raw number). */
      i64 v = -1;
      int bRange;
      if( sqlite3StreamJsonIsBool(pVal) ){
        v = sqlite3StreamJsonIsTrue(pVal);
      }else if( sqlite3StreamJsonIsString(pVal)
             && sqlite3_stricmp(pVal->zValue, "true")==0 ){
        v = 1;
      }else if( sqlite3StreamJsonIsString(pVal)
             && sqlite3_stricmp(pVal->zValue, "false")==0 ){
        v = 0;
      }else if( !sqlite3StreamJsonInt(pVal, &v, &bRange) ){
        v = -1;          /* 1 or 0 as a number, a numeric string or raw */
      }
      if( v!=0 && v!=1 ){
        return sqlite3StreamErr(pzErr, SQLITE_ERROR,
            "config %s must be true or false (or 1 or 0)", zKey);
      }
      *(i64*)pField = v;
      if( pNorm ) pNew = sqlite3StreamJsonNewRaw(v ? "1" : "0");
      break;
    }
    case STREAM_CFG_LIST: {
      /* Elements of azEnum[0..1] ("delete", "compact"): a string,
      ** comma-separated, or a JSON array of strings; each element trimmed
      ** of white space, repeats allowed (Kafka's ValidList); the index is
      ** that of the list of the distinct names in order; nothing at all
      ** (the string "" once trimmed, or []) is the empty list. */
      const StreamJson *pEl = 0;
      const char *z = 0;
      int aSeen[2] = {0, 0}, nSeen = 0, iFirst = -1, bBad = 0, i;
      if( sqlite3StreamJsonIsString(pVal) ){
        z = pVal->zValue[0] ? pVal->zValue : 0;
      }else if( sqlite3StreamJsonIsArray(pVal) ){
        pEl = pVal->pChild;
      }else{
        bBad = 1;
      }
      while( !bBad && (z || pEl) ){
        const char *zEnd = 0;
        size_t n;
        int j;
        if( pEl ){
          if( !sqlite3StreamJsonIsString(pEl) ){ bBad = 1; break; }
          z = pEl->zValue;
          n = strlen(z);
        }else{
          zEnd = strchr(z, ',');
          n = zEnd ? (size_t)(zEnd - z) : strlen(z);
        }
        while( n>0 && sqlite3StreamJsonSpace(z[0]) ){ z++; n--; }
        while( n>0 && sqlite3StreamJsonSpace(z[n-1]) ) n--;
        for(j=0; j<STREAM_CLEANUP_NAMES; j++){
          if( strlen(pDef->azEnum[j])==n && memcmp(pDef->azEnum[j], z, n)==0 ){
            break;
          }
        }
        if( j==STREAM_CLEANUP_NAMES ){ bBad = 1; break; }
        if( !aSeen[j] ){ aSeen[j] = 1; nSeen++; if( iFirst<0 ) iFirst = j; }
        if( pEl ){
          pEl = pEl->pNext;
          z = 0;
        }else{
          z = zEnd ? zEnd+1 : 0;
        }
      }
      if( bBad ){
        return sqlite3StreamErr(pzErr, SQLITE_ERROR,
            "config %s must be a comma-separated list of: %s, %s",
            zKey, pDef->azEnum[1], pDef->azEnum[0]);
      }
      i = nSeen==0 ? STREAM_CLEANUP_EMPTY :
          nSeen==1 ? iFirst : (iFirst==1 ? 2 : 3);
      *(int*)pField = i;
      if( pNorm ) pNew = sqlite3StreamJsonNewString(pDef->azEnum[i]);
      break;
    }
    case STREAM_CFG_STR: {
      const char *z = sqlite3StreamJsonIsString(pVal) ? pVal->zValue : 0;
      int rc;
      if( z==0 ){
        return sqlite3StreamErr(pzErr, SQLITE_ERROR,
            "config %s must be a string", zKey);
      }
      rc = sqlite3StreamStoreUrlCheck(z, pzErr);
      if( rc ) return rc;
      if( pNorm ) pNew = sqlite3StreamJsonNewString(z);
      break;
    }
    default: {
      int i;
      const char *z = sqlite3StreamJsonIsString(pVal) ? pVal->zValue : 0;
      for(i=0; z && pDef->azEnum[i]; i++){
        if( strcmp(pDef->azEnum[i], z)==0 ) break;   /* as Kafka: exact */
      }
      if( z==0 || pDef->azEnum[i]==0 ){
        sqlite3_str *pStr = sqlite3_str_new(0);
        char *zList;
        int j;
        for(j=0; pDef->azEnum[j]; j++){
          sqlite3_str_appendf(pStr, "%s%s", j?", ":"", pDef->azEnum[j]);
        }
        zList = sqlite3_str_finish(pStr);
        sqlite3StreamErr(pzErr, SQLITE_ERROR, "config %s must be one of: %s",
                         zKey, zList ? zList : "?");
        sqlite3_free(zList);
        return SQLITE_ERROR;
      }
      *(int*)pField = i;
      if( pNorm ) pNew = sqlite3StreamJsonNewString(pDef->azEnum[i]);
      break;
    }
  }
  if( pNorm ){
    if( pNew==0 ) return SQLITE_NOMEM;
    sqlite3StreamJsonRemove(pNorm, zKey);
    if( !sqlite3StreamJsonAdd(pNorm, zKey, pNew) ) return SQLITE_NOMEM;
  }
  return SQLITE_OK;
}

/* Cross-key checks and conversion of enum indexes to engine values. */
static int streamCfgFinish(StreamTopicConfig *pCfg, char **pzErr){
  if( pCfg->minCompactionLagMs>pCfg->maxCompactionLagMs ){
    return sqlite3StreamErr(pzErr, SQLITE_ERROR,
        "config min.compaction.lag.ms (%lld) must not exceed "
        "max.compaction.lag.ms (%lld)",
        pCfg->minCompactionLagMs, pCfg->maxCompactionLagMs);
  }
  pCfg->eCleanup = aCleanupBits[pCfg->eCleanup];
  pCfg->bCompressionProducer = (pCfg->eCompression==3);
  if( pCfg->bCompressionProducer ) pCfg->eCompression = STREAM_CODEC_NONE;
  return SQLITE_OK;
}

static StreamJson *streamCfgParseObject(const char *zJson, const char *zWhat,
                                   int *pRc, char **pzErr){
  StreamJson *p;
  size_t n = strlen(zJson);
  int eKind = sqlite3StreamJsonCheck(zJson, n);
  if( eKind==STREAM_JSON_INVALID ){
    char *zWhere = sqlite3StreamJsonErrWhere(zJson, n);
    *pRc = zWhere==0 ? SQLITE_NOMEM : sqlite3StreamErr(pzErr, SQLITE_ERROR,
        "%s is not valid JSON (%s)", zWhat, zWhere);
    sqlite3_free(zWhere);
    return 0;
  }
  if( eKind!=STREAM_JSON_OBJECT ){
    *pRc = sqlite3StreamErr(pzErr, SQLITE_ERROR,
                            "%s must be a JSON object", zWhat);
    return 0;
  }
  p = sqlite3StreamJsonParse(zJson, -1);
  if( p==0 ) *pRc = SQLITE_NOMEM;
  return p;
}

/* Apply every key of pObj (null values skipped: they mean "default"). */
static int streamCfgApplyAll(StreamTopicConfig *pCfg, const StreamJson *pObj,
                             StreamJson *pNorm, char **pzErr){
  const StreamJson *pItem;
  STREAM_JSON_FOREACH(pItem, pObj){
    int rc;
    if( sqlite3StreamJsonIsNull(pItem) ){
      if( streamCfgFind(pItem->zKey)==0 ){
        return sqlite3StreamErr(pzErr, SQLITE_ERROR,
                                "unknown topic config key: %s", pItem->zKey);
      }
      if( pNorm ) sqlite3StreamJsonRemove(pNorm, pItem->zKey);
      continue;
    }
    rc = streamCfgApply(pCfg, pItem->zKey, pItem, pNorm, pzErr);
    if( rc ) return rc;
  }
  return SQLITE_OK;
}

int sqlite3StreamConfigMerge(const char *zOld, const char *zDelta,
                             StreamTopicConfig *pCfg, char **pzNew,
                             char **pzErr){
  int rc = SQLITE_OK;
  StreamJson *pOld = 0, *pDelta = 0, *pNorm = 0;
  streamCfgDefaults(pCfg);
  if( pzNew ) *pzNew = 0;
  pNorm = sqlite3StreamJsonNewObject();
  if( pNorm==0 ) return SQLITE_NOMEM;
  if( zOld && zOld[0] ){
    pOld = streamCfgParseObject(zOld, "stored topic config", &rc, pzErr);
    if( pOld ) rc = streamCfgApplyAll(pCfg, pOld, pNorm, pzErr);
  }
  if( rc==SQLITE_OK && zDelta ){
    pDelta = streamCfgParseObject(zDelta, "topic config", &rc, pzErr);
    if( pDelta ) rc = streamCfgApplyAll(pCfg, pDelta, pNorm, pzErr);
  }
  if( rc==SQLITE_OK && zOld && zDelta ){
    /* Resolve again from the merged overrides alone, so that a key reset
    ** with null falls back to its default. */
    streamCfgDefaults(pCfg);
    rc = streamCfgApplyAll(pCfg, pNorm, 0, pzErr);
  }
  if( rc==SQLITE_OK ) rc = streamCfgFinish(pCfg, pzErr);
  if( rc==SQLITE_OK && pzNew ){
    char *z = sqlite3StreamJsonPrint(pNorm, 0);
    if( z ){
      *pzNew = sqlite3_mprintf("%s", z);
      sqlite3_free(z);
    }
    if( *pzNew==0 ) rc = SQLITE_NOMEM;
  }
  sqlite3StreamJsonFree(pOld);
  sqlite3StreamJsonFree(pDelta);
  sqlite3StreamJsonFree(pNorm);
  return rc;
}

int sqlite3StreamConfigParse(StreamTopicConfig *pCfg, const char *zJson,
                             char **pzNormal, char **pzErr){
  return sqlite3StreamConfigMerge(0, zJson, pCfg, pzNormal, pzErr);
}

const char *sqlite3StreamCleanupName(int eCleanup){
  return eCleanup==STREAM_CLEANUP_DELETE ? "delete" :
         eCleanup==STREAM_CLEANUP_COMPACT ? "compact" :
         eCleanup==0 ? "" : "compact,delete";
}

char *sqlite3StreamConfigRender(const StreamTopicConfig *pCfg,
                                const char *zOver){
  sqlite3_str *p = sqlite3_str_new(0);
  StreamJson *pOver = zOver && zOver[0] ? sqlite3StreamJsonParse(zOver, -1)
                                        : 0;
  size_t i;
  for(i=0; i<sizeof(aCfgDef)/sizeof(aCfgDef[0]); i++){
    const StreamCfgDef *pDef = &aCfgDef[i];
    const char *pField = (const char*)pCfg + pDef->iField;
    if( pDef->eType==STREAM_CFG_STR ){
      /* Shown only when set (no default of its own). */
      const StreamJson *pV = pOver ? sqlite3StreamJsonGet(pOver, pDef->zKey)
                                   : 0;
      if( pV && sqlite3StreamJsonIsString(pV) ){
        sqlite3_str_appendf(p, ",\"%s\":", pDef->zKey);
        sqlite3StreamJsonQuote(p, pV->zValue, -1);
      }
      continue;
    }
    /* The cold tier's keys are shown only for a topic that uses it. */
    if( !pCfg->coldEnabled && strncmp(pDef->zKey, "cold.", 5)==0 ) continue;
    if( !pCfg->pipelineEnabled && strncmp(pDef->zKey, "pipeline.", 9)==0 ){
      continue;
    }
    sqlite3_str_appendf(p, "%s\"%s\":", i ? "," : "{", pDef->zKey);
    if( pDef->eType==STREAM_CFG_INT || pDef->eType==STREAM_CFG_BOOL ){
      sqlite3_str_appendf(p, "%lld", *(const i64*)pField);   /* 1 or 0 */
    }else if( pDef->eType==STREAM_CFG_REAL ){
      sqlite3_str_appendf(p, "%!.15g", *(const double*)pField);
    }else{
      const char *z;
      if( pDef->azEnum==azCleanup ){
        z = sqlite3StreamCleanupName(pCfg->eCleanup);
      }else if( pDef->azEnum==azCodec ){
        z = pCfg->bCompressionProducer ? "producer" :
            azCodec[pCfg->eCompression];
      }else{
        z = pDef->azEnum[*(const int*)pField];
      }
      sqlite3_str_appendf(p, "\"%s\"", z);
    }
  }
  sqlite3_str_appendall(p, "}");
  sqlite3StreamJsonFree(pOver);
  return sqlite3_str_finish(p);
}
