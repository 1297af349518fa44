//! Issue 13, item 4: a computation whose request is dropped (the client went away, or the
//! request timed out) stops at the planner's next check and frees its compute permit,
//! instead of holding a core for an answer nobody will read.

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

mod common;
use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_request_stops_its_computation_and_frees_the_permit() {
    let env = env();
    let state = env.state.clone();
    let permits = state.compute.available_permits();
    let stopped = Arc::new(AtomicBool::new(false));
    let rounds = Arc::new(AtomicU64::new(0));
    let (s, r) = (stopped.clone(), rounds.clone());
    // A computation shaped like the planner's loops: work in rounds, check between them.
    // Unstopped, it would run for a minute.
    let work = state.compute_cancellable(move || {
        let until = Instant::now() + Duration::from_secs(60);
        while Instant::now() < until {
            if planner::cancel::check().is_err() {
                s.store(true, Ordering::SeqCst);
                return;
            }
            r.fetch_add(1, Ordering::Relaxed);
            std::thread::sleep(Duration::from_millis(1));
        }
    });
    // The client gives up after 200 ms: the request's future is dropped.
    assert!(
        tokio::time::timeout(Duration::from_millis(200), work)
            .await
            .is_err()
    );
    let dropped = Instant::now();
    while !stopped.load(Ordering::SeqCst) || state.compute.available_permits() < permits {
        assert!(
            dropped.elapsed() < Duration::from_secs(5),
            "still computing {:?} after the request was dropped",
            dropped.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(rounds.load(Ordering::Relaxed) > 0, "it did start");
    assert_eq!(
        state.metrics.computations_cancelled.load(Ordering::Relaxed),
        1
    );
    assert_eq!(
        state.metrics.computations_running.load(Ordering::Relaxed),
        0
    );

    // A computation that finishes is not counted as cancelled.
    let answer = state.compute_cancellable(|| 42).await.unwrap();
    assert_eq!(answer, 42);
    assert_eq!(
        state.metrics.computations_cancelled.load(Ordering::Relaxed),
        1
    );
}
