/**
 * What runs "inside" a simulated pod, independent of the wire (WebSocket channels or SPDY
 * streams): the commands `kubectl exec` can run, the main process `kubectl attach` reaches, and
 * the listeners `kubectl port-forward` connects to.
 *
 * exec runs a handful of commands, enough to show that bytes flow both ways and exit codes come
 * back: echo, hostname, env, cat (stdin to stdout until stdin closes), true, false. Anything else
 * fails as a runtime would, exit code 127, "executable file not found".
 *
 * attach reaches the container's main process, which echoes its stdin to stdout and exits 0
 * when stdin closes; attached without stdin it prints one line and exits 0 (a real main process
 * would run on; this one ends so that a plain `kubectl attach` returns).
 *
 * port-forward: every port in the pod's spec (containerPort) answers; anything else is refused
 * as a closed port is. A connection whose first bytes look like an HTTP request gets one HTTP
 * response naming the pod, the port and the request line (then close); any other bytes are
 * echoed back until the client half-closes.
 */

export interface ProcessTarget {
  cluster: string;
  namespace: string;
  pod: string;
}

export interface ExecRequest extends ProcessTarget {
  command: string[];
  stdin: boolean;
}

/** The process's side of a session: what it writes, and how it ends. */
export interface ProcessIO {
  stdout(data: Buffer | string): void;
  stderr(data: Buffer | string): void;
  exit(code: number): void;
}

/** The session's side: where the client's stdin goes. Both are no-ops once the process ended. */
export interface ProcessInput {
  stdin(data: Buffer): void;
  stdinEnd(): void;
}

const kNoInput: ProcessInput = { stdin: () => undefined, stdinEnd: () => undefined };

/** Starts one exec'd command. */
export function runCommand(exec: ExecRequest, io: ProcessIO): ProcessInput {
  const [cmd, ...args] = exec.command;
  switch (cmd) {
    case 'echo':
      io.stdout(args.join(' ') + '\n');
      io.exit(0);
      return kNoInput;
    case 'hostname':
      io.stdout(exec.pod + '\n');
      io.exit(0);
      return kNoInput;
    case 'env':
      io.stdout(`PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\nHOSTNAME=${exec.pod}\nKUBERNETES_SERVICE_HOST=10.96.0.1\nKUBERNETES_SERVICE_PORT=443\n`);
      io.exit(0);
      return kNoInput;
    case 'true':
      io.exit(0);
      return kNoInput;
    case 'false':
      io.exit(1);
      return kNoInput;
    case 'cat':
      if (!exec.stdin) {
        io.exit(0);
        return kNoInput;
      }
      return echoUntilEnd(io);
    default:
      io.stderr(`exec: "${cmd ?? ''}": executable file not found in $PATH\n`);
      io.exit(127);
      return kNoInput;
  }
}

/** Attaches to the container's main process. */
export function attachMain(target: ProcessTarget, stdin: boolean, io: ProcessIO): ProcessInput {
  if (!stdin) {
    io.stdout(`attached to ${target.cluster}/${target.namespace}/${target.pod}: this simulated process echoes stdin (attach with -i)\n`);
    io.exit(0);
    return kNoInput;
  }
  return echoUntilEnd(io);
}

function echoUntilEnd(io: ProcessIO): ProcessInput {
  let ended = false;
  return {
    stdin: (data) => {
      if (!ended) io.stdout(data);
    },
    stdinEnd: () => {
      if (ended) return;
      ended = true;
      io.exit(0);
    },
  };
}

/** The container ports of a pod object: the ports port-forward reaches. */
export function podPorts(pod: { spec?: { containers?: Array<{ ports?: Array<{ containerPort?: number }> }> } }): Set<number> {
  const ports = new Set<number>();
  for (const c of pod.spec?.containers ?? []) for (const p of c.ports ?? []) if (typeof p.containerPort === 'number') ports.add(p.containerPort);
  return ports;
}

/** One connection to a pod port: the client's bytes in, the responder's bytes out. */
export interface PortConnection {
  data(bytes: Buffer): void;
  /** The client half-closed. */
  end(): void;
}

const kHttpStart = /^(GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS) \S+ HTTP\/1\.[01]\r?\n/;
/** Bytes held while deciding between HTTP and echo, and for an HTTP request head. */
const kMaxHead = 16 * 1024;

/** Connects to a listening port of the pod. `write`/`close` carry the responder's side. */
export function connectPort(target: ProcessTarget, port: number, write: (bytes: Buffer) => void, close: () => void): PortConnection {
  let head: Buffer = Buffer.alloc(0);
  let mode: 'undecided' | 'http' | 'echo' | 'done' = 'undecided';
  const answerHttp = () => {
    const text = head.toString('latin1');
    const line = text.slice(0, text.search(/\r?\n/));
    const body = `hello from ${target.cluster}/${target.namespace}/${target.pod} port ${port}: ${line}\n`;
    const method = line.split(' ')[0];
    write(
      Buffer.from(
        `HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n` + (method === 'HEAD' ? '' : body),
      ),
    );
    mode = 'done';
    close();
  };
  return {
    data(bytes) {
      if (mode === 'done') return;
      if (mode === 'echo') return write(bytes);
      head = Buffer.concat([head, bytes]);
      if (mode === 'undecided') {
        const firstLine = head.indexOf('\n');
        if (firstLine < 0 && head.length < kMaxHead) return;
        if (kHttpStart.test(head.toString('latin1', 0, firstLine + 1))) mode = 'http';
        else {
          mode = 'echo';
          write(head);
          return;
        }
      }
      // HTTP: answer once the request head is complete (bodies are not read).
      if (head.includes('\r\n\r\n') || head.includes('\n\n') || head.length >= kMaxHead) answerHttp();
    },
    end() {
      if (mode === 'done') return;
      if (mode === 'undecided' && head.length) write(head);
      mode = 'done';
      close();
    },
  };
}

/**
 * A terminal in front of a process (exec/attach with tty=true): as a pty's line discipline does,
 * ^D at the start of a line ends stdin and ^C interrupts (exit 130), so `kubectl exec -it` can
 * leave `cat` the way it leaves it on a real node.
 */
export function withTty(input: ProcessInput, io: ProcessIO): ProcessInput {
  let lineStart = true;
  return {
    stdin(data) {
      for (let i = 0; i < data.length; i++) {
        const b = data[i]!;
        if (b === 0x03) {
          if (i > 0) input.stdin(data.subarray(0, i));
          io.exit(130);
          return;
        }
        if (b === 0x04 && lineStart) {
          if (i > 0) input.stdin(data.subarray(0, i));
          input.stdinEnd();
          return;
        }
        lineStart = b === 0x0a || b === 0x0d;
      }
      input.stdin(data);
    },
    stdinEnd: () => input.stdinEnd(),
  };
}
