//! Never block silently: the acquisition names what it is doing, and when a step makes
//! no progress for a while (a device open that hangs, a source read stuck in the kernel,
//! an output disk that stopped taking writes, a final `fdatasync` to a slow USB stick)
//! a background thread says what it is waiting for, once after [`QUIET`] and then every
//! [`REPEAT`]. It only reports; the step itself is never cut short (evidence reads are
//! not retried behind the user's back).

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a step may go without progress before it is reported.
pub const QUIET: Duration = Duration::from_secs(15);
/// How often a step that is still stuck is reported again.
pub const REPEAT: Duration = Duration::from_secs(60);

struct Step {
    what: String,
    last_progress: Instant,
    last_report: Option<Instant>,
}

static STEP: Mutex<Option<Step>> = Mutex::new(None);

/// Starts the reporting thread (once per process; later calls do nothing).
pub fn start() {
    static STARTED: std::sync::Once = std::sync::Once::new();
    STARTED.call_once(|| {
        let spawned = std::thread::Builder::new()
            .name("watchdog".into())
            .stack_size(64 << 10)
            .spawn(|| loop {
                std::thread::sleep(Duration::from_secs(1));
                if let Some(msg) = overdue(Instant::now()) {
                    tracing::warn!("{msg}");
                }
            });
        if let Err(e) = spawned {
            tracing::debug!("no watchdog thread: {e}");
        }
    });
}

/// Names the step now running (its progress clock starts now).
pub fn step(what: impl Into<String>) {
    let now = Instant::now();
    if let Ok(mut s) = STEP.lock() {
        *s = Some(Step {
            what: what.into(),
            last_progress: now,
            last_report: None,
        });
    }
}

/// The current step moved forward.
pub fn progress() {
    if let Ok(mut s) = STEP.lock() {
        if let Some(s) = s.as_mut() {
            s.last_progress = Instant::now();
            s.last_report = None;
        }
    }
}

/// Nothing more to watch.
pub fn done() {
    if let Ok(mut s) = STEP.lock() {
        *s = None;
    }
}

/// The message due at `now`, if the step has been stuck long enough (and records it).
fn overdue(now: Instant) -> Option<String> {
    let mut guard = STEP.lock().ok()?;
    let s = guard.as_mut()?;
    let stuck = now.saturating_duration_since(s.last_progress);
    let due = match s.last_report {
        None => stuck >= QUIET,
        Some(t) => now.saturating_duration_since(t) >= REPEAT,
    };
    if !due {
        return None;
    }
    s.last_report = Some(now);
    Some(format!(
        "still waiting: {} ({} s without progress; Ctrl-C closes the container as incomplete)",
        s.what,
        stuck.as_secs()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stuck_step_is_reported_once_then_every_minute_and_progress_resets_it() {
        step("opening /dev/pmem");
        let t0 = STEP.lock().unwrap().as_ref().unwrap().last_progress;
        assert_eq!(overdue(t0 + Duration::from_secs(3)), None);
        let m = overdue(t0 + QUIET).expect("reported after QUIET");
        assert!(m.contains("opening /dev/pmem") && m.contains("15 s"), "{m}");
        assert_eq!(overdue(t0 + QUIET + Duration::from_secs(5)), None);
        assert!(overdue(t0 + QUIET + REPEAT).is_some());
        progress();
        let t1 = STEP.lock().unwrap().as_ref().unwrap().last_progress;
        assert_eq!(overdue(t1 + Duration::from_secs(1)), None);
        done();
        assert_eq!(overdue(t1 + QUIET * 10), None);
    }
}
