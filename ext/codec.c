/*
** codec.c - record-batch compression: gzip (zlib) and zstd.
**
** sqlite3StreamCompress() and sqlite3StreamDecompress() turn a buffer into
** a new sqlite3_malloc64() buffer owned by the caller.  The codecs are the
** ones Kafka names in a record batch's attributes:
**
**   STREAM_CODEC_NONE  a plain copy (nMax still bounds decompression);
**   STREAM_CODEC_GZIP  RFC 1952 gzip: zlib with windowBits 15+16, default
**                      level (or the caller's: sqlite3StreamCompressLevel).  Decompression accepts one member or several
**                      concatenated (as java.util.zip.GZIPInputStream
**                      does); any other trailing byte is corruption;
**   STREAM_CODEC_ZSTD  zstd frames: one frame at level 3 when compressing
**                      (or the caller's level: Parquet pages use 1);
**                      when decompressing, a lone frame whose header gives
**                      its content size is decoded in one call into a buffer
**                      of exactly that size, anything else (size not in the
**                      header, several frames, skippable frames) is
**                      streamed.
**
** Decompressed data is untrusted and may be a compression bomb, so output
** never grows past nMax bytes: a stream that would produce more returns
** SQLITE_TOOBIG, whatever its headers claim.  Input that is not a complete,
** well-formed stream (bad magic, bad checksum, truncation, trailing
** garbage, or empty input) returns SQLITE_CORRUPT.  Allocation failure is
** SQLITE_NOMEM.  On any error *ppOut is NULL and *pnOut is 0.
**
** A successful result always has a non-NULL *ppOut, even when *pnOut is 0.
*/
#include "streamInt.h"
#include <limits.h>
#include <string.h>

#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

#define STREAM_ZSTD_LEVEL   3       /* zstd compression level */
#define STREAM_CODEC_MINBUF 1024    /* Smallest decompression buffer */
#define STREAM_CODEC_SLACK  4096    /* Shrink a result wasting more */

/* Largest piece of a buffer handed to zlib at once (its counts are uInt). */
#define STREAM_ZCHUNK(n) ((n)>(size_t)UINT_MAX ? UINT_MAX : (uInt)(n))

/*
** Shrink the nAlloc-byte buffer *pa to its nUsed bytes if that saves
** more than STREAM_CODEC_SLACK bytes.  A failed shrink keeps the original.
*/
static void streamCodecShrink(u8 **pa, size_t nAlloc, size_t nUsed){
  if( nAlloc-nUsed>STREAM_CODEC_SLACK ){
    u8 *aNew = sqlite3_realloc64(*pa, nUsed ? nUsed : 1);
    if( aNew ) *pa = aNew;
  }
}

/*
** Grow the output buffer *pa, of *pnAlloc bytes, toward nCap bytes: to
** twice its size, at most nCap.  Return SQLITE_TOOBIG if it is already
** nCap bytes, SQLITE_NOMEM if the allocation fails.
*/
static int streamCodecGrow(u8 **pa, size_t *pnAlloc, size_t nCap){
  size_t nNew;
  u8 *aNew;
  if( *pnAlloc>=nCap ) return SQLITE_TOOBIG;
  nNew = *pnAlloc > nCap/2 ? nCap : *pnAlloc*2;
  if( nNew<STREAM_CODEC_MINBUF && nCap>=STREAM_CODEC_MINBUF ){
    nNew = STREAM_CODEC_MINBUF;
  }
  aNew = sqlite3_realloc64(*pa, nNew);
  if( aNew==0 ) return SQLITE_NOMEM;
  *pa = aNew;
  *pnAlloc = nNew;
  return SQLITE_OK;
}

/*
** The first size to allocate when decompressing n bytes, bounded by nCap.
*/
static size_t streamCodecFirstSize(size_t n, size_t nCap){
  size_t nAlloc = n<=((size_t)-1)/4 ? n*4 : (size_t)-1;
  if( nAlloc<STREAM_CODEC_MINBUF ) nAlloc = STREAM_CODEC_MINBUF;
  if( nAlloc>nCap ) nAlloc = nCap;
  return nAlloc;
}

/*
** Copy n bytes into a new buffer (STREAM_CODEC_NONE).
*/
static int streamCopy(const void *p, size_t n, void **ppOut, size_t *pnOut){
  u8 *a = sqlite3_malloc64(n ? n : 1);
  if( a==0 ) return SQLITE_NOMEM;
  if( n ) memcpy(a, p, n);
  *ppOut = a;
  *pnOut = n;
  return SQLITE_OK;
}

