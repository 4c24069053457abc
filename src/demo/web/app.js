// The teaching page's main thread. It starts the workers (dist/src/demo/worker.js), which run
// fleetgate's own lock and index modules, and draws what they do. It only ever reads shared
// memory with Atomics.load (plus Atomics.store / add / notify on the demo's control words); it
// never waits: the browser forbids Atomics.wait here, and a page that blocked would freeze.
import {
  createSharedRegion,
  headInt32,
  kActiveBufferWord,
  kGenerationWord,
  kWriterMutexWord,
  kWriterOwnerWord,
  kWriterPendingWord,
  slotStateWord,
} from '/dist/src/shm/layout.js';
import * as L from '/dist/src/demo/layout.js';

const $ = (id) => document.getElementById(id);
const isolated = globalThis.crossOriginIsolated === true && typeof SharedArrayBuffer === 'function';

const kRates = [10, 50, 100, 200, 500, 1000, 0]; // 0 = as fast as the writer can
const kSizes = [256, 512, 1024, 2048, 4096, 8192, 16384];
const kEntries = 8;
const kWorkerUrl = '/dist/src/demo/worker.js';

const settings = { lock: 'rw', readers: 4, commitRate: 200, entryBytes: 1024 };
/** The threads running now: one fleetgate region, one control block, 1 writer + N readers. */
let run = null;
let runSeq = 0;
let tornAllRuns = 0;
const races = [];

// ---- runs ----------------------------------------------------------------------------------

function startRun(step, readers = settings.readers) {
  stopRun();
  const sab = createSharedRegion({ mode: settings.lock, maxThreads: 16, initialIndexBytes: 256 * 1024, maxByteLength: 64 * 1024 * 1024 });
  const ctlSab = L.createControl(kEntries, settings.commitRate, settings.entryBytes);
  const r = {
    id: ++runSeq,
    step,
    lock: settings.lock,
    readers,
    sab,
    head: headInt32(sab),
    ctlSab,
    c: new Int32Array(ctlSab),
    workers: [],
    slots: [],
    startedAt: performance.now(),
    samples: [],
    errors: [],
  };
  r.inits = [];
  for (let t = 0; t <= readers; t++) {
    const w = new Worker(kWorkerUrl, { type: 'module', name: t === 0 ? 'writer' : `reader ${t}` });
    w.onmessage = (ev) => onWorkerMessage(r, ev.data);
    w.onerror = (ev) => r.errors.push(`thread ${t}: ${ev.message || 'failed to start'}`);
    r.inits.push(() => w.postMessage({ role: t === 0 ? 'writer' : 'reader', t, sab, ctl: ctlSab, epoch: 1, step }));
    r.workers.push(w);
  }
  // Step mode starts the threads one after another, so each claims the same reader slot in
  // every run (slots are taken first come, first served) and a step list means one interleaving.
  if (step) r.inits.shift()();
  else for (const init of r.inits.splice(0)) init();
  run = r;
  return r;
}

function stopRun() {
  if (!run) return;
  tornAllRuns += counters(run).torn;
  // Live threads see the epoch move and leave; step threads sit at a gate, so terminate all.
  Atomics.add(run.c, L.kRunEpochWord, 1);
  Atomics.notify(run.c, L.kCommitRateWord);
  for (const w of run.workers) w.terminate();
  run = null;
}

function onWorkerMessage(r, m) {
  if (m.type === 'started') {
    r.slots[m.t] = m.slot;
    r.inits.shift()?.();
  }
  else if (m.type === 'error') r.errors.push(`thread ${m.t}: ${m.message}`);
  else if (m.type === 'race' && r === run) {
    races.unshift({ ...m, lock: r.lock, step: r.step });
    if (races.length > 50) races.length = 50;
    renderRaces();
  }
}

function u32(x) {
  return x >>> 0;
}

