//! Demo data: the organisation "Acme Corp" with its teams, people and five playbooks, and months of
//! realistic history made by driving the real engine — only through its public operations — with a
//! [`SimClock`].
//!
//! The history is a discrete-event simulation with a seeded random generator: instances arrive per
//! playbook and day (more on weekdays, growing slowly over the period), each person works through
//! the tasks they claim or are given one at a time in office hours (08:00–17:00 UTC, Monday to
//! Friday), approvals are sometimes rejected (causing rework or ending the process), and a few
//! steps are deliberately understaffed or slow so that the analysis has real bottlenecks to find.
//! Instances still running at the end stay running, as work in progress does.

mod playbooks;

use crate::access::{Permission, Permissions, builtin_role};
use crate::clock::{Clock, SimClock, to_micros};
use crate::definition::{OnReject, StepKind};
use crate::error::{EngineError, Result};
use crate::ids::*;
use crate::model::{InstanceStatus, Organisation, Task, TaskStatus};
use crate::service::{CompleteTask, Decision, Engine, MAX_PAGE, NewUser, Registration, StartInstance};
use crate::store::{InstanceFilter, Scope, TaskFilter};
use chrono::{DateTime, Datelike, Days, Duration, NaiveDate, NaiveTime, Utc, Weekday};
use playbooks::{ADMIN_LOGIN, ADMIN_NAME, PEOPLE, PlaybookSpec, Profile, TEAMS};
use rand::distr::Alphanumeric;
use rand::seq::IndexedRandom;
use rand::{Rng as _, SeedableRng};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use std::cmp::{Ordering, Reverse};
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap, HashSet};

/// The slug of the demo organisation.
pub const DEMO_ORG_SLUG: &str = "acme";
const DEMO_ORG_NAME: &str = "Acme Corp";
const EMAIL_DOMAIN: &str = "acme.example";
const PASSWORD_LEN: usize = 16;

/// Office hours (UTC), Monday to Friday.
const WORKDAY_START_HOUR: i64 = 8;
const WORKDAY_END_HOUR: i64 = 17;
/// Arrival rate of office-hours playbooks on weekdays and at weekends, relative to the daily
/// average (5 × 1.3 + 2 × 0.25 = 7).
const WEEKDAY_FACTOR: f64 = 1.3;
const WEEKEND_FACTOR: f64 = 0.25;
/// Log-normal spread of the time until a task is noticed, and of the time the work takes.
const PICKUP_SPREAD: f64 = 0.8;
const WORK_SPREAD: f64 = 0.5;
/// How often a team's manager hands an offered task to someone instead of it being claimed.
const MANAGER_ASSIGNS: f64 = 0.25;
/// How often an optional form field is filled in.
const OPTIONAL_FIELD: f64 = 0.7;
const REJECT_COMMENTS: &[&str] = &[
    "Missing details — please complete and resubmit.",
    "Numbers do not add up; please check again.",
    "Not convinced this is needed now.",
    "Please address the open points first.",
];

/// The random generator of the simulation: seeded, and the same on every platform.
type Rng = rand_chacha::ChaCha8Rng;

/// What [`run`] generates.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoOptions {
    /// Seed of the random generator: the same seed gives the same history.
    pub seed: u64,
    /// Days of history, ending now.
    pub days: u32,
    /// Average number of new instances per day, across all playbooks.
    pub instances_per_day: f64,
}

impl Default for DemoOptions {
    fn default() -> Self {
        Self { seed: 42, days: 120, instances_per_day: 30.0 }
    }
}

/// A user of the demo organisation and the password to sign in with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DemoUser {
    /// Sign-in email, `firstname@acme.example`.
    pub email: String,
    /// The name shown in the interface.
    pub display_name: String,
    /// Empty when the organisation already existed (passwords are stored only as hashes).
    pub password: String,
    /// `(team name, role)` memberships.
    pub teams: Vec<(String, String)>,
}

/// The demo's API key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DemoApiKey {
    /// The team it works in.
    pub team: String,
    /// The key itself, `orgata_…`.
    pub secret: String,
}

/// What [`run`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DemoReport {
    /// False when the organisation already existed and nothing was changed.
    pub created: bool,
    /// The organisation's slug ([`DEMO_ORG_SLUG`]).
    pub org_slug: String,
    /// The administrator first, then everyone else.
    pub users: Vec<DemoUser>,
    /// An API key of the administrator's for agents, in the first team (none when the
    /// organisation already existed: only its hash is stored).
    pub api_key: Option<DemoApiKey>,
    /// Number of teams.
    pub teams: usize,
    /// Number of playbooks.
    pub playbooks: usize,
    /// Process instances started, including those still running.
    pub instances: usize,
    /// Instances that ended (completed or rejected).
    pub completed_instances: usize,
    /// Task records, including skipped steps and automated ones.
    pub tasks: usize,
}

