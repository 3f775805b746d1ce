# tester.tcl - the sqlite-stream test harness, in the vocabulary of SQLite's
# own test/tester.tcl, for Debian's Tcl sqlite3 package.
#
# A test file starts with
#
#   set testdir [file dirname $argv0]
#   source $testdir/tester.tcl
#   set testprefix produce1          ;# optional: names become produce1-1.1
#
# and ends with finish_test.  Database handle "db" is open on test.db in
# the current directory with the extension (env STREAM_EXT, default
# ./stream0) loaded.  Commands:
#
#   do_test NAME SCRIPT EXPECTED        SCRIPT's result equals EXPECTED
#   do_execsql_test NAME SQL ?EXPECTED? the rows of SQL, as one flat list
#   do_catchsql_test NAME SQL EXPECTED  {0 rows} or {1 errmsg}
#   do_eqp_test NAME SQL EXPECTED       EXPLAIN QUERY PLAN's detail lines
#                                       (joined by newlines) contain
#                                       EXPECTED as a substring
#
# EXPECTED of the form /REGEX/ must match the result (a list joined by
# spaces; for do_eqp_test the joined plan), ~/REGEX/ must not match.
#   execsql SQL ?DB?, catchsql SQL ?DB?, reset_db, forcedelete FILE...,
#   stream_load DB, sqlite3_open FILE ?DB?, stream_use_store ?DB? ?DIR?,
#   finish_test
#
# finish_test prints "N passed, N failed" and exits non-zero on failure.
# An error raised by SCRIPT or SQL is a failure; a Tcl error outside a
# test ends the file and is counted as a failure by the runner.

package require sqlite3

if {![info exists ::tester_loaded]} {
  set ::tester_loaded 1
  set ::nPass 0
  set ::nFail 0
  set ::aFailed [list]
  if {![info exists testdir]} { set testdir [file dirname [info script]] }
  if {[info exists ::env(STREAM_EXT)] && $::env(STREAM_EXT) ne ""} {
    set ::stream_ext $::env(STREAM_EXT)
  } else {
    set ::stream_ext ./stream0
  }
  set ::stream_verbose [expr {[info exists ::env(STREAM_VERBOSE)] && $::env(STREAM_VERBOSE) ne "" && $::env(STREAM_VERBOSE) ne "0"}]
}

# Load the extension into database handle $db.
proc stream_load {{db db}} {
  $db enable_load_extension 1
  $db eval { SELECT load_extension($::stream_ext) }
}

# Open FILE as handle DB and load the extension.
proc sqlite3_open {file {db db}} {
  sqlite3 $db $file
  stream_load $db
  return $db
}

proc forcedelete {args} {
  foreach f $args { file delete -force -- $f }
}

# Close db, delete test.db and its journals, reopen and load the extension.
proc reset_db {} {
  catch { db close }
  forcedelete test.db test.db-journal test.db-wal test.db-shm
  sqlite3_open test.db db
}

# Give database handle DB a warm store (warm.store): directory DIR, made if
# missing; by default <database file>.stream/warm, where versions before
# warm.store became opt-in kept segments by default.  Returns DIR.
#
# With STREAM_TEST_S3 set to "ENDPOINT DATADIR BUCKET" (test/s3.test runs the
# warm-tier tests so, against s3rver), the store is the prefix "p<DIR>" of
# the bucket instead, and DIR still names it in the tests: store_path DIR
# LOC is where the bytes of object LOC lie on disk either way (s3rver keeps
# them in DATADIR/BUCKET/<key>._S3rver_object).
proc stream_s3 {} {
  expr {[info exists ::env(STREAM_TEST_S3)] && $::env(STREAM_TEST_S3) ne ""}
}
proc stream_store_url {dir} {
  if {![stream_s3]} { return "file://$dir" }
  lassign $::env(STREAM_TEST_S3) endpoint datadir bucket
  return "s3://$bucket/p$dir?endpoint=$endpoint&region=us-east-1&retries=2&timeout_ms=20000&part_size_mb=5"
}
proc store_path {dir {loc ""}} {
  if {![stream_s3]} {
    return [expr {$loc eq "" ? $dir : [file join $dir $loc]}]
  }
  lassign $::env(STREAM_TEST_S3) endpoint datadir bucket
  set d [file join $datadir $bucket p [string trimleft $dir /]]
  return [expr {$loc eq "" ? $d : "[file join $d $loc]._S3rver_object"}]
}
# The bytes of a store object were changed in place (at store_path): under
# s3, the server is made to see a new version of the object (s3rver then
# recomputes its ETag from the bytes, as after a PUT of them); a no-op on a
# file:// store.
proc store_changed {f} {
  if {[stream_s3]} { file delete -- $f.md5 }
}
proc stream_use_store {{db db} {dir ""}} {
  if {$dir eq ""} {
    set dir "[$db one {SELECT file FROM pragma_database_list WHERE name='main'}].stream/warm"
  }
  file mkdir $dir
  set url [stream_store_url $dir]
  $db eval {SELECT stream_config('warm.store', $url)}
  return $dir
}

