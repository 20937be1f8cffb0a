import * as fs from 'fs';
import * as path from 'path';

export const REPO = path.resolve(__dirname, '..', '..');

/** The marker, on the line before a fence, of a block that is the block above it continued. */
export const CONTINUES_MARKER = '<!-- fragment: continues the block above -->';

/** A fenced code block of a Markdown file. */
export interface DocBlock {
  /** The file, relative to the repository. */
  readonly file: string;
  /** The 1-based line of the opening fence. */
  readonly line: number;
  /** The fence's language, lowercase (`ts`, `python`, `sh`, or empty). */
  readonly language: string;
  readonly code: string;
  /** Whether the HTML comment on the line before the fence marks it as continuing the block above. */
  readonly continues: boolean;
  /** A `<!-- fragment: ... -->` comment before the fence that is not a marker the checks know. */
  readonly unknownFragmentMarker?: string;
}

/** A program made of a block and the blocks it continues, with the Markdown line of each of its lines. */
export interface DocProgram {
  /** The last block: the one this program checks. */
  readonly block: DocBlock;
  readonly code: string;
  /** `file:line` in the docs of each line of `code`. */
  readonly origins: string[];
  /** Whether a later block continues this program; the last program of such a chain is the one to run. */
  readonly continuedBelow: boolean;
}

/** The Markdown files whose code blocks users copy: the README, CONTRIBUTING and everything under docs/. */
export function docFiles(root: string = REPO): string[] {
  const docsDir = path.join(root, 'docs');
  const pages = fs.existsSync(docsDir)
    ? fs.readdirSync(docsDir, { recursive: true, encoding: 'utf8' }).filter((file) => file.endsWith('.md')).map((file) => path.join('docs', file))
    : [];
  return ['README.md', 'CONTRIBUTING.md', ...pages.sort()].filter((file) => fs.existsSync(path.join(root, file)));
}

/** The fenced code blocks of a Markdown text, in order. */
export function blocksOf(file: string, text: string): DocBlock[] {
  const lines = text.split('\n');
  const blocks: DocBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(`{3,})\s*([\w-]*)\s*$/.exec(lines[i]);
    if (!open) continue;
    const end = lines.findIndex((line, j) => j > i && line.startsWith(open[1]) && line.trim() === open[1]);
    if (end < 0) throw new Error(`${file}:${i + 1}: a code block that is never closed`);
    const marker = previousNonBlank(lines, i);
    const fragment = /^<!--\s*fragment:/.test(marker);
    blocks.push({
      file,
      line: i + 1,
      language: open[2].toLowerCase(),
      code: lines.slice(i + 1, end).join('\n'),
      continues: marker === CONTINUES_MARKER,
      unknownFragmentMarker: fragment && marker !== CONTINUES_MARKER ? marker : undefined,
    });
    i = end;
  }
  return blocks;
}

function previousNonBlank(lines: string[], index: number): string {
  for (let i = index - 1; i >= 0; i--) {
    if (lines[i].trim()) return lines[i].trim();
  }
  return '';
}

/** Every code block of the given Markdown files. */
export function docBlocks(files: string[] = docFiles(), root: string = REPO): DocBlock[] {
  return files.flatMap((file) => blocksOf(file, fs.readFileSync(path.join(root, file), 'utf8')));
}

/**
 * The program each block of one of the languages is: the block alone, or,
 * marked as continuing, the program of the block of the same languages above
 * it in the same file followed by the block. Throws, naming the file and line,
 * for a fragment marker the checks do not know and for a continuation with no
 * block above it.
 */
export function programsOf(blocks: DocBlock[], languages: string[]): DocProgram[] {
  const programs: { -readonly [K in keyof DocProgram]: DocProgram[K] }[] = [];
  for (const block of blocks.filter((b) => languages.includes(b.language))) {
    if (block.unknownFragmentMarker) {
      throw new Error(`${block.file}:${block.line}: unknown marker ${block.unknownFragmentMarker}; a fragment is marked ${CONTINUES_MARKER}`);
    }
    const own = { code: block.code, origins: block.code.split('\n').map((_, i) => `${block.file}:${block.line + 1 + i}`) };
    if (!block.continues) {
      programs.push({ block, ...own, continuedBelow: false });
      continue;
    }
    const above = programs.at(-1);
    if (!above || above.block.file !== block.file) {
      throw new Error(`${block.file}:${block.line}: marked as continuing the block above, but no ${languages.join('/')} block comes before it in the file`);
    }
    above.continuedBelow = true;
    programs.push({ block, code: `${above.code}\n${own.code}`, origins: [...above.origins, ...own.origins], continuedBelow: false });
  }
  return programs;
}

// `node --require ./scripts/register-typescript.cjs test/support/doc-blocks.ts LANGUAGE...` prints
// the programs of those languages as JSON, for the Python tests.
if (require.main === module) {
  const programs = programsOf(docBlocks(), process.argv.slice(2));
  console.log(JSON.stringify(programs.map((program) => ({
    origin: `${program.block.file}:${program.block.line}`, code: program.code, continuedBelow: program.continuedBelow,
  }))));
}
