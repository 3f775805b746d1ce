/*
** parquet.h - internal interface of the warm tier's Parquet files.
**
** A warm-tier file holds one topic partition's offset range as a Parquet
** file written and read by our own code (Debian has no Parquet library):
**
**   ext/thrift.c         Thrift compact protocol encoder and a bounds-checked
**                        decoder (the footer and page headers use it).
**   ext/parquet_write.c  Incremental writer: rows in, Parquet bytes out to a
**                        caller-supplied sink, one row group at a time.
**   ext/parquet_read.c   Streaming reader: footer, per-row-group statistics
**                        for pruning, and a row iterator that holds at most
**                        one decoded page per column in memory.
**
** The file layout (see docs and /work/shared/notes/formats.md):
**
**   column      physical    repetition  annotation                 field_id
**   topic       BYTE_ARRAY  REQUIRED    STRING / UTF8                     1
**   partition   INT32       REQUIRED    -                                 2
**   offset      INT64       REQUIRED    -  (statistics)                   3
**   key         BYTE_ARRAY  OPTIONAL    -  (keys may be bytes)            4
**   value       BYTE_ARRAY  OPTIONAL    JSON when every value is TEXT     5
**   headers     BYTE_ARRAY  OPTIONAL    JSON                              6
**   timestamp   INT64       REQUIRED    TIMESTAMP(MICROS, UTC)  (stats)   7
**   attributes  INT32       REQUIRED    -  bit0 key BLOB, bit1 value BLOB 8
**
** Data pages v1, PLAIN values, RLE/bit-packed definition levels; codec
** UNCOMPRESSED, GZIP or ZSTD.  Offsets must be strictly increasing within a
** file (the reader's seek relies on it).
*/
#ifndef STREAM_PARQUET_H
#define STREAM_PARQUET_H

#include "streamInt.h"

/* Fixed prefix of every error message produced by the Parquet code. */
#define STREAM_PQ_ERR "parquet: "

/**************************************************************************
** Interface to code in ext/thrift.c
*/

/* Compact protocol type codes (field headers and list headers). */
#define STREAM_THRIFT_STOP      0
#define STREAM_THRIFT_TRUE      1
#define STREAM_THRIFT_FALSE     2
#define STREAM_THRIFT_I8        3
#define STREAM_THRIFT_I16       4
#define STREAM_THRIFT_I32       5
#define STREAM_THRIFT_I64       6
#define STREAM_THRIFT_DOUBLE    7
#define STREAM_THRIFT_BINARY    8
#define STREAM_THRIFT_LIST      9
#define STREAM_THRIFT_SET      10
#define STREAM_THRIFT_MAP      11
#define STREAM_THRIFT_STRUCT   12
#define STREAM_THRIFT_UUID     13

/* Deepest struct/list/map nesting the decoder accepts. */
#define STREAM_THRIFT_MAX_DEPTH 32

/* A growable output buffer.  rc is sticky: once an allocation fails every
** later append is a no-op and rc stays SQLITE_NOMEM. */
typedef struct StreamPqBuf StreamPqBuf;
struct StreamPqBuf {
  u8 *a;                          /* Bytes (sqlite3_malloc64) */
  size_t n;                       /* Bytes used */
  size_t nAlloc;                  /* Bytes allocated */
  int rc;                         /* SQLITE_OK or SQLITE_NOMEM */
};
void sqlite3StreamPqBufAppend(StreamPqBuf*, const void *p, size_t n);
int sqlite3StreamPqBufReserve(StreamPqBuf*, size_t n); /* room for n more */
void sqlite3StreamPqBufU32(StreamPqBuf*, u32 v);       /* little-endian */
void sqlite3StreamPqBufU64(StreamPqBuf*, u64 v);       /* little-endian */
void sqlite3StreamPqBufVarint(StreamPqBuf*, u64 v);    /* ULEB128 */
void sqlite3StreamPqBufReset(StreamPqBuf*);            /* n = 0, keep a */
void sqlite3StreamPqBufFree(StreamPqBuf*);

