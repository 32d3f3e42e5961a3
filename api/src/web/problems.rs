//! A refused form in words: the engine's problems next to the inputs they name (in sentences),
//! anything else for the whole form, and the status the page answers with. Shared by the pages
//! with forms.

use super::render::PageError;
use crate::app::AppError;
use axum::http::StatusCode;
use orgata_engine::EngineError;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// How a form's inputs are named: the engine's field name, the input's name, and how a sentence
/// about it begins (`("team_name", "team_name", "The team name")`).
pub(super) type Inputs = &'static [(&'static str, &'static str, &'static str)];

/// A refused form: messages next to its inputs (by input name), messages for the whole form, and
/// the status the page answers with.
pub(super) struct Problems {
    pub(super) fields: BTreeMap<String, String>,
    pub(super) general: Vec<String>,
    pub(super) status: StatusCode,
}

impl Problems {
    /// No problem (yet).
    pub(super) fn new() -> Self {
        Problems { fields: BTreeMap::new(), general: Vec::new(), status: StatusCode::UNPROCESSABLE_ENTITY }
    }

    /// One input's problem.
    pub(super) fn field(input: &str, message: impl Into<String>) -> Self {
        let mut problems = Self::new();
        problems.add(input, message);
        problems
    }

    /// Adds a problem of `input` (after any it already has).
    pub(super) fn add(&mut self, input: &str, message: impl Into<String>) {
        let message = message.into();
        self.fields.entry(input.to_string()).and_modify(|m| *m = format!("{m} {message}")).or_insert(message);
    }

    pub(super) fn is_empty(&self) -> bool {
        self.fields.is_empty() && self.general.is_empty()
    }

    /// An engine refusal: validation problems next to the `inputs` they name, anything else for the
    /// whole form. An ended session or a failure on our side is not the form's fault: it becomes
    /// the sign-in redirect or the error page.
    pub(super) fn engine(e: EngineError, inputs: Inputs) -> Result<Self, PageError> {
        use EngineError::*;
        if matches!(e, Unauthenticated(_) | Storage(_) | Migration(_) | Corrupt(_) | Config(_)) {
            return Err(e.into());
        }
        let mut problems = Self::new();
        match &e {
            Validation(list) => {
                for p in list {
                    let name = p.field.trim_start_matches('/').split('/').next().unwrap_or_default();
                    let message = &p.message;
                    match inputs.iter().find(|(field, _, _)| *field == name) {
                        Some((_, input, subject)) => problems.add(input, sentence(&format!("{subject} {message}"))),
                        None if name.is_empty() => problems.general.push(sentence(message)),
                        None => problems.general.push(sentence(&format!("{}: {message}", name.replace('_', " ")))),
                    }
                }
            }
            other => problems.general.push(words(other)),
        }
        problems.status = AppError::from(e).status;
        Ok(problems)
    }

    /// The page context of a refused form: which `section` of the page it was, its problems, and
    /// what was typed (never a password).
    pub(super) fn overlay(&self, section: &str, typed: Value) -> Value {
        json!({ "section": section, "problems": { "fields": self.fields, "general": self.general }, "typed": typed })
    }
}

/// An engine refusal other than invalid input, in words.
fn words(e: &EngineError) -> String {
    match e {
        EngineError::Forbidden(why) => sentence(&format!("You may not do this: {why}")),
        EngineError::NotFound { entity: "totp enrolment", .. } => {
            "No two-factor set-up is in progress (it may have been finished in another window): start it again.".into()
        }
        EngineError::NotFound { entity, .. } => {
            format!("That {} no longer exists, or is not yours to see.", entity.replace('_', " "))
        }
        EngineError::AlreadyExists { entity, name } => format!("A {entity} called “{name}” already exists."),
        EngineError::InvalidTransition { entity: "team", action, .. } if action.contains("owner") => {
            "A team keeps at least one owner: make someone else an owner first.".into()
        }
        EngineError::InvalidTransition { entity: "totp", .. } => {
            "Two-factor sign-in is already on. To set it up again (on a new phone, say), turn it off first.".into()
        }
        EngineError::InvalidTransition { action, entity, state, .. } => {
            format!("You cannot {action} this {entity}: it is {state}.")
        }
        EngineError::Throttled { retry_after_secs, .. } => {
            format!("Too many attempts. Wait {retry_after_secs} seconds and try again.")
        }
        other => sentence(&other.to_string()),
    }
}

/// `text` as a sentence: capitalised, with a full stop, and without code quotes.
fn sentence(text: &str) -> String {
    let text = text.trim().replace("`-`", "hyphens").replace('`', "");
    let mut chars = text.chars();
    let mut out: String = chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default();
    if !out.ends_with(['.', '!', '?']) {
        out.push('.');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_becomes_a_sentence() {
        assert_eq!(sentence("  must be set"), "Must be set.");
    }
}