/// Creates the demo organisation and its history, unless an organisation with slug
/// [`DEMO_ORG_SLUG`] exists: then nothing changes and the report (with `created: false` and no
/// passwords) describes what is there.
///
/// `engine` must tell time by `clock`. `run` sets the clock to 08:00 UTC `options.days` days ago and
/// moves it forward to about now; since a [`SimClock`] never runs backwards, create it at an
/// earlier time (the Unix epoch will do). `progress` is called with `(days done, days)` as
/// simulated days pass.
pub async fn run(
    engine: &Engine,
    clock: &SimClock,
    options: &DemoOptions,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<DemoReport> {
    if let Some(org) = engine.organisation_by_slug(DEMO_ORG_SLUG).await? {
        return existing_report(engine, &org).await;
    }
    if !options.instances_per_day.is_finite() || options.instances_per_day < 0.0 {
        return Err(EngineError::invalid("instances_per_day", "must be a number of at least 0"));
    }
    let (start, end) = history_window(options.days)?;
    clock.set(start);
    if clock.now() != start || engine.clock().now() != start {
        return Err(EngineError::Config(
            "the demo needs an engine running on the SimClock it is given, set before the start of the history".into(),
        ));
    }
    let rng = Rng::seed_from_u64(options.seed);
    let (org, staff, users) = Staff::create(engine).await?;
    let key = engine.create_api_key(&staff.admin, &staff.teams[0].id, "Demo agent", None, None).await?;
    let api_key = Some(DemoApiKey { team: staff.teams[0].name.to_string(), secret: key.secret });
    let playbooks = create_playbooks(engine, &staff, options.instances_per_day).await?;
    let mut sim = Simulation {
        engine,
        clock,
        rng,
        end,
        staff,
        playbooks,
        queue: BinaryHeap::new(),
        seq: 0,
        live: HashMap::new(),
        by_instance: HashMap::new(),
        counts: Counts::default(),
    };
    sim.run(start, options.days, progress).await?;
    // Months of history arrived at once: plans should see them.
    engine.store().analyze().await?;
    Ok(DemoReport {
        created: true,
        org_slug: org.slug,
        users,
        api_key,
        teams: sim.staff.teams.len(),
        playbooks: sim.playbooks.len(),
        instances: sim.counts.instances,
        completed_instances: sim.counts.completed,
        tasks: sim.counts.tasks,
    })
}

/// The start (08:00 UTC, `days` days ago) and end (now) of the history.
fn history_window(days: u32) -> Result<(DateTime<Utc>, DateTime<Utc>)> {
    let now = to_micros(Utc::now());
    let first = now
        .date_naive()
        .checked_sub_days(Days::new(u64::from(days)))
        .ok_or_else(|| EngineError::invalid("days", "reaches back too far"))?;
    let start = at_hour(first, WORKDAY_START_HOUR);
    Ok((start, now.max(start)))
}

fn email(login: &str) -> String {
    format!("{login}@{EMAIL_DOMAIN}")
}

/// A random alphanumeric password from the operating system's generator, not the seeded one:
/// the history is reproducible, the passwords must not be.
fn password() -> String {
    let mut os = rand::rng();
    (0..PASSWORD_LEN).map(|_| char::from(os.sample(Alphanumeric))).collect()
}

/// The permissions of a demo role: what a member may do, and for managers also publishing
/// playbooks, cancelling processes, SQL and the audit trail.
fn demo_role_permissions(role: &str) -> Vec<String> {
    let mut permissions = builtin_role("member").unwrap_or_default();
    if role == "manager" {
        use Permission::*;
        permissions =
            Permissions::of(&[permissions.list(), vec![PlaybookPublish, ProcessCancel, SqlRun, AuditRead]].concat());
    }
    permissions.names()
}

/// Orders `(team, role)` pairs as the teams are created.
fn sort_memberships(teams: &mut [(String, String)]) {
    teams.sort_by_key(|(team, _)| TEAMS.iter().position(|t| t == team));
}

/// The report on an organisation that already exists: its demo users (without passwords) and
/// what the administrator can see.
async fn existing_report(engine: &Engine, org: &Organisation) -> Result<DemoReport> {
    let mut report = DemoReport {
        created: false,
        org_slug: org.slug.clone(),
        users: Vec::new(),
        api_key: None,
        teams: 0,
        playbooks: 0,
        instances: 0,
        completed_instances: 0,
        tasks: 0,
    };
    let Some(admin) = engine.user_by_email(&org.id, &email(ADMIN_LOGIN)).await? else {
        return Ok(report);
    };
    let scope = engine.trusted_scope(&admin.id).await?;
    let teams = engine.teams(&scope).await?;
    let mut memberships: HashMap<UserId, Vec<(String, String)>> = HashMap::new();
    for team in &teams {
        for m in engine.members(&scope, &team.id).await? {
            memberships.entry(m.user_id).or_default().push((team.name.clone(), m.role));
        }
    }
    for login in std::iter::once(ADMIN_LOGIN).chain(PEOPLE.iter().map(|p| p.login)) {
        if let Some(user) = engine.user_by_email(&org.id, &email(login)).await? {
            let mut teams = memberships.remove(&user.id).unwrap_or_default();
            sort_memberships(&mut teams);
            report.users.push(DemoUser {
                email: user.email,
                display_name: user.display_name,
                password: String::new(),
                teams,
            });
        }
    }
    report.teams = teams.len();
    report.playbooks = engine.playbooks(&scope, None).await?.len();
    let mut after = None;
    loop {
        let filter = InstanceFilter { after, limit: MAX_PAGE, ..Default::default() };
        let page = engine.instances(&scope, filter).await?;
        report.instances += page.len();
        report.completed_instances += page.iter().filter(|i| i.status == InstanceStatus::Completed).count();
        after = page.last().map(|i| i.id.clone()).filter(|_| page.len() as i64 == MAX_PAGE);
        if after.is_none() {
            break;
        }
    }
    let mut after = None;
    loop {
        let page = engine.tasks(&scope, TaskFilter { after, limit: MAX_PAGE, ..Default::default() }).await?;
        report.tasks += page.len();
        after = page.last().map(|t| t.id.clone()).filter(|_| page.len() as i64 == MAX_PAGE);
        if after.is_none() {
            break;
        }
    }
    Ok(report)
}

// ---- the organisation ---------------------------------------------------------------------------

/// A person who works in the simulation.
struct Worker {
    scope: Scope,
    /// Tasks they have taken on and not started yet.
    queue: Vec<TaskId>,
    /// The task they are working on.
    current: Option<TaskId>,
}

impl Worker {
    /// How much they have on their plate.
    fn load(&self) -> usize {
        self.queue.len() + usize::from(self.current.is_some())
    }
}

/// A team and which workers hold each role in it.
struct TeamStaff {
    id: TeamId,
    name: &'static str,
    roles: BTreeMap<&'static str, Vec<usize>>,
}

/// The demo's people and teams. Worker `i` is `PEOPLE[i]`; the administrator does no work.
struct Staff {
    admin: Scope,
    workers: Vec<Worker>,
    by_id: HashMap<UserId, usize>,
    teams: Vec<TeamStaff>,
}

impl Staff {
    /// Registers the organisation with its administrator and first team, then creates the other
    /// teams (through the administrator, who owns them all), the custom roles people hold,
    /// everyone else and their memberships.
    async fn create(engine: &Engine) -> Result<(Organisation, Self, Vec<DemoUser>)> {
        let admin_password = password();
        let registered = engine
            .register(Registration {
                organisation_name: DEMO_ORG_NAME.into(),
                organisation_slug: DEMO_ORG_SLUG.into(),
                team_name: TEAMS[0].into(),
                email: email(ADMIN_LOGIN),
                display_name: ADMIN_NAME.into(),
                password: admin_password.clone(),
            })
            .await?;
        let org = registered.organisation;
        let admin = engine.trusted_scope(&registered.user.id).await?;
        let mut teams = vec![TeamStaff { id: registered.team.id, name: TEAMS[0], roles: BTreeMap::new() }];
        for name in &TEAMS[1..] {
            let team = engine.create_team(&admin, name).await?;
            teams.push(TeamStaff { id: team.id, name, roles: BTreeMap::new() });
        }
        let admin = engine.refresh_scope(&admin).await?;
        let roles: BTreeSet<&str> = PEOPLE.iter().flat_map(|p| p.teams.iter().map(|(_, role)| *role)).collect();
        for role in roles.into_iter().filter(|r| builtin_role(r).is_none()) {
            engine.create_role(&admin, role, &demo_role_permissions(role)).await?;
        }
        let mut users = vec![DemoUser {
            email: email(ADMIN_LOGIN),
            display_name: ADMIN_NAME.into(),
            password: admin_password,
            teams: TEAMS.iter().map(|t| (t.to_string(), "owner".to_string())).collect(),
        }];
        let mut staff = Staff { admin, workers: Vec::with_capacity(PEOPLE.len()), by_id: HashMap::new(), teams };
        for (index, person) in PEOPLE.iter().enumerate() {
            let password = password();
            let new = NewUser {
                email: email(person.login),
                display_name: person.name.into(),
                password: Some(password.clone()),
                org_role: None,
            };
            let user = engine.create_user(&staff.admin, new).await?;
            for &(team_name, role) in person.teams {
                let team = staff.team_index(team_name)?;
                engine.add_member(&staff.admin, &staff.teams[team].id, &user.id, role).await?;
                staff.teams[team].roles.entry(role).or_default().push(index);
            }
            let mut teams: Vec<(String, String)> =
                person.teams.iter().map(|(t, r)| (t.to_string(), r.to_string())).collect();
            sort_memberships(&mut teams);
            users.push(DemoUser { email: user.email, display_name: user.display_name, password, teams });
            staff.by_id.insert(user.id.clone(), index);
            let scope = engine.trusted_scope(&user.id).await?;
            staff.workers.push(Worker { scope, queue: Vec::new(), current: None });
        }
        Ok((org, staff, users))
    }

    fn team_index(&self, name: &str) -> Result<usize> {
        self.teams
            .iter()
            .position(|t| t.name == name)
            .ok_or_else(|| EngineError::Config(format!("demo: no team `{name}`")))
    }

    /// The id of the person with this email local part.
    fn user_id(&self, login: &str) -> Result<UserId> {
        PEOPLE
            .iter()
            .position(|p| p.login == login)
            .and_then(|i| self.workers.get(i))
            .map(|w| w.scope.user_id.clone())
            .ok_or_else(|| EngineError::Config(format!("demo: no person `{login}`")))
    }

    /// The members of `team` with `role`.
    fn with_role(&self, team: usize, role: &str) -> &[usize] {
        self.teams[team].roles.get(role).map_or(&[], Vec::as_slice)
    }

    /// The member of `team` with `role` who has least on their plate (a random one of a tie).
    fn least_busy(&self, team: usize, role: &str, rng: &mut Rng) -> Result<usize> {
        let members = self.with_role(team, role);
        let lightest = members.iter().map(|&i| self.workers[i].load()).min();
        let candidates: Vec<usize> =
            members.iter().copied().filter(|&i| Some(self.workers[i].load()) == lightest).collect();
        candidates.choose(rng).copied().ok_or_else(|| {
            EngineError::Config(format!("demo: nobody in team `{}` has role `{role}`", self.teams[team].name))
        })
    }
}

/// A playbook as created, with what the simulation needs to run it.
struct SimPlaybook {
    id: PlaybookId,
    team: usize,
    /// New instances per day on average.
    rate: f64,
    definition: crate::definition::Definition,
    spec: PlaybookSpec,
}

/// Creates the playbooks in their teams, spreading `instances_per_day` over them by weight.
async fn create_playbooks(engine: &Engine, staff: &Staff, instances_per_day: f64) -> Result<Vec<SimPlaybook>> {
    let specs = playbooks::all(|login| staff.user_id(login))?;
    let total_weight: f64 = specs.iter().map(|s| s.weight).sum();
    let mut out = Vec::with_capacity(specs.len());
    for spec in specs {
        let team = staff.team_index(spec.team)?;
        let detail = engine
            .create_playbook(&staff.admin, &staff.teams[team].id, spec.name, spec.definition.clone(), "First version")
            .await?;
        let rate = if total_weight > 0.0 { instances_per_day * spec.weight / total_weight } else { 0.0 };
        out.push(SimPlaybook { id: detail.playbook.id, team, rate, definition: detail.head.definition, spec });
    }
    Ok(out)
}

// ---- the simulation -----------------------------------------------------------------------------

/// When people work on a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hours {
    /// Office hours, Monday to Friday.
    Office,
    /// Any time (on call).
    Always,
}