function counters(r) {
  const c = r.c;
  let reads = 0;
  let torn = 0;
  let waits = 0;
  for (let t = 1; t <= r.readers; t++) {
    reads += u32(Atomics.load(c, L.thWord(t, L.kThOps)));
    torn += Atomics.load(c, L.thWord(t, L.kThTorn));
    waits += Atomics.load(c, L.thWord(t, L.kThWaits));
  }
  const commits = u32(Atomics.load(c, L.thWord(0, L.kThOps)));
  waits += Atomics.load(c, L.thWord(0, L.kThWaits));
  return { reads, commits, torn, waits, generation: Atomics.load(r.head, kGenerationWord) };
}

// ---- states, derived from the lock words ---------------------------------------------------

function ownerWordOf(t) {
  return t + 2; // threadId = t + 1; the lock stores threadId + 1 (src/lock/predicates.ts ownerWordFor)
}

function readerState(r, t) {
  const slot = r.slots[t];
  const acquiring = Atomics.load(r.c, L.thWord(t, L.kThState));
  const pending = Atomics.load(r.head, kWriterPendingWord);
  if (r.step && sleepingOn(r, t) === kWriterPendingWord) return 'waiting';
  if (r.lock === 'rw') {
    const held = slot === undefined ? 0 : Atomics.load(r.head, slotStateWord(slot));
    if (held > 0 && (pending === 0 || acquiring === L.kReaderReading || !r.step)) return pending ? 'reading, writer waits' : 'reading';
    if (acquiring !== L.kReaderIdle) return pending ? 'waiting' : 'entering';
    return 'idle';
  }
  if (r.lock === 'mutex') {
    if (Atomics.load(r.head, kWriterOwnerWord) === ownerWordOf(t)) return 'reading';
    return acquiring !== L.kReaderIdle ? 'waiting' : 'idle';
  }
  return acquiring !== L.kReaderIdle ? 'reading, no lock' : 'idle';
}

function writerState(r) {
  const st = Atomics.load(r.c, L.thWord(0, L.kThState));
  if (r.lock === 'none') return st !== L.kWriterIdle ? 'writing in place, no lock' : 'idle';
  const owner = Atomics.load(r.head, kWriterOwnerWord);
  if (r.lock === 'rw' && Atomics.load(r.head, kWriterPendingWord) !== 0) {
    for (let t = 1; t <= r.readers; t++) {
      const slot = r.slots[t];
      if (slot !== undefined && Atomics.load(r.head, slotStateWord(slot)) > 0) return 'draining';
    }
    return 'holding';
  }
  if (owner === ownerWordOf(0)) return r.lock === 'rw' ? 'pending' : 'holding';
  if (st === L.kWriterBuilding) return Atomics.load(r.head, kWriterMutexWord) !== 0 && r.lock === 'mutex' ? 'pending' : 'building';
  if (st === L.kWriterCommitting) return 'holding';
  return 'idle';
}

const kStateClass = {
  idle: 'idle',
  entering: 'reading',
  reading: 'reading',
  'reading, writer waits': 'reading',
  'reading, no lock': 'danger',
  waiting: 'waiting',
  building: 'building',
  pending: 'waiting',
  draining: 'waiting',
  holding: 'holding',
  'writing in place, no lock': 'danger',
};

// ---- drawing (once per animation frame) ----------------------------------------------------

function threadCard(id) {
  let el = document.getElementById(id);
  if (!el) {
    el = document.createElement('div');
    el.id = id;
    el.className = 'thread';
    el.innerHTML = '<span class="name"></span><span class="state"></span><span class="detail"></span>';
    $('threads').appendChild(el);
  }
  return el;
}

function setCard(el, name, state, detail) {
  el.querySelector('.name').textContent = name;
  const s = el.querySelector('.state');
  s.textContent = state.toUpperCase();
  el.dataset.state = kStateClass[state] ?? 'idle';
  el.querySelector('.detail').textContent = detail;
}

