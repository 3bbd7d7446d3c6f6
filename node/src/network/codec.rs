//! The delivery protocol's framing: a `u32` big-endian length, then that many opaque bytes.
//!
//! The codec knows nothing of what the bytes mean; the router decodes and verifies them off
//! the event loop. What it does guard is memory: a length above the limit is refused before
//! anything is allocated, the buffer grows only as bytes actually arrive (a peer that claims
//! 64 MiB and sends nothing costs nothing), and the read is capped with `take()` so a lying
//! length cannot make it read past the frame.

use std::io;

use bytes::Bytes;
use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use libp2p::StreamProtocol;
use libp2p::request_response;
use thiserror::Error;

/// The delivery protocol: one request frame (a package), one response frame (a receipt).
pub const PROTOCOL: StreamProtocol = StreamProtocol::new("/lienthong/deliver/1");

/// The most the reader allocates before data arrives; beyond this the buffer doubles as it fills.
const INITIAL_CAPACITY: usize = 64 * 1024;

/// Why a frame was refused. Carried as the source of an `io::ErrorKind::InvalidData` error,
/// which is what libp2p's request-response reports to both ends.
#[derive(Debug, Error, PartialEq, Eq)]
enum FrameError {
    /// The stream ended before the 4-byte length was complete.
    #[error("stream ended before the frame length")]
    MissingLength,
    /// The length (announced, or of a frame to send) is above the limit.
    #[error("frame of {len} bytes exceeds the {limit}-byte limit")]
    TooLarge {
        /// The frame's length.
        len: usize,
        /// `Options::max_frame_size`, or `u32::MAX` if that is smaller.
        limit: usize,
    },
    /// The stream ended before the announced number of bytes arrived.
    #[error("frame ended after {read} of {len} bytes")]
    Truncated {
        /// Bytes received.
        read: usize,
        /// Bytes announced.
        len: usize,
    },
}

impl From<FrameError> for io::Error {
    fn from(error: FrameError) -> Self {
        io::Error::new(io::ErrorKind::InvalidData, error)
    }
}

/// Length-prefixed byte frames, capped at `max_frame_size` in both directions.
#[derive(Debug, Clone)]
pub(crate) struct Codec {
    /// The effective limit: `Options::max_frame_size`, at most `u32::MAX`.
    max_frame_size: usize,
}

impl Codec {
    pub(crate) fn new(max_frame_size: usize) -> Self {
        let max_frame_size = max_frame_size.min(u32::MAX as usize);
        Self { max_frame_size }
    }
}

impl request_response::Codec for Codec {
    type Protocol = StreamProtocol;
    type Request = Bytes;
    type Response = Bytes;

    async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Bytes>
    where
        T: AsyncRead + Unpin + Send,
    {
        read_frame(io, self.max_frame_size).await
    }

    async fn read_response<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Bytes>
    where
        T: AsyncRead + Unpin + Send,
    {
        read_frame(io, self.max_frame_size).await
    }

    async fn write_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        request: Bytes,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        write_frame(io, &request, self.max_frame_size).await
    }

    async fn write_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        response: Bytes,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        write_frame(io, &response, self.max_frame_size).await
    }
}

