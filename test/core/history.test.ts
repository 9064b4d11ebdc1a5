import { describe, expect, it } from 'vitest';
import { MemoryHistory } from '../../src/core/history.js';
import { testVerdict } from '../helpers/line.js';

describe('verdict history', () => {
  it('keeps the newest verdicts per camera, finds by id, filters and pages newest first across cameras', () => {
    const h = new MemoryHistory(3);
    const a = [1, 2, 3, 4].map((i) => testVerdict(i % 2 === 0, { cameraId: 'a', decidedAt: i * 10 }));
    const b = [1, 2].map((i) => testVerdict(false, { cameraId: 'b', decidedAt: i * 10 + 5, partId: 'P' }));
    for (const v of [a[0], b[0], a[1], b[1], a[2], a[3]]) h.append(v);
    // Camera a's oldest went; camera b keeps both: the bound is per camera.
    expect(h.get(a[0].resultId)).toBeUndefined();
    expect(h.get(b[0].resultId)).toBe(b[0]);
    expect(h.query({ camera: 'a' }).verdicts).toEqual([a[3], a[2], a[1]]);
    expect(h.query({}).verdicts).toEqual([a[3], a[2], b[1], a[1], b[0]]);
    expect(h.query({ ok: false }).total).toBe(3);
    expect(h.query({ partId: 'P' }).verdicts).toEqual([b[1], b[0]]);
    expect(h.query({}, 1, 2)).toEqual({ verdicts: [a[2], b[1]], total: 5 });
    expect(h.query({ camera: 'nope' })).toEqual({ verdicts: [], total: 0 });
  });
});
