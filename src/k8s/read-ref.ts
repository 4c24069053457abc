/**
 * Reading a file a kubeconfig names (certificate-authority, client-certificate, client-key,
 * tokenFile): regular files only and at most kMaxRefBytes. Opened non-blocking so a FIFO cannot
 * hang the thread that opens it, checked with fstat on the open descriptor (no race between the
 * check and the read), and read no further than the cap, so /dev/zero cannot grow memory.
 */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { K8sConfigError } from './errors.js';

/** Largest referenced file: a CA bundle of a few hundred certificates fits easily. */
export const kMaxRefBytes = 1024 * 1024;

/** The text of the file at `path`, or a K8sConfigError naming `what`, the path and why. */
export function readRefFile(path: string, what: string, maxBytes = kMaxRefBytes): string {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new K8sConfigError(`${what} file ${path} cannot be read (${code})`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new K8sConfigError(`${what} file ${path} is not a regular file`);
    if (st.size > maxBytes) throw new K8sConfigError(`${what} file ${path} is larger than ${maxBytes} bytes`);
    const buf = Buffer.alloc(maxBytes + 1);
    let n = 0;
    for (;;) {
      const got = readSync(fd, buf, n, buf.length - n, null);
      if (got === 0) break;
      n += got;
      if (n > maxBytes) throw new K8sConfigError(`${what} file ${path} is larger than ${maxBytes} bytes`);
    }
    return buf.toString('utf8', 0, n);
  } finally {
    closeSync(fd);
  }
}
