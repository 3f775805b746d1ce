/*
** json.c - strict JSON validation and JSON string quoting.
**
** sqlite3StreamJsonCheck() decides whether a buffer is exactly one RFC 8259
** JSON text and, if so, reports the kind of its top-level value.  It runs
** on the produce path of topics declared with a JSON value format, so it
** is built to be fast and allocates nothing:
**
**   - one pass, iterative; the open containers are kept as a bit stack
**     (1 = object, 0 = array) of STREAM_JSON_MAX_DEPTH bits on the C stack;
**   - the body of a string is skipped 8 bytes at a time while it holds
**     plain ASCII, then byte by byte through a 256-entry class table;
**   - UTF-8 is validated inline, per RFC 3629: no overlong forms, no
**     encoded surrogates (U+D800..U+DFFF), nothing above U+10FFFF.
**
** What is rejected, beyond the grammar itself: empty input or input of
** only whitespace; anything but space, tab, LF or CR around the value;
** control characters (< 0x20) inside strings; escapes other than
** \" \\ \/ \b \f \n \r \t \uXXXX; a \u escape of a lone surrogate (a high
** surrogate must be directly followed by a \u escape of a low one);
** numbers with a leading zero, a leading '+', a bare '.', an empty
** fraction or exponent, NaN and Infinity; a byte-order mark; nesting of
** arrays and objects deeper than STREAM_JSON_MAX_DEPTH (that many nested
** containers are allowed, one more is not); any byte after the value
** other than whitespace (including NUL).  Duplicate object keys are
** allowed, as RFC 8259 allows them.
**
** sqlite3StreamJsonErrWhere() says where rejected text stops being JSON
** (an offset and an excerpt, or the nesting limit it passes), for error
** messages such as the topic config's; sqlite3StreamJsonTooDeep() whether
** the nesting limit is the reason.  sqlite3StreamJsonQuote() appends a JSON string literal to a
** sqlite3_str.
**
** The JSON tree (StreamJson, at the end of the file) is the one JSON
** reader and writer of the extension: topic configs, join options, Avro
** schemas, Iceberg metadata, the cold tier's summaries.  It parses only
** what sqlite3StreamJsonCheck() accepts, allocates with sqlite3_malloc64()
** (no process-wide allocator hooks, unlike a general-purpose library),
** and prints text a reader of the files written before it (by cJSON)
** reads the same way.
*/
#include "streamInt.h"
#include <errno.h>
#include <float.h>
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__) && (defined(__GNUC__) || defined(__clang__))
# include <emmintrin.h>
# define STREAM_JSON_SSE2 1      /* x86-64 always has it */
#endif

/*
** Byte classes inside a JSON string, the values of aStreamJsonClass[].
*/
#define STREAM_JC_PLAIN  0  /* Printable ASCII other than '"' and '\\' */
#define STREAM_JC_QUOTE  1  /* '"' */
#define STREAM_JC_BSLASH 2  /* '\\' */
#define STREAM_JC_BAD    3  /* Control, continuation byte, C0, C1, F5..FF */
#define STREAM_JC_U2     4  /* C2..DF: lead of a 2-byte sequence */
#define STREAM_JC_E0     5  /* E0: 3-byte, second byte A0..BF */
#define STREAM_JC_U3     6  /* E1..EC, EE..EF: 3-byte, then 80..BF */
#define STREAM_JC_ED     7  /* ED: 3-byte, second byte 80..9F (no UTF-16
                            ** surrogates) */
#define STREAM_JC_F0     8  /* F0: 4-byte, second byte 90..BF */
#define STREAM_JC_U4     9  /* F1..F3: 4-byte, then 80..BF */
#define STREAM_JC_F4    10  /* F4: 4-byte, second byte 80..8F (<= U+10FFFF) */

static const u8 aStreamJsonClass[256] = {
   3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,  /* 00 */
   3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,  /* 10 */
   0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  /* 20 */
   0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  /* 30 */
   0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  /* 40 */
   0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0,  /* 50 */
   0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  /* 60 */
   0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  /* 70 */
   3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,  /* 80 */
   3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,  /* 90 */
   3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,  /* A0 */
   3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,  /* B0 */
   3, 3, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,  /* C0 */
   4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,  /* D0 */
   5, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 7, 6, 6,  /* E0 */
   8, 9, 9, 9,10, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,  /* F0 */
};

/* Hex digit values of bytes 00..7F, or -1 (bytes 80..FF are never hex). */
static const signed char aStreamJsonHex[128] = {
  -1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,  /* 00 */
  -1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,  /* 10 */
  -1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,  /* 20 */
   0, 1, 2, 3, 4, 5, 6, 7, 8, 9,-1,-1,-1,-1,-1,-1,  /* 30 */
  -1,10,11,12,13,14,15,-1,-1,-1,-1,-1,-1,-1,-1,-1,  /* 40 */
  -1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,  /* 50 */
  -1,10,11,12,13,14,15,-1,-1,-1,-1,-1,-1,-1,-1,-1,  /* 60 */
  -1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,  /* 70 */
};

/* Whitespace: space, tab, LF, CR. */
#define STREAM_JSON_ISSPACE(c) \
  ((c)==' ' || (c)=='\n' || (c)=='\r' || (c)=='\t')
#define STREAM_JSON_ISDIGIT(c) ((u8)((c)-'0')<10)
#define STREAM_JSON_ISCONT(c)  (((c)&0xc0)==0x80)

/* SWAR helpers on 8 bytes at a time. */
#define STREAM_JSON_ONES  0x0101010101010101ULL
#define STREAM_JSON_HIGHS 0x8080808080808080ULL
/* Non-zero iff some byte of x is zero. */
#define STREAM_JSON_HASZERO(x) \
  (((x) - STREAM_JSON_ONES) & ~(x) & STREAM_JSON_HIGHS)
