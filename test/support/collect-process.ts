// `ztmap collect` as a child process on loopback: started on free ports (port 0), its addresses
// read from its listening line, stopped with a signal; and OTLP/HTTP and OTLP/gRPC requests to it.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import type { CollectStatus } from '../../src/cli/commands/collect.js';
import { BIN } from './paths.js';

export interface Collector {
  child: ChildProcess;
  http: string;
  grpc: string;
  stderr(): string;
  /** Resolves with the exit code (or the signal's name). */
  exited: Promise<number | string>;
}

export async function startCollect(args: string[]): Promise<Collector> {
  const child = spawn(process.execPath, [BIN, 'collect', '--otlp-http', '127.0.0.1:0', '--otlp-grpc', '127.0.0.1:0', ...args], { stdio: ['ignore', 'ignore', 'pipe'], env: { PATH: process.env['PATH'] ?? '' } });
  let err = '';
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));
  const listening = await new Promise<RegExpExecArray>((resolve, reject) => {
    child.stderr!.on('data', (b: Buffer) => {
      err += b.toString();
      const m = /collect: listening otlp-http=(\S+) otlp-grpc=(\S+)/.exec(err);
      if (m !== null) resolve(m);
    });
    void exited.then((code) => reject(new Error(`collect exited (${code}) before listening:\n${err}`)));
  });
  return { child, http: listening[1]!, grpc: listening[2]!, stderr: () => err, exited };
}

export function status(out: string): CollectStatus | undefined {
  const f = join(out, 'collect-status.json');
  return existsSync(f) ? (JSON.parse(readFileSync(f, 'utf8')) as CollectStatus) : undefined;
}

/** Waits until a checkpoint later than `after` (its count) is in OUT. */
export async function nextCheckpoint(out: string, after = 0, timeoutMs = 15_000): Promise<CollectStatus> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const s = status(out);
    if (s !== undefined && s.checkpoints > after) return s;
    if (Date.now() > until) throw new Error(`no checkpoint after ${after} in ${out} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** POSTs `body` to `${base}${path}` with the given headers. */
export function post(base: string, body: Buffer | string, headers: Record<string, string | number>, path = '/v1/traces', ca?: Buffer): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const send = base.startsWith('https:') ? httpsRequest : request;
    const req = send(`${base}${path}`, { method: 'POST', headers: { 'Content-Length': Buffer.byteLength(body), ...headers }, ...(ca === undefined ? {} : { ca }) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** One OTLP/gRPC TraceService/Export call with a raw protobuf body: the response bytes, or the gRPC error. */
export function grpcExport(address: string, body: Buffer, o: { token?: string; ca?: Buffer } = {}): Promise<{ response?: Buffer; error?: grpc.ServiceError }> {
  const client = new grpc.Client(address, o.ca === undefined ? grpc.credentials.createInsecure() : grpc.credentials.createSsl(o.ca));
  const metadata = new grpc.Metadata();
  if (o.token !== undefined) metadata.set('authorization', `Bearer ${o.token}`);
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
      (b: Buffer) => b,
      (b: Buffer) => b,
      body,
      metadata,
      (error, response) => {
        client.close();
        resolve(error ? { error } : { response: response! });
      },
    );
  });
}
