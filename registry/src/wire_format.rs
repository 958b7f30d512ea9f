//! The Confluent Schema Registry wire format of a record value, which every Confluent
//! serializer writes and reads: the magic byte 0, the writer schema's registry id as 4 bytes
//! big-endian, then the Avro binary datum. The producer writes it and the consumer reads it
//! through this one module.

use crate::client::SchemaId;

/// The first byte of every value in the wire format.
pub const MAGIC_BYTE: u8 = 0;
/// The magic byte and the schema id.
pub const HEADER_LEN: usize = 5;

/// A value that is not in the wire format.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireFormatError {
    /// Fewer bytes than the header.
    #[error("not in the Confluent wire format: {len} bytes, fewer than its 5-byte header")]
    TooShort {
        /// How many bytes there were.
        len: usize,
    },
    /// Another first byte than the magic byte 0.
    #[error("not in the Confluent wire format: it starts {start:02x?}, not with the magic byte 0")]
    NoMagicByte {
        /// The value's first bytes.
        start: Vec<u8>,
    },
}

/// Writing and reading the wire format.
#[derive(Debug, Clone, Copy)]
pub struct WireFormat;

impl WireFormat {
    /// Replaces `out` with the header of a value written with schema `id`; the datum follows.
    pub fn write_header(id: SchemaId, out: &mut Vec<u8>) {
        out.clear();
        out.push(MAGIC_BYTE);
        out.extend_from_slice(&id.to_be_bytes());
    }

    /// The writer schema's id and the Avro datum of `value`.
    pub fn split(value: &[u8]) -> Result<(SchemaId, &[u8]), WireFormatError> {
        let Some((header, datum)) = value.split_first_chunk::<HEADER_LEN>() else {
            return Err(WireFormatError::TooShort { len: value.len() });
        };
        match header {
            [MAGIC_BYTE, id @ ..] => Ok((SchemaId::from_be_bytes(*id), datum)),
            _ => Err(WireFormatError::NoMagicByte {
                start: header.to_vec(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use schema_registry_converter::schema_registry_common::{get_bytes_result, BytesResult};

    /// A value as Confluent's KafkaAvroSerializer writes it for schema id 21 and the Avro
    /// string "hi" (zig-zag length 2, then the bytes).
    const CONFLUENT_VALUE: [u8; 8] = [0x00, 0x00, 0x00, 0x00, 0x15, 0x04, b'h', b'i'];

    #[test]
    fn a_confluent_value_splits_into_its_id_and_datum() {
        assert_eq!(
            WireFormat::split(&CONFLUENT_VALUE),
            Ok((21, &b"\x04hi"[..]))
        );
        let mut written = vec![9; 3];
        WireFormat::write_header(21, &mut written);
        written.extend_from_slice(b"\x04hi");
        assert_eq!(written, CONFLUENT_VALUE);
    }

    #[test]
    fn what_is_written_reads_as_confluent_clients_read_it() {
        for id in [0, 1, 0x0102_0304, SchemaId::MAX] {
            let mut value = Vec::new();
            WireFormat::write_header(id, &mut value);
            value.push(42);
            match get_bytes_result(Some(&value)) {
                BytesResult::Valid(read, datum) => assert_eq!((read, datum), (id, &[42][..])),
                other => panic!("not the Confluent wire format: {other:?}"),
            }
            assert_eq!(WireFormat::split(&value), Ok((id, &[42][..])));
        }
    }

    #[test]
    fn other_bytes_are_refused_with_what_they_are() {
        assert_eq!(
            WireFormat::split(b"\x00\x00\x01"),
            Err(WireFormatError::TooShort { len: 3 })
        );
        let error = WireFormat::split(b"{\"not\":\"avro\"}").expect_err("JSON");
        assert!(matches!(error, WireFormatError::NoMagicByte { .. }));
        assert!(error.to_string().contains("7b"), "{error}");
        // An empty datum is a valid value of an empty record.
        assert_eq!(WireFormat::split(&[0, 0, 0, 0, 7]), Ok((7, &[][..])));
    }
}
