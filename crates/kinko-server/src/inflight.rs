//! The bound on requests in progress. A request takes a permit when it arrives and gives it back
//! when its response is ready; with none left, it is refused at once (`ThrottlingException`, which
//! the SDKs retry with back-off) before any work on it, so overload never builds a queue. (The
//! listener reads the body first, under its own body timeout and connection limit.)
//! Health and readiness probes take no permit.

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Default bound on requests in progress.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 1024;

/// Permits for requests in progress.
#[derive(Debug)]
pub struct InFlight {
    permits: Arc<Semaphore>,
    limit: usize,
}

impl InFlight {
    /// At most `limit` requests in progress (at least one).
    pub fn new(limit: usize) -> InFlight {
        let limit = limit.clamp(1, Semaphore::MAX_PERMITS);
        InFlight {
            permits: Arc::new(Semaphore::new(limit)),
            limit,
        }
    }

    /// A permit, or `None` when `limit` requests are already in progress.
    pub fn try_enter(&self) -> Option<OwnedSemaphorePermit> {
        self.permits.clone().try_acquire_owned().ok()
    }

    /// Requests in progress now.
    pub fn current(&self) -> usize {
        self.limit - self.permits.available_permits()
    }

    /// The bound.
    pub fn limit(&self) -> usize {
        self.limit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn past_the_limit_requests_are_refused_at_once_and_a_permit_returns_on_drop() {
        let in_flight = InFlight::new(2);
        let a = in_flight.try_enter();
        let b = in_flight.try_enter();
        assert!(a.is_some() && b.is_some());
        assert_eq!(in_flight.current(), 2);
        assert!(in_flight.try_enter().is_none());
        drop(a);
        assert_eq!(in_flight.current(), 1);
        assert!(in_flight.try_enter().is_some());
    }
}
