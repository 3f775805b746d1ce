/*
** test_json.c - unit test of ext/json.c.
**
** A table of documents with the kind sqlite3StreamJsonCheck() must report
** (valid) or STREAM_JSON_INVALID: structure, numbers, literals, escapes,
** surrogates, UTF-8 edge cases (overlongs, encoded surrogates, > U+10FFFF,
** truncation), control characters, whitespace, lengths that cut a buffer
** short, and nesting at STREAM_JSON_MAX_DEPTH and one beyond.  Then
** sqlite3StreamJsonQuote(): exact output for fixed inputs, and round trips
** (quote, validate, unquote) for every byte value and for UTF-8 text.
** Then sqlite3StreamJsonErrWhere(): the offset and excerpt of a fault.
** Last, the JSON tree (testTree()).
**
**   gcc -std=c11 -Wall -Wextra -DSQLITE_CORE -Iext \
**       test/unit/test_json.c ext/json.c -lsqlite3 -o test_json
**
** The last line printed is "N passed, N failed"; the exit code is non-zero
** if anything failed.
*/
#include "streamInt.h"
#include <locale.h>
#include <stdio.h>
#include <string.h>

static int nPass = 0;
static int nFail = 0;

#define INV STREAM_JSON_INVALID
#define OBJ STREAM_JSON_OBJECT
#define ARR STREAM_JSON_ARRAY
#define STR STREAM_JSON_STRING
#define NUM STREAM_JSON_NUMBER
#define TRU STREAM_JSON_TRUE
#define FAL STREAM_JSON_FALSE
#define NUL STREAM_JSON_NULL

