import * as fs from 'fs';
import * as path from 'path';
import { docFiles, REPO } from '../support/doc-blocks';
import { anchorsOf, brokenLinks, headingAnchor } from '../support/doc-links';
import { scratchDir } from '../support/files';

describe('the links of the README and docs/', () => {
  test('every relative link and anchor resolves', () => {
    expect(brokenLinks(REPO, docFiles())).toEqual([]);
  });
});

describe('the link check', () => {
  test('anchors are the headings as GitHub writes them, repeated ones numbered, and explicit ids', () => {
    expect(headingAnchor('JWT-SVIDs and OIDC discovery')).toBe('jwt-svids-and-oidc-discovery');
    expect(headingAnchor('`check`: manifests written elsewhere')).toBe('check-manifests-written-elsewhere');
    expect(headingAnchor('With [Argo CD](https://argo-cd.readthedocs.io) or Flux')).toBe('with-argo-cd-or-flux');
    const text = ['# Notes', '## Setup', '```sh', '# not a heading', '```', '## Setup', '<a id="faults-table"></a>', '## The rules of `check`'].join('\n');
    expect([...anchorsOf(text)]).toEqual(['notes', 'setup', 'setup-1', 'faults-table', 'the-rules-of-check']);
  });

  test('a missing file, a missing anchor and a link out of the repository are reported with file and line', () => {
    const root = scratchDir();
    fs.mkdirSync(path.join(root, 'docs'));
    fs.writeFileSync(path.join(root, 'README.md'), [
      '# Project',
      'See [ok](docs/page.md#the-part), [ok too](#project) and [a site](https://example.org/x.md#y).',
      'See [gone](docs/gone.md) and [wrong](docs/page.md#no-such-part).',
      '`[in code](docs/gone.md)`',
      '```md',
      '[in a block](docs/gone.md)',
      '```',
    ].join('\n'));
    fs.writeFileSync(path.join(root, 'docs', 'page.md'), '# Page\n## The part\n[up](../README.md#project) [out](../../etc/passwd) [self](#nowhere)\n');
    expect(brokenLinks(root, ['README.md', 'docs/page.md'])).toEqual([
      'README.md:3: docs/gone.md: no file docs/gone.md',
      'README.md:3: docs/page.md#no-such-part: no heading or anchor #no-such-part in docs/page.md',
      'docs/page.md:3: ../../etc/passwd: outside the repository',
      'docs/page.md:3: #nowhere: no heading or anchor #nowhere in docs/page.md',
    ]);
    fs.rmSync(root, { recursive: true, force: true });
  });
});