impl Hours {
    /// The first moment at or after `t` when work happens.
    fn next(self, t: DateTime<Utc>) -> DateTime<Utc> {
        match self {
            Hours::Office => next_working_time(t),
            Hours::Always => t,
        }
    }

    /// The moment `work` of working time after `t`.
    fn add(self, t: DateTime<Utc>, work: Duration) -> DateTime<Utc> {
        match self {
            Hours::Office => add_working_time(t, work),
            Hours::Always => t + work,
        }
    }
}

/// Something that happens at a point in simulated time.
#[derive(Debug)]
enum Action {
    /// A new day begins: its arrivals are scheduled.
    Day(u32),
    /// A new instance of playbook `.0` is started.
    Arrive(usize),
    /// Someone notices a ready task: its assignee queues it, or a member with its role claims it
    /// (or is given it by the team's manager).
    Notice(TaskId),
    /// `worker` starts the task.
    Start { task: TaskId, worker: usize },
    /// `worker` completes the task.
    Complete { task: TaskId, worker: usize },
}

/// A scheduled action; ordered by time, then by when it was scheduled.
#[derive(Debug)]
struct Event {
    at: DateTime<Utc>,
    seq: u64,
    action: Action,
}

impl PartialEq for Event {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Event {}

impl PartialOrd for Event {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Event {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

/// A task the simulation will still act on.
struct LiveTask {
    instance: InstanceId,
    playbook: usize,
    step: String,
    attempt: i32,
    /// The role it is offered to, when nobody is assigned.
    role: Option<String>,
    /// The worker it is assigned to.
    assignee: Option<usize>,
    /// When its SLA runs out: people take the most urgent task first.
    due: Option<DateTime<Utc>>,
    profile: Profile,
}

#[derive(Default)]
struct Counts {
    instances: usize,
    completed: usize,
    tasks: usize,
}

struct Simulation<'a> {
    engine: &'a Engine,
    clock: &'a SimClock,
    rng: Rng,
    /// Nothing is scheduled after this.
    end: DateTime<Utc>,
    staff: Staff,
    playbooks: Vec<SimPlaybook>,
    queue: BinaryHeap<Reverse<Event>>,
    seq: u64,
    /// Tasks with actions still to come; a task leaves when it is completed or the engine cancels it.
    live: HashMap<TaskId, LiveTask>,
    /// The tasks of each running instance that may still be live.
    by_instance: HashMap<InstanceId, Vec<TaskId>>,
    counts: Counts,
}

impl Simulation<'_> {
    /// Runs every event from `start` to the end, moving the clock to each before acting.
    async fn run(&mut self, start: DateTime<Utc>, days: u32, progress: &(dyn Fn(u64, u64) + Sync)) -> Result<()> {
        let total = u64::from(days);
        self.push(start, Action::Day(0));
        while let Some(Reverse(Event { at, action, .. })) = self.queue.pop() {
            self.clock.set(at);
            match action {
                Action::Day(day) => {
                    progress(u64::from(day).min(total), total);
                    self.begin_day(day, days, at);
                }
                Action::Arrive(playbook) => self.arrive(playbook, at).await?,
                Action::Notice(task) => self.notice(task, at).await?,
                Action::Start { task, worker } => {
                    if self.live.contains_key(&task) {
                        self.engine.start_task(&self.staff.workers[worker].scope, &task, None).await?;
                    } else {
                        // Cancelled while queued: on to the next task.
                        self.finish_work(worker, &task, at);
                    }
                }
                Action::Complete { task, worker } => {
                    self.complete(&task, worker, at).await?;
                    self.finish_work(worker, &task, at);
                }
            }
        }
        progress(total, total);
        Ok(())
    }

