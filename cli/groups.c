/*
** groups.c - "sqlite-stream DB groups ...": consumer groups, as
** kafka-consumer-groups.sh shows and changes them.
**
**   groups                     stream_groups, stream_offsets, stream_lag
**   groups describe G          stream_groups (members, assignment),
**                              stream_lag (committed, end, lag)
**   groups reset-offsets G --topic T[:P,...] --to-earliest | --to-latest |
**       --to-datetime T | --to-offset N | --shift-by N  [--execute]
**                              stream_partitions, stream_offsets,
**                              stream_offset_for_time(), stream_commit()
**   groups delete G            DELETE FROM stream_offsets
**
** reset-offsets computes its plan in a BEGIN IMMEDIATE transaction, applies
** it with stream_commit() (which refuses while the group has live members,
** as Kafka does), prints it, then commits with --execute or rolls back for
** the dry run (the default): the dry run fails exactly when --execute would.
*/
#include "cli.h"

#include <stdint.h>
#include <string.h>

const char cliGroupsHelp[] =
"Usage: sqlite-stream DB groups\n"
"       sqlite-stream DB groups describe GROUP\n"
"       sqlite-stream DB groups reset-offsets GROUP --topic TOPIC[:P,P...]\n"
"            (--to-earliest | --to-latest | --to-datetime TIME |\n"
"             --to-offset N | --shift-by N) [--dry-run | --execute]\n"
"       sqlite-stream DB groups delete GROUP\n"
"\n"
"Without a subcommand, lists the groups that have members or committed\n"
"offsets, with their member count, generation and total lag.\n"
"\n"
"  describe       members and leader, then per partition: committed\n"
"                 offset, log end offset (high watermark), lag, owner\n"
"  reset-offsets  moves the group's committed offsets on the partitions of\n"
"                 TOPIC (or the partitions listed after ':'); prints the\n"
"                 plan; changes nothing unless --execute is given; refused\n"
"                 while the group has live members.  New offsets are kept\n"
"                 between the log start offset and the high watermark;\n"
"                 --shift-by starts from the committed offset (the log\n"
"                 start offset where there is none); --to-datetime takes\n"
"                 ms since the epoch or ISO 8601 (2024-01-14T12:00:00Z) and\n"
"                 goes to the first message at or after it (the end if none)\n"
"  delete         deletes the group's committed offsets; refused while the\n"
"                 group has members\n";

#define GROUPS_CMD "groups"

/* groups: the list. */
static int groupList(Cli *p){
  return cliQueryTable(p,
      "WITH ids(group_id) AS ("
      "  SELECT group_id FROM stream_groups WHERE members <> '[]'"
      "  UNION SELECT group_id FROM stream_offsets)"
      " SELECT i.group_id AS \"group\","
      "  coalesce(json_array_length(g.members), 0) AS members,"
      "  g.generation, g.leader,"
      "  (SELECT sum(l.lag) FROM stream_lag l"
      "    WHERE l.group_id = i.group_id) AS lag"
      " FROM ids i LEFT JOIN stream_groups g ON g.group_id = i.group_id"
      " ORDER BY 1", 0, 1, 0);
}

