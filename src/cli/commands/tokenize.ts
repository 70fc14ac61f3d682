// `cliplab tokenize [--context-length N] TEXT…`: OpenCLIP token ids of each text, as JSON (one array per text).
import type { Command } from 'commander';
import { getTokenizer, DEFAULT_CONTEXT_LENGTH, EOT_TOKEN } from '../../data/tokenizer/index.js';
import { InputError } from '../../util/errors.js';

const MAX_CONTEXT = 1 << 20;

function parseContextLength(value: string): number {
  const n = Number(value);
  if (!/^\s*\d+\s*$/.test(value) || !Number.isSafeInteger(n) || n < 2 || n > MAX_CONTEXT) {
    throw new InputError('--context-length', `expected an integer from 2 to ${MAX_CONTEXT}, got '${value}'`);
  }
  return n;
}

export function register(program: Command): void {
  program
    .command('tokenize')
    .description('print CLIP token ids (SOT … EOT, zero padded) of each TEXT as JSON, one array per text')
    .argument('<text...>', 'texts to tokenize')
    .option('--context-length <n>', 'tokens per row, including SOT and EOT', String(DEFAULT_CONTEXT_LENGTH))
    .option('--no-pad', 'stop each row at its end token instead of zero padding')
    .option('--json', 'JSON output (the default and only format; accepted for uniformity)')
    .addHelpText('after', '\nOutput: one JSON array per TEXT, one per line. Start with -- to pass texts that begin with "-".')
    .action((texts: string[], opts: { contextLength: string; pad: boolean }) => {
      const ctx = parseContextLength(opts.contextLength);
      const flat = getTokenizer().tokenize(texts, ctx);
      const rows: number[][] = [];
      for (let i = 0; i < texts.length; i++) {
        let row = Array.from(flat.subarray(i * ctx, (i + 1) * ctx), Number);
        if (!opts.pad) row = row.slice(0, row.lastIndexOf(EOT_TOKEN) + 1);
        rows.push(row);
      }
      process.stdout.write(rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
    });
}