/* Encoder.  A struct is written by a sequence of field writes, each
** passing &iLast (the previous field id of that struct, starting at 0),
** ending with sqlite3StreamThriftStructEnd().  Field ids must increase. */
void sqlite3StreamThriftField(StreamPqBuf*, int *piLast, int eType, int iId);
void sqlite3StreamThriftBool(StreamPqBuf*, int *piLast, int iId, int b);
void sqlite3StreamThriftI32(StreamPqBuf*, int *piLast, int iId, int v);
void sqlite3StreamThriftI64(StreamPqBuf*, int *piLast, int iId, i64 v);
void sqlite3StreamThriftBinary(StreamPqBuf*, int *piLast, int iId,
                               const void *p, size_t n);
void sqlite3StreamThriftList(StreamPqBuf*, int *piLast, int iId,
                             int eElem, int nElem);
void sqlite3StreamThriftListHeader(StreamPqBuf*, int eElem, int nElem);
void sqlite3StreamThriftZigzag(StreamPqBuf*, i64 v);   /* bare i32/i64 */
void sqlite3StreamThriftStructEnd(StreamPqBuf*);

/* Decoder over a byte range.  Never reads outside [a, a+n).  Errors are
** sticky: after the first one every read returns 0/empty and rc and zErr
** say what went wrong.  bTruncated is set when the error was running off
** the end of the buffer (a caller holding a prefix may read more). */
typedef struct StreamThriftReader StreamThriftReader;
struct StreamThriftReader {
  const u8 *a;                    /* Buffer */
  size_t n;                       /* Size of buffer */
  size_t i;                       /* Read position */
  int nDepth;                     /* Nesting depth inside Skip() */
  int rc;                         /* SQLITE_OK or SQLITE_CORRUPT */
  int bTruncated;                 /* Error was "ran out of bytes" */
  char zErr[96];                  /* Error message, no prefix */
};
void sqlite3StreamThriftReaderInit(StreamThriftReader*, const void*, size_t);
void sqlite3StreamThriftError(StreamThriftReader*, const char *zMsg);

/* Read the next field header of a struct.  Returns the field type, or
** STREAM_THRIFT_STOP at the end of the struct (or on error).  *piId gets
** the field id; *piLast is the struct's previous field id (start at 0).
** For a bool field the value is in the type (TRUE/FALSE). */
int sqlite3StreamThriftNextField(StreamThriftReader*, int *piLast, int *piId);
i64 sqlite3StreamThriftReadI64(StreamThriftReader*);   /* zigzag varint */
int sqlite3StreamThriftReadI32(StreamThriftReader*);   /* checks range */
const u8 *sqlite3StreamThriftReadBinary(StreamThriftReader*, size_t *pn);
/* List (or set) header: returns the element count (checked against the
** bytes left) and sets *peElem. */
int sqlite3StreamThriftReadList(StreamThriftReader*, int *peElem);
/* Skip one value of type eType (field context: bools have no payload;
** pass bInList=1 for list elements, where a bool is one byte).  Nested
** structs, lists, sets and maps are skipped recursively, at most
** STREAM_THRIFT_MAX_DEPTH deep. */
void sqlite3StreamThriftSkip(StreamThriftReader*, int eType, int bInList);

/**************************************************************************
** Interface to code in ext/parquet_write.c and ext/parquet_read.c
*/

/* Kinds of key and value in a StreamPqRow. */
#define STREAM_PQ_NULL 0
#define STREAM_PQ_TEXT 1
#define STREAM_PQ_BLOB 2

/* Bits of the "attributes" column. */
#define STREAM_PQ_ATTR_KEY_BLOB   0x01
#define STREAM_PQ_ATTR_VALUE_BLOB 0x02

/* Number of columns and default rows per row group. */
#define STREAM_PQ_NCOL 8
#define STREAM_PQ_DEFAULT_GROUP_ROWS 10000

/* Limits.  A row whose key + value + headers exceed STREAM_PQ_MAX_ROW is
** refused by the writer; the reader refuses pages that decompress to more
** than STREAM_PQ_MAX_PAGE bytes and footers larger than
** STREAM_PQ_MAX_FOOTER. */
#define STREAM_PQ_MAX_ROW     (64*1024*1024)
#define STREAM_PQ_MAX_PAGE    (256*1024*1024)
#define STREAM_PQ_MAX_FOOTER  (64*1024*1024)