# Start shell command CMD (a server) in the background, its output read
# from the channel returned; it runs without the sanitizer preload of an
# ASan build, and a watchdog stops it when this test process is gone
# (killed, or ended by an error before it stopped its servers).  Stop it
# with stream_spawn_stop.
proc stream_spawn {cmd} {
  set me [pid]
  set sh "$cmd & c=\$!; trap 'kill \$c 2>/dev/null; exit 0' TERM; while kill -0 $me 2>/dev/null && kill -0 \$c 2>/dev/null; do sleep 1; done; kill \$c 2>/dev/null"
  set fd [open [list |env -u LD_PRELOAD -u ASAN_OPTIONS -u LSAN_OPTIONS -u UBSAN_OPTIONS sh -c $sh 2>@1] r]
  fconfigure $fd -buffering line
  return $fd
}
proc stream_spawn_stop {fd} {
  foreach p [pid $fd] { catch {exec kill $p} }
  catch {close $fd}
}

# Start s3rver (test/interop) on 127.0.0.1 at a random port with bucket
# BUCKET, data in DIR (emptied first).  Returns "ENDPOINT DIR BUCKET" (STREAM_TEST_S3's
# form), or "" with the reason in ::s3rver_why if node or s3rver is missing.
proc s3rver_start {dir bucket {lax 0}} {
  set node [auto_execok node]
  set bin [file join $::testdir interop node_modules s3rver bin s3rver.js]
  if {$node eq "" || ![file exists $bin]} {
    set ::s3rver_why "node or test/interop/node_modules/s3rver is missing"
    return ""
  }
  file delete -force $dir
  file mkdir $dir
  # (lax: any well-formed signature is accepted, whatever the secret; the
  # signatures are then checked by botocore, test/s3_sigcheck.py.)
  set opt [expr {$lax ? "--allow-mismatched-signatures" : ""}]
  # (s3rver makes ListObjectsV2 continuation tokens with DES, which
  # OpenSSL 3 has only in its legacy provider: without it a listing of
  # more than 1,000 keys fails with HTTP 500.)
  set legacy ""
  # (exec_host: without the sanitizer's preload, under which node fails.)
  if {![catch {exec_host $node --openssl-legacy-provider -e 0}]} {
    set legacy "--openssl-legacy-provider"
  }
  # (--service-endpoint localhost: virtual-host requests to
  # BUCKET.s3.localhost, a name libcurl resolves to the loopback itself.)
  set fd [stream_spawn "$node $legacy $bin -d $dir -a 127.0.0.1 -p 0 --silent $opt --service-endpoint localhost --configure-bucket $bucket"]
  fconfigure $fd -buffering line
  set port ""
  set t0 [clock seconds]
  while {$port eq "" && [clock seconds]-$t0 < 30 && [gets $fd line]>=0} {
    regexp {listening on [0-9.]+:([0-9]+)} $line -> port
  }
  if {$port eq ""} {
    catch {close $fd}
    set ::s3rver_why "s3rver did not start"
    return ""
  }
  set ::s3rver_fd $fd
  set ::s3rver_pid [pid $fd]
  return [list "http://127.0.0.1:$port" $dir $bucket]
}
proc s3rver_stop {} {
  if {[info exists ::s3rver_fd]} {
    stream_spawn_stop $::s3rver_fd
    unset ::s3rver_pid ::s3rver_fd
  }
}

