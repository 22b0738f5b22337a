// mempool.space's npm client `@mempool/mempool.js` (v3), unchanged, against a regtest
// dotcoind's Esplora port. Run by tests/tests/esplora.rs with ESPLORA_HOST (host:port),
// PAYEE (an address paid once, in PAID_TXID), FRESH_HEX / FRESH_TXID (a signed transaction
// to broadcast), TIP_HEIGHT, TIP_HASH and HASH_1; exits non-zero naming the first check
// that failed.
'use strict';

const assert = require('assert');
const mempoolJS = require('@mempool/mempool.js');

const env = process.env;
const { bitcoin } = mempoolJS({ hostname: env.ESPLORA_HOST, protocol: 'http' });
const { blocks, transactions, addresses, fees } = bitcoin;

async function main() {
  assert.strictEqual(await blocks.getBlocksTipHeight(), Number(env.TIP_HEIGHT), 'tip height');
  assert.strictEqual(await blocks.getBlocksTipHash(), env.TIP_HASH, 'tip hash');
  assert.strictEqual(await blocks.getBlockHeight({ height: 1 }), env.HASH_1, 'block hash by height');

  const status = await blocks.getBlockStatus({ hash: env.HASH_1 });
  assert.strictEqual(status.in_best_chain, true, 'block status');
  assert.strictEqual(status.height, 1, 'block status height');
  const txids = await blocks.getBlockTxids({ hash: env.HASH_1 });
  assert.ok(Array.isArray(txids) && txids.length === 1 && txids[0].length === 64, `block txids: ${txids}`);

  const txStatus = await transactions.getTxStatus({ txid: env.PAID_TXID });
  assert.strictEqual(txStatus.confirmed, true, 'tx status');
  assert.strictEqual(txStatus.block_height, Number(env.TIP_HEIGHT), 'tx status height');
  assert.strictEqual(txStatus.block_hash, env.TIP_HASH, 'tx status hash');

  const addr = await addresses.getAddress({ address: env.PAYEE });
  assert.strictEqual(addr.address, env.PAYEE, 'address');
  assert.strictEqual(addr.chain_stats.tx_count, 1, 'address tx_count');
  assert.strictEqual(addr.chain_stats.funded_txo_count, 1, 'address funded_txo_count');
  assert.ok(addr.chain_stats.funded_txo_sum > 0, 'address funded_txo_sum');
  assert.strictEqual(addr.mempool_stats.tx_count, 0, 'address mempool tx_count');

  const txs = await addresses.getAddressTxs({ address: env.PAYEE });
  assert.strictEqual(txs.length, 1, 'address txs');
  assert.strictEqual(txs[0].txid, env.PAID_TXID, 'address txs txid');
  assert.strictEqual(txs[0].vout[0].scriptpubkey_type, 'v1_p2tr', 'output type');
  assert.strictEqual(txs[0].vout[0].scriptpubkey_address, env.PAYEE, 'output address');

  const utxos = await addresses.getAddressTxsUtxo({ address: env.PAYEE });
  assert.strictEqual(utxos.length, 1, 'utxos');
  assert.strictEqual(utxos[0].txid, env.PAID_TXID, 'utxo txid');
  assert.strictEqual(utxos[0].value, addr.chain_stats.funded_txo_sum, 'utxo value');

  const rec = await fees.getFeesRecommended();
  for (const k of ['fastestFee', 'halfHourFee', 'hourFee', 'economyFee', 'minimumFee']) {
    assert.ok(typeof rec[k] === 'number' && rec[k] >= 1, `fee ${k}: ${JSON.stringify(rec)}`);
  }

  const sent = await transactions.postTx({ txhex: env.FRESH_HEX });
  assert.strictEqual(sent, env.FRESH_TXID, 'broadcast');
  const fresh = await transactions.getTxStatus({ txid: env.FRESH_TXID });
  assert.strictEqual(fresh.confirmed, false, 'broadcast transaction in the pool');
  console.log('mempool.js: all checks passed');
}

main().catch((e) => {
  console.error(e && e.stack ? e.stack : e);
  process.exit(1);
});
