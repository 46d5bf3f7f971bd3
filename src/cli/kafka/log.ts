// kafkajs' log, as ztmap prints it: to stderr, one line an entry, WARN and above by default
// (ZTMAP_KAFKA_LOG=error|warn|info|debug). kafkajs logs the retries it makes on its own at ERROR
// level ("The coordinator is loading", "concurrent transactions" while the broker finishes the
// previous transaction), and every error answer a broker gives at ERROR level under
// `[Connection] Response …` before kafkajs retries it or hands it to ztmap (which then says what
// failed): those are shown only at debug, so that an ERROR line means something went wrong.

import { logLevel, type logCreator } from 'kafkajs';
import { printable } from '../../text.js';

const LEVELS: Record<string, logLevel> = { error: logLevel.ERROR, warn: logLevel.WARN, info: logLevel.INFO, debug: logLevel.DEBUG };
const NAMES: Record<number, string> = { [logLevel.ERROR]: 'ERROR', [logLevel.WARN]: 'WARN', [logLevel.INFO]: 'INFO', [logLevel.DEBUG]: 'DEBUG' };

/** The level asked for in `env`, WARN if none or unknown. */
export function kafkaLogLevel(env: NodeJS.ProcessEnv): logLevel {
  return LEVELS[(env['ZTMAP_KAFKA_LOG'] ?? '').toLowerCase()] ?? logLevel.WARN;
}

/** A kafkajs logCreator writing through `write` with the command's name in front. */
export function kafkaLog(command: string, write: (line: string) => void): logCreator {
  return (level) =>
    ({ namespace, level: entryLevel, log }) => {
      const { message, retryCount, retryTime, ...extra } = log as { message: string; retryCount?: number; retryTime?: number; [k: string]: unknown };
      // A retry kafkajs makes itself is debug, whatever level it was logged at.
      const retry = retryCount !== undefined || retryTime !== undefined || (namespace === 'Connection' && message.startsWith('Response '));
      const effective = retry ? logLevel.DEBUG : entryLevel;
      if (effective > level || effective === logLevel.NOTHING) return;
      const detail = typeof extra['error'] === 'string' ? `: ${extra['error']}` : '';
      write(`ztmap ${command}: kafka ${NAMES[effective] ?? effective} [${namespace}] ${printable(message)}${printable(detail)}\n`);
    };
}
