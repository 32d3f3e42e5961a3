//! The demo organisation's content: its teams and people, its five playbooks (as the JSON a user
//! would write), how long each step's work takes in the simulation, and realistic instance input.

use super::{Hours, Rng, lognormal, pick, weighted};
use crate::error::Result;
use crate::ids::UserId;
use chrono::{DateTime, Days, Utc};
use rand::Rng as _;
use rand::seq::IndexedRandom;
use serde_json::{Value, json};

/// The teams, in the order they are created.
pub(super) const TEAMS: &[&str] = &["Operations", "Support", "Finance", "People", "Legal"];

/// The email local part of the administrator, who owns every team.
pub(super) const ADMIN_LOGIN: &str = "admin";
/// The administrator's display name.
pub(super) const ADMIN_NAME: &str = "Acme Administrator";

/// A member of staff: email local part, display name and `(team, role)` memberships.
pub(super) struct Person {
    pub login: &'static str,
    pub name: &'static str,
    pub teams: &'static [(&'static str, &'static str)],
}

const fn person(login: &'static str, name: &'static str, teams: &'static [(&'static str, &'static str)]) -> Person {
    Person { login, name, teams }
}

/// Everyone but the administrator. Roles are the ones the playbooks' assignee rules name.
pub(super) const PEOPLE: &[Person] = &[
    person("olivia", "Olivia Chen", &[("Operations", "manager"), ("Finance", "requester")]),
    person("noah", "Noah Williams", &[("Operations", "engineer")]),
    person("ava", "Ava Patel", &[("Operations", "engineer")]),
    person("lucas", "Lucas Moreau", &[("Operations", "engineer")]),
    person("liam", "Liam O'Connor", &[("Operations", "oncall")]),
    person("mia", "Mia Johansson", &[("Operations", "oncall")]),
    person("ethan", "Ethan Brooks", &[("Operations", "oncall")]),
    person("sophia", "Sophia Martinez", &[("Support", "manager"), ("Finance", "requester"), ("Legal", "requester")]),
    person("james", "James Walker", &[("Support", "agent")]),
    person("emma", "Emma Schneider", &[("Support", "agent")]),
    person("oliver", "Oliver Nguyen", &[("Support", "agent")]),
    person("isabella", "Isabella Rossi", &[("Support", "specialist")]),
    person("mason", "Mason Clark", &[("Support", "sales"), ("Finance", "requester"), ("Legal", "requester")]),
    person("victoria", "Victoria Hughes", &[("Finance", "director")]),
    person("daniel", "Daniel Kim", &[("Finance", "manager"), ("Legal", "requester")]),
    person("grace", "Grace Okafor", &[("Finance", "finance"), ("People", "payroll")]),
    person("henry", "Henry Lindqvist", &[("Finance", "finance"), ("Legal", "finance")]),
    person("charlotte", "Charlotte Davis", &[("People", "manager"), ("Finance", "requester")]),
    person("amelia", "Amelia Novak", &[("People", "hr")]),
    person("benjamin", "Benjamin Adeyemi", &[("People", "hr")]),
    person("jack", "Jack Thompson", &[("People", "it")]),
    // The only lawyer: every contract review and approval waits for her (the demo's bottleneck).
    person("eleanor", "Eleanor Fitzgerald", &[("Legal", "legal")]),
    person("leo", "Leo Fischer", &[("Legal", "coordinator")]),
];

/// How people work on a step: median minutes (of working time) until someone notices it, median
/// minutes of work once started, (approvals) how often the first attempt is rejected, and when.
#[derive(Debug, Clone, Copy)]
pub(super) struct Profile {
    pub pickup: f64,
    pub work: f64,
    pub reject: f64,
    pub hours: Hours,
}

/// Work in office hours.
const fn work(pickup: f64, work: f64) -> Profile {
    Profile { pickup, work, reject: 0.0, hours: Hours::Office }
}

/// Work done by whoever is on call, at any hour.
const fn on_call(pickup: f64, work: f64) -> Profile {
    Profile { pickup, work, reject: 0.0, hours: Hours::Always }
}

