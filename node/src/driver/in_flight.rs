//! A send whose result one task waits for, polled by that task itself, and
//! left to finish in a task of its own when that task stops waiting first.
//!
//! Why not a spawned task and a channel from the start: for a 1-hop request
//! the spawn, its channel and their wake-ups were about 5 % of the entry
//! node's instructions (callgrind), and the send almost always finishes
//! while the request still waits for it.

use std::future::Future;
use std::pin::Pin;
use std::task::Poll;

/// A future in flight (see the module docs).
pub struct InFlight<F>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    /// `None` once it has finished.
    fut: Option<Pin<Box<F>>>,
}

impl<F> InFlight<F>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    /// Starts nothing yet: the future runs when [`InFlight::next`] is polled.
    pub fn new(fut: F) -> Self {
        InFlight {
            fut: Some(Box::pin(fut)),
        }
    }

    /// Its result; pending for ever once that has been taken, so that a
    /// `select!` branch over it can never poll a finished future (callers
    /// must not wait on it again without a timer of their own).
    pub fn next(&mut self) -> impl Future<Output = F::Output> + '_ {
        std::future::poll_fn(move |cx| {
            // Out while it is polled: if the poll panics, `Drop` finds
            // nothing to finish instead of resuming a panicked future.
            let Some(mut fut) = self.fut.take() else {
                return Poll::Pending;
            };
            let out = fut.as_mut().poll(cx);
            if out.is_pending() {
                self.fut = Some(fut);
            }
            out
        })
    }
}

impl<F> Drop for InFlight<F>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    fn drop(&mut self) {
        let Some(fut) = self.fut.take() else {
            return;
        };
        // Outside a runtime there is nothing to finish on; a runtime that is
        // shutting down drops the task unrun, as it would any other.
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(fut);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    use tokio::sync::oneshot;

    #[tokio::test]
    async fn its_result_comes_to_the_task_that_polls_it() {
        let mut f = InFlight::new(async { 7 });
        assert_eq!(f.next().await, 7);
        // Taken: a second poll waits for ever instead of panicking.
        let again = tokio::time::timeout(std::time::Duration::from_millis(20), f.next()).await;
        assert!(again.is_err());
    }

    #[tokio::test]
    async fn a_send_that_panicked_is_not_resumed_when_dropped() {
        let mut f = InFlight::new(async { panic!("boom") });
        let polled = tokio::spawn(async move {
            let caught = std::panic::AssertUnwindSafe(f.next());
            let panicked = futures_util::FutureExt::catch_unwind(caught).await.is_err();
            // Dropped here: resuming the panicked future would panic again
            // inside a task of its own, which nobody would see.
            (panicked, f.fut.is_none())
        });
        assert_eq!(polled.await.unwrap(), (true, true));
    }

    #[tokio::test]
    async fn dropped_unfinished_it_still_finishes() {
        let (go_tx, go_rx) = oneshot::channel::<()>();
        let (done_tx, done_rx) = oneshot::channel();
        let finished = Arc::new(AtomicBool::new(false));
        let flag = finished.clone();
        let mut f = InFlight::new(async move {
            let _ = go_rx.await;
            flag.store(true, Ordering::SeqCst);
            let _ = done_tx.send(());
        });
        // Polled once (it waits for `go`), then abandoned.
        let first = tokio::time::timeout(std::time::Duration::from_millis(20), f.next()).await;
        assert!(first.is_err());
        drop(f);
        assert!(!finished.load(Ordering::SeqCst));
        go_tx.send(()).unwrap();
        done_rx.await.unwrap();
        assert!(finished.load(Ordering::SeqCst));
    }
}
