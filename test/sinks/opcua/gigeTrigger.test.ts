/**
 * The trigger handshake with a GigE Vision camera in software-trigger mode (Aravis's fake camera on 127.0.0.1,
 * under the cross-file lock): each PLC Trigger makes the daemon trigger the camera once, and the one frame it
 * delivers is the result.
 */
import { AttributeIds, DataType, StatusCodes } from 'node-opcua';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Daemon } from '../../../src/app/daemon.js';
import { startAravisFakeCamera, type RunningFakeCamera } from '../../helpers/fakeCamera.js';
import { acquireFakeCameraLock } from '../../helpers/fakeCameraLock.js';
import { waitFor } from '../../helpers/peers.js';
import { connect, readValue, startDaemon } from './helpers.js';

let releaseLock: (() => void) | undefined;
let cam: RunningFakeCamera | undefined;
let d: { daemon: Daemon; endpoint: string } | undefined;
let c: Awaited<ReturnType<typeof connect>> | undefined;

beforeAll(async () => {
  releaseLock = await acquireFakeCameraLock();
  cam = await startAravisFakeCamera({ ip: '127.0.0.1', serial: 'OPCUATRIG1' });
  d = await startDaemon(
    { securityModes: ['None'], allowAnonymous: true, initialMode: 'triggered' },
    {
      source: {
        type: 'gige',
        address: '127.0.0.1',
        width: 160,
        height: 120,
        pixelFormat: 'Mono8',
        trigger: 'software',
      },
      queue: { size: 2, policy: 'drop-oldest' },
    },
  );
  c = await connect(d.endpoint);
});
afterAll(async () => {
  await c?.close();
  await d?.daemon.stop();
  await cam?.stop();
  releaseLock?.();
});

describe('trigger handshake with a software-triggered GigE camera', () => {
  it('one PLC Trigger = one camera trigger = one frame = one result with the PLC part id', async () => {
    const session = c!.session;
    const p = d!.daemon.pipelines[0];
    await waitFor(() => p.source.state === 'streaming', 'the camera streaming', 30_000);
    const tag = (name: string) => readValue(session, `ns=1;s=cam1.${name}`);
    const write = (name: string, dataType: DataType, value: unknown) =>
      session.write({
        nodeId: `ns=1;s=cam1.${name}`,
        attributeId: AttributeIds.Value,
        value: { value: { dataType, value } },
      });
    expect(await tag('State')).toBe('Operational/Ready');
    await new Promise((r) => setTimeout(r, 500));
    expect(p.counts.frames).toBe(0); // software trigger: the camera sends nothing unasked

    for (const [i, partId] of ['GIGE-1', 'GIGE-2'].entries()) {
      await waitFor(async () => (await tag('Ready')) === true, 'Ready');
      expect(await write('PartId', DataType.String, partId)).toBe(StatusCodes.Good);
      expect(await write('Trigger', DataType.Boolean, true)).toBe(StatusCodes.Good);
      await waitFor(async () => (await tag('ResultValid')) === true, `ResultValid for ${partId}`, 30_000);
      expect(await tag('ResultPartId')).toBe(partId);
      const resultId = await tag('ResultId');
      const v = d!.daemon.journal.get(String(resultId));
      expect(v?.partId).toBe(partId);
      expect(p.source.stats().triggers).toBe(i + 1);
      expect(p.counts.frames).toBe(i + 1);
      expect(await write('Trigger', DataType.Boolean, false)).toBe(StatusCodes.Good);
      await waitFor(async () => (await tag('ResultValid')) === false, 'ResultValid low');
    }
    expect(await tag('TotalCount')).toBe(2);
  });
});
