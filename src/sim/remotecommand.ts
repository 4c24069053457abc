/**
 * exec and attach over SPDY/3.1 (kubectl before 1.30, and client-go tools built on older
 * libraries): the client opens one SPDY stream per standard stream, each named by its
 * `streamtype` header (error, stdin, stdout, stderr, resize). The process starts once every
 * stream the request asked for is open; it ends with the exit Status (metav1.Status JSON, as the
 * v4 protocol has it) on the error stream, every stream half-closed, then GOAWAY.
 *
 *   client                                   simulator
 *   SYN_STREAM streamtype=error       →      ← SYN_REPLY
 *   SYN_STREAM streamtype=stdin       →      ← SYN_REPLY          (if stdin=true)
 *   SYN_STREAM streamtype=stdout      →      ← SYN_REPLY          (if stdout=true)
 *   SYN_STREAM streamtype=stderr      →      ← SYN_REPLY          (if stderr=true and not tty)
 *   DATA stdin ..., DATA FIN (EOF)    →      ← DATA stdout/stderr
 *                                            ← DATA FIN stdout, stderr, stdin
 *                                            ← DATA error {Status}, FIN; GOAWAY
 */
import { exitStatus } from './exec.js';
import type { ProcessInput, ProcessIO } from './container.js';
import { SpdySession, type ByteSink, type SpdyStream } from './spdy.js';

/** X-Stream-Protocol-Version values accepted for exec/attach over SPDY, preferred first. */
export const kSpdyExecProtocols = ['v5.channel.k8s.io', 'v4.channel.k8s.io'] as const;

/** How long the client has to open the streams it asked for. */
const kStreamWaitMs = 30_000;

export interface StreamOptions {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
}

/** Runs a process over a SPDY session on `sink`; returns the session to feed bytes into. */
export function spdyProcessSession(sink: ByteSink, opts: StreamOptions, command: string[], start: (io: ProcessIO) => ProcessInput): SpdySession {
  const want = new Set(['error']);
  if (opts.stdin) want.add('stdin');
  if (opts.stdout) want.add('stdout');
  if (opts.stderr && !opts.tty) want.add('stderr');
  if (opts.tty) want.add('resize');
  const streams = new Map<string, SpdyStream>();
  let started = false;
  let done = false;

  const session = new SpdySession(sink, (s) => {
    const type = s.headers['streamtype'] ?? '';
    if (!want.has(type) || streams.has(type) || started) {
      s.reset();
      return;
    }
    streams.set(type, s);
    if (streams.size === want.size) run();
  });
  // A client that never opens its streams does not keep the connection forever.
  const timer = setTimeout(() => {
    if (!started) session.close();
  }, kStreamWaitMs);
  timer.unref();
  session.onClose = () => {
    clearTimeout(timer);
    done = true;
  };

  function run(): void {
    started = true;
    clearTimeout(timer);
    const out = (type: string) => (d: Buffer | string) => {
      if (!done) streams.get(type)?.write(d);
    };
    const io: ProcessIO = {
      stdout: out('stdout'),
      stderr: out(opts.tty ? 'stdout' : 'stderr'),
      exit: (code) => {
        if (done) return;
        done = true;
        for (const t of ['stdout', 'stderr', 'stdin', 'resize']) streams.get(t)?.end();
        streams.get('error')!.end(exitStatus(command, code));
        session.close();
      },
    };
    const input = start(io);
    const stdin = streams.get('stdin');
    if (stdin) {
      stdin.onData = (d) => input.stdin(d);
      stdin.onEnd = () => input.stdinEnd();
      stdin.onReset = () => input.stdinEnd();
      if (stdin.remoteEnded) input.stdinEnd();
    }
  }
  return session;
}
