#!/usr/bin/env node
// CPU per frame of the RTSP source against ffmpeg alone, on the same 1080p H.264 stream in the same run.
//   decode:        ffmpeg -i URL -f null -                         (decode only: the floor)
//   decode+scale:  ffmpeg with the source's own arguments, 224x224 rgb24 to /dev/null (what ffmpeg must do)
//   RtspSource:    the daemon's source, 224x224 rgb8 frames read into Node (ffmpeg child + inspectd process)
//   RtspSource 1080p: the same at the camera's size (what scaling in ffmpeg saves: 6 MB a frame through a pipe)
// The stream: a 10 s 1920x1080 25 fps H.264 MP4 (ffmpeg testsrc2 with temporal noise, 6 Mbit/s, made once in
// var/bench/), served over RTSP on loopback by gst-rtsp-server (test/helpers/rtsp_server.py) at its own rate,
// each client from the first frame. CPU = user+sys: ffmpeg's from /proc (exact after exit via the reaping
// shell's cutime/cstime, or of the live child), inspectd's from process.cpuUsage(). Median of the rounds.
// Usage: node scripts/bench-rtsp.mjs [frames per run, default 150] [rounds, default 3]
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const d = (p) => import(path.join(root, 'dist', p));
const { RtspSource } = await d('sources/rtsp/rtspSource.js');
const { ffmpegArgs } = await d('sources/rtsp/ffmpegArgs.js');
const { rtspSettings } = await d('sources/rtsp/settings.js');
const { validateSettings } = await d('core/settings.js');

const N = Number(process.argv[2] ?? 150);
const ROUNDS = Number(process.argv[3] ?? 3);
const TICK_MS = 1000 / Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];

// ---- the stream
const outDir = path.join(root, 'var', 'bench');
mkdirSync(outDir, { recursive: true });
const video = path.join(outDir, 'rtsp-1080p.mp4');
if (!existsSync(video)) {
  console.error('bench-rtsp: encoding the 1080p test stream once (about 30 s)...');
  execFileSync('nice', [
    'ffmpeg',
    '-hide_banner',
    '-loglevel',
    'error',
    '-y',
    '-f',
    'lavfi',
    '-i',
    'testsrc2=size=1920x1080:rate=25',
    '-vf',
    'noise=alls=12:allf=t',
    '-t',
    '10',
    '-c:v',
    'libx264',
    '-preset',
    'veryfast',
    '-profile:v',
    'main',
    '-pix_fmt',
    'yuv420p',
    '-b:v',
    '6M',
    '-maxrate',
    '6M',
    '-bufsize',
    '12M',
    '-g',
    '50',
    '-an',
    `${video}.tmp.mp4`,
  ]);
  execFileSync('mv', [`${video}.tmp.mp4`, video]);
}
const port = await new Promise((resolve) => {
  const s = net.createServer().listen(0, '127.0.0.1', () => {
    const p = s.address().port;
    s.close(() => resolve(p));
  });
});
const server = spawn(
  '/usr/bin/python3',
  [path.join(root, 'test/helpers/rtsp_server.py'), '--port', String(port), '--file', video],
  { stdio: ['ignore', 'pipe', 'inherit'] },
);
await new Promise((resolve, reject) => {
  server.stdout.on('data', (b) => b.toString().includes('READY') && resolve());
  server.once('exit', (c) => reject(new Error(`RTSP server exited (${c})`)));
});
const url = `rtsp://127.0.0.1:${port}/cam`;

// ---- the runs
const options = (w, h) =>
  validateSettings(rtspSettings, { url, width: w, height: h, pixelFormat: 'rgb8' }, 'source', []);
const sourceArgs = ffmpegArgs(options(224, 224));
const input = sourceArgs.slice(0, sourceArgs.indexOf('-i') + 2);
const decodeOnly = [...input, '-map', '0:v:0', '-an', '-frames:v', String(N), '-f', 'null', '-'];
// The source's exact command, its output to /dev/null instead of the pipe.
const decodeScale = [...sourceArgs.slice(0, -3), '-frames:v', String(N), '-f', 'rawvideo', '-y', '/dev/null'];

