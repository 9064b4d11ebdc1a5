import { AttributeIds, DataType, makeBrowsePath, StatusCodes, Variant, type NodeId } from 'node-opcua';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Daemon } from '../../../src/app/daemon.js';
import { waitFor } from '../../helpers/peers.js';
import { connect, readValue, startDaemon } from './helpers.js';

/**
 * A camera that cannot run (an RTSP camera whose ffmpeg program is missing: the source gives up, 'failed')
 * puts its VisionSystem in Error; Halt and Reset still work from there.
 */
describe('vision state Error when the camera fails', () => {
  let d: { daemon: Daemon; endpoint: string };
  let c: Awaited<ReturnType<typeof connect>>;
  beforeAll(async () => {
    d = await startDaemon(
      { securityModes: ['None'], allowAnonymous: true },
      { source: { type: 'rtsp', url: 'rtsp://127.0.0.1:9/none', ffmpegPath: '/nonexistent/ffmpeg' } },
    );
    c = await connect(d.endpoint);
  });
  afterAll(async () => {
    await c?.close();
    await d?.daemon.stop();
  });

  it('Operational -> Error (automatic), Halt -> Halted (stays there), Reset -> Preoperational -> Error again', async () => {
    const state = () => readValue(c.session, 'ns=1;s=cam1.State');
    await waitFor(async () => (await state()) === 'Error', 'state Error', 30_000);
    expect(d.daemon.pipelines[0].source.state).toBe('failed');
    const mv = (await c.session.readNamespaceArray()).indexOf('http://opcfoundation.org/UA/MachineVision');
    const method = async (name: string) => {
      const r = await c.session.translateBrowsePath(
        makeBrowsePath('ns=1;s=cam1', `/${mv}:VisionStateMachine/${mv}:${name}`),
      );
      const vsm = await c.session.translateBrowsePath(
        makeBrowsePath('ns=1;s=cam1', `/${mv}:VisionStateMachine`),
      );
      return c.session.call({
        objectId: vsm.targets![0].targetId as NodeId,
        methodId: r.targets![0].targetId as NodeId,
        inputArguments: [
          new Variant({ dataType: DataType.Int32, value: 0 }),
          new Variant({ dataType: DataType.String, value: '' }),
        ],
      });
    };
    expect((await method('Halt')).statusCode).toBe(StatusCodes.Good);
    expect(await state()).toBe('Halted');
    await new Promise((r) => setTimeout(r, 1500)); // heartbeats pass: a halted camera stays halted
    expect(await state()).toBe('Halted');
    expect((await method('Reset')).statusCode).toBe(StatusCodes.Good);
    await waitFor(
      async () => (await state()) === 'Error',
      'back to Error: the camera is still failed',
      10_000,
    );
    const current = await c.session.read({
      nodeId: (
        await c.session.translateBrowsePath(
          makeBrowsePath('ns=1;s=cam1', `/${mv}:VisionStateMachine.CurrentState`),
        )
      ).targets![0].targetId,
      attributeId: AttributeIds.Value,
    });
    expect((current.value.value as { text: string }).text).toBe('Error');
  });
});
