import { existsSync } from 'node:fs';
import { mkdir, readdir, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import type { Logger } from 'pino';
import { Tally } from '../../core/eventWindow.js';
import { boxesSvg, heatLayer, type Box, type Pixels } from '../../core/heatmap.js';
import { InspectdError, messageOf } from '../../core/errors.js';
import type { Journal } from '../../core/history.js';
import { ARCHIVE_SUFFIX, archiveBase, resultIdOfBase } from '../../core/review.js';
import type { Infer } from '../../core/settings.js';
import type { Verdict } from '../../core/verdict.js';
import type { Sink, SinkContext, SinkHealth, VerdictArtifacts } from '../types.js';
import { Throttle } from '../../log/logger.js';
import type { archiveSettings } from './settings.js';

export type ArchiveSettings = Infer<typeof archiveSettings>;

interface Entry {
  base: string;
  bytes: number;
}

const SUFFIXES = Object.values(ARCHIVE_SUFFIX);
/** Write failures within this window make the archive report itself degraded. */
const FAILURE_WINDOW_SEC = 60;

/**
 * The map and region boxes over the frame at the frame's size, as PNG. Stretching, blending and drawing run in
 * libvips' threads: a 5-megapixel frame must not hold the daemon's event loop for the archive.
 */
async function heatmapPng(
  pic: Pixels,
  map: { data: Float32Array; width: number; height: number },
  lo: number,
  hi: number,
  boxes: readonly Box[],
): Promise<Buffer> {
  const { width, height, channels } = pic;
  const layer = await sharp(heatLayer(map, lo, hi), {
    raw: { width: map.width, height: map.height, channels: 4 },
  })
    .resize(width, height, { fit: 'fill', kernel: 'linear' })
    .raw()
    .toBuffer();
  const rgb =
    channels === 3
      ? pic.data
      : await sharp(pic.data, { raw: { width, height, channels } }).toColourspace('srgb').raw().toBuffer();
  return sharp(rgb, { raw: { width, height, channels: 3 } })
    .composite([
      { input: layer, raw: { width, height, channels: 4 } },
      { input: Buffer.from(boxesSvg(boxes, width, height, map.width, map.height)) },
    ])
    .removeAlpha()
    .png({ compressionLevel: 2 })
    .toBuffer();
}

const isNoSpace = (e: unknown): boolean =>
  ['ENOSPC', 'EDQUOT'].includes((e as NodeJS.ErrnoException).code ?? '');

async function writeAll(base: string, files: [string, Buffer][]): Promise<void> {
  await mkdir(path.dirname(base), { recursive: true });
  for (const [suffix, data] of files) await writeFile(`${base}${suffix}`, data);
}

/** Removes a frame's files, and its day folder once that is empty. */
async function removeFrame(base: string): Promise<void> {
  await Promise.all(SUFFIXES.map((x) => rm(`${base}${x}`, { force: true })));
  await rmdir(path.dirname(base)).catch(() => undefined);
}
/** Frames waiting for the disk, at most: by count, and by the bytes of their pictures (large camera frames). */
const MAX_PENDING = 16;
const MAX_PENDING_BYTES = 32 * 2 ** 20;

/**
 * Keeps NG frames (and a sample of OK ones) on disk: `<dir>/<camera>/<date>/<time>_<resultId>` + `.png`
 * (the camera's frame at its own size, or with `image: model` the recipe's input), `.heatmap.png` (map and
 * region boxes over it), `.json` (the verdict). Retention by count and
 * bytes, oldest first, passing over the frames of verdicts an operator marked (the next fit's images). Writes
 * happen off the pipeline; when the disk cannot keep up, frames are skipped and counted rather than piling up
 * in memory.
 */
export class ArchiveSink implements Sink {
  readonly name = 'archive';
  private readonly entries: Entry[] = [];
  private bytes = 0;
  private pending = 0;
  private pendingBytes = 0;
  private chain: Promise<void> = Promise.resolve();
  private written = 0;
  private skipped = 0;
  private failed = 0;
  private readonly failures = new Tally(FAILURE_WINDOW_SEC);
  private lastError = '';
  private readonly throttle: Throttle;
  private readonly s: ArchiveSettings;
  private readonly log: Logger;
  private readonly journal: Journal;

  constructor(ctx: SinkContext<ArchiveSettings>) {
    this.journal = ctx.journal;
    // Relative to where the daemon started, resolved once: a later chdir must not move the archive.
    this.s = { ...ctx.settings, dir: path.resolve(ctx.settings.dir) };
    this.log = ctx.log;
    this.throttle = new Throttle(this.log);
  }

  async start(): Promise<void> {
    await mkdir(this.s.dir, { recursive: true }).catch((e: unknown) => {
      throw new InspectdError(`archive folder ${this.s.dir} cannot be created: ${messageOf(e)}`, {
        subject: 'archive.dir',
        value: this.s.dir,
        fix: 'set archive.dir to a folder inspectd may write (or "" for no archive)',
      });
    });
    await this.index();
    await this.enforce();
    this.log.info(
      { dir: this.s.dir, files: this.entries.length, bytes: this.bytes },
      `archive ${this.s.dir}: ${this.entries.length} frames kept`,
    );
  }

  /** A disk problem loses pictures, never verdicts: degraded while writes fail, with how many and why. */
  health(): SinkHealth {
    const n = this.failures.sum(Date.now());
    return n === 0
      ? { ready: true }
      : {
          ready: false,
          reason: `archive: ${n} frames not archived in the last ${FAILURE_WINDOW_SEC} s (${this.lastError}); verdicts are not affected`,
        };
  }

  stats(): Record<string, number> {
    return {
      written: this.written,
      skipped: this.skipped,
      failed: this.failed,
      pending: this.pending,
      files: this.entries.length,
      bytes: this.bytes,
    };
  }

  publish(v: Verdict, a: VerdictArtifacts): void {
    if (v.ok && !(Math.random() < this.s.okSampleRate)) return;
    const pic = this.s.image === 'camera' && a.camera ? a.camera : a.image;
    const bytes = pic.data.length;
    if (this.pending >= MAX_PENDING || (this.pending > 0 && this.pendingBytes + bytes > MAX_PENDING_BYTES)) {
      this.skipped++;
      this.throttle.warn(
        'busy',
        { resultId: v.resultId, skipped: this.skipped },
        `archive cannot keep up: frame ${v.resultId} not archived (${this.skipped} so far)`,
      );
      return;
    }
    this.pending++;
    this.pendingBytes += bytes;
    this.chain = this.chain
      .then(() => this.write(v, a, pic))
      .catch((e: unknown) => {
        this.failed++;
        this.failures.add(Date.now());
        this.lastError = messageOf(e);
        this.throttle.warn(
          'write',
          { resultId: v.resultId, err: messageOf(e), failed: this.failed },
          `archive: cannot write ${v.resultId}: ${messageOf(e)}`,
        );
      })
      .finally(() => {
        this.pending--;
        this.pendingBytes -= bytes;
      });
  }

  /** `pic`: what is kept of the frame, the camera's (when the pipeline gave it) or the model's input. */
  private async write(v: Verdict, a: VerdictArtifacts, pic: Pixels): Promise<void> {
    const base = archiveBase(this.s.dir, v);
    const { width, height, channels } = pic;
    const { lo, hi } = v.heatScale;
    const map = { data: a.map, width: a.mapWidth, height: a.mapHeight };
    // sharp writes sRGB unless told: a gray frame stays one channel (a third of the bytes).
    const image = await sharp(pic.data, { raw: { width, height, channels } })
      .toColourspace(channels === 1 ? 'b-w' : 'srgb')
      .png({ compressionLevel: 2 })
      .toBuffer();
    const heat = await heatmapPng(pic, map, lo, hi, v.regions);
    const json = Buffer.from(JSON.stringify(v, null, 2));
    const files: [string, Buffer][] = [
      ['.png', image],
      ['.heatmap.png', heat],
      // Last: a frame whose .json is there is complete (an index at start removes the rest).
      ['.json', json],
    ];
    try {
      await writeAll(base, files);
    } catch (e) {
      await removeFrame(base);
      if (!isNoSpace(e) || !this.entries.length) throw e;
      // A full disk keeps the newest frames: make room from the oldest, then try once more.
      const need = image.length + heat.length + json.length;
      let freed = 0;
      while (freed < 4 * need || freed < this.bytes * 0.02) {
        const n = await this.dropOldest();
        if (n === 0) break; // only marked frames left
        freed += n;
      }
      await writeAll(base, files).catch(async (again: unknown) => {
        await removeFrame(base);
        throw again;
      });
    }
    this.entries.push({ base, bytes: image.length + heat.length + json.length });
    this.bytes += image.length + heat.length + json.length;
    this.written++;
    await this.enforce();
  }

  /** Drops the oldest frames until both limits hold, or only marked ones are left. */
  private async enforce(): Promise<void> {
    while (this.entries.length > this.s.maxFiles || this.bytes > this.s.maxBytes)
      if ((await this.dropOldest()) === 0) return;
  }

  /** Removes the oldest frame no operator marked; returns the bytes it freed (0: none to remove). */
  private async dropOldest(): Promise<number> {
    const i = this.entries.findIndex((e) => !this.marked(e));
    if (i < 0) return 0;
    const [old] = this.entries.splice(i, 1);
    this.bytes -= old.bytes;
    await removeFrame(old.base);
    // A frame of no bytes (its files already gone) still counts as removed.
    return Math.max(old.bytes, 1);
  }

  /** A journal that cannot answer must not stop retention (a full disk is when it runs): unmarked then. */
  private marked(e: Entry): boolean {
    const id = resultIdOfBase(e.base);
    try {
      return this.journal.marks([id]).has(id);
    } catch {
      return false;
    }
  }

  /** Finds what earlier runs archived, oldest first (names sort by day, then time). */
  private async index(): Promise<void> {
    const found: Entry[] = [];
    const walk = async (dir: string): Promise<void> => {
      for (const d of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
        const p = path.join(dir, d.name);
        if (d.isDirectory()) await walk(p);
        else if (d.name.endsWith('.json')) {
          const base = p.slice(0, -'.json'.length);
          let bytes = 0;
          for (const x of SUFFIXES) bytes += (await stat(`${base}${x}`).catch(() => ({ size: 0 }))).size;
          found.push({ base, bytes });
        } else if (!existsSync(`${p.replace(/(\.heatmap)?\.png$/, '')}.json`)) {
          // A frame cut short (a crash or a full disk while writing): nothing refers to it.
          await rm(p, { force: true });
          removed++;
        }
      }
    };
    let removed = 0;
    await walk(this.s.dir);
    if (removed) this.log.info({ removed }, `archive: ${removed} files of frames cut short removed`);
    const key = (e: Entry): string => `${path.basename(path.dirname(e.base))}/${path.basename(e.base)}`;
    found.sort((a, b) => (key(a) < key(b) ? -1 : 1));
    this.entries.push(...found);
    this.bytes = found.reduce((t, e) => t + e.bytes, 0);
  }

  async stop(): Promise<void> {
    await this.chain;
  }
}
