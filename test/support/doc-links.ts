import * as fs from 'fs';
import * as path from 'path';

const LINK = /!?\[(?:[^\]]|\\\])*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g;
const EXPLICIT_ANCHOR = /<a\s[^>]*?\b(?:id|name)="([^"]+)"/g;

/** The lines of a Markdown text outside fenced code blocks, with their 1-based numbers, as written and with inline code removed. */
function proseLines(text: string): { line: number; raw: string; text: string }[] {
  const lines: { line: number; raw: string; text: string }[] = [];
  let fence: string | undefined;
  text.split('\n').forEach((line, i) => {
    const marker = /^\s*(`{3,}|~{3,})/.exec(line)?.[1];
    if (marker && (!fence || marker.startsWith(fence))) {
      fence = fence ? undefined : marker;
      return;
    }
    if (!fence) lines.push({ line: i + 1, raw: line, text: line.replace(/(`+)[^`]*?\1/g, '') });
  });
  return lines;
}

/** The anchor GitHub gives a heading: lowercase, punctuation dropped, spaces as hyphens. */
export function headingAnchor(heading: string): string {
  const text = heading.replace(/\[([^\]]*)\]\([^)]*\)/g, '$1').replace(/<[^>]+>/g, '');
  return text.trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-');
}

/** Every anchor of a Markdown text: its headings' (a repeated one numbered `-1`, `-2`, …) and explicit `<a id>`s. */
export function anchorsOf(text: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const { raw, text: line } of proseLines(text)) {
    // A heading's inline code is part of its anchor.
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(raw);
    if (heading) {
      const base = headingAnchor(heading[1]);
      const count = seen.get(base) ?? 0;
      seen.set(base, count + 1);
      anchors.add(count ? `${base}-${count}` : base);
    }
    for (const match of line.matchAll(EXPLICIT_ANCHOR)) anchors.add(match[1]);
  }
  return anchors;
}

/**
 * The relative links and anchors of the given Markdown files (relative to
 * root) that lead nowhere, as `file:line: target: why`. Links to other
 * sites are not followed.
 */
export function brokenLinks(root: string, files: string[]): string[] {
  const anchors = new Map<string, Set<string>>();
  const anchorsIn = (file: string): Set<string> => {
    if (!anchors.has(file)) anchors.set(file, anchorsOf(fs.readFileSync(path.join(root, file), 'utf8')));
    return anchors.get(file)!;
  };
  const broken: string[] = [];
  for (const file of files) {
    for (const { line, text } of proseLines(fs.readFileSync(path.join(root, file), 'utf8'))) {
      for (const [, target] of text.matchAll(LINK)) {
        if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue;
        const problem = problemOf(root, file, target, anchorsIn);
        if (problem) broken.push(`${file}:${line}: ${target}: ${problem}`);
      }
    }
  }
  return broken;
}

function problemOf(root: string, file: string, target: string, anchorsIn: (file: string) => Set<string>): string | undefined {
  const [pathPart, anchor] = target.split('#', 2);
  const linked = pathPart ? path.normalize(path.join(path.dirname(file), decodeURIComponent(pathPart))) : file;
  if (linked.startsWith('..')) return 'outside the repository';
  if (!fs.existsSync(path.join(root, linked))) return `no file ${linked}`;
  if (anchor === undefined) return undefined;
  if (!linked.endsWith('.md')) return `an anchor into ${linked}, which is not Markdown`;
  return anchorsIn(linked).has(anchor) ? undefined : `no heading or anchor #${anchor} in ${linked}`;
}
