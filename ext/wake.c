/*
** wake.c - the after-commit wake-up of long polls: a small shared file
** beside the database, "<db>-streamwake", that a producer's commit bumps
** and a waiting poll sleeps on (Linux: a futex on a word of the file's
** shared mapping, which works across processes).
**
** Why: a waiting poll also watches the -wal file (inotify, ext/consume.c),
** but that watch fires at the commit's first write, before the commit is
** published in the WAL-index, so a woken poll finds nothing new and naps
** until it is.  A producer that loads the extension knows when its commit
** is published (the transaction's xCommit, ext/txn.c, runs after SQLite's
** commit phase two, the WAL write lock released): it bumps the file's
** sequence word and wakes the sleepers then, and only then.
**
** The file, 16 bytes, all little words of the machine's order:
**   0  magic (STREAM_WAKE_MAGIC; a zero file is claimed as ours)
**   4  reserved (0)
**   8  sequence: bumped by a commit that found waiters
**  12  waiters: polls registered as waiting now
**
** A waiting poll registers (waiters + 1), reads the sequence, looks for
** messages, and if there are none sleeps while the sequence is the one it
** read (FUTEX_WAIT, shared: the key is the file's page), with a timeout;
** it unregisters when its wait ends.  A producer, after its commit is
** published, reads the waiter count (one load after a fence: no system
** call when nobody waits) and only if it is not zero bumps the sequence
** and wakes every sleeper (FUTEX_WAKE).  The two fences pair (Dekker):
** either the producer sees the registration, or the poll's look after it
** sees the commit.
**
** Who creates the file: the first waiting poll (with the database file's
** permission bits, as SQLite gives the -wal and -shm files); a producer
** only opens it if it exists, and if it does not, tries again at most once
** a second (STREAM_WAKE_RETRY_MS; the clock read every 64th commit only),
** so that a database nobody long-polls gets no file and its commits no
** system call.  Whatever fails (a read-only directory, no permission, an
** in-memory or temporary database, a file that is not ours, another
** system than Linux) leaves no wake-up: the polls fall back on the -wal
** watch and their naps, as before.
**
** Limits: a poll that dies while registered (a crash, SIGKILL) leaves the
** waiter count one too high for the file's life: each commit then makes
** one FUTEX_WAKE with nobody to wake (about a microsecond), never a missed
** wake-up.  The count is clamped: a registration never takes it past
** STREAM_WAKE_MAX_WAITERS, and a poll that leaves never takes it below 0.
** Deleting the file while processes have it mapped splits them: those
** that mapped the old file no longer wake those that created a new one,
** whose polls then wake by the -wal watch (ext/consume.c sees the commits
** that came unannounced and goes back to the watch).
*/
#include "streamInt.h"
#include <string.h>

#if defined(__linux__) && !defined(STREAM_NO_WAKE)
# include <errno.h>
# include <fcntl.h>
# include <linux/futex.h>
# include <sys/mman.h>
# include <sys/stat.h>
# include <sys/syscall.h>
# include <time.h>
# include <unistd.h>
# define STREAM_WAKE_ON 1
#else
# define STREAM_WAKE_ON 0
#endif

#define STREAM_WAKE_MAGIC 0x6b775453u    /* "STwk" */
#define STREAM_WAKE_SIZE 16
#define STREAM_WAKE_RETRY_MS 1000
#define STREAM_WAKE_RETRY_COMMITS 64      /* a power of two */
#define STREAM_WAKE_MAX_WAITERS 0x10000

/* The words of the file. */
#define STREAM_WAKE_W_MAGIC   0
#define STREAM_WAKE_W_SEQ     2
#define STREAM_WAKE_W_WAITERS 3

#if STREAM_WAKE_ON