/* Non-zero iff some byte of x is < n (n <= 128). */
#define STREAM_JSON_HASLESS(x,n) \
  (((x) - STREAM_JSON_ONES*(n)) & ~(x) & STREAM_JSON_HIGHS)

/*
** Skip whitespace.  Return the first non-space byte at or after p, or
** pEnd.
*/
static const u8 *streamJsonSkipSpace(const u8 *p, const u8 *pEnd){
  while( p<pEnd && STREAM_JSON_ISSPACE(*p) ) p++;
  return p;
}

/*
** Read 4 hex digits at p (p+4 <= pEnd checked by the caller).  Return the
** value, or -1 if any is not a hex digit.
*/
static int streamJsonHex4(const u8 *p){
  int a, b, c, d;
  if( (p[0]|p[1]|p[2]|p[3]) & 0x80 ) return -1;
  a = aStreamJsonHex[p[0]];
  b = aStreamJsonHex[p[1]];
  c = aStreamJsonHex[p[2]];
  d = aStreamJsonHex[p[3]];
  if( (a|b|c|d)<0 ) return -1;
  return (a<<12) | (b<<8) | (c<<4) | d;
}

/*
** p points just past the opening '"' of a string.  Validate the string
** and return a pointer just past its closing '"', or 0 if it is invalid.
*/
static const u8 *streamJsonString(const u8 *p, const u8 *pEnd){
  for(;;){
    u8 c;
#ifdef STREAM_JSON_SSE2
    /* Fast path: 16 bytes at a time.  A signed compare below 0x20 also
    ** catches every byte >= 0x80 (negative), which the byte loop below
    ** then classifies. */
    while( pEnd-p>=16 ){
      __m128i v = _mm_loadu_si128((const __m128i*)p);
      __m128i m = _mm_or_si128(
          _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')),
                       _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))),
          _mm_cmplt_epi8(v, _mm_set1_epi8(0x20)));
      int bits = _mm_movemask_epi8(m);
      if( bits ){
        p += __builtin_ctz((unsigned)bits);
        break;
      }
      p += 16;
    }
#endif
    /* 8 bytes of plain ASCII at a time. */
    while( pEnd-p>=8 ){
      uint64_t x;
      memcpy(&x, p, 8);
      if( (x & STREAM_JSON_HIGHS)
       || STREAM_JSON_HASLESS(x, 0x20)
       || STREAM_JSON_HASZERO(x ^ (STREAM_JSON_ONES*'"'))
       || STREAM_JSON_HASZERO(x ^ (STREAM_JSON_ONES*'\\'))
      ){
        break;
      }
      p += 8;
    }
    while( p<pEnd && aStreamJsonClass[*p]==STREAM_JC_PLAIN ) p++;
    if( p>=pEnd ) return 0;
    c = *p;
    switch( aStreamJsonClass[c] ){
      case STREAM_JC_QUOTE:
        return p+1;

      case STREAM_JC_BSLASH: {
        if( pEnd-p<2 ) return 0;
        switch( p[1] ){
          case '"': case '\\': case '/': case 'b':
          case 'f': case 'n':  case 'r': case 't':
            p += 2;
            break;
          case 'u': {
            int v;
            if( pEnd-p<6 ) return 0;
            v = streamJsonHex4(p+2);
            if( v<0 ) return 0;
            p += 6;
            if( v>=0xd800 && v<=0xdfff ){
              int w;
              /* A high surrogate must be followed by a \u low surrogate. */
              if( v>=0xdc00 ) return 0;
              if( pEnd-p<6 || p[0]!='\\' || p[1]!='u' ) return 0;
              w = streamJsonHex4(p+2);
              if( w<0xdc00 || w>0xdfff ) return 0;
              p += 6;
            }
            break;
          }
          default:
            return 0;
        }
        break;
      }

      case STREAM_JC_U2:
        if( pEnd-p<2 || !STREAM_JSON_ISCONT(p[1]) ) return 0;
        p += 2;
        break;

      case STREAM_JC_E0:
        if( pEnd-p<3 || p[1]<0xa0 || p[1]>0xbf
         || !STREAM_JSON_ISCONT(p[2]) ) return 0;
        p += 3;
        break;

      case STREAM_JC_U3:
        if( pEnd-p<3 || !STREAM_JSON_ISCONT(p[1])
         || !STREAM_JSON_ISCONT(p[2]) ) return 0;
        p += 3;
        break;

      case STREAM_JC_ED:
        if( pEnd-p<3 || p[1]<0x80 || p[1]>0x9f
         || !STREAM_JSON_ISCONT(p[2]) ) return 0;
        p += 3;
        break;

      case STREAM_JC_F0:
        if( pEnd-p<4 || p[1]<0x90 || p[1]>0xbf
         || !STREAM_JSON_ISCONT(p[2]) || !STREAM_JSON_ISCONT(p[3]) ) return 0;
        p += 4;
        break;

      case STREAM_JC_U4:
        if( pEnd-p<4 || !STREAM_JSON_ISCONT(p[1])
         || !STREAM_JSON_ISCONT(p[2]) || !STREAM_JSON_ISCONT(p[3]) ) return 0;
        p += 4;
        break;

      case STREAM_JC_F4:
        if( pEnd-p<4 || p[1]<0x80 || p[1]>0x8f
         || !STREAM_JSON_ISCONT(p[2]) || !STREAM_JSON_ISCONT(p[3]) ) return 0;
        p += 4;
        break;

      default:  /* STREAM_JC_BAD */
        return 0;
    }
  }
}

