const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const net = require('node:net');

test('reads the fixture file', () => {
  const users = JSON.parse(fs.readFileSync('fixtures/users.json', 'utf8'));
  assert.ok(users.length > 0);
});

test('listens on a busy port', async () => {
  const first = net.createServer();
  await new Promise((resolve) => first.listen(0, '127.0.0.1', resolve));
  const { port } = first.address();
  const second = net.createServer();
  try {
    await new Promise((resolve, reject) => {
      second.once('error', reject);
      second.listen(port, '127.0.0.1', resolve);
    });
  } finally {
    first.close();
    second.close();
  }
});

test('needs a token', () => {
  if (!process.env.H17_TOKEN) {
    throw new Error('environment variable H17_TOKEN is not set');
  }
});
