//! The model registry: trained models in the warehouse's object store (a local folder or S3),
//! each version in a folder of its own under its team and subject —
//!
//! ```text
//! models/{team}/{source}/{playbook or "all"}/{version:06}/card.json      what it is (ModelCard)
//! models/{team}/{source}/{playbook or "all"}/{version:06}/model.json.gz  the trained forests
//! ```
//!
//! A card holds the training window, the features, the evaluation against the baselines (a
//! temporal split of the same cases) and the change-log position the warehouse held; the model
//! file is written first, so a card always has its model. A missing or unreadable model file is an
//! error in words ([`ReportError::Model`]), never a crash; training again writes a new version.

use super::evaluation::{self, Evaluation, EvaluationError};
use super::model::{Models, TrainingOptions};
use super::{History, MIN_TRAINING_CASES, history};
use crate::caselog::time_of;
use crate::{Events, Filter, ReportError};
use chrono::{DateTime, Utc};
use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use futures::TryStreamExt;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutPayload};
use orgata_warehouse::{TeamScope, Warehouse, WarehouseError};
use serde::{Deserialize, Serialize};
use std::io::Read;
use std::sync::{Arc, Mutex, OnceLock};

/// The folder of the registry under the warehouse root.
pub const MODELS_PREFIX: &str = "models";
/// A subject's folder name for every case of its source (no one playbook's).
const ALL: &str = "all";
/// Versions a training tries to claim before it gives up (each taken by another trainer).
const CLAIMS: u32 = 16;

/// What a trained model is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ModelCard {
    pub team: String,
    /// The events' source (`orgata`: the processes run here).
    pub source: String,
    /// The playbook whose processes it learnt from (none: every case of the source).
    pub playbook_id: Option<String>,
    /// 1 for the first model of its team and subject, then counting up.
    pub version: u32,
    pub trained_at: DateTime<Utc>,
    /// The finished cases and their events learnt from, and the time they span.
    pub cases: u64,
    pub events: u64,
    pub window_from: DateTime<Utc>,
    pub window_to: DateTime<Utc>,
    /// The change-log position the warehouse held (`xid:seq`), if the engine had written any.
    pub position: Option<String>,
    pub seed: u64,
    /// The case target the risk model foresees, in seconds.
    pub case_target_s: Option<f64>,
    /// Where the target was not given: the quantile of the finished cases' durations it is.
    pub case_target_quantile: Option<f64>,
    /// The features' names, in the models' column order.
    pub features: Vec<String>,
    /// How well the same kind of model predicted the later 20 % of these cases.
    pub evaluation: Evaluation,
    /// A playbook's model: the newest version of the playbook among the processes it learnt
    /// from (a newer one finishing processes is a reason to train again).
    #[serde(default)]
    pub playbook_version: Option<i64>,
}

/// A team's models of one subject: a source, or one playbook's processes in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject<'a> {
    pub team: &'a str,
    pub source: &'a str,
    pub playbook_id: Option<&'a str>,
}

impl Subject<'_> {
    /// The subject's folder in the registry.
    fn folder(&self) -> Path {
        Path::from(format!("{MODELS_PREFIX}/{}/{}/{}", self.team, self.source, self.playbook_id.unwrap_or(ALL)))
    }
}

