//! The driver's clock: time since the release started as GitHub sees it. Against GitHub the
//! scale is 1; against the accelerated emulator every wait is divided by the emulator's speed
//! and every measured span multiplied by it, so a rehearsal keeps the plan's timings (a 5m
//! bake, a 60s health timeout) in emulated time and reports what a real run would show.

use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};
use tokio::time::Instant;

#[derive(Debug, Clone, Copy)]
pub struct Pace {
    scale: f64,
    start: Instant,
    github_start: DateTime<Utc>,
}

impl Pace {
    /// Real time: GitHub's clock is ours.
    pub fn real() -> Pace {
        Pace::scaled(1.0, Utc::now())
    }

    /// `scale` emulated seconds per real second, GitHub's clock reading `github_start` now.
    pub fn scaled(scale: f64, github_start: DateTime<Utc>) -> Pace {
        let scale = if scale.is_finite() && scale > 0.0 {
            scale
        } else {
            1.0
        };
        Pace {
            scale,
            start: Instant::now(),
            github_start,
        }
    }

    pub fn scale(&self) -> f64 {
        self.scale
    }

    /// Emulated time since the release started (what the scheduler's `now` is).
    pub fn now(&self) -> Duration {
        self.start.elapsed().mul_f64(self.scale)
    }

    /// GitHub's clock now.
    pub fn github_now(&self) -> DateTime<Utc> {
        self.github_at(self.now())
    }

    /// GitHub's clock at `since_start` into the release.
    pub fn github_at(&self, since_start: Duration) -> DateTime<Utc> {
        self.github_start
            + chrono::Duration::from_std(since_start).unwrap_or(chrono::TimeDelta::MAX)
    }

    /// GitHub's clock as a `SystemTime`, for the report.
    pub fn system_now(&self) -> SystemTime {
        to_system(self.github_now())
    }

    /// The real wait for an emulated span.
    pub fn to_real(&self, emulated: Duration) -> Duration {
        emulated.div_f64(self.scale)
    }

    /// The real deadline for `emulated` after the release started.
    pub fn deadline(&self, since_start: Duration) -> Instant {
        self.start + self.to_real(since_start)
    }

    /// Sleeps an emulated span.
    pub async fn sleep(&self, emulated: Duration) {
        tokio::time::sleep(self.to_real(emulated)).await;
    }
}

pub fn to_system(at: DateTime<Utc>) -> SystemTime {
    SystemTime::from(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn scaled_pace_divides_waits_and_multiplies_spans() {
        let pace = Pace::scaled(60.0, DateTime::UNIX_EPOCH);
        assert_eq!(
            pace.to_real(Duration::from_secs(300)),
            Duration::from_secs(5)
        );
        tokio::time::advance(Duration::from_secs(2)).await;
        assert_eq!(pace.now(), Duration::from_secs(120));
        assert_eq!(pace.github_now().timestamp(), 120);
        assert_eq!(
            pace.deadline(Duration::from_secs(60)) - pace.start,
            Duration::from_secs(1)
        );
    }

    #[test]
    fn a_nonsense_scale_is_real_time() {
        assert!((Pace::scaled(0.0, Utc::now()).scale() - 1.0).abs() < f64::EPSILON);
        assert!((Pace::scaled(f64::NAN, Utc::now()).scale() - 1.0).abs() < f64::EPSILON);
    }
}
