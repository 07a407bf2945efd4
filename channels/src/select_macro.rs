//! `select!`: Go's `select` statement as a macro, over the engine in `select.rs`.
//!
//! The macro binds each operand once (Go evaluates every channel and value
//! expression before choosing), builds one case per arm on the stack, awaits the
//! engine, and runs the chosen arm's body in the enclosing async scope, so `break`,
//! `continue`, `return`, `?` and `.await` in a body act on the code around the select.

use crate::case::Case;
use crate::coop;
use crate::select::Engine;
use crate::{Receiver, Sender};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// What may stand for a channel in a select arm: the handle, or any reference to one.
#[doc(hidden)]
pub trait ChanArg {
    type Target: ?Sized;
    fn chan_arg(&self) -> &Self::Target;
}

impl<T> ChanArg for Receiver<T> {
    type Target = Receiver<T>;
    fn chan_arg(&self) -> &Receiver<T> {
        self
    }
}

impl<T> ChanArg for Sender<T> {
    type Target = Sender<T>;
    fn chan_arg(&self) -> &Sender<T> {
        self
    }
}

impl<R: ChanArg + ?Sized> ChanArg for &R {
    type Target = R::Target;
    fn chan_arg(&self) -> &R::Target {
        (**self).chan_arg()
    }
}

/// The future the macro awaits: `Some(i)` case i was chosen, `None` default.
#[doc(hidden)]
pub fn select<'a, 'c>(
    cases: &'a mut [&'c mut (dyn Case + Send)],
    has_default: bool,
) -> SelectFut<'a, 'c> {
    SelectFut {
        cases,
        engine: Engine::new(has_default),
        proceeded: false,
    }
}

#[doc(hidden)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct SelectFut<'a, 'c> {
    cases: &'a mut [&'c mut (dyn Case + Send)],
    engine: Engine,
    proceeded: bool,
}

impl std::fmt::Debug for SelectFut<'_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SelectFut")
            .field("cases", &self.cases.len())
            .finish()
    }
}

impl Future for SelectFut<'_, '_> {
    type Output = Option<usize>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<usize>> {
        let this = self.get_mut();
        if !this.proceeded {
            std::task::ready!(coop::poll_proceed(cx));
            this.proceeded = true;
        }
        let first = !this.engine.has_waited();
        let r = std::task::ready!(this.engine.poll(this.cases, cx.waker()));
        if first && r.is_some() {
            coop::spend();
        }
        Poll::Ready(r)
    }
}

impl Drop for SelectFut<'_, '_> {
    fn drop(&mut self) {
        self.engine.cancel(self.cases);
    }
}

