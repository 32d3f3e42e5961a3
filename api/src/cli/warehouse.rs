//! The warehouse commands: `orgata ingest` (stream the change log once or follow it),
//! `orgata warehouse rebuild|optimize|status`, and `orgata sql` (one-shot or interactive).

use crate::config::Config;
use anyhow::{Context, Result, bail};
use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};
use orgata_ingest::stream::Streamer;
use orgata_warehouse::tables;
use orgata_warehouse::{OutputFormat, QueryLimits, SqlEngine, TeamScope, Warehouse};
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::time::Duration;

/// What to do with the warehouse.
#[derive(Debug, Subcommand)]
pub enum WarehouseCommand {
    /// Delete the tables and recreate them from the raw change archive (then stream what is new).
    Rebuild,
    /// Compact small files, write checkpoints and delete unreferenced files older than the
    /// retention period.
    Optimize {
        /// Target size of compacted files, in MiB.
        #[arg(long, default_value_t = 128, value_parser = clap::value_parser!(u64).range(1..=4096))]
        target_mib: u64,
        /// Keep files a reader of an older snapshot may still need for this many hours.
        #[arg(long, default_value_t = 168)]
        retention_hours: u64,
    },
    /// Each table's version, files, rows and position, and the archive's size.
    Status,
    /// Check that the warehouse equals the change log (every event once, every record's current
    /// state); exit status 1 if not.
    Verify,
}

/// How `orgata sql` runs a query.
#[derive(Debug, clap::Args)]
pub struct SqlArgs {
    /// The query; without one, queries are read from the terminal (end each with `;`) or, when
    /// standard input is not a terminal, all of it is one query.
    pub query: Option<String>,
    /// Output: table, csv, json or parquet (parquet needs --output).
    #[arg(long, default_value = "table")]
    pub format: OutputFormat,
    /// Write to this file instead of standard output.
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// Only these teams' rows (team ids; repeat or comma-separate) [default: every team's]
    #[arg(long, value_delimiter = ',')]
    pub team: Vec<String>,
    /// Rows returned at most.
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    pub max_rows: u64,
    /// Seconds a query may run.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub timeout: u64,
    /// The query engine: datafusion, or duckdb over the same snapshot.
    #[arg(long, default_value = "datafusion")]
    pub engine: SqlEngine,
    /// Memory a query may hold, in MiB.
    #[arg(long, default_value_t = 2048, value_parser = clap::value_parser!(u64).range(16..=1_048_576))]
    pub memory_mib: u64,
}

/// How `orgata import` reads a log.
#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// The log: .xes, .xes.gz, .csv or .csv.gz.
    pub file: PathBuf,
    /// The team whose events it becomes (a team id, as `orgata sql "select id, name from teams"`
    /// lists them).
    #[arg(long)]
    pub team: String,
    /// The source name it is kept under [default: the file name, like helpdesk.xes.gz]
    #[arg(long)]
    pub source: Option<String>,
    /// xes or csv [default: from the file name]
    #[arg(long)]
    pub format: Option<String>,
    /// CSV: the case id column [default: detected, like case:concept:name or case_id]
    #[arg(long)]
    pub case_column: Option<String>,
    /// CSV: the activity column [default: detected, like concept:name or activity]
    #[arg(long)]
    pub activity_column: Option<String>,
    /// CSV: the (completion) time column [default: detected, like time:timestamp or timestamp]
    #[arg(long)]
    pub timestamp_column: Option<String>,
    /// CSV: the start time column [default: detected, like start_timestamp]
    #[arg(long)]
    pub start_column: Option<String>,
    /// CSV: the resource column [default: detected, like org:resource or resource]
    #[arg(long)]
    pub resource_column: Option<String>,
    /// CSV: the lifecycle transition column [default: detected, like lifecycle:transition]
    #[arg(long)]
    pub lifecycle_column: Option<String>,
}