/** ffmpeg alone, N frames: CPU of the exited child from the shell that reaped it (cutime + cstime). */
function runFfmpeg(args) {
  return new Promise((resolve, reject) => {
    const script = 'ffmpeg "$@"; rc=$?; read -a s < /proc/$$/stat; echo "CPU $rc ${s[15]} ${s[16]}"';
    const p = spawn('bash', ['-c', script, 'bench', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (b) => (out += b));
    p.stderr.on('data', (b) => (err += b));
    p.once('error', reject);
    p.once('close', () => {
      const m = /CPU (\d+) (\d+) (\d+)/.exec(out);
      const frames = Number([...err.matchAll(/frame=\s*(\d+)/g)].pop()?.[1] ?? 0);
      if (!m || m[1] !== '0' || frames < N) return reject(new Error(`ffmpeg failed:\n${err.slice(-2000)}`));
      resolve({ frames, ffmpegMs: (Number(m[2]) + Number(m[3])) * TICK_MS, nodeMs: 0 });
    });
  });
}

/** user+sys ms of a live process from /proc/<pid>/stat (fields 14 and 15; the name in parentheses first). */
function cpuOf(pid) {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (Number(rest[11]) + Number(rest[12])) * TICK_MS;
}

function ffmpegChild() {
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const f = readFileSync(`/proc/${e}/stat`, 'utf8');
      const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
      if (Number(rest[1]) === process.pid && f.includes('(ffmpeg)')) return Number(e);
    } catch {
      // gone meanwhile
    }
  }
  throw new Error('no ffmpeg child found');
}

/** The RtspSource, N frames pulled as the pipeline would: CPU of its ffmpeg child and of this process. */
async function runSource(w, h) {
  const src = new RtspSource({ id: 'bench', options: options(w, h), log: pino({ level: 'warn' }) });
  const cpu0 = process.cpuUsage();
  let n = 0;
  let result;
  for await (const f of src.frames()) {
    if (f.data.length !== w * h * 3) throw new Error(`frame of ${f.data.length} bytes`);
    if (++n < N) continue;
    const ffmpegMs = cpuOf(ffmpegChild());
    const c = process.cpuUsage(cpu0);
    result = { frames: src.stats().framesIn, ffmpegMs, nodeMs: (c.user + c.system) / 1000 };
    break;
  }
  await src.close();
  return result;
}

const cases = [
  ['ffmpeg decode only (-f null)', () => runFfmpeg(decodeOnly)],
  ['ffmpeg decode + scale 224x224 rgb24 -> /dev/null', () => runFfmpeg(decodeScale)],
  ['RtspSource 224x224 rgb8 (ffmpeg + inspectd)', () => runSource(224, 224)],
  ['RtspSource 1920x1080 rgb8, no scaling', () => runSource(1920, 1080)],
];
const per = cases.map(() => []);
try {
  for (let r = 0; r < ROUNDS; r++) {
    for (const [i, [name, run]] of cases.entries()) {
      const m = await run();
      const perFrame = {
        ffmpeg: m.ffmpegMs / m.frames,
        node: m.nodeMs / m.frames,
        total: (m.ffmpegMs + m.nodeMs) / m.frames,
      };
      per[i].push(perFrame);
      console.error(
        `round ${r + 1}: ${name}: ${perFrame.total.toFixed(2)} ms CPU/frame (${m.frames} frames)`,
      );
    }
  }
} finally {
  server.kill('SIGTERM');
}

const med = per.map((runs) => ({
  ffmpeg: median(runs.map((x) => x.ffmpeg)),
  node: median(runs.map((x) => x.node)),
  total: median(runs.map((x) => x.total)),
}));
const f2 = (x) => x.toFixed(2);
console.log(
  `\nRTSP 1080p H.264 25 fps, ${N} frames per run, median of ${ROUNDS} round(s), CPU ms per frame (user+sys)\n`,
);
console.log('| run | ffmpeg | inspectd | total | vs decode only | vs decode + scale |');
console.log('|---|---|---|---|---|---|');
for (const [i, [name]] of cases.entries()) {
  const m = med[i];
  console.log(
    `| ${name} | ${f2(m.ffmpeg)} | ${f2(m.node)} | ${f2(m.total)} | ${f2(m.total / med[0].total)} | ${f2(m.total / med[1].total)} |`,
  );
}
