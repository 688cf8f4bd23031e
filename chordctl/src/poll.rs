//! Waiting for a condition with a deadline: the one loop behind every wait
//! of chordctl (a node ready, a process gone, a correct ring, a clean
//! check). A probe looks; while it answers "not yet" and the deadline has
//! not passed, the loop sleeps a fixed interval and looks again.
//!
//! The last look may start just before the deadline and end after it: a
//! condition that became true by then still counts, and what that look saw
//! is returned, for the error message.

use std::convert::Infallible;
use std::time::Duration;

// Tokio's clock, which tests can pause; callers' `std` instants convert.
use tokio::time::Instant;

/// Interval between looks of the waits on nodes (each has a deadline).
pub const POLL: Duration = Duration::from_millis(250);

/// What one look found.
#[derive(Debug, PartialEq, Eq)]
pub enum Look<T, P> {
    /// The condition holds; with what the look saw.
    Done(T),
    /// Not yet; with what the look saw (for progress and the error).
    NotYet(P),
}

impl<T, P> Look<T, P> {
    /// The value of a `Done`.
    pub fn done(self) -> Option<T> {
        match self {
            Look::Done(v) => Some(v),
            Look::NotYet(_) => None,
        }
    }
}

/// Looks with `probe` until it gives `Done` or a look ends at or after
/// `deadline`, sleeping `every` between looks (always one look, even past
/// the deadline). Before each sleep, `waiting` is shown what the look saw,
/// so that a caller can report progress. An error of `probe` ends the wait
/// at once.
pub async fn try_until<T, P, E>(
    deadline: impl Into<Instant>,
    every: Duration,
    mut probe: impl AsyncFnMut() -> Result<Look<T, P>, E>,
    mut waiting: impl FnMut(&P),
) -> Result<Look<T, P>, E> {
    let deadline = deadline.into();
    loop {
        let look = probe().await?;
        match &look {
            Look::NotYet(seen) if Instant::now() < deadline => waiting(seen),
            _ => return Ok(look),
        }
        tokio::time::sleep(every).await;
    }
}

/// [`try_until`] for a probe that cannot fail, without progress.
pub async fn until<T, P>(
    deadline: impl Into<Instant>,
    every: Duration,
    mut probe: impl AsyncFnMut() -> Look<T, P>,
) -> Look<T, P> {
    let Ok(look) = try_until(
        deadline,
        every,
        async || Ok::<_, Infallible>(probe().await),
        |_| {},
    )
    .await;
    look
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A probe that answers `NotYet(i)` on look `i` and `Done` on look `n`.
    fn done_on(n: u32, looks: &mut u32) -> Look<u32, u32> {
        *looks += 1;
        if *looks == n {
            Look::Done(*looks)
        } else {
            Look::NotYet(*looks)
        }
    }

    #[tokio::test(start_paused = true)]
    async fn looks_until_done_and_reports_each_wait() {
        let start = Instant::now();
        let mut looks = 0;
        let mut seen = Vec::new();
        let got = try_until(
            start + Duration::from_secs(60),
            POLL,
            async || Ok::<_, Infallible>(done_on(4, &mut looks)),
            |p| seen.push(*p),
        )
        .await;
        assert_eq!(got, Ok(Look::Done(4)));
        assert_eq!(seen, [1, 2, 3], "progress before each of the 3 sleeps");
        assert_eq!(start.elapsed(), 3 * POLL);
    }

    #[tokio::test(start_paused = true)]
    async fn gives_up_after_the_look_that_ends_past_the_deadline() {
        let start = Instant::now();
        let mut looks = 0;
        // Looks at 0, 250, 500, 750 and 1000 ms; the one at 1000 is past.
        let got = until(start + Duration::from_secs(1), POLL, async || {
            done_on(100, &mut looks)
        })
        .await;
        assert_eq!(got, Look::NotYet(5), "the last look's finding");
        assert_eq!(start.elapsed(), Duration::from_secs(1));
    }

    #[tokio::test(start_paused = true)]
    async fn looks_once_when_the_deadline_has_passed() {
        let mut looks = 0;
        let got = until(Instant::now(), POLL, async || done_on(100, &mut looks)).await;
        assert_eq!(got.done(), None);
        assert_eq!(looks, 1);
        let got = until(Instant::now(), POLL, async || done_on(2, &mut looks)).await;
        assert_eq!(
            got.done(),
            Some(2),
            "a condition true at the last look counts"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn an_error_ends_the_wait_at_once() {
        let start = Instant::now();
        let mut looks = 0;
        let got: Result<Look<(), ()>, String> = try_until(
            start + Duration::from_secs(60),
            POLL,
            async || {
                looks += 1;
                if looks == 3 {
                    Err("node died".to_string())
                } else {
                    Ok(Look::NotYet(()))
                }
            },
            |_| {},
        )
        .await;
        assert_eq!(got, Err("node died".to_string()));
        assert_eq!(start.elapsed(), 2 * POLL);
    }
}
