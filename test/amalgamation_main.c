/*
** amalgamation_main.c - links the single-file build into a program.
**
** Built by test/build.test as
**   cc -DSQLITE_CORE -Iamalgamation amalgamation/sqlite-stream.c \
**      test/amalgamation_main.c -lsqlite3 -lz -lzstd -lm
** It calls sqlite3_stream_init() directly on an in-memory database, runs
** a few statements and prints one line per result row.
*/
#include <stdio.h>
#include "sqlite3.h"
#include "sqlite-stream.h"

static int printRow(void *pArg, int nCol, char **azVal, char **azCol){
  int i;
  (void)pArg;
  (void)azCol;
  for(i=0; i<nCol; i++){
    printf("%s%s", i ? "|" : "", azVal[i] ? azVal[i] : "NULL");
  }
  printf("\n");
  return 0;
}

int main(void){
  static const char *azSql[] = {
    "SELECT stream_create_topic('t', 2)",
    "SELECT stream_produce('t', 'k', '{\"a\":1}')",
    "SELECT value FROM stream_messages WHERE topic='t'",
  };
  sqlite3 *db = 0;
  char *zErr = 0;
  int rc;
  size_t i;

  rc = sqlite3_open(":memory:", &db);
  if( rc!=SQLITE_OK ){
    fprintf(stderr, "open: %s\n", sqlite3_errmsg(db));
    return 1;
  }
  rc = sqlite3_stream_init(db, &zErr, 0);
  if( rc!=SQLITE_OK ){
    fprintf(stderr, "sqlite3_stream_init: %s\n", zErr ? zErr : "?");
    sqlite3_free(zErr);
    sqlite3_close(db);
    return 1;
  }
  printf("version %s\n", SQLITE_STREAM_VERSION);
  for(i=0; i<sizeof(azSql)/sizeof(azSql[0]); i++){
    rc = sqlite3_exec(db, azSql[i], printRow, 0, &zErr);
    if( rc!=SQLITE_OK ){
      fprintf(stderr, "%s: %s\n", azSql[i], zErr ? zErr : "?");
      sqlite3_free(zErr);
      sqlite3_close(db);
      return 1;
    }
  }
  rc = sqlite3_close(db);
  if( rc!=SQLITE_OK ){
    fprintf(stderr, "close: %d\n", rc);
    return 1;
  }
  return 0;
}