/// Trains the models of `subject` on every finished case the warehouse holds for it, evaluates
/// them on a temporal split, and stores both as the subject's next version.
pub async fn train(
    warehouse: &Warehouse,
    subject: &Subject<'_>,
    options: TrainingOptions,
) -> Result<ModelCard, ReportError> {
    let scope = TeamScope::Teams(vec![subject.team.to_string()]);
    let mut filter = Filter::source(subject.source)?;
    if let Some(playbook) = subject.playbook_id {
        filter = filter.playbook(playbook)?;
    }
    let position = warehouse.watermark(&orgata_warehouse::tables::EVENTS).await?;
    let events = Events::select(warehouse, &scope, &filter).await?;
    let History { log, running, tasks } = history(&events).await?;
    let quantile = options.target_quantile.filter(|_| options.case_target_s.is_none());
    let mut options = options;
    if let Some(q) = quantile {
        options.case_target_s = typical_duration(&log, &running, q);
    }
    let work = tokio::task::spawn_blocking(move || -> Result<_, EvaluationError> {
        let finished: Vec<usize> = evaluation::finished_by_start(&log, &running).into_iter().map(|(_, c)| c).collect();
        // The evaluation (its own models on the earlier cases) and the models of every case are
        // independent: they are made side by side.
        let (evaluation, models) = rayon::join(
            || evaluation::evaluate(&log, &running, &tasks, options, MIN_TRAINING_CASES),
            || Models::train(&log, &running, &finished, &tasks, options),
        );
        let (evaluation, models) = (evaluation?, models?);
        let times = finished.iter().flat_map(|&c| log.t[log.rows_of(c)].iter().copied());
        let (from, to) = times.fold((i64::MAX, i64::MIN), |(a, b), t| (a.min(t), b.max(t)));
        let events = finished.iter().map(|&c| log.rows_of(c).len() as u64).sum();
        let newest_version = finished
            .iter()
            .filter_map(|&c| {
                log.context.get(c)?.iter().find(|(field, _)| field == crate::caselog::VERSION_FIELD)?.1.as_i64()
            })
            .max();
        Ok((evaluation, models, finished.len() as u64, events, from, to, newest_version))
    });
    let (evaluation, models, cases, events, from, to, playbook_version) =
        work.await.map_err(|e| ReportError::Model(format!("training stopped: {e}")))?.map_err(from_evaluation)?;
    let store = warehouse.object_store();
    // The model file claims its version: written only where none is, so that two trainers (two
    // servers on one warehouse) never write the same version; the later one takes the next.
    let model_file = PutPayload::from(compress(&models)?);
    let first = versions(&store, subject).await?.last().copied().unwrap_or(0) + 1;
    let mut claimed = None;
    for version in first..first + CLAIMS {
        if create(&store, &version_folder(subject, version).join("model.json.gz"), &model_file).await? {
            claimed = Some(version);
            break;
        }
    }
    let version = claimed.ok_or_else(|| {
        ReportError::Model(format!("versions {first} to {} were all taken by other trainers", first + CLAIMS - 1))
    })?;
    let card = ModelCard {
        team: subject.team.to_string(),
        source: subject.source.to_string(),
        playbook_id: subject.playbook_id.map(str::to_string),
        version,
        trained_at: Utc::now(),
        cases,
        events,
        window_from: time_of(from),
        window_to: time_of(to),
        position: position.map(|p| format!("{}:{}", p.xid, p.seq)),
        seed: options.seed,
        case_target_s: options.case_target_s,
        case_target_quantile: quantile.filter(|_| options.case_target_s.is_some()),
        features: models.encoding.columns(),
        evaluation,
        playbook_version: playbook_version.filter(|_| subject.playbook_id.is_some()),
    };
    let card_json = serde_json::to_vec_pretty(&card).map_err(|e| ReportError::Model(e.to_string()))?;
    put(&store, &version_folder(subject, version).join("card.json"), card_json).await?;
    Ok(card)
}

/// The `q`-quantile of the finished cases' durations (first event to last), if any finished and
/// it is above 0.
fn typical_duration(log: &crate::caselog::CaseLog, running: &[bool], q: f64) -> Option<f64> {
    let mut durations: Vec<f64> = log
        .case_ranges()
        .enumerate()
        .filter(|(c, _)| !running.get(*c).copied().unwrap_or(false))
        .map(|(_, rows)| {
            let times = &log.t[rows];
            let (first, last) = (times.iter().min().copied().unwrap_or(0), times.iter().max().copied().unwrap_or(0));
            crate::caselog::seconds_between(last, first)
        })
        .collect();
    durations.sort_by(f64::total_cmp);
    Some(crate::stats::quantile(&durations, q.clamp(0.0, 1.0))).filter(|&d| d > 0.0)
}

/// The models of a team, every subject and version, the newest version of each subject first.
pub async fn models(warehouse: &Warehouse, team: &str) -> Result<Vec<ModelCard>, ReportError> {
    let store = warehouse.object_store();
    let prefix = Path::from(format!("{MODELS_PREFIX}/{team}"));
    let listed: Vec<object_store::ObjectMeta> =
        store.list(Some(&prefix)).try_collect().await.map_err(|e| storage(&prefix, e))?;
    let mut cards = Vec::new();
    for meta in listed.iter().filter(|m| m.location.filename() == Some("card.json")) {
        cards.push(read_card(&store, &meta.location).await?);
    }
    cards.sort_by(|a, b| (&a.source, &a.playbook_id, b.version).cmp(&(&b.source, &b.playbook_id, a.version)));
    Ok(cards)
}