/*
** p points at the first character of a number ('-' or a digit).  Validate
**
**     number = [ "-" ] ( "0" / [1-9] *DIGIT ) [ "." 1*DIGIT ]
**              [ ( "e" / "E" ) [ "-" / "+" ] 1*DIGIT ]
**
** and return a pointer just past it, or 0.  The caller checks that what
** follows is a delimiter (so "01" and "1x" fail there).
*/
static const u8 *streamJsonNumber(const u8 *p, const u8 *pEnd){
  if( *p=='-' ){
    p++;
    if( p>=pEnd ) return 0;
  }
  if( *p=='0' ){
    p++;
  }else if( *p>='1' && *p<='9' ){
    p++;
    while( p<pEnd && STREAM_JSON_ISDIGIT(*p) ) p++;
  }else{
    return 0;
  }
  if( p<pEnd && *p=='.' ){
    p++;
    if( p>=pEnd || !STREAM_JSON_ISDIGIT(*p) ) return 0;
    while( p<pEnd && STREAM_JSON_ISDIGIT(*p) ) p++;
  }
  if( p<pEnd && (*p=='e' || *p=='E') ){
    p++;
    if( p<pEnd && (*p=='+' || *p=='-') ) p++;
    if( p>=pEnd || !STREAM_JSON_ISDIGIT(*p) ) return 0;
    while( p<pEnd && STREAM_JSON_ISDIGIT(*p) ) p++;
  }
  return p;
}

/*
** Return true if the text at p (pEnd bounding it) starts with the nLit
** bytes of zLit.
*/
static int streamJsonLiteral(const u8 *p, const u8 *pEnd,
                             const char *zLit, int nLit){
  return pEnd-p>=nLit && memcmp(p, zLit, (size_t)nLit)==0;
}

/*
** Strict RFC 8259 validation of the n bytes at z.  Return the
** STREAM_JSON_xxx kind of the top-level value, or STREAM_JSON_INVALID and,
** if piErr is not NULL, the offset where the text stops being JSON in
** *piErr (n when it ends too early; the start of a bad string or number).
*/
static int streamJsonParse(const char *z, size_t n, size_t *piErr,
                           int *pbDeep){
  const u8 *p = (const u8*)z;
  const u8 *pTok = p;                       /* Start of the current token */
  const u8 *pEnd;
  u8 aStack[(STREAM_JSON_MAX_DEPTH+7)/8];  /* Bit i set: level i is object */
  int iDepth = 0;                           /* Number of open containers */
  int eKind = STREAM_JSON_INVALID;          /* Kind of the top-level value */
  int eVal;                                 /* Kind of the current value */

  if( pbDeep ) *pbDeep = 0;
  if( z==0 || n==0 ) goto invalid;
  pEnd = p + n;

  /* Parse one value at p.  Containers push a level and come back here for
  ** their first element, or go to close_or_next if empty. */
value:
  while( p<pEnd && STREAM_JSON_ISSPACE(*p) ) p++;
  if( p>=pEnd ) goto invalid;
  pTok = p;
  switch( *p ){
    case '{':
      if( iDepth>=STREAM_JSON_MAX_DEPTH ) goto too_deep;
      aStack[iDepth>>3] |= (u8)(1 << (iDepth&7));
      iDepth++;
      if( eKind==STREAM_JSON_INVALID ) eKind = STREAM_JSON_OBJECT;
      p = streamJsonSkipSpace(p+1, pEnd);
      if( p>=pEnd ) goto invalid;
      if( *p=='}' ){
        p++;
        iDepth--;
        goto after_value;
      }
      goto member;

    case '[':
      if( iDepth>=STREAM_JSON_MAX_DEPTH ) goto too_deep;
      aStack[iDepth>>3] &= (u8)~(1 << (iDepth&7));
      iDepth++;
      if( eKind==STREAM_JSON_INVALID ) eKind = STREAM_JSON_ARRAY;
      p = streamJsonSkipSpace(p+1, pEnd);
      if( p>=pEnd ) goto invalid;
      if( *p==']' ){
        p++;
        iDepth--;
        goto after_value;
      }
      goto value;

    case '"':
      p = streamJsonString(p+1, pEnd);
      eVal = STREAM_JSON_STRING;
      break;

    case '-': case '0': case '1': case '2': case '3': case '4':
    case '5': case '6': case '7': case '8': case '9':
      p = streamJsonNumber(p, pEnd);
      eVal = STREAM_JSON_NUMBER;
      break;

    case 't':
      if( !streamJsonLiteral(p, pEnd, "true", 4) ) goto invalid;
      p += 4;
      eVal = STREAM_JSON_TRUE;
      break;

    case 'f':
      if( !streamJsonLiteral(p, pEnd, "false", 5) ) goto invalid;
      p += 5;
      eVal = STREAM_JSON_FALSE;
      break;

    case 'n':
      if( !streamJsonLiteral(p, pEnd, "null", 4) ) goto invalid;
      p += 4;
      eVal = STREAM_JSON_NULL;
      break;

    default:
      goto invalid;
  }
  if( p==0 ) goto invalid;
  if( eKind==STREAM_JSON_INVALID ) eKind = eVal;

  /* A value (scalar, or a container just closed) has ended at p. */
after_value:
  if( iDepth==0 ){
    p = streamJsonSkipSpace(p, pEnd);
    if( p==pEnd ) return eKind;
    goto invalid;
  }
  p = streamJsonSkipSpace(p, pEnd);
  if( p>=pEnd ) goto invalid;
  if( aStack[(iDepth-1)>>3] & (1 << ((iDepth-1)&7)) ){
    /* Inside an object */
    if( *p==',' ){
      p = streamJsonSkipSpace(p+1, pEnd);
      goto member;
    }
    if( *p=='}' ){
      p++;
      iDepth--;
      goto after_value;
    }
    goto invalid;
  }else{
    /* Inside an array */
    if( *p==',' ){
      p++;
      goto value;
    }
    if( *p==']' ){
      p++;
      iDepth--;
      goto after_value;
    }
    goto invalid;
  }

  /* p is at the start of an object member (whitespace already skipped):
  ** a string key, ':', then the value. */
member:
  if( p>=pEnd || *p!='"' ) goto invalid;
  pTok = p;
  p = streamJsonString(p+1, pEnd);
  if( p==0 ) goto invalid;
  p = streamJsonSkipSpace(p, pEnd);
  if( p>=pEnd || *p!=':' ) goto invalid;
  p++;
  goto value;

too_deep:
  if( pbDeep ) *pbDeep = 1;
invalid:
  if( piErr ) *piErr = z ? (size_t)((p ? p : pTok) - (const u8*)z) : 0;
  return STREAM_JSON_INVALID;
}

