//! YAML as kubectl (sigs.k8s.io/yaml over go-yaml v2, a YAML 1.1 reader) reads it, and edits
//! that keep everything they do not change. Nothing here knows what a kubeconfig is: the
//! kubeconfig model and its operations (`crate::kubeconfig`) and the aws-auth reader
//! (`crate::aws::auth_map`) are built on it.
//!
//! - [`compat`]: what go-yaml reads otherwise than kctx's parser, refused with one line;
//! - [`document`]: a file's text and the byte span of every node in it, values typed as
//!   go-yaml v2 types them, aliases and `<<` merges followed as it follows them;
//! - [`emit`]: scalars and blocks written so that every YAML 1.1/1.2 reader reads them back
//!   as the same data;
//! - [`editor`]: changes as splices of the text, proven by re-parsing, with a whole-file
//!   rewrite as the announced fallback.

pub(crate) mod compat;
pub(crate) mod document;
pub(crate) mod editor;
pub(crate) mod emit;