/// A decision in office hours, rejected with probability `reject` the first time.
const fn approval(pickup: f64, work: f64, reject: f64) -> Profile {
    Profile { pickup, work, reject, hours: Hours::Office }
}

/// What a step without a profile of its own takes.
const DEFAULT_PROFILE: Profile = work(30.0, 30.0);

/// Makes a title and input for a new instance at the given time.
pub(super) type InputFn = fn(&mut Rng, DateTime<Utc>) -> (String, Value);

/// A playbook of the demo and how the simulation runs it.
pub(super) struct PlaybookSpec {
    pub name: &'static str,
    pub team: &'static str,
    /// Share of all new instances.
    pub weight: f64,
    /// Instances arrive at any hour of every day (incidents), not mostly in office hours on weekdays.
    pub around_the_clock: bool,
    /// Roles whose members start instances.
    pub starters: &'static [&'static str],
    /// The definition, as stored.
    pub definition: Value,
    pub profiles: Vec<(&'static str, Profile)>,
    pub input: InputFn,
}

impl PlaybookSpec {
    /// How people work on step `key`.
    pub fn profile(&self, key: &str) -> Profile {
        self.profiles.iter().find(|(k, _)| *k == key).map_or(DEFAULT_PROFILE, |(_, p)| *p)
    }
}

/// The five playbooks; `user` resolves the email local part of a person to their id (for
/// assignee rules naming a user).
pub(super) fn all(user: impl Fn(&str) -> Result<UserId>) -> Result<Vec<PlaybookSpec>> {
    Ok(vec![
        incident_response(&user("olivia")?),
        customer_onboarding(),
        purchase_approval(&user("victoria")?),
        employee_onboarding(&user("charlotte")?),
        contract_review(),
    ])
}

// ---- schema helpers ----------------------------------------------------------------------------

/// An object schema with these required fields and properties.
fn object(required: &[&str], properties: Value) -> Value {
    json!({ "type": "object", "required": required, "properties": properties })
}

/// A string that is one of `values`.
fn one_of(values: &[&str]) -> Value {
    json!({ "type": "string", "enum": values })
}

/// Free text, with examples (which the simulation also fills in).
fn text(examples: &[&str]) -> Value {
    json!({ "type": "string", "minLength": 1, "maxLength": 2000, "examples": examples })
}

/// A reference number like `PO-123456`.
fn reference(prefix: &str, digits: u32) -> Value {
    json!({ "type": "string", "pattern": format!("^{prefix}-[0-9]{{{digits}}}$") })
}

/// The form of an approval: an optional comment.
fn approval_form() -> Value {
    object(
        &[],
        json!({ "comment": text(&["Looks good.", "Approved.", "Fine by me, go ahead.", "OK — thanks for the detail."]) }),
    )
}

fn var(path: &str, op: &str, value: Value) -> Value {
    json!({ "var": path, "op": op, "value": value })
}

// ---- incident response -------------------------------------------------------------------------

const SERVICES: &[&str] =
    &["checkout", "payments-api", "search", "auth", "mobile-app", "data-pipeline", "notifications"];
const SYMPTOMS: &[&str] = &[
    "elevated error rate",
    "latency above SLO",
    "timeouts from upstream",
    "failed deployment",
    "disk almost full",
    "certificate expiring",
    "queue backlog growing",
    "login failures reported",
];

