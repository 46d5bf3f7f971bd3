// OTLP receiver: the transport by which SDKs and OpenTelemetry Collectors push spans to ztmap.
// OTLP/HTTP (POST /v1/traces, binary protobuf or JSON, gzip) and OTLP/gRPC (TraceService/Export),
// answering as opentelemetry-proto's docs/specification.md requires:
//   200  ExportTraceServiceResponse, with partial_success (rejected_spans, error_message) when
//        some spans were rejected; in the request's own encoding
//   400  a body that is no request (undecodable); never retried by the client
//   413  a body over the limit, before or after decompression (20 MiB by default, as the spec recommends)
//   401  no or a wrong bearer token, when one is set (`Authorization: Bearer …`; gRPC UNAUTHENTICATED)
//   415  a content type or encoding that is not OTLP's
//   429  the queue of bodies waiting to be read is full (Retry-After)
//   503  the receiver is stopping (Retry-After)
// gRPC: INVALID_ARGUMENT, RESOURCE_EXHAUSTED (over the limit, grpc-js's own check) and
// UNAVAILABLE (queue full, stopping: retryable) in the same cases.
// Error bodies are google.rpc.Status, protobuf or JSON as the request was.
//
// Decoding is not done here (decoders are separate from transports): each request's body goes,
// in arrival order and one at a time, to `onExport`, which says how many spans it rejected.
// Bodies wait in a queue bounded in bytes; the queue is what gives backpressure.

import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createGunzip } from 'node:zlib';
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import type { ReceivedLocation } from '../../errors.js';
import { ExportTraceServiceResponse as Response } from '../decoders/otlp-messages.js';

type OtlpEncoding = 'protobuf' | 'json';

/** One request's body, decompressed, as it arrived. */
export interface OtlpExport {
  body: Buffer;
  encoding: OtlpEncoding;
  location: ReceivedLocation;
}

/** What became of a request: accepted with some spans rejected, or no request at all (400). */
export type ExportAnswer = { kind: 'accepted'; rejectedSpans: number; message?: string } | { kind: 'bad-data'; message: string } | { kind: 'failed'; message: string };

export interface ListenAddress {
  host: string;
  port: number;
}

export interface OtlpReceiverOptions {
  http?: ListenAddress;
  grpc?: ListenAddress;
  /** The longest body, compressed or not (413 / RESOURCE_EXHAUSTED past it). */
  maxBodyBytes: number;
  /** Bytes of bodies waiting to be read, past which requests are refused for a while (429 / UNAVAILABLE). */
  maxQueuedBytes: number;
  /** What Retry-After says, in seconds. */
  retryAfterSeconds: number;
  /** When set, every request must carry `Authorization: Bearer TOKEN` (gRPC: the `authorization` metadata). */
  token?: string;
  /** When set, both listeners speak TLS with this certificate chain and key (PEM). */
  tls?: { cert: Buffer; key: Buffer };
  onExport(e: OtlpExport): ExportAnswer;
  /** A bug met while reading one request (answered 500; the receiver goes on). */
  onInternalError?(err: unknown, location: ReceivedLocation): void;
  /** A request refused before its body was read (`reason`: 'too-large', 'unsupported-media-type', 'busy', 'stopping', 'bad-request'…). */
  onRefused?(reason: string, location: ReceivedLocation, detail: string): void;
}

const TRACES_PATH = '/v1/traces';
/** gRPC calls whose messages may be read at once (each reserves this share of --max-queued-bytes). */
const GRPC_CALLS_IN_FLIGHT = 8;
/** How long a body may pause between bytes before its request is dropped. */
const BODY_IDLE_MS = 10_000;
/** Open HTTP connections at most (an SDK or Collector keeps a few). */
const MAX_CONNECTIONS = 512;
const GRPC_PATH = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';
// google.rpc.Status (google/rpc/status.proto): what the spec says error bodies are. Defined by
// reflection from its three fields, as protobufjs builds any message type.
const Status = new protobuf.Type('Status').add(new protobuf.Field('code', 1, 'int32')).add(new protobuf.Field('message', 2, 'string'));
new protobuf.Root().define('google.rpc').add(Status);
// google.rpc.Code values the HTTP errors correspond to.
const CODE = { invalidArgument: 3, resourceExhausted: 8, unavailable: 14, unimplemented: 12, internal: 13, unauthenticated: 16 } as const;

