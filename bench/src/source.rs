//! Where the producer of a bench run reads its changes.

/// The producer's source: polled by timestamp, or the binary log (through the stack's binlog
/// user, which holds the replication grants).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// `producer.source = "timestamp"`, the default.
    Polled,
    /// `producer.source = "binlog"`.
    Binlog,
}

impl Source {
    /// The settings that choose it.
    pub fn sets(self) -> Vec<String> {
        match self {
            Source::Polled => Vec::new(),
            Source::Binlog => [
                "producer.source=binlog",
                "mysql.user=sluice_binlog",
                "mysql.password=sluice_binlog",
            ]
            .map(str::to_owned)
            .to_vec(),
        }
    }
}
