//! The columns of a sealed file (format v1), their Arrow types and their
//! key domains. `docs/FORMAT.md` §6 is the normative table.
//!
//! A record's `url` is stored as `url_path` (base) plus `url_query` (pii,
//! the text after the first `?`, null when there is none): the path is
//! not stored twice, which saves about 2 bytes per record.
//!
//! `ip_tag`, `client_prefix` and `user_tag` are derived from the `pii`
//! fields `client_ip` and `user_id` (`logseal_core::derived`) and stored in
//! the `base` domain, so that a reader without the `pii` key still sees
//! pseudonyms and network prefixes.

use std::sync::Arc;

use arrow_schema::{DataType, Field, Schema, TimeUnit};
use logseal_core::blind::IP_TAG_LEN;

use crate::keys::KeyDomain;

/// One column.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    /// Column name.
    pub name: &'static str,
    /// Which master key protects it.
    pub domain: KeyDomain,
}

const fn col(name: &'static str, domain: KeyDomain) -> Column {
    Column { name, domain }
}

/// Every column, in file order.
pub const COLUMNS: [Column; 24] = [
    col("seq", KeyDomain::Base),
    col("received_at", KeyDomain::Base),
    col("source", KeyDomain::Base),
    col("format", KeyDomain::Base),
    col("time", KeyDomain::Base),
    col("time_offset_s", KeyDomain::Base),
    col("client_ip", KeyDomain::Pii),
    col("ip_tag", KeyDomain::Base),
    col("client_prefix", KeyDomain::Base),
    col("method", KeyDomain::Base),
    col("url_query", KeyDomain::Pii),
    col("url_path", KeyDomain::Base),
    col("protocol", KeyDomain::Base),
    col("status", KeyDomain::Base),
    col("bytes_sent", KeyDomain::Base),
    col("duration_us", KeyDomain::Base),
    col("referer", KeyDomain::Pii),
    col("user_agent", KeyDomain::Pii),
    col("user_id", KeyDomain::Pii),
    col("user_tag", KeyDomain::Base),
    col("request_id", KeyDomain::Base),
    col("host", KeyDomain::Base),
    col("raw", KeyDomain::Pii),
    col("parse_error", KeyDomain::Pii),
];

/// Names of the columns of `domain`.
pub fn columns_of(domain: KeyDomain) -> Vec<&'static str> {
    COLUMNS.iter().filter(|c| c.domain == domain).map(|c| c.name).collect()
}

fn timestamp() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

/// The Arrow schema of a sealed file.
pub fn arrow_schema() -> Arc<Schema> {
    let utf8 = |name: &str| Field::new(name, DataType::Utf8, true);
    Arc::new(Schema::new(vec![
        Field::new("seq", DataType::UInt64, false),
        Field::new("received_at", timestamp(), false),
        Field::new("source", DataType::Utf8, false),
        utf8("format"),
        Field::new("time", timestamp(), true),
        Field::new("time_offset_s", DataType::Int32, true),
        utf8("client_ip"),
        Field::new("ip_tag", DataType::FixedSizeBinary(IP_TAG_LEN as i32), true),
        utf8("client_prefix"),
        utf8("method"),
        utf8("url_query"),
        utf8("url_path"),
        utf8("protocol"),
        Field::new("status", DataType::UInt16, true),
        Field::new("bytes_sent", DataType::UInt64, true),
        Field::new("duration_us", DataType::UInt64, true),
        utf8("referer"),
        utf8("user_agent"),
        utf8("user_id"),
        Field::new("user_tag", DataType::FixedSizeBinary(IP_TAG_LEN as i32), true),
        utf8("request_id"),
        utf8("host"),
        Field::new("raw", DataType::Binary, true),
        utf8("parse_error"),
    ]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_and_schema_agree() {
        let schema = arrow_schema();
        let names: Vec<_> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        let table: Vec<_> = COLUMNS.iter().map(|c| c.name).collect();
        assert_eq!(names, table);
        assert_eq!(
            columns_of(KeyDomain::Pii),
            vec!["client_ip", "url_query", "referer", "user_agent", "user_id", "raw", "parse_error"]
        );
        // The derived columns sit right after what they are derived from.
        let at = |name: &str| table.iter().position(|n| *n == name).unwrap();
        assert_eq!(at("client_prefix"), at("ip_tag") + 1);
        assert_eq!(at("user_tag"), at("user_id") + 1);
        for derived in ["ip_tag", "client_prefix", "user_tag"] {
            assert!(columns_of(KeyDomain::Base).contains(&derived), "{derived} is base");
        }
    }
}
