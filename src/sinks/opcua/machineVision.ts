import {
  DataType,
  promoteToStateMachine,
  StatusCodes,
  sameNodeId,
  NodeId,
  Variant,
  VariantArrayType,
  type AddressSpace,
  type CallMethodResultOptions,
  type ExtensionObject,
  type ISessionContext,
  type Namespace,
  type UAMethod,
  type UAObject,
  type UAObjectType,
  type UAStateMachineEx,
  type UATransitionEx,
} from 'node-opcua';
import type { Logger } from 'pino';
import { messageOf } from '../../core/errors.js';
import type { Verdict } from '../../core/verdict.js';
import type { VisionCommand, VisionState } from './visionStates.js';

export const MV_NAMESPACE = 'http://opcfoundation.org/UA/MachineVision';

/** ResultState values of OPC 40100 (12.19): inspectd only publishes completed results. */
const RESULT_COMPLETED = 1;

/** One result as OPC 40100 sees it: the verdict plus the job it belongs to. */
export interface StoredResult {
  verdict: Verdict;
  jobId: string;
}

/** What the VisionSystem's methods do; implemented by the camera (camera.ts). */
export interface VisionHandlers {
  /** Runs a state-machine command; resolves with the job id it started, rejects with why it cannot. */
  command(cmd: VisionCommand, partId?: string): Promise<string | undefined>;
  prepareRecipe(recipe: string): Promise<string>;
  activeRecipe(): string;
  recipes(): Promise<string[]>;
  result(resultId: string): StoredResult | undefined;
  results(
    filter: { partId?: string; recipe?: string; jobId?: string },
    start: number,
    max: number,
  ): { results: StoredResult[]; total: number };
}

/** Reads the `Id` of a MachineVision id structure argument (ExtensionObject with an `id` field). */
const idOf = (v: Variant | undefined): string => {
  const o = v?.value as { id?: unknown } | null | undefined;
  return typeof o?.id === 'string' ? o.id.trim() : '';
};

const ok = (...outputArguments: Variant[]): CallMethodResultOptions => ({
  statusCode: StatusCodes.Good,
  outputArguments,
});
const int32 = (n: number) => new Variant({ dataType: DataType.Int32, value: n });

/**
 * One camera as an OPC 40100 VisionSystemType instance: the vision state machine with its automatic-mode
 * sub-machine, RecipeManagement, ResultManagement, and ResultReadyEventType events raised on the object.
 */
export class VisionSystemNode {
  readonly object: UAObject;
  private readonly machine: UAStateMachineEx;
  private readonly auto: UAStateMachineEx;
  private readonly mv: number;

  constructor(
    private readonly addressSpace: AddressSpace,
    own: Namespace,
    readonly cameraId: string,
    private readonly handlers: VisionHandlers,
    private readonly log: Logger,
  ) {
    this.mv = addressSpace.getNamespaceIndex(MV_NAMESPACE);
    const type = addressSpace.findObjectType('VisionSystemType', this.mv) as UAObjectType;
    this.object = type.instantiate({
      browseName: { name: cameraId, namespaceIndex: own.index },
      nodeId: `ns=${own.index};s=${cameraId}`,
      organizedBy: addressSpace.rootFolder.objects,
      optionals: [
        'RecipeManagement',
        'ResultManagement',
        'VisionStateMachine.AutomaticModeStateMachine',
        'VisionStateMachine.SelectModeAutomatic',
        'VisionStateMachine.LastTransition',
        'VisionStateMachine.AutomaticModeStateMachine.LastTransition',
      ],
      eventNotifier: 1,
    });
    // Events raised on the camera also reach clients subscribed to the Server object.
    addressSpace.rootFolder.objects.server.addReference({
      referenceType: 'HasNotifier',
      nodeId: this.object,
    });
    const vsm = this.child(this.object, 'VisionStateMachine') as UAObject;
    this.machine = promoteToStateMachine(vsm);
    this.auto = promoteToStateMachine(this.child(vsm, 'AutomaticModeStateMachine') as UAObject);
    this.bindStateMethods(vsm);
    this.bindRecipeMethods(this.child(this.object, 'RecipeManagement') as UAObject);
    this.bindResultMethods(this.child(this.object, 'ResultManagement') as UAObject);
  }

  private child(parent: UAObject, name: string) {
    const c = parent.getChildByName(name, this.mv);
    if (!c) throw new Error(`VisionSystemType instance lacks ${name}`);
    return c;
  }

