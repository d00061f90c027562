// The trait behind `#[guarded]` is sealed: a type that does not lock at
// all cannot pose as a lock and hand out the guarded data.
use std::fmt;

pub struct NoLock;

impl warden::__private::GuardedLock for NoLock {
    type With<D> = D;
    const KIND: warden::__private::LockKind = warden::__private::LockKind::Lock;

    fn fmt_with<D: fmt::Debug>(data: &D, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        data.fmt(f)
    }

    fn default_with<D: Default>() -> D {
        D::default()
    }
}

fn main() {}
