'use strict';
// Checks on Istio's `base` and `istiod` charts as `helm template` renders them with the output's
// Helm values, and the altered copies of those values that the checks must reject.
// Usage: node helm.js <command> <args...>; see the commands table at the bottom.
const fs = require('fs');
const {
  YAML, loadFile, loadDir, ofKind, describe, writeYaml, fail, runCommand, exactlyOne,
} = require('./manifests');

const groupOf = (obj) => String(obj.apiVersion).split('/')[0];
const versionOf = (obj) => String(obj.apiVersion).split('/')[1];

// The Istio kinds the output applies; the IstioOperator is istioctl input and needs no CRD.
function istioKinds(dir) {
  const kinds = new Map();
  for (const { obj } of loadDir(dir)) {
    const group = groupOf(obj);
    if (group.endsWith('.istio.io') && group !== 'install.istio.io') kinds.set(`${obj.kind}.${group}/${versionOf(obj)}`, obj);
  }
  return [...kinds.values()];
}

const servesKind = (crd, obj) => crd.spec.group === groupOf(obj) && crd.spec.names.kind === obj.kind &&
  crd.spec.versions.some((v) => v.name === versionOf(obj) && v.served);

// Every Istio kind of the output has a served CRD in the rendered base chart.
function baseCrds(dir, base) {
  const crds = ofKind(loadFile(base), 'CustomResourceDefinition', 'apiextensions.k8s.io').map((e) => e.obj);
  const kinds = istioKinds(dir);
  const missing = kinds.filter((obj) => !crds.some((crd) => servesKind(crd, obj)));
  if (missing.length > 0) fail(`the base chart serves no CRD for ${missing.map((o) => `${o.kind} (${o.apiVersion})`).join(', ')}`);
  console.log(`ok: the base chart (${crds.length} CRDs) serves every Istio kind of the output: ${kinds.map((o) => `${o.kind} (${o.apiVersion})`).join(', ') || '<none>'}`);
}

// A copy of the rendered base chart without the CRD of the output's first Istio kind; prints the
// kind, or nothing when the output has no Istio kind.
function baseWithoutCrd(dir, base, out) {
  const [first] = istioKinds(dir);
  if (!first) return;
  const kept = loadFile(base).filter(({ obj }) => !(obj.kind === 'CustomResourceDefinition' && servesKind(obj, first)));
  fs.writeFileSync(out, kept.map(({ obj }) => YAML.stringify(obj, { lineWidth: 0 })).join('---\n'));
  console.log(first.kind);
}

const named = (all, kind, name) => exactlyOne(ofKind(all, kind).filter(({ obj }) => obj.metadata.name === name), `${kind} ${name} in the rendered istiod chart`);

// What the rendered istiod chart carries of the settings: istiod's environment, the mesh config's
// trust domain and the injection templates.
function renderedSettings(istiod) {
  const all = loadFile(istiod);
  const deployment = named(all, 'Deployment', 'istiod');
  const discovery = deployment.obj.spec.template.spec.containers.find((c) => c.name === 'discovery') ||
    fail(`${describe(deployment)} has no discovery container`);
  const env = Object.fromEntries((discovery.env || []).map((e) => [e.name, e.value]));
  const mesh = YAML.parse(named(all, 'ConfigMap', 'istio').obj.data.mesh);
  const injector = YAML.parse(named(all, 'ConfigMap', 'istio-sidecar-injector').obj.data.config);
  return { env, trustDomain: mesh.trustDomain, templates: injector.templates || {} };
}

// The rendered istiod chart against the output's values and trust domain; every difference is
// reported, each naming the setting.
function istiodSettings(istiod, valuesFile, trustDomain) {
  const values = YAML.parse(fs.readFileSync(valuesFile, 'utf8'));
  const rendered = renderedSettings(istiod);
  const problems = [];
  const expect = (ok, message, problem) => (ok ? console.log(`ok: ${message}`) : problems.push(problem));
  expect(values.meshConfig?.trustDomain === trustDomain && rendered.trustDomain === trustDomain,
    `mesh config trustDomain is ${trustDomain}`,
    `trustDomain: the values set '${values.meshConfig?.trustDomain}', the rendered mesh config has '${rendered.trustDomain}', the output's is '${trustDomain}'`);
  for (const [name, value] of Object.entries(values.pilot?.env || {})) {
    expect(rendered.env[name] === String(value), `istiod Deployment env ${name}=${rendered.env[name]}`,
      `istiod Deployment env ${name}: the values set '${value}', the rendered Deployment has '${rendered.env[name] ?? '<unset>'}'`);
  }
  const templates = Object.entries(values.sidecarInjectorWebhook?.templates || {});
  if (templates.length === 0) problems.push('the values define no injection template');
  for (const [name, text] of templates) {
    expect(rendered.templates[name] === text, `the injector ConfigMap holds the output's template ${name} verbatim`,
      `injection template ${name}: ${name in rendered.templates ? 'the rendered injector ConfigMap holds other text than the output\'s values' : 'not in the rendered injector ConfigMap'}`);
  }
  if (problems.length > 0) fail(problems.join('\n  '));
}

