// Connecting to Kafka, with a failure said as what the user can fix: the brokers unreachable, TLS
// not trusted, SASL refused. kafkajs' own errors (KafkaJSConnectionError,
// KafkaJSSASLAuthenticationError, …) carry the cause; without this they reach the user as a stack.

import type { KafkaConfig } from 'kafkajs';
import { InputError } from '../../errors.js';

/** `client.connect()`; a failure becomes an InputError naming the brokers and what to check. */
export async function connectTo(client: { connect(): Promise<void> }, command: string, config: KafkaConfig): Promise<void> {
  try {
    await client.connect();
  } catch (err) {
    const e = err as Error;
    const sasl = e.name === 'KafkaJSSASLAuthenticationError';
    const tls = /certificate|self[- ]signed|SSL|TLS|handshake/i.test(e.message);
    const hint = sasl
      ? 'The brokers refused the SASL credentials: check --sasl-mechanism, --sasl-username and the password (KAFKA_SASL_PASSWORD or --sasl-password-file).'
      : tls
        ? 'TLS failed: give the brokers\' CA with --tls-ca (or KAFKA_TLS_CA), and check that the broker address matches its certificate.'
        : 'Check --brokers (host:port reachable from here), and whether the listener wants TLS (--tls) or SASL (--sasl-mechanism).';
    throw new InputError(`${command}: cannot connect to Kafka at ${(config.brokers as string[]).join(',')} (${e.message}). ${hint}`, { retriable: !sasl, cause: err });
  }
}