fn incident_response(ops_manager: &UserId) -> PlaybookSpec {
    let severe = var("input.severity", "in", json!(["sev1", "sev2"]));
    let definition = json!({
        "description": "Detect, fix and learn from production incidents.",
        "input_schema": object(&["service", "severity", "summary"], json!({
            "service": one_of(SERVICES),
            "severity": one_of(&["sev1", "sev2", "sev3", "sev4"]),
            "summary": { "type": "string", "minLength": 5, "maxLength": 200 },
            "customer_impact": { "type": "boolean" },
            "reported_by": one_of(&["monitoring", "customer", "internal"]),
        })),
        "steps": [
            { "key": "triage", "name": "Triage", "kind": "form", "assignee": { "round_robin": "oncall" }, "sla": "30m",
              "form": object(&["impact", "category"], json!({
                  "impact": { "type": "string", "enum": ["minor", "major", "critical"],
                              "examples": ["minor", "minor", "minor", "major", "major", "critical"] },
                  "category": one_of(&["bug", "capacity", "dependency", "configuration", "security"]),
                  "affected_users": { "type": "integer", "minimum": 0, "maximum": 50000 },
              })) },
            { "key": "notify_customers", "name": "Notify customers", "kind": "task", "depends_on": ["triage"],
              "assignee": { "role": "oncall" }, "sla": "1h",
              "condition": var("input.customer_impact", "eq", json!(true)),
              "form": object(&["channel"], json!({
                  "channel": one_of(&["status page", "email", "in-app banner"]),
                  "message": text(&["We are investigating degraded service.", "A fix is being rolled out.", "Some users may see errors; we are on it."]),
              })) },
            { "key": "escalate", "name": "Escalate to management", "kind": "task", "depends_on": ["triage"],
              "assignee": { "user": ops_manager }, "sla": "1h",
              "condition": var("input.severity", "eq", json!("sev1")),
              "form": object(&["bridge_opened"], json!({ "bridge_opened": { "type": "boolean" } })) },
            { "key": "investigate", "name": "Investigate", "kind": "task", "depends_on": ["triage"],
              "assignee": { "role": "engineer" }, "sla": "4h",
              "form": object(&["root_cause"], json!({
                  "root_cause": text(&["Connection pool exhausted", "Bad configuration pushed", "Third-party API degraded",
                                       "Memory leak after release", "Missing database index", "Expired credentials"]),
              })) },
            { "key": "fix", "name": "Fix", "kind": "task", "depends_on": ["investigate"],
              "assignee": { "role": "engineer" }, "sla": "1d",
              "form": object(&["change_ref"], json!({ "change_ref": reference("CHG", 5), "rolled_back": { "type": "boolean" } })) },
            { "key": "verify", "name": "Verify fix", "kind": "approval", "depends_on": ["fix"],
              "assignee": { "role": "manager" }, "sla": "4h", "form": approval_form(),
              "on_reject": { "rework": "fix" } },
            { "key": "postmortem", "name": "Write post-mortem", "kind": "form", "depends_on": ["verify"], "follow_up": true,
              "assignee": { "role": "engineer" }, "sla": "5d",
              "condition": { "any": [severe, var("steps.triage.impact", "eq", json!("critical"))] },
              "form": object(&["summary", "action_items"], json!({
                  "summary": text(&["Capacity planning missed a seasonal peak.", "Alerting fired late; thresholds adjusted.",
                                    "Rollback took too long; added a runbook."]),
                  "action_items": { "type": "integer", "minimum": 1, "maximum": 8 },
              })) },
            { "key": "close", "name": "Close incident", "kind": "automated", "depends_on": ["verify"] },
        ],
    });
    PlaybookSpec {
        name: "Incident response",
        team: "Operations",
        weight: 0.20,
        around_the_clock: true,
        starters: &["oncall", "engineer"],
        definition,
        profiles: vec![
            ("triage", on_call(5.0, 15.0)),
            ("notify_customers", on_call(10.0, 15.0)),
            ("escalate", on_call(10.0, 10.0)),
            ("investigate", work(20.0, 40.0)),
            ("fix", work(30.0, 45.0)),
            ("verify", approval(45.0, 10.0, 0.15)),
            ("postmortem", work(480.0, 90.0)),
        ],
        input: incident_input,
    }
}