    /// Schedules `action` at `at`, unless that is after the end of the history.
    fn push(&mut self, at: DateTime<Utc>, action: Action) {
        if at <= self.end {
            self.seq += 1;
            self.queue.push(Reverse(Event { at, seq: self.seq, action }));
        }
    }

    /// Schedules the day's arrivals (Poisson-distributed per playbook) and the next day.
    fn begin_day(&mut self, day: u32, days: u32, at: DateTime<Utc>) {
        let weekend = is_weekend(at.date_naive());
        // Business grows over the period: from 85 % to 115 % of the average rate.
        let trend = 0.85 + 0.3 * f64::from(day.min(days)) / f64::from(days.max(1));
        let office_hours = (WORKDAY_END_HOUR - WORKDAY_START_HOUR) as f64;
        let mut arrivals = Vec::new();
        for (index, playbook) in self.playbooks.iter().enumerate() {
            let (factor, hours) = match (playbook.spec.around_the_clock, weekend) {
                (true, _) => (1.0, 24.0),
                (false, false) => (WEEKDAY_FACTOR, office_hours),
                (false, true) => (WEEKEND_FACTOR, office_hours),
            };
            for _ in 0..poisson(&mut self.rng, playbook.rate * factor * trend) {
                let offset = Duration::seconds((self.rng.random::<f64>() * hours * 3600.0) as i64);
                arrivals.push((at + offset, index));
            }
        }
        for (time, playbook) in arrivals {
            self.push(time, Action::Arrive(playbook));
        }
        self.push(at + Duration::days(1), Action::Day(day + 1));
    }

