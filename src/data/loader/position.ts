// The loader's data position: exact, JSON-serializable, saved with checkpoints so training resumes where it stopped.
import { z } from 'zod';
import { InputError } from '../../util/errors.js';

/** Where one source's stream stands. */
export interface SourcePosition {
  /** Source name (its path unless named). */
  name: string;
  /** The source's own epoch (full passes over its shards), from 0. */
  epoch: number;
  /** Records of this epoch's deterministic order consumed so far (including images that failed to decode). */
  consumed: number;
  /** Shards of this epoch fully read when the last consumed record came out of the shuffle buffer (informational). */
  shardsDone: number;
}

/**
 * After batch k the position says: `batches` = k, `samples` = samples delivered, and for each source how far
 * into its epoch's order it is. Resuming from it yields exactly the batches an uninterrupted run yields after
 * batch k (same seed, sources, batch size and transform), because each source's epoch order, each batch's
 * source draws and each sample's augmentation are pure functions of (seed, source, epoch, index, batch).
 */
export interface DataPosition {
  version: 1;
  seed: number;
  batchSize: number;
  batches: number;
  samples: number;
  sources: SourcePosition[];
}

const schema = z.object({
  version: z.literal(1),
  seed: z.number().int(),
  batchSize: z.number().int().positive(),
  batches: z.number().int().nonnegative(),
  samples: z.number().int().nonnegative(),
  sources: z.array(
    z.object({
      name: z.string(),
      epoch: z.number().int().nonnegative(),
      consumed: z.number().int().nonnegative(),
      shardsDone: z.number().int().nonnegative(),
    }),
  ),
});

/** Validates a parsed JSON value as a DataPosition; `where` names its file. */
export function parseDataPosition(value: unknown, where = 'data position'): DataPosition {
  const r = schema.safeParse(value);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new InputError(`${where}: ${issue.path.join('.') || '(root)'}`, issue.message);
  }
  return r.data as DataPosition;
}

export function initialPosition(seed: number, batchSize: number, names: string[]): DataPosition {
  return { version: 1, seed, batchSize, batches: 0, samples: 0, sources: names.map((name) => ({ name, epoch: 0, consumed: 0, shardsDone: 0 })) };
}

/** Throws InputError unless `pos` was taken from a loader with the same seed, batch size and sources. */
export function checkCompatible(pos: DataPosition, seed: number, batchSize: number, names: string[]): void {
  if (pos.seed !== seed) throw new InputError('data position', `seed ${pos.seed} differs from the loader's ${seed}`);
  if (pos.batchSize !== batchSize) throw new InputError('data position', `batch size ${pos.batchSize} differs from the loader's ${batchSize}`);
  const got = pos.sources.map((s) => s.name).join(', ');
  if (got !== names.join(', ')) throw new InputError('data position', `sources [${got}] differ from the loader's [${names.join(', ')}]`);
}
