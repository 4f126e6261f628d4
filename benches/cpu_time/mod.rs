//! The benches' clock for per-core figures.

use std::time::Duration;

/// CPU time of the calling thread: on a shared machine wall time counts other processes'
/// turns, CPU time does not, so this is the per-core figure.
pub fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec through a valid pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}
