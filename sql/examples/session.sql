-- session.sql - a first session with sqlite-stream in the sqlite3 shell.
--
--   rm -f demo.db && sqlite3 demo.db < sql/examples/session.sql
--
-- run from the build directory (where stream0.so is).  README.md shows
-- its output.
.bail on
.load ./stream0
.timeout 5000
PRAGMA journal_mode=WAL;
.mode box

-- A topic with 4 partitions.
SELECT stream_create_topic('orders', 4) AS partitions;

-- Keyed messages: the key picks the partition (Kafka's murmur2), so all
-- the messages of one order land, in order, on one partition.
WITH m(key, value, headers) AS (VALUES
  ('order_123', '{"customer":"cust_1","total":99.99}', '{"source":"web"}'),
  ('order_124', '{"customer":"cust_2","total":5}', NULL),
  ('order_125', '{"customer":"cust_1","total":12.5}', NULL),
  ('order_123', '{"status":"paid"}', NULL))
SELECT key, stream_produce('orders', key, value, headers) AS offset FROM m;

-- Where did they go?
SELECT partition, offset, key, value, headers
  FROM stream_messages WHERE topic = 'orders'
 ORDER BY partition, offset;

-- Read one partition from an offset on (a range scan of the primary key).
SELECT offset, key, value
  FROM stream_messages
 WHERE topic = 'orders' AND partition = stream_partition('order_123', 4)
   AND offset >= 1
 ORDER BY offset LIMIT 100;

-- Consume with a group: worker-1 joins 'billing' (Kafka's range
-- assignor gives it every partition), polls, and commits what it read, in
-- one transaction.
SELECT stream_join('billing', 'worker-1', '["orders"]',
  '{"auto.offset.reset":"earliest","enable.auto.commit":false}') AS joined;
BEGIN IMMEDIATE;
SELECT partition, offset, key FROM stream_poll('billing', 'worker-1', 3);
SELECT stream_commit_sync('billing', 'worker-1') AS partitions_committed;
COMMIT;

-- The committed offset is the next offset to read (Kafka's meaning).
SELECT group_id, topic, partition, offset FROM stream_offsets;
SELECT partition, committed, high_watermark, lag
  FROM stream_lag WHERE group_id = 'billing';

-- Per-partition state.
SELECT partition, log_start_offset, high_watermark, messages
  FROM stream_partitions WHERE topic = 'orders';
