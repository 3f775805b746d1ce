#!/usr/bin/python3
# iceberg_avro_check.py - check a cold-tier Iceberg table against the
# Iceberg v2 spec with an independent Avro reader (Debian's python3-avro).
#
#   /usr/bin/python3 test/interop/iceberg_avro_check.py TABLE_DIR
#
# Reads metadata/version-hint.text, then vN.metadata.json (and checks it is
# the newest vN), the current snapshot's manifest list and every manifest,
# and checks:
#   * table metadata: every field v2 requires, format-version 2, schema
#     field ids, identifier fields (2, 3), partition spec day(timestamp),
#     sort order (partition, offset), refs.main = current snapshot;
#   * manifest list: header keys (snapshot-id, sequence-number,
#     format-version, parent-snapshot-id when there is a parent), every
#     required manifest_file field, field-id on every schema field;
#   * manifests: header keys schema, schema-id, partition-spec,
#     partition-spec-id, format-version = 2, content = data; every required
#     manifest_entry / data_file field; value_counts = record_count; bounds
#     of partition, offset and timestamp with lower <= upper; the
#     timestamp_day partition value equal to the day of both timestamp
#     bounds; the data file exists with the size the manifest gives;
#   * snapshots: a parent chain back to the first one, each summary with
#     operation, stream.database-id and stream.next-offsets, the next
#     offsets never going back along the chain; sequence numbers growing.
# Prints "OK <records> <files> <snapshots>" and exits 0, or the problems
# and exits 1.  Exits 77 if the avro module is missing.
import json
import os
import struct
import sys

try:
    import avro.datafile
    import avro.io
except ImportError:
    print("SKIP: python3-avro is not installed")
    sys.exit(77)

errors = []


def bad(msg):
    errors.append(msg)


def path_of(url):
    if not url.startswith("file://"):
        bad("not a file:// path: %s" % url)
        return url
    return url[len("file://"):]


def read_avro(path):
    with open(path, "rb") as f:
        r = avro.datafile.DataFileReader(f, avro.io.DatumReader())
        meta = {k: v.decode() if isinstance(v, bytes) else v for k, v in r.meta.items()}
        recs = list(r)
    return meta, recs


def check_field_ids(schema, where):
    # Every record field of the Avro schema carries a field-id.
    if isinstance(schema, dict):
        if schema.get("type") == "record":
            for fld in schema["fields"]:
                if "field-id" not in fld:
                    bad("%s: Avro field %s has no field-id" % (where, fld["name"]))
                check_field_ids(fld["type"], where)
        else:
            for k in ("items", "values", "type"):
                if k in schema:
                    check_field_ids(schema[k], where)
    elif isinstance(schema, list):
        for s in schema:
            check_field_ids(s, where)


table = sys.argv[1]
mdir = os.path.join(table, "metadata")
hint = int(open(os.path.join(mdir, "version-hint.text")).read().strip())
versions = [int(n[1:-len(".metadata.json")]) for n in os.listdir(mdir)
            if n.startswith("v") and n.endswith(".metadata.json")]
if hint != max(versions):
    bad("version-hint.text says %d, newest metadata is v%d" % (hint, max(versions)))
meta = json.load(open(os.path.join(mdir, "v%d.metadata.json" % max(versions))))

for k in ("format-version", "table-uuid", "location", "last-sequence-number",
          "last-updated-ms", "last-column-id", "schemas", "current-schema-id",
          "partition-specs", "default-spec-id", "last-partition-id",
          "sort-orders", "default-sort-order-id", "snapshots", "refs",
          "current-snapshot-id", "snapshot-log", "metadata-log"):
    if k not in meta:
        bad("table metadata lacks %s" % k)
if meta.get("format-version") != 2:
    bad("format-version is %r" % meta.get("format-version"))
