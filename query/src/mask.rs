//! What a role that may not see personal data gets instead (DESIGN.md §5):
//! `client_ip` → its `ip_tag` pseudonym plus the network prefix (/24 for
//! IPv4, /48 for IPv6), `user_id` → a pseudonym, the URL → its path. The
//! personal columns themselves (`client_ip`, `user_id`, `url_query`,
//! `referer`, `user_agent`, `raw`, `parse_error`) never leave: a masked
//! batch is built from an allow-list of columns, not by removing a list.

use std::net::IpAddr;
use std::sync::Arc;

use arrow_array::builder::StringBuilder;
use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::{ArrowError, DataType, Field, Schema};
use logseal_core::blind::IpTagger;

/// Columns a masked reader gets as they are stored.
pub const VISIBLE: [&str; 13] = [
    "seq",
    "received_at",
    "source",
    "format",
    "time",
    "time_offset_s",
    "method",
    "url_path",
    "protocol",
    "status",
    "bytes_sent",
    "duration_us",
    "host",
];

/// Columns computed for a masked reader, in this order after [`VISIBLE`].
pub const DERIVED: [&str; 3] = ["ip_tag", "client_prefix", "user_tag"];

/// The network prefix shown in place of an address: /24 (IPv4), /48 (IPv6).
pub fn ip_prefix(ip: IpAddr) -> String {
    match ip.to_canonical() {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            format!("{a}.{b}.{c}.0/24")
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{}/48", std::net::Ipv6Addr::new(s[0], s[1], s[2], 0, 0, 0, 0, 0))
        }
    }
}

/// The masked form of `batch`: the [`VISIBLE`] columns it has, then
/// `ip_tag` (hex), `client_prefix` (from `client_ip` when the batch has it,
/// else null) and `user_tag` (hex pseudonym of `user_id`, likewise).
pub fn mask(batch: &RecordBatch, tagger: &IpTagger) -> Result<RecordBatch, ArrowError> {
    let mut fields = Vec::new();
    let mut columns: Vec<ArrayRef> = Vec::new();
    for name in VISIBLE {
        if let Some((_, field)) = batch.schema().column_with_name(name) {
            fields.push(field.clone());
            columns.push(Arc::clone(batch.column_by_name(name).expect("listed in the schema")));
        }
    }
    let rows = batch.num_rows();
    let derived = |f: &dyn Fn(usize) -> Option<String>| {
        let mut b = StringBuilder::with_capacity(rows, rows * 16);
        (0..rows).for_each(|i| b.append_option(f(i)));
        Arc::new(b.finish()) as ArrayRef
    };
    let tags = batch.column_by_name("ip_tag").map(|c| c.as_fixed_size_binary().clone());
    columns.push(derived(&|i| tags.as_ref().filter(|t| t.is_valid(i)).map(|t| hex::encode(t.value(i)))));
    let ips = batch.column_by_name("client_ip").map(|c| c.as_string::<i32>().clone());
    columns.push(derived(&|i| {
        ips.as_ref().filter(|a| a.is_valid(i)).and_then(|a| a.value(i).parse().ok()).map(ip_prefix)
    }));
    let users = batch.column_by_name("user_id").map(|c| c.as_string::<i32>().clone());
    columns
        .push(derived(&|i| users.as_ref().filter(|a| a.is_valid(i)).map(|a| hex::encode(tagger.user_tag(a.value(i))))));
    for name in DERIVED {
        fields.push(Field::new(name, DataType::Utf8, true));
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
}

#[cfg(test)]
mod tests {
    use arrow_array::builder::FixedSizeBinaryBuilder;
    use arrow_array::{StringArray, UInt16Array};

    use super::*;

    #[test]
    fn prefixes_truncate_addresses() {
        assert_eq!(ip_prefix("203.0.113.77".parse().unwrap()), "203.0.113.0/24");
        assert_eq!(ip_prefix("::ffff:203.0.113.77".parse().unwrap()), "203.0.113.0/24");
        assert_eq!(ip_prefix("2001:db8:abcd:12::1".parse().unwrap()), "2001:db8:abcd::/48");
    }

    #[test]
    fn a_masked_batch_keeps_no_personal_column_and_no_raw_value() {
        let tagger = IpTagger::new(&[7; 32]);
        let ip = "203.0.113.77";
        let mut tags = FixedSizeBinaryBuilder::new(8);
        tags.append_value(tagger.tag(ip.parse().unwrap())).unwrap();
        tags.append_null();
        let schema = Schema::new(vec![
            Field::new("client_ip", DataType::Utf8, true),
            Field::new("ip_tag", DataType::FixedSizeBinary(8), true),
            Field::new("url_path", DataType::Utf8, true),
            Field::new("url_query", DataType::Utf8, true),
            Field::new("user_id", DataType::Utf8, true),
            Field::new("user_agent", DataType::Utf8, true),
            Field::new("status", DataType::UInt16, true),
        ]);
        let batch = RecordBatch::try_new(
            Arc::new(schema),
            vec![
                Arc::new(StringArray::from(vec![Some(ip), None])),
                Arc::new(tags.finish()),
                Arc::new(StringArray::from(vec![Some("/login"), Some("/x")])),
                Arc::new(StringArray::from(vec![Some("token=secret"), None])),
                Arc::new(StringArray::from(vec![Some("alice"), None])),
                Arc::new(StringArray::from(vec![Some("curl/8"), None])),
                Arc::new(UInt16Array::from(vec![Some(200), Some(404)])),
            ],
        )
        .unwrap();
        let masked = mask(&batch, &tagger).unwrap();
        let names: Vec<&str> = masked.schema_ref().fields().iter().map(|f| f.name().as_str()).collect();
        assert_eq!(names, ["url_path", "status", "ip_tag", "client_prefix", "user_tag"]);
        let text = format!("{masked:?}");
        for secret in [ip, "token=secret", "alice", "curl/8"] {
            assert!(!text.contains(secret), "{secret} leaked: {text}");
        }
        let col = |n: &str| masked.column_by_name(n).unwrap().as_string::<i32>().clone();
        assert_eq!(col("client_prefix").value(0), "203.0.113.0/24");
        assert_eq!(col("ip_tag").value(0), hex::encode(tagger.tag(ip.parse().unwrap())));
        assert_eq!(col("user_tag").value(0), hex::encode(tagger.user_tag("alice")));
        assert!(col("user_tag").is_null(1) && col("client_prefix").is_null(1) && col("ip_tag").is_null(1));
    }
}