fn incident_input(rng: &mut Rng, _now: DateTime<Utc>) -> (String, Value) {
    let service = pick(rng, SERVICES);
    let symptom = pick(rng, SYMPTOMS);
    let severity = weighted(rng, &[("sev1", 0.05), ("sev2", 0.15), ("sev3", 0.45), ("sev4", 0.35)]);
    let customer_impact = matches!(severity, "sev1" | "sev2") || rng.random_bool(0.25);
    let reported_by = weighted(rng, &[("monitoring", 0.7), ("customer", 0.2), ("internal", 0.1)]);
    let title = format!("{} {service}: {symptom}", severity.to_uppercase());
    let input = json!({
        "service": service,
        "severity": severity,
        "summary": format!("{symptom} on {service}"),
        "customer_impact": customer_impact,
        "reported_by": reported_by,
    });
    (title, input)
}

// ---- customer onboarding ------------------------------------------------------------------------

const COMPANY_NAMES: &[&str] = &[
    "Northwind",
    "Globex",
    "Initech",
    "Umbrella",
    "Stark",
    "Wayne",
    "Hooli",
    "Soylent",
    "Tyrell",
    "Cyberdyne",
    "Wonka",
    "Vandelay",
    "Pied Piper",
    "Massive Dynamic",
    "Oscorp",
    "Aperture",
    "Gringotts",
    "Monarch",
];
const COMPANY_KINDS: &[&str] =
    &["Traders", "Logistics", "Health", "Retail", "Systems", "Foods", "Labs", "Energy", "Media", "Bank"];

/// A made-up company name.
fn company(rng: &mut Rng) -> String {
    format!("{} {}", pick(rng, COMPANY_NAMES), pick(rng, COMPANY_KINDS))
}

fn customer_onboarding() -> PlaybookSpec {
    let definition = json!({
        "description": "Take a newly signed customer from contract to first value.",
        "input_schema": object(&["customer", "plan", "seats"], json!({
            "customer": { "type": "string", "minLength": 2, "maxLength": 120 },
            "plan": one_of(&["starter", "growth", "enterprise"]),
            "seats": { "type": "integer", "minimum": 1 },
            "region": one_of(&["EU", "US", "APAC"]),
            "annual_value": { "type": "number", "minimum": 0 },
        })),
        "steps": [
            { "key": "kickoff", "name": "Kick-off call", "kind": "form", "assignee": { "round_robin": "agent" }, "sla": "1d",
              "form": object(&["primary_contact", "go_live_date"], json!({
                  "primary_contact": text(&["Head of IT", "Operations lead", "CFO office", "Project manager"]),
                  "go_live_date": { "type": "string", "format": "date" },
                  "success_criteria": text(&["All teams onboarded", "Replace legacy tool", "Weekly reporting live"]),
              })) },
            { "key": "account_setup", "name": "Set up account", "kind": "task", "depends_on": ["kickoff"],
              "assignee": { "role": "agent" }, "sla": "2d",
              "form": object(&["workspace_id", "sso_enabled"], json!({
                  "workspace_id": reference("WS", 5), "sso_enabled": { "type": "boolean" },
              })) },
            { "key": "data_migration", "name": "Migrate data", "kind": "task", "depends_on": ["kickoff"],
              "assignee": { "role": "specialist" }, "sla": "3d",
              "condition": var("input.plan", "in", json!(["growth", "enterprise"])),
              "form": object(&["records_migrated"], json!({
                  "records_migrated": { "type": "integer", "minimum": 0, "maximum": 2000000 },
              })) },
            { "key": "training", "name": "Train users", "kind": "task", "depends_on": ["account_setup"],
              "assignee": { "role": "agent" }, "sla": "3d",
              "form": object(&["attendees"], json!({ "attendees": { "type": "integer", "minimum": 1, "maximum": 60 } })) },
            { "key": "signoff", "name": "Onboarding sign-off", "kind": "approval", "depends_on": ["training"],
              "assignee": { "role": "manager" }, "sla": "1d", "form": approval_form(),
              "on_reject": { "rework": "account_setup" } },
            { "key": "handover", "name": "Hand over to account management", "kind": "automated", "depends_on": ["signoff"] },
        ],
    });
    PlaybookSpec {
        name: "Customer onboarding",
        team: "Support",
        weight: 0.20,
        around_the_clock: false,
        starters: &["sales", "manager"],
        definition,
        profiles: vec![
            ("kickoff", work(60.0, 30.0)),
            ("account_setup", work(60.0, 45.0)),
            ("data_migration", work(120.0, 75.0)),
            ("training", work(240.0, 45.0)),
            ("signoff", approval(120.0, 10.0, 0.10)),
        ],
        input: customer_input,
    }
}

