// The npm `bitcoin-core` client (v5) driving the descriptor-wallet calls as a Bitcoin Core
// user's script would, reading Core's result fields: createwallet (a seed wallet and a
// watch-only blank one, Core's positional options), listdescriptors, importdescriptors,
// getwalletinfo's descriptor fields, getdescriptorinfo, deriveaddresses, getaddressinfo,
// WIF through dumpprivkey and importprivkey, listtransactions and migratewallet of a
// random-key wallet file. Run by
// tests/tests/clients.rs with WALLET_HOST, WALLET_USER and WALLET_PASSWORD; the service's
// wallets directory holds `legacy.json`, a version-1 wallet, not loaded. Exits non-zero
// naming the first check that failed.
'use strict';

const assert = require('assert');
const Client = require('bitcoin-core');

const options = {
  host: process.env.WALLET_HOST,
  username: process.env.WALLET_USER,
  password: process.env.WALLET_PASSWORD
};
const root = new Client(options);
const seed = new Client({ ...options, wallet: 'jsseed' });
const watch = new Client({ ...options, wallet: 'jswatch' });
const legacy = new Client({ ...options, wallet: 'legacy' });

async function main() {
  const created = await root.command('createwallet', 'jsseed');
  assert.strictEqual(created.name, 'jsseed');
  assert.strictEqual(created.mnemonic.split(' ').length, 12, JSON.stringify(created));
  // wallet_name, disable_private_keys, blank, passphrase, avoid_reuse, descriptors
  await root.command('createwallet', 'jswatch', true, true, '', false, true);

  const listed = await seed.command('listdescriptors');
  assert.strictEqual(listed.wallet_name, 'jsseed');
  const requests = listed.descriptors.map((d) => ({
    desc: d.desc, active: d.active, internal: d.internal, range: d.range, next_index: d.next_index, timestamp: d.timestamp
  }));
  const results = await watch.command('importdescriptors', requests);
  assert.deepStrictEqual(results.map((r) => r.success), [true, true], JSON.stringify(results));
  assert.ok(results.every((r) => r.error === undefined && r.warnings === undefined), JSON.stringify(results));
  assert.strictEqual(await watch.command('getrawchangeaddress'), await seed.command('getrawchangeaddress'));
  const info = await watch.command('getwalletinfo');
  assert.strictEqual(info.descriptors, true);
  assert.strictEqual(info.private_keys_enabled, false);
  const privateListed = await seed.command('listdescriptors', true);
  assert.ok(privateListed.descriptors[0].desc.includes('tprv'), JSON.stringify(privateListed));

  const receive = listed.descriptors.find((d) => !d.internal).desc;
  const descInfo = await seed.command('getdescriptorinfo', receive);
  assert.deepStrictEqual(Object.keys(descInfo).sort(), ['checksum', 'descriptor', 'hasprivatekeys', 'isrange', 'issolvable']);
  assert.ok(receive.endsWith(`#${descInfo.checksum}`), JSON.stringify(descInfo));
  const address = await seed.command('getnewaddress');
  assert.deepStrictEqual(await seed.command('deriveaddresses', receive, [0, 0]), [address]);
  const addrInfo = await seed.command('getaddressinfo', address);
  assert.strictEqual(addrInfo.ismine, true);
  assert.strictEqual(addrInfo.hdkeypath, 'm/86h/1h/0h/0/0', JSON.stringify(addrInfo));
  const wif = await seed.command('dumpprivkey', address);
  assert.ok('c9'.includes(wif[0]) && [51, 52].includes(wif.length), `WIF of length ${wif.length}`);
  // wallet_name, disable_private_keys, blank
  await root.command('createwallet', 'jskeys', false, true);
  const keys = new Client({ ...options, wallet: 'jskeys' });
  await keys.command('importprivkey', wif, 'imported', false);
  assert.strictEqual((await keys.command('getaddressinfo', address)).ismine, true);
  assert.deepStrictEqual(await seed.command('listtransactions', '*', 10, 0), []);

  const migrated = await root.command('migratewallet', 'legacy');
  assert.strictEqual(migrated.wallet_name, 'legacy');
  assert.ok(migrated.backup_path.endsWith('.legacy.bak'), JSON.stringify(migrated));
  assert.strictEqual((await legacy.command('getwalletinfo')).descriptors, true);
  try {
    await legacy.command('migratewallet');
    assert.fail('migrating twice: no error');
  } catch (e) {
    assert.strictEqual(e.code, -4, `migrating twice: ${e.code} ${e.message}`);
  }
  console.log('descriptors bitcoin-core: all checks passed');
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