/// Waits on several channel operations and runs the arm of the one that completes,
/// as Go's `select`.
///
/// ```text
/// gort_channels::select! {
///     recv(rx) -> msg => { /* msg: Option<T>; None once rx is closed and drained */ }
///     send(tx, value) -> res => { /* res: Result<(), SendError<T>> */ }
///     default => { /* optional: taken when no case is ready now */ }
/// }
/// ```
///
/// Exactly one case completes; among those ready together the choice is uniformly
/// random; a case not chosen takes and delivers nothing (a send arm's value is
/// dropped). A send on a closed channel and a receive on a closed, drained channel are
/// ready. Without `default` it waits; `select! {}` never completes. Async code only;
/// the channels' item types must be `Send` (so the select can run in a spawned task).
///
/// ```
/// # futures_lite_block_on(async {
/// let (tx, rx) = gort_channels::bounded::<i32>(1);
/// let (_tx2, rx2) = gort_channels::bounded::<&str>(1);
/// tx.send(7).await.unwrap();
/// let got = gort_channels::select! {
///     recv(rx) -> v => v.unwrap() * 6,
///     recv(rx2) -> _ => unreachable!(),
/// };
/// assert_eq!(got, 42);
/// # });
/// # fn futures_lite_block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     use std::task::{Context, Poll, Waker};
/// #     let mut f = std::pin::pin!(f);
/// #     let mut cx = Context::from_waker(Waker::noop());
/// #     loop { if let Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v } }
/// # }
/// ```
#[macro_export]
macro_rules! select {
    ($($tokens:tt)*) => {
        $crate::__select_parse!(() () $($tokens)*)
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __select_parse {
    (($($c:tt)*) ($($d:tt)*)) => {
        $crate::__select_expand!(($($c)*) ($($d)*))
    };
    (($($c:tt)*) ($($d:tt)*) recv($rx:expr) -> $p:pat => $b:block, $($rest:tt)*) => {
        $crate::__select_parse!(($($c)* [recv __case __chan ($rx) ($p) ($b)]) ($($d)*) $($rest)*)
    };
    (($($c:tt)*) ($($d:tt)*) recv($rx:expr) -> $p:pat => $b:block $($rest:tt)*) => {
        $crate::__select_parse!(($($c)* [recv __case __chan ($rx) ($p) ($b)]) ($($d)*) $($rest)*)
    };
    (($($c:tt)*) ($($d:tt)*) recv($rx:expr) -> $p:pat => $b:expr, $($rest:tt)*) => {
        $crate::__select_parse!(($($c)* [recv __case __chan ($rx) ($p) ($b)]) ($($d)*) $($rest)*)
    };
    (($($c:tt)*) ($($d:tt)*) recv($rx:expr) -> $p:pat => $b:expr) => {
        $crate::__select_parse!(($($c)* [recv __case __chan ($rx) ($p) ($b)]) ($($d)*))
    };
    (($($c:tt)*) ($($d:tt)*) send($tx:expr, $v:expr) -> $p:pat => $b:block, $($rest:tt)*) => {
        $crate::__select_parse!(($($c)* [send __case __chan ($tx, $v) ($p) ($b)]) ($($d)*) $($rest)*)
    };
    (($($c:tt)*) ($($d:tt)*) send($tx:expr, $v:expr) -> $p:pat => $b:block $($rest:tt)*) => {
        $crate::__select_parse!(($($c)* [send __case __chan ($tx, $v) ($p) ($b)]) ($($d)*) $($rest)*)
    };
    (($($c:tt)*) ($($d:tt)*) send($tx:expr, $v:expr) -> $p:pat => $b:expr, $($rest:tt)*) => {
        $crate::__select_parse!(($($c)* [send __case __chan ($tx, $v) ($p) ($b)]) ($($d)*) $($rest)*)
    };
    (($($c:tt)*) ($($d:tt)*) send($tx:expr, $v:expr) -> $p:pat => $b:expr) => {
        $crate::__select_parse!(($($c)* [send __case __chan ($tx, $v) ($p) ($b)]) ($($d)*))
    };
    (($($c:tt)*) () default => $b:block, $($rest:tt)*) => {
        $crate::__select_parse!(($($c)*) (($b)) $($rest)*)
    };
    (($($c:tt)*) () default => $b:block $($rest:tt)*) => {
        $crate::__select_parse!(($($c)*) (($b)) $($rest)*)
    };
    (($($c:tt)*) () default => $b:expr, $($rest:tt)*) => {
        $crate::__select_parse!(($($c)*) (($b)) $($rest)*)
    };
    (($($c:tt)*) () default => $b:expr) => {
        $crate::__select_parse!(($($c)*) (($b)))
    };
    (($($c:tt)*) ($($d:tt)+) default $($rest:tt)*) => {
        ::core::compile_error!("select! has more than one `default` arm")
    };
    (($($c:tt)*) ($($d:tt)*) $($rest:tt)+) => {
        ::core::compile_error!(
            "select! arms are `recv(rx) -> msg => body`, `send(tx, value) -> res => body` or `default => body`"
        )
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __select_expand {
    (($([$kind:ident $case:ident $chan:ident ($($op:tt)*) ($p:pat) ($b:expr)])*) ($($d:tt)*)) => {{
        $( $crate::__select_case!($kind $case $chan $($op)*); )*
        {
            let __cases: &mut [&mut (dyn $crate::__private::Case + ::core::marker::Send)] =
                &mut [$(&mut $case as &mut (dyn $crate::__private::Case + ::core::marker::Send)),*];
            $crate::__private::select(__cases, $crate::__select_has_default!($($d)*)).await;
        }
        $( if $case.is_chosen() { let $p = $case.into_output(); $b } else )* {
            $crate::__select_default!($($d)*)
        }
    }};
}

#[doc(hidden)]
#[macro_export]
macro_rules! __select_case {
    (recv $case:ident $chan:ident $rx:expr) => {
        let $chan = &$rx;
        #[allow(unused_mut)]
        let mut $case =
            $crate::__private::RecvCase::new($crate::__private::ChanArg::chan_arg($chan));
    };
    (send $case:ident $chan:ident $tx:expr, $v:expr) => {
        let $chan = &$tx;
        #[allow(unused_mut)]
        let mut $case =
            $crate::__private::SendCase::new($crate::__private::ChanArg::chan_arg($chan), $v);
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __select_has_default {
    () => {
        false
    };
    ($($d:tt)+) => {
        true
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __select_default {
    () => {
        ::core::unreachable!("select! completed without a chosen case")
    };
    (($b:expr)) => {
        $b
    };
}