/// The card of the newest model of `subject` (or of the version asked for); `None` when there
/// is none.
pub async fn model_card(
    warehouse: &Warehouse,
    subject: &Subject<'_>,
    version: Option<u32>,
) -> Result<Option<ModelCard>, ReportError> {
    let store = warehouse.object_store();
    let Some(version) = existing(&store, subject, version).await? else { return Ok(None) };
    Ok(Some(read_card(&store, &version_folder(subject, version).clone().join("card.json")).await?))
}

/// The newest model of `subject` (or the version asked for), loaded; `None` when there is none.
/// A version never changes once written, so models read are kept (the [`CACHED`] last read).
pub(crate) async fn load(
    warehouse: &Warehouse,
    subject: &Subject<'_>,
    version: Option<u32>,
) -> Result<Option<(ModelCard, Arc<Models>)>, ReportError> {
    let store = warehouse.object_store();
    let Some(version) = existing(&store, subject, version).await? else { return Ok(None) };
    let folder = version_folder(subject, version);
    let card = read_card(&store, &folder.clone().join("card.json")).await?;
    let key = format!("{}{folder}", warehouse.root());
    if let Some(models) = cache().lock().ok().and_then(|c| c.iter().find(|(k, _)| *k == key).map(|(_, m)| m.clone())) {
        return Ok(Some((card, models)));
    }
    let path = folder.clone().join("model.json.gz");
    let bytes = get(&store, &path).await?;
    let models = tokio::task::spawn_blocking(move || decompress(&bytes))
        .await
        .map_err(|e| ReportError::Model(format!("reading the model stopped: {e}")))?
        .map_err(|e| ReportError::ModelUnreadable(format!("{path} cannot be read: {e}")))?;
    let models = Arc::new(models);
    if let Ok(mut cached) = cache().lock() {
        cached.retain(|(k, _)| *k != key);
        if cached.len() >= CACHED {
            cached.remove(0);
        }
        cached.push((key, models.clone()));
    }
    Ok(Some((card, models)))
}

/// Models kept in memory at most.
pub const CACHED: usize = 8;

/// Models read lately, by their folder's URL, the latest last.
type Cache = Mutex<Vec<(String, Arc<Models>)>>;

/// The models read lately.
fn cache() -> &'static Cache {
    static CACHE: OnceLock<Cache> = OnceLock::new();
    CACHE.get_or_init(Mutex::default)
}

/// `version` if the subject has it, else (none asked for) its newest; `None` when there is none.
async fn existing(
    store: &Arc<dyn ObjectStore>,
    subject: &Subject<'_>,
    version: Option<u32>,
) -> Result<Option<u32>, ReportError> {
    let versions = versions(store, subject).await?;
    Ok(match version {
        Some(v) => versions.contains(&v).then_some(v),
        None => versions.last().copied(),
    })
}

/// The card of `subject`'s newest model once its model file has been read whole (what a
/// forecast would read); `None` when it has none, [`ReportError::ModelUnreadable`] when either
/// file cannot be read.
pub async fn newest_readable(warehouse: &Warehouse, subject: &Subject<'_>) -> Result<Option<ModelCard>, ReportError> {
    Ok(load(warehouse, subject, None).await?.map(|(card, _)| card))
}

/// The teams with processes run in Orgata in the warehouse (from the events table's log).
pub async fn engine_teams(warehouse: &Warehouse) -> Result<Vec<String>, ReportError> {
    let files = warehouse.source_files(&TeamScope::All, orgata_warehouse::tables::ENGINE_SOURCE).await?;
    Ok(files.teams.into_iter().collect())
}

/// A playbook's processes as the warehouse holds them: what the trainer decides on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaybookHistory {
    pub playbook_id: String,
    /// Its processes that have ended.
    pub finished: u64,
    /// The newest of its versions among those.
    pub newest_version: Option<i64>,
}

