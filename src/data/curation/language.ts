// Caption language identification with CLD3 (Google's Compact Language Detector v3, the model LAION used to
// split LAION-5B by language and DataComp used to reproduce LAION-2B), through cld3-asm: the model compiled to
// WebAssembly and shipped inside the npm package, so it runs offline; same text, same answer.
import { loadModule, type LanguageIdentifier } from 'cld3-asm';

export interface DetectedLanguage {
  /** CLD3's code (en, de, zh, …; `und` when it cannot tell). */
  language: string;
  probability: number;
}

let identifier: Promise<LanguageIdentifier> | null = null;

/** The process's one identifier, set as DataComp's LAION-2B filter sets gcld3 (min 0, max 1000 bytes). */
function getIdentifier(): Promise<LanguageIdentifier> {
  return (identifier ??= loadModule().then((f) => f.create(0, 1000)));
}

/** Loads the model once; the detector it returns runs synchronously. */
export async function languageDetector(): Promise<(text: string) => DetectedLanguage> {
  const id = await getIdentifier();
  return (text) => {
    const r = id.findLanguage(text.replace(/\n/g, ' '));
    return { language: r.language, probability: r.probability };
  };
}
