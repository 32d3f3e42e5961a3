//! How an instance moves: given a version's steps, the instance's data and the state of each
//! step's current execution, decide which steps become ready, which are skipped, and whether the
//! instance is done. Pure, so it is tested without a database.

use crate::definition::{Definition, Join, StepKind};
use crate::model::TaskStatus;
use serde_json::Value;
use std::collections::HashMap;

/// What happens to a step that has no current execution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepDecision {
    /// Its dependencies completed and its condition holds: it becomes ready for a person.
    Activate(String),
    /// An automated step that became ready: the engine completes it at once.
    RunAutomated(String),
    /// A dependency did not complete, or its condition does not hold: it never runs.
    Skip(String),
}

/// The outcome of [`plan`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Plan {
    /// Decisions in dependency order.
    pub decisions: Vec<StepDecision>,
    /// True when no step is active or can still become active.
    pub finished: bool,
}

/// Decides what moves next. `states` holds the status of each step's current execution; a step
/// without one is pending. Automated steps complete within the same plan, so their successors can
/// be decided too.
pub fn plan(def: &Definition, data: &Value, states: &HashMap<String, TaskStatus>) -> Plan {
    let mut states = states.clone();
    let mut data = data.clone();
    let mut decisions = Vec::new();
    let order = match def.topological_order() {
        Ok(order) => order,
        // A stored version was validated when saved, so this cannot happen; planning nothing
        // leaves the instance running rather than inventing progress.
        Err(_) => return Plan::default(),
    };
    for key in order {
        if states.contains_key(key) {
            continue;
        }
        let Some(step) = def.step(key) else { continue };
        let deps: Vec<Option<TaskStatus>> = step.depends_on.iter().map(|d| states.get(d).copied()).collect();
        if deps.iter().any(|s| s.is_none_or(TaskStatus::is_active)) {
            continue;
        }
        let satisfied = |s: &Option<TaskStatus>| match s {
            Some(TaskStatus::Completed) => true,
            Some(TaskStatus::Skipped) => step.join == Join::IgnoreSkipped,
            _ => false,
        };
        let runs = deps.iter().all(satisfied) && step.condition.as_ref().is_none_or(|c| c.eval(&data));
        let (decision, state) = match (runs, step.kind) {
            (false, _) => (StepDecision::Skip(key.to_string()), TaskStatus::Skipped),
            (true, StepKind::Automated) => {
                // Its (empty) output is visible to the conditions of later steps, as it will be stored.
                set_step_output(&mut data, key, Value::Object(Default::default()));
                (StepDecision::RunAutomated(key.to_string()), TaskStatus::Completed)
            }
            (true, _) => (StepDecision::Activate(key.to_string()), TaskStatus::Open),
        };
        decisions.push(decision);
        states.insert(key.to_string(), state);
    }
    let finished = !states.values().any(|s| s.is_active());
    Plan { decisions, finished }
}

/// Stores a step's output in the instance data under `steps.<key>`.
pub fn set_step_output(data: &mut Value, key: &str, output: Value) {
    if !data.is_object() {
        *data = Value::Object(Default::default());
    }
    if let Value::Object(root) = data {
        let steps = root.entry("steps").or_insert_with(|| Value::Object(Default::default()));
        if !steps.is_object() {
            *steps = Value::Object(Default::default());
        }
        if let Value::Object(steps) = steps {
            steps.insert(key.to_string(), output);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn def(steps: Value) -> Definition {
        Definition::from_json(json!({ "steps": steps })).expect("valid definition")
    }

    fn states(pairs: &[(&str, TaskStatus)]) -> HashMap<String, TaskStatus> {
        pairs.iter().map(|(k, s)| (k.to_string(), *s)).collect()
    }

    #[test]
    fn starts_roots_and_runs_automated_chain() {
        let d = def(json!([
            {"key": "a", "name": "A", "kind": "automated"},
            {"key": "b", "name": "B", "kind": "task", "depends_on": ["a"], "assignee": {"role": "x"}},
            {"key": "c", "name": "C", "kind": "task", "assignee": {"role": "x"}},
        ]));
        let p = plan(&d, &json!({}), &HashMap::new());
        assert_eq!(
            p.decisions,
            vec![
                StepDecision::RunAutomated("a".into()),
                StepDecision::Activate("b".into()),
                StepDecision::Activate("c".into())
            ]
        );
        assert!(!p.finished);
    }

    #[test]
    fn false_condition_skips_and_skip_cascades() {
        let d = def(json!([
            {"key": "a", "name": "A", "kind": "task", "assignee": {"role": "x"}},
            {"key": "b", "name": "B", "kind": "task", "depends_on": ["a"], "assignee": {"role": "x"},
             "condition": {"var": "input.amount", "op": "gt", "value": 1000}},
            {"key": "c", "name": "C", "kind": "task", "depends_on": ["b"], "assignee": {"role": "x"}},
        ]));
        let p = plan(&d, &json!({"input": {"amount": 10}}), &states(&[("a", TaskStatus::Completed)]));
        assert_eq!(p.decisions, vec![StepDecision::Skip("b".into()), StepDecision::Skip("c".into())]);
        assert!(p.finished);
        let p = plan(&d, &json!({"input": {"amount": 5000}}), &states(&[("a", TaskStatus::Completed)]));
        assert_eq!(p.decisions, vec![StepDecision::Activate("b".into())]);
        assert!(!p.finished);
    }

    #[test]
    fn ignore_skipped_join_continues_after_an_optional_step() {
        let d = def(json!([
            {"key": "a", "name": "A", "kind": "task", "assignee": {"role": "x"}},
            {"key": "opt", "name": "Optional", "kind": "approval", "depends_on": ["a"], "assignee": {"role": "x"},
             "condition": {"var": "input.big", "op": "eq", "value": true}},
            {"key": "strict", "name": "Strict", "kind": "task", "depends_on": ["opt"], "assignee": {"role": "x"}},
            {"key": "after", "name": "After", "kind": "task", "depends_on": ["opt"], "join": "ignore_skipped", "assignee": {"role": "x"}},
        ]));
        let small = plan(&d, &json!({"input": {"big": false}}), &states(&[("a", TaskStatus::Completed)]));
        assert_eq!(
            small.decisions,
            vec![
                StepDecision::Skip("opt".into()),
                StepDecision::Skip("strict".into()),
                StepDecision::Activate("after".into())
            ]
        );
        // A rejection is not a skip: the ignore_skipped step is skipped too.
        let rejected = plan(&d, &json!({}), &states(&[("a", TaskStatus::Completed), ("opt", TaskStatus::Rejected)]));
        assert_eq!(rejected.decisions, vec![StepDecision::Skip("strict".into()), StepDecision::Skip("after".into())]);
    }

    #[test]
    fn join_waits_for_every_branch() {
        let d = def(json!([
            {"key": "a", "name": "A", "kind": "task", "assignee": {"role": "x"}},
            {"key": "b", "name": "B", "kind": "task", "assignee": {"role": "x"}},
            {"key": "c", "name": "C", "kind": "task", "depends_on": ["a", "b"], "assignee": {"role": "x"}},
        ]));
        let p = plan(&d, &json!({}), &states(&[("a", TaskStatus::Completed), ("b", TaskStatus::Started)]));
        assert!(p.decisions.is_empty());
        assert!(!p.finished);
        let p = plan(&d, &json!({}), &states(&[("a", TaskStatus::Completed), ("b", TaskStatus::Rejected)]));
        assert_eq!(p.decisions, vec![StepDecision::Skip("c".into())]);
        assert!(p.finished);
    }
}
