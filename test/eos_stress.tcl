# eos_stress.tcl - exactly-once under churn: consume-transform-produce
# workers (stream_worker.tcl, mode eos) with short sessions, killed with
# SIGKILL and replaced by new members at random moments, so that sessions
# run out while the others are inside their transactions (eos.test 3.2's
# flake, eos.test 5.*).  After each round every input must have exactly
# one output.
#
#   tclsh eos_stress.tcl EXT DIR ?ROUNDS? ?SECONDS? ?WORK_MS? ?SEED?
#
# Each round: 8 partitions of EOS_STRESS_MESSAGES inputs (default 3000),
# 6 workers (25 per batch, session.timeout.ms 400, WORK_MS of processing
# per batch), one killed and replaced every 300-700 ms while the workers
# are busy (at most SECONDS), then a last member drains the rest.  Before
# the fix of eos.test 5.* this lost about one round in four to a batch
# processed twice (8000 inputs, SECONDS 25, WORK_MS 20).
#
# Prints one line per round and exits 1 if any round duplicated or lost
# an input.  `make soak` runs it.
package require sqlite3
lassign $argv ext dir rounds seconds work seed
if {$rounds eq ""} { set rounds 5 }
if {$seconds eq ""} { set seconds 3 }
if {$work eq ""} { set work 10 }
if {$seed eq ""} { set seed [pid] }
expr {srand($seed)}
set worker [file join [file dirname [file normalize [info script]]] stream_worker.tcl]
set tclsh [info nameofexecutable]
set nmsg [expr {[info exists ::env(EOS_STRESS_MESSAGES)] ? $::env(EOS_STRESS_MESSAGES) : 3000}]
set session 400

proc spawn {args} {
  global tclsh worker ext dbfile
  exec $tclsh $worker $ext $dbfile {*}$args 2>@ stderr &
}
proc alive {pid} { expr {![catch {exec kill -0 $pid}]} }
proc reap {pid {ms 120000}} {
  set end [expr {[clock milliseconds] + $ms}]
  while {[alive $pid] && [clock milliseconds] < $end} {
    catch { exec true }          ;# lets Tcl reap finished children
    after 20
  }
  return [expr {![alive $pid]}]
}

set bad 0
file mkdir $dir
for {set r 0} {$r < $rounds} {incr r} {
  set dbfile [file join [file normalize $dir] stress-$r.db]
  foreach f [glob -nocomplain $dbfile*] { file delete $f }
  sqlite3 db $dbfile
  db timeout 10000
  db enable_load_extension 1
  db eval { SELECT load_extension($ext) }
  db eval {
    PRAGMA journal_mode=WAL;
    SELECT stream_create_topic('in', 8);
    SELECT stream_create_topic('out', 8);
  }
  db eval {
    WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i+1 FROM c WHERE i<$nmsg-1)
    INSERT INTO stream_messages(topic, key, value) SELECT 'in', 'k' || i, '' || i FROM c;
  }
  set next 0
  set live {}
  for {set i 0} {$i < 6} {incr i} {
    lappend live [spawn eos g w[incr next] in out 25 $session 800 $work]
  }
  set end [expr {[clock milliseconds] + $seconds*1000}]
  set kills 0
  # churn while there is work left (at most SECONDS)
  while {[clock milliseconds] < $end && [db eval {
      SELECT count(*) FROM stream_messages WHERE topic='out' }] < $nmsg*9/10} {
    after [expr {300 + int(rand()*400)}]
    # kill one (its session runs out while the others work), start another
    set k [expr {int(rand()*[llength $live])}]
    catch { exec kill -KILL [lindex $live $k] }
    incr kills
    lset live $k [spawn eos g w[incr next] in out 25 $session 800 $work]
  }
  set atend [db eval { SELECT count(*) FROM stream_messages WHERE topic='out' }]
  foreach pid $live { reap $pid }
  set last [spawn eos g drain in out 100 $session 1500 0]
  reap $last
  lassign [db eval {
    SELECT count(*), count(DISTINCT value) FROM stream_messages WHERE topic='out'
  }] nout ndistinct
  set dups [expr {$nout - $ndistinct}]
  set lost [expr {$nmsg - $ndistinct}]
  puts "round $r: kills $kills, $atend done during the kills, outputs $nout, distinct $ndistinct, duplicates $dups, missing $lost"
  if {$dups || $lost} {
    incr bad
    db eval {
      SELECT value AS v, group_concat(partition || '/' || offset, ' ') AS outs
        FROM stream_messages WHERE topic='out' GROUP BY v HAVING count(*) > 1
       ORDER BY v LIMIT 30
    } { puts "  duplicated input $v: outputs $outs" }
  }
  db close
  foreach f [glob -nocomplain $dbfile*] { file delete $f }
}
catch { file delete $dir }          ;# empty by now
puts "eos_stress: $rounds rounds, $bad bad (seed $seed)"
exit [expr {$bad ? 1 : 0}]
