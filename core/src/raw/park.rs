//! The one park loop of the blocking twins.

use std::time::Instant;

/// Parks this thread until `check` — run after every wake-up, spurious or
/// not, typically under the primitive's mutex — returns `Some`. With a
/// `deadline`, each park ends by it at the latest and `check` is told when
/// it has passed (`timed_out`); `check` may clear the deadline to wait on
/// untimed (a barrier that timed out while its action runs waits for the
/// action).
pub(crate) fn park_until<T>(
    mut deadline: Option<Instant>,
    mut check: impl FnMut(bool, &mut Option<Instant>) -> Option<T>,
) -> T {
    loop {
        let timed_out = match deadline {
            None => {
                crate::sync::park();
                false
            }
            Some(deadline) => {
                let now = Instant::now();
                if now < deadline {
                    crate::sync::park_timeout(deadline - now);
                }
                Instant::now() >= deadline
            }
        };
        if let Some(done) = check(timed_out, &mut deadline) {
            return done;
        }
    }
}