function rate(r, key, now) {
  const s = r.samples;
  if (s.length < 2) return 0;
  const a = s[0];
  const b = s[s.length - 1];
  return b.t > a.t ? ((b[key] - a[key]) * 1000) / (b.t - a.t) : 0;
}

function draw(now) {
  const r = run;
  if (!r) return;
  const k = counters(r);
  r.samples.push({ t: now, reads: k.reads, commits: k.commits });
  while (r.samples.length > 2 && now - r.samples[0].t > 1000) r.samples.shift();

  $('active').textContent = Atomics.load(r.head, kActiveBufferWord) === 0 ? 'A' : 'B';
  $('generation').textContent = String(k.generation);
  const pending = Atomics.load(r.head, kWriterPendingWord);
  $('pending').textContent = pending ? '1 (new readers wait)' : '0';
  $('lockmode').textContent = r.lock + (r.step ? ' · step mode' : '');

  const cards = $('threads');
  if (cards.dataset.run !== String(r.id)) {
    cards.textContent = '';
    cards.dataset.run = String(r.id);
  }
  const w = threadCard('thread-0');
  setCard(w, 'writer', writerState(r), `${k.commits} commits`);
  for (let t = 1; t <= r.readers; t++) {
    const slot = r.slots[t];
    const held = slot === undefined ? '–' : Atomics.load(r.head, slotStateWord(slot));
    const reads = u32(Atomics.load(r.c, L.thWord(t, L.kThOps)));
    setCard(threadCard(`thread-${t}`), `reader ${t} · slot ${slot ?? '?'} = ${held}`, readerState(r, t), `${reads} reads`);
  }

  $('reads-rate').textContent = Math.round(rate(r, 'reads', now)).toLocaleString('en');
  $('reads').textContent = `${k.reads.toLocaleString('en')} reads`;
  $('commits-rate').textContent = Math.round(rate(r, 'commits', now)).toLocaleString('en');
  $('commits').textContent = `${k.commits.toLocaleString('en')} commits`;
  $('waits').textContent = k.waits.toLocaleString('en');
  $('torn').textContent = k.torn.toLocaleString('en');
  $('torn-box').dataset.state = k.torn > 0 ? 'danger' : 'ok';
  $('torn-text').textContent = k.torn > 0 ? 'TORN: fields from different generations' : 'none: every copy agreed';
  if (r.errors.length) $('isolation').textContent = r.errors.join('; ');
  if (r.step) drawStep(r);
}

function frame(now) {
  draw(now);
  requestAnimationFrame(frame);
}

function renderRaces() {
  const box = $('races');
  if (races.length === 0) {
    box.innerHTML = '<p class="empty">No data race seen yet. Switch the lock to <b>none</b>.</p>';
    return;
  }
  box.textContent = '';
  for (const m of races.slice(0, 12)) {
    const pre = document.createElement('pre');
    pre.className = 'race';
    const lines = ['WARNING: DATA RACE', `Read of entry ${m.entry} by reader ${m.reader} (read #${m.read}), lock ${m.lock}:`];
    for (const [f, g] of Object.entries(m.fields)) {
      if (f === 'name') {
        if (g !== m.entry) lines.push(`  name         ${JSON.stringify(g)}  (asked for ${m.entry})`);
        continue;
      }
      lines.push(`  ${f.padEnd(12)} from generation ${g < 0 ? 'unreadable' : g}`);
    }
    lines.push(`Writer's generation before the read: ${m.genBefore}, after: ${m.genAfter}`);
    lines.push(m.step ? 'The writer stored a, then b, while the reader loaded a, then b.' : 'The writer rewrote the live buffer while the reader copied this entry.');
    pre.textContent = lines.join('\n');
    box.appendChild(pre);
  }
}

// ---- step mode -------------------------------------------------------------------------------

const step = { seed: 1, rng: null, steps: [], done: { torn: false, writerWaits: false, readerWaits: false }, sources: {} };

