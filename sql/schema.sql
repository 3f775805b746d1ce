-- sqlite-stream storage (hot tier), format version 4.
--
-- Compiled into the extension at build time (tool/sql2c.tcl) and run with
-- CREATE ... IF NOT EXISTS on first use, inside the caller's transaction.
-- The public names stream_messages, stream_offsets, stream_groups belong to
-- the virtual tables; the storage tables behind them carry a leading
-- underscore, like FTS5's shadow tables.  docs/storage.md describes every
-- column.

-- Format version and extension-wide settings (stream_config()).
CREATE TABLE IF NOT EXISTS _stream_meta(
  key   TEXT PRIMARY KEY,
  value
) WITHOUT ROWID;

-- Topic catalog.  config holds the user's overrides as a JSON object; the
-- integer columns are the hot-path settings derived from it.  incarnation
-- is a random non-zero id given when the topic is created: warm segments
-- carry it, so a segment of an earlier topic of the same name is known by
-- identity, never by comparing clocks.
CREATE TABLE IF NOT EXISTS _stream_topics(
  name               TEXT PRIMARY KEY,
  partitions         INTEGER NOT NULL,
  config             TEXT NOT NULL,
  max_message_bytes  INTEGER NOT NULL,
  timestamp_type     INTEGER NOT NULL,   -- 0 CreateTime, 1 LogAppendTime
  compression        INTEGER NOT NULL,   -- 0 none, 1 gzip, 2 zstd
  cleanup            INTEGER NOT NULL,   -- bit 0 delete, bit 1 compact
  created_at         INTEGER NOT NULL,
  backpressure_max_lag INTEGER NOT NULL DEFAULT -1,
  backpressure_block_ms INTEGER NOT NULL DEFAULT -1, -- -1: reject
  incarnation        INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

-- One row per partition.  next_offset is a floor for the high watermark:
-- the high watermark is the larger of max(offset)+1 over the partition's
-- hot messages and next_offset.  Whoever deletes messages (retention,
-- compaction, tiering) raises next_offset to the high watermark first.
-- id is the partition's number in the database (1, 2, ...; unique, index
-- _stream_partitions_id, created in ext/schema.c after any upgrade): its
-- messages are the rows (id << 40) | offset of _stream_log.
CREATE TABLE IF NOT EXISTS _stream_partitions(
  topic              TEXT NOT NULL,
  partition          INTEGER NOT NULL,
  log_start_offset   INTEGER NOT NULL DEFAULT 0,
  next_offset        INTEGER NOT NULL DEFAULT 0,
  id                 INTEGER,
  PRIMARY KEY(topic, partition)
) WITHOUT ROWID;

-- Messages, keyed by (partition id << 40) | offset, so that every append
-- is an integer-keyed append with the value inline, and a partition's
-- messages are one range of rowids.  Offsets of a partition run from 0 to
-- 2^40-1 (STREAM_MAX_LOG_OFFSET).  A row holds one message, or (format 4)
-- a record batch: several messages of one partition produced in one
-- transaction, its id the first one's offset.  attrs: bits 0-1 codec of
-- value (0 none, 1 gzip, 2 zstd), bit 2 the compressed value was a BLOB
-- (else JSON text), bit 3 (8) a record batch: then key is the integer
-- (bytes << 8) | (last offset - first offset), value the records
-- (ext/record.c), headers NULL and timestamp the records' largest.  No
-- per-message index: _stream_timeindex below.
CREATE TABLE IF NOT EXISTS _stream_log(
  id                 INTEGER PRIMARY KEY,
  key,
  value,
  headers            TEXT,
  timestamp          INTEGER NOT NULL,
  attrs              INTEGER NOT NULL DEFAULT 0
);