/// `orgata import`.
pub async fn import(config: &Config, args: ImportArgs) -> Result<()> {
    use orgata_ingest::import::CsvColumns;
    let columns = CsvColumns {
        case: args.case_column.clone(),
        activity: args.activity_column.clone(),
        timestamp: args.timestamp_column.clone(),
        start: args.start_column.clone(),
        resource: args.resource_column.clone(),
        lifecycle: args.lifecycle_column.clone(),
    };
    let format = log_format(&args.file, args.format.as_deref(), columns)?;
    let source = match args.source {
        Some(source) => source,
        None => source_of(&args.file),
    };
    orgata_ingest::import::check_source(&source)?;
    let warehouse = config.warehouse()?;
    let known = warehouse
        .query(
            &format!("SELECT count(*) FROM teams WHERE id = '{}'", args.team.replace('\'', "''")),
            &TeamScope::All,
            QueryLimits::default(),
        )
        .await?;
    let found = known
        .batches
        .first()
        .and_then(|b| b.column(0).as_any().downcast_ref::<arrow::array::Int64Array>().map(|a| a.value(0)));
    if found != Some(1) {
        bail!("no team `{}` in the warehouse: `orgata sql \"select id, name from teams\"` lists them", args.team);
    }
    let started = std::time::Instant::now();
    let imported = import_file(&warehouse, &args.file, &format, &args.team, &source).await?;
    println!(
        "imported {} events of {} cases from {} as source `{}` of team {} in {:.1} s",
        imported.events,
        imported.cases,
        args.file.display(),
        imported.source,
        imported.team_id,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The format of a log: `format` (`xes` or `csv`) if given, else what its file name says.
pub fn log_format(
    file: &std::path::Path,
    format: Option<&str>,
    columns: orgata_ingest::import::CsvColumns,
) -> Result<orgata_ingest::import::LogFormat> {
    use orgata_ingest::import::LogFormat;
    Ok(match format {
        Some("xes") => LogFormat::Xes,
        Some("csv") => LogFormat::Csv(columns),
        Some(other) => bail!("unknown format `{other}`: use xes or csv"),
        None => match LogFormat::from_path(file) {
            Some(LogFormat::Csv(_)) => LogFormat::Csv(columns),
            Some(format) => format,
            None => bail!("cannot tell the format of {} from its name: pass --format xes or csv", file.display()),
        },
    })
}

/// A log's default source name: its file name, like `helpdesk.xes.gz`.
pub fn source_of(file: &std::path::Path) -> String {
    file.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string()
}

/// Imports a log file into `warehouse` under `team` and `source`, with a spinner counting events.
pub async fn import_file(
    warehouse: &orgata_warehouse::Warehouse,
    file: &std::path::Path,
    format: &orgata_ingest::import::LogFormat,
    team: &str,
    source: &str,
) -> Result<orgata_ingest::import::Imported> {
    let input = orgata_ingest::import::open(file)?;
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("importing {spinner} {pos} events  {elapsed_precise}").context("template")?,
    );
    let counter = bar.clone();
    let imported =
        orgata_ingest::import::import(warehouse, input, format, team, source, move |n| counter.set_position(n as u64))
            .await
            .with_context(|| format!("{}", file.display()));
    bar.finish_and_clear();
    imported
}

/// `orgata ingest`: commits what the change log holds beyond the warehouse; with `follow`, keeps
/// doing so until interrupted.
pub async fn ingest(config: &Config, follow: bool, batch: i64, lease_ttl: Duration) -> Result<()> {
    let store = orgata_engine::connect(&config.database_url).await?;
    let warehouse = config.warehouse()?;
    let mut streamer =
        Streamer::open(store.clone(), warehouse, batch).await?.with_lease(crate::streaming::holder_name(), lease_ttl);
    let pending = store.pending_changes(streamer.position()).await?;
    let bar = progress_bar(pending.max(0) as u64, "streaming {bar:40} {pos}/{len} changes  {elapsed_precise}")?;
    let counter = bar.clone();
    streamer.observe(move |committed| counter.inc(committed.changes as u64));
    let listener = if follow { store.change_listener().await? } else { None };
    let result = follow_or_once(&mut streamer, follow, listener).await;
    bar.finish_and_clear();
    let released = streamer.release().await;
    store.close().await;
    let progress = result?;
    released?;
    println!(
        "warehouse at position {}: {} change events committed in {} batches ({} replayed from the archive)",
        progress.position, progress.changes, progress.batches, progress.replayed
    );
    Ok(())
}

async fn follow_or_once(
    streamer: &mut Streamer,
    follow: bool,
    mut listener: Option<Box<dyn orgata_engine::ChangeListener>>,
) -> Result<orgata_ingest::stream::Progress> {
    let mut total = streamer.run_until_caught_up().await?;
    if !follow {
        return Ok(total);
    }
    let mut interrupted = std::pin::pin!(tokio::signal::ctrl_c());
    loop {
        let wait = async {
            match listener.as_mut() {
                Some(l) => l.wait(crate::streaming::NOTIFIED_POLL).await.map(|_| ()),
                None => {
                    tokio::time::sleep(crate::streaming::POLL).await;
                    Ok(())
                }
            }
        };
        tokio::select! {
            _ = &mut interrupted => return Ok(total),
            woken = wait => woken?,
        }
        let step = streamer.run_until_caught_up().await?;
        total.batches += step.batches;
        total.changes += step.changes;
        total.replayed += step.replayed;
        total.position = step.position;
    }
}

/// `orgata warehouse …`.
pub async fn warehouse(config: &Config, command: WarehouseCommand) -> Result<()> {
    let warehouse = config.warehouse()?;
    match command {
        WarehouseCommand::Rebuild => {
            let store = orgata_engine::connect(&config.database_url).await?;
            let holder = crate::streaming::holder_name();
            let lease_ttl = chrono::Duration::from_std(crate::streaming::LEASE_TTL)?;
            if !store.acquire_lease(orgata_ingest::stream::LEASE, &holder, chrono::Utc::now(), lease_ttl).await? {
                bail!("another streamer is writing the warehouse; stop `orgata serve`/`orgata ingest` first");
            }
            warehouse.clear_change_data().await?;
            let mut streamer =
                Streamer::open(store.clone(), warehouse, 5_000).await?.with_lease(holder, crate::streaming::LEASE_TTL);
            let archived = streamer.archive().files().await?.len() as u64;
            let bar = progress_bar(archived, "rebuilding {bar:40} {pos}/{len} archive files  {elapsed_precise}")?;
            let counter = bar.clone();
            streamer.observe(move |_| counter.inc(1));
            let result = streamer.run_until_caught_up().await;
            bar.finish_and_clear();
            streamer.release().await?;
            store.close().await;
            let progress = result?;
            println!(
                "rebuilt the warehouse: {} change events ({} from the archive), now at position {}",
                progress.changes, progress.replayed, progress.position
            );
        }
        WarehouseCommand::Optimize { target_mib, retention_hours } => {
            let retention = Duration::from_secs(retention_hours.saturating_mul(3600));
            for done in warehouse.maintain_all(target_mib << 20, retention).await? {
                println!(
                    "{:18} {:>5} files compacted into {:>3}, {:>5} old files deleted, checkpoint at version {}",
                    done.table, done.files_compacted, done.files_written, done.files_deleted, done.checkpoint_version
                );
            }
        }
        WarehouseCommand::Status => status(&warehouse).await?,
        WarehouseCommand::Verify => {
            let store = orgata_engine::connect(&config.database_url).await?;
            let result = orgata_ingest::verify::verify(store.as_ref(), &warehouse).await;
            store.close().await;
            let verification = result?;
            for (table, rows) in &verification.compared {
                println!("{table:18} {rows:>10} rows compared");
            }
            if !verification.mismatches.is_empty() {
                bail!("the warehouse differs from the change log:\n  {}", verification.mismatches.join("\n  "));
            }
            println!("the warehouse equals the change log up to position {}", verification.position);
        }
    }
    Ok(())
}

async fn status(warehouse: &Warehouse) -> Result<()> {
    println!("warehouse {}", warehouse.root());
    println!("{:18} {:>8} {:>7} {:>12}  position", "table", "version", "files", "rows");
    for spec in tables::ALL {
        let table = warehouse.table(spec).await?;
        let files = table.get_file_uris().map(|f| f.count()).unwrap_or(0);
        let rows = warehouse.row_count(spec).await?;
        let position = warehouse.watermark(spec).await?.map(|w| format!("{}:{}", w.xid, w.seq));
        println!(
            "{:18} {:>8} {:>7} {:>12}  {}",
            spec.name,
            table.version().unwrap_or_default(),
            files,
            rows,
            position.as_deref().unwrap_or("-")
        );
    }
    let archive =
        orgata_ingest::archive::ChangeArchive::new(warehouse.object_store(), orgata_ingest::stream::ARCHIVE_PREFIX);
    let files = archive.files().await?;
    let last = files.last().map_or("-".to_string(), |f| format!("{}:{}", f.last.xid, f.last.seq));
    println!("change archive: {} files, up to position {last}", files.len());
    Ok(())
}

/// `orgata sql`.
pub async fn sql(config: &Config, args: SqlArgs) -> Result<()> {
    if args.format == OutputFormat::Parquet && args.output.is_none() {
        bail!("--format parquet needs --output FILE");
    }
    let warehouse = config.warehouse()?;
    let scope = if args.team.is_empty() { TeamScope::All } else { TeamScope::Teams(args.team.clone()) };
    let limits = QueryLimits {
        timeout: Duration::from_secs(args.timeout),
        max_rows: args.max_rows as usize,
        memory_bytes: (args.memory_mib << 20) as usize,
    };
    let run = |query: String| {
        let (warehouse, scope, output, format) = (warehouse.clone(), scope.clone(), args.output.clone(), args.format);
        let engine = args.engine;
        async move {
            let result = warehouse.query_on(engine, &query, &scope, limits).await?;
            match output {
                Some(path) => {
                    let file =
                        std::fs::File::create(&path).with_context(|| format!("cannot write {}", path.display()))?;
                    result.write(format, std::io::BufWriter::new(file))?;
                    eprintln!("{} rows written to {}", result.rows, path.display());
                }
                None => result.write(format, std::io::stdout())?,
            }
            anyhow::Ok(())
        }
    };
    if let Some(query) = args.query {
        return run(query).await;
    }
    let stdin = std::io::stdin();
    let mut statements = Statements::default();
    if !stdin.is_terminal() {
        // Piped: the statements as at a terminal, run in turn; the first error ends the run.
        let mut queries = Vec::new();
        for line in stdin.lock().lines() {
            queries.extend(statements.push(&line?));
        }
        queries.extend(statements.rest());
        if queries.len() > 1 && args.output.is_some() {
            bail!("--output takes one statement, and {} were given", queries.len());
        }
        for query in queries {
            run(query).await?;
        }
        return Ok(());
    }
    // Interactive: statements end with `;`; errors are printed and the session goes on.
    eprintln!("orgata sql — tables: events, instances, tasks, playbooks, playbook_versions, teams, memberships, users");
    eprintln!("(and <table>_history for every version of a record). End a query with `;`, quit with Ctrl-D.");
    let lines = stdin.lock().lines();
    prompt(statements.is_empty())?;
    for line in lines {
        if let Some(query) = statements.push(&line?)
            && let Err(e) = run(query).await
        {
            eprintln!("error: {e:#}");
        }
        prompt(statements.is_empty())?;
    }
    eprintln!();
    Ok(())
}

/// SQL statements read line by line: a statement ends with a line that ends with `;`.
#[derive(Default)]
struct Statements {
    buffer: String,
}

impl Statements {
    /// Adds a line; the statement it ends, without its `;`, if it ends one.
    fn push(&mut self, line: &str) -> Option<String> {
        self.buffer.push_str(line);
        self.buffer.push('\n');
        if !line.trim_end().ends_with(';') {
            return None;
        }
        let statement = std::mem::take(&mut self.buffer);
        let statement = statement.trim().trim_end_matches(';').trim();
        (!statement.is_empty()).then(|| statement.to_string())
    }

    /// What follows the last `;`, if anything: a last statement without one.
    fn rest(self) -> Option<String> {
        let rest = self.buffer.trim();
        (!rest.is_empty()).then(|| rest.to_string())
    }

    /// Whether no statement is begun.
    fn is_empty(&self) -> bool {
        self.buffer.trim().is_empty()
    }
}

fn prompt(fresh: bool) -> Result<()> {
    let mut err = std::io::stderr().lock();
    write!(err, "{}", if fresh { "orgata> " } else { "   ...> " })?;
    err.flush()?;
    Ok(())
}

fn progress_bar(length: u64, template: &str) -> Result<ProgressBar> {
    let bar = ProgressBar::new(length);
    bar.set_style(ProgressStyle::with_template(template).context("progress bar template")?);
    Ok(bar)
}
