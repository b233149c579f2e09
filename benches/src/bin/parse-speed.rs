//! Parse and render speed of one typical nginx combined line, per line.
//!
//! `cargo run --release -p logseal-benches --bin parse-speed`

use logseal_core::parse::{JsonMapping, parse_line};
use logseal_core::render::render_into;
use logseal_core::{LineFormat, Record};

const LINE: &str = r#"203.0.113.42 - alice [28/Nov/2026:02:56:24 +0000] "GET /api/v1/users/42?expand=orders&page=3 HTTP/1.1" 200 5123 "https://shop.example/cart" "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36""#;

fn main() {
    let line = LINE.as_bytes();
    let mapping = JsonMapping::default();
    let n = 2_000_000u32;
    let start = std::time::Instant::now();
    let mut sink = 0usize;
    for _ in 0..n {
        let fields = parse_line(LineFormat::Combined, std::hint::black_box(line), &mapping).expect("parses");
        sink += fields.url.map_or(0, |u| u.len());
    }
    let parse_ns = start.elapsed().as_nanos() / u128::from(n);
    let fields = parse_line(LineFormat::Combined, line, &mapping).expect("parses");
    let record = Record::from_parse(0, 0, "t", LineFormat::Combined, line.to_vec(), Ok(fields));
    let mut out = Vec::with_capacity(512);
    let start = std::time::Instant::now();
    for _ in 0..n {
        out.clear();
        sink += usize::from(render_into(std::hint::black_box(&record), &mut out));
    }
    let render_ns = start.elapsed().as_nanos() / u128::from(n);
    println!("{}-byte combined line: parse {parse_ns} ns/line, render {render_ns} ns/line (sink {sink})", line.len());
}
