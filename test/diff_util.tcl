# diff_util.tcl - the random query generator of differential.test and
# difftvf.test: a database of several topics over both tiers with record
# batches, a compacted and a retention-trimmed topic (diff_build), its
# plain copy pm, and SELECTs run over a virtual table and a plain table
# holding the same rows (diff_query, diff_run, diff_one).

proc envget {name default} {
  if {[info exists ::env($name)] && $::env($name) ne ""} { return $::env($name) }
  return $default
}

proc reset_tier_db {} {
  catch { db close }
  forcedelete test.db.stream
  reset_db
  stream_use_store
}

proc rnd {n} { expr {int(rand()*$n)} }
proc pick {l} { lindex $l [rnd [llength $l]] }
proc chance {p} { expr {rand() < $p} }

# A key, value, headers (SQL literals) of a generated message: TEXT, BLOB
# (empty too), NULL, over 4 KiB (overflow pages, rows of their own).
proc diff_key {kk} {
  switch [rnd 9] {
    0 { return NULL }
    1 { return "x'[format %02x $kk]ff'" }
    2 { return "'K$kk'" }
    3 { return "''" }
    4 { return [expr {[chance 0.2] ? "printf('%5000d', $kk)" : "x''"}] }
    default { return "'k$kk'" }
  }
}
proc diff_value {} {
  switch [rnd 10] {
    0 { return NULL }
    1 { return "x'[format %04x [rnd 65536]]'" }
    2 { return "'\"s[rnd 20]\"'" }
    3 { return "'[rnd 50]'" }
    4 { return [pick {x'' '""' '{}' '[]'}] }
    5 {
      if {[chance 0.5]} { return "'\"[string repeat L[rnd 9]- 1100]\"'" }
      return "CAST(printf('%[expr {4100 + [rnd 2000]}]d', [rnd 9]) AS BLOB)"
    }
    default { return "json_object('i',[rnd 40],'u','é')" }
  }
}
proc diff_headers {} {
  if {[chance 0.5]} { return NULL }
  if {[chance 0.1]} { return "'{}'" }
  return "json_object('h',[rnd 5])"
}

# {key value headers timestamp} of a message to topic (c: a key).
proc diff_message {topic} {
  set kk [rnd 12]
  set key [diff_key $kk]
  if {$topic eq "c" && $key eq "NULL"} { set key "'k$kk'" }
  list $key [diff_value] [diff_headers] \
    [expr {1700000000000 + [rnd 4]*86400000 + [rnd 20]*1000}]
}

# Build the database for one seed.  Topics: several partitions, keys TEXT /
# BLOB / NULL, values JSON text / BLOB / NULL, headers NULL or not,
# timestamps out of order (with repeats) over four days; produced in
# rounds with stream_tier() between them, so that older offsets are warm.
proc diff_build {seed} {
  reset_tier_db
  expr {srand($seed)}
  db eval {
    CREATE TABLE produced(topic TEXT, partition INTEGER, seq INTEGER, key,
                          value, headers TEXT, timestamp INTEGER);
  }
  set topics {}
  # c: compacted (hot only, tombstones); r: retention by bytes (offsets
  # starting above 0 once stream_maintain() trimmed it).
  foreach {name cfg} {
    a   {}
    b   {"compression.type":"gzip"}
    T   {}
    t   {}
    10  {}
    c   {"cleanup.policy":"compact","min.cleanable.dirty.ratio":0,
         "compaction.head.messages":0}
    r   {"retention.bytes":100}
  } {
    set nPart [expr {1 + [rnd 3]}]
    set keep [expr {3 + [rnd 12]}]
    if {$name eq "c"} { set keep -1 }
    set c "{\"hot.retention.messages\":$keep, \"hot.retention.ms\":-1,
            \"retention.ms\":-1"
    if {$cfg ne ""} { append c ", $cfg" }
    append c "}"
    db eval { SELECT stream_create_topic($name, $nPart, $c) }
    lappend topics $name $nPart
  }
  db eval { SELECT stream_create_topic('empty', 2) }
  set seq 0
  set nRound [expr {2 + [rnd 3]}]
  for {set r 0} {$r < $nRound} {incr r} {
    # Half the rounds in one transaction: a partition's messages of it are
    # stored as record batches.
    set bTxn [expr {$r == 0 || $r == $nRound-1 || [chance 0.5]}]
    if {$bTxn} { db eval BEGIN }
    foreach {name nPart} $topics {
      if {$name eq "t" && $r > 0} continue     ;# t: one round, all hot or not
      set nMsg [expr {4 + [rnd 30]}]
      for {set i 0} {$i < $nMsg} {incr i} {
        set p [rnd $nPart]
        lassign [diff_message $name] key value headers ts
        set sql "INSERT INTO stream_messages(topic, partition, key, value,
                   headers, timestamp)
                 VALUES(\$name, $p, $key, $value, $headers, $ts);
                 INSERT INTO produced VALUES(\$name, $p, $seq, $key, $value,
                   $headers, $ts);"
        db eval $sql
        incr seq
      }
    }
    if {$bTxn} { db eval COMMIT }
    db eval { SELECT stream_tier() }
  }
  db eval { SELECT stream_compact('c'); SELECT stream_maintain() }
  # The copy: the declared columns of stream_messages, its rows.
  db eval {
    CREATE TABLE pm(topic TEXT, partition INTEGER, offset INTEGER, key,
                    value, headers TEXT, timestamp INTEGER);
    INSERT INTO pm SELECT * FROM stream_messages;
    CREATE TABLE j(id INTEGER PRIMARY KEY, t TEXT, n INTEGER, k);
    INSERT INTO j(t, n, k) VALUES('a', 0, 'k1'), ('b', 1, x'01ff'),
      ('T', 2, NULL), ('zz', 0, 'K3'), ('t', NULL, 'k2'), ('a', 1, ''),
      ('10', 0, 'k5'), (NULL, 1, 'k7');
  }
}

