//! Agency electronic identifiers (mã định danh điện tử, QĐ 20/2020/QĐ-TTg).
//!
//! The regular form is `DDD.CC.BB.Ann`: four dot-separated groups, most specific first. `Ann`
//! is the level-1 body (a letter A–K and two digits, e.g. `G22` for the Government Office,
//! `H53` for the People's Committee of Tây Ninh), `BB` and `CC` are levels 2 and 3, `DDD` is
//! level 4; all-zero groups mean "level not used".
//!
//! Real traffic also carries ids that do not follow that form (`28.22.H17`, `vxp.saas.03`,
//! `14.00.W00`), and the 2025 reform may change the widths. So [`OrganId`] keeps any id that is
//! plausible as an identifier and says, through [`OrganId::form`], whether it is regular.
//! Nothing here panics on any input.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Longest identifier accepted. Regular ids are 13 characters; the reference notes ids up
/// to about 35 in the agency directories, so 64 leaves room without letting garbage in.
pub const MAX_ORGAN_ID_LEN: usize = 64;

/// An agency identifier as it appears in edXML `OrganId` elements and in the roster.
///
/// Equality is on the exact text: `000.00.00.G22` and `000.00.00.g22` are different ids,
/// because the axis and the agency directories compare them that way.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OrganId(String);

/// Why a string is not an agency identifier at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OrganIdError {
    /// The id is empty (or only whitespace).
    #[error("agency id is empty")]
    Empty,
    /// The id is longer than [`MAX_ORGAN_ID_LEN`].
    #[error("agency id is {len} bytes long, longer than the {max} allowed")]
    TooLong {
        /// Length of the rejected id in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The id contains a character that no identifier scheme uses (whitespace, control,
    /// markup or path characters).
    #[error("agency id contains the character {found:?}, which identifiers never contain")]
    BadCharacter {
        /// The offending character.
        found: char,
    },
}

/// Whether an id follows the `DDD.CC.BB.Ann` form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrganIdForm {
    /// `DDD.CC.BB.Ann` with a level-1 letter between A and K.
    Regular,
    /// Anything else that is still a usable identifier.
    Irregular(Irregularity),
}

/// What makes an id irregular; shown to operators so they can fix their directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Irregularity {
    /// Not four dot-separated groups.
    GroupCount(usize),
    /// A numeric group does not have the expected width or is not all digits.
    LowerLevel,
    /// The last group is not a letter followed by two digits.
    LevelOneShape,
    /// The level-1 letter is outside A–K (e.g. `W00`, used for test units).
    LevelOneLetter(char),
}

impl fmt::Display for Irregularity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Irregularity::GroupCount(n) => write!(f, "{n} groups instead of 4 (DDD.CC.BB.Ann)"),
            Irregularity::LowerLevel => f.write_str("levels 2-4 are not DDD.CC.BB digits"),
            Irregularity::LevelOneShape => {
                f.write_str("the level-1 group is not a letter and two digits")
            }
            Irregularity::LevelOneLetter(c) => write!(f, "level-1 letter {c} is outside A-K"),
        }
    }
}

/// The level-1 body an agency belongs to, e.g. `H53` (a province) or `G22` (a ministry-level
/// body). Provincial authorities are delegated per level-1 code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LevelOne {
    /// `A`–`K` for regular ids; other letters appear in irregular ones.
    pub letter: char,
    /// `0`–`99`.
    pub number: u8,
}

impl LevelOne {
    /// The kind of body the letter stands for (QĐ 20/2020, Art. 4).
    pub fn category(&self) -> Option<&'static str> {
        Some(match self.letter {
            'A' => "party bodies",
            'B' => "office of the president",
            'C' => "national assembly bodies",
            'D' => "supreme people's court",
            'E' => "supreme people's procuracy",
            'F' => "state audit",
            'G' => "ministries and government bodies",
            'H' => "provincial people's committees",
            'I' => "central socio-political organisations",
            'J' => "central social organisations",
            'K' => "provincial people's councils",
            _ => return None,
        })
    }
}

impl fmt::Display for LevelOne {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{:02}", self.letter, self.number)
    }
}

/// A level-1 code that is not a letter and two digits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a level-1 code (a capital letter and two digits, e.g. H53)")]
pub struct LevelOneError(pub String);

