import { watch, type FSWatcher, type Stats } from 'node:fs';
import { lstat, readFile, readdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { messageOf } from '../../core/errors.js';
import type { Frame, SourceContext } from '../../core/frame.js';
import { isImageFile, listImages } from '../../preprocess/imageFiles.js';
import { SourceBase } from '../sourceBase.js';
import type { FolderOptions } from './settings.js';

/** Names uploaders and editors use while a file is still being written. */
const TEMP_NAME = /(\.part|\.tmp|\.filepart|~)$/i;

/** An image name worth looking at: not hidden, not a temp name, an image extension. */
const isCandidate = (name: string): boolean =>
  !name.startsWith('.') && !TEMP_NAME.test(name) && isImageFile(name);

const codeOf = (e: unknown): string | undefined => (e as NodeJS.ErrnoException | undefined)?.code;

const FOLDER_FIX = 'create it or fix folder path';

interface Pending {
  size: number;
  mtimeMs: number;
  /** When these size and mtime were first seen. */
  since: number;
}

/**
 * Frames from image files in a folder: either files dropped there by an FTP upload or another program
 * (`watch`), or the folder's images played back in name order (`replay`). Frames are `encoded`: the file's
 * bytes, decoded (and rejected when corrupt) downstream. Only file names are queued; a file is read when
 * the consumer pulls its frame.
 */
export class FolderSource extends SourceBase<FolderOptions> {
  readonly kind = 'folder';

  private readonly dir: string;
  private readonly settleMs: number;
  /** How long a zero-byte file must stay empty before it counts as complete (and bad). */
  private readonly emptySettleMs: number;
  private readonly pollMs: number;

  private seq = 0;
  private readErrors = 0;
  private refusedLinks = 0;

  // watch mode
  private watcher: FSWatcher | undefined;
  private watchedIno: number | undefined;
  private watchWarned = false;
  private pollTimer: NodeJS.Timeout | undefined;
  private settleTimer: NodeJS.Timeout | undefined;
  /** Seen, not yet settled. */
  private readonly pending = new Map<string, Pending>();
  /** Settled (emitted or queued) or there at start and skipped: name -> last mtime seen (NaN: never stat'ed). */
  private readonly done = new Map<string, number>();
  /** Settled, waiting for the consumer: name -> mtime at settling, in settling order. */
  private readonly queue = new Map<string, number>();
  /** Names to stat on the next pass of the scan loop. */
  private readonly dirty = new Set<string>();
  private rescanRequested = false;
  private scanning = false;
  private firstListing = true;
  /** The folder did not exist at start: whatever is in it when it appears arrived after the start. */
  private absentAtStart = false;

  // replay mode
  private readonly replayWarned = new Set<string>();

  constructor(ctx: SourceContext<FolderOptions>) {
    // Only names are queued, and a file is read when its frame is pulled: one frame in the mailbox.
    super(ctx, { name: `folder source ${ctx.id}`, capacity: 1, policy: 'wait' });
    this.dir = path.resolve(ctx.options.dir);
    this.settleMs = Math.max(0, ctx.options.settleSec * 1000);
    this.emptySettleMs = Math.max(10 * this.settleMs, 2000);
    this.pollMs = Math.max(10, ctx.options.pollSec * 1000);
  }

  protected produce(): Promise<void> {
    return this.options.mode === 'watch' ? this.watchFiles() : this.replayFiles();
  }

  protected override release(): void {
    if (this.pollTimer) clearInterval(this.pollTimer);
    if (this.settleTimer) clearTimeout(this.settleTimer);
    this.pollTimer = this.settleTimer = undefined;
    this.closeWatcher();
  }

  protected override ownStats(): Record<string, number> {
    return {
      readErrors: this.readErrors,
      refusedLinks: this.refusedLinks,
      pending: this.pending.size,
      queued: this.queue.size,
    };
  }

  // ---------------------------------------------------------------- shared

  /** The file's bytes, or undefined (warned, counted) when it cannot be read. */
  private async readBytes(name: string, warnOnce: boolean): Promise<Buffer | undefined> {
    const file = path.join(this.dir, name);
    try {
      if (!this.options.followLinksOutside && !(await this.inside(file))) {
        this.refusedLinks++;
        if (!warnOnce || !this.replayWarned.has(name)) {
          if (warnOnce) this.replayWarned.add(name);
          this.log.warn(
            { file, target: await realpath(file).catch(() => '?') },
            `folder source ${this.id}: ${name} is a link to a file outside ${this.dir}; not read (source.followLinksOutside: true allows it)`,
          );
        }
        return undefined;
      }
      return await readFile(file);
    } catch (e) {
      this.readErrors++;
      const reason = messageOf(e);
      if (warnOnce && this.replayWarned.has(name)) {
        this.log.debug({ file, err: reason }, `folder source ${this.id}: cannot read ${name} again; skipped`);
      } else {
        if (warnOnce) this.replayWarned.add(name);
        this.log.warn(
          { file, err: reason },
          `folder source ${this.id}: cannot read ${name}: ${reason}; skipped`,
        );
      }
      return undefined;
    }
  }

  /** Whether the file, links resolved, is in the folder (the folder's own path resolved too). */
  private async inside(file: string): Promise<boolean> {
    if (!(await lstat(file)).isSymbolicLink()) return true;
    const [dir, target] = await Promise.all([realpath(this.dir), realpath(file)]);
    return path.dirname(target) === dir;
  }

  private frameOf(name: string, data: Buffer, timestamp: number): Frame {
    return {
      cameraId: this.id,
      seq: ++this.seq,
      timestamp,
      width: 0,
      height: 0,
      pixelFormat: 'encoded',
      data,
      partId: path.parse(name).name,
      origin: path.join(this.dir, name),
    };
  }

  /** Logs that the folder cannot be listed, once per outage, and moves to 'reconnecting'. */
  private folderUnavailable(e: unknown): void {
    if (this.state === 'reconnecting' || this.closed) return;
    this.state = 'reconnecting';
    const code = codeOf(e);
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      this.log.warn(
        { dir: this.dir, fix: FOLDER_FIX },
        `folder source ${this.id}: folder ${this.dir} does not exist; checking again every ${this.pollMs} ms (${FOLDER_FIX})`,
      );
    } else {
      this.log.warn(
        { dir: this.dir, err: messageOf(e), fix: FOLDER_FIX },
        `folder source ${this.id}: folder ${this.dir} cannot be read: ${messageOf(e)}; ` +
          `checking again every ${this.pollMs} ms (${FOLDER_FIX}, or check its permissions)`,
      );
    }
  }

  private folderAvailable(): void {
    if (this.state === 'reconnecting') {
      this.log.info({ dir: this.dir }, `folder source ${this.id}: folder ${this.dir} is there now`);
    }
  }

  // ---------------------------------------------------------------- replay

  private async replayFiles(): Promise<void> {
    const interval = this.options.fps > 0 ? 1000 / this.options.fps : 0;
    let due = 0;
    let emptyWarned = false;
    while (!this.closed) {
      let files: string[];
      try {
        files = (await listImages(this.dir, 'replay folder'))
          .map((f) => path.basename(f))
          .filter((n) => !n.startsWith('.'));
      } catch (e) {
        // listImages wraps the cause; a stat tells a missing folder from an unreadable one.
        this.folderUnavailable(
          await stat(this.dir).then(
            () => e,
            (statError: unknown) => statError,
          ),
        );
        await this.sleep(this.pollMs);
        continue;
      }
      this.folderAvailable();
      if (files.length === 0) {
        if (!emptyWarned) {
          this.log.warn(
            { dir: this.dir },
            `folder source ${this.id}: no images in ${this.dir} to replay; checking again every ${this.pollMs} ms`,
          );
          emptyWarned = true;
        }
        this.state = 'idle';
        await this.sleep(this.pollMs);
        continue;
      }
      emptyWarned = false;
      this.state = 'streaming';
      for (const n of this.replayWarned) if (!files.includes(n)) this.replayWarned.delete(n);

      let emitted = 0;
      for (const name of files) {
        await this.pulled();
        if (this.closed) return;
        const data = await this.readBytes(name, true);
        if (!data) continue;
        if (interval > 0) {
          const wait = due - Date.now();
          if (wait > 0) await this.sleep(wait);
        }
        if (this.closed) return;
        const now = Date.now();
        // Keep a steady schedule; when the consumer fell behind by more than a frame, start it afresh.
        due = (now - due > interval ? now : due) + interval;
        emitted++;
        await this.offer(this.frameOf(name, data, now));
      }
      if (!this.options.loop) {
        this.state = 'idle';
        return;
      }
      if (emitted === 0 && !this.closed) {
        // Every file failed to read: don't spin through them.
        await this.sleep(this.pollMs);
      }
    }
  }

  // ---------------------------------------------------------------- watch

  private async watchFiles(): Promise<void> {
    // Runs from frames() on: "already there at start" means there when the pipeline asked.
    this.startWatching();
    while (!this.closed) {
      await this.pulled();
      const next = this.queue.entries().next();
      if (next.done) {
        await this.sleep();
        continue;
      }
      const [name, mtimeMs] = next.value;
      this.queue.delete(name);
      const data = await this.readBytes(name, false);
      if (!data || this.closed) continue;
      await this.offer(this.frameOf(name, data, Math.floor(mtimeMs)));
    }
  }

  private startWatching(): void {
    this.pollTimer = setInterval(() => {
      this.rescanRequested = true;
      this.kick();
    }, this.pollMs);
    this.rescanRequested = true;
    this.kick();
  }

  /** Runs the scan loop unless it is running (it then picks up the new work itself). */
  private kick(): void {
    if (this.scanning || this.closed) return;
    this.scanning = true;
    void this.scanLoop();
  }

  /** One loop at a time does all listing and stat'ing, so their results never interleave. */
  private async scanLoop(): Promise<void> {
    try {
      while (!this.closed && (this.rescanRequested || this.dirty.size > 0)) {
        if (this.rescanRequested) {
          this.rescanRequested = false;
          await this.rescan();
        }
        const names = [...this.dirty].sort();
        this.dirty.clear();
        // One reference time for the pass: files seen in the same order settle in that order.
        const passStart = Date.now();
        for (const name of names) {
          if (this.closed) break;
          await this.check(name, passStart);
        }
      }
    } catch (e) {
      this.log.error({ err: e, dir: this.dir }, `folder source ${this.id}: scan failed: ${messageOf(e)}`);
    } finally {
      this.scanning = false;
    }
    this.scheduleSettle();
  }

  private async rescan(): Promise<void> {
    let entries;
    try {
      entries = await readdir(this.dir, { withFileTypes: true });
    } catch (e) {
      if (this.firstListing && (codeOf(e) === 'ENOENT' || codeOf(e) === 'ENOTDIR')) this.absentAtStart = true;
      this.closeWatcher();
      this.folderUnavailable(e);
      return;
    }
    if (this.closed) return;
    await this.ensureWatcher();
    if (this.closed) return;

    const names = new Set<string>();
    for (const d of entries) {
      if ((d.isFile() || d.isSymbolicLink()) && isCandidate(d.name)) names.add(d.name);
    }
    if (this.firstListing) {
      this.firstListing = false;
      const skip = !this.options.processExisting && !this.absentAtStart;
      if (skip) for (const n of names) this.done.set(n, NaN);
      this.log.info(
        { dir: this.dir, existing: names.size },
        `folder source ${this.id}: watching ${this.dir}` +
          (names.size === 0
            ? ''
            : `; ${names.size} image(s) already there ${skip ? 'skipped' : 'will be emitted'}`),
      );
    }
    this.folderAvailable();
    this.state = 'streaming';

    // Forget what is gone, so memory follows the folder's contents.
    for (const n of this.done.keys()) if (!names.has(n) && !this.queue.has(n)) this.done.delete(n);
    for (const n of this.pending.keys()) if (!names.has(n)) this.pending.delete(n);
    for (const n of names) if (!this.done.has(n)) this.dirty.add(n);
  }

  /** (Re)creates the fs.watch watcher when there is none or the folder was replaced. */
  private async ensureWatcher(): Promise<void> {
    let ino: number;
    try {
      ino = (await stat(this.dir)).ino;
    } catch {
      return;
    }
    if (this.closed || (this.watcher && this.watchedIno === ino)) return;
    this.closeWatcher();
    try {
      const w = watch(this.dir, { persistent: true }, (_event, filename) => this.onEvent(filename));
      w.on('error', (e) => {
        this.log.debug({ dir: this.dir, err: messageOf(e) }, `folder source ${this.id}: fs.watch error`);
        if (this.watcher === w) this.closeWatcher();
        this.rescanRequested = true;
        this.kick();
      });
      this.watcher = w;
      this.watchedIno = ino;
    } catch (e) {
      if (!this.watchWarned) {
        this.watchWarned = true;
        this.log.warn(
          { dir: this.dir, err: messageOf(e) },
          `folder source ${this.id}: cannot watch ${this.dir} (${messageOf(e)}); ` +
            `new files are found by rescanning every ${this.pollMs} ms`,
        );
      }
    }
  }

  private closeWatcher(): void {
    this.watcher?.close();
    this.watcher = this.watchedIno = undefined;
  }

  private onEvent(filename: string | Buffer | null): void {
    if (this.closed) return;
    if (filename === null) this.rescanRequested = true;
    else {
      const name = filename.toString();
      if (!isCandidate(name)) return;
      this.dirty.add(name);
    }
    this.kick();
  }

  /**
   * Stats one name and moves it along: new -> pending -> (stable for settleMs) queued. `passStart` is taken
   * before the stat, so "unchanged for settleMs" is never judged on a stat older than it looks.
   */
  private async check(name: string, passStart: number): Promise<void> {
    let st: Stats;
    try {
      st = await stat(path.join(this.dir, name));
    } catch (e) {
      const code = codeOf(e);
      if (code === 'ENOENT' || code === 'ENOTDIR') {
        // Deleted (or renamed away): forget it; a file by that name later is a new file.
        this.pending.delete(name);
        if (!this.queue.has(name)) this.done.delete(name);
      } else {
        this.log.debug({ file: name, err: messageOf(e) }, `folder source ${this.id}: cannot stat ${name}`);
      }
      return;
    }
    if (this.closed) return;

    if (this.done.has(name)) {
      if (this.done.get(name) !== st.mtimeMs) {
        this.done.set(name, st.mtimeMs);
        this.log.debug(
          { file: name },
          `folder source ${this.id}: ${name} changed after it was emitted (or skipped at start); not emitted again`,
        );
      }
      return;
    }
    if (!st.isFile()) {
      this.pending.delete(name);
      return;
    }
    const p = this.pending.get(name);
    if (!p || p.size !== st.size || p.mtimeMs !== st.mtimeMs) {
      this.pending.set(name, { size: st.size, mtimeMs: st.mtimeMs, since: Date.now() });
      return;
    }
    // An empty file may be an upload that has not begun writing: it must stay empty far longer before it is
    // passed on (downstream reports it as an empty image, by name, and counts it).
    const settle = st.size > 0 ? this.settleMs : this.emptySettleMs;
    if (passStart - p.since >= settle) {
      this.pending.delete(name);
      this.done.set(name, st.mtimeMs);
      this.queue.set(name, st.mtimeMs);
      this.wake();
    }
  }

  /** Rechecks the pending files when the earliest of them may have settled. */
  private scheduleSettle(): void {
    if (this.closed || this.settleTimer) return;
    let due = Infinity;
    for (const p of this.pending.values())
      due = Math.min(due, p.since + (p.size > 0 ? this.settleMs : this.emptySettleMs));
    if (due === Infinity) return;
    this.settleTimer = setTimeout(
      () => {
        this.settleTimer = undefined;
        for (const n of this.pending.keys()) this.dirty.add(n);
        this.kick();
      },
      Math.max(10, due - Date.now() + 5),
    );
  }
}