/* One case: n<0 means strlen(z); otherwise exactly n bytes (which may hold
** NULs or stop short of the literal's end). */
static const struct JsonCase {
  const char *z;
  int n;
  int eWant;
  const char *zWhat;
} aCase[] = {
  /* Scalars and empty containers */
  { "{}", -1, OBJ, "empty object" },
  { "[]", -1, ARR, "empty array" },
  { "\"\"", -1, STR, "empty string" },
  { "\"abc\"", -1, STR, "string" },
  { "true", -1, TRU, "true" },
  { "false", -1, FAL, "false" },
  { "null", -1, NUL, "null" },
  { "0", -1, NUM, "zero" },

  /* Numbers */
  { "-0", -1, NUM, "negative zero" },
  { "1", -1, NUM, "one digit" },
  { "-1", -1, NUM, "negative" },
  { "1234567890", -1, NUM, "integer" },
  { "1.5", -1, NUM, "fraction" },
  { "0.0001", -1, NUM, "fraction after 0" },
  { "-1.5e10", -1, NUM, "exponent" },
  { "1e5", -1, NUM, "e" },
  { "1E5", -1, NUM, "E" },
  { "1e+5", -1, NUM, "e+" },
  { "1E-05", -1, NUM, "E- with leading zero in exponent" },
  { "0e0", -1, NUM, "0e0" },
  { "123456789012345678901234567890e-999", -1, NUM, "huge mantissa" },
  { "[0,-0,0.5,-0.5e-0]", -1, ARR, "numbers in array" },
  { "01", -1, INV, "leading zero" },
  { "-01", -1, INV, "negative leading zero" },
  { "00", -1, INV, "double zero" },
  { "+1", -1, INV, "leading plus" },
  { "-", -1, INV, "minus alone" },
  { "--1", -1, INV, "double minus" },
  { ".5", -1, INV, "no integer part" },
  { "1.", -1, INV, "empty fraction" },
  { "1.e5", -1, INV, "empty fraction before e" },
  { "1e", -1, INV, "empty exponent" },
  { "1e+", -1, INV, "empty signed exponent" },
  { "1e5.5", -1, INV, "fractional exponent" },
  { "-a", -1, INV, "minus letter" },
  { "0x10", -1, INV, "hex" },
  { "1_000", -1, INV, "digit separator" },
  { "NaN", -1, INV, "NaN" },
  { "Infinity", -1, INV, "Infinity" },
  { "-Infinity", -1, INV, "-Infinity" },
  { "[01]", -1, INV, "leading zero in array" },
  { "[1.]", -1, INV, "empty fraction in array" },
  { "- 1", -1, INV, "space after minus" },

  /* Literals */
  { "tru", -1, INV, "truncated true" },
  { "True", -1, INV, "capital True" },
  { "nul", -1, INV, "truncated null" },
  { "nulll", -1, INV, "null plus l" },
  { "falsey", -1, INV, "false plus y" },
  { "undefined", -1, INV, "undefined" },
  { "truex", 4, TRU, "true, n cuts off the x" },
  { "true", 3, INV, "true cut short by n" },

  /* Whitespace and what surrounds the value */
  { "", -1, INV, "empty input" },
  { " ", -1, INV, "space only" },
  { " \t\r\n", -1, INV, "whitespace only" },
  { "  {} ", -1, OBJ, "spaces around" },
  { "\t\n\r[1]\r\n\t ", -1, ARR, "all four whitespace characters" },
  { "\f{}", -1, INV, "form feed is not whitespace" },
  { "\v1", -1, INV, "vertical tab is not whitespace" },
  { "\xc2\xa0" "1", -1, INV, "NBSP is not whitespace" },
  { "\xef\xbb\xbf{}", -1, INV, "byte-order mark" },
  { "1 2", -1, INV, "two numbers" },
  { "{} {}", -1, INV, "two objects" },
  { "{}x", -1, INV, "garbage after" },
  { "1\0", 2, INV, "NUL after value" },
  { "{}\0", 3, INV, "NUL after object" },
  { "[1]", 2, INV, "array cut short by n" },
  { "123abc", 3, NUM, "number, n stops before letters" },
  { "\"a\"", 2, INV, "string cut short by n" },

  /* Structure */
  { "{\"a\":1}", -1, OBJ, "one member" },
  { "{\"a\":{\"b\":[1,2,{\"c\":null}]},\"d\":\"e\"}", -1, OBJ, "nested" },
  { "[1, \"two\", true, false, null, {}, [], -0.5]", -1, ARR, "mixed" },
  { " { \"a\" : 1 , \"b\" : [ ] } ", -1, OBJ, "spaces everywhere" },
  { "{\"a\":1,\"a\":2}", -1, OBJ, "duplicate key allowed" },
  { "{\"\":\"\"}", -1, OBJ, "empty key" },
  { "[[[]],[[]]]", -1, ARR, "nested arrays" },
  { "{", -1, INV, "open brace" },
  { "}", -1, INV, "close brace" },
  { "[", -1, INV, "open bracket" },
  { "]", -1, INV, "close bracket" },
  { "[1,]", -1, INV, "trailing comma in array" },
  { "[,1]", -1, INV, "leading comma in array" },
  { "[1,,2]", -1, INV, "double comma" },
  { "[1 2]", -1, INV, "missing comma" },
  { "{,}", -1, INV, "comma in empty object" },
  { "{\"a\":1,}", -1, INV, "trailing comma in object" },
  { "{\"a\"}", -1, INV, "key without value" },
  { "{\"a\":}", -1, INV, "colon without value" },
  { "{\"a\" 1}", -1, INV, "missing colon" },
  { "{\"a\"::1}", -1, INV, "double colon" },
  { "{a:1}", -1, INV, "bare key" },
  { "{'a':1}", -1, INV, "single-quoted key" },
  { "{1:2}", -1, INV, "number key" },
  { "{null:2}", -1, INV, "null key" },
  { "{\"a\":1 \"b\":2}", -1, INV, "missing comma in object" },
  { "[}", -1, INV, "mismatched close" },
  { "{]", -1, INV, "mismatched close 2" },
  { "[[]", -1, INV, "unclosed inner" },
  { "[]]", -1, INV, "extra close" },
  { "[1", -1, INV, "unterminated array" },
  { "{\"a\":1", -1, INV, "unterminated object" },
  { "{\"a\":[1}", -1, INV, "object closes array" },
  { "/* c */ 1", -1, INV, "comment" },
  { "[1] // c", -1, INV, "line comment" },

  /* Strings and escapes */
  { "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", -1, STR, "all short escapes" },
  { "\"\\u0041\"", -1, STR, "\\u0041" },
  { "\"\\u00e9\\u00E9\"", -1, STR, "lower and upper hex" },
  { "\"\\u0000\"", -1, STR, "escaped NUL" },
  { "\"\\uFFFF\\uFFFE\"", -1, STR, "noncharacters escaped" },
  { "\"\\uD83D\\uDE00\"", -1, STR, "surrogate pair" },
  { "\"\\ud83d\\ude00\"", -1, STR, "surrogate pair, lower case" },
  { "\"\\uDBFF\\uDFFF\"", -1, STR, "last surrogate pair" },
  { "\"\\uD800\\uDC00x\"", -1, STR, "first surrogate pair then text" },
  { "\"a\\\"b\"", -1, STR, "escaped quote in the middle" },
  { "\"\\\\\"", -1, STR, "escaped backslash only" },
  { "\"abc", -1, INV, "unterminated string" },
  { "\"\\\"", -1, INV, "escaped quote, unterminated" },
  { "\"\\", -1, INV, "backslash at end" },
  { "\"\\x41\"", -1, INV, "\\x escape" },
  { "\"\\a\"", -1, INV, "\\a escape" },
  { "\"\\'\"", -1, INV, "\\' escape" },
  { "\"\\U0041\"", -1, INV, "\\U escape" },
  { "\"\\u00G0\"", -1, INV, "bad hex digit" },
  { "\"\\u12\"", -1, INV, "short \\u" },
  { "\"\\u123", -1, INV, "short \\u at end" },
  { "\"\\uD800\"", -1, INV, "lone high surrogate" },
  { "\"\\uDBFFabcdef\"", -1, INV, "high surrogate then text" },
  { "\"\\uD800\\uD800\"", -1, INV, "high surrogate twice" },
  { "\"\\uD800\\n\"", -1, INV, "high surrogate then \\n" },
  { "\"\\uD800\\u0041\"", -1, INV, "high surrogate then BMP escape" },
  { "\"\\uD800\\uDC0\"", -1, INV, "high surrogate then short escape" },
  { "\"\\uD800", -1, INV, "high surrogate at end of input" },
  { "\"\\uDC00\"", -1, INV, "lone low surrogate" },
  { "\"\\uDFFF\"", -1, INV, "lone last low surrogate" },
  { "\"\\uDE00\\uD83D\"", -1, INV, "surrogates reversed" },
  { "'abc'", -1, INV, "single quotes" },

  /* Control characters in strings */
  { "\"a\x01" "b\"", -1, INV, "raw 0x01" },
  { "\"\t\"", -1, INV, "raw tab" },
  { "\"\n\"", -1, INV, "raw newline" },
  { "\"\x1f\"", -1, INV, "raw 0x1f" },
  { "\"\0\"", 3, INV, "raw NUL" },
  { "\"a\0b\"", 5, INV, "raw NUL in the middle" },
  { "\" \x7f\"", -1, STR, "DEL is allowed" },
  { "\"0123456789abcdef\x01\"", -1, INV, "control after 8-byte run" },
  { "\"0123456789abcdef\x1f" "0123456789\"", -1, INV,
    "0x1f inside long run" },

  /* UTF-8: valid boundaries */
  { "\"\xc2\x80\"", -1, STR, "U+0080" },
  { "\"\xc3\xa9t\xc3\xa9\"", -1, STR, "e-acute" },
  { "\"\xdf\xbf\"", -1, STR, "U+07FF" },
  { "\"\xe0\xa0\x80\"", -1, STR, "U+0800" },
  { "\"\xe2\x82\xac\"", -1, STR, "euro sign" },
  { "\"\xed\x9f\xbf\"", -1, STR, "U+D7FF" },
  { "\"\xee\x80\x80\"", -1, STR, "U+E000" },
  { "\"\xef\xbf\xbf\"", -1, STR, "U+FFFF" },
  { "\"\xf0\x90\x80\x80\"", -1, STR, "U+10000" },
  { "\"\xf0\x9f\x98\x80\"", -1, STR, "emoji U+1F600" },
  { "\"\xf3\xbf\xbf\xbf\"", -1, STR, "U+FFFFF" },
  { "\"\xf4\x8f\xbf\xbf\"", -1, STR, "U+10FFFF" },
  { "{\"\xe4\xb8\xad\":\"\xe6\x96\x87\"}", -1, OBJ, "CJK key and value" },
  { "\"0123456789\xc3\xa9" "0123456789\"", -1, STR,
    "2-byte char inside long run" },

  /* UTF-8: invalid */
  { "\"\x80\"", -1, INV, "lone continuation byte" },
  { "\"\xbf\"", -1, INV, "lone continuation byte BF" },
  { "\"\xc0\x80\"", -1, INV, "overlong NUL (C0 80)" },
  { "\"\xc0\xaf\"", -1, INV, "overlong slash" },
  { "\"\xc1\xbf\"", -1, INV, "overlong C1 BF" },
  { "\"\xe0\x80\x80\"", -1, INV, "overlong 3-byte NUL" },
  { "\"\xe0\x9f\xbf\"", -1, INV, "overlong U+07FF in 3 bytes" },
  { "\"\xf0\x80\x80\x80\"", -1, INV, "overlong 4-byte NUL" },
  { "\"\xf0\x8f\xbf\xbf\"", -1, INV, "overlong U+FFFF in 4 bytes" },
  { "\"\xed\xa0\x80\"", -1, INV, "encoded high surrogate U+D800" },
  { "\"\xed\xbf\xbf\"", -1, INV, "encoded low surrogate U+DFFF" },
  { "\"\xed\xa0\xbd\xed\xb8\x80\"", -1, INV, "CESU-8 surrogate pair" },
  { "\"\xf4\x90\x80\x80\"", -1, INV, "U+110000" },
  { "\"\xf5\x80\x80\x80\"", -1, INV, "F5 lead" },
  { "\"\xf8\x88\x80\x80\x80\"", -1, INV, "5-byte form" },
  { "\"\xfe\"", -1, INV, "FE" },
  { "\"\xff\"", -1, INV, "FF" },
  { "\"\xc3\"", -1, INV, "truncated 2-byte before quote" },
  { "\"\xe2\x82\"", -1, INV, "truncated 3-byte before quote" },
  { "\"\xf0\x9f\x98\"", -1, INV, "truncated 4-byte before quote" },
  { "\"\xc3", -1, INV, "truncated 2-byte at end of input" },
  { "\"\xf0\x9f\x98", -1, INV, "truncated 4-byte at end of input" },
  { "\"\xc3\x41\"", -1, INV, "lead then ASCII" },
  { "\"\xe2\x28\xa1\"", -1, INV, "bad second byte of 3" },
  { "\"\xe2\x82\x28\"", -1, INV, "bad third byte of 3" },
  { "\"\xf0\x9f\x28\x80\"", -1, INV, "bad third byte of 4" },
  { "\"\xf0\x9f\x98\x28\"", -1, INV, "bad fourth byte of 4" },
  { "\xc3\xa9", -1, INV, "UTF-8 outside a string" },
  { "[\"\xff\"]", -1, INV, "bad byte in nested string" },
  { "{\"\xc0\x80\":1}", -1, INV, "overlong in key" },
  { "\"0123456789abcdef\xed\xa0\x80\"", -1, INV,
    "encoded surrogate after 8-byte run" },
};

