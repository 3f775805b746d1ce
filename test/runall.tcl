# runall.tcl ?FILE.test ...? - run the whole sqlite-stream test suite.
#
# Runs every test/*.test file (or the files named) in its own child tclsh
# (test/runtest.tcl), so that a crash, a Tcl error or a sanitizer report in
# one file is counted as a failure of that file and the run goes on; then
# every C unit test program named in STREAM_UNIT_TESTS.  Each child must end
# with a line "N passed, N failed"; a child that exits non-zero adds one
# failure unless it reported failures itself, and a child that reports no
# counts at all adds one failure.  The run ends with exactly one line
#
#   N passed, N failed
#
# and exits non-zero on any failure.
#
# Environment (set by "make check"): STREAM_EXT (the .so without suffix),
# STREAM_SRCDIR, STREAM_BUILDDIR, STREAM_TCLSH, STREAM_UNIT_TESTS (paths
# relative to the build dir), STREAM_SANITIZE (runtimes to LD_PRELOAD into
# tclsh when the build uses sanitizers), STREAM_TIMEOUT (seconds per
# file, default 1500: unit/test_capi took 800 s under the sanitizers on a loaded machine), STREAM_VALGRIND (a command prefix, e.g. "valgrind
# --error-exitcode=23 ...", for the tclsh children and unit tests: make
# soak).

set testdir [file dirname [file normalize [info script]]]
proc envget {name {default ""}} {
  if {[info exists ::env($name)] && $::env($name) ne ""} { return $::env($name) }
  return $default
}
set srcdir   [envget STREAM_SRCDIR [file dirname $testdir]]
set builddir [envget STREAM_BUILDDIR [pwd]]
set tclsh    [envget STREAM_TCLSH [info nameofexecutable]]
set timeout  [envget STREAM_TIMEOUT 1500]
if {![info exists ::env(STREAM_EXT)]} {
  set ::env(STREAM_EXT) [file join $builddir stream0]
}

set aTest $argv
set aUnit [envget STREAM_UNIT_TESTS]
if {[llength $aTest] == 0} {
  set aTest [lsort [glob -nocomplain -directory [file join $srcdir test] *.test]]
} else {
  set l [list]
  foreach t $aTest {
    if {![file exists $t] && [file exists [file join $srcdir $t]]} {
      set t [file join $srcdir $t]
    }
    lappend l $t
  }
  set aTest $l
  set aUnit [list]    ;# explicit test files only
}

# The environment of the tclsh children.
set aChildEnv [list]
set san [envget STREAM_SANITIZE]
if {$san ne ""} {
  set supp [file join $srcdir test lsan.supp]
  lappend aChildEnv LD_PRELOAD [join $san " "]
  lappend aChildEnv ASAN_OPTIONS "detect_leaks=1:abort_on_error=0:exitcode=23:detect_odr_violation=0:fast_unwind_on_malloc=0"
  lappend aChildEnv LSAN_OPTIONS "suppressions=$supp:print_suppressions=0:exitcode=23"
  lappend aChildEnv UBSAN_OPTIONS "print_stacktrace=1:halt_on_error=1"
}
set aUnitEnv [list]
if {$san ne ""} {
  # Unit tests are linked with the sanitizers themselves: no preload.
  foreach {k v} $aChildEnv { if {$k ne "LD_PRELOAD"} { lappend aUnitEnv $k $v } }
}

# This process and the timeout wrapper run without the sanitizer runtimes;
# "env" adds them to the children (see run_child).
foreach v {LD_PRELOAD ASAN_OPTIONS LSAN_OPTIONS UBSAN_OPTIONS} {
  unset -nocomplain ::env($v)
}
set valgrind [envget STREAM_VALGRIND]
set timeoutCmd [list]
if {[auto_execok timeout] ne ""} {
  set timeoutCmd [list timeout -k 10 $timeout]
}

set nPass 0
set nFail 0
set aFailed [list]

# Run CMD (a list) with ENV added; print its output; return {pass fail}.
proc run_child {label cmd env} {
  global timeoutCmd
  set envCmd [list]
  if {[llength $env]} {
    set envCmd [list env]
    foreach {k v} $env { lappend envCmd "$k=$v" }
  }
  set fd [open "|$timeoutCmd $envCmd $cmd </dev/null 2>@1" r]
  fconfigure $fd -translation auto -buffering line
  set pass ""
  set fail ""
  while {[gets $fd line] >= 0} {
    if {[regexp {^(\d+) passed, (\d+) failed$} $line -> p f]} {
      set pass $p
      set fail $f
      continue
    }
    puts "  $line"
    flush stdout
  }
  set status "ok"
  if {[catch {close $fd} msg opts]} {
    set ec [dict get $opts -errorcode]
    switch -- [lindex $ec 0] {
      CHILDSTATUS {
        set code [lindex $ec 2]
        if {$code == 124 || $code == 137} {
          set status "timed out"
        } elseif {$code == 23} {
          set status "sanitizer report (exit 23)"
        } else {
          set status "exit code $code"
        }
      }
      CHILDKILLED { set status "killed by [lindex $ec 2]" }
      default     { set status "error: $msg" }
    }
  }
  if {$pass eq ""} {
    set pass 0
    set fail 1
    puts "! $label: no \"N passed, N failed\" line ($status)"
  } elseif {$status ne "ok" && $fail == 0} {
    incr fail
    puts "! $label: $status"
  }
  return [list $pass $fail $status]
}

proc tally {label res {ms 0}} {
  global nPass nFail aFailed
  lassign $res p f status
  incr nPass $p
  incr nFail $f
  if {$f} { lappend aFailed $label }
  set s [expr {$f ? "FAILED" : "ok"}]
  puts [format "%-32s %s (%d tests, %d failures) %.1fs" $label $s [expr {$p+$f}] $f [expr {$ms/1000.0}]]
  flush stdout
}

set t0 [clock milliseconds]
cd $builddir
foreach t $aTest {
  set label [file tail $t]
  set t1 [clock milliseconds]
  set res [run_child $label [list {*}$valgrind $tclsh [file join $testdir runtest.tcl] $t] $aChildEnv]
  tally $label $res [expr {[clock milliseconds]-$t1}]
}
foreach u $aUnit {
  set exe [file join $builddir $u]
  set label "unit/[file tail $u]"
  if {![file executable $exe]} {
    puts "! $label: not built"
    tally $label {0 1 missing}
    continue
  }
  set t1 [clock milliseconds]
  set res [run_child $label [list {*}$valgrind $exe] $aUnitEnv]
  tally $label $res [expr {[clock milliseconds]-$t1}]
}
if {[llength $aFailed]} {
  puts "Failed: $aFailed"
}
puts "Time: [expr {([clock milliseconds]-$t0)/1000.0}]s"
puts "$nPass passed, $nFail failed"
exit [expr {$nFail ? 1 : 0}]
