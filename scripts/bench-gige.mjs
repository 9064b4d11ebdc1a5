#!/usr/bin/env node
// GigE Vision receive benchmark: inspectd's GigeSource beside Aravis's own arv-camera-test-0.8, against the same
// arv-fake-gv-camera-0.8 on 127.0.0.1, same size and requested rate, alternating runs in one command.
// Reports frames/s, MB/s, completed-frame share and CPU per MB received (receiver process only; the fake
// camera's CPU is shown too, since on one box it competes with the receiver).
//
//   npm run build && node scripts/bench-gige.mjs [seconds=8] [rounds=2] [WxH=640x480] [rates=100,1000]
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { GigeSource } = await import(path.join(root, 'dist/sources/gige/gigeSource.js'));
const { gigeSettings } = await import(path.join(root, 'dist/sources/gige/settings.js'));
const { validateSettings, formatProblem } = await import(path.join(root, 'dist/core/settings.js'));
const { discover } = await import(path.join(root, 'dist/sources/gige/discovery.js'));

const SECONDS = Number(process.argv[2] ?? 8);
const ROUNDS = Number(process.argv[3] ?? 2);
const [W, H] = (process.argv[4] ?? '640x480').split('x').map(Number);
const RATES = (process.argv[5] ?? '100,1000').split(',').map(Number);
const IP = '127.0.0.1';
const SERIAL = 'BENCHGIGE';
const TICK = 100; // clock ticks per second of /proc/<pid>/stat (CONFIG_HZ_USER, 100 on Linux)
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const fmt = (x, d = 1) => x.toFixed(d);

for (const tool of ['arv-fake-gv-camera-0.8', 'arv-camera-test-0.8']) {
  if (spawnSync(tool, ['--help'], { stdio: 'ignore' }).status !== 0) {
    console.error(`bench-gige: ${tool} is missing (apt install aravis-tools)`);
    process.exit(1);
  }
}

/** utime + stime of a process, seconds. */
function cpuOf(pid) {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICK;
}

async function startCamera() {
  const proc = spawn('arv-fake-gv-camera-0.8', ['-i', IP, '-s', SERIAL], { stdio: 'ignore' });
  const end = Date.now() + 15000;
  while (!(await discover({ address: IP, timeoutMs: 300 })).some((d) => d.serial === SERIAL)) {
    if (Date.now() > end) throw new Error('the fake camera did not answer');
  }
  return proc;
}

async function runInspectd(camPid, rate) {
  const problems = [];
  const options = validateSettings(
    gigeSettings,
    { address: IP, width: W, height: H, pixelFormat: 'Mono8', frameRate: rate },
    'source',
    problems,
  );
  if (problems.length) throw new Error(problems.map(formatProblem).join('\n'));
  const src = new GigeSource({ id: 'bench', options, log: pino({ level: 'warn' }) });
  let frames = 0;
  let bytes = 0;
  let t0 = 0;
  let cpu0;
  let cam0 = 0;
  const counting = (async () => {
    for await (const f of src.frames()) {
      if (!t0) {
        // Measure from the first frame: connect and XML download are not streaming.
        t0 = performance.now();
        cpu0 = process.cpuUsage();
        cam0 = cpuOf(camPid);
        continue;
      }
      frames++;
      bytes += f.data.length;
    }
  })();
  while (!t0) await sleep(10);
  await sleep(SECONDS * 1000);
  const secs = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const camCpu = cpuOf(camPid) - cam0;
  const s = src.stats();
  await src.close();
  await counting;
  const seen = s.framesIn + s.framesIncomplete + s.framesLost;
  return {
    frames,
    bytes,
    secs,
    cpu: (cpu.user + cpu.system) / 1e6,
    camCpu,
    complete: s.framesIn / Math.max(1, seen),
  };
}

