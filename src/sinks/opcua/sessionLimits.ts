import { ServiceFault, StatusCodes, type OPCUAServer } from 'node-opcua';
import type { Logger } from 'pino';

export interface SessionLimits {
  maxSessions: number;
  maxSessionsPerClient: number;
  maxSessionTimeoutSec: number;
}

interface Channel {
  remoteAddress?: string;
  send_response(type: string, response: unknown, message: unknown): void;
}

interface Session {
  channel?: Channel;
  status: string;
  authenticationToken: unknown;
}

interface Engine {
  getSessions(): Session[];
  closeSession(token: unknown, deleteSubscriptions: boolean, reason: string): Promise<void>;
  incrementRejectedSessionCount(): void;
  serverCapabilities: { maxSessions: number };
}

type CreateSession = (
  message: { request: { requestedSessionTimeout: number } },
  channel: Channel,
) => Promise<void>;

/** A session nobody can use any more: its client went away without closing it. */
const abandoned = (s: Session): boolean => !s.channel || ['screwed', 'disposed', 'closed'].includes(s.status);

/**
 * Sessions no client can hoard: at most `maxSessions` in all and `maxSessionsPerClient` from one address;
 * a session timeout bounded by `maxSessionTimeoutSec` whatever the client asks (it may ask for 50 minutes);
 * sessions whose client left without closing them are closed as soon as a new one needs the room. Every refusal
 * is counted in the server's diagnostics (RejectedSessionCount), which /metrics shows.
 */
export function limitSessions(
  server: OPCUAServer,
  s: SessionLimits,
  log: Logger,
  refused: (why: string) => void,
): void {
  const engine = server.engine as unknown as Engine;
  engine.serverCapabilities.maxSessions = s.maxSessions;
  const target = server as unknown as { _on_CreateSessionRequest: CreateSession };
  const create = target._on_CreateSessionRequest.bind(server);
  target._on_CreateSessionRequest = async (message, channel) => {
    const request = message.request;
    request.requestedSessionTimeout = Math.min(
      request.requestedSessionTimeout || 30_000,
      s.maxSessionTimeoutSec * 1000,
    );
    const address = channel.remoteAddress ?? '?';
    const fromClient = (): number =>
      engine.getSessions().filter((x) => !abandoned(x) && x.channel?.remoteAddress === address).length;
    if (engine.getSessions().length >= s.maxSessions) await reapAbandoned(engine, log);
    const refusal =
      engine.getSessions().length >= s.maxSessions
        ? `all ${s.maxSessions} sessions in use (opcua.maxSessions)`
        : fromClient() >= s.maxSessionsPerClient
          ? `${address} holds ${s.maxSessionsPerClient} sessions already (opcua.maxSessionsPerClient)`
          : undefined;
    if (refusal) {
      engine.incrementRejectedSessionCount();
      refused(refusal);
      log.warn({ client: address }, `OPC UA: session refused: ${refusal}`);
      channel.send_response(
        'MSG',
        new ServiceFault({ responseHeader: { serviceResult: StatusCodes.BadTooManySessions } }),
        message,
      );
      return;
    }
    return create(message, channel);
  };
}

async function reapAbandoned(engine: Engine, log: Logger): Promise<void> {
  const gone = engine.getSessions().filter(abandoned);
  for (const x of gone)
    await engine.closeSession(x.authenticationToken, true, 'Forcing').catch(() => undefined);
  if (gone.length)
    log.info({ closed: gone.length }, `OPC UA: ${gone.length} abandoned session(s) closed to make room`);
}
