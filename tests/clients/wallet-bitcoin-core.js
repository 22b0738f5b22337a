// The npm `bitcoin-core` client (v5) against the wallet service (`dotcoin-wallet serve`),
// as a Bitcoin Core user's script would drive bitcoind's wallet: listsinceblock,
// lockunspent, listlockunspent, abandontransaction and gettransaction with Core's
// parameter names (named parameters, JSON-RPC 2.0 objects) and Core's result fields. Run by
// tests/tests/clients.rs with WALLET_HOST, WALLET_USER, WALLET_PASSWORD (the service's
// cookie) and NODE_HOST, NODE_USER, NODE_PASSWORD; exits non-zero naming the first check
// that failed.
'use strict';

const assert = require('assert');
const Client = require('bitcoin-core');

const wallet = new Client({
  host: process.env.WALLET_HOST,
  username: process.env.WALLET_USER,
  password: process.env.WALLET_PASSWORD,
  // Named parameters are sent as a JSON object to a server this version or newer.
  version: '0.21.0'
});
const node = new Client({
  host: process.env.NODE_HOST,
  username: process.env.NODE_USER,
  password: process.env.NODE_PASSWORD
});

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
  const address = await wallet.command('getnewaddress', 'js');
  await node.command('generatetoaddress', 101, address);
  const before = await node.command('getbestblockhash');
  const to = await wallet.command('getnewaddress');
  const txid = await wallet.command('sendtoaddress', to, 1);
  const tx = await wallet.command('gettransaction', { txid, verbose: true });
  assert.strictEqual(tx.txid, txid, 'gettransaction txid');
  assert.strictEqual(tx.confirmations, 0, 'pending');
  assert.strictEqual(tx.walletconflicts.length, 0, 'walletconflicts');
  assert.strictEqual(tx.details.map(d => d.category).join(), 'send,receive', 'to oneself');
  assert.ok(tx.fee < 0, `fee ${tx.fee}`);
  assert.strictEqual(tx.decoded.txid, txid, 'decoded');

  const mined = (await node.command('generatetoaddress', 1, address))[0];
  const since = await wallet.command('listsinceblock', {
    blockhash: before,
    target_confirmations: 1,
    include_watchonly: true,
    include_removed: true,
    include_change: false
  });
  const coinbase = (await node.command('getblock', mined)).tx[0];
  assert.strictEqual([...new Set(since.transactions.map(t => t.txid))].sort().join(),
    [txid, coinbase].sort().join(), 'listsinceblock: the payment and the new reward only');
  assert.ok(since.transactions.some(t => t.txid === txid && t.blockhash === mined), 'mined entry');
  assert.strictEqual(since.removed.length, 0, 'removed');
  assert.strictEqual(since.lastblock, mined, 'lastblock');

  const coin = (await wallet.command('listunspent'))[0];
  const out = { txid: coin.txid, vout: coin.vout };
  assert.strictEqual(await wallet.command('lockunspent', { unlock: false, transactions: [out] }), true);
  // The parser's objects have no prototype: compared as JSON.
  assert.strictEqual(JSON.stringify(await wallet.command('listlockunspent')),
    JSON.stringify([out]), 'listlockunspent');
  await expectError(() => wallet.command('lockunspent', { unlock: false, transactions: [out] }),
    -8, 'locked twice');
  assert.strictEqual(await wallet.command('lockunspent', { unlock: true }), true);
  assert.strictEqual((await wallet.command('listlockunspent')).length, 0, 'unlocked');

  await expectError(() => wallet.command('abandontransaction', { txid }), -5,
    'a mined transaction is not abandoned');
  await expectError(() => wallet.command('abandontransaction', { txid: '00'.repeat(32) }), -5,
    'not a wallet transaction');
  console.log('bitcoin-core wallet: all checks passed');
}

main().catch(e => {
  console.error(`FAIL: ${e.stack || e}`);
  process.exit(1);
});
