import { ServerTCP_transport } from 'node-opcua-transport';

/**
 * A defect of node-opcua-transport (2.182 up to 2.186.4, the latest): when a client's first TCP write holds the
 * HEL and more (a pipelined OPN, or any chunk), the server handles the HEL inside the packet assembler's feed,
 * replaces the assembler with one sized by the HEL, and the old one goes on with the rest of the write with no
 * listeners: a chunk there is silently lost, and a chunk over the pre-HEL limit (4 KiB) makes it emit 'error'
 * with nobody listening, which Node throws: one unauthenticated write ends the process.
 *
 * The fix carried here: until the HEL is handled, a connection's bytes are handed on one whole message at a
 * time, so the rest of the first write reaches the assembler the HEL installed. Everything after the HEL goes
 * through untouched.
 */

/** The first message is never larger than this before a HEL (a HEL is 32 bytes plus an endpoint URL <= 4096). */
const FIRST_MESSAGE_MAX = 64 * 1024;
const HEADER = 8;

/**
 * Splits off the first whole message of `buffered`: `[first, rest]`; `[undefined, buffered]` while it is
 * incomplete. A first message that claims more than a HEL can be is passed on whole, for the transport to
 * refuse with its own error.
 */
export function splitFirstMessage(buffered: Buffer): [Buffer | undefined, Buffer] {
  if (buffered.length < HEADER) return [undefined, buffered];
  const size = buffered.readUInt32LE(4);
  if (size < HEADER || size > FIRST_MESSAGE_MAX) return [buffered, Buffer.alloc(0)];
  if (buffered.length < size) return [undefined, buffered];
  return [buffered.subarray(0, size), buffered.subarray(size)];
}

interface PatchedTransport {
  _helloReceived?: boolean;
  _aborted?: number;
  _inspectdPending?: Buffer;
  _on_socket_data(data: Buffer): void;
}

let patched = false;

/** Installs the fix once per process (idempotent). */
export function patchServerTransport(): void {
  if (patched) return;
  patched = true;
  const proto = ServerTCP_transport.prototype as unknown as PatchedTransport;
  const original = proto._on_socket_data;
  proto._on_socket_data = function (this: PatchedTransport, data: Buffer): void {
    if (this._helloReceived || this._aborted) return original.call(this, data);
    let pending = this._inspectdPending ? Buffer.concat([this._inspectdPending, data]) : data;
    this._inspectdPending = undefined;
    for (;;) {
      const [first, rest] = splitFirstMessage(pending);
      if (!first) {
        if (pending.length) this._inspectdPending = pending;
        return;
      }
      original.call(this, first);
      pending = rest;
      if (!pending.length) return;
      // The HEL is handled (or refused): the rest goes to the assembler that is in place now.
      if (this._helloReceived || this._aborted) return original.call(this, pending);
    }
  };
}
