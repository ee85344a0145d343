//! Phi accrual failure detector (Hayashibara et al.), as Pekko's
//! `PhiAccrualFailureDetector`, sans-I/O: heartbeats and the current time go
//! in, phi and availability come out.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// `pekko.remote.watch-failure-detector.*` settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PhiAccrualSettings {
    /// `threshold` (10.0).
    pub threshold: f64,
    /// `max-sample-size` (200).
    pub max_sample_size: usize,
    /// `min-std-deviation` (100 ms).
    pub min_std_deviation: Duration,
    /// `acceptable-heartbeat-pause` (10 s).
    pub acceptable_heartbeat_pause: Duration,
    /// `heartbeat-interval` (1 s): seeds the history.
    pub first_heartbeat_estimate: Duration,
}

impl Default for PhiAccrualSettings {
    fn default() -> Self {
        PhiAccrualSettings {
            threshold: 10.0,
            max_sample_size: 200,
            min_std_deviation: Duration::from_millis(100),
            acceptable_heartbeat_pause: Duration::from_secs(10),
            first_heartbeat_estimate: Duration::from_secs(1),
        }
    }
}

/// Failure detector for one monitored node.
#[derive(Debug, Clone)]
pub struct PhiAccrualFailureDetector {
    settings: PhiAccrualSettings,
    intervals: VecDeque<f64>,
    sum: f64,
    sum_sq: f64,
    last: Option<Instant>,
}

impl PhiAccrualFailureDetector {
    /// A detector that has not seen a heartbeat yet.
    pub fn new(settings: PhiAccrualSettings) -> Self {
        PhiAccrualFailureDetector {
            settings,
            intervals: VecDeque::new(),
            sum: 0.0,
            sum_sq: 0.0,
            last: None,
        }
    }

    fn push(&mut self, ms: f64) {
        if self.intervals.len() >= self.settings.max_sample_size {
            if let Some(old) = self.intervals.pop_front() {
                self.sum -= old;
                self.sum_sq -= old * old;
            }
        }
        self.intervals.push_back(ms);
        self.sum += ms;
        self.sum_sq += ms * ms;
    }

    /// True once the first heartbeat arrived.
    pub fn is_monitoring(&self) -> bool {
        self.last.is_some()
    }

    /// Records a heartbeat at `now`.
    pub fn heartbeat(&mut self, now: Instant) {
        match self.last {
            None => {
                // Seed with two samples around the expected interval.
                let mean = self.settings.first_heartbeat_estimate.as_secs_f64() * 1000.0;
                let dev = mean / 4.0;
                self.push(mean - dev);
                self.push(mean + dev);
            }
            Some(last) => {
                // A heartbeat after a failure would skew the statistics.
                if self.is_available(now) {
                    let ms = now.saturating_duration_since(last).as_secs_f64() * 1000.0;
                    self.push(ms);
                }
            }
        }
        self.last = Some(now);
    }

    /// The suspicion level at `now` (0 before the first heartbeat).
    pub fn phi(&self, now: Instant) -> f64 {
        let Some(last) = self.last else {
            return 0.0;
        };
        let n = self.intervals.len().max(1) as f64;
        let mean = self.sum / n;
        let variance = (self.sum_sq / n - mean * mean).max(0.0);
        let min_sd = self.settings.min_std_deviation.as_secs_f64() * 1000.0;
        let sd = variance.sqrt().max(min_sd);
        let t = now.saturating_duration_since(last).as_secs_f64() * 1000.0;
        let m = mean + self.settings.acceptable_heartbeat_pause.as_secs_f64() * 1000.0;
        let y = (t - m) / sd;
        let e = (-y * (1.5976 + 0.070566 * y * y)).exp();
        if t > m {
            -(e / (1.0 + e)).log10()
        } else {
            -(1.0 - 1.0 / (1.0 + e)).log10()
        }
    }

    /// False once phi reached the threshold.
    pub fn is_available(&self, now: Instant) -> bool {
        self.phi(now) < self.settings.threshold
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn available_with_regular_heartbeats_unavailable_after_silence() {
        let t0 = Instant::now();
        let mut d = PhiAccrualFailureDetector::new(PhiAccrualSettings::default());
        assert!(!d.is_monitoring());
        assert!(d.is_available(t0));
        for s in 0..20 {
            d.heartbeat(t0 + Duration::from_secs(s));
        }
        let last = t0 + Duration::from_secs(19);
        assert!(d.is_available(last + Duration::from_secs(5)));
        assert!(d.is_available(last + Duration::from_secs(10)));
        // Roughly 12.5 s of silence trips the default threshold.
        assert!(!d.is_available(last + Duration::from_secs(14)));
        assert!(d.phi(last + Duration::from_secs(14)) > d.phi(last + Duration::from_secs(11)));
    }

    #[test]
    fn history_is_bounded() {
        let t0 = Instant::now();
        let settings = PhiAccrualSettings {
            max_sample_size: 5,
            ..Default::default()
        };
        let mut d = PhiAccrualFailureDetector::new(settings);
        for s in 0..50 {
            d.heartbeat(t0 + Duration::from_millis(100 * s));
        }
        assert_eq!(d.intervals.len(), 5);
    }
}