# The copy holds what was produced, offsets numbered in produce order, and
# both tiers are in use; of the compacted and the retention-trimmed topics
# (c, r) it holds some of what was produced, at the offsets produced.
proc diff_check_copy {} {
  db eval {
    CREATE TEMP VIEW IF NOT EXISTS pr AS SELECT topic, partition,
           row_number() OVER (PARTITION BY topic, partition ORDER BY seq)-1
             AS offset, quote(key) AS k, quote(value) AS v, headers, timestamp
      FROM produced;
  }
  set q { SELECT topic, partition, offset, quote(key), quote(value), headers,
                 timestamp FROM pm }
  set a [db eval "$q WHERE topic NOT IN ('c','r') ORDER BY 1, 2, 3"]
  set b [db eval {SELECT * FROM pr WHERE topic NOT IN ('c','r')
                   ORDER BY 1, 2, 3}]
  set extra [db eval "SELECT count(*) FROM ($q WHERE topic IN ('c','r')
                        EXCEPT SELECT * FROM pr)"]
  set hot [db eval { SELECT count(*) FROM _stream_messages }]
  set warm [db eval { SELECT coalesce(sum(messages),0) FROM stream_segments }]
  list [expr {$a eq $b}] $extra [expr {$hot > 0}] [expr {$warm > 0}] \
       [expr {$hot + $warm == [db eval {SELECT count(*) FROM pm}]}]
}

# Literals for a column: values from the data and awkward ones.
proc diff_literals {} {
  set ::lit(topic) {'a' 'b' 'T' 't' 'A' '10' 10 'zz' 'empty' NULL 'a%' x'61'}
  set ::lit(partition) {0 1 2 3 -1 '0' '1' '2' 1.0 1.5 'x' NULL x'01'}
  set ::lit(offset) {0 1 2 3 5 8 13 20 40 -1 '3' 2.5 '7' 1e30 NULL 'z'}
  set ::lit(key) {'k1' 'K1' 'k10' '' x'01ff' x'6b31' NULL 1 'k' 'K3' x''}
  set ::lit(value) {NULL '"s3"' '7' 7 x'0000' '{"i":3,"u":"é"}' '"s'}
  set ::lit(headers) {NULL '{"h":1}' '{"h":3}' '{}' 3}
  set ::lit(timestamp) {1700000000000 1700000005000 1700086400000
    1700172810000 1700259219000 '1700000001000' 1.7000864e12 NULL 'x' -1}
  foreach c {topic partition offset key value headers timestamp} {
    set all [db eval "SELECT DISTINCT quote($c) FROM pm ORDER BY 1"]
    for {set i 0} {$i < 12 && [llength $all]} {incr i} {
      lappend ::lit($c) [pick $all]
    }
  }
  set ::pat(LIKE) {'k1%' 'K%' '%1' 'a' 'T' '_' '%"i":1%' '%' 'k_' '1%'
                   '170008%' '%é%'}
  set ::pat(GLOB) {'k*' 'K*' '[ab]' '*1' 'T' '?' '*"i"*' '1*' '[0-9]'}
}

set ::cols {topic partition offset key value headers timestamp}
set ::textcols {topic key value headers}

