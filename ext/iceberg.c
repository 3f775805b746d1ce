/*
** iceberg.c - Apache Iceberg (format v2) tables on an object store: table
** metadata JSON, manifests and manifest lists (Avro, ext/avro.c), and the
** commit of an append.  Used by the cold tier (ext/cold.c).
**
** A table lives under a key prefix of the store ("iceberg/db_<id>/<topic>"):
**
**   <prefix>/data/timestamp_day=<YYYY-MM-DD>/<file>.parquet   data files
**   <prefix>/metadata/<snapshot>-<rand>-m0.avro               manifests
**   <prefix>/metadata/snap-<snapshot>-<attempt>-<rand>.avro   manifest lists
**   <prefix>/metadata/v<N>.metadata.json                      table metadata
**   <prefix>/metadata/version-hint.text                       N (best effort)
**
** The current version is the largest N of a vN.metadata.json in the
** listing: metadata files are created with create-only semantics
** (xPutCommitNew), so that N is authoritative and version-hint.text is
** only a convenience for readers that use it.
**
** The commit (sqlite3StreamIceAppend) writes, in order: the manifest of the
** new data files (already uploaded by the caller), then a manifest list
** (the parent snapshot's manifests plus the new one), then creates
** v<N+1>.metadata.json.  If another writer created it first, the table is
** reloaded and the manifest list and metadata are built again on the new
** parent (rebase), up to STREAM_ICE_RETRIES times.  Then version-hint.text
** is overwritten, ignoring errors.  This function is the one place a
** catalog commit (an Iceberg REST catalog) would plug in.
**
** Schema (field ids): 1 topic string, 2 partition int, 3 offset long,
** 4 key binary, 5 value binary, 6 headers string, 7 timestamp timestamptz,
** 8 attributes int (bit 0: key was a BLOB, bit 1: value was a BLOB);
** identifier fields (partition, offset); partition spec day(timestamp)
** (field 1000 "timestamp_day"); sort order 1: partition, offset.
**
** Snapshot ids are random positive integers below 2^53, so that readers
** that parse JSON numbers as doubles (and StreamJson) keep them exact.
*/
#include "streamInt.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STREAM_ICE_RETRIES 8
/* Previous metadata versions kept by default (Iceberg's
** write.metadata.previous-versions-max). */
#define STREAM_ICE_KEEP_VERSIONS 100

static const char zIceSchema[] =
  "{\"type\":\"struct\",\"schema-id\":0,\"identifier-field-ids\":[2,3],"
  "\"fields\":["
  "{\"id\":1,\"name\":\"topic\",\"required\":true,\"type\":\"string\"},"
  "{\"id\":2,\"name\":\"partition\",\"required\":true,\"type\":\"int\"},"
  "{\"id\":3,\"name\":\"offset\",\"required\":true,\"type\":\"long\"},"
  "{\"id\":4,\"name\":\"key\",\"required\":false,\"type\":\"binary\"},"
  "{\"id\":5,\"name\":\"value\",\"required\":false,\"type\":\"binary\"},"
  "{\"id\":6,\"name\":\"headers\",\"required\":false,\"type\":\"string\"},"
  "{\"id\":7,\"name\":\"timestamp\",\"required\":true,"
  "\"type\":\"timestamptz\"},"
  "{\"id\":8,\"name\":\"attributes\",\"required\":true,\"type\":\"int\"}]}";

static const char zIceSpecFields[] =
  "[{\"name\":\"timestamp_day\",\"transform\":\"day\",\"source-id\":7,"
  "\"field-id\":1000}]";

static const char zIceSortOrder[] =
  "{\"order-id\":1,\"fields\":["
  "{\"transform\":\"identity\",\"source-id\":2,\"direction\":\"asc\","
  "\"null-order\":\"nulls-first\"},"
  "{\"transform\":\"identity\",\"source-id\":3,\"direction\":\"asc\","
  "\"null-order\":\"nulls-first\"}]}";

/* An Avro map<int,X> as Iceberg writes it: an array of key/value records. */
#define ICE_MAP(name, id, kid, vid, vtype) \
  "{\"name\":\"" name "\",\"type\":[\"null\",{\"type\":\"array\"," \
  "\"logicalType\":\"map\",\"items\":{\"type\":\"record\",\"name\":\"k" \
  #kid "_v" #vid "\",\"fields\":[{\"name\":\"key\",\"type\":\"int\"," \
  "\"field-id\":" #kid "},{\"name\":\"value\",\"type\":\"" vtype "\"," \
  "\"field-id\":" #vid "}]}}],\"default\":null,\"field-id\":" #id "}"

static const char zIceManifestAvro[] =
  "{\"type\":\"record\",\"name\":\"manifest_entry\",\"fields\":["
  "{\"name\":\"status\",\"type\":\"int\",\"field-id\":0},"
  "{\"name\":\"snapshot_id\",\"type\":[\"null\",\"long\"],\"default\":null,"
  "\"field-id\":1},"
  "{\"name\":\"sequence_number\",\"type\":[\"null\",\"long\"],"
  "\"default\":null,\"field-id\":3},"
  "{\"name\":\"file_sequence_number\",\"type\":[\"null\",\"long\"],"
  "\"default\":null,\"field-id\":4},"
  "{\"name\":\"data_file\",\"field-id\":2,\"type\":{\"type\":\"record\","
  "\"name\":\"r2\",\"fields\":["
  "{\"name\":\"content\",\"type\":\"int\",\"field-id\":134},"
  "{\"name\":\"file_path\",\"type\":\"string\",\"field-id\":100},"
  "{\"name\":\"file_format\",\"type\":\"string\",\"field-id\":101},"
  "{\"name\":\"partition\",\"field-id\":102,\"type\":{\"type\":\"record\","
  "\"name\":\"r102\",\"fields\":[{\"name\":\"timestamp_day\","
  "\"type\":[\"null\",\"int\"],\"default\":null,\"field-id\":1000}]}},"
  "{\"name\":\"record_count\",\"type\":\"long\",\"field-id\":103},"
  "{\"name\":\"file_size_in_bytes\",\"type\":\"long\",\"field-id\":104},"
  ICE_MAP("value_counts", 109, 119, 120, "long") ","
  ICE_MAP("null_value_counts", 110, 121, 122, "long") ","
  ICE_MAP("lower_bounds", 125, 126, 127, "bytes") ","
  ICE_MAP("upper_bounds", 128, 129, 130, "bytes") ","
  "{\"name\":\"key_metadata\",\"type\":[\"null\",\"bytes\"],"
  "\"default\":null,\"field-id\":131},"
  "{\"name\":\"split_offsets\",\"type\":[\"null\",{\"type\":\"array\","
  "\"items\":\"long\",\"element-id\":133}],\"default\":null,"
  "\"field-id\":132},"
  "{\"name\":\"equality_ids\",\"type\":[\"null\",{\"type\":\"array\","
  "\"items\":\"int\",\"element-id\":136}],\"default\":null,"
  "\"field-id\":135},"
  "{\"name\":\"sort_order_id\",\"type\":[\"null\",\"int\"],"
  "\"default\":null,\"field-id\":140}]}}]}";

static const char zIceListAvro[] =
  "{\"type\":\"record\",\"name\":\"manifest_file\",\"fields\":["
  "{\"name\":\"manifest_path\",\"type\":\"string\",\"field-id\":500},"
  "{\"name\":\"manifest_length\",\"type\":\"long\",\"field-id\":501},"
  "{\"name\":\"partition_spec_id\",\"type\":\"int\",\"field-id\":502},"
  "{\"name\":\"content\",\"type\":\"int\",\"field-id\":517},"
  "{\"name\":\"sequence_number\",\"type\":\"long\",\"field-id\":515},"
  "{\"name\":\"min_sequence_number\",\"type\":\"long\",\"field-id\":516},"
  "{\"name\":\"added_snapshot_id\",\"type\":\"long\",\"field-id\":503},"
  "{\"name\":\"added_files_count\",\"type\":\"int\",\"field-id\":504},"
  "{\"name\":\"existing_files_count\",\"type\":\"int\",\"field-id\":505},"
  "{\"name\":\"deleted_files_count\",\"type\":\"int\",\"field-id\":506},"
  "{\"name\":\"added_rows_count\",\"type\":\"long\",\"field-id\":512},"
  "{\"name\":\"existing_rows_count\",\"type\":\"long\",\"field-id\":513},"
  "{\"name\":\"deleted_rows_count\",\"type\":\"long\",\"field-id\":514},"
  "{\"name\":\"partitions\",\"type\":[\"null\",{\"type\":\"array\","
  "\"element-id\":508,\"items\":{\"type\":\"record\",\"name\":\"r508\","
  "\"fields\":["
  "{\"name\":\"contains_null\",\"type\":\"boolean\",\"field-id\":509},"
  "{\"name\":\"contains_nan\",\"type\":[\"null\",\"boolean\"],"
  "\"default\":null,\"field-id\":518},"
  "{\"name\":\"lower_bound\",\"type\":[\"null\",\"bytes\"],"
  "\"default\":null,\"field-id\":510},"
  "{\"name\":\"upper_bound\",\"type\":[\"null\",\"bytes\"],"
  "\"default\":null,\"field-id\":511}]}}],\"default\":null,"
  "\"field-id\":507},"
  "{\"name\":\"key_metadata\",\"type\":[\"null\",\"bytes\"],"
  "\"default\":null,\"field-id\":519}]}";

struct StreamIceTable {
  StreamStore *pStore;         /* Store (not owned) */
  char *zPrefix;               /* Key prefix of the table */
  char *zLocation;             /* Its URL, as written in the metadata */
  int iVersion;                /* N of the current vN.metadata.json, or 0 */
  StreamJson *pMeta;                /* That metadata, or NULL (no table yet) */
  int nKeepVersions;           /* Previous metadata versions kept (the
                               ** metadata-log's length) */
};

/**************************************************************************
** Store helpers
*/

/* Upload buffer b as key zKey (bNew: create-only). */
static int streamIcePut(StreamStore *pStore, const char *zKey,
                        const StreamPqBuf *b, int bNew, char **pzErr){
  StreamStoreUpload *pUp = 0;
  const StreamStoreMethods *m = pStore->pMethods;
  int rc;
  if( b->rc ) return b->rc;
  rc = m->xPutBegin(pStore, zKey, &pUp, pzErr);
  if( rc ) return rc;
  rc = m->xPutWrite(pUp, b->a, b->n, pzErr);
  if( rc ){ m->xPutAbort(pUp); return rc; }
  return bNew ? m->xPutCommitNew(pUp, pzErr) : m->xPutCommit(pUp, pzErr);
}

int sqlite3StreamIceGet(StreamStore *pStore, const char *zKey,
                        StreamPqBuf *pOut, char **pzErr){
  StreamStoreFile *pF = 0;
  i64 nSize = 0;
  int rc = pStore->pMethods->xOpen(pStore, zKey, &pF, &nSize, pzErr);
  if( rc ) return rc;
  if( nSize>STREAM_PQ_MAX_FOOTER ){
    rc = sqlite3StreamErr(pzErr, SQLITE_TOOBIG, "iceberg file %s is larger"
        " than %d bytes", zKey, STREAM_PQ_MAX_FOOTER);
  }else if( sqlite3StreamPqBufReserve(pOut, (size_t)nSize+1) ){
    rc = SQLITE_NOMEM;
  }else{
    rc = pStore->pMethods->xRead(pF, pOut->a, (size_t)nSize, 0);
    if( rc ){
      const char *z = sqlite3StreamStoreFileErr(pStore, pF, rc);
      rc = sqlite3StreamErr(pzErr, z ? SQLITE_IOERR : rc, "cannot read"
                            " iceberg file %s%s%s", zKey, z ? ": " : "",
                            z ? z : "");
    }else{
      pOut->n = (size_t)nSize;
      pOut->a[nSize] = 0;
    }
  }
  pStore->pMethods->xClose(pF);
  return rc;
}