/// Reads one frame of at most `limit` bytes.
///
/// # Errors
///
/// `InvalidData` when the length is missing, above `limit`, or the stream ends early; other
/// kinds as the stream reports them.
async fn read_frame<T>(io: &mut T, limit: usize) -> io::Result<Bytes>
where
    T: AsyncRead + Unpin + Send,
{
    let mut header = [0u8; 4];
    io.read_exact(&mut header).await.map_err(|error| {
        if error.kind() == io::ErrorKind::UnexpectedEof {
            FrameError::MissingLength.into()
        } else {
            error
        }
    })?;
    // A u32 always fits a usize on the 32- and 64-bit targets we build for.
    let len = u32::from_be_bytes(header) as usize;
    if len > limit {
        // The peer never learns why (request-response just drops the stream), so say it here.
        tracing::warn!(len, limit, "refusing an oversized frame");
        return Err(FrameError::TooLarge { len, limit }.into());
    }
    // Not `read_to_end`: futures' version zero-fills its spare capacity byte by byte through
    // an iterator on every refill, which made a 20 MB frame take seconds in debug builds.
    // Here the buffer doubles (capped at `len`) only when full, and `take` is the hard cap.
    let mut body = io.take(len as u64);
    let mut buf = Vec::new();
    let mut read = 0;
    while read < len {
        if read == buf.len() {
            let grown = (buf.len() * 2).max(INITIAL_CAPACITY).min(len);
            buf.resize(grown, 0);
        }
        match body.read(&mut buf[read..]).await {
            Ok(0) => return Err(FrameError::Truncated { read, len }.into()),
            Ok(n) => read += n,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(Bytes::from(buf))
}

/// Writes one frame, refusing before writing anything if it is above `limit`, so the sender
/// learns at once that a peer with the same limit would refuse it.
///
/// # Errors
///
/// `InvalidData` when the frame is above `limit`; other kinds as the stream reports them.
async fn write_frame<T>(io: &mut T, frame: &[u8], limit: usize) -> io::Result<()>
where
    T: AsyncWrite + Unpin + Send,
{
    let len = frame_len(frame.len(), limit)?;
    io.write_all(&len.to_be_bytes()).await?;
    io.write_all(frame).await?;
    io.flush().await
}

/// The length field for a frame of `len` bytes.
///
/// # Errors
///
/// `InvalidData` naming both numbers when `len` is above `limit` (or does not fit a `u32`).
pub(crate) fn frame_len(len: usize, limit: usize) -> io::Result<u32> {
    match u32::try_from(len) {
        Ok(field) if len <= limit => Ok(field),
        _ => Err(FrameError::TooLarge { len, limit }.into()),
    }
}

#[cfg(test)]
mod tests {
    use futures::io::Cursor;

    use super::*;

    fn framed(len: u32, body: &[u8]) -> Cursor<Vec<u8>> {
        let mut bytes = len.to_be_bytes().to_vec();
        bytes.extend_from_slice(body);
        Cursor::new(bytes)
    }

    fn frame_error(error: &io::Error) -> Option<&FrameError> {
        error.get_ref().and_then(|inner| inner.downcast_ref())
    }

    #[tokio::test]
    async fn round_trips_a_frame() {
        let mut out = Cursor::new(Vec::new());
        write_frame(&mut out, b"hello", 16).await.unwrap();
        assert_eq!(out.get_ref()[..4], 5u32.to_be_bytes());
        out.set_position(0);
        assert_eq!(
            read_frame(&mut out, 16).await.unwrap(),
            Bytes::from_static(b"hello")
        );
    }

    #[tokio::test]
    async fn round_trips_a_frame_larger_than_the_initial_buffer() {
        let frame: Vec<u8> = (0..5 * INITIAL_CAPACITY + 7).map(|i| i as u8).collect();
        let mut out = Cursor::new(Vec::new());
        write_frame(&mut out, &frame, frame.len()).await.unwrap();
        out.set_position(0);
        assert_eq!(read_frame(&mut out, frame.len()).await.unwrap(), frame);
    }

    #[tokio::test]
    async fn round_trips_an_empty_frame() {
        let mut out = Cursor::new(Vec::new());
        write_frame(&mut out, b"", 16).await.unwrap();
        out.set_position(0);
        assert!(read_frame(&mut out, 16).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn refuses_an_announced_length_above_the_limit() {
        // No body at all: the refusal must come from the header alone.
        let mut input = framed(70_000_000, b"");
        let error = read_frame(&mut input, DEFAULT_LIMIT).await.unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidData);
        assert_eq!(
            error.to_string(),
            "frame of 70000000 bytes exceeds the 67174400-byte limit"
        );
        assert_eq!(input.position(), 4, "nothing past the header is read");
    }

    const DEFAULT_LIMIT: usize = super::super::options::DEFAULT_MAX_FRAME_SIZE;

    #[tokio::test]
    async fn accepts_a_frame_of_exactly_the_limit() {
        let mut input = framed(8, b"12345678");
        assert_eq!(read_frame(&mut input, 8).await.unwrap().len(), 8);
    }

    #[tokio::test]
    async fn refuses_a_truncated_frame() {
        let mut input = framed(100, b"only ten b");
        let error = read_frame(&mut input, 1024).await.unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidData);
        assert_eq!(
            frame_error(&error),
            Some(&FrameError::Truncated { read: 10, len: 100 })
        );
    }

    #[tokio::test]
    async fn refuses_a_missing_length() {
        let mut input = Cursor::new(vec![0u8, 0]);
        let error = read_frame(&mut input, 1024).await.unwrap_err();
        assert_eq!(frame_error(&error), Some(&FrameError::MissingLength));
    }

    #[tokio::test]
    async fn reads_no_further_than_the_announced_length() {
        let mut input = framed(3, b"abcdef");
        assert_eq!(
            read_frame(&mut input, 1024).await.unwrap(),
            Bytes::from_static(b"abc")
        );
        assert_eq!(input.position(), 7);
    }

    #[tokio::test]
    async fn writer_refuses_a_frame_above_the_limit_before_writing() {
        let mut out = Cursor::new(Vec::new());
        let error = write_frame(&mut out, &[0; 17], 16).await.unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidData);
        assert_eq!(
            error.to_string(),
            "frame of 17 bytes exceeds the 16-byte limit"
        );
        assert!(out.get_ref().is_empty());
    }

    #[test]
    fn limit_is_capped_at_the_length_field() {
        assert_eq!(Codec::new(usize::MAX).max_frame_size, u32::MAX as usize);
    }
}
