//! A request Kafka refused for want of an ACL, told by the ACL of the list it lacked: the
//! process stops with that line rather than wait for a grant that may never come.

use std::fmt;

use rdkafka::error::KafkaError;
use rdkafka::types::RDKafkaErrorCode;

use super::{consumer, lacking, Acl, Resource};
use crate::kafka::topic_reader::TopicReadError;
use crate::kafka::TopicError;
use crate::settings::Settings;

/// Kafka refused a process something only an ACL allows: the process stops with the ACL it
/// lacks, from the list, rather than waiting for a grant that may never come.
#[derive(Debug, thiserror::Error)]
#[error(
    "Kafka refused {refused}; this principal needs {acl} (docs/security.md: the ACLs sluice needs)"
)]
pub struct MissingAcl {
    /// What was refused, in Kafka's words.
    pub refused: String,
    /// The ACL of the list that allows it.
    pub acl: String,
}

impl MissingAcl {
    /// The refusal `refused` of `resource` `name`, with the ACL of `acls` that allows it.
    pub fn of(acls: &[Acl], resource: Resource, name: &str, refused: impl fmt::Display) -> Self {
        let acl = match lacking(acls, resource, Some(name)) {
            Some(acl) => acl.to_string(),
            None => format!("an ACL on {resource} `{name}`"),
        };
        Self {
            refused: refused.to_string(),
            acl,
        }
    }
}

/// The ACL `acl` (on transactional ids) a refusal of transactional id `id` lacked, when `error`
/// is a refusal for want of an ACL.
pub fn transactional_id_refusal(acl: Acl, id: &str, error: &KafkaError) -> Option<MissingAcl> {
    let code = error
        .rdkafka_error_code()
        .filter(|code| crate::kafka::is_authorization_failure(*code))?;
    Some(MissingAcl::of(
        &[acl],
        Resource::TransactionalId,
        id,
        format!("transactional.id `{id}` ({code})"),
    ))
}

/// When Kafka refused a publishing producer a write for want of an ACL (a record, or a
/// transaction's topic or id): the ACLs of `acls` that allow writes on that kind of resource.
/// Kafka does not say which topic, so each topic the producer writes is named.
pub fn publish_refusal(acls: &[Acl], error: &KafkaError) -> Option<MissingAcl> {
    let code = error.rdkafka_error_code()?;
    let resource = match code {
        RDKafkaErrorCode::TopicAuthorizationFailed => Resource::Topic,
        RDKafkaErrorCode::TransactionalIdAuthorizationFailed => Resource::TransactionalId,
        _ => return None,
    };
    let writes: Vec<String> = acls
        .iter()
        .filter(|acl| acl.resource == resource && acl.operations.contains(&"Write"))
        .map(ToString::to_string)
        .collect();
    let acl = match writes.as_slice() {
        [] => return None,
        [one] => one.clone(),
        several => format!("each of {}", several.join("; ")),
    };
    Some(MissingAcl {
        refused: format!("a write while publishing ({code})"),
        acl,
    })
}

/// `error`, or when Kafka refused the topic for want of an ACL, the ACL of `acls` it lacks.
pub fn topic_refusal(acls: &[Acl], error: TopicError) -> Result<MissingAcl, TopicError> {
    match &error {
        TopicError::Refused { topic, code } => Ok(MissingAcl::of(
            acls,
            Resource::Topic,
            topic,
            format!("topic `{topic}` ({code})"),
        )),
        _ => Err(error),
    }
}

/// `error`, or when Kafka refused a topic read by hand for want of an ACL, the ACL of `acls` it
/// lacks: the topic's, or the group's of the readers (`TOPIC_READER_GROUP`).
pub fn read_refusal(acls: &[Acl], error: TopicReadError) -> Result<MissingAcl, TopicReadError> {
    match &error {
        TopicReadError::Refused { topic, code } => {
            let (resource, name) = match code {
                RDKafkaErrorCode::GroupAuthorizationFailed => {
                    (Resource::Group, super::TOPIC_READER_GROUP)
                }
                _ => (Resource::Topic, topic.as_str()),
            };
            Ok(MissingAcl::of(
                acls,
                resource,
                name,
                format!("reading topic `{topic}` ({code})"),
            ))
        }
        _ => Err(error),
    }
}

/// Tells which ACL of a member's list a refused request of its group consumer lacked: the
/// records topic's or the group's.
#[derive(Debug, Clone)]
pub struct ConsumerRefusals {
    acls: Vec<Acl>,
    topic: String,
    group: String,
}

impl ConsumerRefusals {
    /// The refusals of a member with `settings`.
    pub fn new(settings: &Settings) -> Self {
        Self {
            acls: consumer(settings),
            topic: settings.kafka.topic.clone(),
            group: settings.consumer.group_id.clone(),
        }
    }

    /// The ACL `code` (an error of the group consumer) says is missing; `None` for any other
    /// error.
    pub fn of(&self, code: RDKafkaErrorCode, refused: impl fmt::Display) -> Option<MissingAcl> {
        let (resource, name) = match code {
            RDKafkaErrorCode::TopicAuthorizationFailed => (Resource::Topic, &self.topic),
            RDKafkaErrorCode::GroupAuthorizationFailed => (Resource::Group, &self.group),
            _ => return None,
        };
        Some(MissingAcl::of(&self.acls, resource, name, refused))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::acls::producer;

    #[test]
    fn a_refused_write_names_the_acls_that_allow_writes() {
        let settings = Settings::default();
        let refused = KafkaError::MessageProduction(RDKafkaErrorCode::TopicAuthorizationFailed);
        let missing = publish_refusal(&producer(&settings), &refused).map(|m| m.to_string());
        let missing = missing.unwrap_or_default();
        for topic in [
            "TOPIC `product_updates`",
            "TOPIC `product_updates.dlq`",
            "TOPIC `product_updates.watermarks`",
        ] {
            assert!(missing.contains(topic), "{topic} in {missing}");
        }
        let refused =
            KafkaError::MessageProduction(RDKafkaErrorCode::TransactionalIdAuthorizationFailed);
        let missing = publish_refusal(&producer(&settings), &refused).map(|m| m.to_string());
        assert!(missing
            .unwrap_or_default()
            .contains("this principal needs TRANSACTIONAL_ID `sluice-producer-product_updates`"));
        let timeout = KafkaError::MessageProduction(RDKafkaErrorCode::MessageTimedOut);
        assert!(publish_refusal(&producer(&settings), &timeout).is_none());
    }

    #[test]
    fn a_refusal_names_the_acl_of_the_list() {
        let settings = Settings::default();
        let missing = MissingAcl::of(
            &consumer(&settings),
            Resource::Group,
            "sluice-json-writers",
            "GroupAuthorizationFailed",
        );
        assert_eq!(
            missing.to_string(),
            "Kafka refused GroupAuthorizationFailed; this principal needs GROUP \
             `sluice-json-writers`: Describe, Read (joins the group and commits its offsets) \
             (docs/security.md: the ACLs sluice needs)"
        );
    }
}
