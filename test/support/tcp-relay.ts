// A TCP relay on 127.0.0.1:0 whose destination is given later. A process that must be told where
// to send something before that place exists (an OpenTelemetry SDK reads its exporter endpoint
// once, at start, but the receiver can only start once the inventory names the ports the
// instrumented services listen on) is pointed at the relay; connections that arrive before
// `connect` wait, paused, and are piped through once the destination is known. Bytes are passed
// as they are (OTLP/HTTP and h2c gRPC alike).

import { connect, createServer, type Server, type Socket } from 'node:net';

export class TcpRelay {
  private _target: number | undefined;
  private readonly _waiting: Socket[] = [];
  private readonly _open = new Set<Socket>();

  private constructor(
    private readonly _server: Server,
    /** The relay's own port, to hand to the clients. */
    readonly port: number,
  ) {
    _server.on('connection', (s) => this._accept(s));
  }

  /** A relay listening on 127.0.0.1 at a port the system chose. */
  static async open(): Promise<TcpRelay> {
    const server = createServer({ pauseOnConnect: true });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', resolve);
    });
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('relay: no port');
    return new TcpRelay(server, address.port);
  }

  /** From now on, every connection (and every one that waited) goes to 127.0.0.1:`port`. */
  connect(port: number): void {
    this._target = port;
    for (const s of this._waiting.splice(0)) this._pipe(s, port);
  }

  async close(): Promise<void> {
    for (const s of this._open) s.destroy();
    await new Promise<void>((resolve) => this._server.close(() => resolve()));
  }

  private _accept(s: Socket): void {
    this._open.add(s);
    s.once('close', () => this._open.delete(s));
    if (this._target === undefined) this._waiting.push(s);
    else this._pipe(s, this._target);
  }

  private _pipe(s: Socket, port: number): void {
    const up = connect(port, '127.0.0.1');
    this._open.add(up);
    up.once('close', () => this._open.delete(up));
    // Either side failing or closing ends both: the client sees its connection reset, as it
    // would without a relay.
    s.on('error', () => up.destroy());
    up.on('error', () => s.destroy());
    s.pipe(up);
    up.pipe(s);
    s.resume();
  }
}
