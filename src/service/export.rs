//! `GET /v1/export/{what}`: an export for audits (`crate::export`), streamed as the answer's
//! chunks, so a remote CLI exports as a local one does and neither side holds the whole export.
//! The first page is read before the answer starts, so a refusal is an ordinary error answer;
//! after that each page waits for a turn among every caller's requests (the service's
//! `MAX_IN_FLIGHT`), so an export of years takes its share and no more, and sending a page to a
//! slow reader holds no turn. An export ends early, cut short, when the service stops.

use axum::body::Body;
use axum::extract::{Path, State as With};
use axum::http::HeaderValue;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use hyper::body::Bytes;
use serde::Deserialize;

use super::State;
use super::error::{ApiError, ApiResult};
use super::extract::Params;
use super::identity::Caller;
use crate::domain::Window;
use crate::domain::window::parse_bound;
use crate::export::{Export, Format, Kind, Pages};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ExportQuery {
    since: Option<String>,
    until: Option<String>,
    format: Option<String>,
    app: Option<String>,
}

pub(super) async fn export(
    With(st): With<State>,
    caller: Caller,
    Path(what): Path<String>,
    Params(q): Params<ExportQuery>,
) -> ApiResult<Response> {
    let kind = match what.as_str() {
        "requests" => Kind::Requests,
        "audit" => Kind::Audit,
        _ => return Err(ApiError::not_found("no such export: export `requests` or `audit`")),
    };
    let format = match q.format.as_deref() {
        None => Format::Json,
        Some(text) => Format::parse(text)
            .ok_or_else(|| ApiError::invalid("unknown format: use format=json (JSON lines) or format=csv"))?,
    };
    let window = window(&st, q.since, q.until)?;
    let app = q.app.filter(|a| !a.trim().is_empty());
    let mut pages = Pages::new(st.engine.clone(), caller.viewer(), Export { kind, format, window, app });
    let first = pages.next_chunk().await?.unwrap_or_default();
    let rest = futures_util::stream::unfold(Some((pages, st)), |going| async move {
        let (mut pages, st) = going?;
        let mut stopping = st.stopping.clone();
        let next = tokio::select! {
            _ = stopping.wait_for(|stop| *stop) => Err(std::io::Error::other("the service is stopping")),
            next = turn_and_page(&st, &mut pages) => next,
        };
        match next {
            Ok(Some(chunk)) => Some((Ok(Bytes::from(chunk)), Some((pages, st)))),
            Ok(None) => None,
            // The body is cut short: the client sees it end unfinished, never a whole-looking export.
            Err(e) => Some((Err(e), None)),
        }
    });
    let chunks =
        futures_util::StreamExt::chain(futures_util::stream::once(async { Ok(Bytes::from(first)) }), rest);
    let mut response = Body::from_stream(chunks).into_response();
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(format.media_type()));
    Ok(response)
}

/// The window of a list's or an export's `since` and `until`, each read as the CLI reads it, with
/// the service's clock.
pub(super) fn window(st: &State, since: Option<String>, until: Option<String>) -> ApiResult<Window> {
    let now = st.engine.now();
    let bound = |text: Option<String>| text.map(|t| parse_bound(&t, now)).transpose();
    Ok(Window::new(bound(since)?, bound(until)?)?)
}

/// The next page, read in a turn of its own.
async fn turn_and_page(st: &State, pages: &mut Pages) -> std::io::Result<Option<Vec<u8>>> {
    let _turn = st.turns.acquire().await.map_err(std::io::Error::other)?;
    pages.next_chunk().await.map_err(std::io::Error::other)
}
