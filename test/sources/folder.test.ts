import { appendFile, mkdir, mkdtemp, rename, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { DEADLINE_MS, within } from '../helpers/waiting.js';
import type { Frame } from '../../src/core/frame.js';
import { FolderSource } from '../../src/sources/folder/folderSource.js';
import type { FolderOptions } from '../../src/sources/folder/settings.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(cond: () => boolean, what: string, timeoutMs = DEADLINE_MS): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

interface LogLine {
  level: number;
  msg: string;
}

function testLogger(): { log: pino.Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const log = pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s) as LogLine) });
  return { log, lines };
}

const tempDirs: string[] = [];
const sources: FolderSource[] = [];

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'inspectd-folder-'));
  tempDirs.push(dir);
  return dir;
}

function source(
  opts: Partial<FolderOptions> & { dir: string },
  log: pino.Logger = pino({ level: 'silent' }),
): FolderSource {
  const src = new FolderSource({
    id: 'cam1',
    log,
    options: {
      mode: 'watch',
      fps: 0,
      loop: false,
      processExisting: false,
      settleSec: 0.15,
      pollSec: 0.1,
      followLinksOutside: false,
      ...opts,
    },
  });
  sources.push(src);
  return src;
}

/** Consumes a source in the background, collecting its frames. */
function collect(src: FolderSource): {
  frames: Frame[];
  names: () => string[];
  ended: () => boolean;
  done: Promise<void>;
} {
  const frames: Frame[] = [];
  let ended = false;
  const done = (async () => {
    for await (const f of src.frames()) frames.push(f);
    ended = true;
  })();
  return { frames, names: () => frames.map((f) => path.basename(f.origin ?? '')), ended: () => ended, done };
}

const bytes = (name: string): Buffer => Buffer.from(`fake image ${name} ${'x'.repeat(64)}`);

