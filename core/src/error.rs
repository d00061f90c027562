//! The errors Python raises at run time that remain run-time errors here.

use std::fmt;

/// [`BoundedSemaphore::release`](crate::BoundedSemaphore::release) would have
/// raised the semaphore above its initial count: Python's `ValueError:
/// Semaphore released too many times`. The release changed nothing.
///
/// ```
/// let sem = warden::BoundedSemaphore::new(1);
/// let err = sem.release(1).unwrap_err();
/// assert_eq!(err, warden::TooManyReleases);
/// assert_eq!(sem.available_permits(), 1);
/// assert_eq!(err.to_string(), "semaphore released too many times: it would exceed its bound");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TooManyReleases;

impl fmt::Display for TooManyReleases {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("semaphore released too many times: it would exceed its bound")
    }
}

impl std::error::Error for TooManyReleases {}

/// The [`Barrier`](crate::Barrier) was broken (by `abort`, `reset`, a
/// timeout, or a panicking action) while or before this party waited:
/// Python's `threading.BrokenBarrierError`.
///
/// ```
/// let barrier = warden::Barrier::new(2);
/// barrier.abort();
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// assert_eq!(barrier.wait().await.unwrap_err(), warden::BrokenBarrierError);
/// # });
/// assert_eq!(warden::BrokenBarrierError.to_string(), "the barrier is broken");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BrokenBarrierError;

impl fmt::Display for BrokenBarrierError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the barrier is broken")
    }
}

impl std::error::Error for BrokenBarrierError {}
