/**
 * The README's "Start it" section, run as written: every line of every shell block, against a
 * fresh data directory and a fresh server, in a private network namespace (`unshare -rn`) so the
 * README's fixed ports (8080, 8443) are free whatever else runs on the machine. Each line must
 * exit 0 with non-empty output; an assignment's value or a redirect's file counts as its output.
 *
 * Only the environment is arranged: PATH puts first an `npm` whose `install` is a no-op (this
 * checkout is installed and built) and whose `start` runs package.json's start script minus its
 * build step; HOME is empty but for a .curlrc with fail-with-body, so an HTTP error fails its
 * curl line instead of printing a body and exiting 0. Lines that start the server (`npm start`)
 * run until it listens and then get SIGTERM: each must print its start-up lines and exit 0. The
 * one with `--sim` stays up for the other lines.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/util/paths.js';

/** The shell blocks of a README section (## heading to the next ## heading). */
export function sectionShellBlocks(markdown: string, heading: string): string[][] {
  const start = markdown.indexOf(`\n## ${heading}\n`);
  if (start < 0) throw new Error(`README has no "## ${heading}" section`);
  const rest = markdown.slice(start + 1);
  const next = rest.indexOf('\n## ', 1);
  const section = next < 0 ? rest : rest.slice(0, next);
  const blocks: string[][] = [];
  for (const m of section.matchAll(/```(?:sh|bash|shell)\n([\s\S]*?)```/g)) {
    blocks.push(m[1]!.split('\n').filter((l) => l.trim() && !l.trim().startsWith('#')));
  }
  return blocks;
}

const netnsWorks = spawnSync('unshare', ['-rn', 'true']).status === 0 && existsSync('/usr/bin/kubectl');
if (!netnsWorks) console.warn('test/readme/readme.e2e.test.ts: skipped: needs unshare -rn (user and network namespaces) and kubectl');

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

