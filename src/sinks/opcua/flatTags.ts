import {
  AccessLevelFlag,
  DataType,
  Variant,
  type Namespace,
  type UAObject,
  type UAVariable,
} from 'node-opcua';

/**
 * The flat tags of one camera for PLCs that poll: plain scalars under Objects/<camera>/Tags with stable
 * NodeIds `ns=1;s=<camera>.<Tag>` (ns=1 is always the server's own namespace). docs/OPCUA.md has the table.
 */
export const TAGS = {
  // Written by the PLC.
  Trigger: {
    type: DataType.Boolean,
    writable: true,
    initial: false,
    doc: 'Rising edge: inspect the next frame for PartId',
  },
  PartId: {
    type: DataType.String,
    writable: true,
    initial: '',
    doc: 'Part id for the next triggered inspection',
  },
  // Handshake outputs.
  Ready: {
    type: DataType.Boolean,
    writable: false,
    initial: false,
    doc: 'A rising Trigger would be accepted now',
  },
  Busy: { type: DataType.Boolean, writable: false, initial: false, doc: 'A triggered inspection is running' },
  ResultValid: {
    type: DataType.Boolean,
    writable: false,
    initial: false,
    doc: 'The result tags answer the current Trigger',
  },
  // The latest result (any mode).
  Verdict: { type: DataType.Boolean, writable: false, initial: false, doc: 'OK = true, NG = false' },
  Score: { type: DataType.Double, writable: false, initial: 0, doc: 'Anomaly score' },
  Threshold: { type: DataType.Double, writable: false, initial: 0, doc: 'NG when Score > Threshold' },
  NormalizedScore: { type: DataType.Double, writable: false, initial: 0, doc: 'Score / Threshold' },
  ResultId: {
    type: DataType.String,
    writable: false,
    initial: '',
    doc: 'Id of the result (as in MQTT and GetResultById)',
  },
  ResultPartId: { type: DataType.String, writable: false, initial: '', doc: 'Part id of the result' },
  Recipe: { type: DataType.String, writable: false, initial: '', doc: 'Active recipe' },
  TotalCount: {
    type: DataType.UInt32,
    writable: false,
    initial: 0,
    doc: 'Results of the camera, counted on across restarts (the journal)',
  },
  OkCount: {
    type: DataType.UInt32,
    writable: false,
    initial: 0,
    doc: 'OK results, counted on across restarts',
  },
  NgCount: {
    type: DataType.UInt32,
    writable: false,
    initial: 0,
    doc: 'NG results, counted on across restarts',
  },
  State: { type: DataType.String, writable: false, initial: '', doc: 'Vision state, e.g. Operational/Ready' },
  Heartbeat: {
    type: DataType.UInt32,
    writable: false,
    initial: 0,
    doc: 'Counts up every opcua.heartbeatSec',
  },
  LastError: {
    type: DataType.String,
    writable: false,
    initial: '',
    doc: 'Last refused trigger or failed inspection; cleared by an accepted Trigger',
  },
} as const;

export type TagName = keyof typeof TAGS;
export type TagValue = boolean | number | string;

export class FlatTags {
  private readonly vars = new Map<TagName, UAVariable>();
  private readonly values = new Map<TagName, TagValue>();

  constructor(ns: Namespace, parent: UAObject, camera: string) {
    // A component of the camera's VisionSystem (addFolder only accepts folders as parents).
    const folder = ns.addObject({
      typeDefinition: 'FolderType',
      componentOf: parent,
      browseName: 'Tags',
      nodeId: `s=${camera}.Tags`,
    });
    for (const [name, t] of Object.entries(TAGS) as [TagName, (typeof TAGS)[TagName]][]) {
      const access = t.writable
        ? AccessLevelFlag.CurrentRead | AccessLevelFlag.CurrentWrite
        : AccessLevelFlag.CurrentRead;
      const v = ns.addVariable({
        componentOf: folder,
        browseName: name,
        nodeId: `s=${camera}.${name}`,
        description: t.doc,
        dataType: DataType[t.type],
        accessLevel: access,
        userAccessLevel: access,
        // 0: changes are reported as they happen, not sampled (what the trigger handshake needs).
        minimumSamplingInterval: 0,
        value: new Variant({ dataType: t.type, value: t.initial }),
      });
      this.vars.set(name, v);
      this.values.set(name, t.initial);
      // Values clients write go through here too, so get() always answers the current value.
      if (t.writable) v.on('value_changed', (dv) => this.values.set(name, dv.value.value as TagValue));
    }
  }

  get(name: TagName): TagValue {
    return this.values.get(name)!;
  }

  /** Sets a tag; only changes reach subscribers. */
  set(name: TagName, value: TagValue): void {
    if (this.values.get(name) === value) return;
    this.values.set(name, value);
    this.vars.get(name)!.setValueFromSource(new Variant({ dataType: TAGS[name].type, value }));
  }

  /** Calls `listener` with every value a client writes to the tag. */
  onWrite(name: 'Trigger' | 'PartId', listener: (value: TagValue) => void): void {
    this.vars.get(name)!.on('value_changed', (dv) => listener(dv.value.value as TagValue));
  }
}
