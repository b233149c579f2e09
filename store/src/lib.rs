//! logseal-store
