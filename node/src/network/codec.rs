//! The delivery protocol's framing: a `u32` big-endian length, then that many opaque bytes.
//!
//! The codec knows nothing of what the bytes mean; the router decodes and verifies them off
//! the event loop. What it does guard is memory: a length above the limit is refused before
//! anything is allocated, the buffer grows only as bytes actually arrive (a peer that claims
//! 64 MiB and sends nothing costs nothing), and the read is capped with `take()` so a lying
//! length cannot make it read past the frame.
//!
//! # Refused requests reach the event loop
//!
//! A request frame the codec refuses is not an error of `read_request` but a
//! [`RequestFrame::Refused`]. request-response (0.30) reports a failed `read_request` to no
//! one (the request was never registered, so the behaviour only writes a debug line without
//! the peer), yet the node needs to know *which* peer sent an oversized frame in order to
//! block it. Handing the refusal up as a request gives the event loop the peer id; the loop
//! then drops the response channel, which closes the stream as the error did before.
//!
//! Refusing our own outgoing frame is `InvalidInput` (our input is wrong), reading a bad
//! frame is `InvalidData` (theirs is): the two never mix.

use std::io;

use bytes::Bytes;
use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use libp2p::StreamProtocol;
use libp2p::request_response;
use thiserror::Error;

/// The delivery protocol: one request frame (a package), one response frame (a receipt).
pub const PROTOCOL: StreamProtocol = StreamProtocol::new("/lienthong/deliver/1");

/// The most the reader allocates before data arrives; once that much has, it allocates the
/// frame's whole length.
const INITIAL_CAPACITY: usize = 64 * 1024;

/// Why a frame was refused. A refused response is the source of an `InvalidData` error; a
/// refused request is handed up as [`RequestFrame::Refused`].
#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub(crate) enum FrameError {
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

impl FrameError {
    /// Whether only a misbehaving (or misconfigured) peer can cause this: an announced length
    /// above the limit.
    ///
    /// A frame that ends early is not: yamux reads a reset stream and a lost connection as a
    /// plain end of stream, so an honest peer whose upload timed out, or whose link dropped
    /// halfway through a 60 MiB package, looks exactly like one that truncates on purpose.
    /// Truncation also costs the reader nothing (the buffer grows only as bytes arrive).
    pub(crate) fn is_violation(&self) -> bool {
        matches!(self, Self::TooLarge { .. })
    }

    /// As the error of reading a peer's frame: `InvalidData`.
    fn into_read_error(self) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, self)
    }

    /// As the error of refusing our own frame before sending it: `InvalidInput`.
    fn into_write_error(self) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidInput, self)
    }
}

/// A request frame: the codec's `Request` type, both ways.
#[derive(Debug, Clone)]
pub(crate) enum RequestFrame {
    /// A well-formed frame (sent, or received).
    Data(Bytes),
    /// A frame from the peer that the codec refused, and why; never sent. The rest of the
    /// stream is left unread.
    Refused(FrameError),
}

/// Length-prefixed byte frames, capped at `max_frame_size` in both directions.
#[derive(Debug, Clone)]
pub(crate) struct Codec {
    /// The effective limit: `Options::max_frame_size`, at most `u32::MAX`.
    max_frame_size: usize,
    counters: std::sync::Arc<super::WireCounters>,
}

impl Codec {
    #[cfg(test)]
    pub(crate) fn new(max_frame_size: usize) -> Self {
        Self::counted(max_frame_size, Default::default())
    }

    pub(crate) fn counted(
        max_frame_size: usize,
        counters: std::sync::Arc<super::WireCounters>,
    ) -> Self {
        let max_frame_size = max_frame_size.min(u32::MAX as usize);
        Self {
            max_frame_size,
            counters,
        }
    }

    fn count(&self) {
        self.counters
            .frames_sent
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
}

impl request_response::Codec for Codec {
    type Protocol = StreamProtocol;
    type Request = RequestFrame;
    type Response = Bytes;

