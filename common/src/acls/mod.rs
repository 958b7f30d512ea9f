//! The Kafka ACLs each sluice process needs, computed from its settings: the one list the
//! documentation, `sluice-producer acls` / `sluice-consumer acls`, the tests' grants and the
//! errors of a refused request are all taken from. A principal that holds exactly these can run
//! the pipeline; one that lacks any of them is stopped with that ACL's line.

mod refusal;

pub use refusal::{
    publish_refusal, read_refusal, topic_refusal, transactional_id_refusal, ConsumerRefusals,
    MissingAcl,
};

use std::fmt;

use crate::settings::{ConsumerSettings, Settings};

/// A kind of Kafka resource an ACL is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    /// A topic.
    Topic,
    /// A consumer group.
    Group,
    /// A transactional id.
    TransactionalId,
}

impl Resource {
    /// The `kafka-acls` option naming a resource of this kind.
    fn option(self) -> &'static str {
        match self {
            Self::Topic => "--topic",
            Self::Group => "--group",
            Self::TransactionalId => "--transactional-id",
        }
    }
}

impl fmt::Display for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Topic => "TOPIC",
            Self::Group => "GROUP",
            Self::TransactionalId => "TRANSACTIONAL_ID",
        })
    }
}

/// Whether an ACL names one resource or every resource whose name starts with its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pattern {
    /// That one name.
    Literal,
    /// Every name that starts with it.
    Prefixed,
}

/// One ACL a process needs: operations allowed on a resource, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acl {
    /// The kind of resource.
    pub resource: Resource,
    /// Literal or prefixed.
    pub pattern: Pattern,
    /// The resource's name (or prefix).
    pub name: String,
    /// Kafka's names of the operations, as `kafka-acls --operation` takes them.
    pub operations: &'static [&'static str],
    /// What sluice does with it.
    pub why: &'static str,
}

impl Acl {
    fn new(
        resource: Resource,
        name: impl Into<String>,
        operations: &'static [&'static str],
        why: &'static str,
    ) -> Self {
        Self {
            resource,
            pattern: Pattern::Literal,
            name: name.into(),
            operations,
            why,
        }
    }

    fn prefixed(mut self) -> Self {
        self.pattern = Pattern::Prefixed;
        self
    }

    /// The arguments of `kafka-acls --add` (after `--bootstrap-server`) that grant this ACL to
    /// `principal` (e.g. `User:sluice`).
    pub fn grant_arguments(&self, principal: &str) -> Vec<String> {
        let mut arguments = vec![
            "--add".to_owned(),
            "--allow-principal".to_owned(),
            principal.to_owned(),
            self.resource.option().to_owned(),
            self.name.clone(),
            "--resource-pattern-type".to_owned(),
            match self.pattern {
                Pattern::Literal => "literal",
                Pattern::Prefixed => "prefixed",
            }
            .to_owned(),
        ];
        for operation in self.operations {
            arguments.push("--operation".to_owned());
            arguments.push((*operation).to_owned());
        }
        arguments
    }
}

impl fmt::Display for Acl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pattern = match self.pattern {
            Pattern::Literal => "",
            Pattern::Prefixed => " (prefixed)",
        };
        write!(
            f,
            "{} `{}`{pattern}: {} ({})",
            self.resource,
            self.name,
            self.operations.join(", "),
            self.why
        )
    }
}

pub use crate::kafka::topic_reader::TOPIC_READER_GROUP;

fn topic_reader_group() -> Acl {
    Acl::new(
        Resource::Group,
        TOPIC_READER_GROUP,
        &["Describe"],
        "reads topics by hand in a group it never joins, whose coordinator librdkafka looks for",
    )
}

/// What `sluice-producer` needs, for its settings.
pub fn producer(settings: &Settings) -> Vec<Acl> {
    let kafka = &settings.kafka;
    let mut acls = vec![
        Acl::new(
            Resource::Topic,
            &kafka.topic,
            &["Create", "Describe", "DescribeConfigs", "Write", "Read"],
            "creates it, reads its record size limit, publishes the rows, reads back the keys it published",
        ),
        Acl::new(
            Resource::Topic,
            &kafka.dlq_topic,
            &["Create", "Describe", "Write"],
            "creates it and sends the rows it cannot publish",
        ),
        topic_reader_group(),
    ];
    if settings.producer.exactly_once {
        let transactional_id = settings.producer.transactional_id_for(&kafka.topic);
        acls.push(Acl::new(
            Resource::Topic,
            kafka.watermark_topic_name(),
            &["Create", "Describe", "Write", "Read"],
            "creates it, keeps the watermark in each transaction, reads it at start",
        ));
        acls.push(producer_transactional_id(&transactional_id));
        if settings.producer.standby {
            acls.push(Acl::new(
                Resource::Group,
                format!("{transactional_id}.active"),
                &["Read", "Describe"],
                "elects the publishing producer among the standbys",
            ));
        }
    }
    acls
}

