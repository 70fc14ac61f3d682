// `cliplab serve --in DIR [--port P] [--host H]`: the report, live, re-rendered as results arrive.
import type { Command } from 'commander';
import { serveReport } from '../../analysis/report/serve.js';
import { InputError } from '../../util/errors.js';
import { info, warn } from '../../util/log.js';

export function register(program: Command): void {
  program
    .command('serve')
    .description('serve the report on 127.0.0.1 and refresh it when result files change')
    .requiredOption('--in <dir>', 'analyze output or a directory of result files')
    .option('--port <p>', 'port (0 = any free port)', '8080')
    .option('--host <h>', 'address to listen on', '127.0.0.1')
    .option('--poll-ms <ms>', 'how often to look for changed files', '1000')
    .action(async (o: { in: string; port: string; host: string; pollMs: string }) => {
      const port = Number(o.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InputError('--port', `not a port: ${o.port}`);
      const pollMs = Number(o.pollMs);
      if (!(pollMs >= 50)) throw new InputError('--poll-ms', `expected ≥ 50, got ${o.pollMs}`);
      const server = await serveReport({
        dir: o.in,
        port,
        host: o.host,
        pollMs,
        onChange: (v, err) => (err ? warn(err) : info(`report updated (version ${v})`)),
      }).catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'EADDRINUSE') throw new InputError('--port', `port ${port} is in use`);
        throw err;
      });
      // The URL goes to stdout so scripts can read it; the server runs until interrupted.
      process.stdout.write(`${server.url}\n`);
      const stop = (): void => void server.close().then(() => process.exit(0));
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      await new Promise<never>(() => undefined);
    });
}