int sqlite3StreamJsonCheck(const char *z, size_t n){
  return streamJsonParse(z, n, 0, 0);
}

/*
** True if the n bytes at z are rejected only because their arrays and
** objects nest deeper than STREAM_JSON_MAX_DEPTH (for error messages).
*/
int sqlite3StreamJsonTooDeep(const char *z, size_t n){
  int bDeep = 0;
  streamJsonParse(z, n, 0, &bDeep);
  return bDeep;
}

/*
** Where the n bytes at z, which sqlite3StreamJsonCheck() rejects, stop
** being JSON, for an error message: 'near offset 12: "...."' (up to 16
** bytes from there, not cutting a UTF-8 character) or 'it ends too early,
** at offset 3'.  From sqlite3_mprintf(): NULL when out of memory.
*/
char *sqlite3StreamJsonErrWhere(const char *z, size_t n){
  size_t iErr = 0;
  int nShow, bDeep = 0;
  int eKind = streamJsonParse(z, n, &iErr, &bDeep);
  if( eKind==STREAM_JSON_INVALID && bDeep ){
    return sqlite3_mprintf("arrays and objects nest deeper than %d levels,"
                           " at offset %lld", STREAM_JSON_MAX_DEPTH, (i64)iErr);
  }
  if( eKind!=STREAM_JSON_INVALID || iErr>=n ){
    return sqlite3_mprintf("it ends too early, at offset %lld", (i64)n);
  }
  nShow = n-iErr>16 ? 16 : (int)(n-iErr);
  while( nShow>0 && iErr+(size_t)nShow<n
      && (((const u8*)z)[iErr+(size_t)nShow] & 0xc0)==0x80 ){
    nShow--;
  }
  return sqlite3_mprintf("near offset %lld: \"%.*s\"", (i64)iErr, nShow,
                         z+iErr);
}

/*
** Append the JSON string literal for the n bytes at z to p: a '"', the
** text with '"', '\\' and every control character below 0x20 escaped
** (\b \f \n \r \t by name, the others as \u00XX), and a closing '"'.
** Other bytes, including UTF-8 sequences and DEL, are copied as they are:
** the caller passes UTF-8 text.  A negative n means z is NUL-terminated.
** A NULL z is quoted as the empty string.
*/
void sqlite3StreamJsonQuote(sqlite3_str *p, const char *z, int n){
  static const char aHex[] = "0123456789abcdef";
  const u8 *a = (const u8*)z;
  int i;
  int iStart = 0;                 /* First byte not yet appended */

  if( a==0 ){
    n = 0;
  }else if( n<0 ){
    n = (int)strlen(z);
  }
  sqlite3_str_appendchar(p, 1, '"');
  for(i=0; i<n; i++){
    u8 c = a[i];
    const char *zEsc;
    char zBuf[7];
    if( c>=0x20 && c!='"' && c!='\\' ) continue;
    if( i>iStart ) sqlite3_str_append(p, z+iStart, i-iStart);
    iStart = i+1;
    switch( c ){
      case '"':  zEsc = "\\\""; break;
      case '\\': zEsc = "\\\\"; break;
      case '\b': zEsc = "\\b";  break;
      case '\f': zEsc = "\\f";  break;
      case '\n': zEsc = "\\n";  break;
      case '\r': zEsc = "\\r";  break;
      case '\t': zEsc = "\\t";  break;
      default:
        zBuf[0] = '\\';
        zBuf[1] = 'u';
        zBuf[2] = '0';
        zBuf[3] = '0';
        zBuf[4] = aHex[c>>4];
        zBuf[5] = aHex[c&0xf];
        zBuf[6] = 0;
        zEsc = zBuf;
        break;
    }
    sqlite3_str_appendall(p, zEsc);
  }
  if( n>iStart ) sqlite3_str_append(p, z+iStart, n-iStart);
  sqlite3_str_appendchar(p, 1, '"');
}

/*
** True if the n bytes at z are valid UTF-8: no stray continuation byte,
** no truncated or overlong sequence, no surrogate, nothing above
** U+10FFFF.  NUL bytes are valid.
*/
int sqlite3StreamUtf8Check(const char *z, size_t n){
  const u8 *a = (const u8*)z;
  size_t i = 0;
  while( i<n ){
    u8 c = a[i];
    size_t k, len;
    uint32_t cp;
    if( c<0x80 ){ i++; continue; }
    if( c>=0xc2 && c<=0xdf ){ len = 2; cp = c & 0x1f; }
    else if( c>=0xe0 && c<=0xef ){ len = 3; cp = c & 0x0f; }
    else if( c>=0xf0 && c<=0xf4 ){ len = 4; cp = c & 0x07; }
    else return 0;
    if( n-i<len ) return 0;
    for(k=1; k<len; k++){
      if( (a[i+k] & 0xc0)!=0x80 ) return 0;
      cp = (cp<<6) | (a[i+k] & 0x3f);
    }
    if( (len==3 && cp<0x800) || (len==4 && (cp<0x10000 || cp>0x10ffff))
     || (cp>=0xd800 && cp<=0xdfff) ){
      return 0;
    }
    i += len;
  }
  return 1;
}

