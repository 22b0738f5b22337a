//! Address index calls: public data about what addresses hold and did, mempool-aware.
//! These are what the wallet asks; no key ever passes here. They scan the address index,
//! whose values hold the amounts (no coin or block is read), on blocking threads against
//! a snapshot, never on the async workers. The dashboard's address page shares
//! [`address_totals`] and the row builders.

use dotcoin_common::rpc_types::{AddressBalance, AddressUtxo};
use dotcoin_common::{Address, Network, OutPoint, TxOut, Txid};
use dotcoin_rpc_server::arg::AddressIndexList;
use jsonrpsee::core::RpcResult;
use jsonrpsee::proc_macros::rpc;

use super::error::{rpc_error, MapRpcError, OkOrRpcError, RpcErrorCode};
use super::RpcContext;
use crate::chain::{txids_of, utxos_of};
use crate::state::Snapshot;
use crate::storage::{AddressCoin, TxidByPubkey, UtxoByPubkey};

/// Address index calls.
#[rpc(server)]
pub trait AddressIndexRpc {
    /// Unspent outputs of addresses.
    #[method(name = "getaddressutxos", blocking)]
    fn getaddressutxos(&self, addresses: AddressIndexList) -> RpcResult<Vec<AddressUtxo>>;
    /// Balances of addresses.
    #[method(name = "getaddressbalance", blocking)]
    fn getaddressbalance(&self, addresses: AddressIndexList) -> RpcResult<AddressBalance>;
    /// Transactions touching addresses.
    #[method(name = "getaddresstxids", blocking)]
    fn getaddresstxids(&self, addresses: AddressIndexList) -> RpcResult<Vec<Txid>>;
}

/// Confirmations of a row confirmed at `height`, as of `state`'s tip. A row above the tip
/// would mean a reader mixed two publications, which the snapshot's view rules out; it is
/// still checked, and answered as a database error rather than a wrapped-around count.
pub(super) fn confirmations(state: &Snapshot, height: u32) -> RpcResult<u32> {
    state.confirmations(height).ok_or_rpc(
        RpcErrorCode::Database,
        format!(
            "row at height {height} is above the tip {} it was read with",
            state.height()
        ),
    )
}

/// The addresses of an address-index call, each one of `network`'s (`-5` naming the one
/// that is not).
fn parse_addresses(addresses: &AddressIndexList, network: Network) -> RpcResult<Vec<Address>> {
    addresses
        .iter()
        .map(|a| {
            Address::parse_for(a, network).map_err(|e| {
                rpc_error(
                    RpcErrorCode::InvalidAddressOrKey,
                    format!("Invalid address '{a}' for parameter 'addresses': {e}"),
                )
            })
        })
        .collect()
}

/// Implementation of [`AddressIndexRpcServer`].
#[derive(Debug)]
pub struct AddressIndexRpcImpl {
    ctx: RpcContext,
}

impl AddressIndexRpcImpl {
    /// A plugin over `ctx`.
    pub fn new(ctx: RpcContext) -> Self {
        AddressIndexRpcImpl { ctx }
    }

    fn utxos(&self, state: &Snapshot, addresses: &[Address]) -> RpcResult<Vec<AddressUtxo>> {
        let mut out = Vec::new();
        for addr in addresses {
            for (op, coin) in
                utxos_of(state.view(), &addr.pubkey).map_rpc(RpcErrorCode::Database)?
            {
                out.push(confirmed_utxo(state, addr, op, &coin)?);
            }
            for (op, txout) in state.mempool().outputs_to(&addr.pubkey) {
                out.push(pool_utxo(state, addr, op, &txout));
            }
        }
        Ok(out)
    }
}

/// One confirmed address-index row as `getaddressutxos` shows it.
pub(crate) fn confirmed_utxo(
    state: &Snapshot,
    addr: &Address,
    op: OutPoint,
    coin: &AddressCoin,
) -> RpcResult<AddressUtxo> {
    Ok(AddressUtxo {
        address: addr.to_string(),
        txid: op.txid,
        output_index: op.vout,
        satoshis: coin.value.to_sat(),
        height: coin.height,
        confirmations: confirmations(state, coin.height)?,
        coinbase: coin.is_coinbase,
        immature: is_immature(state, coin),
        spent_in_mempool: state.mempool().spender_of(&op).is_some(),
    })
}

/// Whether `coin` is a coinbase output not yet spendable in the block after `state`'s tip
/// (spendable there when its confirmations reach maturity then).
fn is_immature(state: &Snapshot, coin: &AddressCoin) -> bool {
    coin.is_coinbase
        && state.height().saturating_add(1).saturating_sub(coin.height)
            < state.params().coinbase_maturity
}