    /// Starts an instance of `playbook` on behalf of one of its starters.
    async fn arrive(&mut self, playbook: usize, at: DateTime<Utc>) -> Result<()> {
        let pb = &self.playbooks[playbook];
        let starters: Vec<usize> =
            pb.spec.starters.iter().flat_map(|role| self.staff.with_role(pb.team, role)).copied().collect();
        let scope = match starters.choose(&mut self.rng) {
            Some(&w) => &self.staff.workers[w].scope,
            None => &self.staff.admin,
        };
        let (title, input) = (pb.spec.input)(&mut self.rng, at);
        let request = StartInstance { playbook_id: pb.id.clone(), branch: None, title: Some(title), input };
        let detail = self.engine.start_instance(scope, request).await?;
        self.counts.instances += 1;
        if detail.instance.status == InstanceStatus::Completed {
            self.counts.completed += 1;
        }
        self.track(playbook, &detail.tasks, at)
    }

    /// Counts tasks the engine created and, for those waiting for a person, schedules the moment
    /// someone notices them.
    fn track(&mut self, playbook: usize, tasks: &[Task], now: DateTime<Utc>) -> Result<()> {
        for task in tasks {
            self.counts.tasks += 1;
            if !matches!(task.status, TaskStatus::Open | TaskStatus::Assigned) {
                continue;
            }
            let assignee = match &task.assignee_id {
                Some(user) => Some(*self.staff.by_id.get(user).ok_or_else(|| {
                    EngineError::Config(format!("demo: task `{}` went to someone who does no demo work", task.id))
                })?),
                None => None,
            };
            let profile = self.playbooks[playbook].spec.profile(&task.step_key);
            self.live.insert(
                task.id.clone(),
                LiveTask {
                    instance: task.instance_id.clone(),
                    playbook,
                    step: task.step_key.clone(),
                    attempt: task.attempt,
                    role: task.role.clone(),
                    assignee,
                    due: task.due_at,
                    profile,
                },
            );
            self.by_instance.entry(task.instance_id.clone()).or_default().push(task.id.clone());
            let pickup = minutes(lognormal(&mut self.rng, profile.pickup, PICKUP_SPREAD));
            self.push(profile.hours.add(now, pickup), Action::Notice(task.id.clone()));
        }
        Ok(())
    }

