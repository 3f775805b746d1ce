/*
** murmur2.c - Kafka's key hash and default partitioner.
**
** sqlite3StreamMurmur2() reproduces, bit for bit, the 32-bit MurmurHash2
** variant of Kafka's Java client (org.apache.kafka.common.utils.Utils
** .murmur2): seed 0x9747b28c, m = 0x5bd1e995, r = 24, the key read as
** little-endian 4-byte words, the 1 to 3 trailing bytes mixed in as by the
** fall-through of Java's switch, then the two final mixes.  Java computes
** in wrapping signed 32-bit ints; here all arithmetic is on uint32_t (so
** there is no signed overflow) and only the result is mapped to the signed
** value Java returns.
**
** sqlite3StreamPartitionForKey() is the partition that Kafka's default
** partitioner (Java client, librdkafka's "murmur2_random", kafkajs's
** DefaultPartitioner) picks for a non-null key:
**
**     toPositive(murmur2(key)) % numPartitions
**
** where toPositive(h) is h & 0x7fffffff (not abs(), which differs for
** negative hashes and overflows for INT_MIN).
*/
#include "streamInt.h"

#define STREAM_MURMUR2_SEED 0x9747b28cU
#define STREAM_MURMUR2_M    0x5bd1e995U
#define STREAM_MURMUR2_R    24

/*
** Map a uint32_t to the int32 with the same two's-complement bits, without
** relying on implementation-defined narrowing conversions.
*/
static int streamU32ToInt(uint32_t h){
  if( h<=0x7fffffffU ) return (int)h;
  return -(int)(~h) - 1;
}

/*
** Return the unsigned form of Kafka's murmur2 hash of the nKey bytes at
** pKey.  A negative nKey is treated as 0.
*/
static uint32_t streamMurmur2U32(const void *pKey, int nKey){
  const u8 *a = (const u8*)pKey;
  const uint32_t m = STREAM_MURMUR2_M;
  uint32_t nLen = nKey>0 ? (uint32_t)nKey : 0;
  uint32_t h = STREAM_MURMUR2_SEED ^ nLen;
  uint32_t nWord = nLen / 4;
  uint32_t i;

  for(i=0; i<nWord; i++){
    const u8 *p = &a[i*4];
    uint32_t k = (uint32_t)p[0]
               | ((uint32_t)p[1] << 8)
               | ((uint32_t)p[2] << 16)
               | ((uint32_t)p[3] << 24);
    k *= m;
    k ^= k >> STREAM_MURMUR2_R;
    k *= m;
    h *= m;
    h ^= k;
  }

  /* The 1 to 3 trailing bytes.  Java's switch(length % 4) falls through
  ** from case 3 to case 2 to case 1; these ifs do the same.  (pKey may be
  ** NULL when nKey is 0, as sqlite3_value_blob() returns for an empty
  ** blob, so no pointer arithmetic on it unless there is a tail.) */
  if( nLen & 3U ){
    uint32_t nTail = nLen & 3U;
    const u8 *pTail = &a[nLen & ~3U];
    if( nTail>=3 ) h ^= (uint32_t)pTail[2] << 16;
    if( nTail>=2 ) h ^= (uint32_t)pTail[1] << 8;
    h ^= (uint32_t)pTail[0];
    h *= m;
  }

  h ^= h >> 13;
  h *= m;
  h ^= h >> 15;
  return h;
}

/*
** Kafka's Utils.murmur2(): the signed 32-bit hash of the nKey bytes at pKey.
*/
int sqlite3StreamMurmur2(const void *pKey, int nKey){
  return streamU32ToInt(streamMurmur2U32(pKey, nKey));
}

/*
** The partition, in [0, nPartition), that Kafka's default partitioner
** assigns to a record whose (non-null) key is the nKey bytes at pKey.
** nPartition must be greater than zero; 0 is returned otherwise.
*/
int sqlite3StreamPartitionForKey(const void *pKey, int nKey, int nPartition){
  uint32_t h;
  if( nPartition<=0 ) return 0;
  h = streamMurmur2U32(pKey, nKey) & 0x7fffffffU;
  return (int)(h % (uint32_t)nPartition);
}