// Lines of a block whose first line matches `start`: that line and all the deeper-indented ones.
function withoutBlock(text, start) {
  const lines = text.split('\n');
  const out = [];
  for (let i = 0; i < lines.length; i++) {
    if (!start.test(lines[i])) {
      out.push(lines[i]);
      continue;
    }
    const indent = lines[i].search(/\S/);
    while (i + 1 < lines.length && lines[i + 1].search(/\S/) > indent) i++;
  }
  return out.join('\n');
}

// Altered copies of the values file, each printing what it changed.
const ALTER = {
  // Every template's CSI volume dropped, so the pod keeps Istio's own emptyDir for the socket.
  'no-csi': (values) => {
    const templates = values.sidecarInjectorWebhook.templates;
    for (const name of Object.keys(templates)) {
      templates[name] = withoutBlock(withoutBlock(templates[name], /^\s*csi:\s*$/), /^\s*emptyDir: null\s*$/);
    }
    return `templates ${Object.keys(templates).join(', ')} without their ${'csi.spiffe.io'} volume`;
  },
  settings: (values) => {
    values.meshConfig.trustDomain = `altered.${values.meshConfig.trustDomain}`;
    const env = ((values.pilot ??= {}).env ??= {});
    env.ENABLE_NATIVE_SIDECARS = env.ENABLE_NATIVE_SIDECARS === 'false' ? 'true' : 'false';
    return `trustDomain ${values.meshConfig.trustDomain}, ENABLE_NATIVE_SIDECARS ${env.ENABLE_NATIVE_SIDECARS}`;
  },
};

function alteredValues(valuesFile, out, how) {
  const values = YAML.parse(fs.readFileSync(valuesFile, 'utf8'));
  const alter = ALTER[how] || fail(`no alteration ${how}; one of ${Object.keys(ALTER).join(', ')}`);
  const what = alter(values);
  writeYaml(out, values);
  console.log(what);
}

// The shell lines of a Markdown page's ```sh blocks, in order.
function shellLines(text) {
  const lines = [];
  let inShell = false;
  for (const line of text.split('\n')) {
    if (/^```/.test(line)) inShell = !inShell && /^```sh\s*$/.test(line);
    else if (inShell && line.trim() && !line.trim().startsWith('#')) lines.push(line.trim());
  }
  return lines;
}

// `helm install` with the flags the suite renders with (`-n NS` and `--version V` pairs, values file).
const helmInstall = (release, chart, flags) => ({
  what: `helm install ${release} ${chart} ${flags.join(' ')}`,
  matches: (line) => {
    const words = line.split(/\s+/);
    const pairs = new Set(words.slice(1).map((w, i) => `${words[i]} ${w}`));
    return line.startsWith(`helm install ${release} ${chart} `) && flags.every((f) => (f.includes(' ') ? pairs.has(f) : words.includes(f)));
  },
});
const exactLine = (command) => ({ what: command, matches: (line) => line === command });

// The Helm route of the docs page PAGE, in the order it must run: after the identities the
// repository, the namespace, base, istiod, all before the workloads, at the pinned release and with
// the output's values.
function docCommands(page, version, namespace, values) {
  const steps = [
    exactLine('kubectl apply -f dist/0002-identities.k8s.yaml'),
    exactLine('helm repo add istio https://istio-release.storage.googleapis.com/charts'),
    exactLine('helm repo update'),
    exactLine(`kubectl create namespace ${namespace}`),
    helmInstall('istio-base', 'istio/base', [`-n ${namespace}`, `--version ${version}`]),
    helmInstall('istiod', 'istio/istiod', [`-n ${namespace}`, `--version ${version}`, `-f ${values}`]),
    exactLine('kubectl apply -f dist/0004-workloads.k8s.yaml'),
  ];
  const lines = shellLines(fs.readFileSync(page, 'utf8'));
  let at = -1;
  for (const step of steps) {
    const found = lines.findIndex((line, i) => i > at && step.matches(line));
    if (found < 0) fail(`${page} has no \`${step.what}\` ${at < 0 ? '' : `after \`${lines[at]}\``}`);
    console.log(`ok: ${lines[found]}`);
    at = found;
  }
}

// A copy of the docs page PAGE without the lines that start with PREFIX; prints how many it dropped.
function docWithout(page, out, prefix) {
  const lines = fs.readFileSync(page, 'utf8').split('\n');
  const kept = lines.filter((line) => !line.trim().startsWith(prefix));
  fs.writeFileSync(out, kept.join('\n'));
  console.log(lines.length - kept.length);
}

runCommand({
  'doc-commands': docCommands,
  'doc-without': docWithout,
  'base-crds': baseCrds,
  'base-without-crd': baseWithoutCrd,
  'istiod-settings': istiodSettings,
  'altered-values': alteredValues,
});
