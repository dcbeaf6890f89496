// Anchor h of the benchmark: the cheapest Node HTTP service worth comparing with, a bare
// Express route returning `{ok:true}`. Listens on PORT (loopback).
import http from 'node:http'
import express from 'express'

const app = express()
app.get('/xrpc/bench.anchor.ping', (_req, res) => res.json({ ok: true }))
http.createServer(app).listen(Number(process.env.PORT), '127.0.0.1')
process.once('SIGTERM', () => process.exit(0))
