// `cliplab ingest-failures DIR`: which rows of an ingest (cliplab's or img2dataset's) did not become samples,
// and why, read from the per-shard parquet row logs.
import { readdir } from 'node:fs/promises';
import type { Command } from 'commander';
import { readRowLogs, type LoggedRow } from '../../data/ingest/index.js';
import { InputError } from '../../util/errors.js';
import { intFlag } from '../args.js';

interface Flags {
  status?: string;
  reason?: string;
  limit?: string;
  json?: boolean;
}

function line(r: LoggedRow): string {
  const where = r.where ?? `${r.file} key ${r.key}`;
  return [r.key, r.status, r.error_message ?? '', where, r.url ?? ''].join('\t');
}

export function register(program: Command): void {
  program
    .command('ingest-failures')
    .description('list the rows of an ingest folder that did not become samples, with their reasons (from <shard>.parquet)')
    .argument('<dir>', 'an ingest output folder (cliplab ingest or img2dataset)')
    .option('--status <s>', 'only this status: failed_to_download|failed_to_resize|filtered|bad_row')
    .option('--reason <r>', 'only rows whose error_message contains this text')
    .option('--limit <n>', 'rows to list (default 50; 0 = all)')
    .option('--json', 'print the rows as JSON lines')
    .action(async (dir: string, f: Flags) => {
      const limit = intFlag('--limit', f.limit, 50, 0);
      if (!(await hasRowLogs(dir))) throw new InputError(dir, 'no <shard>.parquet row logs here (not an ingest folder, or one written before row logs existed)');
      const rows = await readRowLogs(dir, (r) => r.status !== 'success' && (f.status === undefined || r.status === f.status) && (f.reason === undefined || String(r.error_message ?? '').includes(f.reason)));
      const shown = limit === 0 ? rows : rows.slice(0, limit);
      if (f.json) {
        for (const r of shown) process.stdout.write(JSON.stringify(r) + '\n');
        return;
      }
      const counts = new Map<string, number>();
      for (const r of rows) counts.set(`${r.status}: ${r.error_message ?? ''}`, (counts.get(`${r.status}: ${r.error_message ?? ''}`) ?? 0) + 1);
      for (const [k, n] of [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))) process.stdout.write(`${n}\t${k}\n`);
      if (shown.length) process.stdout.write(`\nkey\tstatus\terror_message\twhere\turl\n${shown.map(line).join('\n')}\n`);
      if (shown.length < rows.length) process.stdout.write(`… ${rows.length - shown.length} more (--limit 0 lists all)\n`);
    });
}

async function hasRowLogs(dir: string): Promise<boolean> {
  try {
    return (await readdir(dir)).some((n) => n.endsWith('.parquet'));
  } catch {
    throw new InputError(dir, 'no such directory');
  }
}
