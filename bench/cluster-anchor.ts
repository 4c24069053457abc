/**
 * The anchor of the HTTP benchmark: a node:cluster server of two processes, each an Express app
 * serving the same JSON body fleetgate returned for GET /api/v1/clusters, with the same bearer
 * check shape (a header compare) and no shared memory. Threads that share the index should beat
 * processes that share nothing. Usage: node cluster-anchor.js PORT BODYFILE
 */
import { readFileSync } from 'node:fs';
import express from 'express';
import { runTwoProcesses } from './two-process.js';

const [portArg, bodyFile] = process.argv.slice(2);
runTwoProcesses(Number(portArg), () => {
  const body = JSON.parse(readFileSync(bodyFile!, 'utf8')) as unknown;
  const app = express();
  app.get('/api/v1/clusters', (req, res) => {
    if (!req.headers.authorization?.startsWith('Bearer ')) return void res.status(401).json({ error: 'unauthorized' });
    res.json(body);
  });
  app.listen(Number(portArg), '127.0.0.1');
});