    async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<RequestFrame>
    where
        T: AsyncRead + Unpin + Send,
    {
        Ok(match read_frame(io, self.max_frame_size).await? {
            Ok(frame) => RequestFrame::Data(frame),
            Err(refused) => RequestFrame::Refused(refused),
        })
    }

    async fn read_response<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Bytes>
    where
        T: AsyncRead + Unpin + Send,
    {
        read_frame(io, self.max_frame_size)
            .await?
            .map_err(FrameError::into_read_error)
    }

    async fn write_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        request: RequestFrame,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        match request {
            RequestFrame::Data(frame) => {
                self.count();
                write_frame(io, &frame, self.max_frame_size).await
            }
            // Only `read_request` makes these, and the event loop never sends one back.
            RequestFrame::Refused(refused) => Err(refused.into_write_error()),
        }
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
        self.count();
        write_frame(io, &response, self.max_frame_size).await
    }
}

/// Reads one frame of at most `limit` bytes: the frame, or why the peer's frame is refused.
///
/// # Errors
///
/// The outer error is the stream failing (as the stream reports it); the inner one is a frame
/// the peer got wrong: the length missing or above `limit`, or the stream ending early.
async fn read_frame<T>(io: &mut T, limit: usize) -> io::Result<Result<Bytes, FrameError>>
where
    T: AsyncRead + Unpin + Send,
{
    let mut header = [0u8; 4];
    match io.read_exact(&mut header).await {
        Ok(()) => {}
        Err(error) if error.kind() == io::ErrorKind::UnexpectedEof => {
            return Ok(Err(FrameError::MissingLength));
        }
        Err(error) => return Err(error),
    }
    // A u32 always fits a usize on the 32- and 64-bit targets we build for.
    let len = u32::from_be_bytes(header) as usize;
    if len > limit {
        // The peer never learns why (the stream just closes), so say it here.
        tracing::warn!(len, limit, "refusing an oversized frame");
        return Ok(Err(FrameError::TooLarge { len, limit }));
    }
    // Not `read_to_end`: futures' version zero-fills its spare capacity byte by byte through
    // an iterator on every refill, which made a 20 MB frame take seconds in debug builds.
    // The first buffer is small, so a length alone reserves nothing; once it is full the
    // peer is really sending, and the buffer becomes the whole length in one allocation.
    // That one comes zeroed from the allocator (fresh pages, not written until data lands
    // in them), where growing by doubling zero-filled and copied each step: profiled on a
    // 27 MB attachment, those page faults and copies were a sixth of the recipient's CPU.
    // `take` is the hard cap.
    let mut body = io.take(len as u64);
    let mut buf = vec![0u8; len.min(INITIAL_CAPACITY)];
    let mut read = 0;
    while read < len {
        if read == buf.len() {
            let mut whole = vec![0u8; len];
            whole[..read].copy_from_slice(&buf);
            buf = whole;
        }
        match body.read(&mut buf[read..]).await {
            Ok(0) => return Ok(Err(FrameError::Truncated { read, len })),
            Ok(n) => read += n,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(Ok(Bytes::from(buf)))
}

/// Writes one frame, refusing before writing anything if it is above `limit`, so the sender
/// learns at once that a peer with the same limit would refuse it.
///
/// # Errors
///
/// `InvalidInput` when the frame is above `limit`; other kinds as the stream reports them.
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
/// `InvalidInput` naming both numbers when `len` is above `limit` (or does not fit a `u32`).
pub(crate) fn frame_len(len: usize, limit: usize) -> io::Result<u32> {
    match u32::try_from(len) {
        Ok(field) if len <= limit => Ok(field),
        _ => Err(FrameError::TooLarge { len, limit }.into_write_error()),
    }
}

#[cfg(test)]
mod tests {
    use futures::io::Cursor;
    use request_response::Codec as _;

    use super::*;

    const DEFAULT_LIMIT: usize = super::super::options::DEFAULT_MAX_FRAME_SIZE;

    fn framed(len: u32, body: &[u8]) -> Cursor<Vec<u8>> {
        let mut bytes = len.to_be_bytes().to_vec();
        bytes.extend_from_slice(body);
        Cursor::new(bytes)
    }

    /// Reads one frame from a stream that does not fail.
    async fn read(input: &mut Cursor<Vec<u8>>, limit: usize) -> Result<Bytes, FrameError> {
        read_frame(input, limit)
            .await
            .expect("a cursor does not fail")
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
        assert_eq!(read(&mut out, 16).await, Ok(Bytes::from_static(b"hello")));
    }

    #[tokio::test]
    async fn round_trips_a_frame_larger_than_the_initial_buffer() {
        let frame: Vec<u8> = (0..5 * INITIAL_CAPACITY + 7).map(|i| i as u8).collect();
        let mut out = Cursor::new(Vec::new());
        write_frame(&mut out, &frame, frame.len()).await.unwrap();
        out.set_position(0);
        assert_eq!(read(&mut out, frame.len()).await, Ok(Bytes::from(frame)));
    }

    #[tokio::test]
    async fn round_trips_an_empty_frame() {
        let mut out = Cursor::new(Vec::new());
        write_frame(&mut out, b"", 16).await.unwrap();
        out.set_position(0);
        assert_eq!(read(&mut out, 16).await, Ok(Bytes::new()));
    }

    #[tokio::test]
    async fn refuses_an_announced_length_above_the_limit() {
        // No body at all: the refusal must come from the header alone.
        let mut input = framed(70_000_000, b"");
        let refused = read(&mut input, DEFAULT_LIMIT).await.unwrap_err();
        assert_eq!(
            refused.to_string(),
            "frame of 70000000 bytes exceeds the 67174400-byte limit"
        );
        assert!(refused.is_violation());
        assert_eq!(input.position(), 4, "nothing past the header is read");
    }

    #[tokio::test]
    async fn accepts_a_frame_of_exactly_the_limit() {
        let mut input = framed(8, b"12345678");
        assert_eq!(read(&mut input, 8).await.map(|frame| frame.len()), Ok(8));
    }

    #[tokio::test]
    async fn refuses_a_truncated_frame_without_calling_it_a_violation() {
        let mut input = framed(100, b"only ten b");
        let refused = read(&mut input, 1024).await.unwrap_err();
        assert_eq!(refused, FrameError::Truncated { read: 10, len: 100 });
        assert!(!refused.is_violation(), "a dropped link looks the same");
    }

    #[tokio::test]
    async fn refuses_a_missing_length() {
        let mut input = Cursor::new(vec![0u8, 0]);
        let refused = read(&mut input, 1024).await.unwrap_err();
        assert_eq!(refused, FrameError::MissingLength);
        assert!(!refused.is_violation());
    }

    #[tokio::test]
    async fn reads_no_further_than_the_announced_length() {
        let mut input = framed(3, b"abcdef");
        assert_eq!(read(&mut input, 1024).await, Ok(Bytes::from_static(b"abc")));
        assert_eq!(input.position(), 7);
    }

    #[tokio::test]
    async fn a_refused_request_is_handed_up_and_a_refused_response_is_invalid_data() {
        let mut codec = Codec::new(16);
        let request = codec
            .read_request(&PROTOCOL, &mut framed(17, b""))
            .await
            .expect("a refusal is not a stream error");
        assert!(
            matches!(&request, RequestFrame::Refused(refused) if refused.is_violation()),
            "{request:?}"
        );

        let error = codec
            .read_response(&PROTOCOL, &mut framed(17, b""))
            .await
            .unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidData);
        assert_eq!(
            frame_error(&error),
            Some(&FrameError::TooLarge { len: 17, limit: 16 })
        );
    }

    #[tokio::test]
    async fn writer_refuses_a_frame_above_the_limit_before_writing() {
        let mut out = Cursor::new(Vec::new());
        let error = write_frame(&mut out, &[0; 17], 16).await.unwrap_err();
        assert_eq!(
            error.kind(),
            io::ErrorKind::InvalidInput,
            "our own frame, not the peer's"
        );
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