    /// A ready task is noticed: an offered one is claimed by the least busy member with its role
    /// (or the team's manager gives it to them); it joins its worker's queue.
    async fn notice(&mut self, task: TaskId, now: DateTime<Utc>) -> Result<()> {
        let Some(live) = self.live.get(&task) else { return Ok(()) };
        let team = self.playbooks[live.playbook].team;
        let worker = match (live.assignee, &live.role) {
            (Some(worker), _) => worker,
            (None, Some(role)) => {
                let worker = self.staff.least_busy(team, role, &mut self.rng)?;
                let manager = self.staff.with_role(team, "manager").first().copied();
                match manager.filter(|&m| m != worker && role != "manager") {
                    Some(by) if self.rng.random_bool(MANAGER_ASSIGNS) => {
                        let assignee = &self.staff.workers[worker].scope.user_id;
                        self.engine.assign_task(&self.staff.workers[by].scope, &task, assignee, None).await?;
                    }
                    _ => {
                        self.engine.claim_task(&self.staff.workers[worker].scope, &task, None).await?;
                    }
                }
                worker
            }
            (None, None) => {
                return Err(EngineError::Config(format!("demo: task `{task}` has neither assignee nor role")));
            }
        };
        self.staff.workers[worker].queue.push(task);
        if self.staff.workers[worker].current.is_none() {
            self.begin_next(worker, now);
        }
        Ok(())
    }

    /// `worker` is done with `task` (or it was cancelled): they take up their next one.
    fn finish_work(&mut self, worker: usize, task: &TaskId, now: DateTime<Utc>) {
        if self.staff.workers[worker].current.as_ref() == Some(task) {
            self.staff.workers[worker].current = None;
            self.begin_next(worker, now);
        }
    }

    /// `worker` takes the most urgent task of their queue (earliest due, then first come) and
    /// schedules starting it and, after the step's processing time, completing it.
    fn begin_next(&mut self, worker: usize, now: DateTime<Utc>) {
        let live = &self.live;
        let w = &mut self.staff.workers[worker];
        w.queue.retain(|t| live.contains_key(t));
        let urgency = |i: usize| live.get(&w.queue[i]).and_then(|t| t.due).unwrap_or(DateTime::<Utc>::MAX_UTC);
        let Some(next) = (0..w.queue.len()).min_by_key(|&i| (urgency(i), i)) else { return };
        let task = w.queue.remove(next);
        let Some(profile) = live.get(&task).map(|t| t.profile) else { return };
        w.current = Some(task.clone());
        let start = profile.hours.next(now);
        let done = profile.hours.add(start, minutes(lognormal(&mut self.rng, profile.work, WORK_SPREAD)));
        self.push(start, Action::Start { task: task.clone(), worker });
        self.push(done, Action::Complete { task, worker });
    }

    /// Completes a live task with output that satisfies its form (and, for approvals, a
    /// decision), then follows what the engine did: rework, the end of the instance, new tasks.
    async fn complete(&mut self, task: &TaskId, worker: usize, at: DateTime<Utc>) -> Result<()> {
        let Some(live) = self.live.remove(task) else { return Ok(()) };
        let pb = &self.playbooks[live.playbook];
        let step = pb
            .definition
            .step(&live.step)
            .ok_or_else(|| EngineError::Corrupt(format!("demo: step `{}` missing from its playbook", live.step)))?;
        let decision = (step.kind == StepKind::Approval).then(|| {
            // People fix what was asked, so later attempts are rejected less often.
            let reject = live.profile.reject / f64::from(live.attempt.max(1));
            if self.rng.random_bool(reject.clamp(0.0, 1.0)) { Decision::Reject } else { Decision::Approve }
        });
        let mut output = step.form.as_ref().map_or_else(|| json!({}), |f| sample(f, &mut self.rng, at.date_naive()));
        let rejected = decision == Some(Decision::Reject);
        let has_comment = step.form.as_ref().and_then(|f| f.get("properties")).and_then(|p| p.get("comment")).is_some();
        if rejected
            && has_comment
            && let Value::Object(map) = &mut output
        {
            map.insert("comment".into(), json!(pick(&mut self.rng, REJECT_COMMENTS)));
        }
        let reset: Option<HashSet<String>> = match (&step.on_reject, rejected) {
            (Some(OnReject::Rework(target)), true) => Some(pb.definition.descendants_inclusive(target)),
            _ => None,
        };

        let request = CompleteTask { output, decision, expected_revision: None };
        let outcome = self.engine.complete_task(&self.staff.workers[worker].scope, task, request).await?;
        if let Some(reset) = reset {
            // Rework cancelled or superseded every execution from the target step on.
            self.retire(&live.instance, |step| reset.contains(step));
        }
        if outcome.instance.status != InstanceStatus::Running {
            self.retire(&live.instance, |_| true);
            self.by_instance.remove(&live.instance);
            if outcome.instance.status == InstanceStatus::Completed {
                self.counts.completed += 1;
            }
        }
        self.track(live.playbook, &outcome.created, at)
    }