# One WHERE term on a column of table alias $p ("m." or "").
proc diff_term {p} {
  set c [pick $::cols]
  if {[chance 0.3]} { set c [pick {topic partition offset timestamp}] }
  set l [pick $::lit($c)]
  set coll ""
  if {[lsearch $::textcols $c] >= 0 && [chance 0.15]} {
    set coll " COLLATE [pick {NOCASE RTRIM BINARY}]"
  }
  switch [rnd 16] {
    13 {
      return [pick [list "typeof($p$c) = [pick {'text' 'blob' 'null' 'integer'}]" \
        "length($p$c) [pick {< > = <=}] [pick {0 1 2 3 5 100 4096}]" \
        "$p$c [pick {= > < <> IS}] NULL" "$p$c IN ()" \
        "$p$c IS NOT DISTINCT FROM $l" "CAST($p$c AS TEXT) = $l" \
        "hex($p$c) LIKE [pick {'6B%' '%FF' '' '7B%'}]" "$p$c + 0 = $l"]]
    }
    14 {
      # Mixed types against the INTEGER columns.
      set c [pick {partition offset timestamp}]
      return "$p$c [pick {= < > >= <= IS}] [pick {'3' '1' '0' 2.5 1.0 '1.0'
        {' 1'} '1e0' x'31' '-1' 9.99e18 -0.0 '1700000001000'}]"
    }
    15 {
      set c [pick {partition offset}]
      return "$p$c [pick {IN {NOT IN}}] ([pick {'0' 1.0 '2' 1.5 NULL x'30'}],
              [pick {'0' 1.0 '1' 2 NULL '3'}])"
    }
    0 - 1 { return "$p$c = $l$coll" }
    2 { return "$p$c [pick {< <= > >=}] $l$coll" }
    3 { return "$l [pick {< <= > >= =}] $p$c$coll" }
    4 { return "$p$c [pick {!= <> IS {IS NOT}}] $l$coll" }
    5 {
      set n [expr {1 + [rnd 4]}]
      set v {}
      for {set i 0} {$i < $n} {incr i} { lappend v [pick $::lit($c)] }
      return "$p$c [pick {IN IN {NOT IN}}] ([join $v ,])"
    }
    6 { return "$p$c LIKE [pick $::pat(LIKE)]" }
    7 { return "$p$c GLOB [pick $::pat(GLOB)]" }
    8 { return "$p$c [pick {{IS NULL} {IS NOT NULL} NOTNULL}]" }
    9 { return "$p$c [pick {BETWEEN {NOT BETWEEN}}] $l AND [pick $::lit($c)]" }
    10 { return "$p$c IN (SELECT $c FROM pm WHERE offset<[rnd 10])" }
    11 { return "($p$c = $l OR $p[pick $::cols] = [pick $::lit($c)])" }
    default {
      return "$p$c [pick {> >= < <=}] $l AND $p$c [pick {> >= < <=}] [pick $::lit($c)]"
    }
  }
}

# A WHERE clause (" WHERE ..." or ""); the columns it fixes with "=" go
# to the caller's $fixed.
proc diff_where {p {fixedVar ""}} {
  if {$fixedVar ne ""} { upvar $fixedVar fixed }
  set c [diff_cond $p fixed]
  if {$c eq ""} { return "" }
  return " WHERE $c"
}
# The same as terms to AND with another condition: " AND ..." or "".
proc diff_and {p} {
  set c [diff_cond $p]
  if {$c eq ""} { return "" }
  return " AND $c"
}
proc diff_cond {p {fixedVar ""}} {
  if {$fixedVar ne ""} { upvar $fixedVar fixed }
  set fixed {}
  set terms {}
  if {[chance 0.5]} {
    set l [pick {'a' 'b' 'T' 't' '10' 'empty'}]
    lappend terms "${p}topic = $l"
    lappend fixed topic
  }
  if {[chance 0.4]} {
    lappend terms "${p}partition = [pick {0 1 2 0 1 '1'}]"
    lappend fixed partition
  }
  if {[chance 0.3]} {
    lappend terms "${p}offset [pick {>= > < <= =}] [rnd 20]"
  }
  if {[chance 0.15]} {
    lappend terms "${p}timestamp [pick {>= > < <=}] [pick $::lit(timestamp)]"
  }
  if {[chance 0.15]} {
    # Branches SQLite may answer with one scan each (MULTI-INDEX OR).
    set or {}
    for {set i [expr {2 + [rnd 2]}]} {$i > 0} {incr i -1} {
      set and {}
      if {[chance 0.7]} { lappend and "${p}topic = [pick $::lit(topic)]" }
      if {[chance 0.5]} { lappend and "${p}partition = [rnd 3]" }
      if {[chance 0.4]} { lappend and "${p}offset [pick {= >= <}] [rnd 12]" }
      if {[chance 0.2]} { lappend and [diff_term $p] }
      if {[llength $and] == 0} { lappend and "${p}offset = [rnd 5]" }
      lappend or "([join $and { AND }])"
    }
    lappend terms "([join $or { OR }])"
  }
  set n [rnd 3]
  for {set i 0} {$i < $n} {incr i} { lappend terms [diff_term $p] }
  if {[chance 0.05]} { lappend terms "NOT ([diff_term $p])" }
  return [join $terms { AND }]
}

# ORDER BY over the message columns; with bTotal, topic, partition and
# offset are appended unless there or fixed, so the order is total.
# Sets the caller's "total" to whether it is.
proc diff_orderby {p fixed bTotal} {
  upvar total total
  set terms {}
  set used {}
  set n [expr {1 + [rnd 3]}]
  for {set i 0} {$i < $n} {incr i} {
    set c [pick $::cols]
    if {[chance 0.4]} { set c [pick {topic partition offset}] }
    set t "$p$c"
    if {[lsearch $::textcols $c] >= 0 && [chance 0.1]} {
      append t " COLLATE NOCASE"
    } else {
      lappend used $c
    }
    if {[chance 0.4]} { append t " DESC" }
    lappend terms $t
  }
  set dir [expr {[chance 0.5] ? " DESC" : ""}]
  set total 1
  foreach c {topic partition offset} {
    if {[lsearch $used $c] >= 0 || [lsearch $fixed $c] >= 0} continue
    if {$bTotal} {
      lappend terms "$p$c$dir"
    } else {
      set total 0
    }
  }
  return " ORDER BY [join $terms {, }]"
}

