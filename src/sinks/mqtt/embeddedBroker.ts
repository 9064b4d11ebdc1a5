import net from 'node:net';
import { Aedes } from 'aedes';
import type { Logger } from 'pino';
import { boundPort, listen } from '../../core/listen.js';

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
    return `mqtt://${this.host}:${boundPort(this.server, this.port)}`;
  }

  async start(): Promise<void> {
    this.broker = await Aedes.createBroker();
    const server = net.createServer((socket) => this.broker!.handle(socket));
    this.server = server;
    await listen(server, this.host, this.port, {
      name: 'embedded MQTT broker',
      setting: 'mqtt.embedded.port',
      fix: 'another broker may run there: set mqtt.url to use it, or choose another mqtt.embedded.port',
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
