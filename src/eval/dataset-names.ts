// Evaluation dataset names: CLIP_benchmark's (imagenet1k, imagenet_sketch, `wds/…`) mapped to cliplab's, so
// either spelling works wherever a dataset is named; and the test-set sizes results from elsewhere leave out.

/** CLIP_benchmark's builder names that differ from cliplab's; the others (imagenetv2, imagenet-r, …) agree. */
const ALIASES: Record<string, string> = {
  imagenet1k: 'imagenet-1k',
  imagenet_sketch: 'imagenet-sketch',
};

/** cliplab's name for a dataset named by CLIP_benchmark (`imagenet1k`, `wds/imagenet_sketch`) or by cliplab. */
export function canonicalDataset(name: string): string {
  const bare = name.startsWith('wds/') ? name.slice('wds/'.length) : name;
  return ALIASES[bare] ?? bare;
}

/** Test-set sizes (images) of the sets CLIP_benchmark evaluates, by cliplab name. */
export const TEST_SET_SIZES: Record<string, number> = {
  'imagenet-1k': 50_000,
  imagenetv2: 10_000,
  'imagenet-sketch': 50_889,
  'imagenet-r': 30_000,
  'imagenet-a': 7_500,
  'imagenet-o': 2_000,
  objectnet: 18_574,
  cifar10: 10_000,
  cifar100: 10_000,
  stl10: 8_000,
};
