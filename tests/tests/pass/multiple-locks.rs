//! Several locks in one struct, each guarding its own fields; a lock that
//! guards nothing stays a plain `Lock<()>`.

use warden::{Lock, guarded};

#[guarded]
pub struct Pipeline {
    input_lock: Lock,
    #[guarded(input_lock)]
    queue: Vec<u32>,
    output_lock: Lock,
    #[guarded(output_lock)]
    results: Vec<u32>,
    #[guarded(input_lock)]
    received: usize,
    spare: Lock,
}

async fn step(p: &Pipeline) -> bool {
    let Some(item) = p.input_lock.acquire().await.queue.pop() else {
        return false;
    };
    // Holding one lock does not hold the other: each is taken on its own.
    let mut out = p.output_lock.acquire().await;
    out.results.push(item * 2);
    true
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let p = Pipeline::new(PipelineInit {
            input_lock: Lock::new(()),
            queue: vec![1, 2, 3],
            output_lock: Lock::new(()),
            results: vec![],
            received: 3,
            spare: Lock::new(()),
        });
        while step(&p).await {}
        let input: PipelineInputLock = p.input_lock.into_inner();
        let output: PipelineOutputLock = p.output_lock.into_inner();
        assert_eq!((input.queue.len(), input.received), (0, 3));
        assert_eq!(output.results, [6, 4, 2]);
        let (): () = p.spare.into_inner();
    });
}
