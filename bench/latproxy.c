/*
** latproxy.c - a test tool: a TCP forwarder that adds network latency.
**
**   latproxy UPSTREAM_PORT [--rtt MS] [--handshake-rtts N]
**
** Listens on 127.0.0.1 at a random port, prints "latproxy listening on
** PORT" (then flushes stdout), and forwards every connection accepted to
** 127.0.0.1:UPSTREAM_PORT, byte for byte, in both directions.  Every
** chunk read from one side is written to the other side no earlier than
** MS/2 after it was read (a one-way delay, as netem's "delay" on each
** side of a link): so a request and its response cost one round trip
** (MS) more than on loopback, whatever the protocol above TCP, and
** requests pipelined or in flight on several connections overlap as on
** a real link.  A new connection's first bytes from the client are
** delivered no earlier than N round trips (--handshake-rtts, default 1:
** TCP's SYN / SYN-ACK) plus MS/2 after it was accepted, what a handshake
** costs before the first request can reach a distant server (N = 2 for
** TCP plus a TLS 1.3 handshake, as an https:// endpoint such as R2 has).
** A client's half-close (FIN) is passed on after the same delay as its
** data; a reset or an error on either side closes both.
**
** What it does not model: bandwidth (bytes flow at loopback speed, only
** later), TCP slow start and congestion windows (a new connection's first
** megabytes would take several round trips on a real link), loss,
** jitter, and TLS's CPU.  It reads as fast as the sender writes, holding
** at most 64 MiB a direction in memory before it stops reading (then the
** sender's flow control applies).  One thread, epoll, no per-byte work:
** its CPU is a few system calls a chunk.  bench/bench_s3.c runs it
** between the extension and the S3 server.
*/
#define _DEFAULT_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/epoll.h>

#define LP_CHUNK   (64*1024)           /* Bytes read at once (under
                                       ** malloc's mmap threshold) */
#define LP_MAXQ    (64*1024*1024)      /* Bytes held a direction */

typedef struct Chunk Chunk;
struct Chunk {
  Chunk *pNext;
  long long usDue;                     /* Not written before this */
  size_t n, iOff;                      /* Bytes, and those written */
  int bEof;                            /* A half-close, no bytes */
  char a[];
};

/* One direction of a connection: read from fdIn, written to fdOut. */
typedef struct Dir Dir;
struct Dir {
  Chunk *pHead, *pTail;
  size_t nQueued;
  int bInEof;                          /* fdIn has ended */
  int bOutShut;                        /* The end passed on to fdOut */
};

typedef struct Conn Conn;
struct Conn {
  Conn *pNext, *pPrev;
  int fdC, fdS;                        /* Client and server side */
  long long usOpen;                    /* First byte to the server after */
  Dir up, down;                        /* client->server, server->client */
  int bConnected;                      /* fdS's connect has ended */
  int bInC, bInS;                      /* fdC, fdS registered with epoll */
};

static Conn *pAll = 0;
static int fdEp = -1;
static long long usHalf = 10000;       /* One-way delay */
static long long usHandshake = 20000;  /* The handshake's round trips */

static long long nowUs(void){
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec*1000000 + ts.tv_nsec/1000;
}

/* Tag an fd's epoll data: the connection, and which side (low bit). */
static void watch(Conn *p, int fd, int bServer, unsigned ev, int op){
  struct epoll_event e;
  memset(&e, 0, sizeof(e));
  e.events = ev;
  e.data.u64 = (unsigned long long)(uintptr_t)p | (unsigned)bServer;
  epoll_ctl(fdEp, op, fd, &e);
}

static void freeDir(Dir *d){
  while( d->pHead ){
    Chunk *c = d->pHead;
    d->pHead = c->pNext;
    free(c);
  }
  d->pTail = 0;
}

static void connClose(Conn *p){
  close(p->fdC);
  close(p->fdS);
  freeDir(&p->up);
  freeDir(&p->down);
  if( p->pPrev ) p->pPrev->pNext = p->pNext; else pAll = p->pNext;
  if( p->pNext ) p->pNext->pPrev = p->pPrev;
  free(p);
}

/* fd (registered if *pbIn) to wait for ev, or out of the set if none. */
static void rewatchFd(Conn *p, int fd, int bServer, unsigned ev, int *pbIn){
  if( ev ){
    watch(p, fd, bServer, ev, *pbIn ? EPOLL_CTL_MOD : EPOLL_CTL_ADD);
    *pbIn = 1;
  }else if( *pbIn ){
    epoll_ctl(fdEp, EPOLL_CTL_DEL, fd, 0);
    *pbIn = 0;
  }
}

