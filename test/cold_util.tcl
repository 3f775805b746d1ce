# cold_util.tcl - procedures shared by cold.test and cold_crash.test: the
# expected rows of a topic and the check of its Iceberg tables by icebird
# and DuckDB (test/interop/iceberg_check.mjs).

# Expected rows for iceberg_check.mjs, as JSON lines.
proc write_expected {file topics {db db}} {
  set fd [open $file w]
  fconfigure $fd -encoding utf-8 -translation lf
  foreach topic $topics {
    $db eval {
      SELECT json_object(
        'topic', $topic, 'partition', partition,
        'offset', CAST(offset AS TEXT),
        'key', CASE WHEN key IS NULL THEN NULL
                    ELSE json_object('hex', lower(hex(key))) END,
        'value', CASE WHEN value IS NULL THEN NULL
                      ELSE json_object('hex', lower(hex(value))) END,
        'headers', headers,
        'timestamp_us', CAST(timestamp*1000 AS TEXT),
        'attributes', (typeof(key)='blob') | ((typeof(value)='blob')<<1)) AS j
      FROM stream_history($topic) ORDER BY partition, offset
    } { puts $fd $j }
  }
  close $fd
}

# node + icebird + DuckDB over the tables; "skipped: ..." without node.
proc iceberg_check {expected dirs} {
  set node [auto_execok node]
  set mjs [file join $::testdir interop iceberg_check.mjs]
  if {$node eq "" || ![file isdirectory [file join $::testdir interop node_modules icebird]]} {
    return "skipped: node or test/interop/node_modules/icebird missing"
  }
  set urls [list]
  foreach d $dirs { lappend urls "file://$d" }
  if {[catch {exec_host $node $mjs $expected {*}$urls} out]} {
    return "FAIL [lrange [split $out \n] end-8 end]"
  }
  foreach l [split $out \n] {
    if {[string match "duckdb iceberg_scan*" $l]} { puts "  $l" }
  }
  set out [lindex [split [string trim $out] \n] end]
  puts "  iceberg_check: $out"
  return $out
}

