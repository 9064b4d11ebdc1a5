import { InspectdError } from './errors.js';

export interface Components {
  /** Per pixel: 0 = background, 1..count = component. */
  labels: Int32Array;
  count: number;
  /** areas[k - 1] is the pixel count of component k. */
  areas: number[];
}

export interface ComponentBox {
  x: number;
  y: number;
  width: number;
  height: number;
  area: number;
}

/**
 * Connected components of the nonzero pixels of a row-major mask, labelled in raster order of
 * their first pixel. Flood fill with a flat Int32Array stack: no recursion, so a defect the size
 * of the image cannot overflow the call stack.
 */
export function labelComponents(
  mask: Uint8Array,
  width: number,
  height: number,
  connectivity: 4 | 8 = 8,
): Components {
  checkSize('labelComponents', mask.length, width, height);
  const n = width * height;
  const labels = new Int32Array(n);
  const areas: number[] = [];
  let stack: Int32Array | undefined;
  const diagonal = connectivity === 8;
  let count = 0;
  for (let start = 0; start < n; start++) {
    if (mask[start] === 0 || labels[start] !== 0) continue;
    stack ??= new Int32Array(n); // each pixel is pushed at most once (labelled on push)
    const label = ++count;
    let area = 0;
    let top = 0;
    labels[start] = label;
    stack[top++] = start;
    while (top > 0) {
      const p = stack[--top];
      area++;
      const y = (p / width) | 0;
      const x = p - y * width;
      const y0 = y > 0 ? y - 1 : y;
      const y1 = y < height - 1 ? y + 1 : y;
      const x0 = x > 0 ? x - 1 : x;
      const x1 = x < width - 1 ? x + 1 : x;
      for (let ny = y0; ny <= y1; ny++) {
        for (let nx = x0; nx <= x1; nx++) {
          if (!diagonal && nx !== x && ny !== y) continue;
          const q = ny * width + nx;
          if (mask[q] !== 0 && labels[q] === 0) {
            labels[q] = label;
            stack[top++] = q;
          }
        }
      }
    }
    areas.push(area);
  }
  return { labels, count, areas };
}

/** Label and stack buffers reused across calls: one map per frame must not cost two allocations. */
let scratch = { labels: new Uint8Array(0), stack: new Int32Array(0) };

/**
 * The 8-connected components of the values above `threshold`, each with its box, area and highest value, in
 * one flood-fill pass (the decision's regions, once per frame).
 */
export function regionsAbove(
  values: Float32Array,
  width: number,
  height: number,
  threshold: number,
): (ComponentBox & { peak: number })[] {
  checkSize('regionsAbove', values.length, width, height);
  const n = width * height;
  if (scratch.labels.length < n) scratch = { labels: new Uint8Array(n), stack: new Int32Array(n) };
  const { labels: seen, stack } = scratch;
  seen.fill(0, 0, n);
  const out: (ComponentBox & { peak: number })[] = [];
  for (let start = 0; start < n; start++) {
    if (!(values[start] > threshold) || seen[start]) continue;
    let top = 0;
    let area = 0;
    let peak = -Infinity;
    let x0 = width;
    let y0 = height;
    let x1 = -1;
    let y1 = -1;
    seen[start] = 1;
    stack[top++] = start;
    while (top > 0) {
      const p = stack[--top];
      area++;
      if (values[p] > peak) peak = values[p];
      const y = (p / width) | 0;
      const x = p - y * width;
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
      const ya = y > 0 ? y - 1 : y;
      const yb = y < height - 1 ? y + 1 : y;
      const xa = x > 0 ? x - 1 : x;
      const xb = x < width - 1 ? x + 1 : x;
      for (let ny = ya; ny <= yb; ny++) {
        for (let q = ny * width + xa, qe = ny * width + xb; q <= qe; q++) {
          if (!seen[q] && values[q] > threshold) {
            seen[q] = 1;
            stack[top++] = q;
          }
        }
      }
    }
    out.push({ x: x0, y: y0, width: x1 - x0 + 1, height: y1 - y0 + 1, area, peak });
  }
  return out;
}

/** Bounding box and area of each component; result[k - 1] describes component k. */
export function componentBoxes(
  labels: Int32Array,
  width: number,
  height: number,
  count: number,
): ComponentBox[] {
  checkSize('componentBoxes', labels.length, width, height);
  const minX = new Int32Array(count).fill(width);
  const minY = new Int32Array(count).fill(height);
  const maxX = new Int32Array(count).fill(-1);
  const maxY = new Int32Array(count).fill(-1);
  const area = new Float64Array(count);
  for (let y = 0, p = 0; y < height; y++) {
    for (let x = 0; x < width; x++, p++) {
      const k = labels[p] - 1;
      if (k < 0) continue;
      if (k >= count) {
        throw new InspectdError(`componentBoxes: label ${k + 1} exceeds count ${count}`, {
          subject: 'labels',
          value: k + 1,
          fix: 'pass the count returned by labelComponents with its labels',
        });
      }
      if (x < minX[k]) minX[k] = x;
      if (x > maxX[k]) maxX[k] = x;
      if (y < minY[k]) minY[k] = y;
      if (y > maxY[k]) maxY[k] = y;
      area[k]++;
    }
  }
  const boxes: ComponentBox[] = [];
  for (let k = 0; k < count; k++) {
    boxes.push(
      area[k] === 0
        ? { x: 0, y: 0, width: 0, height: 0, area: 0 }
        : {
            x: minX[k],
            y: minY[k],
            width: maxX[k] - minX[k] + 1,
            height: maxY[k] - minY[k] + 1,
            area: area[k],
          },
    );
  }
  return boxes;
}

export function checkSize(what: string, length: number, width: number, height: number): void {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new InspectdError(`${what}: size ${width}x${height} is not a positive integer size`, {
      subject: 'size',
      value: { width, height },
      fix: 'pass the width and height of the map in pixels',
    });
  }
  if (length !== width * height) {
    throw new InspectdError(`${what}: ${length} pixels do not make a ${width}x${height} image`, {
      subject: 'size',
      value: { length, width, height },
      fix: 'pass row-major arrays of width * height values',
    });
  }
}
