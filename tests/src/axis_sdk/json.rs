//! The SDK's JSON, the way gson 2.2 reads it leniently and prints it (§2.1, §4.1).
//!
//! Keys stay in textual order: the header map's insertion order depends on it (§2.1), so
//! this does not go through `serde_json`, whose maps sort their keys.

/// A JSON value as gson holds it: numbers keep their literal text (`LazilyParsedNumber`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum JVal {
    Null,
    Bool(bool),
    Num(String),
    Str(String),
    Arr(Vec<JVal>),
    Obj(Vec<(String, JVal)>),
}

/// Why a text is not a JSON value. The SDK tells these apart (§4.3): an empty body or one
/// cut right after a value reads as "all fields null", anything else as "not JSON".
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ParseFail {
    Empty,
    EofAfterValue,
    Syntax(String),
}

/// Parses like gson 2.2's lenient `JsonParser`: unquoted names and values, single quotes,
/// `=`/`=>` and `;` separators, `//`, `#` and `/* */` comments; trailing text is refused.
pub(crate) fn parse_lenient(text: &str) -> Result<JVal, ParseFail> {
    let mut p = Parser {
        s: text.chars().collect(),
        i: 0,
    };
    p.skip_ws()?;
    if p.peek().is_none() {
        return Err(ParseFail::Empty);
    }
    let value = p.value()?;
    p.skip_ws()?;
    if p.peek().is_some() {
        return Err(ParseFail::Syntax(format!(
            "text after the document at {}",
            p.i
        )));
    }
    Ok(value)
}

struct Parser {
    s: Vec<char>,
    i: usize,
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.s.get(self.i).copied()
    }

    fn syntax<T>(&self, what: &str) -> Result<T, ParseFail> {
        Err(ParseFail::Syntax(format!("{what} at {}", self.i)))
    }

    fn skip_ws(&mut self) -> Result<(), ParseFail> {
        while let Some(c) = self.peek() {
            match c {
                ' ' | '\t' | '\n' | '\r' => self.i += 1,
                '#' => self.skip_line(),
                '/' if self.s.get(self.i + 1) == Some(&'/') => self.skip_line(),
                '/' if self.s.get(self.i + 1) == Some(&'*') => {
                    let rest = &self.s[self.i + 2..];
                    match rest.windows(2).position(|w| w == ['*', '/']) {
                        Some(end) => self.i += 2 + end + 2,
                        None => return self.syntax("unterminated comment"),
                    }
                }
                _ => break,
            }
        }
        Ok(())
    }

    fn skip_line(&mut self) {
        while let Some(c) = self.peek() {
            self.i += 1;
            if c == '\n' || c == '\r' {
                break;
            }
        }
    }

    /// After a complete value inside a container: EOF here is "cut at a value's end".
    fn after_value(&mut self) -> Result<char, ParseFail> {
        self.skip_ws()?;
        match self.peek() {
            None => Err(ParseFail::EofAfterValue),
            Some(c) => {
                self.i += 1;
                Ok(c)
            }
        }
    }

    fn value(&mut self) -> Result<JVal, ParseFail> {
        self.skip_ws()?;
        match self.peek() {
            None => self.syntax("end of input, expected a value"),
            Some('{') => {
                self.i += 1;
                self.object()
            }
            Some('[') => {
                self.i += 1;
                self.array()
            }
            Some(q @ ('"' | '\'')) => {
                self.i += 1;
                self.string(q).map(JVal::Str)
            }
            Some(_) => {
                let lit = self.literal();
                if lit.is_empty() {
                    return self.syntax("expected a value");
                }
                Ok(classify_literal(lit))
            }
        }
    }

    fn literal(&mut self) -> String {
        let start = self.i;
        while let Some(c) = self.peek() {
            if matches!(
                c,
                '/' | '\\'
                    | ';'
                    | '#'
                    | '='
                    | '{'
                    | '}'
                    | '['
                    | ']'
                    | ':'
                    | ','
                    | ' '
                    | '\t'
                    | '\u{c}'
                    | '\r'
                    | '\n'
            ) {
                break;
            }
            self.i += 1;
        }
        self.s[start..self.i].iter().collect()
    }

    fn object(&mut self) -> Result<JVal, ParseFail> {
        let mut members = Vec::new();
        self.skip_ws()?;
        if self.peek() == Some('}') {
            self.i += 1;
            return Ok(JVal::Obj(members));
        }
        loop {
            self.skip_ws()?;
            let name = match self.peek() {
                Some(q @ ('"' | '\'')) => {
                    self.i += 1;
                    self.string(q)?
                }
                Some(_) => {
                    let lit = self.literal();
                    if lit.is_empty() {
                        return self.syntax("expected a name");
                    }
                    lit
                }
                None => return self.syntax("end of input, expected a name"),
            };
            self.skip_ws()?;
            match self.peek() {
                Some(':') => self.i += 1,
                Some('=') => {
                    self.i += 1;
                    if self.peek() == Some('>') {
                        self.i += 1;
                    }
                }
                _ => return self.syntax("expected ':'"),
            }
            let value = self.value()?;
            members.push((name, value));
            match self.after_value()? {
                ',' | ';' => continue,
                '}' => return Ok(JVal::Obj(members)),
                _ => return self.syntax("unterminated object"),
            }
        }
    }

    fn array(&mut self) -> Result<JVal, ParseFail> {
        let mut items = Vec::new();
        self.skip_ws()?;
        if self.peek() == Some(']') {
            self.i += 1;
            return Ok(JVal::Arr(items));
        }
        loop {
            items.push(self.value()?);
            match self.after_value()? {
                ',' | ';' => continue,
                ']' => return Ok(JVal::Arr(items)),
                _ => return self.syntax("unterminated array"),
            }
        }
    }

    fn string(&mut self, quote: char) -> Result<String, ParseFail> {
        let mut units: Vec<u16> = Vec::new();
        loop {
            let Some(c) = self.peek() else {
                return self.syntax("unterminated string");
            };
            self.i += 1;
            if c == quote {
                return Ok(String::from_utf16_lossy(&units));
            }
            if c != '\\' {
                let mut buf = [0u16; 2];
                units.extend_from_slice(c.encode_utf16(&mut buf));
                continue;
            }
            let Some(e) = self.peek() else {
                return self.syntax("unterminated escape");
            };
            self.i += 1;
            let unit = match e {
                'u' => {
                    let hex: String = self.s.iter().skip(self.i).take(4).collect();
                    if hex.len() != 4 || !hex.chars().all(|h| h.is_ascii_hexdigit()) {
                        return self.syntax("bad \\u escape");
                    }
                    self.i += 4;
                    u16::from_str_radix(&hex, 16).unwrap_or(0xfffd)
                }
                't' => 0x09,
                'b' => 0x08,
                'n' => 0x0a,
                'r' => 0x0d,
                'f' => 0x0c,
                // gson returns any other escaped character as itself.
                other => {
                    let mut buf = [0u16; 2];
                    units.extend_from_slice(other.encode_utf16(&mut buf));
                    continue;
                }
            };
            units.push(unit);
        }
    }
}

