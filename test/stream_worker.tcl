# stream_worker.tcl - a child process for the multi-process tests.
#
#   tclsh stream_worker.tcl EXT DB MODE ARGS...
#
# MODE eos GROUP MEMBER IN OUT BATCH ?SESSION_MS? ?IDLE_MS? ?WORK_MS?
#     consume-transform-produce, one SQLite transaction per batch:
#     poll IN, produce one OUT message per input (value = its origin),
#     wait WORK_MS (default 0: the processing time, which widens the
#     window between the poll and the commit), commit_sync, COMMIT;
#     exits after IDLE_MS (default 200) without messages.
# MODE auto GROUP MEMBER IN SECONDS
#     auto-commit consumer: records every message it sees in table seen
#     (in the poll's own transaction); runs for SECONDS.
# MODE produce TOPIC PRODUCER FIRST COUNT
#     produces COUNT messages with an idempotent producer id, sequence
#     FIRST.. (a restart resumes from the last sequence in the database).
package require sqlite3
lassign $argv ext dbfile mode
set args [lrange $argv 3 end]
sqlite3 db $dbfile
db timeout 10000
db enable_load_extension 1
db eval { SELECT load_extension($ext) }

proc retry {script} {
  # SQLITE_BUSY despite the timeout: roll back and try again.
  for {set i 0} {$i < 100} {incr i} {
    if {![catch {uplevel 1 $script} msg]} { return $msg }
    catch { db eval ROLLBACK }
    if {![string match "*locked*" $msg] && ![string match "*busy*" $msg]} {
      error $msg
    }
    after 10
  }
  error "gave up: $msg"
}

switch -- $mode {
  eos {
    lassign $args group member in out batch session idle work
    set batch [expr {int($batch)}]
    if {$session eq ""} { set session 60000 }
    if {$idle eq ""} { set idle 200 }
    if {$work eq ""} { set work 0 }
    set opts [format {{"auto.offset.reset":"earliest","enable.auto.commit":false,"session.timeout.ms":%d}} $session]
    retry { db eval { SELECT stream_join($group, $member, json_array($in), $opts) } }
    set lastseen [clock milliseconds]
    while {[clock milliseconds] - $lastseen < $idle} {
      set n [retry {
        db eval { BEGIN IMMEDIATE }
        set n 0
        set parts {}
        db eval { SELECT topic, partition, offset, key FROM stream_poll($group, $member, $batch) } r {
          if {$r(partition) ni $parts} { lappend parts $r(partition) }
          db eval { SELECT stream_produce($out, $r(key),
            json_object('p', $r(partition), 'o', $r(offset))) }
          incr n
        }
        if {$n > 0 && $work > 0} { after $work }
        set c [db eval { SELECT stream_commit_sync($group, $member) }]
        if {[info exists ::env(EOS_TRACE)] && $n > 0} {
          # the stress driver's trace: rows polled, partitions committed
          puts stderr "eos-trace $member polled $n from [llength $parts] committed $c"
        }
        db eval { COMMIT }
        set n
      }]
      if {$n == 0} { after 20 } else { set lastseen [clock milliseconds] }
    }
  }
  auto {
    lassign $args group member in seconds
    retry { db eval { CREATE TABLE IF NOT EXISTS seen(topic, partition, offset, member) } }
    retry { db eval { SELECT stream_join($group, $member, json_array($in),
      '{"auto.offset.reset":"earliest","auto.commit.interval.ms":0,"session.timeout.ms":2000}') } }
    set end [expr {[clock milliseconds] + $seconds*1000}]
    while {[clock milliseconds] < $end} {
      retry {
        db eval { BEGIN IMMEDIATE }
        db eval { SELECT topic, partition, offset FROM stream_poll($group, $member, 50) } r {
          db eval { INSERT INTO seen VALUES($r(topic), $r(partition), $r(offset), $member) }
        }
        db eval { COMMIT }
      }
      after 5
    }
    retry { db eval { SELECT stream_leave($group, $member) } }
  }
  produce {
    lassign $args topic producer first count
    set seq [retry { db eval { SELECT coalesce(max(seq)+1, 0) FROM _stream_producers
                               WHERE producer_id=$producer AND topic=$topic } }]
    while {$seq < $first + $count} {
      retry {
        db eval { BEGIN IMMEDIATE }
        for {set i 0} {$i < 20 && $seq < $first + $count} {incr i; incr seq} {
          db eval { INSERT INTO stream_messages(topic, key, value, producer_id, producer_seq)
                    VALUES($topic, $producer || '-' || $seq, json_object('seq', $seq), $producer, $seq) }
        }
        db eval { COMMIT }
      }
    }
  }
}
db close
