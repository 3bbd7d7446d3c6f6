//! The parameters of an axis call, wherever the client put them.
//!
//! - **The SDK** (a signed call): only the pairs its signature covers, names without the
//!   `XroadVnpt-` prefix (`vxp-sdk-wire.md` §6.2). Plain headers, the query string and the
//!   body are never read for parameters: the signature does not cover them.
//! - **A bearer-token client** (scripts, the CLI, a QLVB using the node's own API): plain
//!   request headers and their `XroadVnpt-` forms, the query string, multipart text fields
//!   (`sendEdoc`) or a JSON or form body.
//!
//! Names are compared without case (`docid` = `docId`). The text `null` is absent: the SDK
//! sends it where QLVB interpolated a missing value. A name given twice with different
//! values is refused rather than one of them silently chosen: the SDK keeps every key of
//! its earlier calls, so a QLVB spelling `docId` in one call and `docid` in the next sends
//! both.

use axum::body::Body;
use axum::extract::{Form, FromRequest, FromRequestParts as _, Query, Request};
use axum::http::{HeaderMap, Uri, header};

use super::auth::Caller;
use super::envelope::Fail;
use super::signature::{PREFIX, Signed};
use crate::api::body::read_limited;

/// Bodies of the calls other than `sendEdoc` only carry parameters (or, for the SDK's
/// `registerAgency`, an agency this node does not register).
const PARAMS_BODY_LIMIT: usize = 64 * 1024;

/// Where a value came from, for error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Source {
    Signed,
    Header,
    Query,
    FormField,
    Body,
}

impl Source {
    fn name(self) -> &'static str {
        match self {
            Source::Signed => "a signed XroadVnpt- header",
            Source::Header => "a request header",
            Source::Query => "a query parameter",
            Source::FormField => "a multipart field",
            Source::Body => "a field of the request body",
        }
    }
}

/// The parameters of one call.
#[derive(Debug, Default)]
pub(super) struct Params {
    /// A token client's headers; empty for the SDK, whose parameters are in `fields`.
    headers: HeaderMap,
    fields: Vec<(String, String, Source)>,
}

impl Params {
    /// What the SDK signed.
    pub(super) fn signed(signed: &Signed) -> Params {
        Params {
            headers: HeaderMap::new(),
            fields: signed
                .pairs
                .iter()
                .map(|(n, v)| (n.clone(), v.clone(), Source::Signed))
                .collect(),
        }
    }

    /// A token client's headers and query string.
    pub(super) fn new(headers: &HeaderMap, uri: &Uri) -> Result<Params, Fail> {
        let mut params = Params {
            headers: headers.clone(),
            fields: Vec::new(),
        };
        if uri.query().is_some() {
            let Query(pairs) = Query::<Vec<(String, String)>>::try_from_uri(uri)
                .map_err(|e| Fail::bad_request(format!("the query string does not read: {e}")))?;
            for (name, value) in pairs {
                params.add(name, value, Source::Query);
            }
        }
        Ok(params)
    }