interface Queued {
  e: OtlpExport;
  resolve(a: ExportAnswer): void;
}

export class OtlpReceiver {
  private readonly _o: OtlpReceiverOptions;
  private _http: HttpServer | undefined;
  private _grpc: grpc.Server | undefined;
  private readonly _queue: Queued[] = [];
  private _queuedBytes = 0;
  // Bytes of bodies being received (not yet queued): counted against the same bound.
  private _receivingBytes = 0;
  private _draining = false;
  private _requests = 0;
  private _working = false;

  constructor(options: OtlpReceiverOptions) {
    this._o = options;
  }

  /** Listens; the addresses really bound (port 0 gives a free one). */
  async start(): Promise<{ http?: string; grpc?: string }> {
    const out: { http?: string; grpc?: string } = {};
    if (this._o.http !== undefined) {
      const { host, port } = this._o.http;
      const handler = (req: IncomingMessage, res: ServerResponse) => this._onHttp(req, res);
      const tls = this._o.tls;
      const server: HttpServer = tls === undefined ? createServer(handler) : createTlsServer({ cert: tls.cert, key: tls.key }, handler);
      // A slow sender must not hold a socket forever, nor many senders every descriptor.
      server.requestTimeout = 60_000;
      server.headersTimeout = 30_000;
      server.maxConnections = MAX_CONNECTIONS;
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => resolve());
      });
      this._http = server;
      const a = server.address() as AddressInfo;
      out.http = `${tls === undefined ? 'http' : 'https'}://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
    }
    if (this._o.grpc !== undefined) {
      const { host, port } = this._o.grpc;
      // grpc-js reads each message whole before the handler sees it. So the token, a stop and a
      // full queue are answered from the call's metadata, before the message is read; and a call
      // let through reserves a share of the queue until its message is in (the handler then
      // counts the message itself): at most GRPC_CALLS_IN_FLIGHT calls are read at once, each up
      // to --max-body-bytes, without refusing the many small concurrent calls a Collector makes.
      const share = Math.min(this._o.maxBodyBytes, Math.floor(this._o.maxQueuedBytes / GRPC_CALLS_IN_FLIGHT));
      const early: grpc.ServerInterceptor = (_method, call) => {
        let reserved = 0;
        const release = () => {
          this._receivingBytes -= reserved;
          reserved = 0;
        };
        return new grpc.ServerInterceptingCall(call, {
          start: (next) =>
            next({
              onReceiveMetadata: (metadata, pass) => {
                const refusal = this._grpcRefusal(metadata.get('authorization')[0], share);
                if (refusal === undefined) {
                  reserved = share;
                  this._receivingBytes += reserved;
                  return pass(metadata);
                }
                this._refuse(refusal.reason, this._location('otlp-grpc', call.getPeer()), refusal.message);
                call.sendStatus({ code: refusal.code, details: refusal.message });
              },
              onReceiveMessage: (message, pass) => {
                release();
                pass(message);
              },
              onCancel: () => release(),
            }),
          // Every call ends with a status, however it ends (an over-long message grpc-js refuses itself).
          sendStatus: (status, pass) => {
            release();
            pass(status);
          },
        });
      };
      const server = new grpc.Server({ 'grpc.max_receive_message_length': this._o.maxBodyBytes, 'grpc.max_concurrent_streams': 4, interceptors: [early] });
      const raw = (b: Buffer) => b;
      server.addService(
        { Export: { path: GRPC_PATH, requestStream: false, responseStream: false, requestSerialize: raw, requestDeserialize: raw, responseSerialize: raw, responseDeserialize: raw, originalName: 'Export' } },
        { Export: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => void this._onGrpc(call, callback) },
      );
      const bound = await new Promise<number>((resolve, reject) => {
        const tls = this._o.tls;
        const credentials = tls === undefined ? grpc.ServerCredentials.createInsecure() : grpc.ServerCredentials.createSsl(null, [{ cert_chain: tls.cert, private_key: tls.key }], false);
        server.bindAsync(`${host.includes(':') ? `[${host}]` : host}:${port}`, credentials, (err, p) => (err ? reject(err) : resolve(p)));
      });
      this._grpc = server;
      out.grpc = `${host.includes(':') ? `[${host}]` : host}:${bound}`;
    }
    return out;
  }

  /** Refuses new requests (503 / UNAVAILABLE), answers those queued, and closes the listeners. */
  async stop(): Promise<void> {
    this._draining = true;
    while (this._queue.length > 0 || this._working) await new Promise((r) => setTimeout(r, 5));
    const http = this._http;
    if (http !== undefined) {
      http.closeIdleConnections();
      await new Promise<void>((resolve) => {
        http.close(() => resolve());
        // Connections mid-request get a moment to finish, then go.
        setTimeout(() => http.closeAllConnections(), 2000).unref();
      });
    }
    const g = this._grpc;
    if (g !== undefined) {
      await new Promise<void>((resolve) => {
        const force = setTimeout(() => g.forceShutdown(), 2000);
        force.unref();
        g.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      });
    }
  }

  private _location(receiver: string, peer: string | undefined): ReceivedLocation {
    return { receiver, request: ++this._requests, ...(peer === undefined ? {} : { peer }) };
  }

  /** Whether `authorization` (a header or metadata value) carries the token, compared in constant time; true when no token is set. */
  private _authorized(authorization: unknown): boolean {
    const token = this._o.token;
    if (token === undefined) return true;
    if (typeof authorization !== 'string') return false;
    const m = /^Bearer +(.+)$/i.exec(authorization.trim());
    if (m === null) return false;
    const given = Buffer.from(m[1]!);
    const want = Buffer.from(token);
    return given.length === want.length && timingSafeEqual(given, want);
  }

  /** Whether `extra` more bytes would overfill the queue; an empty queue takes any body under the body limit. */
  private _busy(extra: number): boolean {
    const held = this._queuedBytes + this._receivingBytes;
    return held > 0 && held + extra > this._o.maxQueuedBytes;
  }

  /** Queues an export; resolves with its answer once `onExport` has read it. */
  private _enqueue(e: OtlpExport): Promise<ExportAnswer> {
    return new Promise((resolve) => {
      this._queue.push({ e, resolve });
      this._queuedBytes += e.body.length;
      if (!this._working) this._work();
    });
  }

  // One export at a time, yielding to I/O between them: sockets keep being read (and refused
  // with 429 when the queue is full) while a large body is decoded.
  private _work(): void {
    this._working = true;
    const next = this._queue.shift();
    if (next === undefined) {
      this._working = false;
      return;
    }
    this._queuedBytes -= next.e.body.length;
    let answer: ExportAnswer;
    try {
      answer = this._o.onExport(next.e);
    } catch (err) {
      // A bug while reading one request must not stop the receiver: the request is answered
      // 500 (which OTLP clients do not retry) and the bug is shown.
      this._o.onInternalError?.(err, next.e.location);
      answer = { kind: 'failed', message: `internal error: ${(err as Error).message}` };
    }
    next.resolve(answer);
    setImmediate(() => this._work());
  }

  private _refuse(reason: string, location: ReceivedLocation, detail: string): void {
    this._o.onRefused?.(reason, location, detail);
  }

  // ------------------------------------------------------------------ OTLP/HTTP

  private _onHttp(req: IncomingMessage, res: ServerResponse): void {
    const peer = req.socket.remoteAddress === undefined ? undefined : `${req.socket.remoteAddress}:${req.socket.remotePort}`;
    const location = this._location('otlp-http', peer);
    const media = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    const encoding: OtlpEncoding | undefined = media === 'application/x-protobuf' ? 'protobuf' : media === 'application/json' ? 'json' : undefined;
    const fail = (status: number, code: number, reason: string, message: string, headers: Record<string, string> = {}) => {
      this._refuse(reason, location, message);
      sendStatus(res, status, encoding ?? 'json', code, message, headers);
      // The rest of a refused body is read and dropped (bounded in bytes and time), so that the
      // sender sees the answer, not a reset it would retry; then the connection closes.
      if (!req.complete) {
        let drained = 0;
        req.on('data', (c: Buffer) => {
          drained += c.length;
          if (drained > this._o.maxBodyBytes) req.destroy();
        });
        req.resume();
        setTimeout(() => req.destroy(), 5000).unref();
      }
    };
    if (!this._authorized(req.headers['authorization'])) return fail(401, CODE.unauthenticated, 'unauthenticated', 'a bearer token is required: send Authorization: Bearer TOKEN (the token collect was started with)', { 'WWW-Authenticate': 'Bearer' });
    const path = (req.url ?? '').split('?')[0];
    if (path !== TRACES_PATH) return fail(404, CODE.unimplemented, 'not-found', `no such path; OTLP traces are POSTed to ${TRACES_PATH}`);
    if (req.method !== 'POST') return fail(405, CODE.unimplemented, 'method-not-allowed', `${TRACES_PATH} takes POST`, { Allow: 'POST' });
    if (encoding === undefined) return fail(415, CODE.invalidArgument, 'unsupported-media-type', `Content-Type ${JSON.stringify(media)} is not OTLP's: send application/x-protobuf or application/json`);
    const contentEncoding = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
    if (contentEncoding !== 'identity' && contentEncoding !== 'gzip') return fail(415, CODE.invalidArgument, 'unsupported-media-type', `Content-Encoding ${JSON.stringify(contentEncoding)} is not supported: send gzip or none`);
    const retry = { 'Retry-After': String(this._o.retryAfterSeconds) };
    if (this._draining) return fail(503, CODE.unavailable, 'stopping', 'the receiver is stopping; retry later', retry);
    const declared = Number(req.headers['content-length'] ?? 0) || 0;
    if (declared > this._o.maxBodyBytes) return fail(413, CODE.resourceExhausted, 'too-large', `a body of ${declared} bytes is over the limit of ${this._o.maxBodyBytes} (--max-body-bytes)`);
    if (this._busy(declared)) return fail(429, CODE.unavailable, 'busy', 'too many spans waiting to be read; retry later', retry);
    // Bytes are reserved against the queue's bound as they come (a declared length is no byte
    // held, and a sender that declares much and sends nothing must not stop everyone), and a
    // gzip body's output as it is inflated. Released when the body is queued, refused or broken off.
    let reserved = 0;
    const release = () => {
      this._receivingBytes -= reserved;
      reserved = 0;
    };
    const reserve = (bytes: number): boolean => {
      if (this._busy(bytes)) return false;
      this._receivingBytes += bytes;
      reserved += bytes;
      return true;
    };
    const chunks: Buffer[] = [];
    let received = 0;
    let over = false;
    const stop = (status: number, code: number, reason: string, message: string, headers?: Record<string, string>) => {
      over = true;
      release();
      chunks.length = 0;
      fail(status, code, reason, message, headers);
    };
    // A body that stops coming holds its reservation: after a while without a byte, it goes.
    req.setTimeout(BODY_IDLE_MS, () => {
      if (!over) {
        over = true;
        release();
        this._refuse('body-timeout', location, `no byte of the body for ${BODY_IDLE_MS / 1000} s`);
      }
      req.destroy();
    });
    req.on('data', (chunk: Buffer) => {
      if (over) return;
      received += chunk.length;
      if (received > this._o.maxBodyBytes) return stop(413, CODE.resourceExhausted, 'too-large', `the body is over the limit of ${this._o.maxBodyBytes} bytes (--max-body-bytes)`);
      if (!reserve(chunk.length)) return stop(429, CODE.unavailable, 'busy', 'too many spans waiting to be read; retry later', retry);
      chunks.push(chunk);
    });
    req.on('error', () => {
      if (!over) release();
      over = true;
    });
    req.on('end', () => {
      if (over) return;
      const raw = Buffer.concat(chunks);
      chunks.length = 0;
      const proceed = (body: Buffer) => {
        release();
        void this._enqueue({ body, encoding, location }).then((a) => {
          if (a.kind === 'bad-data') return sendStatus(res, 400, encoding, CODE.invalidArgument, a.message);
          if (a.kind === 'failed') return sendStatus(res, 500, encoding, CODE.internal, a.message);
          sendResponse(res, encoding, a);
        });
      };
      if (contentEncoding !== 'gzip') return proceed(raw);
      const inflate = createGunzip();
      const out: Buffer[] = [];
      let inflated = 0;
      inflate.on('data', (c: Buffer) => {
        if (over) return;
        inflated += c.length;
        if (inflated > this._o.maxBodyBytes) {
          inflate.destroy();
          return stop(413, CODE.resourceExhausted, 'too-large', `the body decompresses to more than ${this._o.maxBodyBytes} bytes (--max-body-bytes)`);
        }
        if (!reserve(c.length)) {
          inflate.destroy();
          return stop(429, CODE.unavailable, 'busy', 'too many spans waiting to be read; retry later', retry);
        }
        out.push(c);
      });
      inflate.on('error', (err) => {
        if (!over) stop(400, CODE.invalidArgument, 'bad-gzip', `the body is not valid gzip: ${err.message}`);
      });
      inflate.on('end', () => {
        if (!over) proceed(Buffer.concat(out));
      });
      inflate.end(raw);
    });
  }

  // ------------------------------------------------------------------ OTLP/gRPC

  /** Why a gRPC call of `bytes` is refused (no token, stopping, the queue full), or undefined. */
  private _grpcRefusal(authorization: unknown, bytes: number): { code: grpc.status; reason: string; message: string } | undefined {
    if (!this._authorized(authorization)) return { code: grpc.status.UNAUTHENTICATED, reason: 'unauthenticated', message: 'a bearer token is required: send the metadata authorization: Bearer TOKEN' };
    if (this._draining) return { code: grpc.status.UNAVAILABLE, reason: 'stopping', message: 'the receiver is stopping; retry later' };
    if (this._busy(bytes)) return { code: grpc.status.UNAVAILABLE, reason: 'busy', message: 'too many spans waiting to be read; retry later' };
    return undefined;
  }

  private async _onGrpc(call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>): Promise<void> {
    const location = this._location('otlp-grpc', call.getPeer());
    const fail = (code: grpc.status, reason: string, message: string) => {
      this._refuse(reason, location, message);
      callback({ code, details: message });
    };
    const body = call.request;
    const refusal = this._grpcRefusal(call.metadata.get('authorization')[0], body.length);
    if (refusal !== undefined) return fail(refusal.code, refusal.reason, refusal.message);
    const a = await this._enqueue({ body, encoding: 'protobuf', location });
    if (a.kind === 'bad-data') return callback({ code: grpc.status.INVALID_ARGUMENT, details: a.message });
    if (a.kind === 'failed') return callback({ code: grpc.status.INTERNAL, details: a.message });
    callback(null, responseBytes(a));
  }
}

