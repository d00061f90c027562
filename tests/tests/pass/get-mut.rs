//! `&mut self` reaches guarded fields without locking, through `get_mut`;
//! `into_inner` hands back the data struct.

use warden::{Lock, RLock, guarded};

#[guarded]
pub struct Stats {
    lock: Lock,
    #[guarded(lock)]
    count: u64,
    #[guarded(lock)]
    total: u64,
    names: RLock,
    #[guarded(names)]
    labels: Vec<&'static str>,
}

impl Stats {
    fn record(&mut self, x: u64) {
        let data = self.lock.get_mut();
        data.count += 1;
        data.total += x;
    }

    fn label(&mut self, name: &'static str) {
        self.names.get_mut().labels.push(name);
    }

    fn reset(&mut self) {
        *self.lock.get_mut() = StatsLock { count: 0, total: 0 };
    }
}

fn main() {
    let mut stats = Stats::new(StatsInit {
        lock: Lock::new(()),
        count: 0,
        total: 0,
        names: RLock::new(()),
        labels: vec![],
    });
    stats.record(3);
    stats.record(4);
    stats.label("latency");
    assert_eq!(stats.lock.get_mut().count, 2);
    assert_eq!(stats.lock.get_mut().total, 7);
    assert_eq!(stats.names.get_mut().labels, ["latency"]);
    stats.reset();
    let StatsLock { count, total } = stats.lock.into_inner();
    assert_eq!((count, total), (0, 0));
}
