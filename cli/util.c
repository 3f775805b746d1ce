/*
** util.c - what every command of the sqlite-stream tool shares: error
** and usage messages with their exit codes, option parsing, a few SQL
** helpers, JSON output and time parsing.
**
** Errors that come from SQLite or the extension are printed exactly as
** sqlite3_errmsg() gives them ("stream: no such topic: x"); the tool's own
** messages start with "sqlite-stream: ".
*/
#include "cli.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Print "sqlite-stream: MSG" and a pointer to --help; return CLI_USAGE. */
int cliUsage(const char *zCmd, const char *zFmt, ...){
  va_list ap;
  fprintf(stderr, "sqlite-stream: ");
  va_start(ap, zFmt);
  vfprintf(stderr, zFmt, ap);
  va_end(ap);
  fprintf(stderr, "\nTry 'sqlite-stream%s%s --help'.\n",
          zCmd ? " DB " : "", zCmd ? zCmd : "");
  return CLI_USAGE;
}

/* Print "sqlite-stream: MSG"; return CLI_ERROR. */
int cliError(const char *zFmt, ...){
  va_list ap;
  fprintf(stderr, "sqlite-stream: ");
  va_start(ap, zFmt);
  vfprintf(stderr, zFmt, ap);
  va_end(ap);
  fprintf(stderr, "\n");
  return CLI_ERROR;
}

/* Print the connection's error message as it is; CLI_BUSY for a lock
** that outlasted the busy timeout, else CLI_ERROR. */
int cliSqlError(Cli *p){
  int ec = sqlite3_errcode(p->db) & 0xff;
  fprintf(stderr, "%s\n", sqlite3_errmsg(p->db));
  return (ec==SQLITE_BUSY || ec==SQLITE_LOCKED) ? CLI_BUSY : CLI_ERROR;
}

/* CLI_OK for a successful SQLite return code, else report the error. */
int cliRc(Cli *p, int rc){
  if( rc==SQLITE_OK || rc==SQLITE_DONE || rc==SQLITE_ROW ) return CLI_OK;
  return cliSqlError(p);
}

/* If argv holds -h or --help, print zHelp and return 1. */
int cliWantsHelp(int argc, char **argv, const char *zHelp){
  int i;
  for(i=1; i<argc; i++){
    if( strcmp(argv[i], "--")==0 ) break;
    if( strcmp(argv[i], "-h")==0 || strcmp(argv[i], "--help")==0 ){
      fputs(zHelp, stdout);
      return 1;
    }
  }
  return 0;
}

/*
** Match argv[*pi] against an option that takes a value: "-p VALUE",
** "-pVALUE", "--partition VALUE" or "--partition=VALUE" (either name may
** be NULL; a short name is "-" and one letter).
** Returns 1 and sets *pzVal (advancing *pi past a separate value) on a
** match, 0 if argv[*pi] is another word, -1 if the value is missing.
*/
int cliOptArg(int argc, char **argv, int *pi, const char *zShort,
              const char *zLong, const char **pzVal){
  const char *z = argv[*pi];
  if( zLong ){
    size_t n = strlen(zLong);
    if( strncmp(z, zLong, n)==0 && z[n]=='=' ){
      *pzVal = &z[n+1];
      return 1;
    }
  }
  if( zShort && strncmp(z, zShort, 2)==0 && z[2] ){   /* -K: (attached) */
    *pzVal = &z[2];
    return 1;
  }
  if( (zShort && strcmp(z, zShort)==0) || (zLong && strcmp(z, zLong)==0) ){
    if( *pi+1>=argc ) return -1;
    *pi += 1;
    *pzVal = argv[*pi];
    return 1;
  }
  return 0;
}

/* A word that matched no option: an unknown option is a usage error;
** otherwise it fills *pzSlot (the one positional argument) if empty. */
int cliPositional(const char *zCmd, const char *zArg, const char **pzSlot){
  if( zArg[0]=='-' && zArg[1] ){
    return cliUsage(zCmd, "unknown option %s", zArg);
  }
  if( *pzSlot ) return cliUsage(zCmd, "unexpected argument \"%s\"", zArg);
  *pzSlot = zArg;
  return CLI_OK;
}

