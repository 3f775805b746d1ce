/*
** hash.c - the two digests an S3 request needs: SHA-256 of a body (the
** x-amz-content-sha256 header, which the signature covers) and MD5 (the
** Content-MD5 header, with which the service checks the bytes it
** received, and the ETag it returns for them).
**
** Hashing only: signing is libcurl's (CURLOPT_AWS_SIGV4, ext/http.c).
** Both follow their specifications (FIPS 180-4, RFC 1321) and are checked
** against their published test vectors by test/unit/test_hash.c.
*/
#include "streamInt.h"
#include <string.h>

/**************************************************************************
** SHA-256
*/
static const u32 aSha256K[64] = {
  0x428a2f98,0x71374491,0xb5c0fbcf,0xe9b5dba5,0x3956c25b,0x59f111f1,
  0x923f82a4,0xab1c5ed5,0xd807aa98,0x12835b01,0x243185be,0x550c7dc3,
  0x72be5d74,0x80deb1fe,0x9bdc06a7,0xc19bf174,0xe49b69c1,0xefbe4786,
  0x0fc19dc6,0x240ca1cc,0x2de92c6f,0x4a7484aa,0x5cb0a9dc,0x76f988da,
  0x983e5152,0xa831c66d,0xb00327c8,0xbf597fc7,0xc6e00bf3,0xd5a79147,
  0x06ca6351,0x14292967,0x27b70a85,0x2e1b2138,0x4d2c6dfc,0x53380d13,
  0x650a7354,0x766a0abb,0x81c2c92e,0x92722c85,0xa2bfe8a1,0xa81a664b,
  0xc24b8b70,0xc76c51a3,0xd192e819,0xd6990624,0xf40e3585,0x106aa070,
  0x19a4c116,0x1e376c08,0x2748774c,0x34b0bcb5,0x391c0cb3,0x4ed8aa4a,
  0x5b9cca4f,0x682e6ff3,0x748f82ee,0x78a5636f,0x84c87814,0x8cc70208,
  0x90befffa,0xa4506ceb,0xbef9a3f7,0xc67178f2
};

#define ROR32(x,n) (((x)>>(n)) | ((x)<<(32-(n))))

static void streamSha256Block(StreamSha256 *p, const unsigned char *a){
  u32 w[64], s[8], t1, t2;
  int i;
  for(i=0; i<16; i++){
    w[i] = ((u32)a[i*4]<<24) | ((u32)a[i*4+1]<<16) | ((u32)a[i*4+2]<<8)
         | (u32)a[i*4+3];
  }
  for(i=16; i<64; i++){
    u32 s0 = ROR32(w[i-15],7) ^ ROR32(w[i-15],18) ^ (w[i-15]>>3);
    u32 s1 = ROR32(w[i-2],17) ^ ROR32(w[i-2],19) ^ (w[i-2]>>10);
    w[i] = w[i-16] + s0 + w[i-7] + s1;
  }
  memcpy(s, p->h, sizeof(s));
  for(i=0; i<64; i++){
    u32 S1 = ROR32(s[4],6) ^ ROR32(s[4],11) ^ ROR32(s[4],25);
    u32 ch = (s[4] & s[5]) ^ (~s[4] & s[6]);
    u32 S0 = ROR32(s[0],2) ^ ROR32(s[0],13) ^ ROR32(s[0],22);
    u32 maj = (s[0] & s[1]) ^ (s[0] & s[2]) ^ (s[1] & s[2]);
    t1 = s[7] + S1 + ch + aSha256K[i] + w[i];
    t2 = S0 + maj;
    s[7] = s[6]; s[6] = s[5]; s[5] = s[4]; s[4] = s[3] + t1;
    s[3] = s[2]; s[2] = s[1]; s[1] = s[0]; s[0] = t1 + t2;
  }
  for(i=0; i<8; i++) p->h[i] += s[i];
}