proc execsql {sql {db db}} {
  set r [list]
  foreach v [uplevel [list $db eval $sql]] { lappend r $v }
  return $r
}

proc catchsql {sql {db db}} {
  set rc [catch { uplevel [list $db eval $sql] } msg]
  if {$rc} { return [list 1 $msg] }
  return [list 0 $msg]
}

proc stream_testname {name} {
  if {[info exists ::testprefix] && $::testprefix ne ""} {
    return "$::testprefix-$name"
  }
  return $name
}

# Compare RESULT with EXPECTED: exact (as strings, and as lists), or
# /regex/ / ~/regex/.
proc stream_match {result expected {joiner " "}} {
  if {[regexp {^(~?)/(.*)/$} $expected -> neg re]} {
    if {[catch {join $result $joiner} str]} { set str $result }
    set ok [regexp -- $re $str]
    if {$neg eq "~"} { set ok [expr {!$ok}] }
    return $ok
  }
  if {$result eq $expected} { return 1 }
  if {[catch {
    set bList [expr {[llength $result] == [llength $expected]}]
    if {$bList} {
      foreach a $result b $expected { if {$a ne $b} { set bList 0; break } }
    }
  }]} { return 0 }
  return $bList
}

proc stream_fail {name msg} {
  incr ::nFail
  lappend ::aFailed $name
  if {![info exists ::stream_quiet] || !$::stream_quiet} {
    puts "! $name failed: $msg"
    flush stdout
  }
}

proc stream_pass {name} {
  incr ::nPass
  if {$::stream_verbose} { puts "$name... Ok"; flush stdout }
}

