//! Borrowed data behind a lock: each data struct has the struct's
//! lifetimes, and their bounds (`'names: 'src`).

use warden::{Lock, RLock, guarded};

#[guarded]
pub struct Parser<'src, 'names: 'src> {
    lock: Lock,
    #[guarded(lock)]
    rest: &'src str,
    #[guarded(lock)]
    tokens: Vec<&'src str>,
    names: RLock,
    #[guarded(names)]
    known: &'names [&'names str],
}

impl<'src, 'names: 'src> Parser<'src, 'names> {
    async fn next_word(&self) -> Option<&'src str> {
        let mut g = self.lock.acquire().await;
        let rest = g.rest.trim_start();
        if rest.is_empty() {
            return None;
        }
        let (word, tail) = rest.split_once(' ').unwrap_or((rest, ""));
        g.rest = tail;
        g.tokens.push(word);
        Some(word)
    }

    async fn is_known(&self, word: &str) -> bool {
        self.names.acquire().await.known.contains(&word)
    }
}

fn main() {
    let known = ["let", "fn"];
    let source = String::from("let x = 1");
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let parser = Parser::new(ParserInit {
            lock: Lock::new(()),
            rest: &source,
            tokens: Vec::new(),
            names: RLock::new(()),
            known: &known,
        });
        let mut seen = Vec::new();
        while let Some(word) = parser.next_word().await {
            seen.push((word, parser.is_known(word).await));
        }
        assert_eq!(seen[0], ("let", true));
        assert_eq!(seen.len(), 4);
        let data: ParserLock<'_, '_> = parser.lock.into_inner();
        assert_eq!(data.tokens, ["let", "x", "=", "1"]);
    });
}