/// gson 2.2 decodes unquoted `null`/`true`/`false` ignoring case; a literal of JSON number
/// form is a number (its text kept), anything else a string.
fn classify_literal(lit: String) -> JVal {
    if lit.eq_ignore_ascii_case("null") {
        JVal::Null
    } else if lit.eq_ignore_ascii_case("true") {
        JVal::Bool(true)
    } else if lit.eq_ignore_ascii_case("false") {
        JVal::Bool(false)
    } else if is_json_number(&lit) {
        JVal::Num(lit)
    } else {
        JVal::Str(lit)
    }
}

fn is_json_number(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - start
    };
    if b.first() == Some(&b'-') {
        i += 1;
    }
    let int_start = i;
    let n = digits(&mut i);
    if n == 0 || (n > 1 && b[int_start] == b'0') {
        return false;
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

impl JVal {
    /// gson's `getAsString`: strings as themselves, numbers and booleans as their literal
    /// text, a one-element array as its element; `None` where gson throws (null, object,
    /// any other array) (§4.1).
    pub(crate) fn java_string(&self) -> Option<String> {
        match self {
            JVal::Null | JVal::Obj(_) => None,
            JVal::Bool(b) => Some(b.to_string()),
            JVal::Num(t) | JVal::Str(t) => Some(t.clone()),
            JVal::Arr(a) if a.len() == 1 => a[0].java_string(),
            JVal::Arr(_) => None,
        }
    }

    /// gson's `getAsInt`: a number's value (as `LazilyParsedNumber.intValue` truncates), a
    /// string through `Integer.parseInt`; `None` where gson throws.
    pub(crate) fn java_int(&self) -> Option<i32> {
        match self {
            JVal::Num(t) => t
                .parse::<i32>()
                .ok()
                .or_else(|| t.parse::<i64>().ok().map(|v| v as i32))
                .or_else(|| t.parse::<f64>().ok().map(|v| v as i64 as i32)),
            JVal::Str(s) => s.parse::<i32>().ok(),
            JVal::Bool(_) | JVal::Null | JVal::Obj(_) => None,
            JVal::Arr(a) if a.len() == 1 => a[0].java_int(),
            JVal::Arr(_) => None,
        }
    }

    /// gson's `getAsBoolean`: a boolean itself, any other primitive through
    /// `Boolean.parseBoolean` of its text; `None` where gson throws.
    pub(crate) fn java_bool(&self) -> Option<bool> {
        match self {
            JVal::Bool(b) => Some(*b),
            JVal::Num(t) | JVal::Str(t) => Some(t.eq_ignore_ascii_case("true")),
            JVal::Arr(a) if a.len() == 1 => a[0].java_bool(),
            JVal::Null | JVal::Obj(_) | JVal::Arr(_) => None,
        }
    }

    /// gson's `toString`: compact, strings escaped as `JsonWriter` does without HTML
    /// escaping. sendEdoc stores `to` this way (§2.1).
    pub(crate) fn gson_text(&self) -> String {
        let mut out = String::new();
        self.write_gson(&mut out);
        out
    }

    fn write_gson(&self, out: &mut String) {
        match self {
            JVal::Null => out.push_str("null"),
            JVal::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            JVal::Num(t) => out.push_str(t),
            JVal::Str(s) => gson_string(s, out),
            JVal::Arr(items) => {
                out.push('[');
                for (n, item) in items.iter().enumerate() {
                    if n > 0 {
                        out.push(',');
                    }
                    item.write_gson(out);
                }
                out.push(']');
            }
            JVal::Obj(members) => {
                out.push('{');
                for (n, (k, v)) in members.iter().enumerate() {
                    if n > 0 {
                        out.push(',');
                    }
                    gson_string(k, out);
                    out.push(':');
                    v.write_gson(out);
                }
                out.push('}');
            }
        }
    }
}

/// A JSON string as gson writes it: the sign-header's escapes, and U+2028/U+2029 too.
fn gson_string(s: &str, out: &mut String) {
    super::sign::json_string(s, out, true);
}

/// The value of `key` in an object as gson's `JsonObject.get` finds it (a repeated key:
/// the last one).
pub(crate) fn member<'a>(members: &'a [(String, JVal)], key: &str) -> Option<&'a JVal> {
    members.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v)
}
