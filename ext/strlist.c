/*
** strlist.c - a growable list of strings (StreamStrList), each copied with
** sqlite3_malloc: topic names to visit, object keys to delete after a
** commit.  An append that runs out of memory sets rc and leaves the list
** as it was; callers check rc once at the end.
*/
#include "streamInt.h"
#include <string.h>

void sqlite3StreamStrListAdd(StreamStrList *pList, const char *z){
  if( pList->rc ) return;
  if( pList->n==pList->nAlloc ){
    int nNew = pList->nAlloc ? pList->nAlloc*2 : 16;
    char **aNew = sqlite3_realloc64(pList->az, sizeof(char*)*nNew);
    if( aNew==0 ){ pList->rc = SQLITE_NOMEM; return; }
    pList->az = aNew;
    pList->nAlloc = nNew;
  }
  pList->az[pList->n] = sqlite3_mprintf("%s", z);
  if( pList->az[pList->n]==0 ){ pList->rc = SQLITE_NOMEM; return; }
  pList->n++;
}

void sqlite3StreamStrListFree(StreamStrList *pList){
  int i;
  for(i=0; i<pList->n; i++) sqlite3_free(pList->az[i]);
  sqlite3_free(pList->az);
  memset(pList, 0, sizeof(*pList));
}
