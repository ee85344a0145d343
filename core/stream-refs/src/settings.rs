//! `pekko.stream.materializer.stream-ref.*` settings.

use std::time::Duration;

use hocon_config::Config;

/// The bundled defaults (Pekko's values).
pub const REFERENCE_CONF: &str = include_str!("reference.conf");

const SECTION: &str = "pekko.stream.materializer.stream-ref";

/// Timeouts and buffer size of StreamRef stages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamRefSettings {
    /// Receiver buffer capacity and demand high watermark (> 0).
    pub buffer_capacity: usize,
    /// Demand silence after which a running receiver repeats its demand.
    pub demand_redelivery_interval: Duration,
    /// Time to wait for the partner (and, cancelling, for the `Ack`).
    pub subscription_timeout: Duration,
    /// Time a receiver waits after its partner terminated for a final message.
    pub final_termination_signal_deadline: Duration,
}

impl Default for StreamRefSettings {
    fn default() -> Self {
        StreamRefSettings {
            buffer_capacity: 32,
            demand_redelivery_interval: Duration::from_secs(1),
            subscription_timeout: Duration::from_secs(30),
            final_termination_signal_deadline: Duration::from_secs(2),
        }
    }
}

impl StreamRefSettings {
    /// Reads the settings from `config`, falling back to [`REFERENCE_CONF`].
    pub fn from_config(config: &Config) -> Result<Self, hocon_config::ConfigError> {
        let reference = Config::parse_string(REFERENCE_CONF)?;
        let c = config.with_fallback(&reference).resolve()?;
        let capacity = c.get_int(&format!("{SECTION}.buffer-capacity"))?;
        Ok(StreamRefSettings {
            buffer_capacity: usize::try_from(capacity).unwrap_or(1).max(1),
            demand_redelivery_interval: c
                .get_duration(&format!("{SECTION}.demand-redelivery-interval"))?,
            subscription_timeout: c.get_duration(&format!("{SECTION}.subscription-timeout"))?,
            final_termination_signal_deadline: c
                .get_duration(&format!("{SECTION}.final-termination-signal-deadline"))?,
        })
    }

    /// With another buffer capacity (at least 1).
    pub fn with_buffer_capacity(mut self, n: usize) -> Self {
        self.buffer_capacity = n.max(1);
        self
    }

    /// With another subscription timeout.
    pub fn with_subscription_timeout(mut self, d: Duration) -> Self {
        self.subscription_timeout = d;
        self
    }

    /// With another final-termination-signal deadline.
    pub fn with_final_termination_signal_deadline(mut self, d: Duration) -> Self {
        self.final_termination_signal_deadline = d;
        self
    }

    /// With another demand redelivery interval.
    pub fn with_demand_redelivery_interval(mut self, d: Duration) -> Self {
        self.demand_redelivery_interval = d;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_conf_restates_the_defaults() {
        let empty = Config::parse_string("").unwrap();
        assert_eq!(
            StreamRefSettings::from_config(&empty).unwrap(),
            StreamRefSettings::default()
        );
    }

    #[test]
    fn application_config_overrides() {
        let c = Config::parse_string(
            "pekko.stream.materializer.stream-ref { buffer-capacity = 8, subscription-timeout = 3s }",
        )
        .unwrap();
        let s = StreamRefSettings::from_config(&c).unwrap();
        assert_eq!(s.buffer_capacity, 8);
        assert_eq!(s.subscription_timeout, Duration::from_secs(3));
        assert_eq!(s.demand_redelivery_interval, Duration::from_secs(1));
    }
}