/*
** gzip-compress n bytes at p.
*/
static int streamGzipCompress(const u8 *p, size_t n, int iLevel,
                              void **ppOut, size_t *pnOut){
  z_stream zs;
  u8 *aOut = 0;
  size_t nAlloc;
  size_t nInLeft = n;             /* Input bytes not yet given to zlib */
  size_t nOutLeft;                /* Output bytes not yet given to zlib */
  int zrc;
  int rc = SQLITE_OK;

  memset(&zs, 0, sizeof(zs));
  zrc = deflateInit2(&zs, iLevel ? iLevel : Z_DEFAULT_COMPRESSION,
                     Z_DEFLATED, 15+16, 8, Z_DEFAULT_STRATEGY);
  if( zrc!=Z_OK ) return zrc==Z_MEM_ERROR ? SQLITE_NOMEM : SQLITE_ERROR;

  nAlloc = (size_t)deflateBound(&zs, (uLong)n);
  if( nAlloc<n ){ rc = SQLITE_TOOBIG; goto gzip_compress_out; }
  aOut = sqlite3_malloc64(nAlloc);
  if( aOut==0 ){ rc = SQLITE_NOMEM; goto gzip_compress_out; }
  nOutLeft = nAlloc;
  zs.next_in = (Bytef*)p;        /* zlib does not write through it */
  zs.next_out = aOut;

  do{
    if( zs.avail_in==0 && nInLeft>0 ){
      zs.avail_in = STREAM_ZCHUNK(nInLeft);
      nInLeft -= zs.avail_in;
    }
    if( zs.avail_out==0 ){
      if( nOutLeft==0 ){ rc = SQLITE_ERROR; goto gzip_compress_out; }
      zs.avail_out = STREAM_ZCHUNK(nOutLeft);
      nOutLeft -= zs.avail_out;
    }
    zrc = deflate(&zs, nInLeft==0 ? Z_FINISH : Z_NO_FLUSH);
  }while( zrc==Z_OK || (zrc==Z_BUF_ERROR && zs.avail_out==0) );

  if( zrc!=Z_STREAM_END ){
    rc = zrc==Z_MEM_ERROR ? SQLITE_NOMEM : SQLITE_ERROR;
    goto gzip_compress_out;
  }
  *pnOut = (size_t)(zs.next_out - aOut);
  streamCodecShrink(&aOut, nAlloc, *pnOut);
  *ppOut = aOut;
  aOut = 0;

gzip_compress_out:
  deflateEnd(&zs);
  sqlite3_free(aOut);
  return rc;
}

/*
** Decompress the gzip stream (one or more members) of n bytes at p.
*/
static int streamGzipDecompress(const u8 *p, size_t n, size_t nMax,
                                void **ppOut, size_t *pnOut){
  z_stream zs;
  u8 *aOut = 0;
  size_t nAlloc;
  size_t nCap = nMax<(size_t)-1 ? nMax+1 : nMax;
  size_t nInLeft = n;
  size_t nUsed;
  int zrc;
  int rc = SQLITE_OK;

  if( n==0 ) return SQLITE_CORRUPT;
  memset(&zs, 0, sizeof(zs));
  zrc = inflateInit2(&zs, 15+16);
  if( zrc!=Z_OK ) return zrc==Z_MEM_ERROR ? SQLITE_NOMEM : SQLITE_ERROR;

  nAlloc = streamCodecFirstSize(n, nCap);
  aOut = sqlite3_malloc64(nAlloc ? nAlloc : 1);
  if( aOut==0 ){ rc = SQLITE_NOMEM; goto gzip_decompress_out; }
  zs.next_in = (Bytef*)p;        /* zlib does not write through it */
  zs.next_out = aOut;
  zs.avail_out = STREAM_ZCHUNK(nAlloc);

  for(;;){
    if( zs.avail_in==0 && nInLeft>0 ){
      zs.avail_in = STREAM_ZCHUNK(nInLeft);
      nInLeft -= zs.avail_in;
    }
    if( zs.avail_out==0 ){
      nUsed = (size_t)(zs.next_out - aOut);
      if( nUsed==nAlloc ){
        rc = streamCodecGrow(&aOut, &nAlloc, nCap);
        if( rc ) goto gzip_decompress_out;
      }
      zs.next_out = aOut + nUsed;
      zs.avail_out = STREAM_ZCHUNK(nAlloc - nUsed);
    }
    zrc = inflate(&zs, Z_NO_FLUSH);
    if( zrc==Z_STREAM_END ){
      if( zs.avail_in==0 && nInLeft==0 ) break;
      /* Another member follows: it must be a whole gzip member too. */
      zrc = inflateReset(&zs);
      if( zrc!=Z_OK ){ rc = SQLITE_ERROR; goto gzip_decompress_out; }
      continue;
    }
    if( zrc==Z_OK ) continue;
    if( zrc==Z_BUF_ERROR && zs.avail_out==0 ) continue;
    /* Z_BUF_ERROR with room left: the input ended mid-stream. */
    rc = zrc==Z_MEM_ERROR ? SQLITE_NOMEM : SQLITE_CORRUPT;
    goto gzip_decompress_out;
  }

  nUsed = (size_t)(zs.next_out - aOut);
  if( nUsed>nMax ){ rc = SQLITE_TOOBIG; goto gzip_decompress_out; }
  streamCodecShrink(&aOut, nAlloc, nUsed);
  *ppOut = aOut;
  *pnOut = nUsed;
  aOut = 0;

gzip_decompress_out:
  inflateEnd(&zs);
  sqlite3_free(aOut);
  return rc;
}

