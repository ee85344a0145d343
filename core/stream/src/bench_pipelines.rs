//! The benchmark pipelines of the performance comparison with Pekko Streams (shared by the
//! criterion benches and the `stream_bench` example so both measure the same code).

use crate::{FlowOps, Sink, Source, StreamError};

/// (1) `Source(1..=n).map(x * 3).filter(even).fold(sum)`.
pub async fn map_filter_fold(n: u64) -> Result<u64, StreamError> {
    Source::iter(1..=n)
        .map(|x| x * 3)
        .filter(|x| x % 2 == 0)
        .run_with(Sink::fold(0u64, |a, x| a.wrapping_add(x)))
        .await
}

/// (2) `Source(1..=n).map_async(8)(ready future of x + 1).fold(sum)`.
pub async fn map_async_8(n: u64) -> Result<u64, StreamError> {
    Source::iter(1..=n)
        .map_async(8, |x| async move { x + 1 })
        .run_with(Sink::fold(0u64, |a, x| a.wrapping_add(x)))
        .await
}

/// (3) `Source(1..=n).group_by(64, x % 64).map(x + 1).merge_substreams().fold(sum)`.
pub async fn group_by_64(n: u64) -> Result<u64, StreamError> {
    Source::iter(1..=n)
        .group_by(64, |x| x % 64)
        .map(|x| x + 1)
        .merge_substreams()
        .run_with(Sink::fold(0u64, |a, x| a.wrapping_add(x)))
        .await
}
