//! Address index calls: public data about what addresses hold and did, mempool-aware.
//! These are what the wallet asks; no key ever passes here. They scan the store, so they
//! run on blocking threads against a snapshot, never on the async workers.

use dotcoin_common::rpc_types::{AddressBalance, AddressUtxo};
use dotcoin_common::{Address, Network, Txid};
use dotcoin_rpc_server::arg::AddressIndexList;
use jsonrpsee::core::RpcResult;
use jsonrpsee::proc_macros::rpc;

use super::error::{rpc_error, MapRpcError, OkOrRpcError, RpcErrorCode};
use super::RpcContext;
use crate::chain::{txids_of, utxos_of};
use crate::state::Snapshot;

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
        let tip = state.height();
        let maturity = self.ctx.chain.params().coinbase_maturity;
        let mut out = Vec::new();
        for addr in addresses {
            for (op, coin) in
                utxos_of(state.view(), &addr.pubkey).map_rpc(RpcErrorCode::Database)?
            {
                out.push(AddressUtxo {
                    address: addr.to_string(),
                    txid: op.txid,
                    output_index: op.vout,
                    satoshis: coin.output.value.to_sat(),
                    height: coin.height,
                    confirmations: confirmations(state, coin.height)?,
                    coinbase: coin.is_coinbase,
                    // Spendable in the next block when confirmations reach maturity then.
                    immature: coin.is_coinbase && (tip + 1).saturating_sub(coin.height) < maturity,
                    spent_in_mempool: state.mempool().spender_of(&op).is_some(),
                });
            }
            for (op, txout) in state.mempool().outputs_to(&addr.pubkey) {
                out.push(AddressUtxo {
                    address: addr.to_string(),
                    txid: op.txid,
                    output_index: op.vout,
                    satoshis: txout.value.to_sat(),
                    height: 0,
                    confirmations: 0,
                    coinbase: false,
                    immature: false,
                    spent_in_mempool: state.mempool().spender_of(&op).is_some(),
                });
            }
        }
        Ok(out)
    }
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
        let utxos = self.utxos(&state, &addresses)?;
        let mut bal = AddressBalance {
            balance: 0,
            immature: 0,
            unconfirmed: 0,
            received: 0,
        };
        for u in &utxos {
            if u.confirmations == 0 {
                bal.unconfirmed += u.satoshis as i64;
            } else if u.spent_in_mempool {
                bal.unconfirmed -= u.satoshis as i64;
            } else if u.immature {
                bal.immature += u.satoshis;
            } else {
                bal.balance += u.satoshis;
            }
        }
        // Confirmed outputs spent by the pool still count as received, and spent confirmed
        // history is in the tx index: sum what every confirmed transaction paid these keys.
        for addr in &addresses {
            for (_, txid) in txids_of(state.view(), &addr.pubkey).map_rpc(RpcErrorCode::Database)? {
                let Some(loc) = state.tx_location(&txid).map_rpc(RpcErrorCode::Database)? else {
                    continue;
                };
                let Some(block) = state.block(&loc.block).map_rpc(RpcErrorCode::Database)? else {
                    continue;
                };
                if let Some(tx) = block.txdata.get(loc.index as usize) {
                    bal.received += tx
                        .outputs
                        .iter()
                        .filter(|o| o.pubkey == addr.pubkey)
                        .map(|o| o.value.to_sat())
                        .sum::<u64>();
                }
            }
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
