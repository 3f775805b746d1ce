/*
** record.c - the record codec: the stored form of a message's value in
** _stream_messages (the value and attrs columns).
**
** A value is stored as produced (TEXT, BLOB or NULL, attrs 0), or, for a
** topic with compression.type gzip or zstd and a value of at least
** STREAM_RECORD_COMPRESS_MIN bytes that compresses smaller, as the
** compressed bytes in a BLOB with attrs = the codec (STREAM_CODEC_*) |
** STREAM_ATTR_BLOB if the produced value was a BLOB (else it was TEXT).
** Every reader decodes through sqlite3StreamRecordDecode(), the writer
** encodes through sqlite3StreamRecordEncode(): the format lives here.
*/
#include "streamInt.h"

/* Values shorter than this are stored as they are. */
#define STREAM_RECORD_COMPRESS_MIN 128

int sqlite3StreamRecordEncode(int eCodec, const void *pValue, int nValue,
                              int bBlob, void **ppOut, size_t *pnOut,
                              int *pAttrs){
  int rc;
  *ppOut = 0;
  *pnOut = 0;
  *pAttrs = 0;
  if( eCodec==STREAM_CODEC_NONE || pValue==0
   || nValue<STREAM_RECORD_COMPRESS_MIN ){
    return SQLITE_OK;
  }
  rc = sqlite3StreamCompress(eCodec, pValue, (size_t)nValue, ppOut, pnOut);
  if( rc ) return rc;
  if( *pnOut>=(size_t)nValue ){
    sqlite3_free(*ppOut);               /* no gain: stored as produced */
    *ppOut = 0;
    *pnOut = 0;
    return SQLITE_OK;
  }
  *pAttrs = eCodec | (bBlob ? STREAM_ATTR_BLOB : 0);
  return SQLITE_OK;
}

int sqlite3StreamRecordDecode(int attrs, const void *pStored, int nStored,
                              void **ppOut, size_t *pnOut, int *peType){
  int eCodec = attrs & STREAM_ATTR_CODEC_MASK;
  int rc;
  *ppOut = 0;
  *pnOut = 0;
  *peType = 0;
  if( eCodec==STREAM_CODEC_NONE ) return SQLITE_OK;
  rc = sqlite3StreamDecompress(eCodec, pStored, (size_t)nStored,
                               STREAM_MAX_FIELD_BYTES, ppOut, pnOut);
  if( rc ) return rc==SQLITE_NOMEM ? rc : SQLITE_CORRUPT;
  *peType = (attrs & STREAM_ATTR_BLOB) ? SQLITE_BLOB : SQLITE_TEXT;
  return SQLITE_OK;
}