/* The store key of a path written in the metadata (location + "/..."). */
static const char *streamIceKeyOf(StreamIceTable *t, const char *zPath,
                                  char **pzKey){
  size_t n = strlen(t->zLocation);
  *pzKey = 0;
  if( strncmp(zPath, t->zLocation, n)!=0 || zPath[n]!='/' ) return 0;
  *pzKey = sqlite3_mprintf("%s%s", t->zPrefix, &zPath[n]);
  return *pzKey;
}

/* Read the Avro file of store key zKey. */
static int streamIceReadAvroKey(StreamIceTable *t, const char *zKey,
                                StreamJson **ppMeta, StreamJson **ppRecs, char **pzErr){
  StreamPqBuf b;
  int rc;
  memset(&b, 0, sizeof(b));
  *ppMeta = *ppRecs = 0;
  rc = sqlite3StreamIceGet(t->pStore, zKey, &b, pzErr);
  if( rc==SQLITE_OK ){
    char *zErr = 0;
    rc = sqlite3StreamAvroRead(b.a, b.n, ppMeta, ppRecs, &zErr);
    if( rc && rc!=SQLITE_NOMEM ){
      sqlite3StreamErr(pzErr, rc, "iceberg file %s: %s", zKey,
                       zErr ? zErr : "bad");
    }
    sqlite3_free(zErr);
  }
  sqlite3StreamPqBufFree(&b);
  return rc;
}

/* Read an Avro file named by its metadata path. */
static int streamIceReadAvro(StreamIceTable *t, const char *zPath,
                             StreamJson **ppMeta, StreamJson **ppRecs, char **pzErr){
  char *zKey = 0;
  int rc;
  *ppMeta = *ppRecs = 0;
  if( streamIceKeyOf(t, zPath, &zKey)==0 ){
    return sqlite3StreamErr(pzErr, SQLITE_CORRUPT, "iceberg table %s: file"
        " %s is not inside the table's location", t->zLocation, zPath);
  }
  rc = streamIceReadAvroKey(t, zKey, ppMeta, ppRecs, pzErr);
  sqlite3_free(zKey);
  return rc;
}

/**************************************************************************
** Loading a table
*/

typedef struct StreamIceList StreamIceList;
struct StreamIceList {
  const char *zDir;            /* "<prefix>/metadata/" */
  int iMax;                    /* Largest N seen */
};

static int streamIceListCb(void *pArg, const char *zKey){
  StreamIceList *p = (StreamIceList*)pArg;
  size_t n = strlen(p->zDir);
  const char *z;
  char *zEnd = 0;
  long v;
  if( strncmp(zKey, p->zDir, n)!=0 ) return 0;
  z = &zKey[n];
  if( z[0]!='v' || z[1]<'1' || z[1]>'9' ) return 0;
  v = strtol(&z[1], &zEnd, 10);
  if( zEnd==0 || strcmp(zEnd, ".metadata.json")!=0 ) return 0;
  if( v>p->iMax && v<0x7fffffff ) p->iMax = (int)v;
  return 0;
}

/* The location URL of a store key prefix: the store URL without any
** user information (credentials are never written into metadata) and
** without its options ("s3://bucket/prefix?endpoint=..." gives
** "s3://bucket/prefix/<key prefix>"). */
static char *streamIceLocation(StreamStore *pStore, const char *zPrefix){
  const char *zUrl = pStore->zUrl;
  const char *zAuth = strstr(zUrl, "://");
  size_t n = strcspn(zUrl, "?#");
  while( n>0 && zUrl[n-1]=='/' ) n--;
  if( zAuth ){
    const char *zHost = zAuth+3, *zAt = 0, *z;
    for(z=zHost; *z && *z!='/'; z++) if( *z=='@' ) zAt = z;
    if( zAt ){
      return sqlite3_mprintf("%.*s%.*s/%s", (int)(zHost-zUrl), zUrl,
                             (int)(n - (size_t)(zAt+1-zUrl)), zAt+1, zPrefix);
    }
  }
  return sqlite3_mprintf("%.*s/%s", (int)n, zUrl, zPrefix);
}

/* Integers of parsed metadata back to integer text (StreamJson would print
** some as 1.5e+15).  SQLITE_RANGE if one is not exact (2^53 or more: a
** 64-bit snapshot id of another writer, which a double cannot hold). */
static int streamIceIntegers(StreamJson *p){
  StreamJson *pC;
  if( sqlite3StreamJsonIsNumber(p) && p->rValue==floor(p->rValue) ){
    char z[24];
    if( p->rValue>=9007199254740992.0
     || p->rValue<=-9007199254740992.0 ) return SQLITE_RANGE;
    snprintf(z, sizeof(z), "%lld", (long long)p->rValue);
    p->eType = STREAM_JSON_RAW;
    sqlite3_free(p->zValue);            /* the literal the reader kept */
    p->zValue = sqlite3_malloc64(strlen(z)+1);
    if( p->zValue==0 ) return SQLITE_NOMEM;
    memcpy(p->zValue, z, strlen(z)+1);
    return SQLITE_OK;
  }
  for(pC=p->pChild; pC; pC=pC->pNext){
    int rc = streamIceIntegers(pC);
    if( rc ) return rc;
  }
  return SQLITE_OK;
}

static int streamIceReload(StreamIceTable *t, char **pzErr){
  StreamIceList ls;
  char *zDir = sqlite3_mprintf("%s/metadata/", t->zPrefix);
  int rc;
  if( zDir==0 ) return SQLITE_NOMEM;
  ls.zDir = zDir;
  ls.iMax = 0;
  rc = t->pStore->pMethods->xList(t->pStore, zDir, streamIceListCb, &ls,
                                  pzErr);
  sqlite3StreamJsonFree(t->pMeta);
  t->pMeta = 0;
  t->iVersion = 0;
  if( rc==SQLITE_OK && ls.iMax>0 ){
    StreamPqBuf b;
    char *zKey = sqlite3_mprintf("%sv%d.metadata.json", zDir, ls.iMax);
    memset(&b, 0, sizeof(b));
    rc = zKey ? sqlite3StreamIceGet(t->pStore, zKey, &b, pzErr) : SQLITE_NOMEM;
    if( rc==SQLITE_OK ){
      t->pMeta = sqlite3StreamJsonParse((const char*)b.a, b.n);
      if( t->pMeta==0 || !sqlite3StreamJsonIsObject(t->pMeta) ){
        rc = sqlite3StreamErr(pzErr, SQLITE_CORRUPT, "iceberg metadata %s is"
            " not a JSON object", zKey);
      }else if( (rc = streamIceIntegers(t->pMeta))==SQLITE_RANGE ){
        rc = sqlite3StreamErr(pzErr, SQLITE_RANGE, "iceberg metadata %s"
            " holds an integer of 2^53 or more (a snapshot id of another"
            " writer?): not supported", zKey);
      }else if( rc==SQLITE_OK ){
        t->iVersion = ls.iMax;
      }
    }
    sqlite3StreamPqBufFree(&b);
    sqlite3_free(zKey);
  }
  sqlite3_free(zDir);
  return rc;
}

int sqlite3StreamIceOpen(StreamStore *pStore, const char *zPrefix,
                         StreamIceTable **pp, char **pzErr){
  StreamIceTable *t = sqlite3_malloc64(sizeof(*t));
  int rc;
  *pp = 0;
  if( t==0 ) return SQLITE_NOMEM;
  memset(t, 0, sizeof(*t));
  t->pStore = pStore;
  t->nKeepVersions = STREAM_ICE_KEEP_VERSIONS;
  t->zPrefix = sqlite3_mprintf("%s", zPrefix);
  t->zLocation = streamIceLocation(pStore, zPrefix);
  if( t->zPrefix==0 || t->zLocation==0 ){
    sqlite3StreamIceClose(t);
    return SQLITE_NOMEM;
  }
  rc = streamIceReload(t, pzErr);
  if( rc ){ sqlite3StreamIceClose(t); return rc; }
  *pp = t;
  return SQLITE_OK;
}

void sqlite3StreamIceClose(StreamIceTable *t){
  if( t==0 ) return;
  sqlite3StreamJsonFree(t->pMeta);
  sqlite3_free(t->zPrefix);
  sqlite3_free(t->zLocation);
  sqlite3_free(t);
}

int sqlite3StreamIceVersion(StreamIceTable *t){ return t->iVersion; }

/* version-hint.text := the current version (best effort: errors ignored). */
static void streamIceHint(StreamIceTable *t){
  char *zHint = sqlite3_mprintf("%s/metadata/version-hint.text", t->zPrefix);
  char zV[16], *zIgnore = 0;
  StreamPqBuf b;
  memset(&b, 0, sizeof(b));
  snprintf(zV, sizeof(zV), "%d", t->iVersion);
  sqlite3StreamPqBufAppend(&b, zV, strlen(zV));
  if( zHint ) streamIcePut(t->pStore, zHint, &b, 0, &zIgnore);
  sqlite3_free(zIgnore);
  sqlite3_free(zHint);
  sqlite3StreamPqBufFree(&b);
}

void sqlite3StreamIceRepairHint(StreamIceTable *t){
  StreamPqBuf b;
  char *zHint, *zIgnore = 0;
  if( t->iVersion==0 ) return;
  zHint = sqlite3_mprintf("%s/metadata/version-hint.text", t->zPrefix);
  memset(&b, 0, sizeof(b));
  if( zHint==0 ) return;
  if( sqlite3StreamIceGet(t->pStore, zHint, &b, &zIgnore)!=SQLITE_OK
   || atoi((const char*)b.a)!=t->iVersion ){
    streamIceHint(t);
  }
  sqlite3_free(zIgnore);
  sqlite3_free(zHint);
  sqlite3StreamPqBufFree(&b);
}

/* Snapshot of id iId in the metadata, or NULL. */
/* Append a copy of pItem to array pArr; 0 if out of memory. */
static int streamIceAppendCopy(StreamJson *pArr, const StreamJson *pItem){
  StreamJson *pCopy = sqlite3StreamJsonCopy(pItem);
  if( pCopy && sqlite3StreamJsonAppend(pArr, pCopy) ) return 1;
  sqlite3StreamJsonFree(pCopy);
  return 0;
}

static StreamJson *streamIceSnapshot(StreamJson *pMeta, i64 iId){
  StreamJson *pS;
  STREAM_JSON_FOREACH(pS, sqlite3StreamJsonGet(pMeta, "snapshots")){
    if( sqlite3StreamJsonI64(sqlite3StreamJsonGet(pS,
            "snapshot-id"), -2)==iId ) return pS;
  }
  return 0;
}

static i64 streamIceCurrent(StreamJson *pMeta){
  return pMeta ? sqlite3StreamJsonI64(
      sqlite3StreamJsonGet(pMeta, "current-snapshot-id"), -1) : -1;
}

