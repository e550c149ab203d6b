//! stub
use super::{Args, Ctx, ModResult};
pub(crate) async fn run(_n: &str, _a: &Args, _c: &Ctx<'_>) -> ModResult { Ok(super::failed("todo")) }
