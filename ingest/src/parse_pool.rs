//! A fixed set of threads (one per core) that decode and parse HTTP
//! request bodies, off the async workers.
//!
//! Written by hand rather than using tokio's blocking pool: that pool
//! grows a thread whenever no thread is idle at the instant of a spawn,
//! so 16 busy connections kept ~16 parser threads alive, each holding its
//! own allocator pages (HTTPS full load peaked at ~480 MiB RSS against
//! ~300 MiB with a fixed set). At most one job per thread is admitted at
//! a time, so bodies waiting for a parser stay bounded too.

use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};

use tokio::sync::{Semaphore, oneshot};

type Job = Box<dyn FnOnce() + Send>;

/// The parser threads.
pub struct ParsePool {
    jobs: Mutex<Sender<Job>>,
    slots: Semaphore,
}

impl ParsePool {
    /// Starts `threads` parser threads (at least one). They end when the
    /// pool is dropped.
    pub fn new(threads: usize) -> std::io::Result<ParsePool> {
        let threads = threads.max(1);
        let (tx, rx) = channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..threads {
            let rx = Arc::clone(&rx);
            std::thread::Builder::new().name(format!("parse-{i}")).spawn(move || work(&rx))?;
        }
        Ok(ParsePool { jobs: Mutex::new(tx), slots: Semaphore::new(threads) })
    }

    /// Runs `job` on a parser thread once one is free; `None` if the pool
    /// is gone or the job panicked.
    pub async fn run<T: Send + 'static>(&self, job: impl FnOnce() -> T + Send + 'static) -> Option<T> {
        let _slot = self.slots.acquire().await.ok()?;
        let (reply, answer) = oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = reply.send(job());
        });
        self.jobs.lock().ok()?.send(job).ok()?;
        answer.await.ok()
    }
}

fn work(jobs: &Mutex<Receiver<Job>>) {
    loop {
        let job = match jobs.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => return,
        };
        let Ok(job) = job else { return };
        // A panicking job drops its reply: the caller sees `None`, and
        // this thread goes on with the next job.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn jobs_run_on_the_pool_and_a_panic_is_none() {
        let pool = ParsePool::new(2).unwrap();
        let name = pool.run(|| std::thread::current().name().map(str::to_owned)).await.unwrap();
        assert!(name.unwrap().starts_with("parse-"));
        let panicked: Option<()> = pool.run(|| panic!("bad job")).await;
        assert!(panicked.is_none());
        let mut doubled = Vec::new();
        for i in 0..8u64 {
            doubled.push(pool.run(move || i * 2).await.unwrap());
        }
        assert_eq!(doubled, (0..8).map(|i| i * 2).collect::<Vec<_>>(), "the pool goes on after a panic");
    }
}