/*
** zstd-compress n bytes at p into one frame.
*/
static int streamZstdCompress(const u8 *p, size_t n, int iLevel,
                              void **ppOut, size_t *pnOut){
  size_t nBound = ZSTD_compressBound(n);
  size_t nOut;
  u8 *aOut;
  if( ZSTD_isError(nBound) || nBound==0 ) return SQLITE_TOOBIG;
  aOut = sqlite3_malloc64(nBound);
  if( aOut==0 ) return SQLITE_NOMEM;
  nOut = ZSTD_compress(aOut, nBound, p, n,
                       iLevel ? iLevel : STREAM_ZSTD_LEVEL);
  if( ZSTD_isError(nOut) ){
    sqlite3_free(aOut);
    return ZSTD_getErrorCode(nOut)==ZSTD_error_memory_allocation
             ? SQLITE_NOMEM : SQLITE_ERROR;
  }
  streamCodecShrink(&aOut, nBound, nOut);
  *ppOut = aOut;
  *pnOut = nOut;
  return SQLITE_OK;
}

/*
** The SQLite error code for zstd decompression error code r.
*/
static int streamZstdError(size_t r){
  switch( ZSTD_getErrorCode(r) ){
    case ZSTD_error_memory_allocation:          return SQLITE_NOMEM;
    case ZSTD_error_frameParameter_windowTooLarge: return SQLITE_TOOBIG;
    default:                                    return SQLITE_CORRUPT;
  }
}

/*
** Decompress zstd frames by streaming, growing the output up to nMax+1
** bytes (reaching that is SQLITE_TOOBIG).
*/
static int streamZstdStream(const u8 *p, size_t n, size_t nMax,
                            void **ppOut, size_t *pnOut){
  ZSTD_DCtx *pCtx;
  ZSTD_inBuffer in;
  ZSTD_outBuffer out;
  u8 *aOut = 0;
  size_t nAlloc;
  size_t nCap = nMax<(size_t)-1 ? nMax+1 : nMax;
  size_t r = 1;                   /* Last return of ZSTD_decompressStream */
  int rc = SQLITE_OK;

  pCtx = ZSTD_createDCtx();
  if( pCtx==0 ) return SQLITE_NOMEM;
  nAlloc = streamCodecFirstSize(n, nCap);
  aOut = sqlite3_malloc64(nAlloc ? nAlloc : 1);
  if( aOut==0 ){ rc = SQLITE_NOMEM; goto zstd_stream_out; }
  in.src = p;
  in.size = n;
  in.pos = 0;
  out.dst = aOut;
  out.size = nAlloc;
  out.pos = 0;

  for(;;){
    if( out.pos==out.size ){
      rc = streamCodecGrow(&aOut, &nAlloc, nCap);
      if( rc ) goto zstd_stream_out;
      out.dst = aOut;
      out.size = nAlloc;
    }
    r = ZSTD_decompressStream(pCtx, &out, &in);
    if( ZSTD_isError(r) ){
      rc = streamZstdError(r);
      goto zstd_stream_out;
    }
    if( in.pos==in.size && out.pos<out.size ){
      /* All input consumed and everything decoded so far flushed. r is 0
      ** only at the end of a frame: otherwise the input is truncated. */
      if( r!=0 ) rc = SQLITE_CORRUPT;
      break;
    }
  }
  if( rc ) goto zstd_stream_out;
  if( out.pos>nMax ){ rc = SQLITE_TOOBIG; goto zstd_stream_out; }
  streamCodecShrink(&aOut, nAlloc, out.pos);
  *ppOut = aOut;
  *pnOut = out.pos;
  aOut = 0;

zstd_stream_out:
  ZSTD_freeDCtx(pCtx);
  sqlite3_free(aOut);
  return rc;
}