fn customer_input(rng: &mut Rng, _now: DateTime<Utc>) -> (String, Value) {
    let customer = company(rng);
    let plan = weighted(rng, &[("starter", 0.45), ("growth", 0.35), ("enterprise", 0.20)]);
    let (median_seats, price) = match plan {
        "starter" => (8.0, 240.0),
        "growth" => (40.0, 360.0),
        _ => (250.0, 480.0),
    };
    let seats = lognormal(rng, median_seats, 0.6).round().max(1.0) as i64;
    let region = weighted(rng, &[("EU", 0.5), ("US", 0.35), ("APAC", 0.15)]);
    let title = format!("Onboard {customer} ({plan}, {seats} seats)");
    let input = json!({
        "customer": customer,
        "plan": plan,
        "seats": seats,
        "region": region,
        "annual_value": seats as f64 * price,
    });
    (title, input)
}

// ---- purchase approval --------------------------------------------------------------------------

/// Purchases above this many euros need the finance director's approval.
const DIRECTOR_THRESHOLD: f64 = 5000.0;

/// What is bought: item, category, vendors and the median amount in euros.
const PURCHASES: &[(&str, &str, &[&str], f64)] = &[
    ("Laptops", "hardware", &["Dell", "Lenovo", "Apple"], 4200.0),
    ("Monitors", "hardware", &["Dell", "LG", "Samsung"], 1500.0),
    ("Design tool licences", "software", &["Figma", "Adobe"], 1800.0),
    ("Cloud credits", "software", &["AWS", "Google Cloud", "Azure"], 6000.0),
    ("Security audit", "services", &["NCC Group", "Bishop Fox"], 14000.0),
    ("Conference tickets", "travel", &["Eventbrite", "Web Summit"], 900.0),
    ("Team offsite", "travel", &["Booking.com", "Hilton"], 3500.0),
    ("Office chairs", "office", &["Herman Miller", "Steelcase"], 2600.0),
    ("Printer supplies", "office", &["Staples", "Viking"], 250.0),
];
const COST_CENTRES: &[&str] = &["OPS-100", "SUP-200", "FIN-300", "PPL-400", "LEG-500"];

fn purchase_approval(director: &UserId) -> PlaybookSpec {
    let order_form = || {
        object(
            &["po_number"],
            json!({
                "po_number": reference("PO", 6),
                "expected_delivery": { "type": "string", "format": "date" },
            }),
        )
    };
    let definition = json!({
        "description": "Check, approve and order a purchase; large ones need the finance director.",
        "input_schema": object(&["item", "vendor", "amount", "category", "cost_centre"], json!({
            "item": { "type": "string", "minLength": 2, "maxLength": 200 },
            "vendor": { "type": "string", "minLength": 2, "maxLength": 200 },
            "amount": { "type": "number", "exclusiveMinimum": 0 },
            "currency": one_of(&["EUR"]),
            "category": one_of(&["hardware", "software", "services", "travel", "office"]),
            "cost_centre": one_of(COST_CENTRES),
        })),
        "steps": [
            { "key": "budget_check", "name": "Check budget", "kind": "form", "assignee": { "round_robin": "finance" }, "sla": "1d",
              "form": object(&["budget_available"], json!({
                  "budget_available": { "type": "boolean", "examples": [true, true, true, true, false] },
                  "remaining_budget": { "type": "number", "minimum": 0, "maximum": 250000 },
              })) },
            { "key": "vendor_check", "name": "Check vendor", "kind": "task", "assignee": { "role": "finance" }, "sla": "1d",
              "form": object(&["vendor_status"], json!({ "vendor_status": one_of(&["approved", "new", "watchlist"]) })) },
            { "key": "manager_approval", "name": "Manager approval", "kind": "approval",
              "depends_on": ["budget_check", "vendor_check"], "assignee": { "role": "manager" }, "sla": "1d",
              "form": approval_form(), "on_reject": { "rework": "budget_check" } },
            { "key": "director_approval", "name": "Director approval", "kind": "approval", "depends_on": ["manager_approval"],
              "assignee": { "user": director }, "sla": "2d", "form": approval_form(),
              "condition": var("input.amount", "gt", json!(DIRECTOR_THRESHOLD)),
              "on_reject": "end_process" },
            { "key": "place_order", "name": "Place order", "kind": "task", "depends_on": ["manager_approval"],
              "assignee": { "role": "finance" }, "sla": "1d", "form": order_form(),
              "condition": var("input.amount", "lte", json!(DIRECTOR_THRESHOLD)) },
            { "key": "place_large_order", "name": "Place director-approved order", "kind": "task",
              "depends_on": ["director_approval"], "assignee": { "role": "finance" }, "sla": "1d", "form": order_form() },
        ],
    });
    PlaybookSpec {
        name: "Purchase approval",
        team: "Finance",
        weight: 0.32,
        around_the_clock: false,
        starters: &["requester"],
        definition,
        profiles: vec![
            ("budget_check", work(60.0, 20.0)),
            ("vendor_check", work(60.0, 10.0)),
            ("manager_approval", approval(90.0, 10.0, 0.12)),
            // The director reads approvals about once a day: the slow step of the process.
            ("director_approval", approval(600.0, 15.0, 0.10)),
            ("place_order", work(60.0, 15.0)),
            ("place_large_order", work(60.0, 15.0)),
        ],
        input: purchase_input,
    }
}

