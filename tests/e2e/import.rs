//! `logseal import` behaviour.
