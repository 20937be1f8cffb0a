import * as fs from 'fs';
import * as path from 'path';
import { REPO } from '../support/doc-blocks';
import { parityProblems, parseParity } from '../support/parity-table';
import { publicApiMembers } from '../support/public-api';

const PAGE = fs.readFileSync(path.join(REPO, 'docs', 'parity.md'), 'utf8');
const api = publicApiMembers();

describe('docs/parity.md', () => {
  test('names only members of the public API, gives every row a status and a prop or reason, and counts right', () => {
    expect(parityProblems(PAGE, api)).toEqual([]);
  });

  test('has a table for each of the four charts', () => {
    expect([...new Set(parseParity(PAGE).rows.map((row) => row.chart))]).toEqual(['spire-server', 'spire-agent', 'spiffe-csi-driver', 'spiffe-oidc-discovery-provider']);
  });
});

describe('the parity check', () => {
  const mappedRow = parseParity(PAGE).rows.find((row) => row.status === 'mapped' && row.text.startsWith('`SpireAgentOptions.logLevel`'))!;
  const lines = PAGE.split('\n');
  const withLine = (line: number, text: string) => lines.map((original, index) => (index === line - 1 ? text : original)).join('\n');

  test('a prop that is not in the public API fails it', () => {
    const broken = withLine(mappedRow.line, lines[mappedRow.line - 1].replace('`SpireAgentOptions.logLevel`', '`SpireAgentOptions.logVerbosity`'));
    expect(parityProblems(broken, api)).toEqual([expect.stringContaining('`SpireAgentOptions.logVerbosity` is not in the public API')]);
  });

  test('a mapped row without a prop, an unknown status and a missing reason fail it', () => {
    const original = lines[mappedRow.line - 1];
    expect(parityProblems(withLine(mappedRow.line, original.replace(/\| mapped \| .*\|$/, '| mapped | the log level |')), api))
      .toContainEqual(expect.stringContaining('a mapped row names no `Type.member`'));
    expect(parityProblems(withLine(mappedRow.line, original.replace('| mapped |', '| partly |')), api))
      .toContainEqual(expect.stringContaining('status "partly" is none of mapped, missing, n/a'));
    expect(parityProblems(withLine(mappedRow.line, original.replace(/\| mapped \| .*\|$/, '| n/a | |')), api))
      .toContainEqual(expect.stringContaining('no prop or reason'));
  });

  test('a row moved from missing to mapped without new counts fails the summary and the sentence', () => {
    const missingRow = parseParity(PAGE).rows.find((row) => row.status === 'missing')!;
    const broken = withLine(missingRow.line, lines[missingRow.line - 1].replace(/\| missing \| .*\|$/, '| mapped | `SpireAgentOptions.logLevel` |'));
    const problems = parityProblems(broken, api);
    expect(problems).toContainEqual(expect.stringMatching(new RegExp(`^summary line \\d+: ${missingRow.chart} states`)));
    expect(problems).toContainEqual(expect.stringMatching(/^summary line \d+: total states/));
    expect(problems).toContainEqual(expect.stringMatching(/^summary: the sentence should read "Of the \d+ applicable values, \d+ are mapped/));
  });

  test('a share that does not follow from the counts fails it', () => {
    const totalLine = lines.findIndex((line) => line.startsWith('| total |')) + 1;
    const broken = withLine(totalLine, lines[totalLine - 1].replace(/\| [0-9.]+ % \|$/, '| 90.0 % |'));
    expect(parityProblems(broken, api)).toEqual([expect.stringMatching(/^summary line \d+: total states .* 90\.0 %, the rows give/)]);
  });

  test('a missing row whose prop the API offers by now fails it', () => {
    const missingRow = parseParity(PAGE).rows.find((row) => row.status === 'missing')!;
    const broken = withLine(missingRow.line, lines[missingRow.line - 1].replace(/\| missing \| .*\|$/, '| missing | `SpireAgentOptions.logLevel?: LogLevel` |'));
    expect(parityProblems(broken, api)).toContainEqual(expect.stringContaining('SpireAgentOptions.logLevel is in the public API now; map the row'));
  });
});