/**************************************************************************
** The JSON tree: parse (strict, as sqlite3StreamJsonCheck()), build,
** look up, print.  Every allocation is sqlite3_malloc64(), freed by
** sqlite3StreamJsonFree() (trees) or sqlite3_free() (printed text), so
** nothing here touches a process-wide allocator setting.
*/

/* A new node of kind eType, or NULL when out of memory. */
StreamJson *sqlite3StreamJsonNew(int eType){
  StreamJson *p = sqlite3_malloc64(sizeof(*p));
  if( p ){
    memset(p, 0, sizeof(*p));
    p->eType = eType;
  }
  return p;
}

void sqlite3StreamJsonFree(StreamJson *p){
  while( p ){
    StreamJson *pNext = p->pNext;
    if( p->eType!=STREAM_JSON_REF ) sqlite3StreamJsonFree(p->pChild);
    sqlite3_free(p->zKey);
    sqlite3_free(p->zValue);
    sqlite3_free(p);
    p = pNext;
  }
}

int sqlite3StreamJsonType(const StreamJson *p){
  return p ? p->eType : STREAM_JSON_INVALID;
}

/* A string (eType STREAM_JSON_STRING) or raw (STREAM_JSON_RAW) node
** holding a copy of z. */
static StreamJson *streamJsonNewText(int eType, const char *z){
  StreamJson *p;
  if( z==0 ) return 0;
  p = sqlite3StreamJsonNew(eType);
  if( p && (p->zValue = sqlite3_mprintf("%s", z))==0 ){
    sqlite3_free(p);
    p = 0;
  }
  return p;
}
StreamJson *sqlite3StreamJsonNewString(const char *z){
  return streamJsonNewText(STREAM_JSON_STRING, z);
}
StreamJson *sqlite3StreamJsonNewRaw(const char *z){
  return streamJsonNewText(STREAM_JSON_RAW, z);
}
StreamJson *sqlite3StreamJsonNewNumber(double r){
  StreamJson *p = sqlite3StreamJsonNew(STREAM_JSON_NUMBER);
  if( p ) p->rValue = r;
  return p;
}
StreamJson *sqlite3StreamJsonNewRef(const StreamJson *pTarget){
  StreamJson *p = sqlite3StreamJsonNew(STREAM_JSON_REF);
  if( p ) p->pChild = (StreamJson*)pTarget;
  return p;
}
StreamJson *sqlite3StreamJsonNewStringArray(const char *const *az, int n){
  StreamJson *pArr = sqlite3StreamJsonNew(STREAM_JSON_ARRAY);
  int i;
  for(i=0; pArr && i<n; i++){
    StreamJson *pStr = sqlite3StreamJsonNewString(az[i]);
    if( !sqlite3StreamJsonAppend(pArr, pStr) ){
      sqlite3StreamJsonFree(pStr);
      sqlite3StreamJsonFree(pArr);
      pArr = 0;
    }
  }
  return pArr;
}

int sqlite3StreamJsonAppend(StreamJson *pArr, StreamJson *pItem){
  if( pArr==0 || pItem==0 || pArr==pItem ) return 0;
  pItem->pNext = 0;
  if( pArr->pChild==0 ){
    pArr->pChild = pItem;
  }else{
    pArr->pLast->pNext = pItem;
  }
  pArr->pLast = pItem;
  return 1;
}

int sqlite3StreamJsonAdd(StreamJson *pObj, const char *zKey,
                         StreamJson *pItem){
  char *z;
  if( pItem==0 || pObj==pItem ) return 0;
  if( pObj==0 || zKey==0 || (z = sqlite3_mprintf("%s", zKey))==0 ){
    sqlite3StreamJsonFree(pItem);         /* not taken: freed */
    return 0;
  }
  sqlite3_free(pItem->zKey);
  pItem->zKey = z;
  return sqlite3StreamJsonAppend(pObj, pItem);
}

/* Add pItem to pObj under zKey and return it; free it and return NULL if
** that fails. */
static StreamJson *streamJsonAddOrFree(StreamJson *pObj, const char *zKey,
                                       StreamJson *pItem){
  return sqlite3StreamJsonAdd(pObj, zKey, pItem) ? pItem : 0;
}
StreamJson *sqlite3StreamJsonAddNew(StreamJson *pObj, const char *zKey,
                                    int eType){
  return streamJsonAddOrFree(pObj, zKey, sqlite3StreamJsonNew(eType));
}
StreamJson *sqlite3StreamJsonAddString(StreamJson *pObj, const char *zKey,
                                       const char *z){
  return streamJsonAddOrFree(pObj, zKey, sqlite3StreamJsonNewString(z));
}
StreamJson *sqlite3StreamJsonAddNumber(StreamJson *pObj, const char *zKey,
                                       double r){
  return streamJsonAddOrFree(pObj, zKey, sqlite3StreamJsonNewNumber(r));
}
StreamJson *sqlite3StreamJsonAddBool(StreamJson *pObj, const char *zKey,
                                     int b){
  return sqlite3StreamJsonAddNew(pObj, zKey,
                                 b ? STREAM_JSON_TRUE : STREAM_JSON_FALSE);
}

/* The first member of pObj named zKey (bNoCase: ASCII case ignored), and
** the member before it in *ppPrev. */
static StreamJson *streamJsonFind(const StreamJson *pObj, const char *zKey,
                                  int bNoCase, StreamJson **ppPrev){
  StreamJson *p, *pPrev = 0;
  if( pObj==0 || zKey==0 || pObj->eType==STREAM_JSON_REF ) return 0;
  for(p=pObj->pChild; p; pPrev=p, p=p->pNext){
    if( p->zKey==0 ) continue;
    if( bNoCase ? sqlite3_stricmp(p->zKey, zKey)==0
                : strcmp(p->zKey, zKey)==0 ){
      break;
    }
  }
  if( ppPrev ) *ppPrev = pPrev;
  return p;
}
StreamJson *sqlite3StreamJsonGet(const StreamJson *pObj, const char *zKey){
  return streamJsonFind(pObj, zKey, 0, 0);
}
StreamJson *sqlite3StreamJsonGetNoCase(const StreamJson *pObj,
                                       const char *zKey){
  return streamJsonFind(pObj, zKey, 1, 0);
}