const char *sqlite3StreamIceLastCommit(StreamIceTable *t, const char *zKey,
                                       const char *zValue, const char *zWant,
                                       int *pbBroken){
  i64 iId = streamIceCurrent(t->pMeta);
  int nHop = 0;
  if( pbBroken ) *pbBroken = 0;
  while( iId>=0 && nHop++<1000000 ){
    StreamJson *pS = streamIceSnapshot(t->pMeta, iId);
    StreamJson *pSum = sqlite3StreamJsonGet(pS, "summary");
    StreamJson *pV = sqlite3StreamJsonGet(pSum, zKey);
    if( pS==0 ){
      /* The chain goes on into expired snapshots: what they held is
      ** unknown. */
      if( pbBroken ) *pbBroken = 1;
      break;
    }
    if( sqlite3StreamJsonIsString(pV) && strcmp(pV->zValue, zValue)==0 ){
      pV = sqlite3StreamJsonGet(pSum, zWant);
      return sqlite3StreamJsonIsString(pV) ? pV->zValue : "";
    }
    iId = sqlite3StreamJsonI64(
        sqlite3StreamJsonGet(pS, "parent-snapshot-id"), -1);
  }
  return 0;
}

void sqlite3StreamIceSetKeepVersions(StreamIceTable *t, int nKeep){
  t->nKeepVersions = nKeep<1 ? 1 : nKeep;
}

/**************************************************************************
** Writing
*/

static StreamJson *streamIceRaw(i64 v){
  char z[24];
  snprintf(z, sizeof(z), "%lld", (long long)v);
  return sqlite3StreamJsonNewRaw(z);
}

/* An 8-byte (or 4-byte) little-endian bound as hex. */
static StreamJson *streamIceBound(i64 v, int nByte){
  char z[17];
  int i;
  for(i=0; i<nByte; i++){
    snprintf(&z[i*2], 3, "%02x", (unsigned)(((u64)v >> (8*i)) & 0xff));
  }
  z[nByte*2] = 0;
  return sqlite3StreamJsonNewString(z);
}

static void streamIceMapAdd(StreamJson *pArr, int iKey, StreamJson *pVal){
  StreamJson *pKv = sqlite3StreamJsonNewObject();
  if( pKv==0 ){ sqlite3StreamJsonFree(pVal); return; }
  sqlite3StreamJsonAdd(pKv, "key", streamIceRaw(iKey));
  sqlite3StreamJsonAdd(pKv, "value", pVal);
  sqlite3StreamJsonAppend(pArr, pKv);
}

/* The manifest entry of one data file, as a StreamJson record. */
static StreamJson *streamIceEntry(StreamIceTable *t, i64 iSnap,
                             const StreamIceFile *f){
  StreamJson *pE = sqlite3StreamJsonNewObject();
  StreamJson *pD = sqlite3StreamJsonNewObject();
  StreamJson *pPart = sqlite3StreamJsonNewObject();
  StreamJson *pVc = sqlite3StreamJsonNewArray();
  StreamJson *pNc = sqlite3StreamJsonNewArray();
  StreamJson *pLo = sqlite3StreamJsonNewArray();
  StreamJson *pHi = sqlite3StreamJsonNewArray();
  char *zPath = sqlite3_mprintf("%s/%s", t->zLocation, f->zRel);
  int i;
  if( !pE || !pD || !pPart || !pVc || !pNc || !pLo || !pHi || !zPath ){
    sqlite3StreamJsonFree(pE); sqlite3StreamJsonFree(pD);
    sqlite3StreamJsonFree(pPart); sqlite3StreamJsonFree(pVc);
    sqlite3StreamJsonFree(pNc); sqlite3StreamJsonFree(pLo);
    sqlite3StreamJsonFree(pHi);
    sqlite3_free(zPath);
    return 0;
  }
  sqlite3StreamJsonAdd(pE, "status", streamIceRaw(1));         /* ADDED */
  sqlite3StreamJsonAdd(pE, "snapshot_id", streamIceRaw(iSnap));
  sqlite3StreamJsonAddNull(pE, "sequence_number");     /* inherited */
  sqlite3StreamJsonAddNull(pE, "file_sequence_number");
  sqlite3StreamJsonAdd(pD, "content", streamIceRaw(0));
  sqlite3StreamJsonAddString(pD, "file_path", zPath);
  sqlite3StreamJsonAddString(pD, "file_format", "PARQUET");
  sqlite3StreamJsonAdd(pPart, "timestamp_day", streamIceRaw(f->iDay));
  sqlite3StreamJsonAdd(pD, "partition", pPart);
  sqlite3StreamJsonAdd(pD, "record_count", streamIceRaw(f->nRecords));
  sqlite3StreamJsonAdd(pD, "file_size_in_bytes", streamIceRaw(f->nBytes));
  for(i=1; i<=8; i++){
    i64 nNull = i==4 ? f->nNullKey : i==5 ? f->nNullValue
              : i==6 ? f->nNullHeaders : 0;
    streamIceMapAdd(pVc, i, streamIceRaw(f->nRecords));
    streamIceMapAdd(pNc, i, streamIceRaw(nNull));
  }
  /* Bounds: topic (the name as UTF-8), partition, offset, timestamp. */
  {
    char *zHex = sqlite3_malloc64(strlen(f->zTopic)*2+1);
    if( zHex ){
      size_t k;
      for(k=0; f->zTopic[k]; k++){
        snprintf(&zHex[k*2], 3, "%02x", (unsigned char)f->zTopic[k]);
      }
      zHex[k*2] = 0;
      streamIceMapAdd(pLo, 1, sqlite3StreamJsonNewString(zHex));
      streamIceMapAdd(pHi, 1, sqlite3StreamJsonNewString(zHex));
      sqlite3_free(zHex);
    }
  }
  streamIceMapAdd(pLo, 2, streamIceBound(f->iPartition, 4));
  streamIceMapAdd(pHi, 2, streamIceBound(f->iPartition, 4));
  streamIceMapAdd(pLo, 3, streamIceBound(f->iOffLo, 8));
  streamIceMapAdd(pHi, 3, streamIceBound(f->iOffHi, 8));
  streamIceMapAdd(pLo, 7, streamIceBound(f->iTsLo, 8));
  streamIceMapAdd(pHi, 7, streamIceBound(f->iTsHi, 8));
  sqlite3StreamJsonAdd(pD, "value_counts", pVc);
  sqlite3StreamJsonAdd(pD, "null_value_counts", pNc);
  sqlite3StreamJsonAdd(pD, "lower_bounds", pLo);
  sqlite3StreamJsonAdd(pD, "upper_bounds", pHi);
  sqlite3StreamJsonAddNull(pD, "key_metadata");
  sqlite3StreamJsonAddNull(pD, "split_offsets");
  sqlite3StreamJsonAddNull(pD, "equality_ids");
  sqlite3StreamJsonAdd(pD, "sort_order_id", streamIceRaw(1));
  sqlite3StreamJsonAdd(pE, "data_file", pD);
  sqlite3_free(zPath);
  return pE;
}

/* Encode an array of StreamJson records with schema zSchema into a container
** file in *pOut. */
static int streamIceContainer(StreamPqBuf *pOut, const char *zSchema,
                              const char *const *azMeta, StreamJson *pRecs,
                              char **pzErr){
  StreamPqBuf recs;
  StreamJson *pSchema = sqlite3StreamJsonParse(zSchema, -1);
  StreamJson *pR;
  int rc = pSchema ? SQLITE_OK : SQLITE_NOMEM;
  i64 n = 0;
  memset(&recs, 0, sizeof(recs));
  STREAM_JSON_FOREACH(pR, pRecs){
    if( rc ) break;
    rc = sqlite3StreamAvroEncode(&recs, pSchema, pR, pzErr);
    n++;
  }
  if( rc==SQLITE_OK ){
    rc = sqlite3StreamAvroContainer(pOut, zSchema, azMeta, n, &recs);
  }
  sqlite3StreamPqBufFree(&recs);
  sqlite3StreamJsonFree(pSchema);
  return rc;
}

/* pObj[zKey] = [pItem] */
static void streamIceAddOne(StreamJson *pObj, const char *zKey,
                            StreamJson *pItem){
  StreamJson *pArr = sqlite3StreamJsonNewArray();
  if( pArr ) sqlite3StreamJsonAppend(pArr, pItem);
  else sqlite3StreamJsonFree(pItem);
  sqlite3StreamJsonAdd(pObj, zKey, pArr);
}

/* Fresh table metadata (no snapshot yet). */
static StreamJson *streamIceNewMeta(StreamIceTable *t, const char *zTopic,
                               i64 iNow){
  StreamJson *pM = sqlite3StreamJsonNewObject();
  char zUuid[37];
  u8 a[16];
  int i, j = 0;
  if( pM==0 ) return 0;
  sqlite3_randomness(16, a);
  a[6] = (a[6] & 0x0f) | 0x40;
  a[8] = (a[8] & 0x3f) | 0x80;
  for(i=0; i<16; i++){
    if( i==4 || i==6 || i==8 || i==10 ) zUuid[j++] = '-';
    snprintf(&zUuid[j], 3, "%02x", a[i]);
    j += 2;
  }
  zUuid[j] = 0;
  sqlite3StreamJsonAddNumber(pM, "format-version", 2);
  sqlite3StreamJsonAddString(pM, "table-uuid", zUuid);
  sqlite3StreamJsonAddString(pM, "location", t->zLocation);
  sqlite3StreamJsonAdd(pM, "last-sequence-number", streamIceRaw(0));
  sqlite3StreamJsonAdd(pM, "last-updated-ms", streamIceRaw(iNow));
  sqlite3StreamJsonAddNumber(pM, "last-column-id", 8);
  streamIceAddOne(pM, "schemas", sqlite3StreamJsonParse(zIceSchema, -1));
  sqlite3StreamJsonAddNumber(pM, "current-schema-id", 0);
  {
    StreamJson *pSpec = sqlite3StreamJsonNewObject();
    sqlite3StreamJsonAddNumber(pSpec, "spec-id", 0);
    sqlite3StreamJsonAdd(pSpec, "fields",
                         sqlite3StreamJsonParse(zIceSpecFields, -1));
    streamIceAddOne(pM, "partition-specs", pSpec);
  }
  sqlite3StreamJsonAddNumber(pM, "default-spec-id", 0);
  sqlite3StreamJsonAddNumber(pM, "last-partition-id", 1000);
  streamIceAddOne(pM, "sort-orders", sqlite3StreamJsonParse(zIceSortOrder, -1));
  sqlite3StreamJsonAddNumber(pM, "default-sort-order-id", 1);
  {
    StreamJson *pProp = sqlite3StreamJsonNewObject();
    sqlite3StreamJsonAddString(pProp, "write.format.default", "parquet");
    sqlite3StreamJsonAddString(pProp, "stream.topic", zTopic);
    sqlite3StreamJsonAdd(pM, "properties", pProp);
  }
  sqlite3StreamJsonAdd(pM, "current-snapshot-id", streamIceRaw(-1));
  sqlite3StreamJsonAdd(pM, "snapshots",
                       sqlite3StreamJsonNewArray());
  sqlite3StreamJsonAdd(pM, "snapshot-log",
                       sqlite3StreamJsonNewArray());
  sqlite3StreamJsonAdd(pM, "metadata-log",
                       sqlite3StreamJsonNewArray());
  sqlite3StreamJsonAdd(pM, "refs", sqlite3StreamJsonNewObject());
  return pM;
}

/* Replace (or add) key zKey of object pObj. */
static void streamIceSet(StreamJson *pObj, const char *zKey, StreamJson *pVal){
  if( sqlite3StreamJsonGet(pObj, zKey) ){
    sqlite3StreamJsonReplace(pObj, zKey, pVal);
  }else{
    sqlite3StreamJsonAdd(pObj, zKey, pVal);
  }
}

