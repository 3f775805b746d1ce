/*
** test/unit/unit_check.h - the pass/fail tally a unit test program keeps:
** check() counts one result and prints a failure, checkDone() prints the
** "N passed, N failed" line test/runall.tcl reads and gives the exit code.
** Included once, by the program's one source file (the functions are
** static).
*/
#ifndef STREAM_UNIT_CHECK_H
#define STREAM_UNIT_CHECK_H
#include <stdio.h>

static int nPass = 0;
static int nFail = 0;

static void check(int bOk, const char *zTest, const char *zDetail){
  if( bOk ){
    nPass++;
  }else{
    nFail++;
    printf("FAIL %s: %s\n", zTest, zDetail ? zDetail : "");
    fflush(stdout);
  }
}

static int checkDone(void){
  printf("%d passed, %d failed\n", nPass, nFail);
  return nFail ? 1 : 0;
}
#endif