    /// The parameters of every call but `sendEdoc`: for the SDK what it signed (its body,
    /// `{}` or nothing, is read and set aside), for a token client the headers, the query
    /// string and a JSON or form body.
    pub(super) async fn read(
        caller: &Caller,
        headers: &HeaderMap,
        uri: &Uri,
        body: Body,
    ) -> Result<Params, Fail> {
        let body = read_limited(body, PARAMS_BODY_LIMIT).await?;
        if let Caller::Sdk(signed) = caller {
            return Ok(Params::signed(signed));
        }
        let mut params = Params::new(headers, uri)?;
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(params);
        }
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        if content_type.starts_with("application/x-www-form-urlencoded") {
            let request = Request::builder()
                .method("POST")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(body))
                .map_err(|e| Fail::bad_request(e.to_string()))?;
            let Form(pairs) = Form::<Vec<(String, String)>>::from_request(request, &())
                .await
                .map_err(|e| Fail::bad_request(format!("the form body does not read: {e}")))?;
            for (name, value) in pairs {
                params.add(name, value, Source::Body);
            }
            return Ok(params);
        }
        // JSON, whatever the declared type: the SDK's header object is JSON.
        let value: serde_json::Value = serde_json::from_slice(&body).map_err(|e| {
            Fail::bad_request(format!(
                "the request body is neither empty nor a JSON object of parameters: {e}"
            ))
        })?;
        let serde_json::Value::Object(object) = value else {
            return Err(Fail::bad_request(
                "the request body must be a JSON object of parameters, such as {\"docId\":\"…\"}",
            ));
        };
        for (name, value) in object {
            let text = match value {
                serde_json::Value::String(text) => text,
                serde_json::Value::Number(n) => n.to_string(),
                serde_json::Value::Bool(b) => b.to_string(),
                serde_json::Value::Null => continue,
                _ => {
                    return Err(Fail::bad_request(format!(
                        "parameter {name} in the request body must be text"
                    )));
                }
            };
            params.add(name, text, Source::Body);
        }
        Ok(params)
    }

    /// Adds one value.
    pub(super) fn add(&mut self, name: String, value: String, source: Source) {
        self.fields.push((name, value, source));
    }

    /// The value of `name`, trimmed; `None` when absent, empty or `null`.
    ///
    /// # Errors
    /// When two places give it different values.
    pub(super) fn get(&self, name: &str) -> Result<Option<String>, Fail> {
        let mut values: Vec<(String, Source)> = Vec::new();
        for header in [name.to_owned(), format!("{PREFIX}{name}")] {
            for value in &self.headers.get_all(header.as_str()) {
                let text = value.to_str().map_err(|_| {
                    Fail::bad_request(format!("header {header} is not text (use UTF-8 or ASCII)"))
                })?;
                values.push((text.trim().to_owned(), Source::Header));
            }
        }
        values.extend(
            self.fields
                .iter()
                .filter(|(n, _, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v, s)| (v.trim().to_owned(), *s)),
        );
        let mut found: Option<(String, Source)> = None;
        for (value, source) in values {
            if value.is_empty() || value == "null" {
                continue;
            }
            match &found {
                None => found = Some((value, source)),
                Some((first, Source::Signed)) if *first != value => {
                    return Err(Fail::bad_request(format!(
                        "the signed headers give {name} twice, {first:?} and {value:?} (names that differ only in case, such as docId and docid, are one parameter): the SDK keeps the keys of earlier calls, so spell each the same way in every call"
                    )));
                }
                Some((first, first_source)) if *first != value => {
                    return Err(Fail::bad_request(format!(
                        "{name} is {first:?} in {} but {value:?} in {}; give it once",
                        first_source.name(),
                        source.name()
                    )));
                }
                Some(_) => {}
            }
        }
        Ok(found.map(|(value, _)| value))
    }

    /// The value of `name`.
    ///
    /// # Errors
    /// When it is missing (the message says what it should be), or given twice.
    pub(super) fn require(&self, name: &str, what: &str) -> Result<String, Fail> {
        self.get(name)?.ok_or_else(|| {
            Fail::bad_request(format!(
                "{name} is missing: {what} (the SDK sends the keys of its call JSON as headers XroadVnpt-<name>)"
            ))
        })
    }

    /// `servicetype`: optional, and when given it must be the axis's only one, `eDoc`.
    ///
    /// # Errors
    /// For any other service type.
    pub(super) fn check_service_type(&self) -> Result<(), Fail> {
        match self.get("servicetype")? {
            Some(kind) if !kind.eq_ignore_ascii_case("edoc") => Err(Fail::bad_request(format!(
                "servicetype {kind:?} is not served here; the only one is eDoc"
            ))),
            _ => Ok(()),
        }
    }

    /// `messagetype`: `edoc` or `status`, when given.
    ///
    /// # Errors
    /// For any other value.
    pub(super) fn message_type(&self) -> Result<Option<lienthong_protocol::MessageKind>, Fail> {
        use lienthong_protocol::MessageKind;
        match self.get("messagetype")? {
            None => Ok(None),
            Some(kind) if kind.eq_ignore_ascii_case("edoc") => Ok(Some(MessageKind::Edoc)),
            Some(kind) if kind.eq_ignore_ascii_case("status") => Ok(Some(MessageKind::Status)),
            Some(kind) => Err(Fail::bad_request(format!(
                "messagetype {kind:?} is neither edoc nor status"
            ))),
        }
    }
}

/// The parameters of an admitted call: every handler but `sendEdoc` takes them so.
impl<S: Send + Sync> FromRequest<S> for Params {
    type Rejection = Fail;

    async fn from_request(request: Request, state: &S) -> Result<Params, Fail> {
        let (mut parts, body) = request.into_parts();
        let caller = Caller::from_request_parts(&mut parts, state).await?;
        Params::read(&caller, &parts.headers, &parts.uri, body).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn params(query: &str, headers: &[(&'static str, &'static str)]) -> Params {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.append(*name, HeaderValue::from_static(value));
        }
        let uri: Uri = format!("/getEdoc{query}").parse().expect("uri");
        Params::new(&map, &uri).expect("reads")
    }

    #[test]
    fn names_are_found_anywhere_without_case() {
        let p = params("?docId=abc&fromDate=", &[("messagetype", "status")]);
        assert_eq!(p.get("docid").expect("one").as_deref(), Some("abc"));
        assert_eq!(
            p.get("messageType").expect("one").as_deref(),
            Some("status")
        );
        assert_eq!(p.get("fromDate").expect("none"), None, "empty is absent");
        assert_eq!(
            p.message_type().expect("valid"),
            Some(lienthong_protocol::MessageKind::Status)
        );
        let err = p
            .require("status", "done, fail or processing")
            .expect_err("missing");
        assert!(err.desc().contains("status is missing: done"), "{err:?}");
    }

