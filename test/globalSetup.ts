import { existsSync } from 'node:fs';
import { SHARED } from './helpers/paths.js';

export default function setup(): void {
  if (!existsSync(SHARED)) {
    throw new Error(`../shared is missing at ${SHARED}: the tests read real images and weights from it`);
  }
}
