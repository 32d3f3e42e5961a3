//! SQL notebooks for analysts and their runner (design.md), over the warehouse and reports.