afterEach(async () => {
  await Promise.all(sources.splice(0).map((s) => s.close()));
  await Promise.all(tempDirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

describe('FolderSource watch mode', () => {
  it('emits each new file once, as an encoded frame named after the file', async () => {
    const dir = await tempDir();
    const src = source({ dir });
    const c = collect(src);
    await until(() => src.state === 'streaming', 'streaming');

    await writeFile(path.join(dir, 'part-001.png'), bytes('1'));
    await until(() => c.frames.length >= 1, 'the first frame');
    await writeFile(path.join(dir, 'part-002.jpg'), bytes('2'));
    await until(() => c.frames.length >= 2, 'the second frame');
    // Touch the first again: a rewritten file is not emitted again.
    await writeFile(path.join(dir, 'part-001.png'), bytes('1 again'));
    await writeFile(path.join(dir, 'part-003.png'), bytes('3'));
    await until(() => c.frames.length >= 3, 'the third frame');
    await writeFile(path.join(dir, 'part-004.png'), bytes('4'));
    await until(() => c.frames.length >= 4, 'the fourth frame');

    expect(c.names()).toEqual(['part-001.png', 'part-002.jpg', 'part-003.png', 'part-004.png']);
    const [f] = c.frames;
    expect(f).toMatchObject({
      cameraId: 'cam1',
      seq: 1,
      width: 0,
      height: 0,
      pixelFormat: 'encoded',
      partId: 'part-001',
      origin: path.join(dir, 'part-001.png'),
    });
    expect(f.data.equals(bytes('1'))).toBe(true);
    expect(c.frames.map((x) => x.seq)).toEqual([1, 2, 3, 4]);
    expect(f.timestamp).toBeGreaterThan(Date.now() - 60_000);
    expect(src.stats()).toMatchObject({ frames: 4, readErrors: 0, pending: 0 });
  });

  it('passes on a zero-byte file only after it stayed empty far longer than settleSec; one that fills up is complete', async () => {
    const dir = await tempDir();
    const src = source({ dir, settleSec: 0.15 }); // empty files wait max(10 x settle, 2 s)
    const c = collect(src);
    await until(() => src.state === 'streaming', 'streaming');
    await writeFile(path.join(dir, 'empty.png'), '');
    await writeFile(path.join(dir, 'filling.png'), '');
    await new Promise((r) => setTimeout(r, 600));
    expect(c.frames).toHaveLength(0); // well past settleSec: an empty file may still be an upload starting
    await writeFile(path.join(dir, 'filling.png'), bytes('f'));
    await until(() => c.frames.length >= 2, 'both files');
    const byName = Object.fromEntries(c.frames.map((f) => [path.basename(f.origin ?? ''), f]));
    expect(byName['filling.png'].data.equals(bytes('f'))).toBe(true);
    expect(byName['empty.png'].data.length).toBe(0);
    expect(c.names()[0]).toBe('filling.png');
  });

  it('emits a file written slowly in chunks once, complete', async () => {
    const dir = await tempDir();
    // settleSec is well above the gaps between writes so a slow CI box cannot make the file look finished.
    const src = source({ dir, settleSec: 0.8 });
    const c = collect(src);
    await until(() => src.state === 'streaming', 'streaming');

    const file = path.join(dir, 'slow.png');
    const chunks = [Buffer.alloc(4096, 1), Buffer.alloc(4096, 2), Buffer.alloc(4096, 3)];
    await writeFile(file, chunks[0]);
    await sleep(150);
    await until(() => src.stats().pending === 1, 'the slow file to be pending');
    await appendFile(file, chunks[1]);
    await sleep(150);
    await appendFile(file, chunks[2]);
    await until(() => c.frames.length >= 1, 'the slow file');
    await writeFile(path.join(dir, 'zz-marker.png'), bytes('marker'));
    await until(() => c.frames.length >= 2, 'the marker');

    expect(c.names()).toEqual(['slow.png', 'zz-marker.png']);
    expect(c.frames[0].data.equals(Buffer.concat(chunks))).toBe(true);
  });

  it('ignores hidden and temp names; a file renamed into place is new', async () => {
    const dir = await tempDir();
    const src = source({ dir });
    const c = collect(src);
    await until(() => src.state === 'streaming', 'streaming');

    await writeFile(path.join(dir, 'upload.png.part'), bytes('upload'));
    await writeFile(path.join(dir, 'a.tmp'), bytes('tmp'));
    await writeFile(path.join(dir, 'b.png.filepart'), bytes('filepart'));
    await writeFile(path.join(dir, 'c.png~'), bytes('backup'));
    await writeFile(path.join(dir, '.hidden.png'), bytes('hidden'));
    await writeFile(path.join(dir, 'notes.txt'), 'not an image');
    await until(() => src.stats().pending === 0, 'nothing pending');
    await sleep(400); // a few settle/poll periods in which nothing may be emitted
    expect(c.frames).toHaveLength(0);

    await rename(path.join(dir, 'upload.png.part'), path.join(dir, 'upload.png'));
    await until(() => c.frames.length >= 1, 'the renamed file');
    await writeFile(path.join(dir, 'zz-marker.png'), bytes('marker'));
    await until(() => c.frames.length >= 2, 'the marker');

    expect(c.names()).toEqual(['upload.png', 'zz-marker.png']);
    expect(c.frames[0].data.equals(bytes('upload'))).toBe(true);
  });

  it('skips files already there at start unless processExisting', async () => {
    const dir = await tempDir();
    await writeFile(path.join(dir, 'old-1.png'), bytes('old-1'));
    await writeFile(path.join(dir, 'old-2.png'), bytes('old-2'));

    const skipping = source({ dir, processExisting: false });
    const c1 = collect(skipping);
    await until(() => skipping.state === 'streaming', 'streaming');
    await writeFile(path.join(dir, 'new-1.png'), bytes('new-1'));
    await until(() => c1.frames.length >= 1, 'the new file');
    await writeFile(path.join(dir, 'new-2.png'), bytes('new-2'));
    await until(() => c1.frames.length >= 2, 'the second new file');
    expect(c1.names()).toEqual(['new-1.png', 'new-2.png']);
    await skipping.close();

    const all = source({ dir, processExisting: true });
    const c2 = collect(all);
    await until(() => c2.frames.length >= 4, 'all four files');
    expect(c2.names()).toEqual(['new-1.png', 'new-2.png', 'old-1.png', 'old-2.png']);
  });

  it('forgets a file deleted before it settled', async () => {
    const dir = await tempDir();
    const src = source({ dir, settleSec: 1 });
    const c = collect(src);
    await until(() => src.state === 'streaming', 'streaming');

    await writeFile(path.join(dir, 'gone.png'), bytes('gone'));
    await until(() => src.stats().pending === 1, 'the file to be pending');
    await unlink(path.join(dir, 'gone.png'));
    await until(() => src.stats().pending === 0, 'the deleted file to be forgotten');
    await writeFile(path.join(dir, 'kept.png'), bytes('kept'));
    await until(() => c.frames.length >= 1, 'the kept file');
    expect(c.names()).toEqual(['kept.png']);
    expect(src.stats().readErrors).toBe(0);
  });

  it('queues names, not bytes: a queued file deleted before the pull is a read error, then it goes on', async () => {
    const dir = await tempDir();
    const { log, lines } = testLogger();
    const src = source({ dir }, log);
    const it = src.frames()[Symbol.asyncIterator]();
    await until(() => src.state === 'streaming', 'streaming');

    await writeFile(path.join(dir, 'a.png'), bytes('a'));
    await writeFile(path.join(dir, 'b.png'), bytes('b'));
    await until(() => src.stats().queued === 2, 'both files queued');
    await unlink(path.join(dir, 'a.png'));

    const r = await within(it.next(), 'the next frame');
    expect(r.done).toBe(false);
    expect(path.basename((r.value as Frame).origin ?? '')).toBe('b.png');
    expect(src.stats()).toMatchObject({ frames: 1, readErrors: 1 });
    const warning = lines.find((l) => l.level === 40 && l.msg.includes('a.png'));
    expect(warning?.msg).toMatch(/ENOENT/);
  });

  it('waits for a missing folder and starts when it appears', async () => {
    const parent = await tempDir();
    const dir = path.join(parent, 'later');
    const { log, lines } = testLogger();
    const src = source({ dir }, log);
    const c = collect(src);
    await until(() => src.state === 'reconnecting', 'reconnecting');
    const warning = lines.find((l) => l.level === 40);
    expect(warning?.msg).toContain(dir);
    expect(warning?.msg).toContain('create it or fix folder path');

    await mkdir(dir);
    await writeFile(path.join(dir, 'first.png'), bytes('first'));
    await until(() => c.frames.length >= 1, 'a frame from the new folder');
    expect(c.names()).toEqual(['first.png']);
    expect(src.state).toBe('streaming');
    // Warned once, not once per poll.
    expect(lines.filter((l) => l.level === 40)).toHaveLength(1);
  });

  it('close() ends a pending for-await promptly', async () => {
    const dir = await tempDir();
    const src = source({ dir, pollSec: 60 });
    const c = collect(src);
    await until(() => src.state === 'streaming', 'streaming');
    await sleep(50);
    expect(c.ended()).toBe(false);
    await src.close();
    await within(c.done, 'the iteration to end', 5_000);
    expect(c.ended()).toBe(true);
    expect(src.state).toBe('stopped');
  });
});

describe('FolderSource replay mode', () => {
  async function folderWith(names: string[]): Promise<string> {
    const dir = await tempDir();
    // Written out of order: replay sorts by name.
    for (const n of [...names].reverse()) await writeFile(path.join(dir, n), bytes(n));
    return dir;
  }

  it('emits the images in name order and ends when loop is false', async () => {
    const dir = await folderWith(['a.png', 'b.jpg', 'c.png']);
    await writeFile(path.join(dir, 'readme.txt'), 'not an image');
    await writeFile(path.join(dir, '.hidden.png'), bytes('hidden'));
    const src = source({ dir, mode: 'replay', loop: false, fps: 0 });
    const c = collect(src);
    await within(c.done, 'the replay to end');
    expect(c.names()).toEqual(['a.png', 'b.jpg', 'c.png']);
    expect(c.frames.map((f) => f.partId)).toEqual(['a', 'b', 'c']);
    expect(c.frames.map((f) => f.seq)).toEqual([1, 2, 3]);
    expect(c.frames[1].data.equals(bytes('b.jpg'))).toBe(true);
    expect(src.state).toBe('idle');
  });

  it('refuses a link to a file outside the folder (warned, counted) unless followLinksOutside; links inside are read', async () => {
    const outside = await tempDir();
    await writeFile(path.join(outside, 'secret.png'), bytes('secret'));
    const dir = await folderWith(['a.png']);
    await symlink(path.join(outside, 'secret.png'), path.join(dir, 'b-link-out.png'));
    await symlink(path.join(dir, 'a.png'), path.join(dir, 'c-link-in.png'));
    const { log, lines } = testLogger();
    const src = source({ dir, mode: 'replay', loop: false }, log);
    const c = collect(src);
    await within(c.done, 'the replay to end');
    expect(c.names()).toEqual(['a.png', 'c-link-in.png']);
    expect(src.stats()).toMatchObject({ refusedLinks: 1 });
    expect(
      lines.some((l) => l.level === 40 && /b-link-out\.png is a link to a file outside/.test(l.msg)),
    ).toBe(true);
    const allowed = collect(source({ dir, mode: 'replay', loop: false, followLinksOutside: true }));
    await within(allowed.done, 'the replay to end');
    expect(allowed.names()).toEqual(['a.png', 'b-link-out.png', 'c-link-in.png']);
    expect(allowed.frames[1].data.equals(bytes('secret'))).toBe(true);
  });

  it('loops when loop is true', async () => {
    const dir = await folderWith(['a.png', 'b.png']);
    const src = source({ dir, mode: 'replay', loop: true, fps: 0 });
    const it = src.frames()[Symbol.asyncIterator]();
    const names: string[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await within(it.next(), `frame ${i + 1}`);
      expect(r.done).toBe(false);
      names.push((r.value as Frame).partId ?? '');
    }
    expect(names).toEqual(['a', 'b', 'a', 'b', 'a']);
    await src.close();
    expect((await within(it.next(), 'the end')).done).toBe(true);
  });

  it('paces with fps without changing what is emitted', async () => {
    const dir = await folderWith(['a.png', 'b.png', 'c.png']);
    const src = source({ dir, mode: 'replay', loop: false, fps: 50 });
    const c = collect(src);
    await within(c.done, 'the replay to end');
    expect(c.names()).toEqual(['a.png', 'b.png', 'c.png']);
  });

  it('waits on an empty folder with one warning, then replays what appears', async () => {
    const dir = await tempDir();
    const { log, lines } = testLogger();
    const src = source({ dir, mode: 'replay', loop: false, pollSec: 0.05 }, log);
    const c = collect(src);
    await until(() => lines.some((l) => l.level === 40), 'the empty-folder warning');
    await sleep(300); // several polls
    expect(lines.filter((l) => l.level === 40)).toHaveLength(1);
    expect(lines.find((l) => l.level === 40)?.msg).toContain(dir);
    expect(c.frames).toHaveLength(0);

    await writeFile(path.join(dir, 'late.png'), bytes('late'));
    await within(c.done, 'the replay to end');
    expect(c.names()).toEqual(['late.png']);
  });

  it('close() ends a replay waiting on an empty folder', async () => {
    const dir = await tempDir();
    const src = source({ dir, mode: 'replay', loop: true, pollSec: 60 });
    const c = collect(src);
    await until(() => src.state === 'idle', 'idle');
    await src.close();
    await within(c.done, 'the iteration to end', 5_000);
    expect(src.state).toBe('stopped');
  });
});