/* Unlink p (whose predecessor is pPrev) from pParent's children. */
static void streamJsonUnlink(StreamJson *pParent, StreamJson *pPrev,
                             StreamJson *p){
  if( pPrev ) pPrev->pNext = p->pNext;
  else pParent->pChild = p->pNext;
  if( pParent->pLast==p ) pParent->pLast = pPrev;
  p->pNext = 0;
}

void sqlite3StreamJsonRemove(StreamJson *pObj, const char *zKey){
  StreamJson *pPrev;
  StreamJson *p = streamJsonFind(pObj, zKey, 0, &pPrev);
  if( p ){
    streamJsonUnlink(pObj, pPrev, p);
    sqlite3StreamJsonFree(p);
  }
}

/* Remove and free the first item of array pArr, if any. */
void sqlite3StreamJsonRemoveFirst(StreamJson *pArr){
  StreamJson *p = pArr ? pArr->pChild : 0;
  if( p && pArr->eType!=STREAM_JSON_REF ){
    streamJsonUnlink(pArr, 0, p);
    sqlite3StreamJsonFree(p);
  }
}

int sqlite3StreamJsonReplace(StreamJson *pObj, const char *zKey,
                             StreamJson *pNew){
  StreamJson *pPrev;
  StreamJson *p = streamJsonFind(pObj, zKey, 0, &pPrev);
  char *z;
  if( p==0 || pNew==0 ) return 0;
  if( (z = sqlite3_mprintf("%s", zKey))==0 ) return 0;
  sqlite3_free(pNew->zKey);
  pNew->zKey = z;
  pNew->pNext = p->pNext;
  if( pPrev ) pPrev->pNext = pNew;
  else pObj->pChild = pNew;
  if( pObj->pLast==p ) pObj->pLast = pNew;
  p->pNext = 0;
  sqlite3StreamJsonFree(p);
  return 1;
}

int sqlite3StreamJsonCount(const StreamJson *pArr){
  const StreamJson *p;
  int n = 0;
  STREAM_JSON_FOREACH(p, pArr) n++;
  return n;
}

StreamJson *sqlite3StreamJsonAt(const StreamJson *pArr, int i){
  StreamJson *p;
  if( i<0 ) return 0;
  STREAM_JSON_FOREACH(p, pArr){
    if( i--==0 ) return p;
  }
  return 0;
}

StreamJson *sqlite3StreamJsonCopy(const StreamJson *p){
  StreamJson *pNew;
  const StreamJson *pC;
  if( p==0 ) return 0;
  pNew = sqlite3StreamJsonNew(p->eType);
  if( pNew==0 ) return 0;
  pNew->rValue = p->rValue;
  if( (p->zValue && (pNew->zValue = sqlite3_mprintf("%s", p->zValue))==0)
   || (p->zKey && (pNew->zKey = sqlite3_mprintf("%s", p->zKey))==0) ){
    sqlite3StreamJsonFree(pNew);
    return 0;
  }
  if( p->eType==STREAM_JSON_REF ){
    pNew->pChild = p->pChild;
    return pNew;
  }
  STREAM_JSON_FOREACH(pC, p){
    StreamJson *pCopy = sqlite3StreamJsonCopy(pC);
    if( pCopy==0 ){
      sqlite3StreamJsonFree(pNew);
      return 0;
    }
    sqlite3StreamJsonAppend(pNew, pCopy);
  }
  return pNew;
}

/* Append the UTF-8 encoding of code point c at z; return its length. */
static int streamJsonUtf8(u8 *z, u32 c){
  if( c<0x80 ){ z[0] = (u8)c; return 1; }
  if( c<0x800 ){
    z[0] = (u8)(0xc0 | (c>>6));
    z[1] = (u8)(0x80 | (c & 0x3f));
    return 2;
  }
  if( c<0x10000 ){
    z[0] = (u8)(0xe0 | (c>>12));
    z[1] = (u8)(0x80 | ((c>>6) & 0x3f));
    z[2] = (u8)(0x80 | (c & 0x3f));
    return 3;
  }
  z[0] = (u8)(0xf0 | (c>>18));
  z[1] = (u8)(0x80 | ((c>>12) & 0x3f));
  z[2] = (u8)(0x80 | ((c>>6) & 0x3f));
  z[3] = (u8)(0x80 | (c & 0x3f));
  return 4;
}

