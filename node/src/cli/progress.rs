//! Progress on the terminal for long uploads and downloads.
//!
//! A package with scanned attachments can be tens of megabytes, and on a provincial WAN
//! sending or fetching it takes long enough that an operator wonders whether the command
//! hangs. So `lienthong send` and `lienthong fetch` show bytes done, the total and the rate
//! on standard error, but only when it is a terminal and the transfer is large: scripts
//! and QLVB integrations that pipe the output, or ask for `--json`, see nothing.

use std::io::{IsTerminal as _, Read};

use indicatif::{ProgressBar, ProgressBarIter, ProgressDrawTarget, ProgressStyle};

/// Transfers smaller than this are over before a bar would help.
const SHOWN_FROM: u64 = 4 << 20;

/// The bar's layout: what, bytes done of the total, rate, time left.
const TEMPLATE: &str = "{msg} {bytes}/{total_bytes} {wide_bar} {binary_bytes_per_sec} {eta}";

/// The progress of one transfer; hidden when there is nothing worth showing.
#[derive(Debug)]
pub(crate) struct Progress {
    bar: ProgressBar,
}

impl Progress {
    /// Progress of a transfer of `total` bytes (when known), drawn on standard error if
    /// [`shown`] says so. `quiet` is for `--json` and the like.
    pub(crate) fn for_transfer(what: &'static str, total: Option<u64>, quiet: bool) -> Progress {
        let target = if shown(total, quiet, std::io::stderr().is_terminal()) {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        Progress::to(target, what, total)
    }

    /// Progress drawn on `target`.
    fn to(target: ProgressDrawTarget, what: &'static str, total: Option<u64>) -> Progress {
        let style =
            ProgressStyle::with_template(TEMPLATE).unwrap_or_else(|_| ProgressStyle::default_bar());
        let bar = ProgressBar::with_draw_target(total, target)
            .with_style(style)
            .with_message(what);
        Progress { bar }
    }

    /// `reader`, counting what is read through it.
    pub(crate) fn wrap<R: Read>(&self, reader: R) -> ProgressBarIter<R> {
        self.bar.wrap_read(reader)
    }

    /// Takes the bar off the terminal, so that the command's own output starts on a clean
    /// line.
    pub(crate) fn finish(&self) {
        self.bar.finish_and_clear();
    }

    /// Bytes read so far.
    #[cfg(test)]
    fn done(&self) -> u64 {
        self.bar.position()
    }
}

/// Whether to draw progress: on a terminal, not asked to be quiet, and a transfer large
/// enough (or of unknown size, which may be anything).
fn shown(total: Option<u64>, quiet: bool, terminal: bool) -> bool {
    terminal && !quiet && total.is_none_or(|total| total >= SHOWN_FROM)
}

#[cfg(test)]
mod tests {
    use std::io::{self, Write as _};
    use std::sync::{Arc, Mutex};

    use indicatif::TermLike;

    use super::*;

    /// A terminal that keeps what is drawn on it.
    #[derive(Debug, Clone, Default)]
    struct Screen(Arc<Mutex<String>>);

    impl Screen {
        fn text(&self) -> String {
            self.0.lock().expect("screen").clone()
        }
    }

    impl TermLike for Screen {
        fn width(&self) -> u16 {
            100
        }
        fn move_cursor_up(&self, _: usize) -> io::Result<()> {
            Ok(())
        }
        fn move_cursor_down(&self, _: usize) -> io::Result<()> {
            Ok(())
        }
        fn move_cursor_right(&self, _: usize) -> io::Result<()> {
            Ok(())
        }
        fn move_cursor_left(&self, _: usize) -> io::Result<()> {
            Ok(())
        }
        fn write_line(&self, s: &str) -> io::Result<()> {
            self.write_str(&format!("{s}\n"))
        }
        fn write_str(&self, s: &str) -> io::Result<()> {
            self.0.lock().expect("screen").push_str(s);
            Ok(())
        }
        fn clear_line(&self) -> io::Result<()> {
            Ok(())
        }
        fn flush(&self) -> io::Result<()> {
            Ok(())
        }
    }

    /// A file of `len` bytes.
    fn file(len: usize) -> (tempfile::NamedTempFile, u64) {
        let mut file = tempfile::NamedTempFile::new().expect("temp file");
        file.write_all(&vec![b'x'; len]).expect("write");
        file.flush().expect("flush");
        let size = file.as_file().metadata().expect("metadata").len();
        (file, size)
    }

    #[test]
    fn every_byte_read_is_counted() {
        let (file, size) = file(5 << 20);
        let progress = Progress::to(ProgressDrawTarget::hidden(), "sending", Some(size));
        let mut read = Vec::new();
        progress
            .wrap(std::fs::File::open(file.path()).expect("open"))
            .read_to_end(&mut read)
            .expect("read");
        progress.finish();
        assert_eq!(progress.done(), size);
        assert_eq!(read.len() as u64, size);
    }

    #[test]
    fn nothing_is_drawn_when_not_on_a_terminal_or_asked_for_json() {
        let large = Some(SHOWN_FROM * 4);
        assert!(!shown(large, false, false), "piped");
        assert!(!shown(large, true, true), "--json");
        assert!(!shown(Some(1024), false, true), "small");
        assert!(shown(large, false, true));
        assert!(shown(None, false, true), "unknown size");
        let progress = Progress::for_transfer("sending", large, true);
        assert!(progress.bar.is_hidden());
    }

    #[test]
    fn a_terminal_sees_bytes_done_and_the_total() {
        let (file, size) = file(SHOWN_FROM as usize);
        let screen = Screen::default();
        let progress = Progress::to(
            ProgressDrawTarget::term_like(Box::new(screen.clone())),
            "receiving",
            Some(size),
        );
        io::copy(
            &mut progress.wrap(std::fs::File::open(file.path()).expect("open")),
            &mut io::sink(),
        )
        .expect("copy");
        // Draws the final state, which `finish` then clears.
        progress.bar.finish();
        let text = screen.text();
        assert!(text.contains("receiving"), "{text}");
        assert!(text.contains("4.00 MiB/4.00 MiB"), "{text}");
    }
}
