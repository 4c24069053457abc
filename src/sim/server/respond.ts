/**
 * Writing answers: JSON or a Table as the client asked (Accept), Status bodies for errors, and the
 * headers every answer carries (X-Fleetgate-Cluster names the cluster that answered).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { asHttpError, statusJson, type HttpError } from './errors.js';

export const kJsonType = 'application/json';
export const kTableType = 'application/json;as=Table;v=v1;g=meta.k8s.io';

/** The answering cluster: only its name goes out (in a header). */
interface Answerer {
  name: string;
}

export function send(rt: Answerer, res: ServerResponse, code: number, body: string | Buffer, type = kJsonType): void {
  res.writeHead(code, ['Content-Type', type, 'Content-Length', String(Buffer.byteLength(body)), 'Cache-Control', 'no-cache, private', 'X-Fleetgate-Cluster', rt.name]);
  res.end(body);
}

export function sendError(rt: Answerer, res: ServerResponse, e: HttpError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  send(rt, res, e.code, statusJson(e.code, e.reason, e.message, e.details));
}

/** Answers whatever a handler threw as a Status. */
export function fail(rt: Answerer, res: ServerResponse, e: unknown): void {
  sendError(rt, res, asHttpError(e));
}

/** Whether the client asked for a meta.k8s.io Table (kubectl get does). */
export function wantsTable(req: IncomingMessage): boolean {
  const a = req.headers.accept;
  return !!a && a.includes('as=Table') && a.includes('meta.k8s.io');
}