/* Parse z as a decimal integer in [iMin, iMax] for option zOpt. */
int cliParseInt(const char *zCmd, const char *zOpt, const char *z,
                sqlite3_int64 iMin, sqlite3_int64 iMax, sqlite3_int64 *piOut){
  char *zEnd = 0;
  long long v;
  errno = 0;
  v = strtoll(z, &zEnd, 10);
  if( z[0]==0 || *zEnd!=0 || errno ){
    return cliUsage(zCmd, "%s needs an integer, got \"%s\"", zOpt, z);
  }
  if( v<iMin || v>iMax ){
    return cliUsage(zCmd, "%s must be between %lld and %lld, got %lld",
                    zOpt, (long long)iMin, (long long)iMax, v);
  }
  *piOut = v;
  return CLI_OK;
}

/* Prepare zSql; on failure report the error and return its exit code. */
int cliPrepare(Cli *p, const char *zSql, sqlite3_stmt **ppStmt){
  int rc = sqlite3_prepare_v2(p->db, zSql, -1, ppStmt, 0);
  if( rc!=SQLITE_OK ){
    *ppStmt = 0;
    return cliSqlError(p);
  }
  return CLI_OK;
}

/* Prepare zSql and bind z1 (if not NULL) to ?1. */
int cliPrepare1(Cli *p, const char *zSql, const char *z1,
                sqlite3_stmt **ppStmt){
  int rc = cliPrepare(p, zSql, ppStmt);
  if( rc==CLI_OK && z1 ) sqlite3_bind_text(*ppStmt, 1, z1, -1, SQLITE_STATIC);
  return rc;
}

/* Print the rows of zSql, ?1 bound to z1, as a table (cliPrintTable). */
int cliQueryTable(Cli *p, const char *zSql, const char *z1, int bHeader,
                  int *pnRow){
  sqlite3_stmt *pStmt = 0;
  int rc = cliPrepare1(p, zSql, z1, &pStmt);
  if( rc ) return rc;
  return cliPrintTable(p, pStmt, bHeader, pnRow);
}

/*
** Match an option with an integer value in [iMin, iMax] (see cliOptArg).
** Returns 1 if argv[*pi] is that option, with *pRc set to CLI_OK (and
** *piOut to the value) or to the usage error; 0 if it is another word.
*/
int cliOptInt(const char *zCmd, int argc, char **argv, int *pi,
              const char *zShort, const char *zLong, sqlite3_int64 iMin,
              sqlite3_int64 iMax, sqlite3_int64 *piOut, int *pRc){
  const char *zVal = 0;
  int m = cliOptArg(argc, argv, pi, zShort, zLong, &zVal);
  if( m==0 ) return 0;
  if( m<0 ){
    *pRc = cliUsage(zCmd, "%s needs a value", argv[*pi]);
  }else{
    *pRc = cliParseInt(zCmd, zLong ? zLong : zShort, zVal, iMin, iMax, piOut);
  }
  return 1;
}

/* Run SQL that returns no rows of interest. */
int cliExec(Cli *p, const char *zSql){
  int rc = sqlite3_exec(p->db, zSql, 0, 0, 0);
  return cliRc(p, rc);
}

/* Step pStmt to the end; report an error.  Does not finalize. */
int cliStepDone(Cli *p, sqlite3_stmt *pStmt){
  int rc;
  while( (rc = sqlite3_step(pStmt))==SQLITE_ROW ){}
  return cliRc(p, rc);
}

/* The number of partitions of zTopic, or an error in the extension's
** words when there is no such topic. */
int cliTopicPartitions(Cli *p, const char *zTopic, int *pnPart){
  sqlite3_stmt *pStmt = 0;
  int rc = cliPrepare1(p,
      "SELECT partitions FROM stream_topics WHERE name = ?1", zTopic, &pStmt);
  if( rc ) return rc;
  rc = sqlite3_step(pStmt);
  if( rc==SQLITE_ROW ){
    *pnPart = sqlite3_column_int(pStmt, 0);
    rc = CLI_OK;
  }else if( rc==SQLITE_DONE ){
    fprintf(stderr, "stream: no such topic: %s\n", zTopic);
    rc = CLI_ERROR;
  }else{
    rc = cliSqlError(p);
  }
  sqlite3_finalize(pStmt);
  return rc;
}

