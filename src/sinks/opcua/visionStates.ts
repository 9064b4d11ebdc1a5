/**
 * The OPC 40100 vision state machine as inspectd runs it, pure: states, the commands (methods and internal
 * events) and the transition each causes, named as in the nodeset so the address space can show it.
 *
 *   Preoperational --SelectModeAutomatic--> Operational (automatic mode: Ready)
 *   Operational: Ready --StartSingleJob--> SingleExecution --(result)--> Ready
 *                Ready --StartContinuous--> ContinuousExecution --Stop|Abort--> Ready
 *   Preoperational | Operational | Error --Halt--> Halted --Reset--> Preoperational
 *   Operational | Error --Reset--> Preoperational ; Preoperational | Operational --(camera failed)--> Error
 *
 * What the pipeline does in each state: see `modeOf`.
 */

export type MainState = 'Preoperational' | 'Operational' | 'Error' | 'Halted';
export type AutoState = 'Ready' | 'SingleExecution' | 'ContinuousExecution';
export interface VisionState {
  main: MainState;
  /** The automatic-mode sub-state, only while Operational. */
  auto?: AutoState;
}

export type VisionCommand =
  | 'Halt'
  | 'Reset'
  | 'SelectModeAutomatic'
  | 'StartSingleJob'
  | 'StartContinuous'
  | 'Stop'
  | 'Abort'
  /** The single job's result is out. */
  | 'SingleDone'
  /** The camera failed (its source gave up). */
  | 'Fault';

export type Transition = { ok: true; state: VisionState; transition: string } | { ok: false; reason: string };

const to = (state: VisionState, transition: string): Transition => ({ ok: true, state, transition });

export function describeState(s: VisionState): string {
  return s.auto ? `${s.main}/${s.auto}` : s.main;
}

/** The transition `cmd` causes from `s`, or why it is not allowed there. */
export function transition(s: VisionState, cmd: VisionCommand): Transition {
  const refuse = (): Transition => ({
    ok: false,
    reason: `${cmd} is not allowed in state ${describeState(s)}`,
  });
  const { main, auto } = s;
  switch (cmd) {
    case 'Halt':
      return main === 'Halted' ? refuse() : to({ main: 'Halted' }, `${main}ToHalted`);
    case 'Reset':
      return main === 'Preoperational' ? refuse() : to({ main: 'Preoperational' }, `${main}ToPreoperational`);
    case 'SelectModeAutomatic':
      return main === 'Preoperational'
        ? to({ main: 'Operational', auto: 'Ready' }, 'PreoperationalToOperational')
        : refuse();
    case 'Fault':
      return main === 'Preoperational' || main === 'Operational'
        ? to({ main: 'Error' }, `${main}ToErrorAuto`)
        : refuse();
    case 'StartSingleJob':
    case 'StartContinuous':
      if (main !== 'Operational' || auto !== 'Ready') return refuse();
      {
        const next = cmd === 'StartSingleJob' ? 'SingleExecution' : 'ContinuousExecution';
        return to({ main, auto: next }, `ReadyTo${next}`);
      }
    case 'Stop':
    case 'Abort':
      if (main !== 'Operational' || (auto !== 'SingleExecution' && auto !== 'ContinuousExecution'))
        return refuse();
      return to({ main, auto: 'Ready' }, `${auto}ToReady${cmd}`);
    case 'SingleDone':
      return main === 'Operational' && auto === 'SingleExecution'
        ? to({ main, auto: 'Ready' }, 'SingleExecutionToReadyAuto')
        : refuse();
  }
}

/**
 * What the camera's pipeline does in a state: every frame in ContinuousExecution; requested frames only in
 * Ready and SingleExecution (StartSingleJob and the Trigger tag); nothing otherwise.
 */
export function modeOf(s: VisionState): 'continuous' | 'triggered' | 'stopped' {
  if (s.main !== 'Operational') return 'stopped';
  return s.auto === 'ContinuousExecution' ? 'continuous' : 'triggered';
}

/** A trigger (StartSingleJob's pipeline side, or the Trigger tag) is accepted in these states. */
export function canTrigger(s: VisionState): boolean {
  return s.main === 'Operational' && (s.auto === 'Ready' || s.auto === 'ContinuousExecution');
}
