import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { installPeers, readmeInstallCommand, run, synthReadmeExample } = require('../../conformance/lib/readme-app.js');

const REPO = path.resolve(__dirname, '..', '..');
const REPOSITORY_URL = 'git+https://github.com/cdk8s-spire-istio/cdk8s-spire-istio.git';

// The committed tree, as a user's npm clones it: npm installs the dev dependencies in the clone
// and runs the package's prepare script, which builds what the package ships.
describe('the library as a git dependency', () => {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk8s-spire-istio-git-'));
  afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

  test('installs with the README command from a clone of the committed tree and synthesizes the README example', () => {
    const clone = path.join(scratch, 'repository');
    run('git', ['clone', '--quiet', '--no-checkout', REPO, clone], scratch);
    run('git', ['-C', clone, 'checkout', '--quiet', '--detach', run('git', ['rev-parse', 'HEAD'], REPO).trim()], scratch);
    const [command, ...args] = readmeInstallCommand(/^git\+/);
    const [url, ref] = args.at(-1).split('#');
    expect(url).toBe(REPOSITORY_URL);
    expect(ref).toBe(`v${JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')).version}`);
    // The release tag the README names, on the commit under test.
    run('git', ['-C', clone, 'tag', ref], scratch);

    const app = path.join(scratch, 'app');
    fs.mkdirSync(app);
    installPeers(app);
    run(command, [...args.slice(0, -1), `git+file://${clone}#${ref}`], app);
    synthReadmeExample(app, path.join(app, 'dist'));
    expect(fs.readdirSync(path.join(app, 'dist')).sort()).toEqual(['0000-crds.k8s.yaml', '0001-spire.k8s.yaml', '0002-identities.k8s.yaml', '0003-istio-profile.k8s.yaml', '0004-workloads.k8s.yaml', 'WIRING.md', 'helm']);
  }, 600_000);
});