proc diff_cols {p} {
  set n [expr {1 + [rnd 4]}]
  set out {}
  for {set i 0} {$i < $n} {incr i} { lappend out "quote($p[pick $::cols])" }
  return [join $out {, }]
}

# One query: {mode sql ?extra?}.  mode: ordered, bag (multiset), limit
# (a LIMIT without a total order: the rows must be some of those of extra,
# the query without its LIMIT, and as many as LIMIT/OFFSET allow), scalar
# (the value must be one of those of extra, or NULL if it has none).
proc diff_query {} {
  if {[chance 0.45]} { return [diff_query_kept] }
  switch [rnd 20] {
    0 - 1 - 2 - 3 - 4 - 5 - 6 {
      set w [diff_where "" fixed]
      set sql "SELECT [diff_cols {}] FROM @T$w"
      set lim ""
      if {[chance 0.5]} {
        set lim " LIMIT [pick {0 1 1 2 3 5 8 -1 '2'}]"
        if {[chance 0.3]} { append lim " OFFSET [pick {0 1 2 4}]" }
      }
      if {[chance 0.6]} {
        append sql [diff_orderby "" $fixed [expr {$lim ne ""}]]
        return [list [expr {$total ? "ordered" : "bag"}] "$sql$lim"]
      }
      if {$lim eq ""} { return [list bag $sql] }
      return [list limit "$sql$lim" $sql]
    }
    7 - 8 {
      set g [pick {topic partition key headers timestamp {topic, partition}
                   value {partition, key}}]
      set sql "SELECT [join [lmap c [split $g ,] {string cat "quote($c)"}] ,],
                 count(*), quote(sum(offset)), quote(min(key)),
                 quote(max(timestamp)), count(DISTINCT key), quote(max(value))
               FROM @T[diff_where {}] GROUP BY $g"
      if {[chance 0.3]} { append sql " HAVING count(*) > 1" }
      if {[chance 0.3]} {
        return [list ordered "$sql ORDER BY $g"]
      }
      if {[chance 0.3]} { return [list limit "$sql LIMIT 100" $sql] }
      return [list bag $sql]
    }
    9 {
      return [list bag "SELECT count(*), quote(min(offset)), quote(max(key)),
                 quote(total(partition)), count(value), count(headers)
               FROM @T[diff_where {}]"]
    }
    10 - 11 {
      set c [pick {topic partition key {topic, partition} headers
                   {partition, offset} value {key, topic}}]
      set n [llength [split $c ,]]
      set q [join [lmap i [lrange {0 1} 0 $n-1] {string cat "quote(c$i)"}] ,]
      set a [join [lmap x [split $c ,] i {0 1} {
                if {$x eq ""} continue; string cat "$x AS c$i"}] ,]
      set sql "SELECT $q FROM (SELECT DISTINCT $a FROM @T[diff_where {}]"
      if {[chance 0.3]} { return [list limit "$sql LIMIT 100)" "$sql)"] }
      return [list bag "$sql)"]
    }
    12 - 13 {
      set w [diff_where "" fixed]
      switch [rnd 4] {
        0 { return [list bag "SELECT (SELECT count(*) FROM @T$w)"] }
        1 {
          set o [diff_orderby "" $fixed 1]
          return [list ordered "SELECT (SELECT quote([pick $::cols]) FROM @T$w$o
                                 LIMIT 1), EXISTS(SELECT 1 FROM @T$w)"]
        }
        2 {
          set c [pick $::cols]
          return [list scalar "SELECT (SELECT quote($c) FROM @T$w)" \
                              "SELECT quote($c) FROM @T$w"]
        }
        default {
          return [list bag "SELECT quote(j.id), (SELECT count(*) FROM @T m
                              WHERE m.partition = j.n[diff_and m.]),
                              (SELECT quote(max(m.offset)) FROM @T m
                                WHERE m.topic = j.t AND m.key IS j.k)
                            FROM j"]
        }
      }
    }
    14 - 15 {
      set w [diff_where m.]
      switch [rnd 3] {
        0 {
          return [list bag "SELECT quote(m.topic), quote(m.offset) FROM @T m$w
                   [expr {$w eq "" ? "WHERE" : "AND"}] m.offset =
                   (SELECT max(m2.offset) FROM @T m2
                     WHERE m2.topic = m.topic AND m2.partition = m.partition)"]
        }
        1 {
          return [list bag "SELECT quote(m.topic), quote(m.partition),
                   quote(m.offset) FROM @T m$w
                   [expr {$w eq "" ? "WHERE" : "AND"}] EXISTS(SELECT 1
                     FROM @T m2 WHERE m2.topic = m.topic AND m2.key = m.key
                      AND m2.offset <> m.offset)"]
        }
        default {
          return [list bag "SELECT quote(m.key) FROM @T m$w
                   [expr {$w eq "" ? "WHERE" : "AND"}] m.key IN (SELECT key
                     FROM @T WHERE topic = m.topic AND partition <> m.partition)"]
        }
      }
    }
    default {
      set w [diff_where m.]
      set on [pick {{m.topic = j.t} {m.partition = j.n} {m.key = j.k}
                    {m.topic = j.t AND m.partition = j.n}
                    {m.topic = j.t AND m.offset < j.id}
                    {m.key IS j.k AND m.topic = j.t}
                    {m.timestamp > j.n AND m.topic = j.t}}]
      set join [pick {JOIN {LEFT JOIN} {CROSS JOIN}}]
      set sql "SELECT quote(j.id), [diff_cols m.] FROM j $join @T m ON $on$w"
      if {[chance 0.5]} {
        set sql "SELECT quote(j.id), [diff_cols m.] FROM @T m JOIN j ON $on$w"
      }
      if {[chance 0.4]} {
        return [list ordered "$sql ORDER BY j.id, m.topic, m.partition DESC,
                              m.offset LIMIT [pick {1 3 10 1000}]"]
      }
      return [list bag $sql]
    }
  }
}

# The rows of sql, each a list of its values.
proc diff_rows {sql} {
  set rows {}
  db eval $sql r {
    set row {}
    foreach c $r(*) { lappend row $r($c) }
    lappend rows $row
  }
  return $rows
}

# The columns SQLite may keep beyond the row they came from (issue: a
# virtual table's text and blobs handed out without a copy came back with
# another row's bytes): the bare columns of min()/max(), an ordered GROUP
# BY's key, window functions, joins and subqueries with the table as the
# inner loop, compounds, CTEs.  A row's unique sort key as text (bare
# columns of max(uk) are those of one row):
set ::uk "printf('%s|%d|%09d', topic, partition, offset)"
proc diff_uk {p} {
  string map [list topic ${p}topic partition ${p}partition offset ${p}offset] \
    $::uk
}
proc diff_query_kept {} {
  set kv {quote(key), quote(value), quote(headers), quote(timestamp)}
  switch [rnd 16] {
    0 - 1 {
      # Bare columns of one min()/max() per group.
      set g [pick {topic {topic, partition} partition key value headers
                   timestamp {key, topic}}]
      set e [pick [list [diff_uk ""] "partition*1000000+offset"]]
      if {$g ne "topic" && $g ne "topic, partition"} { set e [diff_uk ""] }
      if {$g eq "topic, partition" && [chance 0.5]} { set e offset }
      set gq [join [lmap c [split $g ,] {string cat "quote($c)"}] ,]
      set sql "SELECT $gq, quote([pick {max min}]($e)), $kv, quote(offset),
                 quote(partition) FROM @T[diff_where {}] GROUP BY $g"
      if {[chance 0.2]} { append sql " HAVING count(*) > 1" }
      if {[chance 0.5]} {
        return [list ordered "$sql ORDER BY [join [lmap c [split $g ,] {
          string cat "$c [pick {ASC DESC}]"}] ,]"]
      }
      return [list bag $sql]
    }
    2 {
      # One min()/max() over the whole (filtered) table.
      return [list bag "SELECT quote([pick {max min}]([diff_uk {}])), $kv
                        FROM @T[diff_where {}]"]
    }
    3 {
      # An ordered GROUP BY on a text/blob key with aggregates of text.
      set g [pick {key value headers {topic, key} {key, value}}]
      set gq [join [lmap c [split $g ,] {string cat "quote($c)"}] ,]
      set d [pick {ASC DESC}]
      return [list ordered "SELECT $gq, count(*), quote(min(value)),
         quote(max(key)), count(DISTINCT value), total(length(value)),
         quote(min([diff_uk {}])) FROM @T[diff_where {}]
         GROUP BY $g ORDER BY [join [lmap c [split $g ,] {
           string cat "$c $d"}] ,]"]
    }
    4 {
      # DISTINCT, ordered or not.
      set c [pick {key value headers {key, value} {topic, key}
                   {partition, value} timestamp}]
      set cq [join [lmap x [split $c ,] {string cat "quote($x)"}] ,]
      set sql "SELECT DISTINCT $cq FROM @T[diff_where {}]"
      if {[chance 0.5]} { return [list ordered "$sql ORDER BY [join [lmap x [
          split $c ,] {string cat "$x [pick {ASC DESC}]"}] ,]"] }
      if {[chance 0.3]} {
        return [list limit "$sql LIMIT [rnd 5]" $sql]
      }
      return [list bag $sql]
    }
    5 - 6 {
      # Window functions.
      set part [pick {{topic, partition} topic key {key, topic} value}]
      set ord [pick {offset {offset DESC} {timestamp, offset}}]
      if {$part ne "topic, partition"} {
        set ord "[pick {{offset, } {offset DESC, } {timestamp, }
                        {timestamp DESC, } {}}]topic, partition, offset"
      }
      set n [expr {1 + [rnd 2]}]
      return [list bag "SELECT quote(topic), quote(partition), quote(offset),
          $kv, row_number() OVER w, quote(lag(key) OVER w),
          quote(lead(value, $n) OVER w), quote(first_value(value) OVER w),
          quote(lag(headers, 1, 'none') OVER w)
        FROM @T[diff_where {}] WINDOW w AS (PARTITION BY $part ORDER BY $ord)"]
    }
    7 {
      # Top rows per group through a window in a subquery.
      return [list bag "SELECT quote(t), quote(k), quote(v), rn FROM (
          SELECT topic AS t, key AS k, value AS v, row_number() OVER (
            PARTITION BY [pick {topic key {topic, partition}}]
            ORDER BY [pick {{offset DESC} timestamp value key}], topic,
              partition, offset) AS rn
          FROM @T[diff_where {}]) WHERE rn <= [expr {1 + [rnd 3]}]"]
    }
    8 {
      # Self-join: the table as the inner loop of itself.
      set w [diff_where a.]
      set on [pick {
        {b.topic = a.topic AND b.partition = a.partition AND b.offset = a.offset + 1}
        {b.topic = a.topic AND b.key = a.key AND b.offset > a.offset}
        {b.topic = a.topic AND b.partition = a.partition AND b.value IS a.value AND b.offset <> a.offset}
      }]
      if {$w eq ""} { set w " WHERE a.topic = [pick {'a' 'b' 'c' 'r' 't'}]" }
      set sql "SELECT quote(a.key), quote(a.value), quote(b.key),
                 quote(b.value), quote(b.offset), quote(b.headers)
               FROM @T a [pick {JOIN CROSS\ JOIN {LEFT JOIN}}] @T b ON $on$w"
      if {[chance 0.4]} {
        return [list bag "SELECT quote(a.topic), quote(a.partition),
            quote(max([diff_uk b.])), quote(b.key), quote(b.value)
          FROM @T a CROSS JOIN @T b ON $on$w GROUP BY a.topic, a.partition"]
      }
      return [list bag $sql]
    }
    9 {
      # The plain table j outside, the table inside: bare columns.
      return [list bag "SELECT quote(j.id), quote(max([diff_uk m.])),
          quote(m.key), quote(m.value), quote(m.headers)
        FROM j CROSS JOIN @T m ON m.topic = j.t[diff_and m.] GROUP BY j.id
        [pick {{} {ORDER BY j.id DESC}}]"]
    }
    10 {
      # Correlated scalar subqueries returning text and blobs.
      set w [diff_where m.]
      if {[chance 0.5]} {
        return [list bag "SELECT quote(j.id), (SELECT quote(m.key) FROM @T m
            WHERE m.topic = j.t ORDER BY m.offset DESC, m.partition DESC
            LIMIT 1), (SELECT m.value FROM @T m WHERE m.topic = j.t
            AND m.partition = j.n ORDER BY m.offset LIMIT 1 OFFSET 1),
            (SELECT max(m.key) FROM @T m WHERE m.key >= j.k) FROM j"]
      }
      return [list bag "SELECT quote(m.key), quote(m.value), (SELECT
          quote(m2.value) FROM @T m2 WHERE m2.topic = m.topic
          AND m2.partition = m.partition AND m2.offset = m.offset + 1),
          (SELECT quote(m2.key) FROM @T m2 WHERE m2.topic = m.topic
          AND m2.key IS m.key AND m2.offset < m.offset ORDER BY m2.offset
          DESC, m2.partition LIMIT 1) FROM @T m$w"]
    }
    11 {
      # IN (subquery), row values, EXISTS with text.
      set w [diff_where m.]
      set a [expr {$w eq "" ? " WHERE" : "$w AND"}]
      return [list bag "SELECT quote(m.topic), quote(m.offset), quote(m.key)
          FROM @T m$a [pick {
            {m.value IN (SELECT value FROM @T WHERE partition = 1)}
            {m.key IN (SELECT k FROM j)}
            {(m.topic, m.key) IN (SELECT t, k FROM j)}
            {m.key NOT IN (SELECT key FROM @T WHERE key IS NOT NULL AND topic = 'a')}
            {EXISTS (SELECT 1 FROM @T m2 WHERE m2.value = m.value AND m2.topic <> m.topic)}
            {m.headers IN (SELECT headers FROM @T WHERE offset < 3)}
          }]"]
    }
    12 {
      # Compounds.
      set c [pick {{key, value} {topic, key} {value, headers} {key}}]
      set cq [join [lmap x [split $c ,] {string cat "quote($x)"}] ,]
      set op [pick {UNION {UNION ALL} EXCEPT INTERSECT}]
      set sql "SELECT $cq FROM @T[diff_where {}] $op
               SELECT $cq FROM @T[diff_where {}]"
      if {[chance 0.3]} {
        # The raw values through the compound, quoted outside.
        set n [llength [split $c ,]]
        set as [join [lmap x [split $c ,] i {0 1} {
          if {$x eq ""} continue; string cat "$x AS c$i"}] ,]
        set q [join [lmap i [lrange {0 1} 0 $n-1] {string cat "quote(c$i)"}] ,]
        set sql "SELECT $q FROM (SELECT $as FROM @T[diff_where {}] $op
                 SELECT $c FROM @T[diff_where {}])"
      }
      return [list bag $sql]
    }
    13 {
      # CTEs, materialized or not, joined to themselves.
      set mat [pick {{} MATERIALIZED {NOT MATERIALIZED}}]
      return [list bag "WITH c AS $mat (SELECT topic, partition, offset, key,
          value, headers FROM @T[diff_where {}])
        SELECT quote(a.key), quote(a.value), quote(b.key), quote(b.headers)
          FROM c a JOIN c b ON a.topic = b.topic AND a.partition = b.partition
           AND b.offset = (SELECT min(offset) FROM c x WHERE x.topic = a.topic
             AND x.partition = a.partition AND x.offset > a.offset)"]
    }
    14 {
      # A limited, ordered subquery in a join.
      set w [diff_where "" fixed]
      set o [diff_orderby "" $fixed 1]
      return [list bag "SELECT quote(j.id), quote(s.k), quote(s.v) FROM j,
          (SELECT key AS k, value AS v FROM @T$w$o LIMIT [rnd 4]
            OFFSET [rnd 3]) s WHERE j.n IS NOT NULL"]
    }
    default {
      # Every column descending, with the row key (hidden).
      set w [diff_where "" fixed]
      return [list ordered "SELECT @RK, quote(topic), $kv FROM @T$w
          ORDER BY [join [lmap c [lsort -command {apply {{a b} {
            expr {rand() < 0.5 ? -1 : 1}}}} $::cols] {
              string cat "$c [pick {DESC DESC ASC}]"}] {, }]"]
    }
  }
}

# Run query q over both tables (@T: vt, the virtual table, and pt, its
# plain copy).  Returns "" on agreement, else a message.
proc diff_run {q {vt stream_messages} {pt pm} {vmap {}} {pmap {}}} {
  lassign $q mode sql extra
  set sv [string map [concat [list @T $vt @RK row_key] $vmap] $sql]
  set sp [string map [concat [list @T $pt \
    @RK "json_array(topic, partition, offset)"] $pmap] $sql]
  set ev [catch { diff_rows $sv } rv]
  set ep [catch { diff_rows $sp } rp]
  if {$ev || $ep} {
    if {$ev == $ep && $rv eq $rp} { return "" }
    return "error: $vt [list $ev $rv], $pt [list $ep $rp]"
  }
  switch $mode {
    ordered { set ok [expr {$rv eq $rp}] }
    bag { set ok [expr {[lsort $rv] eq [lsort $rp]}] }
    scalar {
      set all [db eval [string map [list @T $pt] $extra]]
      set v [lindex $rv 0 0]
      set ok [expr {[llength $rv] == 1 && (
        ([llength $all] == 0 && $v eq "") || [lsearch -exact $all $v] >= 0)}]
    }
    bare {
      # Each row: a row's unique key (quoted, diff_uk), then its columns
      # as extra (with @UK for the key) selects them from the plain table.
      set ok 1
      foreach r $rv {
        set want [lindex [diff_rows [string map [list @T $pt \
          @UK [lindex $r 0]] $extra]] 0]
        set n [llength $want]
        if {$n == 0 || [lrange $r 1 $n] ne $want} { set ok 0; break }
      }
    }
    limit {
      set all [diff_rows [string map [list @T $pt] $extra]]
      set ok [expr {[llength $rv] == [llength $rp]}]
      foreach r $rv {
        set i [lsearch -exact $all $r]
        if {$i < 0} { set ok 0; break }
        set all [lreplace $all $i $i]
      }
    }
  }
  if {$ok} { return "" }
  return "$vt: [string range $rv 0 600]\n    $pt: [string range $rp 0 600]"
}

# The catalog tables, the same way (4.*): "=" push-down, collations, ORs
# (MULTI-INDEX OR needs unique rows), IN.  Each gets a plain copy c_<name>
# with its declared columns.
set ::catalogs {stream_topics stream_partitions stream_segments
                stream_offsets stream_groups stream_lag}
proc diff_catalog_build {} {
  foreach sql {
    {SELECT stream_commit('g1', 'a', 0, 1)}
    {SELECT stream_commit('g1', 'b', 0, 2, 'm')}
    {SELECT stream_commit('g:2', 'a', 0, 0)}
    {SELECT stream_commit('G1', 'T', 0, 3)}
    {SELECT stream_join('g3', 'c1', '["a","b"]',
                        '{"enable.auto.commit":false}')}
  } { db eval $sql }
  foreach t $::catalogs {
    set decl {}
    set ::catcols($t) {}
    db eval "SELECT name, type FROM pragma_table_info('$t')" {
      lappend decl "\"$name\" $type"
      lappend ::catcols($t) $name
    }
    db eval "CREATE TABLE c_$t ([join $decl {, }]);
             INSERT INTO c_$t SELECT * FROM $t"
    foreach c $::catcols($t) {
      set ::catlit($t,$c) [concat {NULL 0 1 '1' 'A' 'a' 'g1' 'G1' 'x'} \
        [db eval "SELECT DISTINCT quote(\"$c\") FROM c_$t ORDER BY 1"]]
    }
  }
}
proc diff_cat_term {t} {
  set c [pick $::catcols($t)]
  if {[chance 0.6]} { set c [lindex $::catcols($t) [rnd 3]] }
  set l [pick $::catlit($t,$c)]
  switch [rnd 7] {
    0 - 1 { return "$c = $l" }
    2 { return "$c = $l COLLATE [pick {NOCASE RTRIM}]" }
    3 { return "$c IN ($l, [pick $::catlit($t,$c)])" }
    4 { return "$c [pick {< <= > >= != IS {IS NOT}}] $l" }
    5 { return "$c [pick {LIKE GLOB}] [pick {'a%' 'g*' '_' 'T'}]" }
    default {
      set c2 [lindex $::catcols($t) [rnd 3]]
      return "($c = $l OR $c2 = [pick $::catlit($t,$c2)])"
    }
  }
}
proc diff_cat_query {t} {
  set terms {}
  for {set i [rnd 4]} {$i > 0} {incr i -1} { lappend terms [diff_cat_term $t] }
  set w [expr {[llength $terms] ? " WHERE [join $terms { AND }]" : ""}]
  set cols [join [lmap c $::catcols($t) {string cat "quote($c)"}] {, }]
  if {[chance 0.4]} { return [diff_cat_kept $t $w $cols] }
  if {[chance 0.3]} {
    return [list ordered "SELECT $cols FROM @T$w ORDER BY
      [join $::catcols($t) {, }] LIMIT [rnd 4]"]
  }
  if {[chance 0.2]} {
    return [list bag "SELECT count(*), quote(max([pick $::catcols($t)]))
                        FROM @T$w"]
  }
  return [list bag "SELECT $cols FROM @T$w"]
}

# Catalog queries whose values SQLite keeps beyond the row: bare columns
# of max() over a row's unique text (uk), self-joins and the plain table j
# outside, windows.
proc diff_cat_kept {t w cols} {
  lassign $::catcols($t) c0 c1
  set uk [join [lmap c $::catcols($t) {string cat "quote($c)"}] "||'|'||"]
  set bk [join [lmap c $::catcols($t) {string cat "quote(b.$c)"}] "||'|'||"]
  switch [rnd 4] {
    0 {
      set sql "SELECT quote($c0), quote([pick {max min}]($uk)), $cols
               FROM @T$w GROUP BY $c0"
      if {[chance 0.5]} { return [list ordered "$sql ORDER BY $c0 DESC"] }
      return [list bag $sql]
    }
    1 {
      return [list bag "SELECT quote(a.$c0), quote(a.$c1), quote(max($bk)),
        quote(b.$c1), count(*) FROM (SELECT * FROM @T$w) a CROSS JOIN @T b
        ON b.$c0 = a.$c0 GROUP BY a.$c0, a.$c1"]
    }
    2 {
      return [list bag "SELECT quote(j.id), quote(max($bk)), quote(b.$c1)
        FROM j CROSS JOIN @T b ON b.$c0 = j.t GROUP BY j.id"]
    }
    default {
      return [list bag "SELECT $cols, quote(lag($c1) OVER w),
        quote(first_value($c1) OVER w) FROM @T$w
        WINDOW w AS (PARTITION BY $c0 ORDER BY $uk)"]
    }
  }
}

# Queries inside the producing transaction (odd seeds): the connection's
# pending record batches are written by the first read after a produce.
# diff_pending_begin opens the transaction and reads each partition's
# next offset; diff_pending_produce writes a few messages to one or two
# partitions, and the same rows (offsets counted here) into pm.
proc diff_pending_begin {} {
  db eval BEGIN
  array unset ::hw
  db eval { SELECT topic, partition, high_watermark FROM stream_partitions } {
    set ::hw($topic,$partition) $high_watermark
  }
}
proc diff_pending_produce {} {
  set parts [array names ::hw]
  for {set n [expr {1 + [rnd 2]}]} {$n > 0} {incr n -1} {
    lassign [split [pick $parts] ,] topic p
    for {set i [expr {1 + [rnd 4]}]} {$i > 0} {incr i -1} {
      lassign [diff_message $topic] key value headers ts
      set o $::hw($topic,$p)
      db eval "INSERT INTO stream_messages(topic, partition, key, value,
                 headers, timestamp)
               VALUES(\$topic, $p, $key, $value, $headers, $ts);
               INSERT INTO pm VALUES(\$topic, $p, $o, $key, $value,
                 $headers, $ts);"
      incr ::hw($topic,$p)
    }
  }
}

# Run one query, count it, and count and show (the first 5 per seed) a
# mismatch in the caller's nBad.
proc diff_one {what q {vt stream_messages} {pt pm} {vmap {}} {pmap {}}} {
  upvar nBad nBad
  set msg [diff_run $q $vt $pt $vmap $pmap]
  incr ::diff_total
  if {$msg eq ""} return
  if {[incr nBad] <= 5} {
    set sql [regsub -all {\s+} [string map [list @T $vt] [lindex $q 1]] { }]
    puts "! mismatch: $what ([lindex $q 0])\n    sql: $sql\n    $msg"
  }
}
