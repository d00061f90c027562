//! Runs a listing whose expected panics should not clutter test output.

use std::panic;

/// Runs `f` with a panic hook that stays silent for panics whose message
/// contains one of `expected`, and reports every other panic as usual.
pub fn expecting(expected: &'static [&'static str], f: impl FnOnce()) {
    let default = panic::take_hook();
    panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or_default();
        if !expected.iter().any(|e| message.contains(e)) {
            default(info);
        }
    }));
    f();
    let _ = panic::take_hook();
}
