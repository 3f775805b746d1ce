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
*/
#include "streamInt.h"

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

static void streamAssignRoundRobin(const StreamAssignInput *p, int *aOwner){
  int iTopic, k = 0, iNext = 0;
  for(iTopic=0; iTopic<p->nTopic; iTopic++){
    int nPart = p->aPartitions[iTopic];
    int i, bAny = 0;
    for(i=0; i<p->nMember; i++) bAny |= p->aSub[i*p->nTopic+iTopic]!=0;
    for(i=0; i<nPart; i++){
      if( !bAny ){
        aOwner[k+i] = -1;
        continue;
      }
      while( !p->aSub[iNext*p->nTopic+iTopic] ){
        iNext = (iNext+1) % p->nMember;
      }
      aOwner[k+i] = iNext;
      iNext = (iNext+1) % p->nMember;
    }
    k += nPart;
  }
}

void sqlite3StreamAssign(int eStrategy, const StreamAssignInput *pIn,
                         int *aOwner){
  if( eStrategy==STREAM_ASSIGN_ROUNDROBIN ){
    streamAssignRoundRobin(pIn, aOwner);
  }else{
    streamAssignRange(pIn, aOwner);
  }
}