static void check(int bOk, const char *zTest, const char *zDetail){
  if( bOk ){
    nPass++;
  }else{
    nFail++;
    printf("FAIL %s: %s\n", zTest, zDetail);
  }
}

static void checkKind(const char *zName, const char *z, size_t n, int eWant,
                      const char *zWhat){
  int eGot = sqlite3StreamJsonCheck(z, n);
  char zDetail[200];
  snprintf(zDetail, sizeof(zDetail), "%s: got kind %d, want %d",
           zWhat, eGot, eWant);
  check(eGot==eWant, zName, zDetail);
}

/*
** Write into aBuf (nBuf bytes) nDepth nested containers holding one
** value: arrays "[[...1...]]" if bObj==0, objects {"a":{"a":...1...}}
** otherwise.  Return the length.
*/
static size_t makeNested(char *aBuf, size_t nBuf, int nDepth, int bObj){
  size_t n = 0;
  int i;
  for(i=0; i<nDepth; i++){
    const char *zOpen = bObj ? "{\"a\":" : "[";
    size_t nOpen = strlen(zOpen);
    if( n+nOpen>=nBuf ) return 0;
    memcpy(&aBuf[n], zOpen, nOpen);
    n += nOpen;
  }
  if( n+1>=nBuf ) return 0;
  aBuf[n++] = '1';
  for(i=0; i<nDepth; i++){
    if( n+1>=nBuf ) return 0;
    aBuf[n++] = bObj ? '}' : ']';
  }
  aBuf[n] = 0;
  return n;
}

