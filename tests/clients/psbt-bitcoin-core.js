// The npm `bitcoin-core` client (v5) driving the PSBT calls as a Bitcoin Core user's script
// would: walletcreatefundedpsbt and walletprocesspsbt on the wallet service (its
// /wallet/<name> endpoint), decodepsbt, analyzepsbt, combinepsbt, finalizepsbt,
// utxoupdatepsbt and converttopsbt on the node, reading Core's result fields. Run by
// tests/tests/clients.rs with NODE_HOST, NODE_USER, NODE_PASSWORD, WALLET_HOST, WALLET_USER,
// WALLET_PASSWORD and DOTCOIN_ADDRESS; exits non-zero naming the first check that failed.
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

async function main() {
  const mine = await wallet.command('getnewaddress');
  await node.command('generatetoaddress', 101, mine);

  const funded = await wallet.command('walletcreatefundedpsbt', [], { [payee]: 3 }, 0, { fee_rate: 1 });
  assert.deepStrictEqual(Object.keys(funded).sort(), ['changepos', 'fee', 'psbt'], JSON.stringify(funded));
  assert.strictEqual(funded.changepos, 1);
  assert.strictEqual(funded.fee, 0.00000191);

  const decoded = await node.command('decodepsbt', funded.psbt);
  assert.strictEqual(decoded.inputs[0].witness_utxo.amount, 50, JSON.stringify(decoded));
  assert.strictEqual(decoded.tx.vout[0].scriptPubKey.address, payee);
  assert.strictEqual((await node.command('analyzepsbt', funded.psbt)).next, 'signer');

  const processed = await wallet.command('walletprocesspsbt', funded.psbt, true, 'DEFAULT', true, false);
  assert.strictEqual(processed.complete, true, JSON.stringify(processed));
  const combined = await node.command('combinepsbt', [funded.psbt, processed.psbt]);
  const final = await node.command('finalizepsbt', combined);
  assert.strictEqual(final.complete, true);
  const txid = await node.command('sendrawtransaction', final.hex);
  await node.command('generatetoaddress', 1, mine);
  assert.strictEqual((await node.command('getrawtransaction', txid, 1)).confirmations, 1);

  const raw = await node.command('createrawtransaction', [{ txid, vout: 0 }], { [payee]: 1 });
  const updated = await node.command('utxoupdatepsbt', await node.command('converttopsbt', raw));
  assert.strictEqual((await node.command('decodepsbt', updated)).inputs[0].witness_utxo.amount, 3);

  try {
    await node.command('decodepsbt', 'AAAA');
    assert.fail('decodepsbt of garbage: no error');
  } catch (e) {
    assert.strictEqual(e.code, -22, `decodepsbt of garbage: ${e.code} ${e.message}`);
  }
  console.log('psbt bitcoin-core: all checks passed');
}

main().catch(e => {
  console.error(`FAIL: ${e.stack || e}`);
  process.exit(1);
});
