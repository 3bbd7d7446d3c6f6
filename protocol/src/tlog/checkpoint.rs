//! The body of a C2SP [tlog-checkpoint](https://c2sp.org/tlog-checkpoint): the text a log
//! signs to commit to its tree at one size.
//!
//! ```text
//! <origin>
//! <tree size, decimal, no leading zeroes>
//! <root hash, standard base64>
//! [extension lines…]
//! ```
//!
//! Every line ends in a newline and none is empty. Parsing is strict and gives each
//! accepted value exactly one text (the size's and the hash's encodings are canonical), so
//! two parties that agree on a checkpoint agree on the bytes that were signed. Errors name
//! the line that was wrong.

use std::fmt;

use super::{HASH_LEN, Hash};

/// A log's tree head as it signs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's identity, by convention a schema-less URL (`lienthong/000.00.00.G22`).
    pub origin: String,
    /// The number of leaves.
    pub size: u64,
    /// The root hash of the tree of `size` leaves.
    pub root: Hash,
    /// Opaque extension lines, without their newlines. The C2SP format discourages them,
    /// since monitors cannot audit them; lienthong writes none but keeps what it reads.
    pub extensions: Vec<String>,
}

/// A line of a checkpoint, for errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckpointLine {
    /// Line 1.
    Origin,
    /// Line 2.
    Size,
    /// Line 3.
    RootHash,
    /// The extension line at this position, counting from 1 (line `3 + n` of the text).
    Extension(usize),
}

impl fmt::Display for CheckpointLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CheckpointLine::Origin => f.write_str("origin line (line 1)"),
            CheckpointLine::Size => f.write_str("tree size line (line 2)"),
            CheckpointLine::RootHash => f.write_str("root hash line (line 3)"),
            CheckpointLine::Extension(n) => write!(f, "extension line {n} (line {})", 3 + n),
        }
    }
}

/// Why text is not a checkpoint, or a checkpoint cannot be written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CheckpointError {
    /// The text does not end in a newline (it was cut short, or is not a checkpoint).
    #[error("checkpoint does not end in a newline")]
    MissingFinalNewline,
    /// The text ends before this line.
    #[error("checkpoint has no {0}")]
    MissingLine(CheckpointLine),
    /// This line is empty.
    #[error("checkpoint {0} is empty")]
    EmptyLine(CheckpointLine),
    /// This line holds a control character (a carriage return, a tab, …).
    #[error("checkpoint {0} contains a control character")]
    ControlCharacter(CheckpointLine),
    /// The size line is not a decimal number without leading zeroes that fits in 64 bits.
    #[error("checkpoint {line} {text:?} is not a decimal number without leading zeroes")]
    Size {
        /// Always [`CheckpointLine::Size`], so the message names it.
        line: CheckpointLine,
        /// The line as found.
        text: String,
    },
    /// The root hash line is not canonical standard base64 (with padding).
    #[error("checkpoint {0} is not standard base64")]
    RootBase64(CheckpointLine),
    /// The root hash line decodes to the wrong number of bytes.
    #[error("checkpoint {line} decodes to {len} bytes, not {HASH_LEN}")]
    RootLength {
        /// Always [`CheckpointLine::RootHash`].
        line: CheckpointLine,
        /// The number of bytes decoded.
        len: usize,
    },
}

impl Checkpoint {
    /// A checkpoint with no extension lines.
    pub fn new(origin: impl Into<String>, size: u64, root: Hash) -> Self {
        Checkpoint {
            origin: origin.into(),
            size,
            root,
            extensions: Vec::new(),
        }
    }

