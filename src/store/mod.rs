//! What kctx keeps on disk besides kubeconfigs, and how files are written safely: atomic,
//! locked, owner-keeping writes ([`fsutil`]), private directories that trust nothing others
//! control ([`private`]), the token cache ([`cache`]) and the `use -` / `ns -` state
//! ([`state`]).

pub(crate) mod cache;
pub(crate) mod fsutil;
pub(crate) mod memo;
pub(crate) mod private;
pub(crate) mod state;
