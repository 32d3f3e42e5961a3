//! Orgata's change-data pipeline (design.md): tails the engine's change log in commit order,
//! encodes each change as an Avro record, keeps the raw Avro change archive, converts batches to
//! Arrow and commits them exactly once to the warehouse's Delta tables; imports XES and CSV event
//! logs into the same tables. Built in the change-data issue; the engine side it reads — the
//! change log and `Store::read_changes` — exists today.
