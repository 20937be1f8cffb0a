#!/usr/bin/env node
// Writes a single-layer OCI image-layout tar from a staged root directory, named so that
// `ctr images import` gives the image the reference it is built for.
//
// Usage: oci-image.js --ref REF --root DIR --out FILE [--user U] [--workdir W]
//          [--entrypoint JSON-ARRAY] [--cmd JSON-ARRAY] [--env K=V]... [--port P/tcp]...
//
// Modes, owners and symlinks come from the staged files as they are; every mtime is fixed, so
// the same staged tree always gives the same bytes and the same image digest.
'use strict';

const crypto = require('crypto');
const fs = require('fs');
const path = require('path');

const BLOCK = 512;
const FIXED_TIME = 0;
const CREATED = new Date(FIXED_TIME * 1000).toISOString();

function parseArgs(argv) {
  const opts = { env: [], ports: [] };
  const repeated = { '--env': 'env', '--port': 'ports' };
  const single = {
    '--ref': 'ref', '--root': 'root', '--out': 'out', '--user': 'user', '--workdir': 'workdir',
    '--entrypoint': 'entrypoint', '--cmd': 'cmd',
  };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    if (repeated[flag]) opts[repeated[flag]].push(value);
    else if (single[flag]) opts[single[flag]] = value;
    else throw new Error(`unknown option ${flag}`);
  }
  for (const required of ['ref', 'root', 'out']) {
    if (!opts[required]) throw new Error(`--${required} is required`);
  }
  for (const list of ['entrypoint', 'cmd']) {
    if (opts[list] !== undefined) opts[list] = JSON.parse(opts[list]);
  }
  return opts;
}

function octal(value, width) {
  return value.toString(8).padStart(width - 1, '0') + '\0';
}

// ustar splits a long path into prefix (155) and name (100) at a slash.
function splitPath(p) {
  if (Buffer.byteLength(p) <= 100) return ['', p];
  for (let i = p.indexOf('/'); i !== -1; i = p.indexOf('/', i + 1)) {
    const [prefix, name] = [p.slice(0, i), p.slice(i + 1)];
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(name) <= 100) return [prefix, name];
  }
  throw new Error(`path too long for ustar: ${p}`);
}

function header({ name, mode, uid = 0, gid = 0, size = 0, type, linkname = '' }) {
  const h = Buffer.alloc(BLOCK);
  const [prefix, base] = splitPath(name);
  h.write(base, 0, 100);
  h.write(octal(mode, 8), 100);
  h.write(octal(uid, 8), 108);
  h.write(octal(gid, 8), 116);
  h.write(octal(size, 12), 124);
  h.write(octal(FIXED_TIME, 12), 136);
  h.write(' '.repeat(8), 148);
  h.write(type, 156);
  if (Buffer.byteLength(linkname) > 100) throw new Error(`link target too long: ${linkname}`);
  h.write(linkname, 157, 100);
  h.write('ustar\0', 257);
  h.write('00', 263);
  h.write(prefix, 345, 155);
  let sum = 0;
  for (const byte of h) sum += byte;
  h.write(octal(sum, 7) + ' ', 148);
  return h;
}

function padding(size) {
  return Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK);
}

function fileEntry(name, data, mode = 0o644) {
  return [header({ name, mode, size: data.length, type: '0' }), data, padding(data.length)];
}

function endOfArchive() {
  return [Buffer.alloc(2 * BLOCK)];
}

// Entries of the staged tree in sorted order, parents before children.
function layerEntries(root) {
  const chunks = [];
  const walk = (rel) => {
    for (const entry of fs.readdirSync(path.join(root, rel)).sort()) {
      const relPath = rel ? `${rel}/${entry}` : entry;
      const full = path.join(root, relPath);
      const st = fs.lstatSync(full);
      const meta = { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
      if (st.isDirectory()) {
        chunks.push(header({ ...meta, name: `${relPath}/`, type: '5' }));
        walk(relPath);
      } else if (st.isSymbolicLink()) {
        chunks.push(header({ ...meta, name: relPath, type: '2', linkname: fs.readlinkSync(full) }));
      } else if (st.isFile()) {
        const data = fs.readFileSync(full);
        chunks.push(header({ ...meta, name: relPath, size: data.length, type: '0' }), data, padding(data.length));
      } else {
        throw new Error(`unsupported file type in staged root: ${full}`);
      }
    }
  };
  walk('');
  return Buffer.concat([...chunks, ...endOfArchive()]);
}

function blob(data, mediaType) {
  const digest = `sha256:${crypto.createHash('sha256').update(data).digest('hex')}`;
  return { data, descriptor: { mediaType, digest, size: data.length } };
}

function jsonBlob(value, mediaType) {
  return blob(Buffer.from(JSON.stringify(value)), mediaType);
}

function imageConfig(opts, layer) {
  const config = { Env: opts.env };
  if (opts.user) config.User = opts.user;
  if (opts.entrypoint) config.Entrypoint = opts.entrypoint;
  if (opts.cmd) config.Cmd = opts.cmd;
  if (opts.workdir) config.WorkingDir = opts.workdir;
  if (opts.ports.length) config.ExposedPorts = Object.fromEntries(opts.ports.map((p) => [p, {}]));
  return {
    created: CREATED,
    architecture: 'amd64',
    os: 'linux',
    config,
    rootfs: { type: 'layers', diff_ids: [layer.descriptor.digest] },
    history: [{ created: CREATED, created_by: `staged root for ${opts.ref}` }],
  };
}

function refTag(ref) {
  const lastPart = ref.slice(ref.lastIndexOf('/') + 1);
  return lastPart.includes(':') ? lastPart.slice(lastPart.indexOf(':') + 1) : 'latest';
}

function imageLayout(opts) {
  const layer = blob(layerEntries(opts.root), 'application/vnd.oci.image.layer.v1.tar');
  const config = jsonBlob(imageConfig(opts, layer), 'application/vnd.oci.image.config.v1+json');
  const manifest = jsonBlob({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: config.descriptor,
    layers: [layer.descriptor],
  }, 'application/vnd.oci.image.manifest.v1+json');
  const index = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [{
      ...manifest.descriptor,
      annotations: {
        'io.containerd.image.name': opts.ref,
        'org.opencontainers.image.ref.name': refTag(opts.ref),
      },
    }],
  };
  const blobs = [layer, config, manifest].flatMap(({ data, descriptor }) =>
    fileEntry(`blobs/sha256/${descriptor.digest.slice('sha256:'.length)}`, data));
  return Buffer.concat([
    header({ name: 'blobs/', mode: 0o755, type: '5' }),
    header({ name: 'blobs/sha256/', mode: 0o755, type: '5' }),
    ...blobs,
    ...fileEntry('oci-layout', Buffer.from(JSON.stringify({ imageLayoutVersion: '1.0.0' }))),
    ...fileEntry('index.json', Buffer.from(JSON.stringify(index))),
    ...endOfArchive(),
  ]);
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  const tmp = `${opts.out}.tmp`;
  fs.writeFileSync(tmp, imageLayout(opts));
  fs.renameSync(tmp, opts.out);
}

try {
  main();
} catch (err) {
  console.error(`oci-image: ${err.message}`);
  process.exit(1);
}