fn purchase_input(rng: &mut Rng, _now: DateTime<Utc>) -> (String, Value) {
    let index = rng.random_range(0..PURCHASES.len());
    let (item, category, vendors, median) = PURCHASES[index];
    let vendor = pick(rng, vendors);
    let amount = (lognormal(rng, median, 0.8).clamp(20.0, 250_000.0) * 100.0).round() / 100.0;
    let title = format!("{item} from {vendor} ({amount:.0} EUR)");
    let input = json!({
        "item": item,
        "vendor": vendor,
        "amount": amount,
        "currency": "EUR",
        "category": category,
        "cost_centre": pick(rng, COST_CENTRES),
    });
    (title, input)
}

// ---- employee onboarding ------------------------------------------------------------------------

const FIRST_NAMES: &[&str] = &[
    "Aisha", "Bruno", "Chloe", "Diego", "Elif", "Felix", "Hana", "Ivan", "Jonas", "Kira", "Luca", "Maya", "Nils",
    "Omar", "Priya", "Rosa", "Sven", "Tariq", "Uma", "Yusuf",
];
const LAST_NAMES: &[&str] = &[
    "Almeida",
    "Berg",
    "Costa",
    "Dubois",
    "Eriksen",
    "Fernandes",
    "Gupta",
    "Hoffmann",
    "Ito",
    "Jansen",
    "Kowalski",
    "Larsen",
    "Mensah",
    "Nakamura",
    "Ortega",
    "Popescu",
    "Quinn",
    "Silva",
    "Tanaka",
    "Weber",
];
/// Departments and the jobs hired into them.
const JOBS: &[(&str, &[&str])] = &[
    ("Engineering", &["Software Engineer", "Site Reliability Engineer", "Data Engineer"]),
    ("Sales", &["Account Executive", "Sales Development Rep"]),
    ("Support", &["Support Agent", "Onboarding Specialist"]),
    ("Finance", &["Accountant", "Financial Analyst"]),
    ("Operations", &["Operations Analyst", "Office Manager"]),
];

