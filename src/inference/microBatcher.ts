/** What the batcher batches: requests of one shape can share a run. */
export interface Batchable {
  /** Requests with equal keys can go in one run (e.g. the frame's height x width x channels). */
  key: string;
}

export interface BatcherSettings {
  /** At most this many requests per run; 1 = every request runs alone. */
  maxBatch: number;
  /** How long a run may wait for more requests to fill it, in ms (0: it never waits). */
  maxWaitMs: number;
}

interface Pending<T, R> {
  item: T;
  resolve(r: R): void;
  reject(e: unknown): void;
}

/**
 * Forms batches across the callers of one model (the cameras on one recipe). One run is in flight at a time;
 * requests arriving meanwhile queue, and when it ends the next run takes up to `maxBatch` of them, so under
 * load batches form by themselves and nobody waits for a timer. A request that finds the model idle runs at
 * once unless other callers could still join it: each caller has at most one request in flight (a camera
 * awaits its verdict), so with `callers` requests queued nobody else can come, and the run starts; otherwise
 * it waits at most `maxWaitMs` for them. `run` gets requests of one key and returns one result per request,
 * in order; if it throws, each of its requests is rejected with that error.
 */
export class MicroBatcher<T extends Batchable, R> {
  private readonly queue: Pending<T, R>[] = [];
  private running = false;
  private timer?: NodeJS.Timeout;
  /** Callers that may have a request in flight (0 is taken as 1). */
  callers = 0;
  /** Runs made and requests served, for the batch-size metric. */
  runs = 0;
  served = 0;

  constructor(
    private readonly s: BatcherSettings,
    private readonly run: (items: T[]) => Promise<R[]>,
  ) {}

  get maxBatch(): number {
    return this.s.maxBatch;
  }

  submit(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.running || this.queue.length === 0) return;
    const full = this.queue.length >= Math.min(this.s.maxBatch, Math.max(1, this.callers));
    if (full || this.s.maxBatch <= 1 || this.s.maxWaitMs <= 0) {
      clearTimeout(this.timer);
      this.timer = undefined;
      void this.flush();
    } else {
      this.timer ??= setTimeout(() => {
        this.timer = undefined;
        void this.flush();
      }, this.s.maxWaitMs);
    }
  }

  /** Runs the oldest request with every queued one of its key, up to maxBatch. */
  private async flush(): Promise<void> {
    if (this.running || this.queue.length === 0) return;
    this.running = true;
    const key = this.queue[0].item.key;
    const batch: Pending<T, R>[] = [];
    for (let i = 0; i < this.queue.length && batch.length < this.s.maxBatch;) {
      if (this.queue[i].item.key === key) batch.push(...this.queue.splice(i, 1));
      else i++;
    }
    try {
      const results = await this.run(batch.map((p) => p.item));
      if (results.length !== batch.length)
        throw new Error(`a batch of ${batch.length} gave ${results.length} results`);
      this.runs++;
      this.served += batch.length;
      batch.forEach((p, i) => p.resolve(results[i]));
    } catch (e) {
      for (const p of batch) p.reject(e);
    } finally {
      this.running = false;
      // What queued during the run goes now: the queue is the batch, no timer.
      if (this.queue.length) void this.flush();
    }
  }
}
