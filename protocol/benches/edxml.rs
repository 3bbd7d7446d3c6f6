//! edXML read throughput beside quick-xml's own event scan of the same bytes.
//!
//! The scan is the physical limit for any reader built on quick-xml: it tokenises the input
//! and does nothing else. The goal is for `edxml::read` to run at half its speed or better.
//! Inputs are the real samples: `edoc_new.edxml` (a document with a 360 KB attachment) and
//! `status.edxml` (a 1.8 KB status message), read from `LIENTHONG_SHARED` or `../shared`.

use std::hint::black_box;
use std::path::PathBuf;

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use quick_xml::Reader;
use quick_xml::events::Event;

fn sample(name: &str) -> Bytes {
    let workspace = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let shared = std::env::var_os("LIENTHONG_SHARED")
        .map(|d| workspace.join(d))
        .unwrap_or_else(|| workspace.join("../shared"));
    let path = shared.join("edxml-samples").join(name);
    Bytes::from(std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display())))
}

/// Tokenise every event and touch it: the cheapest complete pass quick-xml allows.
fn bare_scan(input: &[u8]) -> usize {
    let mut reader = Reader::from_reader(input);
    let mut events = 0usize;
    loop {
        match reader.read_event() {
            Ok(Event::Eof) => return events,
            Ok(event) => {
                black_box(&event);
                events += 1;
            }
            Err(e) => panic!("sample does not scan: {e}"),
        }
    }
}

fn bench_read(c: &mut Criterion) {
    for (label, name) in [
        ("document_360k_attachment", "edoc_new.edxml"),
        ("status_2k", "status.edxml"),
    ] {
        let input = sample(name);
        let mut group = c.benchmark_group(format!("edxml_read/{label}"));
        group.throughput(Throughput::Bytes(input.len() as u64));
        group.bench_function("quick_xml_bare_scan", |b| {
            b.iter(|| bare_scan(black_box(&input)))
        });
        group.bench_function("lienthong_read", |b| {
            b.iter(|| lienthong_protocol::edxml::read(black_box(input.clone())).expect("reads"))
        });
        group.finish();
    }
}

fn bench_write(c: &mut Criterion) {
    let input = sample("edoc_new.edxml");
    let message = lienthong_protocol::edxml::read(input.clone())
        .expect("reads")
        .message;
    let mut group = c.benchmark_group("edxml_write/document_360k_attachment");
    group.throughput(Throughput::Bytes(input.len() as u64));
    group.bench_function("lienthong_write", |b| {
        b.iter(|| lienthong_protocol::edxml::write(black_box(&message)).expect("writes"))
    });
    group.finish();
}

criterion_group!(benches, bench_read, bench_write);
criterion_main!(benches);