static char aBig[8*(STREAM_JSON_MAX_DEPTH+10) + 16];

static void testNesting(void){
  int d;
  size_t n;
  char zName[64];
  int aDepth[] = { 1, 2, 999, STREAM_JSON_MAX_DEPTH,
                   STREAM_JSON_MAX_DEPTH+1, STREAM_JSON_MAX_DEPTH+5 };
  int bObj;
  for(bObj=0; bObj<2; bObj++){
    for(d=0; d<(int)(sizeof(aDepth)/sizeof(aDepth[0])); d++){
      int nDepth = aDepth[d];
      int eWant = nDepth>STREAM_JSON_MAX_DEPTH ? INV : (bObj ? OBJ : ARR);
      n = makeNested(aBig, sizeof(aBig), nDepth, bObj);
      snprintf(zName, sizeof(zName), "json-nest.%s.%d",
               bObj ? "obj" : "arr", nDepth);
      checkKind(zName, aBig, n, eWant, "nesting");
    }
  }

  /* Alternating [{"a":[{"a":...}]}] at exactly the limit, and beyond. */
  for(d=STREAM_JSON_MAX_DEPTH; d<=STREAM_JSON_MAX_DEPTH+1; d++){
    int i;
    n = 0;
    for(i=0; i<d; i++){
      const char *zOpen = (i&1) ? "{\"a\":" : "[";
      size_t nOpen = strlen(zOpen);
      memcpy(&aBig[n], zOpen, nOpen);
      n += nOpen;
    }
    aBig[n++] = '0';
    for(i=d-1; i>=0; i--) aBig[n++] = (i&1) ? '}' : ']';
    snprintf(zName, sizeof(zName), "json-nest.mixed.%d", d);
    checkKind(zName, aBig, n, d>STREAM_JSON_MAX_DEPTH ? INV : ARR, "mixed");
  }

  /* Depth is about nesting, not count: 5,000 sibling arrays are fine. */
  {
    static char aWide[2 + 5000*3];
    int i;
    n = 0;
    aWide[n++] = '[';
    for(i=0; i<5000; i++){
      if( i ) aWide[n++] = ',';
      aWide[n++] = '[';
      aWide[n++] = ']';
    }
    aWide[n++] = ']';
    checkKind("json-nest.wide", aWide, n, ARR, "5000 siblings");
  }

  /* Limit depth of arrays, then unbalanced (one close missing). */
  n = makeNested(aBig, sizeof(aBig), STREAM_JSON_MAX_DEPTH, 0);
  checkKind("json-nest.unbalanced", aBig, n-1, INV, "one ] missing");
}

/* Append-and-return helper for the quote tests. */
static char *quote(const char *z, int n){
  sqlite3_str *pStr = sqlite3_str_new(0);
  sqlite3StreamJsonQuote(pStr, z, n);
  return sqlite3_str_finish(pStr);
}

/*
** Decode the JSON string literal zLit (as produced by
** sqlite3StreamJsonQuote(), so only short escapes and \u00XX appear) into
** aOut.  Return the decoded length or -1.
*/
static int unquote(const char *zLit, char *aOut, int nOut){
  int n = (int)strlen(zLit);
  int i, j = 0;
  if( n<2 || zLit[0]!='"' || zLit[n-1]!='"' ) return -1;
  for(i=1; i<n-1; i++){
    char c = zLit[i];
    if( j>=nOut ) return -1;
    if( c=='\\' ){
      c = zLit[++i];
      switch( c ){
        case '"': case '\\': case '/': aOut[j++] = c; break;
        case 'b': aOut[j++] = '\b'; break;
        case 'f': aOut[j++] = '\f'; break;
        case 'n': aOut[j++] = '\n'; break;
        case 'r': aOut[j++] = '\r'; break;
        case 't': aOut[j++] = '\t'; break;
        case 'u': {
          unsigned int v = 0;
          if( sscanf(&zLit[i+1], "%4x", &v)!=1 || v>0xff ) return -1;
          aOut[j++] = (char)v;
          i += 4;
          break;
        }
        default: return -1;
      }
    }else{
      aOut[j++] = c;
    }
  }
  return j;
}