schema = [s for s in meta["schemas"] if s["schema-id"] == meta["current-schema-id"]][0]
want = [(1, "topic", "string", True), (2, "partition", "int", True),
        (3, "offset", "long", True), (4, "key", "binary", False),
        (5, "value", "binary", False), (6, "headers", "string", False),
        (7, "timestamp", "timestamptz", True), (8, "attributes", "int", True)]
got = [(f["id"], f["name"], f["type"], f["required"]) for f in schema["fields"]]
if got != want:
    bad("schema fields %r" % got)
if schema.get("identifier-field-ids") != [2, 3]:
    bad("identifier-field-ids %r" % schema.get("identifier-field-ids"))
spec = meta["partition-specs"][0]
if spec["fields"] != [{"name": "timestamp_day", "transform": "day", "source-id": 7, "field-id": 1000}]:
    bad("partition spec %r" % spec)
order = [o for o in meta["sort-orders"] if o["order-id"] == meta["default-sort-order-id"]][0]
if [(f["source-id"], f["direction"]) for f in order["fields"]] != [(2, "asc"), (3, "asc")]:
    bad("sort order %r" % order)
cur = meta["current-snapshot-id"]
if meta["refs"].get("main", {}).get("snapshot-id") != cur:
    bad("refs.main is not the current snapshot")

# The snapshot chain.
snaps = {s["snapshot-id"]: s for s in meta["snapshots"]}
chain = []
sid = cur
while sid is not None and sid in snaps:
    chain.append(snaps[sid])
    sid = snaps[sid].get("parent-snapshot-id")
if len(chain) != len(snaps):
    bad("%d snapshots, %d on the current chain" % (len(snaps), len(chain)))
prev_next = None
for s in reversed(chain):
    summ = s.get("summary", {})
    for k in ("operation", "stream.database-id", "stream.next-offsets"):
        if k not in summ:
            bad("snapshot %d summary lacks %s" % (s["snapshot-id"], k))
    nxt = json.loads(summ.get("stream.next-offsets", "{}"))
    if prev_next is not None:
        for p, o in prev_next.items():
            if nxt.get(p, -1) < o:
                bad("next offset of partition %s goes back: %d -> %r" % (p, o, nxt.get(p)))
        if s["sequence-number"] <= prev_seq:
            bad("sequence numbers do not grow")
    prev_next = nxt
    prev_seq = s["sequence-number"]

# The manifest list.
snap = snaps[cur]
lmeta, mfiles = read_avro(path_of(snap["manifest-list"]))
for k in ("snapshot-id", "sequence-number", "format-version"):
    if k not in lmeta:
        bad("manifest list header lacks %s" % k)
if lmeta.get("format-version") != "2":
    bad("manifest list format-version %r" % lmeta.get("format-version"))
if snap.get("parent-snapshot-id") is not None and "parent-snapshot-id" not in lmeta:
    bad("manifest list header lacks parent-snapshot-id")
