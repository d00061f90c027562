//! Field docs and attributes move with the field; raw identifiers and
//! snake_case lock names; `Self` in a field's type still means the struct;
//! a struct declared inside a function.

use warden::{Lock, guarded};

/// A node of a linked list whose tail is behind a lock.
#[guarded]
#[repr(C)]
#[must_use]
pub struct Node {
    /// Guards the tail.
    pub state_lock: Lock,
    /// The rest of the list (`Self` here is `Node`, also once moved).
    #[guarded(state_lock)]
    #[allow(clippy::box_collection)]
    pub next: Option<Box<Self>>,
    /// A keyword as a field name.
    #[guarded(state_lock)]
    pub r#type: u8,
    /// Unguarded.
    #[allow(dead_code)]
    pub value: i32,
}

fn main() {
    let tail = Node::new(NodeInit {
        state_lock: Lock::new(()),
        next: None,
        r#type: 1,
        value: 2,
    });
    let head = Node::new(NodeInit {
        state_lock: Lock::new(()),
        next: Some(Box::new(tail)),
        r#type: 0,
        value: 1,
    });
    let data: NodeStateLock = head.state_lock.into_inner();
    assert_eq!(data.r#type, 0);
    assert_eq!(data.next.unwrap().state_lock.into_inner().r#type, 1);

    #[guarded]
    struct Local {
        lock: Lock,
        #[guarded(lock)]
        n: u32,
    }
    let local = Local::new(LocalInit {
        lock: Lock::new(()),
        n: 5,
    });
    assert_eq!(local.lock.into_inner().n, 5);
}
