// The npm `bitcoin-core` client (v5) against a regtest dotcoind, as a Bitcoin Core user's
// script would call it. Run by tests/tests/clients.rs with DOTCOIN_RPC_HOST (http://host:port),
// DOTCOIN_RPC_USER, DOTCOIN_RPC_PASSWORD and DOTCOIN_ADDRESS; exits non-zero naming the
// first check that failed.
'use strict';

const assert = require('assert');
const Client = require('bitcoin-core');

const client = new Client({
  host: process.env.DOTCOIN_RPC_HOST,
  username: process.env.DOTCOIN_RPC_USER,
  password: process.env.DOTCOIN_RPC_PASSWORD
});
const address = process.env.DOTCOIN_ADDRESS;

async function expectError(call, code, what) {
  try {
    await call();
  } catch (e) {
    assert.strictEqual(e.code, code, `${what}: ${e.code} ${e.message}`);
    return;
  }
  assert.fail(`${what}: no error`);
}

async function main() {
  const start = await client.getBlockCount();
  assert.strictEqual(typeof start, 'number', 'getblockcount');
  const hashes = await client.generateToAddress(2, address);
  assert.strictEqual(hashes.length, 2, 'generatetoaddress');
  assert.strictEqual(await client.command('getblockcount'), start + 2, 'height after mining');

  const info = await client.getBlockchainInfo();
  assert.strictEqual(info.chain, 'regtest');
  assert.strictEqual(info.blocks, start + 2);
  assert.strictEqual(info.bestblockhash, hashes[1]);

  const raw = await client.getBlock(hashes[0], 0);
  assert.ok(typeof raw === 'string' && raw.length > 160, `getblock 0: ${raw}`);
  const block = await client.getBlock(hashes[0], 1);
  assert.strictEqual(block.hash, hashes[0]);
  assert.strictEqual(block.height, start + 1);
  assert.strictEqual(block.tx.length, 1);
  const full = await client.getBlock(hashes[0], 2);
  assert.strictEqual(full.tx[0].txid, block.tx[0]);
  assert.strictEqual(full.tx[0].vout[0].value, 50);

  assert.deepStrictEqual(await client.getRawMempool(), []);

  const batch = await client.command([
    { method: 'getblockcount', parameters: [] },
    { method: 'getblockhash', parameters: [start + 1] },
    { method: 'getblockhash', parameters: [100000] }
  ]);
  assert.strictEqual(batch[0], start + 2, `batch: ${JSON.stringify(batch)}`);
  assert.strictEqual(batch[1], hashes[0]);
  assert.ok(batch[2] instanceof Error && batch[2].code === -8, `batch error: ${batch[2]}`);

  await expectError(() => client.getBlockHash(100000), -8, 'height out of range');
  await expectError(() => client.command('nosuchmethod'), -32601, 'unknown method');
  await expectError(() => client.command('getblockcount', 1), -8, 'surplus parameter');
  console.log('bitcoin-core: all checks passed');
}

main().catch(e => {
  console.error(`FAIL: ${e.stack || e}`);
  process.exit(1);
});