/* 1 if a[0..n) is valid UTF-8 without NUL bytes. */
int cliUtf8Valid(const unsigned char *a, int n){
  int i = 0;
  while( i<n ){
    unsigned c = a[i];
    int nCont, j;
    unsigned cp;
    if( c==0 ) return 0;
    if( c<0x80 ){ i++; continue; }
    if( (c & 0xe0)==0xc0 ){ nCont = 1; cp = c & 0x1f; }
    else if( (c & 0xf0)==0xe0 ){ nCont = 2; cp = c & 0x0f; }
    else if( (c & 0xf8)==0xf0 ){ nCont = 3; cp = c & 0x07; }
    else return 0;
    if( i+nCont>=n ) return 0;
    for(j=1; j<=nCont; j++){
      if( (a[i+j] & 0xc0)!=0x80 ) return 0;
      cp = (cp<<6) | (a[i+j] & 0x3f);
    }
    if( (nCont==1 && cp<0x80) || (nCont==2 && cp<0x800)
     || (nCont==3 && (cp<0x10000 || cp>0x10ffff))
     || (cp>=0xd800 && cp<=0xdfff) ){
      return 0;
    }
    i += nCont+1;
  }
  return 1;
}

/* Write z[0..n) (UTF-8) as a JSON string. */
void cliJsonString(FILE *out, const char *z, int n){
  int i;
  fputc('"', out);
  for(i=0; i<n; i++){
    unsigned char c = (unsigned char)z[i];
    switch( c ){
      case '"':  fputs("\\\"", out); break;
      case '\\': fputs("\\\\", out); break;
      case '\n': fputs("\\n", out); break;
      case '\r': fputs("\\r", out); break;
      case '\t': fputs("\\t", out); break;
      default:
        if( c<0x20 ) fprintf(out, "\\u%04x", c);
        else fputc(c, out);
    }
  }
  fputc('"', out);
}

/* Write bytes that are not UTF-8 text as a JSON string of base64. */
void cliJsonBytes(FILE *out, const unsigned char *a, int n){
  static const char aB64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  int i;
  fputc('"', out);
  for(i=0; i<n; i+=3){
    unsigned v = (unsigned)a[i]<<16;
    if( i+1<n ) v |= (unsigned)a[i+1]<<8;
    if( i+2<n ) v |= a[i+2];
    fputc(aB64[(v>>18)&63], out);
    fputc(aB64[(v>>12)&63], out);
    fputc(i+1<n ? aB64[(v>>6)&63] : '=', out);
    fputc(i+2<n ? aB64[v&63] : '=', out);
  }
  fputc('"', out);
}

/* Milliseconds since the Unix epoch (CLOCK_REALTIME). */
sqlite3_int64 cliNowMs(void){
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (sqlite3_int64)ts.tv_sec*1000 + ts.tv_nsec/1000000;
}

/*
** Parse a time for --to-datetime and -o @TIME: an integer is ms since the
** epoch; anything else is an ISO 8601 date and time as SQLite's date
** functions read it ("2024-01-14T12:00:00Z", "2024-01-14 12:00:00.5",
** "2024-01-14T13:00+01:00"; no zone means UTC).  Returns 0 on success.
*/
int cliParseTime(const char *z, sqlite3_int64 *piMs){
  char *zEnd = 0;
  sqlite3 *db = 0;
  sqlite3_stmt *pStmt = 0;
  int rc = 1;
  long long v;
  errno = 0;
  v = strtoll(z, &zEnd, 10);
  if( z[0] && *zEnd==0 && errno==0 ){
    *piMs = v;
    return 0;
  }
  /* A private in-memory connection: SQLite's date parser, no side effects. */
  if( sqlite3_open(":memory:", &db)==SQLITE_OK
   && sqlite3_prepare_v2(db,
        "SELECT CAST(round((julianday(?1) - 2440587.5) * 86400000.0)"
        " AS INTEGER)", -1, &pStmt, 0)==SQLITE_OK ){
    sqlite3_bind_text(pStmt, 1, z, -1, SQLITE_STATIC);
    if( sqlite3_step(pStmt)==SQLITE_ROW
     && sqlite3_column_type(pStmt, 0)!=SQLITE_NULL ){
      *piMs = sqlite3_column_int64(pStmt, 0);
      rc = 0;
    }
  }
  sqlite3_finalize(pStmt);
  sqlite3_close(db);
  return rc;
}