function mulberry32(a) {
  return () => {
    a |= 0;
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function threads(r) {
  return Array.from({ length: r.readers + 1 }, (_, t) => t);
}

/** Thread t is at its gate with every released operation done. */
function atRest(r, t) {
  return Atomics.load(r.c, L.thWord(t, L.kThAtGate)) === Atomics.load(r.c, L.thWord(t, L.kThGate)) + 1;
}

/** The fleetgate word a resting thread sleeps on (futex wait), or -1. */
function sleepingOn(r, t) {
  if (!atRest(r, t) || Atomics.load(r.c, L.thWord(t, L.kThOp)) !== L.kOpSleep) return -1;
  return Atomics.load(r.c, L.thWord(t, L.kThWord));
}

function runnable(r, t) {
  if (!atRest(r, t)) return false;
  const w = sleepingOn(r, t);
  if (w < 0) return true;
  return Atomics.load(r.head, w) !== Atomics.load(r.c, L.thWord(t, L.kThWaitValue));
}

/** Resolves once every thread rests at a gate (a macrotask per check; never blocks). */
function settled(r) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const ch = new MessageChannel();
    ch.port1.onmessage = () => {
      if (run !== r) return reject(new Error('step run was stopped'));
      if (r.errors.length) return reject(new Error(r.errors.join('; ')));
      if (threads(r).every((t) => atRest(r, t))) return resolve();
      if (performance.now() - t0 > 10000) return reject(new Error('threads did not reach their gates in 10 s'));
      ch.port2.postMessage(0);
    };
    ch.port2.postMessage(0);
  });
}

function checkChallenges(r) {
  if (counters(r).torn > 0) step.done.torn = true;
  const wSleep = sleepingOn(r, 0);
  if (r.lock === 'rw' && wSleep >= 0 && wSleep !== kWriterPendingWord && wSleep !== kWriterMutexWord) step.done.writerWaits = true;
  for (let t = 1; t <= r.readers; t++) if (r.lock === 'rw' && sleepingOn(r, t) === kWriterPendingWord) step.done.readerWaits = true;
}

async function stepStart(opts = {}) {
  if (!isolated) throw new Error('not cross-origin isolated: no SharedArrayBuffer');
  if (opts.lock) setLock(opts.lock, false);
  step.seed = Number(opts.seed ?? $('seed').value) >>> 0;
  $('seed').value = String(step.seed);
  step.rng = mulberry32(step.seed);
  step.steps = [];
  step.done = { torn: false, writerWaits: false, readerWaits: false };
  const r = startRun(true, Math.min(3, opts.readers ?? 2));
  await settled(r);
  for (const b of ['step-one', 'step-ten', 'step-torn', 'step-stop']) $(b).disabled = false;
  updateShare(r);
  return r;
}

/** Lets thread t (default: the seeded scheduler's pick) perform one operation. */
async function stepNext(t) {
  const r = run;
  if (!r || !r.step) throw new Error('not in step mode');
  const ready = threads(r).filter((x) => runnable(r, x));
  if (ready.length === 0) throw new Error('deadlock: no thread can run');
  if (t === undefined) t = ready[Math.floor(step.rng() * ready.length)];
  else if (!ready.includes(t)) throw new Error(`thread ${t} cannot run now`);
  step.steps.push(t);
  const gate = L.thWord(t, L.kThGate);
  Atomics.add(r.c, gate, 1);
  // Pairs with the worker's Atomics.wait on its gate word (Gate.pass).
  Atomics.notify(r.c, gate);
  await settled(r);
  checkChallenges(r);
  updateShare(r);
  return t;
}

async function runUntil(goal, maxSteps = 2000) {
  for (let n = 0; n < maxSteps; n++) {
    if (step.done[goal]) break;
    await stepNext();
  }
  return { steps: step.steps.length, reached: step.done[goal], list: step.steps.slice() };
}

