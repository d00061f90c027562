//! The bank with no lock at all: one task owns the balances, and the
//! others send it requests over a channel, each with a `oneshot` for the
//! reply.
//!
//! Run: `cargo run -p warden-book-listings --example ch14_bank_actor`

// ANCHOR: uses
use tokio::sync::{mpsc, oneshot};
// ANCHOR_END: uses

// ANCHOR: bank
/// What the bank can be asked, each request with where to reply.
enum Request {
    Transfer {
        from: usize,
        to: usize,
        amount: i64,
        reply: oneshot::Sender<Result<(), String>>,
    },
    Total {
        reply: oneshot::Sender<i64>,
    },
}

/// The bank's task: the only code that touches `accounts`. It handles one
/// request at a time, so a transfer is never interleaved with another.
async fn bank(mut requests: mpsc::Receiver<Request>, mut accounts: Vec<i64>) {
    while let Some(request) = requests.recv().await {
        match request {
            Request::Transfer {
                from,
                to,
                amount,
                reply,
            } => {
                let result = if accounts[from] < amount {
                    Err(format!("account {from} holds less than {amount}"))
                } else {
                    accounts[from] -= amount;
                    accounts[to] += amount;
                    Ok(())
                };
                let _ = reply.send(result); // the client may have given up
            }
            Request::Total { reply } => {
                let _ = reply.send(accounts.iter().sum());
            }
        }
    }
}

/// A client's handle on the bank: it can be cloned and sent anywhere.
#[derive(Clone)]
struct BankHandle(mpsc::Sender<Request>);

impl BankHandle {
    async fn transfer(&self, from: usize, to: usize, amount: i64) -> Result<(), String> {
        let (reply, answer) = oneshot::channel();
        let request = Request::Transfer {
            from,
            to,
            amount,
            reply,
        };
        self.0.send(request).await.expect("the bank runs");
        answer.await.expect("the bank replies")
    }

    async fn total(&self) -> i64 {
        let (reply, answer) = oneshot::channel();
        self.0
            .send(Request::Total { reply })
            .await
            .expect("the bank runs");
        answer.await.expect("the bank replies")
    }
}
// ANCHOR_END: bank

// ANCHOR: main
#[tokio::main]
async fn main() {
    let (requests, inbox) = mpsc::channel(32);
    tokio::spawn(bank(inbox, vec![1_000; 10]));
    let handle = BankHandle(requests);

    let clients: Vec<_> = (0..8)
        .map(|c| {
            let handle = handle.clone();
            tokio::spawn(async move {
                for i in 0..1_000 {
                    let from = (c + i) % 10;
                    // Refused when the account is short: an Err, as Python would raise.
                    let _ = handle.transfer(from, (from + 3) % 10, 7).await;
                }
            })
        })
        .collect();
    for client in clients {
        client.await.unwrap();
    }
    let total = handle.total().await;
    println!("8000 transfers, no lock: total {total}");
    assert_eq!(total, 10_000);
    let overdraft = handle.transfer(0, 1, 1_000_000).await;
    println!("an overdraft: {overdraft:?}");
    assert!(overdraft.is_err());
}
// ANCHOR_END: main

#[cfg(test)]
mod tests {
    #[test]
    fn runs() {
        super::main();
    }
}