/* One message.  Pointers are borrowed: the writer copies what it needs
** during sqlite3StreamPqWriterAdd(); the reader's are valid until its next
** call.  Strings are not NUL-terminated; use the lengths. */
typedef struct StreamPqRow StreamPqRow;
struct StreamPqRow {
  const char *zTopic; int nTopic;   /* Topic name (UTF-8) */
  int iPartition;                   /* Partition number */
  sqlite3_int64 iOffset;            /* Offset (strictly increasing) */
  const void *pKey; int nKey;       /* Key bytes */
  int eKeyType;                     /* STREAM_PQ_NULL, _TEXT or _BLOB */
  const void *pValue; int nValue;   /* Value bytes */
  int eValueType;                   /* _NULL (tombstone), _TEXT (JSON), _BLOB*/
  const char *zHeaders; int nHeaders; /* JSON text, or NULL if none */
  sqlite3_int64 iTimestampMs;       /* ms since the epoch */
  int mTerm;                        /* Reader only: STREAM_PQ_TERM_* bits of
                                    ** the fields followed by a 0 byte */
};

/* Bits of StreamPqRow.mTerm: pKey[nKey], pValue[nValue] or
** zHeaders[nHeaders] is a 0 byte that the row may be read up to (the
** reader writes it in place of the next value's length prefix, which it
** has already decoded).  Text so terminated can be handed to SQLite as
** NUL-terminated, which spares SQLite a copy (sqlite3_value_text()). */
#define STREAM_PQ_TERM_KEY     0x01
#define STREAM_PQ_TERM_VALUE   0x02
#define STREAM_PQ_TERM_HEADERS 0x04

/* Sink and source callbacks.  xWrite must consume all n bytes; xRead must
** fill all n bytes read from file offset iOff.  Both return SQLITE_OK or
** an error code (which the caller passes on). */
typedef int (*StreamPqWriteFn)(void *pCtx, const void *p, size_t n);
typedef int (*StreamPqReadFn)(void *pCtx, void *pBuf, size_t n,
                              sqlite3_int64 iOff);

/* Ready-made sinks and sources: pCtx is a StreamPqBuf* (memory) or a
** FILE* (stdio; the read source seeks with fseek()). */
int sqlite3StreamPqMemWrite(void *pCtx, const void *p, size_t n);
int sqlite3StreamPqMemRead(void *pCtx, void *pBuf, size_t n, i64 iOff);
int sqlite3StreamPqFileWrite(void *pCtx, const void *p, size_t n);
int sqlite3StreamPqFileRead(void *pCtx, void *pBuf, size_t n, i64 iOff);

/*
** Writer.
**
**   sqlite3StreamPqWriterOpen()    eCodec is STREAM_CODEC_*; nGroupRows <= 0
**                                  means STREAM_PQ_DEFAULT_GROUP_ROWS.  The
**                                  leading "PAR1" is written at once.
**   sqlite3StreamPqWriterAdd()     Append a row.  A row group is flushed to
**                                  the sink when it holds nGroupRows rows
**                                  or about 64 MiB.
**   sqlite3StreamPqWriterMeta()    Add a key_value_metadata pair (copied)
**                                  to the footer.  Before Finish.
**   sqlite3StreamPqWriterFinish()  Flush the last row group and write the
**                                  footer.  The file is complete after it.
**   sqlite3StreamPqWriterBytes()   Bytes handed to the sink so far.
**   sqlite3StreamPqWriterErrmsg()  Message for the last error, or NULL.
**   sqlite3StreamPqWriterFree()    Free (does not write anything).
**
** After any error the writer is dead: further calls return the same code.
*/
typedef struct StreamPqWriter StreamPqWriter;
int sqlite3StreamPqWriterOpen(StreamPqWriter **pp, int eCodec, int nGroupRows,
                              StreamPqWriteFn xWrite, void *pCtx);
int sqlite3StreamPqWriterAdd(StreamPqWriter*, const StreamPqRow*);
int sqlite3StreamPqWriterMeta(StreamPqWriter*, const char *zKey,
                              const char *zValue);
int sqlite3StreamPqWriterFinish(StreamPqWriter*);
sqlite3_int64 sqlite3StreamPqWriterBytes(StreamPqWriter*);
const char *sqlite3StreamPqWriterErrmsg(StreamPqWriter*);
void sqlite3StreamPqWriterFree(StreamPqWriter*);