/** Runs thread t until it sleeps or cannot run (at most 400 operations: the lock spins). */
async function runThread(t) {
  for (let n = 0; n < 400 && run && runnable(run, t); n++) {
    await stepNext(t);
    if (sleepingOn(run, t) >= 0) break;
  }
}

function updateShare(r) {
  const q = new URLSearchParams({ step: '1', lock: r.lock, readers: String(r.readers), seed: String(step.seed), steps: step.steps.join('.') });
  const a = $('share');
  a.href = `#${q}`;
  a.textContent = `${location.origin}/#${q}`.slice(0, 140) + (step.steps.length > 40 ? '…' : '');
  history.replaceState(null, '', `#${q}`);
}

function drawStep(r) {
  const s = counters(r);
  $('step-status').textContent = `Step ${step.steps.length} · seed ${step.seed} · lock ${r.lock} · torn reads ${s.torn}` + (step.done.torn ? ' · TORN READ CAUSED' : '');
  for (const li of document.querySelectorAll('#challenges li')) {
    const ok = step.done[li.dataset.challenge];
    li.dataset.state = ok ? 'ok' : 'open';
    li.dataset.mark = ok ? 'DONE' : 'OPEN';
  }
  const panes = $('code-panes');
  if (panes.dataset.run !== String(r.id)) {
    panes.textContent = '';
    panes.dataset.run = String(r.id);
    for (const t of threads(r)) {
      const d = document.createElement('div');
      d.className = 'code-pane';
      d.id = `pane-${t}`;
      d.innerHTML = `<div class="pane-head"><b>${t === 0 ? 'writer' : `reader ${t}`}</b> <span class="op"></span>
        <button data-t="${t}" class="one">step</button><button data-t="${t}" class="run">run to wait</button></div><pre></pre>`;
      d.querySelector('.one').onclick = () => stepNext(t).catch(showStepError);
      d.querySelector('.run').onclick = () => runThread(t).catch(showStepError);
      panes.appendChild(d);
    }
  }
  for (const t of threads(r)) {
    const pane = $(`pane-${t}`);
    if (!atRest(r, t)) continue;
    const op = L.kOps[Atomics.load(r.c, L.thWord(t, L.kThOp))];
    const file = L.kSourceFiles[Atomics.load(r.c, L.thWord(t, L.kThFile))];
    const jsLine = Atomics.load(r.c, L.thWord(t, L.kThLine));
    const word = Atomics.load(r.c, L.thWord(t, L.kThWord));
    const arr = Atomics.load(r.c, L.thWord(t, L.kThArray));
    const src = step.sources[file];
    const line = src ? src.jsToTs[jsLine] || 0 : 0;
    const can = runnable(r, t);
    pane.dataset.state = can ? 'ready' : 'blocked';
    pane.querySelector('.op').textContent = `${can ? 'next' : 'ASLEEP until the word changes'}: ${op} ${wordName(r, arr, word)}  (${file}:${line})`;
    const key = `${file}:${line}`;
    if (pane.dataset.key === key) continue;
    pane.dataset.key = key;
    const pre = pane.querySelector('pre');
    pre.textContent = '';
    if (!src) continue;
    for (let n = Math.max(1, line - 3); n <= line + 3 && n <= src.lines.length; n++) {
      const div = document.createElement('div');
      div.textContent = `${String(n).padStart(4)}  ${src.lines[n - 1]}`;
      if (n === line) div.className = 'cur';
      pre.appendChild(div);
    }
  }
}

function wordName(r, arr, w) {
  if (arr === 1) return w === L.kStepFieldAWord ? 'field a' : w === L.kStepFieldBWord ? 'field b' : `control[${w}]`;
  if (w === kWriterPendingWord) return 'writer-pending word';
  if (w === kWriterMutexWord) return 'writer mutex';
  if (w === kWriterOwnerWord) return 'writer owner';
  for (let t = 1; t <= r.readers; t++) if (r.slots[t] !== undefined && slotStateWord(r.slots[t]) === w) return `reader ${t}'s slot`;
  if (r.slots[0] !== undefined && slotStateWord(r.slots[0]) === w) return "writer's own slot";
  return `word ${w}`;
}

