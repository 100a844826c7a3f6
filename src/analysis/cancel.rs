//! Cancellation (取消) of a computation nobody waits for any more: the server raises the flag
//! when the last request for a result has gone, and the long loops of the checks look at it
//! between parks and parcels, so that the work stops soon instead of running to its end. A
//! cancelled run returns early with a partial report, which the caller discards.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// A flag shared by the one who may cancel and the computation that looks at it; clones
/// share the flag.
#[derive(Clone, Debug, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    /// A flag not raised.
    pub fn new() -> Cancel {
        Cancel::default()
    }

    /// Ask the computation to stop; it cannot be taken back.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Whether the computation was asked to stop.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cancel_is_seen_by_every_clone_and_stays() {
        let c = Cancel::new();
        let seen = c.clone();
        assert!(!seen.is_cancelled());
        c.cancel();
        assert!(seen.is_cancelled());
        assert!(c.is_cancelled());
    }
}