/* Per-row-group facts from the footer, for pruning.  The min/max fields
** are valid only when bStats is set (files from this writer always). */
typedef struct StreamPqGroupInfo StreamPqGroupInfo;
struct StreamPqGroupInfo {
  sqlite3_int64 nRows;            /* Rows in the group */
  int bStats;                     /* True if the four fields below are set */
  sqlite3_int64 iOffsetMin;       /* Smallest offset */
  sqlite3_int64 iOffsetMax;       /* Largest offset */
  sqlite3_int64 iTimestampMin;    /* Smallest timestamp, ms */
  sqlite3_int64 iTimestampMax;    /* Largest timestamp, ms */
};

/*
** Reader.
**
**   sqlite3StreamPqReaderOpen()    Read and check the footer of the nFile
**                                  byte file behind xRead.  On error *pp is
**                                  NULL and *pzErr (if not NULL) gets a
**                                  sqlite3_mprintf() message to free.
**   sqlite3StreamPqReaderRows()    Total rows (FileMetaData.num_rows).
**   sqlite3StreamPqReaderGroups()  Number of row groups.
**   sqlite3StreamPqReaderGroup()   Facts of row group i (0-based), or NULL.
**   sqlite3StreamPqReaderMeta()    Value of a key_value_metadata key, or
**                                  NULL (NUL-terminated, owned by reader).
**   sqlite3StreamPqReaderSeekGroup() Next row is the first of group i.
**   sqlite3StreamPqReaderSeek()    Next row is the first whose offset is
**                                  >= iOffset (row groups skipped by their
**                                  statistics, then rows).
**   sqlite3StreamPqReaderNext()    SQLITE_ROW and *pRow filled (pointers
**                                  valid until the next call), SQLITE_DONE
**                                  at the end, or an error code.
**   sqlite3StreamPqReaderErrmsg()  Message for the last error, or NULL.
**   sqlite3StreamPqReaderClose()   Free.
**
** Memory is bounded by the footer plus one decoded page per column; every
** size read from the file is checked against the file size and the limits
** above before it is used.
*/
typedef struct StreamPqReader StreamPqReader;
int sqlite3StreamPqReaderOpen(StreamPqReader **pp, StreamPqReadFn xRead,
                              void *pCtx, sqlite3_int64 nFile, char **pzErr);
sqlite3_int64 sqlite3StreamPqReaderRows(StreamPqReader*);
int sqlite3StreamPqReaderGroups(StreamPqReader*);
const StreamPqGroupInfo *sqlite3StreamPqReaderGroup(StreamPqReader*, int i);
const char *sqlite3StreamPqReaderMeta(StreamPqReader*, const char *zKey);
int sqlite3StreamPqReaderSeekGroup(StreamPqReader*, int iGroup);
int sqlite3StreamPqReaderSeek(StreamPqReader*, sqlite3_int64 iOffset);
int sqlite3StreamPqReaderNext(StreamPqReader*, StreamPqRow *pRow);
/* Decode only the columns of mask mWant (bit i: column i of the layout
** above; offset, timestamp and attributes always) from the next row
** group opened (SeekGroup/Seek/Next into a new group): the others are
** not even read, and their StreamPqRow fields stay NULL / 0. */
int sqlite3StreamPqReaderSetColumns(StreamPqReader*, unsigned mWant);
/* Columns decoded in the row group being read. */
unsigned sqlite3StreamPqReaderColumns(StreamPqReader*);
/* Hand back the row just returned by Next() (its pointers still valid):
** the next Next() returns it again.  SQLITE_MISUSE if a row is already
** handed back. */
int sqlite3StreamPqReaderUnread(StreamPqReader*, const StreamPqRow*);
/* Free the decoded pages (kept: the footer); the next row read must
** follow a SeekGroup() or Seek(). */
void sqlite3StreamPqReaderRelease(StreamPqReader*);
/* Change the read callback's context (the caller moved it). */
void sqlite3StreamPqReaderSetSource(StreamPqReader*, void *pCtx);
const char *sqlite3StreamPqReaderErrmsg(StreamPqReader*);
void sqlite3StreamPqReaderClose(StreamPqReader*);

#endif /* STREAM_PARQUET_H */
