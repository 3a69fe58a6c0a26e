//! Time, injected: the core never reads the system clock itself. A refresh reads the clock once
//! and checks every expiry against that one instant.
//!
//! Owns the [`Clock`] trait and its clocks; imports nothing from the crate (`js_sys::Date` in wasm).

use std::cell::Cell;
use std::rc::Rc;

/// Seconds since the Unix epoch, UTC.
pub type UnixSeconds = i64;

/// A source of the current time.
pub trait Clock {
    /// The current time in seconds since the Unix epoch (UTC).
    fn now(&self) -> UnixSeconds;
}

/// A shared clock is a clock.
impl<T: Clock + ?Sized> Clock for Rc<T> {
    fn now(&self) -> UnixSeconds {
        (**self).now()
    }
}

/// A clock that says what it is told: for tests, for reproducible evaluation reports, and for
/// callers that pass `now` explicitly.
#[derive(Debug, Default)]
pub struct FixedClock(Cell<UnixSeconds>);

impl FixedClock {
    /// A clock stopped at `now`.
    pub fn new(now: UnixSeconds) -> Self {
        FixedClock(Cell::new(now))
    }

    /// Moves the clock.
    pub fn set(&self, now: UnixSeconds) {
        self.0.set(now);
    }
}

impl Clock for FixedClock {
    fn now(&self) -> UnixSeconds {
        self.0.get()
    }
}

/// The host's clock: `SystemTime` natively, `Date.now()` in JavaScript hosts.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[cfg(not(target_arch = "wasm32"))]
    fn now(&self) -> UnixSeconds {
        use std::time::{SystemTime, UNIX_EPOCH};
        match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
        }
    }

    #[cfg(target_arch = "wasm32")]
    fn now(&self) -> UnixSeconds {
        // Date.now() is milliseconds as an f64; whole seconds fit an i64 exactly.
        (js_sys::Date::now() / 1000.0).floor() as i64
    }
}

/// The clock a client runs on: the host's, or a time the caller fixed (tests, replays).
#[derive(Debug)]
pub enum AnyClock {
    /// The host's clock.
    System(SystemClock),
    /// A fixed time.
    Fixed(FixedClock),
}

impl Clock for AnyClock {
    fn now(&self) -> UnixSeconds {
        match self {
            AnyClock::System(c) => c.now(),
            AnyClock::Fixed(c) => c.now(),
        }
    }
}
