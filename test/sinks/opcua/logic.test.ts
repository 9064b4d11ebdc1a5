import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load.js';
import { TriggerHandshake, type HandshakeOutputs } from '../../../src/sinks/opcua/handshake.js';
import {
  canTrigger,
  modeOf,
  transition,
  type VisionCommand,
  type VisionState,
} from '../../../src/sinks/opcua/visionStates.js';
import { tempDir } from '../../helpers/fixtures.js';

describe('vision state machine (OPC 40100 states and transitions)', () => {
  const run = (s: VisionState, ...cmds: VisionCommand[]) =>
    cmds.reduce<{ s: VisionState; names: string[] }>(
      (acc, c) => {
        const t = transition(acc.s, c);
        if (!t.ok) throw new Error(t.reason);
        return { s: t.state, names: [...acc.names, t.transition] };
      },
      { s, names: [] },
    );

  it('goes through the documented path with the nodeset transition names', () => {
    const r = run(
      { main: 'Preoperational' },
      'SelectModeAutomatic',
      'StartSingleJob',
      'SingleDone',
      'StartContinuous',
      'Stop',
      'StartContinuous',
      'Abort',
      'Halt',
      'Reset',
    );
    expect(r.names).toEqual([
      'PreoperationalToOperational',
      'ReadyToSingleExecution',
      'SingleExecutionToReadyAuto',
      'ReadyToContinuousExecution',
      'ContinuousExecutionToReadyStop',
      'ReadyToContinuousExecution',
      'ContinuousExecutionToReadyAbort',
      'OperationalToHalted',
      'HaltedToPreoperational',
    ]);
    expect(r.s).toEqual({ main: 'Preoperational' });
    expect(run({ main: 'Operational', auto: 'Ready' }, 'Fault', 'Reset').names).toEqual([
      'OperationalToErrorAuto',
      'ErrorToPreoperational',
    ]);
  });

  it('refuses commands that do not apply, naming the state', () => {
    const halted = transition({ main: 'Halted' }, 'StartSingleJob');
    expect(halted).toEqual({ ok: false, reason: 'StartSingleJob is not allowed in state Halted' });
    expect(transition({ main: 'Operational', auto: 'ContinuousExecution' }, 'StartSingleJob').ok).toBe(false);
    expect(transition({ main: 'Operational', auto: 'Ready' }, 'Stop').ok).toBe(false);
    expect(transition({ main: 'Halted' }, 'Halt').ok).toBe(false);
    expect(transition({ main: 'Halted' }, 'Fault').ok).toBe(false);
    expect(transition({ main: 'Operational', auto: 'Ready' }, 'SelectModeAutomatic').ok).toBe(false);
  });

  it('maps states to pipeline modes and trigger acceptance', () => {
    expect(modeOf({ main: 'Operational', auto: 'ContinuousExecution' })).toBe('continuous');
    expect(modeOf({ main: 'Operational', auto: 'Ready' })).toBe('triggered');
    expect(modeOf({ main: 'Operational', auto: 'SingleExecution' })).toBe('triggered');
    for (const main of ['Preoperational', 'Halted', 'Error'] as const) {
      expect(modeOf({ main })).toBe('stopped');
      expect(canTrigger({ main })).toBe(false);
    }
    expect(canTrigger({ main: 'Operational', auto: 'Ready' })).toBe(true);
    expect(canTrigger({ main: 'Operational', auto: 'ContinuousExecution' })).toBe(true);
    expect(canTrigger({ main: 'Operational', auto: 'SingleExecution' })).toBe(false);
  });
});