/* The string whose opening '"' is at *pp (valid JSON), unescaped, in a
** new buffer; *pp moves past its closing '"'.  NULL when out of memory. */
static char *streamJsonDecode(const u8 **pp, const u8 *pEnd){
  const u8 *p = *pp + 1;
  const u8 *pClose = streamJsonString(p, pEnd) - 1;
  u8 *zOut = sqlite3_malloc64((u64)(pClose - p) + 1);
  int i = 0;
  *pp = pClose + 1;
  if( zOut==0 ) return 0;
  while( p<pClose ){
    if( *p!='\\' ){
      zOut[i++] = *p++;
      continue;
    }
    switch( p[1] ){
      case 'b': zOut[i++] = '\b'; break;
      case 'f': zOut[i++] = '\f'; break;
      case 'n': zOut[i++] = '\n'; break;
      case 'r': zOut[i++] = '\r'; break;
      case 't': zOut[i++] = '\t'; break;
      case 'u': {
        u32 c = (u32)streamJsonHex4(p+2);
        if( c==0 ){
          /* Every user takes the result as a C string, where a NUL would
          ** end it early: the key "retention.ms\u0000x" would set
          ** retention.ms, the topic "t\u0000x" be the topic "t".  So
          ** \u0000 stays the six characters it was written as (each user
          ** then refuses the name or value as unknown, with the escape in
          ** the message). */
          memcpy(&zOut[i], p, 6);
          i += 6;
          p += 4;
          break;
        }
        if( c>=0xd800 && c<=0xdbff ){
          u32 w = (u32)streamJsonHex4(p+8);
          c = 0x10000 + ((c - 0xd800)<<10) + (w - 0xdc00);
          p += 6;
        }
        i += streamJsonUtf8(&zOut[i], c);
        p += 4;
        break;
      }
      default:  zOut[i++] = p[1]; break;     /* '"', '\\', '/' */
    }
    p += 2;
  }
  zOut[i] = 0;
  return (char*)zOut;
}

/*
** JSON numbers use '.', strtod() and printf() the decimal point of the
** C locale in force, which a host program may have set (LC_NUMERIC=de_DE
** reads "0.5" as 0): swap the two, as cJSON did.
*/
static char streamJsonDecimalPoint(void){
  const struct lconv *pL = localeconv();
  return (pL && pL->decimal_point && pL->decimal_point[0])
       ? pL->decimal_point[0] : '.';
}
static void streamJsonSwapPoint(char *z, char cFrom, char cTo){
  if( cFrom==cTo ) return;
  for(; *z; z++){
    if( *z==cFrom ) *z = cTo;
  }
}

/* The value at *pp (valid JSON, nesting bounded by the check), as a new
** node; *pp moves past it.  NULL when out of memory. */
static StreamJson *streamJsonBuild(const u8 **pp, const u8 *pEnd){
  const u8 *p = streamJsonSkipSpace(*pp, pEnd);
  StreamJson *pNode = 0;
  switch( *p ){
    case '{': case '[': {
      int bObj = *p=='{';
      pNode = sqlite3StreamJsonNew(bObj ? STREAM_JSON_OBJECT
                                        : STREAM_JSON_ARRAY);
      if( pNode==0 ) return 0;
      p = streamJsonSkipSpace(p+1, pEnd);
      while( *p!='}' && *p!=']' ){
        char *zKey = 0;
        StreamJson *pItem;
        if( bObj ){
          zKey = streamJsonDecode(&p, pEnd);
          if( zKey==0 ) goto oom;
          p = streamJsonSkipSpace(p, pEnd) + 1;      /* past ':' */
        }
        pItem = streamJsonBuild(&p, pEnd);
        if( pItem==0 ){ sqlite3_free(zKey); goto oom; }
        pItem->zKey = zKey;
        sqlite3StreamJsonAppend(pNode, pItem);
        p = streamJsonSkipSpace(p, pEnd);
        if( *p==',' ) p = streamJsonSkipSpace(p+1, pEnd);
      }
      p++;
      break;
    }
    case '"':
      pNode = sqlite3StreamJsonNew(STREAM_JSON_STRING);
      if( pNode==0 || (pNode->zValue = streamJsonDecode(&p, pEnd))==0 ){
        goto oom;
      }
      break;
    case 't': pNode = sqlite3StreamJsonNew(STREAM_JSON_TRUE);  p += 4; break;
    case 'f': pNode = sqlite3StreamJsonNew(STREAM_JSON_FALSE); p += 5; break;
    case 'n': pNode = sqlite3StreamJsonNew(STREAM_JSON_NULL);  p += 4; break;
    default: {                                            /* a number */
      const u8 *pNumEnd = streamJsonNumber(p, pEnd);
      char *zNum = sqlite3_mprintf("%.*s", (int)(pNumEnd - p), p);
      if( zNum ){
        streamJsonSwapPoint(zNum, '.', streamJsonDecimalPoint());
        pNode = sqlite3StreamJsonNewNumber(strtod(zNum, 0));
        streamJsonSwapPoint(zNum, streamJsonDecimalPoint(), '.');
        /* The literal as written: integers beyond 2^53 stay exact for
        ** a reader that needs them (ext/config.c). */
        if( pNode ){ pNode->zValue = zNum; zNum = 0; }
      }
      sqlite3_free(zNum);
      p = pNumEnd;
      break;
    }
  }
  *pp = p;
  return pNode;
 oom:
  sqlite3StreamJsonFree(pNode);
  return 0;
}

StreamJson *sqlite3StreamJsonParse(const char *z, i64 n){
  const u8 *p = (const u8*)z;
  if( z==0 ) return 0;
  if( n<0 ) n = (i64)strlen(z);
  if( streamJsonParse(z, (size_t)n, 0, 0)==STREAM_JSON_INVALID ) return 0;
  return streamJsonBuild(&p, p + n);
}

/* A number as cJSON prints it, which the files written so far use: an
** integer that fits in an int as such, else the shortest of %1.15g and
** %1.17g that reads back as the same double (to a relative epsilon);
** NaN and infinities as null. */
static void streamJsonPrintNumber(sqlite3_str *pStr, double r){
  char zBuf[32];
  int iv;
  if( r!=r || r>DBL_MAX || r<-DBL_MAX ){
    sqlite3_str_appendall(pStr, "null");
    return;
  }
  iv = r>=(double)INT_MAX ? INT_MAX : r<=(double)INT_MIN ? INT_MIN : (int)r;
  if( r==(double)iv ){
    snprintf(zBuf, sizeof(zBuf), "%d", iv);
  }else{
    double t, rAbs = r<0 ? -r : r, tAbs, rDiff, rMax;
    snprintf(zBuf, sizeof(zBuf), "%1.15g", r);
    t = strtod(zBuf, 0);                  /* (in the locale's own form) */
    tAbs = t<0 ? -t : t;
    rDiff = t>r ? t-r : r-t;
    rMax = tAbs>rAbs ? tAbs : rAbs;
    if( !(rDiff<=rMax*DBL_EPSILON) ) snprintf(zBuf, sizeof(zBuf), "%1.17g", r);
    streamJsonSwapPoint(zBuf, streamJsonDecimalPoint(), '.');
  }
  sqlite3_str_appendall(pStr, zBuf);
}

