//! `BidiFlow`: two flows in opposite directions, stacked like protocol layers.
//!
//! ```text
//!        +------------+
//!   I1 ~>|    top     |~> O1
//!        |            |
//!   O2 <~|   bottom   |<~ I2
//!        +------------+
//! ```

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::channel::oneshot;
use futures::{FutureExt, Stream};

use crate::attributes::Attributes;
use crate::dsl::{Elems, Flow, Keep};
use crate::error::StreamError;

type BidiFn<I1, O1, I2, O2, Mat> =
    dyn Fn(Elems<I1>, Elems<I2>, &Attributes) -> (Elems<O1>, Elems<O2>, Mat) + Send + Sync;

/// A blueprint with two inputs and two outputs, `I1 -> O1` on top and `I2 -> O2` below
/// (Pekko `BidiFlow[I1, O1, I2, O2, Mat]`). Typical use: a protocol layer whose top
/// encodes outgoing messages and whose bottom decodes incoming ones.
pub struct BidiFlow<I1, O1, I2, O2, Mat = ()> {
    f: Arc<BidiFn<I1, O1, I2, O2, Mat>>,
}

impl<I1, O1, I2, O2, Mat> Clone for BidiFlow<I1, O1, I2, O2, Mat> {
    fn clone(&self) -> Self {
        BidiFlow { f: self.f.clone() }
    }
}

/// A stream whose upstream is handed over after it was created: materializing stacked
/// or joined layers needs an input before the stage producing it exists. The handover
/// happens during the same materialization, before anything is polled.
struct Late<T> {
    rx: Option<oneshot::Receiver<Elems<T>>>,
    inner: Option<Elems<T>>,
}

fn late<T>() -> (oneshot::Sender<Elems<T>>, Elems<T>)
where
    T: Send + 'static,
{
    let (tx, rx) = oneshot::channel();
    let s = Late {
        rx: Some(rx),
        inner: None,
    };
    (tx, Box::pin(s))
}

impl<T> Stream for Late<T> {
    type Item = Result<T, StreamError>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if let Some(rx) = self.rx.as_mut() {
            match rx.poll_unpin(cx) {
                Poll::Ready(Ok(s)) => {
                    self.rx = None;
                    self.inner = Some(s);
                }
                Poll::Ready(Err(_)) => {
                    self.rx = None;
                    return Poll::Ready(Some(Err(StreamError::AbruptTermination(
                        "BidiFlow: the stage feeding this side was never materialized",
                    ))));
                }
                Poll::Pending => return Poll::Pending,
            }
        }
        match self.inner.as_mut() {
            Some(s) => s.as_mut().poll_next(cx),
            None => Poll::Ready(None),
        }
    }
}

impl<T> Unpin for Late<T> {}

