//! The change-data pipeline's tests.

mod avro;
