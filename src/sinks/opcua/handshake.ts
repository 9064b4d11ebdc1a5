import { messageOf } from '../../core/errors.js';

/** The handshake's outputs, as the flat tags show them. */
export interface HandshakeOutputs {
  ready: boolean;
  busy: boolean;
  resultValid: boolean;
  lastError: string;
}

export interface HandshakeDeps {
  /** Why a trigger cannot be accepted now (state, recipe switch...), or undefined when it can. */
  refusal(): string | undefined;
  /** Inspects the next frame for `partId`; resolves once its result tags are written. */
  request(partId: string | undefined): Promise<unknown>;
  /** Writes the outputs that changed. */
  output(changed: Partial<HandshakeOutputs>): void;
  /** Gives up the running inspection (the PLC dropped Trigger before the result). */
  abort(reason: string): void;
}

/**
 * The PLC trigger handshake of one camera (docs/OPCUA.md has the timing diagram):
 *
 *   PLC writes PartId, raises Trigger -> Busy, Ready drops -> result tags written -> ResultValid rises, Busy
 *   drops -> PLC reads the result and drops Trigger -> ResultValid drops, Ready rises.
 *
 * Only edges of Trigger count. A rising edge while busy or in a state that cannot inspect is refused with
 * LastError; a failed inspection drops Busy and sets LastError with ResultValid left low; a Trigger dropped
 * before the result aborts the inspection (the PLC gave up waiting: a camera that never delivers must not
 * leave the handshake busy for good).
 */
export class TriggerHandshake {
  private trigger = false;
  private busy = false;
  private valid = false;

  constructor(private readonly deps: HandshakeDeps) {}

  /** Ready = a rising Trigger would be accepted now. */
  get ready(): boolean {
    return !this.busy && !this.valid && this.deps.refusal() === undefined;
  }

  outputs(): HandshakeOutputs {
    return { ready: this.ready, busy: this.busy, resultValid: this.valid, lastError: '' };
  }

  /** Re-evaluates Ready after a change elsewhere (state machine, recipe). */
  refresh(): void {
    this.deps.output({ ready: this.ready });
  }

  /** A new value of the Trigger tag, with the PartId tag's value at that moment. */
  onTrigger(value: boolean, partId: string): void {
    if (value === this.trigger) return;
    this.trigger = value;
    if (!value) {
      if (this.busy) this.deps.abort('Trigger dropped before the result');
      if (this.valid) {
        this.valid = false;
        this.deps.output({ resultValid: false, ready: this.ready });
      }
      return;
    }
    if (this.busy) {
      this.deps.output({ lastError: 'Trigger raised while the previous inspection is still running' });
      return;
    }
    const why = this.deps.refusal();
    if (why) {
      this.deps.output({ lastError: `Trigger refused: ${why}` });
      return;
    }
    this.busy = true;
    this.deps.output({ busy: true, ready: false, lastError: '' });
    this.deps.request(partId || undefined).then(
      () => {
        this.busy = false;
        // Result tags are already written: raising ResultValid last makes a polling PLC read fresh values.
        this.valid = this.trigger;
        this.deps.output({ resultValid: this.valid, busy: false, ready: this.ready });
      },
      (e: unknown) => {
        this.busy = false;
        this.deps.output({ busy: false, ready: this.ready, lastError: `inspection failed: ${messageOf(e)}` });
      },
    );
  }
}