static void testQuote(void){
  static const struct QuoteCase {
    const char *z;
    int n;
    const char *zWant;
  } aQ[] = {
    { "", 0, "\"\"" },
    { "abc", 3, "\"abc\"" },
    { "abc", -1, "\"abc\"" },
    { "abcdef", 3, "\"abc\"" },
    { "a\"b", -1, "\"a\\\"b\"" },
    { "a\\b", -1, "\"a\\\\b\"" },
    { "/", -1, "\"/\"" },
    { "\b\f\n\r\t", -1, "\"\\b\\f\\n\\r\\t\"" },
    { "\x01\x1f", -1, "\"\\u0001\\u001f\"" },
    { "a\0b", 3, "\"a\\u0000b\"" },
    { "\x7f", -1, "\"\x7f\"" },
    { "\xc3\xa9\xf0\x9f\x98\x80", -1, "\"\xc3\xa9\xf0\x9f\x98\x80\"" },
    { "\"\"", -1, "\"\\\"\\\"\"" },
    { "line1\nline2\n", -1, "\"line1\\nline2\\n\"" },
  };
  int i;
  char zName[64];
  for(i=0; i<(int)(sizeof(aQ)/sizeof(aQ[0])); i++){
    char *zGot = quote(aQ[i].z, aQ[i].n);
    snprintf(zName, sizeof(zName), "json-quote.%d", i+1);
    check(zGot && strcmp(zGot, aQ[i].zWant)==0, zName, zGot ? zGot : "NULL");
    if( zGot ){
      check(sqlite3StreamJsonCheck(zGot, strlen(zGot))==STR, zName,
            "quoted text is a valid JSON string");
    }
    sqlite3_free(zGot);
  }

  /* NULL input is the empty string. */
  {
    char *zGot = quote(0, 5);
    check(zGot && strcmp(zGot, "\"\"")==0, "json-quote.null", "NULL input");
    sqlite3_free(zGot);
  }

  /* Appends: existing content is kept. */
  {
    sqlite3_str *pStr = sqlite3_str_new(0);
    char *zGot;
    sqlite3_str_appendall(pStr, "{\"k\":");
    sqlite3StreamJsonQuote(pStr, "v\n", 2);
    sqlite3_str_appendall(pStr, "}");
    zGot = sqlite3_str_finish(pStr);
    check(zGot && strcmp(zGot, "{\"k\":\"v\\n\"}")==0, "json-quote.append",
          zGot ? zGot : "NULL");
    check(zGot && sqlite3StreamJsonCheck(zGot, strlen(zGot))==OBJ,
          "json-quote.append.check", "object");
    sqlite3_free(zGot);
  }

  /* Round trip of every byte 0x00..0x7f, each alone and all together. */
  {
    char aIn[128];
    char aOut[128];
    int bOk = 1;
    for(i=0; i<128; i++){
      char *zQ;
      int nOut;
      aIn[i] = (char)i;
      zQ = quote(&aIn[i], 1);
      nOut = zQ ? unquote(zQ, aOut, sizeof(aOut)) : -1;
      if( nOut!=1 || aOut[0]!=(char)i
       || sqlite3StreamJsonCheck(zQ, strlen(zQ))!=STR ){
        bOk = 0;
        printf("  byte 0x%02x quoted as %s\n", i, zQ ? zQ : "NULL");
      }
      sqlite3_free(zQ);
    }
    check(bOk, "json-quote.bytes", "each ASCII byte round trips");
    {
      char *zQ = quote(aIn, 128);
      int nOut = zQ ? unquote(zQ, aOut, sizeof(aOut)) : -1;
      check(nOut==128 && memcmp(aIn, aOut, 128)==0
            && sqlite3StreamJsonCheck(zQ, strlen(zQ))==STR,
            "json-quote.allbytes", "0x00..0x7f in one string");
      sqlite3_free(zQ);
    }
  }

  /* Round trip of UTF-8 text of every sequence length. */
  {
    static const char *azText[] = {
      "plain ascii",
      "caf\xc3\xa9 \xe2\x82\xac 100",
      "\xe4\xb8\xad\xe6\x96\x87\t\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e",
      "\xf0\x9f\x98\x80\xf0\x9f\x8e\x89\n\"quoted\"\\",
      ("\xc2\x80\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf\xf0\x90\x80\x80"
       "\xf4\x8f\xbf\xbf"),
    };
    for(i=0; i<(int)(sizeof(azText)/sizeof(azText[0])); i++){
      char aOut[200];
      char *zQ = quote(azText[i], -1);
      int nOut = zQ ? unquote(zQ, aOut, sizeof(aOut)) : -1;
      snprintf(zName, sizeof(zName), "json-quote.utf8.%d", i+1);
      check(zQ && sqlite3StreamJsonCheck(zQ, strlen(zQ))==STR
            && nOut==(int)strlen(azText[i])
            && memcmp(aOut, azText[i], (size_t)nOut)==0,
            zName, zQ ? zQ : "NULL");
      sqlite3_free(zQ);
    }
  }

  /* A long string with escapes spread through it. */
  {
    static char aIn[100000];
    static char aOut[100000];
    char *zQ;
    int nOut;
    for(i=0; i<(int)sizeof(aIn); i++){
      aIn[i] = (i%97==0) ? '\n' : (i%89==0) ? '"' : (char)('a' + i%26);
    }
    zQ = quote(aIn, (int)sizeof(aIn));
    nOut = zQ ? unquote(zQ, aOut, (int)sizeof(aOut)) : -1;
    check(zQ && sqlite3StreamJsonCheck(zQ, strlen(zQ))==STR
          && nOut==(int)sizeof(aIn) && memcmp(aIn, aOut, sizeof(aIn))==0,
          "json-quote.long", "100,000 bytes round trip");
    sqlite3_free(zQ);
  }
}

/* sqlite3StreamJsonErrWhere(): where rejected text stops being JSON. */
static void testErrWhere(void){
  static const struct { const char *z; const char *zWant; } a[] = {
    { "not json",          "near offset 0: \"not json\"" },
    { "{",                 "it ends too early, at offset 1" },
    { "",                  "it ends too early, at offset 0" },
    { "{\"a\":1,}",         "near offset 7: \"}\"" },
    { "{\"a\" 1}",           "near offset 5: \"1}\"" },
    { "[1, 2, tru]",       "near offset 7: \"tru]\"" },
    { "{\"a\":\"x}",         "near offset 5: \"\"x}\"" },
    { "{\"a\":01}",          "near offset 6: \"1}\"" },
    { "{} x",              "near offset 3: \"x\"" },
    { "[1, nul, \"aaaaaaaaaaaaaaaaaaaa\"]",
                           "near offset 4: \"nul, \"aaaaaaaaaa\"" },
    /* The excerpt does not cut the 2-byte e-acute at bytes 16-17. */
    { "x234567890123456\xc3\xa9", "near offset 0: \"x234567890123456\"" },
  };
  char zName[64];
  int i;
  for(i=0; i<(int)(sizeof(a)/sizeof(a[0])); i++){
    char *zGot = sqlite3StreamJsonErrWhere(a[i].z, strlen(a[i].z));
    snprintf(zName, sizeof(zName), "json-errwhere.%d", i+1);
    check(zGot && strcmp(zGot, a[i].zWant)==0, zName, zGot ? zGot : "NULL");
    sqlite3_free(zGot);
  }
}

