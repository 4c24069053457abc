/**
 * Imports run one way, downward: no two folders of src/ import each other (directly or through
 * others), and no file imports a file that imports it back. A newcomer can then read the tree
 * bottom-up, and a browser can load the lowest rooms (shm, lock, index) without the rest.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/util/paths.js';

const src = join(packageRoot, 'src');

function sources(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile() && d.name.endsWith('.ts') && !d.name.endsWith('.d.ts'))
    .map((d) => join(d.parentPath, d.name));
}

/** Relative imports of a file (static, dynamic and re-exports; type-only ones count too). */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  const re = /(?:import|export)\s+(?:type\s+)?(?:[^'";]*?\s+from\s+)?['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g;
  for (const m of text.matchAll(re)) {
    const spec = (m[1] ?? m[2])!;
    out.push(resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
  }
  return out.filter((p) => p.startsWith(src + '/'));
}

/** The room a file belongs to: its first folder under src/ ('' for files directly in src/). */
const room = (file: string) => {
  const rel = relative(src, file).split('/');
  return rel.length > 1 ? rel[0]! : '';
};

/** Every cycle of the graph, as one example path each (Tarjan's strongly connected components). */
function cycles(graph: Map<string, Set<string>>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const comp: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1 || graph.get(v)?.has(v)) out.push(comp.sort());
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  return out;
}

describe('import structure of src/', () => {
  const files = sources(src);
  const fileGraph = new Map<string, Set<string>>();
  const roomGraph = new Map<string, Set<string>>();
  for (const f of files) {
    const deps = new Set(importsOf(f));
    fileGraph.set(relative(src, f), new Set([...deps].map((d) => relative(src, d))));
    const r = room(f);
    if (!roomGraph.has(r)) roomGraph.set(r, new Set());
    for (const d of deps) if (room(d) !== r) roomGraph.get(r)!.add(room(d));
  }

  it('reads the tree', () => {
    expect(files.length).toBeGreaterThan(50);
    expect(fileGraph.get('lock/rwlock.ts')!.has('shm/layout.ts')).toBe(true);
  });

  it('no two folders import each other, directly or through others', () => {
    expect(cycles(roomGraph)).toEqual([]);
  });

  it('no file imports a file that imports it back', () => {
    expect(cycles(fileGraph)).toEqual([]);
  });

  it('folders import only folders listed above them in docs/ARCHITECTURE.md "Rooms"', () => {
    const doc = readFileSync(join(packageRoot, 'docs', 'ARCHITECTURE.md'), 'utf8');
    const rooms = doc.slice(doc.indexOf('## Rooms'));
    // Each table row names one or more folders (`src/x`); rows are ranked top (0) to bottom.
    const rank = new Map<string, number>();
    rooms.split('\n').filter((l) => l.startsWith('| `src/')).forEach((l, i) => {
      for (const m of l.split('|')[1]!.matchAll(/`src\/([a-z0-9-]+)(?:\.ts)?`/g)) rank.set(m[1] === 'cli' ? '' : m[1]!, i);
    });
    expect(rank.size).toBeGreaterThan(10);
    const unlisted = [...roomGraph.keys()].filter((r) => !rank.has(r));
    expect(unlisted).toEqual([]);
    const upward: string[] = [];
    for (const [from, tos] of roomGraph) for (const to of tos) if (rank.get(to)! >= rank.get(from)!) upward.push(`${from || 'src'} -> ${to}`);
    expect(upward).toEqual([]);
  });

  it('shm, lock and index import nothing from Node (the teaching page runs them in a browser)', () => {
    const nodeImports = files
      .filter((f) => ['shm', 'lock', 'index'].includes(room(f)))
      .flatMap((f) => [...readFileSync(f, 'utf8').matchAll(/from\s+['"](node:[^'"]+)['"]/g)].map((m) => `${relative(src, f)}: ${m[1]}`));
    expect(nodeImports).toEqual([]);
  });
});