proc do_test {name cmd expected} {
  set name [stream_testname $name]
  if {[catch {uplevel #0 $cmd} result opts]} {
    stream_fail $name "error: $result\n  [dict get $opts -errorinfo]"
    return
  }
  if {[stream_match $result $expected]} {
    stream_pass $name
  } else {
    stream_fail $name "\n  expected: \[$expected\]\n  got:      \[$result\]"
  }
}

proc do_execsql_test {name sql {expected {}}} {
  set name [stream_testname $name]
  if {[catch {uplevel #0 [list execsql $sql]} result]} {
    stream_fail $name "SQL error: $result\n  sql: [string trim $sql]"
    return
  }
  if {![regexp {^~?/.*/$} $expected]} {
    # Normalise whitespace/braces of a multi-line expected list.
    if {![catch {list {*}$expected} l]} { set expected $l }
  }
  if {[stream_match $result $expected]} {
    stream_pass $name
  } else {
    stream_fail $name "\n  sql:      [string trim $sql]\n  expected: \[$expected\]\n  got:      \[$result\]"
  }
}

proc do_catchsql_test {name sql expected} {
  set name [stream_testname $name]
  set result [uplevel #0 [list catchsql $sql]]
  if {[stream_match $result $expected]} {
    stream_pass $name
  } else {
    stream_fail $name "\n  sql:      [string trim $sql]\n  expected: \[$expected\]\n  got:      \[$result\]"
  }
}

proc do_eqp_test {name sql expected} {
  set name [stream_testname $name]
  if {[catch {
    set lines [list]
    db eval "EXPLAIN QUERY PLAN $sql" r { lappend lines $r(detail) }
    set plan [join $lines "\n"]
  } msg]} {
    stream_fail $name "SQL error: $msg\n  sql: [string trim $sql]"
    return
  }
  if {[regexp {^(~?)/(.*)/$} $expected -> neg re]} {
    set ok [regexp -- $re $plan]
    if {$neg eq "~"} { set ok [expr {!$ok}] }
  } else {
    set ok [expr {[string first $expected $plan] >= 0}]
  }
  if {$ok} {
    stream_pass $name
  } else {
    stream_fail $name "\n  sql:      [string trim $sql]\n  expected: \[$expected\]\n  plan:\n    [join $lines "\n    "]"
  }
}

# Run an external program with the sanitizer preload removed from its
# environment (the compiler or nm must not run under ASan).  Returns its
# combined stdout+stderr; raises an error on a non-zero exit (the error
# message is the output, and -errorcode says how the child ended).
proc exec_host {args} {
  set saved [list]
  foreach v {LD_PRELOAD ASAN_OPTIONS LSAN_OPTIONS UBSAN_OPTIONS} {
    if {[info exists ::env($v)]} {
      lappend saved $v $::env($v)
      unset ::env($v)
    }
  }
  set rc [catch { exec {*}$args 2>@1 } out opts]
  foreach {v val} $saved { set ::env($v) $val }
  if {$rc} {
    regsub {\n?child process exited abnormally$} $out {} out
  }
  return -options $opts $out
}

# Digests of a database and its warm store (catalogue.test, hostile.test).
# The files under DIR, with size and CRC-32 of their bytes, sorted.
proc store_files {dir} {
  set r [list]
  foreach p [lsort [glob -nocomplain -directory $dir *]] {
    if {[file isdirectory $p]} {
      lappend r {*}[store_files $p]
    } else {
      set fd [open $p rb]
      lappend r "$p [file size $p] [zlib crc32 [read $fd]]"
      close $fd
    }
  }
  return $r
}
# The full content of the database (schema, then every row of every
# table, sorted on all columns) and of its warm store.
proc db_content {{db db} {store test.db.stream}} {
  set out ""
  $db eval {SELECT type, name, tbl_name, sql FROM sqlite_schema ORDER BY name} r {
    append out "schema $r(type) $r(name) $r(tbl_name) $r(sql)\n"
  }
  foreach t [$db eval {SELECT name FROM sqlite_schema WHERE type='table'
                       ORDER BY name}] {
    set cols [$db eval {SELECT name FROM pragma_table_info($t)}]
    if {$t eq "_stream_members"} {
      # Any member-scoped call of a live member is a heartbeat, failed or
      # not (docs/groups.md, Sessions): its heartbeat_at may move.
      set cols [lsearch -all -inline -not -exact $cols heartbeat_at]
    }
    set expr [join [lmap c $cols {format {quote("%s")} $c}] "||'|'||"]
    set order [join [lmap c $cols {format {"%s"} $c}] ","]
    $db eval "SELECT $expr AS row FROM \"$t\" ORDER BY $order" r {
      append out "$t $r(row)\n"
    }
  }
  append out [join [store_files $store] \n]
  return $out
}
# A digest of it: CRC-32 and length.
proc db_digest {{db db} {store test.db.stream}} {
  set c [db_content $db $store]
  format %08x-%d [zlib crc32 $c] [string length $c]
}

proc finish_test {} {
  catch { db close }
  catch { db2 close }
  if {$::nFail} {
    puts "Failures: $::aFailed"
  }
  puts "$::nPass passed, $::nFail failed"
  flush stdout
  exit [expr {$::nFail ? 1 : 0}]
}

# Under the sanitizers (make check sets STREAM_SANITIZE), one more
# connection keeps stream0.so loaded until the process exits, so that
# LeakSanitizer, which reports at exit, can still name its functions.
if {[info exists ::env(STREAM_SANITIZE)] && $::env(STREAM_SANITIZE) ne ""
    && ![llength [info commands ::stream_pin]]} {
  catch { sqlite3_open :memory: ::stream_pin }
}

# Start each file with a fresh database.  A failure to load the extension
# is a failure of the file, but the tests that follow still run.
if {[catch reset_db msg]} {
  stream_fail "load_extension($::stream_ext)" $msg
}

# Child processes (spawned with "exec ... &"): kill one, ask whether it is
# still running (a zombie counts as gone), wait for it.  They read /proc
# and run kill without the sanitizer preload (see exec_host): an external
# program started with it can hang.
proc proc_kill {pid {sig KILL}} {
  catch { exec_host kill -$sig $pid }
}
proc proc_alive {pid} {
  if {[catch {open /proc/$pid/stat} fd]} { return 0 }
  set st [read $fd]
  close $fd
  if {[regexp {\) (\S)} $st -> state] && ($state eq "Z" || $state eq "X")} {
    return 0
  }
  return 1
}
proc proc_wait {pid {ms 60000}} {
  set end [expr {[clock milliseconds] + $ms}]
  while {[proc_alive $pid] && [clock milliseconds] < $end} { after 20 }
  expr {![proc_alive $pid]}
}