    /// Forgets the live tasks of `instance` whose step `which` selects (the engine cancelled them).
    fn retire(&mut self, instance: &InstanceId, which: impl Fn(&str) -> bool) {
        let Some(ids) = self.by_instance.get_mut(instance) else { return };
        let live = &mut self.live;
        ids.retain(|id| match live.get(id) {
            Some(t) if which(&t.step) => {
                live.remove(id);
                false
            }
            Some(_) => true,
            None => false,
        });
    }
}

// ---- time ---------------------------------------------------------------------------------------

fn at_hour(date: NaiveDate, hour: i64) -> DateTime<Utc> {
    date.and_time(NaiveTime::MIN).and_utc() + Duration::hours(hour)
}

fn is_weekend(date: NaiveDate) -> bool {
    matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
}

/// The first moment at or after `t` within office hours.
fn next_working_time(t: DateTime<Utc>) -> DateTime<Utc> {
    let mut date = t.date_naive();
    loop {
        if !is_weekend(date) && t < at_hour(date, WORKDAY_END_HOUR) {
            return t.max(at_hour(date, WORKDAY_START_HOUR));
        }
        match date.succ_opt() {
            Some(next) => date = next,
            None => return t,
        }
    }
}

/// The moment `work` of office hours after `t`.
fn add_working_time(t: DateTime<Utc>, work: Duration) -> DateTime<Utc> {
    let mut at = t;
    let mut left = work;
    loop {
        at = next_working_time(at);
        let close = at_hour(at.date_naive(), WORKDAY_END_HOUR);
        if close <= at || left <= close - at {
            return at + left;
        }
        left -= close - at;
        at = close;
    }
}

/// A duration of `m` minutes, at least one minute and at most a month.
fn minutes(m: f64) -> Duration {
    Duration::seconds((m.clamp(1.0, 30.0 * 24.0 * 60.0) * 60.0).round() as i64)
}

// ---- randomness ---------------------------------------------------------------------------------

/// A standard normal variate (Box–Muller).
fn normal(rng: &mut Rng) -> f64 {
    let u1 = 1.0 - rng.random::<f64>();
    let u2 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// A log-normal variate with this median and spread (σ of the underlying normal).
fn lognormal(rng: &mut Rng, median: f64, sigma: f64) -> f64 {
    median * (sigma * normal(rng)).exp()
}

/// A Poisson variate with mean `lambda` (normal approximation for large means).
fn poisson(rng: &mut Rng, lambda: f64) -> u32 {
    if lambda <= 0.0 {
        return 0;
    }
    if lambda > 30.0 {
        return (lambda + lambda.sqrt() * normal(rng)).round().max(0.0) as u32;
    }
    let limit = (-lambda).exp();
    let mut k = 0;
    let mut p = rng.random::<f64>();
    while p > limit {
        k += 1;
        p *= rng.random::<f64>();
    }
    k
}

/// One of `items` at random (empty for an empty list).
fn pick<'a>(rng: &mut Rng, items: &[&'a str]) -> &'a str {
    items.choose(rng).copied().unwrap_or_default()
}

/// One of `items`, each with its relative weight.
fn weighted<'a>(rng: &mut Rng, items: &[(&'a str, f64)]) -> &'a str {
    let total: f64 = items.iter().map(|(_, w)| w).sum();
    let mut x = rng.random::<f64>() * total;
    for &(item, w) in items {
        if x < w {
            return item;
        }
        x -= w;
    }
    items.last().map_or("", |(item, _)| item)
}

