//! End-to-end tests: the real `logseal` binary against real stores on
//! disk. One test binary; one module per area.

mod agent;
mod agent_s3;
mod bad_input;
mod common;
mod import;
mod interop;
mod interop_kms;
mod kms_mirror;
mod policy;
mod proofs;
mod relp_crash;
mod rsyslog;
mod s3;
mod search;
mod stream_abuse;
mod tamper;
mod tamper_s3;