impl FromStr for LevelOne {
    type Err = LevelOneError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let text = s.trim();
        // Delegations are written as `*.H53` too.
        let text = text.strip_prefix("*.").unwrap_or(text);
        parse_level_one(text).ok_or_else(|| LevelOneError(s.to_owned()))
    }
}

impl Serialize for LevelOne {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for LevelOne {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl OrganId {
    /// Parses and keeps an identifier. Surrounding whitespace is removed; anything else that
    /// could not be an identifier is an error.
    ///
    /// # Errors
    /// [`OrganIdError`] when the text is empty, too long or holds a forbidden character.
    pub fn parse(text: &str) -> Result<Self, OrganIdError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(OrganIdError::Empty);
        }
        if text.len() > MAX_ORGAN_ID_LEN {
            return Err(OrganIdError::TooLong {
                len: text.len(),
                max: MAX_ORGAN_ID_LEN,
            });
        }
        if let Some(found) = text.chars().find(|c| is_forbidden(*c)) {
            return Err(OrganIdError::BadCharacter { found });
        }
        Ok(OrganId(text.to_owned()))
    }

    /// A value that is never shown or compared: readers build a struct field by field and
    /// replace this before returning it.
    pub(crate) fn placeholder() -> Self {
        OrganId(String::new())
    }

    /// The identifier text, exactly as kept.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether the id is regular, and if not, why.
    pub fn form(&self) -> OrganIdForm {
        let groups: Vec<&str> = self.0.split('.').collect();
        if groups.len() != 4 {
            return OrganIdForm::Irregular(Irregularity::GroupCount(groups.len()));
        }
        let Some(level_one) = parse_level_one(groups[3]) else {
            return OrganIdForm::Irregular(Irregularity::LevelOneShape);
        };
        let widths_ok = [(groups[0], 3), (groups[1], 2), (groups[2], 2)]
            .iter()
            .all(|(g, w)| g.len() == *w && g.bytes().all(|b| b.is_ascii_digit()));
        if !widths_ok {
            return OrganIdForm::Irregular(Irregularity::LowerLevel);
        }
        if !('A'..='K').contains(&level_one.letter) {
            return OrganIdForm::Irregular(Irregularity::LevelOneLetter(level_one.letter));
        }
        OrganIdForm::Regular
    }

    /// `true` for the `DDD.CC.BB.Ann` form.
    pub fn is_regular(&self) -> bool {
        self.form() == OrganIdForm::Regular
    }

    /// The level-1 code: the last group when it is a letter and two digits. Irregular ids
    /// such as `28.22.H17` still name their level-1 body this way.
    pub fn level_one(&self) -> Option<LevelOne> {
        self.0.rsplit('.').next().and_then(parse_level_one)
    }

    /// Level 2 (the `BB` group), `None` when not used (`00`) or the id is irregular.
    pub fn level_two(&self) -> Option<u8> {
        self.regular_group(2).and_then(|n| u8::try_from(n).ok())
    }

    /// Level 3 (the `CC` group), `None` when not used (`00`) or the id is irregular.
    pub fn level_three(&self) -> Option<u8> {
        self.regular_group(1).and_then(|n| u8::try_from(n).ok())
    }

    /// Level 4 (the `DDD` group), `None` when not used (`000`) or the id is irregular.
    pub fn level_four(&self) -> Option<u16> {
        self.regular_group(0)
    }

    /// The parent in the hierarchy: the same id with its most specific used level zeroed.
    /// `000.00.11.H53` → `000.00.00.H53`; a level-1 id or an irregular one has no parent.
    pub fn parent(&self) -> Option<OrganId> {
        if !self.is_regular() {
            return None;
        }
        let mut groups: Vec<String> = self.0.split('.').map(str::to_owned).collect();
        let first_used = (0..3).find(|i| groups[*i].bytes().any(|b| b != b'0'))?;
        groups[first_used] = "0".repeat(groups[first_used].len());
        Some(OrganId(groups.join(".")))
    }

    /// Whether `self` lies under the level-1 body `level_one` (used for delegations such as
    /// "`*.H53` is admitted by Tây Ninh's authority").
    pub fn is_under(&self, level_one: LevelOne) -> bool {
        self.level_one() == Some(level_one)
    }