/* Map "<db>-streamwake" of p's main database (bCreate: create it if
** missing).  0 if there is none. */
static unsigned int *streamWakeMap(StreamCtx *p, int bCreate){
  const char *zDb = sqlite3_db_filename(p->db, "main");
  char *zPath;
  struct stat st;
  unsigned int *a = 0;
  int fd;
  if( zDb==0 || zDb[0]==0 ) return 0;
  zPath = sqlite3_mprintf("%s-streamwake", zDb);
  if( zPath==0 ) return 0;
  fd = open(zPath, O_RDWR|O_CLOEXEC|O_NOFOLLOW);
  if( fd<0 && errno==ENOENT && bCreate ){
    mode_t m = stat(zDb, &st)==0 ? (st.st_mode & 0777) : 0644;
    fd = open(zPath, O_RDWR|O_CREAT|O_CLOEXEC|O_NOFOLLOW, m);
    if( fd>=0 ) fchmod(fd, m);               /* not narrowed by the umask */
  }
  sqlite3_free(zPath);
  if( fd<0 ) return 0;
  if( fstat(fd, &st)==0 && S_ISREG(st.st_mode)
   && (st.st_size>=STREAM_WAKE_SIZE
       || (st.st_size==0 && ftruncate(fd, STREAM_WAKE_SIZE)==0)) ){
    void *pMap = mmap(0, STREAM_WAKE_SIZE, PROT_READ|PROT_WRITE, MAP_SHARED,
                      fd, 0);
    if( pMap!=MAP_FAILED ){
      unsigned int iZero = 0;
      a = (unsigned int*)pMap;
      __atomic_compare_exchange_n(&a[STREAM_WAKE_W_MAGIC], &iZero,
          STREAM_WAKE_MAGIC, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
      if( __atomic_load_n(&a[STREAM_WAKE_W_MAGIC], __ATOMIC_SEQ_CST)
          !=STREAM_WAKE_MAGIC ){
        munmap(pMap, STREAM_WAKE_SIZE);      /* not ours */
        a = 0;
      }
    }
  }
  close(fd);                                 /* the mapping stays */
  return a;
}

/* p's mapping, opened if not tried yet (or, without bCreate, if the retry
** interval passed). */
static unsigned int *streamWakeGet(StreamCtx *p, int bCreate){
  StreamWake *pW = &p->wake;
  if( pW->aMap ) return pW->aMap;
  if( pW->bTried ){
    if( bCreate ){
      if( pW->bCreateTried ) return 0;
    }else{
      i64 iNow = sqlite3StreamNow(p);
      if( iNow - pW->iTriedAt < STREAM_WAKE_RETRY_MS ) return 0;
    }
  }
  pW->bTried = 1;
  pW->iTriedAt = sqlite3StreamNow(p);
  if( bCreate ) pW->bCreateTried = 1;
  pW->aMap = streamWakeMap(p, bCreate);
  return pW->aMap;
}

void sqlite3StreamWakeCommitted(StreamCtx *p){
  unsigned int *a = p->wake.aMap;
  if( a==0 ){
    /* No file yet: look again at most once a second, and read the clock
    ** for that only every STREAM_WAKE_RETRY_COMMITS commits. */
    if( p->wake.bTried
     && ((++p->wake.nSince & (STREAM_WAKE_RETRY_COMMITS-1))!=0
         || sqlite3StreamNow(p) - p->wake.iTriedAt < STREAM_WAKE_RETRY_MS) ){
      return;
    }
    a = streamWakeGet(p, 0);
    if( a==0 ) return;
  }
  __atomic_thread_fence(__ATOMIC_SEQ_CST);    /* the commit before the load */
  if( __atomic_load_n(&a[STREAM_WAKE_W_WAITERS], __ATOMIC_RELAXED)==0 ){
    return;
  }
  __atomic_add_fetch(&a[STREAM_WAKE_W_SEQ], 1, __ATOMIC_SEQ_CST);
  syscall(SYS_futex, &a[STREAM_WAKE_W_SEQ], FUTEX_WAKE, 0x7fffffff, 0, 0, 0);
}

int sqlite3StreamWakeBegin(StreamCtx *p){
  unsigned int *a = streamWakeGet(p, 1);
  unsigned int n;
  if( a==0 ) return 0;
  n = __atomic_load_n(&a[STREAM_WAKE_W_WAITERS], __ATOMIC_RELAXED);
  do{
    if( n>=STREAM_WAKE_MAX_WAITERS ) break;
  }while( !__atomic_compare_exchange_n(&a[STREAM_WAKE_W_WAITERS], &n, n+1, 0,
                                       __ATOMIC_SEQ_CST, __ATOMIC_RELAXED) );
  __atomic_thread_fence(__ATOMIC_SEQ_CST);    /* before the look */
  return 1;
}

void sqlite3StreamWakeEnd(StreamCtx *p){
  unsigned int *a = p->wake.aMap;
  unsigned int n;
  if( a==0 ) return;
  n = __atomic_load_n(&a[STREAM_WAKE_W_WAITERS], __ATOMIC_RELAXED);
  while( n>0 && !__atomic_compare_exchange_n(&a[STREAM_WAKE_W_WAITERS], &n,
                      n-1, 0, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED) ){}
}

unsigned int sqlite3StreamWakeSeq(StreamCtx *p){
  unsigned int *a = p->wake.aMap;
  return a ? __atomic_load_n(&a[STREAM_WAKE_W_SEQ], __ATOMIC_SEQ_CST) : 0;
}

int sqlite3StreamWakeSleep(StreamCtx *p, unsigned int iSeq, i64 nUs){
  unsigned int *a = p->wake.aMap;
  struct timespec ts;
  if( a==0 ) return 0;
  ts.tv_sec = (time_t)(nUs/1000000);
  ts.tv_nsec = (long)((nUs%1000000)*1000);
  syscall(SYS_futex, &a[STREAM_WAKE_W_SEQ], FUTEX_WAIT, iSeq, &ts, 0, 0);
  return __atomic_load_n(&a[STREAM_WAKE_W_SEQ], __ATOMIC_SEQ_CST)!=iSeq;
}

void sqlite3StreamWakeClose(StreamCtx *p){
  if( p->wake.aMap ) munmap(p->wake.aMap, STREAM_WAKE_SIZE);
  memset(&p->wake, 0, sizeof(p->wake));
}

#else /* !STREAM_WAKE_ON: no wake-up; the polls watch and nap as before */

void sqlite3StreamWakeCommitted(StreamCtx *p){ STREAM_UNUSED(p); }
int sqlite3StreamWakeBegin(StreamCtx *p){ STREAM_UNUSED(p); return 0; }
void sqlite3StreamWakeEnd(StreamCtx *p){ STREAM_UNUSED(p); }
unsigned int sqlite3StreamWakeSeq(StreamCtx *p){
  STREAM_UNUSED(p);
  return 0;
}
int sqlite3StreamWakeSleep(StreamCtx *p, unsigned int iSeq, i64 nUs){
  STREAM_UNUSED(p); STREAM_UNUSED(iSeq); STREAM_UNUSED(nUs);
  return 0;
}
void sqlite3StreamWakeClose(StreamCtx *p){ STREAM_UNUSED(p); }

#endif /* STREAM_WAKE_ON */
