//! Sealed data files: encrypted Parquet holding one file's records.
//!
//! [`schema`] names the columns and their key domains, [`write`] turns
//! records into an encrypted file, [`read`] turns one back into rows.

pub mod read;
pub mod schema;
pub mod write;
