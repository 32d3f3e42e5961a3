//! Orgata's analytics over the warehouse (design.md): process metrics, bottleneck analysis, ML
//! predictions, what-if simulation, narratives and executive summaries, alerts, and the view
//! models of dashboards. Built in the analytics issues.
