import { readFileSync } from 'node:fs';

/** transferkit's version, from package.json (one level above both src/ and dist/). */
export const VERSION: string = (() => {
  const parsed: unknown = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  return typeof parsed === 'object' && parsed !== null && 'version' in parsed && typeof parsed.version === 'string'
    ? parsed.version
    : '0.0.0';
})();