check_field_ids(json.loads(lmeta["avro.schema"]), "manifest list")
records = 0
nfiles = 0
for mf in mfiles:
    for k in ("manifest_path", "manifest_length", "partition_spec_id", "content",
              "sequence_number", "min_sequence_number", "added_snapshot_id",
              "added_files_count", "existing_files_count", "deleted_files_count",
              "added_rows_count", "existing_rows_count", "deleted_rows_count"):
        if mf.get(k) is None:
            bad("manifest_file lacks %s" % k)
    mpath = path_of(mf["manifest_path"])
    if os.path.getsize(mpath) != mf["manifest_length"]:
        bad("%s: manifest_length differs" % mpath)
    mmeta, entries = read_avro(mpath)
    for k in ("schema", "schema-id", "partition-spec", "partition-spec-id",
              "format-version", "content"):
        if k not in mmeta:
            bad("%s: header lacks %s" % (mpath, k))
    if mmeta.get("format-version") != "2" or mmeta.get("content") != "data":
        bad("%s: format-version/content %r %r" % (mpath, mmeta.get("format-version"), mmeta.get("content")))
    if json.loads(mmeta["schema"])["fields"] != schema["fields"]:
        bad("%s: header schema differs from the table's" % mpath)
    check_field_ids(json.loads(mmeta["avro.schema"]), mpath)
    rows = 0
    for e in entries:
        if e.get("status") not in (0, 1, 2):
            bad("entry status %r" % e.get("status"))
        d = e["data_file"]
        for k in ("content", "file_path", "file_format", "partition",
                  "record_count", "file_size_in_bytes"):
            if d.get(k) is None:
                bad("data_file lacks %s" % k)
        if d["content"] != 0 or d["file_format"] != "PARQUET":
            bad("data_file content/format %r %r" % (d["content"], d["file_format"]))
        if e.get("snapshot_id") is None and e["status"] != 1:
            bad("entry without snapshot_id")
        fpath = path_of(d["file_path"])
        if e["status"] == 2:
            # DELETED (expired): explicit sequence numbers, and gone
            if e.get("sequence_number") is None or e.get("file_sequence_number") is None:
                bad("deleted entry without sequence numbers")
            deleted_rows = d["record_count"]
            if mf["deleted_rows_count"] < deleted_rows:
                bad("%s: deleted_rows_count too small" % mpath)
            continue
        if not os.path.exists(fpath) or os.path.getsize(fpath) != d["file_size_in_bytes"]:
            bad("%s: missing or size differs" % fpath)
        vc = {kv["key"]: kv["value"] for kv in d["value_counts"]}
        if any(v != d["record_count"] for v in vc.values()) or len(vc) != 8:
            bad("%s: value_counts %r" % (fpath, vc))
        lo = {kv["key"]: kv["value"] for kv in d["lower_bounds"]}
        hi = {kv["key"]: kv["value"] for kv in d["upper_bounds"]}
        for fid, fmt in ((2, "<i"), (3, "<q"), (7, "<q")):
            if fid not in lo or fid not in hi:
                bad("%s: no bounds for field %d" % (fpath, fid))
                continue
            if struct.unpack(fmt, lo[fid])[0] > struct.unpack(fmt, hi[fid])[0]:
                bad("%s: lower bound above upper of field %d" % (fpath, fid))
        day = d["partition"]["timestamp_day"]
        for b in (lo.get(7), hi.get(7)):
            if b is not None and struct.unpack("<q", b)[0] // 86400000000 != day:
                bad("%s: timestamp bound not in partition day %d" % (fpath, day))
        if struct.unpack("<q", hi[3])[0] - struct.unpack("<q", lo[3])[0] + 1 < d["record_count"]:
            bad("%s: more records than its offset range" % fpath)
        rows += d["record_count"]
        nfiles += 1
    if mf["added_rows_count"] + mf["existing_rows_count"] != rows:
        bad("%s: row counts in the list differ from the manifest" % mpath)
    records += rows

# Every file of the table is referenced (no orphans): manifest lists of
# all snapshots, manifests of the current list, their data files, and the
# metadata versions and version hint.
referenced = {path_of(s["manifest-list"]) for s in meta["snapshots"]}
referenced |= {path_of(mf["manifest_path"]) for mf in mfiles}
for mf in mfiles:
    for e in read_avro(path_of(mf["manifest_path"]))[1]:
        if e["status"] != 2:
            referenced.add(path_of(e["data_file"]["file_path"]))
for root, dirs, files in os.walk(table):
    for name in files:
        full = os.path.join(root, name)
        if root == mdir and (name == "version-hint.text" or
                             (name.startswith("v") and name.endswith(".metadata.json"))):
            continue
        if os.path.abspath(full) not in {os.path.abspath(r) for r in referenced}:
            bad("orphan file %s" % full)

if errors:
    for m in errors[:20]:
        print("BAD " + m)
    sys.exit(1)
print("OK %d %d %d" % (records, nfiles, len(snaps)))
