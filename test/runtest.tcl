# runtest.tcl FILE.test - run one test file as runall.tcl does.
#
# Sources FILE (which sources tester.tcl and ends with finish_test).  A Tcl
# error that escapes the file is reported and counted as one more failure,
# and the passes counted before it are kept.  A file that returns without
# calling finish_test is a failure too.
if {[llength $argv] < 1} {
  puts stderr "usage: runtest.tcl FILE.test"
  exit 2
}
set argv0 [lindex $argv 0]
set argv [lrange $argv 1 end]
set rc [catch { uplevel #0 [list source $argv0] } msg opts]
if {![info exists ::nFail]} {
  set ::nPass 0
  set ::nFail 0
  set ::aFailed [list]
}
if {$rc == 1} {
  puts "! $argv0: Tcl error: [dict get $opts -errorinfo]"
} else {
  puts "! $argv0: finished without calling finish_test"
}
incr ::nFail
lappend ::aFailed [file tail $argv0]
if {[llength [info procs finish_test]]} {
  finish_test
}
puts "$::nPass passed, $::nFail failed"
exit 1