/* The metadata-log of new metadata pM (replacing the current version):
** the current version's file appended, then only the newest
** t->nKeepVersions entries kept (older versions are deleted by the
** housekeeping, sqlite3StreamIceOrphans()). */
static void streamIceMetaLog(StreamIceTable *t, StreamJson *pM, i64 iNow){
  StreamJson *pArr = sqlite3StreamJsonGetNoCase(pM, "metadata-log");
  if( pArr==0 ){
    pArr = sqlite3StreamJsonNew(STREAM_JSON_ARRAY);
    if( pArr==0 ) return;
    sqlite3StreamJsonAdd(pM, "metadata-log", pArr);
  }
  if( t->iVersion>0 ){
    char *zPrev = sqlite3_mprintf("%s/metadata/v%d.metadata.json",
                                  t->zLocation, t->iVersion);
    StreamJson *pLog = sqlite3StreamJsonNew(STREAM_JSON_OBJECT);
    if( pLog ){
      sqlite3StreamJsonAdd(pLog, "timestamp-ms", streamIceRaw(iNow));
      sqlite3StreamJsonAddString(pLog, "metadata-file", zPrev ? zPrev : "");
      sqlite3StreamJsonAppend(pArr, pLog);
    }
    sqlite3_free(zPrev);
  }
  while( sqlite3StreamJsonCount(pArr)>t->nKeepVersions ){
    sqlite3StreamJsonRemoveFirst(pArr);
  }
}

/* Crash points of a commit (tests; see docs/tiering.md). */
#ifdef STREAM_TEST_HOOKS
# include <signal.h>
void sqlite3StreamColdCrashPoint(int iStep){
  const char *z = getenv("STREAM_COLD_CRASH");
  if( z && atoi(z)==iStep ) raise(SIGKILL);
}
#endif

int sqlite3StreamIceAppend(StreamIceTable *t, const StreamIceFile *aFile,
                           int nFile, const char *zTopic, i64 iNow,
                           const char *const *azSummary,
                           int (*xCheck)(void*, StreamIceTable*, char**),
                           void *pCheckArg, i64 *piSnap, char **pzErr){
  StreamPqBuf man, list, meta;
  StreamJson *pEntries = sqlite3StreamJsonNewArray();
  char *zManKey = 0, *zManPath = 0;
  i64 iSnap, nRows = 0, nBytes = 0, iDayLo = 0, iDayHi = 0;
  int rc = SQLITE_OK, i, iTry;
  char zSnap[24];
  u64 r;

  memset(&man, 0, sizeof(man));
  memset(&list, 0, sizeof(list));
  memset(&meta, 0, sizeof(meta));
  if( pEntries==0 ) return SQLITE_NOMEM;
  sqlite3_randomness(sizeof(r), &r);
  iSnap = (i64)(r & (((u64)1<<53)-1));
  if( iSnap==0 ) iSnap = 1;
  *piSnap = iSnap;
  snprintf(zSnap, sizeof(zSnap), "%lld", (long long)iSnap);

  /* 1. The manifest of the new data files. */
  for(i=0; i<nFile; i++){
    StreamJson *pE = streamIceEntry(t, iSnap, &aFile[i]);
    if( pE==0 ){ rc = SQLITE_NOMEM; break; }
    sqlite3StreamJsonAppend(pEntries, pE);
    nRows += aFile[i].nRecords;
    nBytes += aFile[i].nBytes;
    if( i==0 || aFile[i].iDay<iDayLo ) iDayLo = aFile[i].iDay;
    if( i==0 || aFile[i].iDay>iDayHi ) iDayHi = aFile[i].iDay;
  }
  if( rc==SQLITE_OK ){
    static const char *azHdr[] = {
      "schema", zIceSchema, "schema-id", "0",
      "partition-spec", zIceSpecFields, "partition-spec-id", "0",
      "format-version", "2", "content", "data", 0
    };
    u64 r2;
    sqlite3_randomness(sizeof(r2), &r2);
    zManKey = sqlite3_mprintf("%s/metadata/%s-%016llx-m0.avro", t->zPrefix,
                              zSnap, (unsigned long long)r2);
    if( zManKey==0 ) rc = SQLITE_NOMEM;
    if( rc==SQLITE_OK ){
      rc = streamIceContainer(&man, zIceManifestAvro, azHdr, pEntries, pzErr);
    }
    if( rc==SQLITE_OK ) rc = streamIcePut(t->pStore, zManKey, &man, 0, pzErr);
    if( rc==SQLITE_OK ){
      zManPath = sqlite3_mprintf("%s%s", t->zLocation,
                                 &zManKey[strlen(t->zPrefix)]);
      if( zManPath==0 ) rc = SQLITE_NOMEM;
    }
  }
  STREAM_COLD_CRASH(1);

  /* 2..4: manifest list and metadata on the current parent; rebase on a
  ** conflict. */
  for(iTry=0; rc==SQLITE_OK && iTry<STREAM_ICE_RETRIES; iTry++){
    StreamJson *pList = 0, *pListMeta = 0, *pNew = 0, *pM, *pSnap, *pMf;
    i64 iParent = streamIceCurrent(t->pMeta), iSeq;
    char *zListKey = 0, *zListPath = 0, *zMetaKey = 0, *zText = 0;
    u64 r3;

    if( iTry>0 ){
      rc = streamIceReload(t, pzErr);
      if( rc==SQLITE_OK && xCheck ) rc = xCheck(pCheckArg, t, pzErr);
      if( rc ) break;
      iParent = streamIceCurrent(t->pMeta);
    }
    /* The parent's manifests, carried forward. */
    if( iParent>=0 ){
      StreamJson *pPar = streamIceSnapshot(t->pMeta, iParent);
      StreamJson *pMl = sqlite3StreamJsonGet(pPar, "manifest-list");
      if( !sqlite3StreamJsonIsString(pMl) ){
        rc = sqlite3StreamErr(pzErr, SQLITE_CORRUPT, "iceberg table %s:"
            " snapshot %lld has no manifest list", t->zLocation,
            (long long)iParent);
        break;
      }
      rc = streamIceReadAvro(t, pMl->zValue, &pListMeta, &pList, pzErr);
      sqlite3StreamJsonFree(pListMeta);
      if( rc ) break;
    }else{
      pList = sqlite3StreamJsonNewArray();
      if( pList==0 ){ rc = SQLITE_NOMEM; break; }
    }
    pM = t->pMeta ? sqlite3StreamJsonCopy(t->pMeta)
                  : streamIceNewMeta(t, zTopic, iNow);
    if( pM==0 ){ sqlite3StreamJsonFree(pList); rc = SQLITE_NOMEM; break; }
    iSeq = sqlite3StreamJsonI64(sqlite3StreamJsonGet(pM,
               "last-sequence-number"), 0) + 1;

    /* The new manifest's entry in the list. */
    pMf = sqlite3StreamJsonNewObject();
    if( pMf ){
      StreamJson *pParts = sqlite3StreamJsonNewArray();
      StreamJson *pFs = sqlite3StreamJsonNewObject();
      sqlite3StreamJsonAddString(pMf, "manifest_path", zManPath);
      sqlite3StreamJsonAdd(pMf, "manifest_length", streamIceRaw((i64)man.n));
      sqlite3StreamJsonAdd(pMf, "partition_spec_id", streamIceRaw(0));
      sqlite3StreamJsonAdd(pMf, "content", streamIceRaw(0));
      sqlite3StreamJsonAdd(pMf, "sequence_number", streamIceRaw(iSeq));
      sqlite3StreamJsonAdd(pMf, "min_sequence_number", streamIceRaw(iSeq));
      sqlite3StreamJsonAdd(pMf, "added_snapshot_id", streamIceRaw(iSnap));
      sqlite3StreamJsonAdd(pMf, "added_files_count", streamIceRaw(nFile));
      sqlite3StreamJsonAdd(pMf, "existing_files_count", streamIceRaw(0));
      sqlite3StreamJsonAdd(pMf, "deleted_files_count", streamIceRaw(0));
      sqlite3StreamJsonAdd(pMf, "added_rows_count", streamIceRaw(nRows));
      sqlite3StreamJsonAdd(pMf, "existing_rows_count", streamIceRaw(0));
      sqlite3StreamJsonAdd(pMf, "deleted_rows_count", streamIceRaw(0));
      sqlite3StreamJsonAddBool(pFs, "contains_null", 0);
      sqlite3StreamJsonAddFalse(pFs, "contains_nan");
      sqlite3StreamJsonAdd(pFs, "lower_bound", streamIceBound(iDayLo, 4));
      sqlite3StreamJsonAdd(pFs, "upper_bound", streamIceBound(iDayHi, 4));
      sqlite3StreamJsonAppend(pParts, pFs);
      sqlite3StreamJsonAdd(pMf, "partitions", pParts);
      sqlite3StreamJsonAddNull(pMf, "key_metadata");
      sqlite3StreamJsonAppend(pList, pMf);
    }
    sqlite3_randomness(sizeof(r3), &r3);
    zListKey = sqlite3_mprintf("%s/metadata/snap-%s-%d-%016llx.avro",
                               t->zPrefix, zSnap, iTry,
                               (unsigned long long)r3);
    zMetaKey = sqlite3_mprintf("%s/metadata/v%d.metadata.json", t->zPrefix,
                               t->iVersion+1);
    if( pMf==0 || zListKey==0 || zMetaKey==0 ) rc = SQLITE_NOMEM;
    if( rc==SQLITE_OK ){
      char zSeq[24], zPar[24];
      const char *azHdr[] = {
        "snapshot-id", zSnap, "sequence-number", zSeq,
        "format-version", "2", "parent-snapshot-id", zPar, 0
      };
      snprintf(zSeq, sizeof(zSeq), "%lld", (long long)iSeq);
      snprintf(zPar, sizeof(zPar), "%lld", (long long)iParent);
      if( iParent<0 ) azHdr[6] = 0;        /* no parent: key left out */
      sqlite3StreamPqBufReset(&list);
      rc = streamIceContainer(&list, zIceListAvro, azHdr, pList, pzErr);
      if( rc==SQLITE_OK ) rc = streamIcePut(t->pStore, zListKey, &list, 0,
                                            pzErr);
    }
    sqlite3StreamJsonFree(pList);
    if( rc==SQLITE_OK && iTry==0 ) STREAM_COLD_CRASH(2);

    /* The new metadata. */
    if( rc==SQLITE_OK ){
      StreamJson *pSum = sqlite3StreamJsonNewObject(), *pRef, *pLog;
      char zN[24];
      zListPath = sqlite3_mprintf("%s%s", t->zLocation,
                                  &zListKey[strlen(t->zPrefix)]);
      pSnap = sqlite3StreamJsonNewObject();
      if( pSum==0 || pSnap==0 || zListPath==0 ){
        sqlite3StreamJsonFree(pSum); sqlite3StreamJsonFree(pSnap);
        rc = SQLITE_NOMEM;
      }else{
        sqlite3StreamJsonAdd(pSnap, "snapshot-id", streamIceRaw(iSnap));
        if( iParent>=0 ){
          sqlite3StreamJsonAdd(pSnap, "parent-snapshot-id",
                                streamIceRaw(iParent));
        }
        sqlite3StreamJsonAdd(pSnap, "sequence-number", streamIceRaw(iSeq));
        sqlite3StreamJsonAdd(pSnap, "timestamp-ms", streamIceRaw(iNow));
        sqlite3StreamJsonAddString(pSnap, "manifest-list", zListPath);
        sqlite3StreamJsonAddString(pSum, "operation", "append");
        snprintf(zN, sizeof(zN), "%d", nFile);
        sqlite3StreamJsonAddString(pSum, "added-data-files", zN);
        snprintf(zN, sizeof(zN), "%lld", (long long)nRows);
        sqlite3StreamJsonAddString(pSum, "added-records", zN);
        snprintf(zN, sizeof(zN), "%lld", (long long)nBytes);
        sqlite3StreamJsonAddString(pSum, "added-files-size", zN);
        for(i=0; azSummary && azSummary[i]; i+=2){
          sqlite3StreamJsonAddString(pSum, azSummary[i], azSummary[i+1]);
        }
        sqlite3StreamJsonAdd(pSnap, "summary", pSum);
        sqlite3StreamJsonAddNumber(pSnap, "schema-id", 0);
        sqlite3StreamJsonAppend(sqlite3StreamJsonGetNoCase(pM, "snapshots"),
                                pSnap);
        streamIceSet(pM, "current-snapshot-id", streamIceRaw(iSnap));
        streamIceSet(pM, "last-sequence-number", streamIceRaw(iSeq));
        streamIceSet(pM, "last-updated-ms", streamIceRaw(iNow));
        pLog = sqlite3StreamJsonNew(STREAM_JSON_OBJECT);
        sqlite3StreamJsonAdd(pLog, "timestamp-ms", streamIceRaw(iNow));
        sqlite3StreamJsonAdd(pLog, "snapshot-id", streamIceRaw(iSnap));
        sqlite3StreamJsonAppend(sqlite3StreamJsonGetNoCase(pM, "snapshot-log"), pLog);
        streamIceMetaLog(t, pM, iNow);
        pRef = sqlite3StreamJsonNew(STREAM_JSON_OBJECT);
        sqlite3StreamJsonAdd(pRef, "snapshot-id", streamIceRaw(iSnap));
        sqlite3StreamJsonAddString(pRef, "type", "branch");
        pNew = sqlite3StreamJsonGetNoCase(pM, "refs");
        if( pNew ) streamIceSet(pNew, "main", pRef);
        else sqlite3StreamJsonFree(pRef);
        zText = sqlite3StreamJsonPrint(pM, 1);
        if( zText==0 ) rc = SQLITE_NOMEM;
      }
    }
    if( rc==SQLITE_OK ){
      sqlite3StreamPqBufReset(&meta);
      sqlite3StreamPqBufAppend(&meta, zText, strlen(zText));
      rc = streamIcePut(t->pStore, zMetaKey, &meta, 1, pzErr);
      if( rc==SQLITE_CONSTRAINT ){
        /* Another writer made this version: rebase on it. */
        sqlite3_free(*pzErr);
        *pzErr = 0;
        rc = SQLITE_OK;
        sqlite3StreamJsonFree(pM);
        sqlite3_free(zText);
        sqlite3_free(zListKey);
        sqlite3_free(zListPath);
        sqlite3_free(zMetaKey);
        if( iTry==STREAM_ICE_RETRIES-1 ){
          rc = sqlite3StreamErr(pzErr, SQLITE_BUSY, "iceberg table %s: commit"
              " conflicted %d times with other writers", t->zLocation,
              STREAM_ICE_RETRIES);
        }
        continue;
      }
    }
    if( rc==SQLITE_OK ){
      STREAM_COLD_CRASH(3);
      sqlite3StreamJsonFree(t->pMeta);
      t->pMeta = pM;
      pM = 0;
      t->iVersion++;
      streamIceHint(t);              /* version-hint.text: best effort */
      STREAM_COLD_CRASH(4);
    }
    sqlite3StreamJsonFree(pM);
    sqlite3_free(zText);
    sqlite3_free(zListKey);
    sqlite3_free(zListPath);
    sqlite3_free(zMetaKey);
    break;
  }
  sqlite3StreamJsonFree(pEntries);
  sqlite3StreamPqBufFree(&man);
  sqlite3StreamPqBufFree(&list);
  sqlite3StreamPqBufFree(&meta);
  sqlite3_free(zManKey);
  sqlite3_free(zManPath);
  return rc;
}

