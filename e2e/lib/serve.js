'use strict';
// One node process answering a run's calls of pods.js, instead of a process per call: a run polls
// a few hundred times, and each new process costs more CPU in starting than the check it runs.
//
// Protocol, on a TCP port of the run's loopback (bash opens it with /dev/tcp, no process started):
// the caller writes its working directory, the count of arguments and the arguments, each ended by
// a NUL; the answer is a line "STATUS ERROR_LINES", that many lines of standard error, then the
// standard output until the connection ends.
const net = require('net');
const util = require('util');

class Exit extends Error {
  constructor(code) {
    super(`exit ${code}`);
    this.code = code;
  }
}

// The fields of a request once all have arrived, else undefined.
function parseRequest(buffer) {
  const fields = buffer.toString('utf8').split('\0');
  if (fields.length < 3) return undefined;
  const [cwd, count, ...rest] = fields;
  if (rest.length <= Number(count)) return undefined;
  return { cwd, args: rest.slice(0, Number(count)) };
}

// Runs one command with its console, standard streams and process.exit captured; the answer.
async function runFor(commands, { cwd, args }) {
  const out = [];
  const err = [];
  const saved = { log: console.log, error: console.error, exit: process.exit, stdout: process.stdout.write, stderr: process.stderr.write };
  console.log = (...a) => out.push(`${util.format(...a)}\n`);
  console.error = (...a) => err.push(`${util.format(...a)}\n`);
  process.stdout.write = (chunk) => out.push(String(chunk)) > 0;
  process.stderr.write = (chunk) => err.push(String(chunk)) > 0;
  process.exit = (code) => {
    throw new Exit(code === undefined ? 0 : code);
  };
  let status = 0;
  try {
    process.chdir(cwd);
    const [command, ...rest] = args;
    if (!commands[command]) throw new Error(`unknown command ${command}`);
    await commands[command](...rest);
  } catch (e) {
    if (!(e instanceof Exit)) console.error(`FAIL: ${e.message}`);
    status = e instanceof Exit ? e.code : 1;
  } finally {
    Object.assign(console, { log: saved.log, error: saved.error });
    Object.assign(process, { exit: saved.exit });
    process.stdout.write = saved.stdout;
    process.stderr.write = saved.stderr;
  }
  const errText = err.join('').replace(/([^\n])$/, '$1\n');
  return `${status} ${(errText.match(/\n/g) || []).length}\n${errText}${out.join('')}`;
}

// serve(commands, port): answers calls on 127.0.0.1:port, one at a time (console, the standard
// streams and process.exit are swapped for the running one).
function serve(commands, port) {
  let queue = Promise.resolve();
  const server = net.createServer((socket) => {
    let buffer = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      buffer = Buffer.concat([buffer, chunk]);
      const request = parseRequest(buffer);
      if (!request) return;
      queue = queue.then(() => runFor(commands, request)).then((answer) => socket.end(answer));
    });
    socket.on('error', () => socket.destroy());
  });
  server.listen(Number(port), '127.0.0.1');
}

module.exports = { serve };