void sqlite3StreamSha256Init(StreamSha256 *p){
  static const u32 aInit[8] = {
    0x6a09e667,0xbb67ae85,0x3c6ef372,0xa54ff53a,
    0x510e527f,0x9b05688c,0x1f83d9ab,0x5be0cd19
  };
  memcpy(p->h, aInit, sizeof(aInit));
  p->nByte = 0;
}

/* Feed a[0..n) to a 64-byte block function through the partial block
** aBuf (*pnByte bytes hashed so far). */
static void streamHashUpdate(void *pCtx, void (*xBlock)(void*, const unsigned char*),
                             unsigned char *aBuf, u64 *pnByte,
                             const unsigned char *a, size_t n){
  size_t nHave = (size_t)(*pnByte % 64);
  *pnByte += n;
  if( nHave ){
    size_t nTake = 64-nHave < n ? 64-nHave : n;
    memcpy(&aBuf[nHave], a, nTake);
    a += nTake;
    n -= nTake;
    if( nHave+nTake<64 ) return;
    xBlock(pCtx, aBuf);
  }
  for(; n>=64; n-=64, a+=64) xBlock(pCtx, a);
  if( n ) memcpy(aBuf, a, n);
}

static void streamSha256BlockCb(void *pCtx, const unsigned char *a){
  streamSha256Block((StreamSha256*)pCtx, a);
}

void sqlite3StreamSha256Update(StreamSha256 *p, const void *pData, size_t n){
  streamHashUpdate(p, streamSha256BlockCb, p->aBuf, &p->nByte,
                   (const unsigned char*)pData, n);
}

/* The padding of a 64-byte-block digest after nByte bytes: 0x80, zeros,
** the length in bits as 8 bytes (big-endian if bBig).  Returns its size. */
static size_t streamHashPad(u64 nByte, int bBig, unsigned char aPad[72]){
  u64 nBit = nByte*8;
  size_t nPad = 64 - (size_t)((nByte+8) % 64);
  int i;
  memset(aPad, 0, 72);
  aPad[0] = 0x80;
  for(i=0; i<8; i++){
    aPad[nPad+i] = (unsigned char)(nBit>>(bBig ? 56-8*i : 8*i));
  }
  return nPad+8;
}

void sqlite3StreamSha256Final(StreamSha256 *p, unsigned char aOut[32]){
  unsigned char aPad[72];
  int i;
  sqlite3StreamSha256Update(p, aPad, streamHashPad(p->nByte, 1, aPad));
  for(i=0; i<32; i++) aOut[i] = (unsigned char)(p->h[i/4]>>(24-8*(i%4)));
}

/**************************************************************************
** MD5
*/
static const u32 aMd5K[64] = {
  0xd76aa478,0xe8c7b756,0x242070db,0xc1bdceee,0xf57c0faf,0x4787c62a,
  0xa8304613,0xfd469501,0x698098d8,0x8b44f7af,0xffff5bb1,0x895cd7be,
  0x6b901122,0xfd987193,0xa679438e,0x49b40821,0xf61e2562,0xc040b340,
  0x265e5a51,0xe9b6c7aa,0xd62f105d,0x02441453,0xd8a1e681,0xe7d3fbc8,
  0x21e1cde6,0xc33707d6,0xf4d50d87,0x455a14ed,0xa9e3e905,0xfcefa3f8,
  0x676f02d9,0x8d2a4c8a,0xfffa3942,0x8771f681,0x6d9d6122,0xfde5380c,
  0xa4beea44,0x4bdecfa9,0xf6bb4b60,0xbebfbc70,0x289b7ec6,0xeaa127fa,
  0xd4ef3085,0x04881d05,0xd9d4d039,0xe6db99e5,0x1fa27cf8,0xc4ac5665,
  0xf4292244,0x432aff97,0xab9423a7,0xfc93a039,0x655b59c3,0x8f0ccc92,
  0xffeff47d,0x85845dd1,0x6fa87e4f,0xfe2ce6e0,0xa3014314,0x4e0811a1,
  0xf7537e82,0xbd3af235,0x2ad7d2bb,0xeb86d391
};
static const unsigned char aMd5S[64] = {
  7,12,17,22,7,12,17,22,7,12,17,22,7,12,17,22,
  5,9,14,20,5,9,14,20,5,9,14,20,5,9,14,20,
  4,11,16,23,4,11,16,23,4,11,16,23,4,11,16,23,
  6,10,15,21,6,10,15,21,6,10,15,21,6,10,15,21
};

