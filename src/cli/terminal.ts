// Progress and colour on stderr. Progress is drawn only on a TTY; colour also honours NO_COLOR.

export interface Terminal {
  progress(text: string): void;
  clear(): void;
  color(code: 'red' | 'yellow' | 'green' | 'bold', text: string): string;
}

const CODES = { red: 31, yellow: 33, green: 32, bold: 1 } as const;

export function terminalFor(stream: NodeJS.WriteStream, env: NodeJS.ProcessEnv, quiet: boolean): Terminal {
  const tty = stream.isTTY === true;
  const colour = tty && (env['NO_COLOR'] === undefined || env['NO_COLOR'] === '') && env['TERM'] !== 'dumb';
  let last = 0;
  let drawn = false;
  return {
    progress(text) {
      if (!tty || quiet) return;
      const now = Date.now();
      if (now - last < 100) return;
      last = now;
      const width = Math.max(20, (stream.columns || 80) - 1);
      stream.write('\r\x1b[K' + (text.length > width ? text.slice(0, width - 1) + '…' : text));
      drawn = true;
    },
    clear() {
      if (drawn) stream.write('\r\x1b[K');
      drawn = false;
    },
    color(code, text) {
      return colour ? `\x1b[${CODES[code]}m${text}\x1b[0m` : text;
    },
  };
}
