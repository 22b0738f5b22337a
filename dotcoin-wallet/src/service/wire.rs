//! The wallet service's side of the Core-wire layer it shares with `dotcoind`
//! (`dotcoin_rpc_server`): its method table (parameter names and declared types, checked
//! before a handler runs), its limits and Core's multiwallet endpoints
//! (`/` or `/wallet/<name>`, handed to the methods as an `Endpoint` extension), and one
//! check of its own: an object with the same key twice is refused with -8 before
//! anything runs, so `sendmany` never silently pays the last of two amounts to one
//! address.

use std::collections::HashSet;

use dotcoin_rpc_server::{CoreWireLayer, Credentials, MethodTable, RpcErrorCode, WireConfig};
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use super::methods;

/// Most bytes of a request body.
pub const MAX_BODY: usize = 4 * 1024 * 1024;
/// Most bytes of one answer, all the replies of a batch together.
pub const MAX_REPLY: usize = 64 * 1024 * 1024;
/// Most calls in one batch.
pub const MAX_BATCH: usize = 1000;

/// The wallet methods as the wire sees them ([`methods::METHODS`]): each parameter's
/// name, whether it is required and its declared type's check.
#[derive(Debug, Clone, Copy)]
pub struct WalletTable;

impl MethodTable for WalletTable {
    type Param = dotcoin_rpc_server::declare::Arg;

    fn params(&self, method: &str) -> Option<&[dotcoin_rpc_server::declare::Arg]> {
        methods::args_of(method)
    }

    /// Core's wallet answers surplus parameters with its help text as `RPC_MISC_ERROR`.
    fn surplus_code(&self) -> i32 {
        RpcErrorCode::Misc as i32
    }

    fn check_element(&self, method: &str, raw: &str) -> Result<(), (i32, String)> {
        let Some(key) = first_duplicate_key(raw) else {
            return Ok(());
        };
        let what = if method == "sendmany" {
            "address"
        } else {
            "key"
        };
        Err((
            RpcErrorCode::InvalidParameter as i32,
            format!("Invalid parameter, duplicated {what}: {key}"),
        ))
    }
}

/// The wire for the service, accepting `user:password`.
pub fn layer(user: &str, password: &str) -> CoreWireLayer<WalletTable> {
    CoreWireLayer::new(
        WalletTable,
        Credentials::new(user, password),
        WireConfig {
            max_body: MAX_BODY,
            max_batch: MAX_BATCH,
            max_reply: MAX_REPLY,
            wallet_endpoints: true,
            pass_non_post: false,
            wallet_methods: &[],
            core_wallet_methods: &[],
        },
    )
}

/// The first key that appears twice in one object anywhere in `raw`, if any.
pub fn first_duplicate_key(raw: &str) -> Option<String> {
    struct Finder<'a>(&'a mut Option<String>);

    impl<'de> DeserializeSeed<'de> for Finder<'_> {
        type Value = ();
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            d.deserialize_any(self)
        }
    }

    impl<'de> Visitor<'de> for Finder<'_> {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("JSON")
        }
        fn visit_bool<E>(self, _: bool) -> Result<(), E> {
            Ok(())
        }
        fn visit_i64<E>(self, _: i64) -> Result<(), E> {
            Ok(())
        }
        fn visit_u64<E>(self, _: u64) -> Result<(), E> {
            Ok(())
        }
        fn visit_f64<E>(self, _: f64) -> Result<(), E> {
            Ok(())
        }
        fn visit_str<E>(self, _: &str) -> Result<(), E> {
            Ok(())
        }
        fn visit_unit<E>(self) -> Result<(), E> {
            Ok(())
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            while seq.next_element_seed(Finder(&mut *self.0))?.is_some() {}
            Ok(())
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            let mut seen = HashSet::new();
            while let Some(key) = map.next_key::<String>()? {
                if self.0.is_none() && !seen.insert(key.clone()) {
                    *self.0 = Some(key);
                }
                map.next_value_seed(Finder(&mut *self.0))?;
            }
            Ok(())
        }
    }

    let mut found = None;
    let mut de = serde_json::Deserializer::from_str(raw);
    let _ = Finder(&mut found).deserialize(&mut de);
    let _ = IgnoredAny::deserialize(&mut de);
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_keys_are_found_at_any_depth() {
        assert_eq!(first_duplicate_key(r#"{"a":1,"b":2}"#), None);
        assert_eq!(
            first_duplicate_key(r#"{"params":["",{"x":1,"x":2}]}"#),
            Some("x".into())
        );
        assert_eq!(
            first_duplicate_key(r#"[{"a":{"b":1}},{"a":{"b":1,"c":{"d":1,"d":1}}}]"#),
            Some("d".into())
        );
    }
}
