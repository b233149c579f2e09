//! logseal-query: the query server — Cedar authorization, masking, search
//! and the audit of every access.
//!
//! Nothing lives here yet: search is planned after the agent and the S3/KMS
//! store (see `ARCHITECTURE.md`). The crate exists so the workspace already
//! has the boundaries of DESIGN.md §2 — it may only ever write the
//! `_access` stream, never log data.
#![forbid(unsafe_code)]