/// One pool output to `addr` as `getaddressutxos` shows it.
pub(crate) fn pool_utxo(
    state: &Snapshot,
    addr: &Address,
    op: OutPoint,
    out: &TxOut,
) -> AddressUtxo {
    AddressUtxo {
        address: addr.to_string(),
        txid: op.txid,
        output_index: op.vout,
        satoshis: out.value.to_sat(),
        height: 0,
        confirmations: 0,
        coinbase: false,
        immature: false,
        spent_in_mempool: state.mempool().spender_of(&op).is_some(),
    }
}

/// What an address holds and did, as of one snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressTotals {
    /// `getaddressbalance`'s figures.
    pub balance: AddressBalance,
    /// Confirmed unspent outputs.
    pub confirmed_utxos: u64,
    /// Pool outputs paying it.
    pub pool_utxos: u64,
    /// Confirmed transactions touching it.
    pub confirmed_txs: u64,
}

/// The totals of `addr`: one walk of each address index (whose values hold the amounts,
/// so no coin or block is read) and one pass over the pool.
pub fn address_totals(state: &Snapshot, addr: &Address) -> RpcResult<AddressTotals> {
    let mut bal = AddressBalance {
        balance: 0,
        immature: 0,
        unconfirmed: 0,
        received: 0,
    };
    let (mut confirmed_utxos, mut confirmed_txs) = (0u64, 0u64);
    let mut failed = None;
    state
        .view()
        .for_each::<UtxoByPubkey>(&addr.pubkey.0, |(_, op), coin| {
            if failed.is_some() {
                return;
            }
            // The checks of `confirmed_utxo` without building its row (an address
            // string per output).
            if let Err(e) = confirmations(state, coin.height) {
                failed = Some(e);
                return;
            }
            confirmed_utxos += 1;
            let sat = coin.value.to_sat();
            if state.mempool().spender_of(&op).is_some() {
                bal.unconfirmed = bal.unconfirmed.saturating_sub(sat as i64);
            } else if is_immature(state, &coin) {
                bal.immature = bal.immature.saturating_add(sat);
            } else {
                bal.balance = bal.balance.saturating_add(sat);
            }
        })
        .map_rpc(RpcErrorCode::Database)?;
    if let Some(e) = failed {
        return Err(e);
    }
    // What every confirmed transaction paid the key, spent or not: the history index
    // holds it.
    state
        .view()
        .for_each::<TxidByPubkey>(&addr.pubkey.0, |_, did| {
            confirmed_txs += 1;
            bal.received = bal.received.saturating_add(did.received.to_sat());
        })
        .map_rpc(RpcErrorCode::Database)?;
    let pool = state.mempool().outputs_to(&addr.pubkey);
    for (_, out) in &pool {
        bal.unconfirmed = bal.unconfirmed.saturating_add(out.value.to_sat() as i64);
    }
    Ok(AddressTotals {
        balance: bal,
        confirmed_utxos,
        pool_utxos: pool.len() as u64,
        confirmed_txs,
    })
}

impl AddressIndexRpcServer for AddressIndexRpcImpl {
    fn getaddressutxos(&self, addresses: AddressIndexList) -> RpcResult<Vec<AddressUtxo>> {
        let network = self.ctx.chain.params().network;
        let addresses = parse_addresses(&addresses, network)?;
        let state = self.ctx.chain.snapshot();
        self.utxos(&state, &addresses)
    }

    fn getaddressbalance(&self, addresses: AddressIndexList) -> RpcResult<AddressBalance> {
        let network = self.ctx.chain.params().network;
        let addresses = parse_addresses(&addresses, network)?;
        let state = self.ctx.chain.snapshot();
        let mut bal = AddressBalance {
            balance: 0,
            immature: 0,
            unconfirmed: 0,
            received: 0,
        };
        for addr in &addresses {
            let b = address_totals(&state, addr)?.balance;
            bal.balance = bal.balance.saturating_add(b.balance);
            bal.immature = bal.immature.saturating_add(b.immature);
            bal.unconfirmed = bal.unconfirmed.saturating_add(b.unconfirmed);
            bal.received = bal.received.saturating_add(b.received);
        }
        Ok(bal)
    }

    fn getaddresstxids(&self, addresses: AddressIndexList) -> RpcResult<Vec<Txid>> {
        let network = self.ctx.chain.params().network;
        let addresses = parse_addresses(&addresses, network)?;
        let state = self.ctx.chain.snapshot();
        let mut confirmed = Vec::new();
        for addr in &addresses {
            confirmed.extend(txids_of(state.view(), &addr.pubkey).map_rpc(RpcErrorCode::Database)?);
        }
        confirmed.sort();
        confirmed.dedup();
        let mut out: Vec<Txid> = confirmed.into_iter().map(|(_, t)| t).collect();
        for addr in &addresses {
            for txid in state.mempool().txids_touching(&addr.pubkey) {
                if !out.contains(&txid) {
                    out.push(txid);
                }
            }
        }
        Ok(out)
    }
}
