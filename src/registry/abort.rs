//! Cancellation: a flag the host sets (the JS layer wires it to an `AbortSignal`) and a race
//! that drops the losing future, so a stalled download is abandoned at once. Dropping a
//! fetch future cancels its request where the platform can (the web fetch aborts its
//! `AbortController`).

use std::cell::{Cell, RefCell};
use std::future::{poll_fn, Future};
use std::pin::pin;
use std::rc::Rc;
use std::task::{Poll, Waker};

#[derive(Debug, Default)]
struct Inner {
    aborted: Cell<bool>,
    wakers: RefCell<Vec<Waker>>,
}

/// A cancellation flag shared between the caller and a running operation. Cloning shares it.
#[derive(Debug, Clone, Default)]
pub struct AbortFlag {
    inner: Rc<Inner>,
}

impl AbortFlag {
    /// A flag that is not set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the flag and wakes every operation waiting on it.
    pub fn abort(&self) {
        if self.inner.aborted.replace(true) {
            return;
        }
        let wakers = std::mem::take(&mut *self.inner.wakers.borrow_mut());
        for w in wakers {
            w.wake();
        }
    }

    /// Whether the flag is set.
    pub fn is_aborted(&self) -> bool {
        self.inner.aborted.get()
    }

    /// Resolves once the flag is set.
    pub async fn wait(&self) {
        poll_fn(|cx| {
            if self.is_aborted() {
                return Poll::Ready(());
            }
            let mut wakers = self.inner.wakers.borrow_mut();
            if !wakers.iter().any(|w| w.will_wake(cx.waker())) {
                wakers.push(cx.waker().clone());
            }
            Poll::Pending
        })
        .await
    }
}

/// Runs `fut` until it finishes or `abort` is set, whichever comes first; `None` when aborted
/// (the future is then dropped unfinished).
pub async fn race<T>(fut: impl Future<Output = T>, abort: Option<&AbortFlag>) -> Option<T> {
    let Some(flag) = abort else {
        return Some(fut.await);
    };
    let mut fut = pin!(fut);
    let mut stop = pin!(flag.wait());
    poll_fn(|cx| {
        if stop.as_mut().poll(cx).is_ready() {
            return Poll::Ready(None);
        }
        fut.as_mut().poll(cx).map(Some)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn race_returns_the_value_or_none() {
        let flag = AbortFlag::new();
        assert_eq!(pollster::block_on(race(async { 5 }, Some(&flag))), Some(5));
        assert_eq!(pollster::block_on(race(async { 6 }, None)), Some(6));
        flag.abort();
        flag.abort();
        assert!(flag.is_aborted());
        let never = std::future::pending::<i32>();
        assert_eq!(pollster::block_on(race(never, Some(&flag))), None);
    }

    #[test]
    fn abort_wakes_a_pending_race() {
        // A future that aborts the flag the first time it is polled, then stays pending: the
        // race must observe the flag through the waker and finish.
        let flag = AbortFlag::new();
        let f2 = flag.clone();
        let fut = poll_fn(move |_| {
            f2.abort();
            Poll::<()>::Pending
        });
        assert_eq!(pollster::block_on(race(fut, Some(&flag))), None);
    }
}
