//! The log categories logged at debug level, changed at run time by the `logging` call:
//! the set itself, and the hook that swaps the live `tracing` filter to match it.

use std::sync::Mutex;

use crate::config::{log_filter_for, LOG_CATEGORIES};

/// Installs a filter (in `tracing`'s directive syntax) in the running subscriber.
pub type ApplyFilter = Box<dyn Fn(&str) -> Result<(), String> + Send + Sync>;

/// The categories at debug level and the way to make a change take effect.
pub struct LogControl {
    on: Mutex<Vec<&'static str>>,
    apply: Option<ApplyFilter>,
}

impl std::fmt::Debug for LogControl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogControl")
            .field("on", &*self.lock())
            .finish_non_exhaustive()
    }
}

/// Why a `logging` request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoggingError {
    /// A name that is not a category (nor `all`/`1`/`none`/`0`).
    #[error("unknown logging category {0}")]
    UnknownCategory(String),
    /// The subscriber refused the new filter.
    #[error("cannot change the log filter: {0}")]
    Apply(String),
}

impl LogControl {
    /// Control over a live subscriber whose filter `apply` replaces.
    pub fn new(initial: Vec<&'static str>, apply: ApplyFilter) -> Self {
        LogControl {
            on: Mutex::new(initial),
            apply: Some(apply),
        }
    }

    /// Control over nothing: for nodes built in tests, where no subscriber is installed.
    pub fn detached() -> Self {
        LogControl {
            on: Mutex::new(Vec::new()),
            apply: None,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<&'static str>> {
        self.on.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Every category and whether it is at debug level, in [`LOG_CATEGORIES`] order.
    pub fn categories(&self) -> Vec<(&'static str, bool)> {
        let on = self.lock();
        LOG_CATEGORIES
            .iter()
            .map(|c| (*c, on.contains(c)))
            .collect()
    }

    /// Core's `logging include exclude`: switches `include` on, then `exclude` off. Either
    /// may name `all`/`1` (every category) or `none`/`0` (no category). Nothing changes
    /// when a name is unknown.
    pub fn update(&self, include: &[String], exclude: &[String]) -> Result<(), LoggingError> {
        let include = expand(include)?;
        let exclude = expand(exclude)?;
        let mut on = self.lock();
        let mut next: Vec<&'static str> = LOG_CATEGORIES
            .iter()
            .copied()
            .filter(|c| (on.contains(c) || include.contains(c)) && !exclude.contains(c))
            .collect();
        next.dedup();
        if let Some(apply) = &self.apply {
            apply(&log_filter_for(&next)).map_err(LoggingError::Apply)?;
        }
        *on = next;
        Ok(())
    }
}

fn expand(names: &[String]) -> Result<Vec<&'static str>, LoggingError> {
    let mut out = Vec::new();
    for name in names {
        match name.as_str() {
            "all" | "1" => out.extend(LOG_CATEGORIES),
            "none" | "0" => {}
            other => match LOG_CATEGORIES.iter().find(|c| **c == other) {
                Some(c) => out.push(*c),
                None => return Err(LoggingError::UnknownCategory(other.to_owned())),
            },
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn include_then_exclude_and_the_filter_follows() {
        let applied = Arc::new(Mutex::new(String::new()));
        let seen = Arc::clone(&applied);
        let ctl = LogControl::new(
            vec!["net"],
            Box::new(move |f| {
                *seen.lock().expect("lock") = f.to_owned();
                Ok(())
            }),
        );
        ctl.update(&names(&["mempool", "rpc"]), &names(&["net"]))
            .expect("known");
        let on: Vec<_> = ctl.categories().into_iter().filter(|c| c.1).collect();
        assert_eq!(on, vec![("mempool", true), ("rpc", true)]);
        assert_eq!(
            *applied.lock().expect("lock"),
            "info,mempool=debug,rpc=debug"
        );
        ctl.update(&names(&["all"]), &names(&["0"])).expect("known");
        assert!(ctl.categories().iter().all(|c| c.1));
        ctl.update(&[], &names(&["all"])).expect("known");
        assert!(ctl.categories().iter().all(|c| !c.1));
    }

    #[test]
    fn an_unknown_category_changes_nothing() {
        let ctl = LogControl::new(vec!["chain"], Box::new(|_| Ok(())));
        assert_eq!(
            ctl.update(&names(&["net", "nett"]), &[]),
            Err(LoggingError::UnknownCategory("nett".into()))
        );
        let on: Vec<_> = ctl.categories().into_iter().filter(|c| c.1).collect();
        assert_eq!(on, vec![("chain", true)]);
    }

    #[test]
    fn a_refused_filter_leaves_the_set_as_it_was() {
        let ctl = LogControl::new(vec![], Box::new(|_| Err("gone".into())));
        assert!(matches!(
            ctl.update(&names(&["net"]), &[]),
            Err(LoggingError::Apply(_))
        ));
        assert!(ctl.categories().iter().all(|c| !c.1));
    }
}
