//! End-to-end tests across Orgata's crates live in `tests/it/`: real databases, and later a real
//! server, MCP client and browser. This library is empty on purpose.
