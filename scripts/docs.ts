/** `npm run docs`: writes docs/parameters.md from the parameter schemas (src/params-doc/). */
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parametersMarkdown } from '../src/params-doc/markdown.js';

const target = fileURLToPath(new URL('../docs/parameters.md', import.meta.url));
await writeFile(target, parametersMarkdown());
process.stdout.write(`wrote ${target}\n`);