    #[test]
    fn two_different_values_are_refused() {
        let p = params("?docId=abc", &[("docid", "xyz")]);
        let err = p.get("docId").expect_err("conflict");
        assert!(
            err.desc()
                .contains("\"xyz\" in a request header but \"abc\" in a query parameter"),
            "{err:?}"
        );
        let p = params("?docId=abc", &[("docid", " abc ")]);
        assert_eq!(p.get("docId").expect("same").as_deref(), Some("abc"));
    }

    #[tokio::test]
    async fn json_and_form_bodies_carry_parameters() {
        let uri: Uri = "/updateStatus".parse().expect("uri");
        let p = Params::read(
            &Caller::Token,
            &HeaderMap::new(),
            &uri,
            Body::from(r#"{"docid":"abc","status":"done","level":1}"#),
        )
        .await
        .expect("reads");
        assert_eq!(p.get("docId").expect("one").as_deref(), Some("abc"));
        assert_eq!(p.get("level").expect("one").as_deref(), Some("1"));

        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            axum::http::HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        let p = Params::read(
            &Caller::Token,
            &headers,
            &uri,
            Body::from("docId=a%20b&status=fail"),
        )
        .await
        .expect("reads");
        assert_eq!(p.get("docid").expect("one").as_deref(), Some("a b"));

        let err = Params::read(&Caller::Token, &HeaderMap::new(), &uri, Body::from("[1,2]"))
            .await
            .expect_err("not an object");
        assert!(err.desc().contains("JSON object"), "{err:?}");
    }

    /// What the SDK signs for `pairs`, as the guard hands it on.
    fn sdk(pairs: &[(&str, &str)]) -> Caller {
        let text = format!(
            "{{{}}}",
            pairs
                .iter()
                .map(|(n, v)| format!("\"XroadVnpt-{n}\":{}", serde_json::json!(v)))
                .collect::<Vec<_>>()
                .join(",")
        );
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(
                axum::http::HeaderName::from_bytes(format!("XroadVnpt-{name}").as_bytes())
                    .expect("name"),
                HeaderValue::from_str(value).expect("value"),
            );
        }
        headers.insert(
            super::super::signature::SIGN_HEADER,
            HeaderValue::from_str(&text).expect("value"),
        );
        headers.insert(
            super::super::signature::HASH_HEADER,
            HeaderValue::from_str(&super::super::signature::sign(b"s", &text)).expect("value"),
        );
        let settings = super::super::signature::SignatureSettings {
            system_id: "000.00.00.H53".into(),
            secret: Ok(zeroize::Zeroizing::new(b"s".to_vec())),
        };
        let signed = super::super::signature::verify(&headers, &settings).expect("signed");
        Caller::Sdk(std::sync::Arc::new(signed))
    }

    #[tokio::test]
    async fn the_sdk_s_parameters_are_only_what_it_signed() {
        let caller = sdk(&[
            ("systemid", "000.00.00.H53"),
            ("docId", "null"),
            ("messagetype", "status"),
        ]);
        let mut headers = HeaderMap::new();
        headers.insert("docId", HeaderValue::from_static("unsigned"));
        let uri: Uri = "/getSentEdocList?docId=unsigned".parse().expect("uri");
        let p = Params::read(
            &caller,
            &headers,
            &uri,
            Body::from(r#"{"docId":"unsigned"}"#),
        )
        .await
        .expect("reads");
        assert_eq!(p.get("docId").expect("one"), None, "null is absent");
        assert_eq!(
            p.get("messageType").expect("one").as_deref(),
            Some("status")
        );
    }

    #[tokio::test]
    async fn two_spellings_of_a_signed_name_must_agree() {
        let uri: Uri = "/updateStatus".parse().expect("uri");
        let caller = sdk(&[
            ("systemid", "000.00.00.H53"),
            ("docId", "aa"),
            ("docid", "bb"),
        ]);
        let p = Params::read(&caller, &HeaderMap::new(), &uri, Body::from("{}"))
            .await
            .expect("reads");
        let err = p.get("docId").expect_err("two values");
        assert!(err.desc().contains("docId and docid"), "{}", err.desc());
        let caller = sdk(&[
            ("systemid", "000.00.00.H53"),
            ("docId", "aa"),
            ("docid", "aa"),
        ]);
        let p = Params::read(&caller, &HeaderMap::new(), &uri, Body::from("{}"))
            .await
            .expect("reads");
        assert_eq!(p.get("docid").expect("agree").as_deref(), Some("aa"));
    }

    #[test]
    fn a_token_client_may_use_the_sdk_s_header_names() {
        let p = params("", &[("XroadVnpt-docId", "abc")]);
        assert_eq!(p.get("docId").expect("one").as_deref(), Some("abc"));
    }
}
