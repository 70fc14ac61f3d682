// The command line: the only code that reads argv and the environment. Each command lives in commands/.
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { setHuggingFaceCache } from '../models/model-dir.js';
import { packageVersion } from '../util/assets.js';
import { CliplabError, IoError, isErrnoError } from '../util/errors.js';
import { setQuiet } from '../util/log.js';
import { commands } from './commands/index.js';

/** Where `hf-hub:` models are looked up: huggingface_hub's own default (HF_HUB_CACHE, else HF_HOME/hub). */
function huggingFaceCache(): string {
  const env = process.env;
  return env.HF_HUB_CACHE || join(env.HF_HOME || join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'huggingface'), 'hub');
}

export async function main(argv: string[]): Promise<number> {
  setHuggingFaceCache(huggingFaceCache());
  const program = new Command();
  program
    .name('cliplab')
    .description('Design CLIP training data and measure what it does to robustness')
    .version(packageVersion(), '--version', 'print the version')
    .option('--quiet', 'no progress bars or info messages')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) })
    .hook('preAction', (cmd) => {
      if (cmd.opts().quiet || process.env.CLIPLAB_QUIET === '1') setQuiet(true);
    });
  for (const register of commands) register(program);
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.exitCode === 0 ? 0 : 2;
    }
    if (err instanceof CliplabError) {
      process.stderr.write(`cliplab: ${err.message.split('\n')[0]}\n`);
      return 1;
    }
    // Disk full, permission denied and the like, from any write not wrapped where it happened: one line naming
    // the path, not a stack trace.
    if (isErrnoError(err) && err.path !== undefined) {
      process.stderr.write(`cliplab: ${IoError.from(err, err.path, `cannot ${err.syscall}`).message}\n`);
      return 1;
    }
    throw err;
  }
}

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`cliplab: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 70;
  },
);
