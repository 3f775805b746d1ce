/*
** offsets.c - the stream_offsets eponymous virtual table: committed offsets
** (the seed's stream_offsets), readable and writable.
**
**   SELECT * FROM stream_offsets WHERE group_id='billing';
**   INSERT INTO stream_offsets(group_id, topic, partition, offset, metadata)
**     VALUES('billing', 'orders', 0, 42, 'batch 7');   -- = stream_commit()
**   UPDATE stream_offsets SET offset=0 WHERE group_id='billing';
**   DELETE FROM stream_offsets WHERE group_id='billing';
**
** INSERT and UPDATE go through the same checks as stream_commit();
** committed_at is set by the extension (a value given for it is ignored).
** The rowid is that of the storage table _stream_offsets.  "group_id =",
** "topic =" and "partition =" are pushed down.
**
** SQLITE_VTAB_DIRECTONLY: writes move consumer positions, so a hostile
** database's triggers and views must not reach this table.
*/
#include "streamInt.h"
#include <string.h>

/* xUpdate: argv[0] old rowid (NULL for INSERT), argv[1] new rowid,
** argv[2..7] the columns; argc==1 for DELETE. */
static int streamOffsetsUpdate(StreamCtx *p, int argc, sqlite3_value **argv,
                               char **pzErr){
  const char *zGroup, *zTopic, *zMeta;
  i64 iPart = 0, iOffset = 0;
  if( argc==1 ){
    return sqlite3StreamCommitDelete(p, sqlite3_value_int64(argv[0]), pzErr);
  }
  if( sqlite3StreamColumnTextType(argv[2])!=SQLITE_TEXT
   || sqlite3StreamColumnTextType(argv[3])!=SQLITE_TEXT ){
    return sqlite3StreamErr(pzErr, SQLITE_MISMATCH,
                            "stream_offsets: group_id and topic must be text");
  }
  if( !sqlite3StreamColumnInt(argv[4], &iPart)
   || !sqlite3StreamColumnInt(argv[5], &iOffset) ){
    return sqlite3StreamErr(pzErr, SQLITE_MISMATCH,
        "stream_offsets: partition and offset must be integers");
  }
  if( sqlite3_value_type(argv[6])!=SQLITE_NULL
   && sqlite3StreamColumnTextType(argv[6])!=SQLITE_TEXT ){
    return sqlite3StreamErr(pzErr, SQLITE_MISMATCH,
                            "stream_offsets: metadata must be text or NULL");
  }
  zGroup = (const char*)sqlite3_value_text(argv[2]);
  zTopic = (const char*)sqlite3_value_text(argv[3]);
  zMeta = (const char*)sqlite3_value_text(argv[6]);
  if( zGroup==0 || zTopic==0 ) return SQLITE_NOMEM;
  if( (int)strlen(zGroup)!=sqlite3_value_bytes(argv[2])
   || (int)strlen(zTopic)!=sqlite3_value_bytes(argv[3])
   || (zMeta && (int)strlen(zMeta)!=sqlite3_value_bytes(argv[6])) ){
    return sqlite3StreamErr(pzErr, SQLITE_MISMATCH,
        "stream_offsets: group_id, topic and metadata must not contain NUL"
        " bytes");
  }
  if( !sqlite3StreamUtf8Check(zGroup, strlen(zGroup)) ){
    return sqlite3StreamErr(pzErr, SQLITE_MISMATCH,
                            "stream_offsets: group_id is not valid UTF-8");
  }
  if( sqlite3_vtab_on_conflict(p->db)==SQLITE_IGNORE ){
    /* INSERT OR IGNORE, UPDATE OR IGNORE: a commit that exists for the
    ** target (group, topic, partition) stays, as a table's row with that
    ** primary key would, so "INSERT OR IGNORE ... VALUES(g, t, p, 0)" sets
    ** a start only where nothing is committed (it used to rewind). */
    int bSame = 0, bFound = 0;
    i64 iOld;
    int rc = SQLITE_OK;
    if( sqlite3_value_type(argv[0])!=SQLITE_NULL ){
      rc = sqlite3StreamCatOffsetRowIs(p, sqlite3_value_int64(argv[0]),
                                       zGroup, zTopic,
                                       iPart, &bSame,
                                       pzErr);
    }
    if( rc==SQLITE_OK && !bSame ){
      rc = sqlite3StreamCatCommitted(p, zGroup, zTopic,
                                     iPart, &iOld,
                                     &bFound, pzErr);
    }
    if( rc || bFound ) return rc;
  }
  if( sqlite3_value_type(argv[0])==SQLITE_NULL ){
    return sqlite3StreamCommit(p, zGroup, zTopic,
                               iPart,
                               iOffset, zMeta, 0, pzErr);
  }
  return sqlite3StreamCommitReplace(p, sqlite3_value_int64(argv[0]),
                                    zGroup, zTopic,
                                    iPart,
                                    iOffset, zMeta,
                                    pzErr);
}

static const StreamSqlVtabDef streamOffsetsDef = {
  "stream_offsets",
  "group_id TEXT, topic TEXT, partition INTEGER, offset INTEGER,"
  " metadata TEXT, committed_at INTEGER",
  "SELECT group_id AS c0, topic AS c1, partition AS c2, offset AS c3,"
  " metadata AS c4, committed_at AS c5, rowid AS c6 FROM _stream_offsets"
  " ORDER BY group_id, topic, partition",
  0x07,                 /* group_id =, topic =, partition = */
  1,                    /* DIRECTONLY: writable */
  0,                    /* not the anchor */
  1,                    /* c6 is the rowid */
  0,
  streamOffsetsUpdate,
  0                     /* a rowid table */
};

int sqlite3StreamRegisterOffsets(sqlite3 *db, StreamCtx *p){
  return sqlite3StreamRegisterSqlVtab(db, p, &streamOffsetsDef);
}