fn employee_onboarding(people_lead: &UserId) -> PlaybookSpec {
    let definition = json!({
        "description": "Everything a new colleague needs before and on their first day.",
        "input_schema": object(&["employee_name", "job_title", "department", "start_date", "employment_type"], json!({
            "employee_name": { "type": "string", "minLength": 2, "maxLength": 120 },
            "job_title": { "type": "string", "minLength": 2, "maxLength": 120 },
            "department": one_of(&JOBS.iter().map(|(d, _)| *d).collect::<Vec<_>>()),
            "start_date": { "type": "string", "format": "date" },
            "employment_type": one_of(&["full_time", "part_time", "contractor"]),
            "needs_laptop": { "type": "boolean" },
        })),
        "steps": [
            { "key": "contract", "name": "Prepare contract", "kind": "form", "assignee": { "role": "hr" }, "sla": "2d",
              "form": object(&["salary_band", "contract_signed"], json!({
                  "salary_band": one_of(&["B1", "B2", "B3", "B4", "B5"]),
                  "contract_signed": { "const": true },
              })) },
            { "key": "background_check", "name": "Background check", "kind": "task",
              "assignee": { "round_robin": "hr" }, "sla": "3d",
              "condition": var("input.employment_type", "ne", json!("contractor")),
              "form": object(&["result"], json!({
                  "result": { "type": "string", "enum": ["clear", "follow-up"], "examples": ["clear", "clear", "clear", "follow-up"] },
              })) },
            { "key": "it_account", "name": "Create accounts", "kind": "task", "depends_on": ["contract"],
              "assignee": { "role": "it" }, "sla": "1d",
              "form": object(&["account_id"], json!({ "account_id": reference("U", 5) })) },
            { "key": "laptop", "name": "Prepare laptop", "kind": "task", "depends_on": ["contract"],
              "assignee": { "role": "it" }, "sla": "3d",
              "condition": var("input.needs_laptop", "eq", json!(true)),
              "form": object(&["asset_tag"], json!({ "asset_tag": reference("LT", 5) })) },
            { "key": "payroll", "name": "Add to payroll", "kind": "task", "depends_on": ["contract"],
              "assignee": { "role": "payroll" }, "sla": "2d",
              "form": object(&["payroll_id"], json!({ "payroll_id": reference("EMP", 5) })) },
            { "key": "hr_signoff", "name": "HR sign-off", "kind": "approval", "depends_on": ["it_account", "payroll"],
              "assignee": { "user": people_lead }, "sla": "1d", "form": approval_form(), "on_reject": "end_path" },
            { "key": "welcome", "name": "First-day welcome", "kind": "task", "depends_on": ["hr_signoff"],
              "assignee": { "role": "hr" }, "sla": "1d",
              "form": object(&[], json!({ "notes": text(&["Desk ready, buddy assigned.", "Welcome lunch booked.", "Remote start, kit shipped."]) })) },
        ],
    });
    PlaybookSpec {
        name: "Employee onboarding",
        team: "People",
        weight: 0.10,
        around_the_clock: false,
        starters: &["hr", "manager"],
        definition,
        profiles: vec![
            ("contract", work(120.0, 40.0)),
            ("background_check", work(240.0, 30.0)),
            ("it_account", work(90.0, 25.0)),
            ("laptop", work(240.0, 60.0)),
            ("payroll", work(180.0, 20.0)),
            ("hr_signoff", approval(180.0, 10.0, 0.05)),
            ("welcome", work(240.0, 30.0)),
        ],
        input: employee_input,
    }
}

fn employee_input(rng: &mut Rng, now: DateTime<Utc>) -> (String, Value) {
    let name = format!("{} {}", pick(rng, FIRST_NAMES), pick(rng, LAST_NAMES));
    let (department, jobs) = JOBS[rng.random_range(0..JOBS.len())];
    let job = pick(rng, jobs);
    let start_date = now.date_naive() + Days::new(rng.random_range(7..=35));
    let employment_type = weighted(rng, &[("full_time", 0.75), ("part_time", 0.1), ("contractor", 0.15)]);
    let title = format!("Onboard {name}, {job}");
    let input = json!({
        "employee_name": name,
        "job_title": job,
        "department": department,
        "start_date": start_date.format("%Y-%m-%d").to_string(),
        "employment_type": employment_type,
        "needs_laptop": rng.random_bool(0.85),
    });
    (title, input)
}

// ---- contract review ----------------------------------------------------------------------------

