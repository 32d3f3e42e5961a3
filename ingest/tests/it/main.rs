//! The change-data pipeline's tests.

mod archive;
mod avro;
mod import;
mod stream;
