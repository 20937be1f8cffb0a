'use strict';
// GET requests to the run's API server with the admin's client certificate over one kept-alive
// connection: what the polls read (pods, events, logs), without a kubectl process per read.
const fs = require('fs');
const https = require('https');

let target;

// connect(server, ca, cert, key): the API server's URL and the files of its CA and the client's
// certificate and key.
function connect(server, ca, cert, key) {
  const agent = new https.Agent({ keepAlive: true, maxSockets: 1, ca: fs.readFileSync(ca), cert: fs.readFileSync(cert), key: fs.readFileSync(key) });
  target = { server, agent };
}

// get(path, query): the response body; an answer other than 200 is an error with the API
// server's message, as kubectl reports it.
function get(path, query = {}) {
  if (!target) throw new Error('no API server to ask: connect() was not called');
  const url = new URL(path, target.server);
  for (const [key, value] of Object.entries(query)) if (value) url.searchParams.set(key, value);
  return new Promise((resolve, reject) => {
    const request = https.get(url, { agent: target.agent }, (response) => {
      const chunks = [];
      response.on('data', (chunk) => chunks.push(chunk));
      response.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        if (response.statusCode === 200) resolve(body);
        else reject(new Error(`GET ${url.pathname}${url.search}: ${response.statusCode} ${messageOf(body)}`));
      });
    });
    request.on('error', reject);
  });
}

const messageOf = (body) => {
  try {
    return JSON.parse(body).message;
  } catch {
    return body.trim();
  }
};

module.exports = { connect, get };
