# crash_worker.tcl - the workload of test/crash.test, run in a child
# process that the test kills with SIGKILL at random moments.
#
#   tclsh crash_worker.tcl EXT DB ACKFILE READYFILE SEED ?OPS?
#
# Runs random operations on the topics crash.test creates, each in its own
# SQLite transaction, until killed (or until OPS operations are done):
#
#   produce     one message (stream_produce or INSERT, keyed or not)
#   batch       stream_produce_batch of 2..8 messages
#   idem        an idempotent INSERT (producer id + sequence); at start-up
#               the last announced send is sent again, as a producer whose
#               previous process died without an answer does
#   poll        stream_poll by one of two group members (two connections),
#               each record written to table "processed", then
#               stream_commit_sync or stream_commit per partition, all in
#               one transaction (exactly-once processing)
#   maintain    stream_maintain(), stream_tier('t'), stream_compact('c'),
#               in autocommit or inside BEGIN ... COMMIT
#
# Every message value is {"id":N,...} with N unique; in the transaction
# that produces it the worker writes its ledger row (id, topic, partition,
# offset, key) into table "ledger" of the same database.  After COMMIT
# returns, and only then, it appends to ACKFILE a line
#   P id id ...              messages committed
#   C topic/partition/offset ...   records processed and committed
# Before an idempotent send it appends "I producer topic seq id" (the send
# it may have to repeat).  A check the worker makes itself that fails is
# written as "E message" and the worker exits with status 3.  READYFILE is
# created once the extension is loaded and the group joined.  With
# STREAM_CRASH_CKPT=1 in the environment, both connections run the
# checkpointer (stream_checkpointer(1), wal_autocheckpoint=20).
package require sqlite3
lassign $argv ext dbfile ackfile readyfile seed maxops
if {$maxops eq ""} { set maxops -1 }
expr {srand($seed)}

set ack [open $ackfile a]
fconfigure $ack -buffering line

proc fail {msg} {
  puts $::ack "E $msg"
  flush $::ack
  exit 3
}

proc busy_retry {script} {
  for {set i 0} {$i < 1000} {incr i} {
    set rc [catch {uplevel 1 $script} msg opts]
    if {$rc == 0} { return $msg }
    catch { db eval ROLLBACK }
    catch { db2 eval ROLLBACK }
    if {![string match "*locked*" $msg] && ![string match "*busy*" $msg]} {
      return -options $opts $msg
    }
    after 5
  }
  fail "gave up after SQLITE_BUSY: $msg"
}

foreach h {db db2} {
  sqlite3 $h $dbfile
  $h timeout 5000
  $h enable_load_extension 1
  $h eval { SELECT load_extension($ext) }
  # STREAM_CRASH_CKPT: both connections checkpoint through the
  # checkpointer (ext/checkpoint.c), every 20 frames, so that kills land
  # in its checkpoints and in the committer's.
  if {[info exists ::env(STREAM_CRASH_CKPT)] && $::env(STREAM_CRASH_CKPT)} {
    $h eval { PRAGMA wal_autocheckpoint=20 }
    set st [$h eval { SELECT stream_checkpointer(1) ->> '$.on' }]
    if {$st ne "1"} { fail "checkpointer not on: $st" }
  }
}

set gopts {{"auto.offset.reset":"earliest","enable.auto.commit":false,"session.timeout.ms":600000,"max.poll.interval.ms":600000}}
set members {db m1 db2 m2}
foreach {h m} $members {
  busy_retry { $h eval { SELECT stream_join('g', $m, '["a","t"]', $gopts) } }
}

proc rnd {n} { expr {int(rand()*$n)} }
proc pad {} { string repeat x [rnd 120] }

# Next offsets of every partition of TOPIC: a dict partition -> offset.
proc hwms {topic} {
  set d [dict create]
  db eval { SELECT partition, max(next_offset, coalesce((SELECT max(offset) + 1
               FROM _stream_messages m WHERE m.topic = p.topic
                AND m.partition = p.partition), 0)) AS hwm
               FROM _stream_partitions p WHERE topic=$topic } {
    dict set d $partition $hwm
  }
  return $d
}

# Record the messages produced in this transaction since BEFORE (hwms) in
# the ledger; they must be exactly the ids in WANT.  Returns the ids.
proc ledger_new {topic before want} {
  set got [list]
  dict for {p o} $before {
    set p [expr {int($p)}]
    db eval { SELECT offset, key, value->>'id' AS id FROM stream_messages
               WHERE topic=$topic AND partition=$p AND offset>=$o
               ORDER BY offset } {
      db eval { INSERT INTO ledger(id, topic, partition, offset, key)
                VALUES($id, $topic, $p, $offset, $key) }
      lappend got $id
    }
  }
  if {[lsort -integer $got] ne [lsort -integer $want]} {
    fail "$topic: produced ids {$want} but found {$got} after the high watermarks {$before}"
  }
  return $got
}

proc next_id {} {
  db onecolumn { SELECT max(coalesce(max(id), 0), 0) + 1 FROM ledger }
}

proc key_for {topic} {
  switch -- $topic {
    a { if {[rnd 3] == 0} { return "" } else { return "a[rnd 50]" } }
    r { return "" }
    c { return "k[rnd 8]" }
    t { return "t[rnd 20]" }
  }
}