function showStepError(err) {
  $('step-status').textContent = `Step mode: ${err.message}`;
}

async function loadSources() {
  for (const f of L.kSourceFiles) {
    const res = await fetch(`/api/source?file=${encodeURIComponent(f)}`);
    if (!res.ok) continue;
    const j = await res.json();
    step.sources[f] = { lines: j.text.split('\n'), jsToTs: j.jsToTs };
  }
}

// ---- controls and the console handle -------------------------------------------------------

function setLock(lock, restart = true) {
  if (!['rw', 'mutex', 'none'].includes(lock)) throw new Error(`lock must be rw, mutex or none, got ${JSON.stringify(lock)}`);
  settings.lock = lock;
  for (const i of document.querySelectorAll('input[name=lock]')) i.checked = i.value === lock;
  if (restart) startRun(false);
}

function set(opts = {}) {
  if (!isolated) throw new Error('not cross-origin isolated: no SharedArrayBuffer');
  let restart = !run || run.step;
  if (opts.lock !== undefined && opts.lock !== settings.lock) {
    setLock(opts.lock, false);
    restart = true;
  }
  if (opts.readers !== undefined) {
    const n = Number(opts.readers);
    if (!Number.isInteger(n) || n < 1 || n > L.kMaxDemoReaders) throw new Error(`readers must be 1..${L.kMaxDemoReaders}`);
    if (n !== settings.readers) restart = true;
    settings.readers = n;
    $('readers').value = String(n);
    $('readers-out').textContent = String(n);
  }
  if (opts.commitRate !== undefined) {
    const n = Number(opts.commitRate);
    if (!Number.isInteger(n) || n < 0 || n > 100000) throw new Error('commitRate must be 0 (as fast as possible) .. 100000');
    settings.commitRate = n;
    $('rate-out').textContent = n === 0 ? 'max' : String(n);
    if (kRates.includes(n)) $('rate').value = String(kRates.indexOf(n));
    if (run && !restart) {
      Atomics.store(run.c, L.kCommitRateWord, n);
      // Pairs with the writer's Atomics.wait on this word between commits (live-thread.ts).
      Atomics.notify(run.c, L.kCommitRateWord);
    }
  }
  if (opts.entryBytes !== undefined) {
    const n = Number(opts.entryBytes);
    if (!Number.isInteger(n) || n < L.kMinEntryBytes || n > L.kMaxEntryBytes) throw new Error(`entryBytes must be ${L.kMinEntryBytes}..${L.kMaxEntryBytes}`);
    settings.entryBytes = n;
    $('size-out').textContent = String(n);
    if (kSizes.includes(n)) $('size').value = String(kSizes.indexOf(n));
    if (run && !restart) Atomics.store(run.c, L.kEntryBytesWord, n);
  }
  if (restart) startRun(false);
  return stats();
}

function stats() {
  const k = run ? counters(run) : { reads: 0, commits: 0, torn: 0, waits: 0, generation: 0 };
  const now = performance.now();
  return {
    lock: settings.lock,
    readers: run ? run.readers : settings.readers,
    mode: run?.step ? 'step' : 'live',
    reads: k.reads,
    commits: k.commits,
    torn: k.torn,
    tornAllRuns: tornAllRuns + k.torn,
    waits: k.waits,
    generation: k.generation,
    commitRate: settings.commitRate,
    entryBytes: settings.entryBytes,
    runMs: run ? Math.round(now - run.startedAt) : 0,
    readsPerSec: run ? Math.round(rate(run, 'reads', now)) : 0,
    commitsPerSec: run ? Math.round(rate(run, 'commits', now)) : 0,
    races: races.length,
    errors: run ? run.errors.slice() : [],
    crossOriginIsolated: isolated,
  };
}

// ---- the running-server panel ------------------------------------------------------------