  /**
   * Binds the implementation of method `name` of `parent`. Called on any other object (node-opcua lets a
   * client name any ObjectId with a method's id), it answers BadMethodInvalid, as Part 4 says, and does nothing.
   */
  private on(
    parent: UAObject,
    name: string,
    fn: (args: Variant[]) => Promise<CallMethodResultOptions>,
  ): void {
    // node-opcua tells promise methods from callback ones by their arity: exactly two parameters.
    (this.child(parent, name) as UAMethod).bindMethod(async (args: Variant[], context: ISessionContext) =>
      context.object && !sameNodeId(context.object.nodeId, parent.nodeId)
        ? { statusCode: StatusCodes.BadMethodInvalid }
        : fn(args),
    );
  }

  /**
   * Shows `s` in VisionStateMachine.CurrentState and the automatic-mode sub-machine. `transition` names the
   * transition taken, since the nodeset has two between some states (e.g. PreoperationalToOperational and
   * ...Auto).
   */
  showState(s: VisionState, transition?: string): void {
    const pick = (ts: UATransitionEx[]) => ts.find((t) => t.browseName.name === transition) ?? ts[0] ?? null;
    const auto = s.main === 'Operational' ? (s.auto ?? null) : null;
    const from = { main: this.machine.getCurrentState(), auto: this.auto.getCurrentState() };
    if (from.main !== s.main) this.machine.setState(s.main, pick);
    if (from.auto !== auto) {
      this.auto.setState(auto, pick);
      // node-opcua leaves the Id of a sub-machine that became inactive naming its last state.
      if (auto === null)
        this.auto.currentState
          .getPropertyByName('Id')
          ?.setValueFromSource({ dataType: DataType.NodeId, value: NodeId.nullNodeId });
    }
    if (from.main !== s.main || from.auto !== auto)
      this.stateChanged(from, { main: s.main, auto }, transition);
  }

  /** OPC 40100 StateChangedEventType on the VisionSystem, for clients that watch the camera's events. */
  private stateChanged(
    from: { main: string | null; auto: string | null },
    to: { main: string; auto: string | null },
    transition?: string,
  ): void {
    const text = (x: { main: string | null; auto: string | null }) =>
      new Variant({
        dataType: DataType.LocalizedText,
        value: { text: [x.main, x.auto].filter(Boolean).join('/') },
      });
    this.object.raiseEvent(this.addressSpace.findEventType('StateChangedEventType', this.mv)!, {
      fromState: text(from),
      toState: text(to),
      transition: new Variant({
        dataType: DataType.LocalizedText,
        value: { text: transition ?? `${from.main ?? ''}To${to.main}` },
      }),
      message: new Variant({
        dataType: DataType.LocalizedText,
        value: { text: `camera ${this.cameraId}: ${text(from).value.text} -> ${text(to).value.text}` },
      }),
      severity: new Variant({ dataType: DataType.UInt16, value: to.main === 'Error' ? 700 : 100 }),
    });
  }

  private bindStateMethods(vsm: UAObject): void {
    const auto = this.child(vsm, 'AutomaticModeStateMachine') as UAObject;
    const run =
      (cmd: VisionCommand, partIdArg?: number) =>
      async (args: Variant[]): Promise<CallMethodResultOptions> => {
        try {
          const jobId = await this.handlers.command(
            cmd,
            partIdArg === undefined ? undefined : idOf(args[partIdArg]) || undefined,
          );
          if (cmd === 'StartSingleJob' || cmd === 'StartContinuous')
            return ok(this.ext('JobIdDataType', { id: jobId ?? '' }), int32(0));
          return ok(int32(0));
        } catch (e) {
          this.log.warn({ command: cmd, err: messageOf(e) }, `OPC UA ${cmd} refused: ${messageOf(e)}`);
          return { statusCode: StatusCodes.BadInvalidState };
        }
      };
    this.on(vsm, 'Halt', run('Halt'));
    this.on(vsm, 'Reset', run('Reset'));
    this.on(vsm, 'SelectModeAutomatic', run('SelectModeAutomatic'));
    // StartSingleJob/StartContinuous inputs: MeasId, PartId, RecipeId, ProductId, Parameters.
    this.on(auto, 'StartSingleJob', run('StartSingleJob', 1));
    this.on(auto, 'StartContinuous', run('StartContinuous', 1));
    this.on(auto, 'Stop', run('Stop'));
    this.on(auto, 'Abort', run('Abort'));
  }

