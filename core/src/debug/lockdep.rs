//! Lock-order checking, as Linux's lockdep does for kernel locks: every
//! time a task that holds locks acquires another, the order "held, then
//! acquired" becomes an edge of a global graph; an edge that closes a
//! cycle is a possible deadlock, reported with the sites of both orders
//! even though this run did not deadlock. A declared order
//! (`#[guarded(order = [..])]`) is checked at each acquisition too.
//!
//! # Nodes are classes
//!
//! A named primitive's node is its name (all the locks called `accounts`
//! are one node, as a lock *class* in Linux); an unnamed one is its own
//! node, removed from the graph when the primitive is dropped. Two locks
//! of one class taken one inside the other are not checked (the order
//! between instances is the program's, e.g. by account number).

use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt::{self, Write as _};
use std::panic::Location;
use std::sync::{LazyLock, PoisonError, RwLock};

use super::table::Entry;
use super::{Kind, Lockdep, Prim, Who, emit, lockdep_mode};

/// A node of the order graph.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub(crate) enum Class {
    Named(&'static str),
    Instance(u64),
}

impl Class {
    fn of(prim: &Prim) -> Class {
        match prim.name {
            Some(name) => Class::Named(name),
            None => Class::Instance(prim.id),
        }
    }
}

/// Where an order was first seen: `from` held (acquired at `from_site`)
/// while `to` was acquired at `to_site`, by `who`.
#[derive(Clone, Copy)]
struct Edge {
    from: Prim,
    from_site: &'static Location<'static>,
    to: Prim,
    to_site: &'static Location<'static>,
    who: Who,
}

impl fmt::Display for Edge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (acquired at {}) then {} (acquired at {}), by {}",
            self.from, self.from_site, self.to, self.to_site, self.who
        )
    }
}

#[derive(Default)]
struct Graph {
    /// `from → to → the first time that order was seen`.
    edges: HashMap<Class, HashMap<Class, Edge>>,
    /// Declared-order violations already reported (held, acquired, site):
    /// each is reported once in `warn` mode.
    ranked: HashSet<(Class, Class, &'static Location<'static>)>,
    /// Unnamed primitives with a node, to remove when they are dropped.
    instances: HashSet<u64>,
}

static GRAPH: LazyLock<RwLock<Graph>> = LazyLock::new(RwLock::default);

/// Whether lock-order checking looks at this kind: the locks (a
/// semaphore's permits are not owned, an event or barrier is not held).
pub(crate) fn covers(kind: Kind) -> bool {
    matches!(kind, Kind::Lock | Kind::RLock | Kind::RwLock)
}

/// Checks the acquisition of `prim` at `site` by `who`, which held `held`
/// just before. Reports (a `tracing` error, or a panic in `panic` mode)
/// each new cycle and each declared order broken. Called with no lock of
/// warden's held.
pub(crate) fn check(prim: Prim, site: &'static Location<'static>, who: Who, held: &[Entry]) {
    let mode = lockdep_mode();
    if mode == Lockdep::Off || !covers(prim.kind) || held.is_empty() {
        return;
    }
    // Re-entering an `RLock` (or re-acquiring a lock this task holds, the
    // self-deadlock case, warned about separately) adds no order.
    if held.iter().any(|h| h.prim.id == prim.id) {
        return;
    }
    let to = Class::of(&prim);
    let mut reports = Vec::new();
    let mut missing = Vec::new();
    {
        let graph = GRAPH.read().unwrap_or_else(PoisonError::into_inner);
        for h in held.iter().filter(|h| covers(h.prim.kind)) {
            let from = Class::of(&h.prim);
            if from == to {
                continue;
            }
            if let (Some(hr), Some(r)) = (h.prim.rank, prim.rank)
                && hr.owner == r.owner
                && hr.rank > r.rank
                && (mode == Lockdep::Panic || !graph.ranked.contains(&(from, to, site)))
            {
                reports.push((Some((from, to)), declared(h, prim, site, who)));
            }
            if !graph.edges.get(&from).is_some_and(|e| e.contains_key(&to)) {
                missing.push(*h);
            }
        }
    }
    if !missing.is_empty() || !reports.is_empty() {
        let mut graph = GRAPH.write().unwrap_or_else(PoisonError::into_inner);
        for (key, _) in &reports {
            if let Some((from, to)) = key {
                graph.ranked.insert((*from, *to, site));
            }
        }
        for h in missing {
            let from = Class::of(&h.prim);
            if graph.edges.get(&from).is_some_and(|e| e.contains_key(&to)) {
                continue; // another task added it meanwhile
            }
            let edge = Edge {
                from: h.prim,
                from_site: h.site,
                to: prim,
                to_site: site,
                who,
            };
            if let Some(path) = graph.path(to, from) {
                reports.push((None, cycle(&edge, &path)));
            }
            for class in [from, to] {
                if let Class::Instance(id) = class {
                    graph.instances.insert(id);
                }
            }
            graph.edges.entry(from).or_default().insert(to, edge);
        }
    }
    for (_, report) in reports {
        match mode {
            Lockdep::Panic => panic!("{report}"),
            _ => emit(|| tracing::error!(target: "warden", "{report}")),
        }
    }
}

