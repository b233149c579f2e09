//! The blind index: `ip_tag = HMAC-SHA256(index_key, "logseal/ip_tag/v1" ‖ ip)[..8]`,
//! a stable pseudonym of a client address that nobody without the index
//! key can compute (so its Bloom filter, stored unencrypted by the Parquet
//! writer, reveals nothing); and `user_tag`, the same for a user id
//! (FORMAT.md §8). Both are stored columns ([`crate::derived`]).

use std::net::IpAddr;

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Bytes of an `ip_tag`.
pub const IP_TAG_LEN: usize = 8;

/// An `ip_tag` value.
pub type IpTag = [u8; IP_TAG_LEN];

/// Domain separator of `ip_tag` (format v1).
pub const IP_TAG_DOMAIN: &[u8] = b"logseal/ip_tag/v1";

/// Computes `ip_tag`s with one index key.
#[derive(Clone)]
pub struct IpTagger {
    mac: Hmac<Sha256>,
}

impl std::fmt::Debug for IpTagger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IpTagger(..)")
    }
}

impl IpTagger {
    /// A tagger keyed with `index_key`.
    pub fn new(index_key: &[u8; 32]) -> IpTagger {
        IpTagger { mac: Hmac::new_from_slice(index_key).expect("HMAC takes any key length") }
    }

    /// The tag of `ip`. An IPv4-mapped IPv6 address tags like the IPv4
    /// address it maps, so one client has one pseudonym however it was
    /// logged.
    pub fn tag(&self, ip: IpAddr) -> IpTag {
        let mut mac = self.mac.clone();
        mac.update(IP_TAG_DOMAIN);
        match ip.to_canonical() {
            IpAddr::V4(v4) => mac.update(&v4.octets()),
            IpAddr::V6(v6) => mac.update(&v6.octets()),
        }
        let full: [u8; 32] = mac.finalize().into_bytes().into();
        let mut tag = [0u8; IP_TAG_LEN];
        tag.copy_from_slice(&full[..IP_TAG_LEN]);
        tag
    }

    /// The pseudonym of a user id, for readers who may not see it: the
    /// `user_tag` column, `HMAC-SHA256(index_key, USER_TAG_DOMAIN ‖
    /// UTF-8(user_id))[..8]` (FORMAT.md §8). Domain-separated from
    /// [`IpTagger::tag`].
    pub fn user_tag(&self, user_id: &str) -> IpTag {
        let mut mac = self.mac.clone();
        mac.update(USER_TAG_DOMAIN);
        mac.update(user_id.as_bytes());
        let full: [u8; 32] = mac.finalize().into_bytes().into();
        let mut tag = [0u8; IP_TAG_LEN];
        tag.copy_from_slice(&full[..IP_TAG_LEN]);
        tag
    }
}

/// Domain separator of `user_tag` ([`IpTagger::user_tag`], format v1):
/// `"logseal/user-tag/v1"` and a newline (0x0A).
pub const USER_TAG_DOMAIN: &[u8] = b"logseal/user-tag/v1\n";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mapped_addresses_share_a_tag_and_keys_matter() {
        let t = IpTagger::new(&[1; 32]);
        assert_eq!(t.tag("192.0.2.7".parse().unwrap()), t.tag("::ffff:192.0.2.7".parse().unwrap()));
        assert_ne!(t.tag("192.0.2.7".parse().unwrap()), t.tag("192.0.2.8".parse().unwrap()));
        assert_ne!(t.tag("192.0.2.7".parse().unwrap()), IpTagger::new(&[2; 32]).tag("192.0.2.7".parse().unwrap()));
    }

    #[test]
    fn user_pseudonyms_are_keyed_and_apart_from_ip_tags() {
        let (a, b) = (IpTagger::new(&[1; 32]), IpTagger::new(&[2; 32]));
        assert_eq!(a.user_tag("alice"), a.user_tag("alice"));
        assert_ne!(a.user_tag("alice"), a.user_tag("alice "));
        assert_ne!(a.user_tag("alice"), b.user_tag("alice"));
        // The bytes of 1.2.3.4 as a user id do not give the address's tag.
        let ip: IpAddr = "1.2.3.4".parse().unwrap();
        assert_ne!(a.user_tag("\u{1}\u{2}\u{3}\u{4}"), a.tag(ip));
    }
}