/// A random value satisfying the (simple) JSON Schema `schema`: `const`, then `examples`, then
/// `enum`, then by type — objects fill every required and most optional properties, strings
/// follow a `PREFIX-[0-9]{n}` pattern or the `date` format, numbers respect their bounds.
fn sample(schema: &Value, rng: &mut Rng, today: NaiveDate) -> Value {
    if let Some(value) = schema.get("const") {
        return value.clone();
    }
    for listed in ["examples", "enum"] {
        if let Some(value) = schema.get(listed).and_then(Value::as_array).and_then(|a| a.choose(rng)) {
            return value.clone();
        }
    }
    match schema.get("type").and_then(Value::as_str) {
        Some("object") => {
            let required: Vec<&str> = schema
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            let mut out = Map::new();
            for (key, property) in schema.get("properties").and_then(Value::as_object).into_iter().flatten() {
                if required.contains(&key.as_str()) || rng.random_bool(OPTIONAL_FIELD) {
                    out.insert(key.clone(), sample(property, rng, today));
                }
            }
            Value::Object(out)
        }
        Some("integer") => {
            let low = schema.get("minimum").and_then(Value::as_i64).unwrap_or(0);
            let high = schema.get("maximum").and_then(Value::as_i64).unwrap_or(low + 100).max(low);
            json!(rng.random_range(low..=high))
        }
        Some("number") => {
            let low = schema.get("minimum").and_then(Value::as_f64).unwrap_or(0.0);
            let high = schema.get("maximum").and_then(Value::as_f64).unwrap_or(low + 1000.0).max(low);
            json!((rng.random_range(low..=high) * 100.0).round() / 100.0)
        }
        Some("boolean") => json!(rng.random_bool(0.5)),
        Some("string") => {
            if schema.get("format").and_then(Value::as_str) == Some("date") {
                let date = today + Days::new(rng.random_range(0..14));
                return json!(date.format("%Y-%m-%d").to_string());
            }
            let pattern = schema.get("pattern").and_then(Value::as_str);
            json!(pattern.and_then(|p| from_pattern(p, rng)).unwrap_or_else(|| "Done.".into()))
        }
        _ => Value::Null,
    }
}

/// A string matching a pattern of the form `^PREFIX-[0-9]{n}$` (reference numbers).
fn from_pattern(pattern: &str, rng: &mut Rng) -> Option<String> {
    let body = pattern.strip_prefix('^')?.strip_suffix('$')?;
    let (prefix, rest) = body.split_once("[0-9]{")?;
    let digits: usize = rest.strip_suffix('}')?.parse().ok()?;
    let mut out = prefix.to_string();
    out.extend((0..digits).map(|_| char::from(b'0' + rng.random_range(0..10u8))));
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::connect;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};

    fn assert_send<T: Send>(_: &T) {}

    #[tokio::test]
    async fn builds_a_history_once() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| EngineError::Config(e.to_string()))?;
        let store = connect(&format!("sqlite://{}/t.db", dir.path().display())).await?;
        let clock = Arc::new(SimClock::new(DateTime::<Utc>::UNIX_EPOCH));
        let engine = Engine::new(store, clock.clone());
        let options = DemoOptions { seed: 7, days: 10, instances_per_day: 5.0 };
        let last_progress = AtomicU64::new(0);
        let progress = |done: u64, total: u64| {
            assert_eq!(total, 10);
            last_progress.store(done, AtomicOrdering::SeqCst);
        };

        let first = run(&engine, &clock, &options, &progress);
        assert_send(&first);
        let report = first.await?;
        assert!(report.created);
        assert_eq!(report.org_slug, DEMO_ORG_SLUG);
        assert_eq!(last_progress.load(AtomicOrdering::SeqCst), 10);
        assert!(report.users.iter().all(|u| u.password.len() == PASSWORD_LEN));

        let org = engine.organisation_by_slug(DEMO_ORG_SLUG).await?.expect("demo organisation");
        let admin = engine.user_by_email(&org.id, "admin@acme.example").await?.expect("admin");
        let scope = engine.trusted_scope(&admin.id).await?;
        assert_eq!(engine.playbooks(&scope, None).await?.len(), 5);
        assert_eq!(report.playbooks, 5);
        let all = InstanceFilter { limit: MAX_PAGE, ..Default::default() };
        let instances = engine.instances(&scope, all.clone()).await?;
        assert!(report.instances > 0);
        assert_eq!(instances.len(), report.instances);
        assert!(report.completed_instances > 0);
        let ended = instances.iter().filter(|i| i.status == InstanceStatus::Completed).count();
        assert_eq!(ended, report.completed_instances);

        let again = run(&engine, &clock, &options, &progress).await?;
        assert!(!again.created);
        assert_eq!(again.instances, report.instances);
        assert_eq!(again.completed_instances, report.completed_instances);
        assert_eq!(again.tasks, report.tasks);
        assert_eq!(
            again.users.iter().map(|u| &u.email).collect::<Vec<_>>(),
            report.users.iter().map(|u| &u.email).collect::<Vec<_>>()
        );
        assert_eq!(engine.instances(&scope, all).await?.len(), report.instances);
        Ok(())
    }
}
