/*
** progress.c - the progress line of maintain, tier and compact.
**
** On a terminal (stdout is a tty) one line is redrawn in place with "\r"
** and erase-to-end-of-line, cut to the terminal's width: the step count, rows and bytes done so far, the
** rate, the elapsed time and an estimate of what is left.  A SQL call that
** runs long is not silent either: a progress handler
** (sqlite3_progress_handler) redraws the elapsed time while it runs, at
** most ten times a second.  cliProgressEnd() draws the final state and
** ends the line with "\n", so nothing half-drawn is left behind.  When
** stdout is not a terminal, nothing is drawn at all.
**
** What is measured: rows and bytes are what the caller reports after each
** step (a step is one SQL call: one partition compacted, one topic tiered
** or maintained); within a step only the time moves.  The estimate is the
** time per row (when the total is known) or per step so far, times what
** is left.
*/
#include "cli.h"

#include <string.h>
#include <sys/ioctl.h>

/* Format n bytes as "512 B", "1.5 kB", "2.0 MB", "3.1 GB". */
static void progressBytes(char *zBuf, int nBuf, double n){
  static const char *azUnit[] = { "B", "kB", "MB", "GB", "TB" };
  int i = 0;
  while( n>=1000.0 && i<4 ){ n /= 1000.0; i++; }
  if( i==0 ) snprintf(zBuf, (size_t)nBuf, "%.0f %s", n, azUnit[i]);
  else snprintf(zBuf, (size_t)nBuf, "%.1f %s", n, azUnit[i]);
}

static void progressDraw(CliProgress *pP){
  sqlite3_int64 iNow = cliNowMs();
  double secs = (double)(iNow - pP->iStart)/1000.0;
  double rate = secs>0.0 ? (double)pP->nRows/secs : 0.0;
  char zBytes[32], zEta[32], zLine[512];
  struct winsize ws;
  double eta = -1.0;
  progressBytes(zBytes, sizeof(zBytes), (double)pP->nBytes);
  if( pP->nTotal>0 && pP->nRows>0 && rate>0.0 ){
    eta = (double)(pP->nTotal - pP->nRows)/rate;
  }else if( pP->nStep>0 && pP->nSteps>pP->nStep ){
    eta = secs/(double)pP->nStep*(double)(pP->nSteps - pP->nStep);
  }else if( pP->nStep>=pP->nSteps ){
    eta = 0.0;
  }
  if( eta<0.0 ) snprintf(zEta, sizeof(zEta), "ETA ?");
  else snprintf(zEta, sizeof(zEta), "ETA %.0fs", eta<0.0 ? 0.0 : eta);
  snprintf(zLine, sizeof(zLine),
           "%s: %lld/%lld %s  %lld rows  %s  %.0f rows/s  %.1fs  %s",
           pP->zWhat, (long long)pP->nStep, (long long)pP->nSteps, pP->zUnit,
           (long long)pP->nRows, zBytes, rate, secs, zEta);
  /* A line longer than the terminal would wrap, and "\r" would then
  ** redraw only its last row: cut it to the width. */
  if( ioctl(1, TIOCGWINSZ, &ws)==0 && ws.ws_col>1
   && strlen(zLine)>=(size_t)ws.ws_col ){
    zLine[ws.ws_col-1] = 0;
  }
  printf("\r%s\033[K", zLine);
  fflush(stdout);
  pP->bDrawn = 1;
  pP->iLast = iNow;
}

/* sqlite3_progress_handler callback: redraw the elapsed time. */
static int progressHandler(void *pArg){
  CliProgress *pP = (CliProgress*)pArg;
  if( cliNowMs() - pP->iLast>=100 ) progressDraw(pP);
  return 0;
}

void cliProgressStart(CliProgress *pP, Cli *p, const char *zWhat,
                      const char *zUnit, sqlite3_int64 nSteps,
                      sqlite3_int64 nTotal){
  memset(pP, 0, sizeof(*pP));
  pP->db = p->db;
  pP->bOn = p->bTty;
  pP->zWhat = zWhat;
  pP->zUnit = zUnit;
  pP->nSteps = nSteps;
  pP->nTotal = nTotal;
  pP->iStart = pP->iLast = cliNowMs();
  if( pP->bOn ){
    progressDraw(pP);
    sqlite3_progress_handler(p->db, 10000, progressHandler, pP);
  }
}

/* One step done, with the rows and bytes it handled. */
void cliProgressStep(CliProgress *pP, sqlite3_int64 nRows,
                     sqlite3_int64 nBytes){
  pP->nStep++;
  pP->nRows += nRows;
  pP->nBytes += nBytes;
  if( pP->bOn ) progressDraw(pP);
}

/* Remove the progress handler; draw the final state and end the line. */
void cliProgressEnd(CliProgress *pP){
  if( pP->bOn ) sqlite3_progress_handler(pP->db, 0, 0, 0);
  if( pP->bOn && pP->bDrawn ){
    progressDraw(pP);
    printf("\n");
    fflush(stdout);
    pP->bDrawn = 0;
  }
}