  private bindRecipeMethods(rm: UAObject): void {
    this.on(rm, 'PrepareRecipe', async (args) => {
      const wanted = idOf(args[0]) || idOf(args[1]);
      if (!wanted) return { statusCode: StatusCodes.BadInvalidArgument };
      try {
        const active = await this.handlers.prepareRecipe(wanted);
        return ok(
          this.ext('RecipeIdInternalDataType', { id: active }),
          new Variant({ dataType: DataType.Boolean, value: true }),
          int32(0),
        );
      } catch (e) {
        this.log.warn(
          { recipe: wanted, err: messageOf(e) },
          `OPC UA PrepareRecipe ${wanted} failed: ${messageOf(e)}`,
        );
        return { statusCode: StatusCodes.BadInvalidArgument };
      }
    });
    this.on(rm, 'UnprepareRecipe', async (args) => {
      const id = idOf(args[0]) || idOf(args[1]);
      // The camera always runs one recipe: the active one is replaced by preparing another, never unprepared.
      if (id === this.handlers.activeRecipe()) return { statusCode: StatusCodes.BadInvalidState };
      return ok(this.ext('RecipeIdInternalDataType', { id }), int32(0));
    });
    this.on(rm, 'GetRecipeListFiltered', async (args) => {
      const external = idOf(args[0]);
      const prepared = args[2]?.value as number | undefined; // TriStateBoolean: 0 false, 1 true, 2 don't care
      const max = (args[3]?.value as number | undefined) ?? 0;
      const start = (args[4]?.value as number | undefined) ?? 0;
      const active = this.handlers.activeRecipe();
      const all = (await this.handlers.recipes()).filter(
        (r) =>
          (!external || r === external) &&
          (prepared === 1 ? r === active : prepared === 0 ? r !== active : true),
      );
      const page = all.slice(start, max > 0 ? start + max : undefined);
      return ok(
        new Variant({ dataType: DataType.Boolean, value: start + page.length >= all.length }),
        new Variant({ dataType: DataType.UInt32, value: all.length }),
        new Variant({ dataType: DataType.UInt32, value: 0 }),
        new Variant({
          dataType: DataType.ExtensionObject,
          arrayType: VariantArrayType.Array,
          value: page.map((id) =>
            this.addressSpace.constructExtensionObject(this.dataType('RecipeIdInternalDataType'), { id }),
          ),
        }),
        int32(0),
      );
    });
  }

  private bindResultMethods(rm: UAObject): void {
    this.on(rm, 'GetResultById', async (args) => {
      const r = this.handlers.result(idOf(args[0]));
      if (!r) return { statusCode: StatusCodes.BadNotFound };
      return ok(new Variant({ dataType: DataType.UInt32, value: 0 }), this.resultVariant(r), int32(0));
    });
    this.on(rm, 'GetResultComponentsById', async (args) => {
      const r = this.handlers.result(idOf(args[0]));
      if (!r) return { statusCode: StatusCodes.BadNotFound };
      const f = this.fields(r);
      const nul = new Variant({ dataType: DataType.Null });
      return ok(
        new Variant({ dataType: DataType.Boolean, value: false }),
        new Variant({ dataType: DataType.UInt32, value: 0 }),
        f.isPartial,
        new Variant({ dataType: DataType.Boolean, value: false }),
        f.resultState,
        nul,
        f.partId ?? nul,
        f.externalRecipeId,
        f.internalRecipeId,
        nul,
        nul,
        f.internalConfigurationId,
        f.jobId,
        f.creationTime,
        f.processingTimes,
        f.resultContent,
        int32(0),
      );
    });
    this.on(rm, 'GetResultListFiltered', async (args) => {
      // Inputs: ResultState, MeasId, PartId, ExternalRecipeId, InternalRecipeId, ExternalConfigurationId,
      // InternalConfigurationId, ProductId, JobId, MaxResults, StartIndex, Timeout.
      const filter = {
        partId: idOf(args[2]) || undefined,
        recipe: idOf(args[4]) || idOf(args[3]) || undefined,
        jobId: idOf(args[8]) || undefined,
      };
      const max = (args[9]?.value as number | undefined) ?? 0;
      const start = (args[10]?.value as number | undefined) ?? 0;
      const { results, total } = this.handlers.results(filter, start, max);
      return ok(
        new Variant({ dataType: DataType.Boolean, value: start + results.length >= total }),
        new Variant({ dataType: DataType.UInt32, value: total }),
        new Variant({ dataType: DataType.UInt32, value: 0 }),
        new Variant({
          dataType: DataType.ExtensionObject,
          arrayType: VariantArrayType.Array,
          value: results.map((r) => this.resultObject(r)),
        }),
        int32(0),
      );
    });
  }

