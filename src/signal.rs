//! Ctrl-C and SIGTERM. A live run must not die between a config write and the restore, so the
//! signals are caught, recorded, and acted on by the safety net ([`crate::safety::guard`]):
//! the walk is dropped at its next await point, the box is restored, and only then does canary
//! exit. A second signal stops waiting for the restore: canary says what is left undone and how
//! to finish it by hand, then exits ([`Signals::recv_count`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use tokio::sync::watch;

/// Which signal interrupted the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Interrupt {
    /// SIGINT (Ctrl-C).
    CtrlC,
    /// SIGTERM.
    Term,
}

impl Interrupt {
    /// The conventional exit code for a run stopped by this signal (128 + signal number).
    pub fn exit_code(self) -> i32 {
        match self {
            Interrupt::CtrlC => 130,
            Interrupt::Term => 143,
        }
    }
}

impl std::fmt::Display for Interrupt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Interrupt::CtrlC => "Ctrl-C (SIGINT)",
            Interrupt::Term => "SIGTERM",
        })
    }
}

/// Caught signals. Cheap to clone; every clone sees the same signals.
#[derive(Debug, Clone)]
pub struct Signals {
    rx: watch::Receiver<Option<Interrupt>>,
    count: Arc<AtomicU32>,
    /// Follows `count`, so a caller can wait for the n-th signal.
    counted: watch::Receiver<u32>,
    /// Keeps the channel open for [`Signals::none`], whose sender no task holds.
    _sender: Option<Arc<watch::Sender<Option<Interrupt>>>>,
    _count_sender: Option<Arc<watch::Sender<u32>>>,
}

impl Signals {
    /// Starts catching SIGINT and SIGTERM (replacing their default "terminate" action) for the
    /// rest of the process. Needs a running tokio runtime. One listener per process: a second
    /// call (the shrink after a walk) shares the first one's while its runtime still runs, so
    /// a signal is announced once and one already received is still seen.
    pub fn install() -> std::io::Result<Self> {
        static INSTALLED: std::sync::Mutex<Option<Signals>> = std::sync::Mutex::new(None);
        let mut installed = INSTALLED.lock().unwrap_or_else(|e| e.into_inner());
        // The listener's sender is dropped with its task when its runtime shuts down.
        if let Some(s) = installed.as_ref()
            && s.rx.has_changed().is_ok()
        {
            return Ok(s.clone());
        }
        let s = Self::listen()?;
        *installed = Some(s.clone());
        Ok(s)
    }

    fn listen() -> std::io::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        let mut int = signal(SignalKind::interrupt())?;
        let mut term = signal(SignalKind::terminate())?;
        let (tx, rx) = watch::channel(None);
        let (count_tx, counted) = watch::channel(0u32);
        let count = Arc::new(AtomicU32::new(0));
        let seen = count.clone();
        tokio::spawn(async move {
            loop {
                let which = tokio::select! {
                    Some(()) = int.recv() => Interrupt::CtrlC,
                    Some(()) = term.recv() => Interrupt::Term,
                    else => break,
                };
                let n = seen.fetch_add(1, Ordering::SeqCst) + 1;
                if n == 1 {
                    eprintln!(
                        "canary: {which} received; stopping the walk and restoring the box \
                         (press Ctrl-C again to stop waiting for the restore)"
                    );
                    let _ = tx.send(Some(which));
                } else {
                    eprintln!("canary: {which} received again; no longer waiting for the box");
                }
                let _ = count_tx.send(n);
            }
        });
        Ok(Signals {
            rx,
            count,
            counted,
            _sender: None,
            _count_sender: None,
        })
    }

    /// A `Signals` that never fires (for tests and non-interactive embedding).
    pub fn none() -> Self {
        let (tx, rx) = watch::channel(None);
        let (count_tx, counted) = watch::channel(0u32);
        Signals {
            rx,
            count: Arc::new(AtomicU32::new(0)),
            counted,
            _sender: Some(Arc::new(tx)),
            _count_sender: Some(Arc::new(count_tx)),
        }
    }

    /// Waits until `n` signals have arrived in all (returns at once if they have); never
    /// returns when no more can come.
    pub async fn recv_count(&mut self, n: u32) {
        loop {
            if *self.counted.borrow_and_update() >= n {
                return;
            }
            if self.counted.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }

    /// The first signal received, if any.
    pub fn received(&self) -> Option<Interrupt> {
        *self.rx.borrow()
    }

    /// How many signals arrived in all.
    pub fn count(&self) -> u32 {
        self.count.load(Ordering::SeqCst)
    }

    /// Waits for the first signal (returns at once if one already arrived).
    pub async fn recv(&mut self) -> Interrupt {
        loop {
            if let Some(i) = *self.rx.borrow_and_update() {
                return i;
            }
            if self.rx.changed().await.is_err() {
                // The listener is gone: no signal will ever come.
                std::future::pending::<()>().await;
            }
        }
    }
}
