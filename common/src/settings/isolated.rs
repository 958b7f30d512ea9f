//! The names one pipeline run owns, so that test scenarios and benchmark runs share one stack
//! without meeting: its table, topic, dead-letter topic, consumer group, and a folder for its
//! watermark and output. The settings keys they map to are named here, beside the settings.

use std::path::{Path, PathBuf};

/// One run's table, topics, group and folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IsolatedRun {
    /// Table the producer reads.
    pub table: String,
    /// Topic in between.
    pub topic: String,
    /// Its dead-letter topic.
    pub dlq_topic: String,
    /// The consumer group.
    pub group: String,
    /// Watermark, output files and process logs.
    pub dir: PathBuf,
}

impl IsolatedRun {
    /// A run over `table` into `topic`, with the dead-letter topic `<topic>.dlq` and the group
    /// `<topic>-writers`, keeping its files in `dir`.
    pub fn new(table: &str, topic: &str, dir: &Path) -> Self {
        Self {
            table: table.to_owned(),
            topic: topic.to_owned(),
            dlq_topic: format!("{topic}.dlq"),
            group: format!("{topic}-writers"),
            dir: dir.to_path_buf(),
        }
    }

    /// The `--set` overrides that point a process at these names, with metrics on ports the
    /// system picks: several runs may have processes up side by side.
    pub fn overrides(&self) -> Vec<String> {
        let dir = self.dir.display();
        vec![
            format!("mysql.table={}", self.table),
            format!("kafka.topic={}", self.topic),
            format!("kafka.dlq_topic={}", self.dlq_topic),
            format!("consumer.group_id={}", self.group),
            format!("producer.watermark_file={dir}/watermark.json"),
            format!("consumer.output_dir={dir}/out"),
            "metrics.producer_port=0".to_owned(),
            "metrics.consumer_port_base=0".to_owned(),
        ]
    }

    /// The consumers' output folder.
    pub fn out_dir(&self) -> PathBuf {
        self.dir.join("out")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::{load, Layers};

    #[test]
    fn the_overrides_are_settings_the_loader_accepts_and_applies() {
        let run = IsolatedRun::new("t_1", "run-1", Path::new("/tmp/run-1"));
        assert_eq!(run.dlq_topic, "run-1.dlq");
        assert_eq!(run.group, "run-1-writers");
        let settings = load(&Layers {
            file: None,
            environment: Some(std::collections::HashMap::new()),
            overrides: run.overrides(),
        })
        .expect("every override is a known key");
        assert_eq!(settings.mysql.table, "t_1");
        assert_eq!(settings.kafka.topic, "run-1");
        assert_eq!(settings.kafka.dlq_topic, "run-1.dlq");
        assert_eq!(settings.consumer.group_id, "run-1-writers");
        assert_eq!(settings.consumer.output_dir, "/tmp/run-1/out");
        assert_eq!(
            settings.producer.watermark_file,
            "/tmp/run-1/watermark.json"
        );
        assert_eq!(settings.metrics.producer_port, 0);
        assert_eq!(run.out_dir(), Path::new("/tmp/run-1/out"));
    }
}
