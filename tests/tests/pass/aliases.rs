//! The lock may be written `Lock`, `Lock<()>`, a path, or an alias.

use warden::guarded;

type StateLock = warden::Lock;
type Shared = warden::RLock<()>;

#[guarded]
pub struct Machine {
    a: warden::Lock<()>,
    #[guarded(a)]
    x: u8,
    b: StateLock,
    #[guarded(b)]
    y: u8,
    c: Shared,
    #[guarded(c)]
    z: u8,
    d: ::warden::RLock,
    #[guarded(d)]
    w: u8,
}

fn main() {
    let m = Machine::new(MachineInit {
        a: warden::Lock::new(()),
        x: 1,
        b: StateLock::default(),
        y: 2,
        c: Shared::default(),
        z: 3,
        d: warden::RLock::new(()),
        w: 4,
    });
    let _: &warden::Lock<MachineA> = &m.a;
    let _: &warden::Lock<MachineB> = &m.b;
    let _: &warden::RLock<MachineC> = &m.c;
    let _: &warden::RLock<MachineD> = &m.d;
    let sum = m.a.into_inner().x + m.b.into_inner().y + m.c.into_inner().z + m.d.into_inner().w;
    assert_eq!(sum, 10);
}