/**************************************************************************
** Reading: the data files of the current snapshot.
*/

static i64 streamIceBoundOf(StreamJson *pD, const char *zMap, int iField,
                            i64 iDefault){
  StreamJson *pKv;
  STREAM_JSON_FOREACH(pKv, sqlite3StreamJsonGet(pD, zMap)){
    i64 v;
    if( sqlite3StreamJsonI64(sqlite3StreamJsonGet(pKv, "key"), -1)
        == iField
     && sqlite3StreamJsonIsString(sqlite3StreamJsonGet(pKv, "value"))
     && sqlite3StreamHexLe(
          sqlite3StreamJsonGet(pKv, "value")->zValue, &v) ){
      return v;
    }
  }
  return iDefault;
}

int sqlite3StreamIceDataFiles(StreamIceTable *t, StreamIceFile **paFile,
                              int *pnFile, char **pzErr){
  StreamIceFile *aFile = 0;
  int nFile = 0, rc = SQLITE_OK;
  i64 iCur = streamIceCurrent(t->pMeta);
  StreamJson *pList = 0, *pListMeta = 0, *pMf;
  *paFile = 0;
  *pnFile = 0;
  if( iCur<0 ) return SQLITE_OK;
  {
    StreamJson *pS = streamIceSnapshot(t->pMeta, iCur);
    StreamJson *pMl = sqlite3StreamJsonGet(pS, "manifest-list");
    if( !sqlite3StreamJsonIsString(pMl) ){
      return sqlite3StreamErr(pzErr, SQLITE_CORRUPT, "iceberg table %s: no"
          " manifest list for snapshot %lld", t->zLocation, (long long)iCur);
    }
    rc = streamIceReadAvro(t, pMl->zValue, &pListMeta, &pList, pzErr);
    sqlite3StreamJsonFree(pListMeta);
    if( rc ) return rc;
  }
  STREAM_JSON_FOREACH(pMf, pList){
    StreamJson *pMeta = 0, *pEnts = 0, *pE;
    StreamJson *pPath = sqlite3StreamJsonGet(pMf, "manifest_path");
    if( rc ) break;
    if( !sqlite3StreamJsonIsString(pPath) ){
      rc = sqlite3StreamErr(pzErr, SQLITE_CORRUPT, "iceberg table %s: a"
          " manifest list entry has no path", t->zLocation);
      break;
    }
    rc = streamIceReadAvro(t, pPath->zValue, &pMeta, &pEnts, pzErr);
    STREAM_JSON_FOREACH(pE, pEnts){
      StreamJson *pD = sqlite3StreamJsonGet(pE, "data_file");
      StreamJson *pFp = sqlite3StreamJsonGet(pD, "file_path");
      StreamIceFile *f;
      if( rc ) break;
      if( sqlite3StreamJsonI64(sqlite3StreamJsonGet(pE, "status"),
                               -1)==2 ) continue;               /* DELETED */
      if( !sqlite3StreamJsonIsString(pFp) ) continue;
      f = sqlite3_realloc64(aFile, sizeof(*aFile)*(u64)(nFile+1));
      if( f==0 ){ rc = SQLITE_NOMEM; break; }
      aFile = f;
      f = &aFile[nFile];
      memset(f, 0, sizeof(*f));
      if( streamIceKeyOf(t, pFp->zValue, &f->zKey)==0 ){
        rc = f->zKey ? sqlite3StreamErr(pzErr, SQLITE_CORRUPT, "iceberg"
            " table %s: data file %s is not inside the table's location",
            t->zLocation, pFp->zValue) : SQLITE_NOMEM;
        break;
      }
      nFile++;
      f->nRecords = sqlite3StreamJsonI64(
          sqlite3StreamJsonGet(pD, "record_count"), 0);
      f->nBytes = sqlite3StreamJsonI64(
          sqlite3StreamJsonGet(pD, "file_size_in_bytes"), 0);
      f->iPartition = (int)streamIceBoundOf(pD, "lower_bounds", 2, -1);
      f->iOffLo = streamIceBoundOf(pD, "lower_bounds", 3, 0);
      f->iOffHi = streamIceBoundOf(pD, "upper_bounds", 3, (i64)1<<62);
      f->iTsLo = streamIceBoundOf(pD, "lower_bounds", 7, -((i64)1<<62));
      f->iTsHi = streamIceBoundOf(pD, "upper_bounds", 7, (i64)1<<62);
    }
    sqlite3StreamJsonFree(pMeta);
    sqlite3StreamJsonFree(pEnts);
  }
  sqlite3StreamJsonFree(pList);
  if( rc ){
    sqlite3StreamIceFreeFiles(aFile, nFile);
    return rc;
  }
  *paFile = aFile;
  *pnFile = nFile;
  return SQLITE_OK;
}

void sqlite3StreamIceFreeFiles(StreamIceFile *aFile, int nFile){
  int i;
  for(i=0; i<nFile; i++) sqlite3_free(aFile[i].zKey);
  sqlite3_free(aFile);
}

/**************************************************************************
** Housekeeping: what the metadata references, snapshot expiry, orphans.
**
** Reachable from a metadata: the manifest list of every snapshot, every
** manifest those lists name, and the data files those manifests have live
** (not DELETED).  Snapshot expiry drops old snapshots from the metadata
** (a create-only commit, as an append) and returns the files only they
** reached; the orphan listing finds files nothing reaches (a commit that
** crashed or failed before its metadata, temporary uploads, expired files
** not deleted yet) and metadata versions older than the kept ones.
** Deleting is the caller's (ext/cold.c: bounded, after a grace period).
*/

static int streamIceKeyCmp(const void *a, const void *b){
  return strcmp(*(char*const*)a, *(char*const*)b);
}

/* Sort key list p and drop duplicates. */
static void streamIceSortUniq(StreamStrList *p){
  int i, j = 0;
  if( p->n>1 ) qsort(p->az, (size_t)p->n, sizeof(char*), streamIceKeyCmp);
  for(i=0; i<p->n; i++){
    if( j>0 && strcmp(p->az[j-1], p->az[i])==0 ){
      sqlite3_free(p->az[i]);
      continue;
    }
    p->az[j++] = p->az[i];
  }
  p->n = j;
}

/* Is zKey in sorted list p? */
static int streamIceHas(const StreamStrList *p, const char *zKey){
  return p->n>0 && bsearch(&zKey, p->az, (size_t)p->n, sizeof(char*),
                           streamIceKeyCmp)!=0;
}

/* Add the store key of metadata path zPath to p (paths outside the
** table's location are not the table's to delete: left out). */
static void streamIceRef(StreamIceTable *t, StreamStrList *p,
                         const char *zPath){
  char *zKey = 0;
  size_t n = strlen(t->zLocation);
  if( strncmp(zPath, t->zLocation, n)!=0 || zPath[n]!='/' ) return;
  if( streamIceKeyOf(t, zPath, &zKey)==0 ){
    if( p->rc==SQLITE_OK ) p->rc = SQLITE_NOMEM;
    return;
  }
  sqlite3StreamStrListAdd(p, zKey);
  sqlite3_free(zKey);
}