describe('trigger handshake', () => {
  const setup = (refusal?: string) => {
    const out: HandshakeOutputs = { ready: false, busy: false, resultValid: false, lastError: '' };
    const log: string[] = [];
    const requests: { partId?: string; resolve: () => void; reject: (e: Error) => void }[] = [];
    const aborted: string[] = [];
    const h = new TriggerHandshake({
      refusal: () => refusal,
      request: (partId) => new Promise<void>((resolve, reject) => requests.push({ partId, resolve, reject })),
      abort: (reason) => {
        aborted.push(reason);
        requests.at(-1)?.reject(new Error(`aborted: ${reason}`));
      },
      output: (o) => {
        Object.assign(out, o);
        for (const [k, v] of Object.entries(o)) log.push(`${k}=${String(v)}`);
      },
    });
    h.refresh();
    return { h, out, log, requests, aborted };
  };
  const tick = () => new Promise((r) => setImmediate(r));

  it('rising Trigger -> Busy -> result -> ResultValid; falling Trigger -> ResultValid low, Ready again', async () => {
    const { h, out, requests } = setup();
    expect(out.ready).toBe(true);
    h.onTrigger(true, 'P-1');
    expect(out).toMatchObject({ busy: true, ready: false, resultValid: false });
    expect(requests.map((r) => r.partId)).toEqual(['P-1']);
    h.onTrigger(true, 'P-1'); // same level again: no edge, no second request
    expect(requests).toHaveLength(1);
    requests[0].resolve();
    await tick();
    expect(out).toMatchObject({ busy: false, ready: false, resultValid: true });
    h.onTrigger(false, 'P-1');
    expect(out).toMatchObject({ busy: false, ready: true, resultValid: false });
  });

  it('a Trigger dropped before the result aborts the inspection: ResultValid stays low, Ready again', async () => {
    const { h, out, requests, aborted } = setup();
    h.onTrigger(true, '');
    expect(requests[0].partId).toBeUndefined();
    h.onTrigger(false, '');
    expect(aborted).toEqual(['Trigger dropped before the result']);
    // Raised again before the abort has settled: refused, nothing requested.
    h.onTrigger(true, 'P-2');
    expect(out.lastError).toMatch(/still running/);
    expect(requests).toHaveLength(1);
    await tick();
    expect(out).toMatchObject({ busy: false, resultValid: false });
    expect(out.lastError).toMatch(/aborted: Trigger dropped/);
    h.onTrigger(false, '');
    expect(out.ready).toBe(true);
  });

  it('a failed inspection drops Busy and sets LastError; a refused state sets LastError and requests nothing', async () => {
    const a = setup();
    a.h.onTrigger(true, 'P-3');
    a.requests[0].reject(new Error('frame 9 could not be decoded'));
    await tick();
    expect(a.out).toMatchObject({
      busy: false,
      resultValid: false,
      lastError: 'inspection failed: frame 9 could not be decoded',
    });
    const b = setup('camera cam1 is Halted');
    expect(b.out.ready).toBe(false);
    b.h.onTrigger(true, 'P-4');
    expect(b.requests).toHaveLength(0);
    expect(b.out).toMatchObject({ busy: false, lastError: 'Trigger refused: camera cam1 is Halted' });
  });
});

describe('opcua configuration', () => {
  const load = (opcua: unknown) => {
    const file = path.join(tempDir('opcua-config'), 'c.json');
    writeFileSync(file, JSON.stringify({ opcua }));
    return () => loadConfig(file, {});
  };

  it('defaults: off, localhost, Sign/SignAndEncrypt with Basic256Sha256, no anonymous', () => {
    const c = load({})();
    expect(c.opcua).toMatchObject({
      enabled: false,
      host: '127.0.0.1',
      securityModes: ['Sign', 'SignAndEncrypt'],
      securityPolicies: ['Basic256Sha256'],
      allowAnonymous: false,
      client: { enabled: false, securityMode: 'SignAndEncrypt' },
    });
  });

  it('names each bad key, value and what is allowed', () => {
    const bad = load({
      securityModes: ['None', 'Encrypt'],
      securityPolicies: [],
      client: {
        nodes: [{ camera: 'cam1', verdict: 'Cell1.OK', colour: 'ns=2;i=5' }],
        endpointUrl: 'http://plc',
      },
    });
    expect(bad).toThrow(
      /opcua\.securityModes: got \["None","Encrypt"\]; allowed: a non-empty list drawn from None, Sign, SignAndEncrypt/,
    );
    expect(bad).toThrow(
      /opcua\.securityPolicies: got \[\]; allowed: a non-empty list drawn from None, Basic256Sha256/,
    );
    expect(bad).toThrow(
      /opcua\.client\.nodes\[0\]\.verdict: got "Cell1\.OK"; allowed: a NodeId like "ns=3;s=Cell1\.Verdict"/,
    );
    expect(bad).toThrow(
      /opcua\.client\.nodes\[0\]\.colour: got \(hidden\); allowed: no setting of this name/,
    );
    expect(bad).toThrow(/opcua\.client\.endpointUrl: got "http:\/\/plc"; allowed: an opc\.tcp:\/\/ URL/);
    expect(
      load({ client: { nodes: [{ camera: 'cam1', verdict: 'ns=3;s=Cell 1.OK', score: 'ns=3;i=17' }] } }),
    ).not.toThrow();
  });
});