  private dataType(name: string) {
    const t = this.addressSpace.findDataType(name, this.mv);
    if (!t) throw new Error(`MachineVision nodeset lacks ${name}`);
    return t;
  }

  private ext(type: string, value: Record<string, unknown>): Variant {
    return new Variant({
      dataType: DataType.ExtensionObject,
      value: this.addressSpace.constructExtensionObject(this.dataType(type), value),
    });
  }

  /** The result as the ResultDataType fields (and event fields) of OPC 40100 want it. */
  private fields(r: StoredResult) {
    const v = r.verdict;
    const t = v.timings;
    const recipe = { id: v.recipe, version: v.modelVersion };
    return {
      resultId: this.ext('ResultIdDataType', { id: v.resultId }),
      isPartial: new Variant({ dataType: DataType.Boolean, value: false }),
      resultState: int32(RESULT_COMPLETED),
      partId: v.partId ? this.ext('PartIdDataType', { id: v.partId }) : undefined,
      externalRecipeId: this.ext('RecipeIdExternalDataType', { id: v.recipe }),
      internalRecipeId: this.ext('RecipeIdInternalDataType', recipe),
      internalConfigurationId: this.ext('ConfigurationIdDataType', { id: v.cameraId }),
      jobId: this.ext('JobIdDataType', { id: r.jobId }),
      creationTime: new Variant({ dataType: DataType.DateTime, value: new Date(v.decidedAt) }),
      processingTimes: this.ext('ProcessingTimesDataType', {
        startTime: new Date(v.capturedAt),
        endTime: new Date(v.decidedAt),
        acquisitionDuration: t.queueMs,
        processingDuration: t.preprocessMs + t.inferenceMs + t.decisionMs,
      }),
      resultContent: new Variant({
        dataType: DataType.Variant,
        arrayType: VariantArrayType.Array,
        value: resultContent(v),
      }),
    };
  }

  private resultObject(r: StoredResult): ExtensionObject {
    const f = this.fields(r);
    return this.addressSpace.constructExtensionObject(this.dataType('ResultDataType'), {
      resultId: f.resultId.value,
      isPartial: false,
      resultState: RESULT_COMPLETED,
      partId: f.partId?.value,
      externalRecipeId: f.externalRecipeId.value,
      internalRecipeId: f.internalRecipeId.value,
      internalConfigurationId: f.internalConfigurationId.value,
      jobId: f.jobId.value,
      creationTime: f.creationTime.value,
      processingTimes: f.processingTimes.value,
      resultContent: f.resultContent.value,
    });
  }

  private resultVariant(r: StoredResult): Variant {
    return new Variant({ dataType: DataType.ExtensionObject, value: this.resultObject(r) });
  }

  /** Raises ResultReadyEventType on the camera's VisionSystem object. */
  resultReady(r: StoredResult): void {
    const f = this.fields(r);
    const { partId, ...rest } = f;
    this.object.raiseEvent(this.addressSpace.findEventType('ResultReadyEventType', this.mv)!, {
      ...rest,
      ...(partId ? { partId } : {}),
      message: new Variant({
        dataType: DataType.LocalizedText,
        value: { text: `${r.verdict.ok ? 'OK' : 'NG'} ${r.verdict.resultId}` },
      }),
      severity: new Variant({ dataType: DataType.UInt16, value: r.verdict.ok ? 100 : 300 }),
    });
  }
}

/**
 * ResultContent (OPC 40100 leaves it to the vendor): [verdict "OK"|"NG", score, threshold, normalized score,
 * regions as JSON]. docs/OPCUA.md documents the order; append only.
 */
export function resultContent(v: StoredResult['verdict']): Variant[] {
  return [
    new Variant({ dataType: DataType.String, value: v.ok ? 'OK' : 'NG' }),
    new Variant({ dataType: DataType.Double, value: v.score }),
    new Variant({ dataType: DataType.Double, value: v.threshold }),
    new Variant({ dataType: DataType.Double, value: v.normalizedScore }),
    new Variant({ dataType: DataType.String, value: JSON.stringify(v.regions) }),
  ];
}
