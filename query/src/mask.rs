//! What a role that may not see personal data gets instead (DESIGN.md §5):
//! `client_ip` → its `ip_tag` pseudonym plus the network prefix (/24 for
//! IPv4, /48 for IPv6), `user_id` → a pseudonym, the URL → its path. The
//! personal columns themselves (`client_ip`, `user_id`, `url_query`,
//! `referer`, `user_agent`, `raw`, `parse_error`) never leave: a masked
//! batch is built from an allow-list of columns, not by removing a list.
//!
//! Sealed files store the pseudonyms and prefixes as `base` columns
//! (`ip_tag`, `client_prefix`, `user_tag`; `logseal_core::derived`), so a
//! reader without the `pii` key masks from those; a batch without them
//! gets them computed from `client_ip` and `user_id` when it has those.

use std::sync::Arc;

use arrow_array::builder::StringBuilder;
use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::{ArrowError, DataType, Field, Schema};
use logseal_core::blind::IpTagger;
use logseal_core::derived::ip_prefix;

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

/// The masked form of `batch`: the [`VISIBLE`] columns it has, then
/// `ip_tag` (hex), `client_prefix` and `user_tag` (hex). `client_prefix`
/// and `user_tag` are the stored columns when the batch has them, else
/// computed from `client_ip` ([`ip_prefix`]) and `user_id`
/// ([`IpTagger::user_tag`], when a tagger is given) when it has those,
/// else null.
pub fn mask(batch: &RecordBatch, tagger: Option<&IpTagger>) -> Result<RecordBatch, ArrowError> {
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
    let wrong_type = |name: &str| ArrowError::SchemaError(format!("column {name} has the wrong type"));
    let stored_tags = |name: &str| match batch.column_by_name(name) {
        Some(c) => c.as_fixed_size_binary_opt().cloned().map(Some).ok_or_else(|| wrong_type(name)),
        None => Ok(None),
    };
    let hex_of =
        |tags: &arrow_array::FixedSizeBinaryArray, i: usize| tags.is_valid(i).then(|| hex::encode(tags.value(i)));
    let tags = stored_tags("ip_tag")?;
    columns.push(derived(&|i| tags.as_ref().and_then(|t| hex_of(t, i))));
    match batch.column_by_name("client_prefix") {
        Some(stored) if stored.data_type() == &DataType::Utf8 => columns.push(Arc::clone(stored)),
        Some(_) => return Err(wrong_type("client_prefix")),
        None => {
            let ips = batch.column_by_name("client_ip").map(|c| c.as_string::<i32>().clone());
            columns.push(derived(&|i| {
                ips.as_ref().filter(|a| a.is_valid(i)).and_then(|a| a.value(i).parse().ok()).map(ip_prefix)
            }));
        }
    }
    match stored_tags("user_tag")? {
        Some(user_tags) => columns.push(derived(&|i| hex_of(&user_tags, i))),
        None => {
            let users = batch.column_by_name("user_id").map(|c| c.as_string::<i32>().clone());
            columns.push(derived(&|i| {
                users
                    .as_ref()
                    .zip(tagger)
                    .filter(|(a, _)| a.is_valid(i))
                    .map(|(a, t)| hex::encode(t.user_tag(a.value(i))))
            }));
        }
    }
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
        let masked = mask(&batch, Some(&tagger)).unwrap();
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

    /// A reader without the `pii` key reads the stored `base` columns
    /// `client_prefix` and `user_tag` (as a sealed file has them, after
    /// what they derive from) and masks from those alone.
    #[test]
    fn stored_prefix_and_user_tag_columns_are_used_as_stored() {
        let tagger = IpTagger::new(&[7; 32]);
        let fixed = |values: &[Option<[u8; 8]>]| {
            let mut b = FixedSizeBinaryBuilder::new(8);
            for v in values {
                match v {
                    Some(v) => b.append_value(v).unwrap(),
                    None => b.append_null(),
                }
            }
            Arc::new(b.finish()) as ArrayRef
        };
        let ip_tag = tagger.tag("2001:db8:1::7".parse().unwrap());
        let user_tag = tagger.user_tag("bob");
        let base_only = RecordBatch::try_new(
            Arc::new(Schema::new(vec![
                Field::new("seq", DataType::UInt64, false),
                Field::new("ip_tag", DataType::FixedSizeBinary(8), true),
                Field::new("client_prefix", DataType::Utf8, true),
                Field::new("user_tag", DataType::FixedSizeBinary(8), true),
            ])),
            vec![
                Arc::new(arrow_array::UInt64Array::from(vec![1, 2, 3])),
                fixed(&[Some(ip_tag), None, Some(ip_tag)]),
                Arc::new(StringArray::from(vec![Some("2001:db8:1::/48"), None, Some("2001:db8:1::/48")])),
                fixed(&[Some(user_tag), None, None]),
            ],
        )
        .unwrap();
        // Another key: nothing is recomputed, the stored values are shown.
        let masked = mask(&base_only, Some(&IpTagger::new(&[8; 32]))).unwrap();
        let names: Vec<&str> = masked.schema_ref().fields().iter().map(|f| f.name().as_str()).collect();
        assert_eq!(names, ["seq", "ip_tag", "client_prefix", "user_tag"]);
        let col = |n: &str| masked.column_by_name(n).unwrap().as_string::<i32>().clone();
        let values =
            |n: &str| (0..3).map(|i| col(n).is_valid(i).then(|| col(n).value(i).to_owned())).collect::<Vec<_>>();
        assert_eq!(
            values("client_prefix"),
            [Some("2001:db8:1::/48".to_owned()), None, Some("2001:db8:1::/48".to_owned())]
        );
        assert_eq!(values("user_tag"), [Some(hex::encode(user_tag)), None, None]);
        assert_eq!(values("ip_tag"), [Some(hex::encode(ip_tag)), None, Some(hex::encode(ip_tag))]);

        // With the pii columns read too, the stored columns still win, and
        // no personal value leaves.
        let mut fields = base_only.schema().fields().iter().map(|f| f.as_ref().clone()).collect::<Vec<_>>();
        fields.push(Field::new("client_ip", DataType::Utf8, true));
        fields.push(Field::new("user_id", DataType::Utf8, true));
        let mut columns = base_only.columns().to_vec();
        columns.push(Arc::new(StringArray::from(vec![Some("2001:db8:1::7"), None, Some("2001:db8:1::7")])));
        columns.push(Arc::new(StringArray::from(vec![Some("bob"), None, None])));
        let both = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap();
        let masked_both = mask(&both, Some(&IpTagger::new(&[8; 32]))).unwrap();
        assert_eq!(masked_both, masked);
        let text = format!("{masked_both:?}");
        assert!(!text.contains("2001:db8:1::7") && !text.contains("bob"), "{text}");

        // A stored column of another type is an error, not a guess.
        let bad = RecordBatch::try_new(
            Arc::new(Schema::new(vec![Field::new("client_prefix", DataType::UInt16, true)])),
            vec![Arc::new(UInt16Array::from(vec![Some(1)]))],
        )
        .unwrap();
        assert!(mask(&bad, Some(&tagger)).is_err());
    }
}