/* Print p compactly (bFormat 0) or formatted and compare with zWant. */
static void checkPrint(const char *zName, const StreamJson *p, int bFormat,
                       const char *zWant){
  char *zGot = sqlite3StreamJsonPrint(p, bFormat);
  check(zGot && strcmp(zGot, zWant)==0, zName, zGot ? zGot : "NULL");
  sqlite3_free(zGot);
}

/*
** The JSON tree: every case of the table parses exactly when it is valid
** and prints back as a value of the same kind; exact printed text (the
** layout files written by cJSON have, numbers included: 15 significant
** digits when they read back within a relative DBL_EPSILON, which is why
** exact 64-bit integers are RAW nodes); unescaping; look
** up, remove, replace, copy, references, appends after edits.
*/
static void testTree(void){
  int i;
  char zName[64];
  int nCase = (int)(sizeof(aCase)/sizeof(aCase[0]));
  for(i=0; i<nCase; i++){
    const struct JsonCase *pC = &aCase[i];
    i64 n = pC->n<0 ? (i64)strlen(pC->z) : pC->n;
    StreamJson *p = sqlite3StreamJsonParse(pC->z, n);
    snprintf(zName, sizeof(zName), "tree-parse.%d", i+1);
    check((p!=0)==(pC->eWant!=INV), zName, pC->zWhat);
    if( p ){
      char *z = sqlite3StreamJsonPrint(p, 0);
      int eOut = z ? sqlite3StreamJsonCheck(z, strlen(z)) : INV;
      snprintf(zName, sizeof(zName), "tree-print.%d", i+1);
      /* A number too large for a double prints as null, as cJSON's did. */
      check(eOut==pC->eWant || (pC->eWant==NUM && eOut==NUL), zName,
            z ? z : "NULL");
      sqlite3_free(z);
    }
    sqlite3StreamJsonFree(p);
  }
  check(sqlite3StreamJsonParse(0, 0)==0, "tree-null", "NULL text");
  check(sqlite3StreamJsonParse("{} x", -1)==0, "tree-trailing", "{} x");
  check(sqlite3StreamJsonParse("[01]", -1)==0, "tree-leading-zero", "[01]");
  check(sqlite3StreamJsonParse("[1,2] ", 3)==0, "tree-length", "cut short");
  {
    StreamJson *p = sqlite3StreamJsonParse("[1,2] junk", 5);
    check(sqlite3StreamJsonCount(p)==2, "tree-length.2", "5 bytes of 10");
    sqlite3StreamJsonFree(p);
  }
  {
    const char *zDoc =
        "{ \"a\" : 1, \"b\":[1,2.5,-3e20,1e15,9007199254740993,0.1,"
        "1.0000000000000002,3000000000,-2147483648,1e400],"
        "\"c\":{\"d\":\"x\\ty\\u00e9\\ud83d\\ude00\\/\\\"\\u0001\"},"
        "\"e\":{},\"f\":[],\"g\":true,\"h\":null,\"i\":false}";
    StreamJson *p = sqlite3StreamJsonParse(zDoc, -1);
    StreamJson *pD = sqlite3StreamJsonGet(sqlite3StreamJsonGet(p, "c"), "d");
    check(p!=0, "tree-doc", zDoc);
    check(pD && strcmp(pD->zValue, "x\ty\xc3\xa9\xf0\x9f\x98\x80/\"\x01")==0,
          "tree-unescape", pD ? pD->zValue : "NULL");
    checkPrint("tree-compact", p, 0,
        "{\"a\":1,\"b\":[1,2.5,-3e+20,1e+15,9.00719925474099e+15,0.1,"
        "1,3000000000,-2147483648,null],"
        "\"c\":{\"d\":\"x\\ty\xc3\xa9\xf0\x9f\x98\x80/\\\"\\u0001\"},"
        "\"e\":{},\"f\":[],\"g\":true,\"h\":null,\"i\":false}");
    checkPrint("tree-format", sqlite3StreamJsonGet(p, "c"), 1,
               "{\n\t\"d\":\t\"x\\ty\xc3\xa9\xf0\x9f\x98\x80/\\\"\\u0001\"\n}");
    checkPrint("tree-format.2", p, 1,
        "{\n\t\"a\":\t1,\n\t\"b\":\t[1, 2.5, -3e+20, 1e+15,"
        " 9.00719925474099e+15, 0.1, 1, 3000000000, -2147483648, null],\n"
        "\t\"c\":\t{\n\t\t\"d\":\t"
        "\"x\\ty\xc3\xa9\xf0\x9f\x98\x80/\\\"\\u0001\"\n"
        "\t},\n\t\"e\":\t{\n\t},\n\t\"f\":\t[],\n\t\"g\":\ttrue,\n"
        "\t\"h\":\tnull,\n\t\"i\":\tfalse\n}");
    check(sqlite3StreamJsonGet(p, "A")==0
          && sqlite3StreamJsonGetNoCase(p, "A")==sqlite3StreamJsonGet(p, "a"),
          "tree-nocase", "Get is exact, GetNoCase ignores ASCII case");
    check(sqlite3StreamJsonCount(sqlite3StreamJsonGet(p, "b"))==10
          && sqlite3StreamJsonAt(sqlite3StreamJsonGet(p, "b"), 1)->rValue==2.5
          && sqlite3StreamJsonAt(sqlite3StreamJsonGet(p, "b"), 10)==0
          && sqlite3StreamJsonAt(sqlite3StreamJsonGet(p, "b"), -1)==0,
          "tree-at", "count and items");
    check(sqlite3StreamJsonIsBool(sqlite3StreamJsonGet(p, "g"))
          && sqlite3StreamJsonIsBool(sqlite3StreamJsonGet(p, "i"))
          && !sqlite3StreamJsonIsBool(sqlite3StreamJsonGet(p, "h"))
          && sqlite3StreamJsonType(0)==INV, "tree-kinds", "IsBool, NULL");
    {
      StreamJson *pCopy = sqlite3StreamJsonCopy(p);
      char *z1 = sqlite3StreamJsonPrint(p, 0);
      char *z2 = sqlite3StreamJsonPrint(pCopy, 0);
      check(pCopy!=p && z1 && z2 && strcmp(z1, z2)==0, "tree-copy", z2);
      sqlite3_free(z1);
      sqlite3_free(z2);
      sqlite3StreamJsonFree(pCopy);
    }
    /* Remove the last member, then append: the tail follows. */
    sqlite3StreamJsonRemove(p, "i");
    sqlite3StreamJsonRemove(p, "nothing");
    sqlite3StreamJsonAddBool(p, "j", 1);
    /* Replace the first and the (new) last member. */
    check(sqlite3StreamJsonReplace(p, "a",
              sqlite3StreamJsonNewRaw("12345678901234567890")),
          "tree-replace", "first");
    check(sqlite3StreamJsonReplace(p, "j", sqlite3StreamJsonNewString("z")),
          "tree-replace.2", "last");
    {
      StreamJson *pNew = sqlite3StreamJsonNewNumber(1);
      check(!sqlite3StreamJsonReplace(p, "missing", pNew), "tree-replace.3",
            "no such member: not taken");
      sqlite3StreamJsonFree(pNew);
    }
    sqlite3StreamJsonAddNumber(p, "k", 0.5);
    sqlite3StreamJsonRemove(p, "b");
    sqlite3StreamJsonRemove(p, "c");
    checkPrint("tree-edit", p, 0,
        "{\"a\":12345678901234567890,\"e\":{},\"f\":[],\"g\":true,"
        "\"h\":null,\"j\":\"z\",\"k\":0.5}");
    sqlite3StreamJsonFree(p);
  }
  {
    /* A reference prints its target and does not free it. */
    const char *az[] = { "x", "y\"" };
    StreamJson *pArr = sqlite3StreamJsonNewStringArray(az, 2);
    StreamJson *pObj = sqlite3StreamJsonNewObject();
    sqlite3StreamJsonAdd(pObj, "ref", sqlite3StreamJsonNewRef(pArr));
    check(!sqlite3StreamJsonAdd(pObj, "self", pObj), "tree-self", "refused");
    check(!sqlite3StreamJsonAdd(pObj, "none", 0), "tree-add-null", "refused");
    checkPrint("tree-ref", pObj, 0, "{\"ref\":[\"x\",\"y\\\"\"]}");
    sqlite3StreamJsonFree(pObj);
    checkPrint("tree-ref.2", pArr, 0, "[\"x\",\"y\\\"\"]");
    sqlite3StreamJsonFree(pArr);
  }
}

