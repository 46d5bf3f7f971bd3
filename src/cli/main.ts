#!/usr/bin/env node
// The composition root: parses flags, dispatches to commands, renders progress and the
// summary, and maps outcomes and error classes to exit codes in one place.

import { Command, InvalidArgumentError, Option } from 'commander';
import { ConfigError, InputError, ZtmapError } from '../errors.js';
import { DEFAULT_MAX_LINE_LENGTH } from '../sources/framing/lines.js';
import { observe, type ObserveOptions } from './commands/observe.js';
import { EXIT } from './exit-codes.js';
import { observeSummary } from './summary.js';
import { terminalFor } from './terminal.js';

const positiveInt = (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('expected a positive whole number.');
  return n;
};
const collect = (v: string, prev: string[]) => [...prev, v];

export function program(): Command {
  const cmd = new Command('ztmap')
    .description('Observe Kubernetes service-mesh traffic and propose least-privilege zero-trust policies.')
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();

  cmd
    .command('observe')
    .description('Build the service dependency graph from Istio access logs and a Kubernetes inventory; write graph.json, nodes.csv and edges.csv.')
    .argument('[inputs...]', 'access-log files, directories (walked recursively), quoted globs, .gz files, or - for stdin')
    .option('-i, --inventory <file>', 'kubectl get … -o json|yaml dump (repeatable)', collect, [])
    .option('-o, --out <dir>', 'output directory', 'output')
    .addOption(new Option('-f, --format <format>', 'access-log encoding').choices(['auto', 'envoy-text', 'envoy-json']).default('auto'))
    .option('--pod <namespace/pod>', 'the pod whose proxy wrote every input (for stdin or a kubectl logs file not named NS_POD.log)')
    .option('--container <name>', 'the container whose logs are access logs', 'istio-proxy')
    .option('--max-line-length <chars>', 'longer lines are rejected and reported', positiveInt, DEFAULT_MAX_LINE_LENGTH)
    .option('--merge <graph.json>', 'merge a graph saved by an earlier observe (repeatable)', collect, [])
    .addOption(
      new Option('--fail-on <level>', 'what makes the exit code non-zero: rejected records (3), also unresolved endpoints (4), or nothing')
        .choices(['rejected', 'unresolved', 'never'])
        .default('unresolved'),
    )
    .option('-q, --quiet', 'no progress and no summary on stderr')
    .addHelpText(
      'after',
      `
Examples:
  ztmap observe -i fixtures/bookinfo/inventory.json fixtures/bookinfo/logs
  kubectl logs productpage-v1-xyz -c istio-proxy | ztmap observe -i inv.json --pod default/productpage-v1-xyz -
  ztmap observe -i inv.json '/var/log/pods/*/istio-proxy/*.log*'

Exit codes: 0 ok, 2 bad usage or input, 3 records rejected, 4 endpoints unresolved, 1 internal error.`,
    )
    .action(async (inputs: string[], flags: Omit<ObserveOptions, 'inputs'> & { quiet?: boolean; failOn: 'rejected' | 'unresolved' | 'never' }) => {
      const term = terminalFor(process.stderr, process.env, flags.quiet === true);
      const result = await observe({
        ...flags,
        inputs,
        onProgress: (p) => term.progress(`reading ${p.file} (${p.filesDone + 1}/${p.filesTotal}) ${(p.bytes / 1048576).toFixed(0)} MiB, ${p.lines} lines`),
      });
      term.clear();
      if (flags.quiet !== true) process.stderr.write(observeSummary(result, term));
      const { failOn } = flags;
      process.exitCode =
        failOn !== 'never' && result.rejects.total > 0 ? EXIT.rejected
        : failOn === 'unresolved' && result.unresolved.total > 0 ? EXIT.unresolved
        : EXIT.ok;
    });
  return cmd;
}

export async function main(argv: string[]): Promise<void> {
  try {
    await program().parseAsync(argv);
  } catch (err) {
    const e = err as { code?: string; exitCode?: number };
    if (typeof e.code === 'string' && e.code.startsWith('commander.')) {
      // Help and version exit 0; usage errors were already printed by commander.
      process.exitCode = e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help' ? EXIT.ok : EXIT.usage;
      return;
    }
    if (err instanceof ConfigError || err instanceof InputError) {
      process.stderr.write(`ztmap: ${err.message}\n`);
      process.exitCode = EXIT.usage;
    } else if (err instanceof ZtmapError) {
      process.stderr.write(`ztmap: ${err.message}\n`);
      process.exitCode = EXIT.internal;
    } else {
      process.stderr.write(`ztmap: internal error: ${(err as Error).stack ?? String(err)}\nPlease report this with the command you ran.\n`);
      process.exitCode = EXIT.internal;
    }
  }
}

await main(process.argv);
