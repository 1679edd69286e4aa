//! [`HttpOptions`]: the escape hatches every HTTP provider takes: an
//! injected `reqwest::Client` (a custom CA, a proxy), headers added to every
//! request, and fields merged into every JSON body, on top of the
//! per-request [`extra_body`](agent_core::provider::CompletionRequest::extra_body)
//! and [`extra_headers`](agent_core::provider::CompletionRequest::extra_headers).
//!
//! Precedence: the provider's own fields, then the provider-level extras,
//! then the request's extras (the most specific wins). Header values never
//! reach `Debug`, logs or cassettes.
//!
//! ```
//! use agent_providers::{HttpOptions, OpenAiProvider};
//!
//! let client = reqwest::Client::builder().build().unwrap(); // e.g. with a proxy or a CA
//! let http = HttpOptions::new()
//!     .with_client(client)
//!     .with_header("x-team", "agents")
//!     .unwrap()
//!     .with_extra_body("service_tier", serde_json::json!("flex"));
//! let provider = OpenAiProvider::new("gpt-4o-mini").with_http_options(http);
//! assert_eq!(provider.model(), "gpt-4o-mini");
//! ```

use agent_core::provider::CompletionRequest;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use std::fmt;

/// A header name or value that HTTP does not allow.
#[derive(Debug, thiserror::Error)]
#[error("invalid HTTP header {name:?}: {reason}")]
pub struct InvalidHeader {
    /// The header's name as given.
    pub name: String,
    /// What is wrong with it.
    pub reason: String,
}

/// The HTTP escape hatches of one provider (see the module docs).
#[derive(Clone, Default)]
pub struct HttpOptions {
    client: Option<reqwest::Client>,
    headers: HeaderMap,
    extra_body: serde_json::Map<String, serde_json::Value>,
}

impl fmt::Debug for HttpOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpOptions")
            .field("client", &self.client.as_ref().map(|_| "<injected>"))
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .field("extra_body", &self.extra_body.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl HttpOptions {
    /// No client, no headers, no extra fields.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sends through `client` instead of a default one.
    pub fn with_client(mut self, client: reqwest::Client) -> Self {
        self.client = Some(client);
        self
    }

    /// Adds a header to every request (replacing one of the same name).
    pub fn with_header(mut self, name: &str, value: &str) -> Result<Self, InvalidHeader> {
        let (name, value) = parse_header(name, value)?;
        self.headers.insert(name, value);
        Ok(self)
    }

    /// Merges a field into every JSON body.
    pub fn with_extra_body(mut self, key: impl Into<String>, value: serde_json::Value) -> Self {
        self.extra_body.insert(key.into(), value);
        self
    }

    /// The injected client, if any.
    pub fn client(&self) -> Option<&reqwest::Client> {
        self.client.as_ref()
    }

    /// The client to send with: the injected one, else `default`.
    pub(crate) fn client_or(&self, default: &reqwest::Client) -> reqwest::Client {
        self.client.clone().unwrap_or_else(|| default.clone())
    }

    /// Merges the provider's and then the request's extra fields into `body`
    /// (an object; anything else is left alone).
    pub(crate) fn merge_body(&self, body: &mut serde_json::Value, req: &CompletionRequest) {
        if let Some(object) = body.as_object_mut() {
            for (k, v) in self.extra_body.iter().chain(req.extra_body.iter()) {
                object.insert(k.clone(), v.clone());
            }
        }
    }

    /// Adds the provider's and then the request's headers to `builder`.
    /// A request header HTTP does not allow is a typed error.
    pub(crate) fn apply_headers(
        &self,
        mut builder: reqwest::RequestBuilder,
        req: &CompletionRequest,
    ) -> Result<reqwest::RequestBuilder, InvalidHeader> {
        let mut headers = self.headers.clone();
        for (name, value) in &req.extra_headers {
            let (name, value) = parse_header(name, value)?;
            headers.insert(name, value);
        }
        if !headers.is_empty() {
            builder = builder.headers(headers);
        }
        Ok(builder)
    }
}

fn parse_header(name: &str, value: &str) -> Result<(HeaderName, HeaderValue), InvalidHeader> {
    let invalid = |reason: String| InvalidHeader { name: name.to_owned(), reason };
    let header_name = HeaderName::from_bytes(name.as_bytes()).map_err(|e| invalid(e.to_string()))?;
    let mut header_value = HeaderValue::from_str(value).map_err(|e| invalid(e.to_string()))?;
    header_value.set_sensitive(true);
    Ok((header_name, header_value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn request_extras_override_provider_extras_which_override_the_body() {
        let http = HttpOptions::new().with_extra_body("a", json!(1)).with_extra_body("b", json!(1));
        let req = CompletionRequest::default().with_extra_body("b", json!(2)).with_extra_body("c", json!(3));
        let mut body = json!({"a": 0, "model": "m"});
        http.merge_body(&mut body, &req);
        assert_eq!(body, json!({"a": 1, "b": 2, "c": 3, "model": "m"}));
    }

    #[test]
    fn bad_headers_are_typed_errors_and_values_stay_out_of_debug() {
        assert!(HttpOptions::new().with_header("bad header", "x").is_err());
        assert!(HttpOptions::new().with_header("x-ok", "line\nbreak").is_err());
        let http = HttpOptions::new().with_header("x-secret", "hunter2").unwrap();
        let shown = format!("{http:?}");
        assert!(shown.contains("x-secret") && !shown.contains("hunter2"), "{shown}");
        let req = CompletionRequest::default().with_extra_header("bad header", "x");
        let builder = reqwest::Client::new().post("http://127.0.0.1:9/");
        assert!(http.apply_headers(builder, &req).is_err());
    }
}