const server = { sample: null, abort: null, events: 0 };

async function serverConnect(url, token) {
  server.abort?.abort();
  const abort = new AbortController();
  server.abort = abort;
  server.sample = null;
  $('server-url').value = url;
  if (token) $('server-token').value = token;
  const status = $('server-status');
  status.dataset.state = 'waiting';
  status.textContent = `Connecting to ${url}…`;
  const headers = token ? { authorization: `Bearer ${token}` } : {};
  const res = await fetch(`/api/relay/lock-stream?server=${encodeURIComponent(url)}`, { headers, signal: abort.signal });
  if (!res.ok) {
    const body = await res.json().catch(() => ({}));
    status.dataset.state = 'danger';
    status.textContent = `Not connected: ${body.error ?? `HTTP ${res.status}`}`;
    throw new Error(status.textContent);
  }
  status.dataset.state = 'ok';
  status.textContent = `Connected to ${url}: live samples from its shared memory.`;
  readEvents(res.body, abort).catch((err) => {
    if (abort.signal.aborted) return;
    status.dataset.state = 'danger';
    status.textContent = `Stream ended: ${err.message}`;
  });
}

async function readEvents(body, abort) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) throw new Error('the server closed the stream');
    buf += value;
    let i;
    while ((i = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, i);
      buf = buf.slice(i + 2);
      const data = block.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n');
      if (data && !abort.signal.aborted) {
        server.sample = JSON.parse(data);
        server.events++;
        drawServer(server.sample);
      }
    }
  }
}

function drawServer(s) {
  $('srv-rps').textContent = s.readsPerSec.toLocaleString('en');
  $('srv-commits').textContent = s.commits.toLocaleString('en');
  $('srv-gen').textContent = `generation ${s.generation}`;
  $('srv-writes').textContent = s.writeLocks.toLocaleString('en');
  $('srv-hold').textContent = `max hold ${(s.writeHoldMaxNs / 1000).toFixed(1)} µs`;
  $('srv-waits').textContent = s.waits.toLocaleString('en');
  $('srv-torn').textContent = s.tornReads.toLocaleString('en');
  $('srv-torn').parentElement.dataset.state = s.tornReads > 0 ? 'danger' : 'ok';
  $('srv-mode').textContent = `lock ${s.mode}` + (s.mode === 'none' ? ': torn reads expected' : '');
  const box = $('srv-slots');
  box.textContent = '';
  const w = document.createElement('div');
  w.className = 'thread';
  const wstate = s.writerPending ? 'draining' : s.writerMutex ? 'holding' : 'idle';
  w.dataset.state = kStateClass[wstate];
  w.innerHTML = `<span class="name">writer (sync worker)</span><span class="state">${wstate.toUpperCase()}</span><span class="detail">mutex ${s.writerMutex}, pending ${s.writerPending}</span>`;
  box.appendChild(w);
  for (const slot of s.slots) {
    const d = document.createElement('div');
    d.className = 'thread';
    const st = slot.reads > 0 ? 'reading' : 'idle';
    d.dataset.state = st;
    d.innerHTML = `<span class="name">slot ${slot.slot} · thread ${slot.threadId}</span><span class="state">${st.toUpperCase()}</span><span class="detail">${slot.reads} read(s) held</span>`;
    box.appendChild(d);
  }
}

async function runCompare() {
  const out = $('compare-out');
  out.hidden = false;
  out.textContent = 'Running load --compare against a simulator: rw, mutex and none, a few seconds each…';
  $('compare').disabled = true;
  try {
    const res = await fetch('/api/compare', { method: 'POST' });
    const j = await res.json();
    out.textContent = res.ok ? j.table : `compare failed: ${j.error}\n${j.detail ?? ''}`;
    return j;
  } finally {
    $('compare').disabled = false;
  }
}

// ---- wiring -----------------------------------------------------------------------------------

