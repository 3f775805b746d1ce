# crash_topic_worker.tcl - the workload of test/crash_topic.test, run in a
# child process that the test kills with SIGKILL at random moments.
#
#   tclsh crash_topic_worker.tcl EXT DB ACKFILE READYFILE SEED
#
# Two topics, each message's value {"inc":I,"id":N} or {"id":N} with N
# unique, its key, headers and timestamp functions of N (crash_topic.test
# checks them):
#   d  (2 partitions, warm tier) is deleted and created again (compacted
#      or not) now and then, in one transaction with the UPDATE of table
#      state's incarnation; produce (INSERT or stream_produce_batch, in a
#      transaction or autocommit), stream_tier, stream_compact and
#      stream_maintain, in a transaction or not.
#   e  (2 partitions, compacted, warm and cold tiers) is never deleted:
#      produce, stream_archive, stream_compact, stream_tier, and group g's
#      member m1 polling it, each record written to table processed and the
#      offsets committed in the same transaction (exactly-once).
# After COMMIT returns, and only then, it appends to ACKFILE "P inc id ..."
# (topic d), "E id ..." (topic e) or "D inc" (d deleted and created).
package require sqlite3
lassign $argv ext dbfile ackfile readyfile seed
expr {srand($seed)}
set ack [open $ackfile a]
fconfigure $ack -buffering line
sqlite3 db $dbfile
db timeout 5000
db enable_load_extension 1
db eval { SELECT load_extension($ext) }
set gopts {{"auto.offset.reset":"earliest","enable.auto.commit":false,"session.timeout.ms":600000,"max.poll.interval.ms":600000}}
db eval { SELECT stream_join('g', 'm1', '["e"]', $gopts) }
close [open $readyfile w]

proc rnd {n} { expr {int(rand()*$n)} }
set cfgs {
  {{"hot.retention.messages":3,"hot.retention.ms":-1,"retention.ms":-1,"compression.type":"zstd"}}
  {{"hot.retention.messages":2,"hot.retention.ms":-1,"retention.ms":-1,"cleanup.policy":"compact","min.cleanable.dirty.ratio":0,"compaction.head.messages":1,"delete.retention.ms":0}}
}
source [file join [file dirname [info script]] crash_topic_util.tcl]

# Run SQL in a transaction or in autocommit mode.
proc maybe_txn {sql} {
  if {[rnd 2]} {
    db eval BEGIN
    db eval $sql
    db eval COMMIT
  } else {
    db eval $sql
  }
}
# Batch elements for ids FROM.. (N of them), with VALUE a format of the id.
proc batch {from n fmt} {
  set el [list]
  for {set id $from} {$id < $from + $n} {incr id} {
    lappend el [format {{"key":"%s","value":%s,"headers":%s,"timestamp":%d}} \
                  [ct_key $id] [format $fmt $id] [ct_hdr $id] [ct_ts $id]]
  }
  return "\[[join $el ,]\]"
}

# stream_produce_batch of N messages from ID (batch's FMT) into TOPIC,
# advancing the id counter COL of table state: in a transaction, or (AUTO)
# in autocommit mode with the ids taken first (a kill then leaves a gap of
# ids, never reuses one).  Returns the ids.
proc batch_send {topic id n fmt col auto} {
  set j [batch $id $n $fmt]
  if {$auto} {
    db eval "UPDATE state SET $col=$col+$n"
  } else {
    db eval BEGIN
  }
  db eval { SELECT stream_produce_batch($topic, $j) }
  if {!$auto} {
    db eval "UPDATE state SET $col=$col+$n"
    db eval COMMIT
  }
  set ids [list]
  for {set i 0} {$i < $n} {incr i} { lappend ids [expr {$id + $i}] }
  return $ids
}

# One INSERT of message ID (value V) into TOPIC, in a transaction that
# advances the id counter COL of table state.
proc insert_one {topic id v col} {
  set h [ct_hdr $id]
  set k [ct_key $id]
  set ts [ct_ts $id]
  db eval BEGIN
  db eval { INSERT INTO stream_messages(topic, key, value, headers, timestamp)
            VALUES($topic, $k, $v, $h, $ts) }
  db eval "UPDATE state SET $col=$col+1"
  db eval COMMIT
}

proc op_e {} {
  set id [db one {SELECT eid FROM state}]
  switch -- [rnd 6] {
    0 {
      maybe_txn [lindex {{SELECT stream_archive('e')} {SELECT stream_compact('e')}
                         {SELECT stream_tier('e')} {SELECT stream_maintain('e')}} [rnd 4]]
    }
    1 {
      db eval BEGIN
      db eval { SELECT partition p, offset o FROM stream_poll('g', 'm1', 1 + abs(random() % 30)) } {
        db eval { INSERT INTO processed VALUES($p, $o) }
      }
      if {[rnd 2]} {
        db eval { SELECT stream_commit_sync('g', 'm1') }
      } else {
        db eval { SELECT p, max(o) + 1 AS n FROM processed GROUP BY p } {
          db eval { SELECT stream_commit('g', 'e', $p, $n, '', 'm1') }
        }
      }
      db eval COMMIT
    }
    2 - 3 {
      set ids [batch_send e $id [expr {2 + [rnd 5]}] {{"id":%d}} eid 0]
      puts $::ack "E $ids"
    }
    default {
      insert_one e $id [format {{"id":%d}} $id] eid
      puts $::ack "E $id"
    }
  }
}

proc op_d {} {
  lassign [db eval {SELECT inc, cmp, nid FROM state}] inc cmp id
  switch -- [rnd 40] {
    0 {
      set c [rnd 2]
      set cfg [lindex $::cfgs $c]
      db eval BEGIN
      db eval { SELECT stream_delete_topic('d') }
      db eval { SELECT stream_create_topic('d', 2, $cfg) }
      db eval { UPDATE state SET inc=inc+1, cmp=$c }
      db eval COMMIT
      puts $::ack "D [expr {$inc + 1}]"
    }
    1 - 2 - 3 - 4 - 5 {
      set sql [lindex {{SELECT stream_tier('d')} {SELECT stream_compact('d')}
                       {SELECT stream_maintain()} {SELECT stream_maintain('d')}} [rnd 4]]
      if {!$cmp && [string match *compact* $sql]} return
      maybe_txn $sql
    }
    6 - 7 - 8 - 9 - 10 - 11 - 12 - 13 - 14 - 15 {
      set fmt [format {{"inc":%d,"id":%%d}} $inc]
      set ids [batch_send d $id [expr {2 + [rnd 6]}] $fmt nid [rnd 2]]
      puts $::ack "P $inc $ids"
    }
    default {
      insert_one d $id [format {{"inc":%d,"id":%d}} $inc $id] nid
      puts $::ack "P $inc $id"
    }
  }
}

while 1 {
  if {[rnd 3] == 0} { op_e } else { op_d }
}
