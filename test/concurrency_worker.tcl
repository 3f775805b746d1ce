# concurrency_worker.tcl - one process of test/concurrency.test.
#
#   tclsh concurrency_worker.tcl EXT DB ACKFILE BUSY_MS MODE ARGS...
#
# BUSY_MS is the connection's busy_timeout (0: none, every lock conflict
# comes back at once as SQLITE_BUSY).  Every statement that fails with
# "database is locked" (SQLITE_BUSY, also SQLITE_BUSY_SNAPSHOT) rolls its
# transaction back and is retried; any other error ends the process with
# status 1 (the test fails).  Lines appended to ACKFILE after COMMIT:
#   P id ...        messages committed by a producer
#   C id ...        messages processed and committed by a consumer
#   B n             at exit: the number of SQLITE_BUSY answers retried
#
# MODE produce NAME TOPIC COUNT
#     produces COUNT messages {"id":"NAME-i"}: batches of 1..10 in
#     BEGIN IMMEDIATE ... COMMIT, or single autocommit stream_produce.
# MODE consume GROUP MEMBER TOPIC TOTAL DEFERRED
#     joins GROUP and polls TOPIC until table "consumed" holds TOTAL rows
#     (or 120 s pass); each poll, its rows in "consumed" and
#     stream_commit_sync are one transaction: BEGIN IMMEDIATE, or with
#     DEFERRED=1 a plain BEGIN (whose write can fail with
#     SQLITE_BUSY_SNAPSHOT: retried the same way).
package require sqlite3
lassign $argv ext dbfile ackfile busyms mode
set args [lrange $argv 5 end]
sqlite3 db $dbfile
db timeout $busyms
db enable_load_extension 1
db eval { SELECT load_extension($ext) }
set ack [open $ackfile a]
fconfigure $ack -buffering line
set nBusy 0
expr {srand([pid])}

proc retry {script} {
  for {set i 0} {$i < 100000} {incr i} {
    set rc [catch {uplevel 1 $script} msg opts]
    if {$rc == 0} { return $msg }
    catch { db eval ROLLBACK }
    if {![string match "*database is locked*" $msg]
        && ![string match "*database table is locked*" $msg]} {
      return -options $opts $msg
    }
    incr ::nBusy
    after [expr {int(rand()*3)}]
  }
  error "gave up after $i SQLITE_BUSY: $msg"
}

switch -- $mode {
  produce {
    lassign $args name topic count
    set i 0
    while {$i < $count} {
      set n [expr {min(1 + int(rand()*10), $count - $i)}]
      if {rand() < 0.25} {
        # one message, autocommit
        set v [format {{"id":"%s-%d"}} $name $i]
        retry { db eval { SELECT stream_produce($topic, $name || '-' || $i, $v) } }
        puts $ack "P $name-$i"
        incr i
        continue
      }
      set ids [list]
      retry {
        set ids [list]
        db eval { BEGIN IMMEDIATE }
        for {set j $i} {$j < $i + $n} {incr j} {
          set v [format {{"id":"%s-%d"}} $name $j]
          if {$j % 2} {
            db eval { SELECT stream_produce($topic, NULL, $v) }
          } else {
            db eval { INSERT INTO stream_messages(topic, key, value)
                      VALUES($topic, $name || '-' || $j, $v) }
          }
          lappend ids $name-$j
        }
        db eval { COMMIT }
      }
      puts $ack "P $ids"
      incr i $n
    }
  }
  consume {
    lassign $args group member topic total deferred
    set opts {{"auto.offset.reset":"earliest","enable.auto.commit":false,"session.timeout.ms":60000}}
    # Group calls in autocommit mode are several transactions (see
    # docs/reliability.md): join and leave run in BEGIN IMMEDIATE.
    retry {
      db eval { BEGIN IMMEDIATE }
      db eval { SELECT stream_join($group, $member, json_array($topic), $opts) }
      db eval { COMMIT }
    }
    set end [expr {[clock milliseconds] + 120000}]
    while {[clock milliseconds] < $end} {
      set ids [retry {
        set ids [list]
        db eval [expr {$deferred ? "BEGIN" : "BEGIN IMMEDIATE"}]
        db eval { SELECT value->>'id' AS id, partition, offset
                    FROM stream_poll($group, $member, 1 + abs(random() % 25)) } {
          db eval { INSERT INTO consumed(id, member, partition, offset)
                    VALUES($id, $member, $partition, $offset) }
          lappend ids $id
        }
        db eval { SELECT stream_commit_sync($group, $member) }
        db eval { COMMIT }
        set ids
      }]
      if {[llength $ids]} {
        puts $ack "C $ids"
        continue
      }
      set n [retry { db onecolumn { SELECT count(*) FROM consumed } }]
      if {$n >= $total} break
      after 5
    }
    retry {
      db eval { BEGIN IMMEDIATE }
      db eval { SELECT stream_leave($group, $member) }
      db eval { COMMIT }
    }
  }
}
puts $ack "B $nBusy"
db close
