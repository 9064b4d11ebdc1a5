import net from 'node:net';
import { Aedes } from 'aedes';
import type { Logger } from 'pino';
import { InspectdError, messageOf } from '../../core/errors.js';

/**
 * A small MQTT broker inside the daemon (aedes) for when no broker is configured, so the demo and a
 * bench-top setup run alone. Listens on localhost only.
 */
export class EmbeddedBroker {
  private broker?: Aedes;
  private server?: net.Server;

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly log: Logger,
  ) {}

  get url(): string {
    const addr = this.server?.address();
    const port = addr && typeof addr === 'object' ? addr.port : this.port;
    return `mqtt://${this.host}:${port}`;
  }

  async start(): Promise<void> {
    this.broker = await Aedes.createBroker();
    const server = net.createServer((socket) => this.broker!.handle(socket));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e) =>
        reject(
          new InspectdError(
            `embedded MQTT broker cannot listen on ${this.host}:${this.port}: ${messageOf(e)}`,
            {
              subject: 'mqtt.embedded.port',
              value: this.port,
              fix: 'another broker may run there: set mqtt.url to use it, or choose another mqtt.embedded.port',
            },
          ),
        ),
      );
      server.listen(this.port, this.host, () => resolve());
    });
    this.log.info(
      { url: this.url },
      `embedded MQTT broker listening on ${this.url} (no mqtt.url configured)`,
    );
  }

  async stop(): Promise<void> {
    await new Promise<void>((r) => (this.broker ? this.broker.close(() => r()) : r()));
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}
