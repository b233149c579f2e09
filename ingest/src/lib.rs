//! logseal-ingest: the agent's listeners (HTTPS, syslog over TLS, RELP),
//! framing, write-ahead log, batching and backpressure.
//!
//! Nothing lives here yet: the agent is the next piece of work (see
//! `ARCHITECTURE.md`). The crate exists so the workspace already has the
//! boundaries of DESIGN.md §2 — in particular, this crate must never decrypt.
#![forbid(unsafe_code)]
