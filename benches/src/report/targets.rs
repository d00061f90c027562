//! The targets: which ratio each one checks, its limit, and
//! whether these runs meet it.

use super::{NOISE, Peers, Runs, best_ratio, finite, median_ratio, ratio_to};

/// One of the targets: `warden` in `row` against `against`.
struct Target {
    what: &'static str,
    row: &'static str,
    warden: &'static str,
    against: Against,
    limit: f64,
}

enum Against {
    Peer(&'static str),
    Best(Peers),
    /// Another row's warden time (`RLock` nested vs `Lock`).
    Row(&'static str, &'static str),
}

const TARGETS: &[Target] = &[
    Target {
        what: "uncontended Lock vs fastest async peer",
        row: "lock_uncontended",
        warden: "warden",
        against: Against::Best(Peers::All),
        limit: 1.0,
    },
    Target {
        what: "uncontended Lock vs atomic floor",
        row: "lock_uncontended",
        warden: "warden",
        against: Against::Peer("floor"),
        limit: 2.5,
    },
    Target {
        what: "uncontended Semaphore vs fastest async peer",
        row: "semaphore_uncontended",
        warden: "warden",
        against: Against::Best(Peers::All),
        limit: 1.0,
    },
    Target {
        what: "uncontended Semaphore vs atomic floor",
        row: "semaphore_uncontended",
        warden: "warden",
        against: Against::Peer("floor"),
        limit: 2.5,
    },
    Target {
        what: "contended Lock, 2 tasks, vs best non-spinning",
        row: "lock_contended/2",
        warden: "warden",
        against: Against::Best(Peers::NoSpin),
        limit: 1.0,
    },
    Target {
        what: "contended Lock, 8 tasks, vs best non-spinning",
        row: "lock_contended/8",
        warden: "warden",
        against: Against::Best(Peers::NoSpin),
        limit: 1.0,
    },
    Target {
        what: "contended Lock, 64 tasks, vs best non-spinning",
        row: "lock_contended/64",
        warden: "warden",
        against: Against::Best(Peers::NoSpin),
        limit: 1.0,
    },
    Target {
        what: "contended FIFO Semaphore vs fair futures-intrusive",
        row: "semaphore_contended",
        warden: "warden",
        against: Against::Peer("futures-intrusive"),
        limit: 1.0,
    },
    Target {
        what: "Event ping-pong vs tokio Notify",
        row: "event_pingpong",
        warden: "warden",
        against: Against::Peer("tokio"),
        limit: 1.0,
    },
    Target {
        what: "Barrier vs fastest peer",
        row: "barrier",
        warden: "warden",
        against: Against::Best(Peers::All),
        limit: 1.0,
    },
    Target {
        what: "Condition ping-pong vs tokio Mutex + Notify",
        row: "condition_pingpong",
        warden: "warden",
        against: Against::Peer("tokio"),
        limit: 1.0,
    },
    Target {
        what: "RLock nested re-acquire vs Lock acquire",
        row: "rlock/nested1",
        warden: "warden",
        against: Against::Row("rlock/nested1", "warden-lock"),
        limit: 2.0,
    },
    Target {
        what: "uncontended RwLock read vs fastest async peer",
        row: "rwlock_uncontended/read",
        warden: "warden",
        against: Against::Best(Peers::All),
        limit: 1.0,
    },
    Target {
        what: "uncontended RwLock write vs fastest async peer",
        row: "rwlock_uncontended/write",
        warden: "warden",
        against: Against::Best(Peers::All),
        limit: 1.0,
    },
    Target {
        what: "RwLock, 1 writer : 2 readers, vs best peer",
        row: "rwlock_read_mostly/2",
        warden: "warden",
        against: Against::Best(Peers::All),
        limit: 1.0,
    },
    Target {
        what: "RwLock, 1 writer : 8 readers, vs best peer",
        row: "rwlock_read_mostly/8",
        warden: "warden",
        against: Against::Best(Peers::All),
        limit: 1.0,
    },
    Target {
        what: "RwLock, 1 writer : 64 readers, vs best peer",
        row: "rwlock_read_mostly/64",
        warden: "warden",
        against: Against::Best(Peers::All),
        limit: 1.0,
    },
    Target {
        what: "#[guarded] access vs hand-written Lock<Inner>",
        row: "guarded_access",
        warden: "guarded",
        against: Against::Peer("hand-written"),
        limit: 1.0,
    },
];

/// Whether a target holds.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Verdict {
    /// At or under the limit.
    Met,
    /// Over the limit by no more than the noise factor ([`NOISE`]).
    WithinNoise,
    /// Over the limit by more than the noise.
    Missed,
    /// The peer it is measured against was not in the runs.
    NotMeasured,
}

impl Verdict {
    /// How the report prints it.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Met => "met",
            Verdict::WithinNoise => "within noise",
            Verdict::Missed => "MISSED",
            Verdict::NotMeasured => "not measured",
        }
    }
}

/// One target's result.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// What the target says, e.g. `uncontended Lock vs atomic floor`.
    pub what: &'static str,
    /// The median ratio, if both sides were measured.
    pub ratio: Option<f64>,
    /// The ratio the target allows.
    pub limit: f64,
    /// What warden was measured against (the peer, or `row contender`).
    pub against: String,
    /// Whether it holds.
    pub verdict: Verdict,
}

/// The targets that these runs measured (warden's side present).
pub fn outcomes(runs: &Runs) -> Vec<Outcome> {
    let mut out = Vec::new();
    for t in TARGETS {
        let Some(warden) = runs.get(t.row).and_then(|c| c.get(t.warden)) else {
            continue;
        };
        let contenders = &runs[t.row];
        let (against, ratio) = match t.against {
            Against::Peer(p) => (p.to_owned(), ratio_to(contenders, warden, p)),
            Against::Best(peers) => match best_ratio(contenders, warden, peers) {
                Some((p, r)) => (p, Some(r)),
                None => ("-".to_owned(), None),
            },
            Against::Row(row, f) => (
                format!("{row} {f}"),
                runs.get(row)
                    .and_then(|c| c.get(f))
                    .map(|t| median_ratio(warden, t)),
            ),
        };
        let ratio = finite(ratio);
        let verdict = match ratio {
            Some(r) if r <= t.limit => Verdict::Met,
            Some(r) if r <= t.limit * NOISE => Verdict::WithinNoise,
            Some(_) => Verdict::Missed,
            None => Verdict::NotMeasured,
        };
        out.push(Outcome {
            what: t.what,
            ratio,
            limit: t.limit,
            against,
            verdict,
        });
    }
    out
}