/* The manifest lists of the snapshots in array pSnaps (into pLists, if
** not NULL) and the manifests they name (into pMans, if not NULL; the
** lists are read only then).  Both sorted, without duplicates. */
static int streamIceManifests(StreamIceTable *t, const StreamJson *pSnaps,
                              StreamStrList *pLists, StreamStrList *pMans,
                              char **pzErr){
  const StreamJson *pS;
  int rc = SQLITE_OK;
  STREAM_JSON_FOREACH(pS, pSnaps){
    StreamJson *pMl = sqlite3StreamJsonGet(pS, "manifest-list");
    StreamJson *pMeta = 0, *pList = 0, *pMf;
    if( !sqlite3StreamJsonIsString(pMl) ) continue;
    if( pLists ) streamIceRef(t, pLists, pMl->zValue);
    if( pMans==0 ) continue;
    rc = streamIceReadAvro(t, pMl->zValue, &pMeta, &pList, pzErr);
    STREAM_JSON_FOREACH(pMf, pList){
      StreamJson *pP = sqlite3StreamJsonGet(pMf, "manifest_path");
      if( sqlite3StreamJsonIsString(pP) ) streamIceRef(t, pMans, pP->zValue);
    }
    sqlite3StreamJsonFree(pMeta);
    sqlite3StreamJsonFree(pList);
    if( rc ) break;
  }
  if( rc==SQLITE_OK && pLists ) rc = pLists->rc;
  if( rc==SQLITE_OK && pMans ) rc = pMans->rc;
  if( pLists ) streamIceSortUniq(pLists);
  if( pMans ) streamIceSortUniq(pMans);
  return rc;
}

/* The data files that the manifests of store keys pMans name (bLive: only
** entries not DELETED), into pData, sorted, without duplicates. */
static int streamIceDataOf(StreamIceTable *t, const StreamStrList *pMans,
                           int bLive, StreamStrList *pData, char **pzErr){
  int i, rc = SQLITE_OK;
  for(i=0; i<pMans->n && rc==SQLITE_OK; i++){
    StreamJson *pMeta = 0, *pEnts = 0, *pE;
    rc = streamIceReadAvroKey(t, pMans->az[i], &pMeta, &pEnts, pzErr);
    STREAM_JSON_FOREACH(pE, pEnts){
      StreamJson *pFp = sqlite3StreamJsonGet(
          sqlite3StreamJsonGet(pE, "data_file"), "file_path");
      if( bLive && sqlite3StreamJsonI64(sqlite3StreamJsonGet(pE,
              "status"), 0)==2 ) continue;
      if( sqlite3StreamJsonIsString(pFp) ) streamIceRef(t, pData, pFp->zValue);
    }
    sqlite3StreamJsonFree(pMeta);
    sqlite3StreamJsonFree(pEnts);
  }
  if( rc==SQLITE_OK ) rc = pData->rc;
  streamIceSortUniq(pData);
  return rc;
}

/* Add to pOut the keys of pA that are not in (sorted) pB. */
static void streamIceMinus(const StreamStrList *pA, const StreamStrList *pB,
                           StreamStrList *pOut){
  int i;
  for(i=0; i<pA->n; i++){
    if( !streamIceHas(pB, pA->az[i]) ) sqlite3StreamStrListAdd(pOut, pA->az[i]);
  }
}

/* The files the snapshots of pOld reached that the current metadata no
** longer reaches, into pGone: the manifest lists of the snapshots that are
** gone, the manifests only they named, the data files only those
** manifests had.  An append-only history (every manifest still in the
** current list) costs a read of the lists that are gone and the current
** one; the other manifests are read only when a manifest is gone. */
static int streamIceGone(StreamIceTable *t, const StreamJson *pOld,
                         StreamStrList *pGone, char **pzErr){
  StreamJson *pSnaps = sqlite3StreamJsonNew(STREAM_JSON_ARRAY), *pCur = sqlite3StreamJsonNew(STREAM_JSON_ARRAY);
  const StreamJson *pS;
  StreamStrList goneLists, goneMans, keepMans, cand, candData, keepData;
  int rc = SQLITE_OK;
  memset(&goneLists, 0, sizeof(goneLists));
  memset(&goneMans, 0, sizeof(goneMans));
  memset(&keepMans, 0, sizeof(keepMans));
  memset(&cand, 0, sizeof(cand));
  memset(&candData, 0, sizeof(candData));
  memset(&keepData, 0, sizeof(keepData));
  if( pSnaps==0 || pCur==0 ){ rc = SQLITE_NOMEM; goto out; }
  STREAM_JSON_FOREACH(pS, sqlite3StreamJsonGet(pOld, "snapshots")){
    i64 iId = sqlite3StreamJsonI64(sqlite3StreamJsonGet(pS,
                  "snapshot-id"), -2);
    if( streamIceSnapshot(t->pMeta, iId)==0 ){
      if( !streamIceAppendCopy(pSnaps, pS) ){
        rc = SQLITE_NOMEM;
        goto out;
      }
    }
  }
  if( sqlite3StreamJsonCount(pSnaps)==0 ) goto out;
  rc = streamIceManifests(t, pSnaps, &goneLists, &goneMans, pzErr);
  if( rc ) goto out;
  pS = streamIceSnapshot(t->pMeta, streamIceCurrent(t->pMeta));
  if( pS && !streamIceAppendCopy(pCur, pS) ){
    rc = SQLITE_NOMEM;
    goto out;
  }
  rc = streamIceManifests(t, pCur, 0, &keepMans, pzErr);
  if( rc==SQLITE_OK ){
    streamIceMinus(&goneMans, &keepMans, &cand);
    rc = cand.rc;
  }
  if( rc==SQLITE_OK && cand.n>0 ){
    /* A manifest is not in the current list: is any snapshot left
    ** naming it?  Then which of its data files does nothing left have? */
    StreamStrList c2;
    memset(&c2, 0, sizeof(c2));
    sqlite3StreamStrListFree(&keepMans);
    rc = streamIceManifests(t, sqlite3StreamJsonGet(t->pMeta,
                            "snapshots"), 0, &keepMans, pzErr);
    if( rc==SQLITE_OK ){
      streamIceMinus(&cand, &keepMans, &c2);
      rc = c2.rc;
    }
    sqlite3StreamStrListFree(&cand);
    cand = c2;
    if( rc==SQLITE_OK && cand.n>0 ){
      rc = streamIceDataOf(t, &cand, 0, &candData, pzErr);
      if( rc==SQLITE_OK ) rc = streamIceDataOf(t, &keepMans, 1, &keepData,
                                               pzErr);
    }
  }
  if( rc==SQLITE_OK ){
    int i;
    for(i=0; i<goneLists.n; i++) sqlite3StreamStrListAdd(pGone,
                                                         goneLists.az[i]);
    for(i=0; i<cand.n; i++) sqlite3StreamStrListAdd(pGone, cand.az[i]);
    streamIceMinus(&candData, &keepData, pGone);
    rc = pGone->rc;
  }
 out:
  sqlite3StreamJsonFree(pSnaps);
  sqlite3StreamJsonFree(pCur);
  sqlite3StreamStrListFree(&goneLists);
  sqlite3StreamStrListFree(&goneMans);
  sqlite3StreamStrListFree(&keepMans);
  sqlite3StreamStrListFree(&cand);
  sqlite3StreamStrListFree(&candData);
  sqlite3StreamStrListFree(&keepData);
  return rc;
}

/* Create metadata pM as the next version, create-only.  SQLITE_OK: it is
** the table's metadata now (pM taken), and version-hint.text follows,
** best effort.  SQLITE_CONSTRAINT: another writer made that version; the
** table is reloaded (pM freed).  Other errors: pM freed.  *ppOld gets
** the metadata replaced (the caller frees it), NULL if none was. */
static int streamIceCommitMeta(StreamIceTable *t, StreamJson *pM, StreamJson **ppOld,
                               char **pzErr){
  char *zText = sqlite3StreamJsonPrint(pM, 1);
  char *zKey = sqlite3_mprintf("%s/metadata/v%d.metadata.json", t->zPrefix,
                               t->iVersion+1);
  StreamPqBuf b;
  int rc;
  memset(&b, 0, sizeof(b));
  *ppOld = 0;
  if( zText==0 || zKey==0 ){
    rc = SQLITE_NOMEM;
  }else{
    sqlite3StreamPqBufAppend(&b, zText, strlen(zText));
    rc = streamIcePut(t->pStore, zKey, &b, 1, pzErr);
  }
  if( rc==SQLITE_OK ){
    *ppOld = t->pMeta;
    t->pMeta = pM;
    pM = 0;
    t->iVersion++;
    streamIceHint(t);
  }else if( rc==SQLITE_CONSTRAINT ){
    int rc2;
    sqlite3_free(*pzErr);
    *pzErr = 0;
    rc2 = streamIceReload(t, pzErr);
    if( rc2 ) rc = rc2;
  }
  sqlite3StreamJsonFree(pM);
  sqlite3_free(zText);
  sqlite3_free(zKey);
  sqlite3StreamPqBufFree(&b);
  return rc;
}

/* Index of snapshot iId in array pSnaps, or -1. */
static int streamIceSnapIndex(const StreamJson *pSnaps, i64 iId){
  const StreamJson *pS;
  int i = 0;
  STREAM_JSON_FOREACH(pS, pSnaps){
    if( sqlite3StreamJsonI64(sqlite3StreamJsonGet(pS,
            "snapshot-id"), -2)==iId ) return i;
    i++;
  }
  return -1;
}

static int streamIceI64Cmp(const void *a, const void *b){
  i64 x = *(const i64*)a, y = *(const i64*)b;
  return x<y ? -1 : x>y;
}