describe.skipIf(!netnsWorks)('README "Start it", run as written', () => {
  const work = mkdtempSync(join(tmpdir(), 'fleetgate-readme-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('every line exits 0 with non-empty output against a fresh server with --sim 5', async () => {
    const readme = readFileSync(join(packageRoot, 'README.md'), 'utf8');
    const lines = sectionShellBlocks(readme, 'Start it').flat();
    const servers = lines.filter((l) => /\bnpm start\b/.test(l));
    const simServer = servers.find((l) => /--sim\b/.test(l));
    const others = lines.filter((l) => !servers.includes(l));
    expect(simServer, 'a server line with --sim').toBeDefined();
    expect(others.length).toBeGreaterThan(3);

    // npm: install is a no-op here; start is package.json's start script without its build step.
    const pkg = JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8'));
    const startScript = String(pkg.scripts.start).replace(/^npm run build && /, '');
    expect(startScript).toMatch(/^node bin\/fleetgate\.js\b/);
    const bin = join(work, 'bin');
    mkdirSync(bin);
    writeFileSync(
      join(bin, 'npm'),
      '#!/usr/bin/env bash\n' +
        '# test stand-in for npm (test/readme/readme.e2e.test.ts)\n' +
        'case "$1" in\n' +
        `  install) echo "npm install: up to date (test: ${packageRoot} is installed and built)";;\n` +
        `  start) shift; [ "$1" = "--" ] && shift; cd "$PWD"; exec ${startScript.replace(/^node bin\//, `node ${q(packageRoot)}/bin/`)} "$@";;\n` +
        '  *) echo "npm (test stand-in): $1 is not available" >&2; exit 1;;\n' +
        'esac\n',
    );
    chmodSync(join(bin, 'npm'), 0o755);
    const home = join(work, 'home');
    mkdirSync(home);
    writeFileSync(join(home, '.curlrc'), 'fail-with-body\nsilent\nshow-error\n');
    const results = join(work, 'results');
    mkdirSync(results);

    // The script run inside the namespace. Each server line gets its own fresh directory; the
    // --sim one is the working directory of every other line.
    const script: string[] = ['set -u', 'ip link set lo up', `R=${q(results)}`];
    const startServer = (line: string, id: string, dir: string) => {
      script.push(
        `mkdir -p ${q(dir)} && cd ${q(dir)}`,
        // Made here, before the background start: tail -f below gives up at once on a file that
        // does not exist yet, which the server's subshell may not have created by then.
        `: > "$R/${id}.out"`,
        `( ${line}\n) >> "$R/${id}.out" 2>&1 &`,
        `SERVER=$!`,
        // Wait for the listening line (tail -f follows the file as the server writes it), bounded.
        `grep -q -m1 'fleetgate: listening on' <(timeout 90 tail -n +1 -f "$R/${id}.out") || echo timeout > "$R/${id}.timeout"`,
      );
    };
    const stopServer = (id: string) => {
      // SIGTERM to the server itself: the subshell's child, or the subshell if bash exec'd it.
      // The subshell then exits with the server's status.
      script.push(`NODE=$(pgrep -P $SERVER || echo $SERVER); kill -TERM $NODE; wait $SERVER; echo $? > "$R/${id}.rc"`);
    };
    servers.forEach((line, i) => {
      if (line === simServer) return;
      startServer(line, `server${i}`, join(work, `server${i}`));
      stopServer(`server${i}`);
    });
    const main = join(work, 'main');
    startServer(simServer!, 'sim', main);
    others.forEach((line, i) => {
      const assigned = /^([A-Za-z_][A-Za-z0-9_]*)=/.exec(line)?.[1];
      const redirected = /[^>&0-9]>\s*([^\s#&|;]+)\s*(#.*)?$/.exec(line)?.[1];
      script.push(`{ ${line}\n} > "$R/line${i}.out" 2>&1; echo $? > "$R/line${i}.rc"`);
      if (assigned) script.push(`printf '%s' "\${${assigned}:-}" > "$R/line${i}.value"`);
      if (redirected) script.push(`cat ${redirected} > "$R/line${i}.value" 2>/dev/null`);
    });
    // The server's own start-up hint, run as printed.
    script.push(`HINT=$(sed -n 's/^fleetgate: try: //p' "$R/sim.out" | head -1)`, `{ eval "$HINT"\n} > "$R/hint.out" 2>&1; echo $? > "$R/hint.rc"`);
    stopServer('sim');
    writeFileSync(join(work, 'readme.sh'), script.join('\n') + '\n');

    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('FLEETGATE_') && k !== 'KUBECONFIG') env[k] = v;
    Object.assign(env, { PATH: `${bin}:${dirname(process.execPath)}:${process.env.PATH}`, HOME: home });
    const code = await new Promise<number | null>((resolve) => {
      const child = spawn('timeout', ['240', 'unshare', '-rn', 'bash', join(work, 'readme.sh')], { env, stdio: 'ignore' });
      child.once('exit', (c) => resolve(c));
    });
    expect(code).toBe(0);

    const read = (f: string) => (existsSync(join(results, f)) ? readFileSync(join(results, f), 'utf8') : '');
    servers.forEach((line, i) => {
      const id = line === simServer ? 'sim' : `server${i}`;
      expect(read(`${id}.timeout`), `${line}: started\n${read(`${id}.out`)}`).toBe('');
      expect(read(`${id}.rc`).trim(), `${line}: exit code\n${read(`${id}.out`)}`).toBe('0');
      expect(read(`${id}.out`), line).toContain('fleetgate: listening on http://127.0.0.1:8080');
    });
    const report: string[] = [];
    others.forEach((line, i) => {
      // An assigned value may be a secret (TOKEN=...): reported by its length only.
      const out = read(`line${i}.out`) + (/^[A-Za-z_][A-Za-z0-9_]*=/.test(line) ? `(assigned ${read(`line${i}.value`).length} characters)` : read(`line${i}.value`));
      report.push(`$ ${line}\n  exit ${read(`line${i}.rc`).trim()}, ${out.length} bytes: ${out.slice(0, 200).replace(/\n/g, '\n  ')}`);
    });
    const all = report.join('\n');
    others.forEach((line, i) => {
      expect(read(`line${i}.rc`).trim(), `${line}\n\n${all}`).toBe('0');
      expect((read(`line${i}.out`) + read(`line${i}.value`)).trim(), `${line}\n\n${all}`).not.toBe('');
    });

    // The examples find something: five clusters, pods of sim-0002, nginx across the fleet, a
    // kubeconfig kubectl can use, and the exec answer.
    const outOf = (re: RegExp) => read(`line${others.findIndex((l) => re.test(l))}.out`);
    expect(JSON.parse(outOf(/\/api\/v1\/clusters$/)).map((c: { name: string }) => c.name)).toEqual(['sim-0001', 'sim-0002', 'sim-0003', 'sim-0004', 'sim-0005']);
    expect(JSON.parse(outOf(/\/api\/v1\/pods$/)).items.length).toBeGreaterThan(0);
    const search = JSON.parse(outOf(/fleet\/search\?q=nginx/));
    expect(search.items.length).toBeGreaterThan(0);
    expect(search.items.every((x: { name: string }) => x.name.includes('nginx'))).toBe(true);
    expect(outOf(/get pods -A/)).toMatch(/^NAMESPACE\s+NAME/);
    expect(outOf(/ exec /)).toBe('hi\n');

    // The start-up lines: where the token is, the URL, and an example that works as printed.
    const banner = read('sim.out');
    expect(banner).toContain('fleetgate: admin token: in data/admin.token');
    expect(banner).toContain('fleetgate: open http://127.0.0.1:8080/');
    expect(read('hint.rc').trim(), read('hint.out')).toBe('0');
    expect(JSON.parse(read('hint.out')).length).toBe(5);
  }, 300_000);
});
