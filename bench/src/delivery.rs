//! The delivery a pipeline of the bench runs with. Every phase runs at least once (the figures
//! set against Kafka's ceilings and against earlier runs), whatever `sluice.toml` ships, unless
//! it names exactly once; the exactly-once phases then set both halves on.

/// At least once or exactly once, for the producer and the members alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// `producer.exactly_once = false`, `consumer.exactly_once = false`.
    AtLeastOnce,
    /// `producer.exactly_once = true`, `consumer.exactly_once = true`.
    ExactlyOnce,
}

impl Delivery {
    /// The `--set` overrides that select it; later overrides win over earlier ones.
    pub fn sets(self) -> [String; 2] {
        let on = self == Delivery::ExactlyOnce;
        [
            format!("producer.exactly_once={on}"),
            format!("consumer.exactly_once={on}"),
        ]
    }

    /// How run names tell it apart.
    pub fn tag(self) -> &'static str {
        match self {
            Delivery::AtLeastOnce => "at-least-once",
            Delivery::ExactlyOnce => "exactly-once",
        }
    }

    /// How descriptions tell it apart.
    pub fn label(self) -> &'static str {
        match self {
            Delivery::AtLeastOnce => "at least once",
            Delivery::ExactlyOnce => "exactly once",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_delivery_sets_both_halves() {
        assert_eq!(
            Delivery::ExactlyOnce.sets(),
            [
                "producer.exactly_once=true".to_owned(),
                "consumer.exactly_once=true".to_owned()
            ]
        );
        assert_eq!(
            Delivery::AtLeastOnce.sets(),
            [
                "producer.exactly_once=false".to_owned(),
                "consumer.exactly_once=false".to_owned()
            ]
        );
    }
}