/*
** Decompress the zstd frame(s) of n bytes at p.
*/
static int streamZstdDecompress(const u8 *p, size_t n, size_t nMax,
                                void **ppOut, size_t *pnOut){
  unsigned long long nContent;
  size_t nFrame;
  size_t nOut;
  u8 *aOut;

  if( n==0 ) return SQLITE_CORRUPT;
  nContent = ZSTD_getFrameContentSize(p, n);
  if( nContent==ZSTD_CONTENTSIZE_ERROR ) return SQLITE_CORRUPT;
  nFrame = ZSTD_findFrameCompressedSize(p, n);
  if( ZSTD_isError(nFrame) ) return SQLITE_CORRUPT;
  if( nContent==ZSTD_CONTENTSIZE_UNKNOWN || nFrame!=n ){
    return streamZstdStream(p, n, nMax, ppOut, pnOut);
  }

  /* One frame that declares its size: check it, then decode in one call.
  ** A frame that holds more or less than it declares is corrupt. */
  if( nContent>(unsigned long long)nMax ) return SQLITE_TOOBIG;
  aOut = sqlite3_malloc64(nContent ? (sqlite3_uint64)nContent : 1);
  if( aOut==0 ) return SQLITE_NOMEM;
  nOut = ZSTD_decompress(aOut, (size_t)nContent, p, n);
  if( ZSTD_isError(nOut) || nOut!=(size_t)nContent ){
    sqlite3_free(aOut);
    return ZSTD_isError(nOut) ? streamZstdError(nOut) : SQLITE_CORRUPT;
  }
  *ppOut = aOut;
  *pnOut = nOut;
  return SQLITE_OK;
}

/*
** Compress n bytes at p with codec eCodec into a new buffer *ppOut of
** *pnOut bytes, owned by the caller.
*/
int sqlite3StreamCompress(int eCodec, const void *p, size_t n,
                          void **ppOut, size_t *pnOut){
  return sqlite3StreamCompressLevel(eCodec, 0, p, n, ppOut, pnOut);
}

/*
** The same at level iLevel of the codec (0: the codec's default above;
** ignored by STREAM_CODEC_NONE).
*/
int sqlite3StreamCompressLevel(int eCodec, int iLevel, const void *p,
                               size_t n, void **ppOut, size_t *pnOut){
  int rc;
  *ppOut = 0;
  *pnOut = 0;
  if( p==0 && n>0 ) return SQLITE_ERROR;
  switch( eCodec ){
    case STREAM_CODEC_NONE:
      rc = streamCopy(p, n, ppOut, pnOut);
      break;
    case STREAM_CODEC_GZIP:
      rc = streamGzipCompress((const u8*)p, n, iLevel, ppOut, pnOut);
      break;
    case STREAM_CODEC_ZSTD:
      rc = streamZstdCompress((const u8*)p, n, iLevel, ppOut, pnOut);
      break;
    default:
      rc = SQLITE_ERROR;
      break;
  }
  if( rc!=SQLITE_OK ){
    *ppOut = 0;
    *pnOut = 0;
  }
  return rc;
}

/*
** Decompress n bytes at p with codec eCodec into a new buffer *ppOut of
** *pnOut bytes (at most nMax), owned by the caller.
*/
int sqlite3StreamDecompress(int eCodec, const void *p, size_t n,
                            size_t nMax, void **ppOut, size_t *pnOut){
  int rc;
  *ppOut = 0;
  *pnOut = 0;
  if( p==0 && n>0 ) return SQLITE_ERROR;
  switch( eCodec ){
    case STREAM_CODEC_NONE:
      rc = n>nMax ? SQLITE_TOOBIG : streamCopy(p, n, ppOut, pnOut);
      break;
    case STREAM_CODEC_GZIP:
      rc = streamGzipDecompress((const u8*)p, n, nMax, ppOut, pnOut);
      break;
    case STREAM_CODEC_ZSTD:
      rc = streamZstdDecompress((const u8*)p, n, nMax, ppOut, pnOut);
      break;
    default:
      rc = SQLITE_ERROR;
      break;
  }
  if( rc!=SQLITE_OK ){
    *ppOut = 0;
    *pnOut = 0;
  }
  return rc;
}