    fn regular_group(&self, index: usize) -> Option<u16> {
        if !self.is_regular() {
            return None;
        }
        let value: u16 = self.0.split('.').nth(index)?.parse().ok()?;
        (value != 0).then_some(value)
    }
}

fn parse_level_one(group: &str) -> Option<LevelOne> {
    let bytes = group.as_bytes();
    if bytes.len() != 3 || !bytes[0].is_ascii_uppercase() {
        return None;
    }
    if !bytes[1].is_ascii_digit() || !bytes[2].is_ascii_digit() {
        return None;
    }
    Some(LevelOne {
        letter: char::from(bytes[0]),
        number: (bytes[1] - b'0') * 10 + (bytes[2] - b'0'),
    })
}

fn is_forbidden(c: char) -> bool {
    c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | '&' | '"' | '\'' | '/' | '\\')
}

impl fmt::Display for OrganId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for OrganId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OrganId({})", self.0)
    }
}

impl FromStr for OrganId {
    type Err = OrganIdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        OrganId::parse(s)
    }
}

impl AsRef<str> for OrganId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Serialize for OrganId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for OrganId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        OrganId::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> OrganId {
        OrganId::parse(s).expect("valid id")
    }

    #[test]
    fn regular_id_exposes_every_level() {
        let sở = id("001.02.11.H53");
        assert!(sở.is_regular());
        assert_eq!(
            sở.level_one(),
            Some(LevelOne {
                letter: 'H',
                number: 53
            })
        );
        assert_eq!(sở.level_two(), Some(11));
        assert_eq!(sở.level_three(), Some(2));
        assert_eq!(sở.level_four(), Some(1));
        assert_eq!(
            sở.level_one().map(|l| l.to_string()).as_deref(),
            Some("H53")
        );
    }

    #[test]
    fn unused_levels_are_none() {
        let vpcp = id("000.00.00.G22");
        assert!(vpcp.is_regular());
        assert_eq!(vpcp.level_two(), None);
        assert_eq!(vpcp.level_three(), None);
        assert_eq!(vpcp.level_four(), None);
        assert_eq!(vpcp.parent(), None);
        assert_eq!(
            vpcp.level_one().and_then(|l| l.category()),
            Some("ministries and government bodies")
        );
    }

    #[test]
    fn parent_zeroes_the_most_specific_level() {
        assert_eq!(id("000.00.11.H53").parent(), Some(id("000.00.00.H53")));
        assert_eq!(id("001.02.11.H53").parent(), Some(id("000.02.11.H53")));
    }

    #[test]
    fn irregular_ids_are_kept_and_explained() {
        let short = id("28.22.H17");
        assert_eq!(
            short.form(),
            OrganIdForm::Irregular(Irregularity::GroupCount(3))
        );
        assert_eq!(short.level_one().map(|l| l.number), Some(17));
        assert_eq!(short.level_two(), None);

        let saas = id("vxp.saas.03");
        assert!(!saas.is_regular());
        assert_eq!(saas.level_one(), None);

        let test_unit = id("014.00.00.W00");
        assert_eq!(
            test_unit.form(),
            OrganIdForm::Irregular(Irregularity::LevelOneLetter('W'))
        );
        assert_eq!(
            id("01.02.03.G22").form(),
            OrganIdForm::Irregular(Irregularity::LowerLevel)
        );
    }

    #[test]
    fn rejects_what_cannot_be_an_id() {
        assert_eq!(OrganId::parse("   "), Err(OrganIdError::Empty));
        assert!(matches!(
            OrganId::parse("000.00 .00.G22"),
            Err(OrganIdError::BadCharacter { found: ' ' })
        ));
        assert!(matches!(
            OrganId::parse(&"9".repeat(65)),
            Err(OrganIdError::TooLong { len: 65, .. })
        ));
        assert_eq!(id(" 000.00.00.G22\n").as_str(), "000.00.00.G22");
    }

    #[test]
    fn delegation_scope_is_the_level_one_code() {
        let tay_ninh = LevelOne {
            letter: 'H',
            number: 53,
        };
        assert!(id("000.00.11.H53").is_under(tay_ninh));
        assert!(!id("000.00.11.H41").is_under(tay_ninh));
    }
}
