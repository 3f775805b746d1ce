#!/usr/bin/python3
# s3_sigcheck.py - re-sign the requests the extension sent (as captured by
# test/s3proxy.mjs --capture) with botocore's SigV4 signer, an independent
# implementation, and compare with the Authorization header sent.
#
#   /usr/bin/python3 s3_sigcheck.py CAPTURE.jsonl SECRET [TOKEN]
#
# For every request: the signature must match; the signed headers must
# include host, x-amz-date, x-amz-content-sha256 (and x-amz-security-token
# with a session token, whose value must be TOKEN); x-amz-content-sha256
# must be the SHA-256 of the body as received (or UNSIGNED-PAYLOAD); the
# path must be the object key encoded as botocore encodes keys; the query
# must be sorted (libcurl 7.88 signs it as given).  Prints one line per
# failure, then "checked N requests, M failed, regions R".
# Exit 2 if botocore is missing (the caller skips with that reason).
import json
import sys
import urllib.parse

try:
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    from botocore.utils import percent_encode
except ImportError as e:
    print("botocore missing: %s" % e)
    sys.exit(2)


def main():
    path, secret = sys.argv[1], sys.argv[2]
    token = sys.argv[3] if len(sys.argv) > 3 else None
    n = bad = 0
    regions = set()
    for line in open(path, encoding='utf-8'):
        r = json.loads(line)
        h = r['headers']
        auth = h.get('authorization', '')
        n += 1
        why = check(r, h, auth, secret, token, regions)
        if why:
            bad += 1
            print("FAIL %s %s: %s" % (r['method'], r['url'], why))
    print("checked %d requests, %d failed, regions %s" % (n, bad, ",".join(sorted(regions))))
    sys.exit(1 if bad or n == 0 else 0)


def check(r, h, auth, secret, token, regions):
    if not auth.startswith('AWS4-HMAC-SHA256 '):
        return "no SigV4 Authorization header"
    fields = dict(kv.strip().split('=', 1) for kv in auth[len('AWS4-HMAC-SHA256 '):].split(','))
    ak, date, region, service, term = fields['Credential'].split('/')
    regions.add(region)
    signed = fields['SignedHeaders'].split(';')
    for need in ['host', 'x-amz-date', 'x-amz-content-sha256'] + (['x-amz-security-token'] if token else []):
        if need not in signed:
            return "%s is not signed (SignedHeaders=%s)" % (need, fields['SignedHeaders'])
    if token and h.get('x-amz-security-token') != token:
        return "x-amz-security-token is not the session token"
    payload = h.get('x-amz-content-sha256')
    if payload != 'UNSIGNED-PAYLOAD' and payload != r['body_sha256']:
        return "x-amz-content-sha256 %s is not the body's %s" % (payload, r['body_sha256'])
    split = urllib.parse.urlsplit(r['url'])
    # The path: each key segment encoded as botocore encodes object keys.
    decoded = urllib.parse.unquote(split.path)
    if percent_encode(decoded, safe='/~') != split.path:
        return "path %s is not encoded as S3 expects (%s)" % (split.path, percent_encode(decoded, safe='/~'))
    if split.query:
        params = split.query.split('&')
        if params != sorted(params):
            return "query %s is not sorted" % split.query
        for p in params:
            k, _, v = p.partition('=')
            if '=' not in p:
                return "query parameter %s has no '='" % p
            if percent_encode(urllib.parse.unquote(v), safe='~') != v:
                return "query value %s is not encoded" % v
    headers = {name: h[name] for name in signed}
    req = AWSRequest(method=r['method'], url='http://%s%s' % (h['host'], r['url']),
                     headers=headers)
    req.context['timestamp'] = h['x-amz-date']
    signer = S3SigV4Auth(Credentials(ak, secret, token), service, region)
    canonical = signer.canonical_request(req)
    sts = signer.string_to_sign(req, canonical)
    sig = signer.signature(sts, req)
    if sig != fields['Signature']:
        return "signature %s, botocore computes %s over:\n%s" % (fields['Signature'], sig, canonical)
    if signer.signed_headers(signer.headers_to_sign(req)) != fields['SignedHeaders']:
        return "botocore signs headers %s, the request %s" % (
            signer.signed_headers(signer.headers_to_sign(req)), fields['SignedHeaders'])
    return None


main()