-- The sparse time index (Kafka's .timeindex): an entry for every 64th
-- offset of a partition (offset % 64 = 63) holding the running maximum
-- timestamp: no hot message of the partition at or below offset has a
-- larger timestamp.  The values grow with the offset, so the last entry
-- below a time T is found by the key, and the first message at or after T
-- lies after it (ext/storage.c).  Entries are removed with the messages
-- below them.
CREATE TABLE IF NOT EXISTS _stream_timeindex(
  pid                INTEGER NOT NULL,   -- _stream_partitions.id
  timestamp          INTEGER NOT NULL,
  offset             INTEGER NOT NULL,
  PRIMARY KEY(pid, timestamp, offset)
) WITHOUT ROWID;

-- The seed's stream_messages columns over _stream_log, one row per
-- message (record batches unpacked by stream_log_records(),
-- vtab/records.c), values as stored, for inspection (the engine reads
-- _stream_log itself).
CREATE VIEW IF NOT EXISTS _stream_messages(topic, partition, offset, key,
  value, headers, timestamp, attrs) AS
  SELECT p.topic, p.partition, r.offset, r.key, r.value, r.headers,
         r.timestamp, r.attrs
  FROM _stream_partitions p JOIN _stream_log m
    ON m.id BETWEEN p.id << 40 AND (p.id << 40) + 1099511627775
  JOIN stream_log_records(m.id, m.key, m.value, m.headers, m.timestamp,
                          m.attrs) r;

-- Committed offsets (the seed's stream_offsets): the next offset to read.
-- A rowid table (as in the seed), so that stream_offsets can expose the
-- rowid and support UPDATE and DELETE.
CREATE TABLE IF NOT EXISTS _stream_offsets(
  group_id           TEXT NOT NULL,
  topic              TEXT NOT NULL,
  partition          INTEGER NOT NULL,
  offset             INTEGER NOT NULL,
  metadata           TEXT,
  committed_at       INTEGER NOT NULL,
  PRIMARY KEY(group_id, topic, partition)
);

-- Consumer group state (the seed's stream_groups).  members is a JSON
-- array of member ids, assignment a JSON object {member: {topic: [p...]}};
-- strategy and topic_partitions ({topic: partitions} when the assignment
-- was computed) are the engine's.
CREATE TABLE IF NOT EXISTS _stream_groups(
  group_id           TEXT PRIMARY KEY,
  generation         INTEGER NOT NULL,
  leader             TEXT,
  members            TEXT,
  assignment         TEXT,
  updated_at         INTEGER NOT NULL,
  strategy           TEXT NOT NULL DEFAULT 'range',
  topic_partitions   TEXT NOT NULL DEFAULT '{}'
) WITHOUT ROWID;

-- Members of consumer groups.  incarnation grows at every join of the
-- member id, fencing older incarnations; topics is the subscription (a
-- sorted JSON array), options the normalised join options.
CREATE TABLE IF NOT EXISTS _stream_members(
  group_id           TEXT NOT NULL,
  member_id          TEXT NOT NULL,
  incarnation        INTEGER NOT NULL,
  topics             TEXT NOT NULL,
  options            TEXT NOT NULL,
  session_timeout_ms INTEGER NOT NULL,
  max_poll_interval_ms INTEGER NOT NULL,
  auto_commit        INTEGER NOT NULL,
  auto_commit_interval_ms INTEGER NOT NULL,
  max_poll_records   INTEGER NOT NULL,
  fetch_max_bytes    INTEGER NOT NULL,
  auto_offset_reset  INTEGER NOT NULL,   -- 0 earliest, 1 latest, 2 none
  joined_at          INTEGER NOT NULL,
  heartbeat_at       INTEGER NOT NULL,
  polled_at          INTEGER,
  autocommitted_at   INTEGER,              -- not written or read any more
  poll_cursor        INTEGER NOT NULL DEFAULT 0, -- (nor this): see storage.md
  PRIMARY KEY(group_id, member_id)
) WITHOUT ROWID;

-- The assignment, one row per assigned partition, with the owner's
-- in-flight position (the next offset a poll returns; NULL until the first
-- poll, which starts at the committed offset or auto.offset.reset).
CREATE TABLE IF NOT EXISTS _stream_assignments(
  group_id           TEXT NOT NULL,
  topic              TEXT NOT NULL,
  partition          INTEGER NOT NULL,
  member_id          TEXT NOT NULL,
  position           INTEGER,
  paused             INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY(group_id, topic, partition)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS _stream_assignments_member
  ON _stream_assignments(group_id, member_id);

-- Idempotent producers: the sequence numbers of the last 5 batches of each
-- producer id on each topic (Kafka keeps 5 batches) and where they were
-- written.  batch_seq is the first sequence of the message's batch (NULL
-- in databases written before it existed: the message is a batch).
CREATE TABLE IF NOT EXISTS _stream_producers(
  producer_id        TEXT NOT NULL,
  topic              TEXT NOT NULL,
  seq                INTEGER NOT NULL,
  partition          INTEGER NOT NULL,
  offset             INTEGER NOT NULL,
  batch_seq          INTEGER,
  PRIMARY KEY(producer_id, topic, seq)
) WITHOUT ROWID;

INSERT OR IGNORE INTO _stream_meta(key, value) VALUES('format', 5);
-- The database's id: its namespace "db=<id>/" in a warm store shared with
-- other databases (ext/tier.c, docs/tiering.md).
INSERT OR IGNORE INTO _stream_meta(key, value)
  VALUES('database.id', lower(hex(randomblob(16))));

-- Warm tier segment index (ext/tier.c, docs/tiering.md): one row per
-- Parquet file holding one partition's offsets first_offset..last_offset.
-- location is the file's key inside the warm store (relative, checked
-- before use); timestamps are the min and max of the file's messages (ms);
-- bytes is the file size; incarnation that of the topic the segment was
-- written for (a row of another incarnation is dead: never read, removed by
-- the sweep).  A file of this database's store namespace that no row names
-- is an orphan (a crash or a rolled-back move) and is removed by
-- maintenance.
CREATE TABLE IF NOT EXISTS _stream_segments(
  topic              TEXT NOT NULL,
  partition          INTEGER NOT NULL,
  first_offset       INTEGER NOT NULL,
  last_offset        INTEGER NOT NULL,
  first_timestamp    INTEGER NOT NULL,
  last_timestamp     INTEGER NOT NULL,
  messages           INTEGER NOT NULL,
  bytes              INTEGER NOT NULL,
  location           TEXT NOT NULL,
  codec              INTEGER NOT NULL,   -- 0 none, 1 gzip, 2 zstd
  created_at         INTEGER NOT NULL,
  incarnation        INTEGER NOT NULL DEFAULT 0,
  store              TEXT,               -- URL of its store; NULL: warm.store
  PRIMARY KEY(topic, partition, first_offset)
) WITHOUT ROWID;
-- Every store other than warm.store that a topic of this database was
-- given as its own warm.store (recorded with the topic's config, before
-- any file can be written there): the orphan sweep covers each of them,
-- even after the topic is deleted or given another store.
CREATE TABLE IF NOT EXISTS _stream_stores(
  url                TEXT PRIMARY KEY
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS _stream_segments_location
  ON _stream_segments(location);
-- Two rows of one partition (and topic incarnation) never overlap: each
-- offset is in at most one segment (a reader refuses overlapping rows too).
CREATE TRIGGER IF NOT EXISTS _stream_segments_overlap
  BEFORE INSERT ON _stream_segments
  WHEN EXISTS(SELECT 1 FROM _stream_segments s WHERE s.topic=new.topic
    AND s.partition=new.partition AND s.incarnation=new.incarnation
    AND s.last_offset>=new.first_offset AND s.first_offset<=new.last_offset)
BEGIN
  SELECT RAISE(ABORT, 'stream: warm segment rows may not overlap');
END;

-- Retention and compaction state (ext/retention.c, ext/compact.c,
-- docs/retention.md): one row per partition, created on first use.
-- clean_offset is the compaction clean point (below it at most one message
-- per key), clean_count the messages below it, target_offset the end of a
-- compaction run in progress (amortised engine) or NULL; mark_offset and
-- mark_at are a high watermark and when it was seen, horizon_offset the
-- offset below which tombstones are older than delete.retention.ms;
-- size_offset/size_bytes the running byte count for retention.bytes (bytes
-- of the messages below size_offset; NULL = to be recounted).
CREATE TABLE IF NOT EXISTS _stream_cleaner(
  topic              TEXT NOT NULL,
  partition          INTEGER NOT NULL,
  clean_offset       INTEGER NOT NULL DEFAULT 0,
  clean_count        INTEGER NOT NULL DEFAULT 0,
  target_offset      INTEGER,
  mark_offset        INTEGER NOT NULL DEFAULT 0,
  mark_at            INTEGER NOT NULL DEFAULT 0,
  horizon_offset     INTEGER NOT NULL DEFAULT 0,
  cleaned_at         INTEGER,
  removed            INTEGER NOT NULL DEFAULT 0,
  size_offset        INTEGER,
  size_bytes         INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY(topic, partition)
) WITHOUT ROWID;

-- The offset map of the clean section of a compacted partition: each key
-- (as bytes, so TEXT and BLOB keys with the same bytes are one key) and the
-- offset of its message below clean_offset; tomb marks a tombstone.
CREATE TABLE IF NOT EXISTS _stream_cleaner_keys(
  topic              TEXT NOT NULL,
  partition          INTEGER NOT NULL,
  key                BLOB NOT NULL,
  offset             INTEGER NOT NULL,
  tomb               INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY(topic, partition, key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS _stream_cleaner_keys_tomb
  ON _stream_cleaner_keys(topic, partition, offset) WHERE tomb;

-- Deleting a topic forgets its cleaner state (whatever deletes it).
CREATE TRIGGER IF NOT EXISTS _stream_cleaner_topic_gone
  AFTER DELETE ON _stream_topics
BEGIN
  DELETE FROM _stream_cleaner WHERE topic=old.name;
  DELETE FROM _stream_cleaner_keys WHERE topic=old.name;
END;