proc op_produce {} {
  set topic [lindex {a a r c t} [rnd 5]]
  db eval { BEGIN IMMEDIATE }
  set id [next_id]
  set before [hwms $topic]
  set key [key_for $topic]
  set val [format {{"id":%d,"pad":"%s"}} $id [pad]]
  switch -- [rnd 3] {
    0 { db eval { SELECT stream_produce($topic, nullif($key, ''), $val) } }
    1 {
      set np [dict size $before]
      set part [rnd $np]
      if {$key ne ""} {
        db eval { SELECT stream_produce($topic, $key, $val, NULL, NULL) }
      } else {
        db eval { SELECT stream_produce($topic, nullif($key, ''), $val, NULL, $part) }
      }
    }
    2 { db eval { INSERT INTO stream_messages(topic, key, value)
                  VALUES($topic, nullif($key, ''), $val) } }
  }
  ledger_new $topic $before [list $id]
  db eval { COMMIT }
  puts $::ack "P $id"
}

proc op_batch {} {
  set topic [lindex {a r c t} [rnd 4]]
  db eval { BEGIN IMMEDIATE }
  set id [next_id]
  set before [hwms $topic]
  set n [expr {2 + [rnd 7]}]
  set elems [list]
  set ids [list]
  for {set i 0} {$i < $n} {incr i; incr id} {
    set key [key_for $topic]
    set k [expr {$key eq "" ? "null" : "\"$key\""}]
    lappend elems [format {{"key":%s,"value":{"id":%d,"pad":"%s"}}} $k $id [pad]]
    lappend ids $id
  }
  set json "\[[join $elems ,]\]"
  set got [db onecolumn { SELECT stream_produce_batch($topic, $json) }]
  if {$got != $n} { fail "batch of $n produced $got" }
  ledger_new $topic $before $ids
  db eval { COMMIT }
  puts $::ack "P $ids"
}

# An idempotent send of (seq, id) by producer P to topic a; a repeat of a
# send that was committed must produce nothing.
proc idem_send {seq id} {
  set seq [expr {int($seq)}]
  set id [expr {int($id)}]
  db eval { BEGIN IMMEDIATE }
  set before [hwms a]
  set val [format {{"id":%d,"pad":"idem"}} $id]
  db eval { INSERT INTO stream_messages(topic, key, value, producer_id, producer_seq)
            VALUES('a', 'p' || $seq, $val, 'P', $seq) }
  set have [db onecolumn { SELECT count(*) FROM ledger WHERE id=$id }]
  if {$have} {
    ledger_new a $before {}
  } else {
    ledger_new a $before [list $id]
  }
  db eval { COMMIT }
  puts $::ack "P $id"
}

proc op_idem {} {
  set seq [db onecolumn { SELECT coalesce(max(seq) + 1, 0) FROM _stream_producers
                          WHERE producer_id='P' AND topic='a' }]
  # Idempotent sends have ids of their own, -1 - seq: a send that is lost
  # and made again under the same sequence keeps its id.
  set id [expr {-1 - $seq}]
  puts $::ack "I P a $seq $id"
  busy_retry { idem_send $seq $id }
}

proc op_poll {} {
  set i [rnd 2]
  set h [lindex $::members [expr {2*$i}]]
  set m [lindex $::members [expr {2*$i+1}]]
  set n [expr {1 + [rnd 20]}]
  $h eval { BEGIN IMMEDIATE }
  set done [list]
  set last [dict create]
  $h eval { SELECT topic, partition, offset, value->>'id' AS id
              FROM stream_poll('g', $m, $n) } r {
    $h eval { INSERT INTO processed(topic, partition, offset, id, member)
              VALUES($r(topic), $r(partition), $r(offset), $r(id), $m) }
    lappend done "$r(topic)/$r(partition)/$r(offset)"
    dict set last "$r(topic) $r(partition)" $r(offset)
  }
  if {[rnd 2]} {
    $h eval { SELECT stream_commit_sync('g', $m) }
  } else {
    dict for {tp o} $last {
      lassign $tp topic part
      set part [expr {int($part)}]
      set next [expr {$o + 1}]
      $h eval { SELECT stream_commit('g', $topic, $part, $next, 'w', $m) }
    }
  }
  $h eval { COMMIT }
  if {[llength $done]} { puts $::ack "C $done" }
}

proc op_maintain {} {
  set sql [lindex {
    {SELECT stream_maintain()}
    {SELECT stream_tier('t')}
    {SELECT stream_compact('c')}
    {SELECT stream_maintain('r')}
  } [rnd 4]]
  if {[rnd 2]} {
    db eval { BEGIN IMMEDIATE }
    db eval $sql
    db eval { COMMIT }
  } else {
    db eval $sql
  }
}

# Start-up: repeat the last announced idempotent send.
set lastI ""
if {![catch {open $ackfile r} fd]} {
  foreach line [split [read $fd] "\n"] {
    if {[string match "I P a *" $line] && [llength $line] == 5} {
      set lastI $line
    }
  }
  close $fd
}
if {$lastI ne ""} {
  lassign $lastI - - - seq id
  busy_retry { idem_send $seq $id }
}

close [open $readyfile w]

set ops {produce produce produce batch batch idem poll poll poll maintain}
for {set k 0} {$maxops < 0 || $k < $maxops} {incr k} {
  set op [lindex $ops [rnd [llength $ops]]]
  busy_retry { op_$op }
}
foreach h {db db2} { $h close }