static void streamMd5Block(StreamMd5 *p, const unsigned char *a){
  u32 m[16], A = p->h[0], B = p->h[1], C = p->h[2], D = p->h[3];
  int i;
  for(i=0; i<16; i++){
    m[i] = (u32)a[i*4] | ((u32)a[i*4+1]<<8) | ((u32)a[i*4+2]<<16)
         | ((u32)a[i*4+3]<<24);
  }
  for(i=0; i<64; i++){
    u32 f;
    int g;
    if( i<16 ){       f = (B & C) | (~B & D);  g = i; }
    else if( i<32 ){  f = (D & B) | (~D & C);  g = (5*i+1) % 16; }
    else if( i<48 ){  f = B ^ C ^ D;           g = (3*i+5) % 16; }
    else{             f = C ^ (B | ~D);        g = (7*i) % 16; }
    f = f + A + aMd5K[i] + m[g];
    A = D; D = C; C = B;
    B = B + ((f<<aMd5S[i]) | (f>>(32-aMd5S[i])));
  }
  p->h[0] += A; p->h[1] += B; p->h[2] += C; p->h[3] += D;
}

void sqlite3StreamMd5Init(StreamMd5 *p){
  p->h[0] = 0x67452301; p->h[1] = 0xefcdab89;
  p->h[2] = 0x98badcfe; p->h[3] = 0x10325476;
  p->nByte = 0;
}

static void streamMd5BlockCb(void *pCtx, const unsigned char *a){
  streamMd5Block((StreamMd5*)pCtx, a);
}

void sqlite3StreamMd5Update(StreamMd5 *p, const void *pData, size_t n){
  streamHashUpdate(p, streamMd5BlockCb, p->aBuf, &p->nByte,
                   (const unsigned char*)pData, n);
}

void sqlite3StreamMd5Final(StreamMd5 *p, unsigned char aOut[16]){
  unsigned char aPad[72];
  int i;
  sqlite3StreamMd5Update(p, aPad, streamHashPad(p->nByte, 0, aPad));
  for(i=0; i<16; i++) aOut[i] = (unsigned char)(p->h[i/4]>>(8*(i%4)));
}

/**************************************************************************
** Encodings of a digest.
*/
void sqlite3StreamHex(const unsigned char *a, int n, char *zOut){
  static const char aHex[] = "0123456789abcdef";
  int i;
  for(i=0; i<n; i++){
    zOut[i*2] = aHex[a[i]>>4];
    zOut[i*2+1] = aHex[a[i]&0xf];
  }
  zOut[n*2] = 0;
}

void sqlite3StreamBase64(const unsigned char *a, int n, char *zOut){
  static const char aB64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  int i, j = 0;
  for(i=0; i+2<n; i+=3){
    zOut[j++] = aB64[a[i]>>2];
    zOut[j++] = aB64[((a[i]&3)<<4) | (a[i+1]>>4)];
    zOut[j++] = aB64[((a[i+1]&15)<<2) | (a[i+2]>>6)];
    zOut[j++] = aB64[a[i+2]&63];
  }
  if( i<n ){
    zOut[j++] = aB64[a[i]>>2];
    if( i+1<n ){
      zOut[j++] = aB64[((a[i]&3)<<4) | (a[i+1]>>4)];
      zOut[j++] = aB64[(a[i+1]&15)<<2];
    }else{
      zOut[j++] = aB64[(a[i]&3)<<4];
      zOut[j++] = '=';
    }
    zOut[j++] = '=';
  }
  zOut[j] = 0;
}