/// Contract types, their share and median value in euros.
const CONTRACTS: &[(&str, f64, f64)] = &[
    ("nda", 0.35, 0.0),
    ("msa", 0.2, 60_000.0),
    ("dpa", 0.15, 0.0),
    ("sow", 0.2, 25_000.0),
    ("reseller", 0.1, 90_000.0),
];

fn contract_review() -> PlaybookSpec {
    let definition = json!({
        "description": "Review, approve and sign a contract with a customer, supplier or partner.",
        "input_schema": object(&["counterparty", "contract_type", "value"], json!({
            "counterparty": { "type": "string", "minLength": 2, "maxLength": 120 },
            "contract_type": one_of(&CONTRACTS.iter().map(|(t, ..)| *t).collect::<Vec<_>>()),
            "value": { "type": "number", "minimum": 0 },
            "term_months": { "type": "integer", "minimum": 1, "maximum": 60 },
        })),
        "steps": [
            { "key": "intake", "name": "Intake", "kind": "form", "assignee": { "role": "coordinator" }, "sla": "4h",
              "form": object(&["risk", "standard_template"], json!({
                  "risk": one_of(&["low", "medium", "high"]),
                  "standard_template": { "type": "boolean" },
              })) },
            { "key": "legal_review", "name": "Legal review", "kind": "task", "depends_on": ["intake"],
              "assignee": { "role": "legal" }, "sla": "3d",
              "form": object(&["redlines", "risk_rating"], json!({
                  "redlines": { "type": "integer", "minimum": 0, "maximum": 40 },
                  "risk_rating": one_of(&["acceptable", "needs negotiation", "high"]),
              })) },
            { "key": "finance_review", "name": "Finance review", "kind": "task", "depends_on": ["intake"],
              "assignee": { "role": "finance" }, "sla": "2d",
              "condition": var("input.value", "gt", json!(50000)),
              "form": object(&["revenue_recognition"], json!({
                  "revenue_recognition": one_of(&["standard", "deferred", "milestone"]),
              })) },
            { "key": "approve", "name": "Approve terms", "kind": "approval", "depends_on": ["legal_review"],
              "assignee": { "role": "legal" }, "sla": "1d", "form": approval_form(), "on_reject": "end_process" },
            { "key": "signature", "name": "Collect signatures", "kind": "task", "depends_on": ["approve"],
              "assignee": { "round_robin": "coordinator" }, "sla": "2d",
              "form": object(&["signed_on"], json!({ "signed_on": { "type": "string", "format": "date" } })) },
            { "key": "archive", "name": "Archive contract", "kind": "automated", "depends_on": ["signature"] },
        ],
    });
    PlaybookSpec {
        name: "Contract review",
        team: "Legal",
        weight: 0.18,
        around_the_clock: false,
        starters: &["requester", "coordinator"],
        definition,
        profiles: vec![
            ("intake", work(45.0, 15.0)),
            ("legal_review", work(60.0, 55.0)),
            ("finance_review", work(120.0, 30.0)),
            ("approve", approval(30.0, 10.0, 0.08)),
            ("signature", work(240.0, 20.0)),
        ],
        input: contract_input,
    }
}

fn contract_input(rng: &mut Rng, _now: DateTime<Utc>) -> (String, Value) {
    let counterparty = company(rng);
    let shares: Vec<(&str, f64)> = CONTRACTS.iter().map(|(t, share, _)| (*t, *share)).collect();
    let kind = weighted(rng, &shares);
    let median = CONTRACTS.iter().find(|(t, ..)| *t == kind).map_or(0.0, |(_, _, v)| *v);
    let value = if median > 0.0 { (lognormal(rng, median, 0.7) / 100.0).round() * 100.0 } else { 0.0 };
    let term_months = [12, 12, 24, 36].choose(rng).copied().unwrap_or(12);
    let title = format!("{} with {counterparty}", kind.to_uppercase());
    let input =
        json!({ "counterparty": counterparty, "contract_type": kind, "value": value, "term_months": term_months });
    (title, input)
}
