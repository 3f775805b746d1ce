/*
** test/unit/unit_check.h - the pass/fail tally a unit test program keeps:
** check() counts one result and prints a failure, checkDone() prints the
** "N passed, N failed" line test/runall.tcl reads and gives the exit code.
** Included once, by the program's one source file (the functions are
** static).  A program whose threads call check() defines
** UNIT_CHECK_LOCK() and UNIT_CHECK_UNLOCK() before including it.
*/
#ifndef STREAM_UNIT_CHECK_H
#define STREAM_UNIT_CHECK_H
#include <stdio.h>
#ifndef UNIT_CHECK_LOCK
# define UNIT_CHECK_LOCK()
# define UNIT_CHECK_UNLOCK()
#endif

static int nPass = 0;
static int nFail = 0;

static void check(int bOk, const char *zTest, const char *zDetail){
  UNIT_CHECK_LOCK();
  if( bOk ){
    nPass++;
  }else{
    nFail++;
    printf("FAIL %s: %s\n", zTest, zDetail ? zDetail : "");
    fflush(stdout);
  }
  UNIT_CHECK_UNLOCK();
}

static int checkDone(void){
  printf("%d passed, %d failed\n", nPass, nFail);
  return nFail ? 1 : 0;
}
#endif