/// What each `sluice-consumer` member needs, for its settings.
pub fn consumer(settings: &Settings) -> Vec<Acl> {
    let kafka = &settings.kafka;
    let group = &settings.consumer.group_id;
    let mut acls = vec![
        Acl::new(
            Resource::Topic,
            &kafka.topic,
            &["Describe", "Read"],
            "reads the records",
        ),
        Acl::new(
            Resource::Group,
            group,
            &["Describe", "Read"],
            "joins the group and commits its offsets",
        ),
        Acl::new(
            Resource::Topic,
            &kafka.dlq_topic,
            &["Create", "Describe", "Write"],
            "creates it and sends the records it cannot write",
        ),
        topic_reader_group(),
    ];
    if settings.consumer.exactly_once {
        acls.push(Acl::new(
            Resource::Topic,
            format!("{group}.batches"),
            &["Create", "Describe", "Write", "Read"],
            "creates it, marks each batch in its transaction, reads the marker of an unfinished batch",
        ));
        acls.push(member_transactional_ids(&settings.consumer));
    }
    acls
}

/// The producer's transactional id under exactly-once.
pub fn producer_transactional_id(transactional_id: &str) -> Acl {
    Acl::new(
        Resource::TransactionalId,
        transactional_id,
        &["Describe", "Write"],
        "publishes each batch of pages in one transaction",
    )
}

/// The transactional ids of the members of a group under exactly-once (one id per member).
pub fn member_transactional_ids(consumer: &ConsumerSettings) -> Acl {
    Acl::new(
        Resource::TransactionalId,
        consumer.transactional_id_prefix(),
        &["Describe", "Write"],
        "commits each batch's offsets in a transaction of its member (one id per member)",
    )
    .prefixed()
}

/// What `sluice-verify` needs: it reads the dead-letter topic.
pub fn verify(settings: &Settings) -> Vec<Acl> {
    vec![
        Acl::new(
            Resource::Topic,
            &settings.kafka.dlq_topic,
            &["Describe", "Read"],
            "counts the dead letters",
        ),
        topic_reader_group(),
    ]
}

/// The ACL of `acls` a refused request most likely lacked: the one on `topic` when a topic is
/// named, else the transactional id's or the group's, by `resource`.
pub fn lacking<'a>(acls: &'a [Acl], resource: Resource, name: Option<&str>) -> Option<&'a Acl> {
    acls.iter()
        .filter(|acl| acl.resource == resource)
        .find(|acl| match (name, acl.pattern) {
            (None, _) => true,
            (Some(name), Pattern::Literal) => acl.name == name,
            (Some(name), Pattern::Prefixed) => name.starts_with(&acl.name),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_producer_needs_its_topics_and_its_transactional_id() {
        let settings = Settings::default();
        let lines: Vec<String> = producer(&settings)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert!(lines.iter().any(|l| l
            .starts_with("TRANSACTIONAL_ID `sluice-producer-product_updates`: Describe, Write")));
        assert!(lines
            .iter()
            .any(|l| l.starts_with("TOPIC `product_updates.watermarks`")));
        let mut at_least_once = Settings::default();
        at_least_once.producer.exactly_once = false;
        assert!(lacking(&producer(&at_least_once), Resource::TransactionalId, None).is_none());
    }

    #[test]
    fn members_share_one_prefixed_transactional_id_acl() {
        let acls = consumer(&Settings::default());
        let found = lacking(
            &acls,
            Resource::TransactionalId,
            Some("sluice-consumer-sluice-json-writers-consumer-3"),
        )
        .expect("the members' prefix");
        assert_eq!(found.pattern, Pattern::Prefixed);
        assert_eq!(
            found.grant_arguments("User:sluice")[3..7],
            [
                "--transactional-id",
                "sluice-consumer-sluice-json-writers-",
                "--resource-pattern-type",
                "prefixed"
            ]
        );
    }
}