    /// Reads a checkpoint body (a note's text, without signatures).
    ///
    /// # Errors
    /// A [`CheckpointError`] naming the first line that is wrong.
    pub fn parse(text: &str) -> Result<Self, CheckpointError> {
        let body = text
            .strip_suffix('\n')
            .ok_or(CheckpointError::MissingFinalNewline)?;
        let mut lines = body.split('\n');
        let mut next = |line| -> Result<&str, CheckpointError> {
            let text = lines.next().ok_or(CheckpointError::MissingLine(line))?;
            check_line(text, line)?;
            Ok(text)
        };
        let origin = next(CheckpointLine::Origin)?.to_owned();
        let size = parse_size(next(CheckpointLine::Size)?)?;
        let root = parse_root(next(CheckpointLine::RootHash)?)?;
        let mut extensions = Vec::new();
        for (n, text) in lines.enumerate() {
            let line = CheckpointLine::Extension(n + 1);
            check_line(text, line)?;
            extensions.push(text.to_owned());
        }
        Ok(Checkpoint {
            origin,
            size,
            root,
            extensions,
        })
    }

    /// The checkpoint body, ready to sign.
    ///
    /// # Errors
    /// [`CheckpointError::EmptyLine`] or [`CheckpointError::ControlCharacter`] when the
    /// origin or an extension line could not be read back.
    pub fn render(&self) -> Result<String, CheckpointError> {
        check_line(&self.origin, CheckpointLine::Origin)?;
        for (n, extension) in self.extensions.iter().enumerate() {
            check_line(extension, CheckpointLine::Extension(n + 1))?;
        }
        let mut text = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            base64_simd::STANDARD.encode_to_string(self.root)
        );
        for extension in &self.extensions {
            text.push_str(extension);
            text.push('\n');
        }
        Ok(text)
    }
}

/// Every line is non-empty and free of control characters (the newline is already gone).
fn check_line(text: &str, line: CheckpointLine) -> Result<(), CheckpointError> {
    if text.is_empty() {
        return Err(CheckpointError::EmptyLine(line));
    }
    if text.chars().any(char::is_control) {
        return Err(CheckpointError::ControlCharacter(line));
    }
    Ok(())
}

fn parse_size(text: &str) -> Result<u64, CheckpointError> {
    let error = || CheckpointError::Size {
        line: CheckpointLine::Size,
        text: text.to_owned(),
    };
    // `u64::from_str` alone would take a leading `+` and leading zeroes.
    if !text.bytes().all(|b| b.is_ascii_digit()) || (text.len() > 1 && text.starts_with('0')) {
        return Err(error());
    }
    text.parse().map_err(|_| error())
}

