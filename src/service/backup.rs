//! `GET /v1/backup`: the operator's copy of the whole store, streamed to the client, which writes
//! its own file. The service never writes to a path a client names: the copy is made in an unnamed
//! private file beside the store, gone once the answer is sent.

use std::fs::File;
use std::io::{Read, Seek};

use axum::body::Body;
use axum::extract::State as With;
use axum::http::HeaderValue;
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use hyper::body::Bytes;

use super::State;
use super::error::{ApiError, ApiResult};
use super::identity::Caller;

/// How much of the copy is read for each piece of the answer.
const CHUNK: usize = 256 * 1024;

pub async fn backup(With(st): With<State>, caller: Caller) -> ApiResult<Response> {
    let unavailable = |e: std::io::Error| ApiError::unavailable(format!("cannot make the backup: {e}"));
    let folder = st.engine.path().parent().unwrap_or(std::path::Path::new("."));
    let mut file = tempfile::tempfile_in(folder).map_err(unavailable)?;
    st.engine.backup(&caller.actor(), file.try_clone().map_err(unavailable)?).await?;
    let length = file.metadata().map_err(unavailable)?.len();
    file.rewind().map_err(unavailable)?;
    let mut response = Body::from_stream(chunks(file)).into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
    // The client keeps the file only when it received every byte.
    headers.insert(CONTENT_LENGTH, HeaderValue::from(length));
    Ok(response)
}

/// The file's bytes, read off the async threads.
fn chunks(file: File) -> impl futures_util::Stream<Item = std::io::Result<Bytes>> + Send + 'static {
    futures_util::stream::unfold(Some(file), |file| async move {
        let mut file = file?;
        let read = tokio::task::spawn_blocking(move || {
            let mut buffer = vec![0; CHUNK];
            let n = file.read(&mut buffer)?;
            buffer.truncate(n);
            Ok::<_, std::io::Error>((buffer, file))
        })
        .await
        .unwrap_or_else(|e| Err(std::io::Error::other(e)));
        match read {
            Ok((buffer, _)) if buffer.is_empty() => None,
            Ok((buffer, file)) => Some((Ok(Bytes::from(buffer)), Some(file))),
            Err(e) => Some((Err(e), None)),
        }
    })
}
