
  lassign $argv ext file ms value
  package require sqlite3
  sqlite3 db $file
  db enable_load_extension 1
  db eval { SELECT load_extension($ext) }
  db timeout 5000
  after $ms
  db eval { SELECT stream_produce('lp', NULL, $value, NULL, 0) }
  db close

