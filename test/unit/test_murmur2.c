/*
** test_murmur2.c - unit test of ext/murmur2.c.
**
** Checks sqlite3StreamMurmur2() against the published vectors of Kafka's
** Java client (UtilsTest.testMurmur2) and librdkafka (unittest_murmur2),
** the same list as shared/vectors/murmur2-public.tsv, and
** sqlite3StreamPartitionForKey() against toPositive(hash) % n.
**
**   gcc -std=c11 -Wall -Wextra -DSQLITE_CORE -Iext \
**       test/unit/test_murmur2.c ext/murmur2.c -lsqlite3 -o test_murmur2
**
** The last line printed is "N passed, N failed"; the exit code is non-zero
** if anything failed.
*/
#include "streamInt.h"
#include <stdio.h>
#include <string.h>

#include "unit_check.h"

/* Published vectors: key, signed hash, hex of the same hash. */
static const struct MurmurVector {
  const char *zKey;
  int iHash;
  unsigned int uHex;
  const char *zSource;
} aVector[] = {
  { "21", -973932308, 0xc5f2f8ec, "kafka UtilsTest" },
  { "foobar", -790332482, 0xd0e47bbe, "kafka UtilsTest" },
  { "a-little-bit-long-string", -985981536, 0xc53b1da0, "kafka UtilsTest" },
  { "a-little-bit-longer-string", -1486304829, 0xa768c9c3,
    "kafka UtilsTest" },
  { "lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971,
    0xfc7d49cd, "kafka UtilsTest" },
  { "abc", 479470107, 0x1c94221b, "kafka UtilsTest" },
  { "kafka", -798503068, 0xd067cf64, "librdkafka" },
  { "giberish123456789", -1890243828, 0x8f552b0c, "librdkafka" },
  { "1234", -1614185708, 0x9fc97b14, "librdkafka" },
  { "234", -406844982, 0xe7c009ca, "librdkafka" },
  { "34", -2026295078, 0x873930da, "librdkafka" },
  { "4", 1514888353, 0x5a4b5ca1, "librdkafka" },
  { "PreAmbleWillBeRemoved,ThePrePartThatIs", 2017611548, 0x78424f1c,
    "librdkafka" },
  { "reAmbleWillBeRemoved,ThePrePartThatIs", 1247982455, 0x4a62b377,
    "librdkafka" },
  { "eAmbleWillBeRemoved,ThePrePartThatIs", -521871202, 0xe0e4e09e,
    "librdkafka" },
  { "AmbleWillBeRemoved,ThePrePartThatIs", 1656271935, 0x62b8b43f,
    "librdkafka" },
  { "", 275646681, 0x106e08d9, "librdkafka (empty key)" },
};

/* Same conversion as the code under test, written independently. */
static unsigned int toU32(int i){
  unsigned int u;
  memcpy(&u, &i, sizeof(u));
  return u;
}

int main(void){
  int i;
  char zName[200];
  char zDetail[200];
  int nVector = (int)(sizeof(aVector)/sizeof(aVector[0]));

  /* 1. Published vectors: signed value and bit pattern. */
  for(i=0; i<nVector; i++){
    const struct MurmurVector *pV = &aVector[i];
    int n = (int)strlen(pV->zKey);
    int h = sqlite3StreamMurmur2(pV->zKey, n);
    snprintf(zName, sizeof(zName), "murmur2-1.%d (%s, \"%s\")",
             i+1, pV->zSource, pV->zKey);
    snprintf(zDetail, sizeof(zDetail), "got %d, want %d", h, pV->iHash);
    check(h==pV->iHash, zName, zDetail);
    snprintf(zDetail, sizeof(zDetail), "got %08x, want %08x",
             toU32(h), pV->uHex);
    check(toU32(h)==pV->uHex, zName, zDetail);
  }

  /* 2. Partition = (hash & 0x7fffffff) % n for the vectors, n = 1..64. */
  for(i=0; i<nVector; i++){
    const struct MurmurVector *pV = &aVector[i];
    int n = (int)strlen(pV->zKey);
    int nPart;
    int bOk = 1;
    for(nPart=1; nPart<=64; nPart++){
      int iWant = (int)((pV->uHex & 0x7fffffffU) % (unsigned)nPart);
      int iGot = sqlite3StreamPartitionForKey(pV->zKey, n, nPart);
      if( iGot!=iWant ){
        bOk = 0;
        snprintf(zDetail, sizeof(zDetail), "n=%d got %d want %d",
                 nPart, iGot, iWant);
        break;
      }
    }
    snprintf(zName, sizeof(zName), "murmur2-2.%d (\"%s\")", i+1, pV->zKey);
    check(bOk, zName, bOk ? "" : zDetail);
  }

  /* 3. Fixed partitions, computed by hand from the vectors above. */
  check(sqlite3StreamPartitionForKey("21", 2, 8)==4, "murmur2-3.1", "21/8");
  check(sqlite3StreamPartitionForKey("foobar", 6, 8)==6, "murmur2-3.2",
        "foobar/8");
  check(sqlite3StreamPartitionForKey("", 0, 8)==1, "murmur2-3.3", "''/8");
  check(sqlite3StreamPartitionForKey("", 0, 7)==2, "murmur2-3.4", "''/7");
  check(sqlite3StreamPartitionForKey("kafka", 5, 1)==0, "murmur2-3.5",
        "kafka/1");
  check(sqlite3StreamPartitionForKey("4", 1, 3)==(1514888353 % 3),
        "murmur2-3.6", "4/3");
  /* toPositive, not abs(): -973932308 & 0x7fffffff = 1173551340. */
  check(sqlite3StreamPartitionForKey("21", 2, 0x7fffffff)==1173551340,
        "murmur2-3.7", "21/INT_MAX");

  /* 4. The hash reads only nKey bytes: a longer buffer changes nothing. */
  {
    const char *zBuf = "foobarXYZ";
    check(sqlite3StreamMurmur2(zBuf, 6)==-790332482, "murmur2-4.1",
          "prefix of a longer buffer");
    check(sqlite3StreamMurmur2(zBuf, 3)!=sqlite3StreamMurmur2(zBuf, 4),
          "murmur2-4.2", "length is part of the hash");
    /* An empty blob arrives as a NULL pointer from sqlite3_value_blob(). */
    check(sqlite3StreamMurmur2(0, 0)==275646681, "murmur2-4.3",
          "NULL pointer, 0 bytes");
    check(sqlite3StreamPartitionForKey(0, 0, 8)==1, "murmur2-4.4",
          "NULL pointer, 0 bytes, 8 partitions");
  }

  /* 5. High-bit bytes (Java's signed bytes masked with 0xff). Reference
  **    values from kafkajs 2.2.4 (test/interop/murmur2_keys.mjs). */
  {
    static const u8 aFF[4] = {0xff, 0xff, 0xff, 0xff};
    static const u8 a80[3] = {0x80, 0x80, 0x80};
    check(sqlite3StreamMurmur2(aFF, 4)==644171429, "murmur2-5.1",
          "ff ff ff ff");
    check(sqlite3StreamMurmur2(a80, 3)==-1134684817, "murmur2-5.2",
          "80 80 80");
  }

  return checkDone();
}