async function runAravis(camPid, rate) {
  const proc = spawn(
    'stdbuf',
    [
      '-oL',
      'arv-camera-test-0.8',
      '-n',
      `Aravis-Fake-${SERIAL}`,
      '-f',
      String(rate),
      '-w',
      String(W),
      '-h',
      String(H),
      // Aravis at its best here: a socket buffer sized to the payload (-a); no AF_PACKET socket, which sees
      // nothing on loopback.
      '--no-packet-socket',
      '-a',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  proc.stdout.on('data', (d) => (out += d));
  proc.stderr.on('data', (d) => (out += d));
  const exited = new Promise((r) => proc.once('exit', r));
  // It prints a line per second from the start ("0 frame/s" while it connects); measure from the first
  // second with frames, as for inspectd.
  const end = Date.now() + 20000;
  while (!/(^|\n)\s*[1-9]\d* frames?\/s/.test(out)) {
    if (Date.now() > end) throw new Error(`arv-camera-test did not stream: ${out}`);
    await sleep(20);
  }
  const pid =
    Number(spawnSync('pgrep', ['-P', String(proc.pid)], { encoding: 'utf8' }).stdout.trim()) || proc.pid;
  const statAt = out.length;
  const t0 = performance.now();
  const cpu0 = cpuOf(pid);
  const cam0 = cpuOf(camPid);
  await sleep(SECONDS * 1000);
  const cpu = cpuOf(pid) - cpu0;
  const camCpu = cpuOf(camPid) - cam0;
  const secs = (performance.now() - t0) / 1000;
  proc.kill('SIGINT');
  await exited;
  // The per-second lines of the measured window: "  28 frames/s -     8.6 MiB/s - 107 errors".
  const lines = out
    .slice(statAt)
    .split('\n')
    .filter((l) => /frames?\/s/.test(l));
  const fps = lines.map((l) => Number(/([\d.]+) frames?\/s/.exec(l)[1]));
  const mibs = lines.map((l) => Number(/([\d.]+) MiB\/s/.exec(l)?.[1] ?? 0));
  const errors = lines.map((l) => Number(/(\d+) errors/.exec(l)?.[1] ?? 0));
  const n = Math.max(1, lines.length);
  const frames = (fps.reduce((a, b) => a + b, 0) / n) * secs;
  const bytes = (mibs.reduce((a, b) => a + b, 0) / n) * 1024 * 1024 * secs;
  const err = (errors.reduce((a, b) => a + b, 0) / n) * secs;
  return { frames, bytes, secs, cpu, camCpu, complete: frames / Math.max(1, frames + err) };
}

const rows = [];
console.log(
  `bench-gige: ${W}x${H} Mono8 from arv-fake-gv-camera-0.8 on ${IP}, ${SECONDS} s per run, ${ROUNDS} round(s), ` +
    `${os.cpus().length} cores, load ${os.loadavg()[0].toFixed(1)}`,
);
for (const rate of RATES) {
  const acc = { inspectd: [], aravis: [] };
  for (let r = 0; r < ROUNDS; r++) {
    // A fresh camera per run, so neither receiver inherits the other's state.
    for (const [name, fn] of r % 2 === 0
      ? [
          ['inspectd', runInspectd],
          ['aravis', runAravis],
        ]
      : [
          ['aravis', runAravis],
          ['inspectd', runInspectd],
        ]) {
      const cam = await startCamera();
      try {
        const before = process.cpuUsage();
        const res = await fn(cam.pid, rate);
        const own = process.cpuUsage(before);
        acc[name].push(res);
        console.log(
          `  ${rate} fps, ${name}: ${fmt(res.frames / res.secs)} frames/s, complete ${fmt(100 * res.complete)} %, ` +
            `bench process CPU ${fmt((own.user + own.system) / 1e4 / res.secs)} %`,
        );
      } finally {
        cam.kill('SIGTERM');
        await new Promise((res) => cam.once('exit', res));
      }
    }
  }
  const sum = (list) => {
    const t = list.reduce(
      (a, x) => ({
        frames: a.frames + x.frames,
        bytes: a.bytes + x.bytes,
        secs: a.secs + x.secs,
        cpu: a.cpu + x.cpu,
        camCpu: a.camCpu + x.camCpu,
        complete: a.complete + x.complete / list.length,
      }),
      { frames: 0, bytes: 0, secs: 0, cpu: 0, camCpu: 0, complete: 0 },
    );
    const mb = t.bytes / 1e6;
    return {
      fps: t.frames / t.secs,
      mbs: mb / t.secs,
      cpuPerMb: (1000 * t.cpu) / Math.max(mb, 1e-9),
      cpuPct: (100 * t.cpu) / t.secs,
      camPct: (100 * t.camCpu) / t.secs,
      complete: 100 * t.complete,
    };
  };
  const a = sum(acc.inspectd);
  const b = sum(acc.aravis);
  rows.push({ rate, a, b });
}
console.log(
  '\n| requested fps | receiver | frames/s | MB/s | complete % | receiver CPU % | CPU ms per MB | fake camera CPU % |',
);
console.log('|---|---|---|---|---|---|---|---|');
for (const { rate, a, b } of rows) {
  for (const [name, x] of [
    ['inspectd GigeSource', a],
    ['arv-camera-test-0.8', b],
  ])
    console.log(
      `| ${rate} | ${name} | ${fmt(x.fps)} | ${fmt(x.mbs)} | ${fmt(x.complete)} | ${fmt(x.cpuPct)} | ${fmt(x.cpuPerMb, 2)} | ${fmt(x.camPct)} |`,
    );
  console.log(
    `| ${rate} | ratio inspectd / aravis | ${fmt(a.fps / b.fps, 2)} | ${fmt(a.mbs / b.mbs, 2)} | | | ${fmt(a.cpuPerMb / b.cpuPerMb, 2)} | |`,
  );
}
