/*
** stream.h - public C interface of sqlite-stream.
**
** sqlite-stream is a SQLite extension that gives a database Kafka-style
** streams.  Applications that load it as a shared object use only SQL;
** applications that compile it in (the amalgamation, or the static library)
** call sqlite3_stream_init() themselves and may use the C API below.
*/
#ifndef SQLITE_STREAM_H
#define SQLITE_STREAM_H

#include "sqlite3.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SQLITE_STREAM_VERSION "0.1.0"

/* Entry point.  Registers every stream_* function and virtual table on db.
** The only symbol the shared object exports. */
#if defined(_WIN32)
__declspec(dllexport)
#elif defined(__GNUC__)
__attribute__((visibility("default")))
#endif
int sqlite3_stream_init(sqlite3 *db, char **pzErrMsg,
                        const sqlite3_api_routines *pApi);

/*
** The C API, for applications that load the extension as a shared object
** (which exports nothing but sqlite3_stream_init) as well as those that
** link it in.  Get it from a connection that has the extension loaded:
**
**   const sqlite3_stream_api *pApi = sqlite3_stream_api_get(db);
**
** the way FTS5 hands out its fts5_api: a pointer bound with
** sqlite3_bind_pointer() to "SELECT stream_api_ptr(?1)".
*/
typedef struct sqlite3_stream_api sqlite3_stream_api;
struct sqlite3_stream_api {
  int iVersion;   /* 1 */

  /* Register (or, with xEvent NULL, remove) the CDC callback of db.  It is
  ** called with every stream.produce / stream.commit event (JSON text, not
  ** NUL-terminated beyond nJson) as it is written, inside the writing
  ** transaction, like sqlite3_update_hook(): an event may belong to a
  ** transaction that later rolls back.  xDestroy(pArg), if not NULL, runs
  ** when the callback is replaced or the connection closes. */
  int (*xCdcHook)(sqlite3 *db,
                  void (*xEvent)(void *pArg, const char *zJson, int nJson),
                  void *pArg, void (*xDestroy)(void*));

  /* Register (or, with xEvent NULL, remove) the rebalance callback of db
  ** (the seed's group.on('rebalance', ...)).  It is called with a
  ** stream.rebalance event, {"type":"stream.rebalance","groupId":...,
  ** "generation":N,"members":[...],"assignment":{member:{topic:[p]}}},
  ** whenever a connection of this db recomputes a group's assignment,
  ** inside that transaction (same caveat as xCdcHook).  Another process's
  ** rebalance is seen by polling stream_assignment() or stream_groups. */
  int (*xRebalanceHook)(sqlite3 *db,
                  void (*xEvent)(void *pArg, const char *zJson, int nJson),
                  void *pArg, void (*xDestroy)(void*));
};

/* The API of the extension loaded on db, or NULL if it is not loaded. */
static inline const sqlite3_stream_api *sqlite3_stream_api_get(sqlite3 *db){
  const sqlite3_stream_api *pApi = 0;
  sqlite3_stmt *pStmt = 0;
  if( sqlite3_prepare_v2(db, "SELECT stream_api_ptr(?1)", -1, &pStmt, 0)
      ==SQLITE_OK ){
    sqlite3_bind_pointer(pStmt, 1, (void*)&pApi, "stream_api_ptr", 0);
    sqlite3_step(pStmt);
  }
  sqlite3_finalize(pStmt);
  return pApi;
}

#ifdef __cplusplus
}
#endif
#endif /* SQLITE_STREAM_H */
