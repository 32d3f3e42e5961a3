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
use object_store::{ObjectStore, ObjectStoreExt};
use orgata_warehouse::{TeamScope, Warehouse, WarehouseError};
use serde::{Deserialize, Serialize};
use std::io::Read;
use std::sync::{Arc, Mutex, OnceLock};

/// The folder of the registry under the warehouse root.
pub const MODELS_PREFIX: &str = "models";

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
        Path::from(format!("{MODELS_PREFIX}/{}/{}/{}", self.team, self.source, self.playbook_id.unwrap_or("all")))
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
        let evaluation = evaluation::evaluate(&log, &running, &tasks, options, MIN_TRAINING_CASES)?;
        let finished: Vec<usize> = evaluation::finished_by_start(&log, &running).into_iter().map(|(_, c)| c).collect();
        let models = Models::train(&log, &running, &finished, &tasks, options)?;
        let times = finished.iter().flat_map(|&c| log.t[log.rows_of(c)].iter().copied());
        let (from, to) = times.fold((i64::MAX, i64::MIN), |(a, b), t| (a.min(t), b.max(t)));
        let events = finished.iter().map(|&c| log.rows_of(c).len() as u64).sum();
        Ok((evaluation, models, finished.len() as u64, events, from, to))
    });
    let (evaluation, models, cases, events, from, to) =
        work.await.map_err(|e| ReportError::Model(format!("training stopped: {e}")))?.map_err(from_evaluation)?;
    let store = warehouse.object_store();
    let version = versions(&store, subject).await?.last().copied().unwrap_or(0) + 1;
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
    };
    let folder = version_folder(subject, version);
    put(&store, &folder.clone().join("model.json.gz"), compress(&models)?).await?;
    let card_json = serde_json::to_vec_pretty(&card).map_err(|e| ReportError::Model(e.to_string()))?;
    put(&store, &folder.clone().join("card.json"), card_json).await?;
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

async fn put(store: &Arc<dyn ObjectStore>, path: &Path, bytes: Vec<u8>) -> Result<(), ReportError> {
    store.put(path, bytes.into()).await.map_err(|e| storage(path, e))?;
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
