//! What the machine can do without lienthong: raw loopback TCP and raw fsync.

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::time::Instant;

use super::Figure;

/// One direction, 1 MiB writes, 512 MiB in all.
pub(super) fn raw_tcp_throughput() -> anyhow::Result<Figure> {
    const TOTAL: usize = 512 * 1024 * 1024;
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let reader = std::thread::spawn(move || -> std::io::Result<usize> {
        let (mut stream, _) = listener.accept()?;
        let mut buf = vec![0u8; 1024 * 1024];
        let mut got = 0;
        loop {
            let n = stream.read(&mut buf)?;
            if n == 0 {
                return Ok(got);
            }
            got += n;
        }
    });
    let mut stream = TcpStream::connect(addr)?;
    let chunk = vec![0x5au8; 1024 * 1024];
    let start = Instant::now();
    let mut sent = 0;
    while sent < TOTAL {
        stream.write_all(&chunk)?;
        sent += chunk.len();
    }
    drop(stream);
    let got = reader
        .join()
        .map_err(|_| anyhow::anyhow!("reader panicked"))??;
    let secs = start.elapsed().as_secs_f64();
    Ok(Figure::new(
        "raw_tcp_loopback",
        got as f64 / secs / 1e6,
        "MB/s",
        None,
    ))
}

fn echo_server(size: usize) -> anyhow::Result<std::net::SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut stream = stream;
                let _ = stream.set_nodelay(true);
                let mut buf = vec![0u8; size];
                while stream.read_exact(&mut buf).is_ok() {
                    if stream.write_all(&buf[..64]).is_err() {
                        return;
                    }
                }
            });
        }
    });
    Ok(addr)
}

/// `size`-byte requests answered with 64 bytes, over `connections` connections in
/// parallel: what a request/response exchange of a small document costs at the socket level.
pub(super) fn raw_tcp_round_trips(
    size: usize,
    connections: usize,
    total: usize,
) -> anyhow::Result<Figure> {
    let addr = echo_server(size)?;
    let per = total.div_ceil(connections);
    let start = Instant::now();
    let workers: Vec<_> = (0..connections)
        .map(|_| {
            std::thread::spawn(move || -> std::io::Result<()> {
                let mut stream = TcpStream::connect(addr)?;
                stream.set_nodelay(true)?;
                let request = vec![7u8; size];
                let mut answer = [0u8; 64];
                for _ in 0..per {
                    stream.write_all(&request)?;
                    stream.read_exact(&mut answer)?;
                }
                Ok(())
            })
        })
        .collect();
    for w in workers {
        w.join().map_err(|_| anyhow::anyhow!("worker panicked"))??;
    }
    let rate = (per * connections) as f64 / start.elapsed().as_secs_f64();
    Ok(Figure::new("raw_tcp_10k_round_trips", rate, "req/s", None))
}

/// Latency of single `size`-byte round trips on one connection.
pub(super) fn raw_tcp_latency(size: usize, count: usize) -> anyhow::Result<(Figure, Figure)> {
    let addr = echo_server(size)?;
    let mut stream = TcpStream::connect(addr)?;
    stream.set_nodelay(true)?;
    let request = vec![7u8; size];
    let mut answer = [0u8; 64];
    let mut samples = Vec::with_capacity(count);
    for _ in 0..count {
        let start = Instant::now();
        stream.write_all(&request)?;
        stream.read_exact(&mut answer)?;
        samples.push(start.elapsed().as_secs_f64() * 1000.0);
    }
    let (p50, p99) = percentiles(&mut samples);
    Ok((
        Figure::new("raw_tcp_10k_round_trip_p50", p50, "ms", None),
        Figure::new("raw_tcp_10k_round_trip_p99", p99, "ms", None),
    ))
}

/// Appends of 1 KiB, each followed by fsync, in the temporary directory: the rate at which
/// this disk makes a write durable, which bounds a store that syncs each write alone.
pub(super) fn fsync_rate() -> anyhow::Result<Figure> {
    let dir = tempfile::tempdir()?;
    let mut file = std::fs::File::create(dir.path().join("fsync"))?;
    let block = [1u8; 1024];
    let count = 2000;
    let start = Instant::now();
    for _ in 0..count {
        file.write_all(&block)?;
        file.sync_data()?;
    }
    Ok(Figure::new(
        "raw_fsync",
        f64::from(count) / start.elapsed().as_secs_f64(),
        "writes/s",
        None,
    ))
}

/// 50th and 99th percentiles.
pub(super) fn percentiles(samples: &mut [f64]) -> (f64, f64) {
    if samples.is_empty() {
        return (0.0, 0.0);
    }
    samples.sort_by(f64::total_cmp);
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    (at(0.50), at(0.99))
}