/* Append p to pStr: compact, or (bFormat) cJSON's layout: one member of
** an object a line, indented by tabs, "key":<tab>value; arrays on one
** line, ", " between items. */
static void streamJsonPrintNode(sqlite3_str *pStr, const StreamJson *p,
                                int bFormat, int iDepth){
  const StreamJson *pC;
  int bObj;
  switch( p->eType ){
    case STREAM_JSON_NULL:  sqlite3_str_appendall(pStr, "null"); return;
    case STREAM_JSON_TRUE:  sqlite3_str_appendall(pStr, "true"); return;
    case STREAM_JSON_FALSE: sqlite3_str_appendall(pStr, "false"); return;
    case STREAM_JSON_NUMBER: streamJsonPrintNumber(pStr, p->rValue); return;
    case STREAM_JSON_RAW:
      if( p->zValue ) sqlite3_str_appendall(pStr, p->zValue);
      return;
    case STREAM_JSON_STRING: sqlite3StreamJsonQuote(pStr, p->zValue, -1);
      return;
    case STREAM_JSON_REF:
      if( p->pChild ) streamJsonPrintNode(pStr, p->pChild, bFormat, iDepth);
      return;
  }
  bObj = p->eType==STREAM_JSON_OBJECT;
  sqlite3_str_appendchar(pStr, 1, bObj ? '{' : '[');
  if( bObj && bFormat ) sqlite3_str_appendchar(pStr, 1, '\n');
  STREAM_JSON_FOREACH(pC, p){
    if( bObj ){
      if( bFormat ) sqlite3_str_appendchar(pStr, iDepth+1, '\t');
      sqlite3StreamJsonQuote(pStr, pC->zKey, -1);
      sqlite3_str_append(pStr, ":\t", bFormat ? 2 : 1);
    }
    streamJsonPrintNode(pStr, pC, bFormat, iDepth+1);
    if( pC->pNext ){
      sqlite3_str_append(pStr, ", ", bFormat && !bObj ? 2 : 1);
    }
    if( bObj && bFormat ) sqlite3_str_appendchar(pStr, 1, '\n');
  }
  if( bObj && bFormat ) sqlite3_str_appendchar(pStr, iDepth, '\t');
  sqlite3_str_appendchar(pStr, 1, bObj ? '}' : ']');
}

char *sqlite3StreamJsonPrint(const StreamJson *p, int bFormat){
  sqlite3_str *pStr;
  if( p==0 ) return 0;
  pStr = sqlite3_str_new(0);
  streamJsonPrintNode(pStr, p, bFormat, 0);
  return sqlite3_str_finish(pStr);
}

/*
** An integer from a JSON number or a numeric string node: 1 and *piOut,
** or 0 if it is not an integer.  An integer literal is read exactly
** (a double keeps 53 bits: 9007199254740993 would become ...992); one
** written with a fraction or an exponent (5.0, 1e3) must be whole and
** exact as a double (at most 2^53).  A literal beyond 64 bits sets
** *pbRange (the caller's error names the limits) and returns 0.  Used
** for topic configs (ext/config.c) and join options (ext/group.c).
*/
int sqlite3StreamJsonInt(const StreamJson *pVal, i64 *piOut, int *pbRange){
  const char *z = 0;
  *pbRange = 0;
  if( sqlite3StreamJsonIsNumber(pVal) ){
    double r = pVal->rValue;
    z = pVal->zValue;
    if( z==0 || strpbrk(z, ".eE")!=0 ){
      if( !isfinite(r) || r!=floor(r) ) return 0;
      if( r>9007199254740992.0 || r<-9007199254740992.0 ){
        *pbRange = 1;
        return 0;
      }
      *piOut = (i64)r;
      return 1;
    }
  }else if( sqlite3StreamJsonIsString(pVal) || sqlite3StreamJsonIsRaw(pVal) ){
    z = pVal->zValue;
  }
  if( z && z[0] ){
    char *zEnd = 0;
    long long v;
    errno = 0;
    v = strtoll(z, &zEnd, 10);
    if( *zEnd || zEnd==z ) return 0;
    if( errno==ERANGE ){ *pbRange = 1; return 0; }
    if( errno ) return 0;
    *piOut = (i64)v;
    return 1;
  }
  return 0;
}

int sqlite3StreamJsonSpace(char c){
  return c==' ' || (c>='\t' && c<='\r');
}

int sqlite3StreamJsonTrimmed(const StreamJson *pVal, StreamJson *pTmp){
  const char *z;
  size_t n;
  if( !sqlite3StreamJsonIsString(pVal) ) return 0;
  z = pVal->zValue;
  n = strlen(z);
  if( n==0 || (!sqlite3StreamJsonSpace(z[0])
               && !sqlite3StreamJsonSpace(z[n-1])) ){
    return 0;
  }
  while( n>0 && sqlite3StreamJsonSpace(z[0]) ){ z++; n--; }
  while( n>0 && sqlite3StreamJsonSpace(z[n-1]) ) n--;
  *pTmp = *pVal;                     /* (pNext too: a loop goes on) */
  pTmp->zValue = sqlite3_mprintf("%.*s", (int)n, z);
  return pTmp->zValue ? 1 : -1;
}