/// The playbooks of `team` with ended processes in the warehouse.
pub async fn engine_playbooks(warehouse: &Warehouse, team: &str) -> Result<Vec<PlaybookHistory>, ReportError> {
    let sql = "SELECT i.playbook_id, count(*) AS finished, max(v.number) AS newest_version
        FROM instances i LEFT JOIN playbook_versions v ON v.team_id = i.team_id AND v.id = i.version_id
        WHERE i.status <> 'running' GROUP BY i.playbook_id ORDER BY i.playbook_id";
    let rows = crate::sql::run(warehouse, &TeamScope::Teams(vec![team.to_string()]), sql).await?;
    let (finished, newest) = (rows.counts("finished")?, rows.i64s("newest_version")?);
    Ok(rows
        .strings("playbook_id")?
        .into_iter()
        .enumerate()
        .map(|(i, playbook_id)| PlaybookHistory { playbook_id, finished: finished[i], newest_version: newest[i] })
        .collect())
}

/// The playbooks of `team` and `source` with models of their own in the registry.
pub async fn playbooks_with_models(
    warehouse: &Warehouse,
    team: &str,
    source: &str,
) -> Result<Vec<String>, ReportError> {
    let store = warehouse.object_store();
    let folder = Path::from(format!("{MODELS_PREFIX}/{team}/{source}"));
    let listed = store.list_with_delimiter(Some(&folder)).await.map_err(|e| storage(&folder, e))?;
    let mut playbooks: Vec<String> = listed
        .common_prefixes
        .iter()
        .filter_map(|p| p.filename().filter(|name| *name != ALL).map(str::to_string))
        .collect();
    playbooks.sort();
    Ok(playbooks)
}

/// The versions of a subject in the registry, ascending.
async fn versions(store: &Arc<dyn ObjectStore>, subject: &Subject<'_>) -> Result<Vec<u32>, ReportError> {
    let folder = subject.folder();
    let listed = store.list_with_delimiter(Some(&folder)).await.map_err(|e| storage(&folder, e))?;
    let mut versions: Vec<u32> =
        listed.common_prefixes.iter().filter_map(|p| p.filename().and_then(|name| name.parse().ok())).collect();
    versions.sort_unstable();
    Ok(versions)
}

fn version_folder(subject: &Subject<'_>, version: u32) -> Path {
    subject.folder().join(format!("{version:06}").as_str())
}

async fn read_card(store: &Arc<dyn ObjectStore>, path: &Path) -> Result<ModelCard, ReportError> {
    let bytes = get(store, path).await?;
    serde_json::from_slice(&bytes).map_err(|e| ReportError::ModelUnreadable(format!("{path} cannot be read: {e}")))
}

async fn get(store: &Arc<dyn ObjectStore>, path: &Path) -> Result<Vec<u8>, ReportError> {
    let object = store.get(path).await.map_err(|e| storage(path, e))?;
    Ok(object.bytes().await.map_err(|e| storage(path, e))?.to_vec())
}

/// Writes `payload` at `path` unless an object is there already (then `false`); a store without
/// conditional writes is written to plainly.
async fn create(store: &Arc<dyn ObjectStore>, path: &Path, payload: &PutPayload) -> Result<bool, ReportError> {
    match store.put_opts(path, payload.clone(), PutMode::Create.into()).await {
        Ok(_) => Ok(true),
        Err(object_store::Error::AlreadyExists { .. }) => Ok(false),
        Err(object_store::Error::NotImplemented { .. }) => put(store, path, payload.clone()).await.map(|()| true),
        Err(e) => Err(storage(path, e)),
    }
}

async fn put(store: &Arc<dyn ObjectStore>, path: &Path, payload: impl Into<PutPayload>) -> Result<(), ReportError> {
    store.put(path, payload.into()).await.map_err(|e| storage(path, e))?;
    Ok(())
}

fn storage(path: &Path, e: object_store::Error) -> ReportError {
    ReportError::Warehouse(WarehouseError::Failed(format!("the model registry at {path}: {e}")))
}

fn compress(models: &Models) -> Result<Vec<u8>, ReportError> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    serde_json::to_writer(&mut encoder, models).map_err(|e| ReportError::Model(e.to_string()))?;
    encoder.finish().map_err(|e| ReportError::Model(e.to_string()))
}

fn decompress(bytes: &[u8]) -> Result<Models, String> {
    let mut json = Vec::new();
    GzDecoder::new(bytes).read_to_end(&mut json).map_err(|e| e.to_string())?;
    serde_json::from_slice(&json).map_err(|e| e.to_string())
}

fn from_evaluation(e: EvaluationError) -> ReportError {
    match e {
        EvaluationError::NotEnough(why) => ReportError::NotEnoughHistory(why),
        EvaluationError::Learn(e) => ReportError::Model(e.to_string()),
    }
}