function responseBytes(a: { rejectedSpans: number; message?: string }): Buffer {
  return Buffer.from(Response.encode(Response.fromObject(responseObject(a))).finish());
}

/** The spec: partial_success unset on full success; set when spans were rejected or there is a warning. */
function responseObject(a: { rejectedSpans: number; message?: string }): Record<string, unknown> {
  if (a.rejectedSpans === 0 && a.message === undefined) return {};
  return { partialSuccess: { rejectedSpans: String(a.rejectedSpans), errorMessage: a.message ?? '' } };
}

function sendResponse(res: ServerResponse, encoding: OtlpEncoding, a: { rejectedSpans: number; message?: string }): void {
  const body = encoding === 'protobuf' ? responseBytes(a) : Buffer.from(JSON.stringify(responseObject(a)));
  res.writeHead(200, { 'Content-Type': encoding === 'protobuf' ? 'application/x-protobuf' : 'application/json', 'Content-Length': body.length });
  res.end(body);
}

function sendStatus(res: ServerResponse, status: number, encoding: OtlpEncoding, code: number, message: string, headers: Record<string, string> = {}): void {
  if (res.headersSent) return;
  const body = encoding === 'protobuf' ? Buffer.from(Status.encode(Status.create({ code, message })).finish()) : Buffer.from(JSON.stringify({ code, message }));
  res.writeHead(status, { ...headers, 'Content-Type': encoding === 'protobuf' ? 'application/x-protobuf' : 'application/json', 'Content-Length': body.length, Connection: 'close' });
  res.end(body);
}