fn parse_root(text: &str) -> Result<Hash, CheckpointError> {
    let line = CheckpointLine::RootHash;
    let bytes = base64_simd::STANDARD
        .decode_to_vec(text)
        .map_err(|_| CheckpointError::RootBase64(line))?;
    let root = Hash::try_from(bytes.as_slice()).map_err(|_| CheckpointError::RootLength {
        line,
        len: bytes.len(),
    })?;
    // Refuse non-zero padding bits, so that each root has one text.
    if base64_simd::STANDARD.encode_to_string(root) != text {
        return Err(CheckpointError::RootBase64(line));
    }
    Ok(root)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// The example in the C2SP specification.
    const SPEC_EXAMPLE: &str =
        "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";

    #[test]
    fn parses_the_specification_example() {
        let checkpoint = Checkpoint::parse(SPEC_EXAMPLE).unwrap();
        assert_eq!(checkpoint.origin, "example.com/behind-the-sofa");
        assert_eq!(checkpoint.size, 20_852_163);
        assert_eq!(checkpoint.root[..3], [0x0a, 0xc5, 0x18]);
        assert!(checkpoint.extensions.is_empty());
        assert_eq!(checkpoint.render().unwrap(), SPEC_EXAMPLE);
    }

    #[test]
    fn keeps_extension_lines() {
        let text = format!("{SPEC_EXAMPLE}ext one\nsecond\n");
        let checkpoint = Checkpoint::parse(&text).unwrap();
        assert_eq!(checkpoint.extensions, ["ext one", "second"]);
        assert_eq!(checkpoint.render().unwrap(), text);
    }

    #[test]
    fn malformed_checkpoints_name_the_line() {
        use CheckpointError as E;
        use CheckpointLine as L;
        let root = "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=";
        let size_error = |text: &str| E::Size {
            line: L::Size,
            text: text.to_owned(),
        };
        let cases: Vec<(String, CheckpointError)> = vec![
            (SPEC_EXAMPLE.trim_end().to_owned(), E::MissingFinalNewline),
            (String::new(), E::MissingFinalNewline),
            ("log\n".into(), E::MissingLine(L::Size)),
            ("log\n5\n".into(), E::MissingLine(L::RootHash)),
            (format!("\n5\n{root}\n"), E::EmptyLine(L::Origin)),
            (format!("log\n\n{root}\n"), E::EmptyLine(L::Size)),
            (format!("log\n5\n{root}\n\n"), E::EmptyLine(L::Extension(1))),
            (
                format!("log\r\n5\n{root}\n"),
                E::ControlCharacter(L::Origin),
            ),
            (
                format!("log\n5\n{root}\nok\nta\tb\n"),
                E::ControlCharacter(L::Extension(2)),
            ),
            (format!("log\nfive\n{root}\n"), size_error("five")),
            (format!("log\n05\n{root}\n"), size_error("05")),
            (format!("log\n+5\n{root}\n"), size_error("+5")),
            (format!("log\n-1\n{root}\n"), size_error("-1")),
            (
                format!("log\n18446744073709551616\n{root}\n"),
                size_error("18446744073709551616"),
            ),
            ("log\n5\nnot base64!\n".into(), E::RootBase64(L::RootHash)),
            (
                "log\n5\nCsUYapGGPo4dkMgIAUqom_Xajj7h2fB2MPA3j2jxq2I=\n".into(),
                E::RootBase64(L::RootHash),
            ),
            (
                "log\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I\n".into(),
                E::RootBase64(L::RootHash),
            ),
            // The last character's low bits are padding and must be zero.
            (
                "log\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2J=\n".into(),
                E::RootBase64(L::RootHash),
            ),
            (
                "log\n5\nAAAA\n".into(),
                E::RootLength {
                    line: L::RootHash,
                    len: 3,
                },
            ),
            (
                format!(
                    "log\n5\n{}\n",
                    base64_simd::STANDARD.encode_to_string([7u8; 33])
                ),
                E::RootLength {
                    line: L::RootHash,
                    len: 33,
                },
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(Checkpoint::parse(&text), Err(expected), "{text:?}");
        }
        assert_eq!(
            E::Size {
                line: L::Size,
                text: "05".into()
            }
            .to_string(),
            "checkpoint tree size line (line 2) \"05\" is not a decimal number without leading zeroes"
        );
    }

    #[test]
    fn render_refuses_lines_it_could_not_read_back() {
        let mut checkpoint = Checkpoint::new("log\nforged", 1, [0; 32]);
        assert_eq!(
            checkpoint.render(),
            Err(CheckpointError::ControlCharacter(CheckpointLine::Origin))
        );
        checkpoint.origin = "log".into();
        checkpoint.extensions.push(String::new());
        assert_eq!(
            checkpoint.render(),
            Err(CheckpointError::EmptyLine(CheckpointLine::Extension(1)))
        );
    }

    proptest! {
        #[test]
        fn parse_render_round_trip(
            origin in "[a-z0-9./+ -]{1,40}",
            size in any::<u64>(),
            root in any::<[u8; 32]>(),
            extensions in proptest::collection::vec("[^\\p{Cc}]{1,20}", 0..3),
        ) {
            let checkpoint = Checkpoint { origin, size, root, extensions };
            let text = checkpoint.render().unwrap();
            prop_assert_eq!(Checkpoint::parse(&text), Ok(checkpoint));
        }
    }
}