int sqlite3StreamIceExpireSnapshots(StreamIceTable *t, i64 iOlderThanMs,
                                    int nMinKeep, const char *zOwnKey,
                                    const char *zOwnValue, int nMax,
                                    i64 iNow, int *pnExpired,
                                    StreamStrList *pGone, char **pzErr){
  StreamJson *pSnaps = sqlite3StreamJsonGet(t->pMeta, "snapshots");
  StreamJson *pS, *pM = 0, *pOld = 0, *pNew, *pLog, *pNewLog, *pRef;
  int nSnap = sqlite3StreamJsonCount(pSnaps), i, nHop, nCand = 0, bOwn;
  u8 *aKeep = 0;
  i64 iId, *aTs = 0, iCutTs = 0;
  int rc = SQLITE_OK;

  *pnExpired = 0;
  if( streamIceCurrent(t->pMeta)<0 || nSnap<=1 ) return SQLITE_OK;
  aKeep = sqlite3_malloc64((u64)nSnap);
  aTs = sqlite3_malloc64(sizeof(i64)*(u64)nSnap);
  if( aKeep==0 || aTs==0 ){ rc = SQLITE_NOMEM; goto out; }
  memset(aKeep, 0, (size_t)nSnap);

  /* Kept: the current snapshot and its ancestors back to the newest
  ** commit of the owner (zOwnKey = zOwnValue in its summary: where the
  ** exactly-once recovery finds its offsets), and back to nMinKeep
  ** snapshots; the snapshots of every ref; those not older than
  ** iOlderThanMs.  Without an owner's commit the whole chain is kept. */
  bOwn = zOwnKey==0;
  iId = streamIceCurrent(t->pMeta);
  for(nHop=0; iId>=0 && nHop<nSnap; nHop++){
    int k = streamIceSnapIndex(pSnaps, iId);
    StreamJson *pSum, *pV;
    if( k<0 ) break;
    pS = sqlite3StreamJsonAt(pSnaps, k);
    if( nHop<nMinKeep || !bOwn ) aKeep[k] = 1;
    pSum = sqlite3StreamJsonGet(pS, "summary");
    pV = zOwnKey ? sqlite3StreamJsonGet(pSum, zOwnKey) : 0;
    if( sqlite3StreamJsonIsString(pV) && strcmp(pV->zValue, zOwnValue)==0 ){
      bOwn = 1;
    }
    iId = sqlite3StreamJsonI64(sqlite3StreamJsonGet(pS,
              "parent-snapshot-id"), -1);
  }
  STREAM_JSON_FOREACH(pRef, sqlite3StreamJsonGet(t->pMeta,
                                                           "refs")){
    int k = streamIceSnapIndex(pSnaps, sqlite3StreamJsonI64(
        sqlite3StreamJsonGet(pRef, "snapshot-id"), -2));
    if( k>=0 ) aKeep[k] = 1;
  }
  i = 0;
  STREAM_JSON_FOREACH(pS, pSnaps){
    i64 iTs = sqlite3StreamJsonI64(sqlite3StreamJsonGet(pS,
                  "timestamp-ms"), 0);
    if( iTs>=iOlderThanMs ) aKeep[i] = 1;
    if( !aKeep[i] ) aTs[nCand++] = iTs;
    i++;
  }
  if( nCand==0 ) goto out;
  /* At most nMax go, the oldest first. */
  if( nCand>nMax ){
    qsort(aTs, (size_t)nCand, sizeof(i64), streamIceI64Cmp);
    iCutTs = aTs[nMax>0 ? nMax-1 : 0];
    i = 0;
    nCand = 0;
    STREAM_JSON_FOREACH(pS, pSnaps){
      if( !aKeep[i] ){
        if( nMax<=0 || nCand>=nMax || sqlite3StreamJsonI64(
              sqlite3StreamJsonGet(pS, "timestamp-ms"), 0)
            > iCutTs ){
          aKeep[i] = 1;
        }else{
          nCand++;
        }
      }
      i++;
    }
    if( nCand==0 ) goto out;
  }

  /* The new metadata: the kept snapshots, the snapshot-log without the
  ** expired ones. */
  pM = sqlite3StreamJsonCopy(t->pMeta);
  pNew = sqlite3StreamJsonNew(STREAM_JSON_ARRAY);
  pNewLog = sqlite3StreamJsonNew(STREAM_JSON_ARRAY);
  if( pM==0 || pNew==0 || pNewLog==0 ){
    sqlite3StreamJsonFree(pNew);
    sqlite3StreamJsonFree(pNewLog);
    rc = SQLITE_NOMEM;
    goto out;
  }
  i = 0;
  STREAM_JSON_FOREACH(pS, pSnaps){
    if( aKeep[i++] ) sqlite3StreamJsonAppend(pNew, sqlite3StreamJsonCopy(pS));
  }
  STREAM_JSON_FOREACH(pLog, sqlite3StreamJsonGet(t->pMeta,
                                                           "snapshot-log")){
    int k = streamIceSnapIndex(pSnaps, sqlite3StreamJsonI64(
        sqlite3StreamJsonGet(pLog, "snapshot-id"), -2));
    if( k>=0 && aKeep[k] ){
      sqlite3StreamJsonAppend(pNewLog, sqlite3StreamJsonCopy(pLog));
    }
  }
  streamIceSet(pM, "snapshots", pNew);
  streamIceSet(pM, "snapshot-log", pNewLog);
  streamIceSet(pM, "last-updated-ms", streamIceRaw(iNow));
  streamIceMetaLog(t, pM, iNow);

  rc = streamIceCommitMeta(t, pM, &pOld, pzErr);
  pM = 0;
  if( rc==SQLITE_CONSTRAINT ){
    rc = SQLITE_OK;                   /* another writer: try another time */
    goto out;
  }
  if( rc ) goto out;
  *pnExpired = nCand;
  STREAM_COLD_CRASH(7);
  rc = streamIceGone(t, pOld, pGone, pzErr);

 out:
  sqlite3StreamJsonFree(pOld);
  sqlite3_free(aKeep);
  sqlite3_free(aTs);
  return rc;
}

/* xList callback collecting every key. */
static int streamIceKeysCb(void *pArg, const char *zKey){
  StreamStrList *p = (StreamStrList*)pArg;
  sqlite3StreamStrListAdd(p, zKey);
  return p->rc!=SQLITE_OK;
}

int sqlite3StreamIceOrphans(StreamIceTable *t, StreamStrList *pOrphans,
                            StreamStrList *pOldMeta, char **pzErr){
  StreamStrList all, lists, mans, data;
  char *zDir = sqlite3_mprintf("%s/", t->zPrefix);
  size_t nPre = strlen(t->zPrefix);
  i64 nExpData = 0, nExpAvro = 0, nData = 0, nAvro = 0, nTmp = 0;
  int rc, i;
  i64 iCur = streamIceCurrent(t->pMeta);
  StreamJson *pList = 0, *pListMeta = 0, *pMf;

  memset(&all, 0, sizeof(all));
  memset(&lists, 0, sizeof(lists));
  memset(&mans, 0, sizeof(mans));
  memset(&data, 0, sizeof(data));
  if( zDir==0 ) return SQLITE_NOMEM;
  rc = t->pStore->pMethods->xList(t->pStore, zDir, streamIceKeysCb, &all,
                                  pzErr);
  if( rc==SQLITE_OK ) rc = all.rc;
  if( rc ) goto out;
  for(i=0; i<all.n; i++){
    const char *z = all.az[i] + nPre;
    size_t n = strlen(z);
    if( strncmp(z, "/metadata/v", 11)==0 && n>25
     && strcmp(&z[n-14], ".metadata.json")==0 ){
      /* vN.metadata.json: older than the kept versions? */
      char *zEnd = 0;
      long v = strtol(&z[11], &zEnd, 10);
      if( zEnd && strcmp(zEnd, ".metadata.json")==0
       && v < (long)t->iVersion - t->nKeepVersions ){
        sqlite3StreamStrListAdd(pOldMeta, all.az[i]);
      }
    }else if( n>4 && strcmp(&z[n-4], ".tmp")==0 ){
      nTmp++;
    }else if( strncmp(z, "/data/", 6)==0 ){
      nData++;
    }else if( strncmp(z, "/metadata/", 10)==0 && n>5
           && strcmp(&z[n-5], ".avro")==0 ){
      nAvro++;
    }
  }
  /* Counts first: what the current list names (in an append-only
  ** history every snapshot's manifests are in it), one manifest list per
  ** snapshot. */
  if( iCur>=0 ){
    StreamJson *pCur = streamIceSnapshot(t->pMeta, iCur);
    StreamJson *pMl = sqlite3StreamJsonGet(pCur, "manifest-list");
    if( sqlite3StreamJsonIsString(pMl) ){
      rc = streamIceReadAvro(t, pMl->zValue, &pListMeta, &pList, pzErr);
      if( rc ) goto out;
    }
  }
  nExpAvro = sqlite3StreamJsonCount(sqlite3StreamJsonGet(t->pMeta,
                                                                "snapshots"));
  STREAM_JSON_FOREACH(pMf, pList){
    nExpAvro++;
    nExpData += sqlite3StreamJsonI64(sqlite3StreamJsonGet(pMf,
                  "added_files_count"), 0)
              + sqlite3StreamJsonI64(sqlite3StreamJsonGet(pMf,
                  "existing_files_count"), 0);
  }
  if( nTmp==0 && nData==nExpData && nAvro==nExpAvro ) goto out;

  /* Something is left over: what every snapshot reaches; the rest of the
  ** data files, manifests, manifest lists and temporary uploads go. */
  rc = streamIceManifests(t, sqlite3StreamJsonGet(t->pMeta,
                          "snapshots"), &lists, &mans, pzErr);
  if( rc==SQLITE_OK ) rc = streamIceDataOf(t, &mans, 1, &data, pzErr);
  if( rc ) goto out;
  for(i=0; i<all.n; i++){
    const char *zKey = all.az[i];
    const char *z = zKey + nPre;
    size_t n = strlen(z);
    int bCand = (n>4 && strcmp(&z[n-4], ".tmp")==0)
             || (strncmp(z, "/data/", 6)==0)
             || (strncmp(z, "/metadata/", 10)==0 && n>5
                 && strcmp(&z[n-5], ".avro")==0);
    if( !bCand ) continue;
    if( streamIceHas(&lists, zKey) || streamIceHas(&mans, zKey)
     || streamIceHas(&data, zKey) ) continue;
    sqlite3StreamStrListAdd(pOrphans, zKey);
  }
 out:
  if( rc==SQLITE_OK ) rc = pOrphans->rc ? pOrphans->rc : pOldMeta->rc;
  sqlite3StreamJsonFree(pList);
  sqlite3StreamJsonFree(pListMeta);
  sqlite3StreamStrListFree(&all);
  sqlite3StreamStrListFree(&lists);
  sqlite3StreamStrListFree(&mans);
  sqlite3StreamStrListFree(&data);
  sqlite3_free(zDir);
  return rc;
}

/**************************************************************************
** Expiry (cold.retention.ms): a "delete" snapshot without the data files
** whose newest timestamp is older than the cutoff, the older snapshots
** expired, then the sweep removes what nothing references any more.
*/

/* Copy of manifest entry pE as EXISTING (bDel 0) or DELETED by iSnap,
** with the sequence numbers it inherited written out. */
static StreamJson *streamIceEntryCopy(const StreamJson *pE,
                                      const StreamJson *pMf, int bDel,
                                 i64 iSnap, i64 *piDataSeq){
  StreamJson *p = sqlite3StreamJsonCopy(pE);
  i64 iSeq = sqlite3StreamJsonI64(sqlite3StreamJsonGet(pE,
                 "sequence_number"), -1);
  i64 iFileSeq = sqlite3StreamJsonI64(sqlite3StreamJsonGet(pE,
                 "file_sequence_number"), -1);
  i64 iAdded = sqlite3StreamJsonI64(sqlite3StreamJsonGet(pE,
                 "snapshot_id"), -1);
  i64 iMfSeq = sqlite3StreamJsonI64(sqlite3StreamJsonGet(pMf,
                 "sequence_number"), 0);
  if( p==0 ) return 0;
  if( iSeq<0 ) iSeq = iMfSeq;
  if( iFileSeq<0 ) iFileSeq = iMfSeq;
  if( iAdded<0 ) iAdded = sqlite3StreamJsonI64(
      sqlite3StreamJsonGet(pMf, "added_snapshot_id"), 0);
  streamIceSet(p, "status", streamIceRaw(bDel ? 2 : 0));
  streamIceSet(p, "snapshot_id", streamIceRaw(bDel ? iSnap : iAdded));
  streamIceSet(p, "sequence_number", streamIceRaw(iSeq));
  streamIceSet(p, "file_sequence_number", streamIceRaw(iFileSeq));
  *piDataSeq = iSeq;
  return p;
}

