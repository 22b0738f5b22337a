//! The calls being answered now, as Core's `getrpcinfo` reports them. One registry per
//! process, as in Core: a process runs one RPC server.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// id → (method, start).
static ACTIVE: Mutex<BTreeMap<u64, (String, Instant)>> = Mutex::new(BTreeMap::new());
static NEXT_CALL: AtomicU64 = AtomicU64::new(0);

/// A call listed in the registry while it lives.
#[derive(Debug)]
pub(crate) struct ActiveCall(u64);

impl ActiveCall {
    pub(crate) fn start(method: &str) -> ActiveCall {
        let id = NEXT_CALL.fetch_add(1, Ordering::Relaxed);
        ACTIVE
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id, (method.to_owned(), Instant::now()));
        ActiveCall(id)
    }
}

impl Drop for ActiveCall {
    fn drop(&mut self) {
        ACTIVE
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.0);
    }
}

/// The calls being answered now, oldest first, with how long each has run.
pub fn active_calls() -> Vec<(String, Duration)> {
    ACTIVE
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .values()
        .map(|(m, t)| (m.clone(), t.elapsed()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_is_listed_while_it_lives() {
        let listed = |name: &str| active_calls().iter().any(|(m, _)| m == name);
        let call = ActiveCall::start("active_test_method");
        assert!(listed("active_test_method"));
        drop(call);
        assert!(!listed("active_test_method"));
    }
}
