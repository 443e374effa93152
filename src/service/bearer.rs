//! Identity from a bearer token, for callers of the HTTPS door that bring no client certificate:
//! `Authorization: Bearer <token>` names a directory user (or the operator), or nobody (401 with
//! `WWW-Authenticate: Bearer`). A read-only token may only read: every method but GET and HEAD is
//! refused here, before any route, so no route has to remember it.

use axum::http::{HeaderMap, Method, header::AUTHORIZATION};

use super::error::{ApiError, ApiResult};
use super::identity::Peer;
use crate::domain::identity::TokenOwner;
use crate::engine::{Engine, Result};

/// Whom a token stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bearer {
    /// The directory user's UPN; `None` is the operator.
    pub upn: Option<String>,
    /// The token may only read.
    pub read_only: bool,
}

/// Where tokens are looked up: unknown, revoked and expired tokens are all `None`.
pub trait Tokens {
    fn bearer(&self, secret: &str) -> impl Future<Output = Result<Option<Bearer>>> + Send;
}

impl Tokens for Engine {
    /// The engine's live token for `secret`: a user's token is that one directory user, and only a
    /// token made for the operator is the operator.
    async fn bearer(&self, secret: &str) -> Result<Option<Bearer>> {
        Ok(self.token_identity(secret).await?.map(|found| Bearer {
            upn: match found.owner {
                TokenOwner::Operator => None,
                TokenOwner::User(upn) => Some(upn),
            },
            read_only: found.read_only,
        }))
    }
}

/// The peer a request's bearer token names, for `method`; 401 without a known token, 403 for a
/// read-only token asked to change something.
pub async fn identify(headers: &HeaderMap, method: &Method, tokens: &impl Tokens) -> ApiResult<Peer> {
    let value = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()).map(str::trim);
    let Some(value) = value else {
        return Err(ApiError::unauthorized(
            "this door needs a client certificate or `Authorization: Bearer <token>`: ask the operator for a token (`jitdesk token create`)",
        ));
    };
    let secret = match value.split_once(' ') {
        Some((scheme, secret)) if scheme.eq_ignore_ascii_case("bearer") && !secret.trim().is_empty() => {
            secret.trim()
        }
        _ => return Err(ApiError::unauthorized("the Authorization header must be `Bearer <token>`")),
    };
    let Some(bearer) = tokens.bearer(secret).await? else {
        return Err(ApiError::unauthorized(
            "the token is unknown, revoked or expired: ask the operator for a new one",
        ));
    };
    if bearer.read_only && !matches!(*method, Method::GET | Method::HEAD) {
        return Err(ApiError::forbidden(
            "this token may only read: ask the operator for one that may change things",
        ));
    }
    Ok(Peer::Known(bearer.upn))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{HeaderValue, StatusCode};

    /// Tokens as the engine keeps them: one for a user, one read-only, one for the operator.
    struct Known;

    impl Tokens for Known {
        async fn bearer(&self, secret: &str) -> Result<Option<Bearer>> {
            Ok(match secret {
                "dave" => Some(Bearer { upn: Some("dave@fabrikam.com".into()), read_only: false }),
                "reader" => Some(Bearer { upn: Some("dave@fabrikam.com".into()), read_only: true }),
                "op" => Some(Bearer { upn: None, read_only: false }),
                _ => None,
            })
        }
    }

    fn with(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[tokio::test]
    async fn a_known_token_is_its_user_and_anything_else_is_401() {
        let dave = identify(&with("Bearer dave"), &Method::POST, &Known).await.unwrap();
        assert_eq!(dave, Peer::Known(Some("dave@fabrikam.com".into())));
        let op = identify(&with("bearer  op "), &Method::GET, &Known).await.unwrap();
        assert_eq!(op, Peer::Known(None));
        for headers in [HeaderMap::new(), with("Bearer nope"), with("Basic ZGF2ZQ=="), with("Bearer ")] {
            let e = identify(&headers, &Method::GET, &Known).await.unwrap_err();
            assert_eq!(e.status, StatusCode::UNAUTHORIZED, "{headers:?}: {}", e.message);
        }
    }

    #[tokio::test]
    async fn a_read_only_token_reads_and_changes_nothing() {
        for method in [Method::GET, Method::HEAD] {
            assert!(identify(&with("Bearer reader"), &method, &Known).await.is_ok());
        }
        for method in [Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
            let e = identify(&with("Bearer reader"), &method, &Known).await.unwrap_err();
            assert_eq!(e.status, StatusCode::FORBIDDEN, "{method}");
            assert!(e.message.contains("may only read"), "{}", e.message);
        }
    }
}
