//! stub
use super::{Args, Ctx, ModResult};
pub(crate) async fn user(_a: &Args, _c: &Ctx<'_>) -> ModResult { Ok(super::failed("todo")) }
pub(crate) async fn group(_a: &Args, _c: &Ctx<'_>) -> ModResult { Ok(super::failed("todo")) }
