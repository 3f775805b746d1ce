#!/usr/bin/env node
// pipeline_receiver.mjs - a local stand-in for a Cloudflare Pipelines HTTP
// stream, following its documented contract: POST a JSON array of
// objects, "Authorization: Bearer <token>", requests of at most 1 MB,
// 429 on backpressure.  For pipeline.test.
//
//   node pipeline_receiver.mjs PORTFILE LOGFILE TOKEN PLAN
//
// Listens on 127.0.0.1, on a port of the system's choosing, written to
// PORTFILE once listening.  PLAN is a comma-separated list of what to do
// with request 1, 2, ... (after the list: ok):
//   ok      answer 200
//   429     answer 429 (Retry-After: 0)
//   500 502 503  answer that status
//   slow    wait 1500 ms, then answer 200 (the client has given up by
//           then: the batch is accepted here, a failure there)
//   slowok  wait 200 ms, then answer 200
//   drop    close the connection without an answer
// A request without the right bearer token gets 401 whatever the plan
// says; a body over 1,000,000 bytes gets 413; a body that is not a JSON
// array of objects gets 400.
// Each request is logged to LOGFILE as one JSON line:
//   {"i":1,"plan":"429","status":429,"accepted":false,"auth":true,
//    "ctype":"application/json","bytes":1234,"records":[[p,o],...],
//    "topics":["orders"],"fields":true}
// ("accepted": answered 2xx; "fields": every record had topic, partition,
// offset and timestamp.)
import http from 'node:http'
import { appendFileSync, writeFileSync, renameSync } from 'node:fs'

const [portFile, logFile, token, planText = ''] = process.argv.slice(2)
const plan = planText ? planText.split(',') : []
let n = 0

const server = http.createServer((req, res) => {
  const chunks = []
  req.on('data', (c) => chunks.push(c))
  req.on('end', () => {
    const i = ++n
    const what = plan[i - 1] ?? 'ok'
    const body = Buffer.concat(chunks)
    const auth = req.headers.authorization === `Bearer ${token}`
    const entry = {
      i, plan: what, status: 0, accepted: false, auth,
      ctype: req.headers['content-type'] ?? null, bytes: body.length,
      records: [], topics: [], fields: false,
    }
    let records = null
    try {
      const v = JSON.parse(body.toString('utf8'))
      if (Array.isArray(v) && v.every((r) => r && typeof r === 'object')) records = v
    } catch { records = null }
    if (records) {
      entry.records = records.map((r) => [r.partition, r.offset])
      entry.topics = [...new Set(records.map((r) => r.topic))]
      entry.fields = records.every((r) => typeof r.topic === 'string'
        && Number.isInteger(r.partition) && Number.isInteger(r.offset)
        && Number.isInteger(r.timestamp))
    }
    const answer = (status, delay = 0) => {
      setTimeout(() => {
        entry.status = status
        entry.accepted = status >= 200 && status < 300
        appendFileSync(logFile, JSON.stringify(entry) + '\n')
        res.writeHead(status, status === 429 ? { 'Retry-After': '0' } : {})
        res.end(entry.accepted ? '{"ok":true}' : '{"error":"x"}')
      }, delay)
    }
    if (!auth) return answer(401)
    if (body.length > 1000000) return answer(413)
    if (!records) return answer(400)
    switch (what) {
      case 'ok': return answer(200)
      case 'slowok': return answer(200, 200)
      case 'slow': return answer(200, 1500)
      case 'drop':
        appendFileSync(logFile, JSON.stringify(entry) + '\n')
        return req.socket.destroy()
      default: return answer(Number(what))
    }
  })
})
server.listen(0, '127.0.0.1', () => {
  writeFileSync(portFile + '.tmp', String(server.address().port))
  renameSync(portFile + '.tmp', portFile)
})
process.on('SIGTERM', () => process.exit(0))
