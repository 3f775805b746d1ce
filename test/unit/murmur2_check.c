/*
** murmur2_check.c - compare ext/murmur2.c with reference partitions.
**
** Reads TSV lines from the file named by its argument, or from stdin if
** there is none, as printed by test/interop/murmur2_keys.mjs
** (kafkajs's Java-compatible DefaultPartitioner):
**
**     hex_of_key <TAB> murmur2_signed <TAB> part_of_8 <TAB> part_of_7
**
** and checks each against sqlite3StreamMurmur2() and
** sqlite3StreamPartitionForKey().  Lines that are empty or start with '#'
** are skipped.  The last line printed is "N passed, N failed"; the exit
** code is non-zero on any failure or if no line was checked.
**
**   gcc -std=c11 -Wall -Wextra -DSQLITE_CORE -Iext \
**       test/unit/murmur2_check.c ext/murmur2.c -lsqlite3 -o murmur2_check
**   (cd test/interop && npm ci && node murmur2_keys.mjs) | ./murmur2_check
**
** It is not a self-contained test: run with no input it reports one
** failure ("no input lines").
*/
#include "streamInt.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK_MAX_KEY  (64*1024)              /* Longest key, in bytes */
#define CHECK_MAX_LINE (2*CHECK_MAX_KEY + 64) /* Longest input line */

static char aLine[CHECK_MAX_LINE + 2];
static u8 aKey[CHECK_MAX_KEY];

static int hexValue(char c){
  if( c>='0' && c<='9' ) return c - '0';
  if( c>='a' && c<='f' ) return c - 'a' + 10;
  if( c>='A' && c<='F' ) return c - 'A' + 10;
  return -1;
}

/*
** Parse one line into its key and three numbers.  Return 0 on success,
** non-zero if the line is malformed.
*/
static int parseLine(char *z, int *pnKey, long *piHash, long *piP8,
                     long *piP7){
  char *zTab = strchr(z, '\t');
  char *zEnd;
  int nHex, i;
  if( zTab==0 ) return 1;
  nHex = (int)(zTab - z);
  if( nHex%2 || nHex/2>CHECK_MAX_KEY ) return 1;
  for(i=0; i<nHex; i+=2){
    int hi = hexValue(z[i]);
    int lo = hexValue(z[i+1]);
    if( hi<0 || lo<0 ) return 1;
    aKey[i/2] = (u8)(hi*16 + lo);
  }
  *pnKey = nHex/2;
  z = zTab + 1;
  *piHash = strtol(z, &zEnd, 10);
  if( zEnd==z || *zEnd!='\t' ) return 1;
  z = zEnd + 1;
  *piP8 = strtol(z, &zEnd, 10);
  if( zEnd==z || *zEnd!='\t' ) return 1;
  z = zEnd + 1;
  *piP7 = strtol(z, &zEnd, 10);
  if( zEnd==z || (*zEnd!='\0' && *zEnd!='\n' && *zEnd!='\r') ) return 1;
  return 0;
}

int main(int argc, char **argv){
  int nPass = 0;
  int nFail = 0;
  int iLine = 0;
  FILE *pIn = stdin;

  if( argc>2 ){
    fprintf(stderr, "usage: %s [FILE.tsv]\n", argv[0]);
    return 2;
  }
  if( argc==2 ){
    pIn = fopen(argv[1], "rb");
    if( pIn==0 ){
      printf("FAIL: cannot open %s\n", argv[1]);
      printf("0 passed, 1 failed\n");
      return 1;
    }
  }
  while( fgets(aLine, sizeof(aLine), pIn) ){
    int nKey = 0;
    long iHash = 0, iP8 = 0, iP7 = 0;
    size_t nLine = strlen(aLine);
    iLine++;
    if( nLine>0 && aLine[nLine-1]!='\n' && !feof(pIn) ){
      printf("FAIL line %d: longer than %d bytes\n", iLine, CHECK_MAX_LINE);
      nFail++;
      break;
    }
    if( aLine[0]=='\n' || aLine[0]=='#' ) continue;
    if( parseLine(aLine, &nKey, &iHash, &iP8, &iP7) ){
      printf("FAIL line %d: malformed\n", iLine);
      nFail++;
      continue;
    }
    {
      int h = sqlite3StreamMurmur2(aKey, nKey);
      int p8 = sqlite3StreamPartitionForKey(aKey, nKey, 8);
      int p7 = sqlite3StreamPartitionForKey(aKey, nKey, 7);
      if( h==iHash && p8==iP8 && p7==iP7 ){
        nPass++;
      }else{
        nFail++;
        printf("FAIL line %d (key of %d bytes): hash %d/%ld, "
               "p8 %d/%ld, p7 %d/%ld (got/want)\n",
               iLine, nKey, h, iHash, p8, iP8, p7, iP7);
      }
    }
  }
  if( pIn!=stdin ) fclose(pIn);
  if( nPass+nFail==0 ){
    printf("FAIL: no input lines\n");
    nFail++;
  }
  printf("%d passed, %d failed\n", nPass, nFail);
  return nFail ? 1 : 0;
}
