/*
** assign.c - Kafka's partition assignors, as pure functions over sorted
** members and topics (ext/group.c sorts them and stores the result).
**
** range (org.apache.kafka.clients.consumer.RangeAssignor): per topic, the
**   members subscribed to it, in order; with P partitions and C members,
**   n = P / C and extra = P % C; member i gets n + (i < extra) partitions
**   starting at n*i + min(i, extra).
** roundrobin (RoundRobinAssignor): all topic-partitions, topics in order
**   and partitions in order within a topic, dealt to the members in order,
**   circularly, skipping members not subscribed to the partition's topic.
**
** Members and topics are sorted as Java sorts Strings (UTF-16 code units:
** sqlite3StreamJavaCmp), which differs from UTF-8 byte order when
** characters above U+FFFF meet characters in U+E000..U+FFFF.
*/
#include "streamInt.h"
#include <string.h>

static void streamAssignRange(const StreamAssignInput *p, int *aOwner){
  int iTopic, k = 0;
  for(iTopic=0; iTopic<p->nTopic; iTopic++){
    int nPart = p->aPartitions[iTopic];
    int nSub = 0, i, iSub = 0;
    for(i=0; i<p->nMember; i++) nSub += p->aSub[i*p->nTopic+iTopic]!=0;
    for(i=0; i<nPart; i++) aOwner[k+i] = -1;
    if( nSub>0 ){
      int n = nPart / nSub, extra = nPart % nSub;
      for(i=0; i<p->nMember; i++){
        int iStart, nCount, j;
        if( !p->aSub[i*p->nTopic+iTopic] ) continue;
        iStart = n*iSub + (iSub<extra ? iSub : extra);
        nCount = n + (iSub<extra);
        for(j=0; j<nCount; j++) aOwner[k+iStart+j] = i;
        iSub++;
      }
    }
    k += nPart;
  }
}

/* Within a topic, the subscribed members in order take the partitions in
** turn, starting at the first subscribed member at or after the one after
** the previous topic's last owner: the same deal as walking the circle of
** all members and skipping the others, in O(members + partitions). */
static int streamAssignRoundRobin(const StreamAssignInput *p, int *aOwner){
  int iTopic, k = 0, iNext = 0;
  int *aList = sqlite3_malloc64(sizeof(int)*((i64)p->nMember + 1));
  if( aList==0 ) return SQLITE_NOMEM;
  for(iTopic=0; iTopic<p->nTopic; iTopic++){
    int nPart = p->aPartitions[iTopic];
    int i, nList = 0, iList = 0;
    for(i=0; i<p->nMember; i++){
      if( !p->aSub[(i64)i*p->nTopic+iTopic] ) continue;
      if( i<iNext ) iList++;
      aList[nList++] = i;
    }
    if( iList>=nList ) iList = 0;
    for(i=0; i<nPart; i++){
      if( nList==0 ){
        aOwner[k+i] = -1;
        continue;
      }
      aOwner[k+i] = aList[iList];
      iNext = (aList[iList]+1) % p->nMember;
      iList = (iList+1) % nList;
    }
    k += nPart;
  }
  sqlite3_free(aList);
  return SQLITE_OK;
}

int sqlite3StreamAssign(int eStrategy, const StreamAssignInput *pIn,
                        int *aOwner){
  if( eStrategy==STREAM_ASSIGN_ROUNDROBIN ){
    return streamAssignRoundRobin(pIn, aOwner);
  }
  streamAssignRange(pIn, aOwner);
  return SQLITE_OK;
}

/* Next code point of a UTF-8 string; an invalid byte reads as U+FFFD. */
static unsigned streamUtf8Next(const unsigned char **pz){
  const unsigned char *z = *pz;
  unsigned c = *z++;
  int n = c>=0xF0 && c<0xF8 ? 3 : c>=0xE0 ? 2 : c>=0xC0 ? 1 : 0;
  if( c>=0x80 ){
    if( n==0 || c>=0xF8 ){
      c = 0xFFFD;
    }else{
      c &= 0x3F >> n;
      while( n-- > 0 ){
        if( (*z & 0xC0)!=0x80 ){ c = 0xFFFD; break; }
        c = (c<<6) | (*z++ & 0x3F);
      }
    }
  }
  *pz = z;
  return c;
}

/* A code point's place in UTF-16 order: the supplementary planes (high
** surrogates D800..DBFF first) come before U+E000..U+FFFF. */
static unsigned streamUtf16Rank(unsigned c){
  return (c>=0xD800 && c<0x10000) ? c + 0x110000 : c;
}

int sqlite3StreamJavaCmp(const char *zA, const char *zB){
  const unsigned char *a = (const unsigned char*)zA;
  const unsigned char *b = (const unsigned char*)zB;
  while( *a && *b ){
    unsigned ca = streamUtf16Rank(streamUtf8Next(&a));
    unsigned cb = streamUtf16Rank(streamUtf8Next(&b));
    if( ca!=cb ) return ca<cb ? -1 : 1;
  }
  if( *a || *b ) return *a ? 1 : -1;
  return strcmp(zA, zB);
}