/* The events fd should wait for now. */
static void rewatch(Conn *p){
  unsigned evC = 0, evS = 0;
  long long now = nowUs();
  if( !p->up.bInEof && p->up.nQueued<LP_MAXQ ) evC |= EPOLLIN;
  if( !p->down.bInEof && p->down.nQueued<LP_MAXQ && p->bConnected ){
    evS |= EPOLLIN;
  }
  if( !p->bConnected ) evS |= EPOLLOUT;
  /* Writable is wanted only when a due chunk is still waiting: writeDue
  ** left it, the socket being full. */
  if( p->bConnected && p->up.pHead && p->up.pHead->usDue<=now ){
    evS |= EPOLLOUT;
  }
  if( p->down.pHead && p->down.pHead->usDue<=now ) evC |= EPOLLOUT;
  /* An fd with nothing to wait for leaves the set: a hung-up socket would
  ** report EPOLLHUP at every wait (while its last bytes are delayed). */
  rewatchFd(p, p->fdC, 0, evC, &p->bInC);
  rewatchFd(p, p->fdS, 1, evS, &p->bInS);
}

/* Read what fd has into d's queue.  0: fine, -1: the connection failed. */
static int readSide(Dir *d, int fd, long long usNotBefore){
  while( !d->bInEof && d->nQueued<LP_MAXQ ){
    Chunk *c = malloc(sizeof(Chunk)+LP_CHUNK);
    ssize_t r;
    long long due;
    if( c==0 ) return -1;
    r = read(fd, c->a, LP_CHUNK);
    if( r<0 ){
      free(c);
      return (errno==EAGAIN || errno==EWOULDBLOCK) ? 0 : -1;
    }
    due = nowUs()+usHalf;
    if( due<usNotBefore ) due = usNotBefore;
    if( d->pTail && due<d->pTail->usDue ) due = d->pTail->usDue;
    c->pNext = 0;
    c->usDue = due;
    c->n = (size_t)r;
    c->iOff = 0;
    c->bEof = r==0;
    if( r>0 && (size_t)r<LP_CHUNK/2 ){
      Chunk *c2 = realloc(c, sizeof(Chunk)+(size_t)r);
      if( c2 ) c = c2;
    }
    if( d->pTail ) d->pTail->pNext = c; else d->pHead = c;
    d->pTail = c;
    d->nQueued += (size_t)r;
    if( r==0 ){ d->bInEof = 1; return 0; }
  }
  return 0;
}

/* Write d's due chunks to fd.  0: fine, -1: the connection failed. */
static int writeDue(Dir *d, int fd, long long now){
  while( d->pHead && d->pHead->usDue<=now ){
    Chunk *c = d->pHead;
    if( c->bEof ){
      shutdown(fd, SHUT_WR);
      d->bOutShut = 1;
    }else{
      while( c->iOff<c->n ){
        ssize_t w = write(fd, c->a+c->iOff, c->n-c->iOff);
        if( w<0 ){
          if( errno==EAGAIN || errno==EWOULDBLOCK ) return 0;
          return -1;
        }
        c->iOff += (size_t)w;
      }
      d->nQueued -= c->n;
    }
    d->pHead = c->pNext;
    if( d->pHead==0 ) d->pTail = 0;
    free(c);
  }
  return 0;
}

/* Due writes of every connection; the ms to the next due chunk (or -1). */
static int service(void){
  long long now = nowUs(), next = -1;
  Conn *p, *pNext;
  for(p=pAll; p; p=pNext){
    pNext = p->pNext;
    if( p->bConnected && writeDue(&p->up, p->fdS, now) ){ connClose(p); continue; }
    if( writeDue(&p->down, p->fdC, now) ){ connClose(p); continue; }
    if( p->up.bOutShut && p->down.bOutShut ){ connClose(p); continue; }
    /* The wait ends at the next chunk not yet due (a due one waits for
    ** its socket to become writable, not for a timeout). */
    if( p->up.pHead && p->up.pHead->usDue>now
     && (next<0 || p->up.pHead->usDue<next) ) next = p->up.pHead->usDue;
    if( p->down.pHead && p->down.pHead->usDue>now
     && (next<0 || p->down.pHead->usDue<next) ) next = p->down.pHead->usDue;
    rewatch(p);
  }
  if( next<0 ) return -1;
  next -= now;
  return next<=0 ? 0 : (int)((next+999)/1000);
}

static int nonblock(int fd){
  int fl = fcntl(fd, F_GETFL);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return fl<0 ? -1 : fcntl(fd, F_SETFL, fl|O_NONBLOCK);
}

