//! Addresses: the 32-byte x-only key of an output in bech32m, with witness version 1 like a
//! Bitcoin taproot address — `dc1p…` on main, `dcrt1p…` on regtest.

use std::fmt;
use std::str::FromStr;

use bech32::primitives::decode::{SegwitHrpstring, SegwitHrpstringError};
use bech32::{Fe32, Hrp};
use thiserror::Error;

use crate::params::Network;
use crate::primitives::PubKey;

/// An address: a network and the key outputs to it are locked to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Address {
    /// The network the address is for.
    pub network: Network,
    /// The key.
    pub pubkey: PubKey,
}

/// Why a string is not a usable address.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AddressError {
    /// A valid address, but of another network.
    #[error("address is for network {found}, expected {expected}")]
    WrongNetwork {
        /// The network the caller wants.
        expected: Network,
        /// The network the address belongs to.
        found: Network,
    },
    /// The prefix belongs to no dotcoin network.
    #[error("unknown address prefix '{0}' (expected dc or dcrt)")]
    UnknownPrefix(String),
    /// The checksum does not match (a typo).
    #[error("bad address checksum")]
    BadChecksum,
    /// Not 32 bytes of key.
    #[error("bad address length: {0}")]
    BadLength(String),
    /// Characters outside the bech32 alphabet, mixed case or no separator.
    #[error("bad address characters: {0}")]
    BadCharacter(String),
    /// A witness version other than 1.
    #[error("unsupported address version {0} (expected 1, 'p')")]
    UnsupportedVersion(u8),
}

impl Address {
    /// The address of `pubkey` on `network`.
    pub fn new(network: Network, pubkey: PubKey) -> Address {
        Address { network, pubkey }
    }

    /// Parses `s` and checks it belongs to `network`.
    pub fn parse_for(s: &str, network: Network) -> Result<Address, AddressError> {
        let addr: Address = s.parse()?;
        if addr.network != network {
            return Err(AddressError::WrongNetwork {
                expected: network,
                found: addr.network,
            });
        }
        Ok(addr)
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hrp = Hrp::parse(self.network.params().address_hrp)
            .expect("network prefixes are valid bech32 hrps");
        let s = bech32::segwit::encode_v1(hrp, &self.pubkey.0)
            .expect("a 32-byte program always encodes");
        f.write_str(&s)
    }
}

impl FromStr for Address {
    type Err = AddressError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let parsed = SegwitHrpstring::new(s).map_err(|e| match e {
            SegwitHrpstringError::Checksum(_) => AddressError::BadChecksum,
            SegwitHrpstringError::Unchecked(e) => AddressError::BadCharacter(e.to_string()),
            SegwitHrpstringError::InvalidWitnessVersion(v) => {
                AddressError::UnsupportedVersion(v.to_u8())
            }
            other => AddressError::BadLength(other.to_string()),
        })?;
        let hrp = parsed.hrp();
        let network = Network::ALL
            .into_iter()
            .find(|n| hrp.as_str().eq_ignore_ascii_case(n.params().address_hrp))
            .ok_or_else(|| AddressError::UnknownPrefix(hrp.to_string()))?;
        if parsed.witness_version() != Fe32::P {
            return Err(AddressError::UnsupportedVersion(
                parsed.witness_version().to_u8(),
            ));
        }
        let program: Vec<u8> = parsed.byte_iter().collect();
        let key: [u8; 32] = program.as_slice().try_into().map_err(|_| {
            AddressError::BadLength(format!("{} bytes, expected 32", program.len()))
        })?;
        Ok(Address {
            network,
            pubkey: PubKey(key),
        })
    }
}

impl serde::Serialize for Address {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> PubKey {
        PubKey([7u8; 32])
    }

    #[test]
    fn round_trip_both_networks() {
        let main = Address::new(Network::Main, key()).to_string();
        let reg = Address::new(Network::Regtest, key()).to_string();
        assert!(main.starts_with("dc1p"), "{main}");
        assert!(reg.starts_with("dcrt1p"), "{reg}");
        assert_eq!(
            main.parse::<Address>(),
            Ok(Address::new(Network::Main, key()))
        );
        assert_eq!(
            reg.parse::<Address>(),
            Ok(Address::new(Network::Regtest, key()))
        );
    }

    #[test]
    fn wrong_network() {
        let reg = Address::new(Network::Regtest, key()).to_string();
        assert_eq!(
            Address::parse_for(&reg, Network::Main),
            Err(AddressError::WrongNetwork {
                expected: Network::Main,
                found: Network::Regtest
            })
        );
    }

    #[test]
    fn bad_checksum() {
        let mut s = Address::new(Network::Main, key()).to_string();
        let last = s.pop().expect("non-empty");
        s.push(if last == 'q' { 'p' } else { 'q' });
        assert_eq!(s.parse::<Address>(), Err(AddressError::BadChecksum));
    }

    #[test]
    fn bad_length() {
        let hrp = Hrp::parse("dc").expect("valid");
        let s = bech32::segwit::encode_v1(hrp, &[1u8; 20]).expect("encodes");
        assert!(matches!(
            s.parse::<Address>(),
            Err(AddressError::BadLength(_))
        ));
    }

    #[test]
    fn bad_characters() {
        // 'b', 'i', 'o' and '1' after the separator are outside the bech32 alphabet.
        assert!(matches!(
            "dc1pbio".parse::<Address>(),
            Err(AddressError::BadCharacter(_))
        ));
        assert!(matches!(
            "no separator".parse::<Address>(),
            Err(AddressError::BadCharacter(_))
        ));
    }

    #[test]
    fn unknown_prefix() {
        let hrp = Hrp::parse("bc").expect("valid");
        let s = bech32::segwit::encode_v1(hrp, &[1u8; 32]).expect("encodes");
        assert_eq!(
            s.parse::<Address>(),
            Err(AddressError::UnknownPrefix("bc".into()))
        );
    }
}