/* describe G */
static int groupDescribe(Cli *p, int argc, char **argv){
  sqlite3_stmt *pStmt = 0;
  int rc, nRow = 0;
  if( argc!=2 || argv[1][0]=='-' ){
    return cliUsage(GROUPS_CMD, "groups describe needs exactly one GROUP");
  }
  rc = cliPrepare1(p, "SELECT count(*) FROM (SELECT group_id FROM stream_lag"
                   " WHERE group_id = ?1 UNION ALL SELECT group_id"
                   " FROM stream_groups WHERE group_id = ?1)", argv[1], &pStmt);
  if( rc==CLI_OK ){
    if( sqlite3_step(pStmt)==SQLITE_ROW ) nRow = sqlite3_column_int(pStmt, 0);
    rc = cliRc(p, sqlite3_finalize(pStmt));
  }
  if( rc==CLI_OK && nRow==0 ) rc = cliError("no such group: %s", argv[1]);
  if( rc==CLI_OK ) rc = cliQueryTable(p,
      "SELECT 'Group: ' || group_id || '  Generation: ' || generation"
      " || '  Leader: ' || coalesce(leader, '-') || '  Members: '"
      " || coalesce((SELECT group_concat(value, ', ')"
      "              FROM json_each(members)), '-')"
      " FROM stream_groups WHERE group_id = ?1", argv[1], 0, 0);
  if( rc==CLI_OK ){
    rc = cliQueryTable(p,
        "SELECT l.topic, l.partition, l.committed AS current_offset,"
        " l.high_watermark AS log_end_offset, l.lag,"
        " (SELECT m.key FROM stream_groups g, json_each(g.assignment) m,"
        "    json_each(m.value) t, json_each(t.value) x"
        "  WHERE g.group_id = l.group_id AND t.key = l.topic"
        "    AND x.value = l.partition) AS member"
        " FROM stream_lag l WHERE l.group_id = ?1"
        " ORDER BY l.topic, l.partition", argv[1], 1, 0);
  }
  return rc;
}

/* delete G: its committed offsets, refused while it has members. */
static int groupDelete(Cli *p, int argc, char **argv){
  sqlite3_stmt *pStmt = 0;
  int rc, nMember = 0, nDeleted = 0;
  if( argc!=2 || argv[1][0]=='-' ){
    return cliUsage(GROUPS_CMD, "groups delete needs exactly one GROUP");
  }
  rc = cliExec(p, "BEGIN IMMEDIATE");
  if( rc==CLI_OK ){
    rc = cliPrepare1(p,
        "SELECT json_array_length(members) FROM stream_groups"
        " WHERE group_id = ?1", argv[1], &pStmt);
  }
  if( rc==CLI_OK ){
    if( sqlite3_step(pStmt)==SQLITE_ROW ) nMember = sqlite3_column_int(pStmt, 0);
    rc = cliRc(p, sqlite3_reset(pStmt));
    sqlite3_finalize(pStmt);
  }
  if( rc==CLI_OK && nMember>0 ){
    rc = cliError("group %s has %d member(s): stop its consumers first",
                  argv[1], nMember);
  }
  if( rc==CLI_OK ){
    rc = cliPrepare1(p, "DELETE FROM stream_offsets WHERE group_id = ?1",
                     argv[1], &pStmt);
  }
  if( rc==CLI_OK ){
    rc = cliStepDone(p, pStmt);
    nDeleted = sqlite3_changes(p->db);
    sqlite3_finalize(pStmt);
  }
  if( rc==CLI_OK && nDeleted==0 ){
    rc = cliError("no such group: %s (no committed offsets)", argv[1]);
  }
  if( rc==CLI_OK ) rc = cliExec(p, "COMMIT");
  if( !sqlite3_get_autocommit(p->db) ) sqlite3_exec(p->db, "ROLLBACK", 0,0,0);
  if( rc==CLI_OK ){
    printf("Deleted the committed offsets of group %s (%d partitions).\n",
           argv[1], nDeleted);
  }
  return rc;
}

/* The plan of reset-offsets: ?1 group, ?2 topic, ?3 JSON array of
** partitions or NULL, ?4 mode, ?5 its value. */
#define GROUP_PLAN_SQL \
  "CREATE TEMP TABLE stream_cli_plan AS" \
  " SELECT p.topic, p.partition, o.offset AS current_offset," \
  "  max(p.log_start_offset, min(p.high_watermark, CASE ?4" \
  "   WHEN 'earliest' THEN p.log_start_offset" \
  "   WHEN 'latest' THEN p.high_watermark" \
  "   WHEN 'datetime' THEN coalesce(stream_offset_for_time(p.topic," \
  "     p.partition, ?5), p.high_watermark)" \
  "   WHEN 'offset' THEN ?5" \
  "   ELSE coalesce(o.offset, p.log_start_offset) + ?5 END)) AS new_offset" \
  " FROM stream_partitions p LEFT JOIN stream_offsets o" \
  "   ON o.group_id = ?1 AND o.topic = p.topic AND o.partition = p.partition" \
  " WHERE p.topic = ?2" \
  "  AND (?3 IS NULL OR p.partition IN (SELECT value FROM json_each(?3)))"

