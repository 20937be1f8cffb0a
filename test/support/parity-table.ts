/** The tables of docs/parity.md and what must hold of them. */

export type ParityStatus = 'mapped' | 'missing' | 'n/a';

export interface ParityRow {
  readonly chart: string;
  readonly line: number;
  readonly path: string;
  readonly status: string;
  readonly text: string;
}

export interface SummaryRow {
  readonly chart: string;
  readonly line: number;
  readonly cells: string[];
}

const STATUSES = ['mapped', 'missing', 'n/a'];
const API_MEMBER = /`([A-Z][A-Za-z0-9]*)\.([A-Za-z_][A-Za-z0-9_]*)`/g;

function cellsOf(line: string): string[] {
  return line.trim().replace(/^\|/, '').replace(/\|$/, '').split('|').map((cell) => cell.trim());
}

/** The value rows of each chart section, and the rows of the summary table. */
export function parseParity(markdown: string): { rows: ParityRow[]; summary: SummaryRow[]; sentence?: string } {
  const rows: ParityRow[] = [];
  const summary: SummaryRow[] = [];
  let section = '';
  let sentence: string | undefined;
  markdown.split('\n').forEach((text, index) => {
    const line = index + 1;
    const heading = /^## (.+)$/.exec(text);
    if (heading) section = heading[1];
    if (section === 'Summary' && /^Of the \d+ applicable values/.test(text)) sentence = text;
    if (!text.startsWith('|') || /^\|[-:| ]+\|$/.test(text)) return;
    const cells = cellsOf(text);
    if (section === 'Summary') {
      if (cells[0] !== 'chart') summary.push({ chart: cells[0], line, cells: cells.slice(1) });
      return;
    }
    if (cells[0] === 'value path' || section === '') return;
    rows.push({ chart: section, line, path: cells[0].replace(/^`|`$/g, ''), status: cells[2], text: cells[3] ?? '' });
  });
  return { rows, summary, sentence };
}

function share(mapped: number, missing: number): string {
  return `${(100 * mapped / (mapped + missing)).toFixed(1)} %`;
}

/** Every problem of the page: unknown API members, missing rows the API offers by now, rows without a status or reason, counts that do not add up. */
export function parityProblems(markdown: string, api: Map<string, Set<string>>): string[] {
  const { rows, summary, sentence } = parseParity(markdown);
  const problems: string[] = [];
  for (const row of rows) {
    const where = `line ${row.line} (${row.chart} ${row.path})`;
    if (!STATUSES.includes(row.status)) problems.push(`${where}: status "${row.status}" is none of ${STATUSES.join(', ')}`);
    if (row.text === '') problems.push(`${where}: no prop or reason`);
    const members = [...row.text.matchAll(API_MEMBER)];
    if (row.status === 'mapped' && members.length === 0) problems.push(`${where}: a mapped row names no \`Type.member\``);
    const offered = row.status === 'missing' ? /^`([A-Z][A-Za-z0-9]*)\.([A-Za-z_][A-Za-z0-9_]*)/.exec(row.text) : null;
    if (row.status === 'missing' && offered === null) problems.push(`${where}: a missing row starts with the \`Type.member\` that would offer it`);
    if (offered && api.get(offered[1])?.has(offered[2])) problems.push(`${where}: ${offered[1]}.${offered[2]} is in the public API now; map the row`);
    if (row.status !== 'mapped') continue;
    for (const [token, type, member] of members) {
      if (!api.get(type)?.has(member)) problems.push(`${where}: ${token} is not in the public API`);
    }
  }
  const charts = [...new Set(rows.map((row) => row.chart))];
  const countsOf = (of: ParityRow[]) => [of.length, ...STATUSES.map((status) => of.filter((row) => row.status === status).length)];
  const expected = [...charts.map((chart) => ({ chart, counts: countsOf(rows.filter((row) => row.chart === chart)) })), { chart: 'total', counts: countsOf(rows) }];
  for (const { chart, counts } of expected) {
    const [, mapped, missing] = counts;
    const stated = summary.find((row) => row.chart === chart);
    const cells = [...counts.map(String), share(mapped, missing)];
    if (stated === undefined) problems.push(`summary: no row for ${chart}`);
    else if (stated.cells.join(' | ') !== cells.join(' | ')) problems.push(`summary line ${stated.line}: ${chart} states ${stated.cells.join(' | ')}, the rows give ${cells.join(' | ')}`);
  }
  for (const stated of summary) {
    if (!expected.some(({ chart }) => chart === stated.chart)) problems.push(`summary line ${stated.line}: ${stated.chart} has no section`);
  }
  const [, mapped, missing] = countsOf(rows);
  const expectedSentence = `Of the ${mapped + missing} applicable values, ${mapped} are mapped to props: ${share(mapped, missing)}.`;
  if (sentence !== expectedSentence) problems.push(`summary: the sentence should read "${expectedSentence}", not "${sentence ?? 'none'}"`);
  return problems;
}