static void acceptAll(int fdL, int upPort){
  for(;;){
    struct sockaddr_in sa;
    int fdC = accept(fdL, 0, 0), fdS;
    Conn *p;
    if( fdC<0 ) return;
    fdS = socket(AF_INET, SOCK_STREAM, 0);
    p = calloc(1, sizeof(Conn));
    if( fdS<0 || p==0 || nonblock(fdC) || nonblock(fdS) ){
      close(fdC);
      if( fdS>=0 ) close(fdS);
      free(p);
      continue;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((unsigned short)upPort);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if( connect(fdS, (struct sockaddr*)&sa, sizeof(sa)) && errno!=EINPROGRESS ){
      close(fdC);
      close(fdS);
      free(p);
      continue;
    }
    p->fdC = fdC;
    p->fdS = fdS;
    p->usOpen = nowUs()+usHandshake+usHalf;
    p->pNext = pAll;
    if( pAll ) pAll->pPrev = p;
    pAll = p;
    watch(p, fdC, 0, EPOLLIN, EPOLL_CTL_ADD);
    watch(p, fdS, 1, EPOLLOUT, EPOLL_CTL_ADD);
    p->bInC = p->bInS = 1;
  }
}

int main(int argc, char **argv){
  int upPort, fdL, i, one = 1;
  long long rttUs = 20000, nHs = 1;
  struct sockaddr_in sa;
  socklen_t nSa = sizeof(sa);
  struct epoll_event e;
  if( argc<2 || (upPort = atoi(argv[1]))<=0 || upPort>65535 ){
    fprintf(stderr, "usage: %s UPSTREAM_PORT [--rtt MS] [--handshake-rtts N]\n",
            argv[0]);
    return 1;
  }
  for(i=2; i<argc; i++){
    if( strcmp(argv[i], "--rtt")==0 && i+1<argc ){
      rttUs = (long long)(atof(argv[++i])*1000);
    }else if( strcmp(argv[i], "--handshake-rtts")==0 && i+1<argc ){
      nHs = atoll(argv[++i]);
    }else{
      fprintf(stderr, "%s: unknown option %s\n", argv[0], argv[i]);
      return 1;
    }
  }
  if( rttUs<0 || nHs<0 ){
    fprintf(stderr, "%s: --rtt and --handshake-rtts must be >= 0\n", argv[0]);
    return 1;
  }
  usHalf = rttUs/2;
  usHandshake = nHs*rttUs;
  signal(SIGPIPE, SIG_IGN);
  fdL = socket(AF_INET, SOCK_STREAM, 0);
  memset(&sa, 0, sizeof(sa));
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  setsockopt(fdL, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if( fdL<0 || bind(fdL, (struct sockaddr*)&sa, sizeof(sa))
   || listen(fdL, 128) || getsockname(fdL, (struct sockaddr*)&sa, &nSa)
   || nonblock(fdL) || (fdEp = epoll_create1(0))<0 ){
    perror("latproxy");
    return 1;
  }
  memset(&e, 0, sizeof(e));
  e.events = EPOLLIN;
  e.data.u64 = 0;                      /* The listener */
  epoll_ctl(fdEp, EPOLL_CTL_ADD, fdL, &e);
  printf("latproxy listening on %d\n", ntohs(sa.sin_port));
  fflush(stdout);
  for(;;){
    struct epoll_event aEv[64];
    int n = epoll_wait(fdEp, aEv, 64, service());
    if( n<0 && errno!=EINTR ){ perror("latproxy: epoll_wait"); return 1; }
    for(i=0; i<n; i++){
      Conn *p = (Conn*)(uintptr_t)(aEv[i].data.u64 & ~1ULL);
      int bServer = (int)(aEv[i].data.u64 & 1);
      Conn *q;
      if( p==0 ){ acceptAll(fdL, upPort); continue; }
      /* Still open?  (An earlier event of this batch may have closed it.) */
      for(q=pAll; q && q!=p; q=q->pNext){}
      if( q==0 ) continue;
      if( bServer ){
        if( !p->bConnected && (aEv[i].events & (EPOLLOUT|EPOLLERR|EPOLLHUP)) ){
          int err = 0;
          socklen_t nErr = sizeof(err);
          getsockopt(p->fdS, SOL_SOCKET, SO_ERROR, &err, &nErr);
          if( err ){ connClose(p); continue; }
          p->bConnected = 1;
        }
        if( (aEv[i].events & (EPOLLIN|EPOLLHUP|EPOLLERR))
         && readSide(&p->down, p->fdS, 0) ){
          connClose(p);
          continue;
        }
      }else if( (aEv[i].events & (EPOLLIN|EPOLLHUP|EPOLLERR))
             && readSide(&p->up, p->fdC, p->usOpen) ){
        connClose(p);
        continue;
      }
    }
  }
  return 0;
}
