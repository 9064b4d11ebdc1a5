// A lossy GVSP relay in its own process (as a camera is its own device): GVSP packets arriving on the data
// socket are forwarded to the receiver, 1 in `1/lossRatio` dropped (seeded), the last packets kept; PACKETRESEND
// commands on the control socket are answered from that cache. Prints {"data":port,"control":port} when ready;
// on stdin, "target <port>" sets where to forward and "stats" prints {"dropped":n,"answered":n}.
import dgram from 'node:dgram';
import readline from 'node:readline';

const [ip, lossRatio, seed] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4] ?? 1234)];
let s = seed >>> 0;
const rand = () => {
  // mulberry32
  s = (s + 0x6d2b79f5) >>> 0;
  let t = s;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const data = dgram.createSocket('udp4');
const control = dgram.createSocket('udp4');
await new Promise((r) => data.bind(0, ip, r));
await new Promise((r) => control.bind(0, ip, r));
data.setRecvBufferSize(32 * 1024 * 1024);
const cache = new Map();
let target = 0;
let dropped = 0;
let answered = 0;
data.on('message', (msg) => {
  // GVSP header: status u16, block id u16, format/packet id u32 (packet id in the low 24 bits).
  const key = `${msg.readUInt16BE(2)}/${msg.readUInt32BE(4) & 0xffffff}`;
  cache.set(key, msg);
  if (cache.size > 20000) cache.delete(cache.keys().next().value);
  if (rand() < lossRatio) dropped++;
  else if (target) data.send(msg, target, ip);
});
control.on('message', (msg) => {
  // PACKETRESEND_CMD: 8-byte header, channel u16, block id u16, first u32, last u32 (24-bit ids).
  if (msg.length < 20 || msg.readUInt16BE(2) !== 0x0040) return;
  const block = msg.readUInt16BE(10);
  const first = msg.readUInt32BE(12) & 0xffffff;
  const last = msg.readUInt32BE(16) & 0xffffff;
  for (let id = first; id <= last; id++) {
    const p = cache.get(`${block}/${id}`);
    if (p) {
      answered++;
      data.send(p, target, ip);
    }
  }
});
readline.createInterface({ input: process.stdin }).on('line', (line) => {
  const [cmd, arg] = line.trim().split(/\s+/);
  if (cmd === 'target') target = Number(arg);
  if (cmd === 'stats') process.stdout.write(JSON.stringify({ dropped, answered }) + '\n');
});
process.stdin.on('end', () => process.exit(0));
process.stdout.write(JSON.stringify({ data: data.address().port, control: control.address().port }) + '\n');
