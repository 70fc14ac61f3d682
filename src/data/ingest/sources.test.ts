// Adapters on small fixtures in each source's exact published format: columns, default filters, extras,
// malformed rows reported with file and row, and file-level errors that name the file.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { asyncBufferFromFile, parquetMetadataAsync } from 'hyparquet';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { parquetWriteFile } from 'hyparquet-writer';
import { readSource, cleanYfccText, YFCC_COLUMNS, WIT_COLUMNS, listMetadataFiles } from './sources.js';
import type { AdapterOptions, RowEvent, SourceName } from './types.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cliplab-sources-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function events(source: SourceName, path: string, opts: AdapterOptions = {}): Promise<RowEvent[]> {
  const out: RowEvent[] = [];
  for await (const e of readSource(await listMetadataFiles(path, source), source, opts)) out.push(e);
  return out;
}
const rows = (evs: RowEvent[]) => evs.flatMap((e) => (e.kind === 'row' ? [e.row] : []));

describe('laion (parquet)', () => {
  it('reads URL/TEXT, keeps NSFW == UNLIKELY by default, keeps similarity and declared size, reports null URLs', async () => {
    const path = join(dir, 'part-00000.parquet');
    parquetWriteFile({
      filename: path,
      rowGroupSize: 2, // several row groups
      columnData: [
        { name: 'SAMPLE_ID', data: [11n, 12n, 13n, 14n, 15n], type: 'INT64' },
        { name: 'URL', data: ['https://a.example/1.jpg', 'https://a.example/2.jpg', 'https://a.example/3.jpg', null, 'https://a.example/5.jpg'], type: 'STRING' },
        { name: 'TEXT', data: ['a dog', 'a cat', 'nsfw text', 'no url', 'a bird'], type: 'STRING' },
        { name: 'HEIGHT', data: [480, 600, 100, 10, 32], type: 'INT32' },
        { name: 'WIDTH', data: [640, 800, 100, 10, 32], type: 'INT32' },
        { name: 'LICENSE', data: ['?', '?', '?', '?', 'cc-by'], type: 'STRING' },
        { name: 'NSFW', data: ['UNLIKELY', 'UNSURE', 'NSFW', 'UNLIKELY', 'UNLIKELY'], type: 'STRING' },
        { name: 'similarity', data: [0.31, 0.29, 0.35, 0.3, 0.33], type: 'DOUBLE' },
      ],
    });
    const evs = await events('laion', path);
    expect(evs.map((e) => e.kind)).toEqual(['row', 'filtered', 'filtered', 'bad', 'row']);
    expect(evs[1]).toMatchObject({ reason: 'nsfw_UNSURE' });
    expect(evs[2]).toMatchObject({ reason: 'nsfw_NSFW' });
    expect(evs[3]).toEqual({ kind: 'bad', where: `${path}:row 4`, reason: 'missing URL (column "URL")' });
    expect(rows(evs)[0]).toEqual({
      url: 'https://a.example/1.jpg',
      caption: 'a dog',
      id: '11',
      extra: { SAMPLE_ID: 11, HEIGHT: 480, WIDTH: 640, LICENSE: '?', NSFW: 'UNLIKELY', similarity: 0.31 },
    });
    const all = await events('laion', dir, { laionNsfwKeep: 'all' });
    expect(all.filter((e) => e.kind === 'row')).toHaveLength(4);
  });

  it("filters on LAION's own similarity and punsafe columns when asked, naming a missing column", async () => {
    const path = join(dir, 'laion2b', 'part-00000.parquet');
    await mkdir(join(dir, 'laion2b'));
    parquetWriteFile({
      filename: path,
      columnData: [
        { name: 'URL', data: ['https://l.example/1.jpg', 'https://l.example/2.jpg', 'https://l.example/3.jpg', 'https://l.example/4.jpg', 'https://l.example/5.jpg'], type: 'STRING' },
        { name: 'TEXT', data: ['one', 'two', 'three', 'four', 'five'], type: 'STRING' },
        { name: 'similarity', data: [0.35, 0.27, 0.3, null, 0.4], type: 'DOUBLE' },
        { name: 'punsafe', data: [0.01, 0.02, 0.5, 0.0, null], type: 'FLOAT' },
      ],
    });
    const kinds = (evs: RowEvent[]) => evs.map((e) => (e.kind === 'row' ? e.row.caption : `${e.kind}:${e.reason}`));
    expect(kinds(await events('laion', path))).toEqual(['one', 'two', 'three', 'four', 'five']);
    expect(kinds(await events('laion', path, { minSimilarity: 0.28 }))).toEqual(['one', 'filtered:low_similarity', 'three', 'filtered:similarity_missing', 'five']);
    expect(kinds(await events('laion', path, { maxPunsafe: 0.1 }))).toEqual(['one', 'two', 'filtered:punsafe', 'four', 'filtered:punsafe_missing']);
    expect(kinds(await events('laion', path, { minSimilarity: 0.28, maxPunsafe: 0.1 }))).toEqual(['one', 'filtered:low_similarity', 'filtered:punsafe', 'filtered:similarity_missing', 'filtered:punsafe_missing']);
    const noPunsafe = join(dir, 'part-00000.parquet'); // LAION-400M: similarity but no punsafe
    await expect(events('laion', noPunsafe, { maxPunsafe: 0.1 })).rejects.toThrow(/part-00000\.parquet: no "punsafe" column for --max-punsafe \(columns: SAMPLE_ID, URL, TEXT/);
  });

  it('reports each row of a corrupt row group with file and row, and reads the others', async () => {
    const path = join(dir, 'corrupt', 'part-1.parquet');
    await mkdir(join(dir, 'corrupt'));
    parquetWriteFile({
      filename: path,
      rowGroupSize: 2,
      columnData: [
        { name: 'URL', data: ['https://a/1', 'https://a/2', 'https://a/3', 'https://a/4', 'https://a/5'], type: 'STRING' },
        { name: 'TEXT', data: ['a', 'b', 'c', 'd', 'e'], type: 'STRING' },
      ],
    });
    const md = await parquetMetadataAsync(await asyncBufferFromFile(path));
    const chunk = md.row_groups[1]!.columns[0]!.meta_data!;
    const buf = await readFile(path);
    buf.fill(0xff, Number(chunk.data_page_offset), Number(chunk.data_page_offset) + Number(chunk.total_compressed_size));
    await writeFile(path, buf);
    const evs = await events('laion', path);
    expect(evs.map((e) => e.kind)).toEqual(['row', 'row', 'bad', 'bad', 'row']);
    expect(evs[2]).toMatchObject({ where: `${path}:row 3`, reason: expect.stringMatching(/^cannot decode row group/) });
    expect(evs[3]).toMatchObject({ where: `${path}:row 4` });
    expect(rows(evs).map((r) => r.url)).toEqual(['https://a/1', 'https://a/2', 'https://a/5']);
  });

  it('names a file that is not parquet', async () => {
    const bad = join(dir, 'bad', 'broken.parquet');
    await mkdir(join(dir, 'bad'));
    await writeFile(bad, 'PAR1 this is not really parquet at all PAR1');
    await expect(events('laion', bad)).rejects.toThrow(/broken\.parquet: not a readable parquet file/);
  });
});

describe('cc12m and shutterstock (url TAB caption)', () => {
  it('reads headerless cc12m, reporting missing URLs and wrong delimiters with the line', async () => {
    const path = join(dir, 'cc12m.tsv');
    await writeFile(path, 'https://x.example/a.jpg\ta <PERSON> at the beach\n\tno url here\nhttps://x.example/b.jpg,comma separated\nhttps://x.example/c.jpg\tlast\n');
    const evs = await events('cc12m', path);
    expect(evs).toEqual([
      { kind: 'row', where: `${path}:line 1`, row: { url: 'https://x.example/a.jpg', caption: 'a <PERSON> at the beach', id: '1', extra: {} } },
      { kind: 'bad', where: `${path}:line 2`, reason: 'missing URL (column "url")' },
      { kind: 'bad', where: `${path}:line 3`, reason: 'expected 2 tab-separated fields, found 1 (wrong delimiter?)' },
      { kind: 'row', where: `${path}:line 4`, row: { url: 'https://x.example/c.jpg', caption: 'last', id: '4', extra: {} } },
    ]);
  });

  it('reads shutterstock url/caption with a header, gzipped', async () => {
    const path = join(dir, 'shutterstock.tsv.gz');
    await writeFile(path, gzipSync('url\tcaption\nhttps://s.example/1.jpg\tStock photo of a red barn\n'));
    expect(rows(await events('shutterstock', path))).toEqual([{ url: 'https://s.example/1.jpg', caption: 'Stock photo of a red barn', id: '1', extra: {} }]);
  });
});

describe('wit (17-column TSV with header)', () => {
  function witRow(v: Partial<Record<(typeof WIT_COLUMNS)[number], string>>): string {
    return WIT_COLUMNS.map((c) => v[c] ?? '').join('\t');
  }
  it("keeps English by default with the reference description as the caption (the paper's WIT); fallbacks on request", async () => {
    const path = join(dir, 'wit_v1.train.all-00000-of-00010.tsv');
    const lines = [
      WIT_COLUMNS.join('\t'),
      witRow({ language: 'en', image_url: 'https://upload.wikimedia.org/a.jpg', caption_reference_description: 'The bridge at dusk', page_title: 'Bridge', original_width: '800', original_height: '600', mime_type: 'image/jpeg' }),
      witRow({ language: 'fr', image_url: 'https://upload.wikimedia.org/b.jpg', caption_reference_description: 'Le pont' }),
      witRow({ language: 'en', image_url: 'https://upload.wikimedia.org/c.jpg', caption_attribution_description: 'English: A map of the river' }),
      witRow({ language: 'en', image_url: '', caption_reference_description: 'no url' }),
      witRow({ language: 'en', image_url: 'https://upload.wikimedia.org/d.jpg' }),
    ];
    await writeFile(path, lines.join('\n') + '\n');
    const evs = await events('wit', path);
    expect(evs.map((e) => e.kind)).toEqual(['row', 'filtered', 'filtered', 'bad', 'filtered']);
    expect(evs[1]).toMatchObject({ reason: 'language_fr', where: `${path}:line 3` });
    expect(evs[2]).toMatchObject({ reason: 'no_caption', where: `${path}:line 4` });
    expect(evs[3]).toMatchObject({ where: `${path}:line 5`, reason: 'missing URL (column "image_url")' });
    expect(evs[4]).toMatchObject({ reason: 'no_caption' });
    expect(rows(evs)).toMatchObject([{ url: 'https://upload.wikimedia.org/a.jpg', caption: 'The bridge at dusk', extra: { language: 'en', page_title: 'Bridge', original_width: '800' } }]);
    const fallbacks = { captionCol: 'caption_reference_description,caption_alt_text_description,caption_attribution_description' };
    const withFallbacks = await events('wit', path, fallbacks);
    expect(withFallbacks.map((e) => e.kind)).toEqual(['row', 'filtered', 'row', 'bad', 'filtered']);
    expect(rows(withFallbacks)[1]!.caption).toBe('A map of the river');
    expect(rows(await events('wit', path, { witLanguage: 'fr' }))).toMatchObject([{ caption: 'Le pont' }]);
  });

  it('reports a row with the wrong column count and refuses a comma-separated header', async () => {
    const path = join(dir, 'wit-short.tsv');
    const good = witRow({ language: 'en', image_url: 'https://upload.wikimedia.org/a.jpg', caption_reference_description: 'ok' });
    await writeFile(path, `${WIT_COLUMNS.join('\t')}\nen\thttps://p\thttps://i.jpg\n${good}\n`);
    const evs = await events('wit', path);
    expect(evs[0]).toEqual({ kind: 'bad', where: `${path}:line 2`, reason: 'expected 17 tab-separated fields, found 3' });
    expect(evs.map((e) => e.kind)).toEqual(['bad', 'row']);
    const csv = join(dir, 'wit-csv.tsv');
    await writeFile(csv, `${WIT_COLUMNS.join(',')}\n`);
    await expect(events('wit', csv)).rejects.toThrow(/wit-csv\.tsv:line 1: .*wrong delimiter/);
  });
});

describe('redcaps (annotation JSON)', () => {
  it('reads annotations with image_id, url, caption and subreddit', async () => {
    const path = join(dir, 'itookapicture_2020.json');
    const doc = {
      info: { url: 'https://redcaps.xyz', version: '1.0' },
      annotations: [
        { image_id: 'gu9kdv', author: 'u1', url: 'https://i.redd.it/abc.jpg', raw_caption: 'ITAP of a Lighthouse', caption: 'itap of a lighthouse', subreddit: 'itookapicture', score: 42, created_utc: 1593000000, permalink: '/r/itookapicture/comments/gu9kdv/' },
        { image_id: 'nourl1', caption: 'x', subreddit: 'itookapicture' },
        'not an object',
      ],
    };
    await writeFile(path, JSON.stringify(doc));
    const evs = await events('redcaps', path);
    expect(evs[0]).toEqual({
      kind: 'row',
      where: `${path}:annotation 1`,
      row: {
        url: 'https://i.redd.it/abc.jpg',
        caption: 'itap of a lighthouse',
        id: 'gu9kdv',
        extra: { author: 'u1', raw_caption: 'ITAP of a Lighthouse', subreddit: 'itookapicture', score: 42, created_utc: 1593000000, permalink: '/r/itookapicture/comments/gu9kdv/' },
      },
    });
    expect(evs[1]).toEqual({ kind: 'bad', where: `${path}:annotation 2`, reason: 'missing URL (column "url")' });
    expect(evs[2]).toEqual({ kind: 'bad', where: `${path}:annotation 3`, reason: 'annotation is not an object' });
  });
});

describe("redcaps after the paper's shuffle_annotations.py (a bare JSON list per file)", () => {
  it('reads shard_000000.json as json.dump(list_of_annotations) writes it', async () => {
    const d = join(dir, 'annotations_shuffled');
    await mkdir(d, { recursive: true });
    const anns = [
      { image_id: 'a1', author: 'u', url: 'https://i.redd.it/a1.jpg', raw_caption: 'My Cat', caption: 'my cat', subreddit: 'cats', score: 3, created_utc: 1600000000, permalink: '/r/cats/a1/' },
      { image_id: 'b2', author: 'v', url: 'https://i.imgur.com/b2.jpg', raw_caption: 'Old Barn', caption: 'old barn', subreddit: 'itookapicture', score: 9, created_utc: 1500000000, permalink: '/r/itookapicture/b2/' },
    ];
    // Python's json.dump: ", " and ": " separators, ASCII-only.
    await writeFile(join(d, 'shard_000000.json'), JSON.stringify(anns).replace(/","/g, '", "').replace(/":/g, '": '));
    const evs = await events('redcaps', d);
    expect(rows(evs).map((r) => [r.id, r.url, r.caption])).toEqual([
      ['a1', 'https://i.redd.it/a1.jpg', 'my cat'],
      ['b2', 'https://i.imgur.com/b2.jpg', 'old barn'],
    ]);
    await writeFile(join(dir, 'redcaps-bad.json'), '{"images": []}');
    await expect(events('redcaps', join(dir, 'redcaps-bad.json'))).rejects.toThrow(/redcaps-bad\.json: neither a list of annotations nor an object with an "annotations" list/);
  });
});

describe("yfcc as the paper released it (headerless url<TAB>caption)", () => {
  it('reads both columns, keeping the caption verbatim as its downloader did', async () => {
    const path = join(dir, 'yfcc15m_paper.tsv');
    await writeFile(path, 'http://farm4.staticflickr.com/3/1_a.jpg\tC++ at 100% speed\nhttp://farm4.staticflickr.com/3/2_b.jpg\tA lake at dawn\n');
    const evs = await events('yfcc', path);
    expect(evs).toEqual([
      { kind: 'row', where: `${path}:line 1`, row: { url: 'http://farm4.staticflickr.com/3/1_a.jpg', caption: 'C++ at 100% speed', id: '1', extra: {} } },
      { kind: 'row', where: `${path}:line 2`, row: { url: 'http://farm4.staticflickr.com/3/2_b.jpg', caption: 'A lake at dawn', id: '2', extra: {} } },
    ]);
  });
});

describe('a file in which every row is bad', () => {
  it('is an error naming the file and the first bad row, not an empty success', async () => {
    const path = join(dir, 'cc12m-3col.tsv');
    await writeFile(path, 'https://c.example/1.jpg\ta\tb\nhttps://c.example/2.jpg\tc\td\n');
    await expect(events('cc12m', path)).rejects.toThrow(/cc12m-3col\.tsv: every row \(2\) is a bad row of cc12m metadata \(first: .*cc12m-3col\.tsv:line 1: expected 2 tab-separated fields, found 3\)/);
  });
  it('but a file whose bad rows come before good ones reads through, every row in order', async () => {
    const path = join(dir, 'cc12m-mixed.tsv');
    await writeFile(path, 'x\ty\tz\nhttps://c.example/2.jpg\tok\n');
    expect((await events('cc12m', path)).map((e) => e.kind)).toEqual(['bad', 'row']);
  });
});

describe('yfcc (yfcc100m_dataset TSV, 25 columns)', () => {
  function yfccRow(v: Partial<Record<string, string>>): string {
    return YFCC_COLUMNS.map((c) => v[c] ?? '').join('\t');
  }
  it('decodes URL-encoded title and description, drops videos and text-free photos', async () => {
    const path = join(dir, 'yfcc15m.tsv');
    const lines = [
      yfccRow({ line_number: '0', photo_id: '6985418911', photo_hash: '4e2f7a26a1dfbf165a7e30bdabf7e72a', title: 'Sunset+over+the+bay', description: 'Taken+from+the+%3Cb%3Epier%3C%2Fb%3E+%26amp%3B+beach', user_tags: 'sunset,san+francisco', download_url: 'http://farm8.staticflickr.com/7205/6985418911_df7747990d.jpg', license_name: 'Attribution License', marker: '0' }),
      yfccRow({ line_number: '1', photo_id: '2', title: 'A+video', download_url: 'http://farm1.staticflickr.com/1/2_x.jpg', marker: '1' }),
      yfccRow({ line_number: '2', photo_id: '3', download_url: 'http://farm1.staticflickr.com/1/3_x.jpg', marker: '0' }),
      yfccRow({ line_number: '3', photo_id: '4', title: 'No+url', marker: '0' }),
    ];
    await writeFile(path, lines.join('\n') + '\n');
    const evs = await events('yfcc', path);
    expect(evs.map((e) => (e.kind === 'row' ? 'row' : `${e.kind}:${e.reason}`))).toEqual(['row', 'filtered:video', 'filtered:no_text', 'bad:missing URL (column "download_url")']);
    expect(rows(evs)[0]).toEqual({
      url: 'http://farm8.staticflickr.com/7205/6985418911_df7747990d.jpg',
      caption: 'Sunset over the bay. Taken from the pier & beach',
      id: '6985418911',
      extra: { line_number: '0', photo_hash: '4e2f7a26a1dfbf165a7e30bdabf7e72a', license_name: 'Attribution License', user_tags: ['sunset', 'san francisco'] },
    });
  });

  it("explains OpenAI's three-column subset list instead of misreading it", async () => {
    const path = join(dir, 'yfcc100m_subset_data.tsv');
    await writeFile(path, '0\t6985418911\t4e2f7a26a1dfbf165a7e30bdabf7e72a\n');
    await expect(events('yfcc', path)).rejects.toThrow(/subset list/);
  });

  it('cleans text', () => {
    expect(cleanYfccText('Caf%C3%A9+%26+bar')).toBe('Café & bar');
    expect(cleanYfccText('100%+broken+%E0')).toBe('100% broken à');
  });
});

describe('generic (CSV, TSV, JSONL, parquet with named columns)', () => {
  it('reads CSV with quoted multi-line captions and custom column names', async () => {
    const path = join(dir, 'pairs.csv');
    await writeFile(path, 'image,text,score\nhttps://g.example/1.jpg,"a ""quoted"", multi\nline caption",0.5\nhttps://g.example/2.jpg\tplain\t1\n');
    const evs = await events('generic', path, { urlCol: 'image', captionCol: 'text' });
    expect(evs[0]).toEqual({ kind: 'row', where: `${path}:line 2`, row: { url: 'https://g.example/1.jpg', caption: 'a "quoted", multi\nline caption', id: '1', extra: { score: '0.5' } } });
    expect(evs[1]).toEqual({ kind: 'bad', where: `${path}:line 4`, reason: 'expected 3 comma-separated fields, found 1 (wrong delimiter?)' });
    await expect(events('generic', path)).rejects.toThrow(/pairs\.csv: no column "url" in the header \(columns: image, text, score\)/);
  });

  it('reads JSONL (bad JSON reported by line) and TSV and parquet', async () => {
    const jl = join(dir, 'pairs.jsonl');
    await writeFile(jl, '{"url":"https://g.example/1.jpg","caption":"one","key":"k1"}\n{oops\n\n{"caption":"no url"}\n');
    const evs = await events('generic', jl);
    expect(evs[0]).toMatchObject({ kind: 'row', row: { id: 'k1', caption: 'one' } });
    expect(evs[1]).toMatchObject({ kind: 'bad', where: `${jl}:line 2` });
    expect(evs[2]).toMatchObject({ kind: 'bad', where: `${jl}:line 4`, reason: 'missing URL (column "url")' });

    const tsv = join(dir, 'pairs.tsv');
    await writeFile(tsv, 'url\tcaption\nhttps://g.example/t.jpg\tt\n');
    expect(rows(await events('generic', tsv))).toEqual([{ url: 'https://g.example/t.jpg', caption: 't', id: '1', extra: {} }]);

    const pq = join(dir, 'pairs.parquet');
    parquetWriteFile({ filename: pq, columnData: [{ name: 'url', data: ['https://g.example/p.jpg'], type: 'STRING' }, { name: 'caption', data: ['p'], type: 'STRING' }] });
    expect(rows(await events('generic', pq))).toEqual([{ url: 'https://g.example/p.jpg', caption: 'p', id: '1', extra: {} }]);
    await expect(events('generic', pq, { urlCol: 'URL' })).rejects.toThrow(/pairs\.parquet: no column "URL"/);
    await expect(events('generic', join(dir, 'nope.csv'))).rejects.toThrow(/--metadata: no such file/);
  });
});
