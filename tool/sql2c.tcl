#!/usr/bin/env tclsh
# sql2c.tcl VARNAME INPUT.sql OUTPUT.h
#
# Turns a SQL script into a C header holding it as one string:
#   static const char VARNAME[] = "line1\n" "line2\n" ...;
# Quotes, backslashes and control characters are escaped; newlines are
# kept (as \n at the end of each C string piece).  Used to compile
# sql/schema.sql into the extension (ext/schema.c includes schema_sql.h).

if {[llength $argv] != 3} {
  puts stderr "usage: sql2c.tcl VARNAME INPUT.sql OUTPUT.h"
  exit 1
}
lassign $argv zVar zIn zOut

set fd [open $zIn r]
fconfigure $fd -encoding binary -translation lf
set data [read $fd]
close $fd

proc c_escape {s} {
  set r ""
  foreach c [split $s ""] {
    scan $c %c n
    if {$c eq "\\"} { append r "\\\\"
    } elseif {$c eq "\""} { append r "\\\""
    } elseif {$c eq "\t"} { append r "\\t"
    } elseif {$c eq "\r"} { append r "\\r"
    } elseif {$c eq "?"} { append r "\\?"
    } elseif {$n < 32 || $n == 127} { append r [format "\\%03o" $n]
    } else { append r $c }
  }
  return $r
}

set out [open $zOut w]
fconfigure $out -encoding binary -translation lf
puts $out "/* Generated from [file tail $zIn] by tool/sql2c.tcl - do not edit. */"
puts $out "static const char ${zVar}\[\] ="
set lines [split $data "\n"]
# A trailing newline in the file does not make an extra empty piece.
if {[lindex $lines end] eq ""} { set lines [lrange $lines 0 end-1]; set bNl 1 } else { set bNl 0 }
set n [llength $lines]
if {$n == 0} { puts $out "  \"\"" }
set i 0
foreach line $lines {
  incr i
  set piece [c_escape $line]
  if {$i < $n || $bNl} { append piece "\\n" }
  puts $out "  \"$piece\""
}
puts $out ";"
close $out