impl<I1, O1, I2, O2, Mat> BidiFlow<I1, O1, I2, O2, Mat>
where
    I1: Send + 'static,
    O1: Send + 'static,
    I2: Send + 'static,
    O2: Send + 'static,
    Mat: 'static,
{
    /// A bidi flow from a materialization function called once per run with both inputs.
    pub fn from_materializer<F>(f: F) -> Self
    where
        F: Fn(Elems<I1>, Elems<I2>, &Attributes) -> (Elems<O1>, Elems<O2>, Mat)
            + Send
            + Sync
            + 'static,
    {
        BidiFlow { f: Arc::new(f) }
    }

    /// Materializes over both inputs: both outputs and the materialized value.
    pub fn materialize(
        &self,
        top: Elems<I1>,
        bottom: Elems<I2>,
        attrs: &Attributes,
    ) -> (Elems<O1>, Elems<O2>, Mat) {
        (self.f)(top, bottom, attrs)
    }

    /// From two flows, combining their materialized values (Pekko `fromFlowsMat`).
    pub fn from_flows_mat<M1, M2, C>(
        top: Flow<I1, O1, M1>,
        bottom: Flow<I2, O2, M2>,
        combine: C,
    ) -> Self
    where
        M1: 'static,
        M2: 'static,
        C: Fn(M1, M2) -> Mat + Send + Sync + 'static,
    {
        Self::from_materializer(move |i1, i2, attrs| {
            let (o1, m1) = top.materialize(i1, attrs);
            let (o2, m2) = bottom.materialize(i2, attrs);
            (o1, o2, combine(m1, m2))
        })
    }

    /// Stacks `self` on top of `lower` (Pekko `atop`): `self`'s top output feeds
    /// `lower`'s top and `lower`'s bottom output feeds `self`'s bottom. Keeps `self`'s
    /// materialized value.
    pub fn atop<OO1, II2, M2>(
        self,
        lower: BidiFlow<O1, OO1, II2, I2, M2>,
    ) -> BidiFlow<I1, OO1, II2, O2, Mat>
    where
        OO1: Send + 'static,
        II2: Send + 'static,
        M2: 'static,
    {
        self.atop_mat(lower, Keep::left)
    }

    /// Like [`BidiFlow::atop`], combining both materialized values.
    pub fn atop_mat<OO1, II2, M2, M3, C>(
        self,
        lower: BidiFlow<O1, OO1, II2, I2, M2>,
        combine: C,
    ) -> BidiFlow<I1, OO1, II2, O2, M3>
    where
        OO1: Send + 'static,
        II2: Send + 'static,
        M2: 'static,
        M3: 'static,
        C: Fn(Mat, M2) -> M3 + Send + Sync + 'static,
    {
        let upper = self.f;
        BidiFlow::from_materializer(move |i1, ii2, attrs| {
            let (hand_over, mid_down) = late::<O1>();
            let (oo1, mid_up, m2) = (lower.f)(mid_down, ii2, attrs);
            let (o1, o2, m1) = upper(i1, mid_up, attrs);
            let _ = hand_over.send(o1);
            (oo1, o2, combine(m1, m2))
        })
    }

    /// Closes the open end with `flow`, which turns the top output back into the bottom
    /// input (Pekko `join`): the result is a flow from `I1` to `O2`. Keeps `self`'s
    /// materialized value.
    pub fn join<M2: 'static>(self, flow: Flow<O1, I2, M2>) -> Flow<I1, O2, Mat> {
        self.join_mat(flow, Keep::left)
    }

    /// Like [`BidiFlow::join`], combining both materialized values.
    pub fn join_mat<M2, M3, C>(self, flow: Flow<O1, I2, M2>, combine: C) -> Flow<I1, O2, M3>
    where
        M2: 'static,
        M3: 'static,
        C: Fn(Mat, M2) -> M3 + Send + Sync + 'static,
    {
        let bidi = self.f;
        Flow::from_materializer(move |i1, attrs| {
            let (hand_over, back) = late::<I2>();
            let (o1, o2, m1) = bidi(i1, back, attrs);
            let (i2, m2) = flow.materialize(o1, attrs);
            let _ = hand_over.send(i2);
            (o2, combine(m1, m2))
        })
    }

    /// The same layer turned around: bottom becomes top (Pekko `reversed`).
    pub fn reversed(self) -> BidiFlow<I2, O2, I1, O1, Mat> {
        let f = self.f;
        BidiFlow::from_materializer(move |i2, i1, attrs| {
            let (o1, o2, m) = f(i1, i2, attrs);
            (o2, o1, m)
        })
    }

    /// Transforms the materialized value.
    pub fn map_materialized_value<M2: 'static, F>(self, g: F) -> BidiFlow<I1, O1, I2, O2, M2>
    where
        F: Fn(Mat) -> M2 + Send + Sync + 'static,
    {
        let f = self.f;
        BidiFlow::from_materializer(move |i1, i2, attrs| {
            let (o1, o2, m) = f(i1, i2, attrs);
            (o1, o2, g(m))
        })
    }
}

impl<I1, O1, I2, O2> BidiFlow<I1, O1, I2, O2, ()>
where
    I1: Send + 'static,
    O1: Send + 'static,
    I2: Send + 'static,
    O2: Send + 'static,
{
    /// From two flows, discarding their materialized values (Pekko `fromFlows`).
    pub fn from_flows<M1: 'static, M2: 'static>(
        top: Flow<I1, O1, M1>,
        bottom: Flow<I2, O2, M2>,
    ) -> Self {
        Self::from_flows_mat(top, bottom, Keep::none)
    }

    /// From two functions, one per direction (Pekko `fromFunctions`).
    pub fn from_functions<F, G>(outbound: F, inbound: G) -> Self
    where
        F: Fn(I1) -> O1 + Send + Sync + 'static,
        G: Fn(I2) -> O2 + Send + Sync + 'static,
    {
        use crate::flow_ops::FlowOps;
        Self::from_flows(Flow::new().map(outbound), Flow::new().map(inbound))
    }
}