/* reset-offsets G --topic T[:P,...] MODE [--execute] */
static int groupResetOffsets(Cli *p, int argc, char **argv){
  const char *zGroup = 0, *zTopicArg = 0, *zMode = 0, *zModeVal = 0;
  char *zTopic = 0, *zParts = 0;
  sqlite3_int64 iVal = 0;
  sqlite3_stmt *pStmt = 0;
  int i, rc = CLI_OK, bExecute = 0, nTopicPart = 0, nRow = 0, nMode = 0;
  static const char *azFlag[] = { "--to-earliest", "earliest",
                                  "--to-latest", "latest" };
  static const char *azValued[] = { "--to-datetime", "datetime",
                                    "--to-offset", "offset",
                                    "--shift-by", "shift" };
  for(i=1; rc==CLI_OK && i<argc; i++){
    const char *zVal = 0;
    int m, k, bDone = 0;
    for(k=0; k<4; k+=2){
      if( strcmp(argv[i], azFlag[k])==0 ){
        zMode = azFlag[k+1];
        nMode++;
        bDone = 1;
      }
    }
    for(k=0; !bDone && k<6; k+=2){
      m = cliOptArg(argc, argv, &i, 0, azValued[k], &zVal);
      if( m<0 ) return cliUsage(GROUPS_CMD, "%s needs a value", argv[i]);
      if( m>0 ){
        zMode = azValued[k+1];
        zModeVal = zVal;
        nMode++;
        bDone = 1;
      }
    }
    if( bDone ) continue;
    m = cliOptArg(argc, argv, &i, 0, "--topic", &zVal);
    if( m<0 ) return cliUsage(GROUPS_CMD, "--topic needs a value");
    if( m>0 ){
      zTopicArg = zVal;
    }else if( strcmp(argv[i], "--execute")==0 ){
      bExecute = 1;
    }else if( strcmp(argv[i], "--dry-run")==0 ){
      bExecute = 0;
    }else{
      rc = cliPositional(GROUPS_CMD, argv[i], &zGroup);
    }
  }
  if( rc ) return rc;
  if( zGroup==0 ) return cliUsage(GROUPS_CMD, "reset-offsets needs a GROUP");
  if( zTopicArg==0 ) return cliUsage(GROUPS_CMD, "reset-offsets needs --topic");
  if( nMode!=1 ){
    return cliUsage(GROUPS_CMD, "reset-offsets needs exactly one of "
        "--to-earliest, --to-latest, --to-datetime, --to-offset, --shift-by");
  }
  if( zModeVal && strcmp(zMode, "datetime")==0 ){
    if( cliParseTime(zModeVal, &iVal) ){
      return cliUsage(GROUPS_CMD, "--to-datetime: cannot read time \"%s\"",
                      zModeVal);
    }
  }else if( zModeVal ){
    rc = cliParseInt(GROUPS_CMD, strcmp(zMode, "shift")==0 ? "--shift-by"
                     : "--to-offset", zModeVal,
                     strcmp(zMode, "shift")==0 ? -INT64_MAX/2 : 0,
                     INT64_MAX/2, &iVal);
    if( rc ) return rc;
  }

  /* TOPIC or TOPIC:P,P,... (the partitions as a JSON array) */
  {
    const char *zColon = strchr(zTopicArg, ':');
    zTopic = sqlite3_mprintf("%.*s", zColon ? (int)(zColon-zTopicArg)
                             : (int)strlen(zTopicArg), zTopicArg);
    if( zColon ){
      const char *z;
      for(z=zColon+1; *z; z++){
        if( !((*z>='0' && *z<='9') || (*z==',' && z[1] && z[-1]!=':'
              && z[-1]!=',')) ){
          sqlite3_free(zTopic);
          return cliUsage(GROUPS_CMD, "--topic is TOPIC or TOPIC:P,P,...,"
                          " got \"%s\"", zTopicArg);
        }
      }
      zParts = sqlite3_mprintf("[%s]", zColon+1);
    }
  }
  if( zTopic==0 || (strchr(zTopicArg, ':') && zParts==0) ){
    rc = cliError("out of memory");
  }
  if( rc==CLI_OK ) rc = cliTopicPartitions(p, zTopic, &nTopicPart);
  if( rc==CLI_OK ) rc = cliExec(p, "BEGIN IMMEDIATE");
  if( rc==CLI_OK ) rc = cliPrepare(p, GROUP_PLAN_SQL, &pStmt);
  if( rc==CLI_OK ){
    sqlite3_bind_text(pStmt, 1, zGroup, -1, SQLITE_STATIC);
    sqlite3_bind_text(pStmt, 2, zTopic, -1, SQLITE_STATIC);
    if( zParts ) sqlite3_bind_text(pStmt, 3, zParts, -1, SQLITE_STATIC);
    sqlite3_bind_text(pStmt, 4, zMode, -1, SQLITE_STATIC);
    sqlite3_bind_int64(pStmt, 5, iVal);
    rc = cliStepDone(p, pStmt);
    sqlite3_finalize(pStmt);
  }
  /* Apply (stream_commit refuses while the group has live members). */
  if( rc==CLI_OK ){
    rc = cliPrepare1(p, "SELECT stream_commit(?1, topic, partition,"
                     " new_offset) FROM temp.stream_cli_plan", zGroup, &pStmt);
    if( rc==CLI_OK ){
      rc = cliStepDone(p, pStmt);
      sqlite3_finalize(pStmt);
    }
  }
  if( rc==CLI_OK ){
    rc = cliQueryTable(p,
        "SELECT ?1 AS \"group\", topic, partition, current_offset,"
        " new_offset FROM temp.stream_cli_plan ORDER BY partition",
        zGroup, 1, &nRow);
  }
  if( rc==CLI_OK && nRow==0 ){
    rc = cliError("no partition of topic %s matches %s", zTopic, zTopicArg);
  }
  if( rc==CLI_OK ) rc = cliExec(p, "DROP TABLE temp.stream_cli_plan");
  if( rc==CLI_OK && bExecute ) rc = cliExec(p, "COMMIT");
  if( !sqlite3_get_autocommit(p->db) ) sqlite3_exec(p->db, "ROLLBACK", 0,0,0);
  if( rc==CLI_OK ){
    printf(bExecute ? "Committed the new offsets of group %s.\n"
           : "Dry run: nothing changed (add --execute to apply the plan "
             "to group %s).\n", zGroup);
  }
  sqlite3_free(zTopic);
  sqlite3_free(zParts);
  return rc;
}

int cliGroups(Cli *p, int argc, char **argv){
  if( argc<2 ) return groupList(p);
  if( strcmp(argv[1], "list")==0 && argc==2 ) return groupList(p);
  if( strcmp(argv[1], "describe")==0 ){
    return groupDescribe(p, argc-1, argv+1);
  }
  if( strcmp(argv[1], "reset-offsets")==0 ){
    return groupResetOffsets(p, argc-1, argv+1);
  }
  if( strcmp(argv[1], "delete")==0 ) return groupDelete(p, argc-1, argv+1);
  return cliUsage(GROUPS_CMD, "unknown groups subcommand \"%s\"", argv[1]);
}
