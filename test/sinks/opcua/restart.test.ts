import path from 'node:path';
import { DataType, makeBrowsePath, resolveNodeId, StatusCodes, Variant, type NodeId } from 'node-opcua';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../helpers/fixtures.js';
import { waitFor } from '../../helpers/peers.js';
import { connect, readValue, startDaemon } from './helpers.js';

const MV = 'http://opcfoundation.org/UA/MachineVision';

describe('OPC UA results and counters across a restart (the journal)', () => {
  it('GetResultById finds a result of the previous run; TotalCount, OkCount, NgCount go on from where they were', async () => {
    const journal = { path: path.join(tempDir('opcua-journal'), 'journal.sqlite') };
    const opcua = { securityModes: ['None'], allowAnonymous: true };
    let d = await startDaemon(opcua, {}, { journal });
    const first = await waitFor(() => d.daemon.journal.query({}, 0, 1).verdicts[0], 'a verdict');
    await waitFor(() => d.daemon.journal.totals('cam1').total >= 5, '5 verdicts');
    const before = d.daemon.journal.totals('cam1');
    await d.daemon.stop();

    // Triggered: no frame is inspected unasked, so the counters hold still while they are read.
    d = await startDaemon({ ...opcua, initialMode: 'triggered' }, {}, { journal });
    const c = await connect(d.endpoint);
    try {
      const total = (await readValue(c.session, 'ns=1;s=cam1.TotalCount')) as number;
      const ok = (await readValue(c.session, 'ns=1;s=cam1.OkCount')) as number;
      const ng = (await readValue(c.session, 'ns=1;s=cam1.NgCount')) as number;
      expect(total).toBeGreaterThanOrEqual(before.total);
      expect(ok).toBeGreaterThanOrEqual(before.ok);
      expect(ng).toBeGreaterThanOrEqual(before.ng);
      expect(ok + ng).toBe(total);

      const mv = (await c.session.readNamespaceArray()).indexOf(MV);
      const browse = async (p: string): Promise<NodeId> => {
        const r = await c.session.translateBrowsePath(
          makeBrowsePath('ns=1;s=cam1', p.replaceAll('MV:', `${mv}:`)),
        );
        return r.targets![0].targetId as NodeId;
      };
      const id = await c.session.constructExtensionObject(resolveNodeId(`ns=${mv};i=3021`), {
        id: first.resultId,
      });
      const r = await c.session.call({
        objectId: await browse('/MV:ResultManagement'),
        methodId: await browse('/MV:ResultManagement/MV:GetResultById'),
        inputArguments: [
          new Variant({ dataType: DataType.ExtensionObject, value: id }),
          new Variant({ dataType: DataType.Int32, value: 1000 }),
        ],
      });
      expect(r.statusCode).toBe(StatusCodes.Good);
      expect((r.outputArguments![1].value as { resultId: { id: string } }).resultId.id).toBe(first.resultId);
    } finally {
      await c.close();
      await d.daemon.stop();
    }
  });
});