/* Under a locale whose decimal point is ',' (de_DE, when installed or
** built with localedef into $LOCPATH) numbers still read and print with
** '.'. */
static void testTreeLocale(void){
  StreamJson *p;
  if( setlocale(LC_NUMERIC, "de_DE.UTF-8")==0
   && setlocale(LC_NUMERIC, "de_DE.utf8")==0 ){
    printf("tree-locale: skipped (no de_DE locale)\n");
    return;
  }
  p = sqlite3StreamJsonParse("[0.5,-1.25e-3,3]", -1);
  check(p && sqlite3StreamJsonAt(p, 0)->rValue==0.5
          && sqlite3StreamJsonAt(p, 1)->rValue==-1.25e-3,
        "tree-locale", "read with '.'");
  checkPrint("tree-locale.2", p, 0, "[0.5,-0.00125,3]");
  sqlite3StreamJsonFree(p);
  setlocale(LC_NUMERIC, "C");
}

/* Fault injection: allocation number nFailAt (counted from when it is
** set) fails. */
static sqlite3_mem_methods memOrig;
static int nFailAt = 0;
static int nAllocs = 0;
static void *faultMalloc(int n){
  if( nFailAt && ++nAllocs==nFailAt ) return 0;
  return memOrig.xMalloc(n);
}
static void *faultRealloc(void *p, int n){
  if( nFailAt && ++nAllocs==nFailAt ) return 0;
  return memOrig.xRealloc(p, n);
}

/* Parse, copy, edit and print with the n-th allocation failing, for every
** n until a run does not reach it: each step either succeeds with the
** right text or returns NULL/0, and nothing leaks (ASan builds). */
static void testTreeFaults(void){
  const char *zDoc = "{\"a\":[1,\"x\\u00e9\",{\"b\":null}],\"c\":true}";
  const char *zWant = "{\"a\":[1,\"x\xc3\xa9\",{\"b\":null}],\"c\":true,"
                      "\"d\":\"e\"}";
  int n, nDone = 0, nBad = 0;
  for(n=1; n<500 && !nDone; n++){
    StreamJson *p, *pCopy = 0;
    char *z = 0;
    nAllocs = 0;
    nFailAt = n;
    p = sqlite3StreamJsonParse(zDoc, -1);
    if( p ) pCopy = sqlite3StreamJsonCopy(p);
    if( pCopy && sqlite3StreamJsonAddString(pCopy, "d", "e") ){
      z = sqlite3StreamJsonPrint(pCopy, 0);
      if( z && strcmp(z, zWant)!=0 ) nBad++;
    }
    nDone = nAllocs<nFailAt;
    nFailAt = 0;
    if( nDone && z==0 ) nBad++;
    sqlite3_free(z);
    sqlite3StreamJsonFree(pCopy);
    sqlite3StreamJsonFree(p);
  }
  check(nDone && n>10, "tree-oom", "a run without failures reached");
  check(nBad==0, "tree-oom.2", "every step right or NULL");
}

