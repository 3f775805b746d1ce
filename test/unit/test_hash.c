/*
** test_hash.c - unit test of ext/hash.c: SHA-256 (FIPS 180-4 / NIST
** example vectors) and MD5 (RFC 1321 appendix A.5), fed whole and in
** pieces of every size from 1 to 130 bytes (the partial-block path), and
** the hex and base64 encodings (RFC 4648 section 10).
**
** The last line printed is "N passed, N failed"; the exit code is non-zero
** if anything failed.
*/
#include "streamInt.h"
#include <stdio.h>
#include <string.h>

static int nPass = 0;
static int nFail = 0;

static void check(int bOk, const char *zTest, const char *zGot,
                  const char *zWant){
  if( bOk ){
    nPass++;
  }else{
    nFail++;
    printf("FAIL %s: got %s, want %s\n", zTest, zGot, zWant);
  }
}

/* Hex digest of a[0..n) fed in pieces of nPiece bytes (0: at once). */
static void sha256Hex(const char *a, size_t n, size_t nPiece, char *zOut){
  StreamSha256 s;
  unsigned char aOut[32];
  size_t i;
  sqlite3StreamSha256Init(&s);
  if( nPiece==0 ) nPiece = n ? n : 1;
  for(i=0; i<n; i+=nPiece){
    sqlite3StreamSha256Update(&s, a+i, n-i<nPiece ? n-i : nPiece);
  }
  sqlite3StreamSha256Final(&s, aOut);
  sqlite3StreamHex(aOut, 32, zOut);
}

static void md5Hex(const char *a, size_t n, size_t nPiece, char *zOut){
  StreamMd5 s;
  unsigned char aOut[16];
  size_t i;
  sqlite3StreamMd5Init(&s);
  if( nPiece==0 ) nPiece = n ? n : 1;
  for(i=0; i<n; i+=nPiece){
    sqlite3StreamMd5Update(&s, a+i, n-i<nPiece ? n-i : nPiece);
  }
  sqlite3StreamMd5Final(&s, aOut);
  sqlite3StreamHex(aOut, 16, zOut);
}

int main(void){
  static const struct { const char *z; const char *zSha; } aSha[] = {
    { "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
    { "abc",
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
    { "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
      "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
    { "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno"
      "ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
      "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1" },
  };
  static const struct { const char *z; const char *zMd5; } aMd5[] = {
    { "", "d41d8cd98f00b204e9800998ecf8427e" },
    { "a", "0cc175b9c0f1b6a831c399e269772661" },
    { "abc", "900150983cd24fb0d6963f7d28e17f72" },
    { "message digest", "f96b697d7cb7938d525a2f31aaf161d0" },
    { "abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b" },
    { "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
      "d174ab98d277d9f5a5611c2c9f419d9f" },
    { "1234567890123456789012345678901234567890123456789012345678901234567890"
      "1234567890", "57edf4a22be3c955ac49da2e2107b67a" },
  };
  static const struct { const char *z; const char *zB64; } aB64[] = {
    { "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" },
    { "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" },
  };
  char zOut[129];
  size_t i, k;
  for(i=0; i<sizeof(aSha)/sizeof(aSha[0]); i++){
    for(k=0; k<=130; k++){
      sha256Hex(aSha[i].z, strlen(aSha[i].z), k, zOut);
      check(strcmp(zOut, aSha[i].zSha)==0, "sha256", zOut, aSha[i].zSha);
    }
  }
  {
    /* One million 'a' (FIPS 180-2 appendix B.3), in 1000-byte pieces. */
    static char a[1000];
    StreamSha256 s;
    unsigned char aOut[32];
    memset(a, 'a', sizeof(a));
    sqlite3StreamSha256Init(&s);
    for(i=0; i<1000; i++) sqlite3StreamSha256Update(&s, a, sizeof(a));
    sqlite3StreamSha256Final(&s, aOut);
    sqlite3StreamHex(aOut, 32, zOut);
    check(strcmp(zOut, "cdc76e5c9914fb9281a1c7e284d73e67"
                       "f1809a48a497200e046d39ccc7112cd0")==0,
          "sha256 million a", zOut, "cdc76e5c...");
  }
  for(i=0; i<sizeof(aMd5)/sizeof(aMd5[0]); i++){
    for(k=0; k<=130; k++){
      md5Hex(aMd5[i].z, strlen(aMd5[i].z), k, zOut);
      check(strcmp(zOut, aMd5[i].zMd5)==0, "md5", zOut, aMd5[i].zMd5);
    }
  }
  for(i=0; i<sizeof(aB64)/sizeof(aB64[0]); i++){
    sqlite3StreamBase64((const unsigned char*)aB64[i].z,
                        (int)strlen(aB64[i].z), zOut);
    check(strcmp(zOut, aB64[i].zB64)==0, "base64", zOut, aB64[i].zB64);
  }
  printf("%d passed, %d failed\n", nPass, nFail);
  return nFail!=0;
}