async function linkCode() {
  const cache = {};
  for (const a of document.querySelectorAll('a[data-code]')) {
    const f = a.dataset.code;
    cache[f] ??= fetch(`/api/source?file=${encodeURIComponent(f)}`).then((r) => (r.ok ? r.json() : null));
    const src = await cache[f];
    const line = src ? src.text.split('\n').findIndex((l) => l.includes(a.dataset.find)) + 1 : 0;
    a.href = `/code/${f}${line > 0 ? `#L${line}` : ''}`;
    a.target = '_blank';
    a.title = `${f}${line > 0 ? `:${line}` : ''}`;
    a.textContent = `${a.textContent} (${f.split('/').pop()}:${line})`;
  }
}

function wire() {
  for (const i of document.querySelectorAll('input[name=lock]')) i.onchange = () => set({ lock: i.value });
  $('readers').oninput = () => set({ readers: Number($('readers').value) });
  $('rate').oninput = () => set({ commitRate: kRates[Number($('rate').value)] });
  $('size').oninput = () => set({ entryBytes: kSizes[Number($('size').value)] });
  $('step-start').onclick = () => stepStart().catch(showStepError);
  $('step-one').onclick = () => stepNext().catch(showStepError);
  $('step-ten').onclick = async () => {
    for (let i = 0; i < 10; i++) await stepNext().catch(showStepError);
  };
  $('step-torn').onclick = () => runUntil('torn').catch(showStepError);
  $('step-stop').onclick = () => {
    for (const b of ['step-one', 'step-ten', 'step-torn', 'step-stop']) $(b).disabled = true;
    history.replaceState(null, '', location.pathname);
    $('code-panes').textContent = '';
    $('step-status').textContent = 'Live mode.';
    startRun(false);
  };
  $('server-connect').onclick = () => serverConnect($('server-url').value, $('server-token').value).catch(() => {});
  $('compare').onclick = () => runCompare().catch((e) => ($('compare-out').textContent = e.message));
}

/** Replays a step link: #step=1&lock=none&readers=2&seed=7&steps=0.1.1 */
async function replayFromHash() {
  const q = new URLSearchParams(location.hash.slice(1));
  if (q.get('step') !== '1') return false;
  await stepStart({ lock: q.get('lock') ?? 'none', readers: Number(q.get('readers') ?? 2), seed: Number(q.get('seed') ?? 1) });
  const list = (q.get('steps') ?? '').split('.').filter(Boolean).map(Number);
  for (const t of list) await stepNext(t);
  return true;
}

const ready = (async () => {
  const banner = $('isolation');
  if (!isolated) {
    banner.dataset.state = 'danger';
    banner.textContent =
      'NOT cross-origin isolated: this page has no SharedArrayBuffer, so the threads cannot share memory and the demo cannot run. ' +
      'Serve it with `fleetgate demo`, which sends Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp.';
    return;
  }
  banner.dataset.state = 'ok';
  banner.textContent = 'crossOriginIsolated: yes. SharedArrayBuffer is available; every thread below is a real Web Worker.';
  wire();
  await loadSources();
  linkCode().catch(() => {});
  const cfg = await fetch('/api/config').then((r) => r.json()).catch(() => ({}));
  if (cfg.managedServer) {
    $('server-url').value = cfg.managedServer;
    $('server-token').placeholder = 'not needed: started by fleetgate demo';
  }
  requestAnimationFrame(frame);
  if (!(await replayFromHash())) startRun(false);
})();

globalThis.demo = {
  stats,
  set,
  ready,
  races: () => races.slice(),
  step: {
    start: stepStart,
    next: stepNext,
    runUntil,
    runThread,
    state: () => ({ seed: step.seed, steps: step.steps.slice(), done: { ...step.done }, torn: run ? counters(run).torn : 0, link: location.hash }),
  },
  server: {
    connect: serverConnect,
    stats: () => (server.sample ? { ...server.sample, events: server.events } : null),
    compare: runCompare,
  },
};
