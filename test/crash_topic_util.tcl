# crash_topic_util.tcl - the key, headers and timestamp of message N, for
# test/crash_topic.test and its worker.
proc ct_key {id} { return "k[expr {$id % 5}]" }
proc ct_hdr {id} {
  format {{"id":"%d","u":"\u00e9\ud83d\ude00","n":"%s"}} $id \
      [string repeat z [expr {$id % 50}]]
}
proc ct_ts {id} { expr {1700000000000 + $id} }