/* Flush stdout; 1 if writing failed (a closed pipe included). */
int cliOutputFailed(void){
  return fflush(stdout)!=0 || ferror(stdout);
}

/*
** Run pStmt (already bound) and print its rows as a table aligned on
** column names, two spaces apart; NULL prints as "-".  Finalizes pStmt.
** With bHeader 0 the header line is left out.  *pnRow gets the row count.
*/
int cliPrintTable(Cli *p, sqlite3_stmt *pStmt, int bHeader, int *pnRow){
  int nCol = sqlite3_column_count(pStmt);
  int nCell = 0, nAlloc = 0, i, j, rc;
  char **azCell = 0;
  int *aWidth = sqlite3_malloc64(sizeof(int)*(nCol ? nCol : 1));
  int bNum[64];
  rc = aWidth ? CLI_OK : cliError("out of memory");
  for(i=0; rc==CLI_OK && i<nCol; i++){
    aWidth[i] = bHeader ? (int)strlen(sqlite3_column_name(pStmt, i)) : 0;
    if( i<64 ) bNum[i] = 1;
  }
  while( rc==CLI_OK ){
    int rcStep = sqlite3_step(pStmt);
    if( rcStep!=SQLITE_ROW ){
      if( rcStep!=SQLITE_DONE ) rc = cliSqlError(p);
      break;
    }
    if( nCell+nCol>nAlloc ){
      int nNew = nAlloc ? nAlloc*2 : 64*nCol;
      char **azNew = sqlite3_realloc64(azCell, sizeof(char*)*nNew);
      if( azNew==0 ){ rc = cliError("out of memory"); break; }
      azCell = azNew;
      nAlloc = nNew;
    }
    for(i=0; i<nCol; i++){
      int t = sqlite3_column_type(pStmt, i);
      const char *z = t==SQLITE_NULL ? "-" : CLI_TEXT(pStmt, i);
      char *zCopy = sqlite3_mprintf("%s", z);
      int w = (int)strlen(z);
      azCell[nCell++] = zCopy;
      if( zCopy==0 ){ rc = cliError("out of memory"); break; }
      if( w>aWidth[i] ) aWidth[i] = w;
      if( i<64 && t!=SQLITE_INTEGER && t!=SQLITE_FLOAT && t!=SQLITE_NULL ){
        bNum[i] = 0;
      }
    }
  }
  if( rc==CLI_OK ){
    /* Numbers right-aligned, text left-aligned; no trailing blanks. */
    for(j=bHeader ? -1 : 0; j<nCell/(nCol ? nCol : 1); j++){
      for(i=0; i<nCol; i++){
        const char *z = j<0 ? sqlite3_column_name(pStmt, i)
                            : azCell[j*nCol+i];
        if( i<64 && bNum[i] && nCell>0 ){
          printf("%s%*s", i ? "  " : "", aWidth[i], z);
        }else if( i==nCol-1 ){
          printf("%s%s", i ? "  " : "", z);
        }else{
          printf("%s%-*s", i ? "  " : "", aWidth[i], z);
        }
      }
      printf("\n");
    }
    if( pnRow ) *pnRow = nCell/(nCol ? nCol : 1);
  }
  for(i=0; i<nCell; i++) sqlite3_free(azCell[i]);
  sqlite3_free(azCell);
  sqlite3_free(aWidth);
  sqlite3_finalize(pStmt);
  return rc;
}

/* Set by SIGINT and SIGTERM once cliCatchSignals() has run: produce and
** consume finish their batch, leave their group and exit with 0. */
volatile sig_atomic_t cliStop = 0;

static void cliOnSignal(int sig){
  (void)sig;
  cliStop = 1;
}

/* Catch SIGINT and SIGTERM (without SA_RESTART, so that poll() and
** read() return early with EINTR). */
void cliCatchSignals(void){
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = cliOnSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, 0);
  sigaction(SIGTERM, &sa, 0);
}