int main(void){
  int i;
  char zName[64];
  int nCase = (int)(sizeof(aCase)/sizeof(aCase[0]));

  /* Before anything initializes SQLite. */
  sqlite3_config(SQLITE_CONFIG_GETMALLOC, &memOrig);
  {
    sqlite3_mem_methods m = memOrig;
    m.xMalloc = faultMalloc;
    m.xRealloc = faultRealloc;
    sqlite3_config(SQLITE_CONFIG_MALLOC, &m);
  }

  for(i=0; i<nCase; i++){
    const struct JsonCase *pC = &aCase[i];
    size_t n = pC->n<0 ? strlen(pC->z) : (size_t)pC->n;
    snprintf(zName, sizeof(zName), "json-%d", i+1);
    checkKind(zName, pC->z, n, pC->eWant, pC->zWhat);
  }

  /* NULL pointer: invalid, never dereferenced. */
  checkKind("json-null", 0, 0, INV, "NULL, 0");

  /* Every valid case stays valid when padded with whitespace, and becomes
  ** invalid when followed by a stray ']'. */
  for(i=0; i<nCase; i++){
    const struct JsonCase *pC = &aCase[i];
    size_t n = pC->n<0 ? strlen(pC->z) : (size_t)pC->n;
    char aBuf[256];
    if( n+4>sizeof(aBuf) || pC->eWant==INV ) continue;
    aBuf[0] = ' ';
    memcpy(&aBuf[1], pC->z, n);
    aBuf[n+1] = '\n';
    snprintf(zName, sizeof(zName), "json-pad.%d", i+1);
    checkKind(zName, aBuf, n+2, pC->eWant, pC->zWhat);
    memcpy(aBuf, pC->z, n);
    aBuf[n] = ']';
    snprintf(zName, sizeof(zName), "json-extra.%d", i+1);
    checkKind(zName, aBuf, n+1, INV, pC->zWhat);
  }

  /* Each special byte at every position of a long run of plain bytes
  ** (the 16- and 8-byte fast paths, and the tail they leave): a string
  ** of 70 bytes with one of them at position k. */
  {
    static const struct { const char *z; int eWant; } aIns[] = {
      { "\\n", STR }, { "\xc3\xa9", STR }, { "\x7f", STR },
      { "\xe2\x82\xac", STR }, { "\\u00e9", STR },
      { "\x01", INV }, { "\x1f", INV }, { "\x80", INV }, { "\xff", INV },
      { "\"", INV },                       /* ends early: trailing bytes */
      { "\\x", INV }, { "\xc3", INV },    /* a bad escape, a cut char */
    };
    int j, k, nBad = 0;
    for(j=0; j<(int)(sizeof(aIns)/sizeof(aIns[0])); j++){
      for(k=0; k<70; k++){
        char aBuf[100];
        int nIns = (int)strlen(aIns[j].z), n = 0;
        aBuf[n++] = '"';
        memset(&aBuf[n], 'a', k); n += k;
        memcpy(&aBuf[n], aIns[j].z, nIns); n += nIns;
        memset(&aBuf[n], 'b', 70-k); n += 70-k;
        aBuf[n++] = '"';
        if( sqlite3StreamJsonCheck(aBuf, n)!=aIns[j].eWant ){
          if( nBad++<5 ) printf("  insert %d at %d: wrong\n", j, k);
        }
      }
    }
    if( nBad==0 ){ nPass++; }else{ nFail++; printf("FAIL json-runs\n"); }
  }

  /* Every strict prefix of a valid object is invalid. */
  {
    const char *zDoc = "{\"id\":12,"
                       "\"name\":\"caf\xc3\xa9 \\u00e9\\ud83d\\ude00\","
                       "\"tags\":[true,false,null,-1.5e+3],\"o\":{}}";
    size_t nDoc = strlen(zDoc);
    size_t k;
    int bOk = sqlite3StreamJsonCheck(zDoc, nDoc)==OBJ;
    for(k=0; k<nDoc && bOk; k++){
      if( sqlite3StreamJsonCheck(zDoc, k)!=INV ){
        bOk = 0;
        printf("  prefix of %d bytes accepted\n", (int)k);
      }
    }
    check(bOk, "json-prefix", "all strict prefixes invalid");
  }

  /* A long string: exercises the 8-byte fast path across a big buffer. */
  {
    static char aLong[1<<20];
    size_t k;
    aLong[0] = '"';
    for(k=1; k<sizeof(aLong)-1; k++) aLong[k] = (char)('a' + k%26);
    aLong[sizeof(aLong)-1] = '"';
    checkKind("json-long.1", aLong, sizeof(aLong), STR, "1 MiB string");
    aLong[sizeof(aLong)/2] = '\x19';
    checkKind("json-long.2", aLong, sizeof(aLong), INV,
              "1 MiB string, control char in the middle");
  }

  testNesting();
  testQuote();
  testErrWhere();
  testTree();
  testTreeFaults();
  testTreeLocale();

  printf("%d passed, %d failed\n", nPass, nFail);
  return nFail ? 1 : 0;
}