impl Graph {
    /// The edges of a path `from →* to`, if there is one (breadth first:
    /// the shortest, for the shortest report).
    fn path(&self, from: Class, to: Class) -> Option<Vec<Edge>> {
        let mut came: HashMap<Class, Edge> = HashMap::new();
        let mut queue = VecDeque::from([from]);
        let mut seen = HashSet::from([from]);
        while let Some(node) = queue.pop_front() {
            if node == to {
                let mut path = Vec::new();
                let mut at = to;
                while at != from {
                    let edge = came[&at];
                    at = Class::of(&edge.from);
                    path.push(edge);
                }
                path.reverse();
                return Some(path);
            }
            for (&next, &edge) in self.edges.get(&node).into_iter().flatten() {
                if seen.insert(next) {
                    came.insert(next, edge);
                    queue.push_back(next);
                }
            }
        }
        None
    }
}

fn cycle(new: &Edge, path: &[Edge]) -> String {
    let mut s = format!(
        "warden lockdep: lock order inversion (a possible deadlock, whether or not this run deadlocked): \
         {} is acquired at {} while {} (acquired at {}) is held, by {}; ",
        new.to, new.to_site, new.from, new.from_site, new.who
    );
    let _ = write!(s, "the opposite order was seen before: ");
    for (i, edge) in path.iter().enumerate() {
        if i > 0 {
            s.push_str("; then ");
        }
        let _ = write!(s, "{edge}");
    }
    s.push_str(". Take these locks in one order everywhere.");
    s
}

fn declared(held: &Entry, prim: Prim, site: &'static Location<'static>, who: Who) -> String {
    let (hr, r) = (held.prim.rank.expect("ranked"), prim.rank.expect("ranked"));
    format!(
        "warden lockdep: declared lock order violated: {} is acquired at {site} while {} \
         (acquired at {}) is held, by {who}; `#[guarded(order = [..])]` on `{}` puts `{}` \
         (rank {}) before `{}` (rank {})",
        prim, held.prim, held.site, r.owner, r.lock, r.rank, hr.lock, hr.rank
    )
}

/// Drops an unnamed primitive's node (it is being dropped; its number is
/// never reused).
pub(crate) fn forget(id: u64) {
    let class = Class::Instance(id);
    let present = GRAPH
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .instances
        .contains(&id);
    if present {
        let mut graph = GRAPH.write().unwrap_or_else(PoisonError::into_inner);
        graph.instances.remove(&id);
        graph.edges.remove(&class);
        graph.edges.retain(|_, to| {
            to.remove(&class);
            !to.is_empty()
        });
        graph.ranked.retain(|(a, b, _)| *a != class && *b != class);
    }
}
