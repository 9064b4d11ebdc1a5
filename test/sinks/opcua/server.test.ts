import {
  AttributeIds,
  BrowseDirection,
  ClientMonitoredItem,
  ClientSubscription,
  constructEventFilter,
  DataType,
  makeBrowsePath,
  resolveNodeId,
  StatusCodes,
  TimestampsToReturn,
  Variant,
  type ClientSession,
  type ExtensionObject,
  type NodeId,
} from 'node-opcua';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Daemon } from '../../../src/app/daemon.js';
import { waitFor } from '../../helpers/peers.js';
import { connect, readValue, startDaemon } from './helpers.js';

const MV = 'http://opcfoundation.org/UA/MachineVision';

interface ResultEvent {
  eventType: string;
  resultId?: string;
  partId?: string;
  jobId?: string;
  resultState?: number;
  content?: unknown[];
  creationTime?: Date;
}

describe('OPC UA server on the running daemon (sim camera, demo recipe, localhost demo security)', () => {
  let d: { daemon: Daemon; endpoint: string };
  let c: Awaited<ReturnType<typeof connect>>;
  let session: ClientSession;
  let mv: number;
  let sub: ClientSubscription;
  const events: ResultEvent[] = [];
  const serverEvents: string[] = [];
  const tagChanges: { tag: string; value: unknown; at: number }[] = [];

  const node = async (path: string): Promise<NodeId> => {
    const r = await session.translateBrowsePath(
      makeBrowsePath('ns=1;s=cam1', path.replaceAll('MV:', `${mv}:`)),
    );
    expect(r.statusCode, `browse path ${path}`).toBe(StatusCodes.Good);
    return r.targets![0].targetId as NodeId;
  };
  const state = async () => ({
    main: (
      (await readValue(session, (await node('/MV:VisionStateMachine.CurrentState')).toString())) as {
        text: string;
      }
    ).text,
    auto: (
      (await readValue(
        session,
        (await node('/MV:VisionStateMachine/MV:AutomaticModeStateMachine.CurrentState')).toString(),
      )) as { text: string | null }
    ).text,
  });
  const id = (type: string, id: string) =>
    session.constructExtensionObject(resolveNodeId(`ns=${mv};i=${TYPE_IDS[type]}`), { id });
  /** DataType NodeIds of the Machine Vision nodeset (OPC 40100 1.0), in its namespace. */
  const TYPE_IDS: Record<string, number> = {
    MeasIdDataType: 3015,
    PartIdDataType: 3004,
    RecipeIdExternalDataType: 3002,
    RecipeIdInternalDataType: 3013,
    ProductIdDataType: 3003,
    ResultIdDataType: 3021,
  };
  const call = async (path: string, args: Variant[] = []) => {
    const methodId = await node(path);
    const parent = await node(path.slice(0, path.lastIndexOf('/')) || '/');
    return session.call({
      objectId: path.lastIndexOf('/') > 0 ? parent : resolveNodeId('ns=1;s=cam1'),
      methodId,
      inputArguments: args,
    });
  };
  const ext = (v: ExtensionObject) => new Variant({ dataType: DataType.ExtensionObject, value: v });
  const startArgs = async (partId: string) => [
    ext(await id('MeasIdDataType', 'm1')),
    ext(await id('PartIdDataType', partId)),
    ext(await id('RecipeIdExternalDataType', 'demo')),
    ext(await id('ProductIdDataType', 'plate')),
    new Variant({ dataType: DataType.Variant, arrayType: 1, value: [] }),
  ];
  const pipeline = () => d.daemon.pipelines[0];

  beforeAll(async () => {
    d = await startDaemon({ securityModes: ['None'], allowAnonymous: true });
    c = await connect(d.endpoint);
    session = c.session;
    mv = (await session.readNamespaceArray()).indexOf(MV);
    sub = ClientSubscription.create(session, {
      requestedPublishingInterval: 20,
      requestedMaxKeepAliveCount: 20,
      requestedLifetimeCount: 600,
      publishingEnabled: true,
    });
    const fields = [
      'EventType',
      `${mv}:ResultId`,
      `${mv}:PartId`,
      `${mv}:JobId`,
      `${mv}:ResultState`,
      `${mv}:ResultContent`,
      `${mv}:CreationTime`,
    ];
    const evItem = ClientMonitoredItem.create(
      sub,
      { nodeId: 'ns=1;s=cam1', attributeId: AttributeIds.EventNotifier },
      { samplingInterval: 0, queueSize: 1000, filter: constructEventFilter(fields) },
    );
    evItem.on('changed', (values: unknown) => {
      const v = (values as Variant[]).map((x) => x.value as unknown);
      events.push({
        eventType: (v[0] as NodeId).toString(),
        resultId: (v[1] as { id?: string } | null)?.id,
        partId: (v[2] as { id?: string } | null)?.id,
        jobId: (v[3] as { id?: string } | null)?.id,
        resultState: v[4] as number,
        content: (v[5] as Variant[] | null)?.map((x) => x.value as unknown),
        creationTime: v[6] as Date,
      });
    });
    // The same events through the Server object (what generic SCADA clients subscribe to).
    ClientMonitoredItem.create(
      sub,
      { nodeId: 'i=2253', attributeId: AttributeIds.EventNotifier },
      { samplingInterval: 0, queueSize: 1000, filter: constructEventFilter([`${mv}:ResultId`]) },
    ).on('changed', (values: unknown) => {
      const id = ((values as Variant[])[0].value as { id?: string } | null)?.id;
      if (id) serverEvents.push(id);
    });
    for (const tag of ['Verdict', 'ResultId', 'ResultPartId', 'ResultValid', 'Busy', 'Ready', 'LastError']) {
      const item = ClientMonitoredItem.create(
        sub,
        { nodeId: `ns=1;s=cam1.${tag}`, attributeId: AttributeIds.Value },
        { samplingInterval: 0, queueSize: 100 },
        TimestampsToReturn.Both,
      );
      item.on('changed', (dv) =>
        tagChanges.push({ tag, value: dv.value.value as unknown, at: dv.sourceTimestamp!.getTime() }),
      );
    }
  });
  afterAll(async () => {
    await sub?.terminate().catch(() => {});
    await c?.close();
    await d?.daemon.stop();
  });

  const resultEvents = () => events.filter((e) => e.resultId);

  it('browses the Machine Vision model: a VisionSystemType per camera, its state machines, recipe and result management, flat tags', async () => {
    const objects = await session.browse({
      nodeId: 'i=85',
      browseDirection: BrowseDirection.Forward,
      resultMask: 63,
    });
    const cam = objects.references!.find((r) => r.browseName.name === 'cam1')!;
    expect(cam).toBeDefined();
    const typeDef = await session.read({ nodeId: cam.typeDefinition, attributeId: AttributeIds.BrowseName });
    expect(typeDef.value.value).toMatchObject({ name: 'VisionSystemType', namespaceIndex: mv });
    for (const p of [
      '/MV:VisionStateMachine/MV:Halt',
      '/MV:VisionStateMachine/MV:Reset',
      '/MV:VisionStateMachine/MV:SelectModeAutomatic',
      '/MV:VisionStateMachine/MV:AutomaticModeStateMachine/MV:StartSingleJob',
      '/MV:VisionStateMachine/MV:AutomaticModeStateMachine/MV:StartContinuous',
      '/MV:VisionStateMachine/MV:AutomaticModeStateMachine/MV:Stop',
      '/MV:VisionStateMachine/MV:AutomaticModeStateMachine/MV:Abort',
      '/MV:RecipeManagement/MV:PrepareRecipe',
      '/MV:ResultManagement/MV:GetResultById',
      '/MV:ResultManagement/MV:GetResultListFiltered',
      '/1:Tags/1:Verdict',
    ])
      await node(p);
    expect(await state()).toEqual({ main: 'Operational', auto: 'ContinuousExecution' });
    const tags = await session.browse(`ns=1;s=cam1.Tags`);
    expect(tags.references!.map((r) => r.browseName.name)).toEqual(
      expect.arrayContaining([
        'Ready',
        'Busy',
        'Trigger',
        'PartId',
        'ResultValid',
        'Verdict',
        'Score',
        'Threshold',
        'ResultId',
        'TotalCount',
        'OkCount',
        'NgCount',
        'Heartbeat',
        'LastError',
      ]),
    );
    const verdictType = await session.read({
      nodeId: 'ns=1;s=cam1.Verdict',
      attributeId: AttributeIds.DataType,
    });
    expect((verdictType.value.value as NodeId).value).toBe(DataType.Boolean);
    const access = await session.read([
      { nodeId: 'ns=1;s=cam1.Verdict', attributeId: AttributeIds.UserAccessLevel },
      { nodeId: 'ns=1;s=cam1.Trigger', attributeId: AttributeIds.UserAccessLevel },
    ]);
    expect(access.map((a) => a.value.value as number)).toEqual([1, 3]); // read only; read + write
    const refused = await session.write({
      nodeId: 'ns=1;s=cam1.Verdict',
      attributeId: AttributeIds.Value,
      value: { value: { dataType: DataType.Boolean, value: true } },
    });
    expect(refused).toBe(StatusCodes.BadNotWritable);
    // The heartbeat counts up (every opcua.heartbeatSec, 1 s): a PLC watchdog sees inspectd alive.
    const beat = (await readValue(session, 'ns=1;s=cam1.Heartbeat')) as number;
    await waitFor(
      async () => ((await readValue(session, 'ns=1;s=cam1.Heartbeat')) as number) > beat,
      'the next heartbeat',
    );
  });

  it('ResultReady events and Verdict/ResultId tag notifications carry every verdict; GetResultById returns it as ResultDataType', async () => {
    await waitFor(() => resultEvents().length >= 5, '5 ResultReady events');
    const e = resultEvents().findLast((x) => d.daemon.journal.get(x.resultId!))!;
    const v = d.daemon.journal.get(e.resultId!)!;
    expect(e.resultState).toBe(1);
    await waitFor(() => serverEvents.includes(e.resultId!), 'the event through the Server object');
    expect(e.content).toEqual([
      v.ok ? 'OK' : 'NG',
      v.score,
      v.threshold,
      v.normalizedScore,
      JSON.stringify(v.regions),
    ]);
    expect(e.creationTime!.getTime()).toBe(v.decidedAt);
    await waitFor(
      () => tagChanges.some((t) => t.tag === 'ResultId' && t.value === e.resultId),
      'the ResultId tag notification',
    );
    expect(tagChanges.some((t) => t.tag === 'Verdict')).toBe(true);
    // Every result reaches the ResultId tag's subscribers: none is folded into the next one (results come
    // every 50 ms here, as fast as a sampling server would sample).
    const first = resultEvents()
      .slice(0, 20)
      .map((x) => x.resultId);
    await waitFor(
      () => first.every((rid) => tagChanges.some((t) => t.tag === 'ResultId' && t.value === rid)),
      'a ResultId notification for each of the first 20 results',
    );

    const r = await call('/MV:ResultManagement/MV:GetResultById', [
      ext(await id('ResultIdDataType', e.resultId!)),
      new Variant({ dataType: DataType.Int32, value: 1000 }),
    ]);
    expect(r.statusCode).toBe(StatusCodes.Good);
    const result = r.outputArguments![1].value as Record<string, unknown>;
    expect(result).toMatchObject({
      resultId: { id: v.resultId },
      isPartial: false,
      resultState: 1,
      internalRecipeId: { id: 'demo', version: v.modelVersion },
    });
    expect((result.processingTimes as { startTime: Date }).startTime.getTime()).toBe(v.capturedAt);
    expect((result.resultContent as Variant[]).map((x) => x.value as unknown)[0]).toBe(v.ok ? 'OK' : 'NG');
    const missing = await call('/MV:ResultManagement/MV:GetResultById', [
      ext(await id('ResultIdDataType', 'no-such-result')),
      new Variant({ dataType: DataType.Int32, value: 1000 }),
    ]);
    expect(missing.statusCode).toBe(StatusCodes.BadNotFound);
  });

  it('state-machine methods drive the pipeline: Stop, StartSingleJob (one result with its PartId and JobId), StartContinuous, Halt, Reset, SelectModeAutomatic', async () => {
    const stop = await call('/MV:VisionStateMachine/MV:AutomaticModeStateMachine/MV:Stop', [
      new Variant({ dataType: DataType.Int32, value: 0 }),
      new Variant({ dataType: DataType.String, value: 'test' }),
    ]);
    expect(stop.statusCode).toBe(StatusCodes.Good);
    expect(await state()).toEqual({ main: 'Operational', auto: 'Ready' });
    expect(pipeline().mode).toBe('triggered');
    const skipped = pipeline().counts.skipped;
    await waitFor(() => pipeline().counts.skipped > skipped + 3, 'frames skipped while Ready');

    const before = resultEvents().length;
    const single = await call(
      '/MV:VisionStateMachine/MV:AutomaticModeStateMachine/MV:StartSingleJob',
      await startArgs('P-100'),
    );
    expect(single.statusCode).toBe(StatusCodes.Good);
    const jobId = (single.outputArguments![0].value as { id: string }).id;
    expect(jobId).toMatch(/^job-/);
    const ev = await waitFor(
      () =>
        resultEvents()
          .slice(before)
          .find((x) => x.partId === 'P-100'),
      'the single job result',
    );
    expect(ev.jobId).toBe(jobId);
    await waitFor(async () => (await state()).auto === 'Ready', 'back to Ready after the single job');
    await new Promise((r) => setTimeout(r, 500));
    expect(resultEvents().slice(before)).toHaveLength(1);

    const cont = await call(
      '/MV:VisionStateMachine/MV:AutomaticModeStateMachine/MV:StartContinuous',
      await startArgs(''),
    );
    expect(cont.statusCode).toBe(StatusCodes.Good);
    expect(await state()).toEqual({ main: 'Operational', auto: 'ContinuousExecution' });
    const n = resultEvents().length;
    await waitFor(() => resultEvents().length > n + 3, 'continuous results again');

    const cause = [
      new Variant({ dataType: DataType.Int32, value: 0 }),
      new Variant({ dataType: DataType.String, value: 'test' }),
    ];
    const seen = events.length;
    expect((await call('/MV:VisionStateMachine/MV:Halt', cause)).statusCode).toBe(StatusCodes.Good);
    expect(await state()).toEqual({ main: 'Halted', auto: null });
    expect(pipeline().mode).toBe('stopped');
    // OPC 40100: a StateChangedEventType on the VisionSystem; LastTransition says which; the inactive
    // automatic sub-machine's CurrentState.Id is null, not its last state.
    await waitFor(
      () => events.slice(seen).some((e) => e.eventType === `ns=${mv};i=1018`),
      'a StateChangedEventType event on the camera',
    );
    const last = (await readValue(
      session,
      (await node('/MV:VisionStateMachine.LastTransition')).toString(),
    )) as { text: string };
    expect(last.text).toMatch(/Halt/);
    const autoId = await readValue(
      session,
      (await node('/MV:VisionStateMachine/MV:AutomaticModeStateMachine.CurrentState.Id')).toString(),
    );
    expect((autoId as NodeId).isEmpty()).toBe(true);
    const refused = await call(
      '/MV:VisionStateMachine/MV:AutomaticModeStateMachine/MV:StartSingleJob',
      await startArgs('P-101'),
    );
    expect(refused.statusCode).toBe(StatusCodes.BadInvalidState);
    expect((await call('/MV:VisionStateMachine/MV:Reset', cause)).statusCode).toBe(StatusCodes.Good);
    expect(await state()).toEqual({ main: 'Preoperational', auto: null });
    expect((await call('/MV:VisionStateMachine/MV:SelectModeAutomatic')).statusCode).toBe(StatusCodes.Good);
    expect(await state()).toEqual({ main: 'Operational', auto: 'Ready' });
  });

  it('a method called on another object (the Objects folder) is refused with BadMethodInvalid and does nothing', async () => {
    const before = await state();
    const r = await session.call({
      objectId: resolveNodeId('ns=0;i=85'),
      methodId: await node('/MV:VisionStateMachine/MV:Halt'),
      inputArguments: [
        new Variant({ dataType: DataType.Int32, value: 0 }),
        new Variant({ dataType: DataType.String, value: 'test' }),
      ],
    });
    expect(r.statusCode.name).toBe('BadMethodInvalid');
    expect(await state()).toEqual(before);
  });

  it('RecipeManagement: lists the recipes, prepares one, refuses an unknown one', async () => {
    const recipeId = async (name: string) => ext(await id('RecipeIdExternalDataType', name));
    const list = await call('/MV:RecipeManagement/MV:GetRecipeListFiltered', [
      await recipeId(''),
      ext(await id('ProductIdDataType', '')),
      new Variant({ dataType: DataType.Int32, value: 2 }),
      new Variant({ dataType: DataType.UInt32, value: 0 }),
      new Variant({ dataType: DataType.UInt32, value: 0 }),
      new Variant({ dataType: DataType.Int32, value: 1000 }),
    ]);
    expect(list.statusCode).toBe(StatusCodes.Good);
    expect((list.outputArguments![3].value as { id: string }[]).map((r) => r.id)).toContain('demo');
    const internal = await id('RecipeIdInternalDataType', '');
    const ok = await call('/MV:RecipeManagement/MV:PrepareRecipe', [await recipeId('demo'), ext(internal)]);
    expect(ok.statusCode).toBe(StatusCodes.Good);
    expect((ok.outputArguments![0].value as { id: string }).id).toBe('demo');
    const bad = await call('/MV:RecipeManagement/MV:PrepareRecipe', [
      await recipeId('no-such-recipe'),
      ext(internal),
    ]);
    expect(bad.statusCode).toBe(StatusCodes.BadInvalidArgument);
    expect(pipeline().activeRecipe).toBe('demo');
  });

  it('trigger handshake end to end: PartId + Trigger -> result with that PartId, then ResultValid; Trigger low -> ResultValid low', async () => {
    expect(await state()).toEqual({ main: 'Operational', auto: 'Ready' });
    await waitFor(async () => (await readValue(session, 'ns=1;s=cam1.Ready')) === true, 'Ready');
    const write = (tag: string, dataType: DataType, value: unknown) =>
      session.write({
        nodeId: `ns=1;s=cam1.${tag}`,
        attributeId: AttributeIds.Value,
        value: { value: { dataType, value } },
      });
    const from = tagChanges.length;
    expect(await write('PartId', DataType.String, 'PART-42')).toBe(StatusCodes.Good);
    expect(await write('Trigger', DataType.Boolean, true)).toBe(StatusCodes.Good);
    await waitFor(
      () => tagChanges.slice(from).some((t) => t.tag === 'ResultValid' && t.value === true),
      'ResultValid',
    );
    expect(await readValue(session, 'ns=1;s=cam1.ResultPartId')).toBe('PART-42');
    expect(await readValue(session, 'ns=1;s=cam1.Busy')).toBe(false);
    const resultId = (await readValue(session, 'ns=1;s=cam1.ResultId')) as string;
    const v = d.daemon.journal.get(resultId)!;
    expect(v.partId).toBe('PART-42');
    expect(await readValue(session, 'ns=1;s=cam1.Verdict')).toBe(v.ok);
    // Source timestamps: Busy rose, then the result's ResultId, then ResultValid (never before the result).
    // (OPC UA orders notifications per item, not across items, so the timestamps are the contract.)
    const at = (tag: string, value: unknown) =>
      tagChanges.slice(from).find((t) => t.tag === tag && t.value === value)!.at;
    expect(at('ResultId', resultId)).toBeGreaterThanOrEqual(at('Busy', true));
    expect(at('ResultValid', true)).toBeGreaterThanOrEqual(at('ResultId', resultId));
    // A second rising edge needs Trigger low first; while high, Ready stays low.
    expect(await readValue(session, 'ns=1;s=cam1.Ready')).toBe(false);
    expect(await write('Trigger', DataType.Boolean, false)).toBe(StatusCodes.Good);
    await waitFor(
      async () => (await readValue(session, 'ns=1;s=cam1.ResultValid')) === false,
      'ResultValid low',
    );
    expect(await readValue(session, 'ns=1;s=cam1.Ready')).toBe(true);

    // Halted: a trigger is refused with LastError, ResultValid stays low.
    const cause = [
      new Variant({ dataType: DataType.Int32, value: 0 }),
      new Variant({ dataType: DataType.String, value: 'test' }),
    ];
    expect((await call('/MV:VisionStateMachine/MV:Halt', cause)).statusCode).toBe(StatusCodes.Good);
    expect(await write('Trigger', DataType.Boolean, true)).toBe(StatusCodes.Good);
    await waitFor(
      async () => String(await readValue(session, 'ns=1;s=cam1.LastError')).includes('Halted'),
      'LastError',
    );
    expect(await readValue(session, 'ns=1;s=cam1.ResultValid')).toBe(false);
    expect(await readValue(session, 'ns=1;s=cam1.Ready')).toBe(false);
    await write('Trigger', DataType.Boolean, false);
  });
});
