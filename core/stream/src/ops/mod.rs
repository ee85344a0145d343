//! Operator implementations. Each operator is a `futures::Stream` state machine that owns
//! its upstream; a chain of them is polled by one task (fused).

pub(crate) mod async_ops;
pub(crate) mod basic;
pub(crate) mod decouple;
pub(crate) mod fanin;
pub(crate) mod fanout;
pub(crate) mod slot;
pub(crate) mod substream;
pub(crate) mod timing;

use std::task::{Context, Poll};

use crate::dsl::Elems;
use crate::error::StreamError;

/// How many elements an operator may process in one poll without producing output before
/// it yields to the scheduler (Pekko `sync-processing-limit` is 1000).
pub(crate) const SYNC_LIMIT: u32 = 1024;

/// Polls an optional upstream. `None` (already terminated) reads as completion; on
/// completion or failure the upstream is dropped so later polls see completion, and
/// dropping it cancels everything above it.
#[inline]
pub(crate) fn poll_up<T>(
    up: &mut Option<Elems<T>>,
    cx: &mut Context<'_>,
) -> Poll<Option<Result<T, StreamError>>> {
    match up {
        None => Poll::Ready(None),
        Some(s) => match s.as_mut().poll_next(cx) {
            Poll::Ready(Some(Ok(x))) => Poll::Ready(Some(Ok(x))),
            Poll::Ready(other) => {
                *up = None;
                Poll::Ready(other)
            }
            Poll::Pending => Poll::Pending,
        },
    }
}

/// Yields to the scheduler from inside a `poll_next` after too much synchronous work.
#[inline]
pub(crate) fn yield_now<T>(cx: &mut Context<'_>) -> Poll<T> {
    cx.waker().wake_by_ref();
    Poll::Pending
}
