//! The parameters of an axis call, wherever the client put them.
//!
//! The SDK turns the JSON "header" of each call into request headers; other clients put
//! the same names in the query string, in multipart text fields (`sendEdoc`) or in a JSON
//! or form body. All are accepted, names compared without case (`docid` = `docId`). A name
//! given twice with different values is refused rather than one of them silently chosen.

use axum::body::Body;
use axum::extract::{Form, FromRequest as _, Query};
use axum::http::{HeaderMap, Request, Uri, header};

use super::envelope::Fail;
use crate::api::packages::read_limited;

/// Bodies of the calls other than `sendEdoc` only carry parameters.
const PARAMS_BODY_LIMIT: usize = 64 * 1024;

/// Where a value came from, for error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Source {
    Header,
    Query,
    FormField,
    Body,
}

impl Source {
    fn name(self) -> &'static str {
        match self {
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
    headers: HeaderMap,
    fields: Vec<(String, String, Source)>,
}

impl Params {
    /// The headers and the query string.
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

    /// The headers, the query string and a JSON or form body: what every call but
    /// `sendEdoc` takes.
    pub(super) async fn read(headers: &HeaderMap, uri: &Uri, body: Body) -> Result<Params, Fail> {
        let body = read_limited(body, PARAMS_BODY_LIMIT).await?;
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

    /// The value of `name`, trimmed; `None` when absent or empty.
    ///
    /// # Errors
    /// When two places give it different values.
    pub(super) fn get(&self, name: &str) -> Result<Option<String>, Fail> {
        let mut found: Option<(String, Source)> = None;
        let from_headers = self
            .headers
            .get_all(name)
            .iter()
            .map(|v| {
                v.to_str()
                    .map(|t| (t.trim().to_owned(), Source::Header))
                    .map_err(|_| {
                        Fail::bad_request(format!("header {name} is not text (use UTF-8 or ASCII)"))
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let from_fields = self
            .fields
            .iter()
            .filter(|(n, _, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v, s)| (v.trim().to_owned(), *s));
        for (value, source) in from_headers.into_iter().chain(from_fields) {
            if value.is_empty() {
                continue;
            }
            match &found {
                None => found = Some((value, source)),
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
                "{name} is missing: {what} (as a request header, a query parameter or a body field)"
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
        let p = Params::read(&headers, &uri, Body::from("docId=a%20b&status=fail"))
            .await
            .expect("reads");
        assert_eq!(p.get("docid").expect("one").as_deref(), Some("a b"));

        let err = Params::read(&HeaderMap::new(), &uri, Body::from("[1,2]"))
            .await
            .expect_err("not an object");
        assert!(err.desc().contains("JSON object"), "{err:?}");
    }
}