int sqlite3StreamIceExpire(StreamIceTable *t, i64 iCutoffUs, i64 iNow,
                           const char *const *azSummary, int *pnExpired,
                           StreamStrList *pGone, char **pzErr){
  StreamJson *pList = 0, *pListMeta = 0, *pNewList = 0, *pMf, *pM = 0, *pOld = 0;
  i64 iCur = streamIceCurrent(t->pMeta), iSnap, iSeq, nDelRows = 0;
  StreamPqBuf b;
  char zSnap[24], zSeq[24], zPar[24], *zKey = 0;
  int rc = SQLITE_OK, nDel = 0, i;
  u64 r;

  *pnExpired = 0;
  memset(&b, 0, sizeof(b));
  if( iCur<0 ) return SQLITE_OK;
  {
    StreamJson *pS = streamIceSnapshot(t->pMeta, iCur);
    StreamJson *pMl = sqlite3StreamJsonGet(pS, "manifest-list");
    if( !sqlite3StreamJsonIsString(pMl) ) return SQLITE_OK;
    rc = streamIceReadAvro(t, pMl->zValue, &pListMeta, &pList, pzErr);
    sqlite3StreamJsonFree(pListMeta);
    if( rc ) return rc;
  }
  sqlite3_randomness(sizeof(r), &r);
  iSnap = (i64)(r & (((u64)1<<53)-1)) | 1;
  iSeq = sqlite3StreamJsonI64(sqlite3StreamJsonGet(t->pMeta,
             "last-sequence-number"), 0) + 1;
  snprintf(zSnap, sizeof(zSnap), "%lld", (long long)iSnap);
  snprintf(zSeq, sizeof(zSeq), "%lld", (long long)iSeq);
  snprintf(zPar, sizeof(zPar), "%lld", (long long)iCur);
  pNewList = sqlite3StreamJsonNewArray();
  if( pNewList==0 ){ rc = SQLITE_NOMEM; goto out; }

  STREAM_JSON_FOREACH(pMf, pList){
    StreamJson *pPath = sqlite3StreamJsonGet(pMf, "manifest_path");
    StreamJson *pMeta = 0, *pEnts = 0, *pE, *pNew = 0;
    i64 nExist = 0, nGone = 0, nExistRows = 0, nGoneRows = 0, iMin = -1;
    int bAny = 0;
    i64 iDayLo = 0;
    StreamJson *pLo = sqlite3StreamJsonGet(sqlite3StreamJsonAt(
        sqlite3StreamJsonGet(pMf, "partitions"), 0), "lower_bound");
    if( !sqlite3StreamJsonIsString(pPath) ) continue;
    if( sqlite3StreamJsonIsString(pLo) && sqlite3StreamHexLe(pLo->zValue,
                                                             &iDayLo)
     && iDayLo*(i64)86400000000 >= iCutoffUs ){
      /* Every file of it is of that day or later: none expires, and the
      ** manifest is not even read. */
      sqlite3StreamJsonAppend(pNewList, sqlite3StreamJsonCopy(pMf));
      continue;
    }
    rc = streamIceReadAvro(t, pPath->zValue, &pMeta, &pEnts, pzErr);
    if( rc ) break;
    STREAM_JSON_FOREACH(pE, pEnts){
      StreamJson *pD = sqlite3StreamJsonGet(pE, "data_file");
      if( sqlite3StreamJsonI64(sqlite3StreamJsonGet(pE, "status"),
                               0)==2 ) continue;
      if( streamIceBoundOf(pD, "upper_bounds", 7, (i64)1<<62)<iCutoffUs ){
        bAny = 1;
      }
    }
    if( !bAny ){
      sqlite3StreamJsonAppend(pNewList, sqlite3StreamJsonCopy(pMf));
    }else{
      pNew = sqlite3StreamJsonNewArray();
      STREAM_JSON_FOREACH(pE, pEnts){
        StreamJson *pD = sqlite3StreamJsonGet(pE, "data_file");
        i64 nRows = sqlite3StreamJsonI64(
            sqlite3StreamJsonGet(pD, "record_count"), 0), iDs = 0;
        int bGone;
        if( sqlite3StreamJsonI64(sqlite3StreamJsonGet(pE,
                "status"), 0)==2 ) continue;
        bGone = streamIceBoundOf(pD, "upper_bounds", 7, (i64)1<<62)
                < iCutoffUs;
        sqlite3StreamJsonAppend(pNew, streamIceEntryCopy(pE, pMf, bGone, iSnap,
                                                      &iDs));
        if( bGone ){ nGone++; nGoneRows += nRows; }
        else{ nExist++; nExistRows += nRows; }
        if( iMin<0 || iDs<iMin ) iMin = iDs;
      }
      {
        StreamPqBuf man;
        u64 r2;
        char *zManKey;
        static const char *azHdr[] = {
          "schema", zIceSchema, "schema-id", "0",
          "partition-spec", zIceSpecFields, "partition-spec-id", "0",
          "format-version", "2", "content", "data", 0
        };
        memset(&man, 0, sizeof(man));
        sqlite3_randomness(sizeof(r2), &r2);
        zManKey = sqlite3_mprintf("%s/metadata/%s-%016llx-m0.avro",
                                  t->zPrefix, zSnap, (unsigned long long)r2);
        rc = zManKey ? streamIceContainer(&man, zIceManifestAvro, azHdr,
                                          pNew, pzErr) : SQLITE_NOMEM;
        if( rc==SQLITE_OK ) rc = streamIcePut(t->pStore, zManKey, &man, 0,
                                              pzErr);
        if( rc==SQLITE_OK ){
          StreamJson *pF = sqlite3StreamJsonCopy(pMf);
          char *zPath = sqlite3_mprintf("%s%s", t->zLocation,
                                        &zManKey[strlen(t->zPrefix)]);
          if( pF && zPath ){
            streamIceSet(pF, "manifest_path",
                         sqlite3StreamJsonNewString(zPath));
            streamIceSet(pF, "manifest_length", streamIceRaw((i64)man.n));
            streamIceSet(pF, "sequence_number", streamIceRaw(iSeq));
            streamIceSet(pF, "min_sequence_number", streamIceRaw(iMin<0 ? iSeq
                                                                  : iMin));
            streamIceSet(pF, "added_snapshot_id", streamIceRaw(iSnap));
            streamIceSet(pF, "added_files_count", streamIceRaw(0));
            streamIceSet(pF, "existing_files_count", streamIceRaw(nExist));
            streamIceSet(pF, "deleted_files_count", streamIceRaw(nGone));
            streamIceSet(pF, "added_rows_count", streamIceRaw(0));
            streamIceSet(pF, "existing_rows_count", streamIceRaw(nExistRows));
            streamIceSet(pF, "deleted_rows_count", streamIceRaw(nGoneRows));
            sqlite3StreamJsonAppend(pNewList, pF);
          }else{
            sqlite3StreamJsonFree(pF);
            rc = SQLITE_NOMEM;
          }
          sqlite3_free(zPath);
        }
        sqlite3StreamPqBufFree(&man);
        sqlite3_free(zManKey);
      }
      nDel += (int)nGone;
      nDelRows += nGoneRows;
    }
    sqlite3StreamJsonFree(pNew);
    sqlite3StreamJsonFree(pMeta);
    sqlite3StreamJsonFree(pEnts);
    if( rc ) break;
  }
  if( rc || nDel==0 ) goto out;

  /* The manifest list, then the metadata: this snapshot alone (the older
  ** ones expire with the data), created create-only. */
  {
    const char *azHdr[] = {
      "snapshot-id", zSnap, "sequence-number", zSeq,
      "format-version", "2", "parent-snapshot-id", zPar, 0
    };
    u64 r3;
    sqlite3_randomness(sizeof(r3), &r3);
    zKey = sqlite3_mprintf("%s/metadata/snap-%s-0-%016llx.avro", t->zPrefix,
                           zSnap, (unsigned long long)r3);
    rc = zKey ? streamIceContainer(&b, zIceListAvro, azHdr, pNewList, pzErr)
              : SQLITE_NOMEM;
    if( rc==SQLITE_OK ) rc = streamIcePut(t->pStore, zKey, &b, 0, pzErr);
  }
  if( rc ) goto out;
  pM = sqlite3StreamJsonCopy(t->pMeta);
  if( pM==0 ){ rc = SQLITE_NOMEM; goto out; }
  {
    StreamJson *pSnap = sqlite3StreamJsonNewObject();
    StreamJson *pSum = sqlite3StreamJsonNewObject();
    StreamJson *pArr = sqlite3StreamJsonNewArray();
    StreamJson *pLog = sqlite3StreamJsonNewArray();
    StreamJson *pEnt = sqlite3StreamJsonNewObject();
    StreamJson *pRef = sqlite3StreamJsonNewObject();
    char *zPath = sqlite3_mprintf("%s%s", t->zLocation,
                                  &zKey[strlen(t->zPrefix)]);
    char zN[24];
    if( !pSnap || !pSum || !pArr || !pLog || !pEnt || !pRef || !zPath ){
      sqlite3StreamJsonFree(pSnap); sqlite3StreamJsonFree(pSum);
      sqlite3StreamJsonFree(pArr); sqlite3StreamJsonFree(pLog);
      sqlite3StreamJsonFree(pEnt); sqlite3StreamJsonFree(pRef);
      sqlite3_free(zPath);
      rc = SQLITE_NOMEM;
      goto out;
    }
    sqlite3StreamJsonAddString(pSum, "operation", "delete");
    snprintf(zN, sizeof(zN), "%d", nDel);
    sqlite3StreamJsonAddString(pSum, "deleted-data-files", zN);
    snprintf(zN, sizeof(zN), "%lld", (long long)nDelRows);
    sqlite3StreamJsonAddString(pSum, "deleted-records", zN);
    for(i=0; azSummary && azSummary[i]; i+=2){
      sqlite3StreamJsonAddString(pSum, azSummary[i], azSummary[i+1]);
    }
    sqlite3StreamJsonAdd(pSnap, "snapshot-id", streamIceRaw(iSnap));
    sqlite3StreamJsonAdd(pSnap, "parent-snapshot-id", streamIceRaw(iCur));
    sqlite3StreamJsonAdd(pSnap, "sequence-number", streamIceRaw(iSeq));
    sqlite3StreamJsonAdd(pSnap, "timestamp-ms", streamIceRaw(iNow));
    sqlite3StreamJsonAddString(pSnap, "manifest-list", zPath);
    sqlite3StreamJsonAdd(pSnap, "summary", pSum);
    sqlite3StreamJsonAddNumber(pSnap, "schema-id", 0);
    sqlite3StreamJsonAppend(pArr, pSnap);
    streamIceSet(pM, "snapshots", pArr);
    sqlite3StreamJsonAdd(pEnt, "timestamp-ms", streamIceRaw(iNow));
    sqlite3StreamJsonAdd(pEnt, "snapshot-id", streamIceRaw(iSnap));
    sqlite3StreamJsonAppend(pLog, pEnt);
    streamIceSet(pM, "snapshot-log", pLog);
    streamIceSet(pM, "current-snapshot-id", streamIceRaw(iSnap));
    streamIceSet(pM, "last-sequence-number", streamIceRaw(iSeq));
    streamIceSet(pM, "last-updated-ms", streamIceRaw(iNow));
    sqlite3StreamJsonAdd(pRef, "snapshot-id", streamIceRaw(iSnap));
    sqlite3StreamJsonAddString(pRef, "type", "branch");
    streamIceSet(sqlite3StreamJsonGetNoCase(pM, "refs"), "main", pRef);
    sqlite3_free(zPath);
  }
  streamIceMetaLog(t, pM, iNow);
  rc = streamIceCommitMeta(t, pM, &pOld, pzErr);
  pM = 0;
  if( rc==SQLITE_CONSTRAINT ){
    rc = SQLITE_OK;                   /* another writer: try another time */
  }else if( rc==SQLITE_OK ){
    *pnExpired = nDel;
    rc = streamIceGone(t, pOld, pGone, pzErr);
  }
 out:
  sqlite3StreamJsonFree(pM);
  sqlite3StreamJsonFree(pOld);
  sqlite3StreamJsonFree(pList);
  sqlite3StreamJsonFree(pNewList);
  sqlite3StreamPqBufFree(&b);
  sqlite3_free(zKey);
  return rc;
}
