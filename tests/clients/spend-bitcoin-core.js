// The npm `bitcoin-core` client (v5) driving the wallet service's spending calls as a Bitcoin
// Core user's script would: send, bumpfee, psbtbumpfee, fundrawtransaction and sendall on
// its /wallet/<name> endpoint, positional parameters in Core's order, reading Core's result
// fields. Run by tests/tests/clients.rs with NODE_HOST, NODE_USER, NODE_PASSWORD,
// WALLET_HOST, WALLET_USER, WALLET_PASSWORD and DOTCOIN_ADDRESS; exits non-zero naming the
// first check that failed.
'use strict';

const assert = require('assert');
const Client = require('bitcoin-core');

const node = new Client({
  host: process.env.NODE_HOST,
  username: process.env.NODE_USER,
  password: process.env.NODE_PASSWORD
});
const wallet = new Client({
  host: process.env.WALLET_HOST,
  username: process.env.WALLET_USER,
  password: process.env.WALLET_PASSWORD,
  wallet: 'default'
});
const payee = process.env.DOTCOIN_ADDRESS;
const keys = o => Object.keys(o).sort();

async function main() {
  const mine = await wallet.command('getnewaddress');
  await node.command('generatetoaddress', 101, mine);

  const sent = await wallet.command('send', [{ [payee]: 1 }], null, 'unset', 1);
  assert.deepStrictEqual(keys(sent), ['complete', 'txid'], JSON.stringify(sent));
  const bumped = await wallet.command('bumpfee', sent.txid, { fee_rate: 5 });
  assert.deepStrictEqual(keys(bumped), ['errors', 'fee', 'origfee', 'txid'], JSON.stringify(bumped));
  assert.strictEqual(bumped.origfee, 0.00000191);
  assert.strictEqual(bumped.fee, 0.00000955);
  assert.deepStrictEqual(await node.command('getrawmempool'), [bumped.txid]);
  assert.strictEqual((await wallet.command('gettransaction', sent.txid)).replaced_by_txid, bumped.txid);

  const asPsbt = await wallet.command('psbtbumpfee', bumped.txid, { fee_rate: 10 });
  assert.deepStrictEqual(keys(asPsbt), ['errors', 'fee', 'origfee', 'psbt'], JSON.stringify(asPsbt));
  assert.strictEqual(asPsbt.fee, 0.0000191);
  const signed = await wallet.command('walletprocesspsbt', asPsbt.psbt);
  assert.strictEqual(signed.complete, true);
  const third = await node.command('sendrawtransaction', signed.hex);
  await node.command('generatetoaddress', 1, mine);
  assert.strictEqual((await node.command('getrawtransaction', third, 1)).confirmations, 1);

  const raw = await node.command('createrawtransaction', [], { [payee]: 2 });
  const funded = await wallet.command('fundrawtransaction', raw, { fee_rate: 2 });
  assert.deepStrictEqual(keys(funded), ['changepos', 'fee', 'hex'], JSON.stringify(funded));
  assert.strictEqual(funded.changepos, 1);
  assert.strictEqual(funded.fee, 0.00000382);

  const all = await wallet.command('sendall', [payee], null, 'unset', 1, { add_to_wallet: false });
  assert.deepStrictEqual(keys(all), ['complete', 'hex', 'psbt', 'txid'], JSON.stringify(all));
  try {
    await wallet.command('sendall', [{ [payee]: 1 }]);
    assert.fail('sendall without a remainder address: no error');
  } catch (e) {
    assert.strictEqual(e.code, -8, `sendall without a remainder address: ${e.code} ${e.message}`);
  }
  console.log('spend bitcoin-core: all checks passed');
}

main().catch(e => {
  console.error(`FAIL: ${e.stack || e}`);
  process.exit(1);
});
